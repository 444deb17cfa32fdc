//! Fuzzing every mutation with hostile, malformed and oversized input, over the demo data.
//!
//! The mutations and their argument types are read from the running server's introspection, so
//! a new mutation is covered as soon as it exists. For each one the test sends many argument sets
//! as GraphQL variables, as every demo account (administrators, secretary, counselors,
//! supervisor, analysts, clients, guardian, relative, external, the partner's and the provider's
//! professionals) and without or with a bad token:
//!
//! - well-typed values with hostile contents: empty, 100 kB, control characters and NUL, right-
//!   to-left, emoji and combining characters, SQL and HTML fragments, integers at the `Int`
//!   extremes, dates far in the past and future and malformed ones, ids that are random, nil,
//!   malformed, or those of real rows (of the right kind or of any other);
//! - ill-typed values: wrong JSON types, missing required fields and variables, unknown fields,
//!   null where a value is required, out-of-range numbers, deeply nested lists, lone surrogates,
//!   variables declared with the wrong type, and bodies over the size limit.
//!
//! For every response it guarantees what a client relies on:
//!
//! 1. the HTTP status is never 5xx, and a 200 carries a GraphQL response;
//! 2. the server keeps answering: the request gets an answer (a panicking handler drops the
//!    connection) and a follow-up request works;
//! 3. every error has an `extensions.code`, and none is `INTERNAL_SERVER_ERROR`;
//! 4. no error message or extension shows internals (database, SQL, panics, source paths);
//! 5. nothing is written when a mutation fails: if its field came back null (with an error) or
//!    the request was refused as a whole, every table holds as many rows as before, except the
//!    access log, where refusals are recorded by design.
//!
//! Four kinds of case take turns: plausible values (real ids of the kind an argument's name
//! suggests, valid names, addresses and dates), so that mutations succeed and their deeper paths
//! are reached; hostile well-typed values; ill-typed values; and requests that succeeded before,
//! replayed by the same account with one value (or something inside it) replaced by a hostile
//! or ill-typed one, which takes hostile values past the refusals at the door. Two accounts
//! with names as long as names may be are added first, and accounts the run creates send
//! requests too. Every hundred cases the first accounts get their roles and active flag back.
//! After every success the expiry scheduler runs at once (and must not fail), so that its writes
//! never fall between the counts of the next case.
//!
//! The cases come from a seeded generator: `INZAGE_FUZZ_SEED` (a number, `0x…` or `random`)
//! and `INZAGE_FUZZ_CASES` (default 2000 per database) override the seed and the number of
//! cases; `INZAGE_FUZZ_VERBOSE=1` prints every case and its outcome. Every violation is
//! reported with the seed, the case number, the account, the operation, its variables (long
//! values abbreviated) and the response; replaying the same seed with at least as many cases
//! reproduces it, and the outcome counts per mutation are printed at the end (`--nocapture`).

use inzage_testkit::on_every_database;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use inzage_entity::{user, user_role};
use inzage_testkit::{Backend, TestApp};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, Statement,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The seed used unless `INZAGE_FUZZ_SEED` says otherwise: a fixed one, so that a default run
/// is the same every time.
const DEFAULT_SEED: u64 = 0x1a5e_2026_0302_0900;

/// Cases per database unless `INZAGE_FUZZ_CASES` says otherwise.
const DEFAULT_CASES: usize = 2000;

/// The access log: refusals are written to it by design, so its size is not compared.
const AUDIT_TABLE: &str = "audit_event";

/// Tables no request writes to (the seals are made by a background task), and the rate
/// limits, which count every attempt at a limited mutation, failed or not, by design: a flood
/// of failing calls must be limited too.
const BOOKKEEPING_TABLES: &[&str] = &["seaql_migrations", "audit_seal", "rate_limit"];

/// The most accounts cases are sent as (the demo's, and those created during the run).
const MAX_ACCOUNTS: usize = 48;

/// Every so many cases the first accounts get their roles and active flag back (so that a
/// deactivation or demotion drawn early does not silence an account for the rest of the run),
/// and the ids of real rows and the accounts created meanwhile are read again.
const RESTORE_EVERY: usize = 100;

/// Fragments that betray internals when they appear in an error (compared case-insensitively).
const LEAKS: &[&str] = &[
    "sqlx",
    "sqlite",
    "postgres",
    "database",
    "panicked",
    "constraint",
    "syntax error",
    "thread '",
    "src/",
    ".rs:",
    "unwrap()",
    "called `option::unwrap",
    "called `result::unwrap",
    "backtrace",
    "dberr",
    "sea_orm",
    "sea-orm",
    "duplicate key",
    "violates",
    "no such table",
    "no such column",
    "foreign key",
    "relation \"",
];

/// Stands for a lone UTF-16 surrogate: JSON text can carry `\ud800`, a Rust string cannot, so
/// this marker is replaced in the serialised body.
const LONE_SURROGATE: &str = "\u{e000}lone-surrogate\u{e000}";

/// The test clock's "now" (see the harness), for dates around it.
const NOW: &str = "2026-03-02T09:00:00Z";

const INTROSPECTION: &str = r#"
query FuzzSchema {
  __schema {
    mutationType { name fields(includeDeprecated: true) { name args { ...InputValue } type { ...TypeRef } } }
    types {
      kind
      name
      enumValues(includeDeprecated: true) { name }
      inputFields { ...InputValue }
      fields(includeDeprecated: true) { name args { name defaultValue type { ...TypeRef } } type { ...TypeRef } }
    }
  }
}
fragment InputValue on __InputValue { name defaultValue type { ...TypeRef } }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
"#;

// ---------------------------------------------------------------------------------------------
// The schema, as introspection describes it
// ---------------------------------------------------------------------------------------------

/// A GraphQL type reference: a named type, a list, or a non-null wrapper.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    fn parse(value: &Value) -> Self {
        match value["kind"].as_str() {
            Some("NON_NULL") => Self::NonNull(Box::new(Self::parse(&value["ofType"]))),
            Some("LIST") => Self::List(Box::new(Self::parse(&value["ofType"]))),
            _ => Self::Named(value["name"].as_str().expect("a named type").to_owned()),
        }
    }

    /// As written in a variable definition, e.g. `[ID!]!`.
    fn render(&self) -> String {
        match self {
            Self::Named(name) => name.clone(),
            Self::List(item) => format!("[{}]", item.render()),
            Self::NonNull(inner) => format!("{}!", inner.render()),
        }
    }

    /// The named type inside the wrappers.
    fn named(&self) -> &str {
        match self {
            Self::Named(name) => name,
            Self::List(inner) | Self::NonNull(inner) => inner.named(),
        }
    }

    fn is_non_null(&self) -> bool {
        matches!(self, Self::NonNull(_))
    }
}

/// An argument or an input object's field.
#[derive(Debug, Clone)]
struct InputValue {
    name: String,
    ty: TypeRef,
    has_default: bool,
}

impl InputValue {
    fn parse(value: &Value) -> Self {
        Self {
            name: value["name"].as_str().expect("a name").to_owned(),
            ty: TypeRef::parse(&value["type"]),
            has_default: !value["defaultValue"].is_null(),
        }
    }

    /// Whether a request must give it (non-null and without a default).
    fn required(&self) -> bool {
        self.ty.is_non_null() && !self.has_default
    }
}

