//! Helpers shared by the integration tests.
#![allow(dead_code)]

use sesame_spool::{Spool, SpoolOptions};
use std::path::Path;

/// A body whose content and length are derived from its id, so a reader can check it is
/// complete and byte-identical without remembering what was written. Lengths vary from 1 KB to
/// about 17 KB so torn writes at any page boundary would show.
pub fn body_for(id: &str) -> Vec<u8> {
    let mut seed: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        seed = (seed ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let len = 1024 + (seed % 16_384) as usize;
    let mut out = Vec::with_capacity(len);
    let header = format!("Message-Id: <{id}>\r\n\r\n");
    out.extend_from_slice(header.as_bytes());
    let mut x = seed | 1;
    while out.len() < len {
        // xorshift64: cheap, deterministic filler.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(b'a' + (x % 26) as u8);
    }
    out.truncate(len.max(header.len()));
    out
}

pub fn open(dir: &Path) -> Spool {
    Spool::open(dir, SpoolOptions::default()).expect("open spool")
}

pub fn open_nosync(dir: &Path) -> Spool {
    let opts = SpoolOptions {
        fsync: false,
        ..SpoolOptions::default()
    };
    Spool::open(dir, opts).expect("open spool")
}
