//! Steps 2, 3, 6 and 7 of the harness: each revision up → down → up in one incremental pass on a
//! temp file database, with the schema-only rule confirmed from what SQLite's authorizer saw;
//! populate scripts run twice; head → base.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use retort_build::populate::PopulateScript;
use retort_build::{HISTORY_TABLE, Migration, MigrationSet, RevisionId, TransactionMode, WaiverKind};

use super::image::Image;
use super::{Event, Finding};
use crate::fingerprint;
use crate::snapshot::{Schema, SchemaCache, render_changes};
use crate::watch::{Access, AccessKind};
use crate::{Direction, DowngradeOptions, Migrator, Target};

fn finding(rev: RevisionId, direction: Option<Direction>, check: &str, message: String) -> Finding {
    Finding { revision: Some(rev), direction, check: check.to_string(), message, diff: None, kept: None }
}

/// Data changes and drops seen by the authorizer that the header does not waive.
fn rule_violations(m: &Migration, touched: &[Access]) -> Vec<String> {
    let dropped: BTreeSet<&str> =
        touched.iter().filter(|a| a.kind == AccessKind::DropTable).map(|a| a.table.as_str()).collect();
    let mut out = Vec::new();
    if !m.allows(WaiverKind::DataChange) {
        for a in touched {
            let verb = match a.kind {
                AccessKind::Insert => "INSERT into",
                AccessKind::Update => "UPDATE of",
                // SQLite reports a DELETE for every table it drops: that one is the drop itself.
                AccessKind::Delete if !dropped.contains(a.table.as_str()) => "DELETE from",
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
struct Db {
    conn: Connection,
    known: Known,
}

/// What Retort knows of the round-trip database's current state.
struct Known {
    path: PathBuf,
    cache: SchemaCache,
    /// Fingerprints of every table (SQLite's own included) as of the current state.
    tables: fingerprint::Tables,
    header: fingerprint::Header,
    /// Databases kept so far (each is a full copy: a run with many failures keeps the first ones).
    kept: usize,
}

/// At most this many failing databases are written out per run.
const KEEP_AT_MOST: usize = 20;

impl Db {
    fn fresh(path: &Path) -> crate::Result<Db> {
        for suffix in ["", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let conn = crate::open(path)?;
        // A throw-away database: durability buys nothing here.
        conn.execute_batch("PRAGMA synchronous = OFF")
            .map_err(crate::Error::sqlite("cannot set up the test database"))?;
        let header = fingerprint::header(&conn)?;
        let known = Known {
            path: path.to_path_buf(),
            cache: SchemaCache::default(),
            tables: Default::default(),
            header,
            kept: 0,
        };
        Ok(Db { conn, known })
    }
}

impl Known {
    /// Copies the database as it is now (inside a transaction too) next to it, for the user.
    fn keep(&mut self, conn: &Connection, rev: RevisionId, check: &str) -> Option<PathBuf> {
        if self.kept >= KEEP_AT_MOST {
            return None;
        }
        let path = self.path.with_file_name(format!("{rev}-{}.db", check.replace(' ', "-")));
        let kept = Image::take(conn).ok()?.write(&path)?;
        self.kept += 1;
        Some(kept)
    }

    /// The tables whose rows or definition `touched` and the last schema read say may have
    /// changed, SQLite's own always included (everything after a `VACUUM`).
    fn dirty(&self, conn: &Connection, steps: &[&crate::Step]) -> crate::Result<BTreeSet<String>> {
        let mut dirty: BTreeSet<String> = fingerprint::INTERNAL_TABLES.iter().map(|t| (*t).to_string()).collect();
        dirty.extend(self.cache.changed_tables().iter().cloned());
        for step in steps {
            dirty.extend(step.touched.iter().map(|a| a.table.to_ascii_lowercase()));
            dirty.extend(step.footprint.objects.iter().cloned());
            if step.footprint.vacuumed {
                dirty.extend(fingerprint::all_tables(conn)?);
                dirty.extend(self.tables.keys().cloned());
            }
        }
        dirty.remove(HISTORY_TABLE);
        Ok(dirty)
    }
}

/// How the round trip treated the re-up of each reversible revision.
#[derive(Debug, Default)]
pub(super) struct Proofs {
    /// Re-ups skipped: the state after down equalled the state before up.
    pub proven: usize,
    /// Re-ups run, with the reason the proof did not hold.
    pub run: Vec<(RevisionId, &'static str)>,
}

/// The state before a revision's up, and its up, as the down and re-up compare against.
struct Before<'a> {
    schema: &'a Schema,
    /// Fingerprints before the up of the tables the up touched.
    tables: fingerprint::Tables,
    header: fingerprint::Header,
    up: crate::Step,
}

/// Why running `up` again from the state after down could give something else than the first
/// up, or `None` when it provably cannot: the state after down equals the state before up
/// (schema, the rows and trigger order of every table either step touched, SQLite's own
/// tables, the header settings, an empty `temp` schema) and the up's SQL is deterministic.
fn reup_unproven(
    conn: &Connection,
    db: &Known,
    before: &Before<'_>,
    down: &crate::Step,
) -> crate::Result<Option<&'static str>> {
    let fp = &before.up.footprint;
    if let Some(reason) = [
        (fp.volatile.is_some(), "up calls a function whose result can change (random, date/time, changes)"),
        (fp.reads_catalog, "up reads SQLite's catalog or runs a PRAGMA"),
        (fp.temp || before.header.temp_objects > 0, "the connection has temp objects"),
    ]
    .into_iter()
    .find_map(|(cond, why)| cond.then_some(why))
    {
        return Ok(Some(reason));
    }
    if fingerprint::header(conn)? != before.header {
        return Ok(Some("down leaves user_version, application_id or auto_vacuum changed"));
    }
    let dirty = db.dirty(conn, &[&before.up, down])?;
    let now = fingerprint::tables(conn, &dirty)?;
    let same = dirty.iter().all(|t| {
        let was = before.tables.get(t).or_else(|| db.tables.get(t)).cloned().flatten();
        now.get(t).cloned().flatten() == was
    });
    Ok((!same).then_some("down leaves table rows, rowids or trigger order different"))
}

/// What the down and re-up of one revision found.
enum Trial {
    Passed { proven: Option<&'static str> },
    Failed(Finding),
}

/// Down, which must restore the state before up, then — unless that is provably redundant —
/// up again, which must give the first up's schema. Runs inside one transaction the caller
/// rolls back when `in_transaction`, else committed step by step (the caller restores an image).
#[allow(clippy::too_many_arguments)]
fn down_then_up(
    session: &mut crate::Session<'_>,
    conn: &Connection,
    db: &mut Known,
    rev: &RevisionId,
    before: &Before<'_>,
    after_up: &Schema,
    in_transaction: bool,
    check_proofs: bool,
) -> crate::Result<Trial> {
    let step = |session: &mut crate::Session<'_>, direction| {
        if in_transaction {
            session.step_in_open_transaction(rev, direction)
        } else {
            session.step(rev, direction, &[])
        }
    };
    let down = match step(session, Direction::Down) {
        Ok(down) => down,
        Err(e) => {
            let mut f = finding(*rev, Some(Direction::Down), "down", e.to_string());
            f.kept = db.keep(conn, *rev, "down");
            return Ok(Trial::Failed(f));
        }
    };
    let after_down = db.cache.read_after(conn, &down.footprint)?;
    if after_down != *before.schema {
        let message = "the schema after down differs from the schema before up".to_string();
        let mut f = finding(*rev, Some(Direction::Down), "down restores the schema", message);
        f.diff = Some(format!("(- before up, + after down)\n{}", render_changes(&before.schema.diff(&after_down))));
        f.kept = db.keep(conn, *rev, "down");
        return Ok(Trial::Failed(f));
    }
    let unproven = reup_unproven(conn, db, before, &down)?;
    if unproven.is_none() && !check_proofs {
        return Ok(Trial::Passed { proven: None });
    }
    let again = match step(session, Direction::Up) {
        Ok(again) => again,
        Err(e) => {
            let mut f = finding(*rev, Some(Direction::Up), "up again", format!("up fails after its own down: {e}"));
            f.kept = db.keep(conn, *rev, "up-again");
            return Ok(Trial::Failed(f));
        }
    };
    let schema = db.cache.read_after(conn, &again.footprint)?;
    if schema != *after_up {
        let message = "the schema after up, down, up differs from the first up".to_string();
        let mut f = finding(*rev, Some(Direction::Up), "up again gives the same schema", message);
        f.diff = Some(format!("(- first up, + up again)\n{}", render_changes(&after_up.diff(&schema))));
        f.kept = db.keep(conn, *rev, "up-again");
        return Ok(Trial::Failed(f));
    }
    if unproven.is_none() {
        // `check_proofs`: the re-up was proven redundant; its result must be the first up's.
        let dirty = db.dirty(conn, &[&before.up, &down, &again])?;
        let now = fingerprint::tables(conn, &dirty)?;
        let differs = dirty.iter().find(|t| now.get(*t).cloned().flatten() != db.tables.get(*t).cloned().flatten());
        if let Some(table) = differs {
            let message = format!("the re-up was proven redundant, yet running it changed the rows of `{table}`");
            return Ok(Trial::Failed(finding(*rev, Some(Direction::Up), "proof", message)));
        }
        if fingerprint::header(conn)? != db.header {
            let message = "the re-up was proven redundant, yet running it changed the header".to_string();
            return Ok(Trial::Failed(finding(*rev, Some(Direction::Up), "proof", message)));
        }
    }
    Ok(Trial::Passed { proven: unproven })
}

/// States the walks start from or compare against: the schema (and, for some, an image) of
/// the state after the first `k` revisions of the topological order.
#[derive(Debug, Default)]
pub(super) struct Keep {
    /// Prefix lengths whose schema to keep.
    pub schemas: BTreeSet<usize>,
    /// Prefix lengths whose image to keep.
    pub images: BTreeSet<usize>,
}

/// A kept prefix state.
#[derive(Debug)]
pub(super) struct Prefix {
    pub schema: Schema,
    pub image: Option<Image>,
}

pub(super) struct RoundTrip {
    /// The round-trip database as the pass left it.
    pub db: Connection,
    pub changes: Vec<(RevisionId, String)>,
    pub head_schema: String,
    /// Revisions with a failed check, or not tested.
    pub failed: BTreeSet<RevisionId>,
    /// Kept prefix states, by prefix length (only while every revision so far was applied).
    pub prefixes: std::collections::BTreeMap<usize, Prefix>,
    pub proofs: Proofs,
}

pub(super) fn run(
    set: &MigrationSet,
    scratch: &Path,
    keep: &Keep,
    check_proofs: bool,
    on_result: &mut dyn FnMut(super::Checked),
) -> crate::Result<RoundTrip> {
    let migrator = Migrator::new(set.clone());
    let mut db = Db::fresh(&scratch.join("roundtrip.db"))?;
    let mut changes = Vec::new();
    let mut failed: BTreeSet<RevisionId> = BTreeSet::new();
    // Revisions not applied: their up failed, or they were not tested.
    let mut broken: BTreeSet<RevisionId> = BTreeSet::new();
    let mut prefixes = std::collections::BTreeMap::new();
    let mut proofs = Proofs::default();
    let mut before = db.known.cache.read(&db.conn)?;
    let mut keep_prefix = |db: &Db, k: usize, schema: &Schema, broken: &BTreeSet<RevisionId>| -> crate::Result<()> {
        if broken.is_empty() && keep.schemas.contains(&k) {
            let image = if keep.images.contains(&k) { Some(Image::take(&db.conn)?) } else { None };
            prefixes.insert(k, Prefix { schema: schema.clone(), image });
        }
        Ok(())
    };
    keep_prefix(&db, 0, &before, &broken)?;
    let graph = set.graph();
    for (index, rev) in set.order().iter().enumerate() {
        let m = set.get(rev).ok_or_else(|| crate::Error::Misuse(format!("{rev} is in the order but not the set")))?;
        if let Some(cause) = graph.parents(rev).iter().chain(graph.depends_on(rev)).find(|p| broken.contains(p)) {
            broken.insert(*rev);
            failed.insert(*rev);
            let f = finding(*rev, None, "round trip", format!("not tested: it needs {cause}, which failed"));
            on_result(Err(f));
            continue;
        }
        let up_transactional = m.transaction == TransactionMode::PerMigration;
        // Up. A failing transactional up leaves nothing; a `Transaction: none` one may leave
        // part of itself, so the state before it is kept to go back to.
        let image_before = if up_transactional { None } else { Some(Image::take(&db.conn)?) };
        let mut session = migrator.session(&db.conn)?;
        let up = match session.step(rev, Direction::Up, &[]) {
            Ok(step) => step,
            Err(e) => {
                let mut f = finding(*rev, Some(Direction::Up), "up", e.to_string());
                f.kept = db.known.keep(&db.conn, *rev, "up");
                session.close()?;
                if let Some(image) = image_before {
                    image.restore(&mut db.conn)?;
                    db.known.cache = SchemaCache::default();
                    db.known.cache.read(&db.conn)?;
                }
                on_result(Err(f));
                broken.insert(*rev);
                failed.insert(*rev);
                continue;
            }
        };
        let after_up = db.known.cache.read_after(&db.conn, &up.footprint)?;
        let diff = before.diff(&after_up);
        changes.push((*rev, if diff.is_empty() { "(no schema change)\n".to_string() } else { render_changes(&diff) }));
        // Fingerprints: those before the up of what it touched, then the state after it.
        let dirty = db.known.dirty(&db.conn, &[&up])?;
        let tables_before: fingerprint::Tables =
            dirty.iter().map(|t| (t.clone(), db.known.tables.get(t).cloned().flatten())).collect();
        db.known.tables.extend(fingerprint::tables(&db.conn, &dirty)?);
        let header_before = std::mem::replace(&mut db.known.header, fingerprint::header(&db.conn)?);
        let violations = rule_violations(m, &up.touched);
        let mut ok = true;
        if !violations.is_empty() {
            on_result(Err(finding(*rev, Some(Direction::Up), "schema-only rule", violations.join("\n"))));
            ok = false;
        }
        if m.irreversible.is_none() {
            let down_transactional = m.down.is_some() && m.transaction == TransactionMode::PerMigration;
            let b = Before { schema: &before, tables: tables_before, header: header_before, up };
            // Down (and re-up) inside one transaction that is rolled back: the state after the
            // first up comes back exactly, in the time SQLite takes to undo the pages changed.
            // A `Transaction: none` migration runs outside one; its image is restored instead.
            let image_after = if down_transactional { None } else { Some(Image::take(&db.conn)?) };
            db.known.cache.begin_trial();
            if down_transactional {
                session.settle()?;
                db.conn
                    .execute_batch("BEGIN IMMEDIATE")
                    .map_err(crate::Error::sqlite("cannot start a write transaction"))?;
            }
            let trial = down_then_up(
                &mut session,
                &db.conn,
                &mut db.known,
                rev,
                &b,
                &after_up,
                down_transactional,
                check_proofs,
            );
            if down_transactional && !db.conn.is_autocommit() {
                db.conn.execute_batch("ROLLBACK").map_err(crate::Error::sqlite("cannot roll the round trip back"))?;
            }
            session.close()?;
            if let Some(image) = image_after {
                image.restore(&mut db.conn)?;
            }
            db.known.cache.rollback_trial();
            match trial? {
                Trial::Passed { proven: None } => proofs.proven += 1,
                Trial::Passed { proven: Some(why) } => proofs.run.push((*rev, why)),
                Trial::Failed(f) => {
                    on_result(Err(f));
                    ok = false;
                }
            }
        } else {
            session.close()?;
        }
        if ok {
            let note = if m.irreversible.is_some() { " (up only: irreversible)" } else { "" };
            on_result(Ok(("round trip", format!("{rev} {}{note}", m.message))));
        } else {
            failed.insert(*rev);
        }
        before = after_up;
        keep_prefix(&db, index + 1, &before, &broken)?;
    }
    Ok(RoundTrip { db: db.conn, changes, head_schema: before.to_string(), failed, prefixes, proofs })
}

pub(super) fn populate_twice(set: &MigrationSet, script: &PopulateScript) -> Result<(), Finding> {
    let fail = |message: String| Finding {
        revision: Some(script.requires),
        direction: None,
        check: format!("populate {}", script.file.display()),
        message,
        diff: None,
        kept: None,
    };
    let migrator = Migrator::new(set.clone());
    let conn = Connection::open_in_memory().map_err(|e| fail(e.to_string()))?;
    if set.get(&script.requires).is_none() {
        return Err(fail(format!("requires revision {}, which these migrations do not contain", script.requires)));
    }
    migrator.upgrade(&conn, Target::Revision(script.requires), &mut |_| {}).map_err(|e| fail(e.to_string()))?;
    crate::populate::run_script(&conn, &migrator, script).map_err(|e| fail(e.to_string()))?;
    let first = crate::populate::table_contents(&conn).map_err(|e| fail(e.to_string()))?;
    crate::populate::run_script(&conn, &migrator, script).map_err(|e| fail(format!("the second run failed: {e}")))?;
    let second = crate::populate::table_contents(&conn).map_err(|e| fail(e.to_string()))?;
    if first == second {
        return Ok(());
    }
    // Multiset difference per table: a duplicated row shows as one more `+` line.
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
    let mut f = fail("not idempotent: the second run changed table contents; guard each write (INSERT OR IGNORE, WHERE NOT EXISTS, ON CONFLICT DO NOTHING)".into());
    f.diff = Some(diff);
    Err(f)
}

/// Step 7, on an in-memory copy of `at_head` (a database with every revision applied); `None`
/// (with a note) when an irreversible migration makes base unreachable.
pub(super) fn head_to_base(
    set: &MigrationSet,
    at_head: &Connection,
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
        let conn = Image::take(at_head).and_then(|image| image.open()).map_err(|e| fail(e.to_string()))?;
        migrator
            .downgrade(&conn, Target::Base, DowngradeOptions { backup: false }, &mut |_| {})
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
