//! `verify` and `populate`: a live database compared with what its history says it should be,
//! and the populate scripts run against it.

use std::path::Path;

use retort::{Migrator, RepairRefusal};

use crate::Context;
use crate::db::db_error;
use crate::flags::{PopulateFlags, VerifyFlags};
use crate::output::{self, Failure};

/// `verify --db PATH [--repair [--apply] [--drop-extra]]`: checksums, the schema its recorded
/// revisions build, and foreign keys; with `--repair`, the SQL that brings the schema back.
pub fn verify(cx: &Context, flags: &VerifyFlags) -> anyhow::Result<()> {
    let migrator = Migrator::new(cx.set()?);
    let db = cx.database(flags.db.db.as_deref())?;
    if flags.repair {
        return repair(cx, &migrator, &db, flags);
    }
    let live = retort::open_read_only(&db).map_err(db_error)?;
    let report = migrator.verify(&live).map_err(db_error)?;
    if report.findings.is_empty() {
        output::status(
            "Verified",
            format!(
                "{}: {} recorded revisions, schema and checksums match, no foreign key violations",
                cx.show(&db).display(),
                report.recorded.len()
            ),
        );
        return Ok(());
    }
    for finding in &report.findings {
        println!("{finding}");
    }
    let n = report.findings.len();
    let shown = crate::context::shell_word(&cx.show(&db).to_string_lossy());
    // A repair needs a sound history, and has something to do only for schema objects.
    use retort::VerifyFinding::{Different, Extra, History, Missing};
    let history = report.findings.iter().any(|f| matches!(f, History(_)));
    let schema = report.findings.iter().any(|f| matches!(f, Missing(_) | Extra(_) | Different(_)));
    let hint = if schema && !history {
        format!("; `{}` prints the SQL that repairs the schema", cx.run(&format!("verify --db {shown} --repair")))
    } else {
        String::new()
    };
    Err(Failure(format!("{} does not match its history: {n} difference(s){hint}", cx.show(&db).display())).into())
}

/// `verify --repair`: the repair SQL printed; with `--apply`, run after a backup, then verified.
fn repair(cx: &Context, migrator: &Migrator, db: &Path, flags: &VerifyFlags) -> anyhow::Result<()> {
    let shown = cx.show(db).display().to_string();
    let word = crate::context::shell_word(&shown);
    let conn = if flags.apply { retort::open_existing(db) } else { retort::open_read_only(db) }.map_err(db_error)?;
    let plan = match migrator.repair(&conn, flags.drop_extra) {
        Ok(plan) => plan,
        Err(RepairRefusal::History(problems)) => {
            for p in &problems {
                println!("{p}");
            }
            return Err(Failure(format!(
                "{shown}: the history has {} problem(s) above, so the schema it should have is unknown; fix the history first (`{}`)",
                problems.len(),
                cx.run(&format!("stamp --db {word} …"))
            ))
            .into());
        }
        Err(RepairRefusal::NotExact(reasons)) => {
            return Err(Failure(format!(
                "{shown}: cannot generate a repair exactly:\n  - {}\nnothing was changed; repair it by hand",
                reasons.join("\n  - ")
            ))
            .into());
        }
        Err(RepairRefusal::Sqlite(e)) => return Err(db_error(*e)),
    };
    for object in &plan.extra_kept {
        output::status("Kept", format!("{object}: no recorded migration creates it (`--drop-extra` drops it)"));
    }
    for (table, column) in &plan.lost {
        match column {
            Some(c) => output::status(
                "Loses",
                format!("column {table}.{c}: no recorded migration creates it; the rebuild leaves it out"),
            ),
            None => output::status("Loses", format!("table {table}, with its rows (--drop-extra)")),
        }
    }
    if plan.sql.is_empty() {
        output::status(
            "Verified",
            format!("{shown}: the schema is what its recorded revisions build; nothing to repair"),
        );
        return Ok(());
    }
    if !flags.apply {
        println!(
            "-- Repair of {shown}: the schema its recorded revisions build. Review, then run\n-- `{}`.",
            cx.run(&format!("verify --db {word} --repair --apply"))
        );
        print!("{}", plan.sql);
        return Ok(());
    }
    let backup = retort::backup(&conn, db).map_err(db_error)?;
    output::status("Backed up", cx.show(&backup).display());
    retort::autogen::apply(&conn, &plan.sql)
        .map_err(|e| Failure(format!("{shown}: the repair failed, {e}; nothing was changed (backup kept)")))?;
    for (table, change) in &plan.changes {
        output::status("Repaired", format!("{table}: {change}"));
    }
    let report = migrator.verify(&conn).map_err(db_error)?;
    // The extra objects were kept on purpose; anything else left is a failure.
    let left: Vec<_> = report
        .findings
        .iter()
        .filter(|f| !matches!(f, retort::VerifyFinding::Extra(c) if plan.extra_kept.contains(&c.object())))
        .collect();
    if left.is_empty() {
        let kept = if plan.extra_kept.is_empty() {
            String::new()
        } else {
            format!(" ({} extra object(s) kept)", plan.extra_kept.len())
        };
        output::status("Verified", format!("{shown}: schema and checksums match its history{kept}"));
        return Ok(());
    }
    for finding in &left {
        println!("{finding}");
    }
    Err(Failure(format!("{shown} still differs after the repair: {} difference(s)", left.len())).into())
}

/// `populate --db PATH [NAME…]`.
pub fn populate(cx: &Context, flags: &PopulateFlags) -> anyhow::Result<()> {
    let (set, scripts) = cx.set_and_scripts()?;
    let db = cx.database(flags.db.db.as_deref())?;
    let mut conn = retort::open_existing(&db).map_err(db_error)?;
    let chosen: Vec<_> = if flags.names.is_empty() {
        scripts
    } else {
        let mut chosen = Vec::new();
        for name in &flags.names {
            let name = name.trim_end_matches(".sql");
            match scripts.iter().find(|s| s.name == name) {
                Some(s) => chosen.push(s.clone()),
                None => {
                    let known: Vec<&str> = scripts.iter().map(|s| s.name.as_str()).collect();
                    anyhow::bail!("no populate script `{name}`; there are: {}", known.join(", "));
                }
            }
        }
        chosen
    };
    if chosen.is_empty() {
        output::status(
            "Finished",
            format!("no populate scripts in {}", cx.show(&cx.dir.join(retort_build::POPULATE_DIR)).display()),
        );
        return Ok(());
    }
    let migrator = Migrator::new(set);
    // Every requirement is checked before anything runs, so a database that is behind gets no
    // partial population.
    let state = migrator.state(&conn).map_err(db_error)?;
    let behind: Vec<String> = chosen
        .iter()
        .filter(|s| !state.applied.contains(&s.requires))
        .map(|s| format!("{} requires {}", s.file.display(), s.requires))
        .collect();
    if !behind.is_empty() {
        return Err(Failure(format!(
            "the database is behind: {}; run `{}` first",
            behind.join(", "),
            cx.run(&format!("upgrade --db {}", crate::context::shell_word(&cx.show(&db).to_string_lossy())))
        ))
        .into());
    }
    for script in &chosen {
        retort::populate::run_script(&mut conn, &migrator, script).map_err(db_error)?;
        output::status("Populated", script.file.display());
    }
    Ok(())
}
