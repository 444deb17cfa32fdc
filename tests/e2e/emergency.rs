//! Emergency access ("break the glass") and the access log it leaves behind.

use chrono::Duration;
use inzage_entity::{NotificationKind, Role, notification};
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, covers, data, error_code};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

struct Setup {
    secretary: Uuid,
    carla: Uuid,
    koen: Uuid,
    lotte: Uuid,
}

async fn setup(app: &TestApp) -> Setup {
    let (org, _) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let entry = r#"mutation($c: ID!) { addDossierEntry(clientId: $c, input: {kind: REPORT, title: "Intake", body: "Allergic to penicillin."}) { id } }"#;
    data(&app.as_user(carla, entry, json!({"c": lotte})).await);
    Setup { secretary, carla, koen, lotte }
}

const BREAK: &str = "mutation($c: ID!, $r: String!) { breakGlass(clientId: $c, reason: $r) { id reason startsAt endsAt client { displayName } user { displayName } } }";
const READ: &str =
    "query($id: ID!) { client(id: $id) { dossier { nodes { title body } } viewerAccess { bases expiresAt } } }";
const REASON: &str = "Unconscious at the front desk; need allergy information";

async fn log_of(app: &TestApp, client: Uuid) -> Vec<Value> {
    let response = app
        .as_user(
            client,
            "query($id: ID!) { client(id: $id) { accessLog(first: 200) { nodes { actor { displayName } action objectTypes basis outcome emergency } } } }",
            json!({"id": client}),
        )
        .await;
    data(&response)["client"]["accessLog"]["nodes"].as_array().expect("log").clone()
}

async fn a_counselor_without_basis_breaks_the_glass_reads_and_loses_access_when_it_ends(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let s = setup(&app).await;

    let before = app.as_user(s.koen, READ, json!({"id": s.lotte})).await;
    assert_eq!(error_code(&before), Some("NOT_FOUND"));

    let short = app.as_user(s.koen, BREAK, json!({"c": s.lotte, "r": "urgent"})).await;
    assert_eq!(error_code(&short), Some("BAD_USER_INPUT"));
    assert_eq!(short["errors"][0]["extensions"]["field"], "reason");

    let broken = app.as_user(s.koen, BREAK, json!({"c": s.lotte, "r": REASON})).await;
    let grant = &data(&broken)["breakGlass"];
    assert_eq!(grant["client"]["displayName"], "Lotte");
    assert_eq!(grant["user"]["displayName"], "koen");
    assert_eq!(grant["startsAt"], "2026-03-02T09:00:00+00:00");
    assert_eq!(grant["endsAt"], "2026-03-02T13:00:00+00:00", "240 minutes by default");

    let again = app.as_user(s.koen, BREAK, json!({"c": s.lotte, "r": REASON})).await;
    assert_eq!(data(&again)["breakGlass"]["id"], grant["id"], "a second break returns the active one");

    let read = app.as_user(s.koen, READ, json!({"id": s.lotte})).await;
    let client = &data(&read)["client"];
    assert_eq!(client["dossier"]["nodes"][0]["body"], "Allergic to penicillin.");
    assert_eq!(client["viewerAccess"]["bases"], json!(["EMERGENCY"]));
    assert_eq!(client["viewerAccess"]["expiresAt"], grant["endsAt"]);

    app.clock.advance(Duration::minutes(239));
    data(&app.as_user(s.koen, READ, json!({"id": s.lotte})).await);
    app.clock.advance(Duration::minutes(1));
    let after = app.as_user(s.koen, READ, json!({"id": s.lotte})).await;
    assert_eq!(error_code(&after), Some("NOT_FOUND"), "access ends at the deadline");
    let list = app.as_user(s.koen, "{ clients { nodes { id } } }", json!({})).await;
    assert_eq!(data(&list)["clients"]["nodes"], json!([]));
}

async fn emergency_access_is_logged_with_the_emergency_flag_and_notifies(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let s = setup(&app).await;
    let denied = app.as_user(s.koen, READ, json!({"id": s.lotte})).await;
    assert_eq!(error_code(&denied), Some("NOT_FOUND"));
    data(&app.as_user(s.koen, BREAK, json!({"c": s.lotte, "r": REASON})).await);
    data(&app.as_user(s.koen, READ, json!({"id": s.lotte})).await);

    let log = log_of(&app, s.lotte).await;
    let by_koen: Vec<&Value> = log.iter().filter(|e| e["actor"]["displayName"] == "koen").collect();
    assert!(
        by_koen.iter().any(|e| e["action"] == "READ" && covers(e, "Client") && e["outcome"] == "DENIED"),
        "the refused lookup is logged: {by_koen:#?}"
    );
    assert!(
        by_koen
            .iter()
            .any(|e| e["action"] == "EMERGENCY_ACCESS" && e["emergency"] == true && e["basis"] == "EMERGENCY"),
        "{by_koen:#?}"
    );
    let dossier_read = by_koen.iter().find(|e| covers(e, "DossierEntry")).expect("the dossier read is logged");
    assert_eq!(dossier_read["basis"], "EMERGENCY");
    assert_eq!(dossier_read["emergency"], true);
    assert!(log.iter().filter(|e| e["actor"]["displayName"] == "carla").all(|e| e["emergency"] == false));

    let notified: Vec<Uuid> = notification::Entity::find()
        .filter(notification::Column::Kind.eq(NotificationKind::EmergencyAccess))
        .all(app.app.db.conn())
        .await
        .expect("notifications")
        .into_iter()
        .map(|n| n.recipient_id)
        .collect();
    assert!(notified.contains(&s.lotte), "the client is notified");
    assert!(notified.contains(&s.carla), "the client's counselor is notified");
    assert_eq!(notified.len(), 2);
}

