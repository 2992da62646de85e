//! Streams across remote edges: a streaming rpc of a service another node
//! (or an external function) serves, called by a function of this host.
//!
//! The caller holds a [`RemoteStream`], a host resource in its store. The
//! call itself runs on the host's runtime, over one connection per peer
//! shared by every stream to it; the caller's thread waits on it only for
//! what it asked (the next reply, room for a request, the end), bounded by
//! the caller's deadline, which the peer is told too (`grpc-timeout`).
//!
//! - **Server streams** are pulled: `next` reads one message off the HTTP/2
//!   stream, so HTTP/2 flow control holds back a producer that runs ahead.
//! - **Client streams** push each request into a bounded queue the call
//!   sends from; `finish` ends the requests and waits for the reply.
//! - **Bidi calls** push requests the same way; replies arrive in a bounded
//!   queue and `poll-next` takes one if there is one (`pending` if not),
//!   never waiting, as the caller-driven mapping wants.
//!
//! Dropping the resource cancels the call (the HTTP/2 stream is reset).

use std::{
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use prost::Message;
use tokio::{runtime::Handle, sync::mpsc, task::JoinHandle};
use tonic::{
    Status, codegen::tokio_stream::wrappers::ReceiverStream, metadata::MetadataMap,
    transport::Channel,
};
use wasmtime::{StoreContextMut, component::Resource};

use super::{Peer, RemoteEdge};
use crate::{
    ResponseMetadata, State,
    metadata::{from_map, reserved},
};

/// Requests (client and bidi calls) and replies (bidi calls) queued
/// between the caller and the call.
const QUEUE: usize = 16;

impl Peer {
    /// The connection streams to this peer share, made on the host's
    /// runtime on first use.
    fn shared(&self, handle: &Handle) -> Channel {
        self.shared
            .get_or_init(|| {
                let _entered = handle.enter();
                self.endpoint.connect_lazy()
            })
            .clone()
    }
}

/// A streaming call to a peer, as the calling function holds it.
pub struct RemoteStream<Req, Resp> {
    /// The host's runtime (`None` if the call could not start).
    handle: Option<Handle>,
    deadline: Instant,
    url: String,
    state: Call<Req, Resp>,
    bytes: Arc<std::sync::atomic::AtomicU64>,
}

impl<Req, Resp> std::fmt::Debug for RemoteStream<Req, Resp> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStream")
            .field("peer", &self.url)
            .finish_non_exhaustive()
    }
}

/// A client call's reply: the message and the response headers and
/// trailers.
type Reply<Resp> = Result<(Resp, MetadataMap, MetadataMap), Status>;

enum Call<Req, Resp> {
    /// A server stream's replies.
    Server(Box<tonic::Streaming<Resp>>),
    /// A client stream: its requests, and the call waiting for its reply.
    Client {
        requests: Option<mpsc::Sender<Req>>,
        call: JoinHandle<Reply<Resp>>,
    },
    /// A bidi call: its requests, and its replies (the last item a status
    /// if it failed; the queue closes after the end).
    Bidi {
        requests: Option<mpsc::Sender<Req>>,
        replies: mpsc::Receiver<Result<Resp, Status>>,
        call: JoinHandle<()>,
    },
    /// Ended, or failed to open: every later call answers with this.
    Over(Option<Status>),
}

