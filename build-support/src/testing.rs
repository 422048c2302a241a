//! Fixture migrations for tests (feature `testing`): short tags for revisions, and migration
//! files written through `migration::render`, so that every test writes the one file format.
//!
//! Helpers here panic on what only a mistaken test can pass (a tag that is not hex); they are
//! never for user input.

use std::path::Path;

use crate::migration::Migration;
use crate::migration::render;
use crate::revision::RevisionId;
use crate::set::{MigrationSet, SourceFile};

/// The 12-digit revision of a short hex tag: `rev("a")` is `a00000000000`.
pub fn rev(tag: &str) -> String {
    format!("{tag:0<12}")
}

/// The `RevisionId` of a short hex tag.
///
/// # Panics
/// When `tag` is not one to twelve lowercase hex digits.
pub fn id(tag: &str) -> RevisionId {
    RevisionId::parse(&rev(tag)).unwrap_or_else(|| panic!("fixture tag `{tag}` is not lowercase hex"))
}

/// One fixture migration, with the defaults most tests want: message `Fixture <tag>`,
/// `Tables affected: - t: fixture`, created 2025-01-01.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// Its tag (`rev(tag)` is its revision).
    pub tag: String,
    /// The header's message.
    pub message: String,
    /// The tags it revises.
    pub parents: Vec<String>,
    /// `Tables affected` entries: (table, change).
    pub tables: Vec<(String, String)>,
    /// Header lines written as they are after `Create Date` (waivers, `Transaction`, labels, or
    /// malformed lines a test wants the parser to see).
    pub header: String,
    /// The `up` SQL.
    pub up: String,
    /// The `down` SQL; `None` makes the fixture irreversible.
    pub down: Option<String>,
}

impl Fixture {
    /// A fixture revising `parents`, with the defaults.
    pub fn new(tag: &str, parents: &[&str], up: &str, down: Option<&str>) -> Fixture {
        Fixture {
            tag: tag.to_string(),
            message: format!("Fixture {tag}"),
            parents: parents.iter().map(|p| (*p).to_string()).collect(),
            tables: vec![("t".into(), "fixture".into())],
            header: String::new(),
            up: up.to_string(),
            down: down.map(str::to_string),
        }
    }

    /// With another message.
    pub fn message(mut self, message: &str) -> Fixture {
        self.message = message.to_string();
        self
    }

    /// With these `Tables affected` entries instead of the default one.
    pub fn tables(mut self, tables: &[(&str, &str)]) -> Fixture {
        self.tables = tables.iter().map(|(t, c)| ((*t).to_string(), (*c).to_string())).collect();
        self
    }

    /// With `lines` (each ending in a newline) in the header after `Create Date`.
    pub fn header(mut self, lines: &str) -> Fixture {
        self.header = lines.to_string();
        self
    }

    /// The migration it stands for (without the extra header lines).
    fn migration(&self) -> Migration {
        let parents = self.parents.iter().map(|p| id(p)).collect();
        let mut m = Migration::new(id(&self.tag), &self.message, parents, "2025-01-01T00:00:00Z")
            .with_sql(&self.up, self.down.as_deref());
        for (table, change) in &self.tables {
            m = m.affecting(table, change);
        }
        if self.down.is_none() {
            m.irreversible = Some("fixture".into());
        }
        m
    }

    /// Its file name: `<revision>_<slug of the message>.sql`.
    pub fn file_name(&self) -> String {
        self.migration().file.display().to_string()
    }

    /// Its file text.
    pub fn text(&self) -> String {
        let text = render(&self.migration());
        let date_line = "-- Create Date: 2025-01-01T00:00:00Z\n";
        match text.find(date_line) {
            Some(at) => {
                let at = at + date_line.len();
                format!("{}{}{}", &text[..at], self.header, &text[at..])
            }
            None => text,
        }
    }

    /// Its source file, as if read from `dir`.
    pub fn source(&self, dir: &Path) -> SourceFile {
        SourceFile { display: dir.join(self.file_name()), bytes: self.text().into_bytes() }
    }

    /// Writes it into `dir`.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write(&self, dir: &Path) {
        let path = dir.join(self.file_name());
        std::fs::write(&path, self.text()).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

/// The set of `fixtures`, as read from `migrations/`.
///
/// # Panics
/// When they do not make a valid set.
pub fn set(fixtures: &[Fixture]) -> MigrationSet {
    let files: Vec<SourceFile> = fixtures.iter().map(|f| f.source(Path::new("migrations"))).collect();
    MigrationSet::from_files(&files).unwrap_or_else(|e| panic!("fixture set is invalid: {e}"))
}
