//! What the properties generate: methods, paths, queries, manifests broken one part at a
//! time, patches, malformed bodies, selectors, printer columns.

use hyper::Method;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Namespace the body properties write into; re-created before each case if a case (or a
/// concurrently running property) deleted it.
pub const NS: &str = "fuzz";

pub fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => Just(Method::GET),
        2 => Just(Method::POST),
        2 => Just(Method::PUT),
        2 => Just(Method::PATCH),
        2 => Just(Method::DELETE),
        1 => Just(Method::HEAD),
        1 => Just(Method::OPTIONS),
        1 => Just(Method::from_bytes(b"PROPFIND").expect("valid method")),
        1 => Just(Method::from_bytes(b"BREW").expect("valid method")),
    ]
}

pub const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/json; charset=utf-8",
    "application/vnd.kubernetes.protobuf",
    "text/plain",
    "application/x-nonsense",
    "multipart/form-data; boundary=xyz",
    "",
];

pub fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        1 => Just(None),
        8 => proptest::sample::select(CONTENT_TYPES).prop_map(Some),
    ]
}

pub fn accept() -> impl Strategy<Value = Option<&'static str>> {
    proptest::sample::select(
        &[
            None,
            Some("application/json"),
            Some("application/json;as=Table;v=v1;g=meta.k8s.io"),
            Some("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"),
            Some("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"),
            Some("text/html"),
        ][..],
    )
}

/// Percent-encodes everything outside the unreserved set, so any text fits in a path.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub const REAL_SEGMENTS: &[&str] = &[
    "api",
    "apis",
    "v1",
    "v2",
    "v1alpha1",
    "batch",
    "apps",
    "autoscaling",
    "mlxp.io",
    "apiextensions.k8s.io",
    "authorization.k8s.io",
    "coordination.k8s.io",
    "namespaces",
    "default",
    "training",
    "kube-system",
    "fuzz",
    "pods",
    "jobs",
    "cronjobs",
    "configmaps",
    "deployments",
    "nodes",
    "events",
    "services",
    "leases",
    "modelversions",
    "models",
    "customresourcedefinitions",
    "selfsubjectaccessreviews",
    "horizontalpodautoscalers",
    "watch",
    "log",
    "status",
    "scale",
    "finalize",
    "openapi",
    "v3",
    "version",
    "healthz",
    "prometheus-0",
    "train-fraud-detector-r3",
    "gke-mlxp-system-3a00-0",
    "cm-0",
    "d-0",
    "p-0",
];

pub fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(REAL_SEGMENTS).prop_map(String::from),
        2 => "[a-zA-Z0-9._~-]{1,16}",
        1 => "\\PC{1,8}".prop_map(|s| encode_segment(&s)),
        1 => proptest::sample::select(&[
            "..", ".", "%", "%%", "%2F", "%2f", "%00", "%zz", "%25", "%2e%2e", "~", "%C3%28",
            "%FF", "-", "_", "A",
        ][..]).prop_map(String::from),
        1 => (1usize..9000).prop_map(|n| "a".repeat(n)),
    ]
}

/// A path: one of the API roots, then up to six segments, with slashes doubled now and then.
pub fn path() -> impl Strategy<Value = String> {
    let root = proptest::sample::select(
        &[
            "",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/batch/v1",
            "/apis/apps/v1",
            "/apis/mlxp.io/v1alpha1",
            "/apis/apiextensions.k8s.io/v1",
            "/apis/nope/v9",
            "/api/v1/namespaces/training",
            "/apis/batch/v1/namespaces/training",
            "/openapi/v3",
            "/api/v1/watch",
            "/api/v1/namespaces/fuzz",
        ][..],
    );
    (root, vec((segment(), any::<bool>()), 0..6), any::<bool>()).prop_map(
        |(root, segments, trailing)| {
            let mut path = root.to_string();
            for (s, double) in segments {
                path.push_str(if double { "//" } else { "/" });
                path.push_str(&s);
            }
            if trailing || path.is_empty() {
                path.push('/');
            }
            path
        },
    )
}

