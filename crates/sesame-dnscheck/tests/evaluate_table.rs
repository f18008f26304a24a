//! Table tests of the pure evaluator (`sesame_dnscheck::evaluate`): one good set-up, then one
//! change per row, each with the exact verdicts and finding codes it must produce. Cases cite
//! seed000's alignment tables, spec D (D-69, D-97, D-101..D-105) and DECISIONS Q-64..Q-69.

use std::collections::BTreeMap;

use sesame_dnscheck::gather::DkimObserved;
use sesame_dnscheck::{evaluate, CheckInput, DkimSetup, ExpectedKey, Observed, Report, Verdict};
use sesame_model::dns::{DnsError, MxRecord};

const K2048: &str = include_str!("../testdata/rsa2048.spki.b64");
const K1024: &str = include_str!("../testdata/rsa1024.spki.b64");
const SD: &str = "platform.test";
const TOKENS: [&str; 3] = ["tok1aaaa", "tok2bbbb", "tok3cccc"];

fn input() -> CheckInput {
    CheckInput {
        domain: "good.test".into(),
        service_domain: SD.into(),
        region: "us-east-1".into(),
        mail_from: Some("bounce.good.test".into()),
        dkim: DkimSetup::Keys {
            signing_domain: "good.test".into(),
            easy: true,
            keys: TOKENS
                .iter()
                .map(|t| ExpectedKey {
                    selector: t.to_string(),
                    public_key: Some(K2048.into()),
                })
                .collect(),
        },
    }
}

fn txt(v: &[&str]) -> Result<Vec<String>, DnsError> {
    Ok(v.iter().map(|s| s.to_string()).collect())
}

fn nx(name: &str) -> Result<Vec<String>, DnsError> {
    Err(DnsError::HostNotFound(name.into()))
}

fn dkim_ok(domain: &str, key: &str) -> Vec<DkimObserved> {
    TOKENS
        .iter()
        .map(|t| DkimObserved {
            name: format!("{t}._domainkey.{domain}"),
            cname: Ok(format!("{t}.dkim.{SD}")),
            txt: txt(&[&format!("v=DKIM1; k=rsa; p={key}")]),
            misplaced: None,
        })
        .collect()
}

/// seed000's recommended set-up: Easy DKIM + custom MAIL FROM + p=reject with relaxed alignment.
fn good() -> Observed {
    Observed {
        apex_txt: txt(&[
            "v=spf1 include:spf.platform.test ~all",
            "site-verification=x",
        ]),
        dmarc_txt: txt(&["v=DMARC1;p=reject;adkim=r;aspf=r;rua=mailto:dmarc@good.test"]),
        org_dmarc_txt: None,
        mail_from_txt: Some(txt(&["v=spf1 include:spf.platform.test ~all"])),
        mail_from_mx: Some(Ok(vec![MxRecord {
            preference: 10,
            exchange: "feedback-smtp.us-east-1.platform.test".into(),
        }])),
        dkim: dkim_ok("good.test", K2048),
        spf_targets: BTreeMap::from([(
            "spf.platform.test".to_string(),
            txt(&["v=spf1 ip4:127.0.8.1 ~all"]),
        )]),
    }
}

fn byodkim(i: &mut CheckInput, o: &mut Observed) {
    i.dkim = DkimSetup::Keys {
        signing_domain: "good.test".into(),
        easy: false,
        keys: vec![ExpectedKey {
            selector: "sel1".into(),
            public_key: Some(K2048.into()),
        }],
    };
    o.dkim = vec![DkimObserved {
        name: "sel1._domainkey.good.test".into(),
        cname: Err(DnsError::TypeNotFound("sel1._domainkey.good.test".into())),
        txt: txt(&[&format!("v=DKIM1; k=rsa; p={K2048}")]),
        misplaced: None,
    }];
}

fn codes(r: &Report) -> Vec<&'static str> {
    let mut c: Vec<_> = r.findings.iter().map(|f| f.code).collect();
    c.sort();
    c
}

struct Row {
    why: &'static str,
    change: fn(&mut CheckInput, &mut Observed),
    via_dkim: Verdict,
    via_spf: Verdict,
    quarantine: bool,
    reject: bool,
    codes: &'static [&'static str],
    exit: u8,
}

use Verdict::{Fail, Pass, Unknown};

