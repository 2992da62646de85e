//! Remote edges: for every service interface, a function registering its
//! functions as typed host functions that call the service's peer over
//! gRPC (`cofaas_host::RemoteEdge::call`). The caller's WIT request (the
//! bindings' import-side types) is converted to its prost message, the
//! prost reply back, by the same conversions the public handlers use.

use proc_macro2::TokenStream;
use proto2wit::{Map, MethodMap, ServiceMap, Streaming};
use quote::{format_ident, quote};

use crate::{Error, host_conversions, import_module, pb_path};

/// The `remote` module of the generated host, and the conversion modules
/// it uses.
pub(crate) fn module(map: &Map) -> Result<TokenStream, Error> {
    let mut convs = Vec::new();
    let mut arms = Vec::new();
    for service in map.services.values() {
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
            if !m.is_unary() {
                let io = Io {
                    conv: &conv,
                    pb_in: &pb_in,
                    pb_out: &pb_out,
                    path: &path,
                };
                funcs.push(stream_funcs(map, service, m, &io));
                continue;
            }
            let (params, request) = request_params(map, m, &conv, &pb_in);
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

/// The parameters of rpc `m`'s WIT function, and its request as the prost
/// message (`?` on a failed conversion).
fn request_params(
    map: &Map,
    m: &MethodMap,
    conv: &proc_macro2::Ident,
    pb_in: &TokenStream,
) -> (TokenStream, TokenStream) {
    if m.input_empty {
        (quote!((): ()), quote!(<#pb_in>::default()))
    } else {
        let input = wit_type(map, &m.input);
        let from = grpc_shim_gen::from_wit_fn(map, &m.input);
        (
            quote!((request,): (#input,)),
            quote!(crate::#conv::#from(request)?),
        )
    }
}

/// What the registration of one streaming rpc needs.
struct Io<'a> {
    conv: &'a proc_macro2::Ident,
    pb_in: &'a TokenStream,
    pb_out: &'a TokenStream,
    path: &'a str,
}

/// The registration of streaming rpc `m`'s function and resource as a
/// streaming call to the peer (`cofaas_host::RemoteStream`).
fn stream_funcs(map: &Map, service: &ServiceMap, m: &MethodMap, io: &Io) -> TokenStream {
    let Io {
        conv,
        pb_in,
        pb_out,
        path,
    } = io;
    let wit = &m.wit_name;
    let res = m.resource.as_deref().unwrap_or_default();
    let stream = quote!(cofaas_host::RemoteStream<#pb_in, #pb_out>);
    let handle = quote!(wasmtime::component::Resource<#stream>);
    let method = |name: &str| format!("[method]{res}.{name}");
    // A prost reply as its WIT value, or the status it fails with.
    let reply = if m.output_empty {
        quote!(|reply: #pb_out| {
            let _ = reply;
            Ok::<(), cofaas_host::tonic::Status>(())
        })
    } else {
        let to = grpc_shim_gen::to_wit_fn(map, &m.output);
        quote!(crate::#conv::#to)
    };
    let resource = quote! {
        instance.resource(
            #res,
            wasmtime::component::ResourceType::host::<#stream>(),
            cofaas_host::RemoteStream::<#pb_in, #pb_out>::drop_rep,
        )?;
    };
    let open_call = |bidi: bool| {
        quote! {
            let edge = remote.edge(#wit, #path);
            instance.func_wrap(#wit, move |mut store: wasmtime::StoreContextMut<'_, State>, (): ()| {
                Ok((edge.open_call::<#pb_in, #pb_out>(store.as_context_mut(), #bidi)?,))
            })?;
        }
    };
    let send = {
        let name = method("send");
        if m.input_empty {
            quote! {
                let edge = remote.edge(#name, #path);
                instance.func_wrap(#name, move |mut store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                    Ok((edge.send::<#pb_in, #pb_out>(store.as_context_mut(), &this, <#pb_in>::default()),))
                })?;
            }
        } else {
            let input = wit_type(map, &m.input);
            let from = grpc_shim_gen::from_wit_fn(map, &m.input);
            quote! {
                let edge = remote.edge(#name, #path);
                instance.func_wrap(#name, move |mut store: wasmtime::StoreContextMut<'_, State>, (this, message): (#handle, #input)| {
                    let sent = match crate::#conv::#from(message) {
                        Ok(message) => edge.send::<#pb_in, #pb_out>(store.as_context_mut(), &this, message),
                        Err(_) => false,
                    };
                    Ok((sent,))
                })?;
            }
        }
    };
    match m.streaming {
        Streaming::Server => {
            let (params, request) = request_params(map, m, conv, pb_in);
            let next = method("next");
            quote! {
                {
                    #resource
                    let edge = remote.edge(#wit, #path);
                    instance.func_wrap(#wit, move |mut store: wasmtime::StoreContextMut<'_, State>, #params| {
                        let result = (|| {
                            let request = #request;
                            edge.open_server::<#pb_in, #pb_out>(store.as_context_mut(), request)
                        })();
                        Ok((result.map_err(crate::#conv::status_to_wit),))
                    })?;
                    let edge = remote.edge(#next, #path);
                    instance.func_wrap(#next, move |mut store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                        let item = edge.next::<#pb_in, #pb_out>(store.as_context_mut(), &this);
                        Ok((item.map(|r| r.and_then(#reply).map_err(crate::#conv::status_to_wit)),))
                    })?;
                }
            }
        }
        Streaming::Client => {
            let finish = format!("[static]{res}.finish");
            let open = open_call(false);
            quote! {
                {
                    #resource
                    #open
                    #send
                    let edge = remote.edge(#finish, #path);
                    instance.func_wrap(#finish, move |mut store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                        let result = edge.finish::<#pb_in, #pb_out>(store.as_context_mut(), this).and_then(#reply);
                        Ok((result.map_err(crate::#conv::status_to_wit),))
                    })?;
                }
            }
        }
        _ => {
            let poll = import_module(map, service);
            let variant = grpc_shim_gen::rust_names::ident(&grpc_shim_gen::rust_names::wit_camel(
                m.poll.as_deref().unwrap_or_default(),
            ));
            let message = if m.output_empty {
                quote!(match (#reply)(reply) {
                    Ok(()) => #poll::#variant::Message,
                    Err(status) => #poll::#variant::End(Err(crate::#conv::status_to_wit(status))),
                })
            } else {
                quote!(match (#reply)(reply) {
                    Ok(message) => #poll::#variant::Message(message),
                    Err(status) => #poll::#variant::End(Err(crate::#conv::status_to_wit(status))),
                })
            };
            let (close, poll_next) = (method("close-send"), method("poll-next"));
            let open = open_call(true);
            quote! {
                {
                    #resource
                    #open
                    #send
                    let edge = remote.edge(#close, #path);
                    instance.func_wrap(#close, move |mut store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                        edge.close_send::<#pb_in, #pb_out>(store.as_context_mut(), &this);
                        Ok(())
                    })?;
                    let edge = remote.edge(#poll_next, #path);
                    instance.func_wrap(#poll_next, move |mut store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                        let polled = match edge.poll_next::<#pb_in, #pb_out>(store.as_context_mut(), &this) {
                            Ok(Some(reply)) => #message,
                            Ok(None) => #poll::#variant::Pending,
                            Err(None) => #poll::#variant::End(Ok(())),
                            Err(Some(status)) => #poll::#variant::End(Err(crate::#conv::status_to_wit(status))),
                        };
                        Ok((polled,))
                    })?;
                }
            }
        }
    }
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
