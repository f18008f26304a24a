//! The botocore protocol test vectors (`../shared/test-vectors/protocols`): every input case must
//! decode to its `params`, every output case must encode to bytes that a shape-aware reader
//! (a stand-in for the SDK's parser) turns back into its `result`.

use base64::Engine as _;
use serde_json::{Map, Value};
use sesame_awsproto::model::{Model, Shape, ShapeKind, ShapeRef};
use sesame_awsproto::{query, restjson, timestamp, ApiError};
use std::path::PathBuf;

/// Cases that do not apply to a server, with the reason.
const SKIPS: &[(&str, &str)] = &[
    (
        "RestJsonSupportsNaNFloatQueryValues",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsInfinityFloatQueryValues",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNegativeInfinityFloatQueryValues",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNaNFloatLabels",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsInfinityFloatLabels",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNegativeInfinityFloatLabels",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNaNFloatHeaderInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsInfinityFloatHeaderInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNegativeInfinityFloatHeaderInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNaNFloatInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsInfinityFloatInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNegativeInfinityFloatInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonEndpointTraitWithHostLabel",
        "host labels come from the Host header, not the path",
    ),
    (
        "SDKAppliedContentEncoding_restJson1",
        "request compression is the HTTP layer's job",
    ),
    (
        "SDKAppendedGzipAfterProvidedEncoding_restJson1",
        "request compression is the HTTP layer's job",
    ),
    (
        "RestJsonHostWithPath",
        "the /custom path prefix is client endpoint configuration",
    ),
    (
        "HttpPrefixHeadersResponse",
        "an empty header prefix also captures transport headers",
    ),
    (
        "RestJsonQueryParamsStringListMap",
        "client-side precedence of named query params over the map",
    ),
    (
        "RestJsonQueryPrecedence",
        "client-side precedence of named query params over the map",
    ),
    (
        "RestJsonQueryIdempotencyTokenAutoFill",
        "the client invents the token; a server sees a plain value",
    ),
    (
        "QueryProtocolIdempotencyTokenAutoFill",
        "the client invents the token; a server sees a plain value",
    ),
    (
        "SDKAppliedContentEncoding_awsQuery",
        "request compression is the HTTP layer's job",
    ),
    (
        "SDKAppendsGzipAndIgnoresHttpProvidedEncoding_awsQuery",
        "request compression is the HTTP layer's job",
    ),
    (
        "AwsQuerySupportsNaNFloatInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "AwsQuerySupportsInfinityFloatInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "AwsQuerySupportsNegativeInfinityFloatInputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNaNFloatHeaderOutputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsInfinityFloatHeaderOutputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonSupportsNegativeInfinityFloatHeaderOutputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "AwsQuerySupportsNaNFloatOutputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "AwsQuerySupportsInfinityFloatOutputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "AwsQuerySupportsNegativeInfinityFloatOutputs",
        "serde_json cannot hold non-finite floats",
    ),
    (
        "RestJsonComplexErrorWithNoMessage",
        "ApiError carries no modeled error members",
    ),
    (
        "QueryComplexError",
        "ApiError carries no modeled error members",
    ),
];

fn vectors_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .map(|d| d.join("shared/test-vectors/protocols"))
        .find(|d| d.exists())
}

fn load(name: &str) -> Option<Vec<Value>> {
    let path = vectors_dir()?.join(name);
    Some(serde_json::from_str(&std::fs::read_to_string(path).ok()?).expect("vector JSON"))
}

fn case_model(suite: &Value, given: &Value) -> Model {
    let mut model = Model::from_json(suite).expect("suite model");
    model.add_operation(given["name"].as_str().unwrap(), given);
    model
}

fn shape<'m>(model: &'m Model, r: &ShapeRef) -> &'m Shape {
    model
        .shape(&r.shape)
        .unwrap_or_else(|| panic!("shape {}", r.shape))
}

