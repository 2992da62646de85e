//! The Go glue of streaming rpcs, over the WIT resources proto2wit maps
//! them to (see its mapping table), and the stand-in runtime's
//! `cofaas.ServerCall` and `cofaas.ClientCall`:
//!
//! * Served (the function exports the service): the resource is a struct
//!   of the export package over the `ServerCall` running the stream handler
//!   `main` registered, in a goroutine of its own; its methods pull and
//!   push messages, converting them with the service's conversions; its
//!   `OnDrop` cancels the rpc.
//! * Called (the function imports it): an `init` registers, per rpc, the
//!   stream invoker `grpc.ClientConn.NewStream` routes to, which opens the
//!   WIT call and fills in the `ClientCall` functions of its kind over the
//!   imported resource.

use std::fmt::Write as _;

use proto2wit::{MethodMap, ServiceMap, Streaming};

use super::{GoGuest, call_in_context, go_camel, lift_fn, lower_fn, status_return};

/// The Go names of one streaming rpc's WIT items.
struct Names {
    /// The rpc's full name (`/pkg.Service/Method`).
    full: String,
    /// The WIT function (`ListFeatures`).
    func: String,
    /// The resource (`ListFeaturesStream`).
    res: String,
    /// The bidi poll variant (`RouteChatPoll`), empty for other kinds.
    poll: String,
}

/// The names of `m` (whose map names its resource and poll variant:
/// `GoGuest::generate` checks that first).
fn names(service: &ServiceMap, m: &MethodMap) -> Names {
    Names {
        full: format!("/{}/{}", service.proto_name, m.proto_name),
        func: go_camel(&m.wit_name),
        res: go_camel(m.resource.as_deref().unwrap_or_default()),
        poll: m.poll.as_deref().map(go_camel).unwrap_or_default(),
    }
}

