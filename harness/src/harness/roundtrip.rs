//! Steps 2, 3, 6 and 7 of the harness: each revision's up → down → up round trip, in two passes
//! over a private in-memory database (see `run`), with the schema-only rule confirmed from what
//! SQLite's authorizer saw; populate scripts run twice; head → base.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::Connection;

use retort_build::populate::PopulateScript;
use retort_build::{HISTORY_TABLE, Migration, MigrationSet, RevisionId, TransactionMode, WaiverKind};

use super::image::{self, Image, Watched};
use super::{Event, Finding};
use crate::fingerprint;
use crate::migrator::{Direction, DowngradeOptions, Migrator};
use crate::settings::Settings;
use crate::snapshot::{Schema, SchemaCache, render_changes};
use crate::target::Target;
use crate::watch::{Access, AccessKind};

fn finding(rev: RevisionId, direction: Option<Direction>, check: &str, message: String) -> Finding {
    Finding { revision: Some(rev), direction, check: check.to_string(), message, diff: None, kept: None }
}

/// True when `m` has a down with no statement (empty, or comments only) and an up with one.
fn down_does_nothing(m: &Migration) -> bool {
    let empty = |sql: &str| retort_build::sql::tokenize(sql).is_empty();
    m.down.as_ref().is_some_and(|down| empty(&down.sql)) && !empty(&m.up.sql)
}

/// Data changes and drops seen by the authorizer that the header does not waive.
fn rule_violations(m: &Migration, touched: &[Access]) -> Vec<String> {
    let dropped: BTreeSet<&str> =
        touched.iter().filter(|a| a.kind == AccessKind::DropTable).map(|a| a.table.as_str()).collect();
    let dropped_views: BTreeSet<&str> =
        touched.iter().filter(|a| a.kind == AccessKind::DropView).map(|a| a.table.as_str()).collect();
    let mut out = Vec::new();
    if !m.allows(WaiverKind::DataChange) {
        for a in touched {
            let verb = match a.kind {
                AccessKind::Insert => "INSERT into",
                AccessKind::Update => "UPDATE of",
                // SQLite reports a DELETE for every table or view it drops: that one is the drop
                // itself.
                AccessKind::Delete
                    if !dropped.contains(a.table.as_str()) && !dropped_views.contains(a.table.as_str()) =>
                {
                    "DELETE from"
                }
                _ => continue,
            };
            let how = a.trigger.as_ref().map_or(String::new(), |t| format!(" (by trigger `{t}`)"));
            out.push(format!("data change while running `up`: {verb} `{}`{how}; move data into a populate script, or add `-- Allow: data-change: <reason>`", a.table));
        }
    }
    if !m.allows(WaiverKind::Destructive) {
        for table in &dropped {
            out.push(format!("destructive change while running `up`: DROP TABLE `{table}`; add `-- Allow: destructive: <reason>` once you are sure"));
        }
    }
    out.dedup();
    out
}

/// The round-trip database.
/// How many failing databases one run writes out (each is a full copy).
const KEEP_AT_MOST: usize = 20;

/// From how many revisions the down pass uses a second thread (`cargo xtask bench --n 8,12,16,20`,
/// "walks 0" against "walks 0, 1 thread": the same at 8 and 12, 0.88 of it at 16, 0.83 at 20).
const SPLIT_FROM: usize = 16;

/// The round-trip database and what Retort knows of its state.
struct Db {
    conn: Watched,
    scratch: PathBuf,
    cache: SchemaCache,
    /// Fingerprints of every table (SQLite's own included) as the current state should be.
    tables: fingerprint::Tables,
    /// Databases written out so far, by every pass of this run.
    kept: Arc<AtomicUsize>,
    /// The settings every database of the run is opened with (`image::memory`), read once;
    /// each step's session gives them back when it closes.
    settings: Settings,
    /// What fingerprints read: the rows too when the data round trip is on.
    read: fingerprint::Read,
    /// The history table is known to exist: an up ran on this database since it was opened.
    tracked: bool,
}

impl Db {
    /// Writes the database as it is now into the scratch directory.
    fn keep(&mut self, rev: RevisionId, check: &str) -> Option<PathBuf> {
        if self.kept.fetch_add(1, Ordering::Relaxed) >= KEEP_AT_MOST {
            return None;
        }
        let path = self.scratch.join(format!("{rev}-{}.db", check.replace(' ', "-")));
        self.conn.image(None).ok()?.write(&path)
    }

    /// Makes the database `image` again (the caller puts the cache in step).
    fn restore(&mut self, image: &Image) -> crate::error::Result<()> {
        self.conn = Watched::new(image.open()?)?;
        self.tracked = false;
        Ok(())
    }

    /// The tables whose rows or definition `steps` and the last schema read say may have
    /// changed, SQLite's own always included (every table after a `VACUUM`).
    fn dirty(&self, steps: &[&crate::migrator::Step]) -> crate::error::Result<BTreeSet<String>> {
        let mut dirty: BTreeSet<String> = fingerprint::INTERNAL_TABLES.iter().map(|t| (*t).to_string()).collect();
        dirty.extend(self.cache.changed_tables().iter().cloned());
        for step in steps {
            dirty.extend(step.touched.iter().map(|a| a.table.to_ascii_lowercase()));
            dirty.extend(step.footprint.objects.iter().cloned());
            if step.footprint.vacuumed {
                dirty.extend(fingerprint::all_tables(self.conn.get())?);
                dirty.extend(self.tables.keys().cloned());
            }
        }
        dirty.remove(HISTORY_TABLE);
        Ok(dirty)
    }
}

