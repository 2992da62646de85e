//! Remote edges: calls from a unit to a service served on another node (or
//! by an external, native function), made as ordinary gRPC over HTTP/2
//! cleartext.
//!
//! A remote edge is a typed host function, as a host-mediated edge is: the
//! generated host converts the caller's WIT request to its prost message,
//! [`RemoteEdge::call`] sends it to the peer serving the service and waits
//! for the reply, and the generated host converts the reply back. The call
//! carries what a host-mediated call carries:
//!
//! * the caller's deadline (the request's, or the shorter one the function
//!   set on this call) as `grpc-timeout`, and the host stops waiting at it;
//! * the request metadata the function set, out; the peer's response
//!   headers and trailers, back, for the function to take;
//! * the peer's status code, message and details, unchanged.
//!
//! A remote call runs on the blocking thread its caller's call runs on, and
//! so does its network I/O: each such thread keeps a current-thread tokio
//! runtime of its own and, on it, one HTTP/2 connection (tonic `Channel`)
//! per peer, made on first use and remade after a failure. The call then
//! never hands off to another thread (a hand-off to the host's worker
//! threads doubled a remote call's latency); the connections are pooled,
//! one per thread executing calls, which the host bounds by
//! [`crate::HostConfig::max_concurrent`]. A peer that is down fails its
//! calls with `UNAVAILABLE` within the connect timeout; the next call tries
//! again, so calls recover when the peer is back.

use std::{
    cell::RefCell,
    collections::{BTreeMap, HashMap},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

mod streams;

pub use streams::RemoteStream;

use prost::Message;
use tonic::{
    Code, Status,
    codegen::http::uri::PathAndQuery,
    metadata::MetadataMap,
    transport::{Channel, Endpoint},
};
use wasmtime::StoreContextMut;

use crate::{
    ResponseMetadata, State,
    metadata::{from_map, reserved, to_headers},
    metrics::{Histogram, Metrics},
};

/// Time allowed to open a connection to a peer: a peer that is down gives
/// `UNAVAILABLE` after at most this long, not at the deadline.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The longest timeout `grpc-timeout` can carry.
const MAX_GRPC_TIMEOUT: Duration = Duration::from_secs(99_999_999 * 3600);

/// The environment variable holding peer addresses (`svc=url,svc=url`),
/// used where no `--peer` names the service.
pub const PEERS_ENV: &str = "COFAAS_PEERS";

/// Parses a peer list `package.Service=http://host:port,...` (the format of
/// [`PEERS_ENV`]; one `--peer` value is one entry). Whitespace around
/// entries is ignored; an empty list is no peers.
pub fn parse_peers(list: &str) -> Result<BTreeMap<String, String>, String> {
    let mut peers = BTreeMap::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (service, url) = parse_peer(entry)?;
        peers.insert(service, url);
    }
    Ok(peers)
}

/// Parses one peer, `package.Service=http://host:port`.
pub fn parse_peer(entry: &str) -> Result<(String, String), String> {
    let Some((service, url)) = entry.split_once('=') else {
        return Err(format!(
            "peer `{entry}` is not `package.Service=http://host:port`"
        ));
    };
    let (service, url) = (service.trim(), url.trim());
    if service.is_empty() || service.contains(char::is_whitespace) {
        return Err(format!("peer `{entry}`: `{service}` is not a service name"));
    }
    match url.parse::<http::Uri>() {
        Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => {}
        Ok(_) => {
            return Err(format!(
                "peer `{entry}`: `{url}` is not an `http://host:port` address (gRPC over cleartext HTTP/2)"
            ));
        }
        Err(e) => return Err(format!("peer `{entry}`: bad address `{url}`: {e}")),
    }
    Ok((service.to_string(), url.to_string()))
}

/// A peer: where one service is served.
#[derive(Debug)]
pub struct Peer {
    url: String,
    endpoint: Endpoint,
    /// The connection of streaming calls, on the host's runtime.
    shared: std::sync::OnceLock<Channel>,
}

