//! `application/vnd.kubernetes.protobuf` request bodies, decoded into the JSON the rest of
//! the server reads. client-go sends typed creates and updates of built-in kinds as protobuf
//! since 1.32 (kubectl 1.33's `create job --from=cronjob/X`, `create deployment`, `run`) and,
//! unlike for CBOR, does not fall back to JSON on 415.
//!
//! The body is the `k8s\0` magic and a `runtime.Unknown` envelope: TypeMeta (apiVersion,
//! kind) and the object's bytes. The object is decoded field by field from `fields.rs` (field
//! numbers, JSON names and types of the kinds served, generated from the k8s-pb and
//! k8s-openapi crates); apimachinery's special messages (Quantity, IntOrString, Time,
//! Duration, RawExtension, FieldsV1) become their JSON forms. Unknown fields are skipped, as
//! protobuf decoding does; the JSON then goes through the same validation as any body.

mod fields;

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;
use serde_json::{Map, Value, json};

pub struct Field {
    pub tag: u32,
    pub name: &'static str,
    pub kind: Kind,
    pub repeated: bool,
    /// Go's `json:",inline"`: the message's fields belong to the parent's JSON object.
    pub inline: bool,
}

pub enum Kind {
    Str,
    I32,
    I64,
    Bool,
    Bytes,
    Message(&'static str),
    /// map<string, V>.
    Map(&'static Kind),
}

const MAGIC: &[u8] = b"k8s\0";
/// Deeper nesting than any Kubernetes object has; bounds the recursion on hostile input.
const MAX_DEPTH: usize = 64;

fn messages() -> &'static HashMap<&'static str, &'static [Field]> {
    static MESSAGES: OnceLock<HashMap<&'static str, &'static [Field]>> = OnceLock::new();
    MESSAGES.get_or_init(|| fields::MESSAGES.iter().copied().collect())
}

/// The object a protobuf body carries, as JSON with its apiVersion and kind.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    let body = bytes
        .strip_prefix(MAGIC)
        .ok_or("the protobuf body does not start with the k8s magic number")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for field in WireFields::new(body) {
        match field? {
            (1, Wire::Bytes(type_meta)) => {
                for f in WireFields::new(type_meta) {
                    match f? {
                        (1, Wire::Bytes(v)) => api_version = utf8(v)?.to_string(),
                        (2, Wire::Bytes(v)) => kind = utf8(v)?.to_string(),
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(object)) => raw = Some(object),
            _ => {}
        }
    }
    let name = message_name(&api_version, &kind)
        .ok_or_else(|| format!("no protobuf kind {kind} in {api_version:?}"))?;
    let mut object = match message(&name, raw.unwrap_or_default(), 0)? {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    object.insert("apiVersion".into(), json!(api_version));
    object.insert("kind".into(), json!(kind));
    Ok(Value::Object(object))
}

/// The generated message of a served kind: `batch/v1` Job → `api.batch.v1.Job`.
fn message_name(api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let module = match group {
        "" => "core",
        "rbac.authorization.k8s.io" => "rbac",
        "networking.k8s.io" => "networking",
        "scheduling.k8s.io" => "scheduling",
        "coordination.k8s.io" => "coordination",
        "authorization.k8s.io" => "authorization",
        "authentication.k8s.io" => "authentication",
        other => other,
    };
    let name = format!("api.{module}.{version}.{kind}");
    messages().contains_key(name.as_str()).then_some(name)
}

/// One message's bytes as JSON.
fn message(name: &str, bytes: &[u8], depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("the protobuf body nests too deeply".into());
    }
    if let Some(special) = special(name, bytes)? {
        return Ok(special);
    }
    let fields = messages()
        .get(name)
        .ok_or_else(|| format!("no protobuf message {name}"))?;
    let mut out = Map::new();
    for wire in WireFields::new(bytes) {
        let (tag, wire) = wire?;
        let Some(field) = fields.iter().find(|f| f.tag == tag) else {
            continue;
        };
        match (&field.kind, wire) {
            (Kind::Message(inner), Wire::Bytes(b)) if field.inline => {
                if let Value::Object(inlined) = message(inner, b, depth + 1)? {
                    out.extend(inlined);
                }
            }
            (Kind::Map(value_kind), Wire::Bytes(entry)) => {
                let (key, value) = map_entry(value_kind, entry, depth)?;
                if let Value::Object(map) = out
                    .entry(field.name)
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    map.insert(key, value);
                }
            }
            (kind, wire) => {
                let values = scalar_or_message(kind, wire, depth)?;
                if field.repeated {
                    if let Value::Array(list) = out
                        .entry(field.name)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        list.extend(values);
                    }
                } else if let Some(last) = values.into_iter().last() {
                    out.insert(field.name.to_string(), last);
                }
            }
        }
    }
    Ok(Value::Object(out))
}

