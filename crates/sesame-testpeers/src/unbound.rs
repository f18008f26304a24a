//! unbound as a recursive front on a loopback address (TESTING-WITH-REAL-PEERS.md §1): each
//! given zone is a stub pointing at its authoritative server (knot, or Sesame's own responder),
//! so a client asking unbound gets CNAME chains followed across zones, as on the Internet.
//! No caching (`cache-max-ttl: 0`), no DNSSEC; names outside `.test` are refused.

use std::fs;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{need_loopback, need_port, need_program, peer_dir, stop_pid, wait_for, PeerError};

/// A running unbound; stopped on Drop.
pub struct Unbound {
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
}

impl Unbound {
    /// Listens on `addr` (UDP and TCP) and resolves each `(zone, server)` of `stubs` by asking
    /// `server`; returns once the first zone's SOA resolves.
    pub fn start(addr: SocketAddr, stubs: &[(&str, SocketAddr)]) -> Result<Unbound, PeerError> {
        need_loopback(addr)?;
        let unbound = need_program("unbound", "unbound")?;
        need_port(addr)?;
        let dir = peer_dir("unbound.")?;
        let d = dir.path();
        let failed = |e: std::io::Error| PeerError::Failed(format!("unbound dir: {e}"));
        let mut conf = format!(
            "server:\n    interface: {ip}\n    port: {port}\n    access-control: 127.0.0.0/8 allow\n    \
             outgoing-interface: {ip}\n    do-not-query-localhost: no\n    do-ip6: no\n    \
             username: \"\"\n    chroot: \"\"\n    directory: \"{dir}\"\n    pidfile: \"\"\n    \
             use-syslog: no\n    logfile: \"\"\n    module-config: \"iterator\"\n    \
             cache-max-ttl: 0\n    cache-max-negative-ttl: 0\n    local-zone: \".\" refuse\n    \
             local-zone: \"test.\" transparent\n    domain-insecure: \"test.\"\n",
            ip = addr.ip(),
            port = addr.port(),
            dir = d.display()
        );
        for (zone, server) in stubs {
            conf.push_str(&format!(
                "stub-zone:\n    name: \"{}.\"\n    stub-addr: {}@{}\n",
                zone.trim_end_matches('.'),
                server.ip(),
                server.port()
            ));
        }
        let conf_path = d.join("unbound.conf");
        fs::write(&conf_path, conf).map_err(failed)?;
        let log = fs::File::create(d.join("log")).map_err(failed)?;
        let child = Command::new(unbound)
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(failed)?)
            .stderr(log)
            .spawn()
            .map_err(|e| PeerError::Failed(format!("spawning unbound: {e}")))?;
        let mut u = Unbound { dir, child, addr };
        if let Some((zone, _)) = stubs.first() {
            let ready = wait_for(Duration::from_secs(10), || {
                if let Ok(Some(status)) = u.child.try_wait() {
                    return Some(Err(format!("unbound exited ({status})")));
                }
                match crate::dns::query_soa(addr, zone) {
                    Some((0, n)) if n > 0 => Some(Ok(())),
                    _ => None,
                }
            });
            match ready {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(PeerError::Failed(format!("{e}; log:\n{}", u.log()))),
                None => {
                    return Err(PeerError::Failed(format!(
                        "unbound on {addr} did not resolve {zone} within 10 s; log:\n{}",
                        u.log()
                    )))
                }
            }
        }
        Ok(u)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// unbound's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        stop_pid(self.child.id(), Duration::from_secs(5));
        let _ = self.child.wait();
    }
}
