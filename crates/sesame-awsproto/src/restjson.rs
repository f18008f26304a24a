//! The REST-JSON protocol (SES v2): route an HTTP request to an operation and decode its input
//! from the URI labels, query string, headers and JSON body; encode outputs and errors.

use crate::model::{Model, Operation, Shape, ShapeKind, ShapeRef};
use crate::{timestamp, ApiError, Service};
use base64::Engine as _;
use serde_json::{Map, Value};

/// A request routed to an operation, its input in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRequest {
    /// The operation name, e.g. `CreateEmailIdentity`.
    pub operation: &'static str,
    /// The input in canonical ("params") form; `{}` when the operation has no input.
    pub input: Value,
}

/// A response ready to be written by the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Legacy routes kept for older SDKs and CLIs (DECISIONS Q-2): method, template, operation.
/// Their query parameters and JSON body bind to members by member name.
/// A matched route: (specificity, operation, decoded labels, via a Q-2 alias).
type RouteMatch<'m> = (usize, &'m Operation, Vec<(String, String)>, bool);

const ALIASES: &[(&str, &str, &str)] = &[
    ("GET", "/v2/email/identities", "ListEmailIdentities"),
    (
        "GET",
        "/v2/email/configuration-sets",
        "ListConfigurationSets",
    ),
    (
        "GET",
        "/v2/email/contact-lists/{ContactListName}/contacts",
        "ListContacts",
    ),
];

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::validation(Service::SesV2, message)
}

/// Decodes a request without headers; see [`decode_request_with_headers`].
pub fn decode_request(
    model: &Model,
    method: &str,
    raw_path: &str,
    raw_query: &str,
    body: &[u8],
) -> Result<DecodedRequest, ApiError> {
    decode_request_with_headers(model, method, raw_path, raw_query, &[], body)
}

/// Routes `method raw_path?raw_query` (path and query still percent-encoded) to an operation
/// (the route with the most literal segments wins) and decodes its input. Header-bound members
/// are read from `headers` (names compared case-insensitively).
pub fn decode_request_with_headers(
    model: &Model,
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<DecodedRequest, ApiError> {
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let path_segments: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
    let mut best: Option<RouteMatch<'_>> = None;
    let candidates = model
        .operations
        .iter()
        .map(|op| (op.http_method.as_str(), op.request_uri.as_str(), op, false))
        .chain(
            ALIASES
                .iter()
                .filter_map(|(m, uri, name)| model.operation(name).map(|op| (*m, *uri, op, true))),
        );
    for (op_method, uri, op, alias) in candidates {
        if !op_method.eq_ignore_ascii_case(method) {
            continue;
        }
        if let Some((score, labels)) = match_route(uri, &path_segments, &query) {
            if best.as_ref().is_none_or(|(s, ..)| score > *s) {
                best = Some((score, op, labels, alias));
            }
        }
    }
    let Some((_, op, labels, alias)) = best else {
        return Err(ApiError::unknown_operation(Service::SesV2, raw_path));
    };
    let input = match &op.input {
        None => Value::Object(Map::new()),
        Some(input_ref) => {
            let shape = shape_of(model, &input_ref.shape)?;
            decode_input(model, shape, &labels, &query, headers, body, alias)?
        }
    };
    Ok(DecodedRequest {
        operation: op.name,
        input,
    })
}

/// Matches a `requestUri` template; returns (specificity, decoded labels).
fn match_route(
    template: &str,
    path: &[&str],
    query: &[(String, String)],
) -> Option<(usize, Vec<(String, String)>)> {
    let (tpath, tquery) = template.split_once('?').unwrap_or((template, ""));
    for literal in tquery.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = literal.split_once('=').unwrap_or((literal, ""));
        if !query
            .iter()
            .any(|(qk, qv)| qk == k && (v.is_empty() || qv == v))
        {
            return None;
        }
    }
    let tsegs: Vec<&str> = tpath.trim_start_matches('/').split('/').collect();
    let mut labels = Vec::new();
    let mut score = tquery.split('&').filter(|s| !s.is_empty()).count();
    for (i, tseg) in tsegs.iter().enumerate() {
        if let Some(name) = tseg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if let Some(greedy) = name.strip_suffix('+') {
                let rest = path.get(i..)?;
                if rest.is_empty() || rest.iter().all(|s| s.is_empty()) {
                    return None;
                }
                let decoded: Vec<String> = rest.iter().map(|s| pct_decode(s)).collect();
                labels.push((greedy.to_string(), decoded.join("/")));
                return Some((score, labels));
            }
            let seg = path.get(i)?;
            if seg.is_empty() {
                return None;
            }
            labels.push((name.to_string(), pct_decode(seg)));
        } else {
            if path.get(i) != Some(tseg) {
                return None;
            }
            score += 1;
        }
    }
    (path.len() == tsegs.len()).then_some((score * 2 + 1, labels))
}

