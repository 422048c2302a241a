//! A schema as the SQL that creates it: the rows of `sqlite_schema` (Retort's history and
//! SQLite's own objects left out), with the snapshot model read from the same database.
//!
//! Guarantees: `build` creates a fresh in-memory database whose snapshot equals `schema()`
//! (tables, then indexes, views and triggers, each in creation order: SQLite accepts a view or a
//! trigger body naming an object created later, never an index or trigger on one); `to_sql` is
//! the canonical text of `schema`, which `load` reads back to the same snapshot.

use std::path::Path;

use rusqlite::Connection;

use retort_build::sql::{Token, TokenKind, split_statements, tokenize};

use crate::error::{Error, Result};
use crate::snapshot::sql_form::{as_written, definition_pieces, group};
use crate::snapshot::{Kind, Schema};

/// One object's row of `sqlite_schema`.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Its kind.
    pub kind: Kind,
    /// Its name, lower-cased.
    pub name: String,
    /// The table it belongs to (its own name for a table or view), lower-cased.
    pub table: String,
    /// The `CREATE` statement SQLite keeps for it.
    pub sql: String,
    /// Its position in creation order.
    rowid: i64,
}

/// A schema: the statements that create it and its snapshot.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// Tables, indexes, views, triggers; each kind in creation order.
    entries: Vec<Entry>,
    schema: Schema,
}

/// A problem in a desired-schema file, at its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaFileProblem {
    /// 1-based line in the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn kind_of(text: &str) -> Option<Kind> {
    Some(match text {
        "table" => Kind::Table,
        "index" => Kind::Index,
        "view" => Kind::View,
        "trigger" => Kind::Trigger,
        _ => return None,
    })
}

impl Catalog {
    /// The schema of the `main` database of `conn`. Shadow tables of virtual tables are left
    /// out (their virtual table creates them).
    pub fn read(conn: &Connection) -> Result<Catalog> {
        let ctx = || Error::sqlite("cannot read the schema (sqlite_schema)");
        let shadow: Vec<String> = conn
            .prepare("SELECT lower(name) FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .unwrap_or_default();
        let mut stmt = conn
            .prepare(
                "SELECT rowid, type, lower(name), lower(tbl_name), sql FROM main.sqlite_schema \
                 WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                 AND lower(tbl_name) <> lower(?1)",
            )
            .map_err(ctx())?;
        let rows: Vec<(i64, String, String, String, String)> = stmt
            .query_map([crate::history::TABLE], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .and_then(Iterator::collect)
            .map_err(ctx())?;
        let mut entries: Vec<Entry> = rows
            .into_iter()
            .filter(|(_, _, name, _, _)| !shadow.contains(name))
            .filter_map(|(rowid, kind, name, table, sql)| {
                Some(Entry { kind: kind_of(&kind)?, name, table, sql, rowid })
            })
            .collect();
        entries.sort_by_key(|e| (e.kind, e.rowid));
        Ok(Catalog { entries, schema: Schema::read(conn)? })
    }

    /// The schema `sql` (a desired-schema file) creates on an empty database. Only `CREATE
    /// TABLE`, `INDEX`, `VIEW` and `TRIGGER` statements are accepted; each problem is reported at
    /// its line, and the first one stops the load.
    pub fn load(sql: &str) -> std::result::Result<Catalog, SchemaFileProblem> {
        let conn = Connection::open_in_memory()
            .map_err(|e| SchemaFileProblem { line: 1, message: format!("cannot open an in-memory database: {e}") })?;
        let mut lines = retort_build::sql::LineIndex::new(sql);
        for statement in split_statements(sql) {
            let line = 1 + lines.line_of(statement.start);
            let t = &statement.tokens;
            let i = if t.get(1).is_some_and(|w| w.is("UNIQUE") || w.is("VIRTUAL")) { 2 } else { 1 };
            let kind = t.get(i).map_or("", |w| w.text.as_str());
            let creates = t.first().is_some_and(|w| w.is("CREATE"))
                && matches!(kind, "TABLE" | "INDEX" | "VIEW" | "TRIGGER")
                && !t.get(1).is_some_and(|w| w.is("TEMP") || w.is("TEMPORARY"));
            if !creates {
                let first: String = statement.text.lines().next().unwrap_or_default().chars().take(60).collect();
                return Err(SchemaFileProblem {
                    line,
                    message: format!(
                        "`{first}` is not a CREATE TABLE, INDEX, VIEW or TRIGGER statement; a desired schema holds only those (rows go in populate scripts)"
                    ),
                });
            }
            conn.execute_batch(&statement.text)
                .map_err(|e| SchemaFileProblem { line, message: crate::exec::message(&e) })?;
        }
        Catalog::read(&conn).map_err(|e| SchemaFileProblem { line: 1, message: e.to_string() })
    }

    /// `load` of the file at `path`, with the file's name in the problem.
    pub fn load_file(path: &Path, shown: &Path) -> std::result::Result<Catalog, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", shown.display()))?;
        Catalog::load(&text).map_err(|p| format!("{}:{}: {}", shown.display(), p.line, p.message))
    }

    /// This schema with `extra` entries too (from another catalog), read back from a database
    /// built from all of them; an error when they do not fit together.
    pub fn with(&self, extra: Vec<Entry>) -> Result<Catalog> {
        let mut entries = self.entries.clone();
        let base = entries.iter().map(|e| e.rowid).max().unwrap_or(0);
        entries.extend(extra.into_iter().map(|e| Entry { rowid: base + e.rowid, ..e }));
        entries.sort_by_key(|e| (e.kind, e.rowid));
        let conn = Catalog { entries, schema: Schema::default() }.build()?;
        Catalog::read(&conn)
    }

    /// The snapshot.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Every entry: tables, indexes, views, triggers, each in creation order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry of `kind` named `name` (lower-cased).
    pub fn get(&self, kind: Kind, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.kind == kind && e.name == name)
    }

