//! Finding people: the professionals tab with its role filter, searching by name (and by address
//! only where the viewer reads addresses), a client's own circle, paging by name; and whom a
//! delegation may go to.

use inzage_entity::Role;
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, data, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

const USERS: &str = "query($f: UserFilter, $first: Int, $after: String) {
    users(filter: $f, first: $first, after: $after) {
        pageInfo { hasNextPage endCursor } edges { cursor node { id } } nodes { id displayName } } }";
const CREATE_PROFESSIONAL: &str = "mutation($e: String!, $n: String!, $a: Boolean!) {
    createUser(input: {email: $e, displayName: $n, roles: [COUNSELOR], acceptsDelegations: $a}) { id } }";
const LINK_SUPERVISOR: &str = "mutation($c: ID!, $s: ID!) { linkSupervisor(clientId: $c, supervisorId: $s) { id } }";
const ADD_RELATIVE: &str = "mutation($e: String!, $n: String!) { addRelative(email: $e, displayName: $n) { id } }";
const SET_ACTIVE: &str = "mutation($u: ID!, $a: Boolean!) { setUserActive(userId: $u, active: $a) { id } }";
const CREATE_PROVIDER: &str = "mutation($n: String!) { createProvider(input: {name: $n}) { id } }";
const CREATE_PROGRAM: &str =
    "mutation($p: ID!, $n: String!) { createProgram(input: {providerId: $p, name: $n}) { id } }";
const CANDIDATES: &str = "query($p: ID!) { delegationCandidates(providerId: $p) { id displayName } }";
const OPEN_DEPLOYMENT: &str = "mutation($c: ID!) {
    openTrajectory(input: {clientId: $c, title: \"Intervention\", kind: INTERVENTION_DEPLOYMENT}) { tasks { id } } }";
const CONFIRM: &str = "mutation($t: ID!, $p: ID!) { confirmIntervention(taskId: $t, programId: $p) {
    delegationTask { id } } }";

