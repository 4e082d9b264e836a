use super::*;

fn at(secs: i64) -> DateTime<Utc> {
    parse_time("2026-11-29T08:00:00Z").expect("valid time") + TimeDelta::seconds(secs)
}

fn ts(secs: i64) -> String {
    timestamp(at(secs))
}

fn job(mut spec: Value) -> Value {
    if spec.get("template").is_none() {
        spec["template"] = json!({
            "metadata": {"labels": {"app": "train"}, "annotations": {"team": "ml"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "trainer:1"}]},
        });
    }
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "train", "namespace": "ml", "uid": "job-uid"},
        "spec": spec,
    })
}

/// The Job and its pods, changed by the actions as the real caller would change them.
struct World {
    job: Value,
    pods: Vec<Value>,
    created: usize,
    job_deleted: bool,
}

impl World {
    fn new(spec: Value) -> Self {
        World {
            job: job(spec),
            pods: Vec::new(),
            created: 0,
            job_deleted: false,
        }
    }

    fn step(&mut self, secs: i64) -> Vec<JobAction> {
        let actions = reconcile(&self.job, &self.pods, at(secs));
        for action in &actions {
            match action {
                JobAction::CreatePod { pod } => {
                    self.created += 1;
                    let mut pod = pod.clone();
                    pod["metadata"]["name"] = json!(format!("train-{}", self.created));
                    pod["metadata"]["creationTimestamp"] = json!(ts(secs));
                    pod["metadata"]["ownerReferences"] = json!([{"kind": "Job", "name": "train", "uid": "job-uid", "controller": true}]);
                    pod["status"] = json!({"phase": "Pending"});
                    self.pods.push(pod);
                }
                JobAction::DeletePod { name } => {
                    self.pods.retain(|p| p["metadata"]["name"] != *name)
                }
                JobAction::SetStatus { status } => self.job["status"] = status.clone(),
                JobAction::DeleteJob => self.job_deleted = true,
            }
        }
        actions
    }

    fn pod(&mut self, name: &str) -> &mut Value {
        self.pods
            .iter_mut()
            .find(|p| p["metadata"]["name"] == name)
            .expect("pod exists")
    }

    fn run(&mut self, name: &str, ready: bool) {
        let pod = self.pod(name);
        pod["spec"]["nodeName"] = json!("gpu-node-1");
        pod["status"] = json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": ts(1)}],
            "containerStatuses": [{"name": "main", "restartCount": 0, "state": {"running": {"startedAt": ts(1)}}}],
        });
    }

    fn finish(&mut self, name: &str, phase: &str, secs: i64) {
        let pod = self.pod(name);
        pod["status"] = json!({
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": ts(secs)}],
            "containerStatuses": [{"name": "main", "state": {"terminated": {
                "exitCode": if phase == "Failed" { 1 } else { 0 }, "finishedAt": ts(secs)}}}],
        });
    }

    fn status(&self) -> &Value {
        &self.job["status"]
    }

    fn condition_types(&self) -> Vec<&str> {
        self.status()["conditions"]
            .as_array()
            .map(|cs| cs.iter().filter_map(|c| c["type"].as_str()).collect())
            .unwrap_or_default()
    }
}

fn creates(actions: &[JobAction]) -> Vec<&Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            JobAction::CreatePod { pod } => Some(pod),
            _ => None,
        })
        .collect()
}

fn deletes(actions: &[JobAction]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            JobAction::DeletePod { name } => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

fn sets_status(actions: &[JobAction]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, JobAction::SetStatus { .. }))
}

fn condition<'v>(status: &'v Value, kind: &str) -> &'v Value {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .unwrap_or(&Value::Null)
}

#[test]
fn a_one_of_one_job_creates_one_pod_from_its_template() {
    let mut w = World::new(json!({}));
    let actions = w.step(0);
    let pods = creates(&actions);
    assert_eq!(pods.len(), 1);
    assert_eq!(
        *pods[0],
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": "train-", "labels": {"app": "train"}, "annotations": {"team": "ml"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "trainer:1"}]},
        })
    );
    assert_eq!(
        *w.status(),
        json!({"active": 1, "ready": 0, "terminating": 0, "startTime": ts(0), "uncountedTerminatedPods": {}})
    );
    // Nothing changed: nothing to do, not even a status write.
    assert_eq!(w.step(1), vec![]);
    assert_eq!(next_due(&w.job, at(1)), None);
}

