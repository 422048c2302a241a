//! The round-trip harness through its library entry point: failures stay with the revision that
//! has them, the proof that skips a re-up holds, the schema cache never serves a stale index,
//! and the walks say what they covered and which revisions a failing walk targeted.

mod common;

use common::{M, id, m, set};
use proptest::prelude::*;
use retort::harness::{Finding, Options, Outcome, Threads, run};

fn options(walks: u32) -> Options {
    Options { walks, seed: Some(3), ..Options::default() }
}

fn harness(migrations: &[M], options: &Options) -> (Outcome, Vec<String>) {
    let mut notes = Vec::new();
    let outcome = run(&set(migrations), options, &mut |event| {
        if let retort::harness::Event::Note { text, .. } = event {
            notes.push(text);
        }
    })
    .unwrap();
    (outcome, notes)
}

fn failed_revisions(outcome: &Outcome) -> Vec<String> {
    outcome.failed.iter().filter_map(|f: &Finding| f.revision.map(|r| r.to_string())).collect()
}

#[test]
fn a_failing_transaction_none_migration_is_the_only_failure() {
    let none = "-- Transaction: none\n";
    let migrations = [
        M {
            tag: "a",
            parents: &[],
            up: "BEGIN;\nCREATE TABLE a (x INTEGER);\nCOMMIT;",
            down: Some("BEGIN;\nDROP TABLE missing_table;\nCOMMIT;"),
            extra: none,
        },
        m("b", &["a"], "CREATE TABLE b (y INTEGER);", "DROP TABLE b;"),
        m("c", &["b"], "CREATE INDEX b_y ON b (y);", "DROP INDEX b_y;"),
    ];
    let (outcome, _) = harness(&migrations, &options(0));
    assert_eq!(failed_revisions(&outcome), [id("a").to_string()], "{:#?}", outcome.failed);
    assert!(outcome.failed[0].message.contains("no such table: missing_table"), "{}", outcome.failed[0]);
    assert_eq!(outcome.passed, 2, "b and c pass");
}

#[test]
fn a_failing_transaction_none_up_is_undone_before_the_next_revision() {
    let migrations = [
        M {
            tag: "a",
            parents: &[],
            up: "CREATE TABLE a (x INTEGER);\nCREATE TABLE a (x INTEGER);",
            down: Some("DROP TABLE a;"),
            extra: "-- Transaction: none\n",
        },
        m("b", &[], "CREATE TABLE a (y TEXT);", "DROP TABLE a;"),
        m("c", &["a", "b"], "", ""),
    ];
    let (outcome, _) = harness(&migrations, &options(0));
    let failed = failed_revisions(&outcome);
    assert_eq!(failed, [id("a").to_string(), id("c").to_string()], "{:#?}", outcome.failed);
    assert!(outcome.failed[1].message.contains("not tested"), "{}", outcome.failed[1]);
}

#[test]
fn a_rebuild_that_drops_a_collation_does_not_leave_a_stale_index() {
    let migrations = [
        m("a", &[], "CREATE TABLE t (c TEXT COLLATE NOCASE);\nCREATE INDEX t_c ON t (c);", "DROP TABLE t;"),
        M {
            tag: "b",
            parents: &["a"],
            up: "CREATE TABLE t_new (c TEXT);\nINSERT INTO t_new SELECT c FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\nCREATE INDEX t_c ON t (c);",
            down: Some(
                "CREATE TABLE t_old (c TEXT COLLATE NOCASE);\nINSERT INTO t_old SELECT c FROM t;\nDROP TABLE t;\nALTER TABLE t_old RENAME TO t;\nCREATE INDEX t_c ON t (c);",
            ),
            extra: "-- Allow: data-change: rebuild\n-- Allow: destructive: rebuild\n",
        },
        m("c", &["b"], "CREATE TABLE other (x);", "DROP TABLE other;"),
    ];
    let (outcome, _) = harness(&migrations, &options(0));
    assert!(outcome.failed.is_empty(), "{:#?}", outcome.failed);
    let (_, change) = &outcome.changes[1];
    assert!(change.contains("key 1 c asc collate BINARY"), "the rebuilt index's collation:\n{change}");
}

