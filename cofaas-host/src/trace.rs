//! Tracing: the host's log, a span per public call (`rpc`, carrying the
//! trace id of an incoming W3C `traceparent`) and per host-mediated edge
//! (`edge`, at debug level), and with `--otlp` their export by OTLP/gRPC,
//! so that one request shows as one trace across the functions it reaches.

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::{HostError, Metadata};

/// A W3C trace context (`traceparent`): its trace id, the caller's span id
/// and the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id.
    pub trace_id: TraceId,
    /// The parent span's id.
    pub span_id: SpanId,
    /// The trace flags (`01`: sampled).
    pub flags: u8,
}

/// Parses a `traceparent` value, `00-<32 hex>-<16 hex>-<2 hex>` (a later
/// version may append fields); `None` for anything else, including the
/// all-zero ids the format forbids.
pub fn parse_traceparent(value: &[u8]) -> Option<TraceParent> {
    let value = std::str::from_utf8(value).ok()?;
    let mut parts = value.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    if !hex(version, 2) || version == "ff" || !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(span).ok()?;
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    Some(TraceParent {
        trace_id,
        span_id,
        flags: u8::from_str_radix(flags, 16).ok()?,
    })
}

/// The span of a public call of `method`: a child of the caller's span
/// when the request carries a `traceparent`, whose trace id it records.
pub(crate) fn rpc_span(method: &str, metadata: &Metadata) -> tracing::Span {
    let span = tracing::info_span!("rpc", rpc.method = method, trace_id = tracing::field::Empty);
    let parent = metadata
        .iter()
        .find(|(k, _)| k == "traceparent")
        .and_then(|(_, v)| parse_traceparent(v));
    if let Some(parent) = parent {
        span.record("trace_id", tracing::field::display(parent.trace_id));
        let remote = SpanContext::new(
            parent.trace_id,
            parent.span_id,
            TraceFlags::new(parent.flags),
            true,
            TraceState::default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    span
}

/// Sets up the host's tracing: logs to stderr at `RUST_LOG`'s level (info
/// by default) and, with `otlp`, the export of the host's spans (debug
/// level and up, whatever `RUST_LOG` says) to that OTLP/gRPC endpoint. The
/// provider returned must be shut down at exit, to flush what is left.
///
/// Call it inside a Tokio runtime when `otlp` is set: the exporter's
/// connection runs on it.
pub fn init_tracing(otlp: Option<&str>) -> Result<Option<SdkTracerProvider>, HostError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter);
    let Some(endpoint) = otlp else {
        let _ = tracing_subscriber::registry().with(fmt).try_init();
        return Ok(None);
    };
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| HostError::Usage {
            message: format!("--otlp {endpoint}: {e}"),
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("cofaas-host")
                .build(),
        )
        .build();
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("cofaas-host"))
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("cofaas_host", tracing::Level::DEBUG),
        );
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init();
    Ok(Some(provider))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparents_parse_as_w3c_says() {
        let tp =
            parse_traceparent(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(tp.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.span_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(tp.flags, 1);
        // A later version may add fields; version 00 may not.
        assert!(
            parse_traceparent(b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
                .is_some()
        );
        for bad in [
            &b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"[..],
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            b"garbage",
            b"",
        ] {
            assert!(
                parse_traceparent(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
