//! Generator for `crates/sesame-awsproto/src/generated/`.
//!
//! For each service (sesv2, ses, sns) it writes two files: `<svc>.model.json`, the botocore model
//! without documentation (the codecs interpret it at runtime), and `<svc>.rs`, one typed struct per
//! structure shape, the operation list, the per-service API trait (every method defaults to
//! `NotImplemented`) and a `dispatch` function from canonical JSON to the typed trait methods.
//! Output is deterministic (model order) and run through `rustfmt`, so `cargo fmt --check` passes
//! and the up-to-date test can compare bytes.

use anyhow::{bail, Context, Result};
use heck::ToSnakeCase;
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the generated files live, relative to the workspace root.
pub const OUTPUT_DIR: &str = "crates/sesame-awsproto/src/generated";

/// The services we generate: (file stem, trait name, `crate::Service` variant).
pub const SERVICES: &[(&str, &str, &str)] = &[
    ("sesv2", "SesV2Api", "SesV2"),
    ("ses", "SesV1Api", "SesV1"),
    ("sns", "SnsApi", "Sns"),
];

/// The workspace root, found from this crate's manifest directory (`tools/codegen`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The default models directory: `$SESAME_AWS_MODELS` if set, else `../shared/aws-models`
/// relative to the workspace root, else the first `shared/aws-models` found in an ancestor
/// directory (git worktrees live one level deeper than the main checkout).
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SESAME_AWS_MODELS") {
        return PathBuf::from(dir);
    }
    let root = workspace_root();
    let preferred = root.join("../shared/aws-models");
    if preferred.exists() {
        return preferred;
    }
    root.ancestors()
        .map(|dir| dir.join("shared/aws-models"))
        .find(|dir| dir.exists())
        .unwrap_or(preferred)
}

/// Generates every output file in memory: `(file name, contents)`, sorted by file name.
pub fn generate(models_dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (stem, trait_name, variant) in SERVICES {
        let path = models_dir.join(format!("{stem}.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut model: Value = serde_json::from_str(&text)?;
        strip_docs(&mut model);
        apply_extensions(stem, &mut model);
        out.push((
            format!("{stem}.model.json"),
            serde_json::to_string(&model)? + "\n",
        ));
        let rust = render_rust(stem, trait_name, variant, &model)?;
        out.push((format!("{stem}.rs"), rustfmt(&rust)?));
    }
    out.sort();
    Ok(out)
}

/// Documented deviations from the botocore models, applied before both outputs so that the
/// runtime validator and the typed structs agree:
/// - ses `EventType` also takes `deliveryDelay` and `subscription` (DECISIONS Q-9), so a
///   destination created through v2 survives a v1 describe → update round trip.
fn apply_extensions(stem: &str, model: &mut Value) {
    if stem == "ses" {
        if let Some(Value::Array(values)) = model.pointer_mut("/shapes/EventType/enum") {
            for extra in ["deliveryDelay", "subscription"] {
                if !values.iter().any(|v| v == extra) {
                    values.push(Value::String(extra.into()));
                }
            }
        }
    }
}

/// Removes documentation-only fields (only string-valued ones, so a member that happens to be
/// called `documentation` survives).
fn strip_docs(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, v| {
                !(matches!(
                    k.as_str(),
                    "documentation" | "documentationUrl" | "deprecatedMessage"
                ) && v.is_string())
            });
            map.values_mut().for_each(strip_docs);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_docs),
        _ => {}
    }
}

fn rustfmt(src: &str) -> Result<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt")?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(src.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

/// Field or method identifier: heck snake case, raw identifier for keywords.
pub fn rust_ident(name: &str) -> String {
    let snake = name.to_snake_case();
    if KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else {
        snake
    }
}

fn shapes(model: &Value) -> Result<&Map<String, Value>> {
    model["shapes"].as_object().context("model has no shapes")
}

fn rust_type(shapes: &Map<String, Value>, name: &str) -> Result<String> {
    let shape = shapes
        .get(name)
        .with_context(|| format!("unknown shape {name}"))?;
    let ty = shape["type"].as_str().unwrap_or_default();
    Ok(match ty {
        "string" => "::std::string::String".into(),
        "integer" | "long" | "short" | "byte" => "i64".into(),
        "float" | "double" => "f64".into(),
        "boolean" => "bool".into(),
        "timestamp" => "f64".into(),
        "blob" => "crate::Blob".into(),
        "list" => format!(
            "::std::vec::Vec<{}>",
            rust_type(
                shapes,
                shape["member"]["shape"].as_str().unwrap_or_default()
            )?
        ),
        "map" => format!(
            "::std::collections::BTreeMap<::std::string::String, {}>",
            rust_type(shapes, shape["value"]["shape"].as_str().unwrap_or_default())?
        ),
        "structure" if shape.get("document").and_then(Value::as_bool) == Some(true) => {
            "::serde_json::Value".into()
        }
        "structure" => name.to_string(),
        other => bail!("shape {name}: unsupported type {other}"),
    })
}

