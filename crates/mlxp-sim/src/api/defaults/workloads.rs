//! The apps/v1 and batch/v1 defaults: `SetDefaults_Deployment`, `_ReplicaSet`,
//! `_StatefulSet`, `_DaemonSet`, `_Job`, `_CronJob`, each with its pod template's, and the
//! selector and labels the Job strategy gives a new Job.

use serde_json::{Map, Value, json};

use super::{Created, pod, unset_to};

fn spec_of(object: &mut Value) -> Option<&mut Map<String, Value>> {
    if !object.get("spec").is_some_and(Value::is_object) {
        object.as_object_mut()?.insert("spec".into(), json!({}));
    }
    object.get_mut("spec").and_then(Value::as_object_mut)
}

/// A pod template's spec defaulted; a protobuf body's zero creationTimestamp (the epoch)
/// is the null a real server shows.
fn template(spec: &mut Map<String, Value>) {
    let Some(template) = spec.get_mut("template").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(meta) = template.get_mut("metadata").and_then(Value::as_object_mut) {
        if meta
            .get("creationTimestamp")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("1970-01-01T00:00:00") || t.starts_with("0001-01-01"))
        {
            meta.insert("creationTimestamp".into(), Value::Null);
        }
        // A protobuf body's other Go zero values (`name: ""`, `generation: 0` …) are unset
        // to the apiserver, which shows none of them.
        meta.retain(|key, v| {
            key == "creationTimestamp" || !(v.as_str() == Some("") || v.as_i64() == Some(0))
        });
    }
    if let Some(pod_spec) = template.get_mut("spec").and_then(Value::as_object_mut) {
        pod::pod_spec(pod_spec);
    }
}

/// A strategy's `type`, defaulted, and its rolling update's parameters when it rolls.
fn strategy(spec: &mut Map<String, Value>, field: &str, rolling: Value) {
    let strategy = spec.entry(field).or_insert_with(|| json!({}));
    if !strategy.is_object() {
        *strategy = json!({});
    }
    let Some(strategy) = strategy.as_object_mut() else {
        return;
    };
    unset_to(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let update = strategy.entry("rollingUpdate").or_insert_with(|| json!({}));
        if !update.is_object() {
            *update = json!({});
        }
        if let (Some(update), Some(defaults)) = (update.as_object_mut(), rolling.as_object()) {
            for (k, v) in defaults {
                unset_to(update, k, v.clone());
            }
        }
    }
}

