//! How an app's functions are split into units, the components the host
//! instantiates.
//!
//! * A function that keeps state (not `stateless = true`) is a unit of its
//!   own. The host gives it exactly one instance, as its native process had
//!   one, and serves every call to it (host-mediated), serialised.
//! * A function with capability grants is a unit of its own too, so that
//!   its grants are not shared with the functions composed beside it.
//! * The other (stateless) functions are grouped by the calls between them
//!   that are to be fused ([`LinkMode`]): each connected group is composed
//!   statically into one unit (calls inside it cross wasmtime's fused
//!   adapters), which the host pools. The other calls are host-mediated.
//!
//! # The cost model behind [`LinkMode::Auto`]
//!
//! A fused call copies its arguments in wasmtime's adapter, a list one
//! element at a time (about 0.33 ns per byte of `list<u8>` in wasmtime 48),
//! but costs almost nothing fixed (about 10 ns). A host-mediated call costs
//! a fixed few hundred nanoseconds (host function, instance checkout,
//! deadline) and then copies lists with `memcpy`. The crossover is below a
//! kilobyte (see `cargo bench -p cofaas-host --bench edge`), so an edge is
//! fused only when none of its messages can grow: no `string`, `bytes`,
//! `repeated` or `map` anywhere in a request or reply of the service.

use std::collections::BTreeMap;

use crate::manifest::Manifest;

/// How calls between stateless functions are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkMode {
    /// Per edge, by the cost model (see the module docs).
    #[default]
    Auto,
    /// Every call between stateless functions fused (composed statically).
    Fused,
    /// Every call host-mediated: each function is a unit of its own.
    Mediated,
}

impl std::str::FromStr for LinkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(LinkMode::Auto),
            "fused" => Ok(LinkMode::Fused),
            "mediated" => Ok(LinkMode::Mediated),
            other => Err(format!(
                "unknown link mode `{other}` (expected auto, fused or mediated)"
            )),
        }
    }
}

/// Whether a call through `service` (proto name) should be fused under
/// the cost model: none of its messages holds a string or list.
pub fn fuse_by_cost(map: &proto2wit::Map, service: &str) -> bool {
    map.services.get(service).is_some_and(|s| {
        s.methods.iter().all(|m| {
            !grpc_shim_gen::wit_has_list(map, &m.input)
                && !grpc_shim_gen::wit_has_list(map, &m.output)
        })
    })
}

/// Whether a call through `service` (proto name) is fused under `link`:
/// as `link` says; under [`LinkMode::Auto`], always for a service with
/// streaming rpcs (a mediated stream crosses the host once a message),
/// else by [`fuse_by_cost`].
pub fn fuses(map: &proto2wit::Map, link: LinkMode, service: &str) -> bool {
    match link {
        LinkMode::Fused => true,
        LinkMode::Mediated => false,
        LinkMode::Auto => has_streaming(map, service) || fuse_by_cost(map, service),
    }
}

/// Whether service `service` (proto name) has a streaming rpc.
pub fn has_streaming(map: &proto2wit::Map, service: &str) -> bool {
    map.services
        .get(service)
        .is_some_and(|s| s.methods.iter().any(|m| !m.is_unary()))
}

/// One planned unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPlan {
    /// `a` for one function, `a+b` for a composition.
    pub name: String,
    /// Its functions, in name order.
    pub functions: Vec<String>,
    /// Whether it may be pooled.
    pub stateless: bool,
}

/// Who calls whom: `function → functions it calls`, from the manifest's
/// exports and imports.
pub fn call_graph(manifest: &Manifest) -> BTreeMap<&str, Vec<&str>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, f) in &manifest.functions {
        let callees = graph.entry(name).or_default();
        for service in &f.imports {
            for (other, g) in &manifest.functions {
                if other != name && g.exports.contains(service) && !callees.contains(&&**other) {
                    callees.push(other);
                }
            }
        }
    }
    graph
}

