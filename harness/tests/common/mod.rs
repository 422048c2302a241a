//! Fixture helpers for the `retort` integration tests.
#![allow(dead_code)]

use retort_build::MigrationSet;
use retort_build::testing::Fixture;

#[allow(unused_imports)]
pub use retort_build::testing::{id, rev};

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
    fn fixture(&self) -> Fixture {
        Fixture::new(self.tag, self.parents, self.up, self.down).header(self.extra)
    }

    pub fn text(&self) -> String {
        self.fixture().text()
    }

    pub fn file_name(&self) -> String {
        self.fixture().file_name()
    }
}

/// The set of `migrations`.
pub fn set(migrations: &[M]) -> MigrationSet {
    retort_build::testing::set(&migrations.iter().map(M::fixture).collect::<Vec<_>>())
}

/// The example application's migrations.
pub fn examples() -> MigrationSet {
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    retort_build::load(&ws.join("migrations"), ws, retort_build::LockPolicy::Lenient)
        .into_set()
        .expect("the examples are valid")
}
