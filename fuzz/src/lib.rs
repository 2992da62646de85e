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

    const FRAGMENTS: &[&str] = &[
        "syntax = \"proto3\";\n",
        "syntax = \"proto2\";\n",
        "package a.b;\n",
        "message M { string s = 1; }\n",
        "message N { repeated M m = 1; optional int32 x = 2; map<string, M> mm = 3; }\n",
        "message R { R r = 1; }\n",
        "message O { oneof o { string a = 1; int32 b = 2; } }\n",
        "enum E { E0 = 0; E1 = 1; }\n",
        "message F { E e = 1; bytes b = 2; fixed64 f = 3; }\n",
        "service S { rpc Do(M) returns (N); }\n",
        "service T { rpc Stream(stream M) returns (M); }\n",
        "service U { rpc Init(M) returns (M); rpc init(M) returns (M); }\n",
        "message Outer { message Inner { string v = 1; } Inner i = 1; }\n",
        "}\n",
        "{\n",
        "message type { string map = 1; }\n",
    ];

    /// Runs one input.
    pub fn run(u: &mut Unstructured) -> Result<()> {
        let mut text = String::new();
        for _ in 0..u.int_in_range(0..=12)? {
            if u.ratio(1, 8)? {
                let raw: String = u.arbitrary()?;
                text.push_str(&raw);
            } else {
                text.push_str(u.choose(FRAGMENTS)?);
            }
        }
        let dir = std::env::temp_dir().join(format!("cofaas-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("f.proto"), &text).expect("write");
        if let Ok(fds) = proto2wit::compile_protos(&["f.proto"], &[&dir]) {
            let mut opts = proto2wit::Options::default();
            opts.skip_streaming = u.arbitrary()?;
            if let Ok(out) = proto2wit::generate(&fds, None, &opts) {
                // Whatever maps must re-parse: generate checks it; the map must round-trip.
                let json = out.map.to_json();
                assert_eq!(proto2wit::Map::from_json(&json).expect("map json"), out.map);
            }
        }
        Ok(())
    }
}

/// component-linker on arbitrary bytes: an error, never a panic or an invalid output.
pub mod linker_target {
    use super::*;

    /// Runs one input.
    pub fn run(u: &mut Unstructured) -> Result<()> {
        let n = u.int_in_range(1..=3)?;
        let mut inputs = Vec::new();
        for i in 0..n {
            let bytes: Vec<u8> = u.arbitrary()?;
            inputs.push(component_linker::Input::new(format!("f{i}"), bytes));
        }
        let mut plan = component_linker::Plan::default();
        plan.entries = vec!["f0".into()];
        if let Ok(linked) = component_linker::link(&inputs, &plan) {
            assert!(!linked.component.is_empty());
        }
        Ok(())
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
        for seed in 0..64 {
            let data = seeded(seed, 512);
            proto2wit_target::run(&mut Unstructured::new(&data)).unwrap();
            linker_target::run(&mut Unstructured::new(&data)).unwrap();
            manifest_target::run(&mut Unstructured::new(&data)).unwrap();
        }
    }
}