impl GoGuest<'_> {
    /// The WIT type of a reply (`witTypes.Unit` when empty).
    fn reply_type(&self, m: &MethodMap) -> String {
        if m.output_empty {
            "witTypes.Unit".into()
        } else {
            self.wit_type_name(&m.output)
        }
    }

    /// A `func(in any) error` filling the handler's request from the WIT
    /// value `x` (nothing to fill for an empty request).
    fn filler(&self, m: &MethodMap, x: &str) -> String {
        if m.input_empty {
            "func(any) error { return nil }".into()
        } else {
            format!(
                "func(in any) error {{\n\t\treturn {}(&{x}, conv.Message(in))\n\t}}",
                lift_fn(self.map, &m.input)
            )
        }
    }

    /// Statements converting the handler's reply `reply` (an `any`) into
    /// `out` of the WIT reply type, setting `err` when it does not
    /// convert; `ok` is the statement run with `out`.
    pub(super) fn reply_to_wit(&self, m: &MethodMap, full: &str, ok: &str, tab: &str) -> String {
        if m.output_empty {
            format!("{tab}_ = reply\n{tab}out := witTypes.Unit{{}}\n{tab}{ok}\n")
        } else {
            let lower = lower_fn(self.map, &m.output);
            let ty = self.wit_type_name(&m.output);
            format!(
                "{tab}var r protoreflect.Message\n{tab}if r, err = conv.Reply(reply, {full:?}); err == nil {{\n{tab}\tvar out {ty}\n{tab}\tif out, err = {lower}(r); err == nil {{\n{tab}\t\t{ok}\n{tab}\t}}\n{tab}}}\n"
            )
        }
    }

    /// The served side of streaming rpc `m`: the WIT function starting the
    /// handler, the resource struct and its methods.
    pub(super) fn export_stream(&self, src: &mut String, service: &ServiceMap, m: &MethodMap) {
        let Names {
            full,
            func,
            res,
            poll,
        } = names(service, m);
        let reply_ty = self.reply_type(m);
        let start = "\twitRuntime.SafePoint()\n\tmd := conv.MDFromWit(rpc.TakeRequestMetadata())\n\tctx, cancel := conv.ServerContext(rpc.Deadline())\n";
        let kind = m.streaming.describe();
        let _ = writeln!(
            src,
            "// {res} is rpc `{full}` ({kind}) in progress, over the stream\n// handler `main` registered; dropping it cancels the rpc.\ntype {res} struct {{\n\tpinner witRuntime.Pinner\n\thandle int32\n\tcall   *cofaas.ServerCall\n\tended  bool\n}}\n\n// OnDrop cancels the rpc if it has not ended.\nfunc (self *{res}) OnDrop() {{\n\tif !self.ended {{\n\t\tself.ended = true\n\t\tself.call.Cancel()\n\t}}\n}}\n"
        );
        match m.streaming {
            Streaming::Server => {
                let param = if m.input_empty {
                    String::new()
                } else {
                    format!("request {}", self.wit_type_name(&m.input))
                };
                let fill = self.filler(m, "request");
                let result = format!("*{res}");
                let _ = write!(
                    src,
                    "// {func} serves rpc `{full}`: the handler runs until its first\n// message or its end; a status before any message fails the call.\nfunc {func}({param}) witTypes.Result[{result}, wit.RpcStatus] {{\n{start}\tcall := cofaas.StartStream(ctx, cancel, {full:?}, md, {fill})\n\terr := call.Opened()\n\tif err == nil {{\n\t\tcofaasRespond(call, false)\n\t\treturn witTypes.Ok[{result}, wit.RpcStatus](&{res}{{call: call}})\n\t}}\n\tcofaasRespond(call, true)\n{}}}\n\n",
                    status_return(&result, "\t")
                );
                let item = format!("witTypes.Result[{reply_ty}, wit.RpcStatus]");
                let ok = format!(
                    "return witTypes.Some[{item}](witTypes.Ok[{reply_ty}, wit.RpcStatus](out))"
                );
                let _ = write!(
                    src,
                    "// Next pulls the handler's next message: none at the end of an OK\n// stream, the status after its messages otherwise.\nfunc (self *{res}) Next() witTypes.Option[{item}] {{\n\twitRuntime.SafePoint()\n\tif self.ended {{\n\t\treturn witTypes.None[{item}]()\n\t}}\n\treply, ok := self.call.Next()\n\tvar err error\n\tif ok {{\n{}\t\t// A message that does not convert ends the rpc with that status.\n\t\tself.call.Cancel()\n\t}} else if err = self.call.Err(); err == nil {{\n\t\tself.ended = true\n\t\tcofaasRespond(self.call, true)\n\t\treturn witTypes.None[{item}]()\n\t}}\n\tself.ended = true\n\tcofaasRespond(self.call, true)\n\tcode, message, details := cofaas.StatusToWit(err)\n\treturn witTypes.Some[{item}](witTypes.Err[{reply_ty}, wit.RpcStatus](wit.RpcStatus{{Code: code, Message: message, Details: details}}))\n}}\n\n",
                    self.reply_to_wit(m, &full, &ok, "\t\t")
                );
            }
            Streaming::Client | Streaming::Bidi => {
                let wait = matches!(m.streaming, Streaming::Client);
                let _ = write!(
                    src,
                    "// {func} starts rpc `{full}`: the caller sends its requests to the\n// handler through the call.\nfunc {func}() *{res} {{\n{start}\treturn &{res}{{call: cofaas.StartStream(ctx, cancel, {full:?}, md, nil)}}\n}}\n\n"
                );
                let param = if m.input_empty {
                    String::new()
                } else {
                    format!("message {}", self.wit_type_name(&m.input))
                };
                let fill = self.filler(m, "message");
                let how = if wait {
                    "once the handler took it"
                } else {
                    "after the handler ran a little"
                };
                let _ = write!(
                    src,
                    "// Send hands one request to the handler, returning {how};\n// false once the rpc has ended.\nfunc (self *{res}) Send({param}) bool {{\n\twitRuntime.SafePoint()\n\treturn self.call.Push({fill}, {wait})\n}}\n\n"
                );
                if wait {
                    let result = format!("witTypes.Result[{reply_ty}, wit.RpcStatus]");
                    let ok = format!("return witTypes.Ok[{reply_ty}, wit.RpcStatus](out)");
                    let _ = write!(
                        src,
                        "// {res}Finish ends the requests and waits for the handler's reply.\nfunc {res}Finish(call *{res}) {result} {{\n\twitRuntime.SafePoint()\n\tdefer call.Drop()\n\tcall.ended = true\n\treply, err := call.call.Finish()\n\tcofaasRespond(call.call, true)\n\tif err == nil {{\n{}\t}}\n{}}}\n\n",
                        self.reply_to_wit(m, &full, &ok, "\t\t"),
                        status_return(&reply_ty, "\t")
                    );
                } else {
                    let message = if m.output_empty {
                        format!("\t\t_ = reply\n\t\treturn wit.Make{poll}Message()\n")
                    } else {
                        let ok = format!("return wit.Make{poll}Message(out)");
                        self.reply_to_wit(m, &full, &ok, "\t\t") + "\t\tself.call.Cancel()\n"
                    };
                    let _ = write!(
                        src,
                        "// CloseSend ends the requests; replies go on.\nfunc (self *{res}) CloseSend() {{\n\twitRuntime.SafePoint()\n\tself.call.CloseSend()\n}}\n\n// PollNext takes the handler's next message if it has one ready; it\n// never waits for the caller.\nfunc (self *{res}) PollNext() wit.{poll} {{\n\twitRuntime.SafePoint()\n\tif self.ended {{\n\t\treturn wit.Make{poll}End(witTypes.Ok[witTypes.Unit, wit.RpcStatus](witTypes.Unit{{}}))\n\t}}\n\treply, state := self.call.Poll()\n\tvar err error\n\tswitch state {{\n\tcase cofaas.PollPending:\n\t\treturn wit.Make{poll}Pending()\n\tcase cofaas.PollMessage:\n{message}\tdefault:\n\t\terr = self.call.Err()\n\t}}\n\tself.ended = true\n\tcofaasRespond(self.call, true)\n\tif err == nil {{\n\t\treturn wit.Make{poll}End(witTypes.Ok[witTypes.Unit, wit.RpcStatus](witTypes.Unit{{}}))\n\t}}\n\tcode, message, details := cofaas.StatusToWit(err)\n\treturn wit.Make{poll}End(witTypes.Err[witTypes.Unit, wit.RpcStatus](wit.RpcStatus{{Code: code, Message: message, Details: details}}))\n}}\n\n"
                    );
                }
            }
            _ => {}
        }
    }

    /// The helper the served side of streaming rpcs shares: hands the
    /// handler's response headers (and, at the end, trailers) to the caller.
    pub(super) fn respond_helper(src: &mut String) {
        src.push_str("// cofaasRespond hands the caller the response headers the handler set,\n// and its trailers at the end of the rpc.\nfunc cofaasRespond(call *cofaas.ServerCall, end bool) {\n\theaders, trailers := call.Response.Header, call.Response.Trailer\n\tif !end {\n\t\ttrailers = nil\n\t}\n\tif len(headers) > 0 || len(trailers) > 0 {\n\t\trpc.SetResponseMetadata(rpc.ResponseMetadata{Headers: conv.MDToWit(headers), Trailers: conv.MDToWit(trailers)})\n\t}\n}\n\n");
    }

    /// The stream invoker of streaming rpc `m` of an imported service (a
    /// statement of the glue's `init`).
    pub(super) fn import_stream(&self, src: &mut String, service: &ServiceMap, m: &MethodMap) {
        let Names {
            full,
            func,
            res,
            poll,
        } = names(service, m);
        let _ = writeln!(
            src,
            "\tcofaas.RegisterStreamInvoker({full:?}, func(ctx context.Context, call *cofaas.ClientCall, request any) error {{"
        );
        let lower_in = |x: &str, fail: &str, t: &str| {
            if m.input_empty {
                format!("{t}_ = {x}\n")
            } else {
                format!(
                    "{t}in, err := {}(conv.Message({x}))\n{t}if err != nil {{\n{t}\t{fail}\n{t}}}\n",
                    lower_fn(self.map, &m.input)
                )
            }
        };
        let lift_out = |x: &str, dst: &str| {
            if m.output_empty {
                "nil".to_string()
            } else {
                format!(
                    "{}(&{x}, conv.Message({dst}))",
                    lift_fn(self.map, &m.output)
                )
            }
        };
        // The deadline and metadata of the call's context go with the WIT
        // call that opens the rpc, as for a unary call.
        let open = |call: &str| {
            call_in_context(call) + "\t\tcall.Header = conv.MDFromWit(response.Headers)\n"
        };
        let trailers = "call.Trailer = conv.MDFromWit(rpc.TakeResponseMetadata().Trailers)";
        let status_err = "cofaas.StatusFromWit(e.Code, e.Message, e.Details)";
        match m.streaming {
            Streaming::Server => {
                src.push_str(&lower_in("request", "return err", "\t\t"));
                let arg = if m.input_empty { "" } else { "in" };
                src.push_str(&open(&format!("res := wit.{func}({arg})")));
                let lift = lift_out("out", "reply");
                let _ = write!(
                    src,
                    "\t\tif res.IsErr() {{\n\t\t\tcall.Trailer = conv.MDFromWit(response.Trailers)\n\t\t\te := res.Err()\n\t\t\treturn {status_err}\n\t\t}}\n\t\tstream := res.Ok()\n\t\tcall.Drop = stream.Drop\n\t\tcall.Next = func(reply any) (bool, error) {{\n\t\t\twitRuntime.SafePoint()\n\t\t\tnext := stream.Next()\n\t\t\twitRuntime.SafePoint()\n\t\t\tif next.IsNone() {{\n\t\t\t\t{trailers}\n\t\t\t\treturn false, nil\n\t\t\t}}\n\t\t\tif item := next.Some(); item.IsErr() {{\n\t\t\t\t{trailers}\n\t\t\t\te := item.Err()\n\t\t\t\treturn false, {status_err}\n\t\t\t}} else {{\n\t\t\t\tout := item.Ok()\n\t\t\t\t_ = out\n\t\t\t\treturn true, {lift}\n\t\t\t}}\n\t\t}}\n\t\treturn nil\n"
                );
            }
            Streaming::Client | Streaming::Bidi => {
                src.push_str("\t\t_ = request\n");
                src.push_str(&open(&format!("stream := wit.{func}()")));
                let send_arg = if m.input_empty { "" } else { "in" };
                let _ = write!(
                    src,
                    "\t\tcall.Drop = stream.Drop\n\t\tcall.Send = func(message any) (bool, error) {{\n{}\t\t\twitRuntime.SafePoint()\n\t\t\tok := stream.Send({send_arg})\n\t\t\twitRuntime.SafePoint()\n\t\t\treturn ok, nil\n\t\t}}\n",
                    lower_in("message", "return false, err", "\t\t\t")
                );
                if matches!(m.streaming, Streaming::Client) {
                    let lift = lift_out("out", "reply");
                    let _ = write!(
                        src,
                        "\t\tcall.Finish = func(reply any) error {{\n\t\t\twitRuntime.SafePoint()\n\t\t\tres := wit.{res}Finish(stream)\n\t\t\twitRuntime.SafePoint()\n\t\t\tresponse := rpc.TakeResponseMetadata()\n\t\t\tcall.Header = conv.MDFromWit(response.Headers)\n\t\t\tcall.Trailer = conv.MDFromWit(response.Trailers)\n\t\t\tif res.IsErr() {{\n\t\t\t\te := res.Err()\n\t\t\t\treturn {status_err}\n\t\t\t}}\n\t\t\tout := res.Ok()\n\t\t\t_ = out\n\t\t\treturn {lift}\n\t\t}}\n\t\treturn nil\n"
                    );
                } else {
                    let message = if m.output_empty {
                        "\t\t\t\treturn cofaas.PollMessage, nil\n".to_string()
                    } else {
                        format!(
                            "\t\t\t\tout := p.Message()\n\t\t\t\treturn cofaas.PollMessage, {}\n",
                            lift_out("out", "reply")
                        )
                    };
                    let _ = write!(
                        src,
                        "\t\tcall.CloseSend = func() {{\n\t\t\twitRuntime.SafePoint()\n\t\t\tstream.CloseSend()\n\t\t}}\n\t\tcall.Poll = func(reply any) (cofaas.PollState, error) {{\n\t\t\twitRuntime.SafePoint()\n\t\t\tp := stream.PollNext()\n\t\t\twitRuntime.SafePoint()\n\t\t\tswitch p.Tag() {{\n\t\t\tcase wit.{poll}_Message:\n{message}\t\t\tcase wit.{poll}_Pending:\n\t\t\t\treturn cofaas.PollPending, nil\n\t\t\t}}\n\t\t\t{trailers}\n\t\t\tif end := p.End(); end.IsErr() {{\n\t\t\t\te := end.Err()\n\t\t\t\treturn cofaas.PollEnd, {status_err}\n\t\t\t}}\n\t\t\treturn cofaas.PollEnd, nil\n\t\t}}\n\t\treturn nil\n"
                    );
                }
            }
            _ => {}
        }
        src.push_str("\t})\n");
    }
}
