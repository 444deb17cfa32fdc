//! Two promises that hold whatever the data: a page of clients costs the same number of SQL
//! statements however many clients it holds, and nothing of one organisation reaches the users
//! of another, whatever their roles and care links.

use inzage_testkit::on_every_database;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use inzage_entity::{
    DossierEntryKind, Role, caseload_link, client_contact, dossier_entry, guardian_link, relative_link,
    supervision_link, tool,
};
use inzage_testkit::{Backend, TestApp, data, error_codes};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE_USER: &str = r#"mutation($email: String!, $name: String!, $roles: [Role!]!) {
    createUser(input: {email: $email, displayName: $name, roles: $roles}) { id } }"#;

const PHONE: &str = "+31 6 1234 5678";

const CREATE_CLIENT: &str = r#"mutation($email: String!, $name: String!, $phone: String!) {
    createUser(input: {email: $email, displayName: $name, roles: [CLIENT], phone: $phone}) { id } }"#;

const ASSIGN_TOOL: &str = r#"mutation($c: ID!, $name: String!) {
    assignTool(input: {clientId: $c, name: $name, content: "Write down how you slept."}) { id } }"#;

const LINK_COUNSELOR: &str = "mutation($c: ID!, $p: ID!) { linkCounselor(clientId: $c, counselorId: $p) { id } }";

const ADD_DOSSIER_ENTRY: &str = r#"mutation($c: ID!, $title: String!) {
    addDossierEntry(clientId: $c, input: {kind: NOTE, title: $title, body: "Slept better this week."}) { id } }"#;

const CREATE_SELF_HELP_TOOL: &str =
    r#"mutation($name: String!) { createSelfHelpTool(name: $name, content: "My own notes") { id } }"#;

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, not {value}"))).expect("a uuid")
}

