//! Field errors as the GraphQL specification handles them ("Handling Field Errors"): a field
//! that fails is present in `data` as `null`, and when the field is non-null, the `null`
//! propagates to its nearest nullable parent (or makes `data` itself `null`).
//!
//! The executor drops a failed field's key from its object instead (and turns an object whose
//! every field failed into `null`), which typed clients read as a broken response. Rather than
//! wrap every resolver, each response with field errors is completed here, after execution,
//! from the errors' paths, the operation's document and the schema's own types. A response
//! without field errors is not touched, so this costs nothing on the common path.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet, Type,
    TypeSystemDefinition,
};
use async_graphql::{Name, PathSegment, Value};

/// The output types of the schema's fields, read once from its SDL.
#[derive(Debug, Default)]
pub struct FieldTypes {
    /// (object or interface type, field) -> the field's type.
    fields: HashMap<(String, String), Type>,
    query: String,
    mutation: String,
    subscription: String,
}

impl FieldTypes {
    /// The field types of the schema described by `sdl`.
    pub fn from_sdl(sdl: &str) -> Self {
        let mut types = Self {
            query: "Query".into(),
            mutation: "Mutation".into(),
            subscription: "Subscription".into(),
            ..Self::default()
        };
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            tracing::error!("the schema's SDL does not parse; field errors are left as the executor leaves them");
            return types;
        };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    if let Some(query) = schema.query {
                        types.query = query.node.to_string();
                    }
                    if let Some(mutation) = schema.mutation {
                        types.mutation = mutation.node.to_string();
                    }
                    if let Some(subscription) = schema.subscription {
                        types.subscription = subscription.node.to_string();
                    }
                }
                TypeSystemDefinition::Type(definition) => {
                    let definition = definition.node;
                    let fields = match definition.kind {
                        async_graphql::parser::types::TypeKind::Object(object) => object.fields,
                        async_graphql::parser::types::TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    for field in fields {
                        let field = field.node;
                        types
                            .fields
                            .insert((definition.name.node.to_string(), field.name.node.to_string()), field.ty.node);
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        types
    }

    fn root(&self, operation: OperationType) -> &str {
        match operation {
            OperationType::Query => &self.query,
            OperationType::Mutation => &self.mutation,
            OperationType::Subscription => &self.subscription,
        }
    }

    /// Each segment of `path` in the operation's document: whether it is non-null (a field's
    /// type, or a list item's) and, for a field, the response keys of its selection set in
    /// order; `None` when the path does not lead through the document.
    fn positions_along(
        &self,
        document: &ExecutableDocument,
        operation: Option<&str>,
        path: &[PathSegment],
    ) -> Option<Vec<Position>> {
        let (kind, selection_set) = operation_of(document, operation)?;
        let mut parent = self.root(kind).to_owned();
        let mut sets: Vec<&SelectionSet> = vec![selection_set];
        let mut current: Option<&Type> = None;
        let mut positions = Vec::with_capacity(path.len());
        for segment in path {
            match segment {
                PathSegment::Field(key) => {
                    if let Some(ty) = current {
                        parent = named(ty).to_owned();
                    }
                    let mut fields = Vec::new();
                    let mut keys = Vec::new();
                    for set in &sets {
                        collect_fields(document, set, key, &mut fields, &mut keys);
                    }
                    let first = fields.first()?;
                    let ty = self.fields.get(&(parent.clone(), first.name.node.to_string()))?;
                    positions.push(Position { non_null: !ty.nullable, keys });
                    sets = fields.iter().map(|field| &field.selection_set.node).collect();
                    current = Some(ty);
                }
                PathSegment::Index(_) => {
                    let BaseType::List(item) = &current?.base else { return None };
                    positions.push(Position { non_null: !item.nullable, keys: Vec::new() });
                    current = Some(item);
                }
            }
        }
        Some(positions)
    }
}

/// One segment of an error's path, as the document and the schema see it.
struct Position {
    non_null: bool,
    /// For a field: the response keys of the selection set it is in, in the document's order.
    keys: Vec<String>,
}

/// The named type at the bottom of `ty`'s lists.
fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(item) => named(item),
    }
}

/// The operation `name` of `document` (or its only one): its kind and selection set.
fn operation_of<'a>(document: &'a ExecutableDocument, name: Option<&str>) -> Option<(OperationType, &'a SelectionSet)> {
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name)?,
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next()?,
        _ => return None,
    };
    Some((operation.node.ty, &operation.node.selection_set.node))
}

