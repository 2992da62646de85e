//! `cofaas demo`: prodcon built both ways, driven by one client.
//!
//! The native deployment is the example's two processes talking gRPC over
//! loopback; the consolidated one is the generated host serving the composed
//! component. Both get the same requests from the same tonic client.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::backend::NativeFunction;
use crate::helloworld::greeter_client::GreeterClient;
use crate::helloworld::{HelloReply, HelloRequest};
use crate::pipeline::{Artifacts, BuildOptions};
use crate::proc::{Guard, free_port};

/// The natively built functions of a prodcon-shaped app (a `producer`
/// calling a `consumer`), in any language.
#[derive(Debug, Clone)]
pub struct NativeBins {
    /// The producer.
    pub producer: NativeFunction,
    /// The consumer.
    pub consumer: NativeFunction,
}

impl NativeBins {
    /// The producer's environment pointing it at a consumer on `addr`.
    pub fn consumer_env(&self, addr: SocketAddr) -> (&'static str, String) {
        ("CONSUMER_ADDR", self.producer.peer_address(addr))
    }
}

/// Builds a prodcon-shaped app's functions natively (unchanged, with the
/// real gRPC library of each one's language).
pub fn build_native(app_dir: &Path, target_dir: &Path, release: bool) -> Result<NativeBins> {
    let mut all = build_native_app(app_dir, target_dir, release)?;
    let mut take = |name: &str| {
        all.remove(name)
            .with_context(|| format!("{} has no function `{name}`", app_dir.display()))
    };
    Ok(NativeBins {
        producer: take("producer")?,
        consumer: take("consumer")?,
    })
}

/// Builds any app's functions natively (unchanged, with the real gRPC
/// library), each by its language's backend.
pub fn build_native_app(
    app_dir: &Path,
    target_dir: &Path,
    release: bool,
) -> Result<BTreeMap<String, NativeFunction>> {
    crate::backend::build_native_all(app_dir, target_dir, release)
        .context("building the native functions")
}

/// The native deployment, running.
#[derive(Debug)]
pub struct Native {
    /// The producer's address (the public Greeter).
    pub addr: SocketAddr,
    _consumer: Guard,
    _producer: Guard,
}

impl Native {
    /// The process ids (consumer, producer).
    pub fn pids(&self) -> Vec<u32> {
        vec![self._consumer.id(), self._producer.id()]
    }
}

/// Starts consumer then producer on free loopback ports.
pub fn start_native(bins: &NativeBins, verbose: bool) -> Result<Native> {
    let (consumer_addr, consumer) = start_listening(
        "consumer",
        &bins.consumer.program,
        "CONSUMER_LISTEN",
        &[],
        verbose,
    )?;
    let (addr, producer) = start_listening(
        "producer",
        &bins.producer.program,
        "PRODUCER_LISTEN",
        &[bins.consumer_env(consumer_addr)],
        verbose,
    )?;
    Ok(Native {
        addr,
        _consumer: consumer,
        _producer: producer,
    })
}

/// Starts a natively built function that listens where its environment
/// variable `listen_env` says: on a free loopback port, with further
/// variables `envs` (the addresses of the functions it calls). Returns once
/// the port accepts connections.
///
/// A port found free can be taken by another process before the function
/// binds it; the function then exits, and is started again on another port
/// (up to three tries).
pub fn start_listening(
    name: &str,
    program: &Path,
    listen_env: &str,
    envs: &[(&str, String)],
    verbose: bool,
) -> Result<(SocketAddr, Guard)> {
    start_listening_with_args(name, program, &[], listen_env, envs, verbose)
}

