//! Who sees what about a client, role by role, over real HTTP.

use inzage_entity::Role;
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, covers, data, error_code, paths_with};
use serde_json::{Value, json};
use uuid::Uuid;

/// A small care organisation, linked through the API as a secretary and clients would.
struct Org {
    admin: Uuid,
    secretary: Uuid,
    carla: Uuid,
    koen: Uuid,
    supervisor: Uuid,
    analyst: Uuid,
    officer: Uuid,
    lotte: Uuid,
    milan: Uuid,
    guardian: Uuid,
    relative: Uuid,
}

async fn care_org(app: &TestApp) -> Org {
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let supervisor = app.user(org, "sofie@linde.example", &[Role::Supervisor]).await;
    let analyst = app.user(org, "daan@linde.example", &[Role::DataAnalyst]).await;
    let officer = app.user(org, "olga@linde.example", &[Role::DataOfficer]).await;
    let guardian = app.user(org, "gijs@linde.example", &[Role::Guardian]).await;

    let create_client = r#"mutation($email: String!, $name: String!) {
        createUser(input: {email: $email, displayName: $name, roles: [CLIENT], phone: "+31 6 1111 2222",
                           address: "Lindelaan 1, Utrecht", birthDate: "1990-01-02"}) { id } }"#;
    let lotte = app.as_user(carla, create_client, json!({"email": "lotte@linde.example", "name": "Lotte"})).await;
    let lotte = id(&data(&lotte)["createUser"]["id"]);
    let milan = app.as_user(secretary, create_client, json!({"email": "milan@linde.example", "name": "Milan"})).await;
    let milan = id(&data(&milan)["createUser"]["id"]);

    let link = |field: &str| {
        format!(
            "mutation($c: ID!, $p: ID!) {{ {field}(clientId: $c, {}: $p) {{ id }} }}",
            match field {
                "linkSupervisor" => "supervisorId",
                "linkGuardian" => "guardianId",
                _ => "counselorId",
            }
        )
    };
    data(&app.as_user(secretary, &link("linkSupervisor"), json!({"c": lotte, "p": supervisor})).await);
    data(&app.as_user(secretary, &link("linkGuardian"), json!({"c": lotte, "p": guardian})).await);
    data(&app.as_user(secretary, &link("linkCounselor"), json!({"c": milan, "p": koen})).await);

    let relative = app
        .as_user(
            lotte,
            r#"mutation { addRelative(email: "ria@linde.example", displayName: "Ria") { id roles } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data(&relative)["addRelative"]["roles"], json!(["RELATIVE"]));
    let relative = id(&data(&relative)["addRelative"]["id"]);

    let entry = r#"mutation($c: ID!) { addDossierEntry(clientId: $c, input: {kind: REPORT, title: "Intake", body: "Sleeps badly."}) { id } }"#;
    data(&app.as_user(carla, entry, json!({"c": lotte})).await);
    let tool = r#"mutation($c: ID!) { assignTool(input: {clientId: $c, name: "Sleep diary", content: "How did you sleep?"}) { id } }"#;
    data(&app.as_user(secretary, tool, json!({"c": lotte})).await);
    let own_tool = r#"mutation { createSelfHelpTool(name: "My notes", content: "Private notes") { id } }"#;
    data(&app.as_user(relative, own_tool, json!({})).await);

    Org { admin, secretary, carla, koen, supervisor, analyst, officer, lotte, milan, guardian, relative }
}

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().expect("an id")).expect("a uuid")
}

const FULL_CLIENT: &str = r#"query($id: ID!) { client(id: $id) {
    id displayName contact { email phone address birthDate } counselors { displayName }
    dossier { nodes { title author { displayName } } } tools { name content }
    viewerAccess { bases canReadContact canReadDossier canWriteDossier } } }"#;

async fn administrator_sees_no_client_data(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let response = app.as_user(org.admin, FULL_CLIENT, json!({"id": org.lotte})).await;
    assert!(response["data"]["client"].is_null());
    assert_eq!(error_code(&response), Some("NOT_FOUND"));
    let list = app.as_user(org.admin, "{ clients { nodes { id } } }", json!({})).await;
    assert_eq!(data(&list)["clients"]["nodes"], json!([]));
    // The account itself is visible to the administrator, as every account of the organisation.
    let account =
        app.as_user(org.admin, "query($id: ID!) { user(id: $id) { displayName } }", json!({"id": org.lotte})).await;
    assert_eq!(data(&account)["user"]["displayName"], "Lotte");
}

