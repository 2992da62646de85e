//! Units, their instances, and calls into them.

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        Arc, OnceLock, Weak,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{Code, Status};
use tracing::Instrument as _;
use wasmtime::{
    Engine, Store, StoreContextMut, Trap, WasmBacktrace,
    component::{
        ComponentExportIndex, ComponentNamedList, Instance, InstancePre, Lift, Linker, Lower,
        TypedFunc, Val, types::ComponentItem,
    },
};

mod leased;

pub use leased::EdgeStream;

use crate::{
    HostConfig, HostError, Inbound, Metadata, ResponseMetadata, State,
    deployment::{Deployment, FunctionSpec, UnitSpec},
    load_component,
    metrics::{Histogram, Metrics},
    remote::{Peer, RemoteFactory},
};

/// How often the engine's epoch advances; deadlines are checked at this
/// granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The typed exports of the app's public services, as the generated host
/// loads them from an instance (`bindgen!`'s `GuestIndices` and `Guest` of
/// each public interface).
pub trait Exports: Sized + Send + 'static {
    /// Per-unit export indices, looked up once per unit.
    type Indices: Send + Sync + 'static;
    /// Looks up, in a unit's component, the public interfaces it exports;
    /// fails if one of them has the wrong type.
    fn indices(pre: &InstancePre<State>) -> wasmtime::Result<Self::Indices>;
    /// Registers the functions of `interface`, which another unit
    /// exports, as typed host-mediated calls (host-gen generates this);
    /// `Ok(false)` leaves them to the dynamic (`Val`) path.
    fn link_mediated(
        linker: &mut Linker<State>,
        interface: &str,
        edges: &EdgeFactory,
    ) -> wasmtime::Result<bool> {
        let _ = (linker, interface, edges);
        Ok(false)
    }
    /// Registers the functions of `interface`, which a peer serves (a
    /// service on another node, or an external function), as remote calls
    /// over gRPC (host-gen generates this); `Ok(false)` if the host has no
    /// types for the interface.
    fn link_remote(
        linker: &mut Linker<State>,
        interface: &str,
        remote: &RemoteFactory,
    ) -> wasmtime::Result<bool> {
        let _ = (linker, interface, remote);
        Ok(false)
    }
    /// Loads the typed exports of a fresh instance.
    fn load(
        indices: &Self::Indices,
        store: &mut Store<State>,
        instance: &Instance,
    ) -> wasmtime::Result<Self>;
}

/// No typed exports (a host driving units only dynamically).
impl Exports for () {
    type Indices = ();
    fn indices(_: &InstancePre<State>) -> wasmtime::Result<()> {
        Ok(())
    }
    fn load(_: &(), _: &mut Store<State>, _: &Instance) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// A public method: the exported interface and function a gRPC method is
/// served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSite {
    /// Fully qualified WIT interface, e.g. `cofaas:prodcon/helloworld-greeter`.
    pub interface: &'static str,
    /// WIT function name, e.g. `say-hello`.
    pub function: &'static str,
    /// gRPC method path for metrics, e.g. `helloworld.Greeter/SayHello`.
    pub method: &'static str,
}

/// One live instance with its own store: used by one request at a time.
struct Slot<E> {
    /// Unique among every instance the host made: a stream leased on a
    /// stateful unit's instance knows the instance it lives in.
    id: u64,
    store: Store<State>,
    instance: Instance,
    exports: E,
    /// Typed functions of host-mediated edges into this instance, by edge.
    typed: TypedCache,
}

/// Typed callee functions, looked up once per instance and edge.
type TypedCache = HashMap<u64, Box<dyn std::any::Any + Send>>;

/// What a host-mediated call runs on the callee's instance.
type InSlot<'a> =
    dyn FnMut(&mut Store<State>, &Instance, &mut TypedCache) -> wasmtime::Result<()> + 'a;

enum Slots<E> {
    /// A stateless unit: up to `capacity` idle instances, `permits` bounding
    /// the public requests running in it.
    Pool {
        free: parking_lot::Mutex<Vec<Slot<E>>>,
        permits: Arc<Semaphore>,
        capacity: usize,
    },
    /// A stateful unit: exactly one instance, `None` after it trapped until
    /// the next call re-creates it.
    Single(parking_lot::Mutex<Option<Slot<E>>>),
}

struct Unit<E: Exports> {
    spec: UnitSpec,
    pre: InstancePre<State>,
    indices: E::Indices,
    /// `init` of each function's lifecycle interface.
    lifecycles: Vec<(String, ComponentExportIndex)>,
    /// The function exporting each interface.
    owners: HashMap<String, String>,
    slots: Slots<E>,
    live: AtomicUsize,
}

struct Inner<E: Exports> {
    engine: Engine,
    config: HostConfig,
    units: Vec<Unit<E>>,
    /// Exported interface → unit.
    exporters: HashMap<String, usize>,
    inflight: Arc<Semaphore>,
    queued: AtomicUsize,
    metrics: Arc<Metrics>,
    /// What each public call site resolves to, looked up once per site
    /// (keyed by the address of its `'static` [`CallSite`]).
    sites: parking_lot::Mutex<HashMap<usize, Arc<Site>>>,
    /// The services served over gRPC ([`Deployment::serves`]); `None`: the
    /// public ones.
    serves: Option<Vec<String>>,
}

/// A public call site, resolved: its unit, the function owning the
/// interface, and its histograms, so that serving a request allocates
/// nothing for bookkeeping.
struct Site {
    unit: usize,
    owner: String,
    ok: Arc<Histogram>,
    failed: Arc<Histogram>,
    /// Request latency by gRPC code (`Code as usize`, 0..=16).
    by_code: [OnceLock<Arc<Histogram>>; 17],
}

/// The app's units, instantiated, and the means to call them.
pub struct Host<E: Exports> {
    inner: Arc<Inner<E>>,
}

