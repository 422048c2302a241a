//! The example application's migrations, embedded at build time: the consumer crate that proves
//! `retort_build::Embed` works end to end.

/// Every migration of `migrations/`, checked against `migrations/retort.lock` at build time.
pub static MIGRATIONS: retort::Migrations = include!(concat!(env!("OUT_DIR"), "/retort_migrations.rs"));
