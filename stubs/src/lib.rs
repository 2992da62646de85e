//! Stub libraries that make a function's own `main` register its services
//! instead of opening sockets, and the Cargo manifest rewriting that links a
//! (copied) function crate against them.
//!
//! For Rust, three crates are written out ([`write_rust_stubs`]):
//! * `tonic`: `Request`, `Response`, `Status`, `IntoRequest`, and a
//!   `transport` whose `Server::builder().add_service(..).serve(..)`
//!   registers the services with the component's WIT exports and returns,
//!   and whose `Channel`/`Endpoint` connect nowhere: generated clients call
//!   WIT imports;
//! * `tokio`: real tokio with the features that build for wasm, whose
//!   `#[tokio::main]` runs on a current-thread runtime;
//! * `tonic-prost`: nothing is needed from it; it stays a valid dependency;
//! * `tonic-prost-build` (also standing in for `tonic-build`): the build
//!   dependency that, where tonic's generator would have run, puts the code
//!   grpc-shim-gen generated into `OUT_DIR`.
//!
//! [`rewrite_manifest`] rewrites a copy of a function's `Cargo.toml` (or its
//! workspace's) to use them: stubbed dependencies become path dependencies, the
//! binary becomes a `cdylib` rooted at the generated component root, and
//! `wit-bindgen` is added. The user's files are never touched: callers pass
//! the text of a copy.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("stubs-doc-{}", std::process::id()));
//! let stubs = stubs::write_rust_stubs(&dir).unwrap();
//! let manifest = r#"
//! [package]
//! name = "consumer"
//! version = "0.1.0"
//! [dependencies]
//! tonic = "0.14"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! "#;
//! let role = stubs::Role::Function { lib_path: "src/__cofaas_lib.rs".into() };
//! let rewritten = stubs::rewrite_manifest(manifest, &role, &stubs).unwrap();
//! assert!(rewritten.contains("cofaas-stub-tonic"));
//! assert!(rewritten.contains("cofaas-stub-tokio"));
//! ```
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value, value};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Writing a stub crate failed.
    #[error("writing stub crate to {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A manifest is not valid TOML.
    #[error("Cargo manifest does not parse: {source}")]
    Toml {
        /// The parser's error (carries line and column).
        #[source]
        source: toml_edit::TomlError,
    },
    /// A manifest has a shape the transformation cannot handle.
    #[error("Cargo manifest: {message}")]
    Unsupported {
        /// What and why.
        message: String,
    },
}

/// Where the Rust stub crates were written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RustStubs {
    /// The `tonic` stub.
    pub tonic: PathBuf,
    /// The `tonic-prost` stub.
    pub tonic_prost: PathBuf,
    /// The `tonic-prost-build` / `tonic-build` stub.
    pub tonic_build: PathBuf,
    /// The `tokio` facade (real tokio, current-thread `#[tokio::main]`).
    pub tokio: PathBuf,
}

