//! Custom verification email templates and `SendCustomVerificationEmail` (spec D-51..D-60;
//! DECISIONS Q-101, Q-102, Q-103). Shared by v1 and v2: both APIs read and write the same
//! records (kind `custom-verification-template`, named by `TemplateName`, per (account,
//! region)).
//!
//! Rules (Q-103): at most [`MAX_TEMPLATES`] per (account, region); content at most
//! [`MAX_CONTENT_BYTES`]; HTML limited to the allow-list of D-58 ([`validate_html`]: other tags
//! or attributes and HTML comments are refused); `FromEmailAddress` a bare address (no display
//! name, D-52) that is verified, or on a verified domain; redirection URLs absolute http(s).
//! Sending needs production access (D-51) and creates the address identity `PENDING` at send
//! time (Q-101); the email itself is built and queued by [`crate::email_verification`].
//!
//! Errors that the two APIs spell differently are [`CustomVerificationError`] variants; the
//! edges map them (v1 `CustomVerificationEmailInvalidContent`, `FromEmailAddressNotVerified`,
//! `ProductionAccessNotGranted`, …; v2 `BadRequestException`, `MessageRejected`, …).

use serde::{Deserialize, Serialize};
use sesame_model::{ResourceKey, Scope, StoreError};

use crate::email_verification::CustomEmail;
use crate::identities::normalize_identity;
use crate::records::{kind, Tag};
use crate::templates::validate_template_name;
use crate::{now_ms, Engine, EngineError};

/// D-58 / Q-103: templates per (account, region).
pub const MAX_TEMPLATES: u64 = 50;
/// D-58 / Q-103: template size (subject and content).
pub const MAX_CONTENT_BYTES: usize = 10 * 1024 * 1024;

/// A stored custom verification email template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomVerificationTemplate {
    pub name: String,
    pub from_email_address: String,
    pub subject: String,
    /// HTML body (D-58 allow-list).
    pub content: String,
    pub success_redirection_url: String,
    pub failure_redirection_url: String,
    pub created_at: i64,
    /// v2 only (Q-25 rules).
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The fields an update supplies: v1 any subset (partial update), v2 all (Q-102).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplatePatch {
    pub from_email_address: Option<String>,
    pub subject: Option<String>,
    pub content: Option<String>,
    pub success_redirection_url: Option<String>,
    pub failure_redirection_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CustomVerificationError {
    /// Generic engine errors: `AlreadyExists`, `LimitExceeded`, `BadRequest`, `Internal`.
    #[error("{0}")]
    Engine(EngineError),
    /// The named template does not exist.
    #[error("{0}")]
    TemplateNotFound(String),
    /// The named configuration set does not exist.
    #[error("{0}")]
    ConfigurationSetNotFound(String),
    /// HTML outside the allow-list, a comment, or too large (D-58).
    #[error("{0}")]
    InvalidContent(String),
    /// `FromEmailAddress` is not a verified identity (D-52).
    #[error("{0}")]
    FromNotVerified(String),
    /// The account is in the sandbox (D-51).
    #[error("{0}")]
    ProductionAccessNotGranted(String),
}

impl From<EngineError> for CustomVerificationError {
    fn from(e: EngineError) -> Self {
        CustomVerificationError::Engine(e)
    }
}

impl From<StoreError> for CustomVerificationError {
    fn from(e: StoreError) -> Self {
        CustomVerificationError::Engine(e.into())
    }
}

type Result<T> = std::result::Result<T, CustomVerificationError>;

fn bad(m: impl Into<String>) -> CustomVerificationError {
    CustomVerificationError::Engine(EngineError::BadRequest(m.into()))
}

fn not_found(name: &str) -> CustomVerificationError {
    CustomVerificationError::TemplateNotFound(format!(
        "Custom verification email template {name} does not exist."
    ))
}

fn corrupt(e: serde_json::Error) -> CustomVerificationError {
    CustomVerificationError::Engine(EngineError::Internal(format!(
        "corrupt custom verification template: {e}"
    )))
}

/// D-58: allowed attributes per tag; tags not listed are refused.
fn allowed_attributes(tag: &str) -> Option<&'static [&'static str]> {
    const COMMON: &[&str] = &["class", "id", "style", "title"];
    const PLAIN: &[&str] = &[
        "abbr", "acronym", "address", "area", "b", "bdo", "big", "body", "br", "button", "caption",
        "center", "cite", "code", "dd", "del", "dfn", "dir", "div", "dl", "dt", "em", "fieldset",
        "font", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "html", "i", "input",
        "ins", "kbd", "label", "legend", "li", "map", "menu", "optgroup", "option", "p", "pre",
        "s", "samp", "select", "small", "span", "strike", "strong", "sub", "sup", "tbody",
        "textarea", "tfoot", "thead", "tr", "tt", "u", "var",
    ];
    if PLAIN.contains(&tag) {
        return Some(COMMON);
    }
    Some(match tag {
        "blockquote" | "q" => &["cite", "class", "id", "style", "title"],
        "col" | "colgroup" => &["class", "id", "span", "style", "title", "width"],
        "img" => &[
            "align", "alt", "class", "height", "id", "src", "style", "title", "width",
        ],
        "ol" => &["class", "id", "start", "style", "title", "type"],
        "ul" => &["class", "id", "style", "title", "type"],
        "table" => &["class", "id", "style", "summary", "title", "width"],
        "td" => &[
            "abbr", "axis", "class", "colspan", "id", "rowspan", "style", "title", "width",
        ],
        "th" => &[
            "abbr", "axis", "class", "colspan", "id", "rowspan", "scope", "style", "title", "width",
        ],
        _ => return None,
    })
}

