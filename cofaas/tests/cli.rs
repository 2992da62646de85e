//! The `cofaas` binary: output on success, a diagnostic and a nonzero exit
//! on bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cofaas(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cofaas"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running cofaas")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cofaas-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn wit_prints_the_package() {
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/prodcon/proto");
    let out = cofaas(
        &["wit", "-I", proto.to_str().unwrap(), "helloworld.proto"],
        Path::new("."),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wit = String::from_utf8(out.stdout).unwrap();
    assert!(wit.starts_with("package cofaas:protos;"), "{wit}");
    assert!(
        wit.contains("say-hello: func(request: hello-request) -> result<hello-reply, rpc-status>;")
    );
}

#[test]
fn wit_writes_a_directory() {
    let dir = scratch("wit-out");
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/prodcon/proto");
    let out = cofaas(
        &[
            "wit",
            "-I",
            proto.to_str().unwrap(),
            "prodcon.proto",
            "-o",
            dir.to_str().unwrap(),
        ],
        Path::new("."),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wit = std::fs::read_to_string(dir.join("cofaas-protos.wit")).unwrap();
    assert!(wit.contains("interface prodcon-producer-consumer"));
    let map = std::fs::read_to_string(dir.join("map.json")).unwrap();
    assert!(map.contains("\"prodcon.ProducerConsumer\""));
}

#[test]
fn a_malformed_proto_is_a_located_diagnostic() {
    let dir = scratch("bad-proto");
    std::fs::write(
        dir.join("bad.proto"),
        "syntax = \"proto3\";\nmessage M {\n  string s = 1\n}\n",
    )
    .unwrap();
    let out = cofaas(&["wit", "-I", ".", "bad.proto"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: bad.proto:4:1: "), "{err}");
    // Said once, with the line it points at.
    assert!(err.contains("\n4 | }\n  | ^"), "{err}");
    assert_eq!(err.matches("bad.proto:4:1").count(), 2, "{err}"); // message and -->
    assert!(out.stdout.is_empty());
}

/// `cofaas build` on an app whose .proto names an undefined type: the
/// diagnostic once (not once more as its own cause), with the source line.
#[test]
fn build_shows_a_proto_diagnostic_once_with_its_line() {
    let app = prodcon_copy("undefined-type", "prodcon-bad-proto");
    let proto = app.join("proto/helloworld.proto");
    let text = std::fs::read_to_string(&proto).unwrap();
    std::fs::write(
        &proto,
        text.replacen("string name = 1;", "Cartt name = 1;", 1),
    )
    .unwrap();
    let out = cofaas_build(&app);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = text
        .lines()
        .position(|l| l.contains("string name = 1;"))
        .unwrap()
        + 1;
    let what = format!("helloworld.proto:{line}:3: name 'Cartt' is not defined");
    assert_eq!(err.matches(&what).count(), 1, "{err}");
    assert!(
        err.contains(&format!("{line} |   Cartt name = 1;\n")),
        "{err}"
    );
    assert!(err.contains("   |   ^"), "{err}");
    let _ = std::fs::remove_dir_all(app.parent().unwrap());
}

#[test]
fn a_streaming_rpc_maps_to_a_resource_unless_skipped() {
    let dir = scratch("stream");
    std::fs::write(
        dir.join("s.proto"),
        "syntax = \"proto3\";\npackage s;\nmessage M { string v = 1; }\nservice S {\n  rpc One(M) returns (M);\n  rpc Many(M) returns (stream M);\n}\n",
    )
    .unwrap();
    let out = cofaas(&["wit", "-I", ".", "s.proto"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wit = String::from_utf8(out.stdout).unwrap();
    assert!(
        wit.contains("resource many-stream {")
            && wit.contains("many: func(request: m) -> result<many-stream, rpc-status>;"),
        "{wit}"
    );

    let out = cofaas(&["wit", "-I", ".", "s.proto", "--skip-streaming"], &dir);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: s.proto: s.S.Many"));
    let wit = String::from_utf8(out.stdout).unwrap();
    assert!(wit.contains("one: func") && !wit.contains("many"));
}

#[test]
fn build_reports_a_bad_manifest() {
    let dir = scratch("bad-manifest");
    std::fs::write(
        dir.join("cofaas.toml"),
        "[app]\nname = \"x\"\nprotos = []\nentries = [\"nope\"]\n\n[functions.f]\npath = \"f\"\nlanguage = \"rust\"\n",
    )
    .unwrap();
    let out = cofaas(&["build", dir.to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cofaas.toml: entry `nope` is not a function"),
        "{err}"
    );

    let out = cofaas(&["build", dir.join("missing").to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing/cofaas.toml"));
}

/// A component of the only world in `wit`, around a dummy core module.
fn component(wit: &str) -> Vec<u8> {
    use wit_component::{ComponentEncoder, StringEncoding, dummy_module, embed_component_metadata};
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_source("f.wit", wit).unwrap();
    let world = resolve.select_world(&[pkg], None).unwrap();
    let mut module = dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).unwrap();
    ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .encode()
        .unwrap()
}

#[test]
fn link_prints_the_wiring_and_follows_a_plan() {
    let dir = scratch("link");
    let api = "package test:api { interface numbers { next: func() -> u32; } }";
    std::fs::write(
        dir.join("consumer.wasm"),
        component(&format!(
            "package test:consumer; world consumer {{ import test:api/numbers; export run: func() -> u32; }} {api}"
        )),
    )
    .unwrap();
    for name in ["fast", "slow"] {
        std::fs::write(
            dir.join(format!("{name}.wasm")),
            component(&format!(
                "package test:{name}; world {name} {{ export test:api/numbers; }} {api}"
            )),
        )
        .unwrap();
    }
    // Without a plan, two exporters of one interface are ambiguous.
    let out = cofaas(
        &[
            "link",
            "consumer.wasm",
            "fast.wasm",
            "slow.wasm",
            "-o",
            "out.wasm",
        ],
        &dir,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "input `consumer` imports `test:api/numbers`, which several inputs export: fast, slow"
        ),
        "{stderr}"
    );
    // The plan picks one; the wiring is printed.
    std::fs::write(
        dir.join("plan.toml"),
        "[[provide]]\nimport = \"test:api/numbers\"\nexporter = \"slow\"\n",
    )
    .unwrap();
    let out = cofaas(
        &[
            "link",
            "consumer.wasm",
            "fast.wasm",
            "slow.wasm",
            "-o",
            "out.wasm",
            "--plan",
            "plan.toml",
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "consumer: test:api/numbers <- slow\n"
    );
    assert!(
        std::fs::read(dir.join("out.wasm"))
            .unwrap()
            .starts_with(b"\0asm")
    );
    // A plan with a typo is a located error.
    std::fs::write(dir.join("bad.toml"), "[[provide]]\nimprt = \"x\"\n").unwrap();
    let out = cofaas(
        &[
            "link",
            "consumer.wasm",
            "slow.wasm",
            "-o",
            "o.wasm",
            "--plan",
            "bad.toml",
        ],
        &dir,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("unknown field `imprt`"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies `from` to `to` (files and directories; no build output).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// A copy of examples/prodcon for one test, its app renamed `name` (so its
/// build has an output directory of its own); the app directory.
fn prodcon_copy(test: &str, name: &str) -> PathBuf {
    let app = scratch(test).join("app");
    copy_dir(&common::repo().join("examples/prodcon"), &app);
    let manifest = app.join("cofaas.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let renamed = text.replace("name = \"prodcon\"", &format!("name = \"{name}\""));
    std::fs::write(&manifest, renamed).unwrap();
    app
}

/// `cofaas build --debug-host <app>` with the shared target directory.
fn cofaas_build(app: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cofaas"))
        .args(["build", "--debug-host"])
        .arg(app)
        .env("CARGO_TARGET_DIR", common::target_dir())
        .output()
        .expect("running cofaas")
}

/// Without a terminal, `cofaas build` prints plain progress lines, naming
/// each function as cargo starts compiling it, and hides cargo's own
/// output; when a function does not compile, rustc's diagnostics are
/// printed in full.
#[test]
fn a_function_that_does_not_compile_shows_rustc_in_full() {
    let app = prodcon_copy("broken", "prodcon-broken");
    let main = app.join("consumer/src/main.rs");
    let mut code = std::fs::read_to_string(&main).unwrap();
    code.push_str("\nfn cofaas_test_broken() -> u32 {\n    \"not a number\"\n}\n");
    std::fs::write(&main, code).unwrap();

    let out = cofaas_build(&app);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("  building Rust functions for wasm32-wasip2..."),
        "{stderr}"
    );
    assert!(
        stderr.contains("  compiling function `consumer` ("),
        "{stderr}"
    );
    // cargo's progress lines stay hidden.
    assert!(!stderr.contains("   Compiling "), "{stderr}");
    // rustc's whole diagnostic, with its source line and the error code.
    assert!(
        stderr.contains("error[E0308]: mismatched types"),
        "{stderr}"
    );
    assert!(stderr.contains("\"not a number\""), "{stderr}");
    assert!(stderr.contains("consumer/src/main.rs"), "{stderr}");
    let _ = std::fs::remove_dir_all(app.parent().unwrap());
}

/// A function crate with a `[lib]` table is refused before anything is
/// compiled, saying why and which file (a library at `src/lib.rs` without
/// one is consolidated: see tests/layouts.rs).
#[test]
fn a_lib_table_is_refused_clearly() {
    let app = prodcon_copy("with-lib", "prodcon-with-lib");
    std::fs::write(app.join("consumer/src/lib.rs"), "pub fn helper() {}\n").unwrap();
    let manifest = app.join("consumer/Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[lib]\npath = \"src/lib.rs\"\n");
    std::fs::write(&manifest, text).unwrap();
    let out = cofaas_build(&app);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("consumer/Cargo.toml")
            && err.contains("a function crate's [lib] table is not supported yet"),
        "{err}"
    );
    assert!(!err.contains("Compiling"), "{err}");
    let _ = std::fs::remove_dir_all(app.parent().unwrap());
}

/// A workload that does not fit the app is refused before anything is
/// built, naming the call and what is wrong.
#[test]
fn bench_checks_a_workload_before_building() {
    let dir = scratch("workload");
    let workload = dir.join("w.toml");
    std::fs::write(
        &workload,
        "[[call]]\nmethod = \"mixed.Front/Handle\"\n\n[[call]]\nmethod = \"mixed.Front/Handle\"\nrequest = '{\"words\": 3}'\n",
    )
    .unwrap();
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/mixed");
    let out = cofaas(
        &[
            "bench",
            app.to_str().unwrap(),
            "--workload",
            workload.to_str().unwrap(),
        ],
        Path::new("."),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("workload call 2 (`mixed.Front/Handle`)")
            && err.contains("the request is not a `mixed.Job` in protobuf JSON"),
        "{err}"
    );
    assert!(!err.contains("building"), "nothing is built: {err}");
}
