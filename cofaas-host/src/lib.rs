//! The runtime every generated cofaas host links: a wasmtime engine, the
//! app's units and their instances, and the gRPC server in front of them
//! (tonic services, served by hyper).
//!
//! `cofaas build` splits an app into *units* (see [`Deployment`]): every
//! function that keeps state (not `stateless = true` in `cofaas.toml`) is a
//! unit of its own with exactly one instance, shared by all requests as its
//! native process would be; the stateless functions connected by calls are
//! composed statically into one unit, which is *pooled*: up to
//! [`HostConfig::pool_size`] instances, each used by one request at a time.
//! Calls between units are host-mediated: the caller's import is a host
//! function that calls the callee unit's export.
//!
//! Every request runs with a deadline (the client's `grpc-timeout`, or
//! [`HostConfig::default_timeout`]) enforced by epoch interruption, a memory
//! cap per instance and, optionally, fuel. A trap fails only its request:
//! the instance is dropped and replaced, and the client gets `INTERNAL`
//! naming the function; a trap in a host-mediated callee reaches the caller
//! as the rpc's error status, leaving the caller's instance intact.
//!
//! A generated host is a `bindgen!` of the app's top-level world, an
//! [`Exports`] implementation loading its public interfaces, a tonic
//! handler per public service calling [`Host::call`], and a `main` that
//! calls [`run`]:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     let public = cofaas_host::Public { services: &[], file_descriptor_set: &[] };
//!     cofaas_host::run::<()>(public, |_host| Ok(cofaas_host::tonic::service::Routes::default()))
//! }
//! ```
#![deny(missing_docs)]

mod codec;
mod config;
mod deployment;
mod host;
mod metadata;
pub mod metrics;
mod remote;
mod streams;
mod trace;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Instant,
};

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    component::{Component, ResourceTable},
};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

pub use codec::{StrictDecoder, StrictProstCodec};
pub use config::{Args, HostConfig, USAGE, parse_grpc_timeout};
pub use deployment::{
    Capabilities, DEPLOYMENT_FILE, Deployment, DirGrant, FunctionSpec, RemoteSpec, UnitSpec,
};
pub use host::{
    CallSite, EPOCH_TICK, Edge, EdgeFactory, EdgeStream, Exports, Host, MemoryLimitExceeded,
    failure_status, link_rpc_context,
};
pub use metadata::{Inbound, Metadata, ResponseMetadata, to_headers};
pub use metrics::Metrics;
pub use remote::{
    CONNECT_TIMEOUT, PEERS_ENV, Peer, RemoteEdge, RemoteFactory, RemoteStream, parse_peer,
    parse_peers,
};
pub use streams::{Backoff, Replies, ReplyStream, Request, Requests};
pub use trace::{TraceParent, init_tracing, parse_traceparent};

pub use tokio;
pub use tonic;
pub use tonic_health;
pub use tonic_reflection;
pub use tracing;
pub use wasmtime;
pub use wasmtime_wasi;

