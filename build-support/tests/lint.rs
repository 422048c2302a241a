//! Static lint: each rule, with its waiver, as a table of `up` sections and expected findings.

mod common;

use std::path::Path;

use retort_build::lint::lint_migration;

fn check(tables: &[&str], extra: &str, up: &str, expected: &[&str]) {
    let mut header = String::from(
        "-- Lint fixture\n--\n-- Revision ID: 9b1c0e2f4a77\n-- Revises:\n-- Create Date: 2025-01-01T00:00:00Z\n",
    );
    header.push_str(extra);
    header.push_str("--\n-- Tables affected:\n");
    for t in tables {
        header.push_str(&format!("-- - {t}\n"));
    }
    let text = format!("{header}\n-- migrate:up\n{up}\n\n-- migrate:down\nSELECT 1;\n");
    let m = retort_build::migration::parse(Path::new("migrations/9b1c0e2f4a77_lint.sql"), text.as_bytes())
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let found: Vec<String> = lint_migration(&m).iter().map(|p| format!("{}: {}", p.location.line, p.kind)).collect();
    assert_eq!(found, expected, "up:\n{up}");
}

#[test]
fn lint_rules() {
    check(&["user: add column"], "", "ALTER TABLE \"user\" ADD COLUMN x TEXT;", &[]);
    check(&["user: seed"], "", "INSERT INTO \"user\" (id) VALUES (1);", &["11: data change in `up`: INSERT on `user`"]);
    check(
        &["user: seed"],
        "",
        "WITH x AS (SELECT 1)\nDELETE FROM main.user WHERE id IN x;",
        &["11: data change in `up`: DELETE on `user`"],
    );
    check(
        &["user: seed"],
        "",
        "REPLACE INTO user VALUES (1);\nUPDATE OR IGNORE user SET a = 1;",
        &["11: data change in `up`: REPLACE on `user`", "12: data change in `up`: UPDATE on `user`"],
    );
    check(&["user: seed"], "-- Allow: data-change: backfill\n", "UPDATE user SET a = 1;", &[]);
    check(&["user: drop"], "", "DROP TABLE user;", &["11: destructive change in `up`: DROP TABLE `user`"]);
    check(
        &["user: drop column"],
        "",
        "ALTER TABLE user DROP COLUMN x;",
        &["11: destructive change in `up`: DROP COLUMN `x` of `user`"],
    );
    check(&["user: drop column"], "-- Allow: destructive: unused since 2024\n", "ALTER TABLE user DROP x;", &[]);
    check(
        &["user: add"],
        "",
        "CREATE TABLE other (x);",
        &[
            "7: `Tables affected` does not list `other`, which `up` changes",
            "8: `Tables affected` lists `user`, which `up` does not touch",
        ],
    );
    check(
        &["<table>: <what changes>"],
        "",
        "CREATE TABLE t (x);",
        &[
            "8: `Tables affected` still holds the template placeholder",
            "7: `Tables affected` does not list `t`, which `up` changes",
        ],
    );
    // A rebuild's scaffolding table need not be listed; DROP INDEX names no table, so extra
    // entries are not judged.
    check(
        &["group: rebuilt"],
        "-- Allow: data-change: copy\n-- Allow: destructive: rebuild\n",
        "CREATE TABLE g_new (x);\nINSERT INTO g_new SELECT x FROM \"group\";\nDROP TABLE \"group\";\nALTER TABLE g_new RENAME TO \"group\";",
        &[],
    );
    check(&["user: index dropped"], "", "DROP INDEX user_email;", &[]);
    // Trigger bodies run later, not during `up`: their INSERT is not a data change now.
    check(
        &["user: audit trigger"],
        "",
        "CREATE TRIGGER t AFTER INSERT ON user BEGIN INSERT INTO user_log VALUES (1); END;",
        &[],
    );
}
