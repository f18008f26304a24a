//! The runtime view of a botocore model: operations (HTTP binding, input, output, errors) and
//! shapes (type, members, constraints, serialization traits). The codecs and the validator
//! interpret it; the embedded service models come from `src/generated/*.model.json`.

use crate::Service;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A shape's type (botocore's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp,
    Blob,
    List,
    Map,
    Structure,
}

/// A reference to a shape plus the serialization traits that live on the reference
/// (structure members, list members, map keys/values, operation input/output).
#[derive(Debug, Clone, Default)]
pub struct ShapeRef {
    /// Target shape name.
    pub shape: String,
    /// `uri`, `querystring`, `header`, `headers`, `statusCode` (REST binding), if any.
    pub location: Option<String>,
    /// Wire name (URI label, query key, header name, XML element or Query key).
    pub location_name: Option<String>,
    /// Query/XML: list or map serialized without a wrapper element.
    pub flattened: bool,
    /// Timestamp format override on the reference.
    pub timestamp_format: Option<String>,
    /// REST: header holds JSON (base64) text.
    pub json_value: bool,
    /// Query output: the `<XResult>` element name.
    pub result_wrapper: Option<String>,
}

/// Error-shape metadata (`error` trait).
#[derive(Debug, Clone, Default)]
pub struct ErrorInfo {
    /// Query wire code when it differs from the shape name.
    pub code: Option<String>,
    /// HTTP status.
    pub http_status_code: Option<u16>,
    /// `senderFault`.
    pub sender_fault: Option<bool>,
}

/// One shape of the model.
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    /// Structure members in model order.
    pub members: Vec<(String, ShapeRef)>,
    pub required: Vec<String>,
    /// Structure member bound to the whole HTTP body.
    pub payload: Option<String>,
    /// List member.
    pub member: Option<Box<ShapeRef>>,
    /// Map key and value.
    pub key: Option<Box<ShapeRef>>,
    pub value: Option<Box<ShapeRef>>,
    /// Shape-level `flattened` (lists and maps).
    pub flattened: bool,
    pub enum_values: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub pattern: Option<String>,
    pub timestamp_format: Option<String>,
    /// Shape-level `locationName` (e.g. an error structure's element name).
    pub location_name: Option<String>,
    /// `document: true` — free-form JSON.
    pub document: bool,
    pub error: Option<ErrorInfo>,
    pub exception: bool,
}

impl Shape {
    /// The member named `name`.
    pub fn member_ref(&self, name: &str) -> Option<&ShapeRef> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }
}

/// One operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Operation name (interned for the life of the process).
    pub name: &'static str,
    pub http_method: String,
    pub request_uri: String,
    pub response_code: Option<u16>,
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
    pub errors: Vec<String>,
}

/// A parsed botocore model.
#[derive(Debug, Clone)]
pub struct Model {
    /// `metadata.protocol`.
    pub protocol: String,
    /// `metadata.apiVersion`.
    pub api_version: String,
    /// `metadata.xmlNamespace` (Query services); `None` for REST-JSON.
    pub xml_namespace: Option<String>,
    /// Operations in model order.
    pub operations: Vec<Operation>,
    op_index: HashMap<String, usize>,
    shapes: HashMap<String, Shape>,
}

fn parse_ref(v: &Value) -> ShapeRef {
    ShapeRef {
        shape: v["shape"].as_str().unwrap_or_default().to_string(),
        location: v["location"].as_str().map(str::to_string),
        location_name: v["locationName"].as_str().map(str::to_string),
        flattened: v["flattened"].as_bool().unwrap_or(false),
        timestamp_format: v["timestampFormat"].as_str().map(str::to_string),
        json_value: v["jsonvalue"].as_bool().unwrap_or(false),
        result_wrapper: v["resultWrapper"].as_str().map(str::to_string),
    }
}

