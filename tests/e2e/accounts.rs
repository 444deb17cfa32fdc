//! Accounts over HTTP: who creates accounts, sets roles, (de)activates them and sets whether they
//! accept delegations; who sees which account and its e-mail address; which input is refused.
//! Every test checks the effect (or its absence) with a follow-up request.

use inzage_entity::Role;
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, data, error_code};
use serde_json::{Value, json};
use std::sync::Arc;
use uuid::Uuid;

const CREATE_USER: &str = "mutation($input: CreateUserInput!) {
    createUser(input: $input) { id displayName roles active acceptsDelegations organization { id } }
}";

const SET_ROLES: &str = "mutation($userId: ID!, $roles: [Role!]!) {
    setRoles(userId: $userId, roles: $roles) { id roles }
}";

const SET_ACTIVE: &str = "mutation($userId: ID!, $active: Boolean!) {
    setUserActive(userId: $userId, active: $active) { id active }
}";

const SET_ACCEPTS: &str = "mutation($userId: ID!, $accepts: Boolean!) {
    setAcceptsDelegations(userId: $userId, accepts: $accepts) { id acceptsDelegations }
}";

const USER: &str = "query($id: ID!) {
    user(id: $id) { id displayName roles active acceptsDelegations organization { id } }
}";

const USER_EMAIL: &str = "query($id: ID!) { user(id: $id) { id displayName email } }";

const VIEWER: &str = "{ viewer { roles user { id } } }";

/// Every role, as the entity and as GraphQL spells it.
const ROLES: [(Role, &str); 11] = [
    (Role::Administrator, "ADMINISTRATOR"),
    (Role::DataAnalyst, "DATA_ANALYST"),
    (Role::DataOfficer, "DATA_OFFICER"),
    (Role::Counselor, "COUNSELOR"),
    (Role::CounselorPlus, "COUNSELOR_PLUS"),
    (Role::Supervisor, "SUPERVISOR"),
    (Role::Secretary, "SECRETARY"),
    (Role::Client, "CLIENT"),
    (Role::Guardian, "GUARDIAN"),
    (Role::Relative, "RELATIVE"),
    (Role::External, "EXTERNAL"),
];

/// The roles of people who work for the organisation.
const PROFESSIONALS: [(Role, &str); 7] = [
    (Role::Administrator, "ADMINISTRATOR"),
    (Role::DataAnalyst, "DATA_ANALYST"),
    (Role::DataOfficer, "DATA_OFFICER"),
    (Role::Counselor, "COUNSELOR"),
    (Role::CounselorPlus, "COUNSELOR_PLUS"),
    (Role::Supervisor, "SUPERVISOR"),
    (Role::Secretary, "SECRETARY"),
];

/// The roles besides the administrator's that create (client) accounts.
const CLIENT_CREATORS: [(Role, &str); 3] =
    [(Role::Secretary, "SECRETARY"), (Role::Counselor, "COUNSELOR"), (Role::CounselorPlus, "COUNSELOR_PLUS")];

/// Professionals who neither administer nor do the secretariat.
const OTHER_PROFESSIONALS: [(Role, &str); 5] = [
    (Role::DataAnalyst, "DATA_ANALYST"),
    (Role::DataOfficer, "DATA_OFFICER"),
    (Role::Counselor, "COUNSELOR"),
    (Role::CounselorPlus, "COUNSELOR_PLUS"),
    (Role::Supervisor, "SUPERVISOR"),
];

/// An address in the organisation `Noord`'s domain for someone with this role.
fn email_for(name: &str) -> String {
    format!("{}@noord.example", name.to_lowercase())
}

/// The input of `createUser` with the fields every account needs.
fn new_account(email: &str, roles: &[&str]) -> Value {
    json!({ "email": email, "displayName": "Nieuw Account", "roles": roles })
}

/// A list of role names, sorted, so that order does not matter.
fn role_names(roles: &Value) -> Vec<String> {
    let mut names: Vec<String> = roles
        .as_array()
        .unwrap_or_else(|| panic!("a list of roles: {roles}"))
        .iter()
        .map(|role| role.as_str().expect("a role name").to_owned())
        .collect();
    names.sort();
    names
}

fn sorted(roles: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = roles.iter().map(|&role| role.to_owned()).collect();
    names.sort();
    names
}

fn id_of(user: &Value) -> Uuid {
    Uuid::parse_str(user["id"].as_str().unwrap_or_else(|| panic!("an id: {user}"))).expect("a UUID")
}

/// Asserts the response failed with exactly one error of `code` and wrote no data.
#[track_caller]
fn assert_refused(response: &Value, code: &str) {
    assert_eq!(error_code(response), Some(code), "{response:#}");
    assert_eq!(response["errors"].as_array().map(Vec::len), Some(1), "{response:#}");
    assert!(response["data"].is_null(), "a refused mutation returned data: {response:#}");
}

/// Asserts the response is one `BAD_USER_INPUT` naming `field`.
#[track_caller]
fn assert_bad_input(response: &Value, field: &str) {
    assert_refused(response, "BAD_USER_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"].as_str(), Some(field), "{response:#}");
}

async fn create_user(app: &TestApp, actor: Uuid, input: Value) -> Value {
    app.as_user(actor, CREATE_USER, json!({ "input": input })).await
}

async fn set_roles(app: &TestApp, actor: Uuid, user: Uuid, roles: &[&str]) -> Value {
    app.as_user(actor, SET_ROLES, json!({ "userId": user, "roles": roles })).await
}

async fn set_active(app: &TestApp, actor: Uuid, user: Uuid, active: bool) -> Value {
    app.as_user(actor, SET_ACTIVE, json!({ "userId": user, "active": active })).await
}

async fn set_accepts(app: &TestApp, actor: Uuid, user: Uuid, accepts: bool) -> Value {
    app.as_user(actor, SET_ACCEPTS, json!({ "userId": user, "accepts": accepts })).await
}

/// The account `id` as `viewer` sees it; fails the test if it is not returned.
async fn account(app: &TestApp, viewer: Uuid, id: Uuid) -> Value {
    let response = app.as_user(viewer, USER, json!({ "id": id })).await;
    let user = data(&response)["user"].clone();
    assert_eq!(user["id"], id.to_string(), "{response:#}");
    user
}

async fn roles_of(app: &TestApp, viewer: Uuid, id: Uuid) -> Vec<String> {
    role_names(&account(app, viewer, id).await["roles"])
}

