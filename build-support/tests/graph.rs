//! Revision graph tests: order, heads, branches, merges, labels, queries and every graph error.

mod common;

use std::collections::BTreeSet;

use common::{file, rev, set};
use proptest::prelude::*;
use retort_build::{MigrationSet, ResolveError, RevisionId, SourceFile};

fn ids(revs: &[RevisionId]) -> Vec<String> {
    revs.iter().map(|r| r.as_str().trim_end_matches('0').to_string()).collect()
}

fn id(tag: &str) -> RevisionId {
    RevisionId::parse(&rev(tag)).unwrap()
}

/// a → b → {c, d}; c → e; {e, d} → m (merge) → f
fn diamond() -> MigrationSet {
    set(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("d", &["b"]), ("e", &["c"]), ("f1", &["f2"]), ("f2", &["e", "d"])])
}

#[test]
fn order_heads_roots_and_branch_points() {
    let s = diamond();
    let g = s.graph();
    assert_eq!(ids(g.order()), ["a", "b", "c", "d", "e", "f2", "f1"]);
    assert_eq!(ids(&g.heads()), ["f1"]);
    assert_eq!(ids(&g.roots()), ["a"]);
    assert_eq!(ids(&g.branch_points()), ["b"]);
    assert_eq!(ids(&g.sorted(g.ancestors(&[id("e")]))), ["a", "b", "c"]);
    assert_eq!(ids(&g.sorted(g.descendants(&[id("d")]))), ["f2", "f1"]);
}

#[test]
fn upgrade_and_downgrade_paths() {
    let s = diamond();
    let g = s.graph();
    let applied: BTreeSet<RevisionId> = [id("a"), id("b"), id("c")].into();
    assert_eq!(ids(&g.upgrade_path(&applied, &[id("f1")])), ["d", "e", "f2", "f1"]);
    assert_eq!(ids(&g.upgrade_path(&applied, &[id("d")])), ["d"]);
    let all: BTreeSet<RevisionId> = g.order().iter().copied().collect();
    assert_eq!(ids(&g.downgrade_path(&all, &[id("c")])), ["f1", "f2", "e", "d"]);
    assert_eq!(ids(&g.downgrade_path(&all, &[])), ["f1", "f2", "e", "d", "c", "b", "a"]);
    let partial: BTreeSet<RevisionId> = [id("a"), id("b"), id("c"), id("d")].into();
    assert_eq!(ids(&g.heads_of(&partial)), ["c", "d"]);
    assert!(g.missing_ancestors(&partial).is_empty());
    assert_eq!(g.missing_ancestors(&[id("c"), id("d")].into()), [(id("c"), id("b")), (id("d"), id("b"))]);
    assert_eq!(ids(&g.range(Some(id("b")), id("f2"))), ["c", "d", "e", "f2"]);
}

#[test]
fn depends_on_orders_across_branches() {
    let files = vec![
        file("a", &[], ""),
        file("b", &["a"], ""),
        file("c", &["a"], &format!("-- Depends On: {}\n", rev("d"))),
        file("d", &["b"], ""),
    ];
    let s = MigrationSet::from_files(&files).unwrap();
    let g = s.graph();
    assert_eq!(ids(g.order()), ["a", "b", "d", "c"]);
    assert_eq!(ids(&g.heads()), ["d", "c"], "dependencies do not make heads");
    assert_eq!(ids(&g.upgrade_path(&BTreeSet::new(), &[id("c")])), ["a", "b", "d", "c"]);
}

#[test]
fn resolve_revisions_prefixes_and_labels() {
    let files = vec![
        file("a", &[], ""),
        file("abcd1", &["a"], "-- Branch Labels: accounts\n"),
        file("abcd2", &["abcd1"], ""),
        file("b", &["a"], "-- Branch Labels: billing\n"),
    ];
    let s = MigrationSet::from_files(&files).unwrap();
    let g = s.graph();
    assert_eq!(g.resolve(&rev("abcd2")), Ok(id("abcd2")));
    assert_eq!(g.resolve("abcd2"), Ok(id("abcd2")));
    assert_eq!(g.resolve("accounts"), Ok(id("abcd1")));
    assert_eq!(g.resolve("accounts@head"), Ok(id("abcd2")));
    assert_eq!(g.resolve("billing@head"), Ok(id("b")));
    let cases: &[(&str, &str)] = &[
        ("abcd", "revision prefix `abcd` is ambiguous: it matches abcd10000000, abcd20000000; give more digits"),
        ("ab", "revision prefix `ab` is too short; give at least 4 hex digits"),
        ("ffff", "unknown revision `ffff`; the `history` command lists them"),
        ("nope@head", "unknown revision `nope@head`; the `history` command lists them"),
        ("zz", "unknown revision `zz`; the `history` command lists them"),
    ];
    for (text, message) in cases {
        assert_eq!(g.resolve(text).unwrap_err().to_string(), *message, "{text}");
    }
    let forked = MigrationSet::from_files(&[
        file("a", &[], "-- Branch Labels: root\n"),
        file("b", &["a"], ""),
        file("c", &["a"], ""),
    ])
    .unwrap();
    assert!(matches!(forked.graph().resolve("root@head"), Err(ResolveError::AmbiguousLabelHead { .. })));
}

