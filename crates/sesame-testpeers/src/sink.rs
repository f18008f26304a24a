//! The scripted aiosmtpd sink (`tests/peers/smtp_sink.py`, TESTING-WITH-REAL-PEERS.md §2b):
//! recipient local parts choose the answers (`rcpt-550@`, `data-554@`, `once-rcpt-451@`…),
//! accepted messages are saved as `NNNN.eml` + `NNNN.json`, every MAIL/RCPT is logged in
//! `transcript.jsonl`.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{
    need_loopback, need_port, peer_dir, peers_file, stop_pid, tcp_listening, venv_python, wait_for,
    PeerError, TestCert,
};

/// How the sink behaves.
#[derive(Clone, Debug, Default)]
pub struct SinkOptions {
    /// Offer STARTTLS (self-signed certificate).
    pub tls: bool,
    /// Announce and enforce `SIZE n` (default: aiosmtpd's 32 MiB).
    pub size: Option<u64>,
    /// With `tls`: speak at most TLS 1.1, so a TLS ≥ 1.2 client's handshake fails.
    pub tls_max_1_1: bool,
    /// Greet every connection with this line (`"421 4.3.2 busy"`) and refuse everything.
    pub refuse: Option<String>,
}

/// A saved message: the raw bytes and the envelope JSON (`mail_from`, `rcpt_tos`,
/// `mail_options`, `peer`, `peer_port`, `helo`, `tls`, `auth`).
#[derive(Clone, Debug)]
pub struct SinkMessage {
    pub eml: Vec<u8>,
    pub envelope: Value,
}

/// A running sink; stopped on Drop.
pub struct Sink {
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
}

impl Sink {
    pub fn start(addr: SocketAddr, opts: SinkOptions) -> Result<Sink, PeerError> {
        need_loopback(addr)?;
        let python = venv_python()?;
        need_port(addr)?;
        let dir = peer_dir("sink.")?;
        let d = dir.path();
        let log = fs::File::create(d.join("log"))
            .map_err(|e| PeerError::Failed(format!("sink log: {e}")))?;
        let mut cmd = Command::new(python);
        cmd.arg(peers_file("smtp_sink.py"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--out")
            .arg(d.join("out"));
        if opts.tls {
            let c = TestCert::generate(d, &format!("sink-{}", addr.ip()))?;
            cmd.arg("--tls").arg(c.cert).arg(c.key);
            if opts.tls_max_1_1 {
                cmd.arg("--tls-max-1.1");
            }
        }
        if let Some(n) = opts.size {
            cmd.arg("--size").arg(n.to_string());
        }
        if let Some(line) = &opts.refuse {
            cmd.arg("--refuse").arg(line);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .map_err(|e| PeerError::Failed(e.to_string()))?,
            )
            .stderr(log)
            .spawn()
            .map_err(|e| PeerError::Failed(format!("spawning the sink: {e}")))?;
        let mut sink = Sink { dir, child, addr };
        let ready = wait_for(Duration::from_secs(15), || {
            if let Ok(Some(status)) = sink.child.try_wait() {
                return Some(Err(format!("sink exited ({status})")));
            }
            (sink.log().contains("listening on") && tcp_listening(addr)).then_some(Ok(()))
        });
        match ready {
            Some(Ok(())) => Ok(sink),
            Some(Err(e)) => Err(PeerError::Failed(format!(
                "{e} on {addr}; log:\n{}",
                sink.log()
            ))),
            None => Err(PeerError::Failed(format!(
                "sink on {addr} not ready in 15 s; log:\n{}",
                sink.log()
            ))),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where messages are saved.
    pub fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// The sink's stdout/stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Accepted messages, in order.
    pub fn messages(&self) -> Vec<SinkMessage> {
        let out = self.out_dir();
        let mut names: Vec<PathBuf> = fs::read_dir(&out)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .filter_map(|j| {
                // The .eml is written before the .json: a listed message is complete.
                let envelope = serde_json::from_slice(&fs::read(j).ok()?).ok()?;
                let eml = fs::read(j.with_extension("eml")).ok()?;
                Some(SinkMessage { eml, envelope })
            })
            .collect()
    }

    /// Waits for at least `n` accepted messages (returns what is there on timeout).
    pub fn wait_messages(&self, n: usize, timeout: Duration) -> Vec<SinkMessage> {
        wait_for(timeout, || {
            let m = self.messages();
            (m.len() >= n).then_some(m)
        })
        .unwrap_or_else(|| self.messages())
    }

    /// Every MAIL and RCPT command received (`cmd`, `arg`, `options`, `peer`, `peer_port`, `tls`).
    pub fn transcript(&self) -> Vec<Value> {
        read_jsonl(&self.out_dir().join("transcript.jsonl"))
    }
}

fn read_jsonl(p: &Path) -> Vec<Value> {
    fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

impl Drop for Sink {
    fn drop(&mut self) {
        stop_pid(self.child.id(), Duration::from_secs(3));
        let _ = self.child.wait();
    }
}
