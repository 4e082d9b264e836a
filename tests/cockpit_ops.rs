//! Operations from the cockpit against the embedded cluster: a key on a row opens a dialog
//! with the effect and the server's dry-run, `y` runs it through the executor, and the view
//! shows the new state when the watch delivers it. Read-only and refusals send nothing.

mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use mlxp::cluster::Snapshot;
use mlxp::exec::{Executor, Mode as ExecMode};
use mlxp::tui::app::{App, Effect, Mode, Msg};
use mlxp::tui::keys::Key;
use mlxp::tui::render;
use tokio::sync::watch;

fn press(app: &mut App, keys: &str) {
    for k in keys.split(' ') {
        app.update(Msg::Key(Key::from_str(k).expect("key")));
    }
}

/// The next snapshot that holds to `what`, within ten seconds.
async fn until(
    updates: &mut watch::Receiver<Arc<Snapshot>>,
    what: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let latest = updates.borrow_and_update().clone();
            if what(&latest) {
                return latest;
            }
            updates.changed().await.expect("watchers run");
        }
    })
    .await
    .expect("within 10 s")
}

/// The cockpit on the seeded platform, through the admin context's watchers, on Serving
/// with fraud-detector v2 (the failing canary) selected.
async fn serving_v2() -> (
    mlxp_sim::Sim,
    kube::Client,
    watch::Receiver<Arc<Snapshot>>,
    mlxp::cluster::ClusterWatch,
    App,
) {
    let sim = common::platform_at(common::eight_am()).await;
    sim.advance(Duration::from_secs(120));
    let client = sim.client(false).await.expect("client");
    let watch = mlxp::cluster::start(client.clone());
    let mut updates = watch.subscribe();
    let snapshot = until(&mut updates, Snapshot::complete).await;
    let mut app = common::cockpit::app_showing(snapshot);
    select_v2(&mut app);
    (sim, client, updates, watch, app)
}

/// Serving, fraud-detector v2's row.
fn select_v2(app: &mut App) {
    press(app, "6 g");
    for _ in 0..10 {
        if app.selected_key() == Some("serving/fraud-detector-v2") {
            break;
        }
        press(app, "j");
    }
    assert_eq!(app.selected_key(), Some("serving/fraud-detector-v2"));
}

fn screen(app: &App) -> String {
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
    terminal
        .draw(|frame| render::render(app, frame))
        .expect("drawn");
    terminal.backend().to_string()
}

fn weight_cell(app: &App, key: &str) -> String {
    let row = app
        .table()
        .rows
        .iter()
        .find(|r| r.key == key)
        .expect("the row");
    row.cells[2].trim().to_string()
}

