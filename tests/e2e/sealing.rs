//! The sealed access log: rows are sealed in a chain, a client sees the seal over each row of
//! their log, and every kind of tampering done directly in SQL (a row changed, removed or
//! added, a seal changed, removed or forged, the whole chain rewritten) is found and located by
//! the verification, including `inzage audit verify` on the command line.

use std::time::Duration;

use inzage_api::sealing::{self, Finding};
use inzage_entity::Role;
use inzage_testkit::{Backend, TestApp, data, on_every_database};
use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::{Value, json};
use uuid::Uuid;

const READ: &str = r#"query($id: ID!) { client(id: $id) { displayName dossier { nodes { title } } } }"#;
const LOG: &str = r#"query($id: ID!) { client(id: $id) { accessLog(first: 200) {
    nodes { id action objectTypes seal { sequence rows hash previousHash root } } } } }"#;

/// A client whose counselor wrote and read their dossier: a few access-log rows.
struct Scene {
    app: TestApp,
    carla: Uuid,
    lotte: Uuid,
}

async fn scene(backend: &Backend, adjust: impl FnOnce(&mut inzage_api::Settings)) -> Scene {
    let app = TestApp::spawn_with(backend, adjust).await;
    let (org, _) = app.organization("De Linde").await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let create = r#"mutation { createUser(input: {email: "lotte@linde.example", displayName: "Lotte", roles: [CLIENT]}) { id } }"#;
    let lotte = app.as_user(carla, create, json!({})).await;
    let lotte: Uuid = data(&lotte)["createUser"]["id"].as_str().expect("an id").parse().expect("a uuid");
    let entry = r#"mutation($c: ID!) { addDossierEntry(clientId: $c, input: {kind: NOTE, title: "Intake", body: "Fine."}) { id } }"#;
    data(&app.as_user(carla, entry, json!({"c": lotte})).await);
    for _ in 0..3 {
        data(&app.as_user(carla, READ, json!({"id": lotte})).await);
    }
    Scene { app, carla, lotte }
}

