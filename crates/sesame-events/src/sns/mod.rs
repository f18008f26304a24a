//! SNS HTTP/HTTPS message envelopes (DECISIONS Q-168) and their signatures, as values.
//!
//! SNS posts one JSON document per message to an HTTP(S) subscriber, with `Type`
//! `SubscriptionConfirmation`, `Notification` or `UnsubscribeConfirmation`. Consumers verify it
//! by rebuilding SNS's documented *string to sign* ([`canonical_string`]) and checking
//! `Signature` against the certificate at `SigningCertURL`: SHA256withRSA for
//! `SignatureVersion` `2` ([`sign`]). Everything here is a pure function: the instant, the ids
//! and the key are parameters.
//!
//! - [`Envelope`] — the fields of one message and [`Envelope::to_json`] in SNS's field order.
//! - [`canonical_string`] — the string to sign, per message type.
//! - [`sign`] / [`verify`] — SHA256withRSA (PKCS#1 v1.5), base64.
//! - [`cert`] — the self-signed X.509 certificate served at `SigningCertURL`.

pub mod cert;
pub mod sign;

pub use sign::{
    private_key_from_pkcs8, sign, sign_with, verify, verify_with, PrivateKey, SignError,
    SignatureVersion,
};

use serde_json::{Map, Value};

/// `Type` values (the `x-amz-sns-message-type` header carries the same string).
pub mod message_types {
    pub const SUBSCRIPTION_CONFIRMATION: &str = "SubscriptionConfirmation";
    pub const NOTIFICATION: &str = "Notification";
    pub const UNSUBSCRIBE_CONFIRMATION: &str = "UnsubscribeConfirmation";
}

/// One SNS message to an HTTP(S) (or `email-json`) subscriber, before signing.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// One of [`message_types`].
    pub message_type: String,
    /// UUID; the same for every subscriber of one `Publish` (SNS: one id per published
    /// message), new for each confirmation.
    pub message_id: String,
    pub topic_arn: String,
    /// `Publish`'s `Subject`; notifications only, omitted (not empty) when absent.
    pub subject: Option<String>,
    pub message: String,
    /// ISO 8601 with milliseconds and `Z` (`2012-05-02T00:54:06.655Z`).
    pub timestamp: String,
    /// Confirmation types only: the token `ConfirmSubscription` takes.
    pub token: Option<String>,
    /// Confirmation types only: the URL that confirms when fetched.
    pub subscribe_url: Option<String>,
    /// Notifications only.
    pub unsubscribe_url: Option<String>,
    /// `1` (SHA1withRSA) or `2` (SHA256withRSA): decides how [`Envelope::signed_body`] signs.
    pub signature_version: String,
    pub signing_cert_url: String,
    /// `Publish`'s `MessageAttributes`, already in SNS's envelope shape
    /// (`{"Name": {"Type": "String", "Value": "…"}}`); notifications only, omitted when empty.
    pub message_attributes: Option<Value>,
}

/// SNS's canonical string for signing: for each field, in this order and only when present,
/// the field name, a newline, the value, a newline.
///
/// - `Notification`: `Message`, `MessageId`, `Subject` (only if present), `Timestamp`,
///   `TopicArn`, `Type`.
/// - `SubscriptionConfirmation` / `UnsubscribeConfirmation`: `Message`, `MessageId`,
///   `SubscribeURL`, `Timestamp`, `Token`, `TopicArn`, `Type`.
///
/// (AWS SNS developer guide, "Verifying the signatures of Amazon SNS messages".)
pub fn canonical_string(e: &Envelope) -> String {
    let mut fields: Vec<(&str, Option<&str>)> = vec![
        ("Message", Some(&e.message)),
        ("MessageId", Some(&e.message_id)),
    ];
    if e.message_type == message_types::NOTIFICATION {
        fields.extend([
            ("Subject", e.subject.as_deref()),
            ("Timestamp", Some(&e.timestamp)),
            ("TopicArn", Some(&e.topic_arn)),
            ("Type", Some(&e.message_type)),
        ]);
    } else {
        fields.extend([
            ("SubscribeURL", e.subscribe_url.as_deref()),
            ("Timestamp", Some(&e.timestamp)),
            ("Token", e.token.as_deref()),
            ("TopicArn", Some(&e.topic_arn)),
            ("Type", Some(&e.message_type)),
        ]);
    }
    let mut out = String::new();
    for (name, value) in fields {
        if let Some(v) = value {
            out.push_str(name);
            out.push('\n');
            out.push_str(v);
            out.push('\n');
        }
    }
    out
}