#[tokio::test]
async fn a_rollback_from_the_serving_view_previews_runs_and_the_view_follows() {
    let (_sim, client, mut updates, _watch, mut app) = serving_v2().await;
    assert!(weight_cell(&app, "serving/fraud-detector-v2").starts_with("20%"));
    press(&mut app, "R");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert_eq!(
        dialog.effect,
        "fraud-detector rolled back to v1: v1 80→100 %, v2 20→0 %; v2 rejected (rolled back \
         from the cockpit), scaled to 0"
    );
    let op = match app.take_effects().as_slice() {
        [Effect::PreviewOp { op }] => op.clone(),
        other => panic!("one preview, not {other:?}"),
    };
    // What the loop does with the effect: the executor's dry-run, back as a message.
    let executor = Executor::new(client, "mlxp-sim".into(), None);
    let preview = executor.run(&op, &app.snapshot, ExecMode::DryRun).await;
    app.update(Msg::OpPreview {
        op: op.clone(),
        result: preview.map_err(|e| e.to_string()),
    });
    let shown = screen(&app);
    for line in [
        "rollback (y applies, q cancels, j scrolls)",
        "as mlxp-admin on mlxp-sim · the server's dry-run:",
        "-      weight: 80",
        "+      weight: 100",
    ] {
        assert!(shown.contains(line), "{line:?} in:\n{shown}");
    }
    // Below the route's diff, out of sight until scrolled: the other objects'.
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("the dialog stays open");
    };
    let Some(Ok(outcome)) = &dialog.preview else {
        panic!("a dry-run: {:?}", dialog.preview);
    };
    let targets: Vec<&str> = outcome.diffs.iter().map(|d| d.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "httproute serving/fraud-detector",
            "modelversion serving/fraud-detector-v2",
            "deployment serving/fraud-detector-v2",
            "model serving/fraud-detector",
        ]
    );
    assert!(
        outcome.diffs[1].text.contains("+  stage: Rejected"),
        "{}",
        outcome.diffs[1].text
    );
    press(&mut app, "j j j j j j j j j j j j j j j j");
    assert!(
        screen(&app).contains("stage: Rejected"),
        "scrolled to the version's diff"
    );
    // Nothing changed yet: the view still says 20 %.
    app.update(Msg::Snapshot(updates.borrow().clone()));
    press(&mut app, "y");
    let Some(Effect::RunOp { op: run }) = app.take_effects().pop() else {
        panic!("y runs the op");
    };
    assert_eq!(run, op);
    let done = executor.run(&run, &app.snapshot, ExecMode::Apply).await;
    app.update(Msg::OpDone {
        op: run,
        result: done.map_err(|e| e.to_string()),
    });
    assert_eq!(app.mode, Mode::Normal);
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("done: fraud-detector rolled back to v1")),
        "{:?}",
        app.message
    );
    // The watch brings the new weights, and the view shows them.
    let after = until(&mut updates, |s| {
        s.routes.get("serving", "fraud-detector").is_some_and(|r| {
            r.backends
                .iter()
                .any(|b| b.name == "fraud-detector-v2" && b.weight == 0)
        })
    })
    .await;
    app.update(Msg::Snapshot(after));
    app.rebuild_if_due();
    assert!(
        weight_cell(&app, "serving/fraud-detector-v2").starts_with("0%"),
        "{}",
        weight_cell(&app, "serving/fraud-detector-v2")
    );
    assert!(weight_cell(&app, "serving/fraud-detector-v1").starts_with("100%"));
}

#[tokio::test]
async fn read_only_and_refused_ops_say_why_and_send_nothing() {
    let (_sim, _client, _updates, _watch, mut app) = serving_v2().await;
    app.readonly = true;
    press(&mut app, "R");
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(
        app.message.as_deref(),
        Some("read-only (--readonly): Roll the selected model's canary back is disabled")
    );
    // The detail pane's key hints and the help say which keys are off, and why.
    let shown = screen(&app);
    assert!(
        shown.contains("P R + W e ctrl-d disabled (read-only: --readonly) · l logs"),
        "{shown}"
    );
    press(&mut app, "?");
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(300, 200)).expect("terminal");
    terminal
        .draw(|frame| render::render(&app, frame))
        .expect("drawn");
    let help = terminal.backend().to_string();
    for line in [
        "Promote the selected version (disabled: read-only, --readonly)",
        "Drain the selected node (evict its pods) (disabled: read-only, --readonly)",
        "Logs of the selected job or served version ",
    ] {
        assert!(help.contains(line), "{line:?} in:\n{help}");
    }
    press(&mut app, "q");
    app.readonly = false;
    app.update(Msg::Access {
        context: "mlxp-sim".into(),
        result: Ok(true),
    });
    press(&mut app, "P");
    assert_eq!(
        app.message.as_deref(),
        Some(
            "read-only (these credentials may not change the cluster): Promote the selected \
             version is disabled"
        )
    );
    app.update(Msg::Access {
        context: "mlxp-sim".into(),
        result: Ok(false),
    });
    // A node op on the Serving view.
    press(&mut app, "c");
    assert_eq!(
        app.message.as_deref(),
        Some("Cordon the selected node: select a node on the Pools & Nodes view first")
    );
    // A refusal from the plan: churn-predictor has no canary to step.
    press(&mut app, "g");
    assert_eq!(app.selected_key(), Some("serving/churn-predictor-v3"));
    press(&mut app, "+");
    assert_eq!(
        app.message.as_deref(),
        Some("not done: churn-predictor has no Canary version (a ModelVersion in stage Canary)")
    );
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.take_effects().is_empty());
}

#[tokio::test]
async fn a_rollback_of_a_failing_canary_keeps_what_its_metrics_say_as_the_reason() {
    let sim = common::platform_at(common::eight_am()).await;
    let (_sim, mut app) = common::cockpit::cockpit_on(sim).await;
    select_v2(&mut app);
    press(&mut app, "R");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert!(
        dialog
            .effect
            .ends_with("v2 rejected (failing: errors 8.0% > 1.0%, p99 907ms > 500ms), scaled to 0"),
        "{}",
        dialog.effect
    );
}

