//! A little cluster in network namespaces: the `shop` example (five
//! functions, a fan-out, a stateful cart, an external function) placed on
//! three nodes, each node's host in a namespace of its own with its own
//! address, the node names resolved through `/etc/netns/<ns>/hosts`, each
//! host started with the peers of its generated Knative manifest, and the
//! external `ads` function a plain native gRPC server in a namespace of its
//! own. Every reply must equal the all-on-one-node deployment's and the
//! native app's; the per-edge metrics and the veth byte counters must move
//! only for the edges that cross nodes; a node that is killed fails exactly
//! the calls that need it, until it is back; metadata and a deadline cross
//! remote edges.
//!
//! Needs root (CI runs as root) and iproute2; without them it fails.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cofaas::units::{EdgeMode, LinkMode};
use prost_reflect::{DescriptorPool, DynamicMessage};
use tonic::metadata::MetadataValue;

const BRIDGE: &str = "cfbr0";
const SUBNET: &str = "10.99.0";
const NAMESPACE: &str = "default";

/// A namespace of the cluster: name, last octet of its address.
const NODES: [(&str, u8); 6] = [
    ("edge", 2),
    ("core", 3),
    ("store", 4),
    ("ads", 5),
    ("local", 6),
    ("native", 7),
];

fn ns(name: &str) -> String {
    format!("cf-{name}")
}

fn veth(name: &str) -> String {
    format!("cfv-{name}")
}

fn ip_of(name: &str) -> String {
    let octet = NODES.iter().find(|(n, _)| *n == name).unwrap().1;
    format!("{SUBNET}.{octet}")
}

/// Runs `program args`, panicking with its output if it fails.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{program}`: {e} (is iproute2 installed?)"));
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The namespaces, veths and bridge; removed on drop.
struct Cluster;

impl Cluster {
    fn clean() {
        for (name, _) in NODES {
            let _ = Command::new("ip")
                .args(["netns", "del", &ns(name)])
                .stderr(Stdio::null())
                .status();
            let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", ns(name)));
        }
        let _ = Command::new("ip")
            .args(["link", "del", BRIDGE])
            .stderr(Stdio::null())
            .status();
    }

    /// Makes the bridge and a namespace per node, each with a veth on the
    /// bridge, and writes each namespace's hosts file resolving `names`.
    fn make(names: &[(String, String)]) -> Cluster {
        Cluster::clean();
        run("ip", &["link", "add", BRIDGE, "type", "bridge"]);
        run(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{BRIDGE}.disable_ipv6=1")],
        );
        run(
            "ip",
            &["addr", "add", &format!("{SUBNET}.1/24"), "dev", BRIDGE],
        );
        run("ip", &["link", "set", BRIDGE, "up"]);
        let mut hosts = String::from("127.0.0.1 localhost\n");
        for (name, addr) in names {
            hosts.push_str(&format!("{addr} {name}\n"));
        }
        for (name, octet) in NODES {
            let (n, v) = (ns(name), veth(name));
            run("ip", &["netns", "add", &n]);
            run(
                "ip",
                &[
                    "link", "add", &v, "type", "veth", "peer", "name", "eth0", "netns", &n,
                ],
            );
            // No IPv6 (router solicitations would move the byte counters).
            run(
                "sysctl",
                &["-qw", &format!("net.ipv6.conf.{v}.disable_ipv6=1")],
            );
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &n,
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1",
                ],
            );
            run("ip", &["link", "set", &v, "master", BRIDGE, "up"]);
            let addr = format!("{SUBNET}.{octet}/24");
            run("ip", &["-n", &n, "addr", "add", &addr, "dev", "eth0"]);
            run("ip", &["-n", &n, "link", "set", "eth0", "up"]);
            run("ip", &["-n", &n, "link", "set", "lo", "up"]);
            let dir = PathBuf::from(format!("/etc/netns/{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("hosts"), &hosts).unwrap();
        }
        Cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        Cluster::clean();
    }
}

