//! gRPC metadata across calls: what a public call brings in ([`Inbound`]),
//! what a function answers with ([`ResponseMetadata`]), and their wire form.
//!
//! Inside the app metadata travels as the rpc-context interface carries it
//! ([`Metadata`]): lowercase keys in order, values as bytes, a `-bin` key's
//! value decoded. At the host's public edge it is HTTP/2 headers, a `-bin`
//! value base64-encoded, as tonic and grpc-go put it on the wire.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::Frame;
use tonic::metadata::{KeyAndValueRef, MetadataMap};
use wasmtime::component::{ComponentType, Lift, Lower};

/// Metadata as the rpc-context interface carries it: `(key, value)` pairs in
/// order, a repeated key repeated; a `-bin` key's value is its binary value.
pub type Metadata = Vec<(String, Vec<u8>)>;

/// The response headers and trailers of an rpc (rpc-context's
/// `response-metadata`).
#[derive(ComponentType, Lift, Lower, Debug, Clone, Default, PartialEq, Eq)]
#[component(record)]
pub struct ResponseMetadata {
    /// Headers, sent before the reply.
    pub headers: Metadata,
    /// Trailers, sent after it (with the status).
    pub trailers: Metadata,
}

/// What a public call brings besides its message: the client's timeout
/// and its request metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbound {
    /// The time the host gives the call ([`crate::request_timeout`]).
    pub timeout: Option<Duration>,
    /// The request metadata, every header the client sent but
    /// `grpc-timeout` (the function sees that as its rpc's deadline).
    pub metadata: Metadata,
}

impl Inbound {
    /// The timeout and metadata of `request`.
    pub fn of<T>(request: &tonic::Request<T>) -> Self {
        Self {
            timeout: crate::request_timeout(request),
            metadata: from_map(request.metadata(), |key| key == "grpc-timeout"),
        }
    }
}

/// The entries of `map` as [`Metadata`], binary values decoded, leaving out
/// the keys `skip` names (a binary value that is not base64 is dropped).
pub(crate) fn from_map(map: &MetadataMap, skip: impl Fn(&str) -> bool) -> Metadata {
    let mut metadata = Vec::with_capacity(map.len());
    for entry in map.iter() {
        match entry {
            KeyAndValueRef::Ascii(key, value) => {
                if !skip(key.as_str()) {
                    metadata.push((key.as_str().to_string(), value.as_encoded_bytes().to_vec()));
                }
            }
            KeyAndValueRef::Binary(key, value) => match value.to_bytes() {
                Ok(bytes) if !skip(key.as_str()) => {
                    metadata.push((key.as_str().to_string(), bytes.to_vec()))
                }
                Ok(_) => {}
                Err(_) => tracing::debug!(key = key.as_str(), "dropped: not base64"),
            },
        }
    }
    metadata
}

/// Trailers a response carries beyond its status, for
/// [`AppendTrailers`] to put in the trailers frame.
#[derive(Debug, Clone)]
struct ExtraTrailers(HeaderMap);

impl ResponseMetadata {
    /// Whether there are neither headers nor trailers.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.trailers.is_empty()
    }

    /// A reply with these headers and trailers. The trailers reach the
    /// client when the routes are served by [`crate::serve_with_shutdown`]
    /// (tonic alone sends none on success).
    pub fn into_response<T>(self, message: T) -> tonic::Response<T> {
        let mut response = tonic::Response::new(message);
        if !self.headers.is_empty() {
            *response.metadata_mut() = MetadataMap::from_headers(to_headers(self.headers));
        }
        if !self.trailers.is_empty() {
            response
                .extensions_mut()
                .insert(ExtraTrailers(to_headers(self.trailers)));
        }
        response
    }

    /// `status` with these headers and trailers as its metadata: tonic sends
    /// an error as a trailers-only response, so both go in its one header
    /// block, as natively.
    pub fn into_status(self, status: tonic::Status) -> tonic::Status {
        if self.is_empty() {
            return status;
        }
        let mut all = self.headers;
        all.extend(self.trailers);
        let mut metadata = MetadataMap::from_headers(to_headers(all));
        for entry in status.metadata().iter() {
            match entry {
                KeyAndValueRef::Ascii(k, v) => {
                    metadata.append(k.clone(), v.clone());
                }
                KeyAndValueRef::Binary(k, v) => {
                    metadata.append_bin(k.clone(), v.clone());
                }
            }
        }
        tonic::Status::with_details_and_metadata(
            status.code(),
            status.message(),
            Bytes::copy_from_slice(status.details()),
            metadata,
        )
    }
}

/// Headers a function cannot set: the transport's and the status's own.
pub(crate) fn reserved(key: &str) -> bool {
    matches!(
        key,
        "content-type"
            | "te"
            | "grpc-status"
            | "grpc-message"
            | "grpc-status-details-bin"
            | "grpc-encoding"
            | "grpc-accept-encoding"
    ) || key.starts_with(':')
}

/// `metadata` as HTTP/2 headers; an entry that is not a valid header (a
/// bad key, a control character in an ASCII value) or that the transport
/// owns is left out, with a debug log.
pub fn to_headers(metadata: Metadata) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(metadata.len());
    for (key, value) in metadata {
        if reserved(&key) {
            tracing::debug!(key, "metadata key reserved for the transport: not sent");
            continue;
        }
        let value = if key.ends_with("-bin") {
            HeaderValue::from_str(&base64::engine::general_purpose::STANDARD_NO_PAD.encode(&value))
        } else {
            HeaderValue::from_bytes(&value)
        };
        match (HeaderName::from_bytes(key.as_bytes()), value) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::debug!(key, "not a valid metadata entry: not sent"),
        }
    }
    headers
}