/// A call cycle, if the functions have one (`a → b → a`): the host would
/// deadlock re-entering a single-instance function, and composition
/// needs an order.
pub fn find_cycle(graph: &BTreeMap<&str, Vec<&str>>) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let start = stack.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(node, 1);
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(node, 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// Splits the app into units (see the module docs), ordered by their first
/// function's name. `fuse(service)` says whether a call through that
/// service (proto name) may be fused.
pub fn plan_units(manifest: &Manifest, fuse: impl Fn(&str) -> bool) -> Vec<UnitPlan> {
    let graph = call_graph(manifest);
    let fused_edge = |caller: &str, callee: &str| {
        let (Some(f), Some(g)) = (
            manifest.functions.get(caller),
            manifest.functions.get(callee),
        ) else {
            return false;
        };
        f.imports
            .iter()
            .filter(|s| g.exports.contains(s))
            .all(|s| fuse(s))
    };
    let groupable = |name: &str| {
        manifest
            .functions
            .get(name)
            .is_some_and(|f| f.stateless && f.grants.is_empty() && !f.is_external())
    };
    // Union-find over the calls between groupable functions on one node
    // (external functions are not built, so in no unit).
    let names: Vec<&str> = manifest
        .functions
        .iter()
        .filter(|(_, f)| !f.is_external())
        .map(|(name, _)| name.as_str())
        .collect();
    let mut parent: Vec<usize> = (0..names.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let index = |n: &str| names.iter().position(|m| *m == n);
    for (caller, callees) in &graph {
        for callee in callees {
            if let (true, true, true, true, Some(a), Some(b)) = (
                groupable(caller),
                groupable(callee),
                manifest.node_of(caller) == manifest.node_of(callee),
                fused_edge(caller, callee),
                index(caller),
                index(callee),
            ) {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(name.to_string());
    }
    groups
        .into_values()
        .map(|functions| UnitPlan {
            name: functions.join("+"),
            stateless: functions.iter().all(|f| manifest.functions[f].stateless),
            functions,
        })
        .collect()
}

/// How one call between functions is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeMode {
    /// Inside one composed unit: a direct component call (fused adapter).
    Fused,
    /// Between units on one node: a typed host function.
    Mediated,
    /// To another node or an external function: gRPC over the network.
    Remote,
}

impl std::fmt::Display for EdgeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EdgeMode::Fused => "fused",
            EdgeMode::Mediated => "mediated",
            EdgeMode::Remote => "remote",
        })
    }
}

/// One call edge: `caller` calls `service`, which `callee` serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The calling function.
    pub caller: String,
    /// The service called (`package.Service`).
    pub service: String,
    /// The function serving it.
    pub callee: String,
    /// How the call is made.
    pub mode: EdgeMode,
}

/// Every call edge of the app and its mode under `units` (the plan of
/// [`plan_units`]), sorted by caller and service.
pub fn edges(manifest: &Manifest, units: &[UnitPlan]) -> Vec<Edge> {
    let unit_of = |f: &str| {
        units
            .iter()
            .position(|u| u.functions.iter().any(|g| g == f))
    };
    let mut out = Vec::new();
    for (caller, f) in &manifest.functions {
        for service in &f.imports {
            let Some(callee) = manifest.exporter(service) else {
                continue;
            };
            let local = manifest.node_of(caller).is_some()
                && manifest.node_of(caller) == manifest.node_of(callee);
            let mode = if !local {
                EdgeMode::Remote
            } else if unit_of(caller) == unit_of(callee) {
                EdgeMode::Fused
            } else {
                EdgeMode::Mediated
            };
            out.push(Edge {
                caller: caller.clone(),
                service: service.clone(),
                callee: callee.to_string(),
                mode,
            });
        }
    }
    out
}

