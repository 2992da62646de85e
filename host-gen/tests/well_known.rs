//! Hosts whose public services use the richer parts of the mapping must
//! compile: well-known types (Timestamp, Duration, Any, FieldMask, wrappers,
//! Empty) converted to and from `prost_types`, `oneof`s as prost enums, and
//! recursive messages (prost's `Box`es, encoded back-edges), empty messages
//! (one-case WIT enums), wrappers in every position and as rpc types, other
//! well-known types as ordinary messages (`prost_types::Api`), and two
//! packages' `Value`s behind aliased `use`s; and streaming rpcs of every
//! kind.

use std::path::Path;

mod common;

use common::workspace;

#[test]
fn well_known_types_host_compiles() {
    compiles(
        "well_known",
        "events.proto",
        "events.v1.Events",
        "::prost_types::Timestamp",
        false,
    );
}

#[test]
fn recursive_messages_host_compiles() {
    compiles(
        "recursion",
        "tree.proto",
        "tree.Trees",
        "::prost::Message::encode_to_vec",
        false,
    );
}

#[test]
fn open_enums_and_oneofs_host_compiles() {
    compiles(
        "oneof",
        "oneof.proto",
        "choice.Chooser",
        "Unrecognized",
        true,
    );
}

#[test]
fn empty_messages_host_compiles() {
    compiles(
        "empty_messages",
        "events.proto",
        "events.Events",
        "EndConversation::Empty",
        false,
    );
}

#[test]
fn wrappers_and_plain_well_known_types_host_compiles() {
    compiles(
        "wrappers_everywhere",
        "values.proto",
        "values.Settings",
        "::prost_types::Api",
        false,
    );
}

#[test]
fn two_packages_values_host_compiles() {
    compiles(
        "service_scope",
        "s.proto",
        "s.Names",
        "to_wit_google_protobuf_value",
        false,
    );
}

#[test]
fn streaming_host_compiles() {
    // Every kind, with and without empty requests and replies, served and
    // called over host-mediated and remote edges.
    compiles(
        "streaming",
        "route.proto",
        "routeguide.RouteGuide",
        "cofaas_host::RemoteStream",
        false,
    );
}

/// Generates the host of an app with one function serving `service` from
/// case `case` of proto2wit's fixtures, checks it mentions `expect`, and
/// builds it.
fn compiles(case: &str, file: &str, service: &str, expect: &str, open_enums: bool) {
    let proto = workspace().join("proto2wit/tests/cases").join(case);
    let fds = proto2wit::compile_protos(&[file], &[&proto]).unwrap();
    let app = proto2wit::App::new(
        "events",
        vec![proto2wit::Function::new(
            "events",
            [service],
            Vec::<String>::new(),
        )],
        ["events"],
    );
    let mut options = proto2wit::Options::default();
    options.open_enums = open_enums;
    let out = proto2wit::generate(&fds, Some(&app), &options).unwrap();
    let root = workspace().join("target/host-gen-test").join(case);
    let wit_dir = root.join("wit-src");
    std::fs::create_dir_all(&wit_dir).unwrap();
    std::fs::write(wit_dir.join("events.wit"), &out.wit).unwrap();
    let mut opts = host_gen::HostOptions::new(
        format!("{}-host-compile-check", case.replace('_', "-")),
        wit_dir,
    );
    opts.lockfile = Some(workspace().join("Cargo.lock"));
    let krate = host_gen::generate(&out.map, &fds, &opts).unwrap();
    let main = &krate.files[Path::new("src/main.rs")];
    assert!(main.contains(expect), "{main}");
    let dir = root.join("host");
    krate.write(&dir).unwrap();
    common::assert_builds(&dir);
}
