//! The exact strings consumers match on, one module per vocabulary (Q-147: each surface keeps
//! its own spelling, never normalised).

/// `eventType` values of event-publishing records (G-1, G-39, Q-147).
pub mod event_types {
    pub const SEND: &str = "Send";
    /// With a space (G-1, Q-147); the CloudWatch metric is `RenderingFailure` (Z-12).
    pub const RENDERING_FAILURE: &str = "Rendering Failure";
    pub const REJECT: &str = "Reject";
    pub const DELIVERY: &str = "Delivery";
    pub const BOUNCE: &str = "Bounce";
    pub const COMPLAINT: &str = "Complaint";
    pub const DELIVERY_DELAY: &str = "DeliveryDelay";
    pub const SUBSCRIPTION: &str = "Subscription";
    pub const OPEN: &str = "Open";
    pub const CLICK: &str = "Click";
    /// All ten, in G-1 order.
    pub const ALL: [&str; 10] = [
        SEND,
        RENDERING_FAILURE,
        REJECT,
        DELIVERY,
        BOUNCE,
        COMPLAINT,
        DELIVERY_DELAY,
        SUBSCRIPTION,
        OPEN,
        CLICK,
    ];
}

/// Bounce type / subtype table of G-44 (also D-127): the only valid combinations.
pub mod bounce_types {
    /// `bounceType` values.
    pub const UNDETERMINED: &str = "Undetermined";
    pub const PERMANENT: &str = "Permanent";
    pub const TRANSIENT: &str = "Transient";

    /// `bounceSubType` values.
    pub mod sub {
        pub const UNDETERMINED: &str = "Undetermined";
        pub const GENERAL: &str = "General";
        pub const NO_EMAIL: &str = "NoEmail";
        pub const SUPPRESSED: &str = "Suppressed";
        pub const ON_ACCOUNT_SUPPRESSION_LIST: &str = "OnAccountSuppressionList";
        pub const MAILBOX_FULL: &str = "MailboxFull";
        pub const MESSAGE_TOO_LARGE: &str = "MessageTooLarge";
        pub const CONTENT_REJECTED: &str = "ContentRejected";
        pub const ATTACHMENT_REJECTED: &str = "AttachmentRejected";
    }

    /// A (`bounceType`, `bounceSubType`) pair.
    pub type Kind = (&'static str, &'static str);

    pub const UNDETERMINED_UNDETERMINED: Kind = (UNDETERMINED, sub::UNDETERMINED);
    pub const PERMANENT_GENERAL: Kind = (PERMANENT, sub::GENERAL);
    pub const PERMANENT_NO_EMAIL: Kind = (PERMANENT, sub::NO_EMAIL);
    pub const PERMANENT_SUPPRESSED: Kind = (PERMANENT, sub::SUPPRESSED);
    pub const PERMANENT_ON_ACCOUNT_SUPPRESSION_LIST: Kind =
        (PERMANENT, sub::ON_ACCOUNT_SUPPRESSION_LIST);
    pub const TRANSIENT_GENERAL: Kind = (TRANSIENT, sub::GENERAL);
    pub const TRANSIENT_MAILBOX_FULL: Kind = (TRANSIENT, sub::MAILBOX_FULL);
    pub const TRANSIENT_MESSAGE_TOO_LARGE: Kind = (TRANSIENT, sub::MESSAGE_TOO_LARGE);
    pub const TRANSIENT_CONTENT_REJECTED: Kind = (TRANSIENT, sub::CONTENT_REJECTED);
    pub const TRANSIENT_ATTACHMENT_REJECTED: Kind = (TRANSIENT, sub::ATTACHMENT_REJECTED);

    /// The G-44 table in its order.
    pub const ALL: [Kind; 10] = [
        UNDETERMINED_UNDETERMINED,
        PERMANENT_GENERAL,
        PERMANENT_NO_EMAIL,
        PERMANENT_SUPPRESSED,
        PERMANENT_ON_ACCOUNT_SUPPRESSION_LIST,
        TRANSIENT_GENERAL,
        TRANSIENT_MAILBOX_FULL,
        TRANSIENT_MESSAGE_TOO_LARGE,
        TRANSIENT_CONTENT_REJECTED,
        TRANSIENT_ATTACHMENT_REJECTED,
    ];

    /// Whether the pair is one of the ten G-44 combinations (case-sensitive).
    pub fn is_valid(bounce_type: &str, bounce_sub_type: &str) -> bool {
        ALL.iter()
            .any(|&(t, s)| t == bounce_type && s == bounce_sub_type)
    }
}

/// `deliveryDelay.delayType` values (G-53, Q-149).
pub mod delay_types {
    pub const INTERNAL_FAILURE: &str = "InternalFailure";
    pub const GENERAL: &str = "General";
    pub const MAILBOX_FULL: &str = "MailboxFull";
    pub const SPAM_DETECTED: &str = "SpamDetected";
    pub const RECIPIENT_SERVER_ERROR: &str = "RecipientServerError";
    pub const IP_FAILURE: &str = "IPFailure";
    /// Not `TransientCommunicationGeneral` (Z-2, Q-149).
    pub const TRANSIENT_COMMUNICATION_FAILURE: &str = "TransientCommunicationFailure";
    /// No space (Z-2, Q-149).
    pub const BYOIP_HOST_NAME_LOOKUP_UNAVAILABLE: &str = "BYOIPHostNameLookupUnavailable";
    pub const UNDETERMINED: &str = "Undetermined";
    pub const SENDING_DEFERRAL: &str = "SendingDeferral";
    pub const ALL: [&str; 10] = [
        INTERNAL_FAILURE,
        GENERAL,
        MAILBOX_FULL,
        SPAM_DETECTED,
        RECIPIENT_SERVER_ERROR,
        IP_FAILURE,
        TRANSIENT_COMMUNICATION_FAILURE,
        BYOIP_HOST_NAME_LOOKUP_UNAVAILABLE,
        UNDETERMINED,
        SENDING_DEFERRAL,
    ];

