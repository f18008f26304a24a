//! The instance zone `<sd>` (the service domain) as data: which names exist, what they hold,
//! and the authoritative answer to one question (DECISIONS Q-63..Q-69, Q-65 (a)).
//!
//! Served names (every one derived from the configuration, except the DKIM keys, which come from
//! the shared store through [`crate::server::DkimKeys`]):
//!
//! | name | records |
//! |---|---|
//! | `<sd>` | SOA, NS `ns.<sd>` |
//! | `ns.<sd>` | A/AAAA of the responder (`dns_public_ips`) |
//! | `spf.<sd>` | TXT `v=spf1 ip4:… ip6:… ~all` from `outbound_ips` (Q-69) |
//! | `<region>.<sd>` | MX 10 `feedback-smtp.<region>.<sd>`, TXT `v=spf1 include:spf.<sd> ~all` (Q-67) |
//! | `feedback-smtp.<region>.<sd>` | A/AAAA of the feedback MX (`feedback_mx_ips`, Q-68) |
//! | `dkim.<sd>` | nothing (an empty non-terminal: NODATA, not NXDOMAIN) |
//! | `<token>.dkim.<sd>` | TXT `v=DKIM1; k=rsa; p=…` of an Easy DKIM key (Q-64, Q-65) |
//! | `<operator_selector>._domainkey.<sd>` | TXT `v=DKIM1; k=rsa; p=…` of the operator key (Q-72) |
//!
//! Answers follow RFC 1034 §4.3.2 and RFC 2308: AA on every answer for a name in the zone;
//! NXDOMAIN for a name that does not exist, NOERROR with no answer (NODATA) for a name that
//! exists without the asked type (empty non-terminals included), and the SOA in the authority
//! section of both negative answers (its TTL capped by the SOA minimum, RFC 2308 §3);
//! REFUSED for a name outside the zone (we are not a resolver).

use std::collections::BTreeMap;
use std::net::IpAddr;

use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{A, AAAA, MX, NS, SOA, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};

/// What the zone publishes; built from the configuration by the composition root.
#[derive(Clone, Debug)]
pub struct ZoneConfig {
    /// `<sd>`, lower case, without the trailing dot.
    pub origin: String,
    /// Regions served: one `<region>.<sd>` (default MAIL FROM domain) each.
    pub regions: Vec<String>,
    /// Sending addresses listed in `spf.<sd>`.
    pub outbound_ips: Vec<IpAddr>,
    /// Addresses of `feedback-smtp.<region>.<sd>` (the feedback MX), for every region.
    pub feedback_mx_ips: Vec<IpAddr>,
    /// Addresses of `ns.<sd>`, the name server the operator delegates the zone to.
    pub ns_ips: Vec<IpAddr>,
    /// TTL of every record.
    pub ttl: u32,
    /// The operator DKIM key: `(selector, p= value)`, published at
    /// `<selector>._domainkey.<sd>`; `None` when the operator signature is disabled.
    pub operator_dkim: Option<(String, String)>,
    /// SOA serial. No zone transfers are offered (each node answers from the shared store),
    /// so the serial only has to be plausible; the composition root passes the start time.
    pub serial: u32,
}

/// The longest character-string of a TXT record (RFC 1035 §3.3).
pub const TXT_STRING_MAX: usize = 255;

/// Splits `text` into ≤255-byte character-strings (the text is ASCII: DKIM and SPF values).
pub fn txt_strings(text: &str) -> Vec<String> {
    text.as_bytes()
        .chunks(TXT_STRING_MAX)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// The TXT value published for an Easy DKIM key (RFC 6376 §3.6.1).
pub fn dkim_txt(public_key_b64: &str) -> String {
    format!("v=DKIM1; k=rsa; p={public_key_b64}")
}

/// The `spf.<sd>` value: every outbound IP, soft fail for the rest.
pub fn spf_text(ips: &[IpAddr]) -> String {
    let mut s = String::from("v=spf1");
    for ip in ips {
        match ip {
            IpAddr::V4(v4) => s.push_str(&format!(" ip4:{v4}")),
            IpAddr::V6(v6) => s.push_str(&format!(" ip6:{v6}")),
        }
    }
    s.push_str(" ~all");
    s
}

/// Where a question lands in the zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Not in `<sd>`: REFUSED.
    Outside,
    /// `<token>.dkim.<sd>`: the answer depends on the store.
    DkimToken(String),
    /// Any other name in the zone.
    Static,
}

