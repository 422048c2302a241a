//! `cargo xtask lock [--check] [--relock REV]`: writes `retort.lock`, or checks it is fresh.
//!
//! Guarantees: `--check` writes nothing; a plain `lock` never re-pins a drifted migration or
//! drops a missing one that the committed lock (`git show HEAD:<lock>`) holds: each needs
//! `--relock REV`. A migration the committed lock does not hold is still being written, and a
//! plain `lock` re-pins it and says so. Where git cannot tell (no repository, no git), every
//! entry of the lock counts as committed.

use std::collections::BTreeSet;

use anyhow::Context as _;
use retort_build::{LOCK_FILE, Lock, LockPolicy, LockStatus, RevisionId, Salvage};

use crate::Context;
use crate::flags::LockFlags;
use crate::output::{self, fail};

/// Runs `lock`.
pub fn run(cx: &Context, flags: &LockFlags) -> anyhow::Result<()> {
    let loaded = cx.load(if flags.check { LockPolicy::Strict } else { LockPolicy::Lenient });
    let lock_path = cx.dir.join(LOCK_FILE);
    if flags.check {
        output::diagnostics(cx, &loaded.problems)?;
        output::status("Fresh", cx.show(&lock_path).display());
        return Ok(());
    }
    // Problems in the lock file itself are what `lock` repairs; everything else must be fixed first.
    let blocking: Vec<_> = loaded
        .problems
        .iter()
        .filter(|p| p.location.file != loaded.lock_display)
        .filter(|p| !matches!(p.kind, retort_build::ProblemKind::Drift { .. } | retort_build::ProblemKind::Unlocked(_)))
        .cloned()
        .collect();
    output::diagnostics(cx, &blocking)?;
    let set = loaded.set.context("the migrations could not be read")?;
    let relock: BTreeSet<RevisionId> = flags
        .relock
        .iter()
        .map(|text| relock_target(&set, loaded.lock.as_ref(), text))
        .collect::<anyhow::Result<_>>()?;
    // A lock that does not parse (a merge conflict, a wrong `total`, a damaged line) still pins
    // what it pinned: every entry it holds is checked against its file like any other, so a
    // drifted migration is never re-pinned without `--relock`.
    let salvaged = match (&loaded.lock, std::fs::read_to_string(&lock_path)) {
        (None, Ok(text)) => Some(Lock::salvage(&text)),
        _ => None,
    };
    if let Some(salvage) = &salvaged {
        if !salvage.unreadable.is_empty() {
            for (line, text) in &salvage.unreadable {
                output::error_line(format!("cannot read line {line} of {}: `{text}`", cx.show(&lock_path).display()));
            }
            return fail(format!(
                "{} has lines that pin nothing Retort can check; restore the lock from version control (`git checkout -- {}`) or fix those lines by hand, then run `lock` again",
                cx.show(&lock_path).display(),
                cx.show(&lock_path).display()
            ));
        }
    }
    let old_lock = loaded.lock.clone().or_else(|| salvaged.as_ref().map(Salvage::lock));
    let status = old_lock.as_ref().map(|lock| LockStatus::compare(lock, &set)).unwrap_or_default();
    // Drifted or missing entries that no commit has released are re-pinned without `--relock`
    // (git is asked only when there are any).
    let nothing_to_repin = status.drifted.is_empty() && status.missing.is_empty();
    let committed = if nothing_to_repin { Committed::Unknown } else { Committed::read(&cx.dir) };
    let authoring: BTreeSet<RevisionId> = status
        .drifted
        .iter()
        .map(|(r, _, _)| *r)
        .chain(status.missing.iter().map(|e| e.revision))
        .filter(|r| !relock.contains(r) && !committed.holds(r))
        .collect();
    let relock: BTreeSet<RevisionId> = relock.union(&authoring).copied().collect();
    let drifted: Vec<_> = status.drifted.iter().filter(|(r, _, _)| !relock.contains(r)).collect();
    let missing: Vec<_> = status.missing.iter().filter(|e| !relock.contains(&e.revision)).collect();
    if !drifted.is_empty() || !missing.is_empty() {
        let problems = status.problems(&set, &loaded.lock_display, LockPolicy::Lenient);
        let refused: Vec<_> = problems
            .into_iter()
            .filter(|p| match &p.kind {
                retort_build::ProblemKind::Drift { revision, .. } => !relock.contains(revision),
                retort_build::ProblemKind::MissingLocked { revision, .. } => !relock.contains(revision),
                _ => false,
            })
            .collect();
        output::diagnostics(cx, &refused)?;
    }
    let lock = Lock::of(&set);
    let text = lock.render();
    if std::fs::read_to_string(&lock_path).ok().as_deref() == Some(text.as_str()) {
        output::status("Fresh", format!("{} ({} migrations)", cx.show(&lock_path).display(), lock.entries.len()));
        return Ok(());
    }
    write_atomic(&lock_path, &text)?;
    if let Some(salvage) = &salvaged {
        let what = if salvage.conflict { "the lock's merge conflict" } else { "the malformed lock" };
        output::status(
            "Resolved",
            format!("{what}: kept {} entries, each checked against its file", salvage.entries.len()),
        );
    }
    for rev in &status.unlocked {
        output::status("Locked", rev);
    }
    for rev in &relock {
        if authoring.contains(rev) {
            output::status("Relocked", format!("{rev} (not in the committed lock: still being written)"));
        } else {
            output::status("Relocked", rev);
        }
    }
    output::status("Wrote", format!("{} ({} migrations)", cx.show(&lock_path).display(), lock.entries.len()));
    Ok(())
}