fn errors(files: &[SourceFile]) -> Vec<String> {
    MigrationSet::from_files(files).unwrap_err().0.iter().map(|p| p.one_line()).collect()
}

#[test]
fn graph_errors() {
    let duplicate = {
        let mut f = file("b", &["a"], "");
        f.display = "migrations/b00000000000_copy.sql".into();
        f
    };
    let cases: Vec<(Vec<SourceFile>, &str)> = vec![
        (
            vec![file("a", &[], ""), file("b", &["a"], ""), duplicate],
            "migrations/b00000000000_copy.sql:3: duplicate revision b00000000000: also defined in migrations/b00000000000_migration_b.sql",
        ),
        (
            vec![file("a", &[], ""), file("b", &["c"], "")],
            "migrations/b00000000000_migration_b.sql:4: `Revises` names unknown revision c00000000000",
        ),
        (
            vec![file("a", &[], &format!("-- Depends On: {}\n", rev("f")))],
            "migrations/a00000000000_migration_a.sql:6: `Depends On` names unknown revision f00000000000",
        ),
        (
            vec![file("a", &["c"], ""), file("b", &["a"], ""), file("c", &["b"], "")],
            "revision cycle: b00000000000 -> c00000000000 -> a00000000000 -> b00000000000",
        ),
        (
            vec![file("a", &[], "-- Branch Labels: x\n"), file("b", &["a"], "-- Branch Labels: x\n")],
            "branch label `x` is also used by a00000000000",
        ),
    ];
    for (files, expected) in cases {
        let found = errors(&files);
        assert!(found.iter().any(|e| e.contains(expected)), "expected {expected}\n got {found:#?}");
    }
}

proptest! {
    /// The topological order of a random DAG respects every parent and dependency edge, and is
    /// the same whatever order the files come in.
    #[test]
    fn topological_order_respects_every_edge(
        n in 1usize..25,
        edges in proptest::collection::vec((0usize..25, 0usize..25, any::<bool>()), 0..60),
        shuffle in any::<u64>(),
    ) {
        let tag = |i: usize| format!("{i:x}a");
        let mut parents: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut deps: Vec<Vec<String>> = vec![Vec::new(); n];
        for (a, b, is_parent) in edges {
            let (a, b) = (a % n, b % n);
            if a < b {
                let list = if is_parent { &mut parents[b] } else { &mut deps[b] };
                if !list.contains(&tag(a)) { list.push(tag(a)); }
            }
        }
        let mut files: Vec<SourceFile> = (0..n).map(|i| {
            let p: Vec<&str> = parents[i].iter().map(String::as_str).collect();
            let extra = if deps[i].is_empty() { String::new() } else {
                format!("-- Depends On: {}\n", deps[i].iter().filter(|d| !parents[i].contains(d)).map(|d| rev(d)).collect::<Vec<_>>().join(", "))
            };
            file(&tag(i), &p, &extra)
        }).collect();
        files.rotate_left((shuffle as usize) % n);
        let s = MigrationSet::from_files(&files).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let order = s.graph().order();
        prop_assert_eq!(order.len(), n);
        let position = |r: &RevisionId| order.iter().position(|x| x == r).unwrap();
        for m in s.in_order() {
            for p in m.parents.iter().chain(&m.depends_on) {
                prop_assert!(position(p) < position(&m.revision));
            }
        }
        files.reverse();
        let again = MigrationSet::from_files(&files).unwrap();
        prop_assert_eq!(again.graph().order(), order);
    }
}
