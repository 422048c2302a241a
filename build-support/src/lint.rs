//! The static lint (SPEC §8 step 2, `cargo xtask lint`): what each migration's SQL does, read
//! from its text without a database. The harness confirms the data rules while running, with
//! SQLite's authorizer, so what the text hides (a trigger body, a CTE) is caught there.
//!
//! Guarantees: every finding names the file and the line of the statement and says how to fix
//! it; a finding that an `Allow:` waiver covers is not reported.

use std::collections::BTreeSet;

use crate::key::Key;
use crate::migration::{Migration, WaiverKind};
use crate::problem::{Problem, ProblemKind};
use crate::set::MigrationSet;
use crate::sql::{LineIndex, Statement, Token, TokenKind, split_statements};
use crate::template::{PLACEHOLDER_CHANGE, PLACEHOLDER_TABLE};

/// What one statement does, as far as its text tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// INSERT, UPDATE, DELETE or REPLACE on a table.
    DataChange {
        /// The verb, upper case.
        verb: String,
        /// The table.
        table: String,
    },
    /// DROP TABLE.
    DropTable(String),
    /// ALTER TABLE … DROP COLUMN.
    DropColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// Any other change to a named table or view (create, alter, index, trigger).
    Touch(String),
    /// A table or view created under a name.
    Create(String),
    /// A table renamed: (from, to).
    Rename(String, String),
    /// A change whose table the text does not name (DROP INDEX, DROP TRIGGER).
    Unknown,
    /// Reads or pragmas.
    None,
}

fn name_at(tokens: &[Token], mut i: usize) -> Option<(String, usize)> {
    let t = tokens.get(i)?;
    let mut name = t.name()?.to_string();
    // Schema-qualified: main.t
    if tokens.get(i + 1).is_some_and(|d| d.kind == TokenKind::Punct && d.text == ".") {
        if let Some(n) = tokens.get(i + 2).and_then(Token::name) {
            name = n.to_string();
            i += 2;
        }
    }
    Some((name.to_lowercase(), i + 1))
}

fn skip(tokens: &[Token], mut i: usize, words: &[&str]) -> usize {
    while tokens.get(i).is_some_and(|t| words.iter().any(|w| t.is(w))) {
        i += 1;
    }
    i
}

/// The effects of one statement.
pub fn effects(statement: &Statement) -> Vec<Effect> {
    let t = &statement.tokens;
    let Some(first) = t.first() else { return vec![Effect::None] };
    let word = |i: usize| t.get(i).map_or("", |t| if t.kind == TokenKind::Word { t.text.as_str() } else { "" });
    match first.text.as_str() {
        "WITH" => {
            // The verb after the common table expressions, at parenthesis depth 0.
            let mut depth = 0i32;
            for (i, tok) in t.iter().enumerate().skip(1) {
                match tok.text.as_str() {
                    "(" if tok.kind == TokenKind::Punct => depth += 1,
                    ")" if tok.kind == TokenKind::Punct => depth -= 1,
                    "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "SELECT"
                        if depth == 0 && tok.kind == TokenKind::Word =>
                    {
                        let rest = Statement { text: String::new(), start: statement.start, tokens: t[i..].to_vec() };
                        return effects(&rest);
                    }
                    _ => {}
                }
            }
            vec![Effect::None]
        }
        "INSERT" | "REPLACE" => {
            let i = skip(t, 1, &["OR", "REPLACE", "ROLLBACK", "ABORT", "FAIL", "IGNORE", "INTO"]);
            name_at(t, i).map_or(vec![Effect::Unknown], |(table, _)| {
                vec![Effect::DataChange { verb: first.text.clone(), table }]
            })
        }
        "UPDATE" => {
            let i = skip(t, 1, &["OR", "REPLACE", "ROLLBACK", "ABORT", "FAIL", "IGNORE"]);
            name_at(t, i)
                .map_or(vec![Effect::Unknown], |(table, _)| vec![Effect::DataChange { verb: "UPDATE".into(), table }])
        }
        "DELETE" => {
            let i = skip(t, 1, &["FROM"]);
            name_at(t, i)
                .map_or(vec![Effect::Unknown], |(table, _)| vec![Effect::DataChange { verb: "DELETE".into(), table }])
        }
        "CREATE" => {
            let i = skip(t, 1, &["TEMP", "TEMPORARY", "UNIQUE", "VIRTUAL"]);
            let kind = word(i);
            let i = skip(t, i + 1, &["IF", "NOT", "EXISTS"]);
            match kind {
                "TABLE" | "VIEW" => name_at(t, i).map_or(vec![Effect::Unknown], |(n, _)| vec![Effect::Create(n)]),
                "INDEX" | "TRIGGER" => {
                    let body = t.iter().position(|x| x.is("BEGIN")).unwrap_or(t.len());
                    let on = t[..body].iter().position(|x| x.is("ON"));
                    on.and_then(|on| name_at(t, on + 1)).map_or(vec![Effect::Unknown], |(n, _)| vec![Effect::Touch(n)])
                }
                _ => vec![Effect::Unknown],
            }
        }
        "ALTER" => {
            let Some((table, i)) = name_at(t, skip(t, 1, &["TABLE"])) else { return vec![Effect::Unknown] };
            match (word(i), word(i + 1)) {
                ("RENAME", "TO") => {
                    name_at(t, i + 2).map_or(vec![Effect::Unknown], |(to, _)| vec![Effect::Rename(table, to)])
                }
                ("DROP", _) => {
                    let j = skip(t, i + 1, &["COLUMN"]);
                    let column = name_at(t, j).map(|(c, _)| c).unwrap_or_default();
                    vec![Effect::DropColumn { table, column }]
                }
                _ => vec![Effect::Touch(table)],
            }
        }
        "DROP" => {
            let kind = word(1);
            let i = skip(t, 2, &["IF", "EXISTS"]);
            match kind {
                "TABLE" => name_at(t, i).map_or(vec![Effect::Unknown], |(n, _)| vec![Effect::DropTable(n)]),
                "VIEW" => name_at(t, i).map_or(vec![Effect::Unknown], |(n, _)| vec![Effect::Touch(n)]),
                _ => vec![Effect::Unknown],
            }
        }
        _ => vec![Effect::None],
    }
}

