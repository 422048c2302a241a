//! The schema snapshot (SPEC §7): a normalised, sorted, human-readable description of a
//! database's schema, read from SQLite's own catalog (`sqlite_schema` and the `table_xinfo`,
//! `table_list`, `index_list`, `index_xinfo` and `foreign_key_list` pragmas).
//!
//! Guarantees: two schemas are equal exactly when their snapshots compare equal; quoting,
//! keyword and identifier case and whitespace never count; column order, types, defaults and
//! constraints always do. `retort_history` and `sqlite_*` objects are left out.
//!
//! The text a reviewer reads is cased one way: Retort's words and object names in lower case,
//! SQLite's keyword values (types, collations, foreign-key actions) in upper case, and SQL a
//! person wrote (checks, defaults, expressions, views, triggers) as written, with whitespace
//! normalised (`Line`).
//!
//! One file per concept: this one is the model (objects, diff, display); `cache.rs` reads the
//! catalog and re-reads only what changed; `table.rs` and `index.rs` turn one catalog row into
//! objects; `sql_form.rs` gives SQL text its shown and compared forms.

mod cache;
mod index;
pub(crate) mod sql_form;
mod table;

use std::fmt;
use std::sync::Arc;

use rusqlite::Connection;

use crate::error::Result;

pub use cache::{CacheUndo, SchemaCache};
pub use sql_form::normalize_sql;

/// The kind of a schema object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A table.
    Table,
    /// An index.
    Index,
    /// A view.
    View,
    /// A trigger.
    Trigger,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Table => "table",
            Kind::Index => "index",
            Kind::View => "view",
            Kind::Trigger => "trigger",
        })
    }
}

/// One schema object: its kind, its (lower-cased) name and its attribute lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its kind.
    pub kind: Kind,
    /// Its name, lower-cased (auto-indexes are named by their shape).
    pub name: String,
    /// Its attributes, one per line, in a fixed order.
    pub lines: Vec<Line>,
}

impl Object {
    /// The table it belongs to: its own name for a table or view, the table it is on for an
    /// index or trigger.
    pub fn table(&self) -> &str {
        match self.kind {
            Kind::Table | Kind::View => &self.name,
            Kind::Index | Kind::Trigger => {
                self.lines.first().and_then(|l| l.as_str().strip_prefix("on ")).unwrap_or(&self.name)
            }
        }
    }
}

/// One attribute line of an object: the text the snapshot shows, and the form two lines are
/// compared by. They differ only for lines holding SQL as written (a `CHECK`, a default, a
/// generated column's or an index's expression, a view's or trigger's text): shown with its
/// spelling kept and whitespace normalised, compared where case, quoting and spacing do not
/// count (`sql_form::canonical`).
#[derive(Clone, Debug)]
pub struct Line {
    shown: String,
    /// `None` when it is `shown`.
    compared: Option<String>,
}

impl Line {
    /// A line compared as shown (names, Retort's words, SQLite's keyword values).
    pub fn plain(text: impl Into<String>) -> Line {
        Line { shown: text.into(), compared: None }
    }

    /// A line shown as `shown` and compared as `compared`.
    pub fn with_sql(shown: String, compared: String) -> Line {
        let compared = (compared != shown).then_some(compared);
        Line { shown, compared }
    }

    /// The text shown.
    pub fn as_str(&self) -> &str {
        &self.shown
    }

    /// The text compared.
    pub fn compared(&self) -> &str {
        self.compared.as_deref().unwrap_or(&self.shown)
    }
}

impl PartialEq for Line {
    fn eq(&self, other: &Line) -> bool {
        self.compared() == other.compared()
    }
}

impl Eq for Line {}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// A database schema. Objects are shared (`Arc`) so that repeated reads of a mostly unchanged
/// schema cost one pointer per object, and comparing them is a pointer check first.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// Sorted by (kind, name); names are unique per kind.
    objects: Vec<Arc<Object>>,
}

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.objects.len() == other.objects.len()
            && self.objects.iter().zip(&other.objects).all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    }
}

fn key(o: &Object) -> (Kind, &str) {
    (o.kind, o.name.as_str())
}

impl Eq for Schema {}

/// One difference between two schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// In the second schema only.
    Added(Object),
    /// In the first schema only.
    Removed(Object),
    /// In both, with different attributes: (before, after).
    Changed(Object, Object),
}

impl Change {
    /// `kind name` of the object.
    pub fn object(&self) -> String {
        let o = match self {
            Change::Added(o) | Change::Removed(o) | Change::Changed(o, _) => o,
        };
        format!("{} {}", o.kind, o.name)
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added(o) => {
                writeln!(f, "+ {} {}", o.kind, o.name)?;
                o.lines.iter().try_for_each(|l| writeln!(f, "+     {l}"))
            }
            Change::Removed(o) => {
                writeln!(f, "- {} {}", o.kind, o.name)?;
                o.lines.iter().try_for_each(|l| writeln!(f, "-     {l}"))
            }
            Change::Changed(a, b) => {
                writeln!(f, "~ {} {}", a.kind, a.name)?;
                for l in a.lines.iter().filter(|l| !b.lines.contains(l)) {
                    writeln!(f, "-     {l}")?;
                }
                for l in b.lines.iter().filter(|l| !a.lines.contains(l)) {
                    writeln!(f, "+     {l}")?;
                }
                if a.lines.iter().filter(|l| b.lines.contains(l)).ne(b.lines.iter().filter(|l| a.lines.contains(l))) {
                    writeln!(f, "      (order of attributes changed)")?;
                }
                Ok(())
            }
        }
    }
}

/// Renders a list of changes, one object after another.
pub fn render_changes(changes: &[Change]) -> String {
    changes.iter().map(ToString::to_string).collect()
}

impl Schema {
    /// Reads the schema of the `main` database of `conn`.
    pub fn read(conn: &Connection) -> Result<Schema> {
        SchemaCache::default().read(conn)
    }

    /// The object of `kind` named `name` (lower-cased).
    pub fn get(&self, kind: Kind, name: &str) -> Option<&Object> {
        self.objects.binary_search_by(|o| key(o).cmp(&(kind, name))).ok().map(|i| &*self.objects[i])
    }

    /// True when there are no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The objects, sorted by kind and name.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.iter().map(|o| &**o)
    }

    /// Every difference from `self` to `other`, sorted by kind and name.
    pub fn diff(&self, other: &Schema) -> Vec<Change> {
        // A merge of two sorted lists.
        let (mut i, mut j) = (0, 0);
        let mut changes = Vec::new();
        while i < self.objects.len() || j < other.objects.len() {
            let (a, b) = (self.objects.get(i), other.objects.get(j));
            match (a, b) {
                (Some(a), Some(b)) if key(a) == key(b) => {
                    if !Arc::ptr_eq(a, b) && a.lines != b.lines {
                        changes.push(Change::Changed((**a).clone(), (**b).clone()));
                    }
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if key(a) < key(b) => {
                    changes.push(Change::Removed((**a).clone()));
                    i += 1;
                }
                (Some(a), None) => {
                    changes.push(Change::Removed((**a).clone()));
                    i += 1;
                }
                (_, Some(b)) => {
                    changes.push(Change::Added((**b).clone()));
                    j += 1;
                }
                (None, None) => break,
            }
        }
        changes
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.objects.is_empty() {
            return writeln!(f, "(empty schema)");
        }
        for o in &self.objects {
            writeln!(f, "{} {}", o.kind, o.name)?;
            for l in &o.lines {
                writeln!(f, "    {l}")?;
            }
        }
        Ok(())
    }
}