/// Errors of the host runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The component file could not be loaded or compiled.
    #[error("cannot load component `{}`: {source:#}", path.display())]
    Load {
        /// The component file.
        path: PathBuf,
        /// wasmtime's error.
        #[source]
        source: wasmtime::Error,
    },
    /// The component could not be precompiled.
    #[error("cannot precompile `{}` to `{}`: {source:#}", wasm.display(), out.display())]
    Precompile {
        /// The component.
        wasm: PathBuf,
        /// The output file.
        out: PathBuf,
        /// What failed.
        #[source]
        source: wasmtime::Error,
    },
    /// Linking or instantiating a unit failed.
    #[error("cannot instantiate unit `{unit}`: {source:#}")]
    Instantiate {
        /// The unit.
        unit: String,
        /// wasmtime's error.
        #[source]
        source: wasmtime::Error,
    },
    /// The deployment description is unreadable or inconsistent.
    #[error("deployment `{}`: {message}", path.display())]
    Deployment {
        /// The deployment file (or directory).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A function's lifecycle `init` returned an error.
    #[error("function lifecycle `{lifecycle}` failed to initialise: {message}")]
    Init {
        /// The lifecycle interface (`cofaas:prodcon/producer-lifecycle`).
        lifecycle: String,
        /// The error the function returned.
        message: String,
    },
    /// A function's lifecycle `init` trapped.
    #[error("function lifecycle `{lifecycle}` trapped during init: {source:#}")]
    InitTrap {
        /// The lifecycle interface.
        lifecycle: String,
        /// The trap.
        #[source]
        source: wasmtime::Error,
    },
    /// The blocking task running the start-up panicked or was cancelled.
    #[error("start-up did not complete: {source}")]
    Join {
        /// tokio's error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// Bad command-line arguments.
    #[error("{message}\n{USAGE}")]
    Usage {
        /// What is wrong.
        message: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The app's descriptors do not make a reflection service (a bad
    /// encoded FileDescriptorSet).
    #[error("cannot serve reflection over the app's descriptors: {source}")]
    Reflection {
        /// What tonic-reflection reported.
        #[source]
        source: tonic_reflection::server::Error,
    },
    /// The tokio runtime could not be built.
    #[error("cannot start the async runtime: {source}")]
    Runtime {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl From<HostError> for tonic::Status {
    fn from(err: HostError) -> Self {
        match err {
            HostError::InitTrap { lifecycle, source } => failure_status(&lifecycle, &source),
            other => tonic::Status::internal(other.to_string()),
        }
    }
}

/// The name of the interface, in the app's WIT package, through which a
/// function learns its rpc's deadline and metadata and sets those of its
/// calls (proto2wit's `RPC_CONTEXT`).
pub const RPC_CONTEXT: &str = "rpc-context";

/// The data of every store: WASI context, resource table, memory limiter
/// and the deadline of the request being served.
///
/// The guest gets stdout and stderr (its prints show in the host's output),
/// clocks and randomness; no stdin and no arguments. Filesystem, sockets and
/// environment only as its unit's [`Capabilities`] grant.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: host::MemoryLimiter,
    /// Deadline of the request currently running in this store; host-mediated
    /// calls it makes carry it to the callee.
    pub(crate) deadline: Option<Instant>,
    /// The deadline the rpc being served carries: the client's
    /// `grpc-timeout`, or the caller's call deadline for a host-mediated
    /// call. What `rpc-context.deadline` tells the function.
    pub(crate) rpc_deadline: Option<Instant>,
    /// The deadline the function set for its next calls
    /// (`rpc-context.set-call-deadline`).
    pub(crate) call_deadline: Option<Instant>,
    /// Set when a host-mediated callee ran out of the request's time: its
    /// status, so that the caller, interrupted next, reports where the time
    /// went.
    pub(crate) expired_in: Option<String>,
    /// Request metadata waiting to be taken (`rpc-context`'s
    /// `take-request-metadata`): the rpc's when the store's call starts,
    /// then what the function set for its next call
    /// (`set-call-metadata`), which a host-mediated call takes to the
    /// callee and a composed callee takes itself.
    pub(crate) request_metadata: Metadata,
    /// Response headers and trailers waiting to be taken: what the rpc
    /// served set (`set-response-metadata`), or what a host-mediated callee
    /// answered, until the caller takes it (`take-response-metadata`).
    pub(crate) response_metadata: Option<ResponseMetadata>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

impl State {
    /// A fresh store state with `capabilities` and a memory cap of
    /// `memory_limit` bytes over all the store's linear memories.
    pub fn for_unit(capabilities: &Capabilities, memory_limit: usize) -> wasmtime::Result<Self> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr();
        if capabilities.network {
            // TCP and UDP are off by default in wasmtime-wasi: the grant
            // turns each on, and lets any address through.
            wasi.inherit_network()
                .allow_tcp(true)
                .allow_udp(true)
                .allow_ip_name_lookup(true);
        } else {
            wasi.allow_tcp(false)
                .allow_udp(false)
                .allow_ip_name_lookup(false);
        }
        for (k, v) in &capabilities.env {
            wasi.env(k, v);
        }
        for dir in &capabilities.dirs {
            let perms = if dir.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            wasi.preopened_dir(&dir.host, &dir.guest, perms)
                .map_err(|e| {
                    e.context(format!(
                        "cannot grant directory `{}` as `{}`",
                        dir.host.display(),
                        dir.guest
                    ))
                })?;
        }
        Ok(Self {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: host::MemoryLimiter::new(memory_limit),
            deadline: None,
            rpc_deadline: None,
            call_deadline: None,
            expired_in: None,
            request_metadata: Vec::new(),
            response_metadata: None,
        })
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The engine configuration used both to precompile and to run components:
/// the two must agree for a `.cwasm` to load.
///
/// Epoch interruption is always on (deadlines); fuel metering only with
/// `fuel`, as it slows every call. Component-model concurrency is off: no
/// host call is async, and it costs every host-mediated call.
pub fn engine_config(fuel: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(fuel);
    config.concurrency_support(false);
    config
}

/// [`engine_config`] plus the pooling instance allocator sized for
/// `config`: memories and instances are reserved up front and reused, which
/// makes instantiation (pool fill, trap replacement) cheap.
pub fn runtime_engine(config: &HostConfig) -> wasmtime::Result<Engine> {
    let mut engine = engine_config(config.fuel.is_some());
    let mut pool = PoolingAllocationConfig::default();
    // Generous: a composed unit holds several core instances and memories
    // per function, and nested host-mediated calls may briefly need
    // instances beyond the pool size.
    let slots = u32::try_from(config.pool_size.saturating_mul(4).max(64)).unwrap_or(u32::MAX);
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(16))
        .total_memories(slots.saturating_mul(8))
        .total_tables(slots.saturating_mul(8))
        .total_stacks(slots)
        .max_memory_size(config.memory_limit.saturating_add(1 << 16));
    engine.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // `COFAAS_PERFMAP=1` writes /tmp/perf-<pid>.map so that `perf report`
    // names the functions of compiled components.
    if std::env::var_os("COFAAS_PERFMAP").is_some_and(|v| v == "1") {
        engine.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&engine)
}

/// Compiles `wasm` ahead of time to `out` (a `.cwasm` that [`load_component`]
/// deserialises instead of compiling).
pub fn precompile(config: &Config, wasm: &Path, out: &Path) -> Result<(), HostError> {
    let err = |source| HostError::Precompile {
        wasm: wasm.to_path_buf(),
        out: out.to_path_buf(),
        source,
    };
    let engine = Engine::new(config).map_err(err)?;
    let bytes = std::fs::read(wasm).map_err(|e| err(e.into()))?;
    let compiled = engine.precompile_component(&bytes).map_err(err)?;
    std::fs::write(out, compiled).map_err(|e| err(e.into()))
}

/// Loads a component from a file: a `.cwasm` precompiled by [`precompile`]
/// is deserialised, anything else (a component binary) is compiled. A
/// `.cwasm` that this engine cannot use (built for another configuration,
/// e.g. without fuel) is skipped with a warning for the `.wasm` next to it.
pub fn load_component(engine: &Engine, path: &Path) -> Result<Component, HostError> {
    let err = |source| HostError::Load {
        path: path.to_path_buf(),
        source,
    };
    // `detect_precompiled_file` fails on anything that is not ELF, so look
    // at the magic first.
    let mut magic = [0u8; 4];
    {
        use std::io::Read;
        let mut file = std::fs::File::open(path).map_err(|e| err(e.into()))?;
        let _ = file.read(&mut magic).map_err(|e| err(e.into()))?;
    }
    let precompiled = if magic == *b"\x7fELF" {
        Engine::detect_precompiled_file(path).map_err(err)?
    } else {
        None
    };
    match precompiled {
        Some(wasmtime::Precompiled::Component) => {
            // SAFETY: precompiled artifacts are only ever produced by
            // `precompile` during `cofaas build`, from a component we
            // compiled ourselves, with the same engine configuration; the
            // header check above and wasmtime's own version and
            // configuration checks reject anything else.
            #[allow(unsafe_code)]
            let component = unsafe { Component::deserialize_file(engine, path) };
            let wasm = path.with_extension("wasm");
            match component {
                Ok(c) => Ok(c),
                Err(e) if wasm.is_file() => {
                    tracing::warn!(
                        "cannot use `{}` ({e:#}); compiling `{}` instead",
                        path.display(),
                        wasm.display()
                    );
                    Component::from_file(engine, &wasm).map_err(|source| HostError::Load {
                        path: wasm.clone(),
                        source,
                    })
                }
                Err(e) => Err(err(e)),
            }
        }
        Some(wasmtime::Precompiled::Module) => Err(err(wasmtime::Error::msg(
            "this is a precompiled core module, not a component",
        ))),
        None => Component::from_file(engine, path).map_err(err),
    }
}

/// Prints `cofaas host <what> <addr>` to stderr in one `write`, so that the
/// line stays whole even while guests write to the same stderr (their
/// output may still precede it on the same line).
fn announce(what: &str, addr: SocketAddr) {
    use std::io::Write;
    let line = format!("cofaas host {what} {addr}\n");
    // Nothing to do if stderr is gone.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Binds `addr` and [`announce`]s the address bound (the actual port when
/// `addr` has port 0) as `cofaas host <what> <addr>`; returns the listener
/// and that address.
async fn bind_announced(
    addr: SocketAddr,
    what: &str,
) -> Result<(tokio::net::TcpListener, SocketAddr), HostError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| HostError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| HostError::Bind { addr, source })?;
    announce(what, local);
    Ok((listener, local))
}

/// Serves `routes` on `addr` until Ctrl-C or SIGTERM, then shuts down
/// gracefully. Prints `cofaas host listening on <addr>` to stderr once the
/// socket is bound (with the actual port when `addr` has port 0).
pub async fn serve(routes: tonic::service::Routes, addr: SocketAddr) -> Result<(), HostError> {
    serve_with_shutdown(routes, addr, shutdown_signal()).await
}

/// [`serve`] with a caller-chosen shutdown future.
///
/// Connections are served by hyper's HTTP/2 server directly, not by
/// `tonic::transport::Server`: tonic's server enforces `grpc-timeout` itself
/// and answers `CANCELLED` when it fires, racing the host's own deadline,
/// which answers `DEADLINE_EXCEEDED` naming the function. Here the host's
/// deadline is the only one. On shutdown the listener closes, every
/// connection gets a GOAWAY, and in-flight requests finish.
pub async fn serve_with_shutdown(
    routes: tonic::service::Routes,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HostError> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

    let (listener, local) = bind_announced(addr, "listening on").await?;
    tracing::info!(%local, "serving");
    let service =
        hyper_util::service::TowerToHyperService::new(metadata::AppendTrailers(routes.prepare()));
    let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    http2.timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Err(err) = stream.set_nodelay(true) {
                        tracing::debug!(%peer, "cannot set TCP_NODELAY: {err}");
                    }
                    let connection = http2.serve_connection(TokioIo::new(stream), service.clone());
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(err) = connection.await {
                            tracing::debug!(%peer, "connection ended: {err}");
                        }
                    });
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!("cannot accept a connection: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested");
}

/// What a host serves publicly: the gRPC service names, and the app's
/// descriptors for server reflection.
#[derive(Debug, Clone, Copy)]
pub struct Public {
    /// The full names of the public gRPC services (`helloworld.Greeter`).
    pub services: &'static [&'static str],
    /// An encoded `google.protobuf.FileDescriptorSet` holding the files that
    /// define them, with all their imports.
    pub file_descriptor_set: &'static [u8],
}

