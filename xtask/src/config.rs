//! Project configuration: a `[package.metadata.retort]` table in the manifest of the package the
//! user stands in, else `[workspace.metadata.retort]` in the workspace root's manifest. Paths in
//! it are relative to the manifest that holds them. Flags override it.
//!
//! ```toml
//! [workspace.metadata.retort]
//! migrations = "db/migrations"   # default: migrations/ at the project root
//! database = "app.db"            # when neither --db, RETORT_DATABASE nor DATABASE_URL is set
//! command = "cargo xtask"        # how this project runs Retort, for hints (default: cargo retort)
//! layout = "sqlx"                # the directory's layout (default: retort; `auto` detects it)
//! schema = "db/schema.sql"       # the desired schema (default: schema.sql beside the migrations)
//! # the test asserting the schema snapshots (default: found, see `snapshots.rs`)
//! snapshots = { package = "my-app", test = "schema_snapshots" }
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// The `metadata.retort` table.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The migrations directory, made absolute.
    pub migrations: Option<PathBuf>,
    /// The default database file, made absolute.
    pub database: Option<PathBuf>,
    /// How the project runs Retort (`cargo retort`, `cargo xtask`, …).
    pub command: Option<String>,
    /// The migrations directory's layout (`retort`, `diesel`, `sqlx`, …, or `auto`).
    pub layout: Option<String>,
    /// The desired-schema file, made absolute.
    pub schema: Option<PathBuf>,
    /// The test that asserts the schema snapshots (`retort::assert_schema_snapshots!`).
    pub snapshots: Option<SnapshotTest>,
    /// The manifest the table was read from (absent when there is none).
    #[serde(skip)]
    pub manifest: Option<PathBuf>,
}

/// A package's integration test, as `cargo test --package P --test T` names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotTest {
    /// The package.
    pub package: String,
    /// The test target (the file name under `tests/` without `.rs`).
    pub test: String,
}

#[derive(Deserialize)]
struct Manifest {
    package: Option<Section>,
    workspace: Option<Section>,
}

#[derive(Deserialize)]
struct Section {
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    retort: Option<toml::Value>,
}

impl Config {
    /// The configuration for a user standing in `here`, inside the project rooted at `root`.
    pub fn find(here: &Path, root: &Path) -> anyhow::Result<Config> {
        let package = here.ancestors().take_while(|d| d.starts_with(root)).find(|d| d.join("Cargo.toml").is_file());
        if let Some(dir) = package {
            if let Some(config) = read(&dir.join("Cargo.toml"), Table::Package)? {
                return Ok(config);
            }
        }
        Ok(read(&root.join("Cargo.toml"), Table::Workspace)?.unwrap_or_default())
    }

    /// The command the project runs Retort with: the configured one, else `cargo retort`.
    pub fn command(&self) -> String {
        self.command.clone().unwrap_or_else(|| retort_build::DEFAULT_COMMAND.to_string())
    }
}

#[derive(Clone, Copy)]
enum Table {
    Package,
    Workspace,
}

/// The `metadata.retort` table of `manifest`'s package or workspace section, if it has one.
fn read(manifest: &Path, table: Table) -> anyhow::Result<Option<Config>> {
    let Ok(text) = std::fs::read_to_string(manifest) else { return Ok(None) };
    let parsed: Manifest =
        toml::from_str(&text).with_context(|| format!("cannot read {} as TOML", manifest.display()))?;
    let (where_, section) = match table {
        Table::Package => ("[package.metadata.retort]", parsed.package),
        Table::Workspace => ("[workspace.metadata.retort]", parsed.workspace),
    };
    let Some(value) = section.and_then(|s| s.metadata).and_then(|m| m.retort) else { return Ok(None) };
    let mut config: Config = value.try_into().with_context(|| {
        format!(
            "{where_} in {} is not valid: it takes `migrations`, `database`, `schema` (paths relative to that file), `command`, `layout` and `snapshots = {{ package = \"…\", test = \"…\" }}`",
            manifest.display()
        )
    })?;
    let base = manifest.parent().unwrap_or(Path::new("."));
    config.migrations = config.migrations.map(|p| base.join(p));
    config.database = config.database.map(|p| base.join(p));
    config.schema = config.schema.map(|p| base.join(p));
    config.manifest = Some(manifest.to_path_buf());
    Ok(Some(config))
}

/// The database file a command works on: `--db`, else `RETORT_DATABASE`, else a `sqlite:`
/// `DATABASE_URL` (sqlx's convention), else the configured default. `None` when none is given.
pub fn database(flag: Option<&Path>, config: &Config) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = flag {
        return Ok(Some(path.to_path_buf()));
    }
    if let Some(path) = std::env::var_os("RETORT_DATABASE").filter(|v| !v.is_empty()) {
        return Ok(Some(PathBuf::from(path)));
    }
    if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| u.starts_with("sqlite:")) {
        return sqlite_url_path(&url).map(Some);
    }
    Ok(config.database.clone())
}

/// The file a `sqlite:` URL names: `sqlite:app.db`, `sqlite://app.db`, `sqlite:///abs/app.db`,
/// with any `?mode=…` query dropped.
fn sqlite_url_path(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        anyhow::bail!(
            "DATABASE_URL `{url}` names no database file; point it at a file (`sqlite:app.db`), or pass `--db PATH`"
        );
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(sqlite_url_path("sqlite:app.db").unwrap(), Path::new("app.db"));
        assert_eq!(sqlite_url_path("sqlite://data/app.db?mode=rwc").unwrap(), Path::new("data/app.db"));
        assert_eq!(sqlite_url_path("sqlite:///abs/app.db").unwrap(), Path::new("/abs/app.db"));
        assert!(sqlite_url_path("sqlite::memory:").unwrap_err().to_string().contains("names no database file"));
    }

    #[test]
    fn tables() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"app\"]\n\n[workspace.metadata.retort]\nmigrations = \"db/migrations\"\ncommand = \"cargo xtask\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("app/src")).unwrap();
        std::fs::write(root.join("app/Cargo.toml"), "[package]\nname = \"app\"\n").unwrap();
        let config = Config::find(&root.join("app/src"), root).unwrap();
        assert_eq!(config.migrations, Some(root.join("db/migrations")));
        assert_eq!(config.command.as_deref(), Some("cargo xtask"));

        // A package's own table wins, its paths relative to its manifest.
        std::fs::write(
            root.join("app/Cargo.toml"),
            "[package]\nname = \"app\"\n\n[package.metadata.retort]\ndatabase = \"app.db\"\n",
        )
        .unwrap();
        let config = Config::find(&root.join("app/src"), root).unwrap();
        assert_eq!(config.database, Some(root.join("app/app.db")));
        assert_eq!(config.migrations, None);

        // An unknown key is refused, naming the table and the file.
        std::fs::write(root.join("app/Cargo.toml"), "[package]\nname = \"app\"\n\n[package.metadata.retort]\ndb = 1\n")
            .unwrap();
        let err = format!("{:#}", Config::find(&root.join("app"), root).unwrap_err());
        assert!(err.contains("[package.metadata.retort] in") && err.contains("unknown field `db`"), "{err}");
    }
}
