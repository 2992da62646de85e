//! Streaming rpcs (`examples/routeguide`), consolidated against native:
//!
//! * across a fused edge, a host-mediated one (`--link mediated`) and a
//!   remote one (`cofaas-split.toml`, two hosts): the tour calls the guide with all four kinds of rpc in
//!   one request, for a full run, a server stream that ends with an error
//!   status after three messages, an empty stream, a stream the caller
//!   drops after two messages, and empty client and bidi streams;
//! * across a host-mediated edge into a stateful function (the ticker
//!   fixture's sink): 1 GiB in 64 KiB messages with the host's memory
//!   bounded, and a stream dropped after 10 messages stopping its producer;
//! * served by the host to an outside tonic client: the guide's server,
//!   client and bidi streams (an error after three messages, empty
//!   streams, a chat in lockstep where each side waits for the other).

mod common;

use std::net::SocketAddr;

use cofaas::units::{EdgeMode, LinkMode};
use common::{descriptors, same, unary};
use prost_reflect::DynamicMessage;

const RUN: &str = "/tour.Tour/Run";

/// The whole area of the feature database.
const AREA: &str = "area { lo { latitude: 400000000 longitude: -750000000 } \
                    hi { latitude: 420000000 longitude: -730000000 } }";

/// A route through three features and two other points.
const ROUTE: &str = "route { latitude: 407838351 longitude: -746143763 } \
                     route { latitude: 408122808 longitude: -743999179 } \
                     route { latitude: 1 longitude: 2 } \
                     route { latitude: 413628156 longitude: -749015468 } \
                     route { latitude: 1 longitude: 2 }";

/// Notes at three places, two of them visited twice.
const NOTES: &str = "notes { location { latitude: 1 longitude: 1 } message: \"first\" } \
                     notes { location { latitude: 2 longitude: 2 } message: \"second\" } \
                     notes { location { latitude: 1 longitude: 1 } message: \"third\" } \
                     notes { location { latitude: 3 longitude: 3 } message: \"fourth\" } \
                     notes { location { latitude: 1 longitude: 1 } message: \"fifth\" } \
                     notes { location { latitude: 2 longitude: 2 } message: \"sixth\" }";

/// One build of the app serves both halves (they would race on its
/// build directory as two tests).
#[tokio::test(flavor = "multi_thread")]
async fn streaming_rpcs_answer_as_natively() {
    let app = common::repo().join("examples/routeguide");
    let both = common::both_ways(&app, LinkMode::Auto, "cofaas").await;
    assert_eq!(units(&both), 1, "tour and guide fused");
    every_kind_crosses_an_edge_as_natively(both.native.addr, both.host.addr).await;
    public_streaming_methods_answer_as_natively(&both).await;
    grpcurl_streams(&both);

    // Across a host-mediated edge.
    let mediated = common::both_ways(&app, LinkMode::Mediated, "mediated").await;
    assert_eq!(units(&mediated), 2, "tour and guide apart");
    every_kind_crosses_an_edge_as_natively(both.native.addr, mediated.host.addr).await;
    drop(mediated);

    // Across a remote edge: the tour's host calls the guide's.
    let (_back, front) = split(&app.join("cofaas-split.toml"), "split").await;
    every_kind_crosses_an_edge_as_natively(both.native.addr, front.addr).await;
}

