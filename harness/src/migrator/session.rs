//! Sessions: running steps and populate scripts on one connection, each in its own write
//! transaction with its history row, under pinned settings and the authorizer's guard.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use retort_build::{Migration, RevisionId, Section, TransactionMode};

use super::{Direction, Migrator, Report, Step};
use crate::error::{DatabaseProblem, Error, Result, StatementCause};
use crate::exec::{Failure, Mode, run_section};
use crate::foreign_keys;
use crate::history;
use crate::settings::Settings;
use crate::watch::{Access, Footprint, Policy, Watch};

impl Migrator {
    /// Starts a session on `conn`: foreign-key enforcement off and the authorizer recording,
    /// until `Session::close` (or drop) restores them. Runs of single steps (the harness) share
    /// one session instead of paying that setup per step.
    pub fn session<'c>(&'c self, conn: &'c mut Connection) -> Result<Session<'c>> {
        let settings = Settings::pin(conn)?;
        self.session_pinned(conn, settings)
    }

    /// A session on `conn`, whose settings the caller knows to be `opened` (see
    /// `Settings::pin_known`): the harness opens every database of a run alike, so it reads
    /// their settings once instead of once per step.
    #[cfg(feature = "harness")]
    pub(crate) fn session_known<'c>(&'c self, conn: &'c mut Connection, opened: &Settings) -> Result<Session<'c>> {
        let settings = opened.pin_known(conn)?;
        self.session_pinned(conn, settings)
    }

