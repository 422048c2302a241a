//! Stored images of a database: its pages, copied with SQLite's serialize API, so that a state
//! can be returned to (or started from) in time proportional to the database's size, never by
//! replaying migrations.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The pages of a database at one moment.
#[derive(Clone, Debug)]
pub(super) struct Image(Vec<u8>);

impl Image {
    /// The `main` database of `conn` as it is now (a write transaction's own changes included).
    pub fn take(conn: &Connection) -> Result<Image> {
        let data = conn.serialize(rusqlite::MAIN_DB).map_err(Error::sqlite("cannot copy the database"))?;
        Ok(Image(data.to_vec()))
    }

    /// A new in-memory database holding this image.
    pub fn open(&self) -> Result<Connection> {
        let ctx = || Error::sqlite("cannot load a stored database image");
        let mut conn = Connection::open_in_memory().map_err(ctx())?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, &self.0[..], self.0.len(), false).map_err(ctx())?;
        Ok(conn)
    }

    /// Puts this image back into `conn`'s `main` database (which must have no open transaction).
    pub fn restore(&self, conn: &mut Connection) -> Result<()> {
        let source = self.open()?;
        let backup =
            rusqlite::backup::Backup::new(&source, conn).map_err(Error::sqlite("cannot restore a database image"))?;
        backup
            .run_to_completion(-1, std::time::Duration::ZERO, None)
            .map_err(Error::sqlite("cannot restore a database image"))
    }

    /// Writes the image as a database file at `path` (which must not exist).
    pub fn write(&self, path: &Path) -> Option<PathBuf> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).ok()?;
        file.write_all(&self.0).ok()?;
        Some(path.to_path_buf())
    }
}
