//! Crash safety and concurrency of `upgrade`, through the real binary on real files:
//! - a child running a long upgrade is killed with SIGKILL at random moments; the database must
//!   stay intact, match exactly the revisions its history records, and upgrade to head after;
//! - several processes racing `upgrade head` on one file apply each migration exactly once.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use retort::{Migrator, Schema, Target};
use rusqlite::Connection;

fn upgrade_command(migrations: &Path, db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg("--migrations").arg(migrations).arg("upgrade").arg("--db").arg(db).env("NO_COLOR", "1");
    cmd
}

/// The schema of a fresh in-memory database with exactly `applied` replayed in order.
fn replayed(migrator: &Migrator, applied: &std::collections::BTreeSet<retort_build::RevisionId>) -> Schema {
    let conn = Connection::open_in_memory().unwrap();
    let path = migrator.set().graph().sorted(applied.iter().copied());
    migrator.run(&conn, &path, retort::Direction::Up, &mut |_| {}).unwrap();
    Schema::read(&conn).unwrap()
}

#[test]
fn sigkill_during_upgrade_never_corrupts() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    let set = retort::synth::write_dir(&migrations, 160, 11).unwrap();
    let migrator = Migrator::new(set);
    let head = Schema::read(&{
        let conn = Connection::open_in_memory().unwrap();
        migrator.upgrade(&conn, Target::Head, &mut |_| {}).unwrap();
        conn
    })
    .unwrap();

    // How long a full upgrade takes here, so the kills land all over it.
    let probe = dir.path().join("probe.db");
    let started = Instant::now();
    assert!(upgrade_command(&migrations, &probe).stderr(Stdio::null()).status().unwrap().success());
    let full = started.elapsed().as_micros() as u64;

    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut partial = 0;
    for trial in 0..50 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let db = dir.path().join(format!("crash-{trial}.db"));
        let mut child = upgrade_command(&migrations, &db).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(seed % (full + 1)));
        let _ = child.kill();
        let _ = child.wait();

        let conn = retort::open(&db).unwrap();
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok", "trial {trial}: {}", db.display());
        let state = migrator.state(&conn).unwrap_or_else(|e| panic!("trial {trial}: {e} ({})", db.display()));
        if !state.applied.is_empty() && state.applied.len() < migrator.set().len() {
            partial += 1;
        }
        assert_eq!(
            Schema::read(&conn).unwrap(),
            replayed(&migrator, &state.applied),
            "trial {trial}: {}",
            db.display()
        );
        migrator.upgrade(&conn, Target::Head, &mut |_| {}).unwrap();
        assert_eq!(Schema::read(&conn).unwrap(), head, "trial {trial}");
    }
    eprintln!("{partial} of 50 kills landed mid-upgrade");
    assert!(partial >= 10, "the kills must land mid-upgrade often enough to mean something: {partial} of 50");
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
            (0..4).map(|_| upgrade_command(&migrations, &db).stderr(Stdio::piped()).spawn().unwrap()).collect();
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
