//! Workload files for `cofaas bench --workload`: the calls to load any app
//! with, native against consolidated, by ghz.
//!
//! A workload is TOML (or JSON, by the file's `.json` extension): one
//! `[[call]]` per load run, each naming a method of the app's protos, the
//! request as protobuf JSON (a string, or a table written in place), and
//! how many requests to send over how many connections:
//!
//! ```toml
//! [[call]]
//! method = "mixed.Front/Handle"          # or mixed.Front.Handle
//! request = '{"id": "w-1", "words": ["a", "b"], "numbers": [1, 2]}'
//! concurrency = 4                        # connections (default 1)
//! requests = 5000                        # in total (default 1000)
//!
//! [[call]]
//! name = "big payload"                   # a label for the table
//! method = "mixed.Front/Handle"
//! request = { id = "w-2", payload = "AAAA" }
//! ```
//!
//! [`Workload::check`] resolves every call against the app's descriptors
//! before anything runs: an unknown service or method, or a request that
//! does not decode as the method's input (an unknown field, a wrong type),
//! is an error naming the call and what is wrong.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde::Deserialize;

/// A workload: the calls to run, in order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Workload {
    /// The calls.
    #[serde(rename = "call")]
    pub calls: Vec<Call>,
}

/// One load run of a workload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Call {
    /// A label for the table (default: the method).
    #[serde(default)]
    pub name: Option<String>,
    /// `package.Service/Method` or `package.Service.Method`.
    pub method: String,
    /// The request as protobuf JSON: a string of JSON, or a table (an
    /// object) written in place. Absent: the empty message.
    #[serde(default)]
    pub request: Option<serde_json::Value>,
    /// Connections, each with one request in flight.
    #[serde(default = "one")]
    pub concurrency: usize,
    /// Requests in total.
    #[serde(default = "thousand")]
    pub requests: usize,
}

impl Call {
    /// A call of `method` with `request` (protobuf JSON text).
    pub fn new(
        method: impl Into<String>,
        request: impl Into<String>,
        concurrency: usize,
        requests: usize,
    ) -> Self {
        Call {
            name: None,
            method: method.into(),
            request: Some(serde_json::Value::String(request.into())),
            concurrency,
            requests,
        }
    }
}

impl Workload {
    /// A workload of `calls`.
    pub fn new(calls: Vec<Call>) -> Self {
        Workload { calls }
    }
}

fn one() -> usize {
    1
}

fn thousand() -> usize {
    1000
}

/// A call resolved against the app's descriptors, ready for ghz.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The label: the call's name, or its method.
    pub label: String,
    /// `package.Service.Method`, as ghz takes it.
    pub method: String,
    /// The service, `package.Service`.
    pub service: String,
    /// The request as JSON text (checked to decode as the method's input).
    pub data: String,
    /// Connections.
    pub concurrency: usize,
    /// Requests in total.
    pub requests: usize,
}

impl Workload {
    /// Reads a workload file: JSON if its name ends in `.json`, TOML
    /// otherwise.
    pub fn load(path: &Path) -> Result<Workload> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the workload {}", path.display()))?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(anyhow::Error::from)
        } else {
            toml::from_str(&text).map_err(anyhow::Error::from)
        };
        let workload: Workload =
            parsed.with_context(|| format!("the workload {} is malformed", path.display()))?;
        if workload.calls.is_empty() {
            bail!(
                "the workload {} has no call (add a [[call]] with a method)",
                path.display()
            );
        }
        Ok(workload)
    }

    /// Resolves every call against `pool` (the app's descriptors): its
    /// method must exist and its request decode as the method's input;
    /// counts must be positive.
    pub fn check(&self, pool: &DescriptorPool) -> Result<Vec<Resolved>> {
        self.calls
            .iter()
            .enumerate()
            .map(|(i, call)| {
                call.resolve(pool)
                    .with_context(|| format!("workload call {} (`{}`)", i + 1, call.method))
            })
            .collect()
    }
}

impl Call {
    fn resolve(&self, pool: &DescriptorPool) -> Result<Resolved> {
        let Some((service, method)) = self.method.rsplit_once(['/', '.']) else {
            bail!("the method is not `package.Service/Method`");
        };
        let service = service.trim_start_matches('/');
        let Some(desc) = pool.get_service_by_name(service) else {
            bail!("no service `{service}` in the app's protos");
        };
        let Some(m) = desc.methods().find(|m| m.name() == method) else {
            bail!("service `{service}` has no method `{method}`");
        };
        if self.concurrency == 0 || self.requests == 0 {
            bail!("concurrency and requests must be at least 1");
        }
        let data = match &self.request {
            None => "{}".to_string(),
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(value) => value.to_string(),
        };
        let mut de = serde_json::Deserializer::from_str(&data);
        DynamicMessage::deserialize(m.input(), &mut de)
            .and_then(|msg| de.end().map(|()| msg))
            .with_context(|| {
                format!(
                    "the request is not a `{}` in protobuf JSON",
                    m.input().full_name()
                )
            })?;
        Ok(Resolved {
            label: self.name.clone().unwrap_or_else(|| self.method.clone()),
            method: format!("{service}.{method}"),
            service: service.to_string(),
            data,
            concurrency: self.concurrency,
            requests: self.requests,
        })
    }
}

impl Resolved {
    /// The ghz run of this call, by the ghz at `ghz` with the app's
    /// `protoset`.
    pub fn ghz_options(&self, ghz: &Path, protoset: &Path) -> crate::ghz::GhzOptions {
        let mut g = crate::ghz::GhzOptions::new(
            ghz.to_path_buf(),
            protoset.to_path_buf(),
            &self.method,
            &self.data,
        );
        g.requests = self.requests;
        g.concurrency = self.concurrency;
        g
    }
}

