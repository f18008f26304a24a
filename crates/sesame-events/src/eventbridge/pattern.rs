//! EventBridge event patterns (SH-7, F-119, Q-177): the rule language of the local event bus,
//! following the AWS EventBridge user guide ("Creating event patterns", "Content filtering",
//! "Comparison operators").
//!
//! A pattern is a JSON object with the structure of the events it selects:
//!
//! - a key whose value is an **object** descends into that event field;
//! - a key whose value is an **array** is a leaf: the event field matches when **any** element
//!   of the array matches (OR);
//! - **all** keys of an object must match (AND); `"$or": [{…}, {…}, …]` inside an object adds
//!   a disjunction of sub-patterns evaluated at the same place;
//! - where the **event** has an array, the field matches when **any** element matches; an
//!   object sub-pattern must then be satisfied by one element as a whole (so fields of
//!   different array elements are never combined).
//!
//! Array elements are literals (`"s"`, `3`, `true`, `null`: exact, case-sensitive, numbers
//! compared as numbers so `300` matches `3.0e2`, `null` matches a JSON `null` only) or one-key
//! operator objects: `prefix`, `suffix` (both also with `{"equals-ignore-case": …}`),
//! `equals-ignore-case`, `wildcard`, `anything-but` (a value, a list of strings or of numbers,
//! or `{prefix|suffix|equals-ignore-case|wildcard: …}`), `exists`, `numeric` and `cidr`.
//!
//! A field that is absent from the event, or that has no leaf value there (an object, an
//! empty array), matches only `{"exists": false}`; every other matcher, `anything-but`
//! included, needs a value. `exists` only looks at leaf values, as EventBridge's does.
//!
//! Parse errors ([`PatternError`]) name the place (`detail.state[1]`) and say what is wrong,
//! for operators typing rules into the CLI.

use std::net::IpAddr;

use serde_json::{Map, Value};

/// Maximum pattern length in characters: EventBridge's documented default event-pattern quota
/// (2048 characters; AWS raises it to at most 4096 on request). SH-7 keeps the default so a
/// rule that works here also fits on EventBridge.
pub const MAX_PATTERN_CHARS: usize = 2048;

/// Maximum nesting of pattern objects (the root counts as 1, each `$or` alternative as one
/// more). EventBridge documents no limit; SES records nest at most 5 deep
/// (`detail.mail.commonHeaders.from`, `detail.click.linkTags.<tag>`), so 16 is generous while
/// keeping matching cost bounded.
pub const MAX_PATTERN_DEPTH: usize = 16;

/// Why an event pattern was refused. `Display` is the message shown to operators.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The text is not JSON at all.
    #[error("event pattern is not valid JSON: {0}")]
    Json(String),
    /// Longer than [`MAX_PATTERN_CHARS`].
    #[error("event pattern is {len} characters long; the limit is {max}")]
    TooLong { len: usize, max: usize },
    /// Objects nested deeper than [`MAX_PATTERN_DEPTH`].
    #[error("{path}: event pattern nests deeper than {max} levels")]
    TooDeep { path: String, max: usize },
    /// An operator object whose key is not one EventBridge defines.
    #[error(
        "{path}: unknown operator \"{operator}\" (expected one of prefix, suffix, \
         anything-but, exists, numeric, equals-ignore-case, wildcard, cidr)"
    )]
    UnknownOperator { path: String, operator: String },
    /// Any other malformed part; `path` is empty for the pattern as a whole.
    #[error("{}", located(.path, .reason))]
    Invalid { path: String, reason: String },
}

fn located(path: &str, reason: &str) -> String {
    if path.is_empty() {
        format!("event pattern: {reason}")
    } else {
        format!("{path}: {reason}")
    }
}

/// A parsed, validated event pattern (SH-7). Build with [`Pattern::parse`]; test events with
/// [`Pattern::matches`].
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    root: Fields,
}

