//! Professionals in workflows, with the participant's consent: a partner's
//! projects and workflows, participants opening them, consent requests answered, revoked,
//! expiring and assigned, and who reads which results — all through GraphQL as portals would.

use inzage_testkit::on_every_database;
use std::time::Duration;

use chrono::{DateTime, Utc};
use inzage_entity::{OrganizationKind, Role, email_outbox};
use inzage_testkit::live::{self, Socket, assert_silent, connect, next_notification, subscribe_notifications};
use inzage_testkit::{Backend, TestApp, covers, data, error_code, paths_with};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

const CREATE_PROJECT: &str =
    "mutation($n: String!) { createProject(input: {name: $n}) { id name organization { name kind } } }";
const CREATE_WORKFLOW: &str = "mutation($p: ID!, $n: String!, $a: Boolean!) {
    createWorkflow(input: {projectId: $p, name: $n, allowAppendProfessionals: $a}) {
        id name allowAppendProfessionals project { id name } } }";
const ADD_PROFESSIONALS: &str = "mutation($w: ID!, $p: [ID!]!, $d: Int!, $r: String!) {
    addWorkflowProfessionals(input: {workflowId: $w, professionalIds: $p, accessDays: $d, reason: $r}) {
        id professionals { professional { id displayName } accessDays reason } } }";
const WORKFLOW: &str = "query($w: ID!) { workflow(id: $w) {
    id name allowAppendProfessionals project { name }
    professionals { professional { displayName } accessDays reason } } }";
const START: &str = "mutation($w: ID!) { startWorkflow(workflowId: $w) {
    id startedAt participant { id displayName } workflow { id }
    consentRequests { id kind status professional { displayName } } } }";
const RESPOND: &str = "mutation($r: ID!, $a: Boolean!) { respondToConsentRequest(requestId: $r, accept: $a) {
    id kind status decidedAt grantedUntil accessDays professional { displayName } client { displayName } } }";
const REVOKE: &str = "mutation($r: ID!) { revokeConsent(requestId: $r) { id status professional { displayName } } }";
const ASSIGN: &str = "mutation($w: ID!, $ps: [ID!]!, $p: ID!, $e: DateTime!, $r: String!) {
    assignProfessional(input: {workflowId: $w, participantIds: $ps, professionalId: $p, endsAt: $e, reason: $r}) {
        id kind status reason endsAt grantedUntil client { id displayName } professional { displayName } } }";
const REQUESTS: &str = "query($s: ConsentStatus) { viewer { consentRequests(status: $s) {
    id kind status client { displayName } professional { displayName } grantedUntil } } }";
const ADD_RESULT: &str = "mutation($c: ID!, $w: ID!, $t: String!) {
    addDossierEntry(clientId: $c, input: {kind: RESULT, title: $t, body: \"Measured at home\", workflowId: $w}) {
        id kind title workflow { id } } }";
const RESULTS: &str = "query($w: ID!) { workflow(id: $w) {
    participations { participant { id displayName } results { title } } } }";
const CLIENT_DOSSIER: &str = "query($c: ID!) { client(id: $c) {
    displayName dossier { nodes { kind title } } viewerAccess { bases expiresAt } } }";
const CLIENT_CONTACT: &str = "query($c: ID!) { client(id: $c) { displayName contact { email } } }";
const NOTIFICATIONS: &str =
    "{ viewer { notifications(first: 100) { nodes { kind title consentRequest { id kind status } } } } }";
const CONSENT_SUBSCRIPTION: &str = "subscription { consentRequests { id kind status professional { displayName } } }";

