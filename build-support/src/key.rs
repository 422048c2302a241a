//! The header keys of migration files and populate scripts, as a type: problems carry a `Key`,
//! so the help for a key is one exhaustive match, and a key's spelling lives here only.

use std::fmt;

/// A header key. Written in files exactly as `as_str` spells it, followed by `: `.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// `Revision ID`: the file name's revision, repeated.
    RevisionId,
    /// `Revises`: the parent revisions (two or more for a merge, none for a root).
    Revises,
    /// `Create Date`: an RFC 3339 UTC time.
    CreateDate,
    /// `Depends On`: revisions that must be applied first without being parents.
    DependsOn,
    /// `Branch Labels`: names that target the branch.
    BranchLabels,
    /// `Tables affected`: the list of tables the migration changes.
    TablesAffected,
    /// `Transaction`: `none` for a migration that runs outside a transaction.
    Transaction,
    /// `Irreversible`: why the migration has no `down`.
    Irreversible,
    /// `Allow`: a waiver of one lint rule, with its reason.
    Allow,
    /// `Lossy`: tables or columns whose rows a step may not carry through, with the reason.
    Lossy,
    /// `Requires` (populate scripts): the revision whose schema the script needs.
    Requires,
}

impl Key {
    /// The keys of a migration header, in the order `migration::render` writes them (`Tables
    /// affected` aside, which it writes last).
    pub const MIGRATION: [Key; 10] = [
        Key::RevisionId,
        Key::Revises,
        Key::CreateDate,
        Key::DependsOn,
        Key::BranchLabels,
        Key::TablesAffected,
        Key::Transaction,
        Key::Irreversible,
        Key::Allow,
        Key::Lossy,
    ];

    /// The key as written in a file.
    pub fn as_str(self) -> &'static str {
        match self {
            Key::RevisionId => "Revision ID",
            Key::Revises => "Revises",
            Key::CreateDate => "Create Date",
            Key::DependsOn => "Depends On",
            Key::BranchLabels => "Branch Labels",
            Key::TablesAffected => "Tables affected",
            Key::Transaction => "Transaction",
            Key::Irreversible => "Irreversible",
            Key::Allow => "Allow",
            Key::Lossy => "Lossy",
            Key::Requires => "Requires",
        }
    }

    /// The migration key spelled exactly `written`.
    pub fn migration(written: &str) -> Option<Key> {
        Key::MIGRATION.into_iter().find(|k| k.as_str() == written)
    }

    /// How to write a good value for this key.
    pub fn value_help(self) -> &'static str {
        match self {
            Key::CreateDate => "write an RFC 3339 UTC time such as `2025-10-21T10:30:00Z`",
            Key::Transaction => "the only value is `none`; remove the key for one transaction per migration",
            Key::Allow => {
                "write `Allow: data-change: <reason>`, `Allow: destructive: <reason>` or `Allow: pragma: <reason>`"
            }
            Key::BranchLabels => {
                "a label is a name such as `billing`: not `head`, `heads` or `base`, not `+N`/`-N`, not 4 or more hex digits alone, without `@`, `:` or spaces"
            }
            Key::Irreversible => "give the reason the migration cannot be undone",
            Key::Lossy => {
                "write `Lossy: <table>.<column>, <table>: <reason>`: the columns (or whole tables) whose values the up or the down does not keep"
            }
            Key::TablesAffected => {
                "list the tables on the lines below the key, one `-- - <table>: <what changes>` each"
            }
            Key::RevisionId => "write the revision of the file name",
            Key::Revises | Key::DependsOn | Key::Requires => {
                "revisions are 12 lowercase hex digits, separated by commas"
            }
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_key_reads_back() {
        for key in Key::MIGRATION {
            assert_eq!(Key::migration(key.as_str()), Some(key));
        }
        assert_eq!(Key::migration("Requires"), None, "populate scripts only");
        assert_eq!(Key::migration("revises"), None, "exact spelling only");
    }
}
