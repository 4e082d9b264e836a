//! The logs view against the embedded cluster: `l` on a running Job follows its pods' merged
//! log through the same follower the loop runs, keeps it when the pod finishes, and pauses,
//! searches and wraps as its keys say.

mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use common::proxy::FaultProxy;
use mlxp::cluster::{LogEvent, LogOptions, Snapshot, follow_logs};
use mlxp::tui::app::{App, Effect, Mode, Msg};
use mlxp::tui::keys::Key;
use mlxp::tui::render;
use mlxp_core::logs::LogTarget;
use tokio::sync::mpsc;

fn press(app: &mut App, keys: &str) {
    for k in keys.split(' ') {
        app.update(Msg::Key(Key::from_str(k).expect("key")));
    }
}

fn screen(app: &App) -> String {
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).expect("terminal");
    terminal
        .draw(|frame| render::render(app, frame))
        .expect("drawn");
    terminal.backend().to_string()
}

/// Feeds the follower's events to the app until the view holds to `what`, within 10 s.
async fn until(
    app: &mut App,
    events: &mut mpsc::Receiver<LogEvent>,
    said: &str,
    what: impl Fn(&App) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !what(app) {
            let first = events.recv().await.expect("the follower runs");
            let mut batch = vec![first];
            while let Ok(more) = events.try_recv() {
                batch.push(more);
            }
            app.update(Msg::Logs(batch));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{said} within 10 s; the log: {:?}", shown_lines(app)));
}

fn shown_lines(app: &App) -> Vec<String> {
    let Mode::Logs(view) = &app.mode else {
        panic!("the logs view, not {:?}", app.mode);
    };
    view.buffer.iter().map(|l| l.text.to_string()).collect()
}

/// `l` on the Jobs view's row `job`: what the loop would follow.
fn l_on_job(app: &mut App, job: &str) -> (LogTarget, Option<String>, LogOptions) {
    press(app, "4 g");
    app.rebuild_if_due();
    for _ in 0..20 {
        if app.selected_key() == Some(job) {
            break;
        }
        press(app, "j");
    }
    press(app, "l");
    match app.take_effects().pop() {
        Some(Effect::FollowLogs {
            target,
            selector,
            options,
        }) => (target, selector, options),
        _ => panic!("l follows the logs ({:?})", app.message),
    }
}

/// A cockpit watching the cluster through `client`, its logs view open on the running
/// fraud-detector training Job, and the follower the loop would run for it.
async fn logs_of_the_running_job(client: kube::Client) -> (App, mpsc::Receiver<LogEvent>) {
    let watch = mlxp::cluster::start(client.clone());
    let mut updates = watch.subscribe();
    let snapshot: Arc<Snapshot> = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = updates.borrow_and_update().clone();
            if s.complete() {
                return s;
            }
            updates.changed().await.expect("watchers run");
        }
    })
    .await
    .expect("synced");
    let mut app = common::cockpit::app_showing(snapshot);
    app.update(Msg::Resized {
        width: 120,
        height: 30,
    });
    let (target, selector, options) = l_on_job(&mut app, "training/train-fraud-detector-r12");
    assert_eq!(
        selector.as_deref(),
        Some("job-name=train-fraud-detector-r12")
    );
    (app, follow_logs(client, target, selector, options))
}

#[tokio::test]
async fn a_cut_log_stream_is_followed_again_from_the_line_after_the_last_one_shown() {
    let sim = common::platform_at(common::eight_am()).await;
    sim.advance(Duration::from_secs(120));
    let proxy = FaultProxy::start(sim.addr()).await;
    let mut config = sim.config(false).await.expect("config");
    config.cluster_url = format!("https://{}", proxy.addr()).parse().expect("url");
    let client = kube::Client::try_from(config).expect("client");
    let (mut app, mut events) = logs_of_the_running_job(client).await;
    until(&mut app, &mut events, "an epoch line", |a| {
        shown_lines(a).iter().any(|l| l.starts_with("epoch"))
    })
    .await;
    let before = shown_lines(&app);

    // Every connection closes and the server cannot be reached for a while; the pod still
    // runs: the view says so, once, and reaches it again when it can.
    proxy.refuse(true);
    proxy.cut();
    until(&mut app, &mut events, "a reconnecting pod", |a| {
        screen(a).contains("reconnecting")
    })
    .await;
    let shown = screen(&app);
    assert!(
        shown.contains("1 pods (0 streaming, 1 reconnecting: "),
        "{shown}"
    );
    // Two seconds unreachable: the follower's tries back off and say nothing new (without
    // a backoff its pods watch said so thousands of times a second).
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(event) = events.recv().await {
            app.update(Msg::Logs(vec![event]));
        }
    })
    .await;
    let notes = shown_lines(&app)
        .iter()
        .filter(|l| l.starts_with('['))
        .count();
    assert!(notes <= 1, "said once, not {notes} times");
    proxy.refuse(false);
    until(&mut app, &mut events, "the stream again", |a| {
        screen(a).contains("1 pods (1 streaming)")
    })
    .await;

    // Lines written after the cut come, each once; none shown before comes again.
    sim.advance(Duration::from_secs(40 * 60));
    until(&mut app, &mut events, "a new epoch line", |a| {
        shown_lines(a).len() > before.len()
    })
    .await;
    let after = shown_lines(&app);
    assert_eq!(
        after[..before.len()],
        before[..],
        "the lines had stay as they were"
    );
    let mut seen = std::collections::HashSet::new();
    for line in after.iter().filter(|l| l.starts_with("epoch")) {
        assert!(seen.insert(line), "{line} came twice: {after:?}");
    }
}

