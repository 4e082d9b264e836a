//! Cluster-level and networking kinds: Node, Namespace, Service and core/v1 Event.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::workloads::format_labels;
use super::{age, at, flag, int, items, name, or_none, since, text, time_at};

/// `printNode`: Ready/NotReady/Unknown (+ SchedulingDisabled), roles from the role labels.
pub(super) fn node(node: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let status = at(node, &["status"]);
    // printNode keeps the last condition of each type.
    let ready = items(status, &["conditions"])
        .iter()
        .rev()
        .find(|c| text(c, &["type"]) == "Ready");
    let mut states = vec![match ready {
        Some(c) if text(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if flag(node, &["spec", "unschedulable"]) {
        states.push("SchedulingDisabled");
    }
    let mut roles = BTreeSet::new();
    if let Some(labels) = at(node, &["metadata", "labels"]).as_object() {
        for (key, value) in labels {
            match key.strip_prefix("node-role.kubernetes.io/") {
                Some(role) if !role.is_empty() => {
                    roles.insert(role);
                }
                None if key == "kubernetes.io/role" && !text(value, &[]).is_empty() => {
                    roles.insert(text(value, &[]));
                }
                _ => {}
            }
        }
    }
    let address = |type_: &str| {
        let found = items(status, &["addresses"])
            .iter()
            .find(|a| text(a, &["type"]) == type_);
        found
            .map_or("<none>", |a| text(a, &["address"]))
            .to_string()
    };
    let info = |key: &str| match text(status, &["nodeInfo", key]) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        name(node),
        states.join(",").into(),
        or_none(&roles.into_iter().collect::<Vec<_>>().join(",")).into(),
        age(node, now),
        text(status, &["nodeInfo", "kubeletVersion"]).into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ]
}

/// core/v1 Event; the events.k8s.io/v1 field names are accepted as fallbacks.
pub(super) fn event(ev: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let field = |core: &str, events: &str| match at(ev, &[core]) {
        Value::Null => at(ev, &[events]),
        v => v,
    };
    let (first_seen, last_seen) = (
        field("firstTimestamp", "deprecatedFirstTimestamp"),
        field("lastTimestamp", "deprecatedLastTimestamp"),
    );
    let first = match time_at(first_seen, &[]) {
        Some(_) => since(first_seen, &[], now),
        None => since(ev, &["eventTime"], now),
    };
    let mut last = match time_at(last_seen, &[]) {
        Some(_) => since(last_seen, &[], now),
        None => first.clone(),
    };
    let mut count = int(field("count", "deprecatedCount"), &[]);
    let series = at(ev, &["series"]);
    if series.is_object() {
        last = since(series, &["lastObservedTime"], now);
        count = int(series, &["count"]);
    } else if count == 0 {
        count = 1;
    }
    let involved = field("involvedObject", "regarding");
    let kind = text(involved, &["kind"]).to_lowercase();
    let target = match text(involved, &["name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let source = field("source", "deprecatedSource");
    let pick = |a: &'static str, b: &'static str| match text(source, &[a]) {
        "" => text(ev, &[b]),
        v => v,
    };
    let source = match (
        pick("component", "reportingController"),
        pick("host", "reportingInstance"),
    ) {
        (component, "") => component.to_string(),
        (component, host) => format!("{component}, {host}"),
    };
    vec![
        last.into(),
        text(ev, &["type"]).into(),
        text(ev, &["reason"]).into(),
        target.into(),
        text(involved, &["fieldPath"]).into(),
        source.into(),
        text(field("message", "note"), &[]).trim().into(),
        first.into(),
        count.into(),
        name(ev),
    ]
}

/// `printNamespace`.
pub(super) fn namespace(ns: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // status.phase is set to Active on creation by the apiserver.
    let phase = match text(ns, &["status", "phase"]) {
        "" if !at(ns, &["metadata", "deletionTimestamp"]).is_null() => "Terminating",
        "" => "Active",
        p => p,
    };
    vec![name(ns), phase.into(), age(ns, now)]
}

/// `printService`, with the wide (unclipped) External-IP rendering.
pub(super) fn service(svc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = at(svc, &["spec"]);
    // spec.type is defaulted to ClusterIP by the apiserver.
    let type_ = match text(spec, &["type"]) {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = match items(spec, &["clusterIPs"]).first() {
        Some(ip) => text(ip, &[]).to_string(),
        None if at(spec, &["clusterIP"]).is_string() => text(spec, &["clusterIP"]).to_string(),
        None => "<none>".to_string(),
    };
    let external_ips: Vec<&str> = items(spec, &["externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let external_ip = match type_ {
        "ClusterIP" | "NodePort" => or_none(&external_ips.join(",")),
        "LoadBalancer" => {
            let ingress: BTreeSet<&str> = items(svc, &["status", "loadBalancer", "ingress"])
                .iter()
                .map(|i| match text(i, &["ip"]) {
                    "" => text(i, &["hostname"]),
                    ip => ip,
                })
                .filter(|s| !s.is_empty())
                .collect();
            let all: Vec<&str> = ingress.into_iter().chain(external_ips).collect();
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => text(spec, &["externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = items(spec, &["ports"])
        .iter()
        .map(|p| {
            // protocol is defaulted to TCP by the apiserver.
            let protocol = match text(p, &["protocol"]) {
                "" => "TCP",
                proto => proto,
            };
            match int(p, &["nodePort"]) {
                n if n > 0 => format!("{}:{n}/{protocol}", int(p, &["port"])),
                _ => format!("{}/{protocol}", int(p, &["port"])),
            }
        })
        .collect();
    vec![
        name(svc),
        type_.into(),
        cluster_ip.into(),
        external_ip.into(),
        or_none(&ports.join(",")).into(),
        age(svc, now),
        format_labels(at(spec, &["selector"])),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::Printer;
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn node_ready_scheduling_disabled_with_role() {
        let node = json!({
            "metadata": {"name": "gpu-1", "creationTimestamp": ago(400 * 86400), "labels": {
                "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/gpu": "", "kubernetes.io/role": "worker"}},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "10.1.0.4"}, {"type": "Hostname", "address": "gpu-1"}],
                "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Ubuntu 24.04", "kernelVersion": "6.8.0",
                             "containerRuntimeVersion": "containerd://2.0.5"}
            }
        });
        let want = "gpu-1 | Ready,SchedulingDisabled | control-plane,gpu,worker | 400d | v1.33.1 \
                    | 10.1.0.4 | <none> | Ubuntu 24.04 | 6.8.0 | containerd://2.0.5";
        assert_eq!(cells(&Printer::Node, node), want);
        let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(row(&Printer::Node, not_ready)["cells"][1], "NotReady");
    }

    #[test]
    fn core_and_events_api_events() {
        let ev = json!({
            "metadata": {"name": "web.17f", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
            "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": ago(600), "lastTimestamp": ago(30), "count": 7
        });
        let want = "30s | Warning | BackOff | pod/web | spec.containers{web} | kubelet, node-1 \
                    | Back-off restarting failed container | 10m | 7 | web.17f";
        assert_eq!(cells(&Printer::Event, ev), want);
        let new_api = json!({
            "metadata": {"name": "e"}, "eventTime": ago(90), "regarding": {"kind": "Node", "name": "n1"},
            "note": "Starting kubelet.", "type": "Normal", "reason": "Starting", "reportingController": "kubelet"
        });
        let want =
            "90s | Normal | Starting | node/n1 |  | kubelet | Starting kubelet. | 90s | 1 | e";
        assert_eq!(cells(&Printer::Event, new_api), want);
    }

    #[test]
    fn namespace_and_service() {
        let ns = json!({"metadata": {"name": "ml", "creationTimestamp": ago(5)}, "status": {"phase": "Active"}});
        assert_eq!(cells(&Printer::Namespace, ns), "ml | Active | 5s");
        let svc = json!({
            "metadata": {"name": "gw", "creationTimestamp": ago(60)},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                     "ports": [{"port": 443, "nodePort": 30443, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                     "selector": {"tier": "edge", "app": "gw"}},
            "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}
        });
        let want = "gw | LoadBalancer | 10.96.0.10 | lb.example.com | 443:30443/TCP,53/UDP | 60s | app=gw,tier=edge";
        assert_eq!(cells(&Printer::Service, svc), want);
    }
}
