//! Step 5 of the harness: proptest random walks over what the round trip did not cover.
//!
//! The round trip visits the states "first k revisions of the topological order" and proves
//! every single step between consecutive ones, so on a linear graph every walk is a composition
//! of proven steps and the walks have nothing to add. Where the order is not forced (between a
//! branch point and the merge that joins it, or to the end when branches stay apart), other
//! states exist: partial branch states, other orders of the same revisions. Each such stretch of
//! the order is a *window*; a walk starts from a stored image of a round-trip state inside one
//! window and makes random upgrades and downgrades to revisions of that window. After every
//! move the migrator's applied set must be the one the graph says, and the schema must equal
//! the canonical schema of that set: the round trip's own where it visited the set, else built
//! once from the nearest stored image by applying the rest in topological order. A failure
//! reports the seed and the (shrunk) walk with the revisions it targeted, so `--seed` replays it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use rusqlite::Connection;

use retort_build::{MigrationSet, RevisionId};

use super::roundtrip::Prefix;
use super::{Event, Finding};
use crate::migrator::{Direction, Migrator};
use crate::settings::Settings;
use crate::snapshot::{Schema, render_changes};
use crate::target::Target;

/// A stretch of the topological order where other orders are possible: indices `start..=end`.
/// Its states are the ancestor-closed sets holding the first `start` revisions and nothing past
/// `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    pub start: usize,
    pub end: usize,
}

/// The windows of `set`, in order (none for a linear graph).
pub(super) fn windows(set: &MigrationSet) -> Vec<Window> {
    let order = set.order();
    let n = order.len();
    let graph = set.graph();
    let index: HashMap<RevisionId, usize> = order.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    let words = n.div_ceil(64);
    // descendants[i]: bit j set when order[j] descends from order[i].
    let mut descendants = vec![vec![0u64; words]; n];
    for j in (0..n).rev() {
        let rev = order[j];
        for p in graph.parents(&rev).iter().chain(graph.depends_on(&rev)) {
            let Some(&i) = index.get(p) else { continue };
            let (lower, upper) = descendants.split_at_mut(j);
            let (from, to) = (&upper[0], &mut lower[i]);
            for (t, f) in to.iter_mut().zip(from) {
                *t |= f;
            }
            to[j / 64] |= 1 << (j % 64);
        }
    }
    let count = |bits: &[u64]| bits.iter().map(|w| w.count_ones() as usize).sum::<usize>();
    // Index i is forced when order[i] is an ancestor of every later revision.
    let forced: Vec<bool> = (0..n).map(|i| count(&descendants[i]) == n - 1 - i).collect();
    let mut out: Vec<Window> = Vec::new();
    let mut i = 0;
    while i < n {
        if forced[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && !forced[i] {
            i += 1;
        }
        // The window closes at the first revision descending from all of it (a merge).
        let mut common = vec![u64::MAX; words];
        for d in &descendants[start..i] {
            for (c, w) in common.iter_mut().zip(d) {
                *c &= w;
            }
        }
        let end = (i..n).find(|&j| common[j / 64] >> (j % 64) & 1 == 1).unwrap_or(n - 1);
        match out.last_mut() {
            Some(last) if last.end >= start => last.end = last.end.max(end),
            _ => out.push(Window { start, end }),
        }
        i = i.max(start + 1);
    }
    out
}

/// What the walks covered.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Coverage {
    /// Walks run.
    pub walks: u32,
    /// Windows walked in.
    pub windows: usize,
    /// Distinct states reached that the round trip did not visit.
    pub branch_states: usize,
    /// Moves made (each checked).
    pub moves: usize,
}

/// One move of a walk: upgrade to, or downgrade to, a revision of the window (picked by index).
#[derive(Clone, Copy, Debug)]
enum Move {
    Up(usize),
    Down(usize),
}

/// A walk: which window, which stored state to start from, and the moves.
#[derive(Clone, Debug)]
struct Walk {
    window: usize,
    start: usize,
    moves: Vec<Move>,
}

