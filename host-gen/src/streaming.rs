//! Handlers of public streaming rpcs: each runs the function's stream
//! resource on one instance through `cofaas_host::Host::serve_stream`
//! (replies) or `Host::call` (a client stream's one reply), converting
//! every message between prost and WIT.

use proc_macro2::TokenStream;
use proto2wit::{Map, MethodMap, Streaming};
use quote::{format_ident, quote};

use grpc_shim_gen::rust_names::{ident, wit_camel, wit_snake};
use grpc_shim_gen::{from_wit_fn, method_ident, to_wit_fn, wit_fn_ident, wit_has_list};

/// What the handler methods of one service share.
pub(crate) struct Ctx<'a> {
    pub map: &'a Map,
    /// The conversion module.
    pub conv: &'a syn::Ident,
    /// The accessor of the service's export on `Exports`.
    pub getter: &'a syn::Ident,
    /// The bindings module of the exported interface.
    pub wit_types: &'a TokenStream,
}

/// The handler method (and associated stream type) of streaming rpc `m`;
/// `site` declares `SITE` and `inbound`.
pub(crate) fn handler(
    c: &Ctx,
    m: &MethodMap,
    input: &TokenStream,
    output: &TokenStream,
    site: &TokenStream,
) -> TokenStream {
    let (conv, getter, wit_types) = (c.conv, c.getter, c.wit_types);
    let name = method_ident(&m.proto_name);
    let call_fn = format_ident!("call_{}", wit_fn_ident(&m.wit_name));
    let resource = ident(&wit_snake(m.resource.as_deref().unwrap_or_default()));
    let assoc = format_ident!("{}Stream", m.proto_name);
    let doc = format!(
        " rpc `{}` ({}): runs the component's `{}` on one instance.",
        m.proto_name,
        m.streaming.describe(),
        m.wit_name
    );
    // A reply from WIT, as the prost message (or the status it failed with).
    let reply = |wit: TokenStream| {
        if m.output_empty {
            quote!({
                let _ = #wit;
                Ok::<#output, cofaas_host::tonic::Status>(<#output>::default())
            })
        } else {
            let from = from_wit_fn(c.map, &m.output);
            quote!(#conv::#from(#wit))
        }
    };
    // Sends one request message to the call resource; `sent` is whether
    // the function still takes them.
    let send = {
        let (convert, arg) = if m.input_empty {
            (quote!(let _ = message;), quote!())
        } else {
            let to = to_wit_fn(c.map, &m.input);
            let arg = if wit_has_list(c.map, &m.input) {
                quote!(, &message)
            } else {
                quote!(, message)
            };
            (
                quote! {
                    let message = match #conv::#to(message) {
                        Ok(message) => message,
                        Err(status) => break Err(status),
                    };
                },
                arg,
            )
        };
        quote! {
            #convert
            let sent = guest.#resource().call_send(&mut *store, call #arg)?;
        }
    };
    match m.streaming {
        Streaming::Server => {
            let (param, call) = if m.input_empty {
                (
                    quote!(let _ = request;),
                    quote!(guest.#call_fn(&mut *store)?),
                )
            } else {
                let to = to_wit_fn(c.map, &m.input);
                let arg = if wit_has_list(c.map, &m.input) {
                    quote!(&request)
                } else {
                    quote!(request)
                };
                (
                    quote!(let request = #conv::#to(request.into_inner())?;),
                    quote!(guest.#call_fn(&mut *store, #arg)?),
                )
            };
            let next = reply(quote!(message));
            quote! {
                type #assoc = cofaas_host::ReplyStream<#output>;
                #[doc = #doc]
                async fn #name(
                    &self,
                    request: tonic::Request<#input>,
                ) -> Result<tonic::Response<Self::#assoc>, tonic::Status> {
                    #site
                    #param
                    self.host
                        .serve_stream(&SITE, inbound, move |store, exports, replies| {
                            let guest = exports.#getter()?;
                            let stream = match #call {
                                Ok(stream) => stream,
                                Err(status) => {
                                    replies.fail(store, #conv::status_from_wit(status));
                                    return Ok(());
                                }
                            };
                            replies.open(store);
                            loop {
                                let Some(item) = guest.#resource().call_next(&mut *store, stream)? else {
                                    break;
                                };
                                let converted = match item {
                                    Ok(message) => #next,
                                    Err(status) => Err(#conv::status_from_wit(status)),
                                };
                                match converted {
                                    Ok(message) => {
                                        if !replies.send(message) {
                                            break; // the client went: cancel
                                        }
                                    }
                                    Err(status) => {
                                        replies.fail(store, status);
                                        break;
                                    }
                                }
                            }
                            // Dropping the resource drops the function's
                            // stream (a cancellation, if it had not ended).
                            stream.resource_drop(&mut *store)?;
                            Ok(())
                        })
                        .await
                }
            }
        }
        Streaming::Client => {
            let finish = reply(quote!(reply));
            quote! {
                #[doc = #doc]
                async fn #name(
                    &self,
                    request: tonic::Request<tonic::Streaming<#input>>,
                ) -> Result<tonic::Response<#output>, tonic::Status> {
                    #site
                    let mut requests = cofaas_host::Requests::new(request.into_inner());
                    let (result, response) = self
                        .host
                        .call(&SITE, inbound, move |store, exports| {
                            let guest = exports.#getter()?;
                            let call = guest.#call_fn(&mut *store)?;
                            let failed = loop {
                                match requests.recv() {
                                    cofaas_host::Request::Message(message) => {
                                        #send
                                        if !sent {
                                            break Ok(());
                                        }
                                    }
                                    cofaas_host::Request::Failed(status) => break Err(status),
                                    _ => break Ok(()),
                                }
                            };
                            if let Err(status) = failed {
                                call.resource_drop(&mut *store)?;
                                return Ok(Err(status));
                            }
                            Ok(Ok(guest.#resource().call_finish(&mut *store, call)?))
                        })
                        .await?;
                    match result {
                        Ok(Ok(reply)) => Ok(response.into_response(#finish?)),
                        Ok(Err(status)) => Err(response.into_status(#conv::status_from_wit(status))),
                        Err(status) => Err(response.into_status(status)),
                    }
                }
            }
        }
        _ => {
            let poll = ident(&wit_camel(m.poll.as_deref().unwrap_or_default()));
            let message_case = if m.output_empty {
                let r = reply(quote!(()));
                quote!(#wit_types::#poll::Message => Some(#r),)
            } else {
                let r = reply(quote!(message));
                quote!(#wit_types::#poll::Message(message) => Some(#r),)
            };
            quote! {
                type #assoc = cofaas_host::ReplyStream<#output>;
                #[doc = #doc]
                async fn #name(
                    &self,
                    request: tonic::Request<tonic::Streaming<#input>>,
                ) -> Result<tonic::Response<Self::#assoc>, tonic::Status> {
                    #site
                    let mut requests = cofaas_host::Requests::new(request.into_inner());
                    self.host
                        .serve_stream(&SITE, inbound, move |store, exports, replies| {
                            let guest = exports.#getter()?;
                            let call = guest.#call_fn(&mut *store)?;
                            replies.open(store);
                            // Driven from here: requests are pushed as they
                            // come, replies polled; when neither moves, a
                            // short pause (the function cannot wake us).
                            let mut backoff = cofaas_host::Backoff::default();
                            let mut waiting = None;
                            let ended: Result<(), tonic::Status> = loop {
                                let mut moved = false;
                                let next = match waiting.take() {
                                    Some(request) => request,
                                    None => requests.try_next(),
                                };
                                match next {
                                    cofaas_host::Request::Message(message) => {
                                        moved = true;
                                        #send
                                        let _ = sent;
                                    }
                                    cofaas_host::Request::End => {
                                        moved = true;
                                        guest.#resource().call_close_send(&mut *store, call)?;
                                    }
                                    cofaas_host::Request::Failed(status) => break Err(status),
                                    cofaas_host::Request::Empty => {}
                                }
                                let polled = match guest.#resource().call_poll_next(&mut *store, call)? {
                                    #message_case
                                    #wit_types::#poll::Pending => None,
                                    #wit_types::#poll::End(Ok(())) => break Ok(()),
                                    #wit_types::#poll::End(Err(status)) => {
                                        break Err(#conv::status_from_wit(status));
                                    }
                                };
                                match polled {
                                    Some(Ok(message)) => {
                                        moved = true;
                                        if !replies.send(message) {
                                            break Ok(()); // the client went: cancel
                                        }
                                    }
                                    Some(Err(status)) => break Err(status),
                                    None => {}
                                }
                                if moved {
                                    backoff.reset();
                                } else if replies.client_gone() {
                                    break Ok(()); // cancelled while idle
                                } else {
                                    waiting = Some(requests.wait(backoff.pause()));
                                }
                            };
                            if let Err(status) = ended {
                                replies.fail(store, status);
                            }
                            call.resource_drop(&mut *store)?;
                            Ok(())
                        })
                        .await
                }
            }
        }
    }
}
