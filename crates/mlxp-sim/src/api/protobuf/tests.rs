//! Bodies are built with a small encoder that follows the wire format (field number and
//! type in a varint key, lengths before bytes), the way Go's generated marshallers write.

use serde_json::json;

use super::*;

fn key(tag: u32, wire: u64) -> Vec<u8> {
    encode_varint((u64::from(tag) << 3) | wire)
}

fn encode_varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn bytes(tag: u32, b: &[u8]) -> Vec<u8> {
    let mut out = key(tag, 2);
    out.extend(encode_varint(b.len() as u64));
    out.extend_from_slice(b);
    out
}

fn string(tag: u32, s: &str) -> Vec<u8> {
    bytes(tag, s.as_bytes())
}

fn int(tag: u32, v: i64) -> Vec<u8> {
    let mut out = key(tag, 0);
    out.extend(encode_varint(v as u64));
    out
}

fn message(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn envelope(api_version: &str, kind: &str, object: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend(bytes(
        1,
        &message(&[string(1, api_version), string(2, kind)]),
    ));
    out.extend(bytes(2, object));
    out.extend(string(4, "application/vnd.kubernetes.protobuf"));
    out
}

/// A Job as `kubectl create job --from=cronjob/retrain` sends it: metadata with an
/// annotation and owner reference, a spec whose pod template has a container with env,
/// resources (Quantity), a port, a probe (inlined handler, IntOrString port), a volume
/// (inlined source) and a toleration.
fn job_from_cronjob() -> Vec<u8> {
    let owner = message(&[
        string(5, "batch/v1"),
        string(1, "CronJob"),
        string(3, "retrain"),
        string(4, "0b6f"),
        int(6, 1),
    ]);
    let metadata = message(&[
        string(1, "retrain-manual-x7k"),
        string(3, "training"),
        bytes(
            12,
            &message(&[
                string(1, "cronjob.kubernetes.io/instantiate"),
                string(2, "manual"),
            ]),
        ),
        bytes(13, &owner),
    ]);
    let resources = message(&[
        bytes(
            1,
            &message(&[string(1, "nvidia.com/gpu"), bytes(2, &string(1, "8"))]),
        ),
        bytes(
            2,
            &message(&[string(1, "cpu"), bytes(2, &string(1, "500m"))]),
        ),
    ]);
    let probe = message(&[
        bytes(
            1,
            &message(&[bytes(
                2,
                &message(&[
                    string(1, "/healthz"),
                    bytes(2, &message(&[int(1, 0), int(2, 8080)])),
                ]),
            )]),
        ),
        int(2, 5),
    ]);
    let container = message(&[
        string(1, "trainer"),
        string(2, "ghcr.io/mlxp/trainer:2.4"),
        string(4, "--epochs"),
        string(4, "20"),
        bytes(
            6,
            &message(&[string(1, "http"), int(3, 8080), string(4, "TCP")]),
        ),
        bytes(7, &message(&[string(1, "EPOCHS"), string(2, "20")])),
        bytes(8, &resources),
        bytes(10, &probe),
    ]);
    let volume = message(&[
        string(1, "scratch"),
        bytes(2, &message(&[bytes(2, &message(&[string(1, "Memory")]))])),
    ]);
    let pod_spec = message(&[
        bytes(1, &volume),
        bytes(2, &container),
        string(3, "Never"),
        bytes(
            22,
            &message(&[
                string(1, "nvidia.com/gpu"),
                string(2, "Exists"),
                string(4, "NoSchedule"),
            ]),
        ),
    ]);
    let template = message(&[
        bytes(
            1,
            &message(&[bytes(
                11,
                &message(&[string(1, "app"), string(2, "retrain")]),
            )]),
        ),
        bytes(2, &pod_spec),
    ]);
    let spec = message(&[int(1, 1), int(7, 2), bytes(6, &template), int(10, 0)]);
    envelope(
        "batch/v1",
        "Job",
        &message(&[bytes(1, &metadata), bytes(2, &spec)]),
    )
}

#[test]
fn a_job_from_kubectl_decodes_to_its_json() {
    let job = decode(&job_from_cronjob()).expect("decodes");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["metadata"]["name"], "retrain-manual-x7k");
    assert_eq!(
        job["metadata"]["annotations"],
        json!({"cronjob.kubernetes.io/instantiate": "manual"})
    );
    assert_eq!(
        job["metadata"]["ownerReferences"],
        json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": "retrain", "uid": "0b6f", "controller": true}])
    );
    assert_eq!(job["spec"]["parallelism"], 1);
    assert_eq!(job["spec"]["backoffLimit"], 2);
    assert_eq!(
        job["spec"]["suspend"], false,
        "a false that was sent is kept"
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"],
        json!({"app": "retrain"})
    );
    assert_eq!(pod["restartPolicy"], "Never");
    let container = &pod["containers"][0];
    assert_eq!(container["args"], json!(["--epochs", "20"]));
    assert_eq!(
        container["ports"],
        json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(container["env"], json!([{"name": "EPOCHS", "value": "20"}]));
    assert_eq!(
        container["resources"],
        json!({"limits": {"nvidia.com/gpu": "8"}, "requests": {"cpu": "500m"}})
    );
    assert_eq!(
        container["livenessProbe"],
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5}),
        "the probe handler is inlined and the port is an int"
    );
    assert_eq!(
        pod["volumes"],
        json!([{"name": "scratch", "emptyDir": {"medium": "Memory"}}]),
        "the volume source is inlined"
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    );
}

