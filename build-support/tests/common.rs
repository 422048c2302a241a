//! Fixture helpers shared by this crate's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use retort_build::{Migration, MigrationSet, SourceFile};

/// A 12-digit revision made from a short tag: `rev("a")` is `a00000000000`.
pub fn rev(tag: &str) -> String {
    format!("{tag:0<12}")
}

/// A valid migration file text for `tag` revising `parents` (tags), with optional extra header lines.
pub fn text(tag: &str, parents: &[&str], extra: &str) -> String {
    let parents: Vec<String> = parents.iter().map(|p| rev(p)).collect();
    let tables =
        if parents.len() >= 2 { String::new() } else { format!("-- Tables affected:\n-- - t_{tag}: create table\n") };
    let up = if parents.len() >= 2 { String::new() } else { format!("CREATE TABLE t_{tag} (id INTEGER PRIMARY KEY);") };
    let down = if parents.len() >= 2 { String::new() } else { format!("DROP TABLE t_{tag};") };
    format!(
        "-- Migration {tag}\n--\n-- Revision ID: {}\n-- Revises: {}\n-- Create Date: 2025-01-01T00:00:00Z\n{extra}--\n{tables}\n-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n",
        rev(tag),
        parents.join(", "),
    )
}

/// The source file of `text(tag, parents, extra)`.
pub fn file(tag: &str, parents: &[&str], extra: &str) -> SourceFile {
    SourceFile {
        display: PathBuf::from(format!("migrations/{}_m_{tag}.sql", rev(tag))),
        bytes: text(tag, parents, extra).into_bytes(),
    }
}

/// Parses one fixture migration.
pub fn migration(tag: &str, parents: &[&str], extra: &str) -> Migration {
    let f = file(tag, parents, extra);
    retort_build::migration::parse(&f.display, &f.bytes).expect("fixture parses")
}

/// A set of `(tag, parents)` migrations.
pub fn set(spec: &[(&str, &[&str])]) -> MigrationSet {
    let files: Vec<SourceFile> = spec.iter().map(|(t, p)| file(t, p, "")).collect();
    MigrationSet::from_files(&files).expect("fixture set is valid")
}
