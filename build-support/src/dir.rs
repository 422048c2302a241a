//! Reading a migrations directory from disk: the files, the lock, the populate scripts, and every
//! problem with them, in one pass.
//!
//! Guarantees: no file in the directory is silently ignored; reading never writes anything.

use std::path::{Path, PathBuf};

use crate::key::Key;
use crate::lock::{LOCK_FILE, Lock, LockPolicy, LockStatus, has_conflict_markers};
use crate::populate::{PopulateScript, parse_script};
use crate::problem::{Problem, ProblemKind, Problems};
use crate::set::{MigrationSet, SourceFile};
use crate::workspace::display_path;

/// The name of the populate-scripts folder inside the migrations directory.
pub const POPULATE_DIR: &str = "populate";

/// Everything read from a migrations directory.
#[derive(Debug)]
pub struct Loaded {
    /// The directory on disk.
    pub dir: PathBuf,
    /// The valid migration set, when the files parse and the graph is sound.
    pub set: Option<MigrationSet>,
    /// The parsed lock file, when present and well-formed.
    pub lock: Option<Lock>,
    /// How the lock compares with the set, when both exist.
    pub lock_status: Option<LockStatus>,
    /// The lock file's shown path.
    pub lock_display: PathBuf,
    /// Populate scripts (`populate/*.sql`) that parsed, sorted by name; a script whose header is
    /// malformed or whose `Requires:` names no migration is a problem instead.
    pub populate: Vec<PopulateScript>,
    /// Every problem, errors and warnings, sorted by place.
    pub problems: Vec<Problem>,
    /// Every file and folder read (for `rerun-if-changed`).
    pub inputs: Vec<PathBuf>,
}

impl Loaded {
    /// The problems that are errors.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }

    /// The set, or every error found.
    pub fn into_set(self) -> Result<MigrationSet, Problems> {
        match self.set {
            Some(set) if !self.problems.iter().any(Problem::is_error) => Ok(set),
            _ => Err(Problems(self.problems.into_iter().filter(Problem::is_error).collect())),
        }
    }
}

