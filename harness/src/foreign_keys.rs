//! Foreign keys after a step: rows that violate one (`PRAGMA foreign_key_check`), and keys that
//! cannot work at all — a parent table that does not exist, or parent columns that are neither
//! its primary key nor covered by a unique index (SQLite's "foreign key mismatch", which
//! otherwise surfaces only at the first write, naming no migration).
//!
//! Guarantees: what is checked follows from what the step touched, as the authorizer saw it:
//! pure DDL that creates nothing with a foreign key and drops nothing costs nothing.

use std::collections::BTreeSet;

use rusqlite::Connection;

use crate::error::{Error, Result, Violation};
use crate::watch::{Access, AccessKind};

/// A foreign key that cannot be enforced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The table holding the key.
    pub child: String,
    /// The key, as `(a, b) -> parent(x, y)`.
    pub key: String,
    /// Why it cannot work.
    pub reason: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.child, self.key, self.reason)
    }
}

fn fk_error(e: rusqlite::Error) -> Error {
    Error::sqlite("cannot check foreign keys")(e)
}

/// The first 20 rows of `PRAGMA foreign_key_check`.
pub fn violations(conn: &Connection) -> Result<Vec<Violation>> {
    let mut stmt = conn.prepare_cached("PRAGMA foreign_key_check").map_err(fk_error)?;
    let rows = stmt
        .query_map([], |r| Ok(Violation { table: r.get(0)?, rowid: r.get(1)?, parent: r.get(2)? }))
        .map_err(fk_error)?;
    rows.take(20).collect::<rusqlite::Result<Vec<_>>>().map_err(fk_error)
}

fn table_exists(conn: &Connection, table: &str) -> Result<bool> {
    conn.prepare_cached("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE")
        .and_then(|mut stmt| stmt.query_row([table], |r| r.get::<_, i64>(0)))
        .map(|n| n > 0)
        .map_err(fk_error)
}

/// Violations a step may have caused, judged from what it touched: any written row or dropped
/// table means a full check; an altered table (a column added with a default) only that table's.
pub fn violations_after(conn: &Connection, touched: &[Access]) -> Result<Vec<Violation>> {
    if touched.iter().any(|a| a.kind.writes_rows()) {
        return violations(conn);
    }
    let mut out = Vec::new();
    for access in touched.iter().filter(|a| a.kind == AccessKind::Alter) {
        if !table_exists(conn, &access.table)? {
            // Renamed away: check everything rather than guess where it went.
            return violations(conn);
        }
        let mut stmt = conn.prepare_cached("SELECT * FROM pragma_foreign_key_check(?1)").map_err(fk_error)?;
        let rows = stmt
            .query_map([&access.table], |r| Ok(Violation { table: r.get(0)?, rowid: r.get(1)?, parent: r.get(2)? }))
            .and_then(|rows| rows.take(20).collect::<rusqlite::Result<Vec<_>>>())
            .map_err(fk_error)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Keys that cannot work after a step: those of the tables it created or altered, and those
/// pointing at tables it dropped, renamed away or whose indexes it dropped.
pub fn mismatches_after(conn: &Connection, touched: &[Access]) -> Result<Vec<Mismatch>> {
    let mut children: BTreeSet<String> = BTreeSet::new();
    let mut parents: BTreeSet<String> = BTreeSet::new();
    for access in touched {
        match access.kind {
            AccessKind::Create | AccessKind::Alter => {
                children.insert(access.table.clone());
                parents.insert(access.table.clone());
            }
            AccessKind::DropTable | AccessKind::DropIndex => {
                parents.insert(access.table.clone());
            }
            _ => {}
        }
    }
    for parent in &parents {
        // A table that references `parent` names it in its text (SQLite rewrites the text when
        // a table is renamed), so only those tables' keys are listed; a name holding a quote
        // character may be written escaped, so it lists every table's.
        let plain = !parent.contains(['"', '\'', '`', '[', ']']);
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT m.name FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f \
                 WHERE m.type = 'table' AND (NOT ?2 OR instr(lower(m.sql), lower(?1)) > 0) \
                 AND f.\"table\" = ?1 COLLATE NOCASE",
            )
            .map_err(fk_error)?;
        let referencing: Vec<String> = stmt
            .query_map(rusqlite::params![parent, plain], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(fk_error)?;
        children.extend(referencing);
    }
    let mut out = Vec::new();
    for child in &children {
        // A table that no longer exists has no keys.
        out.extend(mismatches_of(conn, child)?);
    }
    Ok(out)
}

/// Every key of the database that cannot work (for `verify`).
pub fn mismatches(conn: &Connection) -> Result<Vec<Mismatch>> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        .map_err(fk_error)?;
    let tables: Vec<String> = stmt.query_map([], |r| r.get(0)).and_then(Iterator::collect).map_err(fk_error)?;
    let mut out = Vec::new();
    for table in &tables {
        out.extend(mismatches_of(conn, table)?);
    }
    Ok(out)
}

fn mismatches_of(conn: &Connection, child: &str) -> Result<Vec<Mismatch>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1, 'main') ORDER BY id, seq",
        )
        .map_err(fk_error)?;
    let rows: Vec<(i64, String, String, Option<String>)> = stmt
        .query_map([child], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(Iterator::collect)
        .map_err(fk_error)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let id = rows[i].0;
        let key: Vec<&(i64, String, String, Option<String>)> = rows[i..].iter().take_while(|r| r.0 == id).collect();
        i += key.len();
        let parent = &key[0].1;
        let from: Vec<&str> = key.iter().map(|r| r.2.as_str()).collect();
        let to: Vec<Option<&str>> = key.iter().map(|r| r.3.as_deref()).collect();
        let shown_to = if to.iter().all(Option::is_none) {
            String::new()
        } else {
            format!("({})", to.iter().map(|t| t.unwrap_or("?")).collect::<Vec<_>>().join(", "))
        };
        let described = format!("({}) -> {parent}{shown_to}", from.join(", "));
        let reason = mismatch_reason(conn, parent, from.len(), &to)?;
        if let Some(reason) = reason {
            out.push(Mismatch { child: child.to_string(), key: described, reason });
        }
    }
    Ok(out)
}

