//! Request bodies: decoding JSON or YAML, and checking an object against its kind's schema
//! (built-in kinds by a round trip through k8s-openapi's types, custom ones by their CRD).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::request::FieldValidation;
use super::status::ApiError;
use crate::resources::ResourceType;
use crate::validate;

/// Decodes a body as JSON, or as YAML when the content type says so.
/// `decode`, and under `fieldValidation=Strict` a JSON body whose objects repeat a key is
/// refused, as the apiserver's strict decoder refuses it (a plain parse keeps the last).
pub fn decode_strict(
    bytes: &[u8],
    content_type: &str,
    mode: FieldValidation,
) -> Result<Value, ApiError> {
    let value = decode(bytes, content_type)?;
    let json = !content_type.contains("protobuf") && !content_type.contains("yaml");
    if mode == FieldValidation::Strict && json {
        let repeated = duplicate_fields(bytes);
        if !repeated.is_empty() {
            let list: Vec<String> = repeated
                .iter()
                .map(|f| format!("duplicate field \"{f}\""))
                .collect();
            return Err(ApiError::bad_request(format!(
                "strict decoding error: {}",
                list.join(", ")
            )));
        }
    }
    Ok(value)
}

/// The paths (`spec.replicas`, `data.a`) of keys a JSON document repeats within one object.
fn duplicate_fields(bytes: &[u8]) -> Vec<String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::cell::RefCell;

    struct Walk<'a> {
        path: String,
        found: &'a RefCell<Vec<String>>,
    }
    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                let path = if self.path.is_empty() {
                    key.clone()
                } else {
                    format!("{}.{key}", self.path)
                };
                if !seen.insert(key) {
                    self.found.borrow_mut().push(path.clone());
                }
                map.next_value_seed(Walk {
                    path,
                    found: self.found,
                })?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0;
            while seq
                .next_element_seed(Walk {
                    path: format!("{}[{i}]", self.path),
                    found: self.found,
                })?
                .is_some()
            {
                i += 1;
            }
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }
    let found = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walked = Walk {
        path: String::new(),
        found: &found,
    }
    .deserialize(&mut de);
    if walked.is_err() {
        return Vec::new();
    }
    found.into_inner()
}

pub fn decode(bytes: &[u8], content_type: &str) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    // client-go sends built-in kinds as protobuf, and does not fall back to JSON.
    if content_type.contains("protobuf") {
        return super::protobuf::decode(bytes)
            .map_err(|e| ApiError::bad_request(format!("couldn't decode the protobuf body: {e}")));
    }
    // CBOR is not read: 415 tells clients to send JSON instead (client-go falls back).
    if content_type.contains("cbor") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let yaml = content_type.contains("yaml");
    let value: Value = if yaml {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request("the request body is not valid UTF-8"))?;
        serde_saphyr::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))?
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?
    };
    Ok(value)
}

/// Checks that `object` is a `rt` object: apiVersion and kind, a decodable body and, per
/// `mode`, no unknown fields. Unknown fields are then dropped, as the apiserver's decoding
/// (built-in kinds) and pruning (custom ones) drop them. Returns warnings (for `Warn`).
pub fn check_object(
    rt: &ResourceType,
    object: &mut Value,
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let (warnings, pruned) = check(rt, object, mode)?;
    if let Some(pruned) = pruned {
        *object = pruned;
    }
    Ok(warnings)
}

