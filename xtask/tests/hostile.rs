//! The hostile-input catalogue: migration SQL, files and databases that try to break Retort's
//! guarantees, one case per way, through the real binary. Each asserts the exit code, the
//! message, and — wherever Retort refuses — that the database is byte-for-byte unchanged.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Fixture, Run, rev, write, write_unlocked, xtask};
use rusqlite::Connection;

const PARENT: &str = "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);";
const PARENT_DOWN: &str = "DROP TABLE child;\nDROP TABLE parent;";

/// A scratch project: `migrations/` and a database path beside it.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(migrations: &[Fixture]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("migrations"), migrations);
        Project { dir }
    }

    fn unlocked(migrations: &[Fixture]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        write_unlocked(&dir.path().join("migrations"), migrations);
        Project { dir }
    }

    fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("app.db")
    }

    fn db_arg(&self) -> String {
        self.db().display().to_string()
    }

    fn run(&self, args: &[&str]) -> Run {
        xtask(&self.migrations(), args, self.dir.path())
    }

    /// Runs `upgrade TARGET` and asserts it worked.
    fn upgrade(&self, target: &str) {
        let run = self.run(&["upgrade", "--db", &self.db_arg(), target]);
        assert_eq!(run.code, 0, "{}", run.transcript());
    }

    /// The database file's digest: equal exactly when the bytes are.
    fn bytes(&self) -> String {
        retort_build::sha256_text(&std::fs::read(self.db()).unwrap())
    }

    /// The 1-based line of the last line holding `needle` in migration `tag`'s file.
    fn line_of(&self, tag: &str, needle: &str) -> usize {
        let file = self.migrations().join(format!("{}_fixture_{tag}.sql", rev(tag)));
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        1 + lines.iter().rposition(|l| l.contains(needle)).unwrap_or_else(|| panic!("`{needle}` in {tag}"))
    }

    fn at(&self, tag: &str, needle: &str) -> String {
        format!("{}_fixture_{tag}.sql:{}", rev(tag), self.line_of(tag, needle))
    }

    fn conn(&self) -> Connection {
        Connection::open(self.db()).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// Asserts `run` exited with `code` and its stderr holds every one of `parts`.
fn check(run: &Run, code: i32, parts: &[&str]) {
    assert_eq!(run.code, code, "{}", run.transcript());
    for part in parts {
        assert!(run.stderr.contains(part), "expected `{part}` in:\n{}", run.transcript());
    }
}

fn base() -> Fixture<'static> {
    ("a", &[], "", PARENT, PARENT_DOWN)
}

// 1. Transaction control inside a transactional migration.

#[test]
fn transaction_control_is_refused_before_anything_runs() {
    for (name, up) in [
        ("rollback", "CREATE TABLE t1 (a);\nROLLBACK;\nCREATE TABLE t2 (a);"),
        ("commit then failure", "CREATE TABLE t1 (a);\nCOMMIT;\nCREATE TABLE t2 (a);\nSELECT * FROM missing;"),
        ("valid with commit", "CREATE TABLE t1 (a);\nCOMMIT;"),
    ] {
        let p = Project::new(&[base()]);
        p.upgrade("head");
        write_unlocked(&p.migrations(), &[("b", &["a"], "", up, "DROP TABLE t1;")]);
        let before = p.bytes();
        let run = p.run(&["upgrade", "--db", &p.db_arg()]);
        let verb = if up.contains("ROLLBACK") { "ROLLBACK" } else { "COMMIT" };
        check(&run, 1, &["in a migration that runs in a transaction", &p.at("b", verb)]);
        assert_eq!(p.bytes(), before, "{name}: the database is unchanged");
        check(&p.run(&["lint"]), 1, &["in a migration that runs in a transaction"]);
    }
}

