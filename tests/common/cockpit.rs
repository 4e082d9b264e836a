//! The cockpit as the demo opens it: over an embedded cluster, through the same watchers,
//! with five simulated minutes of its embedded metrics behind it.

use std::sync::Arc;
use std::time::Duration;

use mlxp::metrics::MetricsSource;
use mlxp::tui::app::{App, Msg};
use mlxp::tui::color_depth::ColorDepth;
use mlxp::tui::{keymap, theme};
use mlxp_sim::Sim;

/// Metrics frames taken this far apart on the simulated clock, for the charts' history.
pub const FRAME_EVERY: Duration = Duration::from_secs(10);
pub const FRAMES: usize = 30;

/// The cockpit over `sim`, every kind synced and the metrics frames recorded.
pub async fn cockpit_on(sim: Sim) -> (Sim, App) {
    // Five simulated minutes of metrics first, so sparklines and charts have a history.
    let metrics = mlxp_sim::metrics_source::Embedded::new(sim.state().clone());
    let mut frames = Vec::new();
    for _ in 0..FRAMES {
        sim.advance(FRAME_EVERY);
        frames.push(metrics.frame().await.expect("frame"));
    }
    let watch = mlxp::cluster::start(sim.client(true).await.expect("client"));
    let mut updates = watch.subscribe();
    let snapshot = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let latest = updates.borrow_and_update().clone();
            if mlxp::cluster::KindName::ALL
                .iter()
                .all(|k| latest.status(*k).synced())
            {
                return latest;
            }
            updates.changed().await.expect("watchers run");
        }
    })
    .await
    .expect("synced within 20 s");
    let (keymap, _) = keymap::load("default", None);
    let (theme, _) = theme::load("dark", None);
    let now = sim.state().clock.now();
    let mut app = App::new(
        keymap,
        theme,
        ColorDepth::TrueColor,
        "mlxp-demo".into(),
        now,
    );
    app.metrics_source = "embedded".into();
    app.update(Msg::Snapshot(snapshot));
    for frame in frames {
        app.update(Msg::Metrics(Ok(Arc::new(frame))));
    }
    (sim, app)
}

/// The cockpit's App (default keymap, dark theme, truecolor) on context `mlxp-sim`,
/// showing `snapshot`.
pub fn app_showing(snapshot: Arc<mlxp::cluster::Snapshot>) -> App {
    let (keymap, _) = keymap::load("default", None);
    let (theme, _) = theme::load("dark", None);
    let mut app = App::new(
        keymap,
        theme,
        ColorDepth::TrueColor,
        "mlxp-sim".into(),
        chrono::Utc::now(),
    );
    app.update(Msg::Snapshot(snapshot));
    app
}

/// Whether every kind has been listed.
pub fn synced(app: &App) -> bool {
    mlxp::cluster::KindName::ALL
        .iter()
        .all(|k| app.snapshot.status(*k).synced())
}

/// Steps the cockpit's loop until `done` holds (20 s at most).
pub async fn step_until(
    cockpit: &mut mlxp::tui::run::Cockpit,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while !done(&cockpit.app) {
            cockpit.step().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within 20 s"));
}
