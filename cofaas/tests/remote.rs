//! Remote edges on loopback: the `metadata` fixture placed on three nodes
//! (`cofaas-split.toml`: every call between its functions crosses hosts as
//! gRPC) must answer every call exactly as the native app and the
//! all-local build do: replies, statuses and metadata. The per-edge
//! metrics count the remote calls; a node that goes down gives
//! `UNAVAILABLE` quickly, and the calls recover when it is back.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cofaas::units::{EdgeMode, LinkMode};
use common::{app_entries, descriptors, unary_request};
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::metadata::MetadataValue;

const CALL: &str = "/md.Front/Call";

fn request(ask: &MessageDescriptor, text: &str, fail: bool) -> tonic::Request<Vec<u8>> {
    let message =
        DynamicMessage::parse_text_format(ask.clone(), &format!("text: {text:?} fail: {fail}"))
            .unwrap();
    let mut request = tonic::Request::new(prost::Message::encode_to_vec(&message));
    let m = request.metadata_mut();
    m.insert("x-request-id", MetadataValue::from_static("req-7"));
    m.insert("authorization", MetadataValue::from_static("Bearer remote"));
    m.insert_bin("trace-bin", MetadataValue::from_bytes(&[9, 0, 0xff]));
    m.append("x-multi", MetadataValue::from_static("a"));
    m.append("x-multi", MetadataValue::from_static("b"));
    m.insert("x-private", MetadataValue::from_static("front only"));
    request
}

/// What a client observes of one call.
#[derive(Debug, PartialEq)]
enum Observed {
    Reply(String, Vec<(String, Vec<u8>)>),
    Failed(tonic::Code, String, Vec<(String, Vec<u8>)>),
}

async fn observe(
    addr: SocketAddr,
    seen: &MessageDescriptor,
    request: tonic::Request<Vec<u8>>,
) -> Observed {
    match unary_request(addr, CALL, request).await {
        Ok(response) => {
            let md = app_entries(response.metadata());
            let reply = DynamicMessage::decode(seen.clone(), &**response.get_ref()).unwrap();
            Observed::Reply(reply.to_text_format(), md)
        }
        Err(status) => Observed::Failed(
            status.code(),
            status.message().to_string(),
            app_entries(status.metadata()),
        ),
    }
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    out
}

