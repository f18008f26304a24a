//! Open and click tracking (spec G-62..G-71, E-130..E-140, M-14; DECISIONS Q-70, Q-97,
//! Q-227..Q-234): the decision to track, the signed tracking URLs, and the `Open`/`Click`
//! events recorded when they are fetched. The HTML rewriting itself is pure
//! (`sesame_mail::tracking`); the HTTP endpoints are `sesame-api`'s `tracking` module.
//!
//! **When** (G-62, Q-227): the message has a configuration set with an enabled event
//! destination whose `MatchingEventTypes` has `OPEN` (→ the pixel) or `CLICK` (→ links
//! rewritten), or VDM engagement tracking is effective ([`vdm_engagement`]: both). VDM only
//! decides tracking; which destinations publish the events is still their `MatchingEventTypes`. Delivery applies it after the spool and before DKIM signing (Q-96), so the
//! signature covers the final bytes; customer-signed and signed/encrypted messages are never
//! modified (Q-97).
//!
//! **Tokens** (Q-228, M-14): self-contained, `base64url(payload) "." base64url(HMAC-SHA256(key,
//! label ‖ payload))` with the instance key, payload
//! `{"a":account,"r":region,"m":messageId,"d":recipient,"t":sent_ms,"k":"o"|"c","i":index,
//! "u":url,"g":[[tagKey,tagValue],…]}`. The recipient is set only for one-recipient messages
//! (Q-231: one body per message, so several recipients share links). The original URL is
//! inside the signed payload: a click can only ever redirect to a URL this instance put in a
//! message, so the endpoint is no open redirect, and a changed byte anywhere is a 400.
//! Redirects keep working forever; events are recorded only within 60 days of the send
//! (G-70) and while the message log still has the message (its `mail` object; the log keeps
//! 30 days).
//!
//! **URLs**: `<base>/track/open/<token>` (1×1 GIF) and `<base>/track/click/<token>` (302).
//! `<base>` is, in this order:
//! 1. the set's `CustomRedirectDomain` (G-71), with the scheme from `HttpsPolicy` (E-137):
//!    `OPTIONAL`/absent → opens `http`, clicks keep the link's scheme (G-68); `REQUIRE` → both
//!    `https`; `REQUIRE_OPEN_ONLY` → opens `https`, clicks keep the link's scheme;
//! 2. the operator's `tracking_base_url` (verbatim; `serve --dev` sets it to the API listener);
//! 3. the default host `r.<region>.<service_domain>` (Q-70): opens `https` (E-137), clicks
//!    keep the link's scheme unless the set's `HttpsPolicy` (without a domain, Q-232) is
//!    `REQUIRE`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sesame_events::{event_types, ClickInfo, MailInfo, OpenInfo};
use sesame_mail::tracking::{LinkTag, TrackingUrls};
use sesame_model::{AccountId, Region, Scope};

use crate::configuration_sets::ConfigurationSetRecord;
use crate::send::events::record;
use crate::{Engine, EngineError};

/// Path prefix of the open pixel on the API listener (no SES route starts with `/track/`).
pub const OPEN_PATH: &str = "/track/open/";
/// Path prefix of click redirects.
pub const CLICK_PATH: &str = "/track/click/";
/// G-70: opens and clicks are collected for 60 days after the send.
pub const COLLECTION_WINDOW_MS: i64 = 60 * 24 * 3600 * 1000;

/// `tracking_base_url` and `tracking_trust_forwarded_for` (`sesame_config`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackingSettings {
    /// Scheme, host and optional path prefix of tracking URLs when the configuration set has
    /// no custom redirect domain; `None`: `r.<region>.<service_domain>`.
    pub base_url: Option<String>,
    /// Take the client address of Open/Click events from the first `X-Forwarded-For` entry
    /// (only behind a proxy that sets it); otherwise the connection's peer address.
    pub trust_forwarded_for: bool,
}

/// What the message's configuration set asks for (G-62, Q-227).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackingPlan {
    pub open: bool,
    pub click: bool,
}

/// The signed payload of a tracking URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingToken {
    pub a: String,
    pub r: String,
    pub m: String,
    /// The recipient for one-recipient messages, else empty (Q-231).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub d: String,
    /// When the message was sent (Unix ms), for the 60-day window.
    pub t: i64,
    /// `o` (open) or `c` (click).
    pub k: String,
    #[serde(default)]
    pub i: usize,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub u: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub g: Vec<(String, String)>,
}

