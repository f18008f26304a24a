//! The evaluation: from what was fetched ([`Observed`]) and what Sesame expects
//! ([`CheckInput`]) to a [`Report`]: findings point by point, the records to publish, whether
//! DMARC passes via DKIM and via SPF under the domain's `adkim`/`aspf` (RFC 7489 §3.1, seed000's
//! alignment tables, spec D-101..D-105), and whether the domain is ready for `p=quarantine` and
//! `p=reject`. Pure: no I/O, no clock.

use serde::Serialize;
use sesame_model::dns::DnsError;

use crate::dmarc::{self, Alignment, DmarcRecord, Policy};
use crate::gather::{Answer, Observed};
use crate::{dkim, spf};

/// Keys shorter than this get a warning (D-69: Easy DKIM defaults to 2048 bits).
pub const RECOMMENDED_KEY_BITS: usize = 2048;

/// One DKIM key Sesame signs (or will sign) with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectedKey {
    /// Easy DKIM token or BYODKIM selector.
    pub selector: String,
    /// The `p=` Sesame holds for it, when known: the key found in DNS must be this one.
    pub public_key: Option<String>,
}

/// What the doctor knows about the domain's DKIM set-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DkimSetup {
    /// Not known (no account given, or the domain is not an identity of the account).
    Unknown,
    /// The identity has no DKIM, or signing is disabled.
    Disabled,
    /// Keys to find in DNS.
    Keys {
        /// `d=` of the signatures: the identity's domain, or the parent it inherits from (Q-89).
        signing_domain: String,
        /// Easy DKIM (CNAMEs to `<token>.dkim.<sd>`, Q-64) or BYODKIM (TXT, Q-95).
        easy: bool,
        keys: Vec<ExpectedKey>,
    },
}

/// What Sesame expects for the domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckInput {
    /// The From domain, lower-case, no trailing dot.
    pub domain: String,
    /// `<sd>` (Q-63).
    pub service_domain: String,
    /// The region whose feedback host the MAIL FROM MX must name (Q-68).
    pub region: String,
    /// The custom MAIL FROM domain (a subdomain of `domain`), if any.
    pub mail_from: Option<String>,
    pub dkim: DkimSetup,
}

impl CheckInput {
    /// `include:` target of the SPF records (Q-69).
    pub fn spf_include(&self) -> String {
        format!("spf.{}", self.service_domain)
    }

    /// The MAIL FROM MX exchange (Q-68).
    pub fn feedback_host(&self) -> String {
        format!("feedback-smtp.{}.{}", self.region, self.service_domain)
    }

    /// The default MAIL FROM domain when no custom one is used (Q-67).
    pub fn default_mail_from(&self) -> String {
        format!("{}.{}", self.region, self.service_domain)
    }

    /// The SPF record Sesame asks customers to publish (Q-69).
    pub fn spf_value(&self) -> String {
        format!("v=spf1 include:{} ~all", self.spf_include())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks DMARC (or breaks a Sesame feature): fix before tightening the policy.
    Error,
    /// A known trap or a missing best practice.
    Warning,
    /// For information.
    Info,
}

/// One point of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable identifier (documented in docs/dns-doctor.md).
    pub code: &'static str,
    /// The DNS name concerned.
    pub name: String,
    pub message: String,
}

/// A tri-state verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not enough information (no account given, or a DNS error).
    Unknown,
}

/// One record the domain's owner publishes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    #[serde(rename = "type")]
    pub rtype: &'static str,
    pub name: String,
    /// The value as published: MX as `10 host`, TXT without surrounding quotes.
    pub value: String,
    /// Required for DMARC with Sesame (else recommended).
    pub required: bool,
    /// `ok`, `missing` or `wrong` in the DNS now.
    pub status: &'static str,
    /// What the record is for.
    pub purpose: &'static str,
}

/// State of one DKIM key in DNS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DkimKeyReport {
    pub selector: String,
    pub name: String,
    /// The CNAME target found, if any.
    pub cname: Option<String>,
    /// Length of the RSA key found behind the name.
    pub key_bits: Option<usize>,
    pub ok: bool,
}

