//! The cockpit's watchers through a TCP proxy that freezes, cuts and outlives a restart of
//! the cluster with new credentials: the header must leave "live" while the cockpit is
//! blind, name the cause, and come back by itself. Timings are printed for BENCHMARKS.md.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::proxy::FaultProxy;
use mlxp::cluster::{ClusterWatch, Contexts, KindName, Snapshot, SourceState};
use mlxp_sim::Sim;

const BOUND: Duration = Duration::from_secs(30);

/// The first snapshot for which `done` holds, within `BOUND`.
async fn snapshot_where(
    watch: &ClusterWatch,
    what: &str,
    done: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut snapshots = watch.subscribe();
    tokio::time::timeout(BOUND, async {
        loop {
            let latest = snapshots.borrow_and_update().clone();
            if done(&latest) {
                return latest;
            }
            snapshots.changed().await.expect("watchers running");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within {BOUND:?}"))
}

fn health_line(snapshot: &Arc<Snapshot>) -> String {
    let screen = common::draw_snapshot(snapshot.clone(), 160, 40);
    screen.lines().nth(1).unwrap_or_default().to_string()
}

fn live(s: &Snapshot) -> bool {
    !s.api.silent()
        && s.api.last_answer.is_some()
        && KindName::ALL
            .iter()
            .all(|k| s.status(*k).state == SourceState::Synced)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freeze_cut_and_new_credentials_through_a_proxy() {
    let config = common::restartable_config();
    let sim = Sim::start(config.clone()).await.expect("sim starts");
    let proxy = FaultProxy::start(sim.addr()).await;
    let dir = tempfile::tempdir().expect("dir");
    let kubeconfig = dir.path().join("config");
    common::write_kubeconfig_through(&sim, &proxy, &kubeconfig);
    let contexts = Contexts::read(Some(kubeconfig.clone())).expect("kubeconfig");
    let context = contexts.current().expect("current context");
    let client = contexts.connect(&context).await.expect("client");
    let watch = mlxp::cluster::start_with(client, Some(contexts.reconnect(&context)));
    let first = snapshot_where(&watch, "synced and answering", live).await;
    assert!(
        health_line(&first).contains("● live"),
        "{}",
        health_line(&first)
    );

    // Frozen: connections stay open, nothing answers. A cordon is made meanwhile, directly.
    proxy.freeze();
    let frozen_at = Instant::now();
    let node = first
        .nodes
        .values()
        .next()
        .expect("a node")
        .meta
        .name
        .clone();
    common::set_unschedulable(&sim, &node, true).await;
    let blind = snapshot_where(&watch, "the silence noticed", |s| s.api.silent()).await;
    let noticed = frozen_at.elapsed();
    let line = health_line(&blind);
    assert!(!line.contains("● live"), "{line}");
    assert!(
        line.contains("stale since")
            && line.contains("cannot read the API server: no answer in time"),
        "{line}"
    );
    assert!(
        noticed < Duration::from_secs(10),
        "a hung server noticed after {noticed:?}"
    );
    println!("freeze: the header left live after {noticed:?}");

    proxy.resume();
    let resumed_at = Instant::now();
    let back = snapshot_where(&watch, "back, with the cordon", |s| {
        live(s) && s.nodes.get("", &node).is_some_and(|n| n.unschedulable)
    })
    .await;
    println!(
        "resume: live again with the cordon after {:?}",
        resumed_at.elapsed()
    );
    assert!(health_line(&back).contains("● live"));

    // Cut: every connection closed at once; the sources watch again through the proxy (a
    // watch cut short resumes from its resourceVersion) and a change made after it arrives.
    proxy.cut();
    let cut_at = Instant::now();
    common::set_unschedulable(&sim, &node, false).await;
    snapshot_where(&watch, "the uncordon after the cut", |s| {
        live(s) && s.nodes.get("", &node).is_some_and(|n| !n.unschedulable)
    })
    .await;
    println!(
        "cut: a change made after it shown after {:?}",
        cut_at.elapsed()
    );

    // The cluster restarts on the same port with a new CA and new tokens, as `mlxp sim`
    // does; until its kubeconfig is written, the cockpit's credentials are the old ones.
    drop(sim);
    let sim = Sim::start(config)
        .await
        .expect("sim starts again, new identity");
    let restarted_at = Instant::now();
    let untrusted = snapshot_where(&watch, "the TLS cause named", |s| {
        s.api.cause.as_deref().is_some_and(|c| c.contains("x509"))
    })
    .await;
    let line = health_line(&untrusted);
    assert!(
        line.contains("x509: certificate signed by unknown authority"),
        "{line}"
    );
    println!(
        "restart with new credentials: the banner named the cause after {:?}: {}",
        restarted_at.elapsed(),
        line.trim()
    );

    common::write_kubeconfig_through(&sim, &proxy, &kubeconfig);
    let written_at = Instant::now();
    common::create_job(sim.client(false).await.expect("client"), "after-restart").await;
    let recovered = snapshot_where(&watch, "the new cluster watched", |s| {
        live(s) && s.jobs.get("training", "after-restart").is_some()
    })
    .await;
    assert!(recovered.api.credential_reloads >= 1);
    assert!(health_line(&recovered).contains("● live"));
    println!(
        "new credentials: live on the new cluster {:?} after its kubeconfig was written",
        written_at.elapsed()
    );
}
