//! Go functions end to end: unchanged grpc-go functions built by mainline
//! Go (GC on) into components, alone (`examples/prodcon-go`) and mixed with
//! Rust ones (`examples/mixed`: Rust → Go → Rust), served by the generated
//! host. The oracle is the native deployment of the same sources, built by
//! `go build` and `cargo build` with the real grpc-go and tonic.

mod common;

use std::net::SocketAddr;

use cofaas::demo::{Consolidated, build_native, build_native_app, start_host, start_native};
use cofaas::helloworld::greeter_client::GreeterClient;
use cofaas::helloworld::{HelloReply, HelloRequest};
use cofaas::pipeline::build;
use cofaas::units::LinkMode;
use common::{descriptors, same, unary};
use prost_reflect::{DynamicMessage, MessageDescriptor, Value};
use tonic::Code;

async fn say_hello(addr: SocketAddr, req: HelloRequest) -> Result<HelloReply, tonic::Status> {
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .max_decoding_message_size(usize::MAX);
    client.say_hello(req).await.map(|r| r.into_inner())
}

/// [`say_hello`] with a deadline of 5 minutes: 1 000 calls of 512 KiB
/// through the unoptimised (test) host, while other tests build, can take
/// longer than the host's default 30 s.
async fn say_hello_long(addr: SocketAddr, req: HelloRequest) -> Result<HelloReply, tonic::Status> {
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .max_decoding_message_size(usize::MAX);
    let mut request = tonic::Request::new(req);
    request.set_timeout(std::time::Duration::from_secs(300));
    client.say_hello(request).await.map(|r| r.into_inner())
}

/// Resident set size of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

