//! Glue between the send pipeline and `sesame-events`: the facts about a message that every
//! later event repeats (`mail` object, spec G-H) are captured once at acceptance, stored in
//! the queue row's `meta`, and turned back into `MailInfo` by delivery.

use sesame_events::{CommonHeaders, MailInfo};
use sesame_mail::message::Inspected;
use sesame_model::{EventRecord, Scope};

use super::pipeline::SendRequest;
use crate::Engine;

/// What `mail_info` needs from the pipeline.
pub(crate) struct MailContext<'a> {
    pub scope: &'a Scope,
    pub now_ms: i64,
    pub message_id: &'a str,
    pub source: &'a str,
    pub from_identity: &'a str,
    pub recipients: &'a [String],
    pub inspected: &'a Inspected,
    pub raw: &'a [u8],
    pub configuration_set: Option<&'a str>,
    pub operation: &'a str,
    pub tags: &'a [(String, String)],
    pub source_ip: Option<&'a str>,
    pub caller_identity: Option<&'a str>,
    /// `ses:source-tls-version` (G-23): TLS version of an SMTP submission.
    pub source_tls_version: Option<&'a str>,
}

/// Header fields of the submitted message, in order (`mail.headers`, Q-155: as submitted).
fn headers_of(raw: &[u8]) -> Vec<(String, String)> {
    match sesame_mail::message::split(raw) {
        Ok(s) => s
            .fields
            .iter()
            .map(|f| (f.name.to_string(), f.value()))
            .collect(),
        Err(_) => vec![],
    }
}

fn header_value(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

pub(crate) fn mail_info(engine: &Engine, c: &MailContext) -> MailInfo {
    let headers = headers_of(c.raw);
    let from_domain = c
        .inspected
        .from
        .first()
        .and_then(|m| {
            m.address
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
        })
        .unwrap_or_default();
    let fmt = |m: &sesame_mail::message::Mailbox| match &m.name {
        Some(n) if !n.is_empty() => format!("{n} <{}>", m.address),
        _ => m.address.clone(),
    };
    MailInfo {
        timestamp_ms: c.now_ms,
        source: c.source.to_string(),
        source_arn: c
            .scope
            .ses_arn(
                &engine.settings.partition,
                &format!("identity/{}", c.from_identity),
            )
            .0,
        sending_account_id: c.scope.account.to_string(),
        message_id: c.message_id.to_string(),
        destination: c.recipients.to_vec(),
        source_ip: c.source_ip.map(str::to_string),
        caller_identity: c.caller_identity.map(str::to_string),
        configuration_set: c.configuration_set.map(str::to_string),
        from_domain,
        operation: c.operation.to_string(),
        custom_tags: c.tags.to_vec(),
        common: CommonHeaders {
            from: c.inspected.from.iter().map(fmt).collect(),
            to: c.inspected.to.clone(),
            cc: c.inspected.cc.clone(),
            bcc: c.inspected.bcc.clone(),
            reply_to: c.inspected.reply_to.iter().map(fmt).collect(),
            return_path: c.inspected.return_path.clone(),
            sender: c.inspected.sender.as_ref().map(fmt),
            date: header_value(&headers, "Date"),
            message_id: header_value(&headers, "Message-ID"),
            subject: c.inspected.subject.clone(),
        },
        source_tls_version: c.source_tls_version.map(str::to_string),
        outgoing_ip: None,
        headers,
    }
}

pub(crate) fn mail_info_json(m: &MailInfo) -> serde_json::Value {
    serde_json::to_value(m).expect("mail meta serialises")
}

/// `mail` facts for a send that never became a message (Rendering Failure).
pub(crate) fn minimal_mail_info(
    engine: &Engine,
    scope: &Scope,
    now: i64,
    message_id: &str,
    from: &str,
    recipients: &[String],
    req: &SendRequest,
) -> MailInfo {
    let bare = sesame_policy::identity::bare_address(from);
    MailInfo {
        timestamp_ms: now,
        source: from.to_string(),
        source_arn: scope
            .ses_arn(&engine.settings.partition, &format!("identity/{bare}"))
            .0,
        sending_account_id: scope.account.to_string(),
        message_id: message_id.to_string(),
        destination: recipients.to_vec(),
        source_ip: req.source_ip.clone(),
        caller_identity: req.caller_identity.clone(),
        configuration_set: req.configuration_set.clone(),
        from_domain: bare
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default(),
        operation: req.operation.to_string(),
        custom_tags: req.tags.clone(),
        headers: vec![],
        common: CommonHeaders {
            from: vec![from.to_string()],
            to: req.destination.clone().unwrap_or_default().to,
            reply_to: req.reply_to.clone(),
            ..Default::default()
        },
        source_tls_version: req.source_tls_version.clone(),
        outgoing_ip: None,
    }
}

/// A new event record with a random UUID-shaped id.
/// A UUID version 7 (RFC 9562 §5.7): the first 48 bits are `now_ms`, the rest random. Event
/// ids that sort by time are appended at the end of the `events` and `event_dispatch` unique
/// indexes instead of landing on a random page of them (a random id dirtied, and first read,
/// one index page per event: a 4 KiB write for a 100-byte entry).
pub(crate) fn time_ordered_id(now_ms: i64, random: [u8; 32]) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&(now_ms.max(0) as u64).to_be_bytes()[2..]);
    b[6..].copy_from_slice(&random[..10]);
    sesame_events::ids::uuid_text(b, 7)
}

pub fn record(
    scope: &Scope,
    message_id: &str,
    event_type: &str,
    now_ms: i64,
    data: serde_json::Value,
) -> EventRecord {
    EventRecord {
        event_id: time_ordered_id(now_ms, sesame_sigv4::secrets::generate_key()),
        scope: scope.clone(),
        message_id: message_id.to_string(),
        event_type: event_type.to_string(),
        timestamp: now_ms,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::time_ordered_id;

    /// Event ids are UUIDv7 (RFC 9562 §5.7): canonical form, version 7, variant 10, and ids of
    /// later instants sort after earlier ones whatever their random part.
    #[test]
    fn event_ids_are_uuid_v7_ordered_by_time() {
        let a = time_ordered_id(1_796_543_904_331, [0xff; 32]);
        let b = time_ordered_id(1_796_543_904_332, [0x00; 32]);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[..13], "01a24a5c-7a4b");
        assert_eq!(&a[14..15], "7");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(
            a.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(a < b);
    }
}
