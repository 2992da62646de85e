//! Limits and command-line arguments of a generated host.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use crate::HostError;

/// How the host runs the app: pool sizes, queueing and per-request limits.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostConfig {
    /// Instances kept per stateless unit (pooled units). Stateful units
    /// always have exactly one.
    pub pool_size: usize,
    /// Requests executing at once; more wait in the queue.
    pub max_concurrent: usize,
    /// Requests allowed to wait for a slot; beyond this they are rejected
    /// with `RESOURCE_EXHAUSTED`.
    pub max_queue: usize,
    /// Deadline of a request without a `grpc-timeout` header.
    pub default_timeout: Duration,
    /// Time allowed for the lifecycle `init`s of one instance.
    pub init_timeout: Duration,
    /// Linear memory one instance (all the memories of its store together)
    /// may grow to, in bytes.
    pub memory_limit: usize,
    /// Fuel per request (roughly, wasm instructions), if fuel metering is on.
    pub fuel: Option<u64>,
    /// Where the services served elsewhere are: `package.Service` →
    /// `http://host:port` (`--peer`, [`crate::PEERS_ENV`]).
    pub peers: std::collections::BTreeMap<String, String>,
}

impl Default for HostConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            pool_size: (2 * cores).max(4),
            max_concurrent: (2 * cores).max(4),
            max_queue: 1024,
            default_timeout: Duration::from_secs(30),
            init_timeout: Duration::from_secs(30),
            memory_limit: 256 << 20,
            fuel: None,
            peers: std::collections::BTreeMap::new(),
        }
    }
}

/// Usage of a generated host.
pub const USAGE: &str = "\
usage: <host> --deployment <dir/deployment.json> [options]
  --listen <addr>          serve gRPC here (default 127.0.0.1:50051; port 0 picks a free port)
  --pool-size <n>          instances per stateless unit (default 2 x cores, at least 4)
  --max-concurrent <n>     requests executing at once (default 2 x cores, at least 4)
  --max-queue <n>          requests waiting beyond that before RESOURCE_EXHAUSTED (default 1024)
  --timeout-ms <ms>        deadline of requests without grpc-timeout (default 30000)
  --memory-mib <mib>       linear memory per instance (default 256)
  --fuel <units>           enable fuel metering with this much fuel per request
  --metrics <addr>         serve Prometheus metrics at http://<addr>/metrics
  --no-reflection          do not serve gRPC server reflection (v1 and v1alpha)
  --otlp <endpoint>        export trace spans by OTLP/gRPC (e.g. http://127.0.0.1:4317)
  --peer <svc>=<url>       where a service served on another node is (repeatable),
                           e.g. --peer shop.Cart=http://cart-node:80
environment: RUST_LOG sets the log level (default info); logs go to stderr;
COFAAS_PEERS=svc=url,svc=url gives peers too (a --peer for the same service wins)
once bound, the host prints `cofaas host listening on <addr>` (and
`cofaas host metrics on <addr>`) to stderr, with the actual ports";

/// Command-line arguments of a generated host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Args {
    /// The deployment description written by `cofaas build`.
    pub deployment: PathBuf,
    /// Where to serve gRPC.
    pub listen: SocketAddr,
    /// Where to serve metrics, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// Serve gRPC server reflection (on unless `--no-reflection`).
    pub reflection: bool,
    /// Where to export trace spans by OTLP/gRPC (`--otlp`), if anywhere.
    pub otlp: Option<String>,
    /// Pools, queues and limits.
    pub config: HostConfig,
}

