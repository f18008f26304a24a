//! AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms, TLS-only (B-30, Q-57).
//!
//! The user name is the access key id and the password the SES-derived SMTP password;
//! the backend verifies it for this listener's region. Replies: `235 Authentication successful`,
//! `535 Authentication Credentials Invalid`, `454 Temporary authentication failure`,
//! `530 Must issue a STARTTLS command first`, `504 Unrecognized authentication type`.

use base64::Engine;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};

use crate::reply::Reply;
use crate::session::{Greeting, Session, Step};

/// An AUTH exchange waiting for the client's next line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthProgress {
    /// `AUTH PLAIN` without an initial response: waiting for the credentials.
    Plain,
    /// `AUTH LOGIN`: waiting for the user name.
    LoginUser,
    /// `AUTH LOGIN`: have the user name, waiting for the password.
    LoginPassword(String),
}

/// `334 VXNlcm5hbWU6` ("Username:").
fn username_prompt() -> Reply {
    Reply::new(334, None, "VXNlcm5hbWU6")
}
/// `334 UGFzc3dvcmQ6` ("Password:").
fn password_prompt() -> Reply {
    Reply::new(334, None, "UGFzc3dvcmQ6")
}

/// Decodes a base64 SASL response; `=` is the empty response (RFC 4954 §4).
fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if text == b"=" {
        return Some(Vec::new());
    }
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`. An authzid different from the authcid would
/// mean acting as someone else, which SES does not offer: such credentials are invalid.
fn parse_plain(decoded: &[u8]) -> Option<(String, String)> {
    let mut parts = decoded.split(|&b| b == 0);
    let authzid = parts.next()?;
    let user = parts.next()?;
    let pass = parts.next()?;
    if parts.next().is_some() || user.is_empty() || (!authzid.is_empty() && authzid != user) {
        return None;
    }
    Some((
        String::from_utf8(user.to_vec()).ok()?,
        String::from_utf8(pass.to_vec()).ok()?,
    ))
}

impl Session {
    /// `AUTH <mechanism> [initial-response]`.
    pub(crate) async fn auth_start(&mut self, mechanism: u64, initial: &str) -> Step {
        // The feedback MX offers no AUTH (RFC 4954 §4: not advertised).
        if self.is_feedback() {
            return Step::Reply(Reply::not_implemented());
        }
        if !self.tls {
            return Step::Reply(Reply::starttls_first());
        }
        // RFC 4954 §4: after EHLO, not twice, not inside a transaction.
        if self.greeting != Some(Greeting::Ehlo) || self.principal.is_some() || self.tx.is_some() {
            return Step::Reply(Reply::bad_sequence());
        }
        match mechanism {
            AUTH_PLAIN if initial.is_empty() => {
                self.auth = Some(AuthProgress::Plain);
                Step::Reply(Reply::new(334, None, ""))
            }
            AUTH_PLAIN => self.auth_plain(initial.as_bytes()).await,
            AUTH_LOGIN if initial.is_empty() => {
                self.auth = Some(AuthProgress::LoginUser);
                Step::Reply(username_prompt())
            }
            AUTH_LOGIN => self.login_user(initial.as_bytes()),
            _ => Step::Reply(Reply::unrecognized_auth_type()),
        }
    }

    /// The client's answer to a 334 challenge (line without CRLF).
    pub(crate) async fn auth_continue(&mut self, progress: AuthProgress, line: &[u8]) -> Step {
        if line == b"*" {
            return Step::Reply(Reply::auth_cancelled());
        }
        match progress {
            AuthProgress::Plain => self.auth_plain(line).await,
            AuthProgress::LoginUser => self.login_user(line),
            AuthProgress::LoginPassword(user) => match decode(line).map(String::from_utf8) {
                Some(Ok(pass)) => self.verify(&user, &pass).await,
                _ => Step::Reply(Reply::syntax_error()),
            },
        }
    }

    async fn auth_plain(&mut self, response: &[u8]) -> Step {
        let Some(decoded) = decode(response) else {
            return Step::Reply(Reply::syntax_error());
        };
        match parse_plain(&decoded) {
            Some((user, pass)) => self.verify(&user, &pass).await,
            None => Step::Reply(Reply::bad_credentials()),
        }
    }

    fn login_user(&mut self, response: &[u8]) -> Step {
        match decode(response).map(String::from_utf8) {
            Some(Ok(user)) => {
                self.auth = Some(AuthProgress::LoginPassword(user));
                Step::Reply(password_prompt())
            }
            _ => Step::Reply(Reply::syntax_error()),
        }
    }

    async fn verify(&mut self, user: &str, pass: &str) -> Step {
        let region = self.cfg.region.clone();
        let crate::session::Service::Submission(backend) = &self.service else {
            return Step::Reply(Reply::not_implemented());
        };
        match backend.authenticate(user, pass, &region).await {
            Ok(Some(principal)) => {
                tracing::debug!(peer = %self.peer, key = %principal.access_key_id, "smtp auth ok");
                self.principal = Some(principal);
                Step::Reply(Reply::auth_success())
            }
            Ok(None) => {
                tracing::info!(peer = %self.peer, "smtp auth failed");
                Step::Reply(Reply::bad_credentials())
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "smtp auth backend failure");
                Step::Reply(Reply::temp_auth_failure())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Case = (&'static [u8], Option<(&'static str, &'static str)>);

    #[test]
    fn plain_table() {
        let cases: &[Case] = &[
            (b"\0user\0pass", Some(("user", "pass"))),
            (b"user\0user\0pass", Some(("user", "pass"))),
            (b"other\0user\0pass", None),
            (b"\0\0pass", None),
            (b"\0user", None),
            (b"\0user\0pass\0x", None),
            (b"\0us\xffer\0pass", None),
        ];
        for (input, expected) in cases {
            let got = parse_plain(input);
            let want = expected.map(|(u, p)| (u.to_string(), p.to_string()));
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn decode_table() {
        assert_eq!(decode(b"="), Some(vec![]));
        assert_eq!(decode(b"YQ=="), Some(b"a".to_vec()));
        assert_eq!(decode(b"!!"), None);
    }
}
