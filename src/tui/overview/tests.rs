//! The cockpit never looks healthy while it is blind: what it cannot see is said to be
//! unknown, and every read that fails to reach the server shows in the health line.

use std::sync::Arc;

use crate::cluster::{Cause, KindName, Reachability, Snapshot, SourceState};
use crate::metrics::MetricsFrame;
use crate::tui::app::tests::app;
use crate::tui::app::{App, Msg};
use crate::tui::render;

fn draw(app: &App) -> String {
    let backend = ratatui::backend::TestBackend::new(120, 40);
    let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
    terminal
        .draw(|frame| render::render(app, frame))
        .expect("drawn");
    terminal.backend().to_string()
}

/// Every kind in `state`, the server answering or not.
fn snapshot(state: SourceState, answering: bool) -> Arc<Snapshot> {
    let mut snapshot = Snapshot::default();
    for kind in KindName::ALL {
        let status = match kind {
            KindName::Nodes => &mut snapshot.nodes.status,
            KindName::Pods => &mut snapshot.pods.status,
            KindName::Jobs => &mut snapshot.jobs.status,
            KindName::Workloads => &mut snapshot.workloads.status,
            KindName::ClusterQueues => &mut snapshot.cluster_queues.status,
            KindName::LocalQueues => &mut snapshot.local_queues.status,
            KindName::ResourceFlavors => &mut snapshot.resource_flavors.status,
            KindName::Deployments => &mut snapshot.deployments.status,
            KindName::Hpas => &mut snapshot.hpas.status,
            KindName::HttpRoutes => &mut snapshot.routes.status,
            KindName::Models => &mut snapshot.models.status,
            KindName::ModelVersions => &mut snapshot.model_versions.status,
            KindName::Events | KindName::Services => &mut snapshot.events.status,
        };
        status.state = state.clone();
        status.error = Some("connection refused".into());
    }
    snapshot.api.reachability = if answering {
        Reachability::Answering
    } else {
        Reachability::Silent
    };
    Arc::new(snapshot)
}

fn metrics(app: &mut App) {
    app.update(Msg::Metrics(Ok(Arc::new(MetricsFrame {
        at: app.now,
        gpus: Vec::new(),
        traffic: Vec::new(),
        quality: Vec::new(),
    }))));
}

#[test]
fn nothing_reached_is_unknown_not_all_clear_nor_zero() {
    for (state, answering) in [
        (SourceState::Syncing, true),
        (SourceState::Failing, true),
        (SourceState::Synced, false),
    ] {
        let mut app = app();
        metrics(&mut app);
        app.update(Msg::Snapshot(snapshot(state.clone(), answering)));
        let screen = draw(&app);
        assert!(!screen.contains("all clear"), "{state:?}:\n{screen}");
        assert!(!screen.contains("$0.00/h"), "{state:?}:\n{screen}");
        assert!(screen.contains("Pools · $?/h"), "{state:?}:\n{screen}");
        assert!(screen.contains("● unknown: "), "{state:?}:\n{screen}");
    }
}

#[test]
fn an_empty_table_while_blind_says_unknown() {
    let mut app = app();
    app.update(Msg::Snapshot(snapshot(SourceState::Syncing, true)));
    app.update(Msg::Key(std::str::FromStr::from_str("4").expect("key")));
    let screen = draw(&app);
    assert!(screen.contains("unknown: nodes, pods"), "{screen}");
    app.update(Msg::Snapshot(snapshot(SourceState::Synced, true)));
    let screen = draw(&app);
    assert!(!screen.contains("unknown:"), "{screen}");
}

#[test]
fn without_metrics_the_alerts_they_decide_are_unknown() {
    let mut app = app();
    app.update(Msg::Snapshot(snapshot(SourceState::Synced, true)));
    let screen = draw(&app);
    assert!(!screen.contains("all clear"), "{screen}");
    assert!(
        screen.contains("unknown: no metrics: idle GPUs, drift and errors"),
        "{screen}"
    );
    app.update(Msg::Metrics(Err(
        "metrics server unreachable: connection refused".into(),
    )));
    let screen = draw(&app);
    assert!(
        screen.contains("unknown: metrics failing: idle GPUs, drift and errors"),
        "{screen}"
    );
}

