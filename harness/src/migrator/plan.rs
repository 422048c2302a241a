//! Planning: the revisions a target means from a validated state, in the order they run.

use retort_build::RevisionId;

use super::{Direction, Migrator, State};
use crate::error::{Error, Result};
use crate::target::{Target, TargetError};

impl Migrator {
    /// The revisions an upgrade or downgrade to `target` would run, in order; refuses a
    /// downgrade through an irreversible migration.
    pub fn plan(&self, state: &State, direction: Direction, target: Target) -> Result<Vec<RevisionId>> {
        let graph = self.set.graph();
        let applied = &state.applied;
        let path = match (direction, target) {
            (Direction::Up, Target::Head) => graph.upgrade_path(applied, &[Target::single_head(graph)?]),
            (Direction::Up, Target::Heads) => graph.upgrade_path(applied, &graph.heads()),
            (Direction::Up, Target::Revision(rev)) => graph.upgrade_path(applied, &[rev]),
            (Direction::Up, Target::Relative(n)) if n > 0 => {
                let all = graph.upgrade_path(applied, &graph.heads());
                take(all, n, Direction::Up)?
            }
            (Direction::Down, Target::Base) => graph.downgrade_path(applied, &[]),
            (Direction::Down, Target::Revision(rev)) => {
                if !applied.contains(&rev) {
                    return Err(Error::Target(TargetError::NotApplied(rev)));
                }
                let mut path = graph.sorted(graph.descendants(&[rev]).into_iter().filter(|r| applied.contains(r)));
                path.reverse();
                path
            }
            (Direction::Down, Target::Relative(n)) if n < 0 => {
                let mut all = graph.sorted(applied.iter().copied());
                all.reverse();
                take(all, -n, Direction::Down)?
            }
            (direction, _) => return Err(Error::Target(TargetError::WrongDirection(direction))),
        };
        if direction == Direction::Down {
            for rev in &path {
                self.section(self.migration(rev)?, Direction::Down)?;
            }
        }
        Ok(path)
    }
}

fn take(path: Vec<RevisionId>, n: i32, direction: Direction) -> Result<Vec<RevisionId>> {
    let n = usize::try_from(n).unwrap_or(0);
    if path.len() < n {
        return Err(Error::Target(TargetError::TooFewSteps { direction, wanted: n, available: path.len() }));
    }
    Ok(path.into_iter().take(n).collect())
}
