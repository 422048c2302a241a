//! `import --from <layout> SRC [DEST]`: another tool's migrations directory written as Retort
//! files, one linear chain, then locked and proved with `migrate-test`.
//!
//! Guarantees: SRC is only read. DEST must not hold migrations yet; every file is rendered and
//! parsed back before the first is written, and a failed write removes what was written.
//! `Tables affected` comes from what each up really did (the schema before and after it, and
//! the rows the authorizer saw written, `retort::harness::up_effects`), not from the SQL text.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use retort_build::{Layout, LockPolicy, Migration, TableAffected, migration};

use crate::Context;
use crate::flags::{ImportFlags, LockFlags, MigrateTestFlags};
use crate::output::{self, Failure};

/// Runs `import`.
pub fn run(cx: &Context, flags: &ImportFlags) -> anyhow::Result<()> {
    let src = std::path::absolute(&flags.src).context("cannot resolve SRC")?;
    // `cx` was located from DEST when it was given.
    let dest = cx.dir.clone();
    if !src.is_dir() {
        anyhow::bail!("{} is not a directory; pass the migrations directory to import", cx.show(&src).display());
    }
    let layout = match flags.from.as_str() {
        "auto" => {
            let (layout, why) = retort_build::layout::detect(&src, &cx.here).map_err(|problems| {
                for p in &problems.0 {
                    output::diagnostic(cx, p);
                }
                anyhow::anyhow!("cannot tell the layout of {}; pass `--from <name>`", cx.show(&src).display())
            })?;
            output::status("Layout", format!("{layout} ({why})"));
            layout
        }
        name => Layout::from_name(name).filter(|l| *l != Layout::Retort).ok_or_else(|| {
            let names: Vec<&str> = Layout::ALL[1..].iter().map(|l| l.name()).collect();
            anyhow::anyhow!("`--from {name}`: pass one of {}, or auto", names.join(", "))
        })?,
    };
    if crate::context::same_or_inside(&dest, &src) {
        anyhow::bail!(
            "DEST {} is inside SRC {}: import writes a new directory and never changes SRC; pass another DEST",
            cx.show(&dest).display(),
            cx.show(&src).display()
        );
    }
    if dest.exists() && std::fs::read_dir(&dest).map(|mut d| d.next().is_some()).unwrap_or(true) {
        anyhow::bail!(
            "{} is not empty: import writes a fresh migrations directory; pass an empty or new DEST",
            cx.show(&dest).display()
        );
    }
    let loaded = retort_build::layout::load(&src, &cx.here, layout, LockPolicy::Lenient);
    output::diagnostics(cx, &loaded.problems)?;
    let set =
        loaded.set.ok_or_else(|| Failure(format!("{} could not be read as {layout}", cx.show(&src).display())))?;
    let effects = retort::harness::up_effects(&set).map_err(crate::db::db_error)?;
    let by_revision: std::collections::BTreeMap<_, _> = effects.effects.iter().map(|(rev, t)| (*rev, t)).collect();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let now = retort_build::timestamp::now_rfc3339();
    for m in set.in_order() {
        let origin = m.origin.as_ref().expect("a foreign layout's migrations have an origin");
        let tables = match by_revision.get(&m.revision) {
            Some(tables) => (*tables).clone(),
            None => text_effects(m),
        };
        let mut out = m.clone();
        out.origin = None;
        out.file = PathBuf::from(migration::file_name_of(m.revision, &m.message));
        if out.create_date.is_empty() {
            out.create_date = now.clone();
        }
        out.tables_affected =
            tables.into_iter().map(|(table, change)| TableAffected { table, change, line: 0 }).collect();
        let mut from = vec![origin.up.display().to_string()];
        from.extend(origin.down.iter().map(|d| d.display().to_string()));
        let note = format!("IMPORTANT: Imported from {origin} ({}).", from.join(", "));
        for (section, file) in std::iter::once((&out.up, &origin.up)).chain(out.down.iter().zip(origin.down.iter())) {
            if let Some(at) = section.sql.lines().position(|l| l.trim_start().starts_with("-- migrate:")) {
                return Err(Failure(format!(
                    "{}:{}: a `-- migrate:` line inside the SQL would read as a section marker in Retort's format; reword that comment, then import again",
                    file.display(),
                    section.line + at
                ))
                .into());
            }
        }
        let text = migration::render_with_note(&out, &[&note]);
        let path = dest.join(&out.file);
        migration::parse(&cx.show(&path), text.as_bytes())
            .map_err(|problems| Failure(problems.iter().map(|p| p.one_line()).collect::<Vec<_>>().join("; ")))?;
        files.push((path, text));
    }
    write_all(&dest, &files).with_context(|| format!("cannot write {}", cx.show(&dest).display()))?;
    output::status("Imported", format!("{} {layout} migrations into {}", files.len(), cx.show(&dest).display()));
    if let Some((rev, e)) = &effects.failed {
        output::status(
            "Note",
            format!(
                "the up of {rev} fails ({}): its `Tables affected` and those after it come from the SQL text; check them",
                first_line(&e.to_string())
            ),
        );
    }
    let dest_cx = Context {
        dir: dest.clone(),
        layout: Layout::Retort,
        command: format!(
            "{} --migrations {}",
            cx.config.command(),
            crate::context::shell_word(&cx.show(&dest).to_string_lossy())
        ),
        ..cx.clone()
    };
    crate::lock::run(&dest_cx, &LockFlags { check: false, relock: Vec::new() })?;
    // Proved as the source tool runs them: with its foreign-key enforcement.
    let mut test = MigrateTestFlags::defaults();
    if layout.enforces_foreign_keys() {
        output::status(
            "Note",
            format!("{layout} enforces foreign keys while migrating: this run and yours pass `--foreign-keys on`"),
        );
        test.foreign_keys = Some("on".into());
    }
    crate::migrate_test::run(&dest_cx, &test)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// What a migration's up touches, read from its SQL text (for ups that did not run).
fn text_effects(m: &Migration) -> Vec<(String, String)> {
    use retort_build::lint::Effect;
    let mut out: Vec<(String, String)> = Vec::new();
    for statement in retort_build::sql::split_statements(&m.up.sql) {
        for effect in retort_build::lint::effects(&statement) {
            let (table, what) = match effect {
                Effect::DataChange { table, .. } => (table, "rows written"),
                Effect::DropTable(table) => (table, "drop table"),
                Effect::DropColumn { table, .. } => (table, "drop column"),
                Effect::Touch(table) => (table, "change"),
                Effect::Create(table) => (table, "create"),
                Effect::Rename(from, _) => (from, "rename"),
                _ => continue,
            };
            if !out.iter().any(|(t, _)| *t == table) {
                out.push((table, what.to_string()));
            }
        }
    }
    out
}

/// Creates `dest` and writes every file new; on any failure removes what it wrote.
fn write_all(dest: &Path, files: &[(PathBuf, String)]) -> std::io::Result<()> {
    let created = !dest.exists();
    std::fs::create_dir_all(dest)?;
    let mut written = Vec::new();
    let result = files.iter().try_for_each(|(path, text)| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
        written.push(path.clone());
        std::io::Write::write_all(&mut file, text.as_bytes())
    });
    if result.is_err() {
        for path in &written {
            let _ = std::fs::remove_file(path);
        }
        if created {
            let _ = std::fs::remove_dir(dest);
        }
    }
    result
}
