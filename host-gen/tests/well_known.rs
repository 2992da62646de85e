//! A host whose public service uses well-known types (Timestamp, Duration,
//! Any, FieldMask, wrappers, Empty): the generated conversions to and from
//! `prost_types` and the typed mirrors must compile.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

#[test]
fn well_known_types_host_compiles() {
    let proto = workspace().join("proto2wit/tests/cases/well_known");
    let fds = proto2wit::compile_protos(&["events.proto"], &[&proto]).unwrap();
    let app = proto2wit::App::new(
        "events",
        vec![proto2wit::Function::new(
            "events",
            ["events.v1.Events"],
            Vec::<String>::new(),
        )],
        ["events"],
    );
    let out = proto2wit::generate(&fds, Some(&app), &Default::default()).unwrap();
    let root = workspace().join("target/host-gen-test/well-known");
    let wit_dir = root.join("wit-src");
    std::fs::create_dir_all(&wit_dir).unwrap();
    std::fs::write(wit_dir.join("events.wit"), &out.wit).unwrap();
    let mut opts = host_gen::HostOptions::new("events-host-compile-check", wit_dir);
    opts.lockfile = Some(workspace().join("Cargo.lock"));
    let krate = host_gen::generate(&out.map, &fds, &opts).unwrap();
    let main = &krate.files[Path::new("src/main.rs")];
    assert!(main.contains("::prost_types::Timestamp"), "{main}");
    let dir = root.join("host");
    krate.write(&dir).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args(["build", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", workspace().join("target"))
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "generated host does not build:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
}
