//! Where a project is: its Cargo workspace root, found from any directory inside it, and paths
//! shown relative to it. The build script, the CLI and the tests all find the root here.

use std::path::{Path, PathBuf};

/// The root of the Cargo project holding `start`: the nearest ancestor (itself included) whose
/// `Cargo.toml` has a `[workspace]` table (or any `[workspace.…]` table); else the nearest
/// ancestor with a `Cargo.toml` (a package outside any workspace); else `start`.
pub fn workspace_root(start: &Path) -> PathBuf {
    let manifest = |dir: &Path| std::fs::read_to_string(dir.join("Cargo.toml")).ok();
    let declares_workspace = |text: &str| {
        text.lines().map(str::trim_start).any(|l| l.starts_with("[workspace]") || l.starts_with("[workspace."))
    };
    start
        .ancestors()
        .find(|dir| manifest(dir).is_some_and(|t| declares_workspace(&t)))
        .or_else(|| start.ancestors().find(|dir| dir.join("Cargo.toml").is_file()))
        .unwrap_or(start)
        .to_path_buf()
}

/// The path shown for `path`: relative to `root` when inside it.
pub fn display_path(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots() {
        let tmp = tempfile::tempdir().unwrap();
        let at = |p: &str| tmp.path().join(p);
        let write = |p: &str, text: &str| {
            std::fs::create_dir_all(at(p).parent().unwrap()).unwrap();
            std::fs::write(at(p), text).unwrap();
        };
        write("ws/Cargo.toml", "[workspace]\nmembers = [\"app\"]\n");
        write("ws/app/Cargo.toml", "[package]\nname = \"app\"\n");
        std::fs::create_dir_all(at("ws/app/src/deep")).unwrap();
        write("ws2/Cargo.toml", "# shared settings\n[workspace.package]\nedition = \"2021\"\n");
        write("ws2/app/Cargo.toml", "[package]\nname = \"app\"\n[dependencies]\nworkspace-hack = \"1\"\n");
        write("lone/Cargo.toml", "[package]\nname = \"lone\"\n");
        std::fs::create_dir_all(at("lone/src")).unwrap();
        std::fs::create_dir_all(at("nothing/here")).unwrap();

        assert_eq!(workspace_root(&at("ws/app/src/deep")), at("ws"));
        assert_eq!(workspace_root(&at("ws")), at("ws"));
        assert_eq!(workspace_root(&at("ws2/app")), at("ws2"), "a `[workspace.…]` table declares one");
        assert_eq!(workspace_root(&at("lone/src")), at("lone"), "a package outside any workspace");
        let none = at("nothing/here");
        // No Cargo.toml above (unless the temp folder sits inside a project): `start` itself.
        if !tmp.path().ancestors().any(|d| d.join("Cargo.toml").is_file()) {
            assert_eq!(workspace_root(&none), none);
        }
    }

    #[test]
    fn shown_paths() {
        assert_eq!(display_path(Path::new("/p"), Path::new("/p/migrations/a.sql")), Path::new("migrations/a.sql"));
        assert_eq!(display_path(Path::new("/p"), Path::new("/q/a.sql")), Path::new("/q/a.sql"));
    }
}
