//! Email address verification by link (spec D-31..D-38, D-56, D/M-10; DECISIONS Q-74, Q-83,
//! Q-84, Q-101).
//!
//! **The email.** v1 `VerifyEmailIdentity`/`VerifyEmailAddress`, v2 `CreateEmailIdentity` for
//! an address and `SendCustomVerificationEmail` queue a verification email through
//! [`Engine::enqueue_system_message`] (the operator's mail: no quota, no events, null envelope
//! sender; captured into the dev inbox in capture mode). The default email comes from
//! `no-reply@<service_domain>` with the subject "<brand> – Email Address Verification Request
//! in region <region name>" and the body structure of D-32 (Q-74); a custom template (D-56)
//! replaces subject and body, and the link and the fixed footer are appended.
//!
//! **The link** (Q-84) is `<base_url>/verify?t=<token>`; the token is
//! `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`, payload
//! `{"a":account,"r":region,"i":identity,"t":issued_ms,"n":nonce}`, key = the instance key
//! (domain-separated by a label, like pagination tokens). The signature makes it tamper-proof;
//! the nonce, also stored in the identity ([`PendingVerification`]), makes a link from an
//! earlier email *replaced* once a new one is sent (Q-83: resend restarts the window).
//!
//! **Expiry** (D-35, D-38): a link older than `verification_link_ttl_seconds` (24 h) is
//! refused and the identity becomes `FAILED`. Nothing needs to run for that: the status is
//! evaluated when an identity is read ([`expire_if_due`], called by `get_identity` and
//! `list_identities`), so a `PENDING` address whose latest email is older than the window reads
//! as `FAILED` — and is written as such by the next click on its (expired) link.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sesame_mail::message::{self as msg, SimpleMessage, Text};
use sesame_model::{AccountId, Region, Scope};

use crate::identities::normalize_identity;
use crate::records::{status, IdentityRecord};
use crate::{now_ms, Engine, EngineError};

/// `meta.system` of a queued verification email (`deliver::system` delivers it).
pub const SYSTEM_EMAIL_VERIFICATION: &str = "email-verification";

/// The path of the link on the API listener (Q-84). No SES route uses it: v2 lives under
/// `/v2/`, v1 and SNS post to `/`.
pub const VERIFY_PATH: &str = "/verify";

/// D-56: always appended to a custom verification email, after the link.
pub const CUSTOM_FOOTER: &str =
    "If you did not request to verify this email address, please disregard this message.";

/// Settings of the verification email (`sesame_config` keys `verification_base_url`,
/// `verification_link_ttl_seconds`, `brand`, `abuse_contact`).
#[derive(Clone, Debug, PartialEq)]
pub struct VerificationSettings {
    /// Scheme, host and optional path prefix of links, e.g. `https://email-verification.example.net`.
    /// `None`: the API listener's own address (`serve` fills it in after binding); outside
    /// `serve`, `https://email-verification.<service_domain>`.
    pub base_url: Option<String>,
    /// How long a link is valid and how long an address may stay `PENDING` (D-35: 24 h).
    pub link_ttl_seconds: u64,
    /// Name in the subject and signature (Q-74).
    pub brand: String,
    /// Where recipients report unwanted verification emails (Q-74); `None`:
    /// `abuse@<service_domain>`.
    pub abuse_contact: Option<String>,
}

impl Default for VerificationSettings {
    fn default() -> Self {
        VerificationSettings {
            base_url: None,
            link_ttl_seconds: 24 * 3600,
            brand: "Sesame".into(),
            abuse_contact: None,
        }
    }
}

/// The outstanding verification email of an address identity (stored in [`IdentityRecord`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingVerification {
    /// Unix ms the latest email was issued; the window runs from here (D-35).
    pub issued_at: i64,
    /// Random hex; only a link carrying this nonce is current (Q-83).
    pub nonce: String,
    /// Custom template redirects (D-56), copied at send time so later template edits or
    /// deletion do not change an email already sent.
    #[serde(default)]
    pub success_redirect: Option<String>,
    #[serde(default)]
    pub failure_redirect: Option<String>,
}

