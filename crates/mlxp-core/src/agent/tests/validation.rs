//! A Model with a validation Job template: its versions are judged by what that Job hands
//! back, the Job run first — not by the training metrics.

use super::*;
use crate::ops::{Actor, plan};

/// fraud-detector validated by a Job in `training` that must find an accuracy of 0.85.
fn with_validation_job(snapshot: &mut Snapshot) {
    snapshot.models.add_json(json!({
        "metadata": {"name": "fraud-detector", "namespace": "serving"},
        "spec": {"canary": {"steps": [{"weight": 10}, {"weight": 100}]},
                 "validation": {"minAccuracy": 0.85, "namespace": "training",
                                "template": {"spec": {"containers": [{"name": "eval", "image": "eval:1"}]}}}},
    }));
}

fn actor(user: &str) -> Actor {
    Actor {
        user: user.into(),
        now: now(),
    }
}

/// The first request's body and the effect `op` is planned with.
fn planned(snapshot: &Snapshot, op: &Op) -> (Value, String) {
    let planned = plan(op, snapshot, &actor("mlxp-agent")).expect("planned");
    let body = match &planned.requests[0].change {
        crate::ops::Change::Create(body) | crate::ops::Change::MergePatch(body) => body.clone(),
        other => panic!("a create or a merge, not {other:?}"),
    };
    (body, planned.effect)
}

/// The validation Job of v12, and (when it ended) its pod with what it handed back.
fn validation_job(snapshot: &mut Snapshot, condition: Option<&str>, accuracy: f64) {
    let name = "validate-fraud-detector-v12";
    let mut job = json!({"metadata": {"name": name, "namespace": "training", "uid": "vj",
                                      "labels": {"mlxp.io/validates": "fraud-detector"}},
                         "status": {"active": 1}});
    if let Some(condition) = condition {
        job["status"] = json!({"conditions": [{"type": condition, "status": "True",
                                               "reason": "BackoffLimitExceeded"}]});
    }
    add(&mut snapshot.jobs, job);
    if condition == Some("Complete") {
        add(
            &mut snapshot.pods,
            json!({"metadata": {"name": format!("{name}-x1"), "namespace": "training",
                                "ownerReferences": [{"kind": "Job", "name": name, "uid": "vj", "controller": true}]},
                   "status": {"phase": "Succeeded", "containerStatuses": [{"name": "eval", "state": {"terminated": {
                       "exitCode": 0, "message": json!({"accuracy": accuracy}).to_string()}}}]}}),
        );
    }
}

fn pipeline_of(snapshot: &Snapshot) -> Decision {
    let d = decide_with(snapshot, Ok(&frame(40.0, 0.0, 0.1)), &BTreeMap::new());
    only(&d, "pipeline").clone()
}

fn stage_written(snapshot: &Snapshot, op: &Op) -> (String, String) {
    let (body, effect) = planned(snapshot, op);
    (
        body["spec"]["stage"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        effect,
    )
}

#[test]
fn a_registered_version_is_judged_by_its_validation_job_run_first() {
    let mut snapshot = Snapshot::synced_for_tests();
    with_validation_job(&mut snapshot);
    // Its training said 0.9, over the 0.85 asked: not what it is judged on here.
    version(&mut snapshot, "v12", "Registered", json!({}));
    let first = pipeline_of(&snapshot);
    assert!(
        matches!(&first.op, Some(Op::RunValidation { version, .. }) if version == "v12"),
        "{first:?}"
    );
    let (job, effect) = planned(&snapshot, first.op.as_ref().expect("an op"));
    assert_eq!(job["metadata"]["namespace"], "training");
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(
        job["metadata"]["labels"]["mlxp.io/validates"],
        "fraud-detector"
    );
    assert!(
        job["metadata"]["labels"]["mlxp.io/model"].is_null(),
        "not a training run"
    );
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["env"][0],
        json!({"name": "MODEL_VERSION", "value": "v12"})
    );
    assert_eq!(
        effect,
        "fraud-detector v12: validation Job training/validate-fraud-detector-v12 started"
    );

    let mut running = snapshot.clone();
    validation_job(&mut running, None, 0.0);
    let waiting = pipeline_of(&running);
    assert_eq!(waiting.op, None);
    assert_eq!(
        waiting.reason,
        "v12 waits: validation Job training/validate-fraud-detector-v12 runs"
    );
    // Validating by hand before it ends is refused.
    let validate = Op::Validate {
        namespace: "serving".into(),
        model: "fraud-detector".into(),
        version: "v12".into(),
    };
    assert!(plan(&validate, &running, &actor("ana")).is_err());

    let mut short = snapshot.clone();
    validation_job(&mut short, Some("Complete"), 0.8);
    let judged = pipeline_of(&short);
    assert_eq!(judged.op.as_ref(), Some(&validate));
    assert_eq!(
        stage_written(&short, &validate),
        (
            "Rejected".to_string(),
            "fraud-detector v12 rejected: accuracy 0.8 < 0.85 (the metrics of validation Job training/validate-fraud-detector-v12)".to_string()
        )
    );

    let mut good = snapshot.clone();
    validation_job(&mut good, Some("Complete"), 0.97);
    assert_eq!(stage_written(&good, &validate).0, "Validated");

    let mut failed = snapshot.clone();
    validation_job(&mut failed, Some("Failed"), 0.0);
    assert_eq!(pipeline_of(&failed).op.as_ref(), Some(&validate));
    let (stage, effect) = stage_written(&failed, &validate);
    assert_eq!(stage, "Rejected");
    assert!(
        effect.contains(
            "validation Job training/validate-fraud-detector-v12 failed (BackoffLimitExceeded"
        ),
        "{effect}"
    );
}
