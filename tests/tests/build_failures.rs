//! Build-script integration (SPEC §5): a scratch crate embedding a copy of the example
//! migrations is built with `$CARGO`, and each edit of its migrations must pass or fail the build
//! with the right message.
//!
//! The scratch crates share one target directory under this workspace's `target/`, so the
//! dependencies compile once per machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use retort_build::{Lock, load};

fn workspace() -> PathBuf {
    retort_build::workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")))
}

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A crate with the first `count` example migrations (in topological order), locked.
    fn new(count: usize) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let ws = workspace();
        std::fs::write(
            root.join("Cargo.toml"),
            format!(
                "[package]\nname = \"scratch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
                 [dependencies]\nretort = {{ path = {:?} }}\n\n[build-dependencies]\nretort-build = {{ path = {:?} }}\n",
                ws.join("harness"),
                ws.join("build-support")
            ),
        )
        .unwrap();
        std::fs::copy(ws.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(
            root.join("build.rs"),
            "fn main() { retort_build::Embed::new(\"migrations\").command(\"cargo xtask\").run_or_exit(); }\n",
        )
        .unwrap();
        std::fs::write(
            root.join("src/lib.rs"),
            "pub static MIGRATIONS: retort::Migrations = include!(concat!(env!(\"OUT_DIR\"), \"/retort_migrations.rs\"));\n",
        )
        .unwrap();
        let source = ws.join("migrations");
        let set =
            load(&source, &ws, retort_build::LockPolicy::Lenient).into_set().expect("example migrations are valid");
        let dest = root.join("migrations");
        std::fs::create_dir_all(&dest).unwrap();
        for m in set.in_order().take(count) {
            let name = m.file.file_name().unwrap();
            std::fs::copy(source.join(name), dest.join(name)).unwrap();
        }
        let scratch = Scratch { dir };
        scratch.relock();
        scratch
    }

    fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    fn relock(&self) {
        let set =
            load(&self.migrations(), self.dir.path(), retort_build::LockPolicy::Lenient).set.expect("the files parse");
        std::fs::write(self.migrations().join("retort.lock"), Lock::of(&set).render()).unwrap();
    }

    /// The `n`-th migration file (sorted by name).
    fn file(&self, n: usize) -> PathBuf {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.migrations())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        files[n].clone()
    }

    fn edit(&self, n: usize, f: impl Fn(&str) -> String) {
        let path = self.file(n);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, f(&text)).unwrap();
    }

    /// Runs `cargo build` as a developer would (not under CI); returns success and the combined
    /// output.
    fn build(&self) -> (bool, String) {
        self.build_with(&[])
    }

    /// Runs `cargo build` with `env` set (and `CI` unset unless `env` sets it).
    fn build_with(&self, env: &[(&str, &str)]) -> (bool, String) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.env_remove("CI");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .arg("build")
            .current_dir(self.dir.path())
            .env("CARGO_TARGET_DIR", workspace().join("target/scratch-builds"))
            .env("CARGO_TERM_COLOR", "never")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }
}

fn assert_contains(output: &str, parts: &[&str]) {
    for part in parts {
        assert!(output.contains(part), "expected `{part}` in the build output:\n{output}");
    }
}