impl<Req, Resp> Drop for RemoteStream<Req, Resp> {
    fn drop(&mut self) {
        match &self.state {
            Call::Client { call, .. } => call.abort(),
            Call::Bidi { call, .. } => call.abort(),
            Call::Server(_) | Call::Over(_) => {}
        }
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> RemoteStream<Req, Resp> {
    /// The destructor of the caller's resource (for
    /// `LinkerInstance::resource`): cancels the call.
    pub fn drop_rep(mut store: StoreContextMut<'_, State>, rep: u32) -> wasmtime::Result<()> {
        let stream = store
            .data_mut()
            .table
            .delete(Resource::<RemoteStream<Req, Resp>>::new_own(rep))?;
        drop(stream);
        Ok(())
    }

    fn over(&self) -> Status {
        match &self.state {
            Call::Over(Some(status)) => status.clone(),
            _ => Status::failed_precondition("the stream already ended"),
        }
    }

    fn wait<F: Future>(&self, future: F) -> Result<F::Output, Status> {
        let Some(handle) = &self.handle else {
            return Err(self.over());
        };
        handle
            .block_on(tokio::time::timeout_at(self.deadline.into(), future))
            .map_err(|_| {
                Status::deadline_exceeded(format!("deadline exceeded streaming from {}", self.url))
            })
    }
}

/// The host's runtime, from the thread a function runs on.
fn runtime() -> Result<Handle, Status> {
    Handle::try_current().map_err(|_| {
        Status::unavailable("a remote stream needs the host's runtime (not available here)")
    })
}

impl RemoteEdge {
    /// What every streaming call starts from: the runtime, the deadline,
    /// and the request carrying the caller's metadata and the deadline.
    fn stream_request<T>(
        &self,
        caller: &mut StoreContextMut<'_, State>,
        message: T,
    ) -> Result<(Handle, Instant, tonic::Request<T>), Status> {
        let handle = runtime()?;
        let (deadline, _, request) = self.start(caller.data_mut(), message)?;
        Ok((handle, deadline, request))
    }

    fn stream<Req, Resp>(
        &self,
        handle: Option<Handle>,
        deadline: Instant,
        state: Call<Req, Resp>,
    ) -> RemoteStream<Req, Resp> {
        RemoteStream {
            handle,
            deadline,
            url: self.peer.url().to_string(),
            state,
            bytes: Arc::clone(&self.bytes),
        }
    }

    /// Opens a server stream: sends `request` and waits for the response
    /// headers (a status instead of them fails the call, as natively).
    pub fn open_server<Req, Resp>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        request: Req,
    ) -> Result<Resource<RemoteStream<Req, Resp>>, Status>
    where
        Req: Message + Send + 'static,
        Resp: Message + Default + Send + 'static,
    {
        self.count_bytes(request.encoded_len());
        let (handle, deadline, request) = self.stream_request(&mut caller, request)?;
        let (path, channel) = (self.path.clone(), self.peer.shared(&handle));
        let started = Instant::now();
        let opened = handle.block_on(tokio::time::timeout_at(deadline.into(), async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
            grpc.server_streaming(request, path, codec).await
        }));
        self.latency.observe(started.elapsed());
        let response = match opened {
            Ok(Ok(response)) => response,
            Ok(Err(status)) => return Err(self.failed(&mut caller, status)),
            Err(_) => return Err(self.expired()),
        };
        let (headers, stream, _) = response.into_parts();
        caller.data_mut().response_metadata = Some(ResponseMetadata {
            headers: from_map(&headers, reserved),
            trailers: Vec::new(),
        });
        let stream = self.stream(Some(handle), deadline, Call::Server(Box::new(stream)));
        caller
            .data_mut()
            .table
            .push(stream)
            .map_err(|e| Status::internal(e.to_string()))
    }

