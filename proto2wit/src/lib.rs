//! Map Protobuf contracts to WebAssembly Interface Types.
//!
//! `proto2wit` reads `.proto` files (parsed in pure Rust by [`protox`]) or a
//! ready [`prost_types::FileDescriptorSet`], and produces one WIT package:
//!
//! * a types interface per proto package (`helloworld` →
//!   `helloworld-types`) defining, once, every record, variant and enum of
//!   that package an rpc reaches; it `use`s the types of other packages;
//! * an interface per gRPC service (`helloworld.Greeter` →
//!   `helloworld-greeter`) that `use`s its requests and replies and has one
//!   function per rpc, `func(request: T) -> result<U, rpc-status>`;
//! * without an app description, a `<service>-server` and `<service>-client`
//!   world per service;
//! * with an [`App`], a world per function (exports its services, imports the
//!   ones it calls, exports its lifecycle interface `<function>-lifecycle`
//!   whose `init` runs the function's original `main`, imports
//!   [`RPC_CONTEXT`]: the deadline and metadata of the rpc it serves and of
//!   the calls it makes), and the top-level world `app` that exports the
//!   entries' services;
//! * beside the WIT, a serialisable [`Map`] from every proto element to its
//!   WIT name with field and enum numbers, so later stages never re-derive
//!   names.
//!
//! Every emitted package is re-parsed by `wit-parser` before it is returned.
//!
//! # The mapping
//!
//! | Protobuf | WIT | notes |
//! |---|---|---|
//! | package `a.b.v1` | interface `a-b-v1-types`: its messages and enums | names need only be unique within a package, as in Protobuf, and are compared as the component model compares them (hyphens and case ignored: `check-box` is `checkbox`). Names that meet are resolved before anything is emitted: a nested type that flattens onto a top-level one gets its kind (`Control.Family` beside `ControlFamily` → `control-family-enum`), an enum value or field its number (`CHECK_BOX` after `CHECKBOX` → `check-box-v2`; `-f<N>` for fields and oneof cases); two that still meet are an [`Error::Collision`] naming both. Packages whose types refer to each other in a cycle share the interface of the first, the others' types taking their package's last segment when a name is taken |
//! | service `S` of package `a.b.v1` | interface `a-b-v1-s`, `use a-b-v1-types.{req, resp}` | a used name already taken in the interface is aliased `<types-interface>-<name>` |
//! | rpc `Get(Req) returns (Resp)` | `get: func(request: req) -> result<resp, rpc-status>` | `rpc-status { code: s32, message: string, details: list<u8> }` |
//! | rpc named like a type of its interface (`rpc Quote(Order) returns (Quote)`) | `quote-rpc: func(...)` | WIT functions and types share a namespace; the map records the name |
//! | `google.protobuf.Empty` request / reply | no parameter / `result<_, rpc-status>` | |
//! | message | `record`, fields kebab-cased | nested: `outer-inner`; a top-level `Option`, `Result`, `String`, `Vec` or `Box` is `option-type` … (Rust bindings would shadow the prelude) |
//! | message with no fields, as a field, oneof case, list element or map value | `enum <name> { empty }` | the component model has no empty records; presence as for any message (`option<…>`); [`MessageMap::is_empty`] |
//! | `double float int32 int64 uint32 uint64 sint32 sint64 fixed32 fixed64 sfixed32 sfixed64 bool string bytes` | `f64 f32 s32 s64 u32 u64 s32 s64 u32 u64 s32 s64 bool string list<u8>` | exact |
//! | `repeated T` | `list<T>` | |
//! | `map<K, V>` | `list<tuple<K, V>>` | entries sorted by key; [`Options::wit_maps`]: WIT `map<K, V>` |
//! | message field, proto3 `optional`, proto2 `optional` | `option<T>` | presence kept; proto2 defaults recorded in the map |
//! | `oneof o { A a = 1; B b = 2; }` in message `m` | field `o: option<m-o>`, `variant m-o { a(a), b(b) }` | `m-o-oneof` when a message or enum of the package is named `m-o` |
//! | enum | `enum` (closed: an unnamed number is `INVALID_ARGUMENT`) | [`Options::open_enums`]: `variant` with `unrecognized(s32)`; numbers in the map |
//! | recursive messages | back-edges as `list<u8>`, the message protobuf-encoded | detected by depth-first search; [`ValueType::Encoded`] in the map; [`Options::reject_recursion`] refuses instead |
//! | `Timestamp`, `Duration` | `record { seconds: s64, nanos: s32 }` | as `prost_types` |
//! | `Any` | `record any { type-url: string, value: list<u8> }` | |
//! | `FieldMask` field | `list<string>` (its paths; `option<list<string>>` for presence) | [`ValueType::FieldMask`] in the map |
//! | wrappers (`Int32Value`, `StringValue`, …) | singular field `option<T>`; oneof case, list element, map value `T` | as prost (`Option<i32>`, `Case(i32)`, `Vec<i32>`) and protobuf-go's `wrapperspb`; as an rpc's request or reply, the record `{ value: T }` |
//! | other well-known types (`Api`, `Type`, `Method`, `Option`, `SourceContext`, descriptors, …) | ordinary messages | in `google-protobuf-types` |
//! | `Struct`, `Value`, `ListValue` | records and a variant, by the recursion rule | |
//! | gRPC deadline (`grpc-timeout`) | `rpc-context.deadline() -> option<u64>` (rpc served), `set-call-deadline(option<u64>)` (calls made) | nanoseconds left; not part of any rpc's signature |
//! | request metadata (ASCII and `-bin`) | `type metadata = list<tuple<string, list<u8>>>`; `take-request-metadata() -> metadata` (rpc served), `set-call-metadata(metadata)` (next call) | lowercase keys in order, repeated keys repeated, a `-bin` value decoded; taken, never copied: none reaches a call unless the function sets it (as tonic and grpc-go) |
//! | response headers and trailers | `record response-metadata { headers: metadata, trailers: metadata }`; `set-response-metadata` (rpc served), `take-response-metadata` (after each call) | an error status's metadata travels as trailers |
//! | server-streaming `rpc M(Req) returns (stream Resp)` | `m: func(request: req) -> result<m-stream, rpc-status>`; `resource m-stream { next: func() -> option<result<resp, rpc-status>>; }` | pulled by the caller, one message a call (backpressure); `none` is the end with OK, `err` a status after any messages; dropping the stream cancels the rpc. An `err` of `m` is a status before any message |
//! | client-streaming `rpc M(stream Req) returns (Resp)` | `m: func() -> m-call`; `resource m-call { send: func(message: req) -> bool; finish: static func(call: m-call) -> result<resp, rpc-status>; }` | `send` returns once the server took the message; `false` once the rpc has ended (its status comes from `finish`); dropping the call unfinished cancels the rpc |
//! | bidi-streaming `rpc M(stream Req) returns (stream Resp)` | `m: func() -> m-call`; `resource m-call { send, close-send: func(), poll-next: func() -> m-poll }`; `variant m-poll { message(resp), pending, end(result<_, rpc-status>) }` | driven by the caller, which alone may block: `poll-next` never waits for the caller's input (`pending`: poll again), so a server may send while the client is idle and the other way round. A component cannot be re-entered while on the call stack, so a callee never pulls from its caller: requests are pushed, replies pulled |
//! | streaming rpc, [`Options::skip_streaming`] | left out of the interface, with a warning naming the rpc | [`ServiceMap::skipped`]; never made unary |
//! | groups, extensions | refused (groups) / ignored (extensions are not part of a service contract) | |
//!
//! For example, with [`Options::default`]:
//!
//! ```text
//! message Node {                      record node {
//!   string name = 1;                    name: string,
//!   repeated Node children = 2;  ==>    children: list<list<u8>>,
//!   oneof extra {                       extra: option<node-extra>,
//!     int32 n = 3;                    }
//!     Node alt = 4;                   variant node-extra { n(s32), alt(list<u8>) }
//!   }
//! }
//! ```
//!
//! Everything refused is an [`Error::Unsupported`] naming the element and its
//! file; nothing is mapped approximately.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("proto2wit-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("hello.proto"), r#"
//!     syntax = "proto3";
//!     package helloworld;
//!     service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); }
//!     message HelloRequest { string name = 1; }
//!     message HelloReply { string message = 1; }
//! "#).unwrap();
//! let fds = proto2wit::compile_protos(&[dir.join("hello.proto")], &[&dir]).unwrap();
//! let out = proto2wit::generate(&fds, None, &proto2wit::Options::default()).unwrap();
//! assert!(out.wit.contains("say-hello: func(request: hello-request) -> result<hello-reply, rpc-status>;"));
//! assert_eq!(out.map.services["helloworld.Greeter"].interface, "helloworld-greeter");
//! ```
#![deny(missing_docs)]

