//! The serialisable name map: every proto element, the WIT name it got, and
//! the numbers later stages need. grpc-shim-gen and host-gen read only this,
//! so they never re-derive names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything later stages need to know about a mapped app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Map {
    /// Version of this map's format.
    pub format: u32,
    /// WIT package name, e.g. `cofaas:prodcon`.
    pub wit_package: String,
    /// Services, by fully-qualified proto name (`helloworld.Greeter`).
    pub services: BTreeMap<String, ServiceMap>,
    /// Messages, by fully-qualified proto name without the leading dot.
    pub messages: BTreeMap<String, MessageMap>,
    /// Enums, by fully-qualified proto name without the leading dot.
    pub enums: BTreeMap<String, EnumMap>,
    /// Worlds in the package, by WIT name.
    pub worlds: BTreeMap<String, WorldMap>,
    /// Proto packages that occur, with the files that declare them.
    pub packages: BTreeMap<String, Vec<String>>,
    /// The types interfaces, by WIT interface name: one per proto package
    /// whose messages or enums an rpc reaches (`helloworld-types`), where
    /// every one of those types is defined once. Service interfaces `use`
    /// their requests and replies from them.
    #[serde(default)]
    pub type_interfaces: BTreeMap<String, TypesMap>,
    /// `map<K, V>` fields are WIT `map<K, V>` ([`crate::Options::wit_maps`])
    /// rather than `list<tuple<K, V>>`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wit_maps: bool,
}

/// Current [`Map::format`].
pub const MAP_FORMAT: u32 = 3;

impl Map {
    /// Serialises the map as pretty JSON (deterministic: every collection is ordered).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a Map always serialises")
    }

    /// Reads a map written by [`Map::to_json`].
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The world of function `function` (the one whose
    /// [`WorldMap::function`] names it).
    pub fn function_world(&self, function: &str) -> Option<&WorldMap> {
        self.worlds
            .values()
            .find(|w| w.function.as_deref() == Some(function))
    }

    /// The fully-qualified WIT interface name of a service
    /// (`cofaas:prodcon/helloworld-greeter`).
    pub fn interface_path(&self, service: &ServiceMap) -> String {
        format!("{}/{}", self.wit_package, service.interface)
    }

    /// The WIT interface that defines message or enum `full_name`
    /// (`helloworld-types`), if the map has the type.
    pub fn type_interface(&self, full_name: &str) -> Option<&str> {
        match (self.messages.get(full_name), self.enums.get(full_name)) {
            (Some(m), _) => Some(&m.interface),
            (None, Some(e)) => Some(&e.interface),
            (None, None) => None,
        }
    }

    /// The WIT name of message or enum `full_name`, if the map has the type.
    pub fn type_wit_name(&self, full_name: &str) -> Option<&str> {
        match (self.messages.get(full_name), self.enums.get(full_name)) {
            (Some(m), _) => Some(&m.wit_name),
            (None, Some(e)) => Some(&e.wit_name),
            (None, None) => None,
        }
    }
}

/// A types interface: the messages and enums of one proto package (or of
/// several packages whose types refer to each other in a cycle, which WIT
/// interfaces cannot do: they share the interface of the first package).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TypesMap {
    /// WIT interface name (`helloworld-types`; `types` for the empty package).
    pub interface: String,
    /// Proto packages whose types it defines, sorted.
    pub packages: Vec<String>,
    /// Messages and enums it defines (fully-qualified proto names), in a
    /// deterministic order.
    pub types: Vec<String>,
}

/// A gRPC service and the WIT interface it became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceMap {
    /// Fully-qualified proto name, e.g. `helloworld.Greeter`.
    pub proto_name: String,
    /// Proto package (may be empty).
    pub package: String,
    /// Service name as written in the .proto (`Greeter`).
    pub name: String,
    /// The .proto file that declares it.
    pub file: String,
    /// WIT interface name (`helloworld-greeter`).
    pub interface: String,
    /// Methods, in declaration order: unary and streaming
    /// ([`MethodMap::streaming`]).
    pub methods: Vec<MethodMap>,
    /// Messages and enums its rpcs reach (fully-qualified proto names), in a
    /// deterministic order. Each is defined in its package's types interface
    /// ([`Map::type_interface`]); the service interface `use`s only its
    /// requests and replies.
    pub types: Vec<String>,
    /// Streaming methods that were skipped by option (never silently made unary).
    pub skipped: Vec<String>,
}

