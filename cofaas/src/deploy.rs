//! Deployment manifests for a split app: one cofaas host container per node,
//! as a Knative Service or as a plain Kubernetes Deployment and Service, and
//! a Containerfile per node that builds the host image from the build
//! outputs.
//!
//! [`render`](crate::deploy::render) is pure: it turns a
//! [`DeployInput`](crate::deploy::DeployInput) into file contents keyed by
//! relative path; [`write`](crate::deploy::write) puts them on disk. The
//! YAML is written by hand, every string double-quoted (JSON escapes, which
//! YAML shares), so the output is byte-for-byte deterministic.
//!
//! ```
//! use cofaas::deploy::{DeployInput, DeployNode, render};
//! let input = DeployInput {
//!     nodes: vec![DeployNode {
//!         name: "edge".into(),
//!         serves: vec!["shop.Frontend".into()],
//!         peers: vec![],
//!     }],
//!     ..DeployInput::new("shop")
//! };
//! let files = render(&input)?;
//! assert!(files.contains_key(std::path::Path::new("edge.yaml")));
//! assert!(files.contains_key(std::path::Path::new("Containerfile.edge")));
//! # Ok::<(), cofaas::deploy::DeployError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The port the host listens on inside its container.
pub const CONTAINER_PORT: u16 = 8080;
/// The port the cluster Service of a node exposes.
pub const SERVICE_PORT: u16 = 80;
/// The base image of the host containers (the host is a glibc binary).
pub const BASE_IMAGE: &str = "debian:bookworm-slim";
/// The environment variable that tells a host where its peers are served.
pub const PEERS_ENV: &str = "COFAAS_PEERS";

/// The longest Kubernetes object name that is a DNS-1035 label.
const MAX_LABEL: usize = 63;
/// Knative names a Service's first revision `<name>-00001`, which must
/// itself be a DNS-1035 label.
const KNATIVE_REVISION_SUFFIX: &str = "-00001";

/// One node of a split app as deployed: one cofaas host container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployNode {
    /// The node's name from `cofaas.toml`, e.g. `edge`.
    pub name: String,
    /// The gRPC services (proto full names) the node serves.
    pub serves: Vec<String>,
    /// Each service the node calls but does not serve, and where it is
    /// served.
    pub peers: Vec<(String, PeerTarget)>,
}

/// Where a service a node calls is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerTarget {
    /// Another node of the app, by name.
    Node(String),
    /// An external (native) function, by function name.
    External(String),
}

/// What [`render`] needs to know about a split app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployInput {
    /// The app's name, e.g. `shop`.
    pub app: String,
    /// The Kubernetes namespace the app is deployed into.
    pub namespace: String,
    /// The image repository prefix: a node's image is
    /// `{image_prefix}/{app}-{node}:latest`.
    pub image_prefix: String,
    /// Requests a host executes at once (its `--max-concurrent`), which is
    /// also the Knative `containerConcurrency`.
    pub container_concurrency: usize,
    /// The nodes, one host container each.
    pub nodes: Vec<DeployNode>,
    /// External function name → its address (`http://host:port`). A
    /// function missing here is addressed as
    /// `http://<function>.<namespace>.svc.cluster.local:80`.
    pub externals: BTreeMap<String, String>,
    /// `false`: a Knative Service per node; `true`: a Deployment and a
    /// Service per node.
    pub plain: bool,
}

impl DeployInput {
    /// An app with no nodes yet: namespace `default`, image prefix
    /// `registry.local/cofaas`, container concurrency 4, Knative.
    pub fn new(app: impl Into<String>) -> Self {
        DeployInput {
            app: app.into(),
            namespace: "default".into(),
            image_prefix: "registry.local/cofaas".into(),
            container_concurrency: 4,
            nodes: Vec::new(),
            externals: BTreeMap::new(),
            plain: false,
        }
    }
}

