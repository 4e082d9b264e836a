//! Nodes: cordon and uncordon (`spec.unschedulable`), as `kubectl cordon` does; drain, as
//! `kubectl drain --ignore-daemonsets` does, through the Eviction API.

use serde_json::json;

use super::{Op, Plan, Refused, Request, Target};
use crate::domain::objects::Node;
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

/// The node named, and it as a target.
fn node_target<'a>(snapshot: &'a Snapshot, node: &str) -> Result<(&'a Node, Target), Refused> {
    let found = snapshot
        .nodes
        .get("", node)
        .ok_or_else(|| Refused::NotFound(format!("no node {node}")))?;
    let target = Target {
        kind: KindName::Nodes,
        namespace: None,
        name: node.to_string(),
    };
    Ok((found, target))
}

pub(super) fn cordon(
    op: &Op,
    snapshot: &Snapshot,
    node: &str,
    cordon: bool,
) -> Result<Plan, Refused> {
    let (found, target) = node_target(snapshot, node)?;
    let (word, reason) = if cordon {
        ("cordoned", "NodeCordoned")
    } else {
        ("uncordoned", "NodeUncordoned")
    };
    let already = found.unschedulable == cordon;
    Ok(Plan {
        op: op.clone(),
        effect: if already {
            format!("node {node} is already {word}")
        } else {
            format!(
                "node {node} {word}: {}",
                if cordon {
                    "no new pods land on it"
                } else {
                    "new pods may land on it"
                }
            )
        },
        requests: if already {
            Vec::new()
        } else {
            // null removes the field, as an uncordoned node has none.
            let value = if cordon { json!(true) } else { json!(null) };
            vec![Request::merge(
                &target,
                json!({"spec": {"unschedulable": value}}),
            )]
        },
        target,
        reason,
    })
}

pub(super) fn drain(
    op: &Op,
    snapshot: &Snapshot,
    node: &str,
    force: bool,
) -> Result<Plan, Refused> {
    let (found, target) = node_target(snapshot, node)?;
    let mut pods: Vec<_> = snapshot
        .pods
        .values()
        .filter(|p| p.node == node && p.meta.deletion_timestamp.is_none())
        .filter(|p| p.meta.controller().is_none_or(|o| o.kind != "DaemonSet"))
        .collect();
    pods.sort_by(|a, b| (&a.meta.namespace, &a.meta.name).cmp(&(&b.meta.namespace, &b.meta.name)));
    let bare: Vec<String> = pods
        .iter()
        .filter(|p| {
            p.meta.controller().is_none() && !matches!(p.phase.as_str(), "Succeeded" | "Failed")
        })
        .map(|p| format!("{}/{}", p.meta.namespace, p.meta.name))
        .collect();
    if !bare.is_empty() && !force {
        let (pods, have) = if bare.len() == 1 {
            ("1 pod", "has")
        } else {
            ("pods", "have")
        };
        return Err(Refused::Precondition(format!(
            "{pods} on node {node} {have} no controller and would not come back ({}): drain with force to evict them anyway",
            bare.join(", ")
        )));
    }
    let mut requests = Vec::new();
    if !found.unschedulable {
        requests.push(Request::merge(
            &target,
            json!({"spec": {"unschedulable": true}}),
        ));
    }
    for p in &pods {
        requests.push(Request::evict(&Target::namespaced(
            KindName::Pods,
            &p.meta.namespace,
            &p.meta.name,
        )));
    }
    let effect = match pods.len() {
        0 => format!("node {node} cordoned; no pod to evict"),
        n => format!(
            "node {node} drained: cordoned, {n} pod{} evicted ({}); their controllers place them elsewhere",
            if n == 1 { "" } else { "s" },
            pods.iter()
                .map(|p| format!("{}/{}", p.meta.namespace, p.meta.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Ok(Plan {
        op: op.clone(),
        effect,
        requests,
        target,
        reason: "NodeDrained",
    })
}