/// A blocking thread's own runtime for remote calls, and its connections
/// by peer address.
struct Local {
    runtime: tokio::runtime::Runtime,
    channels: HashMap<String, Channel>,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

impl Peer {
    /// A peer at `url` (`http://host:port`); nothing is connected yet.
    pub fn new(url: &str) -> Result<Self, String> {
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| format!("bad peer address `{url}`: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            // Pings only while calls are open: an idle connection sends
            // nothing (a dead peer is found by the next call's failure).
            .http2_keep_alive_interval(Duration::from_secs(30));
        Ok(Self {
            url: url.to_string(),
            endpoint,
            shared: std::sync::OnceLock::new(),
        })
    }

    /// The peer's address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `exchange` with this thread's connection to the peer, on this
    /// thread's runtime, until it completes.
    fn run<F: Future>(&self, exchange: impl FnOnce(Channel) -> F) -> Result<F::Output, Status> {
        LOCAL.with(|local| {
            let mut local = local
                .try_borrow_mut()
                .map_err(|_| Status::internal("a remote call was made from inside another one"))?;
            if local.is_none() {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        Status::internal(format!("cannot start a runtime for remote calls: {e}"))
                    })?;
                *local = Some(Local {
                    runtime,
                    channels: HashMap::new(),
                });
            }
            let Some(local) = local.as_mut() else {
                return Err(Status::internal("no runtime for remote calls"));
            };
            let channel = match local.channels.get(&self.url) {
                Some(channel) => channel.clone(),
                None => {
                    let _entered = local.runtime.enter();
                    let channel = self.endpoint.connect_lazy();
                    local.channels.insert(self.url.clone(), channel.clone());
                    channel
                }
            };
            // This runtime only runs during this thread's calls: first let
            // the connection see what arrived while it was idle (a peer's
            // GOAWAY or close after a restart), so that a dead connection
            // is remade now instead of failing this call.
            local.runtime.block_on(async {
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
            });
            Ok(local.runtime.block_on(exchange(channel)))
        })
    }
}

/// Makes the [`RemoteEdge`]s of one imported interface served by a peer.
/// Generated hosts get one in [`crate::Exports::link_remote`].
#[derive(Debug)]
pub struct RemoteFactory {
    pub(crate) peer: Arc<Peer>,
    pub(crate) caller: String,
    pub(crate) owner: String,
    pub(crate) interface: String,
    pub(crate) default_timeout: Duration,
    pub(crate) metrics: Arc<Metrics>,
}

impl RemoteFactory {
    /// The edge of WIT function `function`, the gRPC method at `path`
    /// (`/package.Service/Method`).
    pub fn edge(&self, function: &str, path: &'static str) -> RemoteEdge {
        RemoteEdge {
            peer: Arc::clone(&self.peer),
            path: PathAndQuery::from_static(path),
            caller: self.caller.clone(),
            interface: self.interface.clone(),
            function: function.to_string(),
            default_timeout: self.default_timeout,
            latency: self.metrics.remote(&self.caller, &self.owner, function),
            bytes: self.metrics.edge_bytes(&self.caller, &self.owner, function),
        }
    }
}

/// One remote function: a unit's import of `interface#function`, served by
/// a peer over gRPC.
#[derive(Debug)]
pub struct RemoteEdge {
    peer: Arc<Peer>,
    path: PathAndQuery,
    caller: String,
    interface: String,
    function: String,
    default_timeout: Duration,
    latency: Arc<Histogram>,
    bytes: Arc<AtomicU64>,
}

