//! The agent closing the loop on the embedded cluster with a manual clock and no human
//! input: a model drifts → retrain Job → it succeeds → its version registered, validated,
//! deployed, stepped through the canary → Production, the old version Archived; a failing
//! canary is rolled back and Rejected; with approval required nothing moves until approved.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::ops::{platform, registry, text};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use mlxp::agent::{Agent, Record};
use mlxp::cluster::snapshot_once;
use mlxp::exec::Executor;
use mlxp_core::agent::Policy;
use mlxp_core::ops::Op;
use mlxp_sim::Sim;
use serde_json::{Value, json};

/// Simulated time between two evaluations.
const STEP: Duration = Duration::from_secs(120);

fn agent(sim: &Sim, client: kube::Client) -> Agent {
    let state = sim.state().clone();
    let metrics = Arc::new(mlxp_sim::metrics_source::Embedded::new(state.clone()));
    Agent::new(
        Executor::new(client, "mlxp-sim".into(), None),
        metrics,
        Policy {
            interval: STEP,
            ..Policy::default()
        },
        false,
        Arc::new(move || state.clock.now()),
    )
}

/// Evaluates every STEP of simulated time until `done` holds of what was decided so far,
/// at most `hours` of it; every record is kept.
async fn run_until(
    agent: &mut Agent,
    sim: &Sim,
    client: &kube::Client,
    records: &mut Vec<Record>,
    hours: u64,
    what: &str,
    done: impl Fn(&[Record]) -> bool,
) {
    let steps = hours * 3600 / STEP.as_secs();
    for _ in 0..steps {
        sim.advance(STEP);
        let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
            .await
            .expect("a snapshot");
        records.extend(agent.evaluate(&snapshot).await);
        if done(records) {
            return;
        }
    }
    let acted: Vec<String> = records
        .iter()
        .filter(|r| r.result.is_some())
        .map(|r| {
            format!(
                "{} {}: {:?}",
                r.decision.subject, r.decision.reason, r.result
            )
        })
        .collect();
    panic!("{what} within {hours} h of simulated time; the ops: {acted:#?}");
}

fn did(records: &[Record], op: impl Fn(&Op) -> bool) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| matches!(r.result, Some(Ok(_))) && r.decision.op.as_ref().is_some_and(&op))
        .collect()
}

async fn versions(sim: &Sim) -> Vec<Value> {
    let client = sim.client(false).await.expect("client");
    registry(client, "ModelVersion", "modelversions")
        .list(&ListParams::default())
        .await
        .expect("versions")
        .items
        .into_iter()
        .map(|v| serde_json::to_value(v).expect("json"))
        .collect()
}

