//! The migration file format (SPEC §2): `Migration` and its parser, the only one in Retort.
//!
//! Guarantees: `parse` never panics; it returns a `Migration` only when every rule holds, and
//! otherwise every problem it found, each with its file and line and the fix.

use std::path::Path;

use crate::key::Key;
use crate::problem::{Problem, ProblemKind};
use crate::revision::RevisionId;
use crate::text::normalize_section;

/// Whether a migration runs inside a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionMode {
    /// One transaction for the migration and its history row (the default).
    PerMigration,
    /// `Transaction: none`: statements run outside any transaction.
    None,
}

impl TransactionMode {
    /// The name used in the checksum encoding and generated code.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionMode::PerMigration => "per-migration",
            TransactionMode::None => "none",
        }
    }
}

/// What a lint waiver allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaiverKind {
    /// `Allow: data-change: …`: INSERT/UPDATE/DELETE/REPLACE in `up`.
    DataChange,
    /// `Allow: destructive: …`: DROP TABLE / DROP COLUMN in `up`.
    Destructive,
    /// `Allow: pragma: …`: a `PRAGMA` that changes a connection or database setting
    /// (`foreign_keys`, `journal_mode`, `legacy_alter_table`, …).
    Pragma,
}

impl WaiverKind {
    /// The name written after `Allow:`.
    pub fn as_str(self) -> &'static str {
        match self {
            WaiverKind::DataChange => "data-change",
            WaiverKind::Destructive => "destructive",
            WaiverKind::Pragma => "pragma",
        }
    }
}

/// An `Allow:` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    /// What it allows.
    pub kind: WaiverKind,
    /// Why.
    pub reason: String,
}

/// A `Lossy:` line: what the data round trip does not require a step to keep, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lossy {
    /// What it names, as written.
    pub items: Vec<LossyItem>,
    /// Why.
    pub reason: String,
}

/// One name in a `Lossy:` line: a whole table, or one of its columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LossyItem {
    /// The table.
    pub table: String,
    /// The column; `None` for every column (and every row) of the table.
    pub column: Option<String>,
}

impl std::fmt::Display for LossyItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(column) => write!(f, "{}.{column}", self.table),
            None => f.write_str(&self.table),
        }
    }
}

/// One `- table: what` entry under `Tables affected`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableAffected {
    /// The table.
    pub table: String,
    /// What happens to it.
    pub change: String,
    /// Its line in the file.
    pub line: usize,
}

/// A section's SQL, normalised, and the file line its first line is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Normalised text (see `text::normalize_section`).
    pub sql: String,
    /// 1-based file line of the first line of `sql`.
    pub line: usize,
}

impl Section {
    /// The file line of a byte offset inside `sql`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line + self.sql[..offset.min(self.sql.len())].matches('\n').count()
    }
}

/// A parsed migration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The file, as shown to the user.
    pub file: std::path::PathBuf,
    /// Its revision.
    pub revision: RevisionId,
    /// The header's first line.
    pub message: String,
    /// `Revises`: empty for a root, two or more for a merge.
    pub parents: Vec<RevisionId>,
    /// `Depends On`.
    pub depends_on: Vec<RevisionId>,
    /// `Branch Labels`.
    pub branch_labels: Vec<String>,
    /// `Create Date`, as written.
    pub create_date: String,
    /// The `Tables affected` list.
    pub tables_affected: Vec<TableAffected>,
    /// `Transaction`.
    pub transaction: TransactionMode,
    /// `Irreversible`: the reason.
    pub irreversible: Option<String>,
    /// `Allow` lines.
    pub waivers: Vec<Waiver>,
    /// `Lossy` lines.
    pub lossy: Vec<Lossy>,
    /// The `-- migrate:up` section.
    pub up: Section,
    /// The `-- migrate:down` section; `None` exactly when irreversible.
    pub down: Option<Section>,
    /// 1-based line of each header key, for diagnostics.
    pub key_lines: Vec<(Key, usize)>,
    /// Where a migration read from a foreign layout came from (`None` for Retort's files).
    pub origin: Option<crate::layout::Origin>,
}