#[test]
fn a_foreign_key_that_cannot_work_fails_the_revision_that_made_it() {
    let migrations = [
        m("a", &[], "CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT);", "DROP TABLE parent;"),
        m("b", &["a"], "CREATE TABLE child (code TEXT REFERENCES parent (code));", "DROP TABLE child;"),
        // A later revision that writes: it used to be the one blamed ("foreign key mismatch").
        M {
            tag: "c",
            parents: &["a"],
            up: "INSERT INTO parent (code) VALUES ('x');",
            down: Some("DELETE FROM parent WHERE code = 'x';"),
            extra: "-- Allow: data-change: fixture
",
        },
    ];
    let (outcome, _) = harness(&migrations, &options(0));
    assert_eq!(failed_revisions(&outcome), [id("b").to_string()], "{:#?}", outcome.failed);
    assert!(outcome.failed[0].message.contains("foreign key"), "{}", outcome.failed[0]);
}

#[test]
fn a_linear_chain_has_nothing_for_the_walks() {
    let migrations = [
        m("a", &[], "CREATE TABLE t (x);", "DROP TABLE t;"),
        m("b", &["a"], "ALTER TABLE t ADD COLUMN y TEXT;", "ALTER TABLE t DROP COLUMN y;"),
    ];
    let (outcome, notes) = harness(&migrations, &options(32));
    assert!(outcome.failed.is_empty(), "{:#?}", outcome.failed);
    assert!(notes.iter().any(|n| n.starts_with("walks have nothing to add: the graph is linear")), "{notes:?}");
    assert_eq!((outcome.walk_states, outcome.walk_moves), (0, 0));
    assert_eq!(outcome.reups_proven, 2, "both re-ups are proven redundant");
}

#[test]
fn walks_cover_branch_states_and_name_the_revisions_of_a_failing_walk() {
    // Two branches add a column each to one table: the order they run in decides the column
    // order, so a walk that applies c before b reaches another schema than the canonical one.
    let migrations = [
        m("a", &[], "CREATE TABLE t (x);", "DROP TABLE t;"),
        m("b", &["a"], "ALTER TABLE t ADD COLUMN p TEXT;", "ALTER TABLE t DROP COLUMN p;"),
        m("c", &["a"], "ALTER TABLE t ADD COLUMN q TEXT;", "ALTER TABLE t DROP COLUMN q;"),
        m("d", &["b", "c"], "", ""),
    ];
    let (outcome, _) = harness(&migrations, &options(64));
    let walk = outcome.failed.iter().find(|f| f.check == "walks").expect("a walk finds the order dependence");
    assert!(walk.message.contains("walk: start at"), "{}", walk.message);
    assert!(!walk.message.contains('#'), "revisions, not indexes: {}", walk.message);
    let named = ["a", "b", "c", "d"].iter().any(|t| walk.message.contains(&format!("upgrade {}", id(t))));
    assert!(named, "{}", walk.message);
    assert!(walk.message.contains("canonical schema"), "{}", walk.message);
    // The round trip itself passes: each step is fine on its own.
    assert!(outcome.failed.iter().all(|f| f.check == "walks"), "{:#?}", outcome.failed);
}

#[test]
fn walks_report_what_they_covered_on_a_branched_graph() {
    let migrations = [
        m("a", &[], "CREATE TABLE t (x);", "DROP TABLE t;"),
        m("b", &["a"], "CREATE TABLE u (y);", "DROP TABLE u;"),
        m("c", &["a"], "CREATE TABLE v (z);", "DROP TABLE v;"),
        m("d", &["b", "c"], "", ""),
    ];
    let (outcome, _) = harness(&migrations, &options(32));
    assert!(outcome.failed.is_empty(), "{:#?}", outcome.failed);
    assert!(outcome.walk_states >= 1, "the partial branch state {{a, c}} is reached");
    assert!(outcome.walk_moves > 0);
}

