//! Spool write benchmark: durable writes per second and p50/p99 latency of `Spool::write` for
//! 1, 8 and 32 concurrent writers of 5 KB bodies, per commit mode. Run through
//! `bench/spool.sh` (release build). Prints numbers; asserts nothing.
//!
//! Usage: `spool-bench [--dir DIR] [--secs N] [--size BYTES] [--writers 1,8,32]
//!                     [--modes group,syncfs,naive]`
//! DIR must be on the disk under test (not tmpfs), default `./target/spool-bench`.

use bytes::Bytes;
use sesame_spool::{CommitMode, Spool, SpoolOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    dir: PathBuf,
    secs: f64,
    size: usize,
    writers: Vec<usize>,
    modes: Vec<(&'static str, CommitMode)>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        dir: PathBuf::from("target/spool-bench"),
        secs: 3.0,
        size: 5 * 1024,
        writers: vec![1, 8, 32],
        modes: vec![
            ("group", CommitMode::Group),
            ("syncfs", CommitMode::GroupSyncfs),
            ("naive", CommitMode::Naive),
        ],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {val}: {e}");
        match flag.as_str() {
            "--dir" => a.dir = PathBuf::from(&val),
            "--secs" => a.secs = val.parse().map_err(|e| bad(&e))?,
            "--size" => a.size = val.parse().map_err(|e| bad(&e))?,
            "--writers" => {
                a.writers = val
                    .split(',')
                    .map(|s| s.parse().map_err(|e| bad(&e)))
                    .collect::<Result<_, _>>()?
            }
            "--modes" => {
                a.modes = val
                    .split(',')
                    .map(|m| match m {
                        "group" => Ok(("group", CommitMode::Group)),
                        "syncfs" => Ok(("syncfs", CommitMode::GroupSyncfs)),
                        "naive" => Ok(("naive", CommitMode::Naive)),
                        other => Err(format!("unknown mode {other}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// Runs `writers` tasks writing `size`-byte bodies for `secs`; returns sorted latencies.
async fn run(spool: &Spool, writers: usize, size: usize, secs: f64) -> (Vec<Duration>, Duration) {
    let body = Bytes::from(vec![b'x'; size]);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let (spool, body, stop) = (spool.clone(), body.clone(), stop.clone());
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("bench-{w}-{n}");
                n += 1;
                let t = Instant::now();
                spool.write(&id, body.clone()).await.expect("write");
                lat.push(t.elapsed());
            }
            lat
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.expect("writer task"));
    }
    let elapsed = start.elapsed();
    all.sort();
    (all, elapsed)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("spool-bench: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "spool-bench: {} B bodies, {} s per cell, dir {}",
        args.size,
        args.secs,
        args.dir.display()
    );
    println!(
        "{:<7} {:>7} {:>10} {:>9} {:>9} {:>9} {:>12}",
        "mode", "writers", "writes/s", "p50 ms", "p99 ms", "batch", "syncs/write"
    );
    for (name, mode) in &args.modes {
        for &writers in &args.writers {
            let dir = args.dir.join(format!("{name}-{writers}"));
            let _ = std::fs::remove_dir_all(&dir);
            let opts = SpoolOptions {
                commit: *mode,
                ..SpoolOptions::default()
            };
            let spool = Spool::open(&dir, opts).expect("open spool");
            let before = spool.stats();
            let (lat, elapsed) = run(&spool, writers, args.size, args.secs).await;
            let st = spool.stats();
            let n = lat.len() as f64;
            let rounds = (st.commit_rounds - before.commit_rounds).max(1) as f64;
            println!(
                "{:<7} {:>7} {:>10.0} {:>9.2} {:>9.2} {:>9.1} {:>12.2}",
                name,
                writers,
                n / elapsed.as_secs_f64(),
                pct(&lat, 0.50),
                pct(&lat, 0.99),
                n / rounds,
                (st.fsyncs - before.fsyncs) as f64 / n.max(1.0),
            );
            drop(spool);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
