//! The schema snapshot (SPEC §7): a normalised, sorted, human-readable description of a
//! database's schema, read from SQLite's own catalog (`sqlite_schema` and the `table_xinfo`,
//! `table_list`, `index_list`, `index_xinfo` and `foreign_key_list` pragmas).
//!
//! Guarantees: two schemas are equal exactly when their snapshots are equal; quoting, keyword
//! case and whitespace never count; column order, types, defaults and constraints always do.
//! `retort_history` and `sqlite_*` objects are left out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use rusqlite::Connection;

use retort_build::sql::{Token, TokenKind, tokenize};

use crate::error::{Error, Result};
use crate::history;

/// The kind of a schema object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A table.
    Table,
    /// An index.
    Index,
    /// A view.
    View,
    /// A trigger.
    Trigger,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Table => "table",
            Kind::Index => "index",
            Kind::View => "view",
            Kind::Trigger => "trigger",
        })
    }
}

/// One schema object: its kind, its (lower-cased) name and its normalised attribute lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its kind.
    pub kind: Kind,
    /// Its name, lower-cased (auto-indexes are named by their shape).
    pub name: String,
    /// Its attributes, one per line, in a fixed order.
    pub lines: Vec<String>,
}

/// A database schema. Objects are shared (`Arc`) so that repeated reads of a mostly unchanged
/// schema cost one pointer per object, and comparing them is a pointer check first.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// Sorted by (kind, name); names are unique per kind.
    objects: Vec<Arc<Object>>,
}

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.objects.len() == other.objects.len()
            && self.objects.iter().zip(&other.objects).all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    }
}

fn key(o: &Object) -> (Kind, &str) {
    (o.kind, o.name.as_str())
}

impl Eq for Schema {}

/// One difference between two schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// In the second schema only.
    Added(Object),
    /// In the first schema only.
    Removed(Object),
    /// In both, with different attributes: (before, after).
    Changed(Object, Object),
}

impl Change {
    /// `kind name` of the object.
    pub fn object(&self) -> String {
        let o = match self {
            Change::Added(o) | Change::Removed(o) | Change::Changed(o, _) => o,
        };
        format!("{} {}", o.kind, o.name)
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added(o) => {
                writeln!(f, "+ {} {}", o.kind, o.name)?;
                o.lines.iter().try_for_each(|l| writeln!(f, "+     {l}"))
            }
            Change::Removed(o) => {
                writeln!(f, "- {} {}", o.kind, o.name)?;
                o.lines.iter().try_for_each(|l| writeln!(f, "-     {l}"))
            }
            Change::Changed(a, b) => {
                writeln!(f, "~ {} {}", a.kind, a.name)?;
                for l in a.lines.iter().filter(|l| !b.lines.contains(l)) {
                    writeln!(f, "-     {l}")?;
                }
                for l in b.lines.iter().filter(|l| !a.lines.contains(l)) {
                    writeln!(f, "+     {l}")?;
                }
                if a.lines.iter().filter(|l| b.lines.contains(l)).ne(b.lines.iter().filter(|l| a.lines.contains(l))) {
                    writeln!(f, "      (order of attributes changed)")?;
                }
                Ok(())
            }
        }
    }
}

/// Renders a list of changes, one object after another.
pub fn render_changes(changes: &[Change]) -> String {
    changes.iter().map(ToString::to_string).collect()
}

impl Schema {
    /// Reads the schema of the `main` database of `conn`.
    pub fn read(conn: &Connection) -> Result<Schema> {
        SchemaCache::default().read(conn)
    }

