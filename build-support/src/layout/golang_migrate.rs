//! golang-migrate (`source.Parse`, `source.Migrations`): a file is a migration when its name
//! matches `^([0-9]+)_(.*)\.(down|up)\.(.*)$` and the version parses as an unsigned 64-bit
//! integer (anything else is skipped); versions sort as numbers, and a version may hold one up
//! and one down (a second of either is refused). A version without an up runs nothing, one
//! without a down cannot be reverted. Its SQLite drivers wrap every migration in a transaction
//! (unless the database URL says `x-no-tx-wrap`, which no file can).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Found, Part, Read, SortKey, leading_digits};
use crate::migration::TransactionMode;

pub(crate) fn read(entries: Vec<(String, PathBuf)>, show: &dyn Fn(&Path) -> PathBuf) -> Read {
    let mut read = Read::default();
    let mut versions: BTreeMap<u64, (String, Option<Part>, Option<Part>)> = BTreeMap::new();
    for (name, path) in entries {
        if !path.is_file() {
            continue;
        }
        let Some((number, label, is_up)) = parse(&name) else {
            read.skipped(&name, &show(&path), "golang-migrate", "`<version>_<name>.up.sql` and `.down.sql`");
            continue;
        };
        read.inputs.push(path.clone());
        let Ok(part) = Part::read(&path, show).map_err(|p| read.problems.extend(p.0)) else { continue };
        let entry = versions.entry(number).or_insert_with(|| (label.to_string(), None, None));
        let slot = if is_up { &mut entry.1 } else { &mut entry.2 };
        if let Some(first) = slot {
            let message = format!("version {number} already has this direction in {}", first.file.display());
            read.error(&part.file, 0, message, "golang-migrate refuses a duplicate migration: renumber one of them");
            continue;
        }
        *slot = Some(part);
    }
    for (number, (name, up, down)) in versions {
        let shown = up.as_ref().or(down.as_ref()).map(|p| p.file.display().to_string()).unwrap_or_default();
        read.found.push(Found {
            version: number.to_string(),
            sort: SortKey::Number(number),
            name,
            up,
            down,
            no_down: format!(
                "no `.down` file for {shown}: golang-migrate records the version as reverted without running anything"
            ),
            transaction: TransactionMode::PerMigration,
        });
    }
    read
}

/// (version, name, is the up) of a golang-migrate file name.
fn parse(name: &str) -> Option<(u64, &str, bool)> {
    let digits = leading_digits(name);
    let rest = name[digits.len()..].strip_prefix('_').filter(|_| !digits.is_empty())?;
    // `(.*)\.(down|up)\.(.*)`: the greedy name takes the last `.up.` or `.down.` in the rest.
    let (at, is_up) = [(rest.rfind(".up."), true), (rest.rfind(".down."), false)]
        .into_iter()
        .filter_map(|(at, up)| at.map(|at| (at, up)))
        .max_by_key(|&(at, _)| at)?;
    Some((digits.parse().ok()?, &rest[..at], is_up))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_parse_as_golang_migrate_parses_them() {
        assert_eq!(parse("10_init.up.sql"), Some((10, "init", true)));
        assert_eq!(parse("0010_a.down.sql"), Some((10, "a", false)));
        assert_eq!(parse("2_x.up.down.sql"), Some((2, "x.up", false)));
        assert_eq!(parse("3_.up."), Some((3, "", true)));
        assert_eq!(parse("x_init.up.sql"), None);
        assert_eq!(parse("4_init.sql"), None);
        assert_eq!(parse("99999999999999999999_big.up.sql"), None);
    }
}
