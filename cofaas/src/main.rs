//! The `cofaas` command.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use cofaas::demo::{DemoOptions, run_demo, table};
use cofaas::pipeline::{BuildOptions, build};

#[derive(Parser)]
#[command(
    version,
    about = "Consolidate gRPC serverless functions into one WebAssembly component"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build an app: WIT, map, components, units, deployment.json and host, under target/cofaas/<app>/.
    Build {
        /// App directory (holding cofaas.toml).
        app: PathBuf,
        /// Build the host with the dev profile (faster to build, slower to run).
        #[arg(long)]
        debug_host: bool,
        /// How calls between stateless functions are linked: `auto` (per
        /// edge, by message types), `fused` (composed statically) or
        /// `mediated` (through the host).
        #[arg(long, default_value = "auto")]
        link: cofaas::units::LinkMode,
    },
    /// Build an app and serve its public interface.
    Run {
        /// App directory (holding cofaas.toml).
        app: PathBuf,
        /// Address to serve on.
        #[arg(long, default_value = "127.0.0.1:50051")]
        listen: SocketAddr,
        /// How calls between stateless functions are linked (auto, fused, mediated).
        #[arg(long, default_value = "auto")]
        link: cofaas::units::LinkMode,
        /// Build the host with the dev profile (faster to build, slower to run).
        #[arg(long)]
        debug_host: bool,
        /// For an app placed on several nodes: run this node (its
        /// `nodes/<node>/deployment.json`).
        #[arg(long)]
        node: Option<String>,
        /// Where a service served elsewhere is, `package.Service=http://host:port`
        /// (repeatable; `COFAAS_PEERS` too).
        #[arg(long = "peer", value_name = "SERVICE=URL")]
        peers: Vec<String>,
        /// Further host options after `--`, e.g. `-- --pool-size 8 --timeout-ms 500
        /// --memory-mib 64 --metrics 127.0.0.1:9090` (see the host's `--help`).
        #[arg(last = true)]
        host_args: Vec<String>,
    },
    /// Write Kubernetes manifests for an app: a Knative Serving Service per
    /// node (or a Deployment and Service with `--plain`) and a Containerfile
    /// per node building its host image from the build outputs.
    Deploy {
        /// What to write.
        #[arg(value_enum)]
        target: DeployTarget,
        /// App directory (holding cofaas.toml).
        app: PathBuf,
        /// Output directory.
        #[arg(short, long)]
        out: PathBuf,
        /// A Deployment and a Service per node instead of a Knative Service.
        #[arg(long)]
        plain: bool,
        /// Kubernetes namespace.
        #[arg(long, default_value = "default")]
        namespace: String,
        /// Image repository prefix (`<prefix>/<app>-<node>:latest`).
        #[arg(long, default_value = "registry.local/cofaas")]
        image_prefix: String,
        /// Requests a host executes at once (its `--max-concurrent`, the
        /// Knative `containerConcurrency`).
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Where an external function is, `function=http://host:port`
        /// (repeatable; default `http://<function>.<namespace>.svc.cluster.local:80`).
        #[arg(long = "external", value_name = "FUNCTION=URL")]
        externals: Vec<String>,
    },
    /// Propose a placement of the app's functions on nodes from measured
    /// traffic (a host's metrics), keeping the heaviest edges local.
    Plan {
        /// App directory (holding cofaas.toml).
        app: PathBuf,
        /// The host's metrics: a file, or `http://host:port/metrics`. Profile a
        /// `--link mediated` build so that every edge is seen.
        #[arg(long)]
        metrics: String,
        /// Nodes to place the functions on.
        #[arg(long)]
        nodes: usize,
        /// Memory per node, MiB (from the metrics' unit memory).
        #[arg(long)]
        max_memory_mib: Option<f64>,
    },
    /// Build prodcon both ways, run both, and compare them.
    Demo {
        /// App directory.
        #[arg(long, default_value = "examples/prodcon")]
        app: PathBuf,
        /// Requests per row.
        #[arg(long, default_value_t = 300)]
        requests: usize,
        /// Show the functions' and host's logs.
        #[arg(long)]
        verbose: bool,
    },
    /// The paper's experiments (round trips, inter-function latency,
    /// throughput, cold start, memory) or a long load run, native against
    /// consolidated, on a prodcon-style app (release builds of both).
    Bench {
        /// App directory.
        #[arg(default_value = "examples/prodcon")]
        app: PathBuf,
        /// Which experiment.
        #[arg(long, value_enum, default_value_t = Experiment::Paper)]
        experiment: Experiment,
        /// A reduced matrix (n in {1, 10, 20}, m in {1, 16, 512} KiB, fewer
        /// requests) that runs in under two minutes once built.
        #[arg(long)]
        quick: bool,
        /// Where to write the rows as CSV (default: `bench.csv` in the
        /// app's build directory, `target/cofaas/<app>/`).
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Where to write the rows as JSON (default: `bench.json` there).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Where to plot the round-trip speedup per payload size, as SVG
        /// (default: `bench.svg` there).
        #[arg(long)]
        plot: Option<PathBuf>,
        /// How calls between stateless functions are linked (auto, fused, mediated).
        #[arg(long, default_value = "auto")]
        link: cofaas::units::LinkMode,
        /// Load: requests in total.
        #[arg(long, default_value_t = 200_000)]
        requests: usize,
        /// Load: concurrent clients.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Load: inter-function calls per request.
        #[arg(long, default_value_t = 10)]
        calls: u32,
        /// Load: KiB per call.
        #[arg(long, default_value_t = 1)]
        kib: u32,
        /// ghz: the method to call, `package.Service.Method`.
        #[arg(long, default_value = "helloworld.Greeter.SayHello")]
        call: String,
        /// ghz: the request, as protobuf JSON.
        #[arg(long, default_value = r#"{"name":"load","calls":1,"payloadKib":1}"#)]
        data: String,
        /// A workload file (TOML, or JSON by its `.json` extension): one
        /// `[[call]]` per ghz run (`method`, `request` as protobuf JSON,
        /// `concurrency`, `requests`), each against the native app, then the
        /// consolidated host, on any app. Checked against the app's protos
        /// before anything is built. Replaces `--experiment`.
        #[arg(long, value_name = "FILE")]
        workload: Option<PathBuf>,
    },
    /// Map .proto files to a WIT package.
    Wit {
        /// .proto files.
        files: Vec<PathBuf>,
        /// Include dirs.
        #[arg(short = 'I', long = "include")]
        includes: Vec<PathBuf>,
        /// Write `<dir>/<package>.wit` and `<dir>/map.json` instead of printing.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Leave streaming rpcs out, with a warning each, instead of mapping
        /// them to resources.
        #[arg(long)]
        skip_streaming: bool,
        /// Map enums open (a variant keeping unnamed numbers).
        #[arg(long)]
        open_enums: bool,
        /// Refuse recursive messages instead of encoding their back-edges.
        #[arg(long)]
        reject_recursion: bool,
        /// Map `map<K, V>` to WIT `map<K, V>` (not yet usable by `cofaas build`).
        #[arg(long)]
        wit_maps: bool,
    },
    /// Compose components: the first is the entry (unless the plan says
    /// otherwise); prints the wiring chosen.
    Link {
        /// The entry component, then the others. Inputs are named after
        /// their file stems.
        #[arg(required = true)]
        components: Vec<PathBuf>,
        /// Output file.
        #[arg(short, long)]
        out: PathBuf,
        /// A wiring plan (TOML: `entries`, `exports`, `[[provide]]`).
        #[arg(long)]
        plan: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// What `cofaas deploy` writes.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DeployTarget {
    /// Knative Serving (or plain Kubernetes with `--plain`).
    Knative,
}

