//! SQLite's listing PRAGMAs (`table_xinfo`, `index_list`, `foreign_key_list`, …) run as PRAGMA
//! statements, not as their table-valued functions (`SELECT … FROM pragma_table_xinfo(?1)`).
//!
//! Preparing a table-valued function connects a virtual table, which parses a declaration and
//! then prepares the PRAGMA itself: several times the cost of the plain statement. Every schema
//! change makes SQLite prepare each statement again, so the catalog reads the harness makes
//! after every step would pay that cost each time.
//!
//! Guarantees: the object's name is quoted into the text as an identifier, so any name is safe;
//! the rows and their column order are the PRAGMA's own.

use rusqlite::{Connection, Row};

use retort_build::sql::quote_ident;

/// The rows of `PRAGMA [schema.]pragma("arg")`, each mapped by `row`.
pub(crate) fn list<T>(
    conn: &Connection,
    schema: Option<&str>,
    pragma: &str,
    arg: &str,
    mut row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let sql = match schema {
        Some(schema) => format!("PRAGMA {schema}.{pragma}({})", quote_ident(arg)),
        None => format!("PRAGMA {pragma}({})", quote_ident(arg)),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| row(r))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_name_reads_as_the_table_valued_function_does() {
        let conn = Connection::open_in_memory().unwrap();
        for name in ["plain", "we\"ird", "sp ace", "q'uote", "[br]", "`tick`", "ünï"] {
            let quoted = quote_ident(name);
            conn.execute_batch(&format!("CREATE TABLE {quoted} (a INTEGER PRIMARY KEY, b TEXT UNIQUE)")).unwrap();
            let plain = list(&conn, Some("main"), "table_xinfo", name, |r| r.get::<_, String>(1)).unwrap();
            let function: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_xinfo(?1, 'main')")
                .unwrap()
                .query_map([name], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(plain, function, "{name}");
            assert_eq!(plain, ["a", "b"], "{name}");
            let indexes = list(&conn, None, "index_list", name, |r| r.get::<_, String>(1)).unwrap();
            assert_eq!(indexes.len(), 1, "{name}");
        }
        let none = list(&conn, Some("main"), "table_xinfo", "missing", |r| r.get::<_, String>(1)).unwrap();
        assert!(none.is_empty());
    }
}
