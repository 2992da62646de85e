//! Languages are backends behind one seam.
//!
//! The pipeline's language-specific steps (generate the compatibility
//! layer, supply the stubs, transform the copy, build a component) are the
//! methods of [`Backend`], with one implementation per language: [`Rust`]
//! (tonic, wit-bindgen, `wasm32-wasip2`) and [`Go`] (grpc-go, wit-bindgen-go,
//! mainline Go's wasip1 reactor, componentized in process). The pipeline
//! groups functions by `language` and calls each group's backend; every
//! stage after them (composition, deployment, host) sees only components.
//! This follows wit-bindgen-core's `WorldGenerator`: a trait with default
//! hooks, one generator per language.

mod go;
mod rust;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use go::Go;
pub use rust::{Rust, ensure_wasm_target};

use crate::manifest::{Language, Manifest};
use crate::pipeline::{BuildError, BuildOptions};

/// What a backend gets to work on: the app, its mapping, and where the
/// copy and the outputs are.
#[derive(Debug)]
#[non_exhaustive]
pub struct Context<'a> {
    /// The build options.
    pub opts: &'a BuildOptions,
    /// The user's app directory (only read).
    pub app_dir: &'a Path,
    /// The copy of the app directory that backends transform (`<dir>/src`).
    pub src: &'a Path,
    /// The app's output directory (`<out_root>/<app>`).
    pub dir: &'a Path,
    /// The parsed `cofaas.toml`.
    pub manifest: &'a Manifest,
    /// The WIT package proto2wit emitted.
    pub wit: &'a str,
    /// The name map.
    pub map: &'a proto2wit::Map,
    /// The compiled protos.
    pub fds: &'a prost_types::FileDescriptorSet,
}

impl Context<'_> {
    /// The copy of function `name`'s directory.
    pub fn function_dir(&self, name: &str) -> PathBuf {
        self.src.join(&self.manifest.functions[name].path)
    }

    /// The user's own directory of function `name`.
    pub fn user_function_dir(&self, name: &str) -> PathBuf {
        self.app_dir.join(&self.manifest.functions[name].path)
    }
}

/// One function built into a component.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Built {
    /// The function's name in `cofaas.toml`.
    pub function: String,
    /// The name its code carries in wasm symbols (a Rust crate name, a Go
    /// module's last element), which the host uses to tell which function
    /// trapped inside a composed unit.
    pub symbol_name: String,
    /// The component.
    pub bytes: Vec<u8>,
}

/// A language backend ([`for_language`] finds the one of a `language` in
/// `cofaas.toml`). [`Backend::prepare`], [`Backend::build`] and
/// [`Backend::build_native`] must be written; the other hooks have
/// defaults.
pub trait Backend: std::fmt::Debug + Sync {
    /// Checks (or installs) the toolchain before anything is built. The
    /// default has nothing to check.
    fn check_toolchain(&self) -> Result<(), BuildError> {
        Ok(())
    }

    /// Transforms the copies of `functions` under [`Context::src`]: writes
    /// the stubs and the compatibility layer, rewrites their manifests.
    fn prepare(&self, cx: &Context, functions: &[&str]) -> Result<(), BuildError>;

    /// Builds the prepared `functions` into components.
    fn build(&self, cx: &Context, functions: &[&str]) -> Result<Vec<Built>, BuildError>;

    /// Builds `functions` natively, unchanged, with the real gRPC library
    /// (the baseline cofaas is compared with): each one's binary.
    fn build_native(
        &self,
        native: &Native,
        functions: &[&str],
    ) -> Result<BTreeMap<String, PathBuf>, BuildError>;

    /// How a native function of this language is told, in its
    /// environment, where a peer listens (tonic takes a URL, grpc-go a
    /// target): the default is `host:port`.
    fn peer_address(&self, addr: SocketAddr) -> String {
        addr.to_string()
    }
}

/// What a native build needs.
#[derive(Debug)]
#[non_exhaustive]
pub struct Native<'a> {
    /// The user's app directory.
    pub app_dir: &'a Path,
    /// The parsed `cofaas.toml`.
    pub manifest: &'a Manifest,
    /// Cargo's target dir; native Go binaries go below it too.
    pub target_dir: &'a Path,
    /// Optimised builds.
    pub release: bool,
}

/// A natively built function.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NativeFunction {
    /// Its binary.
    pub program: PathBuf,
    /// Its language.
    pub language: Language,
}

impl NativeFunction {
    /// How this function is told where a peer listens.
    pub fn peer_address(&self, addr: SocketAddr) -> String {
        match for_language(self.language) {
            Some(backend) => backend.peer_address(addr),
            None => format!("http://{addr}"),
        }
    }
}

/// Builds every function of the app in `app_dir` natively, each by its
/// language's backend.
pub fn build_native_all(
    app_dir: &Path,
    target_dir: &Path,
    release: bool,
) -> Result<BTreeMap<String, NativeFunction>, BuildError> {
    let (manifest_path, manifest) = Manifest::load(app_dir)?;
    let app_dir = manifest_path.parent().unwrap_or(Path::new("."));
    let native = Native {
        app_dir,
        manifest: &manifest,
        target_dir,
        release,
    };
    let mut out = BTreeMap::new();
    for (language, functions) in &groups(&manifest) {
        let Some(backend) = for_language(*language) else {
            continue;
        };
        for (name, program) in backend.build_native(&native, functions)? {
            out.insert(
                name,
                NativeFunction {
                    program,
                    language: *language,
                },
            );
        }
    }
    Ok(out)
}

/// The functions of each language cofaas builds, each list sorted
/// (external functions are not built).
fn groups(manifest: &Manifest) -> BTreeMap<Language, Vec<&str>> {
    let mut groups: BTreeMap<Language, Vec<&str>> = BTreeMap::new();
    for (name, f) in &manifest.functions {
        if !f.is_external() {
            groups.entry(f.language).or_default().push(name.as_str());
        }
    }
    groups
}

/// The backend of `language`; `None` for [`Language::External`], which
/// cofaas does not build.
pub fn for_language(language: Language) -> Option<&'static dyn Backend> {
    match language {
        Language::Rust => Some(&Rust),
        Language::Go => Some(&Go),
        Language::External => None,
    }
}

/// Prepares and builds every function of the app, each language by its
/// backend, in a deterministic order (by language, then by name).
pub fn build_all(cx: &Context) -> Result<BTreeMap<String, Built>, BuildError> {
    let mut built = BTreeMap::new();
    for (language, functions) in &groups(cx.manifest) {
        let Some(backend) = for_language(*language) else {
            continue;
        };
        backend.check_toolchain()?;
        backend.prepare(cx, functions)?;
        for b in backend.build(cx, functions)? {
            built.insert(b.function.clone(), b);
        }
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_provides_the_rpc_context_proto2wit_imports() {
        assert_eq!(cofaas_host::RPC_CONTEXT, proto2wit::RPC_CONTEXT);
    }
}
