//! `current`, `upgrade`, `downgrade`, `stamp` and `history --db`: the migrator from the command
//! line, with Cargo-style status lines on stderr.

use std::path::Path;

use retort::{Direction, DowngradeOptions, Error, ErrorClass, Migrator, State, Step, Target};
use retort_build::RevisionId;

use crate::Context;
use crate::flags::{DbFlags, DowngradeFlags, StampFlags, UpgradeFlags};
use crate::output::{self, DbError};

/// Maps a migrator error to the CLI's exit codes (SPEC §9): a problem found in the database,
/// its history or the migrations' SQL is exit 1; a bad target, a path that is no usable
/// database file, I/O and SQLite failures outside migration SQL are exit 2.
pub fn db_error(error: Error) -> anyhow::Error {
    let code = match error.class() {
        ErrorClass::Found => 1,
        ErrorClass::Usage => 2,
    };
    DbError { error, code }.into()
}

fn migrator(cx: &Context) -> anyhow::Result<Migrator> {
    Ok(Migrator::new(cx.set()?))
}

fn target(m: &Migrator, text: &str) -> anyhow::Result<Target> {
    Target::parse(text, m.set().graph()).map_err(db_error)
}

fn describe(m: &Migrator, rev: &RevisionId) -> String {
    m.set().get(rev).map_or_else(String::new, |mig| mig.message.clone())
}

fn step_line(m: &Migrator) -> impl FnMut(&Step) + '_ {
    move |step: &Step| {
        let verb = match (step.skipped, step.direction) {
            (true, _) => "Skipped",
            (false, Direction::Up) => "Applied",
            (false, Direction::Down) => "Reverted",
        };
        let ms = step.duration.as_secs_f64() * 1000.0;
        let note = if step.skipped {
            " (already done by another process)".to_string()
        } else if step.transactional {
            format!(" ({ms:.1} ms)")
        } else {
            format!(" ({ms:.1} ms, outside a transaction)")
        };
        output::status(verb, format!("{} {}{note}", step.revision, describe(m, &step.revision)));
    }
}

/// The state of an existing database, read-only; an error when the file does not exist.
fn read_state(m: &Migrator, db: &Path) -> anyhow::Result<State> {
    let conn = retort::open_read_only(db).map_err(db_error)?;
    m.state(&conn).map_err(db_error)
}

/// Offline mode: prints the script from the database's state (read only) and touches nothing.
/// A database that does not exist yet is at base, and the script says so.
fn print_script(cx: &Context, m: &Migrator, db: &Path, direction: Direction, target: Target) -> anyhow::Result<()> {
    let state = if direction == Direction::Up && !db.exists() {
        output::status("Note", format!("{} does not exist yet: the script starts from base", cx.show(db).display()));
        State::default()
    } else {
        read_state(m, db)?
    };
    print!("{}", m.script(&state, direction, target).map_err(db_error)?);
    Ok(())
}

/// `current --db PATH`.
pub fn current(cx: &Context, flags: &DbFlags) -> anyhow::Result<()> {
    let m = migrator(cx)?;
    let db = cx.database(flags.db.as_deref())?;
    let state = read_state(&m, &db)?;
    let graph = m.set().graph();
    let heads = graph.heads_of(&state.applied);
    if heads.is_empty() {
        output::status("Current", format!("{} is at base (nothing applied)", cx.show(&db).display()));
    }
    let all_heads = graph.heads();
    for rev in heads {
        let tag = if all_heads.contains(&rev) { " (head)" } else { "" };
        println!("{rev}{tag}, {}", describe(&m, &rev));
    }
    Ok(())
}

/// `history --db PATH`.
pub fn applied_history(cx: &Context, db: &Path) -> anyhow::Result<()> {
    let m = migrator(cx)?;
    let state = read_state(&m, db)?;
    for row in &state.rows {
        let message = RevisionId::parse(&row.revision).map(|r| describe(&m, &r)).unwrap_or_default();
        println!("{} {} {:>6} ms  {message}", row.revision, row.applied_at, row.duration_ms);
    }
    Ok(())
}

/// `upgrade --db PATH [TARGET] [--sql]`.
pub fn upgrade(cx: &Context, flags: &UpgradeFlags) -> anyhow::Result<()> {
    let m = migrator(cx)?;
    let target = target(&m, &flags.target)?;
    let db = cx.database(flags.db.db.as_deref())?;
    if flags.sql {
        return print_script(cx, &m, &db, Direction::Up, target);
    }
    if !db.exists() {
        // Refuse a bad target before creating the file.
        m.plan(&State::default(), Direction::Up, target).map_err(db_error)?;
    }
    let mut conn = retort::open(&db).map_err(db_error)?;
    let report = m.upgrade(&mut conn, target, &mut step_line(&m)).map_err(db_error)?;
    let applied = report.steps.iter().filter(|s| !s.skipped).count();
    let state = m.state(&conn).map_err(db_error)?;
    let at: Vec<String> = m.set().graph().heads_of(&state.applied).iter().map(RevisionId::to_string).collect();
    let at = if at.is_empty() { "base".to_string() } else { at.join(", ") };
    if applied == 0 {
        output::status("Finished", format!("nothing to do; {} is at {at}", cx.show(&db).display()));
    } else {
        output::status("Finished", format!("{applied} migration(s); {} is at {at}", cx.show(&db).display()));
    }
    Ok(())
}

/// `downgrade --db PATH TARGET [--sql] [--no-backup]`.
pub fn downgrade(cx: &Context, flags: &DowngradeFlags) -> anyhow::Result<()> {
    let m = migrator(cx)?;
    let target = target(&m, &flags.target)?;
    let db = cx.database(flags.db.db.as_deref())?;
    if flags.sql {
        return print_script(cx, &m, &db, Direction::Down, target);
    }
    let mut conn = retort::open_existing(&db).map_err(db_error)?;
    // The backup's path is shown before the first step, so it is on screen even if one fails.
    let options = DowngradeOptions { backup: !flags.no_backup };
    let (path, backup) = m.prepare_downgrade(&conn, target, options).map_err(db_error)?;
    if let Some(backup) = backup {
        output::status("Backed up", format!("{} to {}", cx.show(&db).display(), cx.show(&backup).display()));
    }
    let report = m.run(&mut conn, &path, Direction::Down, &mut step_line(&m)).map_err(db_error)?;
    let reverted = report.steps.iter().filter(|s| !s.skipped).count();
    output::status("Finished", format!("{reverted} migration(s) reverted"));
    Ok(())
}

/// `stamp --db PATH TARGET`.
pub fn stamp(cx: &Context, flags: &StampFlags) -> anyhow::Result<()> {
    let m = migrator(cx)?;
    let target = target(&m, &flags.target)?;
    let db = cx.database(flags.db.db.as_deref())?;
    let conn = retort::open_existing(&db).map_err(db_error)?;
    let report = m.stamp(&conn, target).map_err(db_error)?;
    for rev in &report.removed {
        output::status("Unstamped", rev);
    }
    for rev in &report.added {
        output::status("Stamped", format!("{rev} {}", describe(&m, rev)));
    }
    if report.added.is_empty() && report.removed.is_empty() {
        output::status("Finished", "the history already matches the target");
    }
    Ok(())
}
