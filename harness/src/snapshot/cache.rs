//! Reading the catalog: `SchemaCache` turns `sqlite_schema` rows into objects and, after a
//! step, re-reads only the rows that step can have changed.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use rusqlite::Connection;

use retort_build::sql::tokenize;

use super::{Kind, Line, Object, Schema, index, key, sql_form, table};
use crate::error::{Error, Result};
use crate::history;
use crate::watch::Footprint;

/// One `sqlite_schema` row as the cache last read it.
#[derive(Clone, Debug)]
struct Entry {
    /// Its rowid in `sqlite_schema`.
    rowid: i64,
    /// `tbl_name`, lower-cased.
    table: String,
    /// The row's SQL text.
    sql: String,
    /// The objects it stands for (a table brings its auto-indexes).
    objects: Vec<Arc<Object>>,
    /// False when the objects depend on another row too (a bare `REFERENCES t` takes `t`'s key).
    cacheable: bool,
}

/// Reads schemas repeatedly, re-inspecting only the objects that changed.
///
/// `read` scans `sqlite_schema` and re-inspects the rows whose text changed (SQLite rewrites
/// that text on every change to the object, including ADD, RENAME and DROP COLUMN and the
/// rewrites a rename causes in indexes, views and triggers) and every index of a table that
/// changed (an index's key collation comes from its table's column, not from its own text).
/// `read_after` reads only the rows a step's `Footprint` names, when nothing it did can have
/// rewritten other rows (no rename, no `VACUUM`); otherwise it is `read`.
///
/// A trial (`begin_trial` … `rollback_trial`) records what the reads change, so that after the
/// database is rolled back the cache is too, without reading anything.
#[derive(Clone, Debug, Default)]
pub struct SchemaCache {
    /// `type NUL name` -> the row.
    entries: HashMap<String, Entry>,
    /// The schema as of the last read, sorted as `Schema` is.
    current: Vec<Arc<Object>>,
    /// Tables (lower-cased) whose definition was added, changed or removed by the last read.
    changed: BTreeSet<String>,
    /// While a trial runs: the entries as they were before it changed them, oldest first.
    undo: Option<Vec<(String, Option<Entry>)>>,
    /// True once a full read has filled the cache (before that, every read is full).
    primed: bool,
    /// Table (lower-cased) -> the keys of its entries.
    by_table: HashMap<String, BTreeSet<String>>,
    /// Tables with entries that are not cacheable -> how many.
    uncacheable: HashMap<String, usize>,
    /// `sqlite_schema` rowid -> the key of its entry.
    by_rowid: std::collections::BTreeMap<i64, String>,
}

/// What a trial changed in a `SchemaCache`, to go back with `SchemaCache::undo`.
#[derive(Clone, Debug, Default)]
pub struct CacheUndo(Vec<(String, Option<Entry>)>);

/// A row of `sqlite_schema`.
struct Row {
    rowid: i64,
    kind: String,
    name: String,
    table: String,
    sql: String,
}

impl SchemaCache {
    /// The schema of the `main` database of `conn`, scanning all of `sqlite_schema`.
    pub fn read(&mut self, conn: &Connection) -> Result<Schema> {
        self.primed = true;
        let rows = schema_rows(conn, None)?;
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::with_capacity(rows.len());
        let mut stale = Vec::new();
        for row in &rows {
            let key = entry_key(&row.kind, &row.name);
            if !self.entries.get(&key).is_some_and(|e| e.fresh(row)) {
                stale.push(key.clone());
            }
            seen.insert(key);
        }
        let gone: Vec<String> = self.entries.keys().filter(|k| !seen.contains(*k)).cloned().collect();
        self.apply(conn, rows, stale, gone)
    }

    /// The schema after a step with `footprint`: only the rows it names are read when nothing
    /// it did can have changed others.
    pub fn read_after(&mut self, conn: &Connection, footprint: &Footprint) -> Result<Schema> {
        if footprint.renames || footprint.vacuumed || !self.primed {
            return self.read(conn);
        }
        let mut names: BTreeSet<String> = footprint.objects.clone();
        // Rows that depend on other rows are re-read whatever changed.
        names.extend(self.uncacheable.keys().cloned());
        if names.is_empty() {
            self.changed.clear();
            return Ok(Schema { objects: self.current.clone() });
        }
        let Some(rows) = self.rows_of(conn, &names)? else { return self.read(conn) };
        let named: Vec<&String> = names.iter().filter_map(|t| self.by_table.get(t)).flatten().collect();
        let present: std::collections::HashSet<String> = rows.iter().map(|r| entry_key(&r.kind, &r.name)).collect();
        // Every cached row the footprint names is either read again or gone.
        let gone: Vec<String> = named.into_iter().filter(|k| !present.contains(*k)).cloned().collect();
        let stale: Vec<String> = rows
            .iter()
            .filter(|r| !self.entries.get(&entry_key(&r.kind, &r.name)).is_some_and(|e| e.fresh(r)))
            .map(|r| entry_key(&r.kind, &r.name))
            .collect();
        self.apply(conn, rows, stale, gone)
    }

