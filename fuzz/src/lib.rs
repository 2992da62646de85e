//! Fuzz logic for the cofaas stages that read outside input. Each target is
//! a `run(&mut Unstructured)` here; the binaries in `fuzz_targets/` are thin
//! `cargo fuzz` wrappers, and the `smoke` test runs each on seeded inputs
//! under `cargo test`, and every crash input kept in `regressions/<target>/`.
//! `campaign.sh` runs them all for real (and the Go converters' fuzz test
//! in `go/conv`).
#![deny(missing_docs)]

use arbitrary::{Result, Unstructured};

/// proto2wit on .proto text assembled from proto-like fragments: any input
/// gets an `Ok` or an `Error`, never a panic.
pub mod proto2wit_target {
    use super::*;

    /// Self-contained declarations; any subset is one file (if names clash,
    /// protox says so).
    const FRAGMENTS: &[&str] = &[
        "package a.b;\n",
        "message M { string s = 1; }\n",
        "message N { repeated string m = 1; optional int32 x = 2; map<string, int64> mm = 3; }\n",
        "enum E { E0 = 0; E1 = 1; }\n",
        "message F { bytes b = 1; fixed64 f = 2; sint32 z = 3; }\n",
        "service S { rpc Do(F) returns (N); }\n",
        "message P { oneof o { string a = 1; } } service X { rpc Go(P) returns (P); }\n",
        "message Q { Q q = 1; } service Y { rpc Loop(Q) returns (Q); }\n",
        "message T1 { string v = 1; } service T { rpc Stream(stream T1) returns (T1); }\n",
        "message U1 { string v = 1; } service U { rpc Bad(U1) returns (U1); rpc bad(U1) returns (U1); }\n",
        "message Outer { message Inner { string v = 1; } Inner i = 1; } service O { rpc In(Outer) returns (Outer.Inner); }\n",
        "message type { string map = 1; } service K { rpc async(type) returns (type); }\n",
        "import \"google/protobuf/timestamp.proto\"; import \"google/protobuf/wrappers.proto\"; import \"google/protobuf/struct.proto\";\nmessage W { google.protobuf.Timestamp t = 1; google.protobuf.Int32Value i = 2; google.protobuf.Value v = 3; } service WK { rpc Now(W) returns (W); }\n",
        "message R1 { R2 r = 1; repeated R1 many = 2; oneof c { R2 two = 3; int32 n = 4; } } message R2 { R1 back = 1; map<string, R1> idx = 2; } service RR { rpc Rec(R1) returns (R2); }\n",
        "enum G { G_UNSPECIFIED = 0; UNRECOGNIZED_ = 1; } message GG { G g = 1; } service GS { rpc Gg(GG) returns (GG); }\n",
    ];

    /// More fragments, of the shapes real API trees have (chosen after the
    /// others, so that the kept crash inputs still stand for their texts).
    const REAL_API_FRAGMENTS: &[&str] = &[
        // Empty messages in every position, and as request and reply.
        "import \"google/protobuf/empty.proto\";\nmessage Z0 {} message Z { Z0 a = 1; repeated Z0 b = 2; map<string, Z0> c = 3; oneof o { Z0 d = 4; google.protobuf.Empty e = 5; } } service ZS { rpc Zz(Z) returns (Z0); rpc Zn(Z0) returns (Z); }\n",
        // Wrappers as oneof cases, list elements, map values (with the
        // fragment importing wrappers.proto), and as request.
        "message V { oneof o { google.protobuf.Int64Value i = 1; string s = 2; } repeated google.protobuf.BoolValue b = 3; map<int32, google.protobuf.BytesValue> m = 4; } service VS { rpc Vv(google.protobuf.StringValue) returns (V); }\n",
        // Well-known types without a special mapping: ordinary messages.
        "import \"google/protobuf/api.proto\";\nmessage AP { google.protobuf.Api api = 1; google.protobuf.Type t = 2; } service APS { rpc Ap(AP) returns (google.protobuf.Method); }\n",
        // A oneof variant named like a message; names that meet after flattening.
        "message J { oneof meta { string x = 1; } } message JMeta { int32 y = 1; } message JH { J j = 1; JMeta m = 2; } service JS { rpc Jj(JH) returns (JH); }\n",
        "message Fl { message At { int32 a = 1; } At at = 1; } message FlAt { int32 b = 1; } message FlH { Fl f = 1; FlAt g = 2; } service FS { rpc Ff(FlH) returns (FlH); }\n",
        // A request named like the interface's own `rpc-status`; a service
        // named like the package's types interface.
        "message RpcStatus { int32 c = 1; } service RS { rpc St(RpcStatus) returns (RpcStatus); }\n",
        "message TY { int32 a = 1; } service Types { rpc Ty(TY) returns (TY); }\n",
        // A world named like an interface (`wz-server`).
        "message WM { int32 a = 1; } service Wz { rpc A(WM) returns (WM); } service WzServer { rpc B(WM) returns (WM); }\n",
    ];

