//! `schema.graphql` is the published contract: it must be what the code serves.

#[test]
fn schema_graphql_matches_the_live_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let live = inzage_api::graphql::sdl();
    assert!(
        committed == live,
        "schema.graphql differs from the schema the code serves; regenerate it with `cargo run -- export-schema`"
    );
}
