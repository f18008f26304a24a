//! Easy DKIM key rotation behind the stable CNAMEs (DECISIONS; spec D-71, D-72, D-77).
//!
//! The three tokens of a domain never change (the customer's CNAMEs stay valid); the *keys*
//! behind them do. The order of `DkimState::keys` is the role of each key:
//!
//! | index | role | published | signs |
//! |---|---|---|---|
//! | 0 | active | yes | yes (`deliver::signing` picks `keys[0]`) |
//! | 1 | next | yes, since the previous rotation | no |
//! | 2 | previous | yes, for mail still in transit | no |
//!
//! A rotation turns `[active, next, previous]` into `[next, fresh, active]`: the next key (already
//! published for a whole period, Q-92's "≥ 48 h before use") starts signing, the old active key
//! stays published as the previous one for a whole period (Q-92's "≥ 7 days"), and a fresh key
//! of `NextSigningKeyLength` (D-72: a changed length applies at the next key generation) replaces
//! the old previous key under its token and becomes the next one. No message is ever unsigned or
//! unverifiable: every key that signed in the last period is still in DNS (the zone reads the
//! store, Q-65), and the key that starts signing has been there for a period.
//!
//! Several nodes run the job: the write is a compare-and-swap on the identity's version, and
//! the "is it due" test is made again on the record being replaced, so a rotation another node
//! just did is seen (its new `last_key_generation` is not due) and never repeated.

use sesame_mail::dkim::{self, KeyLength};
use sesame_model::{Scope, StoreError};

use crate::identities::normalize_identity;
use crate::records::{DkimKeyRecord, DkimState, IdentityRecord};
use crate::{Engine, EngineError};

/// Whether `d` is Easy DKIM with three keys and its last generation is `period_ms` old.
/// `period_ms = 0` means "now" (the operator's `sesame identity dkim-rotate`).
pub fn due(d: &DkimState, now_ms: i64, period_ms: i64) -> bool {
    rotatable(d)
        && d.last_key_generation
            .is_none_or(|t| now_ms.saturating_sub(t) >= period_ms)
}

/// Easy DKIM with its three keys (BYODKIM keys belong to the customer, D-80).
pub fn rotatable(d: &DkimState) -> bool {
    d.origin == "AWS_SES" && d.keys.len() == 3
}

/// Applies one rotation with `fresh`, the new key for the token of the previous slot.
pub fn rotate(d: &mut DkimState, fresh: DkimKeyRecord, now_ms: i64) {
    let mut keys = std::mem::take(&mut d.keys);
    let previous_slot = keys.pop().expect("three keys");
    debug_assert_eq!(previous_slot.selector, fresh.selector);
    let active = keys.remove(0);
    let next = keys.remove(0);
    d.current_key_length = Some(length_name(next.bits).into());
    d.keys = vec![next, fresh, active];
    d.last_key_generation = Some(now_ms);
}

fn length_name(bits: usize) -> &'static str {
    if bits > 1024 {
        "RSA_2048_BIT"
    } else {
        "RSA_1024_BIT"
    }
}

/// A key prepared for one identity's rotation (generated before the compare-and-swap, since
/// RSA generation is slow and must not run inside a retry loop).
#[derive(Clone, Debug)]
pub struct PreparedKey {
    pub identity: String,
    pub key: DkimKeyRecord,
}

impl Engine {
    /// Generates the fresh key a rotation of `rec` would publish: for the token of the previous
    /// slot, of `NextSigningKeyLength`. `None` when `rec` has no Easy DKIM state with three
    /// keys. CPU-heavy: callers on an async runtime run it on a blocking thread.
    pub fn prepare_dkim_rotation(
        &self,
        scope: &Scope,
        rec: &IdentityRecord,
    ) -> Result<Option<PreparedKey>, EngineError> {
        let Some(d) = rec.dkim.as_ref().filter(|d| rotatable(d)) else {
            return Ok(None);
        };
        let length = d
            .next_key_length
            .as_deref()
            .and_then(KeyLength::from_wire)
            .unwrap_or(KeyLength::Rsa2048);
        let token = d.keys[2].selector.clone();
        let k = dkim::generate_key(length).map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(Some(PreparedKey {
            identity: rec.identity.clone(),
            key: DkimKeyRecord {
                private_key_sealed: self.seal_dkim(
                    scope,
                    &rec.identity,
                    &token,
                    &k.private_pkcs8_b64,
                ),
                selector: token,
                public_key: k.public_b64,
                bits: k.bits,
            },
        }))
    }

