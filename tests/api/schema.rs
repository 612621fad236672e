//! `schema.graphql` at the repository root is what `cellreg export-schema` writes.

e2e_test! {
    fn committed_schema_matches_the_exported_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
        let committed = std::fs::read_to_string(&path).expect("schema.graphql at the repository root");
        assert!(
            committed == api::graphql::sdl(),
            "schema.graphql is stale: run `cargo run -p api --bin cellreg -- export-schema --output schema.graphql`"
        );
    }
}
