//! Load runs with [ghz](https://ghz.sh), the standard gRPC load tool,
//! against any app: its native deployment (every function started by the
//! convention below) and its consolidated host, one after the other.
//!
//! A native function is started with `<FUNCTION>_LISTEN=127.0.0.1:<port>`
//! and, for every service it imports, `<OWNER>_ADDR=<address>` (the owner
//! being the function exporting it, in upper case, `-` as `_`; the address
//! in the form its language's backend gives), callees first. The examples
//! follow it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::backend::NativeFunction;
use crate::bench::total_memory;
use crate::demo::start_listening;
use crate::manifest::Manifest;
use crate::proc::{Guard, Memory};

/// The ghz release the load runs use.
pub const GHZ: &str = "github.com/bojand/ghz/cmd/ghz@v0.120.0";

/// Installs a Go tool with `go install <package_at_version>` into
/// `<tools>/<version>/` (once; later calls find it there) and returns its
/// path.
pub fn install_go_tool(tools: &Path, name: &str, package_at_version: &str) -> Result<PathBuf> {
    let version = package_at_version.rsplit('@').next().unwrap_or("latest");
    let dir = tools.join(version);
    let bin = dir.join(name);
    if bin.is_file() {
        return Ok(bin);
    }
    let go = std::env::var_os("GO").unwrap_or_else(|| "go".into());
    let out = Command::new(&go)
        .args(["install", package_at_version])
        .env("GOBIN", &dir)
        .output()
        .with_context(|| format!("running `go install {package_at_version}` (is Go on PATH?)"))?;
    if !out.status.success() || !bin.is_file() {
        bail!(
            "go install {package_at_version} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(bin)
}

/// The native deployment of an app, running.
#[derive(Debug)]
pub struct NativeApp {
    /// The first entry function's address.
    pub addr: SocketAddr,
    /// Every function's address, by name.
    pub addrs: BTreeMap<String, SocketAddr>,
    /// The functions' processes, callees first.
    pub processes: Vec<Guard>,
}

impl NativeApp {
    /// The functions' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(Guard::id).collect()
    }
}

/// The environment variable prefix of a function (`clock-go` → `CLOCK_GO`).
fn env_name(function: &str) -> String {
    function.to_ascii_uppercase().replace('-', "_")
}

/// Starts every function of the app in `app_dir` (built natively as
/// `bins`) on free loopback ports by the convention of this module, callees
/// first; [`NativeApp::addr`] is its first entry's.
pub fn start_native_app(
    app_dir: &Path,
    bins: &BTreeMap<String, NativeFunction>,
    verbose: bool,
) -> Result<NativeApp> {
    let (_, manifest) = Manifest::load(app_dir)?;
    let Some(entry) = manifest.app.entries.first() else {
        bail!("the app has no entry function");
    };
    let owner: BTreeMap<&str, &str> = manifest
        .functions
        .iter()
        .flat_map(|(name, f)| f.exports.iter().map(move |s| (s.as_str(), name.as_str())))
        .collect();
    let mut addrs: BTreeMap<String, SocketAddr> = BTreeMap::new();
    let mut processes = Vec::new();
    // Callees first: start a function once all it calls are up.
    while addrs.len() < manifest.functions.len() {
        let ready = manifest.functions.iter().find(|(name, f)| {
            !addrs.contains_key(*name)
                && f.imports.iter().all(|s| {
                    owner
                        .get(s.as_str())
                        .is_some_and(|o| addrs.contains_key(*o))
                })
        });
        let Some((name, f)) = ready else {
            bail!(
                "the app's functions call each other in a cycle, or import a service no function exports"
            );
        };
        let bin = bins
            .get(name)
            .with_context(|| format!("function `{name}` was not built"))?;
        let mut envs = Vec::new();
        for s in &f.imports {
            let o = owner[s.as_str()];
            envs.push((format!("{}_ADDR", env_name(o)), bin.peer_address(addrs[o])));
        }
        let envs: Vec<(&str, String)> = envs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let listen = format!("{}_LISTEN", env_name(name));
        let (addr, guard) = start_listening(name, &bin.program, &listen, &envs, verbose)?;
        addrs.insert(name.clone(), addr);
        processes.push(guard);
    }
    Ok(NativeApp {
        addr: addrs[entry],
        addrs,
        processes,
    })
}

/// Compiles the app's protos (`cofaas.toml`'s `protos` and `includes`, in
/// `app_dir`) into an encoded `FileDescriptorSet` at `out`, for ghz.
pub fn write_protoset(app_dir: &Path, out: &Path) -> Result<()> {
    let fds = app_descriptors(app_dir)?;
    std::fs::write(out, prost::Message::encode_to_vec(&fds))
        .with_context(|| format!("writing {}", out.display()))
}

/// The app's protos (`cofaas.toml`'s `protos` and `includes`, in
/// `app_dir`, or of the manifest it names), compiled.
pub fn app_descriptors(app_dir: &Path) -> Result<prost_types::FileDescriptorSet> {
    let (manifest_path, manifest) = Manifest::load(app_dir)?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let protos: Vec<PathBuf> = manifest.app.protos.iter().map(|p| dir.join(p)).collect();
    let includes: Vec<PathBuf> = manifest.app.includes.iter().map(|p| dir.join(p)).collect();
    Ok(proto2wit::compile_protos(&protos, &includes)?)
}

/// One ghz load run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GhzOptions {
    /// The ghz binary.
    pub ghz: PathBuf,
    /// An encoded `FileDescriptorSet` describing the call (ghz's
    /// `--protoset`; see [`write_protoset`]).
    pub protoset: PathBuf,
    /// The method, `package.Service.Method` (or `/`-separated).
    pub call: String,
    /// The request, as protobuf JSON.
    pub data: String,
    /// Requests in total.
    pub requests: usize,
    /// Concurrent workers, each on its own connection.
    pub concurrency: usize,
}

