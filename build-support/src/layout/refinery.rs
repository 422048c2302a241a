//! refinery (`find_migration_files`, `parse_migration_name`): the directory is walked
//! recursively; a file is a migration when its name matches
//! `^([U|V])(\d+(?:\.\d+)?)__(\w+)\.sql$`, its version must parse as a 32-bit integer (refinery
//! refuses it otherwise), and versions sort as numbers. refinery has no downs, and runs each
//! migration in its own transaction. Unversioned (`U`) migrations re-run on every migration
//! run; Retort cannot prove that, so they are reported as unsupported and left out.

use std::path::{Path, PathBuf};

use super::{Found, Part, Read, SortKey, leading_digits};
use crate::migration::TransactionMode;

pub(crate) fn read(entries: Vec<(String, PathBuf)>, show: &dyn Fn(&Path) -> PathBuf) -> Read {
    let mut read = Read::default();
    let mut files = Vec::new();
    walk(entries, show, &mut read, &mut files);
    files.sort();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Some((prefix, version, label)) = parse(&name) else {
            read.skipped(&name, &show(&path), "refinery", "`V<version>__<name>.sql`");
            continue;
        };
        read.inputs.push(path.clone());
        let Ok(number) = version.parse::<i32>() else {
            read.error(
                &show(&path),
                0,
                format!("`{version}` is not a 32-bit integer version: refinery refuses it"),
                "use a whole number that fits in 32 bits",
            );
            continue;
        };
        if prefix == 'U' {
            read.warning(
                &show(&path),
                "an unversioned refinery migration (re-run on every run): not supported, left out".into(),
                "make it a versioned `V<version>__<name>.sql` migration to have it proved",
            );
            continue;
        }
        let Ok(up) = Part::read(&path, show).map_err(|p| read.problems.extend(p.0)) else { continue };
        read.found.push(Found {
            version: number.to_string(),
            sort: SortKey::Number((i64::from(number) as u64) ^ (1 << 63)),
            name: label.to_string(),
            no_down: format!("{} is a refinery migration: refinery has no downs", up.file.display()),
            up: Some(up),
            down: None,
            transaction: TransactionMode::PerMigration,
        });
    }
    read
}

fn walk(entries: Vec<(String, PathBuf)>, show: &dyn Fn(&Path) -> PathBuf, read: &mut Read, files: &mut Vec<PathBuf>) {
    for (_, path) in entries {
        if !path.is_dir() {
            files.push(path);
            continue;
        }
        match super::entries(&path, show) {
            Ok(inner) => walk(inner, show, read, files),
            Err(p) => read.problems.extend(p.0),
        }
    }
}

/// (prefix, version text, name) of a refinery file name.
fn parse(name: &str) -> Option<(char, &str, &str)> {
    let prefix = name.chars().next().filter(|c| matches!(c, 'U' | 'V'))?;
    let rest = &name[1..];
    let whole = leading_digits(rest);
    if whole.is_empty() {
        return None;
    }
    let mut version_len = whole.len();
    if let Some(fraction) = rest[version_len..].strip_prefix('.') {
        let digits = leading_digits(fraction);
        if !digits.is_empty() && fraction[digits.len()..].starts_with("__") {
            version_len += 1 + digits.len();
        }
    }
    let label = rest[version_len..].strip_prefix("__")?.strip_suffix(".sql")?;
    let word = !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '_');
    word.then_some((prefix, &rest[..version_len], label))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_parse_as_refinery_parses_them() {
        assert_eq!(parse("V1__init.sql"), Some(('V', "1", "init")));
        assert_eq!(parse("U3__seed.sql"), Some(('U', "3", "seed")));
        assert_eq!(parse("V1.5__x.sql"), Some(('V', "1.5", "x")));
        assert_eq!(parse("V1_init.sql"), None);
        assert_eq!(parse("V1__in-it.sql"), None);
        assert_eq!(parse("1__init.sql"), None);
    }
}