/// Whether `user` is let in: their next request answers `viewer`, or `UNAUTHENTICATED`.
async fn is_let_in(app: &TestApp, user: Uuid) -> bool {
    let response = app.as_user(user, VIEWER, json!({})).await;
    match error_code(&response) {
        None => {
            assert_eq!(response["data"]["viewer"]["user"]["id"], user.to_string(), "{response:#}");
            true
        }
        Some("UNAUTHENTICATED") => false,
        Some(other) => panic!("unexpected {other}: {response:#}"),
    }
}

/// A created account's e-mail as its organisation's administrator reads it.
async fn email_of(app: &TestApp, admin: Uuid, id: Uuid) -> Value {
    let response = app.as_user(admin, USER_EMAIL, json!({ "id": id })).await;
    data(&response)["user"]["email"].clone()
}

/// Asserts that `createUser(input)` by `actor` is `BAD_USER_INPUT` at `field` and writes nothing.
async fn assert_create_refused_at(app: &TestApp, actor: Uuid, input: Value, field: &str) {
    let before = app.count_users().await;
    let response = create_user(app, actor, input.clone()).await;
    assert_bad_input(&response, field);
    assert_eq!(app.count_users().await, before, "an account was written for {input}");
}

/// Asserts that `createUser(input)` by `actor` succeeds and writes one account.
async fn assert_create_accepted(app: &TestApp, actor: Uuid, input: Value) -> Value {
    let before = app.count_users().await;
    let response = create_user(app, actor, input).await;
    let created = data(&response)["createUser"].clone();
    assert_eq!(app.count_users().await, before + 1);
    created
}

/// How many organisations the concurrency tests race in at once.
const RACES: usize = 12;

/// [`RACES`] organisations, each with two administrators and a secretary to look on.
async fn administrator_pairs(app: &TestApp) -> Vec<(Uuid, Uuid, Uuid)> {
    let mut pairs = Vec::new();
    for race in 0..RACES {
        let (org, first) = app.organization(&format!("Race{race}")).await;
        let second = app.user(org, &format!("second@race{race}.example"), &[Role::Administrator]).await;
        let secretary = app.user(org, &format!("secretary@race{race}.example"), &[Role::Secretary]).await;
        pairs.push((first, second, secretary));
    }
    pairs
}

/// Waits for every spawned request, in order.
async fn finish(tasks: Vec<tokio::task::JoinHandle<Value>>) -> Vec<Value> {
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("the request task"));
    }
    responses
}

// --- createUser: who creates which accounts -------------------------------------------------

async fn an_administrator_creates_accounts_of_every_role(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    for (_, role) in ROLES {
        let created = assert_create_accepted(&app, admin, new_account(&email_for(role), &[role])).await;
        assert_eq!(role_names(&created["roles"]), [role]);
        let stored = account(&app, admin, id_of(&created)).await;
        assert_eq!(role_names(&stored["roles"]), [role]);
        assert_eq!(stored["organization"]["id"], org.to_string(), "created in the administrator's organisation");
        assert_eq!(stored["active"], true);
    }
    let several = new_account("team@noord.example", &["COUNSELOR", "SUPERVISOR"]);
    let created = assert_create_accepted(&app, admin, several).await;
    assert_eq!(roles_of(&app, admin, id_of(&created)).await, sorted(&["COUNSELOR", "SUPERVISOR"]));
}

async fn secretaries_and_counselors_create_client_accounts(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    for (role, name) in CLIENT_CREATORS {
        let creator = app.user(org, &email_for(name), &[role]).await;
        let input = new_account(&format!("client-of-{}@noord.example", name.to_lowercase()), &["CLIENT"]);
        let created = assert_create_accepted(&app, creator, input).await;
        assert_eq!(role_names(&created["roles"]), ["CLIENT"], "{name}");
        let stored = account(&app, admin, id_of(&created)).await;
        assert_eq!(role_names(&stored["roles"]), ["CLIENT"], "{name}");
        assert_eq!(stored["organization"]["id"], org.to_string(), "{name}");
    }
}

async fn a_counselor_creating_a_client_gets_the_client_with_its_roles(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("Noord").await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor]).await;
    let input = json!({ "email": "Client.Een@Noord.Example", "displayName": " Cliënt Een ", "roles": ["CLIENT"] });
    let created = assert_create_accepted(&app, counselor, input).await;
    assert_eq!(created["displayName"], "Cliënt Een");
    assert_eq!(role_names(&created["roles"]), ["CLIENT"]);
    assert_eq!(created["active"], true);
    assert_eq!(created["acceptsDelegations"], false);
    assert_eq!(created["organization"]["id"], org.to_string());
    // The account exists: the new client is let in, with the role they were given.
    let client = id_of(&created);
    let viewer = app.as_user(client, VIEWER, json!({})).await;
    assert_eq!(role_names(&data(&viewer)["viewer"]["roles"]), ["CLIENT"]);
    assert_eq!(data(&viewer)["viewer"]["user"]["id"], client.to_string());
}

async fn secretaries_and_counselors_may_not_create_any_other_account(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("Noord").await;
    for (role, name) in CLIENT_CREATORS {
        let creator = app.user(org, &email_for(name), &[role]).await;
        let before = app.count_users().await;
        for (_, new_role) in ROLES.into_iter().filter(|&(_, new_role)| new_role != "CLIENT") {
            let input = new_account(&format!("{}-by-{}@noord.example", new_role, name).to_lowercase(), &[new_role]);
            let response = create_user(&app, creator, input).await;
            assert_refused(&response, "FORBIDDEN");
        }
        let mixed = new_account("mixed@noord.example", &["CLIENT", "COUNSELOR"]);
        assert_refused(&create_user(&app, creator, mixed).await, "FORBIDDEN");
        assert_eq!(app.count_users().await, before, "{name} wrote an account");
    }
}

async fn other_roles_may_not_create_accounts(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("Noord").await;
    let others = ROLES.into_iter().filter(|&(role, _)| {
        !matches!(role, Role::Administrator | Role::Secretary | Role::Counselor | Role::CounselorPlus)
    });
    for (role, name) in others {
        let actor = app.user(org, &email_for(name), &[role]).await;
        let before = app.count_users().await;
        let input = new_account(&format!("client-of-{}@noord.example", name.to_lowercase()), &["CLIENT"]);
        assert_refused(&create_user(&app, actor, input).await, "FORBIDDEN");
        assert_eq!(app.count_users().await, before, "{name} wrote an account");
    }
}