    /// After a step meant to put the database back in the state from before the trial `undo`
    /// came from (a down after its up): true when every catalog row that step or that trial can
    /// have changed reads as it did then, type, name, table and text. The objects are a function
    /// of those rows, so the schema is then the one from before the trial: the cache is put back
    /// to it (with the rows' rowids as they are now) without inspecting any object. False leaves
    /// the cache as it was; `read_after` then finds what differs.
    pub fn restored(&mut self, conn: &Connection, footprint: &Footprint, undo: &CacheUndo) -> Result<bool> {
        if !self.primed {
            return Ok(false);
        }
        // The entries as they were before the trial: its first record of each key.
        let mut before: HashMap<&str, Option<&Entry>> = HashMap::new();
        for (key, old) in &undo.0 {
            before.entry(key.as_str()).or_insert(old.as_ref());
        }
        let was = |key: &str| match before.get(key) {
            Some(old) => *old,
            None => self.entries.get(key),
        };
        let full = footprint.renames || footprint.vacuumed;
        let mut names: BTreeSet<String> = footprint.objects.clone();
        names.extend(self.uncacheable.keys().cloned());
        names.extend(before.keys().filter_map(|k| self.entries.get(*k).map(|e| e.table.clone())));
        names.extend(before.values().flatten().map(|e| e.table.clone()));
        let some = if full { None } else { self.rows_of(conn, &names)? };
        let all = some.is_none();
        let rows = match some {
            Some(rows) => rows,
            None => schema_rows(conn, None)?,
        };
        // Every row read must be one that was there, with the same text; every row that was
        // there, among those that could be read, must have been read.
        let mut read: HashMap<String, i64> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let key = entry_key(&row.kind, &row.name);
            let same =
                was(&key).is_some_and(|e| e.cacheable && e.sql == row.sql && e.table.eq_ignore_ascii_case(&row.table));
            if !same {
                return Ok(false);
            }
            read.insert(key, row.rowid);
        }
        // The rows that were there among those read: every cached one (all rows were read) or
        // those of the tables named, as they were before the trial.
        let cached: Box<dyn Iterator<Item = &String>> = if all {
            Box::new(self.entries.keys())
        } else {
            Box::new(names.iter().filter_map(|t| self.by_table.get(t)).flatten())
        };
        let mut expected: Vec<&str> = cached.map(String::as_str).filter(|k| !before.contains_key(k)).collect();
        expected.extend(before.iter().filter(|(_, old)| old.is_some()).map(|(k, _)| *k));
        if expected.len() != read.len() || expected.iter().any(|k| !read.contains_key(*k)) {
            return Ok(false);
        }
        // Put the cache back, with today's rowids.
        let updates: Vec<(String, Option<Entry>)> = before
            .iter()
            .map(|(k, old)| {
                (k.to_string(), old.map(|e| Entry { rowid: read.get(*k).copied().unwrap_or(e.rowid), ..e.clone() }))
            })
            .chain(read.iter().filter(|(k, _)| !before.contains_key(k.as_str())).filter_map(|(k, rowid)| {
                let e = self.entries.get(k)?;
                (e.rowid != *rowid).then(|| (k.clone(), Some(Entry { rowid: *rowid, ..e.clone() })))
            }))
            .collect();
        let mut changed = BTreeSet::new();
        for (key, entry) in updates {
            if key.starts_with("table\0") {
                let table = entry.as_ref().or(self.entries.get(&key)).map(|e| e.table.clone());
                changed.extend(table);
            }
            self.set(key, entry);
        }
        self.changed = changed;
        Ok(true)
    }

    /// The catalog rows of the tables `names` (with their indexes, views and triggers) and every
    /// row created since the cache last read the others, without scanning `sqlite_schema`: the
    /// rows cached for those names, and every row above the largest rowid of a row of another
    /// table (it still exists, so every row created since has a larger rowid: SQLite gives a new
    /// row the largest rowid plus one, until that reaches 2^63 - 1). `None` once rowids come
    /// near that limit.
    fn rows_of(&self, conn: &Connection, names: &BTreeSet<String>) -> Result<Option<Vec<Row>>> {
        let untouched = self
            .by_rowid
            .iter()
            .rev()
            .find(|(_, k)| self.entries.get(*k).is_some_and(|e| !names.contains(&e.table)))
            .map_or(0, |(rowid, _)| *rowid);
        if untouched > i64::MAX / 2 {
            return Ok(None);
        }
        let named = names.iter().filter_map(|t| self.by_table.get(t)).flatten();
        let rowids: Vec<i64> = named.filter_map(|k| self.entries.get(k)).map(|e| e.rowid).collect();
        schema_rows(conn, Some((&rowids, untouched))).map(Some)
    }

    /// The table `table` (lower-cased) as the last read found it: its SQL text and its
    /// triggers' names (lower-cased) in creation order (their `sqlite_schema` rowids); `None`
    /// when it found no such table, or has not read yet. SQLite's own tables and the history
    /// table are not held.
    pub fn table_catalog(&self, table: &str) -> Option<(&str, Vec<String>)> {
        let entry = self.entries.get(&entry_key("table", table))?;
        let mut triggers: Vec<(i64, &str)> = self
            .by_table
            .get(table)
            .into_iter()
            .flatten()
            .filter_map(|k| Some((self.entries.get(k)?.rowid, k.strip_prefix("trigger\0")?)))
            .collect();
        triggers.sort_unstable();
        Some((&entry.sql, triggers.into_iter().map(|(_, name)| name.to_string()).collect()))
    }

    /// True once a read has filled the cache.
    pub fn is_primed(&self) -> bool {
        self.primed
    }

    /// Tables (lower-cased) whose definition the last read found added, changed or removed.
    pub fn changed_tables(&self) -> &BTreeSet<String> {
        &self.changed
    }

    /// Starts recording what reads change, for `rollback_trial`.
    pub fn begin_trial(&mut self) {
        self.undo = Some(Vec::new());
    }

    /// Puts the cache back as it was at `begin_trial` (the database was rolled back).
    pub fn rollback_trial(&mut self) {
        let Some(undo) = self.undo.take() else { return };
        for (key, old) in undo.into_iter().rev() {
            self.set(key, old);
        }
        self.changed.clear();
    }

    /// Keeps what the trial's reads found (the database kept the trial's changes), and returns
    /// how to go back to the state before it with `undo`.
    pub fn end_trial(&mut self) -> CacheUndo {
        CacheUndo(self.undo.take().unwrap_or_default())
    }

    /// Puts the cache back as it was before the trial `undo` came from (the database is back
    /// in that state).
    pub fn undo(&mut self, undo: &CacheUndo) {
        for (key, old) in undo.0.iter().rev() {
            self.set(key.clone(), old.clone());
        }
        self.changed.clear();
    }

    /// Replaces the entry under `slot`, keeping `current` and the indexes in step and recording
    /// the old one.
    fn set(&mut self, slot: String, entry: Option<Entry>) {
        let old = self.entries.remove(&slot);
        if let Some(old) = &old {
            for o in &old.objects {
                let from = self.current.partition_point(|c| key(c) < key(o));
                if let Some(i) = self.current[from..].iter().position(|c| Arc::ptr_eq(c, o)) {
                    self.current.remove(from + i);
                }
            }
            if let Some(keys) = self.by_table.get_mut(&old.table) {
                keys.remove(&slot);
                if keys.is_empty() {
                    self.by_table.remove(&old.table);
                }
            }
            if !old.cacheable {
                if let Some(n) = self.uncacheable.get_mut(&old.table) {
                    *n -= 1;
                    if *n == 0 {
                        self.uncacheable.remove(&old.table);
                    }
                }
            }
            if self.by_rowid.get(&old.rowid) == Some(&slot) {
                self.by_rowid.remove(&old.rowid);
            }
        }
        if let Some(e) = entry {
            for o in &e.objects {
                let at = self.current.partition_point(|c| key(c) < key(o));
                self.current.insert(at, Arc::clone(o));
            }
            self.by_table.entry(e.table.clone()).or_default().insert(slot.clone());
            if !e.cacheable {
                *self.uncacheable.entry(e.table.clone()).or_default() += 1;
            }
            self.by_rowid.insert(e.rowid, slot.clone());
            self.entries.insert(slot.clone(), e);
        }
        if let Some(undo) = &mut self.undo {
            undo.push((slot, old));
        }
    }

    /// Re-reads the `stale` rows (and every index of a table that changed), drops the `gone`
    /// ones.
    fn apply(&mut self, conn: &Connection, rows: Vec<Row>, stale: Vec<String>, gone: Vec<String>) -> Result<Schema> {
        self.changed.clear();
        let table_of = |entries: &HashMap<String, Entry>, key: &str| {
            entries.get(key).filter(|_| key.starts_with("table\0")).map(|e| e.table.clone())
        };
        for key in &gone {
            if let Some(t) = table_of(&self.entries, key) {
                self.changed.insert(t);
            }
            self.set(key.clone(), None);
        }
        let mut stale: std::collections::HashSet<String> = stale.into_iter().collect();
        for row in rows.iter().filter(|r| r.kind == "table" && stale.contains(&entry_key(&r.kind, &r.name))) {
            self.changed.insert(row.name.to_ascii_lowercase());
        }
        // An index takes its key collations from its table: re-read it when the table changed.
        for row in rows.iter().filter(|r| r.kind == "index" && self.changed.contains(&r.table.to_ascii_lowercase())) {
            stale.insert(entry_key(&row.kind, &row.name));
        }
        for row in rows {
            let key = entry_key(&row.kind, &row.name);
            if !stale.contains(&key) {
                continue;
            }
            let (found, cacheable) = read_object(conn, &row.kind, &row.name, &row.table, &row.sql)?;
            let objects = found.into_iter().map(Arc::new).collect();
            let entry =
                Entry { rowid: row.rowid, table: row.table.to_ascii_lowercase(), sql: row.sql, objects, cacheable };
            self.set(key.clone(), None);
            self.set(key, Some(entry));
        }
        Ok(Schema { objects: self.current.clone() })
    }
}

