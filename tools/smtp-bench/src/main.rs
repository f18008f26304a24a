//! smtp-bench: an SMTP submission load generator.
//!
//! Opens `--connections` concurrent connections to `--server`, sets each up (EHLO, STARTTLS or
//! implicit TLS, EHLO, AUTH), then sends fixed-size messages in a loop on each connection,
//! reconnecting whenever the server closes one. Only messages answered `250` after the data
//! count. At the end it prints one line:
//!
//! ```text
//! smtp-bench: target=postfix conns=32 size=5120 tls=starttls auth=plain pipelining=yes sent=12345 errors=0 recycled=0 reconnects=0 secs=20.0 rate=617.3/s p50=48.1ms p90=80.0ms p99=130.2ms max=301.0ms
//! ```
//!
//! In `--duration` mode a message counts when its 250 arrives inside the measuring window
//! (after `--warmup`), and `rate = sent / duration`. In `--messages` mode the first N
//! transactions started after the warm-up count, and `secs` runs to the last of their 250s.

mod args;
mod message;
mod smtp;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use args::{Args, AuthMech, Stop, TlsMode};
use message::MessageFactory;
use smtp::{Client, Outcome, Session, SetupError, Stage};

/// Stops printing individual errors after this many.
const MAX_LOGGED_ERRORS: u64 = 10;
/// A connection slot gives up after this many set-up failures in a row.
const MAX_SETUP_FAILURES: u32 = 50;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ticket {
    Warmup,
    Measured,
    Stop,
}

struct Shared {
    client: Client,
    factory: MessageFactory,
    start: Instant,
    measure_start: Instant,
    measure_end: Option<Instant>,
    messages: Option<u64>,
    tickets: AtomicU64,
    abort: AtomicBool,
    logged: AtomicU64,
    accepted_all: AtomicU64,
}

impl Shared {
    fn ticket(&self) -> Ticket {
        if self.abort.load(Ordering::Relaxed) {
            return Ticket::Stop;
        }
        let now = Instant::now();
        if now < self.measure_start {
            return Ticket::Warmup;
        }
        match (self.measure_end, self.messages) {
            (Some(end), _) if now < end => Ticket::Measured,
            (Some(_), _) => Ticket::Stop,
            (None, Some(n)) if self.tickets.fetch_add(1, Ordering::Relaxed) < n => Ticket::Measured,
            _ => Ticket::Stop,
        }
    }

    fn finished(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
            || match (self.measure_end, self.messages) {
                (Some(end), _) => Instant::now() >= end,
                (None, Some(n)) => self.tickets.load(Ordering::Relaxed) >= n,
                (None, None) => true,
            }
    }

    /// Whether a message acknowledged at `acked` under `ticket` is part of the measurement.
    fn counts(&self, ticket: Ticket, acked: Instant) -> bool {
        match self.measure_end {
            Some(end) => acked >= self.measure_start && acked <= end,
            None => ticket == Ticket::Measured,
        }
    }

    fn log(&self, quiet: bool, msg: std::fmt::Arguments<'_>) {
        if quiet {
            return;
        }
        let n = self.logged.fetch_add(1, Ordering::Relaxed);
        if n < MAX_LOGGED_ERRORS {
            eprintln!("smtp-bench: {msg}");
        } else if n == MAX_LOGGED_ERRORS {
            eprintln!("smtp-bench: (further errors not shown)");
        }
    }
}

#[derive(Default)]
struct Stats {
    sent: u64,
    /// Transactions not acknowledged with 250 (refused, or the connection failed mid-way).
    errors: u64,
    /// 421 at MAIL/RCPT/DATA (server recycling the connection): retried on a new connection.
    recycled: u64,
    connections: u64,
    setup_errors: u64,
    latencies_us: Vec<u32>,
    last_ack: Option<Instant>,
    /// Whether any connection pipelined (PIPELINING offered and not disabled).
    pipelined: bool,
    fatal: Option<String>,
}

