//! `cofaas::deploy` on a synthetic 3-node app (`edge` → `core` → `store`,
//! `edge` also calling the external function `ads`): snapshots of what it
//! renders, and offline validation of both renderings.
//!
//! - Plain (Deployment + Service): `kubernetes-validate --strict` (PyPI,
//!   pinned), whose schemas reject unknown properties.
//! - Knative (serving.knative.dev/v1 Service): the JSON schema of
//!   `@kubernetes-models/knative` (npm, pinned) through
//!   `tests/validate-knative.mjs`. Those validators check types, required
//!   properties and enums but not unknown properties, so the test also
//!   checks the keys above the pod spec against Knative's Service fields,
//!   and hands the revision's metadata and pod spec (without the Knative-only
//!   revision fields) and the Service's metadata to `kubernetes-validate
//!   --strict` as a Pod and a ConfigMap.
//!
//! The tools are installed once under `<target>/tools/` (pip `--target`,
//! `npm --prefix`); python3, pip, node and npm must be on `PATH`. A missing
//! tool fails the test: nothing is skipped. Broken manifests prove each
//! validator rejects something.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use cofaas::deploy::{DeployInput, DeployNode, PeerTarget, render, write};

const KUBERNETES_VALIDATE: &str = "1.37.0";
/// The Kubernetes version validated against (one kubernetes-validate ships
/// schemas for).
const KUBERNETES: &str = "1.33.0";
const KNATIVE_MODELS: &str = "4.0.0";

/// YAML manifest → JSON documents for the Knative schema, plus the
/// strict-checkable parts as core objects (see the module doc).
const KNATIVE_SPLIT: &str = r#"
import json, sys, yaml
src, docs_out, wrappers_out = sys.argv[1:4]
with open(src) as f:
    docs = [d for d in yaml.safe_load_all(f) if d is not None]
with open(docs_out, "w") as f:
    json.dump(docs, f)
# serving.knative.dev/v1 Service, ServiceSpec, RevisionTemplateSpec fields.
ALLOWED = {
    "": {"apiVersion", "kind", "metadata", "spec", "status"},
    "spec": {"template", "traffic"},
    "spec.template": {"metadata", "spec"},
}
# RevisionSpec = PodSpec inline + these.
REVISION_ONLY = {"containerConcurrency", "timeoutSeconds",
                 "responseStartTimeoutSeconds", "idleTimeoutSeconds"}
wrappers = []
for i, d in enumerate(docs):
    spec = d.get("spec") or {}
    template = spec.get("template") or {}
    for path, obj in (("", d), ("spec", spec), ("spec.template", template)):
        extra = sorted(set(obj) - ALLOWED[path])
        if extra:
            sys.exit(f"{src} document {i}: unknown field(s) {extra} at {path or 'top level'}")
    name = (d.get("metadata") or {}).get("name", "unnamed")
    wrappers.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": d.get("metadata") or {}})
    meta = dict(template.get("metadata") or {})
    meta.setdefault("name", name + "-revision")
    pod = {k: v for k, v in (template.get("spec") or {}).items() if k not in REVISION_ONLY}
    wrappers.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod})
with open(wrappers_out, "w") as f:
    f.write("\n---\n".join(json.dumps(w) for w in wrappers) + "\n")
"#;

fn example(plain: bool) -> DeployInput {
    let node = |name: &str, serves: &[&str], peers: Vec<(&str, PeerTarget)>| DeployNode {
        name: name.into(),
        serves: serves.iter().map(|s| s.to_string()).collect(),
        peers: peers.into_iter().map(|(s, t)| (s.into(), t)).collect(),
    };
    DeployInput {
        app: "shop".into(),
        namespace: "shop".into(),
        image_prefix: "registry.local/cofaas".into(),
        container_concurrency: 8,
        nodes: vec![
            node(
                "edge",
                &["shop.v1.Frontend"],
                vec![
                    ("shop.v1.Cart", PeerTarget::Node("core".into())),
                    ("ads.v1.Ads", PeerTarget::External("ads".into())),
                ],
            ),
            node(
                "core",
                &["shop.v1.Cart", "shop.v1.Checkout"],
                vec![("shop.v1.Store", PeerTarget::Node("store".into()))],
            ),
            node("store", &["shop.v1.Store"], vec![]),
        ],
        externals: BTreeMap::new(),
        plain,
    }
}

fn rendered(plain: bool) -> BTreeMap<PathBuf, String> {
    render(&example(plain)).expect("the example renders")
}

// ------------------------------------------------------------------ tools

struct Tools {
    /// `PYTHONPATH` holding kubernetes-validate and PyYAML.
    pythonpath: PathBuf,
    /// The `node_modules` holding @kubernetes-models/knative.
    node_modules: PathBuf,
}

