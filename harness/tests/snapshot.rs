//! Schema snapshots (SPEC §7): pairs of schemas that must compare equal (formatting, quoting,
//! case) and pairs that must not (one per attribute), with the diff naming what changed.

use retort::Schema;
use rusqlite::Connection;

fn schema(sql: &str) -> Schema {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(sql).unwrap_or_else(|e| panic!("{e}: {sql}"));
    Schema::read(&conn).unwrap()
}

#[test]
fn equal_pairs() {
    let pairs = [
        ("CREATE TABLE t (a INTEGER, b TEXT)", "create table \"T\" ( \"A\" integer , [b]   text )"),
        ("CREATE TABLE t (a INTEGER CHECK(a>0))", "CREATE TABLE t (\n  a INTEGER CHECK ( a > 0 )\n)"),
        ("CREATE TABLE t (a, b NOT NULL DEFAULT 'x')", "CREATE TABLE t (a, b DEFAULT 'x' NOT NULL)"),
        ("CREATE TABLE t (a); CREATE INDEX i ON t(a)", "CREATE TABLE t (a);\ncreate index \"i\" on \"t\" ( \"a\" )"),
        (
            "CREATE TABLE t (a); CREATE VIEW v AS SELECT a FROM t",
            "CREATE TABLE t (a); create view v as\n  select \"a\"   from t",
        ),
        (
            "CREATE TABLE t (a); CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; END",
            "CREATE TABLE t (a);\nCREATE TRIGGER g AFTER INSERT ON t\nBEGIN\n  SELECT 1;\nEND",
        ),
        (
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p)",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p(id))",
        ),
        ("CREATE TABLE t (a UNIQUE)", "CREATE TABLE t (a, UNIQUE (a))"),
        // SQL kept as written in the snapshot text is still compared without case, quotes,
        // comments or spacing.
        (
            "CREATE TABLE t (a, b AS (a+1), c DEFAULT (lower('X')), CHECK (a<>'') )",
            "CREATE TABLE t (A, B AS ( \"a\" + 1 /* one */ ), C DEFAULT ( LOWER ( 'X' ) ), check(A <> ''))",
        ),
        (
            "CREATE TABLE t (a); CREATE INDEX i ON t (lower(a)) WHERE a>0",
            "CREATE TABLE t (a); CREATE INDEX i ON t ( LOWER( A ) ) where A > 0",
        ),
        // Created with a column added later, or all at once: the same schema.
        ("CREATE TABLE t (a); ALTER TABLE t ADD COLUMN b TEXT", "CREATE TABLE t (a, b TEXT)"),
        ("", "CREATE TABLE retort_history (revision TEXT PRIMARY KEY)"),
    ];
    for (a, b) in pairs {
        let (sa, sb) = (schema(a), schema(b));
        assert_eq!(sa, sb, "expected equal:\n{a}\n{b}\n{}", retort::snapshot::render_changes(&sa.diff(&sb)));
    }
}