#[test]
fn running_and_ready_pods_are_counted() {
    let mut w = World::new(json!({"parallelism": 2, "completions": 2}));
    w.step(0);
    w.run("train-1", true);
    w.run("train-2", false);
    let actions = w.step(5);
    assert!(creates(&actions).is_empty());
    assert_eq!(w.status()["active"], 2);
    assert_eq!(w.status()["ready"], 1);
    assert_eq!(w.status()["startTime"], ts(0));
}

#[test]
fn success_completes_with_criteria_met_then_complete() {
    let mut w = World::new(json!({"completions": 1, "parallelism": 1}));
    w.step(0);
    w.run("train-1", true);
    w.step(5);
    assert_eq!(w.status()["active"], 1);
    w.finish("train-1", "Succeeded", 30);
    let actions = w.step(31);
    assert!(creates(&actions).is_empty() && deletes(&actions).is_empty());
    let status = w.status();
    assert_eq!(w.condition_types(), ["SuccessCriteriaMet", "Complete"]);
    for kind in ["SuccessCriteriaMet", "Complete"] {
        assert_eq!(
            *condition(status, kind),
            json!({"type": kind, "status": "True", "reason": "CompletionsReached",
                   "message": "Reached expected number of succeeded pods",
                   "lastProbeTime": ts(31), "lastTransitionTime": ts(31)})
        );
    }
    assert_eq!(status["completionTime"], ts(31));
    assert_eq!(status["succeeded"], 1);
    assert!(status.get("active").is_none() && status.get("failed").is_none());
    // A finished Job without a TTL is left alone for good.
    assert_eq!(w.step(5000), vec![]);
    assert_eq!(next_due(&w.job, at(5000)), None);
}

#[test]
fn parallelism_three_completions_five_never_overshoots() {
    let mut w = World::new(json!({"parallelism": 3, "completions": 5}));
    assert_eq!(creates(&w.step(0)).len(), 3);
    for p in ["train-1", "train-2", "train-3"] {
        w.run(p, true);
    }
    w.finish("train-1", "Succeeded", 10);
    w.finish("train-2", "Succeeded", 11);
    // 2 done, 3 to go, 1 running: 2 more.
    assert_eq!(creates(&w.step(12)).len(), 2);
    assert_eq!(
        (
            w.status()["active"].clone(),
            w.status()["succeeded"].clone()
        ),
        (json!(3), json!(2))
    );
    w.finish("train-3", "Succeeded", 20);
    w.finish("train-4", "Succeeded", 21);
    // 4 done and train-5 still running: that is all the last completion needs.
    let actions = w.step(22);
    assert!(creates(&actions).is_empty());
    assert_eq!(w.status()["succeeded"], 4);
    assert!(w.condition_types().is_empty());
    w.finish("train-5", "Succeeded", 30);
    w.step(31);
    assert_eq!(w.created, 5);
    assert_eq!(w.status()["succeeded"], 5);
    assert_eq!(w.condition_types(), ["SuccessCriteriaMet", "Complete"]);
}

#[test]
fn extra_active_pods_are_deleted_and_complete_waits_for_them() {
    let mut w = World::new(json!({"parallelism": 2, "completions": 2}));
    w.step(0);
    w.finish("train-1", "Succeeded", 10);
    w.finish("train-2", "Succeeded", 11);
    // A third pod that something else started for this Job.
    w.pods.push(json!({"metadata": {"name": "stray", "ownerReferences": [{"controller": true, "uid": "job-uid"}]},
                       "status": {"phase": "Running"}}));
    let actions = w.step(12);
    assert_eq!(deletes(&actions), ["stray"]);
    assert_eq!(w.condition_types(), ["SuccessCriteriaMet"]);
    assert_eq!(w.status()["terminating"], 1);
    assert!(w.status().get("completionTime").is_none());
    w.step(13);
    assert_eq!(w.condition_types(), ["SuccessCriteriaMet", "Complete"]);
    assert_eq!(w.status()["completionTime"], ts(13));
    assert_eq!(w.status()["terminating"], 0);
    assert!(w.status().get("failed").is_none());
}

