//! dbmate (`FindMigrations`, `parseMigrationContents`): every regular file matching
//! `^(\d+).*\.sql$` is a migration whose version is its leading digits; files sort by name as
//! text. The file holds a `-- migrate:up` block and then a `-- migrate:down` block (both
//! required, nothing but comments before the first); options follow the marker on its line, and
//! `transaction:false` runs that block outside a transaction.

use std::path::{Path, PathBuf};

use super::{Found, Part, Read, SortKey, leading_digits};
use crate::migration::TransactionMode;

pub(crate) fn read(entries: Vec<(String, PathBuf)>, show: &dyn Fn(&Path) -> PathBuf) -> Read {
    let mut read = Read::default();
    for (name, path) in entries {
        if !path.is_file() {
            continue;
        }
        let version = leading_digits(&name);
        if version.is_empty() || !name.ends_with(".sql") {
            read.skipped(&name, &show(&path), "dbmate", "`<version>_<name>.sql`");
            continue;
        }
        read.inputs.push(path.clone());
        let Ok(file) = Part::read(&path, show).map_err(|p| read.problems.extend(p.0)) else { continue };
        match split(&file) {
            Ok((up, down, transaction)) => {
                let label = name[version.len()..].trim_end_matches(".sql").trim_start_matches('_').to_string();
                read.found.push(Found {
                    version: version.to_string(),
                    sort: SortKey::Text(name.clone()),
                    name: label,
                    up: Some(up),
                    down: Some(down),
                    no_down: String::new(),
                    transaction,
                });
            }
            Err((line, message)) => read.error(
                &file.file,
                line,
                message,
                "dbmate reads one `-- migrate:up` block, then one `-- migrate:down` block",
            ),
        }
    }
    read
}

/// The marker a line is (`up` or `down`) and the options after it, as dbmate's
/// `^--\s*migrate:(up|down)(\s*$|\s+\S+)` reads a line.
fn marker(line: &str) -> Option<(&'static str, &str)> {
    let rest = line.strip_prefix("--")?.trim_start().strip_prefix("migrate:")?;
    let (which, after) =
        if let Some(after) = rest.strip_prefix("up") { ("up", after) } else { ("down", rest.strip_prefix("down")?) };
    (after.trim().is_empty() || after.starts_with(char::is_whitespace)).then_some((which, after.trim()))
}

/// Whether `line` opens a dbmate up block.
pub(crate) fn is_up_marker(line: &str) -> bool {
    marker(line).is_some_and(|(which, _)| which == "up")
}

/// The up and down blocks of a dbmate file (each without its marker line), and the
/// transaction mode; or the line and reason dbmate would refuse it for.
fn split(file: &Part) -> Result<(Part, Part, TransactionMode), (usize, String)> {
    let lines: Vec<&str> = file.text.split('\n').collect();
    let mut up: Option<(usize, &str)> = None;
    let mut down: Option<(usize, &str)> = None;
    for (index, line) in lines.iter().enumerate() {
        match marker(line) {
            Some(("up", options)) if up.is_none() => up = Some((index, options)),
            Some(("up", _)) => {
                return Err((index + 1, "a second `-- migrate:up` block: Retort reads one migration per file".into()));
            }
            Some((_, options)) if up.is_some() && down.is_none() => down = Some((index, options)),
            Some(_) if up.is_none() => {
                return Err((index + 1, "`-- migrate:down` before `-- migrate:up`: dbmate refuses this order".into()));
            }
            Some(_) => return Err((index + 1, "a second `-- migrate:down` block: dbmate refuses it".into())),
            None if up.is_none() && !line.trim().is_empty() && !line.trim_start().starts_with("--") => {
                return Err((index + 1, "a statement before `-- migrate:up`: dbmate refuses it".into()));
            }
            None => {}
        }
    }
    let Some((up_at, up_options)) = up else {
        return Err((1, "no `-- migrate:up` block: dbmate refuses the file".into()));
    };
    let Some((down_at, down_options)) = down else {
        return Err((lines.len(), "no `-- migrate:down` block: dbmate refuses the file".into()));
    };
    let block = |from: usize, to: usize| Part {
        file: file.file.clone(),
        text: lines[from + 1..to].join("\n"),
        line: file.line + from + 1,
    };
    let no_transaction = |options: &str| options.split_whitespace().any(|o| o == "transaction:false");
    // dbmate decides per block; a Retort migration has one mode, so either block's option
    // takes both out of the transaction.
    let transaction = if no_transaction(up_options) || no_transaction(down_options) {
        TransactionMode::None
    } else {
        TransactionMode::PerMigration
    };
    Ok((block(up_at, down_at), block(down_at, lines.len()), transaction))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(text: &str) -> Part {
        Part { file: PathBuf::from("1_a.sql"), text: text.to_string(), line: 1 }
    }

    #[test]
    fn markers_read_as_dbmate_reads_them() {
        assert_eq!(marker("-- migrate:up"), Some(("up", "")));
        assert_eq!(marker("--migrate:down transaction:false"), Some(("down", "transaction:false")));
        assert_eq!(marker("-- migrate:upx"), None);
        assert_eq!(marker(" -- migrate:up"), None);
    }

    #[test]
    fn blocks_split_with_their_lines() {
        let (up, down, tx) = split(&part(
            "-- a comment\n-- migrate:up\nCREATE TABLE t (x);\n-- migrate:down transaction:false\nDROP TABLE t;\n",
        ))
        .unwrap();
        assert_eq!((up.text.as_str(), up.line), ("CREATE TABLE t (x);", 3));
        assert_eq!((down.text.as_str(), down.line), ("DROP TABLE t;\n", 5));
        assert_eq!(tx, TransactionMode::None);
        assert_eq!(split(&part("SELECT 1;\n-- migrate:up\n-- migrate:down\n")).unwrap_err().0, 1);
        assert_eq!(split(&part("-- migrate:up\nSELECT 1;\n")).unwrap_err().0, 3);
        assert!(split(&part("-- migrate:up\n-- migrate:down\n-- migrate:up\n")).is_err());
    }
}
