//! A Service's defaults (`SetDefaults_Service`) and, on create, its cluster IP from the
//! service range, as the apiserver's allocator gives one.

use serde_json::{Value, json};

use super::{Created, unset_to};

pub fn service(object: &mut Value, created: Option<Created>) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    unset_to(spec, "type", json!("ClusterIP"));
    unset_to(spec, "sessionAffinity", json!("None"));
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            unset_to(port, "protocol", json!("TCP"));
            let unset_target = match port.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                _ => false,
            };
            if unset_target && let Some(number) = port.get("port").cloned() {
                port.insert("targetPort".into(), number);
            }
        }
    }
    if kind == "ExternalName" {
        return;
    }
    unset_to(spec, "internalTrafficPolicy", json!("Cluster"));
    if let Some(created) = created {
        unset_to(spec, "clusterIP", json!((created.cluster_ip)()));
    }
    let ip = spec.get("clusterIP").cloned().unwrap_or(Value::Null);
    if ip.is_string() {
        unset_to(spec, "clusterIPs", json!([ip]));
        if spec["clusterIPs"].as_array().is_some_and(Vec::is_empty) {
            spec.insert("clusterIPs".into(), json!([ip]));
        }
        unset_to(spec, "ipFamilies", json!(["IPv4"]));
        unset_to(spec, "ipFamilyPolicy", json!("SingleStack"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_service_gets_an_ip_and_its_ports_their_targets() {
        let mut s = json!({"spec": {"clusterIP": "", "type": "", "ports": [{"port": 80, "targetPort": 0}]}});
        let mut ip = || "10.96.0.12".to_string();
        service(
            &mut s,
            Some(Created {
                uid: "u",
                cluster_ip: &mut ip,
            }),
        );
        let spec = &s["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["clusterIP"], "10.96.0.12");
        assert_eq!(spec["clusterIPs"], json!(["10.96.0.12"]));
        assert_eq!(
            spec["ports"][0],
            json!({"port": 80, "targetPort": 80, "protocol": "TCP"})
        );
        assert_eq!(spec["sessionAffinity"], "None");
        let mut headless = json!({"spec": {"clusterIP": "None"}});
        service(
            &mut headless,
            Some(Created {
                uid: "u",
                cluster_ip: &mut ip,
            }),
        );
        assert_eq!(headless["spec"]["clusterIP"], "None");
    }
}
