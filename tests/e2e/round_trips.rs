//! Round trips to the database per request: the counselor's dashboard, a caseload with its
//! groups and relatives, and the client portal's start page cost the same number of SQL
//! statements whatever the size of the caseload, the number of groups or of pending consent
//! requests — no query per listed object.

use inzage_testkit::on_every_database;

use inzage_entity::{OrganizationKind, Role};
use inzage_testkit::{Backend, TestApp, data};
use serde_json::{Value, json};
use uuid::Uuid;

const DASHBOARD: &str = "query CounselorDashboard {
  viewer {
    caseload {
      id displayName
      contact { email phone address }
      counselors { id displayName }
      trajectories(status: OPEN) { id title status members { user { id displayName } role } }
      viewerAccess { canReadDossier canWriteDossier expiresAt }
    }
    tasks(status: OPEN) { id kind status trajectory { id title } }
    notifications(unreadOnly: true, first: 20) { nodes { id kind title createdAt } }
  }
}";

const PORTAL: &str = "query PortalStart($me: ID!) {
  viewer {
    user { id displayName }
    consentRequests(status: PENDING) { id kind status reason requestedAt professional { id displayName } workflow { id name } }
    groups { id name visibility counselors { id displayName } members { id displayName } }
    notifications(unreadOnly: true, first: 20) { nodes { id kind title createdAt } }
  }
  client(id: $me) { id displayName contact { email phone } dossier(first: 20) { nodes { id kind title createdAt author { id displayName } } } }
}";

const CREATE_CLIENT: &str = "mutation($e: String!, $n: String!, $p: String!, $a: String!) {
    createUser(input: {email: $e, displayName: $n, roles: [CLIENT], phone: $p, address: $a}) { id } }";
const LINK_COUNSELOR: &str = "mutation($c: ID!, $p: ID!) { linkCounselor(clientId: $c, counselorId: $p) { id } }";
const OPEN: &str = "mutation($c: ID!, $t: String!) {
    openTrajectory(input: {clientId: $c, title: $t, kind: INTERVENTION_DEPLOYMENT}) { id tasks { id status } } }";
const ADD_MEMBER: &str = "mutation($t: ID!, $u: ID!, $r: String!) {
    addTrajectoryMember(trajectoryId: $t, userId: $u, role: $r) { id } }";
const CREATE_GROUP: &str = "mutation($n: String!, $v: GroupVisibility) {
    createGroup(input: {name: $n, visibility: $v}) { id } }";
const ADD_MEMBERS: &str = "mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }";
const ADD_COUNSELORS: &str = "mutation($g: ID!, $u: [ID!]!) { addGroupCounselors(groupId: $g, userIds: $u) { id } }";
const CREATE_PROJECT: &str = "mutation($n: String!) { createProject(input: {name: $n}) { id } }";
const CREATE_WORKFLOW: &str = "mutation($p: ID!, $n: String!) {
    createWorkflow(input: {projectId: $p, name: $n, allowAppendProfessionals: false}) { id } }";
const ADD_PROFESSIONALS: &str = "mutation($w: ID!, $p: [ID!]!) {
    addWorkflowProfessionals(input: {workflowId: $w, professionalIds: $p, accessDays: 30, reason: \"Follow-up\"}) {
        id } }";
const START: &str = "mutation($w: ID!) { startWorkflow(workflowId: $w) { id consentRequests { id status } } }";
const ADD_ENTRY: &str = "mutation($c: ID!, $t: String!) {
    addDossierEntry(clientId: $c, input: {kind: NOTE, title: $t, body: \"Talked about work.\"}) { id } }";

const PHONE: &str = "+31 6 1111 2222";
const ADDRESS: &str = "Lindelaan 1, Utrecht";
const MEMBER_ROLE: &str = "second coach";

/// The small and the large caseload (and group and request counts) compared.
const SMALL: usize = 3;
const LARGE: usize = 12;
const FEW: usize = 1;
const MANY: usize = 5;

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

fn list(value: &Value) -> &Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("a list, got {value}"))
}

/// The display names in a list of users, sorted.
fn names(users: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = list(users).iter().map(|u| u["displayName"].as_str().expect("a name")).collect();
    out.sort_unstable();
    out
}

fn database(backend: &Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    }
}

