//! `Target`: where an upgrade, downgrade or stamp goes, parsed once against the graph.

use retort_build::{Graph, ResolveError, RevisionId};

use crate::error::{Error, Result};
use crate::migrator::Direction;

/// Why a target cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetError {
    /// A revision these migrations do not contain was asked for.
    NotAMigration(RevisionId),
    /// A downgrade to a revision that is not applied.
    NotApplied(RevisionId),
    /// A target the direction does not go to (`-N` or `base` for an upgrade, `head` or `+N`
    /// for a downgrade).
    WrongDirection(Direction),
    /// `stamp` to `+N` or `-N`.
    RelativeStamp,
    /// More steps than there are to take.
    TooFewSteps {
        /// Upgrade or downgrade.
        direction: Direction,
        /// The steps asked for.
        wanted: usize,
        /// The steps there are.
        available: usize,
    },
    /// `+N`/`-N` whose N is not a positive number.
    BadStepCount(String),
    /// Text that names no revision, label or prefix.
    Unresolved(ResolveError),
    /// `head` with no migrations at all.
    NoMigrations,
    /// `head` when there are several.
    SeveralHeads(Vec<RevisionId>),
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::NotAMigration(rev) => write!(f, "{rev} is not one of these migrations"),
            TargetError::NotApplied(rev) => {
                write!(f, "{rev} is not applied, so it is not a downgrade target; `current` shows what is")
            }
            TargetError::WrongDirection(Direction::Up) => {
                f.write_str("an upgrade goes to `head`, `heads`, a revision or `+N`; use `downgrade` to go back")
            }
            TargetError::WrongDirection(Direction::Down) => {
                f.write_str("a downgrade goes to a revision, `-N` or `base`")
            }
            TargetError::RelativeStamp => f.write_str("`stamp` takes a revision, `head`, `heads` or `base`"),
            TargetError::TooFewSteps { direction, wanted, available } => {
                write!(f, "cannot {direction} {wanted} steps: only {available} available")
            }
            TargetError::BadStepCount(text) => {
                write!(f, "`{text}` is not a step count; write `+N` or `-N` with N >= 1")
            }
            TargetError::Unresolved(e) => e.fmt(f),
            TargetError::NoMigrations => f.write_str("there are no migrations"),
            TargetError::SeveralHeads(heads) => write!(
                f,
                "there are several heads ({}); name one, use `heads`, or join them with the `merge` command",
                heads.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// A migration target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The single head (an error when there are several).
    Head,
    /// Every head.
    Heads,
    /// A revision (from a full id, a unique prefix, a label or `label@head`).
    Revision(RevisionId),
    /// `+N` (upgrade N steps) or `-N` (downgrade N steps).
    Relative(i32),
    /// Nothing applied.
    Base,
}

impl Target {
    /// Parses `head`, `heads`, `base`, `+N`, `-N`, or anything `Graph::resolve` accepts.
    pub fn parse(text: &str, graph: &Graph) -> Result<Target> {
        let text = text.trim();
        match text {
            "head" => return Ok(Target::Head),
            "heads" => return Ok(Target::Heads),
            "base" => return Ok(Target::Base),
            _ => {}
        }
        if let Some(n) = text.strip_prefix('+').or_else(|| text.strip_prefix('-').map(|_| text)) {
            return match n.parse::<i32>() {
                Ok(n) if n != 0 => Ok(Target::Relative(n)),
                _ => Err(Error::Target(TargetError::BadStepCount(text.to_string()))),
            };
        }
        graph.resolve(text).map(Target::Revision).map_err(|e| Error::Target(TargetError::Unresolved(e)))
    }

    /// The single head, or an error listing the heads.
    pub fn single_head(graph: &Graph) -> Result<RevisionId> {
        match graph.heads().as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::Target(TargetError::NoMigrations)),
            heads => Err(Error::Target(TargetError::SeveralHeads(heads.to_vec()))),
        }
    }
}
