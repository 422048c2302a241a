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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use retort_build::{Migration, MigrationSet, RevisionId, Section, TransactionMode};

use crate::Migrations;
use crate::error::{DatabaseProblem, Error, Result, StatementCause};
use crate::exec::{Failure, Mode, run_section};
use crate::foreign_keys;
use crate::history::{self, Applied};
use crate::settings::Settings;
use crate::target::{Target, TargetError};
use crate::verify::{CheckedHistory, HistoryProblem, check_history};
use crate::watch::{Access, Footprint, Policy, Watch};

/// Up or down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Apply.
    Up,
    /// Revert.
    Down,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        })
    }
}

/// One migration run (or skipped because another process ran it first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The revision.
    pub revision: RevisionId,
    /// Up or down.
    pub direction: Direction,
    /// How long its SQL took.
    pub duration: Duration,
    /// False for `Transaction: none` migrations.
    pub transactional: bool,
    /// True when another process had already done it.
    pub skipped: bool,
    /// What its statements touched, as SQLite's authorizer saw it.
    pub touched: Vec<Access>,
    /// What its statements did to the schema and beyond the rows (for schema reads and proofs).
    pub footprint: Footprint,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The backup taken before a downgrade.
    pub backup: Option<PathBuf>,
}

/// The validated state of a database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Applied revisions.
    pub applied: BTreeSet<RevisionId>,
    /// The history rows, in the order applied.
    pub rows: Vec<Applied>,
}

/// What `stamp` changed in the history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StampReport {
    /// Rows added.
    pub added: Vec<RevisionId>,
    /// Rows removed (revision text, as it may be unknown).
    pub removed: Vec<String>,
}

