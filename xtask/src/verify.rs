//! `verify` and `populate`: a live database compared with what its history says it should be,
//! and the populate scripts run against it.

use std::collections::BTreeSet;

use retort::{Change, Migrator, Schema};
use retort_build::RevisionId;
use rusqlite::Connection;

use crate::Context;
use crate::db::db_error;
use crate::flags::{DbFlags, PopulateFlags};
use crate::output::{self, Failure};

/// `verify --db PATH`: checksums, the schema its recorded revisions build, and foreign keys.
pub fn verify(cx: &Context, flags: &DbFlags) -> anyhow::Result<()> {
    let set = cx.set()?;
    let live = retort::open_read_only(&flags.db).map_err(db_error)?;
    let rows = retort::history::read(&live).map_err(db_error)?;
    let mut problems = Vec::new();
    let mut recorded = BTreeSet::new();
    for row in &rows {
        match RevisionId::parse(&row.revision).filter(|r| set.get(r).is_some()) {
            None => {
                problems.push(format!("the history records {}, which these migrations do not contain", row.revision))
            }
            Some(rev) => {
                let file = set.checksum(&rev);
                if row.checksum != file {
                    problems
                        .push(format!("{rev} was applied with checksum {} but its file now has {file}", row.checksum));
                }
                recorded.insert(rev);
            }
        }
    }
    // The schema the recorded revisions build, replayed on an in-memory database.
    let migrator = Migrator::new(set);
    let expected_db = Connection::open_in_memory()?;
    let path = migrator.set().graph().sorted(recorded.iter().copied());
    if !migrator.set().graph().is_consistent(&recorded) {
        problems.push("the history records revisions without all of their parents".to_string());
    }
    migrator.run(&expected_db, &path, retort::Direction::Up, &mut |_| {}).map_err(db_error)?;
    let expected = Schema::read(&expected_db).map_err(db_error)?;
    let actual = Schema::read(&live).map_err(db_error)?;
    for change in expected.diff(&actual) {
        let (what, detail) = match &change {
            Change::Removed(_) => ("missing", "migration marked applied but changes absent"),
            Change::Added(_) => ("extra", "not created by any recorded migration"),
            Change::Changed(..) => ("different", "differs from what the recorded migrations build"),
        };
        problems.push(format!("{what}: {} ({detail})\n{}", change.object(), change.to_string().trim_end()));
    }
    let mismatches = retort::foreign_key_mismatches(&live).map_err(db_error)?;
    for m in &mismatches {
        problems.push(format!("foreign key that cannot work: {m}"));
    }
    // SQLite cannot check rows against a key that cannot work.
    if mismatches.is_empty() {
        for v in retort::foreign_key_violations(&live).map_err(db_error)? {
            problems.push(format!("foreign key violation: {v}"));
        }
    }
    if problems.is_empty() {
        output::status(
            "Verified",
            format!(
                "{}: {} recorded revisions, schema and checksums match, no foreign key violations",
                flags.db.display(),
                recorded.len()
            ),
        );
        return Ok(());
    }
    for p in &problems {
        println!("{p}");
    }
    Err(Failure(format!("{} does not match its history: {} difference(s)", flags.db.display(), problems.len())).into())
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