/// Reads `dir`. Paths in problems are shown relative to `root`. `policy` says whether migrations
/// missing from the lock and a stale lock are errors or warnings.
pub fn load(dir: &Path, root: &Path, policy: LockPolicy) -> Loaded {
    let show = |p: &Path| display_path(root, p);
    let lock_path = dir.join(LOCK_FILE);
    let mut loaded = Loaded {
        dir: dir.to_path_buf(),
        set: None,
        lock: None,
        lock_status: None,
        lock_display: show(&lock_path),
        populate: Vec::new(),
        problems: Vec::new(),
        inputs: vec![dir.to_path_buf()],
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let kind = ProblemKind::Io { what: "migrations directory", reason: e.to_string() };
            let problem = Problem::error(&show(dir), 0, kind).with_help("create it, or pass `--migrations DIR`");
            loaded.problems.push(problem);
            return loaded;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut files = Vec::new();
    let mut lock_text = None;
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if name == POPULATE_DIR && path.is_dir() {
            loaded.inputs.push(path.clone());
            let paths = populate_scripts(&path);
            loaded.inputs.extend(paths.iter().cloned());
            for script in &paths {
                let display = show(script);
                match std::fs::read(script) {
                    Ok(bytes) => match parse_script(&display, &bytes) {
                        Ok(parsed) => loaded.populate.push(parsed),
                        Err(mut p) => loaded.problems.append(&mut p),
                    },
                    Err(e) => loaded.problems.push(read_error(&display, &e)),
                }
            }
        } else if name == LOCK_FILE && path.is_file() {
            loaded.inputs.push(path.clone());
            match std::fs::read(&path) {
                Ok(bytes) => lock_text = Some(bytes),
                Err(e) => loaded.problems.push(read_error(&show(&path), &e)),
            }
        } else if is_dropping(&name) {
            // Editor swap and backup files, `.DS_Store`, `.gitkeep`, READMEs: not migrations.
        } else if name.ends_with(".sql") && path.is_file() {
            loaded.inputs.push(path.clone());
            match std::fs::read(&path) {
                Ok(bytes) => files.push(SourceFile { display: show(&path), bytes }),
                Err(e) => loaded.problems.push(read_error(&show(&path), &e)),
            }
        } else {
            loaded.problems.push(Problem::error(&show(&path), 0, ProblemKind::StrayFile));
        }
    }
    match MigrationSet::from_files(&files) {
        Ok(set) => loaded.set = Some(set),
        Err(Problems(mut p)) => loaded.problems.append(&mut p),
    }
    if let Some(set) = &loaded.set {
        loaded.populate.retain(|script| {
            let known = set.get(&script.requires).is_some();
            if !known {
                let kind = ProblemKind::UnknownRevision { key: Key::Requires, revision: script.requires };
                loaded.problems.push(Problem::error(&script.file, script.requires_line, kind));
            }
            known
        });
    }
    match lock_text {
        None if !files.is_empty() => {
            let problem = if policy == LockPolicy::Strict {
                Problem::error(&loaded.lock_display, 0, ProblemKind::NoLock)
            } else {
                Problem::warning(&loaded.lock_display, 0, ProblemKind::NoLock)
            };
            loaded.problems.push(problem);
        }
        None => {}
        Some(bytes) => match std::str::from_utf8(&bytes) {
            Err(_) => loaded.problems.push(Problem::error(&loaded.lock_display, 0, ProblemKind::NotUtf8)),
            Ok(text) => match Lock::parse(&loaded.lock_display, text) {
                Ok(lock) => loaded.lock = Some(lock),
                Err(_) if has_conflict_markers(text) => {
                    let line = text.lines().position(|l| l.starts_with("<<<<<<<")).map_or(0, |i| i + 1);
                    loaded.problems.push(Problem::error(&loaded.lock_display, line, ProblemKind::LockConflict));
                }
                Err(mut p) => loaded.problems.append(&mut p),
            },
        },
    }
    match (&loaded.set, &loaded.lock) {
        (Some(set), Some(lock)) => {
            let status = LockStatus::compare(lock, set);
            loaded.problems.extend(status.problems(set, &loaded.lock_display, policy));
            loaded.lock_status = Some(status);
        }
        (None, Some(lock)) => {
            // The set is broken; a locked file that is gone is still worth naming, since it is
            // often why the graph broke.
            let present: Vec<&std::ffi::OsStr> = files.iter().filter_map(|f| f.display.file_name()).collect();
            for entry in lock.entries.iter().filter(|e| !present.contains(&std::ffi::OsStr::new(&e.file))) {
                let kind = ProblemKind::MissingLocked { revision: entry.revision, file: entry.file.clone() };
                loaded.problems.push(Problem::error(&loaded.lock_display, 0, kind));
            }
        }
        _ => {}
    }
    loaded.problems.sort_by(|a, b| (&a.location, a.severity).cmp(&(&b.location, b.severity)));
    loaded
}

/// Files a migrations directory may hold besides migrations: dotfiles (`.DS_Store`, `.gitkeep`,
/// vim's `.x.sql.swp`), editor and merge backups (`x.sql~`, `#x.sql#`, `*.swp`, `*.bak`,
/// `*.orig`), and `README*`.
fn is_dropping(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with("README")
        || name.ends_with('~')
        || (name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swo", ".bak", ".orig"].iter().any(|ext| name.ends_with(ext))
}

/// A file that cannot be read, as a problem naming it.
pub(crate) fn read_error(display: &Path, e: &std::io::Error) -> Problem {
    Problem::error(display, 0, ProblemKind::Io { what: "file", reason: e.to_string() })
}

fn populate_scripts(dir: &Path) -> Vec<PathBuf> {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect()
        })
        .unwrap_or_default();
    scripts.sort();
    scripts
}
