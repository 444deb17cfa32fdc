//! What front-end clients rely on: responses as the GraphQL specification shapes them (a
//! refused field is present as `null`, a non-null one nulls its nearest nullable parent), the
//! media types of GraphQL over HTTP, the reference audit of that spec, and Apollo Client's
//! cache reading back what it was given.

use std::collections::HashMap;
use std::process::Stdio;

use inzage_api::domain::accounts;
use inzage_api::domain::values::Email;
use inzage_testkit::{Backend, TestApp, clients, data};
use serde_json::{Value, json};
use uuid::Uuid;

/// Every demo account.
const DEMO: [&str; 17] = [
    "admin@delinde.example",
    "secretary@delinde.example",
    "carla@delinde.example",
    "koen@delinde.example",
    "pim@delinde.example",
    "sofie@delinde.example",
    "daan@delinde.example",
    "olga@delinde.example",
    "lotte@delinde.example",
    "milan@delinde.example",
    "noor@delinde.example",
    "gijs@delinde.example",
    "ria@delinde.example",
    "eric@delinde.example",
    "admin@vitaalcheck.example",
    "bram@vitaalcheck.example",
    "hanna@herstelwerk.example",
];

/// A server on the demo data, with room for queries that select the whole schema.
async fn demo() -> TestApp {
    TestApp::spawn_with(&Backend::Sqlite, |settings| {
        settings.demo = Some(true);
        settings.max_complexity = 100_000;
        settings.max_aliases = 1_000;
        settings.max_document_bytes = 1 << 20;
        settings.max_body_bytes = 1 << 21;
    })
    .await
}

async fn id_of(app: &TestApp, email: &str) -> Uuid {
    let email = Email::parse(email).expect("email");
    accounts::find_by_email(app.app.db.conn(), &email).await.expect("lookup").expect("a demo account").id
}

// --- The shape of the schema, from introspection ------------------------------------------------

/// A field's type as introspection describes it.
#[derive(Debug, Clone)]
enum TypeRef {
    NonNull(Box<TypeRef>),
    List(Box<TypeRef>),
    Named(String),
}

impl TypeRef {
    fn of(value: &Value) -> Self {
        match value["kind"].as_str() {
            Some("NON_NULL") => Self::NonNull(Box::new(Self::of(&value["ofType"]))),
            Some("LIST") => Self::List(Box::new(Self::of(&value["ofType"]))),
            _ => Self::Named(value["name"].as_str().expect("a named type").to_owned()),
        }
    }

    fn named(&self) -> &str {
        match self {
            Self::NonNull(inner) | Self::List(inner) => inner.named(),
            Self::Named(name) => name,
        }
    }
}

struct Field {
    name: String,
    ty: TypeRef,
    /// Whether every argument may be left out.
    callable: bool,
}

/// Object types and their fields.
struct Schema {
    objects: HashMap<String, Vec<Field>>,
}

const TYPE_REF: &str = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";

async fn schema(app: &TestApp, token: &str) -> Schema {
    let query = format!(
        "{{ __schema {{ types {{ name kind fields {{ name type {{ {TYPE_REF} }} args {{ defaultValue type {{ kind }} }} }} }} }} }}"
    );
    let response = app.graphql(Some(token), &query, json!({})).await;
    let mut objects = HashMap::new();
    for ty in data(&response)["__schema"]["types"].as_array().expect("types") {
        let name = ty["name"].as_str().expect("name");
        if ty["kind"] != "OBJECT" || name.starts_with("__") {
            continue;
        }
        let fields = ty["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|field| Field {
                name: field["name"].as_str().expect("name").to_owned(),
                ty: TypeRef::of(&field["type"]),
                callable: field["args"]
                    .as_array()
                    .expect("args")
                    .iter()
                    .all(|arg| arg["type"]["kind"] != "NON_NULL" || !arg["defaultValue"].is_null()),
            })
            .collect();
        objects.insert(name.to_owned(), fields);
    }
    Schema { objects }
}

/// A selection of the generated query: a field and what is selected under it.
struct Selection {
    name: String,
    ty: TypeRef,
    children: Vec<Selection>,
}

