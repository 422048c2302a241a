//! Where the command works: the project root (`retort_build::workspace_root` from the current
//! directory, so any directory of the project will do) and the migrations directory, and
//! loading that directory with `retort-build`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use retort_build::populate::PopulateScript;
use retort_build::{Layout, Loaded, LockPolicy, MigrationSet};

use crate::config::Config;
use crate::output;

/// The project, migrations directory and configuration a command runs against, and how the
/// user runs Retort (for every hint).
#[derive(Debug, Clone)]
pub struct Context {
    /// The project root.
    pub root: PathBuf,
    /// The migrations directory.
    pub dir: PathBuf,
    /// Where the user stands: every path shown is relative to it.
    pub here: PathBuf,
    /// The project's `metadata.retort` table.
    pub config: Config,
    /// The command the user runs, with the flags that chose the directory: hints name it
    /// (`cargo retort`, `cargo xtask --migrations db/migrations`, …).
    pub command: String,
    /// The directory's layout: Retort's, or another tool's (read as it is, never written).
    pub layout: Layout,
}

impl Context {
    /// Finds the project from the current directory; `migrations` (as the user typed it, relative
    /// to the current directory) overrides the configured directory, and `layout` (`--layout`)
    /// the configured layout; `auto` detects it and says which it chose.
    pub fn new(migrations: Option<&Path>, layout: Option<&str>) -> anyhow::Result<Context> {
        let mut cx = Context::locate(migrations)?.existing()?;
        if let Some(name) = layout {
            cx.command.push_str(&format!(" --layout {}", shell_word(name)));
        }
        let Some(name) = layout.map(str::to_string).or_else(|| cx.config.layout.clone()) else { return Ok(cx) };
        cx.layout = if name == "auto" {
            match retort_build::layout::detect(&cx.dir, &cx.here) {
                Ok((layout, why)) => {
                    output::status("Layout", format!("{layout} ({why})"));
                    layout
                }
                Err(problems) => {
                    for p in &problems.0 {
                        output::diagnostic(&cx, p);
                    }
                    anyhow::bail!("cannot tell the layout of {}; pass `--layout <name>`", cx.show(&cx.dir).display());
                }
            }
        } else {
            Layout::from_name(&name).ok_or_else(|| {
                let names: Vec<&str> = Layout::ALL.iter().map(|l| l.name()).collect();
                anyhow::anyhow!("unknown layout `{name}`: pass one of {}, or auto", names.join(", "))
            })?
        };
        Ok(cx)
    }

    /// Refuses a command that writes into the migrations directory when it is another tool's.
    pub fn writable(&self, command: &str) -> anyhow::Result<()> {
        if self.layout != Layout::Retort {
            anyhow::bail!(
                "`{command}` writes into the migrations directory, and {} is in {}'s layout, which Retort reads but never writes; migrate-test, lint, history, heads, branches, show, current, upgrade, downgrade, stamp and verify work on it as it is",
                self.show(&self.dir).display(),
                self.layout
            );
        }
        Ok(())
    }

