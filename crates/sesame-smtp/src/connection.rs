//! Framing over one byte stream (plain TCP or TLS): strict CRLF command lines, the DATA phase
//! and batched replies (RFC 2920 pipelining).
//!
//! Replies are queued and written when the connection is about to wait for the client, so a
//! pipelined batch (`MAIL`, `RCPT`…, `DATA`) gets its replies in order in one write. Memory is
//! bounded: the read buffer holds at most one read (plus a partial line of ≤ 512 octets) and the
//! DATA receiver caps the message.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::data::{DataOutcome, DataReceiver};
use crate::session::BadLine;

/// Longest command line including CRLF (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;
const READ_CHUNK: usize = 16 * 1024;

/// A framed command line, or why it was not one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line including its CRLF, with no other CR or LF in it.
    Command(Vec<u8>),
    /// A malformed line (already consumed up to its LF).
    Bad(BadLine),
}

/// Why reading stopped.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// No complete line or data block within the deadline.
    Timeout,
    /// The client closed the connection.
    Eof,
    /// The server is shutting down (only while waiting for a command).
    Shutdown,
    Io(std::io::Error),
}

pub(crate) struct Connection<S> {
    stream: S,
    /// Bytes read but not yet consumed (pipelined commands, data after a terminator).
    rbuf: Vec<u8>,
    /// Replies queued but not yet written.
    out: Vec<u8>,
    /// Skipping the rest of an over-long line up to its LF.
    discarding: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub(crate) fn new(stream: S) -> Self {
        Connection {
            stream,
            rbuf: Vec::with_capacity(READ_CHUNK),
            out: Vec::new(),
            discarding: false,
        }
    }

    /// Queues reply text (one or more CRLF-terminated lines).
    pub(crate) fn queue(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    /// Writes queued replies.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        self.stream.flush().await
    }

    /// Flushes, then closes the write side.
    pub(crate) async fn close(&mut self) -> std::io::Result<()> {
        self.flush().await?;
        self.stream.shutdown().await
    }

    /// Sends one reply and closes (used before a session exists).
    pub(crate) async fn write_and_close(mut self, text: &str) -> std::io::Result<()> {
        self.queue(text);
        self.close().await
    }

    /// Gives the stream back for the TLS upgrade. Anything the client pipelined after STARTTLS is
    /// dropped (RFC 3207 §4.2; the CVE-2011-0411 command-injection defence): it arrived in clear.
    pub(crate) fn into_inner(self) -> (S, usize) {
        (self.stream, self.rbuf.len())
    }

    /// Reads more bytes into `rbuf`, flushing queued replies first.
    async fn fill(
        &mut self,
        deadline: Duration,
        shutdown: Option<&mut watch::Receiver<bool>>,
    ) -> Result<(), ReadError> {
        self.flush().await.map_err(ReadError::Io)?;
        self.rbuf.reserve(READ_CHUNK);
        let read = tokio::time::timeout(deadline, self.stream.read_buf(&mut self.rbuf));
        let result = match shutdown {
            Some(rx) => {
                if *rx.borrow() {
                    return Err(ReadError::Shutdown);
                }
                tokio::select! {
                    r = read => r,
                    _ = rx.wait_for(|down| *down) => return Err(ReadError::Shutdown),
                }
            }
            None => read.await,
        };
        match result {
            Err(_) => Err(ReadError::Timeout),
            Ok(Err(e)) => Err(ReadError::Io(e)),
            Ok(Ok(0)) => Err(ReadError::Eof),
            Ok(Ok(_)) => Ok(()),
        }
    }

    /// The next command line. Bare CR/LF and over-long lines come back as [`Line::Bad`].
    pub(crate) async fn read_line(
        &mut self,
        deadline: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Line, ReadError> {
        loop {
            if let Some(pos) = self.rbuf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.rbuf.drain(..=pos).collect();
                if std::mem::take(&mut self.discarding) || line.len() > MAX_COMMAND_LINE {
                    return Ok(Line::Bad(BadLine::TooLong));
                }
                return Ok(check_line(line));
            }
            if self.rbuf.len() > MAX_COMMAND_LINE {
                // Never buffer an endless line: drop it and skip to its LF.
                self.rbuf.clear();
                self.discarding = true;
            }
            self.fill(deadline, Some(shutdown)).await?;
        }
    }

