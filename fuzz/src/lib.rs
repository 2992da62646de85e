//! Fuzz logic for the cofaas stages that read outside input. Each target is
//! a `run(&mut Unstructured)` here; the binaries in `fuzz_targets/` are thin
//! `cargo fuzz` wrappers, and the `smoke` test runs each on seeded inputs
//! under `cargo test`.
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

    /// Runs one input.
    pub fn run(u: &mut Unstructured) -> Result<Outcome> {
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
        let dir = std::env::temp_dir().join(format!("cofaas-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("f.proto"), &text).expect("write");
        let Ok(fds) = proto2wit::compile_protos(&["f.proto"], &[&dir]) else {
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
            Err(_) => Ok(Outcome::Refused),
        }
    }
}

/// component-linker on generated apps: components built from random worlds
/// (random interfaces, some defined differently by importer and exporter,
/// some versioned, WASI imports, sometimes damaged bytes) and a random plan
/// (entries, re-exports, explicit choices). Linking must never panic, and
/// every `Ok` output must validate.
pub mod linker_target {
    use super::*;

    /// What one input did.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Outcome {
        /// Linked; the output validated.
        Linked,
        /// Refused with this [`component_linker::LinkError`] variant.
        Refused(String),
    }

    const VERSIONS: &[Option<&str>] = &[None, Some("1.0.0"), Some("1.1.0"), Some("2.0.0")];

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

    /// A component of a world importing and exporting the given interfaces.
    fn component(
        name: &str,
        imports: &[usize],
        exports: &[usize],
        shapes: &[bool],
        version: Option<&str>,
        clock: bool,
    ) -> Option<Vec<u8>> {
        use wit_component::{
            ComponentEncoder, StringEncoding, dummy_module, embed_component_metadata,
        };
        let at = version.map(|v| format!("@{v}")).unwrap_or_default();
        let mut wit = format!("package test:{name};\nworld {name} {{\n");
        if clock {
            wit.push_str("  import wasi:clocks/monotonic-clock@0.2.3;\n");
        }
        for i in imports {
            wit.push_str(&format!("  import test:api/api{i}{at};\n"));
        }
        for i in exports {
            wit.push_str(&format!("  export test:api/api{i}{at};\n"));
        }
        wit.push_str("}\n");
        wit.push_str(
            "package wasi:clocks@0.2.3 { interface monotonic-clock { now: func() -> u64; } }\n",
        );
        wit.push_str(&format!("package test:api{at} {{\n"));
        for i in imports.iter().chain(exports) {
            wit.push_str(&interface(*i, shapes[*i]));
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

    /// Runs one input.
    pub fn run(u: &mut Unstructured) -> Result<Outcome> {
        let n = u.int_in_range(1..=6)?;
        let k = u.int_in_range(1..=6)?;
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
            let shapes: Vec<bool> = (0..k)
                .map(|i| {
                    Ok(if u.ratio(1, 8)? {
                        i % 2 == 1
                    } else {
                        i % 2 == 0
                    })
                })
                .collect::<Result<_>>()?;
            let version = *u.choose(VERSIONS)?;
            let clock = u.arbitrary()?;
            let name = format!("f{f}");
            let Some(mut bytes) = component(&name, &imports, &exports, &shapes, version, clock)
            else {
                return Err(arbitrary::Error::IncorrectFormat);
            };
            if u.ratio(1, 16)? && !bytes.is_empty() {
                let at = u.choose_index(bytes.len())?;
                bytes[at] ^= u.int_in_range(1..=255)?;
            }
            inputs.push(component_linker::Input::new(name, bytes));
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
        for seed in 0..200 {
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