/// The ids of the objects in a JSON list (`[]` when it is null).
fn ids_in(list: &Value) -> BTreeSet<Uuid> {
    list.as_array().map(|nodes| nodes.iter().map(|node| id(&node["id"])).collect()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Batching
// ---------------------------------------------------------------------------------------------

const CLIENT_PAGE: &str =
    "{ clients(first: 200) { nodes { displayName contact { phone } counselors { displayName } tools { name } } } }";

/// How many SQL statements the server ran for one request of `query` by `viewer`, and the
/// answer. Nothing else may use the server meanwhile.
async fn statements_for(app: &TestApp, viewer: Uuid, query: &str) -> (u64, Value) {
    let token = app.token(viewer);
    app.fewest_statements(|| app.graphql(Some(&token), query, json!({}))).await
}

/// Asserts the page lists `expected` clients, each with its phone, both counselors and a tool.
#[track_caller]
fn assert_full_page(response: &Value, expected: usize, viewer: &str) {
    let nodes = data(response)["clients"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), expected, "{viewer} lists every client");
    for node in nodes {
        assert_eq!(node["contact"]["phone"], PHONE, "{viewer}: {node}");
        let mut counselors: Vec<&str> = node["counselors"]
            .as_array()
            .expect("counselors")
            .iter()
            .filter_map(|c| c["displayName"].as_str())
            .collect();
        counselors.sort_unstable();
        assert_eq!(counselors, ["Carla", "Koen"], "{viewer}: {node}");
        assert_eq!(node["tools"].as_array().map(Vec::len), Some(1), "{viewer}: {node}");
    }
}

async fn clients_list_costs_the_same_number_of_statements_for_10_and_200_clients(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Batching").await;
    let create = |email: &'static str, name: &'static str, role: &'static str| {
        let app = &app;
        async move {
            let created = app.as_user(admin, CREATE_USER, json!({"email": email, "name": name, "roles": [role]})).await;
            id(&data(&created)["createUser"]["id"])
        }
    };
    let carla = create("carla@batching.example", "Carla", "COUNSELOR").await;
    let koen = create("koen@batching.example", "Koen", "COUNSELOR").await;
    let secretary = create("sanne@batching.example", "Sanne", "SECRETARY").await;

    for i in 0..10 {
        let client = app
            .as_user(
                carla,
                CREATE_CLIENT,
                json!({"email": format!("client-{i}@batching.example"), "name": format!("Client {i}"), "phone": PHONE}),
            )
            .await;
        let client = id(&data(&client)["createUser"]["id"]);
        data(&app.as_user(carla, ASSIGN_TOOL, json!({"c": client, "name": format!("Sleep diary {i}")})).await);
        data(&app.as_user(carla, LINK_COUNSELOR, json!({"c": client, "p": koen})).await);
    }
    let (counselor_10, page) = statements_for(&app, carla, CLIENT_PAGE).await;
    assert_full_page(&page, 10, "the counselor");
    let (secretary_10, page) = statements_for(&app, secretary, CLIENT_PAGE).await;
    assert_full_page(&page, 10, "the secretary");

    // 190 more, straight into the database: the same rows the API writes, only quicker.
    let now = app.clock_now();
    let mut clients = Vec::new();
    for i in 10..200 {
        clients.push(app.user(org, &format!("client-{i}@batching.example"), &[Role::Client]).await);
    }
    let conn = app.app.db.conn();
    client_contact::Entity::insert_many(clients.iter().map(|&client| client_contact::ActiveModel {
        user_id: Set(client),
        phone: Set(Some(PHONE.to_owned())),
        address: Set(None),
        birth_date: Set(None),
    }))
    .exec_without_returning(conn)
    .await
    .expect("contact details");
    caseload_link::Entity::insert_many(clients.iter().flat_map(|&client| {
        [carla, koen].map(|counselor| caseload_link::ActiveModel {
            counselor_id: Set(counselor),
            client_id: Set(client),
            created_at: Set(now),
        })
    }))
    .exec_without_returning(conn)
    .await
    .expect("caseload links");
    tool::Entity::insert_many(clients.iter().map(|&client| tool::ActiveModel {
        id: Set(Uuid::now_v7()),
        owner_id: Set(client),
        counselor_id: Set(Some(carla)),
        name: Set("Sleep diary".to_owned()),
        content: Set("Write down how you slept.".to_owned()),
        assigned_at: Set(now),
    }))
    .exec_without_returning(conn)
    .await
    .expect("tools");

    let (counselor_200, page) = statements_for(&app, carla, CLIENT_PAGE).await;
    assert_full_page(&page, 200, "the counselor");
    let (secretary_200, page) = statements_for(&app, secretary, CLIENT_PAGE).await;
    assert_full_page(&page, 200, "the secretary");

    let database = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    };
    eprintln!(
        "{database}: statements per clients page: counselor {counselor_10} (10) / {counselor_200} (200), \
         secretary {secretary_10} (10) / {secretary_200} (200)"
    );
    assert_eq!(counselor_10, counselor_200, "the counselor's page of 10 and of 200 clients");
    assert_eq!(secretary_10, secretary_200, "the secretary's page of 10 and of 200 clients");
}

// ---------------------------------------------------------------------------------------------
// Tenant isolation
// ---------------------------------------------------------------------------------------------

/// One seed per round; each round builds two fresh organisations at random from its seed.
const SEEDS: [u64; 5] = [7, 1_913, 27_182, 314_159, 9_000_001];

/// The part of every client's name in both organisations, so a search finds clients of both.
const SHARED_NAME: &str = "jansen";

/// Kinds of staff and family accounts drawn at random (clients are made apart).
const PROFILES: [(&str, &[Role]); 9] = [
    ("counselor", &[Role::Counselor]),
    ("counselorplus", &[Role::CounselorPlus]),
    ("counselor-supervisor", &[Role::Counselor, Role::Supervisor]),
    ("secretary", &[Role::Secretary]),
    ("supervisor", &[Role::Supervisor]),
    ("guardian", &[Role::Guardian]),
    ("relative", &[Role::Relative]),
    ("analyst", &[Role::DataAnalyst]),
    ("officer", &[Role::DataOfficer]),
];

struct Account {
    id: Uuid,
    name: String,
    roles: Vec<Role>,
}

impl Account {
    fn has(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|role| roles.contains(role))
    }
}

/// (person, client) pairs of each kind of care link.
#[derive(Default)]
struct Links {
    caseload: BTreeSet<(Uuid, Uuid)>,
    supervision: BTreeSet<(Uuid, Uuid)>,
    guardian: BTreeSet<(Uuid, Uuid)>,
    relative: BTreeSet<(Uuid, Uuid)>,
}

