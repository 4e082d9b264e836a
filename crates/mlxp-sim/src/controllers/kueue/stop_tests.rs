//! Stopping and resuming (kueuectl stop / resume): a Workload's spec.active, a LocalQueue's
//! or ClusterQueue's stopPolicy.

use super::testkit::*;

fn running(w: &World, job: &str) -> bool {
    cond(w.wl(job), "Admitted")["status"] == "True" && w.job(job)["spec"]["suspend"] == false
}

fn set_spec(list: &mut [Value], ns: &str, name: &str, key: &str, value: Value) {
    let found = list
        .iter_mut()
        .find(|o| {
            o["metadata"]["name"] == name && (ns.is_empty() || o["metadata"]["namespace"] == ns)
        })
        .expect("object exists");
    found["spec"][key] = value;
}

#[test]
fn a_deactivated_workload_is_evicted_its_job_suspended_and_its_quota_goes_to_the_next() {
    let mut w = five_jobs("StrictFIFO");
    assert!(running(&w, "train-0"));
    assert!(!running(&w, "train-3"));
    let name = w.wl("train-0")["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    set_spec(&mut w.workloads, NS, &name, "active", json!(false));
    w.settle(10);

    let evicted = cond(w.wl("train-0"), "Evicted");
    assert_eq!(evicted["status"], "True");
    assert_eq!(evicted["reason"], "InactiveWorkload");
    assert_eq!(cond(w.wl("train-0"), "QuotaReserved")["status"], "False");
    assert_eq!(w.job("train-0")["spec"]["suspend"], true);
    // Its 8 spot GPUs admit the head of the queue; it is not queued itself.
    assert!(running(&w, "train-3"));
    assert!(
        w.pending("gpu")
            .iter()
            .all(|(k, _)| *k != wl_key("train-0"))
    );

    // Resumed: queued again, by its creation time as Kueue orders it (at the head), and
    // admitted once quota frees; Evicted is over then.
    set_spec(&mut w.workloads, NS, &name, "active", json!(true));
    w.settle(20);
    assert!(!running(&w, "train-0"));
    assert_eq!(w.pending("gpu")[0].0, wl_key("train-0"));
    w.finish("train-3", true);
    w.settle(30);
    assert!(running(&w, "train-0"));
    let evicted = cond(w.wl("train-0"), "Evicted");
    assert_eq!(evicted["status"], "False");
    assert_eq!(evicted["reason"], "QuotaReserved");
}

#[test]
fn a_held_local_queue_admits_nothing_new_and_keeps_what_runs() {
    let mut w = World::new("StrictFIFO");
    w.submit("first", 8, 0);
    w.settle(1);
    assert!(running(&w, "first"));
    set_spec(&mut w.lqs, NS, "team", "stopPolicy", json!("Hold"));
    w.submit("second", 8, 2);
    w.settle(3);

    assert!(running(&w, "first"));
    assert!(!running(&w, "second"));
    let waiting = cond(w.wl("second"), "QuotaReserved");
    assert_eq!(waiting["reason"], "Inadmissible");
    assert_eq!(waiting["message"], "LocalQueue team is inactive");
    let active = cond(&w.lqs[0], "Active");
    assert_eq!(active["status"], "False");
    assert_eq!(active["reason"], "Stopped");

    set_spec(&mut w.lqs, NS, "team", "stopPolicy", json!("None"));
    w.settle(4);
    assert!(running(&w, "second"));
    assert_eq!(cond(&w.lqs[0], "Active")["status"], "True");
}

#[test]
fn hold_and_drain_evicts_what_the_queue_admitted() {
    for (queue_kind, reason) in [
        ("LocalQueue", "LocalQueueStopped"),
        ("ClusterQueue", "ClusterQueueStopped"),
    ] {
        let mut w = World::new("StrictFIFO");
        w.submit("first", 8, 0);
        w.settle(1);
        assert!(running(&w, "first"));
        if queue_kind == "LocalQueue" {
            set_spec(&mut w.lqs, NS, "team", "stopPolicy", json!("HoldAndDrain"));
        } else {
            set_spec(&mut w.cqs, "", "gpu", "stopPolicy", json!("HoldAndDrain"));
        }
        w.settle(2);
        assert_eq!(
            cond(w.wl("first"), "Evicted")["reason"],
            reason,
            "{queue_kind}"
        );
        assert_eq!(w.job("first")["spec"]["suspend"], true, "{queue_kind}");
        assert_eq!(w.cqs[0]["status"]["reservingWorkloads"], 0, "{queue_kind}");
    }
}
