//! The mailbox simulator (spec E-78..E-86; DECISIONS ): addresses at
//! `simulator.amazonses.com` are handled in-process, never resolved or contacted.

/// The simulator domain kept literally.
pub const SIMULATOR_DOMAIN: &str = "simulator.amazonses.com";

/// What the simulator does with one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// `success@`: Send + Delivery.
    Success,
    /// `bounce@`: Send + Bounce Permanent/General (`smtp; 550 5.1.1 user unknown`), never
    /// added to a suppression list.
    Bounce,
    /// `ooto@`: Send + Delivery, plus an RFC 3834 auto-reply to the Return-Path.
    OutOfOffice,
    /// `complaint@`: Send + Delivery + Complaint (`abuse`).
    Complaint,
    /// `suppressionlist@`: Send + Bounce Permanent/Suppressed.
    SuppressionList,
    /// Any other local part: hard bounce `550 5.1.1`.
    UnknownUser,
}

/// Classifies `address` if it is a simulator address (case-insensitive on the domain and the
/// base local part; `+label` ignored, E-83/E-86). `alias` is the operator's optional alias
/// domain (`simulator.<sd>`).
pub fn classify(address: &str, alias: Option<&str>) -> Option<Scenario> {
    let (local, domain) = address.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    let is_sim = domain.eq_ignore_ascii_case(SIMULATOR_DOMAIN)
        || alias.is_some_and(|a| domain.eq_ignore_ascii_case(a));
    if !is_sim {
        return None;
    }
    let base = local
        .split_once('+')
        .map_or(local, |(b, _)| b)
        .to_ascii_lowercase();
    Some(match base.as_str() {
        "success" => Scenario::Success,
        "bounce" => Scenario::Bounce,
        "ooto" => Scenario::OutOfOffice,
        "complaint" => Scenario::Complaint,
        "suppressionlist" => Scenario::SuppressionList,
        _ => Scenario::UnknownUser,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// E-79, E-83, E-86, Q-125.
    #[test]
    fn classification_table() {
        for (addr, want) in [
            ("success@simulator.amazonses.com", Some(Scenario::Success)),
            ("SUCCESS@Simulator.AmazonSES.com", Some(Scenario::Success)),
            (
                "bounce+label1@simulator.amazonses.com",
                Some(Scenario::Bounce),
            ),
            ("ooto@simulator.amazonses.com", Some(Scenario::OutOfOffice)),
            (
                "complaint+x@simulator.amazonses.com",
                Some(Scenario::Complaint),
            ),
            (
                "suppressionlist@simulator.amazonses.com",
                Some(Scenario::SuppressionList),
            ),
            (
                "nobody@simulator.amazonses.com",
                Some(Scenario::UnknownUser),
            ),
            ("success@example.com", None),
            ("not-an-address", None),
        ] {
            assert_eq!(classify(addr, None), want, "{addr}");
        }
        assert_eq!(
            classify(
                "bounce@simulator.mail.example.net",
                Some("simulator.mail.example.net")
            ),
            Some(Scenario::Bounce)
        );
    }
}