fn require(cmd: &str, args: &[&str], why: &str) {
    let out = Command::new(cmd).args(args).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "`{cmd} {}` failed ({why}):\n{}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("`{cmd}` is required ({why}) but cannot run: {e}"),
    }
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Installs `what` into `dir` with `install(partial_dir)` unless `dir`
/// holds the marker: into a fresh `<dir>.partial`, renamed on success.
fn install_once(dir: &Path, marker: &str, install: impl FnOnce(&Path)) {
    if dir.join(marker).is_file() {
        return;
    }
    let partial = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(&partial).unwrap();
    install(&partial);
    std::fs::write(partial.join(marker), "").unwrap();
    std::fs::rename(&partial, dir).unwrap();
}

fn tools() -> Tools {
    // The tests run in parallel: one installs, the others wait for it.
    static INSTALL: Mutex<()> = Mutex::new(());
    let _installing = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let root = common::target_dir().join("tools");
    std::fs::create_dir_all(&root).unwrap();

    require("python3", &["--version"], "kubernetes-validate runs on it");
    let py = root.join("py-kubernetes-validate");
    install_once(
        &py,
        &format!(".kubernetes-validate-{KUBERNETES_VALIDATE}"),
        |dir| {
            require(
                "python3",
                &["-m", "pip", "--version"],
                "installs kubernetes-validate",
            );
            run_ok(
                Command::new("python3")
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                    ])
                    .arg("--target")
                    .arg(dir)
                    .arg(format!("kubernetes-validate=={KUBERNETES_VALIDATE}")),
                "pip install kubernetes-validate",
            );
        },
    );

    require("node", &["--version"], "runs tests/validate-knative.mjs");
    let npm = root.join("npm-knative");
    install_once(&npm, &format!(".knative-{KNATIVE_MODELS}"), |dir| {
        require("npm", &["--version"], "installs @kubernetes-models/knative");
        run_ok(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
                .arg(dir)
                .arg(format!("@kubernetes-models/knative@{KNATIVE_MODELS}")),
            "npm install @kubernetes-models/knative",
        );
    });
    Tools {
        pythonpath: py,
        node_modules: npm.join("node_modules"),
    }
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `kubernetes-validate --strict -k <KUBERNETES> <file>`.
fn kubernetes_validate(tools: &Tools, file: &Path) -> Output {
    Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "-k", KUBERNETES])
        .arg(file)
        .env("PYTHONPATH", &tools.pythonpath)
        .output()
        .expect("running kubernetes-validate")
}

/// kubernetes-validate passes every one of `docs` documents of `file`, with
/// no warning and no missing schema.
fn assert_kubernetes_valid(tools: &Tools, file: &Path, docs: usize) {
    let out = kubernetes_validate(tools, file);
    let text = output_text(&out);
    let lower = text.to_lowercase();
    assert!(
        out.status.success()
            && !lower.contains("warn")
            && !lower.contains("error")
            && !lower.contains("couldn't find schema")
            && !lower.contains("could not find schema"),
        "kubernetes-validate refuses {}:\n{text}",
        file.display()
    );
    let passed = text.lines().filter(|l| l.contains(" passed ")).count();
    assert_eq!(passed, docs, "{}: {text}", file.display());
}

/// kubernetes-validate rejects `file` for a schema reason.
fn assert_kubernetes_rejects(tools: &Tools, file: &Path, because: &str) {
    let out = kubernetes_validate(tools, file);
    let text = output_text(&out);
    assert!(
        !out.status.success() && text.contains("did not validate") && text.contains(because),
        "kubernetes-validate should reject {} ({because}):\n{text}",
        file.display()
    );
}

/// Splits the Knative manifest `file`: `<file>.json` (its documents) and
/// `<file>.core.yaml` (its strict-checkable parts). Err: an unknown key
/// above the pod spec.
fn knative_split(tools: &Tools, file: &Path) -> Result<(PathBuf, PathBuf), String> {
    let json = file.with_extension("json");
    let core = file.with_extension("core.yaml");
    let out = Command::new("python3")
        .arg("-c")
        .arg(KNATIVE_SPLIT)
        .arg(file)
        .arg(&json)
        .arg(&core)
        .env("PYTHONPATH", &tools.pythonpath)
        .output()
        .expect("running python3");
    if out.status.success() {
        Ok((json, core))
    } else {
        Err(output_text(&out))
    }
}

/// `node tests/validate-knative.mjs <node_modules> <docs.json>`.
fn knative_schema(tools: &Tools, json: &Path) -> Output {
    Command::new("node")
        .arg(common::repo().join("cofaas/tests/validate-knative.mjs"))
        .arg(&tools.node_modules)
        .arg(json)
        .output()
        .expect("running node")
}