impl Args {
    /// Default listen address.
    pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::LOCALHOST,
        50051,
    ));

    /// Parses the arguments in [`USAGE`] (also `--flag=value`).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, HostError> {
        let usage = |message: String| HostError::Usage { message };
        let mut deployment = None;
        let mut listen = None;
        let mut metrics = None;
        let mut reflection = true;
        let mut otlp = None;
        let mut config = HostConfig::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| usage(format!("`{flag}` needs a value")))
            };
            fn parse<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, HostError>
            where
                T::Err: std::fmt::Display,
            {
                v.parse().map_err(|e| HostError::Usage {
                    message: format!("bad value `{v}` for `{flag}`: {e}"),
                })
            }
            fn positive(flag: &str, v: &str) -> Result<usize, HostError> {
                match parse::<usize>(flag, v)? {
                    0 => Err(HostError::Usage {
                        message: format!("`{flag}` must be at least 1"),
                    }),
                    n => Ok(n),
                }
            }
            match flag.as_str() {
                "--deployment" => deployment = Some(PathBuf::from(value()?)),
                "--listen" => listen = Some(parse(&flag, &value()?)?),
                "--metrics" => metrics = Some(parse(&flag, &value()?)?),
                "--pool-size" => config.pool_size = positive(&flag, &value()?)?,
                "--max-concurrent" => config.max_concurrent = positive(&flag, &value()?)?,
                "--max-queue" => config.max_queue = parse(&flag, &value()?)?,
                "--timeout-ms" => {
                    config.default_timeout =
                        Duration::from_millis(positive(&flag, &value()?)? as u64)
                }
                "--memory-mib" => {
                    let mib = positive(&flag, &value()?)?;
                    config.memory_limit = mib
                        .checked_mul(1 << 20)
                        .ok_or_else(|| usage(format!("`--memory-mib {mib}` is too large")))?;
                }
                "--fuel" => config.fuel = Some(positive(&flag, &value()?)? as u64),
                "--no-reflection" if inline.is_none() => reflection = false,
                "--otlp" => otlp = Some(value()?),
                "--peer" => {
                    let (service, url) = crate::remote::parse_peer(&value()?).map_err(usage)?;
                    config.peers.insert(service, url);
                }
                "-h" | "--help" => return Err(usage("help requested".into())),
                other => return Err(usage(format!("unexpected argument `{other}`"))),
            }
        }
        Ok(Self {
            deployment: deployment.ok_or_else(|| usage("--deployment is required".into()))?,
            listen: listen.unwrap_or(Self::DEFAULT_LISTEN),
            metrics,
            reflection,
            otlp,
            config,
        })
    }
}

/// Parses a `grpc-timeout` header value (`100m`, `5S`, `1H`; at most eight
/// digits and one unit), as the gRPC-over-HTTP/2 spec defines it.
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args() {
        let a = Args::parse(["--deployment".into(), "d.json".into()]).unwrap();
        assert_eq!(a.deployment, PathBuf::from("d.json"));
        assert_eq!(a.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(a.config, HostConfig::default());
        let a = Args::parse(
            [
                "--listen=0.0.0.0:1",
                "--deployment=y",
                "--pool-size",
                "3",
                "--max-queue=0",
                "--timeout-ms=250",
                "--memory-mib=64",
                "--fuel=1000",
                "--metrics=127.0.0.1:9",
                "--peer=a.B=http://x:1",
                "--peer",
                "c.D=http://y:2",
            ]
            .map(String::from),
        )
        .unwrap();
        assert_eq!(a.listen.to_string(), "0.0.0.0:1");
        assert_eq!(a.config.pool_size, 3);
        assert_eq!(a.config.max_queue, 0);
        assert_eq!(a.config.default_timeout, Duration::from_millis(250));
        assert_eq!(a.config.memory_limit, 64 << 20);
        assert_eq!(a.config.fuel, Some(1000));
        assert_eq!(a.config.peers.len(), 2);
        assert_eq!(a.config.peers["c.D"], "http://y:2");
        assert_eq!(a.metrics.unwrap().to_string(), "127.0.0.1:9");
        assert!(a.reflection);
        let a = Args::parse(["--deployment=y", "--no-reflection"].map(String::from)).unwrap();
        assert!(!a.reflection);
        for bad in [
            vec!["--nope"],
            vec![],
            vec!["--deployment", "d", "--pool-size", "0"],
            vec!["--deployment", "d", "--listen", "nowhere"],
            vec!["--deployment"],
            vec!["--deployment", "d", "--no-reflection=1"],
            vec!["--deployment", "d", "--peer", "a.B"],
        ] {
            let err = Args::parse(bad.iter().map(|s| s.to_string())).unwrap_err();
            assert!(err.to_string().contains("usage:"), "{err}");
        }
    }

    #[test]
    fn grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout("9n"), Some(Duration::from_nanos(9)));
        for bad in ["", "m", "10", "10x", "-1S", "123456789S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }
}
