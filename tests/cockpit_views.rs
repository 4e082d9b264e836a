//! Every view of the cockpit, rendered whole at 120×40 and 80×24 from the seeded embedded
//! cluster on a fixed clock, through the same watchers and the embedded metrics the demo
//! uses. A change to any view shows up as a snapshot diff (`cargo insta review`).

mod common;

use mlxp::tui::app::{App, Msg};
use mlxp::tui::color_depth::ColorDepth;
use mlxp::tui::views::View;
use mlxp::tui::{keymap, render, theme};
use mlxp_sim::Sim;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use common::cockpit::{FRAMES, cockpit_on};

async fn cockpit() -> (Sim, App) {
    cockpit_on(common::platform_at(common::eight_am()).await).await
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

/// Moves the selection down to the first row `wanted` keeps; its index.
fn select_where(app: &mut App, wanted: impl Fn(&mlxp::tui::table::Row) -> bool) -> usize {
    let at = app
        .table()
        .rows
        .iter()
        .position(|row| wanted(row))
        .expect("a row to select");
    for _ in 0..at {
        key(app, "j");
    }
    at
}

/// The detail pane's lines as plain text.
fn detail_text(app: &App) -> Vec<String> {
    let detail = app.derived.detail.as_ref().expect("a detail pane");
    detail
        .lines
        .iter()
        .map(|l| l.iter().map(|(_, t)| t.as_str()).collect())
        .collect()
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
    assert!(matches!(&app.mode, mlxp::tui::app::Mode::Yaml(yaml) if yaml.scroll == 1));
    key(&mut app, "esc");
    assert_eq!(app.mode, mlxp::tui::app::Mode::Normal);
}

/// The detail pane shows the selected row's object and follows the selection; `d` hides it.
#[tokio::test]
async fn the_detail_pane_follows_the_selection() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "2");
    let title = |app: &App| app.derived.detail.as_ref().map(|d| d.title.clone());
    let first = app.table().rows[0].key.clone();
    assert_eq!(title(&app), Some(format!("node {first}")));
    key(&mut app, "j");
    let second = app.table().rows[1].key.clone();
    assert_eq!(title(&app), Some(format!("node {second}")));
    assert!(draw(&app, 120, 40).contains(&format!("node {second}")));
    key(&mut app, "d");
    assert_eq!(title(&app), None);
    assert!(!draw(&app, 120, 40).contains(&format!("node {second}")));
    key(&mut app, "d");
    assert_eq!(title(&app), Some(format!("node {second}")));
    // Scrolling stops at the last line.
    let lines = app.derived.detail.as_ref().map_or(0, |d| d.lines.len());
    for _ in 0..lines + 5 {
        key(&mut app, "J");
    }
    assert_eq!(app.detail_scroll, lines - 1);
    key(&mut app, "K");
    assert_eq!(app.detail_scroll, lines - 2);
}

/// A training node's detail: a bar per GPU with the pod holding it, and the pods on it, as
/// the cluster has them.
#[tokio::test]
async fn a_node_detail_lists_its_gpus_and_pods() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "2");
    let at = select_where(&mut app, |r| {
        r.cells[0] == "training" && r.cells[4] == "8/8"
    });
    let node = app.table().rows[at].key.clone();
    let detail = app.derived.detail.clone().expect("detail");
    let text = detail_text(&app);
    let pods: Vec<String> = app
        .snapshot
        .pods
        .values()
        .filter(|p| p.node == node && p.holds_resources())
        .map(|p| format!("{}/{}", p.meta.namespace, p.meta.name))
        .collect();
    assert!(!pods.is_empty());
    assert!(
        text.iter().any(|l| l == &format!("Pods ({})", pods.len())),
        "{text:#?}"
    );
    for pod in &pods {
        assert!(
            text.iter().any(|l| l.contains(pod.as_str())),
            "{pod} in {text:#?}"
        );
    }
    assert!(text.iter().any(|l| l == "GPUs (8)"), "{text:#?}");
    let gpu_lines = text
        .iter()
        .filter(|l| l.contains('%') && l.contains('W'))
        .count();
    assert_eq!(gpu_lines, 8, "{text:#?}");
    // Its GPUs' mean utilisation over the frames fed in.
    let [chart] = detail.charts.as_slice() else {
        panic!("one chart: {:?}", detail.charts);
    };
    assert_eq!(chart.values.len(), FRAMES);
}

