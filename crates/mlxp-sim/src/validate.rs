//! Object validation for the embedded API server: names, labels and
//! annotations, and strict field validation (unknown fields) for built-in
//! kinds and for custom resources against their CRD schema.
//!
//! Messages follow the real apiserver's wording so clients and users see
//! what a real cluster would tell them. All input is untrusted: nothing here
//! panics, and every recursion is bounded by [`MAX_DEPTH`].

use serde_json::{Map, Value};

use mlxp_core::domain::names::{
    dns1123_label_errors, dns1123_subdomain_errors, label_value_errors, qualified_name_errors,
    quote, value_for_message as shown,
};

/// Deepest JSON nesting that the field walkers descend into. It equals
/// serde_json's own parse limit, so every document serde_json accepts is
/// checked in full (CRD objects legitimately nest 40+ levels), while a value
/// built some other way cannot overflow the stack.
pub const MAX_DEPTH: usize = 128;

/// Total bytes of annotation keys plus values (`TotalAnnotationSizeLimitB`).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// DNS-1123 subdomain (≤253, lowercase alphanumerics, '-', '.', start/end alphanumeric) — most object names.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    dns1123_subdomain_errors(s).is_empty()
}

/// DNS-1123 label (≤63, lowercase alphanumerics and '-', start/end alphanumeric) — namespaces, services.
pub fn is_dns1123_label(s: &str) -> bool {
    dns1123_label_errors(s).is_empty()
}

/// The apiserver's message for a bad DNS-style name (several problems are
/// joined with "; "), or `None` if the name is valid. An empty name gets the
/// syntax message; the apiserver's own wording for that case is
/// `metadata.name: Required value: name or generateName is required`.
pub fn name_error(name: &str, label_only: bool) -> Option<String> {
    let errs = if label_only {
        dns1123_label_errors(name)
    } else {
        dns1123_subdomain_errors(name)
    };
    if errs.is_empty() {
        None
    } else {
        Some(errs.join("; "))
    }
}

/// Validates `metadata.labels` and `metadata.annotations`. Each error is
/// `(field path, body)` where body reads like the apiserver's, e.g.
/// `("metadata.labels", "Invalid value: \"-a\": name part must consist of ...")`,
/// so `format!("{path}: {body}")` gives the full Kubernetes message.
pub fn metadata_errors(metadata: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let meta = match metadata {
        Value::Null => return out,
        Value::Object(m) => m,
        other => {
            out.push((
                "metadata".to_string(),
                format!("Invalid value: {}: must be an object", shown(other)),
            ));
            return out;
        }
    };

    const LABELS: &str = "metadata.labels";
    if let Some(labels) = string_map(meta, "labels", LABELS, &mut out) {
        for (k, v) in labels {
            for msg in qualified_name_errors(k) {
                out.push((
                    LABELS.to_string(),
                    format!("Invalid value: {}: {msg}", quote(k)),
                ));
            }
            for msg in label_value_errors(v) {
                out.push((
                    LABELS.to_string(),
                    format!("Invalid value: {}: {msg}", quote(v)),
                ));
            }
        }
    }

    const ANNOTATIONS: &str = "metadata.annotations";
    if let Some(annotations) = string_map(meta, "annotations", ANNOTATIONS, &mut out) {
        let mut total = 0usize;
        for (k, v) in &annotations {
            // Annotation keys are qualified names except that case does not matter.
            for msg in qualified_name_errors(&k.to_lowercase()) {
                out.push((
                    ANNOTATIONS.to_string(),
                    format!("Invalid value: {}: {msg}", quote(k)),
                ));
            }
            total = total.saturating_add(k.len()).saturating_add(v.len());
        }
        if total > TOTAL_ANNOTATION_SIZE_LIMIT {
            out.push((
                ANNOTATIONS.to_string(),
                format!("Too long: must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"),
            ));
        }
    }
    out
}

