//! The checksum contract of SPEC §3: a golden value pins the encoding; documentation edits and
//! line-ending changes keep it; anything that can reach a database changes it.

mod common;

use std::path::Path;

use retort_build::{checksum, migration::parse};

const NAME: &str = "migrations/9b1c0e2f4a77_add_signature_image.sql";

fn base() -> String {
    "-- Add signature image to user\n--\n-- Revision ID: 9b1c0e2f4a77\n-- Revises: 3f2a9c1b7d4e\n\
     -- Create Date: 2025-10-21T10:30:00Z\n--\n-- Tables affected:\n-- - user: add column signature_image\n\
     --\n-- IMPORTANT: schema only.\n\n-- migrate:up\nALTER TABLE \"user\" ADD COLUMN signature_image TEXT;\n\n\
     -- migrate:down\nALTER TABLE \"user\" DROP COLUMN signature_image;\n"
        .to_string()
}

fn sum(text: &str) -> String {
    checksum(&parse(Path::new(NAME), text.as_bytes()).unwrap_or_else(|e| panic!("{e:#?}\n{text}")))
}

/// The value was computed independently (a few lines of Python over the encoding documented in
/// `checksum.rs`). Changing it means the encoding changed: that is a lock-format version bump.
#[test]
fn golden_value() {
    assert_eq!(sum(&base()), "sha256:06d03814b431b62ea0b557abf97a021f66d3f06ca9b24ff539ff430d03189175");
}

#[test]
fn documentation_and_formatting_do_not_change_it() {
    let base = base();
    let same = [
        base.replace('\n', "\r\n"),
        base.replace('\n', "\r"),
        format!("\u{feff}{base}"),
        base.replace("TEXT;\n", "TEXT;   \t\n"),
        base.replace("-- migrate:up\n", "-- migrate:up\n\n\n"),
        base.replace("signature_image;\n", "signature_image;\n\n\n\n"),
        base.replace("Add signature image to user", "Add a signature image to users"),
        base.replace("2025-10-21T10:30:00Z", "2026-01-01T00:00:00Z"),
        base.replace("- user: add column signature_image", "- user: adds signature_image (nullable)"),
        base.replace("IMPORTANT: schema only.", "IMPORTANT: schema only; see ticket 42."),
    ];
    for text in same {
        assert_eq!(sum(&text), sum(&base), "{text:?}");
    }
}

#[test]
fn database_relevant_edits_change_it() {
    let base = base();
    let different = [
        base.replace("signature_image TEXT", "signature_image BLOB"),
        base.replace("DROP COLUMN signature_image", "DROP COLUMN  signature_image"),
        base.replace("ALTER TABLE \"user\" ADD", "\nALTER TABLE \"user\"\nADD"),
        base.replace("-- Revises: 3f2a9c1b7d4e", "-- Revises: 3f2a9c1b7d4f"),
        base.replace("-- Create Date:", "-- Depends On: 111111111111\n-- Create Date:"),
        base.replace("-- Create Date:", "-- Transaction: none\n-- Create Date:"),
    ];
    for text in different {
        assert_ne!(sum(&text), sum(&base), "{text:?}");
    }
    let irreversible = base.replace("-- Create Date:", "-- Irreversible: gone\n-- Create Date:");
    let irreversible = &irreversible[..irreversible.find("-- migrate:down").unwrap()];
    assert_ne!(sum(irreversible), sum(&base));
}

#[test]
fn parent_order_does_not_matter() {
    let a = base().replace("3f2a9c1b7d4e", "111111111111, 222222222222");
    let b = base().replace("3f2a9c1b7d4e", "222222222222, 111111111111");
    assert_eq!(sum(&a), sum(&b));
}
