//! Conversions between prost messages and WIT values, shared by the guest
//! shims and the generated host. Every conversion moves its input (strings
//! and byte vectors are moved, never copied) and is fallible: a proto enum
//! number the WIT enum does not have is an `INVALID_ARGUMENT`, not a silent
//! default.

use proc_macro2::TokenStream;
use proto2wit::{Label, Map, MessageMap, Scalar, ServiceMap, ValueType};
use quote::{format_ident, quote};

use crate::rust_names::{ident, prost_camel, prost_snake, wit_camel, wit_snake};

/// Where the two sides of a conversion live.
#[allow(missing_debug_implementations)]
pub struct ConvTarget<'a> {
    /// Path of the module holding the service interface's own items, its
    /// `RpcStatus` (`crate::bindings::exports::cofaas::app::helloworld_greeter`).
    pub service_types: TokenStream,
    /// Path of the module of a types interface, by WIT interface name
    /// (`helloworld-types` → `crate::bindings::cofaas::app::helloworld_types`).
    pub types_module: &'a dyn Fn(&str) -> TokenStream,
    /// Path of the prost type of a message or enum, by fully-qualified proto
    /// name, as seen from the conversion module.
    pub pb_path: &'a dyn Fn(&str) -> TokenStream,
    /// Path of the enum prost generates for a `oneof`, by the message's
    /// fully-qualified proto name and the oneof's proto name.
    pub pb_oneof: &'a dyn Fn(&str, &str) -> TokenStream,
    /// Path of tonic's `Status` (`::tonic::Status`).
    pub status: TokenStream,
}

/// Where prost-build puts the enum of `oneof` of `message`: the message's
/// package modules, then its nested-types module (`compare`) and the enum
/// (`TargetUnion`).
pub fn prost_oneof_segments(map: &Map, message: &str, oneof: &str) -> (Vec<String>, Vec<String>) {
    let (package_segs, mut type_segs) = prost_type_segments(map, message);
    type_segs.pop();
    let last = map
        .messages
        .get(message)
        .and_then(|m| m.path.last().cloned())
        .unwrap_or_default();
    type_segs.push(prost_snake(&last));
    type_segs.push(prost_camel(oneof));
    (package_segs, type_segs)
}

/// Where prost-build puts the type of a message or enum: the module segments
/// of its proto package, and the module segments plus type name inside it
/// (`outer`, `Inner` for `pkg.Outer.Inner`).
pub fn prost_type_segments(map: &Map, full_name: &str) -> (Vec<String>, Vec<String>) {
    let (package, path) = match (map.messages.get(full_name), map.enums.get(full_name)) {
        (Some(m), _) => (m.package.as_str(), m.path.clone()),
        (None, Some(e)) => (e.package.as_str(), e.path.clone()),
        (None, None) => ("", vec![full_name.to_string()]),
    };
    let package_segs = package
        .split('.')
        .filter(|s| !s.is_empty())
        .map(prost_snake)
        .collect();
    let (last, parents) = path.split_last().expect("a type has a name");
    let mut type_segs: Vec<String> = parents.iter().map(|p| prost_snake(p)).collect();
    type_segs.push(prost_camel(last));
    (package_segs, type_segs)
}

/// The path of a well-known type prost takes from `prost_types`
/// (`google.protobuf.Timestamp` → `::prost_types::Timestamp`,
/// `google.protobuf.Field.Kind` → `::prost_types::field::Kind`, `Empty` →
/// `()`, a wrapper → its Rust scalar), if `full_name` is one: prost-build's
/// extern paths for `.google.protobuf`.
pub fn prost_well_known_path(map: &Map, full_name: &str) -> Option<TokenStream> {
    let rest = full_name.strip_prefix("google.protobuf.")?;
    if rest == "Empty" {
        // prost maps `Empty` to the unit type.
        return Some(quote!(()));
    }
    if let Some(s) = proto2wit::wrapper_scalar(full_name) {
        return Some(rust_scalar(s));
    }
    Some(prost_types_path(prost_type_segments(map, full_name)))
}