mod map;
mod names;
mod parse;

use std::collections::{BTreeMap, BTreeSet};

use prost_types::field_descriptor_proto::{Label as PLabel, Type as PType};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};
use wit_encoder::{
    EnumCase, Field, Interface, Package, PackageName, Params, ResourceFunc, Result_,
    StandaloneFunc, Type, TypeDef, VariantCase, World,
};

pub use map::*;
pub use names::kebab;
pub use parse::{compile_protos, compile_sources};

/// Errors of [`compile_protos`], [`compile_sources`] and [`generate`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A .proto file did not parse or check.
    #[error("{file}:{line}:{column}: {message}")]
    Proto {
        /// File the problem is in (as given, or as imported).
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A construct this version cannot map.
    #[error("{file}: {element}: {what} is not supported yet")]
    Unsupported {
        /// File that declares the element.
        file: String,
        /// Fully-qualified element (`pkg.Msg.field`, `pkg.Service.Rpc`).
        element: String,
        /// The construct (`oneof`, `client-streaming rpc`, ...).
        what: String,
    },
    /// Two proto names map to the same WIT name.
    #[error("`{first}` and `{second}` both map to WIT name `{wit}` in {scope}")]
    Collision {
        /// One proto element.
        first: String,
        /// The other.
        second: String,
        /// The WIT name they share.
        wit: String,
        /// Where (`interface helloworld-greeter`, `package`).
        scope: String,
    },
    /// A proto name has no usable WIT spelling.
    #[error("`{proto}` has no valid WIT spelling")]
    BadName {
        /// The proto name.
        proto: String,
    },
    /// A type reference that the descriptor set does not define.
    #[error("`{element}` refers to unknown type `{type_name}`")]
    UnknownType {
        /// Referring element.
        element: String,
        /// The missing type.
        type_name: String,
    },
    /// The app description names a service no .proto declares.
    #[error("function `{function}` names service `{service}`, which no .proto declares")]
    UnknownService {
        /// Function (or `entries`).
        function: String,
        /// The service.
        service: String,
    },
    /// The app description is inconsistent.
    #[error("app description: {message}")]
    App {
        /// What is wrong.
        message: String,
    },
    /// The generated WIT did not parse: a bug in proto2wit.
    #[error("generated WIT does not parse (this is a bug): {message}")]
    Internal {
        /// wit-parser's message.
        message: String,
    },
}

/// The interface every function's world imports: the deadline and metadata
/// of the rpc it serves (`deadline`, `take-request-metadata`,
/// `set-response-metadata`) and of the calls it makes (`set-call-deadline`,
/// `set-call-metadata`, `take-response-metadata`).
pub const RPC_CONTEXT: &str = "rpc-context";

/// Options of [`generate`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// WIT package name (`ns:name`); defaults to `cofaas:<app>` with an app,
    /// `cofaas:protos` without.
    pub package_name: Option<String>,
    /// Leave streaming rpcs out of the interfaces, with a warning each,
    /// instead of mapping them to resources.
    pub skip_streaming: bool,
    /// Refuse recursive messages instead of carrying their back-edges as
    /// protobuf-encoded `list<u8>`.
    pub reject_recursion: bool,
    /// Map enums open: a WIT `variant` with a case per value plus
    /// `unrecognized(s32)`, so that numbers the contract does not name
    /// survive the call (as in proto3 semantics). Closed WIT `enum`s by
    /// default, and an unknown number is then `INVALID_ARGUMENT`.
    pub open_enums: bool,
    /// Map `map<K, V>` to the WIT `map<K, V>` type instead of
    /// `list<tuple<K, V>>`. wit-bindgen 0.61 and wasmtime 48 do not lower
    /// WIT maps end to end yet, so grpc-shim-gen and host-gen refuse a map
    /// made with this option; it is for tools consuming the WIT itself.
    pub wit_maps: bool,
}

/// One function of an app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Function {
    /// Function name (becomes a world name).
    pub name: String,
    /// Services it serves (proto names, `helloworld.Greeter`).
    pub exports: Vec<String>,
    /// Services it calls.
    pub imports: Vec<String>,
}

impl Function {
    /// A function with its exported and imported services.
    pub fn new(
        name: impl Into<String>,
        exports: impl IntoIterator<Item = impl Into<String>>,
        imports: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            name: name.into(),
            exports: exports.into_iter().map(Into::into).collect(),
            imports: imports.into_iter().map(Into::into).collect(),
        }
    }
}

/// An app: its functions and which of them are entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct App {
    /// App name (`prodcon`).
    pub name: String,
    /// The functions.
    pub functions: Vec<Function>,
    /// Entry functions: their exports are the app's public interface.
    pub entries: Vec<String>,
}

impl App {
    /// An app description.
    pub fn new(
        name: impl Into<String>,
        functions: Vec<Function>,
        entries: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            name: name.into(),
            functions,
            entries: entries.into_iter().map(Into::into).collect(),
        }
    }
}

/// What [`generate`] produces.
#[derive(Debug)]
#[non_exhaustive]
pub struct Output {
    /// The WIT package, as a `wit-encoder` model.
    pub package: Package,
    /// The package as WIT text (parsed by `wit-parser` already).
    pub wit: String,
    /// The name map.
    pub map: Map,
    /// Warnings (e.g. skipped streaming rpcs).
    pub warnings: Vec<String>,
}

struct MsgInfo<'a> {
    file: String,
    package: String,
    syntax3: bool,
    path: Vec<String>,
    desc: &'a DescriptorProto,
}

struct EnumInfo<'a> {
    package: String,
    path: Vec<String>,
    desc: &'a EnumDescriptorProto,
}

struct Index<'a> {
    messages: BTreeMap<String, MsgInfo<'a>>,
    enums: BTreeMap<String, EnumInfo<'a>>,
}

fn full_name(package: &str, path: &[String]) -> String {
    let mut name = package.to_string();
    for part in path {
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(part);
    }
    name
}

impl<'a> Index<'a> {
    fn new(fds: &'a FileDescriptorSet) -> Self {
        let mut index = Index {
            messages: BTreeMap::new(),
            enums: BTreeMap::new(),
        };
        for file in &fds.file {
            let syntax3 = file.syntax() == "proto3";
            for msg in &file.message_type {
                index.add_message(file.name(), file.package(), syntax3, Vec::new(), msg);
            }
            for e in &file.enum_type {
                index.add_enum(file.package(), Vec::new(), e);
            }
        }
        index
    }

    fn add_message(
        &mut self,
        file: &str,
        package: &str,
        syntax3: bool,
        mut path: Vec<String>,
        msg: &'a DescriptorProto,
    ) {
        path.push(msg.name().to_string());
        for nested in &msg.nested_type {
            self.add_message(file, package, syntax3, path.clone(), nested);
        }
        for e in &msg.enum_type {
            self.add_enum(package, path.clone(), e);
        }
        self.messages.insert(
            full_name(package, &path),
            MsgInfo {
                file: file.to_string(),
                package: package.to_string(),
                syntax3,
                path,
                desc: msg,
            },
        );
    }

    fn add_enum(&mut self, package: &str, mut path: Vec<String>, e: &'a EnumDescriptorProto) {
        path.push(e.name().to_string());
        self.enums.insert(
            full_name(package, &path),
            EnumInfo {
                package: package.to_string(),
                path,
                desc: e,
            },
        );
    }
}

fn wit_name_of_path(path: &[String]) -> Result<String, Error> {
    path.iter()
        .map(|p| kebab(p).ok_or_else(|| Error::BadName { proto: p.clone() }))
        .collect::<Result<Vec<_>, _>>()
        .map(|parts| parts.join("-"))
}

/// The names of one WIT scope (a record's fields, a variant's or enum's
/// cases, an interface's items), compared as the component model compares
/// them: two names are the same if they are once their hyphens are removed
/// and case is ignored (`check-box` and `checkbox` are one name).
#[derive(Default)]
struct Names(BTreeMap<String, String>);

impl Names {
    fn key(name: &str) -> String {
        name.chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    }

    /// Who holds `name`, if anyone.
    fn holder(&self, name: &str) -> Option<&String> {
        self.0.get(&Self::key(name))
    }

