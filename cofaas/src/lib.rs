//! The `cofaas` command as a library: `build`, `run` and `demo` drive the
//! pipeline stages (proto2wit, grpc-shim-gen, stubs, component-linker,
//! host-gen); each stage is also a library of its own.
//!
//! ```no_run
//! let artifacts = cofaas::pipeline::build(&cofaas::pipeline::BuildOptions::new("examples/prodcon"))?;
//! println!("deployment: {}", artifacts.deployment.display());
//! # Ok::<(), cofaas::pipeline::BuildError>(())
//! ```
#![deny(missing_docs)]

pub mod backend;
pub mod bench;
pub mod demo;
/// `cofaas deploy`: Knative or plain Kubernetes manifests and a Containerfile
/// per node of a split app.
pub mod deploy;
pub mod ghz;
pub mod link_plan;
pub mod manifest;
pub mod pipeline;
/// `cofaas plan`: a placement of the functions on several nodes that keeps
/// the heaviest traffic local, from a host's metrics.
pub mod plan;
pub mod proc;
pub mod units;
pub mod workload;

/// The prodcon example's public API (client side), for the demo and tests.
#[allow(missing_docs, clippy::all)]
pub mod helloworld {
    tonic::include_proto!("helloworld");
}
