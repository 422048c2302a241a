//! The migrator (SPEC §6): upgrade, downgrade, stamp and offline scripts over one SQLite database.
//!
//! Guarantees: **a migration and its history row commit together or not at all** (one
//! `BEGIN IMMEDIATE` transaction each, unless the migration says `Transaction: none`); nothing is
//! written before the history is validated (known revisions, matching checksums, consistent);
//! a downgrade refuses up front when it would cross an irreversible migration; two processes
//! upgrading one file apply each migration once, because each step re-reads the history inside
//! its own write transaction.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use retort_build::{Migration, MigrationSet, RevisionId, Section, TransactionMode};

use crate::error::{Error, Result, Violation};
use crate::exec::run_section;
use crate::history::{self, Applied};
use crate::watch::{Access, AccessKind, Watch};
use crate::{Migrations, Target};

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

/// Opens (or creates) a database file for migrating: waits up to a minute for other writers.
pub fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(Error::sqlite(format!("cannot open {}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(60)).map_err(Error::sqlite("cannot set the busy timeout"))?;
    Ok(conn)
}

/// Opens an existing database without the right to change it.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(path, flags).map_err(Error::sqlite(format!("cannot open {}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(60)).map_err(Error::sqlite("cannot set the busy timeout"))?;
    Ok(conn)
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
        Ok(Migrator::new(retort_build::load(dir, root, false).into_set()?))
    }

    /// The migrations.
    pub fn set(&self) -> &MigrationSet {
        &self.set
    }

    fn migration(&self, rev: &RevisionId) -> &Migration {
        self.set.get(rev).expect("plans only hold known revisions")
    }

    /// Reads and validates the history: every applied revision known, checksums equal, ancestry
    /// complete. Writes nothing.
    pub fn state(&self, conn: &Connection) -> Result<State> {
        let rows = history::read(conn)?;
        self.validate(rows)
    }

    fn validate(&self, rows: Vec<Applied>) -> Result<State> {
        let unknown: Vec<String> = rows
            .iter()
            .filter(|r| RevisionId::parse(&r.revision).is_none_or(|rev| self.set.get(&rev).is_none()))
            .map(|r| r.revision.clone())
            .collect();
        if !unknown.is_empty() {
            let parsed: Vec<RevisionId> = unknown.iter().filter_map(|r| RevisionId::parse(r)).collect();
            if parsed.len() == unknown.len() {
                return Err(Error::UnknownApplied(parsed));
            }
            return Err(Error::Target(format!(
                "the history table holds revisions that are not revision ids: {}; `stamp` the database to repair it",
                unknown.join(", ")
            )));
        }
        let applied: BTreeSet<RevisionId> = rows.iter().filter_map(|r| RevisionId::parse(&r.revision)).collect();
        let divergent: Vec<(RevisionId, String, String)> = self
            .set
            .graph()
            .sorted(applied.iter().copied())
            .into_iter()
            .filter_map(|rev| {
                let row = rows.iter().find(|r| r.revision == rev.as_str())?;
                let file = self.set.checksum(&rev);
                (row.checksum != file).then(|| (rev, row.checksum.clone(), file.to_string()))
            })
            .collect();
        if !divergent.is_empty() {
            return Err(Error::ChecksumMismatch { divergent });
        }
        let graph = self.set.graph();
        for rev in graph.sorted(applied.iter().copied()) {
            if let Some(missing) =
                graph.parents(&rev).iter().chain(graph.depends_on(&rev)).find(|p| !applied.contains(p))
            {
                return Err(Error::InconsistentHistory { revision: rev, missing: *missing });
            }
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
                take(all, n, "upgrade")?
            }
            (Direction::Down, Target::Base) => graph.downgrade_path(applied, &[]),
            (Direction::Down, Target::Revision(rev)) => {
                if !applied.contains(&rev) {
                    return Err(Error::Target(format!(
                        "{rev} is not applied, so it is not a downgrade target; `current` shows what is"
                    )));
                }
                let mut path = graph.sorted(graph.descendants(&[rev]).into_iter().filter(|r| applied.contains(r)));
                path.reverse();
                path
            }
            (Direction::Down, Target::Relative(n)) if n < 0 => {
                let mut all = graph.sorted(applied.iter().copied());
                all.reverse();
                take(all, -n, "downgrade")?
            }
            (Direction::Up, _) => {
                return Err(Error::Target(
                    "an upgrade goes to `head`, `heads`, a revision or `+N`; use `downgrade` to go back".into(),
                ));
            }
            (Direction::Down, _) => {
                return Err(Error::Target("a downgrade goes to a revision, `-N` or `base`".into()));
            }
        };
        if direction == Direction::Down {
            if let Some(m) = path.iter().map(|r| self.migration(r)).find(|m| m.irreversible.is_some()) {
                return Err(Error::Irreversible {
                    revision: m.revision,
                    file: m.file.clone(),
                    reason: m.irreversible.clone().unwrap_or_default(),
                });
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
            (true, false, Some(db)) => Some(backup(conn, Path::new(db))?),
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
        let mut report = Report::default();
        if path.is_empty() {
            return Ok(report);
        }
        let mut session = self.session(conn)?;
        for rev in path {
            let done: Vec<RevisionId> = report.steps.iter().filter(|s| !s.skipped).map(|s| s.revision).collect();
            let step = session.step(rev, direction, &done)?;
            on_step(&step);
            report.steps.push(step);
        }
        session.close()?;
        Ok(report)
    }

    /// Starts a session on `conn`: foreign-key enforcement off and the authorizer recording,
    /// until `Session::close` (or drop) restores them. Runs of single steps (the harness) share
    /// one session instead of paying that setup per step.
    pub fn session<'c>(&'c self, conn: &'c Connection) -> Result<Session<'c>> {
        let fk_was_on: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(Error::sqlite("cannot read PRAGMA foreign_keys"))?;
        conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(Error::sqlite("cannot turn foreign keys off"))?;
        Ok(Session {
            migrator: self,
            conn,
            watch: Watch::install(conn),
            fk_was_on,
            history_ready: false,
            closed: false,
        })
    }

    fn step(&self, run: &mut Session<'_>, rev: &RevisionId, direction: Direction, done: &[RevisionId]) -> Result<Step> {
        let m = self.migration(rev);
        let conn = run.conn;
        let section = match direction {
            Direction::Up => &m.up,
            Direction::Down => m.down.as_ref().expect("plans refuse irreversible downgrades"),
        };
        let transactional = m.transaction == TransactionMode::PerMigration;
        let skipped = || Step {
            revision: m.revision,
            direction,
            duration: Duration::ZERO,
            transactional,
            skipped: true,
            touched: Vec::new(),
        };
        if !transactional {
            // Outside a transaction nothing can be re-checked atomically: such a migration is
            // reported as running outside one.
            run.ensure_history(direction)?;
            if history::contains(conn, &m.revision)? == (direction == Direction::Up) {
                return Ok(skipped());
            }
            let (duration, touched) = self.execute(run, m, section, direction, done)?;
            run.write(|| self.record(conn, m, direction, duration), &m.revision)?;
            return Ok(Step { revision: m.revision, direction, duration, transactional, skipped: false, touched });
        }
        run.write(
            || {
                run.ensure_history_in_transaction(direction)?;
                if history::contains(conn, &m.revision)? == (direction == Direction::Up) {
                    return Ok(skipped());
                }
                let (duration, touched) = self.execute(run, m, section, direction, done)?;
                self.record(conn, m, direction, duration)?;
                Ok(Step { revision: m.revision, direction, duration, transactional, skipped: false, touched })
            },
            &m.revision,
        )
        .inspect(|_| run.history_ready |= direction == Direction::Up)
    }

    fn execute(
        &self,
        run: &Session<'_>,
        m: &Migration,
        section: &Section,
        direction: Direction,
        done: &[RevisionId],
    ) -> Result<(Duration, Vec<Access>)> {
        let conn = run.conn;
        let started = Instant::now();
        run.watch.take();
        if let Err(e) = run_section(conn, section) {
            run.watch.take();
            return Err(Error::Statement {
                revision: m.revision,
                direction,
                file: m.file.clone(),
                line: e.line,
                message: e.message,
                done: done.to_vec(),
            });
        }
        let touched = run.watch.take();
        let violations = foreign_key_violations_after(conn, &touched)?;
        if !violations.is_empty() {
            return Err(Error::ForeignKeys {
                revision: m.revision,
                direction,
                file: m.file.clone(),
                violations,
                done: done.to_vec(),
            });
        }
        Ok((started.elapsed(), touched))
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
                return Err(Error::Target("`stamp` takes a revision, `head`, `heads` or `base`".into()));
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
            let m = self.migration(rev);
            let section = match direction {
                Direction::Up => &m.up,
                Direction::Down => m.down.as_ref().expect("plans refuse irreversible downgrades"),
            };
            let transactional = m.transaction == TransactionMode::PerMigration;
            out.push_str(&format!("\n-- {direction} {rev}: {} ({})\n", m.message, m.file.display()));
            if transactional {
                out.push_str("BEGIN IMMEDIATE;\n");
            }
            if !section.sql.is_empty() {
                out.push_str(&section.sql);
                if !section.sql.trim_end().ends_with(';') {
                    out.push(';');
                }
                out.push('\n');
            }
            if !transactional {
                out.push_str("BEGIN IMMEDIATE;\n");
            }
            match direction {
                Direction::Up => out.push_str(&format!(
                    "INSERT INTO retort_history (revision, checksum, applied_at, duration_ms) VALUES ({}, {}, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 0);\n",
                    history::literal(rev.as_str()),
                    history::literal(self.set.checksum(rev))
                )),
                Direction::Down => {
                    out.push_str(&format!("DELETE FROM retort_history WHERE revision = {};\n", history::literal(rev.as_str())));
                }
            }
            out.push_str("COMMIT;\n");
        }
        Ok(out)
    }
}