    /// The spelling to emit: the seed's variant spellings (Z-2) become the chosen ones
    /// everything else passes through unchanged.
    pub fn canonical(delay_type: &str) -> &str {
        match delay_type {
            "TransientCommunicationGeneral" => TRANSIENT_COMMUNICATION_FAILURE,
            "BYOIP HostNameLookupUnavailable" => BYOIP_HOST_NAME_LOOKUP_UNAVAILABLE,
            other => other,
        }
    }
}

/// `complaint.complaintFeedbackType` values: IANA Feedback-Type (G-47, Q-150).
pub mod complaint_feedback_types {
    pub const ABUSE: &str = "abuse";
    pub const AUTH_FAILURE: &str = "auth-failure";
    pub const FRAUD: &str = "fraud";
    pub const NOT_SPAM: &str = "not-spam";
    pub const OTHER: &str = "other";
    pub const VIRUS: &str = "virus";
    pub const ALL: [&str; 6] = [ABUSE, AUTH_FAILURE, FRAUD, NOT_SPAM, OTHER, VIRUS];
}

/// `complaint.complaintSubType` non-null value (G-45, Q-150).
pub mod complaint_sub_types {
    pub const ON_ACCOUNT_SUPPRESSION_LIST: &str = "OnAccountSuppressionList";
}

/// `reject.reason` (G-49, Q-148).
pub mod reject_reasons {
    /// The only reason, spelled as every example spells it (Z-3, Q-148).
    pub const BAD_CONTENT: &str = "Bad content";

    /// The spelling to emit: the G-49 table's `BadContent` becomes `Bad content`;
    /// everything else passes through unchanged.
    pub fn canonical(reason: &str) -> &str {
        match reason {
            "BadContent" => BAD_CONTENT,
            other => other,
        }
    }
}

/// `ses:operation` auto-tag values (G-23, Q-156): the API operation that submitted the mail.
pub mod operations {
    pub const SEND_EMAIL: &str = "SendEmail";
    pub const SEND_RAW_EMAIL: &str = "SendRawEmail";
    pub const SEND_TEMPLATED_EMAIL: &str = "SendTemplatedEmail";
    pub const SEND_BULK_TEMPLATED_EMAIL: &str = "SendBulkTemplatedEmail";
    pub const SEND_BULK_EMAIL: &str = "SendBulkEmail";
    pub const SEND_CUSTOM_VERIFICATION_EMAIL: &str = "SendCustomVerificationEmail";
    /// SMTP submissions. Q-156 chose the provisional `SendSmtpEmail` (G-23 had only
    /// *suggested* `SMTP`); to be confirmed against a live SES event.
    pub const SMTP: &str = "SendSmtpEmail";
}

/// Auto-tag names (G-23, Q-156).
pub mod auto_tags {
    pub const OPERATION: &str = "ses:operation";
    pub const CONFIGURATION_SET: &str = "ses:configuration-set";
    pub const SOURCE_IP: &str = "ses:source-ip";
    pub const FROM_DOMAIN: &str = "ses:from-domain";
    pub const CALLER_IDENTITY: &str = "ses:caller-identity";
    pub const SOURCE_TLS_VERSION: &str = "ses:source-tls-version";
    /// Known only once delivery has been attempted: on `Delivery` and later records (G-23).
    pub const OUTGOING_IP: &str = "ses:outgoing-ip";
    /// Prefix reserved for auto tags; message tags cannot carry `:` (G-22).
    pub const PREFIX: &str = "ses:";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G-44: the table has exactly ten distinct valid pairs, and near misses are invalid.
    #[test]
    fn bounce_table_is_exact() {
        let mut all = bounce_types::ALL.to_vec();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 10);
        for (t, s, ok) in [
            ("Permanent", "General", true),
            ("Permanent", "OnAccountSuppressionList", true),
            ("Transient", "AttachmentRejected", true),
            ("Undetermined", "Undetermined", true),
            ("Undetermined", "General", false),
            ("Permanent", "MailboxFull", false),
            ("Transient", "NoEmail", false),
            ("permanent", "General", false),
        ] {
            assert_eq!(bounce_types::is_valid(t, s), ok, "{t}/{s}");
        }
    }

    /// Z-2 / Q-149 and Z-3 / Q-148: seed variant spellings map to the chosen ones.
    #[test]
    fn canonical_spellings() {
        for (given, want) in [
            (
                "TransientCommunicationGeneral",
                "TransientCommunicationFailure",
            ),
            (
                "BYOIP HostNameLookupUnavailable",
                "BYOIPHostNameLookupUnavailable",
            ),
            ("MailboxFull", "MailboxFull"),
        ] {
            assert_eq!(delay_types::canonical(given), want);
        }
        assert_eq!(reject_reasons::canonical("BadContent"), "Bad content");
        assert_eq!(reject_reasons::canonical("Bad content"), "Bad content");
        assert!(event_types::ALL.contains(&"Rendering Failure"));
    }
}
