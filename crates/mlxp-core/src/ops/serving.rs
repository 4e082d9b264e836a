//! A served version's Deployment: restart it (a new template annotation, as `kubectl rollout
//! restart` does) or bound its replicas (its autoscaler's min and max).

use serde_json::json;

use super::{Actor, Op, Plan, Refused, Request, Target};
use crate::domain::objects::{Deployment, Hpa};
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

/// The Deployment serving a model's version: labelled with it, else named `{model}-{version}`.
fn deployment<'a>(
    snapshot: &'a Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
) -> Result<&'a Deployment, Refused> {
    let named = format!("{model}-{version}");
    snapshot
        .deployments
        .values()
        .map(|d| d.as_ref())
        .filter(|d| d.meta.namespace == namespace)
        .find(|d| {
            (d.meta.label("mlxp.io/model") == Some(model)
                && d.meta.label("mlxp.io/version") == Some(version))
                || d.meta.name == named
        })
        .ok_or_else(|| {
            Refused::NotFound(format!(
                "no Deployment serves {model} {version} in {namespace}"
            ))
        })
}

pub(super) fn restart(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
    actor: &Actor,
) -> Result<Plan, Refused> {
    let d = deployment(snapshot, namespace, model, version)?;
    if d.replicas == 0 {
        return Err(Refused::Precondition(format!(
            "{} is scaled to zero: there is nothing to restart",
            d.meta.name
        )));
    }
    let target = Target::namespaced(KindName::Deployments, namespace, &d.meta.name);
    let at = actor.stamp();
    Ok(Plan {
        op: op.clone(),
        effect: format!(
            "{model} {version}: {} restarted, its {} replicas replaced one by one",
            d.meta.name, d.replicas
        ),
        requests: vec![Request::merge(
            &target,
            json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": at,
            }}}}}),
        )],
        target,
        reason: "VersionRestarted",
    })
}

pub(super) fn scale(
    op: &Op,
    snapshot: &Snapshot,
    namespace: &str,
    model: &str,
    version: &str,
    (min, max): (i32, i32),
) -> Result<Plan, Refused> {
    if min < 1 || max < min {
        return Err(Refused::Precondition(format!(
            "replicas {min} to {max}: the least is 1 and the most no less than the least (to \
             stop serving a version, set its weight to 0 or roll it back)"
        )));
    }
    let d = deployment(snapshot, namespace, model, version)?;
    let hpa: Option<&Hpa> = snapshot
        .hpas
        .values()
        .map(|h| h.as_ref())
        .find(|h| h.meta.namespace == namespace && h.target == d.meta.name);
    let (target, body, was) = match hpa {
        Some(h) => (
            Target::namespaced(KindName::Hpas, namespace, &h.meta.name),
            json!({"spec": {"minReplicas": min, "maxReplicas": max}}),
            format!("{}–{}", h.min, h.max),
        ),
        None if min == max => (
            Target::namespaced(KindName::Deployments, namespace, &d.meta.name),
            json!({"spec": {"replicas": min}}),
            d.replicas.to_string(),
        ),
        None => {
            return Err(Refused::Precondition(format!(
                "{} has no autoscaler to give bounds to: give one number (--min {max} --max {max})",
                d.meta.name
            )));
        }
    };
    let now = if min == max {
        min.to_string()
    } else {
        format!("{min}–{max}")
    };
    let unchanged = match hpa {
        Some(h) => h.min == min && h.max == max,
        None => d.replicas == min,
    };
    Ok(Plan {
        op: op.clone(),
        effect: format!(
            "{model} {version}: replicas {was}→{now}{}",
            if unchanged { " (already so)" } else { "" }
        ),
        requests: if unchanged {
            Vec::new()
        } else {
            vec![Request::merge(&target, body)]
        },
        target,
        reason: "VersionScaled",
    })
}
