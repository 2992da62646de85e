//! End to end over the Protobuf type system: the `examples/typeshow` app
//! (gateway → pricing) sends one order message that uses every kind of type
//! cofaas maps — all scalars, nested messages and enums, `repeated`, maps,
//! `optional`, `oneof`, Timestamp, Duration, wrappers (also as oneof
//! cases, list elements and map values), Any, Struct, FieldMask, Empty, an
//! empty message (as a field, a oneof case, list elements and map values),
//! a message named like a well-known one (`shop.Value`) and a recursive
//! message — to pricing, which echoes it
//! back inside its quote. Through the generated shims, the host-mediated edge
//! and the host's public server, every value crosses WIT both ways.
//!
//! The oracle is the native deployment of the same, unchanged, sources: the
//! consolidated host must answer every request as it does, and the order
//! must come back exactly as it was sent.

mod common;

use std::net::SocketAddr;

use cofaas::demo::{build_native_app, start_host, start_listening};
use cofaas::pipeline::build;
use cofaas::units::LinkMode;
use common::{same, unary};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use tonic::Code;

fn descriptors() -> DescriptorPool {
    common::descriptors("examples/typeshow/proto", &["shop.proto"])
}

fn message(pool: &DescriptorPool, name: &str) -> MessageDescriptor {
    pool.get_message_by_name(name).unwrap()
}

/// Every field of `shop.Order` set, with extreme scalars, non-ASCII text,
/// nested recursion, presence of zero values (`max_parcels {}` is
/// `Some(0)`; an explicit `value: 0` would not survive any proto3 encoder,
/// so it could not be compared) and both map kinds.
const FULL_ORDER: &str = r#"
id: "o-1"
lines { sku: "apple" quantity: 3 unit_price_micros: 250000 note: "ripe" }
lines { sku: "pear" quantity: 1 unit_price_micros: 990000 }
coupons { key: "WELCOME" value: 100000 }
coupons { key: "BULK" value: -5 }
priority: PRIORITY_HIGH
card { number: "4111111111111111" expiry_month: 12 }
placed_at { seconds: 1700000000 nanos: 123456789 }
deliver_within { seconds: 86400 nanos: 5 }
gift_message { value: "happy birthday ✓" }
max_parcels {}
category {
  name: "food"
  children { name: "fruit" children { name: "pome" } children { name: "citrus" } }
  children { name: "veg" }
}
blob: "\000\001\377"
extension { type_url: "type.googleapis.com/shop.Card" value: "\n\0014" }
attributes {
  fields { key: "color" value { string_value: "red" } }
  fields { key: "size" value { list_value { values { number_value: 3.5 } values { bool_value: true } } } }
  fields { key: "meta" value { struct_value { fields { key: "none" value { null_value: NULL_VALUE } } } } }
}
fields { paths: "lines.sku" paths: "priority" }
scalars {
  f64: -1.5e300 f32: 3.25 i32: -2147483648 i64: -9223372036854775808
  u32: 4294967295 u64: 18446744073709551615 s32: -7 s64: 9223372036854775807
  fx32: 4294967295 fx64: 1 sfx32: -1 sfx64: -9223372036854775808
  flag: true text: "ünïcode ✓" data: "\000"
}
history: [PRIORITY_LOW, PRIORITY_HIGH, PRIORITY_UNSPECIFIED]
loyalty_level: 0
wrapping {}
gifts {} gifts {}
gift_by_line { key: "apple" value {} }
surprise {}
counts { value: 3 } counts {} counts { value: -1 }
flags { key: "fragile" value { value: true } } flags { key: "upright" value {} }
tag { label: "vip" weight: 7 }
"#;

/// Sparse: present-but-empty values must stay present (an empty voucher
/// in the oneof, an empty wrapper, an empty optional note), absent ones
/// absent.
const SPARSE_ORDER: &str = r#"
id: "o-2"
lines { sku: "x" note: "" }
voucher: ""
gift_message {}
points {}
"#;

/// The wrapper case of the `bonus` oneof with a value, beside an empty
/// message in a list and nothing else of the new fields.
const BONUS_ORDER: &str = r#"
id: "o-3"
lines { sku: "y" quantity: 2 }
points { value: -42 }
gifts {}
"#;

