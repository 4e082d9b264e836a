//! Drain, queue stop / resume and Job suspend / resume against the embedded cluster, as a
//! script runs them (`mlxp node drain`, `mlxp queue …`, `mlxp job …`), read back through
//! kube; the controllers (Job, Kueue, scheduler) act when the test advances the clock.

mod common;

use std::time::Duration;

use common::ops::{audit_lines, events_with_reason, platform, text};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use mlxp_sim::Sim;
use serde_json::{Value, json};

async fn pods_of_job(sim: &Sim, job: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(sim.client(false).await.expect("client"), "training");
    pods.list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .expect("pods")
        .items
}

fn node_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

fn kueue(
    sim_client: kube::Client,
    plural: &str,
    kind: &str,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("kueue.x-k8s.io", "v1beta1", kind),
        plural,
    );
    match ns {
        Some(ns) => Api::namespaced_with(sim_client, ns, &resource),
        None => Api::all_with(sim_client, &resource),
    }
}

#[tokio::test]
async fn drain_cordons_evicts_and_the_jobs_pod_comes_back_elsewhere() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    // finetune-llm runs one pod per training node.
    let before = pods_of_job(&p.sim, "finetune-llm-r2").await;
    let running = before
        .iter()
        .find(|pod| pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .expect("a running finetune pod");
    let node = node_of(running);
    let evicted = running.metadata.name.clone().expect("a name");

    let dry = p.mlxp(&["node", "drain", &node, "--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).contains(&format!("pod training/{evicted}: evicted")),
        "{}",
        text(&dry.stdout)
    );
    let nodes: Api<Node> = Api::all(client.clone());
    let cordoned = |n: Node| n.spec.and_then(|s| s.unschedulable).unwrap_or(false);
    assert!(!cordoned(nodes.get(&node).await.expect("node")));

    let out = p.mlxp(&["node", "drain", &node]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("node {node} drained: cordoned, ")),
        "{}",
        text(&out.stdout)
    );
    assert!(cordoned(nodes.get(&node).await.expect("node")));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "training");
    // Evicted as deleted: Terminating until the kubelet has stopped it.
    let terminating = pods.get(&evicted).await.expect("still stopping");
    assert!(terminating.metadata.deletion_timestamp.is_some());

    // The Job controller makes a new pod; the scheduler keeps it off the cordoned node.
    p.sim.advance(Duration::from_secs(30));
    assert!(pods.get_opt(&evicted).await.expect("get").is_none());
    let after = pods_of_job(&p.sim, "finetune-llm-r2").await;
    let replacement: Vec<&Pod> = after
        .iter()
        .filter(|pod| !before.iter().any(|b| b.metadata.name == pod.metadata.name))
        .collect();
    assert_eq!(replacement.len(), 1, "one new pod for the evicted one");
    assert_ne!(node_of(replacement[0]), node);

    assert_eq!(events_with_reason(&p.sim, "NodeDrained").await.len(), 1);
    let lines = audit_lines(&p.audit_path());
    let last = lines.last().expect("an audit line");
    assert_eq!((last.dry_run, last.result.as_str()), (false, "done"));
}

#[tokio::test]
async fn a_drain_a_budget_blocks_says_so_in_its_preview() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "serving");
    let serving = pods
        .list(&ListParams::default().labels("mlxp.io/model=fraud-detector,mlxp.io/version=v1"))
        .await
        .expect("pods")
        .items;
    let node = node_of(&serving[0]);
    let budgets: Api<DynamicObject> = Api::namespaced_with(
        client,
        "serving",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("policy", "v1", "PodDisruptionBudget"),
            "poddisruptionbudgets",
        ),
    );
    let budget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "fraud-detector-v1"},
        "spec": {"minAvailable": "100%", "selector": {"matchLabels": {"mlxp.io/version": "v1", "mlxp.io/model": "fraud-detector"}}},
    }))
    .expect("a budget");
    budgets
        .create(&PostParams::default(), &budget)
        .await
        .expect("created");
    let out = p.mlxp(&["node", "drain", &node, "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let name = serving[0].metadata.name.clone().expect("a name");
    assert!(
        text(&out.stdout).contains(&format!(
            "pod serving/{name}: blocked now by its PodDisruptionBudget"
        )),
        "{}",
        text(&out.stdout)
    );
    assert!(pods.get_opt(&name).await.expect("get").is_some());
}

fn stop_policy(object: &DynamicObject) -> Value {
    object.data["spec"]["stopPolicy"].clone()
}

#[tokio::test]
async fn stopping_the_cluster_queue_evicts_its_workloads_and_resuming_admits_them_again() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let cqs = kueue(client.clone(), "clusterqueues", "ClusterQueue", None);
    let jobs: Api<Job> = Api::namespaced(client.clone(), "training");
    let suspended = |j: Job| j.spec.and_then(|s| s.suspend).unwrap_or(false);
    assert!(!suspended(jobs.get("finetune-llm-r2").await.expect("job")));

    let out = p.mlxp(&["queue", "stop", "training"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .starts_with("clusterqueue training stopped (HoldAndDrain): admits nothing new; "),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        stop_policy(&cqs.get("training").await.expect("cq")),
        "HoldAndDrain"
    );
    p.sim.advance(Duration::from_secs(10));
    assert!(suspended(jobs.get("finetune-llm-r2").await.expect("job")));

    let out = p.mlxp(&["queue", "resume", "clusterqueue/training"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(stop_policy(&cqs.get("training").await.expect("cq")), "None");
    p.sim.advance(Duration::from_secs(10));
    assert!(!suspended(jobs.get("finetune-llm-r2").await.expect("job")));
    assert_eq!(events_with_reason(&p.sim, "QueueStopped").await.len(), 1);
    assert_eq!(events_with_reason(&p.sim, "QueueResumed").await.len(), 1);
}

#[tokio::test]
async fn a_queued_job_is_suspended_through_its_workload_and_resumed() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let jobs: Api<Job> = Api::namespaced(client.clone(), "training");
    let out = p.mlxp(&["job", "suspend", "finetune-llm-r2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("suspended through its Workload job-finetune-llm-r2-"),
        "{}",
        text(&out.stdout)
    );
    p.sim.advance(Duration::from_secs(10));
    let job = jobs.get("finetune-llm-r2").await.expect("job");
    assert_eq!(job.spec.and_then(|s| s.suspend), Some(true));
    assert!(
        pods_of_job(&p.sim, "finetune-llm-r2")
            .await
            .iter()
            .all(|pod| {
                pod.metadata.deletion_timestamp.is_some()
                    || pod.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running")
            })
    );

    let again = p.mlxp(&["job", "suspend", "finetune-llm-r2"]).await;
    assert!(
        text(&again.stdout).contains("is already suspended"),
        "{}",
        text(&again.stdout)
    );
    let out = p
        .mlxp(&["job", "resume", "finetune-llm-r2", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(outcome["op"], "resume-job");
    // Active again, it queues: whether it runs now depends on what took its quota.
    let workloads = kueue(client, "workloads", "Workload", Some("training"));
    let mine: Vec<DynamicObject> = workloads
        .list(&ListParams::default())
        .await
        .expect("workloads")
        .items
        .into_iter()
        .filter(|w| {
            w.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.name == "finetune-llm-r2")
        })
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].data["spec"]["active"], true);
}
