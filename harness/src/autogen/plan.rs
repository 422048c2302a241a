//! One direction of a generated migration: the statements that turn `from` into `to`, planned
//! from the two snapshots and proven by running them (`Planner::proven`).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use retort_build::sql::{Token, TokenKind, quote_ident, split_statements, tokenize};

use super::catalog::{Catalog, Entry, format_statement};
use super::{Failure, Rename, mentions};
use crate::error::Error;
use crate::snapshot::sql_form::{as_written, definition_pieces, lower_ident};
use crate::snapshot::{Change, Kind, Schema, render_changes};

/// A column as `pragma_table_xinfo` gives it.
#[derive(Clone, Debug)]
struct Column {
    name: String,
    /// 0 normal, 1 hidden (virtual tables), 2 virtual generated, 3 stored generated.
    hidden: i64,
    not_null: bool,
    /// The default, as SQLite keeps its text.
    default: Option<String>,
    /// The rowid's alias (`INTEGER PRIMARY KEY`): filled in when not given.
    rowid_alias: bool,
}

fn columns(conn: &Connection, table: &str) -> crate::Result<Vec<Column>> {
    let ctx = || Error::sqlite(format!("cannot read table {table} (table_xinfo)"));
    let mut stmt = conn
        .prepare("SELECT name, hidden, \"notnull\", dflt_value, pk, lower(type) FROM pragma_table_xinfo(?1)")
        .map_err(ctx())?;
    let rows: Vec<(String, i64, bool, Option<String>, i64, String)> = stmt
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .and_then(Iterator::collect)
        .map_err(ctx())?;
    let keys = rows.iter().filter(|r| r.4 > 0).count();
    Ok(rows
        .into_iter()
        .map(|(name, hidden, not_null, default, pk, decl)| Column {
            name: name.to_lowercase(),
            hidden,
            not_null,
            default,
            rowid_alias: pk == 1 && keys == 1 && decl == "integer",
        })
        .collect())
}

/// What happens to a table present in both schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TableChange {
    /// Equal definitions (maybe renamed).
    Same,
    /// `ALTER TABLE` statements: (statement, what it does).
    Alter(Vec<(String, String)>),
    /// SQLite's table-rebuild procedure.
    Rebuild,
}

/// A table of `to` and where it comes from.
struct Pair {
    from: String,
    to: String,
    change: TableChange,
}

/// One statement of a script, and the table whose `ALTER` it is (a failure there means: rebuild
/// that table instead).
struct Statement {
    sql: String,
    alter_of: Option<String>,
}

/// A planned script.
pub(super) struct Script {
    /// (comment line, statements) blocks.
    blocks: Vec<(String, Vec<Statement>)>,
    pub changes: Vec<(String, String)>,
    pub rebuilt: Vec<String>,
    pub dropped: Vec<(String, Option<String>)>,
    pub maybe_renames: Vec<String>,
}

impl Script {
    /// The script as SQL: each block's comment, then its statements.
    pub fn sql(&self) -> String {
        let mut out = String::new();
        for (comment, statements) in &self.blocks {
            if !out.is_empty() {
                out.push('\n');
            }
            for line in comment.lines() {
                out.push_str("-- ");
                out.push_str(line);
                out.push('\n');
            }
            for s in statements {
                out.push_str(s.sql.trim_end());
                out.push('\n');
            }
        }
        out
    }
}

/// Plans `from` → `to`.
pub(super) struct Planner<'a> {
    from: &'a Catalog,
    to: &'a Catalog,
    /// Each table's columns, read once from a database built from `from` (`to`).
    from_columns: BTreeMap<String, Vec<Column>>,
    to_columns: BTreeMap<String, Vec<Column>>,
    /// Table renames, old → new.
    table_renames: BTreeMap<String, String>,
    /// Column renames per table of `to`: (old, new).
    column_renames: BTreeMap<String, Vec<(String, String)>>,
}