/// Who fetched a tracking URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    pub ip_address: String,
    pub user_agent: String,
    pub at_ms: i64,
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether an event destination publishes `event_type` (v2 spelling): enabled (the default)
/// and listed in `MatchingEventTypes`.
fn publishes(dest: &Value, event_type: &str) -> bool {
    dest.get("Enabled").and_then(Value::as_bool).unwrap_or(true)
        && dest
            .get("MatchingEventTypes")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|v| v.as_str() == Some(event_type)))
}

/// The plan from a set's event destinations (G-62, G-65: leaving `CLICK` out turns click
/// tracking off; leaving `OPEN` out sends no pixel).
pub fn plan_for(destinations: &[Value]) -> TrackingPlan {
    TrackingPlan {
        open: destinations.iter().any(|d| publishes(d, "OPEN")),
        click: destinations.iter().any(|d| publishes(d, "CLICK")),
    }
}

/// Q-227 (b), F-67, F-121: Virtual Deliverability Manager engagement tracking is effective
/// when the account's `VdmAttributes.VdmEnabled` is `ENABLED` and engagement metrics are
/// `ENABLED` — the set's `VdmOptions.DashboardOptions.EngagementMetrics` when it has one,
/// else the account's `DashboardAttributes.EngagementMetrics`.
pub fn vdm_engagement(account_vdm: Option<&Value>, set_vdm: Option<&Value>) -> bool {
    let enabled = |v: Option<&Value>| v.and_then(Value::as_str) == Some("ENABLED");
    let Some(account) = account_vdm else {
        return false;
    };
    if !enabled(account.get("VdmEnabled")) {
        return false;
    }
    let set_choice = set_vdm
        .and_then(|s| s.get("DashboardOptions"))
        .and_then(|d| d.get("EngagementMetrics"));
    match set_choice {
        Some(v) => enabled(Some(v)),
        None => enabled(
            account
                .get("DashboardAttributes")
                .and_then(|d| d.get("EngagementMetrics")),
        ),
    }
}

/// The URLs of one message, signed with the engine's key.
pub struct MessageUrls<'a> {
    engine: &'a Engine,
    plan: TrackingPlan,
    scope: &'a Scope,
    message_id: &'a str,
    recipient: String,
    sent_ms: i64,
    set: Option<&'a ConfigurationSetRecord>,
}

impl MessageUrls<'_> {
    fn base(&self, open: bool, link_https: bool) -> String {
        let policy = self
            .set
            .and_then(|s| s.tracking_options.as_ref())
            .and_then(|o| o.get("HttpsPolicy"))
            .and_then(Value::as_str)
            .unwrap_or("OPTIONAL");
        if let Some(domain) = self.set.and_then(|s| s.custom_redirect_domain()) {
            let https = match (policy, open) {
                ("REQUIRE", _) => true,
                ("REQUIRE_OPEN_ONLY", true) => true,
                (_, true) => false,
                (_, false) => link_https,
            };
            let scheme = if https { "https" } else { "http" };
            return format!("{scheme}://{}", domain.trim_end_matches('.'));
        }
        if let Some(base) = &self.engine.settings.tracking.base_url {
            return base.trim_end_matches('/').to_string();
        }
        let scheme = if open || link_https || policy == "REQUIRE" {
            "https"
        } else {
            "http"
        };
        format!(
            "{scheme}://{}",
            tracking_host(
                self.scope.region.as_str(),
                &self.engine.settings.service_domain
            )
        )
    }

    fn token(&self, kind: &str, index: usize, url: &str, tags: &[LinkTag]) -> String {
        self.engine.tracking_token(&TrackingToken {
            a: self.scope.account.to_string(),
            r: self.scope.region.to_string(),
            m: self.message_id.to_string(),
            d: self.recipient.clone(),
            t: self.sent_ms,
            k: kind.to_string(),
            i: index,
            u: url.to_string(),
            g: tags.to_vec(),
        })
    }
}

impl TrackingUrls for MessageUrls<'_> {
    fn open_url(&self) -> Option<String> {
        self.plan.open.then(|| {
            format!(
                "{}{OPEN_PATH}{}",
                self.base(true, false),
                self.token("o", 0, "", &[])
            )
        })
    }

    fn click_url(&self, index: usize, url: &str, tags: &[LinkTag]) -> Option<String> {
        if !self.plan.click {
            return None;
        }
        // Q-230: our own tracking URLs are never wrapped again; Q-233: nor our unsubscribe
        // URLs (their one-click POST must reach the endpoint directly).
        if url.contains(CLICK_PATH)
            || url.contains(OPEN_PATH)
            || self.engine.is_unsubscribe_url(self.scope, url)
        {
            return None;
        }
        let https = url.len() > 8 && url[..8].eq_ignore_ascii_case("https://");
        Some(format!(
            "{}{CLICK_PATH}{}",
            self.base(false, https),
            self.token("c", index, url, tags)
        ))
    }
}