/// Wraps the routes so that the trailers a function set
/// ([`ResponseMetadata::into_response`]) are sent in the response's
/// trailers frame, beside `grpc-status`.
#[derive(Debug, Clone)]
pub(crate) struct AppendTrailers<S>(pub(crate) S);

type Response = http::Response<tonic::body::Body>;
type BoxFuture<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>;

impl<S, B> tonic::codegen::Service<http::Request<B>> for AppendTrailers<S>
where
    S: tonic::codegen::Service<http::Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let future = self.0.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            Ok(match response.extensions_mut().remove::<ExtraTrailers>() {
                Some(ExtraTrailers(extra)) => response.map(|inner| {
                    tonic::body::Body::new(WithTrailers {
                        inner,
                        extra: Some(extra),
                    })
                }),
                None => response,
            })
        })
    }
}

/// A response body whose trailers frame gets `extra` added.
struct WithTrailers {
    inner: tonic::body::Body,
    extra: Option<HeaderMap>,
}

impl http_body::Body for WithTrailers {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = &mut *self;
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_trailers() {
                Ok(mut trailers) => {
                    if let Some(extra) = this.extra.take() {
                        for (name, value) in &extra {
                            trailers.append(name.clone(), value.clone());
                        }
                    }
                    Poll::Ready(Some(Ok(Frame::trailers(trailers))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            None => Poll::Ready(this.extra.take().map(|extra| Ok(Frame::trailers(extra)))),
            other => Poll::Ready(other),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.extra.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(entries: &[(&str, &[u8])]) -> Metadata {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect()
    }

    #[test]
    fn inbound_takes_every_header_but_the_timeout_and_decodes_binary_values() {
        let mut request = tonic::Request::new(());
        let m = request.metadata_mut();
        m.insert("x-request-id", "r1".parse().unwrap());
        m.append("x-multi", "a".parse().unwrap());
        m.append("x-multi", "b".parse().unwrap());
        m.insert_bin(
            "trace-bin",
            tonic::metadata::MetadataValue::from_bytes(&[0, 255, 7]),
        );
        m.insert("grpc-timeout", "100m".parse().unwrap());
        let inbound = Inbound::of(&request);
        let mut got = inbound.metadata.clone();
        got.sort();
        assert_eq!(
            got,
            md(&[
                ("trace-bin", &[0, 255, 7]),
                ("x-multi", b"a"),
                ("x-multi", b"b"),
                ("x-request-id", b"r1"),
            ])
        );
        assert!(inbound.timeout.is_some());
    }

    #[test]
    fn headers_encode_binary_values_and_leave_out_what_the_transport_owns() {
        let headers = to_headers(md(&[
            ("x-a", b"1"),
            ("k-bin", &[0, 255]),
            ("grpc-status", b"3"),
            ("content-type", b"text/plain"),
            ("bad key", b"x"),
            ("x-ctl", b"a\nb"),
        ]));
        assert_eq!(headers.len(), 2, "{headers:?}");
        assert_eq!(headers["x-a"], "1");
        assert_eq!(headers["k-bin"], "AP8");
    }

    #[test]
    fn a_status_carries_headers_and_trailers() {
        let response = ResponseMetadata {
            headers: md(&[("x-h", b"h")]),
            trailers: md(&[("x-t", b"t")]),
        };
        let status = response.into_status(tonic::Status::with_details(
            tonic::Code::NotFound,
            "gone",
            Bytes::from_static(&[1]),
        ));
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(status.details(), &[1]);
        assert_eq!(status.metadata().get("x-h").unwrap(), "h");
        assert_eq!(status.metadata().get("x-t").unwrap(), "t");
    }

    #[test]
    fn a_reply_carries_headers_and_marks_its_trailers() {
        let response = ResponseMetadata {
            headers: md(&[("x-h", b"h")]),
            trailers: md(&[("x-t", b"t")]),
        }
        .into_response(5u8);
        assert_eq!(response.metadata().get("x-h").unwrap(), "h");
        let extra = response.extensions().get::<ExtraTrailers>().unwrap();
        assert_eq!(extra.0["x-t"], "t");
    }

    #[tokio::test]
    async fn trailers_are_added_to_the_trailers_frame() {
        use http_body::Body as _;
        let mut status_trailers = HeaderMap::new();
        status_trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let inner = http_body_util_like(status_trailers);
        let mut extra = HeaderMap::new();
        extra.insert("x-t", HeaderValue::from_static("t"));
        let mut body = WithTrailers {
            inner,
            extra: Some(extra),
        };
        let mut trailers = None;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            if let Ok(t) = frame.unwrap().into_trailers() {
                trailers = Some(t);
            }
        }
        let trailers = trailers.unwrap();
        assert_eq!(trailers["grpc-status"], "0");
        assert_eq!(trailers["x-t"], "t");
        assert!(body.extra.is_none(), "the extra trailers were sent once");
    }

    /// A body of one data frame and then `trailers`.
    fn http_body_util_like(trailers: HeaderMap) -> tonic::body::Body {
        struct Once(Vec<Frame<Bytes>>);
        impl http_body::Body for Once {
            type Data = Bytes;
            type Error = tonic::Status;
            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
                Poll::Ready(if self.0.is_empty() {
                    None
                } else {
                    Some(Ok(self.0.remove(0)))
                })
            }
        }
        tonic::body::Body::new(Once(vec![
            Frame::data(Bytes::from_static(b"reply")),
            Frame::trailers(trailers),
        ]))
    }
}
