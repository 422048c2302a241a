//! `cargo xtask bench` (SPEC §11): times Retort against a floor measured in the same run, on
//! generated chains of N migrations and file databases. Timings are printed, never asserted.
//!
//! A debug build re-runs itself in release first, so figures are always optimised code.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use retort::harness::Threads;
use retort::synth::Shape;
use retort::{Migrator, Target};
use retort_build::{Migration, MigrationSet, RevisionId, Waiver, WaiverKind};
use rusqlite::Connection;

use crate::flags::{BenchFlags, DEFAULT_WALKS};
use crate::output;

/// One row of the table.
#[derive(Debug, Clone)]
struct Row {
    figure: &'static str,
    n: usize,
    samples: Vec<Duration>,
    floor: Vec<Duration>,
}

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    s.get(s.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the benchmark.
pub fn run(flags: &BenchFlags) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        return rerun_in_release();
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let mut rows = Vec::new();
    let runs = flags.runs.max(1);
    let wanted = |figure: &str| flags.figure.is_empty() || flags.figure.iter().any(|f| figure.contains(f.as_str()));
    for &n in &flags.n {
        let chain = |name: &str, shape: Shape| -> anyhow::Result<MigrationSet> {
            let dir = scratch.path().join(format!("{name}-{n}"));
            retort::synth::write_shaped(&dir, n, 42, shape).context("cannot generate the chain")
        };
        let set = chain("chain", Shape::DEFAULT)?;
        output::status("Generated", format!("{n} migrations"));
        let mut row = Row { figure: "upgrade head", n, samples: Vec::new(), floor: Vec::new() };
        for run in 0..if wanted(row.figure) { runs } else { 0 } {
            // Alternate which goes first, so neither always gets the warmer cache.
            let (a, b) = (floor_upgrade(&set, scratch.path(), run)?, retort_upgrade(&set, scratch.path(), run)?);
            row.floor.push(a);
            row.samples.push(b);
        }
        if !row.samples.is_empty() {
            output::status("Measured", format!("upgrade head, N = {n}"));
            rows.push(row);
        }
        let wrong = chain("wrong", Shape::WRONG_DOWNS)?;
        let branched = chain("branched", Shape::BRANCHED)?;
        let data = retort::harness::DEFAULT_SEED_ROWS;
        for (figure, set, walks, expect_failures, threads, seed_rows) in [
            ("migrate-test", &set, DEFAULT_WALKS, false, Threads::Available, data),
            ("no data", &set, DEFAULT_WALKS, false, Threads::Available, 0),
            ("walks 0", &set, 0, false, Threads::Available, data),
            ("walks 0, 1 thread", &set, 0, false, Threads::One, data),
            ("failing downs", &wrong, DEFAULT_WALKS, true, Threads::Available, data),
            ("branched", &branched, DEFAULT_WALKS, false, Threads::Available, data),
        ] {
            if !wanted(figure) {
                continue;
            }
            let mut row = Row { figure, n, samples: Vec::new(), floor: Vec::new() };
            for run in 0..runs {
                row.floor.push(floor_round_trip(set, scratch.path(), run)?);
                row.samples.push(harness_round_trip(set, walks, expect_failures, threads, seed_rows)?);
            }
            output::status("Measured", format!("{figure}, N = {n}"));
            rows.push(row);
        }
        if wanted("autogenerate") {
            rows.push(autogenerate(&set, n, runs)?);
            output::status("Measured", format!("autogenerate, N = {n} (floor: replaying head in memory)"));
        }
        // What the build script does (parse, graph, lock comparison, code generation), in
        // process; it has no floor.
        let dir = scratch.path().join(format!("chain-{n}"));
        let mut row = Row { figure: "build script", n, samples: Vec::new(), floor: Vec::new() };
        for _ in 0..if wanted(row.figure) { runs } else { 0 } {
            let started = Instant::now();
            retort_build::Embed::new(&dir).check(&dir, &dir).map_err(|f| anyhow::anyhow!("{:?}", f.problems))?;
            row.samples.push(started.elapsed());
        }
        if !row.samples.is_empty() {
            output::status("Measured", format!("build script, N = {n}"));
            rows.push(row);
        }
    }
    rows.extend(layouts(scratch.path(), LAYOUT_N, runs, &wanted)?);
    if flags.statements > 0 && wanted("long section") {
        rows.push(long_section(scratch.path(), flags.statements, runs)?);
        output::status("Measured", format!("one section of {} statements", flags.statements));
    }
    print_table(&rows);
    // The data round trip's cost: migrate-test against the same run without it.
    for n in &flags.n {
        let median_of =
            |figure: &str| rows.iter().find(|r| r.figure == figure && r.n == *n).map(|r| median(&r.samples));
        if let (Some(on), Some(off)) = (median_of("migrate-test"), median_of("no data")) {
            println!(
                "data round trip at N = {n}: migrate-test / no data = {:.3}",
                ms(on) / ms(off).max(f64::MIN_POSITIVE)
            );
        }
    }
    // Where the ratio to the floor comes from, one thread and no walks: a share of the floor
    // (the migration SQL) and a cost per migration that does not grow with the schema
    // (Retort's own statements), fitted over the chain lengths measured.
    let points: Vec<(usize, f64, f64)> = rows
        .iter()
        .filter(|r| r.figure == "walks 0, 1 thread" && !r.floor.is_empty())
        .map(|r| {
            let floor = median(&r.floor).as_secs_f64();
            let per_migration_us = floor * 1e6 / r.n.max(1) as f64;
            (r.n, per_migration_us, median(&r.samples).as_secs_f64() / floor.max(f64::MIN_POSITIVE))
        })
        .collect();
    if let Some((share, fixed_us)) = fit_share_and_fixed(&points.iter().map(|p| (p.1, p.2)).collect::<Vec<_>>()) {
        let ns: Vec<String> = points.iter().map(|p| p.0.to_string()).collect();
        println!(
            "walks 0, 1 thread, fitted over N = {}: ratio = {share:.3} + {fixed_us:.0} µs / (floor per migration): the SQL's share of the floor, and Retort's own cost per migration",
            ns.join(", ")
        );
    }
    if let Some(path) = &flags.json {
        std::fs::write(path, json(&rows)).with_context(|| format!("cannot write {}", path.display()))?;
        output::status("Wrote", path.display());
    }
    Ok(())
}

