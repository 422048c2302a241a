//! `cargo-retort`: `cargo retort <command>` (and this repository's `cargo xtask` alias),
//! dispatching to the `retort_cli` library.
#![allow(unsafe_code)] // One call: SQLite's allocation statistics off before any thread uses SQLite.
fn main() -> std::process::ExitCode {
    // SAFETY: the first thing the process does; no thread has used SQLite yet.
    unsafe { retort::disable_allocation_statistics() };
    retort_cli::main()
}
