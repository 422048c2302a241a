//! What each up really does to the schema: every up run in order on a private in-memory
//! database, the schema read before and after, and the difference named per table, with the
//! tables whose rows the authorizer saw written. `import` writes it as `Tables affected`.

use std::collections::BTreeMap;

use retort_build::{MigrationSet, RevisionId};

use crate::migrator::Migrator;
use crate::snapshot::{Change, Kind, Schema};
use crate::target::Target;
use crate::watch::AccessKind;

/// Each up's effects, in topological order, up to the first up that fails.
#[derive(Debug, Default)]
pub struct UpEffects {
    /// (revision, [(table, what happens to it)]) for every up that ran, in order.
    pub effects: Vec<(RevisionId, Vec<(String, String)>)>,
    /// The first up that failed, and why; the ups after it did not run.
    pub failed: Option<(RevisionId, crate::Error)>,
}

/// Runs every up of `set` in order and names what each changed.
pub fn up_effects(set: &MigrationSet) -> crate::error::Result<UpEffects> {
    let mut conn = super::image::memory()?;
    let migrator = Migrator::new(set.clone());
    let mut out = UpEffects::default();
    let mut before = Schema::read(&conn)?;
    for rev in set.order() {
        let target = Target::parse(rev.as_str(), set.graph())?;
        let report = match migrator.upgrade(&mut conn, target, &mut |_| {}) {
            Ok(report) => report,
            Err(e) => {
                out.failed = Some((*rev, e));
                break;
            }
        };
        let after = Schema::read(&conn)?;
        let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let changes = before.diff(&after);
        let whole: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Added(o) | Change::Removed(o) if o.kind == Kind::Table => Some(o.name.clone()),
                _ => None,
            })
            .collect();
        for change in &changes {
            let (verb, o) = match change {
                Change::Added(o) => ("create", o),
                Change::Removed(o) => ("drop", o),
                Change::Changed(_, o) => ("change", o),
            };
            let table = o.table().to_string();
            let auto = o.name.starts_with("(auto)");
            let what = match o.kind {
                Kind::Table => format!("{verb} table"),
                Kind::View => format!("{verb} view"),
                // A table's own constraints come and go with it.
                Kind::Index if auto && whole.contains(&table) => continue,
                Kind::Index if auto => format!("{verb} a unique or primary key constraint"),
                Kind::Index => format!("{verb} index {}", o.name),
                Kind::Trigger => format!("{verb} trigger {}", o.name),
            };
            tables.entry(table).or_default().push(what);
        }
        let dropped: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Removed(o) if o.kind == Kind::Table => Some(o.name.as_str()),
                _ => None,
            })
            .collect();
        for step in &report.steps {
            for access in &step.touched {
                let writes = matches!(access.kind, AccessKind::Insert | AccessKind::Update | AccessKind::Delete);
                if writes && !dropped.contains(&access.table.to_lowercase().as_str()) {
                    let entry = tables.entry(access.table.to_lowercase()).or_default();
                    if !entry.iter().any(|w| w == "rows written") {
                        entry.push("rows written".to_string());
                    }
                }
            }
        }
        out.effects.push((*rev, tables.into_iter().map(|(t, what)| (t, what.join(", "))).collect()));
        before = after;
    }
    Ok(out)
}
