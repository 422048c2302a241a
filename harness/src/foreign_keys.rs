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

/// True when `main` holds a table named `table` (any case). (Not `PRAGMA table_list`: it first
/// works out the columns of every view, preparing each, which costs more than this scan.)
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
        let rows = crate::pragma::list(conn, None, "foreign_key_check", &access.table, |r| {
            Ok(Violation { table: r.get(0)?, rowid: r.get(1)?, parent: r.get(2)? })
        })
        .map_err(fk_error)?;
        out.extend(rows.into_iter().take(20));
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
    children.extend(referencing(conn, &parents)?);
    let mut out = Vec::new();
    for child in &children {
        // A table that no longer exists has no keys.
        out.extend(mismatches_of(conn, child)?);
    }
    Ok(out)
}

/// The tables with a foreign key to any of `parents`, in one pass over `main`'s tables. A table
/// that references a parent names it in its text after `REFERENCES` (SQLite rewrites the text
/// when a table is renamed), so only the texts that hold a parent's name (ASCII case folded, as
/// SQLite folds names) are tokenized; a name holding a quote character may be written escaped,
/// so for such a parent every table's keys are listed instead.
fn referencing(conn: &Connection, parents: &BTreeSet<String>) -> Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    let (quoted, plain): (Vec<&String>, Vec<&String>) =
        parents.iter().partition(|p| p.contains(['"', '\'', '`', '[', ']']));
    for parent in quoted {
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT m.name FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f \
                 WHERE m.type = 'table' AND f.\"table\" = ?1 COLLATE NOCASE",
            )
            .map_err(fk_error)?;
        let names: Vec<String> =
            stmt.query_map([parent], |r| r.get(0)).and_then(Iterator::collect).map_err(fk_error)?;
        found.extend(names);
    }
    if plain.is_empty() {
        return Ok(found);
    }
    let mut stmt =
        conn.prepare_cached("SELECT name, sql FROM main.sqlite_schema WHERE type = 'table'").map_err(fk_error)?;
    let mut rows = stmt.query([]).map_err(fk_error)?;
    while let Some(row) = rows.next().map_err(fk_error)? {
        let sql =
            row.get_ref(1).map_err(fk_error)?.as_bytes_or_null().map_err(|e| fk_error(e.into()))?.unwrap_or_default();
        if !plain.iter().any(|p| holds_ignoring_ascii_case(sql, p.as_bytes())) {
            continue;
        }
        let tokens = retort_build::sql::tokenize(&String::from_utf8_lossy(sql));
        let refers = tokens.windows(2).any(|w| {
            w[0].is("REFERENCES") && w[1].name().is_some_and(|name| plain.iter().any(|p| name.eq_ignore_ascii_case(p)))
        });
        if refers {
            found.insert(row.get(0).map_err(fk_error)?);
        }
    }
    Ok(found)
}

/// Whether `haystack` holds `needle`, ASCII letters compared in either case.
fn holds_ignoring_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
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
    let mut out = Vec::new();
    for key in crate::pragma::foreign_keys(conn, Some("main"), child).map_err(fk_error)? {
        let to: Vec<Option<&str>> = key.to.iter().map(Option::as_deref).collect();
        let shown_to = if to.iter().all(Option::is_none) {
            String::new()
        } else {
            format!("({})", to.iter().map(|t| t.unwrap_or("?")).collect::<Vec<_>>().join(", "))
        };
        let described = format!("({}) -> {}{shown_to}", key.from.join(", "), key.parent);
        if let Some(reason) = mismatch_reason(conn, &key.parent, key.from.len(), &to)? {
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
    let columns: Vec<(String, i64)> = crate::pragma::list(conn, Some("main"), "table_info", table, |r| {
        Ok((r.get::<_, String>(1)?.to_lowercase(), r.get(5)?))
    })
    .map_err(fk_error)?;
    let pk: BTreeSet<String> = columns.iter().filter(|(_, pk)| *pk > 0).map(|(name, _)| name.clone()).collect();
    if columns.is_empty() || (pk.is_empty() && !table_exists(conn, table)?) {
        return Ok(None);
    }
    Ok(Some(pk))
}

fn unique_indexes(conn: &Connection, table: &str) -> Result<Vec<BTreeSet<String>>> {
    // (name, unique, partial) of each index, then the columns of the unique, whole ones.
    let indexes: Vec<(String, bool, bool)> =
        crate::pragma::list(conn, None, "index_list", table, |r| Ok((r.get(1)?, r.get(2)?, r.get(4)?)))
            .map_err(fk_error)?;
    let mut out = Vec::new();
    for (index, _, _) in indexes.iter().filter(|(_, unique, partial)| *unique && !*partial) {
        let columns: Vec<Option<String>> =
            crate::pragma::list(conn, None, "index_info", index, |r| r.get(2)).map_err(fk_error)?;
        // An expression's column has no name: it covers no column.
        out.push(columns.into_iter().map(|c| c.map(|c| c.to_lowercase()).unwrap_or_default()).collect());
    }
    Ok(out)
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
    fn a_table_exists_in_any_case_and_a_view_is_no_table() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE \"Mixed Case\" (a); CREATE VIRTUAL TABLE f USING fts5(body); CREATE VIEW v AS SELECT 1;",
        )
        .unwrap();
        for (name, exists) in
            [("mixed case", true), ("MIXED CASE", true), ("f", true), ("f_data", true), ("v", false), ("nope", false)]
        {
            assert_eq!(table_exists(&conn, name).unwrap(), exists, "{name}");
        }
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
    fn one_step_that_drops_indexes_of_several_parents_finds_every_child() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE Parent (a); CREATE UNIQUE INDEX pa ON Parent (a); \
             CREATE TABLE \"q'2\" (b); CREATE UNIQUE INDEX qb ON \"q'2\" (b); \
             CREATE TABLE parental (c); CREATE UNIQUE INDEX rc ON parental (c); \
             CREATE TABLE c1 (x REFERENCES PARENT(a)); CREATE TABLE c2 (y REFERENCES \"q'2\"(b)); \
             CREATE TABLE c3 (z REFERENCES parental(c)); \
             DROP INDEX pa; DROP INDEX qb; DROP INDEX rc;",
        )
        .unwrap();
        // `parental` holds `parent`, and c3's text holds both: only the key to `parent` counts.
        let touched =
            ["parent", "q'2"].map(|t| Access { kind: AccessKind::DropIndex, table: t.to_string(), trigger: None });
        let found: Vec<String> = mismatches_after(&conn, &touched).unwrap().iter().map(|m| m.child.clone()).collect();
        assert_eq!(found, ["c1", "c2"]);
        assert!(holds_ignoring_ascii_case(b"CREATE TABLE c (x REFERENCES PaReNt)", b"parent"));
        assert!(!holds_ignoring_ascii_case(b"CREATE TABLE c (x)", b"parent"));
        assert!(
            !holds_ignoring_ascii_case("PARENT\u{e9}".as_bytes(), "parent\u{c9}".as_bytes()),
            "ASCII only, as SQLite"
        );
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