impl GhzOptions {
    /// A run of 1 000 000 requests on 16 connections of `call` with `data`,
    /// by the ghz at `ghz`, described by `protoset`.
    pub fn new(
        ghz: PathBuf,
        protoset: PathBuf,
        call: impl Into<String>,
        data: impl Into<String>,
    ) -> Self {
        GhzOptions {
            ghz,
            protoset,
            call: call.into(),
            data: data.into(),
            requests: 1_000_000,
            concurrency: 16,
        }
    }
}

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct GhzResult {
    /// Requests made.
    pub count: u64,
    /// Requests that did not end OK.
    pub errors: u64,
    /// Replies per status code (`OK`, `Unavailable`, ...).
    pub status_codes: BTreeMap<String, u64>,
    /// Requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Memory of the deployment's processes, summed, before the run (after
    /// a warm-up of 1000 requests).
    pub memory_start: Memory,
    /// The same after it.
    pub memory_end: Memory,
}

/// ghz's JSON report, the part read here (durations in nanoseconds).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    count: u64,
    rps: f64,
    #[serde(default)]
    latency_distribution: Option<Vec<Latency>>,
    #[serde(default)]
    status_code_distribution: BTreeMap<String, u64>,
}

#[derive(serde::Deserialize)]
struct Latency {
    percentage: u32,
    latency: u64,
}

/// Runs ghz with `opts` against `addr` for `requests` requests.
fn run_ghz(opts: &GhzOptions, addr: SocketAddr, requests: usize) -> Result<Report> {
    let mut cmd = Command::new(&opts.ghz);
    cmd.arg("--insecure")
        .args(["--format", "json"])
        .args(["--call", &opts.call])
        .args(["--data", &opts.data])
        .args(["--total", &requests.to_string()])
        .args(["--concurrency", &opts.concurrency.to_string()])
        .args(["--connections", &opts.concurrency.to_string()])
        .args(["--timeout", "20s"]);
    cmd.arg("--protoset").arg(&opts.protoset);
    cmd.arg(addr.to_string());
    let out = cmd
        .output()
        .with_context(|| format!("running {}", opts.ghz.display()))?;
    if !out.status.success() {
        bail!(
            "ghz failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "reading ghz's report: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Warms `addr` up with 1000 requests, then runs the load of `opts`;
/// `pids` are the processes whose memory is reported.
pub fn load(opts: &GhzOptions, addr: SocketAddr, pids: &[u32]) -> Result<GhzResult> {
    run_ghz(opts, addr, 1000.min(opts.requests))?;
    let memory_start = total_memory(pids)?;
    let report = run_ghz(opts, addr, opts.requests)?;
    let memory_end = total_memory(pids)?;
    let ok = report
        .status_code_distribution
        .get("OK")
        .copied()
        .unwrap_or(0);
    let latency = |pct: u32| {
        report
            .latency_distribution
            .iter()
            .flatten()
            .find(|l| l.percentage == pct)
            .map_or(Duration::ZERO, |l| Duration::from_nanos(l.latency))
    };
    Ok(GhzResult {
        count: report.count,
        errors: report.count.saturating_sub(ok),
        status_codes: report.status_code_distribution.clone(),
        rps: report.rps,
        p50: latency(50),
        p99: latency(99),
        memory_start,
        memory_end,
    })
}

/// The table of a native and a consolidated run.
pub fn table(opts: &GhzOptions, native: &GhzResult, consolidated: &GhzResult) -> String {
    let mut s = format!(
        "ghz: {} requests of {}, {} connections\n",
        opts.requests, opts.call, opts.concurrency
    );
    s.push_str("| deployment | requests | errors | req/s | p50 (ms) | p99 (ms) | RSS start (MiB) | RSS end (MiB) |\n");
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for (name, r) in [("native", native), ("cofaas", consolidated)] {
        s.push_str(&format!(
            "| {name} | {} | {} | {:.0} | {:.3} | {:.3} | {:.1} | {:.1} |\n",
            r.count,
            r.errors,
            r.rps,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.memory_start.rss_kib as f64 / 1024.0,
            r.memory_end.rss_kib as f64 / 1024.0,
        ));
    }
    s.push_str(&format!(
        "throughput ratio (cofaas / native): {:.2}x\n",
        consolidated.rps / native.rps
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_follow_the_convention() {
        assert_eq!(env_name("clock-go"), "CLOCK_GO");
        assert_eq!(env_name("front"), "FRONT");
    }

    #[test]
    fn ghz_reports_are_read() {
        let json = r#"{"count":10,"total":1000,"rps":123.5,
            "latencyDistribution":[{"percentage":50,"latency":2000000},{"percentage":99,"latency":5000000}],
            "statusCodeDistribution":{"OK":8,"Unavailable":2},"errorDistribution":{"x":2}}"#;
        let r: Report = serde_json::from_str(json).unwrap();
        assert_eq!((r.count, r.rps), (10, 123.5));
        let l = r.latency_distribution.unwrap();
        assert_eq!((l[1].percentage, l[1].latency), (99, 5_000_000));
        assert_eq!(r.status_code_distribution["Unavailable"], 2);
    }
}
