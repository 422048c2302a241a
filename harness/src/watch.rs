//! `Watch`: SQLite's authorizer as a recorder of what a migration's statements touch — rows
//! written (directly, in a CTE, or by a trigger the statement fires), tables dropped or altered.
//! The migrator uses it to decide which foreign keys to check; the harness to confirm the
//! schema-only rule while running.
//!
//! Guarantees: writes SQLite makes to its own catalog (`sqlite_*`) and Retort's history table are
//! never recorded; the authorizer only observes, it never denies.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

/// What was done to a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessKind {
    /// Rows inserted.
    Insert,
    /// Rows updated.
    Update,
    /// Rows deleted (SQLite also reports this when a table is dropped).
    Delete,
    /// The table was dropped.
    DropTable,
    /// The table was altered (add, rename or drop column; rename table).
    Alter,
}

/// One recorded access.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Access {
    /// What.
    pub kind: AccessKind,
    /// The table.
    pub table: String,
    /// The trigger whose body does it, when not the statement itself.
    pub trigger: Option<String>,
}

/// An installed recorder.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    log: Arc<Mutex<Vec<Access>>>,
}

impl Watch {
    /// Installs the recorder on `conn` (replacing any authorizer).
    pub fn install(conn: &Connection) -> Watch {
        let watch = Watch::default();
        let log = Arc::clone(&watch.log);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            let (kind, table) = match ctx.action {
                AuthAction::Insert { table_name } => (AccessKind::Insert, table_name),
                AuthAction::Update { table_name, .. } => (AccessKind::Update, table_name),
                AuthAction::Delete { table_name } => (AccessKind::Delete, table_name),
                AuthAction::DropTable { table_name } => (AccessKind::DropTable, table_name),
                AuthAction::AlterTable { table_name, .. } => (AccessKind::Alter, table_name),
                _ => return Authorization::Allow,
            };
            let internal = table.starts_with("sqlite_") || table == crate::history::TABLE;
            if !internal && ctx.database_name.is_none_or(|db| db == "main") {
                let access = Access { kind, table: table.to_string(), trigger: ctx.accessor.map(str::to_string) };
                let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                if log.last() != Some(&access) {
                    log.push(access);
                }
            }
            Authorization::Allow
        }));
        watch
    }

    /// Removes the authorizer from `conn`.
    pub fn uninstall(conn: &Connection) {
        conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    }

    /// Everything recorded since the last call.
    pub fn take(&self) -> Vec<Access> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