    /// Gives `owner` the first of `candidates` nobody holds; when all are
    /// held, the [`Error::Collision`] of the first with its holder.
    fn claim(&mut self, candidates: &[String], owner: &str, scope: &str) -> Result<String, Error> {
        for c in candidates {
            if self.holder(c).is_none() {
                self.0.insert(Self::key(c), owner.to_string());
                return Ok(c.clone());
            }
        }
        let wit = candidates.first().cloned().unwrap_or_default();
        Err(Error::Collision {
            first: self.holder(&wit).cloned().unwrap_or_default(),
            second: owner.to_string(),
            wit,
            scope: scope.to_string(),
        })
    }
}

/// A WIT word for a number, to tell two members apart (`5` → `5`, `-5` →
/// `m5`).
fn number_word(n: i32) -> String {
    if n < 0 {
        format!("m{}", n.unsigned_abs())
    } else {
        n.to_string()
    }
}

/// Type names that bindings generators put beside the Rust prelude's
/// (`record option` becomes `struct Option`, shadowing `Option<T>` in the
/// generated module): such a type gets the suffix `-type`.
const SHADOWING_NAMES: &[&str] = &["option", "result", "string", "vec", "box"];

/// The WIT name of a message or enum at `path` (parents first).
fn type_wit_name(path: &[String]) -> Result<String, Error> {
    let name = wit_name_of_path(path)?;
    Ok(if SHADOWING_NAMES.contains(&name.as_str()) {
        format!("{name}-type")
    } else {
        name
    })
}

struct Mapper<'a> {
    index: Index<'a>,
    map: Map,
    reject_recursion: bool,
    open_enums: bool,
}

impl<'a> Mapper<'a> {
    fn map_enum(&mut self, name: &str) -> Result<(), Error> {
        if self.map.enums.contains_key(name) {
            return Ok(());
        }
        let info = &self.index.enums[name];
        let mut values = Vec::new();
        let mut seen_numbers = BTreeSet::new();
        let mut seen_names = Names::default();
        let scope = format!("enum {name}");
        for v in &info.desc.value {
            if !seen_numbers.insert(v.number()) {
                continue; // an alias of an earlier value
            }
            let wit = kebab(v.name()).ok_or_else(|| Error::BadName {
                proto: v.name().to_string(),
            })?;
            // A value whose name meets an earlier one's (`CHECK_BOX` after
            // `CHECKBOX`) gets its number: `check-box-v2`.
            let candidates = [wit.clone(), format!("{wit}-v{}", number_word(v.number()))];
            let wit = seen_names.claim(&candidates, &format!("{name}.{}", v.name()), &scope)?;
            values.push(EnumValueMap {
                proto_name: v.name().to_string(),
                wit_name: wit,
                number: v.number(),
            });
        }
        if self.open_enums
            && let Some(v) = values.iter().find(|v| v.wit_name == UNRECOGNIZED_CASE)
        {
            return Err(Error::Collision {
                first: format!("{name}.{}", v.proto_name),
                second: format!("the open enum's case for unnamed numbers of {name}"),
                wit: UNRECOGNIZED_CASE.to_string(),
                scope: format!("enum {name}"),
            });
        }
        let wit_name = type_wit_name(&info.path)?;
        self.map.enums.insert(
            name.to_string(),
            EnumMap {
                proto_name: name.to_string(),
                package: info.package.clone(),
                path: info.path.clone(),
                wit_name,
                interface: types_interface_name(&info.package),
                values,
                open: self.open_enums,
            },
        );
        Ok(())
    }

    /// Maps a message and everything it refers to; `stack` detects recursion.
    fn map_message(&mut self, name: &str, stack: &mut Vec<String>) -> Result<(), Error> {
        if self.map.messages.contains_key(name) {
            return Ok(());
        }
        let info = self
            .index
            .messages
            .get(name)
            .ok_or_else(|| Error::UnknownType {
                element: stack.last().cloned().unwrap_or_default(),
                type_name: name.to_string(),
            })?;
        if let Some(pos) = stack.iter().position(|s| s == name) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(name.to_string());
            return Err(Error::Unsupported {
                file: info.file.clone(),
                element: name.to_string(),
                what: format!("recursive message (cycle {})", cycle.join(" -> ")),
            });
        }
        stack.push(name.to_string());
        let file = info.file.clone();
        let syntax3 = info.syntax3;
        let desc = info.desc;
        let mut fields = Vec::new();
        let mut oneofs: Vec<(String, Vec<FieldMap>, Names)> = Vec::new();
        let mut seen = Names::default();
        let record_scope = format!("record {name}");
        for f in &desc.field {
            let element = format!("{name}.{}", f.name());
            if let Some(index) = f.oneof_index
                && !f.proto3_optional()
            {
                let ty = self.value_type(f, &element, &file, stack)?;
                let case = kebab(f.name()).ok_or_else(|| Error::BadName {
                    proto: element.clone(),
                })?;
                let decl = usize::try_from(index)
                    .ok()
                    .and_then(|i| desc.oneof_decl.get(i))
                    .map(|d| d.name().to_string())
                    .unwrap_or_default();
                let position = match oneofs.iter().position(|(n, _, _)| *n == decl) {
                    Some(p) => p,
                    None => {
                        oneofs.push((decl.clone(), Vec::new(), Names::default()));
                        oneofs.len() - 1
                    }
                };
                let (_, cases, case_names) = &mut oneofs[position];
                let candidates = [case.clone(), format!("{case}-f{}", number_word(f.number()))];
                let case =
                    case_names.claim(&candidates, &element, &format!("oneof {name}.{decl}"))?;
                cases.push(FieldMap {
                    proto_name: f.name().to_string(),
                    wit_name: case,
                    number: f.number(),
                    label: Label::Singular,
                    ty,
                    default: None,
                });
                continue;
            }
            let wit_name = kebab(f.name()).ok_or_else(|| Error::BadName {
                proto: element.clone(),
            })?;
            // A field whose name meets an earlier one's gets its number.
            let candidates = [
                wit_name.clone(),
                format!("{wit_name}-f{}", number_word(f.number())),
            ];
            let wit_name = seen.claim(&candidates, &element, &record_scope)?;
            let (label, ty) = self.field_type(f, &element, &file, syntax3, stack)?;
            fields.push(FieldMap {
                proto_name: f.name().to_string(),
                wit_name,
                number: f.number(),
                label,
                ty,
                default: f.default_value.clone(),
            });
        }
        stack.pop();
        let info = &self.index.messages[name];
        let wit_name = type_wit_name(&info.path)?;
        let mut oneof_maps = Vec::new();
        for (decl, cases, _) in oneofs {
            let element = format!("{name}.{decl}");
            let field = kebab(&decl).ok_or_else(|| Error::BadName {
                proto: element.clone(),
            })?;
            let candidates = [field.clone(), format!("{field}-oneof")];
            let field = seen.claim(&candidates, &element, &record_scope)?;
            oneof_maps.push(OneofMap {
                proto_name: decl,
                variant: format!("{wit_name}-{field}"),
                wit_name: field,
                cases,
            });
        }
        self.map.messages.insert(
            name.to_string(),
            MessageMap {
                proto_name: name.to_string(),
                package: info.package.clone(),
                path: info.path.clone(),
                wit_name,
                interface: types_interface_name(&info.package),
                fields,
                oneofs: oneof_maps,
            },
        );
        Ok(())
    }

    fn value_type(
        &mut self,
        f: &prost_types::FieldDescriptorProto,
        element: &str,
        file: &str,
        stack: &mut Vec<String>,
    ) -> Result<ValueType, Error> {
        let scalar = |s| Ok(ValueType::Scalar(s));
        match f.r#type() {
            PType::Double => scalar(Scalar::Double),
            PType::Float => scalar(Scalar::Float),
            PType::Int64 => scalar(Scalar::Int64),
            PType::Uint64 => scalar(Scalar::Uint64),
            PType::Int32 => scalar(Scalar::Int32),
            PType::Fixed64 => scalar(Scalar::Fixed64),
            PType::Fixed32 => scalar(Scalar::Fixed32),
            PType::Bool => scalar(Scalar::Bool),
            PType::String => scalar(Scalar::String),
            PType::Bytes => scalar(Scalar::Bytes),
            PType::Uint32 => scalar(Scalar::Uint32),
            PType::Sfixed32 => scalar(Scalar::Sfixed32),
            PType::Sfixed64 => scalar(Scalar::Sfixed64),
            PType::Sint32 => scalar(Scalar::Sint32),
            PType::Sint64 => scalar(Scalar::Sint64),
            PType::Group => Err(Error::Unsupported {
                file: file.to_string(),
                element: element.to_string(),
                what: "group".into(),
            }),
            PType::Enum => {
                let target = f.type_name().trim_start_matches('.').to_string();
                if !self.index.enums.contains_key(&target) {
                    return Err(Error::UnknownType {
                        element: element.to_string(),
                        type_name: target,
                    });
                }
                self.map_enum(&target)?;
                Ok(ValueType::Enum(target))
            }
            PType::Message => {
                let target = f.type_name().trim_start_matches('.').to_string();
                // A wrapper is its scalar wherever it occurs (a oneof case,
                // a list element, a map value), as prost and protobuf-go's
                // `wrapperspb` carry it; a singular field of one is
                // `option<T>` (see `field_type`).
                if let Some(inner) = wrapper_scalar(&target) {
                    return Ok(ValueType::Scalar(inner));
                }
                if target == "google.protobuf.FieldMask" {
                    return Ok(ValueType::FieldMask);
                }
                if stack.contains(&target) && !self.reject_recursion {
                    // A back-edge of a recursive message: carried encoded.
                    return Ok(ValueType::Encoded(target));
                }
                self.map_message(&target, stack)?;
                Ok(ValueType::Message(target))
            }
        }
    }

    fn field_type(
        &mut self,
        f: &prost_types::FieldDescriptorProto,
        element: &str,
        file: &str,
        syntax3: bool,
        stack: &mut Vec<String>,
    ) -> Result<(Label, ValueType), Error> {
        // Wrappers (`google.protobuf.StringValue`, ...) are presence: option<T>.
        if f.r#type() == PType::Message
            && let Some(inner) = wrapper_scalar(f.type_name().trim_start_matches('.'))
        {
            let label = if f.label() == PLabel::Repeated {
                Label::Repeated
            } else {
                Label::Optional
            };
            return Ok((label, ValueType::Scalar(inner)));
        }
        // map<K, V>: a repeated field of a synthetic map-entry message.
        if f.label() == PLabel::Repeated && f.r#type() == PType::Message {
            let target = f.type_name().trim_start_matches('.').to_string();
            if let Some(entry) = self.index.messages.get(&target)
                && entry.desc.options.as_ref().is_some_and(|o| o.map_entry())
            {
                let entry = entry.desc;
                let (Some(k), Some(v)) = (entry.field.first(), entry.field.get(1)) else {
                    return Err(Error::UnknownType {
                        element: element.to_string(),
                        type_name: target,
                    });
                };
                let key = self.value_type(k, element, file, stack)?;
                let value = self.value_type(v, element, file, stack)?;
                return Ok((Label::Map { key }, value));
            }
        }
        let ty = self.value_type(f, element, file, stack)?;
        let label = match f.label() {
            PLabel::Repeated => Label::Repeated,
            _ if matches!(
                ty,
                ValueType::Message(_) | ValueType::Encoded(_) | ValueType::FieldMask
            ) =>
            {
                Label::Optional
            }
            _ if f.proto3_optional() => Label::Optional,
            PLabel::Optional if !syntax3 => Label::Optional,
            _ => Label::Singular,
        };
        Ok((label, ty))
    }

    fn is_empty(&self, message: &str) -> bool {
        self.map
            .messages
            .get(message)
            .is_some_and(MessageMap::is_empty)
    }

    /// Messages and enums reachable from `roots`, in a deterministic order.
    fn reachable(&self, roots: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut work: Vec<String> = roots.iter().rev().cloned().collect();
        while let Some(name) = work.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if self.map.messages.contains_key(&name) {
                let refs = type_deps(&self.map, &name);
                out.push(name);
                work.extend(refs.into_iter().rev());
            } else if self.map.enums.contains_key(&name) {
                out.push(name);
            }
        }
        out
    }
}