impl<E: Exports> Clone for Host<E> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E: Exports> std::fmt::Debug for Host<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field(
                "units",
                &self
                    .inner
                    .units
                    .iter()
                    .map(|u| &u.spec.name)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Memory cap of one instance (its store) exceeded.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes (it tried to grow to {requested} bytes)")]
pub struct MemoryLimitExceeded {
    /// The cap.
    pub limit: usize,
    /// What the instance would have had.
    pub requested: usize,
}

/// Counts the linear memory of one store against a cap, and into its
/// unit's total (the `cofaas_unit_memory_bytes` gauge) while it lives.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit: usize,
    used: usize,
    unit_total: Option<Arc<AtomicU64>>,
}

impl MemoryLimiter {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            used: 0,
            unit_total: None,
        }
    }

    /// Counts this store's memory into `total` from now on.
    pub(crate) fn count_into(&mut self, total: Arc<AtomicU64>) {
        total.fetch_add(self.used as u64, Ordering::Relaxed);
        self.unit_total = Some(total);
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        if let Some(total) = &self.unit_total {
            total.fetch_sub(self.used as u64, Ordering::Relaxed);
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let requested = self.used.saturating_add(desired.saturating_sub(current));
        if requested > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.limit,
                requested,
            }));
        }
        if let Some(total) = &self.unit_total {
            total.fetch_add((requested - self.used) as u64, Ordering::Relaxed);
        }
        self.used = requested;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        tracing::debug!("memory growth failed: {error:#}");
        Err(wasmtime::Error::new(MemoryLimitExceeded {
            limit: self.limit,
            requested: self.used,
        }))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

fn ticks_until(deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now());
    (left.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64 + 1
}

fn find<T: std::error::Error + Send + Sync + 'static>(err: &wasmtime::Error) -> Option<&T> {
    err.downcast_ref::<T>()
        .or_else(|| err.chain().find_map(|e| e.downcast_ref::<T>()))
}

