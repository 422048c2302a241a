//! Foreign layouts: a diesel, sqlx, golang-migrate, dbmate or refinery migrations directory read
//! as it is, into the same `MigrationSet` a Retort directory gives, so every read-only and
//! proving command works on it unchanged.
//!
//! Each reader follows its tool's own rules (read from the tool's source): which files are
//! migrations, how a version is parsed and sorted (text or number), how an up is paired with its
//! down, and whether a migration runs in a transaction. The chain is linear in the tool's order;
//! each revision id is derived from the version alone (`revision_of`), so the same directory
//! always gives the same ids, and `import` writes files with those ids.
//!
//! Guarantees: reading never writes anything; every file the tool would refuse is an error
//! naming it, and every `.sql` file the tool would skip is a warning naming it.

mod dbmate;
mod detect;
mod diesel;
mod golang_migrate;
mod refinery;
mod sqlx;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::dir::Loaded;
use crate::lock::LockPolicy;
use crate::migration::{Migration, Section, TransactionMode};
use crate::problem::{Problem, ProblemKind, Problems};
use crate::revision::RevisionId;
use crate::set::MigrationSet;
use crate::text::normalize_section;
use crate::workspace::display_path;

pub use detect::detect;

/// A migrations directory layout: Retort's own, or another tool's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// Retort's `<revision>_<slug>.sql` files with headers, and `retort.lock`.
    Retort,
    /// diesel: `<version>_<name>/up.sql`, `down.sql`, optional `metadata.toml`.
    Diesel,
    /// sqlx: `<version>_<name>.up.sql` / `.down.sql`, or `<version>_<name>.sql` (up only).
    Sqlx,
    /// golang-migrate: `<version>_<name>.up.<ext>` / `.down.<ext>`.
    GolangMigrate,
    /// dbmate: `<version>_<name>.sql` with `-- migrate:up` and `-- migrate:down` blocks.
    Dbmate,
    /// refinery: `V<version>__<name>.sql` (up only).
    Refinery,
}

impl Layout {
    /// Every layout, Retort's first.
    pub const ALL: [Layout; 6] =
        [Layout::Retort, Layout::Diesel, Layout::Sqlx, Layout::GolangMigrate, Layout::Dbmate, Layout::Refinery];

    /// The name `--layout` takes.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Retort => "retort",
            Layout::Diesel => "diesel",
            Layout::Sqlx => "sqlx",
            Layout::GolangMigrate => "golang-migrate",
            Layout::Dbmate => "dbmate",
            Layout::Refinery => "refinery",
        }
    }

    /// Whether the tool's SQLite connections enforce foreign keys while migrating: sqlx's
    /// connect options turn them on by default; diesel, golang-migrate and dbmate (through
    /// go-sqlite3) and refinery leave SQLite's default, off, as Retort does.
    pub fn enforces_foreign_keys(self) -> bool {
        self == Layout::Sqlx
    }

    /// The layout named `name`.
    pub fn from_name(name: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.name() == name)
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a migration read from a foreign layout came from: its tool, its version as the tool
/// knows it, and the files of its up and down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The tool.
    pub layout: Layout,
    /// The version, as the tool records it (`20240101120000`, `3`).
    pub version: String,
    /// The up's file, as shown.
    pub up: PathBuf,
    /// The down's file, as shown, when there is one.
    pub down: Option<PathBuf>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} version {}", self.layout, self.version)
    }
}

/// The revision id of a foreign migration: the first 12 hex digits of SHA-256 over the version
/// as the tool records it, so the id depends on nothing else (not the name, not the layout).
pub fn revision_of(version: &str) -> RevisionId {
    let digest = Sha256::digest(format!("retort-foreign-version\0{version}").as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    RevisionId::parse(&hex).unwrap_or_else(|| unreachable!("12 lowercase hex digits"))
}

/// One file's text and where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    /// The file, as shown.
    pub file: PathBuf,
    /// The text, `normalize_file`d.
    pub text: String,
    /// The file line of `text`'s first line.
    pub line: usize,
}