async fn secretary_sees_contact_and_tool_list_but_not_tool_content_or_dossier(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let response = app.as_user(org.secretary, FULL_CLIENT, json!({"id": org.lotte})).await;
    let client = &response["data"]["client"];
    assert_eq!(client["contact"]["phone"], "+31 6 1111 2222");
    assert_eq!(client["contact"]["email"], "lotte@linde.example");
    assert_eq!(client["tools"][0]["name"], "Sleep diary");
    assert!(client["tools"][0]["content"].is_null());
    assert!(client["dossier"].is_null());
    let mut forbidden = paths_with(&response, "FORBIDDEN");
    forbidden.sort();
    assert_eq!(forbidden, vec!["client.dossier", "client.tools.0.content"], "{response:#}");
    assert_eq!(client["viewerAccess"]["bases"], json!(["SECRETARY"]));
    assert_eq!(client["viewerAccess"]["canReadDossier"], false);

    let everyone =
        app.as_user(org.secretary, "{ clients { nodes { displayName contact { phone } } } }", json!({})).await;
    let names: Vec<&str> = data(&everyone)["clients"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|c| c["displayName"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "every client of the organisation: {names:?}");
}

async fn counselor_sees_caseload_clients_fully_and_others_not_at_all(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let response = app.as_user(org.carla, FULL_CLIENT, json!({"id": org.lotte})).await;
    let client = &data(&response)["client"];
    assert_eq!(client["contact"]["birthDate"], "1990-01-02");
    assert_eq!(client["dossier"]["nodes"][0]["title"], "Intake");
    assert_eq!(client["tools"][0]["content"], "How did you sleep?");
    assert_eq!(client["counselors"], json!([{"displayName": "carla"}]));
    assert_eq!(client["viewerAccess"]["canWriteDossier"], true);

    // Milan is Koen's client, not Carla's: by id, in the list and in a search he does not exist.
    let other = app.as_user(org.carla, FULL_CLIENT, json!({"id": org.milan})).await;
    assert!(other["data"]["client"].is_null());
    assert_eq!(error_code(&other), Some("NOT_FOUND"));
    let unknown = app.as_user(org.carla, FULL_CLIENT, json!({"id": Uuid::now_v7()})).await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
    assert_eq!(
        other["errors"][0]["message"], unknown["errors"][0]["message"],
        "no difference between hidden and unknown"
    );
    let list = app
        .as_user(org.carla, "{ clients { nodes { displayName } } viewer { caseload { displayName } } }", json!({}))
        .await;
    assert_eq!(data(&list)["clients"]["nodes"], json!([{"displayName": "Lotte"}]));
    assert_eq!(data(&list)["viewer"]["caseload"], json!([{"displayName": "Lotte"}]));
    let search = app.as_user(org.carla, r#"{ clients(search: "mil") { nodes { displayName } } }"#, json!({})).await;
    assert_eq!(data(&search)["clients"]["nodes"], json!([]));
    let koen_search = app.as_user(org.koen, r#"{ clients(search: "MIL") { nodes { displayName } } }"#, json!({})).await;
    assert_eq!(data(&koen_search)["clients"]["nodes"], json!([{"displayName": "Milan"}]));
}

async fn a_linked_counselor_links_a_colleague_and_an_unlinked_one_cannot(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let link =
        "mutation($c: ID!, $p: ID!) { linkCounselor(clientId: $c, counselorId: $p) { counselors { displayName } } }";
    let refused = app.as_user(org.koen, link, json!({"c": org.lotte, "p": org.koen})).await;
    assert_eq!(error_code(&refused), Some("NOT_FOUND"), "Lotte does not exist for Koen");
    let linked = app.as_user(org.carla, link, json!({"c": org.lotte, "p": org.koen})).await;
    assert_eq!(
        data(&linked)["linkCounselor"]["counselors"],
        json!([{"displayName": "carla"}, {"displayName": "koen"}])
    );
    let now_visible = app.as_user(org.koen, FULL_CLIENT, json!({"id": org.lotte})).await;
    assert_eq!(data(&now_visible)["client"]["displayName"], "Lotte");
    let not_a_counselor = app.as_user(org.carla, link, json!({"c": org.lotte, "p": org.supervisor})).await;
    assert_eq!(error_code(&not_a_counselor), Some("BAD_USER_INPUT"));
    assert_eq!(not_a_counselor["errors"][0]["extensions"]["field"], "counselorId");
    let by_admin = app.as_user(org.admin, link, json!({"c": org.lotte, "p": org.koen})).await;
    assert_eq!(error_code(&by_admin), Some("NOT_FOUND"), "an administrator links nobody to clients");

    let unlink = "mutation($c: ID!, $p: ID!) { unlinkCounselor(clientId: $c, counselorId: $p) { id } }";
    data(&app.as_user(org.carla, unlink, json!({"c": org.lotte, "p": org.koen})).await);
    let gone = app.as_user(org.koen, FULL_CLIENT, json!({"id": org.lotte})).await;
    assert_eq!(error_code(&gone), Some("NOT_FOUND"));
}

async fn supervisor_reads_the_dossier_but_cannot_write_it(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let response = app.as_user(org.supervisor, FULL_CLIENT, json!({"id": org.lotte})).await;
    assert_eq!(data(&response)["client"]["dossier"]["nodes"][0]["title"], "Intake");
    let write =
        r#"mutation($c: ID!) { addDossierEntry(clientId: $c, input: {kind: NOTE, title: "x", body: "y"}) { id } }"#;
    let refused = app.as_user(org.supervisor, write, json!({"c": org.lotte})).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    let after = app.as_user(org.carla, FULL_CLIENT, json!({"id": org.lotte})).await;
    assert_eq!(data(&after)["client"]["dossier"]["nodes"].as_array().map(Vec::len), Some(1), "nothing written");
}

async fn client_sees_own_dossier_and_access_log(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    data(&app.as_user(org.carla, FULL_CLIENT, json!({"id": org.lotte})).await);
    let own = app
        .as_user(
            org.lotte,
            r#"query($id: ID!) { client(id: $id) { dossier { nodes { title } } relatives { displayName }
                accessLog(first: 200) { nodes { actor { displayName } action objectTypes basis outcome } } } }"#,
            json!({"id": org.lotte}),
        )
        .await;
    let client = &data(&own)["client"];
    assert_eq!(client["dossier"]["nodes"][0]["title"], "Intake");
    assert_eq!(client["relatives"], json!([{"displayName": "Ria"}]));
    let log = client["accessLog"]["nodes"].as_array().expect("log");
    assert!(
        log.iter().any(|e| e["actor"]["displayName"] == "carla"
            && covers(e, "DossierEntry")
            && e["action"] == "READ"
            && e["basis"] == "CASELOAD"),
        "Carla's dossier read is logged with her basis: {log:#?}"
    );
    let others = app
        .as_user(
            org.carla,
            "query($id: ID!) { client(id: $id) { accessLog { nodes { id } } } }",
            json!({"id": org.lotte}),
        )
        .await;
    assert_eq!(paths_with(&others, "FORBIDDEN"), vec!["client.accessLog"]);
}

/// One request of a counselor reading several kinds of a client's data on one basis is one row
/// of the client's access log, naming each kind read; what the same request was refused is a
/// row of its own.
async fn a_request_logs_one_row_per_client_and_basis_naming_every_kind_read(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    // Koen counsels Milan only: Lotte's lookup is refused, Milan's fields are read.
    let read = r#"query($m: ID!, $l: ID!) {
        milan: client(id: $m) { displayName contact { email } counselors { displayName } dossier { nodes { title } } }
        lotte: client(id: $l) { displayName } }"#;
    let response = app.as_user(org.koen, read, json!({"m": org.milan, "l": org.lotte})).await;
    assert_eq!(error_code(&response), Some("NOT_FOUND"));
    assert_eq!(response["data"]["milan"]["contact"]["email"], "milan@linde.example");
    let log = "query($c: ID!) { client(id: $c) { accessLog(first: 200) {
        nodes { actor { displayName } action objectType objectTypes basis outcome } } } }";
    let milan = app.as_user(org.milan, log, json!({"c": org.milan})).await;
    let rows: Vec<Value> = data(&milan)["client"]["accessLog"]["nodes"].as_array().expect("log").clone();
    let by_koen: Vec<&Value> = rows.iter().filter(|r| r["actor"]["displayName"] == "koen").collect();
    assert_eq!(by_koen.len(), 1, "one row for the request: {by_koen:#?}");
    let row = by_koen[0];
    assert_eq!(
        (&row["action"], &row["basis"], &row["outcome"]),
        (&json!("READ"), &json!("CASELOAD"), &json!("SUCCESS"))
    );
    assert_eq!(row["objectTypes"], json!(["Client", "ContactDetails", "Counselors", "DossierEntry"]));
    assert_eq!(row["objectType"], "Client,ContactDetails,Counselors,DossierEntry");

    let lotte = app.as_user(org.lotte, log, json!({"c": org.lotte})).await;
    let rows: Vec<Value> = data(&lotte)["client"]["accessLog"]["nodes"].as_array().expect("log").clone();
    let refused: Vec<&Value> = rows.iter().filter(|r| r["actor"]["displayName"] == "koen").collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!((&refused[0]["outcome"], &refused[0]["objectTypes"]), (&json!("DENIED"), &json!(["Client"])));
}