fn rerun_in_release() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    output::status("Rebuilding", "xtask in release mode for the benchmark");
    let status = std::process::Command::new(cargo)
        .args(["run", "--quiet", "--release", "--package", "retort-cli", "--bin", "cargo-retort", "--"])
        .args(&args)
        .status()
        .context("cannot run cargo")?;
    if status.success() { Ok(()) } else { Err(output::Failure("the release benchmark failed".into()).into()) }
}

fn fresh_db(dir: &Path, name: &str) -> anyhow::Result<(std::path::PathBuf, Connection)> {
    let path = dir.join(name);
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let conn = Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok((path, conn))
}

/// The floor: the same up SQL through rusqlite, one transaction per migration, no bookkeeping.
fn floor_upgrade(set: &MigrationSet, dir: &Path, run: usize) -> anyhow::Result<Duration> {
    let (_, conn) = fresh_db(dir, &format!("floor-{run}.db"))?;
    let started = Instant::now();
    for m in set.in_order() {
        conn.execute_batch("BEGIN")?;
        conn.execute_batch(&m.up.sql).with_context(|| format!("floor: {}", m.revision))?;
        conn.execute_batch("COMMIT")?;
    }
    Ok(started.elapsed())
}

/// The floor of `migrate-test`: the SQL run naively — up, down, up of every revision in
/// topological order through rusqlite, all in one transaction, no checks.
fn floor_round_trip(set: &MigrationSet, dir: &Path, run: usize) -> anyhow::Result<Duration> {
    let (_, conn) = fresh_db(dir, &format!("floor-rt-{run}.db"))?;
    let started = Instant::now();
    conn.execute_batch("BEGIN")?;
    for m in set.in_order() {
        let down = m.down.as_ref().map_or("", |d| d.sql.as_str());
        for sql in [m.up.sql.as_str(), down, m.up.sql.as_str()] {
            conn.execute_batch(sql).with_context(|| format!("floor: {}", m.revision))?;
        }
    }
    conn.execute_batch("COMMIT")?;
    Ok(started.elapsed())
}

