//! `cofaas build`: every stage, from `cofaas.toml` to a host binary.
//!
//! The user's files are only read. Function crates are built from a copy of
//! the app directory under `<out>/src/`, whose manifests are rewritten to
//! link the stub crates, with the generated shims placed beside them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::manifest::{Manifest, ManifestError};

/// Options of [`build`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuildOptions {
    /// The app directory (holding `cofaas.toml`).
    pub app_dir: PathBuf,
    /// Root of cofaas outputs; artifacts go to `<out_root>/<app>/`.
    pub out_root: PathBuf,
    /// Cargo target dir shared by every build (wasm functions, host).
    pub cargo_target_dir: PathBuf,
    /// Build the host with the release profile.
    pub release_host: bool,
    /// Print progress to stderr.
    pub verbose: bool,
    /// How calls between stateless functions are linked.
    pub link: crate::units::LinkMode,
}

impl BuildOptions {
    /// Defaults: outputs in `./target/cofaas`, cargo's target dir from
    /// `CARGO_TARGET_DIR` or `./target`, release host.
    pub fn new(app_dir: impl Into<PathBuf>) -> Self {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target"));
        let target = std::path::absolute(&target).unwrap_or(target);
        BuildOptions {
            app_dir: app_dir.into(),
            out_root: target.join("cofaas"),
            cargo_target_dir: target,
            release_host: true,
            verbose: true,
            link: crate::units::LinkMode::Auto,
        }
    }
}

/// Where the build put things.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Artifacts {
    /// `<out_root>/<app>/`.
    pub dir: PathBuf,
    /// The WIT package directory.
    pub wit_dir: PathBuf,
    /// `map.json`.
    pub map: PathBuf,
    /// One component per function.
    pub components: BTreeMap<String, PathBuf>,
    /// Each unit's component (one function's, or several stateless
    /// functions composed), by unit name; a precompiled `.cwasm` sits next
    /// to each.
    pub units: BTreeMap<String, PathBuf>,
    /// `deployment.json`, the host's description of the units: every
    /// function cofaas builds on one node.
    pub deployment: PathBuf,
    /// For an app placed on several nodes (`node = ...`), each node's
    /// `nodes/<node>/deployment.json`, by node.
    pub nodes: BTreeMap<String, PathBuf>,
    /// Every call between functions, with the mode chosen for it in the
    /// placed deployment (fused, mediated or remote).
    pub edges: Vec<crate::units::Edge>,
    /// The generated host crate.
    pub host_crate: PathBuf,
    /// The host binary.
    pub host_bin: PathBuf,
    /// How imports were wired, for printing.
    pub wiring: Vec<String>,
}

