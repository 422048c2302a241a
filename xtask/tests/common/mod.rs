//! Helpers for the CLI tests: a scratch copy of the example migrations and a way to run the built
//! `xtask` binary against it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
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

    /// Runs `xtask --migrations <scratch>/migrations ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("--migrations")
            .arg(self.migrations())
            .args(args)
            .current_dir(workspace())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&self.dir.path().display().to_string(), "[SCRATCH]");
        Run { code: out.status.code().unwrap_or(-1), stdout: clean(&out.stdout), stderr: clean(&out.stderr) }
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