#[test]
fn unequal_pairs_name_the_attribute() {
    let pairs = [
        ("CREATE TABLE t (a, b)", "CREATE TABLE t (b, a)", "column 1 b"),
        ("CREATE TABLE t (a INTEGER)", "CREATE TABLE t (a TEXT)", "column 1 a type TEXT"),
        ("CREATE TABLE t (a)", "CREATE TABLE t (a NOT NULL)", "not null"),
        ("CREATE TABLE t (a DEFAULT 1)", "CREATE TABLE t (a DEFAULT 2)", "default 2"),
        ("CREATE TABLE t (a DEFAULT 'x')", "CREATE TABLE t (a DEFAULT 'X')", "default 'X'"),
        ("CREATE TABLE t (a, b)", "CREATE TABLE t (a, b, PRIMARY KEY (a))", "primary key 1"),
        ("CREATE TABLE t (a TEXT)", "CREATE TABLE t (a TEXT COLLATE NOCASE)", "collate NOCASE"),
        ("CREATE TABLE t (a, b AS (a + 1))", "CREATE TABLE t (a, b AS (a + 2))", "generated virtual (a + 2)"),
        ("CREATE TABLE t (a, b AS (a + 1))", "CREATE TABLE t (a, b AS (a + 1) STORED)", "generated stored"),
        ("CREATE TABLE t (a INTEGER)", "CREATE TABLE t (a INTEGER) STRICT", "strict"),
        ("CREATE TABLE t (a PRIMARY KEY)", "CREATE TABLE t (a PRIMARY KEY) WITHOUT ROWID", "without rowid"),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)",
            "autoincrement",
        ),
        ("CREATE TABLE t (a CHECK (a > 0))", "CREATE TABLE t (a CHECK (a > 1))", "check (a > 1)"),
        ("CREATE TABLE t (a); CREATE INDEX i ON t (a)", "CREATE TABLE t (a); CREATE UNIQUE INDEX i ON t (a)", "unique"),
        ("CREATE TABLE t (a, b); CREATE INDEX i ON t (a)", "CREATE TABLE t (a, b); CREATE INDEX i ON t (b)", "key 1 b"),
        (
            "CREATE TABLE t (a); CREATE INDEX i ON t (a)",
            "CREATE TABLE t (a); CREATE INDEX i ON t (a DESC)",
            "key 1 a desc",
        ),
        (
            "CREATE TABLE t (a); CREATE INDEX i ON t (a)",
            "CREATE TABLE t (a); CREATE INDEX i ON t (a COLLATE NOCASE)",
            "collate NOCASE",
        ),
        (
            "CREATE TABLE t (a); CREATE INDEX i ON t (a)",
            "CREATE TABLE t (a); CREATE INDEX i ON t (a) WHERE a > 0",
            "where a > 0",
        ),
        (
            "CREATE TABLE t (a); CREATE INDEX i ON t (lower(a))",
            "CREATE TABLE t (a); CREATE INDEX i ON t (upper(a))",
            "expressions upper(a)",
        ),
        ("CREATE TABLE t (a UNIQUE)", "CREATE TABLE t (a)", "(auto) t(a)"),
        (
            "CREATE TABLE p (id INTEGER PRIMARY KEY, k UNIQUE); CREATE TABLE c (x REFERENCES p(id))",
            "CREATE TABLE p (id INTEGER PRIMARY KEY, k UNIQUE); CREATE TABLE c (x REFERENCES p(k))",
            "references p(k)",
        ),
        (
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p(id))",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p(id) ON DELETE CASCADE)",
            "on delete CASCADE",
        ),
        (
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p(id))",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)",
            "deferrable initially deferred",
        ),
        (
            // Two keys to one table: each keeps its own DEFERRABLE state.
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED, y REFERENCES p(id))",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (x REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED, y REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)",
            "+     foreign key (y) references p(id) on update NO ACTION on delete NO ACTION match NONE deferrable initially deferred",
        ),
        (
            "CREATE TABLE p (a, b, PRIMARY KEY (a, b)); CREATE TABLE c (x, y, FOREIGN KEY (x, y) REFERENCES p(a, b))",
            "CREATE TABLE p (a, b, PRIMARY KEY (a, b)); CREATE TABLE c (x, y, CONSTRAINT fk FOREIGN KEY (x, y) REFERENCES p(a, b) DEFERRABLE INITIALLY DEFERRED)",
            "foreign key (x, y) references p(a, b) on update NO ACTION on delete NO ACTION match NONE deferrable initially deferred",
        ),
        (
            "CREATE TABLE t (a); CREATE VIEW v AS SELECT a FROM t",
            "CREATE TABLE t (a); CREATE VIEW v AS SELECT a, a FROM t",
            "sql CREATE VIEW v AS SELECT a, a FROM t",
        ),
        (
            "CREATE TABLE t (a); CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; END",
            "CREATE TABLE t (a); CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 2; END",
            "SELECT 2",
        ),
        ("CREATE TABLE t (a)", "CREATE TABLE t (a); CREATE TABLE u (b)", "+ table u"),
        ("CREATE TABLE t (a); CREATE INDEX i ON t (a)", "CREATE TABLE t (a)", "- index i"),
    ];
    for (a, b, expected) in pairs {
        let (sa, sb) = (schema(a), schema(b));
        assert_ne!(sa, sb, "expected different:\n{a}\n{b}");
        let diff = retort::snapshot::render_changes(&sa.diff(&sb));
        assert!(diff.contains(expected), "the diff of\n{a}\n{b}\nshould mention `{expected}`:\n{diff}");
    }
}

#[test]
fn the_cache_sees_every_change() {
    let conn = Connection::open_in_memory().unwrap();
    let mut cache = retort::SchemaCache::default();
    for sql in [
        "CREATE TABLE t (a, b)",
        "ALTER TABLE t ADD COLUMN c TEXT",
        "CREATE INDEX i ON t (b)",
        "ALTER TABLE t RENAME COLUMN b TO bb",
        "CREATE VIEW v AS SELECT bb FROM t",
        "ALTER TABLE t DROP COLUMN c",
        "ALTER TABLE t RENAME TO u",
        "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE q (x REFERENCES p)",
        "DROP TABLE p; CREATE TABLE p (pid INTEGER PRIMARY KEY)",
        "DROP VIEW v; DROP INDEX i",
    ] {
        conn.execute_batch(sql).unwrap();
        assert_eq!(cache.read(&conn).unwrap(), Schema::read(&conn).unwrap(), "after {sql}");
    }
}
