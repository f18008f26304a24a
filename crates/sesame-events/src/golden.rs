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
