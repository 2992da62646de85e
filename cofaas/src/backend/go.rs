//! The Go backend: grpc-go functions, built by mainline Go (≥ 1.25, GC on)
//! as a wasip1 reactor and turned into a component in process.
//!
//! Per function, in the copy of its module:
//! 1. the stand-in modules (`stubs::write_go_stubs`) and the generated
//!    bindings module (`grpc_shim_gen::GoGuest`: wit-bindgen-go's packages
//!    plus the glue) are written, the glue's two files join the `main`
//!    package, and the copied `go.mod` replaces `google.golang.org/grpc`
//!    and wit-bindgen-go's runtime module by the stand-ins
//!    (`stubs::rewrite_go_mod`). The user's files are byte-identical
//!    afterwards: only the copy changes.
//! 2. `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
//!    -ldflags=-checklinkname=0 -mod=mod` builds the core module (Go's
//!    `_initialize` runs package inits; `main` runs later, as the
//!    lifecycle `init`).
//! 3. wit-component embeds the world and, with wasmtime 48's preview1
//!    reactor adapter, encodes the component.
//!
//! Why a `replace` of the whole `google.golang.org/grpc` module rather than
//! rewriting call sites: the user's `*_grpc.pb.go` files use grpc-go's
//! types (`ServiceDesc`, `ClientConnInterface`, the generic stream types)
//! and must compile unchanged, and `replace` is how Go itself swaps a
//! dependency, on a copy, with no source edited at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Backend, Built, Context, Native};
use crate::pipeline::{BuildError, io, run, run_step, write_if_changed};

/// The Go (grpc-go) backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct Go;

/// Where, inside a copied Go module, the generated bindings module goes.
const BINDINGS_DIR: &str = ".cofaas/bindings";

/// The oldest Go that builds wasip1 reactors with `//go:wasmexport`.
const MIN_GO_MINOR: u32 = 25;

impl Backend for Go {
    fn check_toolchain(&self) -> Result<(), BuildError> {
        let out = Command::new(go_command()).arg("version").output().map_err(|e| {
            BuildError::Layout(format!(
                "Go functions need Go ≥ 1.{MIN_GO_MINOR} on PATH (or $GO): `go version` failed: {e}"
            ))
        })?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        match go_minor(&text) {
            Some(minor) if minor >= MIN_GO_MINOR => Ok(()),
            _ => Err(BuildError::Layout(format!(
                "Go functions need Go ≥ 1.{MIN_GO_MINOR} (for //go:wasmexport reactors); `go version` says: {}",
                text.trim()
            ))),
        }
    }

    fn prepare(&self, cx: &Context, functions: &[&str]) -> Result<(), BuildError> {
        let stubs_dir = cx.dir.join("stubs/go");
        let stubs = stubs::write_go_stubs(&stubs_dir).map_err(|source| BuildError::Stubs {
            file: stubs_dir.clone(),
            source,
        })?;
        for fname in functions {
            let user_dir = cx.user_function_dir(fname);
            let user_mod = user_dir.join("go.mod");
            if !user_mod.is_file() {
                return Err(BuildError::Layout(format!(
                    "function `{fname}`: {} has no go.mod (a Go function is a module of its own, with package main at its root)",
                    user_dir.display()
                )));
            }
            let fdir = cx.function_dir(fname);
            let files = grpc_shim_gen::GoGuest::new(cx.map, fname).generate(cx.wit)?;
            let bindings = fdir.join(BINDINGS_DIR);
            for (file, text) in &files.bindings {
                write_if_changed(&bindings.join(file), text.as_bytes())?;
            }
            for (file, text) in &files.main_package {
                write_if_changed(&fdir.join(file), text.as_bytes())?;
            }
            // From the user's go.mod, so preparing twice starts over.
            let text = std::fs::read_to_string(&user_mod).map_err(io(&user_mod))?;
            let rewritten = stubs::rewrite_go_mod(
                &text,
                &stubs,
                &format!("./{BINDINGS_DIR}"),
                grpc_shim_gen::GO_BINDINGS_MODULE,
            )
            .map_err(|source| BuildError::Stubs {
                file: user_mod.clone(),
                source,
            })?;
            write_if_changed(&fdir.join("go.mod"), rewritten.as_bytes())?;
        }
        Ok(())
    }