/// Pragmas that change how SQLite behaves for the connection or the database. Retort runs every
/// step with foreign keys off and these at its own values, re-asserted before each step; a
/// migration that sets one anyway needs `Allow: pragma: <reason>`.
pub const SETTING_PRAGMAS: [&str; 17] = [
    "foreign_keys",
    "journal_mode",
    "writable_schema",
    "legacy_alter_table",
    "defer_foreign_keys",
    "ignore_check_constraints",
    "recursive_triggers",
    "query_only",
    "synchronous",
    "locking_mode",
    "trusted_schema",
    "case_sensitive_like",
    "reverse_unordered_selects",
    "cell_size_check",
    "secure_delete",
    "auto_vacuum",
    "temp_store",
];

/// The setting a `PRAGMA name = value` (or `PRAGMA name(value)`) statement assigns, when it
/// assigns one of `SETTING_PRAGMAS`.
pub fn setting_assigned(statement: &Statement) -> Option<String> {
    let t = &statement.tokens;
    if !t.first().is_some_and(|w| w.is("PRAGMA")) {
        return None;
    }
    let (name, next) = name_at(t, 1)?;
    let assigns = t.get(next).is_some_and(|p| p.kind == TokenKind::Punct && (p.text == "=" || p.text == "("));
    (assigns && SETTING_PRAGMAS.contains(&name.as_str())).then_some(name)
}

/// Lints every migration of `set`.
pub fn lint(set: &MigrationSet) -> Vec<Problem> {
    set.in_order().flat_map(lint_migration).collect()
}

/// A lint finding in `m` at `line`, with its fix.
fn finding(m: &Migration, line: usize, message: String, help: &str) -> Problem {
    finding_in(m, &m.file, line, message, help)
}

/// As `finding`, in `file` (a foreign migration's down is in a file of its own). A foreign
/// migration has no header to waive a finding in: the help says how to get one.
fn finding_in(m: &Migration, file: &std::path::Path, line: usize, message: String, help: &str) -> Problem {
    let help = match &m.origin {
        Some(origin) if help.contains("-- Allow:") => {
            format!(
                "{help} (a {} migration has no header: `import` the directory into Retort's layout to add one)",
                origin.layout
            )
        }
        _ => help.to_string(),
    };
    Problem::error(file, line, ProblemKind::Lint(message)).with_help(help)
}

