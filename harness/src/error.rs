//! `Error`: everything the migrator can refuse or fail with. Each error is a `Diagnostic`: a
//! lowercase message naming the revision or path, the file and line when there is one, and the
//! fix. `Display` puts the three on one line; the CLI prints them in rustc's shape.

use std::path::{Path, PathBuf};

use retort_build::RevisionId;

use crate::foreign_keys::Mismatch;
use crate::migrator::Direction;
use crate::watch::Refusal;

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

/// What is wrong with a database file itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseProblem {
    /// The file does not exist where one must.
    NotFound,
    /// The path is a directory.
    IsDirectory,
    /// The directory that would hold the file does not exist.
    MissingDirectory(PathBuf),
    /// `:memory:`, an empty path or a `file:` URI: nothing would persist, or the path is not a file.
    NotAFile,
    /// The file or its directory is not writable.
    NotWritable,
    /// The file is not a SQLite database.
    NotADatabase,
    /// A hot journal from an interrupted write, which cannot be rolled back without write access.
    HotJournal,
}

/// Why a statement of a migration stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementCause {
    /// SQLite's error.
    Sql(String),
    /// Retort's authorizer refused the statement.
    Refused(Refusal),
    /// The statement ended the step's transaction.
    LeftTransaction,
}

/// An error in the shape every diagnostic has: message, place, fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// The file and 1-based line, when the error is at one.
    pub location: Option<(PathBuf, usize)>,
    /// How to fix it.
    pub help: Option<String>,
}

/// Whose move an error is, which decides a command's exit code (`cargo xtask`: 1 and 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Something found in the database, its history or the migrations' SQL.
    Found,
    /// A usage or environment problem: a bad target, a path that is no usable database, the
    /// migrations directory invalid, I/O or SQLite failing outside migration SQL.
    Usage,
}

fn revs(list: &[RevisionId]) -> String {
    if list.is_empty() {
        return "nothing".to_string();
    }
    list.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(", ")
}

