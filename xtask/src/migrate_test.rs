//! `cargo xtask migrate-test` (SPEC §8) and `cargo xtask lint`: step 1 (directory, graph, lock,
//! heads) and the static lint here, steps 2–7 in `retort::harness`, and the insta schema
//! snapshots through the consumer crate's test. Last line: `N passed, N failed`.

use std::path::Path;

use anstyle::{AnsiColor, Style};
use anyhow::Context as _;
use retort::harness::{Event, Finding, Options, Threads};
use retort_build::{Loaded, LockPolicy, MigrationSet, Problem};

use crate::Context;
use crate::flags::{CheckFlags, MigrateTestFlags};
use crate::output::{self, Failure};

const RED: Style = AnsiColor::Red.on_default().bold();

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn pass(&mut self, check: &str, subject: impl std::fmt::Display) {
        self.passed += 1;
        output::status("Passed", format!("{check}: {subject}"));
    }

    fn fail(&mut self, text: impl std::fmt::Display) {
        self.failed += 1;
        anstream::eprintln!("{RED}{:>12}{RED:#} {text}", "FAILED");
    }

    fn problems(&mut self, cx: &Context, check: &str, problems: &[Problem]) -> bool {
        let errors: Vec<&Problem> = problems.iter().filter(|p| p.is_error()).collect();
        for p in problems {
            output::diagnostic(cx, p);
        }
        if errors.is_empty() {
            self.pass(check, "ok");
            true
        } else {
            self.fail(format!("{check}: {} problem(s) above", errors.len()));
            false
        }
    }
}

/// `lint`: the static lint on every migration, with `file:line` diagnostics.
pub fn lint(cx: &Context) -> anyhow::Result<()> {
    let set = cx.set()?;
    let problems = retort_build::lint::lint(&set);
    output::diagnostics(cx, &problems)?;
    output::status("Linted", format!("{} migrations, no findings", set.len()));
    Ok(())
}

/// `check`: the pre-commit checklist, one verdict line per item on stdout.
pub fn check(cx: &Context, flags: &CheckFlags) -> anyhow::Result<()> {
    let mut verdicts: Vec<(String, bool)> = Vec::new();
    let loaded = cx.load(LockPolicy::Strict);
    for p in &loaded.problems {
        output::diagnostic(cx, p);
    }
    verdicts.push(("lock fresh and directory valid".into(), !loaded.problems.iter().any(Problem::is_error)));
    let lint = loaded.set.as_ref().map(retort_build::lint::lint);
    for p in lint.iter().flatten() {
        output::diagnostic(cx, p);
    }
    verdicts.push(("lint clean".into(), lint.is_some_and(|l| l.is_empty())));
    verdicts.push(("single head".into(), loaded.set.as_ref().is_some_and(|s| s.graph().heads().len() <= 1)));
    // The desired schema, when the project keeps one (or names one with --schema).
    let file = cx.schema_file(flags.schema.as_deref());
    let shown = cx.show(&file).display().to_string();
    match &loaded.set {
        Some(set) if flags.schema.is_some() || file.exists() => {
            let same = match crate::schema::compare(cx, set, &file) {
                Ok(changes) => changes.is_empty(),
                Err(e) => {
                    output::status("Error", format!("{e:#}"));
                    false
                }
            };
            verdicts.push((format!("schema at head equals {shown}"), same));
        }
        Some(_) => output::status(
            "Note",
            format!("no desired schema ({shown}) to compare with; `{}` writes one", cx.run("schema --write")),
        ),
        None => verdicts.push((format!("schema at head equals {shown}"), false)),
    }
    let flags = MigrateTestFlags::defaults();
    // The directory as read above, not a second time.
    let green = loaded.set.is_some() && run_loaded(cx, loaded, &flags).is_ok();
    verdicts.push(("migrate-test green".into(), green));
    for (item, ok) in &verdicts {
        println!("{} {item}", if *ok { "ok    " } else { "FAILED" });
    }
    let failed = verdicts.iter().filter(|(_, ok)| !ok).count();
    if failed > 0 {
        return Err(Failure(format!("{failed} of {} checks failed", verdicts.len())).into());
    }
    Ok(())
}