/// The harness's steps 2-7 (no populate scripts): what `migrate-test` runs beyond the
/// directory checks, with a fixed walk seed so runs compare.
fn harness_round_trip(
    set: &MigrationSet,
    walks: u32,
    expect_failures: bool,
    threads: Threads,
    seed_rows: usize,
) -> anyhow::Result<Duration> {
    let options = retort::harness::Options {
        walks,
        seed: Some(1),
        populate: Vec::new(),
        check_proofs: false,
        threads,
        seed_rows,
        foreign_keys: false,
    };
    let started = Instant::now();
    let outcome = retort::harness::run(set, &options, &mut |_| {})?;
    let elapsed = started.elapsed();
    if outcome.failed.is_empty() == expect_failures {
        let what = outcome.failed.first().map_or("no failure".to_string(), ToString::to_string);
        anyhow::bail!("the generated chain did not fail as expected in migrate-test: {what}");
    }
    if let Some(dir) = outcome.kept_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(elapsed)
}

/// One migration whose up holds `statements` single-row INSERTs, applied by Retort (statement by
/// statement, with lines for errors, under the authorizer) against the floor of the same SQL
/// through `execute_batch` in one transaction.
fn long_section(dir: &Path, statements: usize, runs: usize) -> anyhow::Result<Row> {
    let migrations = dir.join("long-section");
    std::fs::create_dir_all(&migrations)?;
    let mut up = String::from("CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT NOT NULL);\n");
    for i in 0..statements {
        up.push_str(&format!("INSERT INTO big (id, label) VALUES ({i}, 'row {i}');\n"));
    }
    let revision = RevisionId::parse("0123456789ab").context("the benchmark's revision")?;
    let mut m = Migration::new(revision, "Long section", Vec::new(), "2025-01-01T00:00:00Z")
        .affecting("big", "created and filled")
        .with_sql(up.trim_end(), Some("DROP TABLE big;"));
    m.waivers.push(Waiver { kind: WaiverKind::DataChange, reason: "benchmark rows".into() });
    std::fs::write(migrations.join(&m.file), retort_build::migration::render(&m))?;
    let set = retort_build::load(&migrations, dir, retort_build::LockPolicy::Lenient)
        .into_set()
        .map_err(|p| anyhow::anyhow!("{p}"))?;
    let sql = set.in_order().next().map(|m| m.up.sql.clone()).unwrap_or_default();
    let mut row = Row { figure: "long section", n: statements, samples: Vec::new(), floor: Vec::new() };
    for run in 0..runs {
        let (_, conn) = fresh_db(dir, &format!("long-floor-{run}.db"))?;
        let started = Instant::now();
        conn.execute_batch("BEGIN")?;
        conn.execute_batch(&sql)?;
        conn.execute_batch("COMMIT")?;
        row.floor.push(started.elapsed());
        row.samples.push(retort_upgrade(&set, dir, run)?);
    }
    Ok(row)
}

