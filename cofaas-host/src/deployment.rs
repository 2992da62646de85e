//! The deployment description `cofaas build` writes next to the components:
//! which units (instantiable components) the app is made of, which
//! functions each contains, whether it may be pooled, and what it may touch.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::HostError;

/// File name of the deployment description inside the build directory.
pub const DEPLOYMENT_FILE: &str = "deployment.json";

/// An app as the host runs it: a set of units.
///
/// Every function of the app is in exactly one unit. A unit is one
/// component: either a single function's component, or several stateless
/// functions composed statically (their calls to each other are fused).
/// Calls between units are served by the host (host-mediated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Deployment {
    /// The app's name.
    pub app: String,
    /// The node of the app this deployment runs, when the app is placed on
    /// several (`node = ...` in `cofaas.toml`); `None` for an app on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The gRPC services (`package.Service`) the host serves: the public
    /// services of the functions on this node and the services other nodes
    /// call. Empty: the app's public services, as for an app on one node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<String>,
    /// The services the units call that are served elsewhere (on another
    /// node, or by an external function): each call to them is a remote
    /// edge, to the peer address given when the host runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote: Vec<RemoteSpec>,
    /// The units, in the order they are instantiated at startup.
    pub units: Vec<UnitSpec>,
}

/// A service the units call that is served elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RemoteSpec {
    /// The gRPC service (`package.Service`): the key of its peer address
    /// (`--peer package.Service=http://host:port`, `COFAAS_PEERS`).
    pub service: String,
    /// Its fully qualified WIT interface, as the units import it.
    pub interface: String,
    /// The function serving it.
    pub function: String,
    /// The node holding that function; `None` for an external function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl RemoteSpec {
    /// A service served by `function` on `node` (`None`: external).
    pub fn new(
        service: impl Into<String>,
        interface: impl Into<String>,
        function: impl Into<String>,
        node: Option<String>,
    ) -> Self {
        Self {
            service: service.into(),
            interface: interface.into(),
            function: function.into(),
            node,
        }
    }
}

/// One unit: a component the host instantiates as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UnitSpec {
    /// The unit's name (the function's name, or `a+b` for a composition).
    pub name: String,
    /// The component file, relative to the deployment file. A precompiled
    /// sibling with the extension `cwasm` is preferred when it exists.
    pub component: PathBuf,
    /// Whether every function in the unit is stateless, so that the unit may
    /// be instantiated many times (pooled). Otherwise the unit has exactly
    /// one instance and calls into it are serialised.
    pub stateless: bool,
    /// The functions in the unit.
    pub functions: Vec<FunctionSpec>,
    /// What the unit's functions may touch beyond stdout, stderr, clocks and
    /// randomness.
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// One function inside a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FunctionSpec {
    /// The function's name from `cofaas.toml`.
    pub name: String,
    /// Its Rust crate name (`my_fn`), used to tell which function a trap
    /// happened in from the symbol names of the wasm backtrace.
    pub crate_name: String,
    /// Its fully qualified lifecycle interface
    /// (`cofaas:prodcon/producer-lifecycle`).
    pub lifecycle: String,
    /// The fully qualified interfaces it exports (its services).
    #[serde(default)]
    pub exports: Vec<String>,
}

impl FunctionSpec {
    /// A function description.
    pub fn new(
        name: impl Into<String>,
        crate_name: impl Into<String>,
        lifecycle: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            crate_name: crate_name.into(),
            lifecycle: lifecycle.into(),
            exports: Vec::new(),
        }
    }

    /// The same function, exporting `exports`.
    pub fn with_exports(mut self, exports: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.exports = exports.into_iter().map(Into::into).collect();
        self
    }
}

/// Capabilities granted to a unit in `cofaas.toml`. By default a function
/// gets none: no filesystem, no sockets, no environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Capabilities {
    /// Host directories made visible to the guest.
    #[serde(default)]
    pub dirs: Vec<DirGrant>,
    /// Whether the guest may open TCP/UDP sockets and resolve names.
    #[serde(default)]
    pub network: bool,
    /// Environment variables the guest sees.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl Capabilities {
    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty() && !self.network && self.env.is_empty()
    }
}