/// The same app with its functions in Go (`cofaas-go.toml`: grpc-go's
/// `ServerStreamingServer`, `Send`/`Recv`/`CloseSend` and `io.EOF` on both
/// sides): every kind crosses a Go → Go edge, fused and host-mediated, and
/// the Go guide serves its streams to outside clients, as the native Go
/// functions and the native Rust ones do; the Go tour calling the Rust
/// guide (`cofaas-mixed.toml`); and the two Go functions on two nodes
/// (`cofaas-go-split.toml`, a remote edge).
#[tokio::test(flavor = "multi_thread")]
async fn go_streaming_rpcs_answer_as_natively() {
    let app = common::repo().join("examples/routeguide");
    let manifest = app.join("cofaas-go.toml");
    let go = common::both_ways(&manifest, LinkMode::Auto, "go").await;
    assert_eq!(units(&go), 1, "tour and guide fused");
    every_kind_crosses_an_edge_as_natively(go.native.addr, go.host.addr).await;
    public_streaming_methods_answer_as_natively(&go).await;

    let mediated = common::both_ways(&manifest, LinkMode::Mediated, "go-mediated").await;
    assert_eq!(units(&mediated), 2, "tour and guide apart");
    every_kind_crosses_an_edge_as_natively(go.native.addr, mediated.host.addr).await;

    // The Go functions answer as the Rust ones (natively, each its own
    // process), so the two apps are one app in two languages.
    let dir = app.clone();
    let target = common::target_dir();
    let rust = tokio::task::spawn_blocking(move || {
        let bins = cofaas::demo::build_native_app(&dir, &target, false).unwrap();
        cofaas::ghz::start_native_app(&dir, &bins, false).unwrap()
    })
    .await
    .unwrap();
    every_kind_crosses_an_edge_as_natively(rust.addr, go.native.addr).await;
    drop(mediated);

    // Go calling Rust (`cofaas-mixed.toml`): the Go tour's streams into
    // the tonic guide, fused into one component.
    let mixed = common::both_ways(&app.join("cofaas-mixed.toml"), LinkMode::Auto, "mixed").await;
    assert_eq!(units(&mixed), 1, "tour and guide fused");
    every_kind_crosses_an_edge_as_natively(rust.addr, mixed.host.addr).await;
    drop(mixed);

    // Go on two nodes (`cofaas-go-split.toml`): every kind across a remote
    // edge between two Go functions.
    let (_back, front) = split(&app.join("cofaas-go-split.toml"), "go-split").await;
    every_kind_crosses_an_edge_as_natively(go.native.addr, front.addr).await;
}

/// Builds the two-node manifest `manifest` (the tour on `front`, the guide
/// on `back`, one remote edge) and starts both hosts, the front one with
/// the back one as its peer.
async fn split(
    manifest: &std::path::Path,
    out: &str,
) -> (cofaas::demo::Consolidated, cofaas::demo::Consolidated) {
    let opts = common::build_options_at(manifest, LinkMode::Auto, out);
    let split = tokio::task::spawn_blocking(move || cofaas::pipeline::build(&opts).unwrap())
        .await
        .unwrap();
    let modes: Vec<_> = split
        .edges
        .iter()
        .map(|e| (e.caller.as_str(), e.callee.as_str(), e.mode))
        .collect();
    assert_eq!(modes, [("tour", "guide", EdgeMode::Remote)]);
    let start = |node: &str, extra: Vec<String>| {
        let (bin, deployment) = (split.host_bin.clone(), split.nodes[node].clone());
        tokio::task::spawn_blocking(move || {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            cofaas::demo::start_host_with(&bin, &deployment, None, &extra, false).unwrap()
        })
    };
    let back = start("back", vec![]).await.unwrap();
    let peer = format!("routeguide.RouteGuide=http://{}", back.addr);
    let front = start("front", vec!["--peer".into(), peer]).await.unwrap();
    (back, front)
}

/// The units of the consolidated app.
fn units(both: &common::BothWays) -> usize {
    let text = std::fs::read_to_string(&both.deployment).unwrap();
    let deployment: serde_json::Value = serde_json::from_str(&text).unwrap();
    deployment["units"].as_array().unwrap().len()
}