    /// A session on `conn`, whose authorizer is `watch` already (the harness installs one per
    /// database, not one per step: installing an authorizer expires every prepared statement).
    /// `tracked`: the caller knows the history table exists (it applied an up on this
    /// database), so the session does not ask the catalog.
    #[cfg(feature = "harness")]
    pub(crate) fn session_watched<'c>(
        &'c self,
        conn: &'c Connection,
        watch: &Watch,
        opened: &Settings,
        tracked: bool,
    ) -> Result<Session<'c>> {
        let settings = opened.pin_known(conn)?;
        self.session_on(conn, watch.clone(), settings, tracked)
    }

    fn session_pinned<'c>(&'c self, conn: &'c mut Connection, settings: Settings) -> Result<Session<'c>> {
        let watch = Watch::install(conn)?;
        self.session_on(conn, watch, settings, false)
    }

    fn session_on<'c>(
        &'c self,
        conn: &'c Connection,
        watch: Watch,
        settings: Settings,
        known_tracked: bool,
    ) -> Result<Session<'c>> {
        let tracked = known_tracked || history::exists(conn)?;
        let untracked = !tracked && history::has_user_objects(conn)?;
        Ok(Session {
            untracked,
            migrator: self,
            conn,
            watch,
            settings,
            settings_dirty: std::cell::Cell::new(false),
            // A history table present at the start stays: the authorizer refuses migration SQL
            // that would drop or alter it.
            history_ready: tracked,
            closed: false,
        })
    }

    fn step(&self, run: &mut Session<'_>, rev: &RevisionId, direction: Direction, done: &[RevisionId]) -> Result<Step> {
        let m = self.migration(rev)?;
        let conn = run.conn;
        let section = self.section(m, direction)?;
        run.reassert_settings()?;
        let transactional = m.transaction == TransactionMode::PerMigration;
        let ran = |duration, touched, footprint, skipped| Step {
            revision: m.revision,
            direction,
            duration,
            transactional,
            skipped,
            touched,
            footprint,
        };
        let skipped = || ran(Duration::ZERO, Vec::new(), Footprint::default(), true);
        if !transactional {
            // Outside a transaction nothing can be re-checked atomically: such a migration is
            // reported as running outside one.
            run.ensure_history(direction)?;
            if history::contains(conn, &m.revision)? == (direction == Direction::Up) {
                return Ok(skipped());
            }
            let (duration, touched, footprint) = self.execute(run, m, section, direction, done)?;
            run.write(|| self.record(conn, m, direction, duration), &m.revision)?;
            return Ok(ran(duration, touched, footprint, false));
        }
        // In a transaction, one statement both checks and records the history row where it can:
        // a down deletes the row first (no row: already reverted); an up inserts it last, and a
        // row already there (or an error from SQL that already ran) means it was applied.
        // Either way the transaction is rolled back and the step is skipped.
        let body = || {
            run.ensure_history_in_transaction(direction)?;
            if direction == Direction::Down && !history::delete(conn, m.revision.as_str())? {
                return Ok(Err(skipped()));
            }
            let (duration, touched, footprint) = match self.execute(run, m, section, direction, done) {
                Ok(done) => done,
                // (A failure to read the history is no reason to hide the step's own error.)
                Err(_) if direction == Direction::Up && history::contains(conn, &m.revision).unwrap_or(false) => {
                    return Ok(Err(skipped()));
                }
                Err(e) => return Err(e),
            };
            if direction == Direction::Up && !self.record_up(conn, m, duration)? {
                return Ok(Err(skipped()));
            }
            Ok(Ok(ran(duration, touched, footprint, false)))
        };
        run.write_or_undo(body, &m.revision).inspect(|_| run.history_ready |= direction == Direction::Up)
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
        let file = match direction {
            Direction::Up => m.up_file(),
            Direction::Down => m.down_file(),
        };
        let started = Instant::now();
        let (touched, mut footprint) =
            match run.run_user_sql(section, if transactional { Mode::InTransaction } else { Mode::Autocommit })? {
                Ok(done) => done,
                Err(FailedSql { line, cause, kept }) => {
                    let untracked = direction == Direction::Up && run.untracked;
                    return Err(Error::Statement {
                        revision: m.revision,
                        direction,
                        file: file.to_path_buf(),
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
                file: file.to_path_buf(),
                mismatches,
                done: done.to_vec(),
            });
        }
        let violations = foreign_keys::violations_after(conn, &touched)?;
        if !violations.is_empty() {
            return Err(Error::ForeignKeys {
                revision: m.revision,
                direction,
                file: file.to_path_buf(),
                violations,
                done: done.to_vec(),
            });
        }
        footprint.note_text(&section.sql);
        Ok((started.elapsed(), touched, footprint))
    }

    /// Records a step run outside a transaction.
    fn record(&self, conn: &Connection, m: &Migration, direction: Direction, duration: Duration) -> Result<()> {
        match direction {
            Direction::Up => self.record_up(conn, m, duration).map(drop),
            Direction::Down => history::delete(conn, m.revision.as_str()).map(drop),
        }
    }

    /// Records `m` as applied: false when a row for it was there already.
    fn record_up(&self, conn: &Connection, m: &Migration, duration: Duration) -> Result<bool> {
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        let checksum = self.set.checksum(&m.revision);
        history::insert(conn, &m.revision, checksum, &retort_build::timestamp::now_rfc3339(), ms)
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
    /// The history table is known to exist (it did when the session began, or an up made it).
    history_ready: bool,
    closed: bool,
}

impl<'c> Session<'c> {
    /// The connection the session runs on, for reads between its steps.
    pub fn conn(&self) -> &'c Connection {
        self.conn
    }

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
                let touched = match self.run_user_sql(&script.sql, Mode::InTransaction)? {
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
    fn run_user_sql(&self, section: &Section, mode: Mode) -> Result<Result<(Vec<Access>, Footprint), FailedSql>> {
        self.watch.take();
        self.watch.take_footprint();
        self.watch.set_policy(Policy::UserSql { transactional: mode == Mode::InTransaction });
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
        self.watch.detach();
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
        self.write_or_undo(|| body().map(Ok), rev)
    }

    /// As `write`, but a body that returns `Ok(Err(value))` has its transaction rolled back.
    fn write_or_undo<T>(
        &self,
        body: impl FnOnce() -> Result<std::result::Result<T, T>>,
        rev: &dyn std::fmt::Display,
    ) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(Error::sqlite("cannot start a write transaction"))?;
        match body() {
            Ok(Ok(value)) => {
                self.conn.execute_batch("COMMIT").map_err(Error::sqlite(format!("cannot commit {rev}")))?;
                Ok(value)
            }
            Ok(Err(value)) => {
                self.conn.execute_batch("ROLLBACK").map_err(Error::sqlite(format!("cannot roll back {rev}")))?;
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