#[test]
fn backoff_limit_two_fails_after_the_third_failure_with_growing_delays() {
    let mut w = World::new(json!({"backoffLimit": 2}));
    w.step(0);
    w.finish("train-1", "Failed", 5);
    // First failure: 10 s before the replacement.
    let actions = w.step(5);
    assert!(creates(&actions).is_empty());
    assert_eq!(w.status()["failed"], 1);
    assert!(w.status().get("active").is_none());
    assert_eq!(next_due(&w.job, at(5)), None);
    assert_eq!(next_due_with_pods(&w.job, &w.pods, at(5)), Some(at(15)));
    assert!(creates(&w.step(14)).is_empty());
    assert_eq!(creates(&w.step(15)).len(), 1);
    // Second failure: 20 s.
    w.finish("train-2", "Failed", 20);
    assert!(creates(&w.step(20)).is_empty());
    assert_eq!(next_due_with_pods(&w.job, &w.pods, at(20)), Some(at(40)));
    assert!(creates(&w.step(39)).is_empty());
    assert_eq!(creates(&w.step(40)).len(), 1);
    assert!(w.condition_types().is_empty());
    // Third failure: failed 3 > backoffLimit 2.
    w.finish("train-3", "Failed", 50);
    let actions = w.step(50);
    assert!(creates(&actions).is_empty());
    assert_eq!(w.condition_types(), ["FailureTarget", "Failed"]);
    let failed = condition(w.status(), "Failed");
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(
        failed["message"],
        "Job has reached the specified backoff limit"
    );
    assert_eq!(failed["lastTransitionTime"], ts(50));
    assert_eq!(w.status()["failed"], 3);
    assert!(w.status().get("completionTime").is_none());
    assert_eq!(w.step(1000), vec![]);
    assert_eq!(w.created, 3);
}

#[test]
fn backoff_doubles_per_failure_caps_and_resets_after_a_success() {
    let failed_at = |name: &str, phase: &str, secs: i64| {
        json!({"metadata": {"name": name}, "status": {"phase": phase, "containerStatuses": [
            {"name": "main", "state": {"terminated": {"finishedAt": ts(secs)}}}]}})
    };
    let mut j = job(json!({"backoffLimit": 100, "completions": 100}));
    j["status"] = json!({"startTime": ts(0)});
    let mut pods = Vec::new();
    let mut delays = Vec::new();
    for n in 1..=8 {
        pods.push(failed_at(&format!("f{n}"), "Failed", 0));
        let due = next_due_with_pods(&j, &pods, at(0)).expect("held back");
        delays.push((due - at(0)).num_seconds());
    }
    assert_eq!(delays, [10, 20, 40, 80, 160, 320, 600, 600]);
    // A later success resets the count; a failure after it starts again at 10 s.
    pods.push(failed_at("ok", "Succeeded", 5));
    assert_eq!(next_due_with_pods(&j, &pods, at(6)), None);
    pods.push(failed_at("again", "Failed", 7));
    assert_eq!(next_due_with_pods(&j, &pods, at(7)), Some(at(17)));
}

#[test]
fn active_deadline_fails_the_job_and_deletes_its_pods() {
    let mut w = World::new(json!({"activeDeadlineSeconds": 60}));
    w.step(0);
    assert_eq!(next_due(&w.job, at(0)), Some(at(60)));
    w.run("train-1", true);
    let actions = w.step(59);
    assert!(deletes(&actions).is_empty());
    let actions = w.step(60);
    assert_eq!(deletes(&actions), ["train-1"]);
    assert_eq!(w.condition_types(), ["FailureTarget"]);
    let target = condition(w.status(), "FailureTarget");
    assert_eq!(target["reason"], "DeadlineExceeded");
    assert_eq!(
        target["message"],
        "Job was active longer than specified deadline"
    );
    assert_eq!(w.status()["terminating"], 1);
    // The pod killed for the Job's failure counts as failed.
    assert_eq!(w.status()["failed"], 1);
    assert!(w.status().get("active").is_none());
    // Its pod gone, the Job is Failed.
    w.step(61);
    assert_eq!(w.condition_types(), ["FailureTarget", "Failed"]);
    assert_eq!(
        condition(w.status(), "Failed")["reason"],
        "DeadlineExceeded"
    );
    assert_eq!(w.status()["failed"], 1);
    assert_eq!(w.status()["terminating"], 0);
    assert!(w.status().get("completionTime").is_none());
}