pub(super) fn run(
    set: &MigrationSet,
    windows: &[Window],
    prefixes: &BTreeMap<usize, Prefix>,
    failed: &BTreeSet<RevisionId>,
    options: &super::Options,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Coverage, Finding> {
    let (walks, seed) = (options.walks, options.seed);
    let order = set.order();
    // A window is walked when the round trip kept its states and passed all its revisions.
    let usable: Vec<Window> = windows
        .iter()
        .copied()
        .filter(|w| {
            (w.start..=w.end + 1).all(|k| prefixes.contains_key(&k))
                && order[w.start..=w.end].iter().all(|r| !failed.contains(r))
        })
        .collect();
    if usable.len() < windows.len() {
        on_event(Event::Note {
            verb: "Walking",
            text: format!(
                "{} of {} branch windows skipped: they hold a revision that failed above",
                windows.len() - usable.len(),
                windows.len()
            ),
        });
    }
    if usable.is_empty() {
        return Ok(Coverage::default());
    }
    // `harness::run` draws the seed once for the whole run.
    let seed = seed.unwrap_or_default();
    on_event(Event::Note {
        verb: "Walking",
        text: format!(
            "{walks} random walks in {} branch windows, seed {seed} (replay with `--seed {seed}`)",
            usable.len()
        ),
    });
    // The walks are shared between two threads when `Threads` says two pay: runner `i` draws
    // from the seed with `i` in its second word, so a seed replays both.
    let runners: u32 = if walks > 1 && options.threads.two() { 2 } else { 1 };
    // Every stored image opens with the same settings (`image::memory`): read them once.
    let opened = super::image::memory()
        .and_then(|conn| Settings::of(&conn))
        .map_err(|e| walks_failed(format!("cannot open an in-memory database: {e}")))?;
    let canonical = Mutex::default();
    let run_share = |index: u32| -> (Result<(), TestError<Walk>>, BTreeSet<Vec<RevisionId>>, usize) {
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        seed_bytes[8..12].copy_from_slice(&index.to_le_bytes());
        let cases = walks / runners + u32::from(index < walks % runners);
        let config = Config { cases, failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
        let walker = Walker {
            set,
            migrator: Migrator::new(set.clone()),
            opened: &opened,
            prefixes,
            canonical: &canonical,
            walked: RefCell::default(),
        };
        let coverage = RefCell::new((BTreeSet::new(), 0usize));
        let strategy = (
            0..usable.len(),
            0..usize::MAX,
            proptest::collection::vec(
                prop_oneof![(0..usize::MAX).prop_map(Move::Up), (0..usize::MAX).prop_map(Move::Down)],
                1..8,
            ),
        )
            .prop_map(|(window, start, moves)| Walk { window, start, moves });
        let result = runner.run(&strategy, |walk| {
            let mut trace = Vec::new();
            walker.walk(usable[walk.window], &walk, &mut trace, &coverage).map_err(|reason| {
                TestCaseError::fail(format!(
                    "walk: {}\n{reason}",
                    if trace.is_empty() { "(none)".into() } else { trace.join(" -> ") }
                ))
            })
        });
        let (states, moves) = coverage.into_inner();
        (result, states, moves)
    };
    let shares: Vec<_> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..runners).map(|i| scope.spawn(move || run_share(i))).collect();
        let mut all = vec![run_share(0)];
        all.extend(others.into_iter().map(|h| {
            h.join().unwrap_or_else(|_| (Err(TestError::Abort("a walk thread panicked".into())), BTreeSet::new(), 0))
        }));
        all
    });
    let mut states = BTreeSet::new();
    let mut moves = 0;
    let mut result = Ok(());
    for (r, s, m) in shares {
        states.extend(s);
        moves += m;
        if result.is_ok() {
            result = r;
        }
    }
    let coverage = Coverage { walks, windows: usable.len(), branch_states: states.len(), moves };
    let fail = walks_failed;
    match result {
        Ok(()) => Ok(coverage),
        Err(TestError::Fail(reason, _)) => {
            Err(fail(format!("a random walk failed (seed {seed}; replay with `--seed {seed}`)\n{reason}")))
        }
        Err(TestError::Abort(reason)) => Err(fail(format!("the walks stopped (seed {seed}): {reason}"))),
    }
}

/// The walks' one finding, saying why they failed.
fn walks_failed(message: String) -> Finding {
    Finding { revision: None, direction: None, check: "walks".into(), message, diff: None, kept: None }
}

/// A walk's moves as made: direction and target of each.
type Moves = Vec<(Direction, RevisionId)>;

/// A move as the graph and the migrator's plan resolve it before it runs.
struct Resolved {
    direction: Direction,
    target: RevisionId,
    planned: Planned,
}

