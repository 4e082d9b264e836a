//! The kinds the embedded API server serves: built-in ones compiled in, custom ones
//! registered from CustomResourceDefinition objects (those of `config/crds/` at start,
//! and any a client creates later).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::table::{Printer, PrinterColumn};

/// One served resource (group, version, plural) and what the server knows of it.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status: bool,
    pub scale: bool,
    pub log: bool,
    /// Only `create` (SelfSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview):
    /// nothing is stored.
    pub create_only: bool,
    pub printer: Printer,
    /// The CRD's openAPIV3Schema; None for built-in kinds, which are checked by decoding.
    pub schema: Option<Value>,
    /// Field selectors the server accepts beyond metadata.name / metadata.namespace.
    pub field_labels: &'static [&'static str],
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn is_custom(&self) -> bool {
        self.schema.is_some()
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        if self.create_only {
            return vec!["create"];
        }
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }

    /// Identity of the stored objects: all versions of a kind share one store.
    pub fn store_key(&self) -> StoreKey {
        StoreKey {
            group: self.group.clone(),
            plural: self.plural.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey {
    pub group: String,
    pub plural: String,
}

/// Field selectors the real apiserver accepts for these kinds (besides metadata.*).
const POD_FIELDS: &[&str] = &[
    "spec.nodeName",
    "status.phase",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.podIP",
    "status.nominatedNodeName",
];
const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];
const NODE_FIELDS: &[&str] = &["spec.unschedulable"];
const NAMESPACE_FIELDS: &[&str] = &["status.phase"];
const JOB_FIELDS: &[&str] = &["status.successful"];

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    subresources: &'static [&'static str],
    printer: Printer,
    field_labels: &'static [&'static str],
}

fn builtins() -> Vec<Builtin> {
    let b = |group, version, kind, plural, namespaced, short, subresources, printer| Builtin {
        group,
        version,
        kind,
        plural,
        namespaced,
        short,
        subresources,
        printer,
        field_labels: &[],
    };
    vec![
        Builtin {
            field_labels: NAMESPACE_FIELDS,
            ..b(
                "",
                "v1",
                "Namespace",
                "namespaces",
                false,
                &["ns"],
                &["status"],
                Printer::Namespace,
            )
        },
        Builtin {
            field_labels: NODE_FIELDS,
            ..b(
                "",
                "v1",
                "Node",
                "nodes",
                false,
                &["no"],
                &["status"],
                Printer::Node,
            )
        },
        Builtin {
            field_labels: POD_FIELDS,
            ..b(
                "",
                "v1",
                "Pod",
                "pods",
                true,
                &["po"],
                &["status", "log"],
                Printer::Pod,
            )
        },
        Builtin {
            field_labels: EVENT_FIELDS,
            ..b(
                "",
                "v1",
                "Event",
                "events",
                true,
                &["ev"],
                &[],
                Printer::Event,
            )
        },
        b(
            "",
            "v1",
            "Service",
            "services",
            true,
            &["svc"],
            &["status"],
            Printer::Service,
        ),
        b(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            &["cm"],
            &[],
            Printer::Default,
        ),
        b(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            &["deploy"],
            &["status", "scale"],
            Printer::Deployment,
        ),
        b(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            true,
            &["rs"],
            &["status", "scale"],
            Printer::ReplicaSet,
        ),
        Builtin {
            field_labels: JOB_FIELDS,
            ..b(
                "batch",
                "v1",
                "Job",
                "jobs",
                true,
                &[],
                &["status"],
                Printer::Job,
            )
        },
        b(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            true,
            &["cj"],
            &["status"],
            Printer::CronJob,
        ),
        b(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
            &["hpa"],
            &["status"],
            Printer::Hpa,
        ),
        b(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
            &["pdb"],
            &["status"],
            Printer::Default,
        ),
        b(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            &["sa"],
            &[],
            Printer::Default,
        ),
        b(
            "",
            "v1",
            "Secret",
            "secrets",
            true,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "authorization.k8s.io",
            "v1",
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            false,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "authorization.k8s.io",
            "v1",
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            false,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "authentication.k8s.io",
            "v1",
            "SelfSubjectReview",
            "selfsubjectreviews",
            false,
            &[],
            &[],
            Printer::Default,
        ),
        b(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["crd", "crds"],
            &["status"],
            Printer::Default,
        ),
    ]
}

/// The served kinds, looked up by (group, version, plural).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: BTreeMap<(String, String, String), Arc<ResourceType>>,
}

impl Registry {
    pub fn with_builtins() -> Self {
        let mut registry = Registry::default();
        for b in builtins() {
            let singular = b.kind.to_lowercase();
            registry.insert(ResourceType {
                group: b.group.into(),
                version: b.version.into(),
                kind: b.kind.into(),
                plural: b.plural.into(),
                singular,
                namespaced: b.namespaced,
                short_names: b.short.iter().map(|s| s.to_string()).collect(),
                categories: if matches!(
                    b.kind,
                    "Pod"
                        | "Service"
                        | "Deployment"
                        | "ReplicaSet"
                        | "Job"
                        | "CronJob"
                        | "HorizontalPodAutoscaler"
                ) {
                    vec!["all".into()]
                } else {
                    vec![]
                },
                status: b.subresources.contains(&"status"),
                scale: b.subresources.contains(&"scale"),
                log: b.subresources.contains(&"log"),
                create_only: matches!(
                    b.kind,
                    "SelfSubjectAccessReview" | "SelfSubjectRulesReview" | "SelfSubjectReview"
                ),
                printer: b.printer,
                schema: None,
                field_labels: b.field_labels,
            });
        }
        registry
    }

