//! One inter-function call carrying a `list<u8>` payload (0 B to 512 KiB),
//! taken four ways, so changes to the runtime see where they stand against
//! the physical limit:
//!
//! - `fused`: caller and callee composed statically by
//!   `component_linker::link`; the call crosses wasmtime's fused adapter,
//!   which copies the payload from the caller's memory to the callee's.
//! - `mediated`: caller and callee instantiated separately, in two stores;
//!   the caller's import is a typed host function calling the callee's typed
//!   export, as cofaas calls between units (two copies: caller to host,
//!   host to callee).
//! - `tonic`: a unary gRPC call with a `bytes` payload to a tonic server on
//!   127.0.0.1 in the same process, the client reused.
//! - `native`: a plain Rust call passing a cloned `Vec<u8>`.
//!
//! The guests (`benches/guests/`, a cargo workspace of its own, built for
//! `wasm32-wasip2` on every run) call in a loop: the caller's `call-n`
//! allocates one payload and passes it to the callee's `take` `n` times, so
//! the host's entry into the caller is paid once per `n` calls. Every way
//! makes `n` calls per criterion iteration and reports the time divided by
//! `n`: the figures are per inter-function call. At the end, the bench prints
//! to stderr the median ns per call of every way and size, and the ratio
//! mediated/fused per size.
//!
//! `cargo bench -p cofaas-host --bench edge`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use component_linker::{Input, Plan, link};
use criterion::{BenchmarkId, Criterion, Throughput};
use tonic::codegen::{BoxFuture, Service, http};
use wasmtime::component::{Component, Instance, Linker, ResourceTable, TypedFunc};
use wasmtime::error::Context as _;
use wasmtime::{Engine, Result, Store, StoreContextMut, bail};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The payload sizes, in bytes.
const SIZES: [u32; 5] = [0, 64, 1024, 16 * 1024, 512 * 1024];

/// Inter-function calls per criterion iteration.
const CALLS: u32 = 1000;

/// The ways, in the order of the table.
const WAYS: [&str; 4] = ["fused", "mediated", "tonic", "native"];

const CALLER_API: &str = "bench:edge/caller-api";
const CALLEE_API: &str = "bench:edge/callee-api";

/// Criterion samples per benchmark: fewer for the largest payload, where an
/// iteration over loopback TCP takes a good part of a second.
fn sample_size(len: u32) -> usize {
    if len >= 512 * 1024 { 10 } else { 20 }
}

// ---------------------------------------------------------------------------
// Guests

#[path = "../../component-linker/tests/support/guest_build.rs"]
mod guest_build;

/// Builds the guests and returns the caller's and the callee's component.
fn build_guests() -> Result<(Vec<u8>, Vec<u8>)> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = guest_build::build_guests(manifest_dir, &manifest_dir.join("benches/guests"))?;
    let read = |name: &str| {
        let path = out.join(format!("edge_{name}.wasm"));
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    Ok((read("caller")?, read("callee")?))
}

// ---------------------------------------------------------------------------
// wasmtime

