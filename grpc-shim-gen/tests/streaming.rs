//! A function whose services stream: the Rust backend generates tonic's
//! streaming API over the WIT resources, and the Go backend grpc-go's.

use std::path::Path;

fn app_output() -> (prost_types::FileDescriptorSet, proto2wit::Output) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto2wit/tests/cases/streaming");
    let fds = proto2wit::compile_protos(&[dir.join("route.proto")], &[&dir]).unwrap();
    let app = proto2wit::App::new(
        "route",
        vec![
            proto2wit::Function::new("guide", ["routeguide.RouteGuide"], Vec::<String>::new()),
            proto2wit::Function::new("client", Vec::<String>::new(), ["routeguide.RouteGuide"]),
        ],
        ["guide"],
    );
    let out = proto2wit::generate(&fds, Some(&app), &Default::default()).unwrap();
    (fds, out)
}

/// The Rust shims of every kind (and of empty requests and replies), on
/// the serving and the calling side, pinned.
#[test]
fn the_rust_shims_of_every_kind() {
    let (fds, out) = app_output();
    for function in ["guide", "client"] {
        let guest = grpc_shim_gen::RustGuest::new(&out.map, function);
        let files = guest.generate(&fds).unwrap();
        assert_eq!(files, guest.generate(&fds).unwrap(), "deterministic");
        let shims = &files.packages["routeguide.rs"];
        insta::assert_snapshot!(format!("{function}__routeguide.rs"), shims);
    }
}

/// The Go glue of every kind (and of empty requests and replies), on the
/// serving side (the resource structs over `cofaas.ServerCall`) and the
/// calling side (the stream invokers), pinned and gofmt-clean.
#[test]
fn the_go_glue_of_every_kind() {
    let (_, out) = app_output();
    for (function, package) in [
        ("guide", "export_cofaas_route_routeguide_route_guide"),
        ("client", "cofaas_import_routeguide_route_guide"),
    ] {
        let guest = grpc_shim_gen::GoGuest::new(&out.map, function);
        let files = guest.generate(&out.wit).unwrap();
        assert_eq!(files, guest.generate(&out.wit).unwrap(), "deterministic");
        let glue = &files.bindings[&format!("{package}/glue.go")];
        insta::assert_snapshot!(format!("go_{function}__glue.go"), glue);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("glue.go"), glue).unwrap();
        let gofmt = std::process::Command::new("gofmt")
            .arg("-l")
            .arg(dir.path())
            .output()
            .expect("gofmt (Go >= 1.25) must be on PATH for the Go backend's tests");
        assert!(
            gofmt.status.success() && gofmt.stdout.is_empty(),
            "{function}: gofmt -l {:?}",
            String::from_utf8_lossy(&gofmt.stdout)
        );
    }
    // An exported resource given back owned (a client-streaming call's
    // `finish`) keeps the handle it came with, so that dropping it drops
    // that handle.
    let guide = grpc_shim_gen::GoGuest::new(&out.map, "guide")
        .generate(&out.wit)
        .unwrap();
    let bindings = &guide.bindings["export_cofaas_route_routeguide_route_guide/wit_bindings.go"];
    assert!(
        bindings.contains("self := (*RecordRouteCall)(unsafe.Pointer(resourceRepRecordRouteCall(handle)))\n\tself.handle = handle\n"),
        "{bindings}"
    );
}

/// A map whose streaming rpc names no resource (not written by this
/// proto2wit) is refused, naming the rpc, rather than generating a guess.
#[test]
fn a_streaming_rpc_without_its_resource_name_is_an_error() {
    let (fds, mut out) = app_output();
    let service = out.map.services.get_mut("routeguide.RouteGuide").unwrap();
    service.methods[3].poll = None;
    let err = grpc_shim_gen::RustGuest::new(&out.map, "guide")
        .generate(&fds)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "routeguide.RouteGuide.RouteChat: the map names no poll for this bidi-streaming rpc \
         (a map not written by this proto2wit?)"
    );
    let service = out.map.services.get_mut("routeguide.RouteGuide").unwrap();
    service.methods[1].resource = None;
    let err = grpc_shim_gen::RustGuest::new(&out.map, "client")
        .generate(&fds)
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "routeguide.RouteGuide.ListFeatures: the map names no resource for this server-streaming rpc"
        ),
        "{err}"
    );
    // The Go backend checks the same, on both sides.
    for function in ["guide", "client"] {
        let err = grpc_shim_gen::GoGuest::new(&out.map, function)
            .generate(&out.wit)
            .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "routeguide.RouteGuide.ListFeatures: the map names no resource for this server-streaming rpc"
            ),
            "{function}: {err}"
        );
    }
}