/// A GPU's detail has nvtop-like charts of utilisation, memory and power, one sample per
/// metrics frame, the newest equal to what the table shows.
#[tokio::test]
async fn a_gpu_detail_charts_its_history() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "3");
    let row = app.table().rows[0].clone();
    let detail = app.derived.detail.clone().expect("detail");
    let titles: Vec<&str> = detail.charts.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(titles[0].starts_with("util "), "{titles:?}");
    assert_eq!(titles[0], format!("util {}", row.cells[3]));
    assert!(titles[1].starts_with("memory ") && titles[2].starts_with("power "));
    // Its price, as the table's $/H column has it.
    let price = app
        .table()
        .columns
        .iter()
        .position(|c| c.name == "$/H")
        .expect("a $/H column");
    let text = detail_text(&app);
    let line = text
        .iter()
        .find(|l| l.starts_with("price"))
        .expect("a price line");
    assert!(line.contains(&format!("${}/h", row.cells[price])), "{line}");
    assert!(detail.charts.iter().all(|c| c.values.len() == FRAMES));
}

/// A live table re-sorts as things change; the selection stays on its object.
#[tokio::test]
async fn the_selection_follows_its_row_when_the_order_changes() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "2");
    for _ in 0..3 {
        key(&mut app, "j");
    }
    let chosen = app.table().rows[3].key.clone();
    key(&mut app, "s");
    key(&mut app, "s");
    key(&mut app, "S");
    assert_ne!(app.table().rows[3].key, chosen, "the order changed");
    assert_eq!(app.table().rows[app.selected()].key, chosen);
}

/// Each GPU pool's line on the Overview carries its utilisation trend, one bar per frame.
#[tokio::test]
async fn the_overview_shows_each_gpu_pools_trend() {
    let (_sim, app) = cockpit().await;
    for line in &app.derived.overview.pools {
        let bars = line.trend.chars().count();
        if line.pool.gpus > 0 {
            assert_eq!(bars, mlxp::tui::derived::POOL_TREND, "{}", line.pool.name);
        } else {
            assert_eq!(bars, 0, "{} has no GPUs", line.pool.name);
        }
    }
}

/// A finished training Job's detail shows the metrics its pod handed back as JSON in the
/// termination message, one per line.
#[tokio::test]
async fn a_finished_jobs_detail_shows_its_final_metrics() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "4");
    let at = select_where(&mut app, |r| {
        r.cells[4] == "Succeeded" && r.cells[10].starts_with('{')
    });
    let (ns, name) = app.table().rows[at]
        .key
        .split_once('/')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .expect("namespace/name");
    let message = app
        .snapshot
        .pods_of_job(&ns, &name)
        .filter_map(|p| p.ended.as_ref().map(|e| e.message.clone()))
        .last()
        .expect("a termination message");
    let reported: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&message).expect("JSON metrics");
    let text = detail_text(&app);
    assert!(
        text.iter().any(|l| l == "Results (termination message)"),
        "{text:#?}"
    );
    for (metric, value) in reported {
        let value = value.as_f64().expect("a number");
        let line = text
            .iter()
            .find(|l| l.trim_start().starts_with(&metric))
            .unwrap_or_else(|| panic!("{metric} in {text:#?}"));
        let shown: f64 = line
            .split_whitespace()
            .last()
            .and_then(|v| v.parse().ok())
            .expect("a value");
        assert!((shown - value).abs() < 1e-4, "{metric}: {shown} vs {value}");
    }
}

/// From a terminal of one cell to a narrow one, every view (with its detail pane, the
/// help and the YAML over it) is drawn without panicking.
#[tokio::test]
async fn every_view_draws_at_any_size() {
    let (_sim, mut app) = cockpit().await;
    for i in 1..=View::ALL.len() {
        key(&mut app, &i.to_string());
        for (width, height) in [
            (1, 1),
            (2, 3),
            (10, 4),
            (20, 6),
            (33, 9),
            (60, 12),
            (79, 23),
        ] {
            draw(&app, width, height);
            key(&mut app, "?");
            draw(&app, width, height);
            key(&mut app, "esc");
            app.mode = mlxp::tui::app::Mode::Yaml(mlxp::tui::app::YamlOverlay {
                text: Some("kind: Job\nmetadata:\n  name: b\n".repeat(20)),
                scroll: 3,
                ..mlxp::tui::app::YamlOverlay::new("a/b".into())
            });
            draw(&app, width, height);
            app.mode = mlxp::tui::app::Mode::Normal;
        }
    }
}

