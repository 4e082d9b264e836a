//! Every verb that changes the cluster leaves its record: one audit line per attempt (done,
//! with its op and effect) and a Kubernetes Event with its reason on the object it changed.

mod common;

use common::ops::{audit_lines, events_with_reason, platform, text};

#[tokio::test]
async fn every_verb_leaves_an_audit_line_and_an_event() {
    let p = platform().await;
    let node = "gke-mlxp-training-3a006-3";
    // (the verb, its op as the audit line names it, its Event's reason)
    let verbs: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["canary", "set", "fraud-detector", "v1=70", "v2=30"],
            "set-weights",
            "CanaryWeightsSet",
        ),
        (
            vec!["canary", "step", "fraud-detector"],
            "step-canary",
            "CanaryWeightsSet",
        ),
        (
            vec!["approve", "fraud-detector", "v2"],
            "approve",
            "VersionApproved",
        ),
        (
            vec!["reject", "recsys-ranker", "v6", "--reason", "worse"],
            "reject",
            "VersionRejected",
        ),
        (
            vec![
                "serving",
                "scale",
                "fraud-detector",
                "v1",
                "--min",
                "2",
                "--max",
                "8",
            ],
            "scale-version",
            "VersionScaled",
        ),
        (
            vec!["serving", "restart", "fraud-detector", "v1"],
            "restart-version",
            "VersionRestarted",
        ),
        (
            vec!["retrain", "churn-predictor"],
            "retrain",
            "RetrainTriggered",
        ),
        (
            vec!["train", "fraud-detector", "--gpus", "4"],
            "train",
            "TrainingLaunched",
        ),
        (vec!["node", "cordon", node], "cordon", "NodeCordoned"),
        (vec!["node", "uncordon", node], "uncordon", "NodeUncordoned"),
        (vec!["node", "drain", node], "drain", "NodeDrained"),
        (
            vec!["queue", "stop", "training", "--keep-running"],
            "stop-queue",
            "QueueStopped",
        ),
        (
            vec!["queue", "resume", "training"],
            "resume-queue",
            "QueueResumed",
        ),
        (
            vec!["job", "suspend", "finetune-llm-r2"],
            "suspend-job",
            "JobSuspended",
        ),
        (
            vec!["job", "resume", "finetune-llm-r2"],
            "resume-job",
            "JobResumed",
        ),
        (
            vec!["promote", "fraud-detector", "v2"],
            "promote",
            "ModelPromoted",
        ),
    ];
    for (args, _, _) in &verbs {
        let out = p.mlxp(args).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let lines = audit_lines(&p.audit_path());
    assert_eq!(lines.len(), verbs.len(), "one line per attempt");
    for ((args, op, reason), line) in verbs.iter().zip(&lines) {
        assert_eq!(line.op["op"], *op, "{args:?}");
        assert_eq!(line.result, "done", "{args:?}");
        assert!(!line.dry_run);
        assert_eq!(line.user, "mlxp-admin");
        assert!(!line.effect.is_empty(), "{args:?}");
        assert!(
            !events_with_reason(&p.sim, reason).await.is_empty(),
            "{args:?}: an Event {reason}"
        );
    }
}
