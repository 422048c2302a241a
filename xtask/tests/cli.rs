//! The CLI's commands end to end: the built binary against scratch copies of the example
//! migrations and scratch databases, outputs snapshot-tested, error paths included.

mod common;

use common::Scratch;

fn snap(name: &str, run: &common::Run) {
    insta::assert_snapshot!(name, run.transcript());
}

/// Masks what changes from run to run: timestamps and backup file names.
fn masked(run: &common::Run) -> common::Run {
    let mask = |s: &str| {
        s.lines()
            .map(|l| {
                let mut out = l.to_string();
                if let Some(i) = out.find(".bak") {
                    let start = out[..i].rfind(".db.").map_or(i, |p| p + 3);
                    out.replace_range(start..i, ".[STAMP]");
                }
                if let Some(i) =
                    out.find("T").filter(|&i| i >= 10 && out.as_bytes().get(i - 3) == Some(&b'-') && out.len() > i + 9)
                {
                    out.replace_range(i - 10..i + 10, "[TIME]");
                }
                // `history --db` durations: `     0 ms  message`.
                if let Some(i) = out.find(" ms  ") {
                    let start = out[..i].trim_end_matches(|c: char| c.is_ascii_digit()).len();
                    out.replace_range(start..i, "[MS]");
                }
                out
            })
            .map(|l| l + "\n")
            .collect::<String>()
    };
    common::Run { code: run.code, stdout: mask(&run.stdout), stderr: mask(&run.stderr) }
}

const SECOND_HEAD: &str = "-- Add audit table\n--\n-- Revision ID: abcd11111111\n-- Revises: e8f0a2c4b6d9\n\
-- Create Date: 2025-12-01T00:00:00Z\n--\n-- Tables affected:\n-- - audit: create table\n\n\
-- migrate:up\nCREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);\n\n-- migrate:down\nDROP TABLE audit;\n";

