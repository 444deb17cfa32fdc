//! Links that outlive their role: a link between people opens something only while its holder
//! still has the role it was made for. Each test shows what a link opens, has the
//! administrator take the role away (`setRoles`), and checks that every read and write the link
//! opened is now closed: group counselors and members, caseload counselors, supervisors,
//! guardians, relatives and conversation participants, and live connections.

use inzage_testkit::on_every_database;
use std::time::Duration;

use inzage_entity::Role;
use inzage_testkit::live::{assert_silent, connect, next, next_notification, subscribe_notifications};
use inzage_testkit::{Backend, TestApp, covers, data, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

const SET_ROLES: &str = "mutation($u: ID!, $r: [Role!]!) { setRoles(userId: $u, roles: $r) { id roles } }";
const CREATE_GROUP: &str =
    "mutation($n: String!, $v: GroupVisibility) { createGroup(input: {name: $n, visibility: $v}) { id } }";
const ADD_MEMBERS: &str = "mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }";
const ADD_COUNSELORS: &str = "mutation($g: ID!, $u: [ID!]!) { addGroupCounselors(groupId: $g, userIds: $u) { id } }";
const REMOVE_COUNSELOR: &str = "mutation($g: ID!, $u: ID!) {
    removeGroupCounselor(groupId: $g, userId: $u) { id counselors { id } } }";
const WRITE_REPORT: &str = "mutation($g: ID!, $b: String!) { writeGroupReport(groupId: $g, body: $b) { body } }";
const GROUP: &str = "query($g: ID!) { group(id: $g) {
    id name counselors { id } members { id } reports { nodes { body } } } }";
const GROUP_PEOPLE: &str = "query($g: ID!) { group(id: $g) { counselors { id } members { id } } }";
const MY_GROUPS: &str = "{ viewer { groups { id } } }";
const CLIENT_GROUPS: &str = "query($c: ID!) { client(id: $c) { groups { id } } }";
const CLIENT_NAME: &str = "query($c: ID!) { client(id: $c) { displayName } }";
const CLIENT_CONTACT: &str = "query($c: ID!) { client(id: $c) { displayName contact { phone } } }";
const CLIENT_COUNSELORS: &str = "query($c: ID!) { client(id: $c) { counselors { id } } }";
const CLIENT_RELATIVES: &str = "query($c: ID!) { client(id: $c) { relatives { id } } }";
const CASELOAD: &str = "{ viewer { caseload { id } } }";
const ACCESS_LOG: &str = "query($c: ID!) { client(id: $c) {
    accessLog(first: 100) { nodes { action objectTypes actor { id } } } } }";
const LINK_COUNSELOR: &str = "mutation($c: ID!, $u: ID!) { linkCounselor(clientId: $c, counselorId: $u) { id } }";
const LINK_SUPERVISOR: &str = "mutation($c: ID!, $u: ID!) { linkSupervisor(clientId: $c, supervisorId: $u) { id } }";
const LINK_GUARDIAN: &str = "mutation($c: ID!, $u: ID!) { linkGuardian(clientId: $c, guardianId: $u) { id } }";
const ADD_RELATIVE: &str = "mutation($e: String!, $n: String!) { addRelative(email: $e, displayName: $n) { id } }";
const SEND: &str = "mutation($conv: ID, $to: [ID!], $g: ID, $b: String!) {
    sendMessage(input: {conversationId: $conv, recipientIds: $to, groupId: $g, body: $b}) {
        id conversation { id participants { id } } } }";
const ADD_TO_CONVERSATION: &str =
    "mutation($c: ID!, $u: ID!) { addToConversation(conversationId: $c, userId: $u) { id } }";
const CONVERSATIONS: &str = "{ viewer { conversations { id messages { nodes { body } } } } }";
const CONVERSATION_PARTICIPANTS: &str = "{ viewer { conversations { id participants { id } } } }";
const MESSAGES_RECEIVED: &str = "{ viewer { notifications(first: 100) { nodes { kind message { body } } } } }";

/// How long a socket must stay quiet to count as silent.
const QUIET: Duration = Duration::from_millis(400);

