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

/// One foreign key of a table, gathered from its `PRAGMA foreign_key_list` rows, names as
/// written.
#[derive(Clone, Debug)]
pub(crate) struct ForeignKey {
    /// The parent table.
    pub parent: String,
    /// The child's columns, in key order.
    pub from: Vec<String>,
    /// The parent's columns, in key order (`None` where the key names none).
    pub to: Vec<Option<String>>,
    pub on_update: String,
    pub on_delete: String,
    pub matching: String,
}

/// The foreign keys of `table`, in SQLite's key order (`id`, then `seq` within a key).
pub(crate) fn foreign_keys(conn: &Connection, schema: Option<&str>, table: &str) -> rusqlite::Result<Vec<ForeignKey>> {
    let mut rows = list(conn, schema, "foreign_key_list", table, |r| {
        let key = ForeignKey {
            parent: r.get(2)?,
            from: vec![r.get(3)?],
            to: vec![r.get(4)?],
            on_update: r.get(5)?,
            on_delete: r.get(6)?,
            matching: r.get(7)?,
        };
        Ok(((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?), key))
    })?;
    rows.sort_by_key(|(id_seq, _)| *id_seq);
    let mut keys: Vec<(i64, ForeignKey)> = Vec::new();
    for ((id, _), key) in rows {
        match keys.last_mut() {
            Some((last, existing)) if *last == id => {
                existing.from.extend(key.from);
                existing.to.extend(key.to);
            }
            _ => keys.push((id, key)),
        }
    }
    Ok(keys.into_iter().map(|(_, key)| key).collect())
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

    #[test]
    fn foreign_keys_come_whole_and_in_order() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE p (a, b, c, PRIMARY KEY (a, b));\n\
             CREATE TABLE c (x, y, z, FOREIGN KEY (y, x) REFERENCES p (b, a) ON DELETE CASCADE, \
             FOREIGN KEY (z) REFERENCES p);",
        )
        .unwrap();
        let keys = foreign_keys(&conn, Some("main"), "c").unwrap();
        let shown: Vec<String> = keys.iter().map(|k| format!("{:?} -> {:?} {}", k.from, k.to, k.on_delete)).collect();
        // SQLite lists the keys last first.
        assert_eq!(shown, [r#"["z"] -> [None] NO ACTION"#, r#"["y", "x"] -> [Some("b"), Some("a")] CASCADE"#]);
    }
}