/// [`start_listening`] with arguments for the program.
fn start_listening_with_args(
    name: &str,
    program: &Path,
    args: &[&str],
    listen_env: &str,
    envs: &[(&str, String)],
    verbose: bool,
) -> Result<(SocketAddr, Guard)> {
    const TRIES: usize = 3;
    let mut tries = 0;
    loop {
        tries += 1;
        let addr = free_port()?;
        let mut all = vec![(listen_env, addr.to_string())];
        all.extend(envs.iter().cloned());
        let mut process = Guard::start(name, program, args, &all, verbose)?;
        match process.wait_for_port(addr, Duration::from_secs(30)) {
            Ok(()) => return Ok((addr, process)),
            Err(err) if tries < TRIES && process.wait_exit(Duration::ZERO)?.is_some() => {
                eprintln!("cofaas: {err}; starting {name} on another port");
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// The consolidated deployment, running.
#[derive(Debug)]
pub struct Consolidated {
    /// The host's address.
    pub addr: SocketAddr,
    host: Guard,
}

impl Consolidated {
    /// The host process.
    pub fn process(&mut self) -> &mut Guard {
        &mut self.host
    }

    /// The address of the host's metrics endpoint, when it was started with
    /// `--metrics` (port 0 picks a free one).
    pub fn metrics_addr(&mut self) -> Result<SocketAddr> {
        Ok(self
            .host
            .wait_for_announcement("metrics on", Duration::from_secs(10))?)
    }
}

/// Starts the generated host on `listen`, or on a port the host picks
/// itself (`127.0.0.1:0`, so no other process can take it between choice
/// and bind), with further host options `extra` (`--pool-size 8`, ...).
/// Returns once the host announces the address it is serving on.
pub fn start_host(
    artifacts: &Artifacts,
    listen: Option<SocketAddr>,
    extra: &[&str],
    verbose: bool,
) -> Result<Consolidated> {
    start_host_with(
        &artifacts.host_bin,
        &artifacts.deployment,
        listen,
        extra,
        verbose,
    )
}

/// [`start_host`] for any host binary and deployment file (for example a
/// copy of the built one with other grants).
pub fn start_host_with(
    host_bin: &Path,
    deployment: &Path,
    listen: Option<SocketAddr>,
    extra: &[&str],
    verbose: bool,
) -> Result<Consolidated> {
    let listen = listen
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
        .to_string();
    let deployment = deployment.display().to_string();
    let mut args = vec!["--deployment", &deployment, "--listen", &listen];
    args.extend_from_slice(extra);
    let mut host = Guard::start_announcing("host", host_bin, &args, verbose)?;
    let addr = host.wait_for_announcement("listening on", Duration::from_secs(120))?;
    Ok(Consolidated { addr, host })
}

/// Fails unless `reply` says the consumer received every byte `request`
/// sent: the demo and every bench experiment check each answer.
pub(crate) fn check(request: &HelloRequest, reply: &HelloReply) -> Result<()> {
    let expected = u64::from(request.calls.max(1)) * u64::from(request.payload_kib) * 1024;
    if reply.bytes_consumed != expected {
        bail!(
            "the consumer received {} bytes, {expected} expected",
            reply.bytes_consumed
        );
    }
    Ok(())
}

/// Figures for one configuration.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Median round trip.
    pub median: Duration,
    /// 99th percentile round trip.
    pub p99: Duration,
    /// Mean inter-function call latency, measured in the producer.
    pub inter_function: Duration,
}

/// Sends `requests` SayHello requests with `calls` calls of `kib` KiB and
/// measures round trips; the producer measures its calls on every request.
pub async fn measure(addr: SocketAddr, calls: u32, kib: u32, requests: usize) -> Result<Stats> {
    let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
    let request = HelloRequest {
        name: "demo".into(),
        calls,
        payload_kib: kib,
        measure_latency: true,
        ..Default::default()
    };
    for _ in 0..requests.div_ceil(10) {
        client.say_hello(request.clone()).await?;
    }
    let mut rts = Vec::with_capacity(requests);
    let mut latency_ns: u128 = 0;
    for _ in 0..requests {
        let t = Instant::now();
        let reply = client.say_hello(request.clone()).await?.into_inner();
        rts.push(t.elapsed());
        check(&request, &reply)?;
        latency_ns += u128::from(reply.mean_latency_ns);
    }
    rts.sort();
    let median = rts[rts.len() / 2];
    let p99 = rts[(rts.len() * 99 / 100).min(rts.len() - 1)];
    Ok(Stats {
        median,
        p99,
        inter_function: Duration::from_nanos((latency_ns / requests as u128) as u64),
    })
}

/// One row of the demo table.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Inter-function calls per request.
    pub calls: u32,
    /// Payload per call, KiB.
    pub kib: u32,
    /// Native figures.
    pub native: Stats,
    /// Consolidated figures.
    pub consolidated: Stats,
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// Renders the demo table.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str("| n  | payload | native RT median (µs) | cofaas RT median (µs) | RT speedup | native inter-fn (µs) | cofaas inter-fn (µs) | inter-fn speedup |\n");
    s.push_str("|----|---------|-----------------------|-----------------------|------------|----------------------|----------------------|------------------|\n");
    for r in rows {
        let rt = r.native.median.as_secs_f64() / r.consolidated.median.as_secs_f64();
        let lat = r.native.inter_function.as_secs_f64()
            / r.consolidated.inter_function.as_secs_f64().max(1e-9);
        s.push_str(&format!(
            "| {:<2} | {:>4} KiB | {:>21} | {:>21} | {:>9.1}x | {:>20} | {:>20} | {:>15.1}x |\n",
            r.calls,
            r.kib,
            us(r.native.median),
            us(r.consolidated.median),
            rt,
            us(r.native.inter_function),
            us(r.consolidated.inter_function),
            lat
        ));
    }
    s
}

/// Options of [`run_demo`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DemoOptions {
    /// Build options (the app must be prodcon).
    pub build: BuildOptions,
    /// Requests per configuration.
    pub requests: usize,
    /// Values of n.
    pub calls: Vec<u32>,
    /// Payload per call, KiB.
    pub kib: u32,
}

impl DemoOptions {
    /// The demo of the issue: n ∈ {1, 10, 20} at 1 KiB, 300 requests each.
    pub fn new(app_dir: impl Into<PathBuf>) -> Self {
        DemoOptions {
            build: BuildOptions::new(app_dir),
            requests: 300,
            calls: vec![1, 10, 20],
            kib: 1,
        }
    }
}

/// Builds prodcon both ways, starts both, measures, stops both.
pub async fn run_demo(opts: &DemoOptions) -> Result<Vec<Row>> {
    let verbose = opts.build.verbose;
    eprintln!(
        "cofaas demo: building {} consolidated...",
        opts.build.app_dir.display()
    );
    let build = opts.build.clone();
    let artifacts = tokio::task::spawn_blocking(move || crate::pipeline::build(&build)).await??;
    eprintln!("cofaas demo: building it natively...");
    let app_dir = opts.build.app_dir.clone();
    let target = opts.build.cargo_target_dir.clone();
    let release = opts.build.release_host;
    let bins =
        tokio::task::spawn_blocking(move || build_native(&app_dir, &target, release)).await??;
    let native = start_native(&bins, verbose)?;
    let host = start_host(&artifacts, None, &[], verbose)?;
    eprintln!(
        "cofaas demo: native on {}, consolidated on {}; {} requests per row",
        native.addr, host.addr, opts.requests
    );
    let mut rows = Vec::new();
    for &calls in &opts.calls {
        let n = measure(native.addr, calls, opts.kib, opts.requests).await?;
        let c = measure(host.addr, calls, opts.kib, opts.requests).await?;
        rows.push(Row {
            calls,
            kib: opts.kib,
            native: n,
            consolidated: c,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "function" that exits at its first start, as one whose port was
    /// taken would, and listens on `$LISTEN` at the second.
    #[test]
    fn a_function_that_loses_its_port_is_started_on_another() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("started-once");
        let script = format!(
            "if [ ! -e '{marker}' ]; then touch '{marker}'; exit 1; fi\n\
             exec python3 -c 'import os, socket, time\n\
             host, port = os.environ[\"LISTEN\"].rsplit(\":\", 1)\n\
             s = socket.socket()\n\
             s.bind((host, int(port)))\n\
             s.listen()\n\
             time.sleep(60)'\n",
            marker = marker.display()
        );
        let (addr, mut process) = start_listening_with_args(
            "flaky",
            Path::new("/bin/sh"),
            &["-c", &script],
            "LISTEN",
            &[],
            false,
        )
        .unwrap();
        assert!(marker.exists(), "the first start ran");
        assert!(std::net::TcpStream::connect(addr).is_ok());
        assert_eq!(
            process.wait_exit(Duration::ZERO).unwrap(),
            None,
            "still running"
        );
    }
}
