//! Email templates (spec B-69..B-89; DECISIONS Q-117..Q-121), shared by v1 (`CreateTemplate`, …)
//! and v2 (`CreateEmailTemplate`, …): both APIs read and write the same records.
//!
//! The template language itself lives in `sesame-template`; this module owns storage: the name
//! rule, the 20,000-per-(account, region) limit (B-69, Q-120), full replacement on update
//! (B-89, Q-120) and the `TestRender*` preview with the current date (Q-121).

use serde::{Deserialize, Serialize};
use sesame_model::{ResourceKey, Scope, StoreError};
use sesame_template::{TemplateContent, TemplateError};

use crate::records::{kind, Tag};
use crate::{now_ms, Engine, EngineError};

/// B-69 / Q-120: templates per (account, region).
pub const MAX_TEMPLATES: u64 = 20_000;

/// A stored template (kind `template`, name = `TemplateName`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateRecord {
    pub name: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    /// Unix milliseconds; kept across updates (v1 `TemplateMetadata.CreatedTimestamp`).
    pub created_at: i64,
    /// Q-25; kept across updates (an update replaces the content only).
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl TemplateRecord {
    pub fn content(&self) -> TemplateContent {
        TemplateContent {
            subject: self.subject.clone(),
            text: self.text.clone(),
            html: self.html.clone(),
        }
    }
}

/// Checks a template name (model `TemplateName`; SES guide: 1–64 of `[A-Za-z0-9_-]`). A bad name
/// is a parameter error (v1 `InvalidParameterValue`, v2 `BadRequestException`), never
/// `InvalidTemplate`.
pub fn validate_template_name(name: &str) -> Result<(), EngineError> {
    sesame_template::validate_name(name).map_err(|e| {
        EngineError::BadRequest(match e {
            TemplateError::InvalidTemplate(m) | TemplateError::TooLarge(m) => m,
            other => other.to_string(),
        })
    })
}

/// Create/update-time content rules (Q-120): subject and at least one body part (a parameter
/// error), then the 500 KB size limit (a parameter error) and Handlebars syntax
/// (`InvalidTemplate`).
pub fn validate_content(content: &TemplateContent) -> Result<(), EngineError> {
    if let Some(m) = sesame_template::missing_required_part(content) {
        return Err(EngineError::BadRequest(m.into()));
    }
    sesame_template::validate(content).map_err(|e| match e {
        TemplateError::TooLarge(m) => EngineError::BadRequest(m),
        other => EngineError::Template(other),
    })
}

fn not_found(name: &str) -> EngineError {
    EngineError::NotFound(format!("Template {name} does not exist."))
}

fn corrupt(e: serde_json::Error) -> EngineError {
    EngineError::Internal(format!("corrupt template: {e}"))
}

/// RFC 5322 date of `ms` (Unix milliseconds), for the preview's `Date` header.
pub fn rfc5322_date(ms: i64) -> String {
    use time::format_description::well_known::Rfc2822;
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|d| d.format(&Rfc2822).ok())
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 +0000".into())
}

