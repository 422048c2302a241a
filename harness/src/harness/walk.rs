//! Step 5 of the harness: proptest random walks of upgrades and downgrades to random targets,
//! including partial branch states. After every step the schema must equal the canonical schema
//! of the applied set, built fresh in topological order. A failure reports the seed and the
//! (shrunk) walk, so `--seed` replays it.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use rusqlite::Connection;

use retort_build::{MigrationSet, RevisionId};

use super::{Event, Finding};
use crate::snapshot::{Schema, render_changes};
use crate::{Direction, DowngradeOptions, Migrator, Target};

/// One move of a walk: up to, or down to, the revision at an index of the order (base for a
/// down past the end).
#[derive(Clone, Copy, Debug)]
enum Move {
    Up(usize),
    Down(usize),
}

pub(super) fn run(
    set: &MigrationSet,
    walks: u32,
    seed: Option<u64>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<u32, Finding> {
    let seed = seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
    });
    on_event(Event::Note {
        verb: "Walking",
        text: format!("{walks} random walks, seed {seed} (replay with `--seed {seed}`)"),
    });
    let n = set.len();
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases: walks, failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let migrator = Migrator::new(set.clone());
    let canonical: RefCell<HashMap<Vec<RevisionId>, Schema>> = RefCell::new(HashMap::new());
    let moves = proptest::collection::vec(prop_oneof![(0..n).prop_map(Move::Up), (0..=n).prop_map(Move::Down)], 1..12);
    let result = runner.run(&moves, |walk| {
        let conn = Connection::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let order = set.order();
        for (step, mv) in walk.iter().enumerate() {
            let applied = migrator.state(&conn).map_err(|e| TestCaseError::fail(e.to_string()))?.applied;
            let outcome = match *mv {
                Move::Up(i) => migrator.upgrade(&conn, Target::Revision(order[i]), &mut |_| {}).map(drop),
                Move::Down(i) => {
                    let applied: Vec<RevisionId> = set.graph().sorted(applied.iter().copied());
                    let target = if i >= n || applied.is_empty() {
                        Target::Base
                    } else {
                        Target::Revision(applied[i % applied.len()])
                    };
                    migrator.downgrade(&conn, target, DowngradeOptions { backup: false }, &mut |_| {}).map(drop)
                }
            };
            match outcome {
                Ok(()) => {}
                // Irreversible migrations make some downgrades impossible; that is not a failure.
                Err(crate::Error::Irreversible { .. }) => continue,
                Err(e) => return Err(TestCaseError::fail(format!("step {}: {e}", step + 1))),
            }
            let now = migrator.state(&conn).map_err(|e| TestCaseError::fail(e.to_string()))?.applied;
            let actual = Schema::read(&conn).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let expected = canonical_schema(&migrator, &canonical, &now).map_err(TestCaseError::fail)?;
            if actual != expected {
                let at: Vec<String> = set.graph().heads_of(&now).iter().map(RevisionId::to_string).collect();
                return Err(TestCaseError::fail(format!(
                    "after step {} the database (at {}) differs from the canonical schema of its applied set:\n{}",
                    step + 1,
                    if at.is_empty() { "base".to_string() } else { at.join(", ") },
                    render_changes(&expected.diff(&actual))
                )));
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(walks),
        Err(TestError::Fail(reason, walk)) => {
            let order = set.order();
            let moves: Vec<String> = walk
                .iter()
                .map(|m| match *m {
                    Move::Up(i) => format!("upgrade {}", order[i]),
                    Move::Down(i) if i >= n => "downgrade base".to_string(),
                    Move::Down(i) => format!("downgrade to the applied revision #{i}"),
                })
                .collect();
            Err(Finding {
                revision: None,
                direction: None,
                check: "walks".into(),
                message: format!(
                    "a random walk failed (seed {seed}; replay with `--seed {seed}`)\nwalk: {}\n{reason}",
                    moves.join(" -> ")
                ),
                diff: None,
                kept: None,
            })
        }
        Err(TestError::Abort(reason)) => Err(Finding {
            revision: None,
            direction: None,
            check: "walks".into(),
            message: format!("the walks stopped (seed {seed}): {reason}"),
            diff: None,
            kept: None,
        }),
    }
}

/// The schema of exactly `applied`, replayed on a fresh database in topological order (memoised).
fn canonical_schema(
    migrator: &Migrator,
    memo: &RefCell<HashMap<Vec<RevisionId>, Schema>>,
    applied: &BTreeSet<RevisionId>,
) -> Result<Schema, String> {
    let key: Vec<RevisionId> = applied.iter().copied().collect();
    if let Some(schema) = memo.borrow().get(&key) {
        return Ok(schema.clone());
    }
    let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
    let path = migrator.set().graph().sorted(applied.iter().copied());
    migrator
        .run(&conn, &path, Direction::Up, &mut |_| {})
        .map_err(|e| format!("replaying the applied set failed: {e}"))?;
    let schema = Schema::read(&conn).map_err(|e| e.to_string())?;
    memo.borrow_mut().insert(key, schema.clone());
    Ok(schema)
}
