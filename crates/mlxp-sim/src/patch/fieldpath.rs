//! Field paths as structured-merge-diff names them, and the set of nodes an object has:
//! leaves, keyed list items (`[name="app"]`), set members (`[="x"]`) and map nodes — the
//! pieces ownership (server-side apply, `metadata.managedFields`) is made of.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use super::{ListKind, list_kind};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Elem {
    Field(String),
    /// Item of an associative list: its key fields (sorted by name) with their JSON text.
    Key(Vec<(String, String)>),
    /// Member of a set-like primitive list, as JSON text.
    Member(String),
}

pub type Path = Vec<Elem>;

/// What is at a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A value without owned parts below it (scalar, empty map, atomic list or map).
    Leaf(Value),
    /// An item of a keyed list or a set member: its identity, not its content.
    Item,
    /// A non-empty granular map or list: owned by whoever created it.
    Map,
}

/// Every node of an object with what is there.
pub type Leaves = BTreeMap<Path, Node>;

/// Metadata written by the server: never owned, never taken from an apply body.
pub const SERVER_METADATA: [&str; 8] = [
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];
/// Identity fields: taken from an apply body but not owned by anyone.
const IDENTITY_METADATA: [&str; 2] = ["name", "namespace"];
const IDENTITY_TOP: [&str; 2] = ["apiVersion", "kind"];
/// Maps upstream marks atomic (`+structType=atomic` / `+mapType=atomic`): owned whole.
pub const ATOMIC_MAPS: [&str; 2] = ["selector", "nodeSelector"];
/// Keyed lists whose items are atomic (`+structType=atomic`): owned whole, by key.
pub const ATOMIC_ITEMS: [&str; 1] = ["ownerReferences"];
/// Non-pointer struct fields: present (empty) in a new Go object, so a create does not
/// own the node itself, only what it puts inside.
const STRUCT_FIELDS: [&str; 7] = [
    "metadata",
    "spec",
    "status",
    "template",
    "jobTemplate",
    "strategy",
    "updateStrategy",
];

/// The owned nodes of an object, skipping identity and server metadata; `status`
/// included only when asked.
pub fn leaves(object: &Value, status: bool) -> Leaves {
    let mut out = Leaves::new();
    let Value::Object(top) = object else {
        return out;
    };
    for (key, value) in top {
        match (key.as_str(), value) {
            ("status", _) if !status => {}
            (k, _) if IDENTITY_TOP.contains(&k) => {}
            ("metadata", Value::Object(meta)) => {
                for (mk, mv) in meta {
                    if !SERVER_METADATA.contains(&mk.as_str())
                        && !IDENTITY_METADATA.contains(&mk.as_str())
                    {
                        let mut path = vec![Elem::Field(key.clone()), Elem::Field(mk.clone())];
                        walk(mv, mk, &mut path, &mut out);
                    }
                }
            }
            _ => walk(value, key, &mut vec![Elem::Field(key.clone())], &mut out),
        }
    }
    out
}

/// The nodes a zero-valued Go object of the same type already has (its struct fields that
/// hold structs): what a create is compared against.
pub fn baseline(object: &Value) -> Leaves {
    fn visit(value: &Value, path: &mut Path, out: &mut Leaves) {
        let Value::Object(m) = value else { return };
        for (k, child) in m {
            // A pod spec's containers serialize as `null` in a zero value (no omitempty).
            if k == "containers" && child.as_array().is_some_and(|l| !l.is_empty()) {
                path.push(Elem::Field(k.clone()));
                out.insert(path.clone(), Node::Map);
                path.pop();
            }
            if STRUCT_FIELDS.contains(&k.as_str()) && child.is_object() {
                path.push(Elem::Field(k.clone()));
                let empty = child.as_object().is_some_and(|c| c.is_empty());
                out.insert(
                    path.clone(),
                    if empty {
                        Node::Leaf(child.clone())
                    } else {
                        Node::Map
                    },
                );
                visit(child, path, out);
                path.pop();
            }
        }
    }
    let mut out = Leaves::new();
    visit(object, &mut Vec::new(), &mut out);
    out
}

