//! DATA: the strict, incremental message receiver (RFC 5321 §4.1.1.4, §4.5.2).
//!
//! Sans-I/O: the connection feeds whatever bytes it read; the receiver says how many it consumed
//! and, once it has seen the one and only terminator `<CRLF>.<CRLF>`, the outcome. Bytes after the
//! terminator are left to the caller (pipelined commands).
//!
//! Security rules (SMTP smuggling, CVE-2023-51764/5/6):
//! - only `\r\n.\r\n` ends the data; `\n.\n`, `\n.\r\n`, `\r.\r\n`, `\r\n.\n`, `\r\n.\r` + X …
//!   never do;
//! - any bare CR or bare LF poisons the message: it is rejected as a whole, but the receiver keeps
//!   reading up to the real terminator so the session stays in step with the client;
//! - lines longer than 998 octets (RFC 5321 §4.5.3.1.6) poison the message the same way;
//! - at most `max_bytes` of (dot-unstuffed) content is ever buffered; beyond that the rest is
//!   discarded while scanning for the terminator and the outcome is [`DataError::TooLarge`].

use crate::reply::Reply;

/// Longest text line allowed, without its CRLF (RFC 5321 §4.5.3.1.6).
pub const MAX_LINE: usize = 998;

/// Why a message was refused by the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataError {
    /// Content exceeded the configured maximum (→ 552, Q-136).
    TooLarge,
    /// A CR not followed by LF, or an LF not preceded by CR (→ 554, Q-137 rule).
    BareLineEnding,
    /// A line longer than [`MAX_LINE`] octets (→ 554, Q-137 rule).
    LineTooLong,
}

/// Result of one DATA phase.
#[derive(Debug, PartialEq, Eq)]
pub enum DataOutcome {
    /// The dot-unstuffed message, CRLF line endings, without the terminating `.` line.
    Message(Vec<u8>),
    /// The message was refused; everything up to the terminator has been consumed.
    Rejected(DataError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line: the previous line ended with a proper CRLF (or DATA just began).
    LineStart,
    /// Inside a line.
    Mid,
    /// Saw CR inside a line; only LF may follow.
    Cr,
    /// Saw `.` at the start of a line.
    Dot,
    /// Saw `.` CR at the start of a line; LF completes the terminator.
    DotCr,
}

/// Incremental DATA receiver. Create one per DATA command.
#[derive(Debug)]
pub struct DataReceiver {
    /// Cap on buffered content; enforced on every push so memory never exceeds it.
    max_bytes: usize,
    body: Vec<u8>,
    state: State,
    /// Octets on the current line as transmitted (incl. a stuffed dot), for the 998 rule.
    line_len: usize,
    /// First error seen; once set nothing more is buffered.
    error: Option<DataError>,
}

impl DataReceiver {
    /// A receiver that buffers at most `max_bytes` of message content.
    pub fn new(max_bytes: usize) -> Self {
        DataReceiver {
            max_bytes,
            body: Vec::new(),
            state: State::LineStart,
            line_len: 0,
            error: None,
        }
    }

    fn fail(&mut self, error: DataError) {
        if self.error.is_none() {
            self.error = Some(error);
            self.body = Vec::new();
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.body.len() + bytes.len() > self.max_bytes {
            self.fail(DataError::TooLarge);
        } else {
            self.body.extend_from_slice(bytes);
        }
    }

    fn count(&mut self, n: usize) {
        self.line_len += n;
        if self.line_len > MAX_LINE {
            self.fail(DataError::LineTooLong);
        }
    }

    /// Processes a byte in the middle of a line (also used after a dot or a bare CR).
    fn mid_byte(&mut self, b: u8) {
        match b {
            b'\r' => self.state = State::Cr,
            b'\n' => {
                // Bare LF: never a line start, so `\n.\r\n` cannot terminate.
                self.fail(DataError::BareLineEnding);
                self.state = State::Mid;
            }
            _ => {
                self.count(1);
                self.push(&[b]);
                self.state = State::Mid;
            }
        }
    }

    /// Feeds bytes. Returns how many were consumed and, when the terminator was reached, the
    /// outcome (the receiver must not be fed again after that).
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<DataOutcome>) {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Mid => {
                    // Fast path: copy the run up to the next CR or LF in one go.
                    let run = input[i..]
                        .iter()
                        .position(|&c| c == b'\r' || c == b'\n')
                        .unwrap_or(input.len() - i);
                    if run > 0 {
                        self.count(run);
                        self.push(&input[i..i + run]);
                        i += run;
                        continue;
                    }
                    self.mid_byte(b);
                }
                State::LineStart => match b {
                    b'.' => {
                        self.count(1);
                        self.state = State::Dot;
                    }
                    _ => self.mid_byte(b),
                },
                State::Cr => {
                    if b == b'\n' {
                        self.push(b"\r\n");
                        self.line_len = 0;
                        self.state = State::LineStart;
                    } else {
                        // Bare CR (`\r.\r\n` and friends): poison and carry on inside the line.
                        self.fail(DataError::BareLineEnding);
                        self.mid_byte(b);
                    }
                }
                State::Dot => match b {
                    b'\r' => self.state = State::DotCr,
                    // Dot-unstuffing: the leading dot was dropped; the rest is ordinary text.
                    _ => self.mid_byte(b),
                },
                State::DotCr => {
                    if b == b'\n' {
                        let outcome = match self.error {
                            Some(e) => DataOutcome::Rejected(e),
                            None => DataOutcome::Message(std::mem::take(&mut self.body)),
                        };
                        return (i + 1, Some(outcome));
                    }
                    // `.\r` + X at a line start: a bare CR, not a terminator.
                    self.fail(DataError::BareLineEnding);
                    self.mid_byte(b);
                }
            }
            i += 1;
        }
        (input.len(), None)
    }
}