/// Bytes through the root side of node `name`'s veth, both ways.
fn veth_bytes(name: &str) -> u64 {
    ["rx_bytes", "tx_bytes"]
        .iter()
        .map(|f| {
            let path = format!("/sys/class/net/{}/statistics/{f}", veth(name));
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{path}: {e}"))
                .trim()
                .parse::<u64>()
                .unwrap()
        })
        .sum()
}

/// A process in a namespace, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program args` in node `name`'s namespace, its stderr to
/// `<logs>/<label>.log`.
fn spawn_in(
    name: &str,
    label: &str,
    logs: &Path,
    program: &Path,
    args: &[&str],
    envs: &[(&str, String)],
) -> Proc {
    let log = std::fs::File::create(logs.join(format!("{label}.log"))).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &ns(name)])
        .arg(program)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {label}: {e}"));
    Proc(child)
}

/// Waits until `addr` accepts connections.
fn wait_listening(addr: SocketAddr, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} does not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `COFAAS_PEERS` of a rendered manifest.
fn peers_of(yaml: &str) -> String {
    let mut lines = yaml.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "- name: \"COFAAS_PEERS\"" {
            let value = lines.next().unwrap().trim();
            let value = value.strip_prefix("value: \"").unwrap();
            return value.strip_suffix('"').unwrap().to_string();
        }
    }
    panic!("no COFAAS_PEERS in\n{yaml}")
}

fn message(pool: &DescriptorPool, name: &str, text: &str) -> Vec<u8> {
    let desc = pool.get_message_by_name(name).unwrap();
    let m = DynamicMessage::parse_text_format(desc, text).unwrap();
    prost::Message::encode_to_vec(&m)
}

type Outcome = Result<Vec<u8>, (tonic::Code, String)>;

async fn call(addr: SocketAddr, path: &'static str, body: Vec<u8>) -> Outcome {
    common::unary(addr, path, body)
        .await
        .map_err(|s| (s.code(), s.message().to_string()))
}

const ADD: &str = "/shop.Frontend/AddItem";
const CHECKOUT: &str = "/shop.Frontend/Checkout";
const PEEK: &str = "/shop.Frontend/Peek";

/// `Frontend.AddItem` with the request in text format.
async fn add_item(pool: &DescriptorPool, addr: SocketAddr, text: &str) -> Outcome {
    call(addr, ADD, message(pool, "shop.AddItemRequest", text)).await
}

/// `Frontend.Checkout` with the request in text format.
async fn checkout(pool: &DescriptorPool, addr: SocketAddr, text: &str) -> Outcome {
    call(addr, CHECKOUT, message(pool, "shop.CheckoutRequest", text)).await
}

