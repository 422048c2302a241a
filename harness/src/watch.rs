//! `Watch`: SQLite's authorizer, installed for a run of steps. While migration or populate SQL
//! runs it records what the statements touch (rows written — directly, in a CTE, or by a trigger
//! the statement fires — tables created, altered or dropped, indexes dropped, settings changed)
//! and refuses what would break Retort's guarantees: transaction control inside Retort's own
//! transaction, `ATTACH`/`DETACH` (another file is outside the migration), and any access to
//! the history table. While Retort's own SQL runs it records and refuses nothing.
//!
//! Guarantees: a refused statement never runs (SQLite stops it while preparing it) and the
//! refusal is kept for the error message; writes SQLite makes to its own catalog (`sqlite_*`)
//! are never recorded.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use crate::compat::Outcome;
use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};

use retort_build::HISTORY_TABLE;

/// What was done to a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessKind {
    /// Rows inserted.
    Insert,
    /// Rows updated.
    Update,
    /// Rows deleted (SQLite also reports this when a table is dropped).
    Delete,
    /// The table was created.
    Create,
    /// The table was dropped.
    DropTable,
    /// The table was altered (add, rename or drop column; rename table).
    Alter,
    /// One of the table's indexes was dropped.
    DropIndex,
    /// The view was dropped (SQLite also reports a `Delete` on it, which writes no row).
    DropView,
}

impl AccessKind {
    /// True for kinds that write rows (a dropped table deletes its rows).
    pub fn writes_rows(self) -> bool {
        matches!(self, AccessKind::Insert | AccessKind::Update | AccessKind::Delete | AccessKind::DropTable)
    }
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

/// Functions whose result can differ between two runs of the same statement on the same data.
/// SQLite's date and time functions are listed whatever their arguments (`'now'` is the
/// volatile case, but telling it apart is not worth the risk).
pub const VOLATILE_FUNCTIONS: [&str; 15] = [
    "random",
    "randomblob",
    "changes",
    "total_changes",
    "last_insert_rowid",
    "date",
    "time",
    "datetime",
    "julianday",
    "unixepoch",
    "strftime",
    "timediff",
    "current_date",
    "current_time",
    "current_timestamp",
];

/// What a run of statements did to the schema and to the state beyond its tables' rows, as the
/// authorizer saw it: the footprint incremental schema reads and the round trip's proof use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Lower-case names of the tables, indexes, views and triggers created, dropped or altered
    /// in `main`, with the tables they belong to.
    pub objects: BTreeSet<String>,
    /// `VACUUM` ran (it may renumber rows of tables without an `INTEGER PRIMARY KEY`).
    pub vacuumed: bool,
    /// Something in `temp` was created or dropped.
    pub temp: bool,
    /// A `PRAGMA` ran: the only SQL that can change the database header's `user_version`,
    /// `application_id` or `auto_vacuum` (the last with a `VACUUM`).
    pub pragma: bool,
    /// A function of `VOLATILE_FUNCTIONS` was called (the first one).
    pub volatile: Option<String>,
    /// The SQL renames a table or column (`RENAME` appears in it; set by the caller from the
    /// text, since the authorizer reports every `ALTER TABLE` alike).
    pub renames: bool,
    /// The SQL names a catalog table or pragma function (`sqlite_schema`, `pragma_table_list`,
    /// …), whose row order is no part of the schema (set by the caller from the text).
    pub reads_catalog: bool,
}

impl Footprint {
    /// Sets what only the SQL text can tell: whether it renames, whether it reads the catalog.
    pub fn note_text(&mut self, sql: &str) {
        for t in retort_build::sql::tokenize(sql) {
            if t.is("RENAME") {
                self.renames = true;
            }
            // `PRAGMA table_info(t)` and friends return catalog rows too.
            if t.is("PRAGMA") {
                self.reads_catalog = true;
            }
            let prefixed =
                |name: &str, prefix: &str| name.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix));
            if t.name().is_some_and(|name| prefixed(name, "sqlite_") || prefixed(name, "pragma_")) {
                self.reads_catalog = true;
            }
        }
    }

    /// Adds `other` to this footprint.
    pub fn extend(&mut self, other: &Footprint) {
        self.objects.extend(other.objects.iter().cloned());
        self.vacuumed |= other.vacuumed;
        self.temp |= other.temp;
        self.pragma |= other.pragma;
        self.renames |= other.renames;
        self.reads_catalog |= other.reads_catalog;
        if self.volatile.is_none() {
            self.volatile.clone_from(&other.volatile);
        }
    }
}

