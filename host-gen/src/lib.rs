//! Generate the host crate that serves an app's public gRPC interface from
//! its composed component.
//!
//! The generated crate is a standalone Cargo package (its own empty
//! `[workspace]`) that links [`cofaas-host`](../cofaas_host/index.html):
//!
//! - `src/pb/<package>.rs`: prost messages and tonic *server* code for the
//!   app's protos (tonic-prost-build, from the descriptor set: no protoc);
//! - `wit/`: a copy of the app's WIT package;
//! - `src/main.rs`: `wasmtime::component::bindgen!` of the top-level world
//!   `app`, a `cofaas_host::Exports` loading the public interfaces from an
//!   instance, and per public service a handler implementing the tonic
//!   server trait whose methods convert the request to WIT values
//!   (grpc-shim-gen's conversions), call the export through
//!   `cofaas_host::Host::call` (pool, deadline from `grpc-timeout`, limits,
//!   trap containment) and convert back; the servers decode requests with
//!   `cofaas_host::StrictProstCodec`, so bytes that do not decode get
//!   `INVALID_ARGUMENT`; `main` is `cofaas_host::run`, so the binary takes
//!   `--deployment <build dir>/deployment.json [--listen <addr>] ...` and
//!   also serves `grpc.health.v1.Health`;
//! - `Cargo.toml` (same `[profile.*]` as the cofaas workspace, so a shared
//!   target dir reuses the dependencies whose features cargo resolves
//!   alike in both) and, optionally, the
//!   workspace's `Cargo.lock`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fds = proto2wit::compile_protos(&["helloworld.proto"], &["proto"])?;
//! let app = proto2wit::App::new(
//!     "hello",
//!     vec![proto2wit::Function::new("greeter", ["helloworld.Greeter"], Vec::<String>::new())],
//!     ["greeter"],
//! );
//! let out = proto2wit::generate(&fds, Some(&app), &Default::default())?;
//! // ... write `out.wit` to `wit/hello.wit`, then:
//! let opts = host_gen::HostOptions::new("hello-host", "wit");
//! let krate = host_gen::generate(&out.map, &fds, &opts)?;
//! krate.write(std::path::Path::new("target/hello-host"))?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

mod mediated;
mod remote;
mod streaming;

use grpc_shim_gen::{
    ConvTarget, conv_module, conversions, from_wit_fn, method_ident, prost_type_segments,
    rust_names::{ident, path, prost_snake, tonic_snake, wit_snake},
    to_wit_fn, wit_fn_ident, wit_has_list,
};
use proc_macro2::TokenStream;
use prost::Message as _;
use prost_types::FileDescriptorSet;
use proto2wit::{Map, ServiceMap};
use quote::{format_ident, quote};

/// The top-level world proto2wit emits for an app.
pub const APP_WORLD: &str = "app";

/// The world the host is generated from, written beside the app's WIT in
/// the host crate (`wit/cofaas-host.wit`): it imports and exports every
/// service of the app, so that one host binary serves any service a node
/// holds (its exports) and calls any service held elsewhere (its imports,
/// remote edges).
pub const HOST_WORLD: &str = "cofaas-host";

/// Versions of the crates the generated code names directly; the same
/// requirements as the cofaas workspace's `[workspace.dependencies]`
/// (checked by a test), so with the workspace's lockfile the versions are
/// identical.
const DEP_VERSIONS: &[(&str, &str)] = &[
    ("prost", "0.14.1"),
    ("prost-types", "0.14.1"),
    ("tonic", "0.14.2"),
    ("tonic-prost", "0.14.2"),
];