/// Why a key of `arity` columns referring to `to` in `parent` cannot work, if it cannot.
fn mismatch_reason(conn: &Connection, parent: &str, arity: usize, to: &[Option<&str>]) -> Result<Option<String>> {
    let Some(pk) = primary_key(conn, parent)? else {
        return Ok(Some(format!("the parent table `{parent}` does not exist")));
    };
    let wanted: BTreeSet<String> = if to.iter().all(Option::is_none) {
        if pk.is_empty() {
            return Ok(Some(format!("`{parent}` has no primary key for the key to refer to; name the parent columns")));
        }
        pk.clone()
    } else {
        to.iter().map(|t| t.unwrap_or_default().to_ascii_lowercase()).collect()
    };
    let unique = wanted == pk || unique_indexes(conn, parent)?.contains(&wanted);
    Ok((!unique || wanted.len() != arity).then(|| {
        format!(
            "the parent columns are not `{parent}`'s primary key nor covered by a unique index (SQLite fails every write with \"foreign key mismatch\")"
        )
    }))
}

/// The primary-key columns of `table` in `main` (lower-cased), or `None` when there is no such
/// table. A view has columns but no primary key; only then is the catalog asked which it is.
fn primary_key(conn: &Connection, table: &str) -> Result<Option<BTreeSet<String>>> {
    let mut stmt =
        conn.prepare_cached("SELECT lower(name), pk FROM pragma_table_info(?1, 'main')").map_err(fk_error)?;
    let columns: Vec<(String, i64)> =
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?))).and_then(Iterator::collect).map_err(fk_error)?;
    let pk: BTreeSet<String> = columns.iter().filter(|(_, pk)| *pk > 0).map(|(name, _)| name.clone()).collect();
    if columns.is_empty() || (pk.is_empty() && !table_exists(conn, table)?) {
        return Ok(None);
    }
    Ok(Some(pk))
}