fn pct_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

pub(crate) fn shape_of<'m>(model: &'m Model, name: &str) -> Result<&'m Shape, ApiError> {
    model
        .shape(name)
        .ok_or_else(|| ApiError::internal(Service::SesV2))
}

fn wire_name<'a>(name: &'a str, r: &'a ShapeRef) -> &'a str {
    r.location_name.as_deref().unwrap_or(name)
}

fn decode_input(
    model: &Model,
    shape: &Shape,
    labels: &[(String, String)],
    query: &[(String, String)],
    headers: &[(String, String)],
    body: &[u8],
    alias: bool,
) -> Result<Value, ApiError> {
    let mut out = Map::new();
    for (name, r) in &shape.members {
        let target = shape_of(model, &r.shape)?;
        let wire = wire_name(name, r);
        let value = match r.location.as_deref() {
            Some("uri") => match labels.iter().find(|(l, _)| l == wire) {
                Some((_, text)) => Some(scalar_from_text(target, text, r).map_err(bad)?),
                None => None,
            },
            Some("querystring") => query_member(model, target, r, wire, query)?,
            Some("header") => match headers.iter().find(|(h, _)| h.eq_ignore_ascii_case(wire)) {
                Some((_, text)) => Some(header_value(model, target, r, text)?),
                None => None,
            },
            Some("headers") => {
                let prefix = wire.to_ascii_lowercase();
                let map: Map<String, Value> = headers
                    .iter()
                    .filter(|(h, _)| h.to_ascii_lowercase().starts_with(&prefix))
                    .map(|(h, v)| (h[prefix.len()..].to_string(), Value::String(v.clone())))
                    .collect();
                (!map.is_empty()).then_some(Value::Object(map))
            }
            _ if alias => match query.iter().find(|(k, _)| k == name) {
                Some((_, text)) => Some(scalar_from_text(target, text, r).map_err(bad)?),
                None => None,
            },
            _ => None,
        };
        if let Some(v) = value {
            out.insert(name.clone(), v);
        }
    }
    if let Some(payload) = &shape.payload {
        if !body.is_empty() {
            let r = shape
                .member_ref(payload)
                .ok_or_else(|| ApiError::internal(Service::SesV2))?;
            let target = shape_of(model, &r.shape)?;
            let value = match target.kind {
                ShapeKind::Blob => {
                    Value::String(base64::engine::general_purpose::STANDARD.encode(body))
                }
                ShapeKind::String => Value::String(String::from_utf8_lossy(body).into_owned()),
                _ => {
                    let json: Value = serde_json::from_slice(body)
                        .map_err(|e| bad(format!("Invalid JSON body: {e}")))?;
                    json_to_canonical(model, target, r, &json)?
                }
            };
            out.insert(payload.clone(), value);
        }
    } else if !body.iter().all(u8::is_ascii_whitespace) {
        let json: Value =
            serde_json::from_slice(body).map_err(|e| bad(format!("Invalid JSON body: {e}")))?;
        let obj = json
            .as_object()
            .ok_or_else(|| bad("The request body must be a JSON object."))?;
        for (name, r) in &shape.members {
            if r.location.is_some() {
                continue;
            }
            if let Some(v) = obj.get(wire_name(name, r)) {
                if !v.is_null() {
                    let target = shape_of(model, &r.shape)?;
                    out.insert(name.clone(), json_to_canonical(model, target, r, v)?);
                }
            }
        }
    }
    Ok(Value::Object(out))
}

