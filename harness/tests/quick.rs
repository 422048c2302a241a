use std::path::Path;
#[test]
fn smoke() {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let set = retort_build::load(&ws.join("migrations"), ws, false).into_set().unwrap();
    let m = retort::Migrator::new(set);
    let dir = tempfile::tempdir().unwrap();
    let conn = retort::open(&dir.path().join("a.db")).unwrap();
    let r = m.upgrade(&conn, retort::Target::Head, &mut |s| eprintln!("{s:?}")).unwrap();
    eprintln!("{}", retort::Schema::read(&conn).unwrap());
    let r2 = m.downgrade(&conn, retort::Target::Base, retort::DowngradeOptions { backup: true }, &mut |s| eprintln!("{s:?}")).unwrap();
    eprintln!("{:?} {:?}", r.steps.len(), r2.backup);
    eprintln!("{}", retort::Schema::read(&conn).unwrap());
}
