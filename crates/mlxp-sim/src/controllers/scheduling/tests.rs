use super::*;
use serde_json::json;

const GI: i64 = 1 << 30;

fn node_json(name: &str, cpu: &str, mem: &str, gpus: i64) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": mem, "pods": "110", "nvidia.com/gpu": gpus.to_string()},
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]
        }
    })
}

fn node(name: &str, cpu: &str, mem: &str, gpus: i64) -> NodeInfo {
    NodeInfo::from_json(&node_json(name, cpu, mem, gpus)).expect("node has a name")
}

fn pod_json(spec: Value) -> Value {
    json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec})
}

fn needs(spec: Value) -> PodNeeds {
    PodNeeds::from_json(&pod_json(spec))
}

fn gpu_pod(gpus: i64) -> PodNeeds {
    needs(json!({"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}))
}

fn tol(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
    Toleration {
        key: key.into(),
        operator: op.into(),
        value: value.into(),
        effect: effect.into(),
    }
}

fn taint(key: &str, value: &str, effect: &str) -> Taint {
    Taint {
        key: key.into(),
        value: value.into(),
        effect: effect.into(),
    }
}

fn expr(key: &str, op: &str, values: &[&str]) -> Expr {
    Expr {
        key: key.into(),
        operator: op.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

#[test]
fn node_from_json_reads_everything() {
    let n = NodeInfo::from_json(&json!({
        "metadata": {"name": "gpu-1", "labels": {"pool": "a100", "bad": 3}},
        "spec": {"unschedulable": true, "taints": [
            {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}, "junk"
        ]},
        "status": {
            "capacity": {"cpu": "64", "memory": "512Gi"},
            "allocatable": {"cpu": "63500m", "memory": "500Gi", "pods": 110,
                            "nvidia.com/gpu": "8", "nvidia.com/mig-1g.10gb": "0", "bogus": "x"},
            "conditions": [{"type": "Ready", "status": "False"}]
        }
    }))
    .expect("named");
    assert_eq!(n.name, "gpu-1");
    assert_eq!(n.labels.len(), 1);
    assert_eq!(
        n.taints,
        vec![taint("nvidia.com/gpu", "present", "NoSchedule")]
    );
    assert!(n.unschedulable);
    assert!(!n.ready);
    assert_eq!(n.allocatable.cpu_milli, 63_500);
    assert_eq!(n.allocatable.memory, 500 * GI);
    assert_eq!(n.allocatable.pods, 110);
    assert_eq!(n.allocatable.gpus(), 8);
    // Zero and garbage entries are not stored.
    assert_eq!(n.allocatable.extended.len(), 1);
    assert_eq!(n.requested, Resources::default());
}

#[test]
fn allocatable_defaults_to_capacity() {
    let n = NodeInfo::from_json(&json!({
        "metadata": {"name": "n"},
        "status": {"capacity": {"cpu": "4", "pods": "10"}}
    }))
    .expect("named");
    assert_eq!(n.allocatable.cpu_milli, 4000);
    assert_eq!(n.allocatable.pods, 10);
    assert!(!n.ready, "no Ready condition means not ready");
}

#[test]
fn garbage_json_never_panics() {
    for v in [
        json!(null),
        json!(42),
        json!("node"),
        json!([]),
        json!({}),
        json!({"metadata": {"name": ""}}),
        json!({"metadata": {"name": 7}}),
        json!({"metadata": "x", "spec": [], "status": 1}),
    ] {
        assert!(NodeInfo::from_json(&v).is_none());
        let p = PodNeeds::from_json(&v);
        assert_eq!(p.requests.pods, 1);
        assert_eq!(p.requests.cpu_milli, 0);
        assert!(p.tolerations.is_empty() && p.required_terms.is_empty());
    }
    let weird = json!({
        "metadata": {"name": "n", "labels": []},
        "spec": {"taints": {"a": 1}, "unschedulable": "yes", "containers": 3,
                 "initContainers": [null, 1, {"resources": []}],
                 "tolerations": [1, {"key": 2}],
                 "nodeSelector": "x",
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                     {"nodeSelectorTerms": [7, {"matchExpressions": [1, {"key": []}]}]}}}},
        "status": {"allocatable": {"cpu": ["1"], "memory": {"x": 1}, "pods": -5},
                   "conditions": [1, {"type": "Ready"}]}
    });
    let n = NodeInfo::from_json(&weird).expect("named");
    assert!(!n.unschedulable && n.taints.is_empty() && !n.ready);
    assert_eq!(n.allocatable, Resources::default());
    let p = PodNeeds::from_json(&weird);
    assert_eq!(p.tolerations, vec![tol("", "", "", "")]);
    // The key-less Equal toleration matches every taint with an empty value
    // (as in k8s), so the not-ready taint passes; neither term can match.
    let err = schedule(&p, &[n]).expect_err("cannot fit");
    assert!(
        err.starts_with(
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        ),
        "{err}"
    );
    assert_eq!(
        schedule(&p, &[]),
        Err("no nodes available to schedule pods".into())
    );
}

#[test]
fn requests_sum_containers_and_max_with_init() {
    let pod = pod_json(json!({
        "containers": [
            {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "1", "memory": "512Mi"}}}
        ],
        "initContainers": [
            {"name": "i1", "resources": {"requests": {"cpu": "4", "memory": "100Mi"}}},
            {"name": "i2", "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}
        ]
    }));
    let r = requests_of(&pod);
    assert_eq!(r.cpu_milli, 4000, "init container needs more cpu");
    assert_eq!(r.memory, 2 * GI, "init container needs more memory");
    assert_eq!(r.pods, 1);
    assert!(r.extended.is_empty());
}

#[test]
fn requests_default_to_limits_and_count_extended() {
    let pod = pod_json(json!({
        "containers": [
            {"name": "train", "resources": {
                "limits": {"nvidia.com/gpu": "4", "cpu": "8", "memory": "64Gi"},
                "requests": {"cpu": "6"}}},
            {"name": "side", "resources": {"limits": {"nvidia.com/mig-1g.10gb": 1}}}
        ]
    }));
    let r = requests_of(&pod);
    assert_eq!(r.gpus(), 4);
    assert_eq!(r.cpu_milli, 6000, "explicit request wins over limit");
    assert_eq!(r.memory, 64 * GI, "missing request defaults to limit");
    assert_eq!(r.get("nvidia.com/mig-1g.10gb"), 1);
}

#[test]
fn sidecars_and_overhead() {
    let pod = pod_json(json!({
        "containers": [{"name": "app", "resources": {"requests": {"cpu": "1"}}}],
        "initContainers": [
            {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
            {"name": "setup", "resources": {"requests": {"cpu": "2"}}}
        ],
        "overhead": {"cpu": "100m", "memory": "10Mi"}
    }));
    let r = requests_of(&pod);
    // max(app 1 + proxy 0.5, setup 2 + proxy 0.5) + overhead 0.1
    assert_eq!(r.cpu_milli, 2600);
    assert_eq!(r.memory, 10 << 20);
}

#[test]
fn resources_arithmetic() {
    let mut a = Resources {
        cpu_milli: 1000,
        memory: 10,
        pods: 1,
        extended: BTreeMap::from([(GPU_RESOURCE.to_string(), 2)]),
    };
    let b = a.clone();
    a.add(&b);
    assert_eq!(a.cpu_milli, 2000);
    assert_eq!(a.gpus(), 4);
    a.sub(&b);
    a.sub(&b);
    assert_eq!(a, Resources::default(), "zero extended entries vanish");
    let mut big = Resources {
        cpu_milli: i64::MAX,
        ..Resources::default()
    };
    big.add(&b);
    assert_eq!(big.cpu_milli, i64::MAX);
}

#[test]
fn node_selector_and_affinity_operators() {
    let labels: BTreeMap<String, String> = [("zone", "a"), ("gpu-count", "8"), ("pool", "h100")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let m = |e: Expr| expr_matches(&e, &labels);
    assert!(m(expr("zone", "In", &["a", "b"])));
    assert!(!m(expr("zone", "In", &["c"])));
    assert!(!m(expr("missing", "In", &["a"])));
    assert!(!m(expr("zone", "In", &[])), "In needs values");
    assert!(m(expr("zone", "NotIn", &["b"])));
    assert!(!m(expr("zone", "NotIn", &["a"])));
    assert!(
        m(expr("missing", "NotIn", &["a"])),
        "absent label is not in the set"
    );
    assert!(m(expr("pool", "Exists", &[])));
    assert!(!m(expr("missing", "Exists", &[])));
    assert!(m(expr("missing", "DoesNotExist", &[])));
    assert!(!m(expr("pool", "DoesNotExist", &[])));
    assert!(m(expr("gpu-count", "Gt", &["4"])));
    assert!(!m(expr("gpu-count", "Gt", &["8"])));
    assert!(m(expr("gpu-count", "Lt", &["16"])));
    assert!(!m(expr("gpu-count", "Lt", &["8"])));
    assert!(!m(expr("pool", "Gt", &["1"])), "non-integer label");
    assert!(!m(expr("gpu-count", "Gt", &["x"])));
    assert!(!m(expr("gpu-count", "Gt", &["1", "2"])));
    assert!(!m(expr("missing", "Lt", &["100"])));
    assert!(!m(expr("zone", "Matches", &["a"])));

    // Terms are ORed, expressions inside a term ANDed.
    let mut pod = needs(json!({}));
    pod.required_terms = vec![
        vec![expr("zone", "In", &["b"])],
        vec![expr("zone", "In", &["a"]), expr("pool", "Exists", &[])],
    ];
    assert!(matches_affinity(&pod, &labels));
    pod.required_terms = vec![vec![
        expr("zone", "In", &["a"]),
        expr("pool", "In", &["a100"]),
    ]];
    assert!(!matches_affinity(&pod, &labels));
    pod.required_terms = vec![vec![]];
    assert!(
        !matches_affinity(&pod, &labels),
        "empty term matches nothing"
    );
    pod.required_terms.clear();
    pod.node_selector = BTreeMap::from([("zone".to_string(), "a".to_string())]);
    assert!(matches_affinity(&pod, &labels));
    pod.node_selector.insert("pool".into(), "a100".into());
    assert!(!matches_affinity(&pod, &labels));
}

#[test]
fn affinity_from_json() {
    let p = needs(json!({
        "nodeSelector": {"pool": "h100"},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
                {"matchExpressions": [{"key": "gpu-count", "operator": "Gt", "values": ["4"]}]}
            ]}}}
    }));
    assert_eq!(
        p.node_selector.get("pool").map(String::as_str),
        Some("h100")
    );
    assert_eq!(
        p.required_terms,
        vec![
            vec![expr("zone", "In", &["a", "b"])],
            vec![expr("gpu-count", "Gt", &["4"])]
        ]
    );
    let none = needs(json!({"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}}));
    assert_eq!(none.required_terms, vec![Vec::<Expr>::new()]);
}

#[test]
fn toleration_combinations() {
    let gpu = taint("nvidia.com/gpu", "present", "NoSchedule");
    assert!(!tolerates(&[], &gpu));
    assert!(tolerates(&[tol("nvidia.com/gpu", "Exists", "", "")], &gpu));
    assert!(tolerates(
        &[tol("nvidia.com/gpu", "Exists", "", "NoSchedule")],
        &gpu
    ));
    assert!(!tolerates(
        &[tol("nvidia.com/gpu", "Exists", "", "NoExecute")],
        &gpu
    ));
    assert!(tolerates(
        &[tol("nvidia.com/gpu", "Equal", "present", "")],
        &gpu
    ));
    assert!(
        tolerates(&[tol("nvidia.com/gpu", "", "present", "")], &gpu),
        "empty operator = Equal"
    );
    assert!(!tolerates(
        &[tol("nvidia.com/gpu", "Equal", "absent", "")],
        &gpu
    ));
    assert!(!tolerates(&[tol("other", "Exists", "", "")], &gpu));
    assert!(
        tolerates(&[tol("", "Exists", "", "")], &gpu),
        "tolerate everything"
    );
    assert!(!tolerates(
        &[tol("nvidia.com/gpu", "Bogus", "present", "")],
        &gpu
    ));
    assert!(tolerates(
        &[
            tol("other", "Exists", "", ""),
            tol("nvidia.com/gpu", "Exists", "", "")
        ],
        &gpu
    ));
    let evict = taint("maintenance", "", "NoExecute");
    assert!(!tolerates(&[], &evict));
    assert!(tolerates(
        &[tol("maintenance", "Exists", "", "NoExecute")],
        &evict
    ));
    assert!(tolerates(&[], &taint("spot", "true", "PreferNoSchedule")));
}

#[test]
fn taints_block_scheduling_unless_tolerated() {
    let mut n = node("gpu-1", "32", "256Gi", 8);
    n.taints = vec![
        taint("soft", "x", "PreferNoSchedule"),
        taint("nvidia.com/gpu", "present", "NoSchedule"),
    ];
    let mut p = gpu_pod(1);
    let err = schedule(&p, std::slice::from_ref(&n)).expect_err("tainted");
    assert!(
        err.starts_with(
            "0/1 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}."
        ),
        "{err}"
    );
    p.tolerations = vec![tol("nvidia.com/gpu", "Exists", "", "NoSchedule")];
    assert_eq!(schedule(&p, &[n]), Ok("gpu-1".into()));
}

#[test]
fn not_ready_nodes_carry_the_not_ready_taint() {
    let mut n = node("n1", "8", "32Gi", 0);
    n.ready = false;
    let mut p = needs(json!({}));
    assert_eq!(
        schedule(&p, std::slice::from_ref(&n)),
        Err("0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. \
             preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.."
            .into())
    );
    p.tolerations = vec![tol(
        "node.kubernetes.io/not-ready",
        "Exists",
        "",
        "NoSchedule",
    )];
    assert_eq!(schedule(&p, &[n]), Ok("n1".into()));
}

#[test]
fn cordoned_nodes() {
    let mut n = node("n1", "8", "32Gi", 0);
    n.unschedulable = true;
    n.taints = vec![taint("x", "y", "NoSchedule")];
    let mut p = needs(json!({}));
    let err = schedule(&p, std::slice::from_ref(&n)).expect_err("cordoned");
    // Unschedulable is checked before taints.
    assert!(
        err.starts_with("0/1 nodes are available: 1 node(s) were unschedulable."),
        "{err}"
    );
    p.tolerations = vec![tol(
        "node.kubernetes.io/unschedulable",
        "Exists",
        "",
        "NoSchedule",
    )];
    let err = schedule(&p, std::slice::from_ref(&n)).expect_err("still tainted");
    assert!(
        err.contains("1 node(s) had untolerated taint {x: y}"),
        "{err}"
    );
    p.tolerations.push(tol("", "Exists", "", ""));
    assert_eq!(schedule(&p, &[n]), Ok("n1".into()));
}

#[test]
fn resources_report_every_shortage() {
    let mut n = node("n1", "4", "8Gi", 0);
    n.requested.pods = 110;
    let p = needs(json!({"containers": [{"resources": {"requests": {
        "cpu": "8", "memory": "16Gi", "nvidia.com/gpu": "1", "example.com/fpga": "1"}}}]}));
    let err = schedule(&p, &[n]).expect_err("nothing fits");
    assert_eq!(
        err,
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient example.com/fpga, \
         1 Insufficient memory, 1 Insufficient nvidia.com/gpu, 1 Too many pods. \
         preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."
    );
}

#[test]
fn requested_resources_reduce_free_capacity() {
    let mut n = node("n1", "8", "32Gi", 8);
    let p = gpu_pod(2);
    n.requested.extended.insert(GPU_RESOURCE.into(), 6);
    assert_eq!(schedule(&p, std::slice::from_ref(&n)), Ok("n1".into()));
    n.requested.extended.insert(GPU_RESOURCE.into(), 7);
    assert!(schedule(&p, &[n]).is_err());
}

/// 12 nodes: 4 tainted GPU nodes, 3 cpu nodes, 2 busy GPU nodes, a cordoned
/// node, a node in the wrong pool and a not-ready node.
#[test]
fn mixed_cluster_failure_message() {
    let mut nodes = Vec::new();
    for i in 0..4 {
        let mut n = node(&format!("gpu-{i}"), "64", "512Gi", 8);
        n.taints
            .push(taint("nvidia.com/gpu", "present", "NoSchedule"));
        nodes.push(n);
    }
    for i in 0..3 {
        nodes.push(node(&format!("cpu-{i}"), "16", "64Gi", 0));
    }
    for i in 0..2 {
        let mut n = node(&format!("busy-{i}"), "64", "512Gi", 8);
        n.requested.extended.insert(GPU_RESOURCE.into(), 8);
        n.requested.cpu_milli = 63_000;
        nodes.push(n);
    }
    let mut cordoned = node("cordoned", "64", "512Gi", 8);
    cordoned.unschedulable = true;
    nodes.push(cordoned);
    let mut other_pool = node("other-pool", "64", "512Gi", 8);
    other_pool.labels.insert("pool".into(), "a100".into());
    nodes.push(other_pool);
    let mut down = node("down", "64", "512Gi", 8);
    down.ready = false;
    nodes.push(down);
    assert_eq!(nodes.len(), 12);

    let mut p = gpu_pod(4);
    p.requests.cpu_milli = 8000;
    p.required_terms = vec![vec![expr("pool", "NotIn", &["a100"])]];
    let err = schedule(&p, &nodes).expect_err("nothing fits");
    assert_eq!(
        err,
        "0/12 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, \
         1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, \
         1 node(s) were unschedulable, 2 Insufficient cpu, 4 node(s) had untolerated taint \
         {nvidia.com/gpu: present}, 5 Insufficient nvidia.com/gpu. preemption: 0/12 nodes \
         are available: 5 No preemption victims found for incoming pod, \
         7 Preemption is not helpful for scheduling.."
    );

    // Tolerating the GPU taint makes the (idle) GPU nodes feasible.
    p.tolerations = vec![tol("nvidia.com/gpu", "Exists", "", "")];
    assert_eq!(schedule(&p, &nodes), Ok("gpu-0".into()));
}

#[test]
fn counts_sort_as_strings_like_kube_scheduler() {
    let mut nodes: Vec<NodeInfo> = (0..12)
        .map(|i| node(&format!("n{i:02}"), "1", "1Gi", 0))
        .collect();
    for n in nodes.iter_mut().take(4) {
        n.taints.push(taint("dedicated", "infra", "NoExecute"));
    }
    let err = schedule(&gpu_pod(1), &nodes).expect_err("no gpus");
    assert_eq!(
        err,
        "0/12 nodes are available: 4 node(s) had untolerated taint {dedicated: infra}, \
         8 Insufficient nvidia.com/gpu. preemption: 0/12 nodes are available: \
         4 Preemption is not helpful for scheduling, 8 No preemption victims found for incoming pod.."
    );
}

#[test]
fn gpu_pods_bin_pack() {
    let mut a = node("a", "64", "512Gi", 8);
    a.requested.extended.insert(GPU_RESOURCE.into(), 2); // 6 free
    let mut b = node("b", "64", "512Gi", 8);
    b.requested.extended.insert(GPU_RESOURCE.into(), 5); // 3 free
    let c = node("c", "64", "512Gi", 8); // 8 free
    let d = node("d", "64", "512Gi", 0);
    let nodes = [c, a, b, d];
    assert_eq!(
        schedule(&gpu_pod(2), &nodes),
        Ok("b".into()),
        "fullest node that fits"
    );
    assert_eq!(
        schedule(&gpu_pod(4), &nodes),
        Ok("a".into()),
        "b has only 3 left"
    );
    assert_eq!(
        schedule(&gpu_pod(8), &nodes),
        Ok("c".into()),
        "whole node kept for this"
    );

    // Ties on free GPUs go to the smallest name.
    let nodes = [node("z", "8", "8Gi", 4), node("y", "8", "8Gi", 4)];
    assert_eq!(schedule(&gpu_pod(1), &nodes), Ok("y".into()));
}

#[test]
fn mig_pods_bin_pack_on_their_slices() {
    let mig = "nvidia.com/mig-1g.10gb";
    let mut a = node("a", "64", "512Gi", 0);
    a.allocatable.extended.insert(mig.into(), 7);
    let mut b = node("b", "64", "512Gi", 0);
    b.allocatable.extended.insert(mig.into(), 7);
    b.requested.extended.insert(mig.into(), 5);
    let p = needs(json!({"containers": [{"resources": {"limits": {mig: 1}}}]}));
    assert_eq!(schedule(&p, &[a, b]), Ok("b".into()));
}

#[test]
fn cpu_pods_spread_to_most_free_cpu() {
    let mut a = node("a", "16", "64Gi", 0);
    a.requested.cpu_milli = 8000;
    let b = node("b", "8", "64Gi", 0);
    let c = node("c", "32", "64Gi", 8);
    let p = needs(json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]}));
    assert_eq!(schedule(&p, &[a.clone(), b.clone(), c]), Ok("c".into()));
    assert_eq!(
        schedule(&p, &[b, a]),
        Ok("a".into()),
        "tie on 8 free cpus: by name"
    );
}