/// How many SQL statements one request of `query` by `viewer` ran, and its answer.
async fn statements_for(app: &TestApp, viewer: Uuid, query: &str, variables: Value) -> (u64, Value) {
    let token = app.token(viewer);
    app.fewest_statements(|| app.graphql(Some(&token), query, variables.clone())).await
}

// ---------------------------------------------------------------------------------------------
// The counselor's dashboard
// ---------------------------------------------------------------------------------------------

/// The people every caseload client shares.
struct Colleagues {
    /// Linked to every client as a second counselor.
    koen: Uuid,
    /// A member of every client's trajectory.
    sofie: Uuid,
}

/// Gives `counselor` a caseload of `size` clients, each with contact details, a co-counselor and
/// an open trajectory (with its open task) that has a member; returns the clients' names.
async fn caseload(app: &TestApp, counselor: Uuid, prefix: &str, size: usize, with: &Colleagues) -> Vec<String> {
    let mut names = Vec::with_capacity(size);
    for i in 0..size {
        let name = format!("{prefix} client {i}");
        let email = format!("{prefix}-{i}@linde.example");
        let created =
            app.as_user(counselor, CREATE_CLIENT, json!({"e": email, "n": name, "p": PHONE, "a": ADDRESS})).await;
        let client = id(&data(&created)["createUser"]["id"]);
        data(&app.as_user(counselor, LINK_COUNSELOR, json!({"c": client, "p": with.koen})).await);
        let opened = app.as_user(counselor, OPEN, json!({"c": client, "t": format!("Intervention of {name}")})).await;
        let trajectory = id(&data(&opened)["openTrajectory"]["id"]);
        let member = json!({"t": trajectory, "u": with.sofie, "r": MEMBER_ROLE});
        data(&app.as_user(counselor, ADD_MEMBER, member).await);
        names.push(name);
    }
    names
}

/// Asserts the dashboard shows every client of the caseload in full, and the counselor's open
/// tasks and unread notifications.
#[track_caller]
fn assert_dashboard(response: &Value, counselor: &str, clients: &[String]) {
    let viewer = &data(response)["viewer"];
    let caseload = list(&viewer["caseload"]);
    let mut shown: Vec<&str> = caseload.iter().map(|c| c["displayName"].as_str().expect("a name")).collect();
    shown.sort_unstable();
    let mut expected: Vec<&str> = clients.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(shown, expected, "{counselor}'s caseload");
    for client in caseload {
        assert_eq!(client["contact"]["phone"], PHONE, "{client:#}");
        assert_eq!(client["contact"]["address"], ADDRESS, "{client:#}");
        assert!(client["contact"]["email"].is_string(), "{client:#}");
        assert_eq!(names(&client["counselors"]), [counselor, "koen", "sofie"], "{client:#}");
        let trajectories = list(&client["trajectories"]);
        assert_eq!(trajectories.len(), 1, "{client:#}");
        let trajectory = &trajectories[0];
        assert_eq!(trajectory["status"], "OPEN");
        assert_eq!(trajectory["title"], format!("Intervention of {}", client["displayName"].as_str().unwrap_or("")));
        let members = list(&trajectory["members"]);
        assert_eq!(members.len(), 1, "{trajectory:#}");
        assert_eq!(members[0]["user"]["displayName"], "sofie");
        assert_eq!(members[0]["role"], MEMBER_ROLE);
        assert_eq!(client["viewerAccess"]["canReadDossier"], true, "{client:#}");
        assert_eq!(client["viewerAccess"]["canWriteDossier"], true, "{client:#}");
    }
    let tasks = list(&viewer["tasks"]);
    assert_eq!(tasks.len(), clients.len(), "one open task per trajectory: {tasks:#?}");
    for task in tasks {
        assert_eq!(task["status"], "OPEN");
        assert!(task["trajectory"]["title"].as_str().is_some_and(|t| t.starts_with("Intervention of")), "{task}");
    }
    assert!(!list(&viewer["notifications"]["nodes"]).is_empty(), "unread notifications");
}