/// The DMARC policy that applies to the domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DmarcReport {
    /// Where the record was found (`_dmarc.<domain>` or `_dmarc.<organizational domain>`).
    pub name: String,
    pub record: String,
    /// The policy that applies to this domain (`sp=` when inherited from the organizational
    /// domain and present).
    pub policy: Policy,
    pub adkim: Alignment,
    pub aspf: Alignment,
    pub pct: u8,
    pub rua: Vec<String>,
    pub inherited: bool,
}

/// The doctor's report for one domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub domain: String,
    pub organizational_domain: String,
    pub region: String,
    pub service_domain: String,
    /// The MAIL FROM domain of Sesame's mail from this domain (custom or default).
    pub mail_from: String,
    pub custom_mail_from: bool,
    pub dkim_keys: Vec<DkimKeyReport>,
    pub dmarc: Option<DmarcReport>,
    /// SPF lookups (§4.6.4) of the MAIL FROM domain's record, when there is one.
    pub mail_from_spf_lookups: Option<usize>,
    /// SPF lookups of the domain's own record, when there is one.
    pub apex_spf_lookups: Option<usize>,
    pub dmarc_via_dkim: Verdict,
    pub dmarc_via_spf: Verdict,
    pub ready_for_quarantine: bool,
    pub ready_for_reject: bool,
    pub findings: Vec<Finding>,
    pub records: Vec<Record>,
    /// Lookups that failed with SERVFAIL/timeout: the report is then incomplete.
    pub dns_errors: Vec<String>,
}

impl Report {
    /// 0: ready for `p=reject` with nothing to fix; 1: errors or warnings; 2: DNS errors made
    /// the check inconclusive.
    pub fn exit_code(&self) -> u8 {
        if !self.dns_errors.is_empty() {
            2
        } else if self.findings.iter().any(|f| f.severity != Severity::Info)
            || !self.ready_for_reject
        {
            1
        } else {
            0
        }
    }

    pub fn has(&self, code: &str) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
}

struct Ctx {
    findings: Vec<Finding>,
    dns_errors: Vec<String>,
}

impl Ctx {
    fn add(&mut self, severity: Severity, code: &'static str, name: &str, message: String) {
        self.findings.push(Finding {
            severity,
            code,
            name: name.to_string(),
            message,
        });
    }

    /// The records of a positive answer; `None` (and a noted DNS error) for SERVFAIL/timeout;
    /// an empty list for NXDOMAIN/NODATA.
    fn records<'a, T>(&mut self, a: &'a Answer<Vec<T>>) -> Option<&'a [T]> {
        match a {
            Ok(v) => Some(v),
            Err(DnsError::ServerError(e)) => {
                self.dns_errors.push(e.clone());
                None
            }
            Err(_) => Some(&[]),
        }
    }
}

/// Result of checking one SPF record set (apex or MAIL FROM).
struct SpfOutcome {
    /// Exactly one valid record, under the lookup limit, reaching `spf.<sd>`.
    ok: bool,
    lookups: Option<usize>,
    /// The single SPF record found, if exactly one.
    single: Option<String>,
}

