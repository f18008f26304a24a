//! Opaque, tamper-proof pagination tokens (DECISIONS Q-13): base64url of
//! `{"o":operation,"f":filter,"a":after}` plus an HMAC-SHA256 tag with the instance key, bound to
//! the scope, the operation and the filter so a token cannot be replayed elsewhere.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sesame_model::Scope;

use crate::{Engine, EngineError};

#[derive(Serialize, Deserialize)]
struct Payload {
    o: String,
    f: String,
    a: String,
}

impl Engine {
    /// A token that resumes `operation` (with `filter`) after the name `after`.
    pub fn page_token(&self, scope: &Scope, operation: &str, filter: &str, after: &str) -> String {
        let payload = serde_json::to_vec(&Payload {
            o: operation.into(),
            f: filter.into(),
            a: after.into(),
        })
        .expect("serialising a payload of strings cannot fail");
        let tag = self.token_mac(scope, &payload);
        format!("{}.{}", B64.encode(&payload), B64.encode(&tag[..16]))
    }

    /// Checks a `NextToken` (when one was given) and returns the name to resume after. `BadRequest` when the token was
    /// forged, altered, or minted for another scope, operation or filter.
    pub fn parse_page_token(
        &self,
        scope: &Scope,
        operation: &str,
        filter: &str,
        token: Option<&str>,
    ) -> Result<Option<String>, EngineError> {
        token
            .map(|t| self.check_page_token(scope, operation, filter, t))
            .transpose()
    }

    fn check_page_token(
        &self,
        scope: &Scope,
        operation: &str,
        filter: &str,
        token: &str,
    ) -> Result<String, EngineError> {
        let bad = || EngineError::BadRequest("Invalid NextToken.".into());
        let (p, t) = token.split_once('.').ok_or_else(bad)?;
        let payload = B64.decode(p).map_err(|_| bad())?;
        let tag = B64.decode(t).map_err(|_| bad())?;
        let expected = self.token_mac(scope, &payload);
        if tag.len() != 16 || !constant_eq(&tag, &expected[..16]) {
            return Err(bad());
        }
        let parsed: Payload = serde_json::from_slice(&payload).map_err(|_| bad())?;
        if parsed.o != operation || parsed.f != filter {
            return Err(bad());
        }
        Ok(parsed.a)
    }

    fn token_mac(&self, scope: &Scope, payload: &[u8]) -> [u8; 32] {
        let mut data = Vec::with_capacity(payload.len() + 64);
        data.extend_from_slice(b"sesame-page-token\0");
        data.extend_from_slice(scope.account.as_str().as_bytes());
        data.push(0);
        data.extend_from_slice(scope.region.as_str().as_bytes());
        data.push(0);
        data.extend_from_slice(payload);
        sesame_sigv4::secrets::hmac_sha256(&self.mac_key[..], &data)
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
