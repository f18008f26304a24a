//! Golden records: `testdata/<builder>/NNN.json` = `{"about", "input", "expected"}`.
//!
//! Each fixture plugs the values of a spec example (G-55, G-61, D-130; cited in `about`) into
//! a builder and compares the result structurally (`serde_json::Value` equality: field order
//! is not part of the contract, G-38). A mismatch writes `NNN.failed` beside the fixture with
//! the actual record, pretty-printed, so it can be diffed or promoted.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::*;

/// The builder arguments of one fixture; which fields are used depends on the directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    mail: MailInfo,
    #[serde(default)]
    include_headers: Option<bool>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    template_name: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    delivery: Option<DeliveryInfo>,
    #[serde(default)]
    bounce: Option<BounceInfo>,
    #[serde(default)]
    complaint: Option<ComplaintInfo>,
    #[serde(default)]
    delay: Option<DelayInfo>,
    #[serde(default)]
    open: Option<OpenInfo>,
    #[serde(default)]
    click: Option<ClickInfo>,
    #[serde(default)]
    subscription: Option<SubscriptionInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)] // documentation for readers of the fixture
    about: String,
    input: Input,
    expected: Value,
}

fn run(builder: &str, i: &Input) -> Value {
    let m = &i.mail;
    let need = |what: &str| -> ! { panic!("{builder} fixture lacks input.{what}") };
    match builder {
        "send" => send(m),
        "reject" => reject(m, i.reason.as_deref().unwrap_or_else(|| need("reason"))),
        "rendering_failure" => rendering_failure(
            m,
            i.template_name
                .as_deref()
                .unwrap_or_else(|| need("template_name")),
            i.error_message
                .as_deref()
                .unwrap_or_else(|| need("error_message")),
        ),
        "delivery" => delivery(m, i.delivery.as_ref().unwrap_or_else(|| need("delivery"))),
        "bounce" => bounce(m, i.bounce.as_ref().unwrap_or_else(|| need("bounce"))),
        "complaint" => complaint(m, i.complaint.as_ref().unwrap_or_else(|| need("complaint"))),
        "delivery_delay" => delivery_delay(m, i.delay.as_ref().unwrap_or_else(|| need("delay"))),
        "open" => open(m, i.open.as_ref().unwrap_or_else(|| need("open"))),
        "click" => click(m, i.click.as_ref().unwrap_or_else(|| need("click"))),
        "subscription" => subscription(
            m,
            i.subscription
                .as_ref()
                .unwrap_or_else(|| need("subscription")),
        ),
        "mail_object" => mail_object(
            m,
            i.include_headers.unwrap_or_else(|| need("include_headers")),
        ),
        "notification" => {
            let kind = match (&i.bounce, &i.complaint, &i.delivery) {
                (Some(b), None, None) => NotificationKind::Bounce(b),
                (None, Some(c), None) => NotificationKind::Complaint(c),
                (None, None, Some(d)) => NotificationKind::Delivery(d),
                _ => need("exactly one of bounce/complaint/delivery"),
            };
            notification(
                kind,
                m,
                i.include_headers.unwrap_or_else(|| need("include_headers")),
            )
        }
        other => panic!("testdata/{other}: no builder of that name"),
    }
}

fn fixtures() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("testdata/") {
        let dir = dir.expect("dir entry").path();
        if !dir.is_dir() {
            continue;
        }
        let builder = dir.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&dir).expect("fixture dir") {
            let f = f.expect("fixture entry").path();
            if f.extension().is_some_and(|e| e == "json") {
                out.push((builder.clone(), f));
            }
        }
    }
    out.sort();
    out
}

