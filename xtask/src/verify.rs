//! `verify` and `populate`: a live database compared with what its history says it should be,
//! and the populate scripts run against it.

use retort::Migrator;

use crate::Context;
use crate::db::db_error;
use crate::flags::{DbFlags, PopulateFlags};
use crate::output::{self, Failure};

/// `verify --db PATH`: checksums, the schema its recorded revisions build, and foreign keys.
pub fn verify(cx: &Context, flags: &DbFlags) -> anyhow::Result<()> {
    let migrator = Migrator::new(cx.set()?);
    let live = retort::open_read_only(&flags.db).map_err(db_error)?;
    let report = migrator.verify(&live).map_err(db_error)?;
    if report.findings.is_empty() {
        output::status(
            "Verified",
            format!(
                "{}: {} recorded revisions, schema and checksums match, no foreign key violations",
                flags.db.display(),
                report.recorded.len()
            ),
        );
        return Ok(());
    }
    for finding in &report.findings {
        println!("{finding}");
    }
    let n = report.findings.len();
    Err(Failure(format!("{} does not match its history: {n} difference(s)", flags.db.display())).into())
}

/// `populate --db PATH [NAME…]`.
pub fn populate(cx: &Context, flags: &PopulateFlags) -> anyhow::Result<()> {
    let (set, scripts) = cx.set_and_scripts()?;
    let conn = retort::open_existing(&flags.db.db).map_err(db_error)?;
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
        output::status("Finished", "no populate scripts in migrations/populate/");
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
            "the database is behind: {}; run `cargo xtask upgrade --db {}` first",
            behind.join(", "),
            flags.db.db.display()
        ))
        .into());
    }
    for script in &chosen {
        retort::populate::run_script(&conn, &migrator, script).map_err(db_error)?;
        output::status("Populated", script.file.display());
    }
    Ok(())
}
