//! The round-trip harness behind `cargo xtask migrate-test` (SPEC §8, steps 2–7), on throw-away
//! databases: the schema-only rule confirmed with SQLite's authorizer, every revision's
//! up → down → up round trip in one incremental pass, proptest walks over the graph, populate
//! idempotency, and head → base.
//!
//! Guarantees: **tests touch no shared database** (every database is private and in memory);
//! one run reports every broken revision, and each failure only once (after a failure the pass
//! carries on from the stored image of the state it needs, and a revision that needs a failed
//! one is "not tested"); a failing database is written out and its path reported (the first 20
//! per run).

mod data;
mod effects;
mod image;
mod roundtrip;
mod walk;

pub use effects::{UpEffects, up_effects};

use std::path::PathBuf;

use retort_build::populate::PopulateScript;
use retort_build::{MigrationSet, RevisionId};

use crate::migrator::Direction;

/// How many random walks `migrate-test` makes unless told otherwise.
pub const DEFAULT_WALKS: u32 = 32;

/// How many rows the data round trip seeds into each empty table unless told otherwise.
pub const DEFAULT_SEED_ROWS: usize = 3;

/// What to run. The default is `migrate-test`'s: [`DEFAULT_WALKS`] walks from a random seed, no
/// populate scripts, proven re-ups skipped, two threads where they pay.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of random walks (0 skips them).
    pub walks: u32,
    /// Seed of the walks; random when `None` (the report prints the one used).
    pub seed: Option<u64>,
    /// Populate scripts to prove idempotent.
    pub populate: Vec<PopulateScript>,
    /// Run every re-up, even those proven redundant, and fail (check `proof`) if one gives
    /// another state than the first up: a test of the proof, not for everyday use.
    pub check_proofs: bool,
    /// How many threads the round trip's down pass and the walks may use.
    pub threads: Threads,
    /// Rows the data round trip seeds into each table an up creates (0: no data round trip,
    /// schemas only).
    pub seed_rows: usize,
    /// Enforce foreign keys in every step of the round trip, as an application that turns them
    /// on runs its migrations (a table rebuild's `DROP TABLE` then deletes or changes the rows
    /// that reference it, which the data round trip finds).
    pub foreign_keys: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            walks: DEFAULT_WALKS,
            seed: None,
            populate: Vec::new(),
            check_proofs: false,
            threads: Threads::default(),
            seed_rows: DEFAULT_SEED_ROWS,
            foreign_keys: false,
        }
    }
}

/// How many threads the harness may use: with two, the round trip's levels are reverted in
/// chunks on a second in-memory database, each opened from the image after the chunk's top
/// level, while the up pass goes on, and the random walks are shared between two runners.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Threads {
    /// One.
    One,
    /// Two when it pays: on chains of 16 revisions or more, with two cores, and with SQLite's
    /// allocation statistics off (see [`crate::disable_allocation_statistics`]; with them on,
    /// every allocation takes one process-wide mutex and two threads are slower than one).
    #[default]
    Available,
    /// Two on chains of 16 revisions or more, whatever the machine (for tests).
    Two,
}

impl Threads {
    /// Whether to use two threads (the round trip's down pass also needs a chain long enough).
    pub(crate) fn two(self) -> bool {
        match self {
            Threads::One => false,
            Threads::Two => true,
            Threads::Available => {
                std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
                    // Asked with a connection open, so that the count is above zero when on.
                    && image::memory().is_ok_and(|_conn| crate::open::allocation_statistics_off())
            }
        }
    }
}

/// What the data round trip covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataCoverage {
    /// Tables seeded with rows.
    pub tables_seeded: usize,
    /// Rows seeded, in all.
    pub rows_seeded: usize,
    /// Rows compared after ups and downs (a table's rows count once per comparison).
    pub rows_compared: usize,
    /// Tables left empty: the revision that created each, its name and why.
    pub not_covered: Vec<(RevisionId, String, String)>,
}

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The revision, when the check is about one.
    pub revision: Option<RevisionId>,
    /// The direction, when it matters.
    pub direction: Option<Direction>,
    /// Which check failed.
    pub check: String,
    /// What went wrong.
    pub message: String,
    /// A schema or content diff, when there is one.
    pub diff: Option<String>,
    /// The database kept for inspection.
    pub kept: Option<PathBuf>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.revision, self.direction) {
            (Some(rev), Some(dir)) => write!(f, "{rev} ({dir}) {}: {}", self.check, self.message)?,
            (Some(rev), None) => write!(f, "{rev} {}: {}", self.check, self.message)?,
            _ => write!(f, "{}: {}", self.check, self.message)?,
        }
        if let Some(diff) = &self.diff {
            write!(f, "\n{}", diff.trim_end())?;
        }
        if let Some(kept) = &self.kept {
            write!(f, "\nthe database is kept at {}", kept.display())?;
        }
        Ok(())
    }
}

