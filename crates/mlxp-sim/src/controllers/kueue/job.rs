//! Kueue's batch/Job integration: which Jobs are Kueue's, the name of a Job's Workload, and
//! the Workload made for it (jobframework.constructWorkload).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};

use super::model::count;
use super::{
    HASH_LENGTH, JOB_MANAGED_LABELS, JOB_UID_LABEL, MAX_NAME_PREFIX, POD_SET_NAME, QUEUE_NAME_LABEL,
};

pub(super) struct QueuedJob<'a> {
    pub(super) raw: &'a Value,
    pub(super) namespace: &'a str,
    pub(super) name: &'a str,
    pub(super) uid: &'a str,
    pub(super) queue: &'a str,
    pub(super) suspended: bool,
    /// status.active > 0: Kueue waits for these pods to go before making a Workload.
    pub(super) active: bool,
    /// (succeeded, message) once Complete or Failed is True.
    pub(super) finished: Option<(bool, &'a str)>,
    /// The name Kueue gives its Workload.
    pub(super) workload_name: String,
}

/// The Jobs that are Kueue's (they carry the queue-name label), by namespace and name.
pub(super) fn parse_jobs(jobs: &[Value]) -> Vec<QueuedJob<'_>> {
    let mut out: BTreeMap<(&str, &str), QueuedJob> = BTreeMap::new();
    for raw in jobs {
        let meta = &raw["metadata"];
        let Some(queue) = meta["labels"][QUEUE_NAME_LABEL]
            .as_str()
            .filter(|q| !q.is_empty())
        else {
            continue;
        };
        let Some(name) = meta["name"].as_str().filter(|n| !n.is_empty()) else {
            continue;
        };
        let namespace = meta["namespace"].as_str().unwrap_or("");
        let finished = raw["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
            .map(|c| (c["type"] == "Complete", c["message"].as_str().unwrap_or("")));
        let uid = meta["uid"].as_str().unwrap_or("");
        out.entry((namespace, name)).or_insert_with(|| QueuedJob {
            raw,
            namespace,
            name,
            uid,
            queue,
            suspended: raw["spec"]["suspend"].as_bool() == Some(true),
            active: raw["status"]["active"].as_i64().is_some_and(|n| n > 0)
                || raw["status"]["active"].as_u64().is_some_and(|n| n > 0),
            finished,
            workload_name: workload_name(name, uid),
        });
    }
    out.into_values().collect()
}

/// GetWorkloadNameForOwnerWithGVK: "job-<name>-" and 5 hex digits of a SHA-1 over the owner's
/// kind, group, name and uid.
pub fn workload_name(job_name: &str, job_uid: &str) -> String {
    let mut prefix = format!("job-{job_name}");
    if prefix.len() > MAX_NAME_PREFIX {
        let mut cut = MAX_NAME_PREFIX;
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        prefix.truncate(cut);
    }
    let hash = sha1_hex(format!("Job\nbatch\n{job_name}\n{job_uid}").as_bytes());
    format!("{prefix}-{}", hash.get(..HASH_LENGTH).unwrap_or(""))
}

/// validation.IsValidLabelValue.
pub(super) fn valid_label_value(v: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && edge_ok(v.chars().next())
        && edge_ok(v.chars().last())
}

