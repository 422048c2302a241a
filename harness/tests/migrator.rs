//! The migrator (SPEC §6): every refusal and failure with its message, atomic steps, targets,
//! stamp, offline scripts and backups.

mod common;

use std::collections::BTreeSet;

use common::{M, examples, id, m, rev, set};
use retort::{
    Direction, DowngradeOptions, Error, HistoryProblem, Migrator, Schema, Target, TargetError, VerifyFinding,
};
use rusqlite::Connection;

fn no_steps() -> impl FnMut(&retort::Step) {
    |_| {}
}

fn applied(migrator: &Migrator, conn: &Connection) -> Vec<String> {
    let state = migrator.state(conn).unwrap();
    migrator.set().graph().sorted(state.applied).iter().map(|r| r.to_string()).collect()
}

fn chain() -> Vec<M<'static>> {
    vec![
        m("a", &[], "CREATE TABLE parent (id INTEGER PRIMARY KEY);", "DROP TABLE parent;"),
        m(
            "b",
            &["a"],
            "CREATE TABLE child (\n  id INTEGER PRIMARY KEY,\n  parent_id INTEGER REFERENCES parent(id)\n);",
            "DROP TABLE child;",
        ),
        m("c", &["b"], "ALTER TABLE child ADD COLUMN note TEXT;", "ALTER TABLE child DROP COLUMN note;"),
    ]
}

#[test]
fn upgrade_downgrade_and_relative_targets() {
    let migrator = Migrator::new(set(&chain()));
    let mut conn = Connection::open_in_memory().unwrap();
    let report = migrator.upgrade(&mut conn, Target::Relative(2), &mut no_steps()).unwrap();
    assert_eq!(report.steps.len(), 2);
    assert_eq!(applied(&migrator, &conn), [rev("a"), rev("b")]);
    migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap();
    assert_eq!(applied(&migrator, &conn), [rev("a"), rev("b"), rev("c")]);
    let again = migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap();
    assert!(again.steps.is_empty(), "nothing left to do");
    migrator.downgrade(&mut conn, Target::Relative(-1), DowngradeOptions { backup: false }, &mut no_steps()).unwrap();
    assert_eq!(applied(&migrator, &conn), [rev("a"), rev("b")]);
    migrator
        .downgrade(&mut conn, Target::Revision(id("a")), DowngradeOptions { backup: false }, &mut no_steps())
        .unwrap();
    assert_eq!(applied(&migrator, &conn), [rev("a")]);
    migrator.downgrade(&mut conn, Target::Base, DowngradeOptions { backup: false }, &mut no_steps()).unwrap();
    assert!(applied(&migrator, &conn).is_empty());
    assert!(Schema::read(&conn).unwrap().is_empty());
}