/// The same calls on any deployment of the app.
async fn scenario(pool: &DescriptorPool, addr: SocketAddr) -> Vec<Outcome> {
    vec![
        add_item(pool, addr, r#"user: "ana" product: "socks" quantity: 2"#).await,
        add_item(pool, addr, r#"user: "ana" product: "hat" quantity: 1"#).await,
        add_item(pool, addr, r#"user: "ana" product: "socks" quantity: 1"#).await,
        add_item(pool, addr, r#"user: "ana" product: "scarf" quantity: 0"#).await,
        checkout(pool, addr, r#"user: "ana" currency: "EUR""#).await,
        checkout(pool, addr, r#"user: "ana" currency: "JPY""#).await,
        checkout(pool, addr, r#"user: "ana" currency: "XXX""#).await,
        checkout(pool, addr, r#"user: "bob" currency: "USD""#).await,
        call(
            addr,
            PEEK,
            message(pool, "shop.CartQuery", r#"user: "ana" delay_ms: 0"#),
        )
        .await,
    ]
}

fn addr(name: &str, port: u16) -> SocketAddr {
    format!("{}:{port}", ip_of(name)).parse().unwrap()
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

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn shop_on_three_nodes_and_an_external_function() {
    let repo = common::repo();
    let app = repo.join("examples/shop");
    let target = common::target_dir();
    let pool = common::descriptors("examples/shop/proto", &["shop.proto"]);

    // Build: the placed app, the same app on one node, and natively.
    let placed_opts = common::build_options_at(&app, LinkMode::Auto, "multinode");
    let local_opts =
        common::build_options_at(&app.join("cofaas-local.toml"), LinkMode::Auto, "multinode");
    let (placed, local) = tokio::task::spawn_blocking(move || {
        (
            cofaas::pipeline::build(&placed_opts).unwrap(),
            cofaas::pipeline::build(&local_opts).unwrap(),
        )
    })
    .await
    .unwrap();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(app.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(status.success(), "native build of the shop failed");
    let native_bin = |f: &str| target.join("debug").join(f);

    let modes: BTreeMap<(String, String), EdgeMode> = placed
        .edges
        .iter()
        .map(|e| ((e.caller.clone(), e.callee.clone()), e.mode))
        .collect();
    let mode = |a: &str, b: &str| modes[&(a.to_string(), b.to_string())];
    assert_eq!(mode("frontend", "cart"), EdgeMode::Remote);
    assert_eq!(mode("frontend", "pricing"), EdgeMode::Remote);
    assert_eq!(mode("frontend", "ads"), EdgeMode::Remote);
    assert_ne!(mode("pricing", "currency"), EdgeMode::Remote);

    // The manifests say where the peers are.
    let (_, manifest) = cofaas::manifest::Manifest::load(&app).unwrap();
    let mut input = cofaas::deploy::DeployInput::new(manifest.app.name.clone());
    input.namespace = NAMESPACE.into();
    input.nodes = cofaas::deploy::nodes_of(&manifest);
    let rendered = cofaas::deploy::render(&input).unwrap();
    let peers: BTreeMap<String, String> = ["edge", "core", "store"]
        .iter()
        .map(|n| {
            let yaml = &rendered[Path::new(&format!("{n}.yaml"))];
            (n.to_string(), peers_of(yaml))
        })
        .collect();
    assert!(
        peers["edge"].contains("shop.Cart=http://shop-store.default.svc.cluster.local:80"),
        "{peers:?}"
    );

    // The cluster: cluster DNS names of the nodes and the external function.
    let names: Vec<(String, String)> = ["edge", "core", "store"]
        .iter()
        .map(|n| {
            (
                format!(
                    "{}.{NAMESPACE}.svc.cluster.local",
                    cofaas::deploy::object_name("shop", n)
                ),
                ip_of(n),
            )
        })
        .chain([(format!("ads.{NAMESPACE}.svc.cluster.local"), ip_of("ads"))])
        .collect();
    let _cluster = Cluster::make(&names);
    let logs = placed.dir.join("multinode-logs");
    std::fs::create_dir_all(&logs).unwrap();

    // The external function, and the native app, each in its namespace.
    let _ads = spawn_in(
        "ads",
        "ads",
        &logs,
        &native_bin("ads"),
        &[],
        &[("ADS_LISTEN", "0.0.0.0:80".into())],
    );
    let native_env = |f: &str| -> Vec<(&'static str, String)> {
        let all = [
            ("CART_ADDR", "http://127.0.0.1:50182"),
            ("PRICING_ADDR", "http://127.0.0.1:50183"),
            ("CURRENCY_ADDR", "http://127.0.0.1:50184"),
            ("ADS_ADDR", "http://127.0.0.1:50185"),
        ];
        let mut env: Vec<(&'static str, String)> =
            all.iter().map(|(k, v)| (*k, v.to_string())).collect();
        env.push(match f {
            "frontend" => ("FRONTEND_LISTEN", "0.0.0.0:80".into()),
            "cart" => ("CART_LISTEN", "127.0.0.1:50182".into()),
            "pricing" => ("PRICING_LISTEN", "127.0.0.1:50183".into()),
            "currency" => ("CURRENCY_LISTEN", "127.0.0.1:50184".into()),
            _ => ("ADS_LISTEN", "127.0.0.1:50185".into()),
        });
        env
    };
    let _native: Vec<Proc> = ["ads", "currency", "pricing", "cart", "frontend"]
        .iter()
        .map(|f| {
            spawn_in(
                "native",
                &format!("native-{f}"),
                &logs,
                &native_bin(f),
                &[],
                &native_env(f),
            )
        })
        .collect();

    // The app on one node (ads external), and the three nodes.
    let host = |node: &str, deployment: &Path, peers: &str, extra: &[&str]| {
        let d = deployment.display().to_string();
        let mut args = vec!["--deployment", d.as_str(), "--listen", "0.0.0.0:80"];
        args.extend_from_slice(extra);
        spawn_in(
            node,
            &format!("host-{node}"),
            &logs,
            if node == "local" {
                &local.host_bin
            } else {
                &placed.host_bin
            },
            &args,
            &[("COFAAS_PEERS", peers.to_string())],
        )
    };
    let local_peers = format!("shop.Ads=http://ads.{NAMESPACE}.svc.cluster.local:80");
    let _local = host("local", &local.deployment, &local_peers, &[]);
    let metrics = ["--metrics", "0.0.0.0:9100"];
    let _store = host("store", &placed.nodes["store"], &peers["store"], &metrics);
    let mut core = host("core", &placed.nodes["core"], &peers["core"], &metrics);
    let _edge = host("edge", &placed.nodes["edge"], &peers["edge"], &metrics);
    for n in ["ads", "native", "local", "store", "core", "edge"] {
        let a = addr(n, 80);
        tokio::task::spawn_blocking(move || wait_listening(a, "a node"))
            .await
            .unwrap();
    }

    // The same replies, statuses and messages everywhere.
    let native = scenario(&pool, addr("native", 80)).await;
    let one_node = scenario(&pool, addr("local", 80)).await;
    let split = scenario(&pool, addr("edge", 80)).await;
    assert!(native[0].is_ok() && native[4].is_ok(), "{native:?}");
    assert_eq!(
        native[3].as_ref().unwrap_err().0,
        tonic::Code::InvalidArgument
    );
    assert_eq!(native[6].as_ref().unwrap_err().0, tonic::Code::NotFound);
    assert_eq!(one_node, native, "all on one node");
    assert_eq!(split, native, "on three nodes");

    // Metadata crosses a remote edge both ways.
    let mut request = tonic::Request::new(message(
        &pool,
        "shop.AddItemRequest",
        r#"user: "cy" product: "mug" quantity: 1"#,
    ));
    request
        .metadata_mut()
        .insert("x-request-id", MetadataValue::from_static("req-remote"));
    let response = common::unary_request(addr("edge", 80), ADD, request)
        .await
        .unwrap();
    assert_eq!(
        response.metadata().get("x-cart-seen").unwrap(),
        "req-remote"
    );

    // Bytes move only on the veths of the nodes an edge joins. A gRPC call
    // moves hundreds of bytes; a lone ARP or TCP ACK of an idle connection
    // (tens of bytes) is not an edge.
    let grew = |before: u64, after: u64| after.saturating_sub(before) > 200;
    let all = ["edge", "core", "store", "ads"];
    let snapshot = || all.map(veth_bytes);
    let before = snapshot();
    add_item(
        &pool,
        addr("edge", 80),
        r#"user: "dee" product: "pen" quantity: 3"#,
    )
    .await
    .unwrap();
    let after = snapshot();
    let moved: Vec<bool> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| grew(*b, *a))
        .collect();
    assert_eq!(
        moved,
        [true, false, true, false],
        "edge, core, store, ads: AddItem"
    );
    let before = snapshot();
    checkout(&pool, addr("edge", 80), r#"user: "dee" currency: "GBP""#)
        .await
        .unwrap();
    let after = snapshot();
    let moved: Vec<bool> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| grew(*b, *a))
        .collect();
    assert_eq!(
        moved,
        [true, true, true, true],
        "edge, core, store, ads: Checkout"
    );

    // Remote calls are counted on the edges that cross nodes only.
    let edge_metrics = tokio::task::spawn_blocking(|| http_get(addr("edge", 9100), "/metrics"))
        .await
        .unwrap();
    for callee in ["cart", "pricing", "ads"] {
        let calls: f64 = edge_metrics
            .lines()
            .filter(|l| {
                l.starts_with(&format!(
                    "cofaas_remote_calls_total{{caller=\"frontend\",callee=\"{callee}\""
                ))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert!(calls > 0.0, "frontend → {callee}:\n{edge_metrics}");
    }
    for node in ["core", "store"] {
        let text = tokio::task::spawn_blocking(move || http_get(addr(node, 9100), "/metrics"))
            .await
            .unwrap();
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("cofaas_remote_calls_total{")),
            "no remote calls from {node}:\n{text}"
        );
        if node == "core" && mode("pricing", "currency") == EdgeMode::Mediated {
            assert!(
                metric(
                    &text,
                    "cofaas_edge_calls_total{caller=\"pricing\",callee=\"currency\",method=\"convert\"}"
                ) > 0.0,
                "{text}"
            );
        }
    }

    // Core goes down: exactly the calls needing it fail, UNAVAILABLE, fast.
    drop(core);
    let started = Instant::now();
    let down = checkout(&pool, addr("edge", 80), r#"user: "ana" currency: "EUR""#).await;
    assert_eq!(
        down.as_ref().unwrap_err().0,
        tonic::Code::Unavailable,
        "{down:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    add_item(
        &pool,
        addr("edge", 80),
        r#"user: "eve" product: "cap" quantity: 1"#,
    )
    .await
    .expect("AddItem does not need core");
    // Back: the calls recover.
    core = host("core", &placed.nodes["core"], &peers["core"], &metrics);
    tokio::task::spawn_blocking(|| wait_listening(addr("core", 80), "core"))
        .await
        .unwrap();
    let expected = checkout(&pool, addr("native", 80), r#"user: "ana" currency: "EUR""#).await;
    let mut again = Err((tonic::Code::Unknown, String::new()));
    for _ in 0..50 {
        again = checkout(&pool, addr("edge", 80), r#"user: "ana" currency: "EUR""#).await;
        if again.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(again, expected, "after core came back");
    // A deadline crosses a remote edge: the cart sleeps longer than the
    // client waits. (Last: the cart's one instance is stopped at the
    // deadline, and its carts with it.)
    let mut slow = tonic::Request::new(message(
        &pool,
        "shop.CartQuery",
        r#"user: "ana" delay_ms: 3000"#,
    ));
    slow.set_timeout(Duration::from_millis(600));
    let started = Instant::now();
    let err = common::unary_request(addr("edge", 80), PEEK, slow)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.code(),
            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(2500));
    // The cart's node stopped the call at the deadline the remote edge
    // carried, long before its 3 s sleep ended.
    let mut store_metrics = String::new();
    for _ in 0..30 {
        store_metrics = tokio::task::spawn_blocking(|| http_get(addr("store", 9100), "/metrics"))
            .await
            .unwrap();
        if store_metrics.contains("method=\"shop.Cart/Get\",code=\"DeadlineExceeded\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = started.elapsed();
    assert_eq!(
        metric(
            &store_metrics,
            "cofaas_requests_total{method=\"shop.Cart/Get\",code=\"DeadlineExceeded\"}"
        ),
        1.0,
        "client saw {err:?}; after {stopped:?}:\n{store_metrics}"
    );
    assert!(stopped < Duration::from_millis(2500), "{stopped:?}");

    drop(core);
}