    /// True when there are no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The objects, sorted by kind and name.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.iter().map(|o| &**o)
    }

    /// Every difference from `self` to `other`, sorted by kind and name.
    pub fn diff(&self, other: &Schema) -> Vec<Change> {
        // A merge of two sorted lists.
        let (mut i, mut j) = (0, 0);
        let mut changes = Vec::new();
        while i < self.objects.len() || j < other.objects.len() {
            let (a, b) = (self.objects.get(i), other.objects.get(j));
            match (a, b) {
                (Some(a), Some(b)) if key(a) == key(b) => {
                    if !Arc::ptr_eq(a, b) && a.lines != b.lines {
                        changes.push(Change::Changed((**a).clone(), (**b).clone()));
                    }
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if key(a) < key(b) => {
                    changes.push(Change::Removed((**a).clone()));
                    i += 1;
                }
                (Some(a), None) => {
                    changes.push(Change::Removed((**a).clone()));
                    i += 1;
                }
                (_, Some(b)) => {
                    changes.push(Change::Added((**b).clone()));
                    j += 1;
                }
                (None, None) => break,
            }
        }
        changes
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.objects.is_empty() {
            return writeln!(f, "(empty schema)");
        }
        for o in &self.objects {
            writeln!(f, "{} {}", o.kind, o.name)?;
            for l in &o.lines {
                writeln!(f, "    {l}")?;
            }
        }
        Ok(())
    }
}

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
    pub fn read_after(&mut self, conn: &Connection, footprint: &crate::watch::Footprint) -> Result<Schema> {
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
        // The rows cached for those names, and the largest rowid of a row the step did not
        // touch: it still exists, so every row created since has a larger rowid (SQLite gives
        // a new row the largest rowid plus one, until that reaches 2^63 - 1).
        let named: Vec<&String> = names.iter().filter_map(|t| self.by_table.get(t)).flatten().collect();
        let rowids: Vec<i64> = named.iter().filter_map(|k| self.entries.get(*k)).map(|e| e.rowid).collect();
        let untouched = self
            .by_rowid
            .iter()
            .rev()
            .find(|(_, k)| self.entries.get(*k).is_some_and(|e| !names.contains(&e.table)))
            .map_or(0, |(rowid, _)| *rowid);
        if untouched > i64::MAX / 2 {
            return self.read(conn);
        }
        let rows = schema_rows(conn, Some((&rowids, untouched)))?;
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

/// `text` as a JSON string.
pub(crate) fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The rows of `sqlite_schema` (all, or those with one of the `rowids` or a rowid above the
/// bound), without SQLite's own and the history table (its name bound from `history`).
fn schema_rows(conn: &Connection, some: Option<(&[i64], i64)>) -> Result<Vec<Row>> {
    let ctx = || Error::sqlite("cannot read the schema (sqlite_schema)");
    const ALL: &str = "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema \
                       WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?1";
    // Two rowid lookups, not a scan.
    const SOME: &str = "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema \
                        WHERE rowid IN (SELECT value FROM json_each(?1)) \
                        AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?3 \
                        UNION ALL \
                        SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema \
                        WHERE rowid > ?2 AND rowid NOT IN (SELECT value FROM json_each(?1)) \
                        AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?3";
    let text = |row: &rusqlite::Row<'_>, i: usize| -> String {
        row.get_ref(i).ok().and_then(|v| v.as_str_or_null().ok().flatten()).unwrap_or("").to_string()
    };
    let map = |row: &rusqlite::Row<'_>| {
        Ok(Row { rowid: row.get(0)?, kind: text(row, 1), name: text(row, 2), table: text(row, 3), sql: text(row, 4) })
    };
    match some {
        None => conn.prepare_cached(ALL).and_then(|mut s| s.query_map([history::TABLE], map)?.collect()),
        Some((rowids, above)) => {
            let list = format!("[{}]", rowids.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
            conn.prepare_cached(SOME)
                .and_then(|mut s| s.query_map(rusqlite::params![list, above, history::TABLE], map)?.collect())
        }
    }
    .map_err(ctx())
}

/// The objects one `sqlite_schema` row stands for (a table brings its auto-indexes), and whether
/// they depend on this row's text alone (a bare `REFERENCES t` depends on `t`'s key too).
fn read_object(conn: &Connection, kind: &str, name: &str, table: &str, sql: &str) -> Result<(Vec<Object>, bool)> {
    Ok(match kind {
        "table" => {
            let (object, cacheable) = table_object(conn, name, sql)?;
            let mut objects = vec![object];
            objects.extend(auto_indexes(conn, name)?);
            (objects, cacheable)
        }
        "index" => (vec![index_object(conn, name, table, Some(sql))?], true),
        "view" => (
            vec![Object {
                kind: Kind::View,
                name: name.to_lowercase(),
                lines: vec![format!("sql {}", normalize_sql(sql))],
            }],
            true,
        ),
        "trigger" => {
            let lines = vec![format!("on {}", table.to_lowercase()), format!("sql {}", normalize_sql(sql))];
            (vec![Object { kind: Kind::Trigger, name: name.to_lowercase(), lines }], true)
        }
        _ => (Vec::new(), true),
    })
}

/// Normalises SQL text: comments and whitespace dropped, bare words and quoted identifiers
/// upper-cased without quotes, literals kept, one space between tokens.
pub fn normalize_sql(sql: &str) -> String {
    join(&tokenize(sql))
}

fn lower_ident(t: &Token) -> String {
    t.name().unwrap_or(&t.text).to_lowercase()
}

/// The top-level comma-separated pieces inside the outermost parentheses of a CREATE TABLE.
fn definition_pieces(sql: &str) -> Vec<Vec<Token>> {
    let tokens = tokenize(sql);
    let mut pieces = Vec::new();
    let mut current = Vec::new();
    let mut depth = 0usize;
    for t in tokens {
        let p = t.kind == TokenKind::Punct;
        if p && t.text == "(" {
            depth += 1;
            if depth == 1 {
                continue;
            }
        } else if p && t.text == ")" {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                pieces.push(std::mem::take(&mut current));
                break;
            }
        } else if p && t.text == "," && depth == 1 {
            pieces.push(std::mem::take(&mut current));
            continue;
        }
        if depth >= 1 {
            current.push(t);
        }
    }
    pieces
}

