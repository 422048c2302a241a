//! `retort::autogen`: each kind of change generated, its SQL reviewed (insta), proven both ways
//! by the generator and then run through the harness's round trip as a real migration; what
//! cannot be generated exactly is refused, naming the object; and a proptest over pairs of
//! generated schemas.

use proptest::prelude::*;
use retort::autogen::{Catalog, Failure, Generated, Rename, generate};
use retort::harness::{Options, Outcome, run};
use retort_build::template::PLACEHOLDER_REASON;
use retort_build::testing::id;
use retort_build::{Migration, MigrationSet, SourceFile};

fn catalog(sql: &str) -> Catalog {
    Catalog::load(sql).unwrap_or_else(|p| panic!("line {}: {}\n{sql}", p.line, p.message))
}

fn generated(from: &str, to: &str, renames: &[&str]) -> Result<Generated, Failure> {
    let renames: Vec<Rename> = renames.iter().map(|r| Rename::parse(r).unwrap()).collect();
    generate(&catalog(from), &catalog(to), &renames)
}

/// The migration `tag` on `parent` holding `g`, its header filled as `revision --autogenerate`
/// fills it, with a reason in place of the placeholder.
fn migration(tag: &str, parent: Option<&str>, g: &Generated) -> SourceFile {
    let mut m = Migration::new(
        id(tag),
        &format!("Generated {tag}"),
        parent.map(id).into_iter().collect(),
        "2026-01-01T00:00:00Z",
    )
    .with_sql(&g.up, Some(&g.down));
    g.fill_header(&mut m);
    let text = retort_build::migration::render(&m).replace(PLACEHOLDER_REASON, "the test drops it on purpose");
    SourceFile { display: format!("migrations/{}", m.file.display()).into(), bytes: text.into_bytes() }
}

/// The round trip of two migrations: empty → `from` (itself generated), `from` → `to`.
fn round_trip(from: &str, g: &Generated, seed_rows: usize) -> Outcome {
    let base = generated("", from, &[]).unwrap_or_else(|e| panic!("{e}"));
    let files = if base.is_empty() {
        vec![migration("b", None, g)]
    } else {
        vec![migration("a", None, &base), migration("b", Some("a"), g)]
    };
    let set = MigrationSet::from_files(&files).unwrap_or_else(|e| panic!("{e}"));
    let options = Options { walks: 0, seed: Some(7), seed_rows, ..Options::default() };
    run(&set, &options, &mut |_| {}).unwrap()
}

/// A case: generated, snapshotted, and passing the round trip with the data round trip on.
fn case(name: &str, from: &str, to: &str, renames: &[&str]) -> Generated {
    let g = generated(from, to, renames).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!g.is_empty(), "{name}: nothing generated");
    let outcome = round_trip(from, &g, 3);
    assert!(outcome.failed.is_empty(), "{name}:\n{}\n{:#?}", g.up, outcome.failed);
    insta::assert_snapshot!(name, format!("-- up\n{}\n-- down\n{}", g.up, g.down));
    g
}

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);";

#[test]
fn create_and_drop_table() {
    let g = case(
        "create_table",
        USERS,
        &format!("{USERS}\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT UNIQUE);"),
        &[],
    );
    assert_eq!(g.changes, [("tags".to_string(), "create table".to_string())]);
    let g =
        case("drop_table", &format!("{USERS}\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);"), USERS, &[]);
    assert_eq!(g.dropped, [("tags".to_string(), None)]);
}

#[test]
fn add_drop_and_rename_column_use_alter_table() {
    let g = case(
        "add_column",
        USERS,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, bio TEXT DEFAULT '');",
        &[],
    );
    assert!(g.up.contains("ADD COLUMN bio TEXT DEFAULT ''") && g.rebuilt.is_empty(), "{}", g.up);
    let g = case("drop_column", USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);", &[]);
    assert_eq!(g.dropped, [("users".to_string(), Some("name".to_string()))]);
    let g = case(
        "rename_column",
        USERS,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, full_name TEXT);",
        &["users.name=full_name"],
    );
    assert!(g.up.contains("RENAME COLUMN \"name\" TO \"full_name\"") && g.dropped.is_empty(), "{}", g.up);
    let g = case(
        "rename_table",
        USERS,
        "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);",
        &["users=people"],
    );
    assert!(g.dropped.is_empty() && g.maybe_renames.is_empty(), "{g:?}");
}

