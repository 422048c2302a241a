//! Retort in a project's own `cargo test` (feature `harness`): a migrated in-memory database for
//! tests that need the schema, and (feature `insta`) the schema snapshots that `migrate-test`
//! runs, one `schema@<revision>` per migration and `schema@head`.
//!
//! ```ignore
//! // tests/schema_snapshots.rs of the crate whose build.rs embeds the migrations
//! #[test]
//! fn schema() {
//!     retort::assert_schema_snapshots!(my_app::MIGRATIONS);
//! }
//!
//! #[test]
//! fn a_user_can_be_inserted() {
//!     let conn = retort::testing::migrated(&my_app::MIGRATIONS);
//!     conn.execute("INSERT INTO users (name) VALUES ('ada')", []).unwrap();
//! }
//! ```
//!
//! These are test helpers: they panic, with a message naming the revision and the file, when the
//! migrations do not load or do not apply.

use rusqlite::Connection;

use crate::embedded::Migrations;
use crate::harness::{Options, run};
use crate::migrator::Migrator;
use crate::target::Target;

/// A private in-memory database with every embedded migration applied, as `upgrade` applies
/// them (history table included). Panics when a migration does not load or apply.
pub fn migrated(migrations: &Migrations) -> Connection {
    match try_migrated(migrations) {
        Ok(conn) => conn,
        Err(message) => panic!("{message}"),
    }
}

fn try_migrated(migrations: &Migrations) -> Result<Connection, String> {
    let set = load(migrations)?;
    let mut conn = Connection::open_in_memory().map_err(|e| format!("cannot open an in-memory database: {e}"))?;
    Migrator::new(set)
        .upgrade(&mut conn, Target::Heads, &mut |_| {})
        .map_err(|e| format!("the embedded migrations do not apply to a new database:\n{e}"))?;
    Ok(conn)
}

fn load(migrations: &Migrations) -> Result<retort_build::MigrationSet, String> {
    migrations.load().map_err(|problems| {
        let lines: Vec<String> = problems.0.iter().map(retort_build::Problem::render).collect();
        format!("the embedded migrations do not load:\n{}", lines.join("\n"))
    })
}

/// What `assert_schema_snapshots!` checks: each migration's schema change, in topological order,
/// as `(revision, message, change)`, and the full schema at head.
#[derive(Debug)]
pub struct SchemaChanges {
    /// Each revision's change: its id, its message, and the change as text.
    pub changes: Vec<(String, String, String)>,
    /// The schema after every migration.
    pub head: String,
}

/// Runs the round trip on a private database (no walks) and returns every schema change.
/// Panics, naming each failing revision, when a migration does not load or does not round-trip:
/// a snapshot of a broken chain would not be worth reviewing.
pub fn schema_changes(migrations: &Migrations) -> SchemaChanges {
    let set = match load(migrations) {
        Ok(set) => set,
        Err(message) => panic!("{message}"),
    };
    let outcome = match run(&set, &Options { walks: 0, ..Options::default() }, &mut |_| {}) {
        Ok(outcome) => outcome,
        Err(e) => panic!("the round trip could not run: {e}"),
    };
    if !outcome.failed.is_empty() {
        let lines: Vec<String> = outcome.failed.iter().map(ToString::to_string).collect();
        panic!("the migrations do not round-trip, so their schema snapshots were not checked:\n{}", lines.join("\n"));
    }
    let changes = outcome
        .changes
        .into_iter()
        .map(|(rev, change)| {
            let message = set.get(&rev).map(|m| m.message.clone()).unwrap_or_default();
            (rev.to_string(), message, change)
        })
        .collect();
    SchemaChanges { changes, head: outcome.head_schema }
}

#[cfg(feature = "insta")]
#[doc(hidden)]
pub use insta;

/// Asserts every schema snapshot of the embedded migrations: `schema@<revision>` for each
/// migration's schema change and `schema@head` for the full schema, as insta snapshots beside the
/// calling test (`cargo insta review` shows them). Every snapshot is checked, and a `.snap.new`
/// written for each that changed, before it fails naming them all.
///
/// A macro, not a function, because insta files a snapshot by the test that asserts it.
#[cfg(feature = "insta")]
#[macro_export]
macro_rules! assert_schema_snapshots {
    ($migrations:expr) => {{
        let changes = $crate::testing::schema_changes(&$migrations);
        let mut stale: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
        for (revision, message, change) in &changes.changes {
            let checked = ::std::panic::catch_unwind(|| {
                $crate::testing::insta::with_settings!({
                    snapshot_suffix => revision.as_str(),
                    description => message.as_str(),
                    omit_expression => true,
                }, {
                    $crate::testing::insta::assert_snapshot!("schema", change);
                });
            });
            if checked.is_err() {
                stale.push(::std::format!("schema@{revision}"));
            }
        }
        let head = ::std::panic::catch_unwind(|| {
            $crate::testing::insta::with_settings!({ snapshot_suffix => "head", omit_expression => true }, {
                $crate::testing::insta::assert_snapshot!("schema", changes.head);
            });
        });
        if head.is_err() {
            stale.push("schema@head".to_string());
        }
        assert!(
            stale.is_empty(),
            "schema snapshots differ: {}; review them with `cargo insta review`",
            stale.join(", ")
        );
    }};
}