    /// A server stream's next reply: `None` at its end (its trailers then
    /// go to the caller), a status if it failed.
    pub fn next<Req, Resp>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        this: &Resource<RemoteStream<Req, Resp>>,
    ) -> Option<Result<Resp, Status>>
    where
        Req: Send + 'static,
        Resp: Message + Default + Send + 'static,
    {
        let stream = match caller.data_mut().table.get_mut(this) {
            Ok(stream) => stream,
            Err(e) => return Some(Err(Status::internal(e.to_string()))),
        };
        let (Some(handle), Call::Server(replies)) = (stream.handle.clone(), &mut stream.state)
        else {
            return Some(Err(stream.over()));
        };
        let deadline = tokio::time::Instant::from(stream.deadline);
        let ended = match handle.block_on(tokio::time::timeout_at(deadline, replies.message())) {
            Ok(Ok(Some(reply))) => {
                stream
                    .bytes
                    .fetch_add(reply.encoded_len() as u64, Ordering::Relaxed);
                return Some(Ok(reply));
            }
            Ok(Ok(None)) => {
                let trailers = handle
                    .block_on(tokio::time::timeout_at(deadline, replies.trailers()))
                    .ok()
                    .and_then(Result::ok)
                    .flatten()
                    .unwrap_or_default();
                Ok(trailers)
            }
            Ok(Err(status)) => Err(status),
            Err(_) => Err(self.expired()),
        };
        stream.state = Call::Over(ended.as_ref().err().cloned());
        match ended {
            Ok(trailers) => {
                caller.data_mut().response_metadata = Some(ResponseMetadata {
                    headers: Vec::new(),
                    trailers: from_map(&trailers, reserved),
                });
                None
            }
            Err(status) => Some(Err(self.failed(&mut caller, status))),
        }
    }

    /// Opens a client or bidi call (`bidi`): the call runs on the host's
    /// runtime, sending the requests pushed with [`RemoteEdge::send`]. The
    /// caller always gets a resource; one that could not start answers
    /// every call with why.
    pub fn open_call<Req, Resp>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        bidi: bool,
    ) -> wasmtime::Result<Resource<RemoteStream<Req, Resp>>>
    where
        Req: Message + Send + 'static,
        Resp: Message + Default + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<Req>(QUEUE);
        let stream = match self.stream_request(&mut caller, ReceiverStream::new(rx)) {
            Ok((handle, deadline, request)) => {
                let state = self.spawn_call(&handle, request, tx, bidi);
                self.stream(Some(handle), deadline, state)
            }
            Err(status) => self.stream(None, Instant::now(), Call::Over(Some(status))),
        };
        Ok(caller.data_mut().table.push(stream)?)
    }

    /// Starts a client or bidi call on the host's runtime.
    fn spawn_call<Req, Resp>(
        &self,
        handle: &Handle,
        request: tonic::Request<ReceiverStream<Req>>,
        tx: mpsc::Sender<Req>,
        bidi: bool,
    ) -> Call<Req, Resp>
    where
        Req: Message + Send + 'static,
        Resp: Message + Default + Send + 'static,
    {
        let (path, channel) = (self.path.clone(), self.peer.shared(handle));
        let connect = async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            Ok::<_, Status>(grpc)
        };
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        if !bidi {
            let call = handle.spawn(async move {
                let mut grpc = connect.await?;
                let response = grpc.client_streaming(request, path, codec).await?;
                let (headers, reply, _) = response.into_parts();
                Ok((reply, headers, MetadataMap::new()))
            });
            return Call::Client {
                requests: Some(tx),
                call,
            };
        }
        let (out, replies) = mpsc::channel(QUEUE);
        let call = handle.spawn(async move {
            let opened = match connect.await {
                Ok(mut grpc) => grpc.streaming(request, path, codec).await,
                Err(status) => Err(status),
            };
            let mut stream = match opened {
                Ok(response) => response.into_inner(),
                Err(status) => {
                    let _ = out.send(Err(status)).await;
                    return;
                }
            };
            loop {
                let item = match stream.message().await {
                    Ok(Some(reply)) => Ok(reply),
                    Ok(None) => return,
                    Err(status) => Err(status),
                };
                let failed = item.is_err();
                if out.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Call::Bidi {
            requests: Some(tx),
            replies,
            call,
        }
    }

    /// Sends one request of a client or bidi call; `false` once the call
    /// takes no more (it ended or failed).
    pub fn send<Req, Resp>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        this: &Resource<RemoteStream<Req, Resp>>,
        message: Req,
    ) -> bool
    where
        Req: Message + Send + 'static,
        Resp: Send + 'static,
    {
        let Ok(stream) = caller.data_mut().table.get_mut(this) else {
            return false;
        };
        let (Call::Client { requests, .. } | Call::Bidi { requests, .. }) = &stream.state else {
            return false;
        };
        let Some(requests) = requests.clone() else {
            return false;
        };
        let size = message.encoded_len() as u64;
        let sent = matches!(stream.wait(requests.send(message)), Ok(Ok(())));
        if sent {
            stream.bytes.fetch_add(size, Ordering::Relaxed);
        }
        sent
    }

    /// Ends the requests of a bidi call.
    pub fn close_send<Req, Resp>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        this: &Resource<RemoteStream<Req, Resp>>,
    ) where
        Req: Send + 'static,
        Resp: Send + 'static,
    {
        if let Ok(stream) = caller.data_mut().table.get_mut(this)
            && let Call::Client { requests, .. } | Call::Bidi { requests, .. } = &mut stream.state
        {
            *requests = None;
        }
    }

    /// A bidi call's next reply if one came: `Ok(Some)`, `Ok(None)` for
    /// none yet, `Err(None)` at the end, `Err(Some(status))` if it failed.
    pub fn poll_next<Req, Resp>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        this: &Resource<RemoteStream<Req, Resp>>,
    ) -> Result<Option<Resp>, Option<Status>>
    where
        Req: Send + 'static,
        Resp: Message + Send + 'static,
    {
        let stream = match caller.data_mut().table.get_mut(this) {
            Ok(stream) => stream,
            Err(e) => return Err(Some(Status::internal(e.to_string()))),
        };
        let Call::Bidi { replies, .. } = &mut stream.state else {
            return match &stream.state {
                Call::Over(None) => Err(None),
                _ => Err(Some(stream.over())),
            };
        };
        if Instant::now() >= stream.deadline {
            let status = self.expired();
            stream.state = Call::Over(Some(status.clone()));
            return Err(Some(status));
        }
        match replies.try_recv() {
            Ok(Ok(reply)) => {
                stream
                    .bytes
                    .fetch_add(reply.encoded_len() as u64, Ordering::Relaxed);
                Ok(Some(reply))
            }
            Ok(Err(status)) => {
                let status = self.transport_status(status);
                stream.state = Call::Over(Some(status.clone()));
                Err(Some(status))
            }
            Err(mpsc::error::TryRecvError::Empty) => Ok(None),
            Err(mpsc::error::TryRecvError::Disconnected) => {
                stream.state = Call::Over(None);
                Err(None)
            }
        }
    }

    /// Ends a client call's requests and waits for its reply (its headers
    /// and trailers go to the caller).
    pub fn finish<Req, Resp>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        this: Resource<RemoteStream<Req, Resp>>,
    ) -> Result<Resp, Status>
    where
        Req: Send + 'static,
        Resp: Message + Send + 'static,
    {
        let mut stream = caller
            .data_mut()
            .table
            .delete(this)
            .map_err(|e| Status::internal(e.to_string()))?;
        let state = std::mem::replace(&mut stream.state, Call::Over(None));
        let Call::Client { requests, call } = state else {
            stream.state = state;
            return Err(stream.over());
        };
        drop(requests);
        let outcome = stream.wait(call);
        match outcome {
            Ok(Ok(Ok((reply, headers, trailers)))) => {
                stream
                    .bytes
                    .fetch_add(reply.encoded_len() as u64, Ordering::Relaxed);
                caller.data_mut().response_metadata = Some(ResponseMetadata {
                    headers: from_map(&headers, reserved),
                    trailers: from_map(&trailers, reserved),
                });
                Ok(reply)
            }
            Ok(Ok(Err(status))) => Err(self.failed(&mut caller, status)),
            Ok(Err(join)) => Err(Status::internal(format!(
                "the remote call did not complete: {join}"
            ))),
            Err(_) => Err(self.expired()),
        }
    }

    /// The caller's view of a failed stream: the status, its trailers kept
    /// for the caller.
    fn failed(&self, caller: &mut StoreContextMut<'_, State>, status: Status) -> Status {
        let status = self.transport_status(status);
        caller.data_mut().response_metadata = Some(ResponseMetadata {
            headers: Vec::new(),
            trailers: from_map(status.metadata(), reserved),
        });
        Status::with_details(
            status.code(),
            status.message(),
            status.details().to_vec().into(),
        )
    }

    fn expired(&self) -> Status {
        Status::deadline_exceeded(format!(
            "deadline exceeded waiting for `{}` on {}",
            self.path,
            self.peer.url()
        ))
    }
}
