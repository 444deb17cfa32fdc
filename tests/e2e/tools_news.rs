//! Tool guidance and feedback, a tool for every client of a group, and news groups: who may
//! give feedback and read it, what members of each visibility mode learn of the group, and the
//! live notifications that go with them.

use std::time::Duration;

use inzage_entity::Role;
use inzage_testkit::live::{connect, next_notification, subscribe_notifications};
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, covers, data, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

const ASSIGN_TOOL: &str = "mutation($c: ID!) {
    assignTool(input: {clientId: $c, name: \"Sleep diary\", content: \"Write down how you slept.\"}) { id } }";
const SELF_HELP: &str = "mutation { createSelfHelpTool(name: \"My list\", content: \"Things that help me.\") { id } }";
const FEEDBACK: &str = "mutation($t: ID!, $b: String!) {
    giveToolFeedback(toolId: $t, body: $b) { id body author { displayName } createdAt } }";
const CLIENT_TOOLS: &str = "query($c: ID!) { client(id: $c) {
    tools { id name counselor { displayName } content feedback { body author { displayName } } } } }";
const CREATE_GROUP: &str =
    "mutation($n: String!, $v: GroupVisibility) { createGroup(input: {name: $n, visibility: $v}) { id } }";
const ADD_MEMBERS: &str = "mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }";
const ADD_COUNSELORS: &str = "mutation($g: ID!, $u: [ID!]!) { addGroupCounselors(groupId: $g, userIds: $u) { id } }";
const GROUP_TOOL: &str = "mutation($g: ID!, $c: ID) {
    assignGroupTool(groupId: $g, name: \"Weekly goals\", content: \"Three goals for this week.\", counselorId: $c) {
        id name owner { id } counselor { id } } }";
const POST_NEWS: &str = "mutation($g: ID!, $t: String!, $b: String!) {
    postGroupNews(groupId: $g, title: $t, body: $b) { id title body author { displayName } group { id } } }";
const GROUP_NEWS: &str = "query($g: ID!) { group(id: $g) { news(first: 10) { nodes { title group { id } } } } }";
const MY_NEWS: &str = "{ viewer { news(first: 10) { nodes { title body group { id name } } } } }";
const NOTIFICATIONS: &str = "{ viewer { notifications(first: 100) { nodes { kind title } } } }";
const ACCESS_LOG: &str = "query($c: ID!) { client(id: $c) {
    accessLog(first: 200) { nodes { action objectTypes basis outcome actor { id } } } } }";

/// A care organisation: a group manager, counselors and clients.
struct World {
    secretary: Uuid,
    /// COUNSELOR_PLUS: manages groups.
    petra: Uuid,
    /// COUNSELOR with Lotte in her caseload.
    carla: Uuid,
    /// COUNSELORs without a caseload.
    koen: Uuid,
    sofie: Uuid,
    lotte: Uuid,
    milan: Uuid,
    noor: Uuid,
    guardian: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (org, _) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let petra = app.user(org, "petra@linde.example", &[Role::CounselorPlus]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let sofie = app.user(org, "sofie@linde.example", &[Role::Counselor]).await;
    let guardian = app.user(org, "gijs@linde.example", &[Role::Guardian]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let milan = app.client_created_by(petra, "milan@linde.example", "Milan").await;
    let noor = app.client_created_by(petra, "noor@linde.example", "Noor").await;
    World { secretary, petra, carla, koen, sofie, lotte, milan, noor, guardian }
}

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

fn list(value: &Value) -> &Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("a list, got {value}"))
}

#[track_caller]
fn assert_refused(response: &Value, code: &str) {
    assert_eq!(error_code(response), Some(code), "{response:#}");
    let data = &response["data"];
    assert!(data.is_null() || data.as_object().is_some_and(|d| d.values().all(Value::is_null)), "{response:#}");
}