/// What the test needs to know about a named type.
#[derive(Debug, Clone)]
enum TypeDef {
    Scalar,
    Enum(Vec<String>),
    Input(Vec<InputValue>),
    /// An object type: its fields, with whether they can be selected without arguments.
    Object(Vec<(String, TypeRef, bool)>),
    Other,
}

/// A mutation: its name, arguments and result type.
#[derive(Debug, Clone)]
struct Mutation {
    name: String,
    args: Vec<InputValue>,
    ty: TypeRef,
}

#[derive(Debug)]
struct Schema {
    types: BTreeMap<String, TypeDef>,
    mutations: Vec<Mutation>,
}

impl Schema {
    /// Reads the schema from the server's introspection.
    async fn introspect(app: &TestApp, token: &str) -> Self {
        let response = app.graphql(Some(token), INTROSPECTION, json!({})).await;
        assert!(response.get("errors").is_none(), "introspection failed: {response:#}");
        let schema = &response["data"]["__schema"];
        let mut types = BTreeMap::new();
        for ty in schema["types"].as_array().expect("types") {
            let name = ty["name"].as_str().expect("a type name").to_owned();
            let def = match ty["kind"].as_str() {
                Some("SCALAR") => TypeDef::Scalar,
                Some("ENUM") => TypeDef::Enum(
                    ty["enumValues"]
                        .as_array()
                        .expect("enum values")
                        .iter()
                        .map(|v| v["name"].as_str().expect("an enum value").to_owned())
                        .collect(),
                ),
                Some("INPUT_OBJECT") => TypeDef::Input(
                    ty["inputFields"].as_array().expect("input fields").iter().map(InputValue::parse).collect(),
                ),
                Some("OBJECT") => TypeDef::Object(
                    ty["fields"]
                        .as_array()
                        .expect("fields")
                        .iter()
                        .map(|field| {
                            let plain = field["args"].as_array().is_none_or(|args| {
                                args.iter()
                                    .all(|arg| arg["type"]["kind"] != "NON_NULL" || !arg["defaultValue"].is_null())
                            });
                            (
                                field["name"].as_str().expect("a field name").to_owned(),
                                TypeRef::parse(&field["type"]),
                                plain,
                            )
                        })
                        .collect(),
                ),
                _ => TypeDef::Other,
            };
            types.insert(name, def);
        }
        let mutations = schema["mutationType"]["fields"]
            .as_array()
            .expect("the schema has mutations")
            .iter()
            .map(|field| Mutation {
                name: field["name"].as_str().expect("a mutation name").to_owned(),
                args: field["args"].as_array().expect("arguments").iter().map(InputValue::parse).collect(),
                ty: TypeRef::parse(&field["type"]),
            })
            .collect();
        Self { types, mutations }
    }

    /// The selection set for a mutation's result: `__typename` and every scalar or enum field
    /// that takes no required argument, so that resolving the result is exercised too.
    fn selection(&self, ty: &TypeRef) -> String {
        match self.types.get(ty.named()) {
            Some(TypeDef::Object(fields)) => {
                let mut selected = vec!["__typename".to_owned()];
                for (name, field_ty, plain) in fields {
                    let leaf = matches!(self.types.get(field_ty.named()), Some(TypeDef::Scalar | TypeDef::Enum(_)));
                    if *plain && leaf {
                        selected.push(name.clone());
                    }
                }
                format!(" {{ {} }}", selected.join(" "))
            }
            _ => String::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The database: tables, row counts, ids of real rows
// ---------------------------------------------------------------------------------------------

/// Every application table (the access log included), sorted.
async fn table_names(db: &DatabaseConnection) -> Vec<String> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        // Partitions (the access log's months) are counted in their partitioned table.
        _ => {
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        }
    };
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await.expect("list the tables");
    let mut names: Vec<String> = rows
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("a table name"))
        .filter(|name| !BOOKKEEPING_TABLES.contains(&name.as_str()))
        .collect();
    names.sort();
    assert!(names.iter().any(|name| name == AUDIT_TABLE), "the access log table {AUDIT_TABLE} exists: {names:?}");
    names
}

/// The number of rows of each table, in one statement.
async fn row_counts(db: &DatabaseConnection, tables: &[String]) -> BTreeMap<String, i64> {
    let backend = db.get_database_backend();
    let sql = tables
        .iter()
        .map(|table| format!("SELECT '{table}', COUNT(*) FROM \"{table}\""))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await.expect("count the rows");
    rows.iter()
        .map(|row| {
            (row.try_get_by_index::<String>(0).expect("a table name"), row.try_get_by_index::<i64>(1).expect("a count"))
        })
        .collect()
}

/// The ids of the rows in every table with an `id` column, per table, in a stable order; and
/// the accounts holding each role.
#[derive(Debug, Default)]
struct IdPool {
    by_table: BTreeMap<String, Vec<String>>,
    by_role: BTreeMap<String, Vec<String>>,
}

/// Argument names that stand for an account with a role without naming it.
const ROLE_SYNONYMS: &[(&str, &str)] =
    &[("participant", "CLIENT"), ("professional", "COUNSELOR"), ("primary_coach", "COUNSELOR")];

impl IdPool {
    async fn harvest(db: &DatabaseConnection, tables: &[String]) -> Self {
        let backend = db.get_database_backend();
        let mut by_table = BTreeMap::new();
        for table in tables {
            let sql = format!("SELECT id FROM \"{table}\" ORDER BY id");
            // Tables without an `id` column (links, settings) fail here and are left out.
            let Ok(rows) = db.query_all_raw(Statement::from_string(backend, sql)).await else { continue };
            let ids: Vec<String> = rows
                .iter()
                .filter_map(|row| {
                    row.try_get_by_index::<Uuid>(0)
                        .map(|id| id.to_string())
                        .or_else(|_| row.try_get_by_index::<String>(0))
                        .ok()
                })
                .collect();
            if !ids.is_empty() {
                by_table.insert(table.clone(), ids);
            }
        }
        let mut by_role: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut roles = user_role::Entity::find().all(db).await.expect("read the roles");
        roles.sort_by_key(|row| row.user_id);
        for row in roles {
            let role = serde_json::to_value(row.role).expect("a role").as_str().expect("a role name").to_owned();
            by_role.entry(role).or_default().push(row.user_id.to_string());
        }
        Self { by_table, by_role }
    }

    /// The accounts with the role an argument named `hint` (e.g. `clientId`, `supervisorId`,
    /// `participantIds`) suggests, if any.
    fn role_for(&self, hint: &str) -> Option<&[String]> {
        let base = hint.strip_suffix("Ids").or_else(|| hint.strip_suffix("Id"))?;
        let base = snake_case(base);
        let role = ROLE_SYNONYMS
            .iter()
            .find(|(name, _)| *name == base)
            .map_or_else(|| base.to_uppercase(), |(_, role)| (*role).to_owned());
        self.by_role.get(&role).map(Vec::as_slice)
    }

