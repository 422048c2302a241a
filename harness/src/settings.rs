//! The connection settings every step runs with. Retort pins foreign-key enforcement off (a
//! table rebuild's `DROP TABLE` must not cascade; the harness can pin it on instead, to run
//! migrations as an application that enforces keys does) and SQLite's defaults for the settings that
//! change what SQL does (`legacy_alter_table`, `writable_schema`, `ignore_check_constraints`,
//! …); it keeps the connection's own value of the settings that only tune it (`synchronous`,
//! `secure_delete`, …). A step that assigns any of them (the authorizer notices) is followed by
//! a re-assertion before the next step, so a setting never leaks from one migration into the
//! next; a rollback journal switched off or into memory is switched back, since atomicity
//! depends on it. When the run ends, the connection gets back the values it came with.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Settings pinned to a value for every step, whatever the connection had.
const PINNED: [(&str, i64); 9] = [
    ("foreign_keys", 0),
    ("legacy_alter_table", 0),
    ("writable_schema", 0),
    ("defer_foreign_keys", 0),
    ("ignore_check_constraints", 0),
    ("recursive_triggers", 0),
    ("query_only", 0),
    ("reverse_unordered_selects", 0),
    ("cell_size_check", 0),
];

/// Settings a step may not leave changed, reset to the connection's own value.
const KEPT: [&str; 4] = ["synchronous", "trusted_schema", "secure_delete", "temp_store"];

/// The connection's settings as the run found them.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Enforce foreign keys in every step (Retort's default: off).
    enforce_foreign_keys: bool,
    pinned: Vec<i64>,
    kept: Vec<i64>,
    journal_mode: String,
    locking_mode: String,
}

fn read(conn: &Connection) -> Result<Settings> {
    let names = PINNED.iter().map(|(n, _)| *n).chain(KEPT);
    let columns: Vec<String> = names.map(|n| format!("(SELECT * FROM pragma_{n})")).collect();
    let sql = format!(
        "SELECT {}, (SELECT * FROM pragma_journal_mode), (SELECT * FROM pragma_locking_mode)",
        columns.join(", ")
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row([], |r| {
                let pinned = (0..PINNED.len()).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
                let kept = (0..KEPT.len()).map(|i| r.get(PINNED.len() + i)).collect::<rusqlite::Result<_>>()?;
                let n = PINNED.len() + KEPT.len();
                Ok(Settings {
                    enforce_foreign_keys: false,
                    pinned,
                    kept,
                    journal_mode: r.get(n)?,
                    locking_mode: r.get(n + 1)?,
                })
            })
        })
        .map_err(Error::sqlite("cannot read the connection's settings"))
}

fn volatile_journal(mode: &str) -> bool {
    mode.eq_ignore_ascii_case("off") || mode.eq_ignore_ascii_case("memory")
}

impl Settings {
    /// Reads the connection's settings, then pins Retort's.
    pub(crate) fn pin(conn: &Connection) -> Result<Settings> {
        read(conn)?.pin_known(conn)
    }

    /// The settings `conn` has now, nothing assigned.
    #[cfg(feature = "harness")]
    pub(crate) fn of(conn: &Connection) -> Result<Settings> {
        read(conn)
    }

    /// The same, with foreign keys enforced in every step (as an application that turns them on
    /// runs its migrations) or not.
    #[cfg(feature = "harness")]
    pub(crate) fn enforcing_foreign_keys(mut self, on: bool) -> Settings {
        self.enforce_foreign_keys = on;
        self
    }

    /// The value a pinned setting gets in every step.
    fn wanted(&self, name: &str, default: i64) -> i64 {
        if name == "foreign_keys" { i64::from(self.enforce_foreign_keys) } else { default }
    }

    /// Pins Retort's settings on `conn`, whose settings the caller knows to be these: a
    /// connection opened the same way as the one they were read from, and given back its own
    /// values by every session since (`restore` does that). Nothing is read.
    pub(crate) fn pin_known(&self, conn: &Connection) -> Result<Settings> {
        self.switch_differing(conn, Values::Pinned).map_err(Error::sqlite("cannot pin the connection's settings"))?;
        Ok(self.clone())
    }