/// Whose SQL is running, which decides what the authorizer records and refuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Retort's own statements: nothing recorded, nothing refused.
    #[default]
    Retort,
    /// A migration's or populate script's SQL; `transactional` when it runs inside Retort's
    /// transaction (then transaction control is refused).
    UserSql {
        /// True unless the migration says `Transaction: none`.
        transactional: bool,
    },
}

/// Why the authorizer refused a statement of migration or populate SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE` inside Retort's transaction.
    TransactionControl(String),
    /// `ATTACH` (or `VACUUM INTO`) of the named file, or `DETACH`.
    Attach(String),
    /// An access to the history table.
    History(&'static str),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::TransactionControl(verb) => write!(
                f,
                "`{verb}` is refused inside a migration that runs in Retort's transaction (it would commit or roll back part of the step apart from its history row)"
            ),
            Refusal::Attach(file) if file.is_empty() => f.write_str("`DETACH` is refused in migration SQL"),
            Refusal::Attach(file) => {
                write!(f, "`ATTACH` of `{file}` is refused: migration SQL changes only the database being migrated")
            }
            Refusal::History(what) => {
                write!(f, "{what} `{HISTORY_TABLE}` is refused: the history table is Retort's to write (use `stamp`)")
            }
        }
    }
}

/// What a watch holds; the default is a fresh watch (`Policy::Retort`, nothing recorded).
#[derive(Debug, Default)]
struct State {
    policy: Policy,
    log: Vec<Access>,
    refusal: Option<Refusal>,
    settings_changed: bool,
    footprint: Footprint,
    /// The last row copy authorized was `VACUUM` copying the history table into its private
    /// database; SQLite 3.51 and later then authorize its read of `main`'s history too.
    vacuum_copies_history: bool,
}

/// An installed recorder and guard.
#[derive(Debug, Clone)]
pub struct Watch {
    state: Arc<Mutex<State>>,
}

