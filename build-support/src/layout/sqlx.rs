//! sqlx (`sqlx-core`'s `resolve_blocking`): every regular file whose name splits at the first
//! `_` into a version and a rest ending in `.sql` is a migration; the version must parse as a
//! 64-bit integer (sqlx refuses the directory otherwise) and versions sort as numbers. A rest
//! ending in `.up.sql` or `.down.sql` is one side of a reversible migration, any other `.sql` a
//! simple one (up only, never reverted). A file whose text starts with `-- no-transaction` runs
//! outside a transaction. sqlx's SQLite connections enforce foreign keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Found, Part, Read, SortKey};
use crate::migration::TransactionMode;

#[derive(Default)]
struct Pair {
    name: String,
    up: Option<Part>,
    down: Option<Part>,
    simple: bool,
    no_transaction: bool,
}

pub(crate) fn read(entries: Vec<(String, PathBuf)>, show: &dyn Fn(&Path) -> PathBuf) -> Read {
    let mut read = Read::default();
    let mut pairs: BTreeMap<i64, Pair> = BTreeMap::new();
    for (name, path) in entries {
        if !path.is_file() {
            continue;
        }
        let Some((version, rest)) = name.split_once('_').filter(|(_, rest)| rest.ends_with(".sql")) else {
            read.skipped(&name, &show(&path), "sqlx", "`<version>_<name>.sql`");
            continue;
        };
        read.inputs.push(path.clone());
        let Ok(number) = version.parse::<i64>() else {
            read.error(
                &show(&path),
                0,
                format!("`{version}` is not an integer version: sqlx refuses the directory"),
                "name it `<integer>_<name>.sql`",
            );
            continue;
        };
        let Ok(part) = Part::read(&path, show).map_err(|p| read.problems.extend(p.0)) else { continue };
        let no_transaction = part.text.starts_with("-- no-transaction");
        let pair = pairs.entry(number).or_default();
        let (is_down, label) = if let Some(label) = rest.strip_suffix(".up.sql") {
            (false, label)
        } else if let Some(label) = rest.strip_suffix(".down.sql") {
            (true, label)
        } else {
            pair.simple = true;
            (false, rest.strip_suffix(".sql").unwrap_or(rest))
        };
        // sqlx decides per file; a Retort migration has one mode, so either file's marker
        // takes both sides out of the transaction.
        pair.no_transaction |= no_transaction;
        let slot = if is_down { &mut pair.down } else { &mut pair.up };
        if let Some(first) = slot.as_ref() {
            let message = format!("version {number} is also the version of {}", first.file.display());
            read.error(&part.file, 0, message, "sqlx needs each version once: renumber one of them");
            continue;
        }
        *slot = Some(part);
        if pair.name.is_empty() {
            pair.name = label.to_string();
        }
    }
    for (number, pair) in pairs {
        let Some(up) = pair.up else {
            if let Some(down) = pair.down {
                read.warning(
                    &down.file,
                    "a down without its `.up.sql`: sqlx never runs it".into(),
                    "add the up, or delete the file",
                );
            }
            continue;
        };
        if pair.simple && pair.down.is_some() {
            let file = pair.down.as_ref().map(|p| p.file.clone()).unwrap_or_default();
            read.error(
                &file,
                0,
                format!("version {number} is both a simple migration ({}) and a reversible one", up.file.display()),
                "rename the simple migration `<version>_<name>.up.sql`, or renumber one",
            );
            continue;
        }
        let no_down = if pair.simple {
            format!("{} is a simple sqlx migration (no `.down.sql`): sqlx cannot revert it", up.file.display())
        } else {
            format!("no `.down.sql` beside {}: sqlx cannot revert it", up.file.display())
        };
        read.found.push(Found {
            version: number.to_string(),
            // sqlx sorts by the signed version; shifting keeps that order in an unsigned key.
            sort: SortKey::Number((number as u64) ^ (1 << 63)),
            name: pair.name,
            up: Some(up),
            down: pair.down,
            no_down,
            transaction: if pair.no_transaction { TransactionMode::None } else { TransactionMode::PerMigration },
        });
    }
    read
}