async fn an_anonymous_request_creates_no_account(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.organization("Noord").await;
    let before = app.count_users().await;
    let variables = json!({ "input": new_account("anon@noord.example", &["CLIENT"]) });
    let response = app.graphql(None, CREATE_USER, variables).await;
    assert_refused(&response, "UNAUTHENTICATED");
    assert_eq!(app.count_users().await, before);
}

async fn display_names_are_trimmed_and_emails_stored_lower_case(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    let input = json!({ "email": "  Anna.de.Vries@Noord.EXAMPLE ", "displayName": "  Anna de Vries \t", "roles": ["COUNSELOR"] });
    let created = assert_create_accepted(&app, admin, input).await;
    assert_eq!(created["displayName"], "Anna de Vries");
    let stored = account(&app, admin, id_of(&created)).await;
    assert_eq!(stored["displayName"], "Anna de Vries");
    assert_eq!(email_of(&app, admin, id_of(&created)).await, "anna.de.vries@noord.example");
}

async fn a_duplicate_email_is_a_conflict_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let anna = app.user(org, "anna@noord.example", &[Role::Counselor]).await;
    let secretary = app.user(org, "secretary@noord.example", &[Role::Secretary]).await;
    let before = app.count_users().await;
    for email in ["anna@noord.example", "ANNA@Noord.Example", "  anna@noord.example  ", " Admin@NOORD.example"] {
        let input = json!({ "email": email, "displayName": "Indringer", "roles": ["SECRETARY"] });
        assert_refused(&create_user(&app, admin, input).await, "CONFLICT");
        let client = json!({ "email": email, "displayName": "Indringer", "roles": ["CLIENT"] });
        assert_refused(&create_user(&app, secretary, client).await, "CONFLICT");
    }
    assert_eq!(app.count_users().await, before);
    let stored = account(&app, admin, anna).await;
    assert_eq!(stored["displayName"], "anna", "the existing account is untouched");
    assert_eq!(role_names(&stored["roles"]), ["COUNSELOR"]);
    assert_eq!(roles_of(&app, admin, admin).await, ["ADMINISTRATOR"]);
}

// --- createUser and setRoles: bad input ------------------------------------------------------

async fn an_invalid_email_is_bad_user_input_at_input_email(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    for email in ["", "anna", "anna@", "@noord.example", "anna@localhost", "Anna <anna@noord.example>", "a b@noord.nl"]
    {
        assert_create_refused_at(&app, admin, new_account(email, &["CLIENT"]), "input.email").await;
    }
    assert_create_accepted(&app, admin, new_account("anna@noord.example", &["CLIENT"])).await;
}

async fn an_empty_display_name_is_bad_user_input_at_input_display_name(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    let input = json!({ "email": "anna@noord.example", "displayName": "", "roles": ["CLIENT"] });
    assert_create_refused_at(&app, admin, input, "input.displayName").await;
}

async fn a_whitespace_only_display_name_is_bad_user_input_at_input_display_name(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    for name in [" ", "   ", "\t \n "] {
        let input = json!({ "email": "anna@noord.example", "displayName": name, "roles": ["CLIENT"] });
        assert_create_refused_at(&app, admin, input, "input.displayName").await;
    }
}

async fn a_display_name_of_201_characters_is_bad_user_input_at_input_display_name(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    let too_long = json!({ "email": "anna@noord.example", "displayName": "é".repeat(201), "roles": ["CLIENT"] });
    assert_create_refused_at(&app, admin, too_long, "input.displayName").await;
    // 200 characters (400 bytes) is the limit, not past it.
    let longest = json!({ "email": "anna@noord.example", "displayName": "é".repeat(200), "roles": ["CLIENT"] });
    let created = assert_create_accepted(&app, admin, longest).await;
    assert_eq!(account(&app, admin, id_of(&created)).await["displayName"], "é".repeat(200));
}

async fn an_empty_role_list_is_bad_user_input_at_input_roles(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    assert_create_refused_at(&app, admin, new_account("anna@noord.example", &[]), "input.roles").await;
}

async fn an_invalid_phone_is_bad_user_input_at_input_phone(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    for phone in ["call me", "12", "+31 20 123 4567 ext. 8"] {
        let mut input = new_account("anna@noord.example", &["CLIENT"]);
        input["phone"] = json!(phone);
        assert_create_refused_at(&app, admin, input, "input.phone").await;
    }
    let mut input = new_account("anna@noord.example", &["CLIENT"]);
    input["phone"] = json!("+31 (0)20-123 4567");
    assert_create_accepted(&app, admin, input).await;
}

async fn a_birth_date_that_is_not_a_date_is_bad_user_input_at_input_birth_date(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    for date in ["yesterday", "02-03-2000", "2001-02-29", "2000-13-01", ""] {
        let mut input = new_account("anna@noord.example", &["CLIENT"]);
        input["birthDate"] = json!(date);
        assert_create_refused_at(&app, admin, input, "input.birthDate").await;
    }
    let mut input = new_account("anna@noord.example", &["CLIENT"]);
    input["birthDate"] = json!("2000-02-29");
    assert_create_accepted(&app, admin, input).await;
}

async fn a_birth_date_in_the_future_is_bad_user_input_at_input_birth_date(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    // The test clock says 2026-03-02.
    for date in ["2026-03-03", "2100-01-01"] {
        let mut input = new_account("anna@noord.example", &["CLIENT"]);
        input["birthDate"] = json!(date);
        assert_create_refused_at(&app, admin, input, "input.birthDate").await;
    }
    let mut input = new_account("anna@noord.example", &["CLIENT"]);
    input["birthDate"] = json!("2026-03-02");
    assert_create_accepted(&app, admin, input).await;
}

async fn a_new_client_account_cannot_accept_delegations(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    let mut client = new_account("client@noord.example", &["CLIENT"]);
    client["acceptsDelegations"] = json!(true);
    assert_create_refused_at(&app, admin, client, "input.acceptsDelegations").await;
    let mut counselor = new_account("counselor@noord.example", &["COUNSELOR"]);
    counselor["acceptsDelegations"] = json!(true);
    let created = assert_create_accepted(&app, admin, counselor).await;
    assert_eq!(account(&app, admin, id_of(&created)).await["acceptsDelegations"], true);
}