    /// Damage: stray tokens.
    const JUNK: &[&str] = &["{\n", "}\n", "message\n", "= 1;\n", "rpc X(;\n"];

    /// How far an input got.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Outcome {
        /// protox rejected the text (with a diagnostic).
        NotProto,
        /// The protos are valid but proto2wit refused them (with an error).
        Refused,
        /// Mapped to WIT (re-parsed by wit-parser inside `generate`).
        Mapped,
    }

    /// The .proto text an input stands for.
    pub fn text(u: &mut Unstructured) -> Result<String> {
        let mut text =
            String::from(*u.choose(&["syntax = \"proto3\";\n", "syntax = \"proto2\";\n", ""])?);
        for fragment in FRAGMENTS {
            if u.ratio(1, 3)? {
                text.push_str(fragment);
            }
        }
        if u.ratio(1, 6)? {
            text.push_str(u.choose(JUNK)?);
        }
        if u.ratio(1, 10)? {
            let raw: String = u.arbitrary()?;
            text.push_str(&raw);
        }
        for fragment in REAL_API_FRAGMENTS {
            if u.ratio(1, 3)? {
                text.push_str(fragment);
            }
        }
        Ok(text)
    }

    /// Runs one input: its [`text`] is parsed in memory, as `f.proto`.
    pub fn run(u: &mut Unstructured) -> Result<Outcome> {
        let text = text(u)?;
        let Ok(fds) = proto2wit::compile_sources(&[("f.proto", &text)]) else {
            return Ok(Outcome::NotProto);
        };
        let mut opts = proto2wit::Options::default();
        opts.skip_streaming = u.arbitrary()?;
        opts.open_enums = u.arbitrary()?;
        opts.reject_recursion = u.arbitrary()?;
        match proto2wit::generate(&fds, None, &opts) {
            Ok(out) => {
                // Whatever maps must re-parse (generate checks it); the map must round-trip.
                let json = out.map.to_json();
                assert_eq!(proto2wit::Map::from_json(&json).expect("map json"), out.map);
                Ok(Outcome::Mapped)
            }
            // The mapper must never emit WIT that does not parse: that
            // safeguard firing is a bug, not a refusal.
            Err(proto2wit::Error::Internal { message }) => {
                panic!("proto2wit emitted WIT that does not parse: {message}\n{text}")
            }
            Err(_) => Ok(Outcome::Refused),
        }
    }
}

