//! Identifiers: the 12-digit account id, region names, scopes and AWS-style ARNs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A 12-digit account id, unique per installation (DECISIONS.md Q-27).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("account id must be exactly 12 digits, got {0:?}")]
    Account(String),
    #[error("region name must match [a-z0-9-]+ (1-32 characters), got {0:?}")]
    Region(String),
}

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_string()))
        } else {
            Err(IdError::Account(s.to_string()))
        }
    }
}

impl TryFrom<String> for AccountId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A region name served by this deployment (Q-52: any `[a-z0-9-]+`, default `us-east-1`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Region {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Ok(Region(s.to_string()))
        } else {
            Err(IdError::Region(s.to_string()))
        }
    }
}

impl TryFrom<String> for Region {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `(account, region)`: the key of every piece of account state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    pub account: AccountId,
    pub region: Region,
}

impl Scope {
    pub fn new(account: AccountId, region: Region) -> Self {
        Scope { account, region }
    }

    /// `arn:<partition>:ses:<region>:<account>:<resource>`.
    pub fn ses_arn(&self, partition: &str, resource: &str) -> Arn {
        Arn(format!(
            "arn:{partition}:ses:{}:{}:{resource}",
            self.region, self.account
        ))
    }
}

/// An ARN in AWS's layout.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Arn(pub String);

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArnParts<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl Arn {
    pub fn parse(s: &str) -> Option<ArnParts<'_>> {
        let mut it = s.splitn(6, ':');
        if it.next()? != "arn" {
            return None;
        }
        let partition = it.next()?;
        let service = it.next()?;
        let region = it.next()?;
        let account = it.next()?;
        let resource = it.next()?;
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return None;
        }
        Some(ArnParts {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        for (input, ok) in [
            ("123456789012", true),
            ("12345678901", false),
            ("1234567890123", false),
            ("12345678901a", false),
            ("", false),
        ] {
            assert_eq!(input.parse::<AccountId>().is_ok(), ok, "{input}");
        }
    }

    #[test]
    fn regions_follow_q52() {
        for (input, ok) in [
            ("us-east-1", true),
            ("eu-west-3", true),
            ("local", true),
            ("US-EAST-1", false),
            ("us_east_1", false),
            ("", false),
        ] {
            assert_eq!(input.parse::<Region>().is_ok(), ok, "{input}");
        }
    }

    #[test]
    fn arn_round_trip() {
        let scope = Scope::new(
            "123456789012".parse().unwrap(),
            "us-east-1".parse().unwrap(),
        );
        let arn = scope.ses_arn("aws", "identity/example.com");
        assert_eq!(
            arn.0,
            "arn:aws:ses:us-east-1:123456789012:identity/example.com"
        );
        let p = Arn::parse(&arn.0).unwrap();
        assert_eq!(p.service, "ses");
        assert_eq!(p.account, "123456789012");
        assert_eq!(p.resource, "identity/example.com");
        // Resources may contain colons (receipt rules): only the first five split.
        let p = Arn::parse("arn:aws:ses:us-east-1:1:receipt-rule-set/a:receipt-rule/b").unwrap();
        assert_eq!(p.resource, "receipt-rule-set/a:receipt-rule/b");
        assert!(Arn::parse("not-an-arn").is_none());
    }
}
