//! The SMTP submission server's backend over the engine: SES SMTP credentials and
//! `Engine::send` (the one way in) with the SMTP envelope, and the one mapping from
//! [`SendError`] to the SES SMTP replies of.

use async_trait::async_trait;
use sesame_engine::send::{Content, Destination, SendError, SendRequest, Surface};
use sesame_engine::Engine;
use sesame_model::Scope;
use sesame_smtp::{Envelope, Principal, Reply, SubmissionBackend, TempFailure};

/// `ses:operation` auto tag for SMTP submissions (Q-156, provisional).
const OPERATION: &str = "SendSmtpEmail";

/// [`SubmissionBackend`] for `sesame serve`: one per process, shared by both listeners.
pub struct EngineBackend {
    /// The engine of this instance (cheap to clone; holds the store and the spool).
    engine: Engine,
}

impl EngineBackend {
    pub fn new(engine: Engine) -> Self {
        EngineBackend { engine }
    }
}

#[async_trait]
impl SubmissionBackend for EngineBackend {
    /// B-7..B-11, Q-46: user name = access key id, password = the key's SMTP password derived for
    /// the listener's region. Unknown, inactive or closed keys and wrong passwords all look the
    /// same to the client (`535 Authentication Credentials Invalid`); only a store that cannot
    /// answer is a temporary failure (`454 Temporary authentication failure`, Q-136).
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        region: &str,
    ) -> Result<Option<Principal>, TempFailure> {
        let key = match self.engine.resolve_key(username).await {
            Ok(Some(key)) => key,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "SMTP credential check failed");
                return Err(TempFailure(e.to_string()));
            }
        };
        if !sesame_sigv4::smtp_password::verify_smtp_password(
            &key.secret_access_key,
            region,
            password,
        ) {
            return Ok(None);
        }
        Ok(Some(Principal {
            account_id: key.account.account_id.to_string(),
            access_key_id: key.access_key_id,
            region: region.to_string(),
        }))
    }

    async fn submit(
        &self,
        principal: &Principal,
        envelope: &Envelope,
        raw: Vec<u8>,
    ) -> Result<String, Reply> {
        debug_assert!(envelope.tls, "submission listeners require TLS before MAIL");
        let (Ok(account), Ok(region)) = (principal.account_id.parse(), principal.region.parse())
        else {
            tracing::error!(
                ?principal,
                "SMTP principal does not name an account and region"
            );
            return Err(Reply::local_error());
        };
        let scope = Scope::new(account, region);
        // The key may have been deactivated since AUTH; it also names the caller (Q-156
        // `ses:caller-identity`).
        let caller = match self.engine.resolve_key(&principal.access_key_id).await {
            Ok(Some(key)) => key.user_name,
            Ok(None) => return Err(Reply::bad_credentials()),
            Err(e) => {
                tracing::warn!(error = %e, "SMTP key lookup failed at end of DATA");
                return Err(Reply::local_error());
            }
        };
        let request = SendRequest {
            surface: Surface::Smtp,
            operation: OPERATION,
            // the SMTP envelope is the message's source and recipients; the From and
            // To/Cc/Bcc headers are only checked (From) and delivered as written.
            from: Some(envelope.mail_from.clone()),
            destination: Some(Destination {
                to: envelope.rcpt_to.clone(),
                ..Destination::default()
            }),
            reply_to: Vec::new(),
            // SMTP feedback goes to the Return-Path header, else MAIL FROM — the
            // pipeline's rule when no explicit address is given.
            feedback_address: None,
            // only `X-SES-CONFIGURATION-SET` (read by the pipeline) can name a set.
            configuration_set: None,
            // `X-SES-MESSAGE-TAGS` is read by the pipeline.
            tags: Vec::new(),
            content: Content::Raw(raw),
            source_ip: Some(envelope.peer.ip().to_string()),
            caller_identity: Some(caller),
            source_tls_version: envelope.tls_version.clone(),
            list_management: None,
        };
        match self.engine.send(&scope, request).await {
            Ok(accepted) => Ok(accepted.message_id),
            Err(e) => {
                let reply = reply_for(&e);
                if reply.code < 500 {
                    tracing::warn!(error = ?e, %reply, "SMTP submission deferred");
                } else {
                    tracing::info!(%reply, peer = %envelope.peer, "SMTP submission rejected");
                }
                Err(reply)
            }
        }
    }
}

