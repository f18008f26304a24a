//! Email feedback forwarding (spec D-110..D-116, E-56..E-58, G-57; DECISIONS ):
//! whether a bounce or complaint of one message is also mailed to the message's feedback
//! address (its Return-Path, else its source, Q-161).
//!
//! Forwarding is a per-identity switch, on by default (D-114). Turning it off is only a wish:
//! when the message has no *other* channel for that kind of feedback — no SNS topic of the
//! identity for it, and no enabled event destination of the configuration set the message used
//! that matches it — the notification is emailed anyway (D-112, E-58, Q-162). The decision is
//! taken per message and per kind (a topic for Bounce does not cover complaints).

/// The two kinds of feedback that can be forwarded by email (D-115: never deliveries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedbackKind {
    Bounce,
    Complaint,
}

impl FeedbackKind {
    /// The identity notification type (`SetIdentityNotificationTopic`'s `NotificationType`,
    /// D-122) that covers this kind.
    pub fn notification_type(self) -> &'static str {
        match self {
            FeedbackKind::Bounce => "Bounce",
            FeedbackKind::Complaint => "Complaint",
        }
    }

    /// The v2 `EventType` (`MatchingEventTypes`, E-120) that covers this kind.
    pub fn event_type(self) -> &'static str {
        match self {
            FeedbackKind::Bounce => "BOUNCE",
            FeedbackKind::Complaint => "COMPLAINT",
        }
    }
}

/// forward when the identity has forwarding enabled, or when neither an identity topic
/// for this kind (`identity_has_topic`) nor an enabled event destination of the message's
/// configuration set matching this kind (`set_has_destination`) exists.
pub fn should_forward(
    forwarding_enabled: bool,
    identity_has_topic: bool,
    set_has_destination: bool,
) -> bool {
    forwarding_enabled || !(identity_has_topic || set_has_destination)
}

/// Whether one stored v2 `EventDestination` (`{"Enabled": …, "MatchingEventTypes": […]}`)
/// publishes `kind`: it must be enabled (an absent `Enabled` is `false`, as the v1 and v2
/// models default it) and list the kind's event type.
pub fn destination_covers(
    enabled: Option<bool>,
    matching_event_types: &[&str],
    kind: FeedbackKind,
) -> bool {
    enabled == Some(true) && matching_event_types.contains(&kind.event_type())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Q-162 / D-112 / E-58: the whole truth table.
    #[test]
    fn should_forward_table() {
        // (forwarding enabled, identity topic, set destination) → forward?
        let table = [
            ((true, false, false), true),
            ((true, true, false), true),
            ((true, false, true), true),
            ((true, true, true), true),
            // Disabled, but no other channel at all: emailed anyway (D-112, T-10).
            ((false, false, false), true),
            ((false, true, false), false),
            ((false, false, true), false),
            ((false, true, true), false),
        ];
        for ((enabled, topic, dest), want) in table {
            assert_eq!(
                should_forward(enabled, topic, dest),
                want,
                "enabled={enabled} topic={topic} destination={dest}"
            );
        }
    }

    /// A destination counts only when enabled and matching the kind (E-120 spellings).
    #[test]
    fn destination_covers_table() {
        use FeedbackKind::*;
        let table: [(Option<bool>, &[&str], FeedbackKind, bool); 7] = [
            (Some(true), &["BOUNCE"], Bounce, true),
            (Some(true), &["SEND", "COMPLAINT"], Complaint, true),
            (Some(true), &["BOUNCE"], Complaint, false),
            (Some(false), &["BOUNCE"], Bounce, false),
            (None, &["BOUNCE"], Bounce, false),
            (Some(true), &[], Bounce, false),
            // v1 spelling is not a v2 event type: destinations are stored in v2 form.
            (Some(true), &["bounce"], Bounce, false),
        ];
        for (enabled, types, kind, want) in table {
            assert_eq!(
                destination_covers(enabled, types, kind),
                want,
                "{enabled:?} {types:?} {kind:?}"
            );
        }
        assert_eq!(Bounce.notification_type(), "Bounce");
        assert_eq!(Complaint.event_type(), "COMPLAINT");
    }
}