#[test]
fn transaction_control_in_populate_sql_is_refused_at_run_time() {
    let p = Project::new(&[base()]);
    p.upgrade("head");
    std::fs::create_dir_all(p.migrations().join("populate")).unwrap();
    let script = format!(
        "-- Seed\n-- Requires: {}\n\nINSERT INTO parent (name) VALUES ('x');\nCOMMIT;\nINSERT INTO parent (name) VALUES ('y');\n",
        rev("a")
    );
    std::fs::write(p.migrations().join("populate/001_seed.sql"), script).unwrap();
    let before = p.bytes();
    let run = p.run(&["populate", "--db", &p.db_arg()]);
    check(
        &run,
        1,
        &["`COMMIT` is refused inside a migration", "populate/001_seed.sql:5", "nothing of the script was kept"],
    );
    assert_eq!(p.bytes(), before);
}

// 2. Settings never leak from one step into the next.

#[test]
fn a_pragma_set_by_one_migration_does_not_reach_the_next() {
    let rebuild = "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\nINSERT INTO parent_new (id, name) SELECT id, coalesce(name, '') FROM parent;\nDROP TABLE parent;\nALTER TABLE parent_new RENAME TO parent;";
    let unbuild = "CREATE TABLE parent_old (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO parent_old (id, name) SELECT id, name FROM parent;\nDROP TABLE parent;\nALTER TABLE parent_old RENAME TO parent;";
    let waived = "-- Allow: data-change: fixture\n-- Allow: destructive: rebuild\n";
    let p = Project::new(&[
        base(),
        (
            "b",
            &["a"],
            "-- Allow: data-change: fixture\n",
            "INSERT INTO parent VALUES (1, 'p');\nINSERT INTO child VALUES (1, 1), (2, 1);",
            "DELETE FROM child;\nDELETE FROM parent;",
        ),
        (
            "c",
            &["b"],
            "-- Transaction: none\n-- Allow: pragma: fixture\n",
            "PRAGMA foreign_keys = ON;\nCREATE TABLE marker (x);",
            "DROP TABLE marker;",
        ),
        ("d", &["c"], waived, rebuild, unbuild),
    ]);
    p.upgrade("head");
    assert_eq!(p.count("SELECT count(*) FROM child"), 2, "the rebuild ran with foreign keys off: no cascade");
    let run = p.run(&["verify", "--db", &p.db_arg()]);
    check(&run, 0, &["Verified"]);

    // Without the waiver the lint names the pragma.
    let q = Project::new(&[
        base(),
        (
            "b",
            &["a"],
            "-- Transaction: none\n",
            "PRAGMA foreign_keys = ON;\nCREATE TABLE marker (x);",
            "DROP TABLE marker;",
        ),
    ]);
    check(&q.run(&["lint"]), 1, &["`PRAGMA foreign_keys` changes a setting Retort pins", "Allow: pragma"]);
}

// 3. Nothing outside the migration's own schema change.

#[test]
fn attach_and_history_access_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let other = outside.path().join("other.db");
    let attach = format!("ATTACH '{}' AS other;\nCREATE TABLE other.t (x);", other.display());
    for (up, expected) in [
        (attach.as_str(), "`ATTACH` of"),
        ("VACUUM INTO 'copy.db';", "`ATTACH` of `copy.db`"),
        ("CREATE TABLE t (x);\nDELETE FROM retort_history;", "writing `retort_history` is refused"),
        (
            "CREATE TABLE t (x);\nCREATE TRIGGER forge AFTER INSERT ON retort_history BEGIN UPDATE retort_history SET checksum = 'x'; END;",
            "a trigger, index or view on `retort_history` is refused",
        ),
        ("CREATE TABLE t AS SELECT * FROM retort_history;", "reading `retort_history` is refused"),
        ("CREATE TEMP TABLE retort_history (revision TEXT);", "creating `retort_history` is refused"),
    ] {
        let p = Project::new(&[base()]);
        p.upgrade("head");
        let extra = if up.contains("VACUUM") { "-- Transaction: none\n" } else { "" };
        let down = if up.contains("VACUUM") { "SELECT 1;" } else { "DROP TABLE t;" };
        write(&p.migrations(), &[base(), ("b", &["a"], extra, up, down)]);
        let before = p.bytes();
        let run = p.run(&["upgrade", "--db", &p.db_arg()]);
        check(&run, 1, &[expected, &format!("{}_fixture_b.sql:", rev("b"))]);
        assert_eq!(p.bytes(), before, "{up}: the database is unchanged");
        assert!(!other.exists() && !p.dir.path().join("copy.db").exists(), "{up}: no other file was written");
    }
    let p =
        Project::new(&[base(), ("b", &["a"], "", "CREATE TABLE t (x);\nDELETE FROM retort_history;", "DROP TABLE t;")]);
    check(&p.run(&["lint"]), 1, &["migration SQL names `retort_history`"]);
}