impl Migration {
    /// A migration with this header and nothing else yet: no `Tables affected`, empty `up` and
    /// `down`, one transaction, no waivers; its file is `<revision>_<slug of message>.sql`. The
    /// caller fills in the rest; `render` writes it.
    pub fn new(revision: RevisionId, message: &str, parents: Vec<RevisionId>, create_date: &str) -> Migration {
        let empty = || Section { sql: String::new(), line: 0 };
        Migration {
            file: std::path::PathBuf::from(file_name_of(revision, message)),
            revision,
            message: message.to_string(),
            parents,
            depends_on: Vec::new(),
            branch_labels: Vec::new(),
            create_date: create_date.to_string(),
            tables_affected: Vec::new(),
            transaction: TransactionMode::PerMigration,
            irreversible: None,
            waivers: Vec::new(),
            lossy: Vec::new(),
            up: empty(),
            down: Some(empty()),
            key_lines: Vec::new(),
            origin: None,
        }
    }

    /// Sets `up` and `down` (`None`: irreversible, whose reason the caller sets).
    pub fn with_sql(mut self, up: &str, down: Option<&str>) -> Migration {
        self.up.sql = up.to_string();
        self.down = down.map(|sql| Section { sql: sql.to_string(), line: 0 });
        self
    }

    /// Adds a `Tables affected` entry.
    pub fn affecting(mut self, table: &str, change: &str) -> Migration {
        self.tables_affected.push(TableAffected { table: table.to_string(), change: change.to_string(), line: 0 });
        self
    }

    /// The file `up` is in: the migration's own, or a foreign layout's up file.
    pub fn up_file(&self) -> &Path {
        self.origin.as_ref().map_or(&self.file, |o| &o.up)
    }

    /// The file `down` is in: the migration's own, or a foreign layout's down file.
    pub fn down_file(&self) -> &Path {
        self.origin.as_ref().and_then(|o| o.down.as_deref()).unwrap_or(&self.file)
    }

    /// True for a merge migration (two or more parents).
    pub fn is_merge(&self) -> bool {
        self.parents.len() >= 2
    }

    /// The line of header key `key`, or 1 when absent.
    pub fn line_of_key(&self, key: Key) -> usize {
        self.key_lines.iter().find(|(k, _)| *k == key).map_or(1, |&(_, line)| line)
    }

    /// True when an `Allow:` waiver of `kind` is present.
    pub fn allows(&self, kind: WaiverKind) -> bool {
        self.waivers.iter().any(|w| w.kind == kind)
    }

    /// True when a `Lossy:` line names `column` of `table`, or the whole table (names compared
    /// without regard to ASCII case, as SQLite does).
    pub fn lossy_allows(&self, table: &str, column: Option<&str>) -> bool {
        self.lossy.iter().flat_map(|l| &l.items).any(|item| {
            item.table.eq_ignore_ascii_case(table)
                && match (&item.column, column) {
                    (None, _) => true,
                    (Some(named), Some(column)) => named.eq_ignore_ascii_case(column),
                    (Some(_), None) => false,
                }
        })
    }

    /// The `<slug>` part of the file name.
    pub fn slug(&self) -> String {
        let name = self.file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        name.split_once('_').map_or(String::new(), |(_, slug)| slug.to_string())
    }
}

/// The file name of a Retort migration: `<revision>_<slug of message>.sql`.
pub fn file_name_of(revision: RevisionId, message: &str) -> String {
    format!("{revision}_{}.sql", slug_of(message))
}

