//! The data round trip's catalogue: each way a migration loses rows that a schema comparison
//! cannot see fails on the right revision with a message naming the table, the column and a
//! value; the ways that keep every row pass.

mod common;

use common::{M, id, m, set};
use retort::harness::{Options, Outcome, run};

const RULES: &str = "-- Allow: data-change: a rebuild copies its rows\n-- Allow: destructive: the old table goes\n";

fn options() -> Options {
    Options { walks: 0, seed: Some(11), ..Options::default() }
}

fn outcome(migrations: &[M], options: &Options) -> Outcome {
    run(&set(migrations), options, &mut |_| {}).unwrap()
}

/// The messages of the findings on revision `tag`, with their check.
fn findings_on(outcome: &Outcome, tag: &str) -> Vec<String> {
    outcome
        .failed
        .iter()
        .filter(|f| f.revision == Some(id(tag)))
        .map(|f| format!("{}: {}", f.check, f.message))
        .collect()
}

/// Asserts that exactly the revisions `tags` fail, and that one finding on the first contains
/// `expected`.
fn fails(outcome: &Outcome, tags: &[&str], expected: &str) {
    let failed: Vec<String> = outcome.failed.iter().filter_map(|f| f.revision.map(|r| r.to_string())).collect();
    let mut want: Vec<String> = tags.iter().map(|t| id(t).to_string()).collect();
    let mut got = failed.clone();
    got.dedup();
    want.dedup();
    assert_eq!(got, want, "{:#?}", outcome.failed);
    let on = findings_on(outcome, tags[0]);
    assert!(on.iter().any(|f| f.contains(expected)), "expected `{expected}` in {on:#?}");
}

fn passes(outcome: &Outcome) {
    assert!(outcome.failed.is_empty(), "{:#?}", outcome.failed);
}

/// `parent` rebuilt (exactly, rows copied) under a child whose key says `action`.
fn parent_rebuild(action: &str) -> Vec<(String, String, String)> {
    let parent =
        |name: &str, check: &str| format!("CREATE TABLE {name} (id INTEGER PRIMARY KEY, name TEXT NOT NULL{check});");
    let rebuild = |check: &str| {
        format!(
            "{}\nINSERT INTO parent_new (id, name) SELECT id, name FROM parent;\nDROP TABLE parent;\nALTER TABLE parent_new RENAME TO parent;",
            parent("parent_new", check)
        )
    };
    vec![
        ("a".into(), parent("parent", ""), "DROP TABLE parent;".into()),
        (
            "b".into(),
            format!(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) {action}, note TEXT);"
            ),
            "DROP TABLE child;".into(),
        ),
        ("c".into(), rebuild(", CHECK (name <> '')"), rebuild("")),
    ]
}

fn chain(sql: &[(String, String, String)]) -> Vec<M<'_>> {
    sql.iter()
        .enumerate()
        .map(|(i, (tag, up, down))| M {
            tag,
            parents: [&["a"][..], &["b"], &["c"]][..i].last().copied().unwrap_or(&[]),
            up,
            down: Some(down),
            extra: if up.contains("INSERT") || up.contains("DROP") { RULES } else { "" },
        })
        .collect()
}

#[test]
fn a_parent_rebuild_under_enforced_foreign_keys_cascades_into_its_children() {
    let sql = parent_rebuild("ON DELETE CASCADE");
    let enforced = Options { foreign_keys: true, ..options() };
    let found = outcome(&chain(&sql), &enforced);
    fails(&found, &["c"], &format!("data: up of {} loses data: a row of child is gone: (id=", id("c")));
    // Run as Retort runs it (keys off), the same rebuild keeps every row.
    passes(&outcome(&chain(&sql), &options()));

    let sql = parent_rebuild("ON DELETE SET NULL");
    let found = outcome(&chain(&sql), &enforced);
    fails(&found, &["c"], "child.parent_id was ");
    assert!(findings_on(&found, "c").iter().any(|f| f.contains(", now NULL")), "{:#?}", found.failed);
}

#[test]
fn a_rebuild_that_forgets_a_column_in_its_copy() {
    let table = |name: &str| format!("CREATE TABLE {name} (id INTEGER PRIMARY KEY, a TEXT, b TEXT);");
    let up = format!(
        "{}\nINSERT INTO t_new (id, a) SELECT id, a FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;",
        table("t_new")
    );
    let down = format!(
        "{}\nINSERT INTO t_new (id, a, b) SELECT id, a, b FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;",
        table("t_new")
    );
    let base = table("t");
    let migrations = [
        m("a", &[], &base, "DROP TABLE t;"),
        M { tag: "b", parents: &["a"], up: &up, down: Some(&down), extra: RULES },
    ];
    let found = outcome(&migrations, &options());
    fails(&found, &["b"], &format!("up of {} loses data: t.b was 'b-0-", id("b")));
    assert!(findings_on(&found, "b").iter().any(|f| f.contains("now NULL")), "{:#?}", found.failed);
}

