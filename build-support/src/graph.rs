//! The revision graph: parents (`Revises`), extra ordering edges (`Depends On`) and branch labels.
//!
//! Guarantees: a `Graph` exists only for a valid set (no duplicate revision, no unknown parent or
//! dependency, no cycle, unique labels); its topological order is deterministic (ties broken by
//! revision) and every query answers in that order.

use std::collections::{BTreeMap, BTreeSet};

use crate::key::Key;
use crate::migration::Migration;
use crate::problem::{Problem, ProblemKind};
use crate::revision::RevisionId;

#[derive(Clone, Debug, Default)]
struct Node {
    parents: Vec<RevisionId>,
    depends_on: Vec<RevisionId>,
    children: Vec<RevisionId>,
    dependents: Vec<RevisionId>,
    labels: Vec<String>,
}

/// A validated revision graph.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: BTreeMap<RevisionId, Node>,
    order: Vec<RevisionId>,
    position: BTreeMap<RevisionId, usize>,
}

/// Why a revision text did not resolve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Nothing matches.
    #[error("unknown revision `{0}`; the `history` command lists them")]
    Unknown(String),
    /// A prefix matches several revisions.
    #[error("revision prefix `{prefix}` is ambiguous: it matches {}; give more digits", list(.matches))]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// Every match.
        matches: Vec<RevisionId>,
    },
    /// A prefix shorter than 4 characters.
    #[error("revision prefix `{0}` is too short; give at least 4 hex digits")]
    TooShort(String),
    /// `label@head` where the label's branch has several heads.
    #[error("`{label}@head` is ambiguous: the branch has heads {}; name one", list(.heads))]
    AmbiguousLabelHead {
        /// The label.
        label: String,
        /// The heads.
        heads: Vec<RevisionId>,
    },
}

fn list(revs: &[RevisionId]) -> String {
    revs.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(", ")
}