/// Content of a custom verification email (from a custom verification email template).
#[derive(Clone, Debug, PartialEq)]
pub struct CustomEmail {
    pub from: String,
    pub subject: String,
    /// HTML (the template content).
    pub content: String,
    pub success_redirect: String,
    pub failure_redirect: String,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    a: String,
    r: String,
    i: String,
    t: i64,
    n: String,
}

/// What a click on a link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClickOutcome {
    /// The identity is now `SUCCESS` (or already was, for this link).
    Verified {
        identity: String,
        redirect: Option<String>,
    },
    /// The link is older than the window; the identity is `FAILED` unless verified otherwise.
    Expired {
        identity: String,
        redirect: Option<String>,
    },
    /// A newer email was sent (or the identity was deleted and re-created): this link is dead.
    Replaced {
        identity: String,
        redirect: Option<String>,
    },
    /// Forged, altered or unreadable token, or its identity no longer exists. Nothing changed.
    Invalid,
}

/// D-38 / Q-84: a `PENDING` address whose latest email is older than the window is `FAILED`.
/// Returns whether the status changed.
pub fn expire_if_due(rec: &mut IdentityRecord, now: i64, ttl_seconds: u64) -> bool {
    let due = rec.identity_type == "EMAIL_ADDRESS"
        && rec.verification_status == status::PENDING
        && rec
            .email_verification
            .as_ref()
            .is_some_and(|p| now - p.issued_at >= ttl_seconds as i64 * 1000);
    if due {
        rec.verification_status = status::FAILED.into();
    }
    due
}