impl RemoteEdge {
    /// Calls the peer with `request` on behalf of the function running in
    /// `caller`: with its deadline and the metadata it set, leaving the
    /// peer's response metadata for it to take. Runs on the blocking thread
    /// the caller's call runs on, waiting for the reply there.
    pub fn call<Req, Resp>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        request: Req,
    ) -> Result<Resp, Status>
    where
        Req: Message + Send + 'static,
        Resp: Message + Default + Send + 'static,
    {
        let request_deadline = caller.data().deadline;
        self.count_bytes(request.encoded_len());
        let (deadline, timeout, grpc_request) = self.start(caller.data_mut(), request)?;

        let path = self.path.clone();
        let url = self.peer.url().to_string();
        let exchange = move |channel: Channel| {
            tokio::time::timeout(timeout, async move {
                let mut grpc = tonic::client::Grpc::new(channel);
                grpc.ready()
                    .await
                    .map_err(|e| Status::unavailable(format!("peer {url} is unavailable: {e}")))?;
                let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
                let response = grpc.server_streaming(grpc_request, path, codec).await?;
                let (headers, mut stream, _) = response.into_parts();
                let reply = stream.message().await?;
                let trailers = stream.trailers().await?;
                let reply = reply
                    .ok_or_else(|| Status::internal(format!("peer {url} answered no message")))?;
                Ok::<_, Status>((reply, headers, trailers.unwrap_or_default()))
            })
        };
        let started = Instant::now();
        let outcome = self.peer.run(exchange)?;
        self.latency.observe(started.elapsed());
        let data = caller.data_mut();
        match outcome {
            Ok(Ok((reply, headers, trailers))) => {
                self.count_bytes(reply.encoded_len());
                data.response_metadata = Some(ResponseMetadata {
                    headers: from_map(&headers, reserved),
                    trailers: from_map(&trailers, reserved),
                });
                Ok(reply)
            }
            Ok(Err(status)) => {
                let status = self.transport_status(status);
                // The request's time ran out in the peer (not only the
                // call's own, shorter deadline): the caller, interrupted
                // next, reports where it went.
                if status.code() == Code::DeadlineExceeded && request_deadline == Some(deadline) {
                    data.expired_in = Some(status.message().to_string());
                }
                // An error is a trailers-only response: its metadata is
                // one block, which the function takes as trailers.
                let trailers = from_map(status.metadata(), reserved);
                data.response_metadata = Some(ResponseMetadata {
                    headers: Vec::new(),
                    trailers,
                });
                tracing::debug!(
                    caller = self.caller,
                    interface = self.interface,
                    function = self.function,
                    peer = self.peer.url(),
                    "remote call failed: {}",
                    status.message()
                );
                Err(Status::with_details(
                    status.code(),
                    status.message(),
                    status.details().to_vec().into(),
                ))
            }
            Err(_) => {
                let message = format!(
                    "deadline exceeded waiting for `{}` on {}",
                    self.path,
                    self.peer.url()
                );
                if request_deadline == Some(deadline) {
                    data.expired_in = Some(message.clone());
                }
                Err(Status::deadline_exceeded(message))
            }
        }
    }

    /// Counts `n` bytes of messages on this edge.
    /// What a call starts from: its deadline (the caller's request's, or
    /// the call's own if sooner), the time left, and the gRPC request
    /// carrying `message`, the metadata the caller set, and that time.
    fn start<T>(
        &self,
        data: &mut State,
        message: T,
    ) -> Result<(Instant, Duration, tonic::Request<T>), Status> {
        let now = Instant::now();
        let deadline = match (data.deadline, data.call_deadline) {
            (Some(d), Some(c)) => d.min(c),
            (d, c) => d.or(c).unwrap_or(now + self.default_timeout),
        };
        let timeout = deadline.saturating_duration_since(now);
        if timeout.is_zero() {
            return Err(Status::deadline_exceeded(format!(
                "deadline exceeded before `{}` was called on {}",
                self.path,
                self.peer.url()
            )));
        }
        let metadata = std::mem::take(&mut data.request_metadata);
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = MetadataMap::from_headers(to_headers(metadata));
        // tonic refuses timeouts beyond `grpc-timeout`'s range (8 digits
        // of hours); a longer one means no deadline in practice.
        request.set_timeout(timeout.min(MAX_GRPC_TIMEOUT));
        Ok((deadline, timeout, request))
    }

    fn count_bytes(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A transport failure (connection refused, reset, GOAWAY) as
    /// `UNAVAILABLE` naming the peer; a status the peer sent, unchanged.
    fn transport_status(&self, status: Status) -> Status {
        let from_transport = status.code() == Code::Unknown
            && status.metadata().is_empty()
            && std::error::Error::source(&status).is_some();
        if from_transport {
            return Status::unavailable(format!(
                "peer {} is unavailable: {}",
                self.peer.url(),
                status.message()
            ));
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_lists() {
        let peers = parse_peers(" a.B=http://x:1 , c.D=http://y.z.svc.cluster.local:80,").unwrap();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers["a.B"], "http://x:1");
        assert_eq!(peers["c.D"], "http://y.z.svc.cluster.local:80");
        assert!(parse_peers("").unwrap().is_empty());
        for bad in [
            "a.B",
            "=http://x:1",
            "a.B=https://x:1",
            "a.B=x:1",
            "a.B=http://",
        ] {
            let err = parse_peers(bad).unwrap_err();
            assert!(err.contains("peer `"), "{bad}: {err}");
        }
    }
}
