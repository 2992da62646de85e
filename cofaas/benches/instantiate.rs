//! What a function instance costs to make, Rust against Go: the consumer of
//! `examples/prodcon` (tonic) and of `examples/prodcon-go` (grpc-go, mainline
//! Go), each built by the cofaas pipeline and loaded as the host loads it
//! (AOT-compiled, pooling allocator). Two figures per component:
//! instantiation from an `InstancePre` (for Go this runs the runtime's
//! `_initialize`), and instantiation plus the lifecycle `init` (the
//! function's own `main`), which is what a pool fill or the replacement of
//! a trapped instance costs.
//!
//! `cargo bench -p cofaas --bench instantiate`

use std::path::Path;

use cofaas::pipeline::{BuildOptions, build};
use cofaas_host::wasmtime::Store;
use cofaas_host::wasmtime::component::Linker;
use cofaas_host::{Capabilities, HostConfig, State};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo.join("target"));
    let target = std::path::absolute(&target).expect("an absolute target dir");
    let config = HostConfig::default();
    let engine = cofaas_host::runtime_engine(&config).expect("the host's engine");
    let mut group = c.benchmark_group("instantiate");
    for app in ["prodcon", "prodcon-go"] {
        let mut opts = BuildOptions::new(repo.join("examples").join(app));
        opts.out_root = target.join("cofaas-bench");
        opts.cargo_target_dir = target.clone();
        opts.release_host = false;
        opts.verbose = false;
        let artifacts = build(&opts).expect("the app builds");
        let wasm = &artifacts.units["consumer"];
        let size = std::fs::metadata(wasm).map(|m| m.len()).unwrap_or(0);
        eprintln!("{app}: consumer component {size} bytes");
        let component = cofaas_host::load_component(&engine, &wasm.with_extension("cwasm"))
            .expect("the unit loads");
        let map = std::fs::read_to_string(&artifacts.map).expect("the map reads");
        let map = proto2wit::Map::from_json(&map).expect("the map parses");
        let mut linker = Linker::<State>::new(&engine);
        cofaas_host::wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links");
        let context = format!("{}/{}", map.wit_package, cofaas_host::RPC_CONTEXT);
        cofaas_host::link_rpc_context(&mut linker, &context).expect("the rpc context links");
        let pre = linker.instantiate_pre(&component).expect("the unit links");
        let lifecycle = format!("{}/consumer-lifecycle", map.wit_package);
        let init_index = component
            .get_export_index(None, &lifecycle)
            .and_then(|i| component.get_export_index(Some(&i), "init"))
            .expect("the lifecycle export");
        let store = || {
            let state = State::for_unit(&Capabilities::default(), config.memory_limit)
                .expect("a store state");
            let mut store = Store::new(&engine, state);
            store.set_epoch_deadline(u64::MAX);
            store
        };
        group.bench_function(format!("{app} consumer"), |b| {
            b.iter(|| {
                let mut store = store();
                pre.instantiate(&mut store).expect("instantiates");
            })
        });
        group.bench_function(format!("{app} consumer + init"), |b| {
            b.iter(|| {
                let mut store = store();
                let instance = pre.instantiate(&mut store).expect("instantiates");
                let init = instance
                    .get_typed_func::<(), (Result<(), String>,)>(&mut store, init_index)
                    .expect("init's type");
                init.call(&mut store, ())
                    .expect("init runs")
                    .0
                    .expect("main succeeds");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
