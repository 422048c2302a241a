//! Crash safety and concurrency of `upgrade`, through the real binary on real files:
//! - a child running a long upgrade is killed with SIGKILL after its k-th applied migration, for
//!   k over the whole chain; the database must stay intact, match exactly the revisions its
//!   history records, and upgrade to head after;
//! - eight processes racing `upgrade head` on one file apply each migration exactly once.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use retort::{Migrator, Schema, Target};
use rusqlite::Connection;

fn upgrade_command(migrations: &Path, db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-retort"));
    cmd.arg("--migrations").arg(migrations).arg("upgrade").arg("--db").arg(db).env("NO_COLOR", "1");
    cmd
}

/// The schema of a fresh in-memory database with exactly `applied` replayed in order.
fn replayed(migrator: &Migrator, applied: &std::collections::BTreeSet<retort_build::RevisionId>) -> Schema {
    let mut conn = Connection::open_in_memory().unwrap();
    let path = migrator.set().graph().sorted(applied.iter().copied());
    migrator.run(&mut conn, &path, retort::Direction::Up, &mut |_| {}).unwrap();
    Schema::read(&conn).unwrap()
}

#[test]
fn sigkill_during_upgrade_never_corrupts() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    let set = retort::synth::write_dir(&migrations, 160, 11).unwrap();
    let total = set.len();
    let migrator = Migrator::new(set);
    let head = Schema::read(&{
        let mut conn = Connection::open_in_memory().unwrap();
        migrator.upgrade(&mut conn, Target::Head, &mut |_| {}).unwrap();
        conn
    })
    .unwrap();

    // Deterministic kill points: after the k-th "Applied" line, for k over the whole chain. The
    // child may have gone further by the time the signal lands; what it committed is whatever the
    // history says, and that must be exactly what the schema is.
    for k in (1..=total).step_by(8) {
        let db = dir.path().join(format!("crash-{k}.db"));
        let mut child = upgrade_command(&migrations, &db).stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut applied = 0;
        while applied < k {
            match lines.next() {
                Some(Ok(line)) if line.trim_start().starts_with("Applied ") => applied += 1,
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(applied, k, "kill point {k}: the upgrade printed fewer Applied lines");

        let mut conn = retort::open(&db).unwrap();
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok", "kill point {k}: {}", db.display());
        let state = migrator.state(&conn).unwrap_or_else(|e| panic!("kill point {k}: {e} ({})", db.display()));
        assert!(state.applied.len() >= k, "kill point {k}: {} recorded", state.applied.len());
        assert_eq!(
            Schema::read(&conn).unwrap(),
            replayed(&migrator, &state.applied),
            "kill point {k}: {}",
            db.display()
        );
        migrator.upgrade(&mut conn, Target::Head, &mut |_| {}).unwrap();
        assert_eq!(Schema::read(&conn).unwrap(), head, "kill point {k}");
    }
}

#[test]
fn racing_processes_apply_each_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    let set = retort::synth::write_dir(&migrations, 40, 5).unwrap();
    let count = set.len();
    let migrator = Migrator::new(set);
    for trial in 0..20 {
        let db = dir.path().join(format!("race-{trial}.db"));
        let children: Vec<_> =
            (0..8).map(|_| upgrade_command(&migrations, &db).stderr(Stdio::piped()).spawn().unwrap()).collect();
        let mut applied_lines = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "trial {trial}: a racer failed:\n{stderr}");
            applied_lines += stderr.lines().filter(|l| l.trim_start().starts_with("Applied ")).count();
        }
        assert_eq!(applied_lines, count, "trial {trial}: each migration is applied exactly once across the racers");
        let conn = retort::open(&db).unwrap();
        let state = migrator.state(&conn).unwrap();
        assert_eq!(state.rows.len(), count);
    }
}
