//! What happens to one recipient of a claimed message, in the order of DECISIONS Q-189:
//! mailbox simulator first (E-78..E-86, Q-125; simulator mail never reaches a suppression list
//! or an unsubscribe check), then list management (a contact who unsubscribed from the
//! message's list or topic, F-179, F/Z-14), then the account- or configuration-set-level
//! suppression list (F-134, F §SP step 3, Q-188), then delivery. The global suppression list
//! does not exist yet, so its step is absent. Pure: the caller looks the contact and
//! the suppression entry up.

use sesame_events::bounce_types;
use sesame_policy::simulator::Scenario;

/// The outcome for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Handed over: captured in the dev inbox (capture mode) or, later, sent by the MTA.
    Deliver,
    /// Simulator `success@`/`ooto@`: a Delivery without any real hand-off (E-86).
    SimulatedDelivery,
    /// Simulator `complaint@`: Delivery, then a Complaint with feedback type `abuse` (E-80).
    SimulatedComplaint,
    /// A bounce synthesised by the product.
    Bounce(BounceReason),
}

/// Why a recipient bounced; each reason is one `(bounceType, bounceSubType)` pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BounceReason {
    /// Simulator `bounce@` or an unknown simulator local part: `550 5.1.1` (E-79, Q-125).
    SimulatorUnknownUser,
    /// Simulator `suppressionlist@`: as if on the global list (E-79, E-80).
    SimulatorSuppressed,
    /// On the account list with a reason the effective settings suppress (F-134, Q-189).
    OnAccountSuppressionList,
    /// A contact of the message's list who unsubscribed from it or from its topic (F-179,
    /// `Permanent`/`General` with Q-198's diagnostic code, no bounce-rate impact.
    UnsubscribedRecipient,
}

impl BounceReason {
    pub fn kind(self) -> bounce_types::Kind {
        match self {
            BounceReason::SimulatorUnknownUser => bounce_types::PERMANENT_GENERAL,
            BounceReason::SimulatorSuppressed => bounce_types::PERMANENT_SUPPRESSED,
            BounceReason::OnAccountSuppressionList => {
                bounce_types::PERMANENT_ON_ACCOUNT_SUPPRESSION_LIST
            }
            BounceReason::UnsubscribedRecipient => bounce_types::PERMANENT_GENERAL,
        }
    }

    /// DSN `Status` (RFC 3463) of the synthesised bounce.
    pub fn status(self) -> &'static str {
        match self {
            // The recipient asked not to get this mail: "delivery not authorized, message
            // refused" (RFC 3463 §3.8).
            BounceReason::UnsubscribedRecipient => "5.7.1",
            // The others are "bad destination mailbox address" (RFC 3463 §3.2).
            _ => "5.1.1",
        }
    }

    /// DSN `Diagnostic-Code` (E-80 for the simulator; SES's wording for the suppression lists).
    pub fn diagnostic(self) -> &'static str {
        match self {
            BounceReason::SimulatorUnknownUser => "smtp; 550 5.1.1 user unknown",
            BounceReason::SimulatorSuppressed => {
                "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address."
            }
            BounceReason::OnAccountSuppressionList => {
                "Amazon SES did not send the message to this address because it is on the suppression list for your account."
            }
            BounceReason::UnsubscribedRecipient => {
                sesame_policy::reputation::UNSUBSCRIBED_DIAGNOSTIC
            }
        }
    }
}

