//! `Migrations`: the migrations a crate embeds at build time (the code `retort_build::Embed`
//! generates constructs this), turned back into the one model of `retort-build` at run time.
//!
//! Guarantees: the runtime never re-implements parsing: `Migrations::load` hands every embedded
//! source to `retort_build`'s parser and checks the checksum the build script computed.

use std::path::PathBuf;

use retort_build::{MigrationSet, Problem, ProblemKind, Problems, RevisionId, SourceFile};

/// One migration as embedded by the build script: what the runtime reads (everything else comes
/// from parsing `source`). Constructed only by generated code.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddedMigration {
    /// The file, workspace-relative.
    pub file: &'static str,
    /// The revision.
    pub revision: &'static str,
    /// The checksum computed at build time.
    pub checksum: &'static str,
    /// The whole file (its `up` and `down` sections included), via `include_str!`.
    pub source: &'static str,
}

/// The migrations a crate ships.
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    entries: &'static [EmbeddedMigration],
}

impl Migrations {
    /// Wraps the generated list.
    pub const fn new(entries: &'static [EmbeddedMigration]) -> Migrations {
        Migrations { entries }
    }

    /// The embedded entries, in topological order.
    pub fn entries(&self) -> &'static [EmbeddedMigration] {
        self.entries
    }

    /// Parses the embedded sources into a `MigrationSet`.
    pub fn load(&self) -> Result<MigrationSet, Problems> {
        let files: Vec<SourceFile> = self
            .entries
            .iter()
            .map(|e| SourceFile { display: PathBuf::from(e.file), bytes: e.source.as_bytes().to_vec() })
            .collect();
        let set = MigrationSet::from_files(&files)?;
        let stale: Vec<Problem> = self
            .entries
            .iter()
            .filter_map(|e| {
                let rev = RevisionId::parse(e.revision)?;
                let actual = set.checksum(&rev);
                (actual != e.checksum).then(|| {
                    let kind = ProblemKind::Drift {
                        revision: rev,
                        locked: e.checksum.to_string(),
                        actual: actual.to_string(),
                    };
                    Problem::error(&PathBuf::from(e.file), 0, kind)
                        .with_help("the embedded code is older than the retort-build that reads it; rebuild the crate")
                })
            })
            .collect();
        if stale.is_empty() { Ok(set) } else { Err(Problems(stale)) }
    }
}