/// One organisation of a round and everything that belongs to it.
struct Tenant {
    /// In the name of the organisation and of every account, tool and dossier entry in it;
    /// never a substring of a UUID.
    tag: &'static str,
    accounts: Vec<Account>,
    clients: Vec<Uuid>,
    client_names: BTreeSet<String>,
    links: Links,
    dossier_entries: usize,
    /// The organisation, its accounts, tools and dossier entries.
    ids: BTreeSet<Uuid>,
}

const COUNSELOR_ROLES: [Role; 2] = [Role::Counselor, Role::CounselorPlus];

impl Tenant {
    /// The clients `account` has a basis for: its own account, every client of the organisation
    /// for a secretary, and the clients linked to it in a role it holds.
    fn visible_to(&self, account: &Account) -> BTreeSet<Uuid> {
        let mut visible = BTreeSet::new();
        if account.has(&[Role::Client]) {
            visible.insert(account.id);
        }
        if account.has(&[Role::Secretary]) {
            visible.extend(self.clients.iter().copied());
        }
        let linked = |links: &BTreeSet<(Uuid, Uuid)>| {
            links.iter().filter(|(person, _)| *person == account.id).map(|(_, client)| *client).collect::<Vec<_>>()
        };
        if account.has(&COUNSELOR_ROLES) {
            visible.extend(linked(&self.links.caseload));
        }
        if account.has(&[Role::Supervisor]) {
            visible.extend(linked(&self.links.supervision));
        }
        if account.has(&[Role::Guardian]) {
            visible.extend(linked(&self.links.guardian));
        }
        if account.has(&[Role::Relative]) {
            visible.extend(linked(&self.links.relative));
        }
        visible
    }

    fn caseload_of(&self, account: &Account) -> BTreeSet<Uuid> {
        if !account.has(&COUNSELOR_ROLES) {
            return BTreeSet::new();
        }
        self.links.caseload.iter().filter(|(person, _)| *person == account.id).map(|(_, client)| *client).collect()
    }
}

