//! The calls whose signature differs across the rusqlite versions Retort accepts.
//!
//! A build holds one SQLite (`libsqlite3-sys` declares `links = "sqlite3"`), so Retort accepts
//! every rusqlite from 0.32 (libsqlite3-sys 0.30, as sqlx 0.8 needs) through 0.43 and lets cargo
//! pick the one the application's other database crates agree on. Between those versions
//! `Connection::deserialize` changed shape and some setters began to return a `Result`; the
//! rest of the crate goes through this module for those calls.

/// Replaces the `main` database of `conn` with the database file held in `parts`, one after
/// the other (a stored image's pages, copied once, straight into SQLite's buffer).
#[cfg(feature = "harness")]
#[allow(unsafe_code)]
pub(crate) fn deserialize<P: AsRef<[u8]>>(conn: &mut rusqlite::Connection, parts: &[P]) -> rusqlite::Result<()> {
    use rusqlite::ffi;
    let size: usize = parts.iter().map(|p| p.as_ref().len()).sum();
    if size == 0 {
        return Ok(());
    }
    let failure = |code| rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
    let len = i64::try_from(size).map_err(|_| failure(ffi::SQLITE_TOOBIG))?;
    // SAFETY: `sqlite3_malloc64` returns null or a buffer of `len` bytes, which the parts
    // (whose lengths add up to `len`) fill completely before SQLite sees it. With
    // SQLITE_DESERIALIZE_FREEONCLOSE, SQLite owns the buffer from the call on, and frees it
    // itself when the call fails. `conn.handle()` is the open connection that `conn` borrows
    // mutably, so nothing else runs on it meanwhile.
    let code = unsafe {
        let buffer = ffi::sqlite3_malloc64(len as ffi::sqlite3_uint64).cast::<u8>();
        if buffer.is_null() {
            return Err(failure(ffi::SQLITE_NOMEM));
        }
        let mut at = 0;
        for part in parts {
            let part = part.as_ref();
            std::ptr::copy_nonoverlapping(part.as_ptr(), buffer.add(at), part.len());
            at += part.len();
        }
        let flags = ffi::SQLITE_DESERIALIZE_FREEONCLOSE | ffi::SQLITE_DESERIALIZE_RESIZEABLE;
        ffi::sqlite3_deserialize(conn.handle(), c"main".as_ptr(), buffer, len, len, flags as _)
    };
    if code == ffi::SQLITE_OK { Ok(()) } else { Err(failure(code)) }
}

/// A setter's outcome: `()` in older rusqlite, `Result<()>` in newer.
pub(crate) trait Outcome {
    fn into_result(self) -> rusqlite::Result<()>;
}

impl Outcome for () {
    fn into_result(self) -> rusqlite::Result<()> {
        Ok(())
    }
}

impl Outcome for rusqlite::Result<()> {
    fn into_result(self) -> rusqlite::Result<()> {
        self
    }
}