#[test]
fn a_drop_and_an_add_are_never_guessed_to_be_a_rename() {
    let g = generated(USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, full_name TEXT);", &[])
        .unwrap();
    assert_eq!(g.dropped, [("users".to_string(), Some("name".to_string()))]);
    assert!(g.maybe_renames[0].contains("--rename users.name=full_name"), "{:?}", g.maybe_renames);
    let g =
        generated(USERS, "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);", &[]).unwrap();
    assert!(g.maybe_renames[0].contains("users dropped and people created"), "{:?}", g.maybe_renames);
}

#[test]
fn other_table_changes_use_the_rebuild_procedure() {
    let g =
        case("type_change", USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name BLOB);", &[]);
    assert_eq!(g.rebuilt, ["users"]);
    let g = case(
        "not_null_with_default",
        USERS,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL DEFAULT 'anon');",
        &[],
    );
    assert!(g.up.contains("coalesce(\"name\", 'anon')"), "{}", g.up);
    case(
        "check_added",
        USERS,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL CHECK (length(email) < 1000), name TEXT);",
        &[],
    );
    // UNIQUE lives in an index SQLite makes for the table: still the table's definition.
    let g = case(
        "unique_added",
        USERS,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT UNIQUE);",
        &[],
    );
    assert_eq!(g.rebuilt, ["users"]);
    case("column_moved", USERS, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT NOT NULL);", &[]);
    // A key added over rows that point nowhere: the seeded posts' `user_id`s match no user, so
    // the data round trip rightly fails the up; on empty tables the pair is exact.
    let (from, to) = (
        format!("{USERS}\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER);"),
        format!(
            "{USERS}\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE);"
        ),
    );
    let g = generated(&from, &to, &[]).unwrap();
    let seeded = round_trip(&from, &g, 3);
    assert!(
        seeded.failed.iter().any(|f| f.message.contains("leaves foreign key violations: posts row")),
        "{:#?}",
        seeded.failed
    );
    let empty = round_trip(&from, &g, 0);
    assert!(empty.failed.is_empty(), "{:#?}", empty.failed);
    insta::assert_snapshot!("foreign_key_added", format!("-- up\n{}\n-- down\n{}", g.up, g.down));
}

#[test]
fn indexes_views_and_triggers() {
    let base = format!("{USERS}\nCREATE INDEX users_name ON users (name);");
    case("index_changed", &base, &format!("{USERS}\nCREATE INDEX users_name ON users (name, email);"), &[]);
    case("expression_index", USERS, &format!("{USERS}\nCREATE UNIQUE INDEX users_email ON users (lower(email));"), &[]);
    case(
        "partial_index",
        USERS,
        &format!("{USERS}\nCREATE INDEX users_named ON users (name) WHERE name IS NOT NULL;"),
        &[],
    );
    case(
        "view_added",
        USERS,
        &format!("{USERS}\nCREATE VIEW named AS SELECT id, name FROM users WHERE name IS NOT NULL;"),
        &[],
    );
    let trigger = "CREATE TABLE log (id INTEGER PRIMARY KEY, what TEXT);\nCREATE TRIGGER users_log AFTER INSERT ON users BEGIN INSERT INTO log (what) VALUES (NEW.email); END;";
    case("trigger_added", USERS, &format!("{USERS}\n{trigger}"), &[]);
}

/// The rebuild of a table other tables' foreign keys point at, that a view reads and a trigger
/// watches: the view and trigger go first and come back; children keep their keys.
#[test]
fn a_rebuild_under_foreign_keys_views_and_triggers() {
    let rest = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT);
CREATE INDEX posts_user ON posts (user_id);
CREATE VIEW post_authors AS SELECT p.title, u.email FROM posts p JOIN users u ON u.id = p.user_id;
CREATE VIEW authors AS SELECT DISTINCT email FROM post_authors;
CREATE TRIGGER users_gone AFTER DELETE ON users BEGIN DELETE FROM posts WHERE user_id = OLD.id; END;
CREATE INDEX users_email ON users (email);";
    let from = format!("{USERS}\n{rest}");
    let to = format!(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '');\n{rest}"
    );
    let g = case("rebuild_under_dependents", &from, &to, &[]);
    assert_eq!(g.rebuilt, ["users"]);
    for recreated in [
        "DROP VIEW \"post_authors\"",
        "DROP VIEW \"authors\"",
        "DROP TRIGGER \"users_gone\"",
        "CREATE INDEX users_email",
    ] {
        assert!(g.up.contains(recreated), "{recreated} missing:\n{}", g.up);
    }
    assert!(!g.up.contains("posts_user"), "the children's own index is untouched:\n{}", g.up);
}