/// Builds an organisation at random: staff, family and clients, care links between them (all
/// inside the organisation), dossier entries and tools.
async fn tenant(app: &TestApp, rng: &mut StdRng, tag: &'static str) -> Tenant {
    let org_name = format!("{}{} Care", tag[..1].to_uppercase(), &tag[1..]);
    let (org, admin) = app.organization(&org_name).await;
    let mut tenant = Tenant {
        tag,
        accounts: vec![Account { id: admin, name: format!("Admin of {org_name}"), roles: vec![Role::Administrator] }],
        clients: Vec::new(),
        client_names: BTreeSet::new(),
        links: Links::default(),
        dossier_entries: 0,
        ids: BTreeSet::from([org, admin]),
    };

    let mut staff = vec![PROFILES[0]];
    for _ in 0..rng.random_range(4..=10) {
        staff.push(*PROFILES.choose(rng).expect("profiles"));
    }
    for (i, (kind, roles)) in staff.into_iter().enumerate() {
        let name = format!("{kind}-{i}-{tag}");
        let id = app.user(org, &format!("{name}@{tag}.example"), roles).await;
        tenant.accounts.push(Account { id, name, roles: roles.to_vec() });
    }
    for i in 0..rng.random_range(2..=6) {
        let name = format!("{SHARED_NAME}-{i}-{tag}");
        // Now and then a client is also another client's relative.
        let roles: &[Role] = if rng.random_bool(0.2) { &[Role::Client, Role::Relative] } else { &[Role::Client] };
        let id = app.user(org, &format!("{name}@{tag}.example"), roles).await;
        tenant.clients.push(id);
        tenant.client_names.insert(name.clone());
        tenant.accounts.push(Account { id, name, roles: roles.to_vec() });
    }
    tenant.ids.extend(tenant.accounts.iter().map(|a| a.id));

    for account in &tenant.accounts {
        for &client in &tenant.clients {
            let pair = (account.id, client);
            if account.has(&COUNSELOR_ROLES) && rng.random_bool(0.5) {
                tenant.links.caseload.insert(pair);
            }
            if account.has(&[Role::Supervisor]) && rng.random_bool(0.4) {
                tenant.links.supervision.insert(pair);
            }
            if account.has(&[Role::Guardian]) && rng.random_bool(0.4) {
                tenant.links.guardian.insert(pair);
            }
            if account.has(&[Role::Relative]) && account.id != client && rng.random_bool(0.4) {
                tenant.links.relative.insert(pair);
            }
        }
    }
    insert_links(app, &tenant.links).await;

    for (i, &client) in tenant.clients.clone().iter().enumerate() {
        let counselor = tenant.links.caseload.iter().find(|(_, c)| *c == client).map(|(counselor, _)| *counselor);
        match counselor {
            Some(counselor) => {
                for n in 0..rng.random_range(0..=2) {
                    let title = format!("note-{i}-{n}-{tag}");
                    let entry = app.as_user(counselor, ADD_DOSSIER_ENTRY, json!({"c": client, "title": title})).await;
                    add_id(&mut tenant, &entry, "addDossierEntry");
                    tenant.dossier_entries += 1;
                }
                if rng.random_bool(0.7) {
                    let name = format!("tool-{i}-{tag}");
                    let tool = app.as_user(counselor, ASSIGN_TOOL, json!({"c": client, "name": name})).await;
                    add_id(&mut tenant, &tool, "assignTool");
                }
            }
            None => {
                let staff: Vec<Uuid> =
                    tenant.accounts.iter().filter(|a| !a.has(&[Role::Client])).map(|a| a.id).collect();
                let author = if rng.random_bool(0.5) { staff.choose(rng).copied() } else { None };
                let entry = insert_dossier_entry(app, client, author, &format!("note-{i}-{tag}")).await;
                tenant.ids.insert(entry);
                tenant.dossier_entries += 1;
                let tool = insert_tool(app, client, &format!("tool-{i}-{tag}")).await;
                tenant.ids.insert(tool);
            }
        }
    }
    let secretaries: Vec<Uuid> = tenant.accounts.iter().filter(|a| a.has(&[Role::Secretary])).map(|a| a.id).collect();
    for (n, &secretary) in secretaries.iter().enumerate() {
        let client = *tenant.clients.choose(rng).expect("clients");
        let tool = app.as_user(secretary, ASSIGN_TOOL, json!({"c": client, "name": format!("form-{n}-{tag}")})).await;
        add_id(&mut tenant, &tool, "assignTool");
    }
    let relatives: Vec<Uuid> = tenant.accounts.iter().filter(|a| a.has(&[Role::Relative])).map(|a| a.id).collect();
    for (n, &relative) in relatives.iter().enumerate() {
        if rng.random_bool(0.5) {
            let tool = app.as_user(relative, CREATE_SELF_HELP_TOOL, json!({"name": format!("notes-{n}-{tag}")})).await;
            add_id(&mut tenant, &tool, "createSelfHelpTool");
        }
    }
    tenant
}

/// Notes the id of what a mutation created.
#[track_caller]
fn add_id(tenant: &mut Tenant, response: &Value, field: &str) {
    tenant.ids.insert(id(&data(response)[field]["id"]));
}

async fn insert_links(app: &TestApp, links: &Links) {
    let conn = app.app.db.conn();
    let now = app.clock_now();
    if !links.caseload.is_empty() {
        let rows = links.caseload.iter().map(|&(counselor, client)| caseload_link::ActiveModel {
            counselor_id: Set(counselor),
            client_id: Set(client),
            created_at: Set(now),
        });
        caseload_link::Entity::insert_many(rows).exec_without_returning(conn).await.expect("caseload links");
    }
    if !links.supervision.is_empty() {
        let rows = links.supervision.iter().map(|&(supervisor, client)| supervision_link::ActiveModel {
            supervisor_id: Set(supervisor),
            client_id: Set(client),
            created_at: Set(now),
        });
        supervision_link::Entity::insert_many(rows).exec_without_returning(conn).await.expect("supervision links");
    }
    if !links.guardian.is_empty() {
        let rows = links.guardian.iter().map(|&(guardian, client)| guardian_link::ActiveModel {
            guardian_id: Set(guardian),
            client_id: Set(client),
            created_at: Set(now),
        });
        guardian_link::Entity::insert_many(rows).exec_without_returning(conn).await.expect("guardian links");
    }
    if !links.relative.is_empty() {
        let rows = links.relative.iter().map(|&(relative, client)| relative_link::ActiveModel {
            relative_id: Set(relative),
            client_id: Set(client),
            created_at: Set(now),
        });
        relative_link::Entity::insert_many(rows).exec_without_returning(conn).await.expect("relative links");
    }
}