/// Whether the demangled `symbol` is a path in crate `krate`.
fn mentions_crate(symbol: &str, krate: &str) -> bool {
    symbol.match_indices(krate).any(|(i, _)| {
        symbol[i + krate.len()..].starts_with("::")
            && symbol[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// The gRPC status for an error from a call into `function` (a trap or a
/// limit): `DEADLINE_EXCEEDED` for the epoch deadline, `RESOURCE_EXHAUSTED`
/// for memory and fuel, `INTERNAL` with the trap message otherwise.
pub fn failure_status(function: &str, err: &wasmtime::Error) -> Status {
    if let Some(limit) = find::<MemoryLimitExceeded>(err) {
        return Status::resource_exhausted(format!("function `{function}` exceeded its {limit}"));
    }
    match find::<Trap>(err) {
        Some(Trap::Interrupt) => Status::deadline_exceeded(format!(
            "deadline exceeded while function `{function}` was running"
        )),
        Some(Trap::OutOfFuel) => {
            Status::resource_exhausted(format!("function `{function}` ran out of fuel"))
        }
        Some(trap) => Status::internal(format!("function `{function}` trapped: {trap}")),
        // A Go panic (or `os.Exit`, `log.Fatal`) ends the instance through
        // WASI's `proc_exit`: a trap for the caller, as a process exit is
        // natively.
        None if let Some(exit) = find::<wasmtime_wasi::I32Exit>(err) => Status::internal(format!(
            "function `{function}` exited with status {} (a panic, or an exit)",
            exit.0
        )),
        None => Status::internal(format!(
            "function `{function}` failed: {}",
            err.root_cause()
        )),
    }
}

/// A gRPC status as the WIT `result` error `rpc-status` a function import
/// returns.
fn status_val(status: &Status) -> Val {
    Val::Result(Err(Some(Box::new(Val::Record(vec![
        ("code".to_string(), Val::S32(status.code() as i32)),
        (
            "message".to_string(),
            Val::String(status.message().to_string()),
        ),
        (
            "details".to_string(),
            Val::List(status.details().iter().map(|&b| Val::U8(b)).collect()),
        ),
    ])))))
}

impl<E: Exports> Unit<E> {
    fn name(&self) -> &str {
        &self.spec.name
    }

    /// The function a failure happened in: the unit's only function, or
    /// the innermost frame of the wasm backtrace that belongs to one of its
    /// functions' crates.
    fn culprit(&self, err: &wasmtime::Error) -> String {
        if let [only] = self.spec.functions.as_slice() {
            return only.name.clone();
        }
        if let Some(bt) = err.downcast_ref::<WasmBacktrace>() {
            for frame in bt.frames() {
                // wasm-ld names a module after its output file, the
                // crate's; symbols name their crate once demangled.
                let module = frame.module().name().map(|m| m.trim_end_matches(".wasm"));
                let symbol = frame
                    .func_name()
                    .map(|s| rustc_demangle::demangle(s).to_string());
                if let Some(f) = self.spec.functions.iter().find(|f| {
                    module == Some(f.crate_name.as_str())
                        || symbol
                            .as_deref()
                            .is_some_and(|s| mentions_crate(s, &f.crate_name))
                }) {
                    return f.name.clone();
                }
            }
        }
        tracing::debug!(
            unit = self.name(),
            "no function found in the backtrace of: {err:?}"
        );
        let names: Vec<&str> = self
            .spec
            .functions
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        format!("one of {}", names.join(", "))
    }

    fn instantiate(&self, inner: &Inner<E>) -> Result<Slot<E>, HostError> {
        let unit = self.name().to_string();
        let inst = |source| HostError::Instantiate {
            unit: unit.clone(),
            source,
        };
        let mut state =
            State::for_unit(&self.spec.capabilities, inner.config.memory_limit).map_err(inst)?;
        state
            .limiter
            .count_into(inner.metrics.unit_memory(self.name()));
        let mut store = Store::new(&inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(ticks_until(Instant::now() + inner.config.init_timeout));
        if inner.config.fuel.is_some() {
            store.set_fuel(u64::MAX).map_err(inst)?;
        }
        let instance = self.pre.instantiate(&mut store).map_err(inst)?;
        for (lifecycle, index) in &self.lifecycles {
            tracing::debug!(unit, lifecycle, "init");
            let init = instance
                .get_typed_func::<(), (Result<(), String>,)>(&mut store, index)
                .map_err(inst)?;
            match init.call(&mut store, ()) {
                Ok((Ok(()),)) => {}
                Ok((Err(message),)) => {
                    return Err(HostError::Init {
                        lifecycle: lifecycle.clone(),
                        message,
                    });
                }
                Err(source) => {
                    return Err(HostError::InitTrap {
                        lifecycle: lifecycle.clone(),
                        source,
                    });
                }
            }
        }
        let exports = E::load(&self.indices, &mut store, &instance).map_err(inst)?;
        self.live.fetch_add(1, Ordering::Relaxed);
        static IDS: AtomicU64 = AtomicU64::new(0);
        Ok(Slot {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            store,
            instance,
            exports,
            typed: HashMap::new(),
        })
    }

    /// Runs `f` on one of the unit's instances, with the request's deadline.
    /// A pooled unit takes an idle instance (or makes one); a stateful unit
    /// waits for its only instance, at most until the deadline. An instance
    /// whose call fails is dropped; the next call replaces it.
    fn with_slot<R>(
        &self,
        inner: &Inner<E>,
        deadline: Instant,
        rpc: Rpc,
        f: impl FnOnce(&mut Slot<E>) -> wasmtime::Result<R>,
    ) -> Result<R, (String, Status)> {
        let fail = |err: HostError| (self.name().to_string(), Status::from(err));
        match &self.slots {
            Slots::Pool { free, capacity, .. } => {
                let idle = free.lock().pop();
                let mut slot = match idle {
                    Some(slot) => slot,
                    None => self.instantiate(inner).map_err(fail)?,
                };
                match self.run(inner, &mut slot, deadline, rpc, f) {
                    Ok(r) => {
                        let mut free = free.lock();
                        if free.len() < *capacity {
                            free.push(slot);
                        } else {
                            self.live.fetch_sub(1, Ordering::Relaxed);
                        }
                        Ok(r)
                    }
                    Err(failure) => {
                        self.live.fetch_sub(1, Ordering::Relaxed);
                        Err(failure)
                    }
                }
            }
            Slots::Single(only) => {
                let Some(mut guard) = only.try_lock_until(deadline) else {
                    return Err((
                        self.name().to_string(),
                        Status::deadline_exceeded(format!(
                            "deadline exceeded waiting for `{}` (one instance, busy)",
                            self.name()
                        )),
                    ));
                };
                let slot = match &mut *guard {
                    Some(slot) => slot,
                    empty => {
                        tracing::info!(unit = self.name(), "instantiating");
                        empty.insert(self.instantiate(inner).map_err(fail)?)
                    }
                };
                let result = self.run(inner, slot, deadline, rpc, f);
                if result.is_err() {
                    *guard = None;
                    self.live.fetch_sub(1, Ordering::Relaxed);
                }
                result
            }
        }
    }

    fn run<R>(
        &self,
        inner: &Inner<E>,
        slot: &mut Slot<E>,
        deadline: Instant,
        rpc: Rpc,
        f: impl FnOnce(&mut Slot<E>) -> wasmtime::Result<R>,
    ) -> Result<R, (String, Status)> {
        if Instant::now() >= deadline {
            return Err((
                self.name().to_string(),
                Status::deadline_exceeded(format!(
                    "deadline exceeded before `{}` was called",
                    self.name()
                )),
            ));
        }
        let data = slot.store.data_mut();
        data.deadline = Some(deadline);
        data.rpc_deadline = rpc.deadline;
        data.call_deadline = None;
        data.expired_in = None;
        data.request_metadata = rpc.metadata;
        data.response_metadata = None;
        slot.store.set_epoch_deadline(ticks_until(deadline));
        if let Some(fuel) = inner.config.fuel
            && let Err(err) = slot.store.set_fuel(fuel)
        {
            return Err((self.name().to_string(), failure_status(self.name(), &err)));
        }
        let result = f(slot);
        let expired_in = slot.store.data_mut().expired_in.take();
        result.map_err(|err| {
            let culprit = self.culprit(&err);
            if let (Some(message), Some(Trap::Interrupt)) = (expired_in, find::<Trap>(&err)) {
                // The time ran out in a host-mediated callee; the caller was
                // only interrupted after it.
                return (culprit, Status::deadline_exceeded(message));
            }
            let status = failure_status(&culprit, &err);
            tracing::error!(
                unit = self.name(),
                function = culprit,
                "{}",
                status.message()
            );
            inner.metrics.trap(&culprit);
            (culprit, status)
        })
    }
}

impl<E: Exports> Host<E> {
    /// Loads every unit of `deployment` (component paths relative to
    /// `base`), links each unit's imports of other units' exports as
    /// host-mediated calls and WASI (preview 2, synchronous) for the rest,
    /// and instantiates one instance of each unit (running every function's
    /// lifecycle `init`). Pooled units are filled up to the pool size later
    /// by [`Host::fill_pools`] or on demand.
    ///
    /// Blocks: call it outside an async context.
    pub fn start(
        engine: Engine,
        deployment: &Deployment,
        base: &Path,
        config: HostConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, HostError> {
        deployment
            .check()
            .map_err(|message| HostError::Deployment {
                path: base.to_path_buf(),
                message,
            })?;
        let components = deployment
            .units
            .iter()
            .map(|unit| load_component(&engine, &Deployment::component_path(base, unit)))
            .collect::<Result<Vec<_>, _>>()?;

        // Which unit exports what.
        let mut exporters = HashMap::new();
        let mut exported: Vec<Vec<String>> = Vec::new();
        for (i, component) in components.iter().enumerate() {
            let mut mine = Vec::new();
            for (name, item) in component.component_type().exports(&engine) {
                if let ComponentItem::ComponentInstance(_) = item.ty {
                    mine.push(name.to_string());
                    if let Some(other) = exporters.insert(name.to_string(), i) {
                        return Err(HostError::Deployment {
                            path: base.to_path_buf(),
                            message: format!(
                                "units `{}` and `{}` both export `{name}`",
                                deployment.units[other].name, deployment.units[i].name
                            ),
                        });
                    }
                }
            }
            exported.push(mine);
        }

        // One peer per service served elsewhere, shared by every unit
        // calling it.
        let mut peers: HashMap<String, Arc<Peer>> = HashMap::new();
        for remote in &deployment.remote {
            if let Some(url) = config.peers.get(&remote.service) {
                let peer = Peer::new(url).map_err(|message| HostError::Deployment {
                    path: base.to_path_buf(),
                    message,
                })?;
                peers.insert(remote.service.clone(), Arc::new(peer));
            }
        }

        let registry: Registry = Arc::default();
        let edge_ids = AtomicU64::new(0);
        let mut units = Vec::with_capacity(components.len());
        for (i, (spec, component)) in deployment.units.iter().zip(&components).enumerate() {
            let inst = |source| HostError::Instantiate {
                unit: spec.name.clone(),
                source,
            };
            let mut linker = Linker::<State>::new(&engine);
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(inst)?;
            link_deadline_clocks(&mut linker).map_err(inst)?;
            for (import, item) in component.component_type().imports(&engine) {
                if import.rsplit('/').next() == Some(crate::RPC_CONTEXT) {
                    link_rpc_context(&mut linker, import).map_err(inst)?;
                    continue;
                }
                let Some(&callee) = exporters.get(import) else {
                    if let Some(remote) = deployment.remote.iter().find(|r| r.interface == import) {
                        let Some(peer) = peers.get(&remote.service) else {
                            return Err(HostError::Deployment {
                                path: base.to_path_buf(),
                                message: format!(
                                    "unit `{}` calls `{}`, served {}, and no peer address is given for it: \
                                     pass `--peer {}=http://host:port` or set {}",
                                    spec.name,
                                    remote.service,
                                    match &remote.node {
                                        Some(node) =>
                                            format!("by `{}` on node `{node}`", remote.function),
                                        None => format!(
                                            "by the external function `{}`",
                                            remote.function
                                        ),
                                    },
                                    remote.service,
                                    crate::PEERS_ENV,
                                ),
                            });
                        };
                        let factory = RemoteFactory {
                            peer: Arc::clone(peer),
                            caller: spec.name.clone(),
                            owner: remote.function.clone(),
                            interface: import.to_string(),
                            default_timeout: config.default_timeout,
                            metrics: Arc::clone(&metrics),
                        };
                        if !E::link_remote(&mut linker, import, &factory).map_err(inst)? {
                            return Err(inst(wasmtime::Error::msg(format!(
                                "the host has no remote calls for `{import}` (was it generated for this app?)"
                            ))));
                        }
                        tracing::debug!(
                            caller = spec.name,
                            import,
                            peer = peer.url(),
                            "remote edge"
                        );
                    }
                    continue; // WASI, or unresolved: instantiate_pre names it.
                };
                if callee == i {
                    continue;
                }
                let ComponentItem::ComponentInstance(ty) = item.ty else {
                    continue;
                };
                let edges = EdgeFactory {
                    registry: Arc::clone(&registry),
                    callee,
                    callee_component: components[callee].clone(),
                    caller: spec.name.clone(),
                    owner: owner_of(&deployment.units[callee], import),
                    interface: import.to_string(),
                    metrics: Arc::clone(&metrics),
                    ids: &edge_ids,
                };
                if E::link_mediated(&mut linker, import, &edges).map_err(inst)? {
                    tracing::debug!(caller = spec.name, import, "typed host-mediated edge");
                    continue;
                }
                let mut instance = linker.instance(import).map_err(inst)?;
                for (func, _) in ty.exports(&engine) {
                    let edge = edges.edge(func);
                    instance
                        .func_new(func, move |store, _ty, params, results| {
                            edge.call_dynamic(store, params, results)
                        })
                        .map_err(inst)?;
                }
            }
            let pre = linker.instantiate_pre(component).map_err(inst)?;
            let indices = E::indices(&pre).map_err(inst)?;
            let mut lifecycles = Vec::new();
            for f in &spec.functions {
                let index = component
                    .get_export_index(None, &f.lifecycle)
                    .and_then(|i| component.get_export_index(Some(&i), "init"))
                    .ok_or_else(|| {
                        inst(wasmtime::Error::msg(format!(
                            "function `{}` does not export `{}#init`",
                            f.name, f.lifecycle
                        )))
                    })?;
                lifecycles.push((f.lifecycle.clone(), index));
            }
            let owners = exported[i]
                .iter()
                .map(|interface| (interface.clone(), owner_of(spec, interface)))
                .collect();
            let slots = if spec.stateless {
                Slots::Pool {
                    free: parking_lot::Mutex::new(Vec::new()),
                    permits: Arc::new(Semaphore::new(config.pool_size)),
                    capacity: config.pool_size,
                }
            } else {
                Slots::Single(parking_lot::Mutex::new(None))
            };
            units.push(Unit {
                spec: spec.clone(),
                pre,
                indices,
                lifecycles,
                owners,
                slots,
                live: AtomicUsize::new(0),
            });
        }

        start_epoch_ticker(&engine);
        let inner = Arc::new(Inner {
            engine,
            inflight: Arc::new(Semaphore::new(config.max_concurrent)),
            config,
            units,
            exporters,
            queued: AtomicUsize::new(0),
            metrics,
            sites: parking_lot::Mutex::new(HashMap::new()),
            // A node of a placed app serves exactly its list, even an empty
            // one; an app on one node without a list serves the public
            // services.
            serves: (deployment.node.is_some() || !deployment.serves.is_empty())
                .then(|| deployment.serves.clone()),
        });
        let units: Arc<dyn Units> = inner.clone();
        let _ = registry.set(Arc::downgrade(&units));

        // One instance of every unit now, so that a broken `init` fails
        // the start and the first request is served warm.
        for unit in &inner.units {
            let slot = unit.instantiate(&inner)?;
            match &unit.slots {
                Slots::Pool { free, .. } => free.lock().push(slot),
                Slots::Single(only) => *only.lock() = Some(slot),
            }
        }
        Ok(Self { inner })
    }

    /// Instantiates pooled units up to the pool size (running `init` for
    /// each new instance). Blocks; [`crate::try_run`] runs it in the
    /// background once the host serves.
    pub fn fill_pools(&self) -> Result<(), HostError> {
        for unit in &self.inner.units {
            if let Slots::Pool { free, capacity, .. } = &unit.slots {
                while unit.live.load(Ordering::Relaxed) < *capacity {
                    let slot = unit.instantiate(&self.inner)?;
                    free.lock().push(slot);
                }
            }
        }
        Ok(())
    }

    /// Whether the host serves gRPC service `service` (`package.Service`):
    /// one of [`Deployment::serves`], or, when that is empty, a public one.
    pub fn serves(&self, service: &str, public: bool) -> bool {
        match &self.inner.serves {
            Some(served) => served.iter().any(|s| s == service),
            None => public,
        }
    }

    /// The gRPC services the host serves: [`Deployment::serves`], or
    /// `public` when that is empty.
    pub fn served(&self, public: &[&str]) -> Vec<String> {
        match &self.inner.serves {
            Some(served) => served.clone(),
            None => public.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The host's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Live instances per unit, by unit name.
    pub fn live_instances(&self) -> Vec<(String, usize)> {
        self.inner
            .units
            .iter()
            .map(|u| (u.spec.name.clone(), u.live.load(Ordering::Relaxed)))
            .collect()
    }

    /// Serves one public call: waits (bounded by the queue limit and the
    /// deadline) for a free request slot and an instance of the unit
    /// exporting `site.interface`, then runs `f` on that instance's store
    /// on tokio's blocking pool. `timeout` is the client's `grpc-timeout`,
    /// if any; [`HostConfig::default_timeout`] otherwise. The request
    /// metadata of `inbound` is what the function's rpc carries; the
    /// response headers and trailers it set come back with `f`'s result.
    ///
    /// Traps and limit violations fail this call only: the instance is
    /// dropped and replaced, and the status says which function failed.
    pub async fn call<R, F>(
        &self,
        site: &'static CallSite,
        inbound: Inbound,
        f: F,
    ) -> Result<(R, ResponseMetadata), Status>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store<State>, &E) -> wasmtime::Result<R> + Send + 'static,
    {
        let started = Instant::now();
        let Inbound { timeout, metadata } = inbound;
        let span = crate::trace::rpc_span(site.method, &metadata);
        let deadline = started + timeout.unwrap_or(self.inner.config.default_timeout);
        // The rpc's own deadline (what a Go handler's context carries) is the
        // client's, if it sent one; the host's default is only enforced.
        let rpc = Rpc {
            deadline: timeout.map(|t| started + t),
            metadata,
        };
        let resolved = self.site(site)?;
        let result = self
            .call_inner(&resolved, deadline, rpc, f)
            .instrument(span)
            .await;
        let code = match &result {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        };
        if let Some(slot) = resolved.by_code.get(code as usize) {
            slot.get_or_init(|| self.inner.metrics.request(site.method, code))
                .observe(started.elapsed());
        }
        result
    }

    /// The resolution of `site`, computed on its first call.
    fn site(&self, site: &'static CallSite) -> Result<Arc<Site>, Status> {
        let key = site as *const CallSite as usize;
        if let Some(found) = self.inner.sites.lock().get(&key) {
            return Ok(Arc::clone(found));
        }
        let inner = &self.inner;
        let &unit = inner.exporters.get(site.interface).ok_or_else(|| {
            Status::unimplemented(format!("no unit exports `{}`", site.interface))
        })?;
        let owner = inner.units[unit]
            .owners
            .get(site.interface)
            .cloned()
            .unwrap_or_else(|| inner.units[unit].spec.name.clone());
        let resolved = Arc::new(Site {
            unit,
            ok: inner.metrics.function(&owner, site.function, "ok"),
            failed: inner.metrics.function(&owner, site.function, "error"),
            owner,
            by_code: std::array::from_fn(|_| OnceLock::new()),
        });
        inner.sites.lock().insert(key, Arc::clone(&resolved));
        Ok(resolved)
    }

    async fn call_inner<R, F>(
        &self,
        site: &Site,
        deadline: Instant,
        rpc: Rpc,
        f: F,
    ) -> Result<(R, ResponseMetadata), Status>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store<State>, &E) -> wasmtime::Result<R> + Send + 'static,
    {
        let inner = &self.inner;
        let unit_index = site.unit;
        let inflight = self.admit(Arc::clone(&inner.inflight), deadline).await?;
        let unit = &inner.units[unit_index];
        let pool_permit = match &unit.slots {
            Slots::Pool { permits, .. } => Some(self.admit(Arc::clone(permits), deadline).await?),
            Slots::Single(_) => None,
        };
        let host = Arc::clone(inner);
        let started = Instant::now();
        let span = tracing::Span::current();
        let outcome = tokio::task::spawn_blocking(move || {
            let _permits = (inflight, pool_permit);
            let _span = span.enter();
            let unit = &host.units[unit_index];
            unit.with_slot(&host, deadline, rpc, |slot| {
                let r = f(&mut slot.store, &slot.exports)?;
                let response = slot.store.data_mut().response_metadata.take();
                Ok((r, response.unwrap_or_default()))
            })
        })
        .await
        .map_err(|e| {
            Status::internal(format!("call into `{}` did not complete: {e}", site.owner))
        })?;
        match &outcome {
            Ok(_) => site.ok.observe(started.elapsed()),
            Err(_) => site.failed.observe(started.elapsed()),
        }
        outcome.map_err(|(_, status)| status)
    }

    /// Takes a permit of `semaphore`, waiting in the bounded queue if none
    /// is free: `RESOURCE_EXHAUSTED` when the queue is full,
    /// `DEADLINE_EXCEEDED` when the deadline passes while waiting.
    async fn admit(
        &self,
        semaphore: Arc<Semaphore>,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, Status> {
        if let Ok(permit) = Arc::clone(&semaphore).try_acquire_owned() {
            return Ok(permit);
        }
        let inner = &self.inner;
        if inner.queued.fetch_add(1, Ordering::AcqRel) >= inner.config.max_queue {
            inner.queued.fetch_sub(1, Ordering::AcqRel);
            inner.metrics.rejected();
            return Err(Status::resource_exhausted(format!(
                "server busy: {} requests running and {} queued",
                inner.config.max_concurrent, inner.config.max_queue
            )));
        }
        let waited = tokio::time::timeout_at(deadline.into(), semaphore.acquire_owned()).await;
        inner.queued.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(Status::unavailable("the host is shutting down")),
            Err(_) => Err(Status::deadline_exceeded(
                "deadline exceeded while queued for an instance",
            )),
        }
    }
}

/// The function of `unit` that exports `interface` (the unit's name if no
/// function claims it).
fn owner_of(unit: &UnitSpec, interface: &str) -> String {
    let mut owner = unit
        .functions
        .iter()
        .filter(|f: &&FunctionSpec| f.exports.iter().any(|e| e == interface));
    match (owner.next(), owner.next()) {
        (Some(f), None) => f.name.clone(),
        _ => unit.name.clone(),
    }
}

/// What the rpc a store serves brings in: the deadline its caller set (if
/// any) and its request metadata.
pub(crate) struct Rpc {
    pub(crate) deadline: Option<Instant>,
    pub(crate) metadata: Metadata,
}

/// The WASI monotonic clock the host defines (wasmtime-wasi's version).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Replaces WASI's `subscribe-duration` and `subscribe-instant` with
/// versions that never wait past the deadline of the request the store
/// serves. Epoch interruption cannot stop a guest while it waits inside the
/// host (a Rust `thread::sleep`, a Go `time.Sleep`, a poll with a timeout);
/// with the wait cut short at the deadline, the guest runs again and the
/// next epoch check fails the call with `DEADLINE_EXCEEDED`, as for a
/// guest that computes too long. Waits that end before the deadline are
/// unchanged.
fn link_deadline_clocks(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    use wasmtime_wasi::clocks::WasiClocksView;
    use wasmtime_wasi::p2::bindings::clocks::monotonic_clock::Host;
    // The store's deadline, as the longest wait allowed now; inside a
    // composed unit, also the deadline of the call being made into a fused
    // callee (which runs in the caller's store), so that the callee's waits
    // end when the caller's timeout does, as the caller stops waiting then
    // natively.
    fn cap(data: &State, wait: Duration) -> Duration {
        let limit = match (data.deadline, data.call_deadline) {
            (Some(d), Some(c)) => Some(d.min(c)),
            (d, c) => d.or(c),
        };
        match limit {
            Some(d) => wait.min(d.saturating_duration_since(Instant::now())),
            None => wait,
        }
    }
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        move |mut store: StoreContextMut<'_, State>, (wait,): (u64,)| {
            let wait = cap(store.data(), Duration::from_nanos(wait));
            let mut clocks = store.data_mut().clocks();
            Ok((clocks.subscribe_duration(nanos(wait))?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        move |mut store: StoreContextMut<'_, State>, (when,): (u64,)| {
            let now = store.data_mut().clocks().now()?;
            let wait = cap(store.data(), Duration::from_nanos(when.saturating_sub(now)));
            let mut clocks = store.data_mut().clocks();
            Ok((clocks.subscribe_duration(nanos(wait))?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Provides the rpc-context interface `import` ([`crate::RPC_CONTEXT`]) of a
/// unit: `deadline` is the deadline of the rpc the store serves (or, inside
/// a composed unit, the one its caller just set for the call), and
/// `set-call-deadline` records the deadline of the function's next calls,
/// which host-mediated calls carry to and enforce on the callee.
///
/// Metadata is taken, never copied: `take-request-metadata` hands the
/// function its rpc's metadata (or, inside a composed unit, what the caller
/// just set with `set-call-metadata`) and leaves none, so none reaches a
/// call the function makes unless it sets it; `take-response-metadata`
/// likewise hands over what the callee set with `set-response-metadata`.
pub fn link_rpc_context(linker: &mut Linker<State>, import: &str) -> wasmtime::Result<()> {
    let mut instance = linker.instance(import)?;
    instance.func_wrap(
        "deadline",
        |store: StoreContextMut<'_, State>, (): ()| -> wasmtime::Result<(Option<u64>,)> {
            let data = store.data();
            let left = data.call_deadline.or(data.rpc_deadline).map(|d| {
                let left = d.saturating_duration_since(Instant::now()).as_nanos();
                u64::try_from(left).unwrap_or(u64::MAX)
            });
            Ok((left,))
        },
    )?;
    instance.func_wrap(
        "set-call-deadline",
        |mut store: StoreContextMut<'_, State>, (remaining,): (Option<u64>,)| {
            store.data_mut().call_deadline =
                remaining.and_then(|ns| Instant::now().checked_add(Duration::from_nanos(ns)));
            Ok(())
        },
    )?;
    instance.func_wrap(
        "take-request-metadata",
        |mut store: StoreContextMut<'_, State>, (): ()| -> wasmtime::Result<(Metadata,)> {
            Ok((std::mem::take(&mut store.data_mut().request_metadata),))
        },
    )?;
    instance.func_wrap(
        "set-call-metadata",
        |mut store: StoreContextMut<'_, State>, (metadata,): (Metadata,)| {
            store.data_mut().request_metadata = metadata;
            Ok(())
        },
    )?;
    instance.func_wrap(
        "set-response-metadata",
        |mut store: StoreContextMut<'_, State>, (response,): (ResponseMetadata,)| {
            store.data_mut().response_metadata = Some(response);
            Ok(())
        },
    )?;
    instance.func_wrap(
        "take-response-metadata",
        |mut store: StoreContextMut<'_, State>, (): ()| -> wasmtime::Result<(ResponseMetadata,)> {
            Ok((store
                .data_mut()
                .response_metadata
                .take()
                .unwrap_or_default(),))
        },
    )?;
    Ok(())
}

/// The units, as host-mediated calls reach them (type-erased over the
/// host's [`Exports`]).
trait Units: Send + Sync {
    /// Runs `f` on an instance of unit `unit` (see `Unit::with_slot`).
    /// Returns the response metadata the callee set.
    fn run_in(
        &self,
        unit: usize,
        deadline: Instant,
        rpc: Rpc,
        f: &mut InSlot<'_>,
    ) -> Result<Option<ResponseMetadata>, Status>;
    /// [`HostConfig::default_timeout`].
    fn default_timeout(&self) -> Duration;
    /// An instance of unit `unit` for a stream across a host-mediated
    /// edge (taken on the lease's first call).
    fn lease(self: Arc<Self>, unit: usize) -> Box<dyn leased::Lease>;
}

impl<E: Exports> Units for Inner<E> {
    fn run_in(
        &self,
        unit: usize,
        deadline: Instant,
        rpc: Rpc,
        f: &mut InSlot<'_>,
    ) -> Result<Option<ResponseMetadata>, Status> {
        self.units[unit]
            .with_slot(self, deadline, rpc, |slot| {
                f(&mut slot.store, &slot.instance, &mut slot.typed)?;
                Ok(slot.store.data_mut().response_metadata.take())
            })
            .map_err(|(_, status)| status)
    }

    fn default_timeout(&self) -> Duration {
        self.config.default_timeout
    }

    fn lease(self: Arc<Self>, unit: usize) -> Box<dyn leased::Lease> {
        leased::lease(self, unit)
    }
}

/// Where host-mediated calls find the units once the host is built.
type Registry = Arc<OnceLock<Weak<dyn Units>>>;

/// Makes the [`Edge`]s of one imported interface: its functions, called by
/// one unit and served by another. Generated hosts get one in
/// [`Exports::link_mediated`].
pub struct EdgeFactory<'a> {
    registry: Registry,
    callee: usize,
    callee_component: wasmtime::component::Component,
    caller: String,
    owner: String,
    interface: String,
    metrics: Arc<Metrics>,
    ids: &'a AtomicU64,
}

impl std::fmt::Debug for EdgeFactory<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeFactory")
            .field("caller", &self.caller)
            .field("callee", &self.owner)
            .field("interface", &self.interface)
            .finish_non_exhaustive()
    }
}

impl EdgeFactory<'_> {
    /// The edge of function `function` of the interface.
    pub fn edge(&self, function: &str) -> Edge {
        let index = self
            .callee_component
            .get_export_index(None, &self.interface)
            .and_then(|i| self.callee_component.get_export_index(Some(&i), function));
        Edge {
            registry: Arc::clone(&self.registry),
            id: self.ids.fetch_add(1, Ordering::Relaxed),
            callee: self.callee,
            index,
            caller: self.caller.clone(),
            interface: self.interface.clone(),
            function: function.to_string(),
            latency: self.metrics.edge(&self.caller, &self.owner, function),
            ok: self.metrics.function(&self.owner, function, "ok"),
            failed: self.metrics.function(&self.owner, function, "error"),
        }
    }
}

/// One host-mediated function: `caller`'s import of `interface#function`,
/// served by the callee unit's export. A failure in the callee (trap,
/// deadline, limit) is handed to the caller as the rpc's error status, so
/// the caller's instance is unharmed, as a native caller would get an error
/// from a crashed server.
pub struct Edge {
    registry: Registry,
    id: u64,
    callee: usize,
    index: Option<ComponentExportIndex>,
    caller: String,
    interface: String,
    function: String,
    latency: Arc<Histogram>,
    ok: Arc<Histogram>,
    failed: Arc<Histogram>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("caller", &self.caller)
            .field("interface", &self.interface)
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

impl Edge {
    fn units(&self) -> wasmtime::Result<Arc<dyn Units>> {
        self.registry
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| wasmtime::Error::msg("the host is shutting down"))
    }

    fn index(&self) -> Result<ComponentExportIndex, Status> {
        self.index.ok_or_else(|| {
            Status::unimplemented(format!(
                "the callee does not export `{}#{}`",
                self.interface, self.function
            ))
        })
    }

    /// Runs `f` in the callee with the caller's deadline and records the
    /// call.
    fn run(
        &self,
        caller: &mut StoreContextMut<'_, State>,
        f: &mut InSlot<'_>,
    ) -> wasmtime::Result<Result<(), Status>> {
        self.run_with(caller, true, |units, deadline, rpc| {
            units.run_in(self.callee, deadline, rpc, f)
        })
    }

    /// Runs `exec` (a call into the callee) with the caller's deadline and
    /// records the call. A call that `opens` an rpc takes the metadata the
    /// caller set for it and hands back the callee's response metadata;
    /// a later call on the rpc's stream carries none, and hands back only
    /// what the callee set.
    fn run_with(
        &self,
        caller: &mut StoreContextMut<'_, State>,
        opens: bool,
        exec: impl FnOnce(&dyn Units, Instant, Rpc) -> Result<Option<ResponseMetadata>, Status>,
    ) -> wasmtime::Result<Result<(), Status>> {
        let units = self.units()?;
        let request = caller
            .data()
            .deadline
            .unwrap_or_else(|| Instant::now() + units.default_timeout());
        // The deadline the caller set on this call (a Go context's), if any:
        // the callee's rpc carries it, and it is enforced as natively.
        let call = caller.data().call_deadline;
        let deadline = call.map_or(request, |c| c.min(request));
        // The metadata the caller set on this call goes to the callee; the
        // callee's response metadata comes back for the caller to take.
        let rpc = Rpc {
            deadline: call,
            metadata: if opens {
                std::mem::take(&mut caller.data_mut().request_metadata)
            } else {
                Metadata::default()
            },
        };
        let span = tracing::debug_span!(
            "edge",
            caller = %self.caller,
            interface = %self.interface,
            function = %self.function
        );
        let _span = span.enter();
        let started = Instant::now();
        let outcome = exec(&*units, deadline, rpc);
        let elapsed = started.elapsed();
        self.latency.observe(elapsed);
        let outcome = outcome.map(|response| {
            if opens || response.is_some() {
                caller.data_mut().response_metadata = response;
            }
        });
        match &outcome {
            Ok(()) => self.ok.observe(elapsed),
            Err(status) => {
                self.failed.observe(elapsed);
                // The request's time ran out in the callee (not only the
                // call's own, shorter deadline): the caller, interrupted
                // next, reports where it went.
                if status.code() == tonic::Code::DeadlineExceeded && deadline == request {
                    caller.data_mut().expired_in = Some(status.message().to_string());
                }
                tracing::debug!(
                    caller = self.caller,
                    interface = self.interface,
                    function = self.function,
                    "host-mediated call failed: {}",
                    status.message()
                );
            }
        }
        Ok(outcome)
    }

    /// A typed call: `params` are lifted once from the caller and lowered
    /// into the callee; the callee's typed function is looked up once per
    /// instance. `on_error` turns a failure into the rpc's error result.
    pub fn call<P, R>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        params: P,
        on_error: impl FnOnce(&Status) -> R,
    ) -> wasmtime::Result<R>
    where
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let index = match self.index() {
            Ok(index) => index,
            Err(status) => return Ok(on_error(&status)),
        };
        let (mut params, mut out) = (Some(params), None);
        let outcome = self.run(
            &mut caller,
            &mut typed_call(self.id, index, &mut params, &mut out),
        )?;
        match (outcome, out) {
            (Ok(()), Some(r)) => Ok(r),
            (Err(status), _) => Ok(on_error(&status)),
            (Ok(()), None) => Err(wasmtime::Error::msg("host-mediated call returned nothing")),
        }
    }

    /// A dynamic call with `Val`s (every element of a list is one value):
    /// the fallback for interfaces the generated host has no types for.
    fn call_dynamic(
        &self,
        mut caller: StoreContextMut<'_, State>,
        params: &[Val],
        results: &mut [Val],
    ) -> wasmtime::Result<()> {
        let index = match self.index() {
            Ok(index) => index,
            Err(status) => return status_into(&status, results, self),
        };
        let outcome = self.run(&mut caller, &mut |store, instance, _| {
            let func = instance
                .get_func(&mut *store, index)
                .ok_or_else(|| wasmtime::Error::msg("not a function"))?;
            func.call(&mut *store, params, results)
        })?;
        match outcome {
            Ok(()) => Ok(()),
            Err(status) => status_into(&status, results, self),
        }
    }
}

