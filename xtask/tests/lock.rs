//! `lock`: fresh check, an unlocked migration, drift and `--relock`.

mod common;

use common::Scratch;

const NEW: &str = "-- Add nickname\n--\n-- Revision ID: 0123456789ab\n-- Revises: 6a7b8c9d0e1f\n\
-- Create Date: 2025-12-01T00:00:00Z\n--\n-- Tables affected:\n-- - user: add column nickname\n\n\
-- migrate:up\nALTER TABLE \"user\" ADD COLUMN nickname TEXT;\n\n-- migrate:down\nALTER TABLE \"user\" DROP COLUMN nickname;\n";

#[test]
fn lock_check_lock_and_relock() {
    let s = Scratch::new();
    let check = s.run(&["lock", "--check"]);
    assert_eq!(check.code, 0, "{check:?}");

    std::fs::write(s.migrations().join("0123456789ab_add_nickname.sql"), NEW).unwrap();
    let before = std::fs::read_to_string(s.migrations().join("retort.lock")).unwrap();
    let stale = s.run(&["lock", "--check"]);
    assert_eq!(stale.code, 1, "{stale:?}");
    assert!(stale.stderr.contains("error: migration 0123456789ab is not in the lock file"), "{}", stale.stderr);
    assert!(stale.stderr.contains("--> migrations/0123456789ab_add_nickname.sql"), "{}", stale.stderr);
    assert_eq!(std::fs::read_to_string(s.migrations().join("retort.lock")).unwrap(), before, "--check writes nothing");

    let locked = s.run(&["lock"]);
    assert_eq!(locked.code, 0, "{locked:?}");
    assert!(locked.stderr.contains("Locked 0123456789ab"), "{}", locked.stderr);
    assert!(std::fs::read_to_string(s.migrations().join("retort.lock")).unwrap().contains("0123456789ab sha256:"));
    assert_eq!(s.run(&["lock", "--check"]).code, 0);

    // Drift: `lock` refuses to re-pin silently; `--relock` does it.
    let path = s.migrations().join("0123456789ab_add_nickname.sql");
    std::fs::write(&path, NEW.replace("nickname TEXT;", "nickname TEXT NOT NULL DEFAULT '';")).unwrap();
    let refused = s.run(&["lock"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("checksum drift in locked migration 0123456789ab"), "{}", refused.stderr);
    // The hint repeats the `--migrations` the command was given, so pasting it locks this folder.
    // (`[SCRATCH]` stands for the scratch folder in what a run printed.)
    let hint = "`cargo retort --migrations [SCRATCH]/migrations lock --relock 0123456789ab`";
    assert!(refused.stderr.contains(hint), "{}", refused.stderr);
    let relocked = s.run(&["lock", "--relock", "0123"]);
    assert_eq!(relocked.code, 0, "{relocked:?}");
    assert_eq!(s.run(&["lock", "--check"]).code, 0);

    // A hand-edited lock is malformed: --check names the line; `lock` rewrites it.
    let lock_path = s.migrations().join("retort.lock");
    let text = std::fs::read_to_string(&lock_path).unwrap();
    std::fs::write(&lock_path, text.replace("version 1", "version one")).unwrap();
    let bad = s.run(&["lock", "--check"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("--> migrations/retort.lock:2"), "{}", bad.stderr);
    assert_eq!(s.run(&["lock"]).code, 0);
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), text);
}

/// Runs git in `dir`, as a throwaway identity; panics when it fails.
fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=Retort", "-c", "user.email=retort@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_migration_the_committed_lock_does_not_hold_is_re_pinned_by_plain_lock() {
    let s = Scratch::new();
    git(s.dir.path(), &["init", "-q"]);
    git(s.dir.path(), &["add", "."]);
    git(s.dir.path(), &["commit", "-q", "-m", "released"]);

    // Written after the last commit, locked, then edited again: still being written.
    let path = s.migrations().join("0123456789ab_add_nickname.sql");
    std::fs::write(&path, NEW).unwrap();
    assert_eq!(s.run(&["lock"]).code, 0);
    std::fs::write(&path, NEW.replace("nickname TEXT;", "nickname TEXT NOT NULL DEFAULT '';")).unwrap();
    assert_eq!(s.run(&["lock", "--check"]).code, 1, "the build and --check still see the drift");
    let repinned = s.run(&["lock"]);
    assert_eq!(repinned.code, 0, "{repinned:?}");
    assert!(
        repinned.stderr.contains("Relocked 0123456789ab (not in the committed lock: still being written)"),
        "{}",
        repinned.stderr
    );
    assert_eq!(s.run(&["lock", "--check"]).code, 0);

    // Once committed it is released: an edit needs `--relock` again.
    git(s.dir.path(), &["add", "."]);
    git(s.dir.path(), &["commit", "-q", "-m", "add nickname"]);
    std::fs::write(&path, NEW).unwrap();
    let refused = s.run(&["lock"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("checksum drift in locked migration 0123456789ab"), "{}", refused.stderr);

    // A released migration deleted from the folder is not dropped from the lock either; one
    // that was never committed is.
    std::fs::write(&path, NEW.replace("nickname TEXT;", "nickname TEXT NOT NULL DEFAULT '';")).unwrap();
    let other = s.migrations().join("0123456789ac_add_age.sql");
    let age =
        NEW.replace("0123456789ab", "0123456789ac").replace("6a7b8c9d0e1f", "0123456789ab").replace("nickname", "age");
    std::fs::write(&other, &age).unwrap();
    assert_eq!(s.run(&["lock"]).code, 0);
    std::fs::remove_file(&other).unwrap();
    let dropped = s.run(&["lock"]);
    assert_eq!(dropped.code, 0, "{dropped:?}");
    assert!(!std::fs::read_to_string(s.migrations().join("retort.lock")).unwrap().contains("0123456789ac"));
    std::fs::remove_file(&path).unwrap();
    let kept = s.run(&["lock"]);
    assert_eq!(kept.code, 1, "{kept:?}");
    assert!(std::fs::read_to_string(s.migrations().join("retort.lock")).unwrap().contains("0123456789ab"));
}
