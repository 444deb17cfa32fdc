//! Links of work that outlive their role: a trajectory membership, a team membership, coaching a
//! trajectory, a delegation, a consent to a workflow professional and an emergency access open
//! something only while their holder still has the role the link was made for. Each test shows
//! what the link opens, has the administrator take the role away (`setRoles`), and checks that
//! every read and write the link opened is now closed — as if the client did not exist.

use inzage_testkit::on_every_database;
use std::time::Duration;

use inzage_entity::{OrganizationKind, Role, consent_request, emergency_access, team_member, trajectory_member};
use inzage_testkit::live::{self, Socket, connect};
use inzage_testkit::{Backend, TestApp, data, error_code};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

const SET_ROLES: &str =
    "mutation($u: ID!, $r: [Role!]!) { setRoles(userId: $u, roles: $r) { id roles acceptsDelegations } }";
const OPEN: &str = "mutation($c: ID!, $t: String!, $k: TrajectoryKind, $coach: ID) {
    openTrajectory(input: {clientId: $c, title: $t, kind: $k, primaryCoachId: $coach}) {
        id primaryCoach { id } tasks { id kind } } }";
const ADD_MEMBER: &str = "mutation($t: ID!, $u: ID!, $r: String!) {
    addTrajectoryMember(trajectoryId: $t, userId: $u, role: $r) { id members { user { displayName } } } }";
const CREATE_TEAM: &str = "mutation($n: String!) { createTeam(input: {name: $n}) { id } }";
const ADD_TEAM_MEMBER: &str = "mutation($t: ID!, $u: ID!, $r: String!) {
    addTeamMember(teamId: $t, userId: $u, role: $r) { id members { user { displayName } } } }";
const ASSIGN_TEAM: &str = "mutation($t: ID!, $team: ID!) { assignTeam(trajectoryId: $t, teamId: $team) { id } }";
const TEAM_MEMBERS: &str = "query($t: ID!) { team(id: $t) { members { user { displayName } role } } }";
const TRAJECTORY: &str = "query($t: ID!) { trajectory(id: $t) { id title members { user { displayName } } } }";
const ADD_ENTRY: &str = "mutation($c: ID!, $t: String!, $tr: ID) {
    addDossierEntry(clientId: $c, input: {kind: NOTE, title: $t, body: \"Talked about work.\", trajectoryId: $tr}) {
        id trajectory { id } } }";
const CLIENT: &str = "query($c: ID!) { client(id: $c) {
    displayName dossier { nodes { title body } } viewerAccess { bases } } }";
const CLIENT_TRAJECTORIES: &str = "query($c: ID!) { client(id: $c) { trajectories { title } } }";
const COUNSELORS: &str = "query($c: ID!) { client(id: $c) { counselors { displayName } } }";
const MY_WORK: &str = "{ viewer { trajectories { id } tasks { id } delegations { id } } clients { nodes { id } } }";
const NOTIFICATIONS: &str = "{ viewer { notifications(first: 100) { nodes { kind task { id } } } } }";

const CREATE_PROFESSIONAL: &str = "mutation($e: String!, $n: String!) {
    createUser(input: {email: $e, displayName: $n, roles: [COUNSELOR], acceptsDelegations: true}) { id } }";
const CREATE_PROVIDER: &str = "mutation($n: String!) { createProvider(input: {name: $n}) { id } }";
const CREATE_PROGRAM: &str =
    "mutation($p: ID!, $n: String!) { createProgram(input: {providerId: $p, name: $n}) { id } }";
const SET_PROVIDER_EXECUTOR: &str =
    "mutation($p: ID!, $u: ID) { setProviderDefaultExecutor(providerId: $p, userId: $u) { id } }";
const CONFIRM: &str = "mutation($t: ID!, $p: ID!) { confirmIntervention(taskId: $t, programId: $p) {
    guidanceTrajectory { id primaryCoach { id } } delegation { id status } delegationTask { id kind } } }";
const REVOKE: &str = "mutation($d: ID!) { revokeDelegation(delegationId: $d) { id status } }";
const MY_DELEGATIONS: &str = "query($s: DelegationStatus) { viewer { delegations(status: $s) { id status } } }";
const DELEGATION_EVENTS: &str =
    "subscription { delegationEvents { kind delegation { id status client { displayName } } } }";
const NOTIFIED_DELEGATIONS: &str =
    "{ viewer { notifications(first: 100) { nodes { kind delegation { id status client { displayName } } } } } }";
const ACCEPTS: &str = "query($u: ID!) { user(id: $u) { acceptsDelegations } }";
const SET_ACCEPTS: &str =
    "mutation($u: ID!, $a: Boolean!) { setAcceptsDelegations(userId: $u, accepts: $a) { acceptsDelegations } }";

const CREATE_PROJECT: &str = "mutation($n: String!) { createProject(input: {name: $n}) { id } }";
const CREATE_WORKFLOW: &str = "mutation($p: ID!, $n: String!) {
    createWorkflow(input: {projectId: $p, name: $n, allowAppendProfessionals: false}) { id } }";
