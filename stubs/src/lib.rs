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
//! For Go, two modules are written out ([`write_go_stubs`]): a stand-in
//! `google.golang.org/grpc` whose `NewServer`/`RegisterService`/`Serve`
//! register the services and return, and whose `ClientConn.Invoke` routes
//! to generated glue that calls WIT imports (plus `codes`, `status` with
//! details, `metadata`, `credentials/insecure`); and a stand-in for
//! wit-bindgen-go's runtime module whose `cabi_realloc` never runs Go's GC
//! (see `templates/go/witpkg`). [`rewrite_go_mod`] points a copied
//! `go.mod` at them.
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
    /// A manifest is not valid TOML, as the `toml` parser found before
    /// toml_edit read it (see [`rewrite_manifest`]).
    #[error("Cargo manifest does not parse: {message}")]
    TomlSyntax {
        /// The `toml` parser's message (with line and column).
        message: String,
    },
    /// A `go.mod` has a shape the transformation cannot handle.
    #[error("go.mod: {message}")]
    GoMod {
        /// What and why.
        message: String,
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

include!(concat!(env!("OUT_DIR"), "/go_templates.rs"));

/// The module cofaas's stand-in for grpc-go replaces.
pub const GO_GRPC_MODULE: &str = "google.golang.org/grpc";
/// The module of wit-bindgen-go's runtime package, which cofaas's own
/// stand-in replaces (its GC never runs inside `cabi_realloc`).
pub const GO_WIT_MODULE: &str = "go.bytecodealliance.org/pkg";

/// Where the Go stand-in modules were written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GoStubs {
    /// The `google.golang.org/grpc` stand-in: `grpc`, `codes`, `status`,
    /// `metadata`, `credentials/insecure`, and `cofaas`, the seam generated
    /// glue registers with.
    pub grpc: PathBuf,
    /// The `go.bytecodealliance.org/pkg` stand-in (`wit/runtime`,
    /// `wit/types`) the wit-bindgen-go bindings import.
    pub wit_runtime: PathBuf,
}

/// Writes the Go stand-in modules under `dir` (`grpc/`, `witpkg/`).
pub fn write_go_stubs(dir: &Path) -> Result<GoStubs, Error> {
    for (file, text) in GO_TEMPLATES {
        write_if_changed(&dir.join(file), text)?;
    }
    Ok(GoStubs::at(dir))
}

/// Rewrites the text of a copied `go.mod` so that the module builds
/// against the stand-ins: `google.golang.org/grpc` and wit-bindgen-go's
/// runtime module are replaced by [`GoStubs`], and the generated bindings
/// module `bindings_module` (at `bindings`, relative to the go.mod or
/// absolute) is required and replaced. Everything the user wrote is kept.
///
/// ```
/// let stubs = stubs::GoStubs::at(std::path::Path::new("/stubs"));
/// let text = "module example.com/f\n\ngo 1.25\n\nrequire google.golang.org/grpc v1.76.0\n";
/// let out = stubs::rewrite_go_mod(text, &stubs, "./.cofaas/bindings", "wit_component").unwrap();
/// assert!(out.starts_with(text));
/// assert!(out.contains("google.golang.org/grpc => /stubs/grpc"));
/// ```
pub fn rewrite_go_mod(
    text: &str,
    stubs: &GoStubs,
    bindings: &str,
    bindings_module: &str,
) -> Result<String, Error> {
    let fail = |message: String| Error::GoMod { message };
    if go_module_path(text).is_none() {
        return Err(fail("no `module` directive".into()));
    }
    let mut in_replace = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("").trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["replace", "("] => in_replace = true,
            [")"] => in_replace = false,
            _ => {}
        }
        let replaced = match words.as_slice() {
            ["replace", path, ..] if *path != "(" => Some(*path),
            [path, ..] if in_replace && *path != "(" => Some(*path),
            _ => None,
        };
        if let Some(path) = replaced
            && [GO_GRPC_MODULE, GO_WIT_MODULE, bindings_module].contains(&path)
        {
            return Err(fail(format!(
                "line {}: the module already replaces `{path}`, which cofaas must replace with its stand-in",
                i + 1
            )));
        }
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "\n// Added by cofaas (this is a copy): build against the stand-ins.\nrequire {bindings_module} v0.0.0\n\nreplace (\n\t{GO_GRPC_MODULE} => {}\n\t{GO_WIT_MODULE} => {}\n\t{bindings_module} => {bindings}\n)\n",
        stubs.grpc.display(),
        stubs.wit_runtime.display(),
    ));
    Ok(out)
}

/// The module path a `go.mod` declares (`module example.com/f`, quoted or
/// not), if it has a `module` directive.
///
/// ```
/// assert_eq!(stubs::go_module_path("// c\nmodule \"example.com/f\" // x\n"), Some("example.com/f"));
/// assert_eq!(stubs::go_module_path("go 1.25\n"), None);
/// ```
pub fn go_module_path(text: &str) -> Option<&str> {
    text.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or("").trim();
        let path = line.strip_prefix("module")?;
        if !path.starts_with([' ', '\t', '"']) {
            return None;
        }
        Some(path.trim().trim_matches('"')).filter(|p| !p.is_empty())
    })
}