fn rows() -> Vec<Row> {
    vec![
        Row {
            why: "seed000: Easy DKIM + custom MAIL FROM + aspf=r/adkim=r → DMARC via both",
            change: |_, _| {},
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &[],
            exit: 0,
        },
        Row {
            why: "D-21/Q-64: one Easy DKIM CNAME missing",
            change: |_, o| {
                o.dkim[1].cname = Err(DnsError::HostNotFound("x".into()));
                o.dkim[1].txt = nx("x");
            },
            via_dkim: Fail,
            via_spf: Pass,
            quarantine: true,
            reject: false,
            codes: &["dkim_cname_missing", "dmarc_reject_one_route"],
            exit: 1,
        },
        Row {
            why: "Q-64: CNAME to another provider's target",
            change: |_, o| o.dkim[0].cname = Ok("tok1aaaa.dkim.amazonses.com".into()),
            via_dkim: Fail,
            via_spf: Pass,
            quarantine: true,
            reject: false,
            codes: &["dkim_cname_wrong", "dmarc_reject_one_route"],
            exit: 1,
        },
        Row {
            why: "Q-65: CNAME right but the operator zone does not answer the key",
            change: |_, o| o.dkim[2].txt = nx("tok3cccc.dkim.platform.test"),
            via_dkim: Fail,
            via_spf: Pass,
            quarantine: true,
            reject: false,
            codes: &["dkim_key_missing", "dmarc_reject_one_route"],
            exit: 1,
        },
        Row {
            why: "the key behind the CNAME is not the identity's",
            change: |_, o| o.dkim = dkim_ok("good.test", K1024),
            via_dkim: Fail,
            via_spf: Pass,
            quarantine: true,
            reject: false,
            codes: &[
                "dkim_key_mismatch",
                "dkim_key_mismatch",
                "dkim_key_mismatch",
                "dkim_key_short",
                "dkim_key_short",
                "dkim_key_short",
                "dmarc_reject_one_route",
            ],
            exit: 1,
        },
        Row {
            why: "D-69: 1024-bit keys still verify, but get a warning",
            change: |i, o| {
                o.dkim = dkim_ok("good.test", K1024);
                if let DkimSetup::Keys { keys, .. } = &mut i.dkim {
                    keys.iter_mut()
                        .for_each(|k| k.public_key = Some(K1024.into()));
                }
            },
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &["dkim_key_short", "dkim_key_short", "dkim_key_short"],
            exit: 1,
        },
        Row {
            why: "D-97: two MX on the MAIL FROM domain → custom MAIL FROM fails",
            change: |_, o| {
                o.mail_from_mx = Some(Ok(vec![
                    MxRecord {
                        preference: 10,
                        exchange: "feedback-smtp.us-east-1.platform.test".into(),
                    },
                    MxRecord {
                        preference: 20,
                        exchange: "mx.other.test".into(),
                    },
                ]))
            },
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["dmarc_reject_one_route", "mail_from_mx_multiple"],
            exit: 1,
        },
        Row {
            why: "Q-68: MAIL FROM MX of another region",
            change: |_, o| {
                o.mail_from_mx = Some(Ok(vec![MxRecord {
                    preference: 10,
                    exchange: "feedback-smtp.eu-west-1.platform.test".into(),
                }]))
            },
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["dmarc_reject_one_route", "mail_from_mx_wrong"],
            exit: 1,
        },
        Row {
            why: "D-97: no MX on the MAIL FROM domain",
            change: |_, o| o.mail_from_mx = Some(Err(DnsError::TypeNotFound("mx".into()))),
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["dmarc_reject_one_route", "mail_from_mx_missing"],
            exit: 1,
        },
        Row {
            why: "seed000 table: custom MAIL FROM + aspf=s → SPF not aligned (mismatch subdomain)",
            change: |_, o| {
                o.dmarc_txt = txt(&["v=DMARC1;p=reject;adkim=r;aspf=s;rua=mailto:dmarc@good.test"])
            },
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["aspf_strict_mail_from", "dmarc_reject_one_route"],
            exit: 1,
        },
        Row {
            why: "seed000 table: default MAIL FROM never aligns; DKIM alone → quarantine only",
            change: |i, o| {
                i.mail_from = None;
                o.mail_from_mx = None;
                o.mail_from_txt = None;
                o.dmarc_txt = txt(&["v=DMARC1;p=quarantine;rua=mailto:dmarc@good.test"]);
            },
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["mail_from_default"],
            exit: 1,
        },
        Row {
            why: "seed000 table: verified address alone (no domain DKIM) and default MAIL FROM",
            change: |i, o| {
                i.dkim = DkimSetup::Disabled;
                i.mail_from = None;
                o.dkim.clear();
                o.mail_from_mx = None;
                o.mail_from_txt = None;
            },
            via_dkim: Fail,
            via_spf: Fail,
            quarantine: false,
            reject: false,
            codes: &[
                "dkim_disabled",
                "dmarc_policy_too_early",
                "dmarc_would_fail",
                "mail_from_default",
            ],
            exit: 1,
        },
        Row {
            why: "D-103: d=parent (inherited keys, Q-89) with adkim=s for a subdomain From",
            change: |i, o| {
                i.domain = "news.good.test".into();
                i.mail_from = Some("bounce.news.good.test".into());
                o.dmarc_txt = txt(&["v=DMARC1;p=reject;adkim=s;aspf=r;rua=mailto:d@good.test"]);
            },
            via_dkim: Fail,
            via_spf: Pass,
            quarantine: true,
            reject: false,
            codes: &["adkim_strict_subdomain", "dmarc_reject_one_route"],
            exit: 1,
        },
        Row {
            why: "D-103: d=parent with relaxed DKIM alignment passes",
            change: |i, _| {
                i.domain = "news.good.test".into();
                i.mail_from = Some("bounce.news.good.test".into());
            },
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &[],
            exit: 0,
        },
        Row {
            why: "D-104/D-105: no DMARC record",
            change: |_, o| {
                o.dmarc_txt = txt(&["v=spf1 -all"]);
            },
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &["dmarc_missing"],
            exit: 1,
        },
        Row {
            why: "RFC 7489 §6.6.3: two DMARC records are both ignored",
            change: |_, o| {
                o.dmarc_txt = txt(&["v=DMARC1; p=none", "v=DMARC1; p=reject"]);
            },
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &["dmarc_multiple"],
            exit: 1,
        },
        Row {
            why: "D-105: p=none, pct<100, no rua",
            change: |_, o| o.dmarc_txt = txt(&["v=DMARC1; p=none; pct=50"]),
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &["dmarc_no_rua", "dmarc_p_none", "dmarc_pct"],
            exit: 1,
        },
        Row {
            why: "RFC 7489 §6.6.3: policy of the organizational domain, sp= applies",
            change: |i, o| {
                i.domain = "shop.good.test".into();
                i.mail_from = Some("bounce.shop.good.test".into());
                if let DkimSetup::Keys { signing_domain, .. } = &mut i.dkim {
                    *signing_domain = "shop.good.test".into();
                }
                o.dkim = dkim_ok("shop.good.test", K2048);
                o.apex_txt = txt(&["v=spf1 include:spf.platform.test -all"]);
                o.dmarc_txt = nx("_dmarc.shop.good.test");
                o.org_dmarc_txt = Some(txt(&[
                    "v=DMARC1; p=none; sp=reject; rua=mailto:d@good.test",
                ]));
            },
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &["dmarc_inherited"],
            exit: 0,
        },
        Row {
            why: "RFC 7208 §4.6.4: MAIL FROM SPF over 10 lookups is a permerror",
            change: |_, o| {
                o.mail_from_txt = Some(txt(&[
                    "v=spf1 include:spf.platform.test a mx ptr a:x.test a:y.test mx:z.test exists:e.test include:big.test ~all",
                ]));
                o.spf_targets.insert(
                    "big.test".into(),
                    txt(&["v=spf1 a mx include:spf.platform.test -all"]),
                );
            },
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["dmarc_reject_one_route", "spf_too_many_lookups"],
            exit: 1,
        },
        Row {
            why: "RFC 7208 §4.5: two SPF records on the MAIL FROM domain",
            change: |_, o| {
                o.mail_from_txt = Some(txt(&[
                    "v=spf1 include:spf.platform.test ~all",
                    "v=spf1 mx -all",
                ]))
            },
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["dmarc_reject_one_route", "mail_from_spf_multiple"],
            exit: 1,
        },
        Row {
            why: "Q-69: MAIL FROM SPF without include:spf.<sd>",
            change: |_, o| {
                o.mail_from_txt = Some(txt(&["v=spf1 include:amazonses.com ~all"]));
                o.spf_targets.insert(
                    "amazonses.com".into(),
                    txt(&["v=spf1 ip4:199.255.192.0/22 ~all"]),
                );
            },
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["dmarc_reject_one_route", "mail_from_spf_no_include"],
            exit: 1,
        },
        Row {
            why: "D-97: no SPF record on the MAIL FROM domain",
            change: |_, o| o.mail_from_txt = Some(nx("bounce.good.test")),
            via_dkim: Pass,
            via_spf: Fail,
            quarantine: true,
            reject: false,
            codes: &["dmarc_reject_one_route", "mail_from_spf_missing"],
            exit: 1,
        },
        Row {
            why: "seed000: apex SPF optional but recommended; two apex SPF records break it",
            change: |_, o| {
                o.apex_txt = txt(&["v=spf1 include:spf.platform.test ~all", "v=spf1 mx ~all"])
            },
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &["spf_multiple"],
            exit: 1,
        },
        Row {
            why: "seed000: no apex SPF record",
            change: |_, o| o.apex_txt = nx("good.test"),
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &["spf_missing"],
            exit: 1,
        },
        Row {
            why: "D-80/Q-95: BYODKIM, one TXT key at <selector>._domainkey",
            change: |i, o| {
                byodkim(i, o);
            },
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &[],
            exit: 0,
        },
        Row {
            why: "D-80: BYODKIM TXT not published",
            change: |i, o| {
                byodkim(i, o);
                o.dkim[0].txt = nx("sel1._domainkey.good.test");
            },
            via_dkim: Fail,
            via_spf: Pass,
            quarantine: true,
            reject: false,
            codes: &["dkim_key_missing", "dmarc_reject_one_route"],
            exit: 1,
        },
        Row {
            why: "no account: DKIM selectors unknown",
            change: |i, o| {
                i.dkim = DkimSetup::Unknown;
                o.dkim.clear();
            },
            via_dkim: Unknown,
            via_spf: Pass,
            quarantine: true,
            reject: false,
            codes: &["dkim_unknown", "dmarc_reject_one_route"],
            exit: 1,
        },
        Row {
            why: "Q-85: SERVFAIL on the DMARC lookup makes the check inconclusive",
            change: |_, o| {
                o.dmarc_txt = Err(DnsError::ServerError(
                    "_dmarc.good.test TXT: SERVFAIL".into(),
                ))
            },
            via_dkim: Pass,
            via_spf: Pass,
            quarantine: true,
            reject: true,
            codes: &[],
            exit: 2,
        },
    ]
}

