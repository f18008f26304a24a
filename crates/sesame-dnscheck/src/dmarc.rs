//! DMARC records (RFC 7489 §6.3), the organizational domain (§3.2, from the Public Suffix
//! List) and identifier alignment (§3.1.1 DKIM, §3.1.2 SPF).

use serde::Serialize;

/// `p=` / `sp=` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    fn parse(v: &str) -> Option<Policy> {
        match v.to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }
}

/// `adkim=` / `aspf=` values (§6.3): relaxed is the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Alignment {
    Relaxed,
    Strict,
}

impl Alignment {
    pub fn as_str(self) -> &'static str {
        match self {
            Alignment::Relaxed => "r",
            Alignment::Strict => "s",
        }
    }
}

/// A parsed DMARC record, defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DmarcRecord {
    pub p: Policy,
    /// `sp=`, the policy for subdomains (defaults to `p`).
    pub sp: Option<Policy>,
    pub adkim: Alignment,
    pub aspf: Alignment,
    pub pct: u8,
    pub rua: Vec<String>,
    pub ruf: Vec<String>,
}

/// True when `txt` starts with the `v=DMARC1` tag (§6.4: it must be first).
pub fn is_dmarc(txt: &str) -> bool {
    txt.split(';')
        .next()
        .map(|t| t.trim().replace(' ', ""))
        .is_some_and(|t| t.eq_ignore_ascii_case("v=DMARC1"))
}

/// Parses a DMARC record. `Err` for a record receivers would discard (§6.6.3): a bad `v`, no
/// valid `p`, or a malformed known tag.
pub fn parse(txt: &str) -> Result<DmarcRecord, String> {
    if !is_dmarc(txt) {
        return Err("does not start with v=DMARC1".into());
    }
    let mut p = None;
    let mut rec = DmarcRecord {
        p: Policy::None,
        sp: None,
        adkim: Alignment::Relaxed,
        aspf: Alignment::Relaxed,
        pct: 100,
        rua: vec![],
        ruf: vec![],
    };
    for tag in txt.split(';').skip(1) {
        let tag = tag.trim();
        if tag.is_empty() {
            continue;
        }
        let Some((k, v)) = tag.split_once('=') else {
            return Err(format!("malformed tag '{tag}'"));
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        let align = |v: &str| match v.to_ascii_lowercase().as_str() {
            "r" => Ok(Alignment::Relaxed),
            "s" => Ok(Alignment::Strict),
            _ => Err(format!("{k}={v}: must be r or s")),
        };
        let uris = |v: &str| {
            v.split(',')
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect::<Vec<_>>()
        };
        match k.as_str() {
            "p" => p = Some(Policy::parse(v).ok_or_else(|| format!("p={v}: unknown policy"))?),
            "sp" => {
                rec.sp = Some(Policy::parse(v).ok_or_else(|| format!("sp={v}: unknown policy"))?)
            }
            "adkim" => rec.adkim = align(v)?,
            "aspf" => rec.aspf = align(v)?,
            "pct" => {
                rec.pct = v
                    .parse::<u8>()
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or_else(|| format!("pct={v}: must be 0..100"))?
            }
            "rua" => rec.rua = uris(v),
            "ruf" => rec.ruf = uris(v),
            // fo, rf, ri and unknown tags are ignored (§6.3).
            _ => {}
        }
    }
    rec.p = p.ok_or("no p= tag")?;
    Ok(rec)
}

/// The DMARC records among a name's TXT records.
pub fn dmarc_records(txts: &[String]) -> Vec<&str> {
    txts.iter()
        .map(String::as_str)
        .filter(|t| is_dmarc(t))
        .collect()
}

/// The organizational domain of `name` (RFC 7489 §3.2): the public suffix plus one label, from
/// the Public Suffix List; a name that is itself a public suffix is its own.
pub fn organizational_domain(name: &str) -> String {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&n).map(str::to_string).unwrap_or(n)
}