pub fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "true",
                "false",
                "1",
                "0",
                "-1",
                "All",
                "Strict",
                "Warn",
                "Ignore",
                "Background",
                "Orphan",
                "Foreground",
                "Bogus",
                "",
                "18446744073709551616",
                "18446744073709551615",
                "9223372036854775807",
                "4294967296",
                "app=trainer",
                "app in (",
                "status.phase=Running",
                "spec.bogus=1",
                "fuzz-manager",
            ][..]
        )
        .prop_map(String::from),
        "\\PC{0,16}",
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

/// An optional query string of well-known and unknown parameters. Watches are bounded by a
/// short timeout (first, so a generated `timeoutSeconds` overrides it) so a forgotten stream
/// cannot outlive the run.
pub fn query() -> impl Strategy<Value = String> {
    let key = proptest::sample::select(
        &[
            "labelSelector",
            "fieldSelector",
            "limit",
            "continue",
            "resourceVersion",
            "watch",
            "timeoutSeconds",
            "allowWatchBookmarks",
            "sendInitialEvents",
            "dryRun",
            "fieldManager",
            "force",
            "fieldValidation",
            "propagationPolicy",
            "follow",
            "tailLines",
            "pretty",
            "zzz",
        ][..],
    );
    prop_oneof![
        3 => Just(String::new()),
        6 => vec((key, query_value()), 1..5).prop_map(|pairs| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("timeoutSeconds", "1");
            for (k, v) in &pairs {
                q.append_pair(k, v);
            }
            format!("?{}", q.finish())
        }),
        1 => proptest::sample::select(&["?", "?&&&", "?=", "?%", "?a=%zz", "?labelSelector=%"][..])
            .prop_map(String::from),
    ]
}

pub fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "apiVersion",
                "kind",
                "metadata",
                "name",
                "namespace",
                "labels",
                "annotations",
                "ownerReferences",
                "uid",
                "resourceVersion",
                "generateName",
                "spec",
                "status",
                "data",
                "containers",
                "image",
                "replicas",
                "selector",
                "template",
                "stage",
                "model",
                "version",
                "nodeName",
                "managedFields",
                "finalizers",
                "$patch",
                "$retainKeys",
            ][..]
        )
        .prop_map(String::from),
        "\\PC{0,10}",
    ]
}

/// Any JSON value, a few levels deep.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::from),
        proptest::sample::select(&["Bad_Name", "", "v1", "Pod", "Running", "a/b"][..])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(json_key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    ConfigMap,
    Pod,
    Deployment,
    Job,
    ModelVersion,
    Namespace,
    Crd,
    AccessReview,
}

/// A valid object of `kind` named `name` (in the fuzz namespace where it has one).
pub fn manifest(kind: Kind, name: &str) -> Value {
    let container = json!([{"name": "main", "image": "busybox:1.36"}]);
    match kind {
        Kind::ConfigMap => {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
        }
        Kind::Pod => {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "fuzz"}}, "spec": {"containers": container}})
        }
        Kind::Deployment => json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": container}}},
        }),
        Kind::Job => json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": container}}},
        }),
        Kind::ModelVersion => json!({
            "apiVersion": "mlxp.io/v1alpha1", "kind": "ModelVersion", "metadata": {"name": name},
            "spec": {"model": "fraud-detector", "version": "v1", "stage": "Registered"},
        }),
        Kind::Namespace => {
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        }
        Kind::Crd => json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{name}s.fuzz.example.com")},
            "spec": {"group": "fuzz.example.com", "scope": "Namespaced",
                     "names": {"kind": "Thing", "plural": format!("{name}s"), "singular": name},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
        }),
        Kind::AccessReview => json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "create", "resource": "pods", "namespace": NS}},
        }),
    }
}