/// The cofaas workspace's `[profile.*]` sections, verbatim (checked by a
/// test): equal profiles let a shared target dir reuse the workspace's
/// compiled dependencies wherever cargo resolves their features alike.
pub const PROFILES: &str = "\
# Tests link wasmtime into many binaries; full debug info made a clean
# `cargo test` need ~17 GB of disk. Line tables keep file:line in our
# backtraces; dependencies carry none.
[profile.dev]
debug = \"line-tables-only\"
[profile.dev.package.\"*\"]
debug = false

# wasmtime's compiler is slow unoptimised; the tests compile a composed
# component, so optimise the compiler crates even in dev builds.
[profile.dev.package.cranelift-codegen]
opt-level = 2
[profile.dev.package.regalloc2]
opt-level = 2
[profile.dev.package.wasmtime-internal-cranelift]
opt-level = 2

[profile.release]
debug = false
";

/// Errors of [`generate`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The map was made with `proto2wit::Options::wit_maps`, which the
    /// generated conversions do not support yet.
    #[error(
        "the map uses WIT `map` types, which the host does not convert yet; \
         map `map<K, V>` as list<tuple<K, V>>"
    )]
    WitMaps,
    /// The map is not one the host can be generated from (a streaming rpc
    /// without its resource names, for one).
    #[error(transparent)]
    Map(#[from] grpc_shim_gen::Error),
    /// The map has no top-level `app` world: it was generated without an app.
    #[error("the map has no top-level world `{APP_WORLD}` (was proto2wit run with an app?)")]
    NoAppWorld,
    /// The app world exports a service the map does not describe.
    #[error("the app world exports `{service}`, which the map does not describe")]
    UnknownService {
        /// The service's proto name.
        service: String,
    },
    /// A message the app's services use is missing from the map.
    #[error("message `{message}` is missing from the map")]
    UnknownMessage {
        /// The message's proto name.
        message: String,
    },
    /// tonic-prost-build failed on the descriptor set.
    #[error("tonic-prost-build failed: {source}")]
    Prost {
        /// Its error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The WIT directory holds no `.wit` file.
    #[error("no `.wit` file in `{}`", dir.display())]
    NoWit {
        /// The directory.
        dir: PathBuf,
    },
    /// The app's WIT already has an item named like [`HOST_WORLD`].
    #[error("the app's WIT already has a world or interface named `{HOST_WORLD}`")]
    HostWorldCollision,
    /// The generated Rust does not parse (a bug in host-gen).
    #[error("generated `src/main.rs` does not parse (this is a bug): {source}")]
    Syntax {
        /// syn's error.
        #[source]
        source: syn::Error,
    },
}

/// Options of [`generate`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Name of the generated package (and binary), e.g. `prodcon-host`.
    pub crate_name: String,
    /// Path of the `cofaas-host` crate, written as a path dependency
    /// (default: [`default_cofaas_host_path`]).
    pub cofaas_host_path: PathBuf,
    /// The WIT package directory to copy into the crate's `wit/` (its
    /// `.wit` files; the package must define the world `app`).
    pub wit_dir: PathBuf,
    /// A `Cargo.lock` to copy in, normally the cofaas workspace's, so the
    /// host builds with exactly the workspace's versions and reuses the
    /// artifacts of a shared target dir.
    pub lockfile: Option<PathBuf>,
}

impl HostOptions {
    /// Options for a crate named `crate_name` from the WIT in `wit_dir`,
    /// with cofaas-host at [`default_cofaas_host_path`] and no lockfile.
    pub fn new(crate_name: impl Into<String>, wit_dir: impl Into<PathBuf>) -> Self {
        Self {
            crate_name: crate_name.into(),
            cofaas_host_path: default_cofaas_host_path(),
            wit_dir: wit_dir.into(),
            lockfile: None,
        }
    }
}

/// The `cofaas-host` crate next to this one in the cofaas source tree.
pub fn default_cofaas_host_path() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../cofaas-host"));
    p.canonicalize().unwrap_or(p)
}

/// The generated crate: file contents by path relative to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostCrate {
    /// Relative path → contents, of the text files.
    pub files: BTreeMap<PathBuf, String>,
    /// Relative path → contents, of the binary files (`src/descriptors.bin`,
    /// the app's encoded FileDescriptorSet, which the host serves by
    /// reflection).
    pub binary_files: BTreeMap<PathBuf, Vec<u8>>,
}

