//! The sandbox (spec, B-47, E-81; DECISIONS Q-126): while an account has no
//! production access, every recipient must be a verified identity or a simulator address.

/// Recipients that a sandboxed account may not send to, in the order given. `covered(addr)`
/// says whether a verified identity covers the recipient; `is_simulator(addr)` whether it is a
/// simulator address. Empty for production accounts.
pub fn blocked_recipients(
    production_access: bool,
    recipients: &[String],
    covered: impl Fn(&str) -> bool,
    is_simulator: impl Fn(&str) -> bool,
) -> Vec<&String> {
    if production_access {
        return vec![];
    }
    recipients
        .iter()
        .filter(|r| !is_simulator(r) && !covered(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A-113/E-81: verified or simulator recipients pass in the sandbox; production skips it.
    #[test]
    fn sandbox_table() {
        let rcpts: Vec<String> = [
            "ok@verified.com",
            "no@elsewhere.com",
            "success@simulator.amazonses.com",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let covered = |r: &str| r.ends_with("@verified.com");
        let sim = |r: &str| crate::simulator::classify(r, None).is_some();
        assert_eq!(
            blocked_recipients(false, &rcpts, covered, sim),
            vec![&rcpts[1]]
        );
        assert!(blocked_recipients(true, &rcpts, covered, sim).is_empty());
    }
}
