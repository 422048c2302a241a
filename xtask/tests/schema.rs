//! The desired schema end to end: `schema`, `check` and `migrate-test --schema` against the
//! committed `schema.sql`; `revision --autogenerate` writing a migration that lints, locks and
//! passes `migrate-test`; its refusals; `verify --repair --apply` on databases damaged by hand.

mod common;

use common::{Scratch, workspace};
use retort::rusqlite::Connection;

/// A scratch copy of the examples with the committed `schema.sql` beside its migrations.
fn scratch() -> Scratch {
    let s = Scratch::new();
    std::fs::copy(workspace().join("schema.sql"), s.path("schema.sql")).unwrap();
    s
}

fn edit(s: &Scratch, file: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(s.path(file)).unwrap();
    assert!(text.contains(from), "{from} not in {file}");
    std::fs::write(s.path(file), text.replacen(from, to, 1)).unwrap();
}

fn migration_files(s: &Scratch) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(s.migrations())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

#[test]
fn schema_prints_head_and_check_compares_the_committed_file() {
    let s = scratch();
    let printed = s.run(&["schema"]);
    assert_eq!(printed.code, 0, "{printed:?}");
    assert!(
        printed.stdout.starts_with("CREATE TABLE \"group\" (\n    id INTEGER PRIMARY KEY,\n"),
        "{}",
        printed.stdout
    );
    let committed = std::fs::read_to_string(workspace().join("schema.sql")).unwrap();
    assert!(committed.ends_with(&printed.stdout), "schema.sql is `schema --write`'s output:\n{committed}");

    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("ok     schema at head equals schema.sql"), "{}", check.stdout);

    // `schema --write` never overwrites a file that says something else.
    let unchanged = s.run(&["schema", "--write"]);
    assert!(unchanged.code == 0 && unchanged.stderr.contains("already holds the schema at head"), "{unchanged:?}");
    edit(&s, "schema.sql", "    description TEXT\n", "    description TEXT NOT NULL DEFAULT ''\n");
    let before = std::fs::read_to_string(s.path("schema.sql")).unwrap();
    let refused = s.run(&["schema", "--write"]);
    assert!(refused.code == 2 && refused.stderr.contains("never overwritten"), "{refused:?}");
    assert_eq!(std::fs::read_to_string(s.path("schema.sql")).unwrap(), before);

    // A difference fails `check` and `migrate-test --schema`, naming the object.
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(check.stdout.contains("FAILED schema at head equals schema.sql"), "{}", check.stdout);
    assert!(
        check.stdout.contains("~ table group\n-     column 3 description type TEXT\n+     column 3 description type TEXT not null default ''"),
        "{}",
        check.stdout
    );
    let test = s.run(&["migrate-test", "--walks", "0", "--schema"]);
    assert_eq!(test.code, 1, "{test:?}");
    assert!(test.stderr.contains("schema: head differs from schema.sql in 1 object(s) above"), "{}", test.stderr);

    // A broken desired schema is named at its line.
    std::fs::write(s.path("other.sql"), "CREATE TABLE a (x);\nDELETE FROM a;\n").unwrap();
    let bad = s.run(&["check", "--schema", "other.sql"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("other.sql:2: `DELETE FROM a;` is not a CREATE"), "{}", bad.stderr);
    let missing = s.run(&["migrate-test", "--walks", "0", "--schema", "nowhere.sql"]);
    assert!(missing.code == 1 && missing.stderr.contains("there is no desired-schema file nowhere.sql"), "{missing:?}");
}

