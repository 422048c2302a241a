//! Migrations generated from two schemas (`revision --autogenerate`, `verify --repair`): the
//! SQL that turns one schema into another, and the SQL that turns it back.
//!
//! Guarantees: nothing is returned that was not proven. Both directions are planned with the
//! snapshot model (`Schema`), run on a fresh in-memory database built from the first schema's
//! SQL, and the result compared with the second schema: up from `from` gives `to`, and down
//! from there gives `from` again, snapshot for snapshot. A table change is written as `ALTER
//! TABLE` (rename, add, drop, rename column) only where running it gives exactly the wanted
//! table; otherwise through SQLite's table-rebuild procedure (a new table, the rows copied, the
//! old one dropped, the new one renamed, its indexes and triggers and every view or trigger
//! naming it recreated). What no plan gives exactly is reported (`Failure::NotExact`), never
//! written. Renames are never guessed: only `Rename` hints make one.

mod catalog;
mod plan;

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use retort_build::Migration;
use retort_build::migration::{Lossy, LossyItem, TableAffected, Waiver, WaiverKind};
use retort_build::template::PLACEHOLDER_REASON;

pub use catalog::{Catalog, Entry, SchemaFileProblem};

use crate::error::Error;
use crate::snapshot::{Schema, render_changes};

/// A rename hint: a table (`old=new`) or a column of a table (`table.old=new`, the table named
/// as either schema names it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    /// The table of a column rename (lower-cased); `None` for a table rename.
    pub table: Option<String>,
    /// The old name (lower-cased).
    pub from: String,
    /// The new name (lower-cased).
    pub to: String,
}

impl Rename {
    /// Parses `old=new` or `table.old=new`.
    pub fn parse(text: &str) -> std::result::Result<Rename, String> {
        let bad = || format!("`--rename {text}` is not `old_table=new_table` or `table.old_column=new_column`");
        let (left, to) = text.split_once('=').ok_or_else(bad)?;
        let (table, from) = match left.split_once('.') {
            Some((table, column)) => (Some(table.trim().to_lowercase()), column),
            None => (None, left),
        };
        let (from, to) = (from.trim().to_lowercase(), to.trim().to_lowercase());
        if from.is_empty() || to.is_empty() || to.contains('.') || table.as_ref().is_some_and(String::is_empty) {
            return Err(bad());
        }
        Ok(Rename { table, from, to })
    }

    /// The same rename, undone.
    fn reversed(&self) -> Rename {
        Rename { table: self.table.clone(), from: self.to.clone(), to: self.from.clone() }
    }
}

impl std::fmt::Display for Rename {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.table {
            Some(t) => write!(f, "{t}.{}={}", self.from, self.to),
            None => write!(f, "{}={}", self.from, self.to),
        }
    }
}

/// A proven pair of scripts.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The SQL from `from` to `to`.
    pub up: String,
    /// The SQL from `to` back to `from`.
    pub down: String,
    /// What `up` does, per table or view (its name in `to`, else in `from`): e.g. `add column
    /// nickname`, `rebuilt: …`; in the order the up does it.
    pub changes: Vec<(String, String)>,
    /// Tables `up` rebuilds (their rows are copied: a data change).
    pub rebuilt: Vec<String>,
    /// What `up` loses: a table dropped (column `None`), or a column dropped.
    pub dropped: Vec<(String, Option<String>)>,
    /// Drops next to adds that may be renames, with the hint that would make them one.
    pub maybe_renames: Vec<String>,
}

