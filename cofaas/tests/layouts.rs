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

use cofaas::demo::{build_native_app, start_host, start_listening};
use cofaas::pipeline::build;
use cofaas::units::LinkMode;
use common::{descriptors, same, unary};
use prost_reflect::DynamicMessage;

#[tokio::test(flavor = "multi_thread")]
async fn multi_binary_crates_and_hand_built_runtimes_answer_like_native() {
    let app = common::repo().join("cofaas/tests/fixtures/layouts");
    let before = common::hash_tree(&app);
    let native_app = app.clone();
    let native_target = common::target_dir();
    let bins = tokio::task::spawn_blocking(move || {
        build_native_app(&native_app, &native_target, false).unwrap()
    })
    .await
    .unwrap();
    // Only the function's binary of the crate is built natively.
    assert!(bins["greeter"].program.ends_with("helloworld-server"));
    let (echo_addr, _echo) =
        start_listening("echo", &bins["echo"].program, "ECHO_LISTEN", &[], false).unwrap();
    let (native, _greeter) = start_listening(
        "greeter",
        &bins["greeter"].program,
        "GREETER_LISTEN",
        &[("ECHO_ADDR", bins["greeter"].peer_address(echo_addr))],
        false,
    )
    .unwrap();

    let opts = common::build_options_at(&app, LinkMode::Auto, "cofaas");
    let host = tokio::task::spawn_blocking(move || {
        let artifacts = build(&opts).unwrap();
        start_host(&artifacts, None, &[], false).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        before,
        common::hash_tree(&app),
        "the build modified the fixture"
    );

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