// 4. A `Transaction: none` migration failing halfway says what stays.

#[test]
fn a_transaction_none_failure_names_what_was_applied() {
    let p = Project::new(&[
        base(),
        (
            "b",
            &["a"],
            "-- Transaction: none\n",
            "CREATE TABLE kept (x);\nCREATE TABLE also_kept (x);\nDROP TABLE missing_table;",
            "DROP TABLE kept;\nDROP TABLE also_kept;",
        ),
    ]);
    let run = p.run(&["upgrade", "--db", &p.db_arg()]);
    check(
        &run,
        1,
        &[
            &format!("upgrade {} failed: no such table: missing_table", rev("b")),
            &format!(
                "these of its statements were applied and stay: line {} `CREATE TABLE kept (x);`, line {} `CREATE TABLE also_kept (x);`",
                p.line_of("b", "CREATE TABLE kept"),
                p.line_of("b", "CREATE TABLE also_kept")
            ),
            "`verify` lists them as extra",
        ],
    );
    assert_eq!(p.count("SELECT count(*) FROM sqlite_schema WHERE name IN ('kept', 'also_kept')"), 2);
    check(&p.run(&["verify", "--db", &p.db_arg()]), 1, &["does not match its history"]);
}

// 5. Backups.

fn effective_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Runs `program args` as `nobody` when this test runs as root (setpriv), as this user otherwise;
/// `None` (with the reason printed) when neither can show what permissions do.
fn as_unprivileged(program: &Path, args: &[&str], cwd: &Path) -> Option<std::process::Output> {
    let mut cmd = if effective_uid() == 0 {
        if Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!("skipped: running as root without setpriv, so permissions cannot be exercised");
            return None;
        }
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(program);
        cmd
    } else {
        Command::new(program)
    };
    Some(cmd.args(args).current_dir(cwd).env("NO_COLOR", "1").output().unwrap())
}

#[cfg(unix)]
#[test]
fn backups_never_follow_links_nor_widen_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new(&[base()]);
    p.upgrade("head");
    std::fs::set_permissions(p.db(), std::fs::Permissions::from_mode(0o600)).unwrap();
    // Plant a link at every name the next seconds could give.
    let loot = p.dir.path().join("loot.db");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut planted = Vec::new();
    for s in now..now + 30 {
        let stamp: String = retort_build::timestamp::rfc3339(s).chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let link = p.dir.path().join(format!("app.db.{stamp}.bak"));
        std::os::unix::fs::symlink(&loot, &link).unwrap();
        planted.push(link);
    }
    let conn = retort::open(p.db()).unwrap();
    let backup = retort::backup(&conn, &p.db()).unwrap();
    assert!(!planted.contains(&backup), "the backup took a free name: {}", backup.display());
    assert!(!loot.exists(), "no link was followed");
    for link in &planted {
        assert!(std::fs::symlink_metadata(link).unwrap().file_type().is_symlink(), "links are left as they were");
    }
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup has the database's permissions");
    let copy = Connection::open(&backup).unwrap();
    let tables: i64 =
        copy.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'child'", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 1, "the backup holds the database");
    // Another user cannot read it.
    let dir_mode = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(p.dir.path(), dir_mode).unwrap();
    if let Some(out) = as_unprivileged(Path::new("/bin/cat"), &[backup.to_str().unwrap()], p.dir.path()) {
        assert!(!out.status.success(), "another user read the backup");
    }
}

// 6. Branch labels that read as targets.

