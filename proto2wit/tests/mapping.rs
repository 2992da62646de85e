//! Snapshot tests of the mapping. Each directory under `tests/cases/` holds
//! one case: its `.proto` files (all compiled together, the directory being
//! the include root) and optionally `app.txt`, an app description
//! (`[*]function: exports ; imports`, `*` marks an entry). The expected WIT
//! and map, or the expected error, are snapshotted.

use std::path::Path;

fn app_of(dir: &Path) -> Option<proto2wit::App> {
    let text = std::fs::read_to_string(dir.join("app.txt")).ok()?;
    let mut functions = Vec::new();
    let mut entries = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (name, rest) = line.split_once(':').expect("app.txt line has a colon");
        let (exports, imports) = rest.split_once(';').expect("app.txt line has a ;");
        let list = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let name = match name.strip_prefix('*') {
            Some(n) => {
                entries.push(n.to_string());
                n
            }
            None => name,
        };
        functions.push(proto2wit::Function::new(name, list(exports), list(imports)));
    }
    Some(proto2wit::App::new("prodcon", functions, entries))
}

fn run(dir: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "proto"))
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    files.sort();
    let fds = match proto2wit::compile_protos(&files, &[dir]) {
        Ok(fds) => fds,
        Err(e) => return format!("error: {e}"),
    };
    let app = app_of(dir);
    match proto2wit::generate(&fds, app.as_ref(), &proto2wit::Options::default()) {
        Ok(out) => {
            // Deterministic: a second run gives the same bytes.
            let again = proto2wit::generate(&fds, app.as_ref(), &Default::default()).unwrap();
            assert_eq!(out.wit, again.wit);
            assert_eq!(out.map.to_json(), again.map.to_json());
            // The map round-trips through JSON.
            assert_eq!(
                proto2wit::Map::from_json(&out.map.to_json()).unwrap(),
                out.map
            );
            format!("{}\n---- map.json ----\n{}", out.wit, out.map.to_json())
        }
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn cases() {
    insta::glob!("cases/*", |dir| {
        insta::assert_snapshot!(run(dir));
    });
}

#[test]
fn streaming_can_be_skipped_with_a_warning() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/streaming");
    let fds = proto2wit::compile_protos(&["route.proto"], &[&dir]).unwrap();
    let mut opts = proto2wit::Options::default();
    opts.skip_streaming = true;
    let out = proto2wit::generate(&fds, None, &opts).unwrap();
    let service = &out.map.services["routeguide.RouteGuide"];
    assert_eq!(
        service.skipped,
        [
            "ListFeatures",
            "RecordRoute",
            "RouteChat",
            "Ticks",
            "Drain",
            "Chat"
        ]
    );
    assert!(service.methods.iter().all(|m| m.is_unary()));
    assert!(out.warnings[0].contains("routeguide.RouteGuide.ListFeatures: server-streaming rpc"));
    assert!(out.wit.contains("get-feature:"));
    assert!(!out.wit.contains("list-features") && !out.wit.contains("resource"));
}