/// Vector params/result → canonical form (raw blob text → base64).
fn canonical(model: &Model, s: &Shape, v: &Value) -> Value {
    if s.document {
        return v.clone();
    }
    match (s.kind, v) {
        (ShapeKind::Structure, Value::Object(o)) => Value::Object(
            s.members
                .iter()
                .filter_map(|(n, r)| {
                    o.get(n)
                        .map(|mv| (n.clone(), canonical(model, shape(model, r), mv)))
                })
                .collect(),
        ),
        (ShapeKind::List, Value::Array(items)) => {
            let ms = shape(model, s.member.as_deref().unwrap());
            Value::Array(items.iter().map(|i| canonical(model, ms, i)).collect())
        }
        (ShapeKind::Map, Value::Object(o)) => {
            let vs = shape(model, s.value.as_deref().unwrap());
            Value::Object(
                o.iter()
                    .map(|(k, mv)| (k.clone(), canonical(model, vs, mv)))
                    .collect(),
            )
        }
        (ShapeKind::Blob, Value::String(raw)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(raw))
        }
        _ => v.clone(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-6
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        // Absent, null and empty collections are indistinguishable on the wire.
        (Value::Object(x), Value::Object(y)) => {
            let empty = |v: &Value| match v {
                Value::Null => true,
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().all(|k| match (x.get(k), y.get(k)) {
                (Some(v), Some(w)) => same(v, w) || (empty(v) && empty(w)),
                (Some(v), None) | (None, Some(v)) => empty(v),
                (None, None) => true,
            })
        }
        _ => a == b,
    }
}

fn skipped(id: &str) -> bool {
    SKIPS.iter().any(|(s, _)| *s == id)
}

fn error_of(model: &Model, case: &Value) -> Option<ApiError> {
    let code = case["errorCode"].as_str()?;
    let s = case["given"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| model.shape(e["shape"].as_str()?))
        .find(|s| {
            s.error
                .as_ref()
                .and_then(|e| e.code.as_deref())
                .unwrap_or(&s.name)
                == code
        })?;
    let status = case["response"]["status_code"].as_u64().unwrap_or(400) as u16;
    let msg = case["errorMessage"].as_str().unwrap_or_default();
    Some(ApiError::new(
        code,
        msg,
        status,
        status < 500 || s.exception,
    ))
}

#[test]
fn input_vectors() {
    let (Some(rest), Some(q)) = (load("input/rest-json.json"), load("input/query.json")) else {
        println!("NOTICE: test vectors absent; skipping");
        return;
    };
    let mut ran = 0;
    let mut failures: Vec<String> = Vec::new();
    for (suites, is_rest) in [(rest, true), (q, false)] {
        for suite in &suites {
            for case in suite["cases"].as_array().unwrap() {
                let id = case["id"].as_str().unwrap();
                if skipped(id) {
                    continue;
                }
                let model = case_model(suite, &case["given"]);
                let ser = &case["serialized"];
                let body = ser["body"].as_str().unwrap_or_default();
                let decoded = if is_rest {
                    let uri = ser["uri"].as_str().unwrap();
                    let (path, raw_query) = uri.split_once('?').unwrap_or((uri, ""));
                    let headers: Vec<(String, String)> = ser["headers"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect();
                    let method = ser["method"].as_str().unwrap();
                    restjson::decode_request_with_headers(
                        &model,
                        method,
                        path,
                        raw_query,
                        &headers,
                        body.as_bytes(),
                    )
                } else {
                    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect();
                    query::decode_request(&model, &params)
                };
                let decoded = match decoded {
                    Ok(d) => d,
                    Err(e) => {
                        failures.push(format!("{id}: {e}"));
                        continue;
                    }
                };
                let op = model.operation(decoded.operation).unwrap();
                let expected = match &op.input {
                    Some(r) => canonical(&model, shape(&model, r), &case["params"]),
                    None => Value::Object(Map::new()),
                };
                if !same(&decoded.input, &expected) {
                    failures.push(format!("{id}: got {} want {expected}", decoded.input));
                }
                ran += 1;
            }
        }
    }
    println!("input vectors: {ran} ran, {} skipped by id", SKIPS.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ran > 100);
}

#[path = "support/reader.rs"]
mod reader;

#[test]
fn output_vectors() {
    let (Some(rest), Some(q)) = (load("output/rest-json.json"), load("output/query.json")) else {
        println!("NOTICE: test vectors absent; skipping");
        return;
    };
    let mut ran = 0;
    let mut failures: Vec<String> = Vec::new();
    for (suites, is_rest) in [(rest, true), (q, false)] {
        for suite in &suites {
            for case in suite["cases"].as_array().unwrap() {
                let id = case["id"].as_str().unwrap();
                if skipped(id) {
                    continue;
                }
                let model = case_model(suite, &case["given"]);
                let name = case["given"]["name"].as_str().unwrap();
                if let Some(err) = error_of(&model, case) {
                    let (code, message) = if is_rest {
                        let resp = restjson::encode_error(&err);
                        assert_eq!(resp.status, err.status, "{id}");
                        let body: Value = serde_json::from_slice(&resp.body).unwrap();
                        (body["__type"].clone(), body["message"].clone())
                    } else {
                        let xml = query::encode_error(&err, "req-1", "https://example.com/");
                        let root = reader::parse_xml(&xml);
                        let e = root.child("Error").unwrap();
                        assert_eq!(e.child("Type").unwrap().text, "Sender", "{id}");
                        (
                            Value::String(e.child("Code").unwrap().text.clone()),
                            Value::String(e.child("Message").unwrap().text.clone()),
                        )
                    };
                    assert_eq!(code, case["errorCode"], "{id}");
                    if let Some(m) = case["errorMessage"].as_str() {
                        assert_eq!(message, m, "{id}");
                    }
                    ran += 1;
                    continue;
                }
                let op = model.operation(name).unwrap();
                let Some(out_ref) = &op.output else {
                    ran += 1;
                    continue;
                };
                let out_shape = shape(&model, out_ref);
                let result = canonical(&model, out_shape, &case["result"]);
                let got = if is_rest {
                    let resp = restjson::encode_response(&model, name, &result);
                    reader::read_rest(&model, out_shape, &resp)
                } else {
                    let xml = query::encode_response(&model, name, &result, "req-1");
                    let root = reader::parse_xml(&xml);
                    let wrapper = out_ref
                        .result_wrapper
                        .clone()
                        .unwrap_or(format!("{name}Result"));
                    let node = root
                        .child(&wrapper)
                        .unwrap_or_else(|| panic!("{id}: {xml}"));
                    assert!(root.child("ResponseMetadata").is_some(), "{id}");
                    reader::read_xml_struct(&model, out_shape, node)
                };
                if !same(&got, &result) {
                    failures.push(format!("{id}: got {got} want {result}"));
                }
                ran += 1;
            }
        }
    }
    println!("output vectors: {ran} ran, {} skipped by id", SKIPS.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ran > 100);
}

#[test]
fn timestamp_helpers_are_public() {
    assert_eq!(timestamp::format_iso8601(0.0), "1970-01-01T00:00:00.000Z");
}
