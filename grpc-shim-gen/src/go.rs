//! The Go (grpc-go) backend: the compatibility layer of one Go function.
//!
//! A Go function stays as written: `grpc.NewServer`, `pb.RegisterXServer`,
//! `s.Serve(lis)`, `grpc.NewClient(..)`, `pb.NewYClient(conn)`, with the
//! `*.pb.go` and `*_grpc.pb.go` files protoc-gen-go and protoc-gen-go-grpc
//! wrote. It builds against cofaas's stand-in `google.golang.org/grpc`
//! (from the `stubs` crate), whose `cofaas` package is the seam this module
//! generates code for:
//!
//! - **Bindings**: wit-bindgen-go (in process) writes the Go packages of the
//!   function's world into a module named [`GO_BINDINGS_MODULE`], and the
//!   `//go:wasmexport` wrappers, which go into the function's `main`
//!   package (`cofaas_wit_exports.go`, without its placeholder `main`).
//! - **Exports**: for every exported service, the `export_<interface>`
//!   package wit-bindgen-go calls into: each WIT function lifts its record
//!   into the user's own protobuf-go request (through the `dec` callback
//!   of the generated handler) and runs the handler `main` registered, with
//!   the server's interceptors, via `cofaas.UnaryCall`.
//! - **Imports**: for every imported service, a `cofaas_import_<interface>`
//!   package that registers, per method, the invoker `ClientConn.Invoke`
//!   routes to: it lowers the user's request into the WIT record and calls
//!   the WIT import.
//! - **Lifecycle**: `init` runs the function's `main` once (registered from
//!   an `init()` in `cofaas_main.go`, which the main package gets).
//! - **Streaming rpcs** (`streaming` module): a served one is a resource
//!   struct of the export package over `cofaas.ServerCall`, which runs the
//!   stream handler in a goroutine of its own; a called one goes through
//!   the stream invoker `ClientConn.NewStream` routes to, over the imported
//!   resource. An exported resource given back owned keeps the handle it
//!   came with (a fix-up of wit-bindgen-go's output), so that dropping it
//!   drops that handle.
//!
//! Messages convert through protobuf reflection (`protoreflect`) by field
//! number, so no Go type name of the user's generated code is needed and
//! the real protobuf-go messages are used. Strings and byte slices are
//! moved, never copied. Every export entry and every import call is a GC
//! safe point (`witRuntime.SafePoint`): the stand-in runtime keeps Go's GC
//! out of `cabi_realloc`, where the component model forbids the clock calls
//! a collection makes.
//!
//! Output is deterministic and already `gofmt`-formatted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use heck::{ToSnakeCase, ToUpperCamelCase};
use proto2wit::{FieldMap, Label, Map, MessageMap, Scalar, ServiceMap, ValueType};

use crate::Error;

mod streaming;

/// The Go module path of the generated bindings (wit-bindgen-go's own
/// default for a standalone component).
pub const GO_BINDINGS_MODULE: &str = "wit_component";

/// The support package every generated glue package uses (fixed source).
const CONV_PACKAGE: &str = "cofaas_conv";

/// Files generated for one Go function.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GoFiles {
    /// The bindings module ([`GO_BINDINGS_MODULE`]): paths relative to its
    /// root (`go.mod`, `<package>/<file>.go`), with contents.
    pub bindings: BTreeMap<String, String>,
    /// Files to add to the function's `main` package, by file name.
    pub main_package: BTreeMap<String, String>,
}

/// The Go (grpc-go) backend for one function.
#[derive(Debug)]
pub struct GoGuest<'a> {
    map: &'a Map,
    function: &'a str,
}

/// The Go identifier wit-bindgen-go gives a WIT name (`payload-kib` →
/// `PayloadKib`).
pub fn go_camel(wit: &str) -> String {
    wit.to_upper_camel_case()
}

/// The Go package wit-bindgen-go writes for a WIT interface of `package`
/// (`cofaas:prodcon`, `helloworld-greeter` → `cofaas_prodcon_helloworld_greeter`).
pub fn go_interface_package(wit_package: &str, interface: &str) -> String {
    let (ns, pkg) = wit_package.split_once(':').unwrap_or(("", wit_package));
    let pkg = pkg.split('@').next().unwrap_or(pkg);
    [ns, pkg, interface]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_snake_case())
        .collect::<Vec<_>>()
        .join("_")
}

impl<'a> GoGuest<'a> {
    /// The backend for `function` of the app described by `map`.
    pub fn new(map: &'a Map, function: &'a str) -> Self {
        Self { map, function }
    }