async fn dashboard_round_trips_do_not_grow_with_the_caseload(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let with = Colleagues {
        koen: app.user(org, "koen@linde.example", &[Role::Counselor]).await,
        sofie: app.user(org, "sofie@linde.example", &[Role::Counselor]).await,
    };
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let dirk = app.user(org, "dirk@linde.example", &[Role::Counselor]).await;
    let small = caseload(&app, carla, "carla", SMALL, &with).await;
    let large = caseload(&app, dirk, "dirk", LARGE, &with).await;
    app.notify(carla, SMALL).await;
    app.notify(dirk, LARGE).await;

    let (small_count, response) = statements_for(&app, carla, DASHBOARD, json!({})).await;
    assert_dashboard(&response, "carla", &small);
    let (large_count, response) = statements_for(&app, dirk, DASHBOARD, json!({})).await;
    assert_dashboard(&response, "dirk", &large);

    eprintln!(
        "{}: statements per dashboard: {small_count} ({SMALL} clients) / {large_count} ({LARGE} clients)",
        database(&backend)
    );
    assert_eq!(small_count, large_count, "the dashboard of {SMALL} and of {LARGE} clients");
}

/// A caseload's groups and relatives, as a counselor sees them.
const CASELOAD_CIRCLE: &str = "{ viewer { caseload {
    displayName groups { name counselors { displayName } } relatives { displayName } } } }";
const ADD_RELATIVE: &str = "mutation($e: String!, $n: String!) { addRelative(email: $e, displayName: $n) { id } }";
const SEND: &str = "mutation($to: [ID!], $b: String!) {
    sendMessage(input: {recipientIds: $to, body: $b}) { conversation { id } } }";
const ADD_TO_CONVERSATION: &str =
    "mutation($c: ID!, $u: ID!) { addToConversation(conversationId: $c, userId: $u) { id } }";

/// Gives `counselor` a caseload of `size` clients, each in a group of its own that `petra`
/// manages and the counselor and `koen` counsel, and each with a relative brought into a conversation with the
/// counselor (and one who is not); returns the clients' names.
async fn caseload_with_circles(
    app: &TestApp,
    petra: Uuid,
    koen: Uuid,
    counselor: Uuid,
    prefix: &str,
    size: usize,
) -> Vec<String> {
    let mut names = Vec::with_capacity(size);
    for i in 0..size {
        let name = format!("{prefix} client {i}");
        let email = format!("{prefix}-{i}@linde.example");
        let created =
            app.as_user(counselor, CREATE_CLIENT, json!({"e": email, "n": name, "p": PHONE, "a": ADDRESS})).await;
        let client = id(&data(&created)["createUser"]["id"]);
        let group =
            app.as_user(petra, CREATE_GROUP, json!({"n": format!("Group of {name}"), "v": "CLIENT_VISIBLE"})).await;
        let group = id(&data(&group)["createGroup"]["id"]);
        data(&app.as_user(petra, ADD_MEMBERS, json!({"g": group, "u": [client]})).await);
        data(&app.as_user(petra, ADD_COUNSELORS, json!({"g": group, "u": [counselor, koen]})).await);
        let mut relatives = Vec::new();
        for who in ["sister", "brother"] {
            let relative = json!({"e": format!("{prefix}-{i}-{who}@linde.example"), "n": format!("{who} of {name}")});
            let relative = app.as_user(client, ADD_RELATIVE, relative).await;
            relatives.push(id(&data(&relative)["addRelative"]["id"]));
        }
        let sent = app.as_user(client, SEND, json!({"to": [counselor], "b": "My sister will join"})).await;
        let conversation = id(&data(&sent)["sendMessage"]["conversation"]["id"]);
        data(&app.as_user(client, ADD_TO_CONVERSATION, json!({"c": conversation, "u": relatives[0]})).await);
        names.push(name);
    }
    names
}

/// Asserts every client shows with their group and only the relative sharing a conversation.
#[track_caller]
fn assert_circles(response: &Value, counselor: &str, clients: &[String]) {
    let caseload = list(&data(response)["viewer"]["caseload"]);
    assert_eq!(caseload.len(), clients.len(), "{counselor}'s caseload");
    for client in caseload {
        let name = client["displayName"].as_str().expect("a name");
        assert!(clients.iter().any(|c| c == name), "{name} in {counselor}'s caseload");
        let groups = list(&client["groups"]);
        assert_eq!(groups.len(), 1, "{client:#}");
        assert_eq!(groups[0]["name"], format!("Group of {name}"));
        assert_eq!(names(&groups[0]["counselors"]), [counselor, "koen"], "{client:#}");
        assert_eq!(client["relatives"], json!([{"displayName": format!("sister of {name}")}]), "{client:#}");
    }
}