impl Entry {
    /// Whether this entry still stands for `row`: the same row with the same text, and objects
    /// that depend on that text alone.
    fn fresh(&self, row: &Row) -> bool {
        self.cacheable && self.rowid == row.rowid && self.sql == row.sql
    }
}

fn entry_key(kind: &str, name: &str) -> String {
    format!("{kind}\0{}", name.to_ascii_lowercase())
}

/// The rows of `sqlite_schema` (all, or those with one of the `rowids` or a rowid above the
/// bound), without SQLite's own and the history table (its name bound from `history`).
fn schema_rows(conn: &Connection, some: Option<(&[i64], i64)>) -> Result<Vec<Row>> {
    let ctx = || Error::sqlite("cannot read the schema (sqlite_schema)");
    const ALL: &str = "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema";
    let text = |row: &rusqlite::Row<'_>, i: usize| -> String {
        row.get_ref(i).ok().and_then(|v| v.as_str_or_null().ok().flatten()).unwrap_or("").to_string()
    };
    let map = |row: &rusqlite::Row<'_>| {
        Ok(Row { rowid: row.get(0)?, kind: text(row, 1), name: text(row, 2), table: text(row, 3), sql: text(row, 4) })
    };
    let rows: Vec<Row> = match some {
        None => conn.prepare_cached(ALL).and_then(|mut s| s.query_map([], map)?.collect()),
        Some((rowids, above)) => {
            // Rowid lookups and one rowid range, not a scan. The rowids are written into the text
            // (integers only): a table-valued function such as `json_each` would make preparing
            // the statement, which every schema change makes SQLite do again, cost several times
            // as much.
            let list = rowids.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
            let sql = format!("{ALL} WHERE rowid > {above} OR rowid IN ({list})");
            conn.prepare(&sql).and_then(|mut s| s.query_map([], map)?.collect())
        }
    }
    .map_err(ctx())?;
    // SQLite's own objects (`sqlite_autoindex_…`, `sqlite_sequence`, `sqlite_stat1`) and the
    // history table are not part of the schema.
    let own = |name: &str| name.get(..7).is_some_and(|start| start.eq_ignore_ascii_case("sqlite_"));
    Ok(rows.into_iter().filter(|r| !own(&r.name) && r.name != history::TABLE).collect())
}