/// The types interface of proto package `package`: `a-b-v1-types` for
/// `a.b.v1`, `types` for the empty package. Segments that have no WIT
/// spelling are dropped here and refused where the package's types are
/// named.
pub fn types_interface_name(package: &str) -> String {
    package
        .split('.')
        .filter_map(kebab)
        .map(|p| p + "-")
        .collect::<String>()
        + "types"
}

/// The scalar a wrapper well-known type wraps (`google.protobuf.Int32Value`
/// → `int32`). A singular field of it maps to `option<T>`, as prost maps it
/// to `Option<T>`; a oneof case, list element or map value to `T`; as an
/// rpc's request or reply it is the ordinary record `{ value: T }`.
pub fn wrapper_scalar(name: &str) -> Option<Scalar> {
    Some(match name {
        "google.protobuf.DoubleValue" => Scalar::Double,
        "google.protobuf.FloatValue" => Scalar::Float,
        "google.protobuf.Int64Value" => Scalar::Int64,
        "google.protobuf.UInt64Value" => Scalar::Uint64,
        "google.protobuf.Int32Value" => Scalar::Int32,
        "google.protobuf.UInt32Value" => Scalar::Uint32,
        "google.protobuf.BoolValue" => Scalar::Bool,
        "google.protobuf.StringValue" => Scalar::String,
        "google.protobuf.BytesValue" => Scalar::Bytes,
        _ => return None,
    })
}

/// The type a WIT value of `ty` refers to by name (an encoded back-edge
/// is a `list<u8>` and refers to none).
fn type_ref(ty: &ValueType) -> Option<String> {
    match ty {
        ValueType::Message(n) | ValueType::Enum(n) => Some(n.clone()),
        ValueType::Scalar(_) | ValueType::Encoded(_) | ValueType::FieldMask => None,
    }
}

/// Maps a descriptor set (with imports, as [`compile_protos`] returns) to WIT.
pub fn generate(
    fds: &FileDescriptorSet,
    app: Option<&App>,
    options: &Options,
) -> Result<Output, Error> {
    let package_name = match (&options.package_name, app) {
        (Some(name), _) => name.clone(),
        (None, Some(app)) => format!(
            "cofaas:{}",
            kebab(&app.name).ok_or_else(|| Error::BadName {
                proto: app.name.clone()
            })?
        ),
        (None, None) => "cofaas:protos".to_string(),
    };
    let mut mapper = Mapper {
        reject_recursion: options.reject_recursion,
        open_enums: options.open_enums,
        index: Index::new(fds),
        map: Map {
            format: MAP_FORMAT,
            wit_package: package_name.clone(),
            services: BTreeMap::new(),
            messages: BTreeMap::new(),
            enums: BTreeMap::new(),
            worlds: BTreeMap::new(),
            packages: BTreeMap::new(),
            type_interfaces: BTreeMap::new(),
            wit_maps: options.wit_maps,
        },
    };
    let mut warnings = Vec::new();
    let mut interface_owner: BTreeMap<String, String> = BTreeMap::new();

    for file in &fds.file {
        mapper
            .map
            .packages
            .entry(file.package().to_string())
            .or_default()
            .push(file.name().to_string());
        for service in &file.service {
            let proto_name = full_name(file.package(), &[service.name().to_string()]);
            let interface = format!(
                "{}{}",
                file.package()
                    .split('.')
                    .filter_map(kebab)
                    .map(|p| p + "-")
                    .collect::<String>(),
                kebab(service.name()).ok_or_else(|| Error::BadName {
                    proto: proto_name.clone()
                })?
            );
            if let Some(first) = interface_owner.insert(interface.clone(), proto_name.clone()) {
                return Err(Error::Collision {
                    first,
                    second: proto_name,
                    wit: interface,
                    scope: "package".into(),
                });
            }
            let mut methods = Vec::new();
            let mut skipped = Vec::new();
            let mut roots = Vec::new();
            let mut fn_names = Names::default();
            for m in &service.method {
                let element = format!("{proto_name}.{}", m.name());
                let streaming = Streaming::of(m.client_streaming(), m.server_streaming());
                if !streaming.is_unary() && options.skip_streaming {
                    warnings.push(format!(
                        "{}: {element}: {} skipped (--skip-streaming)",
                        file.name(),
                        streaming.describe()
                    ));
                    skipped.push(m.name().to_string());
                    continue;
                }
                let input = m.input_type().trim_start_matches('.').to_string();
                let output = m.output_type().trim_start_matches('.').to_string();
                for ty in [&input, &output] {
                    if ty == "google.protobuf.Empty" && !mapper.map.messages.contains_key(ty) {
                        mapper.map.messages.insert(
                            ty.clone(),
                            MessageMap {
                                proto_name: ty.clone(),
                                package: "google.protobuf".into(),
                                path: vec!["Empty".into()],
                                wit_name: "empty".into(),
                                interface: types_interface_name("google.protobuf"),
                                fields: Vec::new(),
                                oneofs: Vec::new(),
                            },
                        );
                    }
                    mapper.map_message(ty, &mut vec![element.clone()])?;
                }
                let wit_name = kebab(m.name()).ok_or_else(|| Error::BadName {
                    proto: element.clone(),
                })?;
                fn_names.claim(
                    std::slice::from_ref(&wit_name),
                    &element,
                    &format!("interface {interface}"),
                )?;
                let input_empty = mapper.is_empty(&input);
                let output_empty = mapper.is_empty(&output);
                if !input_empty {
                    roots.push(input.clone());
                }
                if !output_empty {
                    roots.push(output.clone());
                }
                methods.push(MethodMap {
                    proto_name: m.name().to_string(),
                    wit_name,
                    input,
                    output,
                    input_empty,
                    output_empty,
                    streaming,
                    resource: None,
                    poll: None,
                });
            }
            let types = mapper.reachable(&roots);
            mapper.map.services.insert(
                proto_name.clone(),
                ServiceMap {
                    proto_name,
                    package: file.package().to_string(),
                    name: service.name().to_string(),
                    file: file.name().to_string(),
                    interface,
                    methods,
                    types,
                    skipped,
                },
            );
        }
    }

    let mut map = mapper.map;
    assign_types(&mut map, &mut interface_owner)?;
    name_functions(&mut map)?;
    add_worlds(&mut map, app, &interface_owner)?;
    check_world_names(&map, &interface_owner)?;
    let package = encode(&map)?;
    let wit = package.to_string();
    let mut resolve = wit_parser::Resolve::new();
    resolve
        .push_str("generated.wit", &wit)
        .map_err(|e| Error::Internal {
            message: format!("{e:#}"),
        })?;
    Ok(Output {
        package,
        wit,
        map,
        warnings,
    })
}

