//! The catalogue of broken migration directories: `migrate-test` must fail on each, naming the
//! revision and the check; and the example migrations pass.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Fixture, rev, write};

const BASE: &str = "CREATE TABLE base (\n    a INTEGER UNIQUE,\n    b TEXT,\n    c TEXT DEFAULT 'k'\n);";

fn migrate_test(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    // Run from the folder holding the directory, as a user would: paths are shown from there.
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-retort"))
        .current_dir(dir.parent().unwrap())
        .arg("--migrations")
        .arg(dir)
        .arg("migrate-test")
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `migrate-test` fails on `migrations` (after a valid `base` migration `a`) with
/// every one of `expected` in its report.
fn check(name: &str, broken: &[Fixture], populate: Option<&str>, expected: &[&str]) {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("migrations");
    let mut all: Vec<Fixture> = vec![("a", &[], "", BASE, "DROP TABLE base;")];
    all.extend_from_slice(broken);
    write(&dir, &all);
    if let Some(script) = populate {
        std::fs::create_dir_all(dir.join("populate")).unwrap();
        std::fs::write(dir.join("populate/001_seed.sql"), script).unwrap();
    }
    let (code, stdout, stderr) = migrate_test(&dir, &["--walks", "4", "--seed", "1"]);
    assert_eq!(code, 1, "{name}: migrate-test must fail\n{stderr}");
    for part in expected {
        assert!(stderr.contains(part), "{name}: expected `{part}` in the report:\n{stderr}");
    }
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" failed") && !last.ends_with(" 0 failed"), "{name}: last line `{last}`");
}

#[test]
fn broken_directories_fail_with_revision_and_check() {
    let b = rev("b");
    check(
        "down forgets an index",
        &[("b", &["a"], "", "CREATE INDEX base_b ON base (b);", "SELECT 1;")],
        None,
        &[&format!("{b} (downgrade) down restores the schema"), "(- before up, + after down)", "+ index base_b"],
    );
    let destructive = "-- Allow: destructive: fixture\n";
    check(
        "down re-adds a column elsewhere",
        &[("b", &["a"], destructive, "ALTER TABLE base DROP COLUMN b;", "ALTER TABLE base ADD COLUMN b TEXT;")],
        None,
        &[
            &format!("{b} (downgrade) down restores the schema"),
            "~ table base",
            "-     column 2 b type TEXT",
            "+     column 3 b type TEXT",
        ],
    );
    for (what, down, line) in [
        ("default", "ALTER TABLE base ADD COLUMN c TEXT DEFAULT 'z';", "+     column 3 c type TEXT default 'z'"),
        ("type", "ALTER TABLE base ADD COLUMN c INTEGER DEFAULT 'k';", "+     column 3 c type INTEGER default 'k'"),
        (
            "not null",
            "ALTER TABLE base ADD COLUMN c TEXT NOT NULL DEFAULT 'k';",
            "+     column 3 c type TEXT not null default 'k'",
        ),
    ] {
        check(
            &format!("down changes the {what}"),
            &[("b", &["a"], destructive, "ALTER TABLE base DROP COLUMN c;", down)],
            None,
            &[&format!("{b} (downgrade) down restores the schema"), "-     column 3 c type TEXT default 'k'", line],
        );
    }
    check(
        "down fails",
        &[("b", &["a"], "", "CREATE TABLE other (x);", "DROP TABLE other;\nDROP TABLE nope;")],
        None,
        &[&format!(
            "{b} (downgrade) down: downgrade {b} failed: no such table: nope at migrations/{b}_fixture_b.sql:15"
        )],
    );
    check(
        "up inserts data",
        &[("b", &["a"], "", "INSERT INTO base (a) VALUES (1);", "DELETE FROM base;")],
        None,
        &[
            &format!("migrations/{b}_fixture_b.sql:11"),
            "data change in `up`: INSERT on `base`",
            &format!("{b} (upgrade) schema-only rule: data change while running `up`: INSERT into `base`"),
        ],
    );
    check(
        "up inserts through a CTE",
        &[("b", &["a"], "", "WITH v(x) AS (SELECT 1)\nINSERT INTO base (a) SELECT x FROM v;", "DELETE FROM base;")],
        None,
        &[
            "data change in `up`: INSERT on `base`",
            "schema-only rule: data change while running `up`: INSERT into `base`",
        ],
    );
    check(
        "up writes through a trigger",
        &[
            (
                "b",
                &["a"],
                "",
                "CREATE TABLE log (x);\nCREATE TRIGGER base_log AFTER UPDATE ON base BEGIN INSERT INTO log VALUES (NEW.a); END;",
                "DROP TRIGGER base_log;\nDROP TABLE log;",
            ),
            ("c", &["b"], "", "UPDATE base SET b = b;", "SELECT 1;"),
        ],
        None,
        &[
            &format!("{} (upgrade) schema-only rule", rev("c")),
            "data change while running `up`: INSERT into `log` (by trigger `base_log`)",
        ],
    );
    check(
        "drop column without a waiver",
        &[("b", &["a"], "", "ALTER TABLE base DROP COLUMN c;", "ALTER TABLE base ADD COLUMN c TEXT DEFAULT 'k';")],
        None,
        &["destructive change in `up`: DROP COLUMN `c` of `base`", &format!("--> migrations/{b}_fixture_b.sql:11")],
    );
    check(
        "up breaks a foreign key",
        &[(
            "b",
            &["a"],
            "-- Allow: data-change: fixture\n",
            "CREATE TABLE child (p INTEGER REFERENCES base(a));\nINSERT INTO child VALUES (42);",
            "DROP TABLE child;",
        )],
        None,
        &[&format!("{b} (upgrade) up: upgrade {b} leaves foreign key violations: child row 1 -> base")],
    );
    check(
        "down leaves the up's row (the data round trip finds it before the re-up would fail)",
        &[("b", &["a"], "-- Allow: data-change: fixture\n", "INSERT INTO base (a) VALUES (1);", "SELECT 1;")],
        None,
        &[&format!(
            "{b} (downgrade) data: down of {b} leaves rows behind in base: (a=1, b=NULL, c='k'); the down must remove exactly what the up added"
        )],
    );
    check(
        "populate not idempotent",
        &[],
        Some("-- Seed\n-- Requires: a00000000000\n\nINSERT INTO base (b) VALUES ('x');\n"),
        &["populate migrations/populate/001_seed.sql: not idempotent", "+ base (NULL, 'x', 'k')"],
    );
    check(
        "two heads",
        &[
            ("b", &["a"], "", "CREATE TABLE x1 (x);", "DROP TABLE x1;"),
            ("c", &["a"], "", "CREATE TABLE x2 (x);", "DROP TABLE x2;"),
        ],
        None,
        &["heads: 2 heads (b00000000000, c00000000000); join them with `cargo retort --migrations"],
    );
}

