//! Real crate layouts (the `layouts` fixture): a function that is one
//! `[[bin]]` of a crate with several (`bin = "helloworld-server"`, tonic's
//! helloworld shape), a runtime built by hand with
//! `Builder::new_multi_thread().worker_threads(4)`, a reply made in a
//! `tokio::spawn`ed task, and `#[tokio::main(flavor = "multi_thread",
//! worker_threads = 4)]` in a crate whose `src/lib.rs` (the service, with
//! `crate::` paths of its own) is used by its `src/main.rs` by the crate's
//! name, the binary having a module of its own. Built, served, and
//! answering like native.

mod common;

use cofaas::units::LinkMode;
use common::{descriptors, same, unary};
use prost_reflect::DynamicMessage;

#[tokio::test(flavor = "multi_thread")]
async fn multi_binary_crates_and_hand_built_runtimes_answer_like_native() {
    let app = common::repo().join("cofaas/tests/fixtures/layouts");
    let both = common::both_ways(&app, LinkMode::Auto, "cofaas").await;
    // Only the function's binary of the crate is built natively.
    assert!(both.bins["greeter"].program.ends_with("helloworld-server"));
    let (native, host) = (both.native.addr, &both.host);

    let pool = descriptors("cofaas/tests/fixtures/layouts/proto", &["layouts.proto"]);
    let request = pool.get_message_by_name("layouts.HelloRequest").unwrap();
    let reply = pool.get_message_by_name("layouts.HelloReply").unwrap();
    for name in ["tonic", "ünïcode", ""] {
        let body = prost::Message::encode_to_vec(
            &DynamicMessage::parse_text_format(request.clone(), &format!("name: {name:?}"))
                .unwrap(),
        );
        let path = "/layouts.Greeter/SayHello";
        let n = unary(native, path, body.clone()).await.unwrap();
        let c = unary(host.addr, path, body).await.unwrap();
        let n = DynamicMessage::decode(reply.clone(), &*n).unwrap();
        let c = DynamicMessage::decode(reply.clone(), &*c).unwrap();
        same(&c, &n, name);
        assert_eq!(
            c.get_field_by_name("message").unwrap().as_str().unwrap(),
            format!("Hello {}!", name.to_uppercase())
        );
    }
}
