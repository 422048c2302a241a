//! The migration checksum (SPEC §3). **Exactly one function computes a migration checksum**:
//! `checksum`; the build script, the lock file, the migrator and the CLI all call it.
//!
//! Encoding, version 1: the bytes `retort-checksum-v1`, then for each field in this order its name,
//! a NUL, its length as 8 little-endian bytes, and its UTF-8 bytes: `revision`; `parents` and
//! `depends-on` (sorted, comma-joined); `transaction` (`per-migration` or `none`); `up`; and
//! either `down` or, for an irreversible migration, `irreversible` with an empty value.
//! Section texts are already normalised by the parser. Changing any of this is a lock-format
//! version bump.

use sha2::{Digest, Sha256};

use crate::migration::Migration;
use crate::revision::RevisionId;

/// `sha256:` + lowercase hex over the canonical encoding of what can reach a database.
pub fn checksum(migration: &Migration) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"retort-checksum-v1");
    let mut field = |name: &str, value: &str| {
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value.as_bytes());
    };
    let sorted = |revs: &[RevisionId]| {
        let mut revs: Vec<&str> = revs.iter().map(RevisionId::as_str).collect();
        revs.sort_unstable();
        revs.join(",")
    };
    field("revision", migration.revision.as_str());
    field("parents", &sorted(&migration.parents));
    field("depends-on", &sorted(&migration.depends_on));
    field("transaction", migration.transaction.as_str());
    field("up", &migration.up.sql);
    match &migration.down {
        Some(down) => field("down", &down.sql),
        None => field("irreversible", ""),
    }
    format!("sha256:{}", hex(&hasher.finalize()))
}

/// `sha256:` + lowercase hex of SHA-256 over `bytes` (used for the lock's `total`).
pub fn sha256_text(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