/// The messages and enums a message or enum refers to by name.
fn type_deps(map: &Map, full: &str) -> Vec<String> {
    let Some(m) = map.messages.get(full) else {
        return Vec::new();
    };
    let mut refs = Vec::new();
    for f in m
        .fields
        .iter()
        .chain(m.oneofs.iter().flat_map(|o| &o.cases))
    {
        if let Label::Map { key } = &f.label {
            refs.extend(type_ref(key));
        }
        refs.extend(type_ref(&f.ty));
    }
    refs
}

/// Puts every type an rpc reaches into the types interface of its package
/// (packages whose types refer to each other in a cycle share one), then
/// names what each types interface defines: messages and enums, then the
/// oneof variants (`<message>-<oneof>`, or `<message>-<oneof>-oneof` when a
/// message or enum already has that name). Every name that still meets
/// another is an [`Error::Collision`] naming both, before anything is
/// emitted.
fn assign_types(map: &mut Map, interfaces: &mut BTreeMap<String, String>) -> Result<(), Error> {
    let emitted: BTreeSet<String> = map
        .services
        .values()
        .flat_map(|s| s.types.iter().cloned())
        .collect();
    let package_of = |map: &Map, t: &str| -> String {
        map.messages
            .get(t)
            .map(|m| m.package.clone())
            .or_else(|| map.enums.get(t).map(|e| e.package.clone()))
            .unwrap_or_default()
    };
    // The package graph, and the cycles in it.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in &emitted {
        let from = package_of(map, t);
        let deps = edges.entry(from.clone()).or_default();
        for d in type_deps(map, t) {
            let to = package_of(map, &d);
            if to != from {
                deps.insert(to);
            }
        }
    }
    let reach = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut work = vec![start.to_string()];
        while let Some(p) = work.pop() {
            for next in edges.get(&p).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    work.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<String, BTreeSet<String>> =
        edges.keys().map(|p| (p.clone(), reach(p))).collect();
    let mut owner_of_package: BTreeMap<String, String> = BTreeMap::new();
    for p in edges.keys() {
        // The first package of the cycle `p` is on (itself if none).
        let first = reaches[p]
            .iter()
            .filter(|q| reaches.get(*q).is_some_and(|r| r.contains(p)))
            .chain(std::iter::once(p))
            .min()
            .cloned()
            .unwrap_or_default();
        owner_of_package.insert(p.clone(), first);
    }
    let mut types: BTreeMap<String, TypesMap> = BTreeMap::new();
    let mut iface_package: BTreeMap<String, String> = BTreeMap::new();
    for (p, first) in &owner_of_package {
        if kebab_package_ok(first).is_err() {
            return Err(Error::BadName {
                proto: first.clone(),
            });
        }
        let interface = types_interface_name(first);
        if let Some(other) = iface_package.insert(interface.clone(), first.clone())
            && other != *first
        {
            return Err(Error::Collision {
                first: format!("the types of proto package {other}"),
                second: format!("the types of proto package {first}"),
                wit: interface,
                scope: "package".into(),
            });
        }
        let entry = types.entry(interface.clone()).or_insert_with(|| TypesMap {
            interface: interface.clone(),
            packages: Vec::new(),
            types: Vec::new(),
        });
        entry.packages.push(p.clone());
    }
    for (interface, package) in &iface_package {
        let owner = format!("the types of proto package {package}");
        if let Some(first) = interfaces.insert(interface.clone(), owner.clone()) {
            return Err(Error::Collision {
                first,
                second: owner,
                wit: interface.clone(),
                scope: "package".into(),
            });
        }
    }
    for t in &emitted {
        let interface = types_interface_name(&owner_of_package[&package_of(map, t)]);
        if let Some(m) = map.messages.get_mut(t) {
            m.interface = interface.clone();
        } else if let Some(e) = map.enums.get_mut(t) {
            e.interface = interface.clone();
        }
        if let Some(ti) = types.get_mut(&interface) {
            ti.types.push(t.clone());
        }
    }
    // Names inside each types interface: the owner package's top-level
    // types first, so that they keep their names; a type whose name is
    // taken then gets its package's last segment (a type of another
    // package of a cycle), or its kind (a nested type that flattened onto
    // another: `Control.Family` beside `ControlFamily` is
    // `control-family-enum`), or both.
    for ti in types.values_mut() {
        ti.packages.sort();
        let scope = format!("interface {}", ti.interface);
        let owner = ti.packages.first().cloned().unwrap_or_default();
        let mut order: Vec<String> = ti.types.clone();
        order.sort_by_key(|t| {
            let (package, depth) = map
                .messages
                .get(t)
                .map(|m| (m.package.clone(), m.path.len()))
                .or_else(|| map.enums.get(t).map(|e| (e.package.clone(), e.path.len())))
                .unwrap_or_default();
            (package != owner, depth, t.clone())
        });
        let mut names = Names::default();
        for t in &order {
            let (package, depth, kind) = match (map.messages.get(t), map.enums.get(t)) {
                (Some(m), _) => (m.package.clone(), m.path.len(), "message"),
                (None, Some(e)) => (e.package.clone(), e.path.len(), "enum"),
                (None, None) => continue,
            };
            let wit = map.type_wit_name(t).unwrap_or_default().to_string();
            let mut candidates = vec![wit.clone()];
            let prefix = (package != owner)
                .then(|| package.rsplit('.').next().and_then(kebab))
                .flatten();
            if let Some(prefix) = &prefix {
                candidates.push(format!("{prefix}-{wit}"));
            }
            if depth > 1 {
                candidates.push(format!("{wit}-{kind}"));
                if let Some(prefix) = &prefix {
                    candidates.push(format!("{prefix}-{wit}-{kind}"));
                }
            }
            let claimed = names.claim(&candidates, t, &scope)?;
            if let Some(m) = map.messages.get_mut(t) {
                m.wit_name = claimed;
            } else if let Some(e) = map.enums.get_mut(t) {
                e.wit_name = claimed;
            }
        }
        for t in &ti.types {
            let Some(m) = map.messages.get_mut(t) else {
                continue;
            };
            for o in &mut m.oneofs {
                let element = format!("{t}.{} (its oneof variant)", o.proto_name);
                let variant = format!("{}-{}", m.wit_name, o.wit_name);
                let candidates = [variant.clone(), format!("{variant}-oneof")];
                o.variant = names.claim(&candidates, &element, &scope)?;
            }
        }
    }
    map.type_interfaces = types;
    for ti in map.type_interfaces.values() {
        types_scope(map, ti)?;
    }
    Ok(())
}

/// Whether every segment of a package name has a WIT spelling.
fn kebab_package_ok(package: &str) -> Result<(), Error> {
    for seg in package.split('.').filter(|s| !s.is_empty()) {
        if kebab(seg).is_none() {
            return Err(Error::BadName {
                proto: package.to_string(),
            });
        }
    }
    Ok(())
}

/// How an interface refers to types it does not define: `use <interface>.{
/// <name> [as <alias>] }`, by interface, with the local names by proto name.
#[derive(Default)]
struct Scope {
    /// Local name of every type the interface defines or uses.
    local: BTreeMap<String, String>,
    /// `use` items: interface → (WIT name, local name).
    uses: BTreeMap<String, Vec<(String, String)>>,
}

