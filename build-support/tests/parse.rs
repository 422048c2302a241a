//! Table-driven tests of the migration parser: each rule of SPEC §2, each error with its line.

use std::path::{Path, PathBuf};

use retort_build::migration::parse;
use retort_build::{
    Lossy, LossyItem, Migration, Problem, RevisionId, Section, TableAffected, TransactionMode, Waiver, WaiverKind,
};

const NAME: &str = "migrations/9b1c0e2f4a77_add_signature_image.sql";

const VALID: &str = "\
-- Add signature image to user
--
-- Revision ID: 9b1c0e2f4a77
-- Revises: 3f2a9c1b7d4e
-- Create Date: 2025-10-21T10:30:00Z
--
-- Tables affected:
-- - user: add column signature_image
--
-- IMPORTANT: This migration only changes the schema.
-- No data population script needed.

-- migrate:up
ALTER TABLE \"user\" ADD COLUMN signature_image TEXT;

-- migrate:down
ALTER TABLE \"user\" DROP COLUMN signature_image;
";

fn problems(name: &str, text: &str) -> Vec<Problem> {
    match parse(Path::new(name), text.as_bytes()) {
        Ok(m) => panic!("expected an error, parsed {m:?}"),
        Err(p) => p,
    }
}

/// Asserts that `text` fails with exactly one problem on `line` whose message contains `message`.
fn check_error(text: &str, line: usize, message: &str) {
    let found = problems(NAME, text);
    let shown: Vec<String> = found.iter().map(Problem::one_line).collect();
    assert!(
        found.len() == 1 && found[0].location.line == line && found[0].kind.to_string().contains(message),
        "expected exactly `{message}` at line {line}, got {shown:#?}"
    );
    assert!(found.iter().all(|p| p.location.file == Path::new(NAME)), "{shown:#?}");
    assert!(
        found.iter().all(|p| p.help_text(retort_build::DEFAULT_COMMAND).is_some()),
        "every problem has a fix: {shown:#?}"
    );
}

#[test]
fn valid_file_parses_every_field() {
    let m = parse(Path::new(NAME), VALID.as_bytes()).unwrap();
    assert_eq!(m.revision.as_str(), "9b1c0e2f4a77");
    assert_eq!(m.message, "Add signature image to user");
    assert_eq!(m.parents.iter().map(|r| r.to_string()).collect::<Vec<_>>(), ["3f2a9c1b7d4e"]);
    assert_eq!(m.create_date, "2025-10-21T10:30:00Z");
    assert_eq!(m.tables_affected.len(), 1);
    assert_eq!(m.tables_affected[0].table, "user");
    assert_eq!(m.tables_affected[0].change, "add column signature_image");
    assert_eq!(m.up.sql, "ALTER TABLE \"user\" ADD COLUMN signature_image TEXT;");
    assert_eq!(m.up.line, 14);
    assert_eq!(m.down.as_ref().unwrap().line, 17);
    assert_eq!(m.transaction, TransactionMode::PerMigration);
    assert!(m.irreversible.is_none());
    assert_eq!(m.slug(), "add_signature_image");
}

#[test]
fn optional_keys_parse() {
    let text = VALID.replace(
        "-- Create Date: 2025-10-21T10:30:00Z\n",
        "-- Create Date: 2025-10-21T10:30:00.123+00:00\n-- Depends On: 111111111111, 222222222222\n\
             -- Branch Labels: accounts, billing\n-- Transaction: none\n-- Allow: data-change: backfill\n\
             -- Allow: destructive: drop old column\n",
    );
    let m = parse(Path::new(NAME), text.as_bytes()).unwrap();
    assert_eq!(m.depends_on.len(), 2);
    assert_eq!(m.branch_labels, ["accounts", "billing"]);
    assert_eq!(m.transaction, TransactionMode::None);
    assert!(m.allows(WaiverKind::DataChange) && m.allows(WaiverKind::Destructive));
}

