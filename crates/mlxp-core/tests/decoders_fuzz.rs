//! Arbitrary JSON through every decoder of a watched kind: whatever a cluster (or a proxy,
//! or a broken CRD) sends, decoding answers Ok or Err and never panics. The JSON is drawn
//! with the field names the decoders look for, so it reaches deep into them, and with
//! every JSON type where each is expected.

use mlxp_core::domain::objects::{
    ClusterQueue, Deployment, Event, Hpa, HttpRoute, Job, LocalQueue, Model, ModelVersion, Node,
    Pod, ResourceFlavor, Workload,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Names the decoders read, and a few they do not.
const FIELDS: &[&str] = &[
    "metadata",
    "name",
    "namespace",
    "uid",
    "labels",
    "annotations",
    "ownerReferences",
    "controller",
    "kind",
    "creationTimestamp",
    "deletionTimestamp",
    "resourceVersion",
    "spec",
    "status",
    "containers",
    "initContainers",
    "resources",
    "requests",
    "limits",
    "cpu",
    "memory",
    "nvidia.com/gpu",
    "conditions",
    "type",
    "reason",
    "message",
    "lastTransitionTime",
    "phase",
    "nodeName",
    "containerStatuses",
    "restartCount",
    "state",
    "terminated",
    "waiting",
    "exitCode",
    "ready",
    "replicas",
    "readyReplicas",
    "availableReplicas",
    "updatedReplicas",
    "template",
    "selector",
    "matchLabels",
    "unschedulable",
    "taints",
    "effect",
    "key",
    "value",
    "capacity",
    "allocatable",
    "podSets",
    "count",
    "admission",
    "flavors",
    "resourceGroups",
    "coveredResources",
    "nominalQuota",
    "borrowingLimit",
    "flavorsReservation",
    "rules",
    "backendRefs",
    "weight",
    "parentRefs",
    "involvedObject",
    "count",
    "lastTimestamp",
    "eventTime",
    "series",
    "versions",
    "version",
    "stage",
    "metrics",
    "accuracy",
    "canary",
    "traffic",
    "training",
    "queueName",
    "suspend",
    "active",
    "succeeded",
    "failed",
    "startTime",
    "completionTime",
    "nodeLabels",
    "minReplicas",
    "maxReplicas",
    "x",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        "[ -~]{0,12}".prop_map(Value::from),
        Just(Value::from("2026-12-07T21:34:42Z")),
        Just(Value::from("500m")),
        Just(Value::from("8")),
        Just(Value::from("-1Gi")),
        Just(Value::from("1e400")),
        Just(Value::from("True")),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS), inner), 0..8).prop_map(
                |entries| {
                    Value::Object(
                        entries
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

fn decodes_or_refuses<T: DeserializeOwned>(value: &Value) {
    let _ = serde_json::from_value::<T>(value.clone());
    let _ = serde_json::from_slice::<T>(value.to_string().as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_json_makes_a_decoder_panic(value in json()) {
        decodes_or_refuses::<Node>(&value);
        decodes_or_refuses::<Pod>(&value);
        decodes_or_refuses::<Job>(&value);
        decodes_or_refuses::<Workload>(&value);
        decodes_or_refuses::<ClusterQueue>(&value);
        decodes_or_refuses::<LocalQueue>(&value);
        decodes_or_refuses::<ResourceFlavor>(&value);
        decodes_or_refuses::<Deployment>(&value);
        decodes_or_refuses::<Hpa>(&value);
        decodes_or_refuses::<HttpRoute>(&value);
        decodes_or_refuses::<Event>(&value);
        decodes_or_refuses::<Model>(&value);
        decodes_or_refuses::<ModelVersion>(&value);
    }

    #[test]
    fn no_bytes_make_a_decoder_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<Pod>(&bytes);
        let _ = serde_json::from_slice::<Node>(&bytes);
        let _ = serde_json::from_slice::<ModelVersion>(&bytes);
    }
}

/// The strategy reaches into the decoders: some drawn objects decode (a test of the fuzz).
#[test]
fn the_drawn_json_is_not_all_refused() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let decoded = (0..512)
        .filter(|_| {
            let value = json().new_tree(&mut runner).expect("a value").current();
            serde_json::from_value::<Pod>(value).is_ok()
        })
        .count();
    assert!(decoded > 0, "no drawn object decodes as a Pod");
}