/// The whole of a generated host's `main`: parses [`Args`] from the command
/// line, initialises tracing, starts the [`Host`] of the deployment (one
/// instance of every unit, `init`s run), builds the gRPC routes with
/// `routes`, adds `grpc.health.v1.Health` (SERVING for the public services
/// and for the server as a whole) and gRPC server reflection (v1 and
/// v1alpha, listing the public services, health and reflection; unless
/// `--no-reflection`), and serves until Ctrl-C/SIGTERM, then drains
/// in-flight requests and returns. Pools fill in the background. Errors are
/// printed to stderr and give exit code 1.
pub fn run<E: Exports>(
    public: Public,
    routes: impl FnOnce(Host<E>) -> Result<tonic::service::Routes, HostError>,
) -> ExitCode {
    match try_run(std::env::args().skip(1), public, routes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cofaas host: {err}");
            ExitCode::FAILURE
        }
    }
}

/// [`run`] with explicit arguments and a `Result`.
pub fn try_run<E: Exports>(
    args: impl IntoIterator<Item = String>,
    public: Public,
    routes: impl FnOnce(Host<E>) -> Result<tonic::service::Routes, HostError>,
) -> Result<(), HostError> {
    let mut args = Args::parse(args)?;
    // Peers from the environment, where no `--peer` names the service.
    if let Ok(list) = std::env::var(PEERS_ENV) {
        let from_env = parse_peers(&list).map_err(|message| HostError::Usage {
            message: format!("{PEERS_ENV}: {message}"),
        })?;
        for (service, url) in from_env {
            args.config.peers.entry(service).or_insert(url);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| HostError::Runtime { source })?;
    rt.block_on(async move {
        let spans = init_tracing(args.otlp.as_deref())?;
        let served = serve_app(args, public, routes).await;
        if let Some(provider) = spans {
            // Flushes the spans not exported yet (off the async workers:
            // the exporter's calls run on them).
            let shutdown = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(err)) = shutdown {
                tracing::warn!("cannot flush the trace spans: {err}");
            }
        }
        served
    })
}

