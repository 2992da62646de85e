//! `cofaas plan`: proposes a placement of an app's functions on several
//! nodes that keeps the heaviest traffic local.
//!
//! The input is a traffic profile scraped from a running host's metrics
//! ([`fetch_metrics`], [`parse_metrics`], [`memory_from_metrics`]) and the
//! app's functions as `cofaas.toml` describes them ([`FunctionInfo`]).
//! [`propose`] partitions the placeable functions into exactly
//! [`PlanOptions::nodes`] groups, minimising the cost of the calls that cross
//! nodes, and [`render`] prints the `node = "..."` lines to paste into
//! `cofaas.toml` with the cross-node traffic of the proposal next to that of
//! the current placement.
//!
//! ```
//! use cofaas::plan::{self, FunctionInfo, PlanOptions};
//!
//! let metrics = "\
//! cofaas_uptime_seconds 10
//! cofaas_edge_calls_total{caller=\"front\",callee=\"cart\",method=\"get\"} 1000
//! cofaas_edge_calls_total{caller=\"front\",callee=\"ads\",method=\"get\"} 10
//! cofaas_edge_calls_total{caller=\"ads\",callee=\"catalog\",method=\"list\"} 500
//! ";
//! let profile = plan::parse_metrics(metrics)?;
//! let functions: Vec<FunctionInfo> = ["ads", "cart", "catalog", "front"]
//!     .into_iter()
//!     .map(FunctionInfo::new)
//!     .collect();
//! let proposed = plan::propose(&functions, &profile, &PlanOptions::new(2))?;
//! // front-ads (1 call/s) is the cheapest edge to cut.
//! assert_eq!(proposed.cross_calls_per_s, 1.0);
//! assert_eq!(proposed.nodes["front"], proposed.nodes["cart"]);
//! assert_eq!(proposed.nodes["ads"], proposed.nodes["catalog"]);
//! let current = plan::current_placement(&functions, &profile);
//! println!("{}", plan::render(&current, &proposed, &functions));
//! # Ok::<(), plan::PlanError>(())
//! ```
//!
//! # The model
//!
//! * The cost of a placement is the sum, over the edges whose two endpoints
//!   are on different nodes, of `calls/s + bytes_weight * bytes/s` (both
//!   directions of a pair of functions count).
//! * External functions ([`FunctionInfo::external`]) run on no node: every
//!   edge to or from one crosses the network whatever the placement, so it
//!   counts equally in the current and the proposed totals and does not pull
//!   any function towards a node.
//! * Every function is placed on exactly one node; the planner never
//!   replicates a function or splits it into pools on several nodes. This
//!   is what a stateful function ([`FunctionInfo::stateful`]) needs, and it
//!   is structural: a [`Placement`] maps each function to one node.
//! * Each of the `N` nodes gets at least one function (otherwise one node
//!   would always win), and with [`PlanOptions::max_memory_mib`] the
//!   functions' memory on a node must fit.
//!
//! # The search
//!
//! Up to [`EXACT_LIMIT`] placeable functions, a branch and bound over the
//! partitions into `N` unnamed groups finds the optimum (nodes are numbered
//! in order of first use, so each partition is visited once; the bound adds,
//! for each unplaced function, the least it must cut towards the placed
//! ones). Beyond that, and as the first incumbent of the exact search, a
//! heuristic runs: agglomerative greedy merging, greedy growth and a few
//! deterministic pseudo-random starts, each refined by Kernighan–Lin /
//! Fiduccia–Mattheyses passes of single moves and pairwise swaps. The
//! current placement, when it is feasible, is the first candidate and is
//! only replaced by a strictly cheaper one, so ties keep what is deployed;
//! otherwise ties go to the candidate found first, which is deterministic.
//!
//! Groups keep the name of the current node that holds most (more than half)
//! of their functions (functions `cofaas.toml` places nowhere vote for no
//! name); the others are named `node-1`, `node-2`, … (skipping names the
//! current placement uses).
//!
//! [`EXACT_LIMIT`]: crate::plan::EXACT_LIMIT
//! [`FunctionInfo::external`]: crate::plan::FunctionInfo::external
//! [`FunctionInfo::stateful`]: crate::plan::FunctionInfo::stateful
//! [`FunctionInfo`]: crate::plan::FunctionInfo
//! [`Placement`]: crate::plan::Placement
//! [`PlanOptions::max_memory_mib`]: crate::plan::PlanOptions::max_memory_mib
//! [`PlanOptions::nodes`]: crate::plan::PlanOptions::nodes
//! [`fetch_metrics`]: crate::plan::fetch_metrics
//! [`memory_from_metrics`]: crate::plan::memory_from_metrics
//! [`parse_metrics`]: crate::plan::parse_metrics
//! [`propose`]: crate::plan::propose
//! [`render`]: crate::plan::render

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    io::{Read, Write},
    net::{TcpStream, ToSocketAddrs},
    path::PathBuf,
    time::{Duration, Instant},
};

/// The default [`PlanOptions::bytes_weight`]: one call costs as much as
/// 1 KiB of payload (request and reply together).
pub const DEFAULT_BYTES_WEIGHT: f64 = 1.0 / 1024.0;

/// Up to this many placeable functions, [`propose`] searches exactly.
pub const EXACT_LIMIT: usize = 14;

/// The node [`current_placement`] gives functions `cofaas.toml` places
/// nowhere (they run on the one host every unplaced function shares).
pub const DEFAULT_NODE: &str = "default";

/// The exact search gives up (keeping its best so far, never worse than the
/// heuristic's) after visiting this many search nodes.
const EXACT_BUDGET: u64 = 2_000_000;

/// How long [`fetch_metrics`] waits to connect, and for each read or write.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`fetch_metrics`] waits for a whole response.
const HTTP_DEADLINE: Duration = Duration::from_secs(30);

/// The largest response [`fetch_metrics`] accepts.
const HTTP_MAX_BYTES: usize = 64 << 20;

const UPTIME: &str = "cofaas_uptime_seconds";
const EDGE_CALLS: &str = "cofaas_edge_calls_total";
const REMOTE_CALLS: &str = "cofaas_remote_calls_total";
const EDGE_BYTES: &str = "cofaas_edge_bytes_total";
const UNIT_MEMORY: &str = "cofaas_unit_memory_bytes";
const FAMILIES: [&str; 5] = [UPTIME, EDGE_CALLS, REMOTE_CALLS, EDGE_BYTES, UNIT_MEMORY];

/// One function of the app, as `cofaas.toml` and the metrics describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionInfo {
    /// Its name (the key of `[functions.<name>]`).
    pub name: String,
    /// Whether it keeps state, so it must run as one instance. The planner
    /// places every function on exactly one node, so this needs no special
    /// treatment; it is kept for the caller's output.
    pub stateful: bool,
    /// Whether it runs outside cofaas (on no node): its edges always cross
    /// the network.
    pub external: bool,
    /// Its node in the current `cofaas.toml`, if any.
    pub node: Option<String>,
    /// Its memory, in MiB (see [`memory_from_metrics`]); unknown counts 0.
    pub memory_mib: Option<f64>,
}

impl FunctionInfo {
    /// A stateless, placeable function placed nowhere yet, of unknown memory.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            stateful: false,
            external: false,
            node: None,
            memory_mib: None,
        }
    }
}

/// The functions of the app `manifest` describes, with their memory from
/// `memory` ([`memory_from_metrics`]).
pub fn functions_of(
    manifest: &crate::manifest::Manifest,
    memory: &BTreeMap<String, f64>,
) -> Vec<FunctionInfo> {
    manifest
        .functions
        .iter()
        .map(|(name, f)| FunctionInfo {
            name: name.clone(),
            stateful: !f.stateless,
            external: f.is_external(),
            node: f.node.clone(),
            memory_mib: memory.get(name).copied(),
        })
        .collect()
}

/// Traffic from one function to another (one direction).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeTraffic {
    /// The calling function.
    pub caller: String,
    /// The called function.
    pub callee: String,
    /// Calls per second, summed over methods.
    pub calls_per_s: f64,
    /// Request plus reply bytes per second, summed over methods.
    pub bytes_per_s: f64,
}

/// A traffic profile: the edges between functions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// One entry per (caller, callee), sorted.
    pub edges: Vec<EdgeTraffic>,
}

/// What [`propose`] optimises for.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    /// How many nodes; each gets at least one function.
    pub nodes: usize,
    /// The most memory (MiB) the functions on one node may have together.
    pub max_memory_mib: Option<f64>,
    /// The cost of one byte per second crossing nodes, relative to one call
    /// per second: the cost of an edge is `calls/s + bytes_weight * bytes/s`.
    /// [`DEFAULT_BYTES_WEIGHT`] makes one call worth 1 KiB.
    pub bytes_weight: f64,
}

impl PlanOptions {
    /// `nodes` nodes, no memory cap, [`DEFAULT_BYTES_WEIGHT`].
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes,
            max_memory_mib: None,
            bytes_weight: DEFAULT_BYTES_WEIGHT,
        }
    }
}

/// A placement and its cross-node traffic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// The node of each placeable function (externals are absent).
    pub nodes: BTreeMap<String, String>,
    /// Calls per second between functions on different nodes, or to and
    /// from externals.
    pub cross_calls_per_s: f64,
    /// Bytes per second of those calls.
    pub cross_bytes_per_s: f64,
}