/// D-58 / Q-103: checks `html` against the tag and attribute allow-list; HTML comments are
/// refused; a `<!DOCTYPE …>` is allowed; a `<` not followed by a tag name is text. Returns the
/// reason of the first violation.
pub fn validate_html(html: &str) -> std::result::Result<(), String> {
    let b = html.as_bytes();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let start = i + off;
        let rest = &html[start + 1..];
        if rest.starts_with("!--") {
            return Err(
                "HTML comments are not allowed in custom verification email templates.".into(),
            );
        }
        if rest.len() >= 8 && rest[..8].eq_ignore_ascii_case("!doctype") {
            i = start + 1 + rest.find('>').map_or(rest.len(), |e| e + 1);
            continue;
        }
        let (closing, name_at) = match rest.as_bytes().first() {
            Some(b'/') => (true, start + 2),
            _ => (false, start + 1),
        };
        let name_len = b[name_at..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !b[name_at].is_ascii_alphabetic() {
            if rest.starts_with('!') || rest.starts_with('?') || (closing && name_len == 0) {
                return Err(format!(
                    "Markup {:?} is not allowed in custom verification email templates.",
                    &html[start..(start + 12).min(html.len())]
                ));
            }
            i = start + 1; // a lone '<' in text
            continue;
        }
        let name = html[name_at..name_at + name_len].to_ascii_lowercase();
        let Some(allowed) = allowed_attributes(&name) else {
            return Err(format!(
                "The tag <{name}> is not allowed in custom verification email templates."
            ));
        };
        // Attributes up to the closing '>', skipping quoted values.
        let mut j = name_at + name_len;
        loop {
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                j += 1;
            }
            if j >= b.len() {
                return Err(format!("The tag <{name}> is not closed."));
            }
            if b[j] == b'>' {
                j += 1;
                break;
            }
            let a0 = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/')
            {
                j += 1;
            }
            let attr = html[a0..j].to_ascii_lowercase();
            if closing || !allowed.contains(&attr.as_str()) {
                return Err(format!(
                    "The attribute {attr:?} of <{name}> is not allowed in custom verification email templates."
                ));
            }
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < b.len() && b[j] == b'=' {
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                match b.get(j) {
                    Some(q @ (b'"' | b'\'')) => {
                        let q = *q;
                        j += 1;
                        while j < b.len() && b[j] != q {
                            j += 1;
                        }
                        j += 1;
                    }
                    _ => {
                        while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                            j += 1;
                        }
                    }
                }
            }
        }
        i = j.min(html.len());
    }
    Ok(())
}

fn validate_url(field: &str, url: &str) -> Result<()> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{field} must be an absolute http or https URL."
        )))
    }
}

fn validate_content(subject: &str, content: &str) -> Result<()> {
    if subject.trim().is_empty() {
        return Err(bad("TemplateSubject must not be empty."));
    }
    if subject.contains(['\r', '\n']) {
        return Err(bad("TemplateSubject must be a single line."));
    }
    if subject.len() + content.len() > MAX_CONTENT_BYTES {
        return Err(CustomVerificationError::InvalidContent(format!(
            "The template exceeds the maximum size of {MAX_CONTENT_BYTES} bytes."
        )));
    }
    validate_html(content).map_err(CustomVerificationError::InvalidContent)
}

