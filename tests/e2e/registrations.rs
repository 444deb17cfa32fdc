//! Registrations: signing up without a token, the same receipt whatever is known, limits per
//! address and organisation, and the secretary who accepts (a CLIENT account) or rejects.

use std::time::Duration;

use inzage_entity::Role;
use inzage_testkit::live::{connect, next_notification, subscribe_notifications};
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, covers, data, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

const SUBMIT: &str = "mutation($i: RegistrationInput!) { submitRegistration(input: $i) { received } }";
const REGISTRATIONS: &str = "query($s: RegistrationStatus) { registrations(status: $s) {
    nodes { id displayName email phone birthDate note status processedAt processedBy { id } reason
            client { id displayName contact { phone } } } } }";
const ACCEPT: &str = "mutation($r: ID!, $c: ID) { acceptRegistration(registrationId: $r, counselorId: $c) {
    status processedBy { id } client { id displayName } } }";
const REJECT: &str =
    "mutation($r: ID!, $why: String!) { rejectRegistration(registrationId: $r, reason: $why) { status reason } }";
const CASELOAD: &str = "{ viewer { caseload { id displayName } } }";

struct World {
    org: Uuid,
    admin: Uuid,
    secretary: Uuid,
    carla: Uuid,
    lotte: Uuid,
    /// The secretary of another organisation.
    elsewhere: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let (other, _) = app.organization("Elders").await;
    let elsewhere = app.user(other, "secretary@elders.example", &[Role::Secretary]).await;
    World { org, admin, secretary, carla, lotte, elsewhere }
}

fn input(org: Uuid, email: &str) -> Value {
    json!({"organizationId": org, "displayName": " Sam de Boer ", "email": email, "phone": "+31 6 1234 5678",
           "birthDate": "1990-04-01", "note": "Via de huisarts."})
}

async fn submit(app: &TestApp, input: Value) -> Value {
    app.graphql(None, SUBMIT, json!({"i": input})).await
}

async fn pending(app: &TestApp, viewer: Uuid) -> Vec<Value> {
    let response = app.as_user(viewer, REGISTRATIONS, json!({"s": "PENDING"})).await;
    data(&response)["registrations"]["nodes"].as_array().expect("nodes").clone()
}

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

async fn anyone_signs_up_and_the_receipt_tells_nothing(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let mut socket = connect(app.addr, &app.token(w.secretary)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A new address, a known one, an unknown organisation: the same answer.
    let receipts = [
        submit(&app, input(w.org, "sam@example.org")).await,
        submit(&app, input(w.org, "lotte@linde.example")).await,
        submit(&app, input(Uuid::now_v7(), "sam@example.org")).await,
    ];
    for receipt in &receipts {
        assert_eq!(receipt, &json!({"data": {"submitRegistration": {"received": true}}}));
    }
    let live = next_notification(&mut socket).await;
    assert_eq!(live["kind"], "REGISTRATION_RECEIVED", "{live:#}");

    // The secretary sees the two of her organisation, oldest first; the unknown one stored nothing.
    let found = pending(&app, w.secretary).await;
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0]["displayName"], "Sam de Boer");
    assert_eq!(found[0]["email"], "sam@example.org");
    assert_eq!(found[0]["birthDate"], "1990-04-01");
    assert_eq!(found[0]["note"], "Via de huisarts.");
    assert_eq!(found[0]["status"], "PENDING");
    assert!(pending(&app, w.elsewhere).await.is_empty(), "another organisation sees none of them");

    // Bad input is refused at its field, and stores nothing.
    for (field, bad) in [
        ("input.email", json!({"email": "not an address"})),
        ("input.displayName", json!({"displayName": "  "})),
        ("input.birthDate", json!({"birthDate": "2999-01-01"})),
        ("input.organizationId", json!({"organizationId": "nope"})),
    ] {
        let mut request = input(w.org, "new@example.org");
        for (key, value) in bad.as_object().unwrap() {
            request[key] = value.clone();
        }
        let refused = submit(&app, request).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused:#}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], field, "{refused:#}");
    }
    assert_eq!(pending(&app, w.secretary).await.len(), 2);
}

async fn registrations_are_limited_per_address_and_per_organisation(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |settings| {
        settings.rate_registration_address = "2/1h".parse().expect("a limit");
        settings.rate_registration_organization = "3/1h".parse().expect("a limit");
        settings.client_address_header = Some("x-forwarded-for".to_owned());
    })
    .await;
    let w = world(&app).await;
    let from = |address: &str, email: &str| {
        let body = json!({"query": SUBMIT, "variables": {"i": input(w.org, email)}});
        let address = format!("198.51.100.7, {address}");
        async move {
            let response = reqwest::Client::new()
                .post(format!("http://{}/graphql", app.addr))
                .header("x-forwarded-for", address)
                .json(&body)
                .send()
                .await
                .expect("a response");
            response.json::<Value>().await.expect("JSON")
        }
    };
    assert_eq!(data(&from("203.0.113.1", "a@example.org").await)["submitRegistration"]["received"], true);
    assert_eq!(data(&from("203.0.113.1", "b@example.org").await)["submitRegistration"]["received"], true);
    let third = from("203.0.113.1", "c@example.org").await;
    assert_eq!(error_code(&third), Some("RATE_LIMITED"), "the address's third: {third:#}");
    // Another address may, until the organisation's limit is reached.
    assert_eq!(data(&from("203.0.113.2", "d@example.org").await)["submitRegistration"]["received"], true);
    let fifth = from("203.0.113.3", "e@example.org").await;
    assert_eq!(error_code(&fifth), Some("RATE_LIMITED"), "the organisation's fourth: {fifth:#}");
    assert_eq!(pending(&app, w.secretary).await.len(), 3, "refused submissions store nothing");
}