    pub fn insert(&mut self, rt: ResourceType) {
        self.types.insert(
            (rt.group.clone(), rt.version.clone(), rt.plural.clone()),
            Arc::new(rt),
        );
    }

    /// Registers every served version of a CRD object; returns how many.
    pub fn register_crd(&mut self, crd: &Value) -> Result<usize, String> {
        let types = types_of_crd(crd)?;
        let n = types.len();
        for t in types {
            self.insert(t);
        }
        Ok(n)
    }

    /// Forgets the kinds a deleted CRD defined.
    pub fn unregister_crd(&mut self, crd: &Value) {
        if let Ok(types) = types_of_crd(crd) {
            for t in types {
                self.types.remove(&(t.group, t.version, t.plural));
            }
        }
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.types.values()
    }

    /// Groups in a stable order (core first) with their versions, preferred first.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in self.types.values() {
            let versions = groups.entry(t.group.clone()).or_default();
            if !versions.contains(&t.version) {
                versions.push(t.version.clone());
            }
        }
        groups.into_iter().collect()
    }
}

/// Checks a CRD as the apiserver does before serving it: named `<plural>.<group>`, a group
/// with a dot (so never a built-in group), and no kind already served by another definition.
pub fn check_crd(registry: &Registry, crd: &Value) -> Result<Vec<ResourceType>, String> {
    let types = types_of_crd(crd)?;
    let Some(first) = types.first() else {
        return Err("spec.versions: Invalid value: no served version".into());
    };
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let expected = format!("{}.{}", first.plural, first.group);
    if name != expected {
        return Err(format!(
            "metadata.name: Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"
        ));
    }
    if !first.group.contains('.') {
        return Err(format!(
            "spec.group: Invalid value: {:?}: should be a domain with at least one dot",
            first.group
        ));
    }
    for t in &types {
        if let Some(existing) = registry.get(&t.group, &t.version, &t.plural)
            && !existing.is_custom()
        {
            return Err(format!(
                "spec.names.plural: Invalid value: {:?}: {}/{} is served by a built-in kind",
                t.plural, t.group, t.version
            ));
        }
    }
    Ok(types)
}

/// The ResourceTypes a CRD object defines, one per served version.
pub fn types_of_crd(crd: &Value) -> Result<Vec<ResourceType>, String> {
    let spec = crd.get("spec").ok_or("spec is required")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let group = text(spec.get("group")).ok_or("spec.group is required")?;
    let names = spec.get("names").ok_or("spec.names is required")?;
    let kind = text(names.get("kind")).ok_or("spec.names.kind is required")?;
    let plural = text(names.get("plural")).ok_or("spec.names.plural is required")?;
    let singular = text(names.get("singular")).unwrap_or_else(|| kind.to_lowercase());
    let namespaced = match spec.get("scope").and_then(Value::as_str) {
        Some("Namespaced") => true,
        Some("Cluster") => false,
        _ => return Err("spec.scope must be Namespaced or Cluster".into()),
    };
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .ok_or("spec.versions is required")?;
    let mut out = Vec::new();
    for v in versions {
        if v.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let version = text(v.get("name")).ok_or("spec.versions[].name is required")?;
        let columns = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .filter_map(PrinterColumn::from_crd)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let subresources = v.get("subresources");
        let schema = v
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        out.push(ResourceType {
            group: group.clone(),
            version,
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced,
            short_names: list(names.get("shortNames")),
            categories: list(names.get("categories")),
            status: subresources.and_then(|s| s.get("status")).is_some(),
            scale: subresources.and_then(|s| s.get("scale")).is_some(),
            log: false,
            create_only: false,
            printer: if columns.is_empty() {
                Printer::Default
            } else {
                Printer::Custom(columns)
            },
            schema: Some(schema),
            field_labels: &[],
        });
    }
    Ok(out)
}

/// The CRD manifests shipped in `config/crds/`, compiled in.
pub const BUNDLED_CRDS: &[(&str, &str)] = &[
    (
        "config/crds/model.yaml",
        include_str!("../../../config/crds/model.yaml"),
    ),
    (
        "config/crds/modelversion.yaml",
        include_str!("../../../config/crds/modelversion.yaml"),
    ),
    (
        "config/crds/kueue.yaml",
        include_str!("../../../config/crds/kueue.yaml"),
    ),
    (
        "config/crds/gateway.yaml",
        include_str!("../../../config/crds/gateway.yaml"),
    ),
];

/// Parses the bundled manifests (several YAML documents per file) into CRD objects.
pub fn bundled_crds() -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (path, text) in BUNDLED_CRDS {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(text).map_err(|e| format!("{path}: {e}"))?;
        out.extend(docs.into_iter().filter(|d| !d.is_null()));
    }
    Ok(out)
}
