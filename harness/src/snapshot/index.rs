//! An index as snapshot lines (`PRAGMA index_list` and `index_xinfo`, and its `CREATE
//! INDEX` text for expressions and a partial index's `WHERE`), and the indexes SQLite makes for
//! `UNIQUE` and `PRIMARY KEY` constraints, named by their shape.

use rusqlite::Connection;

use retort_build::sql::{TokenKind, tokenize};

use super::sql_form::{self, group};
use super::{Kind, Line, Object};
use crate::error::{Error, Result};

/// One row of `PRAGMA index_list`: name, unique, origin, partial.
type Listed = (String, bool, String, bool);

/// The indexes of `table` as `PRAGMA index_list` gives them.
fn index_list(conn: &Connection, table: &str) -> Result<Vec<Listed>> {
    crate::pragma::list(conn, None, "index_list", table, |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map_err(Error::sqlite(format!("cannot read table {table} (index_list)")))
}

/// The index `name` on `table`; `sql` is its `CREATE INDEX` text (`None` for an auto-index).
pub(super) fn index_object(conn: &Connection, name: &str, table: &str, sql: Option<&str>) -> Result<Object> {
    let listed = index_list(conn, table)?.into_iter().find(|l| l.0 == name);
    let listed = listed.ok_or_else(|| {
        Error::sqlite(format!("cannot read index {name} (index_list)"))(rusqlite::Error::QueryReturnedNoRows)
    })?;
    listed_object(conn, listed, table, sql)
}

/// The index `listed` (its `index_list` row) on `table`, with its text `sql`.
fn listed_object(conn: &Connection, listed: Listed, table: &str, sql: Option<&str>) -> Result<Object> {
    let (name, unique, origin, partial) = listed;
    let name = name.as_str();
    let mut lines = vec![Line::plain(format!("on {}", table.to_lowercase()))];
    if unique {
        lines.push(Line::plain("unique"));
    }
    if origin != "c" {
        lines.push(Line::plain(format!("origin {origin}")));
    }
    let columns = index_columns(conn, name)?;
    let has_expression = columns.iter().any(|c| c.starts_with("(expression)"));
    lines.extend(columns.into_iter().enumerate().map(|(i, col)| Line::plain(format!("key {} {col}", i + 1))));
    if let Some(sql) = sql.filter(|s| !s.is_empty()) {
        let tokens = tokenize(sql);
        if let Some(open) = tokens.iter().position(|t| t.kind == TokenKind::Punct && t.text == "(") {
            let keys = group(&tokens, open);
            if has_expression || keys.iter().any(|t| t.kind == TokenKind::Punct && t.text == "(") {
                lines.push(sql_form::line("expressions", sql, keys));
            }
        }
        if partial {
            if let Some(w) = tokens.iter().position(|t| t.is("WHERE")) {
                let end = tokens.iter().rposition(|t| t.text != ";").map_or(0, |i| i + 1).max(w + 1);
                lines.push(sql_form::line("where", sql, &tokens[w + 1..end]));
            }
        }
    }
    Ok(Object { kind: Kind::Index, name: name.to_lowercase(), lines })
}

/// `<column or (expression) or rowid> <asc|desc> collate <COLLATION>` for each key column.
fn index_columns(conn: &Connection, index: &str) -> Result<Vec<String>> {
    let ctx = || Error::sqlite(format!("cannot read index {index} (index_xinfo)"));
    // The key columns (`key` is column 5), in `seqno` order: (cid, name, desc, coll).
    let mut rows = crate::pragma::list(conn, None, "index_xinfo", index, |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(5)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
    })
    .map_err(ctx())?;
    rows.retain(|r| r.1);
    rows.sort_by_key(|r| r.0);
    Ok(rows
        .into_iter()
        .map(|(_, _, (cid, name, desc, coll)): (_, _, (i64, Option<String>, bool, Option<String>))| {
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

/// Indexes SQLite made for `UNIQUE` and `PRIMARY KEY` constraints, named `(auto) table(columns)`.
pub(super) fn auto_indexes(conn: &Connection, table: &str) -> Result<Vec<Object>> {
    let mut out = Vec::new();
    let auto = |l: &Listed| l.0.get(..17).is_some_and(|p| p.eq_ignore_ascii_case("sqlite_autoindex_"));
    for listed in index_list(conn, table)?.into_iter().filter(auto) {
        let mut object = listed_object(conn, listed, table, None)?;
        let keys: Vec<&str> = object
            .lines
            .iter()
            .filter_map(|l| l.as_str().strip_prefix("key "))
            .map(|k| k.split(' ').nth(1).unwrap_or(""))
            .collect();
        object.name = format!("(auto) {}({})", table.to_lowercase(), keys.join(", "));
        out.push(object);
    }
    Ok(out)
}
