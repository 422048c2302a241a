//! The static lint (SPEC §8 step 2, `cargo xtask lint`): what a migration's SQL does, read from
//! its text without a database.
//!
//! Guarantees: every finding names the file and the line of the statement; a finding that an
//! `Allow:` waiver covers is not reported.