#[test]
fn suspend_deletes_active_pods_and_resume_restarts_the_clock() {
    let mut w =
        World::new(json!({"parallelism": 2, "completions": 4, "activeDeadlineSeconds": 100}));
    w.step(0);
    w.run("train-1", true);
    w.run("train-2", true);
    w.job["spec"]["suspend"] = json!(true);
    let actions = w.step(10);
    let mut gone = deletes(&actions);
    gone.sort_unstable();
    assert_eq!(gone, ["train-1", "train-2"]);
    assert!(creates(&actions).is_empty());
    let suspended = condition(w.status(), "Suspended");
    assert_eq!(
        *suspended,
        json!({"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended",
               "lastProbeTime": ts(10), "lastTransitionTime": ts(10)})
    );
    assert!(w.status().get("startTime").is_none());
    assert_eq!(
        (
            w.status()["ready"].clone(),
            w.status()["terminating"].clone()
        ),
        (json!(0), json!(2))
    );
    // Pods taken away by a suspension are not failures.
    assert!(w.status().get("failed").is_none());
    w.step(11);
    assert_eq!(w.status()["terminating"], 0);
    assert_eq!(w.step(500), vec![]);
    // Suspended: no deadline runs.
    assert_eq!(next_due(&w.job, at(500)), None);
    w.job["spec"]["suspend"] = json!(false);
    let actions = w.step(1000);
    assert_eq!(creates(&actions).len(), 2);
    let resumed = condition(w.status(), "Suspended");
    assert_eq!(resumed["status"], "False");
    assert_eq!(resumed["reason"], "JobResumed");
    assert_eq!(resumed["message"], "Job resumed");
    assert_eq!(resumed["lastTransitionTime"], ts(1000));
    assert_eq!(w.status()["startTime"], ts(1000));
    // The deadline counts from the resume, not from the first start.
    assert_eq!(next_due(&w.job, at(1000)), Some(at(1100)));
    assert!(w.condition_types().iter().all(|t| *t == "Suspended"));
}

#[test]
fn a_job_created_suspended_starts_when_resumed() {
    let mut w = World::new(json!({"suspend": true}));
    assert_eq!(next_due(&w.job, at(0)), Some(at(0)));
    let actions = w.step(0);
    assert!(creates(&actions).is_empty());
    assert_eq!(condition(w.status(), "Suspended")["status"], "True");
    assert!(w.status().get("startTime").is_none());
    assert_eq!(next_due(&w.job, at(0)), None);
    w.job["spec"]["suspend"] = json!(false);
    // Not reconciled since the resume: due at once.
    assert_eq!(next_due(&w.job, at(50)), Some(at(50)));
    assert_eq!(creates(&w.step(50)).len(), 1);
    assert_eq!(w.status()["startTime"], ts(50));
    assert_eq!(condition(w.status(), "Suspended")["reason"], "JobResumed");
}

#[test]
fn a_job_never_suspended_gets_no_suspended_condition() {
    let mut w = World::new(json!({}));
    w.step(0);
    assert!(w.condition_types().is_empty());
}

#[test]
fn ttl_deletes_the_finished_job_once_expired() {
    let mut w = World::new(json!({"ttlSecondsAfterFinished": 100}));
    w.step(0);
    assert_eq!(next_due(&w.job, at(0)), None);
    w.finish("train-1", "Succeeded", 30);
    w.step(31);
    assert_eq!(next_due(&w.job, at(31)), Some(at(131)));
    assert_eq!(w.step(130), vec![]);
    assert_eq!(w.step(131), vec![JobAction::DeleteJob]);
    assert!(w.job_deleted);
    // Already being deleted: left to the garbage collector.
    w.job["metadata"]["deletionTimestamp"] = json!(ts(131));
    assert_eq!(reconcile(&w.job, &w.pods, at(200)), vec![]);
    assert_eq!(next_due(&w.job, at(200)), None);
}

#[test]
fn ttl_also_runs_from_a_failure() {
    let mut w = World::new(json!({"backoffLimit": 0, "ttlSecondsAfterFinished": 0}));
    w.step(0);
    w.finish("train-1", "Failed", 3);
    w.step(4);
    assert_eq!(w.condition_types(), ["FailureTarget", "Failed"]);
    assert_eq!(next_due(&w.job, at(4)), Some(at(4)));
    assert_eq!(w.step(4), vec![JobAction::DeleteJob]);
}

