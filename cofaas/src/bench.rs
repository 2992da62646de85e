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

use crate::demo::{NativeBins, start_host, start_native};
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

fn total_memory(pids: &[u32]) -> Result<Memory> {
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

/// Waits until `addr` accepts connections.
async fn listening(addr: SocketAddr, guard: &mut Guard, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
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
        &bins.consumer,
        &[],
        &[("CONSUMER_LISTEN", consumer_addr.to_string())],
        false,
    )?;
    listening(consumer_addr, &mut consumer, Duration::from_secs(30)).await?;
    let _producer = Guard::start(
        "producer",
        &bins.producer,
        &[],
        &[
            ("PRODUCER_LISTEN", addr.to_string()),
            ("CONSUMER_ADDR", format!("http://{consumer_addr}")),
        ],
        false,
    )?;
    first_reply(addr, Duration::from_secs(30)).await?;
    Ok(started.elapsed())
}

/// Exec → first reply of the consolidated host.
pub async fn cold_start_host(artifacts: &Artifacts) -> Result<Duration> {
    let addr = free_port()?;
    let deployment = artifacts.deployment.display().to_string();
    let listen = addr.to_string();
    let started = Instant::now();
    let _host = Guard::start(
        "host",
        &artifacts.host_bin,
        &["--deployment", &deployment, "--listen", &listen],
        &[],
        false,
    )?;
    first_reply(addr, Duration::from_secs(60)).await?;
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
