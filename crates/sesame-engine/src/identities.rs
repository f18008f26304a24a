//! Email address and domain identities (spec D; DECISIONS Q-81..Q-104).
//!
//! Statuses start `PENDING` and only DNS verification (a later issue), the verification link of
//! an address (`email_verification`) or an explicit operator override moves them; nothing here
//! pretends an identity is verified.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sesame_mail::dkim::{self, KeyLength};
use sesame_model::{ResourceKey, Scope};

use crate::records::{kind, status, DkimKeyRecord, DkimState, IdentityRecord, MailFrom, Tag};
use crate::{now_ms, Engine, EngineError};

/// Identities per (account, region).
pub const MAX_IDENTITIES: u64 = 10_000;

/// `EMAIL_ADDRESS` or `DOMAIN`, decided from the name as SES does (an `@` means an address).
pub fn identity_type_of(name: &str) -> &'static str {
    if name.contains('@') {
        "EMAIL_ADDRESS"
    } else {
        "DOMAIN"
    }
}

/// Normalises and validates an identity name: domains are case-insensitive
/// (stored lower-case, trailing dot removed); addresses keep their case.
pub fn normalize_identity(name: &str) -> Result<String, EngineError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(EngineError::BadRequest(
            "Identity must not be empty.".into(),
        ));
    }
    if !name.is_ascii() {
        return Err(EngineError::BadRequest(format!(
            "Invalid identity {name}: there are non-ASCII characters in the identity."
        )));
    }
    if let Some((local, domain)) = name.rsplit_once('@') {
        if local.is_empty()
            || local.len() > 64
            || local.contains(['<', '>', ' ', '(', ')', ',', ';', ':', '\\', '"', '[', ']'])
        {
            return Err(EngineError::BadRequest(format!(
                "Invalid email address {name}."
            )));
        }
        validate_domain(domain)
            .map_err(|m| EngineError::BadRequest(format!("Invalid email address {name}: {m}")))?;
        Ok(name.to_string())
    } else {
        let d = name.trim_end_matches('.').to_ascii_lowercase();
        validate_domain(&d)
            .map_err(|m| EngineError::BadRequest(format!("Invalid domain name {name}: {m}")))?;
        Ok(d)
    }
}

fn validate_domain(d: &str) -> Result<(), String> {
    if d.is_empty() {
        return Err("the domain is empty".into());
    }
    if d.len() > 253 {
        return Err("a domain name may have at most 253 characters".into());
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return Err("a domain needs at least two labels".into());
    }
    for l in labels {
        if l.is_empty() || l.len() > 63 {
            return Err("each label must have 1-63 characters".into());
        }
        if !l
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || l.starts_with('-')
            || l.ends_with('-')
        {
            return Err(format!("label {l:?} is not a valid DNS label"));
        }
    }
    Ok(())
}

/// Input of DKIM signing attributes (v2 `DkimSigningAttributes`, spec D-70..D-81).
#[derive(Clone, Debug, Default)]
pub struct DkimSigningInput {
    /// `AWS_SES` or `EXTERNAL`; `None` means Easy DKIM.
    pub origin: Option<String>,
    pub selector: Option<String>,
    pub private_key: Option<String>,
    pub next_key_length: Option<String>,
}

