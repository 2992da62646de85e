//! Front function of the mixed app (Rust → Go → Rust).
//!
//! Serves `mixed.Front`, the app's public entry. `Handle` passes the job to
//! the Go middle's `mixed.Middle/Transform` and returns its report with
//! "front" added to the trail. Errors from the middle (its statuses with
//! details, or UNAVAILABLE if it is gone) are returned unchanged.
//!
//! A job named "inner-timeout" is passed on as "sleep" with a 50 ms timeout
//! (`Request::set_timeout`); the middle sleeps for a second, so the call
//! fails, and the front carries on: it reports the status code the call
//! failed with and whether it came back within half a second.

use std::env;
use std::time::{Duration, Instant};

use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub mod mixed {
    tonic::include_proto!("mixed");
}

use mixed::front_server::{Front, FrontServer};
use mixed::middle_client::MiddleClient;
use mixed::{Job, Report, UpstreamError};

const DEFAULT_LISTEN: &str = "127.0.0.1:50081";
const DEFAULT_MIDDLE: &str = "http://127.0.0.1:50082";

pub struct Gateway {
    middle: MiddleClient<Channel>,
}

#[tonic::async_trait]
impl Front for Gateway {
    async fn handle(&self, request: Request<Job>) -> Result<Response<Report>, Status> {
        let mut job = request.into_inner();
        if job.name == "inner-timeout" {
            job.name = "sleep".to_string();
            let mut inner = Request::new(job.clone());
            inner.set_timeout(Duration::from_millis(50));
            let started = Instant::now();
            let result = self.middle.clone().transform(inner).await;
            let prompt = started.elapsed() < Duration::from_millis(500);
            let mut report = Report {
                job_id: job.id,
                trail: vec!["front".to_string()],
                ..Default::default()
            };
            report
                .labels
                .insert("within_500ms".to_string(), prompt.to_string());
            if let Err(status) = result {
                // Only the code: natively, tonic's own timer ("Timeout
                // expired") and the server's stream reset race, both
                // CANCELLED.
                report.upstream = Some(UpstreamError {
                    code: status.code() as i32,
                    ..Default::default()
                });
            }
            return Ok(Response::new(report));
        }
        // The job id goes to Middle as metadata; Middle's response header
        // and trailer come back.
        let mut request = Request::new(job);
        if let Ok(id) = request.get_ref().id.parse() {
            request.metadata_mut().insert("x-job-id", id);
        }
        request.metadata_mut().insert_bin(
            "trace-bin",
            tonic::metadata::MetadataValue::from_bytes(&[0x00, 0xfe]),
        );
        let response = self.middle.clone().transform(request).await?;
        let seen: Vec<(String, String)> = ["x-middle", "x-middle-trailer"]
            .iter()
            .filter_map(|k| {
                let v = response.metadata().get(*k)?.to_str().ok()?;
                Some((format!("front-got-{k}"), v.to_string()))
            })
            .collect();
        let mut report = response.into_inner();
        report.labels.extend(seen);
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
