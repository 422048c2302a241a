//! Step 4 of `migrate-test`: the schema snapshots, asserted by the project's own insta test
//! (`retort::assert_schema_snapshots!`), so that `cargo insta review` works on them. The test is
//! the configured one (`snapshots = { package, test }`), else the one found: a test target that
//! calls the macro, in a package whose build script embeds the migrations directory.
//!
//! The verdict says what happened: the test passed; snapshots differ (only when the run wrote
//! a `.snap.new`, named in the message); the test does not build; or it failed otherwise (a
//! panic, a migration that does not round-trip), with the end of its output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use serde::Deserialize;

use crate::Context;
use crate::config::SnapshotTest;

/// What step 4 found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every snapshot matches.
    Passed(String),
    /// A check failed, and why.
    Failed(String),
    /// Nothing to run, and why.
    Skipped(String),
}

/// Runs the schema snapshot test of the project `cx` is in.
pub fn check(cx: &Context) -> Verdict {
    let test = match cx.config.snapshots.clone() {
        Some(test) => test,
        None => match discover(cx) {
            Ok(Some(test)) => test,
            Ok(None) => {
                return Verdict::Skipped(format!(
                    "no schema snapshot test found: no test calls `retort::assert_schema_snapshots!` in a package whose build.rs embeds {} (see README.md, \"Adopting Retort\"; or name one with `snapshots = {{ package = \"…\", test = \"…\" }}` in `[package.metadata.retort]`)",
                    cx.show(&cx.dir).display()
                ));
            }
            Err(why) => return Verdict::Skipped(format!("schema snapshots not run: {why}")),
        },
    };
    run(cx, &test)
}

/// `cargo metadata`'s view of a package, as far as it is read here.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
    src_path: PathBuf,
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The test of the workspace that asserts the snapshots of `cx.dir`, if one does.
fn discover(cx: &Context) -> Result<Option<SnapshotTest>, String> {
    let out = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(cx.root.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        return Err(format!("`cargo metadata` failed: {}", text.trim()));
    }
    let metadata: Metadata =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cannot read `cargo metadata`'s output: {e}"))?;
    let wanted = std::fs::canonicalize(&cx.dir).unwrap_or_else(|_| cx.dir.clone());
    for package in &metadata.packages {
        let dir = package.manifest_path.parent().unwrap_or(Path::new("."));
        let embeds = package.targets.iter().filter(|t| t.kind.iter().any(|k| k == "custom-build")).any(|t| {
            std::fs::read_to_string(&t.src_path)
                .is_ok_and(|text| embedded_dirs(&text).iter().any(|d| same_dir(&dir.join(d), &wanted)))
        });
        if !embeds {
            continue;
        }
        let test =
            package.targets.iter().filter(|t| t.kind.iter().any(|k| k == "test")).find(|t| {
                std::fs::read_to_string(&t.src_path).is_ok_and(|text| text.contains("assert_schema_snapshots!"))
            });
        if let Some(test) = test {
            return Ok(Some(SnapshotTest { package: package.name.clone(), test: test.name.clone() }));
        }
    }
    Ok(None)
}

/// The directories a build script passes to `Embed::new` as string literals.
fn embedded_dirs(build_rs: &str) -> Vec<String> {
    build_rs
        .match_indices("Embed::new(")
        .filter_map(|(at, call)| {
            let rest = build_rs[at + call.len()..].trim_start();
            let literal = rest.strip_prefix('"')?;
            literal.find('"').map(|end| literal[..end].to_string())
        })
        .collect()
}

fn same_dir(a: &Path, canonical: &Path) -> bool {
    std::fs::canonicalize(a).is_ok_and(|a| a == canonical)
}

/// The `.snap.new` files under `dir` (not under `target/` or hidden directories), with their
/// modification times.
fn pending(dir: &Path) -> BTreeMap<PathBuf, Option<SystemTime>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if name.ends_with(".snap.new") {
                out.insert(path, entry.metadata().ok().and_then(|m| m.modified().ok()));
            }
        }
    }
    out
}

/// `schema@<revision>` from `<test>__schema@<revision>.snap.new`.
fn snapshot_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.trim_end_matches(".snap.new");
    name.rsplit_once("__").map_or(name, |(_, snapshot)| snapshot).to_string()
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn run(cx: &Context, test: &SnapshotTest) -> Verdict {
    let shown = format!("cargo test -p {} --test {}", test.package, test.test);
    let build = cargo()
        .args(["test", "--no-run", "--quiet", "--color", "never", "--package", &test.package, "--test", &test.test])
        .current_dir(&cx.root)
        .output();
    let build = match build {
        Ok(out) => out,
        Err(e) => return Verdict::Failed(format!("schema snapshots: cannot run cargo: {e}")),
    };
    if !build.status.success() {
        return Verdict::Failed(format!(
            "schema snapshots: the snapshot test does not build (`{shown}`); fix the errors below, then run `{}` again\n{}",
            cx.run("migrate-test"),
            tail(&String::from_utf8_lossy(&build.stderr), 40)
        ));
    }
    let before = pending(&cx.root);
    let started = SystemTime::now();
    let out = cargo()
        .args(["test", "--quiet", "--color", "never", "--package", &test.package, "--test", &test.test])
        .current_dir(&cx.root)
        // A changed snapshot is written beside the old one for review, also under CI.
        .env("INSTA_UPDATE", "new")
        .env_remove("INSTA_FORCE_PASS")
        .env("RUST_BACKTRACE", "0")
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => return Verdict::Failed(format!("schema snapshots: cannot run cargo: {e}")),
    };
    if out.status.success() {
        return Verdict::Passed(format!("every `schema@<revision>` and `schema@head` matches (`{shown}`)"));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let written: Vec<PathBuf> = pending(&cx.root)
        .into_iter()
        .filter(|(path, time)| before.get(path) != Some(time) || time.is_some_and(|t| t >= started))
        .map(|(path, _)| path)
        .collect();
    if written.is_empty() {
        return Verdict::Failed(format!(
            "schema snapshots: the snapshot test failed, and no snapshot differs (`{shown}`):\n{}",
            tail(&text, 30)
        ));
    }
    // A `.snap.new` beside no `.snap` is a snapshot never accepted.
    let names: Vec<String> = written
        .iter()
        .map(|p| {
            let accepted = p.with_extension("").with_extension("snap").is_file();
            format!("{}{}", snapshot_name(p), if accepted { "" } else { " (new)" })
        })
        .collect();
    let excerpt: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Snapshot: ") || l.contains('│') || l.starts_with("-old") || l.starts_with("+new"))
        .take(60)
        .collect();
    Verdict::Failed(format!(
        "schema snapshots differ: {}; review them with `cargo insta review` (or accept all with `INSTA_UPDATE=always {shown}`)\n{}",
        names.join(", "),
        excerpt.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_scripts_name_their_directory() {
        let text = "fn main() {\n    retort_build::Embed::new(\"../migrations\").run_or_exit();\n    x::Embed::new( \"db\" );\n}";
        assert_eq!(embedded_dirs(text), ["../migrations", "db"]);
        assert_eq!(embedded_dirs("Embed::new(dir)"), Vec::<String>::new());
    }

    #[test]
    fn pending_snapshots_are_named_as_insta_names_them() {
        assert_eq!(
            snapshot_name(Path::new("t/snapshots/schema_snapshots__schema@0a1b2c3d4e5f.snap.new")),
            "schema@0a1b2c3d4e5f"
        );
        assert_eq!(snapshot_name(Path::new("schema_snapshots__schema@head.snap.new")), "schema@head");
    }
}