enum Planned {
    /// The revisions it runs, in order, and the applied set it must leave.
    Run(Vec<RevisionId>, BTreeSet<RevisionId>),
    /// The migrator refuses it: a downgrade through an irreversible migration.
    Refused,
    /// The plan failed otherwise (a defect of the planner, reported as the walk's failure).
    Failed(String),
}

struct Walker<'a> {
    set: &'a MigrationSet,
    migrator: Migrator,
    /// The settings every stored image opens with.
    opened: &'a Settings,
    prefixes: &'a BTreeMap<usize, Prefix>,
    /// Canonical schemas of the states the round trip did not visit, built once each, shared
    /// by the runners (a state's canonical schema is the same whoever builds it).
    canonical: &'a Mutex<HashMap<Vec<RevisionId>, Schema>>,
    /// Every start state and run of moves already made, with each of its beginnings.
    walked: RefCell<std::collections::HashSet<(usize, Moves)>>,
}

impl Walker<'_> {
    fn walk(
        &self,
        window: Window,
        walk: &Walk,
        trace: &mut Vec<String>,
        coverage: &RefCell<(BTreeSet<Vec<RevisionId>>, usize)>,
    ) -> Result<(), String> {
        let order = self.set.order();
        let graph = self.set.graph();
        let k = window.start + walk.start % (window.end + 2 - window.start);
        let moves = self.moves_of(window, k, walk);
        // The moves that run SQL, from the same state as a walk already made (or the
        // beginning of one), would run the same SQL on the same state again: such a walk is
        // not run (small windows repeat often). A move to a state the database is in already
        // runs nothing, so it is left out (and so is a walk of such moves only).
        let made: Moves =
            moves.iter().filter(|m| matches!(m.planned, Planned::Run(..))).map(|m| (m.direction, m.target)).collect();
        {
            let mut walked = self.walked.borrow_mut();
            if made.is_empty() || walked.contains(&(k, made.clone())) {
                return Ok(());
            }
            walked.extend((1..=made.len()).map(|len| (k, made[..len].to_vec())));
        }
        let prefix = self.prefixes.get(&k).ok_or("a stored state is missing")?;
        let mut conn = prefix.image.open().map_err(|e| e.to_string())?;
        let mut cache = prefix.cache.clone().unwrap_or_default();
        let mut applied: BTreeSet<RevisionId> = order[..k].iter().copied().collect();
        // The history as recorded must be the stored state's revisions; after every move, the
        // set the graph says (each move is planned from the set before it, as `upgrade` and
        // `downgrade` plan from the history they read). Only base has no history table, and a
        // move from it that runs SQL is an upgrade, which creates one.
        let recorded = |conn: &Connection| crate::history::recorded(conn).map_err(|e| e.to_string());
        let start =
            if crate::history::exists(&conn).map_err(|e| e.to_string())? { recorded(&conn)? } else { BTreeSet::new() };
        if !same_revisions(&start, &applied) {
            return Err("the stored state's history is not its revisions".into());
        }
        trace.push(format!("start at {}", at(&graph.heads_of(&applied))));
        // One session for the walk's moves, as one `upgrade` or `downgrade` would hold for its steps.
        let mut session = self.migrator.session_known(&mut conn, self.opened).map_err(|e| e.to_string())?;
        for mv in &moves {
            trace.push(format!("{} {}", mv.direction, mv.target));
            let (path, expected) = match &mv.planned {
                Planned::Run(path, expected) => (path, expected),
                // Irreversible migrations make some downgrades impossible; that is not a failure.
                Planned::Refused => {
                    trace.push("(refused: irreversible)".into());
                    continue;
                }
                Planned::Failed(e) => return Err(e.clone()),
            };
            let report = session.run(path, mv.direction, &mut |_| {}).map_err(|e| e.to_string())?;
            let mut footprint = crate::watch::Footprint::default();
            report.steps.iter().for_each(|s| footprint.extend(&s.footprint));
            // The history as recorded must be the set the graph says. (A move writes only the
            // rows of the revisions it runs, each with the checksum the migrator holds.)
            let now = recorded(session.conn())?;
            if !same_revisions(&now, expected) {
                let known: BTreeSet<RevisionId> = now.iter().filter_map(|r| RevisionId::parse(r)).collect();
                return Err(format!(
                    "the database is at {}, but the graph says it should be at {}",
                    at(&graph.heads_of(&known)),
                    at(&graph.heads_of(expected))
                ));
            }
            applied.clone_from(expected);
            let actual = cache.read_after(session.conn(), &footprint).map_err(|e| e.to_string())?;
            let (canonical, visited) = self.canonical(&applied)?;
            if actual != canonical {
                return Err(format!(
                    "the database (at {}) differs from the canonical schema of its applied set:\n{}",
                    at(&graph.heads_of(&applied)),
                    render_changes(&canonical.diff(&actual))
                ));
            }
            let mut c = coverage.borrow_mut();
            c.1 += 1;
            if !visited {
                c.0.insert(applied.iter().copied().collect());
            }
        }
        Ok(())
    }

    /// What `mv` does from `applied` inside the window: its direction, its target, and the
    /// applied set the graph says it leaves; `None` for a downgrade with nothing to target.
    fn resolve(
        &self,
        in_window: &[RevisionId],
        applied: &BTreeSet<RevisionId>,
        mv: Move,
    ) -> Option<(Direction, RevisionId, BTreeSet<RevisionId>)> {
        let graph = self.set.graph();
        match mv {
            Move::Up(i) => {
                let t = in_window[i % in_window.len()];
                let mut expected = applied.clone();
                expected.extend(graph.ancestors(&[t]));
                expected.insert(t);
                Some((Direction::Up, t, expected))
            }
            Move::Down(i) => {
                let candidates: Vec<RevisionId> = in_window.iter().copied().filter(|r| applied.contains(r)).collect();
                let t = *candidates.get(i % candidates.len().max(1))?;
                let gone = graph.descendants(&[t]);
                Some((Direction::Down, t, applied.difference(&gone).copied().collect()))
            }
        }
    }

    /// The moves `walk` makes from the state after the first `k` revisions, resolved on the
    /// graph and planned as the migrator plans them, each from the applied set the moves before
    /// it leave; a move to the state it starts from (it would run nothing) is left out.
    fn moves_of(&self, window: Window, k: usize, walk: &Walk) -> Vec<Resolved> {
        let order = self.set.order();
        let in_window = &order[window.start..=window.end];
        let mut applied: BTreeSet<RevisionId> = order[..k].iter().copied().collect();
        let mut out = Vec::new();
        for mv in &walk.moves {
            let Some((direction, target, expected)) = self.resolve(in_window, &applied, *mv) else { continue };
            if expected == applied {
                continue;
            }
            let state = crate::migrator::State { applied: applied.clone(), rows: Vec::new() };
            let planned = match self.migrator.plan(&state, direction, Target::Revision(target)) {
                Ok(path) => {
                    applied.clone_from(&expected);
                    Planned::Run(path, expected)
                }
                Err(crate::error::Error::Irreversible { .. }) => Planned::Refused,
                Err(e) => Planned::Failed(e.to_string()),
            };
            out.push(Resolved { direction, target, planned });
        }
        out
    }

    /// The canonical schema of `applied`, and whether the round trip visited that state.
    fn canonical(&self, applied: &BTreeSet<RevisionId>) -> Result<(Schema, bool), String> {
        let order = self.set.order();
        let k = applied.len();
        if order[..k].iter().all(|r| applied.contains(r)) {
            let prefix = self.prefixes.get(&k).ok_or("the round trip kept no schema for this state")?;
            return Ok((prefix.schema.clone(), true));
        }
        let key: Vec<RevisionId> = applied.iter().copied().collect();
        if let Some(schema) = self.canonical.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok((schema.clone(), false));
        }
        // The longest visited state inside `applied`, plus the rest in topological order.
        let from = order.iter().take_while(|r| applied.contains(r)).count();
        let prefix = self.prefixes.get(&from).ok_or("no stored state to build the state from")?;
        let mut conn: Connection = prefix.image.open().map_err(|e| e.to_string())?;
        let rest = self.set.graph().sorted(applied.iter().copied().filter(|r| !order[..from].contains(r)));
        let report = self
            .migrator
            .run(&mut conn, &rest, Direction::Up, &mut |_| {})
            .map_err(|e| format!("building the canonical state failed: {e}"))?;
        let mut footprint = crate::watch::Footprint::default();
        report.steps.iter().for_each(|s| footprint.extend(&s.footprint));
        let mut cache = prefix.cache.clone().unwrap_or_default();
        let schema = cache.read_after(&conn, &footprint).map_err(|e| e.to_string())?;
        self.canonical.lock().unwrap_or_else(PoisonError::into_inner).insert(key, schema.clone());
        Ok((schema, false))
    }
}