/// Runs one step of `rev` in a session of its own: the step, or why it failed.
fn step(
    migrator: &Migrator,
    db: &mut Db,
    rev: &RevisionId,
    direction: Direction,
) -> crate::error::Result<crate::error::Result<crate::migrator::Step>> {
    let mut session = migrator.session_watched(db.conn.get(), db.conn.watch(), &db.settings, db.tracked)?;
    let step = session.step(rev, direction, &[]);
    session.close()?;
    db.tracked |= step.as_ref().is_ok_and(|s| s.direction == Direction::Up && !s.skipped);
    Ok(step)
}

/// The first table of `dirty` whose fingerprint in `now` is not `expected(table)`.
fn differing<'t>(
    dirty: &'t BTreeSet<String>,
    now: &fingerprint::Tables,
    expected: impl Fn(&str) -> Option<fingerprint::TableFingerprint>,
) -> Option<&'t String> {
    dirty.iter().find(|t| now.get(*t).cloned().flatten() != expected(t))
}

/// How the round trip treated the re-up of each reversible revision.
#[derive(Debug, Default)]
pub(super) struct Proofs {
    /// Re-ups skipped: the state after down equalled the state before up.
    pub proven: usize,
    /// Re-ups run, with the reason the proof did not hold.
    pub run: Vec<(RevisionId, &'static str)>,
}

/// One applied revision, as the up pass left it for the down pass.
struct Level {
    rev: RevisionId,
    /// The state after its up: its schema and image.
    schema: Schema,
    image: Image,
    /// How the schema cache goes back from this state to the one before the up.
    cache_undo: crate::snapshot::CacheUndo,
    /// Fingerprints, before its up, of the tables its up touched.
    tables_before: fingerprint::Tables,
    header_before: fingerprint::Header,
    header_after: fingerprint::Header,
    up: crate::migrator::Step,
    /// Fingerprints, right after its up, of the tables seeded after it (what a re-up gives).
    seeded: fingerprint::Tables,
    /// Tables whose rows its up lost (a finding already): no down can give them back.
    up_lost: BTreeSet<String>,
}

/// Why running `up` again from the state after down could give something else than the first
/// up, or `None` when it provably cannot: the state after down equals the state before up
/// (schema — compared by the caller —, the rows and trigger order of every table either step
/// touched, SQLite's own tables, the header settings, an empty `temp` schema) and the up's SQL
/// is deterministic.
fn reup_unproven(
    db: &Db,
    level: &Level,
    down: &crate::migrator::Step,
    dirty: &BTreeSet<String>,
    now: &fingerprint::Tables,
) -> crate::error::Result<Option<&'static str>> {
    let fp = &level.up.footprint;
    if let Some(reason) = [
        (fp.volatile.is_some(), "up calls a function whose result can change (random, date/time, changes)"),
        (fp.reads_catalog, "up reads SQLite's catalog or runs a PRAGMA"),
        (fp.temp || level.header_before.temp_objects > 0, "the connection has temp objects"),
    ]
    .into_iter()
    .find_map(|(cond, why)| cond.then_some(why))
    {
        return Ok(Some(reason));
    }
    if fingerprint::header_after(db.conn.get(), &level.header_after, &down.footprint)? != level.header_before {
        return Ok(Some("down leaves user_version, application_id or auto_vacuum changed"));
    }
    Ok(differing(dirty, now, |t| was(db, level, t))
        .map(|_| "down leaves table rows, rowids or trigger order different"))
}

/// A table's fingerprint in the state before `level`'s up.
fn was(db: &Db, level: &Level, table: &str) -> Option<fingerprint::TableFingerprint> {
    level.tables_before.get(table).or_else(|| db.tables.get(table)).cloned().flatten()
}

/// The data round trip's record in the up pass: how to seed, and what it covered.
struct DataRun {
    rows: usize,
    seed: u64,
    coverage: super::DataCoverage,
}

