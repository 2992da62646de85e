//! Counter function of the hostcheck app, a test fixture for the cofaas host.
//!
//! Serves `hostcheck.Counter`. It is stateful on purpose: the count lives in
//! memory in the service value, so repeated `Increment`s only add up if every
//! call reaches the same instance (`cofaas.toml` does not mark it stateless).

use std::env;
use std::sync::atomic::{AtomicU64, Ordering};

use tonic::transport::Server;
use tonic::{Request, Response, Status};

pub mod hostcheck {
    tonic::include_proto!("hostcheck");
}

use hostcheck::counter_server::{Counter, CounterServer};
use hostcheck::{Count, Tick};

const DEFAULT_LISTEN: &str = "127.0.0.1:50063";

#[derive(Default)]
pub struct Tally {
    total: AtomicU64,
}

#[tonic::async_trait]
impl Counter for Tally {
    async fn increment(&self, request: Request<Tick>) -> Result<Response<Count>, Status> {
        let by = request.into_inner().by;
        let total = self.total.fetch_add(by, Ordering::SeqCst).wrapping_add(by);
        Ok(Response::new(Count { total }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("COUNTER_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;

    eprintln!("counter listening on {addr}");
    Server::builder()
        .add_service(CounterServer::new(Tally::default()))
        .serve(addr)
        .await?;
    Ok(())
}
