//! Server-side validation of canonical input against the model's constraints (DECISIONS Q-15):
//! required members, enums, lengths, ranges and patterns, with AWS's message wording.

use crate::model::{Model, Shape, ShapeKind};
use crate::{ApiError, Service};
use base64::Engine as _;
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Validates `input` (canonical form) for `operation`; the first call per pattern compiles it.
pub fn validate_input(
    service: Service,
    model: &Model,
    operation: &str,
    input: &Value,
) -> Result<(), ApiError> {
    let Some(op) = model.operation(operation) else {
        return Err(ApiError::unknown_operation(service, operation));
    };
    let Some(shape) = op.input.as_ref().and_then(|r| model.shape(&r.shape)) else {
        return Ok(());
    };
    let mut v = Validator {
        model,
        missing: Vec::new(),
        invalid: Vec::new(),
    };
    v.structure(shape, input, "");
    if !v.missing.is_empty() {
        let all: Vec<String> = v.missing.iter().chain(&v.invalid).cloned().collect();
        return Err(ApiError::missing_parameter(service, summary(&all)));
    }
    if !v.invalid.is_empty() {
        return Err(ApiError::validation(service, summary(&v.invalid)));
    }
    Ok(())
}

fn summary(messages: &[String]) -> String {
    let n = messages.len();
    let noun = if n == 1 { "error" } else { "errors" };
    format!("{n} validation {noun} detected: {}", messages.join("; "))
}

/// `EmailAddress` → `emailAddress` (AWS reports member paths in lower camel case).
fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(display).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn regex_for(pattern: &str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok())
        .clone()
}

struct Validator<'m> {
    model: &'m Model,
    missing: Vec<String>,
    invalid: Vec<String>,
}

