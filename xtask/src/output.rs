//! Terminal manners: Cargo-style status lines and rustc-shaped diagnostics on stderr, colour only
//! on a terminal and never with `NO_COLOR` (anstream decides), results alone on stdout; and the
//! mapping of outcomes to exit codes (0 success, 1 a check found a problem, 2 usage or internal).

use std::fmt;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use retort_build::{Problem, Severity};

use crate::context::Context;

/// An error meaning "a check found a problem" (exit 1); any other error exits 2.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// Returns `Err(Failure)` carrying `message`.
pub fn fail<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(Failure(message.into()).into())
}

/// An error of the migrator, with the exit code the CLI gives it; printed in rustc's shape.
#[derive(Debug)]
pub struct DbError {
    /// The error.
    pub error: retort::Error,
    /// 1 when a check found a problem, 2 for usage and internal errors.
    pub code: u8,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const STATUS: Style = AnsiColor::Green.on_default().bold();
const BLUE: Style = AnsiColor::Blue.on_default().bold();

/// Prints a Cargo-style status line: the verb right-aligned in 12 columns, in green.
pub fn status(verb: &str, rest: impl fmt::Display) {
    anstream::eprintln!("{STATUS}{verb:>12}{STATUS:#} {rest}");
}

/// Prints `problem` in rustc's shape, its help naming commands as `cx` says the user runs them.
pub fn diagnostic(cx: &Context, problem: &Problem) {
    let (word, style) = match problem.severity {
        Severity::Error => ("error", ERROR),
        Severity::Warning => ("warning", WARNING),
    };
    anstream::eprintln!("{style}{word}{style:#}: {}", problem.kind);
    anstream::eprintln!("  {BLUE}-->{BLUE:#} {}", problem.location);
    if let Some(help) = problem.help_text(&cx.command) {
        anstream::eprintln!("   {BLUE}={BLUE:#} help: {help}");
    }
}

/// Prints every problem, then returns a `Failure` if any is an error.
pub fn diagnostics(cx: &Context, problems: &[Problem]) -> anyhow::Result<()> {
    for p in problems {
        diagnostic(cx, p);
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    if errors > 0 {
        return fail(format!("{errors} problem{} found", if errors == 1 { "" } else { "s" }));
    }
    Ok(())
}

/// Prints an error line.
pub fn error_line(message: impl fmt::Display) {
    anstream::eprintln!("{ERROR}error{ERROR:#}: {message}");
}

/// Turns a command's result into the process exit code, printing the error chain.
pub fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(db) = e.downcast_ref::<DbError>() {
                let d = db.error.diagnostic();
                error_line(&d.message);
                if let Some((file, line)) = &d.location {
                    anstream::eprintln!("  {BLUE}-->{BLUE:#} {}:{line}", file.display());
                }
                if let Some(help) = &d.help {
                    anstream::eprintln!("   {BLUE}={BLUE:#} help: {help}");
                }
                return ExitCode::from(db.code);
            }
            let is_failure = e.downcast_ref::<Failure>().is_some();
            // A failure with no message has already been reported (migrate-test's tally line
            // must stay the last line).
            if e.downcast_ref::<Failure>().is_some_and(|f| f.0.is_empty()) {
                return ExitCode::from(1);
            }
            error_line(&e);
            // Print each cause once: messages that already quote their cause skip it.
            let mut shown = e.to_string();
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    anstream::eprintln!("  caused by: {text}");
                }
                shown = text;
            }
            ExitCode::from(if is_failure { 1 } else { 2 })
        }
    }
}