    fn build(&self, cx: &Context, functions: &[&str]) -> Result<Vec<Built>, BuildError> {
        let core_dir = cx.dir.join("go");
        std::fs::create_dir_all(&core_dir).map_err(io(&core_dir))?;
        let adapter =
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
        let mut resolve = wit_parser::Resolve::default();
        let package = resolve
            .push_str("app.wit", cx.wit)
            .map_err(|e| BuildError::Layout(format!("the app's WIT does not parse: {e:#}")))?;
        let mut built = Vec::new();
        for fname in functions {
            let fdir = cx.function_dir(fname);
            let core = core_dir.join(format!("{fname}.core.wasm"));
            let mut cmd = Command::new(go_command());
            cmd.current_dir(&fdir)
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                .env("CGO_ENABLED", "0")
                .args([
                    "build",
                    "-buildmode=c-shared",
                    "-ldflags=-checklinkname=0",
                    "-mod=mod",
                    "-o",
                ])
                .arg(&core)
                .arg(".");
            run_step(
                cx.opts,
                &format!("compiling Go function `{fname}` (wasip1 reactor)"),
                &BTreeMap::new(),
                &mut cmd,
            )?;
            let module = std::fs::read(&core).map_err(io(&core))?;
            let symbol_name = module_symbol_name(&fdir.join("go.mod"))?;
            // Go's symbols say `main.`, whichever function they are in: the
            // core module's name tells the host where a trap happened.
            let module = name_module(&module, &symbol_name).map_err(|e| {
                BuildError::Layout(format!("function `{fname}`: naming the Go module: {e}"))
            })?;
            let bytes = componentize(&resolve, package, &world_of(cx, fname)?, module, adapter)
                .map_err(|e| {
                    BuildError::Layout(format!(
                        "function `{fname}`: componentizing the Go module: {e:#}"
                    ))
                })?;
            built.push(Built {
                function: fname.to_string(),
                symbol_name,
                bytes,
            });
        }
        Ok(built)
    }

    fn build_native(
        &self,
        native: &Native,
        functions: &[&str],
    ) -> Result<BTreeMap<String, PathBuf>, BuildError> {
        // In the user's module, read-only (`go build` refuses to change
        // go.mod or go.sum), with the real grpc-go.
        let app = &native.manifest.app.name;
        let bin_dir = native.target_dir.join("cofaas-native").join(app);
        let mut bins = BTreeMap::new();
        for f in functions {
            let dir = native.app_dir.join(&native.manifest.functions[*f].path);
            let bin = bin_dir.join(f);
            let mut cmd = Command::new(go_command());
            cmd.current_dir(&dir)
                .env_remove("GOOS")
                .env_remove("GOARCH")
                .args(["build", "-mod=readonly", "-o"])
                .arg(&bin)
                .arg(".");
            run(&mut cmd)?;
            bins.insert(f.to_string(), bin);
        }
        Ok(bins)
    }
}

/// The `go` command: `$GO` if set, else `go` on `PATH`.
fn go_command() -> std::ffi::OsString {
    std::env::var_os("GO").unwrap_or_else(|| "go".into())
}