/// What one node's host serves and calls out to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeServices {
    /// The services it serves over gRPC: the public services of its
    /// functions, and the services functions elsewhere (other nodes,
    /// externals) call.
    pub serves: Vec<String>,
    /// The services its functions call that are served elsewhere, with the
    /// function serving each and that function's node (`None`: external).
    pub remote: Vec<(String, String, Option<String>)>,
}

/// The services node `node` serves and calls remotely. With `node`
/// `None`, the whole app on one node (every built function is local).
pub fn node_services(manifest: &Manifest, node: Option<&str>) -> NodeServices {
    let here = |f: &str| match node {
        Some(n) => manifest.node_of(f) == Some(n),
        None => manifest.node_of(f).is_some(),
    };
    let mut serves = std::collections::BTreeSet::new();
    let mut remote = std::collections::BTreeMap::new();
    for (name, f) in &manifest.functions {
        if here(name) && manifest.app.entries.contains(name) {
            serves.extend(f.exports.iter().cloned());
        }
        for service in &f.imports {
            let Some(callee) = manifest.exporter(service) else {
                continue;
            };
            if here(name) && !here(callee) {
                let node = manifest.node_of(callee).map(str::to_string);
                remote.insert(service.clone(), (callee.to_string(), node));
            } else if !here(name) && here(callee) {
                serves.insert(service.clone());
            }
        }
    }
    NodeServices {
        serves: serves.into_iter().collect(),
        remote: remote
            .into_iter()
            .map(|(service, (callee, node))| (service, callee, node))
            .collect(),
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

    fn f(name: &str, exports: &str, imports: &str, extra: &str) -> String {
        format!(
            "[functions.{name}]\npath = \"{name}\"\nlanguage = \"rust\"\nexports = [{exports}]\nimports = [{imports}]\n{extra}\n"
        )
    }

    /// The map of services `s.Flat` (unary) and `s.Stream` (one
    /// server-streaming rpc).
    fn streaming_map() -> proto2wit::Map {
        let fds = proto2wit::compile_sources(&[(
            "s.proto",
            "syntax = \"proto3\"; package s; message M { string v = 1; }\n\
             service Flat { rpc One(M) returns (M); }\n\
             service Stream { rpc Many(M) returns (stream M); }",
        )])
        .unwrap();
        proto2wit::generate(&fds, None, &Default::default())
            .unwrap()
            .map
    }

    #[test]
    fn a_streaming_edge_is_fused_mediated_or_remote() {
        let map = streaming_map();
        // `auto` fuses a streaming edge even with a string in its messages;
        // `--link mediated` mediates it, as a flat service.
        assert!(fuses(&map, LinkMode::Auto, "s.Stream"));
        assert!(!fuses(&map, LinkMode::Auto, "s.Flat"));
        assert!(!fuses(&map, LinkMode::Mediated, "s.Stream"));
        assert!(!fuses(&map, LinkMode::Mediated, "s.Flat"));
        let mode = |extra_a: &str, extra_b: &str, link: LinkMode| {
            let m = manifest(
                &[
                    f("a", "\"A\"", "\"s.Stream\"", extra_a),
                    f("b", "\"s.Stream\"", "", extra_b),
                ]
                .concat(),
            );
            let units = plan_units(&m, |s| fuses(&map, link, s));
            let modes: Vec<EdgeMode> = edges(&m, &units).iter().map(|e| e.mode).collect();
            (units.len(), modes)
        };
        let stateless = "stateless = true";
        assert_eq!(
            mode(stateless, stateless, LinkMode::Auto),
            (1, vec![EdgeMode::Fused])
        );
        assert_eq!(
            mode(stateless, stateless, LinkMode::Mediated),
            (2, vec![EdgeMode::Mediated])
        );
        // Into a stateful callee the call is host-mediated.
        assert_eq!(
            mode(stateless, "", LinkMode::Auto),
            (2, vec![EdgeMode::Mediated])
        );
        // Across nodes it is remote.
        assert_eq!(
            mode(
                "stateless = true\nnode = \"one\"",
                "stateless = true\nnode = \"two\"",
                LinkMode::Auto
            ),
            (2, vec![EdgeMode::Remote])
        );
    }

    #[test]
    fn stateless_neighbours_compose_stateful_ones_stand_alone() {
        // a → b → s (stateful) → c; d alone; e has grants.
        let m = manifest(
            &[
                f("a", "\"A\"", "\"B\", \"E\"", "stateless = true"),
                f("b", "\"B\"", "\"S\"", "stateless = true"),
                f("s", "\"S\"", "\"C\"", ""),
                f("c", "\"C\"", "", "stateless = true"),
                f("d", "\"D\"", "", "stateless = true"),
                f(
                    "e",
                    "\"E\"",
                    "",
                    "stateless = true\n[functions.e.grants]\nnetwork = true",
                ),
            ]
            .concat(),
        );
        let units = plan_units(&m, |_| true);
        let names: Vec<(&str, bool)> = units
            .iter()
            .map(|u| (u.name.as_str(), u.stateless))
            .collect();
        assert_eq!(
            names,
            [
                ("a+b", true),
                ("c", true),
                ("d", true),
                ("e", true),
                ("s", false)
            ]
        );
        assert_eq!(find_cycle(&call_graph(&m)), None);
        // With a → b host-mediated, a and b are units of their own.
        let names: Vec<String> = plan_units(&m, |s| s != "B")
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "s"]);
    }

    #[test]
    fn placement_splits_units_and_makes_remote_edges() {
        // a → b → c on node x; b → d on node y; a → e (external).
        let m = manifest(
            &[
                f(
                    "a",
                    "\"A\"",
                    "\"B\", \"E\"",
                    "stateless = true\nnode = \"x\"",
                ),
                f(
                    "b",
                    "\"B\"",
                    "\"C\", \"D\"",
                    "stateless = true\nnode = \"x\"",
                ),
                f("c", "\"C\"", "", "node = \"x\""),
                f("d", "\"D\"", "", "stateless = true\nnode = \"y\""),
                "[functions.e]\nlanguage = \"external\"\nexports = [\"E\"]\n".to_string(),
            ]
            .concat(),
        );
        let units = plan_units(&m, |_| true);
        let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["a+b", "c", "d"]);
        let all_edges = edges(&m, &units);
        let modes: Vec<(&str, &str, EdgeMode)> = all_edges
            .iter()
            .map(|e| (e.caller.as_str(), e.service.as_str(), e.mode))
            .collect();
        assert_eq!(
            modes,
            [
                ("a", "B", EdgeMode::Fused),
                ("a", "E", EdgeMode::Remote),
                ("b", "C", EdgeMode::Mediated),
                ("b", "D", EdgeMode::Remote),
            ]
        );
        let x = node_services(&m, Some("x"));
        assert_eq!(x.serves, ["A"]);
        assert_eq!(
            x.remote,
            [
                ("D".to_string(), "d".to_string(), Some("y".to_string())),
                ("E".to_string(), "e".to_string(), None),
            ]
        );
        let y = node_services(&m, Some("y"));
        assert_eq!(y.serves, ["D"]);
        assert!(y.remote.is_empty());
        let all = node_services(&m, None);
        assert_eq!(all.serves, ["A"]);
        assert_eq!(all.remote.len(), 1);
        assert_eq!(m.nodes(), ["x", "y"]);
    }

    #[test]
    fn cycles_are_found() {
        let m = manifest(
            &[
                f("a", "\"A\"", "\"B\"", ""),
                f("b", "\"B\"", "\"C\"", ""),
                f("c", "\"C\"", "\"B\"", ""),
            ]
            .concat(),
        );
        assert_eq!(
            find_cycle(&call_graph(&m)),
            Some(vec!["b".to_string(), "c".to_string(), "b".to_string()])
        );
    }
}
