//! Helpers shared by the integration tests (each test binary uses its own subset).
#![allow(dead_code)]

pub mod cockpit;
pub mod metrics;
pub mod ops;
pub mod prometheus;
pub mod proxy;

#[allow(unused_imports)]
pub use mlxp_sim::testing::*;

/// The cockpit (default keymap, dark theme, truecolor) showing `snapshot`, drawn whole at
/// `width`×`height` as text.
pub fn draw_snapshot(
    snapshot: std::sync::Arc<mlxp::cluster::Snapshot>,
    width: u16,
    height: u16,
) -> String {
    use mlxp::tui::{app, color_depth::ColorDepth, keymap, render, theme};
    let (keymap, _) = keymap::load("default", None);
    let (theme, _) = theme::load("dark", None);
    let mut app = app::App::new(
        keymap,
        theme,
        ColorDepth::TrueColor,
        "test".into(),
        chrono::Utc::now(),
    );
    app.update(app::Msg::Snapshot(snapshot));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("terminal");
    terminal
        .draw(|frame| render::render(&app, frame))
        .expect("drawn");
    terminal.backend().to_string()
}

/// `sim`'s kubeconfig, pointed at `proxy` instead, written to `path`.
pub fn write_kubeconfig_through(
    sim: &mlxp_sim::Sim,
    proxy: &proxy::FaultProxy,
    path: &std::path::Path,
) {
    let yaml = sim
        .kubeconfig_yaml()
        .replace(&sim.url(), &format!("https://{}", proxy.addr()));
    std::fs::write(path, yaml).expect("kubeconfig written");
}

/// Cordons (or uncordons) a node straight on the cluster, not through any proxy.
pub async fn set_unschedulable(sim: &mlxp_sim::Sim, node: &str, unschedulable: bool) {
    use kube::api::{Api, Patch, PatchParams};
    Api::<k8s_openapi::api::core::v1::Node>::all(sim.client(false).await.expect("client"))
        .patch(
            node,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"unschedulable": unschedulable}})),
        )
        .await
        .expect("patched");
}
