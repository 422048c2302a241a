//! Step 4 of `migrate-test`: every revision's schema change is an insta snapshot
//! (`schema@<revision>`), and so is the full head schema (`schema@head`), so a pull request shows
//! its schema change as a snapshot diff. Review changes with `cargo insta review`.

use retort::harness::{Options, Threads, run};

#[test]
fn schema() {
    let set = retort_example::MIGRATIONS.load().expect("the embedded migrations load");
    let options =
        Options { walks: 0, seed: None, populate: Vec::new(), check_proofs: false, threads: Threads::Available };
    let outcome = run(&set, &options, &mut |_| {}).expect("the harness runs");
    assert!(outcome.failed.is_empty(), "the example migrations round-trip: {:#?}", outcome.failed);
    assert_eq!(outcome.changes.len(), set.len());
    // Every snapshot is checked (and a `.snap.new` written for each that changed) before the
    // test fails, so one run shows the whole schema change for review.
    let mut stale = Vec::new();
    for (revision, change) in &outcome.changes {
        let m = set.get(revision).expect("known");
        let checked = std::panic::catch_unwind(|| {
            insta::with_settings!({ snapshot_suffix => revision.as_str(), description => m.message.as_str(), omit_expression => true }, {
                insta::assert_snapshot!("schema", change);
            });
        });
        if checked.is_err() {
            stale.push(format!("schema@{revision}"));
        }
    }
    let head = std::panic::catch_unwind(|| {
        insta::with_settings!({ snapshot_suffix => "head", omit_expression => true }, {
            insta::assert_snapshot!("schema", outcome.head_schema);
        });
    });
    if head.is_err() {
        stale.push("schema@head".to_string());
    }
    assert!(stale.is_empty(), "stale schema snapshots: {}; review them with `cargo insta review`", stale.join(", "));
}
