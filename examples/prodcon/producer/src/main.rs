//! Producer function of the prodcon app.
//!
//! Serves `helloworld.Greeter`. Each `SayHello` makes `calls` unary
//! `prodcon.ProducerConsumer/ConsumeByte` calls to the consumer, each carrying
//! `payload_kib` KiB, and reports how many bytes the consumer received (and,
//! on request, the mean call latency).

use std::env;
use std::time::Instant;

use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

pub mod helloworld {
    tonic::include_proto!("helloworld");
}

pub mod prodcon {
    tonic::include_proto!("prodcon");
}

use helloworld::greeter_server::{Greeter, GreeterServer};
use helloworld::{HelloReply, HelloRequest};
use prodcon::ConsumeByteRequest;
use prodcon::producer_consumer_client::ProducerConsumerClient;

const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
const DEFAULT_CONSUMER: &str = "http://127.0.0.1:50052";

/// Largest accepted `payload_kib`: one call must fit in tonic's default 4 MiB
/// message limit, including the protobuf framing.
const MAX_PAYLOAD_KIB: u32 = 4095;

pub struct Producer {
    consumer: ProducerConsumerClient<Channel>,
}

#[tonic::async_trait]
impl Greeter for Producer {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let req = request.into_inner();
        if req.payload_kib > MAX_PAYLOAD_KIB {
            return Err(Status::invalid_argument(format!(
                "payload_kib must be at most {MAX_PAYLOAD_KIB}, got {}",
                req.payload_kib
            )));
        }
        let calls = req.calls.max(1);
        let kib = req.payload_kib;
        let payload: Vec<u8> = (0..kib as usize * 1024).map(|i| i as u8).collect();

        let mut bytes_consumed: u64 = 0;
        let mut total_ns: u128 = 0;
        for _ in 0..calls {
            let t = Instant::now();
            let reply = self
                .consumer
                .clone()
                .consume_byte(Request::new(ConsumeByteRequest {
                    value: payload.clone(),
                }))
                .await?
                .into_inner();
            total_ns += t.elapsed().as_nanos();
            if !reply.value {
                return Err(Status::internal("consumer rejected the payload"));
            }
            let length = u64::try_from(reply.length).map_err(|_| {
                Status::internal(format!("consumer reported length {}", reply.length))
            })?;
            bytes_consumed += length;
        }

        let mean_latency_ns = if req.measure_latency {
            u64::try_from(total_ns / u128::from(calls)).unwrap_or(u64::MAX)
        } else {
            0
        };
        let message = format!(
            "Hello {}! {calls} call(s) of {kib} KiB consumed, {bytes_consumed} bytes received",
            req.name
        );
        Ok(Response::new(HelloReply {
            message,
            bytes_consumed,
            mean_latency_ns,
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("PRODUCER_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;
    let consumer_url = env::var("CONSUMER_ADDR").unwrap_or_else(|_| DEFAULT_CONSUMER.to_string());

    let consumer = ProducerConsumerClient::connect(consumer_url.clone()).await?;
    let producer = Producer { consumer };

    eprintln!("producer listening on {addr} (consumer at {consumer_url})");
    Server::builder()
        .add_service(GreeterServer::new(producer))
        .serve(addr)
        .await?;
    Ok(())
}