impl DataRun {
    /// What the up of `m` lost of the rows of tables that exist before and after it (`before`
    /// and `after`: fingerprints with contents of the tables it touched), one line each.
    fn up_kept(
        &mut self,
        m: &Migration,
        before: &fingerprint::Tables,
        after: &fingerprint::Tables,
    ) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (table, now) in after {
            let (Some(Some(b)), Some(a)) = (before.get(table), now) else { continue };
            if fingerprint::INTERNAL_TABLES.contains(&table.as_str()) {
                continue;
            }
            self.coverage.rows_compared += b.contents.as_ref().map_or(0, |c| c.rows.len());
            if let (true, Some(bc), Some(ac)) = (b != a, &b.contents, &a.contents) {
                found.extend(super::data::up_loss(m, table, bc, ac).map(|message| (table.clone(), message)));
            }
        }
        found
    }

    /// Seeds the tables the up of `rev` created empty (`before`: fingerprints, before the up, of
    /// the tables it touched) and brings `db.tables` up to date. Returns the fingerprints, as the
    /// up left them, of every table seeding changed (what running the up again gives).
    fn seed_new_tables(
        &mut self,
        db: &mut Db,
        rev: RevisionId,
        before: &fingerprint::Tables,
    ) -> crate::error::Result<fingerprint::Tables> {
        let new: Vec<String> = before
            .iter()
            .filter(|(t, was)| {
                was.is_none() && db.tables.get(*t).is_some_and(|f| f.as_ref().is_some_and(|f| f.rows == 0))
            })
            .map(|(t, _)| t.clone())
            .collect();
        if new.is_empty() {
            return Ok(fingerprint::Tables::new());
        }
        let seeded = crate::seed::seed(db.conn.get(), &new, self.rows, self.seed)?;
        self.coverage.tables_seeded += seeded.tables.len();
        self.coverage.rows_seeded += seeded.tables.iter().map(|(_, n)| n).sum::<usize>();
        self.coverage.not_covered.extend(seeded.not_covered.into_iter().map(|(t, why)| (rev, t, why)));
        if seeded.tables.is_empty() {
            return Ok(fingerprint::Tables::new());
        }
        // The seeded tables, SQLite's own (AUTOINCREMENT counters) and, when a seeded table has
        // triggers (which may write anywhere), every table.
        let mut changed: BTreeSet<String> = seeded.tables.iter().map(|(t, _)| t.clone()).collect();
        changed.extend(fingerprint::INTERNAL_TABLES.iter().map(|t| (*t).to_string()));
        if changed.iter().any(|t| db.tables.get(t).is_some_and(|f| f.as_ref().is_some_and(|f| !f.triggers.is_empty())))
        {
            changed.extend(fingerprint::all_tables(db.conn.get())?);
            changed.remove(HISTORY_TABLE);
        }
        let as_left: fingerprint::Tables =
            changed.iter().map(|t| (t.clone(), db.tables.get(t).cloned().flatten())).collect();
        db.tables.extend(fingerprint::tables(db.conn.get(), &db.cache, &changed, db.read)?);
        Ok(as_left)
    }
}

/// The state after the first `k` revisions of the topological order: its schema and image.
#[derive(Debug)]
pub(super) struct Prefix {
    pub schema: Schema,
    pub image: Image,
    /// The schema cache as it was in this state, for the states the walks start from.
    pub cache: Option<SchemaCache>,
}

pub(super) struct RoundTrip {
    /// The database after the up pass (every revision that could be applied is).
    pub at_head: Image,
    pub changes: Vec<(RevisionId, String)>,
    pub head_schema: String,
    /// Revisions with a failed check, or not tested.
    pub failed: BTreeSet<RevisionId>,
    /// Prefix states, by prefix length, while every revision so far was applied.
    pub prefixes: std::collections::BTreeMap<usize, Prefix>,
    pub proofs: Proofs,
    /// The down pass went from head to base with every down proven: head → base is shown.
    pub head_to_base_shown: bool,
    /// What the data round trip covered, when it ran.
    pub data: Option<super::DataCoverage>,
}