/// The file-name slug of a message: lowercase ASCII words joined by `_`, at most 60
/// characters; `migration` when the message has no letters or digits.
pub fn slug_of(message: &str) -> String {
    let lower: String =
        message.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { ' ' }).collect();
    let slug: String = lower.split_whitespace().collect::<Vec<_>>().join("_").chars().take(60).collect();
    let slug = slug.trim_end_matches('_');
    if slug.is_empty() { "migration".to_string() } else { slug.to_string() }
}

/// Splits a migration file name into its revision and slug.
pub fn parse_file_name(name: &str) -> Option<(RevisionId, &str)> {
    let stem = name.strip_suffix(".sql")?;
    let (revision, slug) = stem.split_once('_')?;
    let slug_ok = !slug.is_empty() && slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    Some((RevisionId::parse(revision)?, slug)).filter(|_| slug_ok)
}

/// Parses one migration file. `display` is the path shown in diagnostics; its file name must be
/// `<revision>_<slug>.sql`.
pub fn parse(display: &Path, bytes: &[u8]) -> Result<Migration, Vec<Problem>> {
    let err = |line: usize, kind: ProblemKind| Problem::error(display, line, kind);
    let name = display.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let Some((file_revision, _)) = parse_file_name(name) else {
        return Err(vec![err(0, ProblemKind::BadFileName)]);
    };
    let text = crate::text::decode(bytes).map_err(|line| vec![err(line, ProblemKind::NotUtf8)])?;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut parser = Parser { display, problems: Vec::new(), file_revision, seen: Vec::new() };
    let header_end =
        lines.iter().position(|l| !l.trim_start().starts_with("--") || marker(l).is_some()).unwrap_or(lines.len());
    if header_end == 0 {
        // Without a header nothing below can be told apart from stray text: one problem says it.
        return Err(vec![err(1, ProblemKind::MissingHeader)]);
    }
    let header = parser.header(&lines[..header_end]);
    let (up, down) = parser.sections(&lines, header_end);
    let mut problems = parser.problems;
    let Some(header) = header else { return Err(problems) };
    for key in [Key::RevisionId, Key::Revises, Key::CreateDate] {
        if !header.has(key) {
            problems.push(err(1, ProblemKind::MissingKey(key)));
        }
    }
    let is_merge = header.parents.len() >= 2;
    if !is_merge && !header.has(Key::TablesAffected) {
        problems.push(err(1, ProblemKind::MissingKey(Key::TablesAffected)));
    }
    let up = match up {
        None => {
            problems.push(err(lines.len(), ProblemKind::MissingUp));
            None
        }
        Some(section) if !is_merge && only_comments(&section.sql) => {
            problems.push(err(section.line.saturating_sub(1).max(1), ProblemKind::EmptyUp));
            None
        }
        Some(section) => Some(section),
    };
    match (&down, &header.irreversible) {
        (None, None) => problems.push(err(lines.len(), ProblemKind::MissingDown)),
        (Some(section), Some(_)) => {
            problems.push(err(section.line.saturating_sub(1).max(1), ProblemKind::DownInIrreversible))
        }
        _ => {}
    }
    if header.transaction.is_none() {
        for section in up.iter().chain(down.iter()) {
            problems.extend(
                transaction_control(section)
                    .into_iter()
                    .map(|(line, verb)| err(line, ProblemKind::TransactionControl { verb })),
            );
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let Some(up) = up else { return Err(problems) };
    Ok(Migration {
        file: display.to_path_buf(),
        revision: file_revision,
        message: header.message,
        parents: header.parents,
        depends_on: header.depends_on,
        branch_labels: header.branch_labels,
        create_date: header.create_date,
        tables_affected: header.tables_affected,
        transaction: header.transaction.unwrap_or(TransactionMode::PerMigration),
        irreversible: header.irreversible,
        waivers: header.waivers,
        lossy: header.lossy,
        up,
        down,
        key_lines: header.key_lines,
        origin: None,
    })
}

/// The file text of `m`, which `parse` reads back as `m` (positions aside: lines are where this
/// layout puts them). `m` must hold what `parse` can return: a one-line message, values without
/// line breaks, sections normalised (`normalize_section`) and free of `-- migrate:` markers.
/// Keys come in one order: `Revision ID`, `Revises`, `Create Date`, `Depends On`,
/// `Branch Labels`, `Transaction`, `Irreversible`, `Allow`, `Lossy`, then `Tables affected` (always for a
/// migration that is not a merge, since the parser requires it).
pub fn render(m: &Migration) -> String {
    render_with_note(m, &[])
}

/// `render`, with a note after the header: lines the parser skips (the first starting with
/// `IMPORTANT:`), written as comments.
pub fn render_with_note(m: &Migration, note: &[&str]) -> String {
    let join = |revs: &[RevisionId]| revs.iter().map(RevisionId::to_string).collect::<Vec<_>>().join(", ");
    let mut header: Vec<String> = vec![m.message.clone(), String::new()];
    header.push(format!("{}: {}", Key::RevisionId, m.revision));
    header.push(format!("{}: {}", Key::Revises, join(&m.parents)));
    header.push(format!("{}: {}", Key::CreateDate, m.create_date));
    if !m.depends_on.is_empty() {
        header.push(format!("{}: {}", Key::DependsOn, join(&m.depends_on)));
    }
    if !m.branch_labels.is_empty() {
        header.push(format!("{}: {}", Key::BranchLabels, m.branch_labels.join(", ")));
    }
    if m.transaction == TransactionMode::None {
        header.push(format!("{}: none", Key::Transaction));
    }
    if let Some(reason) = &m.irreversible {
        header.push(format!("{}: {reason}", Key::Irreversible));
    }
    header.extend(m.waivers.iter().map(|w| format!("{}: {}: {}", Key::Allow, w.kind.as_str(), w.reason)));
    header.extend(m.lossy.iter().map(|l| {
        let items: Vec<String> = l.items.iter().map(LossyItem::to_string).collect();
        format!("{}: {}: {}", Key::Lossy, items.join(", "), l.reason)
    }));
    if !m.is_merge() || !m.tables_affected.is_empty() {
        header.extend([String::new(), format!("{}:", Key::TablesAffected)]);
        header.extend(m.tables_affected.iter().map(|t| format!("- {}: {}", t.table, t.change)));
    }
    if !note.is_empty() {
        header.push(String::new());
        header.extend(note.iter().map(|line| (*line).to_string()));
    }
    // Each header line as a comment, without trailing whitespace (an empty value leaves none).
    let mut text: String = header.iter().map(|line| format!("{}\n", format!("-- {line}").trim_end())).collect();
    let mut section = |marker: &str, sql: &str| {
        text.push_str(&format!("\n-- migrate:{marker}\n"));
        if !sql.is_empty() {
            text.push_str(sql);
            text.push('\n');
        }
    };
    section("up", &m.up.sql);
    if let Some(down) = &m.down {
        section("down", &down.sql);
    }
    text
}

/// A `Lossy:` value: `<table>[.<column>][, …]: <reason>`, names bare or quoted with `"` or
/// `` ` ``.
fn parse_lossy(value: &str) -> Result<Lossy, String> {
    let Some((names, reason)) = value.split_once(':') else {
        return Err(format!("`{value}` has no `: <reason>` after the names"));
    };
    let reason = reason.trim();
    if reason.is_empty() {
        return Err("the reason is missing".to_string());
    }
    let unquote = |s: &str| s.trim().trim_matches(|c| c == '"' || c == '`').to_string();
    let mut items = Vec::new();
    for name in names.split(',').map(str::trim) {
        let (table, column) = match name.split_once('.') {
            Some((table, column)) => (unquote(table), Some(unquote(column))),
            None => (unquote(name), None),
        };
        let bad = |s: &str| s.is_empty() || s.contains(char::is_whitespace);
        if bad(&table) || column.as_deref().is_some_and(bad) {
            return Err(format!("`{name}` is not a table or `table.column`"));
        }
        items.push(LossyItem { table, column });
    }
    Ok(Lossy { items, reason: reason.to_string() })
}

fn only_comments(sql: &str) -> bool {
    crate::sql::tokenize(sql).is_empty()
}

/// Statement verbs that open, end or nest a transaction.
pub const TRANSACTION_VERBS: [&str; 6] = ["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"];

/// The statements of `section` that control transactions: (file line, verb). In a migration that
/// runs in Retort's transaction they would commit or roll back part of the step on their own.
fn transaction_control(section: &Section) -> Vec<(usize, String)> {
    let mut lines = crate::sql::LineIndex::new(&section.sql);
    crate::sql::split_statements(&section.sql)
        .iter()
        .filter_map(|s| {
            let first = s.tokens.first().filter(|t| TRANSACTION_VERBS.iter().any(|v| t.is(v)))?;
            Some((section.line + lines.line_of(s.start), first.text.clone()))
        })
        .collect()
}

/// Why `label` cannot be a branch label, if it cannot: it must never read as another target
/// (`head`, `base`, `+N`, a revision id or prefix) nor break `label@head` or `A:B` ranges.
fn label_problem(label: &str) -> Option<String> {
    if label.contains(['@', ':']) || label.contains(char::is_whitespace) {
        return Some(format!("label `{label}` must not contain `@`, `:` or spaces"));
    }
    if ["head", "heads", "base"].iter().any(|w| label.eq_ignore_ascii_case(w)) {
        return Some(format!("label `{label}` is a reserved target word"));
    }
    if label.starts_with(['+', '-']) {
        return Some(format!("label `{label}` reads as a relative target (`+N`/`-N`)"));
    }
    if label.len() >= 4 && label.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(format!("label `{label}` reads as a revision id or prefix"));
    }
    None
}

/// The section name of a `-- migrate:<name>` marker line.
fn marker(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    rest.strip_prefix("migrate:").map(str::trim)
}

#[derive(Default)]
struct Header {
    message: String,
    parents: Vec<RevisionId>,
    depends_on: Vec<RevisionId>,
    branch_labels: Vec<String>,
    create_date: String,
    tables_affected: Vec<TableAffected>,
    transaction: Option<TransactionMode>,
    irreversible: Option<String>,
    waivers: Vec<Waiver>,
    lossy: Vec<Lossy>,
    key_lines: Vec<(Key, usize)>,
}

impl Header {
    fn has(&self, key: Key) -> bool {
        self.key_lines.iter().any(|(k, _)| *k == key)
    }
}

struct Parser<'a> {
    display: &'a Path,
    problems: Vec<Problem>,
    file_revision: RevisionId,
    seen: Vec<(Key, usize)>,
}

