//! Synthetic migration chains for benchmarks and stress tests: realistic schema work (tables with
//! foreign keys, ADD/RENAME/DROP COLUMN, indexes, views, triggers, SQLite table rebuilds), each
//! with a correct down, plus a few branches joined by merges.
//!
//! Guarantees: deterministic for a seed; every generated directory parses, locks and round-trips.

use std::path::Path;

use retort_build::{Lock, MigrationSet, SourceFile};

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
    allow: Vec<String>,
}

/// Generates `n` migrations (files named `<revision>_<slug>.sql`) from `seed`.
pub fn chain(n: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut tables: Vec<Table> = Vec::new();
    let mut files = Vec::new();
    let mut heads: Vec<String> = Vec::new();
    let mut counter = 0usize;
    let rev = |i: usize| format!("{:012x}", 0x5e00_0000_0000u64 + i as u64);
    while files.len() < n {
        // Every 40 migrations (room permitting), a fork of two new tables joined by a merge.
        if files.len() % 40 == 39 && n - files.len() >= 3 && !heads.is_empty() {
            let base = heads.clone();
            let mut branch_heads = Vec::new();
            for _ in 0..2 {
                counter += 1;
                let g = create_table(&mut tables, &mut rng, counter);
                let r = rev(files.len());
                files.push(render(&r, &base, &g, counter));
                branch_heads.push(r);
            }
            counter += 1;
            let r = rev(files.len());
            files.push(render_merge(&r, &branch_heads, counter));
            heads = vec![r];
            continue;
        }
        counter += 1;
        let g = next_change(&mut tables, &mut rng, counter);
        let r = rev(files.len());
        files.push(render(&r, &heads, &g, counter));
        heads = vec![r];
    }
    files
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
    }
}

fn next_change(tables: &mut Vec<Table>, rng: &mut Rng, i: usize) -> Generated {
    if tables.len() < 3 || rng.below(100) < 12 {
        return create_table(tables, rng, i);
    }
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
            allow: vec!["destructive: the column is unused".to_string()],
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
                "data-change: a table rebuild copies its rows".into(),
                "destructive: the old table is dropped after the copy".into(),
            ],
        };
    }
    create_table(tables, rng, i)
}

fn render(rev: &str, parents: &[String], g: &Generated, i: usize) -> (String, String) {
    let allow: String = g.allow.iter().map(|a| format!("-- Allow: {a}\n")).collect();
    let text = format!(
        "-- {}\n--\n-- Revision ID: {rev}\n-- Revises: {}\n-- Create Date: {}\n{allow}--\n-- Tables affected:\n-- - {}: {}\n\n-- migrate:up\n{}\n\n-- migrate:down\n{}\n",
        g.message,
        parents.join(", "),
        retort_build::timestamp::rfc3339(1_700_000_000 + i as u64 * 60),
        g.table,
        g.change,
        g.up,
        g.down
    );
    (format!("{rev}_{}.sql", retort_build::migration::slug_of(&g.message)), text)
}

fn render_merge(rev: &str, parents: &[String], i: usize) -> (String, String) {
    let text = format!(
        "-- Merge branches\n--\n-- Revision ID: {rev}\n-- Revises: {}\n-- Create Date: {}\n\n-- migrate:up\n\n-- migrate:down\n",
        parents.join(", "),
        retort_build::timestamp::rfc3339(1_700_000_000 + i as u64 * 60)
    );
    (format!("{rev}_merge_branches.sql"), text)
}

/// Writes a chain of `n` migrations and its lock into `dir` (created if needed).
pub fn write_dir(dir: &Path, n: usize, seed: u64) -> std::io::Result<MigrationSet> {
    std::fs::create_dir_all(dir)?;
    let files = chain(n, seed);
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