/// Errors of [`build`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `cofaas.toml` is missing or wrong.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The protos did not map.
    #[error("proto2wit: {0}")]
    Proto2Wit(#[from] proto2wit::Error),
    /// A .proto file did not parse or check: the diagnostic, with the line
    /// it points at.
    #[error("proto2wit: {error}{snippet}")]
    ProtoSource {
        /// The diagnostic (an [`proto2wit::Error::Proto`]).
        error: Box<proto2wit::Error>,
        /// The source line and a caret under the column (empty if the file
        /// could not be read).
        snippet: String,
    },
    /// Shim generation failed.
    #[error("grpc-shim-gen: {0}")]
    Shim(#[from] grpc_shim_gen::Error),
    /// Stub or manifest rewriting failed.
    #[error("{file}: {source}")]
    Stubs {
        /// The manifest being rewritten.
        file: PathBuf,
        /// The error.
        #[source]
        source: stubs::Error,
    },
    /// Composition failed.
    #[error("component-linker: {0}")]
    Link(#[from] component_linker::LinkError),
    /// Host generation failed.
    #[error("host-gen: {0}")]
    Host(#[from] host_gen::Error),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A command failed.
    #[error("`{command}` failed ({status})\n{output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its output: all of it (less cargo's progress lines) for a build
        /// step, the end of it for other commands.
        output: String,
    },
    /// The app's layout is not supported.
    #[error("{0}")]
    Layout(String),
    /// The functions call each other in a cycle.
    #[error("functions call each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// Ahead-of-time compilation failed.
    #[error("precompiling: {0}")]
    Precompile(#[from] cofaas_host::HostError),
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn say(opts: &BuildOptions, msg: impl AsRef<str>) {
    if opts.verbose {
        eprintln!("{}", msg.as_ref());
    }
}

/// Runs a command; on failure returns its last output lines.
pub(crate) fn run(cmd: &mut Command) -> Result<(), BuildError> {
    let out = cmd.output().map_err(|e| BuildError::Command {
        command: format!("{cmd:?}"),
        status: "could not start".into(),
        output: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(60)..].join("\n");
    Err(BuildError::Command {
        command: format!("{cmd:?}"),
        status: out.status.to_string(),
        output: tail,
    })
}

/// Runs a long build step (a cargo or go build) and shows it: on a
/// terminal, a spinner with the step, the crate being compiled and the
/// elapsed time; otherwise plain lines, one as each function starts
/// compiling. `functions` maps the package names of the functions the
/// step compiles to their function names. The command's own output stays
/// hidden unless it fails; then all of it is in the error.
pub(crate) fn run_step(
    opts: &BuildOptions,
    label: &str,
    functions: &BTreeMap<String, String>,
    cmd: &mut Command,
) -> Result<(), BuildError> {
    use std::io::{BufRead, IsTerminal, Read};
    let started = std::time::Instant::now();
    let bar = (opts.verbose && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("  {spinner} [{elapsed}] {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar.set_message(label.to_string());
        bar
    });
    if bar.is_none() {
        say(opts, format!("  {label}..."));
    }
    let command = format!("{cmd:?}");
    let failed = |status: String, output: String| BuildError::Command {
        command: command.clone(),
        status,
        output,
    };
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| failed("could not start".into(), e.to_string()))?;
    // stdout on a thread of its own, so that neither pipe fills up.
    let stdout = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        })
    });
    let mut err_text = String::new();
    let mut seen = 0;
    if let Some(stderr) = child.stderr.take() {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            // cargo: `   Compiling <package> v<version> (<path>)`.
            if let Some(rest) = line.trim_start().strip_prefix("Compiling ") {
                let package = rest.split_whitespace().next().unwrap_or(rest);
                match functions.get(package) {
                    Some(function) => {
                        seen += 1;
                        let msg = format!(
                            "{label}: function `{function}` ({seen}/{})",
                            functions.len()
                        );
                        match &bar {
                            Some(bar) => bar.set_message(msg),
                            None => say(
                                opts,
                                format!(
                                    "  compiling function `{function}` ({seen}/{})",
                                    functions.len()
                                ),
                            ),
                        }
                    }
                    None => {
                        if let Some(bar) = &bar {
                            bar.set_message(format!("{label}: {package}"));
                        }
                    }
                }
            }
            if !is_cargo_status(&line) {
                err_text.push_str(&line);
                err_text.push('\n');
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| failed("could not be waited for".into(), e.to_string()))?;
    let out_text = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if !status.success() {
        return Err(failed(status.to_string(), format!("{out_text}{err_text}")));
    }
    say(
        opts,
        format!("  {label}: done in {:.1?}", started.elapsed()),
    );
    Ok(())
}

/// Whether `line` is one of cargo's progress lines (`   Compiling x v1`),
/// which a failed build's error leaves out: its diagnostics are what count.
fn is_cargo_status(line: &str) -> bool {
    const STATUS: &[&str] = &[
        "Compiling ",
        "Checking ",
        "Downloading ",
        "Downloaded ",
        "Updating ",
        "Locking ",
        "Adding ",
        "Blocking ",
        "Fresh ",
        "Finished ",
        "Building ",
        "Running ",
    ];
    line.starts_with(' ') && STATUS.iter().any(|s| line.trim_start().starts_with(s))
}

/// A `cargo` command with the environment of an outer cargo removed.
pub(crate) fn cargo(target_dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if !passes_to_nested_cargo(&key) {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.env("CARGO_TARGET_DIR", target_dir);
    cmd
}

/// Whether an environment variable reaches the nested cargo. What an outer
/// cargo sets for the crate it builds (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`,
/// `RUSTFLAGS` meant for that build…) must not; the user's own settings for
/// every cargo (home, network, incremental, jobs, terminal) do.
fn passes_to_nested_cargo(key: &str) -> bool {
    const USER_SETTINGS: &[&str] = &[
        "CARGO_HOME",
        "CARGO_INCREMENTAL",
        "CARGO_BUILD_JOBS",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_TERM_",
    ];
    if key == "RUSTFLAGS" {
        return false;
    }
    !key.starts_with("CARGO_")
        || USER_SETTINGS.iter().any(|s| {
            if s.ends_with('_') {
                key.starts_with(s)
            } else {
                key == *s
            }
        })
}

pub use crate::backend::ensure_wasm_target;

/// Copies `from` to `to` recursively, skipping `target/` and hidden entries;
/// files whose bytes are unchanged are not rewritten (cargo fingerprints).
fn copy_tree(from: &Path, to: &Path) -> Result<(), BuildError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .map_err(io(from))?
        .collect::<Result<_, _>>()
        .map_err(io(from))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str == "target" || name_str.starts_with('.') {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let ty = entry.file_type().map_err(io(&src))?;
        if ty.is_dir() {
            copy_tree(&src, &dst)?;
        } else if ty.is_file() {
            write_if_changed(&dst, &std::fs::read(&src).map_err(io(&src))?)?;
        }
    }
    Ok(())
}

pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, bytes).map_err(io(path))
}

