//! `stamp`: rewriting the history without running migration SQL (the repair tool).

use rusqlite::Connection;

use retort_build::RevisionId;

use super::{Migrator, StampReport};
use crate::error::{Error, Result};
use crate::history;
use crate::target::{Target, TargetError};

impl Migrator {
    /// Rewrites the history so that exactly `target` and its ancestors are recorded, without
    /// running any migration SQL. Unknown or mismatched rows are replaced: this is the repair tool.
    pub fn stamp(&self, conn: &Connection, target: Target) -> Result<StampReport> {
        let graph = self.set.graph();
        let tops: Vec<RevisionId> = match target {
            Target::Head => vec![Target::single_head(graph)?],
            Target::Heads => graph.heads(),
            Target::Revision(rev) => vec![rev],
            Target::Base => Vec::new(),
            Target::Relative(_) => {
                return Err(Error::Target(TargetError::RelativeStamp));
            }
        };
        let mut wanted = graph.ancestors(&tops);
        wanted.extend(tops);
        conn.execute_batch("BEGIN IMMEDIATE").map_err(Error::sqlite("cannot start a write transaction"))?;
        let inside = || -> Result<StampReport> {
            history::ensure(conn)?;
            let rows = history::read(conn)?;
            let mut report = StampReport::default();
            for row in &rows {
                let keep = RevisionId::parse(&row.revision)
                    .is_some_and(|r| wanted.contains(&r) && row.checksum == self.set.checksum(&r));
                if !keep {
                    history::delete(conn, &row.revision)?;
                    report.removed.push(row.revision.clone());
                }
            }
            let now = retort_build::timestamp::now_rfc3339();
            for rev in graph.sorted(wanted.iter().copied()) {
                if history::insert(conn, &rev, self.set.checksum(&rev), &now, 0)? {
                    report.added.push(rev);
                }
            }
            Ok(report)
        };
        match inside() {
            Ok(report) => {
                conn.execute_batch("COMMIT").map_err(Error::sqlite("cannot commit the stamp"))?;
                Ok(report)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}