impl Part {
    /// The whole file `path`, or a problem naming it.
    fn read(path: &Path, show: &dyn Fn(&Path) -> PathBuf) -> Result<Part, Problems> {
        let file = show(path);
        let bytes = std::fs::read(path).map_err(|e| Problems(vec![crate::dir::read_error(&file, &e)]))?;
        match crate::text::decode(&bytes) {
            Ok(text) => Ok(Part { file, text, line: 1 }),
            Err(line) => Err(Problems(vec![Problem::error(&file, line, ProblemKind::NotUtf8)])),
        }
    }

    fn section(&self) -> Section {
        let lines: Vec<&str> = self.text.split('\n').collect();
        let (sql, skipped) = normalize_section(&lines);
        Section { sql, line: self.line + skipped }
    }
}

/// How a tool sorts: as text, or as a number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SortKey {
    Text(String),
    Number(u64),
}

/// One migration as a reader found it.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    /// The version, as the tool records it.
    pub version: String,
    /// Where the tool puts it in its order.
    pub sort: SortKey,
    /// The name part of the file or directory name.
    pub name: String,
    /// The up (`None`: the tool runs nothing for it).
    pub up: Option<Part>,
    /// The down (`None`: the tool cannot revert it).
    pub down: Option<Part>,
    /// Why there is no down, in the tool's terms.
    pub no_down: String,
    /// Whether the tool runs it in a transaction.
    pub transaction: TransactionMode,
}

/// What a reader returns: the migrations, every problem, and every path read.
#[derive(Default)]
pub(crate) struct Read {
    pub found: Vec<Found>,
    pub problems: Vec<Problem>,
    pub inputs: Vec<PathBuf>,
}

impl Read {
    fn error(&mut self, file: &Path, line: usize, message: String, help: &str) {
        self.problems.push(Problem::error(file, line, ProblemKind::Foreign(message)).with_help(help));
    }

    fn warning(&mut self, file: &Path, message: String, help: &str) {
        self.problems.push(Problem::warning(file, 0, ProblemKind::Foreign(message)).with_help(help));
    }

    /// A file the tool skips: a warning when it is a `.sql` file (likely meant as a migration).
    fn skipped(&mut self, name: &str, file: &Path, tool: &str, form: &str) {
        if name.ends_with(".sql") {
            self.warning(file, format!("not a migration to {tool}: skipped"), &format!("name it {form}"));
        }
    }
}

/// The entries of `dir`, sorted by name, or a problem naming it.
pub(crate) fn entries(dir: &Path, show: &dyn Fn(&Path) -> PathBuf) -> Result<Vec<(String, PathBuf)>, Problems> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        let kind = ProblemKind::Io { what: "migrations directory", reason: e.to_string() };
        Problems(vec![Problem::error(&show(dir), 0, kind).with_help("check the path, or pass `--migrations DIR`")])
    })?;
    let mut out: Vec<(String, PathBuf)> =
        entries.filter_map(|e| e.ok()).map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())).collect();
    out.sort();
    Ok(out)
}

/// Reads `dir` as `layout`; Retort's own layout through `dir::load` with `policy`. Paths in
/// problems are shown relative to `root`. A foreign directory's set comes with no lock and no
/// populate scripts: it holds neither.
pub fn load(dir: &Path, root: &Path, layout: Layout, policy: LockPolicy) -> Loaded {
    let show = |p: &Path| display_path(root, p);
    let listed = if layout == Layout::Retort { Ok(Vec::new()) } else { entries(dir, &show) };
    let mut read = match (layout, listed) {
        (Layout::Retort, _) => return crate::dir::load(dir, root, policy),
        (_, Err(problems)) => Read { problems: problems.0, ..Read::default() },
        (Layout::Diesel, Ok(listed)) => diesel::read(listed, &show),
        (Layout::Sqlx, Ok(listed)) => sqlx::read(listed, &show),
        (Layout::GolangMigrate, Ok(listed)) => golang_migrate::read(listed, &show),
        (Layout::Dbmate, Ok(listed)) => dbmate::read(listed, &show),
        (Layout::Refinery, Ok(listed)) => refinery::read(listed, &show),
    };
    read.inputs.insert(0, dir.to_path_buf());
    let mut found = std::mem::take(&mut read.found);
    // Stable, as every tool's sort is (sqlx and refinery sort pairs of one version together).
    found.sort_by(|a, b| a.sort.cmp(&b.sort));
    for pair in found.windows(2) {
        if pair[0].version == pair[1].version {
            let file = pair[1].up.as_ref().or(pair[1].down.as_ref()).map(|p| p.file.clone()).unwrap_or_default();
            let first = pair[0].up.as_ref().or(pair[0].down.as_ref()).map(|p| p.file.display().to_string());
            read.error(
                &file,
                0,
                format!("version {} is also the version of {}", pair[1].version, first.unwrap_or_default()),
                &format!("{layout} needs each version once: renumber one of them"),
            );
        }
    }
    let mut loaded = Loaded {
        dir: dir.to_path_buf(),
        set: None,
        lock: None,
        lock_status: None,
        lock_display: PathBuf::new(),
        populate: Vec::new(),
        problems: Vec::new(),
        inputs: read.inputs,
    };
    let has_errors = read.problems.iter().any(Problem::is_error);
    loaded.problems = read.problems;
    if !has_errors {
        match MigrationSet::from_migrations(chain(layout, &found)) {
            Ok(set) => loaded.set = Some(set),
            Err(Problems(mut p)) => loaded.problems.append(&mut p),
        }
    }
    loaded.problems.sort_by(|a, b| (&a.location, a.severity).cmp(&(&b.location, b.severity)));
    loaded
}