#[test]
fn evaluator_table() {
    let mut failures = Vec::new();
    for row in rows() {
        let (mut i, mut o) = (input(), good());
        (row.change)(&mut i, &mut o);
        let r = evaluate(&i, &o);
        let got = (
            r.dmarc_via_dkim,
            r.dmarc_via_spf,
            r.ready_for_quarantine,
            r.ready_for_reject,
            codes(&r),
            r.exit_code(),
        );
        let want = (
            row.via_dkim,
            row.via_spf,
            row.quarantine,
            row.reject,
            row.codes.to_vec(),
            row.exit,
        );
        if got != want {
            failures.push(format!(
                "{}\n   got  {got:?}\n   want {want:?}\n   findings: {:#?}",
                row.why, r.findings
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn q85_hints() {
    // the seed's common mistakes get a hint.
    let (i, mut o) = (input(), good());
    o.dkim[0].cname = Err(DnsError::HostNotFound("x".into()));
    o.dkim[0].txt = nx("x");
    o.dkim[0].misplaced = Some("tok1aaaa._domainkey.good.test.good.test".into());
    o.dkim[1].cname = Err(DnsError::HostNotFound("x".into()));
    o.dkim[1].txt = nx("x");
    o.dkim[1].misplaced = Some("tok2bbbb.domainkey.good.test".into());
    o.mail_from_mx = Some(Ok(vec![MxRecord {
        preference: 10,
        exchange: "feedback-smtp.eu-west-1.platform.test".into(),
    }]));
    let r = evaluate(&i, &o);
    let msgs: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(msgs.contains(&"CNAME missing: publish tok1aaaa._domainkey.good.test CNAME tok1aaaa.dkim.platform.test (found at tok1aaaa._domainkey.good.test.good.test: the domain was appended twice; many DNS providers add it to the name you type)"), "{msgs:#?}");
    assert!(msgs.contains(&"CNAME missing: publish tok2bbbb._domainkey.good.test CNAME tok2bbbb.dkim.platform.test (found at tok2bbbb.domainkey.good.test: the underscore of _domainkey is missing)"), "{msgs:#?}");
    assert!(msgs.contains(&"MX points at feedback-smtp.eu-west-1.platform.test instead of feedback-smtp.us-east-1.platform.test (the feedback host of region eu-west-1: publish this region's)"), "{msgs:#?}");
}

#[test]
fn records_to_publish_for_the_good_setup() {
    let r = evaluate(&input(), &good());
    let got: Vec<(&str, &str, &str, &str)> = r
        .records
        .iter()
        .map(|x| (x.rtype, x.name.as_str(), x.value.as_str(), x.status))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "CNAME",
                "tok1aaaa._domainkey.good.test",
                "tok1aaaa.dkim.platform.test",
                "ok"
            ),
            (
                "CNAME",
                "tok2bbbb._domainkey.good.test",
                "tok2bbbb.dkim.platform.test",
                "ok"
            ),
            (
                "CNAME",
                "tok3cccc._domainkey.good.test",
                "tok3cccc.dkim.platform.test",
                "ok"
            ),
            (
                "MX",
                "bounce.good.test",
                "10 feedback-smtp.us-east-1.platform.test",
                "ok"
            ),
            (
                "TXT",
                "bounce.good.test",
                "v=spf1 include:spf.platform.test ~all",
                "ok"
            ),
            (
                "TXT",
                "good.test",
                "v=spf1 include:spf.platform.test ~all",
                "ok"
            ),
            (
                "TXT",
                "_dmarc.good.test",
                "v=DMARC1;p=reject;adkim=r;aspf=r;rua=mailto:dmarc@good.test",
                "ok"
            ),
        ]
    );
    assert_eq!(r.mail_from_spf_lookups, Some(1));
    assert_eq!(
        r.dkim_keys.iter().map(|k| k.key_bits).collect::<Vec<_>>(),
        vec![Some(2048); 3]
    );
}

#[test]
fn suggested_records_follow_the_ladder_and_merge_spf() {
    // No DMARC yet: start at p=none (D-105), with a rua.
    let (i, mut o) = (input(), good());
    o.dmarc_txt = nx("_dmarc.good.test");
    o.apex_txt = txt(&["v=spf1 mx ~all"]);
    let r = evaluate(&i, &o);
    let dmarc = r
        .records
        .iter()
        .find(|x| x.name == "_dmarc.good.test")
        .unwrap();
    assert_eq!(
        (dmarc.value.as_str(), dmarc.status),
        (
            "v=DMARC1; p=none; adkim=r; aspf=r; rua=mailto:dmarc-reports@good.test",
            "missing"
        )
    );
    // The apex SPF record gets the include merged in, not a second record.
    let apex = r.records.iter().find(|x| x.name == "good.test").unwrap();
    assert_eq!(
        (apex.value.as_str(), apex.status),
        ("v=spf1 mx include:spf.platform.test ~all", "wrong")
    );
    // p=none and ready: next step quarantine, rua kept.
    o.dmarc_txt = txt(&["v=DMARC1; p=none; rua=mailto:agg@good.test"]);
    let r = evaluate(&i, &o);
    let dmarc = r
        .records
        .iter()
        .find(|x| x.name == "_dmarc.good.test")
        .unwrap();
    assert_eq!(
        dmarc.value,
        "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:agg@good.test"
    );
    // aspf=s with p=reject: the fix is relaxed alignment, not a lower policy.
    o.dmarc_txt = txt(&["v=DMARC1; p=reject; aspf=s; rua=mailto:agg@good.test"]);
    let r = evaluate(&i, &o);
    let dmarc = r
        .records
        .iter()
        .find(|x| x.name == "_dmarc.good.test")
        .unwrap();
    assert_eq!(
        (dmarc.value.as_str(), dmarc.status),
        (
            "v=DMARC1; p=reject; adkim=r; aspf=r; rua=mailto:agg@good.test",
            "wrong"
        )
    );
}

#[test]
fn bind_and_csv_output() {
    let r = evaluate(&input(), &good());
    let bind = sesame_dnscheck::render::bind(&r);
    assert!(
        bind.contains(
            "tok1aaaa._domainkey.good.test.\t3600\tIN\tCNAME\ttok1aaaa.dkim.platform.test.\t; ok\n"
        ),
        "{bind}"
    );
    assert!(
        bind.contains(
            "bounce.good.test.\t3600\tIN\tMX\t10 feedback-smtp.us-east-1.platform.test.\t; ok\n"
        ),
        "{bind}"
    );
    assert!(bind.contains(
        "good.test.\t3600\tIN\tTXT\t\"v=spf1 include:spf.platform.test ~all\"\t; ok, recommended\n"
    ), "{bind}");
    let csv = sesame_dnscheck::render::csv(&r);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "Type,Name,Value");
    assert_eq!(
        lines[1],
        "CNAME,tok1aaaa._domainkey.good.test,tok1aaaa.dkim.platform.test"
    );
    assert_eq!(
        lines[4],
        "MX,bounce.good.test,10 feedback-smtp.us-east-1.platform.test"
    );
    assert_eq!(
        lines[5],
        "TXT,bounce.good.test,\"\"\"v=spf1 include:spf.platform.test ~all\"\"\""
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["dmarc_via_dkim"], "pass");
    assert_eq!(json["records"][0]["type"], "CNAME");
}