/// By default every streaming rpc maps, with its kind and resource in the
/// map, and the WIT defines the resources the map names.
#[test]
fn streaming_rpcs_map_to_resources() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/streaming");
    let fds = proto2wit::compile_protos(&["route.proto"], &[&dir]).unwrap();
    let out = proto2wit::generate(&fds, None, &proto2wit::Options::default()).unwrap();
    let service = &out.map.services["routeguide.RouteGuide"];
    assert!(service.skipped.is_empty());
    let kinds: Vec<_> = service
        .methods
        .iter()
        .map(|m| {
            (
                m.proto_name.as_str(),
                m.streaming,
                m.resource.as_deref(),
                m.poll.as_deref(),
            )
        })
        .collect();
    use proto2wit::Streaming::*;
    assert_eq!(
        kinds,
        [
            ("GetFeature", Unary, None, None),
            ("ListFeatures", Server, Some("list-features-stream"), None),
            ("RecordRoute", Client, Some("record-route-call"), None),
            (
                "RouteChat",
                Bidi,
                Some("route-chat-call"),
                Some("route-chat-poll")
            ),
            ("Ticks", Server, Some("ticks-stream"), None),
            ("Drain", Client, Some("drain-call"), None),
            // `chat-call` is the function of rpc ChatCall.
            ("Chat", Bidi, Some("chat-rpc-call"), Some("chat-poll")),
            ("ChatCall", Unary, None, None),
        ]
    );
    for (name, _, resource, poll) in kinds {
        for def in [
            resource.map(|r| format!("resource {r} {{")),
            poll.map(|p| format!("variant {p} {{")),
        ]
        .into_iter()
        .flatten()
        {
            assert!(out.wit.contains(&def), "{name}: no `{def}` in\n{}", out.wit);
        }
    }
    assert!(out.wit.contains(
        "list-features: func(request: point) -> result<list-features-stream, rpc-status>;"
    ));
    assert!(
        out.wit
            .contains("next: func() -> option<result<point, rpc-status>>;")
    );
    assert!(
        out.wit.contains(
            "finish: static func(call: record-route-call) -> result<summary, rpc-status>;"
        )
    );
    assert!(
        out.wit
            .contains("ticks: func() -> result<ticks-stream, rpc-status>;")
    );
    assert!(
        out.wit
            .contains("next: func() -> option<result<_, rpc-status>>;")
    );
    assert!(out.wit.contains("send: func() -> bool;"));
    assert!(out.wit.contains("route-chat: func() -> route-chat-call;"));
}

/// With `reject_recursion`, a recursive message is refused, naming the cycle.
#[test]
fn recursion_can_be_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/recursion");
    let fds = proto2wit::compile_protos(&["tree.proto"], &[&dir]).unwrap();
    let mut options = proto2wit::Options::default();
    options.reject_recursion = true;
    let err = proto2wit::generate(&fds, None, &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tree.proto: tree.Node: recursive message (cycle tree.Node -> tree.Node) is not supported yet"
    );
}

/// With `open_enums`, an enum is a variant keeping unnamed numbers; a value
/// that would clash with that case is a collision.
#[test]
fn enums_can_be_open() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/oneof");
    let fds = proto2wit::compile_protos(&["oneof.proto"], &[&dir]).unwrap();
    let mut options = proto2wit::Options::default();
    options.open_enums = true;
    let out = proto2wit::generate(&fds, None, &options).unwrap();
    assert!(
        out.wit
            .contains("variant kind {\n    /// `KIND_UNSPECIFIED` = 0\n    kind-unspecified,"),
        "{}",
        out.wit
    );
    assert!(out.wit.contains("unrecognized(s32),"), "{}", out.wit);
    assert!(out.map.enums["choice.Kind"].open);

    let scratch = std::env::temp_dir().join(format!("proto2wit-open-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(
        scratch.join("e.proto"),
        "syntax = \"proto3\"; package e; enum E { A = 0; UNRECOGNIZED = 1; }\nmessage M { E e = 1; }\nservice S { rpc C(M) returns (M); }\n",
    )
    .unwrap();
    let fds = proto2wit::compile_protos(&["e.proto"], &[&scratch]).unwrap();
    let err = proto2wit::generate(&fds, None, &options).unwrap_err();
    assert!(err.to_string().contains("e.E.UNRECOGNIZED"), "{err}");
    assert!(proto2wit::generate(&fds, None, &Default::default()).is_ok());
}

/// With `wit_maps`, `map<K, V>` is a WIT `map<K, V>`, and the map says so.
#[test]
fn maps_can_be_wit_maps() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/recursion");
    let fds = proto2wit::compile_protos(&["tree.proto"], &[&dir]).unwrap();
    let mut options = proto2wit::Options::default();
    options.wit_maps = true;
    let out = proto2wit::generate(&fds, None, &options).unwrap();
    assert!(
        out.wit.contains("index: map<string, list<u8>>,"),
        "{}",
        out.wit
    );
    assert!(out.map.wit_maps);
    let default = proto2wit::generate(&fds, None, &Default::default()).unwrap();
    assert!(
        default
            .wit
            .contains("index: list<tuple<string, list<u8>>>,")
    );
}
