//! Populate scripts (`migrations/populate/*.sql`): data that belongs to the application, kept out
//! of migrations. A script opens with a `--` header holding `Requires: <revision>`; the rest is
//! SQL that must be idempotent (the harness runs it twice and proves the second run changes
//! nothing).
//!
//! Guarantees: `parse_script` is the one parser of populate scripts; it never panics.

use std::path::Path;

use crate::key::Key;
use crate::migration::Section;
use crate::migration::key_like;
use crate::problem::{Problem, ProblemKind};
use crate::revision::RevisionId;
use crate::text::{normalize_file, normalize_section};

/// A parsed populate script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PopulateScript {
    /// The file, as shown.
    pub file: std::path::PathBuf,
    /// The file name without `.sql`.
    pub name: String,
    /// The revision that must be applied first.
    pub requires: RevisionId,
    /// The line of `Requires:`.
    pub requires_line: usize,
    /// The SQL after the header.
    pub sql: Section,
}

/// Parses a populate script.
pub fn parse_script(display: &Path, bytes: &[u8]) -> Result<PopulateScript, Vec<Problem>> {
    let err =
        |line, reason: String| Problem::error(display, line, ProblemKind::BadValue { key: Key::Requires, reason });
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(vec![Problem::error(display, 1, ProblemKind::NotUtf8)]);
    };
    let text = normalize_file(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let header_end = lines.iter().position(|l| !l.trim_start().starts_with("--")).unwrap_or(lines.len());
    let mut requires = None;
    let mut problems = Vec::new();
    let mut in_note = false;
    for (i, line) in lines[..header_end].iter().enumerate() {
        let content = line.trim_start().trim_start_matches('-').trim();
        // `IMPORTANT:` opens a note that runs to the next blank header line, as in migrations.
        in_note = !content.is_empty() && (in_note || content.starts_with("IMPORTANT:"));
        if in_note {
            continue;
        }
        let near_requires = content.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case(Key::Requires.as_str())
                && (k != Key::Requires.as_str() || !(v.is_empty() || v.starts_with(' ')))
        });
        if near_requires {
            let kind = ProblemKind::MalformedKey { written: content.to_string(), key: Key::Requires };
            problems.push(Problem::error(display, i + 1, kind));
            continue;
        }
        match key_like(content) {
            Some((key, value)) if key == Key::Requires.as_str() => match (requires, RevisionId::parse(value.trim())) {
                (Some((_, first_line)), _) => problems.push(Problem::error(
                    display,
                    i + 1,
                    ProblemKind::DuplicateKey { key: Key::Requires, first_line },
                )),
                (None, Some(rev)) => requires = Some((rev, i + 1)),
                (None, None) => {
                    problems.push(err(i + 1, format!("`{}` is not a 12-digit lowercase hex revision", value.trim())))
                }
            },
            Some((key, _)) => {
                let kind = ProblemKind::UnknownKey { key: key.to_string(), suggestion: None };
                problems.push(Problem::error(display, i + 1, kind).with_help(
                    "a populate script's header knows one key, `Requires: <revision>`; free text must not look like `Key: value`",
                ));
            }
            None => {}
        }
    }
    let (sql, skipped) = normalize_section(&lines[header_end..]);
    let name = display.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    match requires {
        Some((requires, requires_line)) if problems.is_empty() => Ok(PopulateScript {
            file: display.to_path_buf(),
            name,
            requires,
            requires_line,
            sql: Section { sql, line: header_end + 1 + skipped },
        }),
        None if problems.is_empty() => Err(vec![Problem::error(display, 1, ProblemKind::MissingKey(Key::Requires))
            .with_help("start the script with a `--` header holding `-- Requires: <revision>`, the revision whose schema it needs")]),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<(&str, usize), &str>) {
        let got = parse_script(Path::new("migrations/populate/001_x.sql"), text.as_bytes());
        match (got, expected) {
            (Ok(s), Ok((rev, line))) => {
                assert_eq!(s.requires.as_str(), rev);
                assert_eq!(s.sql.line, line);
                assert_eq!(s.name, "001_x");
            }
            (Err(p), Err(message)) => assert!(p.iter().any(|p| p.one_line().contains(message)), "{p:#?}"),
            (got, expected) => panic!("{text:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn headers() {
        check("-- Seed\n-- Requires: 6a7b8c9d0e1f\n\nINSERT INTO t VALUES (1);\n", Ok(("6a7b8c9d0e1f", 4)));
        check("-- Seed\n\nINSERT INTO t VALUES (1);\n", Err("missing header key `Requires`"));
        check("-- Requires: 6A7B\nSELECT 1;\n", Err("`6A7B` is not a 12-digit lowercase hex revision"));
        check(
            "-- Requires: 6a7b8c9d0e1f\n-- Requires: 6a7b8c9d0e1f\n",
            Err("duplicate header key `Requires` (first on line 1)"),
        );
        check("-- Seed\n-- Requires:6a7b8c9d0e1f\nSELECT 1;\n", Err("looks like the key `Requires`"));
        check("-- Seed\n-- requires: 6a7b8c9d0e1f\nSELECT 1;\n", Err("looks like the key `Requires`"));
        check(
            "-- Seed\n-- Requires: 6a7b8c9d0e1f\n-- Needs: 1a2b3c4d5e6f\nSELECT 1;\n",
            Err("unknown header key `Needs`"),
        );
        check(
            "-- Seed\n-- Requires: 6a7b8c9d0e1f\n--\n-- IMPORTANT: idempotent: yes\n-- Note: fine here\nSELECT 1;\n",
            Ok(("6a7b8c9d0e1f", 6)),
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..300)) {
            let _ = parse_script(Path::new("migrations/populate/001_x.sql"), &bytes);
        }
    }
}
