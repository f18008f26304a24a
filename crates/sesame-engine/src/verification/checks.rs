//! The DNS lookups of one verification check, through the `DnsLookup` port (Q-80: exact value
//! comparison; Q-85: the error classes), and the diagnostic hints for the seed's common
//! mistakes (D-27, Q-85): domain appended twice, missing underscore, swapped name and value,
//! changed case, another region's records, several MX records.

use serde::{Deserialize, Serialize};
use sesame_model::dns::{DnsError, DnsLookup};

use super::Outcome;

/// One lookup as the audit and the CLI show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupRecord {
    /// `DOMAIN`, `DKIM` or `MAIL_FROM`.
    pub component: String,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    /// What must be there.
    pub expected: String,
    /// What the DNS returned (CNAME target, TXT strings, `pref exchange` for MX).
    pub values: Vec<String>,
    /// `FOUND`, or the v2 `ErrorType` (`HOST_NOT_FOUND`, `TYPE_NOT_FOUND`, `INVALID_VALUE`,
    /// `DNS_SERVER_ERROR`).
    pub result: String,
    /// The server's words for an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What checking one component found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub outcome: Outcome,
    pub lookups: Vec<LookupRecord>,
    /// Likely causes of a failure, for people (CLI, audit).
    pub hints: Vec<String>,
}

const FOUND: &str = "FOUND";
const INVALID_VALUE: &str = "INVALID_VALUE";

/// Folds per-record outcomes: any definite absence wins (the component is not all there),
/// then any server error (nothing concluded), else found.
fn fold(lookups: &[LookupRecord]) -> Outcome {
    if let Some(l) = lookups
        .iter()
        .find(|l| l.result != FOUND && l.result != "DNS_SERVER_ERROR")
    {
        return Outcome::Missing(l.result.clone());
    }
    if lookups.iter().any(|l| l.result == "DNS_SERVER_ERROR") {
        return Outcome::Inconclusive("DNS_SERVER_ERROR".into());
    }
    Outcome::Found
}

fn record(
    component: &str,
    name: &str,
    rtype: &str,
    expected: &str,
    values: Vec<String>,
    result: Result<(), &DnsError>,
    mismatch: bool,
) -> LookupRecord {
    let (result, detail) = match result {
        Ok(()) if mismatch => (INVALID_VALUE.to_string(), None),
        Ok(()) => (FOUND.to_string(), None),
        Err(e) => (e.verification_error().to_string(), Some(e.to_string())),
    };
    LookupRecord {
        component: component.into(),
        name: name.into(),
        rtype: rtype.into(),
        expected: expected.into(),
        values,
        result,
        detail,
    }
}

/// The record's name with the domain appended a second time (a provider that appends the zone
/// to a fully qualified name typed without the trailing dot).
fn doubled(name: &str, domain: &str) -> String {
    format!("{name}.{domain}")
}

/// Probes the places a record is often published by mistake when it is not where it belongs.
async fn misplaced(dns: &dyn DnsLookup, name: &str, domain: &str, rtype: &str) -> Vec<String> {
    let mut hints = Vec::new();
    let found = |r: Result<bool, DnsError>| r.unwrap_or(false);
    let doubled = doubled(name, domain);
    let at_doubled = match rtype {
        "CNAME" => found(dns.cname(&doubled).await.map(|_| true)),
        "MX" => found(dns.mx(&doubled).await.map(|v| !v.is_empty())),
        _ => found(dns.txt(&doubled).await.map(|v| !v.is_empty())),
    };
    if at_doubled {
        hints.push(format!(
            "A {rtype} record exists at {doubled}: your DNS provider appended the domain to the name. Enter the name with a trailing dot ({name}.) or without the domain part."
        ));
    }
    if name.contains("._") || name.starts_with('_') {
        let no_underscore =
            name.replacen("_domainkey", "domainkey", 1)
                .replacen("_amazonses", "amazonses", 1);
        if no_underscore != name {
            let there = match rtype {
                "CNAME" => found(dns.cname(&no_underscore).await.map(|_| true)),
                _ => found(dns.txt(&no_underscore).await.map(|v| !v.is_empty())),
            };
            if there {
                hints.push(format!(
                    "A record exists at {no_underscore}: the underscore is missing; the name must be {name}."
                ));
            }
        }
    }
    hints
}

