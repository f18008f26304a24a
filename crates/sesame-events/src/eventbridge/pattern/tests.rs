//! Unit tests of [`super`] (SH-7): tables of patterns against events, taken from the AWS
//! EventBridge user guide's examples and from the SES envelopes of [`crate::eventbridge`].

use serde_json::json;

use super::*;
use crate::eventbridge::{detail_type, envelope, DEFAULT_SOURCE};
use crate::shape::spec_example;
use crate::vocab::event_types;

/// One pattern against several events: (event, whether it matches).
fn check(pattern: &str, rows: &[(Value, bool)]) {
    let p = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    for (event, want) in rows {
        assert_eq!(p.matches(event), *want, "pattern {pattern}\nevent {event}");
    }
}

/// The envelope of the seed example of an `eventType` (G-55), as the bus sees it.
fn ses(event_type: &str) -> Value {
    let record = spec_example(event_type).unwrap();
    let arn = "arn:aws:ses:us-east-1:123456789012:configuration-set/ConfigSet";
    envelope(
        &record,
        "id",
        "123456789012",
        "us-east-1",
        DEFAULT_SOURCE,
        vec![arn.into()],
    )
    .unwrap()
}

/// F-119's example Advisor event [L11890-11906], Open or Resolved.
fn advisor(status: &str) -> Value {
    json!({
        "version": "0",
        "id": "ad1a2b3c-0000-4000-8000-000000000001",
        "detail-type": format!("Advisor Recommendation Status {status}"),
        "source": "aws.ses",
        "account": "012345678901",
        "time": "2023-11-15T17:00:59Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ses:us-east-1:012345678901:identity/example.com"],
        "detail": {"version": "1.0.0", "data": "SPF record was not found."}
    })
}

/// SH-7 / F-119 / Q-177: `source` + `detail-type` rules and `detail.*` fields with several
/// allowed values, on the envelopes [`envelope`] builds.
#[test]
fn ses_and_advisor_rules() {
    check(
        r#"{"source":["aws.ses"],"detail-type":["Advisor Recommendation Status Resolved"]}"#,
        &[(advisor("Resolved"), true), (advisor("Open"), false)],
    );
    check(
        r#"{"source":["aws.ses"],
            "detail-type":["Advisor Recommendation Status Open",
                           "Advisor Recommendation Status Resolved"],
            "detail":{"data":["SPF record was not found.","DKIM record was not found."]}}"#,
        &[
            (advisor("Open"), true),
            (advisor("Resolved"), true),
            (ses("Bounce"), false),
        ],
    );
    check(
        r#"{"source":["aws.ses"],"detail-type":["Email Bounced"],
            "detail":{"bounce":{"bounceType":["Permanent"]}}}"#,
        &[
            (ses("Bounce"), true),
            (ses("Delivery"), false),
            (ses("Complaint"), false),
        ],
    );
    check(
        r#"{"detail-type":["Email Delivered","Email Bounced"]}"#,
        &[
            (ses("Delivery"), true),
            (ses("Bounce"), true),
            (ses("Send"), false),
        ],
    );
    // Message tags (G-22): custom ones with a prefix, auto tags verbatim.
    check(
        r#"{"detail":{"mail":{"tags":{"myCustomTag1":[{"prefix":"myCustomTagValue"}]}}}}"#,
        &[(ses("Delivery"), true), (ses("Bounce"), false)],
    );
    check(
        r#"{"detail":{"mail":{"tags":{"ses:configuration-set":["ConfigSet"]}}}}"#,
        &[(ses("Bounce"), true), (ses("Open"), true)],
    );
    check(
        r#"{"detail":{"bounce":{"bouncedRecipients":{"emailAddress":[{"suffix":"@example.com"}]}}}}"#,
        &[(ses("Bounce"), true), (ses("Delivery"), false)],
    );
    check(
        r#"{"detail":{"click":{"linkTags":{"samplekey0":["samplevalue0"]}}}}"#,
        &[(ses("Click"), true), (ses("Open"), false)],
    );
    check(
        r#"{"account":["123456789012"],"region":[{"prefix":"us-"}],
            "resources":[{"suffix":":configuration-set/ConfigSet"}]}"#,
        &[(ses("Reject"), true), (advisor("Open"), false)],
    );
    // Each SES envelope carries its detail-type, and the eventType in `detail`.
    for t in event_types::ALL {
        let rule = json!({
            "source": ["aws.ses"],
            "detail-type": [detail_type(t).unwrap()],
            "detail": {"eventType": [t]}
        });
        let p = Pattern::parse(&rule.to_string()).unwrap();
        for u in event_types::ALL {
            assert_eq!(p.matches(&ses(u)), t == u, "{t} vs {u}");
        }
    }
}

