//! The superuser's team screen: the organisation's teams and protocols, renaming, taking members
//! and teams off (their TEAM access ends with the next request), and the roles trajectory and team
//! members may be given.

use inzage_entity::Role;
use inzage_testkit::on_every_database;
use inzage_testkit::{Backend, TestApp, assert_refused, covers, data, error_code};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE_CLIENT: &str = r#"mutation($e: String!, $n: String!) {
    createUser(input: {email: $e, displayName: $n, roles: [CLIENT]}) { id } }"#;
const OPEN: &str = "mutation($c: ID!, $t: String!) { openTrajectory(input: {clientId: $c, title: $t}) { id } }";
const CREATE_TEAM: &str = "mutation($n: String!) { createTeam(input: {name: $n}) { id } }";
const ADD_TEAM_MEMBER: &str = "mutation($t: ID!, $u: ID!, $r: String!) {
    addTeamMember(teamId: $t, userId: $u, role: $r) { id members { user { id } role } } }";
const ADD_MEMBER: &str = "mutation($t: ID!, $u: ID!, $r: String!) {
    addTrajectoryMember(trajectoryId: $t, userId: $u, role: $r) { id members { user { id } role } } }";
const ASSIGN_TEAM: &str = "mutation($t: ID!, $team: ID!) { assignTeam(trajectoryId: $t, teamId: $team) { id } }";
const UNASSIGN_TEAM: &str =
    "mutation($t: ID!, $team: ID!) { unassignTeam(trajectoryId: $t, teamId: $team) { id teams { id } } }";
const RENAME_TEAM: &str = "mutation($t: ID!, $n: String!) { renameTeam(teamId: $t, name: $n) { id name } }";
const REMOVE_TEAM_MEMBER: &str =
    "mutation($t: ID!, $u: ID!) { removeTeamMember(teamId: $t, userId: $u) { id members { user { id } } } }";
const DELETE_TEAM: &str = "mutation($t: ID!) { deleteTeam(teamId: $t) }";
const TEAMS: &str = "{ teams { id name members { user { id } role } } }";
const TEAM: &str = "query($t: ID!) { team(id: $t) { id name } }";
const CREATE_PROTOCOL: &str =
    "mutation($n: String!, $k: TrajectoryKind!) { createProtocol(input: {name: $n, kind: $k}) { id } }";
const PROTOCOLS: &str = "query($k: TrajectoryKind) { protocols(kind: $k) { name kind } }";
const MEMBER_ROLES: &str = "{ viewer { organization { memberRoles } } }";
const SET_MEMBER_ROLES: &str = "mutation($r: [String!]!) { setMemberRoles(roles: $r) { memberRoles } }";
const CLIENT_CONTACT: &str = "query($c: ID!) { client(id: $c) { displayName } }";
const ACCESS_LOG: &str = "query($c: ID!) { client(id: $c) {
    accessLog(first: 200) { nodes { action objectTypes outcome actor { id } } } } }";

struct World {
    admin: Uuid,
    secretary: Uuid,
    /// COUNSELOR with Lotte in her caseload.
    carla: Uuid,
    /// COUNSELORs without a caseload: team members.
    sofie: Uuid,
    koen: Uuid,
    lotte: Uuid,
    /// ADMINISTRATOR of another organisation.
    stranger_admin: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (org, admin) = app.organization("De Linde").await;
    let secretary = app.user(org, "secretary@linde.example", &[Role::Secretary]).await;
    let carla = app.user(org, "carla@linde.example", &[Role::Counselor]).await;
    let sofie = app.user(org, "sofie@linde.example", &[Role::Counselor]).await;
    let koen = app.user(org, "koen@linde.example", &[Role::Counselor]).await;
    let lotte = app.as_user(carla, CREATE_CLIENT, json!({"e": "lotte@linde.example", "n": "Lotte"})).await;
    let lotte = id(&data(&lotte)["createUser"]["id"]);
    let (_, stranger_admin) = app.organization("Elders").await;
    World { admin, secretary, carla, sofie, koen, lotte, stranger_admin }
}

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("an id, got {value}"))).expect("a uuid")
}

fn ids(list: &Value) -> Vec<Uuid> {
    list.as_array().expect("a list").iter().map(|item| id(&item["user"]["id"])).collect()
}

/// Whether `viewer` finds the client (TEAM access shows at least the name).
async fn finds(app: &TestApp, viewer: Uuid, client: Uuid) -> bool {
    let response = app.as_user(viewer, CLIENT_CONTACT, json!({"c": client})).await;
    match error_code(&response) {
        None => true,
        Some("NOT_FOUND") => false,
        Some(other) => panic!("unexpected {other}: {response:#}"),
    }
}