/// component-linker on generated apps: components of random worlds (random
/// interfaces, some defined differently by importer and exporter, some
/// versioned, WASI imports), taken from a pool where each world is encoded
/// once per process, sometimes damaged structurally (sections dropped,
/// duplicated, swapped, cut; bytes flipped), and a random plan (entries,
/// re-exports, explicit choices). Linking must never panic, and every `Ok`
/// output must validate.
pub mod linker_target {
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};

    /// What one input did.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Outcome {
        /// Linked; the output validated.
        Linked,
        /// Refused with this [`component_linker::LinkError`] variant.
        Refused(String),
    }

    const VERSIONS: &[Option<&str>] = &[None, Some("1.0.0"), Some("1.1.0"), Some("2.0.0")];

    /// Most interfaces an app uses (`test:api/api0` … `api3`).
    const INTERFACES: usize = 4;

    /// Interface `i` as defined in shape `shape` (two shapes of the same
    /// interface do not match).
    fn interface(i: usize, shape: bool) -> String {
        if shape {
            format!("  interface api{i} {{\n    call: func(x: u32) -> string;\n  }}\n")
        } else {
            format!(
                "  interface api{i} {{\n    record r {{ a: u32, b: list<u8> }}\n    call: func(x: r) -> option<u64>;\n  }}\n"
            )
        }
    }

    /// The world of one pooled component: which interfaces it imports and
    /// exports, which one (if any) it defines in the other shape, the
    /// interfaces' version, and whether it imports a WASI clock.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    struct World {
        imports: Vec<usize>,
        exports: Vec<usize>,
        flipped: Option<usize>,
        version: Option<&'static str>,
        clock: bool,
    }

    impl World {
        /// Interface `i`'s shape: alternating, unless this world flips it.
        fn shape(&self, i: usize) -> bool {
            i.is_multiple_of(2) != (self.flipped == Some(i))
        }

        /// Encodes the world's component (a dummy core module with its
        /// metadata).
        fn encode(&self) -> Option<Vec<u8>> {
            use wit_component::{
                ComponentEncoder, StringEncoding, dummy_module, embed_component_metadata,
            };
            let at = self.version.map(|v| format!("@{v}")).unwrap_or_default();
            let mut wit = String::from("package test:f;\nworld f {\n");
            if self.clock {
                wit.push_str("  import wasi:clocks/monotonic-clock@0.2.3;\n");
            }
            for i in &self.imports {
                wit.push_str(&format!("  import test:api/api{i}{at};\n"));
            }
            for i in &self.exports {
                wit.push_str(&format!("  export test:api/api{i}{at};\n"));
            }
            wit.push_str("}\n");
            wit.push_str(
                "package wasi:clocks@0.2.3 { interface monotonic-clock { now: func() -> u64; } }\n",
            );
            wit.push_str(&format!("package test:api{at} {{\n"));
            for i in self.imports.iter().chain(&self.exports) {
                wit.push_str(&interface(*i, self.shape(*i)));
            }
            wit.push_str("}\n");
            let mut resolve = wit_parser::Resolve::default();
            let pkg = resolve.push_source("fuzz.wit", &wit).ok()?;
            let world = resolve.select_world(&[pkg], None).ok()?;
            let mut module = dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
            embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).ok()?;
            ComponentEncoder::default()
                .module(&module)
                .ok()?
                .encode()
                .ok()
        }
    }

    /// A pre-encoded component, split into its top-level sections.
    #[derive(Debug)]
    struct Pooled {
        /// The 8-byte preamble (magic, version, layer).
        preamble: Vec<u8>,
        /// Each section whole: id, size, payload.
        sections: Vec<Vec<u8>>,
    }

    impl Pooled {
        fn split(bytes: &[u8]) -> Option<Self> {
            let preamble = bytes.get(..8)?.to_vec();
            let mut sections = Vec::new();
            let mut at = 8;
            while at < bytes.len() {
                let start = at;
                at += 1;
                let (mut size, mut shift) = (0usize, 0);
                loop {
                    let b = *bytes.get(at)?;
                    at += 1;
                    size |= usize::from(b & 0x7f) << shift;
                    shift += 7;
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                at = at.checked_add(size)?;
                sections.push(bytes.get(start..at)?.to_vec());
            }
            Some(Pooled { preamble, sections })
        }
    }

    /// The pool: every world's component, encoded once per process on first
    /// use (there are at most 3⁴ × 5 × 4 × 2 worlds), shared by all inputs.
    fn pooled(world: &World) -> Option<Arc<Pooled>> {
        type Pool = Mutex<HashMap<World, Option<Arc<Pooled>>>>;
        static POOL: OnceLock<Pool> = OnceLock::new();
        let pool = POOL.get_or_init(Default::default);
        let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
        pool.entry(world.clone())
            .or_insert_with(|| world.encode().and_then(|b| Pooled::split(&b)).map(Arc::new))
            .clone()
    }

    /// A pooled component's bytes, sometimes damaged structurally: a
    /// section dropped, duplicated, swapped with the next or truncated, the
    /// component cut at a section boundary, or one byte flipped.
    fn mutated(u: &mut Unstructured, c: &Pooled) -> Result<Vec<u8>> {
        let mut sections: Vec<Vec<u8>> = c.sections.clone();
        if u.ratio(1, 8)? && !sections.is_empty() {
            let s = u.choose_index(sections.len())?;
            match u.int_in_range(0..=5)? {
                0 => {
                    sections.remove(s);
                }
                1 => {
                    let copy = sections[s].clone();
                    sections.insert(s, copy);
                }
                2 if s + 1 < sections.len() => sections.swap(s, s + 1),
                3 => {
                    let keep = u.int_in_range(0..=sections[s].len())?;
                    sections[s].truncate(keep);
                }
                4 => sections.truncate(s),
                _ => {
                    let at = u.choose_index(sections[s].len())?;
                    sections[s][at] ^= u.int_in_range(1..=255)?;
                }
            }
        }
        let mut bytes = c.preamble.clone();
        for s in &sections {
            bytes.extend_from_slice(s);
        }
        Ok(bytes)
    }

    /// Runs one input.
    pub fn run(u: &mut Unstructured) -> Result<Outcome> {
        let n = u.int_in_range(1..=6)?;
        let k = u.int_in_range(1..=INTERFACES)?;
        let mut inputs = Vec::new();
        for f in 0..n {
            let mut imports = Vec::new();
            let mut exports = Vec::new();
            for i in 0..k {
                match u.int_in_range(0..=3)? {
                    0 => imports.push(i),
                    1 => exports.push(i),
                    _ => {}
                }
            }
            // Mostly one shape per interface; sometimes this input's differs.
            let flipped = if u.ratio(1, 4)? {
                Some(u.int_in_range(0..=k - 1)?)
            } else {
                None
            };
            let world = World {
                imports,
                exports,
                flipped,
                version: *u.choose(VERSIONS)?,
                clock: u.arbitrary()?,
            };
            let Some(component) = pooled(&world) else {
                return Err(arbitrary::Error::IncorrectFormat);
            };
            let bytes = mutated(u, &component)?;
            inputs.push(component_linker::Input::new(format!("f{f}"), bytes));
        }
        let mut plan = component_linker::Plan::default();
        for f in 0..n {
            if u.ratio(1, 3)? {
                plan.entries.push(format!("f{f}"));
            }
        }
        for _ in 0..u.int_in_range(0..=2)? {
            let importer = if u.arbitrary()? {
                Some(format!("f{}", u.int_in_range(0..=n)?))
            } else {
                None
            };
            let import = format!("test:api/api{}", u.int_in_range(0..=k)?);
            let exporter = format!("f{}", u.int_in_range(0..=n)?);
            plan.choices
                .push(component_linker::Choice::new(importer, import, exporter));
        }
        match component_linker::link(&inputs, &plan) {
            Ok(linked) => {
                let valid =
                    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                        .validate_all(&linked.component);
                if let Err(e) = valid {
                    panic!("linked output does not validate: {e}");
                }
                Ok(Outcome::Linked)
            }
            Err(err) => {
                let debug = format!("{err:?}");
                let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
                Ok(Outcome::Refused(variant.to_owned()))
            }
        }
    }

    /// Arbitrary bytes as components: always refused, never a panic.
    pub fn run_bytes(u: &mut Unstructured) -> Result<bool> {
        let n = u.int_in_range(1..=3)?;
        let mut inputs = Vec::new();
        for i in 0..n {
            let bytes: Vec<u8> = u.arbitrary()?;
            inputs.push(component_linker::Input::new(format!("f{i}"), bytes));
        }
        let mut plan = component_linker::Plan::default();
        plan.entries = vec!["f0".into()];
        Ok(component_linker::link(&inputs, &plan).is_ok())
    }
}