impl Envelope {
    /// The posted JSON with `Signature` (base64), fields in the order SNS writes them.
    pub fn to_json(&self, signature: &str) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: &str| {
            m.insert(k.to_string(), Value::String(v.to_string()));
        };
        put("Type", &self.message_type);
        put("MessageId", &self.message_id);
        if let Some(t) = &self.token {
            put("Token", t);
        }
        put("TopicArn", &self.topic_arn);
        if let Some(s) = &self.subject {
            put("Subject", s);
        }
        put("Message", &self.message);
        if let Some(u) = &self.subscribe_url {
            put("SubscribeURL", u);
        }
        put("Timestamp", &self.timestamp);
        put("SignatureVersion", &self.signature_version);
        put("Signature", signature);
        put("SigningCertURL", &self.signing_cert_url);
        if let Some(u) = &self.unsubscribe_url {
            put("UnsubscribeURL", u);
        }
        if let Some(a) = &self.message_attributes {
            m.insert("MessageAttributes".into(), a.clone());
        }
        Value::Object(m)
    }

    /// Signs with `key` per `signature_version` (anything but `1` signs as `2`) and returns
    /// the JSON text to post.
    pub fn signed_body(&self, key: &rsa::RsaPrivateKey) -> Result<String, SignError> {
        let version =
            SignatureVersion::parse(&self.signature_version).unwrap_or(SignatureVersion::V2);
        let sig = sign_with(version, &canonical_string(self), key)?;
        Ok(serde_json::to_string_pretty(&self.to_json(&sig)).expect("a JSON value serialises"))
    }
}

/// The `Message` of a `SubscriptionConfirmation` (SNS's wording).
pub fn subscription_confirmation_message(topic_arn: &str) -> String {
    format!(
        "You have chosen to subscribe to the topic {topic_arn}.\n\
         To confirm the subscription, visit the SubscribeURL included in this message."
    )
}

/// The `Message` of an `UnsubscribeConfirmation` (SNS's wording).
pub fn unsubscribe_confirmation_message(subscription_arn: &str, topic_arn: &str) -> String {
    format!(
        "You have chosen to deactivate subscription {subscription_arn}.\n\
         To cancel this operation and restore the subscription, visit the SubscribeURL \
         included in this message. (Topic: {topic_arn})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(subject: Option<&str>) -> Envelope {
        Envelope {
            message_type: "Notification".into(),
            message_id: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324".into(),
            topic_arn: "arn:aws:sns:us-west-2:123456789012:MyTopic".into(),
            subject: subject.map(Into::into),
            message: "Hello world!".into(),
            timestamp: "2012-05-02T00:54:06.655Z".into(),
            token: None,
            subscribe_url: None,
            unsubscribe_url: Some("https://sns.us-west-2.example.net/?Action=Unsubscribe".into()),
            signature_version: "2".into(),
            signing_cert_url: "https://sns.us-west-2.example.net/SimpleNotificationService-x.pem"
                .into(),
            message_attributes: None,
        }
    }

    /// The documented string to sign for each type (SNS guide, "Verifying the signatures").
    #[test]
    fn canonical_strings_follow_the_documented_field_lists() {
        let table = [
            (
                notification(Some("My First Message")),
                "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
                 Subject\nMy First Message\nTimestamp\n2012-05-02T00:54:06.655Z\n\
                 TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n",
            ),
            (
                // No Subject: the name is left out too.
                notification(None),
                "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
                 Timestamp\n2012-05-02T00:54:06.655Z\n\
                 TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n",
            ),
            (
                Envelope {
                    message_type: "SubscriptionConfirmation".into(),
                    token: Some("2336412f37f".into()),
                    subscribe_url: Some("https://sns/?Action=ConfirmSubscription".into()),
                    unsubscribe_url: None,
                    message: "You have chosen".into(),
                    ..notification(None)
                },
                "Message\nYou have chosen\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
                 SubscribeURL\nhttps://sns/?Action=ConfirmSubscription\n\
                 Timestamp\n2012-05-02T00:54:06.655Z\nToken\n2336412f37f\n\
                 TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n\
                 Type\nSubscriptionConfirmation\n",
            ),
        ];
        for (env, want) in table {
            assert_eq!(canonical_string(&env), want, "{}", env.message_type);
        }
    }

    #[test]
    fn envelope_json_has_sns_fields_and_omits_absent_ones() {
        let v = notification(None).to_json("c2ln");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Type",
                "MessageId",
                "TopicArn",
                "Message",
                "Timestamp",
                "SignatureVersion",
                "Signature",
                "SigningCertURL",
                "UnsubscribeURL"
            ]
        );
        assert_eq!(v["Signature"], "c2ln");
    }

    #[test]
    fn signed_body_verifies_with_the_public_key() {
        let key = sign::tests::test_key();
        let env = notification(Some("s"));
        let body = env.signed_body(&key).unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        let sig = v["Signature"].as_str().unwrap();
        verify(&canonical_string(&env), sig, &key.to_public_key()).unwrap();
        // Any change to a signed field breaks it.
        let mut other = env.clone();
        other.message.push('!');
        assert!(verify(&canonical_string(&other), sig, &key.to_public_key()).is_err());
    }
}