/// The nodes of the app `manifest` describes, as [`render`] takes them:
/// one per `node = ...` of `cofaas.toml` (the whole app as node
/// [`crate::manifest::DEFAULT_NODE`] when it is not placed), each with the
/// services it serves and the peers it calls.
pub fn nodes_of(manifest: &crate::manifest::Manifest) -> Vec<DeployNode> {
    manifest
        .nodes()
        .into_iter()
        .map(|node| {
            let services = crate::units::node_services(manifest, Some(node));
            DeployNode {
                name: node.to_string(),
                serves: services.serves,
                peers: services
                    .remote
                    .into_iter()
                    .map(|(service, function, node)| {
                        let target = match node {
                            Some(node) => PeerTarget::Node(node),
                            None => PeerTarget::External(function),
                        };
                        (service, target)
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Why manifests cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    /// A name that Kubernetes would refuse.
    #[error("{what} `{name}` is not valid: {reason}")]
    InvalidName {
        /// What the name names, e.g. `node` or `Knative Service name`.
        what: String,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// There is nothing to deploy.
    #[error("app `{0}` has no nodes")]
    NoNodes(String),
    /// Two nodes share a name.
    #[error("node `{0}` is listed twice")]
    DuplicateNode(String),
    /// A node's peer names a node the app does not have.
    #[error("node `{node}` calls `{service}` on node `{peer}`, which is not a node of the app")]
    UnknownPeerNode {
        /// The calling node.
        node: String,
        /// The service called.
        service: String,
        /// The missing node.
        peer: String,
    },
    /// A node calls itself through the network.
    #[error("node `{node}` lists itself as the peer serving `{service}`")]
    SelfPeer {
        /// The node.
        node: String,
        /// The service.
        service: String,
    },
    /// A node lists one service twice among its peers.
    #[error("node `{node}` lists peer service `{service}` twice")]
    DuplicatePeer {
        /// The node.
        node: String,
        /// The service.
        service: String,
    },
    /// A service name that cannot be carried in `COFAAS_PEERS`.
    #[error("node `{node}`: service name `{service}` is not a proto full name")]
    InvalidService {
        /// The node.
        node: String,
        /// The service name as given.
        service: String,
    },
    /// An external function's address that is not `http(s)://host:port`.
    #[error("external function `{function}`: address `{address}` is not valid: {reason}")]
    InvalidAddress {
        /// The function.
        function: String,
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The image prefix is empty or holds characters no image reference
    /// allows.
    #[error("image prefix `{0}` is not valid (lowercase letters, digits, `.`, `_`, `-`, `/`, `:`)")]
    InvalidImagePrefix(String),
    /// The host needs at least one request slot.
    #[error("container concurrency must be at least 1")]
    ZeroConcurrency,
}

/// Renders the manifests and Containerfiles of `input`: `<node>.yaml` and
/// `Containerfile.<node>` per node, keyed by path relative to the output
/// directory.
pub fn render(input: &DeployInput) -> Result<BTreeMap<PathBuf, String>, DeployError> {
    validate(input)?;
    let mut files = BTreeMap::new();
    for node in &input.nodes {
        let manifest = if input.plain {
            plain_manifest(input, node)
        } else {
            knative_manifest(input, node)
        };
        files.insert(PathBuf::from(format!("{}.yaml", node.name)), manifest);
        files.insert(
            PathBuf::from(format!("Containerfile.{}", node.name)),
            containerfile(input, node),
        );
    }
    Ok(files)
}

/// Writes `files` (as [`render`] returns them) under `dir`, creating
/// directories as needed.
pub fn write(dir: &Path, files: &BTreeMap<PathBuf, String>) -> std::io::Result<()> {
    for (rel, contents) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, contents)?;
    }
    Ok(())
}

/// The `COFAAS_PEERS` value of `node`: `service=url` per peer, sorted by
/// service, comma-separated.
pub fn peers_value(input: &DeployInput, node: &DeployNode) -> String {
    let mut peers: Vec<(&str, String)> = node
        .peers
        .iter()
        .map(|(service, target)| (service.as_str(), peer_url(input, target)))
        .collect();
    peers.sort();
    peers
        .iter()
        .map(|(service, url)| format!("{service}={url}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The cluster-internal URL of a peer.
fn peer_url(input: &DeployInput, target: &PeerTarget) -> String {
    match target {
        PeerTarget::Node(n) => cluster_url(&object_name(&input.app, n), &input.namespace),
        PeerTarget::External(f) => input
            .externals
            .get(f)
            .cloned()
            .unwrap_or_else(|| cluster_url(f, &input.namespace)),
    }
}

fn cluster_url(service: &str, namespace: &str) -> String {
    format!("http://{service}.{namespace}.svc.cluster.local:{SERVICE_PORT}")
}

/// The Kubernetes object name of a node: `<app>-<node>`.
pub fn object_name(app: &str, node: &str) -> String {
    format!("{app}-{node}")
}

/// The image of a node: `{prefix}/{app}-{node}:latest`.
pub fn image(input: &DeployInput, node: &str) -> String {
    format!(
        "{}/{}:latest",
        input.image_prefix.trim_end_matches('/'),
        object_name(&input.app, node)
    )
}

// ---------------------------------------------------------------- checks

fn validate(input: &DeployInput) -> Result<(), DeployError> {
    dns1035(&input.app, "app name")?;
    dns1123_label(&input.namespace, "namespace")?;
    image_prefix(&input.image_prefix)?;
    if input.container_concurrency == 0 {
        return Err(DeployError::ZeroConcurrency);
    }
    if input.nodes.is_empty() {
        return Err(DeployError::NoNodes(input.app.clone()));
    }
    let mut names = BTreeSet::new();
    for node in &input.nodes {
        dns1035(&node.name, "node name")?;
        let object = object_name(&input.app, &node.name);
        if input.plain {
            dns1035(&object, "Service name")?;
        } else {
            dns1035(&object, "Knative Service name")?;
            dns1035(
                &format!("{object}{KNATIVE_REVISION_SUFFIX}"),
                "Knative revision name",
            )?;
        }
        if !names.insert(node.name.as_str()) {
            return Err(DeployError::DuplicateNode(node.name.clone()));
        }
    }
    for node in &input.nodes {
        for service in &node.serves {
            proto_full_name(&node.name, service)?;
        }
        let mut called = BTreeSet::new();
        for (service, target) in &node.peers {
            proto_full_name(&node.name, service)?;
            if !called.insert(service.as_str()) {
                return Err(DeployError::DuplicatePeer {
                    node: node.name.clone(),
                    service: service.clone(),
                });
            }
            match target {
                PeerTarget::Node(peer) if peer == &node.name => {
                    return Err(DeployError::SelfPeer {
                        node: node.name.clone(),
                        service: service.clone(),
                    });
                }
                PeerTarget::Node(peer) if !names.contains(peer.as_str()) => {
                    return Err(DeployError::UnknownPeerNode {
                        node: node.name.clone(),
                        service: service.clone(),
                        peer: peer.clone(),
                    });
                }
                PeerTarget::Node(_) => {}
                PeerTarget::External(function) => match input.externals.get(function) {
                    Some(address) => external_address(function, address)?,
                    None => dns1123_label(function, "external function name")?,
                },
            }
        }
    }
    Ok(())
}

fn invalid(what: &str, name: &str, reason: impl Into<String>) -> DeployError {
    DeployError::InvalidName {
        what: what.into(),
        name: name.into(),
        reason: reason.into(),
    }
}

/// A DNS-1035 label: `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
fn dns1035(name: &str, what: &str) -> Result<(), DeployError> {
    dns1123_label(name, what)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(invalid(what, name, "it must start with a lowercase letter"));
    }
    Ok(())
}

/// A DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
fn dns1123_label(name: &str, what: &str) -> Result<(), DeployError> {
    if name.is_empty() {
        return Err(invalid(what, name, "it is empty"));
    }
    if name.len() > MAX_LABEL {
        return Err(invalid(
            what,
            name,
            format!(
                "it has {} characters, at most {MAX_LABEL} are allowed",
                name.len()
            ),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        return Err(invalid(
            what,
            name,
            format!("`{c}` is not allowed (lowercase letters, digits and `-` only)"),
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(invalid(what, name, "it must not start or end with `-`"));
    }
    Ok(())
}

fn image_prefix(prefix: &str) -> Result<(), DeployError> {
    let ok = !prefix.trim_end_matches('/').is_empty()
        && prefix.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/' | ':')
        });
    if ok {
        Ok(())
    } else {
        Err(DeployError::InvalidImagePrefix(prefix.into()))
    }
}

/// A proto full name: dot-separated identifiers.
fn proto_full_name(node: &str, service: &str) -> Result<(), DeployError> {
    let ident = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if service.split('.').all(ident) {
        Ok(())
    } else {
        Err(DeployError::InvalidService {
            node: node.into(),
            service: service.into(),
        })
    }
}

fn external_address(function: &str, address: &str) -> Result<(), DeployError> {
    let bad = |reason: &str| DeployError::InvalidAddress {
        function: function.into(),
        address: address.into(),
        reason: reason.into(),
    };
    let rest = address
        .strip_prefix("http://")
        .or_else(|| address.strip_prefix("https://"))
        .ok_or_else(|| bad("it must start with http:// or https://"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Err(bad("it has no host"));
    }
    if let Some(c) = authority
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
    {
        return Err(bad(&format!(
            "`{c}` is not allowed in host:port (it would break {PEERS_ENV})"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- objects

/// A YAML value: the subset manifests need.
enum Yaml {
    Map(Vec<(&'static str, Yaml)>),
    /// A map whose keys are data (labels).
    Dict(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
    Str(String),
    Int(u64),
}

fn s(v: impl Into<String>) -> Yaml {
    Yaml::Str(v.into())
}

fn labels(input: &DeployInput, node: &DeployNode) -> Yaml {
    Yaml::Dict(vec![
        ("app.kubernetes.io/name".into(), s(&input.app)),
        ("app.kubernetes.io/component".into(), s(&node.name)),
        ("app.kubernetes.io/managed-by".into(), s("cofaas")),
    ])
}

fn metadata(input: &DeployInput, node: &DeployNode) -> Yaml {
    Yaml::Map(vec![
        ("name", s(object_name(&input.app, &node.name))),
        ("namespace", s(&input.namespace)),
        ("labels", labels(input, node)),
    ])
}

fn probe() -> Yaml {
    Yaml::Map(vec![(
        "grpc",
        Yaml::Map(vec![("port", Yaml::Int(CONTAINER_PORT.into()))]),
    )])
}

/// The host container; `port_name` is `h2c` for Knative, `grpc` for plain.
fn container(input: &DeployInput, node: &DeployNode, port_name: &str) -> Yaml {
    Yaml::Map(vec![
        ("name", s("host")),
        ("image", s(image(input, &node.name))),
        (
            "args",
            Yaml::Seq(vec![
                s("--max-concurrent"),
                s(input.container_concurrency.to_string()),
            ]),
        ),
        (
            "ports",
            Yaml::Seq(vec![Yaml::Map(vec![
                ("name", s(port_name)),
                ("containerPort", Yaml::Int(CONTAINER_PORT.into())),
            ])]),
        ),
        (
            "env",
            Yaml::Seq(vec![Yaml::Map(vec![
                ("name", s(PEERS_ENV)),
                ("value", s(peers_value(input, node))),
            ])]),
        ),
        ("readinessProbe", probe()),
        ("livenessProbe", probe()),
    ])
}

fn header(input: &DeployInput, node: &DeployNode, comment: &str) -> String {
    let serves = if node.serves.is_empty() {
        "(nothing)".to_string()
    } else {
        node.serves.join(", ")
    };
    format!(
        "# Generated by `cofaas deploy` for node `{}` of app `{}` ({comment}).\n\
         # Do not edit: render it again instead.\n\
         # Serves: {serves}\n",
        one_line(&node.name),
        one_line(&input.app),
        serves = one_line(&serves),
    )
}

/// Text safe inside a `#` comment line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn knative_manifest(input: &DeployInput, node: &DeployNode) -> String {
    let service = Yaml::Map(vec![
        ("apiVersion", s("serving.knative.dev/v1")),
        ("kind", s("Service")),
        ("metadata", metadata(input, node)),
        (
            "spec",
            Yaml::Map(vec![(
                "template",
                Yaml::Map(vec![
                    ("metadata", Yaml::Map(vec![("labels", labels(input, node))])),
                    (
                        "spec",
                        Yaml::Map(vec![
                            (
                                "containerConcurrency",
                                Yaml::Int(input.container_concurrency as u64),
                            ),
                            ("containers", Yaml::Seq(vec![container(input, node, "h2c")])),
                        ]),
                    ),
                ]),
            )]),
        ),
    ]);
    let mut out = header(input, node, "Knative Serving");
    emit_doc(&mut out, &service);
    out
}

fn plain_manifest(input: &DeployInput, node: &DeployNode) -> String {
    let selector = || {
        Yaml::Dict(vec![
            ("app.kubernetes.io/name".into(), s(&input.app)),
            ("app.kubernetes.io/component".into(), s(&node.name)),
        ])
    };
    let deployment = Yaml::Map(vec![
        ("apiVersion", s("apps/v1")),
        ("kind", s("Deployment")),
        ("metadata", metadata(input, node)),
        (
            "spec",
            Yaml::Map(vec![
                ("replicas", Yaml::Int(1)),
                ("selector", Yaml::Map(vec![("matchLabels", selector())])),
                (
                    "template",
                    Yaml::Map(vec![
                        ("metadata", Yaml::Map(vec![("labels", labels(input, node))])),
                        (
                            "spec",
                            Yaml::Map(vec![(
                                "containers",
                                Yaml::Seq(vec![container(input, node, "grpc")]),
                            )]),
                        ),
                    ]),
                ),
            ]),
        ),
    ]);
    let service = Yaml::Map(vec![
        ("apiVersion", s("v1")),
        ("kind", s("Service")),
        ("metadata", metadata(input, node)),
        (
            "spec",
            Yaml::Map(vec![
                ("selector", selector()),
                (
                    "ports",
                    Yaml::Seq(vec![Yaml::Map(vec![
                        ("name", s("grpc")),
                        ("appProtocol", s("kubernetes.io/h2c")),
                        ("port", Yaml::Int(SERVICE_PORT.into())),
                        ("targetPort", Yaml::Int(CONTAINER_PORT.into())),
                    ])]),
                ),
            ]),
        ),
    ]);
    let mut out = header(input, node, "Kubernetes Deployment and Service");
    emit_doc(&mut out, &deployment);
    out.push_str("---\n");
    emit_doc(&mut out, &service);
    out
}

fn containerfile(input: &DeployInput, node: &DeployNode) -> String {
    let app = &input.app;
    let n = &node.name;
    let host = format!("{app}-host");
    let deployment = format!("nodes/{n}/deployment.json");
    // JSON strings are valid exec-form ENTRYPOINT words.
    let entrypoint = [
        format!("/app/{host}"),
        "--deployment".into(),
        format!("/app/{deployment}"),
        "--listen".into(),
        format!("0.0.0.0:{CONTAINER_PORT}"),
    ]
    .iter()
    .map(|w| quote(w))
    .collect::<Vec<_>>()
    .join(", ");
    format!(
        "# Generated by `cofaas deploy` for node `{n}` of app `{app}`.\n\
         # Do not edit: render it again instead.\n\
         # Build it from the app's build directory, e.g.\n\
         #   podman build -f Containerfile.{n} -t {image} target/cofaas/{app}/\n\
         # The host is a glibc binary: build it on a system whose glibc is\n\
         # no newer than the base image's.\n\
         FROM {BASE_IMAGE}\n\
         WORKDIR /app\n\
         COPY {host} /app/{host}\n\
         COPY units/ /app/units/\n\
         # Its component paths are ../../units/<unit>.wasm, i.e. /app/units.\n\
         COPY {deployment} /app/{deployment}\n\
         EXPOSE {CONTAINER_PORT}\n\
         ENTRYPOINT [{entrypoint}]\n",
        image = image(input, n),
    )
}

// ---------------------------------------------------------------- emitter

/// A double-quoted scalar: JSON string escapes are YAML's too.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A map key: plain when it is made of characters YAML never reads as
/// anything but a plain scalar, else quoted.
fn key(text: &str) -> String {
    let plain = text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'));
    if plain { text.into() } else { quote(text) }
}

fn emit_doc(out: &mut String, doc: &Yaml) {
    emit(out, 0, doc);
}

/// Emits `value` as a block whose lines start at column `indent`.
fn emit(out: &mut String, indent: usize, value: &Yaml) {
    let pad = " ".repeat(indent);
    match value {
        Yaml::Map(entries) => {
            for (k, v) in entries {
                emit_entry(out, indent, &key(k), v);
            }
        }
        Yaml::Dict(entries) => {
            for (k, v) in entries {
                emit_entry(out, indent, &key(k), v);
            }
        }
        Yaml::Seq(items) => {
            for item in items {
                if let Some(text) = inline(item) {
                    let _ = writeln!(out, "{pad}- {text}");
                    continue;
                }
                let mut block = String::new();
                emit(&mut block, indent + 2, item);
                // The item's first line starts with its dash.
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&block[indent + 2..]);
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&inline(scalar).unwrap_or_default());
            out.push('\n');
        }
    }
}

fn emit_entry(out: &mut String, indent: usize, k: &str, v: &Yaml) {
    let pad = " ".repeat(indent);
    match inline(v) {
        Some(text) => {
            let _ = writeln!(out, "{pad}{k}: {text}");
        }
        None => {
            let _ = writeln!(out, "{pad}{k}:");
            emit(out, indent + 2, v);
        }
    }
}

/// The one-line form of scalars and empty collections.
fn inline(value: &Yaml) -> Option<String> {
    match value {
        Yaml::Str(text) => Some(quote(text)),
        Yaml::Int(n) => Some(n.to_string()),
        Yaml::Map(e) if e.is_empty() => Some("{}".into()),
        Yaml::Dict(e) if e.is_empty() => Some("{}".into()),
        Yaml::Seq(e) if e.is_empty() => Some("[]".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> DeployInput {
        let node = |name: &str, serves: &[&str], peers: Vec<(&str, PeerTarget)>| DeployNode {
            name: name.into(),
            serves: serves.iter().map(|s| s.to_string()).collect(),
            peers: peers.into_iter().map(|(s, t)| (s.into(), t)).collect(),
        };
        DeployInput {
            nodes: vec![
                node(
                    "edge",
                    &["shop.Frontend"],
                    vec![
                        ("shop.Cart", PeerTarget::Node("core".into())),
                        ("ads.Ads", PeerTarget::External("ads".into())),
                    ],
                ),
                node(
                    "core",
                    &["shop.Cart"],
                    vec![("shop.Store", PeerTarget::Node("store".into()))],
                ),
                node("store", &["shop.Store"], vec![]),
            ],
            ..DeployInput::new("shop")
        }
    }

    #[test]
    fn peers_are_sorted_by_service_and_addressed_by_cluster_dns() {
        let input = example();
        assert_eq!(
            peers_value(&input, &input.nodes[0]),
            "ads.Ads=http://ads.default.svc.cluster.local:80,\
             shop.Cart=http://shop-core.default.svc.cluster.local:80"
        );
        assert_eq!(peers_value(&input, &input.nodes[2]), "");
    }

    #[test]
    fn external_addresses_come_from_the_map_when_given() {
        let mut input = example();
        input.namespace = "prod".into();
        input
            .externals
            .insert("ads".into(), "http://ads-native.other:9000".into());
        assert_eq!(
            peers_value(&input, &input.nodes[0]),
            "ads.Ads=http://ads-native.other:9000,\
             shop.Cart=http://shop-core.prod.svc.cluster.local:80"
        );
        let files = render(&input).unwrap();
        assert!(files[Path::new("edge.yaml")].contains("ads.Ads=http://ads-native.other:9000"));
    }

    #[test]
    fn bad_names_are_rejected_naming_them() {
        let mut input = example();
        input.nodes[1].name = "Core".into();
        input.nodes[0].peers[0].1 = PeerTarget::Node("Core".into());
        let err = render(&input).unwrap_err();
        assert!(err.to_string().contains("node name `Core`"), "{err}");

        let mut input = example();
        input.app = "9shop".into();
        let err = render(&input).unwrap_err();
        assert!(err.to_string().contains("app name `9shop`"), "{err}");

        let mut input = example();
        input.nodes[2].name = "a".repeat(60);
        input.nodes[1].peers.clear();
        let err = render(&input).unwrap_err();
        assert!(err.to_string().contains("Knative Service name"), "{err}");

        // A plain Service may be longer than a Knative one (no revisions).
        let mut input = example();
        input.nodes[2].name = "a".repeat(55);
        input.nodes[1].peers.clear();
        let err = render(&input).unwrap_err();
        assert!(err.to_string().contains("Knative revision name"), "{err}");
        input.plain = true;
        assert!(render(&input).is_ok());

        let mut input = example();
        input.namespace = "my_ns".into();
        let err = render(&input).unwrap_err();
        assert!(err.to_string().contains("namespace `my_ns`"), "{err}");
    }

    #[test]
    fn inconsistent_inputs_are_rejected() {
        let mut input = example();
        input.nodes[0].peers[0].1 = PeerTarget::Node("nowhere".into());
        assert_eq!(
            render(&input).unwrap_err(),
            DeployError::UnknownPeerNode {
                node: "edge".into(),
                service: "shop.Cart".into(),
                peer: "nowhere".into()
            }
        );
        let mut input = example();
        input.nodes[1].name = "edge".into();
        assert_eq!(
            render(&input).unwrap_err(),
            DeployError::DuplicateNode("edge".into())
        );
        let mut input = example();
        input.nodes[0].peers[0].0 = "shop.Cart,x=y".into();
        assert!(matches!(
            render(&input).unwrap_err(),
            DeployError::InvalidService { .. }
        ));
        let mut input = example();
        input.externals.insert("ads".into(), "ads:80".into());
        assert!(matches!(
            render(&input).unwrap_err(),
            DeployError::InvalidAddress { .. }
        ));
        let mut input = example();
        input.container_concurrency = 0;
        assert_eq!(render(&input).unwrap_err(), DeployError::ZeroConcurrency);
        let mut input = example();
        input.image_prefix = "Registry".into();
        assert!(matches!(
            render(&input).unwrap_err(),
            DeployError::InvalidImagePrefix(_)
        ));
    }

    #[test]
    fn rendering_is_deterministic() {
        for plain in [false, true] {
            let mut input = example();
            input.plain = plain;
            let first = render(&input).unwrap();
            // Peers in another order render the same.
            input.nodes[0].peers.reverse();
            assert_eq!(first, render(&input).unwrap());
            assert_eq!(first, render(&input).unwrap());
            assert_eq!(first.len(), 6);
        }
    }

    #[test]
    fn strings_are_quoted_and_keys_plain() {
        assert_eq!(quote("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        assert_eq!(key("app.kubernetes.io/name"), "app.kubernetes.io/name");
        assert_eq!(key("a: b"), "\"a: b\"");
        let mut out = String::new();
        emit_doc(
            &mut out,
            &Yaml::Map(vec![
                (
                    "a",
                    Yaml::Seq(vec![
                        s("x"),
                        Yaml::Map(vec![("b", Yaml::Int(1)), ("c", Yaml::Seq(vec![]))]),
                    ]),
                ),
                ("d", Yaml::Map(vec![])),
            ]),
        );
        assert_eq!(out, "a:\n  - \"x\"\n  - b: 1\n    c: []\nd: {}\n");
    }

    #[test]
    fn write_puts_files_under_the_directory() {
        let dir = std::env::temp_dir().join(format!("cofaas-deploy-write-{}", std::process::id()));
        let files = render(&example()).unwrap();
        write(&dir, &files).unwrap();
        for (rel, text) in &files {
            assert_eq!(&std::fs::read_to_string(dir.join(rel)).unwrap(), text);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
