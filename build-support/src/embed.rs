//! The build-script entry point (SPEC §5): check the migrations directory and its lock, then write
//! `$OUT_DIR/retort_migrations.rs`, which embeds every migration with `include_str!`.
//!
//! Guarantees: **build-support never writes outside `OUT_DIR`**; the generated code is a pure
//! function of the migrations (deterministic, topological order); every input is listed with
//! `rerun-if-changed`, even when the check fails, so fixing a file reruns the script.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::dir::{Loaded, load};
use crate::problem::Problem;
use crate::set::MigrationSet;

/// The generated file's name inside `OUT_DIR`.
pub const GENERATED_FILE: &str = "retort_migrations.rs";

/// Configures the build-script check and embedding of one migrations directory.
#[derive(Clone, Debug)]
pub struct Embed {
    dir: PathBuf,
    command: String,
    unfinished: Unfinished,
}

/// What the build does with a migration that is not finished: not in the lock (or the lock is
/// out of order), or still holding a placeholder of the template `revision` wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unfinished {
    /// Fails a release build (`PROFILE=release`) and any build under CI (`CI` set and not
    /// `false` or `0`); warns otherwise, so a migration can be written and tried in between.
    #[default]
    FailInReleaseOrCi,
    /// Always fails the build.
    Fail,
    /// Only warns.
    Warn,
}

impl Unfinished {
    /// Whether this build fails on unfinished migrations, given the build's environment.
    fn fails(self, profile: Option<&str>, ci: Option<&str>) -> bool {
        match self {
            Unfinished::Fail => true,
            Unfinished::Warn => false,
            Unfinished::FailInReleaseOrCi => {
                profile == Some("release") || ci.is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
            }
        }
    }
}

/// What a successful run produced.
#[derive(Debug)]
pub struct Embedded {
    /// The generated code.
    pub code: String,
    /// Warnings to show (`cargo::warning=`).
    pub warnings: Vec<Problem>,
    /// Inputs to watch.
    pub inputs: Vec<PathBuf>,
}

/// What a failed run found.
#[derive(Debug)]
pub struct EmbedFailure {
    /// Every problem, errors and warnings.
    pub problems: Vec<Problem>,
    /// Inputs to watch.
    pub inputs: Vec<PathBuf>,
}

impl Embed {
    /// `dir` is relative to the crate's manifest directory (or absolute).
    pub fn new(dir: impl Into<PathBuf>) -> Embed {
        Embed {
            dir: dir.into(),
            command: crate::problem::DEFAULT_COMMAND.to_string(),
            unfinished: Unfinished::default(),
        }
    }

    /// What to do with unfinished migrations (default: fail in release builds and under CI).
    pub fn unfinished(mut self, unfinished: Unfinished) -> Embed {
        self.unfinished = unfinished;
        self
    }

    /// How the project runs Retort (default `cargo retort`): the help of a failed build names
    /// commands this way, e.g. `.command("cargo xtask")` for a project that calls
    /// `retort_cli::main()` from its own xtask.
    pub fn command(mut self, command: impl Into<String>) -> Embed {
        self.command = command.into();
        self
    }

    /// `check_with` with unfinished migrations failing or not as `Unfinished` says for this build
    /// (the build script's `PROFILE` and `CI`).
    pub fn check(&self, manifest_dir: &Path, root: &Path) -> Result<Embedded, EmbedFailure> {
        let profile = std::env::var("PROFILE").ok();
        let ci = std::env::var("CI").ok();
        self.check_with(manifest_dir, root, self.unfinished.fails(profile.as_deref(), ci.as_deref()))
    }

    /// Checks the directory and generates the embedding code; `manifest_dir` anchors the relative
    /// directory, `root` is what shown paths are relative to; `strict` makes unfinished
    /// migrations errors rather than warnings.
    pub fn check_with(&self, manifest_dir: &Path, root: &Path, strict: bool) -> Result<Embedded, EmbedFailure> {
        let dir = manifest_dir.join(&self.dir);
        let dir = dir.canonicalize().unwrap_or(dir);
        let policy = if strict { crate::lock::LockPolicy::Strict } else { crate::lock::LockPolicy::Lenient };
        let mut loaded: Loaded = load(&dir, root, policy);
        let placeholders = loaded.set.iter().flat_map(|set| set.in_order().flat_map(crate::lint::placeholders));
        let placeholders: Vec<Problem> = placeholders.map(|p| if strict { p } else { p.into_warning() }).collect();
        loaded.problems.extend(placeholders);
        let inputs = loaded.inputs.clone();
        let failed = loaded.errors().next().is_some();
        match loaded.set {
            Some(set) if !failed => {
                Ok(Embedded { code: generate(&set, &dir, root), warnings: loaded.problems, inputs })
            }
            _ => Err(EmbedFailure { problems: loaded.problems, inputs }),
        }
    }