#[test]
fn apimachinery_special_messages_take_their_json_forms() {
    // IntOrString as a string, Time, Duration, a packed repeated int, bytes as base64.
    let time = message(&[int(1, 1_764_403_200), int(2, 0)]);
    let meta = message(&[string(1, "cm"), bytes(8, &time)]);
    let cm = message(&[
        bytes(1, &meta),
        bytes(3, &message(&[string(1, "blob"), bytes(2, b"\x00\x01hi")])),
    ]);
    let decoded = decode(&envelope("v1", "ConfigMap", &cm)).expect("decodes");
    assert_eq!(
        decoded["metadata"]["creationTimestamp"],
        "2025-11-29T08:00:00Z"
    );
    assert_eq!(decoded["binaryData"], json!({"blob": "AAFoaQ=="}));

    let port = message(&[int(1, 1), string(3, "http")]);
    let svc_port = message(&[string(1, "web"), int(3, 80), bytes(4, &port)]);
    let svc = message(&[bytes(2, &message(&[bytes(1, &svc_port)]))]);
    let decoded = decode(&envelope("v1", "Service", &svc)).expect("decodes");
    assert_eq!(decoded["spec"]["ports"][0]["targetPort"], "http");

    // PodFailurePolicyOnExitCodesRequirement.values: packed int32s.
    let mut packed = Vec::new();
    for v in [1u64, 42, 137] {
        packed.extend(encode_varint(v));
    }
    let requirement = message(&[string(2, "In"), bytes(3, &packed)]);
    let rule = message(&[string(1, "FailJob"), bytes(2, &requirement)]);
    let spec = message(&[bytes(11, &message(&[bytes(1, &rule)]))]);
    let decoded =
        decode(&envelope("batch/v1", "Job", &message(&[bytes(2, &spec)]))).expect("decodes");
    assert_eq!(
        decoded["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"],
        json!([1, 42, 137])
    );
    assert_eq!(go_duration(90 * 1_000_000_000), "1m30s");
    assert_eq!(go_duration(3_600 * 1_000_000_000), "1h0m0s");
    assert_eq!(go_duration(1_500_000_000), "1.5s");
}

#[test]
fn broken_bodies_are_errors_not_panics() {
    let whole = job_from_cronjob();
    for cut in 0..whole.len() {
        // Any prefix either decodes (a field boundary) or is an error; none panics.
        let _ = decode(&whole[..cut]);
    }
    assert!(decode(b"{\"kind\": \"Job\"}").is_err(), "no magic");
    assert!(
        decode(&envelope("batch/v1", "Nope", &[])).is_err(),
        "unknown kind"
    );
    assert!(decode(&envelope("example.com/v1", "Job", &[])).is_err());
    // Nesting deeper than any object: an error, not a stack overflow.
    let mut deep = string(1, "x");
    for _ in 0..200 {
        deep = bytes(1, &message(&[bytes(2, &deep)]));
    }
    assert!(decode(&envelope("batch/v1", "Job", &deep)).is_err());
}

proptest::proptest! {
    /// Whatever bytes follow a valid envelope, decoding answers without panicking.
    #[test]
    fn arbitrary_object_bytes_never_panic(
        raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        kind in proptest::sample::select(vec![("batch/v1", "Job"), ("v1", "Pod"), ("apps/v1", "Deployment"), ("v1", "Service")]),
    ) {
        let _ = decode(&envelope(kind.0, kind.1, &raw));
    }

    /// Truncating or flipping bytes of a real body never panics either.
    #[test]
    fn damaged_jobs_never_panic(cut in 0usize..2000, flip in 0usize..2000, bit in 0u8..8) {
        let mut body = job_from_cronjob();
        if !body.is_empty() {
            let i = flip % body.len();
            body[i] ^= 1 << bit;
        }
        body.truncate(cut.min(body.len()));
        let _ = decode(&body);
    }
}
