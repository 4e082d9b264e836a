use super::*;

fn at(secs: i64) -> DateTime<Utc> {
    parse_time("2026-11-29T08:00:00Z").expect("valid time") + TimeDelta::seconds(secs)
}

fn ts(secs: i64) -> String {
    timestamp(at(secs))
}

fn deployment(spec: Value) -> Value {
    let mut full = json!({
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}, "annotations": {"team": "ml"}},
            "spec": {"containers": [{"name": "main", "image": "web:1"}]},
        },
    });
    if let (Some(full), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
        for (k, v) in extra {
            full.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ml", "uid": "dep-uid", "generation": 1},
        "spec": full,
    })
}

/// The Deployment and its pods, changed by the actions as the real caller would change
/// them (deletion is immediate unless `graceful`, which leaves the pod terminating).
struct World {
    dep: Value,
    pods: Vec<Value>,
    created: usize,
    graceful: bool,
}

impl World {
    fn new(spec: Value) -> Self {
        World {
            dep: deployment(spec),
            pods: Vec::new(),
            created: 0,
            graceful: false,
        }
    }

    fn step(&mut self, secs: i64) -> Vec<DeploymentAction> {
        let actions = reconcile(&self.dep, &self.pods, at(secs));
        for action in &actions {
            match action {
                DeploymentAction::CreatePod { pod } => {
                    self.created += 1;
                    let mut pod = pod.clone();
                    pod["metadata"]["name"] = json!(format!("web-{}", self.created));
                    pod["metadata"]["creationTimestamp"] = json!(ts(secs));
                    pod["metadata"]["ownerReferences"] = json!([{"kind": "Deployment", "name": "web", "uid": "dep-uid", "controller": true}]);
                    pod["status"] = json!({"phase": "Pending"});
                    self.pods.push(pod);
                }
                DeploymentAction::DeletePod { name } if self.graceful => {
                    self.pod(name)["metadata"]["deletionTimestamp"] = json!(ts(secs));
                }
                DeploymentAction::DeletePod { name } => {
                    self.pods.retain(|p| p["metadata"]["name"] != *name)
                }
                DeploymentAction::SetStatus { status } => self.dep["status"] = status.clone(),
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

    fn run(&mut self, name: &str, ready: bool, secs: i64) {
        let pod = self.pod(name);
        pod["spec"]["nodeName"] = json!("gpu-node-1");
        pod["status"] = json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": ts(secs)}],
        });
    }

    /// Every pod not yet running becomes running and ready.
    fn ready_all(&mut self, secs: i64) {
        let names: Vec<String> = self
            .pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Pending")
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        for n in names {
            self.run(&n, true, secs);
        }
    }

    fn set_image(&mut self, image: &str) {
        self.dep["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        self.dep["metadata"]["generation"] =
            json!(self.dep["metadata"]["generation"].as_i64().unwrap_or(0) + 1);
    }

    fn status(&self) -> &Value {
        &self.dep["status"]
    }

    fn hash_of(&self, name: &str) -> String {
        self.pods
            .iter()
            .find(|p| p["metadata"]["name"] == name)
            .and_then(|p| p["metadata"]["labels"][TEMPLATE_HASH_LABEL].as_str())
            .unwrap_or("")
            .to_string()
    }

    /// (pods of the current template, others), not being deleted.
    fn split(&self) -> (usize, usize) {
        let hash = template_hash(&self.dep);
        let live: Vec<&Value> = self
            .pods
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .collect();
        let new = live
            .iter()
            .filter(|p| p["metadata"]["labels"][TEMPLATE_HASH_LABEL] == *hash)
            .count();
        (new, live.len() - new)
    }

    fn ready_count(&self) -> usize {
        self.pods
            .iter()
            .filter(|p| p["status"]["conditions"][0]["status"] == "True")
            .count()
    }
}

fn creates(actions: &[DeploymentAction]) -> Vec<&Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            DeploymentAction::CreatePod { pod } => Some(pod),
            _ => None,
        })
        .collect()
}

