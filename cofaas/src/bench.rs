//! `cofaas bench`: load and cold-start experiments, native against
//! consolidated, on an app with prodcon's public API (`helloworld.Greeter`
//! with the `calls`/`payload_kib` knobs) and its two functions.
//!
//! * **load**: `requests` SayHello requests (n calls of m KiB each) from
//!   `concurrency` clients, each on its own connection; errors counted,
//!   replies checked; resident memory of the deployment's processes before
//!   and after.
//! * **cold start**: exec of the deployment's processes → first successful
//!   reply, repeated. Natively the consumer starts first and the producer
//!   once the consumer listens (the producer connects to it at start-up), as
//!   an orchestrator with readiness checks would do it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::demo::{NativeBins, check, start_host, start_host_with, start_native};
use crate::helloworld::HelloRequest;
use crate::helloworld::greeter_client::GreeterClient;
use crate::pipeline::Artifacts;
use crate::proc::{Guard, Memory, free_port, memory_of};

/// Parameters of the load experiment.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Requests in total.
    pub requests: usize,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Inter-function calls per request (n).
    pub calls: u32,
    /// Payload per call, KiB (m).
    pub kib: u32,
}

impl Default for LoadOptions {
    /// 200 000 requests, 16 clients, n = 10, 1 KiB.
    fn default() -> Self {
        LoadOptions {
            requests: 200_000,
            concurrency: 16,
            calls: 10,
            kib: 1,
        }
    }
}

/// Result of one load run.
#[derive(Debug, Clone, Copy)]
pub struct LoadResult {
    /// Requests sent (after warm-up).
    pub requests: usize,
    /// Requests that failed or replied wrongly.
    pub errors: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Memory of the deployment's processes, summed, after warm-up.
    pub memory_start: Memory,
    /// The same after the run.
    pub memory_end: Memory,
}

