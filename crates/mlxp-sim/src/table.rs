//! Server-side `meta.k8s.io/v1` `Table` rendering, as kube-apiserver does it when a client
//! sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (what `kubectl get` asks for).
//!
//! The built-in printers mirror `pkg/printers/internalversion/printers.go`; custom resources
//! follow the apiextensions-apiserver `tableconvertor`; everything else gets the generic
//! `Name` / `Created At` table of `rest.NewDefaultTableConvertor`. Like the real server, every
//! column (including `priority: 1` ones) is always filled in: kubectl hides the wide columns
//! itself unless `-o wide` is given.
//!
//! Objects come straight from users, so every field may be missing or have the wrong type;
//! nothing here panics, missing values simply render as the real printers render zero values.

mod builtin;
mod cluster;
mod jsonpath;
mod pod;
mod workloads;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Map, Value, json};

/// Printer column of a CRD (`additionalPrinterColumns`): name, type, format, description, priority, jsonPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

impl PrinterColumn {
    /// Parses one entry of a CRD version's `additionalPrinterColumns`.
    /// `name` and `jsonPath` are required; a missing `type` counts as `string`.
    pub fn from_crd(v: &Value) -> Option<Self> {
        let text = |key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default();
        let name = v.get("name")?.as_str()?.to_string();
        let json_path = v.get("jsonPath")?.as_str()?.to_string();
        let type_ = match text("type") {
            "" => "string",
            t => t,
        };
        Some(Self {
            name,
            type_: type_.to_string(),
            format: text("format").to_string(),
            description: text("description").to_string(),
            priority: v.get("priority").and_then(Value::as_i64).unwrap_or(0),
            json_path,
        })
    }
}

/// Which table convertor renders a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printer {
    Pod,
    Node,
    Job,
    CronJob,
    Deployment,
    ReplicaSet,
    Event,
    Namespace,
    Service,
    Hpa,
    /// A custom resource; the CRD version's `additionalPrinterColumns` (possibly empty).
    Custom(Vec<PrinterColumn>),
    /// Any kind without a dedicated printer.
    Default,
}

/// `ObjectMeta` swagger doc of `name`, used by every `Name` column.
const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
/// `ObjectMeta` swagger doc of `creationTimestamp`, used by every `Age` column.
const AGE_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The full Table object:
/// `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{..},"columnDefinitions":[..],"rows":[..]}`.
///
/// `list_meta` (`resourceVersion`, `continue`, ...) is copied into `metadata`; anything but an
/// object counts as `{}`. Each row is `{"cells":[..],"object":..}` where the object is
/// `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":<the object's metadata>}`
/// (kubectl needs it for `-A`'s NAMESPACE column and `-L` label columns); finished pods' rows
/// also carry the `Completed` row condition. For a watch event, pass the one object.
/// `now` is injected (no clock reads inside).
pub fn table(printer: &Printer, objects: &[Value], list_meta: Value, now: DateTime<Utc>) -> Value {
    let column_definitions = column_definitions(printer);
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array(cells(printer, obj, now)));
            if let Printer::Pod = printer
                && let Some(conditions) = pod::pod_row_conditions(obj)
            {
                row.insert("conditions".into(), conditions);
            }
            row.insert("object".into(), partial_object_metadata(obj));
            Value::Object(row)
        })
        .collect();
    let metadata = match list_meta {
        Value::Object(meta) => Value::Object(meta),
        _ => json!({}),
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

/// Human duration as kube-apiserver prints it (k8s.io/apimachinery `duration.HumanDuration`:
/// "5s", "3m12s", "5m", "2d3h", "400d", "2y70d", "9y" ...); `<unknown>` for a missing or
/// unparseable timestamp, `<invalid>` for one more than a second in the future.
pub fn human_age(created: Option<&str>, now: DateTime<Utc>) -> String {
    match created.and_then(parse_time) {
        Some(t) => human_duration(now.signed_duration_since(t)),
        None => "<unknown>".to_string(),
    }
}

/// `duration.HumanDuration` from k8s.io/apimachinery, branch for branch.
fn human_duration(d: TimeDelta) -> String {
    // Go durations are int64 nanoseconds; `time.Since` saturates at ~292 years.
    let d = d.clamp(
        TimeDelta::nanoseconds(i64::MIN),
        TimeDelta::nanoseconds(i64::MAX),
    );
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = d.num_minutes();
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = d.num_hours();
    let days = hours / 24;
    let years = days / 365;
    if hours < 8 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        match days % 365 {
            0 => format!("{years}y"),
            dy => format!("{years}y{dy}d"),
        }
    } else {
        format!("{years}y")
    }
}