/// The strict request codec of generated hosts
/// ([`cofaas_host::StrictProstCodec`]) on the request of every public
/// method of the typeshow example, through tonic's own request framing:
/// any bytes decode (`Ok`) or are `INVALID_ARGUMENT`, never a panic and
/// never another code.
pub mod codec_target {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tonic::codec::Codec;

    /// The typeshow app's messages, generated by prost-build (as host-gen
    /// generates them for the host).
    #[allow(missing_docs, clippy::all)]
    pub mod proto {
        /// Package `shop`.
        pub mod shop {
            include!(concat!(env!("OUT_DIR"), "/shop.rs"));
        }
    }

    /// A public method: its gRPC path and its request's strict decoder.
    #[derive(Debug, Clone, Copy)]
    pub struct Method {
        /// `/package.Service/Method`.
        pub path: &'static str,
        /// Decodes one request message, as the generated server does.
        pub decode: fn(&[u8]) -> std::result::Result<(), tonic::Status>,
    }

    include!(concat!(env!("OUT_DIR"), "/methods.rs"));

    /// `bytes` as the one message of a gRPC request body, decoded by
    /// [`cofaas_host::StrictProstCodec`]'s decoder through tonic's
    /// [`tonic::codec::Streaming`], as a generated server decodes it.
    pub fn decode<U: prost::Message + Default + Send + 'static>(
        bytes: &[u8],
    ) -> std::result::Result<(), tonic::Status> {
        use bytes::BufMut;
        let mut frame = bytes::BytesMut::with_capacity(5 + bytes.len());
        frame.put_u8(0);
        frame.put_u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        frame.put_slice(bytes);
        let body = http_body_util::Full::new(frame.freeze());
        let mut codec = cofaas_host::StrictProstCodec::<(), U>::default();
        let mut stream = tonic::codec::Streaming::new_request(codec.decoder(), body, None, None);
        let message = std::pin::pin!(stream.message());
        match message.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => result.map(|_| ()),
            Poll::Pending => panic!("a request body held in memory is never pending"),
        }
    }

    /// What one input did.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Outcome {
        /// The bytes decoded as the request.
        Decoded,
        /// `INVALID_ARGUMENT`.
        Refused,
    }

    /// Runs one input: a method, then the request's bytes.
    pub fn run(u: &mut Unstructured) -> Result<Outcome> {
        let method = u.choose(METHODS)?;
        let bytes = u.bytes(u.len())?;
        match (method.decode)(bytes) {
            Ok(()) => Ok(Outcome::Decoded),
            Err(status) if status.code() == tonic::Code::InvalidArgument => Ok(Outcome::Refused),
            Err(status) => panic!("{}: {status:?}", method.path),
        }
    }
}

