//! Trajectories with members and teams, and dossier delegation to intervention providers:
//! who opens and staffs a trajectory, what those who work in it
//! see of the client, executors and who may see them, confirming an intervention, delegating,
//! and delegations that end, expire or are revoked — all through GraphQL as portals would.

use inzage_testkit::on_every_database;
use std::time::Duration;

use chrono::{DateTime, Utc};
use inzage_entity::{OrganizationKind, Role};
use inzage_testkit::live::{self, Socket, assert_silent, connect};
use inzage_testkit::{Backend, TestApp, covers, data, error_code, paths_with};
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

const CREATE_CLIENT: &str = r#"mutation($e: String!, $n: String!) {
    createUser(input: {email: $e, displayName: $n, roles: [CLIENT], phone: "+31 6 1111 2222"}) { id } }"#;
const CREATE_PROFESSIONAL: &str = "mutation($e: String!, $n: String!, $r: [Role!]!, $a: Boolean!) {
    createUser(input: {email: $e, displayName: $n, roles: $r, acceptsDelegations: $a}) { id acceptsDelegations } }";
const CREATE_PROTOCOL: &str =
    "mutation($n: String!, $k: TrajectoryKind!) { createProtocol(input: {name: $n, kind: $k}) { id name kind } }";
const OPEN: &str = "mutation($c: ID!, $t: String!, $k: TrajectoryKind, $p: ID, $coach: ID) {
    openTrajectory(input: {clientId: $c, title: $t, kind: $k, protocolId: $p, primaryCoachId: $coach}) {
        id title kind status openedAt closedAt client { displayName } protocol { name kind }
        primaryCoach { id displayName } members { user { id } } tasks { id kind status } } }";
const ADD_MEMBER: &str = "mutation($t: ID!, $u: ID!, $r: String!) {
    addTrajectoryMember(trajectoryId: $t, userId: $u, role: $r) { id members { user { id displayName } role addedAt } } }";
const REMOVE_MEMBER: &str = "mutation($t: ID!, $u: ID!) {
    removeTrajectoryMember(trajectoryId: $t, userId: $u) { id members { user { displayName } } } }";
const CREATE_TEAM: &str = "mutation($n: String!) { createTeam(input: {name: $n}) { id name members { role } } }";
const ADD_TEAM_MEMBER: &str = "mutation($t: ID!, $u: ID!, $r: String!) {
    addTeamMember(teamId: $t, userId: $u, role: $r) { id name members { user { displayName } role } } }";
const ASSIGN_TEAM: &str =
    "mutation($t: ID!, $team: ID!) { assignTeam(trajectoryId: $t, teamId: $team) { id teams { id name } } }";
const CLOSE: &str = "mutation($t: ID!) { closeTrajectory(trajectoryId: $t) { id status closedAt } }";
const TRAJECTORY: &str = "query($t: ID!) { trajectory(id: $t) {
    id title status client { displayName } primaryCoach { displayName } members { user { displayName } role } } }";
const ADD_ENTRY: &str = "mutation($c: ID!, $t: String!, $tr: ID) {
    addDossierEntry(clientId: $c, input: {kind: NOTE, title: $t, body: \"Talked about work.\", trajectoryId: $tr}) {
        id title trajectory { id } } }";
const CLIENT_VIEW: &str =
    "query($c: ID!) { client(id: $c) { displayName dossier { nodes { title } } viewerAccess { bases } } }";
const CLIENT_CONTACT: &str = "query($c: ID!) { client(id: $c) { displayName contact { phone } } }";
const CLIENT_TRAJECTORIES: &str = "query($c: ID!) { client(id: $c) { trajectories { id title } } }";

const CREATE_PROVIDER: &str =
    "mutation($n: String!) { createProvider(input: {name: $n}) { id name hasDefaultExecutor } }";
const CREATE_PROGRAM: &str = "mutation($p: ID!, $n: String!) {
    createProgram(input: {providerId: $p, name: $n}) { id name executorMode hasEffectiveExecutor provider { id } } }";
const SET_PROVIDER_EXECUTOR: &str = "mutation($p: ID!, $u: ID) {
    setProviderDefaultExecutor(providerId: $p, userId: $u) { id hasDefaultExecutor } }";
const SET_PROGRAM_EXECUTOR: &str = "mutation($p: ID!, $m: ExecutorMode!, $u: ID) {
    setProgramExecutor(programId: $p, mode: $m, userId: $u) { id executorMode hasEffectiveExecutor } }";
const PROVIDER: &str =
    "query($p: ID!) { provider(id: $p) { name defaultExecutor { displayName } hasDefaultExecutor } }";
const PROGRAM: &str = "query($p: ID!) { program(id: $p) {
    name executorMode effectiveExecutor { displayName } hasEffectiveExecutor defaultExecutor { displayName } } }";
const CONFIRM: &str = "mutation($t: ID!, $p: ID!) { confirmIntervention(taskId: $t, programId: $p) {
    guidanceTrajectory { id kind status primaryCoach { id } parent { id } program { id } tasks { id kind status } }
    delegation { id status delegate { id } endsAt }
    delegationTask { id kind status } } }";
const DELEGATE: &str = "mutation($t: ID!, $u: ID!, $e: DateTime) {
    delegateDossier(taskId: $t, userId: $u, endsAt: $e) { id status endsAt delegate { id } } }";
const REVOKE: &str = "mutation($d: ID!) { revokeDelegation(delegationId: $d) { id status endedAt } }";
const TASKS: &str = "query($t: ID!) { trajectory(id: $t) { tasks { id kind status } } }";
const MY_DELEGATIONS: &str = "query($s: DelegationStatus) { viewer { delegations(status: $s) { id status } } }";
const NOTIFICATIONS: &str =
    "{ viewer { notifications(first: 100) { nodes { kind title task { id kind } delegation { id } } } } }";
const DELEGATION_EVENTS: &str = "subscription { delegationEvents { kind at delegation { id status } } }";

/// A care organisation and its people.
struct World {
    org: Uuid,
    admin: Uuid,
    secretary: Uuid,
    /// COUNSELOR with Lotte and Milan in her caseload.
    carla: Uuid,
    /// COUNSELOR, no caseload: becomes a trajectory member.
    koen: Uuid,
    /// COUNSELOR, no caseload: a team member.
    sofie: Uuid,
    /// COUNSELOR, no caseload, never involved.
    mark: Uuid,
    /// SUPERVISOR of Lotte.
    supervisor: Uuid,
    lotte: Uuid,
    milan: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let sofie = app.user(org, "sofie@linde.example", &[Role::Counselor]).await;
    let mark = app.user(org, "mark@linde.example", &[Role::Counselor]).await;
    let supervisor = app.user(org, "stan@linde.example", &[Role::Supervisor]).await;
    let lotte = app.as_user(carla, CREATE_CLIENT, json!({"e": "lotte@linde.example", "n": "Lotte"})).await;
    let lotte = id(&data(&lotte)["createUser"]["id"]);
    let milan = app.as_user(carla, CREATE_CLIENT, json!({"e": "milan@linde.example", "n": "Milan"})).await;
    let milan = id(&data(&milan)["createUser"]["id"]);
    let link = "mutation($c: ID!, $s: ID!) { linkSupervisor(clientId: $c, supervisorId: $s) { id } }";
    data(&app.as_user(secretary, link, json!({"c": lotte, "s": supervisor})).await);
    World { org, admin, secretary, carla, koen, sofie, mark, supervisor, lotte, milan }
}