/// grpcurl, as gRPC users stream: a server stream from the .proto gives
/// the same JSON from both apps; health's `Watch` stream answers from the
/// host (tonic-health's, which the host serves).
fn grpcurl_streams(both: &common::BothWays) {
    let grpcurl = common::grpcurl();
    let proto = common::repo().join("examples/routeguide/proto");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&grpcurl)
            .arg("-plaintext")
            .args(args)
            .output()
            .expect("running grpcurl");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let list = |addr: std::net::SocketAddr| {
        run(&[
            "-import-path",
            proto.to_str().unwrap(),
            "-proto",
            "route_guide.proto",
            "-d",
            r#"{"lo":{"latitude":400000000,"longitude":-750000000},"hi":{"latitude":410000000,"longitude":-740000000}}"#,
            &addr.to_string(),
            "routeguide.RouteGuide/ListFeatures",
        ])
    };
    let native = list(both.native.addrs["guide"]);
    let consolidated = list(both.host.addr);
    assert_eq!(native.0, Some(0), "{native:?}");
    assert_eq!(native, consolidated);
    assert!(native.1.matches("\"name\"").count() > 3, "{}", native.1);

    // Watch sends the status, then waits for changes: grpcurl prints the
    // first message and stops at its deadline.
    let (_, out, err) = run(&[
        "-max-time",
        "1",
        "-d",
        r#"{"service":"routeguide.RouteGuide"}"#,
        &both.host.addr.to_string(),
        "grpc.health.v1.Health/Watch",
    ]);
    assert!(out.contains("\"status\": \"SERVING\""), "{out}{err}");
}

async fn every_kind_crosses_an_edge_as_natively(native: SocketAddr, consolidated: SocketAddr) {
    let pool = descriptors(
        "examples/routeguide/proto",
        &["route_guide.proto", "tour.proto"],
    );
    let ask = pool.get_message_by_name("tour.TourRequest").unwrap();
    let report = pool.get_message_by_name("tour.TourReport").unwrap();

    let cases = [
        // Everything, in full.
        format!("point {{ latitude: 407838351 longitude: -746143763 }} {AREA} {ROUTE} {NOTES}"),
        // The list ends with RESOURCE_EXHAUSTED after three features.
        format!("{AREA} max_features: 3 {ROUTE}"),
        // An empty list (no feature at 0, 0), an unknown point, and empty
        // client and bidi streams.
        "point { latitude: 5 longitude: 5 } area { lo { } hi { } }".to_string(),
        // The caller drops the list after two features.
        format!("{AREA} take: 2 {NOTES}"),
    ];
    for text in &cases {
        let request = DynamicMessage::parse_text_format(ask.clone(), text).unwrap();
        let body = prost::Message::encode_to_vec(&request);
        let from_native = unary(native, RUN, body.clone()).await;
        let from_consolidated = unary(consolidated, RUN, body).await;
        let (n_bytes, c_bytes) = match (from_native, from_consolidated) {
            (Ok(n), Ok(c)) => (n, c),
            other => panic!("{text}: both should answer: {other:?}"),
        };
        let n = DynamicMessage::decode(report.clone(), &*n_bytes).unwrap();
        let c = DynamicMessage::decode(report.clone(), &*c_bytes).unwrap();
        same(&n, &c, text);
        assert_eq!(n_bytes, c_bytes, "{text}: same bytes");
    }

    // What the cases mean to test, on the native app's answers.
    let run = |text: &str| {
        let request = DynamicMessage::parse_text_format(ask.clone(), text).unwrap();
        prost::Message::encode_to_vec(&request)
    };
    let decode = |bytes: Vec<u8>| DynamicMessage::decode(report.clone(), &*bytes).unwrap();
    let full = decode(unary(consolidated, RUN, run(&cases[0])).await.unwrap());
    let listed = full.get_field_by_name("listed").unwrap();
    assert_eq!(listed.as_list().unwrap().len(), 100, "every feature listed");
    let chat = full.get_field_by_name("chat").unwrap();
    // first, second, (first) third, fourth, (first, third) fifth, (second) sixth.
    assert_eq!(chat.as_list().unwrap().len(), 4);
    let capped = decode(unary(consolidated, RUN, run(&cases[1])).await.unwrap());
    assert_eq!(
        capped
            .get_field_by_name("listed")
            .unwrap()
            .as_list()
            .unwrap()
            .len(),
        3
    );
    let end = capped.get_field_by_name("list_end").unwrap();
    let end = end.as_message().unwrap();
    assert_eq!(
        end.get_field_by_name("code").unwrap().as_i32(),
        Some(tonic::Code::ResourceExhausted as i32)
    );
    let empty = decode(unary(consolidated, RUN, run(&cases[2])).await.unwrap());
    assert!(
        empty
            .get_field_by_name("listed")
            .unwrap()
            .as_list()
            .unwrap()
            .is_empty()
    );
    let summary = empty.get_field_by_name("summary").unwrap();
    assert_eq!(
        summary
            .as_message()
            .unwrap()
            .get_field_by_name("point_count")
            .unwrap()
            .as_i32(),
        Some(0)
    );
    let dropped = decode(unary(consolidated, RUN, run(&cases[3])).await.unwrap());
    assert_eq!(
        dropped
            .get_field_by_name("listed")
            .unwrap()
            .as_list()
            .unwrap()
            .len(),
        2
    );
}