/// Each view keeps its own selection: a ModelVersion and its Deployment share a name, and
/// selecting one on Models does not move the selection on Serving & Canary.
#[tokio::test]
async fn each_view_keeps_its_own_selection() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "5");
    let at = select_where(&mut app, |r| r.key.ends_with("/fraud-detector-v2"));
    assert!(at > 0);
    key(&mut app, "6");
    assert!(
        app.table()
            .rows
            .iter()
            .any(|r| r.key.ends_with("/fraud-detector-v2")),
        "the same name on Serving"
    );
    assert_eq!(app.selected(), 0);
    key(&mut app, "5");
    assert_eq!(app.selected(), at);
}

/// The row whose key ends with `suffix`.
fn row_ending(app: &App, suffix: &str) -> mlxp::tui::table::Row {
    app.table()
        .rows
        .iter()
        .find(|r| r.key.ends_with(suffix))
        .map(|r| r.as_ref().clone())
        .unwrap_or_else(|| panic!("a row {suffix}"))
}

fn column(app: &App, name: &str) -> usize {
    app.table()
        .columns
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("a {name} column"))
}

/// Issue 9 #11: the failing canary (8 % errors, p99 907 ms against 1 % and 500 ms) says so in
/// words, in its STATUS column drawn in the failure style, readable without colour; its
/// detail pane and the Overview's alert say the same.
#[tokio::test]
async fn a_failing_canary_says_so_in_words() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "6");
    let status = column(&app, "STATUS");
    let failing = "failing: errors 8.0% > 1.0%, p99 907ms > 500ms";
    let canary = row_ending(&app, "/fraud-detector-v2");
    assert_eq!(canary.cells[status], failing);
    assert_eq!(canary.slot, Some(mlxp::tui::theme::Slot::StatusFailed));
    assert_eq!(
        row_ending(&app, "/fraud-detector-v1").cells[status],
        "healthy"
    );
    app.depth = ColorDepth::NoColor;
    assert!(draw(&app, 120, 40).contains(failing));
    select_where(&mut app, |r| r.key.ends_with("/fraud-detector-v2"));
    let text = detail_text(&app);
    assert!(
        text.iter().any(|l| l == &format!("status      {failing}")),
        "{text:#?}"
    );
    key(&mut app, "1");
    let screen = draw(&app, 120, 40);
    assert!(
        screen.contains(&format!("fraud-detector v2 {failing}")),
        "{screen}"
    );
}

/// Issue 9 #12: free GPUs on nodes that are up and billed (a whole free spot node, 7 free
/// on-demand H100s) are shown beside the allocated-but-idle ones, each labelled.
#[tokio::test]
async fn idle_spend_shows_free_gpus_on_billed_nodes_too() {
    let (_sim, app) = cockpit().await;
    let screen = draw(&app, 120, 40);
    assert!(
        screen.contains("idle allocated: 1 GPUs $11.06/h"),
        "{screen}"
    );
    assert!(
        screen.contains("free on billed nodes: 15 GPUs $105.4/h"),
        "{screen}"
    );
}

/// Issue 9 #13: events newest first, warnings marked and kept by `/Warning`; the Jobs and
/// Nodes views say when each object last changed (a failed Job: when it failed).
#[tokio::test]
async fn what_changed_recently() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "7");
    let seen: Vec<_> = app
        .table()
        .rows
        .iter()
        .map(|r| {
            let (ns, name) = r.key.split_once('/').expect("namespace/name");
            app.snapshot
                .events
                .get(ns, name)
                .expect("an event")
                .last_seen
        })
        .collect();
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "{seen:?}");
    key(&mut app, "/");
    for c in "Warning".chars() {
        key(&mut app, &c.to_string());
    }
    key(&mut app, "enter");
    let rows = &app.table().rows;
    assert!(!rows.is_empty() && rows.iter().all(|r| r.cells[1] == "Warning"));
    key(&mut app, "esc");
    key(&mut app, "4");
    let changed = column(&app, "CHANGED");
    let failed = app
        .table()
        .rows
        .iter()
        .find(|r| r.cells[4] == "Failed")
        .cloned()
        .expect("a failed Job");
    let (ns, name) = failed.key.split_once('/').expect("namespace/name");
    let job = app.snapshot.jobs.get(ns, name).expect("the Job");
    let failed_at = job
        .conditions
        .iter()
        .find(|c| c.kind == "Failed")
        .and_then(|c| c.last_transition_time);
    assert!(failed_at.is_some());
    assert_eq!(
        failed.cells[changed],
        mlxp::tui::views::age(failed_at, app.now)
    );
    key(&mut app, "2");
    let changed = column(&app, "CHANGED");
    assert!(app.table().rows.iter().all(|r| r.cells[changed] != "-"));
}

