//! Counters and latency histograms, rendered in the Prometheus text format.
//!
//! Three families are kept:
//! * `cofaas_requests_total` / `cofaas_request_seconds`: public gRPC calls,
//!   per method and gRPC code;
//! * `cofaas_function_calls_total` / `cofaas_function_seconds`: calls the
//!   host makes into a function, public or host-mediated;
//! * `cofaas_edge_calls_total` / `cofaas_edge_seconds`: host-mediated calls
//!   between units, per caller unit, callee function and method;
//! * `cofaas_remote_calls_total` / `cofaas_remote_calls_seconds`: calls from
//!   a unit to a service on another node or an external function (remote
//!   edges), labelled the same way;
//! * `cofaas_edge_bytes_total`: the bytes of the encoded requests and
//!   replies of remote edges, labelled the same way;
//!
//! and `cofaas_uptime_seconds`, the time since the metrics were made, to
//! turn the counters into rates.
//!
//! Calls fused inside one composed unit never leave wasm, so the host does
//! not see them.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 16] = [
    1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0,
];

/// A latency histogram with a call counter.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Labels of one series, in order.
type Labels = Vec<(&'static str, String)>;

/// One metric family: histograms by label set, and an error counter.
#[derive(Debug, Default)]
struct Family {
    series: Mutex<BTreeMap<Labels, Arc<Histogram>>>,
}

impl Family {
    fn get(&self, labels: Labels) -> Arc<Histogram> {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(series.entry(labels).or_default())
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "# HELP {name}_total {help} (count)");
        let _ = writeln!(out, "# TYPE {name}_total counter");
        for (labels, h) in series.iter() {
            let _ = writeln!(out, "{name}_total{{{}}} {}", fmt_labels(labels), h.count());
        }
        let _ = writeln!(out, "# HELP {name}_seconds {help} (latency)");
        let _ = writeln!(out, "# TYPE {name}_seconds histogram");
        for (labels, h) in series.iter() {
            h.render(out, &format!("{name}_seconds"), &fmt_labels(labels));
        }
    }
}

fn fmt_labels(labels: &Labels) -> String {
    let mut s = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s
}

/// All the host's metrics.
#[derive(Debug)]
pub struct Metrics {
    requests: Family,
    functions: Family,
    edges: Family,
    remotes: Family,
    bytes: Mutex<BTreeMap<Labels, Arc<AtomicU64>>>,
    memory: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    traps: Mutex<BTreeMap<String, u64>>,
    rejected: AtomicU64,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            functions: Family::default(),
            edges: Family::default(),
            remotes: Family::default(),
            bytes: Mutex::default(),
            memory: Mutex::default(),
            traps: Mutex::default(),
            rejected: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

fn edge_labels(caller: &str, callee: &str, method: &str) -> Labels {
    vec![
        ("caller", caller.to_string()),
        ("callee", callee.to_string()),
        ("method", method.to_string()),
    ]
}

impl Metrics {
    /// The histogram of public calls of `method` that ended with `code`.
    pub fn request(&self, method: &str, code: tonic::Code) -> Arc<Histogram> {
        self.requests.get(vec![
            ("method", method.to_string()),
            ("code", format!("{code:?}")),
        ])
    }

    /// The histogram of calls into `function`'s `method` that ended `outcome`
    /// (`ok`, `error` or `trap`).
    pub fn function(&self, function: &str, method: &str, outcome: &str) -> Arc<Histogram> {
        self.functions.get(vec![
            ("function", function.to_string()),
            ("method", method.to_string()),
            ("outcome", outcome.to_string()),
        ])
    }

    /// The histogram of host-mediated calls from unit `caller` to
    /// `callee`'s `method`.
    pub fn edge(&self, caller: &str, callee: &str, method: &str) -> Arc<Histogram> {
        self.edges.get(edge_labels(caller, callee, method))
    }

    /// The histogram of remote calls from unit `caller` to `callee`'s
    /// `method` (`callee` is the function on the other node, or the
    /// service's name where it is not known).
    pub fn remote(&self, caller: &str, callee: &str, method: &str) -> Arc<Histogram> {
        self.remotes.get(edge_labels(caller, callee, method))
    }

    /// The byte counter of the messages of edge `caller` → `callee`'s
    /// `method`.
    pub fn edge_bytes(&self, caller: &str, callee: &str, method: &str) -> Arc<AtomicU64> {
        let mut bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            bytes
                .entry(edge_labels(caller, callee, method))
                .or_default(),
        )
    }

    /// The gauge of the linear memory of unit `unit`'s live instances, in
    /// bytes.
    pub fn unit_memory(&self, unit: &str) -> Arc<AtomicU64> {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(memory.entry(unit.to_string()).or_default())
    }

    /// Remote calls so far from `caller` to `callee` (any method).
    pub fn remote_calls(&self, caller: &str, callee: &str) -> u64 {
        let series = self
            .remotes
            .series
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        series
            .iter()
            .filter(|(labels, _)| labels[0].1 == caller && labels[1].1 == callee)
            .map(|(_, h)| h.count())
            .sum()
    }

    /// Counts a trap (or limit hit) attributed to `function`.
    pub fn trap(&self, function: &str) {
        let mut traps = self.traps.lock().unwrap_or_else(|e| e.into_inner());
        *traps.entry(function.to_string()).or_default() += 1;
    }