/// The part of [`try_run`] inside the runtime, once tracing is set up.
async fn serve_app<E: Exports>(
    args: Args,
    public: Public,
    routes: impl FnOnce(Host<E>) -> Result<tonic::service::Routes, HostError>,
) -> Result<(), HostError> {
    {
        let started = Instant::now();
        let deployment = Deployment::load(&args.deployment)?;
        let base = args
            .deployment
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let engine = runtime_engine(&args.config).map_err(|source| HostError::Load {
            path: args.deployment.clone(),
            source,
        })?;
        let metrics = Arc::new(Metrics::default());
        let config = args.config.clone();
        let host = tokio::task::spawn_blocking(move || {
            Host::<E>::start(engine, &deployment, &base, config, metrics)
        })
        .await
        .map_err(|source| HostError::Join { source })??;
        tracing::info!(elapsed = ?started.elapsed(), "units instantiated and initialised");
        let filler = host.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(err) = filler.fill_pools() {
                tracing::warn!("cannot fill the instance pools: {err}");
            }
        });

        let services = host.served(public.services);
        let (reporter, health) = tonic_health::server::health_reporter();
        for service in std::iter::once("").chain(services.iter().map(String::as_str)) {
            reporter
                .set_service_status(service, tonic_health::ServingStatus::Serving)
                .await;
        }
        let mut routes = routes(host.clone())?.add_service(health);
        if args.reflection {
            routes = add_reflection(routes, public, &services)?;
        }
        if let Some(addr) = args.metrics {
            let (listener, local) = bind_announced(addr, "metrics on").await?;
            tracing::info!(%local, "serving metrics at /metrics");
            tokio::spawn(metrics::serve_metrics(listener, Arc::clone(host.metrics())));
        }
        let shutdown = async move {
            shutdown_signal().await;
            for service in std::iter::once("").chain(services.iter().map(String::as_str)) {
                reporter
                    .set_service_status(service, tonic_health::ServingStatus::NotServing)
                    .await;
            }
        };
        serve_with_shutdown(routes, args.listen, shutdown).await
    }
}

