//! A small SQLite lexer and statement splitter: enough to find where each statement of a section
//! starts (for `file:line` in errors) and which verbs and tables it names (for the static lint).
//! It also shapes the schema snapshot's text: `retort`'s snapshot normalises the SQL of views,
//! triggers, defaults and `CHECK` constraints through these tokens, so a change here can change
//! every reviewed snapshot.
//!
//! Guarantees: it never fails and never panics: any input splits into statements; quotes,
//! comments and `CREATE TRIGGER … BEGIN … END` bodies never split a statement.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word: keyword or unquoted identifier; `text` is upper-cased.
    Word,
    /// A quoted identifier (`"x"`, `` `x` ``, `[x]`); `text` is the unquoted name.
    Ident,
    /// A string literal; `text` is its raw source.
    Str,
    /// A number or any other literal-ish run.
    Number,
    /// One punctuation character.
    Punct,
}

/// One token and its byte offset in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Its kind.
    pub kind: TokenKind,
    /// See `TokenKind`.
    pub text: String,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
}

impl Token {
    /// True when the token is the bare keyword `word` (upper case).
    pub fn is(&self, word: &str) -> bool {
        self.kind == TokenKind::Word && self.text == word
    }

    /// The identifier this token names, if it can name one (bare or quoted).
    pub fn name(&self) -> Option<&str> {
        matches!(self.kind, TokenKind::Word | TokenKind::Ident | TokenKind::Str)
            .then(|| if self.kind == TokenKind::Str { self.text.trim_matches('\'') } else { self.text.as_str() })
    }
}

/// `name` as a quoted SQLite identifier: `"name"`, with any `"` doubled. Safe for any text.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Splits `sql` into tokens, skipping whitespace and comments.
pub fn tokenize(sql: &str) -> Vec<Token> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i = sql[i + 2..].find("*/").map_or(bytes.len(), |p| i + 2 + p + 2);
        } else if matches!(c, b'\'' | b'"' | b'`' | b'[') {
            let close = if c == b'[' { b']' } else { c };
            i += 1;
            let mut text = String::new();
            loop {
                match bytes.get(i) {
                    None => break,
                    Some(&b) if b == close => {
                        if close != b']' && bytes.get(i + 1) == Some(&close) {
                            text.push(close as char);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(_) => {
                        let ch = sql[i..].chars().next().unwrap_or('\u{fffd}');
                        text.push(ch);
                        i += ch.len_utf8().max(1);
                    }
                }
            }
            let (kind, text) =
                if c == b'\'' { (TokenKind::Str, sql[start..i].to_string()) } else { (TokenKind::Ident, text) };
            tokens.push(Token { kind, text, start, end: i });
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            tokens.push(Token { kind: TokenKind::Word, text: sql[start..i].to_ascii_uppercase(), start, end: i });
        } else if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            tokens.push(Token { kind: TokenKind::Number, text: sql[start..i].to_string(), start, end: i });
        } else {
            i += 1;
            while i < bytes.len() && !sql.is_char_boundary(i) {
                i += 1;
            }
            tokens.push(Token { kind: TokenKind::Punct, text: sql[start..i].to_string(), start, end: i });
        }
    }
    tokens
}

/// Byte offset of the first token at or after `from`: whitespace and comments skipped. Looks no
/// further than the first token, so scanning a section statement by statement stays linear.
pub fn skip_trivia(sql: &str, from: usize) -> usize {
    let bytes = sql.as_bytes();
    let mut i = from.min(bytes.len());
    loop {
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(c), _) if c.is_ascii_whitespace() => i += 1,
            (Some(b'-'), Some(b'-')) => i = sql[i..].find('\n').map_or(bytes.len(), |p| i + p),
            (Some(b'/'), Some(b'*')) => i = sql[i + 2..].find("*/").map_or(bytes.len(), |p| i + 2 + p + 2),
            _ => return i,
        }
    }
}

/// 0-based line numbers of byte offsets in one text, for offsets asked in increasing order: each
/// query counts only the newlines since the previous one, so numbering every statement of a
/// section costs one pass over it. An offset before the previous one is counted from the start.
#[derive(Clone, Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl<'a> LineIndex<'a> {
    /// An index over `text`.
    pub fn new(text: &'a str) -> LineIndex<'a> {
        LineIndex { text, offset: 0, line: 0 }
    }

    /// The 0-based line of byte `offset` (clamped to the text).
    pub fn line_of(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 0;
        }
        self.line += self.text.as_bytes()[self.offset..offset].iter().filter(|&&b| b == b'\n').count();
        self.offset = offset;
        self.line
    }
}

/// True when `sql` ends inside a `/* …` comment that is never closed: anything appended after it
/// would be swallowed by the comment.
pub fn ends_in_open_comment(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |p| i + p);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match sql[i + 2..].find("*/") {
                Some(p) => i += 2 + p + 2,
                None => return true,
            },
            quote @ (b'\'' | b'"' | b'`' | b'[') => {
                let close = if quote == b'[' { b']' } else { quote };
                i = bytes[i + 1..].iter().position(|&b| b == close).map_or(bytes.len(), |p| i + 1 + p + 1);
            }
            _ => i += 1,
        }
    }
    false
}

