//! Every command and flag of the CLI (`cargo retort`, or a project's alias), declared once with
//! clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Retort: Alembic-grade migrations for Rust on SQLite.
#[derive(Debug, Parser)]
#[command(name = "cargo retort", version, about)]
pub struct Flags {
    /// The migrations directory (default: `migrations/` at the workspace root).
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// The directory's layout: retort, diesel, sqlx, golang-migrate, dbmate, refinery, or auto
    /// (detected, and said which). Another tool's directory is read as that tool reads it and
    /// never written to (default: `layout` in the retort table, else retort).
    #[arg(long, global = true, value_name = "NAME")]
    pub layout: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prove every migration: lock and graph checks, lint, up/down/up round trips with schema
    /// snapshots, random walks, populate idempotency, head to base.
    MigrateTest(MigrateTestFlags),
    /// Set this package up: the migrations directory with an empty lock, `.gitignore` lines, and
    /// the Cargo.toml, build.rs, src/lib.rs and snapshot-test snippets (written with --write).
    Init(InitFlags),
    /// Run the static lint: header completeness, data and destructive changes, `Tables affected`.
    Lint,
    /// Create a new migration revising the current head.
    Revision(RevisionFlags),
    /// Create a merge migration joining heads (by default all of them).
    Merge(MergeFlags),
    /// Compare a database with what its recorded revisions should have built; `--repair` prints
    /// (and `--apply` runs) the SQL that brings it back.
    Verify(VerifyFlags),
    /// Print the schema the migrations build at head as SQL (the desired-schema file's format).
    Schema(SchemaFlags),
    /// Run populate scripts (`migrations/populate/*.sql`) against a database.
    Populate(PopulateFlags),
    /// The pre-commit checklist: lock fresh, lint clean, single head, migrate-test green, and the
    /// schema at head equal to the desired schema (`schema.sql`) when there is one.
    Check(CheckFlags),
    /// Write `retort.lock` pinning every migration's checksum, or check that it is fresh.
    Lock(LockFlags),
    /// List the graph's heads.
    Heads,
    /// List branch points and the branches that start there.
    Branches,
    /// List revisions in topological order.
    History(HistoryFlags),
    /// Show one revision's header and SQL.
    Show(ShowFlags),
    /// Show the revisions a database is at.
    Current(DbFlags),
    /// Apply migrations up to a target (default `head`).
    Upgrade(UpgradeFlags),
    /// Revert migrations down to a target, after backing the database up.
    Downgrade(DowngradeFlags),
    /// Record a target in the history table without running any SQL.
    Stamp(StampFlags),
    /// Write another tool's migrations directory (diesel, sqlx, golang-migrate, dbmate, refinery)
    /// as Retort files: one linear chain, `Tables affected` from what each up really does; then
    /// lock and migrate-test them. SRC is never changed.
    Import(ImportFlags),
    /// Benchmark Retort against plain rusqlite on generated migration chains (release build).
    Bench(BenchFlags),
}