async fn relative_and_client_cannot_see_each_others_tools(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let relative = app
        .as_user(
            org.relative,
            "query($id: ID!) { viewer { tools { name content } } client(id: $id) { displayName tools { name } } }",
            json!({"id": org.lotte}),
        )
        .await;
    assert_eq!(relative["data"]["viewer"]["tools"], json!([{"name": "My notes", "content": "Private notes"}]));
    assert_eq!(relative["data"]["client"]["displayName"], "Lotte");
    assert!(relative["data"]["client"]["tools"].is_null());
    assert_eq!(paths_with(&relative, "FORBIDDEN"), vec!["client.tools"]);

    let client = app.as_user(org.lotte, "{ viewer { tools { name } } }", json!({})).await;
    assert_eq!(data(&client)["viewer"]["tools"], json!([{"name": "Sleep diary"}]));
    let relative_as_client = app.as_user(org.lotte, FULL_CLIENT, json!({"id": org.relative})).await;
    assert_eq!(error_code(&relative_as_client), Some("NOT_FOUND"));
    // Counselors see no relative until a conversation brings them together.
    let counselor = app
        .as_user(org.carla, "query($id: ID!) { client(id: $id) { relatives { id } } }", json!({"id": org.lotte}))
        .await;
    assert_eq!(data(&counselor)["client"]["relatives"], json!([]));
}