/// One statement of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text, from its first token up to and including its terminating `;` if any.
    pub text: String,
    /// Byte offset of the first token in the section text.
    pub start: usize,
    /// Its tokens, without the terminating `;`.
    pub tokens: Vec<Token>,
}

impl Statement {
    /// 0-based line of the statement's start within `source` (the text it was split from).
    pub fn line_in(&self, source: &str) -> usize {
        source[..self.start].matches('\n').count()
    }
}

/// Splits `sql` into statements at top-level semicolons.
pub fn split_statements(sql: &str) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut in_body = false;
    let mut case_depth = 0usize;
    let finish = |current: &mut Vec<Token>, end: usize, statements: &mut Vec<Statement>| {
        if let Some(first) = current.first() {
            let start = first.start;
            statements.push(Statement { text: sql[start..end].to_string(), start, tokens: std::mem::take(current) });
        }
    };
    for token in tokenize(sql) {
        if token.kind == TokenKind::Punct && token.text == ";" && !in_body {
            finish(&mut current, token.start + 1, &mut statements);
            case_depth = 0;
            continue;
        }
        if is_trigger(&current) {
            if token.is("BEGIN") && !in_body {
                in_body = true;
            } else if in_body && token.is("CASE") {
                case_depth += 1;
            } else if in_body && token.is("END") {
                if case_depth > 0 {
                    case_depth -= 1;
                } else {
                    in_body = false;
                }
            }
        }
        current.push(token);
    }
    let end = current.last().map_or(0, |t| t.end);
    finish(&mut current, end, &mut statements);
    statements
}

fn is_trigger(tokens: &[Token]) -> bool {
    let mut words = tokens.iter().take(3);
    matches!(words.next(), Some(t) if t.is("CREATE"))
        && match words.next() {
            Some(t) if t.is("TRIGGER") => true,
            Some(t) if t.is("TEMP") || t.is("TEMPORARY") => matches!(words.next(), Some(t) if t.is("TRIGGER")),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sql: &str, expected: &[&str]) {
        let got: Vec<String> = split_statements(sql).into_iter().map(|s| s.text).collect();
        assert_eq!(got, expected, "splitting {sql:?}");
    }

    #[test]
    fn splits_at_top_level_semicolons() {
        check("CREATE TABLE a(x);\nCREATE TABLE b(y);", &["CREATE TABLE a(x);", "CREATE TABLE b(y);"]);
        check(
            "INSERT INTO t VALUES ('a;b', \"c;d\"); -- x;y\nSELECT 1",
            &["INSERT INTO t VALUES ('a;b', \"c;d\");", "SELECT 1"],
        );
        check("/* a; */ SELECT 1; ;", &["SELECT 1;"]);
        check("SELECT 'it''s;';", &["SELECT 'it''s;';"]);
        check("", &[]);
        check("-- only a comment", &[]);
    }

    #[test]
    fn trigger_bodies_stay_whole() {
        let trigger = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET x = CASE WHEN 1 THEN 2 END;\n  DELETE FROM c;\nEND;";
        check(&format!("{trigger}\nDROP TABLE z;"), &[trigger, "DROP TABLE z;"]);
        check("CREATE TEMP TRIGGER t BEGIN SELECT 1; END", &["CREATE TEMP TRIGGER t BEGIN SELECT 1; END"]);
    }

    #[test]
    fn line_index_counts_forward_and_restarts_backwards() {
        let text = "a\nb\n\nc";
        let mut index = LineIndex::new(text);
        assert_eq!([0, 2, 4, 6, 99].map(|o| index.line_of(o)), [0, 1, 2, 3, 3]);
        assert_eq!(index.line_of(2), 1);
    }

    #[test]
    fn trivia_is_skipped_up_to_the_first_token() {
        let sql = "  -- c;\n /* d; */ SELECT 1; -- e";
        assert_eq!(&sql[skip_trivia(sql, 0)..], "SELECT 1; -- e");
        assert_eq!(skip_trivia(sql, sql.len() - 4), sql.len());
        assert_eq!(skip_trivia("/* open", 0), 7);
    }

    #[test]
    fn open_comments_are_found() {
        assert!(ends_in_open_comment("SELECT 1 /* never closed"));
        assert!(!ends_in_open_comment("SELECT 1 /* closed */"));
        assert!(!ends_in_open_comment("SELECT 1 -- line"));
        assert!(!ends_in_open_comment("SELECT '/*'"));
    }

    #[test]
    fn statement_lines_are_counted_from_the_source() {
        let sql = "SELECT 1;\n\nSELECT\n 2;";
        let lines: Vec<usize> = split_statements(sql).iter().map(|s| s.line_in(sql)).collect();
        assert_eq!(lines, [0, 2]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_every_token(sql in "[a-zA-Z0-9 ;'\"`\\[\\]()\n*/-]{0,80}") {
            let statements = split_statements(&sql);
            let total: usize = statements.iter().map(|s| s.tokens.len()).sum();
            let semicolons_outside = tokenize(&sql).iter().filter(|t| t.kind == TokenKind::Punct && t.text == ";").count();
            proptest::prop_assert!(total + semicolons_outside >= tokenize(&sql).len());
        }
    }
}
