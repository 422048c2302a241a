//! Synthetic migration chains for benchmarks and stress tests: realistic schema work (tables with
//! foreign keys, ADD/RENAME/DROP COLUMN, indexes, views, triggers, SQLite table rebuilds, a few
//! waived seed rows), each with a correct down, plus branches joined by merges (`Shape`).
//!
//! Guarantees: deterministic for a seed and shape; every generated directory parses and locks,
//! and round-trips unless the shape asks for wrong downs (then exactly those revisions fail
//! "down restores the schema", and running the SQL naively still works).

use std::path::Path;

use retort_build::migration;
use retort_build::{Lock, Migration, MigrationSet, RevisionId, SourceFile, Waiver, WaiverKind};

/// A tiny deterministic generator (xorshift64*); quality is irrelevant here, repeatability is not.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    def: String,
    /// Used by an index: cannot be dropped.
    indexed: bool,
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<Column>,
    indexes: Vec<(String, String)>,
    views: usize,
    triggers: usize,
    referenced: usize,
    checked: bool,
}

impl Table {
    fn create_sql(&self, name: &str, checked: bool) -> String {
        let mut defs: Vec<String> = self.columns.iter().map(|c| format!("    {} {}", c.name, c.def)).collect();
        if checked {
            defs.push("    CHECK (length(name) < 1000)".to_string());
        }
        format!("CREATE TABLE {name} (\n{}\n);", defs.join(",\n"))
    }

    fn index_sql(&self) -> String {
        self.indexes.iter().map(|(i, c)| format!("\nCREATE INDEX {i} ON {} ({c});", self.name)).collect()
    }
}

/// One generated migration.
#[derive(Debug, Clone)]
struct Generated {
    message: String,
    table: String,
    change: String,
    up: String,
    down: String,
    allow: Vec<(WaiverKind, &'static str)>,
    /// A column the step does not keep the values of (`Lossy:`).
    lossy: Option<(String, String)>,
}

/// The shape of a generated graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// A fork into two branches every this many migrations (0: never).
    pub fork_every: usize,
    /// Migrations per branch (the first creates the branch's own table).
    pub branch_len: usize,
    /// Every this many migrations, a down that leaves a table behind (0: none).
    pub wrong_down_every: usize,
}

impl Shape {
    /// A mostly linear chain with a fork of two one-migration branches every 40.
    pub const DEFAULT: Shape = Shape { fork_every: 40, branch_len: 1, wrong_down_every: 0 };
    /// Several branch points and merges: a fork of two four-migration branches every 12.
    pub const BRANCHED: Shape = Shape { fork_every: 12, branch_len: 4, wrong_down_every: 0 };
    /// The default chain with a third of the downs wrong.
    pub const WRONG_DOWNS: Shape = Shape { wrong_down_every: 3, ..Shape::DEFAULT };
}

/// Generates `n` migrations (files named `<revision>_<slug>.sql`) from `seed`, shaped as
/// `Shape::DEFAULT`.
pub fn chain(n: usize, seed: u64) -> Vec<(String, String)> {
    shaped(n, seed, Shape::DEFAULT)
}

/// Generates `n` migrations from `seed` in the given shape.
pub fn shaped(n: usize, seed: u64, shape: Shape) -> Vec<(String, String)> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut tables: Vec<Table> = Vec::new();
    let mut files = Vec::new();
    let mut heads: Vec<RevisionId> = Vec::new();
    let mut counter = 0usize;
    let rev = |i: usize| RevisionId::from_number(0x5e00_0000_0000u64 + i as u64);
    let wrong = |mut g: Generated, i: usize| {
        if shape.wrong_down_every > 0 && i % shape.wrong_down_every == 0 {
            g.down.push_str(&format!("\nCREATE TABLE leftover_{i} (x);"));
        }
        g
    };
    let fork_len = 2 * shape.branch_len + 1;
    while files.len() < n {
        // A fork (room permitting): two branches, each on tables of its own, joined by a merge.
        let due = shape.fork_every > 0 && files.len() % shape.fork_every == shape.fork_every - 1;
        if due && n - files.len() >= fork_len && !heads.is_empty() {
            let mut branch_heads = Vec::new();
            for _ in 0..2 {
                let mut own: Vec<Table> = Vec::new();
                let mut parents = heads.clone();
                for step in 0..shape.branch_len {
                    counter += 1;
                    let g = if step == 0 {
                        create_table(&mut own, &mut rng, counter)
                    } else {
                        branch_change(&mut own, &mut rng, counter)
                    };
                    let r = rev(files.len());
                    files.push(render(r, &parents, &wrong(g, counter), counter));
                    parents = vec![r];
                }
                tables.extend(own);
                branch_heads.extend(parents);
            }
            counter += 1;
            let r = rev(files.len());
            files.push(render_merge(r, &branch_heads, counter));
            heads = vec![r];
            continue;
        }
        counter += 1;
        let g = next_change(&mut tables, &mut rng, counter);
        let r = rev(files.len());
        files.push(render(r, &heads, &wrong(g, counter), counter));
        heads = vec![r];
    }
    files
}

