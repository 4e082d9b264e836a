//! The Overview's Alerts panel and `mlxp get alerts` say the same: both show what the core
//! decides, from the same seeded embedded cluster and the same metrics frame.

mod common;

use std::sync::Arc;
use std::time::Duration;

use mlxp::cli::get::{Output, What, get};
use mlxp::metrics::{BoxFuture, MetricsError, MetricsFrame, MetricsSource, Series};
use mlxp::tui::render;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The frame the cockpit was last given, for `get` to read: the embedded source computes
/// rates between two reads, so a second read on a standing clock would measure nothing.
struct Same(MetricsFrame);

impl MetricsSource for Same {
    fn frame(&self) -> BoxFuture<'_, Result<MetricsFrame, MetricsError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn history(
        &self,
        _query: &str,
        _range: Duration,
        _step: Duration,
    ) -> BoxFuture<'_, Result<Vec<Series>, MetricsError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn describe(&self) -> String {
        "the cockpit's last frame".into()
    }
}

/// The Alerts panel's lines, drawn wide and tall enough that none wraps or is left out.
fn panel_lines(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|l| l.trim_matches('"'))
        .skip_while(|l| !l.starts_with("┌ Alerts"))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| l.trim_matches('│').trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[tokio::test]
async fn get_alerts_and_the_overviews_alerts_panel_list_the_same_alerts() {
    let (sim, app) =
        common::cockpit::cockpit_on(common::platform_at(common::eight_am()).await).await;
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    terminal
        .draw(|frame| render::render(&app, frame))
        .expect("drawn");
    let panel = panel_lines(&terminal.backend().to_string());

    let frame = (**app.metrics.as_ref().expect("the cockpit has metrics")).clone();
    let json = get(
        sim.client(true).await.expect("client"),
        Some(Arc::new(Same(frame))),
        &app.prices,
        What::Alerts,
        Output::Json,
        None,
    )
    .await
    .expect("mlxp get alerts");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let texts = |field: &str| -> Vec<String> {
        report[field]
            .as_array()
            .expect("a list")
            .iter()
            .map(|a| a["text"].as_str().expect("text").to_string())
            .collect()
    };
    let said: Vec<String> = texts("alerts")
        .into_iter()
        .map(|t| format!("● {t}"))
        .chain(
            texts("unknown")
                .into_iter()
                .map(|t| format!("● unknown: {t}")),
        )
        .collect();
    assert_eq!(panel, said, "{json}");

    // Alerts from the metrics and from the objects both, to compare something.
    let kinds: Vec<&str> = report["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["kind"].as_str().expect("kind"))
        .collect();
    for kind in ["idle_allocated", "failing_version", "failed_jobs"] {
        assert!(kinds.contains(&kind), "{kind} in {json}");
    }
    assert_eq!(report["all_clear"], false);
}