/// Why a profile could not be read or no placement proposed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The metrics have no `cofaas_uptime_seconds`, so totals cannot become
    /// rates.
    #[error(
        "the metrics have no `cofaas_uptime_seconds` gauge, so their totals cannot be turned into rates (is this a cofaas host's /metrics?)"
    )]
    NoUptime,
    /// A line of one of the families read is not valid.
    #[error("metrics line {line}: {reason}: `{text}`")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
        /// The line.
        text: String,
    },
    /// Calls from a unit of several composed functions cannot be attributed
    /// to one of them.
    #[error(
        "metrics line {line}: unit `{unit}` is several functions composed into one, so its calls cannot be attributed to a function; profile a build made with `cofaas build --link mediated`"
    )]
    ComposedUnit {
        /// 1-based line number.
        line: usize,
        /// The unit's name.
        unit: String,
    },
    /// A metrics file could not be read.
    #[error("reading metrics from {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Fetching metrics over HTTP failed.
    #[error("fetching {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The options make no sense.
    #[error("invalid plan options: {0}")]
    Options(String),
    /// The app lists a function twice.
    #[error("function `{0}` is listed twice")]
    DuplicateFunction(String),
    /// A function's memory is not a size.
    #[error("function `{name}`: memory {memory_mib} MiB is not a size")]
    BadMemory {
        /// The function.
        name: String,
        /// Its memory.
        memory_mib: f64,
    },
    /// The profile names a function the app does not have.
    #[error(
        "the profile has traffic {caller} -> {callee}, but the app has no function `{unknown}` (metrics from another build?)"
    )]
    UnknownFunction {
        /// The calling function.
        caller: String,
        /// The called function.
        callee: String,
        /// The one the app lacks.
        unknown: String,
    },
    /// A rate in the profile is negative or not a number.
    #[error(
        "the profile's traffic {caller} -> {callee} is not a rate ({calls_per_s} calls/s, {bytes_per_s} bytes/s)"
    )]
    BadTraffic {
        /// The calling function.
        caller: String,
        /// The called function.
        callee: String,
        /// Its calls/s.
        calls_per_s: f64,
        /// Its bytes/s.
        bytes_per_s: f64,
    },
    /// Fewer placeable functions than nodes.
    #[error(
        "{placeable} placeable (non-external) functions cannot fill {nodes} nodes, each of which needs at least one"
    )]
    TooFewFunctions {
        /// Placeable functions.
        placeable: usize,
        /// Nodes asked for.
        nodes: usize,
    },
    /// One function alone exceeds the memory cap.
    #[error(
        "function `{name}` needs {memory_mib} MiB, more than the {max_memory_mib} MiB a node may hold"
    )]
    FunctionTooBig {
        /// The function.
        name: String,
        /// Its memory.
        memory_mib: f64,
        /// The cap.
        max_memory_mib: f64,
    },
    /// No placement satisfies the constraints.
    #[error("no feasible placement: {0}")]
    Infeasible(String),
}

// ---------------------------------------------------------------------------
// Metrics

/// One sample of the families read.
#[derive(Debug)]
struct Sample {
    name: &'static str,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one exposition line: `None` for comments, blank lines and
/// families not read; `Err(reason)` for a malformed line of a family read.
fn parse_line(line: &str) -> Result<Option<Sample>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let Some(&name) = FAMILIES.iter().find(|f| **f == &line[..end]) else {
        return Ok(None);
    };
    let mut rest = &line[end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels)?;
    }
    if !rest.starts_with([' ', '\t']) {
        return Err("expected a space and a value after the name and labels".into());
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("missing value")?;
    let value: f64 = value
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("`{ts}` is not a timestamp"))?;
    }
    if fields.next().is_some() {
        return Err("trailing text after the value and timestamp".into());
    }
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{value} is not a count or size"));
    }
    Ok(Some(Sample {
        name,
        labels,
        value,
    }))
}

/// Parses `name="value",...}` into `labels`; returns what follows the `}`.
fn parse_labels<'a>(mut s: &'a str, labels: &mut Vec<(String, String)>) -> Result<&'a str, String> {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok(rest);
        }
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        let key = &s[..end];
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
            return Err("expected a label name".into());
        }
        s = s[end..].trim_start();
        s = s
            .strip_prefix('=')
            .ok_or_else(|| format!("expected `=` after label `{key}`"))?
            .trim_start();
        s = s
            .strip_prefix('"')
            .ok_or_else(|| format!("expected `\"` to open label `{key}`'s value"))?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let close = loop {
            match chars.next() {
                None => return Err(format!("label `{key}`'s value is not closed")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => {
                        return Err(format!("unknown escape `\\{c}` in label `{key}`"));
                    }
                    None => return Err(format!("label `{key}`'s value is not closed")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        if labels.iter().any(|(k, _)| k == key) {
            return Err(format!("label `{key}` given twice"));
        }
        labels.push((key.to_string(), value));
        s = s[close + 1..].trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err("expected `,` or `}` after a label".into());
        }
    }
}

/// Reads a traffic profile from a host's metrics (the Prometheus text
/// format, counters since the host started).
///
/// * `cofaas_uptime_seconds` divides the totals into rates; without it this
///   is [`PlanError::NoUptime`].
/// * `cofaas_edge_calls_total` (host-mediated calls within a node) and
///   `cofaas_remote_calls_total` (calls that already cross nodes) are
///   disjoint and add up; `cofaas_edge_bytes_total` counts the request and
///   reply bytes of both. Each is summed over `method` per `caller` and
///   `callee`.
/// * A `caller` (or `callee`) named `a+b` is a unit of several functions
///   composed into one; whose call it was is unknown, so this refuses it
///   ([`PlanError::ComposedUnit`]) rather than guess: profile a build made
///   with `--link mediated`, where every unit is one function.
/// * `cofaas_unit_memory_bytes` lines are checked here and read by
///   [`memory_from_metrics`]. Every other line (comments, histograms,
///   other families) is ignored.
///
/// A malformed line of these families is [`PlanError::Malformed`], with its
/// line number.
pub fn parse_metrics(text: &str) -> Result<Profile, PlanError> {
    let mut uptime = None;
    let mut totals: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let malformed = |reason: String| PlanError::Malformed {
            line,
            reason,
            text: raw.trim().to_string(),
        };
        let Some(sample) = parse_line(raw).map_err(malformed)? else {
            continue;
        };
        match sample.name {
            UPTIME => {
                if uptime.is_some() {
                    return Err(malformed("a second `cofaas_uptime_seconds`".into()));
                }
                if sample.value <= 0.0 {
                    return Err(malformed("the uptime must be positive".into()));
                }
                uptime = Some(sample.value);
            }
            UNIT_MEMORY => {
                if sample.label("unit").is_none() {
                    return Err(malformed("no `unit` label".into()));
                }
            }
            name => {
                let (Some(caller), Some(callee)) = (sample.label("caller"), sample.label("callee"))
                else {
                    return Err(malformed("needs `caller` and `callee` labels".into()));
                };
                for unit in [caller, callee] {
                    if unit.contains('+') {
                        return Err(PlanError::ComposedUnit {
                            line,
                            unit: unit.to_string(),
                        });
                    }
                }
                let entry = totals
                    .entry((caller.to_string(), callee.to_string()))
                    .or_default();
                if name == EDGE_BYTES {
                    entry.1 += sample.value;
                } else {
                    entry.0 += sample.value;
                }
            }
        }
    }
    let uptime = uptime.ok_or(PlanError::NoUptime)?;
    Ok(Profile {
        edges: totals
            .into_iter()
            .map(|((caller, callee), (calls, bytes))| EdgeTraffic {
                caller,
                callee,
                calls_per_s: calls / uptime,
                bytes_per_s: bytes / uptime,
            })
            .collect(),
    })
}

/// The memory of each function, in MiB, from `cofaas_unit_memory_bytes`
/// (summed over the unit's series). A composed unit `a+b` is split evenly
/// between its functions: an estimate, which is all a memory cap needs.
/// Malformed lines are skipped ([`parse_metrics`] reports them).
pub fn memory_from_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut memory = BTreeMap::new();
    for line in text.lines() {
        let Ok(Some(sample)) = parse_line(line) else {
            continue;
        };
        if sample.name != UNIT_MEMORY {
            continue;
        }
        let Some(unit) = sample.label("unit") else {
            continue;
        };
        let parts: Vec<&str> = unit.split('+').filter(|p| !p.is_empty()).collect();
        let share = sample.value / (1024.0 * 1024.0) / parts.len().max(1) as f64;
        for part in parts {
            *memory.entry(part.to_string()).or_insert(0.0) += share;
        }
    }
    memory
}

/// The metrics text at `source`: a file path, or `http://host[:port][/path]`
/// (a plain HTTP/1.1 GET; the path defaults to `/metrics`, the port to 80;
/// connecting and each read time out after 5 s, the whole response after
/// 30 s). HTTPS is not supported.
pub fn fetch_metrics(source: &str) -> Result<String, PlanError> {
    if let Some(rest) = source.strip_prefix("http://") {
        return http_get(source, rest);
    }
    if source.contains("://") {
        return Err(PlanError::Http {
            url: source.to_string(),
            reason: "only plain http:// URLs (or file paths) are supported".into(),
        });
    }
    std::fs::read_to_string(source).map_err(|source_err| PlanError::Read {
        path: PathBuf::from(source),
        source: source_err,
    })
}

