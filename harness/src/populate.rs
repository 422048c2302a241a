//! Running populate scripts (SPEC §6): each in one transaction, only once its required revision
//! is applied; and reading table contents, so the harness can prove a second run changes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use retort_build::populate::{PopulateScript, parse_script};
use retort_build::{Problem, Problems};

use crate::error::{Error, Result};
use crate::exec::run_section;
use crate::{Migrator, history};

/// Reads and parses the scripts at `paths`, showing paths relative to `root`.
pub fn load_scripts(paths: &[PathBuf], root: &Path) -> Result<Vec<PopulateScript>, Problems> {
    let mut scripts = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    for path in paths {
        let display = retort_build::display_path(root, path);
        match std::fs::read(path) {
            Ok(bytes) => match parse_script(&display, &bytes) {
                Ok(script) => scripts.push(script),
                Err(mut p) => problems.append(&mut p),
            },
            Err(e) => problems.push(Problem::error(
                &display,
                0,
                retort_build::ProblemKind::Lint(format!("cannot read the file: {e}")),
            )),
        }
    }
    if problems.is_empty() { Ok(scripts) } else { Err(Problems(problems)) }
}

/// Runs `script` in one transaction, after checking the history and that its required revision
/// is applied. On any error nothing of the script is kept.
pub fn run_script(conn: &Connection, migrator: &Migrator, script: &PopulateScript) -> Result<()> {
    let state = migrator.state(conn)?;
    if migrator.set().get(&script.requires).is_none() {
        return Err(Error::Target(format!(
            "{} requires revision {}, which these migrations do not contain; fix its `Requires:` line",
            script.file.display(),
            script.requires
        )));
    }
    if !state.applied.contains(&script.requires) {
        return Err(Error::PopulateBehind { file: script.file.clone(), requires: script.requires });
    }
    conn.execute_batch("BEGIN IMMEDIATE").map_err(Error::sqlite("cannot start a write transaction"))?;
    match run_section(conn, &script.sql) {
        Ok(()) => {
            conn.execute_batch("COMMIT").map_err(Error::sqlite(format!("cannot commit {}", script.file.display())))
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(Error::Populate { file: script.file.clone(), line: e.line, message: e.message })
        }
    }
}

/// Every user table's rows, rendered as text and sorted: equal exactly when the contents are.
pub fn table_contents(conn: &Connection) -> Result<BTreeMap<String, Vec<String>>> {
    let ctx = |what: &str| Error::sqlite(format!("cannot read table contents ({what})"));
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?1")
        .map_err(ctx("sqlite_schema"))?;
    let tables: Vec<String> =
        stmt.query_map([history::TABLE], |r| r.get(0)).and_then(Iterator::collect).map_err(ctx("sqlite_schema"))?;
    let mut out = BTreeMap::new();
    for table in tables {
        let mut stmt =
            conn.prepare(&format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""))).map_err(ctx(&table))?;
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let values: Vec<String> = (0..columns)
                    .map(|i| match r.get_ref(i) {
                        Ok(ValueRef::Null) => "NULL".to_string(),
                        Ok(ValueRef::Integer(n)) => n.to_string(),
                        Ok(ValueRef::Real(f)) => f.to_string(),
                        Ok(ValueRef::Text(t)) => format!("'{}'", String::from_utf8_lossy(t)),
                        Ok(ValueRef::Blob(b)) => {
                            format!("x'{}'", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
                        }
                        Err(_) => "?".to_string(),
                    })
                    .collect();
                Ok(format!("({})", values.join(", ")))
            })
            .and_then(Iterator::collect)
            .map_err(ctx(&table))?;
        rows.sort();
        out.insert(table, rows);
    }
    Ok(out)
}