/// Tokens joined by one space, except that adjacent punctuation (`<>`, `||`) stays glued.
fn join(tokens: &[Token]) -> String {
    let mut out = String::new();
    let mut previous: Option<&Token> = None;
    for t in tokens {
        let glued =
            previous.is_some_and(|p| p.kind == TokenKind::Punct && t.kind == TokenKind::Punct && p.end == t.start);
        if previous.is_some() && !glued {
            out.push(' ');
        }
        match t.kind {
            TokenKind::Ident => out.push_str(&t.text.to_uppercase()),
            _ => out.push_str(&t.text),
        }
        previous = Some(t);
    }
    out
}

/// The parenthesised group starting at `tokens[open]` (which is `(`), without the parentheses.
fn group(tokens: &[Token], open: usize) -> &[Token] {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.kind == TokenKind::Punct && t.text == "(" {
            depth += 1;
        } else if t.kind == TokenKind::Punct && t.text == ")" {
            depth -= 1;
            if depth == 0 {
                return &tokens[open + 1..i];
            }
        }
    }
    &tokens[(open + 1).min(tokens.len())..]
}

/// A row of `pragma_table_xinfo`.
struct ColumnRow {
    cid: i64,
    name: String,
    decl: String,
    not_null: bool,
    default: Option<String>,
    pk: i64,
    hidden: i64,
}

/// One foreign key, gathered from its `pragma_foreign_key_list` rows.
struct ForeignKey {
    target: String,
    from: Vec<String>,
    to: Vec<Option<String>>,
    on_update: String,
    on_delete: String,
    matching: String,
}

const CONSTRAINT_WORDS: [&str; 6] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "KEY"];