async fn titles_of(app: &TestApp, user: Uuid, kind: &str) -> Vec<String> {
    let response = app.as_user(user, NOTIFICATIONS, json!({})).await;
    list(&data(&response)["viewer"]["notifications"]["nodes"])
        .iter()
        .filter(|n| n["kind"] == kind)
        .map(|n| n["title"].as_str().expect("a title").to_owned())
        .collect()
}

/// A group of `visibility` with `members`, counselled by Koen; returns its id.
async fn group(app: &TestApp, w: &World, name: &str, visibility: &str, members: &[Uuid]) -> Uuid {
    let group = app.as_user(w.petra, CREATE_GROUP, json!({"n": name, "v": visibility})).await;
    let group = id(&data(&group)["createGroup"]["id"]);
    data(&app.as_user(w.petra, ADD_MEMBERS, json!({"g": group, "u": members})).await);
    data(&app.as_user(w.petra, ADD_COUNSELORS, json!({"g": group, "u": [w.koen]})).await);
    group
}

async fn counselors_give_feedback_that_the_readers_of_the_tool_read(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let tool = id(&data(&app.as_user(w.carla, ASSIGN_TOOL, json!({"c": w.lotte})).await)["assignTool"]["id"]);
    assert_eq!(titles_of(&app, w.lotte, "TOOL_ASSIGNED").await, ["A new tool for you: Sleep diary"]);
    let mut socket = connect(app.addr, &app.token(w.lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Carla (the tool's counselor, Lotte in her caseload) gives feedback; Lotte hears it live.
    let given = app.as_user(w.carla, FEEDBACK, json!({"t": tool, "b": "Good start, keep going."})).await;
    let given = &data(&given)["giveToolFeedback"];
    assert_eq!(given["body"], "Good start, keep going.");
    assert_eq!(given["author"]["displayName"], "carla");
    let live = next_notification(&mut socket).await;
    assert_eq!(live["kind"], "TOOL_FEEDBACK", "{live:#}");

    // Lotte and Carla read it with the tool; the secretary reads neither content nor feedback.
    for viewer in [w.lotte, w.carla] {
        let tools = app.as_user(viewer, CLIENT_TOOLS, json!({"c": w.lotte})).await;
        let feedback = &data(&tools)["client"]["tools"][0]["feedback"];
        assert_eq!(feedback, &json!([{"body": "Good start, keep going.", "author": {"displayName": "carla"}}]));
    }
    let secretary = app.as_user(w.secretary, CLIENT_TOOLS, json!({"c": w.lotte})).await;
    assert_eq!(secretary["data"]["client"]["tools"][0]["feedback"], Value::Null, "{secretary:#}");
    assert!(secretary["errors"].as_array().expect("errors").iter().all(|e| e["extensions"]["code"] == "FORBIDDEN"));

    // Who may not: the secretary (FORBIDDEN, logged), a counselor without a basis (NOT_FOUND),
    // the client herself (FORBIDDEN); blank feedback is bad input.
    assert_refused(&app.as_user(w.secretary, FEEDBACK, json!({"t": tool, "b": "Hi"})).await, "FORBIDDEN");
    assert_refused(&app.as_user(w.sofie, FEEDBACK, json!({"t": tool, "b": "Hi"})).await, "NOT_FOUND");
    assert_refused(&app.as_user(w.lotte, FEEDBACK, json!({"t": tool, "b": "Hi"})).await, "FORBIDDEN");
    let blank = app.as_user(w.carla, FEEDBACK, json!({"t": tool, "b": "  "})).await;
    assert_refused(&blank, "BAD_USER_INPUT");
    assert_eq!(blank["errors"][0]["extensions"]["field"], "body");
    let unknown = app.as_user(w.carla, FEEDBACK, json!({"t": Uuid::now_v7(), "b": "Hi"})).await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));

    // Lotte's log has Carla's feedback on her caseload basis, and the secretary's refusal.
    let log = app.as_user(w.lotte, ACCESS_LOG, json!({"c": w.lotte})).await;
    let rows: Vec<(String, Option<String>, String)> = list(&data(&log)["client"]["accessLog"]["nodes"])
        .iter()
        .filter(|row| covers(row, "ToolFeedback") && row["action"] == "CREATE")
        .map(|row| {
            (
                row["outcome"].as_str().unwrap().to_owned(),
                row["basis"].as_str().map(str::to_owned),
                row["actor"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(rows.contains(&("SUCCESS".to_owned(), Some("CASELOAD".to_owned()), w.carla.to_string())), "{rows:?}");
    assert!(rows.iter().any(|(outcome, _, actor)| outcome == "DENIED" && *actor == w.secretary.to_string()));

    // A relative's own tools get feedback from no one.
    let rik = app
        .as_user(
            w.lotte,
            "mutation { addRelative(email: \"rik@linde.example\", displayName: \"Rik\") { id } }",
            json!({}),
        )
        .await;
    let rik = id(&data(&rik)["addRelative"]["id"]);
    let own = id(&data(&app.as_user(rik, SELF_HELP, json!({})).await)["createSelfHelpTool"]["id"]);
    for who in [w.carla, w.petra, w.koen] {
        let refused = app.as_user(who, FEEDBACK, json!({"t": own, "b": "Hi"})).await;
        assert!(matches!(error_code(&refused), Some("NOT_FOUND" | "FORBIDDEN")), "{refused:#}");
    }
}

async fn a_tool_for_every_client_of_a_group_never_names_the_group(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    for visibility in ["INVISIBLE", "CLIENT_VISIBLE", "MUTUAL"] {
        let name = format!("Secret circle {visibility}");
        let members = [w.lotte, w.milan, w.guardian];
        let group = group(&app, &w, &name, visibility, &members).await;
        let before = titles_of(&app, w.milan, "TOOL_ASSIGNED").await.len();

        // Others may not: a counselor who does not counsel the group, the secretary, a member.
        for who in [w.carla, w.secretary, w.lotte] {
            let refused = app.as_user(who, GROUP_TOOL, json!({"g": group})).await;
            assert!(matches!(error_code(&refused), Some("FORBIDDEN" | "NOT_FOUND")), "{refused:#}");
        }
        let not_theirs = app.as_user(w.koen, GROUP_TOOL, json!({"g": group, "c": w.sofie})).await;
        assert_refused(&not_theirs, "BAD_USER_INPUT");
        assert_eq!(not_theirs["errors"][0]["extensions"]["field"], "counselorId");

        // Koen (its counselor) sets it ready: one tool per CLIENT member, his by default.
        let made = app.as_user(w.koen, GROUP_TOOL, json!({"g": group})).await;
        let tools = list(&data(&made)["assignGroupTool"]);
        let mut owners: Vec<Uuid> = tools.iter().map(|t| id(&t["owner"]["id"])).collect();
        owners.sort_unstable();
        let mut clients = vec![w.lotte, w.milan];
        clients.sort_unstable();
        assert_eq!(owners, clients, "the guardian is no client: {made:#}");
        assert!(tools.iter().all(|t| t["counselor"]["id"] == w.koen.to_string()));
        // Petra (the counselor-plus) may too, naming Koen as counselor.
        let by_petra = app.as_user(w.petra, GROUP_TOOL, json!({"g": group, "c": w.koen})).await;
        assert_eq!(list(&data(&by_petra)["assignGroupTool"]).len(), 2, "{by_petra:#}");

        // Each client is told, by a title without the group; their tool shows no group.
        let titles = titles_of(&app, w.milan, "TOOL_ASSIGNED").await;
        assert_eq!(titles.len(), before + 2, "one for Koen's tool and one for Petra's");
        assert!(titles.iter().all(|t| !t.contains("circle")), "{titles:?}");
        let tools = app.as_user(w.milan, CLIENT_TOOLS, json!({"c": w.milan})).await;
        assert!(!tools.to_string().contains("circle"), "{tools:#}");
        assert!(list(&data(&tools)["client"]["tools"]).iter().any(|t| t["name"] == "Weekly goals"));
    }
}

async fn news_reaches_every_member_and_names_the_group_only_where_it_may_be_seen(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let hidden = group(&app, &w, "Hidden circle", "INVISIBLE", &[w.lotte, w.milan]).await;
    let open = group(&app, &w, "Open circle", "MUTUAL", &[w.lotte, w.noor]).await;
    let mut socket = connect(app.addr, &app.token(w.milan)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Posting is for the group's counselors and the counselor-plus; others are refused.
    for who in [w.carla, w.secretary, w.lotte] {
        let refused = app.as_user(who, POST_NEWS, json!({"g": hidden, "t": "Hi", "b": "Hello"})).await;
        assert!(matches!(error_code(&refused), Some("FORBIDDEN" | "NOT_FOUND")), "{refused:#}");
    }
    let blank = app.as_user(w.koen, POST_NEWS, json!({"g": hidden, "t": " ", "b": "Hello"})).await;
    assert_eq!(blank["errors"][0]["extensions"]["field"], "title", "{blank:#}");
    let posted = app.as_user(w.koen, POST_NEWS, json!({"g": hidden, "t": "Meeting moved", "b": "Now Thursday."})).await;
    assert_eq!(data(&posted)["postGroupNews"]["group"]["id"], hidden.to_string());
    let live = next_notification(&mut socket).await;
    assert_eq!(live["kind"], "NEWS_POSTED", "{live:#}");
    assert!(!live.to_string().contains("Hidden"), "the notification names no invisible group: {live:#}");
    app.clock.advance(chrono::Duration::minutes(1));
    data(&app.as_user(w.petra, POST_NEWS, json!({"g": open, "t": "Summer walk", "b": "Join us."})).await);

    // Lotte reads both, newest first; the invisible group is not named for her.
    let mine = app.as_user(w.lotte, MY_NEWS, json!({})).await;
    let nodes = list(&data(&mine)["viewer"]["news"]["nodes"]);
    assert_eq!(
        nodes.iter().map(|n| n["title"].as_str().unwrap()).collect::<Vec<_>>(),
        ["Summer walk", "Meeting moved"]
    );
    assert_eq!(nodes[0]["group"]["name"], "Open circle");
    assert_eq!(nodes[1]["group"], Value::Null, "{mine:#}");
    assert!(!mine.to_string().contains("Hidden"), "{mine:#}");
    let titles = titles_of(&app, w.lotte, "NEWS_POSTED").await;
    assert_eq!(titles, ["News: Meeting moved", "News in Open circle: Summer walk"]);
    // Noor only the open group's; a non-member none.
    let noor = app.as_user(w.noor, MY_NEWS, json!({})).await;
    assert_eq!(list(&data(&noor)["viewer"]["news"]["nodes"]).len(), 1);
    assert_eq!(list(&data(&app.as_user(w.sofie, MY_NEWS, json!({})).await)["viewer"]["news"]["nodes"]).len(), 0);

    // Group.news is for those who see the group: its staff, and members of a visible group.
    let staff = app.as_user(w.koen, GROUP_NEWS, json!({"g": hidden})).await;
    assert_eq!(list(&data(&staff)["group"]["news"]["nodes"]).len(), 1);
    let member = app.as_user(w.noor, GROUP_NEWS, json!({"g": open})).await;
    assert_eq!(data(&member)["group"]["news"]["nodes"][0]["title"], "Summer walk");
    assert_eq!(error_code(&app.as_user(w.lotte, GROUP_NEWS, json!({"g": hidden})).await), Some("NOT_FOUND"));
}

on_every_database!(
    counselors_give_feedback_that_the_readers_of_the_tool_read,
    a_tool_for_every_client_of_a_group_never_names_the_group,
    news_reaches_every_member_and_names_the_group_only_where_it_may_be_seen,
);
