//! Streaming rpcs across a fused edge (`examples/routeguide`): the tour
//! calls the guide with all four kinds of rpc in one request, and the
//! consolidated app must report exactly what the native one reports, for a
//! full run, a server stream that ends with an error status after three
//! messages, an empty stream, a stream the caller drops after two
//! messages, and empty client and bidi streams.

mod common;

use cofaas::units::LinkMode;
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

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_crosses_a_fused_edge_as_natively() {
    let app = common::repo().join("examples/routeguide");
    let both = common::both_ways(&app, LinkMode::Auto, "cofaas").await;
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
        let native = unary(both.native.addr, RUN, body.clone()).await;
        let consolidated = unary(both.host.addr, RUN, body).await;
        let (native, consolidated) = match (native, consolidated) {
            (Ok(n), Ok(c)) => (n, c),
            other => panic!("{text}: both should answer: {other:?}"),
        };
        let n = DynamicMessage::decode(report.clone(), &*native).unwrap();
        let c = DynamicMessage::decode(report.clone(), &*consolidated).unwrap();
        same(&n, &c, text);
        assert_eq!(native, consolidated, "{text}: same bytes");
    }

    // What the cases mean to test, on the native app's answers.
    let run = |text: &str| {
        let request = DynamicMessage::parse_text_format(ask.clone(), text).unwrap();
        prost::Message::encode_to_vec(&request)
    };
    let decode = |bytes: Vec<u8>| DynamicMessage::decode(report.clone(), &*bytes).unwrap();
    let full = decode(unary(both.host.addr, RUN, run(&cases[0])).await.unwrap());
    let listed = full.get_field_by_name("listed").unwrap();
    assert_eq!(listed.as_list().unwrap().len(), 100, "every feature listed");
    let chat = full.get_field_by_name("chat").unwrap();
    // first, second, (first) third, fourth, (first, third) fifth, (second) sixth.
    assert_eq!(chat.as_list().unwrap().len(), 4);
    let capped = decode(unary(both.host.addr, RUN, run(&cases[1])).await.unwrap());
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
    let empty = decode(unary(both.host.addr, RUN, run(&cases[2])).await.unwrap());
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
    let dropped = decode(unary(both.host.addr, RUN, run(&cases[3])).await.unwrap());
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