/// `migrate-test`.
pub fn run(cx: &Context, flags: &MigrateTestFlags) -> anyhow::Result<()> {
    if let Some(file) = &flags.lock {
        let shown = cx.show(file);
        if cx.layout == retort_build::Layout::Retort {
            anyhow::bail!(
                "`--lock {}`: Retort's own layout keeps its lock in {}; `--lock` is for another tool's directory (`--layout`)",
                shown.display(),
                cx.show(&cx.dir.join(retort_build::LOCK_FILE)).display()
            );
        }
        if crate::context::same_or_inside(file, &cx.dir) {
            anyhow::bail!(
                "`--lock {}` is inside {}, which Retort only reads; keep the lock outside it",
                shown.display(),
                cx.show(&cx.dir).display()
            );
        }
    }
    run_loaded(cx, cx.load(LockPolicy::Strict), flags)
}

/// `--lock FILE` on another tool's directory: pins the checksums when FILE does not exist,
/// compares them when it does.
fn foreign_lock(cx: &Context, tally: &mut Tally, set: &MigrationSet, file: &Path) -> anyhow::Result<()> {
    let shown = cx.show(file);
    let again = format!("{} migrate-test --lock {}", cx.command, crate::context::shell_word(&shown.to_string_lossy()));
    match std::fs::read_to_string(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::context::write_new_file(file, &shown, &retort_build::Lock::of(set).render())?;
            tally.pass(
                "lock",
                format!("{} migrations pinned in {} (`{again}` checks them)", set.len(), shown.display()),
            );
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", shown.display())),
        Ok(text) => {
            let problems = match retort_build::Lock::parse(&shown, &text) {
                Err(problems) => problems,
                Ok(lock) => retort_build::LockStatus::compare(&lock, set).problems(set, &shown, LockPolicy::Strict),
            };
            let help = format!(
                "{} pinned these migrations; if the change is intended, delete it and run `{again}` to pin what is there now",
                shown.display()
            );
            let problems: Vec<Problem> = problems.into_iter().map(|p| p.with_help(help.clone())).collect();
            tally.problems(cx, "lock", &problems);
        }
    }
    Ok(())
}

/// `migrate-test` on the directory as `loaded` read it (strictly).
fn run_loaded(cx: &Context, loaded: Loaded, flags: &MigrateTestFlags) -> anyhow::Result<()> {
    let mut tally = Tally::default();
    tally.problems(cx, "directory, graph and lock", &loaded.problems);
    let scripts = loaded.populate;
    let Some(set) = loaded.set else {
        // Without a valid graph nothing else can run; the problems above say why.
        return finish(tally);
    };
    if let Some(file) = &flags.lock {
        foreign_lock(cx, &mut tally, &set, file)?;
    }
    check_heads(cx, &mut tally, &set, flags.allow_multiple_heads);
    tally.problems(cx, "lint", &retort_build::lint::lint(&set));
    let options = Options {
        walks: flags.walks,
        seed: flags.seed,
        populate: scripts,
        check_proofs: false,
        threads: Threads::Available,
        seed_rows: if flags.no_data { 0 } else { flags.seed_rows },
        foreign_keys: match flags.foreign_keys.as_deref() {
            Some(on_off) => on_off == "on",
            None => cx.layout.enforces_foreign_keys(),
        },
    };
    let mut progress = Progress::new(set.len());
    let outcome = retort::harness::run(&set, &options, &mut |event| match event {
        Event::Passed { check: "round trip", subject } if progress.enabled => progress.advance(&subject),
        Event::Passed { check, subject } => {
            progress.clear();
            output::status("Passed", format!("{check}: {subject}"));
        }
        Event::Failed(finding) => {
            progress.clear();
            print_finding(&set, finding);
        }
        Event::Note { verb, text } => {
            progress.clear();
            output::status(verb, text);
        }
    })
    .map_err(crate::db::db_error)?;
    progress.finish();
    tally.passed += outcome.passed;
    tally.failed += outcome.failed.len();
    if let Some(dir) = &outcome.kept_dir {
        output::status("Kept", format!("failing databases in {}", dir.display()));
    }
    if let Some(file) = &flags.schema {
        let file = cx.schema_file(file.as_deref());
        let shown = cx.show(&file).display().to_string();
        match crate::schema::compare(cx, &set, &file) {
            Ok(changes) if changes.is_empty() => tally.pass("schema", format!("head equals {shown}")),
            Ok(changes) => tally.fail(format!(
                "schema: head differs from {shown} in {} object(s) above; write the migration with `{}`, or fix {shown}",
                changes.len(),
                cx.run("revision --autogenerate -m \"…\"")
            )),
            Err(e) => tally.fail(format!("schema: {e:#}")),
        }
    }
    if cx.layout == retort_build::Layout::Retort {
        snapshots(&mut tally, cx);
    } else {
        let text = format!(
            "schema snapshots not run: they live in a crate that embeds Retort-format migrations; `{} import --from {} {} DEST` writes such a copy",
            cx.config.command(),
            cx.layout,
            crate::context::shell_word(&cx.show(&cx.dir).to_string_lossy())
        );
        output::status("Note", text);
    }
    finish(tally)
}

