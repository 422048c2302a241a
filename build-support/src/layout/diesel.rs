//! diesel (`diesel_migrations`' file-based source): each non-empty, non-dot subdirectory is a
//! migration, which must hold `up.sql`; its version is the directory name up to the first `_`
//! with every `-` removed, and versions sort as text. `down.sql` is optional (without it diesel
//! cannot revert). `metadata.toml` decides the transaction: absent or unreadable, one
//! transaction; present, `run_in_transaction` as written, and false when the key is missing
//! (serde's default for the field). An empty `up.sql` is refused by diesel when it runs.

use std::path::{Path, PathBuf};

use super::{Found, Part, Read, SortKey};
use crate::migration::TransactionMode;

pub(crate) fn read(entries: Vec<(String, PathBuf)>, show: &dyn Fn(&Path) -> PathBuf) -> Read {
    let mut read = Read::default();
    for (name, path) in entries {
        if name.starts_with('.') || !path.is_dir() {
            continue;
        }
        let inner = super::entries(&path, show).unwrap_or_default();
        if inner.is_empty() {
            continue;
        }
        read.inputs.push(path.clone());
        let up_path = path.join("up.sql");
        if !up_path.is_file() {
            read.error(
                &show(&path),
                0,
                "a migration directory without `up.sql`: diesel refuses it".into(),
                "add `up.sql` (and `down.sql`), or move the directory out of the migrations directory",
            );
            continue;
        }
        let version = name.split('_').next().unwrap_or_default().replace('-', "");
        let label = name.split_once('_').map_or("", |(_, rest)| rest).to_string();
        let part = |file: &Path, read: &mut Read| {
            read.inputs.push(file.to_path_buf());
            Part::read(file, show).map_err(|p| read.problems.extend(p.0)).ok()
        };
        let Some(up) = part(&up_path, &mut read) else { continue };
        if up.text.is_empty() {
            read.error(&up.file, 0, "an empty `up.sql`: diesel refuses to run it".into(), "write the migration's SQL");
            continue;
        }
        let down_path = path.join("down.sql");
        let down = if down_path.exists() { part(&down_path, &mut read) } else { None };
        let metadata = path.join("metadata.toml");
        let in_transaction = match std::fs::read_to_string(&metadata) {
            Ok(text) => {
                read.inputs.push(metadata.clone());
                run_in_transaction(&text)
            }
            Err(_) => true,
        };
        read.found.push(Found {
            sort: SortKey::Text(version.clone()),
            version,
            name: label,
            up: Some(up),
            down,
            no_down: format!("no down.sql in {}: diesel cannot revert it", show(&path).display()),
            transaction: if in_transaction { TransactionMode::PerMigration } else { TransactionMode::None },
        });
    }
    read
}

/// What diesel reads from a `metadata.toml`: `run_in_transaction` when given; false when the
/// file is a valid table without it; true when it does not parse (diesel falls back to its
/// default then). Understands the flat `key = value` tables these files hold.
fn run_in_transaction(text: &str) -> bool {
    let mut value = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, v)) = line.split_once('=') else { return true };
        if key.trim().trim_matches('"') == "run_in_transaction" {
            match v.trim() {
                "true" => value = Some(true),
                "false" => value = Some(false),
                _ => return true,
            }
        }
    }
    value.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::run_in_transaction;

    #[test]
    fn metadata_reads_as_diesel_reads_it() {
        assert!(!run_in_transaction("run_in_transaction = false\n"));
        assert!(run_in_transaction("run_in_transaction = true # yes\n"));
        assert!(!run_in_transaction(""), "a table without the key gives serde's default, false");
        assert!(run_in_transaction("not toml at all"), "a file that does not parse gives diesel's default");
    }
}