fn assert_knative_valid(tools: &Tools, file: &Path) {
    let (json, core) = knative_split(tools, file)
        .unwrap_or_else(|e| panic!("{}: unknown Knative fields:\n{e}", file.display()));
    let out = knative_schema(tools, &json);
    let text = output_text(&out);
    assert!(
        out.status.success() && text.contains(": valid") && !text.contains("INVALID"),
        "the Knative schema refuses {}:\n{text}",
        file.display()
    );
    // One Service: its metadata (ConfigMap) and its revision (Pod).
    assert_kubernetes_valid(tools, &core, 2);
}

fn write_rendered(dir: &Path, plain: bool) -> BTreeMap<PathBuf, String> {
    let files = rendered(plain);
    write(dir, &files).expect("writing the manifests");
    files
}

// ------------------------------------------------------------------ tests

#[test]
fn knative_manifests_and_containerfile_are_pinned() {
    let files = rendered(false);
    assert_eq!(files.len(), 6);
    for node in ["edge", "core", "store"] {
        insta::assert_snapshot!(
            format!("knative_{node}.yaml"),
            files[Path::new(&format!("{node}.yaml"))]
        );
    }
    insta::assert_snapshot!("Containerfile.edge", files[Path::new("Containerfile.edge")]);
    let plain = rendered(true);
    insta::assert_snapshot!("plain_edge.yaml", plain[Path::new("edge.yaml")]);
}

#[test]
fn plain_manifests_pass_kubernetes_validate_strict() {
    let tools = tools();
    let dir = tempfile::tempdir().unwrap();
    let files = write_rendered(dir.path(), true);
    let mut checked = 0;
    for rel in files
        .keys()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        // A Deployment and a Service.
        assert_kubernetes_valid(&tools, &dir.path().join(rel), 2);
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn knative_manifests_pass_the_knative_schema() {
    let tools = tools();
    let dir = tempfile::tempdir().unwrap();
    let files = write_rendered(dir.path(), false);
    let mut checked = 0;
    for rel in files
        .keys()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        assert_knative_valid(&tools, &dir.path().join(rel));
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// `text` with `from` replaced once by `to`.
fn broken(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in:\n{text}");
    text.replacen(from, to, 1)
}

#[test]
fn validators_reject_broken_manifests() {
    let tools = tools();
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };

    // Plain: an unknown container field, a port of the wrong type.
    let plain = rendered(true)[Path::new("edge.yaml")].clone();
    let unknown = put(
        "plain-unknown.yaml",
        broken(
            &plain,
            "        - name: \"host\"\n",
            "        - name: \"host\"\n          containerConcurrencyX: 8\n",
        ),
    );
    assert_kubernetes_rejects(&tools, &unknown, "containerConcurrencyX");
    let port = put(
        "plain-port.yaml",
        broken(&plain, "containerPort: 8080", "containerPort: \"8080\""),
    );
    assert_kubernetes_rejects(&tools, &port, "8080");

    let knative = rendered(false)[Path::new("edge.yaml")].clone();
    // Knative: a mistyped field fails the Knative schema itself.
    let mistyped = put(
        "knative-mistyped.yaml",
        broken(
            &knative,
            "containerConcurrency: 8",
            "containerConcurrency: \"8\"",
        ),
    );
    let (json, _) = knative_split(&tools, &mistyped).unwrap();
    let out = knative_schema(&tools, &json);
    let text = output_text(&out);
    assert!(
        !out.status.success() && text.contains("containerConcurrency must be integer"),
        "the Knative schema should reject a string containerConcurrency:\n{text}"
    );
    // A grpc probe without its port.
    let no_port = put(
        "knative-probe.yaml",
        broken(&knative, "grpc:\n              port: 8080", "grpc: {}"),
    );
    let (json, _) = knative_split(&tools, &no_port).unwrap();
    let out = knative_schema(&tools, &json);
    let text = output_text(&out);
    assert!(
        !out.status.success() && text.contains("must have required property port"),
        "the Knative schema should reject a grpc probe without a port:\n{text}"
    );

    // Knative: an unknown revision field passes the Knative schema (it does
    // not check unknown properties) but not the strict pod spec check.
    let unknown = put(
        "knative-unknown.yaml",
        broken(
            &knative,
            "containerConcurrency: 8",
            "containerConcurrencyX: 8",
        ),
    );
    let (json, core) = knative_split(&tools, &unknown).unwrap();
    assert!(knative_schema(&tools, &json).status.success());
    assert_kubernetes_rejects(&tools, &core, "containerConcurrencyX");
    // An unknown Service spec field fails the key check.
    let unknown_spec = put(
        "knative-spec.yaml",
        broken(
            &knative,
            "spec:\n  template:",
            "spec:\n  traffics: []\n  template:",
        ),
    );
    let err = knative_split(&tools, &unknown_spec).unwrap_err();
    assert!(err.contains("traffics"), "{err}");
}
