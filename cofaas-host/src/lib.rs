//! The runtime every generated cofaas host links: a wasmtime engine, the
//! composed component (AOT-compiled or not), the instance that serves
//! calls, and the tonic server in front of it.
//!
//! A generated host is a `bindgen!` of the app's top-level world, a tonic
//! handler per public service, and a `main` that calls [`run`]:
//!
//! ```no_run
//! # use cofaas_host::{Host, World, State};
//! # use cofaas_host::wasmtime::{self, component::InstancePre, Store};
//! # struct App;
//! # impl World for App {
//! #     type Pre = InstancePre<State>;
//! #     const LIFECYCLES: &'static [&'static str] = &[];
//! #     fn new_pre(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre> { Ok(pre) }
//! #     fn instantiate(pre: &Self::Pre, store: &mut Store<State>) -> wasmtime::Result<Self> {
//! #         pre.instantiate(store)?; Ok(App)
//! #     }
//! #     fn call_init(&self, _: &mut Store<State>, _: &str) -> wasmtime::Result<Result<(), String>> { Ok(Ok(())) }
//! # }
//! fn main() -> std::process::ExitCode {
//!     cofaas_host::run::<App>(|_host| cofaas_host::tonic::service::Routes::default())
//! }
//! ```
//!
//! Scope for now: ONE instance of the composed component, behind a
//! [`std::sync::Mutex`]; calls into it are serialised. A function that traps
//! poisons its instance (the component model forbids re-entering it), so
//! the host drops it and instantiates afresh (running every lifecycle
//! `init` again) on the next call; the trapping request gets `INTERNAL`.
#![deny(missing_docs)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, Mutex},
};

use wasmtime::{
    Config, Engine, Store,
    component::{Component, InstancePre, Linker, ResourceTable},
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use tokio;
pub use tonic;
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
    /// Linking or instantiating the component failed.
    #[error("cannot instantiate the component: {source:#}")]
    Instantiate {
        /// wasmtime's error.
        #[source]
        source: wasmtime::Error,
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
    /// A call into the component trapped.
    #[error("function trapped: {source:#}")]
    Trap {
        /// The trap.
        #[source]
        source: wasmtime::Error,
    },
    /// The blocking task running a call panicked or was cancelled.
    #[error("call into the component did not complete: {source}")]
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
    /// The gRPC server failed.
    #[error("gRPC server failed: {source}")]
    Serve {
        /// tonic's error.
        #[source]
        source: tonic::transport::Error,
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
            HostError::Trap { source } | HostError::InitTrap { source, .. } => {
                trap_to_status(&source)
            }
            other => tonic::Status::internal(other.to_string()),
        }
    }
}

/// A trap or other wasmtime error from a call → gRPC `INTERNAL`.
pub fn trap_to_status(err: &wasmtime::Error) -> tonic::Status {
    tonic::Status::internal(format!("function trapped: {err:#}"))
}

/// The data of every store: WASI context and resource table.
///
/// The guest gets stdout and stderr (its prints show in the host's output),
/// clocks and randomness; no stdin, no environment, no arguments, no
/// filesystem preopens and no sockets.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

impl State {
    /// A fresh store state.
    pub fn new() -> Self {
        let wasi = WasiCtx::builder()
            .inherit_stdout()
            .inherit_stderr()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
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

/// The app's top-level world, as `wasmtime::component::bindgen!` generated
/// it; the generated host implements this for the bindings' `App`.
pub trait World: Sized + Send + 'static {
    /// The pre-instantiated world (bindgen's `AppPre<State>`).
    type Pre: Send + Sync + 'static;
    /// The lifecycle interfaces the world exports, fully qualified
    /// (`cofaas:prodcon/producer-lifecycle`), in the order `init` runs.
    const LIFECYCLES: &'static [&'static str];
    /// Type-checks the world's exports once (`AppPre::new`).
    fn new_pre(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre>;
    /// Instantiates the world in `store` (`AppPre::instantiate`).
    fn instantiate(pre: &Self::Pre, store: &mut Store<State>) -> wasmtime::Result<Self>;
    /// Calls `init` of the lifecycle interface `lifecycle`, one of
    /// [`World::LIFECYCLES`].
    fn call_init(
        &self,
        store: &mut Store<State>,
        lifecycle: &str,
    ) -> wasmtime::Result<Result<(), String>>;
}

/// The engine configuration used both to precompile and to run components:
/// the two must agree for a `.cwasm` to load.
pub fn engine_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config
}

/// Compiles `wasm` ahead of time to `out` (a `.cwasm` that [`Host::load`]
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
/// is deserialised, anything else (a component binary) is compiled.
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
            component.map_err(err)
        }
        Some(wasmtime::Precompiled::Module) => Err(err(wasmtime::Error::msg(
            "this is a precompiled core module, not a component",
        ))),
        None => Component::from_file(engine, path).map_err(err),
    }
}

/// One live instance of the world.
struct Live<W> {
    store: Store<State>,
    world: W,
}

