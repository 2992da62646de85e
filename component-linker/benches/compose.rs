//! How long composing takes: 50 trivial components, as a chain (each calls
//! the next, depth 50) and as a star (one hub calling 49 services), every
//! one importing the same WASI interface.
//!
//! `cargo bench -p component-linker`

use component_linker::{Input, Plan, link};
use criterion::{Criterion, criterion_group, criterion_main};
use wit_component::{ComponentEncoder, StringEncoding, dummy_module, embed_component_metadata};
use wit_parser::{ManglingAndAbi, Resolve};

const CLOCK: &str =
    "package wasi:clocks@0.2.3 { interface monotonic-clock { now: func() -> u64; } }";

fn component(name: &str, imports: &[usize], export: usize) -> Vec<u8> {
    let mut wit = format!(
        "package test:{name};\nworld {name} {{\n  import wasi:clocks/monotonic-clock@0.2.3;\n"
    );
    for i in imports {
        wit.push_str(&format!("  import test:api/api{i};\n"));
    }
    wit.push_str(&format!(
        "  export test:api/api{export};\n}}\n{CLOCK}\npackage test:api {{\n"
    ));
    for i in imports.iter().chain([&export]) {
        wit.push_str(&format!(
            "  interface api{i} {{ call: func(x: list<u8>) -> string; }}\n"
        ));
    }
    wit.push_str("}\n");
    let mut resolve = Resolve::default();
    let pkg = resolve.push_source("bench.wit", &wit).expect("valid WIT");
    let world = resolve.select_world(&[pkg], None).expect("one world");
    let mut module = dummy_module(&resolve, world, ManglingAndAbi::Standard32);
    embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).expect("metadata");
    ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .encode()
        .expect("component")
}

fn chain(n: usize) -> Vec<Input> {
    (0..n)
        .map(|i| {
            let imports: Vec<usize> = if i + 1 < n { vec![i + 1] } else { vec![] };
            Input::new(
                format!("node{i}"),
                component(&format!("node{i}"), &imports, i),
            )
        })
        .collect()
}

fn star(n: usize) -> Vec<Input> {
    let mut inputs = vec![Input::new(
        "node0",
        component("node0", &(1..n).collect::<Vec<_>>(), 0),
    )];
    inputs.extend(
        (1..n).map(|i| Input::new(format!("node{i}"), component(&format!("node{i}"), &[], i))),
    );
    inputs
}

fn bench(c: &mut Criterion) {
    let mut plan = Plan::default();
    plan.entries = vec!["node0".into()];
    for (shape, inputs) in [("chain", chain(50)), ("star", star(50))] {
        // Check once that it links, outside the measurement.
        let linked = link(&inputs, &plan).expect("links");
        assert_eq!(linked.wiring.len(), 49);
        c.bench_function(&format!("compose 50 components ({shape})"), |b| {
            b.iter(|| link(std::hint::black_box(&inputs), &plan).expect("links"))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