    /// Runs the DATA phase: feeds buffered and newly read bytes to a receiver until the
    /// terminator. `deadline` applies to each read (RFC 5321 §4.5.3.2.6 data block timeout).
    pub(crate) async fn read_data(
        &mut self,
        max_bytes: usize,
        deadline: Duration,
    ) -> Result<DataOutcome, ReadError> {
        let mut receiver = DataReceiver::new(max_bytes);
        loop {
            if !self.rbuf.is_empty() {
                let (consumed, outcome) = receiver.feed(&self.rbuf);
                self.rbuf.drain(..consumed);
                if let Some(outcome) = outcome {
                    return Ok(outcome);
                }
            }
            self.fill(deadline, None).await?;
        }
    }
}

/// RFC 5321 §2.3.8: a command line ends in CRLF and contains no other CR or LF.
fn check_line(line: Vec<u8>) -> Line {
    match line.strip_suffix(b"\r\n") {
        Some(body) if !body.iter().any(|&b| b == b'\r' || b == b'\n') => Line::Command(line),
        _ => Line::Bad(BadLine::BareLineEnding),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn check_line_table() {
        let cases: &[(&[u8], bool)] = &[
            (b"NOOP\r\n", true),
            (b"\r\n", true),
            (b"NOOP\n", false),
            (b"NO\rOP\r\n", false),
            (b"NOOP\r\r\n", false),
            (b"\n", false),
        ];
        for (input, ok) in cases {
            assert_eq!(
                matches!(check_line(input.to_vec()), Line::Command(_)),
                *ok,
                "{input:?}"
            );
        }
    }

    /// Lines split across reads, pipelined lines, bare LF, over-long lines, data then commands.
    #[tokio::test]
    async fn framing_over_a_stream() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (_tx, mut rx) = watch::channel(false);
        let mut conn = Connection::new(server);
        let mut client = client;
        let t = Duration::from_secs(5);
        let long = vec![b'A'; 2000];
        let writer = tokio::spawn(async move {
            client.write_all(b"NO").await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            client
                .write_all(b"OP\r\nRSET\r\nbad\nQUIT\r")
                .await
                .unwrap();
            client.write_all(b"\n").await.unwrap();
            client.write_all(&long).await.unwrap();
            client
                .write_all(b"\r\nNOOP\r\nx\r\n..y\r\n.\r\nQUIT\r\n")
                .await
                .unwrap();
            client
        });
        let cmd = |s: &str| Line::Command(s.as_bytes().to_vec());
        assert_eq!(conn.read_line(t, &mut rx).await.unwrap(), cmd("NOOP\r\n"));
        assert_eq!(conn.read_line(t, &mut rx).await.unwrap(), cmd("RSET\r\n"));
        assert_eq!(
            conn.read_line(t, &mut rx).await.unwrap(),
            Line::Bad(BadLine::BareLineEnding)
        );
        assert_eq!(conn.read_line(t, &mut rx).await.unwrap(), cmd("QUIT\r\n"));
        assert_eq!(
            conn.read_line(t, &mut rx).await.unwrap(),
            Line::Bad(BadLine::TooLong)
        );
        assert_eq!(conn.read_line(t, &mut rx).await.unwrap(), cmd("NOOP\r\n"));
        assert_eq!(
            conn.read_data(100, t).await.unwrap(),
            DataOutcome::Message(b"x\r\n.y\r\n".to_vec())
        );
        assert_eq!(conn.read_line(t, &mut rx).await.unwrap(), cmd("QUIT\r\n"));
        let _client = writer.await.unwrap();
        assert!(matches!(
            conn.read_line(Duration::from_millis(50), &mut rx).await,
            Err(ReadError::Timeout)
        ));
    }
}
