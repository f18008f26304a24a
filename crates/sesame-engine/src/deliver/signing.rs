//! Which key signs a message (DECISIONS; spec D-83, D-88, D-89).
//!
//! - The identity governing the From address (`meta.from_identity`, Q-88) decides.
//! - An identity with its own DKIM state that has signing **disabled** is never signed (D-88:
//!   an address may turn off what it inherits).
//! - A **domain** identity with its own state signs with its own key when the state is usable
//!   (signing enabled, status `SUCCESS` or `TEMPORARY_FAILURE`, keys present); if its
//!   own state is not usable, nothing is signed (its configuration applies, and it is not
//!   ready).
//! - An **address** identity without usable keys of its own (the usual case: Easy DKIM keys
//!   belong to domains), and a domain identity without any DKIM state, inherit from the nearest
//!   domain identity of the From domain or a parent domain that has a DKIM state (Q-89; Q-96
//!   "parent for inherited subdomains"); `d=` is that domain.
//! - The selector is the *active* key: the first key of the state. For Easy DKIM the order of
//!   the keys is their rotation role (active, next, previous; `dkim_rotation`, Q-92), so after
//!   a rotation the next key signs; for BYODKIM it is the customer's only selector.

use crate::records::{status, DkimKeyRecord, DkimState, IdentityRecord};

/// The chosen signing key: the identity that owns it (for `open_dkim`), `d=` and the key.
#[derive(Clone, Debug, PartialEq)]
pub struct Signer<'a> {
    pub owner: &'a str,
    pub domain: String,
    pub key: &'a DkimKeyRecord,
}

/// Signing continues while verified records are missing (`TEMPORARY_FAILURE`) and stops when
/// DKIM is revoked at `FAILED`.
fn usable(d: &DkimState) -> bool {
    d.signing_enabled
        && (d.status == status::SUCCESS || d.status == status::TEMPORARY_FAILURE)
        && !d.keys.is_empty()
}

fn domain_of(identity: &IdentityRecord) -> String {
    match identity.identity.rsplit_once('@') {
        Some((_, d)) => d.to_ascii_lowercase(),
        None => identity.identity.to_ascii_lowercase(),
    }
}

/// `governing` is the From identity; `domains` are the domain identities that exist for the From
/// domain and its parents, most specific first (they may include `governing` itself).
pub fn choose<'a>(
    governing: &'a IdentityRecord,
    domains: &'a [IdentityRecord],
) -> Option<Signer<'a>> {
    let is_address = governing.identity.contains('@');
    if let Some(own) = &governing.dkim {
        if !own.signing_enabled {
            return None;
        }
        if usable(own) {
            return Some(Signer {
                owner: &governing.identity,
                domain: domain_of(governing),
                key: &own.keys[0],
            });
        }
        if !is_address {
            return None;
        }
    }
    let parent = domains
        .iter()
        .filter(|d| !d.identity.contains('@') && d.identity != governing.identity)
        .find(|d| d.dkim.is_some())?;
    let state = parent.dkim.as_ref()?;
    usable(state).then(|| Signer {
        owner: &parent.identity,
        domain: domain_of(parent),
        key: &state.keys[0],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;

    fn key(selector: &str) -> DkimKeyRecord {
        DkimKeyRecord {
            selector: selector.into(),
            private_key_sealed: String::new(),
            public_key: String::new(),
            bits: 2048,
        }
    }

    fn dkim(enabled: bool, st: &str, selectors: &[&str]) -> DkimState {
        DkimState {
            signing_enabled: enabled,
            status: st.into(),
            origin: "AWS_SES".into(),
            tokens: selectors.iter().map(|s| s.to_string()).collect(),
            keys: selectors.iter().map(|s| key(s)).collect(),
            current_key_length: None,
            next_key_length: None,
            last_key_generation: None,
            key_length_changes: vec![],
        }
    }

    fn ident(name: &str, d: Option<DkimState>) -> IdentityRecord {
        let mut r = Engine::new_identity(name);
        r.verification_status = status::SUCCESS.into();
        r.dkim = d;
        r
    }

    fn pick(gov: &IdentityRecord, domains: &[IdentityRecord]) -> Option<(String, String)> {
        choose(gov, domains).map(|s| (s.domain, s.key.selector.clone()))
    }

    fn some(d: &str, s: &str) -> Option<(String, String)> {
        Some((d.into(), s.into()))
    }

    /// an address without its own DKIM inherits its domain's, unless it disabled it.
    #[test]
    fn address_inherits_domain_unless_disabled() {
        let domain = ident(
            "example.com",
            Some(dkim(true, "SUCCESS", &["t1", "t2", "t3"])),
        );
        let domains = vec![domain.clone()];
        let plain = ident("a@example.com", None);
        assert_eq!(pick(&plain, &domains), some("example.com", "t1"));
        let disabled = ident("a@example.com", Some(dkim(false, "SUCCESS", &[])));
        assert_eq!(pick(&disabled, &domains), None);
        let enabled_no_keys = ident("a@example.com", Some(dkim(true, "SUCCESS", &[])));
        assert_eq!(pick(&enabled_no_keys, &domains), some("example.com", "t1"));
        // The domain itself signs with its first (active) key.
        assert_eq!(pick(&domain, &domains), some("example.com", "t1"));
    }

    /// d= is the domain whose configuration applies; a pending or disabled domain signs
    /// nothing; a subdomain without DKIM inherits its parent's.
    #[test]
    fn domain_rules() {
        let pending = ident("example.com", Some(dkim(true, "PENDING", &["t1"])));
        assert_eq!(pick(&pending, std::slice::from_ref(&pending)), None);
        // signing continues through TEMPORARY_FAILURE and stops at FAILED (revoked).
        let grace = ident(
            "example.com",
            Some(dkim(true, "TEMPORARY_FAILURE", &["t1"])),
        );
        assert_eq!(
            pick(&grace, std::slice::from_ref(&grace)),
            some("example.com", "t1")
        );
        let revoked = ident("example.com", Some(dkim(true, "FAILED", &["t1"])));
        assert_eq!(pick(&revoked, std::slice::from_ref(&revoked)), None);
        let off = ident("example.com", Some(dkim(false, "SUCCESS", &["t1"])));
        assert_eq!(pick(&off, std::slice::from_ref(&off)), None);
        let parent = ident("example.com", Some(dkim(true, "SUCCESS", &["p1"])));
        let sub = ident("mail.example.com", None);
        let domains = vec![sub.clone(), parent];
        assert_eq!(pick(&sub, &domains), some("example.com", "p1"));
        let addr = ident("x@mail.example.com", None);
        assert_eq!(pick(&addr, &domains), some("example.com", "p1"));
        // BYODKIM: the customer's selector.
        let byo = ident("byo.test", Some(dkim(true, "SUCCESS", &["sel2024"])));
        assert_eq!(pick(&byo, &[]), some("byo.test", "sel2024"));
        // No domain state at all: unsigned.
        assert_eq!(
            pick(&ident("a@nodkim.test", None), &[ident("nodkim.test", None)]),
            None
        );
    }
}