impl Scope {
    /// Brings `full` (defined in `interface` as `wit`) into the scope, whose
    /// names so far are `taken`: as itself, or as `<interface>-<name>` when
    /// the name is taken.
    fn use_type(
        &mut self,
        full: &str,
        interface: &str,
        wit: &str,
        taken: &mut Names,
        scope: &str,
    ) -> Result<(), Error> {
        if self.local.contains_key(full) {
            return Ok(());
        }
        let candidates = [wit.to_string(), format!("{interface}-{wit}")];
        let local = taken.claim(
            &candidates,
            &format!("{full} (used from {interface})"),
            scope,
        )?;
        self.local.insert(full.to_string(), local.clone());
        self.uses
            .entry(interface.to_string())
            .or_default()
            .push((wit.to_string(), local));
        Ok(())
    }
}

/// The scope of a types interface: its own types, and those of other types
/// interfaces its types refer to.
fn types_scope(map: &Map, ti: &TypesMap) -> Result<Scope, Error> {
    let mut scope = Scope::default();
    let mut taken = Names::default();
    let label = format!("interface {}", ti.interface);
    for t in &ti.types {
        let wit = map.type_wit_name(t).unwrap_or_default().to_string();
        taken.claim(std::slice::from_ref(&wit), t, &label)?;
        scope.local.insert(t.clone(), wit);
        if let Some(m) = map.messages.get(t) {
            for o in &m.oneofs {
                let owner = format!("{t}.{}", o.proto_name);
                taken.claim(std::slice::from_ref(&o.variant), &owner, &label)?;
            }
        }
    }
    for t in &ti.types {
        for d in type_deps(map, t) {
            let interface = map.type_interface(&d).unwrap_or_default().to_string();
            if interface != ti.interface {
                let wit = map.type_wit_name(&d).unwrap_or_default().to_string();
                scope.use_type(&d, &interface, &wit, &mut taken, &label)?;
            }
        }
    }
    Ok(scope)
}

/// The scope of a service interface: `rpc-status`, and the requests and
/// replies its functions take and return.
fn service_scope(map: &Map, service: &ServiceMap) -> Result<(Scope, Names), Error> {
    let mut scope = Scope::default();
    let mut taken = Names::default();
    let label = format!("interface {}", service.interface);
    taken.claim(&["rpc-status".into()], "(cofaas rpc-status)", &label)?;
    for m in &service.methods {
        for (full, empty) in [(&m.input, m.input_empty), (&m.output, m.output_empty)] {
            if empty {
                continue;
            }
            let interface = map.type_interface(full).unwrap_or_default().to_string();
            let wit = map.type_wit_name(full).unwrap_or_default().to_string();
            scope.use_type(full, &interface, &wit, &mut taken, &label)?;
        }
    }
    Ok((scope, taken))
}

/// Functions and types share an interface's namespace in WIT, but not in
/// proto (`rpc Quote(Order) returns (Quote)`): such a function becomes
/// `<name>-rpc`.
fn name_functions(map: &mut Map) -> Result<(), Error> {
    let services: Vec<String> = map.services.keys().cloned().collect();
    for name in services {
        let (_, mut names) = service_scope(map, &map.services[&name])?;
        let Some(service) = map.services.get_mut(&name) else {
            continue;
        };
        let scope = format!("interface {}", service.interface);
        // The functions whose names are free keep them; then the others
        // become `<name>-rpc`, if that is free.
        let mut clashing = Vec::new();
        for (i, m) in service.methods.iter().enumerate() {
            if names.holder(&m.wit_name).is_some() {
                clashing.push(i);
            } else {
                let owner = format!("{}.{}", service.proto_name, m.proto_name);
                names.claim(std::slice::from_ref(&m.wit_name), &owner, &scope)?;
            }
        }
        for i in clashing {
            let m = &mut service.methods[i];
            let owner = format!(
                "{}.{} (renamed from `{}`)",
                service.proto_name, m.proto_name, m.wit_name
            );
            m.wit_name = names.claim(&[format!("{}-rpc", m.wit_name)], &owner, &scope)?;
        }
        // Then a streaming rpc's resource (and a bidi rpc's poll variant),
        // named after its function: `<fn>-stream`, `<fn>-call`,
        // `<fn>-poll`, or with `-rpc-` when that is taken.
        for m in &mut service.methods {
            let (suffix, poll) = match m.streaming {
                Streaming::Server => ("stream", false),
                Streaming::Client => ("call", false),
                Streaming::Bidi => ("call", true),
                _ => continue,
            };
            let owner = format!("{}.{}", service.proto_name, m.proto_name);
            let candidates = |suffix: &str| {
                [
                    format!("{}-{suffix}", m.wit_name),
                    format!("{}-rpc-{suffix}", m.wit_name),
                ]
            };
            m.resource = Some(names.claim(
                &candidates(suffix),
                &format!("the resource of {owner}"),
                &scope,
            )?);
            if poll {
                m.poll = Some(names.claim(
                    &candidates("poll"),
                    &format!("the poll variant of {owner}"),
                    &scope,
                )?);
            }
        }
    }
    Ok(())
}

/// Worlds and interfaces share a WIT package's namespace: a world named
/// like an interface (function `helloworld-greeter`, or the `-server`
/// world of service `Foo` beside a service `FooServer`) is an
/// [`Error::Collision`].
fn check_world_names(map: &Map, interfaces: &BTreeMap<String, String>) -> Result<(), Error> {
    let mut names: BTreeMap<String, String> = interfaces.clone();
    for w in map.worlds.values() {
        for l in &w.lifecycles {
            names
                .entry(l.clone())
                .or_insert_with(|| format!("the lifecycle interface {l}"));
        }
        if w.context.is_some() {
            names
                .entry(RPC_CONTEXT.to_string())
                .or_insert_with(|| "the rpc context every function imports".to_string());
        }
    }
    for w in map.worlds.values() {
        if let Some(first) = names.get(&w.name) {
            let second = match &w.function {
                Some(f) => format!("the world of function {f}"),
                None => format!("the world {}", w.name),
            };
            return Err(Error::Collision {
                first: first.clone(),
                second,
                wit: w.name.clone(),
                scope: "package".into(),
            });
        }
    }
    Ok(())
}

fn add_worlds(
    map: &mut Map,
    app: Option<&App>,
    interfaces: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let Some(app) = app else {
        for service in map.services.values() {
            for (suffix, export) in [("server", true), ("client", false)] {
                let name = format!("{}-{suffix}", service.interface);
                let (exports, imports) = if export {
                    (vec![service.proto_name.clone()], vec![])
                } else {
                    (vec![], vec![service.proto_name.clone()])
                };
                map.worlds.insert(
                    name.clone(),
                    WorldMap {
                        name,
                        function: None,
                        exports,
                        imports,
                        lifecycles: vec![],
                        context: None,
                    },
                );
            }
        }
        return Ok(());
    };
    let mut top_exports = Vec::new();
    let mut lifecycles = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for f in &app.functions {
        let world = kebab(&f.name).ok_or_else(|| Error::BadName {
            proto: f.name.clone(),
        })?;
        if world == "app" {
            return Err(Error::App {
                message: format!(
                    "function name `{}` is reserved for the top-level world",
                    f.name
                ),
            });
        }
        if let Some(first) = names.insert(world.clone(), f.name.clone()) {
            return Err(Error::Collision {
                first,
                second: f.name.clone(),
                wit: world,
                scope: "worlds".into(),
            });
        }
        if let Some(service) = interfaces.get(RPC_CONTEXT) {
            return Err(Error::Collision {
                first: service.clone(),
                second: "the rpc context every function imports".into(),
                wit: RPC_CONTEXT.into(),
                scope: "package".into(),
            });
        }
        let lifecycle = format!("{world}-lifecycle");
        if let Some(service) = interfaces.get(&lifecycle) {
            return Err(Error::Collision {
                first: service.clone(),
                second: format!("lifecycle of function {}", f.name),
                wit: lifecycle,
                scope: "package".into(),
            });
        }
        for s in f.exports.iter().chain(&f.imports) {
            if !map.services.contains_key(s) {
                return Err(Error::UnknownService {
                    function: f.name.clone(),
                    service: s.clone(),
                });
            }
        }
        if let Some(s) = f.exports.iter().find(|s| f.imports.contains(s)) {
            return Err(Error::App {
                message: format!("function `{}` both exports and imports `{s}`", f.name),
            });
        }
        if app.entries.contains(&f.name) {
            top_exports.extend(f.exports.iter().cloned());
        }
        lifecycles.push(lifecycle.clone());
        map.worlds.insert(
            world.clone(),
            WorldMap {
                name: world,
                function: Some(f.name.clone()),
                exports: f.exports.clone(),
                imports: f.imports.clone(),
                lifecycles: vec![lifecycle],
                context: Some(RPC_CONTEXT.into()),
            },
        );
    }
    if app.entries.is_empty() {
        return Err(Error::App {
            message: "no entry function".into(),
        });
    }
    for e in &app.entries {
        if !app.functions.iter().any(|f| &f.name == e) {
            return Err(Error::App {
                message: format!("entry `{e}` is not a function"),
            });
        }
    }
    let mut seen = BTreeSet::new();
    for s in &top_exports {
        if !seen.insert(s) {
            return Err(Error::App {
                message: format!("service `{s}` is exported by two entry functions"),
            });
        }
    }
    map.worlds.insert(
        "app".into(),
        WorldMap {
            name: "app".into(),
            function: None,
            exports: top_exports,
            imports: vec![],
            lifecycles,
            context: None,
        },
    );
    Ok(())
}

