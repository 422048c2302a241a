//! Running populate scripts (SPEC §6): each in one transaction, only once its required revision
//! is applied; and reading table contents, so the harness can prove a second run changes nothing.

use std::collections::BTreeMap;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use retort_build::populate::PopulateScript;

use crate::error::{Error, Result};
use crate::history;
use crate::migrator::Migrator;

/// Runs `script` in one transaction, after checking the history and that its required revision
/// is applied, under the guard migration SQL runs under (no transaction control, no other
/// database, no access to the history). On any error nothing of the script is kept.
pub fn run_script(conn: &mut Connection, migrator: &Migrator, script: &PopulateScript) -> Result<()> {
    let state = migrator.state(conn)?;
    if migrator.set().get(&script.requires).is_none() {
        return Err(Error::UnknownRequires { file: script.file.clone(), requires: script.requires });
    }
    if !state.applied.contains(&script.requires) {
        return Err(Error::PopulateBehind { file: script.file.clone(), requires: script.requires });
    }
    let mut session = migrator.session(conn)?;
    session.populate(script)?;
    session.close()
}

/// Every user table's rows, rendered as text and sorted, by table.
pub type Contents = BTreeMap<String, Vec<String>>;

/// Every user table's rows, rendered as text and sorted: equal exactly when the contents are.
pub fn table_contents(conn: &Connection) -> Result<Contents> {
    let ctx = |what: &str| Error::sqlite(format!("cannot read table contents ({what})"));
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?1")
        .map_err(ctx("sqlite_schema"))?;
    let tables: Vec<String> =
        stmt.query_map([history::TABLE], |r| r.get(0)).and_then(Iterator::collect).map_err(ctx("sqlite_schema"))?;
    let mut out = BTreeMap::new();
    for table in tables {
        let mut stmt =
            conn.prepare(&format!("SELECT * FROM {}", retort_build::sql::quote_ident(&table))).map_err(ctx(&table))?;
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
