//! Field ownership as the apiserver keeps it in `metadata.managedFields`: one entry per
//! (manager, operation, apiVersion of an update, subresource), each with the fields it owns.
//! The object's managedFields are the record; `FieldOwners` is their decoded form for one write.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::fieldpath::{Path, baseline, leaves};
use super::fields_v1;

/// Apply and update entries of one manager are distinct: an apply only gives up fields
/// of its own previous apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// What tells entries apart (the apiserver's manager identifier): an apply's apiVersion
/// is not part of it, an update's is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ManagerId {
    pub(super) manager: String,
    pub(super) operation: Operation,
    pub(super) api_version: String,
    pub(super) subresource: String,
}

impl ManagerId {
    pub(super) fn new(w: &Writer<'_>, operation: Operation) -> Self {
        ManagerId {
            manager: w.manager.to_string(),
            operation,
            api_version: match operation {
                Operation::Apply => String::new(),
                Operation::Update => w.api_version.to_string(),
            },
            subresource: w.subresource.to_string(),
        }
    }

    /// As the apiserver names a manager in a conflict: `"kubectl-create" using v1`.
    pub(super) fn printed(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            out.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }
}

/// One entry's fields and when and in which version its manager last wrote them.
#[derive(Debug, Clone, Default)]
pub(super) struct Owned {
    pub(super) paths: BTreeSet<Path>,
    pub(super) api_version: String,
    pub(super) time: String,
}

/// Who is writing: the manager (fieldManager, or the User-Agent's first part), the
/// request's group/version, its subresource (`""` for the object itself) and the time.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub time: &'a str,
}

/// What part of the object an update can own: the status subresource owns only `status`,
/// a write to the object all but `status` when the kind has a status subresource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Object,
    ObjectAndStatus,
    Status,
}

/// Field paths owned per manager entry, e.g. `.spec.replicas`,
/// `.spec.template.spec.containers[name="app"].image`.
#[derive(Debug, Clone, Default)]
pub struct FieldOwners {
    pub(super) owners: BTreeMap<ManagerId, Owned>,
}

impl FieldOwners {
    /// Record that `w` wrote the fields that changed between `old` and `new` by a
    /// non-apply write (create / update / patch): it now owns them, others lose them.
    /// `old == None` is a create, compared with the kind's zero value.
    pub fn record_update(
        &mut self,
        old: Option<&Value>,
        new: &Value,
        w: &Writer<'_>,
        scope: Scope,
    ) {
        let new_leaves = leaves(new, true);
        let old_leaves = old.map_or_else(|| baseline(new), |o| leaves(o, true));
        let in_scope = |p: &Path| {
            let status = p.first() == Some(&super::fieldpath::Elem::Field("status".into()));
            match scope {
                Scope::Object => !status,
                Scope::ObjectAndStatus => true,
                Scope::Status => status,
            }
        };
        let changed: BTreeSet<Path> = new_leaves
            .iter()
            .filter(|(path, node)| in_scope(path) && old_leaves.get(*path) != Some(*node))
            .map(|(path, _)| path.clone())
            .collect();
        let me = ManagerId::new(w, Operation::Update);
        for (id, owned) in &mut self.owners {
            owned
                .paths
                .retain(|p| new_leaves.contains_key(p) && (*id == me || !changed.contains(p)));
        }
        if !changed.is_empty() {
            let entry = self.owners.entry(me).or_default();
            entry.paths.extend(changed);
            entry.api_version = w.api_version.to_string();
            entry.time = w.time.to_string();
        }
        self.owners.retain(|_, owned| !owned.paths.is_empty());
    }

    /// Managers owning at least one field, each name once.
    pub fn managers(&self) -> impl Iterator<Item = &str> {
        let mut last: Option<&str> = None;
        self.owners
            .keys()
            .map(|id| id.manager.as_str())
            .filter(move |m| last.replace(m) != Some(m))
    }

