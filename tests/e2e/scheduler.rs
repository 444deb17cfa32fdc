//! The expiry scheduler: warnings before, and ends at, the deadline of time-bound access,
//! exactly once even when several instances run it.

use inzage_testkit::on_every_database;
use std::time::Duration;

use inzage_entity::{NotificationKind, Role, notification};
use inzage_testkit::live::{connect, next_notification, subscribe_notifications};
use inzage_testkit::{Backend, TestApp, data};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

const BREAK: &str =
    "mutation($c: ID!) { breakGlass(clientId: $c, reason: \"Unconscious at the front desk\") { id endsAt } }";

async fn kinds_for(app: &TestApp, user: Uuid) -> Vec<NotificationKind> {
    notification::Entity::find()
        .filter(notification::Column::RecipientId.eq(user))
        .order_by_asc(notification::Column::Id)
        .all(app.app.db.conn())
        .await
        .expect("notifications")
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

async fn setup(app: &TestApp) -> (Uuid, Uuid) {
    let (org, _) = app.organization("De Linde").await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let lotte = app.client_created_by(carla, "lotte@linde.example", "Lotte").await;
    (koen, lotte)
}

async fn emergency_access_warns_once_before_the_end_and_ends_once_at_the_deadline(backend: Backend) {
    let app = TestApp::spawn_with(&backend, |s| s.expiry_warning = Duration::from_secs(3600)).await;
    let (koen, lotte) = setup(&app).await;
    let mut socket = connect(app.addr, &app.token(koen)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    data(&app.as_user(koen, BREAK, json!({"c": lotte})).await);

    let scheduler = &app.app.scheduler;
    scheduler.run_due().await.expect("run");
    assert!(kinds_for(&app, koen).await.is_empty(), "nothing is due four hours before the end");

    app.clock.advance(chrono::Duration::minutes(179));
    scheduler.run_due().await.expect("run");
    assert!(kinds_for(&app, koen).await.is_empty(), "a minute before the warning window");
    app.clock.advance(chrono::Duration::minutes(1));
    scheduler.run_due().await.expect("run");
    scheduler.run_due().await.expect("run again");
    assert_eq!(kinds_for(&app, koen).await, vec![NotificationKind::EmergencyAccessExpiring]);
    assert_eq!(next_notification(&mut socket).await["kind"], "EMERGENCY_ACCESS_EXPIRING", "pushed live");

    app.clock.advance(chrono::Duration::minutes(60));
    scheduler.run_due().await.expect("run");
    scheduler.run_due().await.expect("run again");
    assert_eq!(
        kinds_for(&app, koen).await,
        vec![NotificationKind::EmergencyAccessExpiring, NotificationKind::EmergencyAccessEnded]
    );
    assert_eq!(next_notification(&mut socket).await["kind"], "EMERGENCY_ACCESS_ENDED");
    assert_eq!(scheduler.next_deadline().await.expect("deadline"), None, "nothing left to do");
}

async fn two_schedulers_racing_emit_each_event_exactly_once(backend: Backend) {
    let first = TestApp::spawn_with(&backend, |s| s.expiry_warning = Duration::from_secs(3600)).await;
    let second = first.sibling().await;
    let (koen, lotte) = setup(&first).await;
    data(&first.as_user(koen, BREAK, json!({"c": lotte})).await);

    for minutes in [180, 60] {
        first.clock.advance(chrono::Duration::minutes(minutes));
        second.clock.set(first.clock_now());
        for _ in 0..5 {
            let (a, b) = tokio::join!(first.app.scheduler.run_due(), second.app.scheduler.run_due());
            a.expect("first");
            b.expect("second");
        }
    }
    assert_eq!(
        kinds_for(&first, koen).await,
        vec![NotificationKind::EmergencyAccessExpiring, NotificationKind::EmergencyAccessEnded]
    );
}

on_every_database!(
    emergency_access_warns_once_before_the_end_and_ends_once_at_the_deadline,
    two_schedulers_racing_emit_each_event_exactly_once,
);
