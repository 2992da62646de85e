//! Trace context: with `--otlp`, the host exports a span per public call,
//! a child of the client's W3C `traceparent` (same trace id), and a span per
//! host-mediated edge under it, to an OTLP/gRPC collector (a fake one here,
//! speaking opentelemetry-proto's TraceService).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cofaas::demo::start_host;
use cofaas::helloworld::HelloRequest;
use cofaas::helloworld::greeter_client::GreeterClient;
use cofaas::pipeline::build;
use cofaas::units::LinkMode;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;

#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_request_is_one_trace_across_the_host() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = format!("http://{}", listener.local_addr().unwrap());
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    // Every edge host-mediated: producer → consumer gets an `edge` span.
    let opts = common::build_options("prodcon", LinkMode::Mediated, "trace");
    let otlp_arg = otlp.clone();
    let host = tokio::task::spawn_blocking(move || {
        let artifacts = build(&opts).unwrap();
        start_host(&artifacts, None, &["--otlp", &otlp_arg], false).unwrap()
    })
    .await
    .unwrap();

    let mut client = GreeterClient::connect(format!("http://{}", host.addr))
        .await
        .unwrap();
    let mut request = tonic::Request::new(HelloRequest {
        name: "traced".into(),
        calls: 2,
        payload_kib: 1,
        ..Default::default()
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_ID}-01").parse().unwrap(),
    );
    client.say_hello(request).await.unwrap();
    // A clean stop flushes the spans not exported yet.
    drop(host);

    let started = Instant::now();
    let spans = loop {
        let spans = collector.spans.lock().unwrap().clone();
        let edges = spans.iter().filter(|s| s.name == "edge").count();
        if spans.iter().any(|s| s.name == "rpc") && edges >= 2 {
            break spans;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "spans exported: {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let rpc: Vec<&Span> = spans.iter().filter(|s| s.name == "rpc").collect();
    assert_eq!(rpc.len(), 1, "one public call");
    let rpc = rpc[0];
    assert_eq!(hex(&rpc.trace_id), TRACE_ID, "the client's trace");
    assert_eq!(
        hex(&rpc.parent_span_id),
        PARENT_ID,
        "a child of the client's span"
    );
    let edges: Vec<&Span> = spans.iter().filter(|s| s.name == "edge").collect();
    assert_eq!(edges.len(), 2, "one span per host-mediated call (calls: 2)");
    for edge in edges {
        assert_eq!(hex(&edge.trace_id), TRACE_ID);
        assert_eq!(
            edge.parent_span_id, rpc.span_id,
            "under the public call's span"
        );
        let caller = edge.attributes.iter().find(|a| a.key == "caller");
        assert!(
            format!("{caller:?}").contains("producer"),
            "the edge names its caller: {:?}",
            edge.attributes
        );
    }
}
