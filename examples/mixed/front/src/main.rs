//! Front function of the mixed app (Rust → Go → Rust).
//!
//! Serves `mixed.Front`, the app's public entry. `Handle` passes the job to
//! the Go middle's `mixed.Middle/Transform` and returns its report with
//! "front" added to the trail. Errors from the middle (its statuses with
//! details, or UNAVAILABLE if it is gone) are returned unchanged.

use std::env;

use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub mod mixed {
    tonic::include_proto!("mixed");
}

use mixed::front_server::{Front, FrontServer};
use mixed::middle_client::MiddleClient;
use mixed::{Job, Report};

const DEFAULT_LISTEN: &str = "127.0.0.1:50081";
const DEFAULT_MIDDLE: &str = "http://127.0.0.1:50082";

pub struct Gateway {
    middle: MiddleClient<Channel>,
}

#[tonic::async_trait]
impl Front for Gateway {
    async fn handle(&self, request: Request<Job>) -> Result<Response<Report>, Status> {
        let job = request.into_inner();
        let mut report = self
            .middle
            .clone()
            .transform(Request::new(job))
            .await?
            .into_inner();
        report.trail.push("front".to_string());
        Ok(Response::new(report))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("FRONT_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;
    let middle_url = env::var("MIDDLE_ADDR").unwrap_or_else(|_| DEFAULT_MIDDLE.to_string());
    let middle = MiddleClient::connect(middle_url.clone()).await?;

    eprintln!("front listening on {addr} (middle at {middle_url})");
    Server::builder()
        .add_service(FrontServer::new(Gateway { middle }))
        .serve(addr)
        .await?;
    Ok(())
}