#[test]
fn target_errors() {
    let forked = Migrator::new(set(&[
        m("a", &[], "CREATE TABLE a(x);", "DROP TABLE a;"),
        m("abcd1", &["a"], "CREATE TABLE b(x);", "DROP TABLE b;"),
        m("abcd2", &["a"], "CREATE TABLE c(x);", "DROP TABLE c;"),
    ]));
    let mut conn = Connection::open_in_memory().unwrap();
    let graph = forked.set().graph();
    let cases: Vec<(Result<Target, Error>, &str)> = vec![
        (
            forked.upgrade(&mut conn, Target::Head, &mut no_steps()).map(|_| Target::Head),
            "there are several heads (abcd10000000, abcd20000000); name one, use `heads`, or join them with the `merge` command",
        ),
        (Target::parse("abc", graph), "revision prefix `abc` is too short; give at least 4 hex digits"),
        (
            Target::parse("abcd", graph),
            "revision prefix `abcd` is ambiguous: it matches abcd10000000, abcd20000000; give more digits",
        ),
        (Target::parse("fedc", graph), "unknown revision `fedc`; the `history` command lists them"),
        (Target::parse("+0", graph), "`+0` is not a step count; write `+N` or `-N` with N >= 1"),
        (
            forked.upgrade(&mut conn, Target::Relative(9), &mut no_steps()).map(|_| Target::Head),
            "cannot upgrade 9 steps: only 3 available",
        ),
        (
            forked
                .downgrade(
                    &mut conn,
                    Target::Revision(id("abcd1")),
                    DowngradeOptions { backup: false },
                    &mut no_steps(),
                )
                .map(|_| Target::Head),
            "abcd10000000 is not applied, so it is not a downgrade target; `current` shows what is",
        ),
    ];
    for (result, message) in cases {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Target(_)), "{err:?}");
        assert_eq!(err.class(), retort::ErrorClass::Usage, "a bad target is the user's to fix: exit 2");
        assert_eq!(err.to_string(), message);
    }
    // The cases are typed, so a caller can tell them apart without reading the message.
    let err = forked.upgrade(&mut conn, Target::Relative(9), &mut no_steps()).unwrap_err();
    assert!(
        matches!(err, Error::Target(TargetError::TooFewSteps { direction: Direction::Up, wanted: 9, available: 3 })),
        "{err:?}"
    );
    let err =
        forked.downgrade(&mut conn, Target::Head, DowngradeOptions { backup: false }, &mut no_steps()).unwrap_err();
    assert!(matches!(err, Error::Target(TargetError::WrongDirection(Direction::Down))), "{err:?}");
    forked.upgrade(&mut conn, Target::Heads, &mut no_steps()).unwrap();
    assert_eq!(applied(&forked, &conn).len(), 3);
}

#[test]
fn sql_error_names_file_line_and_progress_and_keeps_nothing_of_the_step() {
    let mut migrations = chain();
    migrations[2] = m(
        "c",
        &["b"],
        "ALTER TABLE child ADD COLUMN note TEXT;\n\nCREATE INDEX child_note ON child (nope);",
        "SELECT 1;",
    );
    let migrator = Migrator::new(set(&migrations));
    let mut conn = Connection::open_in_memory().unwrap();
    let err = migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err();
    // `main` returning this error prints its Debug form: the message, not the structure.
    assert_eq!(format!("{err:?}"), err.to_string());
    assert_eq!(
        err.to_string(),
        "upgrade c00000000000 failed: no such column: nope at migrations/c00000000000_fixture_c.sql:13; nothing of c00000000000 was kept; applied before it in this run: a00000000000, b00000000000"
    );
    assert_eq!(applied(&migrator, &conn), [rev("a"), rev("b")], "the failed step left no history row");
    let schema = Schema::read(&conn).unwrap().to_string();
    assert!(!schema.contains("note"), "the failed step's first statement was rolled back:\n{schema}");

    let syntax = Migrator::new(set(&[m("a", &[], "CREATE TABLE ok(x);\nCREATE TABEL bad(x);", "DROP TABLE ok;")]));
    let mut conn = Connection::open_in_memory().unwrap();
    let err = syntax.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "upgrade a00000000000 failed: near \"TABEL\": syntax error at migrations/a00000000000_fixture_a.sql:12; nothing"
        ),
        "{err}"
    );
    assert!(Schema::read(&conn).unwrap().is_empty());
}

#[test]
fn foreign_key_violation_rolls_the_step_back() {
    let mut migrations = chain();
    migrations.push(M {
        tag: "d",
        parents: &["c"],
        up: "CREATE TABLE orphan_maker (x);\nINSERT INTO child (id, parent_id) VALUES (7, 42);",
        down: Some("DROP TABLE orphan_maker;"),
        extra: "-- Allow: data-change: fixture\n",
    });
    let migrator = Migrator::new(set(&migrations));
    let mut conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    let err = migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "upgrade d00000000000 leaves foreign key violations: child row 7 -> parent at migrations/d00000000000_fixture_d.sql:1; the step was rolled back; applied before it in this run: a00000000000, b00000000000, c00000000000"
    );
    assert_eq!(applied(&migrator, &conn).len(), 3);
    assert!(!Schema::read(&conn).unwrap().to_string().contains("orphan_maker"));
    let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert!(fk, "foreign keys are switched back on after the step");
}

