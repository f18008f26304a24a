//! Writes stream and bus sink records ([`SinkRecord`]: Firehose stand-ins, EventBridge rule
//! targets; DECISIONS) to their targets. A write returns `Ok` only when the
//! records are durable on the target, so the dispatcher may then mark their events published:
//!
//! - **file**: appended to `<dir>/YYYY/MM/DD/HH/<node>-<n>.jsonl` (UTC hour of the write, the
//!   layout Firehose gives S3 keys) and `fdatasync`ed; a file past [`FILE_ROTATE_BYTES`]
//!   moves on to `<n+1>`. One writer per file (the node id is in the name), so nodes sharing
//!   an NFS directory never interleave. A torn last line left by a crash is cut off when the
//!   file is opened again (its event was never acknowledged and is written again).
//! - **nats**: published to JetStream with `Nats-Msg-Id` = the record's stable id and awaited
//!   until the stream acknowledges; the stream's duplicate window drops the copies a retry
//!   sends, so a consumer sees each record once.
//! - **http**: Firehose records as one `application/x-ndjson` POST per batch; EventBridge
//!   envelopes as one `application/json` POST each, with `X-Event-Id` and, when the rule has
//!   a key, `X-Sesame-Signature: sha256=<HMAC>`. Any 2xx is success.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sesame_engine::sinks::{Framing, SinkRecord, SinkTarget};
use tokio::sync::Mutex;

use crate::http::{post, TlsRoots};

/// Size past which a JSON-lines file is closed and the next one started (Firehose's largest
/// S3 buffer is 128 MiB; 64 MiB keeps files easy to handle).
pub const FILE_ROTATE_BYTES: u64 = 64 * 1024 * 1024;

/// The sink writer of one node. Cheap to share (`Arc`).
pub struct Sinks {
    node: String,
    tls: TlsRoots,
    timeout: Duration,
    files: std::sync::Mutex<HashMap<String, Arc<std::sync::Mutex<FileState>>>>,
    nats: Mutex<HashMap<String, async_nats::jetstream::Context>>,
}

struct FileState {
    /// The file being appended to and its current hour directory.
    open: Option<(String, u32, File, u64)>,
}

impl Sinks {
    pub fn new(node: &str) -> Sinks {
        Sinks {
            node: sanitize_node(node),
            tls: TlsRoots::system(),
            timeout: Duration::from_secs(30),
            files: std::sync::Mutex::new(HashMap::new()),
            nats: Mutex::new(HashMap::new()),
        }
    }

    /// Writes `records` (all for `target`), durably. The error is shown in logs.
    pub async fn write(&self, target: &SinkTarget, records: &[&SinkRecord]) -> Result<(), String> {
        if records.is_empty() {
            return Ok(());
        }
        match target {
            SinkTarget::File { dir } => self.write_file(dir, records).await,
            SinkTarget::Nats { server, subject } => self.write_nats(server, subject, records).await,
            SinkTarget::Http { url } => self.write_http(url, records).await,
        }
    }

    async fn write_file(&self, dir: &str, records: &[&SinkRecord]) -> Result<(), String> {
        let state = {
            let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
            files
                .entry(dir.to_string())
                .or_insert_with(|| Arc::new(std::sync::Mutex::new(FileState { open: None })))
                .clone()
        };
        let mut buf = Vec::new();
        for r in records {
            buf.extend_from_slice(&r.body);
            if !r.body.ends_with(b"\n") {
                buf.push(b'\n');
            }
        }
        let (dir, node) = (PathBuf::from(dir), self.node.clone());
        tokio::task::spawn_blocking(move || {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            append_lines(&mut st, &dir, &node, &buf, now_utc())
                .map_err(|e| format!("{}: {e}", dir.display()))
        })
        .await
        .map_err(|e| format!("file sink task: {e}"))?
    }

