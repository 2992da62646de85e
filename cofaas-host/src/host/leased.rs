//! Streams across host-mediated edges.
//!
//! A streaming rpc's stream is a resource the callee makes and keeps in
//! one of its instances: a server stream's `next`, a client or bidi call's
//! `send`, `close-send`, `poll-next` and `finish` must all reach that
//! instance. So opening the stream *leases* an instance of the callee unit:
//!
//! * a pooled (stateless) unit's instance is taken out of the pool for the
//!   stream's life and goes back once the callee's resource is dropped or
//!   consumed (an instance whose stream was abandoned mid-way, or that
//!   failed, is dropped instead);
//! * a stateful unit's only instance is locked for each call on the stream
//!   alone, so its other callers are served between messages; if that
//!   instance fails and is replaced, the stream fails (its resource went
//!   with the old instance).
//!
//! The caller sees an [`EdgeStream`], a host resource in its own store. Each
//! call on it runs in the leased instance with the caller's deadline, as a
//! unary host-mediated call does; nothing is buffered in the host, so a
//! producer is paced by its consumer's pulls.

use std::{
    marker::PhantomData,
    sync::Arc,
    time::{Duration, Instant},
};

use tonic::Status;
use wasmtime::{
    StoreContextMut,
    component::{
        ComponentExportIndex, ComponentNamedList, ComponentType, Lift, Lower, Resource, ResourceAny,
    },
};

use super::{Edge, Exports, InSlot, Inner, Rpc, Slot, Slots};
use crate::{ResponseMetadata, State};

/// How long dropping a stream may take in the callee (its resource's
/// destructor) when the caller's own request has no deadline left to give.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// An instance of the callee unit held for one stream.
pub(super) trait Lease: Send {
    /// Runs `f` on the leased instance (taking it on the first call).
    fn run(
        &mut self,
        deadline: Instant,
        rpc: Rpc,
        f: &mut InSlot<'_>,
    ) -> Result<Option<ResponseMetadata>, Status>;
    /// The callee holds nothing of the stream any more: a pooled instance
    /// may serve others again.
    fn settle(&mut self);
}

/// The status of a call on a stream whose instance failed or was replaced.
fn gone(unit: &str) -> Status {
    Status::unavailable(format!(
        "the instance of `{unit}` serving this stream failed; the stream is gone with it"
    ))
}

pub(super) fn lease<E: Exports>(inner: Arc<Inner<E>>, unit: usize) -> Box<dyn Lease> {
    if matches!(inner.units[unit].slots, Slots::Pool { .. }) {
        Box::new(PoolLease {
            inner,
            unit,
            slot: None,
            taken: false,
            clean: false,
        })
    } else {
        Box::new(SingleLease {
            inner,
            unit,
            instance: None,
        })
    }
}

/// A pooled unit's instance, out of the pool while the stream lives.
struct PoolLease<E: Exports> {
    inner: Arc<Inner<E>>,
    unit: usize,
    slot: Option<Slot<E>>,
    /// An instance was taken (`slot` is `None` after it failed).
    taken: bool,
    /// The callee dropped or consumed its resource.
    clean: bool,
}

impl<E: Exports> Lease for PoolLease<E> {
    fn run(
        &mut self,
        deadline: Instant,
        rpc: Rpc,
        f: &mut InSlot<'_>,
    ) -> Result<Option<ResponseMetadata>, Status> {
        let unit = &self.inner.units[self.unit];
        let Slots::Pool { free, .. } = &unit.slots else {
            return Err(Status::internal("a pooled lease on a stateful unit"));
        };
        if self.slot.is_none() {
            if self.taken {
                return Err(gone(unit.name()));
            }
            self.taken = true;
            let idle = free.lock().pop();
            self.slot = Some(match idle {
                Some(slot) => slot,
                None => unit.instantiate(&self.inner).map_err(Status::from)?,
            });
        }
        let Some(slot) = self.slot.as_mut() else {
            return Err(gone(unit.name()));
        };
        let outcome = unit.run(&self.inner, slot, deadline, rpc, |slot| {
            f(&mut slot.store, &slot.instance, &mut slot.typed)?;
            Ok(slot.store.data_mut().response_metadata.take())
        });
        outcome.map_err(|(_, status)| {
            self.slot = None;
            unit.live.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            status
        })
    }

    fn settle(&mut self) {
        self.clean = true;
    }
}