/// The template placeholders `revision` wrote that are still in `m` (errors): a `Tables
/// affected` entry, or an `up` or `down` section as the template left it.
pub fn placeholders(m: &Migration) -> Vec<Problem> {
    let mut out = Vec::new();
    for entry in &m.tables_affected {
        if entry.table == PLACEHOLDER_TABLE || entry.change == PLACEHOLDER_CHANGE || entry.table.is_empty() {
            out.push(finding(
                m,
                entry.line,
                "`Tables affected` still holds the template placeholder".to_string(),
                "name each table the migration changes and what happens to it: `- user: add column signature_image`",
            ));
        }
    }
    let reasons =
        m.waivers.iter().map(|w| (Key::Allow, &w.reason)).chain(m.lossy.iter().map(|l| (Key::Lossy, &l.reason)));
    let mut seen: Vec<Key> = Vec::new();
    for (key, reason) in reasons {
        // The n-th line of that key is the n-th waiver (or `Lossy:` line) of the list.
        let nth = seen.iter().filter(|k| **k == key).count();
        seen.push(key);
        if reason == crate::template::PLACEHOLDER_REASON {
            let line = m.key_lines.iter().filter(|(k, _)| *k == key).nth(nth).map_or(1, |&(_, l)| l);
            out.push(finding(
                m,
                line,
                format!("`{key}:` still holds the placeholder reason `{reason}`"),
                "write why losing these rows is intended, in place of the placeholder",
            ));
        }
    }
    let unwritten = [
        (Some(&m.up), crate::template::PLACEHOLDER_UP, "up"),
        (m.down.as_ref(), crate::template::PLACEHOLDER_DOWN, "down"),
    ];
    for (section, template, name) in unwritten {
        if let Some(section) = section.filter(|s| s.sql.trim() == template.trim()) {
            out.push(finding(
                m,
                section.line,
                format!("the `{name}` section is still the template's `SELECT 1;`"),
                "write the schema change (and, in `down`, exactly its undoing) in place of the template text",
            ));
        }
    }
    out
}

/// The tables an `up` changes, as the lint reads its statements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Every table (or view) a statement changes, lower-cased.
    pub touched: BTreeSet<String>,
    /// Tables created and then renamed away or dropped within `up`: a rebuild's scaffolding,
    /// which `Tables affected` need not list.
    pub scaffolding: BTreeSet<String>,
    /// Some statement changes a table its text does not name (DROP INDEX, DROP TRIGGER).
    pub unknown: bool,
}

impl Footprint {
    /// The tables `Tables affected` must list: touched, scaffolding aside.
    pub fn listed(&self) -> impl Iterator<Item = &String> {
        self.touched.iter().filter(|t| !self.scaffolding.contains(*t))
    }
}

/// The footprint of `statements` (an `up`).
pub fn footprint(statements: &[Statement]) -> Footprint {
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    let mut unknown = false;
    for effect in statements.iter().flat_map(effects) {
        match effect {
            Effect::DataChange { table, .. } | Effect::DropColumn { table, .. } | Effect::Touch(table) => {
                touched.insert(table);
            }
            Effect::DropTable(table) => {
                touched.insert(table.clone());
                gone.insert(table);
            }
            Effect::Create(table) => {
                created.insert(table.clone());
                touched.insert(table);
            }
            Effect::Rename(from, to) => {
                gone.insert(from.clone());
                touched.insert(from);
                touched.insert(to);
            }
            Effect::Unknown => unknown = true,
            Effect::None => {}
        }
    }
    let scaffolding = created.intersection(&gone).cloned().collect();
    Footprint { touched, scaffolding, unknown }
}

