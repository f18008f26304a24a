//! The Query protocol (SES v1, SNS): decode form parameters (`Action`, `Version`, `A.member.N`,
//! `M.entry.N.key`, `S.Field`) into canonical input, encode outputs and errors as XML.

use crate::model::{Model, Shape, ShapeKind, ShapeRef};
use crate::restjson::{scalar_from_text, DecodedRequest};
use crate::{timestamp, ApiError, Service};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The only API version the Query services accept (`Version` may also be absent).
pub const API_VERSION: &str = "2010-12-01";

fn service_of(model: &Model) -> Service {
    match model.xml_namespace.as_deref() {
        Some(ns) if ns.contains("sns") => Service::Sns,
        _ => Service::SesV1,
    }
}

/// Decodes already form-decoded parameters (POST body or GET query string) into an operation
/// and its canonical input.
pub fn decode_request(
    model: &Model,
    params: &[(String, String)],
) -> Result<DecodedRequest, ApiError> {
    let service = service_of(model);
    let map: HashMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let action = map.get("Action").copied().ok_or_else(|| {
        ApiError::missing_parameter(service, "The request must contain the parameter Action.")
    })?;
    if let Some(version) = map.get("Version") {
        if *version != API_VERSION
            && (model.api_version.is_empty() || *version != model.api_version)
        {
            return Err(ApiError::unknown_operation(service, action));
        }
    }
    let op = model
        .operation(action)
        .ok_or_else(|| ApiError::unknown_operation(service, action))?;
    let input = match &op.input {
        Some(r) => {
            let shape = model
                .shape(&r.shape)
                .ok_or_else(|| ApiError::internal(service))?;
            let mut keys: Vec<&str> = map.keys().copied().collect();
            keys.sort_unstable();
            let ctx = Decoder {
                model,
                map: &map,
                keys: &keys,
                service,
            };
            ctx.structure(shape, "")?
        }
        None => Value::Object(Map::new()),
    };
    Ok(DecodedRequest {
        operation: op.name,
        input,
    })
}

struct Decoder<'a> {
    model: &'a Model,
    map: &'a HashMap<&'a str, &'a str>,
    /// Sorted keys, for prefix tests.
    keys: &'a [&'a str],
    service: Service,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

impl Decoder<'_> {
    fn has_prefix(&self, prefix: &str) -> bool {
        let dotted = format!("{prefix}.");
        let start = self.keys.partition_point(|k| *k < dotted.as_str());
        self.keys.get(start).is_some_and(|k| k.starts_with(&dotted))
    }

    fn present(&self, key: &str) -> bool {
        self.map.contains_key(key) || self.has_prefix(key)
    }

    fn shape(&self, name: &str) -> Result<&Shape, ApiError> {
        self.model
            .shape(name)
            .ok_or_else(|| ApiError::internal(self.service))
    }

    fn structure(&self, shape: &Shape, prefix: &str) -> Result<Value, ApiError> {
        let mut out = Map::new();
        for (name, r) in &shape.members {
            let target = self.shape(&r.shape)?;
            // Flattened lists repeat this name too (`Name.N`), as the Smithy vectors show.
            let key = join(prefix, r.location_name.as_deref().unwrap_or(name));
            if let Some(v) = self.value(target, r, &key)? {
                out.insert(name.clone(), v);
            }
        }
        Ok(Value::Object(out))
    }

    fn value(&self, shape: &Shape, r: &ShapeRef, key: &str) -> Result<Option<Value>, ApiError> {
        let flattened = r.flattened || shape.flattened;
        match shape.kind {
            ShapeKind::Structure => {
                if !self.has_prefix(key) {
                    return Ok(None);
                }
                self.structure(shape, key).map(Some)
            }
            ShapeKind::List => {
                if self.map.get(key) == Some(&"") && !self.has_prefix(key) {
                    return Ok(Some(Value::Array(vec![])));
                }
                let member = shape
                    .member
                    .as_deref()
                    .ok_or_else(|| ApiError::internal(self.service))?;
                let mshape = self.shape(&member.shape)?;
                let base = if flattened {
                    key.to_string()
                } else {
                    join(key, member.location_name.as_deref().unwrap_or("member"))
                };
                let mut items = Vec::new();
                for i in 1.. {
                    let item_key = format!("{base}.{i}");
                    if !self.present(&item_key) {
                        break;
                    }
                    items.push(
                        self.value(mshape, member, &item_key)?
                            .unwrap_or(Value::Null),
                    );
                }
                Ok((!items.is_empty()).then_some(Value::Array(items)))
            }
            ShapeKind::Map => {
                if self.map.get(key) == Some(&"") && !self.has_prefix(key) {
                    return Ok(Some(Value::Object(Map::new())));
                }
                let (Some(kr), Some(vr)) = (shape.key.as_deref(), shape.value.as_deref()) else {
                    return Err(ApiError::internal(self.service));
                };
                let vshape = self.shape(&vr.shape)?;
                let base = if flattened {
                    key.to_string()
                } else {
                    join(key, "entry")
                };
                let mut out = Map::new();
                for i in 1.. {
                    let entry = format!("{base}.{i}");
                    if !self.has_prefix(&entry) {
                        break;
                    }
                    let k = join(&entry, kr.location_name.as_deref().unwrap_or("key"));
                    let Some(k) = self.map.get(k.as_str()) else {
                        return Err(ApiError::missing_parameter(
                            self.service,
                            format!("The map entry {entry} has no key."),
                        ));
                    };
                    let vkey = join(&entry, vr.location_name.as_deref().unwrap_or("value"));
                    let v = self.value(vshape, vr, &vkey)?.unwrap_or(Value::Null);
                    out.insert((*k).to_string(), v);
                }
                Ok((!out.is_empty()).then_some(Value::Object(out)))
            }
            _ => match self.map.get(key) {
                Some(text) => scalar_from_text(shape, text, r)
                    .map(Some)
                    .map_err(|m| ApiError::validation(self.service, m)),
                None => Ok(None),
            },
        }
    }
}

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// Encodes an operation's output as `<{Op}Response xmlns=…>`.
pub fn encode_response(model: &Model, operation: &str, output: &Value, request_id: &str) -> String {
    let ns = model.xml_namespace.as_deref().unwrap_or_default();
    let mut xml = format!("<{operation}Response xmlns=\"{}\">", xml_escape(ns));
    let out_ref = model.operation(operation).and_then(|op| op.output.as_ref());
    if let Some((r, shape)) = out_ref.and_then(|r| model.shape(&r.shape).map(|s| (r, s))) {
        let default = format!("{operation}Result");
        let wrapper = r.result_wrapper.as_deref().unwrap_or(&default);
        xml.push_str(&format!("<{wrapper}>"));
        write_members(model, shape, output, &mut xml);
        xml.push_str(&format!("</{wrapper}>"));
    }
    xml.push_str(&format!(
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{operation}Response>",
        xml_escape(request_id)
    ));
    xml
}