/// How many 1 KiB chunks a producer may have made past a dropped stream.
/// Natively it runs ahead by what HTTP/2's flow-control windows and the
/// sockets hold (about 1 MiB: some hundreds to over a thousand chunks, by
/// timing, as a loaded run showed); consolidated, by the host's reply
/// buffer of 16 and what the producer made while the drop reached it.
/// Either way a small part of the 1 000 000 asked for.
fn run_ahead_bound(deployment: &str) -> u64 {
    if deployment == "native" { 10_000 } else { 1000 }
}

/// Encodes the text-format message `text` of type `name`.
fn encode(pool: &prost_reflect::DescriptorPool, name: &str, text: &str) -> Vec<u8> {
    let desc = pool.get_message_by_name(name).unwrap();
    prost::Message::encode_to_vec(&DynamicMessage::parse_text_format(desc, text).unwrap())
}

/// What a client sees of a streaming call: the messages, then the end (OK,
/// or a status's code and message).
type Seen = (Vec<Vec<u8>>, Option<(tonic::Code, String)>);

async fn grpc(addr: std::net::SocketAddr) -> tonic::client::Grpc<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc
}

async fn drain(
    response: Result<tonic::Response<tonic::Streaming<Vec<u8>>>, tonic::Status>,
) -> Seen {
    let mut stream = match response {
        Ok(r) => r.into_inner(),
        Err(status) => {
            return (
                Vec::new(),
                Some((status.code(), status.message().to_string())),
            );
        }
    };
    let mut messages = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(m)) => messages.push(m),
            Ok(None) => return (messages, None),
            Err(status) => {
                return (
                    messages,
                    Some((status.code(), status.message().to_string())),
                );
            }
        }
    }
}

async fn list_features(
    addr: std::net::SocketAddr,
    rect: Vec<u8>,
    cap: Option<&'static str>,
) -> Seen {
    let mut grpc = grpc(addr).await;
    let mut request = tonic::Request::new(rect);
    if let Some(cap) = cap {
        request
            .metadata_mut()
            .insert("x-max-features", cap.parse().unwrap());
    }
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/routeguide.RouteGuide/ListFeatures");
    drain(grpc.server_streaming(request, path, common::RawCodec).await).await
}

async fn record_route(
    addr: std::net::SocketAddr,
    points: Vec<Vec<u8>>,
) -> Result<Vec<u8>, (tonic::Code, String)> {
    let mut grpc = grpc(addr).await;
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/routeguide.RouteGuide/RecordRoute");
    let request = tonic::Request::new(tonic::codegen::tokio_stream::iter(points));
    grpc.client_streaming(request, path, common::RawCodec)
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| (s.code(), s.message().to_string()))
}