/// One pattern object: every field must match, and every `$or` group must have a matching
/// alternative.
#[derive(Clone, Debug, PartialEq)]
struct Fields {
    fields: Vec<(String, Node)>,
    ors: Vec<Vec<Fields>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    /// A nested object: descend into the event field.
    Object(Fields),
    /// An array: any matcher on any leaf value.
    Leaf(Vec<Matcher>),
}

#[derive(Clone, Debug, PartialEq)]
enum Matcher {
    Exact(Literal),
    Prefix(Text),
    Suffix(Text),
    /// Stored lower-cased.
    EqualsIgnoreCase(String),
    Wildcard(Glob),
    AnythingBut(Negated),
    Exists(bool),
    Numeric(Range),
    Cidr(Cidr),
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// A prefix or suffix; lower-cased when `ignore_case`.
#[derive(Clone, Debug, PartialEq)]
struct Text {
    value: String,
    ignore_case: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Negated {
    /// Strings only or numbers only (the docs' rule), at least one.
    Values(Vec<Literal>),
    Prefix(String),
    Suffix(String),
    /// Lower-cased.
    IgnoreCase(Vec<String>),
    Wildcard(Vec<Glob>),
}

/// `lower`/`upper`: (bound, inclusive).
#[derive(Clone, Debug, PartialEq)]
struct Range {
    lower: Option<(f64, bool)>,
    upper: Option<(f64, bool)>,
}

/// A wildcard pattern as the literal pieces between `*`s: `a*b*` → `["a", "b", ""]`. No
/// piece but the first and last is empty (consecutive `*` are refused).
#[derive(Clone, Debug, PartialEq)]
struct Glob {
    pieces: Vec<String>,
}

/// An IPv4 or IPv6 network; `net` is already masked.
#[derive(Clone, Debug, PartialEq)]
struct Cidr {
    v4: bool,
    net: u128,
    mask: u128,
}

impl Pattern {
    /// Parses and validates an EventBridge event pattern (SH-7). Refused, with the place and
    /// the reason: text over [`MAX_PATTERN_CHARS`], non-JSON, a non-object or empty pattern
    /// (EventBridge allows no empty objects), a leaf that is not an array, an empty array, a
    /// nested array, an operator object without exactly one key, an unknown operator, an
    /// operator with a value of the wrong kind, and nesting over [`MAX_PATTERN_DEPTH`].
    pub fn parse(json: &str) -> Result<Pattern, PatternError> {
        let len = json.chars().count();
        if len > MAX_PATTERN_CHARS {
            return Err(PatternError::TooLong {
                len,
                max: MAX_PATTERN_CHARS,
            });
        }
        let value: Value =
            serde_json::from_str(json).map_err(|e| PatternError::Json(e.to_string()))?;
        let Value::Object(root) = &value else {
            return Err(invalid(
                "",
                format!("must be a JSON object, not {}", kind(&value)),
            ));
        };
        Ok(Pattern {
            root: parse_fields(root, "", 1)?,
        })
    }