async fn a_user_id_that_is_not_a_uuid_is_bad_user_input_at_user_id(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor]).await;
    for user_id in ["not-a-uuid", "", "42", &format!("{counselor}x")] {
        let roles = app.as_user(admin, SET_ROLES, json!({ "userId": user_id, "roles": ["SUPERVISOR"] })).await;
        assert_bad_input(&roles, "userId");
        let active = app.as_user(admin, SET_ACTIVE, json!({ "userId": user_id, "active": false })).await;
        assert_bad_input(&active, "userId");
        let accepts = app.as_user(admin, SET_ACCEPTS, json!({ "userId": user_id, "accepts": true })).await;
        assert_bad_input(&accepts, "userId");
    }
    let stored = account(&app, admin, counselor).await;
    assert_eq!(role_names(&stored["roles"]), ["COUNSELOR"]);
    assert_eq!(stored["active"], true);
    assert_eq!(stored["acceptsDelegations"], false);
}

async fn set_roles_with_no_roles_is_bad_user_input_and_keeps_the_roles(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor, Role::Supervisor]).await;
    assert_bad_input(&set_roles(&app, admin, counselor, &[]).await, "roles");
    assert_eq!(roles_of(&app, admin, counselor).await, sorted(&["COUNSELOR", "SUPERVISOR"]));
    assert_bad_input(&set_roles(&app, admin, admin, &[]).await, "roles");
    assert_eq!(roles_of(&app, admin, admin).await, ["ADMINISTRATOR"]);
}

// --- setRoles ---------------------------------------------------------------------------------

async fn an_administrator_sets_the_roles_of_an_account(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor]).await;
    let response = set_roles(&app, admin, counselor, &["COUNSELOR_PLUS", "SUPERVISOR"]).await;
    assert_eq!(role_names(&data(&response)["setRoles"]["roles"]), sorted(&["COUNSELOR_PLUS", "SUPERVISOR"]));
    assert_eq!(roles_of(&app, admin, counselor).await, sorted(&["COUNSELOR_PLUS", "SUPERVISOR"]));
    // The change takes effect at once: the account acts with its new roles.
    let viewer = app.as_user(counselor, VIEWER, json!({})).await;
    assert_eq!(role_names(&data(&viewer)["viewer"]["roles"]), sorted(&["COUNSELOR_PLUS", "SUPERVISOR"]));
    data(&set_roles(&app, admin, counselor, &["EXTERNAL"]).await);
    assert_eq!(roles_of(&app, admin, counselor).await, ["EXTERNAL"]);
    let before = app.count_users().await;
    let refused = create_user(&app, counselor, new_account("client@noord.example", &["CLIENT"])).await;
    assert_refused(&refused, "FORBIDDEN");
    assert_eq!(app.count_users().await, before);
}

async fn only_an_administrator_sets_roles(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let target = app.user(org, "target@noord.example", &[Role::Counselor]).await;
    let actors = ROLES.into_iter().filter(|&(role, _)| role != Role::Administrator);
    for (role, name) in actors {
        let actor = app.user(org, &email_for(name), &[role]).await;
        let on_colleague = set_roles(&app, actor, target, &["ADMINISTRATOR"]).await;
        if matches!(role, Role::Client | Role::Guardian | Role::Relative | Role::External) {
            // They do not see the colleague at all.
            assert_refused(&on_colleague, "NOT_FOUND");
        } else {
            assert_refused(&on_colleague, "FORBIDDEN");
        }
        assert_refused(&set_roles(&app, actor, actor, &["ADMINISTRATOR"]).await, "FORBIDDEN");
        assert_eq!(roles_of(&app, admin, actor).await, [name], "{name} changed their own roles");
    }
    assert_eq!(roles_of(&app, admin, target).await, ["COUNSELOR"]);
}

async fn an_administrator_cannot_remove_the_last_administrator(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor]).await;
    assert_refused(&set_roles(&app, admin, admin, &["COUNSELOR"]).await, "CONFLICT");
    assert_eq!(roles_of(&app, admin, admin).await, ["ADMINISTRATOR"]);

    // With a second administrator the first may step down; then the second is the last.
    data(&set_roles(&app, admin, counselor, &["ADMINISTRATOR"]).await);
    let response = set_roles(&app, admin, admin, &["COUNSELOR"]).await;
    assert_eq!(role_names(&data(&response)["setRoles"]["roles"]), ["COUNSELOR"]);
    assert_eq!(roles_of(&app, counselor, admin).await, ["COUNSELOR"]);
    assert_refused(&set_roles(&app, counselor, counselor, &["SUPERVISOR"]).await, "CONFLICT");
    assert_eq!(roles_of(&app, counselor, counselor).await, ["ADMINISTRATOR"]);
}

async fn an_inactive_administrator_does_not_count_as_the_one_that_remains(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let second = app.user(org, "second@noord.example", &[Role::Administrator]).await;
    data(&set_active(&app, admin, second, false).await);
    assert_refused(&set_roles(&app, admin, admin, &["COUNSELOR"]).await, "CONFLICT");
    assert_eq!(roles_of(&app, admin, admin).await, ["ADMINISTRATOR"]);
    assert_refused(&set_active(&app, admin, admin, false).await, "CONFLICT");
    assert_eq!(account(&app, admin, admin).await["active"], true);
    assert!(is_let_in(&app, admin).await);
}

async fn a_set_roles_refused_by_conflict_is_not_half_written(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (_, admin) = app.organization("Noord").await;
    data(&set_roles(&app, admin, admin, &["ADMINISTRATOR", "COUNSELOR"]).await);
    assert_eq!(roles_of(&app, admin, admin).await, sorted(&["ADMINISTRATOR", "COUNSELOR"]));
    let response = set_roles(&app, admin, admin, &["COUNSELOR", "SUPERVISOR"]).await;
    assert_refused(&response, "CONFLICT");
    assert_eq!(roles_of(&app, admin, admin).await, sorted(&["ADMINISTRATOR", "COUNSELOR"]));
    let viewer = app.as_user(admin, VIEWER, json!({})).await;
    assert_eq!(role_names(&data(&viewer)["viewer"]["roles"]), sorted(&["ADMINISTRATOR", "COUNSELOR"]));
}