    async fn write_nats(
        &self,
        server: &str,
        subject: &str,
        records: &[&SinkRecord],
    ) -> Result<(), String> {
        let js = self.jetstream(server).await?;
        let mut acks = Vec::with_capacity(records.len());
        for r in records {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", r.id.as_str());
            for (k, v) in &r.headers {
                headers.insert(k.as_str(), v.as_str());
            }
            let ack = js
                .publish_with_headers(subject.to_string(), headers, r.body.clone().into())
                .await
                .map_err(|e| format!("nats://{server}/{subject}: publish: {e}"))?;
            acks.push(ack);
        }
        for ack in acks {
            tokio::time::timeout(self.timeout, std::future::IntoFuture::into_future(ack))
                .await
                .map_err(|_| format!("nats://{server}/{subject}: no acknowledgement"))?
                .map_err(|e| format!("nats://{server}/{subject}: {e} (does a JetStream stream capture the subject?)"))?;
        }
        Ok(())
    }

    async fn jetstream(&self, server: &str) -> Result<async_nats::jetstream::Context, String> {
        let mut map = self.nats.lock().await;
        if let Some(js) = map.get(server) {
            return Ok(js.clone());
        }
        let client = tokio::time::timeout(
            self.timeout,
            async_nats::ConnectOptions::new()
                .name("sesame event publishing")
                .connect(format!("nats://{server}")),
        )
        .await
        .map_err(|_| format!("nats://{server}: connection timed out"))?
        .map_err(|e| format!("nats://{server}: {e}"))?;
        let js = async_nats::jetstream::new(client);
        map.insert(server.to_string(), js.clone());
        Ok(js)
    }

    async fn write_http(&self, url: &str, records: &[&SinkRecord]) -> Result<(), String> {
        let (lines, envelopes): (Vec<&SinkRecord>, Vec<&SinkRecord>) =
            records.iter().partition(|r| r.framing == Framing::Line);
        if !lines.is_empty() {
            let mut body = Vec::new();
            for r in &lines {
                body.extend_from_slice(&r.body);
            }
            let headers = vec![
                (
                    "Content-Type".to_string(),
                    "application/x-ndjson".to_string(),
                ),
                ("X-Record-Count".to_string(), lines.len().to_string()),
            ];
            self.post_ok(url, &headers, &body).await?;
        }
        for r in envelopes {
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            headers.extend(r.headers.iter().cloned());
            self.post_ok(url, &headers, &r.body).await?;
        }
        Ok(())
    }

    async fn post_ok(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), String> {
        match post(url, headers, body, &self.tls, self.timeout).await {
            Ok(s) if (200..300).contains(&s) => Ok(()),
            Ok(s) => Err(format!("{url}: HTTP status {s}")),
            Err(e) => Err(format!("{url}: {e}")),
        }
    }
}

/// Node ids go into file names: keep `[A-Za-z0-9_.-]`.
fn sanitize_node(node: &str) -> String {
    let s: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "node".into()
    } else {
        s
    }
}

fn now_utc() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// `YYYY/MM/DD/HH` of `t`.
pub fn hour_dir(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}/{:02}/{:02}/{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour()
    )
}

/// Appends `buf` (whole lines) to the node's current file under `dir` and syncs it.
fn append_lines(
    st: &mut FileState,
    dir: &Path,
    node: &str,
    buf: &[u8],
    now: time::OffsetDateTime,
) -> std::io::Result<()> {
    let hour = hour_dir(now);
    let stale = match &st.open {
        Some((h, _, _, size)) => *h != hour || *size >= FILE_ROTATE_BYTES,
        None => true,
    };
    if stale {
        let start = match &st.open {
            Some((h, n, _, _)) if *h == hour => n + 1,
            _ => 0,
        };
        st.open = None;
        let hour_path = dir.join(&hour);
        std::fs::create_dir_all(&hour_path)?;
        let mut n = start;
        loop {
            let path = hour_path.join(format!("{node}-{n}.jsonl"));
            let existed = path.exists();
            let mut f = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)?;
            let size = cut_torn_line(&mut f)?;
            if size >= FILE_ROTATE_BYTES {
                n += 1;
                continue;
            }
            if !existed {
                // The new name must survive a crash too.
                File::open(&hour_path)?.sync_all()?;
            }
            st.open = Some((hour.clone(), n, f, size));
            break;
        }
    }
    let (_, _, f, size) = st.open.as_mut().expect("opened above");
    let r = f.write_all(buf).and_then(|_| f.sync_data());
    if r.is_err() {
        // Reopen next time (and cut whatever part was written).
        st.open = None;
        return r;
    }
    *size += buf.len() as u64;
    Ok(())
}

