//! `Error`: everything the migrator can refuse or fail with. Messages are lowercase, name the
//! revision (and file and line where there is one), and end with the fix.

use std::path::PathBuf;

use retort_build::RevisionId;

use crate::Direction;

/// One row of `PRAGMA foreign_key_check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The table holding the offending row.
    pub table: String,
    /// Its rowid, when it has one.
    pub rowid: Option<i64>,
    /// The table the foreign key points at.
    pub parent: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rowid {
            Some(rowid) => write!(f, "{} row {rowid} -> {}", self.table, self.parent),
            None => write!(f, "{} (without rowid) -> {}", self.table, self.parent),
        }
    }
}

fn revs(list: &[RevisionId]) -> String {
    if list.is_empty() {
        return "nothing".to_string();
    }
    list.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(", ")
}

/// Why the migrator stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SQLite failed outside any migration's SQL (opening, reading history, committing).
    #[error("{context}: {source}")]
    Sqlite {
        /// What Retort was doing.
        context: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What Retort was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The migrations themselves are invalid.
    #[error("the migrations are invalid:\n{0}")]
    Migrations(#[from] retort_build::Problems),
    /// The history holds revisions these migrations do not have.
    #[error("the database is at revision {}, which these migrations do not contain; use the migrations it was built with, or `stamp` it to a known revision", revs(.0))]
    UnknownApplied(Vec<RevisionId>),
    /// Applied revisions whose checksum differs from the migration file now.
    #[error("applied migrations differ from the files: {}; restore the files as they were applied, or `stamp` if you know the schema matches", divergent.iter().map(|(r, db, file)| format!("{r} (applied {db}, file {file})")).collect::<Vec<_>>().join("; "))]
    ChecksumMismatch {
        /// (revision, checksum in the database, checksum of the file).
        divergent: Vec<(RevisionId, String, String)>,
    },
    /// The history records a revision without one it needs.
    #[error(
        "the history is inconsistent: {revision} is applied but {missing} is not; `verify` the database, then `stamp` it"
    )]
    InconsistentHistory {
        /// The applied revision.
        revision: RevisionId,
        /// An ancestor that is not applied.
        missing: RevisionId,
    },
    /// A target that cannot be used.
    #[error("{0}")]
    Target(String),
    /// A downgrade path crosses an irreversible migration.
    #[error("cannot downgrade through {revision} ({file}): it is irreversible ({reason}); restore a backup instead")]
    Irreversible {
        /// The revision.
        revision: RevisionId,
        /// Its file.
        file: PathBuf,
        /// The `Irreversible` reason.
        reason: String,
    },
    /// A statement of a migration failed; nothing of that migration was kept.
    #[error("{direction} {revision} failed at {file}:{line}: {message}; applied before it: {}", revs(.done))]
    Statement {
        /// The revision.
        revision: RevisionId,
        /// Up or down.
        direction: Direction,
        /// The migration file.
        file: PathBuf,
        /// The failing statement's line.
        line: usize,
        /// SQLite's message.
        message: String,
        /// Revisions completed before it in this run.
        done: Vec<RevisionId>,
    },
    /// `PRAGMA foreign_key_check` found violations; that step was rolled back.
    #[error("{direction} {revision} ({file}) leaves foreign key violations: {}; the step was rolled back; applied before it: {}", violations.iter().map(Violation::to_string).collect::<Vec<_>>().join(", "), revs(.done))]
    ForeignKeys {
        /// The revision.
        revision: RevisionId,
        /// Up or down.
        direction: Direction,
        /// The migration file.
        file: PathBuf,
        /// The violations (at most the first 20).
        violations: Vec<Violation>,
        /// Revisions completed before it in this run.
        done: Vec<RevisionId>,
    },
    /// A populate script's required revision is not applied.
    #[error("{file} requires revision {requires}, which the database does not have yet; run `upgrade` first")]
    PopulateBehind {
        /// The script.
        file: PathBuf,
        /// The revision it needs.
        requires: RevisionId,
    },
    /// A statement of a populate script failed; nothing of the script was kept.
    #[error("populate script failed at {file}:{line}: {message}; nothing of it was kept")]
    Populate {
        /// The script.
        file: PathBuf,
        /// The failing statement's line.
        line: usize,
        /// SQLite's message.
        message: String,
    },
    /// The backup before a downgrade failed; nothing was changed.
    #[error("cannot back up {path} before the downgrade: {source}; free space or pass `--no-backup`")]
    Backup {
        /// The backup file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

impl Error {
    /// Wraps a SQLite error with what Retort was doing.
    pub fn sqlite(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
        let context = context.into();
        move |source| Error::Sqlite { context, source }
    }
}

/// The migrator's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
