//! Child processes that are always stopped: on drop, on error, on SIGINT
//! or SIGTERM.
//!
//! Every child gets a process group of its own, so a terminal's Ctrl-C
//! reaches only cofaas, which stops its children itself: the signal is
//! forwarded once ([`run_forwarding_signals`]), or a [`Guard`] is dropped
//! (SIGTERM, a grace period for the drain, then SIGKILL).

use std::io::BufRead;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use nix::sys::signal::Signal;

/// How long a dropped [`Guard`] waits after SIGTERM (for a host's drain)
/// before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

/// SIGINT and SIGTERM, the signals that ask a cofaas command to stop.
/// Once installed, neither ends the process by default any more: the
/// command decides (stop its children, then exit).
#[derive(Debug)]
pub struct Terminations {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Terminations {
    /// Installs the handlers. Must run inside a tokio runtime with I/O
    /// enabled.
    pub fn install() -> std::io::Result<Terminations> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Terminations {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// The next SIGINT or SIGTERM received.
    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.int.recv() => Signal::SIGINT,
            _ = self.term.recv() => Signal::SIGTERM,
        }
    }
}

/// Runs `cmd` to its end, forwarding every SIGINT and SIGTERM cofaas gets
/// to it, and returns its exit code (128 + the signal's number if a signal
/// ended it, as a shell reports it). The child runs in a process group of
/// its own, so it gets each signal once, whether the terminal sent it to
/// the whole foreground group or only cofaas was signalled; and it is
/// killed if this function fails while it runs.
pub fn run_forwarding_signals(mut cmd: Command) -> std::io::Result<i32> {
    cmd.process_group(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // Before the spawn: a signal in between must not end cofaas alone.
        let mut signals = Terminations::install()?;
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("starting {program}: {e}")))?;
        let pid = child.id();
        loop {
            tokio::select! {
                status = child.wait() => return Ok(exit_code(status?)),
                sig = signals.recv() => {
                    if let Some(pid) = pid {
                        // It may have exited meanwhile; wait() tells.
                        let _ = send_signal(pid, sig);
                    }
                }
            }
        }
    })
}

/// The exit code a shell reports for `status`: the code, or 128 + the
/// number of the signal that ended the process.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Sends `sig` to process `pid`.
pub fn send_signal(pid: u32, sig: Signal) -> std::io::Result<()> {
    let pid = i32::try_from(pid)
        .map_err(|_| std::io::Error::other(format!("process id {pid} is out of range")))?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).map_err(std::io::Error::from)
}

/// The prefix of the lines a cofaas host prints to stderr to announce the
/// addresses it bound (`cofaas host listening on 127.0.0.1:4711`).
pub const ANNOUNCEMENT: &str = "cofaas host ";

/// A started process, killed and reaped when dropped.
#[derive(Debug)]
pub struct Guard {
    name: String,
    child: Child,
    /// Announcement lines from the process's stderr, when captured.
    announcements: Option<mpsc::Receiver<String>>,
    /// Announcements received so far.
    announced: Vec<String>,
}