/// The chain length of the per-layout figures.
const LAYOUT_N: usize = 300;
/// `revision --autogenerate`'s work (replay head in memory, load the desired schema, plan and
/// prove both directions) against its floor, replaying head in memory. The desired schema is
/// head's with a column added to its first table and a new table, index and view.
fn autogenerate(set: &MigrationSet, n: usize, runs: usize) -> anyhow::Result<Row> {
    let head = crate::schema::at_head(set, None)?;
    let text = head.to_sql();
    let end = text.find("\n);").context("the generated chain has no table")?;
    let desired = format!(
        "{},\n    bench_note TEXT DEFAULT ''{}\nCREATE TABLE bench_new (id INTEGER PRIMARY KEY, label TEXT NOT NULL);\nCREATE INDEX bench_new_label ON bench_new (label);\nCREATE VIEW bench_labels AS SELECT label FROM bench_new;\n",
        &text[..end],
        &text[end..]
    );
    let mut row = Row { figure: "autogenerate", n, samples: Vec::new(), floor: Vec::new() };
    for run in 0..runs {
        let floor = || -> anyhow::Result<Duration> {
            let started = Instant::now();
            crate::schema::at_head(set, None)?;
            Ok(started.elapsed())
        };
        let sample = || -> anyhow::Result<Duration> {
            let started = Instant::now();
            let head = crate::schema::at_head(set, None)?;
            let want = retort::autogen::Catalog::load(&desired)
                .map_err(|p| anyhow::anyhow!("the desired schema, line {}: {}", p.line, p.message))?;
            let g = retort::autogen::generate(&head, &want, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(g.changes.len() >= 4, "autogenerate missed changes: {:?}", g.changes);
            Ok(started.elapsed())
        };
        // Alternate which goes first, so neither always gets the warmer cache.
        if run % 2 == 0 {
            row.floor.push(floor()?);
            row.samples.push(sample()?);
        } else {
            row.samples.push(sample()?);
            row.floor.push(floor()?);
        }
    }
    Ok(row)
}

/// `migrate-test`'s reading and proving (lint and the harness, no walks to add on a linear
/// chain) of one generated linear chain written in each foreign layout, against the copy
/// `import` writes of it (the floor column): reading another tool's directory must cost no
/// more than reading Retort's.
fn layouts(dir: &Path, n: usize, runs: usize, wanted: &dyn Fn(&str) -> bool) -> anyhow::Result<Vec<Row>> {
    let figures = retort_build::Layout::ALL.into_iter().skip(1).filter(|l| wanted(&format!("layout {l}")));
    if figures.count() == 0 {
        return Ok(Vec::new());
    }
    let linear = Shape { fork_every: 0, ..Shape::DEFAULT };
    let set = retort::synth::write_shaped(&dir.join(format!("linear-{n}")), n, 42, linear)
        .context("cannot generate the chain")?;
    let mut rows = Vec::new();
    for layout in retort_build::Layout::ALL.into_iter().skip(1) {
        let figure: &'static str = match layout {
            retort_build::Layout::Diesel => "layout diesel",
            retort_build::Layout::Sqlx => "layout sqlx",
            retort_build::Layout::GolangMigrate => "layout golang-migrate",
            retort_build::Layout::Dbmate => "layout dbmate",
            _ => "layout refinery",
        };
        if !wanted(figure) {
            continue;
        }
        let foreign = dir.join(format!("{layout}-{n}"));
        write_layout(&set, layout, &foreign)?;
        let imported = dir.join(format!("{layout}-{n}-imported"));
        let out = std::process::Command::new(std::env::current_exe()?)
            .current_dir(dir)
            .args(["import", "--from", layout.name()])
            .args([&foreign, &imported])
            .output()
            .context("cannot run import")?;
        // A foreign migration has no header to waive a data change or a drop in, so the
        // schema-only rule fails some on both sides alike: import wrote its copy once it locked it.
        if !imported.join(retort_build::LOCK_FILE).is_file() {
            let report = String::from_utf8_lossy(&out.stderr);
            let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("error")).take(5).collect();
            anyhow::bail!("import --from {layout} of the generated chain failed:\n{}", failed.join("\n"));
        }
        let mut row = Row { figure, n, samples: Vec::new(), floor: Vec::new() };
        for run in 0..runs {
            // Alternate which goes first, so neither always gets the warmer cache.
            let mut order = [(layout, &foreign), (retort_build::Layout::Retort, &imported)];
            if run % 2 == 1 {
                order.reverse();
            }
            let mut findings = Vec::new();
            for (l, d) in order {
                // Both as `migrate-test --layout` runs the tool's directory (sqlx: keys enforced).
                let (took, failed) = prove_dir(d, dir, l, layout.enforces_foreign_keys())?;
                if l == layout {
                    row.samples.push(took)
                } else {
                    row.floor.push(took)
                }
                findings.push(failed);
            }
            if findings[0] != findings[1] {
                anyhow::bail!("{layout} and its imported copy gave different findings: {findings:?}");
            }
        }
        output::status("Measured", format!("{figure}, N = {n} (floor: the imported copy)"));
        rows.push(row);
    }
    Ok(rows)
}