#[test]
fn all_clear_only_when_everything_is_seen() {
    let mut app = app();
    metrics(&mut app);
    app.update(Msg::Snapshot(snapshot(SourceState::Synced, true)));
    let screen = draw(&app);
    assert!(screen.contains("all clear"), "{screen}");
    assert!(screen.contains("Pools · $0.00/h"), "{screen}");
}

#[test]
fn a_read_that_does_not_reach_the_server_shows_in_the_health_line() {
    let mut app = app();
    app.update(Msg::Snapshot(snapshot(SourceState::Synced, true)));
    let health = |app: &App| draw(app).lines().nth(1).unwrap_or_default().to_string();
    assert!(health(&app).contains("● live"), "{}", health(&app));

    // The server's own answer (the object is gone) says nothing about its health.
    app.update(Msg::Yaml(Err(Cause::Api {
        code: 404,
        message: "not found".into(),
    })));
    assert!(health(&app).contains("● live"), "{}", health(&app));

    app.update(Msg::Yaml(Err(Cause::Refused)));
    let line = health(&app);
    assert!(!line.contains("● live"), "{line}");
    assert!(
        line.contains("⚠ a read did not reach the API server")
            && line.contains("connection refused"),
        "{line}"
    );

    app.update(Msg::Yaml(Ok("kind: Node".into())));
    assert!(health(&app).contains("● live"), "{}", health(&app));
}

/// Spend decided from what was last seen is not shown while the server is silent: the
/// free GPUs of a node that may be gone are no figure.
#[test]
fn free_gpus_on_billed_nodes_are_not_counted_while_the_server_is_silent() {
    let with_node = |answering: bool| {
        let mut snapshot = (*snapshot(SourceState::Synced, answering)).clone();
        let node: mlxp_core::domain::objects::Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "gpu-a", "labels": {
                "mlxp.io/pool": "training",
                "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
            "status": {
                "allocatable": {"nvidia.com/gpu": "8"},
                "conditions": [{"type": "Ready", "status": "True"}]},
        }))
        .expect("node");
        snapshot
            .nodes
            .items
            .insert((Default::default(), "gpu-a".into()), Arc::new(node));
        Arc::new(snapshot)
    };
    let mut app = app();
    metrics(&mut app);
    app.update(Msg::Snapshot(with_node(true)));
    assert!(
        draw(&app).contains("free on billed nodes: 8 GPUs"),
        "{}",
        draw(&app)
    );
    app.update(Msg::Snapshot(with_node(false)));
    let screen = draw(&app);
    assert!(!screen.contains("free on billed nodes"), "{screen}");
    assert!(
        screen.contains("unknown: the API server cannot be read"),
        "{screen}"
    );
}

/// Issue 10: a ClusterQueue at 90 % of its GPU quota is an alert; the panel grows to a third
/// of the screen for them, and what still does not fit is counted, not dropped unsaid.
#[test]
fn queues_under_quota_pressure_show_and_what_does_not_fit_is_counted() {
    use mlxp_core::domain::objects::{ClusterQueue, FlavorQuota};
    let mut snapshot = (*snapshot(SourceState::Synced, true)).clone();
    for i in 0..10 {
        let name = format!("queue-{i}");
        let mut queue = ClusterQueue {
            meta: Default::default(),
            strategy: "BestEffortFIFO".into(),
            flavors: vec![FlavorQuota {
                flavor: "h100".into(),
                gpu_quota: 10,
                gpu_used: 9,
            }],
            pending: 0,
            admitted: 0,
            stop_policy: None,
        };
        queue.meta.name = name.clone();
        snapshot
            .cluster_queues
            .items
            .insert((Default::default(), name), Arc::new(queue));
    }
    let mut app = app();
    metrics(&mut app);
    app.update(Msg::Snapshot(Arc::new(snapshot)));
    let backend = ratatui::backend::TestBackend::new(120, 24);
    let mut terminal = ratatui::Terminal::new(backend).expect("terminal");
    terminal
        .draw(|frame| render::render(&app, frame))
        .expect("drawn");
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("● queue queue-0 at 90% of its GPU quota (9/10)"),
        "{screen}"
    );
    // 24 rows: the panel holds 7 lines, the last one saying how many more there are.
    assert_eq!(screen.matches("● queue ").count(), 6, "{screen}");
    assert!(screen.contains("+4 more: mlxp get alerts"), "{screen}");
}