/// An intervention provider of the care organisation whose default executor, Eva, works at
/// another organisation (an INTERVENTION_PROVIDER), and a program that inherits her.
struct Provision {
    program: Uuid,
    /// ADMINISTRATOR of Eva's organisation.
    herstel_admin: Uuid,
    eva: Uuid,
}

async fn provision(app: &TestApp, w: &World) -> Provision {
    let (_, herstel_admin) = app.organization_of_kind("Herstel BV", OrganizationKind::InterventionProvider).await;
    let eva = professional(app, herstel_admin, "eva@herstel.example", "Eva", true).await;
    let provider = app.as_user(w.admin, CREATE_PROVIDER, json!({"n": "Herstel BV"})).await;
    let provider = id(&data(&provider)["createProvider"]["id"]);
    let program = app.as_user(w.admin, CREATE_PROGRAM, json!({"p": provider, "n": "Re-integration"})).await;
    let program = id(&data(&program)["createProgram"]["id"]);
    data(&app.as_user(w.admin, SET_PROVIDER_EXECUTOR, json!({"p": provider, "u": eva})).await);
    Provision { program, herstel_admin, eva }
}

/// A COUNSELOR created by `admin` through the API, accepting delegations or not.
async fn professional(app: &TestApp, admin: Uuid, email: &str, name: &str, accepts: bool) -> Uuid {
    let created =
        app.as_user(admin, CREATE_PROFESSIONAL, json!({"e": email, "n": name, "r": ["COUNSELOR"], "a": accepts})).await;
    assert_eq!(data(&created)["createUser"]["acceptsDelegations"], accepts);
    id(&data(&created)["createUser"]["id"])
}

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("a time, got {value}")))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn list(value: &Value) -> Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("a list, got {value}")).clone()
}

/// The strings at `key` (a JSON pointer) of each item, sorted.
fn sorted(items: &Value, pointer: &str) -> Vec<String> {
    let mut out: Vec<String> = list(items)
        .iter()
        .map(|item| item.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{pointer} in {item}")))
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

/// The `extensions.field` of the first error.
fn error_field(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["field"].as_str()
}

#[track_caller]
fn assert_refused(response: &Value, code: &str, field: Option<&str>) {
    assert_eq!(error_code(response), Some(code), "{response:#}");
    if let Some(field) = field {
        assert_eq!(error_field(response), Some(field), "{response:#}");
    }
    let data = &response["data"];
    assert!(data.is_null() || data.as_object().is_some_and(|d| d.values().all(Value::is_null)), "{response:#}");
}

/// Opens a trajectory as `by`; returns its data.
async fn open(app: &TestApp, by: Uuid, variables: Value) -> Value {
    data(&app.as_user(by, OPEN, variables).await)["openTrajectory"].clone()
}

/// Opens a GENERAL trajectory for `client` as `by`; returns its id.
async fn open_general(app: &TestApp, by: Uuid, client: Uuid, title: &str) -> Uuid {
    id(&open(app, by, json!({"c": client, "t": title})).await["id"])
}

/// Opens an INTERVENTION_DEPLOYMENT trajectory as `coach`; returns it and its task's id.
async fn open_deployment(app: &TestApp, coach: Uuid, client: Uuid) -> (Uuid, Uuid) {
    let opened = open(app, coach, json!({"c": client, "t": "Intervention", "k": "INTERVENTION_DEPLOYMENT"})).await;
    let tasks = list(&opened["tasks"]);
    assert_eq!(tasks.len(), 1, "{opened:#}");
    (id(&opened["id"]), id(&tasks[0]["id"]))
}

async fn add_member(app: &TestApp, by: Uuid, trajectory: Uuid, user: Uuid, role: &str) -> Value {
    app.as_user(by, ADD_MEMBER, json!({"t": trajectory, "u": user, "r": role})).await
}

async fn add_entry(app: &TestApp, by: Uuid, client: Uuid, title: &str, trajectory: Option<Uuid>) -> Value {
    app.as_user(by, ADD_ENTRY, json!({"c": client, "t": title, "tr": trajectory})).await
}

/// The dossier titles `viewer` reads of `client`, oldest first.
async fn dossier_titles(app: &TestApp, viewer: Uuid, client: Uuid) -> Vec<String> {
    let response = app.as_user(viewer, CLIENT_VIEW, json!({"c": client})).await;
    list(&data(&response)["client"]["dossier"]["nodes"])
        .iter()
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect()
}

async fn assert_client_not_found(app: &TestApp, viewer: Uuid, client: Uuid) {
    let response = app.as_user(viewer, CLIENT_VIEW, json!({"c": client})).await;
    assert!(response["data"]["client"].is_null(), "{response:#}");
    assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response:#}");
}

/// Asserts `viewer` no longer holds a delegation of `client`'s dossier: no DELEGATION basis,
/// no contact details, no entry outside a trajectory (here: "Intake").
async fn assert_no_delegated_access(app: &TestApp, viewer: Uuid, client: Uuid) {
    let response = app
        .as_user(
            viewer,
            "query($c: ID!) { client(id: $c) { contact { phone } dossier { nodes { title } } viewerAccess { bases } } }",
            json!({"c": client}),
        )
        .await;
    let found = &response["data"]["client"];
    if found.is_null() {
        assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response:#}");
        return;
    }
    assert!(!list(&found["viewerAccess"]["bases"]).contains(&json!("DELEGATION")), "{response:#}");
    assert!(found["contact"].is_null(), "{response:#}");
    assert!(paths_with(&response, "FORBIDDEN").contains(&"client.contact".to_owned()), "{response:#}");
    assert!(!response.to_string().contains("Intake"), "{response:#}");
}

/// The viewer's notifications of `kind`, newest first.
async fn notifications_of(app: &TestApp, user: Uuid, kind: &str) -> Vec<Value> {
    let response = app.as_user(user, NOTIFICATIONS, json!({})).await;
    list(&data(&response)["viewer"]["notifications"]["nodes"]).into_iter().filter(|n| n["kind"] == kind).collect()
}

/// The client's access log as they read it themselves.
async fn log_of(app: &TestApp, client: Uuid) -> Vec<Value> {
    let response = app
        .as_user(
            client,
            "query($id: ID!) { client(id: $id) { accessLog(first: 200) {
                nodes { actor { displayName } action objectTypes basis outcome } } } }",
            json!({"id": client}),
        )
        .await;
    list(&data(&response)["client"]["accessLog"]["nodes"])
}

async fn my_delegations(app: &TestApp, user: Uuid, status: Option<&str>) -> Vec<Value> {
    let response = app.as_user(user, MY_DELEGATIONS, json!({"s": status})).await;
    list(&data(&response)["viewer"]["delegations"])
}