#[test]
fn labels_that_read_as_targets_are_refused() {
    let full = rev("b");
    for label in [full.as_str(), "b000", "head", "base", "+1"] {
        let p = Project::new(&[base()]);
        p.upgrade("head");
        let extra = format!("-- Branch Labels: {label}\n");
        write_unlocked(&p.migrations(), &[("b", &["a"], &extra, "CREATE TABLE t (x);", "DROP TABLE t;")]);
        let before = p.bytes();
        check(&p.run(&["upgrade", "--db", &p.db_arg(), label]), 1, &[&format!("label `{label}`")]);
        check(&p.run(&["stamp", "--db", &p.db_arg(), label]), 1, &[&format!("label `{label}`")]);
        assert_eq!(p.bytes(), before);
    }
}

// 7. The lock never launders drift.

fn lock_entry(p: &Project, tag: &str) -> String {
    let set = retort_build::load(&p.migrations(), p.dir.path(), retort_build::LockPolicy::Lenient).set.unwrap();
    retort_build::Lock::of(&set)
        .entries
        .iter()
        .find(|e| e.revision.as_str() == rev(tag))
        .map(|e| format!("{} {} {}", e.revision, e.checksum, e.file))
        .unwrap()
}

#[test]
fn a_conflicted_lock_is_resolved_as_the_union_and_drift_is_still_refused() {
    let p = Project::new(&[base(), ("b", &["a"], "", "CREATE TABLE b (x);", "DROP TABLE b;")]);
    write(
        &p.migrations(),
        &[
            base(),
            ("b", &["a"], "", "CREATE TABLE b (x);", "DROP TABLE b;"),
            ("c", &["b"], "", "CREATE TABLE c (x);", "DROP TABLE c;"),
        ],
    );
    let lock = p.migrations().join("retort.lock");
    let (a, b, c) = (lock_entry(&p, "a"), lock_entry(&p, "b"), lock_entry(&p, "c"));
    let conflicted = format!(
        "# Generated by Retort's `lock` command. Do not edit by hand.\nversion 1\n<<<<<<< HEAD\ntotal sha256:{z}\n{a}\n{b}\n=======\ntotal sha256:{o}\n{a}\n{c}\n>>>>>>> other\n",
        z = "0".repeat(64),
        o = "1".repeat(64)
    );
    std::fs::write(&lock, &conflicted).unwrap();
    check(&p.run(&["lock", "--check"]), 1, &["the lock has a merge conflict"]);
    let run = p.run(&["lock"]);
    check(&run, 0, &["Resolved the lock's merge conflict: kept 4 entries"]);
    check(&p.run(&["lock", "--check"]), 0, &["Fresh"]);

    // The same conflict with `b` edited since it was pinned: refused, the lock left alone.
    write_unlocked(&p.migrations(), &[("b", &["a"], "", "CREATE TABLE b (x, y);", "DROP TABLE b;")]);
    std::fs::write(&lock, &conflicted).unwrap();
    let run = p.run(&["lock"]);
    let rb = rev("b");
    check(&run, 1, &[&format!("checksum drift in locked migration {rb}"), &format!("--relock {rb}")]);
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), conflicted);

    // A wrong `total` is no way around it either.
    let stale = format!(
        "# Generated by Retort's `lock` command. Do not edit by hand.\nversion 1\ntotal sha256:{}\n{a}\n{b}\n{c}\n",
        "2".repeat(64)
    );
    std::fs::write(&lock, &stale).unwrap();
    check(&p.run(&["lock"]), 1, &[&format!("checksum drift in locked migration {rb}")]);
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), stale);
    check(&p.run(&["lock", "--relock", &rb]), 0, &["Relocked"]);
}

// 8. Near-miss header keys.

#[test]
fn near_miss_keys_are_errors_with_the_right_spelling() {
    for line in ["-- Depends On:a00000000000", "-- Depends On : a00000000000", "-- depends on: a00000000000"] {
        let p =
            Project::unlocked(&[base(), ("b", &["a"], &format!("{line}\n"), "CREATE TABLE t (x);", "DROP TABLE t;")]);
        check(&p.run(&["lint"]), 1, &["looks like the key `Depends On`", "did you mean `-- Depends On: <value>`?"]);
    }
}

// 9. Editor and OS droppings.

