//! Drift and accuracy: a Production version whose drift stayed above its Model's threshold,
//! or whose live accuracy stayed under the Model's floor, for the whole window is retrained
//! — once per cooldown, never twice at once.

use super::{Decision, Inputs};
use crate::domain::objects::Model;
use crate::ops::Op;

const MODEL_LABEL: &str = "mlxp.io/model";

pub(super) fn decide(inputs: &Inputs) -> Vec<Decision> {
    inputs
        .snapshot
        .models
        .values()
        .filter(|m| m.drift_threshold.is_some() || m.min_accuracy.is_some())
        .filter_map(|m| judge(inputs, m))
        .collect()
}

fn judge(inputs: &Inputs, model: &Model) -> Option<Decision> {
    let (ns, name) = (&model.meta.namespace, &model.meta.name);
    let production = inputs
        .snapshot
        .model_versions
        .values()
        .find(|v| v.meta.namespace == *ns && v.model == *name && v.stage == "Production")?;
    let subject = format!("{ns}/{name} {}", production.version);
    let say = |reason: String| Decision::new("drift", subject.clone(), reason);
    let sustained = match &inputs.numbers.sustained {
        Ok(all) => all
            .get(&(name.clone(), production.version.clone()))
            .copied()
            .unwrap_or_default(),
        Err(why) => return Some(say(format!("held: {why}"))),
    };
    let window = inputs.policy.drift_window.as_secs();
    let mut why = Vec::new();
    let mut decision = say(String::new());
    if let (Some(threshold), Some(drift)) = (model.drift_threshold, sustained.drift_min) {
        decision = decision.figure("drift_min", drift);
        if drift > threshold {
            why.push(format!(
                "drift above {threshold} for {window} s (at least {drift:.3})"
            ));
        }
    }
    if let (Some(floor), Some(accuracy)) = (model.min_accuracy, sustained.accuracy_max) {
        decision = decision.figure("accuracy_max", accuracy);
        if accuracy < floor {
            why.push(format!(
                "accuracy under {floor} for {window} s (at most {accuracy:.3})"
            ));
        }
    }
    if why.is_empty() {
        return None;
    }
    let why = why.join(", ");
    if let (Some(last), Some(cooldown)) = (model.last_retrain, model.retrain_cooldown_seconds) {
        let since = (inputs.now - last).num_seconds();
        if since < cooldown {
            decision.reason =
                format!("{why}; not retrained: last retrain {since} s ago, cooldown {cooldown} s");
            return Some(decision);
        }
    }
    let running = inputs.snapshot.jobs.values().find(|j| {
        j.meta.label(MODEL_LABEL) == Some(name.as_str()) && !j.complete() && !j.failed_for_good()
    });
    if let Some(job) = running {
        decision.reason = format!("{why}; not retrained: {} is still running", job.meta.name);
        return Some(decision);
    }
    decision.reason = format!("{why}: retrained");
    Some(decision.with_op(Op::Retrain {
        namespace: ns.to_string(),
        model: name.clone(),
        force: false,
    }))
}
