//! The Rust backend: tonic functions, built for `wasm32-wasip2`.
//!
//! The copy's manifests link the stub crates (`stubs::write_rust_stubs`),
//! grpc-shim-gen's `include_proto!` files go to `.cofaas/generated` (the
//! stub `tonic-prost-build` copies them into `OUT_DIR`), and the component
//! root includes the function's own `main.rs` unchanged. All Rust functions
//! build in one cargo invocation over the copied workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Backend, Built, Context, Native};
use crate::pipeline::{BuildError, cargo, io, run, run_step, write_if_changed};

/// The Rust (tonic) backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rust;

impl Backend for Rust {
    fn check_toolchain(&self) -> Result<(), BuildError> {
        ensure_wasm_target()
    }

    fn prepare(&self, cx: &Context, functions: &[&str]) -> Result<(), BuildError> {
        let stubs_dir = cx.dir.join("stubs");
        let stubs = stubs::write_rust_stubs(&stubs_dir).map_err(|source| BuildError::Stubs {
            file: stubs_dir.clone(),
            source,
        })?;
        let rewrite = |path: &Path, role: &stubs::Role| -> Result<(), BuildError> {
            let text = std::fs::read_to_string(path).map_err(io(path))?;
            let new = stubs::rewrite_manifest(&text, role, &stubs).map_err(|source| {
                BuildError::Stubs {
                    file: path.to_path_buf(),
                    source,
                }
            })?;
            write_if_changed(path, new.as_bytes())
        };
        let workspace_manifest = cx.src.join("Cargo.toml");
        let dirs: Vec<PathBuf> = functions.iter().map(|f| cx.function_dir(f)).collect();
        if workspace_manifest.is_file() && !dirs.iter().any(|d| *d == cx.src) {
            rewrite(&workspace_manifest, &stubs::Role::WorkspaceRoot)?;
        } else if !workspace_manifest.is_file() {
            // Functions outside any workspace: give the copy one of its own.
            let members: Vec<String> = functions
                .iter()
                .map(|f| format!("{:?}", cx.manifest.functions[*f].path.display().to_string()))
                .collect();
            write_if_changed(
                &workspace_manifest,
                format!(
                    "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
                    members.join(", ")
                )
                .as_bytes(),
            )?;
        }
        let name = &cx.manifest.app.name;
        for fname in functions {
            let fdir = cx.function_dir(fname);
            let bin = cx.manifest.functions[*fname].bin.as_deref();
            let user_dir = cx.user_function_dir(fname);
            let main_rel = main_file(&user_dir, bin)?;
            // A library beside the binary (`src/lib.rs`, used by the binary
            // by the crate's name) is the component's crate root.
            let library = user_dir.join("src/lib.rs").is_file();
            let main_name = main_rel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let main_dir = main_rel.parent().unwrap_or(Path::new("")).to_path_buf();
            let lib_rel = if library {
                PathBuf::from("src/__cofaas_lib.rs")
            } else {
                main_dir.join("__cofaas_lib.rs")
            };
            rewrite(
                &fdir.join("Cargo.toml"),
                &stubs::Role::Function {
                    lib_path: lib_rel.display().to_string(),
                },
            )?;
            let guest = grpc_shim_gen::RustGuest::new(cx.map, fname);
            let files = guest.generate(cx.fds)?;
            let gen_dir = fdir.join(".cofaas/generated");
            for (file, text) in &files.packages {
                write_if_changed(&gen_dir.join(file), text.as_bytes())?;
            }
            write_if_changed(
                &fdir.join(".cofaas/wit").join(format!("{name}.wit")),
                cx.wit.as_bytes(),
            )?;
            let main_path = fdir.join(&main_rel);
            let main_source = std::fs::read_to_string(&main_path).map_err(io(&main_path))?;
            let root = if library {
                let lib_path = fdir.join("src/lib.rs");
                let lib_source = std::fs::read_to_string(&lib_path).map_err(io(&lib_path))?;
                let crate_name = package_name(&fdir.join("Cargo.toml"))?.replace('-', "_");
                // The binary's path from `src/`, where the root is.
                let main_path = match main_rel.strip_prefix("src") {
                    Ok(p) => p.display().to_string(),
                    Err(_) => format!("../{}", main_rel.display()),
                };
                let root = guest.root_with_library(
                    &main_path,
                    &main_source,
                    grpc_shim_gen::Library {
                        file: "lib.rs",
                        source: &lib_source,
                        crate_name: &crate_name,
                    },
                    ".cofaas/wit",
                )?;
                if let Some(lib) = &root.library {
                    write_if_changed(&fdir.join("src/__cofaas_user_lib.rs"), lib.as_bytes())?;
                }
                root
            } else {
                guest.root(&main_name, &main_source, ".cofaas/wit")?
            };
            write_if_changed(&fdir.join(&lib_rel), root.root.as_bytes())?;
            if let Some(main) = root.main {
                write_if_changed(
                    &fdir.join(&main_dir).join("__cofaas_main.rs"),
                    main.as_bytes(),
                )?;
            }
        }
        Ok(())
    }