    /// Rotates the identity's Easy DKIM keys with `prepared` if the rotation is (still) due
    /// after `period_ms` and the previous slot still holds `prepared`'s token. Returns whether
    /// this call rotated; `false` when another node did it first, or nothing is due.
    pub async fn apply_dkim_rotation(
        &self,
        scope: &Scope,
        prepared: PreparedKey,
        period_ms: i64,
        now_ms: i64,
    ) -> Result<bool, EngineError> {
        let name = normalize_identity(&prepared.identity)?;
        let key = Self::identity_key(scope, &name);
        loop {
            let Some(current) = self.store.get_resource(&key).await? else {
                return Ok(false);
            };
            let mut rec: IdentityRecord = serde_json::from_value(current.data)
                .map_err(|e| EngineError::Internal(format!("corrupt identity: {e}")))?;
            let Some(d) = rec.dkim.as_mut() else {
                return Ok(false);
            };
            if !due(d, now_ms, period_ms) || d.keys[2].selector != prepared.key.selector {
                return Ok(false);
            }
            rotate(d, prepared.key.clone(), now_ms);
            let data = serde_json::to_value(&rec).expect("identity serialises");
            match self
                .store
                .update_resource(&key, &data, current.version)
                .await
            {
                Ok(_) => {
                    self.hot.drop_identity(scope, &name);
                    return Ok(true);
                }
                // Someone else wrote the identity: look again (it may not be due any more).
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::status;
    use crate::test_store::{engine, scope};

    fn k(sel: &str, bits: usize) -> DkimKeyRecord {
        DkimKeyRecord {
            selector: sel.into(),
            private_key_sealed: String::new(),
            public_key: format!("pub-{sel}-{bits}"),
            bits,
        }
    }

    fn state() -> DkimState {
        DkimState {
            signing_enabled: true,
            status: status::SUCCESS.into(),
            origin: "AWS_SES".into(),
            tokens: vec!["t1".into(), "t2".into(), "t3".into()],
            keys: vec![k("t1", 2048), k("t2", 2048), k("t3", 2048)],
            current_key_length: Some("RSA_2048_BIT".into()),
            next_key_length: Some("RSA_1024_BIT".into()),
            last_key_generation: Some(1_000),
            key_length_changes: vec![],
        }
    }

    /// roles move active→previous, next→active, previous slot→fresh next; tokens stay.
    #[test]
    fn rotation_moves_roles_behind_stable_tokens() {
        let mut d = state();
        assert!(!due(&d, 1_500, 1_000));
        assert!(due(&d, 2_000, 1_000));
        rotate(&mut d, k("t3", 1024), 2_000);
        let sel: Vec<&str> = d.keys.iter().map(|k| k.selector.as_str()).collect();
        assert_eq!(sel, ["t2", "t3", "t1"]);
        assert_eq!(d.tokens, ["t1", "t2", "t3"], "CNAMEs never change");
        assert_eq!(
            d.keys[1].bits, 1024,
            "D-72: NextSigningKeyLength at generation"
        );
        assert_eq!(d.current_key_length.as_deref(), Some("RSA_2048_BIT"));
        assert_eq!(d.last_key_generation, Some(2_000));
        // The 1024-bit key signs one rotation later.
        rotate(&mut d, k("t1", 1024), 3_000);
        let sel: Vec<&str> = d.keys.iter().map(|k| k.selector.as_str()).collect();
        assert_eq!(sel, ["t3", "t1", "t2"]);
        assert_eq!(d.current_key_length.as_deref(), Some("RSA_1024_BIT"));
        // BYODKIM is never rotated by us (the customer owns the key, D-80).
        let mut byo = state();
        byo.origin = "EXTERNAL".into();
        assert!(!due(&byo, i64::MAX, 0));
    }

    /// two nodes racing rotate once; the loser sees a fresh record and does nothing.
    #[tokio::test]
    async fn concurrent_rotations_rotate_once() {
        let engine = engine();
        let scope = scope();
        let mut rec = Engine::new_identity("example.com");
        rec.dkim = Some(state());
        engine.insert_identity(&scope, rec).await.unwrap();
        let a = PreparedKey {
            identity: "example.com".into(),
            key: k("t3", 2048),
        };
        let mut b = a.clone();
        b.key.public_key = "other-node".into();
        let (ra, rb) = tokio::join!(
            engine.apply_dkim_rotation(&scope, a, 1_000, 5_000),
            engine.apply_dkim_rotation(&scope, b, 1_000, 5_001),
        );
        assert_eq!((ra.unwrap(), rb.unwrap()), (true, false));
        let d = engine
            .require_identity(&scope, "example.com")
            .await
            .unwrap()
            .dkim
            .unwrap();
        assert_eq!(d.keys[1].public_key, "pub-t3-2048");
        assert_eq!(d.last_key_generation, Some(5_000));
        // Not due again right after.
        let c = PreparedKey {
            identity: "example.com".into(),
            key: k("t1", 2048),
        };
        assert!(!engine
            .apply_dkim_rotation(&scope, c, 1_000, 5_500)
            .await
            .unwrap());
    }
}
