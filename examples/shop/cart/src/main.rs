//! Cart: keeps every user's cart in memory (so it is stateful: one
//! instance) and counts the Add calls it accepted.

use std::collections::BTreeMap;
use std::env;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tonic::metadata::{AsciiMetadataValue, MetadataMap, MetadataValue};
use tonic::transport::Server;
use tonic::{Request, Response, Status};

pub mod shop {
    tonic::include_proto!("shop");
}

use shop::cart_server::{Cart, CartServer};
use shop::{AddItemRequest, CartQuery, CartView, Item};

#[derive(Default)]
struct App {
    carts: Mutex<BTreeMap<String, Vec<Item>>>,
    adds: AtomicU64,
}

/// The `x-cart-seen` header: the request id the caller sent, or `none`.
fn seen(inbound: &MetadataMap) -> AsciiMetadataValue {
    inbound
        .get("x-request-id")
        .cloned()
        .unwrap_or_else(|| MetadataValue::from_static("none"))
}

/// `view` with its `x-cart-seen` header.
fn answer(view: CartView, seen: AsciiMetadataValue) -> Response<CartView> {
    let mut response = Response::new(view);
    response.metadata_mut().insert("x-cart-seen", seen);
    response
}

/// The carts' lock was poisoned by a panic in another request.
fn poisoned() -> Status {
    Status::internal("the carts are unavailable: a request panicked while holding them")
}

#[tonic::async_trait]
impl Cart for App {
    async fn add(&self, request: Request<AddItemRequest>) -> Result<Response<CartView>, Status> {
        let seen = seen(request.metadata());
        let add = request.into_inner();
        if add.quantity == 0 {
            return Err(Status::invalid_argument("quantity must be positive"));
        }
        let mut carts = self.carts.lock().map_err(|_| poisoned())?;
        let items = carts.entry(add.user.clone()).or_default();
        match items.iter_mut().find(|i| i.product == add.product) {
            Some(item) => item.quantity = item.quantity.saturating_add(add.quantity),
            None => items.push(Item {
                product: add.product,
                quantity: add.quantity,
            }),
        }
        let view = CartView {
            user: add.user,
            items: items.clone(),
            adds: self.adds.fetch_add(1, Ordering::SeqCst) + 1,
        };
        drop(carts);
        Ok(answer(view, seen))
    }

    async fn get(&self, request: Request<CartQuery>) -> Result<Response<CartView>, Status> {
        let seen = seen(request.metadata());
        let query = request.into_inner();
        if query.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(query.delay_ms.into())).await;
        }
        let carts = self.carts.lock().map_err(|_| poisoned())?;
        let view = CartView {
            items: carts.get(&query.user).cloned().unwrap_or_default(),
            user: query.user,
            adds: self.adds.load(Ordering::SeqCst),
        };
        drop(carts);
        Ok(answer(view, seen))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("CART_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:50082".to_string())
        .parse()?;
    eprintln!("cart listening on {addr}");
    Server::builder()
        .add_service(CartServer::new(App::default()))
        .serve(addr)
        .await?;
    Ok(())
}
