//! Stored images of a database: its pages, copied with SQLite's serialize API, so that a state
//! can be returned to (or started from) in time proportional to the database's size, never by
//! replaying migrations. An image taken after another shares every page the two have in
//! common, so keeping the image of every state of a run costs the pages each step changed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::watch::Watch;

/// The pages of a database at one moment.
#[derive(Clone, Debug, Default)]
pub(super) struct Image {
    pages: Vec<Arc<[u8]>>,
}

/// A private in-memory database (SQLite's `memdb`, whose pages serialize without a copy), opened
/// with foreign-key enforcement off: the value every step pins (`settings`), so that a session
/// has nothing to switch on its way in and out. The checks read keys with `PRAGMA
/// foreign_key_check` and `foreign_key_list`, which do not depend on it.
pub(super) fn memory() -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags("file:retort-roundtrip?vfs=memdb", flags)
        .map_err(Error::sqlite("cannot open an in-memory database"))?;
    conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(Error::sqlite("cannot open an in-memory database"))?;
    Ok(conn)
}

impl Image {
    /// The committed `main` database of `conn`, sharing the pages it has in common with
    /// `previous`.
    pub fn take(conn: &mut Connection, previous: Option<&Image>) -> Result<Image> {
        let pages: i64 = conn
            .query_row("PRAGMA main.page_count", [], |r| r.get(0))
            .map_err(Error::sqlite("cannot copy the database"))?;
        if pages == 0 {
            return Ok(Image::default());
        }
        let data = conn.serialize(rusqlite::MAIN_DB).map_err(Error::sqlite("cannot copy the database"))?;
        let bytes: &[u8] = &data;
        let size = match bytes.get(16..18) {
            Some([1, 0]) => 65536,
            Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])).max(512),
            _ => bytes.len().max(1),
        };
        let pages = bytes
            .chunks(size)
            .enumerate()
            .map(|(i, page)| match previous.and_then(|p| p.pages.get(i)) {
                Some(same) if **same == *page => Arc::clone(same),
                _ => Arc::from(page),
            })
            .collect();
        Ok(Image { pages })
    }

    /// A new private in-memory database holding this image. (A new connection: loading an
    /// image into a connection that holds prepared statements is not safe to rely on.)
    pub fn open(&self) -> Result<Connection> {
        let mut conn = memory()?;
        crate::compat::deserialize(&mut conn, &self.pages)
            .map_err(Error::sqlite("cannot load a stored database image"))?;
        Ok(conn)
    }

    /// Writes the image as a database file at `path` (which must not exist).
    pub fn write(&self, path: &Path) -> Option<PathBuf> {
        use std::io::Write;
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).ok()?;
        let mut file = std::io::BufWriter::new(file);
        for page in &self.pages {
            file.write_all(page).ok()?;
        }
        file.flush().ok()?;
        Some(path.to_path_buf())
    }
}

/// A harness database with Retort's authorizer installed once for its whole life: every
/// session on it reuses the one watch, where installing one per step would expire every
/// prepared statement each time. Only `&Connection` is handed out, so nothing can replace the
/// authorizer behind the watch's back.
#[derive(Debug)]
pub(super) struct Watched {
    conn: Connection,
    watch: Watch,
}

impl Watched {
    pub fn new(mut conn: Connection) -> Result<Watched> {
        let watch = Watch::install(&mut conn)?;
        Ok(Watched { conn, watch })
    }

    pub fn get(&self) -> &Connection {
        &self.conn
    }

    pub fn watch(&self) -> &Watch {
        &self.watch
    }

    /// The database's image (see `Image::take`).
    pub fn image(&mut self, previous: Option<&Image>) -> Result<Image> {
        Image::take(&mut self.conn, previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_share_unchanged_pages_and_restore_exactly() {
        let mut conn = memory().unwrap();
        conn.execute_batch("CREATE TABLE a (x); INSERT INTO a VALUES (1);").unwrap();
        let first = Image::take(&mut conn, None).unwrap();
        conn.execute_batch("CREATE TABLE b (y); INSERT INTO a VALUES (2);").unwrap();
        let second = Image::take(&mut conn, Some(&first)).unwrap();
        assert!(second.pages.len() > first.pages.len());
        let conn = first.open().unwrap();
        let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
        let rows: i64 = conn.query_row("SELECT count(*) FROM a", [], |r| r.get(0)).unwrap();
        assert_eq!((n, rows), (1, 1));
        let other = second.open().unwrap();
        let rows: i64 = other.query_row("SELECT count(*) FROM a", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 2);
    }
}
