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

/// The path shown for `path` to a user standing in `base`: relative to `base` (`.` for `base`
/// itself, `..` steps when `path` is beside or above it inside the same top-level folder), else
/// `path` as it is.
pub fn display_path(base: &Path, path: &Path) -> PathBuf {
    if let Ok(inside) = path.strip_prefix(base) {
        return if inside.as_os_str().is_empty() { PathBuf::from(".") } else { inside.to_path_buf() };
    }
    let (ours, theirs): (Vec<_>, Vec<_>) = (base.components().collect(), path.components().collect());
    let common = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
    // Sharing only the filesystem root (or nothing) says nothing useful: show the path whole.
    let shares_a_folder = common > usize::from(path.has_root());
    if !shares_a_folder || !base.is_absolute() || !path.is_absolute() {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    out.extend(std::iter::repeat_n("..", ours.len() - common));
    out.extend(&theirs[common..]);
    out
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
        assert_eq!(display_path(Path::new("/p/app/src"), Path::new("/p/migrations")), Path::new("../../migrations"));
        assert_eq!(display_path(Path::new("/p/app"), Path::new("/p")), Path::new(".."));
        assert_eq!(display_path(Path::new("/p"), Path::new("/p")), Path::new("."));
    }
}