fn walk(value: &Value, field: &str, path: &mut Path, out: &mut Leaves) {
    match value {
        Value::Object(m) if !m.is_empty() && !ATOMIC_MAPS.contains(&field) => {
            out.insert(path.clone(), Node::Map);
            for (k, child) in m {
                path.push(Elem::Field(k.clone()));
                walk(child, k, path, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match ssa_list_kind(field, items) {
            ListKind::Keyed(key) => {
                out.insert(path.clone(), Node::Map);
                let keys = ssa_keys(key);
                for item in items {
                    let (Some(obj), Some(id)) = (item.as_object(), item_key(item, keys)) else {
                        continue;
                    };
                    path.push(Elem::Key(id));
                    if ATOMIC_ITEMS.contains(&field) {
                        out.insert(path.clone(), Node::Leaf(item.clone()));
                        path.pop();
                        continue;
                    }
                    out.insert(path.clone(), Node::Item);
                    for (k, child) in obj.iter().filter(|(k, _)| !keys.contains(&k.as_str())) {
                        path.push(Elem::Field(k.clone()));
                        walk(child, k, path, out);
                        path.pop();
                    }
                    path.pop();
                }
            }
            ListKind::Set => {
                out.insert(path.clone(), Node::Map);
                for item in items {
                    path.push(Elem::Member(json_text(item)));
                    out.insert(path.clone(), Node::Item);
                    path.pop();
                }
            }
            ListKind::Atomic => {
                out.insert(path.clone(), Node::Leaf(value.clone()));
            }
        },
        _ => {
            out.insert(path.clone(), Node::Leaf(value.clone()));
        }
    }
}

/// The key fields of an associative list whose merge key is `key`, as apply keys it
/// (ports are told apart by protocol too).
pub fn ssa_keys(key: &'static str) -> &'static [&'static str] {
    match key {
        "containerPort" => &["containerPort", "protocol"],
        "port" => &["port", "protocol"],
        "topologyKey" => &["topologyKey", "whenUnsatisfiable"],
        "name" => &["name"],
        "mountPath" => &["mountPath"],
        "devicePath" => &["devicePath"],
        "ip" => &["ip"],
        "type" => &["type"],
        "uid" => &["uid"],
        _ => &[],
    }
}

/// Defaults of key fields an item may leave out.
fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::String("TCP".into()))
}

/// An item's identity: each key field (sorted) with its JSON text; `None` if the
/// primary key is missing or not a scalar.
pub fn item_key(item: &Value, keys: &[&str]) -> Option<Vec<(String, String)>> {
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    let mut id = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let value = match item.get(*k) {
            Some(v) if scalar(v) => v.clone(),
            Some(_) => return None,
            None if i > 0 => key_default(k)?,
            None => return None,
        };
        id.push(((*k).to_string(), json_text(&value)));
    }
    id.sort();
    Some(id)
}

/// The merge strategy, falling back to atomic when the items do not fit it
/// (missing or duplicate keys), since then there is no item identity.
pub fn ssa_list_kind(field: &str, items: &[Value]) -> ListKind {
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    let mut seen = BTreeSet::new();
    match list_kind(field, items.iter()) {
        ListKind::Keyed(key)
            if !ssa_keys(key).is_empty()
                && items
                    .iter()
                    .all(|i| item_key(i, ssa_keys(key)).is_some_and(|id| seen.insert(id))) =>
        {
            ListKind::Keyed(key)
        }
        ListKind::Set
            if items
                .iter()
                .all(|i| scalar(i) && seen.insert(vec![(String::new(), i.to_string())])) =>
        {
            ListKind::Set
        }
        _ => ListKind::Atomic,
    }
}

/// Compact JSON text: how keys and set members are identified in paths.
pub fn json_text(value: &Value) -> String {
    value.to_string()
}

/// Whether a list item has this identity (a key field it leaves out counts as its default).
pub fn has_id(item: &Value, id: &[(String, String)]) -> bool {
    id.iter().all(|(k, v)| {
        item.get(k)
            .cloned()
            .or_else(|| key_default(k))
            .is_some_and(|x| json_text(&x) == *v)
    })
}

/// Kubernetes' field path notation: `.spec.ports[port=80,protocol="TCP"].name`,
/// `.metadata.finalizers[="x"]`.
pub fn render(path: &[Elem]) -> String {
    let mut out = String::new();
    for elem in path {
        let _ = match elem {
            Elem::Field(f) => write!(out, ".{f}"),
            Elem::Key(id) => {
                let parts: Vec<String> = id.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(out, "[{}]", parts.join(","))
            }
            Elem::Member(id) => write!(out, "[={id}]"),
        };
    }
    out
}

pub fn get_mut<'a>(mut value: &'a mut Value, path: &[Elem]) -> Option<&'a mut Value> {
    for elem in path {
        value = match (elem, value) {
            (Elem::Field(f), Value::Object(m)) => m.get_mut(f)?,
            (Elem::Key(id), Value::Array(items)) => items.iter_mut().find(|i| has_id(i, id))?,
            (Elem::Member(id), Value::Array(items)) => {
                items.iter_mut().find(|i| json_text(i) == *id)?
            }
            _ => return None,
        };
    }
    Some(value)
}