/// The typed function `index` of `instance`, looked up once per instance
/// and edge (`id`).
fn typed<P, R>(
    id: u64,
    index: ComponentExportIndex,
    store: &mut Store<State>,
    instance: &Instance,
    cache: &mut TypedCache,
) -> wasmtime::Result<TypedFunc<P, R>>
where
    P: ComponentNamedList + Lower + Send + Sync + 'static,
    R: ComponentNamedList + Lift + Send + Sync + 'static,
{
    let cached = cache
        .get(&id)
        .and_then(|f| f.downcast_ref::<TypedFunc<P, R>>())
        .copied();
    match cached {
        Some(func) => Ok(func),
        None => {
            let func = instance.get_typed_func::<P, R>(&mut *store, index)?;
            cache.insert(id, Box::new(func));
            Ok(func)
        }
    }
}

/// What a typed host-mediated call runs on the callee's instance: its
/// function `index` (see [`typed`]) called with `params`, taken once, the
/// results put in `out`.
fn typed_call<'a, P, R>(
    id: u64,
    index: ComponentExportIndex,
    params: &'a mut Option<P>,
    out: &'a mut Option<R>,
) -> impl FnMut(&mut Store<State>, &Instance, &mut TypedCache) -> wasmtime::Result<()> + 'a
where
    P: ComponentNamedList + Lower + Send + Sync + 'static,
    R: ComponentNamedList + Lift + Send + Sync + 'static,
{
    move |store, instance, cache| {
        let func = typed::<P, R>(id, index, store, instance, cache)?;
        let params = params
            .take()
            .ok_or_else(|| wasmtime::Error::msg("host-mediated call ran twice"))?;
        *out = Some(func.call(&mut *store, params)?);
        Ok(())
    }
}