/// `init`.
#[derive(Debug, Args)]
pub struct InitFlags {
    /// Write the snippets into the package (only what is missing; nothing is overwritten)
    /// instead of printing them.
    #[arg(long)]
    pub write: bool,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportFlags {
    /// The layout SRC is in: diesel, sqlx, golang-migrate, dbmate, refinery, or auto.
    #[arg(long, value_name = "LAYOUT")]
    pub from: String,
    /// The directory to import.
    pub src: PathBuf,
    /// Where to write the Retort files (default: the configured migrations directory); it must
    /// be empty or not exist.
    pub dest: Option<PathBuf>,
}

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchFlags {
    /// Chain lengths to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1000])]
    pub n: Vec<usize>,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Statements in the one-section figure (single-row INSERTs; 0 skips it).
    #[arg(long, default_value_t = 100_000)]
    pub statements: usize,
    /// Also write the table as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Measure only the figures whose names contain one of these (e.g. `--figure walks`);
    /// all of them when absent.
    #[arg(long, value_delimiter = ',')]
    pub figure: Vec<String>,
}

/// The database a command works on.
#[derive(Debug, Args)]
pub struct DbFlags {
    /// The SQLite database file (default: `RETORT_DATABASE`, a `sqlite:` `DATABASE_URL`, or
    /// `database` in the project's `metadata.retort` table).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyFlags {
    /// The database.
    #[command(flatten)]
    pub db: DbFlags,
    /// Print the SQL that brings the schema back to what the recorded revisions build: missing
    /// objects recreated, changed tables rebuilt keeping their rows; extra objects are listed.
    #[arg(long)]
    pub repair: bool,
    /// With --repair: back the database up, run that SQL in one transaction, verify again.
    #[arg(long, requires = "repair")]
    pub apply: bool,
    /// With --repair: drop the objects no recorded migration creates, instead of listing them.
    #[arg(long, requires = "repair")]
    pub drop_extra: bool,
}

/// `schema`.
#[derive(Debug, Args)]
pub struct SchemaFlags {
    /// Write it to the desired-schema file (only when that file does not exist yet).
    #[arg(long)]
    pub write: bool,
    /// The desired-schema file (default: `schema` in the retort table, else `schema.sql` beside
    /// the migrations directory).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// `check`.
#[derive(Debug, Args, Default)]
pub struct CheckFlags {
    /// The desired-schema file (default: `schema` in the retort table, else `schema.sql` beside
    /// the migrations directory).
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

/// `upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeFlags {
    /// The database.
    #[command(flatten)]
    pub db: DbFlags,
    /// `head`, `heads`, a revision, unique prefix, label, `label@head`, or `+N`.
    #[arg(default_value = "head", allow_hyphen_values = true)]
    pub target: String,
    /// Print the SQL script instead of running it; the database is only read.
    #[arg(long)]
    pub sql: bool,
}

/// `downgrade`.
#[derive(Debug, Args)]
pub struct DowngradeFlags {
    /// The database.
    #[command(flatten)]
    pub db: DbFlags,
    /// A revision, unique prefix, label, `-N`, or `base`.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    /// Print the SQL script instead of running it; the database is only read.
    #[arg(long)]
    pub sql: bool,
    /// Do not back the database up first.
    #[arg(long)]
    pub no_backup: bool,
}

/// `stamp`.
#[derive(Debug, Args)]
pub struct StampFlags {
    /// The database.
    #[command(flatten)]
    pub db: DbFlags,
    /// `head`, `heads`, a revision, unique prefix, label, or `base`.
    pub target: String,
}

pub use retort::harness::DEFAULT_WALKS;

/// `migrate-test`.
#[derive(Debug, Args, Clone)]
pub struct MigrateTestFlags {
    /// Number of proptest random walks over the graph's branch windows (0 skips them; a linear
    /// graph has none to walk).
    #[arg(long, default_value_t = DEFAULT_WALKS)]
    pub walks: u32,
    /// Seed for the walks and the data round trip's rows (printed on every run, so a failure
    /// can be replayed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Accept a graph with several heads (otherwise a merge migration is required).
    #[arg(long)]
    pub allow_multiple_heads: bool,
    /// Skip the data round trip: compare schemas only, on empty tables.
    #[arg(long)]
    pub no_data: bool,
    /// Rows the data round trip seeds into each table an up creates.
    #[arg(long, value_name = "N", default_value_t = retort::harness::DEFAULT_SEED_ROWS)]
    pub seed_rows: usize,
    /// Enforce foreign keys in every step, as the application does (default: as the layout's
    /// tool does: on for sqlx, off for Retort, diesel, golang-migrate, dbmate and refinery).
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    pub foreign_keys: Option<String>,
    /// Keep a lock for another tool's directory in FILE, outside it: written when FILE does not
    /// exist, checked (checksum drift, missing or new migrations) when it does.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Also fail when the schema at head differs from the desired schema (FILE, default:
    /// `schema` in the retort table, else `schema.sql` beside the migrations directory).
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub schema: Option<Option<PathBuf>>,
}

impl MigrateTestFlags {
    /// `migrate-test` as `check` runs it: every default.
    pub fn defaults() -> MigrateTestFlags {
        MigrateTestFlags {
            walks: DEFAULT_WALKS,
            seed: None,
            allow_multiple_heads: false,
            no_data: false,
            seed_rows: retort::harness::DEFAULT_SEED_ROWS,
            foreign_keys: None,
            lock: None,
            schema: None,
        }
    }
}

/// `revision`.
#[derive(Debug, Args)]
pub struct RevisionFlags {
    /// The migration message (its first header line; the file name's slug comes from it).
    #[arg(short, long)]
    pub message: String,
    /// The revision to build on, when there are several heads.
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// A branch label for the new revision (usable as `LABEL@head`).
    #[arg(long, value_name = "LABEL")]
    pub branch_label: Vec<String>,
    /// A revision that must be applied before this one (across branches).
    #[arg(long, value_name = "REV")]
    pub depends_on: Vec<String>,
    /// Write the up and down that turn the schema at head into the desired schema
    /// (`schema.sql`), proven both ways on in-memory copies.
    #[arg(long)]
    pub autogenerate: bool,
    /// With --autogenerate: `old_table=new_table` or `table.old_column=new_column`, a rename
    /// instead of a drop and an add (renames are never guessed).
    #[arg(long, value_name = "OLD=NEW", requires = "autogenerate")]
    pub rename: Vec<String>,
    /// With --autogenerate: the desired-schema file (default: `schema` in the retort table, else
    /// `schema.sql` beside the migrations directory).
    #[arg(long, value_name = "FILE", requires = "autogenerate")]
    pub schema: Option<PathBuf>,
}

/// `merge`.
#[derive(Debug, Args)]
pub struct MergeFlags {
    /// The merge migration's message.
    #[arg(short, long)]
    pub message: String,
    /// The heads to join (default: every head).
    pub revisions: Vec<String>,
}

/// `populate`.
#[derive(Debug, Args)]
pub struct PopulateFlags {
    /// The database.
    #[command(flatten)]
    pub db: DbFlags,
    /// Scripts to run, by file name with or without `.sql` (default: all, in name order).
    pub names: Vec<String>,
}

/// `lock`.
#[derive(Debug, Args)]
pub struct LockFlags {
    /// Write nothing; exit 1 and list what is stale when the lock would change.
    #[arg(long)]
    pub check: bool,
    /// Re-pin this revision after an edit (only for a migration never applied anywhere).
    #[arg(long, value_name = "REV")]
    pub relock: Vec<String>,
}

/// `history`.
#[derive(Debug, Args)]
pub struct HistoryFlags {
    /// A range `A:B` (either side may be empty): revisions after A up to and including B.
    #[arg(short = 'r', long = "rev-range", value_name = "A:B")]
    pub range: Option<String>,
    /// Show parents, dependencies, labels, date and file for each revision.
    #[arg(short, long)]
    pub verbose: bool,
    /// List the revisions applied to this database instead, with time and duration.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowFlags {
    /// A revision, unique prefix (4+ digits), branch label or `label@head`.
    pub revision: String,
}