/// A migrator working on one connection: see `Migrator::session`.
#[derive(Debug)]
pub struct Session<'c> {
    migrator: &'c Migrator,
    conn: &'c Connection,
    watch: Watch,
    fk_was_on: bool,
    history_ready: bool,
    closed: bool,
}

impl Session<'_> {
    /// Runs one migration in `direction`; `done` is what this run completed before it (for
    /// error reports).
    pub fn step(&mut self, rev: &RevisionId, direction: Direction, done: &[RevisionId]) -> Result<Step> {
        let migrator = self.migrator;
        migrator.step(self, rev, direction, done)
    }

    /// Removes the authorizer and restores foreign-key enforcement.
    pub fn close(mut self) -> Result<()> {
        self.restore()
    }

    fn restore(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        Watch::uninstall(self.conn);
        if self.fk_was_on {
            self.conn
                .execute_batch("PRAGMA foreign_keys = ON")
                .map_err(Error::sqlite("cannot turn foreign keys back on"))?;
        }
        Ok(())
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
    fn write<T>(&self, body: impl FnOnce() -> Result<T>, rev: &RevisionId) -> Result<T> {
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

/// Foreign-key violations a step may have caused, judged from what it touched: any written row
/// or dropped table means a full `PRAGMA foreign_key_check`; an altered table (a column added
/// with a default) only that table's check; pure DDL cannot violate a foreign key and costs
/// nothing.
fn foreign_key_violations_after(conn: &Connection, touched: &[Access]) -> Result<Vec<Violation>> {
    let wrote = touched.iter().any(|a| !matches!(a.kind, AccessKind::Alter));
    if wrote {
        return foreign_key_violations(conn);
    }
    let mut violations = Vec::new();
    for access in touched {
        let exists: bool = conn
            .prepare_cached("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1")
            .and_then(|mut stmt| stmt.query_row([&access.table], |r| r.get(0)))
            .map_err(Error::sqlite("cannot read the schema"))?;
        if !exists {
            // Renamed away: check everything rather than guess where it went.
            return foreign_key_violations(conn);
        }
        let mut stmt = conn
            .prepare_cached("SELECT * FROM pragma_foreign_key_check(?1)")
            .map_err(Error::sqlite("cannot run PRAGMA foreign_key_check"))?;
        let rows = stmt
            .query_map([&access.table], |r| Ok(Violation { table: r.get(0)?, rowid: r.get(1)?, parent: r.get(2)? }))
            .and_then(|rows| rows.take(20).collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sqlite("cannot run PRAGMA foreign_key_check"))?;
        violations.extend(rows);
    }
    Ok(violations)
}

fn take(path: Vec<RevisionId>, n: i32, what: &str) -> Result<Vec<RevisionId>> {
    let n = usize::try_from(n).unwrap_or(0);
    if path.len() < n {
        return Err(Error::Target(format!("cannot {what} {n} steps: only {} available", path.len())));
    }
    Ok(path.into_iter().take(n).collect())
}

/// The first 20 rows of `PRAGMA foreign_key_check`.
pub fn foreign_key_violations(conn: &Connection) -> Result<Vec<Violation>> {
    let mut stmt =
        conn.prepare("PRAGMA foreign_key_check").map_err(Error::sqlite("cannot run PRAGMA foreign_key_check"))?;
    let rows = stmt
        .query_map([], |r| Ok(Violation { table: r.get(0)?, rowid: r.get(1)?, parent: r.get(2)? }))
        .map_err(Error::sqlite("cannot run PRAGMA foreign_key_check"))?;
    rows.take(20).collect::<rusqlite::Result<Vec<_>>>().map_err(Error::sqlite("cannot run PRAGMA foreign_key_check"))
}

/// Copies the live database next to itself with SQLite's online backup API; returns the path.
pub fn backup(conn: &Connection, db: &Path) -> Result<PathBuf> {
    let stamp: String = retort_build::timestamp::now_rfc3339().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let name = db.file_name().map_or_else(|| "database".into(), |n| n.to_string_lossy().into_owned());
    let mut path = db.with_file_name(format!("{name}.{stamp}.bak"));
    let mut n = 2;
    while path.exists() {
        path = db.with_file_name(format!("{name}.{stamp}-{n}.bak"));
        n += 1;
    }
    conn.backup(rusqlite::MAIN_DB, &path, None).map_err(|source| Error::Backup { path: path.clone(), source })?;
    Ok(path)
}