    /// Counts a request rejected because the queue was full.
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Everything, in the Prometheus text exposition format (0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.requests
            .render(&mut out, "cofaas_requests", "public gRPC requests");
        self.functions.render(
            &mut out,
            "cofaas_function_calls",
            "calls the host made into a function",
        );
        self.edges.render(
            &mut out,
            "cofaas_edge_calls",
            "host-mediated calls between units",
        );
        self.remotes.render(
            &mut out,
            "cofaas_remote_calls",
            "calls from a unit to a service on another node or an external function",
        );
        let _ = writeln!(
            out,
            "# HELP cofaas_edge_bytes_total bytes of the requests and replies of remote edges"
        );
        let _ = writeln!(out, "# TYPE cofaas_edge_bytes_total counter");
        {
            let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
            for (labels, n) in bytes.iter() {
                let _ = writeln!(
                    out,
                    "cofaas_edge_bytes_total{{{}}} {}",
                    fmt_labels(labels),
                    n.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP cofaas_unit_memory_bytes linear memory of a unit's live instances"
        );
        let _ = writeln!(out, "# TYPE cofaas_unit_memory_bytes gauge");
        {
            let memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            for (unit, n) in memory.iter() {
                let _ = writeln!(
                    out,
                    "cofaas_unit_memory_bytes{{{}}} {}",
                    fmt_labels(&vec![("unit", unit.clone())]),
                    n.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP cofaas_uptime_seconds time since the host started counting"
        );
        let _ = writeln!(out, "# TYPE cofaas_uptime_seconds gauge");
        let _ = writeln!(
            out,
            "cofaas_uptime_seconds {}",
            self.started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP cofaas_traps_total traps and limit violations per function"
        );
        let _ = writeln!(out, "# TYPE cofaas_traps_total counter");
        let traps = self.traps.lock().unwrap_or_else(|e| e.into_inner());
        for (f, n) in traps.iter() {
            let _ = writeln!(
                out,
                "cofaas_traps_total{{{}}} {n}",
                fmt_labels(&vec![("function", f.clone())])
            );
        }
        let _ = writeln!(
            out,
            "# HELP cofaas_rejected_total requests rejected with RESOURCE_EXHAUSTED because the queue was full"
        );
        let _ = writeln!(out, "# TYPE cofaas_rejected_total counter");
        let _ = writeln!(
            out,
            "cofaas_rejected_total {}",
            self.rejected.load(Ordering::Relaxed)
        );
        out
    }
}

/// Serves `GET /metrics` over plain HTTP/1.1 on `listener` until the task is
/// dropped. Anything else gets 404.
pub async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(1024);
            let mut chunk = [0u8; 1024];
            // Read the request head (bounded).
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf);
            let path = head.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if head.starts_with("GET ") && path == "/metrics" {
                ("200 OK", metrics.render())
            } else {
                ("404 Not Found", "only GET /metrics is served\n".to_string())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.request("helloworld.Greeter/SayHello", tonic::Code::Ok)
            .observe(Duration::from_micros(30));
        m.function("consumer", "consume-byte", "ok")
            .observe(Duration::from_millis(2));
        m.edge("producer", "consumer", "consume-byte")
            .observe(Duration::from_secs(10));
        m.remote("front", "cart", "get-cart")
            .observe(Duration::from_micros(300));
        m.edge_bytes("front", "cart", "get-cart")
            .fetch_add(42, Ordering::Relaxed);
        m.unit_memory("cart").fetch_add(1 << 20, Ordering::Relaxed);
        m.trap("consumer");
        m.rejected();
        let text = m.render();
        assert!(text.contains(
            "cofaas_requests_total{method=\"helloworld.Greeter/SayHello\",code=\"Ok\"} 1"
        ));
        assert!(text.contains(
            "cofaas_requests_seconds_bucket{method=\"helloworld.Greeter/SayHello\",code=\"Ok\",le=\"0.00005\"} 1"
        ));
        assert!(text.contains(
            "cofaas_requests_seconds_bucket{method=\"helloworld.Greeter/SayHello\",code=\"Ok\",le=\"0.00001\"} 0"
        ));
        assert!(text.contains(
            "cofaas_function_calls_total{function=\"consumer\",method=\"consume-byte\",outcome=\"ok\"} 1"
        ));
        // 10 s is above every finite bucket: only +Inf counts it.
        assert!(text.contains(
            "cofaas_edge_calls_seconds_bucket{caller=\"producer\",callee=\"consumer\",method=\"consume-byte\",le=\"5\"} 0"
        ));
        assert!(text.contains(
            "cofaas_edge_calls_seconds_bucket{caller=\"producer\",callee=\"consumer\",method=\"consume-byte\",le=\"+Inf\"} 1"
        ));
        assert!(text.contains("cofaas_traps_total{function=\"consumer\"} 1"));
        assert!(text.contains("cofaas_rejected_total 1"));
        assert!(text.contains(
            "cofaas_remote_calls_total{caller=\"front\",callee=\"cart\",method=\"get-cart\"} 1"
        ));
        assert!(text.contains(
            "cofaas_edge_bytes_total{caller=\"front\",callee=\"cart\",method=\"get-cart\"} 42"
        ));
        assert!(text.contains("cofaas_uptime_seconds "));
        assert!(text.contains("cofaas_unit_memory_bytes{unit=\"cart\"} 1048576"));
        assert_eq!(m.remote_calls("front", "cart"), 1);
        assert_eq!(m.remote_calls("front", "other"), 0);
    }
}