const ADD_PROFESSIONALS: &str = "mutation($w: ID!, $p: [ID!]!) {
    addWorkflowProfessionals(input: {workflowId: $w, professionalIds: $p, accessDays: 30, reason: \"Follow-up\"}) {
        id } }";
const START: &str = "mutation($w: ID!) { startWorkflow(workflowId: $w) {
    id consentRequests { id kind status professional { displayName } } } }";
const RESPOND: &str = "mutation($r: ID!) { respondToConsentRequest(requestId: $r, accept: true) { id status } }";
const ADD_RESULT: &str = "mutation($c: ID!, $w: ID!, $t: String!) {
    addDossierEntry(clientId: $c, input: {kind: RESULT, title: $t, body: \"Measured at home\", workflowId: $w}) {
        id } }";
const WORKFLOW: &str = "query($w: ID!) { workflow(id: $w) {
    name professionals { professional { displayName } }
    participations { participant { displayName } results { title } } } }";
const PROFESSIONALS: &str = "query($w: ID!) { workflow(id: $w) { professionals { professional { displayName } } } }";
const CONSENT_REQUESTS: &str = "query($s: ConsentStatus) { viewer { consentRequests(status: $s) {
    id status client { displayName } professional { displayName } } } }";

const BREAK_GLASS: &str = "mutation($c: ID!, $r: String!) { breakGlass(clientId: $c, reason: $r) { id } }";
const REASON: &str = "Unconscious at the front desk; need allergy information";

// ---------------------------------------------------------------------------------------------
// Helpers

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

fn list(value: &Value) -> Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("a list, got {value}")).clone()
}