/// True when the recorded revisions are exactly `applied`.
fn same_revisions(recorded: &BTreeSet<String>, applied: &BTreeSet<RevisionId>) -> bool {
    recorded.len() == applied.len() && applied.iter().all(|r| recorded.contains(r.as_str()))
}

/// "base" or the heads of a state, for messages.
fn at(heads: &[RevisionId]) -> String {
    if heads.is_empty() {
        "base".to_string()
    } else {
        heads.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(" + ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(edges: &[(&str, &[&str])]) -> MigrationSet {
        use retort_build::testing::{Fixture, set};
        let table = |tag: &str| format!("t{tag}");
        set(&edges
            .iter()
            .map(|(tag, parents)| {
                let (up, down) = (format!("CREATE TABLE t{tag} (x);"), format!("DROP TABLE t{tag};"));
                Fixture::new(tag, parents, &up, Some(&down)).tables(&[(&table(tag), "created")])
            })
            .collect::<Vec<_>>())
    }

    #[test]
    fn moves_that_run_nothing_are_left_out_and_refused_ones_marked() {
        use retort_build::testing::{Fixture, id, set};
        // a -> (b, c) -> d, with the merge d irreversible: order a, b, c, d, one window b..=d.
        let create = |tag: &str| format!("CREATE TABLE t{tag} (x);");
        let fixture = |tag: &str, parents: &[&str], reversible: bool| {
            let down = format!("DROP TABLE t{tag};");
            Fixture::new(tag, parents, &create(tag), reversible.then_some(down.as_str()))
                .tables(&[(&format!("t{tag}"), "created")])
        };
        let set = set(&[
            fixture("a", &[], true),
            fixture("b", &["a"], true),
            fixture("c", &["a"], true),
            fixture("d", &["b", "c"], false),
        ]);
        let window = Window { start: 1, end: 3 };
        assert_eq!(windows(&set), [window]);
        let opened = Settings::of(&super::super::image::memory().unwrap()).unwrap();
        let prefixes = BTreeMap::new();
        let walker = Walker {
            set: &set,
            migrator: Migrator::new(set.clone()),
            opened: &opened,
            prefixes: &prefixes,
            canonical: &Mutex::default(),
            walked: RefCell::default(),
        };
        let applied = |tags: &[&str]| tags.iter().map(|t| id(t)).collect::<BTreeSet<_>>();
        let resolved = |start: usize, moves: Vec<Move>| {
            walker
                .moves_of(window, window.start + start, &Walk { window: 0, start, moves })
                .into_iter()
                .map(|m| {
                    let planned = match m.planned {
                        Planned::Run(path, leaves) => Some((path, leaves)),
                        Planned::Refused => None,
                        Planned::Failed(e) => panic!("{e}"),
                    };
                    (m.direction, m.target, planned)
                })
                .collect::<Vec<_>>()
        };
        // From {a}: up to b, up to b again (already there: left out), up to c.
        assert_eq!(
            resolved(0, vec![Move::Up(0), Move::Up(0), Move::Up(1)]),
            [
                (Direction::Up, id("b"), Some((vec![id("b")], applied(&["a", "b"])))),
                (Direction::Up, id("c"), Some((vec![id("c")], applied(&["a", "b", "c"])))),
            ]
        );
        // From head: down to d (nothing above it: left out), down to b (through the
        // irreversible d: refused), up to b (applied: left out).
        assert_eq!(resolved(3, vec![Move::Down(2), Move::Down(0), Move::Up(0)]), [(Direction::Down, id("b"), None)]);
    }

    #[test]
    fn a_linear_chain_has_no_window() {
        assert_eq!(windows(&set_of(&[("a", &[]), ("b", &["a"]), ("c", &["b"])])), []);
    }

    #[test]
    fn a_fork_and_its_merge_make_one_window() {
        // a -> (b, c) -> d -> e: order a, b, c, d, e; b is not forced (c does not descend
        // from it), the window closes at the merge d.
        let set = set_of(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"]), ("e", &["d"])]);
        assert_eq!(windows(&set), [Window { start: 1, end: 3 }]);
    }

    #[test]
    fn unmerged_branches_stay_open_to_the_end() {
        let set = set_of(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b"])]);
        assert_eq!(windows(&set), [Window { start: 1, end: 3 }]);
    }
}
