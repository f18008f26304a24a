//! The send path's hot reads — account settings and *verified* identities — kept for at most
//! 1 s (DECISIONS Q-24: "no cache older than 1 s"). Only the send pipeline reads through it;
//! every read API (GetAccount, GetEmailIdentity, …) goes to the store, so what a user reads
//! back is always current. Writes through this engine drop the entries they touch at once;
//! changes made elsewhere (operator CLI, other nodes) reach sends within [`TTL`]. Unverified
//! or missing identities are never cached, so verifying an identity takes effect on the very
//! next send.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sesame_model::Scope;

use crate::records::{AccountSettings, IdentityRecord};

pub const TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 50_000;

type ScopeKey = (String, String);
/// (scope, From identity, From domain) → when cached, the decision.
type SignerMap = HashMap<(ScopeKey, String, String), (Instant, Option<SignerChoice>)>;

#[derive(Default)]
pub struct HotCache {
    settings: Mutex<HashMap<ScopeKey, (Instant, AccountSettings)>>,
    identities: Mutex<HashMap<(ScopeKey, String), (Instant, IdentityRecord)>>,
    /// Address → the verified identity that governs it, so a send from an address
    /// covered by its domain does not look up the (absent) address identity every time.
    resolutions: Mutex<HashMap<(ScopeKey, String), (Instant, IdentityRecord)>>,
    /// Delivery: the DKIM signer chosen for (From identity, From domain) (`deliver::signing`),
    /// so each delivered message does not re-read the identity and its parent domains.
    /// (Delivery stores only signing decisions; the map can hold `None` for callers that want
    /// to remember "unsigned".)
    signers: Mutex<SignerMap>,
}

/// A cached signing decision: the identity that owns the key, `d=`, and the key.
#[derive(Clone, Debug, PartialEq)]
pub struct SignerChoice {
    pub owner: String,
    pub domain: String,
    pub key: crate::records::DkimKeyRecord,
}

fn sk(scope: &Scope) -> ScopeKey {
    (scope.account.to_string(), scope.region.to_string())
}

impl HotCache {
    pub fn settings(&self, scope: &Scope) -> Option<AccountSettings> {
        let m = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&sk(scope))
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, s)| s.clone())
    }

    pub fn put_settings(&self, scope: &Scope, s: &AccountSettings) {
        let mut m = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > MAX_ENTRIES {
            m.clear();
        }
        m.insert(sk(scope), (Instant::now(), s.clone()));
    }

    pub fn drop_settings(&self, scope: &Scope) {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&sk(scope));
    }

    pub fn identity(&self, scope: &Scope, name: &str) -> Option<IdentityRecord> {
        let m = self.identities.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&(sk(scope), name.to_string()))
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, r)| r.clone())
    }

    /// Keeps `rec` only if it is verified for sending (see the module docs).
    pub fn put_identity(&self, scope: &Scope, rec: &IdentityRecord) {
        if !crate::Engine::verified_for_sending(rec) {
            return;
        }
        let mut m = self.identities.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > MAX_ENTRIES {
            m.clear();
        }
        m.insert(
            (sk(scope), rec.identity.clone()),
            (Instant::now(), rec.clone()),
        );
    }

    pub fn drop_identity(&self, scope: &Scope, name: &str) {
        self.identities
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(sk(scope), name.to_string()));
        // Any change to an identity may change which identity governs an address, and which
        // key signs.
        let key = sk(scope);
        self.resolutions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(k, _), _| *k != key);
        self.signers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(k, _, _), _| *k != key);
    }

    /// `Some(choice)` when a decision younger than [`TTL`] is cached (the choice itself may be
    /// `None`: unsigned).
    pub fn signer(
        &self,
        scope: &Scope,
        from_identity: &str,
        from_domain: &str,
    ) -> Option<Option<SignerChoice>> {
        let m = self.signers.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&(
            sk(scope),
            from_identity.to_string(),
            from_domain.to_string(),
        ))
        .filter(|(at, _)| at.elapsed() < TTL)
        .map(|(_, c)| c.clone())
    }

    pub fn put_signer(
        &self,
        scope: &Scope,
        from_identity: &str,
        from_domain: &str,
        choice: Option<SignerChoice>,
    ) {
        let mut m = self.signers.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > MAX_ENTRIES {
            m.clear();
        }
        m.insert(
            (
                sk(scope),
                from_identity.to_string(),
                from_domain.to_string(),
            ),
            (Instant::now(), choice),
        );
    }

    pub fn resolution(&self, scope: &Scope, address: &str) -> Option<IdentityRecord> {
        let m = self.resolutions.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&(sk(scope), address.to_string()))
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, r)| r.clone())
    }

    pub fn put_resolution(&self, scope: &Scope, address: &str, rec: &IdentityRecord) {
        let mut m = self.resolutions.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > MAX_ENTRIES {
            m.clear();
        }
        m.insert(
            (sk(scope), address.to_string()),
            (Instant::now(), rec.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::status;

    /// Delivery's signer decisions: "unsigned" is cached too; any identity change in the scope
    /// drops them at once; other scopes keep theirs.
    #[test]
    fn signer_decisions_are_dropped_with_any_identity_change() {
        let cache = HotCache::default();
        let a = Scope::new(
            "111111111111".parse().unwrap(),
            "us-east-1".parse().unwrap(),
        );
        let b = Scope::new(
            "222222222222".parse().unwrap(),
            "us-east-1".parse().unwrap(),
        );
        assert_eq!(cache.signer(&a, "x@example.com", "example.com"), None);
        cache.put_signer(&a, "x@example.com", "example.com", None);
        assert_eq!(
            cache.signer(&a, "x@example.com", "example.com"),
            Some(None),
            "unsigned is a cached decision"
        );
        let choice = SignerChoice {
            owner: "example.org".into(),
            domain: "example.org".into(),
            key: crate::records::DkimKeyRecord {
                selector: "t1".into(),
                private_key_sealed: "s".into(),
                public_key: "p".into(),
                bits: 2048,
            },
        };
        cache.put_signer(&b, "example.org", "example.org", Some(choice.clone()));
        cache.drop_identity(&a, "example.com");
        assert_eq!(cache.signer(&a, "x@example.com", "example.com"), None);
        assert_eq!(
            cache.signer(&b, "example.org", "example.org"),
            Some(Some(choice))
        );
    }

    /// Only verified identities are kept; a drop applies at once.
    #[test]
    fn verified_identities_only() {
        let cache = HotCache::default();
        let scope = crate::test_store::scope();
        let mut rec = crate::Engine::new_identity("example.com");
        cache.put_identity(&scope, &rec);
        assert!(
            cache.identity(&scope, "example.com").is_none(),
            "PENDING is never cached"
        );
        rec.verification_status = status::SUCCESS.into();
        cache.put_identity(&scope, &rec);
        assert_eq!(cache.identity(&scope, "example.com"), Some(rec.clone()));
        cache.put_resolution(&scope, "a@example.com", &rec);
        assert!(cache.resolution(&scope, "a@example.com").is_some());
        cache.drop_identity(&scope, "example.com");
        assert!(cache.identity(&scope, "example.com").is_none());
        assert!(
            cache.resolution(&scope, "a@example.com").is_none(),
            "resolutions follow identity changes"
        );
    }
}