#[test]
fn what_cannot_be_generated_exactly_is_refused_naming_it() {
    let Err(Failure::NotExact(reasons)) = generated(
        USERS,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, born TEXT NOT NULL);",
        &[],
    ) else {
        panic!("a new NOT NULL column without a default was generated")
    };
    assert!(reasons[0].contains("`users.born` NOT NULL and no default"), "{reasons:?}");
    let Err(Failure::NotExact(reasons)) = generated(
        "CREATE VIRTUAL TABLE docs USING fts5(body);",
        "CREATE VIRTUAL TABLE docs USING fts5(body, title);",
        &[],
    ) else {
        panic!("a virtual table change was generated")
    };
    assert!(reasons[0].contains("virtual table `docs`"), "{reasons:?}");
    let Err(Failure::Rename(message)) = generated(USERS, USERS, &["users.nope=name2"]) else {
        panic!("bad hint accepted")
    };
    assert!(message.contains("users.nope"), "{message}");
    assert!(Rename::parse("a.b.c").is_err() && Rename::parse("x").is_err() && Rename::parse("=y").is_err());
}

#[test]
fn equal_schemas_generate_nothing_and_a_bad_file_names_its_line() {
    assert!(generated(USERS, &format!("-- the same\n{}", USERS.to_lowercase()), &[]).unwrap().is_empty());
    let problem = Catalog::load("CREATE TABLE a (x);\n\nINSERT INTO a VALUES (1);").unwrap_err();
    assert_eq!(problem.line, 3);
    assert!(problem.message.contains("not a CREATE"), "{}", problem.message);
    let problem = Catalog::load("CREATE TABLE a (x);\nCREATE INDEX i ON missing (x);").unwrap_err();
    assert_eq!((problem.line, problem.message.as_str()), (2, "no such table: main.missing"));
}

#[test]
fn the_canonical_text_loads_back_to_the_same_schema() {
    let sql = "create table \"A b\" (id integer primary key, -- a comment\n  x text default 'a;b' check (x <> ''),\n  y real) strict;
create index i on \"A b\" (x) where y > 0;
create view v as select x from \"A b\";
create trigger t after update on \"A b\" begin update \"A b\" set y = 1 where id = new.id; select case when new.x = 'a' then 1 else 0 end; end;";
    let first = catalog(sql);
    let text = first.to_sql();
    insta::assert_snapshot!("canonical_text", text);
    assert_eq!(catalog(&text).schema(), first.schema());
}

// --- proptest: pairs of schemas -------------------------------------------------------------

#[derive(Clone, Debug)]
struct Col {
    name: &'static str,
    ty: &'static str,
    /// 0 nothing, 1 NOT NULL with a default, 2 a default, 3 UNIQUE, 4 a CHECK.
    option: u8,
}

#[derive(Clone, Debug)]
struct Table {
    name: &'static str,
    cols: Vec<Col>,
    /// References t0's id (for tables other than t0).
    fk: bool,
    /// 0 none, 1 plain, 2 expression, 3 partial.
    index: u8,
    trigger: bool,
}

fn col() -> impl Strategy<Value = Col> {
    (
        prop::sample::select(vec!["a", "b", "c", "d"]),
        prop::sample::select(vec!["INTEGER", "TEXT", "REAL", "BLOB", "NUMERIC"]),
        0u8..5,
    )
        .prop_map(|(name, ty, option)| Col { name, ty, option })
}

fn table(name: &'static str) -> impl Strategy<Value = Table> {
    (prop::collection::vec(col(), 0..4), any::<bool>(), 0u8..4, any::<bool>()).prop_map(
        move |(mut cols, fk, index, trigger)| {
            let mut seen = Vec::new();
            cols.retain(|c| {
                if seen.contains(&c.name) {
                    false
                } else {
                    seen.push(c.name);
                    true
                }
            });
            Table { name, cols, fk: fk && name != "t0", index, trigger }
        },
    )
}

