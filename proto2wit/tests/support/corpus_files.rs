//! The files of the real-world corpus and how each compiles. Shared by
//! proto2wit's corpus test and cofaas's wasm-tools test, which includes
//! this file by path.

use std::path::{Path, PathBuf};

/// One `.proto` of the corpus.
pub struct CorpusFile {
    /// `<folder>/<file>`, for messages.
    pub name: String,
    /// The file, relative to its include root `includes[0]`.
    pub file: PathBuf,
    /// The include roots: its folder (and, for etcd, gogo-protobuf and
    /// googleapis), so packages that clash across folders never meet.
    pub includes: Vec<PathBuf>,
}

/// Every `.proto` under the corpus at `root`, folder by folder, sorted.
pub fn corpus_files(root: &Path) -> Vec<CorpusFile> {
    let mut folders: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut out = Vec::new();
    for folder in folders {
        let includes: Vec<PathBuf> = match folder.as_str() {
            "etcd" => ["etcd", "gogo-protobuf", "googleapis"]
                .iter()
                .map(|f| root.join(f))
                .collect(),
            _ => vec![root.join(&folder)],
        };
        for file in protos(&root.join(&folder)) {
            out.push(CorpusFile {
                name: format!("{folder}/{}", file.display()),
                file,
                includes: includes.clone(),
            });
        }
    }
    out
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
