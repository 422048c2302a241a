//! The migrator (SPEC §6): upgrade, downgrade, stamp and offline scripts over one SQLite database.
//!
//! Guarantees: **a migration and its history row commit together or not at all** (one
//! `BEGIN IMMEDIATE` transaction each, unless the migration says `Transaction: none`); nothing is
//! written before the history is validated (known revisions, matching checksums, consistent);
//! a downgrade refuses up front when it would cross an irreversible migration; two processes
//! upgrading one file apply each migration once, because each step re-reads the history inside
//! its own write transaction; every step starts from the connection settings Retort pins
//! (`settings.rs`), and its SQL runs under the authorizer's guard (`watch.rs`): no transaction
//! control inside Retort's transaction, no other database file, no access to the history.
//!
//! One file per concept: `report.rs` (what a run says), `plan.rs` (which revisions a target
//! means), `session.rs` (running steps and populate scripts under pinned settings and the
//! authorizer), `stamp.rs` (history repair) and `script.rs` (offline SQL).

mod plan;
mod report;
mod script;
mod session;
mod stamp;

pub use report::{Direction, DowngradeOptions, Report, StampReport, State, Step};
pub use session::Session;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use retort_build::{Migration, MigrationSet, RevisionId, Section};

use crate::embedded::Migrations;
use crate::error::{Error, Result};
use crate::history::{self, Applied};
use crate::target::{Target, TargetError};
use crate::verify::{CheckedHistory, HistoryProblem, check_history};

/// Migrates databases with one set of migrations.
#[derive(Clone, Debug)]
pub struct Migrator {
    set: MigrationSet,
}

impl Migrator {
    /// A migrator for `set`.
    pub fn new(set: MigrationSet) -> Migrator {
        Migrator { set }
    }

    /// A migrator for migrations embedded by `retort_build::Embed`.
    pub fn embedded(migrations: &Migrations) -> Result<Migrator> {
        Ok(Migrator::new(migrations.load()?))
    }

    /// A migrator for the migrations directory `dir` on disk (lock drift and unlocked
    /// migrations are not judged here; the build script and `cargo xtask lock --check` do that).
    pub fn from_dir(dir: &Path) -> Result<Migrator> {
        let root = dir.parent().unwrap_or(dir);
        Ok(Migrator::new(retort_build::load(dir, root, retort_build::LockPolicy::Lenient).into_set()?))
    }

    /// The migrations.
    pub fn set(&self) -> &MigrationSet {
        &self.set
    }

    fn migration(&self, rev: &RevisionId) -> Result<&Migration> {
        self.set.get(rev).ok_or(Error::Target(TargetError::NotAMigration(*rev)))
    }

    /// The section `m` runs in `direction`; an irreversible migration has no down.
    fn section<'m>(&self, m: &'m Migration, direction: Direction) -> Result<&'m Section> {
        match direction {
            Direction::Up => Ok(&m.up),
            Direction::Down => m.down.as_ref().ok_or_else(|| Error::Irreversible {
                revision: m.revision,
                file: m.file.clone(),
                reason: m.irreversible.clone().unwrap_or_default(),
            }),
        }
    }

    /// Reads and validates the history: every applied revision known, checksums equal, ancestry
    /// complete. Writes nothing.
    pub fn state(&self, conn: &Connection) -> Result<State> {
        let rows = history::read(conn)?;
        self.validate(rows)
    }

    fn validate(&self, rows: Vec<Applied>) -> Result<State> {
        let CheckedHistory { applied, problems } = check_history(&self.set, &rows);
        let unknown: Vec<String> = problems
            .iter()
            .filter_map(|p| if let HistoryProblem::Unknown(rev) = p { Some(rev.clone()) } else { None })
            .collect();
        if !unknown.is_empty() {
            return Err(Error::UnknownApplied(unknown));
        }
        let divergent: Vec<(RevisionId, String, String)> = problems
            .iter()
            .filter_map(|p| match p {
                HistoryProblem::ChecksumDrift { revision, recorded, file } => {
                    Some((*revision, recorded.clone(), file.clone()))
                }
                _ => None,
            })
            .collect();
        if !divergent.is_empty() {
            return Err(Error::ChecksumMismatch { divergent });
        }
        if let Some(HistoryProblem::MissingAncestor { revision, missing }) = problems.first() {
            return Err(Error::InconsistentHistory { revision: *revision, missing: *missing });
        }
        Ok(State { applied, rows })
    }

    /// Upgrades to `target`, calling `on_step` after each migration.
    pub fn upgrade(&self, conn: &mut Connection, target: Target, on_step: &mut dyn FnMut(&Step)) -> Result<Report> {
        let state = self.state(conn)?;
        let path = self.plan(&state, Direction::Up, target)?;
        self.run(conn, &path, Direction::Up, on_step)
    }

    /// Downgrades to `target`, after a backup unless `options` say not to.
    pub fn downgrade(
        &self,
        conn: &mut Connection,
        target: Target,
        options: DowngradeOptions,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Report> {
        let (path, backup) = self.prepare_downgrade(conn, target, options)?;
        let mut report = self.run(conn, &path, Direction::Down, on_step)?;
        report.backup = backup;
        Ok(report)
    }

    /// The first half of `downgrade`: validates the history, plans the path (refusing one that
    /// crosses an irreversible migration) and takes the backup unless `options` say not to.
    /// Returns the path to `run` and where the backup is, so a caller can show it before the
    /// first step.
    pub fn prepare_downgrade(
        &self,
        conn: &Connection,
        target: Target,
        options: DowngradeOptions,
    ) -> Result<(Vec<RevisionId>, Option<PathBuf>)> {
        let state = self.state(conn)?;
        let path = self.plan(&state, Direction::Down, target)?;
        let backup = match (options.backup, path.is_empty(), conn.path().filter(|p| !p.is_empty())) {
            (true, false, Some(db)) => Some(crate::backup::backup(conn, Path::new(db))?),
            _ => None,
        };
        Ok((path, backup))
    }

    /// Runs `path` step by step. Foreign-key enforcement is off for the run (restored after)
    /// and SQLite's authorizer records what each step touches.
    pub fn run(
        &self,
        conn: &mut Connection,
        path: &[RevisionId],
        direction: Direction,
        on_step: &mut dyn FnMut(&Step),
    ) -> Result<Report> {
        if path.is_empty() {
            return Ok(Report::default());
        }
        let mut session = self.session(conn)?;
        let report = session.run(path, direction, on_step)?;
        session.close()?;
        Ok(report)
    }
}