fn query_member(
    model: &Model,
    target: &Shape,
    r: &ShapeRef,
    wire: &str,
    query: &[(String, String)],
) -> Result<Option<Value>, ApiError> {
    match target.kind {
        ShapeKind::List => {
            let member = target.member.as_deref().ok_or_else(|| bad("bad list"))?;
            let mshape = shape_of(model, &member.shape)?;
            let items = query
                .iter()
                .filter(|(k, _)| k == wire)
                .map(|(_, v)| scalar_from_text(mshape, v, member).map_err(bad))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        ShapeKind::Map => {
            let value_ref = target.value.as_deref().ok_or_else(|| bad("bad map"))?;
            let vshape = shape_of(model, &value_ref.shape)?;
            let mut map = Map::new();
            // Smithy's httpQueryParams: the map sees every parameter, named ones included.
            for (k, v) in query {
                if vshape.kind == ShapeKind::List {
                    let entry = map.entry(k.clone()).or_insert_with(|| Value::Array(vec![]));
                    if let Value::Array(items) = entry {
                        items.push(Value::String(v.clone()));
                    }
                } else if !map.contains_key(k) {
                    map.insert(
                        k.clone(),
                        scalar_from_text(vshape, v, value_ref).map_err(bad)?,
                    );
                }
            }
            Ok((!map.is_empty()).then_some(Value::Object(map)))
        }
        _ => match query.iter().find(|(k, _)| k == wire) {
            Some((_, text)) => Ok(Some(scalar_from_text(target, text, r).map_err(bad)?)),
            None => Ok(None),
        },
    }
}

fn header_value(
    model: &Model,
    target: &Shape,
    r: &ShapeRef,
    text: &str,
) -> Result<Value, ApiError> {
    if r.json_value {
        // A `jsonvalue` header is base64 text; the member (a string) holds the decoded text.
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| bad("Invalid base64 header"))?;
        return String::from_utf8(raw)
            .map(Value::String)
            .map_err(|_| bad("Invalid header"));
    }
    if target.kind == ShapeKind::List {
        if text.trim().is_empty() {
            return Ok(Value::Array(vec![]));
        }
        let member = target.member.as_deref().ok_or_else(|| bad("bad list"))?;
        let mshape = shape_of(model, &member.shape)?;
        let items = split_header_list(text, mshape.kind == ShapeKind::Timestamp)
            .iter()
            .map(|item| scalar_from_text(mshape, item, member).map_err(bad))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::Array(items));
    }
    scalar_from_text(target, text, r).map_err(bad)
}

/// Splits a comma-separated header list, honouring quoted items; HTTP dates contain a comma
/// so timestamp lists split on every second comma.
fn split_header_list(text: &str, dates: bool) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut commas = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => cur.extend(chars.next()),
            ',' if !quoted && (!dates || commas % 2 == 1) => {
                items.push(cur.trim().to_string());
                cur.clear();
                commas += 1;
            }
            ',' => {
                commas += 1;
                cur.push(c);
            }
            c => cur.push(c),
        }
    }
    items.push(cur.trim().to_string());
    items
}

/// Text (URI label, query value, header, Query parameter) → canonical scalar of `shape`.
pub(crate) fn scalar_from_text(shape: &Shape, text: &str, _r: &ShapeRef) -> Result<Value, String> {
    let invalid = || format!("Invalid value '{text}' for a {:?} parameter", shape.kind);
    Ok(match shape.kind {
        ShapeKind::Integer | ShapeKind::Long => {
            Value::from(text.trim().parse::<i64>().map_err(|_| invalid())?)
        }
        ShapeKind::Float | ShapeKind::Double => {
            let f = text.trim().parse::<f64>().map_err(|_| invalid())?;
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(invalid)?
        }
        ShapeKind::Boolean => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(invalid()),
        },
        ShapeKind::Timestamp => {
            timestamp::to_json_number(timestamp::parse(text).ok_or_else(invalid)?)
        }
        _ => Value::String(text.to_string()),
    })
}