    /// Generates the bindings module and the main package's extra files
    /// from the app's WIT text (what proto2wit emitted for `map`).
    pub fn generate(&self, wit: &str) -> Result<GoFiles, Error> {
        if self.map.wit_maps {
            return Err(Error::WitMaps);
        }
        let world =
            self.map
                .function_world(self.function)
                .ok_or_else(|| Error::UnknownFunction {
                    function: self.function.to_string(),
                })?;
        crate::check_stream_names(self.map, world.exports.iter().chain(&world.imports))?;
        let mut bindings = wit_bindgen_go_files(wit, &world.name)?;
        let mut main_package = BTreeMap::new();
        let exports_file = bindings.remove("wit_exports.go").unwrap_or_default();
        bindings.remove("go.mod");
        let exports_file = exports_file.replace(
            "// Unused, but present to make the compiler happy\nfunc main() {}",
            "",
        );
        main_package.insert(
            "cofaas_wit_exports.go".to_string(),
            exports_file.trim_end().to_string() + "\n",
        );

        bindings.insert("go.mod".into(), GO_MOD.to_string());
        bindings.insert(format!("{CONV_PACKAGE}/conv.go"), CONV_GO.to_string());

        let context = match &world.context {
            Some(c) => {
                let package = go_interface_package(&self.map.wit_package, c);
                self.check_package(&bindings, &package)?;
                package
            }
            None => {
                return Err(Error::Bindings {
                    message: format!(
                        "the world of function `{}` imports no rpc context (a map from an older proto2wit?)",
                        self.function
                    ),
                });
            }
        };
        let mut imports = Vec::new();
        for name in &world.imports {
            let service = self.service(name)?;
            let types = go_interface_package(&self.map.wit_package, &service.interface);
            self.check_package(&bindings, &types)?;
            for (_, p) in self.type_packages(service) {
                self.check_package(&bindings, &p)?;
            }
            let package = format!("cofaas_import_{}", service.interface.to_snake_case());
            bindings.insert(
                format!("{package}/glue.go"),
                self.import_glue(service, &package, &types, &context),
            );
            imports.push(package);
        }
        for name in &world.exports {
            let service = self.service(name)?;
            let types = go_interface_package(&self.map.wit_package, &service.interface);
            self.check_package(&bindings, &types)?;
            for (_, p) in self.type_packages(service) {
                self.check_package(&bindings, &p)?;
            }
            let package = format!("export_{types}");
            bindings.insert(
                format!("{package}/glue.go"),
                self.export_glue(service, &package, &types, &context),
            );
        }
        for lifecycle in &world.lifecycles {
            let package = format!(
                "export_{}",
                go_interface_package(&self.map.wit_package, lifecycle)
            );
            bindings.insert(format!("{package}/glue.go"), lifecycle_glue(&package));
        }
        main_package.insert("cofaas_main.go".to_string(), main_file(&imports));
        Ok(GoFiles {
            bindings,
            main_package,
        })
    }

    /// The types interfaces whose types a service's glue converts: (import
    /// name, bindings package), sorted.
    fn type_packages(&self, service: &ServiceMap) -> Vec<(String, String)> {
        let interfaces: std::collections::BTreeSet<&str> = service
            .types
            .iter()
            .filter_map(|t| self.map.type_interface(t))
            .collect();
        interfaces
            .into_iter()
            .map(|i| {
                (
                    i.to_snake_case(),
                    go_interface_package(&self.map.wit_package, i),
                )
            })
            .collect()
    }

