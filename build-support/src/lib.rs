#![warn(missing_docs)]
//! `retort-build`: the migration-directory model of Retort, with no database dependency.
//!
//! One parser (`migration::parse`), one checksum (`checksum::checksum`), one graph (`Graph`):
//! the build script, the runtime crate `retort` and the `cargo xtask` CLI all call these and
//! never re-implement them.

mod checksum;
mod dir;
mod embed;
mod graph;
mod key;
pub mod layout;
pub mod lint;
mod lock;
pub mod migration;
pub mod populate;
mod problem;
mod revision;
mod set;
pub mod sql;
pub mod template;
#[cfg(feature = "testing")]
pub mod testing;
mod text;
pub mod timestamp;
mod workspace;

/// The name of Retort's history table in every migrated database: migration and populate SQL
/// must never touch it (the lint says so, the runtime's authorizer refuses it).
pub const HISTORY_TABLE: &str = "retort_history";

pub use checksum::{checksum, sha256_text};
pub use dir::{Loaded, POPULATE_DIR, load};
pub use embed::{Embed, EmbedFailure, Embedded, GENERATED_FILE, Unfinished, generate};
pub use graph::{Graph, ResolveError};
pub use key::Key;
pub use layout::{Layout, Origin};
pub use lock::{LOCK_FILE, Lock, LockEntry, LockPolicy, LockStatus, Salvage, has_conflict_markers};
pub use migration::{Lossy, LossyItem, Migration, Section, TableAffected, TransactionMode, Waiver, WaiverKind};
pub use problem::{DEFAULT_COMMAND, Location, Problem, ProblemKind, Problems, Severity};
pub use revision::RevisionId;
pub use set::{MigrationSet, SourceFile};
pub use text::{normalize_file, normalize_section};
pub use workspace::{display_path, workspace_root};