/// The objects one `sqlite_schema` row stands for (a table brings its auto-indexes), and whether
/// they depend on this row's text alone (a bare `REFERENCES t` depends on `t`'s key too).
fn read_object(conn: &Connection, kind: &str, name: &str, table: &str, sql: &str) -> Result<(Vec<Object>, bool)> {
    Ok(match kind {
        "table" => {
            let (object, cacheable) = table::table_object(conn, name, sql)?;
            let mut objects = vec![object];
            objects.extend(index::auto_indexes(conn, name)?);
            (objects, cacheable)
        }
        "index" => (vec![index::index_object(conn, name, table, Some(sql))?], true),
        "view" => {
            let lines = vec![sql_form::line("sql", sql, &tokenize(sql))];
            (vec![Object { kind: Kind::View, name: name.to_lowercase(), lines }], true)
        }
        "trigger" => {
            let lines =
                vec![Line::plain(format!("on {}", table.to_lowercase())), sql_form::line("sql", sql, &tokenize(sql))];
            (vec![Object { kind: Kind::Trigger, name: name.to_lowercase(), lines }], true)
        }
        _ => (Vec::new(), true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touching(objects: &[&str], sql: &str) -> Footprint {
        let mut footprint =
            Footprint { objects: objects.iter().map(|o| (*o).to_string()).collect(), ..Default::default() };
        footprint.note_text(sql);
        footprint
    }

    /// Runs `up` (touching `up_objects`) then `down` (touching `down_objects`) and asks
    /// `restored`; when it says yes, the cache must hold what a fresh read gives, and a later
    /// step must still be read right (the rowids it keeps are today's).
    fn round_trip(base: &str, up: (&str, &[&str]), down: (&str, &[&str])) -> bool {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(base).unwrap();
        let mut cache = SchemaCache::default();
        let before = cache.read(&conn).unwrap();
        cache.begin_trial();
        conn.execute_batch(up.0).unwrap();
        cache.read_after(&conn, &touching(up.1, up.0)).unwrap();
        let undo = cache.end_trial();
        conn.execute_batch(down.0).unwrap();
        let restored = cache.restored(&conn, &touching(down.1, down.0), &undo).unwrap();
        let fresh = SchemaCache::default().read(&conn).unwrap();
        if restored {
            assert_eq!(fresh, before, "restored, so the schema is the one before the up");
            assert_eq!(Schema { objects: cache.current.clone() }, before);
            conn.execute_batch("CREATE INDEX later ON t (b); DROP TABLE other;").unwrap();
            let next = cache.read_after(&conn, &touching(&["t", "later", "other"], "")).unwrap();
            assert_eq!(next, SchemaCache::default().read(&conn).unwrap(), "a later read is right");
        } else {
            assert_eq!(cache.read_after(&conn, &touching(down.1, down.0)).unwrap(), fresh);
        }
        restored
    }

    const BASE: &str = "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT COLLATE NOCASE);\n\
                        CREATE TABLE other (x);\nCREATE VIEW v AS SELECT a FROM t;";

    #[test]
    fn a_down_that_gives_the_rows_back_is_recognised_without_reading_objects() {
        assert!(round_trip(BASE, ("CREATE INDEX i ON t (b);", &["i", "t"]), ("DROP INDEX i;", &["i", "t"])));
        assert!(round_trip(
            BASE,
            ("ALTER TABLE t ADD COLUMN c INTEGER;", &["t"]),
            ("ALTER TABLE t DROP COLUMN c;", &["t"])
        ));
        // A rebuild gives the table a new rowid in `sqlite_schema`, with the same text.
        assert!(round_trip(
            BASE,
            ("DROP VIEW v; DROP TABLE t;", &["t", "v"]),
            (
                "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT COLLATE NOCASE);\nCREATE VIEW v AS SELECT a FROM t;",
                &["t", "v"]
            )
        ));
        // Renaming back quotes the name in the text (`CREATE TABLE "other"`): the rows do not
        // read as before, so the schema is read instead (and found equal by the caller).
        assert!(!round_trip(
            BASE,
            ("ALTER TABLE other RENAME TO renamed;", &["other", "renamed"]),
            ("ALTER TABLE renamed RENAME TO other;", &["other", "renamed"])
        ));
    }

    #[test]
    fn a_down_that_leaves_a_difference_is_not() {
        // The up's index stays (the down touches nothing).
        assert!(!round_trip(BASE, ("CREATE INDEX i ON t (b);", &["i", "t"]), ("SELECT 1;", &[])));
        // The table comes back with another text: its collation is gone.
        assert!(!round_trip(
            BASE,
            ("DROP VIEW v; DROP TABLE t;", &["t", "v"]),
            ("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT);\nCREATE VIEW v AS SELECT a FROM t;", &["t", "v"])
        ));
        // The view is not recreated.
        assert!(!round_trip(
            BASE,
            ("DROP VIEW v; DROP TABLE t;", &["t", "v"]),
            ("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT COLLATE NOCASE);", &["t"])
        ));
        // An extra object the up did not make.
        assert!(!round_trip(
            BASE,
            ("CREATE INDEX i ON t (b);", &["i", "t"]),
            ("DROP INDEX i; CREATE TABLE x (y);", &["i", "t", "x"])
        ));
    }
}