/// Options of a downgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DowngradeOptions {
    /// Take an online backup next to the database before the first step.
    pub backup: bool,
}

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

    /// The revisions an upgrade or downgrade to `target` would run, in order; refuses a
    /// downgrade through an irreversible migration.
    pub fn plan(&self, state: &State, direction: Direction, target: Target) -> Result<Vec<RevisionId>> {
        let graph = self.set.graph();
        let applied = &state.applied;
        let path = match (direction, target) {
            (Direction::Up, Target::Head) => graph.upgrade_path(applied, &[Target::single_head(graph)?]),
            (Direction::Up, Target::Heads) => graph.upgrade_path(applied, &graph.heads()),
            (Direction::Up, Target::Revision(rev)) => graph.upgrade_path(applied, &[rev]),
            (Direction::Up, Target::Relative(n)) if n > 0 => {
                let all = graph.upgrade_path(applied, &graph.heads());
                take(all, n, Direction::Up)?
            }
            (Direction::Down, Target::Base) => graph.downgrade_path(applied, &[]),
            (Direction::Down, Target::Revision(rev)) => {
                if !applied.contains(&rev) {
                    return Err(Error::Target(TargetError::NotApplied(rev)));
                }
                let mut path = graph.sorted(graph.descendants(&[rev]).into_iter().filter(|r| applied.contains(r)));
                path.reverse();
                path
            }
            (Direction::Down, Target::Relative(n)) if n < 0 => {
                let mut all = graph.sorted(applied.iter().copied());
                all.reverse();
                take(all, -n, Direction::Down)?
            }
            (direction, _) => return Err(Error::Target(TargetError::WrongDirection(direction))),
        };
        if direction == Direction::Down {
            for rev in &path {
                self.section(self.migration(rev)?, Direction::Down)?;
            }
        }
        Ok(path)
    }

    /// Upgrades to `target`, calling `on_step` after each migration.
    pub fn upgrade(&self, conn: &Connection, target: Target, on_step: &mut dyn FnMut(&Step)) -> Result<Report> {
        let state = self.state(conn)?;
        let path = self.plan(&state, Direction::Up, target)?;
        self.run(conn, &path, Direction::Up, on_step)
    }

    /// Downgrades to `target`, after a backup unless `options` say not to.
    pub fn downgrade(
        &self,
        conn: &Connection,
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
        conn: &Connection,
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

    /// Starts a session on `conn`: foreign-key enforcement off and the authorizer recording,
    /// until `Session::close` (or drop) restores them. Runs of single steps (the harness) share
    /// one session instead of paying that setup per step.
    pub fn session<'c>(&'c self, conn: &'c Connection) -> Result<Session<'c>> {
        self.session_pinned(conn, Settings::pin(conn)?)
    }

    /// A session on `conn`, whose settings the caller knows to be `opened` (see
    /// `Settings::pin_known`): the harness opens every database of a run alike, so it reads
    /// their settings once instead of once per step.
    #[cfg(feature = "harness")]
    pub(crate) fn session_known<'c>(&'c self, conn: &'c Connection, opened: &Settings) -> Result<Session<'c>> {
        self.session_pinned(conn, opened.pin_known(conn)?)
    }

    fn session_pinned<'c>(&'c self, conn: &'c Connection, settings: Settings) -> Result<Session<'c>> {
        let untracked = !history::exists(conn)? && history::has_user_objects(conn)?;
        Ok(Session {
            untracked,
            migrator: self,
            conn,
            watch: Watch::install(conn),
            settings,
            settings_dirty: std::cell::Cell::new(false),
            history_ready: false,
            closed: false,
        })
    }

    fn step(&self, run: &mut Session<'_>, rev: &RevisionId, direction: Direction, done: &[RevisionId]) -> Result<Step> {
        let m = self.migration(rev)?;
        let conn = run.conn;
        let section = self.section(m, direction)?;
        run.reassert_settings()?;
        let transactional = m.transaction == TransactionMode::PerMigration;
        let skipped = || Step {
            revision: m.revision,
            direction,
            duration: Duration::ZERO,
            transactional,
            skipped: true,
            touched: Vec::new(),
            footprint: Footprint::default(),
        };
        if !transactional {
            // Outside a transaction nothing can be re-checked atomically: such a migration is
            // reported as running outside one.
            run.ensure_history(direction)?;
            if history::contains(conn, &m.revision)? == (direction == Direction::Up) {
                return Ok(skipped());
            }
            let (duration, touched, footprint) = self.execute(run, m, section, direction, done)?;
            run.write(|| self.record(conn, m, direction, duration), &m.revision)?;
            return Ok(Step {
                revision: m.revision,
                direction,
                duration,
                transactional,
                skipped: false,
                touched,
                footprint,
            });
        }
        let body = || {
            run.ensure_history_in_transaction(direction)?;
            if history::contains(conn, &m.revision)? == (direction == Direction::Up) {
                return Ok(skipped());
            }
            let (duration, touched, footprint) = self.execute(run, m, section, direction, done)?;
            self.record(conn, m, direction, duration)?;
            Ok(Step { revision: m.revision, direction, duration, transactional, skipped: false, touched, footprint })
        };
        run.write(body, &m.revision).inspect(|_| run.history_ready |= direction == Direction::Up)
    }

    fn execute(
        &self,
        run: &Session<'_>,
        m: &Migration,
        section: &Section,
        direction: Direction,
        done: &[RevisionId],
    ) -> Result<(Duration, Vec<Access>, Footprint)> {
        let conn = run.conn;
        let transactional = m.transaction == TransactionMode::PerMigration;
        let started = Instant::now();
        let (touched, mut footprint) = match run.run_user_sql(section, transactional)? {
            Ok(done) => done,
            Err(FailedSql { line, cause, kept }) => {
                let untracked = direction == Direction::Up && run.untracked;
                return Err(Error::Statement {
                    revision: m.revision,
                    direction,
                    file: m.file.clone(),
                    line,
                    cause,
                    transactional,
                    kept,
                    done: done.to_vec(),
                    untracked,
                });
            }
        };
        let mismatches = foreign_keys::mismatches_after(conn, &touched)?;
        if !mismatches.is_empty() {
            return Err(Error::ForeignKeyMismatch {
                revision: m.revision,
                direction,
                file: m.file.clone(),
                mismatches,
                done: done.to_vec(),
            });
        }
        let violations = foreign_keys::violations_after(conn, &touched)?;
        if !violations.is_empty() {
            return Err(Error::ForeignKeys {
                revision: m.revision,
                direction,
                file: m.file.clone(),
                violations,
                done: done.to_vec(),
            });
        }
        footprint.note_text(&section.sql);
        Ok((started.elapsed(), touched, footprint))
    }

    fn record(&self, conn: &Connection, m: &Migration, direction: Direction, duration: Duration) -> Result<()> {
        match direction {
            Direction::Up => {
                let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
                history::insert(
                    conn,
                    &m.revision,
                    self.set.checksum(&m.revision),
                    &retort_build::timestamp::now_rfc3339(),
                    ms,
                )
            }
            Direction::Down => history::delete(conn, m.revision.as_str()),
        }
    }

    /// Rewrites the history so that exactly `target` and its ancestors are recorded, without
    /// running any migration SQL. Unknown or mismatched rows are replaced: this is the repair tool.
    pub fn stamp(&self, conn: &Connection, target: Target) -> Result<StampReport> {
        let graph = self.set.graph();
        let tops: Vec<RevisionId> = match target {
            Target::Head => vec![Target::single_head(graph)?],
            Target::Heads => graph.heads(),
            Target::Revision(rev) => vec![rev],
            Target::Base => Vec::new(),
            Target::Relative(_) => {
                return Err(Error::Target(TargetError::RelativeStamp));
            }
        };
        let mut wanted = graph.ancestors(&tops);
        wanted.extend(tops);
        conn.execute_batch("BEGIN IMMEDIATE").map_err(Error::sqlite("cannot start a write transaction"))?;
        let inside = || -> Result<StampReport> {
            history::ensure(conn)?;
            let rows = history::read(conn)?;
            let mut report = StampReport::default();
            for row in &rows {
                let keep = RevisionId::parse(&row.revision)
                    .is_some_and(|r| wanted.contains(&r) && row.checksum == self.set.checksum(&r));
                if !keep {
                    history::delete(conn, &row.revision)?;
                    report.removed.push(row.revision.clone());
                }
            }
            let now = retort_build::timestamp::now_rfc3339();
            for rev in graph.sorted(wanted.iter().copied()) {
                if !history::contains(conn, &rev)? {
                    history::insert(conn, &rev, self.set.checksum(&rev), &now, 0)?;
                    report.added.push(rev);
                }
            }
            Ok(report)
        };
        match inside() {
            Ok(report) => {
                conn.execute_batch("COMMIT").map_err(Error::sqlite("cannot commit the stamp"))?;
                Ok(report)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// The SQL script an upgrade or downgrade from `state` to `target` would run, history
    /// statements included (offline mode). Runs nothing.
    pub fn script(&self, state: &State, direction: Direction, target: Target) -> Result<String> {
        let path = self.plan(state, direction, target)?;
        let mut out = String::from("-- Generated by Retort (offline mode). Review before running.\n");
        out.push_str("PRAGMA foreign_keys = OFF;\n\n");
        out.push_str(history::CREATE);
        out.push_str(";\n");
        for rev in &path {
            let m = self.migration(rev)?;
            let section = self.section(m, direction)?;
            let transactional = m.transaction == TransactionMode::PerMigration;
            out.push_str(&format!("\n-- {direction} {rev}: {} ({})\n", m.message, m.file.display()));
            if transactional {
                out.push_str("BEGIN IMMEDIATE;\n");
            }
            if !section.sql.is_empty() {
                out.push_str(&section.sql);
                out.push('\n');
                // A last statement without `;`, or a section ending in a comment, must not
                // swallow the statements that follow.
                if retort_build::sql::ends_in_open_comment(&section.sql) {
                    out.push_str("*/\n");
                }
                let last = retort_build::sql::tokenize(&section.sql).pop();
                if last.is_none_or(|t| t.text != ";") {
                    out.push_str(";\n");
                }
            }
            if !transactional {
                out.push_str("BEGIN IMMEDIATE;\n");
            }
            match direction {
                Direction::Up => out.push_str(&history::script_insert(rev, self.set.checksum(rev))),
                Direction::Down => out.push_str(&history::script_delete(rev)),
            }
            out.push_str("COMMIT;\n");
        }
        Ok(out)
    }
}

/// Where and why migration or populate SQL stopped.
struct FailedSql {
    line: usize,
    cause: StatementCause,
    kept: Vec<(usize, String)>,
}

/// A migrator working on one connection: see `Migrator::session`.
#[derive(Debug)]
pub struct Session<'c> {
    migrator: &'c Migrator,
    conn: &'c Connection,
    watch: Watch,
    settings: Settings,
    settings_dirty: std::cell::Cell<bool>,
    /// The database had tables but no history table when the session began.
    untracked: bool,
    history_ready: bool,
    closed: bool,
}

impl Session<'_> {
    /// Runs one migration in `direction`; `done` is what this run completed before it (for
    /// error reports).
    pub fn step(&mut self, rev: &RevisionId, direction: Direction, done: &[RevisionId]) -> Result<Step> {
        let migrator = self.migrator;
        let conn = self.conn;
        migrator.step(self, rev, direction, done).map_err(|e| not_writable(conn, e))
    }

    /// Runs `path` step by step, as `Migrator::run` does, in this session.
    pub fn run(&mut self, path: &[RevisionId], direction: Direction, on_step: &mut dyn FnMut(&Step)) -> Result<Report> {
        let mut report = Report::default();
        for rev in path {
            let done: Vec<RevisionId> = report.steps.iter().filter(|s| !s.skipped).map(|s| s.revision).collect();
            let step = self.step(rev, direction, &done)?;
            on_step(&step);
            report.steps.push(step);
        }
        Ok(report)
    }

    /// Runs a populate script in one transaction under the same guard as migration SQL: on any
    /// error nothing of it is kept.
    pub fn populate(&mut self, script: &retort_build::populate::PopulateScript) -> Result<()> {
        self.reassert_settings()?;
        let name = script.file.display().to_string();
        let populate_error = |line, cause| Error::Populate { file: script.file.clone(), line, cause };
        let result = self.write(
            || {
                let touched = match self.run_user_sql(&script.sql, true)? {
                    Ok((touched, _)) => touched,
                    Err(failed) => return Err(populate_error(failed.line, failed.cause)),
                };
                let violations = foreign_keys::violations_after(self.conn, &touched)?;
                if let Some(v) = violations.first() {
                    let cause = StatementCause::Sql(format!("the script leaves foreign key violations: {v}"));
                    return Err(populate_error(script.sql.line, cause));
                }
                Ok(())
            },
            &name,
        );
        result.map_err(|e| not_writable(self.conn, e))
    }

    /// Puts the pinned settings back if the last SQL assigned any; outside a transaction, since
    /// SQLite ignores `PRAGMA foreign_keys` inside one.
    fn reassert_settings(&self) -> Result<()> {
        if self.settings_dirty.take() {
            self.settings.reassert(self.conn)?;
        }
        Ok(())
    }

    /// Runs migration or populate SQL under the authorizer's guard: what it touched, or where
    /// and why it stopped. An error about the database file itself is the outer error.
    fn run_user_sql(
        &self,
        section: &Section,
        transactional: bool,
    ) -> Result<Result<(Vec<Access>, Footprint), FailedSql>> {
        let mode = if transactional { Mode::InTransaction } else { Mode::Autocommit };
        self.watch.take();
        self.watch.take_footprint();
        self.watch.set_policy(Policy::UserSql { transactional });
        let result = run_section(self.conn, section, mode);
        self.watch.set_policy(Policy::Retort);
        self.settings_dirty.set(self.settings_dirty.get() | self.watch.take_settings_changed());
        let refusal = self.watch.take_refusal();
        let touched = self.watch.take();
        let footprint = self.watch.take_footprint();
        let Err(e) = result else { return Ok(Ok((touched, footprint))) };
        let cause = match (refusal, e.failure) {
            (Some(refusal), _) => StatementCause::Refused(refusal),
            (None, Failure::LeftTransaction) => StatementCause::LeftTransaction,
            (None, Failure::Sql { file_problem: Some(problem), .. }) => {
                return Err(Error::Database { path: db_path(self.conn), problem });
            }
            (None, Failure::Sql { message, .. }) => StatementCause::Sql(message),
        };
        Ok(Err(FailedSql { line: e.line, cause, kept: e.kept }))
    }

    /// Removes the authorizer and restores the connection's settings.
    pub fn close(mut self) -> Result<()> {
        self.restore()
    }

    fn restore(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        Watch::uninstall(self.conn);
        self.settings.restore(self.conn, self.settings_dirty.take())
    }

    /// Creates the history table outside a transaction (for `Transaction: none` steps).
    fn ensure_history(&mut self, direction: Direction) -> Result<()> {
        if !self.history_ready && direction == Direction::Up {
            history::ensure(self.conn)?;
            self.history_ready = true;
        }
        Ok(())
    }

    /// Creates the history table inside the step's transaction, once per session.
    fn ensure_history_in_transaction(&self, direction: Direction) -> Result<()> {
        if !self.history_ready && direction == Direction::Up {
            history::ensure(self.conn)?;
        }
        Ok(())
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed when it succeeds, rolled back
    /// when it fails.
    fn write<T>(&self, body: impl FnOnce() -> Result<T>, rev: &dyn std::fmt::Display) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(Error::sqlite("cannot start a write transaction"))?;
        match body() {
            Ok(value) => {
                self.conn.execute_batch("COMMIT").map_err(Error::sqlite(format!("cannot commit {rev}")))?;
                Ok(value)
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(e)
            }
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

fn take(path: Vec<RevisionId>, n: i32, direction: Direction) -> Result<Vec<RevisionId>> {
    let n = usize::try_from(n).unwrap_or(0);
    if path.len() < n {
        return Err(Error::Target(TargetError::TooFewSteps { direction, wanted: n, available: path.len() }));
    }
    Ok(path.into_iter().take(n).collect())
}

/// The database file `conn` works on, for messages.
fn db_path(conn: &Connection) -> PathBuf {
    PathBuf::from(conn.path().unwrap_or(":memory:"))
}

/// A SQLite error that says the database file cannot be written, as the error about the file.
fn not_writable(conn: &Connection, e: Error) -> Error {
    match e {
        Error::Sqlite { source, context } => match crate::open::file_problem(&source) {
            Some(problem @ (DatabaseProblem::NotWritable | DatabaseProblem::HotJournal)) => {
                Error::Database { path: db_path(conn), problem }
            }
            _ => Error::Sqlite { source, context },
        },
        other => other,
    }
}