/// The values a field's wire value holds: one, or several for packed repeated numbers.
fn scalar_or_message(kind: &Kind, wire: Wire<'_>, depth: usize) -> Result<Vec<Value>, String> {
    let one = |v: Value| Ok(vec![v]);
    match (kind, wire) {
        (Kind::Str, Wire::Bytes(b)) => one(json!(utf8(b)?)),
        (Kind::Bytes, Wire::Bytes(b)) => {
            one(json!(base64::engine::general_purpose::STANDARD.encode(b)))
        }
        (Kind::Message(name), Wire::Bytes(b)) => one(message(name, b, depth + 1)?),
        (Kind::I32, Wire::Varint(v)) => one(json!(v as i32)),
        (Kind::I64, Wire::Varint(v)) => one(json!(v as i64)),
        (Kind::Bool, Wire::Varint(v)) => one(json!(v != 0)),
        (Kind::I32 | Kind::I64 | Kind::Bool, Wire::Bytes(packed)) => {
            let mut values = Vec::new();
            let mut rest = packed;
            while !rest.is_empty() {
                let (v, used) = varint(rest)?;
                rest = &rest[used..];
                values.push(match kind {
                    Kind::I32 => json!(v as i32),
                    Kind::Bool => json!(v != 0),
                    _ => json!(v as i64),
                });
            }
            Ok(values)
        }
        _ => Err("a protobuf field has the wrong wire type".into()),
    }
}

fn map_entry(kind: &Kind, entry: &[u8], depth: usize) -> Result<(String, Value), String> {
    let (mut key, mut value) = (String::new(), None);
    for f in WireFields::new(entry) {
        match f? {
            (1, Wire::Bytes(k)) => key = utf8(k)?.to_string(),
            (2, wire) => value = scalar_or_message(kind, wire, depth)?.into_iter().last(),
            _ => {}
        }
    }
    let empty = match kind {
        Kind::Message(name) => message(name, &[], depth + 1)?,
        _ => json!(""),
    };
    Ok((key, value.unwrap_or(empty)))
}