    /// Runs as a build script: prints `cargo::` directives, writes the generated file into
    /// `OUT_DIR`, and exits with status 1 after one `cargo::error=` line per problem.
    pub fn run_or_exit(&self) {
        let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into()));
        let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
            eprintln!("error: retort_build::Embed::run_or_exit must run inside a build script (OUT_DIR is not set)");
            std::process::exit(1);
        };
        let root = crate::workspace::workspace_root(&manifest_dir);
        let result = self.check(&manifest_dir, &root);
        let mut stdout = std::io::stdout().lock();
        let (inputs, problems) = match &result {
            Ok(e) => (&e.inputs, &e.warnings),
            Err(f) => (&f.inputs, &f.problems),
        };
        for input in inputs {
            let _ = writeln!(stdout, "cargo::rerun-if-changed={}", input.display());
        }
        // Whether unfinished migrations fail depends on it (`PROFILE` has a build directory of
        // its own).
        let _ = writeln!(stdout, "cargo::rerun-if-env-changed=CI");
        for problem in problems {
            let directive = if problem.is_error() { "error" } else { "warning" };
            let _ = writeln!(stdout, "cargo::{directive}={}", problem.build_line_with(&self.command));
        }
        let code = match result {
            Ok(embedded) => embedded.code,
            Err(_) => {
                let _ = stdout.flush();
                std::process::exit(1);
            }
        };
        let target = out_dir.join(GENERATED_FILE);
        if std::fs::read_to_string(&target).ok().as_deref() != Some(code.as_str()) {
            if let Err(e) = std::fs::write(&target, code) {
                let _ = writeln!(stdout, "cargo::error=cannot write {}: {e}", target.display());
                std::process::exit(1);
            }
        }
    }
}

/// The Rust expression that builds `retort::Migrations` for `set`, whose files live in `dir`:
/// per migration only what the runtime reads (its file, revision, checksum and source; the rest
/// it parses from the source with the one parser).
pub fn generate(set: &MigrationSet, dir: &Path, root: &Path) -> String {
    let shown = crate::workspace::display_path(root, dir);
    let mut out = format!(
        "// @generated by retort-build from `{}`. Do not edit: change the migrations instead.\nretort::Migrations::new(&[\n",
        shown.display()
    );
    for m in set.in_order() {
        let name = m.file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let path = dir.join(name);
        out.push_str("    retort::EmbeddedMigration {\n");
        out.push_str(&format!("        file: {:?},\n", m.file.display().to_string()));
        out.push_str(&format!("        revision: {:?},\n", m.revision.as_str()));
        out.push_str(&format!("        checksum: {:?},\n", set.checksum(&m.revision)));
        out.push_str(&format!("        source: include_str!({:?}),\n", path.display().to_string()));
        out.push_str("    },\n");
    }
    out.push_str("])\n");
    out
}

#[cfg(test)]
mod unfinished_tests {
    use super::Unfinished;

    #[test]
    fn unfinished_migrations_fail_release_and_ci_builds_only() {
        let auto = Unfinished::FailInReleaseOrCi;
        assert!(!auto.fails(Some("debug"), None));
        assert!(auto.fails(Some("release"), None));
        assert!(auto.fails(Some("debug"), Some("true")));
        assert!(auto.fails(Some("debug"), Some("1")));
        assert!(!auto.fails(Some("debug"), Some("false")));
        assert!(!auto.fails(Some("debug"), Some("0")));
        assert!(!auto.fails(Some("debug"), Some("")));
        assert!(Unfinished::Fail.fails(Some("debug"), None));
        assert!(!Unfinished::Warn.fails(Some("release"), Some("true")));
    }
}
