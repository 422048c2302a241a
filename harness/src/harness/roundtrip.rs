//! Steps 2, 3, 6 and 7 of the harness: each revision up → down → up in one incremental pass on a
//! temp file database, with the schema-only rule confirmed from what SQLite's authorizer saw;
//! populate scripts run twice; head → base.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use retort_build::populate::PopulateScript;
use retort_build::{Migration, MigrationSet, RevisionId, WaiverKind};

use super::{Event, Finding};
use crate::snapshot::{Schema, SchemaCache, render_changes};
use crate::watch::{Access, AccessKind};
use crate::{Direction, DowngradeOptions, Migrator, Target};

pub(super) struct RoundTrip {
    /// True when every revision passed (the database is then at head).
    pub all_passed: bool,
    /// The round-trip database as the pass left it.
    pub db: Connection,
    pub changes: Vec<(RevisionId, String)>,
    pub head_schema: String,
}

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

struct Db {
    path: PathBuf,
    conn: Connection,
    cache: SchemaCache,
}

impl Db {
    fn fresh(path: &Path) -> crate::Result<Db> {
        for suffix in ["", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Ok(Db { path: path.to_path_buf(), conn: crate::open(path)?, cache: SchemaCache::default() })
    }

    /// Copies the database as it is now next to it, for the user to inspect.
    fn keep(&self, rev: RevisionId, check: &str) -> Option<PathBuf> {
        let name = format!("{rev}-{}.db", check.replace(' ', "-"));
        let path = self.path.with_file_name(name);
        self.conn.backup(rusqlite::MAIN_DB, &path, None).ok().map(|()| path)
    }
}

/// Down, which must restore `before` exactly, then up again, which must give `after_up`. On a
/// failure: the finding, the name the database is kept under, and whether it must be rebuilt
/// before the pass goes on (a step committed and left a wrong state).
fn down_then_up(
    session: &mut crate::Session<'_>,
    conn: &Connection,
    cache: &mut SchemaCache,
    rev: &RevisionId,
    before: &Schema,
    after_up: &Schema,
) -> crate::Result<Option<(Finding, &'static str, bool)>> {
    if let Err(e) = session.step(rev, Direction::Down, &[]) {
        return Ok(Some((finding(*rev, Some(Direction::Down), "down", e.to_string()), "down", false)));
    }
    let after_down = cache.read(conn)?;
    if after_down != *before {
        let message = "the schema after down differs from the schema before up".to_string();
        let mut f = finding(*rev, Some(Direction::Down), "down restores the schema", message);
        f.diff = Some(format!("(- before up, + after down)\n{}", render_changes(&before.diff(&after_down))));
        return Ok(Some((f, "down", true)));
    }
    if let Err(e) = session.step(rev, Direction::Up, &[]) {
        let f = finding(*rev, Some(Direction::Up), "up again", format!("up fails after its own down: {e}"));
        return Ok(Some((f, "up-again", true)));
    }
    let again = cache.read(conn)?;
    if again != *after_up {
        let message = "the schema after up, down, up differs from the first up".to_string();
        let mut f = finding(*rev, Some(Direction::Up), "up again gives the same schema", message);
        f.diff = Some(format!("(- first up, + up again)\n{}", render_changes(&after_up.diff(&again))));
        return Ok(Some((f, "up-again", true)));
    }
    Ok(None)
}

pub(super) fn run(
    set: &MigrationSet,
    scratch: &Path,
    on_result: &mut dyn FnMut(super::Checked),
) -> crate::Result<RoundTrip> {
    let mut all_passed = true;
    let mut on_result = |result: super::Checked| {
        all_passed &= result.is_ok();
        on_result(result);
    };
    let migrator = Migrator::new(set.clone());
    let path = scratch.join("roundtrip.db");
    let mut db = Db::fresh(&path)?;
    let mut changes = Vec::new();
    let mut applied: BTreeSet<RevisionId> = BTreeSet::new();
    let mut broken: BTreeSet<RevisionId> = BTreeSet::new();
    let mut before = db.cache.read(&db.conn)?;
    let quiet = &mut |_: &crate::Step| {};
    for rev in set.order() {
        let m = set.get(rev).expect("ordered revisions exist");
        let graph = set.graph();
        if let Some(failed) = graph.ancestors(&[*rev]).into_iter().find(|a| broken.contains(a)) {
            broken.insert(*rev);
            let f = finding(*rev, None, "round trip", format!("not tested: it needs {failed}, which failed"));
            on_result(Err(f));
            continue;
        }
        // One session per revision: foreign keys off and the authorizer on for its three steps.
        let mut session = migrator.session(&db.conn)?;
        // Up.
        let touched = match session.step(rev, Direction::Up, &[]) {
            Ok(step) => step.touched,
            Err(e) => {
                let mut f = finding(*rev, Some(Direction::Up), "up", e.to_string());
                f.kept = db.keep(*rev, "up");
                on_result(Err(f));
                broken.insert(*rev);
                continue;
            }
        };
        let after_up = db.cache.read(&db.conn)?;
        let diff = before.diff(&after_up);
        changes.push((*rev, if diff.is_empty() { "(no schema change)\n".to_string() } else { render_changes(&diff) }));
        let violations = rule_violations(m, &touched);
        let mut ok = true;
        if !violations.is_empty() {
            on_result(Err(finding(*rev, Some(Direction::Up), "schema-only rule", violations.join("\n"))));
            ok = false;
        }
        if m.irreversible.is_some() {
            if ok {
                on_result(Ok(("round trip", format!("{rev} {} (up only: irreversible)", m.message))));
            }
            session.close()?;
            applied.insert(*rev);
            before = after_up;
            continue;
        }
        let mut rebuild = false;
        if let Some((mut f, kept_as, must_rebuild)) =
            down_then_up(&mut session, &db.conn, &mut db.cache, rev, &before, &after_up)?
        {
            f.kept = db.keep(*rev, kept_as);
            on_result(Err(f));
            ok = false;
            rebuild = must_rebuild;
        }
        session.close()?;
        applied.insert(*rev);
        if rebuild {
            // Restore the good state (everything so far, this revision included) and carry on.
            let fresh = scratch.join(format!("roundtrip-{rev}.db"));
            db = Db::fresh(&fresh)?;
            let path = graph.sorted(applied.iter().copied());
            migrator.run(&db.conn, &path, Direction::Up, quiet)?;
        }
        if ok {
            on_result(Ok(("round trip", format!("{rev} {}", m.message))));
        }
        before = after_up;
    }
    Ok(RoundTrip { all_passed, db: db.conn, changes, head_schema: before.to_string() })
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

/// Step 7; `None` (with a note) when an irreversible migration makes base unreachable. Starts
/// from an in-memory copy of `at_head` when given (a database with every revision applied),
/// else upgrades a fresh in-memory database first.
pub(super) fn head_to_base(
    set: &MigrationSet,
    at_head: Option<&Connection>,
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
        let mut conn = Connection::open_in_memory().map_err(|e| fail(e.to_string()))?;
        match at_head {
            Some(source) => {
                let backup = rusqlite::backup::Backup::new(source, &mut conn).map_err(|e| fail(e.to_string()))?;
                backup.run_to_completion(1 << 16, std::time::Duration::ZERO, None).map_err(|e| fail(e.to_string()))?;
            }
            None => migrator.upgrade(&conn, Target::Heads, &mut |_| {}).map(drop).map_err(|e| fail(e.to_string()))?,
        }
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