pub fn deployment(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    unset_to(spec, "replicas", json!(1));
    strategy(
        spec,
        "strategy",
        json!({"maxUnavailable": "25%", "maxSurge": "25%"}),
    );
    unset_to(spec, "revisionHistoryLimit", json!(10));
    unset_to(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
}

pub fn replica_set(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    unset_to(spec, "replicas", json!(1));
    template(spec);
}

pub fn stateful_set(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    unset_to(spec, "replicas", json!(1));
    unset_to(spec, "podManagementPolicy", json!("OrderedReady"));
    strategy(spec, "updateStrategy", json!({"partition": 0}));
    unset_to(spec, "revisionHistoryLimit", json!(10));
    unset_to(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    template(spec);
}

pub fn daemon_set(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    strategy(
        spec,
        "updateStrategy",
        json!({"maxUnavailable": 1, "maxSurge": 0}),
    );
    unset_to(spec, "revisionHistoryLimit", json!(10));
    template(spec);
}

/// A Job's defaults; a new one (unless its selector is manual) gets the selector on its
/// uid and the labels that tie its pods to it, as the Job strategy does.
pub fn job(object: &mut Value, created: Option<Created>) {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let Some(spec) = spec_of(object) else { return };
    job_spec(spec);
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    if let (Some(created), false) = (created, manual) {
        let uid = created.uid;
        spec.insert(
            "selector".into(),
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
        let template = spec.entry("template").or_insert_with(|| json!({}));
        if let Some(template) = template.as_object_mut() {
            let meta = template.entry("metadata").or_insert_with(|| json!({}));
            if !meta.is_object() {
                *meta = json!({});
            }
            let labels = &mut meta["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            for (key, value) in [
                ("batch.kubernetes.io/controller-uid", uid),
                ("batch.kubernetes.io/job-name", name.as_str()),
                ("controller-uid", uid),
                ("job-name", name.as_str()),
            ] {
                labels[key] = json!(value);
            }
        }
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    let unset = |spec: &Map<String, Value>, field: &str| spec.get(field).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
    }
    unset_to(spec, "parallelism", json!(1));
    if unset(spec, "backoffLimitPerIndex") {
        unset_to(spec, "backoffLimit", json!(6));
    }
    unset_to(spec, "completionMode", json!("NonIndexed"));
    unset_to(spec, "suspend", json!(false));
    if unset(spec, "podFailurePolicy") {
        unset_to(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    }
    template(spec);
}

pub fn cron_job(object: &mut Value) {
    let Some(spec) = spec_of(object) else { return };
    unset_to(spec, "concurrencyPolicy", json!("Allow"));
    unset_to(spec, "suspend", json!(false));
    unset_to(spec, "successfulJobsHistoryLimit", json!(3));
    unset_to(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job) = spec
        .get_mut("jobTemplate")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        template(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_from_a_protobuf_body_is_defaulted_as_the_apiserver_does() {
        // What `kubectl create deployment` sends (as JSON): Go zero values throughout.
        let mut d = json!({"metadata": {"name": "web"},
            "spec": {"replicas": 2, "strategy": {"type": ""}, "template": {
                "metadata": {"creationTimestamp": "1970-01-01T00:00:00Z", "labels": {"app": "web"},
                             "name": "", "selfLink": "", "generation": 0},
                "spec": {"schedulerName": "", "hostIPC": false, "hostNetwork": true, "hostname": "",
                         "containers": [{"name": "nginx", "image": "nginx", "imagePullPolicy": "",
                                         "stdin": false, "tty": true, "workingDir": ""}]}}}});
        deployment(&mut d);
        let spec = &d["spec"];
        assert_eq!(spec["replicas"], 2, "what was asked is kept");
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        assert!(spec["template"]["metadata"]["creationTimestamp"].is_null());
        assert_eq!(
            spec["template"]["metadata"],
            json!({"creationTimestamp": null, "labels": {"app": "web"}}),
            "the other zero values gone"
        );
        assert_eq!(
            spec["template"]["spec"]["schedulerName"],
            "default-scheduler"
        );
        assert_eq!(
            spec["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Always"
        );
        // Go's omitempty fields at their zero value are unset; set ones stay.
        let pod_spec = &spec["template"]["spec"];
        assert!(pod_spec.get("hostIPC").is_none() && pod_spec.get("hostname").is_none());
        assert_eq!(pod_spec["hostNetwork"], true);
        let container = &pod_spec["containers"][0];
        assert!(container.get("stdin").is_none() && container.get("workingDir").is_none());
        assert_eq!(container["tty"], true);
        let mut recreate = json!({"spec": {"strategy": {"type": "Recreate"}}});
        deployment(&mut recreate);
        assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn a_new_job_gets_its_selector_and_labels_on_its_uid() {
        let mut j = json!({"metadata": {"name": "j1"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox:1.36"}]}}}});
        let mut ip = || String::new();
        job(
            &mut j,
            Some(Created {
                uid: "u-1",
                cluster_ip: &mut ip,
            }),
        );
        let spec = &j["spec"];
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        assert_eq!(spec["template"]["metadata"]["labels"]["job-name"], "j1");
        assert_eq!(
            spec["template"]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"],
            "u-1"
        );
        assert_eq!(
            (spec["completions"].clone(), spec["parallelism"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(spec["backoffLimit"], 6);
        assert_eq!(spec["completionMode"], "NonIndexed");
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
        // Parallelism alone leaves completions unset (a work queue).
        let mut queue = json!({"spec": {"parallelism": 3}});
        job(&mut queue, None);
        assert!(queue["spec"]["completions"].is_null());
        assert!(
            queue["spec"]["selector"].is_null(),
            "only a create makes it"
        );
    }
}