#[test]
fn lossy_names_tables_and_columns() {
    let text = VALID.replace(
        "-- Create Date: 2025-10-21T10:30:00Z\n",
        "-- Create Date: 2025-10-21T10:30:00Z\n-- Lossy: \"user\".signature, audit: the old values are not kept\n\
         -- Lossy: posts.body: truncated to 200 characters\n",
    );
    let m = parse(Path::new(NAME), text.as_bytes()).unwrap();
    assert_eq!(m.lossy.len(), 2);
    assert_eq!(m.lossy[0].reason, "the old values are not kept");
    assert!(m.lossy_allows("USER", Some("Signature")), "names compare as SQLite compares them");
    assert!(!m.lossy_allows("user", Some("name")));
    assert!(!m.lossy_allows("user", None), "a column waiver does not waive the table");
    assert!(m.lossy_allows("audit", Some("anything")) && m.lossy_allows("audit", None));
    assert!(m.lossy_allows("posts", Some("body")));
}

#[test]
fn a_bad_lossy_line_names_what_is_wrong() {
    for (value, message) in [
        ("posts.body", "has no `: <reason>`"),
        ("posts.body:", "the reason is missing"),
        ("posts., audit: reason", "`posts.` is not a table"),
        ("two words: reason", "`two words` is not a table"),
    ] {
        let text = VALID.replace(
            "-- Create Date: 2025-10-21T10:30:00Z\n",
            &format!("-- Create Date: 2025-10-21T10:30:00Z\n-- Lossy: {value}\n"),
        );
        check_error(&text, 6, message);
    }
}

#[test]
fn irreversible_has_no_down() {
    let text = VALID.replace("-- Tables affected:", "-- Irreversible: the old data is gone\n-- Tables affected:");
    let text = &text[..text.find("-- migrate:down").unwrap()];
    let m = parse(Path::new(NAME), text.as_bytes()).unwrap();
    assert_eq!(m.irreversible.as_deref(), Some("the old data is gone"));
    assert!(m.down.is_none());
}

#[test]
fn merge_needs_no_tables_and_may_be_empty() {
    let text = "-- Merge\n--\n-- Revision ID: 9b1c0e2f4a77\n-- Revises: 111111111111, 222222222222\n\
                -- Create Date: 2025-10-21T10:30:00Z\n\n-- migrate:up\n\n-- migrate:down\n";
    let m = parse(Path::new(NAME), text.as_bytes()).unwrap();
    assert!(m.is_merge());
    assert_eq!(m.up.sql, "");
}