fn ident(name: &str) -> wit_encoder::Ident {
    names::encoder_ident(name).into()
}

fn value_type(scope: &Scope, ty: &ValueType) -> Type {
    match ty {
        ValueType::Scalar(s) => match s {
            Scalar::Double => Type::F64,
            Scalar::Float => Type::F32,
            Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => Type::S32,
            Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => Type::S64,
            Scalar::Uint32 | Scalar::Fixed32 => Type::U32,
            Scalar::Uint64 | Scalar::Fixed64 => Type::U64,
            Scalar::Bool => Type::Bool,
            Scalar::String => Type::String,
            Scalar::Bytes => Type::list(Type::U8),
        },
        ValueType::Message(m) | ValueType::Enum(m) => named(scope, m),
        ValueType::Encoded(_) => Type::list(Type::U8),
        ValueType::FieldMask => Type::list(Type::String),
    }
}

/// A type by its local name in `scope`.
fn named(scope: &Scope, full: &str) -> Type {
    Type::named(ident(scope.local.get(full).map_or(full, String::as_str)))
}

fn field_type(map: &Map, scope: &Scope, f: &FieldMap) -> Type {
    let ty = value_type(scope, &f.ty);
    match &f.label {
        Label::Singular => ty,
        Label::Optional => Type::option(ty),
        Label::Repeated => Type::list(ty),
        Label::Map { key } if map.wit_maps => Type::map(value_type(scope, key), ty),
        Label::Map { key } => Type::list(Type::tuple([value_type(scope, key), ty])),
    }
}

/// `use <interface>.{<name> [as <alias>], ...};` for every interface
/// `scope` takes types from.
fn add_uses(iface: &mut Interface, scope: &Scope) {
    for (interface, items) in &scope.uses {
        let mut use_ = wit_encoder::Use::new(ident(interface));
        for (wit, local) in items {
            let alias = (wit != local).then(|| ident(local));
            use_.item(ident(wit), alias);
        }
        iface.use_(use_);
    }
}

/// The type definitions of one message: its record (or, with no fields, its
/// one-case enum) and its oneofs' variants.
fn message_defs(map: &Map, scope: &Scope, m: &MessageMap) -> Vec<TypeDef> {
    if m.is_empty() {
        let mut case = EnumCase::new(EMPTY_CASE);
        case.set_docs(Some("The message (it has no fields)."));
        let mut def = TypeDef::enum_(ident(&m.wit_name), [case]);
        def.set_docs(Some(format!(
            "Message `{}`, which has no fields: the component model has no empty records.",
            m.proto_name
        )));
        return vec![def];
    }
    let fields = m.fields.iter().map(|f| {
        let mut field = Field::new(ident(&f.wit_name), field_type(map, scope, f));
        field.set_docs(Some(format!("`{}` = {}", f.proto_name, f.number)));
        field
    });
    let oneof_fields = m.oneofs.iter().map(|o| {
        let mut field = Field::new(
            ident(&o.wit_name),
            Type::option(Type::named(ident(&o.variant))),
        );
        field.set_docs(Some(format!("oneof `{}`", o.proto_name)));
        field
    });
    let mut def = TypeDef::record(ident(&m.wit_name), fields.chain(oneof_fields));
    def.set_docs(Some(format!("Message `{}`.", m.proto_name)));
    let mut defs = vec![def];
    for o in &m.oneofs {
        let cases = o.cases.iter().map(|c| {
            let mut case = VariantCase::value(ident(&c.wit_name), value_type(scope, &c.ty));
            case.set_docs(Some(format!("`{}` = {}", c.proto_name, c.number)));
            case
        });
        let mut def = TypeDef::variant(ident(&o.variant), cases);
        def.set_docs(Some(format!("oneof `{}.{}`.", m.proto_name, o.proto_name)));
        defs.push(def);
    }
    defs
}

fn enum_def(e: &EnumMap) -> TypeDef {
    let cases = e.values.iter().map(|v| {
        let mut case = EnumCase::new(ident(&v.wit_name));
        case.set_docs(Some(format!("`{}` = {}", v.proto_name, v.number)));
        case
    });
    let mut def = if e.open {
        let cases = e
            .values
            .iter()
            .map(|v| {
                let mut case = VariantCase::empty(ident(&v.wit_name));
                case.set_docs(Some(format!("`{}` = {}", v.proto_name, v.number)));
                case
            })
            .chain(std::iter::once({
                let mut case = VariantCase::value(UNRECOGNIZED_CASE, Type::S32);
                case.set_docs(Some("A number no value of the enum names."));
                case
            }));
        TypeDef::variant(ident(&e.wit_name), cases)
    } else {
        TypeDef::enum_(ident(&e.wit_name), cases)
    };
    def.set_docs(Some(format!("Enum `{}`.", e.proto_name)));
    def
}

/// `result<T, rpc-status>`, or `result<_, rpc-status>` without `T`.
fn status_result(ok: Option<Type>) -> Type {
    Type::result(match ok {
        Some(ok) => Result_::both(ok, Type::named("rpc-status")),
        None => Result_::err(Type::named("rpc-status")),
    })
}

/// The function of an rpc: `m(request) -> result<reply, rpc-status>`
/// (unary), `m(request) -> result<m-stream, rpc-status>` (server
/// streaming), `m() -> m-call` (client and bidi streaming).
fn rpc_func(scope: &Scope, m: &MethodMap) -> StandaloneFunc {
    let mut func = StandaloneFunc::new(ident(&m.wit_name), false);
    let request = (!m.input_empty).then(|| named(scope, &m.input));
    let reply = (!m.output_empty).then(|| named(scope, &m.output));
    let resource = || Type::named(ident(m.resource.as_deref().unwrap_or_default()));
    let mut params = Params::empty();
    let (docs, result) = match m.streaming {
        Streaming::Server => {
            if let Some(request) = request {
                params.push("request", request);
            }
            (
                format!(
                    "rpc `{}` (server streaming): its reply messages are pulled from the stream.",
                    m.proto_name
                ),
                status_result(Some(resource())),
            )
        }
        Streaming::Client | Streaming::Bidi => (
            format!(
                "rpc `{}` ({}): starts it; its messages go through the call.",
                m.proto_name,
                if m.streaming == Streaming::Bidi {
                    "bidi streaming"
                } else {
                    "client streaming"
                }
            ),
            resource(),
        ),
        _ => {
            if let Some(request) = request {
                params.push("request", request);
            }
            (format!("rpc `{}`.", m.proto_name), status_result(reply))
        }
    };
    func.set_docs(Some(docs));
    func.set_params(params);
    func.set_result(Some(result));
    func
}

