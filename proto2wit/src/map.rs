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
    /// `map<K, V>` fields are WIT `map<K, V>` ([`crate::Options::wit_maps`])
    /// rather than `list<tuple<K, V>>`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wit_maps: bool,
}

/// Current [`Map::format`].
pub const MAP_FORMAT: u32 = 1;

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
    /// Unary methods, in declaration order.
    pub methods: Vec<MethodMap>,
    /// Messages and enums the interface defines (fully-qualified proto names),
    /// in a deterministic order. Types are defined inside each service
    /// interface that uses them.
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
    /// WIT record name (`hello-request`, `outer-inner` when nested).
    pub wit_name: String,
    /// Fields, in declaration order (members of a `oneof` excluded).
    pub fields: Vec<FieldMap>,
    /// The `oneof`s (proto3 `optional` fields excluded), in declaration
    /// order. Each is a record field `option<variant>` after the fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oneofs: Vec<OneofMap>,
}

/// A `oneof`: the record field `<name>: option<<variant>>`, the variant
/// having one case per member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OneofMap {
    /// Name in the .proto (`target_union`).
    pub proto_name: String,
    /// WIT field name (`target-union`).
    pub wit_name: String,
    /// WIT variant type name (`compare-target-union`).
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
