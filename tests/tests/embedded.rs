//! The embedded migrations (what `build.rs` generated) drive the migrator exactly like the
//! directory they came from.

use retort::{Migrator, Schema, Target};
use rusqlite::Connection;

fn head_schema(migrator: &Migrator) -> Schema {
    let mut conn = Connection::open_in_memory().unwrap();
    let report = migrator.upgrade(&mut conn, Target::Head, &mut |_| {}).unwrap();
    assert_eq!(report.steps.len(), migrator.set().len());
    Schema::read(&conn).unwrap()
}

#[test]
fn embedded_and_directory_migrations_agree() {
    let embedded = Migrator::embedded(&retort_example::MIGRATIONS).expect("the embedded migrations load");
    let dir = Migrator::from_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
        .expect("the directory loads");
    assert_eq!(embedded.set().order(), dir.set().order());
    for rev in embedded.set().order() {
        assert_eq!(embedded.set().checksum(rev), dir.set().checksum(rev));
    }
    assert_eq!(retort_example::MIGRATIONS.entries().len(), dir.set().len());
    assert_eq!(head_schema(&embedded), head_schema(&dir));
}