#[test]
fn droppings_are_ignored_and_strangers_still_refused() {
    let p = Project::new(&[base()]);
    for name in [
        ".DS_Store",
        ".a00000000000_fixture_a.sql.swp",
        "a00000000000_fixture_a.sql~",
        "README.md",
        "#x.sql#",
        "x.sql.orig",
    ] {
        std::fs::write(p.migrations().join(name), "junk").unwrap();
    }
    check(&p.run(&["lint"]), 0, &["Linted"]);
    std::fs::write(p.migrations().join("notes.txt"), "junk").unwrap();
    check(&p.run(&["lint"]), 1, &["notes.txt", "unexpected file in the migrations directory"]);
}

// 10. Read-only commands on a database with a hot journal.

/// Leaves `db` as a crash would: a journal from a write that never finished, next to it.
fn leave_hot_journal(p: &Project) {
    let work = p.dir.path().join("work.db");
    std::fs::copy(p.db(), &work).unwrap();
    let conn = Connection::open(&work).unwrap();
    conn.execute_batch("PRAGMA cache_size = 1; BEGIN; CREATE TABLE half (x);").unwrap();
    for i in 0..500 {
        conn.execute("INSERT INTO parent (name) VALUES (?1)", [format!("{i:0>200}")]).unwrap();
    }
    let mut journal = work.clone().into_os_string();
    journal.push("-journal");
    let mut target = p.db().into_os_string();
    target.push("-journal");
    std::fs::copy(&work, p.db()).unwrap();
    std::fs::copy(&journal, &target).unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn read_only_commands_work_on_a_database_left_by_a_crash() {
    let p = Project::new(&[base()]);
    p.upgrade("head");
    leave_hot_journal(&p);
    check(&p.run(&["current", "--db", &p.db_arg()]), 0, &[]);
    leave_hot_journal(&p);
    check(&p.run(&["verify", "--db", &p.db_arg()]), 0, &["Verified"]);
    leave_hot_journal(&p);
    check(&p.run(&["history", "--db", &p.db_arg()]), 0, &[]);
    leave_hot_journal(&p);
    let run = p.run(&["upgrade", "--db", &p.db_arg(), "--sql"]);
    check(&run, 0, &[]);
    assert_eq!(
        p.count("SELECT count(*) FROM sqlite_schema WHERE name = 'half'"),
        0,
        "the interrupted write was rolled back"
    );
}

// 11. Databases and paths that are not what they seem.

#[test]
fn paths_that_are_no_database_are_named() {
    let p = Project::new(&[base()]);
    let missing_dir = p.dir.path().join("nowhere/app.db");
    check(&p.run(&["upgrade", "--db", missing_dir.to_str().unwrap()]), 2, &["the directory", "nowhere does not exist"]);
    check(&p.run(&["upgrade", "--db", p.dir.path().to_str().unwrap()]), 2, &["is a directory, not a database file"]);
    let text = p.dir.path().join("notes.db");
    std::fs::write(&text, "these are notes, not a database, and long enough to look like a header").unwrap();
    check(&p.run(&["upgrade", "--db", text.to_str().unwrap()]), 2, &["notes.db is not a SQLite database"]);
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "these are notes, not a database, and long enough to look like a header"
    );
    for db in [":memory:", "file:app.db?mode=memory"] {
        check(&p.run(&["upgrade", "--db", db]), 2, &["is not a database file path"]);
    }
    for cmd in ["stamp", "current", "downgrade", "verify", "history", "populate"] {
        let mut args = vec![cmd, "--db"];
        let db = p.db_arg();
        args.push(&db);
        if cmd == "stamp" || cmd == "downgrade" {
            args.push("base");
        }
        check(&p.run(&args), 2, &["app.db does not exist"]);
        assert!(!p.db().exists(), "{cmd} created no file");
    }
}

