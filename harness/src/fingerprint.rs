//! Fingerprints of what a database holds beyond its schema: each table's rows (a 128-bit
//! order-independent digest over rowid and values), the order its triggers fire in, and the
//! header settings a migration can change (`user_version`, `application_id`, `auto_vacuum`).
//!
//! The round trip uses them to prove that running `up` again after `down` would be redundant:
//! when the state after `down` has the same schema and the same fingerprints as the state
//! before `up`, the same deterministic SQL gives the same result (ARCHITECTURE.md, "A re-up is
//! run only where it is not provably redundant").
//!
//! Guarantees: reading a fingerprint writes nothing; a table is read only when asked for, so
//! the cost follows the tables a step touched.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::error::{Error, Result};
use crate::snapshot::SchemaCache;

/// SQLite's own tables that hold rows a migration can change without the authorizer naming them
/// (AUTOINCREMENT counters, ANALYZE statistics): always fingerprinted.
pub const INTERNAL_TABLES: [&str; 4] = ["sqlite_sequence", "sqlite_stat1", "sqlite_stat3", "sqlite_stat4"];

/// One table's fingerprint.
#[derive(Clone, Debug)]
pub struct TableFingerprint {
    /// Number of rows.
    pub rows: u64,
    /// Wrapping sums of two independent 64-bit row hashes (rowid included).
    pub digest: (u64, u64),
    /// Its triggers, in the order SQLite fires them (creation order).
    pub triggers: Vec<String>,
    /// The rows themselves, when they were asked for ([`Read::Contents`]): the data round trip
    /// compares them. No part of the fingerprint's equality.
    pub contents: Option<std::sync::Arc<Contents>>,
}

impl PartialEq for TableFingerprint {
    fn eq(&self, other: &TableFingerprint) -> bool {
        (self.rows, self.digest, &self.triggers) == (other.rows, other.digest, &other.triggers)
    }
}

impl Eq for TableFingerprint {}

/// A table's rows as values, without rowids, in no particular order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contents {
    /// The column names, as the table declares them.
    pub columns: Vec<String>,
    /// The rows, each with one value per column.
    pub rows: Vec<Vec<rusqlite::types::Value>>,
}

/// What [`tables`] reads of each table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// The fingerprint only.
    Digest,
    /// The fingerprint and the rows ([`TableFingerprint::contents`]).
    Contents,
}

/// The header settings a migration can change.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// `PRAGMA user_version`.
    pub user_version: i64,
    /// `PRAGMA application_id`.
    pub application_id: i64,
    /// `PRAGMA auto_vacuum`.
    pub auto_vacuum: i64,
    /// Objects in the connection's `temp` schema (their rows are not fingerprinted, so a
    /// non-zero count means equality cannot be shown).
    pub temp_objects: i64,
}

/// Fingerprints of some tables: `None` for a table that does not exist (or, for SQLite's own
/// tables, is empty).
pub type Tables = BTreeMap<String, Option<TableFingerprint>>;

fn ctx(what: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::sqlite(format!("cannot fingerprint {what}"))(e)
}

/// The header settings of `conn`'s `main` database.
pub fn header(conn: &Connection) -> Result<Header> {
    conn.prepare_cached(
        "SELECT (SELECT * FROM pragma_user_version), (SELECT * FROM pragma_application_id), \
         (SELECT * FROM pragma_auto_vacuum), (SELECT count(*) FROM temp.sqlite_schema)",
    )
    .and_then(|mut s| {
        s.query_row([], |r| {
            Ok(Header {
                user_version: r.get(0)?,
                application_id: r.get(1)?,
                auto_vacuum: r.get(2)?,
                temp_objects: r.get(3)?,
            })
        })
    })
    .map_err(ctx("the database header"))
}

/// The header after SQL whose authorizer footprint is `footprint` ran on a database whose header
/// was `before`. Only a `PRAGMA` can set `user_version`, `application_id` or `auto_vacuum`, and
/// only SQL that creates or drops in `temp` changes the temp objects (the authorizer sees both);
/// the header is read again only after such SQL or a `VACUUM`.
pub fn header_after(conn: &Connection, before: &Header, footprint: &crate::watch::Footprint) -> Result<Header> {
    if footprint.pragma || footprint.temp || footprint.vacuumed { header(conn) } else { Ok(before.clone()) }
}