impl Engine {
    fn cv_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::CUSTOM_VERIFICATION_TEMPLATE, name)
    }

    /// D-52: a bare address (no display name) that is a verified identity or on a verified
    /// domain.
    async fn check_from_address(&self, scope: &Scope, from: &str) -> Result<()> {
        if from.contains(['<', '>', '"']) {
            return Err(bad(
                "FromEmailAddress must be a bare email address; display names are not supported.",
            ));
        }
        let addr = normalize_identity(from)
            .ok()
            .filter(|a| a.contains('@'))
            .ok_or_else(|| bad(format!("Invalid FromEmailAddress {from}.")))?;
        let domain = addr.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        for candidate in std::iter::once(addr.clone()).chain(domain) {
            if let Some(rec) = self.get_identity(scope, &candidate).await? {
                if Engine::verified_for_sending(&rec) {
                    return Ok(());
                }
            }
        }
        Err(CustomVerificationError::FromNotVerified(format!(
            "Email address {addr} is not verified."
        )))
    }

    pub async fn create_custom_verification_template(
        &self,
        scope: &Scope,
        rec: CustomVerificationTemplate,
    ) -> Result<CustomVerificationTemplate> {
        validate_template_name(&rec.name)?;
        validate_content(&rec.subject, &rec.content)?;
        validate_url("SuccessRedirectionURL", &rec.success_redirection_url)?;
        validate_url("FailureRedirectionURL", &rec.failure_redirection_url)?;
        crate::tags::validate_tags(&rec.tags)?;
        if self
            .get_custom_verification_template(scope, &rec.name)
            .await?
            .is_some()
        {
            return Err(EngineError::AlreadyExists(format!(
                "Custom verification email template {} already exists.",
                rec.name
            ))
            .into());
        }
        self.check_from_address(scope, &rec.from_email_address)
            .await?;
        // Count and insert are not atomic (as for templates): a quota, not an invariant.
        if self
            .store
            .count_resources(scope, kind::CUSTOM_VERIFICATION_TEMPLATE)
            .await?
            >= MAX_TEMPLATES
        {
            return Err(EngineError::LimitExceeded(format!(
                "Maximum number of custom verification email templates ({MAX_TEMPLATES}) reached."
            ))
            .into());
        }
        let data = serde_json::to_value(&rec).expect("record serialises");
        self.store
            .insert_resource(&Self::cv_key(scope, &rec.name), &data)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists => EngineError::AlreadyExists(format!(
                    "Custom verification email template {} already exists.",
                    rec.name
                ))
                .into(),
                other => CustomVerificationError::from(other),
            })?;
        Ok(rec)
    }

    pub async fn get_custom_verification_template(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<CustomVerificationTemplate>> {
        match self.store.get_resource(&Self::cv_key(scope, name)).await? {
            Some(r) => Ok(Some(serde_json::from_value(r.data).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    pub async fn require_custom_verification_template(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<CustomVerificationTemplate> {
        self.get_custom_verification_template(scope, name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    /// Q-102: the supplied fields replace the stored ones (v1 may supply any subset, v2 all).
    pub async fn update_custom_verification_template(
        &self,
        scope: &Scope,
        name: &str,
        patch: TemplatePatch,
    ) -> Result<CustomVerificationTemplate> {
        let key = Self::cv_key(scope, name);
        if let Some(from) = &patch.from_email_address {
            if self
                .get_custom_verification_template(scope, name)
                .await?
                .is_none()
            {
                return Err(not_found(name));
            }
            self.check_from_address(scope, from).await?;
        }
        loop {
            let r = self
                .store
                .get_resource(&key)
                .await?
                .ok_or_else(|| not_found(name))?;
            let mut rec: CustomVerificationTemplate =
                serde_json::from_value(r.data).map_err(corrupt)?;
            let p = patch.clone();
            rec.from_email_address = p.from_email_address.unwrap_or(rec.from_email_address);
            rec.subject = p.subject.unwrap_or(rec.subject);
            rec.content = p.content.unwrap_or(rec.content);
            rec.success_redirection_url = p
                .success_redirection_url
                .unwrap_or(rec.success_redirection_url);
            rec.failure_redirection_url = p
                .failure_redirection_url
                .unwrap_or(rec.failure_redirection_url);
            validate_content(&rec.subject, &rec.content)?;
            validate_url("SuccessRedirectionURL", &rec.success_redirection_url)?;
            validate_url("FailureRedirectionURL", &rec.failure_redirection_url)?;
            let data = serde_json::to_value(&rec).expect("record serialises");
            match self.store.update_resource(&key, &data, r.version).await {
                Ok(_) => return Ok(rec),
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(not_found(name)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether a template was deleted (v1 succeeds either way, v2 `NotFoundException`).
    pub async fn delete_custom_verification_template(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<bool> {
        Ok(self
            .store
            .delete_resource(&Self::cv_key(scope, name))
            .await?)
    }

    /// Templates ordered by name after `after`, at most `limit`; the second value is the name
    /// to resume after when more exist.
    pub async fn list_custom_verification_templates(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<CustomVerificationTemplate>, Option<String>)> {
        let rows = self
            .store
            .list_resources(
                scope,
                kind::CUSTOM_VERIFICATION_TEMPLATE,
                "",
                after,
                limit + 1,
            )
            .await?;
        let more = rows.len() > limit;
        let items = rows
            .into_iter()
            .take(limit)
            .map(|r| serde_json::from_value(r.data).map_err(corrupt))
            .collect::<Result<Vec<CustomVerificationTemplate>>>()?;
        let next = more.then(|| items.last().map(|t| t.name.clone())).flatten();
        Ok((items, next))
    }

    /// D-55..D-57, Q-101, Q-103: sends the template's verification email to `address`,
    /// creating the address identity `PENDING` if it does not exist. Returns the message id.
    pub async fn send_custom_verification_email(
        &self,
        scope: &Scope,
        address: &str,
        template: &str,
        configuration_set: Option<&str>,
    ) -> Result<String> {
        let name = normalize_identity(address)
            .ok()
            .filter(|a| a.contains('@'))
            .ok_or_else(|| bad(format!("Invalid email address {address}.")))?;
        let t = self
            .require_custom_verification_template(scope, template)
            .await?;
        if let Some(cs) = configuration_set {
            if self.get_configuration_set(scope, cs).await?.is_none() {
                return Err(CustomVerificationError::ConfigurationSetNotFound(format!(
                    "Configuration set <{cs}> does not exist."
                )));
            }
        }
        if !self.account_settings(scope).await?.production_access {
            return Err(CustomVerificationError::ProductionAccessNotGranted(
                "Production access is required to send custom verification emails; this account is in the sandbox.".into(),
            ));
        }
        self.check_from_address(scope, &t.from_email_address)
            .await?;
        if self.get_identity(scope, &name).await?.is_none() {
            match self
                .insert_identity(scope, Engine::new_identity(&name))
                .await
            {
                Ok(_) | Err(EngineError::AlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let custom = CustomEmail {
            from: t.from_email_address,
            subject: t.subject,
            content: t.content,
            success_redirect: t.success_redirection_url,
            failure_redirect: t.failure_redirection_url,
        };
        Ok(self
            .send_verification_email(scope, &name, Some(&custom))
            .await?)
    }

    /// A new record created now (validated by `create_custom_verification_template`).
    pub fn new_custom_verification_template(
        name: &str,
        from: &str,
        subject: &str,
        content: &str,
        success: &str,
        failure: &str,
        tags: Vec<Tag>,
    ) -> CustomVerificationTemplate {
        CustomVerificationTemplate {
            name: name.into(),
            from_email_address: from.into(),
            subject: subject.into(),
            content: content.into(),
            success_redirection_url: success.into(),
            failure_redirection_url: failure.into(),
            created_at: now_ms(),
            tags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// D-58: the allow-list table, comments, unknown tags and attributes.
    #[test]
    fn html_allow_list() {
        for (html, ok) in [
            (
                "<html><body><h1 style=\"x\">Hi</h1><p class='a'>Text</p></body></html>",
                true,
            ),
            ("<!DOCTYPE html><html></html>", true),
            ("Plain text, 1 < 2 and 3 > 2", true),
            (
                "<img src=\"data:image/png;base64,AAAA\" alt=x width=10/>",
                true,
            ),
            (
                "<table summary=s><tr><td colspan=2 axis=a>x</td></tr></table>",
                true,
            ),
            ("<th scope=row>x</th><td scope=row>x</td>", false),
            ("<br/><br /><hr>", true),
            ("<script>alert(1)</script>", false),
            ("<p>x</p><!-- hidden -->", false),
            ("<a href=\"https://x\">link</a>", false),
            ("<p onclick=\"x()\">x</p>", false),
            ("<div data-x=1>x</div>", false),
            ("<IMG SRC=x>", true),
            ("<iframe src=x>", false),
            ("<p title=\"a > b\">x</p>", true),
            ("<p", false),
            ("<blockquote cite=x>q</blockquote>", true),
            ("<span cite=x>q</span>", false),
        ] {
            assert_eq!(
                validate_html(html).is_ok(),
                ok,
                "{html}: {:?}",
                validate_html(html)
            );
        }
    }

    #[test]
    fn urls() {
        assert!(validate_url("U", "https://example.com/ok").is_ok());
        assert!(validate_url("U", "http://example.com").is_ok());
        assert!(validate_url("U", "ftp://example.com").is_err());
        assert!(validate_url("U", "https://").is_err());
        assert!(validate_url("U", "https://a b").is_err());
    }
}