/// A team with `members`, on a new trajectory of Lotte's; returns (team, trajectory).
async fn team_on_trajectory(app: &TestApp, w: &World, name: &str, members: &[Uuid]) -> (Uuid, Uuid) {
    let team = id(&data(&app.as_user(w.admin, CREATE_TEAM, json!({"n": name})).await)["createTeam"]["id"]);
    for member in members {
        data(&app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": member, "r": "back office"})).await);
    }
    let trajectory = app.as_user(w.carla, OPEN, json!({"c": w.lotte, "t": format!("With {name}")})).await;
    let trajectory = id(&data(&trajectory)["openTrajectory"]["id"]);
    data(&app.as_user(w.carla, ASSIGN_TEAM, json!({"t": trajectory, "team": team})).await);
    (team, trajectory)
}

/// The DELETE rows of `object_type` in Lotte's access log, by actor.
async fn ends_logged(app: &TestApp, w: &World, object_type: &str) -> Vec<Uuid> {
    let log = app.as_user(w.lotte, ACCESS_LOG, json!({"c": w.lotte})).await;
    let rows = data(&log)["client"]["accessLog"]["nodes"].as_array().expect("rows").clone();
    rows.iter()
        .filter(|row| row["action"] == "DELETE" && covers(row, object_type) && row["outcome"] == "SUCCESS")
        .map(|row| id(&row["actor"]["id"]))
        .collect()
}

async fn the_organisations_teams_and_protocols_are_listed_for_its_professionals_only(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let back = id(&data(&app.as_user(w.admin, CREATE_TEAM, json!({"n": "Back office"})).await)["createTeam"]["id"]);
    data(&app.as_user(w.admin, CREATE_TEAM, json!({"n": "Appointments"})).await);
    data(&app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": back, "u": w.sofie, "r": "Back office"})).await);
    data(&app.as_user(w.stranger_admin, CREATE_TEAM, json!({"n": "Elsewhere"})).await);
    for (name, kind) in [("Intake", "GENERAL"), ("Guidance", "INTERVENTION_GUIDANCE"), ("After care", "GENERAL")] {
        data(&app.as_user(w.admin, CREATE_PROTOCOL, json!({"n": name, "k": kind})).await);
    }

    for viewer in [w.admin, w.secretary, w.carla] {
        let teams = data(&app.as_user(viewer, TEAMS, json!({})).await)["teams"].clone();
        let names: Vec<&str> = teams.as_array().expect("teams").iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Appointments", "Back office"], "by name, own organisation only");
        assert_eq!(teams[1]["members"], json!([{"user": {"id": w.sofie.to_string()}, "role": "back office"}]));
        let all = data(&app.as_user(viewer, PROTOCOLS, json!({})).await)["protocols"].clone();
        let names: Vec<&str> = all.as_array().expect("protocols").iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["After care", "Guidance", "Intake"]);
        let general = data(&app.as_user(viewer, PROTOCOLS, json!({"k": "GENERAL"})).await)["protocols"].clone();
        assert_eq!(general, json!([{"name": "After care", "kind": "GENERAL"}, {"name": "Intake", "kind": "GENERAL"}]));
    }
    // A client sees no configuration at all, and another organisation none of this one's.
    assert_eq!(data(&app.as_user(w.lotte, TEAMS, json!({})).await)["teams"], json!([]));
    assert_eq!(data(&app.as_user(w.lotte, PROTOCOLS, json!({})).await)["protocols"], json!([]));
    let elsewhere = data(&app.as_user(w.stranger_admin, TEAMS, json!({})).await)["teams"].clone();
    assert_eq!(elsewhere.as_array().map(Vec::len), Some(1));
    assert_eq!(elsewhere[0]["name"], "Elsewhere");
}

async fn the_administrator_renames_a_team_and_takes_members_off_with_their_access(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let (team, _) = team_on_trajectory(&app, &w, "Back office", &[w.sofie, w.koen]).await;
    assert!(finds(&app, w.sofie, w.lotte).await && finds(&app, w.koen, w.lotte).await, "TEAM access");

    let renamed = app.as_user(w.admin, RENAME_TEAM, json!({"t": team, "n": "  Front office "})).await;
    assert_eq!(data(&renamed)["renameTeam"]["name"], "Front office");
    assert_eq!(data(&app.as_user(w.carla, TEAM, json!({"t": team})).await)["team"]["name"], "Front office");
    assert_refused(
        &app.as_user(w.admin, RENAME_TEAM, json!({"t": team, "n": " "})).await,
        "BAD_USER_INPUT",
        Some("name"),
    );

    // Others may not change it; another organisation does not find it.
    for who in [w.secretary, w.carla, w.sofie] {
        assert_refused(&app.as_user(who, RENAME_TEAM, json!({"t": team, "n": "Mine"})).await, "FORBIDDEN", None);
        let refused = app.as_user(who, REMOVE_TEAM_MEMBER, json!({"t": team, "u": w.koen})).await;
        assert_refused(&refused, "FORBIDDEN", None);
        assert_refused(&app.as_user(who, DELETE_TEAM, json!({"t": team})).await, "FORBIDDEN", None);
    }
    for who in [w.stranger_admin, w.lotte] {
        assert_refused(&app.as_user(who, RENAME_TEAM, json!({"t": team, "n": "Mine"})).await, "NOT_FOUND", None);
        let refused = app.as_user(who, REMOVE_TEAM_MEMBER, json!({"t": team, "u": w.koen})).await;
        assert_refused(&refused, "NOT_FOUND", None);
        assert_refused(&app.as_user(who, DELETE_TEAM, json!({"t": team})).await, "NOT_FOUND", None);
    }
    assert!(finds(&app, w.koen, w.lotte).await, "nothing changed");

    // Taking Koen off ends his access with the next request, and Lotte's log says who did it.
    let removed = app.as_user(w.admin, REMOVE_TEAM_MEMBER, json!({"t": team, "u": w.koen})).await;
    assert_eq!(ids(&data(&removed)["removeTeamMember"]["members"]), [w.sofie]);
    assert!(!finds(&app, w.koen, w.lotte).await, "Koen's TEAM access ended");
    assert!(finds(&app, w.sofie, w.lotte).await, "Sofie keeps hers");
    let again = app.as_user(w.admin, REMOVE_TEAM_MEMBER, json!({"t": team, "u": w.koen})).await;
    assert_refused(&again, "BAD_USER_INPUT", Some("userId"));
    assert_eq!(ends_logged(&app, &w, "TeamMember").await, [w.admin]);
}

async fn deleting_or_unassigning_a_team_ends_its_members_access_at_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let (first, trajectory) = team_on_trajectory(&app, &w, "Back office", &[w.sofie]).await;
    let (second, other) = team_on_trajectory(&app, &w, "Appointments", &[w.koen]).await;
    assert!(finds(&app, w.sofie, w.lotte).await && finds(&app, w.koen, w.lotte).await);

    // Unassigning is for whoever may assign; the team's members lose this way in.
    assert_refused(
        &app.as_user(w.sofie, UNASSIGN_TEAM, json!({"t": trajectory, "team": first})).await,
        "FORBIDDEN",
        None,
    );
    let unassigned = app.as_user(w.carla, UNASSIGN_TEAM, json!({"t": trajectory, "team": first})).await;
    assert_eq!(data(&unassigned)["unassignTeam"]["teams"], json!([]));
    assert!(!finds(&app, w.sofie, w.lotte).await, "Sofie's only way in was the team");
    let twice = app.as_user(w.carla, UNASSIGN_TEAM, json!({"t": trajectory, "team": first})).await;
    assert_refused(&twice, "BAD_USER_INPUT", Some("teamId"));

    // Deleting takes the team off every trajectory first.
    let deleted = app.as_user(w.admin, DELETE_TEAM, json!({"t": second})).await;
    assert_eq!(data(&deleted)["deleteTeam"], second.to_string());
    assert!(!finds(&app, w.koen, w.lotte).await, "Koen's TEAM access ended with the team");
    assert_refused(&app.as_user(w.admin, TEAM, json!({"t": second})).await, "NOT_FOUND", None);
    assert_refused(&app.as_user(w.admin, DELETE_TEAM, json!({"t": second})).await, "NOT_FOUND", None);
    let teams = data(&app.as_user(w.admin, TEAMS, json!({})).await)["teams"].clone();
    assert_eq!(teams.as_array().map(|t| t.iter().map(|t| id(&t["id"])).collect::<Vec<_>>()), Some(vec![first]));
    let query = "query($t: ID!) { trajectory(id: $t) { teams { id } } }";
    assert_eq!(data(&app.as_user(w.carla, query, json!({"t": other})).await)["trajectory"]["teams"], json!([]));
    assert_eq!(ends_logged(&app, &w, "Team").await, [w.admin], "the deletion is in Lotte's log");
}

