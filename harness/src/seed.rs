//! Seed rows for the data round trip: a few generated rows in each empty table, with values
//! that fit the declared type affinity and satisfy the table's constraints (NOT NULL, UNIQUE and
//! primary keys, foreign keys to rows already there, CHECKs and STRICT types), found by trying a
//! small set of candidate values per column and preferring those a constraint accepts.
//!
//! Guarantees: deterministic from the run's seed; never fails on what a table declares (a table
//! that cannot be seeded is reported with SQLite's reason, and keeps no row); the rows it leaves
//! satisfy every foreign key (`PRAGMA foreign_key_check`), so the checks after a step never blame
//! a migration for them.

use std::collections::{BTreeMap, BTreeSet};

use retort_build::sql::quote_ident as quote;
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::error::{Error, Result};

/// How many inserts one row may try before the table is given up.
const TRIES_PER_ROW: usize = 48;

/// What seeding some tables did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Tables seeded, with the rows each got.
    pub tables: Vec<(String, usize)>,
    /// Tables left empty, with the reason.
    pub not_covered: Vec<(String, String)>,
}

/// One column as the catalog describes it.
#[derive(Clone, Debug)]
struct Column {
    name: String,
    declared: String,
    not_null: bool,
    has_default: bool,
    /// Its position in the primary key (0: not in it).
    pk: i64,
}

/// One foreign key of a table: its columns, the parent table and the parent's columns (empty:
/// the parent's primary key).
#[derive(Clone, Debug)]
struct ForeignKey {
    from: Vec<String>,
    parent: String,
    to: Vec<String>,
}

fn ctx(table: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::sqlite(format!("cannot seed `{table}`"))(e)
}

/// Seeds each of `tables` (lower-cased names of tables in `main`) that is empty with up to
/// `rows` rows, parents before their children; `seed` decides the values.
pub fn seed(conn: &Connection, tables: &[String], rows: usize, seed: u64) -> Result<Seeded> {
    let mut out = Seeded::default();
    let mut keys: BTreeMap<String, Vec<ForeignKey>> = BTreeMap::new();
    // Each table's text, read with its kind.
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut todo = Vec::new();
    let shadows = shadows_possible(conn)?;
    for table in tables {
        if table.starts_with("sqlite_") {
            continue;
        }
        match kind(conn, table, shadows)? {
            Some((k, sql)) if k == "table" => {
                texts.insert(table.clone(), sql);
            }
            Some((k, _)) if k == "virtual" => {
                out.not_covered.push((table.clone(), "a virtual table: its module decides what it holds".into()));
                continue;
            }
            // Shadow tables belong to a virtual table; views and missing names hold no rows.
            _ => continue,
        }
        let count: i64 = conn
            .query_row(&format!("SELECT count(*) FROM main.{}", quote(table)), [], |r| r.get(0))
            .map_err(ctx(table))?;
        if count > 0 {
            continue;
        }
        keys.insert(table.clone(), foreign_keys(conn, table)?);
        todo.push(table.clone());
    }
    // Parents first: a table waits for the tables it references that are still to be seeded.
    let mut done: BTreeSet<String> = BTreeSet::new();
    while !todo.is_empty() {
        let ready = todo
            .iter()
            .position(|t| {
                keys[t].iter().all(|k| k.parent == *t || done.contains(&k.parent) || !todo.contains(&k.parent))
            })
            .unwrap_or(0);
        let table = todo.remove(ready);
        match seed_table(conn, &table, &texts[&table], &keys[&table], rows, seed)? {
            Ok(n) => out.tables.push((table.clone(), n)),
            Err(why) => out.not_covered.push((table.clone(), why)),
        }
        done.insert(table);
    }
    Ok(out)
}

/// True when `main` may hold shadow tables: SQLite 3.37 or later (older ones cannot tell) and a
/// virtual table in `main` (shadow tables belong to one). SQLite writes a virtual table's text as
/// `CREATE VIRTUAL TABLE …` whatever was typed.
fn shadows_possible(conn: &Connection) -> Result<bool> {
    if rusqlite::version_number() < 3_037_000 {
        return Ok(false);
    }
    conn.prepare_cached(
        "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND substr(sql, 1, 21) = 'CREATE VIRTUAL TABLE '",
    )
    .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
    .map(|n| n > 0)
    .map_err(Error::sqlite("cannot read the schema (sqlite_schema)"))
}