#[test]
fn header_errors() {
    let cases: &[(&str, &str, usize, &str)] = &[
        ("-- Revision ID: 9b1c0e2f4a77\n", "", 1, "missing header key `Revision ID`"),
        ("-- Revises: 3f2a9c1b7d4e\n", "", 1, "missing header key `Revises`"),
        ("-- Create Date: 2025-10-21T10:30:00Z\n", "", 1, "missing header key `Create Date`"),
        ("-- Tables affected:\n-- - user: add column signature_image\n", "", 1, "missing header key `Tables affected`"),
        (
            "-- Revises: 3f2a9c1b7d4e\n",
            "-- Revises: 3f2a9c1b7d4e\n-- Revises: 3f2a9c1b7d4e\n",
            5,
            "duplicate header key `Revises` (first on line 4)",
        ),
        (
            "-- Tables affected:\n",
            "-- Revisions: 3f2a9c1b7d4e\n-- Tables affected:\n",
            7,
            "unknown header key `Revisions`",
        ),
        (
            "-- Revision ID: 9b1c0e2f4a77\n",
            "-- Revision ID: 000000000000\n",
            3,
            "does not match the file name's revision",
        ),
        (
            "-- Create Date: 2025-10-21T10:30:00Z\n",
            "-- Create Date: 2025-13-21T10:30:00Z\n",
            5,
            "not an RFC 3339 UTC time",
        ),
        ("-- Create Date: 2025-10-21T10:30:00Z\n", "-- Create Date: 2025-10-21 10:30\n", 5, "not an RFC 3339 UTC time"),
        (
            "-- Create Date: 2025-10-21T10:30:00Z\n",
            "-- Create Date: 2025-02-30T10:30:00Z\n",
            5,
            "not an RFC 3339 UTC time",
        ),
        ("-- Revises: 3f2a9c1b7d4e\n", "-- Revises: 3F2A\n", 4, "`3F2A` is not a 12-digit lowercase hex revision"),
        ("-- Revises: 3f2a9c1b7d4e\n", "-- Revises: 3f2a9c1b7d4e, 3f2a9c1b7d4e\n", 4, "listed twice"),
        ("-- Add signature image to user\n", "--\n", 1, "first line must be the migration message"),
        ("-- Tables affected:\n", "-- Transaction: maybe\n-- Tables affected:\n", 7, "`maybe` is not `none`"),
        ("-- Tables affected:\n", "-- Allow: everything\n-- Tables affected:\n", 7, "is not `data-change: <reason>`"),
        (
            "-- Tables affected:\n",
            "-- Branch Labels: a b\n-- Tables affected:\n",
            7,
            "must not contain `@`, `:` or spaces",
        ),
        (
            "-- Tables affected:\n",
            "-- Branch Labels: a:b\n-- Tables affected:\n",
            7,
            "must not contain `@`, `:` or spaces",
        ),
        (
            "-- Tables affected:\n",
            "-- Branch Labels: ok, head\n-- Tables affected:\n",
            7,
            "`head` is a reserved target word",
        ),
        (
            "-- Tables affected:\n",
            "-- Branch Labels: Base\n-- Tables affected:\n",
            7,
            "`Base` is a reserved target word",
        ),
        ("-- Tables affected:\n", "-- Branch Labels: heads\n-- Tables affected:\n", 7, "reserved target word"),
        ("-- Tables affected:\n", "-- Branch Labels: +2\n-- Tables affected:\n", 7, "reads as a relative target"),
        ("-- Tables affected:\n", "-- Branch Labels: -1\n-- Tables affected:\n", 7, "reads as a relative target"),
        (
            "-- Tables affected:\n",
            "-- Branch Labels: 3f2a9c1b7d4e\n-- Tables affected:\n",
            7,
            "reads as a revision id or prefix",
        ),
        (
            "-- Tables affected:\n",
            "-- Branch Labels: 3f2a\n-- Tables affected:\n",
            7,
            "reads as a revision id or prefix",
        ),
        (
            "-- Tables affected:\n",
            "-- Branch Labels: DeadBeef\n-- Tables affected:\n",
            7,
            "reads as a revision id or prefix",
        ),
        (
            "-- Tables affected:\n",
            "-- Depends On:9e1b3d5f7a8c\n-- Tables affected:\n",
            7,
            "looks like the key `Depends On`",
        ),
        (
            "-- Tables affected:\n",
            "-- Depends On : 9e1b3d5f7a8c\n-- Tables affected:\n",
            7,
            "looks like the key `Depends On`",
        ),
        (
            "-- Tables affected:\n",
            "-- depends on: 9e1b3d5f7a8c\n-- Tables affected:\n",
            7,
            "looks like the key `Depends On`",
        ),
        (
            "-- Tables affected:\n",
            "-- Depends on: 9e1b3d5f7a8c\n-- Tables affected:\n",
            7,
            "looks like the key `Depends On`",
        ),
        ("-- Tables affected:\n", "-- transaction:none\n-- Tables affected:\n", 7, "looks like the key `Transaction`"),
        ("-- Tables affected:\n", "-- Allow: pragma\n-- Tables affected:\n", 7, "or `pragma: <reason>`"),
    ];
    for (from, to, line, message) in cases {
        assert!(VALID.contains(from), "fixture mismatch: {from}");
        check_error(&VALID.replacen(from, to, 1), *line, message);
    }
}

