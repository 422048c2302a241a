//! Embeds the workspace's example migrations and fails the build when a locked one drifted.
fn main() {
    retort_build::Embed::new("../migrations").command("cargo xtask").run_or_exit();
}