/// Every file under `dir` with its bytes, but `Cargo.lock` (Cargo's own to update).
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.file_name().is_some_and(|n| n != "Cargo.lock") {
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn build_script_contract() {
    let s = Scratch::new(4);
    let sources = tree(s.dir.path());
    let (ok, out) = s.build();
    assert!(ok, "a clean copy builds:\n{out}");
    assert!(!out.contains("warning: scratch"), "no warnings when everything is locked:\n{out}");
    assert!(tree(s.dir.path()) == sources, "the build script writes nothing outside OUT_DIR (the crate is as it was)");

    // CRLF line ends and edits to documentation keep the checksum.
    s.edit(0, |t| t.replace('\n', "\r\n"));
    s.edit(1, |t| {
        let first = t.lines().next().unwrap().to_string();
        t.replacen(&first, "-- A better message", 1).replace("Create Date: 2025", "Create Date: 2024")
    });
    let (ok, out) = s.build();
    assert!(ok, "CRLF and message edits still build:\n{out}");

    // Drift: two locked migrations edited; both are reported in one build.
    let lock = std::fs::read_to_string(s.migrations().join("retort.lock")).unwrap();
    let add_statement = |t: &str| t.replacen("\n-- migrate:down", "SELECT 1;\n\n-- migrate:down", 1);
    s.edit(0, add_statement);
    s.edit(2, add_statement);
    let sources = tree(s.dir.path());
    let (ok, out) = s.build();
    assert!(!ok, "drift fails the build:\n{out}");
    assert!(tree(s.dir.path()) == sources, "a failing build script writes nothing outside OUT_DIR either");
    let name0 = s.file(0).file_name().unwrap().to_string_lossy().into_owned();
    let name2 = s.file(2).file_name().unwrap().to_string_lossy().into_owned();
    let rev0 = &name0[..12];
    let locked0 = lock.lines().find(|l| l.starts_with(rev0)).unwrap().split(' ').nth(1).unwrap();
    assert_contains(
        &out,
        &[
            &format!(
                "migrations/{name0}: checksum drift in locked migration {rev0}: locked {locked0}, file now sha256:"
            ),
            &format!("migrations/{name2}: checksum drift"),
            &format!("cargo xtask lock --relock {rev0}"),
            "new migration",
            // One line per problem, the fix first.
            &format!(
                "error: scratch@0.0.0: fix: if {rev0} is not committed yet (still being written), run `cargo xtask lock`"
            ),
        ],
    );

    // Re-locking (what `cargo xtask lock --relock` does) makes it build again.
    s.relock();
    assert!(s.build().0);

    // A new, unlocked migration builds with a warning.
    let new_rev = "0123456789ab";
    let head = {
        let set = load(&s.migrations(), s.dir.path(), retort_build::LockPolicy::Lenient).into_set().unwrap();
        set.graph().heads()[0]
    };
    std::fs::write(
        s.migrations().join(format!("{new_rev}_add_nickname.sql")),
        format!(
            "-- Add nickname\n--\n-- Revision ID: {new_rev}\n-- Revises: {head}\n-- Create Date: 2025-12-01T00:00:00Z\n--\n\
             -- Tables affected:\n-- - user: add column nickname\n\n-- migrate:up\nALTER TABLE \"user\" ADD COLUMN nickname TEXT;\n\n\
             -- migrate:down\nALTER TABLE \"user\" DROP COLUMN nickname;\n"
        ),
    )
    .unwrap();
    let (ok, out) = s.build();
    assert!(ok, "an unlocked migration still builds:\n{out}");
    assert_contains(
        &out,
        &[&format!(
            "warning: scratch@0.0.0: fix: run `cargo xtask lock` — migrations/{new_rev}_add_nickname.sql: migration {new_rev} is not in the lock file"
        )],
    );

    // Under CI it fails the build instead, with the fix.
    let (ok, out) = s.build_with(&[("CI", "true")]);
    assert!(!ok, "an unlocked migration fails a CI build:\n{out}");
    assert_contains(&out, &[&format!("migration {new_rev} is not in the lock file"), "run `cargo xtask lock`"]);

    // The template's placeholders warn, and fail under CI.
    let path = s.migrations().join(format!("{new_rev}_add_nickname.sql"));
    let written = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, written.replace("- user: add column nickname", "- <table>: <what changes>")).unwrap();
    let (ok, out) = s.build();
    assert!(ok, "a placeholder only warns outside CI:\n{out}");
    assert_contains(&out, &["warning: scratch@0.0.0:", "`Tables affected` still holds the template placeholder"]);
    let (ok, out) = s.build_with(&[("CI", "true")]);
    assert!(!ok, "a placeholder fails a CI build:\n{out}");
    assert_contains(&out, &["`Tables affected` still holds the template placeholder"]);
    std::fs::write(&path, written).unwrap();

    // A duplicate revision fails, naming both files.
    let copy = s.migrations().join(format!("{new_rev}_copy.sql"));
    std::fs::copy(s.migrations().join(format!("{new_rev}_add_nickname.sql")), &copy).unwrap();
    let (ok, out) = s.build();
    assert!(!ok, "a duplicate revision fails:\n{out}");
    assert_contains(
        &out,
        &[
            &format!("duplicate revision {new_rev}"),
            &format!("{new_rev}_copy.sql"),
            &format!("{new_rev}_add_nickname.sql"),
        ],
    );
    std::fs::remove_file(copy).unwrap();

    // A locked file that disappeared fails.
    let gone = s.file(3);
    let gone_rev = gone.file_name().unwrap().to_string_lossy()[..12].to_string();
    std::fs::rename(&gone, s.dir.path().join("moved.sql")).unwrap();
    let (ok, out) = s.build();
    assert!(!ok, "a missing locked file fails:\n{out}");
    assert_contains(&out, &[&format!("locked migration {gone_rev}"), "is missing"]);
}
