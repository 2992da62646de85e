//! Back function of the mixed app (Rust → Go → Rust).
//!
//! Serves `mixed.Back`. `Store` digests a record: the length and FNV-1a
//! checksum of its data, its items and their lengths, its sorted tag keys
//! and a summary line. A record named "rust-error" is refused with ABORTED
//! and details: an encoded `google.rpc.Status` carrying a
//! `google.rpc.ErrorInfo`, as grpc-go's `status.FromError` reads them.

use std::collections::{BTreeMap, HashMap};
use std::env;

use prost::Message;
use tonic::transport::Server;
use tonic::{Code, Request, Response, Status};

pub mod mixed {
    tonic::include_proto!("mixed");
}

use mixed::back_server::{Back, BackServer};
use mixed::{Record, Stored};

const DEFAULT_LISTEN: &str = "127.0.0.1:50083";

/// `google.rpc.Status` (google/rpc/status.proto), the message carried in
/// `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// `google.rpc.ErrorInfo` (google/rpc/error_details.proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ErrorInfo {
    #[prost(string, tag = "1")]
    pub reason: String,
    #[prost(string, tag = "2")]
    pub domain: String,
    /// A BTreeMap, so the encoding is the same on every run.
    #[prost(btree_map = "string, string", tag = "3")]
    pub metadata: BTreeMap<String, String>,
}

/// A `grpc-timeout` value (`<digits><unit>`) in seconds, rounded.
fn grpc_timeout_secs(value: &str) -> Option<u64> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    let nanos_per_unit: u64 = match unit {
        "H" => 3_600_000_000_000,
        "M" => 60_000_000_000,
        "S" => 1_000_000_000,
        "m" => 1_000_000,
        "u" => 1_000,
        "n" => 1,
        _ => return None,
    };
    Some(n.saturating_mul(nanos_per_unit).saturating_add(500_000_000) / 1_000_000_000)
}

/// The status a "rust-error" record gets. The code and message inside the
/// details must be the status' own: grpc-go turns a mismatch into INTERNAL.
fn refusal(record: &Record) -> Status {
    let code = Code::Aborted;
    let message = "back refused the record";
    let info = ErrorInfo {
        reason: "BACK_REFUSED".to_string(),
        domain: "mixed.example".to_string(),
        metadata: BTreeMap::from([
            ("record".to_string(), record.name.clone()),
            ("items".to_string(), record.items.len().to_string()),
        ]),
    };
    let details = RpcStatus {
        code: code as i32,
        message: message.to_string(),
        details: vec![prost_types::Any {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".to_string(),
            value: info.encode_to_vec(),
        }],
    };
    // `.into()` from a Vec: tonic takes `Bytes`, the cofaas stub takes
    // `Vec<u8>`.
    Status::with_details(code, message, details.encode_to_vec().into())
}

/// 64-bit FNV-1a.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[derive(Default)]
pub struct Store;

#[tonic::async_trait]
impl Back for Store {
    async fn store(&self, request: Request<Record>) -> Result<Response<Stored>, Status> {
        // The deadline the caller gave this call, as its `grpc-timeout`
        // (grpc-go sends the context's), in whole seconds.
        let deadline = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(grpc_timeout_secs)
            .map_or("none".to_string(), |s| format!("{s}s"));
        // Metadata Middle put on the call.
        let from_middle = request
            .metadata()
            .get("x-from-middle")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("nobody")
            .to_string();
        let trace = request
            .metadata()
            .get_bin("trace-bin")
            .and_then(|v| v.to_bytes().ok())
            .map_or(0, |b| b.len());
        let record = request.into_inner();
        if record.name == "rust-error" {
            return Err(refusal(&record));
        }
        let item_lengths: HashMap<String, u32> = record
            .items
            .iter()
            .map(|item| (item.clone(), item.chars().count() as u32))
            .collect();
        let mut tag_keys: Vec<String> = record.tags.keys().cloned().collect();
        tag_keys.sort();
        let checksum = fnv1a(&record.data);
        let owner = record
            .owner
            .as_ref()
            .map_or("nobody".to_string(), |o| format!("{} (team {})", o.name, o.team));
        let summary = format!(
            "{}: {} item(s), {} byte(s), checksum {checksum:016x}, sum {}, priority {}, owner {owner}, tags [{}], deadline {deadline}, from {from_middle}, trace {trace} byte(s)",
            record.name,
            record.items.len(),
            record.data.len(),
            record.sum,
            record.priority().as_str_name(),
            tag_keys.join(",")
        );
        let mut response = Response::new(Stored {
            name: record.name,
            length: record.data.len() as u64,
            checksum,
            item_count: record.items.len() as u32,
            item_lengths,
            tag_keys,
            priority: record.priority,
            summary,
        });
        response
            .metadata_mut()
            .insert("x-back", tonic::metadata::MetadataValue::from_static("stored"));
        Ok(response)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = env::var("BACK_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_string())
        .parse()?;

    eprintln!("back listening on {addr}");
    Server::builder()
        .add_service(BackServer::new(Store))
        .serve(addr)
        .await?;
    Ok(())
}
