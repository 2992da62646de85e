//! The real-world corpus (`tests/corpus/`, a copy of the project's shared
//! corpus; see its `SOURCES.md`): every file maps with the default options,
//! or is refused for a reason the default options refuse, pinned in the
//! snapshot. Each file is compiled on its own, with its folder (and, for
//! etcd, gogo-protobuf and googleapis) as include roots, so packages that
//! clash across folders never meet.

use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Every `.proto` under `dir`, relative to it, sorted.
fn protos(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "proto") {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn corpus_maps_or_is_refused_clearly() {
    let root = corpus();
    let mut folders: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let (mut mapped, mut total) = (0, 0);
    let mut report = String::new();
    for folder in &folders {
        let includes: Vec<PathBuf> = match folder.as_str() {
            "etcd" => ["etcd", "gogo-protobuf", "googleapis"]
                .iter()
                .map(|f| root.join(f))
                .collect(),
            _ => vec![root.join(folder)],
        };
        for file in protos(&root.join(folder)) {
            total += 1;
            let name = format!("{folder}/{}", file.display());
            let fds = proto2wit::compile_protos(&[&file], &includes)
                .unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
            match proto2wit::generate(&fds, None, &proto2wit::Options::default()) {
                Ok(out) => {
                    mapped += 1;
                    // Written as a package directory, it parses the way
                    // `wasm-tools component wit <dir>` parses it (wit-parser's
                    // `push_dir`); generate checks it too. And it is stable.
                    let dir = std::env::temp_dir()
                        .join(format!("proto2wit-corpus-{}-{total}", std::process::id()));
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(dir.join("package.wit"), &out.wit).unwrap();
                    let mut resolve = wit_parser::Resolve::default();
                    resolve
                        .push_dir(&dir)
                        .unwrap_or_else(|e| panic!("{name}: WIT does not parse: {e:?}"));
                    let _ = std::fs::remove_dir_all(&dir);
                    let again = proto2wit::generate(&fds, None, &Default::default()).unwrap();
                    assert_eq!(out.wit, again.wit, "{name}: not deterministic");
                    report.push_str(&format!(
                        "ok       {name}: {} interfaces, {} records\n",
                        out.wit.matches("\ninterface ").count(),
                        out.wit.matches("record ").count()
                    ));
                }
                Err(e) => {
                    let message = e.to_string();
                    // Only what the default options refuse by design:
                    // streaming rpcs (no component-model streams end to
                    // end yet), which `skip_streaming` skips instead.
                    assert!(
                        message.contains("streaming rpc is not supported"),
                        "{name}: unexpected refusal: {message}"
                    );
                    let mut skip = proto2wit::Options::default();
                    skip.skip_streaming = true;
                    let skipped = proto2wit::generate(&fds, None, &skip)
                        .unwrap_or_else(|e| panic!("{name}: with skip_streaming: {e}"));
                    assert!(!skipped.warnings.is_empty(), "{name}: no warning");
                    report.push_str(&format!("refused  {name}: {message}\n"));
                }
            }
        }
    }
    println!("{mapped} of {total} files map");
    report.push_str(&format!("{mapped} of {total} files map\n"));
    insta::assert_snapshot!(report);
}