fn write_members(model: &Model, shape: &Shape, value: &Value, xml: &mut String) {
    let Some(obj) = value.as_object() else { return };
    for (name, r) in &shape.members {
        let (Some(v), Some(target)) = (obj.get(name), model.shape(&r.shape)) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        // Flattened lists repeat the member's own element name (Smithy `xmlFlattened`).
        let element = r.location_name.as_deref().unwrap_or(name);
        write_value(model, target, r, element, v, xml);
    }
}

fn write_value(
    model: &Model,
    shape: &Shape,
    r: &ShapeRef,
    element: &str,
    v: &Value,
    xml: &mut String,
) {
    let flattened = r.flattened || shape.flattened;
    match shape.kind {
        ShapeKind::Structure => {
            xml.push_str(&format!("<{element}>"));
            write_members(model, shape, v, xml);
            xml.push_str(&format!("</{element}>"));
        }
        ShapeKind::List => {
            let Some(mr) = shape.member.as_deref() else {
                return;
            };
            let Some(ms) = model.shape(&mr.shape) else {
                return;
            };
            let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
            if flattened {
                for item in items {
                    write_value(model, ms, mr, element, item, xml);
                }
            } else {
                let inner = mr.location_name.as_deref().unwrap_or("member");
                xml.push_str(&format!("<{element}>"));
                for item in items {
                    write_value(model, ms, mr, inner, item, xml);
                }
                xml.push_str(&format!("</{element}>"));
            }
        }
        ShapeKind::Map => {
            let (Some(kr), Some(vr)) = (shape.key.as_deref(), shape.value.as_deref()) else {
                return;
            };
            let (Some(ks), Some(vs)) = (model.shape(&kr.shape), model.shape(&vr.shape)) else {
                return;
            };
            let kname = kr.location_name.as_deref().unwrap_or("key");
            let vname = vr.location_name.as_deref().unwrap_or("value");
            if !flattened {
                xml.push_str(&format!("<{element}>"));
            }
            for (k, mv) in v.as_object().into_iter().flatten() {
                xml.push_str(if flattened { "" } else { "<entry>" });
                if flattened {
                    xml.push_str(&format!("<{element}>"));
                }
                write_value(model, ks, kr, kname, &Value::String(k.clone()), xml);
                write_value(model, vs, vr, vname, mv, xml);
                xml.push_str(if flattened { "" } else { "</entry>" });
                if flattened {
                    xml.push_str(&format!("</{element}>"));
                }
            }
            if !flattened {
                xml.push_str(&format!("</{element}>"));
            }
        }
        _ => {
            let text = match (shape.kind, v) {
                (ShapeKind::Timestamp, Value::Number(n)) => {
                    let fmt = r
                        .timestamp_format
                        .as_deref()
                        .or(shape.timestamp_format.as_deref());
                    timestamp::format_text(n.as_f64().unwrap_or_default(), fmt.unwrap_or("iso8601"))
                }
                (_, Value::String(s)) => s.clone(),
                _ => v.to_string(),
            };
            xml.push_str(&format!("<{element}>{}</{element}>", xml_escape(&text)));
        }
    }
}

/// Encodes an error as `<ErrorResponse>`; the HTTP status is `err.status`.
pub fn encode_error(err: &ApiError, request_id: &str, xmlns: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        xml_escape(xmlns),
        if err.sender_fault { "Sender" } else { "Receiver" },
        xml_escape(&err.code),
        xml_escape(&err.message),
        xml_escape(request_id)
    )
}
