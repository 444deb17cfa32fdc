//! "Who can see me, and why": a client's (or guardian's) view of everyone with a basis towards
//! them now. Checked against each holder's own `viewerAccess`, for every basis there is.

use std::collections::{BTreeSet, HashMap};

use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, covers, data, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

pub(crate) const HOLDERS: &str = "query($c: ID!) { client(id: $c) { accessHolders {
    user { id displayName } bases canReadContact canReadDossier canWriteDossier until
    consentRequest { id status } delegation { id status } emergencyAccess { id reason } } } }";
const VIEWER_ACCESS: &str = "query($c: ID!) { client(id: $c) {
    viewerAccess { bases canReadContact canReadDossier canWriteDossier expiresAt } } }";
pub(crate) const CREATE_USER: &str = "mutation($e: String!, $n: String!, $r: [Role!]!) {
    createUser(input: {email: $e, displayName: $n, roles: $r}) { id } }";
const LINK_GUARDIAN: &str = "mutation($c: ID!, $g: ID!) { linkGuardian(clientId: $c, guardianId: $g) { id } }";
const BREAK: &str =
    "mutation($c: ID!) { breakGlass(clientId: $c, reason: \"Crisis call at night, counselor away\") { id } }";
const PROGRAMS: &str = "{ viewer { providers { programs { id hasEffectiveExecutor } } } }";
const OPEN_DEPLOYMENT: &str = "mutation($c: ID!) {
    openTrajectory(input: {clientId: $c, title: \"Re-integration\", kind: INTERVENTION_DEPLOYMENT}) { tasks { id } } }";
const CONFIRM: &str =
    "mutation($t: ID!, $p: ID!) { confirmIntervention(taskId: $t, programId: $p) { delegation { id } } }";
const ALL_BASES: [&str; 12] = [
    "SELF",
    "GUARDIAN",
    "CASELOAD",
    "SUPERVISOR",
    "TRAJECTORY",
    "TEAM",
    "DELEGATION",
    "CONSENT",
    "EMERGENCY",
    "SECRETARY",
    "GROUP_PEER",
    "RELATIVE",
];

pub(crate) fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

/// The demo, with Lotte given the bases the demo does not give her: a guardian, emergency
/// access and a delegation. Returns Lotte, her guardian, and everyone who might see her.
pub(crate) async fn lotte_seen_on_every_basis(app: &TestApp) -> (Uuid, Uuid, Vec<Uuid>) {
    let demo = inzage_api::demo::accounts(&app.app.db).await.expect("the demo accounts");
    let by_email = |email: &str| demo.iter().find(|a| a.email == email).unwrap_or_else(|| panic!("{email}")).id;
    let (lotte, carla, admin) =
        (by_email("lotte@delinde.example"), by_email("carla@delinde.example"), by_email("admin@delinde.example"));
    let create = |email: &'static str, name: &'static str, role: &'static str| async move {
        let created = app.as_user(admin, CREATE_USER, json!({"e": email, "n": name, "r": [role]})).await;
        id(&data(&created)["createUser"]["id"])
    };
    let guardian = create("guus@delinde.example", "Guus", "GUARDIAN").await;
    data(&app.as_user(carla, LINK_GUARDIAN, json!({"c": lotte, "g": guardian})).await);
    let night = create("nina@delinde.example", "Nina", "COUNSELOR").await;
    data(&app.as_user(night, BREAK, json!({"c": lotte})).await);
    let programs = app.as_user(carla, PROGRAMS, json!({})).await;
    let programs: Vec<Value> = data(&programs)["viewer"]["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .flat_map(|p| p["programs"].as_array().cloned().unwrap_or_default())
        .collect();
    let program = programs.iter().find(|p| p["hasEffectiveExecutor"] == true).expect("a program with an executor");
    let opened = app.as_user(carla, OPEN_DEPLOYMENT, json!({"c": lotte})).await;
    let task = id(&data(&opened)["openTrajectory"]["tasks"][0]["id"]);
    let confirmed = app.as_user(carla, CONFIRM, json!({"t": task, "p": program["id"]})).await;
    assert!(data(&confirmed)["confirmIntervention"]["delegation"]["id"].is_string(), "{confirmed:#}");
    let mut everyone: Vec<Uuid> = demo.iter().map(|a| a.id).collect();
    everyone.extend([guardian, night]);
    (lotte, guardian, everyone)
}

async fn every_holder_is_listed_with_what_their_own_view_of_the_client_says(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |settings| settings.demo = Some(true)).await;
    let (lotte, guardian, everyone) = lotte_seen_on_every_basis(&app).await;

    let listed = app.as_user(lotte, HOLDERS, json!({"c": lotte})).await;
    let holders = data(&listed)["client"]["accessHolders"].as_array().expect("holders").clone();
    let by_id: HashMap<Uuid, &Value> = holders.iter().map(|h| (id(&h["user"]["id"]), h)).collect();
    assert_eq!(by_id.len(), holders.len(), "each holder once");
    let names: Vec<String> =
        holders.iter().map(|h| h["user"]["displayName"].as_str().unwrap().to_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by display name");

    // Everyone who can see Lotte is listed, with exactly what their own view says; nobody else.
    for &user in &everyone {
        let own = app.as_user(user, VIEWER_ACCESS, json!({"c": lotte})).await;
        match (error_code(&own), by_id.get(&user)) {
            (Some("NOT_FOUND"), None) => {}
            (None, Some(holder)) => {
                let view = &data(&own)["client"]["viewerAccess"];
                let listed_bases: BTreeSet<&str> =
                    holder["bases"].as_array().unwrap().iter().map(|b| b.as_str().unwrap()).collect();
                let own_bases: BTreeSet<&str> =
                    view["bases"].as_array().unwrap().iter().map(|b| b.as_str().unwrap()).collect();
                assert_eq!(listed_bases, own_bases, "{user}: {holder:#} vs {view:#}");
                for flag in ["canReadContact", "canReadDossier", "canWriteDossier"] {
                    assert_eq!(holder[flag], view[flag], "{flag} of {user}: {holder:#} vs {view:#}");
                }
                assert_eq!(holder["until"], view["expiresAt"], "{user}: {holder:#} vs {view:#}");
                let grants =
                    [("CONSENT", "consentRequest"), ("DELEGATION", "delegation"), ("EMERGENCY", "emergencyAccess")];
                for (basis, grant) in grants {
                    assert_eq!(listed_bases.contains(basis), holder[grant].is_object(), "{grant} of {holder:#}");
                }
            }
            (code, holder) => panic!("{user}: own view {code:?} {own:#}, listed {holder:?}"),
        }
    }
    let covered: BTreeSet<&str> =
        holders.iter().flat_map(|h| h["bases"].as_array().unwrap().iter().map(|b| b.as_str().unwrap())).collect();
    assert_eq!(covered, ALL_BASES.into_iter().collect(), "the test covers every basis");

    // The guardian sees the same list; others may not ask; the read is in Lotte's log.
    let theirs = app.as_user(guardian, HOLDERS, json!({"c": lotte})).await;
    assert_eq!(data(&theirs)["client"]["accessHolders"], Value::Array(holders.clone()));
    for user in everyone.iter().filter(|&&u| u != lotte && u != guardian) {
        let refused = app.as_user(*user, HOLDERS, json!({"c": lotte})).await;
        assert!(matches!(error_code(&refused), Some("FORBIDDEN" | "NOT_FOUND")), "{user}: {refused:#}");
        assert!(refused["data"]["client"].is_null() || refused["data"]["client"]["accessHolders"].is_null());
    }
    let log =
        "query($c: ID!) { client(id: $c) { accessLog(first: 200) { nodes { objectTypes outcome actor { id } } } } }";
    let log = app.as_user(lotte, log, json!({"c": lotte})).await;
    let rows = data(&log)["client"]["accessLog"]["nodes"].as_array().unwrap().clone();
    assert!(rows.iter().any(|r| covers(r, "AccessHolders") && r["actor"]["id"] == guardian.to_string()));
    assert!(rows.iter().any(|r| covers(r, "AccessHolders") && r["outcome"] == "DENIED"));
}

on_every_database!(every_holder_is_listed_with_what_their_own_view_of_the_client_says,);
