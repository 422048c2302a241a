//! The history table `retort_history`: the narrow seam through which the migrator reads and
//! records what is applied. All its SQL is here; values are bound, never formatted into SQL.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use retort_build::RevisionId;

use crate::error::{Error, Result};

/// The history table's name.
pub const TABLE: &str = retort_build::HISTORY_TABLE;

/// Its columns, in order.
const COLUMNS: [&str; 4] = ["revision", "checksum", "applied_at", "duration_ms"];

/// The statement that creates the history table.
pub const CREATE: &str = "CREATE TABLE IF NOT EXISTS main.retort_history (\n    revision TEXT PRIMARY KEY,\n    checksum TEXT NOT NULL,\n    applied_at TEXT NOT NULL,\n    duration_ms INTEGER NOT NULL\n)";

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
    conn.prepare_cached("SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1")
        .and_then(|mut stmt| stmt.query_row([TABLE], |_| Ok(())).optional())
        .map(|row| row.is_some())
        .map_err(Error::sqlite("cannot read the schema"))
}

/// Creates the history table if needed.
pub fn ensure(conn: &Connection) -> Result<()> {
    conn.execute_batch(CREATE).map_err(Error::sqlite("cannot create the history table"))
}

/// True when the database holds tables, views or indexes of its own (besides the history).
pub fn has_user_objects(conn: &Connection) -> Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM main.sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?1",
        [TABLE],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(Error::sqlite("cannot read the schema"))
}

/// Every history row, in the order applied; an altered table or a row that is not a revision
/// with its checksum, time and duration is an error naming it.
pub fn read(conn: &Connection) -> Result<Vec<Applied>> {
    if !exists(conn)? {
        return Ok(Vec::new());
    }
    let columns: Vec<String> = crate::pragma::list(conn, Some("main"), "table_info", TABLE, |r| r.get(1))
        .map_err(Error::sqlite("cannot read the history table"))?;
    if COLUMNS.iter().any(|c| !columns.iter().any(|have| have == c)) {
        return Err(Error::HistoryShape { columns });
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT rowid, revision, checksum, applied_at, duration_ms FROM main.retort_history ORDER BY applied_at, rowid",
        )
        .map_err(Error::sqlite("cannot read the history table"))?;
    let raw: Vec<[Value; 5]> = stmt
        .query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        .and_then(Iterator::collect)
        .map_err(Error::sqlite("cannot read the history table"))?;
    let mut rows = Vec::with_capacity(raw.len());
    let mut bad = Vec::new();
    for [rowid, revision, checksum, applied_at, duration] in raw {
        let text = |v: &Value| match v {
            Value::Text(t) if !t.is_empty() => Some(t.clone()),
            _ => None,
        };
        let row = match &rowid {
            Value::Integer(n) => format!("row {n}"),
            other => format!("row {other:?}"),
        };
        match (text(&revision), text(&checksum), text(&applied_at), &duration) {
            (Some(revision), Some(checksum), Some(applied_at), Value::Integer(duration_ms)) => {
                rows.push(Applied { revision, checksum, applied_at, duration_ms: *duration_ms })
            }
            _ => {
                let named = text(&revision).map_or_else(String::new, |r| format!(" (revision {r})"));
                let wrong: Vec<&str> = [
                    (text(&revision).is_none(), "revision"),
                    (text(&checksum).is_none(), "checksum"),
                    (text(&applied_at).is_none(), "applied_at"),
                    (!matches!(duration, Value::Integer(_)), "duration_ms"),
                ]
                .into_iter()
                .filter_map(|(wrong, column)| wrong.then_some(column))
                .collect();
                bad.push(format!("{row}{named} has no valid {}", wrong.join(", ")));
            }
        }
    }
    if !bad.is_empty() {
        return Err(Error::MalformedHistory(bad));
    }
    Ok(rows)
}

/// The revisions recorded, as written, in no particular order (the table must exist): a check
/// of what is applied that costs one read of one column.
#[cfg(feature = "harness")]
pub fn recorded(conn: &Connection) -> Result<std::collections::BTreeSet<String>> {
    conn.prepare_cached("SELECT revision FROM main.retort_history")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get::<_, String>(0))?.collect())
        .map_err(Error::sqlite("cannot read the history table"))
}

/// True when `rev` is recorded.
pub fn contains(conn: &Connection, rev: &RevisionId) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM main.retort_history WHERE revision = ?1")
        .and_then(|mut stmt| stmt.query_row([rev.as_str()], |_| Ok(())).optional())
        .map(|r| r.is_some())
        .map_err(Error::sqlite("cannot read the history table"))
}

/// Records `rev` as applied: false, recording nothing, when it is recorded already.
pub fn insert(conn: &Connection, rev: &RevisionId, checksum: &str, applied_at: &str, duration_ms: i64) -> Result<bool> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO main.retort_history (revision, checksum, applied_at, duration_ms) \
         VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![rev.as_str(), checksum, applied_at, duration_ms]))
    .map(|n| n > 0)
    .map_err(Error::sqlite(format!("cannot record {rev} in the history table")))
}

/// Forgets `rev`: false when it was not recorded.
pub fn delete(conn: &Connection, rev: &str) -> Result<bool> {
    conn.prepare_cached("DELETE FROM main.retort_history WHERE revision = ?1")
        .and_then(|mut stmt| stmt.execute([rev]))
        .map(|n| n > 0)
        .map_err(Error::sqlite(format!("cannot remove {rev} from the history table")))
}

/// Quotes `text` as an SQL string literal, for the offline script only (nothing is executed).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The offline script's statement recording `rev` as applied.
pub fn script_insert(rev: &RevisionId, checksum: &str) -> String {
    format!(
        "INSERT INTO main.retort_history (revision, checksum, applied_at, duration_ms) VALUES ({}, {}, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 0);\n",
        literal(rev.as_str()),
        literal(checksum)
    )
}

/// The offline script's statement forgetting `rev`.
pub fn script_delete(rev: &RevisionId) -> String {
    format!("DELETE FROM main.retort_history WHERE revision = {};\n", literal(rev.as_str()))
}
