//! Running a section's SQL statement by statement with SQLite's own splitter (rusqlite `Batch`),
//! so an error names the line where SQLite found it.
//!
//! Guarantees: the cost is linear in the section's length (each statement's position and line
//! are found from where the previous one ended, never by rescanning the section); in
//! `Mode::InTransaction` the caller's transaction is still open after every statement, or the
//! run stops with `Failure::LeftTransaction`; in `Mode::Autocommit` a failure rolls back the
//! section's own open transaction, if any, and lists every statement whose effect stays.

use rusqlite::Connection;
// `Batch::next` is inherent in rusqlite 0.32 and `FallibleIterator`'s in later versions.
#[allow(unused_imports)]
use fallible_iterator::FallibleIterator;

use retort_build::Section;

use crate::error::DatabaseProblem;
use retort_build::sql::{LineIndex, skip_trivia, split_statements};

/// How the section runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Inside a transaction the caller opened and will commit; no statement may end it.
    InTransaction,
    /// Outside any transaction (`Transaction: none`): each statement commits on its own unless
    /// the section opens its own transaction.
    Autocommit,
}

/// Why a section stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// SQLite refused or failed a statement.
    Sql {
        /// SQLite's message.
        message: String,
        /// Set when the error is about the database file (read-only, say), not the SQL.
        file_problem: Option<DatabaseProblem>,
    },
    /// The statement ended the caller's transaction (it was committed or rolled back).
    LeftTransaction,
}

/// A statement that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementError {
    /// 1-based file line: where SQLite located the error, else the statement's first line.
    pub line: usize,
    /// What went wrong.
    pub failure: Failure,
    /// In `Mode::Autocommit`, the statements before it whose effect stays in the database:
    /// (file line, the statement's first line of text). Transaction control is not listed.
    pub kept: Vec<(usize, String)>,
}

#[cfg(test)]
impl StatementError {
    /// SQLite's message, or what happened to the transaction.
    pub fn message(&self) -> String {
        match &self.failure {
            Failure::Sql { message, .. } => message.clone(),
            Failure::LeftTransaction => "the statement ended the migration's transaction".to_string(),
        }
    }
}

/// Executes every statement of `section` in `mode`, stepping through any rows a statement
/// returns. Returns the number of statements run.
pub fn run_section(conn: &Connection, section: &Section, mode: Mode) -> Result<usize, StatementError> {
    let sql = section.sql.as_str();
    let mut lines = LineIndex::new(sql);
    // Where Retort's splitter expects each statement to end. SQLite is handed one statement's
    // window at a time (it copies what it is given), so a long section costs linear time; a
    // window that cuts a statement short ("incomplete input") grows to the next expected end.
    let ends: Vec<usize> = split_statements(sql).iter().map(|s| s.start + s.text.len()).collect();
    let mut next_end = 0usize;
    let mut cursor = 0usize;
    // Autocommit mode only: where each completed statement starts, and how many of them are
    // committed (the rest belong to a transaction the section opened and has not ended).
    let mut completed: Vec<(usize, usize)> = Vec::new();
    let mut durable = 0usize;
    let mut count = 0usize;
    loop {
        let fail =
            |at: usize, failure: Failure, lines: &mut LineIndex<'_>, completed: &[(usize, usize)], durable: usize| {
                if mode == Mode::Autocommit && !conn.is_autocommit() {
                    // The section's own transaction did not finish: nothing of it stays.
                    let _ = conn.execute_batch("ROLLBACK");
                }
                let kept = completed[..durable.min(completed.len())]
                    .iter()
                    .filter(|&&(start, _)| !is_transaction_control(&sql[start..]))
                    .map(|&(start, end)| (section.line + lines.line_of(start), excerpt(&sql[start..end])))
                    .collect();
                StatementError { line: section.line + lines.line_of(at), failure, kept }
            };
        // Any empty statements (`;;`) before the next one are skipped.
        let from = after_empty_statements(sql, cursor);
        let start = skip_trivia(sql, from);
        if start >= sql.len() {
            return Ok(count);
        }
        while ends.get(next_end).is_some_and(|&end| end <= start) {
            next_end += 1;
        }
        let mut window_end = ends.get(next_end).copied().unwrap_or(sql.len());
        let mut stmt = loop {
            let window = &sql[from..window_end];
            match rusqlite::Batch::new(conn, window).next() {
                Ok(Some(stmt)) => break stmt,
                Ok(None) => return Ok(count),
                Err(e) if window_end < sql.len() && message(&e) == "incomplete input" => {
                    next_end += 1;
                    window_end = ends.get(next_end).copied().unwrap_or(sql.len());
                }
                Err(e) => {
                    let at = match &e {
                        rusqlite::Error::SqlInputError { offset, .. } if *offset >= 0 => {
                            from + usize::try_from(*offset).unwrap_or(0)
                        }
                        _ => start,
                    };
                    return Err(fail(at, sql_failure(&e), &mut lines, &completed, durable));
                }
            }
        };
        cursor = end_of(sql, from, window_end, stmt.expanded_sql());
        let mut rows = stmt.raw_query();
        loop {
            match rows.next() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(fail(start, sql_failure(&e), &mut lines, &completed, durable)),
            }
        }
        drop(rows);
        drop(stmt);
        count += 1;
        match mode {
            Mode::InTransaction if conn.is_autocommit() => {
                return Err(fail(start, Failure::LeftTransaction, &mut lines, &completed, durable));
            }
            Mode::InTransaction => {}
            Mode::Autocommit => {
                completed.push((start, cursor));
                if conn.is_autocommit() {
                    durable = completed.len();
                }
            }
        }
    }
}

