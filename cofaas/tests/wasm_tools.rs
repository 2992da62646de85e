//! `cofaas wit -o <dir>` on every file of the real-world corpus (proto2wit's
//! `tests/corpus`, see its SOURCES.md) writes a package directory that
//! `wasm-tools component wit <dir>` accepts, streaming rpcs (resources)
//! included. So do proto2wit's
//! mapping fixtures for each class of real-API trouble (empty messages in
//! every position, wrappers everywhere, two packages' `Value`s, a oneof
//! variant named like a message, a package cycle). wasm-tools refuses what
//! no component can carry (`empty record`, cyclic `use`s, names defined
//! twice).
//!
//! wasm-tools is taken from `PATH` when it is the pinned version, else
//! installed once with `cargo install` under the target directory.

mod common;

use std::path::PathBuf;
use std::process::Command;

const WASM_TOOLS: &str = "1.263.0";

fn wasm_tools() -> PathBuf {
    let on_path = Command::new("wasm-tools").arg("--version").output();
    if let Ok(out) = on_path
        && out.status.success()
        && String::from_utf8_lossy(&out.stdout).contains(WASM_TOOLS)
    {
        return PathBuf::from("wasm-tools");
    }
    // The tests run in parallel: one installs, the others wait for it.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let target = common::target_dir();
    let root = target.join("tools");
    let bin = root.join("bin/wasm-tools");
    if !bin.is_file() {
        let out = Command::new(env!("CARGO"))
            .args(["install", "wasm-tools", "--version", WASM_TOOLS, "--locked"])
            .args(["--no-default-features", "--features", "component"])
            .arg("--root")
            .arg(&root)
            .arg("--target-dir")
            .arg(target.join("tools-build"))
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("running cargo install");
        assert!(
            out.status.success(),
            "cannot install wasm-tools {WASM_TOOLS}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Only the binary is needed; the build would hold ~240 MB of disk.
        let _ = std::fs::remove_dir_all(target.join("tools-build"));
    }
    bin
}

#[path = "../../proto2wit/tests/support/corpus_files.rs"]
mod corpus_files;

/// `cofaas wit [-I <include>]... <files>... -o <out_dir> <extra>...`.
fn cofaas_wit(
    files: &[PathBuf],
    includes: &[PathBuf],
    out_dir: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cofaas"));
    cmd.arg("wit");
    for i in includes {
        cmd.arg("-I").arg(i);
    }
    cmd.args(files).arg("-o").arg(out_dir).args(extra);
    cmd.output().expect("running cofaas")
}

/// `wasm-tools component wit <out_dir>` must accept the package; returns
/// what it printed.
fn wasm_tools_accepts(
    wasm_tools: &std::path::Path,
    name: &str,
    out_dir: &std::path::Path,
) -> String {
    let check = Command::new(wasm_tools)
        .args(["component", "wit"])
        .arg(out_dir)
        .output()
        .expect("running wasm-tools");
    assert!(
        check.status.success(),
        "{name}: wasm-tools component wit refuses the output:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    String::from_utf8_lossy(&check.stdout).into_owned()
}

#[test]
fn wasm_tools_accepts_the_wit_of_the_mapping_fixtures() {
    let wasm_tools = wasm_tools();
    let cases = common::repo().join("proto2wit/tests/cases");
    let scratch =
        std::env::temp_dir().join(format!("cofaas-wasm-tools-cases-{}", std::process::id()));
    for name in [
        "empty_messages",
        "wrappers_everywhere",
        "two_packages",
        "variant_collision",
        "package_cycle",
        "streaming",
        "well_known",
        "oneof",
        "recursion",
        "nested",
    ] {
        let dir = cases.join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "proto"))
            .collect();
        files.sort();
        let out_dir = scratch.join(name);
        let out = cofaas_wit(&files, &[dir], &out_dir, &[]);
        assert!(
            out.status.success(),
            "{name}: cofaas wit failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = wasm_tools_accepts(&wasm_tools, name, &out_dir);
        assert!(printed.contains("interface"), "{name}: {printed}");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn wasm_tools_accepts_the_wit_of_every_corpus_file() {
    let wasm_tools = wasm_tools();
    let corpus = common::repo().join("proto2wit/tests/corpus");
    let scratch = std::env::temp_dir().join(format!("cofaas-wasm-tools-{}", std::process::id()));
    let (mut accepted, mut streaming, mut total) = (0, 0, 0);
    for corpus_files::CorpusFile {
        name,
        file,
        includes,
    } in corpus_files::corpus_files(&corpus)
    {
        total += 1;
        let out_dir = scratch.join(total.to_string());
        let files = [file];
        let run = |extra: &[&str]| cofaas_wit(&files, &includes, &out_dir, extra);
        let out = run(&[]);
        assert!(
            out.status.success(),
            "{name}: cofaas wit failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = wasm_tools_accepts(&wasm_tools, &name, &out_dir);
        assert!(
            printed.contains("package cofaas:protos"),
            "{name}: {printed}"
        );
        if printed.contains("resource ") {
            streaming += 1;
        }
        accepted += 1;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    println!(
        "wasm-tools {WASM_TOOLS} accepts the WIT of {accepted} of {total} files \
         ({streaming} with streaming rpcs)"
    );
    assert!(streaming >= 7, "only {streaming} files have streaming rpcs");
    assert_eq!(accepted, total);
    assert!(total >= 35, "the corpus has shrunk: {total} files");
}
