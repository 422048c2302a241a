//! The data round trip's comparisons: does an up keep the rows of the tables it changes (in the
//! columns that survive), and does a down give back exactly the rows it found before the up?
//! Rows compare as whole rows, order-independent (a multiset), without rowids; an integer and a
//! real of the same value are the same value (SQLite's affinities move between them without
//! loss). What a `Lossy:` line names is left out of the comparison.
//!
//! Guarantees: each finding names the table, the column and a row where it can ("posts.title
//! was 'x', now NULL"), else the whole row; nothing here touches a database.

use std::collections::BTreeMap;

use retort_build::Migration;
use rusqlite::types::Value;

use crate::fingerprint::Contents;

/// A value as the comparison sees it: totally ordered, integral reals as integers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Null,
    Integer(i64),
    Real(u64),
    Text(String),
    Blob(Vec<u8>),
}

fn key(value: &Value) -> Key {
    match value {
        Value::Null => Key::Null,
        Value::Integer(i) => Key::Integer(*i),
        Value::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Key::Integer(*f as i64),
        Value::Real(f) => Key::Real(f.to_bits()),
        Value::Text(t) => Key::Text(t.clone()),
        Value::Blob(b) => Key::Blob(b.clone()),
    }
}

/// `value` as SQL would write it.
pub(super) fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
        Value::Blob(b) => format!("X'{}'", b.iter().map(|x| format!("{x:02X}")).collect::<String>()),
    }
}

/// The position of each of `names` in `contents`' columns (ASCII case ignored).
fn positions(contents: &Contents, names: &[String]) -> Option<Vec<usize>> {
    names.iter().map(|n| contents.columns.iter().position(|c| c.eq_ignore_ascii_case(n))).collect()
}

/// Rows, each as values.
type Rows = Vec<Vec<Value>>;

/// Row `row` projected on `at`.
fn project(row: &[Value], at: &[usize]) -> Vec<Value> {
    at.iter().map(|&i| row.get(i).cloned().unwrap_or(Value::Null)).collect()
}

/// The rows projected on `at`, counted.
fn multiset(contents: &Contents, at: &[usize]) -> BTreeMap<Vec<Key>, i64> {
    let mut out = BTreeMap::new();
    for row in &contents.rows {
        *out.entry(project(row, at).iter().map(key).collect()).or_default() += 1;
    }
    out
}

/// The rows of `before` (on columns `names`) that `after` lacks, and the rows `after` has that
/// `before` lacks, each as values in `names` order.
fn difference(before: &Contents, after: &Contents, names: &[String]) -> Option<(Rows, Rows)> {
    let (b_at, a_at) = (positions(before, names)?, positions(after, names)?);
    let (b, a) = (multiset(before, &b_at), multiset(after, &a_at));
    if b == a {
        return Some((Vec::new(), Vec::new()));
    }
    let mut missing: BTreeMap<Vec<Key>, i64> = BTreeMap::new();
    for (row, n) in &b {
        let left = n - a.get(row).copied().unwrap_or(0);
        if left > 0 {
            missing.insert(row.clone(), left);
        }
    }
    let mut extra: BTreeMap<Vec<Key>, i64> = BTreeMap::new();
    for (row, n) in &a {
        let left = n - b.get(row).copied().unwrap_or(0);
        if left > 0 {
            extra.insert(row.clone(), left);
        }
    }
    // Back to values, in the rows' own order (first occurrence).
    let pick = |contents: &Contents, at: &[usize], wanted: &mut BTreeMap<Vec<Key>, i64>| -> Vec<Vec<Value>> {
        let mut out = Vec::new();
        for row in &contents.rows {
            let values = project(row, at);
            let k: Vec<Key> = values.iter().map(key).collect();
            if let Some(n) = wanted.get_mut(&k).filter(|n| **n > 0) {
                *n -= 1;
                out.push(values);
            }
        }
        out
    };
    Some((pick(before, &b_at, &mut missing), pick(after, &a_at, &mut extra)))
}

/// A loss, said: what was lost, and what a `Lossy:` line would have to name to waive it.
struct Loss {
    text: String,
    waiver: String,
}