fn unique_indexes(conn: &Connection, table: &str) -> Result<Vec<BTreeSet<String>>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT l.name, lower(i.name) FROM pragma_index_list(?1) AS l, pragma_index_info(l.name) AS i \
             WHERE l.\"unique\" AND NOT l.partial ORDER BY l.name",
        )
        .map_err(fk_error)?;
    let rows: Vec<(String, Option<String>)> =
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?))).and_then(Iterator::collect).map_err(fk_error)?;
    let mut out: Vec<(String, BTreeSet<String>)> = Vec::new();
    for (index, column) in rows {
        match out.last_mut() {
            Some((name, cols)) if *name == index => {
                cols.insert(column.unwrap_or_default());
            }
            _ => out.push((index, column.into_iter().collect())),
        }
    }
    Ok(out.into_iter().map(|(_, cols)| cols).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(schema: &str) -> Vec<String> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(schema).unwrap();
        mismatches(&conn).unwrap().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn keys_that_cannot_work_are_found() {
        assert_eq!(
            check("CREATE TABLE c (x REFERENCES missing(id));"),
            ["c (x) -> missing(id): the parent table `missing` does not exist"]
        );
        let not_unique = check("CREATE TABLE p (a, b); CREATE TABLE c (x REFERENCES p(a));");
        assert_eq!(not_unique.len(), 1);
        assert!(
            not_unique[0].starts_with("c (x) -> p(a): the parent columns are not `p`'s primary key"),
            "{not_unique:?}"
        );
        assert_eq!(
            check(
                "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE VIEW v AS SELECT id FROM p; CREATE TABLE c (x REFERENCES v(id));"
            ),
            ["c (x) -> v(id): the parent table `v` does not exist"],
            "a view is no parent table"
        );
        assert_eq!(
            check("CREATE TABLE p (a); CREATE TABLE c (x REFERENCES p);").len(),
            1,
            "no primary key to refer to"
        );
        assert_eq!(
            check("CREATE TABLE p (a, b, UNIQUE (a, b)); CREATE TABLE c (x, y, FOREIGN KEY (x) REFERENCES p(a));")
                .len(),
            1,
            "a unique index on more columns does not cover one"
        );
    }

    #[test]
    fn keys_that_work_pass() {
        for schema in [
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p(id));",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p);",
            "CREATE TABLE p (a, b UNIQUE); CREATE TABLE c (x REFERENCES p(b));",
            "CREATE TABLE p (a, b); CREATE UNIQUE INDEX p_ab ON p (b, a); CREATE TABLE c (x, y, FOREIGN KEY (x, y) REFERENCES p(a, b));",
            "CREATE TABLE p (a, b, PRIMARY KEY (a, b)); CREATE TABLE c (x, y, FOREIGN KEY (x, y) REFERENCES p);",
            "CREATE TABLE c (x REFERENCES c(id), id INTEGER PRIMARY KEY);",
        ] {
            assert_eq!(check(schema), Vec::<String>::new(), "{schema}");
        }
    }

    #[test]
    fn a_dropped_parent_index_is_found_through_any_spelling_of_the_parent() {
        for (parent, reference) in
            [("p", "P"), ("we\"ird", "\"WE\"\"IRD\""), ("sp ace", "[Sp Ace]"), ("q'uote", "`q'uote`")]
        {
            let quoted = retort_build::sql::quote_ident(parent);
            let conn = Connection::open_in_memory().unwrap();
            conn.execute_batch(&format!(
                "CREATE TABLE {quoted} (a); CREATE UNIQUE INDEX pa ON {quoted} (a); \
                 CREATE TABLE other (z); CREATE TABLE c (x REFERENCES {reference}(a));"
            ))
            .unwrap();
            assert!(mismatches(&conn).unwrap().is_empty(), "{parent}");
            conn.execute_batch("DROP INDEX pa;").unwrap();
            let touched = [Access { kind: AccessKind::DropIndex, table: parent.to_string(), trigger: None }];
            let found: Vec<String> =
                mismatches_after(&conn, &touched).unwrap().iter().map(|m| m.child.clone()).collect();
            assert_eq!(found, ["c"], "{parent} referenced as {reference}");
        }
    }
}
