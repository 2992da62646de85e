//! The real-world corpus (`tests/corpus/`, a copy of the project's shared
//! corpus; see its `SOURCES.md`): every file maps with the default options,
//! streaming rpcs included, and with `skip_streaming` too, pinned in the
//! snapshot. Each file is compiled on its own, with its folder (and, for
//! etcd, gogo-protobuf and googleapis) as include roots, so packages that
//! clash across folders never meet.

use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[path = "support/corpus_files.rs"]
mod corpus_files;

#[test]
fn corpus_maps_or_is_refused_clearly() {
    let (mut mapped, mut total) = (0, 0);
    let mut report = String::new();
    for corpus_files::CorpusFile {
        name,
        file,
        includes,
    } in corpus_files::corpus_files(&corpus())
    {
        total += 1;
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
                let streaming: Vec<String> = out
                    .map
                    .services
                    .values()
                    .flat_map(|s| {
                        s.methods.iter().filter(|m| !m.is_unary()).map(move |m| {
                            format!("{}.{} ({:?})", s.proto_name, m.proto_name, m.streaming)
                        })
                    })
                    .collect();
                if !streaming.is_empty() {
                    let mut skip = proto2wit::Options::default();
                    skip.skip_streaming = true;
                    let skipped = proto2wit::generate(&fds, None, &skip)
                        .unwrap_or_else(|e| panic!("{name}: with skip_streaming: {e}"));
                    assert_eq!(skipped.warnings.len(), streaming.len(), "{name}");
                }
                report.push_str(&format!(
                    "ok       {name}: {} interfaces, {} records, {} resources{}\n",
                    out.wit.matches("\ninterface ").count(),
                    out.wit.matches("record ").count(),
                    out.wit.matches("resource ").count(),
                    if streaming.is_empty() {
                        String::new()
                    } else {
                        format!("; streaming: {}", streaming.join(", "))
                    }
                ));
            }
            Err(e) => {
                // Nothing the default options refuse occurs in real APIs:
                // streaming rpcs map too.
                report.push_str(&format!("refused  {name}: {e}\n"));
            }
        }
    }
    println!("{mapped} of {total} files map");
    report.push_str(&format!("{mapped} of {total} files map\n"));
    insta::assert_snapshot!(report);
    assert_eq!(mapped, total, "{report}");
}