/// The path in `prost_types` of segments under `google.protobuf`
/// (prost-build's extern path for `.google.protobuf`).
fn prost_types_path((package_segs, type_segs): (Vec<String>, Vec<String>)) -> TokenStream {
    let segs = package_segs
        .iter()
        .skip(2)
        .chain(&type_segs)
        .map(|s| ident(s));
    quote!(::prost_types #(::#segs)*)
}

/// The Rust type prost (and wasmtime's and wit-bindgen's bindings) give a
/// scalar.
pub fn rust_scalar(s: Scalar) -> TokenStream {
    match s {
        Scalar::Double => quote!(f64),
        Scalar::Float => quote!(f32),
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => quote!(i32),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => quote!(i64),
        Scalar::Uint32 | Scalar::Fixed32 => quote!(u32),
        Scalar::Uint64 | Scalar::Fixed64 => quote!(u64),
        Scalar::Bool => quote!(bool),
        Scalar::String => quote!(::std::string::String),
        Scalar::Bytes => quote!(::std::vec::Vec<u8>),
    }
}

/// The path of the enum of `oneof` of a well-known message in `prost_types`
/// (`google.protobuf.Value.kind` → `::prost_types::value::Kind`).
pub fn prost_well_known_oneof_path(map: &Map, message: &str, oneof: &str) -> Option<TokenStream> {
    message.strip_prefix("google.protobuf.")?;
    Some(prost_types_path(prost_oneof_segments(map, message, oneof)))
}

/// The relative path prost-build uses for `full_name` from inside a module
/// nested `extra_depth` levels below the module of proto package `from_pkg`.
pub fn prost_relative_path(
    map: &Map,
    from_pkg: &str,
    full_name: &str,
    extra_depth: usize,
) -> TokenStream {
    if let Some(path) = prost_well_known_path(map, full_name) {
        return path;
    }
    relative_path(prost_type_segments(map, full_name), from_pkg, extra_depth)
}

/// [`prost_relative_path`] of the enum of `oneof` of `message`.
pub fn prost_oneof_relative_path(
    map: &Map,
    from_pkg: &str,
    message: &str,
    oneof: &str,
    extra_depth: usize,
) -> TokenStream {
    if let Some(path) = prost_well_known_oneof_path(map, message, oneof) {
        return path;
    }
    relative_path(
        prost_oneof_segments(map, message, oneof),
        from_pkg,
        extra_depth,
    )
}

fn relative_path(
    (package_segs, type_segs): (Vec<String>, Vec<String>),
    from_pkg: &str,
    extra_depth: usize,
) -> TokenStream {
    let from_segs: Vec<String> = from_pkg
        .split('.')
        .filter(|s| !s.is_empty())
        .map(prost_snake)
        .collect();
    // Same package: relative to the package's module, whatever the user
    // named it (`pub mod hello_world { include_proto!("helloworld"); }`).
    // Another package: prost-build's convention, packages nest as modules.
    let mut segs: Vec<String> = std::iter::repeat_n("super".to_string(), extra_depth).collect();
    if package_segs != from_segs {
        segs.extend(std::iter::repeat_n("super".to_string(), from_segs.len()));
        segs.extend(package_segs);
    }
    segs.extend(type_segs);
    crate::rust_names::path(segs)
}

fn conv_name(prefix: &str, wit: &str) -> proc_macro2::Ident {
    format_ident!("{}_{}", prefix, wit_snake(wit).trim_end_matches('_'))
}

/// A type's WIT name qualified by its package's types interface
/// (`helloworld-hello-request`), unique among all the types of the map:
/// two packages may both have a `Value`.
pub fn qualified_wit_name(map: &Map, full: &str) -> String {
    let stem = map
        .type_interface(full)
        .unwrap_or_default()
        .trim_end_matches("types")
        .trim_end_matches('-');
    let wit = map.type_wit_name(full).unwrap_or(full);
    if stem.is_empty() {
        wit.to_string()
    } else {
        format!("{stem}-{wit}")
    }
}

/// `to_wit_<pkg>_x` / `from_wit_<pkg>_x` for messages,
/// `enum_to_wit_<pkg>_x` / `enum_from_wit_<pkg>_x` for enums.
pub fn to_wit_fn(map: &Map, full: &str) -> proc_macro2::Ident {
    conv_fn(map, full, "to_wit")
}

/// See [`to_wit_fn`].
pub fn from_wit_fn(map: &Map, full: &str) -> proc_macro2::Ident {
    conv_fn(map, full, "from_wit")
}

fn conv_fn(map: &Map, full: &str, direction: &str) -> proc_macro2::Ident {
    let prefix = if map.messages.contains_key(full) {
        direction.to_string()
    } else {
        format!("enum_{direction}")
    };
    conv_name(&prefix, &qualified_wit_name(map, full))
}

/// Whether prost boxes a singular field or oneof case of message type
/// `target` inside `container`: it does when `target` contains `container`,
/// directly or not (prost-build's `is_nested`), so that the Rust type is
/// finite.
pub fn prost_boxed(map: &Map, container: &str, target: &str) -> bool {
    let mut seen: Vec<&str> = Vec::new();
    let mut work = vec![target];
    while let Some(name) = work.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let Some(m) = map.messages.get(name) else {
            continue;
        };
        // Like prost-build's message graph: only singular message fields
        // (and oneof members) count; a `Vec` or map already breaks the cycle.
        let singular = m
            .fields
            .iter()
            .filter(|f| matches!(f.label, Label::Singular | Label::Optional));
        for f in singular.chain(m.oneofs.iter().flat_map(|o| &o.cases)) {
            if let ValueType::Message(next) | ValueType::Encoded(next) = &f.ty {
                if next == container {
                    return true;
                }
                work.push(next);
            }
        }
    }
    false
}