async fn insert_dossier_entry(app: &TestApp, client: Uuid, author: Option<Uuid>, title: &str) -> Uuid {
    let id = Uuid::now_v7();
    dossier_entry::Entity::insert(dossier_entry::ActiveModel {
        id: Set(id),
        client_id: Set(client),
        kind: Set(DossierEntryKind::Report),
        title: Set(title.to_owned()),
        body: Set("Written before this service took over.".to_owned()),
        author_id: Set(author),
        trajectory_id: Set(None),
        workflow_id: Set(None),
        created_at: Set(app.clock_now()),
    })
    .exec_without_returning(app.app.db.conn())
    .await
    .expect("dossier entry");
    id
}

async fn insert_tool(app: &TestApp, owner: Uuid, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    tool::Entity::insert(tool::ActiveModel {
        id: Set(id),
        owner_id: Set(owner),
        counselor_id: Set(None),
        name: Set(name.to_owned()),
        content: Set("An exercise.".to_owned()),
        assigned_at: Set(app.clock_now()),
    })
    .exec_without_returning(app.app.db.conn())
    .await
    .expect("tool");
    id
}

const EVERY_CLIENT: &str = "{ clients(first: 200) { nodes { id displayName counselors { id } relatives { id }
    tools { id owner { id } } dossier { nodes { id author { id } } } } } }";

const SEARCH: &str = "query($search: String!) { clients(search: $search, first: 200) { nodes { id displayName } } }";

const VIEWER: &str = "{ viewer { user { id displayName organization { id name } } organization { id name }
    caseload { id displayName } tools { id owner { id } } } }";

const EXPORT: &str = "{ dossierExport(first: 200) { nodes { clientRef clientName } } }";

/// One operation asking for each of `other`'s clients by id (`c0`, `c1`, ...) and each of its
/// accounts (`u0`, `u1`, ...); returns it and the aliases.
fn lookups_of(other: &Tenant) -> (String, Vec<String>) {
    let mut query = String::from("{");
    let mut aliases = Vec::new();
    for (i, client) in other.clients.iter().enumerate() {
        let _ = write!(query, " c{i}: client(id: \"{client}\") {{ id displayName }}");
        aliases.push(format!("c{i}"));
    }
    for (i, account) in other.accounts.iter().enumerate() {
        let _ = write!(query, " u{i}: user(id: \"{}\") {{ id displayName organization {{ id }} }}", account.id);
        aliases.push(format!("u{i}"));
    }
    query.push_str(" }");
    (query, aliases)
}

/// Every string in `value`, however deep.
fn strings<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::String(text) => found.push(text),
        Value::Array(items) => items.iter().for_each(|item| strings(item, found)),
        Value::Object(fields) => fields.values().for_each(|field| strings(field, found)),
        _ => {}
    }
}

/// Asserts that no string anywhere in `response` (data and errors) is, holds or names anything
/// of `other`: its tag, its clients' names, its ids. Returns the UUIDs the response names.
#[track_caller]
fn assert_nothing_of(other: &Tenant, response: &Value, context: &str) -> BTreeSet<Uuid> {
    let other_ids: Vec<String> = other.ids.iter().map(Uuid::to_string).collect();
    let mut found = Vec::new();
    strings(response, &mut found);
    let mut named = BTreeSet::new();
    for text in found {
        let lower = text.to_lowercase();
        assert!(!other.client_names.contains(text), "{context}: a client of {} named: {text}\n{response:#}", other.tag);
        assert!(!lower.contains(other.tag), "{context}: something of {} in {text:?}\n{response:#}", other.tag);
        for other_id in &other_ids {
            assert!(!lower.contains(other_id), "{context}: an id of {} in {text:?}\n{response:#}", other.tag);
        }
        if let Ok(id) = Uuid::parse_str(text) {
            named.insert(id);
        }
    }
    named
}