#[test]
fn a_damaged_history_is_named_with_the_stamp_way_out() {
    let p = Project::new(&[base(), ("b", &["a"], "", "CREATE TABLE t (x);", "DROP TABLE t;")]);
    p.upgrade(&rev("a"));
    p.conn().execute_batch("DROP TABLE retort_history").unwrap();
    let before = p.bytes();
    check(
        &p.run(&["upgrade", "--db", &p.db_arg()]),
        1,
        &["table parent already exists", "no history table `retort_history` (was it dropped?)", "`stamp` it"],
    );
    assert_eq!(p.bytes(), before);

    let p = Project::new(&[base()]);
    p.upgrade("head");
    p.conn().execute_batch("ALTER TABLE retort_history DROP COLUMN checksum").unwrap();
    check(
        &p.run(&["current", "--db", &p.db_arg()]),
        1,
        &["`retort_history` has been altered: its columns are (revision, applied_at, duration_ms)", "`stamp`"],
    );

    let p = Project::new(&[base()]);
    p.upgrade("head");
    p.conn().execute_batch("INSERT INTO retort_history VALUES ('b00000000000', '', 'x', 'slow')").unwrap();
    check(
        &p.run(&["current", "--db", &p.db_arg()]),
        1,
        &["row 2 (revision b00000000000) has no valid checksum, duration_ms"],
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_database_is_blamed_on_the_file_not_the_sql() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new(&[base(), ("b", &["a"], "", "CREATE TABLE t (x);", "DROP TABLE t;")]);
    p.upgrade(&rev("a"));
    let readable = |path: &Path, mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    readable(p.dir.path(), 0o755);
    readable(&p.migrations(), 0o755);
    for f in std::fs::read_dir(p.migrations()).unwrap() {
        readable(&f.unwrap().path(), 0o644);
    }
    readable(&p.db(), 0o444);
    let before = p.bytes();
    let (migrations, db) = (p.migrations().display().to_string(), p.db_arg());
    let args = ["--migrations", migrations.as_str(), "upgrade", "--db", db.as_str()];
    let Some(out) = as_unprivileged(Path::new(env!("CARGO_BIN_EXE_cargo-retort")), &args, p.dir.path()) else { return };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("app.db is not writable"), "{stderr}");
    assert!(!stderr.contains("_fixture_b.sql"), "the migration is not blamed: {stderr}");
    assert_eq!(p.bytes(), before);
    // A writable file in a read-only directory: SQLite cannot create its journal.
    readable(&p.db(), 0o666);
    readable(p.dir.path(), 0o555);
    let out = as_unprivileged(Path::new(env!("CARGO_BIN_EXE_cargo-retort")), &args, p.dir.path()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    readable(p.dir.path(), 0o755);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("app.db is not writable"), "{stderr}");
    assert_eq!(p.bytes(), before);
}

// 12. Foreign keys that cannot work.

#[test]
fn foreign_keys_that_cannot_work_are_refused_on_the_revision_that_makes_them() {
    for (up, reason) in [
        (
            "CREATE TABLE orphan (x INTEGER REFERENCES nowhere(id));",
            "orphan (x) -> nowhere(id): the parent table `nowhere` does not exist",
        ),
        (
            "CREATE TABLE loose (x INTEGER REFERENCES parent(name));",
            "loose (x) -> parent(name): the parent columns are not `parent`'s primary key",
        ),
    ] {
        let p = Project::new(&[base()]);
        p.upgrade("head");
        let table = if up.contains("orphan") { "orphan" } else { "loose" };
        let down = format!("DROP TABLE {table};");
        write(&p.migrations(), &[base(), ("b", &["a"], "", up, &down)]);
        let before = p.bytes();
        check(
            &p.run(&["upgrade", "--db", &p.db_arg()]),
            1,
            &[&format!("upgrade {} leaves foreign keys that cannot work", rev("b")), reason],
        );
        assert_eq!(p.bytes(), before);
    }
    // Dropping the parent a key points at, in a down, is caught too.
    let p = Project::new(&[
        base(),
        (
            "b",
            &["a"],
            "",
            "CREATE TABLE other (id INTEGER PRIMARY KEY);\nCREATE TABLE uses (o INTEGER REFERENCES other(id));",
            "DROP TABLE other;",
        ),
    ]);
    p.upgrade("head");
    let before = p.bytes();
    check(
        &p.run(&["downgrade", "--db", &p.db_arg(), "--no-backup", "-1"]),
        1,
        &[&format!("downgrade {} leaves foreign keys that cannot work", rev("b")), "uses (o) -> other(id)"],
    );
    assert_eq!(p.bytes(), before);
}

// 13. SQL errors in rustc's shape, at the line SQLite points at.