/// "Creating event patterns": the EC2 example; values are exact and case-sensitive;
/// fields not in the pattern are ignored; every pattern field must match (AND); the
/// pattern's structure must be the event's.
#[test]
fn exact_values_and_structure() {
    let ec2 = json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
        "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
    });
    let mut running = ec2.clone();
    running["detail"]["state"] = json!("running");
    let mut upper = ec2.clone();
    upper["source"] = json!("AWS.EC2");
    check(
        r#"{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],
            "detail":{"state":["terminated"]}}"#,
        &[(ec2.clone(), true), (running, false), (upper, false)],
    );
    let no = |pattern: &str| check(pattern, &[(ec2.clone(), false)]);
    no(r#"{"detail":{"state":["terminated"],"instance-id":["nope"]}}"#);
    // A leaf where the event has an object, a nested pattern where it has a scalar.
    no(r#"{"detail":["terminated"]}"#);
    no(r#"{"source":{"x":["aws.ec2"]}}"#);
    // Keys are literal: no dotted paths.
    no(r#"{"detail.state":["terminated"]}"#);

    // Literal kinds: numbers compare as numbers, never as strings.
    let n = |v: Value| json!({ "n": v });
    check(
        r#"{"n":[300]}"#,
        &[(n(json!(300)), true), (n(json!(300.0)), true)],
    );
    check(r#"{"n":[3.0e2]}"#, &[(n(json!(300)), true)]);
    check(r#"{"n":[300]}"#, &[(n(json!("300")), false)]);
    check(r#"{"n":["300"]}"#, &[(n(json!(300)), false)]);
    check(
        r#"{"n":[true]}"#,
        &[
            (n(json!(true)), true),
            (n(json!("true")), false),
            (n(json!(false)), false),
        ],
    );
    // "Matching null values and empty strings".
    check(
        r#"{"n":[null]}"#,
        &[
            (n(json!(null)), true),
            (json!({}), false),
            (n(json!("")), false),
        ],
    );
    check(
        r#"{"n":[""]}"#,
        &[
            (n(json!("")), true),
            (n(json!(null)), false),
            (json!({}), false),
        ],
    );
    // OR within an array.
    check(
        r#"{"n":["a","b",7]}"#,
        &[
            (n(json!(7)), true),
            (n(json!("b")), true),
            (n(json!("c")), false),
        ],
    );
    // The event need not be an object at all.
    check(r#"{"n":["a"]}"#, &[(json!("a"), false)]);
    check(r#"{"n":[{"exists":false}]}"#, &[(json!("a"), true)]);
}

/// "Arrays in event patterns": an event array matches when any element matches; nested
/// arrays flatten; an object sub-pattern must hold within one array element.
#[test]
fn event_arrays() {
    let resources = json!({"resources": [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"
    ]});
    for (pattern, want) in [
        (
            r#"{"resources":["arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]}"#,
            true,
        ),
        (r#"{"resources":["nope"]}"#, false),
        (
            r#"{"resources":[{"prefix":"arn:aws:ec2:us-east-1:4444"}]}"#,
            true,
        ),
        (r#"{"resources":[{"anything-but":"x"}]}"#, true),
    ] {
        check(pattern, &[(resources.clone(), want)]);
    }
    check(
        r#"{"x":["a"]}"#,
        &[
            (json!({"x": [["b"], ["c", ["a"]]]}), true),
            (json!({"x": []}), false),
            (json!({"x": [{"a": 1}]}), false),
        ],
    );
    let people = json!({"people": [
        {"name": "ana", "role": "admin"},
        {"name": "bo", "role": "user"}
    ]});
    for (pattern, want) in [
        (r#"{"people":{"name":["bo"],"role":["user"]}}"#, true),
        (r#"{"people":{"name":["ana"],"role":["admin"]}}"#, true),
        // Same element required: ana is not a user.
        (r#"{"people":{"name":["ana"],"role":["user"]}}"#, false),
        (r#"{"people":{"name":["ana","bo"],"role":["user"]}}"#, true),
        (r#"{"people":{"name":[{"exists":false}]}}"#, false),
    ] {
        check(pattern, &[(people.clone(), want)]);
    }
    check(
        r#"{"people":{"name":[{"exists":false}]}}"#,
        &[(json!({"people": []}), true)],
    );
}

/// "Prefix matching", "Suffix matching", with and without `equals-ignore-case`; strings
/// only.
#[test]
fn prefix_and_suffix() {
    let s = |v: Value| json!({ "s": v });
    check(
        r#"{"s":[{"prefix":"2017-10-02"}]}"#,
        &[
            (s(json!("2017-10-02T18:43:48Z")), true),
            (s(json!("2017-10-03T18:43:48Z")), false),
            (json!({}), false),
        ],
    );
    check(r#"{"s":[{"prefix":""}]}"#, &[(s(json!("x")), true)]);
    check(r#"{"s":[{"prefix":"1"}]}"#, &[(s(json!(12)), false)]);
    check(
        r#"{"s":[{"prefix":"EventB"}]}"#,
        &[(s(json!("eventbridge")), false)],
    );
    check(
        r#"{"s":[{"prefix":{"equals-ignore-case":"EventB"}}]}"#,
        &[
            (s(json!("eventbridge")), true),
            (s(json!("EVENTBRIDGE")), true),
            (s(json!("Event")), false),
        ],
    );
    check(
        r#"{"s":[{"suffix":".png"}]}"#,
        &[
            (s(json!("image.png")), true),
            (s(json!("image.PNG")), false),
            (json!({}), false),
        ],
    );
    check(
        r#"{"s":[{"suffix":{"equals-ignore-case":".png"}}]}"#,
        &[
            (s(json!("image.PNG")), true),
            (s(json!("image.jpg")), false),
        ],
    );
    // Characters, not bytes.
    check(
        r#"{"s":[{"prefix":"Ü"}]}"#,
        &[(s(json!("Überweisung")), true)],
    );
    check(
        r#"{"s":[{"prefix":{"equals-ignore-case":"über"}}]}"#,
        &[(s(json!("ÜBERWEISUNG")), true)],
    );
}

/// "Anything-but matching": values, lists of strings or numbers, and the prefix, suffix,
/// equals-ignore-case and wildcard forms; a missing field is not "anything but".
#[test]
fn anything_but() {
    let s = |v: Value| json!({ "s": v });
    check(
        r#"{"s":[{"anything-but":"initializing"}]}"#,
        &[
            (s(json!("running")), true),
            (s(json!("initializing")), false),
            (json!({}), false),
            (s(json!(null)), true),
        ],
    );
    check(
        r#"{"s":[{"anything-but":123}]}"#,
        &[(s(json!(456)), true), (s(json!(123.0)), false)],
    );
    check(
        r#"{"s":[{"anything-but":["stopped","overloaded"]}]}"#,
        &[
            (s(json!("running")), true),
            (s(json!("stopped")), false),
            // Event arrays: some element is outside the list.
            (s(json!(["stopped", "running"])), true),
            (s(json!(["stopped", "overloaded"])), false),
        ],
    );
    check(
        r#"{"s":[{"anything-but":[100,200,300]}]}"#,
        &[(s(json!(200)), false), (s(json!(250)), true)],
    );
    check(
        r#"{"s":[{"anything-but":{"prefix":"us-"}}]}"#,
        &[
            (s(json!("eu-west-1")), true),
            (s(json!("us-east-1")), false),
            (s(json!(5)), false),
        ],
    );
    check(
        r#"{"s":[{"anything-but":{"suffix":".png"}}]}"#,
        &[(s(json!("a.jpg")), true), (s(json!("a.png")), false)],
    );
    check(
        r#"{"s":[{"anything-but":{"equals-ignore-case":"initializing"}}]}"#,
        &[
            (s(json!("INITIALIZING")), false),
            (s(json!("running")), true),
        ],
    );
    check(
        r#"{"s":[{"anything-but":{"equals-ignore-case":["stopped","overloaded"]}}]}"#,
        &[(s(json!("Stopped")), false), (s(json!("running")), true)],
    );
    check(
        r#"{"s":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#,
        &[
            (s(json!("/usr/lib/x")), false),
            (s(json!("/usr/bin/x")), true),
        ],
    );
    check(
        r#"{"s":[{"anything-but":{"wildcard":["*/lib/*","*/bin/*"]}}]}"#,
        &[(s(json!("/usr/bin/x")), false), (s(json!("/opt/x")), true)],
    );
    // An SES rule: every bounce but the suppression-list ones.
    check(
        r#"{"detail":{"bounce":{"bounceSubType":
            [{"anything-but":["Suppressed","OnAccountSuppressionList"]}]}}}"#,
        &[(ses("Bounce"), true)],
    );
}

/// "Exists matching": only leaf values count; `null` is a value; absent fields, objects
/// and empty arrays are not.
#[test]
fn exists() {
    let d = |v: Value| json!({ "detail": v });
    check(
        r#"{"detail":{"state":[{"exists":true}]}}"#,
        &[
            (d(json!({"state": "x"})), true),
            (d(json!({"state": null})), true),
            (d(json!({"state": ["x"]})), true),
            (d(json!({"state": []})), false),
            (d(json!({"state": {"inner": 1}})), false),
            (d(json!({})), false),
            (json!({}), false),
        ],
    );
    check(
        r#"{"detail":{"state":[{"exists":false}]}}"#,
        &[
            (d(json!({"state": "x"})), false),
            (d(json!({"state": null})), false),
            (d(json!({"other": 1})), true),
            (d(json!({"state": []})), true),
            (d(json!({"state": {"inner": 1}})), true),
            (json!({}), true),
            (d(json!("scalar")), true),
        ],
    );
    // Intermediate nodes are not leaves.
    check(
        r#"{"detail":[{"exists":true}]}"#,
        &[(d(json!({"state": "x"})), false)],
    );
    // Together with values: missing OR a listed value.
    check(
        r#"{"s":[{"exists":false},"a"]}"#,
        &[
            (json!({}), true),
            (json!({"s": "a"}), true),
            (json!({"s": "b"}), false),
        ],
    );
    // SES: the seed complaint came with an ARF report, so it has a userAgent (Q-150);
    // events never show remoteMtaIp (G-60).
    check(
        r#"{"detail":{"complaint":{"userAgent":[{"exists":false}]}}}"#,
        &[(ses("Complaint"), false)],
    );
    check(
        r#"{"detail":{"bounce":{"remoteMtaIp":[{"exists":false}]}}}"#,
        &[(ses("Bounce"), true)],
    );
}

/// "Numeric matching": JSON numbers only; bounds inclusive or not, in either order; `=`.
#[test]
fn numeric() {
    let c = |v: Value| json!({ "c": v });
    for pattern in [
        r#"{"c":[{"numeric":[">",0,"<=",5]}]}"#,
        r#"{"c":[{"numeric":["<=",5,">",0]}]}"#,
    ] {
        check(
            pattern,
            &[
                (c(json!(0)), false),
                (c(json!(0.000001)), true),
                (c(json!(5)), true),
                (c(json!(5.0001)), false),
                (c(json!(-1)), false),
                (c(json!("3")), false),
                (c(json!([9, 3])), true),
                (json!({}), false),
            ],
        );
    }
    check(
        r#"{"c":[{"numeric":["<",10]}]}"#,
        &[(c(json!(9.99)), true), (c(json!(10)), false)],
    );
    check(
        r#"{"c":[{"numeric":[">",10]}]}"#,
        &[(c(json!(10)), false), (c(json!(10.5)), true)],
    );
    check(
        r#"{"c":[{"numeric":[">=",-5e9]}]}"#,
        &[
            (c(json!(-5_000_000_000_i64)), true),
            (c(json!(-5e9 - 1.0)), false),
        ],
    );
    check(
        r#"{"c":[{"numeric":["=",3.018e2]}]}"#,
        &[(c(json!(301.8)), true), (c(json!(301.80001)), false)],
    );
    check(
        r#"{"c":[{"numeric":[">=",1,"<=",1]}]}"#,
        &[(c(json!(1)), true)],
    );
    check(
        r#"{"detail":{"delivery":{"processingTimeMillis":[{"numeric":[">",10000]}]}}}"#,
        &[(ses("Delivery"), true)],
    );
}

/// "Equals-ignore-case matching" and "Wildcard matching" (`*`, `\*`, `\\`).
#[test]
fn ignore_case_and_wildcard() {
    let f = |v: &str| json!({ "f": v });
    check(
        r#"{"f":[{"equals-ignore-case":"alice"}]}"#,
        &[(f("ALICE"), true), (f("Alice"), true), (f("alicia"), false)],
    );
    check(
        r#"{"f":[{"equals-ignore-case":"1"}]}"#,
        &[(json!({"f": 1}), false)],
    );
    let table: &[(&str, &str, bool)] = &[
        ("dir/*.png", "dir/a.png", true),
        ("dir/*.png", "dir/.png", true),
        ("dir/*.png", "dir/a.jpg", false),
        ("dir/*.png", "xdir/a.png", false),
        ("*", "", true),
        ("a*a", "a", false),
        ("a*a", "aa", true),
        ("*/lib/*/x", "/usr/lib/a/lib/b/x", true),
        ("*a*b*c", "xxcbaxbxc", true),
        ("*a*b*c", "cba", false),
        ("exact", "exact", true),
        ("exact", "exactly", false),
        ("a\\*b", "a*b", true),
        ("a\\*b", "axb", false),
        ("a\\\\*", "a\\bc", true),
        ("a\\\\*", "abc", false),
        ("ü*ß", "über Fluß", true),
    ];
    for &(glob, value, want) in table {
        let pattern = json!({"f": [{"wildcard": glob}]}).to_string();
        check(&pattern, &[(f(value), want)]);
    }
    check(r#"{"f":[{"wildcard":"*"}]}"#, &[(json!({"f": 3}), false)]);
    check(
        r#"{"detail":{"mail":{"destination":[{"wildcard":"*@example.com"}]}}}"#,
        &[(ses("Delivery"), true)],
    );
}

/// "IP address matching" (`cidr`), IPv4 and IPv6; the families never mix.
#[test]
fn cidr() {
    let table: &[(&str, Value, bool)] = &[
        ("10.0.0.0/24", json!("10.0.0.255"), true),
        ("10.0.0.0/24", json!("10.0.1.0"), false),
        ("10.0.0.7/24", json!("10.0.0.1"), true),
        ("0.0.0.0/0", json!("192.0.2.1"), true),
        ("0.0.0.0/0", json!("::1"), false),
        ("192.0.2.1/32", json!("192.0.2.1"), true),
        ("192.0.2.1/32", json!("192.0.2.2"), false),
        ("2001:db8::/32", json!("2001:db8:ffff::1"), true),
        ("2001:db8::/32", json!("2001:db9::1"), false),
        ("2001:db8::1/128", json!("2001:db8::1"), true),
        ("::/0", json!("10.0.0.1"), false),
        ("10.0.0.0/8", json!("not an ip"), false),
        ("10.0.0.0/8", json!(167_772_161), false),
    ];
    for (block, ip, want) in table {
        let pattern = json!({"ip": [{"cidr": block}]}).to_string();
        check(&pattern, &[(json!({ "ip": ip }), *want)]);
    }
    check(
        r#"{"detail":{"mail":{"tags":{"ses:source-ip":[{"cidr":"192.0.2.0/24"}]}}}}"#,
        &[(ses("Send"), true)],
    );
}

/// "`$or` matching": alternatives at any level, each evaluated where the `$or` sits.
#[test]
fn or() {
    check(
        r#"{"source":["aws.ses"],
            "$or":[{"detail-type":["Email Bounced"]},{"detail":{"eventType":["Complaint"]}}]}"#,
        &[
            (ses("Bounce"), true),
            (ses("Complaint"), true),
            (ses("Delivery"), false),
        ],
    );
    let d = |v: Value| json!({ "detail": v });
    check(
        r#"{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},
                             {"d-count":[{"numeric":["<",10]}]},
                             {"x-limit":[{"anything-but":[100,200,300]}]}]}}"#,
        &[
            (d(json!({"c-count": 3})), true),
            (d(json!({"d-count": 3})), true),
            (d(json!({"x-limit": 150})), true),
            (
                d(json!({"c-count": 30, "d-count": 30, "x-limit": 100})),
                false,
            ),
            (d(json!({})), false),
        ],
    );
    check(
        r#"{"a":{"$or":[{"b":["1"]},{"c":["2"]}]}}"#,
        &[(
            json!({"a": [{"b": "0", "c": "0"}, {"b": "0", "c": "2"}]}),
            true,
        )],
    );
}

/// Every refusal other than JSON syntax, size and depth: (pattern, path, part of the
/// reason).
#[test]
fn invalid_patterns() {
    let table: &[(&str, &str, &str)] = &[
        ("[]", "", "must be a JSON object, not an array"),
        (r#""aws.ses""#, "", "must be a JSON object, not a string"),
        ("null", "", "must be a JSON object, not null"),
        ("{}", "", "empty objects are not allowed"),
        (
            r#"{"detail":{}}"#,
            "detail",
            "empty objects are not allowed",
        ),
        (r#"{"source":"aws.ses"}"#, "source", "not a string"),
        (r#"{"source":1}"#, "source", "not a number"),
        (r#"{"source":null}"#, "source", "not null"),
        (r#"{"source":true}"#, "source", "not a boolean"),
        (r#"{"source":[]}"#, "source", "empty arrays are not allowed"),
        (r#"{"source":[["aws.ses"]]}"#, "source[0]", "not arrays"),
        (r#"{"s":[{}]}"#, "s[0]", "exactly one key, found 0"),
        (
            r#"{"s":[{"prefix":"a","suffix":"b"}]}"#,
            "s[0]",
            "exactly one key, found 2",
        ),
        (r#"{"s":[{"prefix":1}]}"#, "s[0].prefix", "not a number"),
        (r#"{"s":[{"prefix":["a"]}]}"#, "s[0].prefix", "not an array"),
        (
            r#"{"s":[{"prefix":{"equals-ignore-case":1}}]}"#,
            "s[0].prefix.equals-ignore-case",
            "must be a string",
        ),
        (
            r#"{"s":[{"prefix":{"ignore-case":"a"}}]}"#,
            "s[0].prefix",
            "equals-ignore-case",
        ),
        (r#"{"s":[{"suffix":null}]}"#, "s[0].suffix", "not null"),
        (
            r#"{"s":[{"equals-ignore-case":["a"]}]}"#,
            "s[0].equals-ignore-case",
            "string",
        ),
        (
            r#"{"s":[{"wildcard":5}]}"#,
            "s[0].wildcard",
            "must be a string",
        ),
        (
            r#"{"s":[{"wildcard":"a**b"}]}"#,
            "s[0].wildcard",
            "consecutive wildcard",
        ),
        (
            r#"{"s":[{"wildcard":"a\\b"}]}"#,
            "s[0].wildcard",
            "invalid escape",
        ),
        (
            r#"{"s":[{"wildcard":"a\\"}]}"#,
            "s[0].wildcard",
            "invalid escape",
        ),
        (
            r#"{"s":[{"exists":"true"}]}"#,
            "s[0].exists",
            "true or false",
        ),
        (r#"{"s":[{"exists":1}]}"#, "s[0].exists", "true or false"),
        (
            r#"{"s":[{"anything-but":[]}]}"#,
            "s[0].anything-but",
            "non-empty list",
        ),
        (
            r#"{"s":[{"anything-but":["a",1]}]}"#,
            "s[0].anything-but",
            "or of numbers",
        ),
        (
            r#"{"s":[{"anything-but":true}]}"#,
            "s[0].anything-but",
            "found a boolean",
        ),
        (
            r#"{"s":[{"anything-but":null}]}"#,
            "s[0].anything-but",
            "found null",
        ),
        (
            r#"{"s":[{"anything-but":[null]}]}"#,
            "s[0].anything-but",
            "list of strings",
        ),
        (
            r#"{"s":[{"anything-but":{}}]}"#,
            "s[0].anything-but",
            "an object with one of",
        ),
        (
            r#"{"s":[{"anything-but":{"prefix":"a","suffix":"b"}}]}"#,
            "s[0].anything-but",
            "an object with one of",
        ),
        (
            r#"{"s":[{"anything-but":{"prefix":["a"]}}]}"#,
            "s[0].anything-but.prefix",
            "must be a string",
        ),
        (
            r#"{"s":[{"anything-but":{"equals-ignore-case":[]}}]}"#,
            "s[0].anything-but.equals-ignore-case",
            "non-empty list of strings",
        ),
        (
            r#"{"s":[{"anything-but":{"wildcard":[1]}}]}"#,
            "s[0].anything-but.wildcard",
            "list of strings",
        ),
        (
            r#"{"s":[{"anything-but":{"wildcard":"**"}}]}"#,
            "s[0].anything-but.wildcard",
            "consecutive wildcard",
        ),
        (r#"{"s":[{"numeric":5}]}"#, "s[0].numeric", "must be ["),
        (r#"{"s":[{"numeric":[]}]}"#, "s[0].numeric", "must be ["),
        (r#"{"s":[{"numeric":[">"]}]}"#, "s[0].numeric", "must be ["),
        (
            r#"{"s":[{"numeric":[">",1,"<"]}]}"#,
            "s[0].numeric",
            "must be [",
        ),
        (
            r#"{"s":[{"numeric":[">",1,"<",5,"<",6]}]}"#,
            "s[0].numeric",
            "must be [",
        ),
        (
            r#"{"s":[{"numeric":[">","1"]}]}"#,
            "s[0].numeric",
            "must be [",
        ),
        (
            r#"{"s":[{"numeric":[1,">"]}]}"#,
            "s[0].numeric",
            "must be [",
        ),
        (
            r#"{"s":[{"numeric":["!=",1]}]}"#,
            "s[0].numeric",
            "unknown comparison \"!=\"",
        ),
        (
            r#"{"s":[{"numeric":["=",1,"<",2]}]}"#,
            "s[0].numeric",
            "cannot be combined",
        ),
        (
            r#"{"s":[{"numeric":[">",1,">=",2]}]}"#,
            "s[0].numeric",
            "one lower bound",
        ),
        (
            r#"{"s":[{"numeric":["<",1,"<=",2]}]}"#,
            "s[0].numeric",
            "one lower bound",
        ),
        (
            r#"{"s":[{"numeric":[">",5,"<",1]}]}"#,
            "s[0].numeric",
            "range is empty",
        ),
        (
            r#"{"s":[{"numeric":[">",1,"<=",1]}]}"#,
            "s[0].numeric",
            "range is empty",
        ),
        (
            r#"{"s":[{"cidr":"10.0.0.0"}]}"#,
            "s[0].cidr",
            "not a CIDR block",
        ),
        (
            r#"{"s":[{"cidr":"10.0.0.0/33"}]}"#,
            "s[0].cidr",
            "not a CIDR block",
        ),
        (
            r#"{"s":[{"cidr":"10.0.0/8"}]}"#,
            "s[0].cidr",
            "not a CIDR block",
        ),
        (
            r#"{"s":[{"cidr":"10.0.0.0/+8"}]}"#,
            "s[0].cidr",
            "not a CIDR block",
        ),
        (
            r#"{"s":[{"cidr":"10.0.0.0/"}]}"#,
            "s[0].cidr",
            "not a CIDR block",
        ),
        (
            r#"{"s":[{"cidr":"::/129"}]}"#,
            "s[0].cidr",
            "not a CIDR block",
        ),
        (r#"{"s":[{"cidr":24}]}"#, "s[0].cidr", "must be a string"),
        (r#"{"$or":{"a":["b"]}}"#, "$or", "array of pattern objects"),
        (
            r#"{"$or":[{"a":["b"]}]}"#,
            "$or",
            "at least two alternatives",
        ),
        (
            r#"{"$or":[{"a":["b"]},["c"]]}"#,
            "$or[1]",
            "must be a pattern object",
        ),
        (
            r#"{"$or":[{"a":["b"]},{}]}"#,
            "$or[1]",
            "empty objects are not allowed",
        ),
        (
            r#"{"d":{"$or":[{"a":["b"]},{"a":[]}]}}"#,
            "d.$or[1].a",
            "empty arrays",
        ),
    ];
    for &(pattern, path, reason_part) in table {
        match Pattern::parse(pattern) {
            Err(PatternError::Invalid { path: p, reason }) => {
                assert_eq!(p, path, "{pattern}: {reason}");
                assert!(reason.contains(reason_part), "{pattern}: {reason}");
            }
            other => panic!("{pattern}: {other:?}"),
        }
    }
}

/// Unknown operators, as a match and inside anything-but; JSON syntax errors.
#[test]
fn unknown_operators_and_bad_json() {
    for (pattern, path, operator) in [
        (r#"{"s":[{"contains":"x"}]}"#, "s[0]", "contains"),
        (r#"{"s":["a",{"Prefix":"x"}]}"#, "s[1]", "Prefix"),
        (r#"{"s":[{"$or":[]}]}"#, "s[0]", "$or"),
        (
            r#"{"s":[{"anything-but":{"exists":true}}]}"#,
            "s[0].anything-but",
            "exists",
        ),
        (
            r#"{"s":[{"anything-but":{"numeric":[">",1]}}]}"#,
            "s[0].anything-but",
            "numeric",
        ),
    ] {
        let want = PatternError::UnknownOperator {
            path: path.into(),
            operator: operator.into(),
        };
        assert_eq!(Pattern::parse(pattern), Err(want), "{pattern}");
    }
    for bad in [
        "",
        "{",
        r#"{"source":["aws.ses"]"#,
        "{source:[1]}",
        r#"{"a":[1]} x"#,
    ] {
        let got = Pattern::parse(bad);
        assert!(
            matches!(got, Err(PatternError::Json(_))),
            "{bad:?}: {got:?}"
        );
    }
}

/// The messages an operator reads.
#[test]
fn error_messages() {
    let table = [
        ("{}", "event pattern: empty objects are not allowed"),
        (
            r#"{"detail":{"state":"on"}}"#,
            "detail.state: must be an array of match values or an object, not a string",
        ),
        (
            r#"{"detail":{"state":[{"contains":"on"}]}}"#,
            "detail.state[0]: unknown operator \"contains\" (expected one of prefix, suffix, \
             anything-but, exists, numeric, equals-ignore-case, wildcard, cidr)",
        ),
        (
            r#"{"n":[{"numeric":[">",5,"<",1]}]}"#,
            "n[0].numeric: the range is empty: lower bound above upper",
        ),
    ];
    for (pattern, want) in table {
        assert_eq!(Pattern::parse(pattern).unwrap_err().to_string(), want);
    }
    let long = format!(r#"{{"s":["{}"]}}"#, "x".repeat(3000));
    assert_eq!(
        Pattern::parse(&long).unwrap_err().to_string(),
        "event pattern is 3010 characters long; the limit is 2048"
    );
    let deep = Pattern::parse(&nested(MAX_PATTERN_DEPTH + 1)).unwrap_err();
    assert!(deep
        .to_string()
        .ends_with(".a: event pattern nests deeper than 16 levels"));
    let json = Pattern::parse("{").unwrap_err().to_string();
    assert!(
        json.starts_with("event pattern is not valid JSON: "),
        "{json}"
    );
}

/// `{"a":{"a":…["x"]}}` with `depth` objects.
fn nested(depth: usize) -> String {
    let mut s = r#"["x"]"#.to_string();
    for _ in 0..depth {
        s = format!(r#"{{"a":{s}}}"#);
    }
    s
}

/// EventBridge's 2048-character pattern quota, counted in characters (not bytes), and the
/// nesting limit.
#[test]
fn limits() {
    // {"s":["…"]} is 10 characters around the value.
    let sized = |n: usize, c: char| format!(r#"{{"s":["{}"]}}"#, c.to_string().repeat(n - 10));
    assert!(Pattern::parse(&sized(MAX_PATTERN_CHARS, 'x')).is_ok());
    assert!(Pattern::parse(&sized(MAX_PATTERN_CHARS, 'é')).is_ok()); // 2 bytes each
    assert_eq!(
        Pattern::parse(&sized(MAX_PATTERN_CHARS + 1, 'x')),
        Err(PatternError::TooLong {
            len: MAX_PATTERN_CHARS + 1,
            max: MAX_PATTERN_CHARS
        })
    );

    let p = Pattern::parse(&nested(MAX_PATTERN_DEPTH)).unwrap();
    let mut event = json!("x");
    for _ in 0..MAX_PATTERN_DEPTH {
        event = json!({ "a": event });
    }
    assert!(p.matches(&event));
    assert_eq!(
        Pattern::parse(&nested(MAX_PATTERN_DEPTH + 1)),
        Err(PatternError::TooDeep {
            path: vec!["a"; MAX_PATTERN_DEPTH].join("."),
            max: MAX_PATTERN_DEPTH
        })
    );

    // `$or` alternatives count as a level: the root plus 15 `$or`s reach the limit.
    let ors = |n: usize| {
        let mut s = r#"{"a":["x"]}"#.to_string();
        for _ in 0..n {
            s = format!(r#"{{"$or":[{s},{{"c":["z"]}}]}}"#);
        }
        s
    };
    let p = Pattern::parse(&ors(MAX_PATTERN_DEPTH - 1)).unwrap();
    assert!(p.matches(&json!({"a": "x"})));
    assert!(p.matches(&json!({"c": "z"})));
    assert!(!p.matches(&json!({"a": "z"})));
    assert_eq!(
        Pattern::parse(&ors(MAX_PATTERN_DEPTH)),
        Err(PatternError::TooDeep {
            path: vec!["$or[0]"; MAX_PATTERN_DEPTH].join("."),
            max: MAX_PATTERN_DEPTH
        })
    );

    // Far beyond serde_json's own recursion limit: refused, never a stack overflow.
    let very_deep = format!("{}{}", "{\"a\":".repeat(1000), "}".repeat(1000));
    assert!(Pattern::parse(&very_deep).is_err());
}