    /// Whether `event` (an envelope such as [`super::envelope`] builds, or any JSON value)
    /// matches this pattern, with the semantics of the module documentation.
    pub fn matches(&self, event: &Value) -> bool {
        fields_match(&self.root, Some(event))
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn invalid(path: &str, reason: impl Into<String>) -> PatternError {
    PatternError::Invalid {
        path: path.to_string(),
        reason: reason.into(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_fields(o: &Map<String, Value>, path: &str, depth: usize) -> Result<Fields, PatternError> {
    if depth > MAX_PATTERN_DEPTH {
        return Err(PatternError::TooDeep {
            path: path.to_string(),
            max: MAX_PATTERN_DEPTH,
        });
    }
    if o.is_empty() {
        return Err(invalid(path, "empty objects are not allowed"));
    }
    let mut fields = Vec::with_capacity(o.len());
    let mut ors = Vec::new();
    for (key, value) in o {
        let here = child(path, key);
        if key == "$or" {
            ors.push(parse_or(value, &here, depth)?);
            continue;
        }
        let node = match value {
            Value::Object(sub) => Node::Object(parse_fields(sub, &here, depth + 1)?),
            Value::Array(items) => Node::Leaf(parse_matchers(items, &here)?),
            other => {
                return Err(invalid(
                    &here,
                    format!(
                        "must be an array of match values or an object, not {}",
                        kind(other)
                    ),
                ))
            }
        };
        fields.push((key.clone(), node));
    }
    Ok(Fields { fields, ors })
}

fn parse_or(value: &Value, path: &str, depth: usize) -> Result<Vec<Fields>, PatternError> {
    let Value::Array(items) = value else {
        return Err(invalid(
            path,
            format!("must be an array of pattern objects, not {}", kind(value)),
        ));
    };
    if items.len() < 2 {
        return Err(invalid(path, "needs at least two alternatives"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = format!("{path}[{i}]");
            match item {
                Value::Object(o) => parse_fields(o, &here, depth + 1),
                other => Err(invalid(
                    &here,
                    format!("must be a pattern object, not {}", kind(other)),
                )),
            }
        })
        .collect()
}

fn parse_matchers(items: &[Value], path: &str) -> Result<Vec<Matcher>, PatternError> {
    if items.is_empty() {
        return Err(invalid(path, "empty arrays are not allowed"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_matcher(item, &format!("{path}[{i}]")))
        .collect()
}

fn parse_matcher(item: &Value, path: &str) -> Result<Matcher, PatternError> {
    let o = match item {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(invalid(
                path,
                "match values must be strings, numbers, booleans, null or operator objects, \
                 not arrays",
            ))
        }
        literal => return Ok(Matcher::Exact(to_literal(literal))),
    };
    let mut entries = o.iter();
    let (Some((op, arg)), None) = (entries.next(), entries.next()) else {
        return Err(invalid(
            path,
            format!(
                "an operator object must have exactly one key, found {}",
                o.len()
            ),
        ));
    };
    let here = child(path, op);
    Ok(match op.as_str() {
        "prefix" => Matcher::Prefix(parse_text(arg, &here)?),
        "suffix" => Matcher::Suffix(parse_text(arg, &here)?),
        "equals-ignore-case" => Matcher::EqualsIgnoreCase(string(arg, &here)?.to_lowercase()),
        "wildcard" => Matcher::Wildcard(parse_glob(string(arg, &here)?, &here)?),
        "anything-but" => Matcher::AnythingBut(parse_negated(arg, &here)?),
        "exists" => match arg {
            Value::Bool(b) => Matcher::Exists(*b),
            other => {
                return Err(invalid(
                    &here,
                    format!("must be true or false, not {}", kind(other)),
                ))
            }
        },
        "numeric" => Matcher::Numeric(parse_range(arg, &here)?),
        "cidr" => Matcher::Cidr(parse_cidr(string(arg, &here)?, &here)?),
        _ => {
            return Err(PatternError::UnknownOperator {
                path: path.to_string(),
                operator: op.clone(),
            })
        }
    })
}

/// Only called on non-object, non-array values.
fn to_literal(v: &Value) -> Literal {
    match v {
        Value::String(s) => Literal::Str(s.clone()),
        Value::Number(n) => Literal::Num(n.as_f64().unwrap_or(f64::NAN)),
        Value::Bool(b) => Literal::Bool(*b),
        _ => Literal::Null,
    }
}

fn string<'a>(arg: &'a Value, path: &str) -> Result<&'a str, PatternError> {
    arg.as_str()
        .ok_or_else(|| invalid(path, format!("must be a string, not {}", kind(arg))))
}

/// `"abc"` or `{"equals-ignore-case": "abc"}` (prefix and suffix).
fn parse_text(arg: &Value, path: &str) -> Result<Text, PatternError> {
    match arg {
        Value::String(s) => Ok(Text {
            value: s.clone(),
            ignore_case: false,
        }),
        Value::Object(o) => match (o.len(), o.get("equals-ignore-case")) {
            (1, Some(v)) => Ok(Text {
                value: string(v, &child(path, "equals-ignore-case"))?.to_lowercase(),
                ignore_case: true,
            }),
            _ => Err(invalid(
                path,
                "must be a string or {\"equals-ignore-case\": <string>}",
            )),
        },
        other => Err(invalid(
            path,
            format!(
                "must be a string or {{\"equals-ignore-case\": <string>}}, not {}",
                kind(other)
            ),
        )),
    }
}

fn parse_negated(arg: &Value, path: &str) -> Result<Negated, PatternError> {
    const EXPECTED: &str = "must be a string, a number, a non-empty list of strings or of \
                            numbers, or an object with one of prefix, suffix, \
                            equals-ignore-case, wildcard";
    match arg {
        Value::String(_) | Value::Number(_) => Ok(Negated::Values(vec![to_literal(arg)])),
        Value::Array(items) => {
            let all_strings = items.iter().all(Value::is_string);
            let all_numbers = items.iter().all(Value::is_number);
            if items.is_empty() || !(all_strings || all_numbers) {
                return Err(invalid(path, EXPECTED));
            }
            Ok(Negated::Values(items.iter().map(to_literal).collect()))
        }
        Value::Object(o) => {
            let mut entries = o.iter();
            let (Some((op, inner)), None) = (entries.next(), entries.next()) else {
                return Err(invalid(path, EXPECTED));
            };
            let here = child(path, op);
            match op.as_str() {
                "prefix" => Ok(Negated::Prefix(string(inner, &here)?.to_string())),
                "suffix" => Ok(Negated::Suffix(string(inner, &here)?.to_string())),
                "equals-ignore-case" => Ok(Negated::IgnoreCase(
                    strings(inner, &here)?
                        .into_iter()
                        .map(str::to_lowercase)
                        .collect(),
                )),
                "wildcard" => Ok(Negated::Wildcard(
                    strings(inner, &here)?
                        .into_iter()
                        .map(|s| parse_glob(s, &here))
                        .collect::<Result<_, _>>()?,
                )),
                _ => Err(PatternError::UnknownOperator {
                    path: path.to_string(),
                    operator: op.clone(),
                }),
            }
        }
        other => Err(invalid(path, format!("{EXPECTED}; found {}", kind(other)))),
    }
}

/// A string or a non-empty list of strings.
fn strings<'a>(arg: &'a Value, path: &str) -> Result<Vec<&'a str>, PatternError> {
    let expected = "must be a string or a non-empty list of strings";
    match arg {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().ok_or_else(|| invalid(path, expected)))
            .collect(),
        _ => Err(invalid(path, expected)),
    }
}

/// `["=", x]`, `[op, x]` with op in `<`, `<=`, `>`, `>=`, or a lower and an upper bound in
/// either order: `[">", 0, "<=", 5]`.
fn parse_range(arg: &Value, path: &str) -> Result<Range, PatternError> {
    const EXPECTED: &str = "must be [\"<op>\", <number>] or [\"<op>\", <number>, \"<op>\", \
                            <number>] with op one of =, <, <=, >, >=";
    let Value::Array(items) = arg else {
        return Err(invalid(path, EXPECTED));
    };
    if items.len() != 2 && items.len() != 4 {
        return Err(invalid(path, EXPECTED));
    }
    let mut range = Range {
        lower: None,
        upper: None,
    };
    for pair in items.chunks(2) {
        let (Some(op), Some(n)) = (pair[0].as_str(), pair[1].as_f64()) else {
            return Err(invalid(path, EXPECTED));
        };
        let (slot, bound) = match op {
            "=" if items.len() == 2 => {
                range.lower = Some((n, true));
                (&mut range.upper, (n, true))
            }
            ">" => (&mut range.lower, (n, false)),
            ">=" => (&mut range.lower, (n, true)),
            "<" => (&mut range.upper, (n, false)),
            "<=" => (&mut range.upper, (n, true)),
            "=" => return Err(invalid(path, "\"=\" cannot be combined with another bound")),
            other => {
                return Err(invalid(
                    path,
                    format!("unknown comparison \"{other}\" (expected =, <, <=, >, >=)"),
                ))
            }
        };
        if slot.is_some() {
            return Err(invalid(
                path,
                "a range needs one lower bound (> or >=) and one upper bound (< or <=)",
            ));
        }
        *slot = Some(bound);
    }
    if let (Some((lo, lo_inc)), Some((hi, hi_inc))) = (range.lower, range.upper) {
        if lo > hi || (lo == hi && !(lo_inc && hi_inc)) {
            return Err(invalid(path, "the range is empty: lower bound above upper"));
        }
    }
    Ok(range)
}

/// `*` matches any run of characters (none included); `\*` is a literal star and `\\` a
/// literal backslash; consecutive `*` are refused, as EventBridge does.
fn parse_glob(s: &str, path: &str) -> Result<Glob, PatternError> {
    let mut pieces = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('*' | '\\')) => pieces.last_mut().expect("non-empty").push(e),
                _ => {
                    return Err(invalid(
                        path,
                        "invalid escape: only \\* and \\\\ may follow a backslash",
                    ))
                }
            },
            '*' => {
                if chars.peek() == Some(&'*') {
                    return Err(invalid(
                        path,
                        "consecutive wildcard characters are not allowed",
                    ));
                }
                pieces.push(String::new());
            }
            other => pieces.last_mut().expect("non-empty").push(other),
        }
    }
    Ok(Glob { pieces })
}