    /// Puts every setting back where the run keeps it, after a step assigned some.
    pub(crate) fn reassert(&self, conn: &Connection) -> Result<()> {
        let mut sql: String =
            PINNED.iter().map(|(name, want)| format!("PRAGMA {name} = {};", self.wanted(name, *want))).collect();
        sql.push_str("PRAGMA case_sensitive_like = 0;");
        for (name, value) in KEPT.iter().zip(&self.kept) {
            sql.push_str(&format!("PRAGMA {name} = {value};"));
        }
        sql.push_str(&format!("PRAGMA locking_mode = {};", self.locking_mode));
        conn.execute_batch(&sql).map_err(Error::sqlite("cannot re-assert the connection's settings"))?;
        let now: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(Error::sqlite("cannot read PRAGMA journal_mode"))?;
        if volatile_journal(&now) && !volatile_journal(&self.journal_mode) {
            conn.query_row(&format!("PRAGMA journal_mode = {}", self.journal_mode), [], |_| Ok(()))
                .map_err(Error::sqlite("cannot restore the rollback journal"))?;
        }
        Ok(())
    }

    /// Gives the connection back the values it came with. `assigned` says whether SQL run since
    /// the last `pin` or `reassert` assigned a setting (the authorizer saw a `PRAGMA` set one);
    /// otherwise every pinned setting still has Retort's value, and only those `pin` changed need
    /// their old value back, with nothing read.
    pub(crate) fn restore(&self, conn: &Connection, assigned: bool) -> Result<()> {
        if assigned {
            self.reassert(conn)?;
        }
        self.switch_differing(conn, Values::Saved).map_err(Error::sqlite("cannot restore the connection's settings"))
    }

    /// Assigns, for each pinned setting whose value differs from the connection's own, Retort's
    /// value or the connection's, as `to` says.
    fn switch_differing(&self, conn: &Connection, to: Values) -> rusqlite::Result<()> {
        let sql: String = PINNED
            .iter()
            .zip(&self.pinned)
            .filter(|((name, want), saved)| self.wanted(name, *want) != **saved)
            .map(|((name, want), saved)| {
                format!("PRAGMA {name} = {};", if to == Values::Pinned { self.wanted(name, *want) } else { *saved })
            })
            .collect();
        if sql.is_empty() { Ok(()) } else { conn.execute_batch(&sql) }
    }
}

/// Which values `switch_differing` assigns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Values {
    /// Retort's.
    Pinned,
    /// The connection's own, saved by `pin`.
    Saved,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(conn: &Connection, name: &str) -> i64 {
        conn.query_row(&format!("SELECT * FROM pragma_{name}"), [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn pin_reassert_restore() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = 1;").unwrap();
        let saved = Settings::pin(&conn).unwrap();
        assert_eq!(value(&conn, "foreign_keys"), 0, "pinned off for the run");
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA legacy_alter_table = ON; PRAGMA synchronous = 0;")
            .unwrap();
        saved.reassert(&conn).unwrap();
        assert_eq!((value(&conn, "foreign_keys"), value(&conn, "legacy_alter_table")), (0, 0));
        assert_eq!(value(&conn, "synchronous"), 1, "the connection's own value comes back");
        saved.restore(&conn, false).unwrap();
        assert_eq!(value(&conn, "foreign_keys"), 1, "the connection gets its own value back");
    }

    #[test]
    fn restore_after_an_assignment_puts_back_every_setting() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = 1;").unwrap();
        let saved = Settings::pin(&conn).unwrap();
        conn.execute_batch("PRAGMA recursive_triggers = ON; PRAGMA synchronous = 0; PRAGMA foreign_keys = OFF;")
            .unwrap();
        saved.restore(&conn, true).unwrap();
        assert_eq!(value(&conn, "recursive_triggers"), 0, "a setting the SQL assigned gets the connection's value");
        assert_eq!(value(&conn, "synchronous"), 1, "a kept setting too");
        assert_eq!(value(&conn, "foreign_keys"), 1, "and the pinned one its own value");
    }

    #[test]
    fn a_journal_switched_off_is_switched_back() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("a.db")).unwrap();
        let saved = Settings::pin(&conn).unwrap();
        let _: String = conn.query_row("PRAGMA journal_mode = OFF", [], |r| r.get(0)).unwrap();
        saved.reassert(&conn).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete");
    }
}