/// Opens a WebSocket as `user` with the delegationEvents subscription running.
async fn delegation_events(app: &TestApp, user: Uuid) -> Socket {
    let mut socket = connect(app.addr, &app.token(user)).await;
    live::send(&mut socket, json!({"id": "d", "type": "subscribe", "payload": {"query": DELEGATION_EVENTS}})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    socket
}

async fn next_delegation_event(socket: &mut Socket) -> Value {
    let message = live::next(socket, WAIT).await.expect("a delegation event");
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"].get("errors").is_none(), "{message}");
    message["payload"]["data"]["delegationEvents"].clone()
}

// ---------------------------------------------------------------------------------------------

async fn only_the_administrator_defines_protocols_teams_providers_and_programs(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;

    let protocol = app
        .as_user(w.admin, CREATE_PROTOCOL, json!({"n": "Intervention deployment", "k": "INTERVENTION_DEPLOYMENT"}))
        .await;
    let protocol = &data(&protocol)["createProtocol"];
    assert_eq!(protocol["name"], "Intervention deployment");
    assert_eq!(protocol["kind"], "INTERVENTION_DEPLOYMENT");
    let team = app.as_user(w.admin, CREATE_TEAM, json!({"n": "Back office"})).await;
    let team = &data(&team)["createTeam"];
    assert_eq!(team["name"], "Back office");
    assert_eq!(team["members"], json!([]));
    let team = id(&team["id"]);
    let added = app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": w.sofie, "r": "Back office"})).await;
    assert_eq!(
        data(&added)["addTeamMember"]["members"],
        json!([{"user": {"displayName": "sofie"}, "role": "back office"}])
    );
    let provider = app.as_user(w.admin, CREATE_PROVIDER, json!({"n": "Herstel BV"})).await;
    assert_eq!(data(&provider)["createProvider"]["hasDefaultExecutor"], false);
    let provider = id(&data(&provider)["createProvider"]["id"]);
    let program = app.as_user(w.admin, CREATE_PROGRAM, json!({"p": provider, "n": "Re-integration"})).await;
    let program = &data(&program)["createProgram"];
    assert_eq!(program["executorMode"], "INHERIT", "a new program inherits the provider's executor");
    assert_eq!(program["hasEffectiveExecutor"], false);
    assert_eq!(program["provider"]["id"], provider.to_string());

    // Adding the same team member twice, or someone who is no professional, changes nothing.
    let twice = app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": w.sofie, "r": "second coach"})).await;
    assert_refused(&twice, "CONFLICT", None);
    let client = app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": w.lotte, "r": "Member"})).await;
    assert_refused(&client, "BAD_USER_INPUT", Some("userId"));
    let empty = app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": w.koen, "r": " "})).await;
    assert_refused(&empty, "BAD_USER_INPUT", Some("role"));

    for who in [w.carla, w.secretary, w.supervisor] {
        let refused = app.as_user(who, CREATE_PROTOCOL, json!({"n": "Mine", "k": "GENERAL"})).await;
        assert_refused(&refused, "FORBIDDEN", None);
        assert_refused(&app.as_user(who, CREATE_TEAM, json!({"n": "Mine"})).await, "FORBIDDEN", None);
        let refused = app.as_user(who, ADD_TEAM_MEMBER, json!({"t": team, "u": w.koen, "r": "Member"})).await;
        assert_refused(&refused, "FORBIDDEN", None);
        assert_refused(&app.as_user(who, CREATE_PROVIDER, json!({"n": "Mine"})).await, "FORBIDDEN", None);
        let refused = app.as_user(who, CREATE_PROGRAM, json!({"p": provider, "n": "Mine"})).await;
        assert_refused(&refused, "FORBIDDEN", None);
    }
    let read = app
        .as_user(
            w.admin,
            "query($t: ID!, $p: ID!) { team(id: $t) { members { user { displayName } role } }
                provider(id: $p) { programs { name } } }",
            json!({"t": team, "p": provider}),
        )
        .await;
    assert_eq!(
        data(&read)["team"]["members"],
        json!([{"user": {"displayName": "sofie"}, "role": "back office"}]),
        "the refused additions wrote nothing"
    );
    assert_eq!(data(&read)["provider"]["programs"], json!([{"name": "Re-integration"}]));
}

async fn a_caseload_counselor_or_a_secretary_opens_a_trajectory_and_no_one_else(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;

    // A counselor opens one for her client and is its primary coach; GENERAL unless told.
    app.clock.advance(chrono::Duration::minutes(42));
    let opened = open(&app, w.carla, json!({"c": w.lotte, "t": "Back to work"})).await;
    assert_eq!(opened["title"], "Back to work");
    assert_eq!(opened["kind"], "GENERAL");
    assert_eq!(opened["status"], "OPEN");
    assert_eq!(opened["client"]["displayName"], "Lotte");
    assert_eq!(opened["primaryCoach"]["id"], w.carla.to_string());
    assert!(opened["protocol"].is_null());
    assert_eq!(opened["members"], json!([]));
    assert_eq!(opened["tasks"], json!([]), "a GENERAL trajectory has no tasks");
    assert_eq!(time(&opened["openedAt"]), app.clock_now());
    assert!(opened["closedAt"].is_null());

    // With a protocol, the protocol's kind counts; a deployment starts with its task.
    let protocol = app
        .as_user(w.admin, CREATE_PROTOCOL, json!({"n": "Intervention deployment", "k": "INTERVENTION_DEPLOYMENT"}))
        .await;
    let protocol = id(&data(&protocol)["createProtocol"]["id"]);
    let deployment =
        open(&app, w.carla, json!({"c": w.lotte, "t": "Re-integration", "k": "GENERAL", "p": protocol})).await;
    assert_eq!(deployment["kind"], "INTERVENTION_DEPLOYMENT");
    assert_eq!(deployment["protocol"], json!({"name": "Intervention deployment", "kind": "INTERVENTION_DEPLOYMENT"}));
    let tasks = list(&deployment["tasks"]);
    assert_eq!(tasks.len(), 1, "{deployment:#}");
    assert_eq!(tasks[0]["kind"], "CONFIRM_INTERVENTION");
    assert_eq!(tasks[0]["status"], "OPEN");
    let told = notifications_of(&app, w.carla, "TASK_CREATED").await;
    assert_eq!(told.len(), 1, "the primary coach is told about the task: {told:#?}");
    assert_eq!(told[0]["task"]["id"], tasks[0]["id"]);
    assert_eq!(told[0]["task"]["kind"], "CONFIRM_INTERVENTION");

    // A secretary opens one with a coach of her choosing, who then works with the client.
    assert_client_not_found(&app, w.koen, w.milan).await;
    let by_secretary = open(&app, w.secretary, json!({"c": w.milan, "t": "Debts", "coach": w.koen})).await;
    assert_eq!(by_secretary["primaryCoach"]["displayName"], "koen");
    let seen = app.as_user(w.koen, CLIENT_VIEW, json!({"c": w.milan})).await;
    assert_eq!(data(&seen)["client"]["displayName"], "Milan");
    assert_eq!(data(&seen)["client"]["viewerAccess"]["bases"], json!(["TRAJECTORY"]));
    let without_coach = open(&app, w.secretary, json!({"c": w.milan, "t": "Housing"})).await;
    assert!(without_coach["primaryCoach"].is_null(), "a secretary is nobody's coach: {without_coach:#}");

    // Those who see the client but may not open: FORBIDDEN; those who do not see her: NOT_FOUND.
    let variables = json!({"c": w.lotte, "t": "Mine"});
    for (who, code) in
        [(w.supervisor, "FORBIDDEN"), (w.lotte, "FORBIDDEN"), (w.mark, "NOT_FOUND"), (w.admin, "NOT_FOUND")]
    {
        assert_refused(&app.as_user(who, OPEN, variables.clone()).await, code, None);
    }
    let (other_org, _) = app.organization("Andere Zorg").await;
    let stranger = app.user(other_org, "sam@andere.example", &[Role::Counselor]).await;
    assert_refused(&app.as_user(stranger, OPEN, variables.clone()).await, "NOT_FOUND", None);
    let client_as_coach = app.as_user(w.carla, OPEN, json!({"c": w.lotte, "t": "Mine", "coach": w.milan})).await;
    assert_refused(&client_as_coach, "BAD_USER_INPUT", Some("input.primaryCoachId"));

    let listed = app.as_user(w.carla, CLIENT_TRAJECTORIES, json!({"c": w.lotte})).await;
    assert_eq!(
        sorted(&data(&listed)["client"]["trajectories"], "/title"),
        vec!["Back to work", "Re-integration"],
        "the refused openings wrote nothing"
    );
}

