//! Command-line flags (hand-rolled: a handful of flags does not justify a parser crate).

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

pub const USAGE: &str = "\
usage: smtp-bench --server HOST:PORT [options]

  --server HOST:PORT     SMTP server to load (required)
  --connections N        concurrent connections (default 32)
  --size BYTES           size of each message, headers included (default 5120)
  --duration SECS        measure for SECS seconds after the warm-up (default 20)
  --messages N           instead of --duration: stop after N measured messages
  --warmup SECS          run the load this long before measuring (default 0)
  --starttls             EHLO, STARTTLS, EHLO before AUTH
  --tls-on-connect       TLS from the first byte (port 465 style)
  --auth-user USER       AUTH with this user (no AUTH without it)
  --auth-pass PASS       password (or env SMTP_BENCH_PASS)
  --auth-mech MECH       plain (default) or login
  --from ADDR            envelope sender and From: (default bench@example.test)
  --to ADDR              envelope recipient and To: (default sink@example.test)
  --ehlo NAME            EHLO name (default smtp-bench.test)
  --label NAME           target=NAME in the summary line (default: the server)
  --no-pipelining        never pipeline MAIL/RCPT/DATA, even if PIPELINING is offered
  --threads N            tokio worker threads for the generator (default 1)
  --timeout SECS         per-reply timeout (default 30)
  --quiet                no progress or error lines on stderr
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    None,
    StartTls,
    OnConnect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMech {
    Plain,
    Login,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Duration(Duration),
    Messages(u64),
}

#[derive(Clone, Debug)]
pub struct Args {
    pub server: String,
    pub connections: usize,
    pub size: usize,
    pub stop: Stop,
    pub warmup: Duration,
    pub tls: TlsMode,
    pub auth: Option<(String, String)>,
    pub auth_mech: AuthMech,
    pub from: String,
    pub to: String,
    pub ehlo: String,
    pub label: String,
    pub pipelining: bool,
    pub threads: usize,
    pub timeout: Duration,
    pub quiet: bool,
}

fn secs(v: &str, flag: &str) -> Result<Duration> {
    let f: f64 = v
        .parse()
        .with_context(|| format!("{flag}: not a number: {v}"))?;
    if !(f.is_finite() && f >= 0.0) {
        bail!("{flag}: must be >= 0");
    }
    Ok(Duration::from_secs_f64(f))
}

fn num<T: std::str::FromStr>(v: &str, flag: &str) -> Result<T> {
    v.parse()
        .map_err(|_| anyhow!("{flag}: not a valid number: {v}"))
}

