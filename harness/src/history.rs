//! The history table `retort_history`: the narrow seam through which the migrator reads and
//! records what is applied. All its SQL is here; values are bound, never formatted into SQL.

use rusqlite::{Connection, OptionalExtension, params};

use retort_build::RevisionId;

use crate::error::{Error, Result};

/// The history table's name.
pub const TABLE: &str = "retort_history";

/// The statement that creates the history table.
pub const CREATE: &str = "CREATE TABLE IF NOT EXISTS retort_history (\n    revision TEXT PRIMARY KEY,\n    checksum TEXT NOT NULL,\n    applied_at TEXT NOT NULL,\n    duration_ms INTEGER NOT NULL\n)";

/// One applied revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The revision as recorded (it may be unknown to the migrations).
    pub revision: String,
    /// The checksum recorded when it was applied.
    pub checksum: String,
    /// When, RFC 3339 UTC.
    pub applied_at: String,
    /// How long it took.
    pub duration_ms: i64,
}

/// True when the history table exists.
pub fn exists(conn: &Connection) -> Result<bool> {
    conn.query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", [TABLE], |_| Ok(()))
        .optional()
        .map(|row| row.is_some())
        .map_err(Error::sqlite("cannot read the schema"))
}

/// Creates the history table if needed.
pub fn ensure(conn: &Connection) -> Result<()> {
    conn.execute_batch(CREATE).map_err(Error::sqlite("cannot create the history table"))
}

/// Every history row, in the order applied.
pub fn read(conn: &Connection) -> Result<Vec<Applied>> {
    if !exists(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare("SELECT revision, checksum, applied_at, duration_ms FROM retort_history ORDER BY applied_at, rowid")
        .map_err(Error::sqlite("cannot read the history table"))?;
    stmt.query_map([], |r| {
        Ok(Applied { revision: r.get(0)?, checksum: r.get(1)?, applied_at: r.get(2)?, duration_ms: r.get(3)? })
    })
    .and_then(Iterator::collect)
    .map_err(Error::sqlite("cannot read the history table"))
}

/// True when `rev` is recorded.
pub fn contains(conn: &Connection, rev: &RevisionId) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM retort_history WHERE revision = ?1")
        .and_then(|mut stmt| stmt.query_row([rev.as_str()], |_| Ok(())).optional())
        .map(|r| r.is_some())
        .map_err(Error::sqlite("cannot read the history table"))
}

/// Records `rev` as applied.
pub fn insert(conn: &Connection, rev: &RevisionId, checksum: &str, applied_at: &str, duration_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO retort_history (revision, checksum, applied_at, duration_ms) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![rev.as_str(), checksum, applied_at, duration_ms]))
    .map(drop)
    .map_err(Error::sqlite(format!("cannot record {rev} in the history table")))
}

/// Forgets `rev`.
pub fn delete(conn: &Connection, rev: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM retort_history WHERE revision = ?1")
        .and_then(|mut stmt| stmt.execute([rev]))
        .map(drop)
        .map_err(Error::sqlite(format!("cannot remove {rev} from the history table")))
}

/// Quotes `text` as an SQL string literal, for the offline script only (nothing is executed).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
