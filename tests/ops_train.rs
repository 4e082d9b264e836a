//! `mlxp train` against the embedded cluster: the Job made from the Model's training spec
//! with the overrides, read back through kube and admitted by Kueue to the flavor the
//! overrides ask for; input the cluster cannot meet is refused before anything is sent.

mod common;

use std::time::Duration;

use common::ops::{events_with_reason, platform, text};
use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;
use serde_json::{Value, json};

#[tokio::test]
async fn train_with_overrides_creates_the_next_run_where_it_was_asked() {
    let p = platform().await;
    let out = p
        .mlxp(&[
            "train",
            "churn-predictor",
            "--gpus",
            "4",
            "--on-demand",
            "--set",
            "LR=0.01",
            "--dataset",
            "gs://mlxp-datasets/churn/v9",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "churn-predictor: training Job training/train-churn-predictor-r8 (4 GPUs a pod, queue training)\n"
    );
    let jobs: Api<Job> = Api::namespaced(p.sim.client(false).await.expect("client"), "training");
    let job = serde_json::to_value(jobs.get("train-churn-predictor-r8").await.expect("the job"))
        .expect("json");
    let pod = &job["spec"]["template"]["spec"];
    let trainer = &pod["containers"][0];
    assert_eq!(trainer["resources"]["limits"]["nvidia.com/gpu"], "4");
    assert_eq!(
        trainer["env"],
        json!([{"name": "LR", "value": "0.01"},
               {"name": "DATASET_URI", "value": "gs://mlxp-datasets/churn/v9"}])
    );
    assert_eq!(
        pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchExpressions"],
        json!([{"key": "cloud.google.com/gke-spot", "operator": "NotIn", "values": ["true"]}])
    );
    assert_eq!(
        job["metadata"]["labels"]["mlxp.io/model"],
        "churn-predictor"
    );
    assert_eq!(
        events_with_reason(&p.sim, "TrainingLaunched").await.len(),
        1
    );

    // Kueue queues it (the quota is taken) and rules the spot flavor out for it.
    p.sim.advance(Duration::from_secs(5));
    let workloads: Api<kube::api::DynamicObject> = Api::namespaced_with(
        p.sim.client(false).await.expect("client"),
        "training",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("kueue.x-k8s.io", "v1beta1", "Workload"),
            "workloads",
        ),
    );
    let mine = workloads
        .list(&Default::default())
        .await
        .expect("workloads")
        .items
        .into_iter()
        .find(|w| {
            w.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("job-train-churn-predictor-r8-"))
        })
        .expect("its Workload");
    let said: Vec<Value> = mine.data["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .filter(|c| c["type"] == "QuotaReserved")
        .cloned()
        .collect();
    let message = said[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("flavor h100-spot doesn't match node affinity")
            && message.contains("in flavor h100-ondemand"),
        "{message}"
    );
}

#[tokio::test]
async fn train_input_the_cluster_cannot_meet_is_refused_and_nothing_is_made() {
    let p = platform().await;
    let jobs: Api<Job> = Api::namespaced(p.sim.client(false).await.expect("client"), "training");
    let before = jobs
        .list(&Default::default())
        .await
        .expect("jobs")
        .items
        .len();
    for (args, code, said) in [
        (
            vec!["--gpus", "16"],
            3,
            "mlxp: 16 GPUs a pod: the largest node there holds 8\n",
        ),
        (
            vec!["--gpus", "0"],
            3,
            "mlxp: 0 GPUs: a run needs at least 1\n",
        ),
        (
            vec!["--queue", "nope"],
            3,
            "mlxp: no LocalQueue nope in training\n",
        ),
        (vec!["--pool", "gpu-x"], 3, "mlxp: no node pool gpu-x\n"),
    ] {
        let mut all = vec!["train", "churn-predictor"];
        all.extend(args.iter().copied());
        let out = p.mlxp(&all).await;
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr), said, "{args:?}");
    }
    let out = p.mlxp(&["train", "churn-predictor", "--gpus", "abc"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid value 'abc' for '--gpus <GPUS>'"),
        "{}",
        text(&out.stderr)
    );
    let out = p.mlxp(&["train", "no-such-model"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        jobs.list(&Default::default())
            .await
            .expect("jobs")
            .items
            .len(),
        before
    );
}
