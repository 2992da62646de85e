//! Links real Rust guests and runs the composed component in wasmtime.
//!
//! The guests, in `tests/guests/` (a cargo workspace of its own), are the
//! diamond app of `tests/guests/wit/diamond.wit`: `a` calls `b` and `c`, and
//! both call `d`, which counts the calls in a global counter. The test builds
//! them for `wasm32-wasip2`, links them with entry `a` and calls `a`'s `run`
//! twice: the counts `b` and `c` report must continue each other and across
//! the calls, so `d` is one instance reached by both.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use component_linker::{Input, Plan, link};
use wasmparser::{Validator, WasmFeatures};
use wasmtime::component::{Component, Linker, ResourceTable, TypedFunc};
use wasmtime::error::Context as _;
use wasmtime::{Engine, Result, Store, bail, ensure};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const TARGET: &str = "wasm32-wasip2";

/// The guests workspace.
fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests")
}

/// The target directory of the cofaas workspace: `$CARGO_TARGET_DIR` or
/// `<repo>/target`, so the guests' wit-bindgen builds are shared across runs.
fn target_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("component-linker has no parent directory")?
            .join("target"),
    };
    Ok(std::path::absolute(dir)?)
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

/// Builds the guests and returns `[a, b, c, d]` as inputs named so.
fn build_guests() -> Result<Vec<Input>> {
    ensure_target()?;
    let target_dir = target_dir()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    // The variables cargo sets for this test would confuse the nested build;
    // host RUSTFLAGS do not belong in a wasm build either.
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("CARGO_") && name != "CARGO_HOME" || name == "RUSTFLAGS" {
            cmd.env_remove(&key);
        }
    }
    cmd.env("CARGO_TARGET_DIR", &target_dir)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--manifest-path")
        .arg(guests_dir().join("Cargo.toml"));
    run(&mut cmd)?;

    let out = target_dir.join(TARGET).join("release");
    ["a", "b", "c", "d"]
        .into_iter()
        .map(|name| {
            let path = out.join(format!("diamond_{name}.wasm"));
            let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(Input::new(name, bytes))
        })
        .collect()
}

/// Store data: what the composed component's WASI imports need.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `test:diamond/a-api#run`.
type Run = TypedFunc<(), (String,)>;

/// A fresh instance of `component` and its `test:diamond/a-api#run`.
fn instantiate(
    engine: &Engine,
    linker: &Linker<State>,
    component: &Component,
) -> Result<(Store<State>, Run)> {
    let state = State {
        wasi: WasiCtx::builder().inherit_stderr().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine, state);
    let instance = linker.instantiate(&mut store, component)?;
    let api = instance
        .get_export_index(&mut store, None, "test:diamond/a-api")
        .context("no export `test:diamond/a-api`")?;
    let run = instance
        .get_export_index(&mut store, Some(&api), "run")
        .context("no function `run` in `test:diamond/a-api`")?;
    let run = instance.get_typed_func(&mut store, run)?;
    Ok((store, run))
}

#[test]
fn diamond_of_real_guests() -> Result<()> {
    let inputs = build_guests()?;

    let mut plan = Plan::default();
    plan.entries = vec!["a".into()];
    let linked = link(&inputs, &plan)?;

    let wiring: Vec<String> = linked.wiring.iter().map(ToString::to_string).collect();
    assert_eq!(
        wiring,
        [
            "b: test:diamond/d-api <- d",
            "c: test:diamond/d-api <- d",
            "a: test:diamond/b-api <- b",
            "a: test:diamond/c-api <- c",
        ]
    );
    // Whatever the guests' std needs stays outside; nothing of the diamond.
    ensure!(
        !linked.outer_imports.is_empty()
            && linked
                .outer_imports
                .iter()
                .all(|name| name.starts_with("wasi:")),
        "outer imports: {:?}",
        linked.outer_imports
    );
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&linked.component)
        .context("the composed component does not validate")?;

    let engine = Engine::default();
    let component = Component::new(&engine, &linked.component)?;
    let exports: Vec<String> = component
        .component_type()
        .exports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(exports, ["test:diamond/a-api"]);

    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;

    let (mut store, run) = instantiate(&engine, &linker, &component)?;
    let (first,) = run.call(&mut store, ())?;
    assert_eq!(first, "a[b:d1,c:d2]");
    // `d` kept its count: `b` and `c` reach the same, single instance.
    let (second,) = run.call(&mut store, ())?;
    assert_eq!(second, "a[b:d3,c:d4]");

    // A new instance of the composed component has a new `d`.
    let (mut store, run) = instantiate(&engine, &linker, &component)?;
    let (fresh,) = run.call(&mut store, ())?;
    assert_eq!(fresh, "a[b:d1,c:d2]");
    Ok(())
}