struct Template {
    dir: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const TEMPLATES: &[Template] = &[
    Template {
        dir: "tonic",
        files: &[
            (
                "Cargo.toml",
                include_str!("../templates/tonic/Cargo.toml.in"),
            ),
            ("src/lib.rs", include_str!("../templates/tonic/src/lib.rs")),
        ],
    },
    Template {
        dir: "tokio",
        files: &[
            (
                "Cargo.toml",
                include_str!("../templates/tokio/Cargo.toml.in"),
            ),
            ("src/lib.rs", include_str!("../templates/tokio/src/lib.rs")),
        ],
    },
    Template {
        dir: "tokio-macros",
        files: &[
            (
                "Cargo.toml",
                include_str!("../templates/tokio-macros/Cargo.toml.in"),
            ),
            (
                "src/lib.rs",
                include_str!("../templates/tokio-macros/src/lib.rs"),
            ),
        ],
    },
    Template {
        dir: "tonic-prost",
        files: &[
            (
                "Cargo.toml",
                include_str!("../templates/tonic-prost/Cargo.toml.in"),
            ),
            (
                "src/lib.rs",
                include_str!("../templates/tonic-prost/src/lib.rs"),
            ),
        ],
    },
    Template {
        dir: "tonic-prost-build",
        files: &[
            (
                "Cargo.toml",
                include_str!("../templates/tonic-prost-build/Cargo.toml.in"),
            ),
            (
                "src/lib.rs",
                include_str!("../templates/tonic-prost-build/src/lib.rs"),
            ),
        ],
    },
];

/// Package names of the stub crates, as they appear in rewritten manifests.
pub const STUB_TONIC: &str = "cofaas-stub-tonic";
/// See [`STUB_TONIC`].
pub const STUB_TONIC_PROST: &str = "cofaas-stub-tonic-prost";
/// See [`STUB_TONIC`].
pub const STUB_TONIC_BUILD: &str = "cofaas-stub-tonic-prost-build";
/// See [`STUB_TONIC`].
pub const STUB_TOKIO: &str = "cofaas-stub-tokio";

/// The wit-bindgen requirement added to function crates.
pub const WIT_BINDGEN_VERSION: &str = "0.61.1";

impl RustStubs {
    /// Where [`write_rust_stubs`] puts the stubs under `dir`, without writing them.
    pub fn at(dir: &Path) -> Self {
        RustStubs {
            tonic: dir.join("tonic"),
            tonic_prost: dir.join("tonic-prost"),
            tonic_build: dir.join("tonic-prost-build"),
            tokio: dir.join("tokio"),
        }
    }
}

/// Writes the Rust stub crates under `dir` (one sub-directory each).
pub fn write_rust_stubs(dir: &Path) -> Result<RustStubs, Error> {
    for t in TEMPLATES {
        for (file, text) in t.files {
            let path = dir.join(t.dir).join(file);
            let write = || -> std::io::Result<()> {
                std::fs::create_dir_all(path.parent().expect("template files are in a dir"))?;
                // Only rewrite on change, so cargo's fingerprints stay fresh.
                if std::fs::read_to_string(&path).ok().as_deref() != Some(*text) {
                    std::fs::write(&path, text)?;
                }
                Ok(())
            };
            write().map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        }
    }
    Ok(RustStubs::at(dir))
}

/// What a manifest is, for [`rewrite_manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// A workspace root (its `[workspace.dependencies]` are rewritten) that is
    /// not itself a function.
    WorkspaceRoot,
    /// A function crate: rewritten and turned into a `cdylib` whose root is
    /// `lib_path` (relative to the manifest).
    Function {
        /// The generated component root.
        lib_path: String,
    },
    /// Another crate of the workspace: only its dependencies are rewritten.
    Other,
}

const DEP_TABLES: &[&str] = &["dependencies", "dev-dependencies", "build-dependencies"];

/// Rewrites the text of a copied `Cargo.toml` to link against the stubs.
pub fn rewrite_manifest(text: &str, role: &Role, stubs: &RustStubs) -> Result<String, Error> {
    let mut doc: DocumentMut = text.parse().map_err(|source| Error::Toml { source })?;
    for name in DEP_TABLES {
        if let Some(t) = doc.get_mut(name).and_then(Item::as_table_like_mut) {
            rewrite_deps(t, stubs);
        }
    }
    if let Some(targets) = doc.get_mut("target").and_then(Item::as_table_like_mut) {
        for (_, target) in targets.iter_mut() {
            for name in DEP_TABLES {
                if let Some(t) = target.get_mut(name).and_then(Item::as_table_like_mut) {
                    rewrite_deps(t, stubs);
                }
            }
        }
    }
    if let Some(ws) = doc.get_mut("workspace").and_then(Item::as_table_like_mut)
        && let Some(t) = ws.get_mut("dependencies").and_then(Item::as_table_like_mut)
    {
        rewrite_deps(t, stubs);
    }
    if let Role::Function { lib_path } = role {
        if doc.get("lib").is_some() {
            return Err(Error::Unsupported {
                message: "function crates with a library target are not supported yet: \
                          the function's binary becomes the component's library"
                    .into(),
            });
        }
        let package = doc
            .get_mut("package")
            .and_then(Item::as_table_mut)
            .ok_or_else(|| Error::Unsupported {
                message: "a function's manifest has no [package]".into(),
            })?;
        for key in [
            "autobins",
            "autoexamples",
            "autotests",
            "autobenches",
            "autolib",
        ] {
            package.insert(key, value(false));
        }
        doc.remove("bin");
        doc.remove("example");
        doc.remove("test");
        doc.remove("bench");
        let mut lib = Table::new();
        lib.insert("path", value(lib_path.as_str()));
        let mut types = toml_edit::Array::new();
        types.push("cdylib");
        lib.insert("crate-type", value(types));
        doc.insert("lib", Item::Table(lib));
        let deps = doc
            .entry("dependencies")
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_like_mut()
            .ok_or_else(|| Error::Unsupported {
                message: "[dependencies] is not a table".into(),
            })?;
        let mut wb = InlineTable::new();
        wb.insert("version", WIT_BINDGEN_VERSION.into());
        wb.insert("default-features", false.into());
        let mut features = toml_edit::Array::new();
        features.push("macros");
        features.push("realloc");
        wb.insert("features", Value::Array(features));
        deps.insert("wit-bindgen", Item::Value(Value::InlineTable(wb)));
    }
    Ok(doc.to_string())
}