/// The reasons that suppress delivery (F-162, Q-188): the configuration set's override when it
/// has one (`SuppressionOptions` stored as `{"SuppressedReasons": [...]}`; `[]` = suppression
/// off for the set), else the account's `suppressed_reasons`.
pub fn effective_reasons(
    account_reasons: &[String],
    set_options: Option<&serde_json::Value>,
) -> Vec<String> {
    match set_options
        .and_then(|o| o.get("SuppressedReasons"))
        .and_then(|r| r.as_array())
    {
        Some(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        None => account_reasons.to_vec(),
    }
}

/// Q-189 for one recipient. `scenario` is the simulator classification; `unsubscribed`
/// whether the recipient is a contact of the message's list who opted out of it or of its
/// topic (`contacts::is_unsubscribed`); `listed_reason` the reason of the recipient's
/// account-list entry, if any; `reasons` the effective reasons.
pub fn classify(
    scenario: Option<Scenario>,
    unsubscribed: bool,
    listed_reason: Option<&str>,
    reasons: &[String],
) -> Outcome {
    if let Some(s) = scenario {
        return match s {
            Scenario::Success | Scenario::OutOfOffice => Outcome::SimulatedDelivery,
            Scenario::Complaint => Outcome::SimulatedComplaint,
            Scenario::Bounce | Scenario::UnknownUser => {
                Outcome::Bounce(BounceReason::SimulatorUnknownUser)
            }
            Scenario::SuppressionList => Outcome::Bounce(BounceReason::SimulatorSuppressed),
        };
    }
    if unsubscribed {
        return Outcome::Bounce(BounceReason::UnsubscribedRecipient);
    }
    match listed_reason {
        Some(r) if reasons.iter().any(|x| x == r) => {
            Outcome::Bounce(BounceReason::OnAccountSuppressionList)
        }
        _ => Outcome::Deliver,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// Q-189 order, E-80 outcomes, F-162/Q-188 effective reasons.
    #[test]
    fn outcome_table() {
        let both = s(&["BOUNCE", "COMPLAINT"]);
        for (scenario, listed, reasons, want) in [
            (
                Some(Scenario::Success),
                None,
                &both,
                Outcome::SimulatedDelivery,
            ),
            (
                Some(Scenario::OutOfOffice),
                None,
                &both,
                Outcome::SimulatedDelivery,
            ),
            (
                Some(Scenario::Complaint),
                None,
                &both,
                Outcome::SimulatedComplaint,
            ),
            (
                Some(Scenario::Bounce),
                None,
                &both,
                Outcome::Bounce(BounceReason::SimulatorUnknownUser),
            ),
            (
                Some(Scenario::UnknownUser),
                None,
                &both,
                Outcome::Bounce(BounceReason::SimulatorUnknownUser),
            ),
            (
                Some(Scenario::SuppressionList),
                None,
                &both,
                Outcome::Bounce(BounceReason::SimulatorSuppressed),
            ),
            // The simulator wins over an account-list entry (Q-189 step order).
            (
                Some(Scenario::Success),
                Some("BOUNCE"),
                &both,
                Outcome::SimulatedDelivery,
            ),
            (
                None,
                Some("BOUNCE"),
                &both,
                Outcome::Bounce(BounceReason::OnAccountSuppressionList),
            ),
            (None, Some("COMPLAINT"), &s(&["BOUNCE"]), Outcome::Deliver),
            (None, Some("BOUNCE"), &s(&[]), Outcome::Deliver),
            (None, None, &both, Outcome::Deliver),
        ] {
            assert_eq!(
                classify(scenario, false, listed, reasons),
                want,
                "{scenario:?} {listed:?}"
            );
        }
    }

    /// Q-189, F-179, F/Z-14: an unsubscribed contact bounces before the suppression list is
    /// looked at, but never a simulator address.
    #[test]
    fn unsubscribed_contacts_bounce_after_the_simulator() {
        let both = s(&["BOUNCE", "COMPLAINT"]);
        let unsub = Outcome::Bounce(BounceReason::UnsubscribedRecipient);
        assert_eq!(classify(None, true, None, &both), unsub);
        assert_eq!(classify(None, true, Some("BOUNCE"), &both), unsub);
        assert_eq!(
            classify(Some(Scenario::Success), true, None, &both),
            Outcome::SimulatedDelivery
        );
        assert_eq!(
            BounceReason::UnsubscribedRecipient.kind(),
            ("Permanent", "General")
        );
        assert!(!sesame_policy::reputation::bounced_recipient_counts(Some(
            BounceReason::UnsubscribedRecipient.diagnostic()
        )));
    }

    #[test]
    fn set_override_beats_account_reasons() {
        let account = s(&["BOUNCE", "COMPLAINT"]);
        assert_eq!(effective_reasons(&account, None), account);
        assert_eq!(
            effective_reasons(&account, Some(&json!({"SuppressedReasons": []}))),
            s(&[])
        );
        assert_eq!(
            effective_reasons(&account, Some(&json!({"SuppressedReasons": ["COMPLAINT"]}))),
            s(&["COMPLAINT"])
        );
    }
}