    fn service(&self, name: &str) -> Result<&'a ServiceMap, Error> {
        self.map
            .services
            .get(name)
            .ok_or_else(|| Error::UnknownFunction {
                function: format!("{} (service `{name}` is not in the map)", self.function),
            })
    }

    fn check_package(&self, files: &BTreeMap<String, String>, package: &str) -> Result<(), Error> {
        let prefix = format!("{package}/");
        if files.keys().any(|k| k.starts_with(&prefix)) {
            Ok(())
        } else {
            Err(Error::Bindings {
                message: format!(
                    "wit-bindgen-go wrote no package `{package}` for function `{}` (a bug in cofaas)",
                    self.function
                ),
            })
        }
    }

    fn import_glue(
        &self,
        service: &ServiceMap,
        package: &str,
        types: &str,
        context: &str,
    ) -> String {
        let mut src = header(package, types, context, &self.type_packages(service));
        src.push_str("func init() {\n");
        for m in &service.methods {
            if !m.is_unary() {
                self.import_stream(&mut src, service, m);
                continue;
            }
            let full = format!("/{}/{}", service.proto_name, m.proto_name);
            let call = go_camel(&m.wit_name);
            // As grpc-go: a call with a done context fails at once.
            let _ = writeln!(
                src,
                "\tcofaas.RegisterInvoker({full:?}, func(ctx context.Context, req, reply any) error {{\n\t\tif err := ctx.Err(); err != nil {{\n\t\t\treturn conv.ContextError(err)\n\t\t}}"
            );
            let args = if m.input_empty {
                String::new()
            } else {
                let lower = lower_fn(self.map, &m.input);
                let _ = writeln!(
                    src,
                    "\t\tin, err := {lower}(conv.Message(req))\n\t\tif err != nil {{\n\t\t\treturn err\n\t\t}}"
                );
                "in".to_string()
            };
            src.push_str(&call_in_context(&format!("res := wit.{call}({args})")));
            let _ = writeln!(
                src,
                "\t\tconv.CallResponse(ctx, response.Headers, response.Trailers)\n\t\tif res.IsErr() {{\n\t\t\te := res.Err()\n\t\t\treturn cofaas.StatusFromWit(e.Code, e.Message, e.Details)\n\t\t}}"
            );
            if m.output_empty {
                src.push_str("\t\treturn nil\n");
            } else {
                let lift = lift_fn(self.map, &m.output);
                let _ = writeln!(
                    src,
                    "\t\tout := res.Ok()\n\t\treturn {lift}(&out, conv.Message(reply))"
                );
            }
            src.push_str("\t})\n");
        }
        src.push_str("}\n\n");
        self.conversions(&mut src, service);
        src.truncate(src.trim_end().len());
        src.push('\n');
        src
    }

    fn export_glue(
        &self,
        service: &ServiceMap,
        package: &str,
        types: &str,
        context: &str,
    ) -> String {
        let mut src = header(package, types, context, &self.type_packages(service));
        if service.methods.iter().any(|m| !m.is_unary()) {
            Self::respond_helper(&mut src);
        }
        for m in &service.methods {
            if !m.is_unary() {
                self.export_stream(&mut src, service, m);
                continue;
            }
            let full = format!("/{}/{}", service.proto_name, m.proto_name);
            let name = go_camel(&m.wit_name);
            let ok = if m.output_empty {
                "witTypes.Unit".to_string()
            } else {
                self.wit_type_name(&m.output)
            };
            let reply = if m.output_empty { "_" } else { "reply" };
            let (param, dec) = if m.input_empty {
                (String::new(), "return nil".to_string())
            } else {
                (
                    format!("request {}", self.wit_type_name(&m.input)),
                    format!(
                        "return {}(&request, conv.Message(in))",
                        lift_fn(self.map, &m.input)
                    ),
                )
            };
            let _ = writeln!(
                src,
                "// {name} serves rpc `{full}` with the handler `main` registered, its\n// context carrying the rpc's deadline and metadata; the response headers\n// and trailers the handler set go back with the reply.\nfunc {name}({param}) witTypes.Result[{ok}, wit.RpcStatus] {{\n\twitRuntime.SafePoint()\n\tmd := conv.MDFromWit(rpc.TakeRequestMetadata())\n\tctx, cancel := conv.ServerContext(rpc.Deadline())\n\tdefer cancel()\n\t{reply}, header, trailer, err := cofaas.UnaryCallMetadata(ctx, {full:?}, md, func(in any) error {{\n\t\t{dec}\n\t}})\n\tif len(header) > 0 || len(trailer) > 0 {{\n\t\trpc.SetResponseMetadata(rpc.ResponseMetadata{{Headers: conv.MDToWit(header), Trailers: conv.MDToWit(trailer)}})\n\t}}"
            );
            if m.output_empty {
                let _ = writeln!(
                    src,
                    "\tif err == nil {{\n\t\treturn witTypes.Ok[{ok}, wit.RpcStatus](witTypes.Unit{{}})\n\t}}"
                );
            } else {
                let ret = format!("return witTypes.Ok[{ok}, wit.RpcStatus](out)");
                let _ = writeln!(
                    src,
                    "\tif err == nil {{\n{}\t}}",
                    self.reply_to_wit(m, &full, &ret, "\t\t")
                );
            }
            let _ = writeln!(src, "{}}}\n", status_return(&ok, "\t"));
        }
        self.conversions(&mut src, service);
        src.truncate(src.trim_end().len());
        src.push('\n');
        src
    }

    /// The Go type of message or enum `full`, qualified by the package of
    /// its types interface (`helloworld_types.HelloRequest`).
    fn wit_type_name(&self, full: &str) -> String {
        format!(
            "{}.{}",
            types_alias(self.map, full),
            go_camel(self.map.type_wit_name(full).unwrap_or(full))
        )
    }

    /// The Go type of a WIT value of `ty` (without label).
    fn value_type(&self, ty: &ValueType) -> String {
        match ty {
            ValueType::Scalar(s) => scalar_type(*s).to_string(),
            ValueType::Message(m) | ValueType::Enum(m) => self.wit_type_name(m),
            ValueType::Encoded(_) => "[]uint8".into(),
            ValueType::FieldMask => "[]string".into(),
        }
    }

    fn conversions(&self, src: &mut String, service: &ServiceMap) {
        for ty in &service.types {
            if let Some(m) = self.map.messages.get(ty) {
                self.message_fns(src, m);
            } else if self.map.enums.contains_key(ty) {
                self.enum_fns(src, ty);
            }
        }
    }

    fn message_fns(&self, src: &mut String, m: &MessageMap) {
        let wit_ty = self.wit_type_name(&m.proto_name);
        let tp = types_alias(self.map, &m.proto_name);
        let lower = lower_fn(self.map, &m.proto_name);
        let lift = lift_fn(self.map, &m.proto_name);
        let empty = m.fields.is_empty() && m.oneofs.is_empty();

        // proto → WIT.
        let _ = writeln!(
            src,
            "// {lower} converts a `{}` into its WIT record.\nfunc {lower}(m protoreflect.Message) ({wit_ty}, error) {{\n\tvar out {wit_ty}",
            m.proto_name
        );
        if !m.fields.is_empty() {
            src.push_str("\tfields := m.Descriptor().Fields()\n");
        }
        for f in &m.fields {
            let name = format!("{}.{}", m.proto_name, f.proto_name);
            let fd = format!("conv.Field(fields, {}, {name:?})", f.number);
            let target = format!("out.{}", go_camel(&f.wit_name));
            self.lower_field(src, f, &fd, &target, &name, 1);
        }
        for o in &m.oneofs {
            let target = format!("out.{}", go_camel(&o.wit_name));
            let variant = format!("{tp}.{}", go_camel(&o.variant));
            let _ = writeln!(
                src,
                "\tif fd := m.WhichOneof(conv.Oneof(m, {:?})); fd != nil {{\n\t\tswitch fd.Number() {{",
                o.proto_name
            );
            for c in &o.cases {
                let name = format!("{}.{}", m.proto_name, c.proto_name);
                let _ = writeln!(src, "\t\tcase {}:", c.number);
                // A scalar case may be a wrapper message: conv.Unwrap.
                let get = if matches!(c.ty, ValueType::Scalar(_)) {
                    "conv.Unwrap(m.Get(fd))"
                } else {
                    "m.Get(fd)"
                };
                let x = self.lower_value(src, &c.ty, get, &name, 3);
                let _ = writeln!(
                    src,
                    "\t\t\t{target} = witTypes.Some[{variant}]({tp}.Make{v}{case}({x}))",
                    v = go_camel(&o.variant),
                    case = go_camel(&c.wit_name),
                );
            }
            src.push_str("\t\t}\n\t}\n");
        }
        src.push_str("\treturn out, nil\n}\n\n");

        // WIT → proto.
        let w = if empty { "_" } else { "w" };
        let mm = if empty { "_" } else { "m" };
        let _ = writeln!(
            src,
            "// {lift} fills a `{}` from its WIT record.\nfunc {lift}({w} *{wit_ty}, {mm} protoreflect.Message) error {{",
            m.proto_name
        );
        if !empty {
            src.push_str("\tfields := m.Descriptor().Fields()\n");
        }
        for f in &m.fields {
            let name = format!("{}.{}", m.proto_name, f.proto_name);
            let fd = format!("conv.Field(fields, {}, {name:?})", f.number);
            let source = format!("w.{}", go_camel(&f.wit_name));
            self.lift_field(src, f, &fd, &source, 1);
        }
        for o in &m.oneofs {
            let source = format!("w.{}", go_camel(&o.wit_name));
            let variant = go_camel(&o.variant);
            let _ = writeln!(
                src,
                "\tif {source}.IsSome() {{\n\t\tc := {source}.Some()\n\t\tswitch c.Tag() {{"
            );
            for c in &o.cases {
                let name = format!("{}.{}", m.proto_name, c.proto_name);
                let case = go_camel(&c.wit_name);
                let getter = if case == "Tag" { "Tag_" } else { &case };
                let _ = writeln!(
                    src,
                    "\t\tcase {tp}.{variant}_{case}:\n\t\t\tfd := conv.Field(fields, {}, {name:?})\n\t\t\tx := c.{getter}()",
                    c.number
                );
                let v = self.lift_value(src, &c.ty, "x", "m.NewField(fd)", 3);
                if matches!(c.ty, ValueType::Scalar(_)) {
                    // Wrapped if the case is a wrapper message.
                    let _ = writeln!(src, "\t\t\tconv.Set(m, fd, {v})");
                } else {
                    let _ = writeln!(src, "\t\t\tm.Set(fd, {v})");
                }
            }
            src.push_str("\t\t}\n\t}\n");
        }
        src.push_str("\treturn nil\n}\n\n");
    }

    /// Statements setting `target` from field `fd` of `m`.
    fn lower_field(
        &self,
        src: &mut String,
        f: &FieldMap,
        fd: &str,
        target: &str,
        name: &str,
        depth: usize,
    ) {
        let t = tabs(depth);
        let scalar = matches!(f.ty, ValueType::Scalar(_));
        match &f.label {
            Label::Singular => {
                let _ = writeln!(src, "{t}{{\n{t}\tfd := {fd}");
                let x = self.lower_value(src, &f.ty, "m.Get(fd)", name, depth + 1);
                let _ = writeln!(src, "{t}\t{target} = {x}\n{t}}}");
            }
            Label::Optional => {
                let vt = self.value_type(&f.ty);
                // Scalars with presence may be wrapper messages
                // (`google.protobuf.Int64Value`): conv.Get unwraps them.
                let get = if scalar {
                    "conv.Get(m, fd)"
                } else {
                    "m.Get(fd)"
                };
                let _ = writeln!(
                    src,
                    "{t}if fd := {fd}; m.Has(fd) {{\n{t}\tv := {get}\n{t}\t_ = v"
                );
                let x = self.lower_value(src, &f.ty, "v", name, depth + 1);
                let _ = writeln!(
                    src,
                    "{t}\t{target} = witTypes.Some[{vt}]({x})\n{t}}} else {{\n{t}\t{target} = witTypes.None[{vt}]()\n{t}}}"
                );
            }
            Label::Repeated => {
                let vt = self.value_type(&f.ty);
                let elem = if scalar {
                    "conv.Unwrap(l.Get(i))"
                } else {
                    "l.Get(i)"
                };
                let _ = writeln!(
                    src,
                    "{t}{{\n{t}\tfd := {fd}\n{t}\tl := m.Get(fd).List()\n{t}\txs := make([]{vt}, l.Len())\n{t}\tfor i := range xs {{"
                );
                let x = self.lower_value(src, &f.ty, elem, name, depth + 2);
                let _ = writeln!(
                    src,
                    "{t}\t\txs[i] = {x}\n{t}\t}}\n{t}\t{target} = xs\n{t}}}"
                );
            }
            Label::Map { key } => {
                let kt = self.value_type(key);
                let vt = self.value_type(&f.ty);
                let ValueType::Scalar(ks) = key else {
                    return;
                };
                let key_expr = map_key_get(*ks);
                let _ = writeln!(
                    src,
                    "{t}{{\n{t}\tfd := {fd}\n{t}\tmp := m.Get(fd).Map()\n{t}\txs := make([]witTypes.Tuple2[{kt}, {vt}], 0, mp.Len())\n{t}\tvar err error\n{t}\tmp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {{"
                );
                // A scalar value may be a wrapper message: conv.Unwrap.
                let v = if scalar { "conv.Unwrap(v)" } else { "v" };
                let x = self.lower_value_in_closure(src, &f.ty, v, name, depth + 2);
                let _ = writeln!(
                    src,
                    "{t}\t\txs = append(xs, witTypes.Tuple2[{kt}, {vt}]{{F0: {key_expr}, F1: {x}}})\n{t}\t\treturn true\n{t}\t}})\n{t}\tif err != nil {{\n{t}\t\treturn out, err\n{t}\t}}\n{t}\tsort.Slice(xs, func(i, j int) bool {{ return {} }})\n{t}\t{target} = xs\n{t}}}",
                    key_less(*ks)
                );
            }
        }
    }

    /// A WIT value from the protoreflect value `v` of field `fd`; may emit
    /// statements (which return `out, err` on failure) first.
    fn lower_value(
        &self,
        src: &mut String,
        ty: &ValueType,
        v: &str,
        name: &str,
        depth: usize,
    ) -> String {
        self.lower_value_with(src, ty, v, name, depth, "return out, err")
    }

    /// [`Self::lower_value`] inside a `Map.Range` closure: failures stop the
    /// range with `err` set.
    fn lower_value_in_closure(
        &self,
        src: &mut String,
        ty: &ValueType,
        v: &str,
        name: &str,
        depth: usize,
    ) -> String {
        self.lower_value_with(src, ty, v, name, depth, "return false")
    }

    fn lower_value_with(
        &self,
        src: &mut String,
        ty: &ValueType,
        v: &str,
        name: &str,
        depth: usize,
        fail: &str,
    ) -> String {
        let call = match ty {
            ValueType::Scalar(s) => return scalar_get(*s, v),
            ValueType::FieldMask => return format!("conv.FieldMaskPaths({v}.Message())"),
            ValueType::Message(m) => format!("{}({v}.Message())", lower_fn(self.map, m)),
            ValueType::Enum(e) => format!("{}({v}.Enum(), {name:?})", lower_fn(self.map, e)),
            ValueType::Encoded(_) => format!("conv.Encode({v}.Message())"),
        };
        // A fallible conversion: into a temporary, failing with `fail`
        // (inside a closure, `err` is the enclosing function's).
        let t = tabs(depth);
        let tmp = format!("x{depth}");
        let assign = if fail == "return false" {
            let _ = writeln!(src, "{t}var {tmp} {}", self.value_type(ty));
            "="
        } else {
            ":="
        };
        let _ = write!(
            src,
            "{t}{tmp}, err {assign} {call}\n{t}if err != nil {{\n{t}\t{fail}\n{t}}}\n"
        );
        tmp
    }

    /// Statements setting field `fd` of `m` from the WIT value `source`.
    fn lift_field(&self, src: &mut String, f: &FieldMap, fd: &str, source: &str, depth: usize) {
        let t = tabs(depth);
        let scalar = matches!(f.ty, ValueType::Scalar(_));
        match &f.label {
            Label::Singular => {
                let _ = writeln!(src, "{t}{{\n{t}\tfd := {fd}\n{t}\tx := {source}");
                let v = self.lift_value(src, &f.ty, "x", "m.NewField(fd)", depth + 1);
                let _ = writeln!(src, "{t}\tm.Set(fd, {v})\n{t}}}");
            }
            Label::Optional => {
                let _ = writeln!(
                    src,
                    "{t}if {source}.IsSome() {{\n{t}\tfd := {fd}\n{t}\tx := {source}.Some()"
                );
                if scalar {
                    let v = self.lift_value(src, &f.ty, "x", "", depth + 1);
                    let _ = writeln!(src, "{t}\tconv.Set(m, fd, {v})\n{t}}}");
                } else {
                    let v = self.lift_value(src, &f.ty, "x", "m.NewField(fd)", depth + 1);
                    let _ = writeln!(src, "{t}\tm.Set(fd, {v})\n{t}}}");
                }
            }
            Label::Repeated => {
                let _ = writeln!(
                    src,
                    "{t}if len({source}) > 0 {{\n{t}\tfd := {fd}\n{t}\tl := m.Mutable(fd).List()\n{t}\tfor _, x := range {source} {{"
                );
                let v = self.lift_value(src, &f.ty, "x", "l.NewElement()", depth + 2);
                let v = if scalar {
                    format!("conv.Wrap(l, {v})")
                } else {
                    v
                };
                let _ = writeln!(src, "{t}\t\tl.Append({v})\n{t}\t}}\n{t}}}");
            }
            Label::Map { key } => {
                let ValueType::Scalar(ks) = key else {
                    return;
                };
                let _ = writeln!(
                    src,
                    "{t}if len({source}) > 0 {{\n{t}\tfd := {fd}\n{t}\tmp := m.Mutable(fd).Map()\n{t}\tfor _, e := range {source} {{\n{t}\t\tx := e.F1"
                );
                let v = self.lift_value(src, &f.ty, "x", "mp.NewValue()", depth + 2);
                let v = if scalar {
                    format!("conv.WrapIn(mp.NewValue(), {v})")
                } else {
                    v
                };
                let _ = writeln!(
                    src,
                    "{t}\t\tmp.Set({}.MapKey(), {v})\n{t}\t}}\n{t}}}",
                    scalar_value("e.F0", *ks)
                );
            }
        }
    }

    /// A protoreflect value from the WIT value `x`; `new` makes an empty
    /// value of the target (a message to fill). May emit statements (which
    /// return an error on failure) first.
    fn lift_value(
        &self,
        src: &mut String,
        ty: &ValueType,
        x: &str,
        new: &str,
        depth: usize,
    ) -> String {
        let t = tabs(depth);
        let tmp = format!("v{depth}");
        match ty {
            ValueType::Scalar(s) => scalar_value(x, *s),
            ValueType::Message(m) => {
                let f = lift_fn(self.map, m);
                let _ = write!(
                    src,
                    "{t}{tmp} := {new}\n{t}if err := {f}(&{x}, {tmp}.Message()); err != nil {{\n{t}\treturn err\n{t}}}\n"
                );
                tmp
            }
            ValueType::Enum(e) => {
                let f = lift_fn(self.map, e);
                format!("protoreflect.ValueOfEnum({f}({x}))")
            }
            ValueType::Encoded(m) => {
                let _ = write!(
                    src,
                    "{t}{tmp} := {new}\n{t}if err := conv.Decode({x}, {tmp}.Message(), {m:?}); err != nil {{\n{t}\treturn err\n{t}}}\n"
                );
                tmp
            }
            ValueType::FieldMask => {
                let _ = write!(
                    src,
                    "{t}{tmp} := {new}\n{t}conv.SetFieldMaskPaths({tmp}.Message(), {x})\n"
                );
                tmp
            }
        }
    }

    fn enum_fns(&self, src: &mut String, full: &str) {
        let e = &self.map.enums[full];
        let ty = go_camel(&e.wit_name);
        let tp = types_alias(self.map, full);
        let lower = lower_fn(self.map, full);
        let lift = lift_fn(self.map, full);
        let _ = writeln!(
            src,
            "// {lower} converts a `{full}` number into its WIT value.\nfunc {lower}(n protoreflect.EnumNumber, field string) ({tp}.{ty}, error) {{\n\tswitch n {{"
        );
        for v in &e.values {
            let case = go_camel(&v.wit_name);
            if e.open {
                let _ = writeln!(
                    src,
                    "\tcase {}:\n\t\treturn {tp}.Make{ty}{case}(), nil",
                    v.number
                );
            } else {
                let _ = writeln!(
                    src,
                    "\tcase {}:\n\t\treturn {tp}.{ty}_{case}, nil",
                    v.number
                );
            }
        }
        if e.open {
            let unrecognized = go_camel(proto2wit::UNRECOGNIZED_CASE);
            let _ = writeln!(
                src,
                "\t}}\n\treturn {tp}.Make{ty}{unrecognized}(int32(n)), nil\n}}\n"
            );
        } else {
            let _ = writeln!(
                src,
                "\t}}\n\treturn 0, conv.BadEnum(field, n, {full:?})\n}}\n"
            );
        }
        let _ = writeln!(
            src,
            "// {lift} converts a WIT value into its `{full}` number.\nfunc {lift}(v {tp}.{ty}) protoreflect.EnumNumber {{"
        );
        if e.open {
            src.push_str("\tswitch v.Tag() {\n");
        } else {
            src.push_str("\tswitch v {\n");
        }
        for v in &e.values {
            let case = go_camel(&v.wit_name);
            let _ = writeln!(src, "\tcase {tp}.{ty}_{case}:\n\t\treturn {}", v.number);
        }
        if e.open {
            let unrecognized = go_camel(proto2wit::UNRECOGNIZED_CASE);
            let _ = writeln!(
                src,
                "\tcase {tp}.{ty}_{unrecognized}:\n\t\treturn protoreflect.EnumNumber(v.{unrecognized}())"
            );
        }
        src.push_str("\t}\n\treturn 0\n}\n\n");
    }
}