#[test]
fn a_column_added_with_a_dangling_default_is_caught() {
    // A pure ALTER (no rows written) takes the per-table foreign-key check.
    let mut migrations = chain();
    migrations.push(M {
        tag: "d",
        parents: &["c"],
        up: "INSERT INTO child (id) VALUES (1);",
        down: Some("DELETE FROM child;"),
        extra: "-- Allow: data-change: fixture\n",
    });
    migrations.push(m(
        "e",
        &["d"],
        "ALTER TABLE child ADD COLUMN other INTEGER REFERENCES parent(id) DEFAULT 99;",
        "ALTER TABLE child DROP COLUMN other;",
    ));
    let migrator = Migrator::new(set(&migrations));
    let mut conn = Connection::open_in_memory().unwrap();
    let err = migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err().to_string();
    assert!(err.starts_with("upgrade e00000000000 leaves foreign key violations: child row 1 -> parent at migrations/e00000000000_fixture_e.sql:1"), "{err}");
    assert_eq!(applied(&migrator, &conn).len(), 4);
}

#[test]
fn irreversible_downgrade_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let mut migrations = chain();
    migrations[1].down = None;
    let migrator = Migrator::new(set(&migrations));
    let mut conn = retort::open(&db).unwrap();
    migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap();
    let err =
        migrator.downgrade(&mut conn, Target::Base, DowngradeOptions { backup: true }, &mut no_steps()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot downgrade through b00000000000: it is irreversible (fixture) at migrations/b00000000000_fixture_b.sql:1; restore a backup instead"
    );
    assert_eq!(applied(&migrator, &conn).len(), 3, "nothing was reverted");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no backup was taken");
    migrator
        .downgrade(&mut conn, Target::Revision(id("b")), DowngradeOptions { backup: false }, &mut no_steps())
        .unwrap();
}

#[test]
fn run_and_step_refuse_bad_input_without_panicking() {
    let mut migrations = chain();
    migrations[2].down = None;
    let migrator = Migrator::new(set(&migrations));
    let mut conn = Connection::open_in_memory().unwrap();
    migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap();
    // `run` is handed a path by the caller, not planned: a down over an irreversible migration
    // and an unknown revision are errors, and nothing changes.
    let err = migrator.run(&mut conn, &[id("c")], Direction::Down, &mut no_steps()).unwrap_err();
    assert!(matches!(err, Error::Irreversible { revision, .. } if revision == id("c")), "{err:?}");
    let unknown = id("f");
    let err = migrator.session(&mut conn).unwrap().step(&unknown, Direction::Up, &[]).unwrap_err();
    assert!(matches!(err, Error::Target(TargetError::NotAMigration(r)) if r == unknown), "{err:?}");
    assert_eq!(applied(&migrator, &conn).len(), 3, "nothing was reverted");
}

#[test]
fn history_is_validated_before_any_change() {
    let migrator = Migrator::new(set(&chain()));
    let mut conn = Connection::open_in_memory().unwrap();
    migrator.upgrade(&mut conn, Target::Relative(2), &mut no_steps()).unwrap();

    let mut edited = chain();
    edited[0].up = "CREATE TABLE parent (id INTEGER PRIMARY KEY, extra TEXT);";
    let drifted = Migrator::new(set(&edited));
    let err = drifted.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err().to_string();
    let old = migrator.set().checksum(&id("a")).to_string();
    let new = drifted.set().checksum(&id("a")).to_string();
    assert_eq!(
        err,
        format!(
            "applied migrations differ from the files: a00000000000 (applied {old}, file {new}); restore the files as they were applied, or `stamp` if you know the schema matches"
        )
    );
    assert_eq!(applied(&migrator, &conn).len(), 2, "nothing was written");

    let shorter = Migrator::new(set(&chain()[..1]));
    let err = shorter.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err().to_string();
    assert_eq!(
        err,
        "the database is at revision b00000000000, which these migrations do not contain; use the migrations it was built with, or `stamp` it to a known revision"
    );

    conn.execute("DELETE FROM retort_history WHERE revision = ?1", [rev("a")]).unwrap();
    let err = migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err().to_string();
    assert_eq!(
        err,
        "the history is inconsistent: b00000000000 is applied but a00000000000 is not; `verify` the database, then `stamp` it"
    );
}

