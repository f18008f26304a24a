//! The account-level suppression list (spec F-135..F-153; DECISIONS ).
//!
//! One resource of kind `suppressed-destination` per address, named by the address with its
//! domain lower-cased (Q-190: "stored case-insensitively on the domain part"; the local part
//! keeps its case, as RFC 5321 §2.4 leaves it to the receiving host). Entries never expire
//! (F-141, Q-264) and the list has no size limit (F-148). Listing is in byte order of that
//! name, which makes the pagination cursor simply the last name returned.

use serde::{Deserialize, Serialize};
use sesame_model::{ResourceKey, Scope};

use crate::records::kind;
use crate::{now_ms, Engine, EngineError};

/// `SuppressionListReason` values (F-148).
pub mod reason {
    pub const BOUNCE: &str = "BOUNCE";
    pub const COMPLAINT: &str = "COMPLAINT";
}

/// Largest `PageSize` of `ListSuppressedDestinations`, also the default (Q-13: the model gives
/// none; the seed pages by 1,000, F-152).
pub const MAX_PAGE_SIZE: usize = 1000;

/// The feedback that added an entry automatically (F-151, `SuppressedDestinationAttributes`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionAttributes {
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub feedback_id: Option<String>,
}

/// A suppressed address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionRecord {
    /// The normalised address (also the resource name).
    pub email_address: String,
    /// `BOUNCE` or `COMPLAINT`.
    pub reason: String,
    /// Unix milliseconds of the last put (Q-190: a put on an existing entry updates it).
    pub last_update_time: i64,
    /// Only for entries added from a bounce or complaint.
    #[serde(default)]
    pub attributes: Option<SuppressionAttributes>,
}

/// an address with its domain lower-cased. `BadRequest` for anything that is not a
/// plausible `local@domain` address.
pub fn normalize_address(address: &str) -> Result<String, EngineError> {
    let bad = || EngineError::BadRequest(format!("Invalid email address {address}."));
    let address = address.trim();
    if !address.contains('@') {
        return Err(bad());
    }
    let checked = crate::identities::normalize_identity(address).map_err(|_| bad())?;
    let (local, domain) = checked.rsplit_once('@').ok_or_else(bad)?;
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

pub fn validate_reason(r: &str) -> Result<(), EngineError> {
    match r {
        reason::BOUNCE | reason::COMPLAINT => Ok(()),
        other => Err(EngineError::BadRequest(format!(
            "Invalid suppression reason {other}: must be BOUNCE or COMPLAINT."
        ))),
    }
}

/// The `ListSuppressedDestinations` filter (F-152): reasons (empty = all), and an inclusive
/// window on `LastUpdateTime` in Unix milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SuppressionFilter {
    /// Sorted and de-duplicated, so equal filters give equal tokens.
    reasons: Vec<String>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
}

impl SuppressionFilter {
    /// `BadRequest` for an unknown reason or a `StartDate` after the `EndDate`.
    pub fn new(
        reasons: Vec<String>,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
    ) -> Result<Self, EngineError> {
        let mut reasons = reasons;
        for r in &reasons {
            validate_reason(r)?;
        }
        reasons.sort();
        reasons.dedup();
        if let (Some(s), Some(e)) = (start_ms, end_ms) {
            if s > e {
                return Err(EngineError::BadRequest(
                    "StartDate must not be later than EndDate.".into(),
                ));
            }
        }
        Ok(SuppressionFilter {
            reasons,
            start_ms,
            end_ms,
        })
    }

    pub fn matches(&self, rec: &SuppressionRecord) -> bool {
        (self.reasons.is_empty() || self.reasons.contains(&rec.reason))
            && self.start_ms.is_none_or(|s| rec.last_update_time >= s)
            && self.end_ms.is_none_or(|e| rec.last_update_time <= e)
    }

    /// Canonical text of the filter, to bind pagination tokens to it.
    pub fn token_key(&self) -> String {
        let t = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "{}|{}|{}",
            self.reasons.join(","),
            t(self.start_ms),
            t(self.end_ms)
        )
    }
}

fn not_found(address: &str) -> EngineError {
    EngineError::NotFound(format!(
        "Email address {address} does not exist on your suppression list."
    ))
}

fn corrupt(e: serde_json::Error) -> EngineError {
    EngineError::Internal(format!("corrupt suppression entry: {e}"))
}