fn deletes(actions: &[DeploymentAction]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            DeploymentAction::DeletePod { name } => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

fn cond<'v>(status: &'v Value, kind: &str) -> &'v Value {
    condition(status, kind).unwrap_or(&Value::Null)
}

#[test]
fn template_hash_is_stable_short_safe_and_order_blind() {
    let a = deployment(json!({}));
    let h = template_hash(&a);
    assert_eq!(h.len(), 10);
    assert!(h.bytes().all(|b| HASH_ALPHABET.contains(&b)), "{h}");
    assert_eq!(template_hash(&a), h);
    // Same template written in another key order: same hash.
    let b: Value = serde_json::from_str(
        r#"{"spec": {"template": {"spec": {"containers": [{"image": "web:1", "name": "main"}]},
            "metadata": {"annotations": {"team": "ml"}, "labels": {"app": "web"}}}}}"#,
    )
    .expect("valid json");
    assert_eq!(template_hash(&b), h);
    // Only the template counts: replicas do not change it, an image does.
    let mut c = a.clone();
    c["spec"]["replicas"] = json!(9);
    assert_eq!(template_hash(&c), h);
    c["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
    assert_ne!(template_hash(&c), h);
    // Zero values are as good as absent (Go decodes them the same).
    let mut d = a.clone();
    d["spec"]["template"]["metadata"]["generateName"] = json!("");
    d["spec"]["template"]["spec"]["containers"][0]["stdin"] = json!(false);
    d["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"limits": {}});
    d["spec"]["template"]["spec"]["hostPID"] = json!(false);
    d["spec"]["template"]["spec"]["priority"] = Value::Null;
    assert_eq!(template_hash(&d), h);
    d["spec"]["template"]["spec"]["hostPID"] = json!(true);
    assert_ne!(template_hash(&d), h);
    // Pinned: pods made before a restart (or by another build) must keep matching.
    assert_eq!(
        template_hash(&json!({})),
        template_hash(&json!({"spec": {}}))
    );
    assert_eq!(template_hash(&a), "ftd44qq42w");
}

#[test]
fn a_new_deployment_creates_its_pods_and_reports_progress_then_availability() {
    let mut w = World::new(json!({}));
    let hash = template_hash(&w.dep);
    let actions = w.step(0);
    let pods = creates(&actions);
    assert_eq!(pods.len(), 3);
    assert_eq!(
        *pods[0],
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": format!("web-{hash}-"),
                         "labels": {"app": "web", "pod-template-hash": hash},
                         "annotations": {"team": "ml"}},
            "spec": {"containers": [{"name": "main", "image": "web:1"}]},
        })
    );
    let rs = format!("\"web-{hash}\"");
    assert_eq!(
        *w.status(),
        json!({
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "unavailableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability.",
                 "lastUpdateTime": ts(0), "lastTransitionTime": ts(0)},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": format!("ReplicaSet {rs} is progressing."),
                 "lastUpdateTime": ts(0), "lastTransitionTime": ts(0)},
            ],
        })
    );
    // Nothing changed: nothing to do, not even a status write.
    assert_eq!(w.step(1), vec![]);
    w.ready_all(5);
    let actions = w.step(6);
    assert_eq!(actions.len(), 1, "{actions:?}");
    let status = w.status();
    assert_eq!(status["readyReplicas"], 3);
    assert_eq!(status["availableReplicas"], 3);
    assert!(status.get("unavailableReplicas").is_none());
    assert_eq!(
        *cond(status, "Available"),
        json!({"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
               "message": "Deployment has minimum availability.",
               "lastUpdateTime": ts(6), "lastTransitionTime": ts(6)})
    );
    let progressing = cond(status, "Progressing");
    assert_eq!(progressing["reason"], "NewReplicaSetAvailable");
    assert_eq!(
        progressing["message"],
        format!("ReplicaSet {rs} has successfully progressed.")
    );
    assert_eq!(progressing["lastTransitionTime"], ts(0));
    assert_eq!(w.step(100), vec![]);
}

