//! The CLI in someone else's project: found from any directory of it, configured by its
//! `metadata.retort` table, the database from `--db`, `RETORT_DATABASE`, `DATABASE_URL` or the
//! configuration, and every hint naming the command the project runs and paths from where the
//! user stands.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Fixture, write};

/// Runs the built binary with exactly `args` (no `--migrations`) from `cwd`, with `env` set and
/// the database variables cleared otherwise.
fn cli(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-retort"));
    cmd.args(args).current_dir(cwd).env("NO_COLOR", "1").env_remove("RETORT_DATABASE").env_remove("DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

const CHAIN: &[Fixture] = &[
    ("a", &[], "", "CREATE TABLE t (id INTEGER PRIMARY KEY);", "DROP TABLE t;"),
    ("b", &["a"], "", "CREATE TABLE u (id INTEGER PRIMARY KEY);", "DROP TABLE u;"),
];

/// A workspace `app` with `manifest_extra` in its root manifest, migrations in `db/migrations`.
fn project(manifest_extra: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("Cargo.toml"), format!("[workspace]\nmembers = [\"app\"]\n\n{manifest_extra}")).unwrap();
    std::fs::create_dir_all(root.join("app/src")).unwrap();
    std::fs::write(root.join("app/Cargo.toml"), "[package]\nname = \"app\"\nversion = \"0.0.0\"\n").unwrap();
    write(&root.join("db/migrations"), CHAIN);
    tmp
}

#[test]
fn configured_directory_command_and_paths_from_where_the_user_stands() {
    let p = project("[workspace.metadata.retort]\nmigrations = \"db/migrations\"\ncommand = \"cargo xtask\"\n");
    let src = p.path().join("app/src");
    // Found from a subdirectory of a member, through the workspace's table.
    let (code, out) = cli(&["heads"], &src, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("b00000000000 (head)"), "{out}");

    // A problem names its file from where the user stands and the fix with the configured command.
    std::fs::write(p.path().join("db/migrations/stray.txt"), "x").unwrap();
    let (code, out) = cli(&["lint"], &src, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--> ../../db/migrations/stray.txt"), "{out}");
    std::fs::remove_file(p.path().join("db/migrations/stray.txt")).unwrap();

    // Usage lines name the configured command too.
    let (_, out) = cli(&["--help"], &src, &[]);
    assert!(out.contains("Usage: cargo xtask"), "{out}");

    // Run as a cargo subcommand (`cargo retort heads`), cargo passes `retort` first.
    let (code, out) = cli(&["retort", "heads"], &src, &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_database_comes_from_the_flag_the_environment_or_the_configuration() {
    let p = project("[workspace.metadata.retort]\nmigrations = \"db/migrations\"\n");
    let root = p.path();
    let applied = |db: &Path| {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.query_row("SELECT count(*) FROM retort_history", [], |r| r.get::<_, i64>(0)).unwrap()
    };

    // None given: a usage error naming every way to give one, and no file created.
    let (code, out) = cli(&["upgrade"], root, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("pass `--db PATH`, set RETORT_DATABASE or a `sqlite:` DATABASE_URL"), "{out}");
    assert!(!root.join("app.db").exists());

    // sqlx's `DATABASE_URL`, relative to where the user stands.
    let (code, out) = cli(&["upgrade", "+1"], root, &[("DATABASE_URL", "sqlite://url.db?mode=rwc")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("url.db is at a00000000000"), "{out}");
    assert_eq!(applied(&root.join("url.db")), 1);
    // A non-SQLite URL is not ours: ignored.
    let (code, out) = cli(&["current"], root, &[("DATABASE_URL", "postgres://localhost/app")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no database given"), "{out}");
    // A URL without a file is refused with the fix.
    let (code, out) = cli(&["current"], root, &[("DATABASE_URL", "sqlite::memory:")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("names no database file"), "{out}");

    // `RETORT_DATABASE` wins over `DATABASE_URL`, and `--db` over both.
    let env = [("RETORT_DATABASE", "env.db"), ("DATABASE_URL", "sqlite:url.db")];
    let (code, out) = cli(&["upgrade"], root, &env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(applied(&root.join("env.db")), 2);
    assert_eq!(applied(&root.join("url.db")), 1, "untouched");
    let (code, out) = cli(&["upgrade", "--db", "flag.db"], root, &env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(applied(&root.join("flag.db")), 2);

    // The configured default, relative to the manifest that names it, from any directory.
    std::fs::write(
        root.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.0.0\"\n\n[package.metadata.retort]\nmigrations = \"../db/migrations\"\ndatabase = \"data/app.db\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("app/data")).unwrap();
    let (code, out) = cli(&["upgrade"], &root.join("app/src"), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("../data/app.db is at b00000000000"), "{out}");
    assert_eq!(applied(&root.join("app/data/app.db")), 2);
}

#[test]
fn a_bad_configuration_is_a_usage_error_naming_the_file() {
    let p = project("[workspace.metadata.retort]\nmigration = \"db/migrations\"\n");
    let (code, out) = cli(&["heads"], p.path(), &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("[workspace.metadata.retort] in") && out.contains("unknown field `migration`"), "{out}");
}