/// Display names of AWS regions (D-32 "in region <display name>"); other regions show their
/// code.
pub fn region_display_name(region: &str) -> String {
    let name = match region {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "ca-central-1" => "Canada (Central)",
        "eu-west-1" => "Europe (Ireland)",
        "eu-west-2" => "Europe (London)",
        "eu-west-3" => "Europe (Paris)",
        "eu-central-1" => "Europe (Frankfurt)",
        "eu-north-1" => "Europe (Stockholm)",
        "eu-south-1" => "Europe (Milan)",
        "ap-south-1" => "Asia Pacific (Mumbai)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-northeast-2" => "Asia Pacific (Seoul)",
        "ap-northeast-3" => "Asia Pacific (Osaka)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        "sa-east-1" => "South America (São Paulo)",
        "me-south-1" => "Middle East (Bahrain)",
        "af-south-1" => "Africa (Cape Town)",
        _ => return region.to_string(),
    };
    name.to_string()
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Engine {
    /// Uses `url` (the API listener's address) as the link base unless one is configured.
    /// Called by `serve` after binding, before the engine is shared.
    pub fn default_verification_base_url(&mut self, url: &str) {
        if self.settings.verification.base_url.is_none() {
            // A wildcard bind address is not something a browser can open: use loopback.
            let url = url
                .replacen("//0.0.0.0:", "//127.0.0.1:", 1)
                .replacen("//[::]:", "//[::1]:", 1);
            let mut s = (*self.settings).clone();
            s.verification.base_url = Some(url.trim_end_matches('/').to_string());
            self.settings = std::sync::Arc::new(s);
        }
    }

    fn verification_mac(&self, payload: &[u8]) -> [u8; 32] {
        let mut data = Vec::with_capacity(payload.len() + 32);
        data.extend_from_slice(b"sesame-email-verification\0");
        data.extend_from_slice(payload);
        sesame_sigv4::secrets::hmac_sha256(&self.mac_key[..], &data)
    }

    /// The signed token of one verification email (Q-84).
    pub fn verification_token(
        &self,
        scope: &Scope,
        identity: &str,
        issued_at: i64,
        nonce: &str,
    ) -> String {
        let payload = serde_json::to_vec(&Payload {
            a: scope.account.to_string(),
            r: scope.region.to_string(),
            i: identity.to_string(),
            t: issued_at,
            n: nonce.to_string(),
        })
        .expect("a payload of strings serialises");
        let tag = self.verification_mac(&payload);
        format!("{}.{}", B64.encode(&payload), B64.encode(tag))
    }

    /// The link of a token: `<base_url>/verify?t=<token>` (the token is URL-safe).
    pub fn verification_link(&self, token: &str) -> String {
        let v = &self.settings.verification;
        let base = v.base_url.clone().unwrap_or_else(|| {
            format!(
                "https://email-verification.{}",
                self.settings.service_domain
            )
        });
        format!("{}{VERIFY_PATH}?t={token}", base.trim_end_matches('/'))
    }

    /// Checks the signature and decodes a token: `(scope, identity, issued_at, nonce)`.
    fn open_token(&self, token: &str) -> Option<(Scope, String, i64, String)> {
        let (p, t) = token.split_once('.')?;
        let payload = B64.decode(p).ok()?;
        let tag = B64.decode(t).ok()?;
        if !constant_eq(&tag, &self.verification_mac(&payload)) {
            return None;
        }
        let p: Payload = serde_json::from_slice(&payload).ok()?;
        let account: AccountId = p.a.parse().ok()?;
        let region: Region = p.r.parse().ok()?;
        self.serves_region(region.as_str())
            .then(|| (Scope::new(account, region), p.i, p.t, p.n))
    }

    /// Issues a new verification email for the address identity `name` (which must exist):
    /// a fresh nonce and issue time are stored (any earlier link is replaced, the window
    /// restarts, Q-83), the status becomes `PENDING` unless the identity is already verified,
    /// and the email is queued. Returns the message id.
    pub async fn send_verification_email(
        &self,
        scope: &Scope,
        name: &str,
        custom: Option<&CustomEmail>,
    ) -> Result<String, EngineError> {
        let now = now_ms();
        let nonce: String = rand::random::<[u8; 16]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let pending = PendingVerification {
            issued_at: now,
            nonce: nonce.clone(),
            success_redirect: custom.map(|c| c.success_redirect.clone()),
            failure_redirect: custom.map(|c| c.failure_redirect.clone()),
        };
        let rec = self
            .update_identity(scope, name, |r| {
                if r.verification_status != status::SUCCESS {
                    r.verification_status = status::PENDING.into();
                }
                r.email_verification = Some(pending.clone());
                Ok(())
            })
            .await?;
        let token = self.verification_token(scope, &rec.identity, now, &nonce);
        let link = self.verification_link(&token);
        let message = match custom {
            None => self.default_verification_message(scope, &rec.identity, &link),
            Some(c) => custom_verification_message(c, &rec.identity, &link),
        };
        let id = msg::new_message_id(now.max(0) as u64, rand::random());
        let raw = msg::finalize(
            &msg::build_simple(&message),
            &id,
            &crate::templates::rfc5322_date(now),
            &format!("email.{}", self.settings.service_domain),
        );
        self.enqueue_system_message(
            scope,
            &id,
            SYSTEM_EMAIL_VERIFICATION,
            std::slice::from_ref(&rec.identity),
            raw,
            // D-60, Q-103: a custom template's From (a customer address) is signed with its
            // identity's key when that identity signs (`deliver::system`); the default email
            // is from `no-reply@<sd>` and carries the operator signature only.
            match custom {
                Some(c) => serde_json::json!({ "identity": rec.identity, "from": c.from }),
                None => serde_json::json!({ "identity": rec.identity }),
            },
        )
        .await?;
        tracing::info!(account = %scope.account, region = %scope.region, identity = %rec.identity, message_id = %id, "verification email queued");
        Ok(id)
    }

    /// D-32 / Q-74: the default email.
    fn default_verification_message(
        &self,
        scope: &Scope,
        identity: &str,
        link: &str,
    ) -> SimpleMessage {
        let v = &self.settings.verification;
        let sd = &self.settings.service_domain;
        let brand = &v.brand;
        let region = region_display_name(scope.region.as_str());
        let abuse = v
            .abuse_contact
            .clone()
            .unwrap_or_else(|| format!("abuse@{sd}"));
        let hours = v.link_ttl_seconds.div_ceil(3600);
        let body = format!(
            "Dear {brand} customer,\r\n\r\n\
             We have received a request to authorize this email address for use with {brand} \
             in region {region}. If you requested this verification, please go to the \
             following URL to confirm that you are authorized to use this email address:\r\n\r\n\
             {link}\r\n\r\n\
             Your request will not be processed unless you confirm the address using this URL. \
             This link expires {hours} hours after your original verification request.\r\n\r\n\
             If you did NOT request to verify this email address, do not click on the link. \
             Please note that many times, the situation isn't a phishing attempt, but either a \
             misunderstanding of how to use our service, or someone setting up email-sending \
             capabilities on your behalf as part of a legitimate service, but without having \
             fully communicated the procedure first. If you are still concerned, please forward \
             this notification to {abuse} and let us know in the forward that you did not \
             request the verification.\r\n\r\n\
             Sincerely,\r\n\r\n\
             The {brand} Team\r\n"
        );
        SimpleMessage {
            from: format!("no-reply@{sd}"),
            to: vec![identity.to_string()],
            subject: Text::new(format!(
                "{brand} \u{2013} Email Address Verification Request in region {region}"
            )),
            text: Some(Text::new(body)),
            ..SimpleMessage::default()
        }
    }

    /// Handles a click (HTTP GET on the link) at `now`.
    pub async fn confirm_email_verification(
        &self,
        token: &str,
        now: i64,
    ) -> Result<ClickOutcome, EngineError> {
        let Some((scope, identity, issued_at, nonce)) = self.open_token(token) else {
            return Ok(ClickOutcome::Invalid);
        };
        if normalize_identity(&identity).is_err() {
            return Ok(ClickOutcome::Invalid);
        }
        let ttl_ms = self.settings.verification.link_ttl_seconds as i64 * 1000;
        let expired = now - issued_at >= ttl_ms;
        let mut outcome = ClickOutcome::Invalid;
        let res = self
            .update_identity(&scope, &identity, |r| {
                let current = r.email_verification.as_ref();
                let redirects = |ok: bool| {
                    current.and_then(|p| {
                        if ok {
                            p.success_redirect.clone()
                        } else {
                            p.failure_redirect.clone()
                        }
                    })
                };
                if current.is_none_or(|p| p.nonce != nonce || p.issued_at != issued_at) {
                    outcome = ClickOutcome::Replaced {
                        identity: r.identity.clone(),
                        redirect: redirects(false),
                    };
                    return Ok(());
                }
                if expired {
                    outcome = ClickOutcome::Expired {
                        identity: r.identity.clone(),
                        redirect: redirects(false),
                    };
                    if r.verification_status == status::PENDING {
                        r.verification_status = status::FAILED.into();
                    }
                    return Ok(());
                }
                outcome = ClickOutcome::Verified {
                    identity: r.identity.clone(),
                    redirect: redirects(true),
                };
                r.verification_status = status::SUCCESS.into();
                Ok(())
            })
            .await;
        match res {
            Ok(_) => Ok(outcome),
            Err(EngineError::NotFound(_)) => Ok(ClickOutcome::Invalid),
            Err(e) => Err(e),
        }
    }
}

/// D-59 / Q-103: `<img src="data:image/TYPE;base64,DATA">` images become inline attachments
/// referenced as `cid:` (so mail clients that block data URIs still show them). Returns the
/// rewritten HTML and the attachments; a data URI that is not base64 image data stays as is.
pub fn inline_data_images(html: &str) -> (String, Vec<msg::Attachment>) {
    use base64::engine::general_purpose::STANDARD;
    let mut out = String::with_capacity(html.len());
    let mut parts = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("data:image/") {
        let (before, from) = rest.split_at(at);
        let quote = before.chars().last();
        let end = from
            .find(|c: char| Some(c) == quote || c == '>' || c.is_whitespace())
            .unwrap_or(from.len());
        let uri = &from[..end];
        let decoded = uri
            .strip_prefix("data:")
            .and_then(|u| u.split_once(";base64,"))
            .filter(|(t, _)| {
                t.len() <= 64
                    && t[6..]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
            })
            .and_then(|(t, d)| {
                let d: String = d.chars().filter(|c| !c.is_whitespace()).collect();
                STANDARD.decode(d).ok().map(|bytes| (t.to_string(), bytes))
            });
        out.push_str(before);
        match decoded {
            Some((content_type, data)) => {
                let n = parts.len() + 1;
                let cid = format!("image{n}@verification");
                let ext = content_type
                    .strip_prefix("image/")
                    .unwrap_or("bin")
                    .split('+')
                    .next()
                    .unwrap_or("bin")
                    .to_string();
                out.push_str(&format!("cid:{cid}"));
                parts.push(msg::Attachment {
                    file_name: format!("image{n}.{ext}"),
                    content_type: Some(content_type),
                    content_id: Some(cid),
                    disposition: msg::Disposition::Inline,
                    data,
                    ..msg::Attachment::default()
                });
            }
            None => out.push_str(uri),
        }
        rest = &from[end..];
    }
    out.push_str(rest);
    (out, parts)
}

/// D-56: the template's subject and content, then the link, then the fixed footer.
fn custom_verification_message(c: &CustomEmail, identity: &str, link: &str) -> SimpleMessage {
    let href = link.replace('&', "&amp;");
    let (content, attachments) = inline_data_images(&c.content);
    let html =
        format!("{content}\r\n<p><a href=\"{href}\">{href}</a></p>\r\n<p>{CUSTOM_FOOTER}</p>\r\n");
    let text = format!(
        "{}\r\n\r\n{link}\r\n\r\n{CUSTOM_FOOTER}\r\n",
        strip_tags(&c.content)
    );
    SimpleMessage {
        from: c.from.clone(),
        to: vec![identity.to_string()],
        subject: Text::new(c.subject.clone()),
        text: Some(Text::new(text)),
        html: Some(Text::new(html)),
        attachments,
        ..SimpleMessage::default()
    }
}

/// A plain-text rendering of HTML for the text part: tags removed, whitespace collapsed.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(status: &str, issued_at: Option<i64>) -> IdentityRecord {
        let mut r = Engine::new_identity("a@example.com");
        r.verification_status = status.into();
        r.email_verification = issued_at.map(|t| PendingVerification {
            issued_at: t,
            nonce: "n".into(),
            success_redirect: None,
            failure_redirect: None,
        });
        r
    }

    /// D-35, D-38: PENDING past the window reads FAILED; nothing else changes.
    #[test]
    fn expiry_table() {
        let day = 86_400;
        let t0 = 1_000_000_000_000;
        for (status, issued, now, expected) in [
            ("PENDING", Some(t0), t0 + 1000, "PENDING"),
            ("PENDING", Some(t0), t0 + day * 1000 - 1, "PENDING"),
            ("PENDING", Some(t0), t0 + day * 1000, "FAILED"),
            ("SUCCESS", Some(t0), t0 + 2 * day * 1000, "SUCCESS"),
            ("PENDING", None, t0 + 2 * day * 1000, "PENDING"),
        ] {
            let mut r = rec(status, issued);
            expire_if_due(&mut r, now, day as u64);
            assert_eq!(r.verification_status, expected, "{status} {issued:?} {now}");
        }
        let mut d = Engine::new_identity("example.com");
        d.email_verification = rec("PENDING", Some(t0)).email_verification;
        assert!(!expire_if_due(&mut d, t0 + 2 * day * 1000, day as u64));
    }

    /// Q-84 / D-34 / D-35 / Q-83 with an injected clock: the current link verifies; an altered
    /// token, another scope's token and a replaced link do nothing; a late click fails.
    #[tokio::test]
    async fn click_outcomes() {
        use crate::test_store::{engine, scope, scope_in};
        let e = engine();
        let sc = scope();
        let day_ms = 86_400_000;
        e.insert_identity(&sc, Engine::new_identity("a@example.com"))
            .await
            .unwrap();
        e.send_verification_email(&sc, "a@example.com", None)
            .await
            .unwrap();
        let current = |e: &Engine| {
            let e = e.clone();
            async move {
                let raw = e
                    .store
                    .get_resource(&sesame_model::ResourceKey::new(
                        &scope(),
                        crate::records::kind::IDENTITY,
                        "a@example.com",
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                let r: IdentityRecord = serde_json::from_value(raw.data).unwrap();
                r
            }
        };
        let p1 = current(&e).await.email_verification.unwrap();
        let t1 = e.verification_token(&sc, "a@example.com", p1.issued_at, &p1.nonce);
        assert!(e
            .verification_link(&t1)
            .starts_with("https://email-verification.sesame.test/verify?t="));

        // Altered payload, altered MAC, other scope: refused, nothing changes.
        let mut forged = t1.clone().into_bytes();
        forged[3] ^= 1;
        let forged = String::from_utf8(forged).unwrap();
        let other = e.verification_token(
            &scope_in("eu-west-1"),
            "a@example.com",
            p1.issued_at,
            &p1.nonce,
        );
        for t in [
            forged.as_str(),
            &t1[..t1.len() - 2],
            "",
            "x.y",
            other.as_str(),
        ] {
            assert_eq!(
                e.confirm_email_verification(t, p1.issued_at).await.unwrap(),
                ClickOutcome::Invalid,
                "{t}"
            );
        }
        assert_eq!(current(&e).await.verification_status, "PENDING");

        // Resend: the first link is replaced.
        e.send_verification_email(&sc, "a@example.com", None)
            .await
            .unwrap();
        let p2 = current(&e).await.email_verification.unwrap();
        assert_ne!(p1.nonce, p2.nonce);
        let t2 = e.verification_token(&sc, "a@example.com", p2.issued_at, &p2.nonce);
        assert!(matches!(
            e.confirm_email_verification(&t1, p2.issued_at)
                .await
                .unwrap(),
            ClickOutcome::Replaced { .. }
        ));
        assert_eq!(current(&e).await.verification_status, "PENDING");

        // Too late: FAILED; the stored record too.
        assert!(matches!(
            e.confirm_email_verification(&t2, p2.issued_at + day_ms)
                .await
                .unwrap(),
            ClickOutcome::Expired { .. }
        ));
        assert_eq!(current(&e).await.verification_status, "FAILED");

        // Resend from FAILED → PENDING, and the new link verifies within the window.
        e.send_verification_email(&sc, "a@example.com", None)
            .await
            .unwrap();
        let p3 = current(&e).await.email_verification.unwrap();
        assert_eq!(current(&e).await.verification_status, "PENDING");
        let t3 = e.verification_token(&sc, "a@example.com", p3.issued_at, &p3.nonce);
        assert_eq!(
            e.confirm_email_verification(&t3, p3.issued_at + day_ms - 1)
                .await
                .unwrap(),
            ClickOutcome::Verified {
                identity: "a@example.com".into(),
                redirect: None
            }
        );
        assert_eq!(current(&e).await.verification_status, "SUCCESS");

        // A deleted identity's link is invalid.
        e.delete_identity(&sc, "a@example.com").await.unwrap();
        assert_eq!(
            e.confirm_email_verification(&t3, p3.issued_at)
                .await
                .unwrap(),
            ClickOutcome::Invalid
        );
    }

    #[test]
    fn region_names() {
        assert_eq!(region_display_name("us-west-2"), "US West (Oregon)");
        assert_eq!(region_display_name("xx-test-1"), "xx-test-1");
    }

    /// D-59: data-URI images become inline `cid:` attachments; other URIs stay.
    #[test]
    fn data_images_become_inline_attachments() {
        let html = r#"<p>Hi</p><img src="data:image/png;base64,iVBORw0K" alt=x/><img src='https://x/y.png'><img src="data:image/svg+xml;base64,PHN2Zz4="><img src="data:image/png;base64,@@@">"#;
        let (out, parts) = inline_data_images(html);
        assert_eq!(
            out,
            r#"<p>Hi</p><img src="cid:image1@verification" alt=x/><img src='https://x/y.png'><img src="cid:image2@verification"><img src="data:image/png;base64,@@@">"#
        );
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[0].file_name, "image1.png");
        assert_eq!(parts[0].data, [0x89, b'P', b'N', b'G', 0x0d, 0x0a]);
        assert_eq!(parts[1].file_name, "image2.svg");
        assert_eq!(parts[1].content_id.as_deref(), Some("image2@verification"));
        assert_eq!(parts[1].disposition, msg::Disposition::Inline);
    }

    #[test]
    fn text_of_html() {
        assert_eq!(strip_tags("<p>Hello <b>you</b></p>\n<br/>x"), "Hello you x");
    }
}
