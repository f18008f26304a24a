//! Dev-only: real test peers on loopback addresses chosen by the caller (see
//! shared/TESTING-WITH-REAL-PEERS.md). Each peer lives in its own temp dir (mode 0755, so the
//! postfix user and uid 65534 can traverse it) and is stopped by PID on Drop — never by name,
//! since other suites run their own instances on the same machine.
//!
//! - [`Knot`]: authoritative knotd for given zones, runtime record changes via `knotc`.
//! - [`PostfixMx`]: a receiving Postfix with STARTTLS and Maildir.
//! - [`Sink`]: the scripted aiosmtpd sink (`tests/peers/smtp_sink.py`).
//! - [`Unbound`]: a recursive front whose stub zones point at knot or Sesame's responder.
//! - [`venv_python`]: the `.venv-peers` interpreter (`tests/peers/venv.sh`).
//!
//! A missing program (knotd, postfix, the venv) or missing root for ports below 1024 is
//! [`PeerError::Missing`] on a developer machine, which tests turn into a printed `SKIPPED`
//! with [`start_or_skip!`]; with `CI` set it panics instead, so CI cannot pass by skipping.

mod cert;
mod dns;
mod knot;
mod postfix;
mod sink;
mod unbound;

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use cert::TestCert;
pub use knot::{zone_text, Knot};
pub use postfix::PostfixMx;
pub use sink::{Sink, SinkMessage, SinkOptions};
pub use unbound::Unbound;

/// Why a peer is not running.
#[derive(Debug)]
pub enum PeerError {
    /// Something this machine lacks (a program, root): the test is skipped (not under CI).
    Missing(String),
    /// The peer should have started and did not: a real failure.
    Failed(String),
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::Missing(m) => write!(f, "test peer unavailable: {m}"),
            PeerError::Failed(m) => write!(f, "test peer failed: {m}"),
        }
    }
}

impl std::error::Error for PeerError {}

/// `Ok(peer)`, or for a missing prerequisite prints `*** SKIPPED …` and returns from the
/// calling test; any other failure panics.
#[macro_export]
macro_rules! start_or_skip {
    ($e:expr) => {
        match $e {
            Ok(p) => p,
            Err($crate::PeerError::Missing(why)) => {
                eprintln!("\n*** SKIPPED {}: {} ***\n", module_path!(), why);
                return;
            }
            Err(e) => panic!("{e}"),
        }
    };
}

/// Under CI a missing prerequisite is a failure, elsewhere a reason to skip.
pub(crate) fn missing(what: String) -> PeerError {
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set and a test peer prerequisite is missing: {what} (.ci/run must install it)"
        );
    }
    PeerError::Missing(what)
}

/// The path of `program` on PATH (plus the sbin dirs, where knotd and postfix live).
pub(crate) fn need_program(program: &str, package: &str) -> Result<PathBuf, PeerError> {
    let path = std::env::var("PATH").unwrap_or_default();
    for dir in path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"])
    {
        let p = Path::new(dir).join(program);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(missing(format!(
        "`{program}` not found (apt-get install {package})"
    )))
}

/// Ports below 1024 need root (CI runs as root).
pub(crate) fn need_port(addr: SocketAddr) -> Result<(), PeerError> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    if addr.port() < 1024 && uid != 0 {
        return Err(missing(format!("binding {addr} needs root")));
    }
    Ok(())
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// `tests/peers/<name>` in the repository.
pub fn peers_file(name: &str) -> PathBuf {
    repo_root().join("tests/peers").join(name)
}

/// The Python of the peers' venv (`SESAME_PEERS_VENV`, else `<repo>/.venv-peers`), when it
/// imports aiosmtpd and dkim. Create it with `bash tests/peers/venv.sh`.
pub fn venv_python() -> Result<PathBuf, PeerError> {
    let venv = std::env::var_os("SESAME_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv-peers"));
    let py = venv.join("bin/python");
    let ok = py.is_file()
        && Command::new(&py)
            .args(["-c", "import aiosmtpd, dkim"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if ok {
        Ok(py)
    } else {
        Err(missing(format!(
            "no peers venv at {} (run: bash tests/peers/venv.sh)",
            venv.display()
        )))
    }
}

/// A fresh temp dir with mode 0755 (peers running as other users must traverse it).
pub(crate) fn peer_dir(prefix: &str) -> Result<tempfile::TempDir, PeerError> {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| PeerError::Failed(format!("temp dir: {e}")))?;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| PeerError::Failed(format!("chmod temp dir: {e}")))?;
    Ok(d)
}

/// Polls `f` every 50 ms until it returns `Some`, or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether something accepts TCP connections at `addr`.
pub(crate) fn tcp_listening(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// `kill -TERM pid`, then waits up to `grace` for it to go, then `kill -KILL`.
pub(crate) fn stop_pid(pid: u32, grace: Duration) {
    let alive = || Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid);
    let _ = Command::new("kill").arg(pid.to_string()).status();
    if wait_for(grace, || (!alive()).then_some(())).is_none() {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Loopback only: every peer address must be in 127.0.0.0/8 (the network rule of this
/// workplace; nothing leaves the machine).
pub(crate) fn need_loopback(addr: SocketAddr) -> Result<(), PeerError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(PeerError::Failed(format!(
            "{addr} is not a loopback address"
        )))
    }
}