/// Builds the app: WIT and map, one component per function (each by its
/// language's [`crate::backend::Backend`]), the units and the host.
pub fn build(opts: &BuildOptions) -> Result<Artifacts, BuildError> {
    let (manifest_path, manifest) = Manifest::load(&opts.app_dir)?;
    let app_dir = std::path::absolute(manifest_path.parent().unwrap_or(Path::new(".")))
        .map_err(io(&opts.app_dir))?;
    let name = manifest.app.name.clone();
    let dir = opts.out_root.join(&name);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;

    let (fds, mapped) = map_protos(opts, &app_dir, &manifest)?;
    let wit_dir = dir.join("wit");
    write_if_changed(&wit_dir.join(format!("{name}.wit")), mapped.wit.as_bytes())?;
    let map_path = dir.join("map.json");
    write_if_changed(&map_path, mapped.map.to_json().as_bytes())?;
    say(opts, format!("  wit        {}", wit_dir.display()));
    say(opts, format!("  map        {}", map_path.display()));

    let src = dir.join("src");
    copy_tree(&app_dir, &src)?;
    let cx = crate::backend::Context {
        opts,
        app_dir: &app_dir,
        src: &src,
        dir: &dir,
        manifest: &manifest,
        wit: &mapped.wit,
        map: &mapped.map,
        fds: &fds,
    };
    let built = crate::backend::build_all(&cx)?;
    let components = write_components(opts, &dir, &built)?;

    let (units, specs, wiring) =
        compose_units(opts, &app_dir, &dir, &manifest, &mapped.map, &built)?;
    let placement = Placement {
        dir: &dir,
        name: &name,
        manifest: &manifest,
        map: &mapped.map,
        specs: &specs,
    };
    let deployment = placement.write(opts, None)?;
    let mut nodes = BTreeMap::new();
    if manifest.is_placed() {
        for node in manifest.nodes() {
            nodes.insert(node.to_string(), placement.write(opts, Some(node))?);
        }
    }
    let plans: Vec<crate::units::UnitPlan> = specs
        .iter()
        .map(|s| crate::units::UnitPlan {
            name: s.name.clone(),
            functions: s.functions.iter().map(|f| f.name.clone()).collect(),
            stateless: s.stateless,
        })
        .collect();
    let edges = crate::units::edges(&manifest, &plans);
    for e in &edges {
        say(
            opts,
            format!(
                "  edge       {} -> {} ({}): {}",
                e.caller, e.callee, e.service, e.mode
            ),
        );
    }
    let (host_crate, host_bin) = build_host(opts, &dir, &name, &wit_dir, &mapped.map, &fds)?;
    say(opts, format!("  host       {}", host_bin.display()));
    Ok(Artifacts {
        dir,
        wit_dir,
        map: map_path,
        components,
        units,
        deployment,
        nodes,
        edges,
        host_crate,
        host_bin,
        wiring,
    })
}