/// Every table of `main` (names lower-cased), SQLite's own included.
pub fn all_tables(conn: &Connection) -> Result<BTreeSet<String>> {
    conn.prepare_cached("SELECT lower(name) FROM main.sqlite_schema WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
        .map_err(ctx("the table list"))
}

/// Fingerprints of `tables` (lower-cased names) in `conn`'s `main` database. Which of them
/// exist, how to read them and their triggers come from `catalog`, which must have read the
/// schema as it is now: nothing scans `sqlite_schema`. SQLite's own tables, which the cache does
/// not hold, are looked up by name (`PRAGMA table_info`, a lookup in the connection's schema).
pub fn tables<'a>(
    conn: &Connection,
    catalog: &SchemaCache,
    tables: impl IntoIterator<Item = &'a String>,
    read: Read,
) -> Result<Tables> {
    if !catalog.is_primed() {
        return Err(Error::Misuse("fingerprints asked of a schema cache that has read nothing".into()));
    }
    let mut out = Tables::new();
    for name in tables {
        let found = if INTERNAL_TABLES.contains(&name.as_str()) {
            // Rowid tables, which SQLite allows no trigger on.
            let columns = crate::pragma::list(conn, Some("main"), "table_info", name, |_| Ok(()));
            (!columns.map_err(ctx(name))?.is_empty()).then(|| (true, Vec::new()))
        } else {
            catalog.table_catalog(name).map(|(sql, triggers)| {
                let tokens = retort_build::sql::tokenize(sql);
                let without_rowid = tokens.windows(2).any(|w| w[0].is("WITHOUT") && w[1].is("ROWID"));
                let is_virtual = tokens.get(1).is_some_and(|t| t.is("VIRTUAL"));
                (!without_rowid && !is_virtual, triggers)
            })
        };
        let fingerprint = match found {
            Some((rowid, triggers)) => table(conn, name, rowid, triggers, read)?,
            None => None,
        };
        out.insert(name.clone(), fingerprint);
    }
    Ok(out)
}

fn table(
    conn: &Connection,
    name: &str,
    rowid: bool,
    triggers: Vec<String>,
    read: Read,
) -> Result<Option<TableFingerprint>> {
    let quoted = retort_build::sql::quote_ident(name);
    let sql =
        if rowid { format!("SELECT _rowid_, * FROM main.{quoted}") } else { format!("SELECT * FROM main.{quoted}") };
    let mut stmt = conn.prepare_cached(&sql).map_err(ctx(name))?;
    let skip = usize::from(rowid);
    let mut contents = (read == Read::Contents).then(Contents::default);
    let mut rows = stmt.query([]).map_err(ctx(name))?;
    // Named from the statement as it runs: SQLite re-prepares a cached one after a schema change.
    let names = |stmt: &rusqlite::Statement<'_>| -> Vec<String> {
        // By index: `column_names` returns a Vec before rusqlite 0.43 and an iterator from it.
        (skip..stmt.column_count())
            .map(|i| stmt.column_name(i).map_or_else(|_| String::new(), str::to_string))
            .collect()
    };
    let (mut count, mut a, mut b) = (0u64, 0u64, 0u64);
    while let Some(row) = rows.next().map_err(ctx(name))? {
        let mut ha = std::collections::hash_map::DefaultHasher::new();
        let mut hb = std::collections::hash_map::DefaultHasher::new();
        0xa5u8.hash(&mut hb);
        // Counted per row: SQLite re-prepares a cached statement after a schema change.
        for i in 0..row.as_ref().column_count() {
            let value = row.get_ref(i).map_err(ctx(name))?;
            hash_value(value, &mut ha);
            hash_value(value, &mut hb);
        }
        if let Some(contents) = contents.as_mut() {
            if count == 0 {
                contents.columns = names(row.as_ref());
            }
            let values = (skip..row.as_ref().column_count()).map(|i| row.get::<_, rusqlite::types::Value>(i));
            contents.rows.push(values.collect::<rusqlite::Result<_>>().map_err(ctx(name))?);
        }
        count += 1;
        a = a.wrapping_add(ha.finish());
        b = b.wrapping_add(hb.finish());
    }
    drop(rows);
    if let (Some(contents), 0) = (contents.as_mut(), count) {
        // The statement ran, so it was prepared again if the schema had changed.
        contents.columns = names(&stmt);
    }
    // SQLite creates its own tables on demand and never drops them: empty is the same as absent.
    if INTERNAL_TABLES.contains(&name) && count == 0 {
        return Ok(None);
    }
    Ok(Some(TableFingerprint { rows: count, digest: (a, b), triggers, contents: contents.map(std::sync::Arc::new) }))
}

