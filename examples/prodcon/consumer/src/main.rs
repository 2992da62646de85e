//! Consumer function of the prodcon app.
//!
//! Serves `prodcon.ProducerConsumer`: `ConsumeByte` accepts any payload and
//! reports how many bytes it received.

use std::env;

use tonic::transport::Server;
use tonic::{Request, Response, Status};

pub mod helloworld {
    tonic::include_proto!("helloworld");
}

pub mod prodcon {
    tonic::include_proto!("prodcon");
}

use prodcon::producer_consumer_server::{ProducerConsumer, ProducerConsumerServer};
use prodcon::{ConsumeByteReply, ConsumeByteRequest};

const DEFAULT_LISTEN: &str = "127.0.0.1:50052";

#[derive(Default)]
pub struct Consumer;

#[tonic::async_trait]
impl ProducerConsumer for Consumer {
    async fn consume_byte(
        &self,
        request: Request<ConsumeByteRequest>,
    ) -> Result<Response<ConsumeByteReply>, Status> {
        let req = request.into_inner();
        Ok(Response::new(ConsumeByteReply {
            value: true,
            length: req.value.len() as i64,
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("CONSUMER_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;

    eprintln!("consumer listening on {addr}");
    Server::builder()
        .add_service(ProducerConsumerServer::new(Consumer))
        .serve(addr)
        .await?;
    Ok(())
}
