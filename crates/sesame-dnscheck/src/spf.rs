//! SPF records (RFC 7208) as far as the doctor needs them: which TXT records are SPF records
//! (§4.5), their terms (§4.6.1, §12), and the DNS-lookup count of §4.6.4, counted recursively
//! through `include:` and `redirect=`.

use std::collections::{BTreeMap, BTreeSet};

use sesame_model::dns::DnsError;

/// The §4.6.4 limit on terms that cause DNS lookups.
pub const MAX_DNS_LOOKUPS: usize = 10;

/// One term of an SPF record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// `[qualifier]name[:arg][/cidr]`; `qualifier` is one of `+ - ~ ?` (`+` when omitted).
    Mechanism {
        qualifier: char,
        /// Lower-case mechanism name: `all include a mx ptr ip4 ip6 exists`.
        name: String,
        /// The domain-spec or address after `:` (cidr lengths kept), if any.
        arg: Option<String>,
    },
    /// `name=value` (`redirect`, `exp`, or an unknown modifier).
    Modifier { name: String, value: String },
}

/// A parsed SPF record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfRecord {
    pub terms: Vec<Term>,
}

/// True when `txt` is an SPF record: exactly `v=spf1` followed by a space or the end (§4.5).
pub fn is_spf(txt: &str) -> bool {
    let t = txt.as_bytes();
    t.len() >= 6 && t[..6].eq_ignore_ascii_case(b"v=spf1") && (t.len() == 6 || t[6] == b' ')
}

/// The SPF records among the TXT records of a name.
pub fn spf_records(txts: &[String]) -> Vec<&str> {
    txts.iter()
        .map(String::as_str)
        .filter(|t| is_spf(t))
        .collect()
}

const MECHANISMS: [&str; 8] = ["all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"];

/// Parses an SPF record; `Err` is a permerror (§4.6): an unknown mechanism or a malformed term.
pub fn parse(txt: &str) -> Result<SpfRecord, String> {
    if !is_spf(txt) {
        return Err("does not start with v=spf1".into());
    }
    let mut terms = Vec::new();
    for raw in txt[6..].split(' ').filter(|t| !t.is_empty()) {
        let (qualifier, rest) = match raw.chars().next() {
            Some(q @ ('+' | '-' | '~' | '?')) => (q, &raw[1..]),
            _ => ('+', raw),
        };
        // A modifier is `name=value` where name has no ':' or '/' before the '='.
        if let Some(eq) = rest.find('=') {
            let name = &rest[..eq];
            if qualifier == '+'
                && raw == rest
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                terms.push(Term::Modifier {
                    name: name.to_ascii_lowercase(),
                    value: rest[eq + 1..].to_string(),
                });
                continue;
            }
        }
        let split = rest.find([':', '/']).unwrap_or(rest.len());
        let name = rest[..split].to_ascii_lowercase();
        if !MECHANISMS.contains(&name.as_str()) {
            return Err(format!("unknown mechanism '{raw}'"));
        }
        let arg = match rest[split..].strip_prefix(':') {
            Some("") => return Err(format!("empty argument in '{raw}'")),
            Some(a) => Some(a.to_string()),
            None if rest.len() > split => Some(rest[split..].to_string()),
            None => None,
        };
        if matches!(name.as_str(), "include" | "exists" | "ip4" | "ip6") && arg.is_none() {
            return Err(format!("'{raw}' needs an argument"));
        }
        terms.push(Term::Mechanism {
            qualifier,
            name,
            arg,
        });
    }
    let redirects = terms
        .iter()
        .filter(|t| matches!(t, Term::Modifier { name, .. } if name == "redirect"))
        .count();
    if redirects > 1 {
        return Err("more than one redirect= modifier".into());
    }
    Ok(SpfRecord { terms })
}

impl SpfRecord {
    /// Targets of `include:` mechanisms, in order.
    pub fn includes(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().filter_map(|t| match t {
            Term::Mechanism {
                name, arg: Some(a), ..
            } if name == "include" => Some(a.as_str()),
            _ => None,
        })
    }

    /// The `redirect=` target, used only when the record has no `all` mechanism (§6.1).
    pub fn redirect(&self) -> Option<&str> {
        if self.all().is_some() {
            return None;
        }
        self.terms.iter().find_map(|t| match t {
            Term::Modifier { name, value } if name == "redirect" => Some(value.as_str()),
            _ => None,
        })
    }

    /// The qualifier of the `all` mechanism, if any.
    pub fn all(&self) -> Option<char> {
        self.terms.iter().find_map(|t| match t {
            Term::Mechanism {
                qualifier, name, ..
            } if name == "all" => Some(*qualifier),
            _ => None,
        })
    }

