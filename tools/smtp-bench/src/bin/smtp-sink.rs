//! A counting SMTP sink for the delivery benchmark: the "recipients' mail server" that both
//! Sesame and Postfix + OpenDKIM deliver to, so both are measured against the same receiver.
//!
//! `smtp-sink ADDR [--out FILE]` listens on ADDR (e.g. `127.0.0.40:25`), answers every
//! transaction with 250 (EHLO advertises PIPELINING, 8BITMIME, SIZE; no STARTTLS, so neither
//! sender pays for TLS), discards the data, and prints `sink count=N elapsed_ms=T` once per
//! second to stdout (and to FILE when given, rewritten each time), counting one per completed
//! DATA. It also counts messages carrying a `DKIM-Signature:` header (`signed=N`), so the
//! benchmark can prove both senders really signed.
//!
//! Why not Postfix's `smtp-sink(1)`: it prints no machine-readable count and cannot tell
//! whether the messages were signed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Counters {
    messages: AtomicU64,
    signed: AtomicU64,
    connections: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .ok_or_else(|| anyhow::anyhow!("usage: smtp-sink ADDR [--out FILE]"))?
        .clone();
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let listener = TcpListener::bind(&addr).await?;
    println!("sink listening on {}", listener.local_addr()?);
    let counters = Arc::new(Counters::default());
    let start = Instant::now();
    {
        let counters = counters.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let line = format!(
                    "sink count={} signed={} connections={} elapsed_ms={}",
                    counters.messages.load(Ordering::Relaxed),
                    counters.signed.load(Ordering::Relaxed),
                    counters.connections.load(Ordering::Relaxed),
                    start.elapsed().as_millis()
                );
                println!("{line}");
                if let Some(f) = &out {
                    let _ = std::fs::write(f, format!("{line}\n"));
                }
            }
        });
    }
    loop {
        let (stream, _) = listener.accept().await?;
        let counters = counters.clone();
        counters.connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let _ = session(stream, &counters).await;
        });
    }
}

async fn session(stream: TcpStream, counters: &Counters) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::with_capacity(64 * 1024, r);
    w.write_all(b"220 sink.test ESMTP bench sink\r\n").await?;
    let mut line = Vec::with_capacity(512);
    let mut pending = Vec::with_capacity(1024);
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with(b"EHLO") {
            pending.extend_from_slice(
                b"250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n",
            );
        } else if upper.starts_with(b"HELO") {
            pending.extend_from_slice(b"250 sink.test\r\n");
        } else if upper.starts_with(b"DATA") {
            pending.extend_from_slice(b"354 go ahead\r\n");
            w.write_all(&pending).await?;
            pending.clear();
            let mut signed = false;
            let mut in_headers = true;
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line).await? == 0 {
                    return Ok(());
                }
                if line == b".\r\n" {
                    break;
                }
                if in_headers {
                    if line == b"\r\n" {
                        in_headers = false;
                    } else if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"DKIM-Signature:")
                    {
                        signed = true;
                    }
                }
            }
            counters.messages.fetch_add(1, Ordering::Relaxed);
            if signed {
                counters.signed.fetch_add(1, Ordering::Relaxed);
            }
            pending.extend_from_slice(b"250 2.0.0 Ok: queued\r\n");
        } else if upper.starts_with(b"QUIT") {
            pending.extend_from_slice(b"221 2.0.0 Bye\r\n");
            w.write_all(&pending).await?;
            return Ok(());
        } else {
            // MAIL, RCPT, RSET, NOOP: all accepted.
            pending.extend_from_slice(b"250 2.0.0 Ok\r\n");
        }
        // Answer when the client waits for us: nothing more is buffered (pipelining).
        if r.buffer().is_empty() && !pending.is_empty() {
            w.write_all(&pending).await?;
            pending.clear();
        }
    }
}