/// Where a kind's objects live: the collection, and an existing object's path.
pub fn paths_of(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::ConfigMap => (
            "/api/v1/namespaces/fuzz/configmaps",
            "/api/v1/namespaces/fuzz/configmaps/cm-0",
        ),
        Kind::Pod => (
            "/api/v1/namespaces/fuzz/pods",
            "/api/v1/namespaces/fuzz/pods/p-0",
        ),
        Kind::Deployment => (
            "/apis/apps/v1/namespaces/fuzz/deployments",
            "/apis/apps/v1/namespaces/fuzz/deployments/d-0",
        ),
        Kind::Job => (
            "/apis/batch/v1/namespaces/fuzz/jobs",
            "/apis/batch/v1/namespaces/fuzz/jobs/j-0",
        ),
        Kind::ModelVersion => (
            "/apis/mlxp.io/v1alpha1/namespaces/fuzz/modelversions",
            "/apis/mlxp.io/v1alpha1/namespaces/fuzz/modelversions/mv-0",
        ),
        Kind::Namespace => ("/api/v1/namespaces", "/api/v1/namespaces/fuzz"),
        Kind::Crd => (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/modelversions.mlxp.io",
        ),
        Kind::AccessReview => (
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        ),
    }
}

pub fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => Just(Kind::ConfigMap),
        3 => Just(Kind::Pod),
        3 => Just(Kind::Deployment),
        2 => Just(Kind::Job),
        3 => Just(Kind::ModelVersion),
        1 => Just(Kind::Namespace),
        1 => Just(Kind::Crd),
        1 => Just(Kind::AccessReview),
    ]
}

pub const BAD_NAMES: &[&str] = &[
    "Bad_Name",
    "",
    "-lead",
    "trail-",
    "UPPER",
    "a..b",
    "a/b",
    "a b",
    " ",
    "ünïcödé",
    "%2F",
    "..",
    ".",
    "a\nb",
];

pub fn name() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "[a-z][a-z0-9-]{0,12}".prop_map(Value::from),
        3 => proptest::sample::select(BAD_NAMES).prop_map(Value::from),
        1 => (250usize..300).prop_map(|n| Value::from("n".repeat(n))),
        1 => json_value(),
    ]
}

/// Sets `value` at `keys` inside `object`, making objects along the way (replacing whatever
/// was there): a valid manifest with one part of it wrong.
pub fn mutate(mut object: Value, keys: &[String], value: Value) -> Value {
    let mut slot = &mut object;
    for key in keys {
        if !slot.is_object() {
            *slot = json!({});
        }
        slot = slot
            .as_object_mut()
            .expect("just made an object")
            .entry(key.clone())
            .or_insert(Value::Null);
    }
    *slot = value;
    object
}

/// `[[[...]]]`, `{"a":{"a":...}}` or a mix, `depth` deep, as text (a Value that deep would
/// be a stack hazard for the test itself).
pub fn nested_text(depth: usize, style: u8) -> String {
    let mut s = String::with_capacity(depth * 6);
    for i in 0..depth {
        let array = match style % 3 {
            0 => true,
            1 => false,
            _ => i % 2 == 0,
        };
        s.push_str(if array { "[" } else { "{\"a\":" });
    }
    s.push_str("null");
    for i in (0..depth).rev() {
        let array = match style % 3 {
            0 => true,
            1 => false,
            _ => i % 2 == 0,
        };
        s.push(if array { ']' } else { '}' });
    }
    s
}

/// Block-style YAML nested `depth` mappings deep.
pub fn nested_yaml(depth: usize) -> String {
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n");
    for i in 0..depth {
        s.push_str(&"  ".repeat(i + 1));
        s.push_str("a:\n");
    }
    s.push_str(&"  ".repeat(depth + 1));
    s.push_str("x\n");
    s
}

