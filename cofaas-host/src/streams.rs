//! Public streaming rpcs: what a generated handler needs to serve a
//! function's server-, client- and bidi-streaming exports to gRPC clients.
//!
//! A streaming call holds one instance of the exporting unit (and one of
//! the host's blocking threads) from its start to its end, as a native
//! server holds a handler task: the stream resource lives in that
//! instance's store. Replies go to the client through a channel of a few
//! messages, so a function that produces faster than the client reads
//! waits for it (backpressure); when the client goes, the next send fails,
//! the generated loop drops the resource, and the function's stream is
//! dropped with it (cancellation). Requests come from the client's stream
//! through a channel of one message too.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use wasmtime::Store;

use crate::State;
use crate::host::{CallSite, Exports, Host};
use crate::metadata::{Inbound, ResponseMetadata};

/// Replies a streaming call may have produced that the client has not
/// taken yet: enough that the function and the connection do not wait on
/// each other for every message, few enough to bound what a fast producer
/// buffers (16 of 64 KiB messages is 1 MiB).
const REPLY_BUFFER: usize = 16;

/// The reply stream a generated handler returns for a streaming rpc.
pub type ReplyStream<T> = ReceiverStream<Result<T, Status>>;

type Opened = Arc<Mutex<Option<oneshot::Sender<Result<ResponseMetadata, Status>>>>>;

/// Where a streaming call's replies go: first its start (response headers,
/// or the status it failed with before any reply), then its replies, then
/// its end.
pub struct Replies<T> {
    tx: mpsc::Sender<Result<T, Status>>,
    opened: Opened,
}

impl<T> std::fmt::Debug for Replies<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replies")
            .field("client_gone", &self.tx.is_closed())
            .finish()
    }
}

impl<T> Replies<T> {
    fn metadata(store: &mut Store<State>) -> ResponseMetadata {
        store
            .data_mut()
            .response_metadata
            .take()
            .unwrap_or_default()
    }

    /// The rpc started: the response headers the function set go to the
    /// client now, before any reply.
    pub fn open(&mut self, store: &mut Store<State>) {
        let headers = Self::metadata(store).headers;
        if let Some(opened) = self.opened.lock().take() {
            let _ = opened.send(Ok(ResponseMetadata {
                headers,
                trailers: Vec::new(),
            }));
        }
    }

    /// The rpc ended with `status`: before any reply (the call fails as a
    /// whole), or after some (the stream ends with it). The metadata the
    /// function set goes with it as trailers.
    pub fn fail(&mut self, store: &mut Store<State>, status: Status) {
        let status = Self::metadata(store).into_status(status);
        match self.opened.lock().take() {
            Some(opened) => {
                let _ = opened.send(Err(status));
            }
            None => {
                let _ = self.tx.blocking_send(Err(status));
            }
        }
    }

    /// Sends one reply, waiting while the client has not taken the ones
    /// before it (a buffer of 16);
    /// `false` once the client has gone.
    pub fn send(&self, reply: T) -> bool {
        self.tx.blocking_send(Ok(reply)).is_ok()
    }

    /// Whether the client has gone (its reply stream was dropped).
    pub fn client_gone(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The requests of a client- or bidi-streaming call, as the generated
/// loop reads them on its blocking thread.
pub struct Requests<T> {
    rx: mpsc::Receiver<Result<T, Status>>,
    runtime: tokio::runtime::Handle,
    ended: bool,
}

/// What [`Requests`] has for the loop.
#[derive(Debug)]
pub enum Request<T> {
    /// A request message.
    Message(T),
    /// The client has sent its last message.
    End,
    /// The client's stream failed (it cancelled, or a message did not decode).
    Failed(Status),
    /// Nothing yet (only from [`Requests::try_next`]).
    Empty,
}

impl<T> std::fmt::Debug for Requests<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requests")
            .field("ended", &self.ended)
            .finish()
    }
}