async fn guardian_acts_for_the_client(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let response = app
        .as_user(org.guardian, "query($id: ID!) { client(id: $id) { contact { phone } dossier { nodes { title } } accessLog { nodes { id } } viewerAccess { bases } } }", json!({"id": org.lotte}))
        .await;
    let client = &data(&response)["client"];
    assert_eq!(client["contact"]["phone"], "+31 6 1111 2222");
    assert_eq!(client["dossier"]["nodes"][0]["title"], "Intake");
    assert_eq!(client["viewerAccess"]["bases"], json!(["GUARDIAN"]));
    let milan = app.as_user(org.guardian, FULL_CLIENT, json!({"id": org.milan})).await;
    assert_eq!(error_code(&milan), Some("NOT_FOUND"));
}

async fn data_analyst_exports_pseudonyms_and_data_officer_identities(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let entry = r#"mutation($c: ID!) { addDossierEntry(clientId: $c, input: {kind: NOTE, title: "Note", body: "More."}) { id } }"#;
    data(&app.as_user(org.koen, entry, json!({"c": org.milan})).await);
    let export = "{ dossierExport { nodes { clientRef clientName entryKind createdAt } } }";
    let first = app.as_user(org.analyst, export, json!({})).await;
    let second = app.as_user(org.analyst, export, json!({})).await;
    let rows = data(&first)["dossierExport"]["nodes"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), 2);
    let text = first.to_string();
    for secret in [org.lotte.to_string(), org.milan.to_string(), "Lotte".into(), "Milan".into()] {
        assert!(!text.contains(&secret), "the analyst's export reveals {secret}");
    }
    assert!(rows.iter().all(|r| r["clientName"].is_null()));
    assert_ne!(rows[0]["clientRef"], rows[1]["clientRef"], "two clients, two pseudonyms");
    assert_eq!(data(&second)["dossierExport"]["nodes"], json!(rows), "the same pseudonym in every export");

    let officer = app.as_user(org.officer, export, json!({})).await;
    let refs: Vec<&str> = data(&officer)["dossierExport"]["nodes"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["clientRef"].as_str())
        .collect();
    assert!(refs.contains(&org.lotte.to_string().as_str()) && refs.contains(&org.milan.to_string().as_str()));
    assert!(officer.to_string().contains("Lotte"));

    for refused in [org.admin, org.secretary, org.carla, org.lotte] {
        let response = app.as_user(refused, export, json!({})).await;
        assert_eq!(error_code(&response), Some("FORBIDDEN"));
        assert!(response["data"]["dossierExport"].is_null());
    }
    let log = app
        .as_user(
            org.lotte,
            "query($id: ID!) { client(id: $id) { accessLog(first: 200) { nodes { action actorRole } } } }",
            json!({"id": org.lotte}),
        )
        .await;
    let exports = data(&log)["client"]["accessLog"]["nodes"]
        .as_array()
        .expect("log")
        .iter()
        .filter(|e| e["action"] == "EXPORT")
        .count();
    assert_eq!(exports, 3, "each export is in the client's access log");
}

