//! `init`: sets a package up to embed, lock and test migrations. It creates the migrations
//! directory with an empty lock and adds `.gitignore` lines for pending snapshots and downgrade
//! backups; it prints the `Cargo.toml`, `build.rs`, `src/lib.rs` and snapshot-test snippets, or
//! with `--write` writes the files that do not exist yet.
//!
//! Guarantees: idempotent (a second run changes nothing); it never overwrites a file: one that
//! exists is left as it is and its snippet printed for the user to merge.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::Context;
use crate::flags::InitFlags;
use crate::output;

/// Lines `.gitignore` gets: insta's pending snapshots and `downgrade`'s backups
/// (`<db>.<UTC stamp>[-n].bak`).
const IGNORED: [&str; 3] = ["*.snap.new", "*.????????T??????Z.bak", "*.????????T??????Z-*.bak"];

/// The Retort checkout this command was built from: dependencies point at it until Retort is
/// published.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf()
}

/// Runs `init` from where the user stands.
pub fn run(cx: &Context, flags: &InitFlags) -> anyhow::Result<()> {
    let package = cx
        .here
        .ancestors()
        .take_while(|d| d.starts_with(&cx.root))
        .find(|d| d.join("Cargo.toml").is_file() && is_package(&d.join("Cargo.toml")))
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no package here: run `{}` in the directory of the crate that will embed the migrations (its Cargo.toml has a [package] table)",
                cx.run("init")
            )
        })?;
    // The migrations directory and its empty lock.
    let lock = cx.dir.join(retort_build::LOCK_FILE);
    if lock.is_file() {
        output::status("Kept", format!("{} (it exists)", cx.show(&lock).display()));
    } else {
        std::fs::create_dir_all(&cx.dir).with_context(|| format!("cannot create {}", cx.show(&cx.dir).display()))?;
        let empty = retort_build::MigrationSet::from_files(&[])
            .map_err(|_| anyhow::anyhow!("cannot build an empty migration set"))?;
        std::fs::write(&lock, retort_build::Lock::of(&empty).render())
            .with_context(|| format!("cannot write {}", cx.show(&lock).display()))?;
        output::status("Created", cx.show(&lock).display());
    }
    gitignore(cx)?;
    let embed = relative(&package, &cx.dir);
    let command = cx.config.command();
    let builder =
        if command == retort_build::DEFAULT_COMMAND { String::new() } else { format!(".command({command:?})") };
    let repo = checkout();
    let harness = repo.join("harness").display().to_string();
    let build = repo.join("build-support").display().to_string();
    let dependencies = [
        ("dependencies", "retort", format!("path = {harness:?}")),
        ("build-dependencies", "retort-build", format!("path = {build:?}")),
        ("dev-dependencies", "retort", format!("path = {harness:?}\nfeatures = [\"insta\"]")),
    ];
    let build_rs = format!(
        "// Embeds the migrations; fails the build when a locked migration drifted.\nfn main() {{\n    retort_build::Embed::new({embed:?}){builder}.run_or_exit();\n}}\n"
    );
    let lib_rs = "/// Every migration, checked against the lock at build time.\npub static MIGRATIONS: retort::Migrations = include!(concat!(env!(\"OUT_DIR\"), \"/retort_migrations.rs\"));\n";
    let manifest_path = package.join("Cargo.toml");
    let crate_name = package_name(&manifest_path).unwrap_or_else(|| "my_app".into()).replace('-', "_");
    let test_rs = format!(
        "//! Every migration's schema change (`schema@<revision>`) and the schema at head, as insta\n//! snapshots; `{command} migrate-test` runs this test too.\n\n#[test]\nfn schema() {{\n    retort::assert_schema_snapshots!({crate_name}::MIGRATIONS);\n}}\n"
    );
    // Cargo.toml: the dependency tables it lacks, each as its own `[table.name]` (valid TOML
    // beside an existing `[dependencies]`), appended.
    let manifest_text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", cx.show(&manifest_path).display()))?;
    let parsed: toml::Table = toml::from_str(&manifest_text)
        .with_context(|| format!("{} is not valid TOML", cx.show(&manifest_path).display()))?;
    let missing: Vec<String> = dependencies
        .iter()
        .filter(|(table, name, _)| parsed.get(*table).and_then(|t| t.get(*name)).is_none())
        .map(|(table, name, body)| format!("[{table}.{name}]\n{body}\n"))
        .collect();
    let shown_manifest = cx.show(&manifest_path).display().to_string();
    if missing.is_empty() {
        output::status("Kept", format!("{shown_manifest} (it has Retort's dependencies)"));
    } else if flags.write {
        let text = appended(&manifest_text, &format!("\n{}", missing.join("\n")));
        toml::from_str::<toml::Table>(&text).with_context(|| {
            format!("adding Retort's dependencies would make {shown_manifest} invalid; add them by hand")
        })?;
        std::fs::write(&manifest_path, text).with_context(|| format!("cannot write {shown_manifest}"))?;
        output::status("Updated", format!("{shown_manifest} (+ Retort's dependencies)"));
    } else {
        snippet(&format!("{shown_manifest} (add; or run again with --write)"), &missing.join("\n"));
    }
    // src/lib.rs: the embedded migrations (a test reaches them through the library).
    let lib = package.join("src/lib.rs");
    let lib_text = std::fs::read_to_string(&lib).unwrap_or_default();
    if lib_text.contains("retort_migrations.rs") {
        output::status("Kept", format!("{} (it embeds the migrations)", cx.show(&lib).display()));
    } else if flags.write {
        let text = appended(&lib_text, lib_rs);
        std::fs::create_dir_all(package.join("src")).context("cannot create src/")?;
        std::fs::write(&lib, text).with_context(|| format!("cannot write {}", cx.show(&lib).display()))?;
        output::status("Updated", format!("{} (+ MIGRATIONS)", cx.show(&lib).display()));
    } else {
        snippet(&format!("{} (add; or run again with --write)", cx.show(&lib).display()), lib_rs);
    }
    // New files: written with --write when absent, never overwritten.
    for (path, text) in [(package.join("build.rs"), build_rs), (package.join("tests/schema_snapshots.rs"), test_rs)] {
        if path.exists() {
            let has = std::fs::read_to_string(&path).unwrap_or_default();
            if has == text {
                output::status("Kept", cx.show(&path).display());
            } else {
                snippet(
                    &format!("{} (it exists and is left as it is; merge this into it)", cx.show(&path).display()),
                    &text,
                );
            }
        } else if flags.write {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", cx.show(dir).display()))?;
            }
            std::fs::write(&path, &text).with_context(|| format!("cannot write {}", cx.show(&path).display()))?;
            output::status("Created", cx.show(&path).display());
        } else {
            snippet(&format!("{} (create; or run again with --write)", cx.show(&path).display()), &text);
        }
    }
    println!(
        "Next: `{}` creates the first migration; `{}` pins it; `{}` proves it.",
        cx.run("revision -m \"create users\""),
        cx.run("lock"),
        cx.run("migrate-test")
    );
    Ok(())
}