/// The round trip in two passes over an in-memory database.
///
/// The up pass applies every revision in topological order, keeping the state after each (its
/// schema, fingerprints and a page-sharing image). The down pass then reverts them from head,
/// each down starting from a state equal to the state after its up: it must give the state
/// before the up (schema, then fingerprints). Where it does and the up's SQL is deterministic,
/// running the up again would start from the same state as the first up and so give the same
/// result: it is skipped. Otherwise it runs and must give the first up's schema. After any
/// failure the pass goes on from the stored image of the state it needs; nothing is replayed.
/// With two threads, chunks of levels are reverted on databases of their own, each opened from
/// the image after the chunk's top level, while the up pass goes on.
pub(super) fn run(
    set: &MigrationSet,
    scratch: &Path,
    options: &super::Options,
    seed: u64,
    caches_at: &BTreeSet<usize>,
    on_result: &mut dyn FnMut(super::Checked),
) -> crate::error::Result<RoundTrip> {
    let migrator = Migrator::new(set.clone());
    let conn = image::memory()?;
    let settings = Settings::of(&conn)?.enforcing_foreign_keys(options.foreign_keys);
    let mut data =
        (options.seed_rows > 0).then(|| DataRun { rows: options.seed_rows, seed, coverage: Default::default() });
    let read = if data.is_some() { fingerprint::Read::Contents } else { fingerprint::Read::Digest };
    let mut db = Db {
        conn: Watched::new(conn)?,
        scratch: scratch.to_path_buf(),
        cache: SchemaCache::default(),
        tables: Default::default(),
        kept: Arc::new(AtomicUsize::new(0)),
        settings,
        read,
        tracked: false,
    };
    let mut changes = Vec::new();
    let mut failed: BTreeSet<RevisionId> = BTreeSet::new();
    // Findings per revision, reported in topological order after both passes.
    let mut findings: std::collections::BTreeMap<RevisionId, Vec<Finding>> = Default::default();
    // Revisions not applied: their up failed, or they were not tested.
    let mut broken: BTreeSet<RevisionId> = BTreeSet::new();
    let mut prefixes = std::collections::BTreeMap::new();
    let mut proofs = Proofs::default();
    let base_schema = db.cache.read(db.conn.get())?;
    let base = db.conn.image(None)?;
    let mut header = fingerprint::header(db.conn.get())?;
    let cache = caches_at.contains(&0).then(|| db.cache.clone());
    prefixes.insert(0, Prefix { schema: base_schema.clone(), image: base.clone(), cache });
    let graph = set.graph();
    // The levels the main thread reverts, and the state below the first of them.
    let mut levels: Vec<Level> = Vec::new();
    let (mut below_schema, mut below) = (base_schema.clone(), base.clone());
    // With two threads, the up pass hands its levels over in chunks as it goes: a second
    // thread reverts each chunk on a database of its own, opened from the image after the
    // chunk's top level, while the up pass goes on. The main thread keeps the last levels, reverts
    // them on its own database, then takes chunks the second thread has not started.
    let chunk = (options.threads.two() && set.order().len() >= SPLIT_FROM).then(|| chunk_size(set.order().len()));
    let queue = Queue::default();
    let pass = Pass {
        set,
        migrator: &migrator,
        scratch,
        kept: Arc::clone(&db.kept),
        settings: db.settings.clone(),
        read: db.read,
        check_proofs: options.check_proofs,
    };
    let (mut head_schema, mut all_shown, mut rows_compared) = (String::new(), true, 0);
    let at_head = std::thread::scope(|scope| -> crate::error::Result<Image> {
        // However the main thread leaves, the second thread finds the queue closed and ends.
        let _discard = Discard(&queue);
        let second = chunk.map(|_| scope.spawn(|| pass.drain(&queue, Take::Oldest)));
        // The up pass.
        for (index, rev) in set.order().iter().enumerate() {
            let m = set
                .get(rev)
                .ok_or_else(|| crate::error::Error::Misuse(format!("{rev} is in the order but not the set")))?;
            if let Some(cause) = graph.parents(rev).iter().chain(graph.depends_on(rev)).find(|p| broken.contains(p)) {
                broken.insert(*rev);
                let f = finding(*rev, None, "round trip", format!("not tested: it needs {cause}, which failed"));
                findings.entry(*rev).or_default().push(f);
                continue;
            }
            let before = levels.last().map_or(&below, |l| &l.image);
            let up = match step(&migrator, &mut db, rev, Direction::Up)? {
                Ok(step) => step,
                Err(e) => {
                    // A constraint the up's SQL broke may be one only rows break.
                    let seeded = data.as_ref().is_some_and(|d| d.coverage.rows_seeded > 0);
                    let rows = seeded && e.to_string().contains("constraint failed");
                    let note =
                        if rows { " (the data round trip had seeded rows into the tables before it)" } else { "" };
                    let mut f = finding(*rev, Some(Direction::Up), "up", format!("{e}{note}"));
                    f.kept = db.keep(*rev, "up");
                    findings.entry(*rev).or_default().push(f);
                    broken.insert(*rev);
                    // A `Transaction: none` up may have left part of itself.
                    if m.transaction == TransactionMode::None {
                        let before = before.clone();
                        db.restore(&before)?;
                    }
                    continue;
                }
            };
            db.cache.begin_trial();
            let schema = db.cache.read_after(db.conn.get(), &up.footprint)?;
            let cache_undo = db.cache.end_trial();
            let previous = levels.last().map_or(&below_schema, |l| &l.schema);
            let diff = previous.diff(&schema);
            changes
                .push((*rev, if diff.is_empty() { "(no schema change)\n".to_string() } else { render_changes(&diff) }));
            let violations = rule_violations(m, &up.touched);
            if !violations.is_empty() {
                let f = finding(*rev, Some(Direction::Up), "schema-only rule", violations.join("\n"));
                findings.entry(*rev).or_default().push(f);
            }
            let dirty = db.dirty(&[&up])?;
            let tables_before: fingerprint::Tables =
                dirty.iter().map(|t| (t.clone(), db.tables.get(t).cloned().flatten())).collect();
            let after = fingerprint::tables(db.conn.get(), &db.cache, &dirty, db.read)?;
            let lost = data.as_mut().map_or(Vec::new(), |data| data.up_kept(m, &tables_before, &after));
            if !lost.is_empty() {
                let message = lost.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("\n");
                findings.entry(*rev).or_default().push(finding(*rev, Some(Direction::Up), "data", message));
            }
            let up_lost = lost.into_iter().map(|(table, _)| table).collect();
            db.tables.extend(after);
            let seeded = match data.as_mut() {
                Some(data) => data.seed_new_tables(&mut db, *rev, &tables_before)?,
                None => fingerprint::Tables::new(),
            };
            let header_after = fingerprint::header_after(db.conn.get(), &header, &up.footprint)?;
            let image = db.conn.image(Some(before))?;
            if broken.is_empty() {
                let cache = caches_at.contains(&(index + 1)).then(|| db.cache.clone());
                prefixes.insert(index + 1, Prefix { schema: schema.clone(), image: image.clone(), cache });
            }
            let header_before = std::mem::replace(&mut header, header_after.clone());
            levels.push(Level {
                rev: *rev,
                schema,
                image,
                cache_undo,
                tables_before,
                header_before,
                header_after,
                up,
                seeded,
                up_lost,
            });
            // Hand the levels so far over, a chunk at a time, in smaller chunks towards the
            // end (half the ups still to come), so that the main thread keeps few levels.
            let to_come = set.order().len() - (index + 1);
            if chunk.is_some_and(|c| to_come > 0 && levels.len() >= c.min((to_come / 2).max(2))) {
                let top = levels.last().map(|l| (l.schema.clone(), l.image.clone()));
                if let Some((schema, image)) = top {
                    let handed = Chunk {
                        levels: std::mem::take(&mut levels),
                        below: (
                            std::mem::replace(&mut below_schema, schema),
                            std::mem::replace(&mut below, image.clone()),
                        ),
                        top: (image, db.cache.clone(), db.tables.clone()),
                    };
                    queue.push(handed);
                }
            }
        }
        queue.close();
        let at_head = levels.last().map_or(below.clone(), |l| l.image.clone());
        head_schema = levels.last().map_or(&below_schema, |l| &l.schema).to_string();
        // The main thread's own levels, on its own database, then the chunks the second
        // thread has not started.
        let mut done = vec![pass.down(db, &levels, (&below_schema, &below))?];
        done.extend(pass.drain(&queue, Take::Newest)?);
        if let Some(handle) = second {
            let theirs = handle.join().unwrap_or_else(|_| {
                Err(crate::error::Error::Misuse("the down pass's second thread panicked".into()))
            })?;
            done.extend(theirs);
        }
        for down in done {
            all_shown &= down.all_shown;
            for (rev, f) in down.findings {
                findings.entry(rev).or_default().push(f);
            }
            rows_compared += down.rows_compared;
            proofs.proven += down.proofs.proven;
            proofs.run.extend(down.proofs.run);
        }
        Ok(at_head)
    })?;
    // In topological order, however the passes were shared out.
    let position: std::collections::HashMap<&RevisionId, usize> = set.order().iter().zip(0..).collect();
    proofs.run.sort_by_key(|(rev, _)| position.get(rev).copied());
    if let Some(data) = data.as_mut() {
        data.coverage.rows_compared += rows_compared;
    }
    // Report in topological order, one line per revision.
    for rev in set.order() {
        match findings.remove(rev) {
            Some(list) => {
                failed.insert(*rev);
                for f in list {
                    on_result(Err(f));
                }
            }
            None => {
                let m = set.get(rev).ok_or_else(|| crate::error::Error::Misuse(format!("{rev} is not in the set")))?;
                let note =
                    m.irreversible.as_ref().map_or(String::new(), |why| format!(" (up only, irreversible: {why})"));
                on_result(Ok(("round trip", format!("{rev} {}{note}", m.message))));
            }
        }
    }
    // One schema change is recorded per revision applied.
    let head_to_base_shown = all_shown && failed.is_empty() && !changes.is_empty();
    let data = data.map(|d| d.coverage);
    Ok(RoundTrip { at_head, changes, head_schema, failed, prefixes, proofs, head_to_base_shown, data })
}

