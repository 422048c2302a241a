//! Step 4 of `migrate-test`: every revision's schema change is an insta snapshot
//! (`schema@<revision>`), and so is the full head schema (`schema@head`), so a pull request shows
//! its schema change as a snapshot diff. Review changes with `cargo insta review`.

#[test]
fn schema() {
    retort::assert_schema_snapshots!(retort_example::MIGRATIONS);
}

#[test]
fn the_fixture_is_a_database_at_head() {
    let conn = retort::testing::migrated(&retort_example::MIGRATIONS);
    let applied: i64 = conn.query_row("SELECT count(*) FROM retort_history", [], |r| r.get(0)).unwrap();
    assert_eq!(applied as usize, retort_example::MIGRATIONS.entries().len());
}