/// proto2wit: the app's protos to WIT and the name map.
fn map_protos(
    opts: &BuildOptions,
    app_dir: &Path,
    manifest: &Manifest,
) -> Result<(prost_types::FileDescriptorSet, proto2wit::Output), BuildError> {
    let protos: Vec<PathBuf> = manifest
        .app
        .protos
        .iter()
        .map(|p| app_dir.join(p))
        .collect();
    let includes: Vec<PathBuf> = manifest
        .app
        .includes
        .iter()
        .map(|p| app_dir.join(p))
        .collect();
    let fds = proto2wit::compile_protos(&protos, &includes).map_err(|error| {
        let snippet = source_snippet(&error, &includes).unwrap_or_default();
        BuildError::ProtoSource {
            error: Box::new(error),
            snippet,
        }
    })?;
    let mut mapping = proto2wit::Options::default();
    mapping.open_enums = manifest.app.open_enums;
    let out = proto2wit::generate(&fds, Some(&manifest.app()), &mapping)?;
    for w in &out.warnings {
        say(opts, format!("warning: {w}"));
    }
    Ok((fds, out))
}

/// The line a located .proto diagnostic points at, as rustc shows one:
///
/// ```text
///   --> proto/demo.proto:25:42
///    |
/// 25 |   Cartt cart = 3;
///    |   ^
/// ```
///
/// The file is looked up under `includes` (then as given). `None` if the
/// error has no location or the line cannot be read.
pub fn source_snippet(error: &proto2wit::Error, includes: &[PathBuf]) -> Option<String> {
    let proto2wit::Error::Proto {
        file, line, column, ..
    } = error
    else {
        return None;
    };
    if *line == 0 {
        return None;
    }
    let path = includes
        .iter()
        .map(|dir| dir.join(file))
        .chain(std::iter::once(PathBuf::from(file)))
        .find(|p| p.is_file())?;
    let text = std::fs::read_to_string(&path).ok()?;
    let source = text.lines().nth(line - 1)?;
    let number = line.to_string();
    let pad = " ".repeat(number.len());
    // Columns count characters; tabs stay tabs so the caret lines up.
    let lead: String = source
        .chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    Some(format!(
        "\n{pad}--> {}:{line}:{column}\n{pad} |\n{number} | {source}\n{pad} | {lead}^",
        path.display()
    ))
}

/// Writes each function's component to `components/<function>.wasm`.
fn write_components(
    opts: &BuildOptions,
    dir: &Path,
    built: &BTreeMap<String, crate::backend::Built>,
) -> Result<BTreeMap<String, PathBuf>, BuildError> {
    let components_dir = dir.join("components");
    let mut components = BTreeMap::new();
    for (fname, b) in built {
        let path = components_dir.join(format!("{fname}.wasm"));
        write_if_changed(&path, &b.bytes)?;
        say(opts, format!("  component  {}", path.display()));
        components.insert(fname.clone(), path);
    }
    Ok(components)
}

/// The units: each group of stateless functions composed, every unit
/// precompiled; with the host's description of each and the wiring chosen.
#[allow(clippy::type_complexity)]
fn compose_units(
    opts: &BuildOptions,
    app_dir: &Path,
    dir: &Path,
    manifest: &Manifest,
    map: &proto2wit::Map,
    built: &BTreeMap<String, crate::backend::Built>,
) -> Result<
    (
        BTreeMap<String, PathBuf>,
        Vec<cofaas_host::UnitSpec>,
        Vec<String>,
    ),
    BuildError,
