//! Fixture helpers for the `retort` integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use retort_build::{MigrationSet, RevisionId, SourceFile};

/// The 12-digit revision for a short tag: `rev("a")` is `a00000000000`.
pub fn rev(tag: &str) -> String {
    format!("{tag:0<12}")
}

/// The `RevisionId` of a tag.
pub fn id(tag: &str) -> RevisionId {
    RevisionId::parse(&rev(tag)).unwrap()
}

/// A migration fixture.
pub struct M<'a> {
    pub tag: &'a str,
    pub parents: &'a [&'a str],
    pub up: &'a str,
    pub down: Option<&'a str>,
    pub extra: &'a str,
}

/// `M` with just the essentials.
pub fn m<'a>(tag: &'a str, parents: &'a [&'a str], up: &'a str, down: &'a str) -> M<'a> {
    M { tag, parents, up, down: Some(down), extra: "" }
}

impl M<'_> {
    pub fn text(&self) -> String {
        let parents: Vec<String> = self.parents.iter().map(|p| rev(p)).collect();
        let irreversible = if self.down.is_none() { "-- Irreversible: fixture\n" } else { "" };
        let mut text = format!(
            "-- Fixture {}\n--\n-- Revision ID: {}\n-- Revises: {}\n-- Create Date: 2025-01-01T00:00:00Z\n{irreversible}{}--\n-- Tables affected:\n-- - t: fixture\n\n-- migrate:up\n{}\n",
            self.tag,
            rev(self.tag),
            parents.join(", "),
            self.extra,
            self.up
        );
        if let Some(down) = self.down {
            text.push_str(&format!("\n-- migrate:down\n{down}\n"));
        }
        text
    }

    pub fn file_name(&self) -> String {
        format!("{}_fixture_{}.sql", rev(self.tag), self.tag)
    }
}

/// The set of `migrations`.
pub fn set(migrations: &[M]) -> MigrationSet {
    let files: Vec<SourceFile> = migrations
        .iter()
        .map(|m| SourceFile {
            display: PathBuf::from(format!("migrations/{}", m.file_name())),
            bytes: m.text().into_bytes(),
        })
        .collect();
    MigrationSet::from_files(&files).unwrap_or_else(|e| panic!("fixture set is invalid: {e}"))
}

/// The example application's migrations.
pub fn examples() -> MigrationSet {
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    retort_build::load(&ws.join("migrations"), ws, false).into_set().expect("the examples are valid")
}