/// The resource (and, for bidi, the poll variant) of a streaming rpc.
fn stream_defs(scope: &Scope, m: &MethodMap) -> Vec<TypeDef> {
    let Some(resource) = m.resource.as_deref() else {
        return Vec::new();
    };
    let request = (!m.input_empty).then(|| named(scope, &m.input));
    let reply = (!m.output_empty).then(|| named(scope, &m.output));
    let send = || {
        let mut f = ResourceFunc::method("send", false);
        f.set_docs(Some(
            "Sends one request message, waiting until the server has taken it \
             (backpressure); `false` once the rpc has ended, whose status the \
             end of the call gives.",
        ));
        let mut params = Params::empty();
        if let Some(request) = request.clone() {
            params.push("message", request);
        }
        f.set_params(params);
        f.set_result(Some(Type::Bool));
        f
    };
    let mut defs = Vec::new();
    let (docs, funcs) = match m.streaming {
        Streaming::Server => {
            let mut next = ResourceFunc::method("next", false);
            next.set_docs(Some(
                "The next reply message; `none` once the stream ended with OK, \
                 `err` with the status it ended with (after any messages).",
            ));
            next.set_result(Some(Type::option(status_result(reply))));
            (
                format!(
                    "The reply stream of rpc `{}`, pulled by the caller. Dropping \
                     it before its end cancels the rpc.",
                    m.proto_name
                ),
                vec![next],
            )
        }
        Streaming::Client => {
            let mut finish = ResourceFunc::static_("finish", false);
            finish.set_docs(Some(
                "Ends the request stream and waits for the reply or the status.",
            ));
            let mut params = Params::empty();
            params.push("call", Type::named(ident(resource)));
            finish.set_params(params);
            finish.set_result(Some(status_result(reply)));
            (
                format!(
                    "A call of rpc `{}` (client streaming): `send` its request \
                     messages, then `finish`. Dropping it unfinished cancels the rpc.",
                    m.proto_name
                ),
                vec![send(), finish],
            )
        }
        _ => {
            let poll = m.poll.as_deref().unwrap_or_default();
            let mut message = match reply {
                Some(reply) => VariantCase::value("message", reply),
                None => VariantCase::empty("message"),
            };
            message.set_docs(Some("A reply message."));
            let mut pending = VariantCase::empty("pending");
            pending.set_docs(Some(
                "No reply yet: the server waits for a request message or for \
                 time to pass; poll again.",
            ));
            let mut end = VariantCase::value("end", status_result(None));
            end.set_docs(Some("The rpc ended, with OK or the status."));
            let mut variant = TypeDef::variant(ident(poll), [message, pending, end]);
            variant.set_docs(Some(format!(
                "What polling a call of rpc `{}` gives.",
                m.proto_name
            )));
            defs.push(variant);
            let mut close = ResourceFunc::method("close-send", false);
            close.set_docs(Some("Ends the request stream; replies go on."));
            let mut next = ResourceFunc::method("poll-next", false);
            next.set_docs(Some(
                "The next reply, or `pending` without waiting for the caller.",
            ));
            next.set_result(Some(Type::named(ident(poll))));
            (
                format!(
                    "A call of rpc `{}` (bidi streaming), driven by the caller: \
                     `send` and `close-send` requests, `poll-next` replies, in any \
                     order. Dropping it before its end cancels the rpc.",
                    m.proto_name
                ),
                vec![send(), close, next],
            )
        }
    };
    let mut def = TypeDef::resource(ident(resource), funcs);
    def.set_docs(Some(docs));
    defs.push(def);
    defs
}

fn encode(map: &Map) -> Result<Package, Error> {
    let (ns, name) = map
        .wit_package
        .split_once(':')
        .ok_or_else(|| Error::BadName {
            proto: map.wit_package.clone(),
        })?;
    let mut package = Package::new(PackageName::new(ns.to_string(), name.to_string(), None));
    for ti in map.type_interfaces.values() {
        let scope = types_scope(map, ti)?;
        let mut iface = Interface::new(ident(&ti.interface));
        iface.set_docs(Some(format!(
            "Messages and enums of proto package{} {}.",
            if ti.packages.len() == 1 { "" } else { "s" },
            ti.packages
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
        add_uses(&mut iface, &scope);
        for t in &ti.types {
            if let Some(m) = map.messages.get(t) {
                for def in message_defs(map, &scope, m) {
                    iface.type_def(def);
                }
            } else if let Some(e) = map.enums.get(t) {
                iface.type_def(enum_def(e));
            }
        }
        package.interface(iface);
    }
    for service in map.services.values() {
        let (scope, _) = service_scope(map, service)?;
        let mut iface = Interface::new(ident(&service.interface));
        iface.set_docs(Some(format!(
            "gRPC service `{}` (from `{}`).",
            service.proto_name, service.file
        )));
        add_uses(&mut iface, &scope);
        let mut status = TypeDef::record(
            "rpc-status",
            [
                Field::new("code", Type::S32),
                Field::new("message", Type::String),
                Field::new("details", Type::list(Type::U8)),
            ],
        );
        status.set_docs(Some("A gRPC status: code, message and encoded details."));
        iface.type_def(status);
        for m in &service.methods {
            for def in stream_defs(&scope, m) {
                iface.type_def(def);
            }
            iface.function(rpc_func(&scope, m));
        }
        package.interface(iface);
    }
    let lifecycles: BTreeSet<&String> = map.worlds.values().flat_map(|w| &w.lifecycles).collect();
    for l in lifecycles {
        let mut iface = Interface::new(ident(l));
        iface.set_docs(Some(
            "Lifecycle of a function: `init` runs its original `main` once.",
        ));
        let mut init = StandaloneFunc::new("init", false);
        init.set_result(Some(Type::result(Result_::err(Type::String))));
        iface.function(init);
        package.interface(iface);
    }
    if map.worlds.values().any(|w| w.context.is_some()) {
        let mut iface = Interface::new(ident(RPC_CONTEXT));
        iface.set_docs(Some(
            "The context of the rpc a function serves, provided by the host: its deadline and metadata, and the deadline and metadata of the calls the function makes.",
        ));
        let mut deadline = StandaloneFunc::new("deadline", false);
        deadline.set_docs(Some(
            "Nanoseconds left until the deadline of the rpc being served, if it has one.",
        ));
        deadline.set_result(Some(Type::option(Type::U64)));
        iface.function(deadline);
        let mut set = StandaloneFunc::new("set-call-deadline", false);
        set.set_docs(Some(
            "The deadline, in nanoseconds from now, of the calls the function makes next; `none` clears it.",
        ));
        let mut params = Params::empty();
        params.push("remaining", Type::option(Type::U64));
        set.set_params(params);
        iface.function(set);
        add_metadata_functions(&mut iface);
        package.interface(iface);
    }
    for w in map.worlds.values() {
        let mut world = World::new(ident(&w.name));
        match &w.function {
            Some(f) => world.set_docs(Some(format!("Function `{f}`."))),
            None if w.name == "app" => world.set_docs(Some(
                "The app's public interface: the entry functions' exports.",
            )),
            None => {}
        }
        if let Some(context) = &w.context {
            world.named_interface_import(ident(context));
        }
        for s in &w.imports {
            world.named_interface_import(ident(&map.services[s].interface));
        }
        for s in &w.exports {
            world.named_interface_export(ident(&map.services[s].interface));
        }
        for l in &w.lifecycles {
            world.named_interface_export(ident(l));
        }
        package.world(world);
    }
    Ok(package)
}

/// The metadata half of the rpc-context interface: the request metadata of
/// the rpc being served and of the calls made, and the response headers and
/// trailers both ways. Every call is paired: what one side sets, the next
/// `take` on the other side of the same call gets (the host carries it
/// across host-mediated edges; inside a composed unit it stays in the
/// store), so nothing leaks from one rpc into another.
fn add_metadata_functions(iface: &mut Interface) {
    let mut metadata = TypeDef::type_(
        "metadata",
        Type::list(Type::tuple([Type::String, Type::list(Type::U8)])),
    );
    metadata.set_docs(Some(
        "gRPC metadata: lowercase keys in order, a repeated key once per value, values as bytes (a `-bin` key's value decoded, not base64).",
    ));
    iface.type_def(metadata);
    let mut response = TypeDef::record(
        "response-metadata",
        [
            ("headers", Type::named("metadata")),
            ("trailers", Type::named("metadata")),
        ],
    );
    response.set_docs(Some("Response headers and trailers of an rpc."));
    iface.type_def(response);
    let mut take = StandaloneFunc::new("take-request-metadata", false);
    take.set_docs(Some(
        "The request metadata of the rpc being served; a server calls it once, when the rpc starts.",
    ));
    take.set_result(Some(Type::named("metadata")));
    iface.function(take);
    let mut set = StandaloneFunc::new("set-call-metadata", false);
    set.set_docs(Some(
        "The request metadata of the call the function makes next (none is sent when this is not called).",
    ));
    let mut params = Params::empty();
    params.push("metadata", Type::named("metadata"));
    set.set_params(params);
    iface.function(set);
    let mut reply = StandaloneFunc::new("set-response-metadata", false);
    reply.set_docs(Some(
        "The response headers and trailers of the rpc being served, set as it returns (with its reply or its error status).",
    ));
    let mut params = Params::empty();
    params.push("response", Type::named("response-metadata"));
    reply.set_params(params);
    iface.function(reply);
    let mut got = StandaloneFunc::new("take-response-metadata", false);
    got.set_docs(Some(
        "The response headers and trailers of the call just made (empty if the callee set none); a client calls it after every call.",
    ));
    got.set_result(Some(Type::named("response-metadata")));
    iface.function(got);
}