    /// The table an argument named `hint` (e.g. `clientId`, `groupId`, `ids`) most likely
    /// points into: the one of that name, one ending in it (`care_group` for `group`), the
    /// one the mutation is named after for a bare `ids`, and accounts for people.
    fn table_for(&self, hint: &str, mutation: &str) -> Option<&str> {
        let base = hint.strip_suffix("Ids").or_else(|| hint.strip_suffix("Id")).unwrap_or(hint);
        let base = snake_case(base);
        if base.is_empty() || base == "id" || base == "ids" {
            let mutation = snake_case(mutation);
            return self
                .by_table
                .keys()
                .filter(|table| mutation.contains(table.as_str()))
                .max_by_key(|table| table.len())
                .map(String::as_str);
        }
        if let Some((table, _)) = self.by_table.get_key_value(&base) {
            return Some(table);
        }
        let suffix = format!("_{base}");
        if let Some(table) = self.by_table.keys().find(|table| table.ends_with(&suffix)) {
            return Some(table);
        }
        self.by_table.keys().find(|table| table.ends_with("user")).map(String::as_str)
    }
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first accounts' roles and active flags, to put back now and then.
struct AccountSnapshot {
    ids: Vec<Uuid>,
    roles: Vec<user_role::Model>,
}

impl AccountSnapshot {
    async fn take(db: &DatabaseConnection, ids: Vec<Uuid>) -> Self {
        let roles = user_role::Entity::find()
            .filter(user_role::Column::UserId.is_in(ids.clone()))
            .all(db)
            .await
            .expect("read the roles");
        Self { ids, roles }
    }