/// What the guests' WASI imports need.
struct Wasi {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl Wasi {
    fn new() -> Self {
        Self {
            ctx: WasiCtx::builder().inherit_stderr().build(),
            table: ResourceTable::new(),
        }
    }
}

impl WasiView for Wasi {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The caller's store data when mediated: its WASI, and the callee's store
/// and `take`, which the host function serving the caller's import calls.
struct Mediated {
    wasi: Wasi,
    callee: Store<Wasi>,
    take: Take,
}

impl WasiView for Mediated {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.wasi.ctx()
    }
}

/// `bench:edge/caller-api#call-n`.
type CallN = TypedFunc<(u32, u32), (u64,)>;
/// `bench:edge/callee-api#take`.
type Take = TypedFunc<(Vec<u8>,), (u32,)>;

/// A new store whose epoch deadline never comes: the engine has epoch
/// interruption on, and nothing advances the epoch here.
fn store<T>(engine: &Engine, data: T) -> Store<T> {
    let mut store = Store::new(engine, data);
    store.set_epoch_deadline(u64::MAX / 2);
    store
}

/// The typed function `interface#func` of `instance`.
fn export<T, P, R>(
    store: &mut Store<T>,
    instance: &Instance,
    interface: &str,
    func: &str,
) -> Result<TypedFunc<P, R>>
where
    P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower,
    R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift,
{
    let iface = instance
        .get_export_index(&mut *store, None, interface)
        .with_context(|| format!("no export `{interface}`"))?;
    let index = instance
        .get_export_index(&mut *store, Some(&iface), func)
        .with_context(|| format!("no function `{func}` in `{interface}`"))?;
    instance.get_typed_func(&mut *store, index)
}

/// The caller and callee composed by `component_linker::link`, instantiated.
fn fused(engine: &Engine, caller: &[u8], callee: &[u8]) -> Result<(Store<Wasi>, CallN)> {
    let inputs = [Input::new("caller", caller), Input::new("callee", callee)];
    let mut plan = Plan::default();
    plan.entries = vec!["caller".into()];
    let linked = link(&inputs, &plan)?;
    let component = Component::new(engine, &linked.component)?;
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut store = store(engine, Wasi::new());
    let instance = linker.instantiate(&mut store, &component)?;
    let call_n = export(&mut store, &instance, CALLER_API, "call-n")?;
    Ok((store, call_n))
}

/// The caller and callee instantiated in two stores, the caller's import
/// served by a typed host function calling the callee's typed export.
fn mediated(engine: &Engine, caller: &[u8], callee: &[u8]) -> Result<(Store<Mediated>, CallN)> {
    let callee = Component::new(engine, callee)?;
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let mut callee_store = store(engine, Wasi::new());
    let instance = linker.instantiate(&mut callee_store, &callee)?;
    let take: Take = export(&mut callee_store, &instance, CALLEE_API, "take")?;

    let caller = Component::new(engine, caller)?;
    let mut linker = Linker::<Mediated>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    linker.instance(CALLEE_API)?.func_wrap(
        "take",
        |mut cx: StoreContextMut<'_, Mediated>, (payload,): (Vec<u8>,)| {
            let data = cx.data_mut();
            let take = data.take;
            take.call(&mut data.callee, (payload,))
        },
    )?;
    let data = Mediated {
        wasi: Wasi::new(),
        callee: callee_store,
        take,
    };
    let mut store = store(engine, data);
    let instance = linker.instantiate(&mut store, &caller)?;
    let call_n = export(&mut store, &instance, CALLER_API, "call-n")?;
    Ok((store, call_n))
}

// ---------------------------------------------------------------------------
// tonic: `bench.Edge/Take`, written by hand (no protoc)

/// `bench.Payload`.
#[derive(Clone, PartialEq, prost::Message)]
struct Payload {
    #[prost(bytes = "bytes", tag = "1")]
    data: prost::bytes::Bytes,
}

/// `bench.Len`.
#[derive(Clone, PartialEq, prost::Message)]
struct Len {
    #[prost(uint32, tag = "1")]
    len: u32,
}

const TAKE_PATH: &str = "/bench.Edge/Take";

/// The server of `bench.Edge`: `Take` returns the payload's length.
#[derive(Clone, Debug)]
struct EdgeServer;

impl tonic::server::NamedService for EdgeServer {
    const NAME: &'static str = "bench.Edge";
}

/// `bench.Edge/Take`.
struct TakeSvc;

impl tonic::server::UnaryService<Payload> for TakeSvc {
    type Response = Len;
    type Future = BoxFuture<tonic::Response<Len>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Payload>) -> Self::Future {
        let len = u32::try_from(request.into_inner().data.len()).unwrap_or(u32::MAX);
        Box::pin(async move { Ok(tonic::Response::new(Len { len })) })
    }
}