/// Why the migrator stopped.
///
/// Its `Debug` form is its `Display` form (what went wrong, where, and how to fix it), so that
/// `fn main() -> Result<(), retort::Error>` prints the message a user can act on; match on the
/// variants for the details.
#[non_exhaustive]
pub enum Error {
    /// SQLite failed outside any migration's SQL (opening, reading history, committing).
    Sqlite {
        /// What Retort was doing.
        context: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A file-system operation failed.
    Io {
        /// What Retort was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database file cannot be used as it is.
    Database {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        problem: DatabaseProblem,
    },
    /// The migrations themselves are invalid.
    Migrations(retort_build::Problems),
    /// The history holds revisions these migrations do not have (as recorded, whatever their spelling).
    UnknownApplied(Vec<String>),
    /// Applied revisions whose checksum differs from the migration file now.
    ChecksumMismatch {
        /// (revision, checksum in the database, checksum of the file).
        divergent: Vec<(RevisionId, String, String)>,
    },
    /// The history records a revision without one it needs.
    InconsistentHistory {
        /// The applied revision.
        revision: RevisionId,
        /// An ancestor that is not applied.
        missing: RevisionId,
    },
    /// The history table does not have Retort's columns.
    HistoryShape {
        /// The columns it has.
        columns: Vec<String>,
    },
    /// History rows that cannot be read: one description per row.
    MalformedHistory(Vec<String>),
    /// A target that cannot be used.
    Target(crate::target::TargetError),
    /// A library call the caller made in a state it does not accept (a program error, not the
    /// user's).
    Misuse(String),
    /// A downgrade path crosses an irreversible migration.
    Irreversible {
        /// The revision.
        revision: RevisionId,
        /// Its file.
        file: PathBuf,
        /// The `Irreversible` reason.
        reason: String,
    },
    /// A statement of a migration failed or was refused.
    Statement {
        /// The revision.
        revision: RevisionId,
        /// Up or down.
        direction: Direction,
        /// The migration file.
        file: PathBuf,
        /// The line where the error is.
        line: usize,
        /// What happened.
        cause: StatementCause,
        /// False for a `Transaction: none` migration (then `kept` says what stays).
        transactional: bool,
        /// Statements of a `Transaction: none` migration that were applied and stay: (line, text).
        kept: Vec<(usize, String)>,
        /// Revisions completed before it in this run.
        done: Vec<RevisionId>,
        /// True when the database had tables but no history table when the run began.
        untracked: bool,
    },
    /// `PRAGMA foreign_key_check` found violations; that step was rolled back.
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
    /// The step left a foreign key that cannot work; it was rolled back.
    ForeignKeyMismatch {
        /// The revision.
        revision: RevisionId,
        /// Up or down.
        direction: Direction,
        /// The migration file.
        file: PathBuf,
        /// The keys.
        mismatches: Vec<Mismatch>,
        /// Revisions completed before it in this run.
        done: Vec<RevisionId>,
    },
    /// A populate script requires a revision these migrations do not have.
    UnknownRequires {
        /// The script.
        file: PathBuf,
        /// The revision it names.
        requires: RevisionId,
    },
    /// A populate script's required revision is not applied.
    PopulateBehind {
        /// The script.
        file: PathBuf,
        /// The revision it needs.
        requires: RevisionId,
    },
    /// A statement of a populate script failed or was refused; nothing of the script was kept.
    Populate {
        /// The script.
        file: PathBuf,
        /// The failing statement's line.
        line: usize,
        /// What happened.
        cause: StatementCause,
    },
    /// The backup before a downgrade failed; nothing was changed.
    Backup {
        /// The backup file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

fn cause_text(cause: &StatementCause) -> String {
    match cause {
        StatementCause::Sql(message) => message.clone(),
        StatementCause::Refused(refusal) => refusal.to_string(),
        StatementCause::LeftTransaction => "the statement ended the step's transaction".to_string(),
    }
}

fn at(file: &Path, line: usize) -> Option<(PathBuf, usize)> {
    Some((file.to_path_buf(), line))
}

impl Error {
    /// Whose move this error is.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Target(_)
            | Error::Misuse(_)
            | Error::Sqlite { .. }
            | Error::Io { .. }
            | Error::Backup { .. }
            | Error::Database { .. }
            | Error::Migrations(_)
            | Error::UnknownRequires { .. } => ErrorClass::Usage,
            Error::UnknownApplied(_)
            | Error::ChecksumMismatch { .. }
            | Error::InconsistentHistory { .. }
            | Error::HistoryShape { .. }
            | Error::MalformedHistory(_)
            | Error::Irreversible { .. }
            | Error::Statement { .. }
            | Error::ForeignKeys { .. }
            | Error::ForeignKeyMismatch { .. }
            | Error::PopulateBehind { .. }
            | Error::Populate { .. } => ErrorClass::Found,
        }
    }

    /// Wraps a SQLite error with what Retort was doing.
    pub fn sqlite(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
        let context = context.into();
        move |source| Error::Sqlite { context, source }
    }

    /// The error as message, place and fix.
    pub fn diagnostic(&self) -> Diagnostic {
        let (message, location, help): (String, Option<(PathBuf, usize)>, Option<String>) = match self {
            Error::Sqlite { context, source } => (format!("{context}: {source}"), None, None),
            Error::Io { context, source } => (format!("{context}: {source}"), None, None),
            Error::Database { path, problem } => {
                let p = path.display();
                let (message, help) = match problem {
                    DatabaseProblem::NotFound => (
                        format!("{p} does not exist"),
                        "check the path; only `upgrade` creates a new database".to_string(),
                    ),
                    DatabaseProblem::IsDirectory => {
                        (format!("{p} is a directory, not a database file"), "give the path of the database file".into())
                    }
                    DatabaseProblem::MissingDirectory(dir) => (
                        format!("cannot create {p}: the directory {} does not exist", dir.display()),
                        "create the directory first, or fix the path".into(),
                    ),
                    DatabaseProblem::NotAFile => (
                        format!("`{p}` is not a database file path: an in-memory database or URI would keep nothing"),
                        "give the path of a database file".into(),
                    ),
                    DatabaseProblem::NotWritable => (
                        format!("{p} is not writable: the file or its directory is read-only (SQLite writes a journal next to the database)"),
                        "give your user write permission on the file and its directory, or run as the user that owns them".into(),
                    ),
                    DatabaseProblem::NotADatabase => (
                        format!("{p} is not a SQLite database"),
                        "check the path: the file exists but holds something else".into(),
                    ),
                    DatabaseProblem::HotJournal => (
                        format!("{p} has a journal left by an interrupted write, which only a writable open can roll back"),
                        format!("run the same command as a user who can write {p} and its directory; the first open rolls the interrupted write back"),
                    ),
                };
                (message, None, Some(help))
            }
            Error::Migrations(problems) => (format!("the migrations are invalid:\n{problems}"), None, None),
            Error::UnknownApplied(list) => (
                format!("the database is at revision {}, which these migrations do not contain", list.join(", ")),
                None,
                Some("use the migrations it was built with, or `stamp` it to a known revision".into()),
            ),
            Error::ChecksumMismatch { divergent } => (
                format!(
                    "applied migrations differ from the files: {}",
                    divergent.iter().map(|(r, db, file)| format!("{r} (applied {db}, file {file})")).collect::<Vec<_>>().join("; ")
                ),
                None,
                Some("restore the files as they were applied, or `stamp` if you know the schema matches".into()),
            ),
            Error::InconsistentHistory { revision, missing } => (
                format!("the history is inconsistent: {revision} is applied but {missing} is not"),
                None,
                Some("`verify` the database, then `stamp` it".into()),
            ),
            Error::HistoryShape { columns } => (
                format!("the history table `retort_history` has been altered: its columns are ({})", columns.join(", ")),
                None,
                Some("restore it as Retort created it (revision, checksum, applied_at, duration_ms), or drop it and `stamp` the database to the revision its schema is at".into()),
            ),
            Error::MalformedHistory(rows) => (
                format!("the history table holds rows Retort cannot read: {}", rows.join("; ")),
                None,
                Some("`stamp` the database to the revision its schema is at; it rewrites the history".into()),
            ),
            Error::Target(e) => (e.to_string(), None, None),
            Error::Misuse(message) => (message.clone(), None, None),
            Error::Irreversible { revision, file, reason } => (
                format!("cannot downgrade through {revision}: it is irreversible ({reason})"),
                at(file, 1),
                Some("restore a backup instead".into()),
            ),
            Error::Statement { revision, direction, file, line, cause, transactional, kept, done, untracked } => {
                let mut help = match (transactional, kept.is_empty()) {
                    (true, _) if *cause == StatementCause::LeftTransaction => format!(
                        "the statements of {revision} before this one ran in the transaction it ended, so they may be committed without a history row: `verify` the database and undo them (or restore a backup); applied before it in this run: {}",
                        revs(done)
                    ),
                    (true, _) | (false, true) => {
                        format!("nothing of {revision} was kept; applied before it in this run: {}", revs(done))
                    }
                    (false, false) => format!(
                        "{revision} runs outside a transaction (`Transaction: none`): these of its statements were applied and stay: {}; no history row records them, so `verify` lists them as extra: undo them by hand (or restore a backup), then run the command again; applied before it in this run: {}",
                        kept.iter().map(|(l, t)| format!("line {l} `{t}`")).collect::<Vec<_>>().join(", "),
                        revs(done)
                    ),
                };
                if *untracked {
                    help.push_str("; the database already had tables but no history table `retort_history` (was it dropped?): if its schema was built by these migrations, `stamp` it to the revision it is at instead of upgrading");
                }
                (format!("{direction} {revision} failed: {}", cause_text(cause)), at(file, *line), Some(help))
            }
            Error::ForeignKeys { revision, direction, file, violations, done } => (
                format!(
                    "{direction} {revision} leaves foreign key violations: {}",
                    violations.iter().map(Violation::to_string).collect::<Vec<_>>().join(", ")
                ),
                at(file, 1),
                Some(format!("the step was rolled back; applied before it in this run: {}", revs(done))),
            ),
            Error::ForeignKeyMismatch { revision, direction, file, mismatches, done } => (
                format!(
                    "{direction} {revision} leaves foreign keys that cannot work: {}",
                    mismatches.iter().map(Mismatch::to_string).collect::<Vec<_>>().join("; ")
                ),
                at(file, 1),
                Some(format!(
                    "a foreign key must name an existing table and its primary key or unique columns; the step was rolled back; applied before it in this run: {}",
                    revs(done)
                )),
            ),
            Error::UnknownRequires { file, requires } => (
                format!("{} requires revision {requires}, which these migrations do not contain", file.display()),
                None,
                Some("fix its `Requires:` line".into()),
            ),
            Error::PopulateBehind { file, requires } => (
                format!("{} requires revision {requires}, which the database does not have yet", file.display()),
                None,
                Some("run `upgrade` first".into()),
            ),
            Error::Populate { file, line, cause } => (
                format!("populate script failed: {}", cause_text(cause)),
                at(file, *line),
                Some("nothing of the script was kept".into()),
            ),
            Error::Backup { path, source } => (
                format!("cannot back up the database to {} before the downgrade: {source}", path.display()),
                None,
                Some("nothing was changed; free space or pass `--no-backup`".into()),
            ),
        };
        Diagnostic { message, location, help }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.diagnostic();
        f.write_str(&d.message)?;
        if let Some((file, line)) = &d.location {
            write!(f, " at {}:{line}", file.display())?;
        }
        if let Some(help) = &d.help {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sqlite { source, .. } | Error::Backup { source, .. } => Some(source),
            Error::Io { source, .. } => Some(source),
            Error::Migrations(problems) => Some(problems),
            _ => None,
        }
    }
}

impl From<retort_build::Problems> for Error {
    fn from(problems: retort_build::Problems) -> Error {
        Error::Migrations(problems)
    }
}

/// The migrator's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
