//! The Rust shims of streaming rpcs: tonic's API on both sides, over the
//! WIT resources proto2wit maps them to (see its mapping table).
//!
//! * Server side (the function exports the service): the tonic trait has
//!   tonic-build's associated `<Rpc>Stream` types and `Streaming<T>`
//!   requests; the registered service is kept behind an adapter that boxes
//!   its streams, so it can be held as one trait object; each resource is
//!   a struct over the stand-in tonic's `cofaas` drivers (`next_blocking`,
//!   `ClientStreamCall`, `BidiCall`).
//! * Client side (the function imports it): tonic-build's client methods,
//!   whose `Streaming<T>` replies pull from the imported resource and whose
//!   request streams are pushed into it.

use proc_macro2::TokenStream;
use proto2wit::{Map, MethodMap, Streaming};
use quote::{format_ident, quote};

use crate::convert::{from_wit_fn, method_ident, to_wit_fn, wit_fn_ident, wit_has_list};
use crate::rust_names::{ident, wit_camel};

/// What the generators of one service share.
pub(crate) struct Ctx<'a> {
    pub map: &'a Map,
    /// The service's conversion module (`__cofaas_route_guide`).
    pub conv: &'a proc_macro2::Ident,
    /// The bindings module of the service interface (exported or imported).
    pub wit_types: &'a TokenStream,
    /// The rpc-context bindings module.
    pub ctx: &'a TokenStream,
}

/// The name of tonic-build's associated stream type (`ListFeaturesStream`).
pub(crate) fn assoc_stream(m: &MethodMap) -> proc_macro2::Ident {
    format_ident!("{}Stream", m.proto_name)
}

/// Whether the tonic trait has an associated stream type for `m`.
pub(crate) fn streams_replies(m: &MethodMap) -> bool {
    matches!(m.streaming, Streaming::Server | Streaming::Bidi)
}

/// The resource's bindings type and the struct implementing it.
fn resource_idents(m: &MethodMap) -> (proc_macro2::Ident, proc_macro2::Ident, proc_macro2::Ident) {
    let camel = wit_camel(m.resource.as_deref().unwrap_or_default());
    (
        ident(&camel),
        format_ident!("Guest{camel}"),
        format_ident!("__Cofaas{camel}"),
    )
}

/// The trait method (and associated type) of a streaming rpc.
pub(crate) fn trait_items(m: &MethodMap, input: &TokenStream, output: &TokenStream) -> TokenStream {
    let name = method_ident(&m.proto_name);
    let assoc = assoc_stream(m);
    let doc = format!(" rpc `{}` ({}).", m.proto_name, m.streaming.describe());
    let assoc_doc = format!(
        " Server streaming response type for the {} method.",
        m.proto_name
    );
    let assoc_item = quote! {
        #[doc = #assoc_doc]
        type #assoc: tonic::codegen::tokio_stream::Stream<
                Item = std::result::Result<#output, tonic::Status>,
            > + std::marker::Send
            + 'static;
    };
    match m.streaming {
        Streaming::Server => quote! {
            #assoc_item
            #[doc = #doc]
            async fn #name(
                &self,
                request: tonic::Request<#input>,
            ) -> std::result::Result<tonic::Response<Self::#assoc>, tonic::Status>;
        },
        Streaming::Client => quote! {
            #[doc = #doc]
            async fn #name(
                &self,
                request: tonic::Request<tonic::Streaming<#input>>,
            ) -> std::result::Result<tonic::Response<#output>, tonic::Status>;
        },
        _ => quote! {
            #assoc_item
            #[doc = #doc]
            async fn #name(
                &self,
                request: tonic::Request<tonic::Streaming<#input>>,
            ) -> std::result::Result<tonic::Response<Self::#assoc>, tonic::Status>;
        },
    }
}

/// The adapter's method forwarding `m` to the registered service, boxing
/// its reply stream.
pub(crate) fn adapter_items(
    m: &MethodMap,
    input: &TokenStream,
    output: &TokenStream,
) -> TokenStream {
    let name = method_ident(&m.proto_name);
    let assoc = assoc_stream(m);
    let request = match m.streaming {
        Streaming::Unary | Streaming::Server => quote!(tonic::Request<#input>),
        _ => quote!(tonic::Request<tonic::Streaming<#input>>),
    };
    if streams_replies(m) {
        quote! {
            type #assoc = tonic::codegen::BoxStream<#output>;
            async fn #name(
                &self,
                request: #request,
            ) -> std::result::Result<tonic::Response<Self::#assoc>, tonic::Status> {
                self.0.#name(request).await.map(|response| {
                    response.map(|s| Box::pin(s) as tonic::codegen::BoxStream<#output>)
                })
            }
        }
    } else {
        quote! {
            async fn #name(
                &self,
                request: #request,
            ) -> std::result::Result<tonic::Response<#output>, tonic::Status> {
                self.0.#name(request).await
            }
        }
    }
}