#[test]
fn a_re_up_that_cannot_be_proven_redundant_runs() {
    let migrations = [
        m("a", &[], "CREATE TABLE t (x INTEGER UNIQUE);", "DROP TABLE t;"),
        M {
            tag: "b",
            parents: &["a"],
            up: "INSERT INTO t (x) VALUES (abs(random()) % 1000);",
            down: Some("DELETE FROM t;"),
            extra: "-- Allow: data-change: fixture\n",
        },
        M {
            tag: "c",
            parents: &["b"],
            up: "INSERT INTO t (x) VALUES (5000);",
            down: Some("SELECT 1;"),
            extra: "-- Allow: data-change: fixture\n",
        },
    ];
    // Schemas only: the data round trip would find c's row first (`tests/data.rs`).
    let (outcome, _) = harness(&migrations, &Options { seed_rows: 0, ..options(0) });
    let run: Vec<(String, &str)> = outcome.reups_run.iter().map(|(r, why)| (r.to_string(), *why)).collect();
    assert!(run.iter().any(|(r, why)| *r == id("b").to_string() && why.contains("random")), "{run:?}");
    // c's down leaves its row: the re-up runs and fails on the unique key.
    let c = outcome.failed.iter().find(|f| f.revision == Some(id("c"))).expect("c fails");
    assert_eq!(c.check, "up again", "{c}");
}

#[test]
fn two_threads_list_the_re_ups_they_ran_in_topological_order() {
    // 96 revisions: a table, then a row whose value is random (its re-up cannot be proven
    // redundant), in turn; with two threads they are reverted in chunks of 8.
    let tags: Vec<String> = (0..96).map(|i| format!("{:03x}", 0x100 + i)).collect();
    let parents: Vec<[&str; 1]> = tags.iter().map(|t| [t.as_str()]).collect();
    let sql: Vec<(String, String)> = (0..96)
        .map(|i| match i % 2 {
            0 => (format!("CREATE TABLE t{i} (x INTEGER);"), format!("DROP TABLE t{i};")),
            _ => (
                format!("INSERT INTO t{} (x) VALUES (abs(random()) % 1000);", i - 1),
                format!("DELETE FROM t{};", i - 1),
            ),
        })
        .collect();
    let migrations: Vec<M> = (0..96)
        .map(|i| M {
            tag: &tags[i],
            parents: if i == 0 { &[] } else { &parents[i - 1] },
            up: &sql[i].0,
            down: Some(&sql[i].1),
            extra: "-- Allow: data-change: fixture\n",
        })
        .collect();
    let run_with = |threads| harness(&migrations, &Options { threads, seed_rows: 0, ..options(0) }).0;
    let (one, two) = (run_with(Threads::One), run_with(Threads::Two));
    assert!(two.failed.is_empty(), "{:#?}", two.failed);
    let expected: Vec<String> = (0..96).filter(|i| i % 2 == 1).map(|i| id(&tags[i]).to_string()).collect();
    let ran = |o: &Outcome| o.reups_run.iter().map(|(rev, _)| rev.to_string()).collect::<Vec<_>>();
    assert_eq!(ran(&two), expected);
    assert_eq!(ran(&one), expected);
}