fn parse_shape(name: &str, v: &Value) -> Result<Shape, String> {
    let kind = match v["type"].as_str().unwrap_or_default() {
        "string" => ShapeKind::String,
        "integer" | "short" | "byte" => ShapeKind::Integer,
        "long" => ShapeKind::Long,
        "float" => ShapeKind::Float,
        "double" => ShapeKind::Double,
        "boolean" => ShapeKind::Boolean,
        "timestamp" => ShapeKind::Timestamp,
        "blob" => ShapeKind::Blob,
        "list" => ShapeKind::List,
        "map" => ShapeKind::Map,
        "structure" => ShapeKind::Structure,
        other => return Err(format!("shape {name}: unsupported type {other:?}")),
    };
    let strings = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let members = v["members"]
        .as_object()
        .map(|m| m.iter().map(|(k, r)| (k.clone(), parse_ref(r))).collect())
        .unwrap_or_default();
    let boxed = |key: &str| v.get(key).map(|r| Box::new(parse_ref(r)));
    Ok(Shape {
        name: name.to_string(),
        kind,
        members,
        required: strings("required"),
        payload: v["payload"].as_str().map(str::to_string),
        member: boxed("member"),
        key: boxed("key"),
        value: boxed("value"),
        flattened: v["flattened"].as_bool().unwrap_or(false),
        enum_values: strings("enum"),
        min: v["min"].as_f64(),
        max: v["max"].as_f64(),
        pattern: v["pattern"].as_str().map(str::to_string),
        timestamp_format: v["timestampFormat"].as_str().map(str::to_string),
        location_name: v["locationName"].as_str().map(str::to_string),
        document: v["document"].as_bool().unwrap_or(false),
        error: v.get("error").map(|e| ErrorInfo {
            code: e["code"].as_str().map(str::to_string),
            http_status_code: e["httpStatusCode"].as_u64().map(|s| s as u16),
            sender_fault: e["senderFault"].as_bool(),
        }),
        exception: v["exception"].as_bool().unwrap_or(false),
    })
}

fn parse_operation(name: &str, v: &Value) -> Operation {
    Operation {
        name: Box::leak(name.to_string().into_boxed_str()),
        http_method: v["http"]["method"].as_str().unwrap_or("POST").to_string(),
        request_uri: v["http"]["requestUri"].as_str().unwrap_or("/").to_string(),
        response_code: v["http"]["responseCode"].as_u64().map(|c| c as u16),
        input: v.get("input").map(parse_ref),
        output: v.get("output").map(parse_ref),
        errors: v["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["shape"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

impl Model {
    /// Builds a model from botocore JSON: a full service model (`metadata`, `operations`,
    /// `shapes`) or a fragment with only some of them (test vectors add operations with
    /// [`Model::add_operation`]).
    pub fn from_json(v: &Value) -> Result<Model, String> {
        let mut shapes = HashMap::new();
        if let Some(map) = v["shapes"].as_object() {
            for (name, shape) in map {
                shapes.insert(name.clone(), parse_shape(name, shape)?);
            }
        }
        let mut model = Model {
            protocol: v["metadata"]["protocol"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            api_version: v["metadata"]["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            xml_namespace: v["metadata"]["xmlNamespace"].as_str().map(str::to_string),
            operations: Vec::new(),
            op_index: HashMap::new(),
            shapes,
        };
        if let Some(ops) = v["operations"].as_object() {
            for (name, op) in ops {
                model.add_operation(name, op);
            }
        }
        Ok(model)
    }

    /// Adds (or replaces) an operation given in botocore JSON.
    pub fn add_operation(&mut self, name: &str, v: &Value) {
        let op = parse_operation(name, v);
        match self.op_index.get(name) {
            Some(&i) => self.operations[i] = op,
            None => {
                self.op_index
                    .insert(name.to_string(), self.operations.len());
                self.operations.push(op);
            }
        }
    }

    /// The operation called `name`.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.op_index.get(name).map(|&i| &self.operations[i])
    }

    /// The shape called `name`.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }
}

const SESV2_JSON: &str = include_str!("generated/sesv2.model.json");
const SES_JSON: &str = include_str!("generated/ses.model.json");
const SNS_JSON: &str = include_str!("generated/sns.model.json");

/// The embedded model of `service`, parsed once.
pub fn model(service: Service) -> &'static Model {
    static MODELS: [OnceLock<Model>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, text) = match service {
        Service::SesV2 => (&MODELS[0], SESV2_JSON),
        Service::SesV1 => (&MODELS[1], SES_JSON),
        Service::Sns => (&MODELS[2], SNS_JSON),
    };
    slot.get_or_init(|| {
        let json: Value = serde_json::from_str(text).expect("embedded model is valid JSON");
        Model::from_json(&json).expect("embedded model is a valid botocore model")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_models_load() {
        let v2 = model(Service::SesV2);
        assert_eq!(v2.protocol, "rest-json");
        let op = v2.operation("CreateEmailIdentity").unwrap();
        assert_eq!(
            (op.http_method.as_str(), op.request_uri.as_str()),
            ("POST", "/v2/email/identities")
        );
        let v1 = model(Service::SesV1);
        assert_eq!(
            v1.xml_namespace.as_deref(),
            Some("http://ses.amazonaws.com/doc/2010-12-01/")
        );
        assert_eq!(model(Service::Sns).protocol, "query");
        assert_eq!(
            v2.operations.len(),
            crate::generated::sesv2::OPERATIONS.len()
        );
    }
}
