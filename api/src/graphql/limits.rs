//! Limits on the shape of a GraphQL document, checked before anything runs.
//!
//! A hostile client can make a small document expensive: deep nesting, hundreds of repeated or
//! aliased fields, fragments that multiply each other, many root fields, stacked directives. Every
//! document is measured here before authentication, validation or any database work, and
//! refused with `BAD_USER_INPUT` and an `extensions.limit` naming the limit it broke (with its
//! `max`). HTTP requests are checked in the handler (so a refused request costs no database
//! round trip), and WebSocket operations by [`CheckedSchema`] before they reach the schema.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError};

use super::loaders::{Keep, LazyLoaders};

/// The limits every operation is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest field nesting (a root field is depth 1).
    pub max_depth: usize,
    /// Most fields selected, counting every occurrence and every fragment spread expanded.
    pub max_complexity: usize,
    /// Most aliased fields, counted the same way.
    pub max_aliases: usize,
    /// Most fields at the root of one operation.
    pub max_root_fields: usize,
    /// Most directives on one field or fragment.
    pub max_directives: usize,
    /// Largest document, in bytes.
    pub max_document_bytes: usize,
    /// Whether `__schema` and `__type` are answered.
    pub introspection: bool,
}

impl QueryLimits {
    /// Checks one request: its size and nesting before parsing, then the parsed document (which
    /// the request keeps, so it is parsed once).
    pub fn check(&self, request: &mut async_graphql::Request) -> Result<(), ServerError> {
        self.check_text(&request.query)?;
        let document = request.parsed_query()?;
        self.check_document(document)
    }

    /// What can be known of a document before parsing it: its size, and how deeply its brackets
    /// nest (a parser would recurse that deep).
    pub fn check_text(&self, query: &str) -> Result<(), ServerError> {
        if query.len() > self.max_document_bytes {
            return Err(refusal(
                "documentBytes",
                self.max_document_bytes,
                format!("the document is {} bytes; at most {} are accepted", query.len(), self.max_document_bytes),
            ));
        }
        // Brackets of arguments, lists and input objects nest too, so allow for them.
        let max_nesting = 4 * self.max_depth + 16;
        if bracket_nesting(query, max_nesting) > max_nesting {
            return Err(self.too_deep());
        }
        Ok(())
    }

    /// Checks a parsed document against every limit.
    pub fn check_document(&self, document: &ExecutableDocument) -> Result<(), ServerError> {
        let mut walk =
            Walk { document, limits: self, fields: 0, aliases: 0, introspection_lists: None, fragments: Vec::new() };
        for (_, operation) in document.operations.iter() {
            let root = &operation.node.selection_set.node;
            let mut root_fields = 0;
            walk.count_root_fields(root, &mut root_fields)?;
            walk.selection_set(root, 0)?;
        }
        Ok(())
    }

    fn too_deep(&self) -> ServerError {
        refusal("depth", self.max_depth, format!("the query nests deeper than {} fields", self.max_depth))
    }
}

/// A refusal of a document for breaking `limit`.
fn refusal(limit: &str, max: usize, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "BAD_USER_INPUT");
    extensions.set("limit", limit);
    extensions.set("max", max as u64);
    error.extensions = Some(extensions);
    error
}

/// How deep an introspection query may nest: GraphiQL's schema query unwraps types through
/// nine levels of `ofType`, which costs nothing.
const INTROSPECTION_MAX_DEPTH: usize = 24;

/// How many introspection lists (`types`, `fields`, `inputFields`, `interfaces`,
/// `possibleTypes`) may nest in each other: `__schema { types { fields { type { fields ...`
/// would otherwise multiply the schema by itself at every level.
const INTROSPECTION_MAX_LISTS: usize = 3;