    /// Field paths owned by `manager` (all its entries together), sorted.
    pub fn fields(&self, manager: &str) -> Vec<String> {
        let paths: BTreeSet<&Path> = self
            .owners
            .iter()
            .filter(|(id, _)| id.manager == manager)
            .flat_map(|(_, owned)| &owned.paths)
            .collect();
        paths
            .into_iter()
            .map(|p| super::fieldpath::render(p))
            .collect()
    }

    /// `metadata.managedFields` as the apiserver writes them, in its order: applies
    /// first, then by time, manager, apiVersion and subresource.
    pub fn managed_fields(&self) -> Vec<Value> {
        let mut entries: Vec<(&ManagerId, &Owned)> = self.owners.iter().collect();
        entries.sort_by(|(a, x), (b, y)| {
            (
                a.operation,
                &x.time,
                &a.manager,
                &x.api_version,
                &a.subresource,
            )
                .cmp(&(
                    b.operation,
                    &y.time,
                    &b.manager,
                    &y.api_version,
                    &b.subresource,
                ))
        });
        entries
            .into_iter()
            .map(|(id, owned)| {
                let mut entry = json!({
                    "manager": id.manager,
                    "operation": id.operation.as_str(),
                    "apiVersion": owned.api_version,
                    "time": owned.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": fields_v1::encode(&owned.paths),
                });
                if !id.subresource.is_empty() {
                    entry["subresource"] = json!(id.subresource);
                }
                entry
            })
            .collect()
    }

    /// Decodes `metadata.managedFields` (absent: no owners).
    pub fn from_managed_fields(entries: Option<&Value>) -> Result<Self, String> {
        let mut owners = BTreeMap::new();
        let Some(entries) = entries.filter(|e| !e.is_null()) else {
            return Ok(FieldOwners { owners });
        };
        let entries = entries.as_array().ok_or("managedFields must be a list")?;
        for entry in entries {
            let text = |f: &str| {
                entry
                    .get(f)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let operation = match text("operation").as_str() {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                other => return Err(format!("unknown operation {other:?}")),
            };
            let paths = fields_v1::decode(entry.get("fieldsV1").unwrap_or(&json!({})))?;
            let id = ManagerId {
                manager: text("manager"),
                operation,
                api_version: match operation {
                    Operation::Apply => String::new(),
                    Operation::Update => text("apiVersion"),
                },
                subresource: text("subresource"),
            };
            let owned = owners.entry(id).or_insert_with(Owned::default);
            owned.paths.extend(paths);
            owned.api_version = text("apiVersion");
            owned.time = text("time");
        }
        Ok(FieldOwners { owners })
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

/// `managedFields: []` or `[{}]` sent by a client: clear them (the apiserver's reset).
pub fn is_reset(entries: Option<&Value>) -> bool {
    match entries.and_then(Value::as_array) {
        Some(list) => match list.as_slice() {
            [] => true,
            [only] => only.as_object().is_some_and(|m| m.is_empty()),
            _ => false,
        },
        None => false,
    }
}

/// The apiserver's checks of sent managedFields, as (field, message) causes.
pub fn validation_errors(entries: Option<&Value>) -> Vec<(String, String)> {
    let Some(list) = entries.and_then(Value::as_array) else {
        return Vec::new();
    };
    if is_reset(entries) {
        return Vec::new();
    }
    let mut causes = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let text = |f: &str| entry.get(f).and_then(Value::as_str).unwrap_or("");
        let field = |f: &str| format!("metadata.managedFields[{i}].{f}");
        if !matches!(text("operation"), "Apply" | "Update") {
            causes.push((
                field("operation"),
                format!(
                    "Unsupported value: {:?}: supported values: \"Apply\", \"Update\"",
                    text("operation")
                ),
            ));
        }
        if text("fieldsType") != "FieldsV1" {
            causes.push((
                field("fieldsType"),
                format!(
                    "Unsupported value: {:?}: supported values: \"FieldsV1\"",
                    text("fieldsType")
                ),
            ));
        }
        if text("manager").len() > 128 {
            causes.push((
                field("manager"),
                "Too long: may not be more than 128 bytes".into(),
            ));
        }
    }
    causes
}