async fn caseload_groups_and_relatives_cost_the_same_whatever_the_caseload(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let petra = app.user(org, "petra@linde.example", &[Role::CounselorPlus]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let dirk = app.user(org, "dirk@linde.example", &[Role::Counselor]).await;
    let small = caseload_with_circles(&app, petra, koen, carla, "carla", SMALL).await;
    let large = caseload_with_circles(&app, petra, koen, dirk, "dirk", LARGE).await;

    let (small_count, response) = statements_for(&app, carla, CASELOAD_CIRCLE, json!({})).await;
    assert_circles(&response, "carla", &small);
    let (large_count, response) = statements_for(&app, dirk, CASELOAD_CIRCLE, json!({})).await;
    assert_circles(&response, "dirk", &large);

    eprintln!(
        "{}: statements per caseload with groups and relatives: {small_count} ({SMALL} clients) / {large_count} \
         ({LARGE} clients)",
        database(&backend)
    );
    assert_eq!(small_count, large_count, "groups and relatives of {SMALL} and of {LARGE} clients");
}

// ---------------------------------------------------------------------------------------------
// The client portal's start page
// ---------------------------------------------------------------------------------------------

/// A care organisation with group counselors, and a partner running workflows.
struct Portal {
    petra: Uuid,
    carla: Uuid,
    koen: Uuid,
    sofie: Uuid,
    /// A fellow member of every group.
    noor: Uuid,
    partner_admin: Uuid,
    project: Uuid,
    /// One professional per workflow.
    professionals: Vec<Uuid>,
}

async fn portal(app: &TestApp) -> Portal {
    let (org, _) = app.organization("De Linde").await;
    let petra = app.user(org, "petra@linde.example", &[Role::CounselorPlus]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let sofie = app.user(org, "sofie@linde.example", &[Role::Counselor]).await;
    let noor = client(app, carla, "noor", "Noor").await;
    let (partner, partner_admin) = app.organization_of_kind("Gezond Partners", OrganizationKind::Partner).await;
    let mut professionals = Vec::new();
    for i in 0..MANY {
        professionals.push(app.user(partner, &format!("professional{i}@gezond.example"), &[Role::Counselor]).await);
    }
    let project = app.as_user(partner_admin, CREATE_PROJECT, json!({"n": "Health check 2026"})).await;
    let project = id(&data(&project)["createProject"]["id"]);
    Portal { petra, carla, koen, sofie, noor, partner_admin, project, professionals }
}

async fn client(app: &TestApp, counselor: Uuid, slug: &str, name: &str) -> Uuid {
    let email = format!("{slug}@linde.example");
    let created = app.as_user(counselor, CREATE_CLIENT, json!({"e": email, "n": name, "p": PHONE, "a": ADDRESS})).await;
    id(&data(&created)["createUser"]["id"])
}

/// A client of Carla in `groups` groups (alternately MUTUAL and CLIENT_VISIBLE, each with two
/// counselors and Noor), with `requests` pending consent requests (one per workflow, each from
/// another professional), `groups` dossier entries and as many unread notifications.
async fn portal_client(app: &TestApp, p: &Portal, name: &str, groups: usize, requests: usize) -> Uuid {
    let me = client(app, p.carla, &name.to_lowercase(), name).await;
    for g in 0..groups {
        let visibility = if g % 2 == 0 { "MUTUAL" } else { "CLIENT_VISIBLE" };
        let group =
            app.as_user(p.petra, CREATE_GROUP, json!({"n": format!("{name} group {g}"), "v": visibility})).await;
        let group = id(&data(&group)["createGroup"]["id"]);
        data(&app.as_user(p.petra, ADD_MEMBERS, json!({"g": group, "u": [me, p.noor]})).await);
        data(&app.as_user(p.petra, ADD_COUNSELORS, json!({"g": group, "u": [p.koen, p.sofie]})).await);
    }
    for (w, professional) in p.professionals.iter().take(requests).enumerate() {
        let workflow = app
            .as_user(p.partner_admin, CREATE_WORKFLOW, json!({"p": p.project, "n": format!("{name} check {w}")}))
            .await;
        let workflow = id(&data(&workflow)["createWorkflow"]["id"]);
        data(&app.as_user(p.partner_admin, ADD_PROFESSIONALS, json!({"w": workflow, "p": [professional]})).await);
        let started = app.as_user(me, START, json!({"w": workflow})).await;
        assert_eq!(list(&data(&started)["startWorkflow"]["consentRequests"]).len(), 1, "{started:#}");
    }
    for e in 0..groups {
        data(&app.as_user(p.carla, ADD_ENTRY, json!({"c": me, "t": format!("Session {e}")})).await);
    }
    app.notify(me, groups).await;
    me
}

/// Asserts the portal shows the client's groups, pending requests and dossier in full.
#[track_caller]
fn assert_portal(response: &Value, name: &str, groups: usize, requests: usize) {
    let answer = data(response);
    let viewer = &answer["viewer"];
    assert_eq!(viewer["user"]["displayName"], name);
    let pending = list(&viewer["consentRequests"]);
    assert_eq!(pending.len(), requests, "{pending:#?}");
    for request in pending {
        assert_eq!(request["status"], "PENDING");
        assert!(request["professional"]["displayName"].as_str().is_some_and(|n| n.starts_with("professional")));
        assert!(request["workflow"]["name"].as_str().is_some_and(|n| n.starts_with(&format!("{name} check"))));
    }
    let shown = list(&viewer["groups"]);
    assert_eq!(shown.len(), groups, "{shown:#?}");
    for group in shown {
        assert_eq!(names(&group["counselors"]), ["koen", "sofie"], "{group:#}");
        let members = match group["visibility"].as_str() {
            Some("MUTUAL") => vec!["Noor", name],
            Some("CLIENT_VISIBLE") => vec![name],
            other => panic!("unexpected visibility {other:?}"),
        };
        let mut expected = members;
        expected.sort_unstable();
        assert_eq!(names(&group["members"]), expected, "{group:#}");
    }
    assert!(!list(&viewer["notifications"]["nodes"]).is_empty(), "unread notifications");
    let me = &answer["client"];
    assert_eq!(me["displayName"], name);
    assert_eq!(me["contact"]["phone"], PHONE);
    let entries = list(&me["dossier"]["nodes"]);
    assert_eq!(entries.len(), groups, "{entries:#?}");
    for entry in entries {
        assert_eq!(entry["author"]["displayName"], "carla", "{entry:#}");
    }
}

async fn portal_round_trips_do_not_grow_with_groups_or_consent_requests(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let p = portal(&app).await;
    let lotte = portal_client(&app, &p, "Lotte", FEW, FEW).await;
    let milan = portal_client(&app, &p, "Milan", MANY, MANY).await;

    let (few_count, response) = statements_for(&app, lotte, PORTAL, json!({"me": lotte})).await;
    assert_portal(&response, "Lotte", FEW, FEW);
    let (many_count, response) = statements_for(&app, milan, PORTAL, json!({"me": milan})).await;
    assert_portal(&response, "Milan", MANY, MANY);

    eprintln!(
        "{}: statements per portal start: {few_count} ({FEW} group, {FEW} request) / {many_count} ({MANY} groups, \
         {MANY} requests)",
        database(&backend)
    );
    assert_eq!(few_count, many_count, "the portal with {FEW} and with {MANY} groups and requests");
}

// ---------------------------------------------------------------------------------------------
// The administrator's team screen
// ---------------------------------------------------------------------------------------------

const TEAM_SCREEN: &str = "{ teams { name members { user { displayName } role } } }";

/// An organisation with `size` teams of three members each; returns its administrator.
async fn organisation_with_teams(app: &TestApp, name: &str, size: usize) -> Uuid {
    let create = "mutation($n: String!) { createTeam(input: {name: $n}) { id } }";
    let add = "mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u, role: \"back office\") { id } }";
    let (org, admin) = app.organization(name).await;
    for team in 0..size {
        let created = app.as_user(admin, create, json!({"n": format!("Team {team}")})).await;
        let team_id = id(&data(&created)["createTeam"]["id"]);
        for member in 0..3 {
            let email = format!("{team}-{member}@{}.example", name.to_lowercase());
            let user = app.user(org, &email, &[Role::Counselor]).await;
            data(&app.as_user(admin, add, json!({"t": team_id, "u": user})).await);
        }
    }
    admin
}

async fn the_team_screen_costs_the_same_whatever_the_number_of_teams(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let small = organisation_with_teams(&app, "Small", FEW + 1).await;
    let large = organisation_with_teams(&app, "Large", MANY + 1).await;
    let mut counts = Vec::new();
    for (admin, size) in [(small, FEW + 1), (large, MANY + 1)] {
        let (count, response) = statements_for(&app, admin, TEAM_SCREEN, json!({})).await;
        let teams = list(&data(&response)["teams"]);
        assert_eq!(teams.len(), size, "{response:#}");
        for team in teams {
            assert_eq!(list(&team["members"]).len(), 3, "{team:#}");
            assert!(
                list(&team["members"])
                    .iter()
                    .all(|m| m["role"] == "back office" && m["user"]["displayName"].is_string())
            );
        }
        counts.push(count);
    }
    eprintln!(
        "{}: statements per team screen: {} ({} teams) / {} ({} teams)",
        database(&backend),
        counts[0],
        FEW + 1,
        counts[1],
        MANY + 1
    );
    assert_eq!(counts[0], counts[1], "the team screen of {} and of {} teams", FEW + 1, MANY + 1);
}

// ---------------------------------------------------------------------------------------------
// Finding people
// ---------------------------------------------------------------------------------------------

const PEOPLE: &str = "{ users(first: 200) { nodes { displayName roles active organization { name } } } }";

async fn finding_people_costs_the_same_whatever_the_number_found(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let mut counts = Vec::new();
    for (name, size) in [("Small", SMALL), ("Large", LARGE)] {
        let (org, admin) = app.organization(name).await;
        for i in 0..size {
            let role = if i % 2 == 0 { Role::Counselor } else { Role::Client };
            app.user(org, &format!("person-{i}@{}.example", name.to_lowercase()), &[role]).await;
        }
        let (count, response) = statements_for(&app, admin, PEOPLE, json!({})).await;
        let people = list(&data(&response)["users"]["nodes"]);
        assert_eq!(people.len(), size + 1, "the accounts and the administrator: {response:#}");
        assert!(people.iter().all(|p| p["organization"]["name"] == name && !list(&p["roles"]).is_empty()));
        counts.push(count);
    }
    eprintln!(
        "{}: statements per people search: {} ({SMALL} found) / {} ({LARGE} found)",
        database(&backend),
        counts[0],
        counts[1]
    );
    assert_eq!(counts[0], counts[1], "finding {SMALL} and {LARGE} people");
}

// ---------------------------------------------------------------------------------------------
// A member's news
// ---------------------------------------------------------------------------------------------

const NEWS: &str = "{ viewer { news(first: 50) {
    nodes { title body postedAt author { displayName } group { name counselors { displayName } } } } } }";