impl LoadResult {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// The memory of the processes `pids`, summed.
pub(crate) fn total_memory(pids: &[u32]) -> Result<Memory> {
    let mut sum = Memory {
        rss_kib: 0,
        peak_kib: 0,
    };
    for &pid in pids {
        let m = memory_of(pid).with_context(|| format!("reading /proc/{pid}/status"))?;
        sum.rss_kib += m.rss_kib;
        sum.peak_kib += m.peak_kib;
    }
    Ok(sum)
}

/// Drives `addr` with `opts` (after 1000 warm-up requests); `pids` are the
/// processes whose memory is reported.
pub async fn load(addr: SocketAddr, pids: &[u32], opts: LoadOptions) -> Result<LoadResult> {
    let request = HelloRequest {
        name: "load".into(),
        calls: opts.calls,
        payload_kib: opts.kib,
        ..Default::default()
    };
    let expected = u64::from(opts.calls) * u64::from(opts.kib) * 1024;
    let run = |total: usize| {
        let request = request.clone();
        async move {
            let next = Arc::new(AtomicUsize::new(0));
            let errors = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for _ in 0..opts.concurrency {
                let (next, errors, request) = (next.clone(), errors.clone(), request.clone());
                tasks.push(tokio::spawn(async move {
                    let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
                    while next.fetch_add(1, Ordering::Relaxed) < total {
                        match client.say_hello(request.clone()).await {
                            Ok(r) if r.get_ref().bytes_consumed == expected => {}
                            _ => {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    anyhow::Ok(())
                }));
            }
            for t in tasks {
                t.await??;
            }
            anyhow::Ok(errors.load(Ordering::Relaxed))
        }
    };
    run(1000.min(opts.requests)).await?;
    let memory_start = total_memory(pids)?;
    let started = Instant::now();
    let errors = run(opts.requests).await?;
    let elapsed = started.elapsed();
    let memory_end = total_memory(pids)?;
    Ok(LoadResult {
        requests: opts.requests,
        errors,
        elapsed,
        memory_start,
        memory_end,
    })
}

/// Polls `addr` with SayHello until one succeeds (`timeout` at most).
async fn first_reply(addr: SocketAddr, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let request = HelloRequest {
        name: "cold".into(),
        calls: 1,
        payload_kib: 1,
        ..Default::default()
    };
    loop {
        if let Ok(mut c) = GreeterClient::connect(format!("http://{addr}")).await
            && c.say_hello(request.clone()).await.is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no reply from {addr} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits until `addr` accepts connections (a self-connection, see
/// [`Guard::wait_for_port`], does not count).
async fn listening(addr: SocketAddr, guard: &mut Guard, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let accepts = async || match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => s.local_addr().ok() != Some(addr),
        Err(_) => false,
    };
    while !accepts().await {
        if Instant::now() > deadline {
            bail!("nothing listens on {addr} after {timeout:?}");
        }
        if guard.wait_exit(Duration::ZERO)?.is_some() {
            bail!("process exited before listening on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// Exec → first reply of the native deployment.
pub async fn cold_start_native(bins: &NativeBins) -> Result<Duration> {
    let consumer_addr = free_port()?;
    let addr = free_port()?;
    let started = Instant::now();
    let mut consumer = Guard::start(
        "consumer",
        &bins.consumer.program,
        &[],
        &[("CONSUMER_LISTEN", consumer_addr.to_string())],
        false,
    )?;
    listening(consumer_addr, &mut consumer, Duration::from_secs(30)).await?;
    let _producer = Guard::start(
        "producer",
        &bins.producer.program,
        &[],
        &[
            ("PRODUCER_LISTEN", addr.to_string()),
            bins.consumer_env(consumer_addr),
        ],
        false,
    )?;
    first_reply(addr, Duration::from_secs(30)).await?;
    Ok(started.elapsed())
}

/// Exec → first reply of the consolidated host.
pub async fn cold_start_host(artifacts: &Artifacts) -> Result<Duration> {
    let started = Instant::now();
    let (host_bin, deployment) = (artifacts.host_bin.clone(), artifacts.deployment.clone());
    let host = tokio::task::spawn_blocking(move || {
        start_host_with(&host_bin, &deployment, None, &[], false)
    })
    .await??;
    first_reply(host.addr, Duration::from_secs(60)).await?;
    Ok(started.elapsed())
}

/// The median of `xs`.
pub fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

/// Runs the load experiment on both deployments, native first.
pub async fn load_both(
    bins: &NativeBins,
    artifacts: &Artifacts,
    opts: LoadOptions,
) -> Result<(LoadResult, LoadResult)> {
    let native = {
        let n = start_native(bins, false)?;
        let pids = n.pids();
        load(n.addr, &pids, opts).await?
    };
    let consolidated = {
        let mut h = start_host(artifacts, None, &[], false)?;
        let pid = h.process().id();
        load(h.addr, &[pid], opts).await?
    };
    Ok((native, consolidated))
}

/// The load table.
pub fn load_table(opts: &LoadOptions, native: &LoadResult, consolidated: &LoadResult) -> String {
    let mut s = format!(
        "load: {} requests, {} clients, n={} x {} KiB\n",
        opts.requests, opts.concurrency, opts.calls, opts.kib
    );
    s.push_str("| deployment | errors | req/s | RSS start (MiB) | RSS end (MiB) | peak RSS start (MiB) | peak RSS end (MiB) |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for (name, r) in [("native", native), ("cofaas", consolidated)] {
        s.push_str(&format!(
            "| {name} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            r.errors,
            r.rate(),
            r.memory_start.rss_kib as f64 / 1024.0,
            r.memory_end.rss_kib as f64 / 1024.0,
            r.memory_start.peak_kib as f64 / 1024.0,
            r.memory_end.peak_kib as f64 / 1024.0,
        ));
    }
    s.push_str(&format!(
        "throughput ratio (cofaas / native): {:.2}x\n",
        consolidated.rate() / native.rate()
    ));
    s
}

// ---------------------------------------------------------------------------
// The paper's experiments.
// ---------------------------------------------------------------------------

/// The matrix of [`run_paper`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PaperOptions {
    /// Values of n (inter-function calls per request).
    pub calls: Vec<u32>,
    /// Values of m (KiB per call).
    pub kibs: Vec<u32>,
    /// Round trips measured per (n, m), after a tenth as many warm-ups.
    pub requests: usize,
    /// How long each deployment is warmed up (n = 10, 1 KiB requests)
    /// after it starts and before anything is measured, so that lazy
    /// initialisation (the host filling its instance pools, the native
    /// processes' connections) is not measured.
    pub warm_up: Duration,
    /// Repetitions of the 100-call inter-function measurement per m.
    pub latency_repeats: usize,
    /// Concurrent clients of the throughput runs (n = 10, 1 KiB).
    pub clients: Vec<usize>,
    /// Length of each throughput run.
    pub throughput_for: Duration,
    /// Cold starts per deployment.
    pub cold_starts: usize,
}

impl PaperOptions {
    /// The full matrix: n ∈ {1, 10, 20}, m ∈ {1, 2, 4, …, 512} KiB.
    pub fn full() -> Self {
        PaperOptions {
            calls: vec![1, 10, 20],
            kibs: (0..10).map(|i| 1 << i).collect(),
            requests: 300,
            warm_up: Duration::from_secs(2),
            latency_repeats: 10,
            clients: vec![1, 4, 16],
            throughput_for: Duration::from_secs(3),
            cold_starts: 10,
        }
    }

    /// A reduced matrix that runs in well under two minutes.
    pub fn quick() -> Self {
        PaperOptions {
            calls: vec![1, 10, 20],
            kibs: vec![1, 16, 512],
            requests: 100,
            warm_up: Duration::from_millis(500),
            latency_repeats: 3,
            clients: vec![1, 4, 16],
            throughput_for: Duration::from_millis(700),
            cold_starts: 3,
        }
    }
}

/// One result row: a configuration, the native and consolidated figures and
/// the speedup (above 1: cofaas is better).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchRow {
    /// `round-trip`, `inter-function`, `throughput`, `cold-start` or `memory`.
    pub experiment: &'static str,
    /// What is measured: `median`, `p99`, `mean`, `req/s`, `peak-rss`.
    pub metric: &'static str,
    /// Unit of the figures: `us`, `ms`, `req/s`, `MiB`.
    pub unit: &'static str,
    /// Inter-function calls per request, where it applies.
    pub calls: Option<u32>,
    /// KiB per call, where it applies.
    pub kib: Option<u32>,
    /// Concurrent clients, where it applies.
    pub clients: Option<usize>,
    /// The native deployment's figure.
    pub native: f64,
    /// The consolidated deployment's figure.
    pub cofaas: f64,
    /// native / cofaas for times and memory, cofaas / native for throughput.
    pub speedup: f64,
}

impl BenchRow {
    fn time(
        experiment: &'static str,
        metric: &'static str,
        calls: Option<u32>,
        kib: Option<u32>,
        native: Duration,
        cofaas: Duration,
    ) -> Self {
        let (n, c) = (native.as_secs_f64() * 1e6, cofaas.as_secs_f64() * 1e6);
        BenchRow {
            experiment,
            metric,
            unit: "us",
            calls,
            kib,
            clients: None,
            native: n,
            cofaas: c,
            speedup: n / c.max(1e-3),
        }
    }
}

/// Median, 99th percentile.
fn percentiles(mut xs: Vec<Duration>) -> (Duration, Duration) {
    xs.sort();
    if xs.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    let p99 = xs[(xs.len() * 99 / 100).min(xs.len() - 1)];
    (xs[xs.len() / 2], p99)
}

/// Round trips of `requests` SayHello requests (n calls of m KiB).
async fn round_trips(
    addr: SocketAddr,
    calls: u32,
    kib: u32,
    requests: usize,
) -> Result<Vec<Duration>> {
    let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
    let request = HelloRequest {
        name: "bench".into(),
        calls,
        payload_kib: kib,
        ..Default::default()
    };
    for _ in 0..requests.div_ceil(10) {
        check(&request, client.say_hello(request.clone()).await?.get_ref())?;
    }
    let mut out = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        let reply = client.say_hello(request.clone()).await?.into_inner();
        out.push(t.elapsed());
        check(&request, &reply)?;
    }
    Ok(out)
}

/// The mean latency of one inter-function call as the producer measures it
/// over 100 calls of `kib` KiB, repeated `repeats` times: the median mean.
async fn inter_function(addr: SocketAddr, kib: u32, repeats: usize) -> Result<Duration> {
    let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
    let request = HelloRequest {
        name: "latency".into(),
        calls: 100,
        payload_kib: kib,
        measure_latency: true,
        ..Default::default()
    };
    check(&request, client.say_hello(request.clone()).await?.get_ref())?;
    let mut means = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let reply = client.say_hello(request.clone()).await?.into_inner();
        check(&request, &reply)?;
        means.push(Duration::from_nanos(reply.mean_latency_ns));
    }
    Ok(median(means))
}

/// Requests per second from `clients` clients for `length` (n = 10, 1 KiB).
async fn throughput(addr: SocketAddr, clients: usize, length: Duration) -> Result<f64> {
    let request = HelloRequest {
        name: "throughput".into(),
        calls: 10,
        payload_kib: 1,
        ..Default::default()
    };
    let started = Instant::now();
    let until = started + length;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
            let mut done = 0u64;
            while Instant::now() < until {
                check(&request, client.say_hello(request.clone()).await?.get_ref())?;
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Runs the paper's experiments on both deployments: round trips,
/// inter-function latency, throughput, cold start and peak memory.
/// `progress` gets a line per step.
pub async fn run_paper(
    bins: &NativeBins,
    artifacts: &Artifacts,
    opts: &PaperOptions,
    progress: impl Fn(&str),
) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    let native = start_native(bins, false)?;
    let mut host = start_host(artifacts, None, &[], false)?;
    let host_pid = host.process().id();
    progress("warm-up");
    // One client's throughput run is the warm-up.
    throughput(native.addr, 1, opts.warm_up).await?;
    throughput(host.addr, 1, opts.warm_up).await?;

    for &calls in &opts.calls {
        for &kib in &opts.kibs {
            progress(&format!("round trip n={calls} m={kib} KiB"));
            let (nm, np) = percentiles(round_trips(native.addr, calls, kib, opts.requests).await?);
            let (cm, cp) = percentiles(round_trips(host.addr, calls, kib, opts.requests).await?);
            rows.push(BenchRow::time(
                "round-trip",
                "median",
                Some(calls),
                Some(kib),
                nm,
                cm,
            ));
            rows.push(BenchRow::time(
                "round-trip",
                "p99",
                Some(calls),
                Some(kib),
                np,
                cp,
            ));
        }
    }
    for &kib in &opts.kibs {
        progress(&format!("inter-function latency m={kib} KiB"));
        let n = inter_function(native.addr, kib, opts.latency_repeats).await?;
        let c = inter_function(host.addr, kib, opts.latency_repeats).await?;
        rows.push(BenchRow::time(
            "inter-function",
            "mean",
            Some(100),
            Some(kib),
            n,
            c,
        ));
    }
    for &clients in &opts.clients {
        progress(&format!("throughput, {clients} clients"));
        let n = throughput(native.addr, clients, opts.throughput_for).await?;
        let c = throughput(host.addr, clients, opts.throughput_for).await?;
        rows.push(BenchRow {
            experiment: "throughput",
            metric: "req/s",
            unit: "req/s",
            calls: Some(10),
            kib: Some(1),
            clients: Some(clients),
            native: n,
            cofaas: c,
            speedup: c / n.max(1e-9),
        });
    }
    let n_mem = total_memory(&native.pids())?;
    let c_mem = total_memory(&[host_pid])?;
    rows.push(BenchRow {
        experiment: "memory",
        metric: "peak-rss",
        unit: "MiB",
        calls: None,
        kib: None,
        clients: None,
        native: n_mem.peak_kib as f64 / 1024.0,
        cofaas: c_mem.peak_kib as f64 / 1024.0,
        speedup: n_mem.peak_kib as f64 / (c_mem.peak_kib as f64).max(1.0),
    });
    drop(native);
    drop(host);

    progress("cold start");
    let (mut n, mut c) = (Vec::new(), Vec::new());
    for _ in 0..opts.cold_starts {
        n.push(cold_start_native(bins).await?);
        c.push(cold_start_host(artifacts).await?);
    }
    let (n, c) = (median(n), median(c));
    let mut row = BenchRow::time("cold-start", "median", None, None, n, c);
    row.unit = "ms";
    row.native /= 1e3;
    row.cofaas /= 1e3;
    rows.push(row);
    Ok(rows)
}

/// Starts the two nodes of a prodcon-style app placed on two (`split`,
/// built from a manifest placing the producer and the consumer on nodes of
/// their own): the consumer's node, then the producer's with the consumer
/// as its peer. Returns the producer node's address and both processes.
pub fn start_split(split: &Artifacts) -> Result<(SocketAddr, Vec<crate::demo::Consolidated>)> {
    let node_of = |service: &str, wanted: bool| {
        split.nodes.iter().find_map(|(node, path)| {
            let d = cofaas_host::Deployment::load(path).ok()?;
            (d.serves.iter().any(|s| s == service) == wanted).then(|| (node.clone(), path.clone()))
        })
    };
    let (_, back) = node_of("prodcon.ProducerConsumer", true)
        .context("no node of the split app serves prodcon.ProducerConsumer")?;
    let (_, front) = node_of("prodcon.ProducerConsumer", false)
        .context("no node of the split app calls prodcon.ProducerConsumer")?;
    let consumer = start_host_with(&split.host_bin, &back, None, &[], false)?;
    let peer = format!("prodcon.ProducerConsumer=http://{}", consumer.addr);
    let producer = start_host_with(&split.host_bin, &front, None, &["--peer", &peer], false)?;
    let addr = producer.addr;
    Ok((addr, vec![consumer, producer]))
}

/// The remote-edge experiment: one remote edge (the producer's call to the
/// consumer on another host, over loopback) against one native tonic hop,
/// as the producer measures it, and round trips of the app natively, on
/// one host (`local`) and on two (`split`).
pub async fn run_remote(
    bins: &NativeBins,
    local: &Artifacts,
    split: &Artifacts,
    opts: &PaperOptions,
    progress: impl Fn(&str),
) -> Result<Vec<BenchRow>> {
    let native = start_native(bins, false)?;
    let host = start_host(local, None, &[], false)?;
    let (split_addr, _nodes) = start_split(split)?;
    progress("warm-up");
    for addr in [native.addr, host.addr, split_addr] {
        throughput(addr, 1, opts.warm_up).await?;
    }
    let mut rows = Vec::new();
    for &kib in &opts.kibs {
        progress(&format!("one edge, m={kib} KiB"));
        let n = inter_function(native.addr, kib, opts.latency_repeats).await?;
        let r = inter_function(split_addr, kib, opts.latency_repeats).await?;
        rows.push(BenchRow::time("edge", "remote", Some(100), Some(kib), n, r));
    }
    for &calls in &opts.calls {
        for &kib in &opts.kibs {
            progress(&format!("round trip n={calls} m={kib} KiB"));
            let (nm, _) = percentiles(round_trips(native.addr, calls, kib, opts.requests).await?);
            let (lm, _) = percentiles(round_trips(host.addr, calls, kib, opts.requests).await?);
            let (sm, _) = percentiles(round_trips(split_addr, calls, kib, opts.requests).await?);
            rows.push(BenchRow::time(
                "round-trip",
                "one-node",
                Some(calls),
                Some(kib),
                nm,
                lm,
            ));
            rows.push(BenchRow::time(
                "round-trip",
                "two-nodes",
                Some(calls),
                Some(kib),
                nm,
                sm,
            ));
        }
    }
    Ok(rows)
}

fn opt<T: std::fmt::Display>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// The rows as a Markdown table.
pub fn paper_table(rows: &[BenchRow]) -> String {
    let mut s = String::from(
        "| experiment | metric | n | m (KiB) | clients | native | cofaas | unit | speedup |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {} | {:.2}x |\n",
            r.experiment,
            r.metric,
            opt(r.calls),
            opt(r.kib),
            opt(r.clients),
            r.native,
            r.cofaas,
            r.unit,
            r.speedup
        ));
    }
    s
}

/// The rows as CSV, with a header line.
pub fn paper_csv(rows: &[BenchRow]) -> String {
    let mut s = String::from("experiment,metric,calls,kib,clients,native,cofaas,unit,speedup\n");
    let field = |x: Option<String>| x.unwrap_or_default();
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.experiment,
            r.metric,
            field(r.calls.map(|v| v.to_string())),
            field(r.kib.map(|v| v.to_string())),
            field(r.clients.map(|v| v.to_string())),
            r.native,
            r.cofaas,
            r.unit,
            r.speedup
        ));
    }
    s
}

/// An SVG plot like the paper's Figures 4 and 5: round-trip speedup (median)
/// per payload size, one line per n.
pub fn paper_plot(rows: &[BenchRow], path: &std::path::Path) -> Result<()> {
    use plotters::prelude::*;
    let points = |calls: u32| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| r.experiment == "round-trip" && r.metric == "median")
            .filter(|r| r.calls == Some(calls))
            .filter_map(|r| r.kib.map(|k| (f64::from(k), r.speedup)))
            .collect()
    };
    let mut calls: Vec<u32> = rows
        .iter()
        .filter_map(|r| r.calls)
        .filter(|&c| c != 100)
        .collect();
    calls.sort_unstable();
    calls.dedup();
    let max_kib = rows.iter().filter_map(|r| r.kib).max().unwrap_or(1).max(2);
    let max_speedup = rows
        .iter()
        .filter(|r| r.experiment == "round-trip" && r.metric == "median")
        .map(|r| r.speedup)
        .fold(1.0f64, f64::max);
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Round-trip speedup of cofaas over native gRPC",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(
            (1f64..f64::from(max_kib)).log_scale(),
            0f64..max_speedup * 1.1,
        )
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("payload per call (KiB)")
        .y_desc("speedup (native / cofaas median round trip)")
        .draw()
        .map_err(|e| err(&e))?;
    let colors = [RED, BLUE, GREEN, MAGENTA, CYAN, BLACK];
    for (i, &n) in calls.iter().enumerate() {
        let color = colors[i % colors.len()];
        let pts = points(n);
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(format!("n = {n}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<BenchRow> {
        let mut rows = Vec::new();
        for calls in [1, 10] {
            for kib in [1, 16, 512] {
                rows.push(BenchRow::time(
                    "round-trip",
                    "median",
                    Some(calls),
                    Some(kib),
                    Duration::from_micros(u64::from(calls) * 100 + u64::from(kib)),
                    Duration::from_micros(100),
                ));
            }
        }
        rows.push(BenchRow {
            experiment: "throughput",
            metric: "req/s",
            unit: "req/s",
            calls: Some(10),
            kib: Some(1),
            clients: Some(4),
            native: 1000.0,
            cofaas: 7000.0,
            speedup: 7.0,
        });
        rows
    }

    #[test]
    fn outputs_carry_every_row() {
        let rows = rows();
        let csv = paper_csv(&rows);
        assert_eq!(csv.lines().count(), rows.len() + 1);
        assert!(
            csv.contains("round-trip,median,10,512,,1512,100,us,15.12\n"),
            "{csv}"
        );
        assert!(
            csv.contains("throughput,req/s,10,1,4,1000,7000,req/s,7\n"),
            "{csv}"
        );
        let table = paper_table(&rows);
        assert!(
            table.contains("| round-trip | median | 1 | 16 | - | 116.0 | 100.0 | us | 1.16x |")
        );
        let json: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&rows).unwrap()).unwrap();
        assert_eq!(json[6]["clients"], 4);
        assert_eq!(json[0]["speedup"], 1.01);

        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("plot.svg");
        paper_plot(&rows, &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg"));
        assert!(text.contains("n = 1") && text.contains("n = 10"), "{text}");
    }
}

