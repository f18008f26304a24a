//! A receiving Postfix MX (TESTING-WITH-REAL-PEERS.md §2a): one domain, STARTTLS offered,
//! Maildir delivery (`alice@`, `bob@`, everyone else in `catchall`), `nobody@` refused with
//! `550 5.1.1`, `full@` with `452 4.2.2`. Never sends mail anywhere.

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{
    need_loopback, need_port, need_program, peer_dir, peers_file, stop_pid, wait_for, PeerError,
    TestCert,
};

/// A running Postfix instance (its own config, queue and master); stopped on Drop.
pub struct PostfixMx {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    domain: String,
    hostname: String,
    master_pid: u32,
}

impl PostfixMx {
    /// Starts Postfix listening on `addr` (usually port 25) as the MX `hostname` of `domain`;
    /// returns once it greets.
    pub fn start(addr: SocketAddr, domain: &str, hostname: &str) -> Result<PostfixMx, PeerError> {
        need_loopback(addr)?;
        let postfix = need_program("postfix", "postfix")?;
        need_port(addr)?;
        let dir = peer_dir("postfix-mx.")?;
        let d = dir.path();
        let failed = |e: std::io::Error| PeerError::Failed(format!("postfix dir: {e}"));
        for sub in ["etc", "queue"] {
            fs::create_dir_all(d.join(sub)).map_err(failed)?;
        }
        // The Maildir root belongs to the virtual uid (main.cf: virtual_uid_maps static:65534).
        let mail = d.join("mail");
        fs::create_dir_all(&mail).map_err(failed)?;
        std::os::unix::fs::chown(&mail, Some(65534), Some(65534)).map_err(failed)?;
        // syslog_name must differ between instances; the address makes it unique.
        let name = format!(
            "postfix-{}-{}",
            addr.ip().to_string().replace('.', "-"),
            addr.port()
        );
        let fill = |t: String| {
            t.replace("@DIR@", &d.display().to_string())
                .replace("@LISTEN@", &addr.to_string())
                .replace("@ADDR@", &addr.ip().to_string())
                .replace("@DOMAIN@", domain)
                .replace("@HOST@", hostname)
                .replace("@NAME@", &name)
        };
        for f in ["main.cf", "master.cf"] {
            let t = fs::read_to_string(peers_file(&format!("postfix-mx/{f}"))).map_err(failed)?;
            fs::write(d.join("etc").join(f), fill(t)).map_err(failed)?;
        }
        TestCert::generate(&d.join("etc"), hostname)?;
        // With no syslog, errors of `postfix start` only show on a terminal: script(1) gives
        // it one so a failure message reaches the test output.
        let out = Command::new("script")
            .args(["-qec"])
            .arg(format!(
                "{} -c {} start",
                postfix.display(),
                d.join("etc").display()
            ))
            .arg("/dev/null")
            .output()
            .map_err(|e| PeerError::Failed(format!("postfix start: {e}")))?;
        let pid_file = d.join("queue/pid/master.pid");
        let pid = wait_for(Duration::from_secs(10), || {
            fs::read_to_string(&pid_file)
                .ok()?
                .trim()
                .parse::<u32>()
                .ok()
        });
        let Some(master_pid) = pid else {
            return Err(PeerError::Failed(format!(
                "postfix did not start on {addr}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        };
        let mx = PostfixMx {
            dir,
            addr,
            domain: domain.to_string(),
            hostname: hostname.to_string(),
            master_pid,
        };
        let greets = wait_for(Duration::from_secs(10), || {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            let mut b = [0u8; 64];
            let n = s.read(&mut b).ok()?;
            b[..n].starts_with(b"220").then_some(())
        });
        if greets.is_none() {
            return Err(PeerError::Failed(format!(
                "postfix on {addr} does not greet; log:\n{}",
                mx.log()
            )));
        }
        Ok(mx)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    pub fn domain(&self) -> &str {
        &self.domain
    }
    pub fn hostname(&self) -> &str {
        &self.hostname
    }
    /// The instance's directory (etc/, queue/, mail/, maillog).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The maillog so far (`postlogd` writes it).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// Messages delivered to `mailbox` (`alice`, `bob`, `catchall`), oldest first.
    pub fn delivered(&self, mailbox: &str) -> Vec<Vec<u8>> {
        let new = self.dir.path().join("mail").join(mailbox).join("new");
        let mut files: Vec<PathBuf> = fs::read_dir(new)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        // Maildir names start with the delivery time in seconds, then a unique part.
        files.sort();
        files.iter().filter_map(|p| fs::read(p).ok()).collect()
    }

    /// Waits until `mailbox` holds at least `n` messages; returns them (maybe fewer on timeout).
    pub fn wait_delivered(&self, mailbox: &str, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        wait_for(timeout, || {
            let m = self.delivered(mailbox);
            (m.len() >= n).then_some(m)
        })
        .unwrap_or_else(|| self.delivered(mailbox))
    }

    /// How many SMTP connections smtpd has accepted from `peer` so far (`connect from` log
    /// lines; the readiness probe connects from 127.0.0.1).
    pub fn connections_from(&self, peer: std::net::IpAddr) -> usize {
        let tag = format!("[{peer}]");
        self.log()
            .lines()
            .filter(|l| l.contains("smtpd[") && l.contains(": connect from ") && l.ends_with(&tag))
            .count()
    }
}

impl Drop for PostfixMx {
    fn drop(&mut self) {
        // The master ends its children within ~3 s of SIGTERM.
        stop_pid(self.master_pid, Duration::from_secs(5));
    }
}