/// The statements of an import call `call` (a Go statement) made with the
/// deadline and outgoing metadata of `ctx`, between safe points; the
/// callee's response metadata is left in `response`.
fn call_in_context(call: &str) -> String {
    format!(
        "\t\t// The context's deadline goes with the call (none replaces one an\n\t\t// outer caller in this unit set); a set one is cleared after it.\n\t\t// So does its outgoing metadata; the callee's response metadata\n\t\t// comes back for grpc.Header and grpc.Trailer.\n\t\tdeadline := conv.CallDeadline(ctx)\n\t\trpc.SetCallDeadline(deadline)\n\t\tif md := conv.OutgoingMD(ctx); md != nil {{\n\t\t\trpc.SetCallMetadata(md)\n\t\t}}\n\t\twitRuntime.SafePoint()\n\t\t{call}\n\t\tresponse := rpc.TakeResponseMetadata()\n\t\tif deadline.IsSome() {{\n\t\t\trpc.SetCallDeadline(witTypes.None[uint64]())\n\t\t}}\n\t\twitRuntime.SafePoint()\n"
    )
}

/// `return` of `err` as the WIT error of a `result<ty, rpc-status>`.
fn status_return(ty: &str, tab: &str) -> String {
    format!(
        "{tab}code, message, details := cofaas.StatusToWit(err)\n{tab}return witTypes.Err[{ty}, wit.RpcStatus](wit.RpcStatus{{Code: code, Message: message, Details: details}})\n"
    )
}