#[test]
fn verify_collects_every_problem_with_its_kind() {
    let migrator = Migrator::new(set(&chain()));
    let mut conn = Connection::open_in_memory().unwrap();
    migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap();
    let clean = migrator.verify(&conn).unwrap();
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);
    assert_eq!(clean.recorded.len(), 3);

    // Every problem at once: an unknown row, drift, a changed and an extra object, and a row
    // pointing nowhere.
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO retort_history VALUES ('ffffffffffff', 'sha256:x', '2026-01-01T00:00:00Z', 0);
         UPDATE retort_history SET checksum = 'sha256:old' WHERE revision LIKE 'c%';
         ALTER TABLE child DROP COLUMN note;
         CREATE TABLE stray (x);
         INSERT INTO child (id, parent_id) VALUES (1, 42);",
    )
    .unwrap();
    let kinds = |report: &retort::VerifyReport| -> Vec<String> {
        report
            .findings
            .iter()
            .map(|f| match f {
                VerifyFinding::History(HistoryProblem::Unknown(r)) => format!("unknown {r}"),
                VerifyFinding::History(HistoryProblem::ChecksumDrift { revision, recorded, .. }) => {
                    format!("drift {revision} {recorded}")
                }
                VerifyFinding::History(HistoryProblem::MissingAncestor { revision, missing }) => {
                    format!("ancestor {revision} {missing}")
                }
                VerifyFinding::Missing(c) => format!("missing {}", c.object()),
                VerifyFinding::Extra(c) => format!("extra {}", c.object()),
                VerifyFinding::Different(c) => format!("different {}", c.object()),
                VerifyFinding::ForeignKeyMismatch(m) => format!("mismatch {m}"),
                VerifyFinding::ForeignKeyViolation(v) => format!("violation {v}"),
            })
            .collect()
    };
    let report = migrator.verify(&conn).unwrap();
    assert_eq!(
        kinds(&report),
        [
            "unknown ffffffffffff".to_string(),
            format!("drift {} sha256:old", rev("c")),
            "different table child".into(),
            "extra table stray".into(),
            "violation child row 1 -> parent".into(),
        ]
    );
    assert!(report.findings[1].to_string().contains("was applied with checksum sha256:old but its file now has"));

    // A revision recorded without its parent is reported, and not replayed: what it built is extra.
    conn.execute("DELETE FROM retort_history WHERE revision = ?1", [rev("a")]).unwrap();
    let found = kinds(&migrator.verify(&conn).unwrap());
    assert!(found.contains(&format!("ancestor {} {}", rev("b"), rev("a"))), "{found:?}");
    assert!(found.contains(&"extra table child".to_string()), "{found:?}");

    // A database stamped without running anything lacks every object.
    let stamped = Connection::open_in_memory().unwrap();
    migrator.stamp(&stamped, Target::Head).unwrap();
    assert_eq!(kinds(&migrator.verify(&stamped).unwrap()), ["missing table child", "missing table parent"]);
}