fn table_object(conn: &Connection, name: &str, sql: &str) -> Result<(Object, bool)> {
    let ctx = |what: &str| Error::sqlite(format!("cannot read table {name} ({what})"));
    let pieces = definition_pieces(sql);
    let mut column_defs: BTreeMap<String, &[Token]> = BTreeMap::new();
    let mut checks = Vec::new();
    // (constrained columns, target table, mode) for each REFERENCES clause in the SQL.
    let mut deferrable: Vec<(String, String, String)> = Vec::new();
    for piece in &pieces {
        let Some(first) = piece.first() else { continue };
        let is_constraint = first.kind == TokenKind::Word && CONSTRAINT_WORDS.contains(&first.text.as_str());
        if !is_constraint {
            column_defs.insert(lower_ident(first), piece.as_slice());
        }
        for (i, t) in piece.iter().enumerate() {
            if t.is("CHECK") && piece.get(i + 1).is_some_and(|n| n.text == "(") {
                checks.push(format!("check ({})", join(group(piece, i + 1))));
            }
            if t.is("REFERENCES") {
                let target = piece.get(i + 1).map(lower_ident).unwrap_or_default();
                let rest = &piece[i..];
                let mode = if rest.windows(2).any(|w| w[0].is("NOT") && w[1].is("DEFERRABLE")) {
                    "not deferrable"
                } else if rest.windows(3).any(|w| w[0].is("DEFERRABLE") && w[1].is("INITIALLY") && w[2].is("DEFERRED"))
                {
                    "deferrable initially deferred"
                } else {
                    "not deferred"
                };
                // The constrained columns: a table-level FOREIGN KEY (a, b), or the column itself.
                let from = match piece.iter().position(|t| t.is("KEY")) {
                    Some(k) if first.is("FOREIGN") || first.is("CONSTRAINT") => group(piece, k + 1)
                        .iter()
                        .filter_map(|t| t.name())
                        .map(str::to_lowercase)
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => lower_ident(first),
                };
                deferrable.push((from, target, mode.to_string()));
            }
        }
    }
    let mut lines = Vec::new();
    let mut stmt = conn
        .prepare("SELECT cid, name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)")
        .map_err(ctx("table_xinfo"))?;
    let columns: Vec<ColumnRow> = stmt
        .query_map([name], |r| {
            Ok(ColumnRow {
                cid: r.get(0)?,
                name: r.get(1)?,
                decl: r.get(2)?,
                not_null: r.get(3)?,
                default: r.get(4)?,
                pk: r.get(5)?,
                hidden: r.get(6)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(ctx("table_xinfo"))?;
    let mut pk_columns: Vec<(i64, String)> = Vec::new();
    for ColumnRow { cid, name: col, decl, not_null, default, pk, hidden } in &columns {
        let mut line = format!("column {} {}", cid + 1, col.to_lowercase());
        let decl = normalize_sql(decl);
        line.push_str(&format!(" type {}", if decl.is_empty() { "(none)" } else { &decl }));
        if *not_null {
            line.push_str(" not null");
        }
        if let Some(d) = default {
            line.push_str(&format!(" default {}", normalize_sql(d)));
        }
        if *pk > 0 {
            line.push_str(&format!(" primary key {pk}"));
            pk_columns.push((*pk, col.to_lowercase()));
        }
        let def = column_defs.get(&col.to_lowercase()).copied().unwrap_or(&[]);
        if let Some(i) = def.iter().position(|t| t.is("COLLATE")) {
            line.push_str(&format!(" collate {}", def.get(i + 1).map(|t| t.text.to_uppercase()).unwrap_or_default()));
        }
        if *hidden == 2 || *hidden == 3 {
            let kind = if *hidden == 3 { "stored" } else { "virtual" };
            let expr = def.iter().position(|t| t.is("AS")).map(|i| join(group(def, i + 1))).unwrap_or_default();
            line.push_str(&format!(" generated {kind} ({expr})"));
        } else if *hidden == 1 {
            line.push_str(" hidden");
        }
        lines.push(line);
    }
    pk_columns.sort();
    // Table options follow the definition's closing parenthesis (`pragma_table_list` would
    // tell too, but it visits every table of the schema on each call).
    let (strict, without_rowid) = table_options(sql);
    if strict {
        lines.push("strict".to_string());
    }
    if without_rowid {
        lines.push("without rowid".to_string());
    }
    if tokenize(sql).iter().any(|t| t.is("AUTOINCREMENT")) {
        lines.push("autoincrement".to_string());
    }
    checks.sort();
    lines.extend(checks);
    let mut stmt = conn.prepare("SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete, \"match\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq").map_err(ctx("foreign_key_list"))?;
    let fk_rows: Vec<(i64, ForeignKey)> = stmt
        .query_map([name], |r| {
            let fk = ForeignKey {
                target: r.get::<_, String>(2)?.to_lowercase(),
                from: vec![r.get::<_, String>(3)?.to_lowercase()],
                to: vec![r.get::<_, Option<String>>(4)?.map(|t| t.to_lowercase())],
                on_update: r.get(5)?,
                on_delete: r.get(6)?,
                matching: r.get(7)?,
            };
            Ok((r.get(0)?, fk))
        })
        .and_then(Iterator::collect)
        .map_err(ctx("foreign_key_list"))?;
    let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for (id, fk) in fk_rows {
        match fks.get_mut(&id) {
            Some(existing) => {
                existing.from.extend(fk.from);
                existing.to.extend(fk.to);
            }
            None => {
                fks.insert(id, fk);
            }
        }
    }
    let mut fk_lines = Vec::new();
    let mut cacheable = true;
    for ForeignKey { target, from, to, on_update, on_delete, matching } in fks.into_values() {
        let to: Vec<String> = if to.iter().any(Option::is_none) {
            cacheable = false;
            primary_key(conn, &target)?
        } else {
            to.into_iter().flatten().collect()
        };
        let columns = from.join(", ");
        let mode = deferrable
            .iter()
            .find(|(f, t, _)| *f == columns && *t == target)
            .map_or("not deferred", |(_, _, m)| m.as_str());
        fk_lines.push(format!(
            "foreign key ({}) references {}({}) on update {} on delete {} match {} {}",
            from.join(", "),
            target,
            to.join(", "),
            on_update.to_uppercase(),
            on_delete.to_uppercase(),
            matching.to_uppercase(),
            mode
        ));
    }
    fk_lines.sort();
    lines.extend(fk_lines);
    Ok((Object { kind: Kind::Table, name: name.to_lowercase(), lines }, cacheable))
}

/// `STRICT` and `WITHOUT ROWID` from the options after a CREATE TABLE's definition list.
fn table_options(sql: &str) -> (bool, bool) {
    let tokens = tokenize(sql);
    let Some(open) = tokens.iter().position(|t| t.kind == TokenKind::Punct && t.text == "(") else {
        return (false, false);
    };
    let inner = group(&tokens, open).len();
    let options = tokens.get(open + inner + 2..).unwrap_or_default();
    let strict = options.iter().any(|t| t.is("STRICT"));
    let without_rowid = options.windows(2).any(|w| w[0].is("WITHOUT") && w[1].is("ROWID"));
    (strict, without_rowid)
}

fn primary_key(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
        .map_err(Error::sqlite(format!("cannot read table {table} (table_info)")))?;
    let cols: Vec<String> = stmt
        .query_map([table], |r| r.get::<_, String>(0))
        .and_then(Iterator::collect)
        .map_err(Error::sqlite(format!("cannot read table {table} (table_info)")))?;
    Ok(if cols.is_empty() { vec!["rowid".to_string()] } else { cols.into_iter().map(|c| c.to_lowercase()).collect() })
}

fn index_columns(conn: &Connection, index: &str) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT cid, name, \"desc\", coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno")
        .map_err(Error::sqlite(format!("cannot read index {index} (index_xinfo)")))?;
    let rows: Vec<(i64, Option<String>, bool, Option<String>)> = stmt
        .query_map([index], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(Iterator::collect)
        .map_err(Error::sqlite(format!("cannot read index {index} (index_xinfo)")))?;
    Ok(rows
        .into_iter()
        .map(|(cid, name, desc, coll)| {
            let what = match (cid, name) {
                (-2, _) => "(expression)".to_string(),
                (-1, _) => "rowid".to_string(),
                (_, Some(n)) => n.to_lowercase(),
                (_, None) => "?".to_string(),
            };
            format!("{what} {} collate {}", if desc { "desc" } else { "asc" }, coll.unwrap_or_default().to_uppercase())
        })
        .collect())
}

fn index_object(conn: &Connection, name: &str, table: &str, sql: Option<&str>) -> Result<Object> {
    let (unique, origin, partial): (bool, String, bool) = conn
        .query_row(
            "SELECT \"unique\", origin, partial FROM pragma_index_list(?1) WHERE name = ?2",
            [table, name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(Error::sqlite(format!("cannot read index {name} (index_list)")))?;
    let mut lines = vec![format!("on {}", table.to_lowercase())];
    if unique {
        lines.push("unique".to_string());
    }
    if origin != "c" {
        lines.push(format!("origin {origin}"));
    }
    for (i, col) in index_columns(conn, name)?.into_iter().enumerate() {
        lines.push(format!("key {} {col}", i + 1));
    }
    if let Some(sql) = sql.filter(|s| !s.is_empty()) {
        let tokens = tokenize(sql);
        if let Some(open) = tokens.iter().position(|t| t.kind == TokenKind::Punct && t.text == "(") {
            let keys = group(&tokens, open);
            if keys.iter().any(|t| t.kind == TokenKind::Punct && t.text == "(")
                || lines.iter().any(|l| l.contains("(expression)"))
            {
                lines.push(format!("expressions {}", join(keys)));
            }
        }
        if partial {
            if let Some(w) = tokens.iter().position(|t| t.is("WHERE")) {
                lines.push(format!("where {}", join(&tokens[w + 1..]).trim_end_matches(" ;")));
            }
        }
    }
    Ok(Object { kind: Kind::Index, name: name.to_lowercase(), lines })
}

/// Indexes SQLite made for UNIQUE and PRIMARY KEY constraints, named by their shape.
fn auto_indexes(conn: &Connection, table: &str) -> Result<Vec<Object>> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_index_list(?1) WHERE name LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\'")
        .map_err(Error::sqlite(format!("cannot read table {table} (index_list)")))?;
    let names: Vec<String> = stmt
        .query_map([table], |r| r.get(0))
        .and_then(Iterator::collect)
        .map_err(Error::sqlite(format!("cannot read table {table} (index_list)")))?;
    let mut out = Vec::new();
    for name in names {
        let mut object = index_object(conn, &name, table, None)?;
        let keys: Vec<String> = object
            .lines
            .iter()
            .filter_map(|l| l.strip_prefix("key "))
            .map(|k| k.split(' ').nth(1).unwrap_or("").to_string())
            .collect();
        object.name = format!("(auto) {}({})", table.to_lowercase(), keys.join(", "));
        out.push(object);
    }
    Ok(out)
}
