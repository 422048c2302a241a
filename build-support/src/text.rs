//! Text normalisation: the one way Retort canonicalises migration text before checksumming it.
//!
//! Guarantees: `normalize_file` only drops a leading BOM and turns CRLF and lone CR into LF, so
//! line numbers are unchanged; `normalize_section` additionally drops trailing whitespace at line
//! ends and blank lines at the section's start and end.

/// Drops a leading BOM and turns CRLF and CR line ends into LF.
pub fn normalize_file(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// `bytes` as UTF-8, `normalize_file`d; or the 1-based line of the first byte that is not UTF-8.
pub fn decode(bytes: &[u8]) -> Result<String, usize> {
    std::str::from_utf8(bytes)
        .map(normalize_file)
        .map_err(|e| 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count())
}

/// Canonical section text: trailing whitespace dropped from every line, blank lines dropped at
/// both ends. Returns the text and how many leading lines were dropped.
pub fn normalize_section(lines: &[&str]) -> (String, usize) {
    let trimmed: Vec<&str> = lines.iter().map(|l| l.trim_end()).collect();
    let first = trimmed.iter().position(|l| !l.is_empty()).unwrap_or(trimmed.len());
    let last = trimmed.iter().rposition(|l| !l.is_empty()).map_or(first, |i| i + 1);
    (trimmed[first..last].join("\n"), first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_normalisation_keeps_line_count() {
        assert_eq!(normalize_file("\u{feff}a\r\nb\rc\n"), "a\nb\nc\n");
    }

    #[test]
    fn section_normalisation_trims_ends_only() {
        let (text, skipped) = normalize_section(&["", "  ", "a  ", "", "b\t", "", ""]);
        assert_eq!(text, "a\n\nb");
        assert_eq!(skipped, 2);
        assert_eq!(normalize_section(&["", ""]), (String::new(), 2));
    }
}