/// De Linde's people, and another organisation whose names look alike.
struct World {
    admin: Uuid,
    secretary: Uuid,
    /// COUNSELOR with Lotte and Milan in her caseload.
    carla: Uuid,
    /// COUNSELORs: Koen accepts delegations, Sofie does not.
    koen: Uuid,
    sofie: Uuid,
    stan: Uuid,
    lotte: Uuid,
    milan: Uuid,
    /// Lotte's relative.
    rik: Uuid,
    /// Of Elders: a counselor who accepts delegations, and its administrator.
    elders_counselor: Uuid,
    elders_admin: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let professional = |email: &'static str, name: &'static str, accepts: bool| async move {
        let created = app.as_user(admin, CREATE_PROFESSIONAL, json!({"e": email, "n": name, "a": accepts})).await;
        id(&data(&created)["createUser"]["id"])
    };
    let koen = professional("koen@linde.example", "Koen", true).await;
    let sofie = professional("sofie@linde.example", "Sofie", false).await;
    let stan = app.user(org, "stan@linde.example", &[Role::Supervisor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let milan = app.client_created_by(carla, "milan@linde.example", "Milan").await;
    data(&app.as_user(secretary, LINK_SUPERVISOR, json!({"c": lotte, "s": stan})).await);
    let rik = app.as_user(lotte, ADD_RELATIVE, json!({"e": "rik@linde.example", "n": "Rik"})).await;
    let rik = id(&data(&rik)["addRelative"]["id"]);
    let (elders, elders_admin) = app.organization("Elders").await;
    let elders_counselor = app.user(elders, "lotte.koen@elders.example", &[Role::Counselor]).await;
    World { admin, secretary, carla, koen, sofie, stan, lotte, milan, rik, elders_counselor, elders_admin }
}

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

/// The ids `viewer` finds with `filter` (one page of up to 200).
async fn found(app: &TestApp, viewer: Uuid, filter: Value) -> Vec<Uuid> {
    let response = app.as_user(viewer, USERS, json!({"f": filter, "first": 200})).await;
    data(&response)["users"]["nodes"].as_array().expect("nodes").iter().map(|n| id(&n["id"])).collect()
}

/// The display names `viewer` finds with `filter`, in the order given.
async fn found_names(app: &TestApp, viewer: Uuid, filter: Value) -> Vec<String> {
    let response = app.as_user(viewer, USERS, json!({"f": filter, "first": 200})).await;
    let nodes = data(&response)["users"]["nodes"].as_array().expect("nodes").clone();
    nodes.iter().map(|n| n["displayName"].as_str().expect("a name").to_owned()).collect()
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort_unstable();
    ids
}

async fn professionals_find_their_organisation_by_name_role_and_state(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let everyone = sorted(vec![w.admin, w.secretary, w.carla, w.koen, w.sofie, w.stan, w.lotte, w.milan, w.rik]);
    for viewer in [w.admin, w.secretary, w.carla, w.stan] {
        assert_eq!(sorted(found(&app, viewer, json!(null)).await), everyone, "never another organisation's");
        let names = found_names(&app, viewer, json!(null)).await;
        let mut by_name = names.clone();
        by_name.sort_by_key(|name| name.to_lowercase());
        assert_eq!(names, by_name, "ordered by display name, ignoring case");
        assert_eq!(sorted(found(&app, viewer, json!({"roles": ["CLIENT"]})).await), sorted(vec![w.lotte, w.milan]));
        let counselors = found(&app, viewer, json!({"roles": ["COUNSELOR", "SUPERVISOR"]})).await;
        assert_eq!(sorted(counselors), sorted(vec![w.carla, w.koen, w.sofie, w.stan]));
        assert_eq!(found(&app, viewer, json!({"acceptsDelegations": true})).await, [w.koen]);
        // The name matches ignoring case; Elders' "lotte.koen" is never found.
        assert_eq!(found(&app, viewer, json!({"search": " LOT"})).await, [w.lotte]);
        assert_eq!(found(&app, viewer, json!({"search": "ko", "roles": ["COUNSELOR"]})).await, [w.koen]);
        assert_eq!(found(&app, viewer, json!({"search": "%"})).await, Vec::<Uuid>::new(), "% is a character");
    }
    // Only those who read addresses find people by address.
    for viewer in [w.admin, w.secretary] {
        assert_eq!(found(&app, viewer, json!({"search": "stan@linde"})).await, [w.stan]);
    }
    for viewer in [w.carla, w.stan] {
        assert!(found(&app, viewer, json!({"search": "stan@linde"})).await.is_empty(), "no address probing");
    }
    data(&app.as_user(w.admin, SET_ACTIVE, json!({"u": w.sofie, "a": false})).await);
    assert_eq!(found(&app, w.carla, json!({"active": false})).await, [w.sofie]);
    assert!(!found(&app, w.carla, json!({"active": true})).await.contains(&w.sofie));

    let too_long = app.as_user(w.carla, USERS, json!({"f": {"search": "x".repeat(201)}})).await;
    assert_eq!(error_code(&too_long), Some("BAD_USER_INPUT"), "{too_long:#}");
    assert_eq!(too_long["errors"][0]["extensions"]["field"], "filter.search");
}

async fn pages_follow_the_display_name_and_never_repeat(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let all = found_names(&app, w.admin, json!(null)).await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let response = app.as_user(w.admin, USERS, json!({"first": 2, "after": after})).await;
        let page = &data(&response)["users"];
        let nodes = page["nodes"].as_array().expect("nodes");
        assert!(nodes.len() <= 2, "{page:#}");
        seen.extend(nodes.iter().map(|n| n["displayName"].as_str().expect("a name").to_owned()));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        assert_eq!(after.as_deref(), page["edges"][1]["cursor"].as_str(), "the cursor of the last edge");
    }
    assert_eq!(seen, all, "the pages together are the whole list, in order");
    let bad = app.as_user(w.admin, USERS, json!({"after": "not-a-cursor"})).await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "{bad:#}");
}

