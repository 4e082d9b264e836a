//! `e` against the embedded cluster: the object's YAML in the editor, a YAML error named by
//! its line, the edit previewed as the server's dry-run and applied with the
//! resourceVersion it was read at; changed meanwhile, it comes back with the text kept and
//! `ctrl-r` takes the fresh resourceVersion.

mod common;

use std::str::FromStr;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, Patch, PatchParams};
use mlxp::exec::{Executor, Mode as ExecMode};
use mlxp::tui::app::{App, Effect, Mode, Msg};
use mlxp::tui::keys::Key;

use ratatui_textarea::TextArea;
use serde_json::{Value, json};

fn press(app: &mut App, keys: &str) {
    for k in keys.split(' ') {
        app.update(Msg::Key(Key::from_str(k).expect("key")));
    }
}

/// What the loop does with `Effect::FetchForEdit`.
async fn fetch_for_edit(app: &mut App, client: &kube::Client) {
    let Some(Effect::FetchForEdit { target }) = app.take_effects().pop() else {
        panic!("a fetch for the editor ({:?})", app.message);
    };
    let request = http::Request::get(target.path())
        .body(Vec::new())
        .expect("a GET");
    let result = client
        .request::<Value>(request)
        .await
        .map_err(|e| e.to_string());
    app.update(Msg::ForEdit { target, result });
}

/// The editor's text replaced by `object` as YAML, as if typed.
fn type_object(app: &mut App, object: &Value) {
    let Mode::Edit(editor) = &mut app.mode else {
        panic!("the editor, not {:?}", app.mode);
    };
    let yaml = serde_saphyr::to_string(object).expect("yaml");
    editor.text = TextArea::new(yaml.lines().map(String::from).collect());
}

fn editor_text(app: &App) -> Value {
    let Mode::Edit(editor) = &app.mode else {
        panic!("the editor, not {:?}", app.mode);
    };
    serde_saphyr::from_str(&editor.text.lines().join("\n")).expect("yaml")
}

fn note(app: &App) -> String {
    let Mode::Edit(editor) = &app.mode else {
        panic!("the editor, not {:?} ({:?})", app.mode, app.message);
    };
    editor.note.clone().unwrap_or_default()
}

/// Preview, `y`, apply: what the loop does with the dialog's effects; the preview's diff (or
/// its error).
async fn preview_and_apply(app: &mut App, executor: &Executor) -> String {
    let Some(Effect::PreviewOp { op }) = app.take_effects().pop() else {
        panic!("a preview ({:?}, {:?})", app.mode, app.message);
    };
    let preview = executor.run(&op, &app.snapshot, ExecMode::DryRun).await;
    let diff = match &preview {
        Ok(o) => o.diffs.iter().map(|d| d.text.clone()).collect(),
        Err(e) => e.to_string(),
    };
    app.update(Msg::OpPreview {
        op,
        result: preview.map_err(|e| e.to_string()),
    });
    // A preview that failed leaves the dialog (or, for a conflict, goes back to the editor).
    if !matches!(&app.mode, Mode::Dialog(d) if matches!(d.preview, Some(Ok(_)))) {
        return diff;
    }
    press(app, "y");
    let Some(Effect::RunOp { op }) = app.take_effects().pop() else {
        panic!("y runs it");
    };
    let done = executor.run(&op, &app.snapshot, ExecMode::Apply).await;
    app.update(Msg::OpDone {
        op,
        result: done.map_err(|e| e.to_string()),
    });
    diff
}