/// A change inside a branch: to the branch's own tables only.
fn branch_change(own: &mut Vec<Table>, rng: &mut Rng, i: usize) -> Generated {
    change_table(own, rng, i)
}

fn create_table(tables: &mut Vec<Table>, rng: &mut Rng, i: usize) -> Generated {
    let name = format!("t{i}");
    let mut columns = vec![
        Column { name: "id".into(), def: "INTEGER PRIMARY KEY".into(), indexed: true },
        Column { name: "name".into(), def: "TEXT NOT NULL DEFAULT ''".into(), indexed: true },
    ];
    if !tables.is_empty() && rng.below(2) == 0 {
        let parent = rng.below(tables.len());
        tables[parent].referenced += 1;
        let def = format!("INTEGER REFERENCES {}(id) ON DELETE CASCADE", tables[parent].name);
        columns.push(Column { name: "parent_id".into(), def, indexed: true });
    }
    let table = Table {
        name: name.clone(),
        columns,
        indexes: Vec::new(),
        views: 0,
        triggers: 0,
        referenced: 0,
        checked: false,
    };
    let up = table.create_sql(&name, false);
    tables.push(table);
    Generated {
        message: format!("Create table {name}"),
        table: name.clone(),
        change: "create table".into(),
        up,
        down: format!("DROP TABLE {name};"),
        allow: Vec::new(),
        lossy: None,
    }
}

fn next_change(tables: &mut Vec<Table>, rng: &mut Rng, i: usize) -> Generated {
    if tables.len() < 3 || rng.below(100) < 12 {
        return create_table(tables, rng, i);
    }
    change_table(tables, rng, i)
}

/// A change to one of `tables` (a new table when the one drawn cannot take the change).
fn change_table(tables: &mut Vec<Table>, rng: &mut Rng, i: usize) -> Generated {
    let t = rng.below(tables.len());
    let table = &mut tables[t];
    let name = table.name.clone();
    let roll = rng.below(100);
    if roll < 30 {
        let col = format!("c{i}");
        let def = if rng.below(2) == 0 { "TEXT".to_string() } else { "INTEGER NOT NULL DEFAULT 0".to_string() };
        table.columns.push(Column { name: col.clone(), def: def.clone(), indexed: false });
        return Generated {
            message: format!("Add {col} to {name}"),
            table: name.clone(),
            change: format!("add column {col}"),
            up: format!("ALTER TABLE {name} ADD COLUMN {col} {def};"),
            down: format!("ALTER TABLE {name} DROP COLUMN {col};"),
            allow: Vec::new(),
            lossy: None,
        };
    }
    let free: Vec<usize> = (0..table.columns.len()).filter(|&c| !table.columns[c].indexed).collect();
    if roll < 45 && !free.is_empty() {
        let c = free[rng.below(free.len())];
        let old = table.columns[c].name.clone();
        let new = format!("r{i}");
        table.columns[c].name = new.clone();
        return Generated {
            message: format!("Rename {name}.{old} to {new}"),
            table: name.clone(),
            change: format!("rename column {old} to {new}"),
            up: format!("ALTER TABLE {name} RENAME COLUMN {old} TO {new};"),
            down: format!("ALTER TABLE {name} RENAME COLUMN {new} TO {old};"),
            allow: Vec::new(),
            lossy: None,
        };
    }
    if roll < 55 && table.columns.last().is_some_and(|c| !c.indexed) {
        let col = table.columns.pop().expect("checked");
        return Generated {
            message: format!("Drop {name}.{}", col.name),
            table: name.clone(),
            change: format!("drop column {}", col.name),
            up: format!("ALTER TABLE {name} DROP COLUMN {};", col.name),
            down: format!("ALTER TABLE {name} ADD COLUMN {} {};", col.name, col.def),
            allow: vec![(WaiverKind::Destructive, "the column is unused")],
            lossy: Some((name.clone(), col.name.clone())),
        };
    }
    if roll < 72 && !free.is_empty() {
        let c = free[rng.below(free.len())];
        table.columns[c].indexed = true;
        let col = table.columns[c].name.clone();
        let index = format!("i{i}_{name}");
        table.indexes.push((index.clone(), col.clone()));
        return Generated {
            message: format!("Index {name}.{col}"),
            table: name.clone(),
            change: format!("index {index} on {col}"),
            up: format!("CREATE INDEX {index} ON {name} ({col});"),
            down: format!("DROP INDEX {index};"),
            allow: Vec::new(),
            lossy: None,
        };
    }
    if roll < 80 {
        table.views += 1;
        let view = format!("v{i}_{name}");
        return Generated {
            message: format!("View {view}"),
            table: name.clone(),
            change: format!("view {view}"),
            up: format!("CREATE VIEW {view} AS SELECT id, name FROM {name} WHERE name <> '';"),
            down: format!("DROP VIEW {view};"),
            allow: Vec::new(),
            lossy: None,
        };
    }
    if roll < 88 {
        table.triggers += 1;
        let trigger = format!("tr{i}_{name}");
        return Generated {
            message: format!("Trigger {trigger}"),
            table: name.clone(),
            change: format!("trigger {trigger}"),
            up: format!(
                "CREATE TRIGGER {trigger} AFTER UPDATE OF name ON {name}\nWHEN NEW.name = ''\nBEGIN\n    UPDATE {name} SET name = 'unnamed' WHERE id = NEW.id;\nEND;"
            ),
            down: format!("DROP TRIGGER {trigger};"),
            allow: Vec::new(),
            lossy: None,
        };
    }
    if roll < 92 {
        let rows = format!("'seed {i} a', 'seed {i} b'");
        return Generated {
            message: format!("Seed rows into {name}"),
            table: name.clone(),
            change: "two seed rows".into(),
            up: format!("INSERT INTO {name} (name) VALUES ('seed {i} a'), ('seed {i} b');"),
            down: format!("DELETE FROM {name} WHERE name IN ({rows});"),
            allow: vec![(WaiverKind::DataChange, "reference rows the application needs")],
            lossy: None,
        };
    }
    if table.views == 0 && table.triggers == 0 && table.referenced == 0 && !table.checked {
        table.checked = true;
        let cols: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let cols = cols.join(", ");
        let rebuild = |t: &Table, checked: bool| {
            format!(
                "{}\nINSERT INTO {name}_new ({cols}) SELECT {cols} FROM {name};\nDROP TABLE {name};\nALTER TABLE {name}_new RENAME TO {name};{}",
                t.create_sql(&format!("{name}_new"), checked),
                t.index_sql()
            )
        };
        return Generated {
            message: format!("Rebuild {name} with a CHECK constraint"),
            table: name.clone(),
            change: "rebuilt with CHECK (length(name) < 1000)".into(),
            up: rebuild(table, true),
            down: rebuild(table, false),
            allow: vec![
                (WaiverKind::DataChange, "a table rebuild copies its rows"),
                (WaiverKind::Destructive, "the old table is dropped after the copy"),
            ],
            lossy: None,
        };
    }
    create_table(tables, rng, i)
}