/// Just past the last `;` of the empty statements (only whitespace, comments and `;`) at `from`.
fn after_empty_statements(sql: &str, from: usize) -> usize {
    let mut after = from;
    loop {
        let next = skip_trivia(sql, after);
        if sql.as_bytes().get(next) != Some(&b';') {
            return after;
        }
        after = next + 1;
    }
}

/// Where the statement that SQLite prepared from the window `sql[from..window_end]` ends.
/// SQLite's text of a statement runs from where preparing started to its tail, so it is normally
/// found at `from` itself; a statement with bound parameters reads differently, and then ends
/// where Retort's splitter said it would, the window's end.
fn end_of(sql: &str, from: usize, window_end: usize, text: Option<String>) -> usize {
    match text.filter(|t| !t.is_empty() && sql[from..window_end].starts_with(t.as_str())) {
        Some(text) => from + text.len(),
        None => window_end,
    }
}

fn is_transaction_control(text: &str) -> bool {
    let word: String = text.chars().take_while(char::is_ascii_alphabetic).collect::<String>().to_ascii_uppercase();
    retort_build::migration::TRANSACTION_VERBS.contains(&word.as_str())
}

/// A statement's first line, shortened for a message.
fn excerpt(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim_end();
    let mut short: String = first.chars().take(60).collect();
    if short.len() < first.len() || text.trim_end().contains('\n') {
        short.push_str(" …");
    }
    short
}

fn sql_failure(e: &rusqlite::Error) -> Failure {
    Failure::Sql { message: message(e), file_problem: crate::open::file_problem(e) }
}

/// SQLite's own message for an error, without rusqlite's decoration where possible.
pub fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(sql: &str) -> Section {
        Section { sql: sql.to_string(), line: 10 }
    }

    #[test]
    fn errors_name_the_line_sqlite_points_at() {
        let conn = Connection::open_in_memory().unwrap();
        let sql = "CREATE TABLE a (x);\n-- note\nSELECT\n  x,\n  missing_column\nFROM a;";
        let e = run_section(&conn, &section(sql), Mode::Autocommit).unwrap_err();
        assert_eq!((e.line, e.message()), (14, "no such column: missing_column".to_string()));
        let e = run_section(
            &conn,
            &section("SELECT 1;\n\nINSERT INTO a VALUES (1), (2);\nINSERT INTO nope VALUES (1);"),
            Mode::Autocommit,
        )
        .unwrap_err();
        assert_eq!(e.line, 13);
    }

    #[test]
    fn runtime_errors_name_the_statement() {
        let conn = Connection::open_in_memory().unwrap();
        let sql = "CREATE TABLE a (x UNIQUE);\nINSERT INTO a VALUES (1);\n\nINSERT INTO a\n  VALUES (1);";
        let e = run_section(&conn, &section(sql), Mode::Autocommit).unwrap_err();
        assert_eq!(e.line, 13);
        assert!(e.message().contains("UNIQUE"), "{e:?}");
        assert_eq!(
            e.kept,
            [(10, "CREATE TABLE a (x UNIQUE);".to_string()), (11, "INSERT INTO a VALUES (1);".to_string())]
        );
    }

    #[test]
    fn a_statement_that_ends_the_transaction_stops_the_run() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let e = run_section(&conn, &section("CREATE TABLE a (x);\nCOMMIT;\nCREATE TABLE b (x);"), Mode::InTransaction)
            .unwrap_err();
        assert_eq!((e.line, e.failure), (11, Failure::LeftTransaction));
        let b: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'b'", [], |r| r.get(0)).unwrap();
        assert_eq!(b, 0, "nothing after the statement that left the transaction ran");
    }

    #[test]
    fn autocommit_failures_roll_back_the_open_transaction_and_list_what_stays() {
        let conn = Connection::open_in_memory().unwrap();
        let sql = "CREATE TABLE kept (x);\nBEGIN;\nCREATE TABLE also_kept (x);\nCOMMIT;\nBEGIN;\nCREATE TABLE lost (x);\nDROP TABLE missing;";
        let e = run_section(&conn, &section(sql), Mode::Autocommit).unwrap_err();
        assert_eq!(e.line, 16);
        assert_eq!(
            e.kept,
            [(10, "CREATE TABLE kept (x);".to_string()), (12, "CREATE TABLE also_kept (x);".to_string())]
        );
        assert!(conn.is_autocommit());
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["also_kept", "kept"]);
    }

    #[test]
    fn a_statement_whose_text_sqlite_rewrites_still_ends_where_it_ends() {
        // An unbound parameter reads as NULL in SQLite's expanded text.
        let conn = Connection::open_in_memory().unwrap();
        let sql = "CREATE TABLE a (x);\nINSERT INTO a VALUES (?);\n\nSELECT * FROM nope;";
        let e = run_section(&conn, &section(sql), Mode::Autocommit).unwrap_err();
        assert_eq!(e.line, 13);
        assert_eq!(e.kept.len(), 2);
    }

    #[test]
    fn trailing_comments_and_empty_statements_are_fine() {
        let conn = Connection::open_in_memory().unwrap();
        let n =
            run_section(&conn, &section("CREATE TABLE a (x); ;; -- done\nSELECT 1 -- no semicolon"), Mode::Autocommit)
                .unwrap();
        assert_eq!(n, 2);
    }
}
