//! API load generator: C concurrent keep-alive HTTP/1.1 connections sending SigV4-signed SES v2
//! `SendEmail` calls (Raw content of a fixed size) for a fixed duration. Counts only 200
//! responses (each one is a durable accept) and prints one parseable line:
//! `api-bench: target=… conns=32 size=5120 sent=… errors=… secs=… rate=…/s p50=…ms p99=…ms`.
//! Loopback benchmarking only; it asserts nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

struct Args {
    endpoint: String,
    key: String,
    secret: String,
    from: String,
    to: String,
    conns: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    label: String,
}

fn parse() -> Args {
    let mut a = Args {
        endpoint: "127.0.0.1:8025".into(),
        key: std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
        secret: std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
        from: "bench@bench.example".into(),
        to: "sink@example.net".into(),
        conns: 32,
        size: 5120,
        duration: 20.0,
        warmup: 3.0,
        label: "sesame-api".into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--endpoint" => a.endpoint = v,
            "--key" => a.key = v,
            "--secret" => a.secret = v,
            "--from" => a.from = v,
            "--to" => a.to = v,
            "--connections" => a.conns = v.parse().expect("--connections N"),
            "--size" => a.size = v.parse().expect("--size BYTES"),
            "--duration" => a.duration = v.parse().expect("--duration SECS"),
            "--warmup" => a.warmup = v.parse().expect("--warmup SECS"),
            "--label" => a.label = v,
            "-h" | "--help" => {
                println!("api-bench --endpoint HOST:PORT --key AKID --secret S --from ADDR [--to ADDR] [--connections 32] [--size 5120] [--duration 20] [--warmup 3]");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

fn message(from: &str, to: &str, n: u64, size: usize) -> Vec<u8> {
    let mut m = format!("From: {from}\r\nTo: {to}\r\nSubject: api bench {n}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n");
    while m.len() + 80 < size {
        m.push_str(
            "The quick brown fox jumps over the lazy dog, again and again and again.....\r\n",
        );
    }
    m.into_bytes()
}

fn amz_now() -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&f)
        .expect("format time")
}

/// One request on a keep-alive connection; returns the status code.
fn call(conn: &mut BufReader<TcpStream>, a: &Args, body: &[u8]) -> std::io::Result<u16> {
    let ts = amz_now();
    let headers = vec![
        ("host".to_string(), a.endpoint.clone()),
        ("x-amz-date".to_string(), ts.clone()),
    ];
    let req = sesame_sigv4::sigv4::Request {
        method: "POST",
        raw_path: "/v2/email/outbound-emails",
        raw_query: "",
        headers: &headers,
        body,
    };
    let auth = sesame_sigv4::sigv4::sign(
        &req,
        &a.key,
        &a.secret,
        "us-east-1",
        "ses",
        &ts,
        &["host".into(), "x-amz-date".into()],
    );
    let head = format!(
        "POST /v2/email/outbound-emails HTTP/1.1\r\nHost: {}\r\nX-Amz-Date: {ts}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        a.endpoint,
        body.len()
    );
    let s = conn.get_mut();
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut status_line = String::new();
    conn.read_line(&mut status_line)?;
    let status: u16 = status_line
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut sink = vec![0u8; len];
    conn.read_exact(&mut sink)?;
    Ok(status)
}

fn main() {
    let a = Arc::new(parse());
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let counter = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let workers: Vec<_> = (0..a.conns)
        .map(|_| {
            let (a, stop, measuring, sent, errors, counter, latencies) = (
                a.clone(),
                stop.clone(),
                measuring.clone(),
                sent.clone(),
                errors.clone(),
                counter.clone(),
                latencies.clone(),
            );
            std::thread::spawn(move || {
                let mut local = Vec::new();
                let mut conn: Option<BufReader<TcpStream>> = None;
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        match TcpStream::connect(&a.endpoint) {
                            Ok(s) => {
                                let _ = s.set_nodelay(true);
                                conn = Some(BufReader::new(s));
                            }
                            Err(_) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(50));
                                continue;
                            }
                        }
                    }
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let raw = message(&a.from, &a.to, n, a.size);
                    let body = format!(
                        r#"{{"Content":{{"Raw":{{"Data":"{}"}}}}}}"#,
                        base64::engine::general_purpose::STANDARD.encode(raw)
                    );
                    let t = Instant::now();
                    let result = call(conn.as_mut().expect("connected"), &a, body.as_bytes());
                    let counted =
                        measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed);
                    match result {
                        Ok(200) if counted => {
                            sent.fetch_add(1, Ordering::Relaxed);
                            local.push(t.elapsed().as_micros() as u32);
                        }
                        Ok(200) => {}
                        Ok(_) => {
                            if counted {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(_) => {
                            conn = None;
                            if counted {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
                latencies.lock().expect("latencies").extend(local);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(a.warmup));
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(a.duration));
    stop.store(true, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    for w in workers {
        let _ = w.join();
    }
    let mut l = latencies.lock().expect("latencies").clone();
    l.sort_unstable();
    let pct = |p: f64| {
        if l.is_empty() {
            0.0
        } else {
            l[((l.len() - 1) as f64 * p) as usize] as f64 / 1000.0
        }
    };
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "api-bench: target={} conns={} size={} sent={} errors={} secs={:.2} rate={:.1}/s p50={:.1}ms p99={:.1}ms",
        a.label,
        a.conns,
        a.size,
        sent,
        errors.load(Ordering::Relaxed),
        secs,
        sent as f64 / secs,
        pct(0.5),
        pct(0.99)
    );
}