/// The found migrations, in the tool's order, as one linear chain of Retort migrations.
fn chain(layout: Layout, found: &[Found]) -> Vec<Migration> {
    let mut out: Vec<Migration> = Vec::with_capacity(found.len());
    for f in found {
        let revision = revision_of(&f.version);
        let parents = out.last().map(|m| vec![m.revision]).unwrap_or_default();
        let up_file = f.up.as_ref().or(f.down.as_ref()).map(|p| p.file.clone()).unwrap_or_default();
        let mut m = Migration::new(revision, &message_of(&f.name), parents, &create_date_of(&f.version));
        m.file = up_file.clone();
        m.up = f.up.as_ref().map_or(Section { sql: String::new(), line: 1 }, Part::section);
        m.down = f.down.as_ref().map(Part::section);
        if m.down.is_none() {
            m.irreversible = Some(f.no_down.clone());
        }
        m.transaction = f.transaction;
        m.origin = Some(Origin {
            layout,
            version: f.version.clone(),
            up: up_file,
            down: f.down.as_ref().map(|p| p.file.clone()),
        });
        out.push(m);
    }
    out
}

/// A file or directory name's name part as a message: `_` read as a space.
fn message_of(name: &str) -> String {
    let message = name.replace('_', " ").trim().to_string();
    if message.is_empty() { "(unnamed)".to_string() } else { message }
}

/// `Create Date` from a version that is a timestamp (`YYYYMMDDhhmmss`, as diesel, sqlx, dbmate
/// and golang-migrate write them); empty otherwise.
pub fn create_date_of(version: &str) -> String {
    let digits = version.len() == 14 && version.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        return String::new();
    }
    let v = version;
    let stamp = format!("{}-{}-{}T{}:{}:{}Z", &v[0..4], &v[4..6], &v[6..8], &v[8..10], &v[10..12], &v[12..14]);
    if crate::timestamp::is_rfc3339_utc(&stamp) { stamp } else { String::new() }
}

/// Leading ASCII digits of `s`.
fn leading_digits(s: &str) -> &str {
    &s[..s.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(s.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_ids_depend_on_the_version_only() {
        assert_eq!(revision_of("1"), revision_of("1"));
        assert_ne!(revision_of("1"), revision_of("10"));
        assert_eq!(revision_of("20240101120000").as_str().len(), 12);
    }

    #[test]
    fn timestamps_become_create_dates() {
        assert_eq!(create_date_of("20240131235959"), "2024-01-31T23:59:59Z");
        assert_eq!(create_date_of("20241331235959"), "");
        assert_eq!(create_date_of("7"), "");
    }

    #[test]
    fn layouts_round_trip_their_names() {
        for layout in Layout::ALL {
            assert_eq!(Layout::from_name(layout.name()), Some(layout));
        }
        assert_eq!(Layout::from_name("flyway"), None);
    }
}