/// Parses an RFC 3339 `metav1.Time` / `MicroTime`. Go's zero time counts as unset.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s).ok()?.to_utc();
    let go_zero = t.timestamp() == -62_135_596_800 && t.timestamp_subsec_nanos() == 0;
    (!go_zero).then_some(t)
}

fn column_definition(
    name: &str,
    type_: &str,
    format: &str,
    description: &str,
    priority: i64,
) -> Value {
    json!({"name": name, "type": type_, "format": format, "description": description, "priority": priority})
}

fn column_definitions(printer: &Printer) -> Vec<Value> {
    let name = column_definition("Name", "string", "name", NAME_DOC, 0);
    match printer {
        Printer::Custom(columns) => {
            let columns = custom_columns(columns);
            let custom = columns.iter().map(|c| {
                let description = match c.description.as_str() {
                    "" => format!(
                        "Custom resource definition column (in JSONPath format): {}",
                        c.json_path
                    ),
                    d => d.to_string(),
                };
                column_definition(&c.name, &c.type_, &c.format, &description, c.priority)
            });
            std::iter::once(name).chain(custom).collect()
        }
        Printer::Default => vec![
            name,
            column_definition("Created At", "date", "", AGE_DOC, 0),
        ],
        builtin => builtin::columns(builtin)
            .iter()
            .map(|&(name, type_, priority, description)| match name {
                "Name" => column_definition(name, type_, "name", NAME_DOC, priority),
                "Age" => column_definition(name, type_, "", AGE_DOC, priority),
                _ => column_definition(name, type_, "", description, priority),
            })
            .collect(),
    }
}

fn cells(printer: &Printer, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    match printer {
        Printer::Custom(columns) => {
            let custom = custom_columns(columns)
                .iter()
                .map(|c| custom_cell(c, obj, now))
                .collect::<Vec<_>>();
            std::iter::once(name(obj)).chain(custom).collect()
        }
        // `creationTimestamp.UTC().Format(time.RFC3339)`; Go's zero time when unset.
        Printer::Default => {
            let created = time_at(obj, &["metadata", "creationTimestamp"])
                .map_or("0001-01-01T00:00:00Z".into(), |t| {
                    t.to_rfc3339_opts(SecondsFormat::Secs, true)
                });
            vec![name(obj), created.into()]
        }
        builtin => builtin::cells(builtin, obj, now),
    }
}

/// A CRD version without printer columns is served with a single `Age` column
/// (`serveDefaultColumnsIfEmpty`); `Name` is always prepended by the convertor.
fn custom_columns(columns: &[PrinterColumn]) -> std::borrow::Cow<'_, [PrinterColumn]> {
    if !columns.is_empty() {
        return columns.into();
    }
    vec![PrinterColumn {
        name: "Age".into(),
        type_: "date".into(),
        format: String::new(),
        description: AGE_DOC.into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    }]
    .into()
}

/// `cellForJSONValue` of the CRD table convertor: a missing value or a type mismatch is `null`.
fn custom_cell(column: &PrinterColumn, obj: &Value, now: DateTime<Utc>) -> Value {
    let Some(value) = jsonpath::first(obj, &column.json_path) else {
        return Value::Null;
    };
    match (column.type_.as_str(), value) {
        (_, Value::Null) => Value::Null,
        ("string", v) => Value::from(jsonpath::go_text(v)),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        ("number", Value::Number(n)) => Value::Number(n.clone()),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(_) => Value::from(human_age(Some(s), now)),
            Err(_) => Value::from("<invalid>"),
        },
        _ => Value::Null,
    }
}

