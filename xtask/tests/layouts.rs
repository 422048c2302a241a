//! Foreign layouts end to end: a fixture directory per tool (six migrations with a table
//! rebuild, an index, a view and a trigger, a bad down, a migration outside a transaction where
//! the tool has one, and versions that sort one way as text and another as numbers), proved as
//! it is with `--layout`, left byte-for-byte unchanged, and imported into Retort's layout with
//! the same verdicts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The six migrations, in the order the tool must run them: (name, up, down, outside a
/// transaction). `posts_index` needs `posts` first: run in the other sort order, it fails.
const CHAIN: [(&str, &str, &str, bool); 6] = [
    ("users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);", "DROP TABLE users;", false),
    (
        "posts",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);",
        "DROP TABLE posts;",
        false,
    ),
    ("posts_index", "CREATE INDEX posts_user ON posts(user_id);", "DROP INDEX posts_user;", false),
    (
        "users_check",
        "CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''));\nINSERT INTO users_new (id, name) SELECT id, name FROM users;\nDROP TABLE users;\nALTER TABLE users_new RENAME TO users;",
        "CREATE TABLE users_old (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO users_old (id, name) SELECT id, name FROM users;\nDROP TABLE users;\nALTER TABLE users_old RENAME TO users;",
        false,
    ),
    // The bad down: a typo drops nothing.
    (
        "user_posts",
        "CREATE VIEW user_posts AS SELECT u.name, p.title FROM users u JOIN posts p ON p.user_id = u.id;",
        "DROP VIEW IF EXISTS user_post;",
        false,
    ),
    (
        "posts_title",
        "BEGIN;\nCREATE TRIGGER posts_title AFTER INSERT ON posts BEGIN UPDATE posts SET title = trim(title) WHERE id = new.id; END;\nCOMMIT;",
        "BEGIN;\nDROP TRIGGER posts_title;\nCOMMIT;",
        true,
    ),
];

/// Versions for tools that sort as numbers: as text, 10 would run before 9.
const NUMERIC: [u32; 6] = [1, 9, 10, 11, 12, 13];
/// Versions for tools that sort as text (diesel's versions, dbmate's file names): as numbers,
/// 3 would run before 20. (`10_` would sort before `1_` as a dbmate file name.)
const TEXTUAL: [u32; 6] = [1, 20, 3, 4, 5, 6];