/// `table`, `virtual`, `shadow` or `view` for a name in `main`, with its text: the catalog's
/// type, with `CREATE VIRTUAL` told apart. Only where `shadows` (`shadows_possible`) does
/// `PRAGMA table_list` say which tables are shadow tables: it first works out the columns of
/// every view, preparing each, which is too costly to pay for every table seeded.
fn kind(conn: &Connection, table: &str, shadows: bool) -> Result<Option<(String, String)>> {
    let row = conn
        .prepare_cached(
            "SELECT type, coalesce(sql, '') FROM main.sqlite_schema WHERE type IN ('table', 'view') AND lower(name) = ?1",
        )
        .and_then(|mut s| s.query_row([table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))));
    let (kind, sql) = match row {
        Ok(row) => row,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
        Err(e) => return Err(ctx(table)(e)),
    };
    if retort_build::sql::tokenize(&sql).get(1).is_some_and(|t| t.is("VIRTUAL")) {
        return Ok(Some(("virtual".into(), sql)));
    }
    if kind != "table" || !shadows {
        return Ok(Some((kind, sql)));
    }
    // The PRAGMA, not its table-valued function (see `pragma`); it matches names as `lower`
    // does, ASCII letters only.
    let listed = crate::pragma::list(conn, Some("main"), "table_list", table, |r| r.get::<_, String>(2));
    let listed = listed.map_err(ctx(table))?.into_iter().next();
    Ok(Some((listed.unwrap_or(kind), sql)))
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<Column>> {
    crate::pragma::list(conn, Some("main"), "table_xinfo", table, |r| {
        let hidden: i64 = r.get(6)?;
        let default: rusqlite::types::ValueRef<'_> = r.get_ref(4)?;
        Ok((
            hidden,
            Column {
                name: r.get(1)?,
                declared: r.get(2)?,
                not_null: r.get::<_, i64>(3)? != 0,
                has_default: default != rusqlite::types::ValueRef::Null,
                pk: r.get(5)?,
            },
        ))
    })
    .map(|cols| cols.into_iter().filter(|(hidden, _)| *hidden == 0).map(|(_, c)| c).collect())
    .map_err(ctx(table))
}

fn foreign_keys(conn: &Connection, table: &str) -> Result<Vec<ForeignKey>> {
    let keys = crate::pragma::foreign_keys(conn, Some("main"), table).map_err(ctx(table))?;
    Ok(keys
        .into_iter()
        .map(|k| ForeignKey {
            from: k.from,
            parent: k.parent.to_ascii_lowercase(),
            to: k.to.into_iter().flatten().collect(),
        })
        .collect())
}

/// The literals written in the table's definition `sql` (its CHECKs' `IN` lists and bounds):
/// values a constraint is likely to accept.
fn literals(sql: &str) -> (Vec<Value>, Vec<Value>) {
    let (mut texts, mut numbers) = (Vec::new(), Vec::new());
    for token in retort_build::sql::tokenize(sql) {
        let t = token.text.as_str();
        if let Some(inner) = t.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            let v = Value::Text(inner.replace("''", "'"));
            if !texts.contains(&v) {
                texts.push(v);
            }
        } else if let Ok(i) = t.parse::<i64>() {
            for v in [i, i + 1] {
                if !numbers.contains(&Value::Integer(v)) {
                    numbers.push(Value::Integer(v));
                }
            }
        } else if let Ok(f) = t.parse::<f64>() {
            numbers.push(Value::Real(f));
        }
    }
    (texts, numbers)
}