fn partial_object_metadata(obj: &Value) -> Value {
    let metadata = match obj.get("metadata") {
        Some(m @ Value::Object(_)) => m.clone(),
        _ => json!({}),
    };
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
}

// ---- lenient JSON accessors shared with the built-in printers ----

static NULL: Value = Value::Null;

/// The value at `path`, or `null` when any step is missing or not an object.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter()
        .try_fold(v, |v, key| v.get(*key))
        .unwrap_or(&NULL)
}

/// The string at `path`, or `""` (Go's zero value).
fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).as_str().unwrap_or_default()
}

/// The integer at `path`, or `0`.
fn int(v: &Value, path: &[&str]) -> i64 {
    let v = at(v, path);
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .unwrap_or(0)
}

/// The array at `path`, or an empty slice.
fn items<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path).as_array().map_or(&[], Vec::as_slice)
}

/// The boolean at `path`, or `false`.
fn flag(v: &Value, path: &[&str]) -> bool {
    at(v, path).as_bool().unwrap_or(false)
}

/// The timestamp at `path`, if present and parseable.
fn time_at(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    at(v, path).as_str().and_then(parse_time)
}

/// `translateTimestampSince`: age of the timestamp at `path`, `<unknown>` when unset.
fn since(v: &Value, path: &[&str], now: DateTime<Utc>) -> String {
    human_age(at(v, path).as_str(), now)
}

/// `metadata.name` as a cell.
fn name(obj: &Value) -> Value {
    text(obj, &["metadata", "name"]).into()
}

/// `translateTimestampSince(metadata.creationTimestamp)` as a cell.
fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    since(obj, &["metadata", "creationTimestamp"], now).into()
}

/// An empty string shown as `<none>`.
fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.into()
    }
}

/// Fixtures shared by the printers' tests.
#[cfg(test)]
mod test_support {
    use super::{Printer, table};
    use chrono::{DateTime, Utc};
    use serde_json::{Value, json};

    pub(super) fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    pub(super) fn ago(secs: i64) -> String {
        (now() - chrono::TimeDelta::seconds(secs)).to_rfc3339()
    }