/// The request of `tick.Ticker/Count`, the server stream the stream
/// experiment reads (the ticker app, `cofaas/tests/fixtures/ticker`).
#[derive(Clone, PartialEq, prost::Message)]
struct CountRequest {
    #[prost(uint64, tag = "1")]
    n: u64,
    #[prost(uint32, tag = "2")]
    size: u32,
}

/// A message of `tick.Ticker/Count`.
#[derive(Clone, PartialEq, prost::Message)]
struct Chunk {
    #[prost(uint64, tag = "1")]
    seq: u64,
    #[prost(bytes = "vec", tag = "2")]
    data: Vec<u8>,
}

/// Reads one `Count` stream of `n` messages of `kib` KiB from `addr`; the
/// time from the request to its first message and to its end.
async fn read_stream(addr: SocketAddr, n: u64, kib: u32) -> Result<(Duration, Duration)> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/tick.Ticker/Count");
    let codec = tonic_prost::ProstCodec::<CountRequest, Chunk>::default();
    let request = CountRequest {
        n,
        size: kib * 1024,
    };
    let started = Instant::now();
    let mut stream = grpc
        .server_streaming(tonic::Request::new(request), path, codec)
        .await?
        .into_inner();
    let mut first = None;
    let mut got = 0;
    while let Some(message) = stream.message().await? {
        first.get_or_insert_with(|| started.elapsed());
        anyhow::ensure!(
            message.seq == got,
            "{addr}: message {} out of order",
            message.seq
        );
        got += 1;
    }
    anyhow::ensure!(got == n, "{addr}: {got} of {n} messages");
    Ok((first.unwrap_or_default(), started.elapsed()))
}