impl Watch {
    /// Installs the authorizer on `conn` (replacing any), in `Policy::Retort`.
    ///
    /// It stays installed after its session (rusqlite 0.40 and later need the connection
    /// mutably to remove it, and a session only borrows it): `detach` returns it to
    /// `Policy::Retort`, in which it allows everything and records nothing, until the
    /// connection closes or another authorizer replaces it.
    // `authorizer` returns `()` before rusqlite 0.40 (`compat::Outcome`).
    #[allow(clippy::unit_arg)]
    pub fn install(conn: &mut Connection) -> crate::error::Result<Watch> {
        let watch = Watch { state: Arc::new(Mutex::new(State::default())) };
        let shared = Arc::clone(&watch.state);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
            match state.policy {
                Policy::Retort => Authorization::Allow,
                Policy::UserSql { transactional } => state.judge(&ctx, transactional),
            }
        }))
        .into_result()
        .map_err(crate::error::Error::sqlite("cannot install Retort's statement guard"))?;
        Ok(watch)
    }

    /// Ends the watch: the authorizer allows everything and records nothing from now on, and
    /// what it held is dropped (a harness database's next session starts from nothing).
    pub fn detach(&self) {
        *self.lock() = State::default();
    }

    /// Sets whose SQL runs next.
    pub fn set_policy(&self, policy: Policy) {
        self.lock().policy = policy;
    }

    /// Everything recorded since the last call.
    pub fn take(&self) -> Vec<Access> {
        std::mem::take(&mut self.lock().log)
    }

    /// The last refusal since the last call.
    pub fn take_refusal(&self) -> Option<Refusal> {
        self.lock().refusal.take()
    }

    /// True when a statement assigned one of the settings Retort pins since the last call.
    pub fn take_settings_changed(&self) -> bool {
        std::mem::take(&mut self.lock().settings_changed)
    }

    /// The footprint of the SQL run since the last call.
    pub fn take_footprint(&self) -> Footprint {
        std::mem::take(&mut self.lock().footprint)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn judge(&mut self, ctx: &AuthContext<'_>, transactional: bool) -> Authorization {
        self.note_footprint(ctx);
        let (kind, table) = match ctx.action {
            AuthAction::Transaction { operation } if transactional => {
                return self.refuse(Refusal::TransactionControl(verb(operation, None)));
            }
            AuthAction::Savepoint { operation, savepoint_name } if transactional => {
                return self.refuse(Refusal::TransactionControl(verb(operation, Some(savepoint_name))));
            }
            // VACUUM attaches a private temporary database with an empty name: no file.
            AuthAction::Attach { filename } if !filename.is_empty() => {
                return self.refuse(Refusal::Attach(filename.to_string()));
            }
            AuthAction::Detach { .. } => return self.refuse(Refusal::Attach(String::new())),
            AuthAction::Pragma { pragma_name, pragma_value: Some(_) } => {
                let name = pragma_name.to_ascii_lowercase();
                if retort_build::lint::SETTING_PRAGMAS.contains(&name.as_str()) {
                    self.settings_changed = true;
                }
                return Authorization::Allow;
            }
            AuthAction::Insert { table_name } => (Some(AccessKind::Insert), table_name),
            AuthAction::Update { table_name, .. } => (Some(AccessKind::Update), table_name),
            AuthAction::Delete { table_name } => (Some(AccessKind::Delete), table_name),
            AuthAction::CreateTable { table_name } => (Some(AccessKind::Create), table_name),
            AuthAction::DropTable { table_name } => (Some(AccessKind::DropTable), table_name),
            AuthAction::AlterTable { table_name, .. } => (Some(AccessKind::Alter), table_name),
            AuthAction::DropIndex { table_name, .. } => (Some(AccessKind::DropIndex), table_name),
            AuthAction::DropView { view_name } => (Some(AccessKind::DropView), view_name),
            AuthAction::Read { table_name, .. }
            | AuthAction::CreateIndex { table_name, .. }
            | AuthAction::CreateTrigger { table_name, .. }
            | AuthAction::DropTrigger { table_name, .. }
            | AuthAction::CreateTempTable { table_name }
            | AuthAction::CreateTempIndex { table_name, .. }
            | AuthAction::CreateTempTrigger { table_name, .. }
            | AuthAction::DropTempTable { table_name }
            | AuthAction::Analyze { table_name } => (None, table_name),
            AuthAction::CreateView { view_name } | AuthAction::CreateTempView { view_name } => (None, view_name),
            _ => return Authorization::Allow,
        };
        // VACUUM copies every table, the history included, into its private `vacuum_db`, with
        // `INSERT INTO vacuum_db.t SELECT * FROM main.t`: the read that follows such an insert
        // into the history's copy is VACUUM's own. Migration SQL cannot write another database
        // (`ATTACH` is refused), and VACUUM's last copy goes to `sqlite_schema`, so the next
        // statement never inherits the allowance.
        let own = ctx.database_name.is_none_or(|db| db == "main" || db == "temp");
        let history = table.eq_ignore_ascii_case(HISTORY_TABLE);
        if let AuthAction::Insert { .. } = ctx.action {
            self.vacuum_copies_history = history && !own;
        }
        let vacuum_read = self.vacuum_copies_history && matches!(ctx.action, AuthAction::Read { .. });
        if own && history && !vacuum_read {
            let what = match ctx.action {
                AuthAction::Read { .. } => "reading",
                AuthAction::Insert { .. } | AuthAction::Update { .. } | AuthAction::Delete { .. } => "writing",
                AuthAction::CreateTable { .. } | AuthAction::CreateTempTable { .. } => "creating",
                AuthAction::DropTable { .. } | AuthAction::DropTempTable { .. } | AuthAction::AlterTable { .. } => {
                    "changing"
                }
                _ => "a trigger, index or view on",
            };
            return self.refuse(Refusal::History(what));
        }
        if let Some(kind) = kind {
            let internal = table.starts_with("sqlite_");
            if !internal && ctx.database_name.is_none_or(|db| db == "main") {
                let access = Access { kind, table: table.to_string(), trigger: ctx.accessor.map(str::to_string) };
                if self.log.last() != Some(&access) {
                    self.log.push(access);
                }
            }
        }
        Authorization::Allow
    }

    /// Records what `ctx` means for the schema and for the proof that a step is repeatable.
    fn note_footprint(&mut self, ctx: &AuthContext<'_>) {
        let in_main = ctx.database_name.is_none_or(|db| db == "main");
        let fp = &mut self.footprint;
        let mut object = |names: &[&str]| {
            for name in names {
                if !name.starts_with("sqlite_") {
                    fp.objects.insert(name.to_ascii_lowercase());
                }
            }
        };
        match ctx.action {
            AuthAction::CreateTable { table_name } | AuthAction::DropTable { table_name } if in_main => {
                object(&[table_name]);
            }
            AuthAction::CreateIndex { index_name, table_name } | AuthAction::DropIndex { index_name, table_name }
                if in_main =>
            {
                object(&[index_name, table_name]);
            }
            AuthAction::CreateTrigger { trigger_name, table_name }
            | AuthAction::DropTrigger { trigger_name, table_name }
                if in_main =>
            {
                object(&[trigger_name, table_name]);
            }
            AuthAction::CreateView { view_name } | AuthAction::DropView { view_name } if in_main => {
                object(&[view_name]);
            }
            // SQLite passes a dropped column's name where the database name goes.
            AuthAction::AlterTable { table_name, .. } => object(&[table_name]),
            AuthAction::CreateTempTable { .. }
            | AuthAction::CreateTempIndex { .. }
            | AuthAction::CreateTempTrigger { .. }
            | AuthAction::CreateTempView { .. }
            | AuthAction::DropTempTable { .. }
            | AuthAction::DropTempIndex { .. }
            | AuthAction::DropTempTrigger { .. }
            | AuthAction::DropTempView { .. } => fp.temp = true,
            AuthAction::CreateTable { .. }
            | AuthAction::CreateIndex { .. }
            | AuthAction::CreateTrigger { .. }
            | AuthAction::CreateView { .. }
            | AuthAction::DropTable { .. }
            | AuthAction::DropIndex { .. }
            | AuthAction::DropTrigger { .. }
            | AuthAction::DropView { .. }
                if ctx.database_name == Some("temp") =>
            {
                fp.temp = true;
            }
            AuthAction::Attach { filename: "" } => fp.vacuumed = true,
            AuthAction::Pragma { .. } => fp.pragma = true,
            AuthAction::Function { function_name } if fp.volatile.is_none() => {
                let name = function_name.to_ascii_lowercase();
                if VOLATILE_FUNCTIONS.contains(&name.as_str()) {
                    fp.volatile = Some(name);
                }
            }
            _ => {}
        }
    }

    fn refuse(&mut self, refusal: Refusal) -> Authorization {
        self.refusal = Some(refusal);
        Authorization::Deny
    }
}

fn verb(operation: TransactionOperation, savepoint: Option<&str>) -> String {
    match (operation, savepoint) {
        (TransactionOperation::Begin, Some(name)) => format!("SAVEPOINT {name}"),
        (TransactionOperation::Release, Some(name)) => format!("RELEASE {name}"),
        (TransactionOperation::Rollback, Some(name)) => format!("ROLLBACK TO {name}"),
        (TransactionOperation::Begin, None) => "BEGIN".to_string(),
        (TransactionOperation::Rollback, None) => "ROLLBACK".to_string(),
        // SQLite names COMMIT (and END) "COMMIT", which rusqlite does not map.
        (_, None) => "COMMIT".to_string(),
        (_, Some(name)) => format!("a savepoint statement on {name}"),
    }
}
