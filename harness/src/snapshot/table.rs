//! A table as snapshot lines: its columns (`PRAGMA table_xinfo`), options, checks and foreign
//! keys (`PRAGMA foreign_key_list`), with what only the `CREATE TABLE` text says (collations,
//! generated expressions, checks, deferrable modes) taken from that text.

use std::collections::BTreeMap;

use rusqlite::Connection;

use retort_build::sql::{Token, TokenKind, tokenize};

use super::sql_form::{self, definition_pieces, group, keywords_upper, lower_ident};
use super::{Kind, Line, Object};
use crate::error::{Error, Result};

/// The table `name` defined by `sql`, and whether its lines depend on `sql` alone (a bare
/// `REFERENCES t` takes `t`'s primary key, so it depends on `t` too).
pub(super) fn table_object(conn: &Connection, name: &str, sql: &str) -> Result<(Object, bool)> {
    let tokens = tokenize(sql);
    let definition = Definition::parse(sql, &tokens);
    let mut lines = column_lines(conn, name, &definition)?;
    lines.extend(option_lines(&tokens));
    lines.extend(definition.checks.iter().cloned());
    let (foreign_keys, cacheable) = foreign_key_lines(conn, name, &definition)?;
    lines.extend(foreign_keys);
    Ok((Object { kind: Kind::Table, name: name.to_lowercase(), lines }, cacheable))
}

/// What the `CREATE TABLE` text says that the pragmas do not.
struct Definition<'s> {
    src: &'s str,
    /// Column (lower-cased) -> the tokens of its definition.
    columns: BTreeMap<String, &'s [Token]>,
    /// `check (…)` lines, sorted.
    checks: Vec<Line>,
    /// (constrained columns, target table, mode) for each `REFERENCES` clause.
    deferrable: Vec<(String, String, &'static str)>,
}

const CONSTRAINT_WORDS: [&str; 6] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "KEY"];

impl<'s> Definition<'s> {
    fn parse(src: &'s str, tokens: &'s [Token]) -> Definition<'s> {
        let mut definition = Definition { src, columns: BTreeMap::new(), checks: Vec::new(), deferrable: Vec::new() };
        for piece in definition_pieces(tokens) {
            let Some(first) = piece.first() else { continue };
            let is_constraint = first.kind == TokenKind::Word && CONSTRAINT_WORDS.contains(&first.text.as_str());
            if !is_constraint {
                definition.columns.insert(lower_ident(first), piece);
            }
            for (i, t) in piece.iter().enumerate() {
                if t.is("CHECK") && piece.get(i + 1).is_some_and(|n| n.text == "(") {
                    let check = group(piece, i + 1);
                    definition.checks.push(Line::with_sql(
                        format!("check ({})", sql_form::as_written(src, check)),
                        format!("check ({})", sql_form::canonical(check)),
                    ));
                }
                if t.is("REFERENCES") {
                    definition.deferrable.push(reference(piece, i));
                }
            }
        }
        definition.checks.sort_by(|a, b| a.compared().cmp(b.compared()));
        definition
    }

    /// The definition tokens of `column` (lower-cased); empty when the text does not show it.
    fn column(&self, column: &str) -> &'s [Token] {
        self.columns.get(column).copied().unwrap_or(&[])
    }
}

