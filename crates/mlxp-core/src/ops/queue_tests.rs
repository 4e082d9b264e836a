//! Drain, queue stop / resume, Job suspend / resume and delete, planned on fixtures.

use serde_json::json;

use super::*;

fn plan(op: &Op, snapshot: &Snapshot) -> Result<Plan, Refused> {
    super::plan(
        op,
        snapshot,
        &Actor {
            user: "ana".into(),
            now: Utc::now(),
        },
    )
}

fn paths(plan: &Plan) -> Vec<(String, &'static str)> {
    plan.requests
        .iter()
        .map(|r| (r.path(), r.change.verb()))
        .collect()
}

fn pod(name: &str, node: &str, owner: Option<&str>, phase: &str) -> serde_json::Value {
    let owners = match owner {
        Some(kind) => json!([{"kind": kind, "name": "x", "controller": true}]),
        None => json!([]),
    };
    json!({"metadata": {"name": name, "namespace": "training", "ownerReferences": owners},
           "spec": {"nodeName": node}, "status": {"phase": phase}})
}

fn node_with_pods() -> Snapshot {
    let mut s = Snapshot::default();
    s.nodes.add_json(json!({"metadata": {"name": "gpu-1"}}));
    s.pods
        .add_json(pod("train-a", "gpu-1", Some("Job"), "Running"));
    s.pods
        .add_json(pod("exporter", "gpu-1", Some("DaemonSet"), "Running"));
    s.pods
        .add_json(pod("elsewhere", "gpu-2", Some("Job"), "Running"));
    s.pods.add_json(pod("done", "gpu-1", None, "Succeeded"));
    s
}

#[test]
fn drain_cordons_then_evicts_all_but_daemonset_pods() {
    let s = node_with_pods();
    let op = Op::Drain {
        node: "gpu-1".into(),
        force: false,
    };
    let p = plan(&op, &s).expect("planned");
    assert_eq!(
        paths(&p),
        [
            ("/api/v1/nodes/gpu-1".to_string(), "patch"),
            (
                "/api/v1/namespaces/training/pods/done/eviction".to_string(),
                "create"
            ),
            (
                "/api/v1/namespaces/training/pods/train-a/eviction".to_string(),
                "create"
            ),
        ]
    );
    assert_eq!(p.requests[1].change.body()["kind"], "Eviction");
    assert!(p.effect.contains("2 pods evicted"), "{}", p.effect);
}

#[test]
fn a_pod_no_controller_brings_back_stops_the_drain_unless_forced() {
    let mut s = node_with_pods();
    s.pods.add_json(pod("scratch", "gpu-1", None, "Running"));
    let mut op = Op::Drain {
        node: "gpu-1".into(),
        force: false,
    };
    let refused = plan(&op, &s).expect_err("refused").to_string();
    assert!(refused.contains("training/scratch"), "{refused}");
    assert!(refused.contains("force"), "{refused}");
    if let Op::Drain { force, .. } = &mut op {
        *force = true;
    }
    assert_eq!(plan(&op, &s).expect("forced").requests.len(), 4);
    let unknown = Op::Drain {
        node: "nope".into(),
        force: true,
    };
    assert!(matches!(plan(&unknown, &s), Err(Refused::NotFound(_))));
}

fn queues() -> Snapshot {
    let mut s = Snapshot::default();
    s.cluster_queues
        .add_json(json!({"metadata": {"name": "gpu"}, "spec": {}}));
    s.local_queues.add_json(
        json!({"metadata": {"name": "team", "namespace": "training"},
        "spec": {"clusterQueue": "gpu", "stopPolicy": "Hold"}}),
    );
    s.jobs.add_json(
        json!({"metadata": {"name": "train-a", "namespace": "training"},
        "spec": {"suspend": false}}),
    );
    s.jobs.add_json(
        json!({"metadata": {"name": "plain", "namespace": "training"},
        "spec": {"suspend": false}}),
    );
    s.workloads.add_json(json!({
        "metadata": {"name": "job-train-a-1", "namespace": "training",
                     "ownerReferences": [{"kind": "Job", "name": "train-a", "controller": true}]},
        "spec": {"queueName": "team"},
        "status": {"admission": {"clusterQueue": "gpu"},
                   "conditions": [{"type": "Admitted", "status": "True"}]}}));
    s
}