    /// Terms of this record alone that count toward the §4.6.4 limit: `include`, `a`, `mx`,
    /// `ptr`, `exists` and `redirect` (when it applies).
    pub fn own_lookups(&self) -> usize {
        let mechs = self
            .terms
            .iter()
            .filter(|t| matches!(t, Term::Mechanism { name, .. } if matches!(name.as_str(), "include" | "a" | "mx" | "ptr" | "exists")))
            .count();
        mechs + usize::from(self.redirect().is_some())
    }
}

/// The whole tree under one SPF record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpfTree {
    /// DNS lookups the evaluation of the record needs (§4.6.4), through every include/redirect.
    pub lookups: usize,
    /// Every domain reached through `include:` or `redirect=`, lower-case.
    pub reached: BTreeSet<String>,
    /// Problems in included records (missing, several, unparsable, temporary errors, loops).
    pub problems: Vec<String>,
}

/// Counts the lookups of `record` recursively. `txt` gives the TXT records fetched for the
/// include/redirect targets (see [`crate::gather`]); a target not in it was not fetched.
pub fn tree(record: &SpfRecord, txt: &BTreeMap<String, Result<Vec<String>, DnsError>>) -> SpfTree {
    let mut out = SpfTree::default();
    let mut stack = Vec::new();
    walk(record, txt, &mut out, &mut stack);
    out
}

fn walk(
    record: &SpfRecord,
    txt: &BTreeMap<String, Result<Vec<String>, DnsError>>,
    out: &mut SpfTree,
    stack: &mut Vec<String>,
) {
    out.lookups += record.own_lookups();
    let targets: Vec<String> = record
        .includes()
        .chain(record.redirect())
        .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    for target in targets {
        out.reached.insert(target.clone());
        if target.contains('%') {
            // A macro (§7) expands per message: nothing to follow statically.
            continue;
        }
        if stack.contains(&target) || stack.len() >= MAX_DNS_LOOKUPS {
            out.problems.push(format!("include loop through {target}"));
            continue;
        }
        match txt.get(&target) {
            None => {}
            Some(Err(e)) if e.is_negative() => out.problems.push(format!(
                "{target} has no SPF record (include/redirect target)"
            )),
            Some(Err(e)) => out.problems.push(format!("{target}: {e}")),
            Some(Ok(records)) => {
                let spf = spf_records(records);
                match spf.as_slice() {
                    [] => out.problems.push(format!(
                        "{target} has no SPF record (include/redirect target)"
                    )),
                    [one] => match parse(one) {
                        Ok(inner) => {
                            stack.push(target.clone());
                            walk(&inner, txt, out, stack);
                            stack.pop();
                        }
                        Err(e) => out.problems.push(format!("{target}: {e}")),
                    },
                    _ => out
                        .problems
                        .push(format!("{target} has {} SPF records", spf.len())),
                }
            }
        }
    }
}