/// `text` with `more` after it, on a line of its own.
fn appended(text: &str, more: &str) -> String {
    let newline = if text.is_empty() || text.ends_with('\n') { "" } else { "\n" };
    format!("{text}{newline}{more}")
}

fn snippet(title: &str, text: &str) {
    println!("--- {title}\n{}", text.trim_end());
}

fn is_package(manifest: &Path) -> bool {
    package_name(manifest).is_some()
}

/// The `[package] name` of `manifest`.
fn package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let value: toml::Table = toml::from_str(&text).ok()?;
    value.get("package")?.get("name")?.as_str().map(str::to_string)
}

/// `to` relative to `from`, with `/` separators (for a path inside Rust source).
fn relative(from: &Path, to: &Path) -> String {
    retort_build::display_path(from, to).to_string_lossy().replace('\\', "/")
}

/// Adds the lines `.gitignore` at the project root lacks.
fn gitignore(cx: &Context) -> anyhow::Result<()> {
    let path = cx.root.join(".gitignore");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let present: Vec<&str> = text.lines().map(str::trim).collect();
    let missing: Vec<&str> = IGNORED.iter().copied().filter(|l| !present.contains(l)).collect();
    if missing.is_empty() {
        output::status("Kept", format!("{} (it ignores pending snapshots and backups)", cx.show(&path).display()));
        return Ok(());
    }
    let lines: String = missing.iter().map(|line| format!("{line}\n")).collect();
    let out = appended(&text, &format!("# Retort: pending insta snapshots and downgrade backups\n{lines}"));
    std::fs::write(&path, out).with_context(|| format!("cannot write {}", cx.show(&path).display()))?;
    output::status("Updated", format!("{} (+ {})", cx.show(&path).display(), missing.join(", ")));
    Ok(())
}