impl Graph {
    /// Builds and validates the graph of `migrations`.
    pub fn build(migrations: &[Migration]) -> Result<Graph, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut nodes: BTreeMap<RevisionId, Node> = BTreeMap::new();
        let mut files: BTreeMap<RevisionId, &Migration> = BTreeMap::new();
        let mut labels: BTreeMap<&str, RevisionId> = BTreeMap::new();
        for m in migrations {
            if let Some(other) = files.get(&m.revision) {
                let kind = ProblemKind::DuplicateRevision { revision: m.revision, other: other.file.clone() };
                problems.push(Problem::error(&m.file, m.line_of_key(Key::RevisionId), kind));
                continue;
            }
            files.insert(m.revision, m);
            for label in &m.branch_labels {
                if let Some(other) = labels.insert(label, m.revision) {
                    let kind = ProblemKind::DuplicateLabel { label: label.clone(), other };
                    problems.push(Problem::error(&m.file, m.line_of_key(Key::BranchLabels), kind));
                }
            }
            let node = Node {
                parents: m.parents.clone(),
                depends_on: m.depends_on.clone(),
                labels: m.branch_labels.clone(),
                ..Node::default()
            };
            nodes.insert(m.revision, node);
        }
        let known: BTreeSet<RevisionId> = nodes.keys().copied().collect();
        for m in files.values() {
            for (key, list) in [(Key::Revises, &m.parents), (Key::DependsOn, &m.depends_on)] {
                for target in list.iter().filter(|t| !known.contains(t)) {
                    let kind = ProblemKind::UnknownRevision { key, revision: *target };
                    problems.push(Problem::error(&m.file, m.line_of_key(key), kind));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let edges: Vec<(RevisionId, RevisionId, bool)> = nodes
            .iter()
            .flat_map(|(rev, n)| {
                let parents = n.parents.iter().map(move |p| (*p, *rev, true));
                parents.chain(n.depends_on.iter().map(move |d| (*d, *rev, false)))
            })
            .collect();
        for (from, to, is_parent) in edges {
            let node = nodes.get_mut(&from).expect("checked known");
            if is_parent { node.children.push(to) } else { node.dependents.push(to) }
        }
        let mut graph = Graph { nodes, order: Vec::new(), position: BTreeMap::new() };
        match graph.topological_order() {
            Ok(order) => {
                graph.position = order.iter().enumerate().map(|(i, r)| (*r, i)).collect();
                graph.order = order;
                Ok(graph)
            }
            Err(cycle) => {
                let m = files[&cycle[0]];
                Err(vec![Problem::error(&m.file, m.line_of_key(Key::Revises), ProblemKind::Cycle { cycle })])
            }
        }
    }

    fn successors(&self, rev: &RevisionId) -> impl Iterator<Item = &RevisionId> {
        let node = &self.nodes[rev];
        node.children.iter().chain(&node.dependents)
    }

    fn predecessors(&self, rev: &RevisionId) -> impl Iterator<Item = &RevisionId> {
        let node = &self.nodes[rev];
        node.parents.iter().chain(&node.depends_on)
    }

    fn topological_order(&self) -> Result<Vec<RevisionId>, Vec<RevisionId>> {
        let mut indegree: BTreeMap<RevisionId, usize> =
            self.nodes.keys().map(|r| (*r, self.predecessors(r).count())).collect();
        let mut ready: BTreeSet<RevisionId> = indegree.iter().filter(|(_, d)| **d == 0).map(|(r, _)| *r).collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(rev) = ready.pop_first() {
            order.push(rev);
            for next in self.successors(&rev) {
                let d = indegree.get_mut(next).expect("known");
                *d -= 1;
                if *d == 0 {
                    ready.insert(*next);
                }
            }
        }
        if order.len() == self.nodes.len() {
            return Ok(order);
        }
        // Every node left has a predecessor left: walk predecessors until one repeats.
        let left: BTreeSet<RevisionId> = indegree.iter().filter(|(_, d)| **d > 0).map(|(r, _)| *r).collect();
        let mut walk = vec![*left.first().expect("a cycle leaves nodes")];
        loop {
            let last = walk[walk.len() - 1];
            let next =
                *self.predecessors(&last).find(|p| left.contains(p)).expect("a node left has a predecessor left");
            if let Some(start) = walk.iter().position(|r| *r == next) {
                let mut cycle: Vec<RevisionId> = walk[start..].to_vec();
                cycle.reverse();
                cycle.push(cycle[0]);
                return Err(cycle);
            }
            walk.push(next);
        }
    }

    /// Every revision in topological order (parents and dependencies first, ties by revision).
    pub fn order(&self) -> &[RevisionId] {
        &self.order
    }

    /// True when `rev` is in the graph.
    pub fn contains(&self, rev: &RevisionId) -> bool {
        self.nodes.contains_key(rev)
    }

    /// The `Revises` parents of `rev`.
    pub fn parents(&self, rev: &RevisionId) -> &[RevisionId] {
        self.nodes.get(rev).map_or(&[], |n| &n.parents)
    }

    /// The `Depends On` revisions of `rev`.
    pub fn depends_on(&self, rev: &RevisionId) -> &[RevisionId] {
        self.nodes.get(rev).map_or(&[], |n| &n.depends_on)
    }

    /// Revisions that no other revision `Revises`, in order.
    pub fn heads(&self) -> Vec<RevisionId> {
        self.order.iter().filter(|r| self.nodes[*r].children.is_empty()).copied().collect()
    }

    /// Revisions with no parent, in order.
    pub fn roots(&self) -> Vec<RevisionId> {
        self.order.iter().filter(|r| self.nodes[*r].parents.is_empty()).copied().collect()
    }

    /// Revisions with two or more children (where branches start), in order.
    pub fn branch_points(&self) -> Vec<RevisionId> {
        self.order.iter().filter(|r| self.nodes[*r].children.len() >= 2).copied().collect()
    }

    /// Everything `revs` need applied first (parents and dependencies, transitively), not `revs`.
    pub fn ancestors(&self, revs: &[RevisionId]) -> BTreeSet<RevisionId> {
        self.closure(revs, |g, r| g.predecessors(r).copied().collect())
    }

    /// Everything that needs one of `revs` (transitively), not `revs` themselves.
    pub fn descendants(&self, revs: &[RevisionId]) -> BTreeSet<RevisionId> {
        self.closure(revs, |g, r| g.successors(r).copied().collect())
    }

    fn closure(
        &self,
        revs: &[RevisionId],
        step: impl Fn(&Graph, &RevisionId) -> Vec<RevisionId>,
    ) -> BTreeSet<RevisionId> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<RevisionId> = revs.iter().filter(|r| self.contains(r)).flat_map(|r| step(self, r)).collect();
        while let Some(rev) = stack.pop() {
            if seen.insert(rev) {
                stack.extend(step(self, &rev));
            }
        }
        for rev in revs {
            seen.remove(rev);
        }
        seen
    }

    /// `revs` sorted into topological order.
    pub fn sorted(&self, revs: impl IntoIterator<Item = RevisionId>) -> Vec<RevisionId> {
        let mut revs: Vec<RevisionId> = revs.into_iter().filter(|r| self.contains(r)).collect();
        revs.sort_by_key(|r| self.position[r]);
        revs.dedup();
        revs
    }

    /// The revisions to apply, in order, so that `targets` and their ancestors are all applied.
    pub fn upgrade_path(&self, applied: &BTreeSet<RevisionId>, targets: &[RevisionId]) -> Vec<RevisionId> {
        let mut wanted = self.ancestors(targets);
        wanted.extend(targets.iter().copied());
        self.sorted(wanted.into_iter().filter(|r| !applied.contains(r)))
    }

    /// The revisions to undo, in order, so that only `keep` and their ancestors stay applied.
    pub fn downgrade_path(&self, applied: &BTreeSet<RevisionId>, keep: &[RevisionId]) -> Vec<RevisionId> {
        let mut kept = self.ancestors(keep);
        kept.extend(keep.iter().copied());
        let mut path = self.sorted(applied.iter().copied().filter(|r| !kept.contains(r)));
        path.reverse();
        path
    }

    /// Applied revisions that no applied revision builds on: the database's current heads.
    pub fn heads_of(&self, applied: &BTreeSet<RevisionId>) -> Vec<RevisionId> {
        let sorted = self.sorted(applied.iter().copied());
        sorted.iter().filter(|r| !self.successors(r).any(|c| applied.contains(c))).copied().collect()
    }

    /// Where `applied` is not closed under ancestry (a state upgrades cannot reach): each
    /// revision of it, in topological order, that has a parent or dependency outside it, with
    /// the first such one. Empty for a consistent state. Revisions not in the graph are skipped.
    pub fn missing_ancestors(&self, applied: &BTreeSet<RevisionId>) -> Vec<(RevisionId, RevisionId)> {
        self.sorted(applied.iter().copied())
            .into_iter()
            .filter_map(|r| self.predecessors(&r).find(|p| !applied.contains(p)).map(|p| (r, *p)))
            .collect()
    }

    /// Revisions from `from` (exclusive) to `to` (inclusive) along the graph, in order.
    pub fn range(&self, from: Option<RevisionId>, to: RevisionId) -> Vec<RevisionId> {
        let mut upto = self.ancestors(&[to]);
        upto.insert(to);
        if let Some(from) = from {
            let mut before = self.ancestors(&[from]);
            before.insert(from);
            upto.retain(|r| !before.contains(r));
        }
        self.sorted(upto)
    }

    /// Resolves a full revision, a unique prefix of 4+ digits, a branch label, or `label@head`.
    pub fn resolve(&self, text: &str) -> Result<RevisionId, ResolveError> {
        if let Some(label) = text.strip_suffix("@head") {
            let start = self.resolve_label(label).ok_or_else(|| ResolveError::Unknown(text.to_string()))?;
            let mut branch = self.descendants(&[start]);
            branch.insert(start);
            let heads: Vec<RevisionId> = self.heads().into_iter().filter(|h| branch.contains(h)).collect();
            return match heads.as_slice() {
                [one] => Ok(*one),
                _ => Err(ResolveError::AmbiguousLabelHead { label: label.to_string(), heads }),
            };
        }
        if let Some(rev) = self.resolve_label(text) {
            return Ok(rev);
        }
        if let Some(rev) = RevisionId::parse(text).filter(|r| self.contains(r)) {
            return Ok(rev);
        }
        let is_hex = !text.is_empty() && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !is_hex {
            return Err(ResolveError::Unknown(text.to_string()));
        }
        if text.len() < 4 {
            return Err(ResolveError::TooShort(text.to_string()));
        }
        let matches: Vec<RevisionId> = self.nodes.keys().filter(|r| r.as_str().starts_with(text)).copied().collect();
        match matches.as_slice() {
            [] => Err(ResolveError::Unknown(text.to_string())),
            [one] => Ok(*one),
            _ => Err(ResolveError::Ambiguous { prefix: text.to_string(), matches }),
        }
    }

    fn resolve_label(&self, label: &str) -> Option<RevisionId> {
        self.nodes.iter().find(|(_, n)| n.labels.iter().any(|l| l == label)).map(|(r, _)| *r)
    }
}