/// Puts `status` in `results` as the rpc's `result` error.
fn status_into(status: &Status, results: &mut [Val], edge: &Edge) -> wasmtime::Result<()> {
    match results {
        [result] => {
            *result = status_val(status);
            Ok(())
        }
        _ => Err(wasmtime::Error::msg(format!(
            "`{}#{}` failed ({}) and returns no result to report it in",
            edge.interface,
            edge.function,
            status.message()
        ))),
    }
}

fn start_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("cofaas-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(err) = spawned {
        tracing::error!("cannot start the epoch thread, deadlines will not interrupt: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_in_symbols() {
        assert!(mentions_crate("worker::main::{{closure}}", "worker"));
        assert!(mentions_crate(
            "<hostcheck_worker::Svc as x::Worker>::work",
            "hostcheck_worker"
        ));
        assert!(!mentions_crate("coworker::main", "worker"));
        assert!(!mentions_crate("worker_pool::main", "worker"));
        assert!(!mentions_crate("std::worker", "worker"));
    }

    #[test]
    fn statuses_of_failures() {
        let trap = wasmtime::Error::new(Trap::UnreachableCodeReached);
        let s = failure_status("worker", &trap);
        assert_eq!(s.code(), Code::Internal);
        assert!(
            s.message().starts_with("function `worker` trapped: "),
            "{}",
            s.message()
        );
        let s = failure_status("worker", &wasmtime::Error::new(Trap::Interrupt));
        assert_eq!(s.code(), Code::DeadlineExceeded);
        let s = failure_status("worker", &wasmtime::Error::new(Trap::OutOfFuel));
        assert_eq!(s.code(), Code::ResourceExhausted);
        let mem = wasmtime::Error::new(MemoryLimitExceeded {
            limit: 10,
            requested: 20,
        })
        .context("while growing");
        let s = failure_status("worker", &mem);
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(
            s.message(),
            "function `worker` exceeded its memory limit of 10 bytes (it tried to grow to 20 bytes)"
        );
    }

    #[test]
    fn status_values_match_rpc_status() {
        let v = status_val(&Status::with_details(
            Code::NotFound,
            "gone",
            vec![1u8, 2].into(),
        ));
        let Val::Result(Err(Some(record))) = v else {
            panic!("not an error result: {v:?}")
        };
        assert_eq!(
            *record,
            Val::Record(vec![
                ("code".into(), Val::S32(5)),
                ("message".into(), Val::String("gone".into())),
                ("details".into(), Val::List(vec![Val::U8(1), Val::U8(2)])),
            ])
        );
    }
}