fn http_get(url: &str, rest: &str) -> Result<String, PlanError> {
    let fail = |reason: String| PlanError::Http {
        url: url.to_string(),
        reason,
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/metrics"),
    };
    let path = if path.starts_with('?') {
        format!("/metrics{path}")
    } else {
        path.to_string()
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(fail("expected http://host[:port][/path]".into()));
    }
    let has_port = match authority.rfind(']') {
        Some(bracket) => authority[bracket..].contains(':'),
        None => authority.contains(':'),
    };
    let target = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addrs = target
        .to_socket_addrs()
        .map_err(|e| fail(format!("resolving {target}: {e}")))?;
    let mut last = format!("{target} resolves to no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, HTTP_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("connecting to {addr}: {e}"),
        }
    }
    let mut stream = stream.ok_or_else(|| fail(last))?;
    let io = |what: &str, e: std::io::Error| fail(format!("{what}: {e}"));
    stream
        .set_read_timeout(Some(HTTP_TIMEOUT))
        .map_err(|e| io("setting a timeout", e))?;
    stream
        .set_write_timeout(Some(HTTP_TIMEOUT))
        .map_err(|e| io("setting a timeout", e))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: text/plain\r\nConnection: close\r\nUser-Agent: cofaas-plan\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| io("sending the request", e))?;
    let start = Instant::now();
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if start.elapsed() > HTTP_DEADLINE {
            return Err(fail(format!(
                "no complete response within {} s",
                HTTP_DEADLINE.as_secs()
            )));
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io("reading the response", e)),
        }
        if response.len() > HTTP_MAX_BYTES {
            return Err(fail(format!(
                "the response exceeds {} MiB",
                HTTP_MAX_BYTES >> 20
            )));
        }
        // A complete response of known length need not wait for the close.
        if let Some(len) = complete_length(&response) {
            response.truncate(len);
            break;
        }
    }
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| fail("the response has no complete header".into()))?;
    let head = String::from_utf8_lossy(&response[..head_end]);
    let mut head_lines = head.split("\r\n");
    let status = head_lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if !status.starts_with("HTTP/1.") || code != "200" {
        return Err(fail(format!("the server answered `{status}`")));
    }
    let mut chunked = false;
    let mut length = None;
    for header in head_lines {
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| fail(format!("bad content-length `{value}`")))?,
            );
        }
    }
    let body = &response[head_end + 4..];
    let body = if chunked {
        dechunk(body).ok_or_else(|| fail("malformed chunked body".into()))?
    } else if let Some(length) = length {
        if body.len() < length {
            return Err(fail(format!(
                "the body ended after {} of {length} bytes",
                body.len()
            )));
        }
        body[..length].to_vec()
    } else {
        body.to_vec()
    };
    String::from_utf8(body).map_err(|_| fail("the body is not UTF-8".into()))
}

/// The full length of `response` if its head is complete and gives a
/// `content-length` the bytes so far reach.
fn complete_length(response: &[u8]) -> Option<usize> {
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..head_end]);
    let length = head.split("\r\n").skip(1).find_map(|h| {
        let (name, value) = h.split_once(':')?;
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Some(None);
        }
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
    })??;
    let total = head_end + 4 + length;
    (response.len() >= total).then_some(total)
}

