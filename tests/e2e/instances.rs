//! Several instances on one PostgreSQL database: a notification committed through one reaches
//! subscribers on another, also when the listening connection was cut meanwhile. PostgreSQL
//! only: an SQLite file serves one instance.

use std::time::Duration;

use inzage_entity::Role;
use inzage_testkit::live::{connect, next_notification, subscribe_notifications};
use inzage_testkit::{Backend, TestApp};
use sea_orm::ConnectionTrait;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn a_subscriber_on_one_instance_receives_what_another_commits() {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let a = TestApp::spawn(&backend).await;
    let b = a.sibling().await;
    let (org, _) = a.organization("De Linde").await;
    let lotte = a.user(org, "lotte@linde.example", &[Role::Client]).await;
    let mut socket = connect(a.addr, &a.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ids = b.notify(lotte, 3).await;
    for id in ids {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "several instances share PostgreSQL: set INZAGE_TEST_DATABASE_URL")]
async fn a_notification_committed_while_the_listener_is_cut_still_arrives() {
    let backend = Backend::postgres().expect("INZAGE_TEST_DATABASE_URL");
    let a = TestApp::spawn(&backend).await;
    let b = a.sibling().await;
    let (org, _) = a.organization("De Linde").await;
    let lotte = a.user(org, "lotte@linde.example", &[Role::Client]).await;
    let mut socket = connect(a.addr, &a.token(lotte)).await;
    subscribe_notifications(&mut socket, "1", None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Cut every LISTEN connection to this database (both instances'), then commit through B
    // before A's listener is back.
    let cut = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
               WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()";
    let terminated = a.app.db.conn().execute_unprepared(cut).await.expect("terminate");
    assert!(terminated.rows_affected() >= 1, "a listener was connected");
    let ids = b.notify(lotte, 2).await;

    for id in ids {
        assert_eq!(next_notification(&mut socket).await["id"], id.to_string(), "delivered after the reconnect");
    }
}