/// On a terminal, the round trips show as one progress line instead of a line each.
struct Progress {
    enabled: bool,
    total: usize,
    done: usize,
    drawn: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        use std::io::IsTerminal;
        Progress { enabled: std::io::stderr().is_terminal(), total, done: 0, drawn: false }
    }

    fn advance(&mut self, subject: &str) {
        self.done += 1;
        let width = 30;
        let filled = width * self.done / self.total.max(1);
        let bar: String = "=".repeat(filled) + &" ".repeat(width - filled.min(width));
        let subject: String = subject.chars().take(50).collect();
        anstream::eprint!("\r\x1b[2K{:>12} [{bar}] {}/{} {subject}", "Round trip", self.done, self.total);
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            anstream::eprint!("\r\x1b[2K");
            self.drawn = false;
        }
    }

    fn finish(&mut self) {
        if self.enabled && self.done > 0 {
            self.clear();
            output::status("Passed", format!("round trip: {} of {} revisions", self.done, self.total));
        }
    }
}

fn check_heads(cx: &Context, tally: &mut Tally, set: &MigrationSet, allow_multiple: bool) {
    let heads = set.graph().heads();
    if heads.len() <= 1 || allow_multiple {
        tally.pass("heads", format!("{} head(s)", heads.len()));
    } else {
        let list: Vec<String> = heads.iter().map(ToString::to_string).collect();
        tally.fail(format!(
            "heads: {} heads ({}); join them with `{}`, or pass `--allow-multiple-heads`",
            heads.len(),
            list.join(", "),
            cx.run("merge -m \"…\"")
        ));
    }
}

/// A finding, and for a foreign migration the tool's version and the file of the side that
/// failed, on the line under it.
fn print_finding(set: &MigrationSet, finding: &Finding) {
    let mut lines = finding.to_string();
    let m = finding.revision.and_then(|rev| set.get(&rev));
    if let Some(m) = m
        && let Some(origin) = &m.origin
    {
        let file = match finding.direction {
            Some(retort::Direction::Down) => m.down_file(),
            _ => m.up_file(),
        };
        let (first, rest) = lines.split_once('\n').map_or((lines.as_str(), ""), |(a, b)| (a, b));
        let rest = if rest.is_empty() { String::new() } else { format!("\n{rest}") };
        lines = format!("{first}\n{origin}: {}{rest}", file.display());
    }
    lines = lines.replace('\n', "\n             ");
    anstream::eprintln!("{RED}{:>12}{RED:#} {lines}", "FAILED");
}

/// Step 4: the project's schema snapshot test (`snapshots.rs`).
fn snapshots(tally: &mut Tally, cx: &Context) {
    match crate::snapshots::check(cx) {
        crate::snapshots::Verdict::Passed(subject) => tally.pass("schema snapshots", subject),
        crate::snapshots::Verdict::Failed(text) => tally.fail(text),
        crate::snapshots::Verdict::Skipped(text) => output::status("Note", text),
    }
}

fn finish(tally: Tally) -> anyhow::Result<()> {
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed > 0 {
        // The tally above is the report; it stays the last line.
        return Err(Failure(String::new()).into());
    }
    Ok(())
}
