//! Checking a history against the migrations, and `Migrator::verify`: a live database compared
//! with what its history says it should be.
//!
//! One validator (`check_history`) serves both: `Migrator::state` refuses to go on when it finds
//! anything, `verify` reports everything it finds.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use retort_build::{MigrationSet, RevisionId};

use crate::error::{Error, Result, Violation};
use crate::foreign_keys::{self, Mismatch};
use crate::history::{self, Applied};
use crate::migrator::{Direction, Migrator};
use crate::snapshot::{Change, Schema};

/// Something wrong with a history, as the migrations see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryProblem {
    /// A recorded revision these migrations do not contain (as recorded).
    Unknown(String),
    /// A revision recorded with another checksum than its file has now.
    ChecksumDrift {
        /// The revision.
        revision: RevisionId,
        /// The checksum the history recorded when it was applied.
        recorded: String,
        /// The checksum its file has now.
        file: String,
    },
    /// A recorded revision whose parent or dependency is not recorded.
    MissingAncestor {
        /// The recorded revision.
        revision: RevisionId,
        /// Its first parent or dependency that is not recorded.
        missing: RevisionId,
    },
}

impl std::fmt::Display for HistoryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryProblem::Unknown(rev) => {
                write!(f, "the history records {rev}, which these migrations do not contain")
            }
            HistoryProblem::ChecksumDrift { revision, recorded, file } => {
                write!(f, "{revision} was applied with checksum {recorded} but its file now has {file}")
            }
            HistoryProblem::MissingAncestor { revision, missing } => {
                write!(f, "the history records {revision} but not {missing}, which it needs")
            }
        }
    }
}

/// What a history says: the known revisions it records, and every problem with it (unknown
/// revisions in row order, then checksum drift and missing ancestors in topological order).
pub(crate) struct CheckedHistory {
    pub applied: BTreeSet<RevisionId>,
    pub problems: Vec<HistoryProblem>,
}

/// Checks `rows` against `set`: every recorded revision known, checksums equal, ancestry
/// complete.
pub(crate) fn check_history(set: &MigrationSet, rows: &[Applied]) -> CheckedHistory {
    let mut problems = Vec::new();
    let mut by_revision: BTreeMap<RevisionId, &Applied> = BTreeMap::new();
    for row in rows {
        match RevisionId::parse(&row.revision).filter(|rev| set.get(rev).is_some()) {
            Some(rev) => {
                by_revision.insert(rev, row);
            }
            None => problems.push(HistoryProblem::Unknown(row.revision.clone())),
        }
    }
    let applied: BTreeSet<RevisionId> = by_revision.keys().copied().collect();
    let graph = set.graph();
    for rev in graph.sorted(applied.iter().copied()) {
        let (recorded, file) = (&by_revision[&rev].checksum, set.checksum(&rev));
        if *recorded != file {
            problems.push(HistoryProblem::ChecksumDrift {
                revision: rev,
                recorded: recorded.clone(),
                file: file.into(),
            });
        }
    }
    for (revision, missing) in graph.missing_ancestors(&applied) {
        problems.push(HistoryProblem::MissingAncestor { revision, missing });
    }
    CheckedHistory { applied, problems }
}

/// One difference `verify` found.
#[derive(Clone, Debug)]
pub enum VerifyFinding {
    /// The history itself: an unknown revision, checksum drift, a missing ancestor.
    History(HistoryProblem),
    /// An object the recorded migrations build that the database lacks.
    Missing(Change),
    /// An object in the database that no recorded migration creates.
    Extra(Change),
    /// An object that differs from what the recorded migrations build.
    Different(Change),
    /// A foreign key that cannot work (its parent has no such unique key).
    ForeignKeyMismatch(Mismatch),
    /// A row whose foreign key points at no parent row.
    ForeignKeyViolation(Violation),
}

impl std::fmt::Display for VerifyFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let object = |f: &mut std::fmt::Formatter<'_>, what: &str, change: &Change, detail: &str| {
            write!(f, "{what}: {} ({detail})\n{}", change.object(), change.to_string().trim_end())
        };
        match self {
            VerifyFinding::History(problem) => problem.fmt(f),
            VerifyFinding::Missing(c) => object(f, "missing", c, "migration marked applied but changes absent"),
            VerifyFinding::Extra(c) => object(f, "extra", c, "not created by any recorded migration"),
            VerifyFinding::Different(c) => object(f, "different", c, "differs from what the recorded migrations build"),
            VerifyFinding::ForeignKeyMismatch(m) => write!(f, "foreign key that cannot work: {m}"),
            VerifyFinding::ForeignKeyViolation(v) => write!(f, "foreign key violation: {v}"),
        }
    }
}

/// What `Migrator::verify` found.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// The known revisions the history records.
    pub recorded: BTreeSet<RevisionId>,
    /// Every difference, history first, then schema objects, then foreign keys.
    pub findings: Vec<VerifyFinding>,
}

impl Migrator {
    /// Compares the database on `conn` with what its history says it should be: the history
    /// against the migrations, the schema against the one its recorded revisions build (replayed
    /// on a private in-memory database; a revision recorded without its ancestors is not
    /// replayed), and its foreign keys. Writes nothing to `conn`.
    pub fn verify(&self, conn: &Connection) -> Result<VerifyReport> {
        let rows = history::read(conn)?;
        let CheckedHistory { applied: recorded, problems } = check_history(self.set(), &rows);
        let mut findings: Vec<VerifyFinding> = problems.into_iter().map(VerifyFinding::History).collect();
        // The schema the recorded revisions build, replayed on an in-memory database: those whose
        // ancestors are all recorded (the others cannot run; their objects show as extra).
        let graph = self.set().graph();
        let (mut path, mut built) = (Vec::new(), BTreeSet::new());
        for rev in graph.sorted(recorded.iter().copied()) {
            if graph.parents(&rev).iter().chain(graph.depends_on(&rev)).all(|p| built.contains(p)) {
                built.insert(rev);
                path.push(rev);
            }
        }
        let mut expected_db =
            Connection::open_in_memory().map_err(Error::sqlite("cannot open an in-memory database"))?;
        self.run(&mut expected_db, &path, Direction::Up, &mut |_| {})?;
        let expected = Schema::read(&expected_db)?;
        let actual = Schema::read(conn)?;
        findings.extend(expected.diff(&actual).into_iter().map(|change| match change {
            Change::Removed(_) => VerifyFinding::Missing(change),
            Change::Added(_) => VerifyFinding::Extra(change),
            Change::Changed(..) => VerifyFinding::Different(change),
        }));
        let mismatches = foreign_keys::mismatches(conn)?;
        // SQLite cannot check rows against a key that cannot work.
        let violations = if mismatches.is_empty() { foreign_keys::violations(conn)? } else { Vec::new() };
        findings.extend(mismatches.into_iter().map(VerifyFinding::ForeignKeyMismatch));
        findings.extend(violations.into_iter().map(VerifyFinding::ForeignKeyViolation));
        Ok(VerifyReport { recorded, findings })
    }
}
