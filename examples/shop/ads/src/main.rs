//! Ads: picks an ad for the products a user is buying.

use std::env;

use tonic::transport::Server;
use tonic::{Request, Response, Status};

pub mod shop {
    tonic::include_proto!("shop");
}

use shop::ads_server::{Ads, AdsServer};
use shop::{Ad, AdRequest};

struct App;

#[tonic::async_trait]
impl Ads for App {
    async fn pick(&self, request: Request<AdRequest>) -> Result<Response<Ad>, Status> {
        let text = match request.into_inner().products.first() {
            Some(product) => format!("ad for {product}"),
            None => "ad for everyone".to_string(),
        };
        Ok(Response::new(Ad { text }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("ADS_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:50085".to_string())
        .parse()?;
    eprintln!("ads listening on {addr}");
    Server::builder()
        .add_service(AdsServer::new(App))
        .serve(addr)
        .await?;
    Ok(())
}