/// Experiments of `cofaas bench`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Experiment {
    /// Round trips, inter-function latency, throughput, cold start, memory.
    Paper,
    /// A long load run: errors, throughput, memory before and after.
    Load,
    /// A load run with ghz (the standard gRPC load tool, installed with `go
    /// install`) on any app: `--call` and `--data` say what to send; the
    /// native functions are started by the convention of `cofaas::ghz`.
    Ghz,
    /// One remote edge (the app placed on two hosts by the app's
    /// `cofaas-split.toml`) against one native gRPC hop, and round trips
    /// natively, on one host and on two.
    Remote,
    /// A server stream read by an outside client (1 and 16 KiB messages):
    /// time per message, messages per second, time to the first message.
    /// The app must serve `tick.Ticker/Count`, as
    /// `cofaas/tests/fixtures/ticker` does.
    Stream,
}

/// `cofaas bench --experiment stream`: the stream experiment against the
/// native app, then against the consolidated host (release builds).
fn bench_stream(
    app: &std::path::Path,
    opts: &BuildOptions,
    artifacts: &cofaas::pipeline::Artifacts,
    quick: bool,
) -> anyhow::Result<ExitCode> {
    let bins = cofaas::demo::build_native_app(app, &opts.cargo_target_dir, true)?;
    let native = cofaas::ghz::start_native_app(app, &bins, false)?;
    let host = cofaas::demo::start_host(artifacts, None, &[], false)?;
    let (n, repeats) = if quick { (2_000, 3) } else { (20_000, 7) };
    let rt = tokio::runtime::Runtime::new()?;
    let rows = rt.block_on(cofaas::bench::run_stream(
        native.addr,
        host.addr,
        n,
        repeats,
        |step| eprintln!("cofaas bench: {step}"),
    ))?;
    print!("{}", cofaas::bench::paper_table(&rows));
    Ok(ExitCode::SUCCESS)
}

