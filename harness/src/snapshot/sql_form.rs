//! The two forms of SQL text in a snapshot: as written (shown to a reviewer: the author's
//! spelling, whitespace and comments collapsed to one space) and canonical (compared: bare words
//! and quoted identifiers upper-cased without quotes, literals kept, one space between tokens).
//! Also the token helpers that take a `CREATE` statement apart.

use retort_build::sql::{Token, TokenKind, tokenize};

use super::Line;

/// Normalises SQL text to its canonical form: comments and whitespace dropped, bare words and
/// quoted identifiers upper-cased without quotes, literals kept, one space between tokens.
pub fn normalize_sql(sql: &str) -> String {
    canonical(&tokenize(sql))
}

/// A line `<prefix> <sql>` for `tokens` of `src`: shown as written, compared canonically.
pub(crate) fn line(prefix: &str, src: &str, tokens: &[Token]) -> Line {
    Line::with_sql(format!("{prefix} {}", as_written(src, tokens)), format!("{prefix} {}", canonical(tokens)))
}

/// Tokens joined by one space, except that the characters of one operator written together
/// (`<>`, `||`, `>=`) stay glued; identifiers upper-cased and unquoted.
pub(crate) fn canonical(tokens: &[Token]) -> String {
    let operator = |t: &Token| t.kind == TokenKind::Punct && !matches!(t.text.as_str(), "(" | ")" | "," | ";");
    let mut out = String::new();
    let mut previous: Option<&Token> = None;
    for t in tokens {
        let glued = previous.is_some_and(|p| operator(p) && operator(t) && p.end == t.start);
        if previous.is_some() && !glued {
            out.push(' ');
        }
        match t.kind {
            TokenKind::Ident => out.push_str(&t.text.to_uppercase()),
            _ => out.push_str(&t.text),
        }
        previous = Some(t);
    }
    out
}

/// `tokens` of `src` as written: each token's own text, one space wherever the source had
/// whitespace or a comment between two tokens.
pub(crate) fn as_written(src: &str, tokens: &[Token]) -> String {
    spaced(tokens, |t| src.get(t.start..t.end).unwrap_or(&t.text))
}

/// `tokens` of `src` as written, with bare words upper-cased: a type name or collation, which
/// SQLite reads without regard to case.
pub(crate) fn keywords_upper(src: &str, tokens: &[Token]) -> String {
    spaced(tokens, |t| match t.kind {
        TokenKind::Word => &t.text,
        _ => src.get(t.start..t.end).unwrap_or(&t.text),
    })
}

/// `text` of each token, one space where the source had a gap between two tokens.
fn spaced<'t>(tokens: &'t [Token], text: impl Fn(&'t Token) -> &'t str) -> String {
    let mut out = String::new();
    let mut previous_end: Option<usize> = None;
    for t in tokens {
        if previous_end.is_some_and(|end| end < t.start) {
            out.push(' ');
        }
        out.push_str(text(t));
        previous_end = Some(t.end);
    }
    out
}

/// The identifier `t` names, lower-cased.
pub(crate) fn lower_ident(t: &Token) -> String {
    t.name().unwrap_or(&t.text).to_lowercase()
}

/// The top-level comma-separated pieces inside the outermost parentheses of `tokens` (a
/// `CREATE TABLE`).
pub(crate) fn definition_pieces(tokens: &[Token]) -> Vec<&[Token]> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        let p = t.kind == TokenKind::Punct;
        if p && t.text == "(" {
            depth += 1;
            if depth == 1 {
                start = i + 1;
            }
        } else if p && t.text == ")" {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                pieces.push(&tokens[start..i]);
                break;
            }
        } else if p && t.text == "," && depth == 1 {
            pieces.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    pieces
}

/// The parenthesised group starting at `tokens[open]` (which is `(`), without the parentheses.
pub(crate) fn group(tokens: &[Token], open: usize) -> &[Token] {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.kind == TokenKind::Punct && t.text == "(" {
            depth += 1;
        } else if t.kind == TokenKind::Punct && t.text == ")" {
            depth -= 1;
            if depth == 0 {
                return &tokens[open + 1..i];
            }
        }
    }
    &tokens[(open + 1).min(tokens.len())..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let src = "lower( \"Email\" ) /* why */ <>  'A b'||x";
        let tokens = tokenize(src);
        assert_eq!(as_written(src, &tokens), "lower( \"Email\" ) <> 'A b'||x");
        assert_eq!(canonical(&tokens), "LOWER ( EMAIL ) <> 'A b' || X");
        assert_eq!(keywords_upper("varchar( 20 )", &tokenize("varchar( 20 )")), "VARCHAR( 20 )");
        let same = line("check", "A<>'x'", &tokenize("A<>'x'"));
        assert_eq!(same, line("check", "a <> 'x'", &tokenize("a <> 'x'")), "case and spacing do not count");
        assert_ne!(same, line("check", "a <> 'X'", &tokenize("a <> 'X'")), "literals do");
        assert_eq!(same.as_str(), "check A<>'x'");
    }

    #[test]
    fn pieces() {
        let tokens = tokenize("CREATE TABLE t (a INT, b TEXT CHECK (b IN ('x', 'y')), PRIMARY KEY (a)) STRICT");
        let pieces: Vec<String> = definition_pieces(&tokens).into_iter().map(canonical).collect();
        assert_eq!(pieces, ["A INT", "B TEXT CHECK ( B IN ( 'x' , 'y' ) )", "PRIMARY KEY ( A )"]);
    }
}
