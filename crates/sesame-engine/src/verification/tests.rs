//! Table tests of the pure verification rules (spec D-39, D-99; ..Q-100).

use super::checks::{dkim_p_tag, CheckResult};
use super::*;
use crate::records::{DkimKeyRecord, DkimState, MailFrom};
use crate::Engine;

const H: i64 = 3600 * 1000;

fn found() -> Outcome {
    Outcome::Found
}
fn missing() -> Outcome {
    Outcome::Missing("HOST_NOT_FOUND".into())
}
fn servfail() -> Outcome {
    Outcome::Inconclusive("DNS_SERVER_ERROR".into())
}

/// D-39 / D-99 state machine, Q-81 windows (72 h).
#[test]
fn transitions() {
    let t = Timings::default();
    let t0 = 1_700_000_000_000;
    #[rustfmt::skip]
    type Row = (&'static str, Option<i64>, Outcome, i64, &'static str, Option<i64>);
    let table: &[Row] = &[
        // current, window start, outcome, now, → status, window start
        ("PENDING", Some(t0), found(), t0 + H, "SUCCESS", None),
        ("PENDING", Some(t0), missing(), t0 + H, "PENDING", Some(t0)),
        (
            "PENDING",
            Some(t0),
            missing(),
            t0 + 72 * H - 1,
            "PENDING",
            Some(t0),
        ),
        ("PENDING", Some(t0), missing(), t0 + 72 * H, "FAILED", None),
        ("PENDING", Some(t0), servfail(), t0 + 72 * H, "FAILED", None),
        ("PENDING", None, missing(), t0, "PENDING", Some(t0)),
        ("SUCCESS", None, found(), t0, "SUCCESS", None),
        (
            "SUCCESS",
            None,
            missing(),
            t0,
            "TEMPORARY_FAILURE",
            Some(t0),
        ),
        ("SUCCESS", None, servfail(), t0, "SUCCESS", None),
        (
            "TEMPORARY_FAILURE",
            Some(t0),
            found(),
            t0 + 71 * H,
            "SUCCESS",
            None,
        ),
        (
            "TEMPORARY_FAILURE",
            Some(t0),
            missing(),
            t0 + 71 * H,
            "TEMPORARY_FAILURE",
            Some(t0),
        ),
        (
            "TEMPORARY_FAILURE",
            Some(t0),
            missing(),
            t0 + 72 * H,
            "FAILED",
            None,
        ),
        ("FAILED", None, found(), t0, "FAILED", None),
        ("NOT_STARTED", None, found(), t0, "NOT_STARTED", None),
    ];
    for (cur, start, outcome, now, want, want_start) in table {
        let got = transition(cur, *start, outcome, *now, &t);
        assert_eq!(
            (got.status, got.window_start),
            (*want, *want_start),
            "{cur} {outcome:?} at +{}h",
            (now - t0) / H
        );
    }
}

/// Q-81 cadence: 5 min for the first hour, 30 min to 24 h, hourly to 72 h, never past the
/// window's end; 24 h (+ < 10 % jitter) after success; nothing after FAILED.
#[test]
fn cadence() {
    let t = Timings::default();
    let t0 = 1_700_000_000_000;
    let m = 60 * 1000;
    for (st, now, want) in [
        ("PENDING", t0, t0 + 5 * m),
        ("PENDING", t0 + 59 * m, t0 + 64 * m),
        ("PENDING", t0 + H, t0 + H + 30 * m),
        ("PENDING", t0 + 24 * H, t0 + 25 * H),
        ("PENDING", t0 + 71 * H + 30 * m, t0 + 72 * H),
        ("TEMPORARY_FAILURE", t0 + 2 * H, t0 + 3 * H),
        ("TEMPORARY_FAILURE", t0 + 72 * H - m, t0 + 72 * H),
    ] {
        assert_eq!(
            t.next_check(st, Some(t0), now, 7),
            Some(want),
            "{st} +{}m",
            (now - t0) / m
        );
    }
    let s = t.next_check("SUCCESS", None, t0, 123_456_789).unwrap();
    assert!(s >= t0 + 24 * H && s < t0 + 24 * H + 24 * H / 10, "{s}");
    assert_eq!(t.next_check("FAILED", None, t0, 0), None);
    assert_eq!(t.next_check("NOT_STARTED", None, t0, 0), None);
}

