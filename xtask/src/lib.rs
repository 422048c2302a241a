//! `retort_cli`: the Retort command line as a library. Installed, it is `cargo retort <command>`
//! (binary `cargo-retort`); a project's own xtask calls `retort_cli::main()` (or
//! `retort_cli::run(args)`) in one line, and names itself with `command = "cargo xtask"` in its
//! `[workspace.metadata.retort]` table so every hint says what the user types.

mod authoring;
mod bench;
mod config;
mod context;
mod db;
mod flags;
mod graph_cmds;
mod import;
mod init;
mod lock;
mod migrate_test;
mod output;
mod schema;
mod snapshots;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::config::Config;

pub use context::Context;
pub use flags::{Command, Flags};
pub use output::Failure;

/// Parses the process arguments and runs the command; exit codes per SPEC §9. Run as
/// `cargo retort …`, cargo passes `retort` as the first argument: it is dropped.
pub fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "retort") {
        args.remove(1);
    }
    run(args)
}

/// Parses `args` (the first one is the program name) and runs the command.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // Usage lines name the command as the project runs it (its configured `command`).
    let name = std::env::current_dir()
        .ok()
        .and_then(|here| Config::find(&here, &retort_build::workspace_root(&here)).ok())
        .unwrap_or_default()
        .command();
    let parsed = Flags::command()
        .bin_name(name)
        .try_get_matches_from(args)
        .and_then(|matches| Flags::from_arg_matches(&matches));
    let flags = match parsed {
        Ok(flags) => flags,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    output::finish(dispatch(flags))
}

fn dispatch(flags: Flags) -> anyhow::Result<()> {
    let migrations = flags.migrations;
    let layout = flags.layout;
    // Every command but `bench` (which generates its own migrations) and `init` (which creates
    // the directory) works on an existing migrations directory, in its layout.
    let cx = || Context::new(migrations.as_deref(), layout.as_deref());
    // Commands that write into the directory work on Retort's layout only.
    let writable = |command: &str| cx().and_then(|cx| cx.writable(command).map(|()| cx));
    match flags.command {
        Command::Bench(f) => bench::run(&f),
        // An explicit DEST needs no project around it; the default is the configured directory.
        Command::Import(f) => import::run(&Context::locate(f.dest.as_deref().or(migrations.as_deref()))?, &f),
        Command::Init(f) => {
            if layout.as_deref().is_some_and(|l| l != "retort") {
                anyhow::bail!(
                    "`init` sets up Retort's own layout; another tool's directory needs no setup: pass `--layout` to the other commands"
                );
            }
            init::run(&Context::locate(migrations.as_deref())?, &f)
        }
        Command::MigrateTest(f) => migrate_test::run(&cx()?, &f),
        Command::Lint => migrate_test::lint(&cx()?),
        Command::Revision(f) => authoring::revision(&writable("revision")?, &f),
        Command::Merge(f) => authoring::merge(&writable("merge")?, &f),
        Command::Verify(f) => verify::verify(&cx()?, &f),
        Command::Populate(f) => verify::populate(&cx()?, &f),
        Command::Check(f) => migrate_test::check(&cx()?, &f),
        Command::Schema(f) => schema::schema(&cx()?, &f),
        Command::Lock(f) => lock::run(&writable("lock")?, &f),
        Command::Heads => graph_cmds::heads(&cx()?),
        Command::Branches => graph_cmds::branches(&cx()?),
        Command::History(f) => graph_cmds::history(&cx()?, &f),
        Command::Show(f) => graph_cmds::show(&cx()?, &f),
        Command::Current(f) => db::current(&cx()?, &f),
        Command::Upgrade(f) => db::upgrade(&cx()?, &f),
        Command::Downgrade(f) => db::downgrade(&cx()?, &f),
        Command::Stamp(f) => db::stamp(&cx()?, &f),
    }
}