#[test]
fn work_queue_mode_completes_when_one_succeeded_and_the_rest_ended() {
    // Parallelism without completions: the API leaves completions unset.
    let mut w = World::new(json!({"parallelism": 2}));
    assert_eq!(creates(&w.step(0)).len(), 2);
    w.finish("train-1", "Succeeded", 10);
    w.run("train-2", true);
    let actions = w.step(11);
    assert!(creates(&actions).is_empty());
    assert!(w.condition_types().is_empty());
    w.finish("train-2", "Succeeded", 20);
    w.step(21);
    assert_eq!(w.condition_types(), ["SuccessCriteriaMet", "Complete"]);
    assert_eq!(w.status()["succeeded"], 2);
}

#[test]
fn indexed_jobs_hand_out_the_lowest_free_indexes() {
    let mut w =
        World::new(json!({"completionMode": "Indexed", "completions": 3, "parallelism": 2}));
    let actions = w.step(0);
    let pods = creates(&actions);
    assert_eq!(pods.len(), 2);
    for (i, pod) in pods.iter().enumerate() {
        let ix = i.to_string();
        assert_eq!(pod["metadata"]["annotations"][COMPLETION_INDEX], ix);
        assert_eq!(pod["metadata"]["labels"][COMPLETION_INDEX], ix);
        assert_eq!(pod["metadata"]["labels"]["app"], "train");
        assert_eq!(pod["metadata"]["generateName"], format!("train-{i}-"));
        assert_eq!(pod["spec"]["hostname"], format!("train-{i}"));
        assert_eq!(
            pod["spec"]["containers"][0]["env"],
            json!([{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}])
        );
    }
    w.finish("train-1", "Succeeded", 10);
    let actions = w.step(11);
    let next = creates(&actions);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["metadata"]["annotations"][COMPLETION_INDEX], "2");
    assert_eq!(w.status()["completedIndexes"], "0");
    w.finish("train-2", "Succeeded", 20);
    w.finish("train-3", "Succeeded", 21);
    w.step(22);
    assert_eq!(w.status()["completedIndexes"], "0-2");
    assert_eq!(w.status()["succeeded"], 3);
    assert_eq!(w.condition_types(), ["SuccessCriteriaMet", "Complete"]);
}

#[test]
fn indexed_jobs_delete_repeated_and_invalid_indexes() {
    let mut w =
        World::new(json!({"completionMode": "Indexed", "completions": 2, "parallelism": 2}));
    w.step(0);
    w.run("train-1", true);
    // A second pod for index 0 (not ready, so it goes), and one with an index out of range.
    let mut twin = w.pods[0].clone();
    twin["metadata"]["name"] = json!("twin");
    twin["status"]["conditions"][0]["status"] = json!("False");
    let mut stray = w.pods[0].clone();
    stray["metadata"]["name"] = json!("stray");
    stray["metadata"]["annotations"][COMPLETION_INDEX] = json!("7");
    w.pods.push(twin);
    w.pods.push(stray);
    let actions = w.step(5);
    let mut gone = deletes(&actions);
    gone.sort_unstable();
    assert_eq!(gone, ["stray", "twin"]);
    assert!(creates(&actions).is_empty());
}

#[test]
fn corrupt_completed_indexes_stop_parsing_and_huge_ranges_stay_cheap() {
    assert_eq!(Intervals::parse("0-2,x,5", 10).render(), "0-2");
    assert_eq!(Intervals::parse("1,2,3,7-9,8", 9).render(), "1-3,7-8");
    let huge = Intervals::parse("0-999999998", 1_000_000_000);
    assert_eq!(huge.total(), 999_999_999);
    assert_eq!(huge.first_missing(3, 1_000_000_000), [999_999_999]);
    assert_eq!(
        Intervals::parse("2-4", 10).first_missing(4, 10),
        [0, 1, 5, 6]
    );
}

