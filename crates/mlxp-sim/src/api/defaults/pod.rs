//! What the apiserver fills into a Pod before storing it: the API's defaults
//! (`SetDefaults_PodSpec`, `SetDefaults_Container`, also applied to every pod template)
//! and what its default admission plugins add to a new Pod (ServiceAccount,
//! DefaultTolerationSeconds, Priority). Only unset fields are set — absent, null, or the
//! empty string a protobuf body carries for a Go zero value — so `kubectl describe` shows
//! a pod as a real cluster would.

use serde_json::{Map, Value, json};

use super::unset_to;

/// Seconds a pod stays on a node that went not-ready or unreachable.
const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// A new Pod: the API's defaults, then what admission adds.
pub fn pod(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    pod_spec(spec);
    for (field, value) in [
        ("serviceAccountName", json!("default")),
        ("priority", json!(0)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
    ] {
        unset_to(spec, field, value);
    }
    // The deprecated field mirrors the account, as the apiserver's v1 conversion writes it.
    if let Some(account) = spec.get("serviceAccountName").cloned() {
        spec.insert("serviceAccount".into(), account);
    }
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if tolerations.is_null() {
        *tolerations = json!([]);
    }
    if let Some(list) = tolerations.as_array_mut() {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let covered = list.iter().any(|t| {
                (t["key"] == key || (t["key"].is_null() && t["operator"] == "Exists"))
                    && (t["effect"] == "NoExecute" || t["effect"].is_null())
            });
            if !covered {
                list.push(
                    json!({"key": key, "operator": "Exists", "effect": "NoExecute",
                                 "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}),
                );
            }
        }
    }
}

/// `SetDefaults_PodSpec` and its containers': what a Pod and every pod template get.
pub fn pod_spec(spec: &mut Map<String, Value>) {
    drop_zero_values(spec, POD_SPEC_OMITTED_WHEN_ZERO);
    for (field, value) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
        ("enableServiceLinks", json!(true)),
    ] {
        unset_to(spec, field, value);
    }
    for containers in ["initContainers", "containers"] {
        let Some(list) = spec.get_mut(containers).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in list.iter_mut().filter_map(Value::as_object_mut) {
            drop_zero_values(container, CONTAINER_OMITTED_WHEN_ZERO);
            let image = container.get("image").and_then(Value::as_str).unwrap_or("");
            let pull = if pulls_always(image) {
                "Always"
            } else {
                "IfNotPresent"
            };
            unset_to(container, "imagePullPolicy", json!(pull));
            unset_to(
                container,
                "terminationMessagePath",
                json!("/dev/termination-log"),
            );
            unset_to(container, "terminationMessagePolicy", json!("File"));
            unset_to(container, "resources", json!({}));
            if let Some(ports) = container.get_mut("ports").and_then(Value::as_array_mut) {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    unset_to(port, "protocol", json!("TCP"));
                }
            }
        }
    }
}

/// Fields Go omits when they hold their zero value (`omitempty`), which a protobuf body
/// (`kubectl create deployment|job …`) nonetheless carries: `hostIPC: false`,
/// `workingDir: ""` … A real server never shows them.
const POD_SPEC_OMITTED_WHEN_ZERO: &[&str] = &[
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostname",
    "subdomain",
    "nodeName",
    "priorityClassName",
    "serviceAccountName",
    "serviceAccount",
];
const CONTAINER_OMITTED_WHEN_ZERO: &[&str] = &["stdin", "stdinOnce", "tty", "workingDir"];

fn drop_zero_values(object: &mut Map<String, Value>, fields: &[&str]) {
    object.retain(|field, value| {
        !(fields.contains(&field.as_str()) && (value == &json!(false) || value == &json!("")))
    });
}

/// Images with no tag or the `latest` tag (and no digest) are pulled every time.
fn pulls_always(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_pod_gets_what_the_apiserver_adds() {
        let mut p = json!({"spec": {"containers": [
            {"name": "a", "image": "busybox", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "registry:5000/team/trainer:2.4"},
        ]}});
        pod(&mut p);
        let spec = &p["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
        assert_eq!(spec["tolerations"][0]["tolerationSeconds"], 300);
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(
            spec["containers"][1]["imagePullPolicy"], "IfNotPresent",
            "port in the registry host is not a tag"
        );
        assert_eq!(spec["containers"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(
            spec["containers"][0]["terminationMessagePath"],
            "/dev/termination-log"
        );
    }

    #[test]
    fn the_empty_strings_of_a_protobuf_body_are_unset() {
        let mut p = json!({"spec": {"schedulerName": "", "dnsPolicy": "", "restartPolicy": "",
                                    "containers": [{"name": "a", "image": "nginx:1.27",
                                                    "imagePullPolicy": ""}]}});
        pod(&mut p);
        let spec = &p["spec"];
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "IfNotPresent");
    }

    #[test]
    fn what_the_pod_says_is_kept() {
        let mut p = json!({"spec": {
            "restartPolicy": "Never", "priority": 1000,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "a", "image": "x:latest", "imagePullPolicy": "Never"}],
        }});
        pod(&mut p);
        let spec = &p["spec"];
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(spec["priority"], 1000);
        assert_eq!(
            spec["tolerations"],
            json!([{"operator": "Exists"}]),
            "tolerates everything already"
        );
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "Never");
    }
}
