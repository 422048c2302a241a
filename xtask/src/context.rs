//! Where the command works: the project root (`retort_build::workspace_root` from the current
//! directory, so any directory of the project will do) and the migrations directory, and
//! loading that directory with `retort-build`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use retort_build::populate::PopulateScript;
use retort_build::{Loaded, LockPolicy, MigrationSet};

use crate::output;

/// The workspace and migrations directory a command runs against.
#[derive(Debug, Clone)]
pub struct Context {
    /// The workspace root.
    pub root: PathBuf,
    /// The migrations directory.
    pub dir: PathBuf,
}

/// The root of the Cargo project the current directory is in.
pub fn workspace_root() -> anyhow::Result<PathBuf> {
    let here = std::env::current_dir().context("cannot read the current directory")?;
    let root = retort_build::workspace_root(&here);
    if !root.join("Cargo.toml").is_file() {
        anyhow::bail!(
            "no Cargo.toml in {} or any folder above it; run the command inside a Cargo project, or pass `--migrations DIR`",
            here.display()
        );
    }
    Ok(root)
}

impl Context {
    /// Finds the project from the current directory; `migrations` overrides the directory (relative
    /// paths are taken from the current directory, as a user typing a path expects).
    pub fn new(migrations: Option<&Path>) -> anyhow::Result<Context> {
        if let Some(dir) = migrations {
            // An explicit directory needs no `cargo metadata`: paths are shown relative to the
            // enclosing workspace, if any, else to the folder holding the directory.
            let dir = std::path::absolute(dir).context("cannot resolve --migrations")?;
            let parent = dir.parent().unwrap_or(&dir).to_path_buf();
            let root = retort_build::workspace_root(&parent);
            return Context { root, dir }.existing();
        }
        let root = workspace_root()?;
        Context { dir: root.join("migrations"), root }.existing()
    }

    /// Refuses a migrations directory that does not exist (a usage error, exit 2).
    fn existing(self) -> anyhow::Result<Context> {
        if !self.dir.is_dir() {
            anyhow::bail!(
                "the migrations directory {} does not exist; create it, or pass `--migrations DIR`",
                self.show(&self.dir).display()
            );
        }
        Ok(self)
    }

    /// Reads the directory; `policy` says whether a stale lock is an error.
    pub fn load(&self, policy: LockPolicy) -> Loaded {
        retort_build::load(&self.dir, &self.root, policy)
    }

    /// The migration set, after printing every warning; a `Failure` after printing every error.
    pub fn set(&self) -> anyhow::Result<MigrationSet> {
        Ok(self.set_and_scripts()?.0)
    }

    /// The migration set and the populate scripts, loaded once; as `set`.
    pub fn set_and_scripts(&self) -> anyhow::Result<(MigrationSet, Vec<PopulateScript>)> {
        let loaded = self.load(LockPolicy::Lenient);
        output::diagnostics(&loaded.problems)?;
        let set = loaded.set.ok_or_else(|| output::Failure("the migrations directory could not be read".into()))?;
        Ok((set, loaded.populate))
    }

    /// A path as shown to the user.
    pub fn show(&self, path: &Path) -> PathBuf {
        retort_build::display_path(&self.root, path)
    }
}
