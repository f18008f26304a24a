//! A small shape-aware reader of our own responses, standing in for an SDK's parser.

use base64::Engine as _;
use serde_json::{Map, Value};
use sesame_awsproto::model::{Model, Shape, ShapeKind, ShapeRef};
use sesame_awsproto::{timestamp, HttpResponse};

#[derive(Debug, Default)]
pub struct Node {
    pub name: String,
    pub children: Vec<Node>,
    pub text: String,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("entity end") + i;
        let ent = &rest[i + 1..end];
        match ent {
            "amp" => out.push('&'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "quot" => out.push('"'),
            "apos" => out.push('\''),
            _ => {
                let code = ent
                    .strip_prefix("#x")
                    .map(|h| u32::from_str_radix(h, 16))
                    .unwrap_or_else(|| ent.trim_start_matches('#').parse());
                out.push(char::from_u32(code.expect("numeric entity")).unwrap());
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Parses well-formed XML (no CDATA, no comments); attributes are dropped.
pub fn parse_xml(xml: &str) -> Node {
    let mut stack = vec![Node::default()];
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        stack.last_mut().unwrap().text.push_str(&unescape(text));
        let gt = rest[lt..].find('>').unwrap() + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') {
            continue;
        }
        if let Some(_name) = tag.strip_prefix('/') {
            let node = stack.pop().unwrap();
            stack.last_mut().unwrap().children.push(node);
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_end_matches('/')
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let node = Node {
            name,
            ..Default::default()
        };
        if self_closing {
            stack.last_mut().unwrap().children.push(node);
        } else {
            stack.push(node);
        }
    }
    let mut top = stack.pop().unwrap();
    top.children.pop().expect("root element")
}

fn scalar(s: &Shape, text: &str) -> Value {
    match s.kind {
        ShapeKind::Integer | ShapeKind::Long => Value::from(text.trim().parse::<i64>().unwrap()),
        ShapeKind::Float | ShapeKind::Double => Value::from(text.trim().parse::<f64>().unwrap()),
        ShapeKind::Boolean => Value::Bool(text.trim() == "true"),
        ShapeKind::Timestamp => timestamp::to_json_number(timestamp::parse(text).unwrap()),
        _ => Value::String(text.to_string()),
    }
}

fn shape<'m>(model: &'m Model, r: &ShapeRef) -> &'m Shape {
    model.shape(&r.shape).unwrap()
}

pub fn read_xml_struct(model: &Model, s: &Shape, node: &Node) -> Value {
    let mut out = Map::new();
    for (name, r) in &s.members {
        let target = shape(model, r);
        let flattened = r.flattened || target.flattened;
        let element = r.location_name.clone().unwrap_or_else(|| name.clone());
        let nodes: Vec<&Node> = node.children.iter().filter(|c| c.name == element).collect();
        if nodes.is_empty() {
            continue;
        }
        let v = match (target.kind, flattened) {
            (ShapeKind::List, true) => {
                let ms = shape(model, target.member.as_deref().unwrap());
                Value::Array(nodes.iter().map(|n| read_xml_value(model, ms, n)).collect())
            }
            (ShapeKind::Map, true) => {
                let mut m = Map::new();
                for n in nodes {
                    read_entry(model, target, n, &mut m);
                }
                Value::Object(m)
            }
            _ => read_xml_value(model, target, nodes[0]),
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}

fn read_entry(model: &Model, map: &Shape, entry: &Node, out: &mut Map<String, Value>) {
    let kr = map.key.as_deref().unwrap();
    let vr = map.value.as_deref().unwrap();
    let k = entry
        .child(kr.location_name.as_deref().unwrap_or("key"))
        .unwrap()
        .text
        .clone();
    let v = entry
        .child(vr.location_name.as_deref().unwrap_or("value"))
        .unwrap();
    out.insert(k, read_xml_value(model, shape(model, vr), v));
}

fn read_xml_value(model: &Model, s: &Shape, node: &Node) -> Value {
    match s.kind {
        ShapeKind::Structure => read_xml_struct(model, s, node),
        ShapeKind::List => {
            let ms = shape(model, s.member.as_deref().unwrap());
            Value::Array(
                node.children
                    .iter()
                    .map(|c| read_xml_value(model, ms, c))
                    .collect(),
            )
        }
        ShapeKind::Map => {
            let mut m = Map::new();
            for entry in &node.children {
                read_entry(model, s, entry, &mut m);
            }
            Value::Object(m)
        }
        _ => scalar(s, &node.text),
    }
}

fn read_json(model: &Model, s: &Shape, v: &Value) -> Value {
    if s.document {
        return v.clone();
    }
    match (s.kind, v) {
        (ShapeKind::Structure, Value::Object(o)) => Value::Object(
            s.members
                .iter()
                .filter_map(|(n, r)| {
                    let wire = r.location_name.as_deref().unwrap_or(n);
                    o.get(wire)
                        .map(|mv| (n.clone(), read_json(model, shape(model, r), mv)))
                })
                .collect(),
        ),
        (ShapeKind::List, Value::Array(items)) => {
            let ms = shape(model, s.member.as_deref().unwrap());
            Value::Array(items.iter().map(|i| read_json(model, ms, i)).collect())
        }
        (ShapeKind::Map, Value::Object(o)) => {
            let vs = shape(model, s.value.as_deref().unwrap());
            Value::Object(
                o.iter()
                    .map(|(k, mv)| (k.clone(), read_json(model, vs, mv)))
                    .collect(),
            )
        }
        (ShapeKind::Timestamp, Value::String(t)) => scalar(s, t),
        _ => v.clone(),
    }
}

fn header_value(model: &Model, s: &Shape, r: &ShapeRef, text: &str) -> Value {
    if r.json_value {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        return Value::String(String::from_utf8(raw).unwrap());
    }
    if s.kind == ShapeKind::List {
        let ms = shape(model, s.member.as_deref().unwrap());
        let mut items = Vec::new();
        let mut cur = String::new();
        let (mut quoted, mut commas) = (false, 0);
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => quoted = !quoted,
                '\\' if quoted => cur.extend(chars.next()),
                ',' if !quoted && (ms.kind != ShapeKind::Timestamp || commas % 2 == 1) => {
                    items.push(scalar(ms, cur.trim()));
                    cur.clear();
                    commas += 1;
                }
                ',' => {
                    commas += 1;
                    cur.push(c)
                }
                c => cur.push(c),
            }
        }
        items.push(scalar(ms, cur.trim()));
        return Value::Array(items);
    }
    scalar(s, text)
}

pub fn read_rest(model: &Model, s: &Shape, resp: &HttpResponse) -> Value {
    let mut out = Map::new();
    for (name, r) in &s.members {
        let target = shape(model, r);
        let wire = r.location_name.as_deref().unwrap_or(name);
        match r.location.as_deref() {
            Some("header") => {
                if let Some((_, v)) = resp
                    .headers
                    .iter()
                    .find(|(h, _)| h.eq_ignore_ascii_case(wire))
                {
                    out.insert(name.clone(), header_value(model, target, r, v));
                }
            }
            Some("headers") => {
                let prefix = wire.to_ascii_lowercase();
                let m: Map<String, Value> = resp
                    .headers
                    .iter()
                    .filter(|(h, _)| h.to_ascii_lowercase().starts_with(&prefix))
                    .map(|(h, v)| (h[prefix.len()..].to_string(), Value::String(v.clone())))
                    .collect();
                if !m.is_empty() {
                    out.insert(name.clone(), Value::Object(m));
                }
            }
            Some("statusCode") => {
                out.insert(name.clone(), Value::from(resp.status));
            }
            _ if s.payload.as_deref() == Some(name.as_str()) => {
                if resp.body.is_empty() {
                    continue;
                }
                let v = match target.kind {
                    ShapeKind::Blob => {
                        Value::String(base64::engine::general_purpose::STANDARD.encode(&resp.body))
                    }
                    ShapeKind::String if !target.document => {
                        Value::String(String::from_utf8(resp.body.clone()).unwrap())
                    }
                    _ => read_json(model, target, &serde_json::from_slice(&resp.body).unwrap()),
                };
                out.insert(name.clone(), v);
            }
            _ => {
                let body: Value = serde_json::from_slice(&resp.body).unwrap();
                if let Some(v) = body.get(wire) {
                    out.insert(name.clone(), read_json(model, target, v));
                }
            }
        }
    }
    Value::Object(out)
}