#[test]
fn terminating_pods_are_replaced_unless_the_policy_waits_for_failure() {
    for (policy, expected_creates) in [(None, 1), (Some("Failed"), 0)] {
        let mut spec = json!({});
        if let Some(p) = policy {
            spec["podReplacementPolicy"] = json!(p);
        }
        let mut w = World::new(spec);
        w.step(0);
        w.run("train-1", true);
        w.pod("train-1")["metadata"]["deletionTimestamp"] = json!(ts(3));
        let actions = w.step(4);
        assert_eq!(
            creates(&actions).len(),
            expected_creates,
            "policy {policy:?}"
        );
        assert_eq!(w.status()["terminating"], 1);
        assert_eq!(w.status()["ready"], 0);
        assert!(w.status().get("failed").is_none());
    }
}

#[test]
fn scaling_down_deletes_the_least_advanced_pods_first() {
    let mut w = World::new(json!({"parallelism": 3, "completions": 10}));
    w.step(0);
    w.run("train-1", true);
    w.run("train-2", false);
    // train-3 stays Pending and unscheduled.
    w.job["spec"]["parallelism"] = json!(1);
    let actions = w.step(5);
    assert_eq!(deletes(&actions), ["train-3", "train-2"]);
    assert!(creates(&actions).is_empty());
    assert_eq!(w.status()["active"], 1);
    assert_eq!(w.status()["ready"], 1);
}