/// The minor version in `go version` output (`go version go1.26.8 linux/amd64` → 26).
fn go_minor(version: &str) -> Option<u32> {
    let v = version.split_whitespace().find(|w| w.starts_with("go1."))?;
    v.strip_prefix("go1.")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The WIT world of function `name`.
fn world_of(cx: &Context, name: &str) -> Result<String, BuildError> {
    cx.map
        .function_world(name)
        .map(|w| w.name.clone())
        .ok_or_else(|| BuildError::Layout(format!("the map has no world for function `{name}`")))
}

/// The last element of the module path (`example.com/app/middle` →
/// `middle`): the name the core module gets, which the host matches.
fn module_symbol_name(go_mod: &Path) -> Result<String, BuildError> {
    let text = std::fs::read_to_string(go_mod).map_err(io(go_mod))?;
    let path = stubs::go_module_path(&text).ok_or_else(|| {
        BuildError::Layout(format!("{}: no `module` directive", go_mod.display()))
    })?;
    Ok(path.rsplit('/').next().unwrap_or(path).to_string())
}

/// `module` with its name section's module name set to `name` (function
/// names kept; other name subsections dropped).
fn name_module(module: &[u8], name: &str) -> Result<Vec<u8>, wasmparser::BinaryReaderError> {
    use wasm_encoder::{IndirectNameMap, NameMap, NameSection, RawSection, Section};
    let mut out = Vec::with_capacity(module.len() + 64);
    let mut names = NameSection::new();
    names.module(name);
    let mut functions = NameMap::new();
    let mut locals = IndirectNameMap::new();
    let mut others = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let payload = payload?;
        if let wasmparser::Payload::Version { range, .. } = &payload {
            // The preamble: magic and version, as the module has them.
            out.extend_from_slice(&module[range.clone()]);
            continue;
        }
        if let wasmparser::Payload::CustomSection(c) = &payload
            && c.name() == "name"
        {
            let wasmparser::KnownCustom::Name(reader) = c.as_known() else {
                continue;
            };
            for sub in reader {
                match sub? {
                    wasmparser::Name::Function(map) => {
                        for n in map {
                            let n = n?;
                            functions.append(n.index, n.name);
                        }
                    }
                    wasmparser::Name::Local(map) => {
                        for f in map {
                            let f = f?;
                            let mut m = NameMap::new();
                            for n in f.names {
                                let n = n?;
                                m.append(n.index, n.name);
                            }
                            locals.append(f.index, &m);
                        }
                    }
                    _ => {}
                }
            }
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            others.push((id, range));
        }
    }
    for (id, range) in others {
        RawSection {
            id,
            data: &module[range],
        }
        .append_to(&mut out);
    }
    names.functions(&functions);
    names.locals(&locals);
    names.append_to(&mut out);
    Ok(out)
}

/// Embeds `world` of the app's WIT into the core module and encodes the component
/// with the preview1 reactor adapter.
fn componentize(
    resolve: &wit_parser::Resolve,
    package: wit_parser::PackageId,
    world: &str,
    mut module: Vec<u8>,
    adapter: &[u8],
) -> anyhow::Result<Vec<u8>> {
    let world = resolve.select_world(&[package], Some(world))?;
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter("wasi_snapshot_preview1", adapter)?
        .encode()
}

#[cfg(test)]
mod tests {
    use super::{go_minor, name_module};

    #[test]
    fn a_core_module_gets_its_name_and_keeps_its_function_names() {
        let wat = r#"(module $old (func $f) (func $g (param $x i32)) (export "f" (func $f)))"#;
        let named = name_module(&wat::parse_str(wat).unwrap(), "middle").unwrap();
        let text = wasmprinter::print_bytes(&named).unwrap();
        assert!(text.starts_with("(module $middle"), "{text}");
        assert!(text.contains("(func $f"), "{text}");
        assert!(text.contains("(param $x i32)"), "{text}");
        // Bad bytes are an error, not a panic.
        assert!(name_module(b"\0as", "m").is_err());
        assert!(name_module(b"", "m").is_err());
    }

    #[test]
    fn go_versions() {
        assert_eq!(go_minor("go version go1.26.8 linux/amd64"), Some(26));
        assert_eq!(go_minor("go version go1.25 linux/amd64"), Some(25));
        assert_eq!(go_minor("go version devel +abc"), None);
    }
}