#[test]
fn autogenerate_writes_a_proven_migration_that_passes_migrate_test() {
    let s = scratch();
    edit(&s, "schema.sql", "    description TEXT\n", "    description TEXT NOT NULL DEFAULT ''\n");
    edit(&s, "schema.sql", "    signature_image TEXT\n", "    nickname TEXT\n");
    std::fs::write(
        s.path("schema.sql"),
        std::fs::read_to_string(s.path("schema.sql")).unwrap()
            + "CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL DEFAULT '');\nCREATE INDEX group_by_name ON \"group\" (name);\n",
    )
    .unwrap();
    let before = migration_files(&s);
    let run = s.run(&["revision", "--autogenerate", "-m", "Profile and audit"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("pass `--rename user.signature_image=nickname` to keep its values"), "{}", run.stderr);
    let new: Vec<String> = migration_files(&s).into_iter().filter(|f| !before.contains(f)).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let file = s.migrations().join(&new[0]);
    let text = std::fs::read_to_string(&file).unwrap();
    for line in [
        "-- Allow: data-change: table rebuild of group: the rows are copied into the new definition",
        "-- Allow: destructive: <why losing this is intended>",
        "-- Lossy: user.signature_image: <why losing this is intended>",
        "-- - audit: create table",
        "-- - group: rebuilt to its new definition (rows copied); create index group_by_name",
        "-- - user: drop column signature_image; add column nickname",
        "ALTER TABLE \"user\" DROP COLUMN \"signature_image\";",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    // The placeholder reasons stop the lint until the author writes them.
    let lint = s.run(&["lint"]);
    assert!(lint.code == 1 && lint.stderr.contains("`Lossy:` still holds the placeholder reason"), "{lint:?}");
    std::fs::write(&file, text.replace("<why losing this is intended>", "signatures moved out")).unwrap();
    assert_eq!(s.run(&["lock"]).code, 0);
    let test = s.run(&["migrate-test", "--walks", "0", "--schema"]);
    assert_eq!(test.code, 0, "{test:?}");
    assert!(test.stderr.contains("Passed schema: head equals schema.sql"), "{}", test.stderr);
    let again = s.run(&["revision", "--autogenerate", "-m", "Nothing"]);
    assert!(again.code == 0 && again.stderr.contains("already equals schema.sql; nothing written"), "{again:?}");
    assert_eq!(migration_files(&s).len(), before.len() + 1);
}

#[test]
fn autogenerate_renames_only_when_told_and_refuses_what_it_cannot_prove() {
    let s = scratch();
    edit(&s, "schema.sql", "    signature_image TEXT\n", "    nickname TEXT\n");
    let before = migration_files(&s);
    let run = s.run(&["revision", "--autogenerate", "-m", "Rename", "--rename", "user.signature_image=nickname"]);
    assert_eq!(run.code, 0, "{run:?}");
    let new: Vec<String> = migration_files(&s).into_iter().filter(|f| !before.contains(f)).collect();
    let text = std::fs::read_to_string(s.migrations().join(&new[0])).unwrap();
    assert!(text.contains("RENAME COLUMN \"signature_image\" TO \"nickname\"") && !text.contains("Lossy"), "{text}");
    std::fs::remove_file(s.migrations().join(&new[0])).unwrap();

    let bad = s.run(&["revision", "--autogenerate", "-m", "Rename", "--rename", "user.nope=nickname"]);
    assert!(bad.code == 2 && bad.stderr.contains("`--rename user.nope=nickname`"), "{bad:?}");

    edit(&s, "schema.sql", "    nickname TEXT\n", "    nickname TEXT,\n    born TEXT NOT NULL\n");
    let refused = s.run(&["revision", "--autogenerate", "-m", "Born"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("`user.born` NOT NULL and no default"), "{}", refused.stderr);
    assert!(refused.stderr.contains("nothing was written"), "{}", refused.stderr);
    assert_eq!(migration_files(&s), before);
}

/// Row counts of every table, for "no row lost".
fn counts(db: &Connection) -> Vec<(String, i64)> {
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let n = db.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0)).unwrap();
            (t, n)
        })
        .collect()
}