async fn members_are_active_professionals_of_the_organisation_added_once_and_told(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let trajectory = open_general(&app, w.carla, w.lotte, "Back to work").await;

    app.clock.advance(chrono::Duration::minutes(5));
    let added = add_member(&app, w.carla, trajectory, w.koen, "  second coach ").await;
    let members = list(&data(&added)["addTrajectoryMember"]["members"]);
    assert_eq!(members.len(), 1, "{added:#}");
    assert_eq!(members[0]["user"]["id"], w.koen.to_string());
    assert_eq!(members[0]["role"], "second coach");
    assert_eq!(time(&members[0]["addedAt"]), app.clock_now());
    let told = notifications_of(&app, w.koen, "TRAJECTORY_MEMBER_ADDED").await;
    assert_eq!(told.len(), 1, "{told:#?}");

    // Not a professional who may see client data, or not an active one of this organisation.
    let org = w.org;
    let guardian = app.user(org, "gijs@linde.example", &[Role::Guardian]).await;
    let relative = app.user(org, "ria@linde.example", &[Role::Relative]).await;
    let external = app.user(org, "eddy@linde.example", &[Role::External]).await;
    let leaver = app.user(org, "lars@linde.example", &[Role::Counselor]).await;
    let deactivate = "mutation($u: ID!) { setUserActive(userId: $u, active: false) { active } }";
    assert_eq!(data(&app.as_user(w.admin, deactivate, json!({"u": leaver})).await)["setUserActive"]["active"], false);
    let (other_org, _) = app.organization("Andere Zorg").await;
    let stranger = app.user(other_org, "sam@andere.example", &[Role::Counselor]).await;
    for (who, name) in [
        (w.milan, "a client"),
        (guardian, "a guardian"),
        (relative, "a relative"),
        (external, "an external"),
        (w.admin, "an administrator"),
        (leaver, "an inactive counselor"),
        (stranger, "another organisation's counselor"),
    ] {
        let refused = add_member(&app, w.carla, trajectory, who, "helper").await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{name}: {refused:#}");
        assert_eq!(error_field(&refused), Some("userId"), "{name}: {refused:#}");
    }
    for role in ["", "   "] {
        assert_refused(&add_member(&app, w.carla, trajectory, w.sofie, role).await, "BAD_USER_INPUT", Some("role"));
    }
    assert_refused(&add_member(&app, w.carla, trajectory, w.koen, "back office").await, "CONFLICT", None);
    assert_eq!(notifications_of(&app, w.koen, "TRAJECTORY_MEMBER_ADDED").await.len(), 1, "told once");

    // A member adds a colleague; someone who sees the trajectory but does not work in it may not;
    // someone who does not see the client does not find it.
    let by_member = add_member(&app, w.koen, trajectory, w.sofie, "back office").await;
    let names = sorted(&data(&by_member)["addTrajectoryMember"]["members"], "/user/displayName");
    assert_eq!(names, vec!["koen", "sofie"]);
    assert_eq!(notifications_of(&app, w.sofie, "TRAJECTORY_MEMBER_ADDED").await.len(), 1);
    for who in [w.supervisor, w.secretary] {
        assert_refused(&add_member(&app, who, trajectory, w.mark, "helper").await, "FORBIDDEN", None);
    }
    assert_refused(&add_member(&app, w.mark, trajectory, w.mark, "helper").await, "NOT_FOUND", None);
    assert!(notifications_of(&app, w.mark, "TRAJECTORY_MEMBER_ADDED").await.is_empty());
    for who in [guardian, relative, external, stranger] {
        assert!(notifications_of(&app, who, "TRAJECTORY_MEMBER_ADDED").await.is_empty());
    }

    let read = app.as_user(w.carla, TRAJECTORY, json!({"t": trajectory})).await;
    assert_eq!(
        data(&read)["trajectory"]["members"],
        json!([{"user": {"displayName": "koen"}, "role": "second coach"}, {"user": {"displayName": "sofie"}, "role": "back office"}]),
        "the refused additions wrote nothing"
    );

    // Removing a member ends their access.
    assert_eq!(dossier_titles(&app, w.sofie, w.lotte).await, Vec::<String>::new());
    let removed = app.as_user(w.carla, REMOVE_MEMBER, json!({"t": trajectory, "u": w.sofie})).await;
    assert_eq!(data(&removed)["removeTrajectoryMember"]["members"], json!([{"user": {"displayName": "koen"}}]));
    assert_client_not_found(&app, w.sofie, w.lotte).await;
    let gone = app.as_user(w.sofie, TRAJECTORY, json!({"t": trajectory})).await;
    assert_refused(&gone, "NOT_FOUND", None);
}

async fn those_who_work_in_a_trajectory_see_the_name_and_only_its_entries(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let work = open_general(&app, w.carla, w.lotte, "Back to work").await;
    let sleep = open_general(&app, w.carla, w.lotte, "Sleep").await;
    data(&add_entry(&app, w.carla, w.lotte, "Intake", None).await);
    data(&add_entry(&app, w.carla, w.lotte, "Work plan", Some(work)).await);
    data(&add_entry(&app, w.carla, w.lotte, "Sleep diary", Some(sleep)).await);
    data(&add_member(&app, w.carla, work, w.koen, "second coach").await);
    let team = app.as_user(w.admin, CREATE_TEAM, json!({"n": "Back office"})).await;
    let team = id(&data(&team)["createTeam"]["id"]);
    data(&app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": w.sofie, "r": "back office"})).await);
    // Before the team is assigned, Sofie has nothing to do with Lotte.
    assert_client_not_found(&app, w.sofie, w.lotte).await;
    let assigned = app.as_user(w.koen, ASSIGN_TEAM, json!({"t": work, "team": team})).await;
    assert_eq!(data(&assigned)["assignTeam"]["teams"], json!([{"id": team.to_string(), "name": "Back office"}]));

    for (who, name, basis) in [(w.koen, "koen", "TRAJECTORY"), (w.sofie, "sofie", "TEAM")] {
        let response = app.as_user(who, CLIENT_VIEW, json!({"c": w.lotte})).await;
        let client = &data(&response)["client"];
        assert_eq!(client["displayName"], "Lotte", "{name}");
        assert_eq!(client["viewerAccess"]["bases"], json!([basis]), "{name}");
        assert_eq!(
            client["dossier"]["nodes"],
            json!([{"title": "Work plan"}]),
            "{name}: only the entries of their trajectory"
        );
        let contact = app.as_user(who, CLIENT_CONTACT, json!({"c": w.lotte})).await;
        assert_eq!(contact["data"]["client"]["displayName"], "Lotte", "{name}: {contact:#}");
        assert!(contact["data"]["client"]["contact"].is_null(), "{name}: {contact:#}");
        assert_eq!(paths_with(&contact, "FORBIDDEN"), vec!["client.contact"], "{name}: {contact:#}");

        let read = app.as_user(who, TRAJECTORY, json!({"t": work})).await;
        let read = &data(&read)["trajectory"];
        assert_eq!(read["title"], "Back to work", "{name}");
        assert_eq!(read["primaryCoach"]["displayName"], "carla", "{name}");
        assert_refused(&app.as_user(who, TRAJECTORY, json!({"t": sleep})).await, "NOT_FOUND", None);
        let listed = app.as_user(who, CLIENT_TRAJECTORIES, json!({"c": w.lotte})).await;
        assert_eq!(
            data(&listed)["client"]["trajectories"],
            json!([{"id": work.to_string(), "title": "Back to work"}]),
            "{name}: only their own trajectory"
        );
    }
    // They write in their trajectory only.
    for (who, name) in [(w.koen, "koen"), (w.sofie, "sofie")] {
        let title = format!("Note by {name}");
        let written = add_entry(&app, who, w.lotte, &title, Some(work)).await;
        assert_eq!(data(&written)["addDossierEntry"]["trajectory"]["id"], work.to_string());
        assert_refused(&add_entry(&app, who, w.lotte, "Elsewhere", Some(sleep)).await, "FORBIDDEN", None);
        assert_refused(&add_entry(&app, who, w.lotte, "Loose", None).await, "FORBIDDEN", None);
    }
    assert_eq!(
        dossier_titles(&app, w.carla, w.lotte).await,
        vec!["Intake", "Work plan", "Sleep diary", "Note by koen", "Note by sofie"],
        "the refused entries were not written"
    );
    assert_eq!(dossier_titles(&app, w.koen, w.lotte).await, vec!["Work plan", "Note by koen", "Note by sofie"]);

    // The client sees her coach and the members as counselors, never the team.
    let own = app
        .as_user(
            w.lotte,
            "query($c: ID!) { client(id: $c) { counselors { displayName }
                trajectories { title members { user { displayName } } primaryCoach { displayName } teams { name } } } }",
            json!({"c": w.lotte}),
        )
        .await;
    let client = &own["data"]["client"];
    assert_eq!(sorted(&client["counselors"], "/displayName"), vec!["carla", "koen"], "{own:#}");
    let trajectories = list(&client["trajectories"]);
    assert_eq!(trajectories.len(), 2, "{own:#}");
    let index = trajectories.iter().position(|t| t["title"] == "Back to work").expect("the work trajectory");
    assert_eq!(trajectories[index]["members"], json!([{"user": {"displayName": "koen"}}]));
    assert_eq!(trajectories[index]["primaryCoach"]["displayName"], "carla");
    assert!(trajectories.iter().all(|t| t["teams"].is_null()), "{own:#}");
    let mut forbidden = paths_with(&own, "FORBIDDEN");
    forbidden.sort();
    assert_eq!(forbidden, vec!["client.trajectories.0.teams", "client.trajectories.1.teams"], "{own:#}");
    assert!(!own.to_string().contains("sofie"), "the team member is never shown to the client: {own:#}");
    assert!(!own.to_string().contains("Back office"), "{own:#}");
    // Her counselor sees the team.
    let coach =
        app.as_user(w.carla, "query($t: ID!) { trajectory(id: $t) { teams { name } } }", json!({"t": work})).await;
    assert_eq!(data(&coach)["trajectory"]["teams"], json!([{"name": "Back office"}]));

    // Their reads are in her access log, each with its basis.
    let log = log_of(&app, w.lotte).await;
    for (name, basis) in [("koen", "TRAJECTORY"), ("sofie", "TEAM")] {
        assert!(
            log.iter().any(|e| e["actor"]["displayName"] == name
                && covers(e, "DossierEntry")
                && e["action"] == "READ"
                && e["outcome"] == "SUCCESS"
                && e["basis"] == basis),
            "{name}'s read is logged on {basis}: {log:#?}"
        );
    }
}

