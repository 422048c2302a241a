//! Lock file tests: round trip, malformed lines with their numbers, and comparison with the set.

mod common;

use std::path::Path;

use common::{file, set};
use proptest::prelude::*;
use retort_build::{Lock, LockEntry, LockStatus, MigrationSet, RevisionId};

const LOCK: &str = "migrations/retort.lock";

fn check_error(text: &str, line: usize, message: &str) {
    let found = Lock::parse(Path::new(LOCK), text).unwrap_err();
    assert!(
        found.iter().any(|p| p.location.line == line && p.kind.to_string().contains(message)),
        "expected `{message}` at line {line}, got {found:#?}"
    );
}

#[test]
fn malformed_lines_are_errors_with_line_numbers() {
    let good = Lock::of(&set(&[("a", &[]), ("b", &["a"])])).render();
    let lines: Vec<&str> = good.lines().collect();
    let cases: Vec<(String, usize, &str)> = vec![
        (good.replace("version 1", "version 2"), 2, "unsupported or repeated `version 2`"),
        (good.replace("version 1\n", ""), 1, "missing `version 1` line"),
        (good.replace(lines[2], ""), 4, "unexpected"),
        (
            good.replace(lines[3], &lines[3].replace("sha256:", "md5:")),
            4,
            "expected `<revision> sha256:<64 hex> <file>.sql`",
        ),
        (good.replace(lines[4], &lines[4][..20]), 5, "unexpected"),
        (format!("{good}garbage\n"), 6, "unexpected `garbage`"),
        (good.replace(lines[3], &lines[3].replace("a0000", "f0000")), 3, "`total` does not match"),
    ];
    for (text, line, message) in cases {
        check_error(&text, line, message);
    }
}

#[test]
fn status_finds_drift_missing_unlocked_and_reordering() {
    let old = set(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
    let lock = Lock::of(&old);
    assert!(LockStatus::compare(&lock, &old).is_fresh());

    let mut files = vec![file("a", &[], ""), file("b", &["a"], ""), file("d", &["b"], "")];
    files[1].bytes = String::from_utf8(files[1].bytes.clone()).unwrap().replace("id INTEGER", "id TEXT").into_bytes();
    let now = MigrationSet::from_files(&files).unwrap();
    let status = LockStatus::compare(&lock, &now);
    assert_eq!(status.drifted.len(), 1);
    assert_eq!(status.drifted[0].0.as_str(), "b00000000000");
    assert_eq!(status.drifted[0].1, lock.entries[1].checksum);
    assert_eq!(status.missing.iter().map(|e| e.revision.to_string()).collect::<Vec<_>>(), ["c00000000000"]);
    assert_eq!(status.unlocked.iter().map(|r| r.to_string()).collect::<Vec<_>>(), ["d00000000000"]);

    let mut reordered = lock.clone();
    reordered.entries.swap(0, 1);
    assert!(LockStatus::compare(&reordered, &old).reordered);
}

fn entry() -> impl Strategy<Value = LockEntry> {
    ("[0-9a-f]{12}", "[0-9a-f]{64}", "[a-z_]{1,12}").prop_map(|(r, c, slug)| LockEntry {
        revision: RevisionId::parse(&r).unwrap(),
        checksum: format!("sha256:{c}"),
        file: format!("{r}_{slug}.sql"),
    })
}

proptest! {
    /// `render` then `parse` returns the same lock.
    #[test]
    fn write_then_read(entries in proptest::collection::vec(entry(), 0..20)) {
        let mut seen = std::collections::BTreeSet::new();
        let entries: Vec<LockEntry> = entries.into_iter().filter(|e| seen.insert(e.revision)).collect();
        let lock = Lock { entries };
        prop_assert_eq!(Lock::parse(Path::new(LOCK), &lock.render()).unwrap(), lock);
    }

    /// Arbitrary text never panics the lock parser.
    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n]{0,300}") {
        let _ = Lock::parse(Path::new(LOCK), &text);
    }
}