#[test]
fn stamp_rewrites_history_only() {
    let migrator = Migrator::new(set(&chain()));
    let conn = Connection::open_in_memory().unwrap();
    let report = migrator.stamp(&conn, Target::Revision(id("b"))).unwrap();
    assert_eq!(report.added, [id("a"), id("b")]);
    assert!(Schema::read(&conn).unwrap().is_empty(), "stamp runs no SQL");
    conn.execute("INSERT INTO retort_history VALUES ('ffffffffffff', 'sha256:x', 'now', 0)", []).unwrap();
    let report = migrator.stamp(&conn, Target::Revision(id("a"))).unwrap();
    assert_eq!(report.removed, ["b00000000000", "ffffffffffff"]);
    assert_eq!(applied(&migrator, &conn), [rev("a")]);
    migrator.stamp(&conn, Target::Base).unwrap();
    assert!(applied(&migrator, &conn).is_empty());
}

#[test]
fn transaction_none_runs_outside_a_transaction() {
    let migrator = Migrator::new(set(&[M {
        tag: "a",
        parents: &[],
        up: "CREATE TABLE t (x);\nVACUUM;",
        down: Some("DROP TABLE t;"),
        extra: "-- Transaction: none\n",
    }]));
    let dir = tempfile::tempdir().unwrap();
    let mut conn = retort::open(dir.path().join("a.db")).unwrap();
    let report = migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap();
    assert!(!report.steps[0].transactional);
    assert_eq!(applied(&migrator, &conn), [rev("a")]);

    // VACUUM may read the history to copy it; the statement after it may not.
    let reads_after = Migrator::new(set(&[M {
        tag: "a",
        parents: &[],
        up: "CREATE TABLE t (x);\nVACUUM;\nSELECT * FROM retort_history;",
        down: Some("DROP TABLE t;"),
        extra: "-- Transaction: none\n",
    }]));
    let mut conn = retort::open(dir.path().join("b.db")).unwrap();
    let err = reads_after.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err().to_string();
    assert!(err.contains("reading `retort_history` is refused"), "{err}");
    assert!(err.contains("fixture_a.sql:14"), "the SELECT's line: {err}");

    let inside = Migrator::new(set(&[m("a", &[], "CREATE TABLE t (x);\nVACUUM;", "DROP TABLE t;")]));
    let mut conn = Connection::open_in_memory().unwrap();
    let err = inside.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap_err().to_string();
    assert!(err.contains("cannot VACUUM from within a transaction"), "{err}");
}

fn history_rows(conn: &Connection) -> BTreeSet<(String, String)> {
    let mut stmt = conn.prepare("SELECT revision, checksum FROM retort_history").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn offline_script_matches_a_real_upgrade() {
    let migrator = Migrator::new(examples());
    for (from, direction, target) in [
        (None, Direction::Up, Target::Head),
        (Some(Target::Revision(migrator.set().graph().resolve("roles@head").unwrap())), Direction::Up, Target::Head),
        (Some(Target::Head), Direction::Down, Target::Revision(migrator.set().graph().resolve("7b8e").unwrap())),
        (Some(Target::Head), Direction::Down, Target::Base),
    ] {
        let mut real = Connection::open_in_memory().unwrap();
        let mut offline = Connection::open_in_memory().unwrap();
        if let Some(from) = from {
            migrator.upgrade(&mut real, from, &mut no_steps()).unwrap();
            migrator.upgrade(&mut offline, from, &mut no_steps()).unwrap();
        }
        let state = migrator.state(&offline).unwrap();
        let script = migrator.script(&state, direction, target).unwrap();
        offline.execute_batch(&script).unwrap_or_else(|e| panic!("{e}\n{script}"));
        match direction {
            Direction::Up => migrator.upgrade(&mut real, target, &mut no_steps()).map(drop),
            Direction::Down => {
                migrator.downgrade(&mut real, target, DowngradeOptions { backup: false }, &mut no_steps()).map(drop)
            }
        }
        .unwrap();
        assert_eq!(Schema::read(&offline).unwrap(), Schema::read(&real).unwrap(), "{script}");
        assert_eq!(history_rows(&offline), history_rows(&real));
    }
}

#[test]
fn downgrade_backup_holds_the_schema_and_data_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let migrator = Migrator::new(examples());
    let mut conn = retort::open(&db).unwrap();
    migrator.upgrade(&mut conn, Target::Head, &mut no_steps()).unwrap();
    conn.execute("INSERT INTO \"user\" (email, signature_image) VALUES ('ada@example.com', 'sig')", []).unwrap();
    let before = Schema::read(&conn).unwrap();
    let report =
        migrator.downgrade(&mut conn, Target::Base, DowngradeOptions { backup: true }, &mut no_steps()).unwrap();
    let backup = report.backup.expect("a backup was taken");
    assert_eq!(backup.parent(), db.parent(), "the backup sits next to the database");
    let copy = Connection::open(&backup).unwrap();
    assert_eq!(Schema::read(&copy).unwrap(), before);
    let email: String =
        copy.query_row("SELECT email FROM \"user\" WHERE signature_image = 'sig'", [], |r| r.get(0)).unwrap();
    assert_eq!(email, "ada@example.com");
    assert_eq!(history_rows(&copy).len(), 10);
    assert!(Schema::read(&conn).unwrap().is_empty());
}

