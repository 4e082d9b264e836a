use super::*;

fn now() -> DateTime<Utc> {
    "2026-11-29T08:00:00Z".parse().expect("valid time")
}

fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ml", "uid": "dep-uid",
                     "annotations": {"kubernetes.io/change-cause": format!("image {image}"),
                                     "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {
            "replicas": 4,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "main", "image": image}]}},
        },
    })
}

fn pod(phase: &str, ready: bool) -> Value {
    json!({"metadata": {"name": "p"}, "status": {"phase": phase,
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                        "lastTransitionTime": "2026-11-29T07:00:00Z"}]}})
}

/// What the store would hold after creating `rs`: a uid, generation 1.
fn stored(mut rs: Value) -> Value {
    rs["metadata"]["uid"] = json!(format!("uid-{}", rs["metadata"]["name"]));
    rs["metadata"]["generation"] = json!(1);
    rs
}

#[test]
fn the_new_replica_set_carries_the_template_its_hash_the_owner_and_the_next_revision() {
    let d = deployment("web:1");
    let rs = to_create(&d, &[]).expect("none yet");
    let hash = template_hash(&d);
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(
        rs["metadata"]["labels"],
        json!({"app": "web", TEMPLATE_HASH_LABEL: hash})
    );
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"],
        json!({"app": "web", TEMPLATE_HASH_LABEL: hash})
    );
    assert_eq!(
        rs["spec"]["template"]["metadata"]["labels"][TEMPLATE_HASH_LABEL],
        hash
    );
    assert_eq!(
        rs["spec"]["template"]["spec"],
        d["spec"]["template"]["spec"]
    );
    assert_eq!(rs["metadata"]["ownerReferences"][0]["uid"], "dep-uid");
    assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);
    let notes = &rs["metadata"]["annotations"];
    assert_eq!(notes[REVISION], "1");
    assert_eq!(notes["kubernetes.io/change-cause"], "image web:1");
    assert_eq!(notes[DESIRED_REPLICAS], "4");
    assert_eq!(notes[MAX_REPLICAS], "5");
    assert!(notes["kubectl.kubernetes.io/last-applied-configuration"].is_null());

    // Already there: nothing to create. A new template: the next revision.
    let first = stored(rs);
    assert!(to_create(&d, std::slice::from_ref(&first)).is_none());
    let second = to_create(&deployment("web:2"), &[first]).expect("new template");
    assert_eq!(second["metadata"]["annotations"][REVISION], "2");
}

#[test]
fn a_replica_set_counts_its_live_pods() {
    let d = deployment("web:1");
    let rs = stored(to_create(&d, &[]).expect("none yet"));
    let pods = [
        pod("Running", true),
        pod("Running", false),
        pod("Pending", false),
        pod("Succeeded", false),
    ];
    // Rolled out (no old one holds pods): it wants the Deployment's 4 while 3 live.
    let synced = synced(&d, &rs, &[], &pods, now()).expect("changed");
    assert_eq!(synced["spec"]["replicas"], 4);
    assert_eq!(
        synced["status"],
        json!({"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 1,
               "availableReplicas": 1, "observedGeneration": 1})
    );
    assert!(
        super::synced(&d, &synced, &[], &pods, now()).is_none(),
        "already in sync"
    );
    // Mid-rollout (an old one still holds a pod): what its pods are.
    let mut old = stored(to_create(&deployment("web:0"), &[]).expect("none yet"));
    old["status"]["replicas"] = json!(1);
    let mid = super::synced(&d, &rs, &[old], &pods, now()).expect("changed");
    assert_eq!(mid["spec"]["replicas"], 3);
}

#[test]
fn an_old_template_coming_back_takes_the_next_revision_and_remembers_its_old_one() {
    let v1 = deployment("web:1");
    let v2 = deployment("web:2");
    let rs1 = stored(to_create(&v1, &[]).expect("none yet"));
    let rs2 = stored(to_create(&v2, std::slice::from_ref(&rs1)).expect("new template"));
    let owned = [rs1.clone(), rs2.clone()];
    // Rolled back to v1 (kubectl rollout undo patches the template back).
    let back = synced(&v1, &rs1, &owned, &[], now()).expect("becomes new");
    assert_eq!(back["metadata"]["annotations"][REVISION], "3");
    assert_eq!(back["metadata"]["annotations"][REVISION_HISTORY], "1");
    // The one it replaced keeps its revision.
    let old = synced(&v1, &rs2, &owned, &[], now());
    assert!(old.is_none_or(|o| o["metadata"]["annotations"][REVISION] == "2"));
    // The Deployment says the new one's revision.
    let d = with_revision(&v1, &back).expect("changed");
    assert_eq!(d["metadata"]["annotations"][REVISION], "3");
    assert!(with_revision(&d, &back).is_none());
}

#[test]
fn old_replica_sets_without_pods_beyond_the_history_limit_go_oldest_first() {
    let mut owned = Vec::new();
    for image in ["web:1", "web:2", "web:3", "web:4", "web:5"] {
        let rs = stored(to_create(&deployment(image), &owned).expect("new template"));
        owned.push(rs);
    }
    // web:2 still holds a pod: it is not history yet.
    owned[1]["spec"]["replicas"] = json!(1);
    owned[1]["status"]["replicas"] = json!(1);
    for rs in owned.iter_mut().filter(|rs| rs["spec"]["replicas"] != 1) {
        rs["status"]["replicas"] = json!(0);
    }
    let current = deployment("web:5");
    let name = |i: usize| {
        owned[i]["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    // Idle old ones: web:1, web:3, web:4; the limit keeps two.
    assert_eq!(beyond_history(&current, &owned), [name(0)]);
    let mut keep_none = current.clone();
    keep_none["spec"]["revisionHistoryLimit"] = json!(0);
    assert_eq!(
        beyond_history(&keep_none, &owned),
        [name(0), name(2), name(3)]
    );
}

#[test]
fn garbage_never_panics() {
    for d in [
        Value::Null,
        json!({"metadata": 1, "spec": {"template": 3}}),
        json!([]),
    ] {
        for rs in [
            Value::Null,
            json!({"metadata": {"annotations": {REVISION: 7}}}),
        ] {
            let _ = to_create(&d, std::slice::from_ref(&rs));
            let _ = synced(
                &d,
                &rs,
                std::slice::from_ref(&rs),
                std::slice::from_ref(&rs),
                now(),
            );
            let _ = beyond_history(&d, std::slice::from_ref(&rs));
            let _ = with_revision(&d, &rs);
            assert_eq!(revision(&rs), 0);
        }
    }
}