fn check_spf(
    ctx: &mut Ctx,
    input: &CheckInput,
    obs: &Observed,
    name: &str,
    txt: &Answer<Vec<String>>,
    required: bool,
) -> Option<SpfOutcome> {
    let records = ctx.records(txt)?;
    let spf_recs = spf::spf_records(records);
    let (missing_sev, missing_code, multi_code, include_code) = if required {
        (
            Severity::Error,
            "mail_from_spf_missing",
            "mail_from_spf_multiple",
            "mail_from_spf_no_include",
        )
    } else {
        (
            Severity::Warning,
            "spf_missing",
            "spf_multiple",
            "spf_no_include",
        )
    };
    let include = input.spf_include();
    match spf_recs.as_slice() {
        [] => {
            ctx.add(
                missing_sev,
                missing_code,
                name,
                format!("no SPF record; publish TXT \"{}\"", input.spf_value()),
            );
            Some(SpfOutcome {
                ok: false,
                lookups: None,
                single: None,
            })
        }
        [one] => {
            let parsed = match spf::parse(one) {
                Ok(p) => p,
                Err(e) => {
                    ctx.add(
                        Severity::Error,
                        "spf_invalid",
                        name,
                        format!("SPF record \"{one}\" is invalid (permerror): {e}"),
                    );
                    return Some(SpfOutcome {
                        ok: false,
                        lookups: None,
                        single: Some(one.to_string()),
                    });
                }
            };
            let tree = spf::tree(&parsed, &obs.spf_targets);
            let mut ok = true;
            if tree.lookups > spf::MAX_DNS_LOOKUPS {
                ok = false;
                ctx.add(
                    Severity::Error,
                    "spf_too_many_lookups",
                    name,
                    format!(
                        "SPF record needs {} DNS lookups, over the limit of {} (RFC 7208 §4.6.4): receivers answer permerror; flatten includes you do not need",
                        tree.lookups,
                        spf::MAX_DNS_LOOKUPS
                    ),
                );
            }
            for p in &tree.problems {
                ctx.add(Severity::Warning, "spf_include_problem", name, p.clone());
            }
            if !tree.reached.contains(&include) {
                ok = false;
                ctx.add(
                    if required { Severity::Error } else { Severity::Warning },
                    include_code,
                    name,
                    format!(
                        "SPF record does not include:{include} (Sesame's sending addresses); publish \"{}\"",
                        spf::with_include(one, &include)
                    ),
                );
            }
            if parsed.all() == Some('+') {
                ctx.add(
                    Severity::Warning,
                    "spf_pass_all",
                    name,
                    "SPF record ends in +all: anyone may send as this domain".into(),
                );
            }
            Some(SpfOutcome {
                ok,
                lookups: Some(tree.lookups),
                single: Some(one.to_string()),
            })
        }
        many => {
            ctx.add(
                Severity::Error,
                multi_code,
                name,
                format!(
                    "{} SPF records: receivers answer permerror (RFC 7208 §4.5); merge them into one",
                    many.len()
                ),
            );
            Some(SpfOutcome {
                ok: false,
                lookups: None,
                single: None,
            })
        }
    }
}