/// `deployment.json` ([`cofaas_host::Deployment::from_json`]) on JSON
/// assembled from the format's own fields, sometimes damaged, and on
/// arbitrary text: an `Ok` or an error message, never a panic; whatever
/// loads writes back to JSON that loads the same.
pub mod deployment_target {
    use super::*;
    use serde_json::{Value, json};

    /// What one input did.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Outcome {
        /// Loaded (and round-tripped).
        Loaded,
        /// Refused with a message.
        Refused,
    }

    const NAMES: &[&str] = &["a", "b", "a+b", "", "ünï", "a/b"];

    fn name(u: &mut Unstructured) -> Result<Value> {
        Ok(if u.ratio(1, 8)? {
            json!(u.arbitrary::<String>()?)
        } else {
            json!(*u.choose(NAMES)?)
        })
    }

    /// A JSON value of the wrong kind, for any field.
    fn wrong(u: &mut Unstructured) -> Result<Value> {
        Ok(match u.int_in_range(0..=4)? {
            0 => Value::Null,
            1 => json!(u.arbitrary::<i64>()?),
            2 => json!(u.arbitrary::<bool>()?),
            3 => json!([]),
            _ => json!({}),
        })
    }

    fn function(u: &mut Unstructured) -> Result<Value> {
        let mut f = json!({
            "name": name(u)?,
            "crate_name": name(u)?,
            "lifecycle": "x:y/a-lifecycle",
        });
        if u.arbitrary()? {
            f["exports"] = json!(["x:y/a", "x:y/b"]);
        }
        Ok(f)
    }

    fn unit(u: &mut Unstructured) -> Result<Value> {
        let mut functions = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            functions.push(function(u)?);
        }
        let mut unit = json!({
            "name": name(u)?,
            "component": *u.choose(&["units/a.wasm", "", "/abs.wasm", "../up.wasm"])?,
            "stateless": u.arbitrary::<bool>()?,
            "functions": functions,
        });
        if u.arbitrary()? {
            unit["capabilities"] = json!({
                "dirs": [{ "host": "/tmp", "guest": "/data", "writable": u.arbitrary::<bool>()? }],
                "network": u.arbitrary::<bool>()?,
                "env": { "MODE": "fast" },
            });
        }
        Ok(unit)
    }

    /// Damages `v`: a field of the wrong kind, an unknown field or a field
    /// removed, somewhere in it.
    fn damage(u: &mut Unstructured, v: &mut Value) -> Result<()> {
        match v {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(u.choose_index(map.len())?).cloned();
                let Some(key) = key else { return Ok(()) };
                match u.int_in_range(0..=3)? {
                    0 => {
                        map.remove(&key);
                    }
                    1 => {
                        map.insert("unknown".into(), json!(1));
                    }
                    2 => {
                        map.insert(key, wrong(u)?);
                    }
                    _ => {
                        if let Some(inner) = map.get_mut(&key) {
                            damage(u, inner)?;
                        }
                    }
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let at = u.choose_index(items.len())?;
                damage(u, &mut items[at])?;
            }
            _ => *v = wrong(u)?,
        }
        Ok(())
    }

    /// The text an input stands for.
    pub fn text(u: &mut Unstructured) -> Result<String> {
        if u.ratio(1, 8)? {
            return u.arbitrary();
        }
        let mut units = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            units.push(unit(u)?);
        }
        let mut doc = json!({ "app": name(u)?, "units": units });
        for _ in 0..u.int_in_range(0..=2)? {
            damage(u, &mut doc)?;
        }
        let mut text = if u.arbitrary()? {
            serde_json::to_string_pretty(&doc)
        } else {
            serde_json::to_string(&doc)
        }
        .unwrap_or_default();
        if u.ratio(1, 8)? && !text.is_empty() {
            let cut = u.int_in_range(0..=text.len())?;
            let cut = (0..=cut)
                .rev()
                .find(|c| text.is_char_boundary(*c))
                .unwrap_or(0);
            text.truncate(cut);
        }
        Ok(text)
    }

    /// Runs one input.
    pub fn run(u: &mut Unstructured) -> Result<Outcome> {
        let text = text(u)?;
        match cofaas_host::Deployment::from_json(&text) {
            Ok(deployment) => {
                let json = serde_json::to_string(&deployment).expect("a deployment serialises");
                let again = cofaas_host::Deployment::from_json(&json);
                assert_eq!(again.as_ref(), Ok(&deployment), "{json}");
                Ok(Outcome::Loaded)
            }
            Err(message) => {
                assert!(!message.is_empty(), "an empty message for {text:?}");
                Ok(Outcome::Refused)
            }
        }
    }
}