/// A random chain of small schema and data changes over a few tables.
fn chain() -> impl Strategy<Value = Vec<(String, String, bool)>> {
    let change = prop_oneof![
        Just(("ALTER TABLE t{T} ADD COLUMN c{I} TEXT DEFAULT 'd';", "ALTER TABLE t{T} DROP COLUMN c{I};", false)),
        Just(("CREATE INDEX i{I} ON t{T} (x);", "DROP INDEX i{I};", false)),
        Just(("CREATE VIEW v{I} AS SELECT x FROM t{T};", "DROP VIEW v{I};", false)),
        Just(("INSERT INTO t{T} (x) VALUES ({I});", "DELETE FROM t{T} WHERE x = {I};", true)),
        Just(("INSERT INTO t{T} (x) VALUES ({I});", "SELECT 1;", true)),
        Just(("UPDATE t{T} SET x = x + 1;", "UPDATE t{T} SET x = x - 1;", true)),
        Just(("CREATE TRIGGER g{I} AFTER INSERT ON t{T} BEGIN SELECT 1; END;", "DROP TRIGGER g{I};", false)),
        // A down that changes the header, which the up cannot see.
        Just(("SELECT 1;", "PRAGMA user_version = {I};", false)),
    ];
    proptest::collection::vec((change, 0..3usize), 1..10).prop_map(|steps| {
        steps
            .into_iter()
            .enumerate()
            .map(|(i, ((up, down, data), t))| {
                let fill = |s: &str| s.replace("{T}", &t.to_string()).replace("{I}", &i.to_string());
                (fill(up), fill(down), data)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Wherever the round trip skips a re-up as proven redundant, running it anyway gives the
    /// first up's state (schema, rows, header): `check_proofs` runs every re-up and fails with
    /// check `proof` otherwise.
    #[test]
    fn a_skipped_re_up_would_have_given_the_first_ups_state(steps in chain()) {
        let tags: Vec<String> = (0..steps.len() + 1).map(|i| format!("{:x}", 0xa0 + i)).collect();
        let mut migrations = vec![M {
            tag: &tags[0],
            parents: &[],
            up: "CREATE TABLE t0 (x INTEGER);\nCREATE TABLE t1 (x INTEGER);\nCREATE TABLE t2 (x INTEGER);",
            down: Some("DROP TABLE t0;\nDROP TABLE t1;\nDROP TABLE t2;"),
            extra: "",
        }];
        let parents: Vec<[&str; 1]> = tags.iter().map(|t| [t.as_str()]).collect();
        for (i, (up, down, data)) in steps.iter().enumerate() {
            migrations.push(M {
                tag: &tags[i + 1],
                parents: &parents[i],
                up,
                down: Some(down),
                extra: if *data { "-- Allow: data-change: fixture\n" } else { "" },
            });
        }
        let options = Options { walks: 0, check_proofs: true, ..Options::default() };
        let (outcome, _) = harness(&migrations, &options);
        let broken: Vec<&Finding> = outcome.failed.iter().filter(|f| f.check == "proof").collect();
        prop_assert!(broken.is_empty(), "{:#?}", broken);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// After every up and down, the schema cache's incremental read (only what the step's
    /// footprint names, in full after a rename) equals a fresh read of the whole catalog.
    #[test]
    fn incremental_schema_reads_equal_full_reads(steps in chain(), renames in proptest::collection::vec(any::<bool>(), 10)) {
        let mut migrations_sql: Vec<(String, String)> = vec![(
            "CREATE TABLE t0 (x INTEGER COLLATE NOCASE);\nCREATE TABLE t1 (x INTEGER);\nCREATE TABLE t2 (x INTEGER);\nCREATE INDEX t1_x ON t1 (x);".into(),
            "DROP TABLE t0;\nDROP TABLE t1;\nDROP TABLE t2;".into(),
        )];
        for (i, (up, down, _)) in steps.iter().enumerate() {
            migrations_sql.push((up.clone(), down.clone()));
            if i % 3 == 0 {
                // Objects dropped and created in one step, so catalog rowids are reused (a
                // dropped last row's rowid goes to the next row created), and one object comes
                // back with the same text in another row.
                migrations_sql.push((
                    format!("CREATE TABLE k{i} (x);\nCREATE VIEW kv{i} AS SELECT 1;"),
                    format!("DROP VIEW kv{i};\nDROP TABLE k{i};"),
                ));
                migrations_sql.push((
                    format!("DROP VIEW kv{i};\nDROP TABLE k{i};\nCREATE VIEW kv{i} AS SELECT 1;\nCREATE TABLE k{i} (x, y);"),
                    format!("DROP TABLE k{i};\nDROP VIEW kv{i};\nCREATE TABLE k{i} (x);\nCREATE VIEW kv{i} AS SELECT 1;"),
                ));
            }
            if renames[i % renames.len()] {
                // A rebuild that drops a collation and recreates an index with the same text.
                migrations_sql.push((
                    "CREATE TABLE r_new (x INTEGER);\nINSERT INTO r_new SELECT x FROM t1;\nDROP TABLE t1;\nALTER TABLE r_new RENAME TO t1;\nCREATE INDEX t1_x ON t1 (x);".into(),
                    "CREATE TABLE r_old (x INTEGER COLLATE NOCASE);\nINSERT INTO r_old SELECT x FROM t1;\nDROP TABLE t1;\nALTER TABLE r_old RENAME TO t1;\nCREATE INDEX t1_x ON t1 (x);".into(),
                ));
            }
        }
        let tags: Vec<String> = (0..migrations_sql.len()).map(|i| format!("{:x}", 0xa0 + i)).collect();
        let parents: Vec<[&str; 1]> = tags.iter().map(|t| [t.as_str()]).collect();
        let migrations: Vec<M> = migrations_sql
            .iter()
            .enumerate()
            .map(|(i, (up, down))| M {
                tag: &tags[i],
                parents: if i == 0 { &[] } else { &parents[i - 1] },
                up,
                down: Some(down),
                extra: "-- Allow: data-change: fixture\n-- Allow: destructive: fixture\n",
            })
            .collect();
        let set = set(&migrations);
        let migrator = retort::Migrator::new(set.clone());
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut cache = retort::SchemaCache::default();
        cache.read(&conn).unwrap();
        let order = set.order().to_vec();
        for (rev, direction) in order.iter().map(|r| (r, retort::Direction::Up)).chain(order.iter().rev().map(|r| (r, retort::Direction::Down))) {
            let mut session = migrator.session(&mut conn).unwrap();
            let step = match session.step(rev, direction, &[]) {
                Ok(step) => step,
                // A generated down may fail (an UPDATE that is not its up's inverse is fine);
                // the cache is then compared after the next step that runs.
                Err(_) => continue,
            };
            session.close().unwrap();
            let incremental = cache.read_after(&conn, &step.footprint).unwrap();
            let full = retort::Schema::read(&conn).unwrap();
            prop_assert!(incremental == full, "{rev} {direction}:\n{}", retort::snapshot::render_changes(&full.diff(&incremental)));
        }
    }
}

/// What a run found, without where it kept databases (each run has its own scratch directory).
fn findings(outcome: &Outcome) -> Vec<String> {
    outcome.failed.iter().map(|f| Finding { kept: None, ..f.clone() }.to_string()).collect()
}

#[test]
fn two_threads_find_what_one_finds() {
    use retort::synth::Shape;
    let dir = tempfile::tempdir().unwrap();
    for (name, shape) in [("default", Shape::DEFAULT), ("wrong", Shape::WRONG_DOWNS), ("branched", Shape::BRANCHED)] {
        let set = retort::synth::write_shaped(&dir.path().join(name), 96, 7, shape).unwrap();
        let run_with = |threads| {
            let options = Options { threads, ..options(0) };
            let mut notes = Vec::new();
            let outcome = run(&set, &options, &mut |event| {
                if let retort::harness::Event::Note { text, .. } = event {
                    notes.push(text);
                }
            })
            .unwrap();
            (outcome, notes)
        };
        let (one, one_notes) = run_with(Threads::One);
        let (two, two_notes) = run_with(Threads::Two);
        assert_eq!(findings(&two), findings(&one), "{name}");
        assert_eq!(two.passed, one.passed, "{name}");
        assert_eq!((two.reups_proven, &two.reups_run), (one.reups_proven, &one.reups_run), "{name}");
        assert_eq!(two.changes, one.changes, "{name}");
        assert_eq!(two.head_schema, one.head_schema, "{name}");
        assert_eq!(two_notes, one_notes, "{name}");
        if name == "wrong" {
            // Wrong downs in several of the chunks of 8 handed to the second thread and in the
            // last 8 levels of 96 (smaller chunks, then the two the main thread keeps), each
            // found on its own revision.
            let order: Vec<String> = set.order().iter().map(ToString::to_string).collect();
            let at = |f: &Finding| f.revision.and_then(|r| order.iter().position(|o| *o == r.to_string()));
            let positions: Vec<usize> = two.failed.iter().filter_map(at).collect();
            let chunks: std::collections::BTreeSet<usize> = positions.iter().map(|p| p / 8).collect();
            assert!(chunks.contains(&11) && chunks.len() >= 4, "{positions:?}");
        } else {
            assert!(one.failed.is_empty(), "{name}: {:#?}", one.failed);
        }
    }
}
