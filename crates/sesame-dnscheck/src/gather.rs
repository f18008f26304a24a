//! Fetching what the doctor looks at, through the [`DnsLookup`] port (no runtime here: the
//! CLI and the API run the same code on their own tokio). Everything fetched is kept as the
//! lookup returned it, errors included, in [`Observed`]; [`crate::check::evaluate`] is pure.

use std::collections::BTreeMap;

use futures_util::future::{join, join_all};
use sesame_model::dns::{DnsError, DnsLookup, MxRecord};

use crate::check::{CheckInput, DkimSetup};
use crate::{dmarc, spf};

/// At most this many include/redirect targets are fetched (well above what the §4.6.4 limit
/// lets a valid record reach).
const MAX_SPF_FETCHES: usize = 40;

pub type Answer<T> = Result<T, DnsError>;

/// The DNS answers for one key of [`DkimSetup::Keys`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimObserved {
    /// `<selector>._domainkey.<signing domain>`.
    pub name: String,
    /// The CNAME owned by `name`.
    pub cname: Answer<String>,
    /// TXT at `name`, following the CNAME as a verifier would.
    pub txt: Answer<Vec<String>>,
    /// When nothing is at `name`: a wrong name where the CNAME was found instead (Q-85's
    /// common mistakes: the domain appended twice, the underscore missing).
    pub misplaced: Option<String>,
}

/// Everything the doctor fetched for one domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// TXT records at the domain itself (its SPF record).
    pub apex_txt: Answer<Vec<String>>,
    /// TXT at `_dmarc.<domain>`.
    pub dmarc_txt: Answer<Vec<String>>,
    /// TXT at `_dmarc.<organizational domain>`, fetched only when the domain has no DMARC
    /// record of its own and is not its own organizational domain (RFC 7489 §6.6.3).
    pub org_dmarc_txt: Option<Answer<Vec<String>>>,
    /// TXT at the custom MAIL FROM domain, when there is one.
    pub mail_from_txt: Option<Answer<Vec<String>>>,
    /// MX at the custom MAIL FROM domain, when there is one.
    pub mail_from_mx: Option<Answer<Vec<MxRecord>>>,
    /// One entry per expected DKIM key, in the order of the input.
    pub dkim: Vec<DkimObserved>,
    /// TXT of every `include:`/`redirect=` target reached from the SPF records above.
    pub spf_targets: BTreeMap<String, Answer<Vec<String>>>,
}

async fn dkim_key(dns: &dyn DnsLookup, signing_domain: &str, selector: &str) -> DkimObserved {
    let name = format!("{selector}._domainkey.{signing_domain}");
    let (cname, txt) = join(dns.cname(&name), dns.txt(&name)).await;
    let mut misplaced = None;
    if matches!((&cname, &txt), (Err(a), Err(b)) if a.is_negative() && b.is_negative()) {
        for wrong in [
            format!("{name}.{signing_domain}"),
            format!("{selector}.domainkey.{signing_domain}"),
        ] {
            if dns.cname(&wrong).await.is_ok() {
                misplaced = Some(wrong);
                break;
            }
        }
    }
    DkimObserved {
        name,
        cname,
        txt,
        misplaced,
    }
}

/// Asks the DNS everything [`crate::check::evaluate`] needs for `input`. Independent lookups
/// run concurrently, so a slow or dead resolver costs one timeout, not one per record.
pub async fn gather(dns: &dyn DnsLookup, input: &CheckInput) -> Observed {
    let domain = input.domain.as_str();
    let org = dmarc::organizational_domain(domain);
    let dmarc_name = format!("_dmarc.{domain}");
    let mail_from = async {
        match &input.mail_from {
            Some(mf) => {
                let (t, m) = join(dns.txt(mf), dns.mx(mf)).await;
                (Some(t), Some(m))
            }
            None => (None, None),
        }
    };
    let dkim = async {
        match &input.dkim {
            DkimSetup::Keys {
                signing_domain,
                keys,
                ..
            } => {
                join_all(
                    keys.iter()
                        .map(|k| dkim_key(dns, signing_domain, &k.selector)),
                )
                .await
            }
            _ => Vec::new(),
        }
    };
    let (((apex_txt, dmarc_txt), (mail_from_txt, mail_from_mx)), dkim) = join(
        join(join(dns.txt(domain), dns.txt(&dmarc_name)), mail_from),
        dkim,
    )
    .await;
    let has_own = matches!(&dmarc_txt, Ok(t) if !dmarc::dmarc_records(t).is_empty());
    let org_dmarc_txt =
        if !has_own && org != domain && !matches!(dmarc_txt, Err(DnsError::ServerError(_))) {
            Some(dns.txt(&format!("_dmarc.{org}")).await)
        } else {
            None
        };

    // The SPF trees: breadth-first through include/redirect targets.
    let mut spf_targets = BTreeMap::new();
    let mut queue: Vec<String> = Vec::new();
    let push_targets = |txts: &[String], queue: &mut Vec<String>| {
        for rec in spf::spf_records(txts) {
            if let Ok(r) = spf::parse(rec) {
                for t in r.includes().chain(r.redirect()) {
                    let t = t.trim_end_matches('.').to_ascii_lowercase();
                    if !t.contains('%') {
                        queue.push(t);
                    }
                }
            }
        }
    };
    for t in [Some(&apex_txt), mail_from_txt.as_ref()]
        .into_iter()
        .flatten()
        .flatten()
    {
        push_targets(t, &mut queue);
    }
    let mut fetched = 0;
    while let Some(target) = (!queue.is_empty()).then(|| queue.remove(0)) {
        if spf_targets.contains_key(&target) || fetched >= MAX_SPF_FETCHES {
            continue;
        }
        fetched += 1;
        let answer = dns.txt(&target).await;
        if let Ok(t) = &answer {
            push_targets(t, &mut queue);
        }
        spf_targets.insert(target, answer);
    }

    Observed {
        apex_txt,
        dmarc_txt,
        org_dmarc_txt,
        mail_from_txt,
        mail_from_mx,
        dkim,
        spf_targets,
    }
}
