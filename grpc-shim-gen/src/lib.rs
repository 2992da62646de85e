//! Generate, per function, the gRPC compatibility layer that makes an
//! unchanged tonic function talk WIT instead of HTTP/2.
//!
//! For each proto package, [`RustGuest::generate`] writes the file
//! `tonic::include_proto!("pkg")` includes: the prost message types (from
//! prost-build, unchanged), and client and server modules with the same API
//! tonic-build generates (`GreeterClient::connect`, `say_hello(&mut self,
//! impl IntoRequest<..>)`, the `#[async_trait] trait Greeter`,
//! `GreeterServer::new`), whose bodies convert messages to WIT values by
//! move and call the function's WIT import, or route the WIT export to the
//! service the function's `main` registered.
//!
//! It also writes the component's root file, which includes the function's
//! own `main.rs` unchanged, instantiates the WIT bindings (wit-bindgen), and
//! exports the lifecycle `init` that runs `main` once.
//!
//! Everything is generated with `quote!` and formatted with `prettyplease`,
//! and stamped `@generated`; output is deterministic.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fds = proto2wit::compile_protos(&["helloworld.proto"], &["proto"])?;
//! let app = proto2wit::App::new("hello", vec![proto2wit::Function::new("greeter", ["helloworld.Greeter"], Vec::<String>::new())], ["greeter"]);
//! let out = proto2wit::generate(&fds, Some(&app), &Default::default())?;
//! let files = grpc_shim_gen::RustGuest::new(&out.map, "greeter").generate(&fds)?;
//! for (name, text) in &files.packages {
//!     println!("{name}: {} bytes", text.len());
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod convert;
pub mod go;
pub mod rust_names;
mod streaming;

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use prost_types::FileDescriptorSet;
use proto2wit::{Map, ServiceMap, WorldMap};
use quote::{format_ident, quote};

pub use convert::{
    ConvTarget, conv_module, conversions, from_wit_fn, method_ident, prost_oneof_segments,
    prost_relative_path, prost_type_segments, prost_well_known_oneof_path, prost_well_known_path,
    qualified_wit_name, rust_scalar, to_wit_fn, wit_fn_ident, wit_has_list,
};
pub use go::{GO_BINDINGS_MODULE, GoFiles, GoGuest};
use rust_names::{ident, path, tonic_snake, wit_camel, wit_snake};

/// Errors of the generators.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The map was made with `proto2wit::Options::wit_maps`.
    #[error(
        "the map uses WIT `map` types, which the shims do not convert yet \
         (wit-bindgen 0.61 does not lower them); map `map<K, V>` as list<tuple<K, V>>"
    )]
    WitMaps,
    /// A service the function serves or calls has a streaming rpc, which
    /// proto2wit maps but the shims do not generate yet.
    #[error(
        "{rpc}: {kind}s are mapped to WIT, but the {backend} shims do not \
         generate streaming rpcs yet"
    )]
    Streaming {
        /// The rpc (`routeguide.RouteGuide.ListFeatures`).
        rpc: String,
        /// `server-streaming rpc`, `client-streaming rpc` or `bidi-streaming rpc`.
        kind: &'static str,
        /// The backend (`Rust`, `Go`).
        backend: &'static str,
    },
    /// The map gives a streaming rpc no resource (or no poll variant).
    #[error(
        "{rpc}: the map names no {missing} for this {kind} \
         (a map not written by this proto2wit?)"
    )]
    StreamNames {
        /// The rpc.
        rpc: String,
        /// `resource` or `poll`.
        missing: &'static str,
        /// Its kind.
        kind: &'static str,
    },
    /// The map has no world for the function.
    #[error("the map has no world for function `{function}`")]
    UnknownFunction {
        /// The function.
        function: String,
    },
    /// prost-build failed on the descriptor set.
    #[error("prost-build failed: {source}")]
    Prost {
        /// prost-build's error.
        #[source]
        source: std::io::Error,
    },
    /// Generated Rust did not parse: a bug in grpc-shim-gen.
    #[error("generated Rust for `{what}` does not parse (this is a bug): {source}")]
    Syntax {
        /// What was being generated.
        what: String,
        /// syn's error.
        #[source]
        source: syn::Error,
    },
    /// wit-bindgen-go could not generate a Go function's bindings.
    #[error("Go bindings: {message}")]
    Bindings {
        /// What went wrong.
        message: String,
    },
    /// The function's `main.rs` could not be prepared for inclusion.
    #[error("{file}: {message}")]
    Main {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// Files generated for one Rust function.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RustFiles {
    /// `<package>.rs` contents, by file name (`helloworld.rs`), for `OUT_DIR`.
    pub packages: BTreeMap<String, String>,
}