/// `cofaas bench --workload` and `--experiment ghz`: each call by ghz
/// against the native app, then all of them against the consolidated host
/// (release builds of both); the rows in call order.
fn bench_calls(
    app: &std::path::Path,
    opts: &BuildOptions,
    artifacts: &cofaas::pipeline::Artifacts,
    calls: Vec<cofaas::workload::Resolved>,
) -> anyhow::Result<Vec<cofaas::workload::Row>> {
    use cofaas::ghz;
    let bins = cofaas::demo::build_native_app(app, &opts.cargo_target_dir, true)?;
    let tools = opts.cargo_target_dir.join("tools");
    eprintln!("cofaas bench: installing {}", ghz::GHZ);
    let ghz_bin = ghz::install_go_tool(&tools, "ghz", ghz::GHZ)?;
    let protoset = artifacts.dir.join("ghz.protoset");
    ghz::write_protoset(app, &protoset)?;
    let (_, manifest) = cofaas::manifest::Manifest::load(app)?;
    let mut native = Vec::new();
    {
        let n = ghz::start_native_app(app, &bins, false)?;
        for c in &calls {
            eprintln!(
                "cofaas bench: {} against the native app ({} requests)",
                c.label, c.requests
            );
            // The function serving the call's service, which need not be
            // the first entry.
            let addr = manifest
                .exporter(&c.service)
                .and_then(|f| n.addrs.get(f).copied())
                .unwrap_or(n.addr);
            native.push(ghz::load(
                &c.ghz_options(&ghz_bin, &protoset),
                addr,
                &n.pids(),
            )?);
        }
    }
    let mut rows = Vec::new();
    let mut h = cofaas::demo::start_host(artifacts, None, &[], false)?;
    let pid = h.process().id();
    for (c, n) in calls.into_iter().zip(native) {
        eprintln!(
            "cofaas bench: {} against the consolidated host ({} requests)",
            c.label, c.requests
        );
        let options = c.ghz_options(&ghz_bin, &protoset);
        let consolidated = ghz::load(&options, h.addr, &[pid])?;
        rows.push(cofaas::workload::Row {
            call: c,
            options,
            native: n,
            consolidated,
        });
    }
    Ok(rows)
}

