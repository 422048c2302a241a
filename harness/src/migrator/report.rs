//! What the migrator reports: directions, steps, runs, states and stamps.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use retort_build::RevisionId;

use crate::history::Applied;
use crate::watch::{Access, Footprint};

/// Up or down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Apply.
    Up,
    /// Revert.
    Down,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        })
    }
}

/// One migration run (or skipped because another process ran it first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The revision.
    pub revision: RevisionId,
    /// Up or down.
    pub direction: Direction,
    /// How long its SQL took.
    pub duration: Duration,
    /// False for `Transaction: none` migrations.
    pub transactional: bool,
    /// True when another process had already done it.
    pub skipped: bool,
    /// What its statements touched, as SQLite's authorizer saw it.
    pub touched: Vec<Access>,
    /// What its statements did to the schema and beyond the rows (for schema reads and proofs).
    pub footprint: Footprint,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The backup taken before a downgrade.
    pub backup: Option<PathBuf>,
}

/// The validated state of a database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Applied revisions.
    pub applied: BTreeSet<RevisionId>,
    /// The history rows, in the order applied.
    pub rows: Vec<Applied>,
}

/// What `stamp` changed in the history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StampReport {
    /// Rows added.
    pub added: Vec<RevisionId>,
    /// Rows removed (revision text, as it may be unknown).
    pub removed: Vec<String>,
}

/// Options of a downgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DowngradeOptions {
    /// Take an online backup next to the database before the first step.
    pub backup: bool,
}