/// The warnings, and the object without its unknown fields when it had any.
fn check(
    rt: &ResourceType,
    object: &Value,
    mode: FieldValidation,
) -> Result<(Vec<String>, Option<Value>), ApiError> {
    let Some(map) = object.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    if api_version.is_empty() || kind.is_empty() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing in the request body",
        ));
    }
    if kind != rt.kind || api_version != rt.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({}) or the kind ({kind}) is not {}",
            rt.api_version(),
            rt.kind
        )));
    }
    if let Some(meta) = map.get("metadata")
        && !meta.is_object()
    {
        return Err(ApiError::bad_request("metadata must be an object"));
    }
    let (unknown, invalid, pruned) = match &rt.schema {
        Some(schema) => {
            let (unknown, invalid) = validate::schema_errors(object, schema);
            let pruned = (!unknown.is_empty()).then(|| {
                let mut copy = object.clone();
                for path in &unknown {
                    remove_path(&mut copy, path);
                }
                copy
            });
            (unknown, invalid, pruned)
        }
        None => {
            let roundtrip = roundtrip(rt, object)?;
            let unknown = validate::unknown_fields(object, &roundtrip);
            let pruned = (!unknown.is_empty()).then_some(roundtrip);
            (unknown, Vec::new(), pruned)
        }
    };
    if !invalid.is_empty() {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let causes = invalid
            .into_iter()
            .map(|message| match message.split_once(": ") {
                Some((field, rest)) => (field.to_string(), rest.to_string()),
                None => (String::new(), message),
            })
            .collect();
        return Err(ApiError::invalid(&rt.kind, &rt.group, name, causes));
    }
    match mode {
        FieldValidation::Strict if !unknown.is_empty() => {
            let list: Vec<String> = unknown
                .iter()
                .map(|f| format!("unknown field \"{}\"", f.trim_start_matches('.')))
                .collect();
            Err(ApiError::bad_request(format!(
                "strict decoding error: {}",
                list.join(", ")
            )))
        }
        FieldValidation::Warn => Ok((
            unknown
                .iter()
                .map(|f| format!("unknown field \"{}\"", f.trim_start_matches('.')))
                .collect(),
            pruned,
        )),
        _ => Ok((Vec::new(), pruned)),
    }
}

/// Removes the field at a path like `spec.items[2].name` (the form `schema_errors` reports).
fn remove_path(object: &mut Value, path: &str) {
    let mut segments: Vec<Segment> = Vec::new();
    for part in path.trim_start_matches('.').split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            segments.push(Segment::Key(key));
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            match index.trim_end_matches(']').parse() {
                Ok(i) => segments.push(Segment::Index(i)),
                Err(_) => return,
            }
        }
    }
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut node = object;
    for segment in parents {
        let next = match (segment, node) {
            (Segment::Key(k), Value::Object(m)) => m.get_mut(*k),
            (Segment::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    if let (Segment::Key(k), Value::Object(m)) = (last, node) {
        m.remove(*k);
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// Decodes into the typed struct and encodes again: known fields survive, unknown vanish,
/// wrong types fail the decode (400, as the apiserver's decoder does).
fn roundtrip(rt: &ResourceType, object: &Value) -> Result<Value, ApiError> {
    use k8s_openapi::api::authentication::v1 as authn;
    use k8s_openapi::api::authorization::v1 as authz;
    use k8s_openapi::api::{apps, autoscaling, batch, coordination, core};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
    match rt.kind.as_str() {
        "Namespace" => via::<core::v1::Namespace>(object),
        "Node" => via::<core::v1::Node>(object),
        "Pod" => via::<core::v1::Pod>(object),
        "Event" => via::<core::v1::Event>(object),
        "Service" => via::<core::v1::Service>(object),
        "ConfigMap" => via::<core::v1::ConfigMap>(object),
        "Deployment" => via::<apps::v1::Deployment>(object),
        "ReplicaSet" => via::<apps::v1::ReplicaSet>(object),
        "Job" => via::<batch::v1::Job>(object),
        "CronJob" => via::<batch::v1::CronJob>(object),
        "HorizontalPodAutoscaler" => via::<autoscaling::v2::HorizontalPodAutoscaler>(object),
        "Lease" => via::<coordination::v1::Lease>(object),
        "SelfSubjectAccessReview" => via::<authz::SelfSubjectAccessReview>(object),
        "SelfSubjectReview" => via::<authn::SelfSubjectReview>(object),
        "CustomResourceDefinition" => via::<apiext::CustomResourceDefinition>(object),
        _ => Ok(object.clone()),
    }
}

fn via<T: DeserializeOwned + Serialize>(object: &Value) -> Result<Value, ApiError> {
    let typed: T = serde_json::from_value(object.clone())
        .map_err(|e| ApiError::bad_request(format!("error decoding the request body: {e}")))?;
    serde_json::to_value(&typed).map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::duplicate_fields;

    #[test]
    fn repeated_keys_are_found_with_their_paths() {
        let body =
            br#"{"kind":"ConfigMap","data":{"a":"1","b":"2","a":"3"},"items":[{"x":1,"x":2}]}"#;
        assert_eq!(duplicate_fields(body), ["data.a", "items[0].x"]);
        assert!(duplicate_fields(br#"{"a":{"a":1}}"#).is_empty());
    }
}