impl Guard {
    /// Starts `program` with `args` and `envs`; its stderr goes to ours
    /// when `verbose`, else nowhere.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        verbose: bool,
    ) -> std::io::Result<Guard> {
        let stderr = if verbose {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let child = spawn(program, args, envs, stderr)?;
        Ok(Guard {
            name: name.to_string(),
            child,
            announcements: None,
            announced: Vec::new(),
        })
    }

    /// Starts a cofaas host: like [`Guard::start`], but its stderr is read
    /// for [`ANNOUNCEMENT`] lines (and passed on to ours when `verbose`), so
    /// the caller can learn the addresses it actually bound with
    /// [`Guard::wait_for_announcement`].
    pub fn start_announcing(
        name: &str,
        program: &Path,
        args: &[&str],
        verbose: bool,
    ) -> std::io::Result<Guard> {
        let mut child = spawn(program, args, &[], Stdio::piped())?;
        let (tx, rx) = mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if verbose {
                        eprintln!("{line}");
                    }
                    // Guests share the host's stderr, and their output
                    // may precede an announcement on the same line.
                    if let Some(at) = line.find(ANNOUNCEMENT) {
                        // The receiver may be gone; keep draining stderr so
                        // the process never blocks on a full pipe.
                        let _ = tx.send(line[at..].to_string());
                    }
                }
            });
        }
        Ok(Guard {
            name: name.to_string(),
            child,
            announcements: Some(rx),
            announced: Vec::new(),
        })
    }

    /// Waits for the announcement `cofaas host <what> <address>` (for
    /// example `what = "listening on"`) from a process started with
    /// [`Guard::start_announcing`], and returns the address. Fails if the
    /// process exits first or `timeout` passes.
    pub fn wait_for_announcement(
        &mut self,
        what: &str,
        timeout: Duration,
    ) -> std::io::Result<SocketAddr> {
        let prefix = format!("{ANNOUNCEMENT}{what} ");
        let find = |lines: &[String]| {
            lines.iter().find_map(|l| l.strip_prefix(&prefix)).map(|a| {
                a.trim().parse::<SocketAddr>().map_err(|e| {
                    std::io::Error::other(format!("bad address in `{prefix}{a}`: {e}"))
                })
            })
        };
        let exited = |name: &str, status: ExitStatus| {
            std::io::Error::other(format!(
                "{name} exited ({status}) before announcing `{prefix}<address>`"
            ))
        };
        let start = Instant::now();
        loop {
            if let Some(addr) = find(&self.announced) {
                return addr;
            }
            let Some(rx) = &self.announcements else {
                return Err(std::io::Error::other(format!(
                    "{} was not started with start_announcing",
                    self.name
                )));
            };
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    self.announced.push(line);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // stderr closed: the process is exiting.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    return Err(exited(&self.name, status));
                }
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(exited(&self.name, status));
            }
            if start.elapsed() > timeout {
                return Err(std::io::Error::other(format!(
                    "{} did not announce `{prefix}<address>` within {timeout:?}",
                    self.name
                )));
            }
        }
    }

    /// Waits until `addr` accepts connections, failing if the process exits
    /// or `timeout` passes.
    ///
    /// A connection from a port to itself (TCP simultaneous open, which
    /// Linux allows when the kernel happens to pick `addr`'s port as the
    /// source) is not taken for a listener: it would also keep the port from
    /// the process about to bind it.
    pub fn wait_for_port(&mut self, addr: SocketAddr, timeout: Duration) -> std::io::Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                && stream.local_addr().ok() != Some(addr)
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "{} exited ({status}) before listening on {addr}",
                    self.name
                )));
            }
            if start.elapsed() > timeout {
                return Err(std::io::Error::other(format!(
                    "{} did not listen on {addr} within {timeout:?}",
                    self.name
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Guard {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) -> std::io::Result<()> {
        send_signal(self.child.id(), Signal::SIGTERM)
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still
    /// running.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if start.elapsed() > timeout {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident and peak resident memory, in KiB (Linux `/proc`).
    pub fn memory(&self) -> Option<Memory> {
        memory_of(self.child.id())
    }
}

/// Memory use of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident set size (`VmHWM`), KiB.
    pub peak_kib: u64,
}

/// [`Memory`] of process `pid`, from `/proc/<pid>/status`.
pub fn memory_of(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

impl Drop for Guard {
    /// SIGTERM, up to [`GRACE`] for the process to exit (a host drains the
    /// requests in flight), then SIGKILL; the process is always reaped.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait()
            && self.terminate().is_ok()
            && let Ok(Some(_)) = self.wait_exit(GRACE)
        {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `program` with no stdin and no stdout.
fn spawn(
    program: &Path,
    args: &[&str],
    envs: &[(&str, String)],
    stderr: Stdio,
) -> std::io::Result<Child> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn()
        .map_err(|e| std::io::Error::new(e.kind(), format!("starting {}: {e}", program.display())))
}

/// A free loopback port (bound then released).
pub fn free_port() -> std::io::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    l.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Guard {
        Guard::start_announcing("sh", Path::new("/bin/sh"), &["-c", script], false).unwrap()
    }

    #[test]
    fn announcements_are_found_behind_guest_output() {
        // A guest's partial line ahead of the host's announcement, then
        // other output, as seen with pooled instances printing at start.
        let mut g = sh("printf 'front listening on ' >&2; \
             echo 'cofaas host metrics on 127.0.0.1:9' >&2; \
             echo 'noise' >&2; \
             echo 'cofaas host listening on 127.0.0.1:4711' >&2; \
             sleep 30");
        let t = Duration::from_secs(10);
        assert_eq!(
            g.wait_for_announcement("listening on", t).unwrap(),
            "127.0.0.1:4711".parse::<SocketAddr>().unwrap()
        );
        // Earlier announcements are kept.
        assert_eq!(
            g.wait_for_announcement("metrics on", t).unwrap(),
            "127.0.0.1:9".parse::<SocketAddr>().unwrap()
        );
    }

    #[test]
    fn exiting_before_announcing_is_an_error() {
        let mut g = sh("echo 'cannot listen' >&2; exit 3");
        let err = g
            .wait_for_announcement("listening on", Duration::from_secs(10))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "sh exited (exit status: 3) before announcing `cofaas host listening on <address>`"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_garbled_address_is_an_error() {
        let mut g = sh("echo 'cofaas host listening on nowhere' >&2; sleep 30");
        let err = g
            .wait_for_announcement("listening on", Duration::from_secs(10))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad address in `cofaas host listening on nowhere`"),
            "{err}"
        );
    }
}