async fn concurrent_demotions_leave_the_organisation_an_administrator(backend: Backend) {
    let app = Arc::new(TestApp::spawn(&backend).await);
    let pairs = administrator_pairs(&app).await;
    let mut tasks = Vec::new();
    for &(first, second, _) in &pairs {
        let (one, other) = (app.clone(), app.clone());
        tasks.push(tokio::spawn(async move { set_roles(&one, first, second, &["COUNSELOR"]).await }));
        tasks.push(tokio::spawn(async move { set_roles(&other, second, first, &["COUNSELOR"]).await }));
    }
    let responses = finish(tasks).await;
    for (&(first, second, secretary), both) in pairs.iter().zip(responses.chunks(2)) {
        let succeeded = both.iter().filter(|response| response.get("errors").is_none()).count();
        assert_eq!(succeeded, 1, "exactly one demotion goes through: {both:#?}");
        for response in both {
            if let Some(code) = error_code(response) {
                // Refused by the rule, or because the winner's change reached the loser's roles first.
                assert!(matches!(code, "CONFLICT" | "FORBIDDEN"), "{response:#}");
            }
        }
        let mut administrators = 0;
        for user in [first, second] {
            if roles_of(&app, secretary, user).await.contains(&"ADMINISTRATOR".to_owned()) {
                administrators += 1;
            }
        }
        assert_eq!(administrators, 1, "the organisation keeps one administrator");
    }
}

// --- setUserActive ----------------------------------------------------------------------------

async fn a_secretary_deactivates_and_reactivates_an_account(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let secretary = app.user(org, "secretary@noord.example", &[Role::Secretary]).await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor]).await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    let colleague = app.user(org, "colleague@noord.example", &[Role::Secretary]).await;
    for target in [counselor, client, colleague] {
        assert!(is_let_in(&app, target).await);
        let response = set_active(&app, secretary, target, false).await;
        assert_eq!(data(&response)["setUserActive"]["active"], false);
        assert_eq!(account(&app, admin, target).await["active"], false);
        assert!(!is_let_in(&app, target).await, "a deactivated account is refused on its next request");

        let response = set_active(&app, secretary, target, true).await;
        assert_eq!(data(&response)["setUserActive"]["active"], true);
        assert_eq!(account(&app, admin, target).await["active"], true);
        assert!(is_let_in(&app, target).await);
    }
}

async fn an_administrator_deactivates_any_account_including_another_administrator(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let second = app.user(org, "second@noord.example", &[Role::Administrator]).await;
    let secretary = app.user(org, "secretary@noord.example", &[Role::Secretary]).await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    for target in [second, secretary, client] {
        assert_eq!(data(&set_active(&app, admin, target, false).await)["setUserActive"]["active"], false);
        assert_eq!(account(&app, admin, target).await["active"], false);
        assert!(!is_let_in(&app, target).await);
        assert_eq!(data(&set_active(&app, admin, target, true).await)["setUserActive"]["active"], true);
        assert_eq!(account(&app, admin, target).await["active"], true);
        assert!(is_let_in(&app, target).await);
    }
}

async fn a_secretary_cannot_deactivate_or_activate_an_administrator(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let second = app.user(org, "second@noord.example", &[Role::Administrator]).await;
    let secretary = app.user(org, "secretary@noord.example", &[Role::Secretary]).await;
    assert_refused(&set_active(&app, secretary, admin, false).await, "FORBIDDEN");
    assert_eq!(account(&app, secretary, admin).await["active"], true);
    assert!(is_let_in(&app, admin).await);

    data(&set_active(&app, admin, second, false).await);
    assert_refused(&set_active(&app, secretary, second, true).await, "FORBIDDEN");
    assert_eq!(account(&app, secretary, second).await["active"], false);
    assert!(!is_let_in(&app, second).await);
}

async fn only_the_office_deactivates_accounts_outside_a_counselors_caseload(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    for (role, name) in OTHER_PROFESSIONALS {
        let actor = app.user(org, &email_for(name), &[role]).await;
        assert_refused(&set_active(&app, actor, client, false).await, "FORBIDDEN");
        assert_refused(&set_active(&app, actor, actor, false).await, "FORBIDDEN");
        assert_eq!(account(&app, admin, actor).await["active"], true, "{name}");
        assert!(is_let_in(&app, actor).await, "{name}");
    }
    for (role, name) in [(Role::Client, "CLIENT2"), (Role::Guardian, "GUARDIAN"), (Role::Relative, "RELATIVE")] {
        let actor = app.user(org, &email_for(name), &[role]).await;
        assert_refused(&set_active(&app, actor, actor, false).await, "FORBIDDEN");
        assert!(is_let_in(&app, actor).await, "{name}");
    }
    assert_eq!(account(&app, admin, client).await["active"], true);
    assert!(is_let_in(&app, client).await);
}

/// The rows of `client`'s access log about their account, as (actor, outcome, basis).
async fn account_changes_logged(app: &TestApp, client: Uuid) -> Vec<(Uuid, String, Option<String>)> {
    use inzage_entity::audit_event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::ClientId.eq(client))
        .filter(audit_event::Column::ObjectType.eq("Account"))
        .order_by_asc(audit_event::Column::Id)
        .all(app.app.db.conn())
        .await
        .expect("audit rows");
    rows.into_iter()
        .map(|row| (row.actor_id.expect("an actor"), format!("{:?}", row.outcome).to_uppercase(), row.basis))
        .collect()
}

async fn a_counselor_deactivates_a_client_of_their_caseload_and_reactivation_stays_with_the_office(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("Noord").await;
    let secretary = app.user(org, "secretary@noord.example", &[Role::Secretary]).await;
    let carla = app.user(org, "carla@noord.example", &[Role::Counselor]).await;
    let petra = app.user(org, "petra@noord.example", &[Role::CounselorPlus]).await;
    let koen = app.user(org, "koen@noord.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@noord.example", "Lotte").await;
    let milan = app.client_created_by(petra, "milan@noord.example", "Milan").await;
    let (other, _) = app.organization("Zuid").await;
    let stranger = app.user(other, "counselor@zuid.example", &[Role::Counselor]).await;

    // Not in the caseload, a colleague, or another organisation's counselor: refused.
    assert_refused(&set_active(&app, carla, milan, false).await, "FORBIDDEN");
    assert_refused(&set_active(&app, carla, koen, false).await, "FORBIDDEN");
    assert_refused(&set_active(&app, stranger, lotte, false).await, "NOT_FOUND");
    assert!(is_let_in(&app, milan).await && is_let_in(&app, koen).await && is_let_in(&app, lotte).await);
    assert_eq!(account_changes_logged(&app, milan).await, [(carla, "DENIED".to_owned(), None)]);

    // Each counselor deactivates their own client; the read of the log names the caseload.
    for (counselor, client) in [(carla, lotte), (petra, milan)] {
        let response = set_active(&app, counselor, client, false).await;
        assert_eq!(data(&response)["setUserActive"]["active"], false, "{response:#}");
        assert!(!is_let_in(&app, client).await, "a deactivated client is refused on the next request");
        let logged = account_changes_logged(&app, client).await;
        assert_eq!(logged.last(), Some(&(counselor, "SUCCESS".to_owned(), Some("CASELOAD".to_owned()))));
    }
    // Reactivation is for the secretary (and the administrator), not the counselor.
    assert_refused(&set_active(&app, carla, lotte, true).await, "FORBIDDEN");
    assert!(!is_let_in(&app, lotte).await);
    assert_eq!(data(&set_active(&app, secretary, lotte, true).await)["setUserActive"]["active"], true);
    assert!(is_let_in(&app, lotte).await);
}