impl Generated {
    /// True when the two schemas are equal: nothing to write.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Fills `m`'s header for this up: `Tables affected` from its footprint as the lint reads
    /// it, each with what was done to it; `Allow: data-change` for a rebuild's copy; `Allow:
    /// destructive` with a rebuild's reason, or, when rows are lost, with `PLACEHOLDER_REASON`
    /// (which the lint refuses until the author writes one), and `Lossy:` naming them.
    pub fn fill_header(&self, m: &mut Migration) {
        let mut what: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (table, change) in &self.changes {
            what.entry(table.as_str()).or_default().push(change.as_str());
        }
        let footprint = retort_build::lint::footprint(&retort_build::sql::split_statements(&self.up));
        for table in footprint.listed() {
            let change = what.get(table.as_str()).map_or("recreated".to_string(), |c| c.join("; "));
            m.tables_affected.push(TableAffected { table: table.clone(), change, line: 0 });
        }
        if !self.rebuilt.is_empty() {
            m.waivers.push(Waiver {
                kind: WaiverKind::DataChange,
                reason: format!(
                    "table rebuild of {}: the rows are copied into the new definition",
                    self.rebuilt.join(", ")
                ),
            });
        }
        if !self.dropped.is_empty() {
            m.waivers.push(Waiver { kind: WaiverKind::Destructive, reason: PLACEHOLDER_REASON.to_string() });
            let items =
                self.dropped.iter().map(|(table, column)| LossyItem { table: table.clone(), column: column.clone() });
            m.lossy.push(Lossy { items: items.collect(), reason: PLACEHOLDER_REASON.to_string() });
        } else if !self.rebuilt.is_empty() {
            m.waivers.push(Waiver {
                kind: WaiverKind::Destructive,
                reason: "table rebuild: the old table is dropped only after its rows are copied".to_string(),
            });
        }
    }
}

/// Why nothing was generated.
#[derive(Debug)]
pub enum Failure {
    /// SQLite failed outside the generated SQL.
    Sqlite(Box<Error>),
    /// A rename hint names what the schemas do not have.
    Rename(String),
    /// No plan gives the wanted schema exactly: each reason names the object.
    NotExact(Vec<String>),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Sqlite(e) => e.fmt(f),
            Failure::Rename(m) => f.write_str(m),
            Failure::NotExact(reasons) => {
                f.write_str("cannot generate this change exactly:")?;
                reasons.iter().try_for_each(|r| write!(f, "\n  - {}", r.trim_end().replace('\n', "\n    ")))
            }
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Sqlite(Box::new(e))
    }
}

/// The up and down between `from` and `to`, proven (see the module's guarantees).
pub fn generate(from: &Catalog, to: &Catalog, renames: &[Rename]) -> std::result::Result<Generated, Failure> {
    let back: Vec<Rename> = renames.iter().map(Rename::reversed).collect();
    let up = plan::Planner::new(from, to, renames)?.proven("up")?;
    let down = plan::Planner::new(to, from, &back)?.proven("down")?;
    // Together: up from `from`, then down from what it left.
    let db = from.build()?;
    let mut reasons = Vec::new();
    for (script, want, label) in [(&up, to.schema(), "up"), (&down, from.schema(), "down")] {
        if let Err(e) = plan::run(&db, &script.sql()) {
            reasons.push(format!("the {label} fails after the {}: {e}", if label == "up" { "start" } else { "up" }));
            break;
        }
        let got = Schema::read(&db)?;
        let diff = got.diff(want);
        if !diff.is_empty() {
            reasons.push(format!("the {label} does not give the schema wanted:\n{}", render_changes(&diff)));
            break;
        }
    }
    if !reasons.is_empty() {
        return Err(Failure::NotExact(reasons));
    }
    Ok(Generated {
        up: up.sql(),
        down: down.sql(),
        changes: up.changes,
        rebuilt: up.rebuilt,
        dropped: up.dropped,
        maybe_renames: up.maybe_renames,
    })
}

/// Runs `sql` on `conn` in one transaction with foreign keys off (as Retort runs a step), then
/// checks foreign keys; on any failure everything is rolled back. For a repair of a live
/// database, which the caller has backed up. The error says what failed.
pub fn apply(conn: &Connection, sql: &str) -> std::result::Result<(), String> {
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE").map_err(|e| format!("cannot begin: {e}"))?;
    let result = plan::run_in_transaction(conn, sql).and_then(|()| {
        match crate::foreign_keys::violations(conn).map_err(|e| e.to_string())?.first() {
            None => Ok(()),
            Some(v) => Err(format!("it leaves a foreign key violation: {v}")),
        }
    });
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(|e| format!("cannot commit: {e}")),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The names an object's SQL mentions (lower-cased), for the views and triggers that must be
/// recreated around a table change.
fn mentions(sql: &str) -> BTreeSet<String> {
    retort_build::sql::tokenize(sql)
        .iter()
        .filter(|t| t.kind != retort_build::sql::TokenKind::Number && t.kind != retort_build::sql::TokenKind::Punct)
        .filter_map(|t| t.name().map(str::to_lowercase))
        .collect()
}
