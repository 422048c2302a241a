#![warn(missing_docs)]
//! `retort`: the SQLite engine of Retort — the migrator, schema snapshots, verify and populate,
//! and (feature `harness`) the round-trip test harness. It reads migrations only through
//! `retort-build`'s model.

pub mod autogen;
mod backup;
mod compat;
mod embedded;
mod error;
mod exec;
pub mod fingerprint;
mod foreign_keys;
#[cfg(feature = "harness")]
pub mod harness;
mod history;
mod migrator;
mod open;
pub mod populate;
mod pragma;
#[cfg(feature = "harness")]
pub(crate) mod seed;
mod settings;
pub mod snapshot;
#[cfg(feature = "harness")]
pub mod synth;
mod target;
#[cfg(feature = "harness")]
pub mod testing;
mod verify;
pub mod watch;

pub use backup::backup;
pub use embedded::{EmbeddedMigration, Migrations};
pub use error::{DatabaseProblem, Diagnostic, Error, ErrorClass, Result, StatementCause, Violation};
pub use foreign_keys::{Mismatch, mismatches as foreign_key_mismatches, violations as foreign_key_violations};
pub use history::Applied;
pub use migrator::{Direction, DowngradeOptions, Migrator, Report, Session, StampReport, State, Step};
pub use open::{disable_allocation_statistics, open, open_existing, open_read_only};
pub use retort_build;
pub use rusqlite;
pub use snapshot::{Change, Schema, SchemaCache};
pub use target::{Target, TargetError};
pub use verify::{HistoryProblem, Repair, RepairRefusal, VerifyFinding, VerifyReport};