> {
    if let Some(cycle) = crate::units::find_cycle(&crate::units::call_graph(manifest)) {
        return Err(BuildError::Cycle(cycle));
    }
    let units_dir = dir.join("units");
    let mut units = BTreeMap::new();
    let mut wiring = Vec::new();
    let mut specs = Vec::new();
    let engine = cofaas_host::engine_config(false);
    let plans = crate::units::plan_units(manifest, |s| crate::units::fuses(map, opts.link, s));
    let component = |f: &str| {
        built
            .get(f)
            .ok_or_else(|| BuildError::Layout(format!("no component for `{f}`")))
    };
    for unit in plans {
        let path = units_dir.join(format!("{}.wasm", unit.name));
        let bytes = if let [only] = unit.functions.as_slice() {
            component(only)?.bytes.clone()
        } else {
            let group = unit
                .functions
                .iter()
                .map(|f| {
                    Ok(component_linker::Input {
                        name: f.clone(),
                        bytes: component(f)?.bytes.clone(),
                    })
                })
                .collect::<Result<Vec<_>, BuildError>>()?;
            let mut plan = component_linker::Plan::default();
            // Every member's exports: the public ones, the ones other
            // units call, and every lifecycle.
            plan.entries = unit.functions.clone();
            let linked = component_linker::link(&group, &plan)?;
            for w in &linked.wiring {
                wiring.push(format!("[{}] {w}", unit.name));
            }
            linked.component
        };
        write_if_changed(&path, &bytes)?;
        let cwasm = path.with_extension("cwasm");
        cofaas_host::precompile(&engine, &path, &cwasm)?;
        say(
            opts,
            format!(
                "  unit       {} ({}, {})",
                path.display(),
                unit.functions.join(", "),
                if unit.stateless {
                    "pooled"
                } else {
                    "one instance"
                }
            ),
        );
        let functions = unit
            .functions
            .iter()
            .map(|f| function_spec(manifest, map, built, f))
            .collect();
        let mut spec = cofaas_host::UnitSpec::new(
            unit.name.clone(),
            format!("units/{}.wasm", unit.name),
            unit.stateless,
            functions,
        );
        if let [only] = unit.functions.as_slice() {
            spec.capabilities = capabilities(app_dir, &manifest.functions[only].grants);
        }
        specs.push(spec);
        units.insert(unit.name, path);
    }
    for w in &wiring {
        say(opts, format!("  wire       {w}"));
    }
    Ok((units, specs, wiring))
}

/// What the deployment descriptions are made from.
struct Placement<'a> {
    dir: &'a Path,
    name: &'a str,
    manifest: &'a Manifest,
    map: &'a proto2wit::Map,
    specs: &'a [cofaas_host::UnitSpec],
}

impl Placement<'_> {
    /// Writes the host's description of the units of `node`
    /// (`nodes/<node>/deployment.json`), or of the whole app on one node
    /// (`deployment.json`), with the services it serves and calls remotely.
    fn write(&self, opts: &BuildOptions, node: Option<&str>) -> Result<PathBuf, BuildError> {
        let (path, prefix) = match node {
            Some(node) => (
                self.dir
                    .join("nodes")
                    .join(node)
                    .join(cofaas_host::DEPLOYMENT_FILE),
                "../../",
            ),
            None => (self.dir.join(cofaas_host::DEPLOYMENT_FILE), ""),
        };
        let units: Vec<cofaas_host::UnitSpec> = self
            .specs
            .iter()
            .filter(|u| {
                node.is_none()
                    || u.functions
                        .iter()
                        .all(|f| self.manifest.node_of(&f.name) == node)
            })
            .map(|u| {
                let mut u = u.clone();
                u.component = PathBuf::from(format!("{prefix}{}", u.component.display()));
                u
            })
            .collect();
        let services = crate::units::node_services(self.manifest, node);
        let mut description = cofaas_host::Deployment::new(self.name.to_string(), units);
        description.node = node.map(str::to_string);
        description.serves = services.serves;
        description.remote = services
            .remote
            .into_iter()
            .map(|(service, function, node)| {
                let mapped = self.map.services.get(&service).ok_or_else(|| {
                    BuildError::Layout(format!(
                        "service `{service}` (of function `{function}`, called remotely) is not in the app's protos"
                    ))
                })?;
                let interface = self.map.interface_path(mapped);
                Ok(cofaas_host::RemoteSpec::new(service, interface, function, node))
            })
            .collect::<Result<_, BuildError>>()?;
        let mut text = serde_json::to_string_pretty(&description)
            .map_err(std::io::Error::other)
            .map_err(io(&path))?;
        text.push('\n');
        write_if_changed(&path, text.as_bytes())?;
        say(opts, format!("  deployment {}", path.display()));
        Ok(path)
    }
}

/// The host's description of function `name`.
fn function_spec(
    manifest: &Manifest,
    map: &proto2wit::Map,
    built: &BTreeMap<String, crate::backend::Built>,
    name: &str,
) -> cofaas_host::FunctionSpec {
    let crate_name = built
        .get(name)
        .map(|b| b.symbol_name.clone())
        .unwrap_or_else(|| name.replace('-', "_"));
    let lifecycle = map
        .function_world(name)
        .and_then(|w| w.lifecycles.first())
        .map(|l| format!("{}/{l}", map.wit_package))
        .unwrap_or_default();
    let exports = manifest.functions[name]
        .exports
        .iter()
        .filter_map(|s| map.services.get(s))
        .map(|s| map.interface_path(s));
    cofaas_host::FunctionSpec::new(name, crate_name, lifecycle).with_exports(exports)
}