/// Asserts every error in `response` has one of `codes`.
#[track_caller]
fn assert_only_errors(response: &Value, codes: &[&str], context: &str) {
    for code in error_codes(response) {
        assert!(codes.contains(&code.as_str()), "{context}: unexpected {code}\n{response:#}");
    }
    if let Some(errors) = response["errors"].as_array() {
        assert_eq!(errors.len(), error_codes(response).len(), "{context}: an error without a code\n{response:#}");
    }
}

/// Runs, as every account of `home`, every query that could reveal something of `other`, and
/// asserts that none does.
async fn assert_sealed(app: &TestApp, home: &Tenant, other: &Tenant, seed: u64) {
    let (lookups, aliases) = lookups_of(other);
    for account in &home.accounts {
        let context = format!("seed {seed}: {} {:?} of {}", account.name, account.roles, home.tag);
        let visible = home.visible_to(account);

        // The four questions are independent; ask them at once.
        let (every, search, viewer, found) = tokio::join!(
            app.as_user(account.id, EVERY_CLIENT, json!({})),
            app.as_user(account.id, SEARCH, json!({"search": SHARED_NAME.to_uppercase()})),
            app.as_user(account.id, VIEWER, json!({})),
            app.as_user(account.id, &lookups, json!({})),
        );
        assert_only_errors(&every, &["FORBIDDEN"], &context);
        let named = assert_nothing_of(other, &every, &context);
        assert!(named.is_subset(&home.ids), "{context}: ids of neither organisation\n{every:#}");
        assert_eq!(ids_in(&every["data"]["clients"]["nodes"]), visible, "{context}: the clients listed\n{every:#}");

        data(&search);
        assert_nothing_of(other, &search, &context);
        assert_eq!(ids_in(&search["data"]["clients"]["nodes"]), visible, "{context}: the clients found\n{search:#}");

        data(&viewer);
        let named = assert_nothing_of(other, &viewer, &context);
        assert!(named.is_subset(&home.ids), "{context}: ids of neither organisation\n{viewer:#}");
        let caseload = ids_in(&viewer["data"]["viewer"]["caseload"]);
        assert_eq!(caseload, home.caseload_of(account), "{context}: the caseload\n{viewer:#}");

        assert_nothing_of(other, &found, &context);
        let errors = found["errors"].as_array().cloned().unwrap_or_default();
        for alias in &aliases {
            assert!(found["data"][alias].is_null(), "{context}: {alias} of {} answered\n{found:#}", other.tag);
            let error = errors.iter().find(|e| e["path"] == json!([alias]));
            let code = error.and_then(|e| e["extensions"]["code"].as_str());
            assert_eq!(code, Some("NOT_FOUND"), "{context}: {alias} of {}\n{found:#}", other.tag);
        }

        if account.has(&[Role::DataAnalyst, Role::DataOfficer]) {
            let export = app.as_user(account.id, EXPORT, json!({})).await;
            let rows = data(&export)["dossierExport"]["nodes"].as_array().expect("rows");
            assert_nothing_of(other, &export, &context);
            assert_eq!(rows.len(), home.dossier_entries, "{context}: the export holds {}'s entries only", home.tag);
            if account.has(&[Role::DataOfficer]) {
                for row in rows {
                    assert!(home.clients.contains(&id(&row["clientRef"])), "{context}: {row}");
                    let name = row["clientName"].as_str().unwrap_or_default();
                    assert!(home.client_names.contains(name), "{context}: {row}");
                }
            }
        }
    }
}

async fn no_query_of_one_organisation_returns_anything_of_another(backend: Backend) {
    for seed in SEEDS {
        // One query asks for every object of the other organisation by id, each under an alias.
        let app = TestApp::spawn_with(&backend, |s| {
            s.max_root_fields = 1000;
            s.max_aliases = 1000;
            s.max_complexity = 10_000;
        })
        .await;
        let mut rng = StdRng::seed_from_u64(seed);
        let alfa = tenant(&app, &mut rng, "alfa").await;
        let bravo = tenant(&app, &mut rng, "bravo").await;
        assert_sealed(&app, &alfa, &bravo, seed).await;
        assert_sealed(&app, &bravo, &alfa, seed).await;
    }
}

on_every_database!(
    clients_list_costs_the_same_number_of_statements_for_10_and_200_clients,
    no_query_of_one_organisation_returns_anything_of_another,
);
