//! A minimal DNS query over UDP, for the readiness probe of [`crate::Knot`] only (no resolver
//! crate in a dev helper: a probe needs a 30-line packet, not a library).

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// Asks `server` for `name`'s SOA; `Some(rcode, answer count)` when a reply came.
pub fn query_soa(server: SocketAddr, name: &str) -> Option<(u8, u16)> {
    let id: u16 = 0x5e5a;
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, 1 question
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 6, 0, 1]); // SOA, IN
    let bind = if server.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .ok()?;
    sock.send_to(&q, server).ok()?;
    let mut buf = [0u8; 1500];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    if n < 12 || buf[..2] != id.to_be_bytes() {
        return None;
    }
    Some((buf[3] & 0x0f, u16::from_be_bytes([buf[6], buf[7]])))
}
