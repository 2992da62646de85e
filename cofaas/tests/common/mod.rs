//! Helpers shared by the cofaas test binaries: where the repository and the
//! shared target directory are, and build options for an example app.

#![allow(dead_code)] // Each test binary uses a subset.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cofaas::pipeline::BuildOptions;
use cofaas::units::LinkMode;
use prost_reflect::{DescriptorPool, DynamicMessage};
use sha2::{Digest, Sha256};
use tonic::Status;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the cofaas crate sits in the repository")
        .to_path_buf()
}

/// The shared target directory: `CARGO_TARGET_DIR`, else the repository's
/// `target`, made absolute.
pub fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    std::path::absolute(&target).unwrap_or(target)
}

/// Options for a quiet debug build of `examples/<app>` with `link`, its
/// outputs under `<target>/<out>/<app>`.
pub fn build_options(app: &str, link: LinkMode, out: &str) -> BuildOptions {
    build_options_at(&repo().join("examples").join(app), link, out)
}

/// [`build_options`] for the app in `app_dir`.
pub fn build_options_at(app_dir: &Path, link: LinkMode, out: &str) -> BuildOptions {
    let target = target_dir();
    let mut opts = BuildOptions::new(app_dir);
    opts.out_root = target.join(out);
    opts.cargo_target_dir = target;
    opts.release_host = false;
    opts.verbose = false;
    opts.link = link;
    opts
}

/// SHA-256 of every file under `dir` except build output.
pub fn hash_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_name() == "target" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let digest = Sha256::digest(std::fs::read(&p).unwrap());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), hex);
            }
        }
    }
    out
}

/// A codec passing encoded messages through untouched, so requests and
/// replies can be built and compared as dynamic messages.
#[derive(Clone, Copy, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n).to_vec()))
    }
}

pub async fn unary(addr: SocketAddr, path: &'static str, body: Vec<u8>) -> Result<Vec<u8>, Status> {
    unary_request(addr, path, tonic::Request::new(body))
        .await
        .map(tonic::Response::into_inner)
}

/// A unary call of encoded `request` (with its metadata); the reply with
/// its metadata (headers and trailers, merged as tonic does).
pub async fn unary_request(
    addr: SocketAddr,
    path: &'static str,
    request: tonic::Request<Vec<u8>>,
) -> Result<tonic::Response<Vec<u8>>, Status> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc.unary(request, PathAndQuery::from_static(path), RawCodec)
        .await
}

/// Asserts `a == b`, printing the path of the first difference and both
/// messages in text format (the debug form of a dynamic message is its whole
/// descriptor).
pub fn same(a: &DynamicMessage, b: &DynamicMessage, request: &str) {
    fn first_difference(a: &DynamicMessage, b: &DynamicMessage, path: &str) -> Option<String> {
        for f in prost_reflect::ReflectMessage::descriptor(a).fields() {
            let (x, y) = (a.get_field(&f), b.get_field(&f));
            if x != y {
                let here = format!("{path}.{}", f.name());
                return match (x.as_message(), y.as_message()) {
                    (Some(x), Some(y)) => first_difference(x, y, &here).or(Some(here)),
                    _ => Some(here),
                };
            }
        }
        None
    }
    assert!(
        a == b,
        "request:\n{request}\nfirst difference at {:?}\n\nleft:\n{}\n\nright:\n{}",
        first_difference(a, b, ""),
        a.to_text_format(),
        b.to_text_format()
    );
}

/// The descriptors of `files` under `proto_dir` (relative to the repository).
pub fn descriptors(proto_dir: &str, files: &[&str]) -> DescriptorPool {
    let fds = protox::compile(files, [repo().join(proto_dir)]).unwrap();
    DescriptorPool::from_file_descriptor_set(fds).unwrap()
}

/// A Go command-line tool, `go install`ed (pinned `package@version`) into
/// `<target>/tools/<version>/` unless it is there already; its path.
pub fn go_tool(name: &str, package_at_version: &str) -> PathBuf {
    cofaas::ghz::install_go_tool(&target_dir().join("tools"), name, package_at_version)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// grpcurl, pinned.
pub fn grpcurl() -> PathBuf {
    go_tool(
        "grpcurl",
        "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4",
    )
}

/// An app run both ways: natively (every function built unchanged and
/// started by the convention of `cofaas::ghz`) and consolidated.
pub struct BothWays {
    /// The natively built functions.
    pub bins: BTreeMap<String, cofaas::backend::NativeFunction>,
    /// The native deployment.
    pub native: cofaas::ghz::NativeApp,
    /// The consolidated host.
    pub host: cofaas::demo::Consolidated,
    /// The consolidated host's `deployment.json`.
    pub deployment: PathBuf,
}

/// Builds and starts the app in `app_dir` (or of the manifest it names) natively and consolidated (with
/// `link`, under `<target>/<out>`), checking that the build leaves the
/// app's files as they were.
pub async fn both_ways(app_dir: &Path, link: LinkMode, out: &str) -> BothWays {
    // `app_dir` may name a manifest other than cofaas.toml in the app's
    // directory.
    let tree = if app_dir.is_file() {
        app_dir.parent().unwrap()
    } else {
        app_dir
    };
    let before = hash_tree(tree);
    let (dir, target) = (app_dir.to_path_buf(), target_dir());
    let (bins, native) = tokio::task::spawn_blocking(move || {
        let bins = cofaas::demo::build_native_app(&dir, &target, false).unwrap();
        let native = cofaas::ghz::start_native_app(&dir, &bins, false).unwrap();
        (bins, native)
    })
    .await
    .unwrap();
    let opts = build_options_at(app_dir, link, out);
    let (host, deployment) = tokio::task::spawn_blocking(move || {
        let artifacts = cofaas::pipeline::build(&opts).unwrap();
        let host = cofaas::demo::start_host(&artifacts, None, &[], false).unwrap();
        (host, artifacts.deployment)
    })
    .await
    .unwrap();
    assert_eq!(before, hash_tree(tree), "the build modified the app");
    BothWays {
        bins,
        native,
        host,
        deployment,
    }
}

/// The app's entries of `map` (`x-` and `-bin` keys, not the transport's
/// `grpc-` ones), sorted, a binary value decoded.
pub fn app_entries(map: &tonic::metadata::MetadataMap) -> Vec<(String, Vec<u8>)> {
    use tonic::metadata::KeyAndValueRef;
    let mut out: Vec<(String, Vec<u8>)> = map
        .iter()
        .map(|kv| match kv {
            KeyAndValueRef::Ascii(k, v) => (k.to_string(), v.as_bytes().to_vec()),
            KeyAndValueRef::Binary(k, v) => (k.to_string(), v.to_bytes().unwrap().to_vec()),
        })
        .filter(|(k, _)| k.starts_with("x-") || (k.ends_with("-bin") && !k.starts_with("grpc-")))
        .collect();
    out.sort();
    out
}
