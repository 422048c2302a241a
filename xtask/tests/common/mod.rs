//! Helpers for the CLI tests: a scratch copy of the example migrations and a way to run the built
//! `xtask` binary against it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use retort_build::{Lock, load};

/// A migration: tag, parents, extra header lines, up, down.
pub type Fixture<'a> = (&'a str, &'a [&'a str], &'a str, &'a str, &'a str);

#[allow(unused_imports)]
pub use retort_build::testing::rev;

pub fn write(dir: &Path, migrations: &[Fixture]) {
    write_unlocked(dir, migrations);
    let set = load(dir, dir.parent().unwrap(), retort_build::LockPolicy::Lenient).set.expect("fixtures parse");
    std::fs::write(dir.join("retort.lock"), Lock::of(&set).render()).unwrap();
}

/// Writes the migration files only (no lock), whether they parse or not.
pub fn write_unlocked(dir: &Path, migrations: &[Fixture]) {
    std::fs::create_dir_all(dir).unwrap();
    for (tag, parents, extra, up, down) in migrations {
        let tables = tables_affected(up);
        let tables: Vec<(&str, &str)> = tables.iter().map(|t| (t.as_str(), "fixture")).collect();
        retort_build::testing::Fixture::new(tag, parents, up, Some(down)).tables(&tables).header(extra).write(dir);
    }
}

/// Runs the built `xtask` binary with `--migrations DIR ARGS` from `cwd`.
pub fn xtask(migrations: &Path, args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-retort"))
        .arg("--migrations")
        .arg(migrations)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&cwd.display().to_string(), "[SCRATCH]");
    Run { code: out.status.code().unwrap_or(-1), stdout: clean(&out.stdout), stderr: clean(&out.stderr) }
}

/// The tables `up` touches, for `Tables affected`, so the fixtures are lint-clean there.
fn tables_affected(up: &str) -> std::collections::BTreeSet<String> {
    use retort_build::lint::{Effect, effects};
    let mut tables = std::collections::BTreeSet::new();
    for statement in retort_build::sql::split_statements(up) {
        for effect in effects(&statement) {
            match effect {
                Effect::DataChange { table, .. } | Effect::DropTable(table) | Effect::DropColumn { table, .. } => {
                    tables.insert(table)
                }
                Effect::Touch(table) | Effect::Create(table) => tables.insert(table),
                _ => false,
            };
        }
    }
    tables
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    retort_build::workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// A temporary folder holding `migrations/`, a copy of the example migrations.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&workspace().join("migrations"), &dir.path().join("migrations"));
        Scratch { dir }
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `xtask --migrations <scratch>/migrations ARGS` from the scratch folder.
    pub fn run(&self, args: &[&str]) -> Run {
        xtask(&self.migrations(), args, self.dir.path())
    }
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// `exit code`, stdout and stderr in one text, for snapshots (timings masked).
    pub fn transcript(&self) -> String {
        let mask = |s: &str| {
            let mut out = String::new();
            for line in s.lines() {
                let line = match (line.rfind(" ("), line.ends_with(" ms)")) {
                    (Some(i), true) => format!("{} ([TIME] ms)", &line[..i]),
                    _ => line.to_string(),
                };
                out.push_str(&line);
                out.push('\n');
            }
            out
        };
        format!("exit: {}\n--- stdout\n{}--- stderr\n{}", self.code, mask(&self.stdout), mask(&self.stderr))
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
