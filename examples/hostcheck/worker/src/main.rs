//! Worker function of the hostcheck app, a test fixture for the cofaas host.
//!
//! Serves `hostcheck.Worker`. `Work` misbehaves on request so the host's
//! handling of each case can be tested:
//!
//! - `echo`: replies `echo <arg>`, `2 * arg` (wrapping) and the payload as is;
//! - `trap`: panics (a trap once compiled to Wasm);
//! - `loop`: spins forever on opaque work (for fuel / epoch limits);
//! - `alloc`: allocates 1 MiB blocks forever, keeping them (memory limits);
//! - `fail`: returns a `FailedPrecondition` status with binary details;
//! - `sleep`: blocks for `arg` ms, then replies `slept`;
//! - anything else: `InvalidArgument`.

use std::env;
use std::time::Duration;

use tonic::transport::Server;
use tonic::{Code, Request, Response, Status};

pub mod hostcheck {
    tonic::include_proto!("hostcheck");
}

use hostcheck::worker_server::{Worker, WorkerServer};
use hostcheck::{Job, Outcome};

const DEFAULT_LISTEN: &str = "127.0.0.1:50062";

/// Size of each block `alloc` holds on to.
const ALLOC_BLOCK: usize = 1 << 20;

#[derive(Default)]
pub struct Labourer;

#[tonic::async_trait]
impl Worker for Labourer {
    async fn work(&self, request: Request<Job>) -> Result<Response<Outcome>, Status> {
        let Job {
            action,
            arg,
            payload,
        } = request.into_inner();
        match action.as_str() {
            "echo" => Ok(Response::new(Outcome {
                text: format!("echo {arg}"),
                value: arg.wrapping_mul(2),
                payload,
            })),
            "trap" => panic!("worker asked to trap (arg {arg})"),
            "loop" => {
                let mut x = arg;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; ALLOC_BLOCK]));
                    std::hint::black_box(&hoard);
                }
            }
            "fail" => Err(Status::with_details(
                Code::FailedPrecondition,
                format!("worker refuses job {arg}"),
                // `.into()` from a Vec: tonic takes `Bytes`, the cofaas stub
                // takes `Vec<u8>`.
                b"\x08\x09detail".to_vec().into(),
            )),
            "sleep" => {
                std::thread::sleep(Duration::from_millis(arg));
                Ok(Response::new(Outcome {
                    text: "slept".to_string(),
                    value: arg,
                    payload: Vec::new(),
                }))
            }
            // Connects to the TCP address in the payload: in the
            // consolidated host there are no sockets unless granted.
            "connect" => {
                let addr = String::from_utf8_lossy(&payload).into_owned();
                match std::net::TcpStream::connect(&addr) {
                    Ok(_) => Ok(Response::new(Outcome {
                        text: "connected".to_string(),
                        value: 0,
                        payload: Vec::new(),
                    })),
                    Err(e) => Err(Status::permission_denied(format!(
                        "cannot connect to {addr}: {e}"
                    ))),
                }
            }
            // The environment variable named by the payload: in the
            // consolidated host only the granted ones are set.
            "env" => {
                let name = String::from_utf8_lossy(&payload).into_owned();
                match std::env::var(&name) {
                    Ok(value) => Ok(Response::new(Outcome {
                        text: "env".to_string(),
                        value: value.len() as u64,
                        payload: value.into_bytes(),
                    })),
                    Err(e) => Err(Status::not_found(format!("{name}: {e}"))),
                }
            }
            // Reads the file named by the payload: natively it can, in the
            // consolidated host it has no filesystem unless granted.
            "read" => {
                let path = String::from_utf8_lossy(&payload).into_owned();
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Response::new(Outcome {
                        text: "read".to_string(),
                        value: bytes.len() as u64,
                        payload: bytes,
                    })),
                    Err(e) => Err(Status::permission_denied(format!(
                        "cannot read {path}: {e}"
                    ))),
                }
            }
            other => Err(Status::invalid_argument(format!(
                "unknown action `{other}`"
            ))),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("WORKER_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;

    eprintln!("worker listening on {addr}");
    Server::builder()
        .add_service(WorkerServer::new(Labourer))
        .serve(addr)
        .await?;
    Ok(())
}