async fn a_client_deactivated_by_their_counselor_loses_their_open_subscriptions(backend: Backend) {
    use inzage_testkit::live::{connect, next, subscribe_notifications};
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("Noord").await;
    let carla = app.user(org, "carla@noord.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@noord.example", "Lotte").await;
    let mut socket = connect(app.addr, &app.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    data(&set_active(&app, carla, lotte, false).await);
    let (code, reason) = next(&mut socket, std::time::Duration::from_secs(5)).await.expect_err("closed");
    assert_eq!(code, 4403, "{reason}");
}

async fn deactivating_the_last_active_administrator_is_a_conflict(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    assert_refused(&set_active(&app, admin, admin, false).await, "CONFLICT");
    assert_eq!(account(&app, admin, admin).await["active"], true);
    assert!(is_let_in(&app, admin).await);

    // With a second active administrator the first may go; then the second is the last.
    let second = app.user(org, "second@noord.example", &[Role::Administrator]).await;
    assert_eq!(data(&set_active(&app, admin, admin, false).await)["setUserActive"]["active"], false);
    assert!(!is_let_in(&app, admin).await);
    assert_eq!(account(&app, second, admin).await["active"], false);
    assert_refused(&set_active(&app, second, second, false).await, "CONFLICT");
    assert_eq!(account(&app, second, second).await["active"], true);
    assert!(is_let_in(&app, second).await);
}

async fn concurrent_deactivations_leave_the_organisation_an_active_administrator(backend: Backend) {
    let app = Arc::new(TestApp::spawn(&backend).await);
    let pairs = administrator_pairs(&app).await;
    let mut tasks = Vec::new();
    for &(first, second, _) in &pairs {
        let (one, other) = (app.clone(), app.clone());
        tasks.push(tokio::spawn(async move { set_active(&one, first, second, false).await }));
        tasks.push(tokio::spawn(async move { set_active(&other, second, first, false).await }));
    }
    let responses = finish(tasks).await;
    for (&(first, second, secretary), both) in pairs.iter().zip(responses.chunks(2)) {
        let succeeded = both.iter().filter(|response| response.get("errors").is_none()).count();
        assert_eq!(succeeded, 1, "exactly one deactivation goes through: {both:#?}");
        for response in both {
            if let Some(code) = error_code(response) {
                // Refused by the rule, or because the loser was already deactivated.
                assert!(matches!(code, "CONFLICT" | "UNAUTHENTICATED"), "{response:#}");
            }
        }
        let mut active = 0;
        for user in [first, second] {
            if account(&app, secretary, user).await["active"] == true {
                active += 1;
            }
        }
        assert_eq!(active, 1, "the organisation keeps one active administrator");
    }
}

// --- Who sees whom ----------------------------------------------------------------------------

async fn users_of_another_organisation_do_not_exist_for_the_viewer(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (noord, _) = app.organization("Noord").await;
    let (oost, oost_admin) = app.organization("Oost").await;
    let stranger = app.user(noord, "counselor@noord.example", &[Role::Counselor]).await;
    let oost_secretary = app.user(oost, "secretary@oost.example", &[Role::Secretary]).await;
    for viewer in [oost_admin, oost_secretary] {
        let foreign = app.as_user(viewer, USER, json!({ "id": stranger })).await;
        assert_eq!(error_code(&foreign), Some("NOT_FOUND"), "{foreign:#}");
        assert_eq!(foreign["errors"][0]["path"], json!(["user"]));
        assert!(foreign["data"]["user"].is_null(), "{foreign:#}");
        let unknown = app.as_user(viewer, USER, json!({ "id": Uuid::now_v7() })).await;
        assert_eq!(foreign, unknown, "another organisation's account reads as an unknown id");
    }
}

async fn mutations_on_users_of_another_organisation_are_not_found(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (noord, noord_admin) = app.organization("Noord").await;
    let (oost, oost_admin) = app.organization("Oost").await;
    let oost_secretary = app.user(oost, "secretary@oost.example", &[Role::Secretary]).await;
    let stranger = app.user(noord, "counselor@noord.example", &[Role::Counselor]).await;
    let unknown = Uuid::now_v7();
    for target in [stranger, noord_admin, unknown] {
        assert_refused(&set_roles(&app, oost_admin, target, &["CLIENT"]).await, "NOT_FOUND");
        assert_refused(&set_active(&app, oost_admin, target, false).await, "NOT_FOUND");
        assert_refused(&set_active(&app, oost_secretary, target, false).await, "NOT_FOUND");
        assert_refused(&set_accepts(&app, oost_admin, target, true).await, "NOT_FOUND");
    }
    let foreign = set_active(&app, oost_admin, stranger, false).await;
    let missing = set_active(&app, oost_admin, unknown, false).await;
    assert_eq!(foreign, missing, "another organisation's account reads as an unknown id");
    for target in [stranger, noord_admin] {
        let stored = account(&app, noord_admin, target).await;
        assert_eq!(stored["active"], true);
        assert_eq!(stored["acceptsDelegations"], false);
        assert!(is_let_in(&app, target).await);
    }
    assert_eq!(roles_of(&app, noord_admin, stranger).await, ["COUNSELOR"]);
    assert_eq!(roles_of(&app, noord_admin, noord_admin).await, ["ADMINISTRATOR"]);
}

async fn professionals_see_every_account_of_their_organisation(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    let relative = app.user(org, "relative@noord.example", &[Role::Relative]).await;
    let mut professionals = vec![admin];
    for (role, name) in PROFESSIONALS.into_iter().filter(|&(role, _)| role != Role::Administrator) {
        professionals.push(app.user(org, &email_for(name), &[role]).await);
    }
    for &viewer in &professionals {
        for &target in professionals.iter().chain([&client, &relative]) {
            let seen = account(&app, viewer, target).await;
            assert_eq!(seen["organization"]["id"], org.to_string());
        }
    }
}

async fn a_client_sees_only_themself(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    let other_client = app.user(org, "other@noord.example", &[Role::Client]).await;
    let secretary = app.user(org, "secretary@noord.example", &[Role::Secretary]).await;
    let own = account(&app, client, client).await;
    assert_eq!(role_names(&own["roles"]), ["CLIENT"]);
    let unknown = app.as_user(client, USER, json!({ "id": Uuid::now_v7() })).await;
    for target in [other_client, admin, secretary] {
        let response = app.as_user(client, USER, json!({ "id": target })).await;
        assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response:#}");
        assert!(response["data"]["user"].is_null(), "{response:#}");
        assert_eq!(response, unknown, "an account the client may not see reads as an unknown id");
    }
    // The other client exists: the secretary sees them.
    account(&app, secretary, other_client).await;
}

async fn guardians_relatives_and_externals_see_only_themselves(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    for (role, name) in [(Role::Guardian, "GUARDIAN"), (Role::Relative, "RELATIVE"), (Role::External, "EXTERNAL")] {
        let viewer = app.user(org, &email_for(name), &[role]).await;
        assert_eq!(roles_of(&app, viewer, viewer).await, [name]);
        for target in [client, admin] {
            let response = app.as_user(viewer, USER, json!({ "id": target })).await;
            assert_eq!(error_code(&response), Some("NOT_FOUND"), "{name}: {response:#}");
            assert!(response["data"]["user"].is_null(), "{response:#}");
        }
    }
}

async fn mutations_by_a_client_on_accounts_they_cannot_see_are_not_found(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    let other_client = app.user(org, "other@noord.example", &[Role::Client]).await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor]).await;
    for target in [other_client, counselor] {
        assert_refused(&set_roles(&app, client, target, &["CLIENT"]).await, "NOT_FOUND");
        assert_refused(&set_active(&app, client, target, false).await, "NOT_FOUND");
        assert_refused(&set_accepts(&app, client, target, false).await, "NOT_FOUND");
        assert_eq!(account(&app, admin, target).await["active"], true);
    }
    assert_eq!(roles_of(&app, admin, counselor).await, ["COUNSELOR"]);
}