impl Schema {
    /// Every field of `type_name` that needs no argument, `depth` levels down, without
    /// entering a type already on the way (no cycles).
    fn select(&self, type_name: &str, depth: usize, on_the_way: &mut Vec<String>) -> Vec<Selection> {
        let Some(fields) = self.objects.get(type_name) else { return Vec::new() };
        on_the_way.push(type_name.to_owned());
        let mut selections = Vec::new();
        for field in fields.iter().filter(|field| field.callable) {
            let inner = field.ty.named();
            let children = if self.objects.contains_key(inner) {
                if depth == 0 || on_the_way.iter().any(|seen| seen == inner) {
                    continue;
                }
                let children = self.select(inner, depth - 1, on_the_way);
                if children.is_empty() {
                    continue;
                }
                children
            } else {
                Vec::new()
            };
            selections.push(Selection { name: field.name.clone(), ty: field.ty.clone(), children });
        }
        on_the_way.pop();
        selections
    }
}

fn document(selections: &[Selection]) -> String {
    let mut out = String::from("{");
    for selection in selections {
        out.push(' ');
        out.push_str(&selection.name);
        if !selection.children.is_empty() {
            out.push_str(&document(&selection.children));
        }
    }
    out.push_str(" }");
    out
}

/// Checks `value` against the selection: every selected key is present in every object, and no
/// non-null position holds `null`. Returns the number of `null`s met.
fn check_shape(value: &Value, ty: &TypeRef, children: &[Selection], path: &str, problems: &mut Vec<String>) {
    match (ty, value) {
        (TypeRef::NonNull(_), Value::Null) => problems.push(format!("{path}: null in a non-null position")),
        (TypeRef::NonNull(inner), _) => check_shape(value, inner, children, path, problems),
        (_, Value::Null) => {}
        (TypeRef::List(item), Value::Array(items)) => {
            for (index, element) in items.iter().enumerate() {
                check_shape(element, item, children, &format!("{path}.{index}"), problems);
            }
        }
        (TypeRef::List(_), other) => problems.push(format!("{path}: a list expected, got {other}")),
        (TypeRef::Named(_), Value::Object(object)) => {
            for child in children {
                match object.get(&child.name) {
                    Some(field) => {
                        check_shape(field, &child.ty, &child.children, &format!("{path}.{}", child.name), problems)
                    }
                    None => problems.push(format!("{path}.{}: the key is missing", child.name)),
                }
            }
        }
        (TypeRef::Named(_), _) if children.is_empty() => {}
        (TypeRef::Named(_), other) => problems.push(format!("{path}: an object expected, got {other}")),
    }
}