/// Evaluates `obs` against `input`.
pub fn evaluate(input: &CheckInput, obs: &Observed) -> Report {
    let mut ctx = Ctx {
        findings: Vec::new(),
        dns_errors: Vec::new(),
    };
    let domain = input.domain.as_str();
    let org = dmarc::organizational_domain(domain);
    let mut records: Vec<Record> = Vec::new();

    // ---- DMARC record (RFC 7489 §6.6.3: the domain's own, else the organizational domain's).
    let dmarc_rep = evaluate_dmarc(&mut ctx, domain, &org, obs);
    let adkim = dmarc_rep.as_ref().map_or(Alignment::Relaxed, |d| d.adkim);
    let aspf = dmarc_rep.as_ref().map_or(Alignment::Relaxed, |d| d.aspf);

    // ---- DKIM (D-21, Q-64, Q-95).
    let mut dkim_keys = Vec::new();
    // Whether each route would pass under relaxed alignment (the record Sesame suggests).
    let mut dkim_relaxed = false;
    let mut spf_relaxed = false;
    let via_dkim = match &input.dkim {
        DkimSetup::Unknown => {
            ctx.add(
                Severity::Warning,
                "dkim_unknown",
                domain,
                "DKIM not checked: the domain is not an identity of the given account (or no --account was given), so its selectors are unknown".into(),
            );
            Verdict::Unknown
        }
        DkimSetup::Disabled => {
            ctx.add(
                Severity::Error,
                "dkim_disabled",
                domain,
                "the identity has no DKIM signing: enable Easy DKIM (PutEmailIdentityDkimAttributes) and publish its CNAMEs".into(),
            );
            Verdict::Fail
        }
        DkimSetup::Keys {
            signing_domain,
            easy,
            keys,
        } => {
            let mut all_ok = !keys.is_empty();
            if keys.is_empty() {
                ctx.add(
                    Severity::Error,
                    "dkim_disabled",
                    signing_domain,
                    "the identity has DKIM but no keys yet".into(),
                );
            }
            let mut inconclusive = false;
            for (k, o) in keys.iter().zip(&obs.dkim) {
                let (rep, rec, dns_err) = evaluate_dkim_key(&mut ctx, input, *easy, k, o);
                all_ok &= rep.ok;
                inconclusive |= dns_err;
                dkim_keys.push(rep);
                records.push(rec);
            }
            if inconclusive {
                Verdict::Unknown
            } else if !all_ok {
                Verdict::Fail
            } else if dmarc::aligned(signing_domain, domain, adkim) {
                dkim_relaxed = true;
                Verdict::Pass
            } else {
                dkim_relaxed = dmarc::aligned(signing_domain, domain, Alignment::Relaxed);
                ctx.add(
                    Severity::Error,
                    "adkim_strict_subdomain",
                    domain,
                    format!(
                        "mail is signed d={signing_domain} (the parent identity's keys) but adkim=s requires d={domain}: use adkim=r or give {domain} its own Easy DKIM"
                    ),
                );
                Verdict::Fail
            }
        }
    };

    // ---- Custom MAIL FROM (D-95..D-99, Q-68, Q-99) and SPF.
    let mut mail_from_spf_lookups = None;
    let (mail_from, via_spf) = match &input.mail_from {
        None => {
            let def = input.default_mail_from();
            let v = if dmarc::aligned(&def, domain, aspf) {
                spf_relaxed = true;
                Verdict::Pass
            } else {
                ctx.add(
                    Severity::Warning,
                    "mail_from_default",
                    domain,
                    format!(
                        "no custom MAIL FROM: mail leaves with MAIL FROM {def}, so SPF can never align with {domain} and DMARC rests on DKIM alone; set one (PutEmailIdentityMailFromAttributes, e.g. bounce.{domain})"
                    ),
                );
                Verdict::Fail
            };
            (def, v)
        }
        Some(mf) => {
            let mut ok = true;
            let mut inconclusive = false;
            let want_mx = input.feedback_host();
            let mx_value = format!("10 {want_mx}");
            let mx_status = match obs.mail_from_mx.as_ref().map(|a| ctx.records(a)) {
                Some(Some(mx)) => match mx {
                    [] => {
                        ok = false;
                        ctx.add(
                            Severity::Error,
                            "mail_from_mx_missing",
                            mf,
                            format!("no MX record: publish MX \"{mx_value}\"; until then Sesame sends with the default MAIL FROM (or rejects, per BehaviorOnMxFailure)"),
                        );
                        "missing"
                    }
                    [one] if one.exchange == want_mx => "ok",
                    [one] => {
                        ok = false;
                        let other_region = one
                            .exchange
                            .strip_prefix("feedback-smtp.")
                            .and_then(|r| r.strip_suffix(&format!(".{}", input.service_domain)))
                            .filter(|r| !r.contains('.'))
                            .map(|r| {
                                format!(" (the feedback host of region {r}: publish this region's)")
                            })
                            .unwrap_or_default();
                        ctx.add(
                            Severity::Error,
                            "mail_from_mx_wrong",
                            mf,
                            format!(
                                "MX points at {} instead of {want_mx}{other_region}",
                                if one.exchange.is_empty() {
                                    "."
                                } else {
                                    one.exchange.as_str()
                                }
                            ),
                        );
                        "wrong"
                    }
                    many => {
                        ok = false;
                        ctx.add(
                            Severity::Error,
                            "mail_from_mx_multiple",
                            mf,
                            format!(
                                "{} MX records ({}): a custom MAIL FROM domain must have exactly one MX, {want_mx} (D-97); the set-up fails otherwise",
                                many.len(),
                                many.iter().map(|m| format!("{} {}", m.preference, m.exchange)).collect::<Vec<_>>().join(", ")
                            ),
                        );
                        "wrong"
                    }
                },
                _ => {
                    inconclusive = true;
                    "unknown"
                }
            };
            records.push(Record {
                rtype: "MX",
                name: mf.clone(),
                value: mx_value,
                required: true,
                status: mx_status,
                purpose: "custom MAIL FROM: bounces and complaints come back to Sesame",
            });
            let spf_txt = obs
                .mail_from_txt
                .clone()
                .unwrap_or(Err(DnsError::TypeNotFound(mf.clone())));
            let spf_status = match check_spf(&mut ctx, input, obs, mf, &spf_txt, true) {
                None => {
                    inconclusive = true;
                    "unknown"
                }
                Some(o) => {
                    mail_from_spf_lookups = o.lookups;
                    ok &= o.ok;
                    match (o.ok, o.single.is_some()) {
                        (true, _) => "ok",
                        (false, true) => "wrong",
                        (false, false) => "missing",
                    }
                }
            };
            records.push(Record {
                rtype: "TXT",
                name: mf.clone(),
                value: input.spf_value(),
                required: true,
                status: spf_status,
                purpose: "SPF of the MAIL FROM domain: what DMARC's SPF route checks",
            });
            let v = if inconclusive {
                Verdict::Unknown
            } else if !ok {
                Verdict::Fail
            } else if dmarc::aligned(mf, domain, aspf) {
                spf_relaxed = true;
                Verdict::Pass
            } else {
                spf_relaxed = dmarc::aligned(mf, domain, Alignment::Relaxed);
                if aspf == Alignment::Strict {
                    ctx.add(
                        Severity::Warning,
                        "aspf_strict_mail_from",
                        domain,
                        format!(
                            "aspf=s with the MAIL FROM subdomain {mf}: strict SPF alignment needs MAIL FROM = {domain} exactly, so DMARC can never pass via SPF (seed000: \"mismatch subdomain\"); use aspf=r"
                        ),
                    );
                } else {
                    ctx.add(
                        Severity::Error,
                        "mail_from_not_aligned",
                        mf,
                        format!("{mf} is not in the organizational domain of {domain}"),
                    );
                }
                Verdict::Fail
            };
            (mf.clone(), v)
        }
    };

    // ---- SPF of the domain itself (optional but recommended, seed000).
    let apex = check_spf(&mut ctx, input, obs, domain, &obs.apex_txt, false);
    let apex_spf_lookups = apex.as_ref().and_then(|o| o.lookups);
    if let Some(o) = &apex {
        let (value, status) = match (&o.single, o.ok) {
            (Some(s), true) => (s.clone(), "ok"),
            (Some(s), false) if !s.contains(&format!("include:{}", input.spf_include())) => {
                (spf::with_include(s, &input.spf_include()), "wrong")
            }
            (Some(_), false) => (input.spf_value(), "wrong"),
            (None, _) => {
                let existing = obs
                    .apex_txt
                    .as_ref()
                    .map(|t| spf::spf_records(t).len())
                    .unwrap_or(0);
                (
                    input.spf_value(),
                    if existing == 0 { "missing" } else { "wrong" },
                )
            }
        };
        records.push(Record {
            rtype: "TXT",
            name: domain.to_string(),
            value,
            required: false,
            status,
            purpose: "SPF of the domain itself (recommended)",
        });
    }

    // ---- Verdicts and the DMARC record to publish.
    let passes = via_dkim == Verdict::Pass || via_spf == Verdict::Pass;
    if !passes && via_dkim != Verdict::Unknown && via_spf != Verdict::Unknown {
        ctx.add(
            Severity::Error,
            "dmarc_would_fail",
            domain,
            "neither DKIM nor SPF would pass aligned: with p=quarantine or p=reject, receivers would junk or refuse this domain's mail".into(),
        );
    }
    // seed000: "pour p=reject, combinez Easy DKIM + Custom MAIL FROM + alignement relaxed":
    // quarantine needs one aligned route (D-101), reject needs both, so that mail still passes
    // when one breaks (forwarding breaks SPF, some mailing lists break DKIM).
    let ready_for_quarantine = passes;
    let ready_for_reject = via_dkim == Verdict::Pass && via_spf == Verdict::Pass;
    if let Some(d) = &dmarc_rep {
        match d.policy {
            Policy::None if ready_for_reject => ctx.add(
                Severity::Warning,
                "dmarc_p_none",
                &d.name,
                "p=none only monitors: authentication is ready, move to p=quarantine, then p=reject once the rua reports show only your own mail (D-105)".into(),
            ),
            Policy::None if ready_for_quarantine => ctx.add(
                Severity::Info,
                "dmarc_p_none",
                &d.name,
                "p=none only monitors: one route passes aligned, so p=quarantine is possible; fix the rest before p=reject".into(),
            ),
            Policy::None => ctx.add(
                Severity::Info,
                "dmarc_p_none",
                &d.name,
                "p=none only monitors: keep it until the errors above are fixed".into(),
            ),
            Policy::Quarantine if ready_for_reject => ctx.add(
                Severity::Info,
                "dmarc_quarantine",
                &d.name,
                "p=quarantine: authentication is ready for p=reject".into(),
            ),
            p if !ready_for_quarantine => ctx.add(
                Severity::Error,
                "dmarc_policy_too_early",
                &d.name,
                format!("p={} is published but neither DKIM nor SPF passes aligned: fix the errors above, or go back to p=none meanwhile", p.as_str()),
            ),
            Policy::Reject if !ready_for_reject => ctx.add(
                Severity::Warning,
                "dmarc_reject_one_route",
                &d.name,
                "p=reject while only one of DKIM and SPF passes aligned: a message on which that one breaks (forwarding, lists) is refused".into(),
            ),
            _ => {}
        }
    }
    // The record to suggest: relaxed alignment, one step up the none → quarantine → reject
    // ladder (D-105), never above what authentication supports under relaxed alignment.
    let supported = if dkim_relaxed && spf_relaxed {
        Policy::Reject
    } else if dkim_relaxed || spf_relaxed {
        Policy::Quarantine
    } else {
        Policy::None
    };
    let current = dmarc_rep.as_ref().map(|d| d.policy);
    let next = match current {
        None => Policy::None,
        Some(Policy::None) => Policy::Quarantine,
        Some(_) => Policy::Reject,
    };
    let rank = |p: Policy| p as u8;
    let target = if rank(next) <= rank(supported) {
        next
    } else {
        supported
    };
    let rua = dmarc_rep
        .as_ref()
        .filter(|d| !d.rua.is_empty())
        .map(|d| d.rua.join(","))
        .unwrap_or_else(|| format!("mailto:dmarc-reports@{org}"));
    let dmarc_ok = dmarc_rep.as_ref().is_some_and(|d| {
        d.policy == supported
            && d.pct == 100
            && !d.rua.is_empty()
            && (d.aspf == Alignment::Relaxed || via_spf == Verdict::Pass)
            && (d.adkim == Alignment::Relaxed || via_dkim == Verdict::Pass)
    });
    records.push(Record {
        rtype: "TXT",
        name: dmarc_rep
            .as_ref()
            .filter(|d| d.inherited && dmarc_ok)
            .map_or_else(|| format!("_dmarc.{domain}"), |d| d.name.clone()),
        value: match dmarc_rep.as_ref().filter(|_| dmarc_ok) {
            Some(d) => d.record.clone(),
            None => format!(
                "v=DMARC1; p={}; adkim=r; aspf=r; rua={rua}",
                target.as_str()
            ),
        },
        required: true,
        status: if dmarc_ok {
            "ok"
        } else if dmarc_rep.is_some() {
            "wrong"
        } else {
            "missing"
        },
        purpose: "DMARC policy (p=none, then quarantine, then reject)",
    });

    ctx.findings.sort_by_key(|f| f.severity);
    Report {
        domain: domain.to_string(),
        organizational_domain: org,
        region: input.region.clone(),
        service_domain: input.service_domain.clone(),
        mail_from,
        custom_mail_from: input.mail_from.is_some(),
        dkim_keys,
        dmarc: dmarc_rep,
        mail_from_spf_lookups,
        apex_spf_lookups,
        dmarc_via_dkim: via_dkim,
        dmarc_via_spf: via_spf,
        ready_for_quarantine,
        ready_for_reject,
        findings: ctx.findings,
        records,
        dns_errors: ctx.dns_errors,
    }
}