/// Q-70: the default tracking host of a region.
pub fn tracking_host(region: &str, service_domain: &str) -> String {
    format!("r.{region}.{service_domain}")
}

/// The MAC label of tracking tokens (domain separation from other signed URLs).
const TRACKING_LABEL: &[u8] = b"sesame-tracking\0";

impl Engine {
    fn url_mac(&self, label: &[u8], payload: &[u8]) -> [u8; 32] {
        let mut data = Vec::with_capacity(payload.len() + label.len());
        data.extend_from_slice(label);
        data.extend_from_slice(payload);
        sesame_sigv4::secrets::hmac_sha256(&self.mac_key[..], &data)
    }

    /// `base64url(payload) "." base64url(HMAC-SHA256(instance key, label ‖ payload))`: the
    /// self-contained signed blob of the URLs this instance puts in messages (tracking, and
    /// the unsubscribe links of `contacts::unsubscribe`); `label` keeps the kinds apart.
    pub(crate) fn sign_url_blob(&self, label: &[u8], payload: &[u8]) -> String {
        format!(
            "{}.{}",
            B64.encode(payload),
            B64.encode(self.url_mac(label, payload))
        )
    }

    /// The payload of a blob made by [`Engine::sign_url_blob`] with `label`; `None` for
    /// anything forged, truncated or oversized.
    pub(crate) fn open_url_blob(&self, label: &[u8], token: &str) -> Option<Vec<u8>> {
        if token.len() > 16 * 1024 {
            return None;
        }
        let (p, t) = token.split_once('.')?;
        let payload = B64.decode(p).ok()?;
        let tag = B64.decode(t).ok()?;
        constant_eq(&tag, &self.url_mac(label, &payload)).then_some(payload)
    }

    /// The URL-safe signed form of `t` (see the module docs).
    pub fn tracking_token(&self, t: &TrackingToken) -> String {
        let payload = serde_json::to_vec(t).expect("a token serialises");
        self.sign_url_blob(TRACKING_LABEL, &payload)
    }

    /// Checks the signature and decodes; `None` for anything forged, truncated or of a
    /// region this instance does not serve.
    pub fn open_tracking_token(&self, token: &str) -> Option<TrackingToken> {
        let token = token.strip_suffix(".gif").unwrap_or(token);
        let payload = self.open_url_blob(TRACKING_LABEL, token)?;
        let tok: TrackingToken = serde_json::from_slice(&payload).ok()?;
        (self.serves_region(&tok.r) && matches!(tok.k.as_str(), "o" | "c")).then_some(tok)
    }

    /// What the message's configuration set `set` asks for (G-62), or VDM engagement
    /// tracking (Q-227 (b): both opens and clicks, with or without a set).
    pub async fn tracking_plan(
        &self,
        scope: &Scope,
        set: Option<&ConfigurationSetRecord>,
    ) -> Result<TrackingPlan, EngineError> {
        // Read for every delivered message: through the ≤ 1 s hot cache (Q-24).
        let account = self.hot_account_settings(scope).await?;
        if vdm_engagement(
            account.vdm_attributes.as_ref(),
            set.and_then(|s| s.vdm_options.as_ref()),
        ) {
            return Ok(TrackingPlan {
                open: true,
                click: true,
            });
        }
        let Some(set) = set else {
            return Ok(TrackingPlan::default());
        };
        Ok(plan_for(
            &self.hot_event_destinations(scope, &set.name).await?,
        ))
    }