/// How many levels the up pass hands over at a time: enough that opening the chunk's database
/// costs little against reverting it, few enough that the main thread, done with its ups,
/// finds chunks left to share.
fn chunk_size(revisions: usize) -> usize {
    (revisions / 16).max(8)
}

/// Levels handed over to be reverted on a database of their own.
struct Chunk {
    levels: Vec<Level>,
    /// The state before the first level's up: its schema and image.
    below: (Schema, Image),
    /// The state after the last level's up: its image, and the schema cache and fingerprints
    /// as they were in it.
    top: (Image, SchemaCache, fingerprint::Tables),
}

/// Which chunk a thread takes from the queue.
#[derive(Clone, Copy)]
enum Take {
    /// The lowest: the second thread, which waits for chunks until the queue is closed.
    Oldest,
    /// The highest: the main thread, once the queue is closed.
    Newest,
}

/// The chunks handed over and not yet taken, lowest first.
#[derive(Default)]
struct Queue {
    state: std::sync::Mutex<QueueState>,
    ready: std::sync::Condvar,
}

#[derive(Default)]
struct QueueState {
    chunks: std::collections::VecDeque<Chunk>,
    closed: bool,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, chunk: Chunk) {
        self.lock().chunks.push_back(chunk);
        self.ready.notify_one();
    }

    /// No chunk comes after this.
    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// The next chunk to revert, or `None` once the queue is closed and empty.
    fn next(&self, take: Take) -> Option<Chunk> {
        let mut state = self.lock();
        loop {
            let next = match take {
                Take::Oldest => state.chunks.pop_front(),
                Take::Newest => state.chunks.pop_back(),
            };
            if next.is_some() || state.closed {
                return next;
            }
            state = self.ready.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// Closes the queue and drops what is left in it when the main thread leaves the round trip,
/// by an error too (on the way through, the queue is empty by then).
struct Discard<'a>(&'a Queue);

impl Drop for Discard<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.closed = true;
        state.chunks.clear();
        self.0.ready.notify_all();
    }
}

/// The down pass: what the parts of it share, whichever thread reverts them.
struct Pass<'a> {
    set: &'a MigrationSet,
    migrator: &'a Migrator,
    scratch: &'a Path,
    kept: Arc<AtomicUsize>,
    settings: Settings,
    read: fingerprint::Read,
    check_proofs: bool,
}

