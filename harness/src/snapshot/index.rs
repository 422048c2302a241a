//! An index as snapshot lines (`pragma_index_list`, `pragma_index_xinfo`, and its `CREATE
//! INDEX` text for expressions and a partial index's `WHERE`), and the indexes SQLite makes for
//! `UNIQUE` and `PRIMARY KEY` constraints, named by their shape.

use rusqlite::Connection;

use retort_build::sql::{TokenKind, tokenize};

use super::sql_form::{self, group};
use super::{Kind, Line, Object};
use crate::error::{Error, Result};

/// The index `name` on `table`; `sql` is its `CREATE INDEX` text (`None` for an auto-index).
pub(super) fn index_object(conn: &Connection, name: &str, table: &str, sql: Option<&str>) -> Result<Object> {
    let (unique, origin, partial): (bool, String, bool) = conn
        .query_row(
            "SELECT \"unique\", origin, partial FROM pragma_index_list(?1) WHERE name = ?2",
            [table, name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(Error::sqlite(format!("cannot read index {name} (index_list)")))?;
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
    let mut stmt = conn
        .prepare("SELECT cid, name, \"desc\", coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno")
        .map_err(ctx())?;
    let rows: Vec<(i64, Option<String>, bool, Option<String>)> = stmt
        .query_map([index], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(Iterator::collect)
        .map_err(ctx())?;
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

/// Indexes SQLite made for `UNIQUE` and `PRIMARY KEY` constraints, named `(auto) table(columns)`.
pub(super) fn auto_indexes(conn: &Connection, table: &str) -> Result<Vec<Object>> {
    let ctx = || Error::sqlite(format!("cannot read table {table} (index_list)"));
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_index_list(?1) WHERE name LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\'")
        .map_err(ctx())?;
    let names: Vec<String> = stmt.query_map([table], |r| r.get(0)).and_then(Iterator::collect).map_err(ctx())?;
    let mut out = Vec::new();
    for name in names {
        let mut object = index_object(conn, &name, table, None)?;
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