    fn build(&self, cx: &Context, functions: &[&str]) -> Result<Vec<Built>, BuildError> {
        let mut packages = BTreeMap::new();
        for f in functions {
            packages.insert(*f, package_name(&cx.function_dir(f).join("Cargo.toml"))?);
        }
        let mut cmd = cargo(&cx.opts.cargo_target_dir);
        cmd.current_dir(cx.src)
            // Only the library the component is: a crate's other binaries
            // (a client, tools) are not rebuilt for wasm.
            .args([
                "build",
                "--lib",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(cx.src.join("Cargo.toml"));
        for p in packages.values() {
            cmd.args(["-p", p]);
        }
        let by_package = packages
            .iter()
            .map(|(f, p)| (p.clone(), f.to_string()))
            .collect();
        run_step(
            cx.opts,
            "building Rust functions for wasm32-wasip2",
            &by_package,
            &mut cmd,
        )
        .map_err(|e| match e {
            // rustc names the copy's files, whose layout is the app's;
            // `__cofaas_main.rs` is the user's main.rs, line for line.
            BuildError::Command {
                command,
                status,
                output,
            } => BuildError::Command {
                command,
                status,
                output: format!(
                    "{}(paths are relative to {})\n",
                    output
                        .replace("__cofaas_main.rs", "main.rs")
                        .replace("__cofaas_user_lib.rs", "lib.rs"),
                    cx.opts.app_dir.display()
                ),
            },
            other => other,
        })?;
        packages
            .into_iter()
            .map(|(function, package)| {
                let crate_name = package.replace('-', "_");
                let built = cx
                    .opts
                    .cargo_target_dir
                    .join("wasm32-wasip2/release")
                    .join(format!("{crate_name}.wasm"));
                Ok(Built {
                    function: function.to_string(),
                    symbol_name: crate_name,
                    bytes: std::fs::read(&built).map_err(io(&built))?,
                })
            })
            .collect()
    }

    fn build_native(
        &self,
        native: &Native,
        functions: &[&str],
    ) -> Result<BTreeMap<String, PathBuf>, BuildError> {
        // The app's own Cargo workspace, unchanged, with real tonic.
        let mut cmd = cargo(native.target_dir);
        cmd.arg("build")
            .arg("--manifest-path")
            .arg(native.app_dir.join("Cargo.toml"));
        let mut bins = BTreeMap::new();
        for f in functions {
            let dir = native.app_dir.join(&native.manifest.functions[*f].path);
            let package = package_name(&dir.join("Cargo.toml"))?;
            let bin = binary_name(&dir, &package, native.manifest.functions[*f].bin.as_deref())?;
            cmd.args(["-p", &package, "--bin", &bin]);
            bins.insert(f.to_string(), bin);
        }
        if native.release {
            cmd.arg("--release");
        }
        run(&mut cmd)?;
        let profile = if native.release { "release" } else { "debug" };
        let dir = native.target_dir.join(profile);
        Ok(bins.into_iter().map(|(f, b)| (f, dir.join(b))).collect())
    }

    fn peer_address(&self, addr: std::net::SocketAddr) -> String {
        Self::url(addr)
    }
}

/// Adds the binaries Cargo discovers by itself to the declared `bins`, as
/// `{name, path}` tables: `src/bin/<name>.rs`, `src/bin/<name>/main.rs`
/// and, once there is any other binary, `src/main.rs` (named after the
/// package). A declared binary of the same name or path wins.
fn add_discovered_bins(crate_dir: &Path, doc: &toml::Table, bins: &mut Vec<toml::Table>) {
    let mut found: Vec<(String, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(crate_dir.join("src/bin")) {
        for entry in entries.flatten() {
            let path = entry.path();
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".rs").filter(|_| path.is_file()) {
                found.push((name.to_string(), format!("src/bin/{file}")));
            } else if path.join("main.rs").is_file() {
                found.push((file.clone(), format!("src/bin/{file}/main.rs")));
            }
        }
    }
    found.sort();
    let package = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str());
    if let Some(package) = package
        && (!found.is_empty() || !bins.is_empty())
        && crate_dir.join("src/main.rs").is_file()
    {
        found.insert(0, (package.to_string(), "src/main.rs".to_string()));
    }
    for (name, path) in found {
        let declared = bins.iter().any(|t| {
            t.get("name").and_then(|n| n.as_str()) == Some(name.as_str())
                || t.get("path").and_then(|p| p.as_str()) == Some(path.as_str())
        });
        if !declared {
            let mut table = toml::Table::new();
            table.insert("name".into(), toml::Value::String(name));
            table.insert("path".into(), toml::Value::String(path));
            bins.push(table);
        }
    }
}

/// The name of a function crate's binary: `bin` (checked to be one of
/// its `[[bin]]`s), else its one `[[bin]]`'s, else the package's.
fn binary_name(crate_dir: &Path, package: &str, bin: Option<&str>) -> Result<String, BuildError> {
    let target = bin_target(crate_dir, bin)?;
    Ok(target
        .and_then(|b| b.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .or_else(|| bin.map(str::to_string))
        .unwrap_or_else(|| package.to_string()))
}

/// The `[[bin]]` table of the function's binary: the one named `bin`, or the
/// crate's only one; `None` for a crate with no `[[bin]]` (its binary is
/// `src/main.rs`).
fn bin_target(crate_dir: &Path, bin: Option<&str>) -> Result<Option<toml::Table>, BuildError> {
    let manifest = crate_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(io(&manifest))?;
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| BuildError::Layout(format!("{}: {e}", manifest.display())))?;
    let mut bins: Vec<toml::Table> = doc
        .get("bin")
        .and_then(|b| b.as_array())
        .map(|b| b.iter().filter_map(|t| t.as_table().cloned()).collect())
        .unwrap_or_default();
    let name_of = |t: &toml::Table| t.get("name").and_then(|n| n.as_str()).map(str::to_string);
    let autobins = doc
        .get("package")
        .and_then(|p| p.get("autobins"))
        .and_then(toml::Value::as_bool)
        .unwrap_or(true);
    if autobins {
        add_discovered_bins(crate_dir, &doc, &mut bins);
    }
    match (bin, bins.as_slice()) {
        (Some(want), _) => match bins.iter().find(|t| name_of(t).as_deref() == Some(want)) {
            Some(t) => Ok(Some(t.clone())),
            // `src/main.rs` is the binary named after the package.
            None if bins.is_empty()
                && package_name(crate_dir.join("Cargo.toml").as_path())? == want =>
            {
                Ok(None)
            }
            None => {
                let names: Vec<String> = bins.iter().filter_map(name_of).collect();
                Err(BuildError::Layout(format!(
                    "{}: no binary `{want}` (its [[bin]] targets: {})",
                    manifest.display(),
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )))
            }
        },
        (None, []) => Ok(None),
        (None, [one]) => Ok(Some(one.clone())),
        (None, _) => {
            let names: Vec<String> = bins.iter().filter_map(name_of).collect();
            Err(BuildError::Layout(format!(
                "{}: several [[bin]] targets ({}); say which is the function with `bin = \"<name>\"` in cofaas.toml",
                manifest.display(),
                names.join(", ")
            )))
        }
    }
}

impl Rust {
    /// The tonic URL of a peer.
    fn url(addr: std::net::SocketAddr) -> String {
        format!("http://{addr}")
    }
}

/// Makes sure the `wasm32-wasip2` target is installed, installing it with
/// rustup if it can.
pub fn ensure_wasm_target() -> Result<(), BuildError> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("wasm32-wasip2") => Ok(()),
        Ok(_) => run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"])).map_err(
            |e| BuildError::Layout(format!(
                "the wasm32-wasip2 target is missing and installing it failed; run `rustup target add wasm32-wasip2`\n{e}"
            )),
        ),
        Err(_) => Err(BuildError::Layout(
            "rustup not found: install the wasm32-wasip2 target for your toolchain (`rustup target add wasm32-wasip2`)".into(),
        )),
    }
}