impl Pass<'_> {
    /// Reverts `levels`, highest first, on `db`, which must be in the state after the highest
    /// one's up (`below`: the state before the lowest one's, its schema and image). After each
    /// level the database is in the state before its up: shown by its down, or else restored
    /// from that state's image (and the schema cache put back with the up pass's record of what
    /// the up changed in it).
    fn down(&self, mut db: Db, levels: &[Level], below: (&Schema, &Image)) -> crate::error::Result<Down> {
        let mut out = Down::default();
        for i in (0..levels.len()).rev() {
            let level = &levels[i];
            let m = self
                .set
                .get(&level.rev)
                .ok_or_else(|| crate::error::Error::Misuse(format!("{} is not in the set", level.rev)))?;
            let (before_schema, before_image) = match i {
                0 => below,
                _ => (&levels[i - 1].schema, &levels[i - 1].image),
            };
            db.cache.begin_trial();
            let after = if m.irreversible.is_some() {
                // No down to run: the state stays the one after the up.
                out.all_shown = false;
                After::Again
            } else {
                down_then_up(self.migrator, &mut db, level, before_schema, self.check_proofs, &mut out)?
            };
            // Tables seeding changed and the up did not were, before the up, as the up left them.
            db.tables.extend(level.seeded.clone());
            db.tables.extend(level.tables_before.clone());
            let restore = match after {
                After::Before => {
                    db.cache.end_trial();
                    false
                }
                // The next down runs from the restored state, not from this down's: head → base
                // is then not shown by this pass.
                After::Again => {
                    out.all_shown = false;
                    true
                }
                After::Failed(f) => {
                    out.findings.push((level.rev, f));
                    out.all_shown = false;
                    true
                }
            };
            if restore {
                db.cache.rollback_trial();
                db.cache.undo(&level.cache_undo);
                db.restore(before_image)?;
            }
        }
        Ok(out)
    }

    /// Reverts the chunks `queue` gives, each on a database opened from its top image.
    fn drain(&self, queue: &Queue, take: Take) -> crate::error::Result<Vec<Down>> {
        let mut done = Vec::new();
        while let Some(chunk) = queue.next(take) {
            let (image, cache, tables) = chunk.top;
            let db = Db {
                conn: Watched::new(image.open()?)?,
                scratch: self.scratch.to_path_buf(),
                cache,
                tables,
                kept: Arc::clone(&self.kept),
                settings: self.settings.clone(),
                read: self.read,
                tracked: true,
            };
            done.push(self.down(db, &chunk.levels, (&chunk.below.0, &chunk.below.1))?);
        }
        Ok(done)
    }
}

/// What a down pass found.
struct Down {
    findings: Vec<(RevisionId, Finding)>,
    proofs: Proofs,
    /// Every down gave the state before its up, so the database was never restored (true of
    /// a pass over no level).
    all_shown: bool,
    /// Rows the data round trip compared after downs.
    rows_compared: usize,
}

impl Default for Down {
    fn default() -> Down {
        Down { findings: Vec::new(), proofs: Proofs::default(), all_shown: true, rows_compared: 0 }
    }
}

/// Where `down_then_up` left the database.
enum After {
    /// In the state before the up (the down was shown to restore it).
    Before,
    /// In the state after the up again (equal in schema to the first up's).
    Again,
    /// A check failed: the database is in an unknown state.
    Failed(Finding),
}

