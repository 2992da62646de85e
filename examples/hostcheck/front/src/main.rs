//! Front function of the hostcheck app, a test fixture for the cofaas host.
//!
//! Serves `hostcheck.Front`, the app's public entry. `Call` with action
//! `count` increments the stateful counter and reports the new total; any
//! other job is forwarded to the worker (which echoes, traps, loops, allocates
//! without bound, fails with a status or sleeps, as the job says). Errors from
//! the worker or the counter are returned to the caller unchanged, so the host
//! can check that statuses, traps and limits propagate across a call chain.

use std::env;

use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub mod hostcheck {
    tonic::include_proto!("hostcheck");
}

use hostcheck::counter_client::CounterClient;
use hostcheck::front_server::{Front, FrontServer};
use hostcheck::worker_client::WorkerClient;
use hostcheck::{Job, Outcome, Tick};

const DEFAULT_LISTEN: &str = "127.0.0.1:50061";
const DEFAULT_WORKER: &str = "http://127.0.0.1:50062";
const DEFAULT_COUNTER: &str = "http://127.0.0.1:50063";

pub struct Gateway {
    worker: WorkerClient<Channel>,
    counter: CounterClient<Channel>,
}

#[tonic::async_trait]
impl Front for Gateway {
    async fn call(&self, request: Request<Job>) -> Result<Response<Outcome>, Status> {
        let job = request.into_inner();
        if job.action == "count" {
            let count = self
                .counter
                .clone()
                .increment(Request::new(Tick { by: 1 }))
                .await?
                .into_inner();
            return Ok(Response::new(Outcome {
                text: "counted".to_string(),
                value: count.total,
                payload: Vec::new(),
            }));
        }
        let outcome = self
            .worker
            .clone()
            .work(Request::new(job))
            .await?
            .into_inner();
        Ok(Response::new(outcome))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("FRONT_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;
    let worker_url = env::var("WORKER_ADDR").unwrap_or_else(|_| DEFAULT_WORKER.to_string());
    let counter_url = env::var("COUNTER_ADDR").unwrap_or_else(|_| DEFAULT_COUNTER.to_string());

    let worker = WorkerClient::connect(worker_url.clone()).await?;
    let counter = CounterClient::connect(counter_url.clone()).await?;
    let front = Gateway { worker, counter };

    eprintln!("front listening on {addr} (worker at {worker_url}, counter at {counter_url})");
    Server::builder()
        .add_service(FrontServer::new(front))
        .serve(addr)
        .await?;
    Ok(())
}
