//! Step 4 of `migrate-test`: every revision's schema change is an insta snapshot
//! (`schema@<revision>`), and so is the full head schema (`schema@head`), so a pull request shows
//! its schema change as a snapshot diff. Review changes with `cargo insta review`.

use retort::harness::{Options, run};

#[test]
fn schema() {
    let set = retort_example::MIGRATIONS.load().expect("the embedded migrations load");
    let options = Options { walks: 0, seed: None, populate: Vec::new() };
    let outcome = run(&set, &options, &mut |_| {}).expect("the harness runs");
    assert!(outcome.failed.is_empty(), "the example migrations round-trip: {:#?}", outcome.failed);
    assert_eq!(outcome.changes.len(), set.len());
    for (revision, change) in &outcome.changes {
        let m = set.get(revision).expect("known");
        insta::with_settings!({ snapshot_suffix => revision.as_str(), description => m.message.as_str(), omit_expression => true }, {
            insta::assert_snapshot!("schema", change);
        });
    }
    insta::with_settings!({ snapshot_suffix => "head", omit_expression => true }, {
        insta::assert_snapshot!("schema", outcome.head_schema);
    });
}