async fn members_are_given_one_of_the_organisations_roles(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let roles = |response: &Value| response["data"]["viewer"]["organization"]["memberRoles"].clone();
    let defaults = json!(["second coach", "labour expert", "back office"]);
    assert_eq!(roles(&app.as_user(w.carla, MEMBER_ROLES, json!({})).await), defaults, "the defaults");

    // A listed role is stored as the organisation spells it; another is refused at `role`.
    let trajectory = app.as_user(w.carla, OPEN, json!({"c": w.lotte, "t": "Back to work"})).await;
    let trajectory = id(&data(&trajectory)["openTrajectory"]["id"]);
    let added = app.as_user(w.carla, ADD_MEMBER, json!({"t": trajectory, "u": w.koen, "r": " Labour Expert"})).await;
    assert_eq!(data(&added)["addTrajectoryMember"]["members"][0]["role"], "labour expert");
    let refused = app.as_user(w.carla, ADD_MEMBER, json!({"t": trajectory, "u": w.sofie, "r": "Planner"})).await;
    assert_refused(&refused, "BAD_USER_INPUT", Some("role"));
    let team = id(&data(&app.as_user(w.admin, CREATE_TEAM, json!({"n": "Planning"})).await)["createTeam"]["id"]);
    let refused = app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": w.sofie, "r": "Planner"})).await;
    assert_refused(&refused, "BAD_USER_INPUT", Some("role"));

    // Only the administrator sets the list; bad lists are refused and change nothing.
    for who in [w.secretary, w.carla, w.lotte] {
        let refused = app.as_user(who, SET_MEMBER_ROLES, json!({"r": ["Planner"]})).await;
        assert_refused(&refused, "FORBIDDEN", None);
    }
    let empty = app.as_user(w.admin, SET_MEMBER_ROLES, json!({"r": []})).await;
    assert_refused(&empty, "BAD_USER_INPUT", Some("roles"));
    let twice = app.as_user(w.admin, SET_MEMBER_ROLES, json!({"r": ["Planner", "planner "]})).await;
    assert_refused(&twice, "BAD_USER_INPUT", Some("roles[1]"));
    let blank = app.as_user(w.admin, SET_MEMBER_ROLES, json!({"r": ["Planner", " "]})).await;
    assert_refused(&blank, "BAD_USER_INPUT", Some("roles[1]"));
    assert_eq!(roles(&app.as_user(w.carla, MEMBER_ROLES, json!({})).await), defaults, "nothing changed");

    let set = app.as_user(w.admin, SET_MEMBER_ROLES, json!({"r": [" Planner", "Labour expert"]})).await;
    assert_eq!(data(&set)["setMemberRoles"]["memberRoles"], json!(["Planner", "Labour expert"]));
    assert_eq!(roles(&app.as_user(w.carla, MEMBER_ROLES, json!({})).await), json!(["Planner", "Labour expert"]));
    let added = app.as_user(w.admin, ADD_TEAM_MEMBER, json!({"t": team, "u": w.sofie, "r": "planner"})).await;
    assert_eq!(data(&added)["addTeamMember"]["members"][0]["role"], "Planner");
    let refused = app.as_user(w.carla, ADD_MEMBER, json!({"t": trajectory, "u": w.sofie, "r": "second coach"})).await;
    assert_refused(&refused, "BAD_USER_INPUT", Some("role"));
    // Koen keeps the role he was given before the list changed; the other organisation keeps
    // the defaults.
    let trajectory_query = "query($t: ID!) { trajectory(id: $t) { members { role } } }";
    let members = app.as_user(w.carla, trajectory_query, json!({"t": trajectory})).await;
    assert_eq!(data(&members)["trajectory"]["members"], json!([{"role": "labour expert"}]));
    assert_eq!(roles(&app.as_user(w.stranger_admin, MEMBER_ROLES, json!({})).await), defaults);
}