/// With pricing in Rust, then in Go (`examples/typeshow/pricing-go`,
/// grpc-go and protobuf-go: every type crosses a Rust → Go edge and back).
/// One after the other: both apps have a Rust crate `gateway`, built into
/// the same target dir.
#[tokio::test(flavor = "multi_thread")]
async fn every_type_crosses_wit_as_natively() {
    every_type_crosses_as_natively("typeshow").await;
    every_type_crosses_as_natively("typeshow/cofaas-go.toml").await;
}

/// Builds the typeshow app described by `examples/<manifest>` natively and
/// consolidated, host-mediated then fused, and compares the answers.
async fn every_type_crosses_as_natively(manifest: &'static str) {
    let app = common::repo().join("examples").join(manifest);
    let target = common::target_dir();
    let bins = tokio::task::spawn_blocking(move || build_native_app(&app, &target, false).unwrap())
        .await
        .unwrap();
    let (native, _pricing, _gateway) = tokio::task::spawn_blocking(move || {
        let (pricing_addr, pricing) = start_listening(
            "pricing",
            &bins["pricing"].program,
            "PRICING_LISTEN",
            &[],
            false,
        )
        .unwrap();
        let (addr, gateway) = start_listening(
            "gateway",
            &bins["gateway"].program,
            "GATEWAY_LISTEN",
            &[("PRICING_ADDR", bins["gateway"].peer_address(pricing_addr))],
            false,
        )
        .unwrap();
        (addr, pricing, gateway)
    })
    .await
    .unwrap();

    // The edge carries strings and lists: host-mediated by the cost model,
    // so the host's typed mirrors of every type are on the path.
    let host = build_and_start(manifest, LinkMode::Auto).await;
    assert_eq!(host.units, ["gateway", "pricing"]);
    answers_like_native(native, host.consolidated.addr).await;
    drop(host);
    // Fused: one composed unit, the values crossing wasmtime's adapters.
    let host = build_and_start(manifest, LinkMode::Fused).await;
    assert_eq!(host.units, ["gateway+pricing"]);
    answers_like_native(native, host.consolidated.addr).await;
}

struct Running {
    units: Vec<String>,
    consolidated: cofaas::demo::Consolidated,
}

async fn build_and_start(manifest: &'static str, link: LinkMode) -> Running {
    tokio::task::spawn_blocking(move || {
        let artifacts = build(&common::build_options(manifest, link, "cofaas")).unwrap();
        let consolidated = start_host(&artifacts, None, &[], false).unwrap();
        Running {
            units: artifacts.units.keys().cloned().collect(),
            consolidated,
        }
    })
    .await
    .unwrap()
}