#[test]
fn one_run_reports_every_broken_revision_and_keeps_the_database() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("migrations");
    write(
        &dir,
        &[
            ("a", &[], "", BASE, "DROP TABLE base;"),
            ("b", &["a"], "", "CREATE INDEX i1 ON base (b);", "SELECT 1;"),
            ("c", &["b"], "", "CREATE TABLE fine (x);", "DROP TABLE fine;"),
            ("d", &["c"], "", "CREATE INDEX i2 ON base (c);", "SELECT 2;"),
        ],
    );
    let (code, stdout, stderr) = migrate_test(&dir, &["--walks", "0"]);
    assert_eq!(code, 1);
    assert!(stderr.contains(&format!("{} (downgrade) down restores the schema", rev("b"))), "{stderr}");
    assert!(
        stderr.contains(&format!("round trip: {} Fixture c", rev("c"))),
        "the pass carries on after a failure:\n{stderr}"
    );
    assert!(stderr.contains(&format!("{} (downgrade) down restores the schema", rev("d"))), "{stderr}");
    let kept =
        stderr.lines().find_map(|l| l.trim().strip_prefix("the database is kept at ")).expect("a kept database path");
    assert!(Path::new(kept).exists(), "{kept}");
    assert!(stdout.trim_end().ends_with("passed, 2 failed"), "{stdout}");
}

#[test]
fn an_empty_directory_passes_with_nothing_to_prove() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, stdout, stderr) = migrate_test(&dir, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("no walks: there are no migrations"), "{stderr}");
    assert!(stdout.trim_end().ends_with(" passed, 0 failed"), "{stdout}");
}

#[test]
fn the_examples_pass() {
    let scratch = common::Scratch::new();
    let (code, stdout, stderr) = migrate_test(&scratch.migrations(), &["--walks", "16", "--seed", "7"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.trim_end().ends_with(" passed, 0 failed"), "{stdout}");
    assert!(stderr.contains("seed 7"), "{stderr}");
}

#[test]
fn the_data_round_trip_is_on_by_default_and_says_what_it_covered() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("migrations");
    let rebuild = "CREATE TABLE base_new (\n    a INTEGER UNIQUE,\n    b TEXT,\n    c TEXT DEFAULT 'k'\n);\nDROP TABLE base;\nALTER TABLE base_new RENAME TO base;";
    let rules = "-- Allow: destructive: a rebuild\n";
    write(
        &dir,
        &[("a", &[], "", BASE, "DROP TABLE base;"), ("b", &["a"], rules, "CREATE INDEX base_b ON base (b);", rebuild)],
    );
    let b = rev("b");
    // The down rebuilds `base` without copying its rows: the schema comes back, the rows do not.
    let (code, stdout, stderr) = migrate_test(&dir, &["--seed", "3"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("{b} (downgrade) data: down of {b} loses data: a row of base is gone: (a=")),
        "{stderr}"
    );
    assert!(stderr.contains("declare it with `-- Lossy: base: <reason>`"), "{stderr}");
    assert!(stderr.contains("Data 1 tables seeded (3 rows, seed 3)"), "{stderr}");
    assert!(stdout.trim_end().ends_with(" 1 failed"), "{stdout}");
    // Schemas only, it passes; and with the loss declared, too.
    let (code, _, stderr) = migrate_test(&dir, &["--no-data"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("tables seeded"), "{stderr}");
    let declared = "-- Allow: destructive: a rebuild\n-- Lossy: base: the down starts the table over\n";
    write(
        &dir,
        &[
            ("a", &[], "", BASE, "DROP TABLE base;"),
            ("b", &["a"], declared, "CREATE INDEX base_b ON base (b);", rebuild),
        ],
    );
    let (code, _, stderr) = migrate_test(&dir, &["--seed-rows", "5"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 tables seeded (5 rows"), "{stderr}");
    // A bad value is refused by name.
    let (code, _, stderr) = migrate_test(&dir, &["--foreign-keys", "maybe"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("possible values: on, off"), "{stderr}");
}