impl<B> Service<http::Request<B>> for EdgeServer
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() == TAKE_PATH {
            Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                Ok(grpc.unary(TakeSvc, req).await)
            })
        } else {
            Box::pin(async move {
                Ok(tonic::Status::unimplemented(req.uri().path().to_owned()).into_http())
            })
        }
    }
}

/// A client of a `bench.Edge` server.
type Client = tonic::client::Grpc<tonic::transport::Channel>;

/// Starts a `bench.Edge` server on a free port of 127.0.0.1 and connects a
/// client to it.
async fn tonic_pair() -> Result<Client> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EdgeServer)
            .serve_with_incoming(incoming),
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    Ok(tonic::client::Grpc::new(channel))
}

/// One `bench.Edge/Take` call.
async fn tonic_take(client: &mut Client, data: prost::bytes::Bytes) -> Result<u32> {
    client.ready().await.map_err(wasmtime::Error::msg)?;
    let response = client
        .unary(
            tonic::Request::new(Payload { data }),
            http::uri::PathAndQuery::from_static(TAKE_PATH),
            tonic_prost::ProstCodec::<Payload, Len>::default(),
        )
        .await?;
    Ok(response.into_inner().len)
}

// ---------------------------------------------------------------------------
// native

/// The native callee: takes the payload and returns its length.
#[inline(never)]
fn native_take(payload: Vec<u8>) -> u32 {
    u32::try_from(payload.len()).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// the bench

/// Per-call ns of every sample taken, by way and payload size. The last
/// `sample_size` of a benchmark are criterion's measurement (warm-up comes
/// first), so their median is the median criterion reports.
static SAMPLES: Mutex<BTreeMap<(&str, u32), Vec<f64>>> = Mutex::new(BTreeMap::new());

/// Records a sample of `iters` iterations of `CALLS` calls taking `elapsed`
/// and returns the time criterion is to see: `elapsed` per call.
fn record(way: &'static str, len: u32, iters: u64, elapsed: Duration) -> Duration {
    let per_call = elapsed / CALLS;
    let ns = per_call.as_nanos() as f64 / iters.max(1) as f64;
    SAMPLES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((way, len))
        .or_default()
        .push(ns);
    per_call
}

/// The median per-call ns of `way` at `len`, if it ran.
fn median(way: &str, len: u32) -> Option<f64> {
    let samples = SAMPLES.lock().unwrap_or_else(|e| e.into_inner());
    let all = samples.get(&(way, len))?;
    let mut last = all[all.len().saturating_sub(sample_size(len))..].to_vec();
    last.sort_by(f64::total_cmp);
    let mid = last.len() / 2;
    match last.len() {
        0 => None,
        n if n % 2 == 1 => Some(last[mid]),
        _ => Some((last[mid - 1] + last[mid]) / 2.0),
    }
}

/// A payload of `len` bytes.
fn payload(len: u32) -> Vec<u8> {
    (0..len).map(|i| i as u8).collect()
}

/// Benches `way` at every size: `body(len, iters)` makes `iters * CALLS`
/// calls with a payload of `len` bytes and returns how long they took.
fn bench_way(
    c: &mut Criterion,
    way: &'static str,
    mut body: impl FnMut(u32, u64) -> Result<Duration>,
) {
    let mut group = c.benchmark_group(format!("edge/{way}"));
    for len in SIZES {
        group.sample_size(sample_size(len));
        group.throughput(Throughput::Bytes(u64::from(len)));
        group.bench_with_input(BenchmarkId::from_parameter(len), &len, |b, &len| {
            b.iter_custom(|iters| {
                let elapsed =
                    body(len, iters).unwrap_or_else(|e| panic!("{way} with {len} bytes: {e:#}"));
                record(way, len, iters, elapsed)
            });
        });
    }
    group.finish();
}

/// Times `iters` calls of a guest caller's `call-n(len, CALLS)`.
fn guest_loop<T>(store: &mut Store<T>, call_n: CallN, len: u32, iters: u64) -> Result<Duration> {
    let start = Instant::now();
    for _ in 0..iters {
        let (sum,) = call_n.call(&mut *store, (len, CALLS))?;
        if sum != u64::from(len) * u64::from(CALLS) {
            bail!("call-n returned {sum}");
        }
    }
    Ok(start.elapsed())
}

fn bench(c: &mut Criterion) -> Result<()> {
    let (caller, callee) = build_guests()?;
    let engine = Engine::new(&cofaas_host::engine_config(false))?;

    let (mut store, call_n) = fused(&engine, &caller, &callee)?;
    bench_way(c, "fused", |len, iters| {
        guest_loop(&mut store, call_n, len, iters)
    });
    drop(store);

    let (mut store, call_n) = mediated(&engine, &caller, &callee)?;
    bench_way(c, "mediated", |len, iters| {
        guest_loop(&mut store, call_n, len, iters)
    });
    drop(store);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = rt.block_on(tonic_pair())?;
    bench_way(c, "tonic", |len, iters| {
        let data = prost::bytes::Bytes::from(payload(len));
        let mut client = client.clone();
        rt.block_on(rt.spawn(async move {
            let start = Instant::now();
            for _ in 0..iters {
                let mut sum = 0u64;
                for _ in 0..CALLS {
                    sum += u64::from(tonic_take(&mut client, data.clone()).await?);
                }
                if sum != u64::from(len) * u64::from(CALLS) {
                    bail!("the calls returned {sum}");
                }
            }
            Ok(start.elapsed())
        }))?
    });
    drop(client);
    drop(rt);

    bench_way(c, "native", |len, iters| {
        let data = payload(len);
        let start = Instant::now();
        for _ in 0..iters {
            let mut sum = 0u64;
            for _ in 0..CALLS {
                sum += u64::from(native_take(black_box(data.clone())));
            }
            if black_box(sum) != u64::from(len) * u64::from(CALLS) {
                bail!("the calls returned {sum}");
            }
        }
        Ok(start.elapsed())
    });
    Ok(())
}

/// Prints the median ns per call of every way and size, and mediated/fused.
fn print_table() {
    let cell = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    let mut out = format!("\nmedian ns per inter-function call ({CALLS} calls per iteration)\n");
    out.push_str(&format!("{:>8}", "bytes"));
    for way in WAYS {
        out.push_str(&format!(" {way:>11}"));
    }
    out.push_str(&format!(" {:>15}\n", "mediated/fused"));
    for len in SIZES {
        out.push_str(&format!("{len:>8}"));
        for way in WAYS {
            out.push_str(&format!(" {:>11}", cell(median(way, len))));
        }
        let ratio = median("mediated", len)
            .zip(median("fused", len))
            .map(|(m, f)| format!("{:.2}", m / f));
        out.push_str(&format!(" {:>15}\n", ratio.as_deref().unwrap_or("-")));
    }
    if let Some(len) = crossover() {
        out.push_str(&format!(
            "mediated overtakes fused at ~{len:.0} bytes (interpolated)\n"
        ));
    }
    eprint!("{out}");
}

/// The payload size where mediated becomes faster than fused, interpolating
/// both linearly between the first two adjacent sizes that bracket it.
fn crossover() -> Option<f64> {
    let points: Vec<(f64, f64, f64)> = SIZES
        .into_iter()
        .filter_map(|len| {
            Some((
                f64::from(len),
                median("fused", len)?,
                median("mediated", len)?,
            ))
        })
        .collect();
    points.windows(2).find_map(|pair| {
        let [(l1, f1, m1), (l2, f2, m2)] = [pair[0], pair[1]];
        // The gap mediated - fused, positive while fused is faster.
        let (d1, d2) = (m1 - f1, m2 - f2);
        (d1 > 0.0 && d2 <= 0.0).then(|| l1 + (l2 - l1) * d1 / (d1 - d2))
    })
}

fn main() -> std::process::ExitCode {
    let mut c = Criterion::default().configure_from_args();
    let result = bench(&mut c);
    c.final_summary();
    if let Err(e) = result {
        eprintln!("edge bench: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    print_table();
    std::process::ExitCode::SUCCESS
}