#[tokio::test]
async fn no_op_is_planned_while_the_cockpit_is_blind() {
    let (_sim, _client, _updates, _watch, mut app) = serving_v2().await;
    // The API server went silent: what is shown may be stale.
    let mut silent = (*app.snapshot).clone();
    silent.api.reachability = mlxp::cluster::Reachability::Silent;
    app.update(Msg::Snapshot(Arc::new(silent)));
    // Nor do the forms open, nor the commands plan.
    for keys in ["R", "W", "5 T", ": d r a i n space x enter"] {
        press(&mut app, keys);
        assert_eq!(app.mode, Mode::Normal, "{keys}");
        assert!(
            app.message.as_deref().is_some_and(|m| m.starts_with(
                "not done: the cockpit cannot see all of the cluster now (nodes, pods"
            )),
            "{keys}: {:?}",
            app.message
        );
        assert!(app.take_effects().is_empty());
        press(&mut app, "6");
    }
}

#[tokio::test]
async fn a_retrain_from_the_models_view_creates_the_next_run_and_the_jobs_view_shows_it() {
    let (_sim, client, mut updates, _watch, mut app) = serving_v2().await;
    press(&mut app, "5 g");
    for _ in 0..10 {
        if app.selected_key() == Some("serving/churn-predictor-v3") {
            break;
        }
        press(&mut app, "j");
    }
    assert_eq!(app.selected_key(), Some("serving/churn-predictor-v3"));
    press(&mut app, "r");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    // The queue's spot flavor has the run's GPUs free: a retrain asks for spot.
    assert_eq!(
        dialog.effect,
        "churn-predictor: training Job training/train-churn-predictor-r8 (8 GPUs a pod, queue \
         training), on spot: flavor h100-spot has 8 GPUs free"
    );
    let Some(Effect::PreviewOp { op }) = app.take_effects().pop() else {
        panic!("a preview");
    };
    let executor = Executor::new(client, "mlxp-sim".into(), None);
    let preview = executor.run(&op, &app.snapshot, ExecMode::DryRun).await;
    let Ok(outcome) = &preview else {
        panic!("a dry-run: {preview:?}");
    };
    assert!(
        outcome.diffs[0]
            .text
            .contains("+  name: train-churn-predictor-r8"),
        "{}",
        outcome.diffs[0].text
    );
    app.update(Msg::OpPreview {
        op: op.clone(),
        result: preview.map_err(|e| e.to_string()),
    });
    press(&mut app, "y");
    let Some(Effect::RunOp { op: run }) = app.take_effects().pop() else {
        panic!("y runs it");
    };
    let done = executor.run(&run, &app.snapshot, ExecMode::Apply).await;
    app.update(Msg::OpDone {
        op: run,
        result: done.map_err(|e| e.to_string()),
    });
    let after = until(&mut updates, |s| {
        s.jobs.get("training", "train-churn-predictor-r8").is_some()
    })
    .await;
    app.update(Msg::Snapshot(after));
    press(&mut app, "4");
    app.rebuild_if_due();
    assert!(
        app.table()
            .rows
            .iter()
            .any(|r| r.key == "training/train-churn-predictor-r8"),
        "the Jobs view lists the new run"
    );
    // fraud-detector is training: a second run waits, and nothing is sent.
    press(&mut app, "5 g");
    for _ in 0..10 {
        if app.selected_key() == Some("serving/fraud-detector-v1") {
            break;
        }
        press(&mut app, "j");
    }
    press(&mut app, "r");
    assert_eq!(app.mode, Mode::Normal);
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("not done: fraud-detector is already training")),
        "{:?}",
        app.message
    );
}

/// Selects the row `key` on the current view, walking down from the top.
fn select(app: &mut App, key: &str) {
    press(app, "g");
    for _ in 0..200 {
        if app.selected_key() == Some(key) {
            return;
        }
        press(app, "j");
    }
    panic!("no row {key}");
}

