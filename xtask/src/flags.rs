//! Every `cargo xtask` command and flag, declared once with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Retort: Alembic-grade migrations for Rust on SQLite.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
pub struct Flags {
    /// The migrations directory (default: `migrations/` at the workspace root).
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write `retort.lock` pinning every migration's checksum, or check that it is fresh.
    Lock(LockFlags),
    /// List the graph's heads.
    Heads,
    /// List branch points and the branches that start there.
    Branches,
    /// List revisions in topological order.
    History(HistoryFlags),
    /// Show one revision's header and SQL.
    Show(ShowFlags),
}

/// `lock`.
#[derive(Debug, Args)]
pub struct LockFlags {
    /// Write nothing; exit 1 and list what is stale when the lock would change.
    #[arg(long)]
    pub check: bool,
    /// Re-pin this revision after an edit (only for a migration never applied anywhere).
    #[arg(long, value_name = "REV")]
    pub relock: Vec<String>,
}

/// `history`.
#[derive(Debug, Args)]
pub struct HistoryFlags {
    /// A range `A:B` (either side may be empty): revisions after A up to and including B.
    #[arg(short = 'r', long = "rev-range", value_name = "A:B")]
    pub range: Option<String>,
    /// Show parents, dependencies, labels, date and file for each revision.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowFlags {
    /// A revision, unique prefix (4+ digits), branch label or `label@head`.
    pub revision: String,
}