fn tabs(depth: usize) -> String {
    "\t".repeat(depth)
}

fn conv_name(prefix: &str, wit: &str) -> String {
    format!("{prefix}{}", go_camel(wit))
}

/// `lower<Pkg>X`: proto → WIT, for messages and enums (qualified by the
/// package: two packages may both have a `Value`).
fn lower_fn(map: &Map, full: &str) -> String {
    let prefix = if map.messages.contains_key(full) {
        "lower"
    } else {
        "lowerEnum"
    };
    conv_name(prefix, &crate::convert::qualified_wit_name(map, full))
}

/// `lift<Pkg>X`: WIT → proto, for messages and enums.
fn lift_fn(map: &Map, full: &str) -> String {
    let prefix = if map.messages.contains_key(full) {
        "lift"
    } else {
        "liftEnum"
    };
    conv_name(prefix, &crate::convert::qualified_wit_name(map, full))
}

/// The import name, in glue files, of the bindings package of the types
/// interface that defines `full` (`helloworld_types`).
fn types_alias(map: &Map, full: &str) -> String {
    map.type_interface(full).unwrap_or("types").to_snake_case()
}

fn scalar_type(s: Scalar) -> &'static str {
    match s {
        Scalar::Double => "float64",
        Scalar::Float => "float32",
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => "int32",
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => "int64",
        Scalar::Uint32 | Scalar::Fixed32 => "uint32",
        Scalar::Uint64 | Scalar::Fixed64 => "uint64",
        Scalar::Bool => "bool",
        Scalar::String => "string",
        Scalar::Bytes => "[]uint8",
    }
}