/// Sends the same requests to the native deployment at `native` and the
/// consolidated one at `consolidated`, and compares.
async fn answers_like_native(native: SocketAddr, consolidated: SocketAddr) {
    let pool = descriptors();
    let order_desc = message(&pool, "shop.Order");
    let receipt_desc = message(&pool, "shop.Receipt");
    for text in [FULL_ORDER, SPARSE_ORDER, BONUS_ORDER] {
        let order = DynamicMessage::parse_text_format(order_desc.clone(), text).unwrap();
        let body = prost::Message::encode_to_vec(&order);
        let path = "/shop.Gateway/Checkout";
        let from_native = unary(native, path, body.clone()).await.unwrap();
        let from_host = unary(consolidated, path, body).await.unwrap();
        let native_receipt = DynamicMessage::decode(receipt_desc.clone(), &*from_native).unwrap();
        let host_receipt = DynamicMessage::decode(receipt_desc.clone(), &*from_host).unwrap();
        same(&host_receipt, &native_receipt, text);
        // The order came back exactly as sent (so every value crossed
        // WIT both ways intact), and pricing saw and used it.
        let quote = host_receipt.get_field_by_name("quote").unwrap();
        let quote = quote.as_message().unwrap();
        let echoed = quote.get_field_by_name("order").unwrap();
        same(echoed.as_message().unwrap(), &order, text);
        let notes = quote.get_field_by_name("notes").unwrap();
        assert!(
            notes.as_list().unwrap().len() >= 3,
            "pricing left notes: {notes:?}"
        );
    }

    // The full order's derived values, from both deployments alike: the
    // card map (a message-valued map), the Timestamp arithmetic.
    let order = DynamicMessage::parse_text_format(order_desc.clone(), FULL_ORDER).unwrap();
    let body = prost::Message::encode_to_vec(&order);
    let reply = unary(consolidated, "/shop.Gateway/Checkout", body)
        .await
        .unwrap();
    let receipt = DynamicMessage::decode(receipt_desc.clone(), &*reply).unwrap();
    let quote = receipt.get_field_by_name("quote").unwrap();
    let quote = quote.as_message().unwrap().clone();
    assert_eq!(
        quote.get_field_by_name("total_micros").unwrap().as_ref(),
        &Value::I64(3 * 250_000 + 990_000 - 100_000 + 5)
    );
    assert_eq!(
        quote
            .get_field_by_name("cards_by_line")
            .unwrap()
            .as_map()
            .unwrap()
            .len(),
        2
    );
    let deliver_by = quote.get_field_by_name("deliver_by").unwrap();
    let deliver_by = deliver_by.as_message().unwrap();
    assert_eq!(
        deliver_by.get_field_by_name("seconds").unwrap().as_ref(),
        &Value::I64(1_700_086_400)
    );
    // Pricing read the empty messages, the wrappers in a oneof, a list and
    // a map, and `shop.Value` (its Go and Rust code write the same notes).
    let notes: Vec<String> = quote
        .get_field_by_name("notes")
        .unwrap()
        .as_list()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    for expected in [
        "bonus: a surprise",
        "3 gift(s), wrapped true, counts [3, 0, -1], 1 flag(s), tag vip",
    ] {
        assert!(
            notes.iter().any(|n| n == expected),
            "no note `{expected}` in {notes:?}"
        );
    }

    // Empty in, Empty out.
    for addr in [native, consolidated] {
        assert_eq!(
            unary(addr, "/shop.Gateway/Ping", Vec::new()).await.unwrap(),
            Vec::<u8>::new()
        );
    }

    // A function's error status, unchanged through the edge.
    let no_lines = DynamicMessage::parse_text_format(order_desc.clone(), r#"id: "o-3""#).unwrap();
    let body = prost::Message::encode_to_vec(&no_lines);
    let n = unary(native, "/shop.Gateway/Checkout", body.clone())
        .await
        .unwrap_err();
    let c = unary(consolidated, "/shop.Gateway/Checkout", body)
        .await
        .unwrap_err();
    assert_eq!((c.code(), c.message()), (n.code(), n.message()));
    assert_eq!(c.code(), Code::InvalidArgument);
    assert_eq!(c.message(), "order o-3 has no lines");

    // An enum number the proto does not name: prost keeps it natively;
    // with closed enums (the default) the host refuses it clearly rather
    // than passing on another value.
    let mut unknown = DynamicMessage::parse_text_format(
        order_desc.clone(),
        r#"id: "o-4" lines { sku: "y" quantity: 1 }"#,
    )
    .unwrap();
    unknown.set_field_by_name("priority", Value::EnumNumber(7));
    let body = prost::Message::encode_to_vec(&unknown);
    let native_reply = unary(native, "/shop.Gateway/Checkout", body.clone())
        .await
        .unwrap();
    let native_receipt = DynamicMessage::decode(receipt_desc.clone(), &*native_reply).unwrap();
    let echoed = native_receipt.get_field_by_name("quote").unwrap();
    let echoed = echoed
        .as_message()
        .unwrap()
        .get_field_by_name("order")
        .unwrap();
    let priority = echoed
        .as_message()
        .unwrap()
        .get_field_by_name("priority")
        .unwrap();
    assert_eq!(priority.as_ref(), &Value::EnumNumber(7));
    let err = unary(consolidated, "/shop.Gateway/Checkout", body)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(
        err.message(),
        "field `shop.Order.priority`: value 7 is not a number of enum `shop.Order.Priority`"
    );
}