    /// Renders a row's cells like a kubectl line: `a | b | 3`.
    pub(super) fn line(cells: &Value) -> String {
        let cells = cells.as_array().unwrap().iter();
        let text = cells.map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string));
        text.collect::<Vec<_>>().join(" | ")
    }

    /// The single row for `obj`, checked to be as wide as the column definitions.
    pub(super) fn row(printer: &Printer, obj: Value) -> Value {
        let t = table(printer, &[obj], json!({"resourceVersion": "1"}), now());
        let width = t["columnDefinitions"].as_array().unwrap().len();
        assert_eq!(t["rows"][0]["cells"].as_array().unwrap().len(), width);
        t["rows"][0].clone()
    }

    pub(super) fn cells(printer: &Printer, obj: Value) -> String {
        line(&row(printer, obj)["cells"])
    }

    /// Column names, with a `*` on the wide-only (priority 1) ones.
    pub(super) fn header(printer: &Printer) -> String {
        let t = table(printer, &[], json!({}), now());
        let defs = t["columnDefinitions"].as_array().unwrap().iter();
        let names = defs.map(|d| {
            let wide = if d["priority"] == 1 { "*" } else { "" };
            format!("{}{wide}", d["name"].as_str().unwrap())
        });
        names.collect::<Vec<_>>().join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{ago, cells, header, line, now};
    use super::*;

    #[test]
    fn human_age_matches_apimachinery() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (192, "3m12s"),
            (300, "5m"),
            (90 * 60, "90m"),
            (3 * 3600 + 25 * 60, "3h25m"),
            (5 * 3600, "5h"),
            (30 * 3600, "30h"),
            (51 * 3600, "2d3h"),
            (3 * 86400, "3d"),
            (400 * 86400, "400d"),
            (800 * 86400, "2y70d"),
            (4 * 365 * 86400, "4y"),
            (10 * 365 * 86400, "10y"),
            (-1, "0s"),
            (-5, "<invalid>"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_age(Some(&ago(secs)), now()), want, "{secs}s");
        }
        assert_eq!(human_age(None, now()), "<unknown>");
        assert_eq!(human_age(Some("yesterday"), now()), "<unknown>");
        assert_eq!(human_age(Some("0001-01-01T00:00:00Z"), now()), "<unknown>");
    }

    #[test]
    fn printer_column_from_crd() {
        let col = PrinterColumn::from_crd(&json!({
            "name": "Ready", "type": "string", "jsonPath": ".status.ready", "priority": 1, "description": "is it"
        }))
        .unwrap();
        assert_eq!(
            (col.name.as_str(), col.type_.as_str(), col.priority),
            ("Ready", "string", 1)
        );
        assert_eq!(
            (col.json_path.as_str(), col.description.as_str()),
            (".status.ready", "is it")
        );
        assert!(PrinterColumn::from_crd(&json!({"name": "x"})).is_none());
        assert!(PrinterColumn::from_crd(&json!({"name": 3, "jsonPath": ".a"})).is_none());
        assert!(PrinterColumn::from_crd(&json!("nope")).is_none());
    }

    fn crd_columns() -> Vec<PrinterColumn> {
        [
            json!({"name": "Phase", "type": "string", "jsonPath": ".status.phase"}),
            json!({"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicaSpecs.Worker.replicas"}),
            json!({"name": "GPU", "type": "string", "jsonPath": ".spec.resources['nvidia.com/gpu']", "priority": 1}),
            json!({"name": "Image", "type": "string", "jsonPath": ".spec.containers[0].image"}),
            json!({"name": "State", "type": "string", "jsonPath": ".status.conditions[-1:].type"}),
            json!({"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}),
            json!({"name": "Suspended", "type": "boolean", "jsonPath": ".spec.suspend"}),
            json!({"name": "Started", "type": "date", "jsonPath": ".status.startTime"}),
            json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}),
        ]
        .iter()
        .filter_map(PrinterColumn::from_crd)
        .collect()
    }

    #[test]
    fn custom_printer_columns_and_cells() {
        let obj = json!({
            "apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": "train", "namespace": "ml", "creationTimestamp": ago(7200)},
            "spec": {
                "replicaSpecs": {"Worker": {"replicas": 4}},
                "resources": {"nvidia.com/gpu": 8},
                "containers": [{"image": "pytorch:2.3"}, {"image": "sidecar"}],
                "suspend": false
            },
            "status": {
                "phase": "Running", "startTime": ago(192),
                "conditions": [{"type": "Created", "status": "True"}, {"type": "Ready", "status": "False"}]
            }
        });
        let printer = Printer::Custom(crd_columns());
        let want =
            "Name | Phase | Replicas | GPU* | Image | State | Ready | Suspended | Started | Age";
        assert_eq!(header(&printer), want);
        let t = table(&printer, &[obj], json!({"resourceVersion": "42"}), now());
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(t["columnDefinitions"][2]["type"], "integer");
        assert_eq!(t["columnDefinitions"][8]["type"], "date");
        let cells = &t["rows"][0]["cells"];
        assert_eq!(
            line(cells),
            "train | Running | 4 | 8 | pytorch:2.3 | Ready | False | false | 3m12s | 120m"
        );
        assert_eq!(
            (&cells[2], &cells[3], &cells[7]),
            (&json!(4), &json!("8"), &json!(false))
        );
        assert_eq!(t["metadata"], json!({"resourceVersion": "42"}));
    }

    #[test]
    fn custom_printer_type_mismatches_and_missing_fields_are_null() {
        let obj = json!({"metadata": {"name": "x"}, "spec": {"replicaSpecs": "oops", "suspend": "yes"},
                         "status": {"startTime": "not a date", "conditions": []}});
        let t = table(&Printer::Custom(crd_columns()), &[obj], json!(null), now());
        let want = "x | null | null | null | null | null | null | null | <invalid> | null";
        assert_eq!(line(&t["rows"][0]["cells"]), want);
        assert_eq!(t["metadata"], json!({}));
    }

    #[test]
    fn custom_printer_without_columns_gets_age() {
        let obj = json!({"metadata": {"name": "a", "creationTimestamp": ago(45)}});
        let t = table(&Printer::Custom(vec![]), &[], json!({}), now());
        assert_eq!(header(&Printer::Custom(vec![])), "Name | Age");
        assert_eq!(t["columnDefinitions"][1]["type"], "date");
        assert_eq!(cells(&Printer::Custom(vec![]), obj), "a | 45s");
    }

    #[test]
    fn default_printer_is_name_and_created_at() {
        let objs = [
            json!({"metadata": {"name": "cm", "namespace": "ns", "creationTimestamp": "2025-05-01T10:20:30.5+02:00"}}),
            json!({"kind": "ConfigMap"}),
        ];
        let t = table(
            &Printer::Default,
            &objs,
            json!({"resourceVersion": "7", "continue": "abc"}),
            now(),
        );
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"]["continue"], "abc");
        assert_eq!(header(&Printer::Default), "Name | Created At");
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(t["columnDefinitions"][1]["type"], "date");
        assert_eq!(t["rows"][0]["cells"], json!(["cm", "2025-05-01T08:20:30Z"]));
        assert_eq!(t["rows"][1]["cells"], json!(["", "0001-01-01T00:00:00Z"]));
    }

    #[test]
    fn rows_carry_partial_object_metadata() {
        let meta = json!({"name": "p", "namespace": "team-a", "labels": {"app": "web"}});
        let objs = [
            json!({"kind": "Pod", "metadata": meta, "spec": {}}),
            json!(42),
        ];
        for printer in [Printer::Pod, Printer::Default, Printer::Custom(vec![])] {
            let t = table(&printer, &objs, json!({}), now());
            let object = &t["rows"][0]["object"];
            assert_eq!(object["kind"], "PartialObjectMetadata");
            assert_eq!(object["apiVersion"], "meta.k8s.io/v1");
            assert_eq!(object["metadata"], meta);
            assert!(object.get("spec").is_none());
            assert_eq!(t["rows"][1]["object"]["metadata"], json!({}));
        }
    }

    #[test]
    fn every_printer_survives_garbage() {
        let printers = [
            Printer::Pod,
            Printer::Node,
            Printer::Job,
            Printer::CronJob,
            Printer::Deployment,
            Printer::ReplicaSet,
            Printer::Event,
            Printer::Namespace,
            Printer::Service,
            Printer::Hpa,
            Printer::Custom(crd_columns()),
            Printer::Default,
        ];
        let garbage = [
            json!(null),
            json!({}),
            json!([1, 2]),
            json!({"metadata": 5, "spec": "x", "status": [1]}),
            json!({"metadata": {"name": 7, "labels": "l", "deletionTimestamp": 1},
                   "spec": {"containers": "c", "ports": [1, {"port": "x"}], "metrics": [{"type": 3}, null],
                            "selector": {"matchExpressions": [{"key": "k", "operator": "Bogus"}]}},
                   "status": {"containerStatuses": [null, {"state": 1}], "conditions": {"a": 1},
                              "initContainerStatuses": [{"state": {"terminated": {"exitCode": "1"}}}]}}),
        ];
        for printer in &printers {
            let t = table(printer, &garbage, json!("nope"), now());
            let width = t["columnDefinitions"].as_array().unwrap().len();
            for row in t["rows"].as_array().unwrap() {
                assert_eq!(row["cells"].as_array().unwrap().len(), width, "{printer:?}");
            }
        }
    }
}
