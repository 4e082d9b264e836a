//! Every view of the cockpit, rendered whole at 120×40 and 80×24 from the seeded embedded
//! cluster on a fixed clock, through the same watchers and the embedded metrics the demo
//! uses. A change to any view shows up as a snapshot diff (`cargo insta review`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use mlxp::metrics::MetricsSource;
use mlxp::sim::Sim;
use mlxp::tui::app::{App, Msg};
use mlxp::tui::color_depth::ColorDepth;
use mlxp::tui::views::View;
use mlxp::tui::{keymap, render, theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

async fn cockpit() -> (Sim, App) {
    let sim = common::platform_at(common::eight_am()).await;
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
    let metrics = mlxp::metrics::embedded::Embedded::new(sim.state().clone());
    let frame = metrics.frame().await.expect("frame");
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
    app.update(Msg::Metrics(Ok(Arc::new(frame))));
    (sim, app)
}

fn draw(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| render::render(app, frame))
        .expect("drawn");
    terminal.backend().to_string()
}

fn key(app: &mut App, key: &str) {
    use std::str::FromStr;
    app.update(Msg::Key(mlxp::tui::keys::Key::from_str(key).expect("key")));
}

#[tokio::test]
async fn every_view_at_120x40_and_80x24() {
    let (_sim, mut app) = cockpit().await;
    for (i, view) in View::ALL.iter().enumerate() {
        key(&mut app, &(i + 1).to_string());
        assert_eq!(app.view, *view);
        let name = view.command();
        insta::assert_snapshot!(format!("{name}_120x40"), draw(&app, 120, 40));
        insta::assert_snapshot!(format!("{name}_80x24"), draw(&app, 80, 24));
    }
}

#[tokio::test]
async fn help_filter_and_sort_render() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "?");
    insta::assert_snapshot!("help_120x40", draw(&app, 120, 40));
    key(&mut app, "esc");
    key(&mut app, "2");
    key(&mut app, "/");
    for c in "training".chars() {
        key(&mut app, &c.to_string());
    }
    key(&mut app, "enter");
    key(&mut app, "s");
    key(&mut app, "s");
    key(&mut app, "s");
    key(&mut app, "s");
    key(&mut app, "S");
    insta::assert_snapshot!("nodes_filtered_sorted_120x40", draw(&app, 120, 40));
}

/// `y` on a row opens its object's YAML, read fresh from the API, scrollable, esc closes.
#[tokio::test]
async fn the_yaml_of_the_selected_job() {
    let (sim, mut app) = cockpit().await;
    key(&mut app, "4");
    let job = app.table().rows[0].key.clone();
    key(&mut app, "y");
    let effects = app.take_effects();
    let [mlxp::tui::app::Effect::FetchYaml { path }] = effects.as_slice() else {
        panic!("one fetch asked for: {effects:?}");
    };
    let (ns, name) = job.split_once('/').expect("namespace/name");
    assert_eq!(path, &format!("/apis/batch/v1/namespaces/{ns}/jobs/{name}"));
    assert!(draw(&app, 120, 40).contains("reading…"));
    let client = sim.client(true).await.expect("client");
    let yaml = mlxp::cluster::fetch_yaml(&client, path).await;
    app.update(Msg::Yaml(yaml));
    let screen = draw(&app, 120, 40);
    assert!(screen.contains("read-only"), "{screen}");
    assert!(screen.contains("kind: Job"), "{screen}");
    assert!(screen.contains(&format!("name: {name}")), "{screen}");
    assert!(!screen.contains("managedFields"));
    key(&mut app, "j");
    assert!(matches!(
        app.mode,
        mlxp::tui::app::Mode::Yaml { scroll: 1, .. }
    ));
    key(&mut app, "esc");
    assert_eq!(app.mode, mlxp::tui::app::Mode::Normal);
}
