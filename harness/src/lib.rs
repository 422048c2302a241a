//! `retort`: the SQLite engine of Retort.

mod embedded;

pub use embedded::{EmbeddedMigration, Migrations};
pub use retort_build;