/// The strings at `pointer` of each item, sorted.
fn sorted(items: &Value, pointer: &str) -> Vec<String> {
    let mut out: Vec<String> = list(items)
        .iter()
        .map(|item| item.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{pointer} in {item}")))
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

/// Asserts the response is an error with `code` and no data.
#[track_caller]
fn assert_refused(response: &Value, code: &str) {
    assert_eq!(error_code(response), Some(code), "{response:#}");
    let data = &response["data"];
    assert!(data.is_null() || data.as_object().is_some_and(|d| d.values().all(Value::is_null)), "{response:#}");
}

/// Asserts `response` is NOT_FOUND and says exactly what the same operation on an id that
/// does not exist (`unknown`) says: the object does not exist for the viewer.
#[track_caller]
fn assert_does_not_exist(response: &Value, unknown: &Value) {
    assert_refused(response, "NOT_FOUND");
    assert_eq!(error_code(unknown), Some("NOT_FOUND"), "{unknown:#}");
    assert_eq!(response["errors"][0]["message"], unknown["errors"][0]["message"], "no existence leak: {response:#}");
}

/// The administrator `admin` replaces `user`'s roles; returns the account as changed.
async fn set_roles(app: &TestApp, admin: Uuid, user: Uuid, roles: &[&str]) -> Value {
    let response = app.as_user(admin, SET_ROLES, json!({"u": user, "r": roles})).await;
    let changed = data(&response)["setRoles"].clone();
    assert_eq!(changed["roles"], json!(roles), "{response:#}");
    changed
}

/// The client as `viewer` reads it: name, dossier and bases.
async fn client_as(app: &TestApp, viewer: Uuid, client: Uuid) -> Value {
    data(&app.as_user(viewer, CLIENT, json!({"c": client})).await)["client"].clone()
}

async fn dossier_titles(app: &TestApp, viewer: Uuid, client: Uuid) -> Vec<String> {
    list(&client_as(app, viewer, client).await["dossier"]["nodes"])
        .iter()
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect()
}

async fn assert_client_does_not_exist(app: &TestApp, viewer: Uuid, client: Uuid) {
    let response = app.as_user(viewer, CLIENT, json!({"c": client})).await;
    let unknown = app.as_user(viewer, CLIENT, json!({"c": Uuid::now_v7()})).await;
    assert_does_not_exist(&response, &unknown);
}

async fn trajectory_as(app: &TestApp, viewer: Uuid, trajectory: Uuid) -> Value {
    data(&app.as_user(viewer, TRAJECTORY, json!({"t": trajectory})).await)["trajectory"].clone()
}

async fn assert_trajectory_does_not_exist(app: &TestApp, viewer: Uuid, trajectory: Uuid) {
    let response = app.as_user(viewer, TRAJECTORY, json!({"t": trajectory})).await;
    let unknown = app.as_user(viewer, TRAJECTORY, json!({"t": Uuid::now_v7()})).await;
    assert_does_not_exist(&response, &unknown);
}

/// What the viewer's lists show: (trajectories, tasks, delegations, clients) ids, sorted.
#[derive(Debug, PartialEq, Eq)]
struct Work {
    trajectories: Vec<String>,
    tasks: Vec<String>,
    delegations: Vec<String>,
    clients: Vec<String>,
}

impl Work {
    fn nothing() -> Self {
        Self { trajectories: vec![], tasks: vec![], delegations: vec![], clients: vec![] }
    }
}

async fn work_of(app: &TestApp, user: Uuid) -> Work {
    let response = app.as_user(user, MY_WORK, json!({})).await;
    let found = data(&response);
    Work {
        trajectories: sorted(&found["viewer"]["trajectories"], "/id"),
        tasks: sorted(&found["viewer"]["tasks"], "/id"),
        delegations: sorted(&found["viewer"]["delegations"], "/id"),
        clients: sorted(&found["clients"]["nodes"], "/id"),
    }
}

async fn add_member(app: &TestApp, by: Uuid, trajectory: Uuid, user: Uuid) -> Value {
    app.as_user(by, ADD_MEMBER, json!({"t": trajectory, "u": user, "r": "second coach"})).await
}

async fn add_entry(app: &TestApp, by: Uuid, client: Uuid, title: &str, trajectory: Option<Uuid>) -> Value {
    app.as_user(by, ADD_ENTRY, json!({"c": client, "t": title, "tr": trajectory})).await
}

/// The client's counselors, as the client reads them.
async fn counselors_of(app: &TestApp, client: Uuid) -> Vec<String> {
    sorted(&data(&app.as_user(client, COUNSELORS, json!({"c": client})).await)["client"]["counselors"], "/displayName")
}

/// The kinds of the viewer's notifications.
async fn notification_kinds(app: &TestApp, user: Uuid) -> Vec<String> {
    sorted(&data(&app.as_user(user, NOTIFICATIONS, json!({})).await)["viewer"]["notifications"]["nodes"], "/kind")
}

/// The members of a trajectory as stored, whether or not they count.
async fn stored_members(app: &TestApp, trajectory: Uuid) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = trajectory_member::Entity::find()
        .filter(trajectory_member::Column::TrajectoryId.eq(trajectory))
        .all(app.app.db.conn())
        .await
        .expect("members")
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    ids.sort();
    ids
}

/// A care organisation: an administrator, a secretary, Carla (COUNSELOR with Lotte in her
/// caseload) and three counselors without caseload.
struct Care {
    org: Uuid,
    admin: Uuid,
    secretary: Uuid,
    carla: Uuid,
    koen: Uuid,
    sofie: Uuid,
    mark: Uuid,
    lotte: Uuid,
}

async fn care(app: &TestApp) -> Care {
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let sofie = app.user(org, "sofie@linde.example", &[Role::Counselor]).await;
    let mark = app.user(org, "mark@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    Care { org, admin, secretary, carla, koen, sofie, mark, lotte }
}

/// Opens a trajectory as `by`; returns (id, the id of its task if it has one).
async fn open(app: &TestApp, by: Uuid, variables: Value) -> (Uuid, Option<Uuid>) {
    let response = app.as_user(by, OPEN, variables).await;
    let opened = &data(&response)["openTrajectory"];
    (id(&opened["id"]), list(&opened["tasks"]).first().map(|t| id(&t["id"])))
}

// ---------------------------------------------------------------------------------------------
// 1. Trajectory member

async fn a_trajectory_member_who_becomes_a_data_analyst_no_longer_finds_the_client_or_works_in_it(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let c = care(&app).await;
    let (work, task) =
        open(&app, c.carla, json!({"c": c.lotte, "t": "Intervention", "k": "INTERVENTION_DEPLOYMENT"})).await;
    let task = task.expect("a deployment starts with its task");
    data(&add_entry(&app, c.carla, c.lotte, "Intake", None).await);
    data(&add_entry(&app, c.carla, c.lotte, "Work plan", Some(work)).await);
    data(&add_member(&app, c.carla, work, c.koen).await);

    // Before: the membership opens the client's name, the trajectory and its entries, the
    // viewer's lists, writing in the trajectory and staffing it.
    let client = client_as(&app, c.koen, c.lotte).await;
    assert_eq!(client["displayName"], "Lotte");
    assert_eq!(client["viewerAccess"]["bases"], json!(["TRAJECTORY"]));
    assert_eq!(client["dossier"]["nodes"], json!([{"title": "Work plan", "body": "Talked about work."}]));
    assert_eq!(trajectory_as(&app, c.koen, work).await["title"], "Intervention");
    let before = work_of(&app, c.koen).await;
    assert_eq!(before.trajectories, vec![work.to_string()]);
    assert_eq!(before.tasks, vec![task.to_string()]);
    assert_eq!(before.clients, vec![c.lotte.to_string()]);
    let written = add_entry(&app, c.koen, c.lotte, "Note by koen", Some(work)).await;
    assert_eq!(data(&written)["addDossierEntry"]["trajectory"]["id"], work.to_string());
    let added = add_member(&app, c.koen, work, c.sofie).await;
    assert_eq!(sorted(&data(&added)["addTrajectoryMember"]["members"], "/user/displayName"), vec!["koen", "sofie"]);
    assert_eq!(counselors_of(&app, c.lotte).await, vec!["carla", "koen", "sofie"]);

    set_roles(&app, c.admin, c.koen, &["DATA_ANALYST"]).await;

    // After: the client and the trajectory do not exist for him; his lists are empty.
    assert_client_does_not_exist(&app, c.koen, c.lotte).await;
    assert_trajectory_does_not_exist(&app, c.koen, work).await;
    assert_eq!(work_of(&app, c.koen).await, Work::nothing());
    // Writing in the trajectory or staffing it is refused as for a client or trajectory that
    // does not exist, and writes nothing.
    let entry = add_entry(&app, c.koen, c.lotte, "Too late", Some(work)).await;
    let unknown = add_entry(&app, c.koen, Uuid::now_v7(), "Too late", None).await;
    assert_does_not_exist(&entry, &unknown);
    let member = add_member(&app, c.koen, work, c.mark).await;
    let unknown = add_member(&app, c.koen, Uuid::now_v7(), c.mark).await;
    assert_does_not_exist(&member, &unknown);
    assert_eq!(
        dossier_titles(&app, c.carla, c.lotte).await,
        vec!["Intake", "Work plan", "Note by koen"],
        "the refused entry was not written"
    );
    let mut stored = vec![c.koen, c.sofie];
    stored.sort();
    assert_eq!(stored_members(&app, work).await, stored, "the refused member was not added");
    assert!(!notification_kinds(&app, c.mark).await.contains(&"TRAJECTORY_MEMBER_ADDED".to_owned()));
    assert_client_does_not_exist(&app, c.mark, c.lotte).await;

    // The client and her counselor no longer see him among those who work with her.
    assert_eq!(counselors_of(&app, c.lotte).await, vec!["carla", "sofie"]);
    for viewer in [c.lotte, c.carla] {
        let members = &trajectory_as(&app, viewer, work).await["members"];
        assert_eq!(sorted(members, "/user/displayName"), vec!["sofie"], "as {viewer}");
    }
}

async fn an_account_in_a_data_role_is_neither_a_trajectory_member_nor_a_team_member(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let c = care(&app).await;
    let analyst = app.user(c.org, "dana@linde.example", &[Role::DataAnalyst]).await;
    let officer = app.user(c.org, "otto@linde.example", &[Role::DataOfficer]).await;
    let (work, _) = open(&app, c.carla, json!({"c": c.lotte, "t": "Back to work"})).await;
    let team = app.as_user(c.admin, CREATE_TEAM, json!({"n": "Back office"})).await;
    let team = id(&data(&team)["createTeam"]["id"]);

    for (who, name) in [(analyst, "a data analyst"), (officer, "a data officer")] {
        let refused = add_member(&app, c.carla, work, who).await;
        assert_refused(&refused, "BAD_USER_INPUT");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "userId", "{name}: {refused:#}");
        let refused = app.as_user(c.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": who, "r": "back office"})).await;
        assert_refused(&refused, "BAD_USER_INPUT");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "userId", "{name}: {refused:#}");
        assert!(notification_kinds(&app, who).await.is_empty(), "{name} was told nothing");
        assert_client_does_not_exist(&app, who, c.lotte).await;
    }
    assert!(stored_members(&app, work).await.is_empty(), "no trajectory member was written");
    let team_rows = team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team))
        .count(app.app.db.conn())
        .await
        .expect("count");
    assert_eq!(team_rows, 0, "no team member was written");
    // As a control, a counselor is accepted in both.
    data(&add_member(&app, c.carla, work, c.koen).await);
    data(&app.as_user(c.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": c.sofie, "r": "back office"})).await);
}

// ---------------------------------------------------------------------------------------------
// 2. Team member

async fn a_team_member_who_becomes_a_data_officer_loses_what_the_team_opened_and_leaves_the_team_list(
    backend: Backend,
) {
    let app = TestApp::spawn(&backend).await;
    let c = care(&app).await;
    let (work, _) = open(&app, c.carla, json!({"c": c.lotte, "t": "Back to work"})).await;
    data(&add_entry(&app, c.carla, c.lotte, "Intake", None).await);
    data(&add_entry(&app, c.carla, c.lotte, "Work plan", Some(work)).await);
    let team = app.as_user(c.admin, CREATE_TEAM, json!({"n": "Back office"})).await;
    let team = id(&data(&team)["createTeam"]["id"]);
    data(&app.as_user(c.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": c.sofie, "r": "back office"})).await);
    data(&app.as_user(c.carla, ASSIGN_TEAM, json!({"t": work, "team": team})).await);

    // Before: the team opens the client's name, the trajectory, its entries and writing in it.
    let client = client_as(&app, c.sofie, c.lotte).await;
    assert_eq!(client["displayName"], "Lotte");
    assert_eq!(client["viewerAccess"]["bases"], json!(["TEAM"]));
    assert_eq!(client["dossier"]["nodes"], json!([{"title": "Work plan", "body": "Talked about work."}]));
    assert_eq!(trajectory_as(&app, c.sofie, work).await["title"], "Back to work");
    let before = work_of(&app, c.sofie).await;
    assert_eq!(before.trajectories, vec![work.to_string()]);
    assert_eq!(before.clients, vec![c.lotte.to_string()]);
    data(&add_entry(&app, c.sofie, c.lotte, "Note by sofie", Some(work)).await);
    let members = app.as_user(c.admin, TEAM_MEMBERS, json!({"t": team})).await;
    assert_eq!(data(&members)["team"]["members"], json!([{"user": {"displayName": "sofie"}, "role": "back office"}]));

    set_roles(&app, c.admin, c.sofie, &["DATA_OFFICER"]).await;

    assert_client_does_not_exist(&app, c.sofie, c.lotte).await;
    assert_trajectory_does_not_exist(&app, c.sofie, work).await;
    assert_eq!(work_of(&app, c.sofie).await, Work::nothing());
    let entry = add_entry(&app, c.sofie, c.lotte, "Too late", Some(work)).await;
    let unknown = add_entry(&app, c.sofie, Uuid::now_v7(), "Too late", None).await;
    assert_does_not_exist(&entry, &unknown);
    assert_eq!(dossier_titles(&app, c.carla, c.lotte).await, vec!["Intake", "Work plan", "Note by sofie"]);
    for viewer in [c.admin, c.sofie] {
        let members = app.as_user(viewer, TEAM_MEMBERS, json!({"t": team})).await;
        assert_eq!(data(&members)["team"]["members"], json!([]), "as {viewer}: {members:#}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Primary coach

async fn a_primary_coach_who_becomes_a_data_analyst_loses_the_trajectory_and_is_not_told_of_its_tasks(
    backend: Backend,
) {
    let app = TestApp::spawn(&backend).await;
    let c = care(&app).await;
    // The secretary opens a deployment with Koen, who has no caseload, as its coach.
    let (deployment, task) = open(
        &app,
        c.secretary,
        json!({"c": c.lotte, "t": "Intervention", "k": "INTERVENTION_DEPLOYMENT", "coach": c.koen}),
    )
    .await;
    let task = task.expect("a deployment starts with its task");
    data(&add_entry(&app, c.carla, c.lotte, "Work plan", Some(deployment)).await);

    // Before: coaching opens the client, the trajectory, its entries and tasks, and he is told.
    let client = client_as(&app, c.koen, c.lotte).await;
    assert_eq!(client["displayName"], "Lotte");
    assert_eq!(client["viewerAccess"]["bases"], json!(["TRAJECTORY"]));
    assert_eq!(client["dossier"]["nodes"], json!([{"title": "Work plan", "body": "Talked about work."}]));
    assert_eq!(trajectory_as(&app, c.koen, deployment).await["title"], "Intervention");
    let before = work_of(&app, c.koen).await;
    assert_eq!(before.trajectories, vec![deployment.to_string()]);
    assert_eq!(before.tasks, vec![task.to_string()]);
    assert_eq!(notification_kinds(&app, c.koen).await, vec!["TASK_CREATED"]);
    data(&add_entry(&app, c.koen, c.lotte, "Note by koen", Some(deployment)).await);
    assert_eq!(counselors_of(&app, c.lotte).await, vec!["carla", "koen"]);

    set_roles(&app, c.admin, c.koen, &["DATA_ANALYST"]).await;

    assert_client_does_not_exist(&app, c.koen, c.lotte).await;
    assert_trajectory_does_not_exist(&app, c.koen, deployment).await;
    assert_eq!(work_of(&app, c.koen).await, Work::nothing());
    let entry = add_entry(&app, c.koen, c.lotte, "Too late", Some(deployment)).await;
    let unknown = add_entry(&app, c.koen, Uuid::now_v7(), "Too late", None).await;
    assert_does_not_exist(&entry, &unknown);
    let member = add_member(&app, c.koen, deployment, c.mark).await;
    let unknown = add_member(&app, c.koen, Uuid::now_v7(), c.mark).await;
    assert_does_not_exist(&member, &unknown);
    assert!(stored_members(&app, deployment).await.is_empty());
    assert_eq!(counselors_of(&app, c.lotte).await, vec!["carla"]);
    // Nor can he be named the coach of a new trajectory.
    let refused = app.as_user(c.secretary, OPEN, json!({"c": c.lotte, "t": "Housing", "coach": c.koen})).await;
    assert_refused(&refused, "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "input.primaryCoachId", "{refused:#}");
    let trajectories = app.as_user(c.carla, CLIENT_TRAJECTORIES, json!({"c": c.lotte})).await;
    assert_eq!(sorted(&data(&trajectories)["client"]["trajectories"], "/title"), vec!["Intervention"]);

    // Carla confirms the intervention with a program without executor: the guidance trajectory
    // gets a DELEGATE_DOSSIER task, and the coach who holds no care role is not told.
    let provider = app.as_user(c.admin, CREATE_PROVIDER, json!({"n": "Herstel BV"})).await;
    let provider = id(&data(&provider)["createProvider"]["id"]);
    let program = app.as_user(c.admin, CREATE_PROGRAM, json!({"p": provider, "n": "Re-integration"})).await;
    let program = id(&data(&program)["createProgram"]["id"]);
    let started = app.as_user(c.carla, CONFIRM, json!({"t": task, "p": program})).await;
    let started = &data(&started)["confirmIntervention"];
    assert_eq!(started["delegationTask"]["kind"], "DELEGATE_DOSSIER", "{started:#}");
    let guidance = id(&started["guidanceTrajectory"]["id"]);
    assert_eq!(notification_kinds(&app, c.koen).await, vec!["TASK_CREATED"], "told of the first task only");
    assert_trajectory_does_not_exist(&app, c.koen, guidance).await;
    assert_eq!(work_of(&app, c.koen).await, Work::nothing());
    // He coaches neither: the deployment shows no coach, and the guidance got none from it.
    let coaches = "query($t: ID!, $g: ID!) { d: trajectory(id: $t) { primaryCoach { id } } g: trajectory(id: $g) { primaryCoach { id } } }";
    let coaches = app.as_user(c.carla, coaches, json!({"t": deployment, "g": guidance})).await;
    assert_eq!(data(&coaches)["d"]["primaryCoach"], Value::Null, "{coaches:#}");
    assert_eq!(data(&coaches)["g"]["primaryCoach"], Value::Null, "{coaches:#}");
}

// ---------------------------------------------------------------------------------------------
// 4. Delegation

/// A care organisation whose program's executor, Eva, works at an intervention provider.
struct Delegated {
    carla: Uuid,
    lotte: Uuid,
    /// ADMINISTRATOR of Eva's organisation.
    herstel_admin: Uuid,
    eva: Uuid,
    delegation: Uuid,
    guidance: Uuid,
}

/// Opens a socket as `user` with the delegationEvents subscription running.
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

async fn my_delegations(app: &TestApp, user: Uuid, status: Option<&str>) -> Vec<Value> {
    list(&data(&app.as_user(user, MY_DELEGATIONS, json!({"s": status})).await)["viewer"]["delegations"])
}

/// Sets up the delegation of Lotte's dossier to Eva, with Eva's delegationEvents socket open
/// and its GRANTED event received.
async fn delegated(app: &TestApp) -> (Delegated, Socket) {
    let c = care(app).await;
    let (_, herstel_admin) = app.organization_of_kind("Herstel BV", OrganizationKind::InterventionProvider).await;
    let eva = app.as_user(herstel_admin, CREATE_PROFESSIONAL, json!({"e": "eva@herstel.example", "n": "Eva"})).await;
    let eva = id(&data(&eva)["createUser"]["id"]);
    let provider = app.as_user(c.admin, CREATE_PROVIDER, json!({"n": "Herstel BV"})).await;
    let provider = id(&data(&provider)["createProvider"]["id"]);
    let program = app.as_user(c.admin, CREATE_PROGRAM, json!({"p": provider, "n": "Re-integration"})).await;
    let program = id(&data(&program)["createProgram"]["id"]);
    data(&app.as_user(c.admin, SET_PROVIDER_EXECUTOR, json!({"p": provider, "u": eva})).await);
    data(&add_entry(app, c.carla, c.lotte, "Intake", None).await);
    let (_, task) =
        open(app, c.carla, json!({"c": c.lotte, "t": "Intervention", "k": "INTERVENTION_DEPLOYMENT"})).await;
    let mut socket = delegation_events(app, eva).await;
    let started = app.as_user(c.carla, CONFIRM, json!({"t": task.expect("a task"), "p": program})).await;
    let started = &data(&started)["confirmIntervention"];
    assert_eq!(started["delegation"]["status"], "ACTIVE", "{started:#}");
    let delegation = id(&started["delegation"]["id"]);
    let guidance = id(&started["guidanceTrajectory"]["id"]);
    let event = next_delegation_event(&mut socket).await;
    assert_eq!(event["kind"], "GRANTED");
    assert_eq!(event["delegation"]["id"], delegation.to_string());
    (Delegated { carla: c.carla, lotte: c.lotte, herstel_admin, eva, delegation, guidance }, socket)
}

async fn a_delegate_who_becomes_a_data_officer_holds_no_delegation_and_her_live_connection_closes(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (d, mut socket) = delegated(&app).await;

    // Before: she holds the delegation, reads the whole dossier and accepts delegations.
    assert_eq!(
        my_delegations(&app, d.eva, None).await,
        vec![json!({"id": d.delegation.to_string(), "status": "ACTIVE"})]
    );
    let client = client_as(&app, d.eva, d.lotte).await;
    assert_eq!(client["displayName"], "Lotte");
    assert_eq!(sorted(&client["dossier"]["nodes"], "/title"), vec!["Intake"]);
    assert!(list(&client["viewerAccess"]["bases"]).contains(&json!("DELEGATION")), "{client:#}");
    assert_eq!(trajectory_as(&app, d.eva, d.guidance).await["id"], d.guidance.to_string());
    let accepts = app.as_user(d.herstel_admin, ACCEPTS, json!({"u": d.eva})).await;
    assert_eq!(data(&accepts)["user"]["acceptsDelegations"], true);

    // Her organisation's administrator makes her a data officer.
    let changed = set_roles(&app, d.herstel_admin, d.eva, &["DATA_OFFICER"]).await;
    assert_eq!(changed["acceptsDelegations"], false, "{changed:#}");

    // Her live connection is closed, to be opened again with what she may see now.
    let (code, reason) = live::next(&mut socket, WAIT).await.expect_err("the server closes the connection");
    assert_eq!(code, 4410, "{reason}");
    assert!(reason.contains("roles changed"), "{reason}");

    assert!(my_delegations(&app, d.eva, None).await.is_empty());
    assert!(my_delegations(&app, d.eva, Some("ACTIVE")).await.is_empty());
    assert_client_does_not_exist(&app, d.eva, d.lotte).await;
    assert_trajectory_does_not_exist(&app, d.eva, d.guidance).await;
    assert_eq!(work_of(&app, d.eva).await, Work::nothing());
    let accepts = app.as_user(d.herstel_admin, ACCEPTS, json!({"u": d.eva})).await;
    assert_eq!(data(&accepts)["user"]["acceptsDelegations"], false);
    // Nor can she, or her administrator, make her accept delegations again.
    for by in [d.eva, d.herstel_admin] {
        let refused = app.as_user(by, SET_ACCEPTS, json!({"u": d.eva, "a": true})).await;
        assert_refused(&refused, "BAD_USER_INPUT");
    }

    // Subscribed again, she hears nothing of the delegation she no longer holds, and none of
    // her notifications leads to it.
    let mut socket = delegation_events(&app, d.eva).await;
    let revoked = app.as_user(d.carla, REVOKE, json!({"d": d.delegation})).await;
    assert_eq!(data(&revoked)["revokeDelegation"]["status"], "REVOKED");
    let heard = tokio::time::timeout(Duration::from_millis(1500), live::next(&mut socket, WAIT)).await;
    let notifications = app.as_user(d.eva, NOTIFIED_DELEGATIONS, json!({})).await;
    let linked: Vec<Value> = list(&data(&notifications)["viewer"]["notifications"]["nodes"])
        .into_iter()
        .filter(|n| !n["delegation"].is_null())
        .collect();
    assert!(
        heard.is_err() && linked.is_empty(),
        "a delegation she no longer holds reaches her neither live ({heard:?}) nor through a notification ({linked:#?})"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Workflow professional with a consent

/// A partner's workflow with two professionals, Piet (COUNSELOR) and Sara (SUPERVISOR), in which
/// Lotte, a client of a care organisation, takes part and consents to Piet.
struct Consented {
    admin: Uuid,
    piet: Uuid,
    carla: Uuid,
    lotte: Uuid,
    workflow: Uuid,
    request: Uuid,
}

async fn consented(app: &TestApp) -> Consented {
    let (partner, admin) = app.organization_of_kind("Gezond Partners", OrganizationKind::Partner).await;
    let piet = app.user(partner, "piet@gezond.example", &[Role::Counselor]).await;
    let sara = app.user(partner, "sara@gezond.example", &[Role::Supervisor]).await;
    let c = care(app).await;
    let project = app.as_user(admin, CREATE_PROJECT, json!({"n": "Health check 2026"})).await;
    let project = id(&data(&project)["createProject"]["id"]);
    let workflow = app.as_user(admin, CREATE_WORKFLOW, json!({"p": project, "n": "Blood pressure"})).await;
    let workflow = id(&data(&workflow)["createWorkflow"]["id"]);
    data(&app.as_user(admin, ADD_PROFESSIONALS, json!({"w": workflow, "p": [piet, sara]})).await);
    let started = app.as_user(c.lotte, START, json!({"w": workflow})).await;
    let requests = list(&data(&started)["startWorkflow"]["consentRequests"]);
    let request = requests
        .iter()
        .find(|r| r["professional"]["displayName"] == "piet")
        .unwrap_or_else(|| panic!("a request for Piet: {requests:#?}"));
    let request = id(&request["id"]);
    data(&app.as_user(c.lotte, ADD_RESULT, json!({"c": c.lotte, "w": workflow, "t": "Morning 132/85"})).await);
    let granted = app.as_user(c.lotte, RESPOND, json!({"r": request})).await;
    assert_eq!(data(&granted)["respondToConsentRequest"]["status"], "GRANTED");
    Consented { admin, piet, carla: c.carla, lotte: c.lotte, workflow, request }
}

async fn workflow_as(app: &TestApp, viewer: Uuid, workflow: Uuid) -> Value {
    data(&app.as_user(viewer, WORKFLOW, json!({"w": workflow})).await)["workflow"].clone()
}

async fn consent_requests_of(app: &TestApp, user: Uuid, status: Option<&str>) -> Vec<Value> {
    list(&data(&app.as_user(user, CONSENT_REQUESTS, json!({"s": status})).await)["viewer"]["consentRequests"])
}

async fn a_workflow_professional_who_becomes_a_secretary_reads_no_results_and_is_asked_about_no_more(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = consented(&app).await;

    // Before: the consent opens Lotte's results, in the workflow and through the client.
    let workflow = workflow_as(&app, w.piet, w.workflow).await;
    assert_eq!(workflow["name"], "Blood pressure");
    assert_eq!(
        workflow["participations"],
        json!([{"participant": {"displayName": "Lotte"}, "results": [{"title": "Morning 132/85"}]}])
    );
    assert_eq!(sorted(&workflow["professionals"], "/professional/displayName"), vec!["piet", "sara"]);
    let client = client_as(&app, w.piet, w.lotte).await;
    assert_eq!(client["displayName"], "Lotte");
    assert_eq!(client["viewerAccess"]["bases"], json!(["CONSENT"]));
    assert_eq!(sorted(&client["dossier"]["nodes"], "/title"), vec!["Morning 132/85"]);
    let requests = consent_requests_of(&app, w.piet, None).await;
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0]["id"], w.request.to_string());
    assert_eq!(requests[0]["status"], "GRANTED");
    assert_eq!(requests[0]["client"]["displayName"], "Lotte");

    set_roles(&app, w.admin, w.piet, &["SECRETARY"]).await;

    // After: as a secretary of the partner he still sees the workflow by name (a professional
    // of its organisation), but no participation, no results and no professionals' list entry.
    let workflow = workflow_as(&app, w.piet, w.workflow).await;
    assert_eq!(workflow["name"], "Blood pressure");
    assert_eq!(workflow["participations"], json!([]), "{workflow:#}");
    assert_eq!(sorted(&workflow["professionals"], "/professional/displayName"), vec!["sara"]);
    assert_client_does_not_exist(&app, w.piet, w.lotte).await;
    assert!(consent_requests_of(&app, w.piet, None).await.is_empty());
    assert!(consent_requests_of(&app, w.piet, Some("GRANTED")).await.is_empty());
    let admin_view = app.as_user(w.admin, PROFESSIONALS, json!({"w": w.workflow})).await;
    assert_eq!(sorted(&data(&admin_view)["workflow"]["professionals"], "/professional/displayName"), vec!["sara"]);
    // The participant still sees her consent (it is hers), and her own results.
    assert_eq!(consent_requests_of(&app, w.lotte, Some("GRANTED")).await.len(), 1);
    assert_eq!(
        workflow_as(&app, w.lotte, w.workflow).await["participations"][0]["results"],
        json!([{"title": "Morning 132/85"}])
    );

    // A new participant is asked about Sara only.
    let milan = app.client_created_by(w.carla, "milan@linde.example", "Milan").await;
    let started = app.as_user(milan, START, json!({"w": w.workflow})).await;
    let asked = &data(&started)["startWorkflow"]["consentRequests"];
    assert_eq!(sorted(asked, "/professional/displayName"), vec!["sara"], "{started:#}");
    let about_piet = consent_request::Entity::find()
        .filter(consent_request::Column::ClientId.eq(milan))
        .filter(consent_request::Column::ProfessionalId.eq(w.piet))
        .count(app.app.db.conn())
        .await
        .expect("count");
    assert_eq!(about_piet, 0, "no request about Piet was written");
    let milans = consent_requests_of(&app, milan, None).await;
    assert_eq!(sorted(&json!(milans), "/professional/displayName"), vec!["sara"]);
}

// ---------------------------------------------------------------------------------------------
// 6. Emergency access

async fn a_counselor_who_broke_the_glass_and_becomes_a_data_analyst_no_longer_finds_the_client(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let c = care(&app).await;
    let report = r#"mutation($c: ID!) { addDossierEntry(clientId: $c, input: {kind: REPORT, title: "Intake", body: "Allergic to penicillin."}) { id } }"#;
    data(&app.as_user(c.carla, report, json!({"c": c.lotte})).await);
    assert_client_does_not_exist(&app, c.koen, c.lotte).await;

    // Before: breaking the glass opens the dossier.
    data(&app.as_user(c.koen, BREAK_GLASS, json!({"c": c.lotte, "r": REASON})).await);
    let client = client_as(&app, c.koen, c.lotte).await;
    assert_eq!(client["viewerAccess"]["bases"], json!(["EMERGENCY"]));
    assert_eq!(client["dossier"]["nodes"][0]["body"], "Allergic to penicillin.");
    assert_eq!(work_of(&app, c.koen).await.clients, vec![c.lotte.to_string()]);

    set_roles(&app, c.admin, c.koen, &["DATA_ANALYST"]).await;

    // After, well within the emergency access's time: the client does not exist for him.
    app.clock.advance(chrono::Duration::minutes(1));
    assert_client_does_not_exist(&app, c.koen, c.lotte).await;
    assert_eq!(work_of(&app, c.koen).await, Work::nothing());
    // Nor may he break the glass again; nothing is written.
    let again = app.as_user(c.koen, BREAK_GLASS, json!({"c": c.lotte, "r": REASON})).await;
    assert_refused(&again, "FORBIDDEN");
    let grants = emergency_access::Entity::find()
        .filter(emergency_access::Column::UserId.eq(c.koen))
        .count(app.app.db.conn())
        .await
        .expect("count");
    assert_eq!(grants, 1, "no second emergency access");
}

on_every_database!(
    a_trajectory_member_who_becomes_a_data_analyst_no_longer_finds_the_client_or_works_in_it,
    an_account_in_a_data_role_is_neither_a_trajectory_member_nor_a_team_member,
    a_team_member_who_becomes_a_data_officer_loses_what_the_team_opened_and_leaves_the_team_list,
    a_primary_coach_who_becomes_a_data_analyst_loses_the_trajectory_and_is_not_told_of_its_tasks,
    a_delegate_who_becomes_a_data_officer_holds_no_delegation_and_her_live_connection_closes,
    a_workflow_professional_who_becomes_a_secretary_reads_no_results_and_is_asked_about_no_more,
    a_counselor_who_broke_the_glass_and_becomes_a_data_analyst_no_longer_finds_the_client,
);