    async fn restore(&self, db: &DatabaseConnection) {
        user::Entity::update_many()
            .col_expr(user::Column::Active, Expr::value(true))
            .filter(user::Column::Id.is_in(self.ids.clone()))
            .exec(db)
            .await
            .expect("reactivate the demo accounts");
        user_role::Entity::delete_many()
            .filter(user_role::Column::UserId.is_in(self.ids.clone()))
            .exec(db)
            .await
            .expect("clear the demo accounts' roles");
        user_role::Entity::insert_many(self.roles.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec(db)
            .await
            .expect("restore the demo accounts' roles");
    }
}

// ---------------------------------------------------------------------------------------------
// Generating values
// ---------------------------------------------------------------------------------------------

/// Whether no fragment of [`LEAKS`] occurs in `text`, so that finding one in an error cannot be
/// an echo of the input.
fn is_clean(text: &str) -> bool {
    let lower = text.to_lowercase();
    !text.contains("SQL") && !LEAKS.iter().any(|leak| lower.contains(leak))
}

/// Strings that have broken services before. None contains a fragment of [`LEAKS`].
fn hostile_strings() -> Vec<String> {
    let mut strings: Vec<String> = [
        "",
        " ",
        "   padded   ",
        "\t\r\n",
        "\0",
        "a\0b",
        "\u{7f}\u{80}\u{9f}",
        "\u{202e}fdp.exe",
        "\u{200f}\u{200e}\u{200b}\u{2060}\u{feff}",
        "\u{fffd}\u{fffe}\u{ffff}\u{10ffff}\u{e000}",
        "👩‍👩‍👧‍👦🏳️‍🌈🇳🇱",
        "漢字テスト한국어",
        "مرحبا بالعالم",
        "שלום עולם",
        "İıſK",
        "ﬃ ß ẞ",
        "'; DROP TABLE app_user; --",
        "' OR '1'='1",
        "\" OR 1=1 --",
        "1; SELECT pg_sleep(5)",
        "%' UNION SELECT NULL, NULL --",
        "\\",
        "\\'",
        "$1",
        "?",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "]]><!--",
        "&lt;&amp;&#0;",
        "%s%s%s%n",
        "{0}{1}",
        "{{7*7}}",
        "${jndi:ldap://x.example/a}",
        "../../../../etc/passwd",
        "C:\\Windows\\system32",
        "{\"id\":1}",
        "null",
        "true",
        "[]",
        "NaN",
        "-0",
        "1e309",
        "2147483648",
        "00000000-0000-0000-0000-000000000000",
        LONE_SURROGATE,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let controls: String = (1u8..0x20).map(char::from).collect();
    strings.push(controls);
    strings.push(format!("e{}", "\u{301}".repeat(300)));
    strings.push("Z\u{334}\u{35b}\u{31a}a\u{336}\u{357}l\u{337}\u{30c}g\u{335}\u{31b}o\u{338}".repeat(20));
    strings.push("x".repeat(199));
    strings.push("x".repeat(200));
    strings.push("x".repeat(201));
    strings.push("x".repeat(255));
    strings.push("x".repeat(256));
    strings.push("y".repeat(4097));
    strings.push("line\n".repeat(500));
    strings.push("🙂".repeat(300));
    strings
}

/// The strings too large to send more than one of per request.
fn huge_strings() -> Vec<String> {
    vec!["a".repeat(100_000), "é".repeat(50_000), "👍".repeat(25_000), "\0".repeat(20_000), "<b>".repeat(33_000)]
}

/// Ordinary values, so that mutations also succeed and reach their deeper paths.
const PLAUSIBLE: &[&str] = &[
    "Anna de Boer",
    "Intakegesprek",
    "Slaapdagboek bijhouden",
    "second coach",
    "Team Noord",
    "Een korte notitie over de afspraak.",
    "Begeleidt de deelnemer bij het plan",
    "Werkfit traject",
    "Acute crisis, de cliënt is onbereikbaar",
];

/// A valid name of the greatest length (200 characters), ending in `n`.
fn longest_name(n: u32) -> String {
    let tail = format!(" {n}");
    let mut name: String = "Zoë van Dijk ".repeat(20).chars().take(200 - tail.len() - 1).collect();
    name.push('é');
    name.push_str(&tail);
    debug_assert_eq!(name.chars().count(), 200);
    name
}

/// Characters that storage, terminals and text layout treat specially.
const SPICES: &[char] = &[
    '\0',
    '\u{1}',
    '\u{8}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\n',
    '\r',
    '\t',
    '\u{2028}',
    '\u{2029}',
    '\u{202e}',
    '\u{200b}',
    '\u{feff}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{10ffff}',
    '\u{301}',
    '\u{1f4a9}',
    '\'',
    '"',
    '\\',
    '%',
    '_',
];

fn datetimes() -> Vec<String> {
    [
        NOW,
        "2026-03-02T09:00:01Z",
        "2026-03-02T08:59:59Z",
        "2026-03-02T10:00:00Z",
        "2026-03-03T09:00:00Z",
        "2026-04-01T09:00:00Z",
        "2027-03-02T09:00:00+14:00",
        "2026-03-10T09:00:00-12:00",
        "2026-03-10T09:00:00.123456789Z",
        "2026-03-01T09:00:00Z",
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "+262142-12-31T23:59:59Z",
        "-0001-01-01T00:00:00Z",
        "2026-06-30T23:59:60Z",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-03-03T25:61:61Z",
        "2026-03-03",
        "2026-03-03T09:00:00",
        "2026-03-03 09:00:00Z",
        "09:00",
        "tomorrow",
        "1772442000",
        "",
        "２０２６-03-03T09:00:00Z",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn dates() -> Vec<String> {
    [
        "1991-04-17",
        "2026-03-02",
        "2026-03-03",
        "2999-01-01",
        "1800-01-01",
        "0000-01-01",
        "0001-01-01",
        "9999-12-31",
        "+10000-01-01",
        "1990-02-29",
        "2000-02-29",
        "1990-13-01",
        "1990-00-10",
        "17-04-1991",
        "1991-4-7",
        "1991-04-17T00:00:00Z",
        "",
        " 1991-04-17 ",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    7,
    14,
    30,
    90,
    365,
    3650,
    36_500,
    86_400,
    1_000_000,
    i32::MAX as i64,
    i32::MAX as i64 - 1,
    i32::MIN as i64,
    i32::MIN as i64 + 1,
];

/// Everything one case needs to generate its values.
struct Generator<'a> {
    rng: StdRng,
    schema: &'a Schema,
    ids: &'a IdPool,
    strings: &'a Strings,
    mutation: &'a str,
    /// Whether this case may break types (otherwise every value has the declared type).
    ill: bool,
    /// Whether this case sends only plausible values (real ids of the suggested kind, valid
    /// names, e-mail addresses and dates), so that mutations get past validation and their
    /// deeper paths are exercised too.
    gentle: bool,
    /// How many huge values this request may still carry.
    huge_left: u32,
}

/// The fixed string pools, built once.
struct Strings {
    hostile: Vec<String>,
    huge: Vec<String>,
    datetimes: Vec<String>,
    dates: Vec<String>,
}

impl Strings {
    fn new() -> Self {
        let strings = Self { hostile: hostile_strings(), huge: huge_strings(), datetimes: datetimes(), dates: dates() };
        for s in strings.hostile.iter().chain(&strings.huge).chain(&strings.datetimes).chain(&strings.dates) {
            assert!(is_clean(s), "the input {s:?} could be mistaken for a leak");
        }
        strings
    }
}

/// How likely a node of an ill-typed case is given a value of the wrong type.
const ILL_NODE: f64 = 0.2;

impl Generator<'_> {
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items.choose(&mut self.rng).expect("a non-empty pool").clone()
    }

    /// A value for `ty`; `hint` is the argument's or field's name.
    fn value(&mut self, ty: &TypeRef, hint: &str, depth: usize) -> Value {
        if self.ill && self.rng.random_bool(ILL_NODE) {
            return self.ill_typed(ty, hint, depth);
        }
        let (inner, nullable) = match ty {
            TypeRef::NonNull(inner) => (inner.as_ref(), false),
            other => (other, true),
        };
        if nullable && self.rng.random_bool(if self.gentle { 0.05 } else { 0.15 }) {
            return Value::Null;
        }
        match inner {
            TypeRef::List(item) => {
                let len = self.list_len();
                if len > 1 && self.rng.random_bool(0.2) {
                    // The same element over and over (duplicates in a set of ids, say).
                    let one = self.value(item, hint, depth + 1);
                    return Value::Array(vec![one; len]);
                }
                Value::Array((0..len).map(|_| self.value(item, hint, depth + 1)).collect())
            }
            TypeRef::NonNull(inner) => self.value(inner, hint, depth),
            TypeRef::Named(name) => self.named(name, hint, depth),
        }
    }

    /// Replaces one node of `slot` (itself, or something inside it) with a fresh value.
    fn mutate(&mut self, slot: &mut Value, ty: &TypeRef, hint: &str, depth: usize) {
        let inner = match ty {
            TypeRef::NonNull(inner) => inner.as_ref(),
            other => other,
        };
        let schema = self.schema;
        if self.rng.random_bool(0.6) {
            match (inner, &mut *slot) {
                (TypeRef::List(item), Value::Array(items)) if !items.is_empty() => {
                    let index = self.rng.random_range(0..items.len());
                    return self.mutate(&mut items[index], item, hint, depth + 1);
                }
                (TypeRef::Named(name), Value::Object(object)) => {
                    if let Some(TypeDef::Input(fields)) = schema.types.get(name.as_str())
                        && let Some(field) = fields.choose(&mut self.rng)
                    {
                        let child = object.entry(field.name.clone()).or_insert(Value::Null);
                        return self.mutate(child, &field.ty, &field.name, depth + 1);
                    }
                }
                _ => {}
            }
        }
        *slot = self.value(ty, hint, depth);
    }

    fn list_len(&mut self) -> usize {
        if self.gentle {
            return self.pick(&[1, 1, 1, 2, 3]);
        }
        match self.rng.random_range(0..100) {
            0..20 => 0,
            20..55 => 1,
            55..85 => self.rng.random_range(2..4),
            85..96 => self.rng.random_range(4..20),
            _ if self.huge_left > 0 => {
                self.huge_left -= 1;
                self.pick(&[200, 2000])
            }
            _ => 5,
        }
    }

    fn named(&mut self, name: &str, hint: &str, depth: usize) -> Value {
        let schema = self.schema;
        match schema.types.get(name) {
            Some(TypeDef::Enum(values)) if !values.is_empty() => Value::String(self.pick(values)),
            Some(TypeDef::Input(fields)) => {
                let mut object = Map::new();
                for field in fields {
                    // Deep inside a recursive input type, only what is required.
                    let skip =
                        !field.required() && (depth > 4 || self.rng.random_bool(if self.gentle { 0.6 } else { 0.35 }));
                    if !skip {
                        object.insert(field.name.clone(), self.value(&field.ty, &field.name, depth + 1));
                    }
                }
                Value::Object(object)
            }
            _ => self.scalar(name, hint),
        }
    }

    fn scalar(&mut self, name: &str, hint: &str) -> Value {
        match name {
            "ID" | "UUID" => Value::String(self.id(hint)),
            "Int" => self.int(),
            "Float" => json!(self.rng.random_range(-1e9..1e9)),
            "Boolean" => Value::Bool(self.rng.random_bool(0.5)),
            "DateTime" => Value::String(self.datetime()),
            "Date" | "NaiveDate" => Value::String(self.date()),
            _ => Value::String(self.string(hint)),
        }
    }

    /// An id: of a real row of the kind the name suggests, of any real row, random, nil, the
    /// largest, or malformed.
    fn id(&mut self, hint: &str) -> String {
        let ids = self.ids;
        let roll = if self.gentle { self.rng.random_range(0..60) } else { self.rng.random_range(0..100) };
        if roll < 40
            && let Some(accounts) = ids.role_for(hint)
        {
            return self.pick(accounts);
        }
        if roll < 50
            && let Some(table) = ids.table_for(hint, self.mutation)
        {
            return self.pick(&ids.by_table[table]);
        }
        if roll < 72 && !ids.by_table.is_empty() {
            let tables: Vec<&String> = ids.by_table.keys().collect();
            let table = self.pick(&tables);
            return self.pick(&ids.by_table[table]);
        }
        match roll {
            0..80 => uuid::Builder::from_random_bytes(self.rng.random()).into_uuid().to_string(),
            80..84 => Uuid::nil().to_string(),
            84..86 => Uuid::max().to_string(),
            _ => self.malformed_id(),
        }
    }

    fn malformed_id(&mut self) -> String {
        let real = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
        match self.rng.random_range(0..14) {
            0 => real.to_string().to_uppercase(),
            1 => real.simple().to_string(),
            2 => real.braced().to_string(),
            3 => real.urn().to_string(),
            4 => format!("{real} "),
            5 => format!("{real}x"),
            6 => real.to_string()[..20].to_owned(),
            7 => real.to_string().replace('-', "_"),
            8 => "not-a-uuid".to_owned(),
            9 => String::new(),
            10 => "12345".to_owned(),
            11 => "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz".to_owned(),
            12 => real.to_string().replace('a', "\u{0430}"),
            _ => self.hostile(),
        }
    }

    fn int(&mut self) -> Value {
        if self.gentle {
            return json!(self.pick(&[1, 7, 30, 90, 365]));
        }
        if self.rng.random_bool(0.7) { json!(self.pick(INTS)) } else { json!(self.rng.random_range(-1000..100_000)) }
    }

    fn datetime(&mut self) -> String {
        if self.gentle {
            let days = self.rng.random_range(2..400);
            let now = chrono::DateTime::parse_from_rfc3339(NOW).expect("now");
            return (now + chrono::Days::new(days)).to_rfc3339();
        }
        if self.rng.random_bool(0.2) {
            let year = self.rng.random_range(1900..2200);
            let month = self.rng.random_range(1..=12);
            let day = self.rng.random_range(1..=28);
            let hour = self.rng.random_range(0..24);
            return format!("{year:04}-{month:02}-{day:02}T{hour:02}:00:00Z");
        }
        let strings = self.strings;
        self.pick(&strings.datetimes)
    }

    fn date(&mut self) -> String {
        let strings = self.strings;
        self.pick(&strings.dates)
    }

    fn string(&mut self, hint: &str) -> String {
        let lower = hint.to_ascii_lowercase();
        if lower.contains("email") {
            return self.email();
        }
        if lower.contains("date") {
            if self.gentle {
                let (year, month, day) =
                    (self.rng.random_range(1930..2020), self.rng.random_range(1..=12), self.rng.random_range(1..=28));
                return format!("{year}-{month:02}-{day:02}");
            }
            return if self.rng.random_bool(0.8) { self.date() } else { self.hostile() };
        }
        if lower.contains("phone") && self.gentle {
            return "+31 6 1234 5678".to_owned();
        }
        if lower.contains("phone") && self.rng.random_bool(0.5) {
            return self.pick(&["+31 6 1234 5678", "+", "0612345678 ext. 5", "☎ 112", "+31612345678"]).to_owned();
        }
        if self.gentle || self.rng.random_bool(0.45) {
            if (lower.contains("name") || lower.contains("title")) && self.rng.random_bool(0.25) {
                // As long as a name may be, in characters of more than one byte.
                return longest_name(self.rng.random_range(0..1000));
            }
            let base = self.pick(PLAUSIBLE);
            return format!("{base} {}", self.rng.random_range(0..10_000));
        }
        self.hostile()
    }

    fn email(&mut self) -> String {
        let n = self.rng.random_range(0..1_000_000);
        if self.gentle {
            return format!("fuzz{n}@delinde.example");
        }
        match self.rng.random_range(0..20) {
            0..8 => format!("fuzz{n}@delinde.example"),
            8 => "lotte@delinde.example".to_owned(),
            9 => "Lotte@Delinde.Example".to_owned(),
            10 => " carla@delinde.example ".to_owned(),
            11 => "a@".to_owned(),
            12 => "@".to_owned(),
            13 => format!("x{n}@y@z.example"),
            14 => format!("ü{n}@bücher.example"),
            15 => format!("{}@x.example", "l".repeat(300)),
            16 => format!("a\0{n}@x.example"),
            17 => format!("<script>{n}@x.example"),
            18 => format!("fuzz{n}@delinde.example\n"),
            _ => self.hostile(),
        }
    }

    /// A string from the hostile pool, a huge one (at most one per request), or random
    /// characters from many scripts.
    fn hostile(&mut self) -> String {
        let strings = self.strings;
        let roll = self.rng.random_range(0..100);
        if roll < 6 && self.huge_left > 0 {
            self.huge_left -= 1;
            return self.pick(&strings.huge);
        }
        match roll {
            0..30 => {
                // Ordinary text with one odd character in it (NUL most often): past checks for
                // emptiness and length, and a test of what is stored.
                let mut text: Vec<char> = self.pick(PLAUSIBLE).chars().collect();
                let at = self.rng.random_range(0..=text.len());
                let spice = if self.rng.random_bool(0.35) { '\0' } else { self.pick(SPICES) };
                text.insert(at, spice);
                text.into_iter().collect()
            }
            30..70 => self.pick(&strings.hostile),
            _ => loop {
                let candidate = self.random_text();
                if is_clean(&candidate) {
                    break candidate;
                }
            },
        }
    }

    fn random_text(&mut self) -> String {
        const RANGES: &[(u32, u32)] = &[
            (0x20, 0x7e),
            (0x00, 0x1f),
            (0xa0, 0xff),
            (0x300, 0x36f),
            (0x590, 0x6ff),
            (0x4e00, 0x4fff),
            (0x1f300, 0x1f6ff),
            (0x2000, 0x206f),
            (0xfff0, 0xffff),
        ];
        let len = self.rng.random_range(0..64);
        (0..len)
            .filter_map(|_| {
                let (low, high) = self.pick(RANGES);
                char::from_u32(self.rng.random_range(low..=high))
            })
            .collect()
    }

    /// A value that does not have type `ty` (or, now and then, only just has it).
    fn ill_typed(&mut self, ty: &TypeRef, hint: &str, depth: usize) -> Value {
        let schema = self.schema;
        let roll = self.rng.random_range(0..100);
        if roll < 15 {
            return Value::Null;
        }
        if roll < 20 {
            let nesting = self.pick(&[16usize, 64, 127, 128, 129, 400]);
            let mut nested = json!("deep");
            for _ in 0..nesting {
                nested = if nesting.is_multiple_of(2) { json!([nested]) } else { json!({ "a": nested }) };
            }
            return nested;
        }
        let inner = match ty {
            TypeRef::NonNull(inner) => inner.as_ref(),
            other => other,
        };
        match inner {
            TypeRef::List(item) => match self.rng.random_range(0..5) {
                0 => json!({}),
                1 => json!([null]),
                2 => json!([[self.value(item, hint, depth + 1)]]),
                3 => self.value(item, hint, depth + 1),
                _ => json!([self.wrong_scalar(item.named())]),
            },
            TypeRef::NonNull(inner) => self.ill_typed(inner, hint, depth),
            TypeRef::Named(name) => match schema.types.get(name.as_str()) {
                Some(TypeDef::Input(fields)) => self.ill_object(name, fields, depth),
                Some(TypeDef::Enum(values)) if !values.is_empty() => {
                    let value = self.pick(values);
                    match self.rng.random_range(0..7) {
                        0 => json!(value.to_lowercase()),
                        1 => json!(format!("{value} ")),
                        2 => json!("NOT_A_VALUE"),
                        3 => json!(""),
                        4 => json!(0),
                        5 => json!([value]),
                        _ => {
                            let mut object = Map::new();
                            object.insert(value, json!(true));
                            Value::Object(object)
                        }
                    }
                }
                _ => self.wrong_scalar(name),
            },
        }
    }

    fn wrong_scalar(&mut self, name: &str) -> Value {
        let candidates = match name {
            "Int" => vec![
                json!("7"),
                json!(1.5),
                json!(2_147_483_648i64),
                json!(-2_147_483_649i64),
                json!(i64::MAX),
                json!(u64::MAX),
                json!(1e300),
                json!(true),
                json!([1]),
                json!({ "value": 1 }),
                json!(""),
            ],
            "Boolean" => vec![json!("true"), json!(1), json!(0), json!("yes"), json!([true]), json!({})],
            _ => vec![
                json!(42),
                json!(-1.5),
                json!(true),
                json!({}),
                json!(["x"]),
                json!({ "id": "x" }),
                json!(1e300),
                json!(u64::MAX),
            ],
        };
        self.pick(&candidates)
    }

    fn ill_object(&mut self, name: &str, fields: &[InputValue], depth: usize) -> Value {
        let mut object = match self.named(name, "", depth) {
            Value::Object(object) => object,
            _ => Map::new(),
        };
        match self.rng.random_range(0..6) {
            0 => {
                let required: Vec<&InputValue> = fields.iter().filter(|f| f.required()).collect();
                if let Some(field) = required.choose(&mut self.rng) {
                    object.remove(&field.name);
                }
            }
            1 => {
                let key = self.pick(&["unknownField", "__proto__", "constructor", "id", "organizationId", "x"]);
                let value = json!(self.hostile());
                object.insert(key.to_owned(), value);
            }
            2 => {
                for value in object.values_mut() {
                    *value = Value::Null;
                }
            }
            3 => return self.pick(&[json!("{}"), json!(7), json!([]), json!(true)]),
            4 => return json!([Value::Object(object)]),
            _ => {
                let key = "k".repeat(1000);
                object.insert(key, json!(1));
            }
        }
        Value::Object(object)
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// Per mutation, the variables of requests that succeeded and the account that sent them.
type Corpus = BTreeMap<String, Vec<(usize, Map<String, Value>)>>;

/// Who sends a case.
struct Actor {
    label: String,
    token: Option<String>,
}

/// One request: what it is for, and the body to send.
struct Case {
    mutation: String,
    query: String,
    variables: Value,
    body: String,
}

impl Generator<'_> {
    /// A request for `mutation`: its arguments as variables, hostile and sometimes ill-typed;
    /// or, given the variables of a request that succeeded, those with one value replaced.
    fn case(&mut self, mutation: &Mutation, base: Option<&Map<String, Value>>) -> Case {
        let mut definitions = Vec::new();
        let mut arguments = Vec::new();
        let mut variables = Map::new();
        let mutated = base.and_then(|_| mutation.args.choose(&mut self.rng)).map(|arg| arg.name.clone());
        for arg in &mutation.args {
            if let Some(base) = base {
                let value = match base.get(&arg.name) {
                    _ if mutated.as_deref() == Some(arg.name.as_str()) => {
                        let mut value = base.get(&arg.name).cloned().unwrap_or(Value::Null);
                        self.mutate(&mut value, &arg.ty, &arg.name, 0);
                        value
                    }
                    Some(value) => value.clone(),
                    None => continue,
                };
                definitions.push(format!("${}: {}", arg.name, arg.ty.render()));
                arguments.push(format!("{0}: ${0}", arg.name));
                variables.insert(arg.name.clone(), value);
                continue;
            }
            if !arg.required() && self.rng.random_bool(0.25) {
                continue; // leave an optional argument out altogether
            }
            let declared = if self.ill && self.rng.random_bool(0.05) {
                // A variable declared with a type the argument does not take.
                self.pick(&["String", "Int!", "[ID]", "Boolean!", "ID"]).to_owned()
            } else {
                arg.ty.render()
            };
            definitions.push(format!("${}: {declared}", arg.name));
            arguments.push(format!("{0}: ${0}", arg.name));
            if self.ill && arg.required() && self.rng.random_bool(0.08) {
                continue; // a required variable left out
            }
            let value = self.value(&arg.ty, &arg.name, 0);
            variables.insert(arg.name.clone(), value);
        }
        if self.ill && self.rng.random_bool(0.05) {
            variables.insert("undeclared".to_owned(), json!(self.hostile()));
        }
        if self.ill && self.rng.random_bool(0.03) {
            // A body larger than the server accepts (256 KiB by default).
            variables.insert("oversized".to_owned(), json!("o".repeat(300 * 1024)));
        }
        let definitions = if definitions.is_empty() { String::new() } else { format!("({})", definitions.join(", ")) };
        let arguments = if arguments.is_empty() { String::new() } else { format!("({})", arguments.join(", ")) };
        let query = format!(
            "mutation Fuzz{definitions} {{ {}{arguments}{} }}",
            mutation.name,
            self.schema.selection(&mutation.ty)
        );
        let variables = Value::Object(variables);
        let mut envelope = json!({ "query": query, "variables": variables });
        if self.ill && self.rng.random_bool(0.03) {
            envelope["variables"] = self.pick(&[json!([]), json!("variables"), json!(7)]);
        }
        if self.ill && self.rng.random_bool(0.02) {
            envelope["operationName"] = json!("NotThisOne");
        }
        let body = serde_json::to_string(&envelope).expect("serialise").replace(LONE_SURROGATE, "\\ud800");
        Case { mutation: mutation.name.clone(), query, variables, body }
    }
}

/// A copy of `value` short enough to print: long strings and lists cut, deep nesting elided.
fn abbreviate(value: &Value, depth: usize) -> Value {
    if depth > 12 {
        return json!("…");
    }
    match value {
        Value::String(s) if s.chars().count() > 120 => {
            let head: String = s.chars().take(40).collect();
            json!(format!("{head}… ({} chars, {} bytes)", s.chars().count(), s.len()))
        }
        Value::Array(items) if items.len() > 12 => {
            let mut cut: Vec<Value> = items.iter().take(4).map(|v| abbreviate(v, depth + 1)).collect();
            cut.push(json!(format!("… ({} items)", items.len())));
            Value::Array(cut)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| abbreviate(v, depth + 1)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = if k.len() > 60 {
                        format!("{}… ({} chars)", k.chars().take(20).collect::<String>(), k.chars().count())
                    } else {
                        k.clone()
                    };
                    (key, abbreviate(v, depth + 1))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

// ---------------------------------------------------------------------------------------------
// Checking responses
// ---------------------------------------------------------------------------------------------

/// What came back for one case.
enum Answer {
    /// The server answered with this status and body.
    Http { status: u16, body: String },
    /// No answer: the connection was dropped or timed out.
    None(String),
}

async fn send(app: &TestApp, token: Option<&str>, body: String) -> Answer {
    let mut request = app.http.post(app.url("/graphql")).header("content-type", "application/json").body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.text().await {
                Ok(body) => Answer::Http { status, body },
                Err(err) => Answer::None(format!("the body of a {status} response broke off: {err}")),
            }
        }
        Err(err) => Answer::None(format!("{err:?}")),
    }
}

/// The problems with one GraphQL response's errors (codes and leaks).
fn error_problems(response: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(errors) = response.get("errors") else { return problems };
    let Some(errors) = errors.as_array() else {
        problems.push(format!("`errors` is not a list: {errors}"));
        return problems;
    };
    for error in errors {
        match error["extensions"]["code"].as_str() {
            None => problems.push(format!("an error without extensions.code: {error}")),
            Some("INTERNAL_SERVER_ERROR") => problems.push(format!("INTERNAL_SERVER_ERROR: {error}")),
            Some(_) => {}
        }
        let message = error["message"].as_str().unwrap_or_default();
        let extensions = error.get("extensions").map(Value::to_string).unwrap_or_default();
        for text in [message, extensions.as_str()] {
            if !is_clean(text) {
                problems.push(format!("an error shows internals: {}", truncate(&error.to_string(), 600)));
            }
        }
    }
    problems
}

/// One broken invariant, with what it takes to reproduce it.
struct Violation {
    case: usize,
    actor: String,
    mutation: String,
    problem: String,
    query: String,
    variables: String,
    response: String,
}

/// Counts of outcomes per mutation, and the violations found.
#[derive(Default)]
struct Report {
    outcomes: BTreeMap<String, BTreeMap<String, usize>>,
    violations: Vec<Violation>,
}

impl Report {
    fn outcome(&mut self, mutation: &str, outcome: String) {
        *self.outcomes.entry(mutation.to_owned()).or_default().entry(outcome).or_default() += 1;
    }

    fn summary(&self) -> String {
        let mut out = String::new();
        for (mutation, outcomes) in &self.outcomes {
            let parts: Vec<String> = outcomes.iter().map(|(outcome, n)| format!("{outcome} {n}")).collect();
            out.push_str(&format!("  {mutation}: {}\n", parts.join(", ")));
        }
        out
    }
}

/// The first error code, or how the request ended.
fn outcome_of(answer: &Answer, response: Option<&Value>, field: &str) -> String {
    match (answer, response) {
        (Answer::None(_), _) => "no answer".to_owned(),
        (Answer::Http { status, .. }, None) => format!("HTTP {status}"),
        (_, Some(response)) => {
            let succeeded = response["data"].get(field).is_some_and(|v| !v.is_null());
            if succeeded {
                "ok".to_owned()
            } else {
                response["errors"][0]["extensions"]["code"].as_str().unwrap_or("null").to_owned()
            }
        }
    }
}

fn seed_from_env() -> u64 {
    match std::env::var("INZAGE_FUZZ_SEED") {
        Ok(seed) if seed == "random" => rand::random(),
        Ok(seed) => {
            let parsed = match seed.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
                None => seed.replace('_', "").parse(),
            };
            parsed.unwrap_or_else(|_| panic!("INZAGE_FUZZ_SEED must be a number, 0x… or `random`, not {seed:?}"))
        }
        Err(_) => DEFAULT_SEED,
    }
}

fn cases_from_env() -> usize {
    std::env::var("INZAGE_FUZZ_CASES")
        .map(|n| n.parse().unwrap_or_else(|_| panic!("INZAGE_FUZZ_CASES must be a number, not {n:?}")))
        .unwrap_or(DEFAULT_CASES)
}

/// The accounts cases are sent as: every demo account, two more whose names are as long as
/// names may be (so that text built from names is as long as it gets), and later the accounts
/// the run creates; and who is turned away: nobody, and three kinds of bad token.
async fn actors(app: &TestApp) -> (Vec<Actor>, Vec<Actor>, Vec<Uuid>) {
    let demo = inzage_api::demo::accounts(&app.app.db).await.expect("the demo accounts");
    assert!(demo.len() >= 10, "the demo data is loaded: {demo:?}");
    let mut accounts: Vec<Actor> =
        demo.iter().map(|a| Actor { label: a.email.clone(), token: Some(app.token(a.id)) }).collect();
    let mut ids: Vec<Uuid> = demo.iter().map(|a| a.id).collect();
    let admin = demo.iter().find(|a| a.email == "admin@delinde.example").expect("the demo administrator");
    let longest = longest_name(0);
    let create = "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }";
    for (email, roles) in
        [("longest.counselor@delinde.example", "COUNSELOR"), ("longest.client@delinde.example", "CLIENT")]
    {
        let input = json!({ "email": email, "displayName": longest, "roles": [roles] });
        let response = app.as_user(admin.id, create, json!({ "input": input })).await;
        let id = response["data"]["createUser"]["id"].as_str().unwrap_or_else(|| panic!("{email}: {response}"));
        let id = Uuid::parse_str(id).expect("an id");
        accounts.push(Actor { label: email.to_owned(), token: Some(app.token(id)) });
        ids.push(id);
    }
    let strangers = vec![
        Actor { label: "nobody (no token)".to_owned(), token: None },
        Actor { label: "a malformed token".to_owned(), token: Some("not.a.token".to_owned()) },
        Actor {
            label: "an unsigned token".to_owned(),
            token: Some("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.".to_owned()),
        },
        Actor { label: "a token for an unknown account".to_owned(), token: Some(app.token(Uuid::now_v7())) },
    ];
    (accounts, strangers, ids)
}

/// Adds the active accounts created since the last call (up to [`MAX_ACCOUNTS`] in all).
async fn add_new_accounts(app: &TestApp, accounts: &mut Vec<Actor>, known: &mut BTreeSet<Uuid>) {
    let users = user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .all(app.app.db.conn())
        .await
        .expect("read the accounts");
    let mut users: Vec<user::Model> = users.into_iter().filter(|u| !known.contains(&u.id)).collect();
    users.sort_by_key(|u| u.id);
    for user in users {
        known.insert(user.id);
        if accounts.len() < MAX_ACCOUNTS {
            accounts.push(Actor { label: user.email.clone(), token: Some(app.token(user.id)) });
        }
    }
}

/// Throws generated requests at every mutation as every kind of account and checks the
/// invariants of the module documentation after each one.
async fn every_mutation_keeps_its_promises_under_hostile_input(backend: Backend) {
    let seed = seed_from_env();
    let cases = cases_from_env();
    let verbose = std::env::var("INZAGE_FUZZ_VERBOSE").is_ok_and(|v| !v.is_empty() && v != "0");
    let app = TestApp::spawn_with(&backend, |settings| settings.demo = Some(true)).await;
    let db = app.app.db.conn();
    let (mut accounts, strangers, first_ids) = actors(&app).await;
    let schema = Schema::introspect(&app, accounts[0].token.as_deref().expect("a token")).await;
    assert!(!schema.mutations.is_empty(), "the schema has mutations");
    let tables = table_names(db).await;
    let snapshot = AccountSnapshot::take(db, first_ids).await;
    let strings = Strings::new();
    let mut ids = IdPool::harvest(db, &tables).await;
    // Every account that exists now is an actor already, or is not to be one.
    let mut known_accounts: BTreeSet<Uuid> = ids.by_role.values().flatten().filter_map(|id| id.parse().ok()).collect();
    let body_limit = app.app.settings.max_body_bytes;
    let mut report = Report::default();
    let mut promising: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut corpus = Corpus::new();
    let started = Instant::now();
    eprintln!(
        "fuzzing {} mutations with {cases} cases as {} accounts; seed {seed:#x} (INZAGE_FUZZ_SEED)",
        schema.mutations.len(),
        accounts.len()
    );

    for case_no in 0..cases {
        if case_no > 0 && case_no % RESTORE_EVERY == 0 {
            snapshot.restore(db).await;
            ids = IdPool::harvest(db, &tables).await;
            add_new_accounts(&app, &mut accounts, &mut known_accounts).await;
        }
        let mut rng = StdRng::seed_from_u64(seed ^ (case_no as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mutation = &schema.mutations[case_no % schema.mutations.len()];
        // Four kinds of case: plausible values; hostile but well-typed ones; ill-typed ones;
        // and, once the mutation has succeeded, a success replayed with one value replaced by
        // a hostile or ill-typed one, which takes hostile values past the refusals at the door.
        let successes = corpus.get(&mutation.name).filter(|entries| !entries.is_empty());
        let base = successes.filter(|_| rng.random_bool(0.35)).and_then(|entries| entries.choose(&mut rng));
        let (gentle, ill) = match rng.random_range(0..100) {
            _ if base.is_some() => (false, rng.random_bool(0.3)),
            0..35 => (true, false),
            35..70 => (false, false),
            _ => (false, true),
        };
        // Mostly an account that has been let through for this mutation before (so that its
        // deeper paths see hostile input too), else anyone, now and then with no valid token.
        let accepted = promising.get(&mutation.name).filter(|_| rng.random_bool(0.6));
        let actor_no = match (base, accepted) {
            (Some((actor_no, _)), _) if rng.random_bool(0.9) => Some(*actor_no),
            (_, Some(known)) => known.choose(&mut rng).copied(),
            _ if rng.random_bool(0.06) => None,
            _ => Some(rng.random_range(0..accounts.len())),
        };
        let actor = match actor_no {
            Some(no) => &accounts[no],
            None => strangers.choose(&mut rng).expect("strangers"),
        };
        let huge_left = if rng.random_bool(0.03) { 3 } else { 1 };
        let mut generator = Generator {
            rng,
            schema: &schema,
            ids: &ids,
            strings: &strings,
            mutation: &mutation.name,
            ill,
            gentle,
            huge_left,
        };
        let case = generator.case(mutation, base.map(|(_, variables)| variables));
        let oversized = case.body.len() > body_limit;

        let before = row_counts(db, &tables).await;
        let answer = send(&app, actor.token.as_deref(), case.body.clone()).await;
        let mut problems = Vec::new();
        let response: Option<Value> = match &answer {
            Answer::None(err) => {
                if !oversized {
                    problems.push(format!("no answer (a panicking handler drops the connection): {err}"));
                }
                None
            }
            Answer::Http { status, body } => {
                if *status >= 500 {
                    problems.push(format!("HTTP {status}"));
                }
                if !is_clean(body) && serde_json::from_str::<Value>(body).is_err() {
                    problems.push(format!("a {status} response shows internals"));
                }
                match serde_json::from_str::<Value>(body) {
                    Ok(value) if value.is_object() => Some(value),
                    _ => {
                        if *status == 200 {
                            problems.push("a 200 response that is not a GraphQL response".to_owned());
                        }
                        None
                    }
                }
            }
        };
        if let Some(response) = &response {
            problems.extend(error_problems(response));
        }
        let outcome = outcome_of(&answer, response.as_ref(), &mutation.name);
        if verbose {
            let first_error = response.as_ref().map(|r| r["errors"][0]["message"].clone()).unwrap_or_default();
            eprintln!(
                "case {case_no} {} as {} ({}): {outcome} {} | {}",
                mutation.name,
                actor.label,
                match (base.is_some(), gentle, ill) {
                    (true, _, _) => "a success altered",
                    (_, true, _) => "plausible",
                    (_, _, true) => "ill-typed",
                    _ => "hostile",
                },
                truncate(&first_error.to_string(), 200),
                truncate(&abbreviate(&case.variables, 0).to_string(), 300),
            );
        }
        let succeeded = outcome == "ok";
        if succeeded && let (Value::Object(variables), Some(actor_no)) = (&case.variables, actor_no) {
            let entries = corpus.entry(mutation.name.clone()).or_default();
            if entries.len() < 64 {
                entries.push((actor_no, variables.clone()));
            }
        }
        let let_through =
            succeeded || (gentle && !["FORBIDDEN", "UNAUTHENTICATED", "NOT_FOUND"].contains(&outcome.as_str()));
        if let (true, Some(actor_no)) = (let_through, actor_no) {
            let known = promising.entry(mutation.name.clone()).or_default();
            if !known.contains(&actor_no) {
                known.push(actor_no);
            }
        }
        report.outcome(&mutation.name, outcome);

        if succeeded {
            // Anything the mutation made due (an access that ends at once) is handled now, so
            // that the scheduler does not write between the next case's counts.
            let scheduler = app.app.scheduler.clone();
            match tokio::spawn(async move { scheduler.run_due().await }).await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => problems.push(format!("the expiry scheduler fails after this mutation: {err}")),
                Err(err) => problems.push(format!("the expiry scheduler panics after this mutation: {err}")),
            }
        } else {
            let after = row_counts(db, &tables).await;
            let changed: Vec<String> = tables
                .iter()
                .filter(|table| table.as_str() != AUDIT_TABLE && before.get(*table) != after.get(*table))
                .map(|table| format!("{table} {} → {}", before[table], after[table]))
                .collect();
            if !changed.is_empty() {
                problems.push(format!("the mutation failed but rows were written: {}", changed.join(", ")));
            }
        }

        let dead = match send(&app, None, json!({ "query": "{ __typename }" }).to_string()).await {
            Answer::Http { status: 200, body } if body.contains("\"__typename\":\"Query\"") => false,
            Answer::Http { status, body } => {
                problems.push(format!("the server stopped answering: HTTP {status}: {}", truncate(&body, 300)));
                true
            }
            Answer::None(err) => {
                problems.push(format!("the server stopped answering: {err}"));
                true
            }
        };

        for problem in problems {
            let response = match &answer {
                Answer::Http { status, body } => format!("HTTP {status}: {}", truncate(body, 1500)),
                Answer::None(err) => err.clone(),
            };
            report.violations.push(Violation {
                case: case_no,
                actor: actor.label.clone(),
                mutation: case.mutation.clone(),
                problem,
                query: case.query.clone(),
                variables: abbreviate(&case.variables, 0).to_string(),
                response,
            });
        }
        if dead {
            break;
        }
    }

    let elapsed = started.elapsed();
    eprintln!(
        "{cases} cases in {:.1} s ({:.1} ms each); outcomes per mutation:\n{}",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / cases.max(1) as f64,
        report.summary()
    );
    let never_succeeded: BTreeSet<&str> = schema
        .mutations
        .iter()
        .map(|m| m.name.as_str())
        .filter(|name| report.outcomes.get(*name).is_none_or(|outcomes| !outcomes.contains_key("ok")))
        .collect();
    eprintln!("mutations that never succeeded: {never_succeeded:?}");

    if !report.violations.is_empty() {
        // The first few of each kind of problem per mutation, so that one bug does not bury
        // the others.
        let mut shown: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut text = String::new();
        for violation in &report.violations {
            let kind: String = violation.problem.chars().take(40).collect();
            let seen = shown.entry((violation.mutation.clone(), kind)).or_default();
            *seen += 1;
            if *seen > 2 {
                continue;
            }
            text.push_str(&format!(
                "\n- case {} as {}: {}\n  problem: {}\n  query: {}\n  variables: {}\n  response: {}\n",
                violation.case,
                violation.actor,
                violation.mutation,
                violation.problem,
                violation.query,
                violation.variables,
                violation.response
            ));
        }
        panic!(
            "{} violations in {cases} cases (seed {seed:#x}; reproduce with INZAGE_FUZZ_SEED={seed:#x} \
             INZAGE_FUZZ_CASES=<case + 1>):{text}",
            report.violations.len()
        );
    }
}

on_every_database!(every_mutation_keeps_its_promises_under_hostile_input);
