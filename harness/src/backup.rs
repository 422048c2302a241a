//! The backup taken before a downgrade: a copy of the live database next to it, made with
//! SQLite's online backup API.
//!
//! Guarantees: the backup file is created exclusively — an existing path, a symlink planted at
//! the predictable name included, is never followed nor overwritten (the next free name is
//! taken) — and it gets the database file's permissions, never wider; a backup that fails
//! leaves no file behind.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// How many names `backup` tries before giving up.
const ATTEMPTS: u32 = 1000;

/// Creates `path` exclusively with `db`'s permissions; `Ok(false)` when the name is taken.
fn create_exclusive(path: &Path, db: &Path) -> std::io::Result<bool> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mode = std::fs::metadata(db).map_or(0o600, |m| m.permissions().mode() & 0o777);
        options.mode(mode);
        mode
    };
    match options.open(path) {
        Ok(file) => {
            // The umask may have narrowed the mode; set it exactly, never wider than the source.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            }
            drop(file);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Copies the live database `conn` (whose file is `db`) next to it; returns the backup's path.
pub fn backup(conn: &Connection, db: &Path) -> Result<PathBuf> {
    let stamp: String = retort_build::timestamp::now_rfc3339().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let name = db.file_name().map_or_else(|| "database".into(), |n| n.to_string_lossy().into_owned());
    let io = |path: &Path| {
        let context = format!("cannot create the backup {}", path.display());
        move |source| Error::Io { context, source }
    };
    let mut chosen = None;
    for n in 1..=ATTEMPTS {
        let suffix = if n == 1 { String::new() } else { format!("-{n}") };
        let path = db.with_file_name(format!("{name}.{stamp}{suffix}.bak"));
        if create_exclusive(&path, db).map_err(io(&path))? {
            chosen = Some(path);
            break;
        }
    }
    let Some(path) = chosen else {
        let context = format!("cannot find a free backup name next to {}", db.display());
        return Err(Error::Io { context, source: std::io::ErrorKind::AlreadyExists.into() });
    };
    let copy = || -> rusqlite::Result<()> {
        // NOFOLLOW: the file just created must not have been swapped for a link since.
        let flags =
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NOFOLLOW | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut target = Connection::open_with_flags(&path, flags)?;
        let backup = rusqlite::backup::Backup::new(conn, &mut target)?;
        backup.run_to_completion(1 << 12, std::time::Duration::ZERO, None)
    };
    copy().map_err(|source| {
        let _ = std::fs::remove_file(&path);
        Error::Backup { path: path.clone(), source }
    })?;
    Ok(path)
}