async fn closing_a_trajectory_ends_the_access_of_its_members_and_team(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let work = open_general(&app, w.carla, w.lotte, "Back to work").await;
    data(&add_member(&app, w.carla, work, w.koen, "second coach").await);
    let team = app.as_user(w.admin, CREATE_TEAM, json!({"n": "Back office"})).await;
    let team = id(&data(&team)["createTeam"]["id"]);
    data(&app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": w.sofie, "r": "back office"})).await);
    data(&app.as_user(w.carla, ASSIGN_TEAM, json!({"t": work, "team": team})).await);
    let counselors = "query($c: ID!) { client(id: $c) { counselors { displayName } } }";
    let before = app.as_user(w.lotte, counselors, json!({"c": w.lotte})).await;
    assert_eq!(sorted(&data(&before)["client"]["counselors"], "/displayName"), vec!["carla", "koen"]);

    // A team member works in it but neither staffs nor closes it.
    assert_refused(&app.as_user(w.sofie, CLOSE, json!({"t": work})).await, "FORBIDDEN", None);
    assert_refused(&add_member(&app, w.sofie, work, w.mark, "helper").await, "FORBIDDEN", None);
    assert_refused(&app.as_user(w.mark, CLOSE, json!({"t": work})).await, "NOT_FOUND", None);

    // A member closes it.
    app.clock.advance(chrono::Duration::days(30));
    let closed = app.as_user(w.koen, CLOSE, json!({"t": work})).await;
    let closed = &data(&closed)["closeTrajectory"];
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(time(&closed["closedAt"]), app.clock_now());
    for who in [w.koen, w.sofie] {
        assert_client_not_found(&app, who, w.lotte).await;
        assert_refused(&app.as_user(who, TRAJECTORY, json!({"t": work})).await, "NOT_FOUND", None);
        assert_refused(&add_entry(&app, who, w.lotte, "Too late", Some(work)).await, "NOT_FOUND", None);
    }
    let after = app.as_user(w.lotte, counselors, json!({"c": w.lotte})).await;
    assert_eq!(data(&after)["client"]["counselors"], json!([{"displayName": "carla"}]));
    // The client's counselor still sees it, closed; closing twice is a conflict.
    let read = app.as_user(w.carla, TRAJECTORY, json!({"t": work})).await;
    assert_eq!(data(&read)["trajectory"]["status"], "CLOSED");
    assert_refused(&app.as_user(w.carla, CLOSE, json!({"t": work})).await, "CONFLICT", None);
    assert_eq!(dossier_titles(&app, w.carla, w.lotte).await, Vec::<String>::new(), "nothing was written");
}

async fn executors_are_seen_by_the_office_and_themselves_and_must_accept_delegations(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let erik = professional(&app, w.admin, "erik@linde.example", "Erik", true).await;
    let nina = professional(&app, w.admin, "nina@linde.example", "Nina", false).await;
    let provider = app.as_user(w.admin, CREATE_PROVIDER, json!({"n": "Herstel BV"})).await;
    let provider = id(&data(&provider)["createProvider"]["id"]);
    let program = app.as_user(w.admin, CREATE_PROGRAM, json!({"p": provider, "n": "Re-integration"})).await;
    let program = id(&data(&program)["createProgram"]["id"]);

    // Only an active user who accepts delegations can be named.
    let refused = app.as_user(w.admin, SET_PROVIDER_EXECUTOR, json!({"p": provider, "u": nina})).await;
    assert_refused(&refused, "BAD_USER_INPUT", Some("userId"));
    let refused = app.as_user(w.admin, SET_PROGRAM_EXECUTOR, json!({"p": program, "m": "OWN", "u": nina})).await;
    assert_refused(&refused, "BAD_USER_INPUT", Some("userId"));
    let leaver = professional(&app, w.admin, "lars@linde.example", "Lars", true).await;
    let deactivate = "mutation($u: ID!) { setUserActive(userId: $u, active: false) { active } }";
    data(&app.as_user(w.admin, deactivate, json!({"u": leaver})).await);
    let refused = app.as_user(w.admin, SET_PROVIDER_EXECUTOR, json!({"p": provider, "u": leaver})).await;
    assert_refused(&refused, "BAD_USER_INPUT", Some("userId"));
    let unchanged = app.as_user(w.admin, PROVIDER, json!({"p": provider})).await;
    assert_eq!(data(&unchanged)["provider"]["hasDefaultExecutor"], false, "the refusals wrote nothing");
    // Only the administrator names executors.
    let refused = app.as_user(w.carla, SET_PROVIDER_EXECUTOR, json!({"p": provider, "u": erik})).await;
    assert_refused(&refused, "FORBIDDEN", None);

    let set = app.as_user(w.admin, SET_PROVIDER_EXECUTOR, json!({"p": provider, "u": erik})).await;
    assert_eq!(data(&set)["setProviderDefaultExecutor"]["hasDefaultExecutor"], true);
    let accepts =
        "mutation($u: ID!, $a: Boolean!) { setAcceptsDelegations(userId: $u, accepts: $a) { acceptsDelegations } }";
    let now_accepts = app.as_user(w.admin, accepts, json!({"u": nina, "a": true})).await;
    assert_eq!(data(&now_accepts)["setAcceptsDelegations"]["acceptsDelegations"], true);
    let own = app.as_user(w.admin, SET_PROGRAM_EXECUTOR, json!({"p": program, "m": "OWN", "u": nina})).await;
    assert_eq!(
        data(&own)["setProgramExecutor"],
        json!({"id": program.to_string(), "executorMode": "OWN", "hasEffectiveExecutor": true})
    );

    // The administrator, the secretary and the executor see who it is.
    for (who, name) in [(w.admin, "administrator"), (w.secretary, "secretary"), (erik, "Erik")] {
        let read = app.as_user(who, PROVIDER, json!({"p": provider})).await;
        assert_eq!(
            data(&read)["provider"],
            json!({"name": "Herstel BV", "defaultExecutor": {"displayName": "Erik"}, "hasDefaultExecutor": true}),
            "{name}"
        );
    }
    for (who, name) in [(w.admin, "administrator"), (w.secretary, "secretary"), (nina, "Nina")] {
        let read = app.as_user(who, PROGRAM, json!({"p": program})).await;
        let program = &data(&read)["program"];
        assert_eq!(program["executorMode"], "OWN", "{name}");
        assert_eq!(program["effectiveExecutor"]["displayName"], "Nina", "{name}");
        assert_eq!(program["defaultExecutor"]["displayName"], "Nina", "{name}");
        assert_eq!(program["hasEffectiveExecutor"], true, "{name}");
    }

    // A counselor learns that there is one, not who.
    let read = app.as_user(w.carla, PROVIDER, json!({"p": provider})).await;
    assert_eq!(read["data"]["provider"]["name"], "Herstel BV", "{read:#}");
    assert!(read["data"]["provider"]["defaultExecutor"].is_null(), "{read:#}");
    assert_eq!(read["data"]["provider"]["hasDefaultExecutor"], true);
    assert_eq!(paths_with(&read, "FORBIDDEN"), vec!["provider.defaultExecutor"], "{read:#}");
    assert_eq!(read["errors"][0]["message"], "not authorized to view the default executor");
    let read = app.as_user(w.carla, PROGRAM, json!({"p": program})).await;
    let seen = &read["data"]["program"];
    assert!(seen["effectiveExecutor"].is_null() && seen["defaultExecutor"].is_null(), "{read:#}");
    assert_eq!(seen["hasEffectiveExecutor"], true, "{read:#}");
    let mut forbidden = paths_with(&read, "FORBIDDEN");
    forbidden.sort();
    assert_eq!(forbidden, vec!["program.defaultExecutor", "program.effectiveExecutor"], "{read:#}");
    for error in list(&read["errors"]) {
        assert_eq!(error["message"], "not authorized to view the default executor", "{read:#}");
    }
    assert!(!read.to_string().contains("Nina") && !read.to_string().contains(&nina.to_string()), "{read:#}");
    // Erik, the provider's executor, is not the program's: he does not see Nina.
    let read = app.as_user(erik, PROGRAM, json!({"p": program})).await;
    assert!(read["data"]["program"]["effectiveExecutor"].is_null(), "{read:#}");
    assert_eq!(read["errors"][0]["message"], "not authorized to view the default executor");

    // Back to inheriting: the provider's executor counts again.
    let inherit = app.as_user(w.admin, SET_PROGRAM_EXECUTOR, json!({"p": program, "m": "INHERIT", "u": null})).await;
    assert_eq!(data(&inherit)["setProgramExecutor"]["executorMode"], "INHERIT");
    let read = app.as_user(w.secretary, PROGRAM, json!({"p": program})).await;
    assert_eq!(data(&read)["program"]["effectiveExecutor"]["displayName"], "Erik");
    // Clearing the provider's executor leaves the program without one.
    data(&app.as_user(w.admin, SET_PROVIDER_EXECUTOR, json!({"p": provider, "u": null})).await);
    let read = app.as_user(w.carla, PROGRAM, json!({"p": program})).await;
    assert_eq!(read["data"]["program"]["hasEffectiveExecutor"], false, "{read:#}");
}

async fn confirming_an_intervention_delegates_the_dossier_to_the_executor_at_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let p = provision(&app, &w).await;
    data(&add_entry(&app, w.carla, w.lotte, "Intake", None).await);
    let (deployment, task) = open_deployment(&app, w.carla, w.lotte).await;
    let mut socket = delegation_events(&app, p.eva).await;
    assert_client_not_found(&app, p.eva, w.lotte).await;

    // Someone without rights on the trajectory may not confirm it.
    assert_refused(&app.as_user(w.mark, CONFIRM, json!({"t": task, "p": p.program})).await, "NOT_FOUND", None);
    assert_refused(&app.as_user(p.eva, CONFIRM, json!({"t": task, "p": p.program})).await, "NOT_FOUND", None);

    app.clock.advance(chrono::Duration::hours(2));
    let started = app.as_user(w.carla, CONFIRM, json!({"t": task, "p": p.program})).await;
    let started = &data(&started)["confirmIntervention"];
    let guidance = &started["guidanceTrajectory"];
    assert_eq!(guidance["kind"], "INTERVENTION_GUIDANCE");
    assert_eq!(guidance["status"], "OPEN");
    assert_eq!(guidance["primaryCoach"]["id"], p.eva.to_string(), "the executor coaches the guidance");
    assert_eq!(guidance["parent"]["id"], deployment.to_string());
    assert_eq!(guidance["program"]["id"], p.program.to_string());
    assert_eq!(guidance["tasks"], json!([]), "nothing left to delegate by hand");
    let delegation = &started["delegation"];
    assert_eq!(delegation["status"], "ACTIVE");
    assert_eq!(delegation["delegate"]["id"], p.eva.to_string());
    assert!(delegation["endsAt"].is_null());
    assert!(started["delegationTask"].is_null());
    let delegation_id = id(&delegation["id"]);
    let guidance_id = id(&guidance["id"]);
    let tasks = app.as_user(w.carla, TASKS, json!({"t": deployment})).await;
    assert_eq!(
        data(&tasks)["trajectory"]["tasks"],
        json!([{"id": task.to_string(), "kind": "CONFIRM_INTERVENTION", "status": "DONE"}])
    );

    // The executor is told, live and as a notification, and reads the whole dossier.
    let event = next_delegation_event(&mut socket).await;
    assert_eq!(event["kind"], "GRANTED");
    assert_eq!(event["delegation"], json!({"id": delegation_id.to_string(), "status": "ACTIVE"}));
    assert_eq!(time(&event["at"]), app.clock_now());
    let granted = notifications_of(&app, p.eva, "DELEGATION_GRANTED").await;
    assert_eq!(granted.len(), 1, "{granted:#?}");
    assert_eq!(granted[0]["delegation"]["id"], delegation_id.to_string());
    assert_eq!(
        my_delegations(&app, p.eva, Some("ACTIVE")).await,
        vec![json!({"id": delegation_id.to_string(), "status": "ACTIVE"})]
    );
    let read = app
        .as_user(p.eva, "query($c: ID!) { client(id: $c) { displayName dossier { nodes { title } } contact { phone } viewerAccess { bases } } }", json!({"c": w.lotte}))
        .await;
    let client = &data(&read)["client"];
    assert_eq!(client["displayName"], "Lotte");
    assert_eq!(client["dossier"]["nodes"], json!([{"title": "Intake"}]), "the whole dossier");
    assert_eq!(client["contact"]["phone"], "+31 6 1111 2222");
    assert!(list(&client["viewerAccess"]["bases"]).contains(&json!("DELEGATION")), "{read:#}");
    let log = log_of(&app, w.lotte).await;
    let by_eva: Vec<&Value> = log.iter().filter(|e| e["actor"]["displayName"] == "Eva").collect();
    assert!(
        by_eva.iter().any(|e| covers(e, "DossierEntry")
            && e["action"] == "READ"
            && e["outcome"] == "SUCCESS"
            && e["basis"] == "DELEGATION"),
        "the executor's read is logged on DELEGATION: {by_eva:#?}"
    );

    // The task is done: confirming again is a conflict and starts nothing.
    assert_refused(&app.as_user(w.carla, CONFIRM, json!({"t": task, "p": p.program})).await, "CONFLICT", None);
    let listed = app.as_user(w.carla, CLIENT_TRAJECTORIES, json!({"c": w.lotte})).await;
    assert_eq!(list(&data(&listed)["client"]["trajectories"]).len(), 2, "{listed:#}");
    assert_eq!(my_delegations(&app, p.eva, None).await.len(), 1);
    assert_silent(&mut socket, Duration::from_millis(300)).await;

    // Closing the guidance trajectory ends the delegation and the executor's access.
    app.clock.advance(chrono::Duration::days(60));
    data(&app.as_user(w.carla, CLOSE, json!({"t": guidance_id})).await);
    let event = next_delegation_event(&mut socket).await;
    assert_eq!(event["kind"], "ENDED");
    assert_eq!(event["delegation"], json!({"id": delegation_id.to_string(), "status": "ENDED"}));
    assert_eq!(time(&event["at"]), app.clock_now());
    assert_eq!(notifications_of(&app, p.eva, "DELEGATION_ENDED").await.len(), 1);
    assert_eq!(
        my_delegations(&app, p.eva, None).await,
        vec![json!({"id": delegation_id.to_string(), "status": "ENDED"})]
    );
    assert_client_not_found(&app, p.eva, w.lotte).await;
    let trajectory_delegations = app
        .as_user(
            w.carla,
            "query($t: ID!) { trajectory(id: $t) { status delegations { status endedAt } } }",
            json!({"t": guidance_id}),
        )
        .await;
    let closed = &data(&trajectory_delegations)["trajectory"];
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["delegations"][0]["status"], "ENDED");
    assert_eq!(time(&closed["delegations"][0]["endedAt"]), app.clock_now());
    assert_silent(&mut socket, Duration::from_millis(300)).await;
}