/// A walk over the selections an operation would execute, fragments expanded where spread.
struct Walk<'a> {
    document: &'a ExecutableDocument,
    limits: &'a QueryLimits,
    fields: usize,
    aliases: usize,
    /// Inside `__schema` or `__type`: how many introspection lists enclose the selection.
    introspection_lists: Option<usize>,
    /// The fragments being expanded, to stop at cycles (which validation refuses anyway).
    fragments: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, depth: usize) -> Result<(), ServerError> {
        let limits = self.limits;
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.directives.len() > limits.max_directives {
                        return Err(refusal(
                            "directives",
                            limits.max_directives,
                            format!(
                                "the field `{}` carries {} directives; at most {} are accepted",
                                field.name.node,
                                field.directives.len(),
                                limits.max_directives
                            ),
                        ));
                    }
                    let name = field.name.node.as_str();
                    let depth = depth + 1;
                    let enclosing = self.introspection_lists;
                    if depth == 1 && matches!(name, "__schema" | "__type") {
                        if !limits.introspection {
                            let mut error = ServerError::new("introspection is turned off on this server", None);
                            let mut extensions = ErrorExtensionValues::default();
                            extensions.set("code", "BAD_USER_INPUT");
                            error.extensions = Some(extensions);
                            return Err(error);
                        }
                        self.introspection_lists = Some(0);
                    }
                    match self.introspection_lists {
                        None if depth > limits.max_depth => return Err(limits.too_deep()),
                        Some(_) if depth > INTROSPECTION_MAX_DEPTH => return Err(limits.too_deep()),
                        Some(lists)
                            if matches!(name, "types" | "fields" | "inputFields" | "interfaces" | "possibleTypes") =>
                        {
                            if lists + 1 > INTROSPECTION_MAX_LISTS {
                                return Err(refusal(
                                    "introspectionDepth",
                                    INTROSPECTION_MAX_LISTS,
                                    format!("introspection lists may nest at most {INTROSPECTION_MAX_LISTS} deep"),
                                ));
                            }
                            self.introspection_lists = Some(lists + 1);
                        }
                        _ => {}
                    }
                    self.fields += 1;
                    if self.fields > limits.max_complexity {
                        return Err(refusal(
                            "complexity",
                            limits.max_complexity,
                            format!("the query selects more than {} fields", limits.max_complexity),
                        ));
                    }
                    if field.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > limits.max_aliases {
                            return Err(refusal(
                                "aliases",
                                limits.max_aliases,
                                format!("the query uses more than {} aliases", limits.max_aliases),
                            ));
                        }
                    }
                    let walked = self.selection_set(&field.selection_set.node, depth);
                    self.introspection_lists = enclosing;
                    walked?;
                }
                Selection::InlineFragment(fragment) => {
                    self.check_fragment_directives(fragment.node.directives.len())?;
                    self.selection_set(&fragment.node.selection_set.node, depth)?;
                }
                Selection::FragmentSpread(spread) => {
                    self.check_fragment_directives(spread.node.directives.len())?;
                    let name = spread.node.fragment_name.node.as_str();
                    if self.fragments.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.document.fragments.get(&spread.node.fragment_name.node) {
                        self.fragments.push(name);
                        self.selection_set(&fragment.node.selection_set.node, depth)?;
                        self.fragments.pop();
                    }
                }
            }
        }
        Ok(())
    }

    fn check_fragment_directives(&self, count: usize) -> Result<(), ServerError> {
        if count > self.limits.max_directives {
            return Err(refusal(
                "directives",
                self.limits.max_directives,
                format!("a fragment carries {count} directives; at most {} are accepted", self.limits.max_directives),
            ));
        }
        Ok(())
    }

    /// Counts the fields at an operation's root, through fragments spread there.
    fn count_root_fields(&mut self, set: &'a SelectionSet, count: &mut usize) -> Result<(), ServerError> {
        for item in &set.items {
            match &item.node {
                Selection::Field(_) => {
                    *count += 1;
                    if *count > self.limits.max_root_fields {
                        return Err(refusal(
                            "rootFields",
                            self.limits.max_root_fields,
                            format!("an operation may select at most {} root fields", self.limits.max_root_fields),
                        ));
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.count_root_fields(&fragment.node.selection_set.node, count)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if self.fragments.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.document.fragments.get(&spread.node.fragment_name.node) {
                        self.fragments.push(name);
                        let counted = self.count_root_fields(&fragment.node.selection_set.node, count);
                        self.fragments.pop();
                        counted?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// How deeply `{`, `(` and `[` nest in a GraphQL document, outside strings and comments; stops
/// counting once past `stop`.
fn bracket_nesting(query: &str, stop: usize) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > stop {
                    return deepest;
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// The schema behind the limits, for executors other than the HTTP handler (which checks
/// before authenticating): WebSocket operations are checked here before they reach the schema,
/// and counted in the operation metrics.
#[derive(Clone)]
pub struct CheckedSchema {
    pub schema: super::InzageSchema,
    pub limits: QueryLimits,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl async_graphql::Executor for CheckedSchema {
    async fn execute(&self, mut request: async_graphql::Request) -> async_graphql::Response {
        if let Err(error) = self.limits.check(&mut request) {
            return async_graphql::Response::from_errors(vec![error]);
        }
        let root = crate::metrics::RootFields::of(&mut request);
        let (query, operation) = (request.query.clone(), request.operation_name.clone());
        let started = std::time::Instant::now();
        let mut response = self.schema.execute(request).await;
        if let Some(root) = root {
            self.metrics.operation(&root, &response, started.elapsed());
        }
        super::completion::complete(super::completion::served(), &query, operation.as_deref(), &mut response);
        response
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session_data: Option<std::sync::Arc<async_graphql::Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        use futures_util::StreamExt;
        if let Err(error) = self.limits.check(&mut request) {
            return futures_util::stream::once(async move { async_graphql::Response::from_errors(vec![error]) })
                .boxed();
        }
        let root = crate::metrics::RootFields::of(&mut request);
        // A query gets loaders of its own that keep what they load; the connection's keep nothing.
        let connection = session_data.as_ref().and_then(|data| data.get(&std::any::TypeId::of::<LazyLoaders>()));
        if let Some(loaders) = connection.and_then(|loaders| loaders.downcast_ref::<LazyLoaders>())
            && root.as_ref().is_some_and(crate::metrics::RootFields::is_query)
        {
            request.data.insert(loaders.for_operation(Keep::ForTheOperation));
        }
        let (query, operation) = (request.query.clone(), request.operation_name.clone());
        let stream =
            async_graphql::Executor::execute_stream(&self.schema, request, session_data).map(move |mut response| {
                super::completion::complete(super::completion::served(), &query, operation.as_deref(), &mut response);
                response
            });
        let stream = stream.boxed();
        match root {
            // The stream owns the guard: the gauge goes down when the subscription ends.
            Some(root) if root.is_subscription() => {
                let open = crate::metrics::Open::new(&self.metrics.subscriptions);
                stream
                    .map(move |response| {
                        let _ = &open;
                        response
                    })
                    .boxed()
            }
            // A query or mutation over the socket answers once.
            Some(root) => {
                let metrics = self.metrics.clone();
                let started = std::time::Instant::now();
                stream
                    .map(move |response| {
                        metrics.operation(&root, &response, started.elapsed());
                        response
                    })
                    .boxed()
            }
            None => stream,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: QueryLimits = QueryLimits {
        max_depth: 12,
        max_complexity: 300,
        max_aliases: 30,
        max_root_fields: 20,
        max_directives: 4,
        max_document_bytes: 32 * 1024,
        introspection: true,
    };

    fn check(query: &str) -> Result<(), String> {
        check_with(LIMITS, query)
    }

    fn check_with(limits: QueryLimits, query: &str) -> Result<(), String> {
        let mut request = async_graphql::Request::new(query);
        limits.check(&mut request).map_err(|error| {
            match error.extensions.as_ref().and_then(|extensions| extensions.get("limit")) {
                Some(limit) => limit.to_string().replace('"', ""),
                None => error.message,
            }
        })
    }

    fn nested(depth: usize) -> String {
        format!("{{ {}id{} }}", "a { ".repeat(depth - 1), " }".repeat(depth - 1))
    }

    /// The query GraphiQL sends to learn the schema: it must pass the default limits.
    const GRAPHIQL_INTROSPECTION: &str = r#"
        query IntrospectionQuery {
          __schema {
            queryType { name } mutationType { name } subscriptionType { name }
            types { ...FullType }
            directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
          }
        }
        fragment FullType on __Type {
          kind name description isOneOf specifiedByURL
          fields(includeDeprecated: true) {
            name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef }
            isDeprecated deprecationReason
          }
          inputFields(includeDeprecated: true) { ...InputValue }
          interfaces { ...TypeRef }
          enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
          possibleTypes { ...TypeRef }
        }
        fragment InputValue on __InputValue {
          name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
        }
        fragment TypeRef on __Type {
          kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
            kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
        }
    "#;

    #[test]
    fn ordinary_queries_and_graphiql_introspection_pass() {
        check("{ viewer { user { id displayName } } }").unwrap();
        check("query Q($id: ID!) { client(id: $id) { id ... on Client { displayName } } }").unwrap();
        check(GRAPHIQL_INTROSPECTION).unwrap();
    }

    #[test]
    fn each_limit_refuses_what_exceeds_it() {
        let aliases: String = (0..31).map(|i| format!("a{i}: user {{ id }} ")).collect();
        assert_eq!(check(&format!("{{ viewer {{ {aliases} }} }}")), Err("aliases".into()));
        let root: String = (0..21).map(|_| "__typename ").collect();
        assert_eq!(check(&format!("{{ {root} }}")), Err("rootFields".into()));
        let fields = "id ".repeat(300);
        assert_eq!(check(&format!("{{ viewer {{ {fields} }} }}")), Err("complexity".into()));
        assert_eq!(check(&nested(13)), Err("depth".into()));
        check(&nested(12)).unwrap();
        let directives = "@skip(if: false) ".repeat(5);
        assert_eq!(check(&format!("{{ viewer {directives} {{ id }} }}")), Err("directives".into()));
        assert_eq!(check(&format!("{{ viewer {{ id }} }} # {}", "x".repeat(32 * 1024))), Err("documentBytes".into()));
    }

    #[test]
    fn fragments_count_every_time_they_are_spread() {
        // Each level spreads the one below twice: 2^10 fields from a few lines.
        let mut query = String::from("{ viewer { ...F0 } }\nfragment F10 on Viewer { __typename }\n");
        for level in 0..10 {
            query.push_str(&format!("fragment F{level} on Viewer {{ ...F{next} ...F{next} }}\n", next = level + 1));
        }
        assert_eq!(check(&query), Err("complexity".into()));
        // A cycle does not hang the walk (validation refuses it later).
        check("{ viewer { ...A } } fragment A on Viewer { ...B } fragment B on Viewer { ...A }").unwrap();
    }

    #[test]
    fn brackets_nested_past_any_parser_depth_are_refused_before_parsing() {
        let query = format!("{}{}", "{".repeat(100_000), "}".repeat(100_000));
        let limits = QueryLimits { max_document_bytes: usize::MAX, ..LIMITS };
        assert_eq!(check_with(limits, &query), Err("depth".into()));
        // Brackets inside strings and comments do not count.
        let quoted = format!("{{ viewer(x: \"{}\") {{ id }} }} # {}", "{".repeat(200), "[".repeat(200));
        assert_eq!(bracket_nesting(&quoted, 1000), 2);
    }

    #[test]
    fn introspection_cannot_multiply_the_schema_by_itself() {
        let lists = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        assert_eq!(check(lists), Err("introspectionDepth".into()));
        let through_type = "{ __type(name: \"Client\") { fields { type { fields { type { fields { type { fields { name } } } } } } } } }";
        assert_eq!(check(through_type), Err("introspectionDepth".into()));
        // Data fields keep the ordinary depth limit, also next to introspection.
        let data = nested(13);
        assert_eq!(
            check(&format!("{{ __schema {{ queryType {{ name }} }} {} }}", &data[1..data.len() - 1])),
            Err("depth".into())
        );
    }

    #[test]
    fn introspection_is_refused_when_turned_off() {
        let limits = QueryLimits { introspection: false, ..LIMITS };
        assert!(check_with(limits, "{ __schema { queryType { name } } }").is_err());
        assert!(check_with(limits, "query { ...F } fragment F on Query { __type(name: \"Query\") { name } }").is_err());
        check_with(limits, "{ __typename }").unwrap();
    }
}
