//! `cofaas run` under SIGTERM and SIGINT, sent to it alone (not to its
//! process group), as systemd, Kubernetes or a supervisor does: the host
//! gets the signal, drains the requests in flight, and `cofaas run` exits
//! with the host's code, leaving no process behind and its port free.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cofaas::helloworld::HelloRequest;
use cofaas::helloworld::greeter_client::GreeterClient;
use cofaas::proc::{Signal, send_signal};

/// `cofaas run --debug-host examples/prodcon` on `addr`, its stderr in a
/// file (printed if a test fails).
fn cofaas_run(addr: SocketAddr, log: &PathBuf) -> Child {
    let stderr = std::fs::File::create(log).expect("creating the log");
    Command::new(env!("CARGO_BIN_EXE_cofaas"))
        .args(["run", "--debug-host", "--listen", &addr.to_string()])
        .arg(common::repo().join("examples/prodcon"))
        .env("CARGO_TARGET_DIR", common::target_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("starting cofaas run")
}

fn log_of(log: &PathBuf) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Waits (the first run builds the app) until `addr` accepts connections.
fn wait_for_port(child: &mut Child, addr: SocketAddr, log: &PathBuf) {
    let start = Instant::now();
    loop {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200))
            && s.local_addr().ok() != Some(addr)
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "cofaas run exited ({status}) before serving:\n{}",
                log_of(log)
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(1200),
            "cofaas run did not serve on {addr}:\n{}",
            log_of(log)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The processes `pid` started (Linux: /proc/<pid>/task/*/children).
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path().join("children");
        if let Ok(text) = std::fs::read_to_string(path) {
            out.extend(text.split_whitespace().map(|p| p.parse::<u32>().unwrap()));
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits for `child` to exit and returns its code.
fn exit_code(child: &mut Child, within: Duration, log: &PathBuf) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > within {
            let _ = child.kill();
            panic!(
                "cofaas run still running {within:?} after the signal:\n{}",
                log_of(log)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The host cofaas run started, once it is serving.
fn host_of(run: &Child) -> u32 {
    let children = children_of(run.id());
    assert_eq!(children.len(), 1, "cofaas run has children {children:?}");
    children[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_requests_in_flight_and_leaves_nothing_behind() {
    let addr = cofaas::proc::free_port().unwrap();
    let log = std::env::temp_dir().join(format!("cofaas-signals-{}.log", std::process::id()));
    let mut run = cofaas_run(addr, &log);
    wait_for_port(&mut run, addr, &log);
    let host = host_of(&run);

    // 50 requests of 20 calls of 64 KiB each: the host runs a few at a
    // time, the rest wait in its queue.
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let (calls, kib) = (20u32, 64u32);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.say_hello(HelloRequest {
                name: format!("r{i}"),
                calls,
                payload_kib: kib,
                ..Default::default()
            })
            .await
        }));
    }
    // Some are being served: one more request answers, so the host is busy.
    let probe = client
        .say_hello(HelloRequest {
            name: "probe".into(),
            calls: 1,
            payload_kib: 1,
            ..Default::default()
        })
        .await;
    assert!(probe.is_ok(), "{probe:?}");
    let pending = tasks.iter().filter(|t| !t.is_finished()).count();
    assert!(pending > 0, "every request finished before the signal");

    // Only cofaas run is signalled.
    send_signal(run.id(), Signal::SIGTERM).unwrap();
    for t in tasks {
        let reply = t.await.unwrap().expect("a request in flight failed");
        assert_eq!(
            reply.into_inner().bytes_consumed,
            u64::from(calls) * u64::from(kib) * 1024
        );
    }
    drop(client);
    let code = exit_code(&mut run, Duration::from_secs(60), &log);
    assert_eq!(code, Some(0), "{}", log_of(&log));
    assert!(!alive(host), "the host {host} outlived cofaas run");
    TcpListener::bind(addr).expect("the port is still held");
    eprintln!("{pending} of 50 requests were in flight at SIGTERM; all completed");

    // SIGINT (Ctrl-C sent to cofaas alone) stops an idle host the same way.
    let addr = cofaas::proc::free_port().unwrap();
    let mut run = cofaas_run(addr, &log);
    wait_for_port(&mut run, addr, &log);
    let host = host_of(&run);
    send_signal(run.id(), Signal::SIGINT).unwrap();
    let code = exit_code(&mut run, Duration::from_secs(60), &log);
    assert_eq!(code, Some(0), "{}", log_of(&log));
    assert!(!alive(host), "the host {host} outlived cofaas run");
    TcpListener::bind(addr).expect("the port is still held");
    let _ = std::fs::remove_file(&log);
}