/// An organisation with the people the links are made between.
struct World {
    admin: Uuid,
    secretary: Uuid,
    /// COUNSELOR_PLUS: manages the groups.
    petra: Uuid,
    /// COUNSELOR with Lotte in her caseload.
    carla: Uuid,
    /// COUNSELOR without a caseload of his own.
    koen: Uuid,
    /// CLIENT of Carla.
    lotte: Uuid,
    /// CLIENT registered by the secretary: nobody's caseload.
    milan: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let petra = app.user(org, "petra@linde.example", &[Role::CounselorPlus]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let milan = client_by(app, secretary, "milan@linde.example", "Milan").await;
    World { admin, secretary, petra, carla, koen, lotte, milan }
}

/// A CLIENT account with a phone number, created through the API by `by`.
async fn client_by(app: &TestApp, by: Uuid, email: &str, name: &str) -> Uuid {
    let create = r#"mutation($e: String!, $n: String!) {
        createUser(input: {email: $e, displayName: $n, roles: [CLIENT], phone: "+31 6 1111 2222"}) { id } }"#;
    id(&data(&app.as_user(by, create, json!({"e": email, "n": name})).await)["createUser"]["id"])
}

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

/// The ids in `items` (a list of objects with `id`), in order.
fn ids(items: &Value) -> Vec<Uuid> {
    items.as_array().unwrap_or_else(|| panic!("a list, got {items}")).iter().map(|item| id(&item["id"])).collect()
}

/// The administrator gives `user` exactly `roles`.
async fn set_roles(app: &TestApp, w: &World, user: Uuid, roles: &[&str]) {
    data(&app.as_user(w.admin, SET_ROLES, json!({"u": user, "r": roles})).await);
}

#[track_caller]
fn assert_not_found(response: &Value, field: &str) {
    assert_eq!(error_code(response), Some("NOT_FOUND"), "{response:#}");
    assert!(response["data"].is_null() || response["data"][field].is_null(), "{response:#}");
}

async fn assert_client_not_found(app: &TestApp, viewer: Uuid, client: Uuid) {
    assert_not_found(&app.as_user(viewer, CLIENT_NAME, json!({"c": client})).await, "client");
}

async fn group(app: &TestApp, w: &World, visibility: &str, members: &[Uuid], counselors: &[Uuid]) -> Uuid {
    let created = app.as_user(w.petra, CREATE_GROUP, json!({"n": "Intake", "v": visibility})).await;
    let group = id(&data(&created)["createGroup"]["id"]);
    data(&app.as_user(w.petra, ADD_MEMBERS, json!({"g": group, "u": members})).await);
    if !counselors.is_empty() {
        data(&app.as_user(w.petra, ADD_COUNSELORS, json!({"g": group, "u": counselors})).await);
    }
    group
}

async fn send(app: &TestApp, by: Uuid, variables: Value) -> Value {
    app.as_user(by, SEND, variables).await
}

/// How many MESSAGE_RECEIVED notifications `user` has.
async fn message_notifications(app: &TestApp, user: Uuid) -> usize {
    let response = app.as_user(user, MESSAGES_RECEIVED, json!({})).await;
    let nodes = data(&response)["viewer"]["notifications"]["nodes"].as_array().cloned().unwrap_or_default();
    nodes.iter().filter(|n| n["kind"] == "MESSAGE_RECEIVED").count()
}