impl<E: Exports> Drop for PoolLease<E> {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let unit = &self.inner.units[self.unit];
        if let (true, Slots::Pool { free, capacity, .. }) = (self.clean, &unit.slots) {
            let mut free = free.lock();
            if free.len() < *capacity {
                free.push(slot);
                return;
            }
        }
        // Full pool, or an instance still holding the stream's state.
        unit.live.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A stateful unit's only instance, locked for each call on the stream.
struct SingleLease<E: Exports> {
    inner: Arc<Inner<E>>,
    unit: usize,
    /// The instance the stream lives in, once opened.
    instance: Option<u64>,
}

impl<E: Exports> Lease for SingleLease<E> {
    fn run(
        &mut self,
        deadline: Instant,
        rpc: Rpc,
        f: &mut InSlot<'_>,
    ) -> Result<Option<ResponseMetadata>, Status> {
        let unit = &self.inner.units[self.unit];
        let Slots::Single(only) = &unit.slots else {
            return Err(Status::internal("a stateful lease on a pooled unit"));
        };
        let Some(mut guard) = only.try_lock_until(deadline) else {
            return Err(Status::deadline_exceeded(format!(
                "deadline exceeded waiting for `{}` (one instance, busy)",
                unit.name()
            )));
        };
        let slot = match (&mut *guard, self.instance) {
            (Some(slot), Some(id)) if slot.id == id => slot,
            (_, Some(_)) => return Err(gone(unit.name())),
            (Some(slot), None) => slot,
            (empty, None) => {
                tracing::info!(unit = unit.name(), "instantiating");
                empty.insert(unit.instantiate(&self.inner).map_err(Status::from)?)
            }
        };
        self.instance = Some(slot.id);
        let outcome = unit.run(&self.inner, slot, deadline, rpc, |slot| {
            f(&mut slot.store, &slot.instance, &mut slot.typed)?;
            Ok(slot.store.data_mut().response_metadata.take())
        });
        outcome.map_err(|(_, status)| {
            *guard = None;
            unit.live.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            status
        })
    }

    fn settle(&mut self) {}
}

/// A stream (or client or bidi call) across a host-mediated edge, as the
/// caller holds it: a host resource in the caller's store standing for the
/// callee's resource in a leased instance of the callee. `K` tells one
/// resource type of the app from another (the generated host declares a
/// marker type per resource).
///
/// Dropping it drops the callee's resource, which is how a caller that
/// stops reading cancels the callee's stream.
pub struct EdgeStream<K: 'static> {
    lease: Option<Box<dyn Lease>>,
    /// The callee's resource; `None` once consumed (`finish`) or lost.
    resource: Option<ResourceAny>,
    /// Why the stream is unusable: it failed to open, or its instance
    /// failed. Every later call answers with it.
    failed: Option<Status>,
    kind: PhantomData<fn() -> K>,
}

impl<K: 'static> std::fmt::Debug for EdgeStream<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStream")
            .field("open", &self.resource.is_some())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<K: 'static> EdgeStream<K> {
    /// The destructor of the caller's resource (for
    /// `LinkerInstance::resource`): drops the callee's resource too.
    pub fn drop_rep(mut store: StoreContextMut<'_, State>, rep: u32) -> wasmtime::Result<()> {
        let stream = store
            .data_mut()
            .table
            .delete(Resource::<EdgeStream<K>>::new_own(rep))?;
        drop(stream);
        Ok(())
    }

    /// Drops the callee's resource in its instance, if it still has it.
    fn close(&mut self) {
        let (Some(resource), Some(lease)) = (self.resource.take(), self.lease.as_mut()) else {
            return;
        };
        let rpc = Rpc {
            deadline: None,
            metadata: Default::default(),
        };
        let closed = lease.run(Instant::now() + CLOSE_TIMEOUT, rpc, &mut |store, _, _| {
            resource.resource_drop(&mut *store)
        });
        match closed {
            Ok(_) => lease.settle(),
            Err(status) => tracing::debug!(
                "dropping a host-mediated stream failed in the callee: {}",
                status.message()
            ),
        }
    }
}

impl<K: 'static> Drop for EdgeStream<K> {
    fn drop(&mut self) {
        self.close();
    }
}

/// The status of a call on a stream that can take no more calls.
fn unusable<K: 'static>(stream: &EdgeStream<K>) -> Status {
    stream
        .failed
        .clone()
        .unwrap_or_else(|| Status::failed_precondition("the stream was already finished"))
}