/// Down from the state after `level`'s up, which must give `before` (schema, then
/// fingerprints); then, unless that proves it redundant, up again, which must give the first
/// up's schema.
fn down_then_up(
    migrator: &Migrator,
    db: &mut Db,
    level: &Level,
    before: &Schema,
    check_proofs: bool,
    out: &mut Down,
) -> crate::error::Result<After> {
    let rev = level.rev;
    if let Some(m) = migrator.set().get(&rev).filter(|m| down_does_nothing(m)) {
        // Its own finding, not a wall of schema diff: the down has no statement to run.
        let message = format!(
            "down does nothing: {} holds no statement while up does; write the SQL that undoes up, or make the migration irreversible",
            m.down_file().display()
        );
        return Ok(After::Failed(finding(rev, Some(Direction::Down), "down", message)));
    }
    let down = match step(migrator, db, &rev, Direction::Down)? {
        Ok(down) => down,
        Err(e) => {
            let mut f = finding(rev, Some(Direction::Down), "down", e.to_string());
            f.kept = db.keep(rev, "down");
            return Ok(After::Failed(f));
        }
    };
    // The catalog rows read as they did before the up, or else the schema is read and compared.
    if !db.cache.restored(db.conn.get(), &down.footprint, &level.cache_undo)? {
        let after_down = db.cache.read_after(db.conn.get(), &down.footprint)?;
        if after_down != *before {
            let message = "the schema after down differs from the schema before up".to_string();
            let mut f = finding(rev, Some(Direction::Down), "down restores the schema", message);
            f.diff = Some(format!("(- before up, + after down)\n{}", render_changes(&before.diff(&after_down))));
            f.kept = db.keep(rev, "down");
            return Ok(After::Failed(f));
        }
    } else if check_proofs && SchemaCache::default().read(db.conn.get())? != *before {
        // `check_proofs`: rows that read as before must give the schema from before.
        let message = "the catalog rows read as before the up, yet the schema differs".to_string();
        return Ok(After::Failed(finding(rev, Some(Direction::Down), "proof", message)));
    }
    let dirty = db.dirty(&[&level.up, &down])?;
    let now = fingerprint::tables(db.conn.get(), &db.cache, &dirty, db.read)?;
    let m = migrator.set().get(&rev).ok_or_else(|| crate::error::Error::Misuse(format!("{rev} is not in the set")))?;
    if let Some(message) = down_kept(m, db, level, &dirty, &now, &mut out.rows_compared) {
        let mut f = finding(rev, Some(Direction::Down), "data", message);
        f.kept = db.keep(rev, "down");
        return Ok(After::Failed(f));
    }
    let unproven = reup_unproven(db, level, &down, &dirty, &now)?;
    match unproven {
        None => out.proofs.proven += 1,
        Some(why) => out.proofs.run.push((rev, why)),
    }
    if unproven.is_none() && !check_proofs {
        return Ok(After::Before);
    }
    let again = match step(migrator, db, &rev, Direction::Up)? {
        Ok(again) => again,
        Err(e) => {
            let mut f = finding(rev, Some(Direction::Up), "up again", format!("up fails after its own down: {e}"));
            f.kept = db.keep(rev, "up-again");
            return Ok(After::Failed(f));
        }
    };
    let schema = db.cache.read_after(db.conn.get(), &again.footprint)?;
    if schema != level.schema {
        let message = "the schema after up, down, up differs from the first up".to_string();
        let mut f = finding(rev, Some(Direction::Up), "up again gives the same schema", message);
        f.diff = Some(format!("(- first up, + up again)\n{}", render_changes(&level.schema.diff(&schema))));
        f.kept = db.keep(rev, "up-again");
        return Ok(After::Failed(f));
    }
    if unproven.is_none() {
        // `check_proofs`: the re-up was proven redundant; its result must be the first up's.
        let dirty = db.dirty(&[&level.up, &down, &again])?;
        let now = fingerprint::tables(db.conn.get(), &db.cache, &dirty, fingerprint::Read::Digest)?;
        // As the first up left them: seeding came after it.
        let first = |t: &str| level.seeded.get(t).cloned().unwrap_or_else(|| db.tables.get(t).cloned().flatten());
        if let Some(table) = differing(&dirty, &now, first) {
            let message = format!("the re-up was proven redundant, yet running it changed the rows of `{table}`");
            return Ok(After::Failed(finding(rev, Some(Direction::Up), "proof", message)));
        }
        if fingerprint::header(db.conn.get())? != level.header_after {
            let message = "the re-up was proven redundant, yet running it changed the header".to_string();
            return Ok(After::Failed(finding(rev, Some(Direction::Up), "proof", message)));
        }
    }
    Ok(After::Again)
}

/// What the down of `level` did not give back (`now`: fingerprints, with contents when the data
/// round trip is on, of the `dirty` tables after it), one line per table; counts the rows
/// compared.
fn down_kept(
    m: &Migration,
    db: &Db,
    level: &Level,
    dirty: &BTreeSet<String>,
    now: &fingerprint::Tables,
    rows_compared: &mut usize,
) -> Option<String> {
    if db.read != fingerprint::Read::Contents {
        return None;
    }
    let mut found = Vec::new();
    let judged = |t: &&String| !fingerprint::INTERNAL_TABLES.contains(&t.as_str()) && !level.up_lost.contains(*t);
    for table in dirty.iter().filter(judged) {
        let (Some(before), Some(Some(after))) = (was(db, level, table), now.get(table)) else { continue };
        *rows_compared += before.contents.as_ref().map_or(0, |c| c.rows.len());
        if let (true, Some(bc), Some(ac)) = (before != *after, &before.contents, &after.contents) {
            found.extend(super::data::down_loss(m, table, bc, ac));
        }
    }
    (!found.is_empty()).then(|| found.join("\n"))
}

