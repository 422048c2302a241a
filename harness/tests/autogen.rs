//! `retort::autogen`: generated migrations, proven both ways.

use retort::autogen::{Catalog, Failure, Rename, generate};

fn catalog(sql: &str) -> Catalog {
    Catalog::load(sql).unwrap_or_else(|p| panic!("line {}: {}", p.line, p.message))
}

fn pair(from: &str, to: &str, renames: &[&str]) -> retort::autogen::Generated {
    let renames: Vec<Rename> = renames.iter().map(|r| Rename::parse(r).unwrap()).collect();
    match generate(&catalog(from), &catalog(to), &renames) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn smoke() {
    let g = pair(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT '', b INT);",
        &[],
    );
    println!("UP:\n{}\nDOWN:\n{}\n{:?}", g.up, g.down, g.changes);
    let g = pair(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INT DEFAULT 3);",
        &[],
    );
    println!("UP:\n{}\nDOWN:\n{}\n{:?}", g.up, g.down, g.changes);
    let _ = Failure::Rename(String::new());
}
