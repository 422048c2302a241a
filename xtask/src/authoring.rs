//! `revision` and `merge`: writing new migration files from the template of SPEC §2.
//!
//! Guarantees: a new file never overwrites an existing one; its revision is fresh (random, and
//! checked against every known revision); the file parses with `retort-build`'s parser before
//! it is written.

use std::path::PathBuf;

use retort_build::template;
use retort_build::{Migration, MigrationSet, RevisionId, sha256_text};

use crate::Context;
use crate::flags::{MergeFlags, RevisionFlags};
use crate::output::{self, Failure};

fn resolve(set: &MigrationSet, text: &str) -> anyhow::Result<RevisionId> {
    set.graph().resolve(text).map_err(anyhow::Error::new)
}

/// A revision no migration has: SHA-256 over the clock, the process and a counter.
fn fresh_revision(set: &MigrationSet) -> RevisionId {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (0u32..)
        .map(|n| {
            let digest = sha256_text(format!("{nanos}:{}:{n}", std::process::id()).as_bytes());
            RevisionId::parse(&digest["sha256:".len().."sha256:".len() + 12]).expect("hex digits")
        })
        .find(|rev| set.get(rev).is_none())
        .expect("an unused revision exists")
}

pub(crate) fn write_new(cx: &Context, header: &Migration, text: &str) -> anyhow::Result<PathBuf> {
    let path = cx.dir.join(&header.file);
    retort_build::migration::parse(&cx.show(&path), text.as_bytes())
        .map_err(|problems| Failure(problems.iter().map(|p| p.one_line()).collect::<Vec<_>>().join("; ")))?;
    crate::context::write_new_file(&path, &path, text)?;
    Ok(path)
}

pub(crate) fn check_message(message: &str) -> anyhow::Result<&str> {
    let message = message.trim();
    if message.is_empty() || message.contains('\n') {
        anyhow::bail!("the message must be one non-empty line");
    }
    Ok(message)
}

fn join(revs: &[RevisionId]) -> String {
    revs.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(", ")
}

/// The revision a new migration builds on: `head` (`--head`), else the single head; an error
/// naming the fix when there are several.
pub(crate) fn parent(cx: &Context, set: &MigrationSet, head: Option<&str>) -> anyhow::Result<Option<RevisionId>> {
    match head {
        Some(text) => Ok(Some(resolve(set, text)?)),
        None => match set.graph().heads().as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            heads => anyhow::bail!(
                "there are several heads ({}); pass `--head REV` to build on one, or join them first with `{}`",
                join(heads),
                cx.run("merge -m \"…\"")
            ),
        },
    }
}

/// A new migration's header from `revision`'s flags: a fresh revision on `parent`, its
/// dependencies and branch labels checked.
pub(crate) fn new_header(
    set: &MigrationSet,
    message: &str,
    parent: Option<RevisionId>,
    flags: &RevisionFlags,
) -> anyhow::Result<Migration> {
    let depends: Vec<RevisionId> = flags.depends_on.iter().map(|d| resolve(set, d)).collect::<anyhow::Result<_>>()?;
    for label in &flags.branch_label {
        if set.graph().resolve(label).is_ok() && RevisionId::parse(label).is_none() {
            anyhow::bail!("branch label `{label}` is already in use");
        }
    }
    let mut header = Migration::new(
        fresh_revision(set),
        message,
        parent.into_iter().collect(),
        &retort_build::timestamp::now_rfc3339(),
    );
    header.depends_on = depends;
    header.branch_labels.clone_from(&flags.branch_label);
    Ok(header)
}

/// `revision -m MSG [--head REV] [--branch-label L] [--depends-on REV] [--autogenerate …]`.
pub fn revision(cx: &Context, flags: &RevisionFlags) -> anyhow::Result<()> {
    if flags.autogenerate {
        return crate::schema::autogenerate(cx, flags);
    }
    let set = cx.set()?;
    let message = check_message(&flags.message)?;
    let parent = parent(cx, &set, flags.head.as_deref())?;
    let header = new_header(&set, message, parent, flags)?;
    let path = write_new(cx, &header, &template::revision(&header))?;
    output::status(
        "Created",
        format!("{} (revises {})", cx.show(&path).display(), parent.map_or("<base>".to_string(), |p| p.to_string())),
    );
    output::status(
        "Next",
        format!(
            "fill in `Tables affected`, `up` and `down`; then `{}` and `{}`",
            cx.run("lock"),
            cx.run("migrate-test")
        ),
    );
    println!("{}", path.display());
    Ok(())
}

/// `merge -m MSG [REV…]`.
pub fn merge(cx: &Context, flags: &MergeFlags) -> anyhow::Result<()> {
    let set = cx.set()?;
    let message = check_message(&flags.message)?;
    let heads: Vec<RevisionId> = if flags.revisions.is_empty() {
        set.graph().heads()
    } else {
        flags.revisions.iter().map(|r| resolve(&set, r)).collect::<anyhow::Result<_>>()?
    };
    let mut parents = set.graph().sorted(heads.iter().copied());
    parents.dedup();
    if parents.len() < 2 {
        anyhow::bail!("a merge needs two or more heads; there is {} ({})", parents.len(), join(&parents));
    }
    for p in &parents {
        if parents.iter().any(|other| set.graph().ancestors(&[*other]).contains(p)) {
            anyhow::bail!("{p} is an ancestor of another revision given; merge heads only");
        }
    }
    let header =
        Migration::new(fresh_revision(&set), message, parents.clone(), &retort_build::timestamp::now_rfc3339());
    let path = write_new(cx, &header, &template::merge(&header))?;
    output::status("Created", format!("{} (merges {})", cx.show(&path).display(), join(&parents)));
    println!("{}", path.display());
    Ok(())
}