#[tokio::test]
async fn l_on_a_running_job_follows_its_log_and_keeps_it_when_the_pod_finishes() {
    let sim = common::platform_at(common::eight_am()).await;
    sim.advance(Duration::from_secs(120));
    let client = sim.client(false).await.expect("client");
    let (mut app, mut events) = logs_of_the_running_job(client).await;
    until(&mut app, &mut events, "an epoch line", |a| {
        shown_lines(a).iter().any(|l| l.starts_with("epoch"))
    })
    .await;
    let shown = screen(&app);
    assert!(
        shown.contains(
            "logs of job training/train-fraud-detector-r12 · 1 pods (1 streaming) · following"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("train-fraud-detector-r12-"),
        "lines after their pod:\n{shown}"
    );

    // The run ends (its duration is 3 h): the last lines come, and the view stays.
    sim.advance(Duration::from_secs(3 * 3600));
    until(&mut app, &mut events, "the last line", |a| {
        shown_lines(a)
            .iter()
            .any(|l| l.starts_with("training finished"))
    })
    .await;
    assert!(matches!(app.mode, Mode::Logs(_)));

    // Going to the top pauses (the log is shorter than the screen: k has nowhere to go),
    // / finds, G follows again; w wraps; q closes and stops it.
    press(&mut app, "g");
    assert!(screen(&app).contains("· paused ·"));
    press(&mut app, "/ s t a r t i n g enter");
    let Mode::Logs(view) = &app.mode else {
        panic!("still the logs")
    };
    let top = view.buffer.get(view.top).expect("a line");
    assert!(top.text.contains("starting"), "{}", top.text);
    press(&mut app, "G w");
    let shown = screen(&app);
    assert!(shown.contains("· following, wrap ·"), "{shown}");
    press(&mut app, "q");
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.take_effects(), vec![Effect::StopLogs]);
}

#[tokio::test]
async fn c_moves_through_the_containers_of_pods_that_have_several() {
    use k8s_openapi::api::batch::v1::Job;
    use kube::api::{Api, PostParams};
    let sim = common::platform_at(common::eight_am()).await;
    let client = sim.client(false).await.expect("client");
    let job: Job = serde_json::from_value(serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "two-c", "namespace": "training"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "busybox"},
            {"name": "sidecar", "image": "busybox"},
        ]}}},
    }))
    .expect("a job");
    Api::<Job>::namespaced(client.clone(), "training")
        .create(&PostParams::default(), &job)
        .await
        .expect("created");
    // Created, scheduled, started: a few of the controllers' rounds.
    for _ in 0..6 {
        sim.advance(Duration::from_secs(10));
    }
    let snapshot = mlxp::cluster::snapshot_once(client.clone(), Duration::from_secs(30))
        .await
        .expect("a snapshot");
    let mut app = common::cockpit::app_showing(snapshot);
    app.rebuild_if_due();
    let (target, selector, options) = l_on_job(&mut app, "training/two-c");
    assert_eq!(options.container, None);
    let mut events = follow_logs(client, target, selector, options);
    until(&mut app, &mut events, "its pod started", |a| {
        match &a.mode {
            Mode::Logs(view) => !view.pods.is_empty(),
            _ => false,
        }
    })
    .await;
    let containers = |app: &mut App| -> Option<String> {
        match app.take_effects().pop() {
            Some(Effect::FollowLogs { options, .. }) => options.container,
            other => panic!("c follows again: {other:?} ({:?})", app.message),
        }
    };
    press(&mut app, "c");
    assert_eq!(containers(&mut app).as_deref(), Some("main"));
    assert!(screen(&app).contains("container main"));
    press(&mut app, "c");
    assert_eq!(containers(&mut app).as_deref(), Some("sidecar"));
    press(&mut app, "c");
    assert_eq!(containers(&mut app), None, "back to each pod's default");
}
