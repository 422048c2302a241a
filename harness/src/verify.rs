//! Checking a history against the migrations, and `Migrator::verify`: a live database compared
//! with what its history says it should be.
//!
//! One validator (`check_history`) serves both: `Migrator::state` refuses to go on when it finds
//! anything, `verify` reports everything it finds, and `repair` plans the SQL that brings the
//! schema back (`autogen`).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use retort_build::{MigrationSet, RevisionId};

use crate::autogen::{self, Catalog, Entry};
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

/// Why `Migrator::repair` planned nothing.
#[derive(Debug)]
pub enum RepairRefusal {
    /// The history has problems; they come first.
    History(Vec<HistoryProblem>),
    /// No SQL brings the schema back exactly: each reason names the object.
    NotExact(Vec<String>),
    /// SQLite failed reading the database or replaying its history.
    Sqlite(Box<Error>),
}

impl From<Error> for RepairRefusal {
    fn from(e: Error) -> RepairRefusal {
        RepairRefusal::Sqlite(Box::new(e))
    }
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

/// What `Migrator::repair` plans.
#[derive(Clone, Debug)]
pub struct Repair {
    /// The SQL that brings the schema back (empty when nothing differs), proven on a copy of
    /// the schema: after it, the schema equals what the recorded revisions build (and the
    /// extra objects kept).
    pub sql: String,
    /// What it does, per table or view.
    pub changes: Vec<(String, String)>,
    /// Objects no recorded migration creates, left in place (`kind name`).
    pub extra_kept: Vec<String>,
    /// Objects no recorded migration creates, dropped (`--drop-extra`), and columns a rebuild
    /// leaves out: (table, column).
    pub lost: Vec<(String, Option<String>)>,
}

impl Migrator {
    /// The schema the recorded revisions build, replayed on an in-memory database: those whose
    /// ancestors are all recorded (the others cannot run; their objects show as extra).
    fn built_by(&self, recorded: &BTreeSet<RevisionId>) -> Result<Connection> {
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
        Ok(expected_db)
    }

    /// The SQL that brings the schema of the database on `conn` back to the one its recorded
    /// revisions build (`verify`'s missing and different objects): missing objects created,
    /// changed ones recreated, a changed table rebuilt with its rows copied. Objects no
    /// recorded migration creates are kept unless `drop_extra`. Refused while the history
    /// itself has a problem (the schema it should build is then unknown). Writes nothing.
    pub fn repair(&self, conn: &Connection, drop_extra: bool) -> std::result::Result<Repair, RepairRefusal> {
        let rows = history::read(conn)?;
        let CheckedHistory { applied: recorded, problems } = check_history(self.set(), &rows);
        if !problems.is_empty() {
            return Err(RepairRefusal::History(problems));
        }
        let expected = Catalog::read(&self.built_by(&recorded)?)?;
        let live = Catalog::read(conn)?;
        let extra: Vec<Entry> =
            live.entries().iter().filter(|e| expected.get(e.kind, &e.name).is_none()).cloned().collect();
        let extra_kept: Vec<String> =
            if drop_extra { Vec::new() } else { extra.iter().map(|e| format!("{} {}", e.kind, e.name)).collect() };
        let target = if drop_extra || extra.is_empty() {
            expected
        } else {
            expected.with(extra).map_err(|e| RepairRefusal::NotExact(vec![format!(
                "the objects no recorded migration creates cannot be kept beside the repaired schema ({e}); pass --drop-extra, or repair by hand"
            )]))?
        };
        match autogen::generate(&live, &target, &[]) {
            Ok(g) => Ok(Repair { sql: g.up, changes: g.changes, extra_kept, lost: g.dropped }),
            Err(autogen::Failure::Sqlite(e)) => Err(RepairRefusal::Sqlite(e)),
            Err(autogen::Failure::NotExact(reasons)) => Err(RepairRefusal::NotExact(reasons)),
            Err(autogen::Failure::Rename(m)) => Err(RepairRefusal::NotExact(vec![m])),
        }
    }

    /// Compares the database on `conn` with what its history says it should be: the history
    /// against the migrations, the schema against the one its recorded revisions build (replayed
    /// on a private in-memory database; a revision recorded without its ancestors is not
    /// replayed), and its foreign keys. Writes nothing to `conn`.
    pub fn verify(&self, conn: &Connection) -> Result<VerifyReport> {
        let rows = history::read(conn)?;
        let CheckedHistory { applied: recorded, problems } = check_history(self.set(), &rows);
        let mut findings: Vec<VerifyFinding> = problems.into_iter().map(VerifyFinding::History).collect();
        let expected_db = self.built_by(&recorded)?;
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