/// Says how `missing` rows were lost: the columns a row changed in, when an extra row matches
/// it best elsewhere, else the whole row.
fn describe(table: &str, names: &[String], missing: &[Vec<Value>], extra: &[Vec<Value>]) -> Loss {
    let first = &missing[0];
    let best = extra
        .iter()
        .map(|row| (row.iter().zip(first).filter(|(a, b)| key(a) == key(b)).count(), row))
        .max_by_key(|(same, _)| *same)
        .filter(|(same, _)| *same > 0 || names.len() == 1);
    let more = match missing.len() {
        1 => String::new(),
        n => format!(" ({n} rows of {table} differ)"),
    };
    let changed: Vec<(&String, &Value, &Value)> = best.map_or(Vec::new(), |(_, row)| {
        names
            .iter()
            .zip(first.iter().zip(row))
            .filter(|(_, (was, now))| key(was) != key(now))
            .map(|(n, (w, v))| (n, w, v))
            .collect()
    });
    match changed.first() {
        Some(&(column, ..)) => Loss {
            text: changed
                .iter()
                .map(|(name, was, now)| format!("{table}.{name} was {}, now {}", literal(was), literal(now)))
                .collect::<Vec<_>>()
                .join(", ")
                + &more,
            waiver: format!("{table}.{column}"),
        },
        None => Loss {
            text: format!("a row of {table} is gone: ({}){more}", row_text(names, first)),
            waiver: table.to_string(),
        },
    }
}

fn row_text(names: &[String], row: &[Value]) -> String {
    names.iter().zip(row).map(|(n, v)| format!("{n}={}", literal(v))).collect::<Vec<_>>().join(", ")
}

/// The columns of `contents` that `m`'s `Lossy:` lines do not name.
fn kept_columns(m: &Migration, table: &str, contents: &Contents) -> Vec<String> {
    contents.columns.iter().filter(|c| !m.lossy_allows(table, Some(c))).cloned().collect()
}

/// What the up of `m` lost of `table`'s rows: a column dropped (whose values no new column
/// holds), or rows and values missing in the columns that survive. `None` when it kept them.
pub(super) fn up_loss(m: &Migration, table: &str, before: &Contents, after: &Contents) -> Option<String> {
    if m.lossy_allows(table, None) || before.rows.is_empty() {
        return None;
    }
    let has = |c: &Contents, name: &str| c.columns.iter().any(|x| x.eq_ignore_ascii_case(name));
    let kept = kept_columns(m, table, before);
    let common: Vec<String> = kept.iter().filter(|c| has(after, c)).cloned().collect();
    let added: Vec<&String> = after.columns.iter().filter(|c| !has(before, c)).collect();
    let fix = |what: &str, waiver: &str| {
        format!("{what}; keep the values, or declare it with `-- Lossy: {waiver}: <reason>`")
    };
    for dropped in kept.iter().filter(|c| !has(after, c)) {
        // A column whose values another new column holds, row for row, was renamed.
        let renamed = added.iter().any(|new| {
            let with = |c: &String| common.iter().cloned().chain([c.clone()]).collect::<Vec<_>>();
            let (b_at, a_at) = (positions(before, &with(dropped)), positions(after, &with(new)));
            matches!((b_at, a_at), (Some(b), Some(a)) if multiset(before, &b) == multiset(after, &a))
        });
        if !renamed {
            let at = before.columns.iter().position(|c| c == dropped);
            let sample = before.rows.iter().find_map(|r| r.get(at?).filter(|v| !matches!(v, Value::Null)));
            let was = sample.map_or(String::new(), |v| format!(" (it held {})", literal(v)));
            let what = format!("up of {} drops {table}.{dropped} and its values{was}", m.revision);
            return Some(fix(&what, &format!("{table}.{dropped}")));
        }
    }
    let (missing, extra) = difference(before, after, &common)?;
    if missing.is_empty() {
        return None;
    }
    let loss = describe(table, &common, &missing, &extra);
    Some(fix(&format!("up of {} loses data: {}", m.revision, loss.text), &loss.waiver))
}

