//! Notifications: listing them, marking them read.

use inzage_entity::Role;
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, assert_refused, data};
use serde_json::{Value, json};

const LIST: &str = "query($unread: Boolean) { viewer { notifications(unreadOnly: $unread) { nodes { id kind title readAt client { displayName } emergencyAccess { reason user { displayName } } } } } }";
const MARK: &str = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }";

fn nodes(response: &Value) -> Vec<Value> {
    data(response)["viewer"]["notifications"]["nodes"].as_array().expect("nodes").clone()
}

async fn emergency_access_notifies_the_client_who_marks_it_read(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (org, _) = app.organization("De Linde").await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    let reason = "Collapsed in the waiting room, need her medication";
    data(
        &app.as_user(
            koen,
            "mutation($c: ID!, $r: String!) { breakGlass(clientId: $c, reason: $r) { id } }",
            json!({"c": lotte, "r": reason}),
        )
        .await,
    );

    let lotte_sees = nodes(&app.as_user(lotte, LIST, json!({})).await);
    assert_eq!(lotte_sees.len(), 1);
    assert_eq!(lotte_sees[0]["kind"], "EMERGENCY_ACCESS");
    assert_eq!(lotte_sees[0]["client"]["displayName"], "Lotte");
    assert_eq!(lotte_sees[0]["emergencyAccess"]["reason"], reason);
    assert_eq!(lotte_sees[0]["emergencyAccess"]["user"]["displayName"], "koen");
    assert!(lotte_sees[0]["readAt"].is_null());
    let carla_sees = nodes(&app.as_user(carla, LIST, json!({})).await);
    assert_eq!(carla_sees.len(), 1, "the client's counselor is told too");
    let koen_sees = nodes(&app.as_user(koen, LIST, json!({})).await);
    assert!(
        koen_sees.iter().all(|n| n["kind"] != "EMERGENCY_ACCESS"),
        "not the one who broke the glass: {koen_sees:?}"
    );

    // Carla cannot mark Lotte's notification read; Lotte can, once.
    let foreign = app.as_user(carla, MARK, json!({"ids": [lotte_sees[0]["id"]]})).await;
    assert_eq!(data(&foreign)["markNotificationsRead"], 0);
    assert!(nodes(&app.as_user(lotte, LIST, json!({})).await)[0]["readAt"].is_null());
    let own = app.as_user(lotte, MARK, json!({"ids": [lotte_sees[0]["id"]]})).await;
    assert_eq!(data(&own)["markNotificationsRead"], 1);
    let again = app.as_user(lotte, MARK, json!({"ids": [lotte_sees[0]["id"]]})).await;
    assert_eq!(data(&again)["markNotificationsRead"], 0, "already read");
    let malformed = app.as_user(lotte, MARK, json!({"ids": [lotte_sees[0]["id"], "not-an-id"]})).await;
    assert_refused(&malformed, "BAD_USER_INPUT", Some("ids[1]"));
    assert!(nodes(&app.as_user(lotte, LIST, json!({"unread": true})).await).is_empty());
    assert_eq!(nodes(&app.as_user(lotte, LIST, json!({})).await)[0]["readAt"], "2026-03-02T09:00:00+00:00");
    assert_eq!(nodes(&app.as_user(carla, LIST, json!({"unread": true})).await).len(), 1);
}

on_every_database!(emergency_access_notifies_the_client_who_marks_it_read);