#[test]
fn a_down_that_recreates_a_table_without_copying() {
    let table =
        |name: &str, check: &str| format!("CREATE TABLE {name} (id INTEGER PRIMARY KEY, a TEXT NOT NULL{check});");
    let up = format!(
        "{}\nINSERT INTO t_new (id, a) SELECT id, a FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;",
        table("t_new", " CHECK (a <> '')")
    );
    let down = format!("{}\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;", table("t_new", ""));
    let base = table("t", "");
    let migrations = [
        m("a", &[], &base, "DROP TABLE t;"),
        M { tag: "b", parents: &["a"], up: &up, down: Some(&down), extra: RULES },
    ];
    let found = outcome(&migrations, &options());
    fails(&found, &["b"], &format!("data: down of {} loses data: a row of t is gone: (id=", id("b")));
    let f = found.failed.iter().find(|f| f.check == "data").unwrap();
    assert_eq!(f.direction, Some(retort::Direction::Down));
}

#[test]
fn a_type_change_that_loses_fractional_values() {
    let table = |name: &str, ty: &str| format!("CREATE TABLE {name} (id INTEGER PRIMARY KEY, price {ty});");
    let rebuild = |ty: &str, value: &str| {
        format!(
            "{}\nINSERT INTO t_new (id, price) SELECT id, {value} FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;",
            table("t_new", ty)
        )
    };
    let (up, down) = (rebuild("INTEGER", "CAST(price AS INTEGER)"), rebuild("REAL", "price"));
    let base = table("t", "REAL");
    let migrations = [
        m("a", &[], &base, "DROP TABLE t;"),
        M { tag: "b", parents: &["a"], up: &up, down: Some(&down), extra: RULES },
    ];
    let found = outcome(&migrations, &options());
    fails(&found, &["b"], &format!("up of {} loses data: t.price was ", id("b")));
    let message = findings_on(&found, "b").join("\n");
    let (was, now) = message.split_once("t.price was ").unwrap().1.split_once(", now ").unwrap();
    let now: String = now.chars().take_while(|c| c.is_ascii_digit()).collect();
    assert!(was.contains(".5") && !now.is_empty(), "{message}");
}

#[test]
fn a_rename_done_as_drop_and_add() {
    let migrations = [
        m("a", &[], "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);", "DROP TABLE t;"),
        M {
            tag: "b",
            parents: &["a"],
            up: "ALTER TABLE t DROP COLUMN a;\nALTER TABLE t ADD COLUMN renamed TEXT;",
            down: Some("ALTER TABLE t DROP COLUMN renamed;\nALTER TABLE t ADD COLUMN a TEXT;"),
            extra: "-- Allow: destructive: a rename, done the long way\n",
        },
    ];
    let found = outcome(&migrations, &options());
    fails(&found, &["b"], &format!("up of {} drops t.a and its values (it held 'a-0-", id("b")));
    assert!(findings_on(&found, "b")[0].contains("`-- Lossy: t.a: <reason>`"), "{:#?}", found.failed);
}

#[test]
fn seed_rows_a_down_leaves_behind() {
    let migrations = [
        m("a", &[], "CREATE TABLE roles (name TEXT PRIMARY KEY);", "DROP TABLE roles;"),
        M {
            tag: "b",
            parents: &["a"],
            up: "INSERT INTO roles (name) VALUES ('admin');",
            down: Some("DELETE FROM roles WHERE name = 'nobody';"),
            extra: "-- Allow: data-change: the role the application needs\n",
        },
    ];
    let found = outcome(&migrations, &options());
    fails(
        &found,
        &["b"],
        &format!(
            "down of {} leaves rows behind in roles: (name='admin'); the down must remove exactly what the up added",
            id("b")
        ),
    );
}

#[test]
fn a_check_that_rejects_the_copied_rows() {
    let table =
        |name: &str, check: &str| format!("CREATE TABLE {name} (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL{check});");
    let rebuild = |check: &str| {
        format!(
            "{}\nINSERT INTO t_new (id, qty) SELECT id, qty FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;",
            table("t_new", check)
        )
    };
    let (up, down) = (rebuild(" CHECK (qty > 100000)"), rebuild(""));
    let base = table("t", "");
    let migrations = [
        m("a", &[], &base, "DROP TABLE t;"),
        M { tag: "b", parents: &["a"], up: &up, down: Some(&down), extra: RULES },
    ];
    let found = outcome(&migrations, &options());
    fails(&found, &["b"], "CHECK constraint failed");
    assert!(
        findings_on(&found, "b")[0].contains("the data round trip had seeded rows into the tables before it"),
        "{:#?}",
        found.failed
    );
    // On empty tables, as a schema-only run sees it, it passes.
    passes(&outcome(&migrations, &Options { seed_rows: 0, ..options() }));
}

