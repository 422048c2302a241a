//! `retort`: the SQLite engine of Retort — the migrator, schema snapshots, verify and populate,
//! and (feature `harness`) the round-trip test harness. It reads migrations only through
//! `retort-build`'s model.

mod embedded;
mod error;
mod exec;
#[cfg(feature = "harness")]
pub mod harness;
pub mod history;
mod migrator;
pub mod populate;
pub mod snapshot;
#[cfg(feature = "harness")]
pub mod synth;
mod target;
pub mod watch;

pub use embedded::{EmbeddedMigration, Migrations};
pub use error::{Error, Result, Violation};
pub use exec::{StatementError, run_section};
pub use migrator::{
    Direction, DowngradeOptions, Migrator, Report, Session, StampReport, State, Step, backup, foreign_key_violations,
    open, open_read_only,
};
pub use retort_build;
pub use snapshot::{Change, Schema, SchemaCache};
pub use target::Target;