/// The open dialog's op previewed and confirmed through the executor, as the loop does;
/// returns the dry-run's diffs as text.
async fn preview_and_confirm(app: &mut App, client: &kube::Client) -> String {
    let Some(Effect::PreviewOp { op }) = app.take_effects().pop() else {
        panic!("a preview ({:?}, {:?})", app.mode, app.message);
    };
    let executor = Executor::new(client.clone(), "mlxp-sim".into(), None);
    let preview = executor.run(&op, &app.snapshot, ExecMode::DryRun).await;
    let diffs = match &preview {
        Ok(outcome) => outcome.diffs.iter().map(|d| d.text.clone()).collect(),
        Err(e) => panic!("a dry-run: {e}"),
    };
    app.update(Msg::OpPreview {
        op,
        result: preview.map_err(|e| e.to_string()),
    });
    press(app, "y");
    let Some(Effect::RunOp { op: run }) = app.take_effects().pop() else {
        panic!("y runs it");
    };
    let done = executor.run(&run, &app.snapshot, ExecMode::Apply).await;
    app.update(Msg::OpDone {
        op: run,
        result: done.map_err(|e| e.to_string()),
    });
    diffs
}

#[tokio::test]
async fn drain_from_the_nodes_view_evicts_and_the_view_shows_the_node_cordoned() {
    let (sim, client, mut updates, _watch, mut app) = serving_v2().await;
    let node = app
        .snapshot
        .pods
        .values()
        .find(|p| p.meta.name.starts_with("finetune-llm-r2-") && p.phase == "Running")
        .map(|p| p.node.clone())
        .expect("a running finetune pod");
    press(&mut app, "2");
    app.rebuild_if_due();
    select(&mut app, &node);
    press(&mut app, "D");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert!(
        dialog.effect.starts_with(&format!(
            "node {node} drained: cordoned, 1 pod evicted (training/finetune-llm-r2-"
        )),
        "{}",
        dialog.effect
    );
    let diffs = preview_and_confirm(&mut app, &client).await;
    assert!(diffs.contains("+  unschedulable: true"), "{diffs}");
    assert!(diffs.contains(": evicted\n"), "{diffs}");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("done: node ")),
        "{:?}",
        app.message
    );
    // The evicted pod stops (Terminating), then the kubelet removes it.
    sim.advance(Duration::from_secs(2));
    let after = until(&mut updates, |s| {
        s.nodes.get("", &node).is_some_and(|n| n.unschedulable)
            && !s
                .pods
                .values()
                .any(|p| p.node == node && p.meta.name.starts_with("finetune-llm-r2-"))
    })
    .await;
    app.update(Msg::Snapshot(after));
    app.rebuild_if_due();
    select(&mut app, &node);
    let row = app
        .table()
        .rows
        .iter()
        .find(|r| r.key == node)
        .expect("its row");
    assert!(
        row.cells
            .iter()
            .any(|c| c.contains("Cordoned") || c.contains("SchedulingDisabled")),
        "{:?}",
        row.cells
    );
}

#[tokio::test]
async fn z_suspends_a_queued_job_and_ctrl_d_deletes_one_after_its_dialog() {
    let (sim, client, mut updates, _watch, mut app) = serving_v2().await;
    press(&mut app, "4");
    app.rebuild_if_due();
    select(&mut app, "training/finetune-llm-r2");
    press(&mut app, "z");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert!(
        dialog.effect.starts_with(
            "job training/finetune-llm-r2 suspended through its Workload job-finetune-llm-r2-"
        ),
        "{}",
        dialog.effect
    );
    let diffs = preview_and_confirm(&mut app, &client).await;
    assert!(diffs.contains("+  active: false"), "{diffs}");
    let after = until(&mut updates, |s| s.workloads.values().any(|w| !w.active)).await;
    app.update(Msg::Snapshot(after));
    // Now stopped, the same key resumes it.
    press(&mut app, "z");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert!(dialog.effect.contains("resumed"), "{}", dialog.effect);
    press(&mut app, "q");
    app.take_effects();

    select(&mut app, "training/train-qa-ranker-r9");
    press(&mut app, "ctrl-d");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert_eq!(
        dialog.effect,
        "job training/train-qa-ranker-r9 deleted, and what it owns"
    );
    let diffs = preview_and_confirm(&mut app, &client).await;
    assert!(diffs.contains("-  name: train-qa-ranker-r9"), "{diffs}");
    let after = until(&mut updates, |s| {
        s.jobs.get("training", "train-qa-ranker-r9").is_none()
    })
    .await;
    app.update(Msg::Snapshot(after));
    app.rebuild_if_due();
    assert!(
        !app.table()
            .rows
            .iter()
            .any(|r| r.key == "training/train-qa-ranker-r9")
    );
    for reason in ["JobSuspended", "ObjectDeleted"] {
        let events = common::ops::events_with_reason(&sim, reason).await;
        assert_eq!(events.len(), 1, "an Event {reason}");
    }
}