/// Easy DKIM: each `<token>._domainkey.<domain>` must be a CNAME to `<token>.dkim.<sd>`.
pub async fn easy_dkim(
    dns: &dyn DnsLookup,
    domain: &str,
    tokens: &[String],
    service_domain: &str,
) -> CheckResult {
    let mut lookups = Vec::new();
    let mut hints = Vec::new();
    for token in tokens {
        let name = format!("{token}._domainkey.{domain}");
        let expected = format!("{token}.dkim.{service_domain}");
        let r = dns.cname(&name).await;
        let l = match &r {
            Ok(target) => {
                let mismatch = target != &expected;
                if mismatch && target.eq_ignore_ascii_case(&expected) {
                    hints.push(format!(
                        "{name}: the value's case differs; it must be exactly {expected}."
                    ));
                } else if mismatch && target.contains("._domainkey.") {
                    hints.push(format!(
                        "{name} points to {target}: name and value look swapped; the name is {name}, the value {expected}."
                    ));
                } else if mismatch {
                    hints.push(format!(
                        "{name} points to {target} instead of {expected}: are these the records of another identity, region or installation?"
                    ));
                }
                record(
                    "DKIM",
                    &name,
                    "CNAME",
                    &expected,
                    vec![target.clone()],
                    Ok(()),
                    mismatch,
                )
            }
            Err(e) => {
                if e.is_negative() {
                    hints.extend(misplaced(dns, &name, domain, "CNAME").await);
                    if let Ok(txt) = dns.txt(&name).await {
                        if !txt.is_empty() {
                            hints.push(format!(
                                "{name} has a TXT record but no CNAME: Easy DKIM needs the CNAME to {expected}."
                            ));
                        }
                    }
                }
                record("DKIM", &name, "CNAME", &expected, vec![], Err(e), false)
            }
        };
        lookups.push(l);
    }
    CheckResult {
        outcome: fold(&lookups),
        lookups,
        hints,
    }
}

/// The `p=` tag of a DKIM key record (RFC 6376 §3.6.1), whitespace removed.
pub fn dkim_p_tag(txt: &str) -> Option<String> {
    txt.split(';').find_map(|tag| {
        let (k, v) = tag.split_once('=')?;
        (k.trim() == "p").then(|| v.chars().filter(|c| !c.is_whitespace()).collect())
    })
}

/// BYODKIM: a TXT at `<selector>._domainkey.<domain>` whose `p=` is the stored public key.
pub async fn byodkim(
    dns: &dyn DnsLookup,
    domain: &str,
    selector: &str,
    public_key: &str,
) -> CheckResult {
    let name = format!("{selector}._domainkey.{domain}");
    let expected = format!("p={public_key}");
    let mut hints = Vec::new();
    let l = match dns.txt(&name).await {
        Ok(values) => {
            let ok = values
                .iter()
                .any(|v| dkim_p_tag(v).as_deref() == Some(public_key));
            if !ok {
                if values.iter().any(|v| dkim_p_tag(v).is_none()) {
                    hints.push(format!(
                        "{name}: a TXT record has no p= tag; the value must be p=<public key>."
                    ));
                }
                if values
                    .iter()
                    .any(|v| dkim_p_tag(v).is_some_and(|p| p.eq_ignore_ascii_case(public_key)))
                {
                    hints.push(format!("{name}: the key's case was changed (a provider lower-cased it?); the value must match exactly."));
                } else if values.iter().any(|v| dkim_p_tag(v).is_some()) {
                    hints.push(format!("{name}: the p= value is not the public key of the private key you gave (BEGIN/END lines and line breaks removed?)."));
                }
            }
            record("DKIM", &name, "TXT", &expected, values, Ok(()), !ok)
        }
        Err(e) => {
            if e.is_negative() {
                hints.extend(misplaced(dns, &name, domain, "TXT").await);
            }
            record("DKIM", &name, "TXT", &expected, vec![], Err(&e), false)
        }
    };
    let lookups = vec![l];
    CheckResult {
        outcome: fold(&lookups),
        lookups,
        hints,
    }
}