impl Engine {
    pub(crate) fn identity_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::IDENTITY, name)
    }

    /// Seals a DKIM private key, bound to its identity and selector.
    pub(crate) fn seal_dkim(
        &self,
        scope: &Scope,
        identity: &str,
        selector: &str,
        private_b64: &str,
    ) -> String {
        let aad = format!(
            "dkim\0{}\0{}\0{identity}\0{selector}",
            scope.account, scope.region
        );
        B64.encode(self.secrets.seal(private_b64.as_bytes(), aad.as_bytes()))
    }

    /// Opens a sealed DKIM private key (PKCS#8 DER, base64).
    pub fn open_dkim(
        &self,
        scope: &Scope,
        identity: &str,
        key: &DkimKeyRecord,
    ) -> Result<String, EngineError> {
        let aad = format!(
            "dkim\0{}\0{}\0{identity}\0{}",
            scope.account, scope.region, key.selector
        );
        let sealed = B64
            .decode(&key.private_key_sealed)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let plain = self.secrets.open(&sealed, aad.as_bytes()).map_err(|_| {
            EngineError::Internal("cannot open DKIM key: wrong instance key?".into())
        })?;
        String::from_utf8(plain).map_err(|e| EngineError::Internal(e.to_string()))
    }

    /// The parsed signing key of `key`, opened and parsed once per process: the delivery path
    /// signs every message, and unsealing plus parsing a 2048-bit key costs as much as the
    /// signature itself. Keyed by the sealed value, which is unique to a key (a rotated or
    /// replaced key has a new sealed value, so a stale entry is never used).
    pub fn dkim_signing_key(
        &self,
        scope: &Scope,
        identity: &str,
        key: &DkimKeyRecord,
    ) -> Result<std::sync::Arc<dkim::SigningKey>, EngineError> {
        if let Some(k) = self.dkim_keys.get(&key.private_key_sealed) {
            return Ok(k);
        }
        let private = self.open_dkim(scope, identity, key)?;
        let parsed = std::sync::Arc::new(
            dkim::SigningKey::from_base64(&private)
                .map_err(|e| EngineError::Internal(format!("DKIM key of {identity}: {e}")))?,
        );
        self.dkim_keys
            .insert(key.private_key_sealed.clone(), parsed.clone());
        Ok(parsed)
    }

    /// Generates Easy DKIM state: three tokens, each with its own key. CPU-heavy
    /// (RSA key generation): callers on an async runtime run it on a blocking thread.
    pub fn generate_easy_dkim(
        &self,
        scope: &Scope,
        domain: &str,
        length: KeyLength,
    ) -> Result<DkimState, EngineError> {
        let mut keys = Vec::with_capacity(3);
        for _ in 0..3 {
            let token = dkim::easy_dkim_token();
            let k = dkim::generate_key(length).map_err(|e| EngineError::Internal(e.to_string()))?;
            keys.push(DkimKeyRecord {
                private_key_sealed: self.seal_dkim(scope, domain, &token, &k.private_pkcs8_b64),
                selector: token,
                public_key: k.public_b64,
                bits: k.bits,
            });
        }
        Ok(DkimState {
            signing_enabled: true,
            status: status::PENDING.into(),
            origin: "AWS_SES".into(),
            tokens: keys.iter().map(|k| k.selector.clone()).collect(),
            keys,
            current_key_length: Some(length.wire_name().into()),
            next_key_length: Some(length.wire_name().into()),
            last_key_generation: Some(now_ms()),
            key_length_changes: vec![],
        })
    }

    /// BYODKIM state from a customer key: `Tokens` = `[selector]`.
    pub fn external_dkim(
        &self,
        scope: &Scope,
        domain: &str,
        selector: &str,
        private_key: &str,
    ) -> Result<DkimState, EngineError> {
        let valid_selector = !selector.is_empty()
            && selector.len() <= 63
            && selector
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !selector.starts_with('-')
            && !selector.ends_with('-');
        if !valid_selector {
            return Err(EngineError::BadRequest(format!(
                "Invalid DKIM selector: {selector}"
            )));
        }
        let k = dkim::public_key_from_private_base64(private_key)
            .map_err(|e| EngineError::BadRequest(format!("Invalid DKIM private key: {e}")))?;
        let len = if k.bits > 1024 {
            "RSA_2048_BIT"
        } else {
            "RSA_1024_BIT"
        };
        Ok(DkimState {
            signing_enabled: true,
            status: status::PENDING.into(),
            origin: "EXTERNAL".into(),
            tokens: vec![selector.to_string()],
            keys: vec![DkimKeyRecord {
                selector: selector.to_string(),
                private_key_sealed: self.seal_dkim(scope, domain, selector, &k.private_pkcs8_b64),
                public_key: k.public_b64,
                bits: k.bits,
            }],
            current_key_length: Some(len.into()),
            next_key_length: None,
            last_key_generation: Some(now_ms()),
            key_length_changes: vec![],
        })
    }

    /// Inserts a new identity; `AlreadyExists` if present, `LimitExceeded` past Q-86's limit.
    pub async fn insert_identity(
        &self,
        scope: &Scope,
        record: IdentityRecord,
    ) -> Result<IdentityRecord, EngineError> {
        if self.store.count_resources(scope, kind::IDENTITY).await? >= MAX_IDENTITIES {
            return Err(EngineError::LimitExceeded(format!(
                "Maximum number of identities ({MAX_IDENTITIES}) reached in this region."
            )));
        }
        let key = Self::identity_key(scope, &record.identity);
        let data = serde_json::to_value(&record).expect("identity serialises");
        self.store
            .insert_resource(&key, &data)
            .await
            .map_err(|e| match e {
                sesame_model::StoreError::AlreadyExists => EngineError::AlreadyExists(format!(
                    "Email identity {} already exist.",
                    record.identity
                )),
                other => other.into(),
            })?;
        self.schedule_after_write(scope, None, &record, now_ms())
            .await;
        Ok(record)
    }

    /// A fresh record for `name` (already normalised).
    pub fn new_identity(name: &str) -> IdentityRecord {
        IdentityRecord {
            identity: name.to_string(),
            identity_type: identity_type_of(name).into(),
            verification_status: status::PENDING.into(),
            verification_token: None,
            legacy_txt_verification: false,
            dkim: None,
            mail_from: None,
            feedback_forwarding_enabled: true,
            notification_topics: Default::default(),
            headers_in_notifications: Default::default(),
            configuration_set_name: None,
            policies: Default::default(),
            tags: Vec::<Tag>::new(),
            created_at: now_ms(),
            email_verification: None,
            verification: Default::default(),
        }
    }

    pub async fn get_identity(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<IdentityRecord>, EngineError> {
        let Ok(name) = normalize_identity(name) else {
            return Ok(None);
        };
        match self
            .store
            .get_resource(&Self::identity_key(scope, &name))
            .await?
        {
            Some(r) => {
                let mut rec: IdentityRecord = serde_json::from_value(r.data)
                    .map_err(|e| EngineError::Internal(format!("corrupt identity: {e}")))?;
                self.expire_verification(&mut rec);
                Ok(Some(rec))
            }
            None => Ok(None),
        }
    }

    /// D-38: an address whose verification email is older than the window reads `FAILED`
    /// (`email_verification::expire_if_due`).
    fn expire_verification(&self, rec: &mut IdentityRecord) {
        let ttl = self.settings.verification.link_ttl_seconds;
        crate::email_verification::expire_if_due(rec, now_ms(), ttl);
    }

    /// The identity or a v2-style `NotFound` error.
    pub async fn require_identity(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<IdentityRecord, EngineError> {
        self.get_identity(scope, name)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("Email identity {name} does not exist.")))
    }

    /// Read-modify-write of an identity with optimistic concurrency. `NotFound` if absent.
    pub async fn update_identity<F>(
        &self,
        scope: &Scope,
        name: &str,
        mut f: F,
    ) -> Result<IdentityRecord, EngineError>
    where
        F: FnMut(&mut IdentityRecord) -> Result<(), EngineError> + Send,
    {
        let norm = normalize_identity(name)
            .map_err(|_| EngineError::NotFound(format!("Email identity {name} does not exist.")))?;
        let key = Self::identity_key(scope, &norm);
        self.hot.drop_identity(scope, &norm);
        loop {
            let Some(current) = self.store.get_resource(&key).await? else {
                return Err(EngineError::NotFound(format!(
                    "Email identity {name} does not exist."
                )));
            };
            let mut rec: IdentityRecord = serde_json::from_value(current.data)
                .map_err(|e| EngineError::Internal(format!("corrupt identity: {e}")))?;
            let before = rec.clone();
            f(&mut rec)?;
            crate::verification::after_external_write(&before, &mut rec);
            let data = serde_json::to_value(&rec).expect("identity serialises");
            match self
                .store
                .update_resource(&key, &data, current.version)
                .await
            {
                Ok(_) => {
                    // Again after the write: a reader between the first drop and the write may
                    // have cached the old record.
                    self.hot.drop_identity(scope, &norm);
                    self.schedule_after_write(scope, Some(&before), &rec, now_ms())
                        .await;
                    return Ok(rec);
                }
                Err(sesame_model::StoreError::Conflict) => continue,
                Err(sesame_model::StoreError::NotFound) => {
                    return Err(EngineError::NotFound(format!(
                        "Email identity {name} does not exist."
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Deletes an identity and everything hanging off it. Returns whether it existed.
    pub async fn delete_identity(&self, scope: &Scope, name: &str) -> Result<bool, EngineError> {
        let Ok(norm) = normalize_identity(name) else {
            return Ok(false);
        };
        self.hot.drop_identity(scope, &norm);
        let existed = self
            .store
            .delete_resource(&Self::identity_key(scope, &norm))
            .await?;
        self.forget_verification(scope, &norm).await?;
        Ok(existed)
    }

    /// Identities ordered by name, optionally of one type, after `after`.
    pub async fn list_identities(
        &self,
        scope: &Scope,
        identity_type: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<IdentityRecord>, Option<String>), EngineError> {
        let mut out = Vec::new();
        let mut cursor = after.map(str::to_string);
        // Filtering by type happens after the range read, so read in batches until full.
        loop {
            let batch = self
                .store
                .list_resources(
                    scope,
                    kind::IDENTITY,
                    "",
                    cursor.as_deref(),
                    limit.max(1) + 1,
                )
                .await?;
            let exhausted = batch.len() <= limit.max(1);
            for r in batch {
                cursor = Some(r.key.name.clone());
                let mut rec: IdentityRecord = serde_json::from_value(r.data)
                    .map_err(|e| EngineError::Internal(format!("corrupt identity: {e}")))?;
                self.expire_verification(&mut rec);
                if identity_type.is_none_or(|t| t == rec.identity_type) {
                    if out.len() == limit {
                        let last = out.last().map(|r: &IdentityRecord| r.identity.clone());
                        return Ok((out, last));
                    }
                    out.push(rec);
                }
            }
            if exhausted {
                return Ok((out, None));
            }
        }
    }

    /// v1 `SetIdentityFeedbackForwardingEnabled` / v2 `PutEmailIdentityFeedbackAttributes`.
    /// the v1 rule (topics for Bounce and Complaint before disabling) is checked by the
    /// v1 handler; the engine only stores the flag.
    pub async fn set_feedback_forwarding(
        &self,
        scope: &Scope,
        name: &str,
        enabled: bool,
    ) -> Result<IdentityRecord, EngineError> {
        self.update_identity(scope, name, |r| {
            r.feedback_forwarding_enabled = enabled;
            Ok(())
        })
        .await
    }

    /// Operator override (`sesame identity verify --force`): marks the identity verified — and a
    /// domain's DKIM keys and custom MAIL FROM too — without looking at DNS. Meant for
    /// development and for operators who verified ownership another way; DNS verification
    /// (`verification`, `sesame identity check`) is the normal way. Scheduled checks leave a
    /// forced identity alone until its settings change (new DKIM key, MAIL FROM, restart).
    pub async fn force_verify_identity(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<IdentityRecord, EngineError> {
        self.update_identity(scope, name, |r| {
            r.verification.forced = true;
            r.verification_status = status::SUCCESS.into();
            if let Some(d) = r.dkim.as_mut() {
                if !d.keys.is_empty() {
                    d.status = status::SUCCESS.into();
                }
            }
            if let Some(m) = r.mail_from.as_mut() {
                m.status = status::SUCCESS.into();
            }
            Ok(())
        })
        .await
    }

    /// Whether `rec` may be used to send (v2 `VerifiedForSendingStatus`, Q-82). A domain whose
    /// verified records disappeared (`TEMPORARY_FAILURE`) keeps sending during the 72 h grace
    /// window and loses it at `FAILED` (D-39, D-41, Q-98: "has been or will be revoked").
    pub fn verified_for_sending(rec: &IdentityRecord) -> bool {
        let ok = |s: &str| s == status::SUCCESS || s == status::TEMPORARY_FAILURE;
        if rec.identity_type == "DOMAIN" {
            ok(&rec.verification_status) || rec.dkim.as_ref().is_some_and(|d| ok(&d.status))
        } else {
            rec.verification_status == status::SUCCESS
        }
    }

    /// Sets a key-length change for Easy DKIM, enforcing Q-93 (one change per 24 h; the first
    /// downgrade to 1024 bits in the window does not count).
    pub fn set_next_key_length(
        dkim: &mut DkimState,
        length: &str,
        now: i64,
    ) -> Result<(), EngineError> {
        if KeyLength::from_wire(length).is_none() {
            return Err(EngineError::BadRequest(format!(
                "Invalid NextSigningKeyLength: {length}"
            )));
        }
        if dkim.next_key_length.as_deref() == Some(length) {
            return Ok(());
        }
        let day = 24 * 3600 * 1000;
        dkim.key_length_changes.retain(|t| now - t < day);
        let counted = dkim.key_length_changes.len();
        let exempt = length == "RSA_1024_BIT" && counted == 0;
        if counted >= 1 && !exempt {
            return Err(EngineError::BadRequest(
                "The DKIM signing key length can be changed only once every 24 hours.".into(),
            ));
        }
        if !exempt {
            dkim.key_length_changes.push(now);
        }
        dkim.next_key_length = Some(length.to_string());
        Ok(())
    }

    /// Validates a custom MAIL FROM domain for `identity`: a subdomain of the identity's
    /// domain, not the domain itself.
    pub fn validate_mail_from(
        identity: &IdentityRecord,
        mail_from: &str,
    ) -> Result<String, EngineError> {
        let d = mail_from.trim_end_matches('.').to_ascii_lowercase();
        validate_domain(&d).map_err(|m| {
            EngineError::BadRequest(format!("Invalid MAIL FROM domain {mail_from}: {m}"))
        })?;
        let parent = match identity.identity.rsplit_once('@') {
            Some((_, dom)) => dom.to_ascii_lowercase(),
            None => identity.identity.clone(),
        };
        if d == parent || !d.ends_with(&format!(".{parent}")) {
            return Err(EngineError::BadRequest(format!(
                "The custom MAIL FROM domain {mail_from} must be a subdomain of {parent}."
            )));
        }
        Ok(d)
    }

    pub fn mail_from_record(
        domain: String,
        behavior: Option<&str>,
    ) -> Result<MailFrom, EngineError> {
        let behavior = behavior.unwrap_or("USE_DEFAULT_VALUE");
        if behavior != "USE_DEFAULT_VALUE" && behavior != "REJECT_MESSAGE" {
            return Err(EngineError::BadRequest(format!(
                "Invalid BehaviorOnMxFailure: {behavior}"
            )));
        }
        Ok(MailFrom {
            domain,
            behavior_on_mx_failure: behavior.into(),
            status: status::PENDING.into(),
        })
    }
}

/// One DNS record the owner of an identity publishes (or, for `<token>.dkim.<sd>`, the
/// operator's zone serves) for DKIM.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DnsRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub value: String,
}

/// The DKIM records of `rec` (spec D-70..D-81, Q-63, Q-95):
/// - Easy DKIM: per token, the customer's CNAME `<token>._domainkey.<domain>` →
///   `<token>.dkim.<service_domain>`, and the TXT behind it (`v=DKIM1; k=rsa; p=…`) that the
///   instance's zone serves at `<token>.dkim.<service_domain>`;
/// - BYODKIM: the customer's TXT at `<selector>._domainkey.<domain>`.
///
/// Empty when the identity has no DKIM keys of its own (addresses inherit their domain's, Q-89).
pub fn dkim_dns_records(rec: &IdentityRecord, service_domain: &str) -> Vec<DnsRecord> {
    let Some(d) = &rec.dkim else {
        return vec![];
    };
    let domain = &rec.identity;
    let mut out = Vec::new();
    for k in &d.keys {
        let txt = dkim::txt_record(&k.public_key);
        if d.origin == "EXTERNAL" {
            out.push(DnsRecord {
                name: format!("{}._domainkey.{domain}", k.selector),
                rtype: "TXT".into(),
                value: txt,
            });
        } else {
            let target = format!("{}.dkim.{service_domain}", k.selector);
            out.push(DnsRecord {
                name: format!("{}._domainkey.{domain}", k.selector),
                rtype: "CNAME".into(),
                value: target.clone(),
            });
            out.push(DnsRecord {
                name: target,
                rtype: "TXT".into(),
                value: txt,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// domains are lower-cased, addresses keep case, junk is rejected.
    #[test]
    fn identity_names() {
        for (input, out) in [
            ("Example.COM", Some("example.com")),
            ("example.com.", Some("example.com")),
            ("Sender@Example.com", Some("Sender@Example.com")),
            ("sub.example.com", Some("sub.example.com")),
            ("localhost", None),
            ("", None),
            ("@example.com", None),
            ("a@b", None),
            ("bad domain.com", None),
            ("ünïcode.com", None),
            ("-bad.com", None),
        ] {
            assert_eq!(normalize_identity(input).ok().as_deref(), out, "{input}");
        }
        assert_eq!(identity_type_of("a@b.com"), "EMAIL_ADDRESS");
        assert_eq!(identity_type_of("b.com"), "DOMAIN");
    }

    /// one key-length change per rolling 24 h; first downgrade to 1024 exempt.
    #[test]
    fn key_length_change_window() {
        let mut d = DkimState {
            signing_enabled: true,
            status: "PENDING".into(),
            origin: "AWS_SES".into(),
            tokens: vec![],
            keys: vec![],
            current_key_length: Some("RSA_2048_BIT".into()),
            next_key_length: Some("RSA_2048_BIT".into()),
            last_key_generation: None,
            key_length_changes: vec![],
        };
        let t0 = 1_000_000_000_000;
        Engine::set_next_key_length(&mut d, "RSA_1024_BIT", t0).unwrap(); // exempt
        Engine::set_next_key_length(&mut d, "RSA_2048_BIT", t0 + 1).unwrap(); // counted
        assert!(Engine::set_next_key_length(&mut d, "RSA_1024_BIT", t0 + 2).is_err());
        Engine::set_next_key_length(&mut d, "RSA_1024_BIT", t0 + 25 * 3600 * 1000).unwrap();
        assert!(Engine::set_next_key_length(&mut d, "RSA_4096_BIT", t0).is_err());
    }

    #[test]
    fn mail_from_must_be_a_subdomain() {
        let rec = Engine::new_identity("example.com");
        assert_eq!(
            Engine::validate_mail_from(&rec, "bounce.example.com").unwrap(),
            "bounce.example.com"
        );
        assert!(Engine::validate_mail_from(&rec, "example.com").is_err());
        assert!(Engine::validate_mail_from(&rec, "bounce.other.com").is_err());
        assert!(Engine::validate_mail_from(&rec, "badexample.com").is_err());
    }

    /// the store's token index (`sesame_model::dkim_selectors_of`) reads the document
    /// shape of `IdentityRecord`: Easy DKIM keys are indexed, BYODKIM and no-DKIM are not.
    #[test]
    fn identity_documents_feed_the_dkim_index() {
        let key = |s: &str| DkimKeyRecord {
            selector: s.into(),
            private_key_sealed: "sealed".into(),
            public_key: format!("P{s}"),
            bits: 2048,
        };
        let mut rec = Engine::new_identity("example.com");
        let none = serde_json::to_value(&rec).unwrap();
        assert!(sesame_model::dkim_selectors_of(&none).is_empty());
        rec.dkim = Some(DkimState {
            signing_enabled: true,
            status: "PENDING".into(),
            origin: "AWS_SES".into(),
            tokens: vec!["t1".into(), "t2".into()],
            keys: vec![key("t1"), key("t2")],
            current_key_length: None,
            next_key_length: None,
            last_key_generation: None,
            key_length_changes: vec![],
        });
        let easy = serde_json::to_value(&rec).unwrap();
        assert_eq!(
            sesame_model::dkim_selectors_of(&easy),
            vec![("t1".into(), "Pt1".into()), ("t2".into(), "Pt2".into())]
        );
        rec.dkim.as_mut().unwrap().origin = "EXTERNAL".into();
        let byo = serde_json::to_value(&rec).unwrap();
        assert!(sesame_model::dkim_selectors_of(&byo).is_empty());
    }
}