/// A prost value `v` → its WIT value. `boxed`: `v` is a `Box`. `field`
/// (`pkg.Message.field`) names the field in errors.
fn value_to_wit(
    map: &Map,
    ty: &ValueType,
    v: TokenStream,
    boxed: bool,
    field: &str,
) -> TokenStream {
    match ty {
        ValueType::Scalar(_) => v,
        ValueType::Message(m) => {
            let f = to_wit_fn(map, m);
            if boxed {
                quote!(#f(*#v)?)
            } else {
                quote!(#f(#v)?)
            }
        }
        ValueType::Enum(m) => {
            let f = to_wit_fn(map, m);
            quote!(#f(#v, #field)?)
        }
        ValueType::Encoded(_) => quote!(::prost::Message::encode_to_vec(&#v)),
        ValueType::FieldMask => quote!(#v.paths),
    }
}

/// A WIT value `v` → its prost value. `boxed`: the prost value is a `Box`.
fn value_from_wit(
    map: &Map,
    ty: &ValueType,
    v: TokenStream,
    boxed: bool,
    t: &ConvTarget,
) -> TokenStream {
    let value = match ty {
        ValueType::Scalar(_) => return v,
        ValueType::Message(m) => {
            let f = from_wit_fn(map, m);
            quote!(#f(#v)?)
        }
        ValueType::Enum(e) => {
            let f = from_wit_fn(map, e);
            return quote!(#f(#v));
        }
        ValueType::FieldMask => quote!(::prost_types::FieldMask { paths: #v }),
        ValueType::Encoded(m) => {
            let pb = (t.pb_path)(m);
            let status = &t.status;
            let err = format!("a `{m}` does not decode: {{}}");
            quote!(<#pb as ::prost::Message>::decode(&#v[..]).map_err(|e| #status::invalid_argument(format!(#err, e)))?)
        }
    };
    if boxed {
        quote!(::std::boxed::Box::new(#value))
    } else {
        value
    }
}

fn field_to_wit(
    map: &Map,
    label: &Label,
    ty: &ValueType,
    v: TokenStream,
    boxed: bool,
    status: &TokenStream,
    field: &str,
) -> TokenStream {
    let scalar = matches!(ty, ValueType::Scalar(_));
    match label {
        Label::Singular => value_to_wit(map, ty, v, boxed, field),
        Label::Optional if scalar => v,
        Label::Optional => {
            let inner = value_to_wit(map, ty, quote!(x), boxed, field);
            quote!(match #v { Some(x) => Some(#inner), None => None })
        }
        Label::Repeated if scalar => v,
        Label::Repeated => {
            let inner = value_to_wit(map, ty, quote!(x), false, field);
            quote!(#v.into_iter().map(|x| Ok::<_, #status>(#inner)).collect::<Result<Vec<_>, #status>>()?)
        }
        Label::Map { .. } => {
            let inner = value_to_wit(map, ty, quote!(x), false, field);
            // Sorted by key: HashMap order must not reach the WIT value.
            quote!({
                let mut entries = #v.into_iter().map(|(k, x)| Ok::<_, #status>((k, #inner))).collect::<Result<Vec<_>, #status>>()?;
                entries.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(::std::cmp::Ordering::Equal));
                entries
            })
        }
    }
}

fn field_from_wit(
    map: &Map,
    label: &Label,
    ty: &ValueType,
    v: TokenStream,
    boxed: bool,
    t: &ConvTarget,
) -> TokenStream {
    let scalar = matches!(ty, ValueType::Scalar(_));
    match label {
        Label::Singular => value_from_wit(map, ty, v, boxed, t),
        Label::Optional if scalar => v,
        Label::Optional => {
            let inner = value_from_wit(map, ty, quote!(x), boxed, t);
            quote!(match #v { Some(x) => Some(#inner), None => None })
        }
        Label::Repeated if scalar => v,
        Label::Repeated => {
            let inner = value_from_wit(map, ty, quote!(x), false, t);
            let status = &t.status;
            quote!(#v.into_iter().map(|x| Ok::<_, #status>(#inner)).collect::<Result<Vec<_>, #status>>()?)
        }
        Label::Map { .. } => {
            let inner = value_from_wit(map, ty, quote!(x), false, t);
            let status = &t.status;
            quote!(#v.into_iter().map(|(k, x)| Ok::<_, #status>((k, #inner))).collect::<Result<_, #status>>()?)
        }
    }
}

/// Whether prost boxes field `f` of message `container`.
fn boxed_field(map: &Map, container: &str, f: &proto2wit::FieldMap) -> bool {
    match (&f.label, &f.ty) {
        (Label::Singular | Label::Optional, ValueType::Message(m) | ValueType::Encoded(m)) => {
            prost_boxed(map, container, m)
        }
        _ => false,
    }
}

fn message_fns(map: &Map, m: &MessageMap, t: &ConvTarget) -> TokenStream {
    let status = &t.status;
    let wit_types = (t.types_module)(&m.interface);
    let wit_ty = ident(&wit_camel(&m.wit_name));
    let pb_ty = (t.pb_path)(&m.proto_name);
    let to = to_wit_fn(map, &m.proto_name);
    let from = from_wit_fn(map, &m.proto_name);
    let doc_to = format!(" `{}` → WIT `{}`.", m.proto_name, m.wit_name);
    let doc_from = format!(" WIT `{}` → `{}`.", m.wit_name, m.proto_name);
    if m.is_empty() {
        // `enum x { empty }`: the component model has no empty records.
        let case = ident(&wit_camel(proto2wit::EMPTY_CASE));
        return quote! {
            #[doc = #doc_to]
            pub(crate) fn #to(_m: #pb_ty) -> Result<#wit_types::#wit_ty, #status> {
                Ok(#wit_types::#wit_ty::#case)
            }
            #[doc = #doc_from]
            pub(crate) fn #from(_w: #wit_types::#wit_ty) -> Result<#pb_ty, #status> {
                Ok(<#pb_ty as ::core::default::Default>::default())
            }
        };
    }
    if proto2wit::wrapper_scalar(&m.proto_name).is_some() {
        // A wrapper as an rpc's request or reply: prost makes it the bare
        // scalar, WIT the record `{ value }`.
        return quote! {
            #[doc = #doc_to]
            pub(crate) fn #to(m: #pb_ty) -> Result<#wit_types::#wit_ty, #status> {
                Ok(#wit_types::#wit_ty { value: m })
            }
            #[doc = #doc_from]
            pub(crate) fn #from(w: #wit_types::#wit_ty) -> Result<#pb_ty, #status> {
                Ok(w.value)
            }
        };
    }
    let mut to_fields = Vec::new();
    let mut from_fields = Vec::new();
    for f in &m.fields {
        let pb = ident(&prost_snake(&f.proto_name));
        let wit = ident(&wit_snake(&f.wit_name));
        let boxed = boxed_field(map, &m.proto_name, f);
        let name = format!("{}.{}", m.proto_name, f.proto_name);
        let to_expr = field_to_wit(map, &f.label, &f.ty, quote!(m.#pb), boxed, &t.status, &name);
        let from_expr = field_from_wit(map, &f.label, &f.ty, quote!(w.#wit), boxed, t);
        to_fields.push(quote!(#wit: #to_expr));
        from_fields.push(quote!(#pb: #from_expr));
    }
    for o in &m.oneofs {
        let pb = ident(&prost_snake(&o.proto_name));
        let wit = ident(&wit_snake(&o.wit_name));
        let pb_enum = (t.pb_oneof)(&m.proto_name, &o.proto_name);
        let variant = ident(&wit_camel(&o.variant));
        let mut to_arms = Vec::new();
        let mut from_arms = Vec::new();
        for c in &o.cases {
            let pb_case = ident(&prost_camel(&c.proto_name));
            let wit_case = ident(&wit_camel(&c.wit_name));
            let boxed = boxed_field(map, &m.proto_name, c);
            let name = format!("{}.{}", m.proto_name, c.proto_name);
            let to_x = value_to_wit(map, &c.ty, quote!(x), boxed, &name);
            let from_x = value_from_wit(map, &c.ty, quote!(x), boxed, t);
            to_arms.push(
                quote!(Some(#pb_enum::#pb_case(x)) => Some(#wit_types::#variant::#wit_case(#to_x))),
            );
            from_arms.push(quote!(Some(#wit_types::#variant::#wit_case(x)) => Some(#pb_enum::#pb_case(#from_x))));
        }
        to_fields.push(quote!(#wit: match m.#pb { #(#to_arms,)* None => None }));
        from_fields.push(quote!(#pb: match w.#wit { #(#from_arms,)* None => None }));
    }
    let (m_arg, w_arg) = (quote!(m), quote!(w));
    quote! {
        #[doc = #doc_to]
        pub(crate) fn #to(#m_arg: #pb_ty) -> Result<#wit_types::#wit_ty, #status> {
            Ok(#wit_types::#wit_ty { #(#to_fields,)* })
        }
        #[doc = #doc_from]
        pub(crate) fn #from(#w_arg: #wit_types::#wit_ty) -> Result<#pb_ty, #status> {
            Ok(#pb_ty { #(#from_fields,)* })
        }
    }
}

fn enum_fns(map: &Map, full: &str, t: &ConvTarget) -> TokenStream {
    let e = &map.enums[full];
    let status = &t.status;
    let wit_types = (t.types_module)(&e.interface);
    let wit_ty = ident(&wit_camel(&e.wit_name));
    let to = to_wit_fn(map, full);
    let from = from_wit_fn(map, full);
    let numbers: Vec<i32> = e.values.iter().map(|v| v.number).collect();
    let cases: Vec<_> = e
        .values
        .iter()
        .map(|v| ident(&wit_camel(&v.wit_name)))
        .collect();
    let err = format!("field `{{}}`: value {{}} is not a number of enum `{full}`");
    if e.open {
        let unrecognized = ident(&wit_camel(proto2wit::UNRECOGNIZED_CASE));
        return quote! {
            pub(crate) fn #to(v: i32, _field: &str) -> Result<#wit_types::#wit_ty, #status> {
                Ok(match v {
                    #(#numbers => #wit_types::#wit_ty::#cases,)*
                    other => #wit_types::#wit_ty::#unrecognized(other),
                })
            }
            pub(crate) fn #from(v: #wit_types::#wit_ty) -> i32 {
                match v {
                    #(#wit_types::#wit_ty::#cases => #numbers,)*
                    #wit_types::#wit_ty::#unrecognized(n) => n,
                }
            }
        };
    }
    quote! {
        pub(crate) fn #to(v: i32, field: &str) -> Result<#wit_types::#wit_ty, #status> {
            match v {
                #(#numbers => Ok(#wit_types::#wit_ty::#cases),)*
                other => Err(#status::invalid_argument(format!(#err, field, other))),
            }
        }
        pub(crate) fn #from(v: #wit_types::#wit_ty) -> i32 {
            match v {
                #(#wit_types::#wit_ty::#cases => #numbers,)*
            }
        }
    }
}

/// Conversion functions for every type a service interface defines, plus
/// `status_to_wit` / `status_from_wit`.
pub fn conversions(map: &Map, service: &ServiceMap, t: &ConvTarget) -> TokenStream {
    let mut items = Vec::new();
    for ty in &service.types {
        if let Some(m) = map.messages.get(ty) {
            items.push(message_fns(map, m, t));
        } else if map.enums.contains_key(ty) {
            items.push(enum_fns(map, ty, t));
        }
    }
    let status = &t.status;
    let wit_types = &t.service_types;
    quote! {
        #(#items)*
        /// A gRPC status → WIT `rpc-status`.
        pub(crate) fn status_to_wit(s: #status) -> #wit_types::RpcStatus {
            #wit_types::RpcStatus {
                code: s.code() as i32,
                message: s.message().to_string(),
                details: s.details().to_vec(),
            }
        }
        /// WIT `rpc-status` → a gRPC status.
        pub(crate) fn status_from_wit(s: #wit_types::RpcStatus) -> #status {
            #status::with_details(s.code.into(), s.message, s.details.into())
        }
    }
}

/// The conversion module's name for a service (`__cofaas_greeter`).
pub fn conv_module(service: &ServiceMap) -> proc_macro2::Ident {
    format_ident!("__cofaas_{}", crate::rust_names::tonic_snake(&service.name))
}

/// Method name as tonic-build spells it (`say_hello`).
pub fn method_ident(proto: &str) -> proc_macro2::Ident {
    ident(&prost_snake(proto))
}

/// The WIT function as the bindings spell it (`say_hello`).
pub fn wit_fn_ident(wit: &str) -> proc_macro2::Ident {
    ident(&wit_snake(wit))
}

/// Whether the WIT record of `message` holds a string or a list anywhere
/// inside it. wit-bindgen (guest imports) and wasmtime's `bindgen!` (host
/// calls of exports) pass such records by reference and plain-data records
/// by value, so generated calls must do the same.
pub fn wit_has_list(map: &Map, message: &str) -> bool {
    fn walk(map: &Map, message: &str, seen: &mut Vec<String>) -> bool {
        if seen.iter().any(|m| m == message) {
            return false;
        }
        seen.push(message.to_string());
        let Some(m) = map.messages.get(message) else {
            return false;
        };
        m.fields
            .iter()
            .chain(m.oneofs.iter().flat_map(|o| &o.cases))
            .any(|f| {
                matches!(f.label, Label::Repeated | Label::Map { .. })
                    || match &f.ty {
                        ValueType::Scalar(s) => matches!(s, Scalar::String | Scalar::Bytes),
                        ValueType::Message(inner) => walk(map, inner, seen),
                        ValueType::Enum(_) => false,
                        ValueType::Encoded(_) | ValueType::FieldMask => true,
                    }
            })
    }
    walk(map, message, &mut Vec::new())
}
