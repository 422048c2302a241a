//! `Problem`: one thing wrong with the migration directory, located at a file and line, with the
//! fix. Every parser and checker in this crate reports `Problem`s and collects all of them before
//! failing, so one build or one `lint` shows everything at once.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::key::Key;
use crate::revision::RevisionId;

/// Where a problem is: a workspace-relative file and a 1-based line (0 when the whole file).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The file, as shown to the user (relative to the workspace root when possible).
    pub file: PathBuf,
    /// 1-based line number; 0 means the file as a whole.
    pub line: usize,
}

impl Location {
    /// A location at `line` of `file`.
    pub fn new(file: &Path, line: usize) -> Location {
        Location { file: file.to_path_buf(), line }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// Whether a problem stops the build or only informs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The build, `lock --check` and `migrate-test` fail.
    Error,
    /// Reported, but nothing fails because of it alone.
    Warning,
}

/// What is wrong. Messages are lowercase without a trailing period; `help` says how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The file is not valid UTF-8.
    #[error("file is not valid UTF-8")]
    NotUtf8,
    /// A file in the migrations directory that Retort does not know what to do with.
    #[error("unexpected file in the migrations directory")]
    StrayFile,
    /// A `.sql` file whose name is not `<12 hex digits>_<slug>.sql`.
    #[error("migration file name must be `<revision>_<slug>.sql` with a 12-digit lowercase hex revision")]
    BadFileName,
    /// The file does not start with a `--` comment header.
    #[error("migration has no header: the file must start with a `--` comment block")]
    MissingHeader,
    /// The header's first line (the message) is empty.
    #[error("the header's first line must be the migration message")]
    MissingMessage,
    /// A required header key is absent.
    #[error("missing header key `{0}`")]
    MissingKey(Key),
    /// A key appears twice.
    #[error("duplicate header key `{key}` (first on line {first_line})")]
    DuplicateKey {
        /// The key.
        key: Key,
        /// Where it first appeared.
        first_line: usize,
    },
    /// A line that looks like a key but is none of the known keys.
    #[error("unknown header key `{key}`")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The closest known key, if any is close.
        suggestion: Option<Key>,
    },
    /// A line that spells a known key almost right (case, spaces around the colon).
    #[error("header line `{written}` looks like the key `{key}` but is not written as one")]
    MalformedKey {
        /// The line as written.
        written: String,
        /// The key it was meant to be.
        key: Key,
    },
    /// A statement that opens, ends or nests a transaction, in a migration that runs in one.
    #[error("`{verb}` in a migration that runs in a transaction")]
    TransactionControl {
        /// The statement's verb (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`).
        verb: String,
    },
    /// The lock file holds git conflict markers.
    #[error("the lock has a merge conflict")]
    LockConflict,
    /// A key's value is malformed.
    #[error("bad value for `{key}`: {reason}")]
    BadValue {
        /// The key.
        key: Key,
        /// What is wrong with the value.
        reason: String,
    },
    /// `Revision ID` differs from the file name's revision.
    #[error("`Revision ID: {header}` does not match the file name's revision `{file}`")]
    RevisionMismatch {
        /// The revision in the header.
        header: String,
        /// The revision in the file name.
        file: RevisionId,
    },
    /// The `-- migrate:up` section is absent.
    #[error("missing `-- migrate:up` section")]
    MissingUp,
    /// The `-- migrate:up` section holds no SQL.
    #[error("the `-- migrate:up` section is empty")]
    EmptyUp,
    /// No `-- migrate:down` section and no `Irreversible` key.
    #[error("missing `-- migrate:down` section")]
    MissingDown,
    /// A `-- migrate:down` section in a migration marked `Irreversible`.
    #[error("an `Irreversible` migration must not have a `-- migrate:down` section")]
    DownInIrreversible,
    /// A section marker appears twice or in the wrong order.
    #[error("section `-- migrate:{0}` appears out of place")]
    MisplacedSection(&'static str),
    /// A `-- migrate:<name>` marker with an unknown name.
    #[error("unknown section marker `{0}`")]
    UnknownSection(String),
    /// Text between the header and the first section.
    #[error("text outside the header and the `-- migrate:` sections")]
    TextOutsideSections,
    /// Two files share one revision.
    #[error("duplicate revision {revision}: also defined in {other}")]
    DuplicateRevision {
        /// The revision.
        revision: RevisionId,
        /// The other file.
        other: PathBuf,
    },
    /// A `Revises` or `Depends On` entry names no known revision.
    #[error("`{key}` names unknown revision {revision}")]
    UnknownRevision {
        /// `Revises`, `Depends On` or (populate scripts) `Requires`.
        key: Key,
        /// The unknown revision.
        revision: RevisionId,
    },
    /// The graph has a cycle.
    #[error("revision cycle: {}", cycle.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(" -> "))]
    Cycle {
        /// The revisions in the cycle, first repeated at the end.
        cycle: Vec<RevisionId>,
    },
    /// A branch label is used by two revisions.
    #[error("branch label `{label}` is also used by {other}")]
    DuplicateLabel {
        /// The label.
        label: String,
        /// The other revision.
        other: RevisionId,
    },
    /// A line of the lock file cannot be read.
    #[error("malformed lock file line: {0}")]
    MalformedLock(String),
    /// The lock's `total` does not match its entries.
    #[error("the lock file's `total` does not match its entries (edited by hand or merged)")]
    LockTotalMismatch,
    /// A locked migration's content changed.
    #[error("checksum drift in locked migration {revision}: locked {locked}, file now {actual}")]
    Drift {
        /// The revision.
        revision: RevisionId,
        /// The checksum in the lock.
        locked: String,
        /// The checksum of the file now.
        actual: String,
    },
    /// A locked revision's file is gone.
    #[error("locked migration {revision} ({file}) is missing")]
    MissingLocked {
        /// The revision.
        revision: RevisionId,
        /// The file the lock names.
        file: String,
    },
    /// A migration not yet in the lock.
    #[error("migration {0} is not in the lock file")]
    Unlocked(RevisionId),
    /// The lock lists entries in another order or under other file names than now.
    #[error("the lock file is stale: {0}")]
    StaleLock(String),
    /// The lock file is absent while migrations exist.
    #[error("no lock file")]
    NoLock,
    /// A file or directory that cannot be read.
    #[error("cannot read the {what}: {reason}")]
    Io {
        /// `file` or `migrations directory`.
        what: &'static str,
        /// The operating system's reason.
        reason: String,
    },
    /// A finding of the static lint.
    #[error("{0}")]
    Lint(String),
    /// A file of a foreign layout (diesel, sqlx, …) as its tool reads it; the help is given
    /// with it.
    #[error("{0}")]
    Foreign(String),
}