#[test]
fn sql_errors_are_diagnostics_at_the_line_of_the_error() {
    let p = Project::new(&[
        base(),
        ("b", &["a"], "", "CREATE TABLE t (x);\nCREATE INDEX t_x\n  ON t (\n    missing_column\n  );", "DROP TABLE t;"),
    ]);
    let run = p.run(&["upgrade", "--db", &p.db_arg()]);
    assert_eq!(run.code, 1);
    let b = rev("b");
    let expected = format!(
        "error: upgrade {b} failed: no such column: missing_column\n  --> migrations/{b}_fixture_b.sql:{}\n   = help: nothing of {b} was kept; applied before it in this run: {}\n",
        p.line_of("b", "missing_column"),
        rev("a")
    );
    assert!(run.stderr.ends_with(&expected), "{}", run.transcript());
}

// 14. Exit codes.

#[test]
fn exit_codes_follow_the_contract() {
    let p = Project::new(&[base()]);
    check(&p.run(&["downgrade", "--db", &p.db_arg(), "base"]), 2, &["does not exist"]);
    check(&p.run(&["verify", "--db", &p.db_arg()]), 2, &["does not exist"]);
    let run = xtask(&p.dir.path().join("nope"), &["lint"], p.dir.path());
    check(&run, 2, &["the migrations directory", "nope does not exist"]);
    for spelling in ["b00000000000", "not-a-revision", "BBBB"] {
        let p = Project::new(&[base()]);
        p.upgrade("head");
        p.conn()
            .execute("INSERT INTO retort_history VALUES (?1, 'sha256:x', '2025-01-01T00:00:00Z', 0)", [spelling])
            .unwrap();
        check(
            &p.run(&["upgrade", "--db", &p.db_arg()]),
            1,
            &[&format!("the database is at revision {spelling}, which these migrations do not contain")],
        );
    }
    let p = Project::new(&[base()]);
    std::fs::create_dir_all(p.migrations().join("populate")).unwrap();
    std::fs::write(p.migrations().join("populate/001_seed.sql"), "-- Seed\n-- Requires: cccccccccccc\n\nSELECT 1;\n")
        .unwrap();
    check(&p.run(&["lint"]), 1, &["`Requires` names unknown revision cccccccccccc", "populate/001_seed.sql:2"]);
}

// 15. Offline scripts are valid SQL whatever the section ends with.

#[test]
fn offline_scripts_survive_sections_ending_in_comments() {
    let p = Project::new(&[
        base(),
        ("b", &["a"], "", "CREATE TABLE t (x) -- no semicolon, a comment", "DROP TABLE t -- the same"),
        ("c", &["b"], "", "CREATE TABLE u (x); /* a block comment never closed", "DROP TABLE u;"),
    ]);
    let run = p.run(&["upgrade", "--db", &p.db_arg(), "--sql"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let offline = Connection::open_in_memory().unwrap();
    offline.execute_batch(&run.stdout).unwrap();
    let names: i64 =
        offline.query_row("SELECT count(*) FROM sqlite_schema WHERE name IN ('t', 'u')", [], |r| r.get(0)).unwrap();
    let recorded: i64 = offline.query_row("SELECT count(*) FROM retort_history", [], |r| r.get(0)).unwrap();
    assert_eq!((names, recorded), (2, 3), "every statement of the script ran:\n{}", run.stdout);
}

// 16. Long sections run statement by statement, with the right line to the end.

#[test]
fn a_long_section_reports_the_line_of_its_last_statement() {
    let mut up = String::from("CREATE TABLE big (x INTEGER PRIMARY KEY);\n");
    for i in 0..5000 {
        up.push_str(&format!("INSERT INTO big VALUES ({i});\n"));
    }
    up.push_str("INSERT INTO big VALUES (0);");
    let p = Project::new(&[("a", &[], "-- Allow: data-change: fixture\n", &up, "DROP TABLE big;")]);
    let run = p.run(&["upgrade", "--db", &p.db_arg()]);
    check(&run, 1, &["UNIQUE constraint failed: big.x", &p.at("a", "INSERT INTO big VALUES (0);")]);
}
