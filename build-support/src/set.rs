//! `MigrationSet`: every migration of a directory, parsed, checksummed and linked into a graph.
//!
//! Guarantees: a `MigrationSet` exists only when every file parsed and the graph is valid; each
//! migration's checksum is computed once, by `checksum::checksum`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::checksum;
use crate::graph::Graph;
use crate::migration::Migration;
use crate::problem::{Problem, Problems};
use crate::revision::RevisionId;

/// A migration file's shown path and raw bytes, before parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path shown in diagnostics (workspace-relative where possible).
    pub display: PathBuf,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// A valid set of migrations.
#[derive(Clone, Debug)]
pub struct MigrationSet {
    migrations: BTreeMap<RevisionId, Migration>,
    checksums: BTreeMap<RevisionId, String>,
    graph: Graph,
}

impl MigrationSet {
    /// Parses every file and builds the graph, collecting every problem.
    pub fn from_files(files: &[SourceFile]) -> Result<MigrationSet, Problems> {
        let mut problems: Vec<Problem> = Vec::new();
        let mut parsed = Vec::new();
        for file in files {
            match crate::migration::parse(&file.display, &file.bytes) {
                Ok(m) => parsed.push(m),
                Err(mut p) => problems.append(&mut p),
            }
        }
        match MigrationSet::from_migrations(parsed) {
            Ok(set) if problems.is_empty() => Ok(set),
            Ok(_) => Err(Problems(problems)),
            Err(Problems(mut p)) => {
                problems.append(&mut p);
                Err(Problems(problems))
            }
        }
    }

    /// Links migrations already built (parsed, or read from a foreign layout) into a set.
    pub fn from_migrations(migrations: Vec<Migration>) -> Result<MigrationSet, Problems> {
        let graph = Graph::build(&migrations).map_err(Problems)?;
        let checksums = migrations.iter().map(|m| (m.revision, checksum::checksum(m))).collect();
        let migrations = migrations.into_iter().map(|m| (m.revision, m)).collect();
        Ok(MigrationSet { migrations, checksums, graph })
    }

    /// The migration of `rev`.
    pub fn get(&self, rev: &RevisionId) -> Option<&Migration> {
        self.migrations.get(rev)
    }

    /// The checksum of `rev` (empty for an unknown revision).
    pub fn checksum(&self, rev: &RevisionId) -> &str {
        self.checksums.get(rev).map_or("", String::as_str)
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Revisions in topological order.
    pub fn order(&self) -> &[RevisionId] {
        self.graph.order()
    }

    /// Migrations in topological order.
    pub fn in_order(&self) -> impl Iterator<Item = &Migration> {
        self.graph.order().iter().map(|r| &self.migrations[r])
    }

    /// Number of migrations.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// True when there are no migrations.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }
}
