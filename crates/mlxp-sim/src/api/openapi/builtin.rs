//! Component schemas of the built-in kinds, generated from k8s-openapi's `JsonSchema` impls (its
//! `schemars` feature) with OpenAPI 3.0 settings: every definition a kind references lands under
//! `#/components/schemas/<name>`, named as the real apiserver names it (`io.k8s.api.core.v1.Pod`),
//! and a `$ref` with a description beside it becomes `allOf: [{$ref}]` as there.
//!
//! A group version's schemas are generated the first time its document is asked for, then kept
//! for the life of the process: core v1 is large.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use k8s_openapi::Resource;
use k8s_openapi::api::authentication::v1 as authn;
use k8s_openapi::api::authorization::v1 as authz;
use k8s_openapi::api::{apps, autoscaling, batch, coordination, core};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use k8s_openapi::schemars::JsonSchema;
use k8s_openapi::schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

/// One built-in kind: where it is served, and how to add its schema to a generator.
struct Kind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    /// Adds the kind's schema and all it references; returns the kind's schema name.
    generate: fn(&mut SchemaGenerator) -> String,
}

const fn kind<K: Resource + JsonSchema>() -> Kind {
    Kind {
        group: K::GROUP,
        version: K::VERSION,
        kind: K::KIND,
        generate: generate::<K>,
    }
}

fn generate<K: JsonSchema>(generator: &mut SchemaGenerator) -> String {
    generator.subschema_for::<K>();
    K::schema_name().into_owned()
}

/// The built-in kinds (as in `Registry::with_builtins` and `body.rs`).
const KINDS: &[Kind] = &[
    kind::<core::v1::Namespace>(),
    kind::<core::v1::Node>(),
    kind::<core::v1::Pod>(),
    kind::<core::v1::Event>(),
    kind::<core::v1::Service>(),
    kind::<core::v1::ConfigMap>(),
    kind::<apps::v1::Deployment>(),
    kind::<apps::v1::ReplicaSet>(),
    kind::<batch::v1::Job>(),
    kind::<batch::v1::CronJob>(),
    kind::<autoscaling::v2::HorizontalPodAutoscaler>(),
    kind::<coordination::v1::Lease>(),
    kind::<authz::SelfSubjectAccessReview>(),
    kind::<authn::SelfSubjectReview>(),
    kind::<apiext::CustomResourceDefinition>(),
];

/// The built-in part of one group version's document.
pub struct Components {
    /// Kind -> the name of its top-level schema in `schemas`.
    pub names: BTreeMap<&'static str, String>,
    /// Every schema the kinds need, by name.
    pub schemas: Map<String, Value>,
}

type Cache = BTreeMap<(&'static str, &'static str), OnceLock<Components>>;

/// The built-in schemas of a group version, generated on first use; None if it has no built-in
/// kind.
pub fn components(group: &str, version: &str) -> Option<&'static Components> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        KINDS
            .iter()
            .map(|k| ((k.group, k.version), OnceLock::new()))
            .collect()
    });
    let (&(group, version), cell) = cache
        .iter()
        .find(|((g, v), _)| *g == group && *v == version)?;
    Some(cell.get_or_init(|| build(group, version)))
}

fn build(group: &str, version: &str) -> Components {
    let started = Instant::now();
    let mut generator = SchemaSettings::openapi3().into_generator();
    let mut names = BTreeMap::new();
    for k in KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        names.insert(k.kind, (k.generate)(&mut generator));
    }
    let mut schemas = generator.take_definitions(true);
    for (kind, name) in &names {
        let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) else {
            continue;
        };
        schema.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": group, "version": version, "kind": kind}]),
        );
        // k8s-openapi lists `metadata` as required (its field is not an Option); the apiserver
        // does not, and `kubectl explain` would say so.
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|field| field != "metadata");
            if required.is_empty() {
                schema.remove("required");
            }
        }
    }
    tracing::debug!(
        group,
        version,
        schemas = schemas.len(),
        elapsed = ?started.elapsed(),
        "generated the built-in OpenAPI schemas"
    );
    Components { names, schemas }
}