impl<'a> Planner<'a> {
    pub fn new(from: &'a Catalog, to: &'a Catalog, renames: &[Rename]) -> Result<Planner<'a>, Failure> {
        let all = |c: &Catalog| -> crate::Result<BTreeMap<String, Vec<Column>>> {
            let db = c.build()?;
            let tables = c.entries().iter().filter(|e| e.kind == Kind::Table);
            tables.map(|e| Ok((e.name.clone(), columns(&db, &e.name)?))).collect()
        };
        let (from_columns, to_columns) = (all(from)?, all(to)?);
        let has = |c: &Catalog, name: &str| c.get(Kind::Table, name).is_some();
        let mut table_renames = BTreeMap::new();
        for r in renames.iter().filter(|r| r.table.is_none()) {
            if !has(from, &r.from) || has(to, &r.from) || !has(to, &r.to) || has(from, &r.to) {
                return Err(Failure::Rename(format!(
                    "`--rename {r}`: a table rename needs `{}` in the first schema only and `{}` in the second only",
                    r.from, r.to
                )));
            }
            table_renames.insert(r.from.clone(), r.to.clone());
        }
        let mut column_renames: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for r in renames {
            let Some(table) = &r.table else { continue };
            // The table as `to` names it.
            let to_table = table_renames.get(table).cloned().unwrap_or_else(|| table.clone());
            let from_table =
                table_renames.iter().find(|(_, t)| **t == to_table).map_or(to_table.clone(), |(f, _)| f.clone());
            let from_cols = from_columns.get(&from_table).map_or(&[][..], Vec::as_slice);
            let to_cols = to_columns.get(&to_table).map_or(&[][..], Vec::as_slice);
            let named = |cols: &[Column], n: &str| cols.iter().any(|c| c.name == n);
            if !named(from_cols, &r.from)
                || named(from_cols, &r.to)
                || !named(to_cols, &r.to)
                || named(to_cols, &r.from)
            {
                return Err(Failure::Rename(format!(
                    "`--rename {r}`: a column rename needs `{table}.{}` in the first schema only and `{table}.{}` in the second only",
                    r.from, r.to
                )));
            }
            column_renames.entry(to_table).or_default().push((r.from.clone(), r.to.clone()));
        }
        Ok(Planner { from, to, from_columns, to_columns, table_renames, column_renames })
    }

    /// The columns of table `name` of `from`.
    fn old_columns(&self, name: &str) -> &[Column] {
        self.from_columns.get(name).map_or(&[], Vec::as_slice)
    }

    /// The columns of table `name` of `to`.
    fn new_columns(&self, name: &str) -> &[Column] {
        self.to_columns.get(name).map_or(&[], Vec::as_slice)
    }

    /// The script, run on a database built from `from` and compared with `to`; a table whose
    /// `ALTER` fails or gives another table is rebuilt instead, and the whole is proven again.
    pub fn proven(&self, label: &str) -> Result<Script, Failure> {
        let mut rebuild: BTreeSet<String> = BTreeSet::new();
        loop {
            let script = self.script(&rebuild, label)?;
            let db = self.from.build()?;
            let mut failed_alter = None;
            for s in script.blocks.iter().flat_map(|(_, s)| s) {
                if let Err(e) = db.execute_batch(&s.sql) {
                    match &s.alter_of {
                        Some(table) if !rebuild.contains(table) => {
                            failed_alter = Some(table.clone());
                            break;
                        }
                        _ => {
                            return Err(Failure::NotExact(vec![format!(
                                "the {label} fails at `{}`: {}",
                                s.sql.trim_end(),
                                crate::exec::message(&e)
                            )]));
                        }
                    }
                }
            }
            if let Some(table) = failed_alter {
                rebuild.insert(table);
                continue;
            }
            let diff = Schema::read(&db)?.diff(self.to.schema());
            if diff.is_empty() {
                return Ok(script);
            }
            let altered: Vec<String> = diff
                .iter()
                .filter_map(|c| match c {
                    Change::Changed(a, _) if a.kind == Kind::Table => Some(a.name.clone()),
                    // A constraint's own index: its table's definition.
                    Change::Added(o) | Change::Removed(o) | Change::Changed(o, _) if o.name.starts_with("(auto) ") => {
                        Some(o.table().to_string())
                    }
                    _ => None,
                })
                .filter(|t| !rebuild.contains(t))
                .filter(|t| self.to.get(Kind::Table, t).is_some() && self.source_of(t).is_some())
                .collect();
            if altered.is_empty() {
                return Err(Failure::NotExact(vec![format!(
                    "the {label} does not give the schema wanted:\n{}",
                    render_changes(&diff)
                )]));
            }
            rebuild.extend(altered);
        }
    }

    /// The table of `from` that table `to_name` of `to` comes from.
    fn source_of(&self, to_name: &str) -> Option<String> {
        if let Some((from, _)) = self.table_renames.iter().find(|(_, t)| *t == to_name) {
            return Some(from.clone());
        }
        (self.from.get(Kind::Table, to_name).is_some() && !self.table_renames.contains_key(to_name))
            .then(|| to_name.to_string())
    }

    /// The statements, with `rebuild` forced for those tables.
    fn script(&self, rebuild: &BTreeSet<String>, label: &str) -> Result<Script, Failure> {
        let (from, to) = (self.from, self.to);
        let mut script = Script {
            blocks: Vec::new(),
            changes: Vec::new(),
            rebuilt: Vec::new(),
            dropped: Vec::new(),
            maybe_renames: Vec::new(),
        };
        let mut not_exact = Vec::new();

        // Tables: pairs, added, removed.
        let mut pairs = Vec::new();
        let mut added = Vec::new();
        for e in to.entries().iter().filter(|e| e.kind == Kind::Table) {
            match self.source_of(&e.name) {
                Some(source) => {
                    let change = self.table_change(&source, &e.name, rebuild)?;
                    pairs.push(Pair { from: source, to: e.name.clone(), change });
                }
                None => added.push(e),
            }
        }
        let sources: BTreeSet<&str> = pairs.iter().map(|p| p.from.as_str()).collect();
        let removed: Vec<&Entry> =
            from.entries().iter().filter(|e| e.kind == Kind::Table && !sources.contains(e.name.as_str())).collect();
        for p in &pairs {
            if self.is_virtual(&p.from, &p.to) && p.change != TableChange::Same {
                not_exact.push(format!(
                    "virtual table `{}` changes; SQLite cannot alter or rebuild one with its rows: write this step by hand",
                    p.to
                ));
            }
        }

        // Names whose objects change: views and triggers naming them are dropped first and
        // recreated last (SQLite's rename checks every view and trigger of the schema).
        let mut affected: BTreeSet<String> = removed.iter().map(|e| e.name.clone()).collect();
        for p in pairs.iter().filter(|p| p.change != TableChange::Same || p.from != p.to) {
            affected.insert(p.from.clone());
            affected.insert(p.to.clone());
        }
        let mut redo: BTreeSet<(Kind, String)> = BTreeSet::new();
        loop {
            let before = redo.len();
            for e in from.entries().iter().filter(|e| matches!(e.kind, Kind::View | Kind::Trigger)) {
                let key = (e.kind, e.name.clone());
                if redo.contains(&key) {
                    continue;
                }
                let differs = from.schema().get(e.kind, &e.name) != to.schema().get(e.kind, &e.name);
                if differs || !mentions(&e.sql).is_disjoint(&affected) {
                    if e.kind == Kind::View {
                        affected.insert(e.name.clone());
                    }
                    redo.insert(key);
                }
            }
            if redo.len() == before {
                break;
            }
        }
        let rebuilt_or_gone: BTreeSet<&str> = pairs
            .iter()
            .filter(|p| p.change == TableChange::Rebuild)
            .map(|p| p.from.as_str())
            .chain(removed.iter().map(|e| e.name.as_str()))
            .collect();
        let dropped_indexes: Vec<&Entry> = from
            .entries()
            .iter()
            .filter(|e| e.kind == Kind::Index && !rebuilt_or_gone.contains(e.table.as_str()))
            .filter(|e| from.schema().get(Kind::Index, &e.name) != to.schema().get(Kind::Index, &e.name))
            .collect();

        // 1. Drop what is recreated or gone: triggers, then views (last created first), indexes.
        let mut first = Vec::new();
        for e in from.entries().iter().rev().filter(|e| redo.contains(&(e.kind, e.name.clone()))) {
            let verb = if e.kind == Kind::View { "VIEW" } else { "TRIGGER" };
            first.push(Statement { sql: format!("DROP {verb} {};", quote_ident(&e.name)), alter_of: None });
            if to.get(e.kind, &e.name).is_none() {
                script.changes.push((e.table.clone(), format!("drop {} {}", e.kind, e.name)));
            }
        }
        for e in &dropped_indexes {
            first.push(Statement { sql: format!("DROP INDEX {};", quote_ident(&e.name)), alter_of: None });
            if to.get(Kind::Index, &e.name).is_none() {
                script.changes.push((e.table.clone(), format!("drop index {}", e.name)));
            }
        }
        if !first.is_empty() {
            script.blocks.push((
                "Views, triggers and indexes that change, or that name a changed table, go first (the ones\nkept are recreated at the end).".to_string(),
                first,
            ));
        }

        // 2. Tables renamed, created, altered, rebuilt, dropped.
        for p in pairs.iter().filter(|p| p.from != p.to) {
            let sql = format!("ALTER TABLE {} RENAME TO {};", quote_ident(&p.from), quote_ident(&p.to));
            script.changes.push((p.to.clone(), format!("renamed from {}", p.from)));
            script.blocks.push((
                format!("Rename table {} to {} (--rename {}={}).", p.from, p.to, p.from, p.to),
                vec![Statement { sql, alter_of: None }],
            ));
        }
        for e in &added {
            script.changes.push((e.name.clone(), "create table".to_string()));
            script.blocks.push((
                format!("Create table {}.", e.name),
                vec![Statement { sql: format_statement(e.kind, &e.sql), alter_of: None }],
            ));
        }
        for p in &pairs {
            match &p.change {
                TableChange::Same => {}
                TableChange::Alter(statements) => {
                    let mut list = Vec::new();
                    for (sql, what) in statements {
                        script.changes.push((p.to.clone(), what.clone()));
                        if let Some(column) = what.strip_prefix("drop column ") {
                            script.dropped.push((p.to.clone(), Some(column.to_string())));
                        }
                        list.push(Statement { sql: sql.clone(), alter_of: Some(p.to.clone()) });
                    }
                    script.blocks.push((format!("Alter table {}.", p.to), list));
                }
                TableChange::Rebuild => self.rebuild(p, &mut script, &mut not_exact, label)?,
            }
            if let Some(hint) = self.maybe_rename(p) {
                script.maybe_renames.push(hint);
            }
        }
        for e in &removed {
            script.changes.push((e.name.clone(), "drop table".to_string()));
            script.dropped.push((e.name.clone(), None));
            script.blocks.push((
                format!("Drop table {}.", e.name),
                vec![Statement { sql: format!("DROP TABLE {};", quote_ident(&e.name)), alter_of: None }],
            ));
        }
        if !added.is_empty() && !removed.is_empty() {
            script.maybe_renames.push(format!(
                "table(s) {} dropped and {} created: if one is a rename, pass `--rename old=new` to keep its rows",
                removed.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "),
                added.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }

        // 3. Indexes, views and triggers created or recreated, in `to`'s order.
        let rebuilt_to: BTreeSet<&str> =
            pairs.iter().filter(|p| p.change == TableChange::Rebuild).map(|p| p.to.as_str()).collect();
        let mut last = Vec::new();
        for e in to.entries().iter().filter(|e| e.kind != Kind::Table) {
            let recreate = match e.kind {
                Kind::Index => {
                    from.get(Kind::Index, &e.name).is_none()
                        || rebuilt_to.contains(e.table.as_str())
                        || dropped_indexes.iter().any(|d| d.name == e.name)
                }
                _ => from.get(e.kind, &e.name).is_none() || redo.contains(&(e.kind, e.name.clone())),
            };
            if recreate {
                last.push(Statement { sql: format_statement(e.kind, &e.sql), alter_of: None });
                let change = match from.get(e.kind, &e.name) {
                    None => format!("create {} {}", e.kind, e.name),
                    Some(_) if from.schema().get(e.kind, &e.name) != to.schema().get(e.kind, &e.name) => {
                        format!("change {} {}", e.kind, e.name)
                    }
                    Some(_) => format!("recreate {} {}", e.kind, e.name),
                };
                let owner = if e.kind == Kind::View { e.name.clone() } else { e.table.clone() };
                script.changes.push((owner, change));
            }
        }
        if !last.is_empty() {
            script.blocks.push(("Indexes, views and triggers, as the schema wants them.".to_string(), last));
        }
        if !not_exact.is_empty() {
            return Err(Failure::NotExact(not_exact));
        }
        Ok(script)
    }

    fn is_virtual(&self, from: &str, to: &str) -> bool {
        let virtual_ = |c: &Catalog, n: &str| {
            c.get(Kind::Table, n).is_some_and(|e| tokenize(&e.sql).get(1).is_some_and(|t| t.is("VIRTUAL")))
        };
        virtual_(self.from, from) || virtual_(self.to, to)
    }

    /// How table `from` of `from` becomes table `to` of `to`.
    fn table_change(&self, from: &str, to: &str, rebuild: &BTreeSet<String>) -> Result<TableChange, Failure> {
        let renames = self.column_renames.get(to).cloned().unwrap_or_default();
        let (a, b) = (self.from.schema().get(Kind::Table, from), self.to.schema().get(Kind::Table, to));
        // The indexes SQLite makes for a table's UNIQUE and PRIMARY KEY constraints belong to
        // its definition (compared without their names and `on` line, which hold the table's).
        let constraints = |schema: &'a Schema, table: &str| -> Vec<&'a [crate::snapshot::Line]> {
            schema
                .objects()
                .filter(|o| o.kind == Kind::Index && o.name.starts_with("(auto) ") && o.table() == table)
                .map(|o| o.lines.get(1..).unwrap_or_default())
                .collect()
        };
        let same_constraints = constraints(self.from.schema(), from) == constraints(self.to.schema(), to);
        if renames.is_empty() && a.map(|o| &o.lines) == b.map(|o| &o.lines) && same_constraints {
            return Ok(TableChange::Same);
        }
        if rebuild.contains(to) || self.is_virtual(from, to) {
            return Ok(TableChange::Rebuild);
        }
        let old: Vec<String> = self
            .old_columns(from)
            .iter()
            .map(|c| renames.iter().find(|(o, _)| *o == c.name).map_or(c.name.clone(), |(_, n)| n.clone()))
            .collect();
        let new: Vec<String> = self.new_columns(to).iter().map(|c| c.name.clone()).collect();
        // SQLite adds a NOT NULL column without a default to an empty table only: with rows it
        // needs the rebuild (which then says what is missing).
        if self
            .new_columns(to)
            .iter()
            .any(|c| !old.contains(&c.name) && c.not_null && c.default.is_none() && !c.rowid_alias)
        {
            return Ok(TableChange::Rebuild);
        }
        let drops: Vec<&String> = old.iter().filter(|c| !new.contains(c)).collect();
        let adds: Vec<&String> = new.iter().filter(|c| !old.contains(c)).collect();
        let kept_old: Vec<&String> = old.iter().filter(|c| new.contains(c)).collect();
        let kept_new = &new[..new.len() - adds.len()];
        let in_place =
            kept_old.iter().copied().eq(kept_new.iter()) && new[kept_new.len()..].iter().eq(adds.iter().copied());
        if !in_place || !same_constraints || (drops.is_empty() && adds.is_empty() && renames.is_empty()) {
            return Ok(TableChange::Rebuild);
        }
        let table = quote_ident(to);
        let mut statements = Vec::new();
        for (o, n) in &renames {
            statements.push((
                format!("ALTER TABLE {table} RENAME COLUMN {} TO {};", quote_ident(o), quote_ident(n)),
                format!("rename column {o} to {n}"),
            ));
        }
        for c in drops {
            statements
                .push((format!("ALTER TABLE {table} DROP COLUMN {};", quote_ident(c)), format!("drop column {c}")));
        }
        let definition = self.to.get(Kind::Table, to).map_or("", |e| e.sql.as_str());
        for c in adds {
            let Some(piece) = column_definition(definition, c) else { return Ok(TableChange::Rebuild) };
            statements.push((format!("ALTER TABLE {table} ADD COLUMN {piece};"), format!("add column {c}")));
        }
        Ok(TableChange::Alter(statements))
    }

    /// SQLite's table-rebuild procedure for `p`: the new definition under a scratch name, the
    /// rows copied (rowids kept), the old table dropped, the new one renamed.
    fn rebuild(&self, p: &Pair, script: &mut Script, not_exact: &mut Vec<String>, label: &str) -> Result<(), Failure> {
        let renames = self.column_renames.get(&p.to).cloned().unwrap_or_default();
        let (old, new) = (self.old_columns(&p.from), self.new_columns(&p.to));
        let source = |n: &str| renames.iter().find(|(_, to)| to == n).map_or(n.to_string(), |(o, _)| o.clone());
        let (mut into, mut select) = (Vec::new(), Vec::new());
        let mut copied: BTreeSet<String> = BTreeSet::new();
        for c in new.iter().filter(|c| c.hidden == 0) {
            let from_name = source(&c.name);
            if let Some(o) = old.iter().find(|o| o.name == from_name && o.hidden != 1) {
                into.push(quote_ident(&c.name));
                copied.insert(o.name.clone());
                // A column made NOT NULL with a default takes the default where it was NULL.
                select.push(match &c.default {
                    Some(d) if c.not_null && !o.not_null => format!("coalesce({}, {d})", quote_ident(&from_name)),
                    _ => quote_ident(&from_name),
                });
            } else if c.not_null && c.default.is_none() && !c.rowid_alias {
                not_exact.push(format!(
                    "the {label} gives `{}.{}` NOT NULL and no default: the rows `{}` holds would have no value for it; give it a DEFAULT, or write this step by hand",
                    p.to, c.name, p.from
                ));
            }
        }
        for o in old.iter().filter(|o| o.hidden == 0 && !copied.contains(&o.name)) {
            script.dropped.push((p.to.clone(), Some(o.name.clone())));
        }
        // Rowids are kept where both tables have a plain one.
        let rowid = |c: &Catalog, t: &str, cols: &[Column]| -> bool {
            let without = c
                .get(Kind::Table, t)
                .is_some_and(|e| tokenize(&e.sql).windows(2).any(|w| w[0].is("WITHOUT") && w[1].is("ROWID")));
            !without && !cols.iter().any(|c| c.rowid_alias || c.name == "rowid")
        };
        if rowid(self.from, &p.from, old) && rowid(self.to, &p.to, new) {
            into.insert(0, "rowid".to_string());
            select.insert(0, "rowid".to_string());
        }
        let taken: BTreeSet<&str> =
            self.from.entries().iter().chain(self.to.entries()).map(|e| e.name.as_str()).collect();
        let scratch = (1..)
            .map(|i| if i == 1 { format!("retort_new_{}", p.to) } else { format!("retort_new_{}_{i}", p.to) })
            .find(|n| !taken.contains(n.as_str()))
            .expect("an unused name exists");
        let Some(definition) = self.to.get(Kind::Table, &p.to) else { return Ok(()) };
        let create = format_statement(Kind::Table, &renamed_definition(&definition.sql, &scratch));
        let mut statements = vec![Statement { sql: create, alter_of: None }];
        if !into.is_empty() {
            statements.push(Statement {
                sql: format!(
                    "INSERT INTO {} ({}) SELECT {} FROM {};",
                    quote_ident(&scratch),
                    into.join(", "),
                    select.join(", "),
                    quote_ident(&p.from)
                ),
                alter_of: None,
            });
        }
        statements.push(Statement { sql: format!("DROP TABLE {};", quote_ident(&p.from)), alter_of: None });
        statements.push(Statement {
            sql: format!("ALTER TABLE {} RENAME TO {};", quote_ident(&scratch), quote_ident(&p.to)),
            alter_of: None,
        });
        script.changes.push((p.to.clone(), "rebuilt to its new definition (rows copied)".to_string()));
        script.rebuilt.push(p.to.clone());
        script.blocks.push((
            format!(
                "Rebuild table {} (SQLite's table-rebuild procedure: new definition, rows copied, old table\ndropped, new one renamed). Retort checks foreign keys before the step commits.",
                p.to
            ),
            statements,
        ));
        Ok(())
    }

    /// A hint when a pair drops a column and adds another that no rename hint explains.
    fn maybe_rename(&self, p: &Pair) -> Option<String> {
        if p.change == TableChange::Same {
            return None;
        }
        let renames = self.column_renames.get(&p.to).cloned().unwrap_or_default();
        let old: Vec<&String> = self
            .old_columns(&p.from)
            .iter()
            .map(|c| &c.name)
            .filter(|n| !renames.iter().any(|(o, _)| o == *n))
            .collect();
        let new: Vec<&String> =
            self.new_columns(&p.to).iter().map(|c| &c.name).filter(|n| !renames.iter().any(|(_, t)| t == *n)).collect();
        let gone: Vec<&String> = old.iter().copied().filter(|c| !new.contains(c)).collect();
        let came: Vec<&String> = new.iter().copied().filter(|c| !old.contains(c)).collect();
        match (gone.first(), came.first()) {
            (Some(g), Some(c)) => Some(format!(
                "`{}.{g}` is dropped and `{}.{c}` added: if that is a rename, pass `--rename {}.{g}={c}` to keep its values",
                p.to, p.to, p.to
            )),
            _ => None,
        }
    }
}

/// The definition of column `name` in a `CREATE TABLE` statement, as written.
fn column_definition(create: &str, name: &str) -> Option<String> {
    let tokens = tokenize(create);
    definition_pieces(&tokens)
        .into_iter()
        .find(|piece| piece.first().is_some_and(|t| lower_ident(t) == name))
        .map(|piece| as_written(create, piece))
}

/// `create` (a `CREATE TABLE`) naming the table `name` instead.
fn renamed_definition(create: &str, name: &str) -> String {
    let tokens = tokenize(create);
    let Some(table) = tokens.iter().position(|t| t.is("TABLE")) else { return create.to_string() };
    let mut i = table + 1;
    if tokens.get(i).is_some_and(|t| t.is("IF")) {
        i += 3;
    }
    let Some(first) = tokens.get(i) else { return create.to_string() };
    let last = if tokens.get(i + 1).is_some_and(|t: &Token| t.kind == TokenKind::Punct && t.text == ".") {
        tokens.get(i + 2).unwrap_or(first)
    } else {
        first
    };
    format!("{}{}{}", &create[..first.start], quote_ident(name), &create[last.end..])
}

/// Runs `sql` statement by statement on `conn` in one transaction (rolled back on failure).
pub(super) fn run(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.execute_batch("BEGIN").map_err(|e| e.to_string())?;
    match run_in_transaction(conn, sql) {
        Ok(()) => conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Runs `sql` statement by statement; the error names the statement.
pub(super) fn run_in_transaction(conn: &Connection, sql: &str) -> Result<(), String> {
    for s in split_statements(sql) {
        conn.execute_batch(&s.text).map_err(|e| {
            let first: String = s.text.lines().next().unwrap_or_default().chars().take(80).collect();
            format!("`{first}`: {}", crate::exec::message(&e))
        })?;
    }
    Ok(())
}