/// `record` with `include:<target>` added before its `all`/`redirect` (or at the end): the
/// merged record to publish instead of a second SPF record.
pub fn with_include(record: &str, target: &str) -> String {
    let mut parts: Vec<&str> = record.split(' ').filter(|p| !p.is_empty()).collect();
    let inc = format!("include:{target}");
    let pos = parts
        .iter()
        .position(|p| {
            let l = p.to_ascii_lowercase();
            l.trim_start_matches(['+', '-', '~', '?']) == "all" || l.starts_with("redirect=")
        })
        .unwrap_or(parts.len());
    parts.insert(pos, &inc);
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(q: char, name: &str, arg: Option<&str>) -> Term {
        Term::Mechanism {
            qualifier: q,
            name: name.into(),
            arg: arg.map(String::from),
        }
    }

    #[test]
    fn which_txt_records_are_spf() {
        // RFC 7208 §4.5: "v=spf1" then a space or the end; case-insensitive.
        for (txt, yes) in [
            ("v=spf1 -all", true),
            ("v=spf1", true),
            ("V=SPF1 include:x ~all", true),
            ("v=spf10 -all", false),
            ("v=spf1-all", false),
            ("spf1 -all", false),
            ("v=DMARC1; p=none", false),
            ("google-site-verification=abc", false),
        ] {
            assert_eq!(is_spf(txt), yes, "{txt}");
        }
    }

    #[test]
    fn parses_terms() {
        let r = parse("v=spf1 include:spf.platform.test ip4:192.0.2.0/24 -a:mail.x.test/28 mx ?ptr ~all redirect=x.test exp=e.x.test").unwrap();
        assert_eq!(
            r.terms,
            vec![
                m('+', "include", Some("spf.platform.test")),
                m('+', "ip4", Some("192.0.2.0/24")),
                m('-', "a", Some("mail.x.test/28")),
                m('+', "mx", None),
                m('?', "ptr", None),
                m('~', "all", None),
                Term::Modifier {
                    name: "redirect".into(),
                    value: "x.test".into()
                },
                Term::Modifier {
                    name: "exp".into(),
                    value: "e.x.test".into()
                },
            ]
        );
        assert_eq!(r.all(), Some('~'));
        // redirect is ignored when `all` is present (§6.1).
        assert_eq!(r.redirect(), None);
        assert_eq!(r.own_lookups(), 4);
        assert_eq!(
            parse("v=spf1 a/24 -all").unwrap().terms[0],
            m('+', "a", Some("/24"))
        );
    }

    #[test]
    fn permerrors() {
        for bad in [
            "v=spf1 include:",
            "v=spf1 include",
            "v=spf1 foo:bar",
            "v=spf1 ip4",
            "v=spf1 redirect=a.test redirect=b.test",
            "v=spf2 -all",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    fn zone(entries: &[(&str, &str)]) -> BTreeMap<String, Result<Vec<String>, DnsError>> {
        entries
            .iter()
            .map(|(n, t)| (n.to_string(), Ok(vec![t.to_string()])))
            .collect()
    }

    #[test]
    fn counts_lookups_recursively() {
        // RFC 7208 §4.6.4: include, a, mx, ptr, exists and redirect count, through includes;
        // ip4/ip6/all do not.
        let txt = zone(&[
            ("spf.platform.test", "v=spf1 ip4:127.0.8.1 ip6:::1 ~all"),
            ("a.test", "v=spf1 include:b.test mx a -all"),
            ("b.test", "v=spf1 exists:%{i}.x.test ptr -all"),
            ("r.test", "v=spf1 include:spf.platform.test"),
        ]);
        let cases: &[(&str, usize)] = &[
            ("v=spf1 include:spf.platform.test ~all", 1),
            ("v=spf1 ip4:192.0.2.1 -all", 0),
            ("v=spf1 include:a.test ~all", 1 + 3 + 2),
            ("v=spf1 redirect=r.test", 2),
            (
                "v=spf1 mx a ptr exists:x.test include:spf.platform.test -all",
                5,
            ),
        ];
        for (rec, want) in cases {
            let t = tree(&parse(rec).unwrap(), &txt);
            assert_eq!(t.lookups, *want, "{rec}");
            assert!(t.problems.is_empty(), "{rec}: {:?}", t.problems);
        }
        let t = tree(&parse("v=spf1 include:a.test ~all").unwrap(), &txt);
        assert_eq!(
            t.reached.iter().map(String::as_str).collect::<Vec<_>>(),
            vec!["a.test", "b.test"]
        );
    }

    #[test]
    fn over_ten_lookups_and_loops() {
        let mut entries = vec![];
        let names: Vec<String> = (0..6).map(|i| format!("i{i}.test")).collect();
        for n in &names {
            entries.push((n.as_str(), "v=spf1 a ~all"));
        }
        let txt = zone(&entries);
        let rec = format!(
            "v=spf1 {} ~all",
            names
                .iter()
                .map(|n| format!("include:{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let t = tree(&parse(&rec).unwrap(), &txt);
        assert_eq!(t.lookups, 12);
        assert!(t.lookups > MAX_DNS_LOOKUPS);

        let looped = zone(&[
            ("l1.test", "v=spf1 include:l2.test"),
            ("l2.test", "v=spf1 include:l1.test"),
        ]);
        let t = tree(&parse("v=spf1 include:l1.test").unwrap(), &looped);
        assert!(t.problems.iter().any(|p| p.contains("loop")), "{t:?}");

        let missing: BTreeMap<String, Result<Vec<String>, DnsError>> = [(
            "gone.test".to_string(),
            Err(DnsError::HostNotFound("gone.test".into())),
        )]
        .into();
        let t = tree(&parse("v=spf1 include:gone.test -all").unwrap(), &missing);
        assert_eq!(
            t.problems,
            vec!["gone.test has no SPF record (include/redirect target)"]
        );
    }

    #[test]
    fn merges_an_include() {
        assert_eq!(
            with_include("v=spf1 mx ~all", "spf.platform.test"),
            "v=spf1 mx include:spf.platform.test ~all"
        );
        assert_eq!(
            with_include("v=spf1 ip4:192.0.2.1 redirect=x.test", "spf.p.test"),
            "v=spf1 ip4:192.0.2.1 include:spf.p.test redirect=x.test"
        );
        assert_eq!(with_include("v=spf1", "s.test"), "v=spf1 include:s.test");
    }
}