impl HostCrate {
    /// Writes every file under `dir` (creating directories; files whose
    /// contents are unchanged are not rewritten, so Cargo does not rebuild).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let text = self.files.iter().map(|(p, c)| (p, c.as_bytes()));
        let binary = self.binary_files.iter().map(|(p, c)| (p, c.as_slice()));
        for (rel, contents) in text.chain(binary) {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if std::fs::read(&path).ok().as_deref() == Some(contents) {
                continue;
            }
            std::fs::write(&path, contents)?;
        }
        Ok(())
    }
}

/// Generates the host crate for the app described by `map` (its world
/// `app`) and `fds` (the descriptor set proto2wit mapped).
pub fn generate(
    map: &Map,
    fds: &FileDescriptorSet,
    opts: &HostOptions,
) -> Result<HostCrate, Error> {
    if map.wit_maps {
        return Err(Error::WitMaps);
    }
    grpc_shim_gen::check_stream_names(map, map.services.keys())?;
    let mut files = BTreeMap::new();
    let mut binary_files = BTreeMap::new();
    let pb = protobuf_files(fds)?;
    let main = main_rs(map, &pb, opts)?;
    for (name, text) in pb {
        files.insert(PathBuf::from("src/pb").join(name), text);
    }
    files.insert(PathBuf::from("src/main.rs"), main);
    binary_files.insert(PathBuf::from("src/descriptors.bin"), fds.encode_to_vec());
    for (name, text) in wit_files(&opts.wit_dir)? {
        files.insert(PathBuf::from("wit").join(name), text);
    }
    let host_wit = PathBuf::from("wit").join(format!("{HOST_WORLD}.wit"));
    if files.contains_key(&host_wit) {
        return Err(Error::HostWorldCollision);
    }
    files.insert(host_wit, host_world(map)?);
    files.insert(PathBuf::from("Cargo.toml"), cargo_toml(opts));
    if let Some(lock) = &opts.lockfile {
        let text = std::fs::read_to_string(lock).map_err(|source| Error::Read {
            path: lock.clone(),
            source,
        })?;
        files.insert(PathBuf::from("Cargo.lock"), text);
    }
    Ok(HostCrate {
        files,
        binary_files,
    })
}

/// tonic-prost-build's output: `<package>.rs` by file name, sorted.
fn protobuf_files(fds: &FileDescriptorSet) -> Result<BTreeMap<String, String>, Error> {
    let prost = |source| Error::Prost { source };
    let dir = tempfile::tempdir().map_err(prost)?;
    let result = (|| {
        tonic_prost_build::configure()
            .build_client(false)
            .build_server(true)
            .build_transport(false)
            .codec_path("::cofaas_host::StrictProstCodec")
            .emit_rerun_if_changed(false)
            .out_dir(dir.path())
            .compile_fds(fds.clone())?;
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(dir.path())? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") {
                out.insert(name, std::fs::read_to_string(entry.path())?);
            }
        }
        Ok(out)
    })();
    result.map_err(prost)
}

/// The `.wit` files of `dir`, by file name.
fn wit_files(dir: &Path) -> Result<BTreeMap<String, String>, Error> {
    let read = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Read { path, source }
    };
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(read(dir))? {
        let entry = entry.map_err(read(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".wit") {
            let p = entry.path();
            out.insert(name, std::fs::read_to_string(&p).map_err(read(&p))?);
        }
    }
    if out.is_empty() {
        return Err(Error::NoWit {
            dir: dir.to_path_buf(),
        });
    }
    Ok(out)
}

