//! Resource tags (DECISIONS Q-25): stored inside each resource document under `tags`, so one
//! generic implementation serves every taggable kind.

use sesame_model::{Arn, ResourceKey, Scope};

use crate::records::{kind, Tag};
use crate::{Engine, EngineError};

pub const MAX_TAGS: usize = 50;

/// key 1–128, value 0–256, keys starting `aws:` reserved, at most 50, keys unique.
pub fn validate_tags(tags: &[Tag]) -> Result<(), EngineError> {
    if tags.len() > MAX_TAGS {
        return Err(EngineError::BadRequest(format!(
            "A resource can have at most {MAX_TAGS} tags."
        )));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(EngineError::BadRequest(
                "Tag keys must have 1-128 characters.".into(),
            ));
        }
        if t.value.chars().count() > 256 {
            return Err(EngineError::BadRequest(
                "Tag values must have at most 256 characters.".into(),
            ));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(EngineError::BadRequest(
                "Tag keys starting with 'aws:' are reserved.".into(),
            ));
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(EngineError::BadRequest(format!(
                "Duplicate tag key: {}",
                t.key
            )));
        }
    }
    Ok(())
}

impl Engine {
    /// Maps a taggable ARN of this scope to its resource key. `NotFound` for ARNs of other
    /// accounts/regions or unknown resource types.
    pub fn resource_for_arn(&self, scope: &Scope, arn: &str) -> Result<ResourceKey, EngineError> {
        let nf = || EngineError::NotFound(format!("Resource {arn} not found."));
        let p = Arn::parse(arn)
            .ok_or_else(|| EngineError::BadRequest(format!("Invalid ARN: {arn}")))?;
        if p.service != "ses"
            || p.account != scope.account.as_str()
            || p.region != scope.region.as_str()
        {
            return Err(nf());
        }
        let (ty, name) = p.resource.split_once('/').ok_or_else(nf)?;
        let k = match ty {
            "identity" => {
                let n = crate::identities::normalize_identity(name).map_err(|_| nf())?;
                return Ok(ResourceKey::new(scope, kind::IDENTITY, &n));
            }
            "configuration-set" => kind::CONFIGURATION_SET,
            "template" => kind::TEMPLATE,
            "custom-verification-email-template" => kind::CUSTOM_VERIFICATION_TEMPLATE,
            "dedicated-ip-pool" => kind::DEDICATED_IP_POOL,
            "contact-list" => kind::CONTACT_LIST,
            _ => return Err(nf()),
        };
        Ok(ResourceKey::new(scope, k, name))
    }

    /// Tags of a resource.
    pub async fn list_tags(&self, key: &ResourceKey) -> Result<Vec<Tag>, EngineError> {
        let r =
            self.store.get_resource(key).await?.ok_or_else(|| {
                EngineError::NotFound(format!("Resource {} not found.", key.name))
            })?;
        Ok(
            serde_json::from_value(r.data.get("tags").cloned().unwrap_or_default())
                .unwrap_or_default(),
        )
    }

    /// Adds or replaces tags (TagResource) or removes keys (UntagResource).
    pub async fn change_tags(
        &self,
        key: &ResourceKey,
        add: &[Tag],
        remove: &[String],
    ) -> Result<(), EngineError> {
        loop {
            let r = self.store.get_resource(key).await?.ok_or_else(|| {
                EngineError::NotFound(format!("Resource {} not found.", key.name))
            })?;
            let mut tags: Vec<Tag> =
                serde_json::from_value(r.data.get("tags").cloned().unwrap_or_default())
                    .unwrap_or_default();
            for t in add {
                match tags.iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value = t.value.clone(),
                    None => tags.push(t.clone()),
                }
            }
            tags.retain(|t| !remove.contains(&t.key));
            validate_tags(&tags)?;
            let mut data = r.data.clone();
            data["tags"] = serde_json::to_value(&tags).expect("tags serialise");
            match self.store.update_resource(key, &data, r.version).await {
                Ok(_) => return Ok(()),
                Err(sesame_model::StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn tag_rules_q25() {
        assert!(validate_tags(&[t("a", "")]).is_ok());
        assert!(validate_tags(&[t("", "x")]).is_err());
        assert!(validate_tags(&[t(&"k".repeat(129), "x")]).is_err());
        assert!(validate_tags(&[t("k", &"v".repeat(257))]).is_err());
        assert!(validate_tags(&[t("aws:x", "v")]).is_err());
        assert!(validate_tags(&[t("a", "1"), t("a", "2")]).is_err());
        let many: Vec<Tag> = (0..51).map(|i| t(&format!("k{i}"), "")).collect();
        assert!(validate_tags(&many).is_err());
        assert!(validate_tags(&many[..50]).is_ok());
    }
}