impl Parser<'_> {
    fn error(&mut self, line: usize, kind: ProblemKind) {
        self.problems.push(Problem::error(self.display, line, kind));
    }

    fn header(&mut self, lines: &[&str]) -> Option<Header> {
        if lines.is_empty() {
            self.error(1, ProblemKind::MissingHeader);
            return None;
        }
        let mut h = Header::default();
        let content = |l: &str| -> String {
            let rest = l.trim_start().strip_prefix("--").unwrap_or_default();
            rest.strip_prefix(' ').unwrap_or(rest).trim_end().to_string()
        };
        h.message = content(lines[0]).trim().to_string();
        if h.message.is_empty() {
            self.error(1, ProblemKind::MissingMessage);
        }
        let mut in_tables = false;
        let mut in_note = false;
        for (index, raw) in lines.iter().enumerate().skip(1) {
            let line_no = index + 1;
            let line = content(raw);
            let trimmed = line.trim();
            if trimmed.is_empty() {
                in_tables = false;
                in_note = false;
                continue;
            }
            if in_tables {
                if let Some(item) = trimmed.strip_prefix("- ").or_else(|| trimmed.strip_prefix('-')) {
                    let (table, change) = item.split_once(':').unwrap_or((item, ""));
                    h.tables_affected.push(TableAffected {
                        table: table.trim().trim_matches(|c| c == '"' || c == '`').to_string(),
                        change: change.trim().to_string(),
                        line: line_no,
                    });
                    continue;
                }
                in_tables = false;
            }
            if in_note || trimmed.starts_with("IMPORTANT:") {
                in_note = true;
                continue;
            }
            if let Some(key) = near_key(trimmed) {
                self.error(line_no, ProblemKind::MalformedKey { written: trimmed.to_string(), key });
                continue;
            }
            let Some((key, value)) = key_like(trimmed) else { continue };
            let Some(known) = Key::migration(key) else {
                self.error(line_no, ProblemKind::UnknownKey { key: key.to_string(), suggestion: suggest(key) });
                continue;
            };
            if known != Key::Allow && known != Key::Lossy {
                if let Some(&(_, first_line)) = self.seen.iter().find(|(k, _)| *k == known) {
                    self.error(line_no, ProblemKind::DuplicateKey { key: known, first_line });
                    continue;
                }
            }
            self.seen.push((known, line_no));
            h.key_lines.push((known, line_no));
            let value = value.trim();
            match known {
                Key::RevisionId => {
                    if RevisionId::parse(value) != Some(self.file_revision) {
                        let kind =
                            ProblemKind::RevisionMismatch { header: value.to_string(), file: self.file_revision };
                        self.error(line_no, kind);
                    }
                }
                Key::Revises => h.parents = self.revisions(line_no, Key::Revises, value),
                Key::DependsOn => h.depends_on = self.revisions(line_no, Key::DependsOn, value),
                Key::BranchLabels => {
                    for label in value.split(',').map(str::trim).filter(|l| !l.is_empty()) {
                        match label_problem(label) {
                            Some(reason) => {
                                self.error(line_no, ProblemKind::BadValue { key: Key::BranchLabels, reason })
                            }
                            None => h.branch_labels.push(label.to_string()),
                        }
                    }
                }
                Key::CreateDate => {
                    if !crate::timestamp::is_rfc3339_utc(value) {
                        let reason = format!("`{value}` is not an RFC 3339 UTC time");
                        self.error(line_no, ProblemKind::BadValue { key: Key::CreateDate, reason });
                    }
                    h.create_date = value.to_string();
                }
                Key::TablesAffected => {
                    in_tables = true;
                    if !value.is_empty() {
                        let reason = "list the tables on the following lines as `- table: what`".to_string();
                        self.error(line_no, ProblemKind::BadValue { key: Key::TablesAffected, reason });
                    }
                }
                Key::Transaction => {
                    if value == "none" {
                        h.transaction = Some(TransactionMode::None);
                    } else {
                        let reason = format!("`{value}` is not `none`");
                        self.error(line_no, ProblemKind::BadValue { key: Key::Transaction, reason });
                    }
                }
                Key::Irreversible => {
                    if value.is_empty() {
                        let reason = "the reason is missing".to_string();
                        self.error(line_no, ProblemKind::BadValue { key: Key::Irreversible, reason });
                    }
                    h.irreversible = Some(value.to_string());
                }
                Key::Allow => {
                    let parsed = value.split_once(':').and_then(|(kind, reason)| {
                        let kind = [WaiverKind::DataChange, WaiverKind::Destructive, WaiverKind::Pragma]
                            .into_iter()
                            .find(|k| k.as_str() == kind.trim())?;
                        Some(Waiver { kind, reason: reason.trim().to_string() }).filter(|w| !w.reason.is_empty())
                    });
                    match parsed {
                        Some(waiver) => h.waivers.push(waiver),
                        None => {
                            let reason = format!(
                                "`{value}` is not `data-change: <reason>`, `destructive: <reason>` or `pragma: <reason>`"
                            );
                            self.error(line_no, ProblemKind::BadValue { key: Key::Allow, reason });
                        }
                    }
                }
                Key::Lossy => match parse_lossy(value) {
                    Ok(lossy) => h.lossy.push(lossy),
                    Err(reason) => self.error(line_no, ProblemKind::BadValue { key: Key::Lossy, reason }),
                },
                // `Key::migration` never gives `Requires`, a populate-script key.
                Key::Requires => {}
            }
        }
        Some(h)
    }

    fn revisions(&mut self, line: usize, key: Key, value: &str) -> Vec<RevisionId> {
        let mut out: Vec<RevisionId> = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match RevisionId::parse(item) {
                Some(rev) if out.contains(&rev) => {
                    let reason = format!("revision {rev} is listed twice");
                    self.error(line, ProblemKind::BadValue { key, reason });
                }
                Some(rev) => out.push(rev),
                None => {
                    let reason = format!("`{item}` is not a 12-digit lowercase hex revision");
                    self.error(line, ProblemKind::BadValue { key, reason });
                }
            }
        }
        out
    }

    fn sections(&mut self, lines: &[&str], from: usize) -> (Option<Section>, Option<Section>) {
        let mut up: Option<(usize, usize)> = None; // (marker index, end index)
        let mut down: Option<(usize, usize)> = None;
        let mut current: Option<&'static str> = None;
        for (index, line) in lines.iter().enumerate().skip(from) {
            let line_no = index + 1;
            match marker(line) {
                Some("up") if up.is_none() && down.is_none() => {
                    up = Some((index, lines.len()));
                    current = Some("up");
                }
                Some("down") if up.is_some() && down.is_none() => {
                    if let Some(u) = up.as_mut() {
                        u.1 = index;
                    }
                    down = Some((index, lines.len()));
                    current = Some("down");
                }
                Some("up") => self.error(line_no, ProblemKind::MisplacedSection("up")),
                Some("down") => self.error(line_no, ProblemKind::MisplacedSection("down")),
                Some(other) => self.error(line_no, ProblemKind::UnknownSection(format!("-- migrate:{other}"))),
                None if current.is_none() && !line.trim().is_empty() => {
                    self.error(line_no, ProblemKind::TextOutsideSections);
                }
                None => {}
            }
        }
        let section = |(marker, end): (usize, usize)| {
            let (sql, skipped) = normalize_section(&lines[marker + 1..end]);
            Section { sql, line: marker + 2 + skipped }
        };
        (up.map(section), down.map(section))
    }
}