fn cargo_toml(opts: &HostOptions) -> String {
    let host_path = opts.cofaas_host_path.to_string_lossy();
    let mut deps = format!("cofaas-host = {{ path = {} }}\n", toml_str(&host_path));
    for (name, version) in DEP_VERSIONS {
        deps.push_str(&format!("{name} = {}\n", toml_str(version)));
    }
    format!(
        "# @generated by cofaas host-gen. Do not edit.\n\
         [package]\n\
         name = {name}\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         \n\
         [dependencies]\n\
         {deps}\n\
         # Not part of any enclosing workspace.\n\
         [workspace]\n\
         \n\
         # Same profiles as the cofaas workspace, so a shared target dir reuses its artifacts.\n\
         {PROFILES}",
        name = toml_str(&opts.crate_name),
    )
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `(namespace, package)` of the WIT package name.
fn wit_package(map: &Map) -> (&str, &str) {
    map.wit_package
        .split_once(':')
        .unwrap_or(("cofaas", &map.wit_package))
}

/// Absolute path of the prost type of a message or enum.
fn pb_path(map: &Map, full: &str) -> TokenStream {
    if let Some(path) = grpc_shim_gen::prost_well_known_path(map, full) {
        return path;
    }
    let (package_segs, type_segs) = prost_type_segments(map, full);
    let mut segs = vec!["crate".to_string(), "pb".to_string()];
    segs.extend(package_segs);
    segs.extend(type_segs);
    path(segs)
}

/// `pub mod a { pub mod b { include!("pb/a.b.rs"); } }` for every generated file.
fn pb_modules(pb: &BTreeMap<String, String>) -> TokenStream {
    #[derive(Default)]
    struct Node {
        include: Option<String>,
        children: BTreeMap<String, Node>,
    }
    fn emit(node: &Node) -> TokenStream {
        let include = node.include.as_ref().map(|f| {
            let f = format!("pb/{f}");
            quote!(include!(#f);)
        });
        let children = node.children.iter().map(|(name, child)| {
            let name = ident(&prost_snake(name));
            let body = emit(child);
            quote!(pub mod #name { #body })
        });
        quote!(#include #(#children)*)
    }
    let mut root = Node::default();
    for file in pb.keys() {
        let package = file.strip_suffix(".rs").unwrap_or(file);
        let mut node = &mut root;
        if package != "_" {
            for seg in package.split('.') {
                node = node.children.entry(seg.to_string()).or_default();
            }
        }
        node.include = Some(file.clone());
    }
    emit(&root)
}

/// `wit/cofaas-host.wit`: the world [`HOST_WORLD`], importing and
/// exporting every service interface of the app.
fn host_world(map: &Map) -> Result<String, Error> {
    let taken = map.worlds.contains_key(HOST_WORLD)
        || map.services.values().any(|s| s.interface == HOST_WORLD)
        || map.type_interfaces.contains_key(HOST_WORLD);
    if taken {
        return Err(Error::HostWorldCollision);
    }
    let mut text = format!(
        "// @generated by cofaas host-gen: the world the host is generated from.\n\
         // It imports and exports every service of the app: a node serves the\n\
         // ones its functions hold and calls the others remotely.\n\
         package {};\n\nworld {HOST_WORLD} {{\n",
        map.wit_package
    );
    for service in map.services.values() {
        text.push_str(&format!(
            "    import {0};\n    export {0};\n",
            service.interface
        ));
    }
    text.push_str("}\n");
    Ok(text)
}

fn main_rs(map: &Map, pb: &BTreeMap<String, String>, opts: &HostOptions) -> Result<String, Error> {
    let world = map.worlds.get(APP_WORLD).ok_or(Error::NoAppWorld)?;
    let world_name = format!("{}/{HOST_WORLD}", map.wit_package);
    let pb_mods = pb_modules(pb);
    for name in &world.exports {
        if !map.services.contains_key(name) {
            return Err(Error::UnknownService {
                service: name.clone(),
            });
        }
    }

    let mut handlers = Vec::new();
    let mut routes = Vec::new();
    let mut fields = Vec::new();
    let mut service_names = Vec::new();
    for (name, service) in &map.services {
        let (handler, route) = service_handler(map, service)?;
        let public = world.exports.contains(name);
        let proto_name = &service.proto_name;
        handlers.push(handler);
        routes.push(quote! {
            if host.serves(#proto_name, #public) {
                routes = routes.add_service(#route);
            }
        });
        fields.push(export_field(map, service));
        if public {
            service_names.push(service.proto_name.clone());
        }
    }
    let exports_impl = exports_impl(&fields);
    let mediated_mod = mediated::module(map);
    let remote_mod = remote::module(map)?;

    let tokens = quote! {
        //! The cofaas host of this app: serves its public gRPC services from
        //! the app's units. Run with
        //! `--deployment <build dir>/deployment.json [--listen <addr>]`
        //! (`--help` lists the limits that can be set).

        use cofaas_host::{Host, State, wasmtime};

        /// prost messages and tonic servers of the app's protos.
        #[allow(clippy::all, missing_docs, dead_code)]
        pub mod pb {
            #pb_mods
        }

        /// Bindings of the app's top-level world.
        #[allow(clippy::all, missing_docs, dead_code)]
        mod bindings {
            cofaas_host::wasmtime::component::bindgen!({
                path: "wit",
                world: #world_name,
                wasmtime_crate: cofaas_host::wasmtime,
            });
        }

        #exports_impl

        #mediated_mod

        #remote_mod

        #(#handlers)*

        /// The public gRPC services, as health and reflection report them,
        /// and the app's descriptors (for reflection).
        const PUBLIC: cofaas_host::Public = cofaas_host::Public {
            services: &[#(#service_names),*],
            file_descriptor_set: include_bytes!("descriptors.bin"),
        };

        fn main() -> std::process::ExitCode {
            cofaas_host::run::<Exports>(PUBLIC, |host: Host<Exports>| {
                let mut routes = cofaas_host::tonic::service::Routes::default();
                #(#routes)*
                let _ = &host;
                Ok(routes)
            })
        }
    };
    let file: syn::File = syn::parse2(tokens).map_err(|source| Error::Syntax { source })?;
    Ok(format!(
        "// @generated by cofaas host-gen: wasmtime host `{}` of world `{world_name}`\n\
         // Do not edit.\n\n{}",
        opts.crate_name,
        prettyplease::unparse(&file)
    ))
}

/// One public interface as a field of the generated `Exports`.
struct ExportField {
    /// Field and accessor name.
    field: syn::Ident,
    /// `crate::bindings::exports::ns::pkg::iface`.
    module: TokenStream,
    /// `ns:pkg/iface`.
    interface: String,
}

fn export_field(map: &Map, service: &ServiceMap) -> ExportField {
    let (ns, pkg) = wit_package(map);
    ExportField {
        field: ident(&wit_snake(&service.interface)),
        module: path([
            "crate",
            "bindings",
            "exports",
            &wit_snake(ns),
            &wit_snake(pkg),
            &wit_snake(&service.interface),
        ]),
        interface: map.interface_path(service),
    }
}

/// `struct Exports` (typed public interfaces of one instance), its indices
/// and `impl cofaas_host::Exports`.
fn exports_impl(fields: &[ExportField]) -> TokenStream {
    let names: Vec<_> = fields.iter().map(|f| &f.field).collect();
    let modules: Vec<_> = fields.iter().map(|f| &f.module).collect();
    let interfaces: Vec<_> = fields.iter().map(|f| &f.interface).collect();
    let missing: Vec<String> = fields
        .iter()
        .map(|f| format!("this unit does not export `{}`", f.interface))
        .collect();
    quote! {
        /// The app's public interfaces in one instance (`None` where the
        /// instance's unit does not export the interface).
        struct Exports {
            #(#names: Option<#modules::Guest>,)*
        }

        /// Where a unit's component exports the public interfaces.
        struct ExportIndices {
            #(#names: Option<#modules::GuestIndices>,)*
        }

        impl cofaas_host::Exports for Exports {
            type Indices = ExportIndices;
            fn indices(
                pre: &wasmtime::component::InstancePre<State>,
            ) -> wasmtime::Result<ExportIndices> {
                let _ = &pre;
                Ok(ExportIndices {
                    #(#names: match pre.component().get_export_index(None, #interfaces) {
                        Some(_) => Some(#modules::GuestIndices::new(pre)?),
                        None => None,
                    },)*
                })
            }
            fn link_mediated(
                linker: &mut wasmtime::component::Linker<State>,
                interface: &str,
                edges: &cofaas_host::EdgeFactory,
            ) -> wasmtime::Result<bool> {
                mediated::link(linker, interface, edges)
            }
            fn link_remote(
                linker: &mut wasmtime::component::Linker<State>,
                interface: &str,
                remote: &cofaas_host::RemoteFactory,
            ) -> wasmtime::Result<bool> {
                remote::link(linker, interface, remote)
            }
            fn load(
                indices: &ExportIndices,
                store: &mut wasmtime::Store<State>,
                instance: &wasmtime::component::Instance,
            ) -> wasmtime::Result<Self> {
                let _ = (&store, &instance);
                Ok(Exports {
                    #(#names: match &indices.#names {
                        Some(i) => Some(i.load(&mut *store, instance)?),
                        None => None,
                    },)*
                })
            }
        }

        #[allow(dead_code)]
        impl Exports {
            #(
                fn #names(&self) -> wasmtime::Result<&#modules::Guest> {
                    self.#names.as_ref().ok_or_else(|| wasmtime::Error::msg(#missing))
                }
            )*
        }
    }
}

/// prost ⇄ WIT conversions of `service`'s types, for the bindings module
/// `service_types` of its interface (the export's or the import's): the
/// app's prost messages are under `crate::pb`, the types interfaces' WIT
/// types under `crate::bindings`.
fn host_conversions(map: &Map, service: &ServiceMap, service_types: TokenStream) -> TokenStream {
    let pb_fn = |full: &str| pb_path(map, full);
    let pb_oneof = |message: &str, oneof: &str| {
        if let Some(path) = grpc_shim_gen::prost_well_known_oneof_path(map, message, oneof) {
            return path;
        }
        let (package_segs, type_segs) = grpc_shim_gen::prost_oneof_segments(map, message, oneof);
        let mut segs = vec!["crate".to_string(), "pb".to_string()];
        segs.extend(package_segs);
        segs.extend(type_segs);
        path(segs)
    };
    let (ns, pkg) = wit_package(map);
    let types_module = |interface: &str| {
        path([
            "crate",
            "bindings",
            &wit_snake(ns),
            &wit_snake(pkg),
            &wit_snake(interface),
        ])
    };
    let target = ConvTarget {
        service_types,
        types_module: &types_module,
        pb_path: &pb_fn,
        pb_oneof: &pb_oneof,
        status: quote!(::tonic::Status),
    };
    conversions(map, service, &target)
}

/// The bindings module of the import of `service`'s interface
/// (`crate::bindings::ns::pkg::iface`).
fn import_module(map: &Map, service: &ServiceMap) -> TokenStream {
    let (ns, pkg) = wit_package(map);
    path([
        "crate",
        "bindings",
        &wit_snake(ns),
        &wit_snake(pkg),
        &wit_snake(&service.interface),
    ])
}

/// The handler of one public service, and the expression adding it to the routes.
fn service_handler(map: &Map, service: &ServiceMap) -> Result<(TokenStream, TokenStream), Error> {
    let ExportField {
        field: getter,
        module: wit_types,
        interface,
    } = export_field(map, service);
    let conv = conv_module(service);
    let conv_fns = host_conversions(map, service, wit_types.clone());

    let mut pkg_path = vec!["crate".to_string(), "pb".to_string()];
    pkg_path.extend(
        service
            .package
            .split('.')
            .filter(|s| !s.is_empty())
            .map(prost_snake),
    );
    let server_mod = {
        let mut p = pkg_path.clone();
        p.push(format!("{}_server", tonic_snake(&service.name)));
        path(p)
    };
    let trait_name = ident(&service.name);
    let server = format_ident!("{}Server", service.name);
    let handler = format_ident!("{}Handler", service.name);

    let mut methods = Vec::new();
    for m in &service.methods {
        for msg in [&m.input, &m.output] {
            if !map.messages.contains_key(msg) {
                return Err(Error::UnknownMessage {
                    message: msg.clone(),
                });
            }
        }
        let name = method_ident(&m.proto_name);
        let input = pb_path(map, &m.input);
        let output = pb_path(map, &m.output);
        let call_fn = format_ident!("call_{}", wit_fn_ident(&m.wit_name));
        let method_path = format!("{}/{}", service.proto_name, m.proto_name);
        let wit_name = &m.wit_name;
        let site = quote! {
            static SITE: cofaas_host::CallSite = cofaas_host::CallSite {
                interface: #interface,
                function: #wit_name,
                method: #method_path,
            };
            let inbound = cofaas_host::Inbound::of(&request);
        };
        if !m.is_unary() {
            let ctx = streaming::Ctx {
                map,
                conv: &conv,
                getter: &getter,
                wit_types: &wit_types,
            };
            methods.push(streaming::handler(&ctx, m, &input, &output, &site));
            continue;
        }
        let call = if m.input_empty {
            quote! {
                #site
                let _ = request;
                let (result, response) = self
                    .host
                    .call(&SITE, inbound, move |store, exports| exports.#getter()?.#call_fn(store))
                    .await?;
            }
        } else {
            let to = to_wit_fn(map, &m.input);
            let arg = if wit_has_list(map, &m.input) {
                quote!(&request)
            } else {
                quote!(request)
            };
            quote! {
                #site
                let request = #conv::#to(request.into_inner())?;
                let (result, response) = self
                    .host
                    .call(&SITE, inbound, move |store, exports| {
                        exports.#getter()?.#call_fn(store, #arg)
                    })
                    .await?;
            }
        };
        let reply = if m.output_empty {
            quote!(Ok(()) => Ok(response.into_response(<#output>::default())),)
        } else {
            let from = from_wit_fn(map, &m.output);
            quote!(Ok(reply) => Ok(response.into_response(#conv::#from(reply)?)),)
        };
        let doc = format!(
            " rpc `{}`: calls the component's `{}`.",
            m.proto_name, m.wit_name
        );
        methods.push(quote! {
            #[doc = #doc]
            async fn #name(
                &self,
                request: tonic::Request<#input>,
            ) -> Result<tonic::Response<#output>, tonic::Status> {
                #call
                match result {
                    #reply
                    Err(status) => Err(response.into_status(#conv::status_from_wit(status))),
                }
            }
        });
    }

    let doc = format!(
        " Serves `{}` by calling the component's export `{}`.",
        service.proto_name,
        map.interface_path(service)
    );
    let conv_doc = format!(" prost ⇄ WIT conversions for `{}`.", service.proto_name);
    let tokens = quote! {
        #[doc = #conv_doc]
        #[allow(dead_code, unused_mut, clippy::all)]
        mod #conv {
            #conv_fns
        }

        #[doc = #doc]
        #[derive(Debug, Clone)]
        struct #handler {
            host: Host<Exports>,
        }

        #[tonic::async_trait]
        impl #server_mod::#trait_name for #handler {
            #(#methods)*
        }
    };
    let route = quote!(#server_mod::#server::new(#handler { host: host.clone() }));
    Ok((tokens, route))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_manifest() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap()
    }

    #[test]
    fn profiles_match_the_workspace() {
        let root = workspace_manifest();
        let at = root
            .find("# Tests link wasmtime into many binaries")
            .expect("profile comment");
        assert_eq!(
            &root[at..],
            PROFILES,
            "copy the workspace's [profile.*] into PROFILES"
        );
    }

    #[test]
    fn versions_match_the_workspace() {
        let root = workspace_manifest();
        for (name, version) in DEP_VERSIONS {
            let line = format!("\n{name} = \"{version}\"\n");
            assert!(root.contains(&line), "workspace has no `{}`", line.trim());
        }
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_str(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