// --- User.email -------------------------------------------------------------------------------

async fn a_user_reads_their_own_email(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("Noord").await;
    for (role, name) in ROLES {
        let email = email_for(name);
        let user = app.user(org, &email, &[role]).await;
        let response = app.as_user(user, USER_EMAIL, json!({ "id": user })).await;
        assert_eq!(data(&response)["user"]["email"], email, "{name}");
        let viewer = app.as_user(user, "{ viewer { user { email } } }", json!({})).await;
        assert_eq!(data(&viewer)["viewer"]["user"]["email"], email, "{name}");
    }
}

async fn administrators_and_secretaries_read_the_emails_of_their_organisation(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let secretary = app.user(org, "secretary@noord.example", &[Role::Secretary]).await;
    let counselor = app.user(org, "counselor@noord.example", &[Role::Counselor]).await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    let accounts = [
        (admin, "admin@noord.example"),
        (secretary, "secretary@noord.example"),
        (counselor, "counselor@noord.example"),
        (client, "client@noord.example"),
    ];
    for viewer in [admin, secretary] {
        for (target, email) in accounts {
            let response = app.as_user(viewer, USER_EMAIL, json!({ "id": target })).await;
            assert_eq!(data(&response)["user"]["email"], email);
        }
    }
}

async fn other_colleagues_get_the_user_with_forbidden_at_user_email(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    let secretary = app.user(org, "secretary@noord.example", &[Role::Secretary]).await;
    for (role, name) in OTHER_PROFESSIONALS {
        let viewer = app.user(org, &email_for(name), &[role]).await;
        for target in [admin, secretary, client] {
            let response = app.as_user(viewer, USER_EMAIL, json!({ "id": target })).await;
            assert_eq!(error_code(&response), Some("FORBIDDEN"), "{name}: {response:#}");
            assert_eq!(response["errors"].as_array().map(Vec::len), Some(1), "{response:#}");
            assert_eq!(response["errors"][0]["path"], json!(["user", "email"]), "{response:#}");
            let user = &response["data"]["user"];
            assert_eq!(user["id"], target.to_string(), "the rest of the user is returned: {response:#}");
            assert!(user["displayName"].is_string(), "{response:#}");
            assert!(user["email"].is_null(), "{response:#}");
        }
    }
}

// --- setAcceptsDelegations ----------------------------------------------------------------------

/// The professional roles that may hold a delegation: the care roles.
fn accepts_delegations(role: Role) -> bool {
    matches!(role, Role::Counselor | Role::CounselorPlus | Role::Supervisor | Role::Secretary)
}

async fn an_administrator_sets_whether_a_professional_accepts_delegations(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    for (role, name) in PROFESSIONALS.into_iter().filter(|&(role, _)| role != Role::Administrator) {
        let professional = app.user(org, &email_for(name), &[role]).await;
        if !accepts_delegations(role) {
            // Data roles read exports only: they never hold a delegation.
            assert_bad_input(&set_accepts(&app, admin, professional, true).await, "accepts");
            assert_eq!(account(&app, admin, professional).await["acceptsDelegations"], false, "{name}");
            continue;
        }
        let response = set_accepts(&app, admin, professional, true).await;
        assert_eq!(data(&response)["setAcceptsDelegations"]["acceptsDelegations"], true, "{name}");
        assert_eq!(account(&app, admin, professional).await["acceptsDelegations"], true, "{name}");
        let response = set_accepts(&app, admin, professional, false).await;
        assert_eq!(data(&response)["setAcceptsDelegations"]["acceptsDelegations"], false, "{name}");
        assert_eq!(account(&app, admin, professional).await["acceptsDelegations"], false, "{name}");
    }
    // Nor does an administrator, who sees no client data.
    assert_bad_input(&set_accepts(&app, admin, admin, true).await, "accepts");
    assert_eq!(account(&app, admin, admin).await["acceptsDelegations"], false);
}