fn hash_value(value: ValueRef<'_>, h: &mut impl Hasher) {
    match value {
        ValueRef::Null => 0u8.hash(h),
        ValueRef::Integer(i) => {
            1u8.hash(h);
            i.hash(h);
        }
        ValueRef::Real(f) => {
            2u8.hash(h);
            f.to_bits().hash(h);
        }
        ValueRef::Text(t) => {
            3u8.hash(h);
            t.hash(h);
        }
        ValueRef::Blob(b) => {
            4u8.hash(h);
            b.hash(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(conn: &Connection, t: &str) -> Option<TableFingerprint> {
        let mut cache = SchemaCache::default();
        cache.read(conn).unwrap();
        tables(conn, &cache, [&t.to_string()], Read::Digest).unwrap().remove(t).unwrap()
    }

    #[test]
    fn rows_rowids_and_trigger_order_count() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x'), ('y');
             CREATE TABLE w (k INTEGER PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO w VALUES (1, 'a');
             CREATE VIEW v AS SELECT * FROM t;",
        )
        .unwrap();
        let before = fp(&conn, "t").unwrap();
        assert_eq!(before.rows, 2);
        // The same rows under other rowids are another state.
        conn.execute_batch("DELETE FROM t; INSERT INTO t (rowid, a) VALUES (5, 'x'), (6, 'y');").unwrap();
        assert_ne!(fp(&conn, "t").unwrap(), before);
        conn.execute_batch("DELETE FROM t; INSERT INTO t (rowid, a) VALUES (2, 'y'), (1, 'x');").unwrap();
        assert_eq!(fp(&conn, "t").unwrap(), before, "insertion order does not count");
        conn.execute_batch("UPDATE t SET a = 'X' WHERE a = 'x';").unwrap();
        assert_ne!(fp(&conn, "t").unwrap(), before);
        assert_eq!(fp(&conn, "w").unwrap().rows, 1);
        assert_eq!(fp(&conn, "v"), None, "a view has no rows of its own");
        conn.execute_batch("CREATE VIRTUAL TABLE f USING fts5(body); INSERT INTO f VALUES ('x');").unwrap();
        assert_eq!(fp(&conn, "f").unwrap().rows, 1);
        assert_eq!(fp(&conn, "nope"), None);
        conn.execute_batch(
            "CREATE TRIGGER t1 AFTER INSERT ON t BEGIN SELECT 1; END; CREATE TRIGGER t2 AFTER INSERT ON t BEGIN SELECT 2; END;",
        )
        .unwrap();
        let ordered = fp(&conn, "t").unwrap();
        conn.execute_batch("DROP TRIGGER t1; CREATE TRIGGER t1 AFTER INSERT ON t BEGIN SELECT 1; END;").unwrap();
        assert_ne!(fp(&conn, "t").unwrap(), ordered, "the triggers now fire in another order");
        assert_eq!(ordered.triggers, ["t1", "t2"]);
    }

    #[test]
    fn sqlites_own_tables_count_once_they_hold_rows() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, x);").unwrap();
        assert_eq!(fp(&conn, "sqlite_sequence"), None, "created, still empty");
        assert_eq!(fp(&conn, "sqlite_stat1"), None, "not created");
        conn.execute_batch("INSERT INTO a (x) VALUES (1); CREATE INDEX a_x ON a (x); ANALYZE;").unwrap();
        assert_eq!(fp(&conn, "sqlite_sequence").unwrap().rows, 1);
        assert_eq!(fp(&conn, "sqlite_stat1").unwrap().rows, 1);
        conn.execute_batch("DROP TABLE sqlite_stat1;").unwrap();
        assert_eq!(fp(&conn, "sqlite_stat1"), None, "dropped");
    }

    #[test]
    fn a_cache_that_has_read_nothing_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        let err = tables(&conn, &SchemaCache::default(), [&"t".to_string()], Read::Digest).unwrap_err();
        assert!(matches!(err, Error::Misuse(_)), "{err}");
    }

    #[test]
    fn header_sees_pragmas_and_temp_objects() {
        let conn = Connection::open_in_memory().unwrap();
        let h = header(&conn).unwrap();
        conn.execute_batch("PRAGMA user_version = 7;").unwrap();
        assert_ne!(header(&conn).unwrap(), h);
        conn.execute_batch("PRAGMA user_version = 0; CREATE TEMP TABLE scratch (x);").unwrap();
        assert_eq!(header(&conn).unwrap().temp_objects, 1);
    }
}