async fn only_counselors_and_supervisors_without_access_break_the_glass(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let s = setup(&app).await;
    let secretary = app.as_user(s.secretary, BREAK, json!({"c": s.lotte, "r": REASON})).await;
    assert_eq!(error_code(&secretary), Some("FORBIDDEN"));
    let own = app.as_user(s.carla, BREAK, json!({"c": s.lotte, "r": REASON})).await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"), "Carla already has access");
    let (other_org, _) = app.organization("Elders").await;
    let stranger = app.user(other_org, "stranger@elders.example", &[Role::Counselor]).await;
    let foreign = app.as_user(stranger, BREAK, json!({"c": s.lotte, "r": REASON})).await;
    assert_eq!(error_code(&foreign), Some("NOT_FOUND"), "no emergency access across organisations");
    let count = notification::Entity::find().all(app.app.db.conn()).await.expect("notifications").len();
    assert_eq!(count, 0, "refusals notify nobody");
}

/// A counselor who holds the client's consent to their results in a workflow, and then breaks
/// the glass, reads the client's trajectories: only the emergency access grants that read, so
/// the access log must name EMERGENCY (with the emergency access as its grant and the emergency
/// flag), not the consent, which grants results only.
async fn a_read_is_logged_with_the_basis_that_granted_it_not_another_one_the_viewer_holds(backend: Backend) {
    use inzage_entity::{audit_event, emergency_access};
    let app = TestApp::spawn(&backend).await;
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let create = r#"mutation { createUser(input: {email: "lotte@linde.example", displayName: "Lotte", roles: [CLIENT]}) { id } }"#;
    let lotte = Uuid::parse_str(
        data(&app.as_user(secretary, create, json!({})).await)["createUser"]["id"].as_str().expect("id"),
    )
    .expect("uuid");

    // Koen works in a workflow Lotte takes part in, and she gives him her consent.
    let project = app.as_user(admin, r#"mutation { createProject(input: {name: "Checks"}) { id } }"#, json!({})).await;
    let project = data(&project)["createProject"]["id"].clone();
    let workflow = app
        .as_user(
            admin,
            "mutation($p: ID!) { createWorkflow(input: {projectId: $p, name: \"Sleep\", allowAppendProfessionals: false}) { id } }",
            json!({"p": project}),
        )
        .await;
    let workflow = data(&workflow)["createWorkflow"]["id"].clone();
    let add = "mutation($w: ID!, $p: [ID!]!) { addWorkflowProfessionals(input: {workflowId: $w, \
               professionalIds: $p, accessDays: 30, reason: \"Discusses the results\"}) { id } }";
    data(&app.as_user(admin, add, json!({"w": workflow, "p": [koen]})).await);
    let started = app
        .as_user(
            lotte,
            "mutation($w: ID!) { startWorkflow(workflowId: $w) { consentRequests { id } } }",
            json!({"w": workflow}),
        )
        .await;
    let request = data(&started)["startWorkflow"]["consentRequests"][0]["id"].clone();
    let respond = "mutation($r: ID!) { respondToConsentRequest(requestId: $r, accept: true) { status } }";
    assert_eq!(
        data(&app.as_user(lotte, respond, json!({"r": request})).await)["respondToConsentRequest"]["status"],
        "GRANTED"
    );

    // The secretary opens a trajectory; Koen breaks the glass and reads the trajectories.
    let open = "mutation($c: ID!) { openTrajectory(input: {clientId: $c, title: \"Care\"}) { id } }";
    data(&app.as_user(secretary, open, json!({"c": lotte})).await);
    data(&app.as_user(koen, BREAK, json!({"c": lotte, "r": REASON})).await);
    let read = app
        .as_user(
            koen,
            "query($id: ID!) { client(id: $id) { trajectories { title } viewerAccess { bases } } }",
            json!({"id": lotte}),
        )
        .await;
    let client = &data(&read)["client"];
    assert_eq!(client["trajectories"], json!([{"title": "Care"}]));
    assert_eq!(client["viewerAccess"]["bases"], json!(["CONSENT", "EMERGENCY"]), "{read:#}");

    let log = log_of(&app, lotte).await;
    let rows: Vec<&Value> = log
        .iter()
        .filter(|r| covers(r, "Trajectory") && r["action"] == "READ" && r["actor"]["displayName"] == "koen")
        .collect();
    assert_eq!(rows.len(), 1, "{log:#?}");
    assert_eq!(rows[0]["basis"], "EMERGENCY", "{:#?}", rows[0]);
    assert_eq!(rows[0]["emergency"], true, "{:#?}", rows[0]);
    let emergency = emergency_access::Entity::find().one(app.app.db.conn()).await.expect("query").expect("the access");
    let stored = audit_event::Entity::find()
        .filter(audit_event::Column::ActorId.eq(koen))
        .filter(audit_event::Column::ObjectType.eq("Trajectory"))
        .one(app.app.db.conn())
        .await
        .expect("query")
        .expect("the row");
    assert_eq!(stored.grant_id, Some(emergency.id), "the grant is the emergency access, not the consent");
}

on_every_database!(
    a_read_is_logged_with_the_basis_that_granted_it_not_another_one_the_viewer_holds,
    a_counselor_without_basis_breaks_the_glass_reads_and_loses_access_when_it_ends,
    emergency_access_is_logged_with_the_emergency_flag_and_notifies,
    only_counselors_and_supervisors_without_access_break_the_glass,
);