/// the reply for each way the pipeline can refuse a message. Rejections that
/// correspond to an API error are `554 Message rejected: <API error message>`; throttling and
/// internal failures are temporary (4xx) so clients retry.
pub fn reply_for(e: &SendError) -> Reply {
    match e {
        SendError::Rejected(text) => Reply::message_rejected(rejection_code(text), text),
        SendError::InvalidParameter(text) if text.starts_with("Message length is more than") => {
            Reply::too_long()
        }
        SendError::InvalidParameter(text) => Reply::message_rejected((5, 6, 0), text),
        SendError::ConfigurationSetDoesNotExist(_)
        | SendError::DefaultConfigurationSetMissing(_) => Reply::configuration_set_missing(),
        SendError::AccountPaused => Reply::account_paused(),
        SendError::ConfigurationSetPaused(_) => Reply::configuration_set_paused(),
        SendError::MailFromNotVerified(_) => Reply::mail_from_not_verified(),
        // Not reachable with raw content; kept total so a new content path cannot 250 by accident.
        SendError::TemplateDoesNotExist(name) => {
            Reply::message_rejected((5, 6, 0), &format!("Template {name} does not exist"))
        }
        SendError::Rendering { message, .. } => Reply::message_rejected((5, 6, 0), message),
        // an unknown list or topic in X-SES-LIST-MANAGEMENT-OPTIONS.
        SendError::ContactListDoesNotExist(text) => Reply::message_rejected((5, 6, 0), text),
        SendError::DailyQuotaExceeded => Reply::daily_quota_exceeded(),
        SendError::RateExceeded => Reply::rate_exceeded(),
        SendError::Internal(_) => Reply::local_error(),
    }
}

/// Enhanced code of a `554 Message rejected`: identity and sandbox checks are
/// security policy (5.7.1), blocked attachments are media problems (5.6.1), the rest content (5.6.0).
fn rejection_code(text: &str) -> (u8, u16, u16) {
    if text.starts_with("Email address is not verified") {
        (5, 7, 1)
    } else if text.to_ascii_lowercase().contains("attachment") {
        (5, 6, 1)
    } else {
        (5, 6, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// byte-exact as sent on a submission listener (no enhanced codes, Q-135).
    #[test]
    fn every_send_error_has_the_decided_reply() {
        let not_verified = "Email address is not verified. The following identities failed the check in region US-EAST-1: a@b.example";
        let table: Vec<(SendError, &str)> = vec![
            (
                SendError::Rejected(not_verified.into()),
                "554 Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: a@b.example\r\n",
            ),
            (
                SendError::Rejected("Missing required header 'From'.".into()),
                "554 Message rejected: Missing required header 'From'.\r\n",
            ),
            (
                SendError::InvalidParameter("There are no recipients specified".into()),
                "554 Message rejected: There are no recipients specified\r\n",
            ),
            (
                SendError::InvalidParameter(
                    "Message length is more than 41943040 bytes long: '41943041'.".into(),
                ),
                "552 Message is too long.\r\n",
            ),
            (
                SendError::ConfigurationSetDoesNotExist("x".into()),
                "554 Message rejected: Configuration set does not exist\r\n",
            ),
            (
                SendError::DefaultConfigurationSetMissing("x".into()),
                "554 Message rejected: Configuration set does not exist\r\n",
            ),
            (SendError::AccountPaused, "554 Message rejected: Account is paused\r\n"),
            (
                SendError::ConfigurationSetPaused("x".into()),
                "554 Message rejected: Configuration set sending paused\r\n",
            ),
            (
                SendError::MailFromNotVerified("Mail FROM domain m.x is not verified".into()),
                "554 Message rejected: Mail FROM domain is not verified\r\n",
            ),
            (
                SendError::ContactListDoesNotExist("List with name news does not exist.".into()),
                "554 Message rejected: List with name news does not exist.\r\n",
            ),
            (
                SendError::DailyQuotaExceeded,
                "454 Throttling failure: Daily message quota exceeded.\r\n",
            ),
            (
                SendError::RateExceeded,
                "454 Throttling failure: Maximum sending rate exceeded.\r\n",
            ),
            (
                SendError::Internal("disk full".into()),
                "451 Temporary service failure\r\n",
            ),
        ];
        for (e, wire) in table {
            assert_eq!(reply_for(&e).to_wire(false), wire, "{e:?}");
        }
        assert_eq!(
            reply_for(&SendError::Rejected(not_verified.into())).enhanced,
            Some((5, 7, 1))
        );
    }
}