#[test]
fn malformed_keys_say_how_to_write_them() {
    let found =
        problems(NAME, &VALID.replace("-- Tables affected:", "-- Depends On:9e1b3d5f7a8c\n-- Tables affected:"));
    assert_eq!(
        found[0].help_text(retort_build::DEFAULT_COMMAND).as_deref(),
        Some("did you mean `-- Depends On: <value>`? (exact case, no space before the colon, one after)")
    );
}

#[test]
fn good_branch_labels_parse() {
    let text = VALID
        .replace("-- Tables affected:", "-- Branch Labels: billing, v2, head-office, abc, cafe_1\n-- Tables affected:");
    let m = parse(Path::new(NAME), text.as_bytes()).unwrap();
    assert_eq!(m.branch_labels, ["billing", "v2", "head-office", "abc", "cafe_1"]);
}

#[test]
fn transaction_control_is_refused_in_a_transactional_migration() {
    let up = "ALTER TABLE \"user\" ADD COLUMN signature_image TEXT;";
    let cases = [
        (
            "CREATE TABLE t1 (a);\nROLLBACK;\nCREATE TABLE t2 (a);",
            15,
            "`ROLLBACK` in a migration that runs in a transaction",
        ),
        ("CREATE TABLE t1 (a);\nCOMMIT;", 15, "`COMMIT`"),
        ("BEGIN;\nCREATE TABLE t1 (a);", 14, "`BEGIN`"),
        ("CREATE TABLE t1 (a);\n  end;", 15, "`END`"),
        ("SAVEPOINT s;\nCREATE TABLE t1 (a);", 14, "`SAVEPOINT`"),
        ("CREATE TABLE t1 (a);\n/* x */ RELEASE s;", 15, "`RELEASE`"),
    ];
    for (sql, line, message) in cases {
        check_error(&VALID.replace(up, sql), line, message);
    }
    let down = "ALTER TABLE \"user\" DROP COLUMN signature_image;";
    check_error(&VALID.replace(down, "COMMIT;\nALTER TABLE \"user\" DROP COLUMN signature_image;"), 17, "`COMMIT`");
    // Allowed: `Transaction: none`, trigger bodies (their END), RAISE(ROLLBACK, …), INSERT OR ROLLBACK.
    let own = VALID
        .replace(up, "BEGIN;\nCREATE TABLE t1 (a);\nCOMMIT;")
        .replace("-- Tables affected:", "-- Transaction: none\n-- Tables affected:");
    parse(Path::new(NAME), own.as_bytes()).unwrap();
    let trigger = VALID.replace(
        up,
        "CREATE TRIGGER t BEFORE INSERT ON \"user\" BEGIN\n  SELECT RAISE(ROLLBACK, 'no');\nEND;\nINSERT OR ROLLBACK INTO x VALUES (1);",
    );
    parse(Path::new(NAME), trigger.as_bytes()).unwrap();
}

#[test]
fn unknown_key_suggests_the_known_one() {
    let found = problems(NAME, &VALID.replace("-- Revises:", "-- Revices:"));
    assert_eq!(found[0].help_text(retort_build::DEFAULT_COMMAND).as_deref(), Some("did you mean `Revises`?"));
}

#[test]
fn free_text_is_not_a_key() {
    let text = VALID.replace(
        "-- IMPORTANT: This migration only changes the schema.",
        "-- This migration only changes the schema: nothing else.\n-- IMPORTANT: Note: even this is fine",
    );
    parse(Path::new(NAME), text.as_bytes()).unwrap();
}

