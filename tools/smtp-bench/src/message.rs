//! Generated test messages: exactly `size` bytes (headers + body, CRLF line ends), with a
//! unique Message-ID and Subject each, already in DATA wire form (terminated by `.` CRLF).

/// Builds messages of one fixed size for one connection.
pub struct MessageFactory {
    size: usize,
    from: String,
    to: String,
    date: String,
    run: String,
    /// Body text: 76 printable characters + CRLF per line, long enough for any size.
    filler: Vec<u8>,
}

const WORDS: &[&str] = &[
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "sesame",
    "bench",
    "queue",
    "durable",
    "accept",
    "message",
    "fsync",
    "submission",
    "transfer",
    "agent",
    "postfix",
    "mailbox",
    "relay",
];

fn filler(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 80);
    let mut line = String::with_capacity(80);
    let mut i = 0usize;
    while out.len() < len {
        line.clear();
        while line.len() < 76 {
            let w = WORDS[i % WORDS.len()];
            i = i.wrapping_mul(7).wrapping_add(3) % 1_000_003;
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(w);
        }
        line.truncate(76);
        // No line may start with '.' (no dot-stuffing needed) or end with a space.
        let trimmed = line.trim_end();
        out.extend_from_slice(trimmed.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl MessageFactory {
    pub fn new(size: usize, from: &str, to: &str, date: &str, run: &str) -> Self {
        MessageFactory {
            size,
            from: from.to_string(),
            to: to.to_string(),
            date: date.to_string(),
            run: run.to_string(),
            filler: filler(size + 160),
        }
    }

    /// Writes message number `seq` of connection `conn` into `out` (cleared first), as sent
    /// after the 354: the message (`size` bytes) followed by `.` CRLF.
    pub fn build(&self, label: &str, conn: usize, seq: u64, out: &mut Vec<u8>) {
        use std::io::Write;
        out.clear();
        let _ = write!(
            out,
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: smtp-bench {label} {run} {conn}-{seq}\r\n\
             Message-ID: <{run}.{conn}.{seq}@smtp-bench.test>\r\nDate: {date}\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
            from = self.from,
            to = self.to,
            run = self.run,
            date = self.date,
        );
        let head = out.len();
        if head + 2 < self.size {
            let body = self.size - head; // bytes of body, ending in CRLF
            out.extend_from_slice(&self.filler[..body - 2]);
            // Never leave a bare CR (from a cut CRLF) before the final CRLF.
            if let Some(last) = out.last_mut().filter(|c| **c == b'\r') {
                *last = b'x';
            }
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_size_unique_and_well_formed() {
        let f = MessageFactory::new(
            5120,
            "a@example.test",
            "b@example.test",
            "Mon, 1 Jan 2024 00:00:00 +0000",
            "r1",
        );
        let mut a = Vec::new();
        let mut b = Vec::new();
        for size in [512usize, 777, 5120, 5121, 5122, 5123, 100_000] {
            let f = MessageFactory::new(size, "a@example.test", "b@example.test", "d", "r1");
            f.build("x", 1, 2, &mut a);
            assert_eq!(a.len(), size + 3, "size {size}");
            assert!(a.ends_with(b"\r\n.\r\n"));
            let text = std::str::from_utf8(&a).unwrap();
            let msg = &text[..size];
            assert!(msg.ends_with("\r\n"));
            for line in msg.split_terminator("\r\n") {
                assert!(!line.contains('\r') && !line.contains('\n'));
                assert!(!line.starts_with('.'));
                assert!(line.len() <= 998);
            }
        }
        f.build("x", 1, 2, &mut a);
        f.build("x", 1, 3, &mut b);
        assert_ne!(a, b);
        assert!(std::str::from_utf8(&a)
            .unwrap()
            .contains("Message-ID: <r1.1.2@smtp-bench.test>"));
    }
}