/// The Go value of scalar `s` held in protoreflect value `v`.
fn scalar_get(s: Scalar, v: &str) -> String {
    match s {
        Scalar::Double => format!("{v}.Float()"),
        Scalar::Float => format!("float32({v}.Float())"),
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => format!("int32({v}.Int())"),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => format!("{v}.Int()"),
        Scalar::Uint32 | Scalar::Fixed32 => format!("uint32({v}.Uint())"),
        Scalar::Uint64 | Scalar::Fixed64 => format!("{v}.Uint()"),
        Scalar::Bool => format!("{v}.Bool()"),
        Scalar::String => format!("{v}.String()"),
        Scalar::Bytes => format!("{v}.Bytes()"),
    }
}

/// The Go value of map key `k` (a `protoreflect.MapKey`).
fn map_key_get(s: Scalar) -> String {
    match s {
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => "int32(k.Int())".into(),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => "k.Int()".into(),
        Scalar::Uint32 | Scalar::Fixed32 => "uint32(k.Uint())".into(),
        Scalar::Uint64 | Scalar::Fixed64 => "k.Uint()".into(),
        Scalar::Bool => "k.Bool()".into(),
        _ => "k.String()".into(),
    }
}

/// Map entries are sorted by key, as the Rust shims do: Go's map order
/// must not reach the WIT value.
fn key_less(s: Scalar) -> &'static str {
    match s {
        Scalar::Bool => "!xs[i].F0 && xs[j].F0",
        _ => "xs[i].F0 < xs[j].F0",
    }
}