/// `Ok(wit)` of a prost reply `message` (unit for an empty reply).
fn reply_to_wit(c: &Ctx, m: &MethodMap, message: TokenStream) -> TokenStream {
    let conv = c.conv;
    if m.output_empty {
        quote!({
            let _ = #message;
            Ok(())
        })
    } else {
        let to = to_wit_fn(c.map, &m.output);
        quote!(super::#conv::#to(#message))
    }
}

/// The WIT type of the reply (unit when empty), from the service module.
fn reply_wit_type(m: &MethodMap, wit_type: &dyn Fn(&str) -> TokenStream) -> TokenStream {
    if m.output_empty {
        quote!(())
    } else {
        wit_type(&m.output)
    }
}

/// The server side of streaming rpc `m`: the `Guest` function, the
/// associated resource type of the `Guest` impl, and the resource's struct
/// and impl.
pub(crate) struct GuestParts {
    pub method: TokenStream,
    pub assoc: TokenStream,
    pub items: TokenStream,
}

pub(crate) fn guest(
    c: &Ctx,
    m: &MethodMap,
    input: &TokenStream,
    output: &TokenStream,
    wit_type: &dyn Fn(&str) -> TokenStream,
) -> GuestParts {
    let (conv, wit_types, ctx) = (c.conv, c.wit_types, c.ctx);
    let name = method_ident(&m.proto_name);
    let wit_fn = wit_fn_ident(&m.wit_name);
    let (res, guest_trait, strukt) = resource_idents(m);
    let ok_ty = reply_wit_type(m, wit_type);
    let assoc = quote!(type #res = #strukt;);
    let from_request = |message: TokenStream| {
        if m.input_empty {
            quote!({
                let _ = #message;
                Ok(<#input>::default())
            })
        } else {
            let from = from_wit_fn(c.map, &m.input);
            quote!(super::#conv::#from(#message))
        }
    };
    let send_param = if m.input_empty {
        quote!()
    } else {
        let ty = wit_type(&m.input);
        quote!(message: #ty)
    };
    let send_message = if m.input_empty {
        quote!(())
    } else {
        quote!(message)
    };
    let prelude = quote! {
        // Taken first, so that none is left for a call this rpc makes.
        let metadata = #ctx::take_request_metadata();
    };
    // A client or bidi call: the `Guest` function starting the handler on
    // `driver`, the resource's struct over it, its drop, and its `send`.
    let call_parts = |driver: TokenStream, doc: &str| {
        let converted = from_request(send_message.clone());
        let method = quote! {
            fn #wit_fn() -> #wit_types::#res {
                #prelude
                let call = tonic::cofaas::#driver::start(
                    |requests| {
                        let service = __cofaas_service()?;
                        Ok(service.#name(__cofaas_request(requests, metadata)))
                    },
                    __cofaas_report,
                );
                #wit_types::#res::new(#strukt {
                    call: std::cell::RefCell::new(Some(call)),
                })
            }
        };
        let items = quote! {
            #[doc = #doc]
            pub struct #strukt {
                call: std::cell::RefCell<Option<tonic::cofaas::#driver<#input, #output>>>,
            }

            impl Drop for #strukt {
                fn drop(&mut self) {
                    self.call.get_mut().take();
                    tonic::cofaas::settle();
                }
            }
        };
        let send = quote! {
            fn send(&self, #send_param) -> bool {
                let mut call = self.call.borrow_mut();
                let Some(call) = call.as_mut() else {
                    return false;
                };
                let converted: Result<#input, tonic::Status> = #converted;
                match converted {
                    Ok(message) => call.send(message),
                    Err(status) => {
                        call.fail(status);
                        false
                    }
                }
            }
        };
        (method, items, send)
    };
    match m.streaming {
        Streaming::Server => {
            let (param, request) = if m.input_empty {
                (quote!(), quote!(<#input>::default()))
            } else {
                let ty = wit_type(&m.input);
                let from = from_wit_fn(c.map, &m.input);
                (quote!(request: #ty), quote!(super::#conv::#from(request)?))
            };
            let next = reply_to_wit(c, m, quote!(message));
            GuestParts {
                method: quote! {
                    fn #wit_fn(#param) -> Result<#wit_types::#res, #wit_types::RpcStatus> {
                        #prelude
                        let run = || -> Result<#wit_types::#res, tonic::Status> {
                            let service = __cofaas_service()?;
                            let request = __cofaas_request(#request, metadata);
                            let stream = match tonic::cofaas::block_on(service.#name(request)) {
                                Ok(response) => tonic::cofaas::headers_of(response, __cofaas_report),
                                Err(status) => {
                                    return Err(tonic::cofaas::trailers_of(status, __cofaas_report));
                                }
                            };
                            Ok(#wit_types::#res::new(#strukt {
                                stream: std::cell::RefCell::new(Some(stream)),
                            }))
                        };
                        run().map_err(super::#conv::status_to_wit)
                    }
                },
                assoc,
                items: quote! {
                    /// The reply stream of a server-streaming rpc, pulled
                    /// by the caller; dropping it drops the handler's stream.
                    pub struct #strukt {
                        stream: std::cell::RefCell<Option<tonic::codegen::BoxStream<#output>>>,
                    }

                    impl Drop for #strukt {
                        fn drop(&mut self) {
                            // The handler's stream goes (a cancellation if
                            // it had not ended); its producer tasks see it.
                            self.stream.get_mut().take();
                            tonic::cofaas::settle();
                        }
                    }

                    impl #wit_types::#guest_trait for #strukt {
                        fn next(&self) -> Option<Result<#ok_ty, #wit_types::RpcStatus>> {
                            let mut slot = self.stream.borrow_mut();
                            let item = match tonic::cofaas::next_blocking(slot.as_mut()?) {
                                None => {
                                    *slot = None;
                                    return None;
                                }
                                Some(Ok(message)) => #next,
                                Some(Err(status)) => {
                                    Err(tonic::cofaas::trailers_of(status, __cofaas_report))
                                }
                            };
                            if item.is_err() {
                                *slot = None;
                            }
                            Some(item.map_err(super::#conv::status_to_wit))
                        }
                    }
                },
            }
        }
        Streaming::Client => {
            let finish = reply_to_wit(c, m, quote!(reply));
            let (method, items, send) = call_parts(
                quote!(ClientStreamCall),
                " A client-streaming rpc in progress.",
            );
            GuestParts {
                method,
                assoc,
                items: quote! {
                    #items

                    impl #wit_types::#guest_trait for #strukt {
                        #send

                        fn finish(this: #wit_types::#res) -> Result<#ok_ty, #wit_types::RpcStatus> {
                            let this: #strukt = this.into_inner();
                            let Some(call) = this.call.borrow_mut().take() else {
                                return Err(super::#conv::status_to_wit(tonic::Status::internal(
                                    "cofaas: the call was finished twice",
                                )));
                            };
                            call.finish()
                                .and_then(|reply| #finish)
                                .map_err(super::#conv::status_to_wit)
                        }
                    }
                },
            }
        }
        _ => {
            let poll = ident(&wit_camel(m.poll.as_deref().unwrap_or_default()));
            let message_case = if m.output_empty {
                quote!(match {
                    let _ = message;
                    Ok::<(), tonic::Status>(())
                } {
                    Ok(()) => #wit_types::#poll::Message,
                    Err(status) => #wit_types::#poll::End(Err(super::#conv::status_to_wit(status))),
                })
            } else {
                let to = reply_to_wit(c, m, quote!(message));
                quote!(match #to {
                    Ok(message) => #wit_types::#poll::Message(message),
                    Err(status) => #wit_types::#poll::End(Err(super::#conv::status_to_wit(status))),
                })
            };
            let (method, items, send) = call_parts(
                quote!(BidiCall),
                " A bidi-streaming rpc in progress, driven by the caller.",
            );
            GuestParts {
                method,
                assoc,
                items: quote! {
                    #items

                    impl #wit_types::#guest_trait for #strukt {
                        #send

                        fn close_send(&self) {
                            if let Some(call) = self.call.borrow_mut().as_mut() {
                                call.close_send();
                            }
                        }

                        fn poll_next(&self) -> #wit_types::#poll {
                            let mut call = self.call.borrow_mut();
                            let Some(call) = call.as_mut() else {
                                return #wit_types::#poll::End(Ok(()));
                            };
                            match call.poll_next() {
                                tonic::cofaas::BidiPoll::Message(message) => #message_case,
                                tonic::cofaas::BidiPoll::Pending => #wit_types::#poll::Pending,
                                tonic::cofaas::BidiPoll::End(end) => {
                                    #wit_types::#poll::End(end.map_err(super::#conv::status_to_wit))
                                }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// The client method of streaming rpc `m` over the imported resource.
pub(crate) fn client_method(
    c: &Ctx,
    m: &MethodMap,
    input: &TokenStream,
    output: &TokenStream,
) -> TokenStream {
    let (conv, funcs, ctx) = (c.conv, c.wit_types, c.ctx);
    let name = method_ident(&m.proto_name);
    let wit_fn = wit_fn_ident(&m.wit_name);
    let (res, _, _) = resource_idents(m);
    let source = format_ident!("__CofaasSource{}", m.proto_name);
    let doc = format!(" rpc `{}` ({}).", m.proto_name, m.streaming.describe());
    let by_ref = !m.input_empty && wit_has_list(c.map, &m.input);
    let request_to_wit = |message: TokenStream| {
        if m.input_empty {
            quote!({
                let _ = #message;
                Ok::<(), tonic::Status>(())
            })
        } else {
            let to = to_wit_fn(c.map, &m.input);
            quote!(super::#conv::#to(#message))
        }
    };
    let reply_from_wit = |message: TokenStream| {
        if m.output_empty {
            quote!({
                let _ = #message;
                Ok::<#output, tonic::Status>(<#output>::default())
            })
        } else {
            let from = from_wit_fn(c.map, &m.output);
            quote!(super::#conv::#from(#message))
        }
    };
    let send_arg = if m.input_empty {
        quote!()
    } else if by_ref {
        quote!(&message)
    } else {
        quote!(message)
    };
    let status_of = quote! {
        /// A WIT status with the trailers of the call.
        fn __cofaas_status(status: Option<tonic::Status>, trailers: tonic::cofaas::Entries) -> tonic::Status {
            let mut status = status.unwrap_or_else(|| tonic::Status::internal("cofaas: no status"));
            tonic::cofaas::extend_metadata(status.metadata_mut(), trailers);
            status
        }
    };
    match m.streaming {
        Streaming::Server => {
            let message = reply_from_wit(quote!(message));
            // Headers only: the trailers come at the stream's end.
            let merged = crate::reply_or_status(
                conv,
                quote!(Ok(stream)),
                quote!(tonic::Response::new(tonic::Streaming::new(#source {
                    stream: Some(stream),
                    trailers: None,
                }))),
                false,
            );
            let body = crate::request_call(c.map, conv, funcs, ctx, m, merged);
            quote! {
                #[doc = #doc]
                pub async fn #name(
                    &mut self,
                    request: impl tonic::IntoRequest<#input>,
                ) -> std::result::Result<tonic::Response<tonic::Streaming<#output>>, tonic::Status> {
                    /// Pulls the replies from the imported stream resource.
                    struct #source {
                        stream: Option<#funcs::#res>,
                        trailers: Option<tonic::metadata::MetadataMap>,
                    }
                    #status_of
                    impl tonic::codec::Source<#output> for #source {
                        fn poll_message(
                            &mut self,
                            _cx: &mut std::task::Context<'_>,
                        ) -> std::task::Poll<Option<Result<#output, tonic::Status>>> {
                            let Some(stream) = &self.stream else {
                                return std::task::Poll::Ready(None);
                            };
                            let item = stream.next();
                            std::task::Poll::Ready(match item {
                                Some(Ok(message)) => Some(#message),
                                Some(Err(status)) => {
                                    self.stream = None;
                                    let trailers = #ctx::take_response_metadata().trailers;
                                    Some(Err(__cofaas_status(
                                        Some(super::#conv::status_from_wit(status)),
                                        trailers,
                                    )))
                                }
                                None => {
                                    self.stream = None;
                                    let mut trailers = tonic::metadata::MetadataMap::new();
                                    tonic::cofaas::extend_metadata(
                                        &mut trailers,
                                        #ctx::take_response_metadata().trailers,
                                    );
                                    self.trailers = Some(trailers);
                                    None
                                }
                            })
                        }
                        fn trailers(&mut self) -> Option<tonic::metadata::MetadataMap> {
                            self.trailers.take()
                        }
                    }
                    #body
                }
            }
        }
        Streaming::Client => {
            let to = request_to_wit(quote!(message));
            let reply = reply_from_wit(quote!(reply));
            let merged = crate::reply_or_status(
                conv,
                quote!(Ok(reply)),
                quote!(tonic::Response::new(#reply?)),
                true,
            );
            quote! {
                #[doc = #doc]
                pub async fn #name(
                    &mut self,
                    request: impl tonic::IntoStreamingRequest<Message = #input>,
                ) -> std::result::Result<tonic::Response<#output>, tonic::Status> {
                    let request = request.into_streaming_request();
                    let started = __cofaas_begin(request.metadata());
                    let call = #funcs::#wit_fn();
                    let mut requests = std::pin::pin!(request.into_inner());
                    while let Some(message) = std::future::poll_fn(|cx| {
                        tonic::codegen::tokio_stream::Stream::poll_next(requests.as_mut(), cx)
                    })
                    .await
                    {
                        // A request that does not convert ends the call
                        // (dropping it cancels the rpc), as a request
                        // tonic cannot encode does.
                        let message = #to?;
                        if !call.send(#send_arg) {
                            break;
                        }
                    }
                    let result = #funcs::#res::finish(call);
                    let #ctx::ResponseMetadata { headers, trailers } = #ctx::take_response_metadata();
                    __cofaas_end(started)?;
                    #merged
                }
            }
        }
        _ => {
            let poll = ident(&wit_camel(m.poll.as_deref().unwrap_or_default()));
            let to = request_to_wit(quote!(message));
            let message_case = if m.output_empty {
                let reply = reply_from_wit(quote!(()));
                quote!(#funcs::#poll::Message => tonic::cofaas::BidiPoll::Message(#reply),)
            } else {
                let reply = reply_from_wit(quote!(message));
                quote!(#funcs::#poll::Message(message) => tonic::cofaas::BidiPoll::Message(#reply),)
            };
            let import = format_ident!("__CofaasImport{}", m.proto_name);
            quote! {
                #[doc = #doc]
                pub async fn #name(
                    &mut self,
                    request: impl tonic::IntoStreamingRequest<Message = #input>,
                ) -> std::result::Result<tonic::Response<tonic::Streaming<#output>>, tonic::Status> {
                    /// The imported call resource, as the bidi driver uses it.
                    struct #import(#funcs::#res);
                    #status_of
                    impl tonic::cofaas::BidiImport<#input, #output> for #import {
                        fn send(&mut self, message: #input) -> Result<bool, tonic::Status> {
                            let message = #to?;
                            Ok(self.0.send(#send_arg))
                        }
                        fn close_send(&mut self) {
                            self.0.close_send();
                        }
                        fn poll_next(&mut self) -> tonic::cofaas::BidiPoll<Result<#output, tonic::Status>> {
                            match self.0.poll_next() {
                                #message_case
                                #funcs::#poll::Pending => tonic::cofaas::BidiPoll::Pending,
                                #funcs::#poll::End(Ok(())) => tonic::cofaas::BidiPoll::End(Ok(())),
                                #funcs::#poll::End(Err(status)) => {
                                    let trailers = #ctx::take_response_metadata().trailers;
                                    tonic::cofaas::BidiPoll::End(Err(__cofaas_status(
                                        Some(super::#conv::status_from_wit(status)),
                                        trailers,
                                    )))
                                }
                            }
                        }
                        fn trailers(&mut self) -> Option<tonic::metadata::MetadataMap> {
                            let mut trailers = tonic::metadata::MetadataMap::new();
                            tonic::cofaas::extend_metadata(
                                &mut trailers,
                                #ctx::take_response_metadata().trailers,
                            );
                            Some(trailers)
                        }
                    }
                    let request = request.into_streaming_request();
                    let started = __cofaas_begin(request.metadata());
                    let call = #funcs::#wit_fn();
                    let #ctx::ResponseMetadata { headers, .. } = #ctx::take_response_metadata();
                    __cofaas_end(started)?;
                    let mut response = tonic::Response::new(tonic::Streaming::new(
                        tonic::cofaas::BidiSource::new(#import(call), request.into_inner()),
                    ));
                    tonic::cofaas::extend_metadata(response.metadata_mut(), headers);
                    Ok(response)
                }
            }
        }
    }
}