#[test]
fn container_restarts_count_against_the_limit_with_restart_on_failure() {
    let mut spec = json!({"backoffLimit": 2});
    spec["template"] =
        json!({"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "main"}]}});
    let mut w = World::new(spec);
    w.step(0);
    w.run("train-1", false);
    w.pod("train-1")["status"]["containerStatuses"][0]["restartCount"] = json!(2);
    let actions = w.step(30);
    assert_eq!(deletes(&actions), ["train-1"]);
    assert_eq!(
        condition(w.status(), "FailureTarget")["reason"],
        "BackoffLimitExceeded"
    );
}

#[test]
fn jobs_of_other_controllers_and_unknown_modes_are_left_alone() {
    for spec in [
        json!({"managedBy": "kueue.x-k8s.io/multikueue"}),
        json!({"completionMode": "Sideways"}),
    ] {
        let j = job(spec);
        assert_eq!(reconcile(&j, &[], at(0)), vec![]);
        assert_eq!(next_due(&j, at(0)), None);
    }
    let mine = job(json!({"managedBy": "kubernetes.io/job-controller"}));
    assert_eq!(creates(&reconcile(&mine, &[], at(0))).len(), 1);
}

#[test]
fn pods_controlled_by_another_object_are_ignored() {
    let mut w = World::new(json!({}));
    w.pods.push(json!({"metadata": {"name": "alien", "ownerReferences": [{"controller": true, "uid": "other"}]},
                       "status": {"phase": "Failed"}}));
    let actions = w.step(0);
    assert_eq!(creates(&actions).len(), 1);
    assert!(w.status().get("failed").is_none());
}

#[test]
fn a_job_being_deleted_counts_but_creates_nothing() {
    let mut w = World::new(json!({}));
    w.job["metadata"]["deletionTimestamp"] = json!(ts(0));
    let actions = w.step(0);
    assert!(creates(&actions).is_empty());
    assert!(sets_status(&actions));
}

#[test]
fn creation_is_bounded_per_reconcile() {
    let j = job(json!({"parallelism": 100_000, "completions": 100_000}));
    assert_eq!(creates(&reconcile(&j, &[], at(0))).len(), 500);
    let j = job(json!({"parallelism": u64::MAX, "completions": 3}));
    assert_eq!(creates(&reconcile(&j, &[], at(0))).len(), 3);
}

#[test]
fn garbage_never_panics() {
    let jobs = [
        Value::Null,
        json!("job"),
        json!([1, 2]),
        json!({}),
        json!({"spec": 5, "status": "x", "metadata": []}),
        json!({"metadata": {"name": 7, "uid": null, "deletionTimestamp": "soon"},
               "spec": {"parallelism": "3", "completions": -4, "backoffLimit": 1e30, "suspend": "yes",
                        "activeDeadlineSeconds": i64::MAX, "ttlSecondsAfterFinished": -1, "template": 7},
               "status": {"conditions": [1, "a", {"type": 3}, {"type": "Complete", "status": "True"}]}}),
        json!({"spec": {"completionMode": "Indexed", "completions": i64::MAX, "parallelism": 3,
                        "template": {"metadata": {"labels": 3, "annotations": []},
                                     "spec": {"containers": [3, {"env": "x"}, {"env": [1]}], "initContainers": {}}}},
               "status": {"completedIndexes": "9-1,-3,1--2,,", "startTime": "not a time", "failed": "many",
                          "conditions": {"type": "Failed"}}}),
        json!({"spec": {"activeDeadlineSeconds": 0, "template": {"spec": {}}},
               "status": {"conditions": [{"type": "FailureTarget", "status": "True", "reason": 5}]}}),
        job(json!({"ttlSecondsAfterFinished": 5})),
    ];
    let pods = [
        Value::Null,
        json!(3),
        json!({"status": {"phase": 5, "conditions": "no"}}),
        json!({"metadata": {"annotations": {COMPLETION_INDEX: "x"}, "ownerReferences": [7, {"controller": true}]}}),
        json!({"metadata": {"deletionTimestamp": "9999-99-99", "deletionGracePeriodSeconds": i64::MAX},
               "status": {"phase": "Failed", "containerStatuses": "no"}}),
        json!({"metadata": {"deletionTimestamp": "2026-11-29T08:00:00Z", "deletionGracePeriodSeconds": i64::MIN},
               "status": {"phase": "Failed"}}),
        json!({"status": {"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"finishedAt": 3}}}]}}),
        json!({"status": {"phase": "Running", "containerStatuses": [{"restartCount": i64::MAX}, {"restartCount": i64::MAX}]}}),
        json!({"metadata": {"name": "", "annotations": {COMPLETION_INDEX: "1"}}, "status": {"phase": "Running"}}),
    ];
    for j in &jobs {
        for now in [at(0), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let _ = reconcile(j, &pods, now);
            let _ = reconcile(j, &[], now);
            let _ = next_due(j, now);
            let _ = next_due_with_pods(j, &pods, now);
        }
    }
    // Not a Job object: nothing at all.
    assert_eq!(reconcile(&Value::Null, &pods, at(0)), vec![]);
    // An empty object is a Job with nothing to run: it starts, but no pod can be made.
    let actions = reconcile(&json!({}), &[], at(0));
    assert!(creates(&actions).is_empty());
    assert!(sets_status(&actions));
    // A Job whose Complete condition has no time is finished but never expires.
    assert_eq!(next_due(&jobs[5], at(0)), None);
}

#[test]
fn finishing_is_told_once_as_the_job_controller_tells_it() {
    let cond = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "reason": reason, "message": message});
    let running = json!({"active": 1});
    let failing =
        json!({"conditions": [cond("FailureTarget", "BackoffLimitExceeded", MSG_BACKOFF)]});
    let failed = json!({"conditions": [
        cond("FailureTarget", "BackoffLimitExceeded", MSG_BACKOFF),
        cond("Failed", "BackoffLimitExceeded", MSG_BACKOFF),
    ]});
    // The interim condition is not the end yet: pods may still be terminating.
    assert_eq!(finished(&running, &failing), None);
    assert_eq!(
        finished(&failing, &failed),
        Some(Finished {
            failed: true,
            reason: "BackoffLimitExceeded".into(),
            message: "Job has reached the specified backoff limit".into(),
        })
    );
    // Once finished, later status writes say nothing more.
    assert_eq!(finished(&failed, &failed), None);
    let deadline = json!({"conditions": [cond("Failed", "DeadlineExceeded", MSG_DEADLINE)]});
    assert_eq!(
        finished(&running, &deadline).map(|f| (f.failed, f.reason)),
        Some((true, "DeadlineExceeded".to_string()))
    );
    let complete = json!({"succeeded": 1, "conditions": [
        cond("SuccessCriteriaMet", "CompletionsReached", MSG_COMPLETIONS),
        cond("Complete", "CompletionsReached", MSG_COMPLETIONS),
    ]});
    assert_eq!(
        finished(&running, &complete),
        Some(Finished {
            failed: false,
            reason: "Completed".into(),
            message: "Job completed".into(),
        })
    );
    // A False terminal condition is no end.
    let not_failed = json!({"conditions": [{"type": "Failed", "status": "False"}]});
    assert_eq!(finished(&running, &not_failed), None);
}