/// Reads `migrations` in `layout`, lints it and runs the harness with `migrate-test`'s defaults
/// (foreign keys as `foreign_keys` says): the time, and the revision and check of each finding.
fn prove_dir(
    migrations: &Path,
    root: &Path,
    layout: retort_build::Layout,
    foreign_keys: bool,
) -> anyhow::Result<(Duration, Vec<String>)> {
    let started = Instant::now();
    let loaded = retort_build::layout::load(migrations, root, layout, retort_build::LockPolicy::Lenient);
    let set = loaded.set.ok_or_else(|| anyhow::anyhow!("{} does not read as {layout}", migrations.display()))?;
    let _ = retort_build::lint::lint(&set);
    let options = retort::harness::Options { seed: Some(1), foreign_keys, ..retort::harness::Options::default() };
    let outcome = retort::harness::run(&set, &options, &mut |_| {})?;
    let took = started.elapsed();
    let failed = outcome.failed.iter().map(|f| format!("{:?} {}", f.revision, f.check)).collect();
    Ok((took, failed))
}

/// Writes `set` (a linear chain) into `dir` as `layout`'s tool lays migrations out.
fn write_layout(set: &MigrationSet, layout: retort_build::Layout, dir: &Path) -> anyhow::Result<()> {
    use retort_build::Layout;
    std::fs::create_dir_all(dir)?;
    for (i, m) in set.in_order().enumerate() {
        let (up, down) = (&m.up.sql, m.down.as_ref().map_or("", |d| d.sql.as_str()));
        let (version, slug) = (i + 1, retort_build::migration::slug_of(&m.message));
        let write = |name: String, text: String| std::fs::write(dir.join(name), text);
        match layout {
            Layout::Diesel => {
                let sub = dir.join(format!("{:014}_{slug}", 20_240_101_000_000u64 + version as u64));
                std::fs::create_dir_all(&sub)?;
                std::fs::write(sub.join("up.sql"), format!("{up}\n"))?;
                std::fs::write(sub.join("down.sql"), format!("{down}\n"))?;
            }
            Layout::Sqlx | Layout::GolangMigrate => {
                write(format!("{version}_{slug}.up.sql"), format!("{up}\n"))?;
                write(format!("{version}_{slug}.down.sql"), format!("{down}\n"))?;
            }
            Layout::Dbmate => {
                write(format!("{version:06}_{slug}.sql"), format!("-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n"))?
            }
            Layout::Refinery => write(format!("V{version}__{slug}.sql"), format!("{up}\n"))?,
            Layout::Retort => anyhow::bail!("the Retort layout is the floor, not a figure"),
        }
    }
    Ok(())
}

