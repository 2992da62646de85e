//! Rust spellings used by prost-build, tonic-build and the WIT bindings
//! generators (wit-bindgen in guests, wasmtime's `bindgen!` in hosts).

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// prost-build's identifier sanitising (`r#type`, `self_`, `_1x`).
pub fn prost_sanitize(ident: &str) -> String {
    match ident {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident.to_string(),
    }
}

/// A prost field or module name.
pub fn prost_snake(proto: &str) -> String {
    prost_sanitize(&proto.to_snake_case())
}

/// A prost type name.
pub fn prost_camel(proto: &str) -> String {
    prost_sanitize(&proto.to_upper_camel_case())
}

/// tonic-build's module-name spelling of a service (`greeter_server`).
pub fn tonic_snake(name: &str) -> String {
    let mut s = String::new();
    let mut it = name.chars().peekable();
    while let Some(x) = it.next() {
        s.push(x.to_ascii_lowercase());
        if let Some(y) = it.peek()
            && y.is_uppercase()
        {
            s.push('_');
        }
    }
    s
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// A WIT name (`payload-kib`, `type`) as the bindings generators spell a
/// field, function or module (`payload_kib`, `type_`).
pub fn wit_snake(wit: &str) -> String {
    let s = wit.to_snake_case();
    if RUST_KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

/// A WIT type or case name as the bindings generators spell it (`HelloRequest`).
pub fn wit_camel(wit: &str) -> String {
    wit.to_upper_camel_case()
}

/// An identifier token, raw (`r#type`) when written so.
pub fn ident(s: &str) -> Ident {
    match s.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(s, Span::call_site()),
    }
}

/// `a::b::c` from segments.
pub fn path(segments: impl IntoIterator<Item = impl AsRef<str>>) -> TokenStream {
    let segs: Vec<Ident> = segments.into_iter().map(|s| ident(s.as_ref())).collect();
    quote!(#(#segs)::*)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_match_the_generators() {
        assert_eq!(prost_snake("vHiveMetadata"), "v_hive_metadata");
        assert_eq!(prost_snake("type"), "r#type");
        assert_eq!(wit_snake("type"), "type_");
        assert_eq!(wit_snake("v-hive-metadata"), "v_hive_metadata");
        assert_eq!(wit_camel("hello-request"), "HelloRequest");
        assert_eq!(tonic_snake("ProducerConsumer"), "producer_consumer");
        assert_eq!(tonic_snake("HTTPServer"), "h_t_t_p_server");
    }
}