/// JSON body value → canonical value (renames `locationName` keys, parses timestamps).
fn json_to_canonical(
    model: &Model,
    shape: &Shape,
    r: &ShapeRef,
    v: &Value,
) -> Result<Value, ApiError> {
    if shape.document {
        return Ok(v.clone());
    }
    Ok(match (shape.kind, v) {
        (ShapeKind::Structure, Value::Object(obj)) => {
            let mut out = Map::new();
            for (name, mr) in &shape.members {
                if let Some(mv) = obj.get(wire_name(name, mr)).filter(|v| !v.is_null()) {
                    out.insert(
                        name.clone(),
                        json_to_canonical(model, shape_of(model, &mr.shape)?, mr, mv)?,
                    );
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List, Value::Array(items)) => {
            let mr = shape.member.as_deref().ok_or_else(|| bad("bad list"))?;
            let ms = shape_of(model, &mr.shape)?;
            let items = items.iter().map(|i| json_to_canonical(model, ms, mr, i));
            Value::Array(items.collect::<Result<_, _>>()?)
        }
        (ShapeKind::Map, Value::Object(obj)) => {
            let vr = shape.value.as_deref().ok_or_else(|| bad("bad map"))?;
            let vs = shape_of(model, &vr.shape)?;
            let mut out = Map::new();
            for (k, mv) in obj {
                out.insert(k.clone(), json_to_canonical(model, vs, vr, mv)?);
            }
            Value::Object(out)
        }
        (ShapeKind::Timestamp, Value::String(text)) => {
            scalar_from_text(shape, text, r).map_err(bad)?
        }
        (ShapeKind::Timestamp, Value::Number(n)) => {
            timestamp::to_json_number(n.as_f64().unwrap_or_default())
        }
        _ => v.clone(),
    })
}

/// Canonical value → JSON body value (uses `locationName` keys, timestamp formats).
fn canonical_to_json(model: &Model, shape: &Shape, r: &ShapeRef, v: &Value) -> Value {
    if shape.document {
        return v.clone();
    }
    match (shape.kind, v) {
        (ShapeKind::Structure, Value::Object(obj)) => {
            let mut out = Map::new();
            for (name, mr) in &shape.members {
                if let (Some(mv), Some(ms)) = (obj.get(name), model.shape(&mr.shape)) {
                    if !mv.is_null() {
                        out.insert(
                            wire_name(name, mr).to_string(),
                            canonical_to_json(model, ms, mr, mv),
                        );
                    }
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List, Value::Array(items)) => match shape.member.as_deref() {
            Some(mr) => match model.shape(&mr.shape) {
                Some(ms) => Value::Array(
                    items
                        .iter()
                        .map(|i| canonical_to_json(model, ms, mr, i))
                        .collect(),
                ),
                None => v.clone(),
            },
            None => v.clone(),
        },
        (ShapeKind::Map, Value::Object(obj)) => match shape.value.as_deref() {
            Some(vr) => match model.shape(&vr.shape) {
                Some(vs) => Value::Object(
                    obj.iter()
                        .map(|(k, mv)| (k.clone(), canonical_to_json(model, vs, vr, mv)))
                        .collect(),
                ),
                None => v.clone(),
            },
            None => v.clone(),
        },
        (ShapeKind::Timestamp, Value::Number(n)) => {
            let secs = n.as_f64().unwrap_or_default();
            match r
                .timestamp_format
                .as_deref()
                .or(shape.timestamp_format.as_deref())
            {
                Some(fmt @ ("iso8601" | "rfc822")) => {
                    Value::String(timestamp::format_text(secs, fmt))
                }
                _ => timestamp::to_json_number(secs),
            }
        }
        _ => v.clone(),
    }
}

fn text_of(model: &Model, shape: &Shape, r: &ShapeRef, v: &Value, header: bool) -> String {
    if r.json_value {
        let text = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        return base64::engine::general_purpose::STANDARD.encode(text);
    }
    match (shape.kind, v) {
        (ShapeKind::Timestamp, Value::Number(n)) => {
            let fmt = r
                .timestamp_format
                .as_deref()
                .or(shape.timestamp_format.as_deref());
            let default = if header { "rfc822" } else { "iso8601" };
            timestamp::format_text(n.as_f64().unwrap_or_default(), fmt.unwrap_or(default))
        }
        (ShapeKind::List, Value::Array(items)) => {
            let mr = shape.member.as_deref();
            let ms = mr.and_then(|m| model.shape(&m.shape));
            let parts: Vec<String> = items
                .iter()
                .map(|i| match (ms, mr) {
                    (Some(ms), Some(mr)) => {
                        let t = text_of(model, ms, mr, i, header);
                        if ms.kind == ShapeKind::String && (t.contains(',') || t.contains('"')) {
                            format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))
                        } else {
                            t
                        }
                    }
                    _ => i.to_string(),
                })
                .collect();
            parts.join(", ")
        }
        (_, Value::String(s)) => s.clone(),
        _ => v.to_string(),
    }
}

/// Encodes an operation's output (canonical form) as an HTTP response.
pub fn encode_response(model: &Model, operation: &str, output: &Value) -> HttpResponse {
    let op = model.operation(operation);
    let mut resp = HttpResponse {
        status: op.and_then(|o| o.response_code).unwrap_or(200),
        headers: vec![("Content-Type".to_string(), "application/json".to_string())],
        body: b"{}".to_vec(),
    };
    let Some(shape) = op
        .and_then(|o| o.output.as_ref())
        .and_then(|r| model.shape(&r.shape))
    else {
        return resp;
    };
    let empty = Map::new();
    let obj = output.as_object().unwrap_or(&empty);
    let mut body = Map::new();
    for (name, r) in &shape.members {
        let (Some(v), Some(target)) = (obj.get(name), model.shape(&r.shape)) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let wire = wire_name(name, r);
        match r.location.as_deref() {
            Some("header") => resp
                .headers
                .push((wire.to_string(), text_of(model, target, r, v, true))),
            Some("headers") => {
                for (k, hv) in v.as_object().into_iter().flatten() {
                    let text = hv
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| hv.to_string());
                    resp.headers.push((format!("{wire}{k}"), text));
                }
            }
            Some("statusCode") => resp.status = v.as_u64().unwrap_or(200) as u16,
            Some(_) => {}
            None if shape.payload.as_deref() == Some(name.as_str()) => {
                resp.body = match (target.kind, v) {
                    (ShapeKind::Blob, Value::String(b64)) => {
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .unwrap_or_default()
                    }
                    (ShapeKind::String, Value::String(s)) if !target.document => {
                        s.clone().into_bytes()
                    }
                    _ => canonical_to_json(model, target, r, v)
                        .to_string()
                        .into_bytes(),
                };
                if target.kind == ShapeKind::Blob {
                    resp.headers[0].1 = "application/octet-stream".to_string();
                } else if target.kind == ShapeKind::String && !target.document {
                    resp.headers[0].1 = "text/plain".to_string();
                }
                return finish(resp, body, true);
            }
            None => {
                body.insert(wire.to_string(), canonical_to_json(model, target, r, v));
            }
        }
    }
    if shape.payload.is_some() {
        // A payload member that is absent means an empty body.
        resp.body.clear();
        return resp;
    }
    finish(resp, body, false)
}

fn finish(mut resp: HttpResponse, body: Map<String, Value>, payload_written: bool) -> HttpResponse {
    if !payload_written {
        resp.body = Value::Object(body).to_string().into_bytes();
    }
    resp
}

/// Encodes an error per DECISIONS Q-4.
pub fn encode_error(err: &ApiError) -> HttpResponse {
    let body = serde_json::json!({ "__type": err.code, "message": err.message });
    HttpResponse {
        status: err.status,
        headers: vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("x-amzn-ErrorType".to_string(), err.code.clone()),
        ],
        body: body.to_string().into_bytes(),
    }
}
