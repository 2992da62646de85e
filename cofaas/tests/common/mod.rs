//! Helpers shared by the cofaas test binaries: where the repository and the
//! shared target directory are, and build options for an example app.

#![allow(dead_code)] // Each test binary uses a subset.

use std::path::{Path, PathBuf};

use cofaas::pipeline::BuildOptions;
use cofaas::units::LinkMode;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the cofaas crate sits in the repository")
        .to_path_buf()
}

/// The shared target directory: `CARGO_TARGET_DIR`, else the repository's
/// `target`, made absolute.
pub fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    std::path::absolute(&target).unwrap_or(target)
}

/// Options for a quiet debug build of `examples/<app>` with `link`, its
/// outputs under `<target>/<out>/<app>`.
pub fn build_options(app: &str, link: LinkMode, out: &str) -> BuildOptions {
    let target = target_dir();
    let mut opts = BuildOptions::new(repo().join("examples").join(app));
    opts.out_root = target.join(out);
    opts.cargo_target_dir = target;
    opts.release_host = false;
    opts.verbose = false;
    opts.link = link;
    opts
}