/// The full names of the reflection services.
const REFLECTION_SERVICES: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Adds gRPC server reflection, v1 and v1alpha, over the app's descriptors
/// and health's: it lists the public services, `grpc.health.v1.Health` and
/// itself, and describes any symbol of those files (internal services are
/// described when asked for by name, never listed).
fn add_reflection(
    routes: tonic::service::Routes,
    public: Public,
    services: &[String],
) -> Result<tonic::service::Routes, HostError> {
    let builder = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(public.file_descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        for name in services
            .iter()
            .map(String::as_str)
            .chain(["grpc.health.v1.Health"])
            .chain(REFLECTION_SERVICES)
        {
            b = b.with_service_name(name);
        }
        b
    };
    let err = |source| HostError::Reflection { source };
    let v1 = builder().build_v1().map_err(err)?;
    let v1alpha = builder().build_v1alpha().map_err(err)?;
    Ok(routes.add_service(v1).add_service(v1alpha))
}

/// The time the host gives a request with a `grpc-timeout` header: the
/// client's timeout less a margin (a fifth, between 5 and 100 ms), so that
/// the host's `DEADLINE_EXCEEDED`, which names the function that ran out of
/// time, reaches the client before the client's own timer gives up (a tenth,
/// at most 50 ms, was lost on a loaded two-core machine: the client saw its
/// own `CANCELLED` first).
pub fn request_timeout<T>(request: &tonic::Request<T>) -> Option<std::time::Duration> {
    let timeout = request
        .metadata()
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)?;
    let margin = (timeout / 5).clamp(
        std::time::Duration::from_millis(5),
        std::time::Duration::from_millis(100),
    );
    Some(timeout.saturating_sub(margin))
}