/// The answer to one question, before it is put on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub rcode: ResponseCode,
    /// Authoritative (false only for REFUSED).
    pub authoritative: bool,
    pub answers: Vec<Record>,
    /// The SOA of negative answers.
    pub authority: Vec<Record>,
}

/// The static part of the zone, indexed by lower-case owner name (no trailing dot).
#[derive(Clone, Debug)]
pub struct Zone {
    cfg: ZoneConfig,
    names: BTreeMap<String, Vec<RData>>,
    soa: SOA,
}

fn name(s: &str) -> Name {
    // Names are built from validated configuration (labels checked by sesame-config).
    Name::from_ascii(format!("{s}.")).unwrap_or_else(|_| Name::root())
}

fn addresses(ips: &[IpAddr]) -> Vec<RData> {
    ips.iter()
        .map(|ip| match ip {
            IpAddr::V4(v4) => RData::A(A(*v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
        })
        .collect()
}

impl Zone {
    pub fn new(cfg: ZoneConfig) -> Zone {
        let sd = cfg.origin.trim_end_matches('.').to_ascii_lowercase();
        let soa = SOA::new(
            name(&format!("ns.{sd}")),
            name(&format!("hostmaster.{sd}")),
            cfg.serial,
            3600,
            600,
            1_209_600,
            60,
        );
        let mut names: BTreeMap<String, Vec<RData>> = BTreeMap::new();
        names.insert(
            sd.clone(),
            vec![
                RData::SOA(soa.clone()),
                RData::NS(NS(name(&format!("ns.{sd}")))),
            ],
        );
        names.insert(format!("ns.{sd}"), addresses(&cfg.ns_ips));
        names.insert(
            format!("spf.{sd}"),
            vec![RData::TXT(TXT::new(txt_strings(&spf_text(
                &cfg.outbound_ips,
            ))))],
        );
        names.insert(format!("dkim.{sd}"), vec![]);
        if let Some((selector, public_key)) = &cfg.operator_dkim {
            names.insert(
                format!("{}._domainkey.{sd}", selector.to_ascii_lowercase()),
                vec![RData::TXT(TXT::new(txt_strings(&dkim_txt(public_key))))],
            );
        }
        for region in &cfg.regions {
            let region = region.to_ascii_lowercase();
            names.insert(
                format!("{region}.{sd}"),
                vec![
                    RData::MX(MX::new(10, name(&format!("feedback-smtp.{region}.{sd}")))),
                    RData::TXT(TXT::new(vec![format!("v=spf1 include:spf.{sd} ~all")])),
                ],
            );
            names.insert(
                format!("feedback-smtp.{region}.{sd}"),
                addresses(&cfg.feedback_mx_ips),
            );
        }
        Zone {
            cfg: ZoneConfig { origin: sd, ..cfg },
            names,
            soa,
        }
    }

    pub fn origin(&self) -> &str {
        &self.cfg.origin
    }

    /// Classifies a query name (any case, with or without the trailing dot).
    pub fn place(&self, qname: &str) -> Place {
        let q = qname.trim_end_matches('.').to_ascii_lowercase();
        let sd = &self.cfg.origin;
        if q != *sd && !q.ends_with(&format!(".{sd}")) {
            return Place::Outside;
        }
        if let Some(token) = q.strip_suffix(&format!(".dkim.{sd}")) {
            if !token.is_empty() && !token.contains('.') {
                return Place::DkimToken(token.to_string());
            }
        }
        Place::Static
    }

    fn soa_record(&self) -> Record {
        // RFC 2308 §3: the negative-caching TTL is min(SOA TTL, SOA minimum).
        let ttl = self.cfg.ttl.min(self.soa.minimum());
        Record::from_rdata(name(&self.cfg.origin), ttl, RData::SOA(self.soa.clone()))
    }

    fn positive(&self, owner: &Name, qtype: RecordType, rdatas: &[RData]) -> Answer {
        let answers: Vec<Record> = rdatas
            .iter()
            .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
            .map(|r| Record::from_rdata(owner.clone(), self.cfg.ttl, r.clone()))
            .collect();
        if answers.is_empty() {
            return self.negative(ResponseCode::NoError);
        }
        Answer {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers,
            authority: vec![],
        }
    }

    fn negative(&self, rcode: ResponseCode) -> Answer {
        Answer {
            rcode,
            authoritative: true,
            answers: vec![],
            authority: vec![self.soa_record()],
        }
    }

    /// The answer for `qname`/`qtype`. `dkim_key` is the store's answer for a
    /// [`Place::DkimToken`] name (the `p=` value, `None` when no such key); ignored elsewhere.
    /// `owner` is the question's name as asked (answers repeat its case).
    pub fn answer(&self, owner: &Name, qtype: RecordType, dkim_key: Option<&str>) -> Answer {
        let qname = owner.to_ascii();
        match self.place(&qname) {
            Place::Outside => Answer {
                rcode: ResponseCode::Refused,
                authoritative: false,
                answers: vec![],
                authority: vec![],
            },
            Place::DkimToken(_) => match dkim_key {
                Some(p) => self.positive(
                    owner,
                    qtype,
                    &[RData::TXT(TXT::new(txt_strings(&dkim_txt(p))))],
                ),
                None => self.negative(ResponseCode::NXDomain),
            },
            Place::Static => {
                let q = qname.trim_end_matches('.').to_ascii_lowercase();
                if let Some(rdatas) = self.names.get(&q) {
                    return self.positive(owner, qtype, rdatas);
                }
                // An empty non-terminal (an ancestor of a served name) exists: NODATA.
                let suffix = format!(".{q}");
                if self.names.keys().any(|n| n.ends_with(&suffix)) {
                    return self.negative(ResponseCode::NoError);
                }
                self.negative(ResponseCode::NXDomain)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Zone {
        Zone::new(ZoneConfig {
            origin: "Mail.Example.NET.".into(),
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            outbound_ips: vec!["192.0.2.7".parse().unwrap(), "2001:db8::7".parse().unwrap()],
            feedback_mx_ips: vec!["192.0.2.25".parse().unwrap()],
            ns_ips: vec!["192.0.2.53".parse().unwrap()],
            ttl: 300,
            operator_dkim: Some(("sesame1".into(), "OPKEY".into())),
            serial: 7,
        })
    }

    fn ask(
        z: &Zone,
        q: &str,
        t: RecordType,
        key: Option<&str>,
    ) -> (ResponseCode, bool, Vec<String>, usize) {
        let a = z.answer(&Name::from_ascii(q).unwrap(), t, key);
        let values = a.answers.iter().map(|r| r.data().to_string()).collect();
        (a.rcode, a.authoritative, values, a.authority.len())
    }

    /// the configured records, case-insensitively, with AA.
    #[test]
    fn static_records() {
        let z = zone();
        assert_eq!(z.origin(), "mail.example.net");
        let (rc, aa, v, _) = ask(&z, "SPF.mail.example.net.", RecordType::TXT, None);
        assert_eq!((rc, aa), (ResponseCode::NoError, true));
        assert_eq!(v, vec!["v=spf1 ip4:192.0.2.7 ip6:2001:db8::7 ~all"]);
        let (_, _, v, _) = ask(&z, "us-east-1.mail.example.net.", RecordType::MX, None);
        assert_eq!(v, vec!["10 feedback-smtp.us-east-1.mail.example.net."]);
        let (_, _, v, _) = ask(&z, "eu-west-1.mail.example.net.", RecordType::TXT, None);
        assert_eq!(v, vec!["v=spf1 include:spf.mail.example.net ~all"]);
        let (_, _, v, _) = ask(
            &z,
            "feedback-smtp.eu-west-1.mail.example.net.",
            RecordType::A,
            None,
        );
        assert_eq!(v, vec!["192.0.2.25"]);
        let (_, _, v, _) = ask(&z, "mail.example.net.", RecordType::NS, None);
        assert_eq!(v, vec!["ns.mail.example.net."]);
        let (_, _, v, _) = ask(&z, "ns.mail.example.net.", RecordType::A, None);
        assert_eq!(v, vec!["192.0.2.53"]);
        let (_, _, v, _) = ask(&z, "mail.example.net.", RecordType::SOA, None);
        assert_eq!(
            v,
            vec!["ns.mail.example.net. hostmaster.mail.example.net. 7 3600 600 1209600 60"]
        );
        let (_, _, v, _) = ask(&z, "us-east-1.mail.example.net.", RecordType::ANY, None);
        assert_eq!(v.len(), 2);
        // the operator key; `_domainkey.<sd>` is an empty non-terminal (NODATA).
        let (rc, aa, v, _) = ask(
            &z,
            "SESAME1._domainkey.mail.example.net.",
            RecordType::TXT,
            None,
        );
        assert_eq!((rc, aa), (ResponseCode::NoError, true));
        assert_eq!(v, vec!["v=DKIM1; k=rsa; p=OPKEY"]);
        let (rc, _, v, auth) = ask(&z, "_domainkey.mail.example.net.", RecordType::TXT, None);
        assert_eq!((rc, v.len(), auth), (ResponseCode::NoError, 0, 1));
        let (rc, ..) = ask(
            &z,
            "other._domainkey.mail.example.net.",
            RecordType::TXT,
            None,
        );
        assert_eq!(rc, ResponseCode::NXDomain);
    }

    /// RFC 2308: NXDOMAIN vs NODATA, both with the SOA; REFUSED outside the zone.
    #[test]
    fn negative_answers() {
        let z = zone();
        for (q, t, rc) in [
            (
                "nothing.mail.example.net.",
                RecordType::A,
                ResponseCode::NXDomain,
            ),
            (
                "spf.mail.example.net.",
                RecordType::A,
                ResponseCode::NoError,
            ),
            (
                "dkim.mail.example.net.",
                RecordType::TXT,
                ResponseCode::NoError,
            ),
            (
                "x.spf.mail.example.net.",
                RecordType::TXT,
                ResponseCode::NXDomain,
            ),
            (
                "feedback-smtp.ap-south-1.mail.example.net.",
                RecordType::A,
                ResponseCode::NXDomain,
            ),
            (
                "a.b.dkim.mail.example.net.",
                RecordType::TXT,
                ResponseCode::NXDomain,
            ),
        ] {
            let (got, aa, v, auth) = ask(&z, q, t, None);
            assert_eq!((got, aa, v.len(), auth), (rc, true, 0, 1), "{q} {t}");
        }
        let soa = z.answer(
            &Name::from_ascii("nothing.mail.example.net.").unwrap(),
            RecordType::A,
            None,
        );
        assert_eq!(
            soa.authority[0].ttl(),
            60,
            "RFC 2308 §3: min(TTL, SOA minimum)"
        );
        assert_eq!(soa.authority[0].record_type(), RecordType::SOA);
        let (rc, aa, v, auth) = ask(&z, "example.net.", RecordType::A, None);
        assert_eq!(
            (rc, aa, v.len(), auth),
            (ResponseCode::Refused, false, 0, 0)
        );
        let (rc, ..) = ask(&z, "evilmail.example.net.", RecordType::A, None);
        assert_eq!(rc, ResponseCode::Refused);
    }

    /// a token's TXT is `v=DKIM1; k=rsa; p=…`, split in ≤255-byte strings; an unknown
    /// token is NXDOMAIN; the owner keeps the question's case.
    #[test]
    fn dkim_tokens() {
        let z = zone();
        assert_eq!(
            z.place("ABC.dkim.mail.example.net."),
            Place::DkimToken("abc".into())
        );
        assert_eq!(z.place("x.abc.dkim.mail.example.net"), Place::Static);
        let p = "A".repeat(392); // a 2048-bit key's base64 SubjectPublicKeyInfo
        let owner = Name::from_ascii("Tok.dkim.mail.example.net.").unwrap();
        let a = z.answer(&owner, RecordType::TXT, Some(&p));
        assert_eq!((a.rcode, a.authoritative), (ResponseCode::NoError, true));
        assert_eq!(a.answers[0].name().to_ascii(), "Tok.dkim.mail.example.net.");
        let RData::TXT(txt) = a.answers[0].data() else {
            panic!("not TXT")
        };
        let parts: Vec<&[u8]> = txt.iter().map(|s| &s[..]).collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].len(), 255);
        assert_eq!(
            [parts[0], parts[1]].concat(),
            format!("v=DKIM1; k=rsa; p={p}").into_bytes()
        );
        let a = z.answer(&owner, RecordType::A, Some(&p));
        assert_eq!(
            (a.rcode, a.answers.len(), a.authority.len()),
            (ResponseCode::NoError, 0, 1)
        );
        let a = z.answer(&owner, RecordType::TXT, None);
        assert_eq!((a.rcode, a.authority.len()), (ResponseCode::NXDomain, 1));
    }
}