/// The bodies of `user`'s MESSAGE_RECEIVED notifications whose message they may read.
async fn messages_received(app: &TestApp, user: Uuid) -> Vec<String> {
    let response = app.as_user(user, MESSAGES_RECEIVED, json!({})).await;
    let nodes = data(&response)["viewer"]["notifications"]["nodes"].as_array().cloned().unwrap_or_default();
    nodes
        .iter()
        .filter(|n| n["kind"] == "MESSAGE_RECEIVED")
        .filter_map(|n| n["message"]["body"].as_str().map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------------------------------------

async fn a_group_counselor_who_is_no_longer_a_counselor_loses_the_group_its_members_and_reports(backend: Backend) {
    for roles in [["SECRETARY"], ["SUPERVISOR"]] {
        let app = TestApp::spawn(&backend).await;
        let w = world(&app).await;
        // An INVISIBLE group of two clients that nobody else counsels, with Koen as its counselor.
        let group = group(&app, &w, "INVISIBLE", &[w.lotte, w.milan], &[w.koen]).await;
        data(&app.as_user(w.koen, WRITE_REPORT, json!({"g": group, "b": "First session went well"})).await);
        let before = app.as_user(w.koen, GROUP, json!({"g": group})).await;
        assert_eq!(ids(&data(&before)["group"]["members"]), [w.lotte, w.milan]);
        assert_eq!(data(&before)["group"]["reports"]["nodes"][0]["body"], "First session went well");
        assert_eq!(ids(&data(&app.as_user(w.koen, MY_GROUPS, json!({})).await)["viewer"]["groups"]), [group]);
        let milan = app.as_user(w.koen, CLIENT_GROUPS, json!({"c": w.milan})).await;
        assert_eq!(ids(&data(&milan)["client"]["groups"]), [group], "through the group, Milan is in his caseload");

        set_roles(&app, &w, w.koen, &roles).await;

        assert_not_found(&app.as_user(w.koen, GROUP, json!({"g": group})).await, "group");
        let mine = app.as_user(w.koen, MY_GROUPS, json!({})).await;
        assert_eq!(data(&mine)["viewer"]["groups"], json!([]), "{roles:?}");
        let refused = app.as_user(w.koen, WRITE_REPORT, json!({"g": group, "b": "Still here"})).await;
        assert_not_found(&refused, "writeGroupReport");
        // He is no longer shown as the group's counselor, and no longer counsels its members.
        assert_eq!(
            data(&app.as_user(w.petra, GROUP_PEOPLE, json!({"g": group})).await)["group"]["counselors"],
            json!([])
        );
        if roles == ["SECRETARY"] {
            // As a secretary he finds Milan (SECRETARY basis), but not the group Milan is in.
            let milan = app.as_user(w.koen, CLIENT_GROUPS, json!({"c": w.milan})).await;
            assert_eq!(data(&milan)["client"]["groups"], json!([]), "{milan:#}");
        } else {
            assert_client_not_found(&app, w.koen, w.milan).await;
            assert_client_not_found(&app, w.koen, w.lotte).await;
        }

        // Given the role back, the link counts again: it was never removed.
        set_roles(&app, &w, w.koen, &["COUNSELOR"]).await;
        assert_eq!(ids(&data(&app.as_user(w.koen, MY_GROUPS, json!({})).await)["viewer"]["groups"]), [group]);
        let reports = app.as_user(w.koen, GROUP, json!({"g": group})).await;
        assert_eq!(data(&reports)["group"]["reports"]["nodes"].as_array().map(Vec::len), Some(1), "nothing written");
    }
}

async fn a_counselor_taken_off_a_group_loses_its_caseload_at_once_and_the_change_is_logged(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let group = group(&app, &w, "CLIENT_VISIBLE", &[w.milan], &[w.koen, w.carla]).await;
    let contact = app.as_user(w.koen, CLIENT_CONTACT, json!({"c": w.milan})).await;
    assert_eq!(data(&contact)["client"]["contact"]["phone"], "+31 6 1111 2222");

    // A plain counselor of the group, a secretary and another organisation may not.
    let (other_org, _) = app.organization("Andere Zorg").await;
    let other_plus = app.user(other_org, "pim@andere.example", &[Role::CounselorPlus]).await;
    for (who, code) in [(w.carla, "FORBIDDEN"), (w.secretary, "NOT_FOUND"), (other_plus, "NOT_FOUND")] {
        let refused = app.as_user(who, REMOVE_COUNSELOR, json!({"g": group, "u": w.koen})).await;
        assert_eq!(error_code(&refused), Some(code), "{refused:#}");
        assert!(refused["data"].is_null(), "{refused:#}");
    }
    let unknown = app.as_user(w.petra, REMOVE_COUNSELOR, json!({"g": group, "u": w.milan})).await;
    assert_eq!(error_code(&unknown), Some("BAD_USER_INPUT"), "{unknown:#}");
    assert_eq!(unknown["errors"][0]["extensions"]["field"], "userId", "{unknown:#}");
    assert_eq!(
        ids(&data(&app.as_user(w.petra, GROUP_PEOPLE, json!({"g": group})).await)["group"]["counselors"]).len(),
        2
    );

    // The counselor-plus takes Koen off; the administrator takes Carla off.
    let removed = app.as_user(w.petra, REMOVE_COUNSELOR, json!({"g": group, "u": w.koen})).await;
    assert_eq!(ids(&data(&removed)["removeGroupCounselor"]["counselors"]), [w.carla]);
    assert_client_not_found(&app, w.koen, w.milan).await;
    assert_not_found(&app.as_user(w.koen, GROUP, json!({"g": group})).await, "group");
    let removed = app.as_user(w.admin, REMOVE_COUNSELOR, json!({"g": group, "u": w.carla})).await;
    assert_eq!(data(&removed)["removeGroupCounselor"]["counselors"], json!([]));
    assert_client_not_found(&app, w.carla, w.milan).await;

    // Milan reads both ends in his access log, by who did them.
    let log = app.as_user(w.milan, ACCESS_LOG, json!({"c": w.milan})).await;
    let ends: Vec<Uuid> = data(&log)["client"]["accessLog"]["nodes"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| row["action"] == "DELETE" && covers(row, "GroupCounselor"))
        .map(|row| id(&row["actor"]["id"]))
        .collect();
    assert_eq!(ends.len(), 2, "{log:#}");
    assert!(ends.contains(&w.petra) && ends.contains(&w.admin), "{log:#}");
}

async fn a_member_who_no_longer_holds_a_members_role_loses_the_group(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let group = group(&app, &w, "MUTUAL", &[w.lotte, w.milan], &[w.koen]).await;
    assert_eq!(ids(&data(&app.as_user(w.milan, MY_GROUPS, json!({})).await)["viewer"]["groups"]), [group]);
    data(&send(&app, w.milan, json!({"g": group, "b": "Hello counselors"})).await);

    set_roles(&app, &w, w.milan, &["RELATIVE"]).await;

    assert_not_found(&app.as_user(w.milan, GROUP, json!({"g": group})).await, "group");
    assert_eq!(data(&app.as_user(w.milan, MY_GROUPS, json!({})).await)["viewer"]["groups"], json!([]));
    let refused = send(&app, w.milan, json!({"g": group, "b": "Hello again"})).await;
    assert_not_found(&refused, "sendMessage");
    // The group's people no longer list him, and he is no longer a peer of Lotte's.
    let people = app.as_user(w.lotte, GROUP_PEOPLE, json!({"g": group})).await;
    assert_eq!(ids(&data(&people)["group"]["members"]), [w.lotte]);
    assert_client_not_found(&app, w.milan, w.lotte).await;
}

async fn a_caseload_counselor_who_is_no_longer_a_counselor_is_neither_shown_nor_reachable(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let counselors = app.as_user(w.lotte, CLIENT_COUNSELORS, json!({"c": w.lotte})).await;
    assert_eq!(ids(&data(&counselors)["client"]["counselors"]), [w.carla]);
    assert_eq!(ids(&data(&app.as_user(w.carla, CASELOAD, json!({})).await)["viewer"]["caseload"]), [w.lotte]);

    set_roles(&app, &w, w.carla, &["SUPERVISOR"]).await;

    assert_client_not_found(&app, w.carla, w.lotte).await;
    assert_eq!(data(&app.as_user(w.carla, CASELOAD, json!({})).await)["viewer"]["caseload"], json!([]));
    let counselors = app.as_user(w.lotte, CLIENT_COUNSELORS, json!({"c": w.lotte})).await;
    assert_eq!(data(&counselors)["client"]["counselors"], json!([]), "{counselors:#}");
    // Neither side starts a conversation through the link any more.
    let refused = send(&app, w.lotte, json!({"to": [w.carla], "b": "Are you there?"})).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused:#}");
    let refused = send(&app, w.carla, json!({"to": [w.lotte], "b": "Still me"})).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused:#}");
    // Nor does she link others to the client as one of its counselors.
    let refused = app.as_user(w.carla, LINK_COUNSELOR, json!({"c": w.lotte, "u": w.koen})).await;
    assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused:#}");
    assert_client_not_found(&app, w.koen, w.lotte).await;
}

async fn a_supervisor_who_is_no_longer_one_loses_the_supervised_client(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let org = data(&app.as_user(w.admin, "{ viewer { organization { id } } }", json!({})).await)["viewer"]
        ["organization"]["id"]
        .clone();
    let sofie = app.user(id(&org), "sofie@linde.example", &[Role::Supervisor]).await;
    data(&app.as_user(w.secretary, LINK_SUPERVISOR, json!({"c": w.milan, "u": sofie})).await);
    let contact = app.as_user(sofie, CLIENT_CONTACT, json!({"c": w.milan})).await;
    assert_eq!(data(&contact)["client"]["contact"]["phone"], "+31 6 1111 2222");

    set_roles(&app, &w, sofie, &["COUNSELOR"]).await;

    assert_client_not_found(&app, sofie, w.milan).await;
}

async fn a_guardian_who_is_no_longer_one_loses_the_ward_and_their_counselors(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let org = data(&app.as_user(w.admin, "{ viewer { organization { id } } }", json!({})).await)["viewer"]
        ["organization"]["id"]
        .clone();
    let gijs = app.user(id(&org), "gijs@linde.example", &[Role::Guardian]).await;
    data(&app.as_user(w.carla, LINK_GUARDIAN, json!({"c": w.lotte, "u": gijs})).await);
    let contact = app.as_user(gijs, CLIENT_CONTACT, json!({"c": w.lotte})).await;
    assert!(data(&contact)["client"]["displayName"].is_string());
    data(&send(&app, gijs, json!({"to": [w.carla], "b": "About Lotte"})).await);

    set_roles(&app, &w, gijs, &["EXTERNAL"]).await;

    assert_client_not_found(&app, gijs, w.lotte).await;
    // He no longer speaks for her to her counselor.
    let refused = send(&app, gijs, json!({"to": [w.carla], "b": "About Lotte again"})).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused:#}");
}

async fn a_relative_who_is_no_longer_one_is_neither_listed_nor_messaged_nor_brought_in(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let ria = id(
        &data(&app.as_user(w.lotte, ADD_RELATIVE, json!({"e": "ria@linde.example", "n": "Ria"})).await)["addRelative"]
            ["id"],
    );
    let own = app.as_user(w.lotte, CLIENT_RELATIVES, json!({"c": w.lotte})).await;
    assert_eq!(ids(&data(&own)["client"]["relatives"]), [ria]);
    data(&send(&app, ria, json!({"to": [w.lotte], "b": "How are you?"})).await);
    assert_client_not_found(&app, ria, w.milan).await;
    let name = app.as_user(ria, CLIENT_NAME, json!({"c": w.lotte})).await;
    assert_eq!(data(&name)["client"]["displayName"], "Lotte");

    set_roles(&app, &w, ria, &["EXTERNAL"]).await;

    assert_client_not_found(&app, ria, w.lotte).await;
    let own = app.as_user(w.lotte, CLIENT_RELATIVES, json!({"c": w.lotte})).await;
    assert_eq!(data(&own)["client"]["relatives"], json!([]), "{own:#}");
    for (from, to) in [(ria, w.lotte), (w.lotte, ria)] {
        let refused = send(&app, from, json!({"to": [to], "b": "Hello"})).await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused:#}");
    }
    let with_carla = send(&app, w.lotte, json!({"to": [w.carla], "b": "Ria may join"})).await;
    let conversation = id(&data(&with_carla)["sendMessage"]["conversation"]["id"]);
    let refused = app.as_user(w.lotte, ADD_TO_CONVERSATION, json!({"c": conversation, "u": ria})).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused:#}");
}

async fn a_participant_whose_role_no_longer_takes_part_loses_the_conversation_and_its_messages(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let started = send(&app, w.lotte, json!({"to": [w.carla], "b": "Can we talk?"})).await;
    let conversation = id(&data(&started)["sendMessage"]["conversation"]["id"]);
    assert_eq!(messages_received(&app, w.carla).await, ["Can we talk?"]);
    assert_eq!(
        ids(&data(&app.as_user(w.carla, CONVERSATIONS, json!({})).await)["viewer"]["conversations"]),
        [conversation]
    );

    // A data analyst reads no client's messages.
    set_roles(&app, &w, w.carla, &["DATA_ANALYST"]).await;

    assert_eq!(data(&app.as_user(w.carla, CONVERSATIONS, json!({})).await)["viewer"]["conversations"], json!([]));
    let refused = send(&app, w.carla, json!({"conv": conversation, "b": "Reading along"})).await;
    assert_not_found(&refused, "sendMessage");
    // Lotte's reply no longer reaches her, and she is no longer shown as taking part.
    assert_eq!(message_notifications(&app, w.carla).await, 1);
    assert!(messages_received(&app, w.carla).await.is_empty(), "the message itself is closed to her now");
    data(&send(&app, w.lotte, json!({"conv": conversation, "b": "Hello?"})).await);
    assert_eq!(message_notifications(&app, w.carla).await, 1, "no new notification");
    let participants = app.as_user(w.lotte, CONVERSATION_PARTICIPANTS, json!({})).await;
    let listed = &data(&participants)["viewer"]["conversations"][0]["participants"];
    assert_eq!(ids(listed), [w.lotte], "{participants:#}");

    // Back as a counselor, she takes part again, replies included.
    set_roles(&app, &w, w.carla, &["COUNSELOR"]).await;
    let theirs = app.as_user(w.carla, CONVERSATIONS, json!({})).await;
    assert_eq!(data(&theirs)["viewer"]["conversations"][0]["messages"]["nodes"][1]["body"], "Hello?");
}

async fn changing_roles_closes_live_connections_and_group_messages_stop_reaching_a_former_counselor(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let group = group(&app, &w, "CLIENT_VISIBLE", &[w.milan], &[w.koen]).await;
    let mut socket = connect(app.addr, &app.token(w.koen)).await;
    subscribe_notifications(&mut socket, "n", None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    data(&send(&app, w.milan, json!({"g": group, "b": "A question for the group"})).await);
    assert_eq!(next_notification(&mut socket).await["kind"], "MESSAGE_RECEIVED");

    set_roles(&app, &w, w.koen, &["SECRETARY"]).await;
    let closed = next(&mut socket, Duration::from_secs(10)).await.expect_err("the connection closes");
    assert_eq!(closed.0, 4410, "{closed:?}");
    assert!(closed.1.contains("roles"), "{closed:?}");

    // Reconnected, he hears nothing of the group any more: its messages go to its counselors.
    let mut socket = connect(app.addr, &app.token(w.koen)).await;
    subscribe_notifications(&mut socket, "n", None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = send(&app, w.milan, json!({"g": group, "b": "Anyone?"})).await;
    assert_eq!(error_code(&refused), Some("CONFLICT"), "the group has no counselor left: {refused:#}");
    assert_silent(&mut socket, QUIET).await;
    assert_eq!(messages_received(&app, w.koen).await, ["A question for the group"]);
}

on_every_database!(
    a_group_counselor_who_is_no_longer_a_counselor_loses_the_group_its_members_and_reports,
    a_counselor_taken_off_a_group_loses_its_caseload_at_once_and_the_change_is_logged,
    a_member_who_no_longer_holds_a_members_role_loses_the_group,
    a_caseload_counselor_who_is_no_longer_a_counselor_is_neither_shown_nor_reachable,
    a_supervisor_who_is_no_longer_one_loses_the_supervised_client,
    a_guardian_who_is_no_longer_one_loses_the_ward_and_their_counselors,
    a_relative_who_is_no_longer_one_is_neither_listed_nor_messaged_nor_brought_in,
    a_participant_whose_role_no_longer_takes_part_loses_the_conversation_and_its_messages,
    changing_roles_closes_live_connections_and_group_messages_stop_reaching_a_former_counselor,
);