/// YAML whose aliases expand exponentially (a "billion laughs").
pub fn yaml_bomb(levels: usize) -> String {
    let mut s = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..=levels {
        let prev = format!("*l{}", i - 1);
        let items = vec![prev; 9].join(", ");
        s.push_str(&format!("l{i}: &l{i} [{items}]\n"));
    }
    s
}

/// The name of the fixture object of a kind (what PUT and PATCH address).
pub fn fixture_name(kind: Kind) -> &'static str {
    match kind {
        Kind::ConfigMap => "cm-0",
        Kind::Pod => "p-0",
        Kind::Deployment => "d-0",
        Kind::Job => "j-0",
        Kind::ModelVersion => "mv-0",
        Kind::Namespace => NS,
        Kind::Crd => "modelversions.mlxp.io",
        Kind::AccessReview => "review",
    }
}

/// Keys along which a manifest of `kind` is worth breaking.
pub fn field_path(kind: Kind) -> impl Strategy<Value = Vec<String>> {
    let known: &'static [&'static [&'static str]] = match kind {
        Kind::Pod => &[
            &["spec", "containers"],
            &["spec", "containers", "0"],
            &["spec", "nodeName"],
            &["spec", "restartPolicy"],
            &["status", "phase"],
            &["spec"],
        ],
        Kind::Deployment => &[
            &["spec", "replicas"],
            &["spec", "selector"],
            &["spec", "selector", "matchLabels"],
            &["spec", "template", "spec", "containers"],
            &["spec", "template", "metadata", "labels"],
        ],
        Kind::Job => &[
            &["spec", "template"],
            &["spec", "backoffLimit"],
            &["spec", "completions"],
        ],
        Kind::ModelVersion => &[
            &["spec", "stage"],
            &["spec", "model"],
            &["spec", "version"],
            &["spec", "metrics"],
            &["spec", "metrics", "accuracy"],
            &["status", "stageSince"],
            &["spec"],
        ],
        Kind::Crd => &[
            &["spec", "names"],
            &["spec", "names", "plural"],
            &["spec", "group"],
            &["spec", "versions"],
            &["spec", "scope"],
            &["spec", "versions", "0"],
        ],
        Kind::AccessReview => &[&["spec", "resourceAttributes"], &["spec"], &["status"]],
        Kind::ConfigMap | Kind::Namespace => {
            &[&["data"], &["binaryData"], &["spec"], &["immutable"]]
        }
    };
    let common: &'static [&'static [&'static str]] = &[
        &["metadata", "labels"],
        &["metadata", "annotations"],
        &["metadata", "ownerReferences"],
        &["metadata", "resourceVersion"],
        &["metadata", "namespace"],
        &["metadata", "uid"],
        &["metadata", "generateName"],
        &["metadata", "finalizers"],
        &["metadata", "managedFields"],
        &["metadata"],
        &["kind"],
        &["apiVersion"],
    ];
    prop_oneof![
        4 => proptest::sample::select(known),
        2 => proptest::sample::select(common),
    ]
    .prop_flat_map(|prefix| {
        vec(json_key(), 0..3).prop_map(move |extra| {
            prefix
                .iter()
                .map(|k| k.to_string())
                .chain(extra)
                .collect::<Vec<String>>()
        })
    })
}

/// Values that often have the right type for where they go, but not the right content.
pub fn plausible_value() -> impl Strategy<Value = Value> {
    let label_key = prop_oneof![
        proptest::sample::select(
            &[
                "app",
                "mlxp.io/model",
                "a/b/c",
                "-bad",
                "Bad Key",
                "",
                "x/",
                "/x",
                "ok.example.com/k",
            ][..]
        )
        .prop_map(String::from),
        (60usize..70).prop_map(|n| "k".repeat(n)),
        "\\PC{0,8}",
    ];
    let text = prop_oneof![
        proptest::sample::select(BAD_NAMES).prop_map(String::from),
        "[a-z0-9-]{0,10}",
        (60usize..70).prop_map(|n| "v".repeat(n)),
        "\\PC{0,10}",
    ];
    prop_oneof![
        3 => text.clone().prop_map(Value::from),
        3 => btree_map(label_key, text, 0..4).prop_map(|m| json!(m)),
        2 => (-3i64..5).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        2 => keyed_list(),
        3 => json_value(),
    ]
}

