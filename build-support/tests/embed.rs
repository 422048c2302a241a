//! The generated embedding code is deterministic and snapshot-tested; directory loading reports
//! stray files and never ignores one silently.

mod common;

use std::path::Path;

use common::{file, set};
use retort_build::{Embed, MigrationSet, generate, load};

#[test]
fn generated_code_snapshot() {
    let files = vec![
        file("a", &[], ""),
        file("b", &["a"], "-- Branch Labels: accounts\n"),
        file("c", &["a"], &format!("-- Depends On: {}\n", common::rev("b"))),
        file("d", &["b", "c"], ""),
    ];
    let s = MigrationSet::from_files(&files).unwrap();
    let code = generate(&s, Path::new("/ws/migrations"), Path::new("/ws"));
    insta::assert_snapshot!(code);
    let reversed: Vec<_> = files.into_iter().rev().collect();
    let again = generate(&MigrationSet::from_files(&reversed).unwrap(), Path::new("/ws/migrations"), Path::new("/ws"));
    assert_eq!(code, again, "file order must not change the generated code");
}

#[test]
fn stray_files_and_missing_lock_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("migrations");
    std::fs::create_dir_all(m.join("populate")).unwrap();
    let f = file("a", &[], "");
    std::fs::write(m.join(f.display.file_name().unwrap()), &f.bytes).unwrap();
    std::fs::write(m.join("notes.txt"), "hello").unwrap();
    std::fs::write(m.join("create_user.sql"), "-- x").unwrap();
    std::fs::write(m.join("populate/001_x.sql"), "-- Requires: a00000000000\n").unwrap();
    let loaded = load(&m, dir.path(), retort_build::LockPolicy::Lenient);
    let lines: Vec<String> = loaded.problems.iter().map(|p| p.one_line()).collect();
    assert!(lines.iter().any(|l| l.starts_with("migrations/notes.txt: unexpected file")), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.starts_with("migrations/create_user.sql: migration file name must be")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("migrations/retort.lock: no lock file")), "{lines:#?}");
    assert_eq!(loaded.populate.len(), 1);
    assert!(
        !loaded.problems.iter().find(|p| p.location.file.ends_with("retort.lock")).unwrap().is_error(),
        "a missing lock only warns in the build"
    );
    assert!(
        load(&m, dir.path(), retort_build::LockPolicy::Strict)
            .problems
            .iter()
            .any(|p| p.is_error() && p.location.file.ends_with("retort.lock"))
    );
}

#[test]
fn embed_check_lists_every_input() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    let s = set(&[("a", &[]), ("b", &["a"])]);
    for f in [file("a", &[], ""), file("b", &["a"], "")] {
        std::fs::write(m.join(f.display.file_name().unwrap()), &f.bytes).unwrap();
    }
    std::fs::write(m.join("retort.lock"), retort_build::Lock::of(&s).render()).unwrap();
    let embedded = Embed::new("migrations").check(dir.path(), dir.path()).unwrap();
    assert!(embedded.warnings.is_empty(), "{:?}", embedded.warnings);
    let names: Vec<String> =
        embedded.inputs.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["migrations", "a00000000000_migration_a.sql", "b00000000000_migration_b.sql", "retort.lock"]);
    assert!(embedded.code.contains("include_str!("));
}