impl Validator<'_> {
    fn fail(&mut self, v: &Value, path: &str, constraint: String) {
        self.invalid.push(format!(
            "Value '{}' at '{path}' failed to satisfy constraint: {constraint}",
            display(v)
        ));
    }

    fn structure(&mut self, shape: &Shape, v: &Value, path: &str) {
        let Some(obj) = v.as_object() else { return };
        for (name, r) in &shape.members {
            let child = if path.is_empty() {
                lower_camel(name)
            } else {
                format!("{path}.{}", lower_camel(name))
            };
            match obj.get(name).filter(|v| !v.is_null()) {
                None if shape.required.contains(name) => self.missing.push(format!(
                    "Value null at '{child}' failed to satisfy constraint: Member must not be null"
                )),
                None => {}
                Some(mv) => {
                    if let Some(target) = self.model.shape(&r.shape) {
                        self.value(target, mv, &child);
                    }
                }
            }
        }
    }

    fn length(&mut self, shape: &Shape, v: &Value, path: &str, len: usize) {
        if let Some(min) = shape.min.filter(|m| (len as f64) < *m) {
            self.fail(
                v,
                path,
                format!(
                    "Member must have length greater than or equal to {}",
                    fmt_num(min)
                ),
            );
        }
        if let Some(max) = shape.max.filter(|m| (len as f64) > *m) {
            self.fail(
                v,
                path,
                format!(
                    "Member must have length less than or equal to {}",
                    fmt_num(max)
                ),
            );
        }
    }

    fn value(&mut self, shape: &Shape, v: &Value, path: &str) {
        if shape.document {
            return;
        }
        match (shape.kind, v) {
            (ShapeKind::Structure, _) => self.structure(shape, v, path),
            (ShapeKind::List, Value::Array(items)) => {
                self.length(shape, v, path, items.len());
                if let Some(ms) = shape
                    .member
                    .as_ref()
                    .and_then(|m| self.model.shape(&m.shape))
                {
                    for (i, item) in items.iter().enumerate() {
                        self.value(ms, item, &format!("{path}.member.{}", i + 1));
                    }
                }
            }
            (ShapeKind::Map, Value::Object(entries)) => {
                self.length(shape, v, path, entries.len());
                let ks = shape.key.as_ref().and_then(|k| self.model.shape(&k.shape));
                let vs = shape
                    .value
                    .as_ref()
                    .and_then(|k| self.model.shape(&k.shape));
                for (k, mv) in entries {
                    if let Some(ks) = ks {
                        self.value(ks, &Value::String(k.clone()), &format!("{path}.key"));
                    }
                    if let Some(vs) = vs {
                        self.value(vs, mv, &format!("{path}.{k}"));
                    }
                }
            }
            (ShapeKind::String, Value::String(s)) => {
                if !shape.enum_values.is_empty() && !shape.enum_values.contains(s) {
                    let set = shape.enum_values.join(", ");
                    self.fail(
                        v,
                        path,
                        format!("Member must satisfy enum value set: [{set}]"),
                    );
                    return;
                }
                self.length(shape, v, path, s.chars().count());
                if let Some(pattern) = &shape.pattern {
                    if regex_for(pattern).is_some_and(|re| !re.is_match(s)) {
                        self.fail(
                            v,
                            path,
                            format!("Member must satisfy regular expression pattern: {pattern}"),
                        );
                    }
                }
            }
            (ShapeKind::Blob, Value::String(s)) => {
                let len = base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map(|b| b.len())
                    .unwrap_or(s.len());
                self.length(shape, v, path, len);
            }
            (
                ShapeKind::Integer | ShapeKind::Long | ShapeKind::Float | ShapeKind::Double,
                Value::Number(n),
            ) => {
                let n = n.as_f64().unwrap_or_default();
                if let Some(min) = shape.min.filter(|m| n < *m) {
                    self.fail(
                        v,
                        path,
                        format!(
                            "Member must have value greater than or equal to {}",
                            fmt_num(min)
                        ),
                    );
                }
                if let Some(max) = shape.max.filter(|m| n > *m) {
                    self.fail(
                        v,
                        path,
                        format!(
                            "Member must have value less than or equal to {}",
                            fmt_num(max)
                        ),
                    );
                }
            }
            (
                ShapeKind::Integer
                | ShapeKind::Long
                | ShapeKind::Float
                | ShapeKind::Double
                | ShapeKind::Timestamp,
                _,
            ) if !v.is_number() => self.fail(v, path, "Member must be a number".to_string()),
            (ShapeKind::Boolean, _) if !v.is_boolean() => {
                self.fail(v, path, "Member must be a boolean".to_string())
            }
            (ShapeKind::String | ShapeKind::Blob, _) if !v.is_string() => {
                self.fail(v, path, "Member must be a string".to_string())
            }
            (ShapeKind::List, _) => self.fail(v, path, "Member must be a list".to_string()),
            (ShapeKind::Map, _) => self.fail(v, path, "Member must be a map".to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::model;
    use serde_json::json;

    #[test]
    #[allow(clippy::type_complexity)]
    fn table() {
        let v1 = model(Service::SesV1);
        let v2 = model(Service::SesV2);
        let cases: &[(Service, &Model, &str, Value, Option<(&str, &str)>)] = &[
            (Service::SesV1, v1, "VerifyEmailIdentity", json!({"EmailAddress": "a@b.c"}), None),
            (
                Service::SesV1,
                v1,
                "VerifyEmailIdentity",
                json!({}),
                Some(("MissingParameter", "1 validation error detected: Value null at 'emailAddress' failed to satisfy constraint: Member must not be null")),
            ),
            (
                Service::SesV1,
                v1,
                "ListIdentities",
                json!({"IdentityType": "Bogus"}),
                Some(("InvalidParameterValue", "1 validation error detected: Value 'Bogus' at 'identityType' failed to satisfy constraint: Member must satisfy enum value set: [EmailAddress, Domain]")),
            ),
            (
                Service::SesV2,
                v2,
                "CreateEmailIdentity",
                json!({"EmailIdentity": ""}),
                Some(("BadRequestException", "1 validation error detected: Value '' at 'emailIdentity' failed to satisfy constraint: Member must have length greater than or equal to 1")),
            ),
            (
                Service::SesV2,
                v2,
                "CreateEmailIdentity",
                json!({}),
                Some(("BadRequestException", "1 validation error detected: Value null at 'emailIdentity' failed to satisfy constraint: Member must not be null")),
            ),
            (
                Service::SesV2,
                v2,
                "PutEmailIdentityDkimSigningAttributes",
                json!({"EmailIdentity": "example.com", "SigningAttributesOrigin": "EXTERNAL", "SigningAttributes": {"DomainSigningSelector": "bad selector!"}}),
                Some(("BadRequestException", "1 validation error detected: Value 'bad selector!' at 'signingAttributes.domainSigningSelector' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]*[a-zA-Z0-9]))$")),
            ),
        ];
        for (service, model, op, input, want) in cases {
            let got = validate_input(*service, model, op, input);
            match want {
                None => assert!(got.is_ok(), "{op} {input}: {got:?}"),
                Some((code, message)) => {
                    let err = got.expect_err(op);
                    assert_eq!(
                        (err.code.as_str(), err.message.as_str()),
                        (*code, *message),
                        "{op} {input}"
                    );
                }
            }
        }
    }
}
