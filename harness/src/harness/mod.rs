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

fn panicked() -> Finding {
    Finding {
        revision: None,
        direction: None,
        check: "harness".into(),
        message: "a background check panicked; this is a bug in Retort".into(),
        diff: None,
        kept: None,
    }
}

/// Steps 5, 6 and 7: notes to print and results, in order.
fn background_checks(set: &MigrationSet, options: &Options) -> (Vec<(&'static str, String)>, Vec<Checked>) {
    let mut notes = Vec::new();
    let mut results = Vec::new();
    if options.walks > 0 {
        let mut note = |e: Event<'_>| {
            if let Event::Note { verb: "Walking", text } = e {
                notes.push(("Walking", text));
            }
        };
        results.push(
            walk::run(set, options.walks, options.seed, &mut note).map(|n| ("walks", format!("{n} random walks"))),
        );
    }
    for script in &options.populate {
        let result = roundtrip::populate_twice(set, script);
        results.push(result.map(|()| ("populate", format!("{} is idempotent", script.file.display()))));
    }
    let mut note = |e: Event<'_>| {
        if let Event::Note { text, .. } = e {
            notes.push(("Irreversible", text));
        }
    };
    if let Some(result) = roundtrip::head_to_base(set, &mut note) {
        results
            .push(result.map(|()| ("head to base", "downgrade from head to base leaves an empty schema".to_string())));
    }
    (notes, results)
}

/// Runs steps 2–7 over `set`, reporting through `on_event`.
pub fn run(set: &MigrationSet, options: &Options, on_event: &mut dyn FnMut(Event<'_>)) -> crate::Result<Outcome> {
    let scratch = tempfile::Builder::new()
        .prefix("retort-migrate-test-")
        .tempdir()
        .map_err(|source| crate::Error::Io { context: "cannot create a temporary directory".into(), source })?;
    let mut outcome = Outcome::default();
    // Walks, populate scripts and head → base work on in-memory databases of their own, so
    // they run on a second thread while the round trip waits on its file database; their
    // reports are printed after the round trip's, in a fixed order.
    let (round, (notes, results)) = std::thread::scope(|scope| {
        let background = scope.spawn(|| background_checks(set, options));
        let mut report = |result: Checked| record(&mut outcome, &mut *on_event, result);
        let mut notes = Vec::new();
        let round = roundtrip::run(
            set,
            scratch.path(),
            &mut |e| {
                if let Event::Note { verb, text } = e {
                    notes.push((verb.to_string(), text));
                }
            },
            &mut report,
        );
        for (verb, text) in notes {
            on_event(Event::Note { verb: &verb, text });
        }
        (round, background.join().unwrap_or_else(|_| (Vec::new(), vec![Err(panicked())])))
    });
    let mut round = round?;
    outcome.changes = std::mem::take(&mut round.changes);
    outcome.head_schema = std::mem::take(&mut round.head_schema);
    for (verb, text) in notes {
        on_event(Event::Note { verb, text });
    }
    for result in results {
        record(&mut outcome, on_event, result);
    }
    if outcome.failed.iter().any(|f| f.kept.is_some()) {
        outcome.kept_dir = Some(scratch.keep());
    }
    Ok(outcome)
}