impl Edge {
    /// Runs the callee's function `index` with `params` on `lease`'s
    /// instance, with the caller's deadline (see [`Edge::run_with`]).
    fn leased_call<P, R>(
        &self,
        caller: &mut StoreContextMut<'_, State>,
        lease: &mut dyn Lease,
        opens: bool,
        index: ComponentExportIndex,
        params: P,
    ) -> wasmtime::Result<Result<R, Status>>
    where
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let (mut params, mut out) = (Some(params), None);
        let id = self.id;
        let outcome = self.run_with(caller, opens, |_, deadline, rpc| {
            lease.run(
                deadline,
                rpc,
                &mut super::typed_call(id, index, &mut params, &mut out),
            )
        })?;
        match (outcome, out) {
            (Ok(()), Some(r)) => Ok(Ok(r)),
            (Err(status), _) => Ok(Err(status)),
            (Ok(()), None) => Err(wasmtime::Error::msg("host-mediated call returned nothing")),
        }
    }

    /// Leases an instance of the callee and runs there the function that
    /// makes the stream.
    fn open_in<P, R>(
        &self,
        caller: &mut StoreContextMut<'_, State>,
        params: P,
    ) -> wasmtime::Result<(Box<dyn Lease>, Result<R, Status>)>
    where
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let mut lease = Arc::clone(&self.units()?).lease(self.callee);
        let out = match self.index() {
            Ok(index) => self.leased_call(caller, &mut *lease, true, index, params)?,
            Err(status) => Err(status),
        };
        Ok((lease, out))
    }

    /// Opens a server stream: the callee's `func(params) ->
    /// result<stream, E>` on a leased instance. The caller gets its own
    /// resource for the stream, or the callee's error (`on_error` makes
    /// one of a failure).
    pub fn open_stream<K, P, E>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        params: P,
        on_error: impl FnOnce(&Status) -> E,
    ) -> wasmtime::Result<(Result<Resource<EdgeStream<K>>, E>,)>
    where
        K: 'static,
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        E: ComponentType + Lift + Lower + Send + Sync + 'static,
    {
        let (mut lease, out) = self.open_in::<P, (Result<ResourceAny, E>,)>(&mut caller, params)?;
        match out {
            Ok((Ok(resource),)) => {
                let stream = EdgeStream::<K> {
                    lease: Some(lease),
                    resource: Some(resource),
                    failed: None,
                    kind: PhantomData,
                };
                Ok((Ok(caller.data_mut().table.push(stream)?),))
            }
            Ok((Err(error),)) => {
                lease.settle();
                Ok((Err(error),))
            }
            Err(status) => Ok((Err(on_error(&status)),)),
        }
    }

    /// Opens a client or bidi call: the callee's `func(params) -> call`
    /// on a leased instance. It always gives the caller a resource; if the
    /// call could not be opened, every call on it answers with why.
    pub fn open_call<K, P>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        params: P,
    ) -> wasmtime::Result<(Resource<EdgeStream<K>>,)>
    where
        K: 'static,
        P: ComponentNamedList + Lower + Send + Sync + 'static,
    {
        let (lease, out) = self.open_in::<P, (ResourceAny,)>(&mut caller, params)?;
        let (resource, failed) = match out {
            Ok((resource,)) => (Some(resource), None),
            Err(status) => (None, Some(status)),
        };
        let stream = EdgeStream::<K> {
            lease: Some(lease),
            resource,
            failed,
            kind: PhantomData,
        };
        Ok((caller.data_mut().table.push(stream)?,))
    }

    /// A method of the stream (`next`, `send`, `close-send`, `poll-next`):
    /// the callee's function taking its resource (as `params` puts it
    /// among the arguments), run on the leased instance. A failure is
    /// handed to the caller as `on_error` makes it, and ends the stream.
    pub fn stream_call<K, P, R>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        this: &Resource<EdgeStream<K>>,
        params: impl FnOnce(ResourceAny) -> P,
        on_error: impl FnOnce(&Status) -> R,
    ) -> wasmtime::Result<R>
    where
        K: 'static,
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let index = match self.index() {
            Ok(index) => index,
            Err(status) => return Ok(on_error(&status)),
        };
        let stream = caller.data_mut().table.get_mut(this)?;
        let (resource, mut lease) = match (stream.resource, stream.lease.take()) {
            (Some(resource), Some(lease)) => (resource, lease),
            (_, lease) => {
                stream.lease = lease;
                return Ok(on_error(&unusable(stream)));
            }
        };
        let outcome = self.leased_call(&mut caller, &mut *lease, false, index, params(resource));
        let stream = caller.data_mut().table.get_mut(this)?;
        stream.lease = Some(lease);
        match outcome? {
            Ok(r) => Ok(r),
            Err(status) => {
                // The instance (and the callee's resource with it) is gone.
                stream.resource = None;
                stream.failed = Some(status.clone());
                Ok(on_error(&status))
            }
        }
    }

    /// A static function consuming the stream (a client call's `finish`):
    /// the caller's resource is gone after it, the callee's resource is
    /// passed to the callee's function (as `params` puts it), and the
    /// leased instance is released.
    pub fn stream_finish<K, P, R>(
        &self,
        mut caller: StoreContextMut<'_, State>,
        this: Resource<EdgeStream<K>>,
        params: impl FnOnce(ResourceAny) -> P,
        on_error: impl FnOnce(&Status) -> R,
    ) -> wasmtime::Result<R>
    where
        K: 'static,
        P: ComponentNamedList + Lower + Send + Sync + 'static,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let mut stream = caller.data_mut().table.delete(this)?;
        let index = match self.index() {
            Ok(index) => index,
            Err(status) => return Ok(on_error(&status)),
        };
        let (Some(resource), Some(mut lease)) = (stream.resource.take(), stream.lease.take())
        else {
            return Ok(on_error(&unusable(&stream)));
        };
        match self.leased_call(&mut caller, &mut *lease, true, index, params(resource))? {
            Ok(r) => {
                lease.settle();
                Ok(r)
            }
            Err(status) => Ok(on_error(&status)),
        }
    }
}
