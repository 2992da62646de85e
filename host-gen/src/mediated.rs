//! Typed host-mediated calls: Rust mirrors of every WIT record and enum
//! (wasmtime's `ComponentType`/`Lift`/`Lower` derives), and for every
//! service interface a function registering its functions as typed host
//! functions that forward to the callee unit's export. Lists such as
//! `list<u8>` are then lifted as one `Vec<u8>` copy instead of one dynamic
//! value per element.
//!
//! Component-model records are typed structurally, so one Rust struct per
//! proto message serves every interface that defines a record of it.

use proc_macro2::TokenStream;
use proto2wit::{Label, Map, ValueType};
use quote::{format_ident, quote};

use grpc_shim_gen::rust_names::{ident, wit_snake};

/// The Rust type name mirroring message or enum `full`.
fn type_ident(full: &str) -> proc_macro2::Ident {
    let mut name = String::from("T");
    for c in full.chars() {
        name.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    format_ident!("{name}")
}

fn value(ty: &ValueType) -> TokenStream {
    match ty {
        ValueType::Scalar(s) => grpc_shim_gen::rust_scalar(*s),
        ValueType::Message(m) | ValueType::Enum(m) => {
            let t = type_ident(m);
            quote!(#t)
        }
        ValueType::Encoded(_) => quote!(Vec<u8>),
        ValueType::FieldMask => quote!(Vec<String>),
    }
}

fn field_type(label: &Label, ty: &ValueType) -> TokenStream {
    let v = value(ty);
    match label {
        Label::Singular => v,
        Label::Optional => quote!(Option<#v>),
        Label::Repeated => quote!(Vec<#v>),
        Label::Map { key } => {
            let k = value(key);
            quote!(Vec<(#k, #v)>)
        }
    }
}

/// The Rust type of rpc `m`'s reply in WIT: its mirror, or `()` for an
/// empty message.
fn output_type(m: &proto2wit::MethodMap) -> TokenStream {
    if m.output_empty {
        quote!(())
    } else {
        let t = type_ident(&m.output);
        quote!(#t)
    }
}

/// The registration of streaming rpc `m`'s functions and resource as
/// host-mediated calls on a leased instance of the callee
/// (`cofaas_host::EdgeStream`), and the mirror of its poll variant (bidi).
fn stream_funcs(interface: &str, m: &proto2wit::MethodMap) -> (TokenStream, Option<TokenStream>) {
    let wit = &m.wit_name;
    let res = m.resource.as_deref().unwrap_or_default();
    let marker = type_ident(&format!("resource.{res}"));
    let output = output_type(m);
    let handle = quote!(wasmtime::component::Resource<cofaas_host::EdgeStream<#marker>>);
    let any = quote!(wasmtime::component::ResourceAny);
    let resource = quote! {
        instance.resource(
            #res,
            wasmtime::component::ResourceType::host::<cofaas_host::EdgeStream<#marker>>(),
            cofaas_host::EdgeStream::<#marker>::drop_rep,
        )?;
    };
    let method = |name: &str| format!("[method]{res}.{name}");
    // `send(message) -> bool` of client and bidi calls.
    let send = {
        let name = method("send");
        if m.input_empty {
            quote! {
                let edge = edges.edge(#name);
                instance.func_wrap(#name, move |store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                    edge.stream_call::<#marker, (#any,), (bool,)>(store, &this, |r| (r,), |_| (false,))
                })?;
            }
        } else {
            let input = type_ident(&m.input);
            quote! {
                let edge = edges.edge(#name);
                instance.func_wrap(#name, move |store: wasmtime::StoreContextMut<'_, State>, (this, message): (#handle, #input)| {
                    edge.stream_call::<#marker, (#any, #input), (bool,)>(store, &this, |r| (r, message), |_| (false,))
                })?;
            }
        }
    };
    let open_call = quote! {
        let edge = edges.edge(#wit);
        instance.func_wrap(#wit, move |store: wasmtime::StoreContextMut<'_, State>, (): ()| {
            edge.open_call::<#marker, ()>(store, ())
        })?;
    };
    let mut poll_type = None;
    let linked = match m.streaming {
        proto2wit::Streaming::Server => {
            let open = if m.input_empty {
                quote! {
                    instance.func_wrap(#wit, move |store: wasmtime::StoreContextMut<'_, State>, (): ()| {
                        edge.open_stream::<#marker, (), RpcStatus>(store, (), |s| RpcStatus::from(s))
                    })?;
                }
            } else {
                let input = type_ident(&m.input);
                quote! {
                    instance.func_wrap(#wit, move |store: wasmtime::StoreContextMut<'_, State>, (request,): (#input,)| {
                        edge.open_stream::<#marker, (#input,), RpcStatus>(store, (request,), |s| RpcStatus::from(s))
                    })?;
                }
            };
            let next = method("next");
            quote! {
                #resource
                let edge = edges.edge(#wit);
                #open
                let edge = edges.edge(#next);
                instance.func_wrap(#next, move |store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                    edge.stream_call::<#marker, (#any,), (Option<Result<#output, RpcStatus>>,)>(
                        store, &this, |r| (r,), |s| (Some(Err(RpcStatus::from(s))),),
                    )
                })?;
            }
        }
        proto2wit::Streaming::Client => {
            let finish = format!("[static]{res}.finish");
            quote! {
                #resource
                #open_call
                #send
                let edge = edges.edge(#finish);
                instance.func_wrap(#finish, move |store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                    edge.stream_finish::<#marker, (#any,), (Result<#output, RpcStatus>,)>(
                        store, this, |r| (r,), |s| (Err(RpcStatus::from(s)),),
                    )
                })?;
            }
        }
        _ => {
            let poll_wit = m.poll.as_deref().unwrap_or_default();
            let poll = type_ident(&format!("poll.{interface}.{poll_wit}"));
            let message = if m.output_empty {
                quote!(
                    #[component(name = "message")]
                    Message
                )
            } else {
                quote!(#[component(name = "message")] Message(#output))
            };
            poll_type = Some(quote! {
                #[derive(wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower)]
                #[component(variant)]
                pub enum #poll {
                    #message,
                    #[component(name = "pending")] Pending,
                    #[component(name = "end")] End(Result<(), RpcStatus>),
                }
            });
            let close = method("close-send");
            let poll_next = method("poll-next");
            quote! {
                #resource
                #open_call
                #send
                let edge = edges.edge(#close);
                instance.func_wrap(#close, move |store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                    edge.stream_call::<#marker, (#any,), ()>(store, &this, |r| (r,), |_| ())
                })?;
                let edge = edges.edge(#poll_next);
                instance.func_wrap(#poll_next, move |store: wasmtime::StoreContextMut<'_, State>, (this,): (#handle,)| {
                    edge.stream_call::<#marker, (#any,), (#poll,)>(
                        store, &this, |r| (r,), |s| (#poll::End(Err(RpcStatus::from(s))),),
                    )
                })?;
            }
        }
    };
    (
        quote! {
            /// The resource's marker (`cofaas_host::EdgeStream`).
            pub enum #marker {}
            #linked
        },
        poll_type,
    )
}

/// The `mediated` module of the generated host.
pub(crate) fn module(map: &Map) -> TokenStream {
    let mut types = Vec::new();
    for (full, m) in &map.messages {
        let name = type_ident(full);
        if m.is_empty() {
            // `enum <name> { empty }`: the component model has no empty records.
            let case = proto2wit::EMPTY_CASE;
            types.push(quote! {
                #[derive(Clone, Copy, wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower)]
                #[component(enum)]
                #[repr(u8)]
                pub enum #name { #[component(name = #case)] V0 }
            });
            continue;
        }
        let oneof_ident = |o: &proto2wit::OneofMap| {
            let t = type_ident(&format!("{full}.{}", o.proto_name));
            format_ident!("O{t}")
        };
        let fields = m
            .fields
            .iter()
            .map(|f| {
                let field = ident(&wit_snake(&f.wit_name));
                let wit = &f.wit_name;
                let ty = field_type(&f.label, &f.ty);
                quote!(#[component(name = #wit)] pub #field: #ty)
            })
            .chain(m.oneofs.iter().map(|o| {
                let field = ident(&wit_snake(&o.wit_name));
                let wit = &o.wit_name;
                let ty = oneof_ident(o);
                quote!(#[component(name = #wit)] pub #field: Option<#ty>)
            }))
            .collect::<Vec<_>>();
        for o in &m.oneofs {
            let name = oneof_ident(o);
            let cases = o.cases.iter().enumerate().map(|(i, c)| {
                let case = format_ident!("V{i}");
                let wit = &c.wit_name;
                let ty = value(&c.ty);
                quote!(#[component(name = #wit)] #case(#ty))
            });
            types.push(quote! {
                #[derive(wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower)]
                #[component(variant)]
                pub enum #name { #(#cases,)* }
            });
        }
        types.push(quote! {
            #[derive(wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower)]
            #[component(record)]
            pub struct #name { #(#fields,)* }
        });
    }
    for (full, e) in &map.enums {
        let name = type_ident(full);
        let repr = if e.values.len() <= 256 {
            quote!(u8)
        } else {
            quote!(u16)
        };
        let cases = e.values.iter().enumerate().map(|(i, v)| {
            let case = format_ident!("V{i}");
            let wit = &v.wit_name;
            quote!(#[component(name = #wit)] #case)
        });
        if e.open {
            let unrecognized = proto2wit::UNRECOGNIZED_CASE;
            types.push(quote! {
                #[derive(Clone, Copy, wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower)]
                #[component(variant)]
                pub enum #name { #(#cases,)* #[component(name = #unrecognized)] Unrecognized(i32) }
            });
            continue;
        }
        types.push(quote! {
            #[derive(Clone, Copy, wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower)]
            #[component(enum)]
            #[repr(#repr)]
            pub enum #name { #(#cases,)* }
        });
    }

    let mut arms = Vec::new();
    for service in map.services.values() {
        let interface = map.interface_path(service);
        let funcs = service.methods.iter().map(|m| {
            let wit = &m.wit_name;
            if !m.is_unary() {
                let (linked, poll) = stream_funcs(&interface, m);
                types.extend(poll);
                return linked;
            }
            let output = output_type(m);
            let result = quote!((Result<#output, RpcStatus>,));
            if m.input_empty {
                quote! {
                    let edge = edges.edge(#wit);
                    instance.func_wrap(#wit, move |store: wasmtime::StoreContextMut<'_, State>, (): ()| {
                        edge.call::<(), #result>(store, (), |s| (Err(RpcStatus::from(s)),))
                    })?;
                }
            } else {
                let input = type_ident(&m.input);
                quote! {
                    let edge = edges.edge(#wit);
                    instance.func_wrap(#wit, move |store: wasmtime::StoreContextMut<'_, State>, (request,): (#input,)| {
                        edge.call::<(#input,), #result>(store, (request,), |s| (Err(RpcStatus::from(s)),))
                    })?;
                }
            }
        });
        let funcs = funcs.collect::<Vec<_>>();
        arms.push(quote! {
            #interface => {
                let mut instance = linker.instance(interface)?;
                #(#funcs)*
                Ok(true)
            }
        });
    }

    quote! {
        /// Typed host-mediated calls between units: Rust mirrors of the
        /// app's WIT records and enums, and the registration of each
        /// service interface's functions as typed host functions.
        #[allow(dead_code, non_camel_case_types, clippy::all)]
        mod mediated {
            use cofaas_host::{State, wasmtime};

            #(#types)*

            /// WIT `rpc-status`.
            #[derive(wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower)]
            #[component(record)]
            pub struct RpcStatus {
                #[component(name = "code")]
                pub code: i32,
                #[component(name = "message")]
                pub message: String,
                #[component(name = "details")]
                pub details: Vec<u8>,
            }

            impl From<&cofaas_host::tonic::Status> for RpcStatus {
                fn from(s: &cofaas_host::tonic::Status) -> Self {
                    RpcStatus {
                        code: s.code() as i32,
                        message: s.message().to_string(),
                        details: s.details().to_vec(),
                    }
                }
            }

            /// Registers `interface`'s functions in `linker` as typed
            /// host-mediated calls; `false` if the interface is not one of
            /// the app's services.
            pub fn link(
                linker: &mut wasmtime::component::Linker<State>,
                interface: &str,
                edges: &cofaas_host::EdgeFactory,
            ) -> wasmtime::Result<bool> {
                let _ = (&linker, edges);
                match interface {
                    #(#arms)*
                    _ => Ok(false),
                }
            }
        }
    }
}