/// SQLite's type affinity of a declared type (the rules of §3.1 of its datatype page).
fn affinity(declared: &str) -> &'static str {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        "INTEGER"
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        "TEXT"
    } else if d.contains("BLOB") || d.is_empty() {
        "BLOB"
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// A small deterministic mix of the run's seed with a name (FNV-1a, then a final mix).
fn mix(seed: u64, name: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h.wrapping_mul(0xff51_afd7_ed55_8ccd) ^ (h >> 29)
}

/// A column's value in one attempt: a value, or the column left out (its default).
#[derive(Clone, Debug, PartialEq)]
enum Pick {
    Value(Value),
    Default,
}

/// Candidate values for `col` in row `i`, best first.
fn candidates(col: &Column, table: &str, i: usize, seed: u64, lits: &(Vec<Value>, Vec<Value>)) -> Vec<Pick> {
    let h = mix(seed, &format!("{table}.{}", col.name));
    let n = i as i64;
    let base = 1 + (h % 90) as i64;
    let declared = col.declared.to_ascii_uppercase();
    let mut out: Vec<Value> = Vec::new();
    match affinity(&col.declared) {
        "INTEGER" => out.extend([base + n, n + 1, 0, -(n + 1), 1000 + n].map(Value::Integer)),
        "REAL" => out.extend([base as f64 + n as f64 + 0.5, n as f64 + 0.25, 0.0].map(Value::Real)),
        "TEXT" => {
            out.push(Value::Text(format!("{}-{n}-{:x}", col.name, h % 0xfff)));
            out.push(Value::Text(format!("x{n}")));
        }
        "BLOB" if declared.is_empty() || declared == "ANY" => {
            out.push(Value::Text(format!("{}-{n}-{:x}", col.name, h % 0xfff)));
            out.push(Value::Integer(base + n));
        }
        "BLOB" => out.push(Value::Blob(vec![n as u8, (h & 0xff) as u8, 0xa5])),
        _ if declared.contains("BOOL") => out.extend([n % 2, 1 - n % 2].map(Value::Integer)),
        _ if declared.contains("DATE") || declared.contains("TIME") => {
            let day = 1 + (h % 20) as i64 + n;
            let text = if declared.contains("TIME") {
                format!("2024-03-{day:02} 10:{:02}:00", h % 60)
            } else {
                format!("2024-03-{day:02}")
            };
            out.push(Value::Text(text));
            out.push(Value::Integer(1_700_000_000 + n));
        }
        _ => out.extend([base + n, n + 1, 0].map(Value::Integer)),
    }
    // Literals of the definition suit the column's type when its affinity takes them as they are.
    let (texts, numbers) = lits;
    match affinity(&col.declared) {
        "TEXT" => out.extend(texts.iter().cloned()),
        "BLOB" if declared.is_empty() || declared == "ANY" => out.extend(texts.iter().chain(numbers).cloned()),
        "BLOB" => {}
        _ => out.extend(numbers.iter().cloned()),
    }
    let mut picks: Vec<Pick> = out.into_iter().map(Pick::Value).collect();
    if !col.not_null {
        picks.push(Pick::Value(Value::Null));
    }
    if col.has_default {
        // The first row shows what the default gives; the others name their values.
        let at = if i == 0 { 0 } else { picks.len() };
        picks.insert(at, Pick::Default);
    }
    picks
}

/// Seeds one empty table: the rows it got, or why it got none.
fn seed_table(
    conn: &Connection,
    table: &str,
    sql: &str,
    keys: &[ForeignKey],
    rows: usize,
    seed: u64,
) -> Result<std::result::Result<usize, String>> {
    let cols = columns(conn, table)?;
    if cols.is_empty() {
        return Ok(Err("no column a row can be given".into()));
    }
    let lits = literals(sql);
    // The rows each foreign key may point at: (column values), parents' rows as they are now.
    let mut parents: Vec<Vec<Vec<Value>>> = Vec::new();
    for key in keys {
        let rows = parent_rows(conn, table, key)?;
        let required = key.from.iter().any(|f| cols.iter().any(|c| c.not_null && c.name.eq_ignore_ascii_case(f)));
        if rows.is_empty() && required && key.parent != table {
            return Ok(Err(format!("its foreign key to `{}` needs a row there, and it has none", key.parent)));
        }
        parents.push(rows);
    }
    let mut seeded = 0;
    let mut last_error = String::new();
    for i in 0..rows {
        let mut options: Vec<Vec<Pick>> = cols.iter().map(|c| candidates(c, table, i, seed, &lits)).collect();
        for (key, rows) in keys.iter().zip(&parents) {
            // A child row points at a parent row (the i-th, rotating), or nowhere where it may.
            for (k, from) in key.from.iter().enumerate() {
                let Some(at) = cols.iter().position(|c| c.name.eq_ignore_ascii_case(from)) else { continue };
                let mut picks: Vec<Pick> =
                    (0..rows.len()).map(|r| Pick::Value(rows[(i + r) % rows.len()][k].clone())).collect();
                if !cols[at].not_null || rows.is_empty() {
                    picks.push(Pick::Value(Value::Null));
                }
                options[at] = picks;
            }
        }
        match insert_row(conn, table, &cols, &options)? {
            Ok(()) => seeded += 1,
            Err(e) => {
                last_error = e;
                break;
            }
        }
        // A self-reference may point at the rows seeded so far.
        for (key, rows) in keys.iter().zip(parents.iter_mut()) {
            if key.parent == table {
                *rows = parent_rows(conn, table, key)?;
            }
        }
    }
    // Rows whose keys find no parent (a NOT NULL key to an empty parent) go again.
    let violations =
        crate::pragma::list(conn, Some("main"), "foreign_key_check", table, |_| Ok(())).map_err(ctx(table))?;
    if !violations.is_empty() {
        conn.execute(&format!("DELETE FROM main.{}", quote(table)), []).map_err(ctx(table))?;
        let parents: Vec<&str> = keys.iter().map(|k| k.parent.as_str()).collect();
        return Ok(Err(format!("its foreign keys need rows in {} that could not be seeded", parents.join(", "))));
    }
    if seeded == 0 {
        return Ok(Err(if last_error.is_empty() { "no row could be inserted".into() } else { last_error }));
    }
    Ok(Ok(seeded))
}

/// The values of the parent columns `key` points at, in the parent's rows (at most 16).
fn parent_rows(conn: &Connection, table: &str, key: &ForeignKey) -> Result<Vec<Vec<Value>>> {
    let to: Vec<String> = if key.to.is_empty() {
        columns(conn, &key.parent)?.into_iter().filter(|c| c.pk > 0).map(|c| c.name).collect()
    } else {
        key.to.clone()
    };
    if to.is_empty() || to.len() != key.from.len() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = to.iter().map(|c| quote(c)).collect();
    let sql = format!("SELECT {} FROM main.{} LIMIT 16", list.join(", "), quote(&key.parent));
    match conn.prepare(&sql) {
        Ok(mut stmt) => stmt
            .query_map([], |r| (0..to.len()).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>())
            .and_then(|rows| rows.collect())
            .map_err(ctx(table)),
        // A key to a missing table or column cannot be satisfied (the foreign-key checks report it).
        Err(_) => Ok(Vec::new()),
    }
}

/// Inserts one row, trying other candidates for the columns SQLite's error names (or, when it
/// names none, for every column) until one is accepted or the tries run out.
fn insert_row(
    conn: &Connection,
    table: &str,
    cols: &[Column],
    options: &[Vec<Pick>],
) -> Result<std::result::Result<(), String>> {
    let mut choice = vec![0usize; cols.len()];
    let mut tried: std::collections::HashSet<Vec<usize>> = std::collections::HashSet::from([choice.clone()]);
    let mut tries = 0;
    let mut error = match try_insert(conn, table, cols, options, &choice)? {
        None => return Ok(Ok(())),
        Some(e) => e,
    };
    'search: while tries < TRIES_PER_ROW {
        let named: Vec<usize> = (0..cols.len()).filter(|&c| mentions(&error, &cols[c].name)).collect();
        let order: Vec<usize> = if named.is_empty() { (0..cols.len()).collect() } else { named };
        for c in order {
            for alt in 0..options[c].len() {
                let mut next = choice.clone();
                next[c] = alt;
                if tries >= TRIES_PER_ROW || !tried.insert(next.clone()) {
                    continue;
                }
                tries += 1;
                match try_insert(conn, table, cols, options, &next)? {
                    None => return Ok(Ok(())),
                    // Progress: this column no longer fails; keep its value and look again.
                    Some(e) if e != error => {
                        choice = next;
                        error = e;
                        continue 'search;
                    }
                    Some(_) => {}
                }
            }
        }
        break;
    }
    Ok(Err(error))
}