/// The header of generated migration `i` (a minute apart each).
fn header(rev: RevisionId, parents: &[RevisionId], message: &str, i: usize) -> Migration {
    let date = retort_build::timestamp::rfc3339(1_700_000_000 + i as u64 * 60);
    Migration::new(rev, message, parents.to_vec(), &date)
}

/// A migration's file name and text.
fn file(m: &Migration) -> (String, String) {
    (m.file.display().to_string(), migration::render(m))
}

fn render(rev: RevisionId, parents: &[RevisionId], g: &Generated, i: usize) -> (String, String) {
    let mut m = header(rev, parents, &g.message, i).affecting(&g.table, &g.change).with_sql(&g.up, Some(&g.down));
    m.waivers = g.allow.iter().map(|&(kind, reason)| Waiver { kind, reason: reason.to_string() }).collect();
    if let Some((table, column)) = &g.lossy {
        let item = retort_build::LossyItem { table: table.clone(), column: Some(column.clone()) };
        m.lossy.push(retort_build::Lossy { items: vec![item], reason: "unused; down brings it back empty".into() });
    }
    file(&m)
}

fn render_merge(rev: RevisionId, parents: &[RevisionId], i: usize) -> (String, String) {
    file(&header(rev, parents, "Merge branches", i))
}

/// Writes a chain of `n` migrations and its lock into `dir` (created if needed).
pub fn write_dir(dir: &Path, n: usize, seed: u64) -> std::io::Result<MigrationSet> {
    write_shaped(dir, n, seed, Shape::DEFAULT)
}

/// Writes `n` migrations in `shape` and their lock into `dir` (created if needed).
pub fn write_shaped(dir: &Path, n: usize, seed: u64, shape: Shape) -> std::io::Result<MigrationSet> {
    std::fs::create_dir_all(dir)?;
    let files = shaped(n, seed, shape);
    let mut sources = Vec::with_capacity(files.len());
    for (name, text) in files {
        std::fs::write(dir.join(&name), &text)?;
        sources.push(SourceFile { display: Path::new("migrations").join(&name), bytes: text.into_bytes() });
    }
    let set = MigrationSet::from_files(&sources)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    std::fs::write(dir.join(retort_build::LOCK_FILE), Lock::of(&set).render())?;
    Ok(set)
}