/// Truncates `f` after its last `\n` (a line cut short by a crash was never acknowledged);
/// returns the resulting size.
fn cut_torn_line(f: &mut File) -> std::io::Result<u64> {
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    let mut pos = len;
    let mut chunk = vec![0u8; 4096];
    while pos > 0 {
        let n = chunk.len().min(pos as usize);
        pos -= n as u64;
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            let keep = pos + i as u64 + 1;
            if keep < len {
                f.set_len(keep)?;
                f.sync_data()?;
            }
            return Ok(keep);
        }
    }
    f.set_len(0)?;
    f.sync_data()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> time::OffsetDateTime {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "sesame-sinks-{name}-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn rand_suffix() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    }

    /// G-34: one JSON record per line, in the hour directory of the write.
    #[test]
    fn lines_append_under_the_hour_and_rotate_by_hour() {
        let dir = tmp("hour");
        let mut st = FileState { open: None };
        let t1 = at("2026-12-06T04:59:59Z");
        append_lines(&mut st, &dir, "n1", b"{\"a\":1}\n{\"a\":2}\n", t1).unwrap();
        append_lines(&mut st, &dir, "n1", b"{\"a\":3}\n", t1).unwrap();
        append_lines(
            &mut st,
            &dir,
            "n1",
            b"{\"a\":4}\n",
            at("2026-12-06T05:00:00Z"),
        )
        .unwrap();
        let first = std::fs::read_to_string(dir.join("2026/12/06/04/n1-0.jsonl")).unwrap();
        assert_eq!(first, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
        let second = std::fs::read_to_string(dir.join("2026/12/06/05/n1-0.jsonl")).unwrap();
        assert_eq!(second, "{\"a\":4}\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A restart continues the hour's file after cutting a torn last line.
    #[test]
    fn reopening_cuts_a_torn_line() {
        let dir = tmp("torn");
        let t = at("2026-12-06T04:00:00Z");
        let path = dir.join("2026/12/06/04/n1-0.jsonl");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{\"a\":1}\n{\"a\":").unwrap();
        let mut st = FileState { open: None };
        append_lines(&mut st, &dir, "n1", b"{\"a\":2}\n", t).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        // A file with no newline at all is emptied.
        let p2 = dir.join("2026/12/06/04/n2-0.jsonl");
        std::fs::write(&p2, b"{\"tor").unwrap();
        let mut st2 = FileState { open: None };
        append_lines(&mut st2, &dir, "n2", b"{}\n", t).unwrap();
        assert_eq!(std::fs::read_to_string(&p2).unwrap(), "{}\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A full file moves the node on to the next number.
    #[test]
    fn a_full_file_rotates_to_the_next_number() {
        let dir = tmp("size");
        let t = at("2026-12-06T04:00:00Z");
        let path = dir.join("2026/12/06/04/n1-0.jsonl");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let f = File::create(&path).unwrap();
        f.set_len(FILE_ROTATE_BYTES).unwrap();
        drop(f);
        // The sparse file ends with a zero byte, not a newline: make it end with one.
        let mut f = OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(FILE_ROTATE_BYTES - 1)).unwrap();
        f.write_all(b"\n").unwrap();
        drop(f);
        let mut st = FileState { open: None };
        append_lines(&mut st, &dir, "n1", b"{}\n", t).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("2026/12/06/04/n1-1.jsonl")).unwrap(),
            "{}\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn node_ids_are_safe_in_file_names() {
        assert_eq!(sanitize_node("host-1.a_b"), "host-1.a_b");
        assert_eq!(sanitize_node("a/b c"), "a_b_c");
        assert_eq!(sanitize_node(""), "node");
    }
}
