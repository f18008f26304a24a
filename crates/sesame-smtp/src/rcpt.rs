//! RCPT TO (RFC 5321 §4.1.1.3).
//!
//! Gates: TLS and AUTH (Q-137/Q-136, as for MAIL), an open transaction (503), the recipient cap
//! (`452 Too many recipients` on the 51st, Q-109/Q-137 — the client sends the rest in a new
//! transaction), then syntax (`553 <address> address unknown`, Q-136; non-ASCII 553 5.6.7,
//! Whether a recipient may be mailed (sandbox, suppression) is decided at end of DATA
//! . On the feedback MX the backend decides at once whether the address is a VERP
//! address of ours (`550 5.1.1` / `550 5.7.1` otherwise).

use smtp_proto::{Error as ParseError, Request};

use crate::mail::{raw_address, valid_mailbox};
use crate::reply::Reply;
use crate::session::{Service, Session, Step};

impl Session {
    pub(crate) async fn rcpt(&mut self, line: &[u8]) -> Step {
        if let Some(refusal) = self.require_tls_and_auth() {
            return Step::Reply(refusal);
        }
        let max = self.cfg.max_recipients;
        let Some(tx) = self.tx.as_ref() else {
            return Step::Reply(Reply::bad_sequence());
        };
        if tx.rcpt_to.len() >= max {
            return Step::Reply(Reply::too_many_recipients());
        }
        let raw = raw_address(line);
        if !raw.is_ascii() {
            return Step::Reply(Reply::non_ascii_address(&String::from_utf8_lossy(raw)));
        }
        let shown = String::from_utf8_lossy(raw);
        let to = match Request::parse(&mut line.iter()) {
            Ok(Request::Rcpt { to }) => to,
            Err(ParseError::UnsupportedParameter { .. }) => {
                return Step::Reply(Reply::unsupported_parameter())
            }
            Err(ParseError::InvalidParameter { .. }) => return Step::Reply(Reply::syntax_error()),
            _ => return Step::Reply(Reply::invalid_recipient(&shown)),
        };
        if !valid_mailbox(&to.address) {
            return Step::Reply(Reply::invalid_recipient(&shown));
        }
        // The feedback MX is a mailbox for VERP addresses only, never a relay.
        if let Service::Feedback(backend) = &self.service {
            if let Err(refusal) = backend.check_recipient(&to.address).await {
                tracing::info!(peer = %self.peer, rcpt = %to.address, reply = %refusal, "feedback recipient refused");
                return Step::Reply(refusal);
            }
        }
        let Some(tx) = self.tx.as_mut() else {
            return Step::Reply(Reply::bad_sequence());
        };
        tx.rcpt_to.push(to.address);
        Step::Reply(Reply::ok())
    }
}
