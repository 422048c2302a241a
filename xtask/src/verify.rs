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
    let db = cx.database(flags.db.as_deref())?;
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
    Err(Failure(format!("{} does not match its history: {n} difference(s)", cx.show(&db).display())).into())
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