/// A host directory preopened for the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it (`/data`).
    pub guest: String,
    /// Whether the guest may write; read-only by default.
    #[serde(default)]
    pub writable: bool,
}

impl DirGrant {
    /// A read-only grant of `host` as `guest`.
    pub fn read_only(host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            guest: guest.into(),
            writable: false,
        }
    }
}

impl UnitSpec {
    /// A unit description with no capabilities.
    pub fn new(
        name: impl Into<String>,
        component: impl Into<PathBuf>,
        stateless: bool,
        functions: Vec<FunctionSpec>,
    ) -> Self {
        Self {
            name: name.into(),
            component: component.into(),
            stateless,
            functions,
            capabilities: Capabilities::default(),
        }
    }
}

impl Deployment {
    /// A deployment of `units`.
    pub fn new(app: impl Into<String>, units: Vec<UnitSpec>) -> Self {
        Self {
            app: app.into(),
            node: None,
            serves: Vec::new(),
            remote: Vec::new(),
            units,
        }
    }

    /// Reads and checks a deployment file.
    pub fn load(path: &Path) -> Result<Self, HostError> {
        let err = |message: String| HostError::Deployment {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::from_json(&text).map_err(err)
    }

    /// Parses and checks the text of a deployment file, as [`Self::load`]
    /// does after reading it: the message says what is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let deployment: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        deployment.check()?;
        Ok(deployment)
    }

    /// Writes the deployment as pretty JSON.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(path, text)
    }

    /// Checks that unit and function names are unique and units non-empty.
    pub fn check(&self) -> Result<(), String> {
        let mut units = std::collections::BTreeSet::new();
        let mut functions = std::collections::BTreeSet::new();
        if self.units.is_empty() {
            return Err("the deployment has no units".into());
        }
        for unit in &self.units {
            if !units.insert(&unit.name) {
                return Err(format!("unit `{}` appears twice", unit.name));
            }
            if unit.functions.is_empty() {
                return Err(format!("unit `{}` has no functions", unit.name));
            }
            for f in &unit.functions {
                if !functions.insert(&f.name) {
                    return Err(format!("function `{}` is in two units", f.name));
                }
            }
        }
        let mut remote = std::collections::BTreeSet::new();
        for r in &self.remote {
            if !remote.insert(&r.interface) {
                return Err(format!("remote interface `{}` appears twice", r.interface));
            }
            let local = self
                .units
                .iter()
                .flat_map(|u| &u.functions)
                .any(|f| f.exports.contains(&r.interface));
            if local {
                return Err(format!(
                    "`{}` is both remote and exported by a function here",
                    r.interface
                ));
            }
        }
        Ok(())
    }

    /// The component file of `unit`, resolved against the directory of the
    /// deployment file: the precompiled `.cwasm` if it exists, else the
    /// file as written.
    pub fn component_path(base: &Path, unit: &UnitSpec) -> PathBuf {
        let path = base.join(&unit.component);
        let cwasm = path.with_extension("cwasm");
        if cwasm.is_file() { cwasm } else { path }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks() {
        let mut unit = UnitSpec::new(
            "a+b",
            "units/a+b.wasm",
            true,
            vec![
                FunctionSpec::new("a", "a", "x:y/a-lifecycle"),
                FunctionSpec::new("b", "b_fn", "x:y/b-lifecycle"),
            ],
        );
        unit.capabilities
            .dirs
            .push(DirGrant::read_only("/tmp", "/data"));
        let d = Deployment::new("app", vec![unit.clone()]);
        let text = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Deployment>(&text).unwrap(), d);
        assert_eq!(d.check(), Ok(()));

        let twice = Deployment::new("app", vec![unit.clone(), unit]);
        assert_eq!(twice.check(), Err("unit `a+b` appears twice".to_string()));
        assert!(
            serde_json::from_str::<Deployment>(r#"{"app":"x","units":[],"extra":1}"#)
                .unwrap_err()
                .to_string()
                .contains("unknown field `extra`")
        );
    }
}