#[test]
fn verify_repair_apply_brings_damaged_databases_back_without_losing_rows() {
    let s = scratch();
    let db = s.path("app.db");
    let db_arg = db.to_str().unwrap();
    assert_eq!(s.run(&["upgrade", "--db", db_arg]).code, 0);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO \"user\" (email, display_name) VALUES ('a@x', 'A'), ('b@x', 'B');
         INSERT INTO \"group\" (name) VALUES ('staff');
         INSERT INTO membership (user_id, group_id) VALUES (1, 1), (2, 1);
         INSERT INTO role (name) VALUES ('admin');",
    )
    .unwrap();
    let rows = counts(&conn);
    // Damage by hand: a table dropped while other tables keep rows, an index dropped, and a
    // table rebuilt without a column's default.
    conn.execute_batch(
        "DROP TABLE role_permission;
         DROP INDEX membership_by_group;
         PRAGMA foreign_keys = OFF;
         CREATE TABLE g2 (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''), description TEXT);
         INSERT INTO g2 SELECT * FROM \"group\";
         DROP TABLE \"group\";
         ALTER TABLE g2 RENAME TO \"group\";
         CREATE TABLE \"user_copy\" AS SELECT * FROM \"user\";",
    )
    .unwrap();
    conn.execute_batch(
        "CREATE TABLE u2 (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL, display_name TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, signature_image TEXT);
         INSERT INTO u2 SELECT * FROM \"user\";
         DROP TABLE \"user\";
         ALTER TABLE u2 RENAME TO \"user\";
         CREATE UNIQUE INDEX user_email_unique ON \"user\" (lower(email));
         DROP TABLE user_copy;",
    )
    .unwrap();
    drop(conn);
    let verify = s.run(&["verify", "--db", db_arg]);
    assert_eq!(verify.code, 1, "{verify:?}");
    assert!(verify.stderr.contains("--repair` prints the SQL that repairs the schema"), "{}", verify.stderr);

    // --repair alone prints and changes nothing.
    let printed = s.run(&["verify", "--db", db_arg, "--repair"]);
    assert_eq!(printed.code, 0, "{printed:?}");
    for sql in ["CREATE TABLE role_permission", "CREATE INDEX membership_by_group", "CREATE TABLE \"retort_new_user\""]
    {
        assert!(printed.stdout.contains(sql), "{sql} missing:\n{}", printed.stdout);
    }
    assert_eq!(s.run(&["verify", "--db", db_arg]).code, 1);

    let applied = s.run(&["verify", "--db", db_arg, "--repair", "--apply"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(applied.stderr.contains("Backed up") && applied.stderr.contains("Verified"), "{}", applied.stderr);
    let verify = s.run(&["verify", "--db", db_arg]);
    assert_eq!(verify.code, 0, "{verify:?}");
    let conn = Connection::open(&db).unwrap();
    assert_eq!(counts(&conn), rows, "no row lost (role_permission was empty when dropped)");
    let emails: Vec<String> = conn
        .prepare("SELECT email FROM \"user\" ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(emails, ["a@x", "b@x"]);
}

#[test]
fn verify_repair_keeps_extra_objects_unless_told() {
    let s = scratch();
    let db = s.path("app.db");
    let db_arg = db.to_str().unwrap();
    assert_eq!(s.run(&["upgrade", "--db", db_arg]).code, 0);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE scratch_notes (x TEXT); INSERT INTO scratch_notes VALUES ('keep me'); DROP INDEX membership_by_group;").unwrap();
    drop(conn);
    let applied = s.run(&["verify", "--db", db_arg, "--repair", "--apply"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(applied.stderr.contains("Kept table scratch_notes"), "{}", applied.stderr);
    let conn = Connection::open(&db).unwrap();
    assert_eq!(conn.query_row("SELECT x FROM scratch_notes", [], |r| r.get::<_, String>(0)).unwrap(), "keep me");
    drop(conn);
    let dropped = s.run(&["verify", "--db", db_arg, "--repair", "--drop-extra"]);
    assert!(dropped.code == 0 && dropped.stdout.contains("DROP TABLE \"scratch_notes\""), "{dropped:?}");
    let refused = s.run(&["verify", "--db", db_arg, "--apply"]);
    assert_eq!(refused.code, 2, "--apply needs --repair: {refused:?}");
}