/// Writes the chain in `layout` under `dir`.
fn write_fixture(layout: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let w = |name: String, text: String| std::fs::write(dir.join(name), text).unwrap();
    for (i, &(name, up, down, no_tx)) in CHAIN.iter().enumerate() {
        // A tool without a per-file way out of the transaction gets the statement alone.
        let bare = |sql: &str| sql.replace("BEGIN;\n", "").replace("\nCOMMIT;", "");
        match layout {
            "diesel" => {
                let sub = dir.join(format!("{}_{name}", TEXTUAL[i]));
                std::fs::create_dir_all(&sub).unwrap();
                std::fs::write(sub.join("up.sql"), format!("{up}\n")).unwrap();
                std::fs::write(sub.join("down.sql"), format!("{down}\n")).unwrap();
                if no_tx {
                    std::fs::write(sub.join("metadata.toml"), "run_in_transaction = false\n").unwrap();
                }
            }
            "sqlx" => {
                let marker = if no_tx { "-- no-transaction\n" } else { "" };
                w(format!("{}_{name}.up.sql", NUMERIC[i]), format!("{marker}{up}\n"));
                w(format!("{}_{name}.down.sql", NUMERIC[i]), format!("{marker}{down}\n"));
            }
            "golang-migrate" => {
                w(format!("{}_{name}.up.sql", NUMERIC[i]), format!("{}\n", bare(up)));
                w(format!("{}_{name}.down.sql", NUMERIC[i]), format!("{}\n", bare(down)));
            }
            "dbmate" => {
                let option = if no_tx { " transaction:false" } else { "" };
                w(
                    format!("{}_{name}.sql", TEXTUAL[i]),
                    format!("-- migrate:up{option}\n{up}\n\n-- migrate:down{option}\n{down}\n"),
                );
            }
            "refinery" => w(format!("V{}__{name}.sql", NUMERIC[i]), format!("{}\n", bare(up))),
            other => panic!("no fixture for {other}"),
        }
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn retort(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-retort"))
        .current_dir(cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// The revision ids of the FAILED lines of a migrate-test run, and its tally line.
fn verdicts(run: &Run) -> (Vec<String>, String) {
    let failed = run
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("FAILED "))
        .map(|rest| rest.split_whitespace().next().unwrap_or_default().trim_end_matches(':').to_string())
        .collect();
    (failed, run.stdout.lines().last().unwrap_or_default().to_string())
}

fn messages_in_order(run: &Run) -> Vec<String> {
    // `history` lists newest first: `<parents> -> <rev> (head), <message> [<origin>: <file>]`.
    let mut names: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| l.split_once(", ").map(|(_, rest)| rest.split(" [").next().unwrap_or_default().to_string()))
        .collect();
    names.reverse();
    names
}

fn prove(layout: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("migrations");
    write_fixture(layout, &src);
    let before = tree(&src);

    // The tool's order: the chain's, not the other sort's.
    let history = retort(tmp.path(), &["--migrations", "migrations", "--layout", layout, "history"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    let expected: Vec<String> = CHAIN.iter().map(|c| c.0.replace('_', " ")).collect();
    assert_eq!(messages_in_order(&history), expected, "{layout}: {}", history.stdout);

    // Detection finds it, except where two tools name files alike.
    let auto = retort(tmp.path(), &["--migrations", "migrations", "--layout", "auto", "heads"]);
    if matches!(layout, "sqlx" | "golang-migrate") {
        assert_eq!(auto.code, 2, "{}", auto.stderr);
        assert!(auto.stderr.contains("fit several layouts alike (sqlx, golang-migrate)"), "{}", auto.stderr);
    } else {
        assert_eq!(auto.code, 0, "{}", auto.stderr);
        assert!(auto.stderr.contains(&format!("Layout {layout} (")), "{}", auto.stderr);
    }

    // sqlx enforces foreign keys while migrating: the rebuild's DROP TABLE of `users` fails on
    // the seeded `posts` rows that reference it, as it would in the application's database.
    let mut args = vec!["--migrations", "migrations", "--layout", layout, "migrate-test"];
    let enforced = (layout == "sqlx").then(|| {
        let enforced = retort(tmp.path(), &args);
        let rebuild = retort_build::layout::revision_of(&version_of(layout, 3)).to_string();
        assert!(verdicts(&enforced).0.contains(&rebuild), "{}", enforced.stderr);
        let at = format!("FOREIGN KEY constraint failed at migrations/{}_users_check.up.sql:3", version_of(layout, 3));
        assert!(enforced.stderr.contains(&at), "{}", enforced.stderr);
        args.extend(["--foreign-keys", "off"]);
        enforced
    });
    let direct = retort(tmp.path(), &args);
    assert_eq!(tree(&src), before, "{layout}: migrate-test changed the directory");
    let (failed, tally) = verdicts(&direct);
    let view = retort_build::layout::revision_of(&version_of(layout, 4)).to_string();
    if layout == "refinery" {
        // No downs: every migration is irreversible, and the up side still proved.
        assert_eq!(direct.code, 1, "{}", direct.stderr);
        assert!(direct.stderr.contains("refinery has no downs"), "{}", direct.stderr);
    } else {
        assert_eq!(direct.code, 1, "{}\n{}", direct.stdout, direct.stderr);
        assert!(failed.contains(&view), "{layout}: the bad down of the view is found: {}", direct.stderr);
        // The report names the tool's version and the down's file.
        let down_file = match layout {
            "diesel" => format!("migrations/{}_user_posts/down.sql", version_of(layout, 4)),
            "dbmate" => format!("migrations/{}_user_posts.sql", version_of(layout, 4)),
            _ => format!("migrations/{}_user_posts.down.sql", version_of(layout, 4)),
        };
        assert!(
            direct.stderr.contains(&format!("{layout} version {}: {down_file}", version_of(layout, 4))),
            "{}",
            direct.stderr
        );
        assert!(direct.stderr.contains("down restores the schema"), "{}", direct.stderr);
    }
    // The trigger's explicit BEGIN/COMMIT passes only outside a transaction: read right, it passes.
    let trigger = retort_build::layout::revision_of(&version_of(layout, 5)).to_string();
    assert!(!failed.contains(&trigger), "{layout}: the no-transaction migration failed: {}", direct.stderr);

    // Import gives the same verdicts, and SRC stays as it was.
    let dest = tmp.path().join("imported");
    let imported = retort(tmp.path(), &["import", "--from", layout, "migrations", "imported"]);
    assert_eq!(tree(&src), before, "{layout}: import changed SRC");
    assert!(dest.join("retort.lock").is_file(), "{}", imported.stderr);
    // Imported, it is proved as the tool runs it: with foreign keys enforced for sqlx.
    let (failed, tally) = enforced.as_ref().map_or((failed, tally), verdicts);
    assert_eq!(verdicts(&imported), (failed, tally), "{layout}:\n{}\n---\n{}", direct.stderr, imported.stderr);
    let rerun = retort(tmp.path(), &["--migrations", "imported", "migrate-test"]);
    assert_eq!(verdicts(&rerun).1, verdicts(&direct).1, "{}", rerun.stderr);
}

fn version_of(layout: &str, index: usize) -> String {
    match layout {
        "diesel" | "dbmate" => TEXTUAL[index].to_string(),
        _ => NUMERIC[index].to_string(),
    }
}

#[test]
fn diesel() {
    prove("diesel");
}

#[test]
fn sqlx() {
    prove("sqlx");
}

#[test]
fn golang_migrate() {
    prove("golang-migrate");
}

#[test]
fn dbmate() {
    prove("dbmate");
}

#[test]
fn refinery() {
    prove("refinery");
}

#[test]
fn bad_foreign_directories_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    write_fixture("sqlx", &dir);

    // Commands that write into the directory refuse another tool's layout.
    for args in [&["lock"][..], &["revision", "-m", "x"]] {
        let mut full = vec!["--migrations", "migrations", "--layout", "sqlx"];
        full.extend_from_slice(args);
        let run = retort(tmp.path(), &full);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("in sqlx's layout, which Retort reads but never writes"), "{}", run.stderr);
    }

    // A version sqlx cannot parse is an error naming the file, as sqlx refuses it.
    std::fs::write(dir.join("x1_extra.sql"), "SELECT 1;\n").unwrap();
    let run = retort(tmp.path(), &["--migrations", "migrations", "--layout", "sqlx", "history"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("`x1` is not an integer version: sqlx refuses the directory"), "{}", run.stderr);
    assert!(run.stderr.contains("migrations/x1_extra.sql"), "{}", run.stderr);

    // A mixed directory: detection says which entries fit which layout.
    std::fs::remove_file(dir.join("x1_extra.sql")).unwrap();
    std::fs::write(dir.join("V1__refinery.sql"), "SELECT 1;\n").unwrap();
    let run = retort(tmp.path(), &["--migrations", "migrations", "--layout", "auto", "heads"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no one layout fits every entry"), "{}", run.stderr);
    assert!(run.stderr.contains("1 of 13 entries fit refinery (V1__refinery.sql)"), "{}", run.stderr);

    // import never writes into a directory that holds files, nor inside SRC.
    let run = retort(tmp.path(), &["import", "--from", "sqlx", "migrations", "migrations"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is inside SRC"), "{}", run.stderr);
    std::fs::create_dir(tmp.path().join("full")).unwrap();
    std::fs::write(tmp.path().join("full/keep.txt"), "x").unwrap();
    let run = retort(tmp.path(), &["import", "--from", "sqlx", "migrations", "full"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("full is not empty"), "{}", run.stderr);
    assert_eq!(std::fs::read(tmp.path().join("full/keep.txt")).unwrap(), b"x");
}

#[test]
fn a_dbmate_file_without_a_down_block_is_refused_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("1_a.sql"), "-- migrate:up\nCREATE TABLE a (x);\n").unwrap();
    let run = retort(tmp.path(), &["--migrations", "db", "--layout", "dbmate", "migrate-test"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("no `-- migrate:down` block: dbmate refuses the file"), "{}", run.stderr);
    assert!(run.stderr.contains("db/1_a.sql:3"), "{}", run.stderr);
}

#[test]
fn a_lock_kept_outside_a_foreign_directory_pins_and_finds_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    write_fixture("golang-migrate", &dir);
    let before = tree(&dir);
    let args = ["--migrations", "migrations", "--layout", "golang-migrate", "migrate-test", "--lock", "gm.lock"];
    let first = retort(tmp.path(), &args);
    assert!(first.stderr.contains("Passed lock: 6 migrations pinned in gm.lock"), "{}", first.stderr);
    assert!(tmp.path().join("gm.lock").is_file());
    assert_eq!(tree(&dir), before, "the lock is kept outside the directory");
    let again = retort(tmp.path(), &args);
    assert!(again.stderr.contains("Passed lock: ok"), "{}", again.stderr);
    // An applied migration edited in place: the lock names it and says how to re-pin.
    let index = dir.join(format!("{}_posts_index.up.sql", NUMERIC[2]));
    std::fs::write(&index, "CREATE INDEX posts_user ON posts(user_id, title);\n").unwrap();
    let drifted = retort(tmp.path(), &args);
    assert_eq!(drifted.code, 1, "{}", drifted.stderr);
    let rev = retort_build::layout::revision_of(&NUMERIC[2].to_string()).to_string();
    assert!(drifted.stderr.contains(&rev), "{}", drifted.stderr);
    assert!(drifted.stderr.contains("FAILED lock: 1 problem(s) above"), "{}", drifted.stderr);
    assert!(
        drifted.stderr.contains("gm.lock pinned these migrations; if the change is intended, delete it and run `cargo retort --migrations migrations --layout golang-migrate migrate-test --lock gm.lock`"),
        "{}",
        drifted.stderr
    );
    // Never inside the directory, and not for Retort's own layout.
    let inside = retort(
        tmp.path(),
        &["--migrations", "migrations", "--layout", "sqlx", "migrate-test", "--lock", "migrations/x.lock"],
    );
    assert_eq!(inside.code, 2, "{}", inside.stderr);
    assert!(inside.stderr.contains("is inside migrations, which Retort only reads"), "{}", inside.stderr);
    assert!(!dir.join("x.lock").exists());
    std::fs::create_dir(tmp.path().join("own")).unwrap();
    let own = retort(tmp.path(), &["--migrations", "own", "migrate-test", "--lock", "own.lock"]);
    assert_eq!(own.code, 2, "{}", own.stderr);
    assert!(own.stderr.contains("Retort's own layout keeps its lock in own/retort.lock"), "{}", own.stderr);
}