/// The composed component, instantiated once, and the means to call it.
pub struct Host<W: World> {
    engine: Engine,
    pre: W::Pre,
    /// `None` after a trap poisoned the instance: the next call re-creates it.
    instance: Mutex<Option<Live<W>>>,
}

impl<W: World> std::fmt::Debug for Host<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

impl<W: World> Host<W> {
    /// Loads the component at `path` (see [`load_component`]) with
    /// [`engine_config`], links WASI and instantiates it once, running
    /// every lifecycle `init`.
    pub fn load(path: &Path) -> Result<Self, HostError> {
        let engine = Engine::new(&engine_config()).map_err(|source| HostError::Load {
            path: path.to_path_buf(),
            source,
        })?;
        let component = load_component(&engine, path)?;
        Self::new(engine, &component)
    }

    /// Links WASI (preview 2, synchronous) for `component`, type-checks it
    /// against the world and instantiates it once, running every lifecycle
    /// `init`; fails naming the first function whose `init` fails.
    ///
    /// Call it outside an async context (WASI's synchronous bindings block
    /// on tokio), e.g. in [`tokio::task::spawn_blocking`].
    pub fn new(engine: Engine, component: &Component) -> Result<Self, HostError> {
        let inst = |source| HostError::Instantiate { source };
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(inst)?;
        let instance_pre = linker.instantiate_pre(component).map_err(inst)?;
        let pre = W::new_pre(instance_pre).map_err(inst)?;
        let host = Self {
            engine,
            pre,
            instance: Mutex::new(None),
        };
        let live = host.instantiate()?;
        *host.lock() = Some(live);
        Ok(host)
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Live<W>>> {
        // A panic while holding the lock leaves at worst a poisoned
        // instance, which `call` replaces.
        self.instance.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn instantiate(&self) -> Result<Live<W>, HostError> {
        let mut store = Store::new(&self.engine, State::new());
        let world = W::instantiate(&self.pre, &mut store)
            .map_err(|source| HostError::Instantiate { source })?;
        for lifecycle in W::LIFECYCLES {
            tracing::debug!(lifecycle, "init");
            match world.call_init(&mut store, lifecycle) {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    return Err(HostError::Init {
                        lifecycle: lifecycle.to_string(),
                        message,
                    });
                }
                Err(source) => {
                    return Err(HostError::InitTrap {
                        lifecycle: lifecycle.to_string(),
                        source,
                    });
                }
            }
        }
        Ok(Live { store, world })
    }

    /// Calls into the instance, synchronously, holding the instance's lock
    /// (calls are serialised). A trap drops the instance; the next call
    /// instantiates a fresh one.
    ///
    /// Blocks: call it outside an async context, as [`Host::call_blocking`] does.
    pub fn call<R>(
        &self,
        f: impl FnOnce(&W, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, HostError> {
        let mut slot = self.lock();
        if slot.is_none() {
            tracing::warn!("re-instantiating the component after a trap");
            *slot = Some(self.instantiate()?);
        }
        let live = slot.as_mut().expect("instantiated above");
        match f(&live.world, &mut live.store) {
            Ok(r) => Ok(r),
            Err(source) => {
                tracing::error!("function trapped: {source:#}");
                *slot = None;
                Err(HostError::Trap { source })
            }
        }
    }

    /// [`Host::call`] on tokio's blocking pool.
    ///
    /// Calls run in `spawn_blocking` rather than on the async worker: a call
    /// may run long (an entry calling other functions n times), and WASI's
    /// synchronous bindings block on tokio themselves, which panics on an
    /// async worker thread. The hop costs a few microseconds per request.
    pub async fn call_blocking<R, F>(self: &Arc<Self>, f: F) -> Result<R, HostError>
    where
        R: Send + 'static,
        F: FnOnce(&W, &mut Store<State>) -> wasmtime::Result<R> + Send + 'static,
    {
        let host = Arc::clone(self);
        tokio::task::spawn_blocking(move || host.call(f))
            .await
            .map_err(|source| HostError::Join { source })?
    }
}

/// Usage of a generated host.
pub const USAGE: &str = "usage: <host> --component <composed.wasm|composed.cwasm> [--listen <addr>] (default 127.0.0.1:50051)";

/// Command-line arguments of a generated host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Args {
    /// The composed component (`.wasm`, or `.cwasm` from [`precompile`]).
    pub component: PathBuf,
    /// Where to serve gRPC.
    pub listen: SocketAddr,
}

impl Args {
    /// Default listen address.
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

    /// Parses `--component <path> [--listen <addr>]` (also `--flag=value`).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, HostError> {
        let usage = |message: String| HostError::Usage { message };
        let mut component = None;
        let mut listen = None;
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| usage(format!("`{flag}` needs a value")))
            };
            match flag.as_str() {
                "--component" => component = Some(PathBuf::from(value()?)),
                "--listen" => {
                    let v = value()?;
                    listen = Some(
                        v.parse()
                            .map_err(|e| usage(format!("bad --listen address `{v}`: {e}")))?,
                    );
                }
                "-h" | "--help" => return Err(usage("help requested".into())),
                other => return Err(usage(format!("unexpected argument `{other}`"))),
            }
        }
        Ok(Self {
            component: component.ok_or_else(|| usage("--component is required".into()))?,
            listen: listen.unwrap_or_else(|| Self::DEFAULT_LISTEN.parse().expect("valid")),
        })
    }
}