#[test]
fn scaling_up_creates_and_scaling_down_deletes_not_ready_then_newest() {
    let mut w = World::new(json!({}));
    w.step(0);
    w.ready_all(1);
    w.step(2);
    w.dep["spec"]["replicas"] = json!(6);
    let actions = w.step(10);
    assert_eq!(creates(&actions).len(), 3);
    assert!(deletes(&actions).is_empty());
    assert_eq!(w.status()["replicas"], 6);
    // web-4 ready, web-5 running not ready, web-6 still pending.
    w.run("web-4", true, 11);
    w.run("web-5", false, 11);
    w.dep["spec"]["replicas"] = json!(2);
    let actions = w.step(12);
    assert!(creates(&actions).is_empty());
    // Pending first, then not ready, then the most recently ready (web-4); web-1..3 tie
    // (same age, ready together) and the name decides.
    assert_eq!(deletes(&actions), ["web-6", "web-5", "web-4", "web-1"]);
    assert_eq!(w.pods.len(), 2);
    assert_eq!(w.status()["replicas"], 2);
    assert_eq!(w.status()["availableReplicas"], 2);
    // Down to zero: every pod goes, the status drops its zero counts.
    w.dep["spec"]["replicas"] = json!(0);
    assert_eq!(deletes(&w.step(13)).len(), 2);
    assert!(w.status().get("replicas").is_none());
    assert_eq!(cond(w.status(), "Available")["status"], "True");
}

