//! A function whose services stream: proto2wit maps them, and each backend
//! says it does not generate them yet, naming the rpc, rather than making
//! them unary or generating code that would not build.

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

#[test]
fn the_rust_backend_names_the_first_streaming_rpc() {
    let (fds, out) = app_output();
    for function in ["guide", "client"] {
        let err = grpc_shim_gen::RustGuest::new(&out.map, function)
            .generate(&fds)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "routeguide.RouteGuide.ListFeatures: server-streaming rpcs are mapped to WIT, \
             but the Rust shims do not generate streaming rpcs yet",
            "{function}"
        );
    }
}

#[test]
fn the_go_backend_names_the_first_streaming_rpc() {
    let (_, out) = app_output();
    let err = grpc_shim_gen::GoGuest::new(&out.map, "client")
        .generate(&out.wit)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            grpc_shim_gen::Error::Streaming { rpc, kind: "server-streaming rpc", backend: "Go" }
                if rpc == "routeguide.RouteGuide.ListFeatures"
        ),
        "{err}"
    );
}
