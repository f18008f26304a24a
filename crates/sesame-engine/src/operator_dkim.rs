//! The operator DKIM signature `d=<service_domain>` (DECISIONS Q-72; spec D-89, M-6): SES's
//! `d=amazonses.com` signature, here with a key the operator's own zone publishes at
//! `<selector>._domainkey.<service_domain>` (`docs/dns.md`).
//!
//! - The key (RSA 2048) is generated once, by the first node that starts with the feature on,
//!   and stored sealed with the instance key in the store (`operator_dkim_keys`, keyed by
//!   selector): later nodes and restarts load that key, so every node signs with, and every
//!   node's DNS responder publishes, the same key ([`Engine::load_operator_dkim`]).
//! - It signs Sesame's own mail (verification emails, forwarded bounces and complaints, the
//!   simulator's auto-replies), which otherwise left unsigned, and — when
//!   `operator_dkim_customer_mail` is on — every customer message as a second signature after
//!   the customer's own (D-89: "every message sent through SES carries … `d=amazonses.com`").
//! - Parameters are those of every Sesame signature: `a=rsa-sha256; c=relaxed/simple; q=dns/txt`,
//!   the D-89 header list (with `Feedback-ID` when present) and `t=` (`sesame_mail::dkim`).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sesame_mail::dkim::{self, KeyLength, SigningKey};
use sesame_model::OperatorDkimKey;

use crate::{now_ms, Engine, EngineError};

/// A loaded operator key, ready to sign.
#[derive(Clone)]
pub struct OperatorDkim {
    /// `d=`: the service domain.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// The `p=` value published at `<selector>._domainkey.<domain>`.
    pub public_key: String,
    /// Also sign customer mail (second signature).
    pub customer_mail: bool,
    key: Arc<SigningKey>,
}

impl std::fmt::Debug for OperatorDkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperatorDkim(d={}; s={})", self.domain, self.selector)
    }
}

impl OperatorDkim {
    /// The `DKIM-Signature: …\r\n` field for `message` (CRLF), `t=` from `now_ms`.
    pub fn sign(&self, message: &[u8], now_ms: i64) -> Result<String, EngineError> {
        dkim::sign_with(
            &self.key,
            message,
            &self.domain,
            &self.selector,
            (now_ms / 1000).max(0) as u64,
        )
        .map_err(|e| EngineError::Internal(format!("operator DKIM signing failed: {e}")))
    }
}

fn aad(selector: &str) -> String {
    format!("operator-dkim\0{selector}")
}

impl Engine {
    /// Loads the operator key for `selector` from the store, generating and storing it first
    /// when no node has yet (the first insert wins; see the module docs). CPU-heavy the first
    /// time (RSA key generation): call it on a blocking-capable thread at start-up.
    pub async fn load_operator_dkim(
        &self,
        selector: &str,
        customer_mail: bool,
    ) -> Result<OperatorDkim, EngineError> {
        let stored = match self.store.get_operator_dkim_key(selector).await? {
            Some(k) => k,
            None => {
                let k = dkim::generate_key(KeyLength::Rsa2048)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                let sealed = self
                    .secrets
                    .seal(k.private_pkcs8_b64.as_bytes(), aad(selector).as_bytes());
                let candidate = OperatorDkimKey {
                    selector: selector.to_string(),
                    private_key_sealed: B64.encode(sealed),
                    public_key: k.public_b64,
                    bits: k.bits as i64,
                    created_at: now_ms(),
                };
                let stored = self.store.insert_operator_dkim_key(&candidate).await?;
                if stored == candidate {
                    tracing::info!(%selector, "operator DKIM key generated");
                }
                stored
            }
        };
        let sealed = B64
            .decode(&stored.private_key_sealed)
            .map_err(|e| EngineError::Internal(format!("operator DKIM key: {e}")))?;
        let private = self
            .secrets
            .open(&sealed, aad(selector).as_bytes())
            .map_err(|_| {
                EngineError::Internal(
                    "cannot open the operator DKIM key: wrong instance key?".into(),
                )
            })?;
        let private =
            String::from_utf8(private).map_err(|e| EngineError::Internal(e.to_string()))?;
        let key = SigningKey::from_base64(&private)
            .map_err(|e| EngineError::Internal(format!("operator DKIM key: {e}")))?;
        Ok(OperatorDkim {
            domain: self.settings.service_domain.clone(),
            selector: selector.to_string(),
            public_key: stored.public_key,
            customer_mail,
            key: Arc::new(key),
        })
    }

    /// Installs the operator signature (see the module docs); without it nothing is signed
    /// with `d=<service_domain>`.
    pub fn set_operator_dkim(&mut self, operator: OperatorDkim) {
        self.operator_dkim = Some(Arc::new(operator));
    }

    pub fn operator_dkim(&self) -> Option<&OperatorDkim> {
        self.operator_dkim.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use crate::test_store::engine;

    /// generated once, then loaded (same public key) by every later load, even by
    /// another engine on the same store ("another node"); the signature names d=<sd>.
    #[tokio::test]
    async fn operator_key_is_generated_once_and_shared() {
        let e = engine();
        let a = e.load_operator_dkim("sesame1", true).await.unwrap();
        let b = e.load_operator_dkim("sesame1", false).await.unwrap();
        assert_eq!(a.public_key, b.public_key);
        assert!(!b.customer_mail);
        assert_eq!(a.domain, e.settings.service_domain);
        let other = e.load_operator_dkim("sesame2", true).await.unwrap();
        assert_ne!(other.public_key, a.public_key);
        let field = a
            .sign(
                b"From: a@b.test\r\nSubject: x\r\n\r\nbody\r\n",
                1_700_000_000_000,
            )
            .unwrap();
        assert!(
            field.starts_with("DKIM-Signature: v=1; a=rsa-sha256;"),
            "{field}"
        );
        assert!(
            field.contains(&format!("d={};", e.settings.service_domain)),
            "{field}"
        );
        assert!(field.contains("s=sesame1;"), "{field}");
        assert!(field.contains("t=1700000000;"), "{field}");
    }
}