/// Cargo manifest rewriting on arbitrary TOML-ish text.
pub mod manifest_target {
    use super::*;

    /// Runs one input.
    pub fn run(u: &mut Unstructured) -> Result<()> {
        let text: String = u.arbitrary()?;
        let stubs = stubs::RustStubs::at(std::path::Path::new("/stubs"));
        let role = if u.arbitrary()? {
            stubs::Role::Function {
                lib_path: "src/x.rs".into(),
            }
        } else {
            stubs::Role::WorkspaceRoot
        };
        let _ = stubs::rewrite_manifest(&text, &role, &stubs);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Every input kept under `regressions/<target>/` (the crashes the
    /// campaigns found), by file name.
    fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("regressions")
            .join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .map(|e| {
                        let path = e.unwrap().path();
                        let name = path.file_name().unwrap().to_string_lossy().into_owned();
                        (name, std::fs::read(&path).unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default();
        inputs.sort();
        inputs
    }

    /// The crash inputs the campaigns found run without a panic, and each
    /// still reaches what it crashed in.
    #[test]
    fn regressions_do_not_crash() {
        let proto = regressions("proto2wit");
        let names: Vec<_> = proto.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"crash-31f4196e1e94f20f049dd972aed82142638b4cb9"),
            "{names:?}"
        );
        for (name, data) in &proto {
            let outcome = proto2wit_target::run(&mut Unstructured::new(data));
            assert!(outcome.is_ok(), "{name}: {outcome:?}");
        }
        // The first crash: `03449` in the text, an invalid octal literal.
        let crash = &proto[names
            .iter()
            .position(|n| n.starts_with("crash-31f4"))
            .unwrap()]
        .1;
        let text = proto2wit_target::text(&mut Unstructured::new(crash)).unwrap();
        let err = proto2wit::compile_sources(&[("f.proto", &text)]).unwrap_err();
        assert!(
            err.to_string()
                .contains("`03449` is not a valid octal number"),
            "{err}"
        );
        for (_, data) in regressions("component_linker") {
            // Not a panic (running out of data is fine).
            let _ = linker_target::run(&mut Unstructured::new(&data));
        }
        for (_, data) in regressions("component_linker_bytes") {
            // Not a panic (running out of data is fine).
            let _ = linker_target::run_bytes(&mut Unstructured::new(&data));
        }
        let manifests = regressions("manifest");
        assert!(
            manifests
                .iter()
                .any(|(n, _)| n == "crash-9342b1326b372cd7531ff3fc457ea15e92c17bc9")
        );
        for (name, data) in manifests {
            manifest_target::run(&mut Unstructured::new(&data)).unwrap();
            // The second crash: invalid TOML on which toml_edit panicked is
            // refused, with the `toml` parser's message.
            let text: String = Unstructured::new(&data).arbitrary().unwrap();
            let stubs = stubs::RustStubs::at(std::path::Path::new("/stubs"));
            let err = stubs::rewrite_manifest(&text, &stubs::Role::WorkspaceRoot, &stubs)
                .expect_err(&name);
            assert!(
                matches!(err, stubs::Error::TomlSyntax { .. }),
                "{name}: {text:?}: {err}"
            );
        }
        for (_, data) in regressions("request_codec") {
            // Not a panic (running out of data is fine).
            let _ = codec_target::run(&mut Unstructured::new(&data));
        }
        for (_, data) in regressions("deployment") {
            // Not a panic (running out of data is fine).
            let _ = deployment_target::run(&mut Unstructured::new(&data));
        }
    }

    /// The codec target covers both public methods of typeshow and reaches
    /// both outcomes; a real request decodes.
    #[test]
    fn codec_target_decodes_or_refuses() {
        use codec_target::{METHODS, Outcome};
        let paths: Vec<_> = METHODS.iter().map(|m| m.path).collect();
        assert_eq!(paths, ["/shop.Gateway/Checkout", "/shop.Gateway/Ping"]);
        let mut outcomes = std::collections::BTreeMap::new();
        for seed in 0..300 {
            let data = seeded(seed + 7000, 1 + (seed as usize % 40));
            if let Ok(o) = codec_target::run(&mut Unstructured::new(&data)) {
                *outcomes.entry(o).or_insert(0) += 1;
            }
        }
        for o in [Outcome::Decoded, Outcome::Refused] {
            assert!(
                outcomes.contains_key(&o),
                "{o:?} never reached: {outcomes:?}"
            );
        }
        use codec_target::proto::shop;
        let order = shop::Order {
            id: "o-1".into(),
            lines: vec![shop::order::Line {
                sku: "s".into(),
                quantity: 3,
                ..Default::default()
            }],
            blob: vec![0, 255],
            ..Default::default()
        };
        let bytes = prost::Message::encode_to_vec(&order);
        let decoded = (METHODS[0].decode)(&bytes);
        assert!(decoded.is_ok(), "{decoded:?}");
        // A string field holding invalid UTF-8 is the client's fault.
        let status = (METHODS[0].decode)(&[0x0a, 0x01, 0xff]).unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("`Order`"), "{status:?}");
    }

    /// The deployment target loads and refuses, and its generator reaches
    /// both from the format's own fields.
    #[test]
    fn deployment_target_loads_or_refuses() {
        use deployment_target::Outcome;
        let mut outcomes = std::collections::BTreeMap::new();
        for seed in 0..300 {
            let data = seeded(seed + 9000, 200);
            if let Ok(o) = deployment_target::run(&mut Unstructured::new(&data)) {
                *outcomes.entry(o).or_insert(0) += 1;
            }
        }
        for o in [Outcome::Loaded, Outcome::Refused] {
            assert!(
                outcomes.contains_key(&o),
                "{o:?} never reached: {outcomes:?}"
            );
        }
    }

    /// Texts with the real-API fragments (empty messages, wrappers, names
    /// that meet) map or are refused, and never make proto2wit emit WIT
    /// that does not parse (`run` panics on that).
    #[test]
    fn real_api_shapes_never_emit_bad_wit() {
        use proto2wit_target::Outcome;
        let mut mapped_with_empty = 0;
        for seed in 0..1500 {
            let data = seeded(seed + 50_000, 1024);
            let text = proto2wit_target::text(&mut Unstructured::new(&data)).unwrap_or_default();
            let outcome = proto2wit_target::run(&mut Unstructured::new(&data));
            if outcome == Ok(Outcome::Mapped) && text.contains("message Z0 {}") {
                mapped_with_empty += 1;
            }
        }
        assert!(mapped_with_empty > 0, "no text with empty messages mapped");
    }

    #[test]
    fn smoke() {
        use proto2wit_target::Outcome;
        let mut outcomes = std::collections::BTreeMap::new();
        for seed in 0..256 {
            let data = seeded(seed, 512);
            if let Ok(o) = proto2wit_target::run(&mut Unstructured::new(&data)) {
                *outcomes.entry(format!("{o:?}")).or_insert(0) += 1;
            }
            // Random bytes are never a component: every one must be refused.
            assert_eq!(
                linker_target::run_bytes(&mut Unstructured::new(&data)),
                Ok(false)
            );
            manifest_target::run(&mut Unstructured::new(&data)).unwrap();
        }
        // Generated apps: linked ones validate (checked inside `run`), and
        // the generator reaches success and the main refusals.
        let mut linked = std::collections::BTreeMap::new();
        for seed in 0..600 {
            let data = seeded(seed + 1000, 256);
            if let Ok(o) = linker_target::run(&mut Unstructured::new(&data)) {
                let key = match o {
                    linker_target::Outcome::Linked => "Linked".to_string(),
                    linker_target::Outcome::Refused(v) => v,
                };
                *linked.entry(key).or_insert(0) += 1;
            }
        }
        for expected in [
            "Linked",
            "Cycle",
            "AmbiguousExport",
            "TypeMismatch",
            "InvalidComponent",
        ] {
            assert!(
                linked.contains_key(expected),
                "{expected} never reached: {linked:?}"
            );
        }
        // The generator reaches every path: parse errors, refusals, mappings.
        for o in [Outcome::NotProto, Outcome::Refused, Outcome::Mapped] {
            assert!(
                outcomes.contains_key(&format!("{o:?}")),
                "{o:?} never reached: {outcomes:?}"
            );
        }
    }
}