fn evaluate_dmarc(ctx: &mut Ctx, domain: &str, org: &str, obs: &Observed) -> Option<DmarcReport> {
    let own_name = format!("_dmarc.{domain}");
    let own = ctx.records(&obs.dmarc_txt)?;
    let (name, recs, inherited) = match dmarc::dmarc_records(own).as_slice() {
        [] => match &obs.org_dmarc_txt {
            Some(a) => {
                let org_recs = ctx.records(a)?;
                let found: Vec<String> = dmarc::dmarc_records(org_recs)
                    .into_iter()
                    .map(String::from)
                    .collect();
                (format!("_dmarc.{org}"), found, true)
            }
            None => (own_name.clone(), vec![], false),
        },
        found => (
            own_name.clone(),
            found.iter().map(|s| s.to_string()).collect(),
            false,
        ),
    };
    match recs.as_slice() {
        [] => {
            ctx.add(
                Severity::Error,
                "dmarc_missing",
                &own_name,
                format!("no DMARC record at {own_name}{}: receivers apply no policy; start with TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@{org}\"", if org != domain { format!(" nor _dmarc.{org}") } else { String::new() }),
            );
            None
        }
        [one] => match dmarc::parse(one) {
            Ok(r) => Some(report_of(ctx, &name, one, r, inherited)),
            Err(e) => {
                ctx.add(
                    Severity::Error,
                    "dmarc_invalid",
                    &name,
                    format!("DMARC record \"{one}\" is ignored by receivers: {e}"),
                );
                None
            }
        },
        many => {
            ctx.add(
                Severity::Error,
                "dmarc_multiple",
                &name,
                format!(
                    "{} DMARC records: receivers ignore them all (RFC 7489 §6.6.3); keep one",
                    many.len()
                ),
            );
            None
        }
    }
}