async fn without_an_executor_the_dossier_is_delegated_by_hand(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let p = provision(&app, &w).await;
    let none = app.as_user(w.admin, SET_PROGRAM_EXECUTOR, json!({"p": p.program, "m": "OWN", "u": null})).await;
    assert_eq!(data(&none)["setProgramExecutor"]["hasEffectiveExecutor"], false);
    let nina = professional(&app, w.admin, "nina@linde.example", "Nina", false).await;
    let (_, task) = open_deployment(&app, w.carla, w.lotte).await;

    let started = app.as_user(w.carla, CONFIRM, json!({"t": task, "p": p.program})).await;
    let started = &data(&started)["confirmIntervention"];
    assert_eq!(started["guidanceTrajectory"]["kind"], "INTERVENTION_GUIDANCE");
    assert!(started["delegation"].is_null(), "{started:#}");
    let delegation_task = &started["delegationTask"];
    assert_eq!(delegation_task["kind"], "DELEGATE_DOSSIER");
    assert_eq!(delegation_task["status"], "OPEN");
    let delegation_task = id(&delegation_task["id"]);
    let guidance = id(&started["guidanceTrajectory"]["id"]);
    let tasks = app.as_user(w.carla, TASKS, json!({"t": guidance})).await;
    assert_eq!(
        data(&tasks)["trajectory"]["tasks"],
        json!([{"id": delegation_task.to_string(), "kind": "DELEGATE_DOSSIER", "status": "OPEN"}]),
        "the task is in the guidance trajectory"
    );
    assert!(my_delegations(&app, p.eva, None).await.is_empty());
    assert_client_not_found(&app, p.eva, w.lotte).await;

    // A user who does not accept delegations, or an end in the past, is refused.
    let refused = app.as_user(w.carla, DELEGATE, json!({"t": delegation_task, "u": nina})).await;
    assert_refused(&refused, "BAD_USER_INPUT", Some("userId"));
    let past = app.clock_now() - chrono::Duration::hours(1);
    let refused = app.as_user(w.carla, DELEGATE, json!({"t": delegation_task, "u": p.eva, "e": past})).await;
    assert_refused(&refused, "BAD_USER_INPUT", Some("endsAt"));
    assert_refused(&app.as_user(w.mark, DELEGATE, json!({"t": delegation_task, "u": p.eva})).await, "NOT_FOUND", None);
    assert!(my_delegations(&app, p.eva, None).await.is_empty(), "the refusals wrote nothing");
    assert!(notifications_of(&app, p.eva, "DELEGATION_GRANTED").await.is_empty());

    let mut socket = delegation_events(&app, p.eva).await;
    let ends = app.clock_now() + chrono::Duration::days(90);
    let delegated = app.as_user(w.carla, DELEGATE, json!({"t": delegation_task, "u": p.eva, "e": ends})).await;
    let delegated = &data(&delegated)["delegateDossier"];
    assert_eq!(delegated["status"], "ACTIVE");
    assert_eq!(delegated["delegate"]["id"], p.eva.to_string());
    assert_eq!(time(&delegated["endsAt"]), ends);
    let delegation = id(&delegated["id"]);
    let event = next_delegation_event(&mut socket).await;
    assert_eq!(event["kind"], "GRANTED");
    assert_eq!(event["delegation"]["id"], delegation.to_string());
    assert_eq!(notifications_of(&app, p.eva, "DELEGATION_GRANTED").await.len(), 1);
    let tasks = app.as_user(w.carla, TASKS, json!({"t": guidance})).await;
    assert_eq!(data(&tasks)["trajectory"]["tasks"][0]["status"], "DONE");
    let contact = app.as_user(p.eva, CLIENT_CONTACT, json!({"c": w.lotte})).await;
    assert_eq!(data(&contact)["client"]["contact"]["phone"], "+31 6 1111 2222");

    // Done once: delegating again is a conflict.
    let again = app.as_user(w.carla, DELEGATE, json!({"t": delegation_task, "u": p.eva})).await;
    assert_refused(&again, "CONFLICT", None);
    assert_eq!(my_delegations(&app, p.eva, None).await.len(), 1);
}

