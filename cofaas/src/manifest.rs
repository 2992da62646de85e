//! `cofaas.toml`: the app description.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The node of every function of an app without `node = ...` lines.
pub const DEFAULT_NODE: &str = "default";

/// A node name: a DNS label (it names Kubernetes objects).
fn valid_node_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

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
    /// A function cofaas does not build: it stays a native gRPC server (in
    /// any language), reached over the network at an address given when
    /// the app runs. It has `exports` (and may have `imports`), no `path`.
    External,
}

/// `[functions.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSection {
    /// Crate directory, relative to the manifest (none for an external
    /// function).
    #[serde(default)]
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
    /// The node the function is placed on. Without any `node`, all
    /// functions share one node; with some, every built function needs one.
    #[serde(default)]
    pub node: Option<String>,
}

impl FunctionSection {
    /// Whether cofaas leaves the function native (`language = "external"`).
    pub fn is_external(&self) -> bool {
        self.language == Language::External
    }
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
        manifest.check_placement().map_err(invalid)?;
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

    /// Checks `language = "external"` functions and `node = ...`
    /// placements; the message names the function.
    fn check_placement(&self) -> Result<(), String> {
        // One function serves a service: a call to it must have one target.
        let mut exporters: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, f) in &self.functions {
            for service in &f.exports {
                if let Some(other) = exporters.insert(service, name) {
                    return Err(format!(
                        "service `{service}` is exported by both `{other}` and `{name}`; one function serves a service"
                    ));
                }
            }
        }
        let placed = self.functions.values().any(|f| f.node.is_some());
        for (name, f) in &self.functions {
            if f.is_external() {
                if !f.path.as_os_str().is_empty() {
                    return Err(format!(
                        "function `{name}` is external (not built by cofaas) and has a `path`; remove it"
                    ));
                }
                if f.exports.is_empty() {
                    return Err(format!(
                        "external function `{name}` needs `exports` (the services it serves)"
                    ));
                }
                if f.node.is_some() {
                    return Err(format!(
                        "external function `{name}` has a `node`; externals run where they are, reached by the address given at run time"
                    ));
                }
                if self.app.entries.contains(name) {
                    return Err(format!(
                        "entry `{name}` is external: the app's public services must be served by a function cofaas builds"
                    ));
                }
                if !f.grants.is_empty() {
                    return Err(format!(
                        "external function `{name}` has grants, which only apply to functions cofaas runs"
                    ));
                }
                continue;
            }
            if f.path.as_os_str().is_empty() {
                return Err(format!("function `{name}` needs a `path`"));
            }
            match &f.node {
                Some(node) if !valid_node_name(node) => {
                    return Err(format!(
                        "function `{name}`: node `{node}` is not a valid name (lowercase letters, digits and `-`, starting with a letter, at most 40 characters)"
                    ));
                }
                None if placed => {
                    return Err(format!(
                        "function `{name}` has no `node`, but others do: place every function, or none"
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The node of every function cofaas builds: its `node`, or
    /// [`DEFAULT_NODE`] when the app is not placed.
    pub fn node_of(&self, function: &str) -> Option<&str> {
        let f = self.functions.get(function)?;
        if f.is_external() {
            return None;
        }
        Some(f.node.as_deref().unwrap_or(DEFAULT_NODE))
    }

    /// Whether some function has a `node`.
    pub fn is_placed(&self) -> bool {
        self.functions.values().any(|f| f.node.is_some())
    }

    /// The nodes, sorted ([`DEFAULT_NODE`] alone for an app not placed).
    pub fn nodes(&self) -> Vec<&str> {
        let mut nodes: Vec<&str> = self
            .functions
            .keys()
            .filter_map(|f| self.node_of(f))
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// The function exporting `service`, if any.
    pub fn exporter(&self, service: &str) -> Option<&str> {
        self.functions
            .iter()
            .find(|(_, f)| f.exports.iter().any(|s| s == service))
            .map(|(name, _)| name.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(functions: &str) -> Manifest {
        toml::from_str(&format!(
            "[app]\nname = \"t\"\nprotos = []\nentries = [\"a\"]\n{functions}"
        ))
        .unwrap()
    }

    #[test]
    fn placement_and_externals_are_checked() {
        let ok = manifest(
            "[functions.a]\npath = \"a\"\nlanguage = \"rust\"\nexports = [\"A\"]\nimports = [\"E\"]\nnode = \"x\"\n\
             [functions.e]\nlanguage = \"external\"\nexports = [\"E\"]\n",
        );
        assert_eq!(ok.check_placement(), Ok(()));
        assert_eq!(ok.nodes(), ["x"]);
        assert_eq!(ok.node_of("e"), None);
        for (functions, expected) in [
            (
                "[functions.a]\npath = \"a\"\nlanguage = \"rust\"\nexports = [\"A\"]\n\
                 [functions.b]\npath = \"b\"\nlanguage = \"rust\"\nexports = [\"A\"]\n",
                "service `A` is exported by both `a` and `b`",
            ),
            (
                "[functions.a]\npath = \"a\"\nlanguage = \"rust\"\nnode = \"x\"\n\
                 [functions.b]\npath = \"b\"\nlanguage = \"rust\"\n",
                "function `b` has no `node`, but others do",
            ),
            (
                "[functions.a]\npath = \"a\"\nlanguage = \"rust\"\nnode = \"X_1\"\n",
                "node `X_1` is not a valid name",
            ),
            (
                "[functions.a]\nlanguage = \"rust\"\n",
                "function `a` needs a `path`",
            ),
            (
                "[functions.a]\npath = \"a\"\nlanguage = \"rust\"\n\
                 [functions.e]\npath = \"e\"\nlanguage = \"external\"\nexports = [\"E\"]\n",
                "function `e` is external (not built by cofaas) and has a `path`",
            ),
            (
                "[functions.a]\nlanguage = \"external\"\nexports = [\"A\"]\n",
                "entry `a` is external",
            ),
            (
                "[functions.a]\npath = \"a\"\nlanguage = \"rust\"\nnode = \"x\"\n\
                 [functions.e]\nlanguage = \"external\"\nexports = [\"E\"]\nnode = \"x\"\n",
                "external function `e` has a `node`",
            ),
        ] {
            let err = manifest(functions).check_placement().unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }
}