/// A partner organisation running a health check, and a care provider whose clients take part.
struct World {
    admin: Uuid,
    /// COUNSELOR of the partner.
    piet: Uuid,
    /// SUPERVISOR of the partner.
    sara: Uuid,
    /// COUNSELOR_PLUS of the partner.
    kees: Uuid,
    /// COUNSELOR of the partner, assigned later (never a workflow professional).
    karin: Uuid,
    /// SECRETARY of the partner: no professional in workflows.
    secretary: Uuid,
    /// COUNSELOR of the care provider, with Lotte and Milan in her caseload.
    carla: Uuid,
    lotte: Uuid,
    milan: Uuid,
    project: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (partner, admin) = app.organization_of_kind("Gezond Partners", OrganizationKind::Partner).await;
    let piet = app.user(partner, "piet@gezond.example", &[Role::Counselor]).await;
    let sara = app.user(partner, "sara@gezond.example", &[Role::Supervisor]).await;
    let kees = app.user(partner, "kees@gezond.example", &[Role::CounselorPlus]).await;
    let karin = app.user(partner, "karin@gezond.example", &[Role::Counselor]).await;
    let secretary = app.user(partner, "secretary@gezond.example", &[Role::Secretary]).await;
    let (care, _) = app.organization("De Linde").await;
    let carla = app.user(care, "carla@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let milan = app.client_created_by(carla, "milan@linde.example", "Milan").await;
    let project = app.as_user(admin, CREATE_PROJECT, json!({"n": "Health check 2026"})).await;
    let project = id(&data(&project)["createProject"]["id"]);
    World { admin, piet, sara, kees, karin, secretary, carla, lotte, milan, project }
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

/// The `extensions.field` of the first error.
fn error_field(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["field"].as_str()
}

impl World {
    async fn workflow(&self, app: &TestApp, name: &str, allow_append: bool) -> Uuid {
        let response =
            app.as_user(self.admin, CREATE_WORKFLOW, json!({"p": self.project, "n": name, "a": allow_append})).await;
        id(&data(&response)["createWorkflow"]["id"])
    }
}

async fn add_professionals(app: &TestApp, admin: Uuid, workflow: Uuid, ids: &[Uuid], days: i32) -> Value {
    app.as_user(
        admin,
        ADD_PROFESSIONALS,
        json!({"w": workflow, "p": ids, "d": days, "r": "Follow-up of the health check"}),
    )
    .await
}

/// Starts `workflow` as `client`; returns the participation.
async fn start(app: &TestApp, client: Uuid, workflow: Uuid) -> Value {
    data(&app.as_user(client, START, json!({"w": workflow})).await)["startWorkflow"].clone()
}

/// The id of the request of `kind` (for `professional`, when named) among `requests`.
fn request_id(requests: &Value, kind: &str, professional: Option<&str>) -> Uuid {
    let found = list(requests)
        .into_iter()
        .find(|r| r["kind"] == kind && professional.is_none_or(|name| r["professional"]["displayName"] == name))
        .unwrap_or_else(|| panic!("a {kind} request for {professional:?} in {requests:#}"));
    id(&found["id"])
}

async fn respond(app: &TestApp, client: Uuid, request: Uuid, accept: bool) -> Value {
    app.as_user(client, RESPOND, json!({"r": request, "a": accept})).await
}

async fn requests_of(app: &TestApp, user: Uuid, status: Option<&str>) -> Vec<Value> {
    let response = app.as_user(user, REQUESTS, json!({"s": status})).await;
    list(&data(&response)["viewer"]["consentRequests"])
}

async fn add_result(app: &TestApp, client: Uuid, workflow: Uuid, title: &str) -> Value {
    app.as_user(client, ADD_RESULT, json!({"c": client, "w": workflow, "t": title})).await
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

/// The titles of the results `viewer` reads in `workflow` for the participant named `name`;
/// when refused, the codes of the errors at that participation's `results`.
async fn results_for(app: &TestApp, viewer: Uuid, workflow: Uuid, name: &str) -> Result<Vec<String>, Vec<String>> {
    let response = app.as_user(viewer, RESULTS, json!({"w": workflow})).await;
    let participations = list(&response["data"]["workflow"]["participations"]);
    let index = participations
        .iter()
        .position(|p| p["participant"]["displayName"] == name)
        .unwrap_or_else(|| panic!("{name} among the participations: {response:#}"));
    let path = json!(["workflow", "participations", index, "results"]);
    let codes: Vec<String> = response["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["path"] == path)
        .map(|e| e["extensions"]["code"].as_str().unwrap_or("?").to_owned())
        .collect();
    let others: Vec<&Value> =
        response["errors"].as_array().into_iter().flatten().filter(|e| e["path"] != path).collect();
    assert!(
        others.iter().all(|e| e["extensions"]["code"] == "FORBIDDEN" && e["path"][3] == "results"),
        "only refused results elsewhere: {response:#}"
    );
    let results = &participations[index]["results"];
    if results.is_null() {
        return Err(codes);
    }
    assert!(codes.is_empty(), "results and errors at once: {response:#}");
    Ok(list(results).iter().map(|r| r["title"].as_str().expect("title").to_owned()).collect())
}

/// Asserts the participant's results are refused (null, FORBIDDEN at that path) while the
/// participation itself stays visible.
#[track_caller]
fn assert_results_forbidden(refused: Result<Vec<String>, Vec<String>>) {
    let codes = refused.expect_err("results refused");
    assert_eq!(codes, vec!["FORBIDDEN"]);
}

async fn assert_client_not_found(app: &TestApp, viewer: Uuid, client: Uuid) {
    let response = app.as_user(viewer, CLIENT_DOSSIER, json!({"c": client})).await;
    assert!(response["data"]["client"].is_null(), "{response:#}");
    assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response:#}");
}

async fn subscribe_consent_requests(socket: &mut Socket, id: &str) {
    live::send(socket, json!({"id": id, "type": "subscribe", "payload": {"query": CONSENT_SUBSCRIPTION}})).await;
}

async fn next_consent_request(socket: &mut Socket) -> Value {
    let message = live::next(socket, WAIT).await.expect("a consent request");
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"]["consentRequests"].clone()
}

fn outbox_to(rows: &[email_outbox::Model], address: &str) -> usize {
    rows.iter().filter(|r| r.to_address == address).count()
}

// ---------------------------------------------------------------------------------------------

async fn an_administrator_sets_up_projects_workflows_and_their_professionals(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;

    let project = app
        .as_user(w.admin, "query($p: ID!) { project(id: $p) { name organization { kind } } }", json!({"p": w.project}))
        .await;
    assert_eq!(data(&project)["project"], json!({"name": "Health check 2026", "organization": {"kind": "PARTNER"}}));
    let created =
        app.as_user(w.admin, CREATE_WORKFLOW, json!({"p": w.project, "n": "Blood pressure", "a": true})).await;
    let workflow = &data(&created)["createWorkflow"];
    assert_eq!(workflow["name"], "Blood pressure");
    assert_eq!(workflow["allowAppendProfessionals"], true);
    assert_eq!(workflow["project"]["name"], "Health check 2026");
    let wf = id(&workflow["id"]);
    let listed =
        app.as_user(w.admin, "query($p: ID!) { project(id: $p) { workflows { id } } }", json!({"p": w.project})).await;
    assert_eq!(data(&listed)["project"]["workflows"], json!([{"id": wf.to_string()}]));

    // Counselors, counselors plus and supervisors can be professionals, each with the period given.
    let added = add_professionals(&app, w.admin, wf, &[w.piet, w.kees], 1).await;
    let professionals = list(&data(&added)["addWorkflowProfessionals"]["professionals"]);
    assert_eq!(professionals.len(), 2, "{professionals:#?}");
    assert!(professionals.iter().all(|p| p["accessDays"] == 1 && p["reason"] == "Follow-up of the health check"));
    data(&add_professionals(&app, w.admin, wf, &[w.sara], 3650).await);

    // Not a professional: a secretary, a client, another organisation's counselor.
    let secretary = add_professionals(&app, w.admin, wf, &[w.karin, w.secretary], 30).await;
    assert_eq!(error_code(&secretary), Some("BAD_USER_INPUT"), "{secretary:#}");
    assert_eq!(error_field(&secretary), Some("input.professionalIds[1]"));
    let client = add_professionals(&app, w.admin, wf, &[w.lotte], 30).await;
    assert_eq!(error_code(&client), Some("BAD_USER_INPUT"), "{client:#}");
    assert_eq!(error_field(&client), Some("input.professionalIds[0]"));
    let foreign = add_professionals(&app, w.admin, wf, &[w.karin, w.carla], 30).await;
    assert_eq!(error_code(&foreign), Some("BAD_USER_INPUT"), "{foreign:#}");
    assert_eq!(error_field(&foreign), Some("input.professionalIds[1]"));
    for days in [0, -1, 3651] {
        let refused = add_professionals(&app, w.admin, wf, &[w.karin], days).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{days} days: {refused:#}");
        assert_eq!(error_field(&refused), Some("input.accessDays"));
    }
    for reason in ["", "   "] {
        let refused =
            app.as_user(w.admin, ADD_PROFESSIONALS, json!({"w": wf, "p": [w.karin], "d": 30, "r": reason})).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused:#}");
        assert_eq!(error_field(&refused), Some("input.reason"));
    }
    let read = app.as_user(w.admin, WORKFLOW, json!({"w": wf})).await;
    let mut names: Vec<(String, i64)> = list(&data(&read)["workflow"]["professionals"])
        .iter()
        .map(|p| {
            (
                p["professional"]["displayName"].as_str().expect("name").to_owned(),
                p["accessDays"].as_i64().expect("days"),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![("kees".to_owned(), 1), ("piet".to_owned(), 1), ("sara".to_owned(), 3650)],
        "refused additions wrote nothing"
    );

    // Only the administrator manages; other professionals of the partner see but may not change.
    let by_counselor = app.as_user(w.piet, CREATE_PROJECT, json!({"n": "Mine"})).await;
    assert_eq!(error_code(&by_counselor), Some("FORBIDDEN"), "{by_counselor:#}");
    let by_counselor = app.as_user(w.piet, CREATE_WORKFLOW, json!({"p": w.project, "n": "Mine", "a": false})).await;
    assert_eq!(error_code(&by_counselor), Some("FORBIDDEN"), "{by_counselor:#}");
    let by_counselor = add_professionals(&app, w.piet, wf, &[w.karin], 30).await;
    assert_eq!(error_code(&by_counselor), Some("FORBIDDEN"), "{by_counselor:#}");
    let toggle = "mutation($w: ID!, $a: Boolean!) { setAllowAppendProfessionals(workflowId: $w, allow: $a) { allowAppendProfessionals } }";
    let by_counselor = app.as_user(w.piet, toggle, json!({"w": wf, "a": false})).await;
    assert_eq!(error_code(&by_counselor), Some("FORBIDDEN"), "{by_counselor:#}");
    let toggled = app.as_user(w.admin, toggle, json!({"w": wf, "a": false})).await;
    assert_eq!(data(&toggled)["setAllowAppendProfessionals"]["allowAppendProfessionals"], false);
    let seen = app.as_user(w.karin, WORKFLOW, json!({"w": wf})).await;
    assert_eq!(data(&seen)["workflow"]["allowAppendProfessionals"], false);

    // Another organisation's administrator does not find the workflow or the project.
    let (_, other_admin) = app.organization_of_kind("Andere Partner", OrganizationKind::Partner).await;
    let foreign = app.as_user(other_admin, WORKFLOW, json!({"w": wf})).await;
    assert!(foreign["data"]["workflow"].is_null());
    assert_eq!(error_code(&foreign), Some("NOT_FOUND"), "{foreign:#}");
    let unknown = app.as_user(other_admin, WORKFLOW, json!({"w": Uuid::now_v7()})).await;
    assert_eq!(foreign["errors"][0]["message"], unknown["errors"][0]["message"], "no existence leaks");
    let foreign = add_professionals(&app, other_admin, wf, &[w.karin], 30).await;
    assert_eq!(error_code(&foreign), Some("NOT_FOUND"), "{foreign:#}");
    let foreign = app.as_user(other_admin, CREATE_WORKFLOW, json!({"p": w.project, "n": "Theirs", "a": false})).await;
    assert_eq!(error_code(&foreign), Some("NOT_FOUND"), "{foreign:#}");
    let foreign =
        app.as_user(other_admin, "query($p: ID!) { project(id: $p) { name } }", json!({"p": w.project})).await;
    assert_eq!(error_code(&foreign), Some("NOT_FOUND"), "{foreign:#}");
    // A client that does not take part does not find it either.
    let client = app.as_user(w.lotte, WORKFLOW, json!({"w": wf})).await;
    assert_eq!(error_code(&client), Some("NOT_FOUND"), "{client:#}");
}

async fn re_adding_a_professional_is_a_conflict_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", false).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet], 30).await);
    start(&app, w.lotte, wf).await;

    let again = app
        .as_user(w.admin, ADD_PROFESSIONALS, json!({"w": wf, "p": [w.sara, w.piet], "d": 90, "r": "Longer follow-up"}))
        .await;
    assert_eq!(error_code(&again), Some("CONFLICT"), "{again:#}");
    assert!(again["data"].is_null() || again["data"]["addWorkflowProfessionals"].is_null());

    let read = app.as_user(w.admin, WORKFLOW, json!({"w": wf})).await;
    assert_eq!(
        data(&read)["workflow"]["professionals"],
        json!([{"professional": {"displayName": "piet"}, "accessDays": 30, "reason": "Follow-up of the health check"}]),
        "neither Piet's period and reason nor Sara changed"
    );
    let requests = requests_of(&app, w.lotte, None).await;
    assert_eq!(requests.len(), 1, "no request about Sara: {requests:#?}");
    assert_eq!(requests[0]["professional"]["displayName"], "piet");
    assert!(requests_of(&app, w.sara, None).await.is_empty());
}

async fn starting_a_workflow_asks_consent_per_professional_live_and_only_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", true).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet, w.sara], 30).await);

    let mut socket = connect(app.addr, &app.token(w.lotte)).await;
    subscribe_consent_requests(&mut socket, "consent").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let participation = start(&app, w.lotte, wf).await;
    assert_eq!(participation["participant"]["displayName"], "Lotte");
    assert_eq!(participation["workflow"]["id"], wf.to_string());
    assert_eq!(participation["startedAt"], "2026-03-02T09:00:00+00:00");
    let mut requests = list(&participation["consentRequests"]);
    let summary = |requests: &[Value]| {
        let mut out: Vec<(String, String, String)> = requests
            .iter()
            .map(|r| {
                (
                    r["kind"].as_str().expect("kind").to_owned(),
                    r["status"].as_str().expect("status").to_owned(),
                    r["professional"]["displayName"].as_str().unwrap_or("-").to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let expected = vec![
        ("APPEND_PROFESSIONALS".to_owned(), "PENDING".to_owned(), "-".to_owned()),
        ("WORKFLOW_PROFESSIONAL".to_owned(), "PENDING".to_owned(), "piet".to_owned()),
        ("WORKFLOW_PROFESSIONAL".to_owned(), "PENDING".to_owned(), "sara".to_owned()),
    ];
    assert_eq!(summary(&requests), expected);
    let append = requests.iter().find(|r| r["kind"] == "APPEND_PROFESSIONALS").expect("append request");
    assert!(append["professional"].is_null(), "no professional yet: {append}");

    // Each request reaches the participant's open portal at once, and as a notification.
    let mut pushed = Vec::new();
    for _ in 0..3 {
        pushed.push(next_consent_request(&mut socket).await);
    }
    assert_eq!(summary(&pushed), expected);
    let mut ids: Vec<String> = requests.iter().map(|r| r["id"].as_str().expect("id").to_owned()).collect();
    ids.sort();
    let mut pushed_ids: Vec<String> = pushed.iter().map(|r| r["id"].as_str().expect("id").to_owned()).collect();
    pushed_ids.sort();
    assert_eq!(pushed_ids, ids);
    let notified = notifications_of(&app, w.lotte, "CONSENT_REQUESTED").await;
    let mut notified_ids: Vec<String> =
        notified.iter().map(|n| n["consentRequest"]["id"].as_str().expect("linked request").to_owned()).collect();
    notified_ids.sort();
    assert_eq!(notified_ids, ids, "one notification per request, linked to it");

    // Opening it again changes nothing.
    let again = start(&app, w.lotte, wf).await;
    assert_eq!(again["id"], participation["id"]);
    assert_eq!(requests_of(&app, w.lotte, None).await.len(), 3);
    assert_eq!(notifications_of(&app, w.lotte, "CONSENT_REQUESTED").await.len(), 3);
    assert_silent(&mut socket, Duration::from_millis(300)).await;

    // A professional added later is asked about for every participant, live.
    start(&app, w.milan, wf).await;
    assert_silent(&mut socket, Duration::from_millis(200)).await;
    data(&add_professionals(&app, w.admin, wf, &[w.kees], 14).await);
    let later = next_consent_request(&mut socket).await;
    assert_eq!(later["kind"], "WORKFLOW_PROFESSIONAL");
    assert_eq!(later["status"], "PENDING");
    assert_eq!(later["professional"]["displayName"], "kees");
    assert_silent(&mut socket, Duration::from_millis(300)).await;
    for participant in [w.lotte, w.milan] {
        let pending = requests_of(&app, participant, Some("PENDING")).await;
        assert_eq!(pending.len(), 4, "{pending:#?}");
        assert_eq!(pending.iter().filter(|r| r["professional"]["displayName"] == "kees").count(), 1);
    }
    requests = requests_of(&app, w.lotte, None).await;
    assert!(requests.iter().all(|r| r["client"]["displayName"] == "Lotte"));

    // Without appending allowed, only the professionals are asked about; only clients take part.
    let plain = w.workflow(&app, "Weight", false).await;
    data(&add_professionals(&app, w.admin, plain, &[w.piet], 30).await);
    let milan = start(&app, w.milan, plain).await;
    assert_eq!(
        summary(&list(&milan["consentRequests"])),
        vec![("WORKFLOW_PROFESSIONAL".to_owned(), "PENDING".to_owned(), "piet".to_owned())]
    );
    let by_professional = app.as_user(w.piet, START, json!({"w": plain})).await;
    assert_eq!(error_code(&by_professional), Some("FORBIDDEN"), "{by_professional:#}");
}

async fn only_the_addressed_participant_answers_once_and_attempts_by_others_are_logged(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", false).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet], 30).await);
    let lotte = start(&app, w.lotte, wf).await;
    start(&app, w.milan, wf).await;
    let request = request_id(&lotte["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("piet"));

    for (who, name) in [(w.piet, "piet"), (w.admin, "Admin of Gezond Partners"), (w.milan, "Milan")] {
        let refused = respond(&app, who, request, true).await;
        assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{name}: {refused:#}");
        assert!(refused["data"].is_null() || refused["data"]["respondToConsentRequest"].is_null());
    }
    let unknown = respond(&app, w.piet, Uuid::now_v7(), true).await;
    let hidden = respond(&app, w.piet, request, true).await;
    assert_eq!(unknown["errors"][0]["message"], hidden["errors"][0]["message"], "no existence leaks");
    assert_eq!(requests_of(&app, w.lotte, Some("PENDING")).await.len(), 1, "the refusals changed nothing");
    assert!(notifications_of(&app, w.piet, "CONSENT_GRANTED").await.is_empty());

    let log = log_of(&app, w.lotte).await;
    let denied: Vec<&Value> = log.iter().filter(|e| covers(e, "ConsentRequest") && e["outcome"] == "DENIED").collect();
    let mut actors: Vec<&str> = denied.iter().map(|e| e["actor"]["displayName"].as_str().unwrap_or("?")).collect();
    actors.sort();
    assert_eq!(actors, vec!["Admin of Gezond Partners", "Milan", "piet", "piet"], "{log:#?}");
    let milan_log = log_of(&app, w.milan).await;
    assert!(milan_log.iter().all(|e| !covers(e, "ConsentRequest") || e["outcome"] != "DENIED"), "{milan_log:#?}");

    let declined = respond(&app, w.lotte, request, false).await;
    let declined = &data(&declined)["respondToConsentRequest"];
    assert_eq!(declined["status"], "DECLINED");
    assert!(declined["grantedUntil"].is_null());
    let twice = respond(&app, w.lotte, request, true).await;
    assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice:#}");
    let twice = respond(&app, w.lotte, request, false).await;
    assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice:#}");
    let now = requests_of(&app, w.lotte, None).await;
    assert_eq!(now[0]["status"], "DECLINED", "the second answer changed nothing");
    assert!(notifications_of(&app, w.piet, "CONSENT_GRANTED").await.is_empty());
}

async fn accepting_opens_the_workflows_results_for_the_professionals_days_and_is_logged(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", false).await;
    let other = w.workflow(&app, "Sleep", false).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet], 30).await);
    let report = r#"mutation($c: ID!) { addDossierEntry(clientId: $c, input: {kind: REPORT, title: "Intake", body: "Sleeps badly."}) { id } }"#;
    data(&app.as_user(w.carla, report, json!({"c": w.lotte})).await);
    let participation = start(&app, w.lotte, wf).await;
    start(&app, w.lotte, other).await;
    for title in ["Morning 132/85", "Evening 128/80"] {
        let added = add_result(&app, w.lotte, wf, title).await;
        assert_eq!(data(&added)["addDossierEntry"]["workflow"]["id"], wf.to_string());
    }
    data(&add_result(&app, w.lotte, other, "Slept 6 hours").await);
    assert_client_not_found(&app, w.piet, w.lotte).await;

    app.clock.advance(chrono::Duration::minutes(197));
    let accepted_at = app.clock_now();
    let request = request_id(&participation["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("piet"));
    let accepted = respond(&app, w.lotte, request, true).await;
    let accepted = &data(&accepted)["respondToConsentRequest"];
    assert_eq!(accepted["status"], "GRANTED");
    assert_eq!(accepted["accessDays"], 30);
    assert_eq!(time(&accepted["decidedAt"]), accepted_at);
    let until = accepted_at + chrono::Duration::days(30);
    assert_eq!(time(&accepted["grantedUntil"]), until, "30 days from acceptance, to the second");

    let granted = notifications_of(&app, w.piet, "CONSENT_GRANTED").await;
    assert_eq!(granted.len(), 1, "{granted:#?}");
    assert_eq!(granted[0]["consentRequest"]["id"], request.to_string());
    assert_eq!(granted[0]["consentRequest"]["status"], "GRANTED");
    let mine = requests_of(&app, w.piet, Some("GRANTED")).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(time(&mine[0]["grantedUntil"]), until);

    // The workflow's results, and through the client only those results.
    assert_eq!(
        results_for(&app, w.piet, wf, "Lotte").await.expect("results"),
        vec!["Morning 132/85", "Evening 128/80"]
    );
    let client = app.as_user(w.piet, CLIENT_DOSSIER, json!({"c": w.lotte})).await;
    let client = &data(&client)["client"];
    assert_eq!(client["displayName"], "Lotte");
    assert_eq!(
        client["dossier"]["nodes"],
        json!([{"kind": "RESULT", "title": "Morning 132/85"}, {"kind": "RESULT", "title": "Evening 128/80"}]),
        "no report, no results of another workflow"
    );
    assert_eq!(client["viewerAccess"]["bases"], json!(["CONSENT"]));
    assert_eq!(time(&client["viewerAccess"]["expiresAt"]), until);
    let contact = app.as_user(w.piet, CLIENT_CONTACT, json!({"c": w.lotte})).await;
    assert_eq!(contact["data"]["client"]["displayName"], "Lotte");
    assert!(contact["data"]["client"]["contact"].is_null());
    assert_eq!(paths_with(&contact, "FORBIDDEN"), vec!["client.contact"], "{contact:#}");
    // The participant's own results are hers to read; another professional reads nothing.
    assert_eq!(results_for(&app, w.lotte, wf, "Lotte").await.expect("own results").len(), 2);
    assert_client_not_found(&app, w.kees, w.lotte).await;

    let log = log_of(&app, w.lotte).await;
    let by_piet: Vec<&Value> = log.iter().filter(|e| e["actor"]["displayName"] == "piet").collect();
    let read = by_piet
        .iter()
        .find(|e| covers(e, "Results") && e["outcome"] == "SUCCESS")
        .unwrap_or_else(|| panic!("the read of results is logged: {by_piet:#?}"));
    assert_eq!(read["action"], "READ");
    assert_eq!(read["basis"], "CONSENT");
    assert!(
        by_piet.iter().any(|e| covers(e, "DossierEntry") && e["outcome"] == "SUCCESS" && e["basis"] == "CONSENT"),
        "{by_piet:#?}"
    );
}

async fn declining_keeps_the_results_closed_while_the_participant_takes_part(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", false).await;
    let elsewhere = w.workflow(&app, "Sleep", false).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet, w.sara], 30).await);
    let participation = start(&app, w.lotte, wf).await;
    let request = request_id(&participation["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("piet"));

    let declined = respond(&app, w.lotte, request, false).await;
    assert_eq!(data(&declined)["respondToConsentRequest"]["status"], "DECLINED");
    let told = notifications_of(&app, w.piet, "CONSENT_DECLINED").await;
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(told[0]["consentRequest"]["id"], request.to_string());
    assert!(notifications_of(&app, w.sara, "CONSENT_DECLINED").await.is_empty());

    // She still takes part: her results are added and hers to read.
    data(&add_result(&app, w.lotte, wf, "Morning 132/85").await);
    assert_eq!(results_for(&app, w.lotte, wf, "Lotte").await.expect("own results"), vec!["Morning 132/85"]);
    let outside = add_result(&app, w.lotte, elsewhere, "Not mine to add").await;
    assert_eq!(error_code(&outside), Some("BAD_USER_INPUT"), "{outside:#}");
    assert_eq!(error_field(&outside), Some("input.workflowId"));
    let unknown = add_result(&app, w.lotte, Uuid::now_v7(), "Nowhere").await;
    assert_eq!(error_field(&unknown), Some("input.workflowId"), "{unknown:#}");
    let own = app.as_user(w.lotte, CLIENT_DOSSIER, json!({"c": w.lotte})).await;
    assert_eq!(data(&own)["client"]["dossier"]["nodes"], json!([{"kind": "RESULT", "title": "Morning 132/85"}]));

    // Declined (Piet) and pending (Sara): the participation by name, no results, no client.
    for professional in [w.piet, w.sara] {
        assert_results_forbidden(results_for(&app, professional, wf, "Lotte").await);
        assert_client_not_found(&app, professional, w.lotte).await;
    }
    let log = log_of(&app, w.lotte).await;
    for name in ["piet", "sara"] {
        assert!(
            log.iter().any(|e| e["actor"]["displayName"] == name
                && covers(e, "Results")
                && e["action"] == "READ"
                && e["outcome"] == "DENIED"),
            "{name}'s refused read of results is logged: {log:#?}"
        );
        assert!(
            !log.iter().any(|e| e["actor"]["displayName"] == name && e["outcome"] == "SUCCESS"),
            "{name} read nothing: {log:#?}"
        );
    }
}

async fn a_consent_warns_both_sides_once_then_expires_once_and_closes_the_results(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.expiry_warning = Duration::from_secs(24 * 3600)).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", false).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet], 3).await);
    let participation = start(&app, w.lotte, wf).await;
    data(&add_result(&app, w.lotte, wf, "Morning 132/85").await);
    let request = request_id(&participation["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("piet"));
    let accepted = respond(&app, w.lotte, request, true).await;
    let until = time(&data(&accepted)["respondToConsentRequest"]["grantedUntil"]);
    assert_eq!(until, app.clock_now() + chrono::Duration::days(3));

    let mut piet_socket = connect(app.addr, &app.token(w.piet)).await;
    subscribe_notifications(&mut piet_socket, "n", None).await;
    let mut lotte_socket = connect(app.addr, &app.token(w.lotte)).await;
    subscribe_notifications(&mut lotte_socket, "n", None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let scheduler = &app.app.scheduler;
    let count = |user: Uuid, kind: &'static str| {
        let app = &app;
        async move { notifications_of(app, user, kind).await.len() }
    };
    scheduler.run_due().await.expect("run");
    app.clock.set(until - chrono::Duration::days(1) - chrono::Duration::minutes(1));
    scheduler.run_due().await.expect("run");
    for user in [w.lotte, w.piet] {
        assert_eq!(count(user, "CONSENT_EXPIRING").await, 0, "a minute before the warning window");
    }

    app.clock.advance(chrono::Duration::minutes(1));
    scheduler.run_due().await.expect("run");
    scheduler.run_due().await.expect("run again");
    for user in [w.lotte, w.piet] {
        assert_eq!(count(user, "CONSENT_EXPIRING").await, 1, "warned exactly once");
        assert_eq!(count(user, "CONSENT_EXPIRED").await, 0);
    }
    for socket in [&mut piet_socket, &mut lotte_socket] {
        assert_eq!(next_notification(socket).await["kind"], "CONSENT_EXPIRING", "pushed live");
    }
    let warned = notifications_of(&app, w.piet, "CONSENT_EXPIRING").await;
    assert_eq!(warned[0]["consentRequest"]["id"], request.to_string());
    assert_eq!(results_for(&app, w.piet, wf, "Lotte").await.expect("still running"), vec!["Morning 132/85"]);

    app.clock.set(until - chrono::Duration::seconds(1));
    scheduler.run_due().await.expect("run");
    assert_eq!(count(w.piet, "CONSENT_EXPIRED").await, 0, "a second before the end");
    assert_eq!(requests_of(&app, w.piet, Some("GRANTED")).await.len(), 1);
    assert_eq!(results_for(&app, w.piet, wf, "Lotte").await.expect("still running").len(), 1);

    app.clock.advance(chrono::Duration::seconds(1));
    scheduler.run_due().await.expect("run");
    scheduler.run_due().await.expect("run again");
    for socket in [&mut piet_socket, &mut lotte_socket] {
        assert_eq!(next_notification(socket).await["kind"], "CONSENT_EXPIRED", "pushed live");
    }
    app.clock.advance(chrono::Duration::days(2));
    scheduler.run_due().await.expect("run later");
    for user in [w.lotte, w.piet] {
        assert_eq!(count(user, "CONSENT_EXPIRING").await, 1);
        assert_eq!(count(user, "CONSENT_EXPIRED").await, 1, "ended exactly once");
        let expired = requests_of(&app, user, Some("EXPIRED")).await;
        assert_eq!(expired.len(), 1, "{expired:#?}");
        assert_eq!(expired[0]["id"], request.to_string());
        assert!(requests_of(&app, user, Some("GRANTED")).await.is_empty());
    }
    assert_silent(&mut piet_socket, Duration::from_millis(200)).await;
    assert_results_forbidden(results_for(&app, w.piet, wf, "Lotte").await);
    assert_client_not_found(&app, w.piet, w.lotte).await;
    // An expired consent is over: nothing to revoke, nothing to answer.
    let revoke = app.as_user(w.lotte, REVOKE, json!({"r": request})).await;
    assert_eq!(error_code(&revoke), Some("CONFLICT"), "{revoke:#}");
}

async fn an_assignment_runs_at_once_with_prior_agreement_and_after_acceptance_without(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", true).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet], 30).await);
    let lotte = start(&app, w.lotte, wf).await;
    let milan = start(&app, w.milan, wf).await;
    let agreed =
        respond(&app, w.lotte, request_id(&lotte["consentRequests"], "APPEND_PROFESSIONALS", None), true).await;
    let agreed = &data(&agreed)["respondToConsentRequest"];
    assert_eq!(agreed["status"], "GRANTED");
    assert!(agreed["professional"].is_null());
    let refused =
        respond(&app, w.milan, request_id(&milan["consentRequests"], "APPEND_PROFESSIONALS", None), false).await;
    assert_eq!(data(&refused)["respondToConsentRequest"]["status"], "DECLINED");
    data(&add_result(&app, w.lotte, wf, "Lotte 132/85").await);
    data(&add_result(&app, w.milan, wf, "Milan 121/79").await);
    // Agreeing to assignments in advance gives no one access yet.
    assert_client_not_found(&app, w.karin, w.lotte).await;

    let mut lotte_socket = connect(app.addr, &app.token(w.lotte)).await;
    subscribe_consent_requests(&mut lotte_socket, "consent").await;
    let mut milan_socket = connect(app.addr, &app.token(w.milan)).await;
    subscribe_consent_requests(&mut milan_socket, "consent").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let outbox_before = email_outbox::Entity::find().all(app.app.db.conn()).await.expect("outbox");

    let ends_at = app.clock_now() + chrono::Duration::days(10);
    let assigned = app
        .as_user(
            w.admin,
            ASSIGN,
            json!({"w": wf, "ps": [w.lotte, w.milan], "p": w.karin, "e": ends_at.to_rfc3339(), "r": "Second opinion"}),
        )
        .await;
    let assigned = list(&data(&assigned)["assignProfessional"]);
    assert_eq!(assigned.len(), 2, "{assigned:#?}");
    let for_lotte = assigned.iter().find(|r| r["client"]["displayName"] == "Lotte").expect("Lotte's");
    let for_milan = assigned.iter().find(|r| r["client"]["displayName"] == "Milan").expect("Milan's");
    for request in [for_lotte, for_milan] {
        assert_eq!(request["kind"], "ASSIGNMENT");
        assert_eq!(request["professional"]["displayName"], "karin");
        assert_eq!(request["reason"], "Second opinion");
        assert_eq!(time(&request["endsAt"]), ends_at);
    }
    assert_eq!(for_lotte["status"], "GRANTED", "she agreed in advance");
    assert_eq!(time(&for_lotte["grantedUntil"]), ends_at);
    assert_eq!(for_milan["status"], "PENDING", "he did not");
    assert!(for_milan["grantedUntil"].is_null());

    // With prior agreement: Karin is told and reads Lotte's results at once; Milan's not yet.
    let granted = notifications_of(&app, w.karin, "CONSENT_GRANTED").await;
    assert_eq!(granted.len(), 1, "{granted:#?}");
    assert_eq!(granted[0]["consentRequest"]["id"], for_lotte["id"]);
    assert_eq!(results_for(&app, w.karin, wf, "Lotte").await.expect("at once"), vec!["Lotte 132/85"]);
    let dossier = app.as_user(w.karin, CLIENT_DOSSIER, json!({"c": w.lotte})).await;
    assert_eq!(data(&dossier)["client"]["dossier"]["nodes"], json!([{"kind": "RESULT", "title": "Lotte 132/85"}]));
    assert_results_forbidden(results_for(&app, w.karin, wf, "Milan").await);
    assert_client_not_found(&app, w.karin, w.milan).await;

    // Without: Milan is asked, live and by e-mail; Lotte is not asked anything.
    let pushed = next_consent_request(&mut milan_socket).await;
    assert_eq!(pushed["id"], for_milan["id"]);
    assert_eq!(pushed["kind"], "ASSIGNMENT");
    assert_eq!(pushed["status"], "PENDING");
    assert_eq!(pushed["professional"]["displayName"], "karin");
    assert_silent(&mut lotte_socket, Duration::from_millis(300)).await;
    let asked = notifications_of(&app, w.milan, "CONSENT_REQUESTED").await;
    assert!(asked.iter().any(|n| n["consentRequest"]["id"] == for_milan["id"]), "{asked:#?}");
    let outbox = email_outbox::Entity::find().all(app.app.db.conn()).await.expect("outbox");
    assert_eq!(outbox_to(&outbox, "milan@linde.example") - outbox_to(&outbox_before, "milan@linde.example"), 1);
    assert_eq!(outbox_to(&outbox, "lotte@linde.example"), outbox_to(&outbox_before, "lotte@linde.example"));
    let mail = outbox.iter().find(|r| r.to_address == "milan@linde.example").expect("Milan's e-mail");
    assert_eq!(mail.recipient_id, Some(w.milan));

    // Access starts when Milan accepts and lasts until the partner's end date.
    app.clock.advance(chrono::Duration::days(2));
    let accepted = respond(&app, w.milan, id(&for_milan["id"]), true).await;
    let accepted = &data(&accepted)["respondToConsentRequest"];
    assert_eq!(accepted["status"], "GRANTED");
    assert_eq!(time(&accepted["grantedUntil"]), ends_at, "until the end date, not for some days");
    assert_eq!(notifications_of(&app, w.karin, "CONSENT_GRANTED").await.len(), 2);
    assert_eq!(results_for(&app, w.karin, wf, "Milan").await.expect("after acceptance"), vec!["Milan 121/79"]);

    app.clock.set(ends_at - chrono::Duration::seconds(1));
    assert!(results_for(&app, w.karin, wf, "Lotte").await.is_ok());
    app.clock.set(ends_at);
    assert_results_forbidden(results_for(&app, w.karin, wf, "Lotte").await);
    assert_results_forbidden(results_for(&app, w.karin, wf, "Milan").await);
    assert_client_not_found(&app, w.karin, w.milan).await;
}

async fn assignments_are_validated_and_never_doubled(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", false).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet], 30).await);
    start(&app, w.lotte, wf).await;
    start(&app, w.milan, wf).await;
    let noor = app.client_created_by(w.carla, "noor@linde.example", "Noor").await;
    let assign = |participants: Vec<Uuid>, professional: Uuid, ends_at: DateTime<Utc>, by: Uuid| {
        let app = &app;
        async move {
            app.as_user(
                by,
                ASSIGN,
                json!({"w": wf, "ps": participants, "p": professional, "e": ends_at.to_rfc3339(), "r": "Second opinion"}),
            )
            .await
        }
    };
    let later = app.clock_now() + chrono::Duration::days(10);

    for ends_at in [app.clock_now() - chrono::Duration::minutes(1), app.clock_now()] {
        let refused = assign(vec![w.lotte], w.karin, ends_at, w.admin).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused:#}");
        assert_eq!(error_field(&refused), Some("input.endsAt"));
    }
    let not_participant = assign(vec![w.lotte, noor], w.karin, later, w.admin).await;
    assert_eq!(error_code(&not_participant), Some("BAD_USER_INPUT"), "{not_participant:#}");
    assert_eq!(error_field(&not_participant), Some("input.participantIds[1]"));
    let not_professional = assign(vec![w.lotte], w.secretary, later, w.admin).await;
    assert_eq!(error_code(&not_professional), Some("BAD_USER_INPUT"), "{not_professional:#}");
    let by_counselor = assign(vec![w.lotte], w.karin, later, w.piet).await;
    assert_eq!(error_code(&by_counselor), Some("FORBIDDEN"), "{by_counselor:#}");
    let (_, other_admin) = app.organization_of_kind("Andere Partner", OrganizationKind::Partner).await;
    let foreign = assign(vec![w.lotte], w.karin, later, other_admin).await;
    assert_eq!(error_code(&foreign), Some("NOT_FOUND"), "{foreign:#}");
    assert!(requests_of(&app, w.karin, None).await.is_empty(), "refused assignments wrote nothing");
    assert_eq!(requests_of(&app, w.lotte, None).await.len(), 1);
    assert!(requests_of(&app, noor, None).await.is_empty());
    let outbox = email_outbox::Entity::find().all(app.app.db.conn()).await.expect("outbox");
    assert!(outbox.is_empty(), "no e-mail for a refused assignment: {outbox:?}");

    let pending = assign(vec![w.lotte], w.karin, later, w.admin).await;
    let pending = list(&data(&pending)["assignProfessional"]);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["status"], "PENDING");
    let again = assign(vec![w.lotte], w.karin, later + chrono::Duration::days(1), w.admin).await;
    assert_eq!(error_code(&again), Some("CONFLICT"), "pending: {again:#}");
    let with_milan = assign(vec![w.milan, w.lotte], w.karin, later, w.admin).await;
    assert_eq!(error_code(&with_milan), Some("CONFLICT"), "{with_milan:#}");
    assert_eq!(requests_of(&app, w.milan, None).await.len(), 1, "nothing written for Milan either");
    assert_eq!(requests_of(&app, w.karin, None).await.len(), 1);

    data(&respond(&app, w.lotte, id(&pending[0]["id"]), true).await);
    let running = assign(vec![w.lotte], w.karin, later, w.admin).await;
    assert_eq!(error_code(&running), Some("CONFLICT"), "running: {running:#}");
    // Another professional may be assigned to her, and Karin to Milan.
    let kees = assign(vec![w.lotte], w.kees, later, w.admin).await;
    assert_eq!(list(&data(&kees)["assignProfessional"])[0]["status"], "PENDING");

    // Once declined, the same assignment may be asked again.
    let for_milan = assign(vec![w.milan], w.karin, later, w.admin).await;
    let for_milan = list(&data(&for_milan)["assignProfessional"]);
    data(&respond(&app, w.milan, id(&for_milan[0]["id"]), false).await);
    let asked_again = assign(vec![w.milan], w.karin, later, w.admin).await;
    let asked_again = list(&data(&asked_again)["assignProfessional"]);
    assert_eq!(asked_again[0]["status"], "PENDING");
    assert_ne!(asked_again[0]["id"], for_milan[0]["id"]);
}

async fn revoking_a_consent_ends_the_professionals_access_at_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", false).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet, w.sara], 30).await);
    let participation = start(&app, w.lotte, wf).await;
    start(&app, w.milan, wf).await;
    data(&add_result(&app, w.lotte, wf, "Morning 132/85").await);
    let piet_request = request_id(&participation["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("piet"));
    let sara_request = request_id(&participation["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("sara"));
    data(&respond(&app, w.lotte, piet_request, true).await);
    assert_eq!(results_for(&app, w.piet, wf, "Lotte").await.expect("granted"), vec!["Morning 132/85"]);

    for who in [w.piet, w.admin, w.milan, w.sara] {
        let refused = app.as_user(who, REVOKE, json!({"r": piet_request})).await;
        assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused:#}");
    }
    assert_eq!(results_for(&app, w.piet, wf, "Lotte").await.expect("still granted").len(), 1);
    let denied = log_of(&app, w.lotte)
        .await
        .into_iter()
        .filter(|e| covers(e, "ConsentRequest") && e["outcome"] == "DENIED")
        .count();
    assert_eq!(denied, 4, "each refused revocation is logged");

    let pending = app.as_user(w.lotte, REVOKE, json!({"r": sara_request})).await;
    assert_eq!(error_code(&pending), Some("CONFLICT"), "nothing granted to revoke: {pending:#}");
    data(&respond(&app, w.lotte, sara_request, false).await);
    let declined = app.as_user(w.lotte, REVOKE, json!({"r": sara_request})).await;
    assert_eq!(error_code(&declined), Some("CONFLICT"), "{declined:#}");

    app.clock.advance(chrono::Duration::hours(5));
    let revoked = app.as_user(w.lotte, REVOKE, json!({"r": piet_request})).await;
    assert_eq!(data(&revoked)["revokeConsent"]["status"], "REVOKED");
    let told = notifications_of(&app, w.piet, "CONSENT_REVOKED").await;
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(told[0]["consentRequest"]["id"], piet_request.to_string());
    assert_eq!(told[0]["consentRequest"]["status"], "REVOKED");
    assert_results_forbidden(results_for(&app, w.piet, wf, "Lotte").await);
    assert_client_not_found(&app, w.piet, w.lotte).await;
    assert_eq!(requests_of(&app, w.piet, Some("REVOKED")).await.len(), 1);
    assert!(requests_of(&app, w.piet, Some("GRANTED")).await.is_empty());

    let twice = app.as_user(w.lotte, REVOKE, json!({"r": piet_request})).await;
    assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice:#}");
    let answer = respond(&app, w.lotte, piet_request, true).await;
    assert_eq!(error_code(&answer), Some("CONFLICT"), "a revoked consent is not answered again: {answer:#}");
}

async fn consent_request_lists_show_each_side_only_their_own(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let wf = w.workflow(&app, "Blood pressure", false).await;
    data(&add_professionals(&app, w.admin, wf, &[w.piet, w.sara], 30).await);
    let lotte = start(&app, w.lotte, wf).await;
    let milan = start(&app, w.milan, wf).await;
    data(
        &respond(&app, w.lotte, request_id(&lotte["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("piet")), true)
            .await,
    );
    data(
        &respond(&app, w.lotte, request_id(&lotte["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("sara")), false)
            .await,
    );
    data(
        &respond(&app, w.milan, request_id(&milan["consentRequests"], "WORKFLOW_PROFESSIONAL", Some("sara")), true)
            .await,
    );

    let pairs = |requests: Vec<Value>| {
        let mut out: Vec<(String, String, String)> = requests
            .iter()
            .map(|r| {
                (
                    r["client"]["displayName"].as_str().expect("client").to_owned(),
                    r["professional"]["displayName"].as_str().unwrap_or("-").to_owned(),
                    r["status"].as_str().expect("status").to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let row = |c: &str, p: &str, s: &str| (c.to_owned(), p.to_owned(), s.to_owned());

    // Clients: the requests addressed to them.
    assert_eq!(
        pairs(requests_of(&app, w.lotte, None).await),
        vec![row("Lotte", "piet", "GRANTED"), row("Lotte", "sara", "DECLINED")]
    );
    assert_eq!(pairs(requests_of(&app, w.lotte, Some("GRANTED")).await), vec![row("Lotte", "piet", "GRANTED")]);
    assert_eq!(pairs(requests_of(&app, w.lotte, Some("DECLINED")).await), vec![row("Lotte", "sara", "DECLINED")]);
    assert!(requests_of(&app, w.lotte, Some("PENDING")).await.is_empty());
    assert_eq!(
        pairs(requests_of(&app, w.milan, None).await),
        vec![row("Milan", "piet", "PENDING"), row("Milan", "sara", "GRANTED")]
    );
    // Professionals: the requests about their own access, never a colleague's.
    assert_eq!(
        pairs(requests_of(&app, w.piet, None).await),
        vec![row("Lotte", "piet", "GRANTED"), row("Milan", "piet", "PENDING")]
    );
    assert_eq!(pairs(requests_of(&app, w.piet, Some("PENDING")).await), vec![row("Milan", "piet", "PENDING")]);
    assert!(requests_of(&app, w.piet, Some("DECLINED")).await.is_empty());
    assert_eq!(
        pairs(requests_of(&app, w.sara, None).await),
        vec![row("Lotte", "sara", "DECLINED"), row("Milan", "sara", "GRANTED")]
    );
    assert!(requests_of(&app, w.admin, None).await.is_empty());
    assert!(requests_of(&app, w.kees, None).await.is_empty());

    // Participation.consentRequests follows the same rule.
    let query = "query($w: ID!) { workflow(id: $w) { participations {
        participant { displayName } consentRequests { client { displayName } professional { displayName } status } } } }";
    let seen = |viewer: Uuid| {
        let app = &app;
        async move {
            let response = app.as_user(viewer, query, json!({"w": wf})).await;
            let mut out = Vec::new();
            let mut names = Vec::new();
            for participation in list(&data(&response)["workflow"]["participations"]) {
                names.push(participation["participant"]["displayName"].as_str().expect("name").to_owned());
                out.extend(list(&participation["consentRequests"]));
            }
            names.sort();
            (names, pairs(out))
        }
    };
    let (names, requests) = seen(w.piet).await;
    assert_eq!(names, vec!["Lotte", "Milan"]);
    assert_eq!(requests, vec![row("Lotte", "piet", "GRANTED"), row("Milan", "piet", "PENDING")]);
    let (names, requests) = seen(w.lotte).await;
    assert_eq!(names, vec!["Lotte"], "a participant sees only their own participation");
    assert_eq!(requests, vec![row("Lotte", "piet", "GRANTED"), row("Lotte", "sara", "DECLINED")]);
    let (names, requests) = seen(w.admin).await;
    assert_eq!(names, vec!["Lotte", "Milan"], "the administrator sees who takes part");
    assert!(requests.is_empty(), "but no one's consents: {requests:?}");
    // The administrator sees names only: no results, no client.
    assert_results_forbidden(results_for(&app, w.admin, wf, "Lotte").await);
    assert_client_not_found(&app, w.admin, w.lotte).await;
}

on_every_database!(
    an_administrator_sets_up_projects_workflows_and_their_professionals,
    re_adding_a_professional_is_a_conflict_and_changes_nothing,
    starting_a_workflow_asks_consent_per_professional_live_and_only_once,
    only_the_addressed_participant_answers_once_and_attempts_by_others_are_logged,
    accepting_opens_the_workflows_results_for_the_professionals_days_and_is_logged,
    declining_keeps_the_results_closed_while_the_participant_takes_part,
    a_consent_warns_both_sides_once_then_expires_once_and_closes_the_results,
    an_assignment_runs_at_once_with_prior_agreement_and_after_acceptance_without,
    assignments_are_validated_and_never_doubled,
    revoking_a_consent_ends_the_professionals_access_at_once,
    consent_request_lists_show_each_side_only_their_own,
);