#[tokio::test]
async fn the_weights_form_sums_as_you_type_refuses_what_cannot_hold_and_sets_the_rest() {
    let (_sim, client, mut updates, _watch, mut app) = serving_v2().await;
    press(&mut app, "W");
    let form = |app: &App| match &app.mode {
        Mode::Weights(form) => (**form).clone(),
        other => panic!("the weights form, not {other:?} ({:?})", app.message),
    };
    let fields: Vec<(String, String)> = form(&app)
        .fields
        .iter()
        .map(|(v, l)| (v.clone(), l.text().to_string()))
        .collect();
    assert_eq!(
        fields,
        [
            ("v1".to_string(), "80".to_string()),
            ("v2".into(), "20".into())
        ]
    );
    // The field's text is selected: typing replaces it.
    press(&mut app, "7 0");
    assert_eq!(form(&app).sum(), 90);
    assert!(screen(&app).contains("sum: 90 % — must be 100"));
    press(&mut app, "enter");
    assert_eq!(
        form(&app).note.as_deref(),
        Some("the weights sum to 90 %, not 100")
    );
    assert!(app.take_effects().is_empty(), "nothing is sent");
    press(&mut app, "tab a b c enter");
    assert_eq!(
        form(&app).note.as_deref(),
        Some("v2: \"abc\" is not a weight from 0 to 100")
    );
    press(&mut app, "backspace backspace backspace 3 0");
    assert!(screen(&app).contains("sum: 100 %"));
    press(&mut app, "enter");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("the dialog, not {:?}", app.mode);
    };
    assert_eq!(dialog.effect, "fraud-detector: v1 80→70 %, v2 20→30 %");
    preview_and_confirm(&mut app, &client).await;
    let after = until(&mut updates, |s| {
        s.routes
            .get("serving", "fraud-detector")
            .is_some_and(|r| r.backends.iter().any(|b| b.weight == 30))
    })
    .await;
    app.update(Msg::Snapshot(after));
    app.rebuild_if_due();
    assert!(weight_cell(&app, "serving/fraud-detector-v2").starts_with("30%"));
}

#[tokio::test]
async fn the_launch_form_checks_as_you_type_and_the_jobs_view_selects_the_new_run() {
    let (_sim, client, mut updates, _watch, mut app) = serving_v2().await;
    press(&mut app, "5");
    app.rebuild_if_due();
    select(&mut app, "serving/churn-predictor-v3");
    press(&mut app, "T");
    let form = |app: &App| match &app.mode {
        Mode::Launch(form) => (**form).clone(),
        other => panic!("the launch form, not {other:?} ({:?})", app.message),
    };
    let wrong =
        |app: &App| -> Vec<String> { form(app).wrong.iter().map(|(_, w)| w.clone()).collect() };
    assert_eq!(form(&app).fields[0].text(), "churn-predictor");
    assert!(wrong(&app).is_empty(), "{:?}", wrong(&app));
    // The cursor is on GPUs.
    press(&mut app, "a b c");
    assert_eq!(wrong(&app), ["\"abc\" is not a whole number"]);
    press(&mut app, "enter");
    assert_eq!(
        app.message.as_deref(),
        Some("not launched: \"abc\" is not a whole number")
    );
    assert!(app.take_effects().is_empty(), "nothing is sent");
    press(&mut app, "backspace backspace backspace 0");
    assert_eq!(wrong(&app), ["0 GPUs: a run needs at least 1"]);
    press(&mut app, "backspace 1 6");
    assert_eq!(
        wrong(&app),
        ["16 GPUs a pod: the largest node there holds 8"]
    );
    assert!(screen(&app).contains("16 GPUs a pod: the largest node there holds 8"));
    press(&mut app, "backspace backspace 4 up x");
    assert_eq!(wrong(&app), ["no model churn-predictorx in any namespace"]);
    press(&mut app, "backspace tab tab tab tab o n - d e m a n d");
    assert!(wrong(&app).is_empty(), "{:?}", wrong(&app));
    // enter: the run's Job in the editor for last changes (here, the image).
    press(&mut app, "enter");
    let Mode::Edit(editor) = &mut app.mode else {
        panic!("the editor, not {:?} ({:?})", app.mode, app.message);
    };
    assert_eq!(
        editor.target.to_string(),
        "job training/train-churn-predictor-r8"
    );
    let lines: Vec<String> = editor
        .text
        .lines()
        .iter()
        .map(|l| l.replace("ghcr.io/mlxp/trainer:2.4", "ghcr.io/mlxp/trainer:2.5"))
        .collect();
    editor.text = ratatui_textarea::TextArea::new(lines);
    press(&mut app, "ctrl-s");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("the dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert_eq!(
        dialog.effect,
        "churn-predictor: training Job training/train-churn-predictor-r8 (4 GPUs a pod, queue training)"
    );
    let diffs = preview_and_confirm(&mut app, &client).await;
    assert!(diffs.contains("nvidia.com/gpu: \"4\""), "{diffs}");
    assert!(diffs.contains("image: ghcr.io/mlxp/trainer:2.5"), "{diffs}");
    let after = until(&mut updates, |s| {
        s.jobs.get("training", "train-churn-predictor-r8").is_some()
    })
    .await;
    app.update(Msg::Snapshot(after));
    app.rebuild_if_due();
    assert_eq!(app.view.def().title, "Training & Queue");
    assert_eq!(
        app.selected_key(),
        Some("training/train-churn-predictor-r8")
    );
}