/// A protoreflect value holding the Go scalar `x`.
fn scalar_value(x: &str, s: Scalar) -> String {
    let f = match s {
        Scalar::Double => "ValueOfFloat64",
        Scalar::Float => "ValueOfFloat32",
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => "ValueOfInt32",
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => "ValueOfInt64",
        Scalar::Uint32 | Scalar::Fixed32 => "ValueOfUint32",
        Scalar::Uint64 | Scalar::Fixed64 => "ValueOfUint64",
        Scalar::Bool => "ValueOfBool",
        Scalar::String => "ValueOfString",
        Scalar::Bytes => "ValueOfBytes",
    };
    format!("protoreflect.{f}({x})")
}

/// The start of a glue file: package clause and imports (each marked used,
/// so that a service without, say, options still compiles).
fn header(package: &str, types: &str, context: &str, type_packages: &[(String, String)]) -> String {
    // gofmt orders imports by path.
    let mut local = vec![
        format!("conv \"{GO_BINDINGS_MODULE}/{CONV_PACKAGE}\""),
        format!("rpc \"{GO_BINDINGS_MODULE}/{context}\""),
        format!("wit \"{GO_BINDINGS_MODULE}/{types}\""),
    ];
    for (alias, package) in type_packages {
        local.push(format!("{alias} \"{GO_BINDINGS_MODULE}/{package}\""));
    }
    local.sort_by(|a, b| {
        a.split_once(' ')
            .map(|x| x.1)
            .cmp(&b.split_once(' ').map(|x| x.1))
    });
    let local = local.join("\n\t");
    format!(
        "// Code generated by cofaas grpc-shim-gen; DO NOT EDIT.\n\npackage {package}\n\nimport (\n\t\"context\"\n\t\"sort\"\n\n\twitRuntime \"go.bytecodealliance.org/pkg/wit/runtime\"\n\twitTypes \"go.bytecodealliance.org/pkg/wit/types\"\n\t\"google.golang.org/grpc/cofaas\"\n\t\"google.golang.org/protobuf/reflect/protoreflect\"\n\t{local}\n)\n\nvar (\n\t_ = context.Background\n\t_ = sort.Slice\n\t_ = witRuntime.SafePoint\n\t_ = witTypes.Unit{{}}\n\t_ = cofaas.UnaryCall\n\t_ protoreflect.Message\n\t_ = conv.Message\n\t_ = rpc.Deadline\n\t_ wit.RpcStatus\n)\n\n"
    )
}

fn lifecycle_glue(package: &str) -> String {
    format!(
        "// Code generated by cofaas grpc-shim-gen; DO NOT EDIT.\n\npackage {package}\n\nimport (\n\twitRuntime \"go.bytecodealliance.org/pkg/wit/runtime\"\n\twitTypes \"go.bytecodealliance.org/pkg/wit/types\"\n\t\"google.golang.org/grpc/cofaas\"\n)\n\n// Init runs the function's own main until it serves.\nfunc Init() witTypes.Result[witTypes.Unit, string] {{\n\tcofaas.Init()\n\t// main ran with the GC held off: collect now if it allocated much.\n\twitRuntime.SafePoint()\n\treturn witTypes.Ok[witTypes.Unit, string](witTypes.Unit{{}})\n}}\n"
    )
}

fn main_file(imports: &[String]) -> String {
    let mut src = String::from(
        "// Code generated by cofaas grpc-shim-gen; DO NOT EDIT.\n\npackage main\n\nimport (\n\t\"google.golang.org/grpc/cofaas\"\n",
    );
    if !imports.is_empty() {
        src.push('\n');
    }
    for i in imports {
        let _ = writeln!(src, "\t_ \"{GO_BINDINGS_MODULE}/{i}\"");
    }
    src.push_str(
        ")\n\n// The lifecycle export `init` runs main once, when the host starts the\n// instance; package inits have run by then.\nfunc init() {\n\tcofaas.RegisterMain(main)\n}\n",
    );
    src
}

/// go.mod of the bindings module. The versions are floors: the user's
/// module, which replaces both stand-ins, decides.
const GO_MOD: &str = "module wit_component\n\ngo 1.25\n\nrequire (\n\tgo.bytecodealliance.org/pkg v0.4.0\n\tgoogle.golang.org/grpc v1.64.0\n\tgoogle.golang.org/protobuf v1.34.0\n)\n";

/// The support package of the generated conversions.
const CONV_GO: &str = include_str!("go/conv.go");

/// Runs wit-bindgen-go on `wit` for `world`: file paths and contents.
fn wit_bindgen_go_files(wit: &str, world: &str) -> Result<BTreeMap<String, String>, Error> {
    use wit_bindgen_core::wit_parser::Resolve;
    let fail = |message: String| Error::Bindings { message };
    let mut resolve = Resolve::default();
    let package = resolve
        .push_str("app.wit", wit)
        .map_err(|e| fail(format!("the WIT does not parse: {e:#}")))?;
    let world_id = resolve
        .select_world(&[package], Some(world))
        .map_err(|e| fail(format!("world `{world}`: {e:#}")))?;
    let opts = wit_bindgen_go::Opts {
        format: wit_bindgen_go::Format::False,
        quiet: true,
        ..Default::default()
    };
    let mut generator = opts.build();
    let mut files = wit_bindgen_core::Files::default();
    generator
        .generate(&mut resolve, world_id, &mut files)
        .map_err(|e| fail(format!("wit-bindgen-go failed on world `{world}`: {e:#}")))?;
    let mut out = BTreeMap::new();
    for (name, bytes) in files.iter() {
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| fail(format!("wit-bindgen-go wrote non-UTF-8 `{name}`")))?;
        out.insert(name.to_string(), own_handle_kept(&stand_in_pinner(&text)));
    }
    Ok(out)
}

