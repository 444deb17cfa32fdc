//! Care groups and conversations: who manages a group and who may
//! join it, what members and counselors see in each visibility mode, group reports, group
//! messages, who may message whom, and relatives brought into a conversation — all through
//! GraphQL as the portals would.

use inzage_testkit::on_every_database;
use std::time::Duration;

use inzage_entity::Role;
use inzage_testkit::live::{Socket, assert_silent, connect, next_notification, subscribe_notifications};
use inzage_testkit::{Backend, TestApp, assert_refused, data, error_code, paths_with};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE_CLIENT: &str = r#"mutation($e: String!, $n: String!) {
    createUser(input: {email: $e, displayName: $n, roles: [CLIENT], phone: "+31 6 1111 2222"}) { id } }"#;
const CREATE_GROUP: &str = "mutation($n: String!, $v: GroupVisibility) {
    createGroup(input: {name: $n, visibility: $v}) { id name visibility counselors { id } members { id } } }";
const CREATE_GROUP_DEFAULT: &str =
    "mutation($n: String!) { createGroup(input: {name: $n}) { id name visibility counselors { id } members { id } } }";
const SET_VISIBILITY: &str = "mutation($g: ID!, $v: GroupVisibility!) {
    setGroupVisibility(groupId: $g, visibility: $v) { id visibility } }";
const ADD_MEMBERS: &str = "mutation($g: ID!, $u: [ID!]!) {
    addGroupMembers(groupId: $g, userIds: $u) { id members { displayName } } }";
const ADD_COUNSELORS: &str = "mutation($g: ID!, $u: [ID!]!) {
    addGroupCounselors(groupId: $g, userIds: $u) { id counselors { displayName } } }";
const REMOVE_MEMBER: &str = "mutation($g: ID!, $u: ID!) {
    removeGroupMember(groupId: $g, userId: $u) { id members { displayName } } }";
const WRITE_REPORT: &str =
    "mutation($g: ID!, $b: String!) { writeGroupReport(groupId: $g, body: $b) { body author { displayName } } }";
const GROUP: &str = "query($g: ID!) { group(id: $g) {
    id name visibility counselors { displayName } members { displayName } } }";
const GROUP_REPORTS: &str =
    "query($g: ID!) { group(id: $g) { name reports { nodes { body author { displayName } } } } }";
const MY_GROUPS: &str = "{ viewer { groups { id name } } }";
const CLIENT_GROUPS: &str = "query($c: ID!) { client(id: $c) { groups { id name } } }";
const CLIENT_NAME: &str = "query($c: ID!) { client(id: $c) { displayName } }";
const CLIENT_CONTACT: &str =
    "query($c: ID!) { client(id: $c) { displayName contact { phone } viewerAccess { bases } } }";
const CLIENT_RELATIVES: &str = "query($c: ID!) { client(id: $c) { relatives { displayName } } }";
const CASELOAD: &str = "{ viewer { caseload { id } } }";
const SEND: &str = "mutation($conv: ID, $to: [ID!], $g: ID, $b: String!) {
    sendMessage(input: {conversationId: $conv, recipientIds: $to, groupId: $g, body: $b}) {
        id body sender { displayName } conversation { id participants { displayName } } } }";
const ADD_TO_CONVERSATION: &str = "mutation($c: ID!, $u: ID!) {
    addToConversation(conversationId: $c, userId: $u) { id participants { displayName } } }";
const CONVERSATIONS: &str = "{ viewer { conversations {
    id participants { displayName } messages { nodes { body sender { displayName } } } } } }";
const MESSAGE_NOTIFICATIONS: &str =
    "{ viewer { notifications(first: 100) { nodes { kind message { body sender { displayName } } } } } }";

const WAIT: Duration = Duration::from_millis(400);