/// The fields of `set` (fragments expanded) whose response key is `key`, and every response
/// key of `set` in order.
fn collect_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    key: &str,
    found: &mut Vec<&'a async_graphql::parser::types::Field>,
    keys: &mut Vec<String>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let response_key = field.node.response_key().node.as_str();
                if response_key == key {
                    found.push(&field.node);
                }
                if !keys.iter().any(|known| known == response_key) {
                    keys.push(response_key.to_owned());
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect_fields(document, &fragment.node.selection_set.node, key, found, keys);
                }
            }
            Selection::InlineFragment(inline) => {
                collect_fields(document, &inline.node.selection_set.node, key, found, keys)
            }
        }
    }
}

/// The field types of the schema this service serves.
pub fn served() -> &'static FieldTypes {
    static TYPES: std::sync::LazyLock<FieldTypes> = std::sync::LazyLock::new(|| FieldTypes::from_sdl(&super::sdl()));
    &TYPES
}

/// Completes `response` of the operation `operation` of `query` as the specification says.
pub fn complete(types: &FieldTypes, query: &str, operation: Option<&str>, response: &mut async_graphql::Response) {
    if response.errors.iter().all(|error| error.path.is_empty()) {
        return;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else { return };
    let errors: Vec<(Vec<PathSegment>, Vec<Position>)> = response
        .errors
        .iter()
        .filter(|error| !error.path.is_empty())
        .filter_map(|error| Some((error.path.clone(), types.positions_along(&document, operation, &error.path)?)))
        .collect();
    // First every failed field becomes `null` in place, then nulls propagate; in that order a
    // propagated `null` never hides a path another error still has to reach.
    let mut reached = Vec::with_capacity(errors.len());
    for (path, positions) in &errors {
        reached.push(null_at(&mut response.data, path, positions));
    }
    for ((path, positions), depth) in errors.iter().zip(reached) {
        propagate(&mut response.data, &path[..depth], &positions[..depth]);
    }
}

/// Sets the value at `path` to `null`, making the objects on the way where the executor left
/// them out (an object whose every field failed becomes `null`, which no field error would sit
/// under otherwise), with keys put back in the document's order. Returns how much of the path
/// exists: a list the executor left out cannot be rebuilt, so its field stands for the error.
fn null_at(data: &mut Value, path: &[PathSegment], positions: &[Position]) -> usize {
    let mut value = data;
    for (depth, segment) in path.iter().enumerate() {
        match segment {
            PathSegment::Field(key) => {
                if matches!(value, Value::Null) {
                    *value = Value::Object(Default::default());
                }
                let Value::Object(object) = value else { return depth };
                if !object.contains_key(key.as_str()) {
                    object.insert(Name::new(key), Value::Null);
                    let order = &positions[depth].keys;
                    let rank = |name: &Name| order.iter().position(|k| k == name.as_str()).unwrap_or(usize::MAX);
                    object.sort_by(|a, _, b, _| rank(a).cmp(&rank(b)));
                }
                let Some(slot) = object.get_mut(key.as_str()) else { return depth };
                if depth + 1 == path.len() {
                    *slot = Value::Null;
                }
                value = slot;
            }
            PathSegment::Index(index) => {
                let Value::List(items) = value else { return depth };
                let Some(item) = items.get_mut(*index) else { return depth };
                if depth + 1 == path.len() {
                    *item = Value::Null;
                }
                value = item;
            }
        }
    }
    path.len()
}

/// From a `null` at `path`, nulls each parent while the child is non-null.
fn propagate(data: &mut Value, path: &[PathSegment], positions: &[Position]) {
    let mut depth = path.len();
    while depth > 0 && positions[depth - 1].non_null {
        depth -= 1;
        match value_at(data, &path[..depth]) {
            Some(value) => *value = Value::Null,
            // Already inside a `null` that another error propagated.
            None => return,
        }
    }
}

fn value_at<'a>(data: &'a mut Value, path: &[PathSegment]) -> Option<&'a mut Value> {
    let mut value = data;
    for segment in path {
        value = match (segment, value) {
            (PathSegment::Field(key), Value::Object(object)) => object.get_mut(key.as_str())?,
            (PathSegment::Index(index), Value::List(items)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use async_graphql::{ServerError, Value};
    use serde_json::json;

    use super::*;

    const SDL: &str = "
        type Query { client: Client, clients: [Client!]!, required: Client!, maybe: [Client] }
        type Client { id: ID!, name: String!, contact: Contact, tools: [Tool!] }
        type Contact { phone: String }
        type Tool { name: String!, content: String }
    ";

    fn field(name: &str) -> PathSegment {
        PathSegment::Field(name.to_owned())
    }

    fn completed(query: &str, data: serde_json::Value, paths: &[Vec<PathSegment>]) -> serde_json::Value {
        let types = FieldTypes::from_sdl(SDL);
        let mut response = async_graphql::Response::new(Value::from_json(data).expect("value"));
        for path in paths {
            let mut error = ServerError::new("refused", None);
            error.path = path.clone();
            response.errors.push(error);
        }
        complete(&types, query, None, &mut response);
        response.data.into_json().expect("json")
    }

    #[test]
    fn a_failed_nullable_field_is_present_as_null() {
        let data = completed(
            "{ client { id contact { phone } } }",
            json!({"client": {"id": "1"}}),
            &[vec![field("client"), field("contact")]],
        );
        assert_eq!(data, json!({"client": {"id": "1", "contact": null}}));
    }

    #[test]
    fn an_object_whose_every_field_failed_is_an_object_of_nulls() {
        let data = completed(
            "{ client { contact { phone } } }",
            json!({"client": null}),
            &[vec![field("client"), field("contact")]],
        );
        assert_eq!(data, json!({"client": {"contact": null}}));
    }

    #[test]
    fn a_key_put_back_takes_its_place_in_the_documents_order() {
        let types = FieldTypes::from_sdl(SDL);
        let mut client = async_graphql::indexmap::IndexMap::new();
        client.insert(Name::new("name"), Value::from("a"));
        client.insert(Name::new("id"), Value::from("1"));
        let mut data = async_graphql::indexmap::IndexMap::new();
        data.insert(Name::new("client"), Value::Object(client));
        let mut response = async_graphql::Response::new(Value::Object(data));
        let mut error = ServerError::new("refused", None);
        error.path = vec![field("client"), field("contact")];
        response.errors.push(error);
        complete(&types, "{ client { name contact { phone } id } }", None, &mut response);
        let Value::Object(data) = &response.data else { panic!("an object") };
        let Some(Value::Object(client)) = data.get("client") else { panic!("an object") };
        let keys: Vec<&str> = client.keys().map(Name::as_str).collect();
        assert_eq!(keys, ["name", "contact", "id"]);
    }

    #[test]
    fn aliases_and_fragments_are_followed() {
        let query = "{ mine: client { ...F } } fragment F on Client { ... on Client { c: contact { phone } } }";
        let data = completed(query, json!({"mine": null}), &[vec![field("mine"), field("c")]]);
        assert_eq!(data, json!({"mine": {"c": null}}));
    }

    #[test]
    fn a_failed_non_null_field_nulls_its_parent() {
        let data = completed(
            "{ client { id name } }",
            json!({"client": {"id": "1"}}),
            &[vec![field("client"), field("name")]],
        );
        assert_eq!(data, json!({"client": null}));
    }

    #[test]
    fn a_non_null_item_nulls_its_nullable_list() {
        let query = "{ client { id tools { name content } } }";
        let data = completed(
            query,
            json!({"client": {"id": "1", "tools": [{"content": "x"}, {"name": "b", "content": "y"}]}}),
            &[vec![field("client"), field("tools"), PathSegment::Index(0), field("name")]],
        );
        assert_eq!(data, json!({"client": {"id": "1", "tools": null}}));
    }

    #[test]
    fn a_nullable_item_is_nulled_alone() {
        let query = "{ maybe { id name } }";
        let data = completed(
            query,
            json!({"maybe": [{"id": "1"}, {"id": "2", "name": "b"}]}),
            &[vec![field("maybe"), PathSegment::Index(0), field("name")]],
        );
        assert_eq!(data, json!({"maybe": [null, {"id": "2", "name": "b"}]}));
    }

    #[test]
    fn nulls_propagate_through_non_null_lists_and_fields_up_to_data() {
        let query = "{ clients { id name } }";
        let data = completed(
            query,
            json!({"clients": [{"id": "1"}]}),
            &[vec![field("clients"), PathSegment::Index(0), field("name")]],
        );
        assert_eq!(data, json!(null), "[Client!]! under a non-null root field: data is null");
        let data = completed(
            "{ required { id name } client { id } }",
            json!({"required": {"id": "1"}, "client": {"id": "2"}}),
            &[vec![field("required"), field("name")]],
        );
        assert_eq!(data, json!(null));
    }

    #[test]
    fn a_failed_root_field_is_present_as_null() {
        let data = completed("{ client { id } }", json!(null), &[vec![field("client")]]);
        assert_eq!(data, json!({"client": null}));
    }

    #[test]
    fn errors_without_a_path_leave_the_response_alone() {
        let data = completed("{ client { id } }", json!({"client": {"id": "1"}}), &[]);
        assert_eq!(data, json!({"client": {"id": "1"}}));
    }
}