#[test]
fn steps_that_keep_every_row_pass_and_say_what_was_covered() {
    let columns = |check: &str| {
        format!("id INTEGER PRIMARY KEY, a TEXT NOT NULL{check}, b REAL, flag INTEGER NOT NULL DEFAULT 0")
    };
    let rebuild = |check: &str| {
        format!(
            "CREATE TABLE t_new ({});\nINSERT INTO t_new (id, a, b, flag) SELECT id, a, b, flag FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;",
            columns(check)
        )
    };
    let exact_up = format!("{}\nCREATE INDEX t_a ON t (a);", rebuild(" CHECK (a <> '')"));
    let exact_down = rebuild("");
    let migrations = [
        m("a", &[], "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b REAL);", "DROP TABLE t;"),
        m("b", &["a"], "ALTER TABLE t ADD COLUMN flag INTEGER NOT NULL DEFAULT 0;", "ALTER TABLE t DROP COLUMN flag;"),
        M { tag: "c", parents: &["b"], up: &exact_up, down: Some(&exact_down), extra: RULES },
        M {
            tag: "d",
            parents: &["c"],
            up: "ALTER TABLE t DROP COLUMN flag;",
            down: Some("ALTER TABLE t ADD COLUMN flag INTEGER NOT NULL DEFAULT 0;"),
            extra: "-- Allow: destructive: flag is unused\n-- Lossy: t.flag: unused; the down brings it back as 0\n",
        },
        m(
            "e",
            &["d"],
            "CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER NOT NULL REFERENCES t(id));",
            "DROP TABLE u;",
        ),
    ];
    let found = outcome(&migrations, &options());
    passes(&found);
    let data = found.data.expect("the data round trip ran");
    assert_eq!((data.tables_seeded, data.rows_seeded, data.not_covered.len()), (2, 6, 0), "{data:?}");
    assert!(data.rows_compared >= 3 * 6, "every step on t compares its three rows after up and down: {data:?}");
    // The same chain without the declaration fails on the drop.
    let mut undeclared = migrations;
    undeclared[3].extra = "-- Allow: destructive: flag is unused\n";
    fails(&outcome(&undeclared, &options()), &["d"], &format!("up of {} drops t.flag and its values", id("d")));
    // Off, nothing is seeded or compared.
    assert_eq!(outcome(&undeclared, &Options { seed_rows: 0, ..options() }).data, None);
}