/// `a.b.c.d/n` (n ≤ 32) or an IPv6 address `/n` (n ≤ 128).
fn parse_cidr(s: &str, path: &str) -> Result<Cidr, PatternError> {
    let bad = || {
        invalid(
            path,
            format!("\"{s}\" is not a CIDR block such as 10.0.0.0/24"),
        )
    };
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let len: u32 = if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    } else {
        len.parse().map_err(|_| bad())?
    };
    let (v4, bits, width) = ip_bits(addr);
    if len > width {
        return Err(bad());
    }
    let mask = prefix_mask(len, width);
    Ok(Cidr {
        v4,
        net: bits & mask,
        mask,
    })
}

/// (is IPv4, address bits, width).
fn ip_bits(ip: IpAddr) -> (bool, u128, u32) {
    match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (false, u128::from(a), 128),
    }
}

/// The top `len` bits of a `width`-bit address (`len <= width`).
fn prefix_mask(len: u32, width: u32) -> u128 {
    let all = u128::MAX >> (128 - width);
    all & !all.checked_shr(len).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Matching

fn fields_match(f: &Fields, event: Option<&Value>) -> bool {
    if let Some(Value::Array(items)) = event {
        // One element must satisfy the whole sub-pattern; an empty array has no fields.
        return if items.is_empty() {
            fields_match(f, None)
        } else {
            items.iter().any(|item| fields_match(f, Some(item)))
        };
    }
    let object = event.and_then(Value::as_object);
    f.fields
        .iter()
        .all(|(key, node)| node_match(node, object.and_then(|o| o.get(key))))
        && f.ors
            .iter()
            .all(|alternatives| alternatives.iter().any(|alt| fields_match(alt, event)))
}

fn node_match(node: &Node, value: Option<&Value>) -> bool {
    match node {
        Node::Object(f) => fields_match(f, value),
        Node::Leaf(matchers) => {
            let mut leaves = Vec::new();
            if let Some(v) = value {
                collect_leaves(v, &mut leaves);
            }
            if leaves.is_empty() {
                matchers.contains(&Matcher::Exists(false))
            } else {
                matchers
                    .iter()
                    .any(|m| leaves.iter().any(|leaf| m.matches(leaf)))
            }
        }
    }
}

/// The scalar values at a field: itself, or the scalars of an array, flattened. Objects are
/// intermediate nodes and contribute none.
fn collect_leaves<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_leaves(i, out)),
        Value::Object(_) => {}
        scalar => out.push(scalar),
    }
}