async fn the_secretary_accepts_into_a_client_account_or_rejects(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    for email in ["sam@example.org", "lotte@linde.example", "kim@example.org"] {
        data(&submit(&app, input(w.org, email)).await);
    }
    let found = pending(&app, w.secretary).await;
    let (sam, taken, kim) = (id(&found[0]["id"]), id(&found[1]["id"]), id(&found[2]["id"]));

    // Only the office reads and processes them; another organisation does not find them.
    for who in [w.carla, w.lotte] {
        let refused = app.as_user(who, REGISTRATIONS, json!({})).await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused:#}");
        assert_eq!(error_code(&app.as_user(who, ACCEPT, json!({"r": sam})).await), Some("FORBIDDEN"));
    }
    assert_eq!(error_code(&app.as_user(w.elsewhere, ACCEPT, json!({"r": sam})).await), Some("NOT_FOUND"));
    assert_eq!(
        error_code(&app.as_user(w.secretary, ACCEPT, json!({"r": sam, "c": w.lotte})).await),
        Some("BAD_USER_INPUT")
    );

    // Accepting with Carla makes Sam a client in her caseload, with the phone given.
    let accepted = app.as_user(w.secretary, ACCEPT, json!({"r": sam, "c": w.carla})).await;
    let accepted = &data(&accepted)["acceptRegistration"];
    assert_eq!(accepted["status"], "ACCEPTED");
    assert_eq!(accepted["processedBy"]["id"], w.secretary.to_string());
    assert_eq!(accepted["client"]["displayName"], "Sam de Boer");
    let client = id(&accepted["client"]["id"]);
    let caseload = app.as_user(w.carla, CASELOAD, json!({})).await;
    assert!(data(&caseload)["viewer"]["caseload"].as_array().unwrap().iter().any(|c| c["id"] == client.to_string()));
    let again = app.as_user(w.admin, ACCEPT, json!({"r": sam})).await;
    assert_eq!(error_code(&again), Some("CONFLICT"), "processed once: {again:#}");

    // A taken address is a conflict and changes nothing; rejecting needs a reason.
    assert_eq!(error_code(&app.as_user(w.secretary, ACCEPT, json!({"r": taken})).await), Some("CONFLICT"));
    let blank = app.as_user(w.secretary, REJECT, json!({"r": taken, "why": " "})).await;
    assert_eq!(blank["errors"][0]["extensions"]["field"], "reason", "{blank:#}");
    let rejected = app.as_user(w.admin, REJECT, json!({"r": taken, "why": "Already a client."})).await;
    assert_eq!(data(&rejected)["rejectRegistration"], json!({"status": "REJECTED", "reason": "Already a client."}));
    let left = pending(&app, w.secretary).await;
    assert_eq!(left.iter().map(|r| id(&r["id"])).collect::<Vec<_>>(), [kim]);
    let accepted = app.as_user(w.secretary, REGISTRATIONS, json!({"s": "ACCEPTED"})).await;
    let node = &data(&accepted)["registrations"]["nodes"][0];
    assert_eq!(node["client"]["contact"]["phone"], "+31 6 1234 5678", "{node:#}");

    // The new client's access log has the account's creation; the reads are logged too.
    let log =
        "query($c: ID!) { client(id: $c) { accessLog(first: 50) { nodes { action objectTypes actor { id } } } } }";
    let log = app.as_user(client, log, json!({"c": client})).await;
    let rows = data(&log)["client"]["accessLog"]["nodes"].as_array().unwrap().clone();
    assert!(rows.iter().any(|r| r["action"] == "CREATE" && covers(r, "Account")), "{rows:#?}");
    assert!(rows.iter().any(|r| r["action"] == "UPDATE" && covers(r, "Registration")), "{rows:#?}");
    use inzage_entity::audit_event;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let reads = audit_event::Entity::find()
        .filter(audit_event::Column::ObjectType.eq("Registration"))
        .filter(audit_event::Column::Action.eq(inzage_entity::AuditAction::Read))
        .filter(audit_event::Column::ActorId.eq(w.secretary))
        .count(app.app.db.conn())
        .await
        .expect("count");
    assert!(reads >= 2, "each read of the registrations is logged: {reads}");
}

on_every_database!(
    anyone_signs_up_and_the_receipt_tells_nothing,
    registrations_are_limited_per_address_and_per_organisation,
    the_secretary_accepts_into_a_client_account_or_rejects,
);