/// A care organisation with a group manager, counselors and the people groups are made of.
struct World {
    admin: Uuid,
    secretary: Uuid,
    /// COUNSELOR_PLUS: manages the groups.
    petra: Uuid,
    /// COUNSELOR with Lotte in her caseload.
    carla: Uuid,
    /// COUNSELOR, no caseload: becomes a group counselor.
    koen: Uuid,
    /// COUNSELOR, no caseload: a second group counselor.
    sofie: Uuid,
    /// CLIENT of Carla.
    lotte: Uuid,
    /// CLIENT registered by the secretary: nobody's caseload.
    milan: Uuid,
    /// CLIENT registered by the secretary: nobody's caseload.
    noor: Uuid,
    guardian: Uuid,
    external: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let petra = app.user(org, "petra@linde.example", &[Role::CounselorPlus]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let sofie = app.user(org, "sofie@linde.example", &[Role::Counselor]).await;
    let guardian = app.user(org, "gijs@linde.example", &[Role::Guardian]).await;
    let external = app.user(org, "erik@linde.example", &[Role::External]).await;
    let lotte = created(app, carla, "lotte@linde.example", "Lotte").await;
    let milan = created(app, secretary, "milan@linde.example", "Milan").await;
    let noor = created(app, secretary, "noor@linde.example", "Noor").await;
    World { admin, secretary, petra, carla, koen, sofie, lotte, milan, noor, guardian, external }
}

async fn created(app: &TestApp, by: Uuid, email: &str, name: &str) -> Uuid {
    let response = app.as_user(by, CREATE_CLIENT, json!({"e": email, "n": name})).await;
    id(&data(&response)["createUser"]["id"])
}

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

/// Petra creates a group with `visibility`, `members` and `counselors`; returns its id.
async fn group(app: &TestApp, w: &World, name: &str, visibility: &str, members: &[Uuid], counselors: &[Uuid]) -> Uuid {
    let response = app.as_user(w.petra, CREATE_GROUP, json!({"n": name, "v": visibility})).await;
    let group = id(&data(&response)["createGroup"]["id"]);
    if !members.is_empty() {
        data(&app.as_user(w.petra, ADD_MEMBERS, json!({"g": group, "u": members})).await);
    }
    if !counselors.is_empty() {
        data(&app.as_user(w.petra, ADD_COUNSELORS, json!({"g": group, "u": counselors})).await);
    }
    group
}

async fn my_group_ids(app: &TestApp, user: Uuid) -> Vec<String> {
    sorted(&data(&app.as_user(user, MY_GROUPS, json!({})).await)["viewer"]["groups"], "/id")
}

async fn assert_group_not_found(app: &TestApp, viewer: Uuid, group: Uuid) {
    let response = app.as_user(viewer, GROUP, json!({"g": group})).await;
    assert!(response["data"]["group"].is_null(), "{response:#}");
    assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response:#}");
}

async fn assert_client_not_found(app: &TestApp, viewer: Uuid, client: Uuid) {
    let response = app.as_user(viewer, CLIENT_NAME, json!({"c": client})).await;
    assert!(response["data"]["client"].is_null(), "{response:#}");
    assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response:#}");
}

async fn send(app: &TestApp, by: Uuid, variables: Value) -> Value {
    app.as_user(by, SEND, variables).await
}

/// The bodies of the MESSAGE_RECEIVED notifications of `user`, sorted.
async fn message_notifications(app: &TestApp, user: Uuid) -> Vec<String> {
    let response = app.as_user(user, MESSAGE_NOTIFICATIONS, json!({})).await;
    let mut bodies: Vec<String> = list(&data(&response)["viewer"]["notifications"]["nodes"])
        .iter()
        .filter(|n| n["kind"] == "MESSAGE_RECEIVED")
        .map(|n| n["message"]["body"].as_str().unwrap_or_else(|| panic!("a message in {n}")).to_owned())
        .collect();
    bodies.sort();
    bodies
}

async fn conversations(app: &TestApp, user: Uuid) -> Vec<Value> {
    list(&data(&app.as_user(user, CONVERSATIONS, json!({})).await)["viewer"]["conversations"])
}

/// Opens a WebSocket as `user` with the notifications subscription running.
async fn notifications_socket(app: &TestApp, user: Uuid) -> Socket {
    let mut socket = connect(app.addr, &app.token(user)).await;
    subscribe_notifications(&mut socket, "n", None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    socket
}

// ---------------------------------------------------------------------------------------------

async fn only_a_counselor_plus_manages_groups_of_clients_guardians_and_externals(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;

    let created = app.as_user(w.petra, CREATE_GROUP_DEFAULT, json!({"n": "Tuesday group"})).await;
    let created = &data(&created)["createGroup"];
    assert_eq!(created["name"], "Tuesday group");
    assert_eq!(created["visibility"], "INVISIBLE", "a group is invisible unless told");
    assert_eq!(created["counselors"], json!([]));
    assert_eq!(created["members"], json!([]));
    let group = id(&created["id"]);

    for who in [w.carla, w.secretary, w.admin, w.lotte] {
        let refused = app.as_user(who, CREATE_GROUP, json!({"n": "Mine", "v": "MUTUAL"})).await;
        assert_refused(&refused, "FORBIDDEN", None);
    }

    // Members are clients, guardians and externals; a professional is refused by position and
    // nothing of the list is written.
    let wrong = app.as_user(w.petra, ADD_MEMBERS, json!({"g": group, "u": [w.lotte, w.koen]})).await;
    assert_refused(&wrong, "BAD_USER_INPUT", Some("userIds[1]"));
    let (other_org, _) = app.organization("Andere Zorg").await;
    let stranger = app.user(other_org, "sam@andere.example", &[Role::Client]).await;
    let foreign = app.as_user(w.petra, ADD_MEMBERS, json!({"g": group, "u": [w.milan, w.guardian, stranger]})).await;
    assert_refused(&foreign, "BAD_USER_INPUT", Some("userIds[2]"));
    let seen = app.as_user(w.petra, GROUP, json!({"g": group})).await;
    assert_eq!(data(&seen)["group"]["members"], json!([]), "refused additions wrote nothing");

    let added = app.as_user(w.petra, ADD_MEMBERS, json!({"g": group, "u": [w.lotte, w.guardian, w.external]})).await;
    assert_eq!(sorted(&data(&added)["addGroupMembers"]["members"], "/displayName"), ["Lotte", "erik", "gijs"]);

    // Counselors are COUNSELOR or COUNSELOR_PLUS.
    let wrong = app.as_user(w.petra, ADD_COUNSELORS, json!({"g": group, "u": [w.milan]})).await;
    assert_refused(&wrong, "BAD_USER_INPUT", Some("userIds[0]"));
    let wrong = app.as_user(w.petra, ADD_COUNSELORS, json!({"g": group, "u": [w.koen, w.secretary]})).await;
    assert_refused(&wrong, "BAD_USER_INPUT", Some("userIds[1]"));
    let added = app.as_user(w.petra, ADD_COUNSELORS, json!({"g": group, "u": [w.koen, w.petra]})).await;
    assert_eq!(sorted(&data(&added)["addGroupCounselors"]["counselors"], "/displayName"), ["koen", "petra"]);

    // A plain counselor of the group sees it but may not manage it; another does not see it.
    let koen_sees = app.as_user(w.koen, GROUP, json!({"g": group})).await;
    assert_eq!(data(&koen_sees)["group"]["name"], "Tuesday group");
    assert_group_not_found(&app, w.carla, group).await;
    for (who, code) in [(w.koen, "FORBIDDEN"), (w.carla, "NOT_FOUND")] {
        let refused = app.as_user(who, SET_VISIBILITY, json!({"g": group, "v": "MUTUAL"})).await;
        assert_refused(&refused, code, None);
        assert_refused(&app.as_user(who, ADD_MEMBERS, json!({"g": group, "u": [w.milan]})).await, code, None);
        assert_refused(&app.as_user(who, ADD_COUNSELORS, json!({"g": group, "u": [who]})).await, code, None);
        assert_refused(&app.as_user(who, REMOVE_MEMBER, json!({"g": group, "u": w.lotte})).await, code, None);
    }
    let unchanged = app.as_user(w.petra, GROUP, json!({"g": group})).await;
    let unchanged = &data(&unchanged)["group"];
    assert_eq!(unchanged["visibility"], "INVISIBLE", "{unchanged:#}");
    assert_eq!(sorted(&unchanged["members"], "/displayName"), ["Lotte", "erik", "gijs"]);
    assert_eq!(sorted(&unchanged["counselors"], "/displayName"), ["koen", "petra"]);

    // The manager changes visibility and removes members; removing a non-member is bad input.
    let set = app.as_user(w.petra, SET_VISIBILITY, json!({"g": group, "v": "CLIENT_VISIBLE"})).await;
    assert_eq!(data(&set)["setGroupVisibility"]["visibility"], "CLIENT_VISIBLE");
    let removed = app.as_user(w.petra, REMOVE_MEMBER, json!({"g": group, "u": w.guardian})).await;
    assert_eq!(sorted(&data(&removed)["removeGroupMember"]["members"], "/displayName"), ["Lotte", "erik"]);
    let again = app.as_user(w.petra, REMOVE_MEMBER, json!({"g": group, "u": w.guardian})).await;
    assert_refused(&again, "BAD_USER_INPUT", Some("userId"));
    assert_eq!(my_group_ids(&app, w.guardian).await, Vec::<String>::new(), "a removed member no longer sees it");
    assert_eq!(my_group_ids(&app, w.external).await, vec![group.to_string()]);

    // Another organisation's counselor-plus does not see the group at all.
    let other_plus = app.user(other_org, "pim@andere.example", &[Role::CounselorPlus]).await;
    assert_group_not_found(&app, other_plus, group).await;
    let refused = app.as_user(other_plus, SET_VISIBILITY, json!({"g": group, "v": "MUTUAL"})).await;
    assert_refused(&refused, "NOT_FOUND", None);
}

async fn an_invisible_group_does_not_exist_for_members_while_its_counselors_see_and_report(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let group = group(&app, &w, "Quiet group", "INVISIBLE", &[w.lotte, w.milan], &[w.koen]).await;

    for member in [w.lotte, w.milan] {
        assert_eq!(my_group_ids(&app, member).await, Vec::<String>::new());
        let own = app.as_user(member, CLIENT_GROUPS, json!({"c": member})).await;
        assert_eq!(data(&own)["client"]["groups"], json!([]), "{own:#}");
        assert_group_not_found(&app, member, group).await;
        let reports = app.as_user(member, GROUP_REPORTS, json!({"g": group})).await;
        assert!(reports["data"]["group"].is_null(), "{reports:#}");
        let write = app.as_user(member, WRITE_REPORT, json!({"g": group, "b": "I was here"})).await;
        assert_refused(&write, "NOT_FOUND", None);
        let message = send(&app, member, json!({"g": group, "b": "Anyone?"})).await;
        assert_refused(&message, "NOT_FOUND", None);
    }
    assert!(message_notifications(&app, w.koen).await.is_empty(), "refused messages reach no one");

    // The counselor sees every member and writes and reads reports.
    let seen = app.as_user(w.koen, GROUP, json!({"g": group})).await;
    let seen = &data(&seen)["group"];
    assert_eq!(seen["name"], "Quiet group");
    assert_eq!(seen["visibility"], "INVISIBLE");
    assert_eq!(sorted(&seen["members"], "/displayName"), ["Lotte", "Milan"]);
    assert_eq!(my_group_ids(&app, w.koen).await, vec![group.to_string()]);
    let written = app.as_user(w.koen, WRITE_REPORT, json!({"g": group, "b": "Lotte spoke up today."})).await;
    assert_eq!(
        data(&written)["writeGroupReport"],
        json!({"body": "Lotte spoke up today.", "author": {"displayName": "koen"}})
    );
    let reports = app.as_user(w.koen, GROUP_REPORTS, json!({"g": group})).await;
    assert_eq!(
        data(&reports)["group"]["reports"]["nodes"],
        json!([{"body": "Lotte spoke up today.", "author": {"displayName": "koen"}}])
    );
    // The counselor sees the group among the client's groups; a member never does.
    let through_client = app.as_user(w.koen, CLIENT_GROUPS, json!({"c": w.lotte})).await;
    assert_eq!(sorted(&data(&through_client)["client"]["groups"], "/name"), ["Quiet group"]);
    let own = app.as_user(w.lotte, CLIENT_GROUPS, json!({"c": w.lotte})).await;
    assert_eq!(data(&own)["client"]["groups"], json!([]));
}

async fn in_a_client_visible_group_members_see_its_counselors_and_message_them_all(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let group = group(&app, &w, "Parents group", "CLIENT_VISIBLE", &[w.lotte, w.milan], &[w.koen, w.sofie]).await;

    let seen = app.as_user(w.lotte, GROUP, json!({"g": group})).await;
    let seen = &data(&seen)["group"];
    assert_eq!(seen["name"], "Parents group");
    assert_eq!(seen["visibility"], "CLIENT_VISIBLE");
    assert_eq!(sorted(&seen["counselors"], "/displayName"), ["koen", "sofie"]);
    assert_eq!(seen["members"], json!([{"displayName": "Lotte"}]), "a member sees only themselves");
    assert_eq!(my_group_ids(&app, w.lotte).await, vec![group.to_string()]);
    let own = app.as_user(w.lotte, CLIENT_GROUPS, json!({"c": w.lotte})).await;
    assert_eq!(sorted(&data(&own)["client"]["groups"], "/name"), ["Parents group"]);
    assert_client_not_found(&app, w.lotte, w.milan).await;

    // Reports stay with the counselors.
    data(&app.as_user(w.koen, WRITE_REPORT, json!({"g": group, "b": "Tense evening."})).await);
    let reports = app.as_user(w.lotte, GROUP_REPORTS, json!({"g": group})).await;
    assert_eq!(reports["data"]["group"]["name"], "Parents group", "{reports:#}");
    assert!(reports["data"]["group"]["reports"].is_null(), "{reports:#}");
    assert_eq!(paths_with(&reports, "FORBIDDEN"), ["group.reports"], "{reports:#}");
    assert!(!reports.to_string().contains("Tense evening"), "{reports:#}");
    let write = app.as_user(w.lotte, WRITE_REPORT, json!({"g": group, "b": "My report"})).await;
    assert_refused(&write, "FORBIDDEN", None);
    let reports = app.as_user(w.koen, GROUP_REPORTS, json!({"g": group})).await;
    assert_eq!(sorted(&data(&reports)["group"]["reports"]["nodes"], "/body"), ["Tense evening."]);

    // A group message reaches every counselor, live and in their conversations.
    let mut koen_socket = notifications_socket(&app, w.koen).await;
    let mut sofie_socket = notifications_socket(&app, w.sofie).await;
    let mut milan_socket = notifications_socket(&app, w.milan).await;
    let sent = send(&app, w.lotte, json!({"g": group, "b": "Can we start later?"})).await;
    let sent = &data(&sent)["sendMessage"];
    assert_eq!(sent["body"], "Can we start later?");
    assert_eq!(sent["sender"]["displayName"], "Lotte");
    for socket in [&mut koen_socket, &mut sofie_socket] {
        let notification = next_notification(socket).await;
        assert_eq!(notification["kind"], "MESSAGE_RECEIVED", "{notification:#}");
    }
    for counselor in [w.koen, w.sofie] {
        assert_eq!(message_notifications(&app, counselor).await, ["Can we start later?"]);
        let theirs = conversations(&app, counselor).await;
        assert_eq!(theirs.len(), 1, "{theirs:#?}");
        assert_eq!(sorted(&theirs[0]["participants"], "/displayName"), ["Lotte", "koen", "sofie"]);
        assert_eq!(
            theirs[0]["messages"]["nodes"],
            json!([{"body": "Can we start later?", "sender": {"displayName": "Lotte"}}])
        );
    }

    // Another member cannot be messaged: refused, and nothing written.
    let refused = send(&app, w.lotte, json!({"to": [w.milan], "b": "Hi Milan"})).await;
    assert_refused(&refused, "FORBIDDEN", None);
    assert_silent(&mut milan_socket, WAIT).await;
    assert!(message_notifications(&app, w.milan).await.is_empty());
    assert!(conversations(&app, w.milan).await.is_empty());
    let lotte_conversations = conversations(&app, w.lotte).await;
    assert_eq!(lotte_conversations.len(), 1, "only the group message: {lotte_conversations:#?}");
    assert_silent(&mut koen_socket, WAIT).await;
}

async fn in_a_mutual_group_members_see_and_message_each_other_until_it_turns_invisible(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let group = group(&app, &w, "Open group", "MUTUAL", &[w.lotte, w.milan], &[w.koen]).await;

    let seen = app.as_user(w.lotte, GROUP, json!({"g": group})).await;
    assert_eq!(sorted(&data(&seen)["group"]["members"], "/displayName"), ["Lotte", "Milan"]);
    assert_eq!(sorted(&data(&seen)["group"]["counselors"], "/displayName"), ["koen"]);
    let reports = app.as_user(w.milan, GROUP_REPORTS, json!({"g": group})).await;
    assert!(reports["data"]["group"]["reports"].is_null(), "{reports:#}");
    assert_eq!(paths_with(&reports, "FORBIDDEN"), ["group.reports"], "{reports:#}");
    assert_refused(&app.as_user(w.milan, WRITE_REPORT, json!({"g": group, "b": "x"})).await, "FORBIDDEN", None);

    // A peer is a name, not a dossier.
    let peer = app.as_user(w.lotte, CLIENT_CONTACT, json!({"c": w.milan})).await;
    assert_eq!(peer["data"]["client"]["displayName"], "Milan", "{peer:#}");
    assert!(peer["data"]["client"]["contact"].is_null(), "{peer:#}");
    assert!(paths_with(&peer, "FORBIDDEN").contains(&"client.contact".to_owned()), "{peer:#}");
    assert!(!peer.to_string().contains("+31 6"), "{peer:#}");
    assert_eq!(peer["data"]["client"]["viewerAccess"]["bases"], json!(["GROUP_PEER"]), "{peer:#}");
    // Noor is in no group with Lotte.
    assert_client_not_found(&app, w.lotte, w.noor).await;

    // Members message each other, and reply in the conversation.
    let mut milan_socket = notifications_socket(&app, w.milan).await;
    let sent = send(&app, w.lotte, json!({"to": [w.milan], "b": "See you Tuesday?"})).await;
    let conversation = id(&data(&sent)["sendMessage"]["conversation"]["id"]);
    let notification = next_notification(&mut milan_socket).await;
    assert_eq!(notification["kind"], "MESSAGE_RECEIVED", "{notification:#}");
    assert_eq!(message_notifications(&app, w.milan).await, ["See you Tuesday?"]);
    let reply = send(&app, w.milan, json!({"conv": conversation, "b": "Yes!"})).await;
    assert_eq!(data(&reply)["sendMessage"]["conversation"]["id"], conversation.to_string());
    assert_eq!(message_notifications(&app, w.lotte).await, ["Yes!"]);
    let theirs = conversations(&app, w.lotte).await;
    assert_eq!(theirs.len(), 1, "{theirs:#?}");
    assert_eq!(sorted(&theirs[0]["participants"], "/displayName"), ["Lotte", "Milan"]);
    assert_eq!(sorted(&theirs[0]["messages"]["nodes"], "/body"), ["See you Tuesday?", "Yes!"]);
    assert!(conversations(&app, w.koen).await.is_empty(), "a private conversation stays private");

    // Turned invisible, the group and the peer are gone for the members at once.
    let set = app.as_user(w.petra, SET_VISIBILITY, json!({"g": group, "v": "INVISIBLE"})).await;
    assert_eq!(data(&set)["setGroupVisibility"]["visibility"], "INVISIBLE");
    for (member, peer) in [(w.lotte, w.milan), (w.milan, w.lotte)] {
        assert_eq!(my_group_ids(&app, member).await, Vec::<String>::new());
        assert_group_not_found(&app, member, group).await;
        assert_client_not_found(&app, member, peer).await;
        let own = app.as_user(member, CLIENT_GROUPS, json!({"c": member})).await;
        assert_eq!(data(&own)["client"]["groups"], json!([]), "{own:#}");
    }
    let seen = app.as_user(w.koen, GROUP, json!({"g": group})).await;
    assert_eq!(sorted(&data(&seen)["group"]["members"], "/displayName"), ["Lotte", "Milan"]);
}

async fn a_group_counselor_has_every_member_in_caseload(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    assert_client_not_found(&app, w.koen, w.milan).await;
    let caseload = data(&app.as_user(w.koen, CASELOAD, json!({})).await)["viewer"]["caseload"].clone();
    assert_eq!(caseload, json!([]));

    let group = group(&app, &w, "Quiet group", "INVISIBLE", &[w.lotte, w.milan], &[w.koen]).await;
    for member in [w.lotte, w.milan] {
        let read = app.as_user(w.koen, CLIENT_CONTACT, json!({"c": member})).await;
        let client = &data(&read)["client"];
        assert_eq!(client["contact"]["phone"], "+31 6 1111 2222", "{read:#}");
        assert!(list(&client["viewerAccess"]["bases"]).contains(&json!("CASELOAD")), "{read:#}");
    }
    let caseload = app.as_user(w.koen, CASELOAD, json!({})).await;
    let mut expected = vec![w.lotte.to_string(), w.milan.to_string()];
    expected.sort();
    assert_eq!(sorted(&data(&caseload)["viewer"]["caseload"], "/id"), expected);
    // Noor, in no group of Koen's, stays out of reach; Carla's caseload is unchanged.
    assert_client_not_found(&app, w.koen, w.noor).await;
    let carla = app.as_user(w.carla, CASELOAD, json!({})).await;
    assert_eq!(sorted(&data(&carla)["viewer"]["caseload"], "/id"), [w.lotte.to_string()]);

    // A counselor of the group may start a conversation with a member.
    let sent = send(&app, w.koen, json!({"to": [w.milan], "b": "Welcome to the group"})).await;
    data(&sent);
    assert_eq!(message_notifications(&app, w.milan).await, ["Welcome to the group"]);

    // Leaving the group ends the link.
    data(&app.as_user(w.petra, REMOVE_MEMBER, json!({"g": group, "u": w.milan})).await);
    assert_client_not_found(&app, w.koen, w.milan).await;
    let caseload = app.as_user(w.koen, CASELOAD, json!({})).await;
    assert_eq!(sorted(&data(&caseload)["viewer"]["caseload"], "/id"), [w.lotte.to_string()]);
}

async fn conversations_start_only_with_those_one_may_message_and_replies_reach_participants(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;

    // A client messages her caseload counselor, not another counselor.
    let mut koen_socket = notifications_socket(&app, w.koen).await;
    let refused = send(&app, w.lotte, json!({"to": [w.koen], "b": "Hello Koen"})).await;
    assert_refused(&refused, "FORBIDDEN", None);
    assert_silent(&mut koen_socket, WAIT).await;
    assert!(conversations(&app, w.koen).await.is_empty());
    let mut carla_socket = notifications_socket(&app, w.carla).await;
    let sent = send(&app, w.lotte, json!({"to": [w.carla], "b": "Hello Carla"})).await;
    let sent = &data(&sent)["sendMessage"];
    assert_eq!(sorted(&sent["conversation"]["participants"], "/displayName"), ["Lotte", "carla"]);
    let conversation = id(&sent["conversation"]["id"]);
    assert_eq!(next_notification(&mut carla_socket).await["kind"], "MESSAGE_RECEIVED");
    assert_eq!(message_notifications(&app, w.carla).await, ["Hello Carla"]);

    // The counselor replies; a non-participant cannot use the conversation.
    data(&send(&app, w.carla, json!({"conv": conversation, "b": "Hello Lotte"})).await);
    assert_eq!(message_notifications(&app, w.lotte).await, ["Hello Lotte"]);
    for outsider in [w.koen, w.milan, w.secretary] {
        let refused = send(&app, outsider, json!({"conv": conversation, "b": "Me too"})).await;
        assert_refused(&refused, "NOT_FOUND", None);
    }
    assert_silent(&mut carla_socket, WAIT).await;

    // A counselor starts conversations with caseload clients only; a secretary with any client.
    let refused = send(&app, w.carla, json!({"to": [w.milan], "b": "Hi Milan"})).await;
    assert_refused(&refused, "FORBIDDEN", None);
    let refused = send(&app, w.carla, json!({"to": [w.lotte, w.milan], "b": "Hi both"})).await;
    assert_refused(&refused, "FORBIDDEN", None);
    let secretary = send(&app, w.secretary, json!({"to": [w.milan], "b": "Your appointment"})).await;
    data(&secretary);
    assert_eq!(message_notifications(&app, w.milan).await, ["Your appointment"]);
    assert_eq!(message_notifications(&app, w.lotte).await, ["Hello Lotte"], "refused messages reached no one");

    // Exactly one destination.
    for variables in [
        json!({"b": "Nowhere"}),
        json!({"conv": conversation, "to": [w.carla], "b": "Both"}),
        json!({"to": [w.carla], "g": Uuid::new_v4(), "b": "Both"}),
    ] {
        assert_refused(&send(&app, w.lotte, variables).await, "BAD_USER_INPUT", Some("input"));
    }

    // Everyone sees only the conversations they take part in.
    let lotte = conversations(&app, w.lotte).await;
    assert_eq!(lotte.len(), 1, "{lotte:#?}");
    assert_eq!(lotte[0]["id"], conversation.to_string());
    assert_eq!(
        lotte[0]["messages"]["nodes"],
        json!([
            {"body": "Hello Carla", "sender": {"displayName": "Lotte"}},
            {"body": "Hello Lotte", "sender": {"displayName": "carla"}},
        ])
    );
    let milan = conversations(&app, w.milan).await;
    assert_eq!(milan.len(), 1, "{milan:#?}");
    assert_eq!(sorted(&milan[0]["participants"], "/displayName"), ["Milan", "secretary"]);
    assert_eq!(sorted(&milan[0]["messages"]["nodes"], "/body"), ["Your appointment"]);
    assert_eq!(conversations(&app, w.carla).await.len(), 1);
    assert_eq!(conversations(&app, w.secretary).await.len(), 1);
    assert!(conversations(&app, w.koen).await.is_empty());
    assert!(conversations(&app, w.noor).await.is_empty());
}

async fn a_counselor_sees_only_the_relatives_a_client_brings_into_their_conversation(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let add_relative = "mutation($e: String!, $n: String!) { addRelative(email: $e, displayName: $n) { id } }";
    let ria = app.as_user(w.lotte, add_relative, json!({"e": "ria@linde.example", "n": "Ria"})).await;
    let ria = id(&data(&ria)["addRelative"]["id"]);
    let bart = app.as_user(w.lotte, add_relative, json!({"e": "bart@linde.example", "n": "Bart"})).await;
    let bart = id(&data(&bart)["addRelative"]["id"]);
    let milans = app.as_user(w.milan, add_relative, json!({"e": "mo@linde.example", "n": "Mo"})).await;
    let milans = id(&data(&milans)["addRelative"]["id"]);

    let own = app.as_user(w.lotte, CLIENT_RELATIVES, json!({"c": w.lotte})).await;
    assert_eq!(sorted(&data(&own)["client"]["relatives"], "/displayName"), ["Bart", "Ria"]);
    let before = app.as_user(w.carla, CLIENT_RELATIVES, json!({"c": w.lotte})).await;
    assert_eq!(data(&before)["client"]["relatives"], json!([]), "{before:#}");

    let sent = send(&app, w.lotte, json!({"to": [w.carla], "b": "My sister will join"})).await;
    let conversation = id(&data(&sent)["sendMessage"]["conversation"]["id"]);
    let after_message = app.as_user(w.carla, CLIENT_RELATIVES, json!({"c": w.lotte})).await;
    assert_eq!(data(&after_message)["client"]["relatives"], json!([]), "{after_message:#}");

    // Only the client's own relatives can be brought in; nothing changes otherwise.
    for stranger in [w.milan, milans, w.koen] {
        let refused = app.as_user(w.lotte, ADD_TO_CONVERSATION, json!({"c": conversation, "u": stranger})).await;
        assert_refused(&refused, "FORBIDDEN", None);
    }
    let added = app.as_user(w.lotte, ADD_TO_CONVERSATION, json!({"c": conversation, "u": ria})).await;
    assert_eq!(sorted(&data(&added)["addToConversation"]["participants"], "/displayName"), ["Lotte", "Ria", "carla"]);

    let after = app.as_user(w.carla, CLIENT_RELATIVES, json!({"c": w.lotte})).await;
    assert_eq!(data(&after)["client"]["relatives"], json!([{"displayName": "Ria"}]), "only the relative brought in");
    assert!(!after.to_string().contains("Bart"), "{after:#}");
    // Another counselor, sharing no conversation with her, still sees none.
    group(&app, &w, "Quiet group", "INVISIBLE", &[w.lotte], &[w.koen]).await;
    let koen = app.as_user(w.koen, CLIENT_RELATIVES, json!({"c": w.lotte})).await;
    assert_eq!(data(&koen)["client"]["relatives"], json!([]), "{koen:#}");

    // The relative takes part from now on: replies reach her.
    data(&send(&app, w.carla, json!({"conv": conversation, "b": "Welcome Ria"})).await);
    assert_eq!(message_notifications(&app, ria).await, ["Welcome Ria"]);
    assert!(message_notifications(&app, bart).await.is_empty());
    let hers = conversations(&app, ria).await;
    assert_eq!(hers.len(), 1, "{hers:#?}");
    assert_eq!(sorted(&hers[0]["messages"]["nodes"], "/body"), ["My sister will join", "Welcome Ria"]);
    assert!(conversations(&app, bart).await.is_empty());
}

on_every_database!(
    only_a_counselor_plus_manages_groups_of_clients_guardians_and_externals,
    an_invisible_group_does_not_exist_for_members_while_its_counselors_see_and_report,
    in_a_client_visible_group_members_see_its_counselors_and_message_them_all,
    in_a_mutual_group_members_see_and_message_each_other_until_it_turns_invisible,
    a_group_counselor_has_every_member_in_caseload,
    conversations_start_only_with_those_one_may_message_and_replies_reach_participants,
    a_counselor_sees_only_the_relatives_a_client_brings_into_their_conversation,
);
