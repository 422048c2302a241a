//! `RevisionId`: the 12-lowercase-hex-digit name of a migration, parsed once and then trusted.
//!
//! Guarantees: a `RevisionId` value always holds exactly 12 characters from `0-9a-f`.

use std::fmt;

/// Number of hex digits in a revision id.
pub const REVISION_LEN: usize = 12;

/// A validated revision id such as `3f2a9c1b7d4e`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RevisionId([u8; REVISION_LEN]);

impl RevisionId {
    /// Parses `text`; `None` unless it is exactly 12 lowercase hex digits.
    pub fn parse(text: &str) -> Option<RevisionId> {
        let bytes = text.as_bytes();
        if bytes.len() != REVISION_LEN || !bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut id = [0u8; REVISION_LEN];
        id.copy_from_slice(bytes);
        Some(RevisionId(id))
    }

    /// The revision whose digits are `n` in hex, zero-padded (the low 48 bits of `n`): for
    /// generated chains.
    pub fn from_number(n: u64) -> RevisionId {
        RevisionId::parse(&format!("{:012x}", n & 0xffff_ffff_ffff)).unwrap_or_else(|| unreachable!("12 hex digits"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ascii by construction")
    }
}

impl fmt::Display for RevisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RevisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RevisionId({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_twelve_lowercase_hex_digits() {
        let cases = [
            ("3f2a9c1b7d4e", true),
            ("3F2A9C1B7D4E", false),
            ("3f2a9c1b7d4", false),
            ("3f2a9c1b7d4e0", false),
            ("3f2a9c1b7d4g", false),
            ("", false),
        ];
        for (text, ok) in cases {
            assert_eq!(RevisionId::parse(text).is_some(), ok, "{text}");
        }
    }
}