/// True when SQLite's error message names `column` (as `t.column` or a word of a CHECK).
fn mentions(message: &str, column: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    let column = column.to_ascii_lowercase();
    lower.match_indices(&column).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + column.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// One insert: `None` when it went in, else SQLite's message (constraint failures and type
/// mismatches; anything else is an error of the harness's own).
fn try_insert(
    conn: &Connection,
    table: &str,
    cols: &[Column],
    options: &[Vec<Pick>],
    choice: &[usize],
) -> Result<Option<String>> {
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (c, col) in cols.iter().enumerate() {
        if let Some(Pick::Value(v)) = options[c].get(choice[c]) {
            names.push(quote(&col.name));
            values.push(v.clone());
        }
    }
    let sql = if names.is_empty() {
        format!("INSERT INTO main.{} DEFAULT VALUES", quote(table))
    } else {
        let marks = vec!["?"; names.len()].join(", ");
        format!("INSERT INTO main.{} ({}) VALUES ({marks})", quote(table), names.join(", "))
    };
    match conn.execute(&sql, rusqlite::params_from_iter(values)) {
        Ok(_) => Ok(None),
        Err(rusqlite::Error::SqliteFailure(e, message)) => Ok(Some(message.unwrap_or_else(|| e.to_string()))),
        Err(e) => Err(ctx(table)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn seeds_parents_first_within_constraints() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id), note TEXT);
             CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                 status TEXT NOT NULL CHECK (status IN ('draft', 'live')), price REAL CHECK (price > 0),
                 created TEXT NOT NULL DEFAULT 'now');
             CREATE TABLE strict_t (a INTEGER NOT NULL, b TEXT, c BLOB, d ANY) STRICT;
             CREATE TABLE w (k TEXT PRIMARY KEY, v INTEGER UNIQUE NOT NULL CHECK (v BETWEEN 3 AND 4)) WITHOUT ROWID;
             CREATE VIEW v AS SELECT 1;",
        )
        .unwrap();
        let names: Vec<String> = ["child", "parent", "strict_t", "w", "v"].map(String::from).into();
        let out = seed(&conn, &names, 3, 7).unwrap();
        assert_eq!(out.not_covered, [], "{out:?}");
        assert_eq!(
            out.tables,
            [("parent".to_string(), 3), ("child".into(), 3), ("strict_t".into(), 3), ("w".into(), 2)],
            "a CHECK that admits two values of a key admits two rows"
        );
        let bad: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(bad, 0);
        let statuses: i64 =
            conn.query_row("SELECT count(*) FROM parent WHERE status IN ('draft', 'live')", [], |r| r.get(0)).unwrap();
        assert_eq!(statuses, 3);
        let defaulted: i64 =
            conn.query_row("SELECT count(*) FROM parent WHERE created = 'now'", [], |r| r.get(0)).unwrap();
        assert_eq!(defaulted, 1, "the first row shows the default");
        // Same seed, same rows.
        let again = Connection::open_in_memory().unwrap();
        again.execute_batch("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL CHECK (status IN ('draft', 'live')), price REAL CHECK (price > 0), created TEXT NOT NULL DEFAULT 'now');").unwrap();
        seed(&again, &["parent".to_string()], 3, 7).unwrap();
        let dump = |c: &Connection| -> Vec<String> {
            let mut s = c
                .prepare("SELECT quote(id)||quote(name)||quote(status)||quote(price) FROM parent ORDER BY id")
                .unwrap();
            s.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(dump(&conn), dump(&again));
    }

    #[test]
    fn a_table_that_cannot_be_seeded_is_not_covered_and_keeps_no_row() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE odd (x INTEGER NOT NULL CHECK (x > 5 AND x < 5));
             CREATE TABLE orphan (id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES missing(id));
             CREATE TABLE full (x); INSERT INTO full VALUES (1);
             CREATE VIRTUAL TABLE f USING fts5(body);",
        )
        .unwrap();
        // `f_content` is one of the virtual table's shadow tables, empty and seedable as a
        // table, which only `PRAGMA table_list` tells apart.
        let names: Vec<String> = ["odd", "orphan", "full", "f", "f_content"].map(String::from).into();
        let out = seed(&conn, &names, 3, 1).unwrap();
        let not: Vec<&str> = out.not_covered.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(not, ["f", "odd", "orphan"], "{out:?}");
        assert!(out.not_covered[1].1.contains("CHECK constraint failed"), "{out:?}");
        assert!(out.not_covered[2].1.contains("missing"), "{out:?}");
        assert_eq!((count(&conn, "odd"), count(&conn, "orphan"), count(&conn, "full")), (0, 0, 1));
        assert_eq!(count(&conn, "f_content"), 0, "a shadow table is the module's, not seeded");
        assert!(out.tables.is_empty(), "a table with rows is left as it is");
    }
}