/// Issue 9 #13: what changed recently includes a route's new weights (the Gateway says so
/// on the HTTPRoute) and the seeded Job that failed past its backoffLimit.
#[tokio::test]
async fn a_route_change_and_a_failed_job_are_among_the_events() {
    let sim = common::platform_at(common::eight_am()).await;
    let client = sim.client(false).await.expect("client");
    let routes = kube::Api::<kube::api::DynamicObject>::namespaced_with(
        client,
        "serving",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
            "httproutes",
        ),
    );
    let route = routes
        .get("fraud-detector")
        .await
        .expect("the canary's route");
    let mut rules = route.data["spec"]["rules"].clone();
    let refs = rules[0]["backendRefs"].as_array_mut().expect("backends");
    assert_eq!(refs.len(), 2, "stable and canary: {refs:?}");
    for r in refs.iter_mut() {
        r["weight"] = serde_json::json!(50);
    }
    routes
        .patch(
            "fraud-detector",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(serde_json::json!({"spec": {"rules": rules}})),
        )
        .await
        .expect("patched");
    let (_sim, mut app) = cockpit_on(sim).await;
    key(&mut app, "7");
    let rows = &app.table().rows;
    let (reason, object, message) = (
        column(&app, "REASON"),
        column(&app, "OBJECT"),
        column(&app, "MESSAGE"),
    );
    let changed = rows
        .iter()
        .find(|r| r.cells[reason] == "WeightsChanged")
        .expect("the route change is an event");
    assert_eq!(changed.cells[object], "httproute/fraud-detector");
    assert!(
        changed.cells[message].contains("fraud-detector-v1=50, fraud-detector-v2=50"),
        "{:?}",
        changed.cells
    );
    let failed = rows
        .iter()
        .find(|r| r.cells[reason] == "BackoffLimitExceeded")
        .expect("the failed Job is an event");
    assert!(
        failed.cells[object].starts_with("job/"),
        "{:?}",
        failed.cells
    );
    assert_eq!(failed.cells[1], "Warning");
}

/// Issue 9 #14: at 120 columns names and statuses keep their width: every Job's name whole
/// (two were both `train-fraud-detector-r`), pods whole, taints whole, more of a reason than
/// `couldn't assign`.
#[tokio::test]
async fn names_keep_their_width_at_120_columns() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "4");
    let screen = draw(&app, 120, 40);
    for job in app.snapshot.jobs.values() {
        assert!(
            screen.contains(&job.meta.name),
            "{} in {screen}",
            job.meta.name
        );
    }
    assert!(screen.contains("couldn't assign flavors"), "{screen}");
    key(&mut app, "3");
    let screen = draw(&app, 120, 40);
    let pod = column(&app, "POD");
    for row in app.table().rows.iter().take(10) {
        assert!(
            screen.contains(&row.cells[pod]),
            "{} in {screen}",
            row.cells[pod]
        );
    }
    key(&mut app, "2");
    let screen = draw(&app, 120, 40);
    let taints = column(&app, "TAINTS");
    for row in app
        .table()
        .rows
        .iter()
        .filter(|r| !r.cells[taints].is_empty())
    {
        assert!(
            screen.contains(&row.cells[taints]),
            "{} in {screen}",
            row.cells[taints]
        );
    }
}

/// Issue 9 #17: `s` goes through the columns shown at the width; a sort keeps the columns'
/// widths; a filter that keeps nothing says so.
#[tokio::test]
async fn sorting_and_filtering_at_a_width() {
    let (_sim, mut app) = cockpit().await;
    app.update(Msg::Resized {
        width: 80,
        height: 40,
    });
    key(&mut app, "2");
    let screen = draw(&app, 80, 24);
    let header = screen.lines().nth(3).expect("the header row").to_string();
    for _ in 0..app.table().columns.len() {
        key(&mut app, "s");
        let sorted = app.sort().expect("sorted").column;
        let name = app.table().columns[sorted].name;
        assert!(header.contains(name), "{name} is not shown: {header}");
    }
    app.update(Msg::Resized {
        width: 120,
        height: 40,
    });
    key(&mut app, "3");
    let header = |app: &App| {
        draw(app, 120, 40)
            .lines()
            .nth(3)
            .expect("header")
            .to_string()
    };
    let before = header(&app);
    key(&mut app, "s");
    key(&mut app, "S");
    assert_eq!(header(&app), before);
    key(&mut app, "/");
    for c in "nothing-matches-this".chars() {
        key(&mut app, &c.to_string());
    }
    key(&mut app, "enter");
    assert!(draw(&app, 120, 40).contains("no match"));
}