/// The Rust (tonic) backend for one function.
#[derive(Debug)]
pub struct RustGuest<'a> {
    map: &'a Map,
    function: &'a str,
}

/// Formats generated tokens, stamped `@generated`.
pub fn format_rust(what: &str, header: &str, tokens: TokenStream) -> Result<String, Error> {
    let file: syn::File = syn::parse2(tokens).map_err(|source| Error::Syntax {
        what: what.to_string(),
        source,
    })?;
    Ok(format!(
        "// @generated by cofaas grpc-shim-gen: {header}\n// Do not edit.\n\n{}",
        prettyplease::unparse(&file)
    ))
}

impl<'a> RustGuest<'a> {
    /// The backend for `function` of the app described by `map`.
    pub fn new(map: &'a Map, function: &'a str) -> Self {
        Self { map, function }
    }

    fn world(&self) -> Result<&'a WorldMap, Error> {
        self.map
            .function_world(self.function)
            .ok_or_else(|| Error::UnknownFunction {
                function: self.function.to_string(),
            })
    }

    /// Path of the bindings module of the rpc-context import (deadlines).
    fn context_path(&self) -> Result<TokenStream, Error> {
        let world = self.world()?;
        let context = world
            .context
            .as_ref()
            .ok_or_else(|| Error::UnknownFunction {
                function: format!(
                    "{} (its world imports no rpc context: a map from an older proto2wit?)",
                    self.function
                ),
            })?;
        Ok(self.interface_path(context, false))
    }

    /// Path of the bindings module holding a service interface's items.
    fn bindings_path(&self, service: &ServiceMap, exported: bool) -> TokenStream {
        self.interface_path(&service.interface, exported)
    }

    /// Path of the WIT type of message or enum `full`, in the bindings
    /// module of its types interface (always imported: a world that exports
    /// a service imports the types its interface uses).
    fn wit_type(&self, full: &str) -> TokenStream {
        let module = self.interface_path(self.map.type_interface(full).unwrap_or_default(), false);
        let ty = ident(&wit_camel(self.map.type_wit_name(full).unwrap_or(full)));
        quote!(#module::#ty)
    }

    /// Path of the bindings module of WIT interface `interface` of the
    /// app's package (under `exports` if the component exports it).
    fn interface_path(&self, interface: &str, exported: bool) -> TokenStream {
        let (ns, pkg) = self
            .map
            .wit_package
            .split_once(':')
            .unwrap_or(("cofaas", &self.map.wit_package));
        let mut segs = vec!["crate".to_string(), "__cofaas_bindings".to_string()];
        if exported {
            segs.push("exports".into());
        }
        segs.push(wit_snake(ns));
        segs.push(wit_snake(pkg));
        segs.push(wit_snake(interface));
        path(segs)
    }

    /// Generates the `include_proto!` files: prost messages plus shims.
    pub fn generate(&self, fds: &FileDescriptorSet) -> Result<RustFiles, Error> {
        if self.map.wit_maps {
            return Err(Error::WitMaps);
        }
        let world = self.world()?;
        check_stream_names(self.map, world.exports.iter().chain(&world.imports))?;
        let dir = tempfile::tempdir().map_err(|source| Error::Prost { source })?;
        let mut config = prost_build::Config::new();
        config.out_dir(dir.path());
        config
            .compile_fds(fds.clone())
            .map_err(|source| Error::Prost { source })?;
        let mut packages = BTreeMap::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir.path())
            .and_then(|d| d.collect::<Result<Vec<_>, _>>())
            .map_err(|source| Error::Prost { source })?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let package = name.strip_suffix(".rs").unwrap_or(&name);
            let package = if package == "_" { "" } else { package };
            let messages =
                std::fs::read_to_string(entry.path()).map_err(|source| Error::Prost { source })?;
            let shims = self.package_shims(package, world)?;
            packages.insert(name, format!("{messages}\n{shims}"));
        }
        Ok(RustFiles { packages })
    }

    fn package_shims(&self, package: &str, world: &WorldMap) -> Result<String, Error> {
        let mut items = Vec::new();
        let ctx = self.context_path()?;
        for service in self.map.services.values().filter(|s| s.package == package) {
            let exported = world.exports.contains(&service.proto_name);
            let imported = world.imports.contains(&service.proto_name);
            if exported || imported {
                let conv = conv_module(service);
                let service_types = self.bindings_path(service, exported);
                let pb_path = |full: &str| prost_relative_path(self.map, package, full, 1);
                let pb_oneof = |message: &str, oneof: &str| {
                    convert::prost_oneof_relative_path(self.map, package, message, oneof, 1)
                };
                let types_module = |interface: &str| self.interface_path(interface, false);
                let target = ConvTarget {
                    service_types,
                    types_module: &types_module,
                    pb_path: &pb_path,
                    pb_oneof: &pb_oneof,
                    status: quote!(tonic::Status),
                };
                let fns = conversions(self.map, service, &target);
                items.push(quote! {
                    #[doc(hidden)]
                    #[allow(dead_code, unused_mut, clippy::all)]
                    mod #conv {
                        #fns
                    }
                });
            }
            items.push(self.client(service, package, imported, &ctx));
            items.push(self.server(service, package, exported, &ctx));
        }
        if items.is_empty() {
            return Ok(String::new());
        }
        format_rust(
            &format!("shims for package `{package}`"),
            &format!(
                "tonic-compatible shims over WIT for function `{}`",
                self.function
            ),
            quote!(#(#items)*),
        )
    }

    fn client(
        &self,
        service: &ServiceMap,
        package: &str,
        imported: bool,
        ctx: &TokenStream,
    ) -> TokenStream {
        let module = format_ident!("{}_client", tonic_snake(&service.name));
        let client = format_ident!("{}Client", service.name);
        let conv = conv_module(service);
        let funcs = self.bindings_path(service, false);
        let mut methods = Vec::new();
        let sctx = streaming::Ctx {
            map: self.map,
            conv: &conv,
            wit_types: &funcs,
            ctx,
        };
        for m in &service.methods {
            let name = method_ident(&m.proto_name);
            let input = prost_relative_path(self.map, package, &m.input, 1);
            let output = prost_relative_path(self.map, package, &m.output, 1);
            if !imported {
                methods.push(self.unimported_client_method(service, m, &input, &output));
                continue;
            }
            if !m.is_unary() {
                methods.push(streaming::client_method(&sctx, m, &input, &output));
                continue;
            }
            let body = {
                let reply = if m.output_empty {
                    quote!(tonic::Response::new(<#output>::default()))
                } else {
                    let from = from_wit_fn(self.map, &m.output);
                    quote!(tonic::Response::new(super::#conv::#from(reply)?))
                };
                let ok = if m.output_empty {
                    quote!(Ok(()))
                } else {
                    quote!(Ok(reply))
                };
                let merged = reply_or_status(&conv, ok, reply, true);
                request_call(self.map, &conv, &funcs, ctx, m, merged)
            };
            let doc = format!(" rpc `{}`.", m.proto_name);
            methods.push(quote! {
                #[doc = #doc]
                pub async fn #name(
                    &mut self,
                    request: impl tonic::IntoRequest<#input>,
                ) -> std::result::Result<tonic::Response<#output>, tonic::Status> {
                    #body
                }
            });
        }
        let helpers = imported.then(|| {
            quote! {
                /// Sends the request's metadata (none unless the caller put
                /// some on it, as natively) and its timeout (`set_timeout`,
                /// or a `grpc-timeout` in its metadata) with the next call:
                /// the callee sees it, and the host enforces it on a
                /// host-mediated call. The clock is read only for a call
                /// with a timeout.
                fn __cofaas_begin(
                    metadata: &tonic::metadata::MetadataMap,
                ) -> Option<(std::time::Duration, std::time::Instant)> {
                    let timeout = tonic::cofaas::grpc_timeout(metadata);
                    if let Some(metadata) = tonic::cofaas::outbound_metadata(metadata) {
                        #ctx::set_call_metadata(&metadata);
                    }
                    timeout.map(|t| {
                        #ctx::set_call_deadline(Some(tonic::cofaas::nanos(t)));
                        (t, std::time::Instant::now())
                    })
                }

                /// After the call: tonic's client gives up when the timeout
                /// passes, whatever the callee does.
                fn __cofaas_end(
                    started: Option<(std::time::Duration, std::time::Instant)>,
                ) -> Result<(), tonic::Status> {
                    if let Some((t, started)) = started {
                        #ctx::set_call_deadline(None);
                        if started.elapsed() >= t {
                            return Err(tonic::Status::cancelled("Timeout expired"));
                        }
                    }
                    Ok(())
                }
            }
        });
        let doc = format!(
            " Client of `{}`: calls go through the component's WIT import.",
            service.proto_name
        );
        quote! {
            /// Generated client implementations.
            pub mod #module {
                #![allow(unused_variables, dead_code, missing_docs, clippy::all)]
                use tonic::codegen::*;

                #helpers

                #[doc = #doc]
                #[derive(Debug, Clone)]
                pub struct #client<T> {
                    inner: T,
                }

                impl #client<tonic::transport::Channel> {
                    /// "Connects": inside a consolidated app there is no connection to make.
                    pub async fn connect<D>(dst: D) -> Result<Self, tonic::transport::Error>
                    where
                        D: TryInto<tonic::transport::Endpoint>,
                        D::Error: Into<StdError>,
                    {
                        let conn = tonic::transport::Endpoint::new(dst)?.connect().await?;
                        Ok(Self::new(conn))
                    }
                }

                impl<T> #client<T> {
                    pub fn new(inner: T) -> Self {
                        Self { inner }
                    }
                    #[must_use]
                    pub fn send_compressed(self, _encoding: CompressionEncoding) -> Self {
                        self
                    }
                    #[must_use]
                    pub fn accept_compressed(self, _encoding: CompressionEncoding) -> Self {
                        self
                    }
                    #[must_use]
                    pub fn max_decoding_message_size(self, _limit: usize) -> Self {
                        self
                    }
                    #[must_use]
                    pub fn max_encoding_message_size(self, _limit: usize) -> Self {
                        self
                    }
                    #(#methods)*
                }
            }
        }
    }

    /// A client method of a service the function does not import:
    /// `UNIMPLEMENTED`, with tonic-build's signature.
    fn unimported_client_method(
        &self,
        service: &ServiceMap,
        m: &proto2wit::MethodMap,
        input: &TokenStream,
        output: &TokenStream,
    ) -> TokenStream {
        let name = method_ident(&m.proto_name);
        let msg = format!(
            "cofaas: function `{}` does not import `{}`; add it to the function's `imports` in cofaas.toml",
            self.function, service.proto_name
        );
        let doc = format!(" rpc `{}`.", m.proto_name);
        let (request, reply) = match m.streaming {
            proto2wit::Streaming::Server => (
                quote!(impl tonic::IntoRequest<#input>),
                quote!(tonic::Streaming<#output>),
            ),
            proto2wit::Streaming::Client => (
                quote!(impl tonic::IntoStreamingRequest<Message = #input>),
                quote!(#output),
            ),
            proto2wit::Streaming::Bidi => (
                quote!(impl tonic::IntoStreamingRequest<Message = #input>),
                quote!(tonic::Streaming<#output>),
            ),
            _ => (quote!(impl tonic::IntoRequest<#input>), quote!(#output)),
        };
        quote! {
            #[doc = #doc]
            pub async fn #name(
                &mut self,
                request: #request,
            ) -> std::result::Result<tonic::Response<#reply>, tonic::Status> {
                let _ = request;
                Err(tonic::Status::unimplemented(#msg))
            }
        }
    }

    fn server(
        &self,
        service: &ServiceMap,
        package: &str,
        exported: bool,
        ctx: &TokenStream,
    ) -> TokenStream {
        let module = format_ident!("{}_server", tonic_snake(&service.name));
        let server = format_ident!("{}Server", service.name);
        let trait_name = ident(&service.name);
        let conv = conv_module(service);
        let proto_name = &service.proto_name;
        let mut trait_methods = Vec::new();
        let mut guest_methods = Vec::new();
        let mut guest_assoc = Vec::new();
        let mut guest_items = Vec::new();
        let mut adapter_methods = Vec::new();
        let mut dyn_assoc = Vec::new();
        let wit_types = self.bindings_path(service, true);
        let sctx = streaming::Ctx {
            map: self.map,
            conv: &conv,
            wit_types: &wit_types,
            ctx,
        };
        for m in &service.methods {
            let name = method_ident(&m.proto_name);
            let input = prost_relative_path(self.map, package, &m.input, 1);
            let output = prost_relative_path(self.map, package, &m.output, 1);
            adapter_methods.push(streaming::adapter_items(m, &input, &output));
            if streaming::streams_replies(m) {
                let assoc = streaming::assoc_stream(m);
                dyn_assoc.push(quote!(#assoc = tonic::codegen::BoxStream<#output>));
            }
            if !m.is_unary() {
                trait_methods.push(streaming::trait_items(m, &input, &output));
                if exported {
                    let parts =
                        streaming::guest(&sctx, m, &input, &output, &|full| self.wit_type(full));
                    guest_methods.push(parts.method);
                    guest_assoc.push(parts.assoc);
                    guest_items.push(parts.items);
                }
                continue;
            }
            let doc = format!(" rpc `{}`.", m.proto_name);
            trait_methods.push(quote! {
                #[doc = #doc]
                async fn #name(
                    &self,
                    request: tonic::Request<#input>,
                ) -> std::result::Result<tonic::Response<#output>, tonic::Status>;
            });
            if !exported {
                continue;
            }
            let wit_fn = wit_fn_ident(&m.wit_name);
            let (param, request) = if m.input_empty {
                (quote!(), quote!(<#input>::default()))
            } else {
                let ty = self.wit_type(&m.input);
                let from = from_wit_fn(self.map, &m.input);
                (quote!(request: #ty), quote!(super::#conv::#from(request)?))
            };
            let (ok_ty, reply) = if m.output_empty {
                (
                    quote!(()),
                    quote!({
                        let _ = response;
                        Ok(())
                    }),
                )
            } else {
                let ty = self.wit_type(&m.output);
                let to = to_wit_fn(self.map, &m.output);
                (quote!(#ty), quote!(super::#conv::#to(response)))
            };
            guest_methods.push(quote! {
                fn #wit_fn(#param) -> Result<#ok_ty, #wit_types::RpcStatus> {
                    // Taken first, so that none is left for a call this rpc
                    // makes, whatever fails below.
                    let metadata = #ctx::take_request_metadata();
                    let run = || -> Result<#ok_ty, tonic::Status> {
                        let service = __cofaas_service()?;
                        let request = __cofaas_request(#request, metadata);
                        // Response headers, and an error status's metadata
                        // (tonic sends it as trailers), go to the caller.
                        let response = match tonic::cofaas::block_on(service.#name(request)) {
                            Ok(response) => tonic::cofaas::headers_of(response, __cofaas_report),
                            Err(status) => {
                                return Err(tonic::cofaas::trailers_of(status, __cofaas_report));
                            }
                        };
                        #reply
                    };
                    run().map_err(super::#conv::status_to_wit)
                }
            });
        }
        let not_registered = format!(
            "cofaas: `{proto_name}` was not registered by function `{}`'s main (Server::builder().add_service(..).serve(..))",
            self.function
        );
        let init_failed = format!("cofaas: function `{}` failed to start: {{}}", self.function);
        let guest_impl = exported.then(|| {
            quote! {
                impl #wit_types::Guest for crate::__cofaas_bindings::Component {
                    #(#guest_assoc)*
                    #(#guest_methods)*
                }

                #(#guest_items)*

                /// The registered service, once the function's `main` ran.
                fn __cofaas_service() -> Result<&'static Arc<__CofaasDyn>, tonic::Status> {
                    crate::__cofaas_init()
                        .map_err(|e| tonic::Status::unavailable(format!(#init_failed, e)))?;
                    SERVICE
                        .get()
                        .ok_or_else(|| tonic::Status::unimplemented(#not_registered))
                }

                /// The request a handler sees: the caller's metadata, and
                /// the rpc's deadline as the `grpc-timeout` it would see
                /// natively.
                fn __cofaas_request<M>(message: M, metadata: tonic::cofaas::Entries) -> tonic::Request<M> {
                    let mut request = tonic::Request::new(message);
                    tonic::cofaas::extend_metadata(request.metadata_mut(), metadata);
                    if let Some(ns) = #ctx::deadline() {
                        let timeout = std::time::Duration::from_nanos(ns);
                        if let Ok(value) = tonic::cofaas::format_grpc_timeout(timeout).parse() {
                            request.metadata_mut().insert("grpc-timeout", value);
                        }
                    }
                    request
                }

                /// Response headers and trailers, for the caller to take.
                fn __cofaas_report(headers: tonic::cofaas::Entries, trailers: tonic::cofaas::Entries) {
                    #ctx::set_response_metadata(&#ctx::ResponseMetadata { headers, trailers });
                }
            }
        });
        // A service whose rpcs stream replies is kept behind an adapter
        // boxing its streams, so that one trait object can hold it.
        let (dyn_type, registered, adapter) = if dyn_assoc.is_empty() {
            (quote!(dyn #trait_name), quote!(self.inner), quote!())
        } else {
            (
                quote!(dyn #trait_name<#(#dyn_assoc),*>),
                quote!(Arc::new(__CofaasBoxed(self.inner))),
                quote! {
                    /// The registered service with its reply streams boxed.
                    struct __CofaasBoxed<T>(Arc<T>);

                    #[async_trait]
                    impl<T: #trait_name> #trait_name for __CofaasBoxed<T> {
                        #(#adapter_methods)*
                    }
                },
            )
        };
        let trait_doc = format!(
            " Generated trait containing gRPC methods that should be implemented for use with {}Server.",
            service.name
        );
        quote! {
            /// Generated server implementations.
            pub mod #module {
                #![allow(unused_variables, dead_code, missing_docs, clippy::all)]
                use tonic::codegen::*;

                #[doc = #trait_doc]
                #[async_trait]
                pub trait #trait_name: std::marker::Send + std::marker::Sync + 'static {
                    #(#trait_methods)*
                }

                /// The service, ready to be added to a `Server`.
                #[derive(Debug)]
                pub struct #server<T> {
                    inner: Arc<T>,
                }

                impl<T> #server<T> {
                    pub fn new(inner: T) -> Self {
                        Self::from_arc(Arc::new(inner))
                    }
                    pub fn from_arc(inner: Arc<T>) -> Self {
                        Self { inner }
                    }
                    #[must_use]
                    pub fn accept_compressed(self, _encoding: CompressionEncoding) -> Self {
                        self
                    }
                    #[must_use]
                    pub fn send_compressed(self, _encoding: CompressionEncoding) -> Self {
                        self
                    }
                    #[must_use]
                    pub fn max_decoding_message_size(self, _limit: usize) -> Self {
                        self
                    }
                    #[must_use]
                    pub fn max_encoding_message_size(self, _limit: usize) -> Self {
                        self
                    }
                }

                impl<T> Clone for #server<T> {
                    fn clone(&self) -> Self {
                        Self { inner: self.inner.clone() }
                    }
                }

                impl<T: #trait_name> tonic::server::NamedService for #server<T> {
                    const NAME: &'static str = #proto_name;
                }

                /// The registered service, as one trait object.
                type __CofaasDyn = #dyn_type;

                /// The service `main` registered.
                static SERVICE: std::sync::OnceLock<Arc<__CofaasDyn>> = std::sync::OnceLock::new();

                #adapter

                impl<T: #trait_name> tonic::cofaas::Service for #server<T> {
                    fn register(self) -> Result<(), tonic::transport::Error> {
                        SERVICE
                            .set(#registered)
                            .map_err(|_| tonic::cofaas::already_registered(#proto_name))
                    }
                }

                #guest_impl
            }
        }
    }

    /// The component's root file (`src/__cofaas_lib.rs` beside `main.rs`).
    ///
    /// `main_source` is the function's `main.rs`; `include` is the file name
    /// the root includes. Inner attributes and `//!` docs, which `include!`
    /// cannot take, are returned separately in [`Root::main`] with the rest
    /// of the file unchanged.
    pub fn root(&self, main_file: &str, main_source: &str, wit_dir: &str) -> Result<Root, Error> {
        self.root_inner(main_file, main_source, None, wit_dir)
    }

    /// The component root of a function whose crate has a library beside
    /// its binary: the library is the crate root, as natively (its
    /// `crate::` paths hold), the binary a module `__cofaas_main` loaded
    /// from `main_path` (relative to the root's directory; its own modules
    /// are found beside it), and `extern crate self as <crate_name>` lets
    /// the binary's `<crate_name>::...` paths reach the library. Write
    /// [`Root::main`] as `__cofaas_main.rs` beside the binary's file, and
    /// [`Root::library`] (if any) as `__cofaas_user_lib.rs` beside the
    /// library. The binary's own `crate::` paths then mean the library's.
    pub fn root_with_library(
        &self,
        main_path: &str,
        main_source: &str,
        library: Library<'_>,
        wit_dir: &str,
    ) -> Result<Root, Error> {
        self.root_inner(main_path, main_source, Some(library), wit_dir)
    }

    fn root_inner(
        &self,
        main_file: &str,
        main_source: &str,
        library: Option<Library<'_>>,
        wit_dir: &str,
    ) -> Result<Root, Error> {
        let world = self.world()?;
        let (hoisted, rest) = match library {
            Some(lib) => split_inner_attributes(lib.source),
            None => split_inner_attributes(main_source),
        };
        let (ns, pkg) = self
            .map
            .wit_package
            .split_once(':')
            .unwrap_or(("cofaas", &self.map.wit_package));
        let world_name = format!("{}/{}", self.map.wit_package, world.name);
        let lifecycle = world.lifecycles.first().map(|l| {
            let p = path([
                "exports",
                &wit_snake(ns),
                &wit_snake(pkg),
                &wit_snake(l),
                "Guest",
            ]);
            quote! {
                impl __cofaas_bindings::#p for __cofaas_bindings::Component {
                    fn init() -> Result<(), String> {
                        __cofaas_init()
                    }
                }
            }
        });
        let (included, main, library, call_main) = match library {
            None => {
                let (include, main) = if hoisted.is_empty() {
                    (main_file.to_string(), None)
                } else {
                    ("__cofaas_main.rs".to_string(), Some(rest))
                };
                (quote!(include!(#include);), main, None, quote!(main()))
            }
            Some(lib) => {
                let main = crate_visible_main(main_source).ok_or_else(|| Error::Main {
                    file: main_file.to_string(),
                    message: "no `fn main` found".into(),
                })?;
                let main_copy = match main_file.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/__cofaas_main.rs"),
                    None => "__cofaas_main.rs".to_string(),
                };
                let (include, library) = if hoisted.is_empty() {
                    (lib.file.to_string(), None)
                } else {
                    ("__cofaas_user_lib.rs".to_string(), Some(rest))
                };
                let name = format_ident!("{}", lib.crate_name);
                (
                    quote! {
                        include!(#include);
                        extern crate self as #name;
                        #[path = #main_copy]
                        mod __cofaas_main;
                    },
                    Some(main),
                    library,
                    quote!(__cofaas_main::main()),
                )
            }
        };
        let tokens = quote! {
            #included

            #[doc(hidden)]
            #[allow(warnings, clippy::all)]
            pub(crate) mod __cofaas_bindings {
                wit_bindgen::generate!({
                    path: #wit_dir,
                    world: #world_name,
                });
                /// The component: implements every exported interface.
                pub struct Component;
                export!(Component);
            }

            /// Runs the function's `main` once: it registers the services.
            pub(crate) fn __cofaas_init() -> Result<(), String> {
                static INIT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
                INIT.get_or_init(|| tonic::cofaas::MainResult::into_init_result(#call_main))
                    .clone()
            }

            #lifecycle
        };
        let body = format_rust(
            "component root",
            &format!(
                "component root of function `{}`; includes its unchanged {main_file}",
                self.function
            ),
            tokens,
        )?;
        let header = if hoisted.is_empty() {
            String::new()
        } else {
            format!("{hoisted}\n")
        };
        Ok(Root {
            root: format!("{header}{body}"),
            main,
            library,
        })
    }
}

/// The component root and, when `main.rs` had inner attributes, the copy of
/// it to include instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Root {
    /// The root file.
    pub root: String,
    /// `__cofaas_main.rs`: main.rs without its leading inner attributes
    /// (moved to the root), if it had any; with a library
    /// ([`RustGuest::root_with_library`]), main.rs with its `fn main` made
    /// `pub(crate)`.
    pub main: Option<String>,
    /// `__cofaas_user_lib.rs`: the library without its leading inner
    /// attributes (moved to the root), if it had any.
    pub library: Option<String>,
}

/// The library of a function crate whose binary uses it by name
/// (`src/lib.rs` beside `src/main.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Library<'a> {
    /// Its file name, in the directory of the component root (`lib.rs`).
    pub file: &'a str,
    /// Its source.
    pub source: &'a str,
    /// The crate name the binary calls it by (`my_service`).
    pub crate_name: &'a str,
}

/// `source` with its top-level `fn main` (the first line declaring it)
/// made `pub(crate)`, so that the component root can call it from the
/// module the binary becomes.
fn crate_visible_main(source: &str) -> Option<String> {
    let mut out = String::with_capacity(source.len() + 16);
    let mut done = false;
    for line in source.split_inclusive('\n') {
        if !done {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            let unvis = ["pub(crate) ", "pub "]
                .iter()
                .find_map(|v| body.strip_prefix(v))
                .unwrap_or(body);
            let rest = unvis.strip_prefix("async ").unwrap_or(unvis);
            if let Some(after) = rest.strip_prefix("fn main")
                && after.trim_start().starts_with('(')
            {
                out.push_str(indent);
                out.push_str("pub(crate) ");
                out.push_str(unvis);
                done = true;
                continue;
            }
        }
        out.push_str(line);
    }
    done.then_some(out)
}

/// Splits leading `#![..]` / `//!` lines (which `include!` rejects) from the rest.
fn split_inner_attributes(source: &str) -> (String, String) {
    let mut hoisted = String::new();
    let mut rest = String::new();
    let mut in_header = true;
    for line in source.split_inclusive('\n') {
        let t = line.trim_start();
        if in_header
            && (t.starts_with("//!") || (t.starts_with("#![") && t.trim_end().ends_with(']')))
        {
            hoisted.push_str(line);
            rest.push('\n'); // keep line numbers for diagnostics
        } else {
            if !(t.is_empty() || (t.starts_with("//") && !t.starts_with("//!"))) {
                in_header = false;
            }
            rest.push_str(line);
        }
    }
    (hoisted, rest)
}

/// [`Error::StreamNames`] for the first streaming rpc of `services`
/// (proto names) whose resource or poll variant the map does not name.
pub fn check_stream_names<'s>(
    map: &Map,
    services: impl IntoIterator<Item = &'s String>,
) -> Result<(), Error> {
    for service in services.into_iter().filter_map(|s| map.services.get(s)) {
        for m in &service.methods {
            if let Some(missing) = m.missing_stream_name() {
                return Err(Error::StreamNames {
                    rpc: format!("{}.{}", service.proto_name, m.proto_name),
                    missing,
                    kind: m.streaming.describe(),
                });
            }
        }
    }
    Ok(())
}

/// The body of a client method whose request is one message: the
/// request's metadata and timeout go with the call of the import, whose
/// `result` and response metadata (`headers`, `trailers`) `merged` turns
/// into the method's result.
pub(crate) fn request_call(
    map: &Map,
    conv: &proc_macro2::Ident,
    funcs: &TokenStream,
    ctx: &TokenStream,
    m: &proto2wit::MethodMap,
    merged: TokenStream,
) -> TokenStream {
    let wit_fn = wit_fn_ident(&m.wit_name);
    let call = if m.input_empty {
        quote!(let _ = request; let result = #funcs::#wit_fn();)
    } else {
        let to = to_wit_fn(map, &m.input);
        let arg = if wit_has_list(map, &m.input) {
            quote!(&request)
        } else {
            quote!(request)
        };
        quote! {
            let request = super::#conv::#to(request)?;
            let result = #funcs::#wit_fn(#arg);
        }
    };
    quote! {
        let request = request.into_request();
        let started = __cofaas_begin(request.metadata());
        let request = request.into_inner();
        #call
        let #ctx::ResponseMetadata { headers, trailers } = #ctx::take_response_metadata();
        __cofaas_end(started)?;
        #merged
    }
}

/// `match result { .. }` of a call: on `ok`, `response` with the callee's
/// `headers` (and `trailers`, with `trailers`) merged into its metadata;
/// on an error, the status with both, as tonic's client merges them.
pub(crate) fn reply_or_status(
    conv: &proc_macro2::Ident,
    ok: TokenStream,
    response: TokenStream,
    trailers: bool,
) -> TokenStream {
    let trailers = trailers
        .then(|| quote!(tonic::cofaas::extend_metadata(response.metadata_mut(), trailers);));
    quote! {
        match result {
            #ok => {
                let mut response = #response;
                tonic::cofaas::extend_metadata(response.metadata_mut(), headers);
                #trailers
                Ok(response)
            }
            Err(status) => {
                let mut status = super::#conv::status_from_wit(status);
                tonic::cofaas::extend_metadata(status.metadata_mut(), headers);
                tonic::cofaas::extend_metadata(status.metadata_mut(), trailers);
                Err(status)
            }
        }
    }
}

/// [`Error::Streaming`] for the first streaming rpc of a service `world`
/// exports or imports.
pub(crate) fn refuse_streaming(
    map: &Map,
    world: &proto2wit::WorldMap,
    backend: &'static str,
) -> Result<(), Error> {
    for name in world.exports.iter().chain(&world.imports) {
        let Some(service) = map.services.get(name) else {
            continue;
        };
        if let Some(m) = service.methods.iter().find(|m| !m.is_unary()) {
            return Err(Error::Streaming {
                rpc: format!("{}.{}", service.proto_name, m.proto_name),
                kind: m.streaming.describe(),
                backend,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{crate_visible_main, split_inner_attributes};

    #[test]
    fn main_is_made_crate_visible() {
        let src = "//! Doc\nmod x;\n\n#[tokio::main(flavor = \"multi_thread\")]\nasync fn main() -> Result<(), E> {\n    fn main_helper() {}\n}\n";
        let out = crate_visible_main(src).unwrap();
        assert!(
            out.contains("\npub(crate) async fn main() -> Result<(), E> {\n"),
            "{out}"
        );
        assert!(out.contains("    fn main_helper() {}"), "{out}");
        assert_eq!(
            out.lines().count(),
            src.lines().count(),
            "line numbers kept"
        );
        assert_eq!(
            crate_visible_main("pub fn main () {}\n").unwrap(),
            "pub(crate) fn main () {}\n"
        );
        assert!(crate_visible_main("fn mainly() {}\n").is_none());
    }

    #[test]
    fn inner_attributes_are_hoisted() {
        let (h, r) = split_inner_attributes("//! Doc\n#![allow(unused)]\n\nuse x;\n//! not\n");
        assert_eq!(h, "//! Doc\n#![allow(unused)]\n");
        assert_eq!(r, "\n\n\nuse x;\n//! not\n");
    }
}
