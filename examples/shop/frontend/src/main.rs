//! Frontend: the shop's entry. Adds to carts, checks them out (pricing every
//! item concurrently, and picking an ad) and peeks at them with the caller's
//! deadline passed on.

use std::env;
use std::time::Duration;

use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub mod shop {
    tonic::include_proto!("shop");
}

use shop::ads_client::AdsClient;
use shop::cart_client::CartClient;
use shop::frontend_server::{Frontend, FrontendServer};
use shop::pricing_client::PricingClient;
use shop::{
    AdRequest, AddItemRequest, CartQuery, CartView, CheckoutRequest, Line, Money, Order,
    QuoteRequest,
};

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// The caller's `x-request-id`, if any.
fn request_id(metadata: &MetadataMap) -> Option<AsciiMetadataValue> {
    metadata.get("x-request-id").cloned()
}

/// A request for `message` carrying the caller's request id.
fn forward<T>(message: T, id: Option<AsciiMetadataValue>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(id) = id {
        request.metadata_mut().insert("x-request-id", id);
    }
    request
}

/// The caller's deadline, from its `grpc-timeout` header (an integer and a
/// unit: `H`, `M`, `S`, `m`, `u` or `n`).
fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

fn to_nanos(money: Option<&Money>) -> i128 {
    money.map_or(0, |m| {
        i128::from(m.units) * NANOS_PER_UNIT + i128::from(m.nanos)
    })
}

fn from_nanos(currency_code: String, nanos: i128) -> Result<Money, Status> {
    Ok(Money {
        currency_code,
        units: i64::try_from(nanos / NANOS_PER_UNIT)
            .map_err(|_| Status::out_of_range("total too large"))?,
        nanos: (nanos % NANOS_PER_UNIT) as i32,
    })
}

fn joined(e: tokio::task::JoinError) -> Status {
    Status::internal(format!("call failed: {e}"))
}

struct App {
    cart: CartClient<Channel>,
    pricing: PricingClient<Channel>,
    ads: AdsClient<Channel>,
}

#[tonic::async_trait]
impl Frontend for App {
    async fn add_item(
        &self,
        request: Request<AddItemRequest>,
    ) -> Result<Response<CartView>, Status> {
        let id = request_id(request.metadata());
        let reply = self
            .cart
            .clone()
            .add(forward(request.into_inner(), id))
            .await?;
        let seen = reply.metadata().get("x-cart-seen").cloned();
        let mut response = Response::new(reply.into_inner());
        if let Some(seen) = seen {
            response.metadata_mut().insert("x-cart-seen", seen);
        }
        Ok(response)
    }

    async fn checkout(&self, request: Request<CheckoutRequest>) -> Result<Response<Order>, Status> {
        let id = request_id(request.metadata());
        let CheckoutRequest { user, currency } = request.into_inner();
        let query = CartQuery {
            user: user.clone(),
            delay_ms: 0,
        };
        let cart = self
            .cart
            .clone()
            .get(forward(query, id))
            .await?
            .into_inner();

        // Every quote and the ad at once; then wait for each, in cart order.
        let quotes: Vec<_> = cart
            .items
            .iter()
            .map(|item| {
                let mut pricing = self.pricing.clone();
                let quote = QuoteRequest {
                    product: item.product.clone(),
                    quantity: item.quantity,
                    currency: currency.clone(),
                };
                tokio::spawn(async move { pricing.quote(quote).await })
            })
            .collect();
        let mut ads = self.ads.clone();
        let products = cart.items.iter().map(|i| i.product.clone()).collect();
        let ad = tokio::spawn(async move { ads.pick(AdRequest { products }).await });

        let mut lines = Vec::with_capacity(quotes.len());
        let mut total = 0;
        let mut items = 0u32;
        for (item, quote) in cart.items.into_iter().zip(quotes) {
            let quote = quote.await.map_err(joined)??.into_inner();
            total += to_nanos(quote.total.as_ref());
            items = items.saturating_add(item.quantity);
            lines.push(Line {
                product: item.product,
                quantity: item.quantity,
                unit_price: quote.unit,
                total: quote.total,
            });
        }
        let ad = ad.await.map_err(joined)??.into_inner().text;

        Ok(Response::new(Order {
            user,
            lines,
            total: Some(from_nanos(currency, total)?),
            ad,
            items,
        }))
    }

    async fn peek(&self, request: Request<CartQuery>) -> Result<Response<CartView>, Status> {
        let id = request_id(request.metadata());
        let timeout = grpc_timeout(request.metadata());
        let mut query = forward(request.into_inner(), id);
        if let Some(timeout) = timeout {
            query.set_timeout(timeout);
        }
        let reply = self.cart.clone().get(query).await?;
        Ok(Response::new(reply.into_inner()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("FRONTEND_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:50081".to_string())
        .parse()?;
    let cart_addr = env::var("CART_ADDR").unwrap_or_else(|_| "http://127.0.0.1:50082".into());
    let pricing_addr = env::var("PRICING_ADDR").unwrap_or_else(|_| "http://127.0.0.1:50083".into());
    let ads_addr = env::var("ADS_ADDR").unwrap_or_else(|_| "http://127.0.0.1:50085".into());
    let cart = CartClient::new(Channel::from_shared(cart_addr)?.connect_lazy());
    let pricing = PricingClient::new(Channel::from_shared(pricing_addr)?.connect_lazy());
    let ads = AdsClient::new(Channel::from_shared(ads_addr)?.connect_lazy());
    eprintln!("frontend listening on {addr}");
    Server::builder()
        .add_service(FrontendServer::new(App { cart, pricing, ads }))
        .serve(addr)
        .await?;
    Ok(())
}