#[test]
fn rolling_update_with_surge_one_never_drops_below_the_replica_count() {
    let mut w = World::new(json!({
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    }));
    w.step(0);
    w.ready_all(1);
    w.step(2);
    let old_hash = w.hash_of("web-1");
    w.set_image("web:2");
    let new_hash = template_hash(&w.dep);
    assert_ne!(old_hash, new_hash);

    // Step 1: one new pod (4 in all), nothing deleted while it is not ready.
    let actions = w.step(10);
    assert_eq!(creates(&actions).len(), 1);
    assert!(deletes(&actions).is_empty());
    assert_eq!(w.split(), (1, 3));
    assert_eq!(w.status()["updatedReplicas"], 1);
    assert_eq!(w.status()["replicas"], 4);
    assert_eq!(w.status()["observedGeneration"], 2);
    // A new rollout; no gain yet (fewer updated pods than the old status counted).
    let progressing = cond(w.status(), "Progressing");
    assert_eq!(progressing["reason"], "NewReplicaSetCreated");
    assert_eq!(
        progressing["message"],
        format!("Created new replica set \"web-{new_hash}\"")
    );
    assert_eq!(progressing["lastUpdateTime"], ts(10));
    // Still not ready: no change.
    assert_eq!(w.step(11), vec![]);
    w.ready_all(15);
    let actions = w.step(16);
    assert_eq!(deletes(&actions).len(), 1);
    let progressing = cond(w.status(), "Progressing");
    assert_eq!(progressing["reason"], "ReplicaSetUpdated");
    assert_eq!(
        progressing["message"],
        format!("ReplicaSet \"web-{new_hash}\" is progressing.")
    );
    assert_eq!(progressing["lastUpdateTime"], ts(16));
    assert_eq!(w.split(), (1, 2));

    let mut t = 20;
    let mut rounds = 0;
    while w.split() != (3, 0) {
        rounds += 1;
        assert!(
            rounds < 10,
            "the rollout does not converge: {:?}",
            w.split()
        );
        w.ready_all(t);
        let actions = w.step(t + 1);
        // A ready new pod lets exactly one old pod go, and one more new pod come next time.
        assert!(deletes(&actions).len() <= 1, "{actions:?}");
        assert!(
            w.ready_count() >= 3,
            "availability fell to {}",
            w.ready_count()
        );
        assert!(w.pods.len() <= 4, "surge exceeded: {}", w.pods.len());
        w.step(t + 2);
        assert!(w.pods.len() <= 4);
        assert!(w.ready_count() >= 3);
        t += 10;
    }
    w.ready_all(t);
    w.step(t + 1);
    assert!(
        w.pods
            .iter()
            .all(|p| p["metadata"]["labels"][TEMPLATE_HASH_LABEL] == *new_hash)
    );
    let status = w.status();
    assert_eq!(
        (
            &status["replicas"],
            &status["updatedReplicas"],
            &status["availableReplicas"]
        ),
        (&json!(3), &json!(3), &json!(3))
    );
    assert_eq!(
        cond(status, "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
    assert_eq!(cond(status, "Available")["status"], "True");
}

#[test]
fn default_fenceposts_surge_and_cut_a_quarter_each() {
    let mut w = World::new(json!({"replicas": 4}));
    w.step(0);
    w.ready_all(1);
    w.step(2);
    w.set_image("web:2");
    // 25% of 4: surge 1, unavailable 1: one new pod and one old pod gone at once.
    let actions = w.step(10);
    assert_eq!(creates(&actions).len(), 1);
    assert_eq!(deletes(&actions).len(), 1);
    assert_eq!(w.split(), (1, 3));
    assert_eq!(w.status()["availableReplicas"], 3);
    assert_eq!(cond(w.status(), "Available")["status"], "True");
    // With 25% of 4 gone, 4 - 1 available is still the minimum.
    assert_eq!(
        fenceposts(&json!({"maxSurge": "50%", "maxUnavailable": "10%"}), 10),
        (5, 1)
    );
    assert_eq!(
        fenceposts(&json!({"maxSurge": 0, "maxUnavailable": "0%"}), 10),
        (0, 1)
    );
    assert_eq!(
        fenceposts(&json!({"maxSurge": "x", "maxUnavailable": 2.5}), 1),
        (1, 0)
    );
    assert_eq!(fenceposts(&json!({}), 0), (0, 1));
}

#[test]
fn unavailable_old_pods_are_replaced_first() {
    let mut w = World::new(json!({
        "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    }));
    w.step(0);
    w.ready_all(1);
    w.run("web-2", false, 3);
    w.step(4);
    w.set_image("web:2");
    // One new pod; with it unavailable and only 2 of 3 available, nothing may go.
    let actions = w.step(10);
    assert_eq!(creates(&actions).len(), 1);
    assert!(deletes(&actions).is_empty());
    assert_eq!(w.status()["availableReplicas"], 2);
    w.ready_all(11);
    // The new pod is ready: 4 pods, 3 available. The broken old pod goes (it costs no
    // availability); a healthy one would drop below 3 available, so it stays.
    let actions = w.step(12);
    assert_eq!(deletes(&actions), ["web-2"]);
    assert_eq!(w.status()["availableReplicas"], 3);
}

#[test]
fn recreate_deletes_every_old_pod_and_waits_for_them_to_go() {
    let mut w = World::new(json!({"strategy": {"type": "Recreate"}}));
    w.step(0);
    w.ready_all(1);
    w.step(2);
    w.graceful = true;
    w.set_image("web:2");
    let actions = w.step(10);
    let mut gone = deletes(&actions);
    gone.sort_unstable();
    assert_eq!(gone, ["web-1", "web-2", "web-3"]);
    assert!(creates(&actions).is_empty());
    assert_eq!(w.split(), (0, 0));
    assert!(w.status().get("replicas").is_none());
    assert_eq!(cond(w.status(), "Available")["status"], "False");
    // Old pods still terminating: nothing new yet.
    let actions = w.step(11);
    assert!(creates(&actions).is_empty() && deletes(&actions).is_empty());
    // Gone: the new version comes up in full.
    w.pods.clear();
    let actions = w.step(20);
    assert_eq!(creates(&actions).len(), 3);
    assert_eq!(w.split(), (3, 0));
    w.ready_all(21);
    w.step(22);
    assert_eq!(
        cond(w.status(), "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
}

#[test]
fn terminal_pods_are_deleted_and_replaced_and_terminating_ones_do_not_count() {
    let mut w = World::new(json!({}));
    w.step(0);
    w.ready_all(1);
    w.step(2);
    w.pod("web-1")["status"] = json!({"phase": "Failed"});
    w.pod("web-2")["status"] = json!({"phase": "Succeeded"});
    w.pod("web-3")["metadata"]["deletionTimestamp"] = json!(ts(5));
    let actions = w.step(6);
    let mut gone = deletes(&actions);
    gone.sort_unstable();
    assert_eq!(gone, ["web-1", "web-2"]);
    assert_eq!(creates(&actions).len(), 3);
    assert_eq!(w.status()["replicas"], 3);
    assert!(w.status().get("readyReplicas").is_none());
    assert_eq!(cond(w.status(), "Available")["status"], "False");
    assert_eq!(cond(w.status(), "Available")["lastTransitionTime"], ts(6));
}

#[test]
fn paused_deployments_scale_but_do_not_roll_out() {
    let mut w = World::new(json!({}));
    w.step(0);
    w.ready_all(1);
    w.step(2);
    w.dep["spec"]["paused"] = json!(true);
    w.set_image("web:2");
    let actions = w.step(10);
    assert_eq!(actions.len(), 1, "status only: {actions:?}");
    let progressing = cond(w.status(), "Progressing");
    assert_eq!(progressing["status"], "Unknown");
    assert_eq!(progressing["reason"], "DeploymentPaused");
    assert_eq!(progressing["message"], "Deployment is paused");
    // Resumed: the rollout starts.
    w.dep["spec"]["paused"] = json!(false);
    let actions = w.step(20);
    assert_eq!(creates(&actions).len(), 1);
    assert_eq!(cond(w.status(), "Progressing")["status"], "True");

    // Paused with every pod on the current template: replicas are still kept.
    let mut w = World::new(json!({}));
    w.step(0);
    w.dep["spec"]["paused"] = json!(true);
    w.dep["spec"]["replicas"] = json!(5);
    assert_eq!(creates(&w.step(1)).len(), 2);
    // Created paused: nothing at all is made (there is no ReplicaSet to scale).
    let mut w = World::new(json!({"paused": true}));
    assert!(creates(&w.step(0)).is_empty());
}

#[test]
fn a_stuck_rollout_times_out_after_the_progress_deadline() {
    let mut w = World::new(json!({"progressDeadlineSeconds": 60}));
    w.step(0);
    assert_eq!(next_due(&w.dep, &w.pods, at(0)), Some(at(61)));
    assert_eq!(w.step(60), vec![]);
    w.step(61);
    let progressing = cond(w.status(), "Progressing");
    assert_eq!(progressing["status"], "False");
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
    assert_eq!(
        progressing["message"],
        format!(
            "ReplicaSet \"web-{}\" has timed out progressing.",
            template_hash(&w.dep)
        )
    );
    assert_eq!(next_due(&w.dep, &w.pods, at(61)), None);
    // Progress after all: the condition comes back.
    w.ready_all(70);
    w.step(71);
    assert_eq!(
        cond(w.status(), "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
    assert_eq!(cond(w.status(), "Progressing")["status"], "True");
    // No deadline (MaxInt32): no Progressing condition at all.
    w.dep["spec"]["progressDeadlineSeconds"] = json!(i32::MAX);
    w.step(80);
    assert!(condition(w.status(), "Progressing").is_none());
}

#[test]
fn min_ready_seconds_delays_availability() {
    let mut w = World::new(json!({"replicas": 1, "minReadySeconds": 30}));
    w.step(0);
    w.ready_all(10);
    w.step(10);
    assert_eq!(w.status()["readyReplicas"], 1);
    assert!(w.status().get("availableReplicas").is_none());
    assert_eq!(next_due(&w.dep, &w.pods, at(10)), Some(at(41)));
    w.step(40);
    assert!(w.status().get("availableReplicas").is_none());
    w.step(41);
    assert_eq!(w.status()["availableReplicas"], 1);
    assert_eq!(cond(w.status(), "Available")["status"], "True");
}

#[test]
fn a_deleted_deployment_only_reports() {
    let mut w = World::new(json!({}));
    w.dep["metadata"]["deletionTimestamp"] = json!(ts(0));
    let actions = w.step(0);
    assert_eq!(actions.len(), 1);
    assert!(matches!(actions[0], DeploymentAction::SetStatus { .. }));
}

#[test]
fn a_pod_of_an_old_template_without_its_label_counts_as_old() {
    let mut w = World::new(json!({"replicas": 1, "strategy": {"type": "Recreate"}}));
    w.pods
        .push(json!({"metadata": {"name": "legacy"}, "status": {"phase": "Running"}}));
    let actions = w.step(0);
    assert_eq!(deletes(&actions), ["legacy"]);
    assert!(creates(&actions).is_empty());
}

#[test]
fn garbage_never_panics() {
    let deployments = [
        Value::Null,
        json!("deployment"),
        json!([1]),
        json!({}),
        json!({"spec": 5, "status": "x", "metadata": []}),
        json!({"metadata": {"name": 7, "uid": null, "generation": "2", "deletionTimestamp": 1},
               "spec": {"replicas": -4, "paused": "yes", "minReadySeconds": u64::MAX,
                        "progressDeadlineSeconds": -1, "template": 7,
                        "strategy": {"type": 3, "rollingUpdate": {"maxSurge": "-5%", "maxUnavailable": "%"}}},
               "status": {"conditions": [1, "a", {"type": 3},
                          {"type": "Progressing", "status": "True", "lastUpdateTime": "never"}],
                          "replicas": "many"}}),
        json!({"metadata": {"name": "big"},
               "spec": {"replicas": u64::MAX, "strategy": {"rollingUpdate": {"maxSurge": "999999999999%", "maxUnavailable": i64::MAX}},
                        "template": {"metadata": {"labels": 3}, "spec": {}}}}),
        json!({"metadata": {"name": "r"}, "spec": {"replicas": 2, "strategy": {"type": "Recreate"},
               "template": {"metadata": {"labels": [1]}, "spec": {"containers": 1}}}}),
        deployment(json!({"minReadySeconds": i64::MAX, "progressDeadlineSeconds": i64::MAX - 1})),
    ];
    let pods = [
        Value::Null,
        json!(3),
        json!({"status": {"phase": 5, "conditions": "no"}}),
        json!({"metadata": {"labels": {TEMPLATE_HASH_LABEL: 4}, "ownerReferences": [7, {"controller": true}]}}),
        json!({"metadata": {"name": "", "deletionTimestamp": "9999-99-99"}, "status": {"phase": "Running"}}),
        json!({"metadata": {"name": "r1"}, "status": {"phase": "Running",
               "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "+262142-12-31T23:59:59Z"}],
               "containerStatuses": [{"restartCount": i64::MAX}, 7]}}),
        json!({"metadata": {"name": "f1", "creationTimestamp": 12}, "status": {"phase": "Failed"}}),
    ];
    for d in &deployments {
        for now in [at(0), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let _ = reconcile(d, &pods, now);
            let _ = reconcile(d, &[], now);
            let _ = next_due(d, &pods, now);
        }
        let _ = template_hash(d);
    }
    assert_eq!(reconcile(&Value::Null, &pods, at(0)), vec![]);
    // Huge counts are capped per pass.
    assert_eq!(creates(&reconcile(&deployments[6], &[], at(0))).len(), 500);
    // No template spec: no pod can be made, but the status is reported.
    let actions = reconcile(&json!({}), &[], at(0));
    assert!(creates(&actions).is_empty());
    assert!(matches!(
        actions.last(),
        Some(DeploymentAction::SetStatus { .. })
    ));
}