/// Parses `argv[1..]`. `Ok(None)` means `--help` was asked for.
pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Option<Args>> {
    let mut it = argv.into_iter();
    let mut server = None;
    let mut connections = 32usize;
    let mut size = 5120usize;
    let mut duration = None;
    let mut messages = None;
    let mut warmup = Duration::ZERO;
    let mut starttls = false;
    let mut on_connect = false;
    let mut user = None;
    let mut pass = None;
    let mut auth_mech = AuthMech::Plain;
    let mut from = "bench@example.test".to_string();
    let mut to = "sink@example.test".to_string();
    let mut ehlo = "smtp-bench.test".to_string();
    let mut label = None;
    let mut pipelining = true;
    let mut threads = 1usize;
    let mut timeout = Duration::from_secs(30);
    let mut quiet = false;

    while let Some(a) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let val = |it: &mut dyn Iterator<Item = String>| -> Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().ok_or_else(|| anyhow!("{flag} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--server" => server = Some(val(&mut it)?),
            "--connections" | "-c" => connections = num(&val(&mut it)?, &flag)?,
            "--size" => size = num(&val(&mut it)?, &flag)?,
            "--duration" => duration = Some(secs(&val(&mut it)?, &flag)?),
            "--messages" => messages = Some(num(&val(&mut it)?, &flag)?),
            "--warmup" => warmup = secs(&val(&mut it)?, &flag)?,
            "--starttls" => starttls = true,
            "--tls-on-connect" => on_connect = true,
            "--auth-user" => user = Some(val(&mut it)?),
            "--auth-pass" => pass = Some(val(&mut it)?),
            "--auth-mech" => {
                auth_mech = match val(&mut it)?.to_ascii_lowercase().as_str() {
                    "plain" => AuthMech::Plain,
                    "login" => AuthMech::Login,
                    m => bail!("--auth-mech: unknown mechanism {m} (plain or login)"),
                }
            }
            "--from" => from = val(&mut it)?,
            "--to" => to = val(&mut it)?,
            "--ehlo" => ehlo = val(&mut it)?,
            "--label" => label = Some(val(&mut it)?),
            "--no-pipelining" => pipelining = false,
            "--threads" => threads = num(&val(&mut it)?, &flag)?,
            "--timeout" => timeout = secs(&val(&mut it)?, &flag)?,
            "--quiet" | "-q" => quiet = true,
            _ => bail!("unknown argument {a}\n\n{USAGE}"),
        }
    }

    let server = server.ok_or_else(|| anyhow!("--server HOST:PORT is required\n\n{USAGE}"))?;
    if starttls && on_connect {
        bail!("--starttls and --tls-on-connect exclude each other");
    }
    if connections == 0 || threads == 0 {
        bail!("--connections and --threads must be at least 1");
    }
    if size < 512 {
        bail!("--size must be at least 512 bytes (room for the headers)");
    }
    let stop = match (duration, messages) {
        (Some(_), Some(_)) => bail!("give --duration or --messages, not both"),
        (None, Some(n)) => Stop::Messages(n),
        (Some(d), None) => Stop::Duration(d),
        (None, None) => Stop::Duration(Duration::from_secs(20)),
    };
    let pass = pass.or_else(|| std::env::var("SMTP_BENCH_PASS").ok());
    let auth = match (user, pass) {
        (Some(u), Some(p)) => Some((u, p)),
        (Some(_), None) => bail!("--auth-user needs --auth-pass (or SMTP_BENCH_PASS)"),
        (None, _) => None,
    };
    let tls = if on_connect {
        TlsMode::OnConnect
    } else if starttls {
        TlsMode::StartTls
    } else {
        TlsMode::None
    };
    Ok(Some(Args {
        label: label.unwrap_or_else(|| server.clone()),
        server,
        connections,
        size,
        stop,
        warmup,
        tls,
        auth,
        auth_mech,
        from,
        to,
        ehlo,
        pipelining,
        threads,
        timeout,
        quiet,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Option<Args>> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn defaults_and_flags() {
        let a = p("--server 127.0.0.1:2587").unwrap().unwrap();
        assert_eq!(a.connections, 32);
        assert_eq!(a.size, 5120);
        assert_eq!(a.stop, Stop::Duration(Duration::from_secs(20)));
        assert_eq!(a.tls, TlsMode::None);
        assert!(a.auth.is_none());
        assert_eq!(a.label, "127.0.0.1:2587");

        let a = p("--server=h:1 --starttls --auth-user u --auth-pass=p --messages 10 --label x")
            .unwrap()
            .unwrap();
        assert_eq!(a.tls, TlsMode::StartTls);
        assert_eq!(a.auth, Some(("u".into(), "p".into())));
        assert_eq!(a.stop, Stop::Messages(10));
        assert_eq!(a.label, "x");
    }

    #[test]
    fn rejects_bad_combinations() {
        assert!(p("--starttls").is_err());
        assert!(p("--server h:1 --starttls --tls-on-connect").is_err());
        assert!(p("--server h:1 --duration 1 --messages 2").is_err());
        assert!(p("--server h:1 --size 10").is_err());
        assert!(p("--server h:1 --bogus").is_err());
        assert!(p("--help").unwrap().is_none());
    }
}
