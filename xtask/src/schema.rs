//! The desired schema (`schema.sql`): `schema` prints the schema at head in its format,
//! `check` and `migrate-test --schema` compare the two, and `revision --autogenerate` writes the
//! migration between them (`retort::autogen`).
//!
//! Guarantees: the schema at head is replayed on a private in-memory database; the desired
//! schema is loaded on another; a generated migration is written only after `autogen` proved
//! it both ways, and it parses before it is written (`authoring::write_new`).

use std::path::Path;

use retort::autogen::{self, Catalog, Rename};
use retort::rusqlite::Connection;
use retort::{Change, Migrator, Target};
use retort_build::migration::render_with_note;
use retort_build::template::PLACEHOLDER_REASON;
use retort_build::{MigrationSet, RevisionId};

use crate::Context;
use crate::authoring;
use crate::db::db_error;
use crate::flags::{RevisionFlags, SchemaFlags};
use crate::output::{self, Failure};

/// The schema `set` builds at `head` (every head when `None`), replayed in memory.
pub fn at_head(set: &MigrationSet, head: Option<RevisionId>) -> anyhow::Result<Catalog> {
    let mut conn = Connection::open_in_memory()?;
    let target = head.map_or(Target::Heads, Target::Revision);
    if !set.is_empty() {
        Migrator::new(set.clone()).upgrade(&mut conn, target, &mut |_| {}).map_err(db_error)?;
    }
    Catalog::read(&conn).map_err(db_error)
}

/// The desired schema in `file`, or a `Failure` naming the file and line.
pub fn desired(cx: &Context, file: &Path) -> anyhow::Result<Catalog> {
    if !file.is_file() {
        return Err(Failure(format!(
            "there is no desired-schema file {}; write the schema at head there with `{}`, then edit it",
            cx.show(file).display(),
            cx.run("schema --write")
        ))
        .into());
    }
    Catalog::load_file(file, &cx.show(file)).map_err(|e| Failure(e).into())
}

/// The differences from the schema at head to the desired schema in `file`, printed in the
/// snapshot format (`-` at head only, `+` in the file only).
pub fn compare(cx: &Context, set: &MigrationSet, file: &Path) -> anyhow::Result<Vec<Change>> {
    let want = desired(cx, file)?;
    let head = at_head(set, None)?;
    let changes = head.schema().diff(want.schema());
    if !changes.is_empty() {
        println!("schema at head (-) against {} (+):", cx.show(file).display());
        print!("{}", retort::snapshot::render_changes(&changes));
    }
    Ok(changes)
}

/// `schema [--write] [--file FILE]`.
pub fn schema(cx: &Context, flags: &SchemaFlags) -> anyhow::Result<()> {
    let set = cx.set()?;
    let head = at_head(&set, None)?;
    if !flags.write {
        print!("{}", head.to_sql());
        return Ok(());
    }
    let file = cx.schema_file(flags.file.as_deref());
    if file.exists() {
        let same = desired(cx, &file).is_ok_and(|want| want.schema() == head.schema());
        if same {
            output::status("Unchanged", format!("{} already holds the schema at head", cx.show(&file).display()));
            return Ok(());
        }
        anyhow::bail!(
            "{} exists and differs from the schema at head; it is never overwritten: see the difference with `{}`",
            cx.show(&file).display(),
            cx.run("check")
        );
    }
    let text = format!(
        "-- The desired schema. Edit it, then write the migration with\n-- `{}`.\n\n{}",
        cx.run("revision --autogenerate -m \"…\""),
        head.to_sql()
    );
    crate::context::write_new_file(&file, &cx.show(&file), &text)?;
    output::status("Wrote", format!("{} (the schema at head)", cx.show(&file).display()));
    Ok(())
}

/// `revision --autogenerate -m MSG [--rename OLD=NEW]… [--schema FILE]`.
pub fn autogenerate(cx: &Context, flags: &RevisionFlags) -> anyhow::Result<()> {
    let set = cx.set()?;
    let message = authoring::check_message(&flags.message)?;
    let parent = authoring::parent(cx, &set, flags.head.as_deref())?;
    let renames: Vec<Rename> =
        flags.rename.iter().map(|r| Rename::parse(r)).collect::<Result<_, _>>().map_err(anyhow::Error::msg)?;
    let file = cx.schema_file(flags.schema.as_deref());
    let want = desired(cx, &file)?;
    let head = at_head(&set, parent)?;
    let generated = match autogen::generate(&head, &want, &renames) {
        Ok(g) => g,
        Err(autogen::Failure::Rename(message)) => anyhow::bail!(message),
        Err(autogen::Failure::Sqlite(e)) => return Err(db_error(*e)),
        Err(e @ autogen::Failure::NotExact(_)) => {
            return Err(Failure(format!(
                "{e}\nnothing was written; write this migration by hand (`{}`), or change {} so the difference can be generated",
                cx.run(&format!("revision -m {}", crate::context::shell_word(message))),
                cx.show(&file).display()
            ))
            .into());
        }
    };
    if generated.is_empty() {
        output::status(
            "Unchanged",
            format!("the schema at head already equals {}; nothing written", cx.show(&file).display()),
        );
        return Ok(());
    }
    let mut header = authoring::new_header(&set, message, parent, flags)?;
    generated.fill_header(&mut header);
    let shown = cx.show(&file);
    let mut note = vec![format!(
        "IMPORTANT: Generated by `{}` from {}, and proven: up from the",
        cx.run("revision --autogenerate"),
        shown.display()
    )];
    note.push("previous head gives that schema, down gives the previous head back. Review it.".to_string());
    note.extend(generated.maybe_renames.iter().map(|h| format!("Rename? {h}")));
    let note: Vec<&str> = note.iter().map(String::as_str).collect();
    let header = header.with_sql(&generated.up, Some(&generated.down));
    let path = authoring::write_new(cx, &header, &render_with_note(&header, &note))?;
    output::status(
        "Generated",
        format!("{} (revises {})", cx.show(&path).display(), parent.map_or("<base>".to_string(), |p| p.to_string())),
    );
    for hint in &generated.maybe_renames {
        output::status("Rename?", hint);
    }
    let mut next = format!("review it; then `{}` and `{}`", cx.run("lock"), cx.run("migrate-test"));
    if !generated.dropped.is_empty() {
        next = format!("write the reasons in place of `{PLACEHOLDER_REASON}` (the drops lose rows), {next}");
    }
    output::status("Next", next);
    println!("{}", path.display());
    Ok(())
}
