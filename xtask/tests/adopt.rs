//! Adopting Retort in a new application, end to end, as README.md tells a user to: a scratch
//! crate outside this workspace runs `cargo retort init --write`, writes three migrations with
//! `revision`, fills them in, locks, builds, accepts its schema snapshots and passes
//! `migrate-test`; a stale snapshot, a snapshot test that does not build and one that panics each
//! get their own message; `upgrade` takes the database from `DATABASE_URL`; and a drifted
//! migration fails the build with help naming the project's configured command.
//!
//! The scratch crate builds in `target/scratch-builds`, shared with `build_failures.rs`, so its
//! dependencies compile once per machine.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    retort_build::workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")))
}

fn target_dir() -> PathBuf {
    workspace().join("target/scratch-builds")
}

/// Runs `program args` in `dir` with the shared target directory; success and the output.
fn run(program: &str, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_TERM_COLOR", "never")
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0")
        .env_remove("DATABASE_URL")
        .env_remove("RETORT_DATABASE")
        .env_remove("INSTA_UPDATE")
        .env_remove("INSTA_FORCE_PASS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn retort(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut all = vec!["retort"];
    all.extend_from_slice(args);
    run(env!("CARGO_BIN_EXE_cargo-retort"), &all, dir, env)
}

fn cargo(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> (bool, String) {
    run(&std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()), args, dir, env)
}

fn ok(result: (bool, String), what: &str) -> String {
    assert!(result.0, "{what} failed:\n{}", result.1);
    result.1
}

fn fails(result: (bool, String), what: &str) -> String {
    assert!(!result.0, "{what} passed but should fail:\n{}", result.1);
    result.1
}

/// The migration files.
fn migrations(app: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(app.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

/// Fills the template `revision` wrote: its table, its up and its down.
fn fill(path: &Path, table: &str, up: &str, down: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    let mut section = "";
    for line in text.lines() {
        if line == "-- migrate:up" || line == "-- migrate:down" {
            section = line;
            out.push_str(line);
            out.push('\n');
            out.push_str(if section == "-- migrate:up" { up } else { down });
            out.push('\n');
            continue;
        }
        if !section.is_empty() {
            continue;
        }
        let line = if line.starts_with("-- - <table>") { format!("-- - {table}: changed") } else { line.to_string() };
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_new_application_adopts_retort_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path();
    std::fs::write(
        app.join("Cargo.toml"),
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
         [package.metadata.retort]\ncommand = \"cargo db\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(app.join("src/lib.rs"), "//! The shop.\n").unwrap();
    // The versions this workspace is tested with, and no network beyond the registry.
    std::fs::copy(workspace().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();

    let init = ok(retort(&["init", "--write"], app, &[]), "init --write");
    assert!(init.contains("Created migrations/retort.lock"), "{init}");
    assert!(std::fs::read_to_string(app.join("build.rs")).unwrap().contains(".command(\"cargo db\")"));
    assert!(std::fs::read_to_string(app.join(".gitignore")).unwrap().contains("*.snap.new"));
    let again = ok(retort(&["init", "--write"], app, &[]), "a second init");
    assert!(!again.contains("Created") && !again.contains("Updated"), "init is idempotent:\n{again}");

    let steps = [
        (
            "create users",
            "users",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
            "DROP TABLE users;",
        ),
        ("add email", "users", "ALTER TABLE users ADD COLUMN email TEXT;", "ALTER TABLE users DROP COLUMN email;"),
        (
            "create orders",
            "orders",
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));",
            "DROP TABLE orders;",
        ),
    ];
    // The files in the order written (their names start with random revision ids).
    let mut files = Vec::new();
    for (message, table, up, down) in steps {
        let before = migrations(app);
        ok(retort(&["revision", "-m", message], app, &[]), "revision");
        let new = migrations(app).into_iter().find(|p| !before.contains(p)).expect("revision wrote a file");
        fill(&new, table, up, down);
        files.push(new);
    }
    let revision = |n: usize| files[n].file_name().unwrap().to_string_lossy()[..12].to_string();
    ok(retort(&["lock"], app, &[]), "lock");
    ok(cargo(&["build", "--quiet"], app, &[]), "cargo build");

    // First run: the snapshots are new; accepted, the run is green.
    let first = fails(retort(&["migrate-test"], app, &[]), "migrate-test with unaccepted snapshots");
    assert!(first.contains(&format!("schema@{} (new)", revision(0))), "{first}");
    ok(cargo(&["test", "--quiet", "--test", "schema_snapshots"], app, &[("INSTA_UPDATE", "always")]), "accepting");
    let green = ok(retort(&["migrate-test"], app, &[]), "migrate-test");
    assert!(green.contains("Passed schema snapshots") && green.contains(" passed, 0 failed"), "{green}");

    // A stale snapshot names its revision.
    let snapshot = app.join(format!("tests/snapshots/schema_snapshots__schema@{}.snap", revision(1)));
    let accepted = std::fs::read_to_string(&snapshot).unwrap();
    std::fs::write(&snapshot, accepted.replace("email", "e_mail")).unwrap();
    let stale = fails(retort(&["migrate-test"], app, &[]), "migrate-test with a stale snapshot");
    assert!(stale.contains(&format!("schema snapshots differ: schema@{}", revision(1))), "{stale}");
    assert!(!stale.contains("(new)"), "{stale}");
    std::fs::write(&snapshot, accepted).unwrap();

    // A snapshot test that does not build, and one that panics, say so.
    let test = app.join("tests/schema_snapshots.rs");
    let test_text = std::fs::read_to_string(&test).unwrap();
    std::fs::write(&test, format!("{test_text}\nfn broken() -> u32 {{ \"text\" }}\n")).unwrap();
    let unbuilt = fails(retort(&["migrate-test"], app, &[]), "migrate-test with a broken test");
    assert!(
        unbuilt.contains("the snapshot test does not build (`cargo test -p shop --test schema_snapshots`)"),
        "{unbuilt}"
    );
    assert!(!unbuilt.contains("snapshots differ"), "{unbuilt}");
    std::fs::write(&test, format!("{test_text}\n#[test]\nfn fixture() {{ panic!(\"the fixture broke\"); }}\n"))
        .unwrap();
    let panicked = fails(retort(&["migrate-test"], app, &[]), "migrate-test with a panicking test");
    assert!(panicked.contains("the snapshot test failed, and no snapshot differs"), "{panicked}");
    assert!(panicked.contains("the fixture broke"), "{panicked}");
    std::fs::write(&test, test_text).unwrap();
    for entry in std::fs::read_dir(app.join("tests/snapshots")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".snap.new") {
            std::fs::remove_file(path).unwrap();
        }
    }

    // The database from DATABASE_URL, as sqlx users set it.
    ok(retort(&["upgrade"], app, &[("DATABASE_URL", "sqlite:shop.db")]), "upgrade");
    let current = ok(retort(&["current"], app, &[("DATABASE_URL", "sqlite:shop.db")]), "current");
    assert!(current.contains(&revision(2)), "{current}");

    // A locked migration that drifts fails the build; the help names `cargo db`.
    let text = std::fs::read_to_string(&files[1]).unwrap();
    std::fs::write(&files[1], text.replace("ADD COLUMN email TEXT", "ADD COLUMN email TEXT NOT NULL DEFAULT ''"))
        .unwrap();
    let drift = fails(cargo(&["build", "--quiet"], app, &[]), "building a drifted migration");
    assert!(drift.contains(&revision(1)) && drift.contains("cargo db "), "{drift}");
    assert!(!drift.contains("cargo retort") && !drift.contains("cargo xtask"), "{drift}");
}
