//! `Target`: where an upgrade, downgrade or stamp goes, parsed once against the graph.

use retort_build::{Graph, RevisionId};

use crate::error::{Error, Result};

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
                _ => Err(Error::Target(format!("`{text}` is not a step count; write `+N` or `-N` with N >= 1"))),
            };
        }
        graph.resolve(text).map(Target::Revision).map_err(|e| Error::Target(e.to_string()))
    }

    /// The single head, or an error listing the heads.
    pub fn single_head(graph: &Graph) -> Result<RevisionId> {
        match graph.heads().as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::Target("there are no migrations".to_string())),
            heads => Err(Error::Target(format!(
                "there are several heads ({}); name one, use `heads`, or join them with `cargo xtask merge`",
                heads.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}