/// Lints one migration: data changes and destructive changes in `up` need a waiver, `Tables
/// affected` must match what `up` touches, and no template placeholder may remain.
pub fn lint_migration(m: &Migration) -> Vec<Problem> {
    let mut out = Vec::new();
    // Every finding below is about `m`.
    let finding = |line: usize, message: String, help: &str| finding(m, line, message, help);
    out.extend(placeholders(m));
    for (section, file) in std::iter::once((&m.up, m.up_file())).chain(m.down.as_ref().map(|d| (d, m.down_file()))) {
        let finding = |line: usize, message: String, help: &str| finding_in(m, file, line, message, help);
        let mut lines = LineIndex::new(&section.sql);
        for s in split_statements(&section.sql) {
            let line = section.line + lines.line_of(s.start);
            let names_history = |t: &Token| {
                t.kind != TokenKind::Str && t.name().is_some_and(|n| n.eq_ignore_ascii_case(crate::HISTORY_TABLE))
            };
            if s.tokens.iter().any(names_history) {
                out.push(finding(
                    line,
                    format!("migration SQL names `{}`, Retort's history table", crate::HISTORY_TABLE),
                    "the history is Retort's to write: change it with the `stamp` command, never from a migration",
                ));
            }
            if let Some(name) = setting_assigned(&s).filter(|_| !m.allows(WaiverKind::Pragma)) {
                out.push(finding(
                    line,
                    format!("`PRAGMA {name}` changes a setting Retort pins for every step"),
                    "Retort runs each step with foreign keys off and its own settings, re-asserted before the next step; remove the pragma, or add `-- Allow: pragma: <reason>` if the migration needs it",
                ));
            }
        }
    }
    let statements = split_statements(&m.up.sql);
    let mut lines = LineIndex::new(&m.up.sql);
    for s in &statements {
        let line = m.up.line + lines.line_of(s.start);
        for effect in effects(s) {
            match effect {
                Effect::DataChange { verb, table } if !m.allows(WaiverKind::DataChange) => {
                    out.push(finding(
                        line,
                        format!("data change in `up`: {verb} on `{table}`"),
                        "a migration changes the schema only: move data into an idempotent script in `migrations/populate/`, or add `-- Allow: data-change: <reason>` to the header",
                    ));
                }
                Effect::DropTable(table) if !m.allows(WaiverKind::Destructive) => {
                    out.push(finding(
                        line,
                        format!("destructive change in `up`: DROP TABLE `{table}`"),
                        "dropping loses data: add `-- Allow: destructive: <reason>` to the header once you are sure",
                    ));
                }
                Effect::DropColumn { table, column } if !m.allows(WaiverKind::Destructive) => {
                    out.push(finding(
                        line,
                        format!("destructive change in `up`: DROP COLUMN `{column}` of `{table}`"),
                        "dropping loses data: add `-- Allow: destructive: <reason>` to the header once you are sure",
                    ));
                }
                _ => {}
            }
        }
    }
    let Footprint { touched, scaffolding, unknown } = footprint(&statements);
    // A merge changes nothing; a foreign migration has no `Tables affected` to compare.
    if m.is_merge() || m.origin.is_some() {
        return out;
    }
    let listed: BTreeSet<String> = m.tables_affected.iter().map(|e| e.table.to_lowercase()).collect();
    let tables_line = m.line_of_key(Key::TablesAffected);
    for table in touched.iter().filter(|t| !scaffolding.contains(*t) && !listed.contains(*t)) {
        out.push(finding(
            tables_line,
            format!("`Tables affected` does not list `{table}`, which `up` changes"),
            "add `-- - <table>: <what changes>` under `Tables affected`",
        ));
    }
    if !unknown {
        for entry in m
            .tables_affected
            .iter()
            .filter(|e| !touched.contains(&e.table.to_lowercase()) && e.table != PLACEHOLDER_TABLE)
        {
            out.push(finding(
                entry.line,
                format!("`Tables affected` lists `{}`, which `up` does not touch", entry.table),
                "remove the entry, or fix the table name",
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::migration::{Migration, parse};
    use crate::revision::RevisionId;

    #[test]
    fn the_unfilled_template_is_three_placeholders_and_a_filled_one_none() {
        let rev = RevisionId::parse("0123456789ab").unwrap();
        let text = crate::template::revision(&Migration::new(rev, "add nickname", Vec::new(), "2026-01-01T00:00:00Z"));
        let m = parse(Path::new("0123456789ab_add_nickname.sql"), text.as_bytes()).unwrap();
        let found: Vec<String> = super::placeholders(&m).iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[1].contains("the `up` section is still the template's `SELECT 1;`"), "{found:#?}");
        let filled = text
            .replace("<table>: <what changes>", "user: add column nickname")
            .replace(crate::template::PLACEHOLDER_UP, "ALTER TABLE user ADD COLUMN nickname TEXT;")
            .replace(crate::template::PLACEHOLDER_DOWN, "ALTER TABLE user DROP COLUMN nickname;");
        let m = parse(Path::new("0123456789ab_add_nickname.sql"), filled.as_bytes()).unwrap();
        assert!(super::placeholders(&m).is_empty());
    }
}