impl ProblemKind {
    /// How to fix it, as a `help:` line; `None` when the message says it all. `command` is how
    /// the user runs Retort (`cargo retort`, or a project's own alias, with the flags they
    /// gave), for the commands the help names.
    pub fn help(&self, command: &str) -> Option<String> {
        use ProblemKind::*;
        Some(match self {
            NotUtf8 => "save the file as UTF-8".into(),
            StrayFile => "migrations/ holds only `<revision>_<slug>.sql` files, `retort.lock` and `populate/`; move the file elsewhere".into(),
            BadFileName => format!("create migrations with `{command} revision -m \"message\"`"),
            MissingHeader | MissingMessage => format!("start the file with `-- <message>`, then the header keys; `{command} revision` writes a template"),
            MissingKey(key) => format!("add `-- {key}: …` to the header"),
            DuplicateKey { .. } => "keep one of the two lines".into(),
            UnknownKey { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            MalformedKey { key, .. } => format!("did you mean `-- {key}: <value>`? (exact case, no space before the colon, one after)"),
            TransactionControl { .. } => "Retort commits each migration together with its history row, so a migration must not end or nest that transaction: remove the statement, or add `-- Transaction: none` to the header if the migration must manage its own transactions".into(),
            LockConflict => format!("run `{command} lock`: it keeps the entries of both sides, each checked against its file, and refuses any that drifted"),
            UnknownKey { suggestion: None, .. } => "known keys: Revision ID, Revises, Create Date, Depends On, Branch Labels, Tables affected, Transaction, Irreversible, Allow; free text must not look like `Key: value`".into(),
            BadValue { key, .. } => key.value_help().into(),
            RevisionMismatch { file, .. } => format!("set `Revision ID: {file}` or rename the file"),
            MissingUp | EmptyUp => "add `-- migrate:up` followed by the migration's SQL".into(),
            MissingDown => "add `-- migrate:down` with SQL that undoes `up`, or `-- Irreversible: <reason>` to the header".into(),
            DownInIrreversible => "remove the `-- migrate:down` section or the `Irreversible` key".into(),
            MisplacedSection(_) | UnknownSection(_) => "a migration has one `-- migrate:up` section, then one `-- migrate:down` section".into(),
            TextOutsideSections => "move the text into the header (as `-- ` comment lines) or into a section".into(),
            DuplicateRevision { .. } => format!("give one of the files a new revision with `{command} revision`"),
            UnknownRevision { .. } => "fix the revision id, or restore the missing migration".into(),
            Cycle { .. } => "a migration must not revise one of its own descendants; fix the `Revises` or `Depends On` lines".into(),
            DuplicateLabel { .. } => "branch labels must be unique; rename one".into(),
            MalformedLock(_) | LockTotalMismatch | StaleLock(_) | NoLock | Unlocked(_) => format!("run `{command} lock`"),
            Drift { revision, .. } => format!(
                "if {revision} is not committed yet (still being written), run `{command} lock` to re-pin it; otherwise revert the edit and put the change in a new migration (`{command} revision -m \"…\"`): a released migration must not change (if it was never applied anywhere, `{command} lock --relock {revision}` re-pins it)"
            ),
            MissingLocked { revision, .. } => format!(
                "restore the file from version control; if {revision} is not committed yet, `{command} lock` drops it from the lock, and if it was committed but never released, `{command} lock --relock {revision}` does"
            ),
            Io { .. } => "check that the path exists and is readable".into(),
            Lint(_) | Foreign(_) => return None,
        })
    }
}

/// How a user runs Retort unless told otherwise: the command `cargo install` gives.
pub const DEFAULT_COMMAND: &str = "cargo retort";

/// One problem at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Where.
    pub location: Location,
    /// What.
    pub kind: ProblemKind,
    /// A fix more specific than the kind's default help.
    pub help: Option<String>,
}