/// The app's descriptors, for [`Workload::check`].
pub fn descriptors(app: &Path) -> Result<DescriptorPool> {
    let fds = crate::ghz::app_descriptors(app)?;
    DescriptorPool::from_file_descriptor_set(fds).context("the app's descriptors")
}

/// One call's results, native and consolidated.
#[derive(Debug, Clone)]
pub struct Row {
    /// The call.
    pub call: Resolved,
    /// The ghz run it was, both ways.
    pub options: crate::ghz::GhzOptions,
    /// ghz against the native app.
    pub native: crate::ghz::GhzResult,
    /// ghz against the consolidated host.
    pub consolidated: crate::ghz::GhzResult,
}

/// The table of a workload's rows: throughput and latency both ways, and
/// the native/consolidated ratios (above 1: cofaas is faster).
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| call | conns | requests | errors (native/cofaas) | req/s native | req/s cofaas | speedup | p50 native (ms) | p50 cofaas (ms) | p99 native (ms) | p99 cofaas (ms) |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    for r in rows {
        let (n, c) = (&r.native, &r.consolidated);
        s.push_str(&format!(
            "| {} | {} | {} | {}/{} | {:.0} | {:.0} | {:.2}x | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            r.call.label,
            r.call.concurrency,
            r.call.requests,
            n.errors,
            c.errors,
            n.rps,
            c.rps,
            c.rps / n.rps.max(f64::MIN_POSITIVE),
            ms(n.p50),
            ms(c.p50),
            ms(n.p99),
            ms(c.p99),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        descriptors(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/mixed")).unwrap()
    }

    fn parse(text: &str) -> Workload {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn calls_resolve_with_defaults_and_both_request_forms() {
        let w = parse(
            r#"
            [[call]]
            method = "mixed.Front/Handle"
            request = '{"id": "a", "numbers": [1, 2]}'

            [[call]]
            name = "table"
            method = "mixed.Front.Handle"
            request = { id = "b", words = ["x"], owner = { name = "n" } }
            concurrency = 4
            requests = 10
            "#,
        );
        let r = w.check(&pool()).unwrap();
        assert_eq!(r[0].method, "mixed.Front.Handle");
        assert_eq!((r[0].concurrency, r[0].requests), (1, 1000));
        assert_eq!(r[0].label, "mixed.Front/Handle");
        assert_eq!(r[1].label, "table");
        assert_eq!((r[1].concurrency, r[1].requests), (4, 10));
        let data: serde_json::Value = serde_json::from_str(&r[1].data).unwrap();
        assert_eq!(data["owner"]["name"], "n");
        assert_eq!(r[1].service, "mixed.Front");
    }

    #[test]
    fn bad_calls_are_errors_naming_the_call() {
        let pool = pool();
        for (text, want) in [
            (
                "[[call]]\nmethod = \"mixed.Nope/Handle\"",
                "no service `mixed.Nope`",
            ),
            (
                "[[call]]\nmethod = \"mixed.Front/Nope\"",
                "service `mixed.Front` has no method `Nope`",
            ),
            (
                "[[call]]\nmethod = \"mixed.Front/Handle\"\nrequest = '{\"idd\": 1}'",
                "the request is not a `mixed.Job` in protobuf JSON",
            ),
            (
                "[[call]]\nmethod = \"mixed.Front/Handle\"\nrequest = '{\"numbers\": \"x\"}'",
                "the request is not a `mixed.Job`",
            ),
            (
                "[[call]]\nmethod = \"Handle\"",
                "is not `package.Service/Method`",
            ),
            (
                "[[call]]\nmethod = \"mixed.Front/Handle\"\nrequests = 0",
                "at least 1",
            ),
        ] {
            let err = parse(text).check(&pool).unwrap_err();
            let chain = format!("{err:#}");
            assert!(chain.starts_with("workload call 1 ("), "{chain}");
            assert!(chain.contains(want), "{text}: {chain}");
        }
    }

    #[test]
    fn files_are_toml_or_json_and_must_have_calls() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("w.json");
        std::fs::write(
            &json,
            r#"{"call": [{"method": "mixed.Front/Handle", "request": {"id": "j"}}]}"#,
        )
        .unwrap();
        let w = Workload::load(&json).unwrap();
        assert_eq!(w.calls[0].request, Some(serde_json::json!({"id": "j"})));

        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "call = []\n").unwrap();
        let err = Workload::load(&empty).unwrap_err().to_string();
        assert!(err.contains("has no call"), "{err}");

        let typo = dir.path().join("typo.toml");
        std::fs::write(&typo, "[[call]]\nmethod = \"a.B/C\"\nconcurency = 2\n").unwrap();
        let err = format!("{:#}", Workload::load(&typo).unwrap_err());
        assert!(
            err.contains("is malformed") && err.contains("concurency"),
            "{err}"
        );
    }

    #[test]
    fn the_example_workload_of_routeguide_checks() {
        let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/routeguide");
        let w = Workload::load(&app.join("workload.toml")).unwrap();
        let r = w.check(&descriptors(&app).unwrap()).unwrap();
        assert_eq!(r[1].method, "routeguide.RouteGuide.ListFeatures");
    }

    #[test]
    fn the_example_workload_of_the_mixed_app_checks() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/mixed/workload.toml");
        let w = Workload::load(&path).unwrap();
        let r = w.check(&pool()).unwrap();
        assert!(!r.is_empty());
    }
}