/// The stream experiment: a server stream of `n` messages of 1 KiB (and
/// 16 KiB) from the app's `tick.Ticker/Count`, read by an outside client,
/// native (the function's own tonic server) against consolidated (the
/// host serving the function's stream resource): the time per message and
/// messages per second over whole streams, and the time to the first
/// message. Medians of `repeats`.
pub async fn run_stream(
    native: SocketAddr,
    host: SocketAddr,
    n: u64,
    repeats: usize,
    progress: impl Fn(&str),
) -> Result<Vec<BenchRow>> {
    progress("warm-up");
    for addr in [native, host] {
        read_stream(addr, n / 10 + 1, 1).await?;
    }
    let mut rows = Vec::new();
    for kib in [1u32, 16] {
        progress(&format!("{n} messages of {kib} KiB"));
        let (mut nf, mut nt, mut cf, mut ct) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..repeats {
            let (f, t) = read_stream(native, n, kib).await?;
            nf.push(f);
            nt.push(t);
            let (f, t) = read_stream(host, n, kib).await?;
            cf.push(f);
            ct.push(t);
        }
        let (nt, ct) = (median(nt), median(ct));
        let per = |t: Duration| t / u32::try_from(n).unwrap_or(u32::MAX).max(1);
        rows.push(BenchRow::time(
            "stream",
            "per-message",
            None,
            Some(kib),
            per(nt),
            per(ct),
        ));
        let rate = |t: Duration| n as f64 / t.as_secs_f64().max(1e-9);
        rows.push(BenchRow {
            experiment: "stream",
            metric: "msg/s",
            unit: "msg/s",
            calls: None,
            kib: Some(kib),
            clients: Some(1),
            native: rate(nt),
            cofaas: rate(ct),
            speedup: rate(ct) / rate(nt).max(1e-9),
        });
        rows.push(BenchRow::time(
            "stream",
            "first-message",
            None,
            Some(kib),
            median(nf),
            median(cf),
        ));
    }
    Ok(rows)
}
