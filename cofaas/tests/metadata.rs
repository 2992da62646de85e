//! Metadata across calls (the `metadata` fixture): the entry reports the
//! metadata the client sent, forwards chosen keys (ASCII, repeated and
//! `-bin`) to a callee over a fused edge and to another over a host-mediated
//! edge, and reports the response headers and the error status's metadata
//! it got back; its own response headers, and its error status's metadata,
//! reach the client. The consolidated app must give exactly what the native
//! one gives.

mod common;

use std::net::SocketAddr;

use cofaas::units::LinkMode;
use common::{app_entries, descriptors, same, unary_request};
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::metadata::MetadataValue;

const CALL: &str = "/md.Front/Call";

/// The request: every kind of metadata a client sends.
fn request(ask: &MessageDescriptor, text: &str, fail: bool) -> tonic::Request<Vec<u8>> {
    let message =
        DynamicMessage::parse_text_format(ask.clone(), &format!("text: {text:?} fail: {fail}"))
            .unwrap();
    let mut request = tonic::Request::new(prost::Message::encode_to_vec(&message));
    let m = request.metadata_mut();
    m.insert("x-request-id", MetadataValue::from_static("req-42"));
    m.insert("authorization", MetadataValue::from_static("Bearer t0ken"));
    m.insert_bin("trace-bin", MetadataValue::from_bytes(&[0, 1, 2, 0xff]));
    m.append("x-multi", MetadataValue::from_static("a"));
    m.append("x-multi", MetadataValue::from_static("b"));
    // Not forwarded by Front: its callees must not see it.
    m.insert("x-private", MetadataValue::from_static("front only"));
    request
}

/// What the client observes of one call: the reply (or the status), and the
/// app's entries of the response metadata.
#[derive(Debug, PartialEq)]
enum Observed {
    Reply(DynamicMessage, Vec<(String, Vec<u8>)>),
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
            Observed::Reply(reply, md)
        }
        Err(status) => Observed::Failed(
            status.code(),
            status.message().to_string(),
            app_entries(status.metadata()),
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_crosses_fused_and_mediated_edges_as_natively() {
    let app = common::repo().join("cofaas/tests/fixtures/metadata");
    // Fused where it can be: Front → Back is composed, Front → Ledger (one
    // instance) host-mediated.
    let both = common::both_ways(&app, LinkMode::Fused, "cofaas").await;
    let (native, host) = (both.native.addr, &both.host);

    let pool = descriptors("cofaas/tests/fixtures/metadata/proto", &["md.proto"]);
    let ask = pool.get_message_by_name("md.Ask").unwrap();
    let seen = pool.get_message_by_name("md.Seen").unwrap();

    let n = observe(native, &seen, request(&ask, "hi", false)).await;
    let c = observe(host.addr, &seen, request(&ask, "hi", false)).await;
    let (Observed::Reply(n_reply, n_md), Observed::Reply(c_reply, c_md)) = (&n, &c) else {
        panic!("both should answer: native {n:?}, consolidated {c:?}")
    };
    same(c_reply, n_reply, "text: hi");
    assert_eq!(c_md, n_md, "response metadata");
    // What the native app gives is what the fixture means to test.
    assert!(
        n_md.iter()
            .any(|(k, v)| k == "x-front-bin" && v == &[0xfe, 0, 0x7f]),
        "{n_md:?}"
    );
    let text = n_reply.to_text_format();
    for expected in [
        "req-42",
        "Bearer t0ken",
        "x-from-front",
        "back saw hi",
        "x-ledger-header",
        "x-retry-after",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from {text}");
    }
    assert!(
        !text.contains("x-private\" value: \"front only\" } back"),
        "{text}"
    );

    let n = observe(native, &seen, request(&ask, "no", true)).await;
    let c = observe(host.addr, &seen, request(&ask, "no", true)).await;
    assert_eq!(c, n, "an error status with metadata");
    let Observed::Failed(code, _, md) = &n else {
        panic!("native should fail: {n:?}")
    };
    assert_eq!(*code, tonic::Code::FailedPrecondition);
    assert_eq!(md, &[("x-front-fail".to_string(), b"refused".to_vec())]);
}