/// Identifier alignment (§3.1.1, §3.1.2): strict = the same name; relaxed = the same
/// organizational domain.
pub fn aligned(authenticated: &str, from_domain: &str, mode: Alignment) -> bool {
    let a = authenticated.trim_end_matches('.').to_ascii_lowercase();
    let f = from_domain.trim_end_matches('.').to_ascii_lowercase();
    match mode {
        Alignment::Strict => a == f,
        Alignment::Relaxed => organizational_domain(&a) == organizational_domain(&f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_record() {
        // seed000: _dmarc.captaindns.com TXT "v=DMARC1;p=reject;adkim=r;aspf=r;rua=mailto:…"
        let r = parse("v=DMARC1;p=reject;adkim=r;aspf=r;rua=mailto:dmarc@captaindns.com").unwrap();
        assert_eq!(
            r,
            DmarcRecord {
                p: Policy::Reject,
                sp: None,
                adkim: Alignment::Relaxed,
                aspf: Alignment::Relaxed,
                pct: 100,
                rua: vec!["mailto:dmarc@captaindns.com".into()],
                ruf: vec![],
            }
        );
        // D-104's example; defaults: relaxed alignment, pct 100.
        let r = parse("v=DMARC1; p=quarantine; rua=mailto:my_dmarc_report@example.com").unwrap();
        assert_eq!(
            (r.p, r.adkim, r.aspf, r.pct),
            (
                Policy::Quarantine,
                Alignment::Relaxed,
                Alignment::Relaxed,
                100
            )
        );
        let r = parse("v=DMARC1; p=none; sp=reject; aspf=s; adkim=S; pct=25; rua=mailto:a@x.test, mailto:b@x.test; fo=1").unwrap();
        assert_eq!(r.sp, Some(Policy::Reject));
        assert_eq!(
            (r.aspf, r.adkim, r.pct),
            (Alignment::Strict, Alignment::Strict, 25)
        );
        assert_eq!(r.rua.len(), 2);
    }

    #[test]
    fn rejects_broken_records() {
        for bad in [
            "v=DMARC1; rua=mailto:a@x.test",
            "v=DMARC1; p=block",
            "v=DMARC1; p=none; aspf=x",
            "v=DMARC1; p=none; pct=150",
            "p=none; v=DMARC1",
            "v=spf1 -all",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(is_dmarc("v = DMARC1; p=none"));
    }

    #[test]
    fn organizational_domains_from_the_psl() {
        for (name, org) in [
            ("example.com", "example.com"),
            ("bounce.example.com", "example.com"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("mail.captaindns.com", "captaindns.com"),
            // Not in the PSL: the default rule "*" makes the last label the suffix.
            ("bounce.good.test", "good.test"),
            ("co.uk", "co.uk"),
        ] {
            assert_eq!(organizational_domain(name), org, "{name}");
        }
    }

    #[test]
    fn seed_alignment_table() {
        use Alignment::*;
        // seed000 "Alignement SPF" and "Alignement DKIM" tables, RFC 7489 §3.1.
        let cases: &[(&str, &str, Alignment, bool, &str)] = &[
            (
                "bounce.example.com",
                "example.com",
                Relaxed,
                true,
                "custom MAIL FROM + aspf=r",
            ),
            (
                "bounce.example.com",
                "example.com",
                Strict,
                false,
                "custom MAIL FROM + aspf=s",
            ),
            (
                "us-east-1.mail.example.net",
                "example.com",
                Relaxed,
                false,
                "default MAIL FROM",
            ),
            (
                "example.com",
                "example.com",
                Strict,
                true,
                "Easy DKIM d=domain, adkim=s",
            ),
            (
                "example.com",
                "news.example.com",
                Relaxed,
                true,
                "d=parent, From subdomain, adkim=r",
            ),
            (
                "example.com",
                "news.example.com",
                Strict,
                false,
                "d=parent, From subdomain, adkim=s",
            ),
            (
                "example.co.uk",
                "other.co.uk",
                Relaxed,
                false,
                "PSL: co.uk is a suffix",
            ),
            (
                "Bounce.Example.COM.",
                "example.com",
                Relaxed,
                true,
                "case and trailing dot",
            ),
        ];
        for (auth, from, mode, want, why) in cases {
            assert_eq!(aligned(auth, from, *mode), *want, "{why}");
        }
    }
}
