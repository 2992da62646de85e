//! The host generated for the prodcon example (`examples/prodcon`): its
//! protos, with producer (exports `helloworld.Greeter`, imports
//! `prodcon.ProducerConsumer`) as the entry and consumer (exports
//! `prodcon.ProducerConsumer`). Snapshots `src/main.rs` and `Cargo.toml`,
//! checks determinism, and compiles the crate.

use std::path::{Path, PathBuf};

mod common;

use common::workspace;

/// Descriptor set, map, and a directory holding the app's WIT.
fn setup(scratch: &str) -> (prost_types::FileDescriptorSet, proto2wit::Map, PathBuf) {
    let proto = workspace().join("examples/prodcon/proto");
    let fds = proto2wit::compile_protos(&["helloworld.proto", "prodcon.proto"], &[&proto]).unwrap();
    let app = proto2wit::App::new(
        "prodcon",
        vec![
            proto2wit::Function::new(
                "producer",
                ["helloworld.Greeter"],
                ["prodcon.ProducerConsumer"],
            ),
            proto2wit::Function::new(
                "consumer",
                ["prodcon.ProducerConsumer"],
                Vec::<String>::new(),
            ),
        ],
        ["producer"],
    );
    let out = proto2wit::generate(&fds, Some(&app), &Default::default()).unwrap();
    let wit_dir = workspace()
        .join("target/host-gen-test")
        .join(scratch)
        .join("wit-src");
    std::fs::create_dir_all(&wit_dir).unwrap();
    std::fs::write(wit_dir.join("prodcon.wit"), &out.wit).unwrap();
    (fds, out.map, wit_dir)
}

fn options(wit_dir: PathBuf) -> host_gen::HostOptions {
    let mut opts = host_gen::HostOptions::new("prodcon-host", wit_dir);
    opts.cofaas_host_path = PathBuf::from("../cofaas-host");
    opts
}

#[test]
fn prodcon_host() {
    let (fds, map, wit_dir) = setup("snapshot");
    let opts = options(wit_dir);
    let krate = host_gen::generate(&map, &fds, &opts).unwrap();
    assert_eq!(
        krate,
        host_gen::generate(&map, &fds, &opts).unwrap(),
        "deterministic"
    );
    let names: Vec<_> = krate
        .files
        .keys()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "Cargo.toml",
            "src/main.rs",
            "src/pb/helloworld.rs",
            "src/pb/prodcon.rs",
            "wit/cofaas-host.wit",
            "wit/prodcon.wit"
        ]
    );
    insta::assert_snapshot!("main.rs", krate.files[Path::new("src/main.rs")]);
    insta::assert_snapshot!(
        "cofaas-host.wit",
        krate.files[Path::new("wit/cofaas-host.wit")]
    );
    insta::assert_snapshot!("Cargo.toml", krate.files[Path::new("Cargo.toml")]);
}

#[test]
fn no_app_world_is_an_error() {
    let (fds, map, wit_dir) = setup("no-app");
    let mut map = map;
    map.worlds.remove("app");
    let err = host_gen::generate(&map, &fds, &options(wit_dir)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the map has no top-level world `app` (was proto2wit run with an app?)"
    );
}

/// Builds the generated crate with the workspace's lockfile and target dir
/// (reusing its compiled wasmtime). The crate has a name of its own so that
/// its binary cannot clobber the one `cofaas build` makes in the same target
/// dir.
#[test]
fn prodcon_host_compiles() {
    let (fds, map, wit_dir) = setup("build");
    let mut opts = host_gen::HostOptions::new("prodcon-host-compile-check", wit_dir);
    opts.lockfile = Some(workspace().join("Cargo.lock"));
    let krate = host_gen::generate(&map, &fds, &opts).unwrap();
    let dir = workspace().join("target/host-gen-test/build/prodcon-host");
    krate.write(&dir).unwrap();
    common::assert_builds(&dir);
}