async fn worker(id: usize, sh: Arc<Shared>) -> Stats {
    let a = &sh.client.args;
    let mut st = Stats::default();
    let mut buf = Vec::with_capacity(a.size + 64);
    let mut seq = 0u64;
    let mut failures = 0u32;
    let mut recycles_in_a_row = 0u32;
    // A ticket whose transaction was turned away by a 421 before any data: reused.
    let mut carry: Option<Ticket> = None;
    'connect: loop {
        // A carried ticket (messages mode) is still owed a transaction; in duration mode the
        // clock decides.
        if sh.finished() && (carry.is_none() || sh.measure_end.is_some()) {
            break;
        }
        if recycles_in_a_row > MAX_SETUP_FAILURES {
            st.fatal = Some(format!(
                "conn {id}: connection closed before a transaction {recycles_in_a_row} times in a row"
            ));
            break;
        }
        let mut s = match Session::open(&sh.client).await {
            Ok(s) => {
                failures = 0;
                s
            }
            Err(SetupError::Auth(r)) => {
                st.fatal = Some(format!("authentication refused: {r}"));
                sh.abort.store(true, Ordering::Relaxed);
                break;
            }
            Err(SetupError::Other(e)) => {
                st.setup_errors += 1;
                failures += 1;
                sh.log(a.quiet, format_args!("conn {id}: set-up failed: {e:#}"));
                if failures >= MAX_SETUP_FAILURES {
                    st.fatal = Some(format!("conn {id}: {failures} set-up failures in a row"));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        st.connections += 1;
        st.pipelined |= s.pipelining;
        loop {
            let ticket = match carry.take() {
                Some(t) => t,
                None => sh.ticket(),
            };
            if ticket == Ticket::Stop {
                s.quit().await;
                break 'connect;
            }
            seq += 1;
            sh.factory.build(&a.label, id, seq, &mut buf);
            let t0 = Instant::now();
            match s.transaction(&sh.client, &buf).await {
                Ok(Outcome::Accepted) => {
                    recycles_in_a_row = 0;
                    let now = Instant::now();
                    sh.accepted_all.fetch_add(1, Ordering::Relaxed);
                    if sh.counts(ticket, now) {
                        st.sent += 1;
                        let us = now.duration_since(t0).as_micros();
                        st.latencies_us.push(us.min(u32::MAX as u128) as u32);
                        st.last_ack = Some(now);
                    }
                    // A server recycling the connection sends 421 right after the 250.
                    if let Some(r) = s.unsolicited().await {
                        if r.code == 421 {
                            st.recycled += 1;
                        } else {
                            sh.log(a.quiet, format_args!("conn {id}: unexpected reply {r}"));
                        }
                        continue 'connect;
                    }
                }
                Ok(Outcome::Refused(Stage::Envelope, r)) if r.code == 421 => {
                    st.recycled += 1;
                    recycles_in_a_row += 1;
                    carry = Some(ticket);
                    continue 'connect;
                }
                Ok(Outcome::Refused(stage, r)) => {
                    st.errors += 1;
                    sh.log(a.quiet, format_args!("conn {id}: refused ({stage:?}): {r}"));
                    if r.code == 421 {
                        continue 'connect;
                    }
                    if let Err(e) = s.rset().await {
                        sh.log(a.quiet, format_args!("conn {id}: {e:#}"));
                        continue 'connect;
                    }
                }
                Err(e) if !e.data_sent => {
                    // Closed before any of the message went out (e.g. the 421 was lost to a
                    // reset): nothing was lost; send the message on a new connection.
                    st.recycled += 1;
                    recycles_in_a_row += 1;
                    carry = Some(ticket);
                    continue 'connect;
                }
                Err(e) => {
                    st.errors += 1;
                    sh.log(
                        a.quiet,
                        format_args!("conn {id}: transaction failed: {:#}", e.err),
                    );
                    continue 'connect;
                }
            }
        }
    }
    st
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", nanos & 0xffff_ffff_ffff, std::process::id())
}

async fn run(args: Args) -> Result<i32> {
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .context("formatting Date")?;
    let factory = MessageFactory::new(args.size, &args.from, &args.to, &date, &run_id());
    let quiet = args.quiet;
    let conns = args.connections;
    let start = Instant::now();
    let measure_start = start + args.warmup;
    let (measure_end, messages) = match args.stop {
        Stop::Duration(d) => (Some(measure_start + d), None),
        Stop::Messages(n) => (None, Some(n)),
    };
    let sh = Arc::new(Shared {
        client: Client::new(args)?,
        factory,
        start,
        measure_start,
        measure_end,
        messages,
        tickets: AtomicU64::new(0),
        abort: AtomicBool::new(false),
        logged: AtomicU64::new(0),
        accepted_all: AtomicU64::new(0),
    });

    let progress = (!quiet).then(|| {
        let sh = sh.clone();
        tokio::spawn(async move {
            let mut last = 0u64;
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.tick().await;
            loop {
                tick.tick().await;
                let n = sh.accepted_all.load(Ordering::Relaxed);
                eprintln!(
                    "smtp-bench: t={:.0}s accepted={} last5s={:.1}/s",
                    sh.start.elapsed().as_secs_f64(),
                    n,
                    (n - last) as f64 / 5.0
                );
                last = n;
            }
        })
    });

    let handles: Vec<_> = (0..conns)
        .map(|i| tokio::spawn(worker(i, sh.clone())))
        .collect();
    let mut all = Stats::default();
    let mut fatal = Vec::new();
    for h in handles {
        let st = h.await.context("worker panicked")?;
        all.sent += st.sent;
        all.errors += st.errors;
        all.recycled += st.recycled;
        all.connections += st.connections;
        all.setup_errors += st.setup_errors;
        all.latencies_us.extend_from_slice(&st.latencies_us);
        all.last_ack = all.last_ack.max(st.last_ack);
        all.pipelined |= st.pipelined;
        fatal.extend(st.fatal);
    }
    if let Some(p) = progress {
        p.abort();
    }

    let secs = match (measure_end, all.last_ack) {
        (Some(end), _) => end.duration_since(measure_start).as_secs_f64(),
        (None, Some(last)) => last.saturating_duration_since(measure_start).as_secs_f64(),
        (None, None) => 0.0,
    };
    let rate = if secs > 0.0 {
        all.sent as f64 / secs
    } else {
        0.0
    };
    all.latencies_us.sort_unstable();
    let l = &all.latencies_us;
    let a = &sh.client.args;
    let tls = match a.tls {
        TlsMode::None => "none",
        TlsMode::StartTls => "starttls",
        TlsMode::OnConnect => "implicit",
    };
    let auth = match (&a.auth, a.auth_mech) {
        (None, _) => "none",
        (Some(_), AuthMech::Plain) => "plain",
        (Some(_), AuthMech::Login) => "login",
    };
    println!(
        "smtp-bench: target={} conns={} size={} tls={} auth={} pipelining={} sent={} errors={} \
         recycled={} reconnects={} setup_errors={} secs={:.2} rate={:.1}/s p50={:.1}ms \
         p90={:.1}ms p99={:.1}ms max={:.1}ms",
        a.label,
        a.connections,
        a.size,
        tls,
        auth,
        if all.pipelined { "yes" } else { "no" },
        all.sent,
        all.errors,
        all.recycled,
        all.connections.saturating_sub(a.connections as u64),
        all.setup_errors,
        secs,
        rate,
        percentile(l, 0.50),
        percentile(l, 0.90),
        percentile(l, 0.99),
        percentile(l, 1.0),
    );
    fatal.sort();
    fatal.dedup();
    for f in &fatal {
        eprintln!("smtp-bench: {f}");
    }
    Ok(if sh.abort.load(Ordering::Relaxed) {
        2
    } else if all.sent == 0 {
        1
    } else {
        0
    })
}

fn main() {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{}", args::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("smtp-bench: {e:#}");
            std::process::exit(64);
        }
    };
    let mut rt = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.threads);
        b
    };
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("smtp-bench: tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match rt.block_on(run(args)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smtp-bench: {e:#}");
            1
        }
    };
    rt.shutdown_timeout(Duration::from_secs(1));
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&v, 0.50), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7000], 0.01), 7.0);
    }
}