impl Problem {
    /// An error at `file:line`.
    pub fn error(file: &Path, line: usize, kind: ProblemKind) -> Problem {
        Problem { severity: Severity::Error, location: Location::new(file, line), kind, help: None }
    }

    /// A warning at `file:line`.
    pub fn warning(file: &Path, line: usize, kind: ProblemKind) -> Problem {
        Problem { severity: Severity::Warning, location: Location::new(file, line), kind, help: None }
    }

    /// The same problem as a warning.
    pub fn into_warning(self) -> Problem {
        Problem { severity: Severity::Warning, ..self }
    }

    /// Replaces the default help.
    pub fn with_help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    /// The help line shown under the message, naming commands as `command` (see
    /// `ProblemKind::help`).
    pub fn help_text(&self, command: &str) -> Option<String> {
        self.help.clone().or_else(|| self.kind.help(command))
    }

    /// `one_line_with` for a user who runs `cargo retort`.
    pub fn one_line(&self) -> String {
        self.one_line_with(DEFAULT_COMMAND)
    }

    /// One line, no newline inside: `file:line: message; help: fix` (the `cargo::error=` form).
    pub fn one_line_with(&self, command: &str) -> String {
        match self.help_text(command) {
            Some(help) => format!("{}: {}; help: {}", self.location, self.kind, help),
            None => format!("{}: {}", self.location, self.kind),
        }
    }

    /// One line for a build script's `cargo::error=` (or `cargo::warning=`), the fix first:
    /// `fix: <help> — file:line: message` (`file:line: message` when there is no fix to name).
    pub fn build_line_with(&self, command: &str) -> String {
        match self.help_text(command) {
            Some(help) => format!("fix: {help} — {}: {}", self.location, self.kind),
            None => format!("{}: {}", self.location, self.kind),
        }
    }

    /// `render_with` for a user who runs `cargo retort`.
    pub fn render(&self) -> String {
        self.render_with(DEFAULT_COMMAND)
    }

    /// rustc's shape: `error: message`, `  --> file:line`, `  = help: fix`.
    pub fn render_with(&self, command: &str) -> String {
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{word}: {}\n  --> {}\n", self.kind, self.location);
        if let Some(help) = self.help_text(command) {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

/// Every problem found, sorted by place: the error type of this crate's loaders.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_all(.0))]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Sorts by file and line, errors first at the same place, and returns `Err` if any is an error.
    pub fn into_result(mut self) -> Result<Vec<Problem>, Problems> {
        self.0.sort_by(|a, b| (&a.location, a.severity).cmp(&(&b.location, b.severity)));
        if self.0.iter().any(Problem::is_error) { Err(self) } else { Ok(self.0) }
    }
}

fn render_all(problems: &[Problem]) -> String {
    problems.iter().map(Problem::render).collect::<Vec<_>>().join("\n")
}