impl Engine {
    fn template_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::TEMPLATE, name)
    }

    /// A new record created now (content not yet validated).
    pub fn new_template(name: &str, content: TemplateContent, tags: Vec<Tag>) -> TemplateRecord {
        TemplateRecord {
            name: name.to_string(),
            subject: content.subject,
            text: content.text,
            html: content.html,
            created_at: now_ms(),
            tags,
        }
    }

    /// Creates a template: name, content and tags checked, then the per-scope limit.
    /// `AlreadyExists` when the name is taken (v1 `AlreadyExists`, v2 `AlreadyExistsException`).
    pub async fn create_template(
        &self,
        scope: &Scope,
        rec: TemplateRecord,
    ) -> Result<TemplateRecord, EngineError> {
        validate_template_name(&rec.name)?;
        validate_content(&rec.content())?;
        crate::tags::validate_tags(&rec.tags)?;
        // The count and the insert are not atomic, so concurrent creates can overshoot the limit
        // by a few; the limit is a quota, not an invariant the store must keep.
        if self.store.count_resources(scope, kind::TEMPLATE).await? >= MAX_TEMPLATES {
            return Err(EngineError::LimitExceeded(format!(
                "Maximum number of templates ({MAX_TEMPLATES}) reached."
            )));
        }
        let data = serde_json::to_value(&rec).expect("record serialises");
        self.store
            .insert_resource(&Self::template_key(scope, &rec.name), &data)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists => {
                    EngineError::AlreadyExists(format!("Template {} already exists.", rec.name))
                }
                other => other.into(),
            })?;
        Ok(rec)
    }

    pub async fn get_template(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<TemplateRecord>, EngineError> {
        match self
            .store
            .get_resource(&Self::template_key(scope, name))
            .await?
        {
            Some(r) => Ok(Some(serde_json::from_value(r.data).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// `NotFound` when absent (v1 `TemplateDoesNotExist`, v2 `NotFoundException`).
    pub async fn require_template(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<TemplateRecord, EngineError> {
        self.get_template(scope, name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    /// B-89 / Q-120: full replacement of subject, text and HTML (a part left out is removed);
    /// name, creation time and tags are kept.
    pub async fn update_template(
        &self,
        scope: &Scope,
        name: &str,
        content: TemplateContent,
    ) -> Result<TemplateRecord, EngineError> {
        let key = Self::template_key(scope, name);
        loop {
            let r = self
                .store
                .get_resource(&key)
                .await?
                .ok_or_else(|| not_found(name))?;
            validate_content(&content)?;
            let mut rec: TemplateRecord = serde_json::from_value(r.data).map_err(corrupt)?;
            rec.subject = content.subject.clone();
            rec.text = content.text.clone();
            rec.html = content.html.clone();
            let data = serde_json::to_value(&rec).expect("record serialises");
            match self.store.update_resource(&key, &data, r.version).await {
                Ok(_) => return Ok(rec),
                // A concurrent tag change: re-read so its tags are kept.
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(not_found(name)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Returns whether a template was deleted (v1 reports success either way, v2 `NotFound`).
    pub async fn delete_template(&self, scope: &Scope, name: &str) -> Result<bool, EngineError> {
        Ok(self
            .store
            .delete_resource(&Self::template_key(scope, name))
            .await?)
    }

    /// Templates ordered by name, after `after`, at most `limit`; the second value is the name
    /// to resume after when more exist.
    pub async fn list_templates(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<TemplateRecord>, Option<String>), EngineError> {
        let rows = self
            .store
            .list_resources(scope, kind::TEMPLATE, "", after, limit + 1)
            .await?;
        let more = rows.len() > limit;
        let items = rows
            .into_iter()
            .take(limit)
            .map(|r| serde_json::from_value::<TemplateRecord>(r.data).map_err(corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            items.last().map(|t| t.name.clone())
        } else {
            None
        };
        Ok((items, next))
    }

    /// Q-121: the MIME preview of `name` rendered with `data_json`, dated now. Rendering errors
    /// come back as [`EngineError::Template`] (`MissingRenderingAttribute`,
    /// `InvalidRenderingParameter`, `InvalidTemplate` for an unknown partial or helper) or, for
    /// oversized data, `BadRequest`.
    pub async fn test_render_template(
        &self,
        scope: &Scope,
        name: &str,
        data_json: &str,
    ) -> Result<String, EngineError> {
        let rec = self.require_template(scope, name).await?;
        render_preview(
            &rec,
            data_json,
            now_ms(),
            &format!("{:016x}", rand::random::<u64>()),
        )
    }
}

/// The pure part of [`Engine::test_render_template`]: date and boundary seed passed in.
pub fn render_preview(
    rec: &TemplateRecord,
    data_json: &str,
    now_ms: i64,
    boundary_seed: &str,
) -> Result<String, EngineError> {
    let rendered = sesame_template::render(&rec.content(), data_json).map_err(|e| match e {
        TemplateError::TooLarge(m) => EngineError::BadRequest(m),
        other => EngineError::Template(other),
    })?;
    Ok(sesame_template::render_mime(
        &rendered,
        &rfc5322_date(now_ms),
        boundary_seed,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_store::{engine, scope};

    fn content(subject: Option<&str>, text: Option<&str>, html: Option<&str>) -> TemplateContent {
        TemplateContent {
            subject: subject.map(Into::into),
            text: text.map(Into::into),
            html: html.map(Into::into),
        }
    }

    fn hello() -> TemplateContent {
        content(
            Some("Hi {{name}}"),
            Some("Hello {{name}}"),
            Some("<p>{{name}}</p>"),
        )
    }

    /// Model `TemplateName` / SES guide: bad names are parameter errors, not `InvalidTemplate`.
    #[test]
    fn template_names() {
        let long = "n".repeat(65);
        for (name, ok) in [
            ("t1", true),
            ("My_Template-2", true),
            ("", false),
            ("has space", false),
            ("dot.ted", false),
            (long.as_str(), false),
        ] {
            let r = validate_template_name(name);
            assert_eq!(r.is_ok(), ok, "{name}");
            if let Err(e) = r {
                assert!(matches!(e, EngineError::BadRequest(_)), "{name}: {e:?}");
            }
        }
    }

    /// Q-120: subject + a body part required (parameter error); syntax → `InvalidTemplate`;
    /// > 500 KB → parameter error.
    #[test]
    fn content_rules() {
        type Check = fn(&EngineError) -> bool;
        let big = "x".repeat(sesame_template::MAX_TEMPLATE_BYTES);
        let table: Vec<(TemplateContent, Option<Check>)> = vec![
            (hello(), None),
            (content(Some("s"), None, Some("h")), None),
            (content(Some("s"), Some("t"), None), None),
            (
                content(None, Some("t"), Some("h")),
                Some(|e| matches!(e, EngineError::BadRequest(_))),
            ),
            (
                content(Some("s"), None, None),
                Some(|e| matches!(e, EngineError::BadRequest(_))),
            ),
            (
                content(Some("s"), Some("{{#if x}}unclosed"), None),
                Some(|e| matches!(e, EngineError::Template(TemplateError::InvalidTemplate(_)))),
            ),
            (
                content(Some("s"), Some(&big), None),
                Some(|e| matches!(e, EngineError::BadRequest(_))),
            ),
        ];
        for (i, (c, expect)) in table.into_iter().enumerate() {
            match (validate_content(&c), expect) {
                (Ok(()), None) => {}
                (Err(e), Some(check)) => assert!(check(&e), "row {i}: {e:?}"),
                (r, _) => panic!("row {i}: unexpected {r:?}"),
            }
        }
    }

    #[tokio::test]
    async fn create_get_update_delete() {
        let e = engine();
        let s = scope();
        let rec = Engine::new_template("t1", hello(), vec![]);
        e.create_template(&s, rec.clone()).await.unwrap();
        assert!(matches!(
            e.create_template(&s, rec.clone()).await,
            Err(EngineError::AlreadyExists(_))
        ));
        assert_eq!(e.require_template(&s, "t1").await.unwrap(), rec);

        // B-89: full replacement — the HTML part left out is removed; creation time is kept.
        let upd = e
            .update_template(&s, "t1", content(Some("New"), Some("Body"), None))
            .await
            .unwrap();
        assert_eq!(upd.html, None);
        assert_eq!(upd.created_at, rec.created_at);
        assert_eq!(e.require_template(&s, "t1").await.unwrap(), upd);
        assert!(matches!(
            e.update_template(&s, "nope", hello()).await,
            Err(EngineError::NotFound(_))
        ));
        assert!(matches!(
            e.update_template(&s, "t1", content(Some("only subject"), None, None))
                .await,
            Err(EngineError::BadRequest(_))
        ));

        assert!(e.delete_template(&s, "t1").await.unwrap());
        assert!(!e.delete_template(&s, "t1").await.unwrap());
        assert!(matches!(
            e.require_template(&s, "t1").await,
            Err(EngineError::NotFound(_))
        ));
    }

    /// B-69 / Q-120: the 20,000th template is accepted, the next one is `LimitExceeded`.
    #[tokio::test]
    async fn limit_of_20000_per_scope() {
        let e = engine();
        let s = scope();
        for i in 0..MAX_TEMPLATES {
            let data =
                serde_json::to_value(Engine::new_template(&format!("t{i}"), hello(), vec![]))
                    .unwrap();
            e.store
                .insert_resource(&Engine::template_key(&s, &format!("t{i}")), &data)
                .await
                .unwrap();
        }
        assert!(matches!(
            e.create_template(&s, Engine::new_template("one-more", hello(), vec![]))
                .await,
            Err(EngineError::LimitExceeded(_))
        ));
        // Other scopes are not affected.
        let other = crate::test_store::scope_in("eu-west-1");
        e.create_template(&other, Engine::new_template("one-more", hello(), vec![]))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn list_pages_by_name() {
        let e = engine();
        let s = scope();
        for n in ["c", "a", "b", "d", "e"] {
            e.create_template(&s, Engine::new_template(n, hello(), vec![]))
                .await
                .unwrap();
        }
        let (p1, next) = e.list_templates(&s, None, 2).await.unwrap();
        assert_eq!(names(&p1), ["a", "b"]);
        assert_eq!(next.as_deref(), Some("b"));
        let (p2, next) = e.list_templates(&s, next.as_deref(), 2).await.unwrap();
        assert_eq!(names(&p2), ["c", "d"]);
        let (p3, next) = e.list_templates(&s, next.as_deref(), 2).await.unwrap();
        assert_eq!(names(&p3), ["e"]);
        assert_eq!(next, None);
    }

    fn names(t: &[TemplateRecord]) -> Vec<&str> {
        t.iter().map(|t| t.name.as_str()).collect()
    }

    /// Q-118 / Q-121: the preview carries the rendered parts and the date; a missing attribute
    /// or non-object data is reported synchronously.
    #[test]
    fn preview_renders_and_reports_errors() {
        let rec = Engine::new_template("t1", hello(), vec![]);
        let mime = render_preview(&rec, r#"{"name":"Ana"}"#, 1_700_000_000_000, "seed").unwrap();
        assert!(mime.contains("Subject: Hi Ana"), "{mime}");
        assert!(mime.contains("Hello Ana"), "{mime}");
        assert!(mime.contains("<p>Ana</p>"), "{mime}");
        assert!(
            mime.contains("Date: Tue, 14 Nov 2023 22:13:20 +0000"),
            "{mime}"
        );
        assert!(matches!(
            render_preview(&rec, "{}", 0, "seed"),
            Err(EngineError::Template(
                TemplateError::MissingRenderingAttribute(_)
            ))
        ));
        assert!(matches!(
            render_preview(&rec, "[1]", 0, "seed"),
            Err(EngineError::Template(
                TemplateError::InvalidRenderingParameter(_)
            ))
        ));
    }
}
