//! `cofaas.toml`: the app description.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A parsed `cofaas.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The app.
    pub app: AppSection,
    /// The functions, by name.
    pub functions: BTreeMap<String, FunctionSection>,
}

/// `[app]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSection {
    /// App name.
    pub name: String,
    /// .proto files, relative to the manifest.
    pub protos: Vec<PathBuf>,
    /// Include dirs, relative to the manifest.
    #[serde(default)]
    pub includes: Vec<PathBuf>,
    /// Entry functions: their exports are the public interface.
    pub entries: Vec<String>,
    /// Map enums open: numbers no value names survive calls between
    /// functions (proto3 semantics) instead of being `INVALID_ARGUMENT`.
    #[serde(default)]
    pub open_enums: bool,
}

/// A function's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// A tonic function.
    Rust,
    /// A grpc-go function.
    Go,
}

/// `[functions.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSection {
    /// Crate directory, relative to the manifest.
    pub path: PathBuf,
    /// Language.
    pub language: Language,
    /// For a Rust crate with several binaries (`[[bin]]`), the one that is
    /// the function (its `name`). A crate with one binary needs none.
    #[serde(default)]
    pub bin: Option<String>,
    /// Services served.
    #[serde(default)]
    pub exports: Vec<String>,
    /// Services called.
    #[serde(default)]
    pub imports: Vec<String>,
    /// Whether the function keeps no state between calls, so the host may
    /// run many instances of it (a pool). Off by default: a function that
    /// keeps state in memory gets exactly one instance, as its one native
    /// process had.
    #[serde(default)]
    pub stateless: bool,
    /// `[functions.<name>.grants]`: what the function may touch beyond
    /// stdout, stderr, clocks and randomness (`dirs = [{ host, guest,
    /// writable }]`, `network`, `env`). Nothing by default. Directories are
    /// relative to the manifest.
    #[serde(default)]
    pub grants: cofaas_host::Capabilities,
}

/// Errors reading a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid manifest.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's error, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// The manifest is inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Manifest {
    /// Reads `<app_dir>/cofaas.toml` (or the file itself if given one).
    pub fn load(app: &Path) -> Result<(PathBuf, Manifest), ManifestError> {
        let path = if app.extension().is_some_and(|e| e == "toml") && !app.is_dir() {
            app.to_path_buf()
        } else {
            app.join("cofaas.toml")
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|source| ManifestError::Parse {
            path: path.clone(),
            source,
        })?;
        let invalid = |message: String| ManifestError::Invalid {
            path: path.clone(),
            message,
        };
        if manifest.functions.is_empty() {
            return Err(invalid("no [functions.*]".into()));
        }
        for e in &manifest.app.entries {
            if !manifest.functions.contains_key(e) {
                return Err(invalid(format!("entry `{e}` is not a function")));
            }
        }
        for (name, f) in &manifest.functions {
            for service in &f.imports {
                if !manifest
                    .functions
                    .values()
                    .any(|g| g.exports.contains(service))
                {
                    return Err(invalid(format!(
                        "function `{name}` imports `{service}`, which no function exports"
                    )));
                }
            }
        }
        Ok((path, manifest))
    }

    /// The app description proto2wit takes.
    pub fn app(&self) -> proto2wit::App {
        proto2wit::App::new(
            self.app.name.clone(),
            self.functions
                .iter()
                .map(|(name, f)| {
                    proto2wit::Function::new(name.clone(), f.exports.clone(), f.imports.clone())
                })
                .collect(),
            self.app.entries.clone(),
        )
    }
}