#[test]
fn seeding_is_deterministic_from_the_seed() {
    let migrations = [m("a", &[], "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);", "SELECT 1;")];
    // The down leaves the table and its rows: the finding quotes a seeded row.
    let message = |seed| {
        let found = outcome(&migrations, &Options { seed: Some(seed), ..options() });
        found.failed.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(message(5), message(5));
}

#[test]
fn populated_rows_must_survive_a_down_and_up_of_the_last_revision() {
    let script = |requires: &str| {
        let text = format!(
            "-- Roles\n--\n-- Requires: {}\n\nINSERT INTO roles (name) SELECT 'admin' WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = 'admin');\n",
            id(requires)
        );
        retort_build::populate::parse_script(std::path::Path::new("migrations/populate/001_roles.sql"), text.as_bytes())
            .unwrap()
    };
    let table = |name: &str, extra: &str| format!("CREATE TABLE {name} (name TEXT PRIMARY KEY{extra});");
    // The down of b rebuilds roles empty: the populated row is lost.
    let up = format!(
        "{}\nINSERT INTO roles_new (name) SELECT name FROM roles;\nDROP TABLE roles;\nALTER TABLE roles_new RENAME TO roles;",
        table("roles_new", ", CHECK (name <> '')")
    );
    let bad_down = format!("{}\nDROP TABLE roles;\nALTER TABLE roles_new RENAME TO roles;", table("roles_new", ""));
    let base = table("roles", "");
    let migrations = [
        m("a", &[], &base, "DROP TABLE roles;"),
        M { tag: "b", parents: &["a"], up: &up, down: Some(&bad_down), extra: RULES },
    ];
    // (The round trip blames b's down for its seeded rows too; here only the populate check counts.)
    let only_populate = Options { populate: vec![script("a")], ..options() };
    let found = outcome(&migrations, &only_populate);
    let populate: Vec<&retort::harness::Finding> =
        found.failed.iter().filter(|f| f.check.starts_with("populate")).collect();
    assert_eq!(populate.len(), 1, "{:#?}", found.failed);
    assert!(
        populate[0].message.contains(&format!("do not survive a downgrade and upgrade of {}", id("b"))),
        "{}",
        populate[0]
    );
    assert!(populate[0].diff.as_deref().unwrap_or_default().contains("- roles ('admin')"), "{}", populate[0]);
    // Declared lossy, it passes; so does the schema-only run, which does not check rows.
    let lossy = M {
        extra: "-- Allow: data-change: copy\n-- Allow: destructive: rebuild\n-- Lossy: roles: the down starts over\n",
        ..M { tag: "b", parents: &["a"], up: &up, down: Some(&bad_down), extra: "" }
    };
    let found = outcome(&[m("a", &[], &base, "DROP TABLE roles;"), lossy], &only_populate);
    assert!(found.failed.iter().all(|f| !f.check.starts_with("populate")), "{:#?}", found.failed);
    let found = outcome(&migrations, &Options { seed_rows: 0, ..only_populate });
    assert!(found.failed.is_empty(), "{:#?}", found.failed);
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    /// A column: name, declared type, NOT NULL, UNIQUE, a default, a CHECK.
    fn column(i: usize) -> impl Strategy<Value = String> {
        let ty = prop::sample::select(vec![
            "INTEGER",
            "TEXT",
            "REAL",
            "BLOB",
            "NUMERIC",
            "BOOLEAN",
            "DATETIME",
            "VARCHAR(20)",
            "",
        ]);
        (ty, any::<bool>(), any::<bool>(), any::<bool>(), 0..4usize).prop_map(
            move |(ty, not_null, unique, default, check)| {
                let name = format!("c{i}");
                let mut def = format!("{name} {ty}");
                if not_null {
                    def.push_str(" NOT NULL");
                }
                if unique {
                    def.push_str(" UNIQUE");
                }
                if default {
                    def.push_str(if ty == "TEXT" { " DEFAULT 'd'" } else { " DEFAULT 0" });
                }
                match check {
                    1 => def.push_str(&format!(" CHECK ({name} IS NULL OR length({name}) > 0)")),
                    2 if ty == "TEXT" => def.push_str(&format!(" CHECK ({name} IN ('draft', 'live', 'gone'))")),
                    2 if ty == "INTEGER" => def.push_str(&format!(" CHECK ({name} BETWEEN 0 AND 50)")),
                    _ => {}
                }
                def
            },
        )
    }

    fn table() -> impl Strategy<Value = Vec<String>> {
        (1..6usize).prop_flat_map(|n| (0..n).map(column).collect::<Vec<_>>())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// An exact rebuild of any table keeps every seeded row; one that forgets a column
        /// in its copy is found on its up whenever the table was seeded.
        #[test]
        fn exact_rebuilds_pass_and_forgetful_ones_are_found(columns in table(), forget in any::<prop::sample::Index>()) {
            let names: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
            let body = format!("id INTEGER PRIMARY KEY, {}", columns.join(", "));
            let create = format!("CREATE TABLE t ({body});");
            let rebuild = |copied: &[String]| {
                let list = std::iter::once("id".to_string()).chain(copied.iter().cloned()).collect::<Vec<_>>().join(", ");
                format!("CREATE TABLE t_new ({body});\nINSERT INTO t_new ({list}) SELECT {list} FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;")
            };
            let exact = rebuild(&names);
            let migrations = [m("a", &[], &create, "DROP TABLE t;"), M { tag: "b", parents: &["a"], up: &exact, down: Some(&exact), extra: RULES }];
            let found = outcome(&migrations, &options());
            prop_assert!(found.failed.is_empty(), "{:#?}", found.failed);
            let data = found.data.unwrap();
            // A table that cannot be seeded is reported, never failed.
            prop_assert_eq!(data.tables_seeded + data.not_covered.len(), 1);

            // Forget a column that can be left out (nullable, or with a default).
            let at = forget.index(columns.len());
            let omittable = !columns[at].contains("NOT NULL") || columns[at].contains("DEFAULT");
            let kept: Vec<String> = names.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, n)| n.clone()).collect();
            let forgetful = rebuild(&kept);
            let migrations = [m("a", &[], &create, "DROP TABLE t;"), M { tag: "b", parents: &["a"], up: &forgetful, down: Some(&exact), extra: RULES }];
            let found = outcome(&migrations, &options());
            if data.tables_seeded == 1 && omittable {
                let up: Vec<&retort::harness::Finding> = found.failed.iter().filter(|f| f.revision == Some(id("b"))).collect();
                prop_assert!(!up.is_empty(), "the forgotten column {} went unnoticed", names[at]);
                prop_assert!(
                    up.iter().any(|f| f.message.contains(&format!("t.{}", names[at])) || f.message.contains("constraint failed")),
                    "{:#?}", up
                );
            }
        }
    }
}