async fn taking_a_member_off_on_one_instance_ends_their_access_on_another(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let other = app.sibling().await;
    let (team, trajectory) = team_on_trajectory(&app, &w, "Back office", &[w.sofie, w.koen]).await;
    // Both instances serve the access, before and after a change made on the first one.
    assert!(finds(&other, w.sofie, w.lotte).await && finds(&other, w.koen, w.lotte).await);
    data(&app.as_user(w.admin, REMOVE_TEAM_MEMBER, json!({"t": team, "u": w.koen})).await);
    assert!(!finds(&other, w.koen, w.lotte).await, "the next request on the other instance");
    assert!(finds(&other, w.sofie, w.lotte).await);
    data(&app.as_user(w.carla, UNASSIGN_TEAM, json!({"t": trajectory, "team": team})).await);
    assert!(!finds(&other, w.sofie, w.lotte).await, "the team is off the trajectory there too");
}

on_every_database!(
    taking_a_member_off_on_one_instance_ends_their_access_on_another,
    the_organisations_teams_and_protocols_are_listed_for_its_professionals_only,
    the_administrator_renames_a_team_and_takes_members_off_with_their_access,
    deleting_or_unassigning_a_team_ends_its_members_access_at_once,
    members_are_given_one_of_the_organisations_roles,
);
