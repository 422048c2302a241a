//! `--layout auto`: which layout a directory is in, from what each entry can be.
//!
//! Each entry (droppings such as dotfiles and READMEs aside) names the layouts it fits; the
//! directory is in the one layout every entry fits. None (a mixed directory) or several (names
//! two tools read alike) is an error that lists why.

use std::collections::BTreeSet;
use std::path::Path;

use super::{Layout, entries, leading_digits};
use crate::problem::{Problem, ProblemKind, Problems};
use crate::workspace::display_path;

/// The layout of `dir` and why (one line), or the problem saying why none can be chosen.
pub fn detect(dir: &Path, root: &Path) -> Result<(Layout, String), Problems> {
    let show = |p: &Path| display_path(root, p);
    let all = entries(dir, &show)?;
    let mut left: BTreeSet<Layout> = Layout::ALL.into_iter().collect();
    let mut reasons: Vec<(String, BTreeSet<Layout>)> = Vec::new();
    for (name, path) in &all {
        if name.starts_with('.') || name.starts_with("README") || name.ends_with('~') {
            continue;
        }
        let fits = fits(name, path);
        left = left.intersection(&fits).copied().collect();
        reasons.push((name.clone(), fits));
    }
    let names = |set: &BTreeSet<Layout>| set.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ");
    let fail = |message: String, help: &str| {
        Err(Problems(vec![Problem::error(&show(dir), 0, ProblemKind::Foreign(message)).with_help(help)]))
    };
    if reasons.is_empty() {
        return fail("the directory is empty: no layout to detect".into(), "pass `--layout <name>`");
    }
    match left.len() {
        1 => {
            let layout = left.into_iter().next().unwrap_or(Layout::Retort);
            Ok((layout, format!("every entry of {} fits {layout} only", show(dir).display())))
        }
        0 => {
            // Mixed: say which layouts the entries fit, a few names each.
            let mut lines = Vec::new();
            for layout in Layout::ALL {
                let fitting: Vec<&str> =
                    reasons.iter().filter(|(_, f)| f.contains(&layout)).map(|(n, _)| n.as_str()).collect();
                if !fitting.is_empty() {
                    lines.push(format!(
                        "{} of {} entries fit {layout} ({})",
                        fitting.len(),
                        reasons.len(),
                        sample(&fitting)
                    ));
                }
            }
            let none: Vec<&str> = reasons.iter().filter(|(_, f)| f.is_empty()).map(|(n, _)| n.as_str()).collect();
            if !none.is_empty() {
                lines.push(format!("{} fit no layout ({})", none.len(), sample(&none)));
            }
            fail(
                format!("no one layout fits every entry: {}", lines.join("; ")),
                "move the entries that do not belong elsewhere, or pass `--layout <name>`",
            )
        }
        _ => fail(
            format!("the entries fit several layouts alike ({}): their file names read the same to each", names(&left)),
            &format!("pass `--layout {}` (or another of them)", left.iter().next().map_or("<name>", |l| l.name())),
        ),
    }
}

fn sample(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(3).copied().collect();
    if names.len() > 3 { format!("{}, …", shown.join(", ")) } else { shown.join(", ") }
}

/// The layouts an entry can belong to.
fn fits(name: &str, path: &Path) -> BTreeSet<Layout> {
    let mut out = BTreeSet::new();
    if path.is_dir() {
        if path.join("up.sql").is_file() {
            out.insert(Layout::Diesel);
        }
        if name == crate::dir::POPULATE_DIR {
            out.insert(Layout::Retort);
        }
        // refinery walks subdirectories: one holding only refinery files fits it.
        let inner = entries(path, &|p: &Path| p.to_path_buf()).unwrap_or_default();
        if !inner.is_empty() && inner.iter().all(|(n, p)| fits(n, p).contains(&Layout::Refinery)) {
            out.insert(Layout::Refinery);
        }
        return out;
    }
    if name == crate::lock::LOCK_FILE {
        out.insert(Layout::Retort);
        return out;
    }
    let text = || std::fs::read_to_string(path).unwrap_or_default();
    let digits = leading_digits(name);
    let after = &name[digits.len()..];
    if name.starts_with(['V', 'U']) && name.contains("__") && name.ends_with(".sql") {
        out.insert(Layout::Refinery);
    }
    if !digits.is_empty() && after.starts_with('_') {
        let updown = after.contains(".up.") || after.contains(".down.");
        if updown {
            out.insert(Layout::GolangMigrate);
        }
        if name.ends_with(".sql") {
            let text = text();
            let dbmate = text.lines().any(super::dbmate::is_up_marker);
            let retort = crate::migration::parse_file_name(name).is_some() && text.contains("-- Revision ID:");
            if retort {
                out.insert(Layout::Retort);
            } else if dbmate && !updown {
                out.insert(Layout::Dbmate);
            } else {
                out.insert(Layout::Sqlx);
            }
        }
    } else if name.ends_with(".sql") && crate::migration::parse_file_name(name).is_some() {
        out.insert(Layout::Retort);
    }
    out
}