/// One rpc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MethodMap {
    /// Method name in the .proto (`SayHello`).
    pub proto_name: String,
    /// WIT function name (`say-hello`).
    pub wit_name: String,
    /// Request message, fully qualified.
    pub input: String,
    /// Response message, fully qualified.
    pub output: String,
    /// The request message has no fields: the WIT function takes no parameter.
    pub input_empty: bool,
    /// The response message has no fields: the WIT result's ok type is unit.
    pub output_empty: bool,
    /// Whether and which way the rpc streams.
    #[serde(default, skip_serializing_if = "Streaming::is_unary")]
    pub streaming: Streaming,
    /// A streaming rpc's WIT resource, defined in the service interface:
    /// `<rpc>-stream` (server streaming: `next`), `<rpc>-call` (client
    /// streaming: `send`, `finish`; bidi: `send`, `close-send`,
    /// `poll-next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A bidi rpc's variant that `poll-next` returns (`<rpc>-poll`:
    /// `message(T)`, `pending`, `end(result<_, rpc-status>)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<String>,
}

impl MethodMap {
    /// The rpc is unary: one request, one reply.
    pub fn is_unary(&self) -> bool {
        self.streaming.is_unary()
    }

    /// For a streaming rpc, the WIT name the map lacks (`resource`, or
    /// `poll` for bidi), as in a map not written by [`crate::generate`];
    /// later stages refuse such a map instead of guessing names.
    pub fn missing_stream_name(&self) -> Option<&'static str> {
        match self.streaming {
            Streaming::Unary => None,
            _ if self.resource.as_deref().is_none_or(str::is_empty) => Some("resource"),
            Streaming::Bidi if self.poll.as_deref().is_none_or(str::is_empty) => Some("poll"),
            _ => None,
        }
    }
}

/// Which way an rpc streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Streaming {
    /// One request, one reply.
    #[default]
    Unary,
    /// One request, a stream of replies (`returns (stream T)`).
    Server,
    /// A stream of requests, one reply (`rpc M(stream T)`).
    Client,
    /// Streams both ways.
    Bidi,
}

impl Streaming {
    /// The kind of a method with these two flags of its descriptor.
    pub fn of(client_streaming: bool, server_streaming: bool) -> Self {
        match (client_streaming, server_streaming) {
            (false, false) => Streaming::Unary,
            (false, true) => Streaming::Server,
            (true, false) => Streaming::Client,
            (true, true) => Streaming::Bidi,
        }
    }

    /// `Unary`.
    pub fn is_unary(&self) -> bool {
        *self == Streaming::Unary
    }

    /// How gRPC calls the kind: `unary rpc`, `server-streaming rpc`,
    /// `client-streaming rpc`, `bidi-streaming rpc`.
    pub fn describe(&self) -> &'static str {
        match self {
            Streaming::Unary => "unary rpc",
            Streaming::Server => "server-streaming rpc",
            Streaming::Client => "client-streaming rpc",
            Streaming::Bidi => "bidi-streaming rpc",
        }
    }
}

/// A message and the WIT record it became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageMap {
    /// Fully-qualified proto name (`helloworld.HelloRequest`).
    pub proto_name: String,
    /// Proto package.
    pub package: String,
    /// Names of the enclosing messages, outermost first, then this one
    /// (`["Outer", "Inner"]`).
    pub path: Vec<String>,
    /// WIT type name (`hello-request`, `outer-inner` when nested): a
    /// `record`, or, for a message with no fields, the `enum` of
    /// [`MessageMap::is_empty`].
    pub wit_name: String,
    /// The types interface that defines it (`helloworld-types`).
    pub interface: String,
    /// Fields, in declaration order (members of a `oneof` excluded).
    pub fields: Vec<FieldMap>,
    /// The `oneof`s (proto3 `optional` fields excluded), in declaration
    /// order. Each is a record field `option<variant>` after the fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oneofs: Vec<OneofMap>,
}

impl MessageMap {
    /// The message has no fields and no oneofs. As an rpc's request or reply
    /// it is no parameter or unit; anywhere else (a field, a oneof case, a
    /// list element, a map value) it is `enum <name> { empty }` (case
    /// [`EMPTY_CASE`]), since the component model has no empty records.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.oneofs.is_empty()
    }
}