/// Logs to stderr at the `RUST_LOG` level (default `info`). Idempotent.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Serves `routes` on `addr` until Ctrl-C or SIGTERM, then shuts down
/// gracefully. Prints `cofaas host listening on <addr>` to stderr once the
/// socket is bound (with the actual port when `addr` has port 0).
pub async fn serve(routes: tonic::service::Routes, addr: SocketAddr) -> Result<(), HostError> {
    serve_with_shutdown(routes, addr, shutdown_signal()).await
}

/// [`serve`] with a caller-chosen shutdown future.
pub async fn serve_with_shutdown(
    routes: tonic::service::Routes,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HostError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| HostError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| HostError::Bind { addr, source })?;
    eprintln!("cofaas host listening on {local}");
    tracing::info!(%local, "serving");
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|source| HostError::Serve { source })?;
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

/// The whole of a generated host's `main`: parses [`Args`] from the command
/// line, initialises tracing, loads and instantiates the component (running
/// every lifecycle `init`), builds the gRPC routes with `routes` and serves
/// them until Ctrl-C/SIGTERM. Errors are printed to stderr and give exit code 1.
pub fn run<W: World>(routes: impl FnOnce(Arc<Host<W>>) -> tonic::service::Routes) -> ExitCode {
    match try_run(std::env::args().skip(1), routes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cofaas host: {err}");
            ExitCode::FAILURE
        }
    }
}

/// [`run`] with explicit arguments and a `Result`.
pub fn try_run<W: World>(
    args: impl IntoIterator<Item = String>,
    routes: impl FnOnce(Arc<Host<W>>) -> tonic::service::Routes,
) -> Result<(), HostError> {
    let args = Args::parse(args)?;
    init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| HostError::Runtime { source })?;
    rt.block_on(async move {
        let path = args.component.clone();
        let started = std::time::Instant::now();
        let host = tokio::task::spawn_blocking(move || Host::<W>::load(&path))
            .await
            .map_err(|source| HostError::Join { source })??;
        tracing::info!(
            component = %args.component.display(),
            elapsed = ?started.elapsed(),
            "component loaded and initialised"
        );
        serve(routes(Arc::new(host)), args.listen).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A world with no exports at all, for the empty component.
    struct Empty;

    impl World for Empty {
        type Pre = InstancePre<State>;
        const LIFECYCLES: &'static [&'static str] = &[];
        fn new_pre(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre> {
            Ok(pre)
        }
        fn instantiate(pre: &Self::Pre, store: &mut Store<State>) -> wasmtime::Result<Self> {
            pre.instantiate(store)?;
            Ok(Empty)
        }
        fn call_init(&self, _: &mut Store<State>, _: &str) -> wasmtime::Result<Result<(), String>> {
            Ok(Ok(()))
        }
    }

    /// The binary of `(component)` (wasmtime's `wat` feature is off).
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    #[test]
    fn instantiates_an_empty_component_and_calls() {
        let engine = Engine::new(&engine_config()).unwrap();
        let component = Component::new(&engine, EMPTY_COMPONENT).unwrap();
        let host = Host::<Empty>::new(engine, &component).unwrap();
        assert_eq!(host.call(|_, _| Ok(7)).unwrap(), 7);
        let err = host.call(|_, _| -> wasmtime::Result<()> { Err(wasmtime::Error::msg("boom")) });
        let status = tonic::Status::from(err.unwrap_err());
        assert_eq!(status.code(), tonic::Code::Internal);
        assert_eq!(status.message(), "function trapped: boom");
        // The poisoned instance is replaced.
        assert_eq!(host.call(|_, _| Ok(8)).unwrap(), 8);
    }

    #[test]
    fn precompiled_components_load() {
        let dir = std::env::temp_dir().join(format!("cofaas-host-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wat = dir.join("empty.wasm");
        let cwasm = dir.join("empty.cwasm");
        std::fs::write(&wat, EMPTY_COMPONENT).unwrap();
        precompile(&engine_config(), &wat, &cwasm).unwrap();
        let engine = Engine::new(&engine_config()).unwrap();
        load_component(&engine, &wat).unwrap();
        load_component(&engine, &cwasm).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn args() {
        let a = Args::parse(["--component".into(), "x.cwasm".into()]).unwrap();
        assert_eq!(a.component, PathBuf::from("x.cwasm"));
        assert_eq!(a.listen.to_string(), "127.0.0.1:50051");
        let a = Args::parse(["--listen=0.0.0.0:1".into(), "--component=y".into()]).unwrap();
        assert_eq!(a.listen.to_string(), "0.0.0.0:1");
        assert!(Args::parse(["--nope".to_string()]).is_err());
        assert!(Args::parse(Vec::<String>::new()).is_err());
    }
}