fn result(outcome: Outcome) -> CheckResult {
    CheckResult {
        outcome,
        lookups: vec![],
        hints: vec![],
    }
}

fn easy_domain() -> IdentityRecord {
    let mut rec = Engine::new_identity("example.test");
    rec.dkim = Some(DkimState {
        signing_enabled: true,
        status: "PENDING".into(),
        origin: "AWS_SES".into(),
        tokens: vec!["a".into(), "b".into(), "c".into()],
        keys: ["a", "b", "c"]
            .iter()
            .map(|s| DkimKeyRecord {
                selector: s.to_string(),
                private_key_sealed: String::new(),
                public_key: "KEY".into(),
                bits: 2048,
            })
            .collect(),
        current_key_length: None,
        next_key_length: None,
        last_key_generation: None,
        key_length_changes: vec![],
    });
    rec
}

/// A v2 domain follows DKIM (D-42); `VerificationInfo` timestamps and error type are kept
/// a restart (new keys) opens a new window.
#[test]
fn apply_follows_dkim_and_tracks_windows() {
    let t = Timings {
        window_ms: 10_000,
        pending_interval_ms: 1_000,
        retry_interval_ms: 2_000,
        success_interval_ms: 5_000,
    };
    let mut rec = easy_domain();
    let obs = |o| Observed {
        dkim: Some(result(o)),
        ..Default::default()
    };
    let a = apply(&mut rec, &obs(missing()), 100, &t);
    assert!(a.changes.is_empty());
    assert_eq!(a.next_due, Some(1_100));
    assert_eq!(rec.verification.dkim.window_start, Some(100));
    assert_eq!(
        rec.verification.dkim.error_type.as_deref(),
        Some("HOST_NOT_FOUND")
    );
    let a = apply(&mut rec, &obs(found()), 2_000, &t);
    assert_eq!(a.changes[0].to, "SUCCESS");
    assert_eq!(rec.verification_status, "SUCCESS");
    assert_eq!(rec.dkim.as_ref().unwrap().status, "SUCCESS");
    assert_eq!(rec.verification.dkim.last_success, Some(2_000));
    assert_eq!(rec.verification.dkim.error_type, None);
    assert!(Engine::verified_for_sending(&rec));
    let a = apply(&mut rec, &obs(missing()), 8_000, &t);
    assert_eq!(
        a.changes,
        vec![StatusChange {
            component: "DKIM".into(),
            from: "SUCCESS".into(),
            to: "TEMPORARY_FAILURE".into(),
            deadline: Some(18_000)
        }]
    );
    assert_eq!(rec.verification_status, "TEMPORARY_FAILURE");
    assert_eq!(a.next_due, Some(10_000));
    let n = notices(&rec, &a.changes, 8_000);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].notice_type, "DKIM_REVOCATION_WARNING");
    let a = apply(&mut rec, &obs(missing()), 18_000, &t);
    assert_eq!(a.changes[0].to, "FAILED");
    assert_eq!(a.next_due, None);
    assert_eq!(
        notices(&rec, &a.changes, 18_000)[0].notice_type,
        "DKIM_REVOKED"
    );
    assert!(!Plan::of(&rec).active(&rec));
    // Restart with new keys (D-40, Q-83): PENDING again, a fresh window.
    let d = rec.dkim.as_mut().unwrap();
    d.status = "PENDING".into();
    d.keys[0].selector = "z".into();
    rec.verification_status = "PENDING".into();
    assert!(Plan::of(&rec).active(&rec));
    let a = apply(&mut rec, &obs(missing()), 50_000, &t);
    assert!(a.changes.is_empty(), "{a:?}");
    assert_eq!(rec.verification.dkim.window_start, Some(50_000));
    assert_eq!(rec.verification.dkim.last_success, None);
}