/// A list like `containers` or `env`: items keyed by name, some carrying a `$patch`.
pub fn keyed_list() -> impl Strategy<Value = Value> {
    let item = (
        proptest::sample::select(vec![
            json!("main"),
            json!("a"),
            json!("b"),
            json!(""),
            json!(1),
            Value::Null,
        ]),
        proptest::sample::select(
            &[
                None,
                Some("delete"),
                Some("replace"),
                Some("merge"),
                Some("explode"),
            ][..],
        ),
        prop_oneof![
            Just(Value::Null),
            "[a-z:0-9./]{0,12}".prop_map(Value::from),
            json_value()
        ],
    )
        .prop_map(|(name, directive, image)| {
            let mut item = json!({"name": name, "image": image});
            if let Some(d) = directive {
                item["$patch"] = json!(d);
            }
            item
        });
    vec(item, 0..4).prop_map(Value::Array)
}

/// A strategic-merge directive: `$patch`, `$retainKeys`, `$setElementOrder/…`,
/// `$deleteFromPrimitiveList/…`, with fitting or unfitting values.
pub fn directive() -> impl Strategy<Value = (String, Value)> {
    let list_field = proptest::sample::select(
        &[
            "containers",
            "finalizers",
            "env",
            "ports",
            "volumes",
            "labels",
            "nope",
            "",
        ][..],
    );
    prop_oneof![
        (
            Just("$patch".to_string()),
            prop_oneof![
                3 => proptest::sample::select(&["delete", "replace", "merge", "explode", ""][..]).prop_map(Value::from),
                1 => json_value(),
            ],
        ),
        (
            Just("$retainKeys".to_string()),
            prop_oneof![vec(json_key(), 0..4).prop_map(|k| json!(k)), json_value()],
        ),
        (
            list_field
                .clone()
                .prop_map(|f| format!("$setElementOrder/{f}")),
            prop_oneof![
                keyed_list(),
                vec("[a-z]{0,3}", 0..4).prop_map(|k| json!(k)),
                json_value(),
            ],
        ),
        (
            list_field.prop_map(|f| format!("$deleteFromPrimitiveList/{f}")),
            prop_oneof![vec("[a-z]{0,3}", 0..4).prop_map(|k| json!(k)), json_value()],
        ),
        ("\\$[a-zA-Z/]{0,12}", json_value()),
    ]
}

/// Malformed input of every sort, whatever the target.
pub fn malformed() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => vec(any::<u8>(), 0..300),
        // Deeply nested JSON (also valid YAML flow style), bare or inside a manifest.
        2 => (1usize..3000, any::<u8>(), any::<bool>()).prop_map(|(depth, style, wrapped)| {
            let nested = nested_text(depth, style);
            if wrapped {
                format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cm-0","labels":{nested}}},"data":{nested}}}"#).into_bytes()
            } else {
                nested.into_bytes()
            }
        }),
        1 => (1usize..200).prop_map(|depth| nested_yaml(depth).into_bytes()),
        1 => (1usize..12).prop_map(|levels| yaml_bomb(levels).into_bytes()),
        // YAML of the wrong kind or version, or several documents.
        2 => (
            proptest::sample::select(&["v1", "apps/v1", "batch/v1", "mlxp.io/v1alpha1", "", "v2", "[]"][..]),
            proptest::sample::select(&["Pod", "ConfigMap", "Job", "Deployment", "ModelVersion", "Bogus", "", "List", "Status", "{}"][..]),
            name(),
            any::<bool>(),
        ).prop_map(|(api_version, kind, name, multi)| {
            let name = serde_json::to_string(&name).expect("serializes");
            let doc = format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: x\n    image: y\n");
            if multi { format!("---\n{doc}---\n{doc}") } else { doc }.into_bytes()
        }),
        // Anything at all, as JSON.
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("serializes")),
    ]
}

