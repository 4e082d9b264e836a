//! What the apiserver refuses in an object's spec, worded as it words it: negative counts,
//! a workload whose selector does not match its template, a pod with no containers or a
//! container with no image, malformed quantities (400, as its decoder fails them), and a
//! ConfigMap over 1 MiB. Checked after defaulting, on creates and updates.

use std::collections::BTreeMap;

use mlxp_core::domain::quantity::parse_milli;
use mlxp_core::domain::selector::LabelSelector;
use serde_json::Value;

/// The largest ConfigMap (data and binaryData together), as etcd's request limit allows.
const CONFIG_MAP_MAX_BYTES: usize = 1024 * 1024;

/// The decoder's words for a quantity it cannot parse.
pub const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

type Causes = Vec<(String, String)>;

/// Whether the object's pod spec has a malformed quantity (requests, limits, overhead):
/// the apiserver's decoder fails the whole body on one.
pub fn bad_quantity(group: &str, kind: &str, object: &Value) -> bool {
    let Some(spec) = pod_spec_of(group, kind, object).map(|(_, spec)| spec) else {
        return false;
    };
    let malformed = |map: &Value| {
        map.as_object().is_some_and(|m| {
            m.values()
                .any(|q| !q.is_number() && q.as_str().is_none_or(|q| parse_milli(q).is_none()))
        })
    };
    ["initContainers", "containers"].iter().any(|list| {
        spec[list].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                malformed(&c["resources"]["requests"]) || malformed(&c["resources"]["limits"])
            })
        })
    }) || malformed(&spec["overhead"])
}

/// The pod spec an object carries and its path: a Pod's own, a workload's template's.
fn pod_spec_of<'a>(
    group: &str,
    kind: &str,
    object: &'a Value,
) -> Option<(&'static str, &'a Value)> {
    let (path, spec) = match (group, kind) {
        ("", "Pod") => ("spec", &object["spec"]),
        ("", "PodTemplate") => ("template.spec", &object["template"]["spec"]),
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") | ("batch", "Job") => {
            ("spec.template.spec", &object["spec"]["template"]["spec"])
        }
        ("batch", "CronJob") => (
            "spec.jobTemplate.spec.template.spec",
            &object["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        ),
        _ => return None,
    };
    spec.is_object().then_some((path, spec))
}

/// Everything the apiserver's validation of this kind would refuse (422), field by field.
pub fn causes(group: &str, kind: &str, object: &Value) -> Causes {
    let mut causes = Causes::new();
    match pod_spec_of(group, kind, object) {
        Some((path, spec)) => containers(path, spec, &mut causes),
        None if matches!((group, kind), ("", "Pod")) => {
            causes.push(("spec.containers".into(), "Required value".into()));
        }
        None => {}
    }
    let spec = &object["spec"];
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") => {
            if kind != "DaemonSet" {
                non_negative(spec, "replicas", "spec.replicas", &mut causes);
            }
            selector_matches(spec, &mut causes);
        }
        ("batch", "Job") => {
            for field in ["parallelism", "completions", "backoffLimit"] {
                non_negative(spec, field, &format!("spec.{field}"), &mut causes);
            }
        }
        ("", "ConfigMap") => {
            let bytes = |field: &str| {
                object[field].as_object().map_or(0, |m| {
                    m.iter()
                        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                        .sum::<usize>()
                })
            };
            if bytes("data") + bytes("binaryData") > CONFIG_MAP_MAX_BYTES {
                causes.push((
                    "[]".into(),
                    format!("Too long: must have at most {CONFIG_MAP_MAX_BYTES} bytes"),
                ));
            }
        }
        _ => {}
    }
    causes
}

fn containers(path: &str, spec: &Value, causes: &mut Causes) {
    let list = spec["containers"].as_array().filter(|l| !l.is_empty());
    let Some(list) = list else {
        causes.push((format!("{path}.containers"), "Required value".into()));
        return;
    };
    for (i, c) in list.iter().enumerate() {
        for field in ["name", "image"] {
            if c[field].as_str().is_none_or(str::is_empty) {
                causes.push((
                    format!("{path}.containers[{i}].{field}"),
                    "Required value".into(),
                ));
            }
        }
    }
}

fn non_negative(spec: &Value, field: &str, path: &str, causes: &mut Causes) {
    if let Some(n) = spec[field].as_i64()
        && n < 0
    {
        causes.push((
            path.into(),
            format!("Invalid value: {n}: must be greater than or equal to 0"),
        ));
    }
}

/// An apps/v1 workload's selector: required, not empty, and matching its template's labels.
fn selector_matches(spec: &Value, causes: &mut Causes) {
    let selector = &spec["selector"];
    if !selector.is_object() {
        causes.push(("spec.selector".into(), "Required value".into()));
        return;
    }
    let Ok(parsed) = LabelSelector::from_label_selector_json(selector) else {
        causes.push((
            "spec.selector".into(),
            format!("Invalid value: {selector}: invalid label selector"),
        ));
        return;
    };
    if parsed.is_empty() {
        causes.push((
            "spec.selector".into(),
            "Invalid value: {}: empty selector is invalid for deployment".into(),
        ));
        return;
    }
    let labels: BTreeMap<&str, &str> = spec["template"]["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    if !parsed.matches(|k| labels.get(k).copied()) {
        let shown: Vec<String> = labels.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
        causes.push((
            "spec.template.metadata.labels".into(),
            format!(
                "Invalid value: map[string]string{{{}}}: `selector` does not match template `labels`",
                shown.join(", ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i64, selector: Value, labels: Value, containers: Value) -> Value {
        json!({"spec": {"replicas": replicas, "selector": selector,
               "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}}})
    }

    #[test]
    fn what_the_apiserver_refuses_in_a_deployment_is_refused_in_its_words() {
        let ok = deployment(
            2,
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web", "tier": "fe"}),
            json!([{"name": "web", "image": "nginx"}]),
        );
        assert_eq!(causes("apps", "Deployment", &ok), Causes::new());
        let bad = deployment(
            -1,
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "other"}),
            json!([{"name": "web"}]),
        );
        assert_eq!(
            causes("apps", "Deployment", &bad),
            vec![
                ("spec.template.spec.containers[0].image".to_string(), "Required value".to_string()),
                ("spec.replicas".to_string(), "Invalid value: -1: must be greater than or equal to 0".to_string()),
                (
                    "spec.template.metadata.labels".to_string(),
                    "Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`".to_string()
                ),
            ]
        );
        let empty = deployment(
            1,
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
            json!([]),
        );
        assert_eq!(
            causes("apps", "Deployment", &empty),
            vec![(
                "spec.template.spec.containers".to_string(),
                "Required value".to_string()
            )]
        );
    }

    #[test]
    fn a_malformed_quantity_and_an_oversized_config_map() {
        let pod = |cpu: &str| {
            json!({"spec": {"containers": [{"name": "a", "image": "x",
                "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}})
        };
        assert!(bad_quantity("", "Pod", &pod("lots")));
        assert!(!bad_quantity("", "Pod", &pod("500m")));
        let big = json!({"data": {"blob": "x".repeat(CONFIG_MAP_MAX_BYTES)}});
        assert_eq!(
            causes("", "ConfigMap", &big),
            vec![(
                "[]".to_string(),
                "Too long: must have at most 1048576 bytes".to_string()
            )]
        );
    }
}
