//! Helpers shared by host-gen's integration tests.

use std::path::{Path, PathBuf};

/// The cofaas workspace's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// Builds the generated host crate in `dir` offline, with the workspace's
/// target dir (reusing the dependencies it has built), and fails the test
/// with cargo's output if it does not build.
pub fn assert_builds(dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["build", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", workspace().join("target"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generated host does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