fn stage_of(versions: &[Value], name: &str) -> String {
    versions
        .iter()
        .find(|v| v["metadata"]["name"] == name)
        .map(|v| v["spec"]["stage"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no ModelVersion {name}"))
}

/// The Events mlxp wrote about a model's objects, in order: (reason, object name).
async fn events_of(sim: &Sim, model: &str) -> Vec<(String, String)> {
    let client = sim.client(false).await.expect("client");
    let api: Api<DynamicObject> = Api::all_with(
        client,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Event>(&()),
    );
    let mut events: Vec<Value> = api
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .map(|e| serde_json::to_value(e).expect("json"))
        .filter(|e| e["reportingComponent"] == "mlxp-agent")
        .filter(|e| {
            e["involvedObject"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(model) || n.contains(&format!("-{model}-")))
        })
        .collect();
    events.sort_by_key(|e| {
        (
            e["eventTime"]
                .as_str()
                .or(e["firstTimestamp"].as_str())
                .unwrap_or_default()
                .to_string(),
            e["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|rv| rv.parse::<u64>().ok())
                .unwrap_or_default(),
        )
    });
    events
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_string(),
                e["involvedObject"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

async fn patch_model(sim: &Sim, model: &str, patch: Value) {
    let client = sim.client(false).await.expect("client");
    registry(client, "Model", "models")
        .patch(model, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("model patched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifting_model_is_retrained_and_its_new_version_rolled_out_to_production() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    // churn-predictor drifts (the sim ages a drifting model's version 0.02 an hour) past a
    // threshold its production version crosses within the first hours.
    patch_model(
        &p.sim,
        "churn-predictor",
        json!({"metadata": {"annotations": {"sim.mlxp.io/drifting": "true"}},
               "spec": {"drift": {"threshold": 0.08, "retrainCooldownSeconds": 86400}}}),
    )
    .await;
    let mut agent = agent(&p.sim, client.clone());
    let mut records = Vec::new();
    let retrained = |r: &[Record]| {
        !did(
            r,
            |op| matches!(op, Op::Retrain { model, .. } if model == "churn-predictor"),
        )
        .is_empty()
    };
    run_until(
        &mut agent,
        &p.sim,
        &client,
        &mut records,
        12,
        "a retrain",
        retrained,
    )
    .await;
    let retrain = did(&records, |op| matches!(op, Op::Retrain { .. }))[0];
    assert!(
        retrain
            .decision
            .reason
            .starts_with("drift above 0.08 for 600 s"),
        "{}",
        retrain.decision.reason
    );
    // Its run's number names the version it makes.
    let run = retrain.result.clone().expect("done").expect("ok");
    let job = run
        .split("training Job training/")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the Job's name")
        .to_string();
    let version = format!("v{}", job.rsplit("-r").next().expect("a run number"));
    let promoted = |r: &[Record]| {
        r.iter().any(|r| {
            matches!(&r.decision.op, Some(Op::Promote { version: v, .. }) if *v == version)
                && matches!(&r.result, Some(Ok(effect)) if effect.contains(" promoted: "))
        })
    };
    run_until(
        &mut agent,
        &p.sim,
        &client,
        &mut records,
        12,
        "the retrained version in production",
        promoted,
    )
    .await;

    let name = format!("churn-predictor-{version}");
    let all = versions(&p.sim).await;
    assert_eq!(stage_of(&all, &name), "Production");
    // Whatever served before it is Archived.
    let archived: Vec<&str> = all
        .iter()
        .filter(|v| {
            v["spec"]["model"] == "churn-predictor" && v["metadata"]["name"] != name.as_str()
        })
        .map(|v| v["spec"]["stage"].as_str().unwrap_or_default())
        .collect();
    assert!(archived.iter().all(|s| *s == "Archived"), "{archived:?}");

    // The Events tell the story in order, for the new version and its run.
    let story: Vec<String> = events_of(&p.sim, "churn-predictor")
        .await
        .into_iter()
        .filter(|(reason, object)| {
            object == &name
                || object == &job
                || (object == "churn-predictor" && reason != "CanaryAnalysis")
        })
        .map(|(reason, _)| reason)
        .skip_while(|r| r != "RetrainTriggered")
        .collect();
    let expected_order = [
        "RetrainTriggered",
        "VersionRegistered",
        "VersionValidated",
        "VersionDeployed",
        "CanaryStarted",
        "CanaryWeightsSet",
        "ModelPromoted",
    ];
    let mut at = story.iter();
    for reason in expected_order {
        assert!(
            at.any(|r| r == reason),
            "{reason} in order in the Events: {story:?}"
        );
    }
    let steps = story.iter().filter(|r| *r == "CanaryWeightsSet").count();
    assert!(
        steps >= 2,
        "a step per canary step (10 → 20 → 50): {story:?}"
    );
    // Nothing was done twice: one Job for the retrain, one version registered from it.
    assert_eq!(
        did(&records, |op| matches!(op, Op::Retrain { .. })).len(),
        1
    );
    assert_eq!(
        did(
            &records,
            |op| matches!(op, Op::Register { job: j, .. } if *j == job)
        )
        .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_failing_its_analysis_is_rolled_back_and_rejected() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let mut agent = agent(&p.sim, client.clone());
    let mut records = Vec::new();
    // fraud-detector v2 is the seeded canary at 20 %, serving 8 % errors.
    let rolled_back = |r: &[Record]| {
        !did(
            r,
            |op| matches!(op, Op::Rollback { model, .. } if model == "fraud-detector"),
        )
        .is_empty()
    };
    run_until(
        &mut agent,
        &p.sim,
        &client,
        &mut records,
        1,
        "a rollback",
        rolled_back,
    )
    .await;
    let counted = did(
        &records,
        |op| matches!(op, Op::RecordAnalysis { model, failures: 1, .. } if model == "fraud-detector"),
    );
    assert_eq!(counted.len(), 1, "one failure counted before the rollback");
    let all = versions(&p.sim).await;
    assert_eq!(stage_of(&all, "fraud-detector-v2"), "Rejected");
    assert_eq!(stage_of(&all, "fraud-detector-v1"), "Production");
    let rollback = did(&records, |op| matches!(op, Op::Rollback { .. }))[0];
    assert!(
        rollback
            .decision
            .reason
            .starts_with("failing 2 of 2 times in a row (errors"),
        "{}",
        rollback.decision.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_approval_required_a_validated_version_waits_for_mlxp_approve() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    patch_model(
        &p.sim,
        "churn-predictor",
        json!({"spec": {"canary": {"requireApproval": true}}}),
    )
    .await;
    let mut agent = agent(&p.sim, client.clone());
    let mut records = Vec::new();
    // The seeded run r7 succeeded: v7 is registered and validated, then waits.
    let waiting = |r: &[Record]| {
        r.iter()
            .any(|r| r.decision.reason == "v7 waits for approval (mlxp approve churn-predictor v7)")
    };
    run_until(
        &mut agent,
        &p.sim,
        &client,
        &mut records,
        1,
        "v7 waiting",
        waiting,
    )
    .await;
    // An hour more: nothing moves.
    let mut more = Vec::new();
    for _ in 0..30 {
        p.sim.advance(STEP);
        let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
            .await
            .expect("a snapshot");
        more.extend(agent.evaluate(&snapshot).await);
    }
    assert!(
        did(&more, |op| matches!(op, Op::Deploy { model, .. } | Op::StartCanary { model, .. } if model == "churn-predictor"))
            .is_empty(),
        "nothing deployed before the approval"
    );
    assert_eq!(
        stage_of(&versions(&p.sim).await, "churn-predictor-v7"),
        "Validated"
    );
    // The cockpit says so: an alert on the Overview, the version's row on the Models view.
    let (overview, models) = screens(&client).await;
    assert!(
        overview.contains("churn-predictor v7 awaits approval to take traffic"),
        "{overview}"
    );
    let row = line_of(&models, "churn-predictor v7 ");
    assert!(row.contains(" awaits approval "), "{models}");

    let out = p.mlxp(&["approve", "churn-predictor", "v7"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let deployed = |r: &[Record]| {
        !did(
            r,
            |op| matches!(op, Op::StartCanary { model, .. } if model == "churn-predictor"),
        )
        .is_empty()
    };
    run_until(
        &mut agent,
        &p.sim,
        &client,
        &mut more,
        1,
        "v7 in canary once approved",
        deployed,
    )
    .await;
    assert_eq!(
        stage_of(&versions(&p.sim).await, "churn-predictor-v7"),
        "Canary"
    );
    // What mlxp last did to each version, on its Models row: told apart, the agent's
    // (the canary analysis it recorded on fraud-detector v2) from a person's (the approval).
    // The CLI stamps its Event with this machine's clock, ahead of the simulated one.
    let (overview, models) = screens(&client).await;
    assert!(!overview.contains("awaits approval"), "{overview}");
    let row = line_of(&models, "churn-predictor v7 ");
    assert!(row.contains(" mlxp: VersionApproved "), "{models}");
    let row = line_of(&models, "fraud-detector v2 ");
    assert!(row.contains(" agent: CanaryAnalysis "), "{models}");
}

/// The cockpit's Overview and Models view at 160×40, on the cluster as it is.
async fn screens(client: &kube::Client) -> (String, String) {
    use mlxp::tui::app::Msg;
    use std::str::FromStr;
    let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
        .await
        .expect("a snapshot");
    let mut app = common::cockpit::app_showing(snapshot);
    let draw = |app: &mlxp::tui::app::App| {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).expect("terminal");
        terminal
            .draw(|frame| mlxp::tui::render::render(app, frame))
            .expect("drawn");
        terminal.backend().to_string()
    };
    let overview = draw(&app);
    app.update(Msg::Key(
        mlxp::tui::keys::Key::from_str("5").expect("a key"),
    ));
    (overview, draw(&app))
}

fn line_of<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(needle.trim())
        })
        .unwrap_or_else(|| panic!("{needle} in {screen}"))
}

/// The canary steps the records moved a model's version through, in order: the weight
/// each step gave it ("100" for the promotion).
fn steps_of(records: &[Record], model: &str) -> Vec<String> {
    did(records, |op| {
        matches!(op, Op::Promote { model: m, .. } | Op::StartCanary { model: m, .. } if m == model)
    })
    .iter()
    .map(|r| match r.decision.reason.split(" % ").next() {
        Some(reason) if reason.starts_with("passes at ") => reason.trim_start_matches("passes at ").to_string(),
        _ => "start".to_string(),
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_restarted_mid_canary_goes_on_from_the_clusters_state() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let mut first = agent(&p.sim, client.clone());
    let mut records = Vec::new();
    // churn-predictor v7 (from the seeded run r7) goes into canary and takes one step.
    let one_step = |r: &[Record]| steps_of(r, "churn-predictor").len() >= 2;
    run_until(
        &mut first,
        &p.sim,
        &client,
        &mut records,
        2,
        "v7 one step into its canary",
        one_step,
    )
    .await;
    drop(first);
    // A new agent: nothing in memory; what it knows is what the cluster says.
    let mut second = agent(&p.sim, client.clone());
    let mut after = Vec::new();
    let promoted = |r: &[Record]| {
        did(
            r,
            |op| matches!(op, Op::Promote { model, .. } if model == "churn-predictor"),
        )
        .iter()
        .any(|r| matches!(&r.result, Some(Ok(e)) if e.contains(" promoted: ")))
    };
    run_until(
        &mut second,
        &p.sim,
        &client,
        &mut after,
        2,
        "v7 promoted",
        promoted,
    )
    .await;
    let before_steps = steps_of(&records, "churn-predictor");
    let after_steps = steps_of(&after, "churn-predictor");
    let mut all = before_steps.clone();
    all.extend(after_steps.clone());
    // Started once, then each step once, in order: 10 → 20 → 50 → promoted.
    assert_eq!(
        all,
        ["start", "10", "20", "50"],
        "before {before_steps:?}, after {after_steps:?}"
    );
    assert!(
        did(&after, |op| matches!(
            op,
            Op::Register { .. } | Op::Validate { .. } | Op::Deploy { .. } | Op::StartCanary { .. }
        ))
        .is_empty(),
        "nothing done again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_metrics_down_no_canary_moves_and_the_agent_says_why() {
    let p = platform().await;
    let client = p.sim.client(false).await.expect("client");
    let state = p.sim.state().clone();
    let mut agent = Agent::new(
        Executor::new(client.clone(), "mlxp-sim".into(), None),
        Arc::new(common::metrics::Down),
        Policy {
            interval: STEP,
            ..Policy::default()
        },
        false,
        Arc::new(move || state.clock.now()),
    );
    let mut records = Vec::new();
    for _ in 0..30 {
        p.sim.advance(STEP);
        let snapshot = snapshot_once(client.clone(), Duration::from_secs(30))
            .await
            .expect("a snapshot");
        records.extend(agent.evaluate(&snapshot).await);
    }
    // An hour: fraud-detector's failing canary is neither rolled back nor stepped, nor is
    // churn-predictor v7's, once the pipeline (which needs no numbers) put it in canary.
    let moved = did(&records, |op| {
        matches!(
            op,
            Op::Rollback { .. }
                | Op::Promote { .. }
                | Op::RecordAnalysis { .. }
                | Op::Retrain { .. }
        )
    });
    assert!(moved.is_empty(), "nothing judged on no numbers: {moved:?}");
    let held = records
        .iter()
        .rfind(|r| r.decision.subject == "serving/fraud-detector v2")
        .expect("the canary's decision");
    assert_eq!(
        held.decision.reason,
        "held: metrics server unreachable: connection refused; no step and no rollback"
    );
    assert!(held.decision.alert);
    let all = versions(&p.sim).await;
    assert_eq!(stage_of(&all, "fraud-detector-v2"), "Canary");
    // Said on the canary as a Warning Event — once in the hour, not at every evaluation
    // (again only after 30 min of it holding).
    let said: Vec<(String, String)> = events_of(&p.sim, "fraud-detector")
        .await
        .into_iter()
        .filter(|(reason, object)| reason == "CanaryHeld" && object == "fraud-detector-v2")
        .collect();
    assert_eq!(said.len(), 2, "at 0 and 30 min of the hour: {said:?}");
}
