//! Pricing: quotes a product in a currency. The US dollar price comes from
//! the product's name; Currency converts it.

use std::env;

use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub mod shop {
    tonic::include_proto!("shop");
}

use shop::currency_client::CurrencyClient;
use shop::pricing_server::{Pricing, PricingServer};
use shop::{ConvertRequest, Money, Quote, QuoteRequest};

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// The price of `product` in US cents: the sum of its bytes modulo 5000,
/// at least 100.
fn usd_cents(product: &str) -> i64 {
    let sum: i64 = product.bytes().map(i64::from).sum();
    (sum % 5000).max(100)
}

struct App {
    currency: CurrencyClient<Channel>,
}

#[tonic::async_trait]
impl Pricing for App {
    async fn quote(&self, request: Request<QuoteRequest>) -> Result<Response<Quote>, Status> {
        let QuoteRequest {
            product,
            quantity,
            currency,
        } = request.into_inner();
        if product.is_empty() {
            return Err(Status::invalid_argument("unknown product ``"));
        }
        let cents = usd_cents(&product);
        let usd = Money {
            currency_code: "USD".to_string(),
            units: cents / 100,
            nanos: (cents % 100) as i32 * 10_000_000,
        };
        let unit = self
            .currency
            .clone()
            .convert(Request::new(ConvertRequest {
                from: Some(usd),
                to_code: currency,
            }))
            .await?
            .into_inner();

        let nanos = (i128::from(unit.units) * NANOS_PER_UNIT + i128::from(unit.nanos))
            * i128::from(quantity);
        let total = Money {
            currency_code: unit.currency_code.clone(),
            units: i64::try_from(nanos / NANOS_PER_UNIT)
                .map_err(|_| Status::out_of_range("total too large"))?,
            nanos: (nanos % NANOS_PER_UNIT) as i32,
        };
        Ok(Response::new(Quote {
            product,
            unit: Some(unit),
            total: Some(total),
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("PRICING_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:50083".to_string())
        .parse()?;
    let currency_addr =
        env::var("CURRENCY_ADDR").unwrap_or_else(|_| "http://127.0.0.1:50084".into());
    let currency = CurrencyClient::new(Channel::from_shared(currency_addr)?.connect_lazy());
    eprintln!("pricing listening on {addr}");
    Server::builder()
        .add_service(PricingServer::new(App { currency }))
        .serve(addr)
        .await?;
    Ok(())
}