impl Matcher {
    /// One scalar event value (never an array or object).
    fn matches(&self, v: &Value) -> bool {
        match self {
            Matcher::Exact(lit) => lit.equals(v),
            Matcher::Exists(present) => *present,
            Matcher::Prefix(t) => v.as_str().is_some_and(|s| t.prefix_of(s)),
            Matcher::Suffix(t) => v.as_str().is_some_and(|s| t.suffix_of(s)),
            Matcher::EqualsIgnoreCase(want) => {
                v.as_str().is_some_and(|s| s.to_lowercase() == *want)
            }
            Matcher::Wildcard(g) => v.as_str().is_some_and(|s| g.matches(s)),
            Matcher::Numeric(r) => v.as_f64().is_some_and(|n| r.contains(n)),
            Matcher::Cidr(c) => v.as_str().is_some_and(|s| c.contains(s)),
            Matcher::AnythingBut(n) => n.matches(v),
        }
    }
}

impl Literal {
    fn equals(&self, v: &Value) -> bool {
        match (self, v) {
            (Literal::Str(a), Value::String(b)) => a == b,
            (Literal::Num(a), Value::Number(b)) => b.as_f64() == Some(*a),
            (Literal::Bool(a), Value::Bool(b)) => a == b,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl Text {
    fn prefix_of(&self, s: &str) -> bool {
        if self.ignore_case {
            s.to_lowercase().starts_with(&self.value)
        } else {
            s.starts_with(&self.value)
        }
    }

    fn suffix_of(&self, s: &str) -> bool {
        if self.ignore_case {
            s.to_lowercase().ends_with(&self.value)
        } else {
            s.ends_with(&self.value)
        }
    }
}

impl Negated {
    /// Value lists exclude equal values of any type (a number is "anything but" a string
    /// list); the string forms need a string that does not match.
    fn matches(&self, v: &Value) -> bool {
        match self {
            Negated::Values(list) => !list.iter().any(|lit| lit.equals(v)),
            Negated::Prefix(p) => v.as_str().is_some_and(|s| !s.starts_with(p.as_str())),
            Negated::Suffix(p) => v.as_str().is_some_and(|s| !s.ends_with(p.as_str())),
            Negated::IgnoreCase(list) => v.as_str().is_some_and(|s| {
                let s = s.to_lowercase();
                !list.contains(&s)
            }),
            Negated::Wildcard(globs) => v
                .as_str()
                .is_some_and(|s| !globs.iter().any(|g| g.matches(s))),
        }
    }
}

impl Range {
    fn contains(&self, n: f64) -> bool {
        let above = match self.lower {
            Some((lo, true)) => n >= lo,
            Some((lo, false)) => n > lo,
            None => true,
        };
        let below = match self.upper {
            Some((hi, true)) => n <= hi,
            Some((hi, false)) => n < hi,
            None => true,
        };
        above && below
    }
}

impl Glob {
    /// Leftmost-first matching of the pieces between stars is exact for `*`-only globs: the
    /// first piece anchors the start, the last the end, and taking each middle piece at its
    /// earliest place leaves the most room for the rest.
    fn matches(&self, s: &str) -> bool {
        let [first, middle @ .., last] = self.pieces.as_slice() else {
            // One piece: no star at all.
            return self.pieces.first().is_some_and(|p| p == s);
        };
        if s.len() < first.len() + last.len() || !s.starts_with(first.as_str()) {
            return false;
        }
        if !s.ends_with(last.as_str()) {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for piece in middle {
            match rest.find(piece.as_str()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

impl Cidr {
    fn contains(&self, s: &str) -> bool {
        let Ok(ip) = s.parse::<IpAddr>() else {
            return false;
        };
        let (v4, bits, _) = ip_bits(ip);
        v4 == self.v4 && bits & self.mask == self.net
    }
}

#[cfg(test)]
mod tests;
