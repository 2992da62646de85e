//! End to end: the prodcon example, built through the library API (not the
//! CLI binary), served by the generated host, answers SayHello exactly as
//! the native deployment does — and the build leaves the user's files
//! byte-identical.

mod common;

use std::path::Path;
use std::time::Duration;

use cofaas::demo::{build_native, start_host, start_native};
use cofaas::helloworld::HelloRequest;
use cofaas::helloworld::greeter_client::GreeterClient;
use cofaas::pipeline::build;
use cofaas::units::LinkMode;

async fn say_hello(
    addr: std::net::SocketAddr,
    req: HelloRequest,
) -> cofaas::helloworld::HelloReply {
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    client.say_hello(req).await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn prodcon_consolidated_answers_like_native() {
    let app = common::repo().join("examples/prodcon");
    let target = common::target_dir();

    let before = common::hash_tree(&app);
    assert!(before.keys().any(|p| p.ends_with("producer/src/main.rs")));
    assert!(before.keys().any(|p| p.ends_with("consumer/Cargo.toml")));

    let opts = common::build_options("prodcon", LinkMode::Auto, "cofaas");
    let artifacts = tokio::task::spawn_blocking(move || build(&opts))
        .await
        .unwrap()
        .unwrap();

    // The user's sources and Cargo files are byte-identical after the build.
    assert_eq!(
        before,
        common::hash_tree(&app),
        "cofaas build modified the user's files"
    );

    // Every artifact is where the build says.
    assert!(artifacts.dir.ends_with("cofaas/prodcon"));
    assert!(artifacts.wit_dir.join("prodcon.wit").is_file());
    let map = proto2wit_map(&artifacts.map);
    assert!(map.contains("helloworld.Greeter"));
    assert_eq!(artifacts.components.len(), 2);
    assert!(artifacts.host_bin.is_file());
    assert!(artifacts.deployment.is_file());
    // Both functions are stateless, and the producer → consumer edge
    // carries `bytes`: the cost model (auto) makes it host-mediated, so
    // each function is a pooled unit of its own, precompiled.
    let units: Vec<&String> = artifacts.units.keys().collect();
    assert_eq!(units, ["consumer", "producer"]);
    assert!(
        artifacts.units["consumer"]
            .with_extension("cwasm")
            .is_file()
    );
    assert!(artifacts.wiring.is_empty(), "{:?}", artifacts.wiring);

    let bins = build_native(&app, &target, false).unwrap();
    let native = start_native(&bins, false).unwrap();
    answers_like_native(native.addr, &artifacts).await;
    grpcurl_works(&artifacts);
    bench_smoke_run(&bins, &artifacts).await;

    // The same app with the edge fused: one composed unit.
    let opts = common::build_options("prodcon", LinkMode::Fused, "cofaas");
    let fused = tokio::task::spawn_blocking(move || build(&opts))
        .await
        .unwrap()
        .unwrap();
    let units: Vec<&String> = fused.units.keys().collect();
    assert_eq!(units, ["consumer+producer"]);
    assert_eq!(
        fused.wiring,
        ["[consumer+producer] producer: cofaas:prodcon/prodcon-producer-consumer <- consumer"]
    );
    answers_like_native(native.addr, &fused).await;
}

/// Real grpcurl against the host, with no .proto at hand (reflection):
/// list, describe, a JSON call, an error status with its code and message,
/// and health; and nothing to list with `--no-reflection`.
fn grpcurl_works(artifacts: &cofaas::pipeline::Artifacts) {
    let grpcurl = common::grpcurl();
    let host = start_host(artifacts, None, &[], false).unwrap();
    let addr = host.addr.to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&grpcurl)
            .arg("-plaintext")
            .args(args)
            .output()
            .expect("running grpcurl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };

    // Public services, health and reflection; not the internal consumer.
    let (code, list) = run(&[&addr, "list"]);
    assert_eq!(code, Some(0), "{list}");
    let listed: Vec<&str> = list.lines().collect();
    assert_eq!(
        listed,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "helloworld.Greeter",
        ],
        "{list}"
    );

    let (code, desc) = run(&[&addr, "describe", "helloworld.Greeter"]);
    assert_eq!(code, Some(0), "{desc}");
    assert!(
        desc.contains(
            "rpc SayHello ( .helloworld.HelloRequest ) returns ( .helloworld.HelloReply );"
        ),
        "{desc}"
    );
    let (code, desc) = run(&[&addr, "describe", "helloworld.HelloRequest"]);
    assert_eq!(code, Some(0), "{desc}");
    assert!(desc.contains("uint32 payload_kib = 3;"), "{desc}");

    let (code, reply) = run(&[
        "-d",
        r#"{"name":"grpcurl","calls":3,"payload_kib":2}"#,
        &addr,
        "helloworld.Greeter/SayHello",
    ]);
    assert_eq!(code, Some(0), "{reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).expect("a JSON reply");
    assert_eq!(reply["bytesConsumed"], "6144", "{reply}");
    assert_eq!(
        reply["message"],
        "Hello grpcurl! 3 call(s) of 2 KiB consumed, 6144 bytes received"
    );

    // grpcurl exits with 64 + the status code.
    let (code, err) = run(&[
        "-d",
        r#"{"name":"x","payload_kib":99999}"#,
        &addr,
        "helloworld.Greeter/SayHello",
    ]);
    assert_eq!(code, Some(64 + 3), "{err}");
    assert!(err.contains("Code: InvalidArgument"), "{err}");
    assert!(
        err.contains("Message: payload_kib must be at most 4095, got 99999"),
        "{err}"
    );

    for service in ["", "helloworld.Greeter"] {
        let body = format!(r#"{{"service":"{service}"}}"#);
        let (code, health) = run(&["-d", &body, &addr, "grpc.health.v1.Health/Check"]);
        assert_eq!(code, Some(0), "{health}");
        assert!(health.contains(r#""status": "SERVING""#), "{health}");
    }
    drop(host);

    let quiet = start_host(artifacts, None, &["--no-reflection"], false).unwrap();
    let (code, list) = run(&[&quiet.addr.to_string(), "list"]);
    assert_ne!(code, Some(0), "{list}");
    assert!(
        list.contains("does not support the reflection API"),
        "{list}"
    );
}

/// A `cofaas bench` run (the library behind `cofaas bench --quick`) on a
/// tiny matrix of debug builds: the CSV has every row, and both deployments
/// answered every request correctly (each experiment checks each reply and
/// fails the run otherwise). No timing is asserted.
async fn bench_smoke_run(bins: &cofaas::demo::NativeBins, artifacts: &cofaas::pipeline::Artifacts) {
    let mut tiny = cofaas::bench::PaperOptions::quick();
    tiny.calls = vec![1, 2];
    tiny.kibs = vec![1, 4];
    tiny.requests = 3;
    tiny.warm_up = Duration::from_millis(100);
    tiny.latency_repeats = 1;
    tiny.clients = vec![1, 2];
    tiny.throughput_for = Duration::from_millis(100);
    tiny.cold_starts = 1;
    let rows = cofaas::bench::run_paper(bins, artifacts, &tiny, |_| {})
        .await
        .unwrap();
    let csv = cofaas::bench::paper_csv(&rows);
    // The header, (median, p99) of 4 round-trip configurations, 2
    // inter-function sizes, 2 throughput runs, memory and cold start.
    assert_eq!(csv.lines().count(), 1 + 8 + 2 + 2 + 1 + 1, "{csv}");
    for (n, m) in [(1, 1), (1, 4), (2, 1), (2, 4)] {
        for metric in ["median", "p99"] {
            let row = format!("round-trip,{metric},{n},{m},,");
            assert!(csv.contains(&row), "{row} missing:\n{csv}");
        }
    }
    for m in [1, 4] {
        let row = format!("inter-function,mean,100,{m},,");
        assert!(csv.contains(&row), "{row} missing:\n{csv}");
    }
    for clients in [1, 2] {
        let row = format!("throughput,req/s,10,1,{clients},");
        assert!(csv.contains(&row), "{row} missing:\n{csv}");
    }
    assert!(csv.contains("\nmemory,peak-rss,") && csv.contains("\ncold-start,median,"));
    assert!(
        rows.iter()
            .all(|r| r.native.is_finite() && r.cofaas.is_finite()),
        "{csv}"
    );
    // Each throughput client completed requests on both deployments.
    assert!(
        rows.iter()
            .filter(|r| r.experiment == "throughput")
            .all(|r| r.native > 0.0 && r.cofaas > 0.0),
        "{csv}"
    );
}

/// The consolidated deployment of `artifacts` answers as the native one at
/// `native` does: one request, 64 concurrent ones, and an error status.
async fn answers_like_native(
    native: std::net::SocketAddr,
    artifacts: &cofaas::pipeline::Artifacts,
) {
    let host = start_host(artifacts, None, &[], false).unwrap();
    let req = HelloRequest {
        name: "e2e".into(),
        calls: 3,
        payload_kib: 2,
        measure_latency: false,
        ..Default::default()
    };
    let from_native = say_hello(native, req.clone()).await;
    let from_host = say_hello(host.addr, req).await;
    assert_eq!(from_host, from_native);
    // The consumer really received the bytes: it echoes each payload's length.
    assert_eq!(from_host.bytes_consumed, 3 * 2 * 1024);
    assert_eq!(
        from_host.message,
        "Hello e2e! 3 call(s) of 2 KiB consumed, 6144 bytes received"
    );

    // 64 concurrent requests, each different, answer exactly as native.
    let requests: Vec<HelloRequest> = (0..64u32)
        .map(|i| HelloRequest {
            name: format!("client-{i}"),
            calls: i % 5 + 1,
            payload_kib: i % 3 + 1,
            ..Default::default()
        })
        .collect();
    let fan_out = |addr: std::net::SocketAddr| {
        let requests = requests.clone();
        async move {
            let tasks: Vec<_> = requests
                .into_iter()
                .map(|req| tokio::spawn(say_hello(addr, req)))
                .collect();
            let mut replies = Vec::new();
            for t in tasks {
                replies.push(t.await.unwrap());
            }
            replies
        }
    };
    let (native_replies, host_replies) = tokio::join!(fan_out(native), fan_out(host.addr));
    assert_eq!(host_replies.len(), 64);
    assert_eq!(host_replies, native_replies);
    assert_eq!(host_replies[7].bytes_consumed, 3 * 2 * 1024);

    // Errors cross the boundary as gRPC status, same code and message.
    let bad = HelloRequest {
        name: "x".into(),
        payload_kib: 5000,
        ..Default::default()
    };
    let mut n = GreeterClient::connect(format!("http://{native}"))
        .await
        .unwrap();
    let mut c = GreeterClient::connect(format!("http://{}", host.addr))
        .await
        .unwrap();
    let en = n.say_hello(bad.clone()).await.unwrap_err();
    let ec = c.say_hello(bad).await.unwrap_err();
    assert_eq!((ec.code(), ec.message()), (en.code(), en.message()));
    assert_eq!(ec.code(), tonic::Code::InvalidArgument);
}

fn proto2wit_map(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}
