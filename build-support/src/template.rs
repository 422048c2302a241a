//! The files `revision` and `merge` start a migration from, written through
//! `migration::render`, with the placeholders the lint refuses until they are filled in.

use std::path::PathBuf;

use crate::RevisionId;
use crate::migration::{Migration, Section, TableAffected, TransactionMode, render_with_note, slug_of};

/// The table of a new migration's `Tables affected` entry until its author names one; the lint
/// refuses it.
pub const PLACEHOLDER_TABLE: &str = "<table>";
/// The change of that entry, refused the same way (see `PLACEHOLDER_TABLE`).
pub const PLACEHOLDER_CHANGE: &str = "<what changes>";

/// What a new migration's header says.
#[derive(Clone, Debug)]
pub struct Draft {
    /// Its revision.
    pub revision: RevisionId,
    /// The one-line message.
    pub message: String,
    /// `Revises`: none for a root, two or more for a merge.
    pub parents: Vec<RevisionId>,
    /// `Depends On`.
    pub depends_on: Vec<RevisionId>,
    /// `Branch Labels`.
    pub branch_labels: Vec<String>,
    /// `Create Date`, RFC 3339 UTC.
    pub create_date: String,
}

impl Draft {
    /// The file name a migration with this revision and message gets: `<revision>_<slug>.sql`.
    pub fn file_name(&self) -> String {
        format!("{}_{}.sql", self.revision, slug_of(&self.message))
    }

    /// The migration this header heads, with `tables_affected` and its sections (`down`:
    /// `None` for an irreversible one, whose reason the caller sets): per-migration
    /// transaction, no waivers, no positions. `migration::render` writes it.
    pub fn migration(&self, tables_affected: Vec<TableAffected>, up: &str, down: Option<&str>) -> Migration {
        let section = |sql: &str| Section { sql: sql.to_string(), line: 0 };
        Migration {
            file: PathBuf::from(self.file_name()),
            revision: self.revision,
            message: self.message.clone(),
            parents: self.parents.clone(),
            depends_on: self.depends_on.clone(),
            branch_labels: self.branch_labels.clone(),
            create_date: self.create_date.clone(),
            tables_affected,
            transaction: TransactionMode::PerMigration,
            irreversible: None,
            waivers: Vec::new(),
            up: section(up),
            down: down.map(section),
            key_lines: Vec::new(),
        }
    }
}

/// The text of a new schema migration: placeholders for `Tables affected`, the schema-only
/// note, and `up`/`down` sections that say what goes in them and run as they are.
pub fn revision(draft: &Draft) -> String {
    let placeholder =
        TableAffected { table: PLACEHOLDER_TABLE.to_string(), change: PLACEHOLDER_CHANGE.to_string(), line: 0 };
    let m = draft.migration(
        vec![placeholder],
        "-- Write the schema change here, e.g. ALTER TABLE \"user\" ADD COLUMN nickname TEXT;\nSELECT 1;",
        Some("-- Undo exactly what `up` did, e.g. ALTER TABLE \"user\" DROP COLUMN nickname;\nSELECT 1;"),
    );
    render_with_note(
        &m,
        &[
            "IMPORTANT: This migration only changes the schema.",
            "Data goes in an idempotent script in migrations/populate/.",
        ],
    )
}

/// The text of a merge migration joining `draft.parents`: empty sections.
pub fn merge(draft: &Draft) -> String {
    render_with_note(
        &draft.migration(Vec::new(), "", Some("")),
        &["IMPORTANT: A merge migration joins heads; it changes nothing."],
    )
}