async fn an_account_that_stops_being_a_professional_stops_accepting_delegations(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    // Losing the care role is enough: a data analyst holds no delegation either.
    for (roles, name) in [("[CLIENT]", "counselor-client"), ("[DATA_ANALYST]", "counselor-analyst")] {
        let counselor = app.user(org, &email_for(name), &[Role::Counselor]).await;
        data(&set_accepts(&app, admin, counselor, true).await);
        let query =
            format!("mutation($id: ID!) {{ setRoles(userId: $id, roles: {roles}) {{ roles acceptsDelegations }} }}");
        let response = app.as_user(admin, &query, json!({"id": counselor})).await;
        assert_eq!(data(&response)["setRoles"]["acceptsDelegations"], false, "{roles}");
        assert_eq!(account(&app, admin, counselor).await["acceptsDelegations"], false, "{roles}");
    }
}

async fn a_professional_sets_accepts_delegations_for_their_own_account(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    for (role, name) in PROFESSIONALS.into_iter().filter(|&(role, _)| accepts_delegations(role)) {
        let professional = app.user(org, &email_for(name), &[role]).await;
        let response = set_accepts(&app, professional, professional, true).await;
        assert_eq!(data(&response)["setAcceptsDelegations"]["acceptsDelegations"], true, "{name}");
        assert_eq!(account(&app, admin, professional).await["acceptsDelegations"], true, "{name}");
        data(&set_accepts(&app, professional, professional, false).await);
        assert_eq!(account(&app, admin, professional).await["acceptsDelegations"], false, "{name}");
    }
}

async fn a_professional_cannot_set_accepts_delegations_for_a_colleague(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let colleague = app.user(org, "colleague@noord.example", &[Role::Counselor]).await;
    for (role, name) in PROFESSIONALS.into_iter().filter(|&(role, _)| role != Role::Administrator) {
        let professional = app.user(org, &email_for(name), &[role]).await;
        assert_refused(&set_accepts(&app, professional, colleague, true).await, "FORBIDDEN");
        assert_eq!(account(&app, admin, colleague).await["acceptsDelegations"], false, "{name}");
    }
}

async fn a_client_cannot_set_accepts_delegations_for_themself(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    for (role, name) in [(Role::Client, "CLIENT"), (Role::Guardian, "GUARDIAN"), (Role::Relative, "RELATIVE")] {
        let user = app.user(org, &email_for(name), &[role]).await;
        assert_refused(&set_accepts(&app, user, user, true).await, "FORBIDDEN");
        assert_eq!(account(&app, admin, user).await["acceptsDelegations"], false, "{name}");
    }
}

async fn a_client_account_cannot_accept_delegations(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("Noord").await;
    let client = app.user(org, "client@noord.example", &[Role::Client]).await;
    assert_bad_input(&set_accepts(&app, admin, client, true).await, "accepts");
    assert_eq!(account(&app, admin, client).await["acceptsDelegations"], false);
    // Saying no is always allowed.
    let response = set_accepts(&app, admin, client, false).await;
    assert_eq!(data(&response)["setAcceptsDelegations"]["acceptsDelegations"], false);
}

on_every_database!(
    an_administrator_creates_accounts_of_every_role,
    secretaries_and_counselors_create_client_accounts,
    a_counselor_creating_a_client_gets_the_client_with_its_roles,
    secretaries_and_counselors_may_not_create_any_other_account,
    other_roles_may_not_create_accounts,
    an_anonymous_request_creates_no_account,
    display_names_are_trimmed_and_emails_stored_lower_case,
    a_duplicate_email_is_a_conflict_and_writes_nothing,
    an_invalid_email_is_bad_user_input_at_input_email,
    an_empty_display_name_is_bad_user_input_at_input_display_name,
    a_whitespace_only_display_name_is_bad_user_input_at_input_display_name,
    a_display_name_of_201_characters_is_bad_user_input_at_input_display_name,
    an_empty_role_list_is_bad_user_input_at_input_roles,
    an_invalid_phone_is_bad_user_input_at_input_phone,
    a_birth_date_that_is_not_a_date_is_bad_user_input_at_input_birth_date,
    a_birth_date_in_the_future_is_bad_user_input_at_input_birth_date,
    a_new_client_account_cannot_accept_delegations,
    a_user_id_that_is_not_a_uuid_is_bad_user_input_at_user_id,
    set_roles_with_no_roles_is_bad_user_input_and_keeps_the_roles,
    an_administrator_sets_the_roles_of_an_account,
    only_an_administrator_sets_roles,
    an_administrator_cannot_remove_the_last_administrator,
    an_inactive_administrator_does_not_count_as_the_one_that_remains,
    a_set_roles_refused_by_conflict_is_not_half_written,
    concurrent_demotions_leave_the_organisation_an_administrator,
    a_secretary_deactivates_and_reactivates_an_account,
    an_administrator_deactivates_any_account_including_another_administrator,
    a_secretary_cannot_deactivate_or_activate_an_administrator,
    only_the_office_deactivates_accounts_outside_a_counselors_caseload,
    a_counselor_deactivates_a_client_of_their_caseload_and_reactivation_stays_with_the_office,
    a_client_deactivated_by_their_counselor_loses_their_open_subscriptions,
    deactivating_the_last_active_administrator_is_a_conflict,
    concurrent_deactivations_leave_the_organisation_an_active_administrator,
    users_of_another_organisation_do_not_exist_for_the_viewer,
    mutations_on_users_of_another_organisation_are_not_found,
    professionals_see_every_account_of_their_organisation,
    a_client_sees_only_themself,
    guardians_relatives_and_externals_see_only_themselves,
    mutations_by_a_client_on_accounts_they_cannot_see_are_not_found,
    a_user_reads_their_own_email,
    administrators_and_secretaries_read_the_emails_of_their_organisation,
    other_colleagues_get_the_user_with_forbidden_at_user_email,
    an_administrator_sets_whether_a_professional_accepts_delegations,
    an_account_that_stops_being_a_professional_stops_accepting_delegations,
    a_professional_sets_accepts_delegations_for_their_own_account,
    a_professional_cannot_set_accepts_delegations_for_a_colleague,
    a_client_cannot_set_accepts_delegations_for_themself,
    a_client_account_cannot_accept_delegations,
);