async fn a_members_news_costs_the_same_whatever_the_number_of_groups(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let petra = app.user(org, "petra@linde.example", &[Role::CounselorPlus]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let post = "mutation($g: ID!, $t: String!) { postGroupNews(groupId: $g, title: $t, body: \"Read me.\") { id } }";
    let mut counts = Vec::new();
    for (name, size) in [("few", FEW), ("many", MANY)] {
        let member = app.client_created_by(petra, &format!("{name}@linde.example"), name).await;
        for i in 0..size {
            let visibility = if i % 2 == 0 { "MUTUAL" } else { "INVISIBLE" };
            let group = app.as_user(petra, CREATE_GROUP, json!({"n": format!("{name} {i}"), "v": visibility})).await;
            let group = id(&data(&group)["createGroup"]["id"]);
            data(&app.as_user(petra, ADD_MEMBERS, json!({"g": group, "u": [member]})).await);
            data(&app.as_user(petra, ADD_COUNSELORS, json!({"g": group, "u": [koen]})).await);
            data(&app.as_user(koen, post, json!({"g": group, "t": format!("News {i}")})).await);
        }
        let (count, response) = statements_for(&app, member, NEWS, json!({})).await;
        let news = list(&data(&response)["viewer"]["news"]["nodes"]);
        assert_eq!(news.len(), size, "{response:#}");
        for item in news {
            assert_eq!(item["author"]["displayName"], "koen");
            let number: usize = item["title"].as_str().unwrap().trim_start_matches("News ").parse().unwrap();
            if number.is_multiple_of(2) {
                assert_eq!(names(&item["group"]["counselors"]), ["koen"], "{item:#}");
            } else {
                assert_eq!(item["group"], Value::Null, "an invisible group is not named: {item:#}");
            }
        }
        counts.push(count);
    }
    eprintln!(
        "{}: statements per news page: {} ({FEW} group) / {} ({MANY} groups)",
        database(&backend),
        counts[0],
        counts[1]
    );
    assert_eq!(counts[0], counts[1], "the news of {FEW} and of {MANY} groups");
}

// ---------------------------------------------------------------------------------------------
// Who can see a client
// ---------------------------------------------------------------------------------------------

async fn who_can_see_a_client_costs_the_same_whatever_the_number_of_holders(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |settings| settings.demo = Some(true)).await;
    let (lotte, _, _) = crate::access_holders::lotte_seen_on_every_basis(&app).await;
    let count = || async {
        let (statements, response) =
            app.fewest_statements(|| app.as_user(lotte, crate::access_holders::HOLDERS, json!({"c": lotte}))).await;
        (statements, data(&response)["client"]["accessHolders"].as_array().unwrap().len())
    };
    let (few, few_holders) = count().await;
    // Five more counselors with Lotte in their caseload.
    let demo = inzage_api::demo::accounts(&app.app.db).await.expect("the demo accounts");
    let admin = demo.iter().find(|a| a.email == "admin@delinde.example").expect("admin").id;
    let link = "mutation($c: ID!, $u: ID!) { linkCounselor(clientId: $c, counselorId: $u) { id } }";
    let carla = demo.iter().find(|a| a.email == "carla@delinde.example").expect("carla").id;
    for i in 0..5 {
        let email = format!("extra{i}@delinde.example");
        let created = app
            .as_user(
                admin,
                crate::access_holders::CREATE_USER,
                json!({"e": email, "n": format!("Extra {i}"), "r": ["COUNSELOR"]}),
            )
            .await;
        let counselor = crate::access_holders::id(&data(&created)["createUser"]["id"]);
        data(&app.as_user(carla, link, json!({"c": lotte, "u": counselor})).await);
    }
    let (many, many_holders) = count().await;
    assert_eq!(many_holders, few_holders + 5);
    eprintln!(
        "{}: statements per accessHolders: {few} ({few_holders} holders) / {many} ({many_holders} holders)",
        database(&backend)
    );
    assert_eq!(few, many, "{few_holders} and {many_holders} holders");
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// Answering with the sent message's conversation costs no statement: the write already read it
/// and its people. Sending into an existing conversation reads who takes part once.
async fn a_sent_messages_conversation_costs_no_more_statements(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let started = app.as_user(lotte, SEND, json!({"to": [carla], "b": "Can we talk?"})).await;
    let conversation = data(&started)["sendMessage"]["conversation"]["id"].clone();
    let reply = |fields: &'static str| {
        let query =
            format!("mutation($c: ID!) {{ sendMessage(input: {{conversationId: $c, body: \"Yes\"}}) {{ {fields} }} }}");
        let variables = json!({"c": conversation});
        let app = &app;
        async move { statements_for(app, carla, &query, variables).await }
    };
    let (bare, answer) = reply("id").await;
    data(&answer);
    let (with_conversation, answer) = reply("id conversation { id }").await;
    assert_eq!(data(&answer)["sendMessage"]["conversation"]["id"], conversation);
    eprintln!("{}: statements per reply: {bare}, with its conversation {with_conversation}", database(&backend));
    assert_eq!(bare, with_conversation, "the conversation was read again");
}

on_every_database!(
    a_sent_messages_conversation_costs_no_more_statements,
    dashboard_round_trips_do_not_grow_with_the_caseload,
    caseload_groups_and_relatives_cost_the_same_whatever_the_caseload,
    portal_round_trips_do_not_grow_with_groups_or_consent_requests,
    the_team_screen_costs_the_same_whatever_the_number_of_teams,
    finding_people_costs_the_same_whatever_the_number_found,
    a_members_news_costs_the_same_whatever_the_number_of_groups,
    who_can_see_a_client_costs_the_same_whatever_the_number_of_holders,
);