/// Whether the error's path ends in a `null`: at its field, or at a parent the `null` went up to.
fn error_lands_on_null(data: &Value, path: &[Value]) -> bool {
    let mut value = data;
    for segment in path {
        if value.is_null() {
            return true;
        }
        value = match segment {
            Value::String(key) => match value.get(key) {
                Some(next) => next,
                None => return false,
            },
            Value::Number(index) => match value.get(index.as_u64().unwrap_or(u64::MAX) as usize) {
                Some(next) => next,
                None => return false,
            },
            _ => return false,
        };
    }
    value.is_null()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_the_whole_schema_a_refused_field_is_present_as_null_at_its_error_path() {
    let app = demo().await;
    let admin = app.token(id_of(&app, "admin@delinde.example").await);
    let schema = schema(&app, &admin).await;
    let root = schema.select("Query", 4, &mut Vec::new());
    let query = document(&root);
    let root_type = TypeRef::Named("Query".into());
    let mut refused_fields = 0;
    let mut paths = std::collections::BTreeSet::new();
    for email in DEMO {
        let token = app.token(id_of(&app, email).await);
        let response = app.graphql(Some(&token), &query, json!({})).await;
        let data = &response["data"];
        let mut problems = Vec::new();
        check_shape(data, &root_type, &root, "data", &mut problems);
        for error in response["errors"].as_array().into_iter().flatten() {
            let path = error["path"].as_array().cloned().unwrap_or_default();
            assert!(!path.is_empty(), "{email}: an error without a path: {error}");
            if !error_lands_on_null(data, &path) {
                problems.push(format!("error at {path:?} does not land on null"));
            }
            assert_ne!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR", "{email}: {error}");
            refused_fields += 1;
            let field: Vec<String> = path.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            paths.insert(field.join("."));
        }
        assert!(problems.is_empty(), "{email}: {problems:#?}");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "whole-schema walk: {} bytes of query; {refused_fields} refused fields checked at {} distinct paths",
        query.len(),
        paths.len()
    );
    // Not vacuous: the policy refused many fields, among them those the README names.
    assert!(paths.len() >= 10, "{paths:#?}");
    assert!(paths.iter().any(|p| p.ends_with("tools.content")), "{paths:#?}");
    assert!(paths.iter().any(|p| p.ends_with("dossier")), "{paths:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secretary_gets_every_key_with_null_where_refused() {
    let app = demo().await;
    let secretary = id_of(&app, "secretary@delinde.example").await;
    let query = "{ clients { nodes { displayName tools { name content } dossier { nodes { title } } } } }";
    let response = app.as_user(secretary, query, json!({})).await;
    let nodes = response["data"]["clients"]["nodes"].as_array().expect("clients").clone();
    let lotte = nodes.iter().find(|n| n["displayName"] == "Lotte de Vries").expect("Lotte");
    let tools = json!([{"name": "Sleep diary", "content": null}, {"name": "Avondritueel", "content": null}]);
    assert_eq!(lotte["tools"], tools, "{response:#}");
    // Milan's dossier is closed to her (Lotte's she reads through the back-office team).
    let milan = nodes.iter().find(|n| n["displayName"] == "Milan Jansen").expect("Milan");
    assert!(milan.as_object().expect("object").contains_key("dossier") && milan["dossier"].is_null(), "{milan}");
    for node in &nodes {
        assert!(node.as_object().expect("object").contains_key("dossier"), "{node}");
    }
    let forbidden: Vec<&Value> = response["errors"].as_array().expect("errors").iter().collect();
    assert!(forbidden.iter().all(|e| e["extensions"]["code"] == "FORBIDDEN"), "{response:#}");
    let content_paths =
        forbidden.iter().filter(|e| e["path"].as_array().is_some_and(|p| p.last() == Some(&json!("content"))));
    assert!(content_paths.count() >= 1, "{response:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_non_null_field_nulls_its_nearest_nullable_parent() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let (org, _) = app.organization("De Linde").await;
    let carla = app.user(org, "carla@linde.example", &[inzage_entity::Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let sent = "mutation($to: [ID!]) { sendMessage(input: {recipientIds: $to, body: \"Hello\"}) { id } }";
    data(&app.as_user(lotte, sent, json!({"to": [carla]})).await);

    // `messages` (non-null) fails on a page size over the limit: its conversation (non-null)
    // is null, and so the message, the nearest nullable parent; the notification stays.
    let query = "{ viewer { notifications { nodes { kind message { body conversation { id \
                 messages(first: 100000) { nodes { body } } } } } } } }";
    let response = app.as_user(carla, query, json!({})).await;
    let nodes = &response["data"]["viewer"]["notifications"]["nodes"];
    assert_eq!(nodes, &json!([{"kind": "MESSAGE_RECEIVED", "message": null}]), "{response:#}");
    let path = &response["errors"][0]["path"];
    assert_eq!(path, &json!(["viewer", "notifications", "nodes", 0, "message", "conversation", "messages"]));

    // Through a list of non-null items and non-null fields, the null reaches `data` itself.
    let query = "{ viewer { conversations { id messages(first: 100000) { nodes { body } } } } }";
    let response = app.as_user(carla, query, json!({})).await;
    assert!(response.as_object().expect("object").contains_key("data"), "{response:#}");
    assert_eq!(response["data"], Value::Null, "{response:#}");
    assert_eq!(response["errors"][0]["path"], json!(["viewer", "conversations", 0, "messages"]));
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

// --- GraphQL over HTTP -------------------------------------------------------------------------

async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut request = app.http.post(app.url("/graphql")).json(&body);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, content_type, response.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_come_in_the_media_type_the_client_accepts() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let ok = json!({"query": "{ __typename }"});
    for (accept, expected) in [
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
        (Some("application/graphql-response+json"), "application/graphql-response+json"),
        (Some("application/graphql-response+json, application/json;q=0.9"), "application/graphql-response+json"),
        (Some("application/graphql-response+json;q=0.5, application/json"), "application/json"),
    ] {
        let (status, content_type, body) = post(&app, accept, ok.clone()).await;
        assert_eq!(status, 200, "{accept:?}");
        assert!(content_type.starts_with(expected), "{accept:?}: {content_type}");
        assert_eq!(body["data"]["__typename"], "Query");
    }
    // Request errors (the operation never ran) carry no data; under the new media type they
    // are 400, under application/json 200.
    for bad in [
        json!({"query": "{"}),
        json!({"query": "{ nope }"}),
        json!({"query": "query($id: ID!) { __typename }", "variables": {"id": null}}),
    ] {
        let (status, _, body) = post(&app, Some("application/graphql-response+json"), bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        let (status, _, body) = post(&app, Some("application/json"), bad.clone()).await;
        assert_eq!(status, 200, "{bad}: {body}");
        assert!(body.get("data").is_none(), "{body}");
    }
    // A field error is not a request error: 200 with data under either type, also when the
    // null of a non-null root field makes `data` itself null.
    let unknown = json!({"query": "{ client(id: \"00000000-0000-0000-0000-000000000000\") { id } }"});
    let (status, _, body) = post(&app, Some("application/graphql-response+json"), unknown).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({"client": null}), "{body}");
    let (status, _, body) =
        post(&app, Some("application/graphql-response+json"), json!({"query": "{ viewer { roles } }"})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.as_object().is_some_and(|b| b.contains_key("data")) && body["data"].is_null(), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(node_clients), ignore = "needs node and npm for the graphql-http audit")]
async fn the_graphql_over_http_audit_reports_no_failure_and_no_warning() {
    let app = TestApp::spawn(&Backend::Sqlite).await;
    let url = app.url("/graphql");
    let output = tokio::task::spawn_blocking(move || {
        clients::node("audit.mjs").arg(url).stderr(Stdio::inherit()).output().expect("the audit runs")
    })
    .await
    .expect("audit");
    assert!(output.status.success(), "the audit exited with {}", output.status);
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let summary = lines.last().expect("a summary");
    // Straight to stderr, so that the run's log shows it also when the test passes.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "graphql-http audit: {}", summary["summary"].as_str().unwrap_or_default());
    let failing: Vec<&Value> = lines.iter().filter(|l| l["status"] == "error" || l["status"] == "warn").collect();
    assert!(failing.is_empty(), "{failing:#?}");
    assert_eq!(summary["errors"], 0);
    assert_eq!(summary["warnings"], 0);
    assert_eq!(summary["notices"], 0, "not even a MAY is left out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(node_clients), ignore = "needs node and npm for Apollo Client")]
async fn apollo_clients_cache_reads_back_a_response_with_refused_fields_complete() {
    let app = demo().await;
    let secretary = app.token(id_of(&app, "secretary@delinde.example").await);
    let query = "query Dashboard { clients { nodes { id displayName tools { id name content } \
                 dossier { nodes { id title } } } } }";
    let url = app.url("/graphql");
    let output = tokio::task::spawn_blocking(move || {
        clients::node("apollo.mjs").args([url.as_str(), secretary.as_str(), query]).stderr(Stdio::inherit()).output()
    })
    .await
    .expect("apollo")
    .expect("apollo runs");
    assert!(output.status.success(), "apollo.mjs exited with {}", output.status);
    let result: Value = serde_json::from_slice(&output.stdout).expect("a JSON line");
    let errors = result["errors"].as_array().expect("errors");
    assert!(!errors.is_empty() && errors.iter().all(|e| e["code"] == "FORBIDDEN"), "{result:#}");
    assert_eq!(result["cacheComplete"], true, "{result:#}");
    assert_eq!(result["cacheMissing"], json!([]), "{result:#}");
    assert_eq!(result["complaints"], json!([]), "{result:#}");
    let strip = |mut value: Value| {
        strip_typename(&mut value);
        value
    };
    assert_eq!(strip(result["cached"].clone()), strip(result["data"].clone()), "{result:#}");
    let nodes = result["cached"]["clients"]["nodes"].as_array().expect("nodes");
    assert!(nodes.iter().any(|n| n["tools"].as_array().is_some_and(|t| t.iter().any(|t| t["content"].is_null()))));
}

fn strip_typename(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.remove("__typename");
            object.values_mut().for_each(strip_typename);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_typename),
        _ => {}
    }
}
