//! Builds a cargo workspace of guests for `wasm32-wasip2`. Shared by
//! component-linker's `real_guests` test and cofaas-host's `edge` bench,
//! which includes this file by path.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use wasmtime::error::Context as _;
use wasmtime::{Result, bail};

/// The guests' target.
pub const TARGET: &str = "wasm32-wasip2";

/// Builds the guest workspace at `guests` (release, `--locked`) in the
/// cofaas workspace's target directory, so wit-bindgen builds are shared
/// across runs: `$CARGO_TARGET_DIR`, or `target/` beside `crate_dir` (the
/// manifest directory of the crate calling this). Returns the directory
/// that holds the built `.wasm` files.
pub fn build_guests(crate_dir: &Path, guests: &Path) -> Result<PathBuf> {
    ensure_target()?;
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => crate_dir
            .parent()
            .with_context(|| format!("{} has no parent directory", crate_dir.display()))?
            .join("target"),
    };
    let target_dir = std::path::absolute(target_dir)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    // The variables cargo sets for the test or bench would confuse the
    // nested build; host RUSTFLAGS do not belong in a wasm build either.
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("CARGO_") && name != "CARGO_HOME" || name == "RUSTFLAGS" {
            cmd.env_remove(&key);
        }
    }
    cmd.env("CARGO_TARGET_DIR", &target_dir)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--manifest-path")
        .arg(guests.join("Cargo.toml"));
    run(&mut cmd)?;
    Ok(target_dir.join(TARGET).join("release"))
}

/// Runs `cmd`, failing with its output if it fails.
fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({})\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Installs the `wasm32-wasip2` target if rustup says it is missing (CI has
/// it already; without rustup, the build reports a missing target itself).
fn ensure_target() -> Result<()> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(());
    };
    if out.status.success() && !String::from_utf8_lossy(&out.stdout).contains(TARGET) {
        run(Command::new("rustup").args(["target", "add", TARGET]))?;
    }
    Ok(())
}