/// Makes an exported resource that comes back owned (the `finish` of a
/// client-streaming call takes its call) keep the handle it came with, so
/// that its `Drop` drops that handle. wit-bindgen-go 0.63's
/// `XFromOwnHandle` of an exported resource only looks the representation
/// up, leaving the struct with the handle it was created under, which the
/// component gave away when it returned the resource.
fn own_handle_kept(text: &str) -> String {
    if !text.contains("FromOwnHandle(handle int32) *") || !text.contains("resourceRep") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_own = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if in_own
            && trimmed.starts_with("return (*")
            && trimmed.contains("(unsafe.Pointer(resourceRep")
        {
            let expr = trimmed.trim_start_matches("return ");
            out.push_str(&format!(
                "\tself := {expr}\n\tself.handle = handle\n\treturn self\n"
            ));
            in_own = false;
            continue;
        }
        in_own = line.starts_with("func ") && line.contains("FromOwnHandle(handle int32) *");
        out.push_str(line);
    }
    out
}

/// The import line of the stand-in runtime package, as wit-bindgen-go
/// writes it.
const WIT_RUNTIME_IMPORT: &str = "witRuntime \"go.bytecodealliance.org/pkg/wit/runtime\"";

/// Makes bindings pin with the stand-in runtime's `witRuntime.Pinner` (which
/// only holds references) instead of `runtime.Pinner` (a span lock and a
/// special record per pinned object, on every call). The `runtime` import
/// goes, or becomes the stand-in's if the file had none.
fn stand_in_pinner(text: &str) -> String {
    if !text.contains("runtime.Pinner") {
        return text.to_string();
    }
    let replaced = text
        .replace("&runtime.Pinner{", "&witRuntime.Pinner{")
        .replace(" runtime.Pinner{", " witRuntime.Pinner{");
    let has_wit_runtime = replaced.contains(WIT_RUNTIME_IMPORT);
    // Anything else of package runtime (none in wit-bindgen-go 0.63) keeps
    // the import (`witRuntime.` does not match: the search is
    // case-sensitive).
    let other_use = replaced.contains("runtime.");
    let mut out = String::with_capacity(replaced.len());
    for line in replaced.split_inclusive('\n') {
        if line.trim() == "\"runtime\"" && !other_use {
            if !has_wit_runtime {
                out.push_str(WIT_RUNTIME_IMPORT);
                out.push('\n');
            }
            continue;
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_resource_coming_back_owned_keeps_its_handle() {
        // As wit-bindgen-go 0.63 writes an exported resource (and an
        // imported one, which has no resourceRep and is left alone).
        let exported = "func resourceDtorX(rep int32) {\n}\n\nfunc XFromOwnHandle(handle int32) *X {\n\treturn (*X)(unsafe.Pointer(resourceRepX(handle)))\n}\n\nfunc XFromBorrowHandle(rep int32) *X {\n\treturn (*X)(unsafe.Pointer(uintptr(rep)))\n}\n";
        assert_eq!(
            own_handle_kept(exported),
            "func resourceDtorX(rep int32) {\n}\n\nfunc XFromOwnHandle(handle int32) *X {\n\tself := (*X)(unsafe.Pointer(resourceRepX(handle)))\n\tself.handle = handle\n\treturn self\n}\n\nfunc XFromBorrowHandle(rep int32) *X {\n\treturn (*X)(unsafe.Pointer(uintptr(rep)))\n}\n"
        );
        let imported = "func YFromOwnHandle(handleValue int32) *Y {\n\thandle := witRuntime.MakeHandle(handleValue)\n\treturn &Y{handle}\n}\n";
        assert_eq!(own_handle_kept(imported), imported);
    }

    #[test]
    fn bindings_pin_with_the_stand_in() {
        // As wit-bindgen-go writes an import with a return area, and an
        // exports file (which imports witRuntime already).
        let import = "import (\n        \"unsafe\"\n\"runtime\"\n)\n\nfunc F(s string) {\n        pinner := &runtime.Pinner{}\ndefer pinner.Unpin()\n        pinner.Pin(unsafe.StringData(s))\n}\n";
        let out = stand_in_pinner(import);
        assert_eq!(
            out,
            "import (\n        \"unsafe\"\nwitRuntime \"go.bytecodealliance.org/pkg/wit/runtime\"\n)\n\nfunc F(s string) {\n        pinner := &witRuntime.Pinner{}\ndefer pinner.Unpin()\n        pinner.Pin(unsafe.StringData(s))\n}\n"
        );
        let exports = "import (\n        witRuntime \"go.bytecodealliance.org/pkg/wit/runtime\"\n\"runtime\"\n)\n\nvar staticPinner = runtime.Pinner{}\nvar a = uintptr(witRuntime.Allocate(&staticPinner, 8, 8))\n";
        let out = stand_in_pinner(exports);
        assert!(!out.contains("\"runtime\""), "{out}");
        assert!(
            out.contains("var staticPinner = witRuntime.Pinner{}"),
            "{out}"
        );
        // Another use of package runtime keeps its import.
        let other = "import (\n\"runtime\"\n)\nvar p = &runtime.Pinner{}\nfunc g() { runtime.KeepAlive(p) }\n";
        let out = stand_in_pinner(other);
        assert!(
            out.contains("\"runtime\"\n") && out.contains("&witRuntime.Pinner{}"),
            "{out}"
        );
        // Files without pinning are left alone.
        assert_eq!(stand_in_pinner("package x\n"), "package x\n");
    }
}
