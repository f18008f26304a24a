//! The send path's hot reads — account settings, *verified* identities, configuration sets and
//! their event destinations — kept for at most 1 s (DECISIONS Q-24: "no cache older than
//! 1 s"). Only the paths that read them once per message go through it (acceptance, delivery,
//! event dispatch); every read API (GetAccount, GetEmailIdentity, GetConfigurationSet, …) goes
//! to the store, so what a user reads back is always current. Writes through this engine drop
//! the entries they touch at once; changes made elsewhere (operator CLI, other nodes) reach
//! sends within [`TTL`]. Unverified or missing identities and missing configuration sets are
//! never cached, so verifying an identity or creating a set takes effect on the very next send.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sesame_model::Scope;

use crate::configuration_sets::ConfigurationSetRecord;
use crate::records::{AccountSettings, IdentityRecord};

pub const TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 50_000;

type ScopeKey = (String, String);

/// A map whose entries are read for at most [`TTL`] after they were put; cleared when it
/// grows past [`MAX_ENTRIES`] (entries are cheap to read again).
struct TtlMap<K, V>(Mutex<HashMap<K, (Instant, V)>>);

impl<K, V> Default for TtlMap<K, V> {
    fn default() -> Self {
        TtlMap(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, k: &K) -> Option<V> {
        self.lock()
            .get(k)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, k: K, v: V) {
        let mut m = self.lock();
        if m.len() > MAX_ENTRIES {
            m.clear();
        }
        m.insert(k, (Instant::now(), v));
    }

    fn remove(&self, k: &K) {
        self.lock().remove(k);
    }

    fn retain(&self, keep: impl Fn(&K) -> bool) {
        self.lock().retain(|k, _| keep(k));
    }
}

#[derive(Default)]
pub struct HotCache {
    settings: TtlMap<ScopeKey, AccountSettings>,
    identities: TtlMap<(ScopeKey, String), IdentityRecord>,
    /// Address → the verified identity that governs it, so a send from an address
    /// covered by its domain does not look up the (absent) address identity every time.
    resolutions: TtlMap<(ScopeKey, String), IdentityRecord>,
    /// Delivery: the DKIM signer chosen for (From identity, From domain) (`deliver::signing`),
    /// so each delivered message does not re-read the identity and its parent domains.
    /// (Delivery stores only signing decisions; the map can hold `None` for callers that want
    /// to remember "unsigned".)
    signers: TtlMap<(ScopeKey, String, String), Option<SignerChoice>>,
    /// Existing configuration sets by name.
    sets: TtlMap<(ScopeKey, String), ConfigurationSetRecord>,
    /// A set's event destinations (stored v2 `EventDestination` objects).
    destinations: TtlMap<(ScopeKey, String), Vec<serde_json::Value>>,
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
        self.settings.get(&sk(scope))
    }

    pub fn put_settings(&self, scope: &Scope, s: &AccountSettings) {
        self.settings.put(sk(scope), s.clone());
    }

    pub fn drop_settings(&self, scope: &Scope) {
        self.settings.remove(&sk(scope));
    }

    pub fn identity(&self, scope: &Scope, name: &str) -> Option<IdentityRecord> {
        self.identities.get(&(sk(scope), name.to_string()))
    }

    /// Keeps `rec` only if it is verified for sending (see the module docs).
    pub fn put_identity(&self, scope: &Scope, rec: &IdentityRecord) {
        if !crate::Engine::verified_for_sending(rec) {
            return;
        }
        self.identities
            .put((sk(scope), rec.identity.clone()), rec.clone());
    }

    pub fn drop_identity(&self, scope: &Scope, name: &str) {
        self.identities.remove(&(sk(scope), name.to_string()));
        // Any change to an identity may change which identity governs an address, and which
        // key signs.
        let key = sk(scope);
        self.resolutions.retain(|(k, _)| *k != key);
        self.signers.retain(|(k, _, _)| *k != key);
    }

    /// `Some(choice)` when a decision younger than [`TTL`] is cached (the choice itself may be
    /// `None`: unsigned).
    pub fn signer(
        &self,
        scope: &Scope,
        from_identity: &str,
        from_domain: &str,
    ) -> Option<Option<SignerChoice>> {
        self.signers.get(&(
            sk(scope),
            from_identity.to_string(),
            from_domain.to_string(),
        ))
    }

    pub fn put_signer(
        &self,
        scope: &Scope,
        from_identity: &str,
        from_domain: &str,
        choice: Option<SignerChoice>,
    ) {
        self.signers.put(
            (
                sk(scope),
                from_identity.to_string(),
                from_domain.to_string(),
            ),
            choice,
        );
    }

    pub fn resolution(&self, scope: &Scope, address: &str) -> Option<IdentityRecord> {
        self.resolutions.get(&(sk(scope), address.to_string()))
    }

    pub fn put_resolution(&self, scope: &Scope, address: &str, rec: &IdentityRecord) {
        self.resolutions
            .put((sk(scope), address.to_string()), rec.clone());
    }

    pub fn configuration_set(&self, scope: &Scope, name: &str) -> Option<ConfigurationSetRecord> {
        self.sets.get(&(sk(scope), name.to_string()))
    }

    pub fn put_configuration_set(&self, scope: &Scope, rec: &ConfigurationSetRecord) {
        self.sets.put((sk(scope), rec.name.clone()), rec.clone());
    }

    pub fn event_destinations(&self, scope: &Scope, set: &str) -> Option<Vec<serde_json::Value>> {
        self.destinations.get(&(sk(scope), set.to_string()))
    }

    pub fn put_event_destinations(
        &self,
        scope: &Scope,
        set: &str,
        destinations: &[serde_json::Value],
    ) {
        self.destinations
            .put((sk(scope), set.to_string()), destinations.to_vec());
    }

    /// Any change to the set or to its event destinations.
    pub fn drop_configuration_set(&self, scope: &Scope, name: &str) {
        let key = (sk(scope), name.to_string());
        self.sets.remove(&key);
        self.destinations.remove(&key);
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

    /// Sets and their destinations are kept until a change to the set drops both; entries older
    /// than the TTL are not read.
    #[test]
    fn configuration_sets_and_destinations_drop_together() {
        let cache = HotCache::default();
        let scope = crate::test_store::scope();
        let set = crate::Engine::new_configuration_set("marketing");
        cache.put_configuration_set(&scope, &set);
        cache.put_event_destinations(&scope, "marketing", &[serde_json::json!({"Name": "d"})]);
        assert_eq!(cache.configuration_set(&scope, "marketing"), Some(set));
        assert_eq!(
            cache.event_destinations(&scope, "marketing").unwrap().len(),
            1
        );
        assert!(cache.configuration_set(&scope, "other").is_none());
        cache.drop_configuration_set(&scope, "marketing");
        assert!(cache.configuration_set(&scope, "marketing").is_none());
        assert!(cache.event_destinations(&scope, "marketing").is_none());

        let old: TtlMap<u8, u8> = TtlMap::default();
        old.lock().insert(1, (Instant::now() - TTL, 1));
        assert_eq!(old.get(&1), None, "an entry as old as the TTL is not read");
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
