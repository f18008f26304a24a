//! One mail transaction on an open [`Session`]: MAIL, RCPT (pipelined when offered, RFC
//! 2920), DATA with dot-stuffing, or RSET when no recipient was accepted.
//!
//! Per-recipient results: a non-2xx RCPT reply is that recipient's result; the reply to the
//! end of DATA is the result of every accepted recipient. A 421 (the server is closing) or a
//! lost connection before the end of the data aborts the transaction: the recipients without
//! a final answer may then be tried at another MX host. Once the final dot is sent they may
//! not (the message may have been delivered: RFC 5321 §4.5.3.2.6, §6.1), so a missing final
//! reply becomes a temporary error for them.

use sesame_model::{AttemptError, RecipientResult};
use tracing::debug;

use crate::client::Session;
use crate::data::{dot_stuff, mail_from_command, Unsendable};
use crate::reply::Reply;

/// Data is written in blocks of this size, each within the data-block timeout (§4.5.3.2.5).
const DATA_BLOCK: usize = 64 * 1024;

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// One slot per recipient, in order; `None`: no final answer (see `abort`).
    pub results: Vec<Option<RecipientResult>>,
    /// Set when the transaction was cut short.
    pub abort: Option<Abort>,
    /// The session can carry another message.
    pub reusable: bool,
}

/// A transaction cut short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abort {
    /// The result for the recipients without a final answer, if nobody else takes them.
    pub result: RecipientResult,
    /// Whether those recipients may be offered to another host (nothing was delivered).
    pub retry_elsewhere: bool,
}

impl Outcome {
    fn all(n: usize, r: RecipientResult, reusable: bool) -> Outcome {
        Outcome {
            results: vec![Some(r); n],
            abort: None,
            reusable,
        }
    }
}

impl Session {
    /// Offers one message to the server.
    pub async fn send(&mut self, mail_from: &str, recipients: &[String], body: &[u8]) -> Outcome {
        let n = recipients.len();
        let mut results: Vec<Option<RecipientResult>> = vec![None; n];
        let aborted = |results: Vec<Option<RecipientResult>>, result, retry_elsewhere| Outcome {
            results,
            abort: Some(Abort {
                result,
                retry_elsewhere,
            }),
            reusable: false,
        };
        let mail = match mail_from_command(mail_from, recipients, body, &self.caps) {
            Ok(c) => c,
            // Refused locally, nothing sent: the session stays usable.
            Err(Unsendable::TooLarge { limit }) => {
                return Outcome::all(
                    n,
                    RecipientResult::Error(AttemptError::MessageTooLarge { limit }),
                    true,
                )
            }
            Err(Unsendable::NeedsSmtpUtf8) => {
                let e = AttemptError::Protocol(format!(
                    "{} does not offer SMTPUTF8, needed for a non-ASCII address (RFC 6531 §3.2)",
                    self.remote_host
                ));
                return Outcome::all(n, RecipientResult::Error(e), true);
            }
        };
        let t = self.timeouts.clone();

        // MAIL and RCPT: one write when pipelining, else one command at a time.
        let mut rcpt_replies: Vec<Reply> = Vec::with_capacity(n);
        let mail_reply = if self.caps.pipelining {
            let mut batch = mail;
            for r in recipients {
                batch.push_str(&format!("RCPT TO:<{r}>\r\n"));
            }
            if let Err(e) = self.write(batch.as_bytes(), t.mail, "MAIL").await {
                return aborted(results, RecipientResult::Error(e), true);
            }
            let mail_reply = match self.read_reply(t.mail, "MAIL").await {
                Ok(r) => r,
                Err(e) => return aborted(results, RecipientResult::Error(e), true),
            };
            for _ in recipients {
                match self.read_reply(t.rcpt, "RCPT").await {
                    Ok(r) => rcpt_replies.push(r),
                    Err(e) => return aborted(results, RecipientResult::Error(e), true),
                }
            }
            mail_reply
        } else {
            let mail_reply = match self.command(&mail, t.mail, "MAIL").await {
                Ok(r) => r,
                Err(e) => return aborted(results, RecipientResult::Error(e), true),
            };
            if mail_reply.is_positive() {
                for r in recipients {
                    match self
                        .command(&format!("RCPT TO:<{r}>\r\n"), t.rcpt, "RCPT")
                        .await
                    {
                        Ok(r) => {
                            let closing = r.code == 421;
                            rcpt_replies.push(r);
                            if closing {
                                break;
                            }
                        }
                        Err(e) => return aborted(results, RecipientResult::Error(e), true),
                    }
                }
            }
            mail_reply
        };

        if mail_reply.code == 421 {
            self.quit().await;
            return aborted(results, RecipientResult::Reply(mail_reply.to_smtp()), true);
        }
        if !mail_reply.is_positive() {
            // The sender was refused: that is every recipient's answer.
            debug!(host = %self.remote_host, code = mail_reply.code, "MAIL refused");
            let reusable = !rcpt_replies.iter().any(|r| r.code == 421);
            if !reusable {
                self.quit().await;
            }
            return Outcome::all(n, RecipientResult::Reply(mail_reply.to_smtp()), reusable);
        }
        let mut accepted = Vec::new();
        for (i, r) in rcpt_replies.iter().enumerate() {
            if r.code == 421 {
                self.quit().await;
                return aborted(results, RecipientResult::Reply(r.to_smtp()), true);
            }
            if r.is_positive() {
                accepted.push(i);
            } else {
                results[i] = Some(RecipientResult::Reply(r.to_smtp()));
            }
        }

        if accepted.is_empty() {
            // No DATA without a recipient; RSET leaves a clean session for the next message.
            let reusable = self.reset().await.is_ok();
            return Outcome {
                results,
                abort: None,
                reusable,
            };
        }

        let data = match self.command("DATA\r\n", t.data_init, "DATA").await {
            Ok(r) => r,
            Err(e) => return aborted(results, RecipientResult::Error(e), true),
        };
        if data.code == 421 {
            self.quit().await;
            return aborted(results, RecipientResult::Reply(data.to_smtp()), true);
        }
        if data.code != 354 {
            for &i in &accepted {
                results[i] = Some(RecipientResult::Reply(data.to_smtp()));
            }
            let reusable = self.reset().await.is_ok();
            return Outcome {
                results,
                abort: None,
                reusable,
            };
        }
        let payload = dot_stuff(body);
        for block in payload.chunks(DATA_BLOCK) {
            if let Err(e) = self.write(block, t.data_block, "message data").await {
                // The final dot did not go out: nothing can have been delivered.
                return aborted(results, RecipientResult::Error(e), true);
            }
        }
        let end = match self.read_reply(t.data_term, "end of DATA").await {
            Ok(r) => r,
            Err(e) => return aborted(results, RecipientResult::Error(e), false),
        };
        debug!(
            host = %self.remote_host, code = end.code, recipients = accepted.len(),
            bytes = body.len(), "smtp transaction done"
        );
        for &i in &accepted {
            results[i] = Some(RecipientResult::Reply(end.to_smtp()));
        }
        self.messages += 1;
        let reusable = end.code != 421;
        if !reusable {
            self.quit().await;
        }
        Outcome {
            results,
            abort: None,
            reusable,
        }
    }
}
