//! Fixture helpers shared by this crate's integration tests.
#![allow(dead_code)]

use std::path::Path;

use retort_build::testing::Fixture;
use retort_build::{Migration, MigrationSet, SourceFile};

#[allow(unused_imports)]
pub use retort_build::testing::rev;

/// A valid migration fixture for `tag` revising `parents` (tags), with optional extra header
/// lines: a table `t_<tag>` created and dropped, or for a merge, empty sections.
fn fixture(tag: &str, parents: &[&str], extra: &str) -> Fixture {
    let merge = parents.len() >= 2;
    let (up, down) = if merge {
        (String::new(), String::new())
    } else {
        (format!("CREATE TABLE t_{tag} (id INTEGER PRIMARY KEY);"), format!("DROP TABLE t_{tag};"))
    };
    let table = format!("t_{tag}");
    let tables: &[(&str, &str)] = if merge { &[] } else { &[(&table, "create table")] };
    Fixture::new(tag, parents, &up, Some(&down)).message(&format!("Migration {tag}")).tables(tables).header(extra)
}

/// The text of `fixture(tag, parents, extra)`.
pub fn text(tag: &str, parents: &[&str], extra: &str) -> String {
    fixture(tag, parents, extra).text()
}

/// The source file of `text(tag, parents, extra)`.
pub fn file(tag: &str, parents: &[&str], extra: &str) -> SourceFile {
    fixture(tag, parents, extra).source(Path::new("migrations"))
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