async fn a_delegation_warns_once_then_expires_once_and_ends_the_delegates_access(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.expiry_warning = Duration::from_secs(24 * 3600)).await;
    let w = world(&app).await;
    let p = provision(&app, &w).await;
    data(&app.as_user(w.admin, SET_PROGRAM_EXECUTOR, json!({"p": p.program, "m": "OWN", "u": null})).await);
    data(&add_entry(&app, w.carla, w.lotte, "Intake", None).await);
    let (_, task) = open_deployment(&app, w.carla, w.lotte).await;
    let started = app.as_user(w.carla, CONFIRM, json!({"t": task, "p": p.program})).await;
    let delegation_task = id(&data(&started)["confirmIntervention"]["delegationTask"]["id"]);
    let mut socket = delegation_events(&app, p.eva).await;
    let ends = app.clock_now() + chrono::Duration::days(3);
    let delegated = app.as_user(w.carla, DELEGATE, json!({"t": delegation_task, "u": p.eva, "e": ends})).await;
    let delegation = data(&delegated)["delegateDossier"]["id"].clone();
    assert_eq!(next_delegation_event(&mut socket).await["kind"], "GRANTED");

    let scheduler = &app.app.scheduler;
    let count = |kind: &'static str| {
        let app = &app;
        async move { notifications_of(app, p.eva, kind).await.len() }
    };
    scheduler.run_due().await.expect("run");
    app.clock.set(ends - chrono::Duration::days(1) - chrono::Duration::minutes(1));
    scheduler.run_due().await.expect("run");
    assert_eq!(count("DELEGATION_EXPIRING").await, 0, "a minute before the warning window");
    assert_silent(&mut socket, Duration::from_millis(200)).await;

    app.clock.advance(chrono::Duration::minutes(1));
    scheduler.run_due().await.expect("run");
    scheduler.run_due().await.expect("run again");
    assert_eq!(count("DELEGATION_EXPIRING").await, 1, "warned exactly once");
    let event = next_delegation_event(&mut socket).await;
    assert_eq!(event["kind"], "EXPIRING");
    assert_eq!(event["delegation"], json!({"id": delegation, "status": "ACTIVE"}));
    assert_silent(&mut socket, Duration::from_millis(200)).await;
    assert_eq!(dossier_titles(&app, p.eva, w.lotte).await, vec!["Intake"], "still delegated");

    app.clock.set(ends - chrono::Duration::seconds(1));
    scheduler.run_due().await.expect("run");
    assert_eq!(count("DELEGATION_ENDED").await, 0, "a second before the end");
    assert_eq!(my_delegations(&app, p.eva, Some("ACTIVE")).await.len(), 1);
    let contact = app.as_user(p.eva, CLIENT_CONTACT, json!({"c": w.lotte})).await;
    assert_eq!(data(&contact)["client"]["contact"]["phone"], "+31 6 1111 2222");

    app.clock.advance(chrono::Duration::seconds(1));
    scheduler.run_due().await.expect("run");
    scheduler.run_due().await.expect("run again");
    let event = next_delegation_event(&mut socket).await;
    assert_eq!(event["kind"], "EXPIRED");
    assert_eq!(event["delegation"], json!({"id": delegation, "status": "EXPIRED"}));
    assert_silent(&mut socket, Duration::from_millis(200)).await;
    app.clock.advance(chrono::Duration::days(2));
    scheduler.run_due().await.expect("run later");
    assert_eq!(count("DELEGATION_EXPIRING").await, 1);
    assert_eq!(count("DELEGATION_ENDED").await, 1, "ended exactly once");
    assert_silent(&mut socket, Duration::from_millis(200)).await;
    assert_eq!(my_delegations(&app, p.eva, None).await, vec![json!({"id": delegation, "status": "EXPIRED"})]);
    assert!(my_delegations(&app, p.eva, Some("ACTIVE")).await.is_empty());
    assert_no_delegated_access(&app, p.eva, w.lotte).await;
    // An expired delegation is not revoked.
    assert_refused(&app.as_user(w.carla, REVOKE, json!({"d": delegation})).await, "CONFLICT", None);
    // Once the delegation has expired, the client no longer exists for the delegate.
    assert_client_not_found(&app, p.eva, w.lotte).await;
}