#[test]
fn graph_views() {
    let s = Scratch::new();
    snap("heads", &s.run(&["heads"]));
    snap("branches", &s.run(&["branches"]));
    snap("history", &s.run(&["history"]));
    snap("history_range", &s.run(&["history", "-r", "7b8e:2c4e"]));
    snap("history_verbose", &s.run(&["history", "-v", "-r", "9b1c:"]));
    // `base` and `head` name the ends of the graph.
    let all = s.run(&["history"]);
    let named = s.run(&["history", "-r", "base:head"]);
    assert_eq!((named.code, &named.stdout), (0, &all.stdout), "{named:?}");
    let bad = s.run(&["history", "-r", "head"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("(for example `-r base:head`)"), "{}", bad.stderr);
    snap("show_label_head", &s.run(&["show", "roles@head"]));
    snap("show_unknown", &s.run(&["show", "ffff"]));
}

#[test]
fn ambiguous_prefix_and_several_heads() {
    let s = Scratch::new();
    std::fs::write(s.migrations().join("abcd11111111_add_audit_table.sql"), SECOND_HEAD).unwrap();
    std::fs::write(
        s.migrations().join("abcd22222222_add_audit_index.sql"),
        SECOND_HEAD
            .replace("abcd11111111", "abcd22222222")
            .replace("Revises: e8f0a2c4b6d9", "Revises: abcd11111111")
            .replace("audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL)", "audit2 (x)")
            .replace("DROP TABLE audit;", "DROP TABLE audit2;")
            .replace("- audit:", "- audit2:"),
    )
    .unwrap();
    assert_eq!(s.run(&["lock"]).code, 0);
    snap("show_ambiguous_prefix", &s.run(&["show", "abcd"]));
    let ambiguous = s.run(&["history", "-r", "base:head"]);
    assert_eq!(ambiguous.code, 2, "{ambiguous:?}");
    assert!(ambiguous.stderr.contains("there are 2 heads"), "{}", ambiguous.stderr);
    assert_eq!(s.run(&["history", "-r", "base:heads"]).code, 0);
    let db = s.path("app.db");
    let db = db.to_str().unwrap();
    snap("upgrade_several_heads", &s.run(&["upgrade", "--db", db]));
    snap("revision_several_heads", &s.run(&["revision", "-m", "Another change"]));
    let upgraded = s.run(&["upgrade", "--db", db, "heads"]);
    assert_eq!(upgraded.code, 0, "{upgraded:?}");
    // A merge joins the two heads; then `head` works again.
    let merged = s.run(&["merge", "-m", "Merge audit"]);
    assert_eq!(merged.code, 0, "{merged:?}");
    assert!(merged.stderr.contains("(merges 6a7b8c9d0e1f, abcd22222222)"), "{}", merged.stderr);
    assert_eq!(s.run(&["lock"]).code, 0);
    let up = s.run(&["upgrade", "--db", db]);
    assert_eq!(up.code, 0, "{up:?}");
    assert_eq!(s.run(&["heads"]).stdout.lines().count(), 1);
    let one_head = s.run(&["merge", "-m", "Nothing to merge"]);
    assert_eq!(one_head.code, 2);
    assert!(one_head.stderr.contains("a merge needs two or more heads"), "{}", one_head.stderr);
}

#[test]
fn revision_writes_a_template_that_lint_rejects_until_filled() {
    let s = Scratch::new();
    let created = s.run(&["revision", "-m", "Add nickname to user", "--branch-label", "nick"]);
    assert_eq!(created.code, 0, "{created:?}");
    let path = std::path::PathBuf::from(created.stdout.trim().replace("[SCRATCH]", s.dir.path().to_str().unwrap()));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(path.file_name().unwrap().to_str().unwrap().ends_with("_add_nickname_to_user.sql"));
    assert!(text.contains("-- Revises: 6a7b8c9d0e1f\n"), "{text}");
    assert!(text.contains("-- Branch Labels: nick\n"), "{text}");
    let lint = s.run(&["lint"]);
    assert_eq!(lint.code, 1);
    assert!(lint.stderr.contains("`Tables affected` still holds the template placeholder"), "{}", lint.stderr);
    assert_eq!(s.run(&["lock", "--check"]).code, 1, "a new revision is not locked yet");
    let head = s.run(&["revision", "-m", "On an older head", "--head", "e8f0"]);
    assert_eq!(head.code, 0, "{head:?}");
    assert_eq!(s.run(&["heads"]).stdout.lines().count(), 2);
}

#[test]
fn database_lifecycle() {
    let s = Scratch::new();
    let db = s.path("app.db");
    let db = db.to_str().unwrap();
    snap("current_base", &s.run(&["current", "--db", db]));
    snap("upgrade_sql", &s.run(&["upgrade", "--db", db, "+2", "--sql"]));
    assert!(!s.path("app.db").exists(), "--sql touches nothing");
    snap("upgrade_to_label", &s.run(&["upgrade", "--db", db, "roles"]));
    snap("populate_behind", &s.run(&["populate", "--db", db]));
    snap("upgrade_head", &s.run(&["upgrade", "--db", db]));
    snap("current_head", &s.run(&["current", "--db", db]));
    snap("history_db", &masked(&s.run(&["history", "--db", db])));
    snap("populate", &s.run(&["populate", "--db", db, "002_core_permissions"]));
    snap("populate_unknown", &s.run(&["populate", "--db", db, "nope"]));
    snap("verify_ok", &s.run(&["verify", "--db", db]));
    snap("downgrade_sql", &s.run(&["downgrade", "--db", db, "-1", "--sql"]));
    snap("downgrade", &masked(&s.run(&["downgrade", "--db", db, "9b1c"])));
    let backups: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1, "one backup next to the database");
    snap("downgrade_unknown", &s.run(&["downgrade", "--db", db, "fedcba"]));
    snap("stamp", &s.run(&["stamp", "--db", db, "head"]));
    snap("verify_stamped_without_changes", &s.run(&["verify", "--db", db]));
}

#[test]
fn verify_catches_a_dropped_column_and_foreign_keys() {
    let s = Scratch::new();
    let db = s.path("app.db");
    assert_eq!(s.run(&["upgrade", "--db", db.to_str().unwrap()]).code, 0);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; ALTER TABLE \"user\" DROP COLUMN signature_image; INSERT INTO membership (user_id, group_id) VALUES (7, 9);").unwrap();
    drop(conn);
    snap("verify_dropped_column", &s.run(&["verify", "--db", db.to_str().unwrap()]));
}

#[test]
fn usage_errors_exit_2() {
    let s = Scratch::new();
    let bad = s.run(&["upgrade"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    let bad = s.run(&["frobnicate"]);
    assert_eq!(bad.code, 2);
    let help = s.run(&["--help"]);
    assert_eq!(help.code, 0);
    for command in [
        "migrate-test",
        "revision",
        "merge",
        "heads",
        "branches",
        "history",
        "show",
        "lock",
        "lint",
        "current",
        "upgrade",
        "downgrade",
        "stamp",
        "verify",
        "populate",
        "check",
        "bench",
    ] {
        assert!(help.stdout.contains(command), "`{command}` in --help:\n{}", help.stdout);
    }
}