/// `:text` typed on the command line and run.
fn run_command(app: &mut App, text: &str) {
    press(app, ":");
    for c in text.chars() {
        match c {
            ' ' => press(app, "space"),
            c => app.update(Msg::Key(Key::from_str(&c.to_string()).expect("key"))),
        }
    }
    press(app, "enter");
}

#[tokio::test]
async fn op_commands_open_the_same_dialog_as_the_keys() {
    let (_sim, _client, _updates, _watch, mut app) = serving_v2().await;
    run_command(&mut app, "canary fraud-detector v1=50 v2=50");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert_eq!(dialog.effect, "fraud-detector: v1 80→50 %, v2 20→50 %");
    assert!(matches!(
        app.take_effects().as_slice(),
        [Effect::PreviewOp { .. }]
    ));
    press(&mut app, "q");
    let node = app
        .snapshot
        .nodes
        .values()
        .next()
        .expect("a node")
        .meta
        .name
        .clone();
    run_command(&mut app, &format!("cordon {node}"));
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert_eq!(
        dialog.effect,
        format!("node {node} cordoned: no new pods land on it")
    );
    press(&mut app, "q");
    app.take_effects();
    run_command(&mut app, "promote fraud-detector v9");
    assert_eq!(app.mode, Mode::Normal);
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("not done: ") && m.contains("v9")),
        "{:?}",
        app.message
    );
    run_command(&mut app, "train churn-predictor");
    let Mode::Launch(form) = &app.mode else {
        panic!("the launch form, not {:?} ({:?})", app.mode, app.message);
    };
    assert_eq!(form.fields[0].text(), "churn-predictor");
}

#[tokio::test]
async fn a_approves_the_selected_version_and_x_rejects_one_from_the_models_view() {
    let (_sim, client, mut updates, _watch, mut app) = serving_v2().await;
    press(&mut app, "5");
    select(&mut app, "serving/fraud-detector-v2");
    press(&mut app, "a");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("a dialog, not {:?} ({:?})", app.mode, app.message);
    };
    assert!(dialog.effect.contains("approved"), "{}", dialog.effect);
    let diffs = preview_and_confirm(&mut app, &client).await;
    assert!(diffs.contains("mlxp.io/approved-by"), "{diffs}");
    let after = until(&mut updates, |s| {
        s.model_versions
            .get("serving", "fraud-detector-v2")
            .is_some_and(|v| v.approved_by.is_some())
    })
    .await;
    app.update(Msg::Snapshot(after));
    app.rebuild_if_due();
    assert!(
        screen(&app).contains("approval    approved by mlxp-admin"),
        "{}",
        screen(&app)
    );

    // The archived churn-predictor v2 takes no traffic: rejected, with the cockpit's reason.
    select(&mut app, "serving/churn-predictor-v2");
    press(&mut app, "x");
    preview_and_confirm(&mut app, &client).await;
    until(&mut updates, |s| {
        s.model_versions
            .get("serving", "churn-predictor-v2")
            .is_some_and(|v| v.stage == "Rejected")
    })
    .await;
}