/// The one case of the WIT enum an empty message maps to.
pub const EMPTY_CASE: &str = "empty";

/// A `oneof`: the record field `<name>: option<<variant>>`, the variant
/// having one case per member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OneofMap {
    /// Name in the .proto (`target_union`).
    pub proto_name: String,
    /// WIT field name (`target-union`).
    pub wit_name: String,
    /// WIT variant type name (`compare-target-union`; `<that>-oneof` when a
    /// message or enum of the package already has that name).
    pub variant: String,
    /// The members, as cases: label `Singular`, case name `wit_name`.
    pub cases: Vec<FieldMap>,
}

/// A message field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldMap {
    /// Field name in the .proto.
    pub proto_name: String,
    /// WIT field name.
    pub wit_name: String,
    /// Field number.
    pub number: i32,
    /// How many values the field holds.
    pub label: Label,
    /// Element type.
    pub ty: ValueType,
    /// The proto2 default value, as the descriptor spells it, if the field
    /// declares one (`[default = 42]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// Cardinality of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Label {
    /// A plain proto3 scalar, string, bytes or enum: `T`.
    Singular,
    /// A field with presence (message field, `optional`): `option<T>`.
    Optional,
    /// `repeated T`: `list<T>`.
    Repeated,
    /// `map<K, V>`: `list<tuple<K, V>>`.
    Map {
        /// Key type.
        key: ValueType,
    },
}

/// The type of one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueType {
    /// A scalar, `string` or `bytes`.
    Scalar(Scalar),
    /// A message, by fully-qualified proto name.
    Message(String),
    /// An enum, by fully-qualified proto name.
    Enum(String),
    /// A `google.protobuf.FieldMask`, as WIT `list<string>` (its paths).
    FieldMask,
    /// A message carried protobuf-encoded, as WIT `list<u8>`: a back-edge
    /// of a recursive message (WIT has no recursive types). The shims encode
    /// and decode it with prost.
    Encoded(String),
}

/// Protobuf scalar types, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    /// The WIT type this scalar maps to, as WIT text.
    pub fn wit(self) -> &'static str {
        match self {
            Scalar::Double => "f64",
            Scalar::Float => "f32",
            Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => "s32",
            Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => "s64",
            Scalar::Uint32 | Scalar::Fixed32 => "u32",
            Scalar::Uint64 | Scalar::Fixed64 => "u64",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "list<u8>",
        }
    }
}

/// An enum and the WIT enum it became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EnumMap {
    /// Fully-qualified proto name.
    pub proto_name: String,
    /// Proto package.
    pub package: String,
    /// Enclosing messages then the enum name, outermost first.
    pub path: Vec<String>,
    /// WIT enum name.
    pub wit_name: String,
    /// The types interface that defines it.
    pub interface: String,
    /// Values, in declaration order (aliases dropped).
    pub values: Vec<EnumValueMap>,
    /// An open enum ([`crate::Options::open_enums`]): a WIT `variant` with
    /// a case per value and `unrecognized(s32)` for any other number, instead
    /// of a closed WIT `enum`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
}

/// The case of an open enum that carries numbers no value names.
pub const UNRECOGNIZED_CASE: &str = "unrecognized";

/// One enum value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EnumValueMap {
    /// Name in the .proto (`STATUS_OK`).
    pub proto_name: String,
    /// WIT case name.
    pub wit_name: String,
    /// Number on the wire.
    pub number: i32,
}

/// A world of the package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorldMap {
    /// WIT world name.
    pub name: String,
    /// The function this world describes; `None` for the app's top-level
    /// world and for per-service worlds.
    pub function: Option<String>,
    /// Services exported (proto names).
    pub exports: Vec<String>,
    /// Services imported (proto names).
    pub imports: Vec<String>,
    /// Lifecycle interfaces exported (WIT interface names), one per function
    /// in the world: `init` runs the function's original `main`.
    pub lifecycles: Vec<String>,
    /// The rpc-context interface the world imports ([`crate::RPC_CONTEXT`]),
    /// for a function's world: the deadline of the rpc it serves and of the
    /// calls it makes, which the host provides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}