#[tokio::test]
async fn e_edits_a_job_through_the_dry_run_and_a_conflict_keeps_the_text() {
    let sim = common::platform_at(common::eight_am()).await;
    sim.advance(Duration::from_secs(120));
    let client = sim.client(false).await.expect("client");
    let snapshot = mlxp::cluster::snapshot_once(client.clone(), Duration::from_secs(30))
        .await
        .expect("a snapshot");
    let mut app = common::cockpit::app_showing(snapshot);
    // A finished Job: nothing else changes it while the test edits it.
    press(&mut app, "4 g");
    app.rebuild_if_due();
    for _ in 0..20 {
        if app.selected_key() == Some("training/train-qa-ranker-r9") {
            break;
        }
        press(&mut app, "j");
    }
    let job = "train-qa-ranker-r9".to_string();
    let executor = Executor::new(client.clone(), "mlxp-sim".into(), None);
    let jobs: Api<Job> = Api::namespaced(client.clone(), "training");

    press(&mut app, "e");
    fetch_for_edit(&mut app, &client).await;
    assert_eq!(editor_text(&app)["metadata"]["name"], job.as_str());
    // A YAML error is named by its line, and nothing is sent.
    press(&mut app, "[ ctrl-s");
    assert!(note(&app).starts_with("not saved: line "), "{}", note(&app));
    assert!(note(&app).contains(" column "), "{}", note(&app));
    assert!(app.take_effects().is_empty());

    let mut object: Value = {
        let Mode::Edit(editor) = &app.mode else {
            unreachable!()
        };
        let mut lines = editor.text.lines().to_vec();
        lines[0].remove(0);
        serde_saphyr::from_str(&lines.join("\n")).expect("the object again")
    };
    object["metadata"]["labels"]["team"] = json!("ml");
    type_object(&mut app, &object);
    press(&mut app, "ctrl-s");
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("the dialog, not {:?}", app.mode);
    };
    assert_eq!(
        dialog.effect,
        format!("job training/{job} replaced with your edit")
    );
    let diff = preview_and_apply(&mut app, &executor).await;
    assert!(diff.contains("+    team: ml"), "{diff}");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("done: ")),
        "{:?}",
        app.message
    );
    let labels = jobs
        .get(&job)
        .await
        .expect("job")
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("ml"));

    // Edited again, while someone else changes the job: a conflict, the text kept.
    press(&mut app, "e");
    fetch_for_edit(&mut app, &client).await;
    let mut edited = editor_text(&app);
    edited["metadata"]["labels"]["team"] = json!("serving");
    type_object(&mut app, &edited);
    let theirs = json!({"metadata": {"labels": {"owner": "someone"}}});
    jobs.patch(&job, &PatchParams::default(), &Patch::Merge(&theirs))
        .await
        .expect("their change");
    press(&mut app, "ctrl-s");
    preview_and_apply(&mut app, &executor).await;
    assert!(
        note(&app).starts_with("not applied: job training/"),
        "{}",
        note(&app)
    );
    assert!(
        note(&app).contains("changed since it was read"),
        "{}",
        note(&app)
    );
    assert_eq!(editor_text(&app)["metadata"]["labels"]["team"], "serving");
    // ctrl-r: the fresh resourceVersion, the text otherwise kept; then it applies.
    press(&mut app, "ctrl-r");
    fetch_for_edit(&mut app, &client).await;
    assert!(
        note(&app).starts_with("now at resourceVersion "),
        "{}",
        note(&app)
    );
    assert_eq!(editor_text(&app)["metadata"]["labels"]["team"], "serving");
    press(&mut app, "ctrl-s");
    preview_and_apply(&mut app, &executor).await;
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.starts_with("done: ")),
        "{:?}",
        app.message
    );
    let labels = jobs
        .get(&job)
        .await
        .expect("job")
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("serving"));
    // Two edits applied, two Events (the conflicting attempt applied nothing).
    assert_eq!(
        common::ops::events_with_reason(&sim, "ObjectEdited")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn with_editor_set_the_edit_goes_to_it_and_what_it_leaves_is_previewed() {
    let sim = common::platform_at(common::eight_am()).await;
    let client = sim.client(false).await.expect("client");
    let snapshot = mlxp::cluster::snapshot_once(client.clone(), Duration::from_secs(30))
        .await
        .expect("a snapshot");
    let mut app = common::cockpit::app_showing(snapshot);
    app.external_editor = Some("vi".into());
    press(&mut app, "4 g");
    app.rebuild_if_due();
    press(&mut app, "e");
    fetch_for_edit(&mut app, &client).await;
    let Some(Effect::EditOutside(editor)) = app.take_effects().pop() else {
        panic!("the edit handed to $EDITOR ({:?})", app.mode);
    };
    assert_eq!(app.mode, Mode::Normal, "the cockpit waits for $EDITOR");
    // What the loop does once $EDITOR closes: its text comes back.
    let mut object: Value = serde_saphyr::from_str(&editor.text.lines().join("\n")).expect("yaml");
    object["metadata"]["labels"]["team"] = json!("ml");
    let text = serde_saphyr::to_string(&object).expect("yaml");
    app.update(Msg::EditedOutside {
        editor: editor.clone(),
        result: Ok(text),
    });
    let Mode::Dialog(dialog) = &app.mode else {
        panic!("the dialog, not {:?}", app.mode);
    };
    assert!(
        dialog.effect.ends_with("replaced with your edit"),
        "{}",
        dialog.effect
    );
    assert!(matches!(
        app.take_effects().as_slice(),
        [Effect::PreviewOp { .. }]
    ));
    // A YAML error, or an editor that failed, lands in the built-in editor with the reason.
    press(&mut app, "q");
    app.update(Msg::EditedOutside {
        editor: editor.clone(),
        result: Ok("metadata:\n  name: x\n bad: [\n".into()),
    });
    assert!(note(&app).starts_with("not saved: line "), "{}", note(&app));
    app.update(Msg::EditedOutside {
        editor,
        result: Err("vi ended with exit status: 1".into()),
    });
    assert_eq!(
        note(&app),
        "$EDITOR could not be run (vi ended with exit status: 1): edit it here"
    );
}