/// a v1 domain is verified by its TXT token; MAIL FROM changes produce notices.
#[test]
fn legacy_domain_and_mail_from() {
    let t = Timings::default();
    let mut rec = Engine::new_identity("example.test");
    rec.legacy_txt_verification = true;
    rec.verification_token = Some("tok".into());
    rec.mail_from = Some(MailFrom {
        domain: "bounce.example.test".into(),
        behavior_on_mx_failure: "REJECT_MESSAGE".into(),
        status: "PENDING".into(),
    });
    let a = apply(
        &mut rec,
        &Observed {
            domain: Some(result(found())),
            mail_from: Some(result(Outcome::Missing("INVALID_VALUE".into()))),
            ..Default::default()
        },
        1_000,
        &t,
    );
    assert_eq!(rec.verification_status, "SUCCESS");
    assert_eq!(rec.mail_from.as_ref().unwrap().status, "PENDING");
    assert_eq!(a.changes.len(), 1);
    assert_eq!(
        rec.verification.info_track(&rec).unwrap().last_success,
        Some(1_000)
    );
    let a = apply(
        &mut rec,
        &Observed {
            domain: Some(result(found())),
            mail_from: Some(result(found())),
            ..Default::default()
        },
        2_000,
        &t,
    );
    let n = notices(&rec, &a.changes, 2_000);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].notice_type, "MAIL_FROM_STATUS_CHANGED");
    assert!(n[0].body.contains("set up successfully"), "{}", n[0].body);
}

/// The operator override: checks change nothing until the settings change.
#[test]
fn forced_identities_are_left_alone() {
    let mut rec = easy_domain();
    rec.verification.forced = true;
    rec.verification_status = "SUCCESS".into();
    rec.dkim.as_mut().unwrap().status = "SUCCESS".into();
    let a = apply(
        &mut rec,
        &Observed {
            dkim: Some(result(missing())),
            ..Default::default()
        },
        1,
        &Timings::default(),
    );
    assert_eq!(a, Applied::default());
    assert_eq!(rec.verification_status, "SUCCESS");
    assert!(!Plan::of(&rec).active(&rec));
    // A new MAIL FROM (PENDING) ends the override.
    let before = rec.clone();
    rec.mail_from = Some(MailFrom {
        domain: "m.example.test".into(),
        behavior_on_mx_failure: "USE_DEFAULT_VALUE".into(),
        status: "PENDING".into(),
    });
    after_external_write(&before, &mut rec);
    assert!(!rec.verification.forced);
}

#[test]
fn dkim_p_tags() {
    for (txt, want) in [
        ("v=DKIM1; k=rsa; p=ABC", Some("ABC")),
        ("p=AB C", Some("ABC")),
        ("v=DKIM1;p=", Some("")),
        ("v=DKIM1; k=rsa", None),
        ("k=rsa; pp=X", None),
    ] {
        assert_eq!(dkim_p_tag(txt).as_deref(), want, "{txt}");
    }
}

/// a v1 domain (TXT token) that also has DKIM is verified while either is; a missing
/// token does not demote it while DKIM is SUCCESS.
#[test]
fn legacy_domain_verified_by_dkim_too() {
    let t = Timings::default();
    let mut rec = easy_domain();
    rec.legacy_txt_verification = true;
    rec.verification_token = Some("tok".into());
    let obs = |txt, dkim| Observed {
        domain: Some(result(txt)),
        dkim: Some(result(dkim)),
        ..Default::default()
    };
    apply(&mut rec, &obs(missing(), found()), 1_000, &t);
    assert_eq!(rec.verification_status, "SUCCESS");
    assert_eq!(
        rec.verification.domain.error_type.as_deref(),
        Some("HOST_NOT_FOUND")
    );
    assert_eq!(rec.verification.domain.last_success, None);
    // DKIM records gone and no token: both leave SUCCESS.
    let a = apply(&mut rec, &obs(missing(), missing()), 2_000, &t);
    assert_eq!(rec.verification_status, "TEMPORARY_FAILURE");
    assert_eq!(rec.dkim.as_ref().unwrap().status, "TEMPORARY_FAILURE");
    assert_eq!(a.changes.len(), 2);
    // The token alone brings the identity back; DKIM stays in its window.
    apply(&mut rec, &obs(found(), missing()), 3_000, &t);
    assert_eq!(rec.verification_status, "SUCCESS");
    assert_eq!(rec.dkim.as_ref().unwrap().status, "TEMPORARY_FAILURE");
}