/// G-55 / G-61 / D-131: every fixture's record equals the golden record, structurally.
#[test]
fn golden_records() {
    let all = fixtures();
    assert!(!all.is_empty(), "no fixtures found under testdata/");
    let mut failed = Vec::new();
    for (builder, path) in &all {
        let text = std::fs::read_to_string(path).expect("read fixture");
        let fx: Fixture =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let got = run(builder, &fx.input);
        let failed_path = path.with_extension("failed");
        if got == fx.expected {
            let _ = std::fs::remove_file(&failed_path);
        } else {
            let pretty = serde_json::to_string_pretty(&got).expect("serialise");
            std::fs::write(&failed_path, pretty + "\n").expect("write .failed");
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "golden mismatches (see .failed files): {failed:#?}"
    );
}

/// The fixture set covers every builder (so a renamed directory cannot silently drop one).
#[test]
fn every_builder_has_a_fixture() {
    let all = fixtures();
    for builder in [
        "send",
        "reject",
        "rendering_failure",
        "delivery",
        "bounce",
        "complaint",
        "delivery_delay",
        "notification",
        "open",
        "click",
        "subscription",
        "mail_object",
    ] {
        assert!(
            all.iter().any(|(b, _)| b == builder),
            "no fixture in testdata/{builder}/"
        );
    }
}

/// G-38 / G-56: a serialised record is one line of UTF-8 JSON that parses back to itself
/// (what an SNS `Message` or a Firehose line carries).
#[test]
fn records_round_trip_as_one_line() {
    for (builder, path) in fixtures() {
        let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let v = run(&builder, &fx.input);
        let line = serde_json::to_string(&v).unwrap();
        assert!(!line.contains('\n'), "{}", path.display());
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), v);
    }
}

/// G-39 / G-58 / Z-9: a record has exactly its discriminator, `mail`, and the one object for
/// its type, as top-level siblings; notifications never carry `mail.tags` (G-24).
#[test]
fn top_level_shape_per_type() {
    let key_for = |t: &str| match t {
        "Send" => "send",
        "Reject" => "reject",
        "Rendering Failure" => "failure",
        "Delivery" => "delivery",
        "Bounce" => "bounce",
        "Complaint" => "complaint",
        "DeliveryDelay" => "deliveryDelay",
        "Open" => "open",
        "Click" => "click",
        "Subscription" => "subscription",
        other => panic!("unknown type {other}"),
    };
    for (builder, path) in fixtures() {
        if builder == "mail_object" {
            continue;
        }
        let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let v = run(&builder, &fx.input);
        let o = v.as_object().unwrap();
        let (disc, t) = match (o.get("eventType"), o.get("notificationType")) {
            (Some(t), None) => ("eventType", t.as_str().unwrap()),
            (None, Some(t)) => ("notificationType", t.as_str().unwrap()),
            _ => panic!("{}: needs exactly one discriminator", path.display()),
        };
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = vec![disc, "mail", key_for(t)];
        want.sort_unstable();
        assert_eq!(keys, want, "{}", path.display());
        if disc == "notificationType" {
            assert!(["Bounce", "Complaint", "Delivery"].contains(&t));
            assert!(o["mail"].get("tags").is_none(), "{}", path.display());
        } else {
            assert!(event_types::ALL.contains(&t));
        }
    }
}

/// Q-145 / G-38: every timestamp-valued field of every record has the
/// `YYYY-MM-DDThh:mm:ss.sssZ` shape.
#[test]
fn every_timestamp_field_has_the_one_format() {
    fn walk(v: &Value, path: &str, seen: &mut usize) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    if ["timestamp", "arrivalDate", "expirationTime"].contains(&k.as_str()) {
                        let s = v
                            .as_str()
                            .unwrap_or_else(|| panic!("{path}.{k} not a string"));
                        let b = s.as_bytes();
                        assert!(
                            b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z',
                            "{path}.{k} = {s}"
                        );
                        *seen += 1;
                    }
                    walk(v, &format!("{path}.{k}"), seen);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, path, seen)),
            _ => {}
        }
    }
    let mut seen = 0;
    for (builder, path) in fixtures() {
        let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        walk(
            &run(&builder, &fx.input),
            &path.display().to_string(),
            &mut seen,
        );
    }
    assert!(seen > 0);
}