/// The value of the metric line starting with `series ` in `text`.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_edges_answer_as_local_edges_and_natively() {
    let app = common::repo().join("cofaas/tests/fixtures/metadata");
    let both = common::both_ways(&app, LinkMode::Auto, "remote-local").await;

    let opts = common::build_options_at(&app.join("cofaas-split.toml"), LinkMode::Auto, "remote");
    let split = tokio::task::spawn_blocking(move || cofaas::pipeline::build(&opts).unwrap())
        .await
        .unwrap();
    let nodes: Vec<&str> = split.nodes.keys().map(String::as_str).collect();
    assert_eq!(nodes, ["backs", "books", "entry"]);
    let modes: Vec<(&str, &str, EdgeMode)> = split
        .edges
        .iter()
        .map(|e| (e.caller.as_str(), e.callee.as_str(), e.mode))
        .collect();
    assert_eq!(
        modes,
        [
            ("front", "back", EdgeMode::Remote),
            ("front", "ledger", EdgeMode::Remote)
        ]
    );
    let entry_deployment = cofaas_host::Deployment::load(&split.nodes["entry"]).unwrap();
    assert_eq!(entry_deployment.serves, ["md.Front"]);
    let remote: Vec<&str> = entry_deployment
        .remote
        .iter()
        .map(|r| r.service.as_str())
        .collect();
    assert_eq!(remote, ["md.Back", "md.Ledger"]);

    let start = |node: &str, listen: Option<SocketAddr>, extra: Vec<String>| {
        let (bin, deployment) = (split.host_bin.clone(), split.nodes[node].clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
                cofaas::demo::start_host_with(&bin, &deployment, listen, &extra, false).unwrap()
            })
            .await
            .unwrap()
        }
    };
    let backs = start("backs", None, vec![]).await;
    let books = start("books", None, vec![]).await;
    let backs_addr = backs.addr;
    let mut entry = start(
        "entry",
        None,
        vec![
            "--peer".into(),
            format!("md.Back=http://{}", backs.addr),
            "--peer".into(),
            format!("md.Ledger=http://{}", books.addr),
            "--metrics".into(),
            "127.0.0.1:0".into(),
        ],
    )
    .await;
    let metrics = entry.metrics_addr().unwrap();

    let pool = descriptors("cofaas/tests/fixtures/metadata/proto", &["md.proto"]);
    let ask = pool.get_message_by_name("md.Ask").unwrap();
    let seen = pool.get_message_by_name("md.Seen").unwrap();

    // The same calls three ways: a reply with metadata (and, inside it, a
    // callee's error status with metadata), and an error status.
    let cases = [("hi", false), ("héllo, world", false), ("no", true)];
    for (text, fail) in cases {
        let native = observe(both.native.addr, &seen, request(&ask, text, fail)).await;
        let local = observe(both.host.addr, &seen, request(&ask, text, fail)).await;
        let remote = observe(entry.addr, &seen, request(&ask, text, fail)).await;
        assert_eq!(local, native, "local edges, {text:?}");
        assert_eq!(remote, native, "remote edges, {text:?}");
    }
    let Observed::Reply(reply, _) = observe(entry.addr, &seen, request(&ask, "x", false)).await
    else {
        panic!("the split app should answer")
    };
    for expected in ["req-7", "Bearer remote", "x-from-front", "x-ledger-header"] {
        assert!(
            reply.contains(expected),
            "`{expected}` missing from {reply}"
        );
    }

    // Three successful calls made two remote calls to Back (Echo, Fail)
    // and one to Ledger each.
    let text = tokio::task::spawn_blocking(move || http_get(metrics, "/metrics"))
        .await
        .unwrap();
    for (series, n) in [
        (
            "cofaas_remote_calls_total{caller=\"front\",callee=\"back\",method=\"echo\"}",
            3.0,
        ),
        (
            "cofaas_remote_calls_total{caller=\"front\",callee=\"back\",method=\"fail\"}",
            3.0,
        ),
        (
            "cofaas_remote_calls_total{caller=\"front\",callee=\"ledger\",method=\"echo\"}",
            3.0,
        ),
    ] {
        assert_eq!(metric(&text, series), Some(n), "{series} in\n{text}");
    }
    let bytes = metric(
        &text,
        "cofaas_edge_bytes_total{caller=\"front\",callee=\"back\",method=\"echo\"}",
    )
    .unwrap();
    assert!(bytes > 0.0, "{text}");
    assert!(
        !text.contains("cofaas_edge_calls_total{caller=\"front\""),
        "no host-mediated edge on a node holding only front: {text}"
    );

    // Back's node goes down: calls needing it fail UNAVAILABLE, quickly.
    drop(backs);
    let started = Instant::now();
    let down = observe(entry.addr, &seen, request(&ask, "down", false)).await;
    let waited = started.elapsed();
    let Observed::Failed(code, message, _) = &down else {
        panic!("a call needing a node that is down should fail: {down:?}")
    };
    assert_eq!(*code, tonic::Code::Unavailable, "{message}");
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
    // It comes back on its address: the calls recover.
    let _backs = start("backs", Some(backs_addr), vec![]).await;
    let native = observe(both.native.addr, &seen, request(&ask, "back", false)).await;
    let mut remote = observe(entry.addr, &seen, request(&ask, "back", false)).await;
    for _ in 0..20 {
        if remote == native {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        remote = observe(entry.addr, &seen, request(&ask, "back", false)).await;
    }
    assert_eq!(remote, native, "after the node came back");

    // Ledger's node restarts between two calls: the connections to the
    // old one are remade, and not one call fails.
    let books_addr = books.addr;
    drop(books);
    let _books = start("books", Some(books_addr), vec![]).await;
    for text in ["first", "second", "third"] {
        let native = observe(both.native.addr, &seen, request(&ask, text, false)).await;
        let remote = observe(entry.addr, &seen, request(&ask, text, false)).await;
        assert_eq!(remote, native, "right after a restart, {text:?}");
    }
}