impl GoStubs {
    /// Where [`write_go_stubs`] puts the stand-ins under `dir`, without
    /// writing them.
    pub fn at(dir: &Path) -> Self {
        GoStubs {
            grpc: dir.join("grpc"),
            wit_runtime: dir.join("witpkg"),
        }
    }
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), Error> {
    let write = || -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
            std::fs::write(path, text)?;
        }
        Ok(())
    };
    write().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

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
            // Only rewrite on change, so cargo's fingerprints stay fresh.
            write_if_changed(&dir.join(t.dir).join(file), text)?;
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
///
/// The text is checked with the `toml` parser first: toml_edit (0.23.10,
/// and 0.25) panics (`all items have spans`) while recovering from some
/// invalid TOML, such as a line `==` followed by a table header through the
/// key it lost (found by the `manifest` fuzz target,
/// `fuzz/regressions/manifest/`). The `toml` parser keeps a span on every
/// item and rejects such text with a message.
pub fn rewrite_manifest(text: &str, role: &Role, stubs: &RustStubs) -> Result<String, Error> {
    if let Err(e) = toml::from_str::<toml::Table>(text) {
        return Err(Error::TomlSyntax {
            message: e.to_string().trim_end().to_string(),
        });
    }
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
                message: "a function crate's [lib] table is not supported yet (the component \
                          is the crate's library); a library at src/lib.rs without a [lib] \
                          table is"
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

    const GO_MOD: &str = "module example.com/f\n\ngo 1.25.0\n\nrequire (\n\tgoogle.golang.org/grpc v1.79.3 // the real one\n\tgoogle.golang.org/protobuf v1.36.12\n)\n";

    #[test]
    fn go_mod_replaces_grpc_and_keeps_the_users_text() {
        let stubs = GoStubs::at(Path::new("/stubs/go"));
        let out = rewrite_go_mod(GO_MOD, &stubs, "./.cofaas/bindings", "wit_component").unwrap();
        assert_eq!(
            out,
            format!(
                "{GO_MOD}\n// Added by cofaas (this is a copy): build against the stand-ins.\nrequire wit_component v0.0.0\n\nreplace (\n\tgoogle.golang.org/grpc => /stubs/go/grpc\n\tgo.bytecodealliance.org/pkg => /stubs/go/witpkg\n\twit_component => ./.cofaas/bindings\n)\n"
            )
        );
        // Without a final newline too.
        let out = rewrite_go_mod("module m", &stubs, "./b", "wit_component").unwrap();
        assert!(out.starts_with("module m\n\n// Added by cofaas"), "{out}");
    }

    #[test]
    fn go_mod_errors_name_the_problem() {
        let stubs = GoStubs::at(Path::new("/stubs/go"));
        let err = rewrite_go_mod("go 1.25\n", &stubs, "./b", "wit_component").unwrap_err();
        assert_eq!(err.to_string(), "go.mod: no `module` directive");
        for text in [
            "module m\nreplace google.golang.org/grpc => ../grpc\n",
            "module m\nreplace (\n\tx => y\n\tgoogle.golang.org/grpc v1.2.3 => ../grpc\n)\n",
        ] {
            let err = rewrite_go_mod(text, &stubs, "./b", "wit_component").unwrap_err();
            assert!(
                err.to_string()
                    .contains("already replaces `google.golang.org/grpc`"),
                "{err}"
            );
        }
        let err = rewrite_go_mod(
            "module m\n\nreplace (\n\tgoogle.golang.org/grpc => ../grpc\n)\n",
            &stubs,
            "./b",
            "wit_component",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("go.mod: line 4:"), "{err}");
    }

    #[test]
    fn go_stubs_are_written_with_the_modules_they_replace() {
        let dir = std::env::temp_dir().join(format!("stubs-go-{}", std::process::id()));
        let stubs = write_go_stubs(&dir).unwrap();
        let grpc = std::fs::read_to_string(stubs.grpc.join("go.mod")).unwrap();
        assert!(
            grpc.contains(&format!("\nmodule {GO_GRPC_MODULE}\n")),
            "{grpc}"
        );
        let wit = std::fs::read_to_string(stubs.wit_runtime.join("go.mod")).unwrap();
        assert!(
            wit.contains(&format!("\nmodule {GO_WIT_MODULE}\n")),
            "{wit}"
        );
        assert!(stubs.grpc.join("cofaas/cofaas.go").is_file());
        // Tests of the stand-ins stay in the repository.
        assert!(!GO_TEMPLATES.iter().any(|(f, _)| f.ends_with("_test.go")));
        std::fs::remove_dir_all(&dir).unwrap();
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
        assert!(
            err.to_string().contains("[lib] table is not supported"),
            "{err}"
        );
    }

    #[test]
    fn bad_toml_names_line_and_column() {
        let err = rewrite_manifest("[package\n", &Role::Other, &stubs()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