/// Issue 9 #26: the Overview's pool columns stay in line with xlarge values.
#[test]
fn pool_columns_stay_in_line_with_wide_values() {
    use mlxp::tui::derived::PoolLine;
    use mlxp_core::domain::pools::PoolSummary;
    let (keymap, _) = keymap::load("default", None);
    let (theme, _) = theme::load("dark", None);
    let mut app = App::new(
        keymap,
        theme,
        ColorDepth::NoColor,
        "x".into(),
        chrono::Utc::now(),
    );
    let pool = |name: &str, nodes: usize, gpus: i64, allocated: i64, cost: f64| PoolLine {
        pool: PoolSummary {
            name: name.into(),
            role: "training".into(),
            nodes,
            ready: nodes,
            gpus,
            gpus_allocated: allocated,
            ..PoolSummary::default()
        },
        util: Some(83.0),
        cost_per_hour: cost,
        trend: String::new(),
    };
    app.derived.overview.pools = vec![
        pool("serving-gpu", 3, 6, 6, 4.26),
        pool("training", 3995, 31960, 29984, 111860.0),
    ];
    let screen = draw(&app, 120, 40);
    // Where `needle` ends on the line, in cells.
    let end = |line: &str, needle: &str| {
        line.find(needle)
            .map(|at| line[..at].chars().count() + needle.chars().count())
    };
    let lines: Vec<&str> = screen.lines().skip(3).take(3).collect();
    let [header, small, large] = lines.as_slice() else {
        panic!("{screen}");
    };
    assert_eq!(end(small, "6/6"), end(header, "GPUS"), "{screen}");
    assert_eq!(end(large, "29984/31960"), end(header, "GPUS"), "{screen}");
    assert_eq!(end(large, "3995/3995"), end(header, "NODES"), "{screen}");
    assert_eq!(end(small, "83%"), end(header, "UTIL"), "{screen}");
    assert_eq!(end(large, "83%"), end(header, "UTIL"), "{screen}");
}

/// Issue 9 #22: wrapped detail lines keep their indent; a version's source Job that is gone
/// says so; at 80×24 the Overview's Serving box shows the failing canary first.
#[tokio::test]
async fn detail_and_overview_when_space_is_short() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "4");
    let screen = draw(&app, 120, 40);
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("│queue       training"))
        .expect("the queue line");
    let next = lines[at + 1].trim_start_matches('"');
    assert!(
        next.starts_with("│            ") && !next.starts_with("│             "),
        "{screen}"
    );
    key(&mut app, "5");
    let text = detail_text(&app);
    assert!(
        text.iter()
            .any(|l| l == "source job  train-churn-predictor-v2 (gone)"),
        "{text:#?}"
    );
    key(&mut app, "1");
    let screen = draw(&app, 80, 24);
    assert!(
        screen
            .lines()
            .any(|l| l.contains("fraud-detector") && l.contains(" v2 ")),
        "{screen}"
    );
}

#[tokio::test]
async fn the_header_says_how_the_agent_beside_the_cockpit_stands() {
    let (_sim, mut app) = cockpit().await;
    assert!(
        !draw(&app, 160, 10).contains("agent:"),
        "no agent, no word of one"
    );
    app.update(mlxp::tui::app::Msg::AgentStatus(
        mlxp_core::agent::AgentLine {
            text: "leading · evaluated 3 s ago · 1 op".into(),
            trouble: false,
        },
    ));
    let header = draw(&app, 160, 10)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        header.contains("agent: leading · evaluated 3 s ago · 1 op"),
        "{header}"
    );
}

/// What mlxp last did to a version is read from the Events: when they are not seen, the
/// column says it does not know ("?"), not that nothing was done ("-").
#[tokio::test]
async fn last_actions_are_unknown_while_the_events_are_not_seen() {
    let (_sim, mut app) = cockpit().await;
    key(&mut app, "5");
    app.rebuild_if_due();
    let at = column(&app, "LAST ACTION");
    assert_eq!(row_ending(&app, "churn-predictor-v2").cells[at], "-");
    let mut blind = (*app.snapshot).clone();
    blind.events.status.state = mlxp::cluster::SourceState::Failing;
    app.update(Msg::Snapshot(std::sync::Arc::new(blind)));
    app.rebuild_if_due();
    assert_eq!(row_ending(&app, "churn-predictor-v2").cells[at], "?");
}