/// Seals everything written so far; the seals made. On PostgreSQL a row is sealed once every
/// transaction that began before it has ended, in any database of the server (other tests run
/// side by side): that may take a moment, and more than one seal.
async fn seal(app: &TestApp) -> Vec<sealing::Seal> {
    let mut seals = Vec::new();
    for _ in 0..200 {
        if let Some(seal) = sealing::seal_now(&app.app.db, app.clock_now()).await.expect("sealing") {
            seals.push(seal);
        }
        if matches!(verify(app).await, Finding::Intact { unsealed: 0, .. }) {
            return seals;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rows were left unsealed for 10 s");
}

async fn verify(app: &TestApp) -> Finding {
    sealing::verify(&app.app.db, &[], None).await.expect("verifying")
}

async fn sql(app: &TestApp, statement: &str) {
    app.app.db.conn().execute_unprepared(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
}

fn is_postgres(app: &TestApp) -> bool {
    app.app.db.backend() == DbBackend::Postgres
}

/// `id` as an SQL literal of the database (SQLite stores ids as 16-byte blobs).
fn id_sql(app: &TestApp, id: Uuid) -> String {
    if is_postgres(app) { format!("'{id}'") } else { format!("x'{}'", id.simple()) }
}

/// Runs the `inzage` command with `args` against `app`'s database.
fn inzage(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_inzage"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", app.database_url())
        .env("RUST_LOG", "warn")
        .output()
        .expect("inzage runs")
}

/// The ids of the client's access-log rows, oldest first.
async fn log_ids(scene: &Scene) -> Vec<Uuid> {
    let log = scene.app.as_user(scene.lotte, LOG, json!({"id": scene.lotte})).await;
    let mut ids: Vec<Uuid> = data(&log)["client"]["accessLog"]["nodes"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["id"].as_str().expect("an id").parse().expect("a uuid"))
        .collect();
    ids.sort();
    ids
}

async fn a_backlog_is_sealed_in_a_run_of_seals_of_bounded_size(backend: Backend) {
    let scene = scene(&backend, |_| {}).await;
    for _ in 0..12 {
        data(&scene.app.as_user(scene.carla, READ, json!({"id": scene.lotte})).await);
    }
    // At most three rows a seal: the backlog takes a run of seals, each after the previous.
    let mut seals = Vec::new();
    for _ in 0..400 {
        while let Some(sealing::Sealed { seal, more }) =
            sealing::seal_at_most(&scene.app.app.db, scene.app.clock_now(), 3).await.expect("sealing")
        {
            seals.push(seal);
            if !more {
                break;
            }
        }
        if matches!(verify(&scene.app).await, Finding::Intact { unsealed: 0, .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(matches!(verify(&scene.app).await, Finding::Intact { unsealed: 0, .. }), "all sealed, and intact");
    let sizes: Vec<i64> = seals.iter().map(|seal| seal.rows).collect();
    let rows: i64 = sizes.iter().sum();
    assert!(rows >= 14, "the writes and the twelve reads: {sizes:?}");
    assert!(sizes.iter().all(|&size| (1..=3).contains(&size)), "{sizes:?}");
    for pair in seals.windows(2) {
        assert_eq!(pair[1].from, pair[0].until, "each seal starts where the previous ended");
        assert_eq!(pair[1].previous_hash, pair[0].hash);
    }
}

/// The background sealer seals a backlog in one run of seals, not one capped seal per interval.
/// On SQLite only: on PostgreSQL a row becomes sealable only when every transaction older than
/// it has ended anywhere on the server, so a test running beside it could hold rows back past
/// the one tick this test waits for (`a_backlog_is_sealed_in_a_run_of_seals_of_bounded_size`
/// covers the run of seals itself on both databases).
#[tokio::test]
async fn the_background_sealer_seals_a_backlog_in_one_run() {
    let scene = scene(&Backend::Sqlite, |_| {}).await;
    for _ in 0..12 {
        data(&scene.app.as_user(scene.carla, READ, json!({"id": scene.lotte})).await);
    }
    // The first tick comes at once, the next an hour later: everything sealed within seconds
    // was sealed by the first, three rows a seal.
    let app = &scene.app.app;
    let sealer = sealing::spawn(app.db.clone(), app.clock.clone(), Duration::from_secs(3600), 3, None);
    let mut finding = verify(&scene.app).await;
    for _ in 0..100 {
        if matches!(finding, Finding::Intact { unsealed: 0, .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        finding = verify(&scene.app).await;
    }
    sealer.abort();
    match finding {
        Finding::Intact { unsealed: 0, seals, rows, .. } => {
            assert!(rows >= 14, "the writes and the reads: {rows} rows");
            assert!(seals * 3 >= rows, "{seals} seals of at most three rows for {rows} rows");
        }
        other => panic!("the backlog was not sealed in the first run: {other:?}"),
    }
}

async fn rows_are_sealed_in_a_chain_that_a_client_sees_over_their_log(backend: Backend) {
    let scene = scene(&backend, |_| {}).await;
    let first = seal(&scene.app).await;
    assert_eq!(first[0].sequence, 1);
    assert_eq!(first[0].previous_hash, vec![0; 32]);
    let sealed_rows: i64 = first.iter().map(|seal| seal.rows).sum();
    assert!(sealed_rows >= 4, "the writes and reads were sealed: {first:?}");
    assert!(
        sealing::seal_now(&scene.app.app.db, scene.app.clock_now()).await.expect("sealing").is_none(),
        "nothing new"
    );

    // The client reads their log (which logs that read, unsealed for now): each earlier row
    // carries the seal that covers it.
    let log = scene.app.as_user(scene.lotte, LOG, json!({"id": scene.lotte})).await;
    let rows = data(&log)["client"]["accessLog"]["nodes"].as_array().expect("rows").clone();
    let sealed: Vec<&Value> = rows.iter().filter(|row| !row["seal"].is_null()).collect();
    assert!(!sealed.is_empty(), "{rows:#?}");
    for row in &sealed {
        let sequence = row["seal"]["sequence"].as_i64().expect("a sequence");
        let seal = first.iter().find(|seal| seal.sequence == sequence).expect("one of the seals made");
        assert_eq!(row["seal"]["hash"], hex(&seal.hash));
        assert_eq!(row["seal"]["root"], hex(&seal.root));
    }

    data(&scene.app.as_user(scene.carla, READ, json!({"id": scene.lotte})).await);
    let second = seal(&scene.app).await;
    let last = first.last().expect("a seal");
    assert_eq!((second[0].sequence, &second[0].previous_hash), (last.sequence + 1, &last.hash), "chained on");
    let all = first.len() + second.len();
    match verify(&scene.app).await {
        Finding::Intact { seals, rows, unsealed: 0, .. } => {
            assert_eq!(seals as usize, all);
            assert_eq!(rows, first.iter().chain(&second).map(|seal| seal.rows).sum::<i64>());
        }
        other => panic!("expected an intact chain of {all} seals, got {other}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn a_changed_removed_or_added_row_is_found_and_located(backend: Backend) {
    // Changed.
    let scene = scene(&backend, |_| {}).await;
    seal(&scene.app).await;
    let ids = log_ids(&scene).await;
    let changed = ids[1];
    sql(&scene.app, &format!("UPDATE audit_event SET basis = 'OWN' WHERE id = {}", id_sql(&scene.app, changed))).await;
    let found = verify(&scene.app).await;
    assert!(matches!(found, Finding::RowChanged { id, .. } if id == changed), "{found}");

    // Removed.
    let scene = self::scene(&backend, |_| {}).await;
    seal(&scene.app).await;
    let ids = log_ids(&scene).await;
    let removed = ids[2];
    sql(&scene.app, &format!("DELETE FROM audit_event WHERE id = {}", id_sql(&scene.app, removed))).await;
    let found = verify(&scene.app).await;
    assert!(matches!(found, Finding::RowRemoved { id, .. } if id == removed), "{found}");

    // Added inside a sealed range: a copy of a row with a new id, placed where the sealed rows
    // were written (a new row without that would just be sealed next, like any other).
    let scene = self::scene(&backend, |_| {}).await;
    seal(&scene.app).await;
    let ids = log_ids(&scene).await;
    let added = Uuid::now_v7();
    let columns = "occurred_at, actor_id, actor_role, client_id, action, object_type, object_id, basis, grant_id, \
                   outcome, request_id, emergency";
    let forged = if is_postgres(&scene.app) {
        format!(
            "INSERT INTO audit_event (id, {columns}, written_xid) SELECT {}, {columns}, written_xid \
             FROM audit_event WHERE id = {}",
            id_sql(&scene.app, added),
            id_sql(&scene.app, ids[0])
        )
    } else {
        // Rowids start at 1: 0 lies inside the first seal's range and is free.
        format!(
            "INSERT INTO audit_event (rowid, id, {columns}) SELECT 0, {}, {columns} FROM audit_event WHERE id = {}",
            id_sql(&scene.app, added),
            id_sql(&scene.app, ids[0])
        )
    };
    sql(&scene.app, &forged).await;
    let found = verify(&scene.app).await;
    assert!(matches!(found, Finding::RowAdded { id, .. } if id == added), "{found}");
}

async fn a_changed_removed_or_forged_seal_is_found(backend: Backend) {
    let two_seals = |backend: Backend| async move {
        let scene = scene(&backend, |_| {}).await;
        seal(&scene.app).await;
        data(&scene.app.as_user(scene.carla, READ, json!({"id": scene.lotte})).await);
        seal(&scene.app).await;
        assert!(matches!(verify(&scene.app).await, Finding::Intact { unsealed: 0, .. }));
        scene
    };

    let scene = two_seals(backend.clone()).await;
    sql(&scene.app, "UPDATE audit_seal SET row_count = row_count + 1 WHERE seq = 1").await;
    assert!(matches!(verify(&scene.app).await, Finding::SealAltered { sequence: 1, .. }));

    let scene = two_seals(backend.clone()).await;
    sql(&scene.app, "DELETE FROM audit_seal WHERE seq = 1").await;
    assert!(matches!(verify(&scene.app).await, Finding::SealAltered { sequence: 1, .. }), "the chain misses its first");

    // A forged seal at the end, with made-up hashes.
    let scene = two_seals(backend.clone()).await;
    let blob = if is_postgres(&scene.app) { "'\\x00'::bytea" } else { "x'00'" };
    sql(
        &scene.app,
        &format!(
            "INSERT INTO audit_seal (seq, sealed_at, from_position, until_position, row_count, root, previous_hash, \
             hash, row_index) SELECT seq + 1, sealed_at, until_position, until_position + 1, 0, {blob}, hash, {blob}, \
             {blob} FROM audit_seal WHERE seq = (SELECT MAX(seq) FROM audit_seal)"
        ),
    )
    .await;
    let found = verify(&scene.app).await;
    assert!(matches!(found, Finding::SealAltered { ref why, .. } if why.contains("hash")), "{found}");
}

async fn seals_are_exported_as_made_and_a_rewritten_chain_differs_from_the_export(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("seals.jsonl");
    let path = export.clone();
    let scene = scene(&backend, move |s| {
        s.audit_seal_interval = Duration::from_millis(100);
        s.audit_seal_export = Some(sealing::Export::File(path));
    })
    .await;
    // The instance seals by itself and exports each seal.
    let mut exported = Vec::new();
    for _ in 0..100 {
        if export.exists() {
            exported = sealing::read_export(&export).expect("export");
        }
        if !exported.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(exported.first().map(|seal| seal.sequence), Some(1), "the first seal was exported");
    let ids = log_ids(&scene).await;

    // Someone with database access changes a row and rewrites the chain from the start: the
    // chain alone looks intact, the export shows the rewrite.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let exported = sealing::read_export(&export).expect("export");
    let newest = exported.len();
    sql(&scene.app, &format!("UPDATE audit_event SET basis = 'OWN' WHERE id = {}", id_sql(&scene.app, ids[0]))).await;
    sql(&scene.app, "DELETE FROM audit_seal").await;
    // Resealed, by this call or by the instance's own sealer, whichever comes first.
    let _ = sealing::seal_now(&scene.app.app.db, scene.app.clock_now()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(verify(&scene.app).await, Finding::Intact { .. }), "a rewritten chain is consistent in itself");
    let against_export = sealing::verify(&scene.app.app.db, &exported, None).await.expect("verifying");
    assert!(
        matches!(against_export, Finding::ExportMismatch { sequence: 1 } | Finding::SealAltered { .. }),
        "{against_export} (export of {newest} seals)"
    );
}

async fn inzage_audit_verify_says_intact_then_names_the_changed_row(backend: Backend) {
    let scene = scene(&backend, |_| {}).await;
    let run = |args: &[&str]| inzage(&scene.app, args);
    // On PostgreSQL the rows become sealable once every transaction older than them has ended
    // on the server (other tests run side by side): until then the command has nothing to seal.
    let mut sealed = run(&["audit", "seal"]);
    for _ in 0..100 {
        if !String::from_utf8_lossy(&sealed.stdout).starts_with("nothing to seal") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        sealed = run(&["audit", "seal"]);
    }
    assert!(sealed.status.success(), "{sealed:?}");
    assert!(String::from_utf8_lossy(&sealed.stdout).contains("as seal 1"), "{sealed:?}");
    let intact = run(&["audit", "verify"]);
    assert!(intact.status.success(), "{intact:?}");
    assert!(String::from_utf8_lossy(&intact.stdout).starts_with("intact: 1 seals"), "{intact:?}");

    let changed = log_ids(&scene).await[0];
    sql(&scene.app, &format!("UPDATE audit_event SET outcome = 'DENIED' WHERE id = {}", id_sql(&scene.app, changed)))
        .await;
    let found = run(&["audit", "verify"]);
    assert_eq!(found.status.code(), Some(1), "{found:?}");
    let said = String::from_utf8_lossy(&found.stdout);
    assert!(said.contains(&format!("row {changed} (seal 1) was changed")), "{said}");
}

/// `inzage audit verify --rows-from N` reads again only the rows of seals N and later, and still
/// checks every seal of the chain.
async fn verifying_from_a_seal_reads_only_newer_rows_but_checks_every_seal(backend: Backend) {
    let scene = scene(&backend, |_| {}).await;
    let older = log_ids(&scene).await;
    let newest_older = seal(&scene.app).await.last().expect("a seal").sequence;
    data(&scene.app.as_user(scene.carla, READ, json!({"id": scene.lotte})).await);
    seal(&scene.app).await;
    let from = newest_older + 1;
    let verify_from = || async { sealing::verify_from(&scene.app.app.db, &[], None, from).await.expect("verifying") };
    match verify_from().await {
        Finding::Intact { rows, rows_read, unsealed: 0, .. } => {
            assert!(0 < rows_read && rows_read < rows, "{rows_read} of {rows} rows read again");
        }
        other => panic!("{other}"),
    }

    // A row of an older seal changed: not read again from a newer seal, found by a whole run.
    let changed = older[0];
    sql(&scene.app, &format!("UPDATE audit_event SET outcome = 'DENIED' WHERE id = {}", id_sql(&scene.app, changed)))
        .await;
    assert!(matches!(verify_from().await, Finding::Intact { .. }));
    assert!(matches!(verify(&scene.app).await, Finding::RowChanged { id, .. } if id == changed));

    // An older seal changed: found from a newer seal too.
    sql(&scene.app, "UPDATE audit_seal SET row_count = row_count + 1 WHERE seq = 1").await;
    assert!(matches!(verify_from().await, Finding::SealAltered { sequence: 1, .. }));
    sql(&scene.app, "UPDATE audit_seal SET row_count = row_count - 1 WHERE seq = 1").await;

    // A row of a newer seal changed: found.
    let log = scene.app.as_user(scene.lotte, LOG, json!({"id": scene.lotte})).await;
    let newer: Uuid = data(&log)["client"]["accessLog"]["nodes"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|row| row["seal"]["sequence"].as_i64().is_some_and(|sequence| sequence >= from))
        .and_then(|row| row["id"].as_str()?.parse().ok())
        .expect("a row of a newer seal");
    sql(&scene.app, &format!("UPDATE audit_event SET outcome = 'DENIED' WHERE id = {}", id_sql(&scene.app, newer)))
        .await;
    match verify_from().await {
        Finding::RowChanged { sequence, id } => assert!(sequence >= from && id == newer, "{sequence} {id}"),
        other => panic!("{other}"),
    }

    // The command line takes the same.
    let run = |args: &[&str]| inzage(&scene.app, args);
    let found = run(&["audit", "verify", "--rows-from", &from.to_string()]);
    assert_eq!(found.status.code(), Some(1), "{found:?}");
    assert!(String::from_utf8_lossy(&found.stdout).contains(&format!("row {newer}")), "{found:?}");
}

on_every_database!(
    verifying_from_a_seal_reads_only_newer_rows_but_checks_every_seal,
    a_backlog_is_sealed_in_a_run_of_seals_of_bounded_size,
    inzage_audit_verify_says_intact_then_names_the_changed_row,
    rows_are_sealed_in_a_chain_that_a_client_sees_over_their_log,
    a_changed_removed_or_added_row_is_found_and_located,
    a_changed_removed_or_forged_seal_is_found,
    seals_are_exported_as_made_and_a_rewritten_chain_differs_from_the_export,
);