    /// As `new`, for a migrations directory that may not exist yet (`init`).
    pub fn locate(migrations: Option<&Path>) -> anyhow::Result<Context> {
        let here = std::env::current_dir().context("cannot read the current directory")?;
        if let Some(given) = migrations {
            // An explicit directory needs no project: paths are shown relative to where the user
            // stands, and a project around the directory (if any) gives the configuration.
            let dir = std::path::absolute(given).context("cannot resolve --migrations")?;
            let root = retort_build::workspace_root(dir.parent().unwrap_or(&dir));
            let config = Config::find(&here, &root)?;
            let command = format!("{} --migrations {}", config.command(), shell_word(&given.to_string_lossy()));
            return Ok(Context { root, dir, here, config, command, layout: Layout::Retort });
        }
        let root = workspace_root(&here)?;
        let config = Config::find(&here, &root)?;
        let dir = config.migrations.clone().unwrap_or_else(|| root.join("migrations"));
        let command = config.command();
        Ok(Context { root, dir, here, config, command, layout: Layout::Retort })
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

    /// Reads the directory in its layout; `policy` says whether a stale lock is an error.
    pub fn load(&self, policy: LockPolicy) -> Loaded {
        retort_build::layout::load(&self.dir, &self.here, self.layout, policy)
    }

    /// The migration set, after printing every warning; a `Failure` after printing every error.
    pub fn set(&self) -> anyhow::Result<MigrationSet> {
        Ok(self.set_and_scripts()?.0)
    }

    /// The migration set and the populate scripts, loaded once; as `set`.
    pub fn set_and_scripts(&self) -> anyhow::Result<(MigrationSet, Vec<PopulateScript>)> {
        let loaded = self.load(LockPolicy::Lenient);
        output::diagnostics(self, &loaded.problems)?;
        let set = loaded.set.ok_or_else(|| output::Failure("the migrations directory could not be read".into()))?;
        Ok((set, loaded.populate))
    }

    /// The desired-schema file: `flag` (relative to where the user stands), else `schema` in the
    /// retort table, else `schema.sql` beside the migrations directory.
    pub fn schema_file(&self, flag: Option<&Path>) -> PathBuf {
        match (flag, &self.config.schema) {
            (Some(f), _) => self.here.join(f),
            (None, Some(configured)) => configured.clone(),
            (None, None) => self.dir.parent().unwrap_or(&self.root).join("schema.sql"),
        }
    }

    /// A path as shown to the user: relative to where they stand.
    pub fn show(&self, path: &Path) -> PathBuf {
        retort_build::display_path(&self.here, path)
    }

    /// `<command> <rest>`, as the user would type it: `cx.run("lock")` is "cargo retort lock".
    pub fn run(&self, rest: &str) -> String {
        format!("{} {rest}", self.command)
    }

    /// The database file for `--db`: see `config::database`; a usage error naming every way to
    /// give one when none is given.
    pub fn database(&self, flag: Option<&Path>) -> anyhow::Result<PathBuf> {
        crate::config::database(flag, &self.config)?.ok_or_else(|| {
            let table = match &self.config.manifest {
                Some(manifest) => format!("`database` in the retort table of {}", self.show(manifest).display()),
                None => "`database` under `[workspace.metadata.retort]` in Cargo.toml".to_string(),
            };
            anyhow::anyhow!(
                "no database given: pass `--db PATH`, set RETORT_DATABASE or a `sqlite:` DATABASE_URL, or set {table}"
            )
        })
    }
}

/// The root of the Cargo project `here` is in.
fn workspace_root(here: &Path) -> anyhow::Result<PathBuf> {
    let root = retort_build::workspace_root(here);
    if !root.join("Cargo.toml").is_file() {
        anyhow::bail!(
            "no Cargo.toml in {} or any folder above it; run the command inside a Cargo project, or pass `--migrations DIR`",
            here.display()
        );
    }
    Ok(root)
}

/// Writes `text` to a file at `path` that must not exist yet (nothing is overwritten); errors
/// name it as `shown`.
pub fn write_new_file(path: &Path, shown: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", shown.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("cannot write {}", shown.display()))
}

/// `word` as one shell word: quoted when it holds anything but plain path characters.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

/// True when `inner` is `outer` or inside it, symbolic links and `..` resolved (for paths that
/// may not exist yet, through their nearest existing ancestor).
pub fn same_or_inside(inner: &Path, outer: &Path) -> bool {
    let canon = |p: &Path| {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let existing = p.ancestors().find(|a| a.exists()).unwrap_or(&p);
        let rest = p.strip_prefix(existing).unwrap_or(Path::new(""));
        std::fs::canonicalize(existing).map(|c| c.join(rest)).unwrap_or_else(|_| p.clone())
    };
    canon(inner).starts_with(canon(outer))
}