async fn the_administrator_or_a_caseload_counselor_revokes_a_delegation_at_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let p = provision(&app, &w).await;
    let mut delegations = Vec::new();
    for client in [w.lotte, w.milan] {
        data(&add_entry(&app, w.carla, client, "Intake", None).await);
        let (_, task) = open_deployment(&app, w.carla, client).await;
        let started = app.as_user(w.carla, CONFIRM, json!({"t": task, "p": p.program})).await;
        delegations.push(id(&data(&started)["confirmIntervention"]["delegation"]["id"]));
    }
    let (lotte_delegation, milan_delegation) = (delegations[0], delegations[1]);
    let mut socket = delegation_events(&app, p.eva).await;

    // Neither a counselor without the client in caseload nor a stranger revokes.
    let refused = app.as_user(w.mark, REVOKE, json!({"d": lotte_delegation})).await;
    assert_refused(&refused, "FORBIDDEN", None);
    let refused = app.as_user(p.herstel_admin, REVOKE, json!({"d": lotte_delegation})).await;
    assert_refused(&refused, "NOT_FOUND", None);
    assert_eq!(my_delegations(&app, p.eva, Some("ACTIVE")).await.len(), 2, "the refusals changed nothing");
    assert_eq!(dossier_titles(&app, p.eva, w.lotte).await, vec!["Intake"]);
    assert!(notifications_of(&app, p.eva, "DELEGATION_ENDED").await.is_empty());
    assert_silent(&mut socket, Duration::from_millis(200)).await;

    // The administrator revokes one, the caseload counselor the other.
    for (who, delegation, client) in [(w.admin, lotte_delegation, w.lotte), (w.carla, milan_delegation, w.milan)] {
        app.clock.advance(chrono::Duration::hours(1));
        let revoked = app.as_user(who, REVOKE, json!({"d": delegation})).await;
        let revoked = &data(&revoked)["revokeDelegation"];
        assert_eq!(revoked["status"], "REVOKED");
        assert_eq!(time(&revoked["endedAt"]), app.clock_now());
        let event = next_delegation_event(&mut socket).await;
        assert_eq!(event["kind"], "REVOKED");
        assert_eq!(event["delegation"], json!({"id": delegation.to_string(), "status": "REVOKED"}));
        assert_no_delegated_access(&app, p.eva, client).await;
        // Coaching the guidance trajectory came with the delegation and ends with it.
        assert_client_not_found(&app, p.eva, client).await;
        assert_refused(&app.as_user(who, REVOKE, json!({"d": delegation})).await, "CONFLICT", None);
    }
    let ended = notifications_of(&app, p.eva, "DELEGATION_ENDED").await;
    let mut told: Vec<String> =
        ended.iter().map(|n| n["delegation"]["id"].as_str().expect("linked").to_owned()).collect();
    told.sort();
    let mut expected = vec![lotte_delegation.to_string(), milan_delegation.to_string()];
    expected.sort();
    assert_eq!(told, expected, "told once per revoked delegation");
    let mut statuses = sorted(&json!(my_delegations(&app, p.eva, None).await), "/status");
    statuses.dedup();
    assert_eq!(statuses, vec!["REVOKED"]);
    assert_silent(&mut socket, Duration::from_millis(300)).await;
}

on_every_database!(
    only_the_administrator_defines_protocols_teams_providers_and_programs,
    a_caseload_counselor_or_a_secretary_opens_a_trajectory_and_no_one_else,
    members_are_active_professionals_of_the_organisation_added_once_and_told,
    those_who_work_in_a_trajectory_see_the_name_and_only_its_entries,
    closing_a_trajectory_ends_the_access_of_its_members_and_team,
    executors_are_seen_by_the_office_and_themselves_and_must_accept_delegations,
    confirming_an_intervention_delegates_the_dossier_to_the_executor_at_once,
    without_an_executor_the_dossier_is_delegated_by_hand,
    a_delegation_warns_once_then_expires_once_and_ends_the_delegates_access,
    the_administrator_or_a_caseload_counselor_revokes_a_delegation_at_once,
);