fn dep_package(key: &str, item: &Item) -> String {
    item.as_table_like()
        .and_then(|t| t.get("package"))
        .and_then(Item::as_str)
        .unwrap_or(key)
        .to_string()
}

fn rewrite_deps(deps: &mut dyn toml_edit::TableLike, stubs: &RustStubs) {
    let keys: Vec<String> = deps.iter().map(|(k, _)| k.to_string()).collect();
    for key in keys {
        let Some(item) = deps.get_mut(&key) else {
            continue;
        };
        let package = dep_package(&key, item);
        let inherited = item
            .as_table_like()
            .and_then(|t| t.get("workspace"))
            .and_then(Item::as_bool)
            == Some(true);
        let stub = match package.as_str() {
            "tonic" => Some((&stubs.tonic, STUB_TONIC)),
            "tonic-prost" => Some((&stubs.tonic_prost, STUB_TONIC_PROST)),
            "tonic-build" | "tonic-prost-build" => Some((&stubs.tonic_build, STUB_TONIC_BUILD)),
            "tokio" => Some((&stubs.tokio, STUB_TOKIO)),
            _ => None,
        };
        if let Some((path, name)) = stub {
            if inherited {
                // The workspace entry is rewritten; only drop features the stub lacks.
                if let Some(t) = item.as_table_like_mut() {
                    t.remove("features");
                }
                continue;
            }
            let optional = item
                .as_table_like()
                .and_then(|t| t.get("optional"))
                .and_then(Item::as_bool);
            let mut t = InlineTable::new();
            t.insert("path", path.display().to_string().into());
            t.insert("package", name.into());
            if let Some(optional) = optional {
                t.insert("optional", optional.into());
            }
            *item = Item::Value(Value::InlineTable(t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stubs() -> RustStubs {
        RustStubs {
            tonic: "/stubs/tonic".into(),
            tonic_prost: "/stubs/tonic-prost".into(),
            tonic_build: "/stubs/tonic-prost-build".into(),
            tokio: "/stubs/tokio".into(),
        }
    }

    #[test]
    fn function_manifest_is_rewritten() {
        let text = r#"[package]
name = "producer"
version.workspace = true
edition.workspace = true

[[bin]]
name = "producer"
path = "src/main.rs"

[dependencies]
tonic.workspace = true
tonic-prost = { workspace = true, features = ["x"] }
prost.workspace = true
tokio = { workspace = true, features = ["signal", "time"] }

[build-dependencies]
tonic-prost-build.workspace = true
protox.workspace = true
"#;
        let role = Role::Function {
            lib_path: "src/__cofaas_lib.rs".into(),
        };
        insta::assert_snapshot!(rewrite_manifest(text, &role, &stubs()).unwrap());
    }

    #[test]
    fn workspace_manifest_is_rewritten() {
        let text = r#"[workspace]
members = ["producer", "consumer"]

[workspace.dependencies]
tonic = { version = "0.14.2", features = ["tls-ring"] }
tonic-prost = "0.14.2"
prost = "0.14.1"
tokio = { version = "1.47", features = ["macros", "rt-multi-thread"] }
tonic-prost-build = "0.14.2"
grpc = { package = "tonic", version = "0.14", optional = true }
"#;
        insta::assert_snapshot!(rewrite_manifest(text, &Role::WorkspaceRoot, &stubs()).unwrap());
    }

    #[test]
    fn a_library_target_is_refused() {
        let text = "[package]\nname = \"f\"\n[lib]\npath = \"src/lib.rs\"\n";
        let role = Role::Function {
            lib_path: "x.rs".into(),
        };
        let err = rewrite_manifest(text, &role, &stubs()).unwrap_err();
        assert!(err.to_string().contains("library target"), "{err}");
    }

    #[test]
    fn bad_toml_names_line_and_column() {
        let err = rewrite_manifest("[package\n", &Role::Other, &stubs()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
