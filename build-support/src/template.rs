//! The files `revision` and `merge` start a migration from, written through
//! `migration::render`, with the placeholders the lint refuses until they are filled in.

use crate::migration::{Migration, render_with_note};

/// The table of a new migration's `Tables affected` entry until its author names one; the lint
/// refuses it.
pub const PLACEHOLDER_TABLE: &str = "<table>";
/// The change of that entry, refused the same way (see `PLACEHOLDER_TABLE`).
pub const PLACEHOLDER_CHANGE: &str = "<what changes>";

/// The reason of an `Allow: destructive:` or `Lossy:` line `revision --autogenerate` writes for
/// a drop: only the author can say why losing it is right, so the lint refuses it until then.
pub const PLACEHOLDER_REASON: &str = "<why losing this is intended>";

/// The `up` section of a new migration until its author writes one.
pub const PLACEHOLDER_UP: &str =
    "-- Write the schema change here, e.g. ALTER TABLE \"user\" ADD COLUMN nickname TEXT;\nSELECT 1;";
/// The `down` section of a new migration until its author writes one.
pub const PLACEHOLDER_DOWN: &str =
    "-- Undo exactly what `up` did, e.g. ALTER TABLE \"user\" DROP COLUMN nickname;\nSELECT 1;";

/// The text of a new schema migration with `header`'s header (`Migration::new`, plus any
/// `Depends On` and labels): placeholders for `Tables affected`, the schema-only note, and
/// `up`/`down` sections that say what goes in them and run as they are.
pub fn revision(header: &Migration) -> String {
    let m = header
        .clone()
        .affecting(PLACEHOLDER_TABLE, PLACEHOLDER_CHANGE)
        .with_sql(PLACEHOLDER_UP, Some(PLACEHOLDER_DOWN));
    render_with_note(
        &m,
        &[
            "IMPORTANT: This migration only changes the schema.",
            "Data goes in an idempotent script in migrations/populate/.",
        ],
    )
}

/// The text of a merge migration with `header`'s header, joining its parents: empty sections.
pub fn merge(header: &Migration) -> String {
    render_with_note(
        &header.clone().with_sql("", Some("")),
        &["IMPORTANT: A merge migration joins heads; it changes nothing."],
    )
}