/// A function's grants with directories made absolute against the app
/// directory.
fn capabilities(app_dir: &Path, grants: &cofaas_host::Capabilities) -> cofaas_host::Capabilities {
    let mut caps = grants.clone();
    for dir in &mut caps.dirs {
        dir.host = app_dir.join(&dir.host);
    }
    caps
}

fn build_host(
    opts: &BuildOptions,
    dir: &Path,
    name: &str,
    wit_dir: &Path,
    map: &proto2wit::Map,
    fds: &prost_types::FileDescriptorSet,
) -> Result<(PathBuf, PathBuf), BuildError> {
    let host_crate = dir.join("host");
    let crate_name = format!("{name}-host");
    let mut host_opts = host_gen::HostOptions::new(crate_name.clone(), wit_dir.to_path_buf());
    host_opts.lockfile = Some(workspace_lockfile());
    let host = host_gen::generate(map, fds, &host_opts)?;
    host.write(&host_crate).map_err(io(&host_crate))?;
    let mut cmd = cargo(&opts.cargo_target_dir);
    cmd.current_dir(&host_crate)
        .arg("build")
        .arg("--manifest-path")
        .arg(host_crate.join("Cargo.toml"));
    if opts.release_host {
        cmd.arg("--release");
    }
    run_step(opts, "building the host", &BTreeMap::new(), &mut cmd)?;
    let profile = if opts.release_host {
        "release"
    } else {
        "debug"
    };
    let built = opts.cargo_target_dir.join(profile).join(&crate_name);
    let host_bin = dir.join(&crate_name);
    place_binary(&built, &host_bin)?;
    Ok((host_crate, host_bin))
}

/// Puts the built binary `from` at `to`: a hard link where the file system
/// allows (no second copy of a binary of tens of MB), else a copy. An old
/// `to` is removed first, which also works while it is running; cargo
/// replaces `from` by a new file when it rebuilds, so `to` never changes
/// under a running host.
fn place_binary(from: &Path, to: &Path) -> Result<(), BuildError> {
    match std::fs::remove_file(to) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(to)(e)),
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(io(to))?;
    }
    Ok(())
}

/// The cofaas workspace's `Cargo.lock`, copied into generated hosts so they
/// resolve to the versions already built in the shared target dir.
fn workspace_lockfile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock")
}

#[cfg(test)]
mod tests {
    use super::{passes_to_nested_cargo, place_binary};

    #[test]
    fn a_placed_binary_replaces_the_old_and_survives_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let (built, placed) = (dir.path().join("built"), dir.path().join("placed"));
        std::fs::write(&built, b"first").unwrap();
        std::fs::write(&placed, b"stale").unwrap();
        place_binary(&built, &placed).unwrap();
        assert_eq!(std::fs::read(&placed).unwrap(), b"first");
        // As cargo does on a rebuild: a new file where the old one was.
        std::fs::remove_file(&built).unwrap();
        std::fs::write(&built, b"second").unwrap();
        assert_eq!(std::fs::read(&placed).unwrap(), b"first");
        place_binary(&built, &placed).unwrap();
        assert_eq!(std::fs::read(&placed).unwrap(), b"second");
    }

    #[test]
    fn nested_cargo_keeps_user_settings_only() {
        for kept in [
            "PATH",
            "CARGO_HOME",
            "CARGO_INCREMENTAL",
            "CARGO_BUILD_JOBS",
            "CARGO_NET_OFFLINE",
            "CARGO_HTTP_TIMEOUT",
            "CARGO_TERM_COLOR",
        ] {
            assert!(passes_to_nested_cargo(kept), "{kept} should pass");
        }
        for dropped in [
            "RUSTFLAGS",
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_TARGET_DIR",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_INCREMENTAL_X",
            "CARGO_HOMEDIR",
        ] {
            assert!(
                !passes_to_nested_cargo(dropped),
                "{dropped} should not pass"
            );
        }
    }
}