/// `kind`'s own manifest with a bad name, wrong types, unknown fields, bad metadata.
pub fn broken_manifest(kind: Kind) -> impl Strategy<Value = Vec<u8>> {
    let base = manifest(kind, fixture_name(kind));
    let text = serde_json::to_vec(&base).expect("serializes");
    let truncated =
        any::<prop::sample::Index>().prop_map(move |cut| text[..cut.index(text.len())].to_vec());
    let broken = (
        prop_oneof![3 => Just(None), 1 => name().prop_map(Some)],
        vec((field_path(kind), plausible_value()), 0..4),
    )
        .prop_map(move |(name, changes)| {
            let mut object = base.clone();
            if let Some(name) = name {
                object = mutate(object, &["metadata".into(), "name".into()], name);
            }
            for (keys, value) in changes {
                object = mutate(object, &keys, value);
            }
            serde_json::to_vec(&object).expect("serializes")
        });
    prop_oneof![6 => broken, 1 => truncated]
}

/// A merge (or strategic merge) patch of a few fields.
/// With `directives`, strategic-merge directives are dropped in along the way.
pub fn merge_patch(kind: Kind, directives: bool) -> impl Strategy<Value = Vec<u8>> {
    let placed_directives = if directives {
        vec((field_path(kind), directive()), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (
        vec((field_path(kind), plausible_value()), 1..4),
        placed_directives,
    )
        .prop_map(|(changes, directives)| {
            let mut patch = changes.into_iter().fold(json!({}), |patch, (keys, value)| {
                mutate(patch, &keys, value)
            });
            for (mut keys, (key, value)) in directives {
                // Inside what the patch already has where possible, else wherever it lands.
                while !keys.is_empty()
                    && !patch.pointer(&pointer(&keys)).is_some_and(Value::is_object)
                {
                    keys.pop();
                }
                keys.push(key);
                patch = mutate(patch, &keys, value);
            }
            serde_json::to_vec(&patch).expect("serializes")
        })
}

/// The JSON pointer of a key path.
pub fn pointer(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A JSON patch of any operations.
pub fn json_patch() -> impl Strategy<Value = Vec<u8>> {
    let op = (
        proptest::sample::select(
            &[
                "add", "remove", "replace", "move", "copy", "test", "bogus", "",
            ][..],
        ),
        proptest::sample::select(
            &[
                "/metadata/name",
                "/metadata/labels/x",
                "/data/k",
                "/spec/containers/0/image",
                "/spec/containers/-",
                "/spec/replicas",
                "",
                "/",
                "x",
                "/a~2b",
                "/metadata/uid",
                "/kind",
                "/apiVersion",
                "/status",
                "/spec/template/spec/containers/1",
                "/spec/stage",
                "/metadata/labels",
                "/spec/containers/99",
                "/data/~1",
            ][..],
        ),
        proptest::sample::select(&["/data", "/metadata/labels", "/spec", "/nope", ""][..]),
        plausible_value(),
    );
    vec(op, 0..5).prop_map(|ops| {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}))
            .collect();
        serde_json::to_vec(&ops).expect("serializes")
    })
}

/// A body for `kind` sent as `content_type`: mostly what that content type carries, with
/// something wrong in it; sometimes anything malformed.
pub fn body(kind: Kind, content_type: Option<&str>) -> BoxedStrategy<Vec<u8>> {
    let fitting = match content_type.unwrap_or("") {
        "application/json-patch+json" => json_patch().boxed(),
        "application/merge-patch+json" => merge_patch(kind, false).boxed(),
        "application/strategic-merge-patch+json" => merge_patch(kind, true).boxed(),
        _ => broken_manifest(kind).boxed(),
    };
    prop_oneof![3 => fitting, 1 => malformed()].boxed()
}