// ---- The DATA verb -------------------------------------------------------------------------

impl crate::session::Session {
    /// `DATA`: gates as for MAIL, then `554 No valid recipients` without an accepted RCPT
    /// (Q-137); otherwise the connection sends 354 and runs a [`DataReceiver`].
    pub(crate) fn data(&mut self) -> crate::session::Step {
        use crate::session::Step;
        if let Some(refusal) = self.require_tls_and_auth() {
            return Step::Reply(refusal);
        }
        match &self.tx {
            None => Step::Reply(Reply::bad_sequence()),
            Some(tx) if tx.rcpt_to.is_empty() => Step::Reply(Reply::no_valid_recipients()),
            Some(_) => Step::Data,
        }
    }

    /// End of DATA: receiver errors map to 552/554 (Q-136/Q-137); a clean message goes to the
    /// backend, which returns only once it is durable, and its id is sent as `250 Ok <id>`
    /// (Q-136, H-24); on the feedback MX the report goes to the feedback backend and `250`
    /// follows once it is recorded. When the connection has served its share, `421 … reconnect`
    /// follows the transaction's reply and the connection closes (Q-141).
    pub(crate) async fn finish_data(&mut self, outcome: DataOutcome) -> crate::session::Step {
        use crate::backend::Envelope;
        use crate::session::{Service, Step};
        let tx = self.tx.take().unwrap_or_default();
        self.messages += 1;
        let envelope = Envelope {
            mail_from: tx.mail_from,
            rcpt_to: tx.rcpt_to,
            peer: self.peer,
            tls: self.tls,
            tls_version: self.tls_version.clone(),
        };
        let reply = match (outcome, &self.service, &self.principal) {
            (DataOutcome::Rejected(DataError::TooLarge), _, _) => Reply::too_long(),
            (DataOutcome::Rejected(DataError::BareLineEnding), _, _) => Reply::bare_line_ending(),
            (DataOutcome::Rejected(DataError::LineTooLong), _, _) => Reply::data_line_too_long(),
            // Feedback MX: `250` only once the report is recorded (the sender then drops it).
            (DataOutcome::Message(raw), Service::Feedback(backend), _) => {
                match backend.ingest(&envelope, raw).await {
                    Ok(()) => {
                        tracing::info!(peer = %self.peer, rcpt = ?envelope.rcpt_to, "feedback accepted");
                        Reply::feedback_recorded()
                    }
                    Err(reply) => reply,
                }
            }
            (DataOutcome::Message(_), Service::Submission(_), None) => Reply::auth_required(),
            (DataOutcome::Message(raw), Service::Submission(backend), Some(principal)) => {
                match backend.submit(principal, &envelope, raw).await {
                    Ok(message_id) => {
                        tracing::info!(peer = %self.peer, %message_id, "smtp message accepted");
                        Reply::accepted(&message_id)
                    }
                    Err(reply) => reply,
                }
            }
        };
        if self.must_recycle() {
            Step::Close(vec![reply, Reply::reconnect()])
        } else {
            Step::Reply(reply)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in chunks of `chunk` bytes; returns outcome and consumed count.
    fn run(input: &[u8], chunk: usize, max: usize) -> (Option<DataOutcome>, usize) {
        let mut r = DataReceiver::new(max);
        let mut pos = 0;
        while pos < input.len() {
            let end = (pos + chunk).min(input.len());
            let (n, out) = r.feed(&input[pos..end]);
            pos += n;
            if out.is_some() {
                return (out, pos);
            }
        }
        (None, pos)
    }

    fn msg(s: &[u8]) -> Option<DataOutcome> {
        Some(DataOutcome::Message(s.to_vec()))
    }
    fn rej(e: DataError) -> Option<DataOutcome> {
        Some(DataOutcome::Rejected(e))
    }

    /// RFC 5321 §4.5.2 transparency, terminator handling, every chunking.
    #[test]
    fn table() {
        use DataError::*;
        let cases: &[(&[u8], Option<DataOutcome>)] = &[
            (b".\r\n", msg(b"")),
            (b"a\r\n.\r\n", msg(b"a\r\n")),
            (
                b"Subject: x\r\n\r\nbody\r\n.\r\n",
                msg(b"Subject: x\r\n\r\nbody\r\n"),
            ),
            (b"..leading dot\r\n.\r\n", msg(b".leading dot\r\n")),
            (b"...\r\n.\r\n", msg(b"..\r\n")),
            (b"a.\r\n.b\r\n.\r\n", msg(b"a.\r\nb\r\n")),
            (b"\r\n\r\n.\r\n", msg(b"\r\n\r\n")),
            // 8-bit content is fine (8BITMIME).
            (b"caf\xc3\xa9\r\n.\r\n", msg(b"caf\xc3\xa9\r\n")),
            // Smuggling variants: never a terminator, always a rejection at the real one.
            (b"a\n.\nMAIL FROM:<x@y>\r\n.\r\n", rej(BareLineEnding)),
            (b"a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", rej(BareLineEnding)),
            (b"a\r.\r\nMAIL FROM:<x@y>\r\n.\r\n", rej(BareLineEnding)),
            (b"a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", rej(BareLineEnding)),
            (b"a\r\n.\rMAIL FROM:<x@y>\r\n.\r\n", rej(BareLineEnding)),
            (b"a\r.\rX\r\n.\r\n", rej(BareLineEnding)),
            (b"a\r\r\n.\r\n", rej(BareLineEnding)),
            (b"\n.\r\n.\r\n", rej(BareLineEnding)),
            (b"a\nb\r\n.\r\n", rej(BareLineEnding)),
            (b"a\rb\r\n.\r\n", rej(BareLineEnding)),
            (b".\n.\r\n.\r\n", rej(BareLineEnding)),
        ];
        for (input, expected) in cases {
            for chunk in 1..=input.len() {
                let (out, consumed) = run(input, chunk, 1 << 20);
                assert_eq!(
                    &out,
                    expected,
                    "input {:?} chunk {chunk}",
                    String::from_utf8_lossy(input)
                );
                assert_eq!(
                    consumed,
                    input.len(),
                    "consumed all of {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    /// The terminator split across reads, and pipelined bytes after it left unconsumed.
    #[test]
    fn terminator_split_and_pipelined_tail() {
        let mut r = DataReceiver::new(100);
        assert_eq!(r.feed(b"hi\r"), (3, None));
        assert_eq!(r.feed(b"\n."), (2, None));
        assert_eq!(r.feed(b"\r"), (1, None));
        let (n, out) = r.feed(b"\nQUIT\r\n");
        assert_eq!(n, 1);
        assert_eq!(out, msg(b"hi\r\n"));
    }

    /// Unterminated input never produces an outcome (the caller's timeout handles it).
    #[test]
    fn no_terminator_no_outcome() {
        for input in [
            &b"a\n.\n"[..],
            b"a\r\n.\n",
            b"a\r.\r",
            b"a\r\n..\r\n",
            b"a\r\n",
        ] {
            assert_eq!(run(input, 1, 100).0, None);
        }
    }

    /// Size cap: content beyond `max` is discarded; the reply comes at the real terminator.
    #[test]
    fn size_cap() {
        let (out, _) = run(b"0123456789\r\n.\r\n", 4, 12);
        assert_eq!(out, msg(b"0123456789\r\n"));
        let (out, _) = run(b"0123456789\r\n.\r\n", 4, 11);
        assert_eq!(out, rej(DataError::TooLarge));
        // A large message never grows the buffer beyond the cap.
        let mut r = DataReceiver::new(1000);
        let line = [b'x'; 500];
        for _ in 0..100 {
            r.feed(&line);
            r.feed(b"\r\n");
            assert!(r.body.capacity() <= 2048);
        }
        assert_eq!(r.feed(b".\r\n").1, rej(DataError::TooLarge));
    }

    /// RFC 5321 §4.5.3.1.6: 998 octets plus CRLF is the longest line.
    #[test]
    fn line_length() {
        let mut ok = vec![b'x'; 998];
        ok.extend_from_slice(b"\r\n.\r\n");
        assert!(matches!(
            run(&ok, 7, 1 << 20).0,
            Some(DataOutcome::Message(_))
        ));
        let mut long = vec![b'x'; 999];
        long.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(run(&long, 7, 1 << 20).0, rej(DataError::LineTooLong));
        // A stuffed dot counts as transmitted.
        let mut stuffed = vec![b'.'; 999];
        stuffed.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(run(&stuffed, 7, 1 << 20).0, rej(DataError::LineTooLong));
    }
}