fn render_rust(stem: &str, trait_name: &str, variant: &str, model: &Value) -> Result<String> {
    let shapes = shapes(model)?;
    let ops = model["operations"].as_object().context("no operations")?;
    let mut s = String::new();
    writeln!(
        s,
        "//! Generated by `sesame-codegen` from the botocore model `{stem}.json`. Do not edit.\n\
         //! Canonical types: timestamps are epoch seconds, blobs are `crate::Blob`.\n\
         #![allow(clippy::all, clippy::pedantic, non_snake_case, unused_imports, dead_code)]\n"
    )?;
    for (name, shape) in shapes {
        if shape["type"] != "structure" || shape.get("document").is_some() {
            continue;
        }
        let required: Vec<&str> = shape["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        writeln!(
            s,
            "#[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]\npub struct {name} {{"
        )?;
        if let Some(members) = shape["members"].as_object() {
            for (member, target) in members {
                let ty = rust_type(shapes, target["shape"].as_str().unwrap_or_default())?;
                let ident = rust_ident(member);
                if required.contains(&member.as_str()) {
                    writeln!(s, "#[serde(rename = \"{member}\")]\npub {ident}: {ty},")?;
                } else {
                    writeln!(
                        s,
                        "#[serde(rename = \"{member}\", default, skip_serializing_if = \"::std::option::Option::is_none\")]\n\
                         pub {ident}: ::std::option::Option<{ty}>,"
                    )?;
                }
            }
        }
        writeln!(s, "}}\n")?;
    }

    writeln!(s, "/// Every operation of this service, in model order.")?;
    writeln!(s, "pub const OPERATIONS: &[&str] = &[")?;
    for name in ops.keys() {
        writeln!(s, "\"{name}\",")?;
    }
    writeln!(s, "];\n")?;

    let io = |op: &Value, key: &str| -> String {
        op[key]["shape"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| "()".to_string())
    };
    writeln!(
        s,
        "/// One method per operation; each defaults to `NotImplemented` so implementations can grow.\n\
         #[::async_trait::async_trait]\npub trait {trait_name}: Send + Sync {{\n\
         /// Per-request context (caller identity, request id, …) chosen by the implementation.\n\
         type Ctx: Send + Sync;"
    )?;
    for (name, op) in ops {
        let (input, output) = (io(op, "input"), io(op, "output"));
        writeln!(
            s,
            "async fn {}(&self, _ctx: &Self::Ctx, _input: {input}) -> ::core::result::Result<{output}, crate::ApiError> {{\n\
             Err(crate::ApiError::not_implemented(crate::Service::{variant}, \"{name}\"))\n}}",
            rust_ident(name)
        )?;
    }
    writeln!(s, "}}\n")?;

    writeln!(
        s,
        "/// Routes a decoded request (canonical JSON) to the typed method and encodes its output.\n\
         pub async fn dispatch<A: {trait_name} + ?Sized>(api: &A, ctx: &A::Ctx, operation: &str, input: ::serde_json::Value) \
         -> ::core::result::Result<::serde_json::Value, crate::ApiError> {{\n\
         let service = crate::Service::{variant};\n\
         match operation {{"
    )?;
    for (name, op) in ops {
        let (input, output) = (io(op, "input"), io(op, "output"));
        let call = rust_ident(name);
        let decode = if input == "()" {
            "let _ = input; let typed = ();".to_string()
        } else {
            format!("let typed: {input} = crate::decode_typed(service, input)?;")
        };
        let encode = if output == "()" {
            format!("api.{call}(ctx, typed).await?; Ok(::serde_json::Value::Object(::serde_json::Map::new()))")
        } else {
            format!(
                "let output = api.{call}(ctx, typed).await?; crate::encode_typed(service, &output)"
            )
        };
        writeln!(s, "\"{name}\" => {{ {decode} {encode} }}")?;
    }
    writeln!(
        s,
        "_ => Err(crate::ApiError::unknown_operation(service, operation)),\n}}\n}}"
    )?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::rust_ident;

    #[test]
    fn identifiers() {
        let cases = [
            ("DkimSigningAttributes", "dkim_signing_attributes"),
            ("BehaviorOnMXFailure", "behavior_on_mx_failure"),
            ("Type", "r#type"),
            ("CreateEmailIdentity", "create_email_identity"),
        ];
        for (name, want) in cases {
            assert_eq!(rust_ident(name), want);
        }
    }
}
