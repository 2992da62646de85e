//! Currency: converts money between currencies at fixed rates, in whole
//! nanos (so the same amount always converts to the same result).

use std::env;

use tonic::transport::Server;
use tonic::{Request, Response, Status};

pub mod shop {
    tonic::include_proto!("shop");
}

use shop::currency_server::{Currency, CurrencyServer};
use shop::{ConvertRequest, Money};

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Thousandths of a unit of `code` one US dollar buys.
fn rate(code: &str) -> Result<i128, Status> {
    match code {
        "USD" => Ok(1_000),
        "EUR" => Ok(900),
        "JPY" => Ok(150_000),
        "GBP" => Ok(800),
        _ => Err(Status::not_found(format!("unknown currency `{code}`"))),
    }
}

struct App;

#[tonic::async_trait]
impl Currency for App {
    async fn convert(&self, request: Request<ConvertRequest>) -> Result<Response<Money>, Status> {
        let ConvertRequest { from, to_code } = request.into_inner();
        let from = from.ok_or_else(|| Status::invalid_argument("missing amount"))?;
        let from_rate = rate(&from.currency_code)?;
        let to_rate = rate(&to_code)?;
        let nanos = i128::from(from.units) * NANOS_PER_UNIT + i128::from(from.nanos);
        let converted = nanos * to_rate / from_rate;
        let units = i64::try_from(converted / NANOS_PER_UNIT)
            .map_err(|_| Status::out_of_range("amount too large"))?;
        Ok(Response::new(Money {
            currency_code: to_code,
            units,
            nanos: (converted % NANOS_PER_UNIT) as i32,
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("CURRENCY_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:50084".to_string())
        .parse()?;
    eprintln!("currency listening on {addr}");
    Server::builder()
        .add_service(CurrencyServer::new(App))
        .serve(addr)
        .await?;
    Ok(())
}