/// A line that looks like `Key: value` with one to three words, the first capitalised.
pub(crate) fn key_like(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    if !(value.is_empty() || value.starts_with(' ')) {
        return None;
    }
    let words: Vec<&str> = key.split(' ').collect();
    let shaped = (1..=3).contains(&words.len())
        && words.iter().all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()))
        && words[0].starts_with(|c: char| c.is_ascii_uppercase());
    shaped.then_some((key, value))
}

/// The known key a line spells almost right: the key up to case, with spaces around or before the
/// colon, or without the space after it (`-- Depends On:9e1b…`, `-- depends on: …`,
/// `-- Depends On : …`). `None` for a line written exactly right, or one that is no key at all.
fn near_key(line: &str) -> Option<Key> {
    let (key, value) = line.split_once(':')?;
    let words: Vec<&str> = key.split_whitespace().collect();
    let known = Key::MIGRATION.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(&words.join(" ")))?;
    let exact = key == known.as_str() && (value.is_empty() || value.starts_with(' '));
    (!exact).then_some(known)
}

fn suggest(key: &str) -> Option<Key> {
    let lower = key.to_ascii_lowercase();
    Key::MIGRATION
        .into_iter()
        .map(|k| (edit_distance(&lower, &k.as_str().to_ascii_lowercase()), k))
        .filter(|&(d, k)| d <= 3.max(k.as_str().len() / 3))
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}