fn schema() -> impl Strategy<Value = (Vec<Table>, bool)> {
    let tables = (prop::option::of(table("t0")), prop::option::of(table("t1")), prop::option::of(table("t2")))
        .prop_map(|(a, b, c)| [a, b, c].into_iter().flatten().collect::<Vec<_>>());
    (tables, any::<bool>())
}

fn sql((tables, view): &(Vec<Table>, bool)) -> String {
    let has_t0 = tables.iter().any(|t| t.name == "t0");
    let mut out = String::new();
    for t in tables {
        let mut defs = vec!["id INTEGER PRIMARY KEY".to_string()];
        for c in &t.cols {
            let default = match c.ty {
                "TEXT" | "BLOB" => "'x'",
                _ => "0",
            };
            defs.push(match c.option {
                1 => format!("{} {} NOT NULL DEFAULT {default}", c.name, c.ty),
                2 => format!("{} {} DEFAULT {default}", c.name, c.ty),
                3 => format!("{} {} UNIQUE", c.name, c.ty),
                4 => format!("{} {} CHECK ({} IS NOT NULL OR id > 0)", c.name, c.ty, c.name),
                _ => format!("{} {}", c.name, c.ty),
            });
        }
        if t.fk && has_t0 {
            defs.push("parent INTEGER REFERENCES t0(id)".to_string());
        }
        out.push_str(&format!("CREATE TABLE {} ({});\n", t.name, defs.join(", ")));
        if let Some(c) = t.cols.first() {
            match t.index {
                1 => out.push_str(&format!("CREATE INDEX {0}_i ON {0} ({1});\n", t.name, c.name)),
                2 => out.push_str(&format!("CREATE INDEX {0}_i ON {0} (({1} || ''));\n", t.name, c.name)),
                3 => out.push_str(&format!("CREATE INDEX {0}_i ON {0} ({1}) WHERE {1} IS NOT NULL;\n", t.name, c.name)),
                _ => {}
            }
        }
        if t.trigger {
            out.push_str(&format!("CREATE TRIGGER {0}_tr AFTER INSERT ON {0} BEGIN SELECT NEW.id; END;\n", t.name));
        }
    }
    if *view && let Some(t) = tables.first() {
        out.push_str(&format!("CREATE VIEW v AS SELECT id FROM {};\n", t.name));
    }
    out
}

/// autogenerate(A → B) applied to A gives B exactly, its down gives A exactly (both proven
/// inside `generate`, checked again here), and the pair passes the harness's round trip. The
/// seed is printed (replay with `RETORT_AUTOGEN_SEED=N`); a failure is shrunk to a minimal pair.
#[test]
fn generated_pairs_give_each_schema_exactly_and_pass_the_round_trip() {
    use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
    let seed: u64 = std::env::var("RETORT_AUTOGEN_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    eprintln!("autogen proptest seed {seed} (replay with RETORT_AUTOGEN_SEED={seed})");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases: 48, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let result = runner.run(&(schema(), schema()), |(a, b)| {
        let (from, to) = (sql(&a), sql(&b));
        let g = generated(&from, &to, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (a_schema, b_schema) = (catalog(&from), catalog(&to));
        let db = a_schema.build().unwrap();
        db.execute_batch(&g.up).unwrap();
        prop_assert_eq!(&retort::Schema::read(&db).unwrap(), b_schema.schema());
        db.execute_batch(&g.down).unwrap();
        prop_assert_eq!(&retort::Schema::read(&db).unwrap(), a_schema.schema());
        if !g.is_empty() {
            let outcome = round_trip(&from, &g, 0);
            prop_assert!(outcome.failed.is_empty(), "up:\n{}\n{:#?}", g.up, outcome.failed);
        }
        Ok(())
    });
    if let Err(e) = result {
        match e {
            TestError::Fail(reason, (a, b)) => {
                panic!("seed {seed}: {reason}\nminimal pair, from:\n{}\nto:\n{}", sql(&a), sql(&b))
            }
            TestError::Abort(reason) => panic!("seed {seed}: {reason}"),
        }
    }
}