/// v1 domain verification: the token in a TXT at `_amazonses.<domain>`, or at the bare domain
/// several values per record set are fine. Exact, case-sensitive comparison.
pub async fn legacy_txt(dns: &dyn DnsLookup, domain: &str, token: &str) -> CheckResult {
    let name = format!("_amazonses.{domain}");
    let mut hints = Vec::new();
    let mut lookups = Vec::new();
    let first = dns.txt(&name).await;
    let found_first = first.as_ref().is_ok_and(|v| v.iter().any(|s| s == token));
    if !found_first {
        // the token is also accepted at the domain itself.
        if let Ok(values) = dns.txt(domain).await {
            if values.iter().any(|s| s == token) {
                lookups.push(record(
                    "DOMAIN",
                    domain,
                    "TXT",
                    token,
                    values,
                    Ok(()),
                    false,
                ));
                return CheckResult {
                    outcome: Outcome::Found,
                    lookups,
                    hints,
                };
            }
        }
    }
    let l = match &first {
        Ok(values) => {
            if !found_first {
                if values.iter().any(|s| s.eq_ignore_ascii_case(token)) {
                    hints.push(format!(
                        "{name}: the token's case was changed; it must match exactly."
                    ));
                } else if values
                    .iter()
                    .any(|s| s.trim_matches('"') == token || s.trim() == token)
                {
                    hints.push(format!("{name}: the token has extra quotes or spaces."));
                } else {
                    hints.push(format!("{name}: no TXT value is the token {token} (an old token, or another region's?)."));
                }
            }
            record(
                "DOMAIN",
                &name,
                "TXT",
                token,
                values.clone(),
                Ok(()),
                !found_first,
            )
        }
        Err(e) => {
            if e.is_negative() {
                hints.extend(misplaced(dns, &name, domain, "TXT").await);
            }
            record("DOMAIN", &name, "TXT", token, vec![], Err(e), false)
        }
    };
    lookups.push(l);
    CheckResult {
        outcome: fold(&lookups),
        lookups,
        hints,
    }
}

/// Custom MAIL FROM (Q-99, D-97): exactly one MX at the MAIL FROM domain, whose exchange is
/// `feedback-smtp.<region>.<sd>` (any preference).
pub async fn mail_from(
    dns: &dyn DnsLookup,
    mail_from_domain: &str,
    region: &str,
    service_domain: &str,
) -> CheckResult {
    let expected = format!("feedback-smtp.{region}.{service_domain}");
    let mut hints = Vec::new();
    let l = match dns.mx(mail_from_domain).await {
        Ok(mx) => {
            let values: Vec<String> = mx
                .iter()
                .map(|m| format!("{} {}", m.preference, m.exchange))
                .collect();
            let ok = mx.len() == 1 && mx[0].exchange == expected;
            if mx.len() > 1 {
                hints.push(format!(
                    "{mail_from_domain} has {} MX records: a custom MAIL FROM domain must have exactly one, MX 10 {expected}.",
                    mx.len()
                ));
            }
            for m in &mx {
                if m.exchange != expected
                    && m.exchange.starts_with("feedback-smtp.")
                    && m.exchange.ends_with(&format!(".{service_domain}"))
                {
                    hints.push(format!(
                        "{mail_from_domain}: MX {} is another region's feedback host; this identity is in {region}, so the MX must be {expected}.",
                        m.exchange
                    ));
                }
            }
            record(
                "MAIL_FROM",
                mail_from_domain,
                "MX",
                &format!("10 {expected}"),
                values,
                Ok(()),
                !ok,
            )
        }
        Err(e) => {
            if e.is_negative() {
                let parent = mail_from_domain
                    .split_once('.')
                    .map(|(_, p)| p)
                    .unwrap_or(mail_from_domain);
                hints.extend(misplaced(dns, mail_from_domain, parent, "MX").await);
            }
            record(
                "MAIL_FROM",
                mail_from_domain,
                "MX",
                &format!("10 {expected}"),
                vec![],
                Err(&e),
                false,
            )
        }
    };
    let lookups = vec![l];
    CheckResult {
        outcome: fold(&lookups),
        lookups,
        hints,
    }
}