/// A content type that mostly fits the method (patch types for PATCH), sometimes anything.
pub fn content_type_for(method: &Method) -> BoxedStrategy<Option<&'static str>> {
    let fitting: &'static [&'static str] = if *method == Method::PATCH {
        &[
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
        ]
    } else {
        &["application/json", "application/json", "application/yaml"]
    };
    prop_oneof![
        4 => proptest::sample::select(fitting).prop_map(Some),
        1 => content_type(),
    ]
    .boxed()
}

pub fn selector() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => proptest::sample::select(&[
            "app", "env", "mlxp.io/model", "batch.kubernetes.io/job-name", "a.b/c", "Bad Key",
            "metadata.name", "metadata.namespace", "spec.nodeName", "status.phase",
            "spec.restartPolicy", "spec.bogus", "involvedObject.kind", "trainer", "Running",
            "kube-dns", "prometheus-0",
        ][..]).prop_map(String::from),
        4 => proptest::sample::select(&[
            "=", "==", "!=", " in ", " notin ", "!", "(", ")", ",", " ", "in", "notin", "=!",
            "\\", "\\,", "/", ">", "<",
        ][..]).prop_map(String::from),
        2 => "[a-zA-Z0-9._-]{0,10}",
        1 => "\\PC{0,12}",
        1 => (60usize..320).prop_map(|n| "k".repeat(n)),
    ];
    vec(token, 0..10).prop_map(|tokens| tokens.concat())
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// A JSONPath as CRD printer columns have them, often odd.
pub fn json_path() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        6 => proptest::sample::select(&[
            ".spec", ".status", ".metadata.name", ".metadata.creationTimestamp", ".x", ".items",
            ".when", ".conditions", ".n", "[0]", "[-1]", "[1:3]", "[-1:]", "[:]", "[::2]", "[3:1]",
            "[-9223372036854775808]", "[9223372036854775807:]", "[-9223372036854775808:]",
            "[*]", ".*", "..", "['a.b/c']", "[\"k\"]", "[?(@.type==\"Ready\")]", "[?(@.x)]",
            "[?(@.n>1)]", "[?(@.n<=-1.5)]", "[?(@==1)]", "{", "}", "[", "]", "@", "$", "{.spec}",
            "[,]", "['", "[?(", ".", "",
        ][..]).prop_map(String::from),
        1 => "\\PC{0,6}",
    ];
    let meaningful = proptest::sample::select(
        &[
            ".spec.x",
            ".spec.n",
            ".spec.when",
            ".spec.items",
            ".spec.items[0]",
            ".spec.items[-1]",
            ".spec.items[1:3]",
            ".spec.items[-2:]",
            ".spec.items[*]",
            ".spec.*",
            ".spec['x']",
            ".spec.items[-9223372036854775808]",
            ".spec.items[9223372036854775807:]",
            ".spec.items[-9223372036854775808:]",
            ".spec.items[0:-9223372036854775808]",
            ".status.conditions[?(@.type==\"Ready\")].status",
            ".status.conditions[?(@.n>1)].n",
            ".status.conditions[?(@.n)].type",
            ".status.conditions[*].type",
            ".metadata.name",
            ".metadata.creationTimestamp",
            ".spec",
            ".status",
        ][..],
    );
    prop_oneof![
        3 => meaningful.prop_map(String::from),
        2 => vec(step, 0..5).prop_map(|steps| steps.concat()),
    ]
}

/// A value a printer column may meet: timestamps (good, odd, out of range), numbers, text.
pub fn column_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        proptest::sample::select(
            &[
                "2026-11-29T08:00:00Z",
                "1970-01-01T00:00:00Z",
                "0001-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "+262143-01-01T00:00:00Z",
                "2026-11-29T08:00:00.123456789+14:00",
                "2026-13-45T99:99:99Z",
                "yesterday",
                "",
            ][..]
        )
        .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(u64::MAX)),
        plausible_value(),
    ]
}