impl Engine {
    fn suppression_key(scope: &Scope, address: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::SUPPRESSED_DESTINATION, address)
    }

    /// v2 `PutSuppressedDestination`: adds the address or, when listed, replaces its reason and
    /// update time (Q-190 upsert; the entry no longer points at a feedback event). Refused in
    /// the sandbox (F-144, Q-190).
    pub async fn put_suppressed_destination(
        &self,
        scope: &Scope,
        address: &str,
        reason: &str,
    ) -> Result<SuppressionRecord, EngineError> {
        validate_reason(reason)?;
        let address = normalize_address(address)?;
        if !self.account_settings(scope).await?.production_access {
            return Err(EngineError::BadRequest(
                "Adding addresses to the suppression list is not allowed while the account is in the sandbox.".into(),
            ));
        }
        self.upsert_suppressed(scope, address, reason, None).await
    }

    /// Adds an address because of a bounce or complaint (F-145, F-151, Q-191); callers decide
    /// whether the reason is enabled. Allowed in the sandbox.
    pub async fn suppress_from_feedback(
        &self,
        scope: &Scope,
        address: &str,
        reason: &str,
        attributes: SuppressionAttributes,
    ) -> Result<SuppressionRecord, EngineError> {
        validate_reason(reason)?;
        let address = normalize_address(address)?;
        self.upsert_suppressed(scope, address, reason, Some(attributes))
            .await
    }

    async fn upsert_suppressed(
        &self,
        scope: &Scope,
        address: String,
        reason: &str,
        attributes: Option<SuppressionAttributes>,
    ) -> Result<SuppressionRecord, EngineError> {
        let rec = SuppressionRecord {
            email_address: address,
            reason: reason.to_string(),
            last_update_time: now_ms(),
            attributes,
        };
        let data = serde_json::to_value(&rec).expect("record serialises");
        self.store
            .upsert_resource(&Self::suppression_key(scope, &rec.email_address), &data)
            .await?;
        Ok(rec)
    }

    /// `NotFound` when the address is not listed (F-151). A malformed address cannot be listed,
    /// so it is reported as not found too.
    pub async fn get_suppressed_destination(
        &self,
        scope: &Scope,
        address: &str,
    ) -> Result<SuppressionRecord, EngineError> {
        let name = normalize_address(address).map_err(|_| not_found(address))?;
        let r = self
            .store
            .get_resource(&Self::suppression_key(scope, &name))
            .await?
            .ok_or_else(|| not_found(address))?;
        serde_json::from_value(r.data).map_err(corrupt)
    }

    /// `NotFound` when the address is not listed (F-153).
    pub async fn delete_suppressed_destination(
        &self,
        scope: &Scope,
        address: &str,
    ) -> Result<(), EngineError> {
        let name = normalize_address(address).map_err(|_| not_found(address))?;
        if self
            .store
            .delete_resource(&Self::suppression_key(scope, &name))
            .await?
        {
            Ok(())
        } else {
            Err(not_found(address))
        }
    }

    /// Entries matching `filter`, in address order, after the address `after`, at most `limit`;
    /// the second value is the address to resume after when more may match.
    pub async fn list_suppressed_destinations(
        &self,
        scope: &Scope,
        filter: &SuppressionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<SuppressionRecord>, Option<String>), EngineError> {
        const BATCH: usize = 1000;
        let mut out = Vec::new();
        let mut cursor = after.map(str::to_string);
        loop {
            let rows = self
                .store
                .list_resources(
                    scope,
                    kind::SUPPRESSED_DESTINATION,
                    "",
                    cursor.as_deref(),
                    BATCH,
                )
                .await?;
            let exhausted = rows.len() < BATCH;
            for r in rows {
                cursor = Some(r.key.name.clone());
                let rec: SuppressionRecord = serde_json::from_value(r.data).map_err(corrupt)?;
                if !filter.matches(&rec) {
                    continue;
                }
                if out.len() == limit {
                    // One more match exists: the page is full and a next page is certain.
                    let next = out
                        .last()
                        .map(|r: &SuppressionRecord| r.email_address.clone());
                    return Ok((out, next));
                }
                out.push(rec);
            }
            if exhausted {
                return Ok((out, None));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_store::{engine, scope};

    /// the domain is case-insensitive, the local part keeps its case.
    #[test]
    fn address_normalisation() {
        for (input, out) in [
            ("x@example.com", Some("x@example.com")),
            ("X.Y@Example.COM", Some("X.Y@example.com")),
            (" a@b.example ", Some("a@b.example")),
            ("example.com", None),
            ("@example.com", None),
            ("a@", None),
            ("a b@example.com", None),
            ("", None),
        ] {
            assert_eq!(normalize_address(input).ok().as_deref(), out, "{input:?}");
        }
    }

    #[test]
    fn filter_rules() {
        assert!(SuppressionFilter::new(vec!["BOUNCE".into()], None, None).is_ok());
        assert!(SuppressionFilter::new(vec!["bounce".into()], None, None).is_err());
        assert!(SuppressionFilter::new(vec![], Some(2), Some(1)).is_err());
        let a = SuppressionFilter::new(vec!["COMPLAINT".into(), "BOUNCE".into()], None, None);
        let b = SuppressionFilter::new(
            vec!["BOUNCE".into(), "COMPLAINT".into(), "BOUNCE".into()],
            None,
            None,
        );
        assert_eq!(a.unwrap().token_key(), b.unwrap().token_key());

        let rec = |reason: &str, t| SuppressionRecord {
            email_address: "a@b.c".into(),
            reason: reason.into(),
            last_update_time: t,
            attributes: None,
        };
        let f = SuppressionFilter::new(vec!["BOUNCE".into()], Some(100), Some(200)).unwrap();
        for (r, ok) in [
            (rec("BOUNCE", 100), true),
            (rec("BOUNCE", 150), true),
            (rec("BOUNCE", 200), true),
            (rec("BOUNCE", 99), false),
            (rec("BOUNCE", 201), false),
            (rec("COMPLAINT", 150), false),
        ] {
            assert_eq!(f.matches(&r), ok, "{r:?}");
        }
    }

    /// put is an upsert; get/delete of an absent address is `NotFound`; a bad reason is
    /// `BadRequest`.
    #[tokio::test]
    async fn put_get_delete() {
        let e = engine();
        let s = scope();
        let first = e
            .put_suppressed_destination(&s, "Ana@Example.com", "BOUNCE")
            .await
            .unwrap();
        assert_eq!(first.email_address, "Ana@example.com");
        let again = e
            .put_suppressed_destination(&s, "Ana@EXAMPLE.com", "COMPLAINT")
            .await
            .unwrap();
        assert!(again.last_update_time >= first.last_update_time);
        let got = e
            .get_suppressed_destination(&s, "Ana@example.COM")
            .await
            .unwrap();
        assert_eq!(got.reason, "COMPLAINT");
        assert!(matches!(
            e.put_suppressed_destination(&s, "b@example.com", "SPAM")
                .await,
            Err(EngineError::BadRequest(_))
        ));
        e.delete_suppressed_destination(&s, "ana@example.com")
            .await
            .expect_err("the local part is case-sensitive");
        e.delete_suppressed_destination(&s, "Ana@example.com")
            .await
            .unwrap();
        assert!(matches!(
            e.get_suppressed_destination(&s, "Ana@example.com").await,
            Err(EngineError::NotFound(_))
        ));
        assert!(matches!(
            e.delete_suppressed_destination(&s, "Ana@example.com").await,
            Err(EngineError::NotFound(_))
        ));
    }

    /// F-144 / Q-190: the sandbox refuses manual puts but not feedback-driven additions.
    #[tokio::test]
    async fn sandbox_refuses_put() {
        let e = engine();
        let s = scope();
        e.update_account_settings(&s, |a| {
            a.production_access = false;
            Ok(())
        })
        .await
        .unwrap();
        assert!(matches!(
            e.put_suppressed_destination(&s, "a@example.com", "BOUNCE")
                .await,
            Err(EngineError::BadRequest(_))
        ));
        let attrs = SuppressionAttributes {
            message_id: Some("m-1".into()),
            feedback_id: Some("f-1".into()),
        };
        e.suppress_from_feedback(&s, "a@example.com", "BOUNCE", attrs.clone())
            .await
            .unwrap();
        let got = e
            .get_suppressed_destination(&s, "a@example.com")
            .await
            .unwrap();
        assert_eq!(got.attributes, Some(attrs));
    }

    /// F-152: filters by reason and date window, pages in address order across store batches.
    #[tokio::test]
    async fn list_filters_and_pages() {
        let e = engine();
        let s = scope();
        // 2,500 entries so the scan crosses store batches; every third one is a complaint and
        // entries get increasing update times.
        for i in 0..2500i64 {
            let reason = if i % 3 == 0 { "COMPLAINT" } else { "BOUNCE" };
            let rec = SuppressionRecord {
                email_address: format!("u{i:05}@example.com"),
                reason: reason.into(),
                last_update_time: 1_000 + i,
                attributes: None,
            };
            e.store
                .upsert_resource(
                    &Engine::suppression_key(&s, &rec.email_address),
                    &serde_json::to_value(&rec).unwrap(),
                )
                .await
                .unwrap();
        }
        let all = SuppressionFilter::default();
        let (page, next) = e
            .list_suppressed_destinations(&s, &all, None, 1000)
            .await
            .unwrap();
        assert_eq!(page.len(), 1000);
        assert_eq!(next.as_deref(), Some("u00999@example.com"));

        // Complaints only, in a window: i in 1500..=2400 with i % 3 == 0 → 301 entries.
        let f = SuppressionFilter::new(vec!["COMPLAINT".into()], Some(2_500), Some(3_400)).unwrap();
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (page, next) = e
                .list_suppressed_destinations(&s, &f, after.as_deref(), 100)
                .await
                .unwrap();
            assert!(page.len() <= 100);
            seen.extend(page.into_iter().map(|r| r.email_address));
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(seen.len(), 301);
        assert_eq!(seen.first().unwrap(), "u01500@example.com");
        assert_eq!(seen.last().unwrap(), "u02400@example.com");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted);

        // An exact fit reports no next page.
        let (page, next) = e
            .list_suppressed_destinations(&s, &f, None, 301)
            .await
            .unwrap();
        assert_eq!((page.len(), next), (301, None));
    }
}