/// The lock as the last commit holds it: what has been released.
enum Committed {
    /// The lock at `HEAD`.
    Lock(Lock),
    /// A git work tree whose `HEAD` holds no lock (no commit yet, or the lock never committed).
    Nothing,
    /// No git, or not a repository: every entry of the lock counts as released.
    Unknown,
}

impl Committed {
    fn read(dir: &std::path::Path) -> Committed {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .output()
                .ok()
        };
        let inside = git(&["rev-parse", "--is-inside-work-tree"]);
        if !inside.is_some_and(|o| o.status.success() && o.stdout.starts_with(b"true")) {
            return Committed::Unknown;
        }
        let spec = format!("HEAD:./{LOCK_FILE}");
        match git(&["show", &spec]) {
            Some(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                match Lock::parse(std::path::Path::new(LOCK_FILE), &text) {
                    Ok(lock) => Committed::Lock(lock),
                    // A committed lock with a merge conflict still pins every line it can read;
                    // one with lines that cannot be read pins an unknown set.
                    Err(_) => match Lock::salvage(&text) {
                        salvage if salvage.unreadable.is_empty() => Committed::Lock(salvage.lock()),
                        _ => Committed::Unknown,
                    },
                }
            }
            // `HEAD:./…` fails when the path is not in HEAD or there is no commit yet.
            Some(_) if git(&["cat-file", "-e", &spec]).is_some_and(|o| !o.status.success()) => Committed::Nothing,
            _ => Committed::Unknown,
        }
    }

    fn holds(&self, rev: &RevisionId) -> bool {
        match self {
            Committed::Lock(lock) => lock.get(rev).is_some(),
            Committed::Nothing => false,
            Committed::Unknown => true,
        }
    }
}

fn relock_target(set: &retort_build::MigrationSet, lock: Option<&Lock>, text: &str) -> anyhow::Result<RevisionId> {
    if let Ok(rev) = set.graph().resolve(text) {
        return Ok(rev);
    }
    let locked = lock.and_then(|l| RevisionId::parse(text).and_then(|r| l.get(&r)).map(|e| e.revision));
    match locked {
        Some(rev) => Ok(rev),
        None => fail(format!("`--relock {text}`: no such revision in the migrations or the lock")),
    }
}

/// Writes `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}