    /// A fresh in-memory database holding this schema, with foreign keys off.
    pub fn build(&self) -> Result<Connection> {
        let conn = Connection::open_in_memory().map_err(Error::sqlite("cannot open an in-memory database"))?;
        conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(Error::sqlite("cannot turn foreign keys off"))?;
        for e in &self.entries {
            conn.execute_batch(&e.sql).map_err(Error::sqlite(format!("cannot recreate {} {}", e.kind, e.name)))?;
        }
        Ok(conn)
    }

    /// The schema as SQL, in a canonical order and layout: each table (by name) with its
    /// indexes and triggers, then each view with its triggers; one column or constraint per
    /// line; comments dropped; each statement's spelling otherwise as SQLite keeps it.
    pub fn to_sql(&self) -> String {
        let mut out = String::new();
        let sorted = |kind: Kind, table: Option<&str>| {
            let mut list: Vec<&Entry> =
                self.entries.iter().filter(|e| e.kind == kind && table.is_none_or(|t| e.table == t)).collect();
            list.sort_by(|a, b| a.name.cmp(&b.name));
            list
        };
        for owner in sorted(Kind::Table, None).into_iter().chain(sorted(Kind::View, None)) {
            out.push_str(&format_statement(owner.kind, &owner.sql));
            for e in
                sorted(Kind::Index, Some(&owner.table)).into_iter().chain(sorted(Kind::Trigger, Some(&owner.table)))
            {
                out.push_str(&format_statement(e.kind, &e.sql));
            }
            out.push('\n');
        }
        if out.is_empty() {
            out.push_str("-- (empty schema)\n");
        }
        out
    }
}

/// One statement laid out: a table's definition one piece per line, a trigger's body one
/// statement per line, anything else on one line.
pub(super) fn format_statement(kind: Kind, src: &str) -> String {
    let tokens = tokenize(src);
    let open = tokens.iter().position(|t| t.kind == TokenKind::Punct && t.text == "(");
    match (kind, open) {
        (Kind::Table, Some(open)) => {
            let pieces = definition_pieces(&tokens);
            // The closing parenthesis: after the group's tokens.
            let close = open + 1 + group(&tokens, open).len();
            let mut out = format!("{} (\n", as_written(src, &tokens[..open]));
            let n = pieces.len();
            for (i, piece) in pieces.into_iter().enumerate() {
                out.push_str("    ");
                out.push_str(&as_written(src, piece));
                out.push_str(if i + 1 < n { ",\n" } else { "\n" });
            }
            out.push(')');
            let options = &tokens[(close + 1).min(tokens.len())..];
            if !options.is_empty() {
                out.push(' ');
                out.push_str(&as_written(src, options));
            }
            out.push_str(";\n");
            out
        }
        (Kind::Trigger, _) => {
            let Some(begin) = tokens.iter().position(|t| t.is("BEGIN")) else {
                return format!("{};\n", as_written(src, &tokens));
            };
            let body_end = tokens.len().saturating_sub(1).max(begin + 1);
            let mut out = format!("{} BEGIN\n", as_written(src, &tokens[..begin]));
            let body = &tokens[begin + 1..body_end];
            for statement in body.split(|t: &Token| t.kind == TokenKind::Punct && t.text == ";") {
                if !statement.is_empty() {
                    out.push_str(&format!("    {};\n", as_written(src, statement)));
                }
            }
            out.push_str("END;\n");
            out
        }
        _ => format!("{};\n", as_written(src, &tokens)),
    }
}