/// Reads `meta[key]` as a string→string map, sorted by key for stable output.
/// Like Go's decoder, a null value reads as "". Shape errors are reported and
/// yield `None` (or skip the offending entry).
fn string_map<'v>(
    meta: &'v Map<String, Value>,
    key: &str,
    path: &str,
    out: &mut Vec<(String, String)>,
) -> Option<Vec<(&'v str, &'v str)>> {
    match meta.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => {
            let mut entries = Vec::with_capacity(m.len());
            for (k, v) in m {
                match v {
                    Value::String(s) => entries.push((k.as_str(), s.as_str())),
                    Value::Null => entries.push((k.as_str(), "")),
                    other => out.push((
                        path.to_string(),
                        format!("Invalid value: {}: values must be strings", shown(other)),
                    )),
                }
            }
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            Some(entries)
        }
        Some(other) => {
            out.push((
                path.to_string(),
                format!("Invalid value: {}: must be a map of strings", shown(other)),
            ));
            None
        }
    }
}

/// Strict field validation for built-in kinds: the paths of fields present in
/// `input` but absent from `roundtrip` (the input after a typed decode and
/// re-encode), formatted like the apiserver's `unknown field "..."` errors,
/// e.g. `spec.template.spec.containers[0].imagee`. Null, `{}` and `[]` inputs
/// are not reported (typed encoders drop them); an unknown field is reported
/// once, at its highest level. Nesting below [`MAX_DEPTH`] is not examined.
pub fn unknown_fields(input: &Value, roundtrip: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_fields(input, roundtrip, &mut String::new(), 0, &mut out);
    out
}