async fn bad_dossier_and_tool_input_is_refused_and_nothing_written(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let write = r#"mutation($c: ID!, $t: String!, $b: String!) { addDossierEntry(clientId: $c, input: {kind: NOTE, title: $t, body: $b}) { id } }"#;
    for (title, body, field) in [("  ", "body", "input.title"), ("title", " ", "input.body")] {
        let response = app.as_user(org.carla, write, json!({"c": org.lotte, "t": title, "b": body})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
    let bad_id = app.as_user(org.carla, write, json!({"c": "nope", "t": "t", "b": "b"})).await;
    assert_eq!(bad_id["errors"][0]["extensions"]["field"], "clientId");
    let dossier = app.as_user(org.carla, FULL_CLIENT, json!({"id": org.lotte})).await;
    assert_eq!(data(&dossier)["client"]["dossier"]["nodes"].as_array().map(Vec::len), Some(1));
}

async fn a_client_looked_up_again_in_the_same_request_costs_no_more_queries(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let org = care_org(&app).await;
    let token = app.token(org.carla);
    let statements = |query: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let (statements, response) =
                app.fewest_statements(|| app.graphql(Some(&token), query, json!({"id": org.lotte}))).await;
            data(&response);
            statements
        }
    };
    let once = statements("query($id: ID!) { client(id: $id) { displayName } }").await;
    let thrice = statements(
        "query($id: ID!) { a: client(id: $id) { displayName } b: client(id: $id) { id } c: clients { nodes { id } } }",
    )
    .await;
    // The list costs its page query; the bases of the client, loaded once, serve all three.
    assert_eq!(thrice, once + 1, "one lookup: {once} statements; two lookups and a list: {thrice}");
}

on_every_database!(
    a_client_looked_up_again_in_the_same_request_costs_no_more_queries,
    administrator_sees_no_client_data,
    secretary_sees_contact_and_tool_list_but_not_tool_content_or_dossier,
    counselor_sees_caseload_clients_fully_and_others_not_at_all,
    a_linked_counselor_links_a_colleague_and_an_unlinked_one_cannot,
    supervisor_reads_the_dossier_but_cannot_write_it,
    client_sees_own_dossier_and_access_log,
    a_request_logs_one_row_per_client_and_basis_naming_every_kind_read,
    relative_and_client_cannot_see_each_others_tools,
    guardian_acts_for_the_client,
    data_analyst_exports_pseudonyms_and_data_officer_identities,
    bad_dossier_and_tool_input_is_refused_and_nothing_written,
);
