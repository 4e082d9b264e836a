//! Canary analysis: every evaluation, the canary's error rate and p99 latency against its
//! Model's limits. A pass moves to the next step once the step's pause is over (the last
//! step promotes); failures in a row roll it back; too little traffic is not judged.

use super::{Decision, Inputs, fresh_frame};
use crate::domain::objects::{Model, ModelVersion};
use crate::kinds::KindName;
use crate::ops::{Op, Target, weight_of};

pub(super) fn decide(inputs: &Inputs) -> Vec<Decision> {
    inputs
        .snapshot
        .model_versions
        .values()
        .filter(|v| v.stage == "Canary")
        .filter_map(|v| {
            let model = inputs.snapshot.models.get(&v.meta.namespace, &v.model)?;
            Some(judge(inputs, model, v))
        })
        .collect()
}

fn judge(inputs: &Inputs, model: &Model, canary: &ModelVersion) -> Decision {
    let (ns, name, version) = (&model.meta.namespace, &model.meta.name, &canary.version);
    let subject = format!("{ns}/{name} {version}");
    let object = Target::namespaced(KindName::ModelVersions, ns, &canary.meta.name);
    let say =
        |reason: String| Decision::new("canary", subject.clone(), reason).about(object.clone());
    let frame = match fresh_frame(inputs) {
        Ok(frame) => frame,
        Err(why) => return say(format!("held: {why}; no step and no rollback")).alerting(),
    };
    let weight = weight_of(inputs.snapshot, ns, name, version);
    let Some(traffic) = frame
        .traffic
        .iter()
        .find(|t| t.model == *name && t.version == *version)
    else {
        return say(format!(
            "not judged: no traffic figures for {version} at {weight} %"
        ));
    };
    let min_rps = inputs.policy.canary_min_rps;
    if traffic.rps < min_rps {
        return say(format!(
            "not judged: {:.2} requests/s at {weight} % is too little to tell (at least {min_rps})",
            traffic.rps
        ))
        .figure("rps", traffic.rps);
    }
    let mut failing = Vec::new();
    if let Some(max) = model.max_error_rate
        && traffic.error_ratio > max
    {
        failing.push(format!(
            "errors {:.1}% > {:.1}%",
            traffic.error_ratio * 100.0,
            max * 100.0
        ));
    }
    if let (Some(max), Some(p99)) = (model.max_p99_seconds, traffic.p99_seconds)
        && p99 > max
    {
        failing.push(format!("p99 {:.0}ms > {:.0}ms", p99 * 1000.0, max * 1000.0));
    }
    let mut decision = say(String::new())
        .figure("weight", f64::from(weight))
        .figure("rps", traffic.rps)
        .figure("error_ratio", traffic.error_ratio);
    if let Some(p99) = traffic.p99_seconds {
        decision = decision.figure("p99_seconds", p99);
    }
    let op_for = |failures: u32, why: String| Op::RecordAnalysis {
        namespace: ns.to_string(),
        model: name.clone(),
        version: version.clone(),
        failures,
        why,
    };
    if !failing.is_empty() {
        let failures = canary.analysis_failures + 1;
        let needed = inputs.policy.canary_failures;
        let why = failing.join(", ");
        decision = decision.figure("failures", f64::from(failures));
        if failures >= needed {
            decision.reason =
                format!("failing {failures} of {needed} times in a row ({why}): rolled back");
            let reason = format!("failing: {why}");
            return decision
                .with_op(Op::Rollback {
                    namespace: ns.to_string(),
                    model: name.clone(),
                    reason,
                })
                .alerting();
        }
        decision.reason = format!("failing ({why}): {failures} of {needed} before a rollback");
        let why = format!("failing ({why}), {failures} in a row");
        return decision.with_op(op_for(failures, why));
    }
    if canary.analysis_failures > 0 {
        decision.reason = format!("passes at {weight} %: the failures in a row start again");
        return decision.with_op(op_for(0, "passes".into()));
    }
    let steps = &model.canary_steps;
    let at = steps.iter().rposition(|s| *s <= weight);
    let pause = at
        .and_then(|i| model.canary_pauses.get(i))
        .copied()
        .unwrap_or(0);
    let elapsed = canary
        .step_since
        .map_or(pause, |since| (inputs.now - since).num_seconds());
    if elapsed < pause {
        decision.reason = format!(
            "passes at {weight} %: next step in {} s (pause {pause} s)",
            pause - elapsed
        );
        return decision;
    }
    let last = steps.last().is_none_or(|l| weight >= *l);
    decision.reason = if last {
        format!("passes at {weight} %, its last step: promoted")
    } else {
        format!("passes at {weight} % for {elapsed} s: next step")
    };
    decision.with_op(Op::Promote {
        namespace: ns.to_string(),
        model: name.clone(),
        version: version.clone(),
        force: false,
        step: true,
    })
}