/// Decodes a chunked transfer-encoded body.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = line.split(';').next()?.trim();
        let size = usize::from_str_radix(size, 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

// ---------------------------------------------------------------------------
// Evaluation

/// The cross-node calls/s and bytes/s of `placement` (function → node):
/// an edge is local when both its functions are in `placement` on the same
/// node and neither is external; every other edge crosses (edges to and from
/// externals always do). A function calling itself is always local.
pub fn evaluate(
    functions: &[FunctionInfo],
    profile: &Profile,
    placement: &BTreeMap<String, String>,
) -> (f64, f64) {
    let external: BTreeSet<&str> = functions
        .iter()
        .filter(|f| f.external)
        .map(|f| f.name.as_str())
        .collect();
    let node = |name: &str| {
        if external.contains(name) {
            None
        } else {
            placement.get(name)
        }
    };
    let (mut calls, mut bytes) = (0.0, 0.0);
    for e in &profile.edges {
        if e.caller == e.callee {
            continue;
        }
        let local = match (node(&e.caller), node(&e.callee)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if !local {
            calls += e.calls_per_s;
            bytes += e.bytes_per_s;
        }
    }
    (calls, bytes)
}

/// The placement `cofaas.toml` describes now: each placeable function on its
/// [`FunctionInfo::node`], or on [`DEFAULT_NODE`] if it has none.
pub fn current_placement(functions: &[FunctionInfo], profile: &Profile) -> Placement {
    let nodes: BTreeMap<String, String> = functions
        .iter()
        .filter(|f| !f.external)
        .map(|f| {
            let node = f.node.clone().unwrap_or_else(|| DEFAULT_NODE.to_string());
            (f.name.clone(), node)
        })
        .collect();
    let (cross_calls_per_s, cross_bytes_per_s) = evaluate(functions, profile, &nodes);
    Placement {
        nodes,
        cross_calls_per_s,
        cross_bytes_per_s,
    }
}

// ---------------------------------------------------------------------------
// The optimisation problem

/// The placeable functions (sorted by name), their memory, and the symmetric
/// cost of cutting each pair.
#[derive(Debug, Clone)]
struct Problem {
    names: Vec<String>,
    mem: Vec<f64>,
    w: Vec<Vec<f64>>,
    k: usize,
    cap: Option<f64>,
    eps: f64,
}

/// A node index per function.
type Assign = Vec<usize>;

impl Problem {
    fn n(&self) -> usize {
        self.names.len()
    }

    fn fits(&self, load: f64, extra: f64) -> bool {
        self.cap
            .is_none_or(|cap| load + extra <= cap + self.eps_mem())
    }

    fn eps_mem(&self) -> f64 {
        self.cap.map_or(0.0, |cap| cap * 1e-9)
    }

    fn cost(&self, a: &[usize]) -> f64 {
        let mut cost = 0.0;
        for i in 0..self.n() {
            for j in i + 1..self.n() {
                if a[i] != a[j] {
                    cost += self.w[i][j];
                }
            }
        }
        cost
    }

    /// Every node used, each within the memory cap.
    fn feasible(&self, a: &[usize]) -> bool {
        if a.len() != self.n() || a.iter().any(|&c| c >= self.k) {
            return false;
        }
        let mut count = vec![0usize; self.k];
        let mut load = vec![0.0; self.k];
        for (i, &c) in a.iter().enumerate() {
            count[c] += 1;
            load[c] += self.mem[i];
        }
        count.iter().all(|&c| c > 0) && load.iter().all(|&l| self.fits(l, 0.0))
    }
}

/// Nodes renumbered in order of first use, so equal partitions compare equal.
fn canonical(a: &[usize]) -> Assign {
    let mut map = BTreeMap::new();
    a.iter()
        .map(|c| {
            let next = map.len();
            *map.entry(*c).or_insert(next)
        })
        .collect()
}

/// The best of several candidates: replaced only by a strictly cheaper one.
#[derive(Debug, Default)]
struct Best {
    found: Option<(Assign, f64)>,
}

impl Best {
    fn offer(&mut self, p: &Problem, a: Assign) {
        if !p.feasible(&a) {
            return;
        }
        let cost = p.cost(&a);
        if self.found.as_ref().is_none_or(|(_, c)| cost < c - p.eps) {
            self.found = Some((canonical(&a), cost));
        }
    }

    fn cost(&self) -> f64 {
        self.found.as_ref().map_or(f64::INFINITY, |(_, c)| *c)
    }
}

fn build_problem(
    functions: &[FunctionInfo],
    profile: &Profile,
    opts: &PlanOptions,
) -> Result<Problem, PlanError> {
    if opts.nodes == 0 {
        return Err(PlanError::Options("at least one node is needed".into()));
    }
    if !(opts.bytes_weight.is_finite() && opts.bytes_weight >= 0.0) {
        return Err(PlanError::Options(format!(
            "bytes_weight {} must be a non-negative number",
            opts.bytes_weight
        )));
    }
    if let Some(cap) = opts.max_memory_mib
        && !(cap.is_finite() && cap > 0.0)
    {
        return Err(PlanError::Options(format!(
            "max_memory_mib {cap} must be a positive number"
        )));
    }
    let mut by_name = BTreeMap::new();
    for f in functions {
        if by_name.insert(f.name.as_str(), f).is_some() {
            return Err(PlanError::DuplicateFunction(f.name.clone()));
        }
        if let Some(m) = f.memory_mib
            && !(m.is_finite() && m >= 0.0)
        {
            return Err(PlanError::BadMemory {
                name: f.name.clone(),
                memory_mib: m,
            });
        }
    }
    // BTreeMap order: sorted by name, whatever order `functions` came in.
    let placeable: Vec<&FunctionInfo> = by_name.values().filter(|f| !f.external).copied().collect();
    if placeable.len() < opts.nodes {
        return Err(PlanError::TooFewFunctions {
            placeable: placeable.len(),
            nodes: opts.nodes,
        });
    }
    let index: BTreeMap<&str, usize> = placeable
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    let n = placeable.len();
    let mut w = vec![vec![0.0; n]; n];
    let mut total = 0.0;
    for e in &profile.edges {
        let rates_ok = [e.calls_per_s, e.bytes_per_s]
            .iter()
            .all(|r| r.is_finite() && *r >= 0.0);
        if !rates_ok {
            return Err(PlanError::BadTraffic {
                caller: e.caller.clone(),
                callee: e.callee.clone(),
                calls_per_s: e.calls_per_s,
                bytes_per_s: e.bytes_per_s,
            });
        }
        for end in [&e.caller, &e.callee] {
            if !by_name.contains_key(end.as_str()) {
                return Err(PlanError::UnknownFunction {
                    caller: e.caller.clone(),
                    callee: e.callee.clone(),
                    unknown: end.clone(),
                });
            }
        }
        let (Some(&i), Some(&j)) = (index.get(e.caller.as_str()), index.get(e.callee.as_str()))
        else {
            continue; // an external end: crosses whatever the placement
        };
        if i != j {
            let cost = e.calls_per_s + opts.bytes_weight * e.bytes_per_s;
            w[i][j] += cost;
            w[j][i] += cost;
            total += cost;
        }
    }
    let mem: Vec<f64> = placeable
        .iter()
        .map(|f| f.memory_mib.unwrap_or(0.0))
        .collect();
    if let Some(cap) = opts.max_memory_mib {
        for f in &placeable {
            let m = f.memory_mib.unwrap_or(0.0);
            if m > cap {
                return Err(PlanError::FunctionTooBig {
                    name: f.name.clone(),
                    memory_mib: m,
                    max_memory_mib: cap,
                });
            }
        }
        let sum: f64 = mem.iter().sum();
        if sum > cap * opts.nodes as f64 * (1.0 + 1e-9) {
            return Err(PlanError::Infeasible(format!(
                "the functions need {sum} MiB together, more than {} nodes of {cap} MiB hold",
                opts.nodes
            )));
        }
    }
    Ok(Problem {
        names: placeable.iter().map(|f| f.name.clone()).collect(),
        mem,
        w,
        k: opts.nodes,
        cap: opts.max_memory_mib,
        eps: 1e-9 * (1.0 + total),
    })
}

/// The current placement as an assignment, if it uses exactly `k` nodes.
fn current_assign(p: &Problem, functions: &[FunctionInfo]) -> Option<Assign> {
    let node: BTreeMap<&str, &str> = functions
        .iter()
        .filter(|f| !f.external)
        .map(|f| (f.name.as_str(), f.node.as_deref().unwrap_or(DEFAULT_NODE)))
        .collect();
    let names: BTreeSet<&str> = node.values().copied().collect();
    if names.len() != p.k {
        return None;
    }
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    p.names
        .iter()
        .map(|f| node.get(f.as_str()).and_then(|n| index.get(n)).copied())
        .collect()
}

// ---------------------------------------------------------------------------
// Exact search

/// Branch and bound over partitions into `k` groups.
#[derive(Debug)]
struct Exact<'a> {
    p: &'a Problem,
    order: Vec<usize>,
    assign: Vec<usize>,
    /// `conn[v][c]`: cost between `v` and the functions placed on `c`.
    conn: Vec<Vec<f64>>,
    /// `tot[v]`: cost between `v` and all placed functions.
    tot: Vec<f64>,
    load: Vec<f64>,
    count: Vec<usize>,
    used: usize,
    best: Best,
    visits: u64,
    budget: u64,
    complete: bool,
}

/// Searches exactly, starting from `incumbent`; `true` if the search ran to
/// the end (so the result is optimal), `false` if it hit `budget`.
fn exact(p: &Problem, incumbent: Best, budget: u64) -> (Best, bool) {
    let n = p.n();
    let mut order: Vec<usize> = (0..n).collect();
    let degree: Vec<f64> = p.w.iter().map(|row| row.iter().sum()).collect();
    order.sort_by(|&a, &b| degree[b].total_cmp(&degree[a]).then(a.cmp(&b)));
    let mut s = Exact {
        p,
        order,
        assign: vec![usize::MAX; n],
        conn: vec![vec![0.0; p.k]; n],
        tot: vec![0.0; n],
        load: vec![0.0; p.k],
        count: vec![0; p.k],
        used: 0,
        best: incumbent,
        visits: 0,
        budget,
        complete: true,
    };
    s.go(0, 0.0);
    (s.best, s.complete)
}

impl Exact<'_> {
    fn go(&mut self, depth: usize, cost: f64) {
        self.visits += 1;
        if self.visits > self.budget {
            self.complete = false;
            return;
        }
        let p = self.p;
        let n = self.order.len();
        if depth == n {
            if self.used == p.k {
                self.best.offer(p, self.assign.clone());
            }
            return;
        }
        let empty = p.k - self.used;
        if n - depth < empty {
            return;
        }
        // Each unplaced function cuts at least its cheapest option's worth
        // of edges towards the placed ones.
        let mut bound = cost;
        for &u in &self.order[depth..] {
            let mut least = if empty > 0 {
                self.tot[u]
            } else {
                f64::INFINITY
            };
            for c in 0..self.used {
                if p.fits(self.load[c], p.mem[u]) {
                    least = least.min(self.tot[u] - self.conn[u][c]);
                }
            }
            if least == f64::INFINITY {
                return;
            }
            bound += least;
        }
        if bound >= self.best.cost() - p.eps {
            return;
        }
        let v = self.order[depth];
        let mut options: Vec<(f64, usize)> = Vec::with_capacity(self.used + 1);
        if n - depth > empty {
            for c in 0..self.used {
                if p.fits(self.load[c], p.mem[v]) {
                    options.push((self.tot[v] - self.conn[v][c], c));
                }
            }
        }
        if empty > 0 {
            options.push((self.tot[v], self.used));
        }
        options.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (added, c) in options {
            self.place(v, c, 1.0);
            self.go(depth + 1, cost + added);
            self.place(v, c, -1.0);
            if !self.complete {
                return;
            }
        }
    }

    /// Places `v` on `c` (`sign` 1) or takes it off again (`sign` -1).
    fn place(&mut self, v: usize, c: usize, sign: f64) {
        let p = self.p;
        if sign > 0.0 {
            self.assign[v] = c;
            self.count[c] += 1;
            if c == self.used {
                self.used += 1;
            }
        } else {
            self.assign[v] = usize::MAX;
            self.count[c] -= 1;
            if self.count[c] == 0 && c + 1 == self.used {
                self.used -= 1;
            }
        }
        self.load[c] += sign * p.mem[v];
        for u in 0..p.n() {
            let w = p.w[v][u];
            if w != 0.0 {
                self.conn[u][c] += sign * w;
                self.tot[u] += sign * w;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Heuristic

/// A tiny deterministic generator (Knuth's MMIX LCG), for restarts.
#[derive(Debug, Clone)]
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Greedy starts refined by Kernighan–Lin passes; `seeds` are tried first
/// (and win ties).
fn heuristic(p: &Problem, seeds: &[Assign]) -> Best {
    let mut best = Best::default();
    let mut starts: Vec<Assign> = seeds.to_vec();
    starts.extend(agglomerate(p));
    starts.extend(grow(p));
    let mut rng = Lcg(0x5eed_c0fa);
    for _ in 0..8 {
        starts.extend(random_start(p, &mut rng));
    }
    for start in starts {
        if !p.feasible(&start) {
            continue;
        }
        best.offer(p, start.clone());
        best.offer(p, refine(p, start));
    }
    best
}

/// Merges the two most connected groups (that fit together) until `k`
/// remain.
fn agglomerate(p: &Problem) -> Option<Assign> {
    let n = p.n();
    let mut group: Vec<usize> = (0..n).collect();
    let mut alive: Vec<bool> = vec![true; n];
    let mut load = p.mem.clone();
    let mut link = p.w.clone();
    for _ in 0..n - p.k {
        let mut pick: Option<(f64, f64, usize, usize)> = None;
        for a in 0..n {
            for b in a + 1..n {
                if !(alive[a] && alive[b] && p.fits(load[a], load[b])) {
                    continue;
                }
                let key = (link[a][b], -(load[a] + load[b]));
                if pick.is_none_or(|(l, m, _, _)| key.0 > l || (key.0 == l && key.1 > m)) {
                    pick = Some((key.0, key.1, a, b));
                }
            }
        }
        let (_, _, a, b) = pick?;
        alive[b] = false;
        load[a] += load[b];
        for g in group.iter_mut() {
            if *g == b {
                *g = a;
            }
        }
        let row = link[b].clone();
        for (c, l) in row.into_iter().enumerate() {
            link[a][c] += l;
            link[c][a] += l;
        }
        link[a][a] = 0.0;
    }
    Some(canonical(&group))
}

/// Places functions by decreasing traffic, each on the node it talks to
/// most (that has room), opening nodes when the rest are needed to fill
/// them.
fn grow(p: &Problem) -> Option<Assign> {
    let n = p.n();
    let mut order: Vec<usize> = (0..n).collect();
    let degree: Vec<f64> = p.w.iter().map(|row| row.iter().sum()).collect();
    order.sort_by(|&a, &b| {
        degree[b]
            .total_cmp(&degree[a])
            .then(p.mem[b].total_cmp(&p.mem[a]))
            .then(a.cmp(&b))
    });
    let mut a = vec![usize::MAX; n];
    let mut load = vec![0.0; p.k];
    let mut count = vec![0usize; p.k];
    for (placed, &v) in order.iter().enumerate() {
        let empty = count.iter().filter(|&&c| c == 0).count();
        let must_open = n - placed <= empty;
        let mut pick: Option<(f64, f64, usize)> = None;
        for c in 0..p.k {
            if (must_open && count[c] > 0) || !p.fits(load[c], p.mem[v]) {
                continue;
            }
            let pull: f64 = (0..n).filter(|&u| a[u] == c).map(|u| p.w[v][u]).sum();
            if pick.is_none_or(|(best, l, _)| pull > best || (pull == best && load[c] < l)) {
                pick = Some((pull, load[c], c));
            }
        }
        let (_, _, c) = pick?;
        a[v] = c;
        load[c] += p.mem[v];
        count[c] += 1;
    }
    Some(a)
}

/// A random assignment with every node used, if one fits in a few tries.
fn random_start(p: &Problem, rng: &mut Lcg) -> Option<Assign> {
    let n = p.n();
    for _ in 0..16 {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut a = vec![0; n];
        for (slot, &v) in order.iter().enumerate() {
            a[v] = if slot < p.k { slot } else { rng.below(p.k) };
        }
        if p.feasible(&a) {
            return Some(a);
        }
    }
    None
}

/// Kernighan–Lin / Fiduccia–Mattheyses refinement: each pass applies the
/// best move or swap of unlocked functions, even when it costs, locks what
/// moved, and keeps the best prefix; passes repeat while they gain.
fn refine(p: &Problem, mut a: Assign) -> Assign {
    let n = p.n();
    let k = p.k;
    let mut conn = vec![vec![0.0; k]; n];
    let mut load = vec![0.0; k];
    let mut count = vec![0usize; k];
    for v in 0..n {
        load[a[v]] += p.mem[v];
        count[a[v]] += 1;
        for u in 0..n {
            if u != v {
                conn[v][a[u]] += p.w[v][u];
            }
        }
    }
    let apply = |a: &mut Assign,
                 conn: &mut Vec<Vec<f64>>,
                 load: &mut Vec<f64>,
                 count: &mut Vec<usize>,
                 v: usize,
                 to: usize| {
        let from = a[v];
        for (u, row) in conn.iter_mut().enumerate() {
            let w = p.w[v][u];
            if u != v && w != 0.0 {
                row[from] -= w;
                row[to] += w;
            }
        }
        load[from] -= p.mem[v];
        load[to] += p.mem[v];
        count[from] -= 1;
        count[to] += 1;
        a[v] = to;
    };
    for _pass in 0..100 {
        let mut locked = vec![false; n];
        let mut history: Vec<(usize, usize)> = Vec::new(); // (function, from)
        let (mut gain_so_far, mut best_gain, mut best_len) = (0.0, 0.0, 0);
        loop {
            // (delta, v, to, swap partner)
            let mut pick: Option<(f64, usize, usize, Option<usize>)> = None;
            let mut offer = |delta: f64, v: usize, to: usize, partner: Option<usize>| {
                if pick.is_none_or(|(d, ..)| delta < d - p.eps) {
                    pick = Some((delta, v, to, partner));
                }
            };
            for v in 0..n {
                if locked[v] {
                    continue;
                }
                let from = a[v];
                for to in 0..k {
                    if to != from && count[from] > 1 && p.fits(load[to], p.mem[v]) {
                        offer(conn[v][from] - conn[v][to], v, to, None);
                    }
                }
            }
            for u in 0..n {
                for v in u + 1..n {
                    let (x, y) = (a[u], a[v]);
                    if locked[u] || locked[v] || x == y {
                        continue;
                    }
                    if !(p.fits(load[x] - p.mem[u], p.mem[v])
                        && p.fits(load[y] - p.mem[v], p.mem[u]))
                    {
                        continue;
                    }
                    let delta = conn[u][x] - conn[u][y] + conn[v][y] - conn[v][x] + 2.0 * p.w[u][v];
                    offer(delta, u, y, Some(v));
                }
            }
            let Some((delta, v, to, partner)) = pick else {
                break;
            };
            let from = a[v];
            apply(&mut a, &mut conn, &mut load, &mut count, v, to);
            history.push((v, from));
            locked[v] = true;
            if let Some(u) = partner {
                apply(&mut a, &mut conn, &mut load, &mut count, u, from);
                history.push((u, to));
                locked[u] = true;
            }
            gain_so_far -= delta;
            if gain_so_far > best_gain + p.eps {
                best_gain = gain_so_far;
                best_len = history.len();
            }
        }
        while history.len() > best_len {
            if let Some((v, from)) = history.pop() {
                apply(&mut a, &mut conn, &mut load, &mut count, v, from);
            }
        }
        if best_gain <= p.eps {
            break;
        }
    }
    a
}

// ---------------------------------------------------------------------------
// Proposal

/// Proposes a placement of the placeable functions on `opts.nodes` nodes
/// with the least cross-node cost (see the [module docs](self)).
///
/// The search is exact up to [`EXACT_LIMIT`] placeable functions (unless
/// it exceeds its budget of two million search nodes, far beyond what
/// 14 functions on any number of nodes took in tests; it then keeps the
/// best found, never worse than the heuristic's).
///
/// Errors: no nodes, bad options, duplicate functions, traffic naming a
/// function the app lacks, fewer placeable functions than nodes, a function
/// larger than the memory cap, or no placement that fits
/// ([`PlanError::Infeasible`]).
pub fn propose(
    functions: &[FunctionInfo],
    profile: &Profile,
    opts: &PlanOptions,
) -> Result<Placement, PlanError> {
    let p = build_problem(functions, profile, opts)?;
    let seeds: Vec<Assign> = current_assign(&p, functions).into_iter().collect();
    let mut best = heuristic(&p, &seeds);
    if p.n() <= EXACT_LIMIT {
        best = exact(&p, best, EXACT_BUDGET).0;
    }
    let Some((assign, _)) = best.found else {
        let how = if p.n() <= EXACT_LIMIT {
            "no way to put"
        } else {
            "the heuristic found no way to put"
        };
        return Err(PlanError::Infeasible(format!(
            "{how} {} functions on {} nodes of {} MiB each, every node used",
            p.n(),
            p.k,
            p.cap.unwrap_or(f64::INFINITY)
        )));
    };
    let names = name_nodes(&p, &assign, functions);
    let nodes: BTreeMap<String, String> = p
        .names
        .iter()
        .zip(&assign)
        .map(|(f, &c)| (f.clone(), names[c].clone()))
        .collect();
    let (cross_calls_per_s, cross_bytes_per_s) = evaluate(functions, profile, &nodes);
    Ok(Placement {
        nodes,
        cross_calls_per_s,
        cross_bytes_per_s,
    })
}

/// Names each group: the current node holding more than half of its
/// functions (largest overlaps first, each name once), else the first free
/// `node-<i>`.
fn name_nodes(p: &Problem, assign: &[usize], functions: &[FunctionInfo]) -> Vec<String> {
    let current: BTreeMap<&str, &str> = functions
        .iter()
        .filter_map(|f| Some((f.name.as_str(), f.node.as_deref()?)))
        .collect();
    let mut size = vec![0usize; p.k];
    let mut overlap: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for (f, &c) in p.names.iter().zip(assign) {
        size[c] += 1;
        if let Some(node) = current.get(f.as_str()) {
            *overlap.entry((c, node)).or_default() += 1;
        }
    }
    let mut candidates: Vec<(usize, usize, &str)> = overlap
        .into_iter()
        .filter(|&((c, _), count)| 2 * count > size[c])
        .map(|((c, node), count)| (count, c, node))
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
    let mut names: Vec<Option<String>> = vec![None; p.k];
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for (_, c, node) in candidates {
        if names[c].is_none() && taken.insert(node) {
            names[c] = Some(node.to_string());
        }
    }
    let reserved: BTreeSet<&str> = current.values().copied().collect();
    let mut next = 1;
    names
        .into_iter()
        .map(|name| {
            name.unwrap_or_else(|| {
                loop {
                    let candidate = format!("node-{next}");
                    next += 1;
                    if !reserved.contains(candidate.as_str()) {
                        break candidate;
                    }
                }
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Output

/// A TOML key: bare if it can be, else a quoted string.
fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        toml_string(s)
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The proposal as `cofaas.toml` lines (a `[functions.<name>]` table with
/// its `node` per placed function, moved ones marked `# was "<node>"`
/// unless `cofaas.toml` placed them nowhere; externals noted as
/// staying external), then, as TOML comments, each node's functions and
/// memory and the cross-node traffic of `current` next to `proposed`.
pub fn render(current: &Placement, proposed: &Placement, functions: &[FunctionInfo]) -> String {
    let mut out = String::from("# Proposed placement: paste into cofaas.toml\n");
    for (function, node) in &proposed.nodes {
        let _ = writeln!(out, "\n[functions.{}]", toml_key(function));
        let _ = write!(out, "node = {}", toml_string(node));
        // Functions cofaas.toml places nowhere get no "was".
        let unplaced = functions
            .iter()
            .any(|f| f.name == *function && f.node.is_none());
        match current.nodes.get(function) {
            Some(was) if was != node && !unplaced => {
                let _ = write!(out, "  # was {}", toml_string(was));
            }
            _ => {}
        }
        out.push('\n');
    }
    let mut externals: Vec<&str> = functions
        .iter()
        .filter(|f| f.external)
        .map(|f| f.name.as_str())
        .collect();
    externals.sort_unstable();
    if !externals.is_empty() {
        out.push('\n');
        for name in externals {
            let _ = writeln!(out, "# {name}: external, stays external (on no node)");
        }
    }
    let memory: BTreeMap<&str, f64> = functions
        .iter()
        .filter_map(|f| Some((f.name.as_str(), f.memory_mib?)))
        .collect();
    let mut groups: BTreeMap<&str, (Vec<&str>, f64)> = BTreeMap::new();
    for (function, node) in &proposed.nodes {
        let group = groups.entry(node.as_str()).or_default();
        group.0.push(function.as_str());
        group.1 += memory.get(function.as_str()).copied().unwrap_or(0.0);
    }
    out.push('\n');
    for (node, (members, mib)) in &groups {
        let _ = write!(out, "# {node}: {}", members.join(", "));
        if *mib > 0.0 {
            let _ = write!(out, " ({mib:.1} MiB)");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\n# cross-node calls/s: current {:.3} → proposed {:.3}",
        current.cross_calls_per_s, proposed.cross_calls_per_s
    );
    let _ = writeln!(
        out,
        "# bytes/s: current {:.1} → proposed {:.1}",
        current.cross_bytes_per_s, proposed.cross_bytes_per_s
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[(&str, &str, f64)]) -> Profile {
        Profile {
            edges: list
                .iter()
                .map(|&(caller, callee, calls)| EdgeTraffic {
                    caller: caller.into(),
                    callee: callee.into(),
                    calls_per_s: calls,
                    bytes_per_s: 0.0,
                })
                .collect(),
        }
    }

    fn funcs(names: &[&str]) -> Vec<FunctionInfo> {
        names.iter().map(|n| FunctionInfo::new(*n)).collect()
    }

    /// The proposal's groups, as sorted sets of function names.
    fn groups(p: &Placement) -> BTreeSet<BTreeSet<String>> {
        let mut by_node: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (f, n) in &p.nodes {
            by_node.entry(n).or_default().insert(f.clone());
        }
        by_node.into_values().collect()
    }

    fn set(list: &[&[&str]]) -> BTreeSet<BTreeSet<String>> {
        list.iter()
            .map(|g| g.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    /// Checks what every proposal must satisfy, and returns it.
    fn checked(functions: &[FunctionInfo], profile: &Profile, opts: &PlanOptions) -> Placement {
        let placed = propose(functions, profile, opts).unwrap();
        let (calls, bytes) = evaluate(functions, profile, &placed.nodes);
        assert_eq!(
            (calls, bytes),
            (placed.cross_calls_per_s, placed.cross_bytes_per_s)
        );
        let placeable: BTreeSet<&str> = functions
            .iter()
            .filter(|f| !f.external)
            .map(|f| f.name.as_str())
            .collect();
        let keys: BTreeSet<&str> = placed.nodes.keys().map(String::as_str).collect();
        assert_eq!(keys, placeable, "every placeable function exactly once");
        let nodes: BTreeSet<&String> = placed.nodes.values().collect();
        assert_eq!(nodes.len(), opts.nodes, "every node used");
        if let Some(cap) = opts.max_memory_mib {
            for node in nodes {
                let load: f64 = functions
                    .iter()
                    .filter(|f| placed.nodes.get(&f.name) == Some(node))
                    .filter_map(|f| f.memory_mib)
                    .sum();
                assert!(load <= cap + 1e-9, "{node} holds {load} MiB > {cap}");
            }
        }
        placed
    }

    const METRICS: &str = r#"# HELP cofaas_uptime_seconds seconds since the host started
# TYPE cofaas_uptime_seconds gauge
cofaas_uptime_seconds 10
# HELP cofaas_requests_total public gRPC requests (count)
# TYPE cofaas_requests_total counter
cofaas_requests_total{method="shop.Front/Get",code="Ok"} 5000
# HELP cofaas_edge_calls_total host-mediated calls between units (count)
# TYPE cofaas_edge_calls_total counter
cofaas_edge_calls_total{caller="front",callee="cart",method="get-cart"} 120
cofaas_edge_calls_total{caller="front",callee="cart",method="add-item"} 30
cofaas_edge_calls_total{ caller = "front" , callee="ads",method="get-ads", } 40 1700000000000
cofaas_edge_calls_total{caller="we\"ird\\name",callee="cart",method="a\nb"} 10
# HELP cofaas_edge_calls_seconds host-mediated calls between units (latency)
# TYPE cofaas_edge_calls_seconds histogram
cofaas_edge_calls_seconds_bucket{caller="front",callee="cart",method="get-cart",le="0.001"} 100
cofaas_edge_calls_seconds_bucket{caller="front",callee="cart",method="get-cart",le="+Inf"} 120
cofaas_edge_calls_seconds_sum{caller="front",callee="cart",method="get-cart"} 0.05
cofaas_edge_calls_seconds_count{caller="front",callee="cart",method="get-cart"} 120
# TYPE cofaas_remote_calls_total counter
cofaas_remote_calls_total{caller="front",callee="cart",method="get-cart"} 7
cofaas_remote_calls_total{caller="cart",callee="db",method="query"} 3
# TYPE cofaas_edge_bytes_total counter
cofaas_edge_bytes_total{caller="front",callee="cart",method="get-cart"} 123456
cofaas_edge_bytes_total{caller="front",callee="cart",method="add-item"} 4
# TYPE cofaas_unit_memory_bytes gauge
cofaas_unit_memory_bytes{unit="cart"} 4194304
cofaas_unit_memory_bytes{unit="front"} 1048576
cofaas_unit_memory_bytes{unit="ads+db"} 2097152
cofaas_traps_total{function="cart"} 1
cofaas_rejected_total 0
"#;

    fn edge<'a>(p: &'a Profile, caller: &str, callee: &str) -> &'a EdgeTraffic {
        p.edges
            .iter()
            .find(|e| e.caller == caller && e.callee == callee)
            .unwrap()
    }

    #[test]
    fn parses_metrics_into_rates() {
        let p = parse_metrics(METRICS).unwrap();
        let pairs: Vec<(&str, &str)> = p
            .edges
            .iter()
            .map(|e| (e.caller.as_str(), e.callee.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("cart", "db"),
                ("front", "ads"),
                ("front", "cart"),
                ("we\"ird\\name", "cart")
            ]
        );
        // (120 + 30 mediated + 7 remote) / 10 s; bytes over both methods.
        let fc = edge(&p, "front", "cart");
        assert_eq!(fc.calls_per_s, 15.7);
        assert_eq!(fc.bytes_per_s, 12346.0);
        // Whitespace, a trailing comma and a timestamp are fine.
        assert_eq!(edge(&p, "front", "ads").calls_per_s, 4.0);
        assert_eq!(edge(&p, "front", "ads").bytes_per_s, 0.0);
        assert_eq!(edge(&p, "cart", "db").calls_per_s, 0.3);
        assert_eq!(edge(&p, "we\"ird\\name", "cart").calls_per_s, 1.0);
    }

    #[test]
    fn memory_in_mib_with_composed_units_split() {
        let m = memory_from_metrics(METRICS);
        assert_eq!(m.len(), 4);
        assert_eq!(m["cart"], 4.0);
        assert_eq!(m["front"], 1.0);
        assert_eq!(m["ads"], 1.0);
        assert_eq!(m["db"], 1.0);
    }

    #[test]
    fn metrics_without_uptime_are_refused() {
        let text = METRICS.replace("cofaas_uptime_seconds 10\n", "");
        let err = parse_metrics(&text).unwrap_err();
        assert!(matches!(err, PlanError::NoUptime), "{err}");
        assert!(err.to_string().contains("cofaas_uptime_seconds"));
    }

    #[test]
    fn malformed_lines_name_their_number() {
        let cases = [
            (
                r#"cofaas_edge_calls_total{caller="a",callee="b" 5"#,
                "expected `,` or `}`",
            ),
            (
                r#"cofaas_edge_calls_total{caller="a,callee="b"} 5"#,
                "expected",
            ),
            (
                r#"cofaas_edge_calls_total{caller="a",callee="b"} five"#,
                "not a number",
            ),
            (
                r#"cofaas_edge_calls_total{caller="a",callee="b"} -1"#,
                "not a count",
            ),
            (
                r#"cofaas_edge_calls_total{caller="a",callee="b"}"#,
                "expected a space",
            ),
            (
                r#"cofaas_edge_calls_total{caller="a"} 5"#,
                "`caller` and `callee`",
            ),
            (
                r#"cofaas_edge_bytes_total{caller="a\x",callee="b"} 5"#,
                "unknown escape",
            ),
            (
                r#"cofaas_edge_calls_total{caller="a",caller="b"} 5"#,
                "given twice",
            ),
            (
                r#"cofaas_remote_calls_total{caller="a",callee="b"} 5 6 7"#,
                "trailing",
            ),
            (r#"cofaas_unit_memory_bytes{function="a"} 5"#, "`unit`"),
            ("cofaas_uptime_seconds 0", "positive"),
            ("cofaas_uptime_seconds NaN", "not a count"),
        ];
        for (bad, reason) in cases {
            let text = format!("# HELP x\ncofaas_uptime_seconds 10\n{bad}\nother 1\n");
            let text = if bad.starts_with("cofaas_uptime") {
                format!("# HELP x\n\n{bad}\nother 1\n")
            } else {
                text
            };
            let err = parse_metrics(&text).unwrap_err();
            match &err {
                PlanError::Malformed {
                    line: 3,
                    reason: r,
                    text,
                } => {
                    assert!(r.contains(reason), "{bad}: {r}");
                    assert_eq!(text, bad);
                }
                other => panic!("{bad}: {other}"),
            }
            assert!(err.to_string().starts_with("metrics line 3: "), "{err}");
        }
        // Garbage outside the families read is not our business.
        let ok = "cofaas_uptime_seconds 2\nsomething_else{oops 1 2 3\n{}\n";
        assert_eq!(parse_metrics(ok).unwrap(), Profile::default());
        // A second uptime is ambiguous.
        let twice = "cofaas_uptime_seconds 2\ncofaas_uptime_seconds 3\n";
        assert!(matches!(
            parse_metrics(twice),
            Err(PlanError::Malformed { line: 2, .. })
        ));
    }

    #[test]
    fn composed_units_are_refused() {
        let text = "cofaas_uptime_seconds 2\n\
                    cofaas_edge_calls_total{caller=\"front\",callee=\"cart\",method=\"m\"} 1\n\
                    cofaas_edge_calls_total{caller=\"front+cart\",callee=\"db\",method=\"m\"} 1\n";
        let err = parse_metrics(text).unwrap_err();
        assert!(
            matches!(&err, PlanError::ComposedUnit { line: 3, unit } if unit == "front+cart"),
            "{err}"
        );
        assert!(err.to_string().contains("--link mediated"));
    }

    #[test]
    fn fetches_files_and_http() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("metrics.txt");
        std::fs::write(&file, METRICS).unwrap();
        assert_eq!(fetch_metrics(file.to_str().unwrap()).unwrap(), METRICS);
        let missing = dir.path().join("nope.txt");
        assert!(matches!(
            fetch_metrics(missing.to_str().unwrap()),
            Err(PlanError::Read { .. })
        ));
        assert!(matches!(
            fetch_metrics("https://example.com/metrics"),
            Err(PlanError::Http { .. })
        ));

        let serve = |response: Vec<u8>| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = std::thread::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    s.read_exact(&mut byte).unwrap();
                    head.push(byte[0]);
                }
                s.write_all(&response).unwrap();
                String::from_utf8(head).unwrap()
            });
            (addr, server)
        };
        // content-length, connection kept open: no need to wait for close.
        let body = "cofaas_uptime_seconds 1\n";
        let (addr, server) = serve(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        );
        assert_eq!(fetch_metrics(&format!("http://{addr}")).unwrap(), body);
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /metrics HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains(&format!("Host: {addr}\r\n")), "{request}");
        // chunked
        let (addr, server) = serve(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n world\n\r\n0\r\n\r\n"
                .to_vec(),
        );
        assert_eq!(
            fetch_metrics(&format!("http://{addr}/other/path")).unwrap(),
            "hello world\n"
        );
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /other/path HTTP/1.1\r\n")
        );
        // not 200
        let (addr, server) = serve(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec());
        let err = fetch_metrics(&format!("http://{addr}/metrics")).unwrap_err();
        assert!(err.to_string().contains("404 Not Found"), "{err}");
        server.join().unwrap();
    }

    #[test]
    fn two_cliques_split_at_the_light_edge() {
        let mut list = Vec::new();
        for clique in [["a", "b", "c"], ["d", "e", "f"]] {
            for i in 0..3 {
                for j in i + 1..3 {
                    list.push((clique[i], clique[j], 100.0));
                }
            }
        }
        list.push(("c", "d", 1.0));
        let fs = funcs(&["a", "b", "c", "d", "e", "f"]);
        let placed = checked(&fs, &edges(&list), &PlanOptions::new(2));
        assert_eq!(groups(&placed), set(&[&["a", "b", "c"], &["d", "e", "f"]]));
        assert_eq!(placed.cross_calls_per_s, 1.0);
        assert_eq!(placed.nodes["a"], "node-1");
        assert_eq!(placed.nodes["d"], "node-2");
        // Nothing was placed before: no "was" notes, one table per function.
        let current = current_placement(&fs, &edges(&list));
        assert_eq!(current.cross_calls_per_s, 0.0);
        let text = render(&current, &placed, &fs);
        assert!(!text.contains("# was"), "{text}");
        assert!(
            text.contains("[functions.d]\nnode = \"node-2\"\n"),
            "{text}"
        );
        assert!(
            text.contains("# cross-node calls/s: current 0.000 → proposed 1.000\n"),
            "{text}"
        );
    }

    #[test]
    fn chain_cut_at_its_two_lightest_links() {
        let profile = edges(&[
            ("a", "b", 50.0),
            ("b", "c", 1.0),
            ("c", "d", 40.0),
            ("d", "e", 2.0),
            ("e", "f", 60.0),
        ]);
        let fs = funcs(&["f", "e", "d", "c", "b", "a"]);
        let placed = checked(&fs, &profile, &PlanOptions::new(3));
        assert_eq!(
            groups(&placed),
            set(&[&["a", "b"], &["c", "d"], &["e", "f"]])
        );
        assert_eq!(placed.cross_calls_per_s, 3.0);
    }

    #[test]
    fn memory_cap_forces_the_heavy_leaf_off_the_hub() {
        let profile = edges(&[
            ("hub", "big", 100.0),
            ("hub", "l2", 80.0),
            ("hub", "l3", 60.0),
            ("hub", "l4", 40.0),
        ]);
        let mut fs = funcs(&["hub", "big", "l2", "l3", "l4"]);
        for (f, m) in fs.iter_mut().zip([10.0, 25.0, 5.0, 5.0, 5.0]) {
            f.memory_mib = Some(m);
        }
        // Uncapped, only the lightest leaf leaves the hub.
        let free = checked(&fs, &profile, &PlanOptions::new(2));
        assert_eq!(groups(&free), set(&[&["big", "hub", "l2", "l3"], &["l4"]]));
        assert_eq!(free.cross_calls_per_s, 40.0);
        // hub + big = 35 MiB > 30: big must go, and the light leaves stay.
        let opts = PlanOptions {
            max_memory_mib: Some(30.0),
            ..PlanOptions::new(2)
        };
        let capped = checked(&fs, &profile, &opts);
        assert_eq!(
            groups(&capped),
            set(&[&["hub", "l2", "l3", "l4"], &["big"]])
        );
        assert_eq!(capped.cross_calls_per_s, 100.0);
    }

    #[test]
    fn externals_are_not_placed_and_pull_nothing() {
        let profile = edges(&[
            ("ext", "a", 1000.0),
            ("c", "ext", 1000.0),
            ("a", "b", 10.0),
            ("c", "d", 10.0),
            ("b", "c", 1.0),
        ]);
        let mut fs = funcs(&["a", "b", "c", "d", "ext"]);
        fs[4].external = true;
        let placed = checked(&fs, &profile, &PlanOptions::new(2));
        assert!(!placed.nodes.contains_key("ext"));
        assert_eq!(groups(&placed), set(&[&["a", "b"], &["c", "d"]]));
        // The external edges count in full, like in any placement.
        assert_eq!(placed.cross_calls_per_s, 2001.0);
        let current = current_placement(&fs, &profile);
        assert_eq!(current.cross_calls_per_s, 2000.0);
        assert!(!current.nodes.contains_key("ext"));
        let text = render(&current, &placed, &fs);
        assert!(text.contains("# ext: external, stays external"), "{text}");
        assert!(!text.contains("[functions.ext]"), "{text}");
        // Only externals and too few placeable functions: refused.
        let err = propose(&fs, &profile, &PlanOptions::new(5)).unwrap_err();
        assert!(
            matches!(
                err,
                PlanError::TooFewFunctions {
                    placeable: 4,
                    nodes: 5
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_stateful_function_is_placed_exactly_once() {
        let profile = edges(&[
            ("front", "session", 500.0),
            ("api", "session", 500.0),
            ("front", "api", 1.0),
            ("api", "db", 30.0),
        ]);
        let mut fs = funcs(&["api", "db", "front", "session"]);
        fs[3].stateful = true;
        // session is pulled hard towards both sides of a 3-way split; it
        // still lands on one node.
        let placed = checked(&fs, &profile, &PlanOptions::new(3));
        assert_eq!(placed.nodes.keys().filter(|f| *f == "session").count(), 1);
        let current = current_placement(&fs, &profile);
        let text = render(&current, &placed, &fs);
        assert_eq!(text.matches("[functions.session]").count(), 1, "{text}");
        assert_eq!(text.matches("node = ").count(), 4, "{text}");
    }

    #[test]
    fn infeasible_memory_is_an_error() {
        let profile = edges(&[("a", "b", 1.0), ("b", "c", 1.0)]);
        let mut fs = funcs(&["a", "b", "c"]);
        for f in &mut fs {
            f.memory_mib = Some(20.0);
        }
        let cap = |mib| PlanOptions {
            max_memory_mib: Some(mib),
            ..PlanOptions::new(2)
        };
        // 60 MiB in all fits two nodes of 30 only on paper: one of them
        // gets two functions.
        let err = propose(&fs, &profile, &cap(30.0)).unwrap_err();
        assert!(matches!(err, PlanError::Infeasible(_)), "{err}");
        let err = propose(&fs, &profile, &cap(25.0)).unwrap_err();
        assert!(err.to_string().contains("60 MiB"), "{err}");
        let err = propose(&fs, &profile, &cap(10.0)).unwrap_err();
        assert!(
            matches!(&err, PlanError::FunctionTooBig { name, .. } if name == "a"),
            "{err}"
        );
        // 40 MiB fits two together.
        checked(&fs, &profile, &cap(40.0));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let fs = funcs(&["a", "b"]);
        let profile = edges(&[("a", "zz", 1.0)]);
        let err = propose(&fs, &profile, &PlanOptions::new(2)).unwrap_err();
        assert!(
            matches!(&err, PlanError::UnknownFunction { unknown, .. } if unknown == "zz"),
            "{err}"
        );
        let empty = Profile::default();
        assert!(matches!(
            propose(&fs, &empty, &PlanOptions::new(0)),
            Err(PlanError::Options(_))
        ));
        let opts = PlanOptions {
            bytes_weight: -1.0,
            ..PlanOptions::new(1)
        };
        assert!(matches!(
            propose(&fs, &empty, &opts),
            Err(PlanError::Options(_))
        ));
        let twice = funcs(&["a", "a"]);
        assert!(matches!(
            propose(&twice, &empty, &PlanOptions::new(1)),
            Err(PlanError::DuplicateFunction(_))
        ));
        let nan = edges(&[("a", "b", f64::NAN)]);
        assert!(matches!(
            propose(&fs, &nan, &PlanOptions::new(1)),
            Err(PlanError::BadTraffic { .. })
        ));
    }

    #[test]
    fn bytes_weigh_in_with_the_default_weight() {
        // Few calls but 1 MiB/s between a and b; many small calls b-c.
        let profile = Profile {
            edges: vec![
                EdgeTraffic {
                    caller: "a".into(),
                    callee: "b".into(),
                    calls_per_s: 1.0,
                    bytes_per_s: 1024.0 * 1024.0,
                },
                EdgeTraffic {
                    caller: "b".into(),
                    callee: "c".into(),
                    calls_per_s: 500.0,
                    bytes_per_s: 0.0,
                },
            ],
        };
        let fs = funcs(&["a", "b", "c"]);
        let placed = checked(&fs, &profile, &PlanOptions::new(2));
        assert_eq!(groups(&placed), set(&[&["a", "b"], &["c"]]));
        assert_eq!(placed.cross_bytes_per_s, 0.0);
        let calls_only = PlanOptions {
            bytes_weight: 0.0,
            ..PlanOptions::new(2)
        };
        let placed = checked(&fs, &profile, &calls_only);
        assert_eq!(groups(&placed), set(&[&["a"], &["b", "c"]]));
    }

    /// A deterministic random-ish profile of `n` functions.
    fn random_profile(n: usize, seed: u64) -> (Vec<FunctionInfo>, Profile) {
        let mut rng = Lcg(seed);
        let names: Vec<String> = (0..n).map(|i| format!("f{i:02}")).collect();
        let mut profile = Profile::default();
        for i in 0..n {
            for j in 0..n {
                if i != j && rng.below(100) < 25 {
                    profile.edges.push(EdgeTraffic {
                        caller: names[i].clone(),
                        callee: names[j].clone(),
                        calls_per_s: rng.below(1000) as f64 / 10.0,
                        bytes_per_s: rng.below(100_000) as f64,
                    });
                }
            }
        }
        let functions = names
            .iter()
            .map(|name| FunctionInfo {
                memory_mib: Some(1.0 + rng.below(20) as f64),
                ..FunctionInfo::new(name.as_str())
            })
            .collect();
        (functions, profile)
    }

    #[test]
    fn exact_search_and_heuristic_agree() {
        for (seed, k, cap) in [
            (1, 3, None),
            (2, 2, None),
            (3, 4, None),
            (4, 3, Some(45.0)),
            (5, 2, Some(60.0)),
        ] {
            let (fs, profile) = random_profile(10, seed);
            let opts = PlanOptions {
                max_memory_mib: cap,
                ..PlanOptions::new(k)
            };
            let p = build_problem(&fs, &profile, &opts).unwrap();
            let heur = heuristic(&p, &[]);
            let (exact, complete) = exact(&p, Best::default(), u64::MAX);
            assert!(complete);
            let (h, hc) = heur.found.unwrap();
            let (e, ec) = exact.found.unwrap();
            assert!((hc - ec).abs() <= p.eps, "seed {seed}: {hc} vs {ec}");
            assert_eq!(h, e, "seed {seed}");
            assert!(ec > 0.0);
        }
    }

    #[test]
    fn exact_search_matches_brute_force() {
        let mut checked = 0;
        for seed in 10..20 {
            let (fs, profile) = random_profile(7, seed);
            let opts = PlanOptions {
                max_memory_mib: Some(45.0),
                ..PlanOptions::new(3)
            };
            let p = build_problem(&fs, &profile, &opts).unwrap();
            let mut brute = f64::INFINITY;
            for code in 0..3usize.pow(7) {
                let a: Assign = (0..7).map(|i| code / 3usize.pow(i) % 3).collect();
                if p.feasible(&a) {
                    brute = brute.min(p.cost(&a));
                }
            }
            let (best, complete) = exact(&p, Best::default(), u64::MAX);
            assert!(complete);
            let found = best.cost();
            if brute.is_finite() {
                assert!(
                    (found - brute).abs() <= p.eps,
                    "seed {seed}: {found} vs {brute}"
                );
                checked += 1;
            } else {
                assert!(best.found.is_none(), "seed {seed}");
            }
        }
        assert!(checked >= 5, "only {checked} feasible profiles");
    }

    #[test]
    fn never_worse_than_a_feasible_current_placement() {
        for (n, seed) in [(10, 7), (20, 8), (30, 9)] {
            let (mut fs, profile) = random_profile(n, seed);
            for (i, f) in fs.iter_mut().enumerate() {
                f.node = Some(["east", "west", "north"][i % 3].to_string());
            }
            let opts = PlanOptions::new(3);
            let current = current_placement(&fs, &profile);
            let placed = checked(&fs, &profile, &opts);
            let cost =
                |p: &Placement| p.cross_calls_per_s + DEFAULT_BYTES_WEIGHT * p.cross_bytes_per_s;
            assert!(cost(&placed) <= cost(&current) + 1e-9, "n {n}");
            // Deterministic, whatever the input order.
            let mut reversed = fs.clone();
            reversed.reverse();
            assert_eq!(propose(&reversed, &profile, &opts).unwrap(), placed);
            // Placed as proposed, the plan keeps everything where it is.
            let mut again = fs.clone();
            for f in &mut again {
                f.node = placed.nodes.get(&f.name).cloned();
            }
            let stable = propose(&again, &profile, &opts).unwrap();
            assert_eq!(stable.nodes, placed.nodes, "n {n}");
        }
    }

    #[test]
    fn groups_keep_their_current_node_names() {
        let mut list = Vec::new();
        for clique in [["a", "b", "c"], ["d", "e", "f"]] {
            for i in 0..3 {
                for j in i + 1..3 {
                    list.push((clique[i], clique[j], 100.0));
                }
            }
        }
        list.push(("c", "d", 1.0));
        let profile = edges(&list);
        let mut fs = funcs(&["a", "b", "c", "d", "e", "f"]);
        for (f, node) in fs
            .iter_mut()
            .zip(["west", "west", "east", "east", "east", "east"])
        {
            f.node = Some(node.to_string());
        }
        let current = current_placement(&fs, &profile);
        assert_eq!(current.cross_calls_per_s, 200.0);
        let placed = checked(&fs, &profile, &PlanOptions::new(2));
        assert_eq!(placed.nodes["a"], "west");
        assert_eq!(placed.nodes["c"], "west");
        assert_eq!(placed.nodes["d"], "east");
        let text = render(&current, &placed, &fs);
        assert!(
            text.contains("[functions.c]\nnode = \"west\"  # was \"east\"\n"),
            "{text}"
        );
        assert!(text.contains("[functions.a]\nnode = \"west\"\n"), "{text}");
        assert!(text.contains("# west: a, b, c\n"), "{text}");
        assert!(
            text.contains("# cross-node calls/s: current 200.000 → proposed 1.000\n"),
            "{text}"
        );
        assert!(
            text.contains("# bytes/s: current 0.0 → proposed 0.0\n"),
            "{text}"
        );
        // The output is TOML.
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["functions"]["c"]["node"].as_str(), Some("west"));
        // A 3-way split has no majority for the new group: a fresh name.
        let three = checked(&fs, &profile, &PlanOptions::new(3));
        let names: BTreeSet<&str> = three.nodes.values().map(String::as_str).collect();
        assert!(names.contains("node-1"), "{names:?}");
    }

    #[test]
    fn odd_names_are_quoted_in_toml() {
        assert_eq!(toml_key("front-end_2"), "front-end_2");
        assert_eq!(toml_key("a.b"), "\"a.b\"");
        assert_eq!(toml_string("x\"y\\z"), "\"x\\\"y\\\\z\"");
    }

    #[test]
    fn larger_apps_use_the_heuristic() {
        let (fs, profile) = random_profile(40, 21);
        let opts = PlanOptions {
            max_memory_mib: Some(150.0),
            ..PlanOptions::new(5)
        };
        let placed = checked(&fs, &profile, &opts);
        let p = build_problem(&fs, &profile, &opts).unwrap();
        // No worse than any one start the heuristic made.
        let cost = |p: &Placement| p.cross_calls_per_s + DEFAULT_BYTES_WEIGHT * p.cross_bytes_per_s;
        for start in [agglomerate(&p), grow(&p)].into_iter().flatten() {
            if p.feasible(&start) {
                assert!(p.cost(&start) + 1e-6 >= cost(&placed) - 1e-6);
            }
        }
    }
}