/// What the down of `m` did not give back of `table`'s rows (`before`: as they were before the
/// up; `after`: after the down): rows lost or changed, or rows left behind. `None` when equal.
pub(super) fn down_loss(m: &Migration, table: &str, before: &Contents, after: &Contents) -> Option<String> {
    if m.lossy_allows(table, None) {
        return None;
    }
    let names = kept_columns(m, table, before);
    let (missing, extra) = difference(before, after, &names)?;
    if !missing.is_empty() {
        let loss = describe(table, &names, &missing, &extra);
        return Some(format!(
            "down of {} loses data: {}; make the down give back what the up found, or declare it with `-- Lossy: {}: <reason>`",
            m.revision, loss.text, loss.waiver
        ));
    }
    let first = extra.first()?;
    let more = if extra.len() > 1 { format!(" (and {} more)", extra.len() - 1) } else { String::new() };
    Some(format!(
        "down of {} leaves rows behind in {table}: ({}){more}; the down must remove exactly what the up added",
        m.revision,
        row_text(&names, first)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(columns: &[&str], rows: Vec<Vec<Value>>) -> Contents {
        Contents { columns: columns.iter().map(|c| (*c).to_string()).collect(), rows }
    }

    fn m(lossy: &str) -> Migration {
        let id = retort_build::RevisionId::parse("abcdef012345").unwrap();
        let mut m = Migration::new(id, "m", Vec::new(), "2025-01-01T00:00:00Z");
        if let Some((names, reason)) = lossy.split_once(':') {
            let items = names
                .split(',')
                .map(|n| {
                    let (t, c) = n.trim().split_once('.').map_or((n.trim(), None), |(t, c)| (t, Some(c.to_string())));
                    retort_build::LossyItem { table: t.to_string(), column: c }
                })
                .collect();
            m.lossy.push(retort_build::Lossy { items, reason: reason.to_string() });
        }
        m
    }

    use Value::{Integer as I, Null, Real as R, Text as T};

    #[test]
    fn a_down_that_nulls_a_column_names_it() {
        let before = contents(&["id", "title"], vec![vec![I(1), T("x".into())], vec![I(2), T("y".into())]]);
        let after = contents(&["id", "title"], vec![vec![I(2), T("y".into())], vec![I(1), Null]]);
        assert_eq!(
            down_loss(&m(""), "posts", &before, &after).unwrap().split(';').next().unwrap(),
            "down of abcdef012345 loses data: posts.title was 'x', now NULL"
        );
        assert_eq!(down_loss(&m("posts.title: gone"), "posts", &before, &after), None);
        assert_eq!(down_loss(&m(""), "posts", &before, &before), None);
    }

    #[test]
    fn rows_left_behind_and_rows_gone() {
        let before = contents(&["a"], vec![vec![I(1)]]);
        let more = contents(&["a"], vec![vec![I(1)], vec![I(9)]]);
        assert!(down_loss(&m(""), "t", &before, &more).unwrap().contains("leaves rows behind in t: (a=9)"));
        let two = contents(&["a", "b"], vec![vec![I(1), I(2)], vec![I(3), I(4)]]);
        let one = contents(&["a", "b"], vec![vec![I(1), I(2)]]);
        assert!(down_loss(&m(""), "t", &two, &one).unwrap().contains("a row of t is gone: (a=3, b=4)"));
    }

    #[test]
    fn the_up_keeps_surviving_columns_and_may_rename() {
        let before = contents(&["id", "price", "old"], vec![vec![I(1), R(1.5), T("k".into())]]);
        // Integral reals equal integers; a new column is not compared.
        let widened = contents(&["id", "price", "old", "new"], vec![vec![R(1.0), R(1.5), T("k".into()), Null]]);
        assert_eq!(up_loss(&m(""), "t", &before, &widened), None);
        let renamed = contents(&["id", "price", "fresh"], vec![vec![I(1), R(1.5), T("k".into())]]);
        assert_eq!(up_loss(&m(""), "t", &before, &renamed), None, "a column whose values moved was renamed");
        let dropped = contents(&["id", "price", "fresh"], vec![vec![I(1), R(1.5), Null]]);
        let found = up_loss(&m(""), "t", &before, &dropped).unwrap();
        assert!(found.starts_with("up of abcdef012345 drops t.old and its values (it held 'k')"), "{found}");
        assert_eq!(up_loss(&m("t.old: gone"), "t", &before, &dropped), None);
        let truncated = contents(&["id", "price", "old"], vec![vec![I(1), I(1), T("k".into())]]);
        let found = up_loss(&m(""), "t", &before, &truncated).unwrap();
        assert!(found.starts_with("up of abcdef012345 loses data: t.price was 1.5, now 1"), "{found}");
    }
}
