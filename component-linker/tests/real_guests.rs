//! Links real Rust guests and runs the composed component in wasmtime.
//!
//! The guests, in `tests/guests/` (a cargo workspace of its own), are the
//! diamond app of `tests/guests/wit/diamond.wit`: `a` calls `b` and `c`, and
//! both call `d`, which counts the calls in a global counter. The test builds
//! them for `wasm32-wasip2`, links them with entry `a` and calls `a`'s `run`
//! twice: the counts `b` and `c` report must continue each other and across
//! the calls, so `d` is one instance reached by both.

use std::fs;
use std::path::Path;

use component_linker::{Input, Plan, link};
use wasmparser::{Validator, WasmFeatures};
use wasmtime::component::{Component, Linker, ResourceTable, TypedFunc};
use wasmtime::error::Context as _;
use wasmtime::{Engine, Result, Store, ensure};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

#[path = "support/guest_build.rs"]
mod guest_build;

/// Builds the guests and returns `[a, b, c, d]` as inputs named so.
fn build_guests() -> Result<Vec<Input>> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = guest_build::build_guests(manifest_dir, &manifest_dir.join("tests/guests"))?;
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
