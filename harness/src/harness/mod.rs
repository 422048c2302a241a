//! The round-trip harness behind `cargo xtask migrate-test` (SPEC §8, steps 2–7), on throw-away
//! databases: the schema-only rule confirmed with SQLite's authorizer, every revision's
//! up → down → up round trip in one incremental pass, proptest walks over the graph, populate
//! idempotency, and head → base.
//!
//! Guarantees: **tests touch no shared database** (every database is a fresh temp file or in
//! memory); one run reports every broken revision (after a failure the good state is rebuilt and
//! the pass carries on); a failing database is kept and its path reported.

mod roundtrip;
mod walk;

use std::path::PathBuf;

use retort_build::populate::PopulateScript;
use retort_build::{MigrationSet, RevisionId};

use crate::Direction;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of random walks (0 skips them).
    pub walks: u32,
    /// Seed of the walks; random when `None` (the report prints the one used).
    pub seed: Option<u64>,
    /// Populate scripts to prove idempotent.
    pub populate: Vec<PopulateScript>,
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

/// Runs steps 2–7 over `set`, reporting through `on_event`.
pub fn run(set: &MigrationSet, options: &Options, on_event: &mut dyn FnMut(Event<'_>)) -> crate::Result<Outcome> {
    let scratch = tempfile::Builder::new()
        .prefix("retort-migrate-test-")
        .tempdir()
        .map_err(|source| crate::Error::Io { context: "cannot create a temporary directory".into(), source })?;
    let mut outcome = Outcome::default();
    let mut round = roundtrip::run(set, scratch.path(), &mut |result| record(&mut outcome, &mut *on_event, result))?;
    outcome.changes = std::mem::take(&mut round.changes);
    outcome.head_schema = std::mem::take(&mut round.head_schema);
    if options.walks > 0 && set.is_empty() {
        on_event(Event::Note { verb: "Walking", text: "no walks: there are no migrations".into() });
    } else if options.walks > 0 {
        let result = walk::run(set, options.walks, options.seed, on_event);
        record(&mut outcome, on_event, result.map(|n| ("walks", format!("{n} random walks"))));
    }
    for script in &options.populate {
        let result = roundtrip::populate_twice(set, script);
        record(
            &mut outcome,
            on_event,
            result.map(|()| ("populate", format!("{} is idempotent", script.file.display()))),
        );
    }
    // Head → base starts from an in-memory copy of the round-trip database when the round trip
    // left it at head (every revision passed), which saves replaying every upgrade.
    let at_head = round.all_passed.then_some(&round.db);
    if let Some(result) = roundtrip::head_to_base(set, at_head, on_event) {
        let subject = "downgrade from head to base leaves an empty schema".to_string();
        record(&mut outcome, on_event, result.map(|()| ("head to base", subject)));
    }
    if outcome.failed.iter().any(|f| f.kept.is_some()) {
        outcome.kept_dir = Some(scratch.keep());
    }
    Ok(outcome)
}
