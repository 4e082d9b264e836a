//! Nodes: cordon and uncordon (`spec.unschedulable`), as `kubectl cordon` does.

use serde_json::json;

use super::{Op, Plan, Refused, Request, Target};
use crate::kinds::KindName;
use crate::snapshot::Snapshot;

pub(super) fn cordon(
    op: &Op,
    snapshot: &Snapshot,
    node: &str,
    cordon: bool,
) -> Result<Plan, Refused> {
    let found = snapshot
        .nodes
        .get("", node)
        .ok_or_else(|| Refused::NotFound(format!("no node {node}")))?;
    let target = Target {
        kind: KindName::Nodes,
        namespace: None,
        name: node.to_string(),
    };
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