/// Progress reported while running.
#[derive(Debug)]
pub enum Event<'a> {
    /// A check passed.
    Passed {
        /// The check.
        check: &'a str,
        /// What it was about.
        subject: String,
    },
    /// A check failed.
    Failed(&'a Finding),
    /// Something worth saying that is neither (an irreversible revision, the walk seed).
    Note {
        /// A short verb.
        verb: &'a str,
        /// The text.
        text: String,
    },
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Checks passed.
    pub passed: usize,
    /// Checks failed.
    pub failed: Vec<Finding>,
    /// Each revision's schema change (`schema@<revision>`), in topological order.
    pub changes: Vec<(RevisionId, String)>,
    /// The full schema at head (`schema@head`).
    pub head_schema: String,
    /// Where kept databases are, when any was kept.
    pub kept_dir: Option<PathBuf>,
    /// Re-ups the round trip skipped because they were proven redundant.
    pub reups_proven: usize,
    /// Re-ups it ran, with the reason no proof held, in topological order.
    pub reups_run: Vec<(RevisionId, &'static str)>,
    /// What the walks covered (all zero when they had nothing to add or did not run).
    pub walk_states: usize,
    /// Moves the walks made.
    pub walk_moves: usize,
    /// What the data round trip covered (`None` when it did not run).
    pub data: Option<DataCoverage>,
}

type Checked = std::result::Result<(&'static str, String), Finding>;

/// Counts a result and reports it.
fn record(outcome: &mut Outcome, on_event: &mut dyn FnMut(Event<'_>), result: Checked) {
    match result {
        Ok((check, subject)) => {
            outcome.passed += 1;
            on_event(Event::Passed { check, subject });
        }
        Err(finding) => {
            on_event(Event::Failed(&finding));
            outcome.failed.push(finding);
        }
    }
}

/// The data round trip's coverage, as one note.
fn data_note(data: &DataCoverage, seed: u64) -> String {
    let mut text = format!(
        "{} tables seeded ({} rows, seed {seed}), {} rows compared after ups and downs",
        data.tables_seeded, data.rows_seeded, data.rows_compared
    );
    if !data.not_covered.is_empty() {
        text.push_str(&format!("; {} tables not covered:", data.not_covered.len()));
        for (rev, table, why) in &data.not_covered {
            text.push_str(&format!("\n  {table} (created by {rev}): {why}"));
        }
    }
    text
}

/// Runs steps 2–7 over `set`, reporting through `on_event`.
pub fn run(
    set: &MigrationSet,
    options: &Options,
    on_event: &mut dyn FnMut(Event<'_>),
) -> crate::error::Result<Outcome> {
    let scratch = tempfile::Builder::new()
        .prefix("retort-migrate-test-")
        .tempdir()
        .map_err(|source| crate::error::Error::Io { context: "cannot create a temporary directory".into(), source })?;
    let mut outcome = Outcome::default();
    let windows = if options.walks > 0 { walk::windows(set) } else { Vec::new() };
    let caches_at: std::collections::BTreeSet<usize> = windows.iter().flat_map(|w| w.start..=w.end + 1).collect();
    let seed = options.seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
    });
    let options = &Options { seed: Some(seed), ..options.clone() };
    let mut round = roundtrip::run(set, scratch.path(), options, seed, &caches_at, &mut |result| {
        record(&mut outcome, &mut *on_event, result)
    })?;
    if let Some(data) = &round.data {
        on_event(Event::Note { verb: "Data", text: data_note(data, seed) });
    }
    outcome.data = round.data.take();
    outcome.changes = std::mem::take(&mut round.changes);
    outcome.head_schema = std::mem::take(&mut round.head_schema);
    outcome.reups_proven = round.proofs.proven;
    outcome.reups_run = std::mem::take(&mut round.proofs.run);
    if !set.is_empty() {
        let mut text = format!(
            "{} re-ups proven redundant (the state after down equals the state before up), {} run",
            outcome.reups_proven,
            outcome.reups_run.len()
        );
        if let Some((rev, why)) = outcome.reups_run.first() {
            text.push_str(&format!(" (first: {rev}, {why})"));
        }
        on_event(Event::Note { verb: "Round trip", text });
    }
    if options.walks > 0 && set.is_empty() {
        on_event(Event::Note { verb: "Walking", text: "no walks: there are no migrations".into() });
    } else if options.walks > 0 && windows.is_empty() {
        on_event(Event::Note {
            verb: "Walking",
            text: "walks have nothing to add: the graph is linear, so every state is one the round trip visited and every move a composition of steps it proved".into(),
        });
    } else if options.walks > 0 {
        let result = walk::run(set, &windows, &round.prefixes, &round.failed, options, on_event);
        let result = result.map(|c| {
            outcome.walk_states = c.branch_states;
            outcome.walk_moves = c.moves;
            let subject = format!(
                "{} random walks in {} branch windows: {} branch states, {} moves",
                c.walks, c.windows, c.branch_states, c.moves
            );
            ("walks", subject)
        });
        record(&mut outcome, on_event, result);
    }
    for script in &options.populate {
        let result = roundtrip::populate_twice(set, script, options.seed_rows > 0);
        record(&mut outcome, on_event, result.map(|shown| ("populate", shown)));
    }
    // The round trip's down pass went from head to base when every down passed and none was
    // irreversible; the check then runs as one downgrade, from an image of head, only where
    // that pass could not show it. After a failure it would only meet the same defect again.
    if round.head_to_base_shown {
        let subject = "downgrade from head to base leaves an empty schema (the round trip's down pass)".to_string();
        record(&mut outcome, on_event, Ok(("head to base", subject)));
    } else if round.failed.is_empty() {
        if let Some(result) = roundtrip::head_to_base(set, &round.at_head, on_event) {
            let subject = "downgrade from head to base leaves an empty schema".to_string();
            record(&mut outcome, on_event, result.map(|()| ("head to base", subject)));
        }
    } else {
        let text = format!("head to base not run: {} revisions failed above", round.failed.len());
        on_event(Event::Note { verb: "Skipping", text });
    }
    if outcome.failed.iter().any(|f| f.kept.is_some()) {
        outcome.kept_dir = Some(scratch.keep());
    }
    Ok(outcome)
}