#[test]
fn section_errors() {
    let up_start = VALID.find("-- migrate:up").unwrap();
    let down_start = VALID.find("-- migrate:down").unwrap();
    let no_down = &VALID[..down_start];
    let cases: Vec<(String, usize, &str)> = vec![
        (
            VALID[..up_start].replace("-- Tables affected:", "-- Irreversible: gone\n-- Tables affected:"),
            14,
            "missing `-- migrate:up` section",
        ),
        (VALID.replace("ALTER TABLE \"user\" ADD COLUMN signature_image TEXT;", "-- nothing"), 13, "section is empty"),
        (no_down.to_string(), 16, "missing `-- migrate:down` section"),
        (
            VALID.replace("-- Tables affected:", "-- Irreversible: gone\n-- Tables affected:"),
            17,
            "must not have a `-- migrate:down`",
        ),
        (format!("{VALID}-- migrate:up\n"), 18, "section `-- migrate:up` appears out of place"),
        (format!("{VALID}-- migrate:down\n"), 18, "section `-- migrate:down` appears out of place"),
        (format!("{VALID}-- migrate:sideways\n"), 18, "unknown section marker `-- migrate:sideways`"),
        (VALID.replace("\n\n-- migrate:up", "\nSELECT 1;\n-- migrate:up"), 12, "text outside the header"),
        (format!("SELECT 1;\n{VALID}"), 1, "migration has no header"),
        (
            VALID[..VALID.find("-- migrate:down").unwrap()]
                .replace("-- Tables affected:", "-- Irreversible:\n-- Tables affected:"),
            7,
            "the reason is missing",
        ),
    ];
    for (text, line, message) in cases {
        check_error(&text, line, message);
    }
}

#[test]
fn slugs() {
    use retort_build::migration::slug_of;
    assert_eq!(slug_of("Add signature image to user"), "add_signature_image_to_user");
    assert_eq!(slug_of("  Fix: user.email (again!) "), "fix_user_email_again");
    assert_eq!(slug_of("!!!"), "migration");
}

