//! `heads`, `branches`, `history`, `show`: read-only views of the revision graph on stdout.

use retort_build::{Graph, Migration, MigrationSet, RevisionId};

use crate::Context;
use crate::flags::{HistoryFlags, ShowFlags};

/// `heads`.
pub fn heads(cx: &Context) -> anyhow::Result<()> {
    let set = cx.set()?;
    for head in set.graph().heads() {
        println!("{}", line(&set, &head));
    }
    Ok(())
}

/// `branches`.
pub fn branches(cx: &Context) -> anyhow::Result<()> {
    let set = cx.set()?;
    let graph = set.graph();
    for point in graph.branch_points() {
        println!("{}", line(&set, &point));
        for child in graph.order().iter().filter(|r| graph.parents(r).contains(&point)) {
            println!("  -> {}", line(&set, child));
        }
    }
    Ok(())
}

/// `history [-r A:B] [-v]`: newest first, like Alembic.
pub fn history(cx: &Context, flags: &HistoryFlags) -> anyhow::Result<()> {
    if let Some(db) = &flags.db {
        return crate::db::applied_history(cx, db);
    }
    let set = cx.set()?;
    let graph = set.graph();
    let revs: Vec<RevisionId> = match &flags.range {
        None => graph.order().to_vec(),
        Some(range) => {
            let Some((from, to)) = range.split_once(':') else {
                anyhow::bail!(
                    "`-r {range}`: expected `A:B`, `A:` or `:B`, where A is a revision or `base` and B a revision, `head` or `heads` (for example `-r base:head`)"
                );
            };
            let resolve = |t: &str| graph.resolve(t).map_err(anyhow::Error::new);
            let backwards = || {
                anyhow::anyhow!(
                    "`-r {range}`: a range goes from a revision or `base` to a revision, `head` or `heads` (for example `-r base:head`)"
                )
            };
            let from = match from {
                "" | "base" => None,
                "head" | "heads" => return Err(backwards()),
                rev => Some(resolve(rev)?),
            };
            let heads = graph.heads();
            let to_revs = match to {
                "" | "heads" => heads,
                "head" if heads.len() > 1 => anyhow::bail!(
                    "`-r {range}`: there are {} heads ({}), so `head` is ambiguous; name one, or use `heads`",
                    heads.len(),
                    join(&heads)
                ),
                "head" => heads,
                "base" => return Err(backwards()),
                rev => vec![resolve(rev)?],
            };
            let mut all = Vec::new();
            for to in to_revs {
                all.extend(graph.range(from, to));
            }
            graph.sorted(all)
        }
    };
    for rev in revs.iter().rev() {
        let m = set.get(rev).expect("graph revisions exist");
        let parents = if m.parents.is_empty() { "<base>".to_string() } else { join(&m.parents) };
        println!("{parents} -> {}", line(&set, rev));
        if flags.verbose {
            print_details(&set, m);
            println!();
        }
    }
    Ok(())
}

/// `show REV`.
pub fn show(cx: &Context, flags: &ShowFlags) -> anyhow::Result<()> {
    let set = cx.set()?;
    let rev = set.graph().resolve(&flags.revision)?;
    let m = set.get(&rev).expect("resolved revisions exist");
    println!("{}", line(&set, &rev));
    print_details(&set, m);
    println!("\n-- migrate:up\n{}", m.up.sql);
    match &m.down {
        Some(down) => println!("\n-- migrate:down\n{}", down.sql),
        None => println!("\n(irreversible: no down section)"),
    }
    Ok(())
}

fn print_details(set: &MigrationSet, m: &Migration) {
    let graph = set.graph();
    match &m.origin {
        Some(origin) => {
            println!("    Origin:      {origin}");
            println!("    Up file:     {}", origin.up.display());
            if let Some(down) = &origin.down {
                println!("    Down file:   {}", down.display());
            }
        }
        None => println!("    File:        {}", m.file.display()),
    }
    println!("    Revises:     {}", join(&m.parents));
    if !m.depends_on.is_empty() {
        println!("    Depends On:  {}", join(&m.depends_on));
    }
    if !m.branch_labels.is_empty() {
        println!("    Labels:      {}", m.branch_labels.join(", "));
    }
    println!("    Create Date: {}", m.create_date);
    println!("    Checksum:    {}", set.checksum(&m.revision));
    if let Some(reason) = &m.irreversible {
        println!("    Irreversible: {reason}");
    }
    let children: Vec<RevisionId> =
        graph.order().iter().filter(|r| graph.parents(r).contains(&m.revision)).copied().collect();
    if !children.is_empty() {
        println!("    Children:    {}", join(&children));
    }
    for table in &m.tables_affected {
        println!("    - {}: {}", table.table, table.change);
    }
}

fn line(set: &MigrationSet, rev: &RevisionId) -> String {
    let graph: &Graph = set.graph();
    let m = set.get(rev).expect("graph revisions exist");
    let mut tags = String::new();
    for label in &m.branch_labels {
        tags.push_str(&format!(" ({label})"));
    }
    if graph.heads().contains(rev) {
        tags.push_str(" (head)");
    }
    if graph.branch_points().contains(rev) {
        tags.push_str(" (branchpoint)");
    }
    if m.is_merge() {
        tags.push_str(" (mergepoint)");
    }
    let origin = m.origin.as_ref().map_or(String::new(), |o| format!(" [{o}: {}]", o.up.display()));
    format!("{rev}{tags}, {}{origin}", m.message)
}

fn join(revs: &[RevisionId]) -> String {
    revs.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(", ")
}
