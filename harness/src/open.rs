//! Opening a database file, with the mistakes a path can hold named before SQLite sees them: an
//! in-memory name or URI (nothing would persist), a directory, a missing parent directory, a
//! missing file where one must exist, a file that is not a SQLite database. Read-only opening
//! rolls back the hot journal an interrupted write left behind (what any read-write open does),
//! and says which command to run when it cannot.
//!
//! Guarantees: `open_existing` and `open_read_only` never create a file; an error names the path.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{DatabaseProblem, Error, Result};

fn problem(path: &Path, problem: DatabaseProblem) -> Error {
    Error::Database { path: path.to_path_buf(), problem }
}

/// Whether an open may create the database file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Existing {
    /// The file must exist.
    Required,
    /// A missing file is created (its folder must exist).
    Optional,
}

/// Refuses what cannot be a database file before anything is opened.
fn check_path(path: &Path, existing: Existing) -> Result<()> {
    let text = path.to_string_lossy();
    if text.is_empty() || text == ":memory:" || text.starts_with("file:") {
        return Err(problem(path, DatabaseProblem::NotAFile));
    }
    if path.is_dir() {
        return Err(problem(path, DatabaseProblem::IsDirectory));
    }
    if !path.exists() {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(problem(path, DatabaseProblem::MissingDirectory(parent.to_path_buf())));
        }
        if existing == Existing::Required {
            return Err(problem(path, DatabaseProblem::NotFound));
        }
    }
    Ok(())
}

/// What went wrong with the file itself, when SQLite's error says so.
pub(crate) fn file_problem(e: &rusqlite::Error) -> Option<DatabaseProblem> {
    use rusqlite::ErrorCode;
    let rusqlite::Error::SqliteFailure(err, _) = e else { return None };
    match err.code {
        ErrorCode::NotADatabase => Some(DatabaseProblem::NotADatabase),
        ErrorCode::ReadOnly if err.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK => {
            Some(DatabaseProblem::HotJournal)
        }
        ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied => Some(DatabaseProblem::NotWritable),
        _ => None,
    }
}

/// Turns an error about the file at `path` into `Error::Database`, anything else into
/// `Error::Sqlite` with `context`.
pub(crate) fn classify(path: &Path, context: &str, e: rusqlite::Error) -> Error {
    match file_problem(&e) {
        Some(p) => problem(path, p),
        None => Error::Sqlite { context: context.to_string(), source: e },
    }
}

fn configure(path: &Path, conn: Connection) -> Result<Connection> {
    conn.busy_timeout(Duration::from_secs(60)).map_err(Error::sqlite("cannot set the busy timeout"))?;
    // Reading the catalog finds a file that is no database, and a hot journal.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|e| classify(path, &format!("cannot read {}", path.display()), e))?;
    Ok(conn)
}

fn open_with(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| classify(path, &format!("cannot open {}", path.display()), e))?;
    configure(path, conn)
}

const READ_WRITE: OpenFlags = OpenFlags::SQLITE_OPEN_READ_WRITE.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

/// Opens (or creates) a database file for migrating: waits up to a minute for other writers.
pub fn open(path: impl AsRef<Path>) -> Result<Connection> {
    let path = path.as_ref();
    check_path(path, Existing::Optional)?;
    open_with(path, READ_WRITE.union(OpenFlags::SQLITE_OPEN_CREATE))
}

/// Opens a database file that must already exist, for changing it.
pub fn open_existing(path: impl AsRef<Path>) -> Result<Connection> {
    let path = path.as_ref();
    check_path(path, Existing::Required)?;
    open_with(path, READ_WRITE)
}

/// Opens an existing database without the right to change it. A hot journal left by an
/// interrupted write is rolled back first through a short read-write connection, as SQLite does
/// on any read-write open; without write access that is impossible and the error says so.
pub fn open_read_only(path: impl AsRef<Path>) -> Result<Connection> {
    let path = path.as_ref();
    check_path(path, Existing::Required)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    match open_with(path, flags) {
        Err(Error::Database { problem: DatabaseProblem::HotJournal, .. }) => {
            drop(open_with(path, READ_WRITE).map_err(|e| match e {
                Error::Database { problem: DatabaseProblem::NotWritable, .. } => {
                    problem(path, DatabaseProblem::HotJournal)
                }
                other => other,
            })?);
            open_with(path, flags)
        }
        other => other,
    }
}

/// Turns SQLite's allocation statistics off for this process. With them on (SQLite's default)
/// every allocation takes one process-wide mutex, and connections working on two threads (the
/// harness's down pass uses two, see `harness::Threads`) spend their time waiting for it. The
/// statistics only feed `sqlite3_memory_used` and `sqlite3_status`, which Retort does not read.
/// Once SQLite has initialised (a connection was opened) the call changes nothing.
///
/// # Safety
///
/// SQLite's configuration is not thread-safe: call this before any thread uses SQLite, as the
/// first thing in `main`.
#[allow(unsafe_code)] // The one SQLite setting rusqlite has no safe call for.
pub unsafe fn disable_allocation_statistics() {
    // SAFETY: the caller guarantees no other thread is inside SQLite; MEMSTATUS takes one int.
    unsafe {
        rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, std::os::raw::c_int::from(false));
    }
}

/// Whether SQLite's allocation statistics are off, asked while a connection is open (an open
/// connection has allocated memory, so with the statistics on the count is above zero).
#[cfg(feature = "harness")]
#[allow(unsafe_code)] // rusqlite has no safe call for it.
pub(crate) fn allocation_statistics_off() -> bool {
    // SAFETY: `sqlite3_memory_used` takes no arguments and reads a counter under SQLite's lock.
    unsafe { rusqlite::ffi::sqlite3_memory_used() == 0 }
}