/// jobframework.constructWorkload for a batch Job.
pub(super) fn new_workload(job: &QueuedJob) -> Value {
    let spec = &job.raw["spec"];
    // Parallelism defaults to 1; completions below it cap the pod count (podsCount).
    let parallelism = count(&spec["parallelism"]).unwrap_or(1);
    let pods = count(&spec["completions"]).map_or(parallelism, |c| c.min(parallelism));
    let mut template = match &spec["template"] {
        t @ Value::Object(_) => t.clone(),
        _ => json!({}),
    };
    if let Some(labels) = template
        .get_mut("metadata")
        .and_then(|m| m.get_mut("labels"))
        .and_then(Value::as_object_mut)
    {
        for l in JOB_MANAGED_LABELS {
            labels.remove(l);
        }
    }
    let mut labels = Map::new();
    if valid_label_value(job.uid) {
        labels.insert(JOB_UID_LABEL.into(), json!(job.uid));
    }
    json!({
        "apiVersion": "kueue.x-k8s.io/v1beta1",
        "kind": "Workload",
        "metadata": {
            "name": job.workload_name,
            "namespace": job.namespace,
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "Job", "name": job.name, "uid": job.uid,
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "queueName": job.queue,
            "podSets": [{"name": POD_SET_NAME, "count": pods, "template": template}],
            "priority": 0,
            "active": true,
        },
    })
}
/// SHA-1 in lowercase hex, for Kueue's Workload names; not used for security.
pub(super) fn sha1_hex(data: &[u8]) -> String {
    Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kueue::testkit::*;

    #[test]
    fn a_queued_job_is_suspended_and_gets_a_workload() {
        let mut j = job("train", 8);
        j["metadata"]["uid"] = json!("uid-1");
        j["spec"]["parallelism"] = json!(3);
        j["spec"]["completions"] = json!(2);
        let mut w = World::new("StrictFIFO");
        w.jobs = vec![j.clone()];
        let actions: Vec<KueueAction> = reconcile(&w.state(), at(0))
            .into_iter()
            .filter(|a| !is_queue_status(a))
            .collect();
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert_eq!(
            actions[0],
            KueueAction::SuspendJob {
                namespace: NS.into(),
                name: "train".into()
            }
        );
        let KueueAction::CreateWorkload { workload } = &actions[1] else {
            panic!("expected CreateWorkload, got {:?}", actions[1]);
        };
        // Kueue's name for it: sha1("Job\nbatch\ntrain\nuid-1") starts a6870.
        assert_eq!(workload["metadata"]["name"], "job-train-a6870");
        assert_eq!(workload["metadata"]["namespace"], NS);
        assert_eq!(workload["metadata"]["labels"][JOB_UID_LABEL], "uid-1");
        assert_eq!(
            workload["metadata"]["ownerReferences"],
            json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "train", "uid": "uid-1",
                    "controller": true, "blockOwnerDeletion": true}])
        );
        assert_eq!(workload["spec"]["queueName"], "team");
        assert_eq!(workload["spec"]["priority"], 0);
        let ps = &workload["spec"]["podSets"][0];
        assert_eq!(ps["name"], "main");
        assert_eq!(ps["count"], 2);
        let mut template = j["spec"]["template"].clone();
        template["metadata"]["labels"] = json!({"app": "train"});
        assert_eq!(ps["template"], template);

        // Pods still running: suspend first, the Workload comes once they are gone.
        j["status"]["active"] = json!(2);
        w.jobs = vec![j.clone()];
        let actions: Vec<KueueAction> = reconcile(&w.state(), at(0))
            .into_iter()
            .filter(|a| !is_queue_status(a))
            .collect();
        assert_eq!(
            actions,
            [KueueAction::SuspendJob {
                namespace: NS.into(),
                name: "train".into()
            }]
        );
        // Without the label, or finished, a Job is not Kueue's business.
        let mut plain = job("plain", 8);
        plain["metadata"]["labels"] = json!({"app": "x"});
        let mut done = job("done", 8);
        done["status"]["conditions"] = json!([{"type": "Complete", "status": "True"}]);
        w.jobs = vec![plain, done];
        let actions = reconcile(&w.state(), at(0));
        assert!(actions.iter().all(is_queue_status), "{actions:?}");
    }

    #[test]
    fn sha1_and_workload_names_match_go() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            sha1_hex(&[b'a'; 1000]),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
        assert_eq!(workload_name("train-0", "uid-0"), "job-train-0-aec83");
        let long = workload_name(&"x".repeat(300), "u");
        assert_eq!(long.len(), 253);
        assert!(long.starts_with("job-xxx"));
        assert!(valid_label_value("0b5d1a9e-0c1f-4a55-9d5b-2f3c4e5a6b7c"));
        assert!(!valid_label_value("-x"));
        assert!(!valid_label_value(&"a".repeat(64)));
    }
}