/// G-39..G-61 / Q-153: every golden record, and what the builders make of its inputs, passes
/// the spec schema ([`crate::shape::check`]): the structural check holds on the spec's own
/// examples, so it can be trusted on records produced elsewhere (engine scenarios).
#[test]
fn every_record_passes_the_schema() {
    let mut checked = 0;
    for (builder, path) in fixtures() {
        if builder == "mail_object" {
            continue;
        }
        let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (what, v) in [
            ("expected", &fx.expected),
            ("built", &run(&builder, &fx.input)),
        ] {
            if let Err(errs) = crate::shape::check(v) {
                panic!("{} ({what}): {errs:#?}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 2 * 20, "only {checked} records checked");
}

/// G-55 / G-61: the seed's full example of each of the ten event types (`010.json`) and of
/// the three notification types is in the fixture set, so each type is held to the spec's
/// own record, not to our output.
#[test]
fn every_event_type_has_its_seed_example() {
    let all = fixtures();
    for builder in [
        "send",
        "reject",
        "rendering_failure",
        "delivery",
        "bounce",
        "complaint",
        "delivery_delay",
        "open",
        "click",
        "subscription",
    ] {
        assert!(
            all.iter()
                .any(|(b, p)| b == builder && p.ends_with(format!("{builder}/010.json"))),
            "no seed example in testdata/{builder}/010.json"
        );
    }
    // G-61: the seed's Bounce (no DSN), Complaint (with and without a report) and Delivery
    // notifications, each with original headers.
    for n in ["010", "011", "012", "013"] {
        assert!(
            all.iter()
                .any(|(b, p)| b == "notification" && p.ends_with(format!("notification/{n}.json"))),
            "no seed notification example testdata/notification/{n}.json"
        );
    }
}

/// G-60 / G-61 / Q-157: for every Delivery and Bounce fixture, the stored form
/// ([`crate::stored`]) keeps the input's `remote_mta_ip` as `remoteMtaIp`, and its event record
/// is the golden event record — which never carries `remoteMtaIp`. Every Delivery and Bounce
/// *notification* fixture whose input knows the remote IP shows it.
#[test]
fn stored_forms_keep_remote_ip_events_never_show_it() {
    let mut seen = (0, 0);
    for (builder, path) in fixtures() {
        let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let i = &fx.input;
        let (stored, key, ip) = match builder.as_str() {
            "delivery" => {
                let d = i.delivery.as_ref().unwrap();
                (
                    crate::stored::delivery(&i.mail, d),
                    "delivery",
                    d.remote_mta_ip.clone(),
                )
            }
            "bounce" => {
                let b = i.bounce.as_ref().unwrap();
                (
                    crate::stored::bounce(&i.mail, b),
                    "bounce",
                    b.remote_mta_ip.clone(),
                )
            }
            "notification" => {
                let n = &fx.expected;
                let body = if let Some(d) = &i.delivery {
                    Some((&n["delivery"], &d.remote_mta_ip))
                } else {
                    i.bounce.as_ref().map(|b| (&n["bounce"], &b.remote_mta_ip))
                };
                if let Some((body, Some(ip))) = body {
                    assert_eq!(body["remoteMtaIp"], ip.as_str(), "{}", path.display());
                    seen.1 += 1;
                }
                continue;
            }
            _ => continue,
        };
        assert!(
            fx.expected[key].get("remoteMtaIp").is_none(),
            "{}: an event record shows remoteMtaIp (G-60)",
            path.display()
        );
        assert_eq!(
            stored[key].get("remoteMtaIp").and_then(Value::as_str),
            ip.as_deref(),
            "{}",
            path.display()
        );
        assert_eq!(
            *crate::stored::event_record(&stored),
            fx.expected,
            "{}",
            path.display()
        );
        seen.0 += 1;
    }
    assert!(seen.0 >= 4 && seen.1 >= 2, "{seen:?}");
}