/// apimachinery's messages whose JSON is not an object of their fields.
fn special(name: &str, bytes: &[u8]) -> Result<Option<Value>, String> {
    let field = |tag: u32| -> Result<Option<Wire<'_>>, String> {
        let mut found = None;
        for f in WireFields::new(bytes) {
            let (t, wire) = f?;
            if t == tag {
                found = Some(wire);
            }
        }
        Ok(found)
    };
    let int = |tag: u32| -> Result<i64, String> {
        Ok(match field(tag)? {
            Some(Wire::Varint(v)) => v as i64,
            _ => 0,
        })
    };
    let text = |tag: u32| -> Result<String, String> {
        Ok(match field(tag)? {
            Some(Wire::Bytes(b)) => utf8(b)?.to_string(),
            _ => String::new(),
        })
    };
    let raw_json = |tag: u32| -> Result<Value, String> {
        Ok(match field(tag)? {
            Some(Wire::Bytes(b)) if !b.is_empty() => serde_json::from_slice(b)
                .map_err(|e| format!("an embedded object is not JSON: {e}"))?,
            _ => Value::Null,
        })
    };
    Ok(Some(match name {
        "apimachinery.pkg.api.resource.Quantity" => json!(text(1)?),
        "apimachinery.pkg.util.intstr.IntOrString" => {
            if int(1)? == 1 {
                json!(text(3)?)
            } else {
                json!(int(2)? as i32)
            }
        }
        "apimachinery.pkg.apis.meta.v1.Time" | "apimachinery.pkg.apis.meta.v1.MicroTime" => {
            let nanos = int(2)?.clamp(0, 999_999_999) as u32;
            let at = chrono::DateTime::from_timestamp(int(1)?, nanos)
                .ok_or("a protobuf time is out of range")?;
            let format = if name.ends_with("MicroTime") {
                chrono::SecondsFormat::Micros
            } else {
                chrono::SecondsFormat::Secs
            };
            json!(at.to_rfc3339_opts(format, true))
        }
        "apimachinery.pkg.apis.meta.v1.Duration" => json!(go_duration(int(1)?)),
        "apimachinery.pkg.runtime.RawExtension" | "apimachinery.pkg.apis.meta.v1.FieldsV1" => {
            raw_json(1)?
        }
        _ => return Ok(None),
    }))
}

/// Go's time.Duration.String() for whole seconds and above ("1h0m0s", "1m30s", "5s").
fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let total = nanos.unsigned_abs();
    let (secs, frac) = (total / 1_000_000_000, total % 1_000_000_000);
    let seconds = if frac == 0 {
        format!("{}", secs % 60)
    } else {
        format!("{}.{:09}", secs % 60, frac)
            .trim_end_matches('0')
            .to_string()
    };
    match (secs / 3600, secs / 60 % 60) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|_| "a protobuf string is not UTF-8".to_string())
}

/// A field's value on the wire.
enum Wire<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32,
}

/// The (field number, value) pairs of a message's bytes.
struct WireFields<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> WireFields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        WireFields {
            rest: bytes,
            failed: false,
        }
    }

    fn next_field(&mut self) -> Result<(u32, Wire<'a>), String> {
        let (key, used) = varint(self.rest)?;
        self.rest = &self.rest[used..];
        let tag = u32::try_from(key >> 3).map_err(|_| "a protobuf field number is too large")?;
        let take = |rest: &mut &'a [u8], n: usize| -> Result<&'a [u8], String> {
            if rest.len() < n {
                return Err("the protobuf body is truncated".into());
            }
            let (taken, left) = rest.split_at(n);
            *rest = left;
            Ok(taken)
        };
        let wire = match key & 7 {
            0 => {
                let (v, used) = varint(self.rest)?;
                self.rest = &self.rest[used..];
                Wire::Varint(v)
            }
            1 => {
                take(&mut self.rest, 8)?;
                Wire::Fixed64
            }
            2 => {
                let (len, used) = varint(self.rest)?;
                self.rest = &self.rest[used..];
                let len = usize::try_from(len).map_err(|_| "a protobuf length is too large")?;
                Wire::Bytes(take(&mut self.rest, len)?)
            }
            5 => {
                take(&mut self.rest, 4)?;
                Wire::Fixed32
            }
            other => return Err(format!("unsupported protobuf wire type {other}")),
        };
        Ok((tag, wire))
    }
}

impl<'a> Iterator for WireFields<'a> {
    type Item = Result<(u32, Wire<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let field = self.next_field();
        self.failed = field.is_err();
        Some(field)
    }
}

/// A base-128 varint and the bytes it took.
fn varint(bytes: &[u8]) -> Result<(u64, usize), String> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("a protobuf varint is truncated or too long".into())
}

#[cfg(test)]
mod tests;