/// A chat in lockstep: each note is sent only after the replies it should
/// bring (`expect[i]` of them) have arrived, so the server must answer
/// while the client waits and take notes while it has nothing to say.
async fn route_chat(addr: std::net::SocketAddr, notes: Vec<Vec<u8>>, expect: &[usize]) -> Seen {
    let mut grpc = grpc(addr).await;
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/routeguide.RouteGuide/RouteChat");
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let request = tonic::Request::new(tonic::codegen::tokio_stream::wrappers::ReceiverStream::new(
        rx,
    ));
    let mut stream = grpc
        .streaming(request, path, common::RawCodec)
        .await
        .unwrap()
        .into_inner();
    let mut messages = Vec::new();
    for (note, want) in notes.into_iter().zip(expect) {
        tx.send(note).await.unwrap();
        for _ in 0..*want {
            match tokio::time::timeout(std::time::Duration::from_secs(10), stream.message()).await {
                Ok(Ok(Some(m))) => messages.push(m),
                other => panic!("expected a reply: {other:?}"),
            }
        }
    }
    drop(tx);
    let (rest, end) = drain(Ok(tonic::Response::new(stream))).await;
    messages.extend(rest);
    (messages, end)
}

async fn public_streaming_methods_answer_as_natively(both: &common::BothWays) {
    let native = both.native.addrs["guide"];
    let host = both.host.addr;
    let pool = descriptors(
        "examples/routeguide/proto",
        &["route_guide.proto", "tour.proto"],
    );
    let whole = encode(
        &pool,
        "routeguide.Rectangle",
        "lo { latitude: 400000000 longitude: -750000000 } hi { latitude: 420000000 longitude: -730000000 }",
    );
    let nowhere = encode(&pool, "routeguide.Rectangle", "lo { } hi { }");

    // Server streaming: in full, an error status after three messages, empty.
    for (rect, cap, messages, code) in [
        (&whole, None, 100, None),
        (&whole, Some("3"), 3, Some(tonic::Code::ResourceExhausted)),
        (&nowhere, None, 0, None),
        (&whole, Some("x"), 0, Some(tonic::Code::InvalidArgument)),
    ] {
        let n = list_features(native, rect.clone(), cap).await;
        let c = list_features(host, rect.clone(), cap).await;
        assert_eq!(n, c, "ListFeatures cap {cap:?}");
        assert_eq!(
            (n.0.len(), n.1.map(|e| e.0)),
            (messages, code),
            "what the case means"
        );
    }

    // Client streaming: a route, and no points at all.
    let point = |lat: i32, lng: i32| {
        encode(
            &pool,
            "routeguide.Point",
            &format!("latitude: {lat} longitude: {lng}"),
        )
    };
    let route = vec![
        point(407838351, -746143763),
        point(408122808, -743999179),
        point(1, 2),
        point(413628156, -749015468),
    ];
    for points in [route, Vec::new()] {
        let n = record_route(native, points.clone()).await;
        let c = record_route(host, points.clone()).await;
        assert_eq!(n, c, "RecordRoute of {} points", points.len());
        assert!(n.is_ok());
    }

    // Bidi: replies arrive while the client waits to send, notes are taken
    // while the server has nothing to say.
    let note = |at: i32, text: &str| {
        encode(
            &pool,
            "routeguide.RouteNote",
            &format!("location {{ latitude: {at} longitude: {at} }} message: {text:?}"),
        )
    };
    let notes = vec![
        note(1, "a"),
        note(2, "b"),
        note(1, "c"),
        note(1, "d"),
        note(2, "e"),
    ];
    let expect = [0, 0, 1, 2, 1];
    let n = route_chat(native, notes.clone(), &expect).await;
    let c = route_chat(host, notes, &expect).await;
    assert_eq!(n, c, "RouteChat");
    assert_eq!((n.0.len(), n.1), (4, None));
}

