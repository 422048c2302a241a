//! `cargo xtask`: dispatches to the `retort_cli` library.
fn main() -> std::process::ExitCode {
    retort_cli::main()
}
