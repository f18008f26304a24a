//! Checks that run before a message is stored: configuration set, sender identities, sandbox,
//! pauses. Each one reads the store through the engine and applies `sesame-policy`'s rules.

use sesame_model::{Arn, Scope};
use sesame_policy::identity::{self, Known};
use sesame_policy::{sandbox, simulator};

use super::types::SendError;
use crate::configuration_sets::ConfigurationSetRecord;
use crate::records::IdentityRecord;
use crate::Engine;

/// explicit parameter > `X-SES-CONFIGURATION-SET` header > the governing identity's
/// default. Returns `None` when no set applies.
pub async fn resolve_configuration_set(
    engine: &Engine,
    scope: &Scope,
    explicit: Option<&str>,
    header: Option<&str>,
    sender_identity: Option<&IdentityRecord>,
) -> Result<Option<ConfigurationSetRecord>, SendError> {
    if let Some(name) = explicit.or(header).filter(|n| !n.is_empty()) {
        return match engine.hot_configuration_set(scope, name).await? {
            Some(s) => Ok(Some(s)),
            None => Err(SendError::ConfigurationSetDoesNotExist(format!(
                "Configuration set <{name}> does not exist."
            ))),
        };
    }
    let Some(default) = sender_identity.and_then(|i| i.configuration_set_name.as_deref()) else {
        return Ok(None);
    };
    match engine.hot_configuration_set(scope, default).await? {
        Some(s) => Ok(Some(s)),
        None => Err(SendError::DefaultConfigurationSetMissing(format!(
            "Configuration set <{default}> does not exist."
        ))),
    }
}

/// Result of checking the sender-side addresses.
pub struct SenderCheck {
    /// The identity governing the From address (DKIM, MAIL FROM, default set, feedback).
    pub from_identity: IdentityRecord,
}

impl Engine {
    /// The verified identity governing `address`, if any.
    pub async fn governing_identity(
        &self,
        scope: &Scope,
        address: &str,
    ) -> Result<Option<IdentityRecord>, SendError> {
        let bare = identity::bare_address(address);
        if let Some(rec) = self.hot.resolution(scope, bare) {
            return Ok(Some(rec));
        }
        let mut found = Vec::new();
        for name in identity::candidates(bare) {
            // Most specific first: a cached verified candidate is the answer unless a more
            // specific one exists, so only cache hits for the first candidates are shortcuts.
            if let Some(rec) = self.hot.identity(scope, &name) {
                found.push(rec);
                continue;
            }
            if let Some(rec) = self.get_identity(scope, &name).await? {
                self.hot.put_identity(scope, &rec);
                found.push(rec);
            }
        }
        let known: Vec<Known> = found
            .iter()
            .map(|r| Known {
                name: r.identity.as_str(),
                verified: Engine::verified_for_sending(r),
            })
            .collect();
        let chosen = identity::resolve(bare, &known).map(str::to_string);
        let governing = chosen.and_then(|c| found.into_iter().find(|r| r.identity == c));
        if let Some(rec) = &governing {
            self.hot.put_resolution(scope, bare, rec);
        }
        Ok(governing)
    }

    /// From, Source (envelope), Sender and Return-Path must each be covered by a verified
    /// identity. All failures are reported together with the Q-22 text.
    pub async fn check_senders(
        &self,
        scope: &Scope,
        from: &str,
        others: &[&str],
    ) -> Result<SenderCheck, SendError> {
        let mut failed: Vec<String> = Vec::new();
        let from_identity = self.governing_identity(scope, from).await?;
        if from_identity.is_none() {
            failed.push(from.to_string());
        }
        let from_bare = identity::bare_address(from);
        for a in others {
            // The same address as From (the usual case: Source = From) was checked already.
            if a.is_empty()
                || identity::bare_address(a) == from_bare
                || failed.iter().any(|f| f == a)
            {
                continue;
            }
            if self.governing_identity(scope, a).await?.is_none() {
                failed.push(a.to_string());
            }
        }
        match (from_identity, failed.is_empty()) {
            (Some(from_identity), true) => Ok(SenderCheck { from_identity }),
            _ => Err(SendError::Rejected(identity::not_verified_message(
                scope.region.as_str(),
                &failed,
            ))),
        }
    }

    /// in the sandbox, every recipient must be verified or a simulator address.
    pub async fn check_sandbox(
        &self,
        scope: &Scope,
        production: bool,
        recipients: &[String],
    ) -> Result<(), SendError> {
        if production {
            return Ok(());
        }
        let mut covered = std::collections::HashSet::new();
        for r in recipients {
            if simulator::classify(r, None).is_none()
                && self.governing_identity(scope, r).await?.is_some()
            {
                covered.insert(r.clone());
            }
        }
        let blocked = sandbox::blocked_recipients(
            production,
            recipients,
            |r| covered.contains(r),
            |r| simulator::classify(r, None).is_some(),
        );
        if blocked.is_empty() {
            Ok(())
        } else {
            let list: Vec<String> = blocked.into_iter().cloned().collect();
            Err(SendError::Rejected(identity::not_verified_message(
                scope.region.as_str(),
                &list,
            )))
        }
    }
}

/// An identity ARN given on a send (API `FromEmailAddressIdentityArn`/`SourceArn`/… or the
/// `X-SES-SOURCE-ARN`/`X-SES-FROM-ARN`/`X-SES-RETURN-PATH-ARN` headers, E-64). Only this
/// account's identities are supported until sending authorization exists; an ARN of another
/// account or a malformed one is a 400 `MessageRejected`.
pub fn check_identity_arn(scope: &Scope, arn: Option<&str>) -> Result<(), SendError> {
    let Some(arn) = arn.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    match Arn::parse(arn) {
        Some(p) if p.service == "ses" && p.resource.starts_with("identity/") => {
            if p.account == scope.account.as_str() && p.region == scope.region.as_str() {
                Ok(())
            } else {
                Err(SendError::Rejected(format!(
                    "Sending authorization for identities of other accounts is not supported by this deployment yet: {arn}"
                )))
            }
        }
        _ => Err(SendError::Rejected(format!("Invalid identity ARN: {arn}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// own identity ARNs pass; other accounts, other regions and junk are refused.
    #[test]
    fn identity_arns() {
        let scope = Scope::new(
            "123456789012".parse().unwrap(),
            "us-east-1".parse().unwrap(),
        );
        for (arn, ok) in [
            (None, true),
            (Some(""), true),
            (
                Some("arn:aws:ses:us-east-1:123456789012:identity/example.com"),
                true,
            ),
            (
                Some("arn:aws:ses:us-east-1:999999999999:identity/example.com"),
                false,
            ),
            (
                Some("arn:aws:ses:eu-west-1:123456789012:identity/example.com"),
                false,
            ),
            (Some("arn:aws:ses:us-east-1:123456789012:template/t"), false),
            (Some("nonsense"), false),
        ] {
            assert_eq!(check_identity_arn(&scope, arn).is_ok(), ok, "{arn:?}");
        }
    }
}