/// The `REFERENCES` clause at `piece[at]`: (constrained columns, target table, deferrable mode).
fn reference(piece: &[Token], at: usize) -> (String, String, &'static str) {
    let target = piece.get(at + 1).map(lower_ident).unwrap_or_default();
    let rest = &piece[at..];
    let mode = if rest.windows(2).any(|w| w[0].is("NOT") && w[1].is("DEFERRABLE")) {
        "not deferrable"
    } else if rest.windows(3).any(|w| w[0].is("DEFERRABLE") && w[1].is("INITIALLY") && w[2].is("DEFERRED")) {
        "deferrable initially deferred"
    } else {
        "not deferred"
    };
    // The constrained columns: a table-level FOREIGN KEY (a, b), or the column itself.
    let first = &piece[0];
    let from = match piece.iter().position(|t| t.is("KEY")) {
        Some(k) if first.is("FOREIGN") || first.is("CONSTRAINT") => {
            group(piece, k + 1).iter().filter_map(Token::name).map(str::to_lowercase).collect::<Vec<_>>().join(", ")
        }
        _ => lower_ident(first),
    };
    (from, target, mode)
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

/// One `column …` line per column, in column order.
fn column_lines(conn: &Connection, table: &str, definition: &Definition<'_>) -> Result<Vec<Line>> {
    let ctx = || Error::sqlite(format!("cannot read table {table} (table_xinfo)"));
    let columns: Vec<ColumnRow> = crate::pragma::list(conn, None, "table_xinfo", table, |r| {
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
    .map_err(ctx())?;
    Ok(columns.iter().map(|column| column_line(column, definition)).collect())
}

/// `column <n> <name> type <TYPE> [not null] [default <sql>] [primary key <k>] [collate <C>]
/// [generated <how> (<sql>) | hidden]`.
fn column_line(column: &ColumnRow, definition: &Definition<'_>) -> Line {
    let ColumnRow { cid, name, decl, not_null, default, pk, hidden } = column;
    let (mut shown, mut compared) = (String::new(), String::new());
    let mut both = |s: &str, c: &str| {
        shown.push_str(s);
        compared.push_str(c);
    };
    let decl_tokens = tokenize(decl);
    let (decl_shown, decl_compared) = if decl_tokens.is_empty() {
        ("(none)".to_string(), "(none)".to_string())
    } else {
        (keywords_upper(decl, &decl_tokens), sql_form::canonical(&decl_tokens))
    };
    let head = format!("column {} {} type ", cid + 1, name.to_lowercase());
    both(&format!("{head}{decl_shown}"), &format!("{head}{decl_compared}"));
    if *not_null {
        both(" not null", " not null");
    }
    if let Some(d) = default {
        let tokens = tokenize(d);
        both(
            &format!(" default {}", sql_form::as_written(d, &tokens)),
            &format!(" default {}", sql_form::canonical(&tokens)),
        );
    }
    if *pk > 0 {
        let key = format!(" primary key {pk}");
        both(&key, &key);
    }
    let def = definition.column(&name.to_lowercase());
    if let Some(i) = def.iter().position(|t| t.is("COLLATE")) {
        let collation = format!(" collate {}", def.get(i + 1).map(|t| t.text.to_uppercase()).unwrap_or_default());
        both(&collation, &collation);
    }
    if *hidden == 2 || *hidden == 3 {
        let kind = if *hidden == 3 { "stored" } else { "virtual" };
        let expr = def.iter().position(|t| t.is("AS")).map_or(&[][..], |i| group(def, i + 1));
        both(
            &format!(" generated {kind} ({})", sql_form::as_written(definition.src, expr)),
            &format!(" generated {kind} ({})", sql_form::canonical(expr)),
        );
    } else if *hidden == 1 {
        both(" hidden", " hidden");
    }
    Line::with_sql(shown, compared)
}

/// `strict`, `without rowid` and `autoincrement`. Table options follow the definition's closing
/// parenthesis (`pragma_table_list` would tell too, but it visits every table of the schema on
/// each call).
fn option_lines(tokens: &[Token]) -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(open) = tokens.iter().position(|t| t.kind == TokenKind::Punct && t.text == "(") {
        let inner = group(tokens, open).len();
        let options = tokens.get(open + inner + 2..).unwrap_or_default();
        if options.iter().any(|t| t.is("STRICT")) {
            lines.push(Line::plain("strict"));
        }
        if options.windows(2).any(|w| w[0].is("WITHOUT") && w[1].is("ROWID")) {
            lines.push(Line::plain("without rowid"));
        }
    }
    if tokens.iter().any(|t| t.is("AUTOINCREMENT")) {
        lines.push(Line::plain("autoincrement"));
    }
    lines
}

/// One `foreign key …` line per key, sorted; false when a key names no parent columns (its
/// line depends on the parent's primary key).
fn foreign_key_lines(conn: &Connection, table: &str, definition: &Definition<'_>) -> Result<(Vec<Line>, bool)> {
    let keys = crate::pragma::foreign_keys(conn, None, table)
        .map_err(Error::sqlite(format!("cannot read table {table} (foreign_key_list)")))?;
    let mut lines = Vec::new();
    let mut cacheable = true;
    for key in keys {
        let target = key.parent.to_lowercase();
        let to: Vec<String> = if key.to.iter().any(Option::is_none) {
            cacheable = false;
            primary_key(conn, &target)?
        } else {
            key.to.iter().flatten().map(|t| t.to_lowercase()).collect()
        };
        let columns = key.from.iter().map(|f| f.to_lowercase()).collect::<Vec<_>>().join(", ");
        let (on_update, on_delete, matching) = (&key.on_update, &key.on_delete, &key.matching);
        let mode = definition
            .deferrable
            .iter()
            .find(|(f, t, _)| *f == columns && *t == target)
            .map_or("not deferred", |(_, _, m)| m);
        lines.push(format!(
            "foreign key ({columns}) references {target}({}) on update {} on delete {} match {} {mode}",
            to.join(", "),
            on_update.to_uppercase(),
            on_delete.to_uppercase(),
            matching.to_uppercase(),
        ));
    }
    lines.sort();
    Ok((lines.into_iter().map(Line::plain).collect(), cacheable))
}

/// The primary key columns of `table` (lower-cased), or `rowid`.
fn primary_key(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let ctx = || Error::sqlite(format!("cannot read table {table} (table_info)"));
    let mut cols: Vec<(i64, String)> =
        crate::pragma::list(conn, None, "table_info", table, |r| Ok((r.get(5)?, r.get(1)?))).map_err(ctx())?;
    cols.retain(|(pk, _)| *pk > 0);
    cols.sort_by_key(|(pk, _)| *pk);
    let cols: Vec<String> = cols.into_iter().map(|(_, name)| name).collect();
    Ok(if cols.is_empty() { vec!["rowid".to_string()] } else { cols.into_iter().map(|c| c.to_lowercase()).collect() })
}