fn report_of(
    ctx: &mut Ctx,
    name: &str,
    text: &str,
    r: DmarcRecord,
    inherited: bool,
) -> DmarcReport {
    let policy = if inherited { r.sp.unwrap_or(r.p) } else { r.p };
    if inherited {
        ctx.add(
            Severity::Info,
            "dmarc_inherited",
            name,
            format!(
                "no record of its own: the organizational domain's policy applies (p={})",
                policy.as_str()
            ),
        );
    }
    if r.pct < 100 {
        ctx.add(
            Severity::Warning,
            "dmarc_pct",
            name,
            format!(
                "pct={}: the policy applies to only {}% of failing mail",
                r.pct, r.pct
            ),
        );
    }
    if r.rua.is_empty() {
        ctx.add(
            Severity::Warning,
            "dmarc_no_rua",
            name,
            "no rua=: you get no aggregate reports, so you cannot see what would be rejected before tightening the policy".into(),
        );
    }
    DmarcReport {
        name: name.to_string(),
        record: text.to_string(),
        policy,
        adkim: r.adkim,
        aspf: r.aspf,
        pct: r.pct,
        rua: r.rua,
        inherited,
    }
}

/// Checks one DKIM key; returns its report, the record to publish, and whether a DNS error
/// made it inconclusive.
fn evaluate_dkim_key(
    ctx: &mut Ctx,
    input: &CheckInput,
    easy: bool,
    k: &ExpectedKey,
    o: &crate::gather::DkimObserved,
) -> (DkimKeyReport, Record, bool) {
    let name = o.name.clone();
    let mut rep = DkimKeyReport {
        selector: k.selector.clone(),
        name: name.clone(),
        cname: o.cname.as_ref().ok().cloned(),
        key_bits: None,
        ok: false,
    };
    let target = format!("{}.dkim.{}", k.selector, input.service_domain);
    let mut dns_err = false;
    let mut status = "ok";
    // The CNAME (Easy DKIM only; a direct TXT is accepted as Q-65's direct-TXT mode).
    let key_txt = match &o.txt {
        Ok(t) => t.clone(),
        Err(DnsError::ServerError(e)) => {
            ctx.dns_errors.push(e.clone());
            dns_err = true;
            vec![]
        }
        Err(_) => vec![],
    };
    if easy {
        match &o.cname {
            Ok(t) if *t == target => {}
            Ok(t) => {
                status = "wrong";
                ctx.add(
                    Severity::Error,
                    "dkim_cname_wrong",
                    &name,
                    format!("CNAME points at {t} instead of {target}"),
                );
            }
            Err(DnsError::ServerError(e)) => {
                ctx.dns_errors.push(e.clone());
                dns_err = true;
                status = "unknown";
            }
            Err(_) if !key_txt.is_empty() => {
                ctx.add(
                    Severity::Info,
                    "dkim_direct_txt",
                    &name,
                    format!("a TXT key instead of the CNAME to {target} (direct-TXT mode: no automatic rotation)"),
                );
            }
            Err(_) => {
                status = "missing";
                let hint = match &o.misplaced {
                    Some(w) if w.starts_with(&format!("{name}.")) => format!(
                        " (found at {w}: the domain was appended twice; many DNS providers add it to the name you type)"
                    ),
                    Some(w) => format!(" (found at {w}: the underscore of _domainkey is missing)"),
                    None => String::new(),
                };
                ctx.add(
                    Severity::Error,
                    "dkim_cname_missing",
                    &name,
                    format!("CNAME missing: publish {name} CNAME {target}{hint}"),
                );
            }
        }
    }
    let record = if easy {
        Record {
            rtype: "CNAME",
            name: name.clone(),
            value: target,
            required: true,
            status,
            purpose: "Easy DKIM key (verification and signing)",
        }
    } else {
        Record {
            rtype: "TXT",
            name: name.clone(),
            value: format!(
                "v=DKIM1; k=rsa; p={}",
                k.public_key.clone().unwrap_or_default()
            ),
            required: true,
            status,
            purpose: "BYODKIM public key",
        }
    };
    if status != "ok" {
        return (rep, record, dns_err);
    }
    // The key behind the name.
    let keys: Vec<&String> = key_txt.iter().filter(|t| dkim::parse(t).is_ok()).collect();
    let mut record = record;
    match keys.as_slice() {
        [] if dns_err => {}
        [] => {
            record.status = if easy { record.status } else { "missing" };
            ctx.add(
                Severity::Error,
                "dkim_key_missing",
                &name,
                if easy {
                    format!("the CNAME is right but no DKIM key answers behind it: the operator's zone dkim.{} is not served or delegated", input.service_domain)
                } else {
                    "no DKIM key record (TXT v=DKIM1; p=…)".to_string()
                },
            );
        }
        [one] => {
            let rec = dkim::parse(one).expect("filtered");
            match dkim::rsa_bits(&rec.p) {
                Ok(bits) => {
                    rep.key_bits = Some(bits);
                    rep.ok = true;
                    if bits < RECOMMENDED_KEY_BITS {
                        ctx.add(
                            Severity::Warning,
                            "dkim_key_short",
                            &name,
                            format!("{bits}-bit RSA key: use 2048 bits (NextSigningKeyLength RSA_2048_BIT, D-69)"),
                        );
                    }
                    if let Some(want) = &k.public_key {
                        if *want != rec.p {
                            rep.ok = false;
                            if !easy {
                                record.status = "wrong";
                            }
                            ctx.add(
                                Severity::Error,
                                "dkim_key_mismatch",
                                &name,
                                "the key in DNS is not the identity's key: signatures would not verify".into(),
                            );
                        }
                    }
                }
                Err(e) => {
                    ctx.add(
                        Severity::Error,
                        "dkim_key_invalid",
                        &name,
                        format!("DKIM key record unusable: {e}"),
                    );
                }
            }
        }
        many => {
            ctx.add(
                Severity::Error,
                "dkim_key_multiple",
                &name,
                format!(
                    "{} DKIM key records at one name: verifiers may pick either",
                    many.len()
                ),
            );
        }
    }
    (rep, record, dns_err)
}
