//! Helpers of the unit tests.

use std::path::{Path, PathBuf};

/// Writes `contents` to the file `name` in `dir` and returns its path.
pub fn file(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// A new temporary folder holding the file `name` with `contents`, and
/// that file's path; the folder is removed when the first is dropped.
pub fn temp_file(name: &str, contents: impl AsRef<[u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), name, contents);
    (dir, path)
}

/// Asserts that only the owner may read or write `path` (on Unix).
pub fn assert_owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    #[cfg(not(unix))]
    let _ = path;
}
