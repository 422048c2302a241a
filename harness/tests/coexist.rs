//! Retort beside the application's own SQLite crate: a build may hold only one `libsqlite3-sys`
//! (it declares `links = "sqlite3"`), so a scratch application depending on `retort` and on each
//! of sqlx 0.8 and 0.9, diesel 2.2 and 2.3, rusqlite 0.32 and the newest rusqlite Retort accepts
//! must resolve to one dependency graph, with one rusqlite and one libsqlite3-sys. Resolution
//! only (`cargo generate-lockfile`, which reads the crates.io index); that Retort compiles
//! against both ends of its rusqlite range is `.ci/rusqlite-range`'s job.

use std::path::Path;
use std::process::Command;

/// The versions of `name` in `lock` (a Cargo.lock's text).
fn versions(lock: &str, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{name}\"") {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                found.push(version.trim_end_matches('"').to_string());
            }
        }
    }
    found
}

/// Resolves an application depending on `retort` and on `other` (a `[dependencies]` line);
/// the rusqlite and libsqlite3-sys versions chosen.
fn resolve(other: &str) -> (Vec<String>, Vec<String>) {
    let retort = Path::new(env!("CARGO_MANIFEST_DIR"));
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir(app.path().join("src")).unwrap();
    std::fs::write(app.path().join("src/lib.rs"), "").unwrap();
    std::fs::write(
        app.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nretort = {{ path = {:?} }}\n{other}\n",
            retort.display().to_string()
        ),
    )
    .unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("generate-lockfile")
        .current_dir(app.path())
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "retort and `{other}` do not resolve together:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lock = std::fs::read_to_string(app.path().join("Cargo.lock")).unwrap();
    (versions(&lock, "rusqlite"), versions(&lock, "libsqlite3-sys"))
}

/// Asserts one rusqlite and one libsqlite3-sys, the latter starting with `sys` (any when empty).
fn coexists(other: &str, sys: &str) {
    let (rusqlite, libsqlite3_sys) = resolve(other);
    assert_eq!(rusqlite.len(), 1, "`{other}`: rusqlite {rusqlite:?}");
    assert_eq!(libsqlite3_sys.len(), 1, "`{other}`: libsqlite3-sys {libsqlite3_sys:?}");
    assert!(
        libsqlite3_sys[0].starts_with(sys),
        "`{other}`: libsqlite3-sys {} where {sys}.x was expected",
        libsqlite3_sys[0]
    );
}

#[test]
fn resolves_beside_sqlx_0_8() {
    coexists(
        r#"sqlx = { version = "0.8", default-features = false, features = ["sqlite", "runtime-tokio"] }"#,
        "0.30.",
    );
}

#[test]
fn resolves_beside_sqlx_0_9() {
    coexists(r#"sqlx = { version = "0.9", default-features = false, features = ["sqlite", "runtime-tokio"] }"#, "");
}

#[test]
fn resolves_beside_diesel_2_2() {
    coexists(r#"diesel = { version = "~2.2", default-features = false, features = ["sqlite"] }"#, "");
}

#[test]
fn resolves_beside_diesel_2_3() {
    coexists(r#"diesel = { version = "~2.3", default-features = false, features = ["sqlite"] }"#, "");
}

#[test]
fn resolves_beside_rusqlite_0_32() {
    let (rusqlite, _) = resolve(r#"rusqlite = "0.32""#);
    assert_eq!(rusqlite.len(), 1, "rusqlite {rusqlite:?}");
    assert!(rusqlite[0].starts_with("0.32."), "rusqlite {rusqlite:?}");
    coexists(r#"rusqlite = "0.32""#, "0.30.");
}

#[test]
fn resolves_beside_the_newest_rusqlite() {
    let (rusqlite, _) = resolve(r#"rusqlite = "0.43""#);
    assert!(rusqlite.len() == 1 && rusqlite[0].starts_with("0.43."), "rusqlite {rusqlite:?}");
    coexists(r#"rusqlite = "0.43""#, "0.40.");
}
