//! Remote edges: for every service interface, a function registering its
//! functions as typed host functions that call the service's peer over
//! gRPC (`cofaas_host::RemoteEdge::call`). The caller's WIT request (the
//! bindings' import-side types) is converted to its prost message, the
//! prost reply back, by the same conversions the public handlers use.

use proc_macro2::TokenStream;
use proto2wit::Map;
use quote::{format_ident, quote};

use crate::{Error, host_conversions, import_module, pb_path};

/// The `remote` module of the generated host, and the conversion modules
/// it uses.
pub(crate) fn module(map: &Map) -> Result<TokenStream, Error> {
    let mut convs = Vec::new();
    let mut arms = Vec::new();
    for service in map.services.values() {
        if let Some(m) = service.methods.iter().find(|m| !m.is_unary()) {
            let interface = map.interface_path(service);
            let message = format!(
                "`{}.{}` is a {}, which a remote edge does not carry yet",
                service.proto_name,
                m.proto_name,
                m.streaming.describe()
            );
            arms.push(quote!(#interface => Err(wasmtime::Error::msg(#message)),));
            continue;
        }
        let conv = format_ident!(
            "__cofaas_remote_{}",
            grpc_shim_gen::rust_names::tonic_snake(&service.name)
        );
        let types = import_module(map, service);
        let conv_fns = host_conversions(map, service, types.clone());
        let doc = format!(
            " prost ⇄ WIT conversions for calls to `{}` on a peer.",
            service.proto_name
        );
        convs.push(quote! {
            #[doc = #doc]
            #[allow(dead_code, unused_mut, clippy::all)]
            mod #conv {
                #conv_fns
            }
        });
        let interface = map.interface_path(service);
        let mut funcs = Vec::new();
        for m in &service.methods {
            for msg in [&m.input, &m.output] {
                if !map.messages.contains_key(msg) {
                    return Err(Error::UnknownMessage {
                        message: msg.clone(),
                    });
                }
            }
            let wit = &m.wit_name;
            let path = format!("/{}/{}", service.proto_name, m.proto_name);
            let pb_in = pb_path(map, &m.input);
            let pb_out = pb_path(map, &m.output);
            let (params, request) = if m.input_empty {
                (quote!((): ()), quote!(<#pb_in>::default()))
            } else {
                let input = wit_type(map, &m.input);
                let from = grpc_shim_gen::from_wit_fn(map, &m.input);
                (
                    quote!((request,): (#input,)),
                    quote!(crate::#conv::#from(request)?),
                )
            };
            let reply = if m.output_empty {
                quote!({
                    let _ = reply;
                    Ok(())
                })
            } else {
                let to = grpc_shim_gen::to_wit_fn(map, &m.output);
                quote!(crate::#conv::#to(reply))
            };
            funcs.push(quote! {
                {
                    let edge = remote.edge(#wit, #path);
                    instance.func_wrap(#wit, move |mut store: wasmtime::StoreContextMut<'_, State>, #params| {
                        let result = (|| {
                            let request = #request;
                            let reply = edge.call::<#pb_in, #pb_out>(store.as_context_mut(), request)?;
                            #reply
                        })();
                        Ok((result.map_err(crate::#conv::status_to_wit),))
                    })?;
                }
            });
        }
        arms.push(quote! {
            #interface => {
                let mut instance = linker.instance(interface)?;
                #(#funcs)*
                Ok(true)
            }
        });
    }
    Ok(quote! {
        #(#convs)*

        /// Remote edges: the app's service interfaces as typed host
        /// functions calling the service's peer over gRPC.
        #[allow(dead_code, clippy::all)]
        mod remote {
            use cofaas_host::{State, wasmtime};
            use wasmtime::AsContextMut as _;

            /// Registers `interface`'s functions in `linker` as calls to
            /// the peer `remote` reaches; `false` if the interface is not
            /// one of the app's services.
            pub fn link(
                linker: &mut wasmtime::component::Linker<State>,
                interface: &str,
                remote: &cofaas_host::RemoteFactory,
            ) -> wasmtime::Result<bool> {
                let _ = (&linker, remote);
                match interface {
                    #(#arms)*
                    _ => Ok(false),
                }
            }
        }
    })
}

/// The import-side bindings type of message `full`.
fn wit_type(map: &Map, full: &str) -> TokenStream {
    let iface = map.type_interface(full).unwrap_or_default();
    let (ns, pkg) = crate::wit_package(map);
    let module = grpc_shim_gen::rust_names::path([
        "crate",
        "bindings",
        &grpc_shim_gen::rust_names::wit_snake(ns),
        &grpc_shim_gen::rust_names::wit_snake(pkg),
        &grpc_shim_gen::rust_names::wit_snake(iface),
    ]);
    let name = map.type_wit_name(full).unwrap_or_default();
    let ty = grpc_shim_gen::rust_names::ident(&grpc_shim_gen::rust_names::wit_camel(name));
    quote!(#module::#ty)
}
