//! The dev inbox on the API listener: `GET`/`DELETE /_aws/ses`, LocalStack's unauthenticated
//! developer endpoint, so tests written against LocalStack work unchanged (no SigV4: it is a
//! local development aid). Served only when delivery runs in capture mode or under `--dev`
//! ([`crate::ApiState::dev_inbox`]); otherwise 404, as for any unknown path.
//!
//! Shape (LocalStack's `SentEmail`): `{"messages":[{"Id","Region","Destination":{"ToAddresses",
//! ["CcAddresses"], ["BccAddresses"]},"Source","Subject","Body":{"text_part","html_part"},
//! "Timestamp","RawData"}]}`. Differences, on purpose:
//! - `RawData` (LocalStack: raw sends only) is present for every message: the exact bytes that
//!   would have left, DKIM signature included;
//! - `Destination` holds the captured envelope recipients, placed by the message's To/Cc
//!   headers (any other recipient is a Bcc);
//! - `Source` is the From header's address;
//! - `Timestamp` is the capture time in LocalStack's format, `YYYY-MM-DDTHH:MM:SS` (UTC).
//!
//! Filters as LocalStack: `?id=MESSAGE_ID`, `?email=SOURCE` (both may be combined). Messages
//! are listed oldest first (LocalStack's insertion order), at most [`MAX_LISTED`] newest.
//! `DELETE` removes `?id=` or everything and answers 204.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use sesame_mail::message::{inspect, summary};
use sesame_model::CapturedMessage;
use sesame_policy::identity::bare_address as bare;

use crate::ApiState;

/// Most messages one `GET /_aws/ses` returns.
pub const MAX_LISTED: usize = 1000;

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    pub id: Option<String>,
    pub email: Option<String>,
}

/// The LocalStack JSON of one captured message.
pub fn message_json(m: &CapturedMessage) -> Value {
    let s = summary(&m.raw);
    let (source, to, cc) = match inspect(&m.raw) {
        Ok(i) => (
            i.from
                .first()
                .map(|f| f.address.clone())
                .unwrap_or_default(),
            i.to,
            i.cc,
        ),
        Err(_) => (String::new(), vec![], vec![]),
    };
    let listed = |list: &[String], r: &str| list.iter().any(|a| bare(a).eq_ignore_ascii_case(r));
    let (mut to_out, mut cc_out, mut bcc_out) = (vec![], vec![], vec![]);
    for r in &m.recipients {
        if listed(&to, r) {
            to_out.push(r.clone());
        } else if listed(&cc, r) {
            cc_out.push(r.clone());
        } else {
            bcc_out.push(r.clone());
        }
    }
    let mut destination = json!({ "ToAddresses": to_out });
    if !cc_out.is_empty() {
        destination["CcAddresses"] = json!(cc_out);
    }
    if !bcc_out.is_empty() {
        destination["BccAddresses"] = json!(bcc_out);
    }
    json!({
        "Id": m.message_id,
        "Region": m.scope.region.as_str(),
        "Destination": destination,
        "Source": source,
        "Subject": s.subject,
        "Body": { "text_part": s.text, "html_part": s.html },
        "Timestamp": localstack_timestamp(m.captured_at),
        "RawData": String::from_utf8_lossy(&m.raw),
    })
}

/// LocalStack's `timestamp()` format: `%Y-%m-%dT%H:%M:%S`, UTC, no zone suffix.
pub fn localstack_timestamp(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

fn not_found() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

pub async fn get(State(state): State<ApiState>, Query(f): Query<Filter>) -> Response {
    if !state.dev_inbox {
        return not_found();
    }
    let id = f.id.as_deref().filter(|s| !s.is_empty());
    let found = match state
        .engine
        .store
        .captured_messages(None, id, MAX_LISTED)
        .await
    {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "dev inbox: listing captured messages failed");
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "the dev inbox could not be read"}),
            );
        }
    };
    let email = f.email.as_deref().filter(|s| !s.is_empty());
    let messages: Vec<Value> = found
        .iter()
        .rev()
        .map(message_json)
        .filter(|m| email.is_none_or(|e| m["Source"].as_str() == Some(e)))
        .collect();
    json_response(StatusCode::OK, &json!({ "messages": messages }))
}

pub async fn delete(State(state): State<ApiState>, Query(f): Query<Filter>) -> Response {
    if !state.dev_inbox {
        return not_found();
    }
    let id = f.id.as_deref().filter(|s| !s.is_empty());
    match state.engine.store.delete_captured(id).await {
        Ok(_) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        Err(e) => {
            tracing::warn!(error = %e, "dev inbox: delete failed");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "the dev inbox could not be cleared"}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_format() {
        assert_eq!(localstack_timestamp(0), "1970-01-01T00:00:00");
        assert_eq!(
            localstack_timestamp(1_700_000_000_999),
            "2023-11-14T22:13:20"
        );
    }

    #[test]
    fn message_shape() {
        let raw = b"DKIM-Signature: v=1\r\nFrom: Jane <jane@example.test>\r\nTo: a@example.net\r\nCc: b@example.net\r\nSubject: Hello\r\nContent-Type: text/plain\r\n\r\nbody\r\n";
        let m = CapturedMessage {
            message_id: "m1".into(),
            scope: sesame_model::Scope::new(
                "123456789012".parse().unwrap(),
                "eu-west-1".parse().unwrap(),
            ),
            mail_from: "m1@eu-west-1.sesame.test".into(),
            recipients: vec![
                "a@example.net".into(),
                "b@example.net".into(),
                "c@example.net".into(),
            ],
            raw: raw.to_vec(),
            captured_at: 0,
        };
        let v = message_json(&m);
        assert_eq!(
            v,
            json!({
                "Id": "m1",
                "Region": "eu-west-1",
                "Destination": {"ToAddresses": ["a@example.net"], "CcAddresses": ["b@example.net"], "BccAddresses": ["c@example.net"]},
                "Source": "jane@example.test",
                "Subject": "Hello",
                "Body": {"text_part": "body\r\n", "html_part": null},
                "Timestamp": "1970-01-01T00:00:00",
                "RawData": String::from_utf8_lossy(raw),
            })
        );
    }
}