fn diff_fields(
    input: &Value,
    roundtrip: &Value,
    path: &mut String,
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth >= MAX_DEPTH {
        return;
    }
    match (input, roundtrip) {
        (Value::Object(i), Value::Object(r)) => {
            for (k, v) in i {
                let len = path.len();
                push_key(path, k);
                match r.get(k) {
                    Some(rv) => diff_fields(v, rv, path, depth + 1, out),
                    None if is_empty_like(v) => {}
                    None => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(i), Value::Array(r)) => {
            for (idx, (v, rv)) in i.iter().zip(r).enumerate() {
                let len = path.len();
                push_index(path, idx);
                diff_fields(v, rv, path, depth + 1, out);
                path.truncate(len);
            }
        }
        // Scalars, or a shape the typed struct changed (e.g. IntOrString):
        // nothing to compare field by field.
        _ => {}
    }
}

fn is_empty_like(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn push_index(path: &mut String, idx: usize) {
    path.push('[');
    path.push_str(&idx.to_string());
    path.push(']');
}

/// Strict validation of a custom resource against its CRD's structural
/// `openAPIV3Schema`. Returns `(unknown, invalid)`:
/// - `unknown`: paths (like [`unknown_fields`]) of keys that the schema prunes:
///   keys of an object whose schema is an object schema (`type: object` or
///   `properties`) without `additionalProperties` or
///   `x-kubernetes-preserve-unknown-fields: true`. `apiVersion`, `kind` and
///   `metadata` are allowed at the root and in `x-kubernetes-embedded-resource`
///   objects.
/// - `invalid`: full apiserver-style messages for `type` (string, integer,
///   number, boolean, object, array; `x-kubernetes-int-or-string`), `enum`,
///   `minimum`/`maximum` (with `exclusiveMinimum`/`exclusiveMaximum`),
///   `minLength`/`maxLength`, `minItems`/`maxItems` and `required`, e.g.
///   `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
///
/// Null values are skipped, as the apiserver prunes them before validating.
/// Not checked: `pattern`, `format`, `uniqueItems`, `allOf`/`anyOf`/`oneOf`/`not`,
/// `x-kubernetes-validations` (CEL), list/map type constraints, `metadata`.
pub fn schema_errors(input: &Value, schema: &Value) -> (Vec<String>, Vec<String>) {
    let mut walk = SchemaWalk::default();
    if let (Value::Object(obj), Value::Object(s)) = (input, schema) {
        // The root is an object whatever the schema says; check its fields.
        walk.object(obj, s, &mut String::new(), 0, true);
    } else {
        walk.check(input, schema, &mut String::new(), 0);
    }
    (walk.unknown, walk.invalid)
}

#[derive(Default)]
struct SchemaWalk {
    unknown: Vec<String>,
    invalid: Vec<String>,
    too_deep: bool,
}

impl SchemaWalk {
    fn check(&mut self, v: &Value, schema: &Value, path: &mut String, depth: usize) {
        let Value::Object(s) = schema else { return };
        if v.is_null() {
            return;
        }
        if depth >= MAX_DEPTH {
            // Reported once, however many subtrees are cut off.
            if !self.too_deep {
                self.too_deep = true;
                self.invalid.push(format!(
                    "{}: Forbidden: nesting exceeds the maximum depth of {MAX_DEPTH}",
                    at(path)
                ));
            }
            return;
        }
        let p = at(path).to_string();

        if flag(s, "x-kubernetes-int-or-string") {
            if !(is_integer(v) || v.is_string()) {
                self.type_error(&p, "integer or string", v);
                return;
            }
        } else if let Some(Value::String(t)) = s.get("type")
            && !type_matches(t, v)
        {
            self.type_error(&p, t, v);
            return;
        }

        if let Some(Value::Array(allowed)) = s.get("enum")
            && !allowed.iter().any(|a| json_eq(a, v))
        {
            let supported: Vec<String> = allowed.iter().map(shown).collect();
            self.invalid.push(format!(
                "{p}: Unsupported value: {}: supported values: {}",
                shown(v),
                supported.join(", ")
            ));
        }

        match v {
            Value::Number(n) => self.bounds(&p, n, s),
            Value::String(text) => {
                let chars = text.chars().count();
                if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                    && (chars as u64) < min
                {
                    self.invalid.push(format!(
                        "{p}: Invalid value: {}: {p} in body should be at least {min} chars long",
                        quote(text)
                    ));
                }
                if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                    && (chars as u64) > max
                {
                    self.invalid
                        .push(format!("{p}: Too long: may not be longer than {max}"));
                }
            }
            Value::Array(items) => {
                if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    self.invalid.push(format!(
                        "{p}: Invalid value: {}: {p} in body should have at least {min} items",
                        items.len()
                    ));
                }
                if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                    && (items.len() as u64) > max
                {
                    self.invalid.push(format!(
                        "{p}: Too many: {}: must have at most {max} items",
                        items.len()
                    ));
                }
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        let len = path.len();
                        push_index(path, i);
                        self.check(item, item_schema, path, depth + 1);
                        path.truncate(len);
                    }
                }
            }
            Value::Object(obj) => self.object(obj, s, path, depth, false),
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn object(
        &mut self,
        obj: &Map<String, Value>,
        s: &Map<String, Value>,
        path: &mut String,
        depth: usize,
        root: bool,
    ) {
        let properties = s.get("properties").and_then(Value::as_object);
        let additional = s.get("additionalProperties");
        let additional_schema = additional.filter(|a| a.is_object());
        let open = flag(s, "x-kubernetes-preserve-unknown-fields")
            || matches!(additional, Some(Value::Bool(true)));
        // Structural schemas prune every field an object schema does not
        // declare, including all fields of a `type: object` without properties.
        let closed = !open
            && additional_schema.is_none()
            && (properties.is_some() || s.get("type").and_then(Value::as_str) == Some("object"));
        let embedded = root || flag(s, "x-kubernetes-embedded-resource");

        for (k, v) in obj {
            if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            let len = path.len();
            push_key(path, k);
            if let Some(prop) = properties.and_then(|ps| ps.get(k)) {
                self.check(v, prop, path, depth + 1);
            } else if let Some(ap) = additional_schema {
                self.check(v, ap, path, depth + 1);
            } else if closed {
                self.unknown.push(path.clone());
            }
            path.truncate(len);
        }

        if let Some(Value::Array(required)) = s.get("required") {
            for r in required.iter().filter_map(Value::as_str) {
                if obj.get(r).is_none_or(Value::is_null) {
                    let len = path.len();
                    push_key(path, r);
                    self.invalid.push(format!("{path}: Required value"));
                    path.truncate(len);
                }
            }
        }
    }

    fn bounds(&mut self, p: &str, n: &serde_json::Number, s: &Map<String, Value>) {
        let Some(x) = n.as_f64() else { return };
        if let Some(Value::Number(min)) = s.get("minimum")
            && let Some(m) = min.as_f64()
        {
            let exclusive = flag(s, "exclusiveMinimum");
            if (exclusive && x <= m) || (!exclusive && x < m) {
                let rel = if exclusive {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                self.invalid.push(format!(
                    "{p}: Invalid value: {n}: {p} in body should be {rel} {min}"
                ));
            }
        }
        if let Some(Value::Number(max)) = s.get("maximum")
            && let Some(m) = max.as_f64()
        {
            let exclusive = flag(s, "exclusiveMaximum");
            if (exclusive && x >= m) || (!exclusive && x > m) {
                let rel = if exclusive {
                    "less than"
                } else {
                    "less than or equal to"
                };
                self.invalid.push(format!(
                    "{p}: Invalid value: {n}: {p} in body should be {rel} {max}"
                ));
            }
        }
    }

    fn type_error(&mut self, p: &str, expected: &str, v: &Value) {
        let actual = type_name(v);
        self.invalid.push(format!(
            "{p}: Invalid value: \"{actual}\": {p} in body must be of type {expected}: \"{actual}\""
        ));
    }
}

/// The path as shown in messages; the root has none of its own.
fn at(path: &str) -> &str {
    if path.is_empty() { "<root>" } else { path }
}

fn flag(s: &Map<String, Value>, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Like the apiserver, an integral float (`1.0`) is an integer.
fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        _ => false,
    }
}

fn type_matches(expected: &str, v: &Value) -> bool {
    match expected {
        "string" => v.is_string(),
        "integer" => is_integer(v),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        // Unknown type names are a schema problem, not the object's.
        _ => true,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) if is_integer(v) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON equality where 1 and 1.0 are the same number.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    /// `{key: inner, ..rest}` by moving `inner` in (`json!` would clone it recursively).
    fn wrap(key: &str, inner: Value, rest: Value) -> Value {
        let mut m = match rest {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert(key.to_string(), inner);
        Value::Object(m)
    }

    /// Builds `{"a": {"a": ... leaf}}` `depth` objects deep without recursion.
    fn nested(depth: usize, leaf: Value) -> Value {
        let mut v = leaf;
        for _ in 0..depth {
            v = wrap("a", v, json!({}));
        }
        v
    }

    /// Drops a very deep value iteratively (serde_json's Drop recurses).
    fn drop_deep(v: Value) {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(m) => stack.extend(m.into_iter().map(|(_, v)| v)),
                Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
    }

    #[test]
    fn dns1123_subdomain() {
        for ok in [
            "a",
            "example.com",
            "a-b.c-d",
            "0",
            "1.2.3",
            &"a".repeat(253),
        ] {
            assert!(is_dns1123_subdomain(ok), "{ok}");
        }
        for bad in [
            "",
            "A",
            "a_b",
            "-a",
            "a-",
            ".a",
            "a.",
            "a..b",
            "a.-b",
            "é",
            &"a".repeat(254),
        ] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn dns1123_label() {
        for ok in ["a", "my-name", "123-abc", &"a".repeat(63)] {
            assert!(is_dns1123_label(ok), "{ok}");
        }
        for bad in ["", "a.b", "A", "-a", "a-", "a_b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
    }

    #[test]
    fn name_errors() {
        assert_eq!(name_error("web-1.prod", false), None);
        assert_eq!(name_error("web", true), None);
        assert_eq!(name_error("Web", false).as_deref(), Some(SUBDOMAIN_MSG));
        assert_eq!(
            name_error(&"a".repeat(254), false).as_deref(),
            Some("must be no more than 253 characters")
        );
        assert_eq!(
            name_error(&format!("{}_", "a".repeat(253)), false),
            Some(format!(
                "must be no more than 253 characters; {SUBDOMAIN_MSG}"
            ))
        );
        assert_eq!(
            name_error("a.b", true).as_deref(),
            Some("must not contain dots")
        );
        assert_eq!(
            name_error("Bad", true).as_deref(),
            Some(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            )
        );
        assert_eq!(
            name_error(&"a".repeat(64), true).as_deref(),
            Some("must be no more than 63 characters")
        );
        assert!(name_error("", false).is_some());
    }

    #[test]
    fn metadata_valid() {
        let m = json!({
            "name": "x",
            "labels": {"app": "web", "example.com/tier": "", "a.b_c-d": "V_1.x"},
            "annotations": {"Example.COM/Note": "anything at all: !@#", "plain": ""}
        });
        assert_eq!(metadata_errors(&m), vec![]);
        assert_eq!(metadata_errors(&json!(null)), vec![]);
        assert_eq!(
            metadata_errors(&json!({"labels": null, "annotations": null})),
            vec![]
        );
        // Go decodes a null map value as "".
        assert_eq!(metadata_errors(&json!({"labels": {"a": null}})), vec![]);
    }

    #[test]
    fn metadata_bad_labels() {
        let errs = metadata_errors(&json!({"labels": {"-bad": "ok", "good": "bad value"}}));
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].0, "metadata.labels");
        assert!(
            errs[0]
                .1
                .starts_with("Invalid value: \"-bad\": name part must consist of"),
            "{errs:?}"
        );
        assert_eq!(errs[1].0, "metadata.labels");
        assert!(
            errs[1]
                .1
                .starts_with("Invalid value: \"bad value\": a valid label must be an empty string"),
            "{errs:?}"
        );

        let long = "v".repeat(64);
        let errs = metadata_errors(&json!({"labels": {"k": long}}));
        assert_eq!(
            errs,
            vec![(
                "metadata.labels".to_string(),
                format!("Invalid value: \"{long}\": must be no more than 63 characters")
            )]
        );

        let errs = metadata_errors(&json!({"labels": {"k": 1}}));
        assert_eq!(
            errs,
            vec![(
                "metadata.labels".to_string(),
                "Invalid value: 1: values must be strings".to_string()
            )]
        );
        let errs = metadata_errors(&json!({"labels": ["a"]}));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "metadata.labels");
        let errs = metadata_errors(&json!("x"));
        assert_eq!(errs[0].0, "metadata");
    }

    #[test]
    fn metadata_bad_annotations() {
        let errs = metadata_errors(&json!({"annotations": {"has space": "v", "a/b/c": "v"}}));
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs.iter().all(|(p, _)| p == "metadata.annotations"));
        assert!(
            errs[0]
                .1
                .starts_with("Invalid value: \"a/b/c\": a qualified name"),
            "{errs:?}"
        );
        assert!(
            errs[1]
                .1
                .starts_with("Invalid value: \"has space\": name part"),
            "{errs:?}"
        );

        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let errs = metadata_errors(&json!({"annotations": {"k": big}}));
        assert_eq!(
            errs,
            vec![(
                "metadata.annotations".to_string(),
                "Too long: must have at most 262144 bytes".to_string()
            )]
        );
        let exact = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT - 1);
        assert_eq!(
            metadata_errors(&json!({"annotations": {"k": exact}})),
            vec![]
        );
    }

    #[test]
    fn unknown_fields_in_deployment() {
        let input = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "creationTimestamp": null, "labelz": {"a": "b"}},
            "spec": {
                "replicas": 0,
                "paused": false,
                "strategy": {},
                "template": {"spec": {
                    "containers": [
                        {"name": "a", "image": "x", "ports": []},
                        {"name": "b", "imagee": "y", "env": [{"name": "E", "valu": "1"}]}
                    ],
                    "nodeSelectr": {"gpu": "a100"},
                    "volumes": null
                }}
            },
            "status": {}
        });
        let roundtrip = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 0,
                "paused": false,
                "template": {"spec": {
                    "containers": [
                        {"name": "a", "image": "x"},
                        {"name": "b", "env": [{"name": "E"}]}
                    ]
                }}
            }
        });
        let mut got = unknown_fields(&input, &roundtrip);
        got.sort();
        assert_eq!(
            got,
            vec![
                "metadata.labelz",
                "spec.template.spec.containers[1].env[0].valu",
                "spec.template.spec.containers[1].imagee",
                "spec.template.spec.nodeSelectr",
            ]
        );
        assert_eq!(unknown_fields(&roundtrip, &roundtrip), Vec::<String>::new());
    }

    #[test]
    fn unknown_fields_odd_shapes() {
        // A shape the typed struct rewrote (e.g. quantity) is not a field error.
        assert!(unknown_fields(&json!({"a": {"b": 1}}), &json!({"a": "1"})).is_empty());
        // Extra array elements with no round-trip counterpart are ignored.
        assert!(unknown_fields(&json!([{"x": 1}, {"y": 2}]), &json!([{"x": 1}])).is_empty());
        assert_eq!(
            unknown_fields(&json!([{"x": 1, "z": 3}]), &json!([{"x": 1}])),
            vec!["[0].z"]
        );
        assert!(unknown_fields(&json!("s"), &json!(null)).is_empty());
    }

    #[test]
    fn unknown_fields_deep_nesting_is_bounded() {
        let input = nested(5000, json!({"extra": 1}));
        let roundtrip = nested(5000, json!({}));
        assert!(unknown_fields(&input, &roundtrip).is_empty());
        drop_deep(input);
        drop_deep(roundtrip);

        // Within the limit, the deep field is found with its full path.
        let input = nested(20, json!({"extra": 1}));
        let roundtrip = nested(20, json!({}));
        let want = format!("{}extra", "a.".repeat(20));
        assert_eq!(unknown_fields(&input, &roundtrip), vec![want]);
    }

    fn crd_schema() -> Value {
        json!({
            "type": "object",
            "required": ["spec"],
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["model"],
                    "properties": {
                        "model": {"type": "string", "minLength": 1, "maxLength": 8},
                        "replicas": {"type": "integer", "minimum": 1, "maximum": 8},
                        "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1, "exclusiveMaximum": true},
                        "enabled": {"type": "boolean"},
                        "mode": {"type": "string", "enum": ["train", "serve"]},
                        "port": {"x-kubernetes-int-or-string": true},
                        "tags": {"type": "array", "maxItems": 2, "minItems": 1, "items": {"type": "string"}},
                        "workers": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"gpus": {"type": "integer"}}
                        }},
                        "env": {"type": "object", "additionalProperties": {"type": "string"}},
                        "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                                "properties": {"known": {"type": "integer"}}},
                        "opaque": {"type": "object"},
                        "anything": {"description": "no type: left alone"},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                     "properties": {"spec": {"type": "object"}}}
                    }
                },
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            }
        })
    }

    #[test]
    fn schema_valid_object() {
        let cr = json!({
            "apiVersion": "ml.example.com/v1",
            "kind": "Run",
            "metadata": {"name": "r", "anything": 1},
            "spec": {
                "model": "llama",
                "replicas": 2.0,
                "ratio": 0.5,
                "enabled": true,
                "mode": "serve",
                "port": "http",
                "tags": ["a"],
                "workers": [{"gpus": 8}, {}],
                "env": {"A": "1"},
                "raw": {"known": 1, "free": {"form": [1, 2]}},
                "anything": {"x": [1]},
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}},
                "enabledMaybe": null
            },
            "status": {"whatever": true}
        });
        let (unknown, invalid) = schema_errors(&cr, &crd_schema());
        // `enabledMaybe` is null: pruned silently in the apiserver, still unknown here
        // because strict validation reports every pruned field.
        assert_eq!(unknown, vec!["spec.enabledMaybe"]);
        assert_eq!(invalid, Vec::<String>::new());
    }

    #[test]
    fn schema_unknown_fields() {
        let cr = json!({
            "apiVersion": "ml.example.com/v1",
            "kind": "Run",
            "metadata": {"name": "r"},
            "spec": {
                "model": "m",
                "colour": "red",
                "workers": [{"gpus": 1, "gpu": 2}],
                "opaque": {"x": 1},
                "raw": {"free": 1},
                "template": {"kind": "Pod", "spac": {}}
            },
            "extra": {"deep": 1}
        });
        let (mut unknown, invalid) = schema_errors(&cr, &crd_schema());
        unknown.sort();
        assert_eq!(
            unknown,
            vec![
                "extra",
                "spec.colour",
                "spec.opaque.x",
                "spec.template.spac",
                "spec.workers[0].gpu",
            ]
        );
        assert_eq!(invalid, Vec::<String>::new());
    }

    #[test]
    fn schema_type_errors() {
        let cr = json!({
            "spec": {
                "model": 1,
                "replicas": "string",
                "ratio": "x",
                "enabled": "yes",
                "port": 1.5,
                "tags": "a",
                "workers": [{"gpus": 1.5}],
                "env": {"A": 1}
            }
        });
        let (unknown, mut invalid) = schema_errors(&cr, &crd_schema());
        invalid.sort();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(
            invalid,
            vec![
                "spec.enabled: Invalid value: \"string\": spec.enabled in body must be of type boolean: \"string\"",
                "spec.env.A: Invalid value: \"integer\": spec.env.A in body must be of type string: \"integer\"",
                "spec.model: Invalid value: \"integer\": spec.model in body must be of type string: \"integer\"",
                "spec.port: Invalid value: \"number\": spec.port in body must be of type integer or string: \"number\"",
                "spec.ratio: Invalid value: \"string\": spec.ratio in body must be of type number: \"string\"",
                "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
                "spec.tags: Invalid value: \"string\": spec.tags in body must be of type array: \"string\"",
                "spec.workers[0].gpus: Invalid value: \"number\": spec.workers[0].gpus in body must be of type integer: \"number\"",
            ]
        );

        let (_, invalid) = schema_errors(&json!({"spec": "x"}), &crd_schema());
        assert_eq!(
            invalid,
            vec![
                "spec: Invalid value: \"string\": spec in body must be of type object: \"string\""
            ]
        );
    }

    #[test]
    fn schema_value_constraints() {
        let cr = json!({
            "spec": {
                "model": "",
                "replicas": 0,
                "ratio": 1,
                "mode": "debug",
                "tags": ["a", "b", "c"]
            }
        });
        let (_, mut invalid) = schema_errors(&cr, &crd_schema());
        invalid.sort();
        assert_eq!(
            invalid,
            vec![
                "spec.mode: Unsupported value: \"debug\": supported values: \"train\", \"serve\"",
                "spec.model: Invalid value: \"\": spec.model in body should be at least 1 chars long",
                "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1",
                "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
                "spec.tags: Too many: 3: must have at most 2 items",
            ]
        );

        let cr = json!({"spec": {"model": "123456789", "replicas": 9, "ratio": 0, "tags": []}});
        let (_, mut invalid) = schema_errors(&cr, &crd_schema());
        invalid.sort();
        assert_eq!(
            invalid,
            vec![
                "spec.model: Too long: may not be longer than 8",
                "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
                "spec.replicas: Invalid value: 9: spec.replicas in body should be less than or equal to 8",
                "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
            ]
        );

        // Numeric enums compare by value.
        let schema =
            json!({"type": "object", "properties": {"n": {"type": "number", "enum": [1, 2.5]}}});
        assert!(schema_errors(&json!({"n": 1.0}), &schema).1.is_empty());
        assert_eq!(
            schema_errors(&json!({"n": 3}), &schema).1,
            vec!["n: Unsupported value: 3: supported values: 1, 2.5"]
        );
    }

    #[test]
    fn schema_required() {
        let (_, invalid) = schema_errors(&json!({"apiVersion": "v", "kind": "K"}), &crd_schema());
        assert_eq!(invalid, vec!["spec: Required value"]);
        let (_, invalid) = schema_errors(&json!({"spec": {"model": null}}), &crd_schema());
        assert_eq!(invalid, vec!["spec.model: Required value"]);
    }

    #[test]
    fn schema_open_and_odd_schemas() {
        // Maps with a value schema, and additionalProperties: true.
        let schema = json!({"type": "object", "properties": {
            "m": {"type": "object", "additionalProperties": {"type": "object", "properties": {"x": {"type": "integer"}}}},
            "t": {"type": "object", "additionalProperties": true}
        }});
        let (unknown, invalid) = schema_errors(
            &json!({"m": {"k1": {"x": 1}, "k2": {"y": 1}}, "t": {"a": 1}}),
            &schema,
        );
        assert_eq!(unknown, vec!["m.k2.y"]);
        assert!(invalid.is_empty());

        // Missing or non-object schemas check nothing.
        assert_eq!(
            schema_errors(&json!({"a": 1}), &json!(null)),
            (vec![], vec![])
        );
        assert_eq!(
            schema_errors(&json!({"a": 1}), &json!({})),
            (vec![], vec![])
        );
        // Non-object input against an object schema is a type error at the root.
        assert_eq!(
            schema_errors(&json!([1]), &json!({"type": "object"})).1,
            vec![
                "<root>: Invalid value: \"array\": <root> in body must be of type object: \"array\""
            ]
        );
    }

    #[test]
    fn schema_deep_nesting_is_bounded() {
        let depth = 5000;
        let input = nested(depth, json!({"extra": 1}));
        let mut schema = json!({"type": "object"});
        for _ in 0..depth {
            let properties = wrap("a", schema, json!({}));
            schema = wrap("properties", properties, json!({"type": "object"}));
        }
        let (unknown, invalid) = schema_errors(&input, &schema);
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(invalid.len(), 1, "{invalid:?}");
        assert!(invalid[0].ends_with("Forbidden: nesting exceeds the maximum depth of 128"));
        assert!(invalid[0].starts_with("a.a.a."));
        drop_deep(input);
        drop_deep(schema);
    }
}