#[test]
fn embedded_migrations_load_through_the_one_parser() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/a1c3e5f70912_create_user.sql"))
            .unwrap();
    let source: &'static str = Box::leak(source.into_boxed_str());
    let set = examples();
    let checksum: &'static str =
        Box::leak(set.checksum(&retort_build::RevisionId::parse("a1c3e5f70912").unwrap()).to_string().into_boxed_str());
    let entries: &'static [retort::EmbeddedMigration] = Box::leak(Box::new([retort::EmbeddedMigration {
        file: "migrations/a1c3e5f70912_create_user.sql",
        revision: "a1c3e5f70912",
        checksum,
        source,
    }]));
    let migrator = Migrator::embedded(&retort::Migrations::new(entries)).unwrap();
    assert_eq!(migrator.set().len(), 1);
    let stale: &'static [retort::EmbeddedMigration] =
        Box::leak(Box::new([retort::EmbeddedMigration { checksum: "sha256:old", ..entries[0] }]));
    let err = Migrator::embedded(&retort::Migrations::new(stale)).unwrap_err().to_string();
    assert!(err.contains("checksum drift in locked migration a1c3e5f70912"), "{err}");
}

#[test]
fn a_step_already_recorded_or_already_reverted_is_skipped_and_changes_nothing() {
    let migrator = Migrator::new(set(&chain()));
    let mut conn = Connection::open_in_memory().unwrap();
    let objects = |conn: &Connection| -> Vec<String> {
        conn.prepare("SELECT name FROM sqlite_schema WHERE tbl_name <> 'retort_history' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    // Recorded without its SQL having run: the up's SQL would succeed, yet its row is there.
    migrator.stamp(&conn, Target::Revision(id("a"))).unwrap();
    let mut session = migrator.session(&mut conn).unwrap();
    let step = session.step(&id("a"), Direction::Up, &[]).unwrap();
    assert!(step.skipped, "{step:?}");
    assert_eq!(objects(session.conn()), Vec::<String>::new(), "the skipped up left nothing behind");
    // Recorded and applied: the up's SQL fails ("table parent already exists"), still a skip.
    session.conn().execute_batch("CREATE TABLE parent (id INTEGER PRIMARY KEY);").unwrap();
    assert!(session.step(&id("a"), Direction::Up, &[]).unwrap().skipped);
    // Not recorded: a down is skipped without running.
    let down = session.step(&id("b"), Direction::Down, &[]).unwrap();
    assert!(down.skipped, "{down:?}");
    assert_eq!(objects(session.conn()), ["parent"]);
    // An up that is not recorded runs and is recorded once.
    let b = session.step(&id("b"), Direction::Up, &[]).unwrap();
    assert!(!b.skipped);
    assert!(session.step(&id("b"), Direction::Up, &[]).unwrap().skipped);
    session.close().unwrap();
    assert_eq!(applied(&migrator, &conn), [rev("a"), rev("b")]);
    assert_eq!(objects(&conn), ["child", "parent"]);
}
