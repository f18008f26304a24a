//! Authoritative knotd on a loopback address (TESTING-WITH-REAL-PEERS.md §1), with runtime
//! record changes through `knotc` (zone-begin / zone-set|zone-unset / zone-commit; in memory
//! only, `journal-content: none`).

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{
    need_loopback, need_port, need_program, peer_dir, peers_file, stop_pid, wait_for, PeerError,
};

/// A running knotd; stopped on Drop.
pub struct Knot {
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
    conf: PathBuf,
    knotc: PathBuf,
}

/// A zone file with the usual boilerplate: `$ORIGIN`, `$TTL 60`, SOA and NS, then `records`
/// (relative or absolute owner names, one record a line).
pub fn zone_text(zone: &str, records: &str) -> String {
    let z = zone.trim_end_matches('.');
    format!(
        "$ORIGIN {z}.\n$TTL 60\n@ 300 IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 60\n\
         @ 300 IN NS ns.{z}.\n{records}\n"
    )
}

impl Knot {
    /// Serves `zones` (name, zone file text) on `addr` (UDP and TCP); returns once every zone
    /// answers its SOA.
    pub fn start(addr: SocketAddr, zones: &[(&str, &str)]) -> Result<Knot, PeerError> {
        need_loopback(addr)?;
        let knotd = need_program("knotd", "knot")?;
        let knotc = need_program("knotc", "knot")?;
        need_port(addr)?;
        let dir = peer_dir("knot.")?;
        let d = dir.path();
        let failed = |e: std::io::Error| PeerError::Failed(format!("knot dir: {e}"));
        fs::create_dir_all(d.join("zones")).map_err(failed)?;
        let template = fs::read_to_string(peers_file("knot.conf")).map_err(failed)?;
        let mut conf = template
            .replace("@DIR@", &d.display().to_string())
            .replace("@LISTEN@", &format!("{}@{}", addr.ip(), addr.port()));
        for (name, text) in zones {
            let name = name.trim_end_matches('.');
            fs::write(d.join("zones").join(format!("{name}.zone")), text).map_err(failed)?;
            conf.push_str(&format!("  - domain: {name}\n"));
        }
        let conf_path = d.join("knot.conf");
        fs::write(&conf_path, conf).map_err(failed)?;
        let log = fs::File::create(d.join("log")).map_err(failed)?;
        let child = Command::new(knotd)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(failed)?)
            .stderr(log)
            .spawn()
            .map_err(|e| PeerError::Failed(format!("spawning knotd: {e}")))?;
        let mut knot = Knot {
            dir,
            child,
            addr,
            conf: conf_path,
            knotc,
        };
        for (name, _) in zones {
            let ready = wait_for(Duration::from_secs(10), || {
                if let Ok(Some(status)) = knot.child.try_wait() {
                    return Some(Err(format!("knotd exited ({status})")));
                }
                match crate::dns::query_soa(addr, name) {
                    Some((0, n)) if n > 0 => Some(Ok(())),
                    _ => None,
                }
            });
            match ready {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    return Err(PeerError::Failed(format!("{e}; log:\n{}", knot.log())))
                }
                None => {
                    return Err(PeerError::Failed(format!(
                        "knotd on {addr} did not serve {name} within 10 s; log:\n{}",
                        knot.log()
                    )))
                }
            }
        }
        Ok(knot)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// knotd's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn knotc(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new(&self.knotc)
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .output()
            .map_err(|e| format!("knotc: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        // knotc exits 0 even for some refusals; "error" in the output is the tell.
        if out.status.success() && !text.to_ascii_lowercase().contains("error") {
            Ok(())
        } else {
            Err(format!("knotc {}: {}", args.join(" "), text.trim()))
        }
    }

    fn transaction(&self, zone: &str, change: &[&str]) -> Result<(), String> {
        self.knotc(&["zone-begin", zone])?;
        if let Err(e) = self.knotc(change) {
            let _ = self.knotc(&["zone-abort", zone]);
            return Err(e);
        }
        self.knotc(&["zone-commit", zone])
    }

    /// Adds a record: `set("rcpt.test", "mx2", 60, "A", "127.0.2.9")`.
    pub fn set(
        &self,
        zone: &str,
        owner: &str,
        ttl: u32,
        rtype: &str,
        rdata: &str,
    ) -> Result<(), String> {
        let ttl = ttl.to_string();
        let mut args = vec!["zone-set", zone, owner, &ttl, rtype];
        let parts: Vec<&str> = rdata.split_whitespace().collect();
        args.extend(parts);
        self.transaction(zone, &args)
    }

    /// Removes `owner`'s records of `rtype` (all types when `None`).
    pub fn unset(&self, zone: &str, owner: &str, rtype: Option<&str>) -> Result<(), String> {
        let mut args = vec!["zone-unset", zone, owner];
        if let Some(t) = rtype {
            args.push(t);
        }
        self.transaction(zone, &args)
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        stop_pid(self.child.id(), Duration::from_secs(5));
        let _ = self.child.wait();
    }
}