async fn clients_and_relatives_find_only_the_people_linked_to_them(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    // Lotte: herself, her counselor, her supervisor and her relative; not Milan, not Koen.
    assert_eq!(sorted(found(&app, w.lotte, json!(null)).await), sorted(vec![w.lotte, w.carla, w.stan, w.rik]));
    assert_eq!(found(&app, w.lotte, json!({"roles": ["SUPERVISOR"]})).await, [w.stan]);
    assert!(found(&app, w.lotte, json!({"search": "lotte@linde"})).await.is_empty(), "no address search");
    // Rik: himself and Lotte. Milan: himself and Carla.
    assert_eq!(sorted(found(&app, w.rik, json!(null)).await), sorted(vec![w.rik, w.lotte]));
    assert_eq!(sorted(found(&app, w.milan, json!(null)).await), sorted(vec![w.milan, w.carla]));
    // `user(id)` agrees: a linked account is found, any other is NOT_FOUND.
    let user = "query($u: ID!) { user(id: $u) { displayName } }";
    assert_eq!(data(&app.as_user(w.lotte, user, json!({"u": w.carla})).await)["user"]["displayName"], "carla");
    for hidden in [w.koen, w.milan, w.elders_counselor] {
        let refused = app.as_user(w.lotte, user, json!({"u": hidden})).await;
        assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused:#}");
    }
    // Whatever the filter, nothing of Elders.
    for filter in [json!({"search": "koen"}), json!({"roles": ["COUNSELOR"]})] {
        assert!(!found(&app, w.lotte, filter).await.contains(&w.elders_counselor));
    }
}

async fn delegation_candidates_are_for_who_names_executors_or_delegates_for_the_provider(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let provider =
        id(&data(&app.as_user(w.admin, CREATE_PROVIDER, json!({"n": "Herstel"})).await)["createProvider"]["id"]);
    let program = app.as_user(w.admin, CREATE_PROGRAM, json!({"p": provider, "n": "Re-integration"})).await;
    let program = id(&data(&program)["createProgram"]["id"]);
    let candidates = |response: &Value| -> Vec<Uuid> {
        data(response)["delegationCandidates"].as_array().expect("users").iter().map(|u| id(&u["id"])).collect()
    };

    // The administrator names executors: Koen is the only active care professional who accepts.
    assert_eq!(candidates(&app.as_user(w.admin, CANDIDATES, json!({"p": provider})).await), [w.koen]);
    // Others of the organisation may not; another organisation and clients do not find it.
    for who in [w.secretary, w.carla, w.stan] {
        let refused = app.as_user(who, CANDIDATES, json!({"p": provider})).await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused:#}");
    }
    for who in [w.elders_admin, w.lotte] {
        let refused = app.as_user(who, CANDIDATES, json!({"p": provider})).await;
        assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused:#}");
    }

    // Carla may choose once she has a DELEGATE_DOSSIER task for one of its programs.
    let opened = app.as_user(w.carla, OPEN_DEPLOYMENT, json!({"c": w.lotte})).await;
    let task = id(&data(&opened)["openTrajectory"]["tasks"][0]["id"]);
    let started = app.as_user(w.carla, CONFIRM, json!({"t": task, "p": program})).await;
    assert!(data(&started)["confirmIntervention"]["delegationTask"]["id"].is_string(), "{started:#}");
    assert_eq!(candidates(&app.as_user(w.carla, CANDIDATES, json!({"p": provider})).await), [w.koen]);
    let other = app.as_user(w.admin, CREATE_PROVIDER, json!({"n": "Elsewhere"})).await;
    let other = id(&data(&other)["createProvider"]["id"]);
    let refused = app.as_user(w.carla, CANDIDATES, json!({"p": other})).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "the task is for another provider's program");
    let refused = app.as_user(w.sofie, CANDIDATES, json!({"p": provider})).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "Sofie does not work on that task");
}

on_every_database!(
    professionals_find_their_organisation_by_name_role_and_state,
    pages_follow_the_display_name_and_never_repeat,
    clients_and_relatives_find_only_the_people_linked_to_them,
    delegation_candidates_are_for_who_names_executors_or_delegates_for_the_provider,
);
