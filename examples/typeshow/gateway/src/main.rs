//! Gateway function of the typeshow example, a test fixture for cofaas.
//!
//! Serves `shop.Gateway`, the app's public entry. `Checkout` sends the order
//! to the pricing function and wraps the quote in a receipt; `Ping` forwards
//! an `Empty`. Errors from pricing are returned unchanged.

use std::env;

use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub mod shop {
    tonic::include_proto!("shop");
}

use shop::gateway_server::{Gateway, GatewayServer};
use shop::pricing_client::PricingClient;
use shop::{Order, Receipt};

const DEFAULT_LISTEN: &str = "127.0.0.1:50071";
const DEFAULT_PRICING: &str = "http://127.0.0.1:50072";

pub struct Front {
    pricing: PricingClient<Channel>,
}

#[tonic::async_trait]
impl Gateway for Front {
    async fn checkout(&self, request: Request<Order>) -> Result<Response<Receipt>, Status> {
        let order = request.into_inner();
        let quote = self
            .pricing
            .clone()
            .quote(Request::new(order))
            .await?
            .into_inner();
        let lines = quote.order.as_ref().map_or(0, |o| o.lines.len());
        let summary = format!(
            "{lines} lines, {} micros, {} notes",
            quote.total_micros,
            quote.notes.len()
        );
        Ok(Response::new(Receipt {
            quote: Some(quote),
            summary,
        }))
    }

    async fn ping(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        self.pricing.clone().ping(Request::new(())).await?;
        Ok(Response::new(()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("GATEWAY_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;
    let pricing_url = env::var("PRICING_ADDR").unwrap_or_else(|_| DEFAULT_PRICING.to_string());
    let pricing = PricingClient::connect(pricing_url.clone()).await?;

    eprintln!("gateway listening on {addr} (pricing at {pricing_url})");
    Server::builder()
        .add_service(GatewayServer::new(Front { pricing }))
        .serve(addr)
        .await?;
    Ok(())
}