/// The ticker fixture: a client drops a server stream after 10 of 1 000 000
/// chunks of 1 KiB, and the producing task stops within 100 ms with nothing
/// left running; a bidi stream sends five heartbeats while the client sends
/// nothing, then echoes 100 chunks one at a time, as natively.
#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_stream_stops_its_producer_and_heartbeats_flow() {
    let app = common::repo().join("cofaas/tests/fixtures/ticker");
    let mut both = common::both_ways(&app, LinkMode::Auto, "cofaas").await;
    assert_eq!(units(&both), 2, "the stateful ticker stands alone");
    let pool = descriptors("cofaas/tests/fixtures/ticker/proto", &["tick.proto"]);
    let stats_reply = pool.get_message_by_name("tick.StatsReply").unwrap();
    let stats = |addr| {
        let stats_reply = stats_reply.clone();
        async move {
            let reply = unary(addr, "/tick.Ticker/Stats", Vec::new()).await.unwrap();
            let reply = DynamicMessage::decode(stats_reply, &*reply).unwrap();
            let field = |name: &str| reply.get_field_by_name(name).unwrap().into_owned();
            (
                field("produced").as_u64().unwrap(),
                field("running").as_u32().unwrap(),
                field("cancelled").as_u32().unwrap(),
            )
        }
    };
    let mut echoes = Vec::new();
    for (name, addr) in [
        ("native", both.native.addrs["ticker"]),
        ("consolidated", both.host.addr),
    ] {
        let mut grpc = grpc(addr).await;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static("/tick.Ticker/Count");
        let request =
            tonic::Request::new(encode(&pool, "tick.CountRequest", "n: 1000000 size: 1024"));
        let mut stream = grpc
            .server_streaming(request, path, common::RawCodec)
            .await
            .unwrap()
            .into_inner();
        for _ in 0..10 {
            let chunk = stream.message().await.unwrap().unwrap();
            assert!(chunk.len() > 1024, "{name}: a 1 KiB chunk");
        }
        drop(stream);
        let dropped = std::time::Instant::now();
        let (produced, stopped_after) = loop {
            let (produced, running, cancelled) = stats(addr).await;
            if running == 0 {
                assert_eq!(cancelled, 1, "{name}: the producer saw the cancellation");
                break (produced, dropped.elapsed());
            }
            assert!(
                dropped.elapsed() < std::time::Duration::from_secs(5),
                "{name}: still running"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        };
        assert!(
            stopped_after < std::time::Duration::from_millis(100),
            "{name}: the producer stopped {stopped_after:?} after the drop"
        );
        assert!(
            produced < run_ahead_bound(name),
            "{name}: {produced} chunks produced for 10 read"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            stats(addr).await,
            (produced, 0, 1),
            "{name}: nothing keeps running"
        );

        // Heartbeats while the client is idle, then an echo in lockstep.
        let mut grpc = self::grpc(addr).await;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static("/tick.Ticker/Echo");
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
        let request = tonic::Request::new(
            tonic::codegen::tokio_stream::wrappers::ReceiverStream::new(rx),
        );
        let mut stream = grpc
            .streaming(request, path, common::RawCodec)
            .await
            .unwrap()
            .into_inner();
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(next_message(&mut stream, name).await);
        }
        for seq in 0..100 {
            let text = format!("seq: {seq} data: \"chunk {seq}\"");
            tx.send(encode(&pool, "tick.Chunk", &text)).await.unwrap();
            seen.push(next_message(&mut stream, name).await);
        }
        drop(tx);
        let (rest, end) = drain(Ok(tonic::Response::new(stream))).await;
        assert_eq!(
            (rest.len(), end),
            (0, None),
            "{name}: the echo ends with OK"
        );
        echoes.push(seen);
    }
    assert_eq!(echoes[0], echoes[1], "the same heartbeats and echoes");
    let heartbeat = pool.get_message_by_name("tick.Chunk").unwrap();
    let beats = echoes[0][..5]
        .iter()
        .filter(|m| {
            let m = DynamicMessage::decode(heartbeat.clone(), &***m).unwrap();
            m.get_field_by_name("heartbeat").unwrap().as_bool() == Some(true)
        })
        .count();
    assert_eq!(beats, 5);

    // The sink reads the ticker's streams across a host-mediated edge.
    let drain_reply = pool.get_message_by_name("tick.DrainReply").unwrap();
    let drain = |addr, text: &'static str| {
        let (pool, drain_reply) = (pool.clone(), drain_reply.clone());
        async move {
            // 1 GiB takes its time through an unoptimised (test) host.
            let mut request = tonic::Request::new(encode(&pool, "tick.DrainRequest", text));
            request.set_timeout(std::time::Duration::from_secs(300));
            let reply = common::unary_request(addr, "/tick.Sink/Drain", request)
                .await
                .unwrap()
                .into_inner();
            let decoded = DynamicMessage::decode(drain_reply, &*reply).unwrap();
            let field = |name: &str| decoded.get_field_by_name(name).unwrap().as_u64().unwrap();
            (
                reply,
                (field("chunks"), field("bytes"), field("out_of_order")),
            )
        }
    };
    let host_pid = both.host.process().id();
    let mut replies = Vec::new();
    for (name, sink, ticker) in [
        (
            "native",
            both.native.addrs["sink"],
            both.native.addrs["ticker"],
        ),
        ("consolidated", both.host.addr, both.host.addr),
    ] {
        // Cancellation: the sink stops after 10 of 1 000 000 chunks.
        let (before, _, cancelled) = stats(ticker).await;
        let (_, taken) = drain(sink, "count { n: 1000000 size: 1024 } take: 10").await;
        assert_eq!(taken, (10, 10 * 1024, 0), "{name}");
        let dropped = std::time::Instant::now();
        loop {
            let (produced, running, now_cancelled) = stats(ticker).await;
            if running == 0 {
                assert_eq!(
                    now_cancelled,
                    cancelled + 1,
                    "{name}: the producer saw the drop"
                );
                assert!(
                    produced - before < run_ahead_bound(name),
                    "{name}: {} produced",
                    produced - before
                );
                break;
            }
            assert!(
                dropped.elapsed() < std::time::Duration::from_millis(100),
                "{name}: the producer still runs {:?} after the drop",
                dropped.elapsed()
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }

        // Backpressure: 1 GiB in 64 KiB chunks, the host's memory
        // sampled meanwhile.
        let idle = rss(host_pid);
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let sampling = sampling.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) && peak != u64::MAX {
                    let now = rss(host_pid);
                    peak = if now == 0 { u64::MAX } else { peak.max(now) };
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                peak
            })
        };
        let (reply, drained) = drain(sink, "count { n: 16384 size: 65536 }").await;
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let peak = sampler.join().unwrap();
        assert_eq!(drained, (16384, 1 << 30, 0), "{name}: 1 GiB, in order");
        if name == "consolidated" {
            assert!(
                peak.saturating_sub(idle) < 64 << 20,
                "the host grew from {} MiB idle to {} MiB streaming 1 GiB",
                idle >> 20,
                peak >> 20
            );
            eprintln!(
                "host RSS: {} MiB idle, {} MiB at most streaming 1 GiB across a mediated edge",
                idle >> 20,
                peak >> 20
            );
        }
        replies.push(reply);
    }
    assert_eq!(replies[0], replies[1], "the same drain replies");
}

/// The resident set of process `pid`, in bytes (0 once it is gone).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib << 10)
}

/// The stream's next message, within 10 s.
async fn next_message(stream: &mut tonic::Streaming<Vec<u8>>, name: &str) -> Vec<u8> {
    match tokio::time::timeout(std::time::Duration::from_secs(10), stream.message()).await {
        Ok(Ok(Some(m))) => m,
        other => panic!("{name}: expected a message: {other:?}"),
    }
}