/// The error and its causes, each said once: a cause that its error's own
/// message already contains (a wrapper such as `proto2wit: <cause>`) is not
/// repeated after it.
fn message(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// The exit code of a command stopped by `sig` (its children stopped and
/// reaped by then: dropping their guards does it), as a shell reports it.
fn stopped_by(sig: cofaas::proc::Signal) -> ExitCode {
    eprintln!("cofaas: stopped by {sig}");
    ExitCode::from(128 + sig as u8)
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Build {
            app,
            debug_host,
            link,
        } => {
            let mut opts = BuildOptions::new(app);
            opts.release_host = !debug_host;
            opts.link = link;
            let a = build(&opts)?;
            println!("built {}", a.dir.display());
        }
        Cmd::Run {
            app,
            listen,
            link,
            debug_host,
            node,
            peers,
            host_args,
        } => {
            let mut opts = BuildOptions::new(app);
            opts.link = link;
            opts.release_host = !debug_host;
            let a = build(&opts)?;
            let deployment = match &node {
                None => a.deployment.clone(),
                Some(node) => a.nodes.get(node).cloned().ok_or_else(|| {
                    let known: Vec<&str> = a.nodes.keys().map(String::as_str).collect();
                    anyhow::anyhow!(
                        "the app has no node `{node}` (its nodes: {})",
                        if known.is_empty() {
                            "none, no function has `node = ...`".to_string()
                        } else {
                            known.join(", ")
                        }
                    )
                })?,
            };
            let mut host = std::process::Command::new(&a.host_bin);
            host.arg("--deployment")
                .arg(&deployment)
                .arg("--listen")
                .arg(listen.to_string());
            for peer in &peers {
                cofaas_host::parse_peer(peer).map_err(|e| anyhow::anyhow!("--peer: {e}"))?;
                host.arg("--peer").arg(peer);
            }
            host.args(&host_args);
            // SIGINT and SIGTERM go to the host, which drains; its exit
            // code is ours.
            let code = cofaas::proc::run_forwarding_signals(host)?;
            if code != 0 {
                eprintln!("cofaas run: the host exited with code {code}");
            }
            return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
        }
        Cmd::Deploy {
            target: DeployTarget::Knative,
            app,
            out,
            plain,
            namespace,
            image_prefix,
            concurrency,
            externals,
        } => {
            let (_, manifest) = cofaas::manifest::Manifest::load(&app)?;
            let mut input = cofaas::deploy::DeployInput::new(manifest.app.name.clone());
            input.namespace = namespace;
            input.image_prefix = image_prefix;
            input.container_concurrency = concurrency;
            input.plain = plain;
            input.nodes = cofaas::deploy::nodes_of(&manifest);
            for e in &externals {
                let (function, url) = e
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--external `{e}` is not `function=url`"))?;
                if !manifest
                    .functions
                    .get(function)
                    .is_some_and(|f| f.is_external())
                {
                    anyhow::bail!(
                        "--external `{e}`: `{function}` is not an external function of the app"
                    );
                }
                input
                    .externals
                    .insert(function.to_string(), url.to_string());
            }
            let files = cofaas::deploy::render(&input)?;
            cofaas::deploy::write(&out, &files)
                .with_context(|| format!("writing {}", out.display()))?;
            for path in files.keys() {
                println!("wrote {}", out.join(path).display());
            }
            println!(
                "build the images from `cofaas build {}` (target/cofaas/{}/) with the Containerfiles",
                app.display(),
                manifest.app.name
            );
        }
        Cmd::Plan {
            app,
            metrics,
            nodes,
            max_memory_mib,
        } => {
            let (_, manifest) = cofaas::manifest::Manifest::load(&app)?;
            let text = cofaas::plan::fetch_metrics(&metrics)?;
            let profile = cofaas::plan::parse_metrics(&text)?;
            let memory = cofaas::plan::memory_from_metrics(&text);
            let functions = cofaas::plan::functions_of(&manifest, &memory);
            let mut options = cofaas::plan::PlanOptions::new(nodes);
            options.max_memory_mib = max_memory_mib;
            let proposed = cofaas::plan::propose(&functions, &profile, &options)?;
            let current = cofaas::plan::current_placement(&functions, &profile);
            print!("{}", cofaas::plan::render(&current, &proposed, &functions));
        }
        Cmd::Demo {
            app,
            requests,
            verbose,
        } => {
            let mut opts = DemoOptions::new(app);
            opts.requests = requests;
            opts.build.verbose = verbose;
            let rt = tokio::runtime::Runtime::new()?;
            let rows = rt.block_on(async {
                let mut signals = cofaas::proc::Terminations::install()?;
                tokio::select! {
                    rows = run_demo(&opts) => rows.map(Ok),
                    sig = signals.recv() => Ok(Err(sig)),
                }
            })?;
            match rows {
                Ok(rows) => print!("{}", table(&rows)),
                Err(sig) => return Ok(stopped_by(sig)),
            }
        }
        Cmd::Bench {
            app,
            experiment,
            quick,
            csv,
            json,
            plot,
            link,
            requests,
            concurrency,
            calls,
            kib,
            call,
            data,
            workload,
        } => {
            // The ghz calls (a workload, or `--call` with `--data`) are
            // checked against the app's protos first, so that a mistake in
            // them costs no build.
            let ghz_calls = match (&workload, experiment) {
                (Some(path), _) => Some(cofaas::workload::Workload::load(path)?),
                (None, Experiment::Ghz) => Some(cofaas::workload::Workload::new(vec![
                    cofaas::workload::Call::new(call, data, concurrency, requests),
                ])),
                _ => None,
            }
            .map(|w| w.check(&cofaas::workload::descriptors(&app)?))
            .transpose()?;
            let mut opts = BuildOptions::new(&app);
            opts.verbose = false;
            opts.link = link;
            eprintln!("cofaas bench: building {} (release)...", app.display());
            let artifacts = build(&opts)?;
            if let Some(calls) = ghz_calls {
                let rows = bench_calls(&app, &opts, &artifacts, calls)?;
                match (&workload, rows.as_slice()) {
                    (None, [row]) => print!(
                        "{}",
                        cofaas::ghz::table(&row.options, &row.native, &row.consolidated)
                    ),
                    _ => print!("{}", cofaas::workload::table(&rows)),
                }
                return Ok(ExitCode::SUCCESS);
            }
            if experiment == Experiment::Stream {
                return bench_stream(&app, &opts, &artifacts, quick);
            }
            let split = if experiment == Experiment::Remote {
                let mut split_opts = BuildOptions::new(app.join("cofaas-split.toml"));
                split_opts.verbose = false;
                split_opts.link = link;
                Some(build(&split_opts)?)
            } else {
                None
            };
            let bins = cofaas::demo::build_native(&app, &opts.cargo_target_dir, true)?;
            let rt = tokio::runtime::Runtime::new()?;
            let stopped = rt.block_on(async {
                let mut signals = cofaas::proc::Terminations::install()?;
                let work = async {
                    match experiment {
                        Experiment::Paper => {
                            let paper = if quick {
                                cofaas::bench::PaperOptions::quick()
                            } else {
                                cofaas::bench::PaperOptions::full()
                            };
                            let started = std::time::Instant::now();
                            let rows =
                                cofaas::bench::run_paper(&bins, &artifacts, &paper, |step| {
                                    eprintln!("cofaas bench: {step}")
                                })
                                .await?;
                            eprintln!("cofaas bench: measured in {:.0?}", started.elapsed());
                            print!("{}", cofaas::bench::paper_table(&rows));
                            let csv = csv.unwrap_or_else(|| artifacts.dir.join("bench.csv"));
                            std::fs::write(&csv, cofaas::bench::paper_csv(&rows))
                                .with_context(|| format!("writing {}", csv.display()))?;
                            let json = json.unwrap_or_else(|| artifacts.dir.join("bench.json"));
                            std::fs::write(&json, serde_json::to_string_pretty(&rows)?)
                                .with_context(|| format!("writing {}", json.display()))?;
                            let plot = plot.unwrap_or_else(|| artifacts.dir.join("bench.svg"));
                            cofaas::bench::paper_plot(&rows, &plot)?;
                            for path in [&csv, &json, &plot] {
                                eprintln!("cofaas bench: wrote {}", path.display());
                            }
                        }
                        // Run by `bench_calls` and `bench_stream` above.
                        Experiment::Ghz | Experiment::Stream => {}
                        Experiment::Remote => {
                            let split = split.as_ref().context("the split app was not built")?;
                            let paper = if quick {
                                cofaas::bench::PaperOptions::quick()
                            } else {
                                cofaas::bench::PaperOptions::full()
                            };
                            let rows = cofaas::bench::run_remote(
                                &bins,
                                &artifacts,
                                split,
                                &paper,
                                |step| eprintln!("cofaas bench: {step}"),
                            )
                            .await?;
                            print!("{}", cofaas::bench::paper_table(&rows));
                        }
                        Experiment::Load => {
                            let mut lo = cofaas::bench::LoadOptions::default();
                            lo.requests = requests;
                            lo.concurrency = concurrency;
                            lo.calls = calls;
                            lo.kib = kib;
                            let (n, c) = cofaas::bench::load_both(&bins, &artifacts, lo).await?;
                            print!("{}", cofaas::bench::load_table(&lo, &n, &c));
                        }
                    }
                    anyhow::Ok(())
                };
                tokio::select! {
                    r = work => r.map(|()| None),
                    sig = signals.recv() => Ok(Some(sig)),
                }
            })?;
            if let Some(sig) = stopped {
                return Ok(stopped_by(sig));
            }
        }
        Cmd::Wit {
            files,
            includes,
            out,
            skip_streaming,
            open_enums,
            reject_recursion,
            wit_maps,
        } => {
            let fds = proto2wit::compile_protos(&files, &includes).map_err(|e| {
                let snippet = cofaas::pipeline::source_snippet(&e, &includes).unwrap_or_default();
                anyhow::anyhow!("{e}{snippet}")
            })?;
            let mut opts = proto2wit::Options::default();
            opts.skip_streaming = skip_streaming;
            opts.open_enums = open_enums;
            opts.reject_recursion = reject_recursion;
            opts.wit_maps = wit_maps;
            let output = proto2wit::generate(&fds, None, &opts)?;
            for w in &output.warnings {
                eprintln!("warning: {w}");
            }
            match out {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)?;
                    let name = output.map.wit_package.replace(':', "-");
                    std::fs::write(dir.join(format!("{name}.wit")), &output.wit)?;
                    std::fs::write(dir.join("map.json"), output.map.to_json())?;
                }
                None => print!("{}", output.wit),
            }
        }
        Cmd::Link {
            components,
            out,
            plan,
        } => {
            let mut inputs = Vec::new();
            for path in &components {
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                inputs.push(component_linker::Input { name, bytes });
            }
            let plan = match plan {
                Some(path) => cofaas::link_plan::read(&path, &inputs[0].name)?,
                None => cofaas::link_plan::parse("", &inputs[0].name)?,
            };
            let linked = component_linker::link(&inputs, &plan)?;
            for w in &linked.wiring {
                println!("{w}");
            }
            std::fs::write(&out, &linked.component)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