fn retort_upgrade(set: &MigrationSet, dir: &Path, run: usize) -> anyhow::Result<Duration> {
    let (path, conn) = fresh_db(dir, &format!("retort-{run}.db"))?;
    drop(conn);
    let migrator = Migrator::new(set.clone());
    let started = Instant::now();
    let mut conn = retort::open(&path)?;
    migrator.upgrade(&mut conn, Target::Head, &mut |_| {})?;
    Ok(started.elapsed())
}

/// Least squares over `(floor per migration in µs, ratio)` points of `ratio = share + fixed /
/// floor per migration`: `(share, fixed in µs)`, or `None` without two distinct floors.
fn fit_share_and_fixed(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let xs: Vec<(f64, f64)> = points.iter().filter(|(f, _)| *f > 0.0).map(|(f, r)| (1.0 / f, *r)).collect();
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().map(|p| p.0).sum::<f64>() / n, xs.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if xs.len() < 2 || sxx <= f64::EPSILON * mx * mx {
        return None;
    }
    let fixed = xs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx;
    Some((my - fixed * mx, fixed))
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<22} {:>6} {:>11} {:>11} {:>11} {:>13} {:>7}",
        "figure", "N", "median ms", "min ms", "max ms", "floor med ms", "ratio"
    );
    for r in rows {
        let (med, floor) = (median(&r.samples), median(&r.floor));
        let min = r.samples.iter().min().copied().unwrap_or_default();
        let max = r.samples.iter().max().copied().unwrap_or_default();
        if r.floor.is_empty() {
            println!(
                "{:<22} {:>6} {:>11.1} {:>11.1} {:>11.1} {:>13} {:>7}",
                r.figure,
                r.n,
                ms(med),
                ms(min),
                ms(max),
                "-",
                "-"
            );
        } else {
            let ratio = med.as_secs_f64() / floor.as_secs_f64().max(f64::MIN_POSITIVE);
            println!(
                "{:<22} {:>6} {:>11.1} {:>11.1} {:>11.1} {:>13.1} {:>7.3}",
                r.figure,
                r.n,
                ms(med),
                ms(min),
                ms(max),
                ms(floor),
                ratio
            );
        }
    }
}

fn json(rows: &[Row]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            let (med, floor) = (median(&r.samples), median(&r.floor));
            let (floor, ratio) = if r.floor.is_empty() {
                ("null".to_string(), "null".to_string())
            } else {
                (format!("{:.3}", ms(floor)), format!("{:.4}", med.as_secs_f64() / floor.as_secs_f64().max(f64::MIN_POSITIVE)))
            };
            format!(
                "  {{\"figure\": \"{}\", \"n\": {}, \"median_ms\": {:.3}, \"min_ms\": {:.3}, \"max_ms\": {:.3}, \"floor_median_ms\": {floor}, \"ratio\": {ratio}}}",
                r.figure,
                r.n,
                ms(med),
                ms(r.samples.iter().min().copied().unwrap_or_default()),
                ms(r.samples.iter().max().copied().unwrap_or_default()),
            )
        })
        .collect();
    format!("[\n{}\n]\n", items.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::fit_share_and_fixed;

    #[test]
    fn the_fit_recovers_a_share_and_a_fixed_cost() {
        // ratio = 0.9 + 100 µs / floor per migration, at floors of 200, 1400 and 4400 µs.
        let points: Vec<(f64, f64)> = [200.0, 1400.0, 4400.0].iter().map(|f| (*f, 0.9 + 100.0 / f)).collect();
        let (share, fixed) = fit_share_and_fixed(&points).unwrap();
        assert!((share - 0.9).abs() < 1e-9 && (fixed - 100.0).abs() < 1e-6, "{share} {fixed}");
        assert_eq!(fit_share_and_fixed(&points[..1]), None, "one chain length");
        assert_eq!(fit_share_and_fixed(&[(300.0, 1.2), (300.0, 1.3)]), None, "one floor");
        assert_eq!(fit_share_and_fixed(&[]), None);
    }
}