/// Runs `script` twice at its revision: the second run must change nothing. With `data`, the
/// database then goes to head and the last revision is downgraded and upgraded again: the
/// populated rows must survive, except in tables its `Lossy:` lines name. `Ok` says what was
/// shown.
pub(super) fn populate_twice(set: &MigrationSet, script: &PopulateScript, data: bool) -> Result<String, Finding> {
    let fail = |message: String| Finding {
        revision: Some(script.requires),
        direction: None,
        check: format!("populate {}", script.file.display()),
        message,
        diff: None,
        kept: None,
    };
    let migrator = Migrator::new(set.clone());
    let mut conn = Connection::open_in_memory().map_err(|e| fail(e.to_string()))?;
    if set.get(&script.requires).is_none() {
        return Err(fail(format!("requires revision {}, which these migrations do not contain", script.requires)));
    }
    migrator.upgrade(&mut conn, Target::Revision(script.requires), &mut |_| {}).map_err(|e| fail(e.to_string()))?;
    crate::populate::run_script(&mut conn, &migrator, script).map_err(|e| fail(e.to_string()))?;
    let first = crate::populate::table_contents(&conn).map_err(|e| fail(e.to_string()))?;
    crate::populate::run_script(&mut conn, &migrator, script)
        .map_err(|e| fail(format!("the second run failed: {e}")))?;
    let second = crate::populate::table_contents(&conn).map_err(|e| fail(e.to_string()))?;
    if first != second {
        let mut f = fail("not idempotent: the second run changed table contents; guard each write (INSERT OR IGNORE, WHERE NOT EXISTS, ON CONFLICT DO NOTHING)".into());
        f.diff = Some(contents_diff(&first, &second));
        return Err(f);
    }
    let shown = format!("{} is idempotent", script.file.display());
    let (Some(last), [_]) = (set.order().last().and_then(|r| set.get(r)), set.graph().heads().as_slice()) else {
        return Ok(shown);
    };
    if !data || last.irreversible.is_some() {
        return Ok(shown);
    }
    let data_fail =
        |message: String| Finding { check: format!("populate {} (data)", script.file.display()), ..fail(message) };
    migrator
        .upgrade(&mut conn, Target::Heads, &mut |_| {})
        .map_err(|e| data_fail(format!("upgrading the populated database to head failed: {e}")))?;
    let kept = |contents: crate::populate::Contents| -> crate::populate::Contents {
        contents
            .into_iter()
            // Any `Lossy:` name of the table, whole or one of its columns, leaves it out.
            .filter(|(table, _)| !last.lossy.iter().flat_map(|l| &l.items).any(|i| i.table.eq_ignore_ascii_case(table)))
            .collect()
    };
    let before = kept(crate::populate::table_contents(&conn).map_err(|e| data_fail(e.to_string()))?);
    let options = DowngradeOptions { backup: false };
    migrator
        .downgrade(&mut conn, Target::Relative(-1), options, &mut |_| {})
        .and_then(|_| migrator.upgrade(&mut conn, Target::Heads, &mut |_| {}))
        .map_err(|e| {
            data_fail(format!("downgrading and upgrading {} on the populated database failed: {e}", last.revision))
        })?;
    let after = kept(crate::populate::table_contents(&conn).map_err(|e| data_fail(e.to_string()))?);
    if before != after {
        let mut f = data_fail(format!(
            "the populated rows do not survive a downgrade and upgrade of {} (the last revision); make its down keep them, or declare what it loses with `-- Lossy: <table>: <reason>`",
            last.revision
        ));
        f.diff = Some(contents_diff(&before, &after));
        return Err(f);
    }
    Ok(format!("{shown}, and its rows survive a downgrade and upgrade of {}", last.revision))
}

/// The rows of `second` that `first` lacks (`+`) and the other way (`-`), per table: a
/// duplicated row shows as one more `+` line.
fn contents_diff(first: &crate::populate::Contents, second: &crate::populate::Contents) -> String {
    let mut diff = String::new();
    let tables: std::collections::BTreeSet<&String> = first.keys().chain(second.keys()).collect();
    for table in tables {
        let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
        for row in second.get(table).into_iter().flatten() {
            *counts.entry(row).or_default() += 1;
        }
        for row in first.get(table).into_iter().flatten() {
            *counts.entry(row).or_default() -= 1;
        }
        for (row, n) in counts {
            let sign = if n > 0 { '+' } else { '-' };
            for _ in 0..n.abs() {
                diff.push_str(&format!("{sign} {table} {row}\n"));
            }
        }
    }
    diff
}

/// Step 7, on an in-memory copy of `at_head` (a database with every revision applied); `None`
/// (with a note) when an irreversible migration makes base unreachable.
pub(super) fn head_to_base(
    set: &MigrationSet,
    at_head: &Image,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Option<Result<(), Finding>> {
    let fail = |message: String| Finding {
        revision: None,
        direction: Some(Direction::Down),
        check: "head to base".into(),
        message,
        diff: None,
        kept: None,
    };
    if let Some(m) = set.in_order().find(|m| m.irreversible.is_some()) {
        on_event(Event::Note {
            verb: "Irreversible",
            text: format!("head to base not possible: {} is irreversible", m.revision),
        });
        return None;
    }
    let migrator = Migrator::new(set.clone());
    let result = (|| {
        let mut conn = at_head.open().map_err(|e| fail(e.to_string()))?;
        migrator
            .downgrade(&mut conn, Target::Base, DowngradeOptions { backup: false }, &mut |_| {})
            .map_err(|e| fail(e.to_string()))?;
        let left = Schema::read(&conn).map_err(|e| fail(e.to_string()))?;
        if left.is_empty() {
            Ok(())
        } else {
            let mut f = fail("objects are left after downgrading to base".into());
            f.diff = Some(render_changes(&Schema::default().diff(&left)));
            Err(f)
        }
    })();
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_second_thread_ends_when_the_main_thread_leaves_early() {
        let queue = Arc::new(Queue::default());
        let (sender, receiver) = std::sync::mpsc::channel();
        let waiting = Arc::clone(&queue);
        // Not a scoped thread: were it never to end, the test fails instead of hanging.
        std::thread::spawn(move || sender.send(waiting.next(Take::Oldest).is_none()));
        // Most likely waiting by then (the assertion holds either way; it then tests less).
        std::thread::sleep(std::time::Duration::from_millis(50));
        // The main thread leaves (an error on its way up) without closing the queue itself.
        drop(Discard(&queue));
        let ended = receiver.recv_timeout(std::time::Duration::from_secs(60));
        assert_eq!(ended, Ok(true), "the waiting thread finds the queue closed and empty");
        // Closed on the normal path: neither thread waits for more.
        let queue = Queue::default();
        queue.close();
        assert!(queue.next(Take::Newest).is_none());
        assert!(queue.next(Take::Oldest).is_none());
    }
}
