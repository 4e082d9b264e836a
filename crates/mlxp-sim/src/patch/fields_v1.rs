//! The FieldsV1 format of `metadata.managedFields[].fieldsV1`: a trie of path elements,
//! `f:<field>`, `k:<key fields as JSON>` for keyed list items, `v:<JSON>` for set
//! members, with `.` marking a node that is itself in the set when it also has children.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::fieldpath::{Elem, Path, json_text};

#[derive(Default)]
struct Trie {
    own: bool,
    children: BTreeMap<String, Trie>,
}

fn element_text(elem: &Elem) -> String {
    match elem {
        Elem::Field(f) => format!("f:{f}"),
        Elem::Key(id) => {
            let fields: Vec<String> = id
                .iter()
                .map(|(k, v)| format!("{}:{v}", json_text(&Value::String(k.clone()))))
                .collect();
            format!("k:{{{}}}", fields.join(","))
        }
        Elem::Member(v) => format!("v:{v}"),
    }
}

/// Renders a set of paths as FieldsV1. An owned keyed item lists its key fields too, as
/// structured-merge-diff's sets do.
pub fn encode<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Value {
    let mut root = Trie::default();
    for path in paths {
        let mut node = &mut root;
        for elem in path {
            node = node.children.entry(element_text(elem)).or_default();
        }
        node.own = true;
        // Items of atomic lists (ownerReferences, keyed by uid) are owned whole.
        if let Some(Elem::Key(id)) = path.last()
            && !matches!(id.as_slice(), [(k, _)] if k == "uid")
        {
            for (k, _) in id {
                node.children.entry(format!("f:{k}")).or_default().own = true;
            }
        }
    }
    emit(&root)
}

fn emit(node: &Trie) -> Value {
    let mut out = Map::new();
    if node.own && !node.children.is_empty() {
        out.insert(".".into(), Value::Object(Map::new()));
    }
    for (name, child) in &node.children {
        out.insert(name.clone(), emit(child));
    }
    Value::Object(out)
}

/// Parses FieldsV1 into a set of paths; key fields inside a keyed item are implied by the
/// item and dropped. Index elements (`i:`) are refused: no list here is kept by position.
pub fn decode(fields: &Value) -> Result<BTreeSet<Path>, String> {
    let mut out = BTreeSet::new();
    let Value::Object(top) = fields else {
        return Err("fieldsV1 must be a JSON object".into());
    };
    visit(top, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn visit(
    node: &Map<String, Value>,
    path: &mut Path,
    out: &mut BTreeSet<Path>,
) -> Result<(), String> {
    for (name, child) in node {
        if name == "." {
            out.insert(path.clone());
            continue;
        }
        let Value::Object(child) = child else {
            return Err(format!("{name}: expected an object"));
        };
        let elem = parse_element(name)?;
        if let (Elem::Field(f), Some(Elem::Key(id))) = (&elem, path.last())
            && id.iter().any(|(k, _)| k == f)
        {
            continue;
        }
        path.push(elem);
        if child.is_empty() {
            out.insert(path.clone());
        } else {
            visit(child, path, out)?;
        }
        path.pop();
    }
    Ok(())
}

fn parse_element(name: &str) -> Result<Elem, String> {
    let invalid = || format!("unknown path element {name:?}");
    let (prefix, rest) = name.split_once(':').ok_or_else(invalid)?;
    match prefix {
        "f" => Ok(Elem::Field(rest.to_string())),
        "k" => {
            let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(rest) else {
                return Err(invalid());
            };
            let mut id: Vec<(String, String)> = keys
                .iter()
                .map(|(k, v)| (k.clone(), json_text(v)))
                .collect();
            id.sort();
            Ok(Elem::Key(id))
        }
        "v" => serde_json::from_str::<Value>(rest)
            .map(|v| Elem::Member(json_text(&v)))
            .map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fieldpath::{Node, baseline, leaves};
    use super::*;
    use serde_json::json;

    /// The nodes a create would own: everything not in the zero-valued object.
    fn created(object: &Value) -> Value {
        let base = baseline(object);
        let all = leaves(object, false);
        encode(
            all.iter()
                .filter(|(p, n)| base.get(*p) != Some(*n))
                .map(|(p, _)| p),
        )
    }

    #[test]
    fn maps_created_whole_carry_a_dot_and_struct_fields_do_not() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "m1", "namespace": "default", "labels": {"app": "web"}},
            "data": {"a": "1"}});
        assert_eq!(
            created(&cm),
            json!({"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
        );
        assert_eq!(
            serde_json::to_string(&created(&cm)).unwrap(),
            r#"{"f:data":{".":{},"f:a":{}},"f:metadata":{"f:labels":{".":{},"f:app":{}}}}"#,
            "sorted as upstream serializes it"
        );
    }

    #[test]
    fn keyed_lists_by_name_and_ports_by_container_port_and_protocol() {
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                    "name": "app", "image": "nginx", "resources": {},
                    "env": [{"name": "A", "value": "1"}],
                    "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}}});
        let app = json!({
            ".": {},
            "f:env": {".": {}, "k:{\"name\":\"A\"}": {".": {}, "f:name": {}, "f:value": {}}},
            "f:image": {}, "f:name": {},
            "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                ".": {}, "f:containerPort": {}, "f:protocol": {}}},
            "f:resources": {}});
        assert_eq!(
            created(&deploy),
            json!({"f:spec": {
                "f:replicas": {}, "f:selector": {},
                "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}}, "f:type": {}},
                "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": app}}}}})
        );
    }

    #[test]
    fn lists_created_with_an_object_carry_a_dot() {
        let pod = json!({"metadata": {"name": "p", "finalizers": ["a.io/x"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1"}]},
            "spec": {"containers": [{"name": "c"}]}});
        let fields = created(&pod);
        assert_eq!(
            fields["f:metadata"],
            json!({"f:finalizers": {".": {}, "v:\"a.io/x\"": {}},
                "f:ownerReferences": {".": {}, "k:{\"uid\":\"u1\"}": {}}})
        );
        assert_eq!(
            fields["f:spec"],
            json!({"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:name": {}}}}),
            "containers exist (as null) in a zero pod spec"
        );
    }

    #[test]
    fn set_members_and_round_trip() {
        let object = json!({"metadata": {"finalizers": ["a.io/x"], "labels": {"k": "v"}},
            "spec": {"ports": [{"port": 80, "protocol": "TCP", "name": "http"}]}});
        let all = leaves(&object, false);
        let paths: BTreeSet<Path> = all.keys().cloned().collect();
        let encoded = encode(&paths);
        assert_eq!(
            encoded["f:metadata"]["f:finalizers"],
            json!({".": {}, "v:\"a.io/x\"": {}})
        );
        assert_eq!(
            encoded["f:spec"]["f:ports"]["k:{\"port\":80,\"protocol\":\"TCP\"}"],
            json!({".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}})
        );
        assert_eq!(decode(&encoded).expect("decodes"), paths);
        assert!(all.values().any(|n| *n == Node::Map));
    }

    #[test]
    fn decode_refuses_what_it_cannot_place() {
        assert!(decode(&json!({"i:0": {}})).is_err());
        assert!(decode(&json!({"f:a": 1})).is_err());
        assert!(decode(&json!([1])).is_err());
        assert!(decode(&json!({"k:notjson": {}})).is_err());
    }
}