#[tokio::test(flavor = "multi_thread")]
async fn prodcon_go_answers_like_native_with_the_gc_on() {
    let app = common::repo().join("examples/prodcon-go");
    let target = common::target_dir();
    let before = common::hash_tree(&app);
    assert!(before.keys().any(|p| p.ends_with("producer/go.sum")));

    let artifacts = tokio::task::spawn_blocking(|| {
        build(&common::build_options(
            "prodcon-go",
            LinkMode::Auto,
            "cofaas",
        ))
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        common::hash_tree(&app),
        before,
        "the user's Go files, go.mod and go.sum are byte-identical after cofaas build"
    );
    // The copy was transformed, not the original.
    let copied = std::fs::read_to_string(artifacts.dir.join("src/producer/go.mod")).unwrap();
    assert!(copied.contains("google.golang.org/grpc =>"), "{copied}");

    let native_app = app.clone();
    let bins =
        tokio::task::spawn_blocking(move || build_native(&native_app, &target, false).unwrap())
            .await
            .unwrap();
    let native = tokio::task::spawn_blocking(move || start_native(&bins, false).unwrap())
        .await
        .unwrap();
    let artifacts2 = artifacts.clone();
    let mut host =
        tokio::task::spawn_blocking(move || start_host(&artifacts2, None, &[], false).unwrap())
            .await
            .unwrap();

    for calls in [1, 3] {
        for kib in [1, 64] {
            let req = HelloRequest {
                name: "go".into(),
                calls,
                payload_kib: kib,
                ..Default::default()
            };
            let n = say_hello(native.addr, req.clone()).await.unwrap();
            let c = say_hello(host.addr, req).await.unwrap();
            assert_eq!(
                prost::Message::encode_to_vec(&c),
                prost::Message::encode_to_vec(&n),
                "n={calls} m={kib} KiB"
            );
            // The consumer really received the bytes.
            assert_eq!(c.bytes_consumed, u64::from(calls * kib) * 1024);
        }
    }

    // A Go status (code and message) reaches the tonic client unchanged.
    let too_big = HelloRequest {
        payload_kib: 4096,
        ..Default::default()
    };
    let n = say_hello(native.addr, too_big.clone()).await.unwrap_err();
    let c = say_hello(host.addr, too_big).await.unwrap_err();
    assert_eq!((c.code(), c.message()), (n.code(), n.message()));
    assert_eq!(c.code(), Code::InvalidArgument);

    // The GC really on: 20 000 calls of 512 KiB (10 GiB) into the Go
    // consumer under the default memory cap. Without collections the first
    // 1 000 alone would pass the cap. The host's memory settles: each Go
    // heap's linear memory keeps its highest peak (wasm memory never
    // shrinks), and a collection may come a few safe points late, so the
    // peak creeps up by a few MiB while rare late collections are met; a
    // leak of even 1 % of what crosses (100 MiB) fails.
    let pid = host.process().id();
    let thousand = HelloRequest {
        name: "gc".into(),
        calls: 1000,
        payload_kib: 512,
        ..Default::default()
    };
    let mut rss = Vec::new();
    for _ in 0..20 {
        let reply = say_hello_long(host.addr, thousand.clone()).await.unwrap();
        assert_eq!(reply.bytes_consumed, 1000 * 512 * 1024);
        rss.push(rss_kib(pid));
    }
    eprintln!("host RSS (KiB) after each 1 000 calls of 512 KiB: {rss:?}");
    let (after_first, after_half, at_end) = (rss[0], rss[9], rss[19]);
    assert!(
        at_end <= after_first + 64 * 1024 && at_end <= after_half + 32 * 1024,
        "host RSS grew from {after_first} KiB after 1 000 calls to {after_half} KiB after 10 000 and {at_end} KiB after 20 000: {rss:?}"
    );
}

/// Sends `body` to Front/Handle natively and consolidated; asserts both
/// reports are equal; returns the consolidated one.
async fn report_like_native(
    native: SocketAddr,
    host: SocketAddr,
    body: Vec<u8>,
    report: &MessageDescriptor,
    what: &str,
) -> DynamicMessage {
    let path = "/mixed.Front/Handle";
    let n = unary(native, path, body.clone()).await.unwrap();
    let c = unary(host, path, body).await.unwrap();
    let n = DynamicMessage::decode(report.clone(), &*n).unwrap();
    let c = DynamicMessage::decode(report.clone(), &*c).unwrap();
    same(&c, &n, what);
    c
}

fn job(desc: &MessageDescriptor, text: &str) -> Vec<u8> {
    prost::Message::encode_to_vec(&DynamicMessage::parse_text_format(desc.clone(), text).unwrap())
}

const JOB: &str = r#"
id: "j-1"
name: "words"
words: ["alpha", "beta", "ünïcode ✓"]
numbers: [1, -2, 9223372036854775806]
payload: "\000\001\002\377"
labels { key: "team" value: "blue" }
labels { key: "env" value: "" }
priority: PRIORITY_HIGH
owner { name: "ada" team: 7 }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn mixed_rust_go_rust_answers_like_native() {
    let app = common::repo().join("examples/mixed");
    let target = common::target_dir();
    let native_app = app.clone();
    let bins =
        tokio::task::spawn_blocking(move || build_native_app(&native_app, &target, false).unwrap())
            .await
            .unwrap();
    // Started by the convention `cofaas bench --experiment ghz` uses
    // (`<FUNCTION>_LISTEN`, `<OWNER>_ADDR`), which the example follows.
    let native_dir = app.clone();
    let natives = tokio::task::spawn_blocking(move || {
        cofaas::ghz::start_native_app(&native_dir, &bins, false).unwrap()
    })
    .await
    .unwrap();
    let native = natives.addr;
    // The cost model fuses middle → clock (fixed-size messages) and
    // mediates the rest; then every edge host-mediated.
    for (link, units) in [
        (LinkMode::Auto, vec!["back", "clock+middle", "front"]),
        (LinkMode::Mediated, vec!["back", "clock", "front", "middle"]),
    ] {
        let (mut host, built): (Consolidated, Vec<String>) =
            tokio::task::spawn_blocking(move || {
                let artifacts = build(&common::build_options("mixed", link, "cofaas")).unwrap();
                let units = artifacts.units.keys().cloned().collect();
                (start_host(&artifacts, None, &[], false).unwrap(), units)
            })
            .await
            .unwrap();
        assert_eq!(built, units);
        mixed_answers_like_native(native, &host).await;
        if link == LinkMode::Auto {
            let host_pid = host.process().id();
            ghz_loads_without_errors(
                &app,
                [(native, natives.pids()), (host.addr, vec![host_pid])],
            )
            .await;
        }
    }
}

/// A short ghz run (the load tool `cofaas bench --experiment ghz` drives)
/// against each of `targets`: every request answered OK, latencies and
/// memory read.
async fn ghz_loads_without_errors(app: &std::path::Path, targets: [(SocketAddr, Vec<u32>); 2]) {
    let ghz = common::go_tool("ghz", cofaas::ghz::GHZ);
    let protoset = common::target_dir().join("mixed-test.protoset");
    cofaas::ghz::write_protoset(app, &protoset).unwrap();
    let data = r#"{"id":"load","name":"words","words":["alpha","beta"],"numbers":[1,2],"payload":"AAE=","labels":{"team":"blue"}}"#;
    let mut opts = cofaas::ghz::GhzOptions::new(ghz, protoset, "mixed.Front.Handle", data);
    opts.requests = 2000;
    opts.concurrency = 4;
    for (addr, pids) in targets {
        let o = opts.clone();
        let r = tokio::task::spawn_blocking(move || cofaas::ghz::load(&o, addr, &pids).unwrap())
            .await
            .unwrap();
        assert_eq!(r.count, 2000, "{r:?}");
        assert_eq!(r.errors, 0, "{:?}", r.status_codes);
        assert!(
            r.rps > 0.0 && r.p50 > std::time::Duration::ZERO && r.p99 >= r.p50,
            "{r:?}"
        );
        assert!(
            r.memory_start.rss_kib > 0 && r.memory_end.rss_kib > 0,
            "{r:?}"
        );
    }
}

async fn mixed_answers_like_native(native: SocketAddr, host: &Consolidated) {
    let pool = descriptors("examples/mixed/proto", &["mixed.proto"]);
    let job_desc = pool.get_message_by_name("mixed.Job").unwrap();
    let report_desc = pool.get_message_by_name("mixed.Report").unwrap();
    let path = "/mixed.Front/Handle";

    // Both directions in one request: Rust → Go (front → middle) and
    // Go → Rust (middle → back), and the replies back up.
    for text in [JOB, r#"id: "j-2""#] {
        let body = job(&job_desc, text);
        let c = report_like_native(native, host.addr, body, &report_desc, text).await;
        let trail = c.get_field_by_name("trail").unwrap();
        let trail: Vec<&str> = trail
            .as_list()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(trail, ["back", "middle", "front"]);
        // The Rust back sees the grpc-timeout of the Go middle's 10 s
        // context, as natively.
        let stored = c.get_field_by_name("stored").unwrap();
        let summary = stored
            .as_message()
            .unwrap()
            .get_field_by_name("summary")
            .unwrap();
        // ... and the metadata Go put on the call, ASCII and binary.
        assert!(
            summary
                .as_str()
                .unwrap()
                .ends_with(", deadline 10s, from go, trace 3 byte(s)"),
            "{summary:?}"
        );
        // Metadata both ways on both edges: Rust → Go request metadata
        // (ASCII and -bin), Go → Rust response headers (grpc.Header), and
        // Go → Rust response header and trailer (grpc.SetHeader,
        // grpc.SetTrailer), as natively (compared above) and present.
        let labels = c.get_field_by_name("labels").unwrap();
        let labels = labels.as_map().unwrap();
        let label = |k: &str| {
            labels
                .get(&prost_reflect::MapKey::String(k.to_string()))
                .and_then(|v| v.as_str().map(str::to_string))
        };
        let id = c.get_field_by_name("job_id").unwrap();
        assert_eq!(label("middle-saw-x-job-id").as_deref(), id.as_str());
        assert_eq!(label("middle-saw-trace-bin").as_deref(), Some("00fe"));
        assert_eq!(label("middle-got-x-back").as_deref(), Some("stored"));
        assert_eq!(label("front-got-x-middle").as_deref(), Some("header"));
        assert_eq!(
            label("front-got-x-middle-trailer").as_deref(),
            Some("trailer")
        );
    }

    // A Go status with code, message and details reaches the tonic client
    // unchanged (through the Rust front, which passes it on with `?`).
    let body = job(&job_desc, r#"id: "j-3" name: "go-error""#);
    let n = unary(native, path, body.clone()).await.unwrap_err();
    let c = unary(host.addr, path, body).await.unwrap_err();
    assert_eq!(c.code(), Code::FailedPrecondition, "{c:?}");
    assert_eq!(
        (c.code(), c.message(), c.details()),
        (n.code(), n.message(), n.details())
    );
    assert!(!c.details().is_empty(), "the ErrorInfo detail crossed");

    // A Rust status reaches the Go caller's status.FromError unchanged:
    // middle reports what it saw inside its reply.
    let body = job(&job_desc, r#"id: "j-4" name: "rust-error""#);
    let c = report_like_native(native, host.addr, body, &report_desc, "rust-error").await;
    let upstream = c.get_field_by_name("upstream").unwrap();
    let upstream = upstream.as_message().unwrap();
    assert_eq!(
        upstream.get_field_by_name("code").unwrap().as_ref(),
        &Value::I32(Code::Aborted as i32)
    );
    assert_eq!(
        upstream.get_field_by_name("reason").unwrap().as_str(),
        Some("BACK_REFUSED")
    );

    // A Go caller's context deadline crosses to a Go callee (as grpc-go
    // sends it in grpc-timeout): the clock sees the 3 s middle set.
    let body = job(&job_desc, r#"id: "j-5" name: "deadline""#);
    let c = report_like_native(native, host.addr, body, &report_desc, "deadline").await;
    let clock = c.get_field_by_name("clock").unwrap();
    let clock = clock.as_message().unwrap();
    assert_eq!(
        clock.get_field_by_name("has_deadline").unwrap().as_ref(),
        &Value::Bool(true)
    );
    assert_eq!(
        clock.get_field_by_name("seconds_left").unwrap().as_ref(),
        &Value::U32(3)
    );
    // ... and is enforced: a callee outliving it fails the call with
    // DEADLINE_EXCEEDED, natively and consolidated.
    let body = job(&job_desc, r#"id: "j-6" name: "deadline-exceeded""#);
    let c = report_like_native(native, host.addr, body, &report_desc, "deadline-exceeded").await;
    let upstream = c.get_field_by_name("upstream").unwrap();
    assert_eq!(
        upstream
            .as_message()
            .unwrap()
            .get_field_by_name("code")
            .unwrap()
            .as_ref(),
        &Value::I32(Code::DeadlineExceeded as i32)
    );

    // A Rust caller's 50 ms timeout on an inner call (`set_timeout`) to a
    // Go callee that sleeps for a second: the callee's sleep is cut short
    // at the deadline, and the caller gets what tonic's client gives
    // natively (CANCELLED, within half a second) and carries on.
    let body = job(&job_desc, r#"id: "j-7" name: "inner-timeout""#);
    let started = std::time::Instant::now();
    let c = report_like_native(native, host.addr, body, &report_desc, "inner-timeout").await;
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "native and consolidated took {:?} together",
        started.elapsed()
    );
    assert_eq!(
        c.get_field_by_name("labels").unwrap().as_map().unwrap()
            [&prost_reflect::MapKey::String("within_500ms".into())],
        Value::String("true".into())
    );
    let upstream = c.get_field_by_name("upstream").unwrap();
    let upstream = upstream.as_message().unwrap();
    assert_eq!(
        upstream.get_field_by_name("code").unwrap().as_ref(),
        &Value::I32(Code::Cancelled as i32)
    );

    // A Go panic on one input: that request gets INTERNAL naming the
    // function; 200 concurrent good requests all succeed; the host serves
    // afterwards.
    let good = job(&job_desc, JOB);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let body = good.clone();
        let addr = host.addr;
        tasks.push(tokio::spawn(async move {
            if i == 100 {
                None
            } else {
                Some(unary(addr, path, body).await)
            }
        }));
    }
    let panicked = unary(host.addr, path, job(&job_desc, r#"id: "p" name: "panic""#))
        .await
        .unwrap_err();
    assert_eq!(panicked.code(), Code::Internal, "{panicked:?}");
    assert!(
        panicked.message().contains("`middle`"),
        "names the function: {}",
        panicked.message()
    );
    let mut failures = 0;
    for t in tasks {
        if let Some(Err(e)) = t.await.unwrap() {
            eprintln!("good request failed: {e:?}");
            failures += 1;
        }
    }
    assert_eq!(failures, 0);
    let after = unary(host.addr, path, good).await.unwrap();
    assert!(!after.is_empty());
}