#[test]
fn stopping_a_queue_sets_its_stop_policy_and_says_what_it_evicts() {
    let s = queues();
    let cq = Target {
        kind: KindName::ClusterQueues,
        namespace: None,
        name: "gpu".into(),
    };
    let p = plan(
        &Op::StopQueue {
            queue: cq.clone(),
            keep_running: false,
        },
        &s,
    )
    .expect("planned");
    assert_eq!(
        p.requests[0].change.body(),
        &json!({"spec": {"stopPolicy": "HoldAndDrain"}})
    );
    assert!(
        p.effect.contains("1 admitted workloads evicted"),
        "{}",
        p.effect
    );
    let hold = plan(
        &Op::StopQueue {
            queue: cq.clone(),
            keep_running: true,
        },
        &s,
    )
    .expect("planned");
    assert_eq!(
        hold.requests[0].change.body(),
        &json!({"spec": {"stopPolicy": "Hold"}})
    );
    // Not stopped: nothing to resume. The held LocalQueue resumes to None.
    assert!(
        plan(&Op::ResumeQueue { queue: cq }, &s)
            .expect("planned")
            .requests
            .is_empty()
    );
    let lq = Target::namespaced(KindName::LocalQueues, "training", "team");
    let resumed = plan(&Op::ResumeQueue { queue: lq }, &s).expect("planned");
    assert_eq!(
        resumed.requests[0].change.body(),
        &json!({"spec": {"stopPolicy": "None"}})
    );
    let job = Target::namespaced(KindName::Jobs, "training", "plain");
    assert!(matches!(
        plan(
            &Op::StopQueue {
                queue: job,
                keep_running: false
            },
            &s
        ),
        Err(Refused::Precondition(_))
    ));
}

#[test]
fn a_queued_job_is_suspended_through_its_workload_and_a_plain_one_directly() {
    let s = queues();
    let suspend = |name: &str| Op::SuspendJob {
        namespace: "training".into(),
        name: name.into(),
    };
    let queued = plan(&suspend("train-a"), &s).expect("planned");
    assert_eq!(
        paths(&queued),
        [(
            "/apis/kueue.x-k8s.io/v1beta1/namespaces/training/workloads/job-train-a-1".to_string(),
            "patch"
        )]
    );
    assert_eq!(
        queued.requests[0].change.body(),
        &json!({"spec": {"active": false}})
    );
    let plain = plan(&suspend("plain"), &s).expect("planned");
    assert_eq!(
        plain.requests[0].change.body(),
        &json!({"spec": {"suspend": true}})
    );
    let resume = Op::ResumeJob {
        namespace: "training".into(),
        name: "plain".into(),
    };
    assert!(plan(&resume, &s).expect("planned").requests.is_empty());
}

#[test]
fn delete_names_the_uid_it_planned_on() {
    let mut s = queues();
    s.jobs
        .add_json(json!({"metadata": {"name": "old", "namespace": "training", "uid": "u-1"}}));
    let target = Target::namespaced(KindName::Jobs, "training", "old");
    let p = plan(&Op::Delete { target }, &s).expect("planned");
    assert_eq!(
        p.requests[0].change.body(),
        &json!({"propagationPolicy": "Background", "preconditions": {"uid": "u-1"}})
    );
    let gone = Target::namespaced(KindName::Jobs, "training", "gone");
    assert!(matches!(
        plan(&Op::Delete { target: gone }, &s),
        Err(Refused::NotFound(_))
    ));
}

#[test]
fn a_queue_is_found_by_kind_prefix_or_bare_name() {
    let s = queues();
    let found = |named: &str, ns: Option<&str>| find_queue(&s, named, ns).map(|t| t.to_string());
    assert_eq!(found("gpu", None).as_deref(), Ok("clusterqueue gpu"));
    assert_eq!(
        found("team", None).as_deref(),
        Ok("localqueue training/team")
    );
    assert_eq!(
        found("lq/team", Some("training")).as_deref(),
        Ok("localqueue training/team")
    );
    assert_eq!(
        found("wl/job-train-a-1", None).as_deref(),
        Ok("workload training/job-train-a-1")
    );
    assert!(found("team", Some("serving")).is_err());
    assert!(found("job/x", None).is_err());
}