#[test]
fn file_level_errors() {
    let found = problems("migrations/create_user.sql", VALID);
    assert!(found[0].kind.to_string().contains("file name must be"), "{found:?}");
    let found = problems("migrations/9B1C0E2F4A77_x.sql", VALID);
    assert!(found[0].kind.to_string().contains("file name must be"), "{found:?}");
    let mut bytes = VALID.as_bytes().to_vec();
    bytes.splice(VALID.find("TEXT;").unwrap()..VALID.find("TEXT;").unwrap(), [0xff, 0xfe]);
    let found = parse(Path::new(NAME), &bytes).unwrap_err();
    assert_eq!(found[0].location.line, 14);
    assert_eq!(found[0].kind.to_string(), "file is not valid UTF-8");
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = VALID.replace("-- Revises:", "-- Revices:").replace("2025-10-21T10:30:00Z", "yesterday");
    let text = &text[..text.find("-- migrate:down").unwrap()];
    let found = problems(NAME, text);
    let messages: Vec<String> = found.iter().map(|p| p.kind.to_string()).collect();
    for expected in
        ["unknown header key `Revices`", "not an RFC 3339", "missing header key `Revises`", "missing `-- migrate:down`"]
    {
        assert!(messages.iter().any(|m| m.contains(expected)), "{expected} in {messages:#?}");
    }
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn rev() -> impl Strategy<Value = String> {
        "[0-9a-f]{12}"
    }

    /// A section's SQL as `parse` leaves it: lines of statements, comments and blank lines,
    /// trimmed at both ends, never only comments.
    fn section() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            "[a-z_]{1,8}".prop_map(|t| format!("CREATE TABLE {t} (x INTEGER);")),
            "[a-z ]{0,12}".prop_map(|t| format!("  INSERT INTO t VALUES ('{t}');")),
            "[A-Za-z0-9 ,.]{0,20}".prop_map(|t| format!("-- {t}").trim_end().to_string()),
            Just(String::new()),
        ];
        proptest::collection::vec(line, 0..6).prop_map(|lines| {
            let mut sql = format!("CREATE TABLE first (x);\n{}", lines.join("\n"));
            sql.truncate(sql.trim_end().len());
            sql
        })
    }

    fn words() -> impl Strategy<Value = String> {
        "[a-z][a-z ]{0,18}[a-z]"
    }

    prop_compose! {
        fn migration()(
            revision in rev(),
            parents in proptest::collection::btree_set(rev(), 0..4),
            depends_on in proptest::collection::btree_set(rev(), 0..3),
            labels in proptest::collection::btree_set("[g-z][a-z_]{0,8}", 0..3),
            message in "[A-Za-z][A-Za-z0-9 ,.()-]{0,40}",
            secs in 0u64..4_000_000_000,
            tables in proptest::collection::vec(("[a-z_]{1,10}", proptest::option::of(words())), 0..4),
            transaction_none in any::<bool>(),
            irreversible in proptest::option::of(words()),
            waivers in proptest::collection::vec((0..3usize, words()), 0..3),
            lossy in proptest::collection::vec(
                (proptest::collection::vec(("[a-z_]{1,10}", proptest::option::of("[a-z_]{1,10}")), 1..3), words()),
                0..3,
            ),
            up in section(),
            down in section(),
        ) -> Migration {
            let id = |r: &String| RevisionId::parse(r).unwrap();
            let parents: Vec<RevisionId> = parents.iter().filter(|p| **p != revision).map(id).collect();
            let merge = parents.len() >= 2;
            let kinds = [WaiverKind::DataChange, WaiverKind::Destructive, WaiverKind::Pragma];
            Migration {
                file: PathBuf::from(format!("migrations/{revision}_generated.sql")),
                revision: id(&revision),
                message: message.trim().to_string(),
                depends_on: depends_on.iter().filter(|d| **d != revision).map(id).filter(|d| !parents.contains(d)).collect(),
                parents,
                branch_labels: labels.into_iter().collect(),
                create_date: retort_build::timestamp::rfc3339(secs),
                tables_affected: tables
                    .into_iter()
                    .filter(|_| !merge)
                    .map(|(table, change)| TableAffected { table, change: change.unwrap_or_default(), line: 0 })
                    .collect(),
                transaction: if transaction_none { TransactionMode::None } else { TransactionMode::PerMigration },
                down: irreversible.is_none().then_some(Section { sql: down, line: 0 }),
                irreversible,
                origin: None,
                waivers: waivers.into_iter().map(|(k, reason)| Waiver { kind: kinds[k], reason }).collect(),
                lossy: lossy
                    .into_iter()
                    .map(|(items, reason)| Lossy {
                        items: items.into_iter().map(|(table, column)| LossyItem { table, column }).collect(),
                        reason,
                    })
                    .collect(),
                up: Section { sql: up, line: 0 },
                key_lines: Vec::new(),
            }
        }
    }

    /// `m` without what depends on where things are in its file.
    fn positionless(mut m: Migration) -> Migration {
        m.key_lines.clear();
        m.up.line = 0;
        if let Some(down) = m.down.as_mut() {
            down.line = 0;
        }
        for t in &mut m.tables_affected {
            t.line = 0;
        }
        m
    }

    proptest! {
        /// `parse(render(m)) == m`: the file format is written once and read back whole, with
        /// either line end.
        #[test]
        fn render_then_parse(m in migration(), crlf in any::<bool>()) {
            let mut text = retort_build::migration::render(&m);
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let parsed = parse(&m.file, text.as_bytes()).map_err(|p| TestCaseError::fail(format!("{p:?}\n{text}")))?;
            prop_assert_eq!(retort_build::migration::render(&parsed), retort_build::migration::render(&m));
            prop_assert_eq!(positionless(parsed), m);
        }

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(Path::new(NAME), &bytes);
        }

        /// Mutations of a valid file never panic and, when they fail, name a line in the file.
        #[test]
        fn mutated_files_fail_with_lines(cut in 0..VALID.len(), insert in "[-a-zA-Z: \n]{0,12}") {
            let mut text = VALID.to_string();
            let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            text.insert_str(cut, &insert);
            if let Err(found) = parse(Path::new(NAME), text.as_bytes()) {
                let lines = text.lines().count() + 1;
                prop_assert!(found.iter().all(|p| p.location.line <= lines));
            }
        }
    }
}
