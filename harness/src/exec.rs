//! Running a section's SQL statement by statement, with SQLite's own splitter (rusqlite `Batch`),
//! so an error names the line of the statement that failed.

use rusqlite::Connection;
use rusqlite::fallible_iterator::FallibleIterator;

use retort_build::Section;
use retort_build::sql::tokenize;

/// A statement that failed: its file line and SQLite's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    /// 1-based file line of the statement.
    pub line: usize,
    /// SQLite's message.
    pub message: String,
}

/// Executes every statement of `section`, stepping through any rows a statement returns.
pub fn run_section(conn: &Connection, section: &Section) -> Result<(), StatementError> {
    let sql = section.sql.as_str();
    let mut batch = rusqlite::Batch::new(conn, sql);
    let mut cursor = 0usize;
    let first_token_line = |from: usize| {
        let rest = &sql[from.min(sql.len())..];
        let offset = tokenize(rest).first().map_or(0, |t| t.start);
        section.line_of(from + offset)
    };
    loop {
        let mut stmt = match batch.next() {
            Ok(Some(stmt)) => stmt,
            Ok(None) => return Ok(()),
            Err(e) => return Err(StatementError { line: first_token_line(cursor), message: message(&e) }),
        };
        let start = cursor;
        if let Some(text) = stmt.expanded_sql() {
            if let Some(found) = sql[cursor..].find(text.as_str()) {
                cursor += found + text.len();
            }
        }
        let line = first_token_line(start);
        let mut rows = stmt.raw_query();
        loop {
            match rows.next() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(StatementError { line, message: message(&e) }),
            }
        }
    }
}

/// SQLite's own message for an error, without rusqlite's decoration where possible.
pub fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}