impl<T: Send + 'static> Requests<T> {
    /// Reads `stream` on a task of the current runtime.
    pub fn new(mut stream: Streaming<T>) -> Self {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                let next = stream.message().await;
                let last = !matches!(next, Ok(Some(_)));
                let item = match next {
                    Ok(Some(message)) => Ok(message),
                    Ok(None) => break,
                    Err(status) => Err(status),
                };
                if tx.send(item).await.is_err() || last {
                    break;
                }
            }
        });
        Requests {
            rx,
            runtime: tokio::runtime::Handle::current(),
            ended: false,
        }
    }

    fn take(&mut self, item: Option<Result<T, Status>>) -> Request<T> {
        match item {
            Some(Ok(message)) => Request::Message(message),
            Some(Err(status)) => {
                self.ended = true;
                Request::Failed(status)
            }
            None => {
                self.ended = true;
                Request::End
            }
        }
    }

    /// The next request, waiting for it.
    pub fn recv(&mut self) -> Request<T> {
        if self.ended {
            return Request::End;
        }
        let item = self.runtime.block_on(self.rx.recv());
        self.take(item)
    }

    /// The next request if one has arrived; [`Request::Empty`] otherwise,
    /// and after the end.
    pub fn try_next(&mut self) -> Request<T> {
        if self.ended {
            return Request::Empty;
        }
        match self.rx.try_recv() {
            Ok(item) => self.take(Some(item)),
            Err(mpsc::error::TryRecvError::Empty) => Request::Empty,
            Err(mpsc::error::TryRecvError::Disconnected) => self.take(None),
        }
    }

    /// Waits up to `pause` for a request ([`Request::Empty`] if none came).
    pub fn wait(&mut self, pause: Duration) -> Request<T> {
        if self.ended {
            std::thread::sleep(pause);
            return Request::Empty;
        }
        let runtime = self.runtime.clone();
        match runtime.block_on(tokio::time::timeout(pause, self.rx.recv())) {
            Ok(item) => self.take(item),
            Err(_) => Request::Empty,
        }
    }
}

/// The pause of a bidi loop when neither side moved: from 20 µs, doubling
/// to 1 ms, back to 20 µs when something moves. The function cannot wake
/// the host (its `poll-next` only says `pending`), so the host polls again.
#[derive(Debug, Clone, Copy)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_micros(20))
    }
}

impl Backoff {
    /// Something moved: the next pause is the shortest.
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }

    /// The pause to wait now; the next is twice as long, up to 1 ms.
    pub fn pause(&mut self) -> Duration {
        let now = self.0;
        self.0 = (self.0 * 2).min(Duration::from_millis(1));
        now
    }
}

impl<E: Exports> Host<E> {
    /// Serves one public call whose replies stream: `f` runs on one
    /// instance of the unit exporting `site.interface`, as
    /// [`Host::call`] runs a unary one, and reports through its
    /// [`Replies`]. Returns once `f` has opened the stream (its headers)
    /// or failed before any reply.
    pub async fn serve_stream<T, F>(
        &self,
        site: &'static CallSite,
        inbound: Inbound,
        f: F,
    ) -> Result<tonic::Response<ReplyStream<T>>, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store<State>, &E, &mut Replies<T>) -> wasmtime::Result<()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(REPLY_BUFFER);
        let (opened_tx, opened_rx) = oneshot::channel();
        let opened: Opened = Arc::new(Mutex::new(Some(opened_tx)));
        let mut replies = Replies {
            tx: tx.clone(),
            opened: Arc::clone(&opened),
        };
        let host = self.clone();
        tokio::spawn(async move {
            let outcome = host
                .call(site, inbound, move |store, exports| {
                    f(store, exports, &mut replies)
                })
                .await;
            let waiting = opened.lock().take();
            match (outcome, waiting) {
                // `f` returned without starting or failing the stream.
                (Ok(_), Some(opened)) => {
                    let _ = opened.send(Err(Status::internal(format!(
                        "cofaas: `{}` ended without starting its stream",
                        site.method
                    ))));
                }
                (Ok(_), None) => {}
                // A trap or limit ends the call: before the start, the
                // call fails; after it, the stream ends with the status.
                (Err(status), Some(opened)) => {
                    let _ = opened.send(Err(status));
                }
                (Err(status), None) => {
                    let _ = tx.send(Err(status)).await;
                }
            }
        });
        match opened_rx.await {
            Ok(Ok(headers)) => Ok(headers.into_response(ReceiverStream::new(rx))),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(Status::internal("cofaas: the streaming call ended unseen")),
        }
    }
}