    /// The message as it leaves, before signing: rewritten for tracking when the plan asks
    /// for it (or to drop a `{{ses:openTracker}}` placeholder), else `body` itself (Q-96,
    /// Q-97, Q-229).
    pub(crate) async fn apply_tracking(
        &self,
        scope: &Scope,
        mail: &MailInfo,
        set: Option<&ConfigurationSetRecord>,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, EngineError> {
        let plan = self.tracking_plan(scope, set).await?;
        let placeholder = sesame_mail::tracking::OPEN_TRACKER_PLACEHOLDER.as_bytes();
        if !plan.open && !plan.click && !body.windows(placeholder.len()).any(|w| w == placeholder) {
            return Ok(body);
        }
        let urls = MessageUrls {
            engine: self,
            plan,
            scope,
            message_id: &mail.message_id,
            recipient: match mail.destination.as_slice() {
                [one] => one.clone(),
                _ => String::new(),
            },
            sent_ms: mail.timestamp_ms,
            set,
        };
        match sesame_mail::tracking::rewrite_message(&body, &urls) {
            Ok(r) => {
                tracing::debug!(message_id = %mail.message_id, links = r.links, pixels = r.pixels, "tracking applied");
                Ok(r.raw)
            }
            Err(why) => {
                tracing::debug!(message_id = %mail.message_id, ?why, "message not modified for tracking");
                Ok(body)
            }
        }
    }

    /// Records the `Open` (token kind `o`) or `Click` (`c`) of a verified token (G-50, G-51,
    /// G-70). Returns whether an event was recorded: not after the 60-day window, nor when the
    /// message is no longer in the message log.
    pub async fn record_engagement(
        &self,
        tok: &TrackingToken,
        who: &Visitor,
    ) -> Result<bool, EngineError> {
        if who.at_ms - tok.t > COLLECTION_WINDOW_MS {
            return Ok(false);
        }
        let (Ok(account), Ok(region)) = (tok.a.parse::<AccountId>(), tok.r.parse::<Region>())
        else {
            return Ok(false);
        };
        let scope = Scope::new(account, region);
        let Some((msg, _)) = self.store.find_message(&tok.m).await? else {
            return Ok(false);
        };
        if msg.scope != scope {
            return Ok(false);
        }
        let Ok(mail) =
            serde_json::from_value::<MailInfo>(msg.meta.get("mail").cloned().unwrap_or_default())
        else {
            return Ok(false);
        };
        let (event_type, data) = match tok.k.as_str() {
            "o" => (
                event_types::OPEN,
                sesame_events::open(
                    &mail,
                    &OpenInfo {
                        timestamp_ms: who.at_ms,
                        ip_address: who.ip_address.clone(),
                        user_agent: who.user_agent.clone(),
                    },
                ),
            ),
            _ => (
                event_types::CLICK,
                sesame_events::click(
                    &mail,
                    &ClickInfo {
                        timestamp_ms: who.at_ms,
                        ip_address: who.ip_address.clone(),
                        user_agent: who.user_agent.clone(),
                        link: tok.u.clone(),
                        link_tags: tok.g.clone(),
                    },
                ),
            ),
        };
        let event = record(&scope, &tok.m, event_type, who.at_ms, data);
        self.store.append_events(&[event]).await?;
        Ok(true)
    }

    /// Uses `url` (the API listener's address) as the tracking base unless one is configured
    /// (`serve --dev`, so tracked links in captured mail reach this process).
    pub fn default_tracking_base_url(&mut self, url: &str) {
        if self.settings.tracking.base_url.is_none() {
            let url = url
                .replacen("//0.0.0.0:", "//127.0.0.1:", 1)
                .replacen("//[::]:", "//[::1]:", 1);
            let mut s = (*self.settings).clone();
            s.tracking.base_url = Some(url.trim_end_matches('/').to_string());
            self.settings = std::sync::Arc::new(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_store::{engine_with, scope};

    fn set(tracking: Option<Value>) -> ConfigurationSetRecord {
        let mut s = Engine::new_configuration_set("cs");
        s.tracking_options = tracking;
        s
    }

    /// G-62, G-65, Q-227: OPEN → pixel, CLICK → links, disabled destinations count for nothing.
    #[test]
    fn plan_from_destinations() {
        let d = |types: &[&str], enabled: bool| json!({"Enabled": enabled, "MatchingEventTypes": types});
        let table = [
            (vec![d(&["SEND"], true)], (false, false)),
            (vec![d(&["OPEN"], true)], (true, false)),
            (vec![d(&["SEND", "CLICK"], true)], (false, true)),
            (vec![d(&["OPEN", "CLICK"], false)], (false, false)),
            (vec![d(&["OPEN"], true), d(&["CLICK"], true)], (true, true)),
            (
                vec![json!({"MatchingEventTypes": ["CLICK"]})],
                (false, true),
            ),
        ];
        for (dests, (open, click)) in table {
            assert_eq!(plan_for(&dests), TrackingPlan { open, click }, "{dests:?}");
        }
    }

    /// Q-227 (b): VDM engagement tracking, account setting and set override.
    #[test]
    fn vdm_engagement_table() {
        let acct = |vdm: &str, eng: Option<&str>| {
            let mut a = json!({"VdmEnabled": vdm});
            if let Some(e) = eng {
                a["DashboardAttributes"] = json!({"EngagementMetrics": e});
            }
            a
        };
        let set = |e: &str| json!({"DashboardOptions": {"EngagementMetrics": e}});
        let table = [
            (None, None, false),
            (Some(acct("ENABLED", Some("ENABLED"))), None, true),
            (Some(acct("ENABLED", None)), None, false),
            (Some(acct("DISABLED", Some("ENABLED"))), None, false),
            (
                Some(acct("ENABLED", Some("ENABLED"))),
                Some(set("DISABLED")),
                false,
            ),
            (
                Some(acct("ENABLED", Some("DISABLED"))),
                Some(set("ENABLED")),
                true,
            ),
            (Some(acct("DISABLED", None)), Some(set("ENABLED")), false),
        ];
        for (a, s, want) in table {
            assert_eq!(vdm_engagement(a.as_ref(), s.as_ref()), want, "{a:?} {s:?}");
        }
    }

    /// Q-70, G-68, G-71, E-137: the tracking host and scheme per custom domain and HttpsPolicy.
    #[test]
    fn base_urls() {
        let e = engine_with(Default::default(), Default::default());
        let sc = scope();
        let custom = |policy: Option<&str>| {
            let mut o = json!({"CustomRedirectDomain": "track.example.test"});
            if let Some(p) = policy {
                o["HttpsPolicy"] = json!(p);
            }
            set(Some(o))
        };
        let sets = [
            (
                None,
                (
                    "https://r.us-east-1.sesame.test",
                    "http://r.us-east-1.sesame.test",
                    "https://r.us-east-1.sesame.test",
                ),
            ),
            (
                Some(custom(None)),
                (
                    "http://track.example.test",
                    "http://track.example.test",
                    "https://track.example.test",
                ),
            ),
            (
                Some(custom(Some("REQUIRE"))),
                (
                    "https://track.example.test",
                    "https://track.example.test",
                    "https://track.example.test",
                ),
            ),
            (
                Some(set(Some(json!({"HttpsPolicy": "REQUIRE"})))),
                (
                    "https://r.us-east-1.sesame.test",
                    "https://r.us-east-1.sesame.test",
                    "https://r.us-east-1.sesame.test",
                ),
            ),
            (
                Some(custom(Some("REQUIRE_OPEN_ONLY"))),
                (
                    "https://track.example.test",
                    "http://track.example.test",
                    "https://track.example.test",
                ),
            ),
        ];
        for (s, (open, click_http, click_https)) in sets {
            let u = MessageUrls {
                engine: &e,
                plan: TrackingPlan {
                    open: true,
                    click: true,
                },
                scope: &sc,
                message_id: "m",
                recipient: String::new(),
                sent_ms: 0,
                set: s.as_ref(),
            };
            assert_eq!(u.base(true, false), open);
            assert_eq!(u.base(false, false), click_http);
            assert_eq!(u.base(false, true), click_https);
            let link = u.click_url(0, "https://a.example/", &[]).unwrap();
            assert!(
                link.starts_with(&format!("{click_https}{CLICK_PATH}")),
                "{link}"
            );
        }
    }

    /// Q-228: tokens round-trip; any change to payload or tag, or a token of another instance
    /// key, is refused.
    #[test]
    fn tokens_are_signed() {
        let e = engine_with(Default::default(), Default::default());
        let t = TrackingToken {
            a: scope().account.to_string(),
            r: "us-east-1".into(),
            m: "0100-abc".into(),
            d: "to@example.net".into(),
            t: 5,
            k: "c".into(),
            i: 3,
            u: "https://a.example/?q=1".into(),
            g: vec![("k".into(), "v".into())],
        };
        let s = e.tracking_token(&t);
        assert_eq!(e.open_tracking_token(&s), Some(t.clone()));
        let (p, mac) = s.split_once('.').unwrap();
        let mut forged = t.clone();
        forged.u = "https://evil.example/".into();
        let forged_payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        for bad in [
            format!("{forged_payload}.{mac}"),
            format!("{p}.{}", &mac[1..]),
            format!("{p}x.{mac}"),
            p.to_string(),
            String::new(),
        ] {
            assert_eq!(e.open_tracking_token(&bad), None, "{bad}");
        }
        let other = Engine::new(
            e.store.clone(),
            e.bodies.clone(),
            [9; 32],
            (*e.settings).clone(),
        );
        assert_eq!(other.open_tracking_token(&s), None);
    }
}