fn package_name(manifest: &Path) -> Result<String, BuildError> {
    let text = std::fs::read_to_string(manifest).map_err(io(manifest))?;
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| BuildError::Layout(format!("{}: {e}", manifest.display())))?;
    doc.get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .ok_or_else(|| BuildError::Layout(format!("{}: no [package] name", manifest.display())))
}

/// The binary's main file of a function crate (relative to the crate):
/// that of `bin`, or of its one binary.
fn main_file(crate_dir: &Path, bin: Option<&str>) -> Result<PathBuf, BuildError> {
    let target = bin_target(crate_dir, bin)?;
    let path = match &target {
        Some(t) => match t.get("path").and_then(|p| p.as_str()) {
            Some(p) => PathBuf::from(p),
            // Cargo's default for a named binary.
            None => match t.get("name").and_then(|n| n.as_str()) {
                Some(name) if crate_dir.join(format!("src/bin/{name}.rs")).is_file() => {
                    PathBuf::from(format!("src/bin/{name}.rs"))
                }
                _ => PathBuf::from("src/main.rs"),
            },
        },
        None => PathBuf::from("src/main.rs"),
    };
    if crate_dir.join(&path).is_file() {
        Ok(path)
    } else {
        Err(BuildError::Layout(format!(
            "{}: the binary's file {} does not exist",
            crate_dir.display(),
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_at(name: &str, manifest: &str, files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cofaas-bins-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in files {
            let path = dir.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "fn main() {}\n").unwrap();
        }
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        dir
    }

    #[test]
    fn binaries_cargo_discovers_are_found() {
        let dir = crate_at(
            "auto",
            "[package]\nname = \"app\"\n",
            &["src/main.rs", "src/bin/front.rs", "src/bin/back/main.rs"],
        );
        let path_of = |bin| {
            bin_target(&dir, Some(bin))
                .unwrap()
                .and_then(|t| t.get("path").and_then(|p| p.as_str()).map(str::to_string))
        };
        assert_eq!(path_of("front").as_deref(), Some("src/bin/front.rs"));
        assert_eq!(path_of("back").as_deref(), Some("src/bin/back/main.rs"));
        assert_eq!(path_of("app").as_deref(), Some("src/main.rs"));
        let err = bin_target(&dir, None).unwrap_err().to_string();
        assert!(
            err.contains("several [[bin]] targets (app, back, front)"),
            "{err}"
        );
        assert_eq!(
            main_file(&dir, Some("front")).unwrap(),
            PathBuf::from("src/bin/front.rs")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn autobins_off_and_declared_binaries_win() {
        let dir = crate_at(
            "off",
            "[package]\nname = \"app\"\nautobins = false\n",
            &["src/main.rs", "src/bin/front.rs"],
        );
        assert!(
            bin_target(&dir, None).unwrap().is_none(),
            "src/main.rs only"
        );
        assert!(bin_target(&dir, Some("front")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        let dir = crate_at(
            "declared",
            "[package]\nname = \"app\"\n[[bin]]\nname = \"front\"\npath = \"src/front.rs\"\n",
            &["src/front.rs", "src/bin/front.rs"],
        );
        let t = bin_target(&dir, Some("front")).unwrap().unwrap();
        assert_eq!(t.get("path").and_then(|p| p.as_str()), Some("src/front.rs"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
