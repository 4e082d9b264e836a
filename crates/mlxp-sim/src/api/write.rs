//! Writes: create, update, patch (merge, JSON, strategic, apply), delete with garbage
//! collection, deletecollection, and the subresources status and scale.

use std::sync::Arc;

use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};

use super::body;
use super::ownership::{self, Ownership, WriteInfo};
use super::request::{Context, FieldValidation};
use super::status::ApiError;
use super::{ApiState, Body, User, bytes_response, json_response};
use crate::patch::{self, FieldOwners, PatchError};
use crate::resources::{Registry, ResourceType, StoreKey};
use crate::store::{StoredObject, Tx};
use crate::validate;
use crate::{clock, ids};

fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

fn meta_mut(object: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    match object.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        // Just made sure it is an object.
        _ => unreachable!("metadata was set to an object above"),
    }
}

/// Name and metadata checks every stored object passes (422 otherwise).
fn validate_metadata(rt: &ResourceType, object: &Value) -> Result<(), ApiError> {
    let name = meta_str(object, "name").unwrap_or("");
    let label_only = matches!(rt.kind.as_str(), "Namespace" | "Service");
    let mut causes = Vec::new();
    if name.is_empty() {
        causes.push((
            "metadata.name".to_string(),
            "Required value: name or generateName is required".to_string(),
        ));
    } else if let Some(message) = validate::name_error(name, label_only) {
        causes.push((
            "metadata.name".to_string(),
            format!("Invalid value: {name:?}: {message}"),
        ));
    }
    if let Some(meta) = object.get("metadata") {
        causes.extend(validate::metadata_errors(meta));
        causes.extend(owner_reference_errors(meta));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&rt.kind, &rt.group, name, causes))
    }
}

/// The spec checks of the object's kind: a malformed quantity fails as the decoder fails it
/// (400), the rest as validation does (422, every cause listed).
fn check_spec(rt: &ResourceType, object: &Value) -> Result<(), ApiError> {
    if super::invalid::bad_quantity(&rt.group, &rt.kind, object) {
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {}",
            rt.kind,
            rt.version,
            rt.kind,
            super::invalid::QUANTITY_FORMAT
        )));
    }
    let causes = super::invalid::causes(&rt.group, &rt.kind, object);
    if causes.is_empty() {
        return Ok(());
    }
    let name = meta_str(object, "name").unwrap_or("");
    Err(ApiError::invalid(&rt.kind, &rt.group, name, causes))
}

/// Every ownerReference names its owner fully, as garbage collection needs.
fn owner_reference_errors(meta: &Value) -> Vec<(String, String)> {
    let Some(refs) = meta.get("ownerReferences").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut causes = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        for field in ["apiVersion", "kind", "name", "uid"] {
            if r.get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                causes.push((
                    format!("metadata.ownerReferences[{i}].{field}"),
                    "Required value".to_string(),
                ));
            }
        }
    }
    causes
}

fn respond(code: StatusCode, object: &Value, warnings: &[String]) -> Response<Body> {
    let mut response = json_response(code, object);
    add_warnings(&mut response, warnings);
    response
}

fn add_warnings(response: &mut Response<Body>, warnings: &[String]) {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('"', "'"));
        if let Ok(value) = header::HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
}

fn stored_response(code: StatusCode, stored: &StoredObject, warnings: &[String]) -> Response<Body> {
    let mut response = bytes_response(code, stored.served());
    add_warnings(&mut response, warnings);
    response
}

/// Sets the namespace from the URL (checking the body agrees), or clears it for cluster kinds.
fn place(rt: &ResourceType, object: &mut Value, namespace: &str) -> Result<(), ApiError> {
    let meta = meta_mut(object);
    // Go zero values a protobuf body carries (`generateName: ""`, `selfLink: ""`) and a
    // JSON body's nulls are unset to the apiserver, which never shows them.
    meta.retain(|_, v| !(v.is_null() || v.as_str() == Some("")));
    if rt.namespaced {
        match meta.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != namespace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                meta.insert("namespace".into(), json!(namespace));
            }
        }
    } else {
        meta.remove("namespace");
    }
    Ok(())
}

pub fn create(ctx: &Context, bytes: &[u8]) -> Result<Response<Body>, ApiError> {
    let mut object = body::decode_strict(bytes, &ctx.content_type, ctx.query.field_validation)?;
    if ctx.rt.create_only {
        return match ctx.rt.kind.as_str() {
            "SelfSubjectReview" => self_review(ctx, object),
            "SelfSubjectRulesReview" => rules_review(ctx, object),
            _ => access_review(ctx, object),
        };
    }
    let warnings = body::check_object(&ctx.rt, &mut object, ctx.query.field_validation)?;
    place(&ctx.rt, &mut object, ctx.namespace())?;
    let meta = meta_mut(&mut object);
    if meta
        .get("resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|rv| !rv.is_empty())
    {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let has_name = meta
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !has_name && let Some(prefix) = meta.get("generateName").and_then(Value::as_str) {
        let name = format!(
            "{prefix}{}",
            ctx.state.random_for_requests(ids::name_suffix)
        );
        meta.insert("name".into(), json!(name));
    }
    validate_metadata(&ctx.rt, &object)?;
    check_crd(ctx, &object)?;
    let info = WriteInfo::of(ctx);
    let stored = ctx.state.store.transact(|tx| {
        insert_new(
            tx,
            &ctx.state,
            &ctx.rt,
            object,
            Some(Ownership::Update(&info)),
            ctx.query.dry_run,
        )
    })?;
    Ok(respond(StatusCode::CREATED, &stored, &warnings))
}

/// A CRD must be servable before it is stored; other kinds pass.
fn check_crd(ctx: &Context, object: &Value) -> Result<(), ApiError> {
    if ctx.rt.kind != "CustomResourceDefinition" {
        return Ok(());
    }
    crate::resources::check_crd(&ctx.state.registry(), object)
        .map(|_| ())
        .map_err(|e| {
            let (field, message) = e.split_once(": ").unwrap_or(("spec", &e));
            ApiError::invalid(
                &ctx.rt.kind,
                &ctx.rt.group,
                meta_str(object, "name").unwrap_or(""),
                vec![(field.to_string(), message.to_string())],
            )
        })
}

/// Stores a new object (or, in dry run, returns what would be stored). `ownership` is
/// `None` for the server's own objects, which carry no managedFields.
fn insert_new(
    tx: &mut Tx<'_>,
    state: &ApiState,
    rt: &ResourceType,
    mut object: Value,
    ownership: Option<Ownership<'_>>,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let internal = ownership.is_none();
    let name = meta_str(&object, "name").unwrap_or("").to_string();
    let namespace = meta_str(&object, "namespace").unwrap_or("").to_string();
    if rt.namespaced {
        match tx.get(&namespaces_key(), "", &namespace) {
            None => return Err(ApiError::not_found("", "namespaces", &namespace)),
            Some(ns) if super::namespaces::terminating(&ns.value()) => {
                return Err(super::namespaces::refuse_new_content(
                    &rt.plural, &name, &namespace,
                ));
            }
            Some(_) => {}
        }
    }
    if tx.get(&rt.store_key(), &namespace, &name).is_some() {
        return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
    }
    let uid = if internal {
        state.random(ids::uid)
    } else {
        state.random_for_requests(ids::uid)
    };
    let meta = meta_mut(&mut object);
    meta.insert("uid".into(), json!(uid));
    // The server's own seeding may write history (objects made before it started).
    let seeded_at = meta
        .get("creationTimestamp")
        .and_then(Value::as_str)
        .filter(|_| internal)
        .and_then(clock::parse);
    meta.insert(
        "creationTimestamp".into(),
        json!(clock::timestamp(
            seeded_at.unwrap_or_else(|| state.clock.now())
        )),
    );
    meta.insert("generation".into(), json!(1));
    meta.remove("deletionTimestamp");
    let sent = meta.remove("managedFields");
    ownership::check_sent(rt, &name, sent.as_ref())?;
    let mut cluster_ip = || free_cluster_ip(tx);
    super::defaults::apply(
        &rt.group,
        &rt.kind,
        &mut object,
        Some(super::defaults::Created {
            uid: &uid,
            cluster_ip: &mut cluster_ip,
        }),
    );
    check_spec(rt, &object)?;
    // Status the apiserver itself gives new objects of these kinds.
    let initial_phase = match rt.kind.as_str() {
        "Namespace" => Some("Active"),
        "Pod" => Some("Pending"),
        _ => None,
    };
    if let Some(phase) = initial_phase
        && object.pointer("/status/phase").is_none()
    {
        if !object.get("status").is_some_and(Value::is_object) {
            object["status"] = json!({});
        }
        object["status"]["phase"] = json!(phase);
    }
    match ownership {
        Some(Ownership::Update(info)) => {
            let mut owners = ownership::starting_owners(None, sent.as_ref(), false);
            owners.record_update(None, &object, &info.writer(), info.scope(rt));
            ownership::stamp(&mut object, &owners);
        }
        Some(Ownership::Applied(owners)) => ownership::stamp(&mut object, &owners),
        None => {
            let owners = ownership::creators(rt, &object);
            ownership::stamp(&mut object, &owners);
        }
    }
    if dry_run {
        return Ok(object);
    }
    if rt.kind == "CustomResourceDefinition" {
        let _ = state.registry_mut().register_crd(&object);
    }
    Ok(tx.put(rt, object).value())
}

/// The first address of the service range (10.96.0.0/16, after the ten a cluster keeps for
/// itself) no Service holds.
fn free_cluster_ip(tx: &Tx<'_>) -> String {
    let services = StoreKey {
        group: String::new(),
        plural: "services".into(),
    };
    let used: std::collections::HashSet<String> = tx
        .names(&services, None)
        .into_iter()
        .filter_map(|(ns, name)| tx.get(&services, &ns, &name))
        .filter_map(|s| s.value()["spec"]["clusterIP"].as_str().map(String::from))
        .collect();
    (10..65_535u32)
        .map(|n| format!("10.96.{}.{}", n / 256, n % 256))
        .find(|ip| !used.contains(ip))
        .unwrap_or_else(|| "10.96.255.254".into())
}

fn namespaces_key() -> StoreKey {
    StoreKey {
        group: String::new(),
        plural: "namespaces".into(),
    }
}

/// Creates an object on the server's own behalf (seeding, controllers).
pub fn create_internal(state: &ApiState, mut object: Value) -> Result<Value, ApiError> {
    let api_version = object["apiVersion"].as_str().unwrap_or("").to_string();
    let kind = object["kind"].as_str().unwrap_or("").to_string();
    let rt = state
        .registry()
        .all()
        .find(|t| t.api_version() == api_version && t.kind == kind)
        .cloned()
        .ok_or_else(|| ApiError::bad_request(format!("no kind {kind} in {api_version}")))?;
    let namespace = meta_str(&object, "namespace")
        .unwrap_or("default")
        .to_string();
    place(&rt, &mut object, &namespace)?;
    validate_metadata(&rt, &object)?;
    state
        .store
        .transact(|tx| insert_new(tx, state, &rt, object, None, false))
}

/// SelfSubjectAccessReview: what the caller's token may do. Nothing is stored.
fn access_review(ctx: &Context, mut review: Value) -> Result<Response<Body>, ApiError> {
    body::check_object(&ctx.rt, &mut review, FieldValidation::Ignore)?;
    let verb = review
        .pointer("/spec/resourceAttributes/verb")
        .or_else(|| review.pointer("/spec/nonResourceAttributes/verb"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let read = matches!(verb.as_str(), "get" | "list" | "watch");
    let allowed = ctx.user == User::Admin || read;
    review["status"] = if allowed {
        json!({"allowed": true, "reason": format!("{} may {verb}", ctx.user.name())})
    } else {
        json!({"allowed": false, "denied": true, "reason": format!("{} is read-only", ctx.user.name())})
    };
    Ok(json_response(StatusCode::CREATED, &review))
}

/// SelfSubjectRulesReview: everything the caller's token may do (`kubectl auth can-i
/// --list`) — the admin anything, the read-only user get, list and watch. Nothing is stored.
fn rules_review(ctx: &Context, mut review: Value) -> Result<Response<Body>, ApiError> {
    body::check_object(&ctx.rt, &mut review, FieldValidation::Ignore)?;
    let (verbs, non_resource): (Value, Value) = match ctx.user {
        User::Admin => (
            json!(["*"]),
            json!([{"verbs": ["*"], "nonResourceURLs": ["*"]}]),
        ),
        User::ReadOnly => (
            json!(["get", "list", "watch"]),
            json!([{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version", "/openapi/*"]}]),
        ),
    };
    review["status"] = json!({
        "resourceRules": [{"verbs": verbs, "apiGroups": ["*"], "resources": ["*"]}],
        "nonResourceRules": non_resource,
        "incomplete": false,
    });
    Ok(json_response(StatusCode::CREATED, &review))
}

/// SelfSubjectReview: who the caller's token is (`kubectl auth whoami`). Nothing is stored.
fn self_review(ctx: &Context, mut review: Value) -> Result<Response<Body>, ApiError> {
    body::check_object(&ctx.rt, &mut review, FieldValidation::Ignore)?;
    review["status"] = json!({"userInfo": {
        "username": ctx.user.name(),
        "groups": ["system:authenticated"],
    }});
    Ok(json_response(StatusCode::CREATED, &review))
}

pub fn update(ctx: &Context, bytes: &[u8]) -> Result<Response<Body>, ApiError> {
    let body = body::decode_strict(bytes, &ctx.content_type, ctx.query.field_validation)?;
    let name = ctx.target.name.clone().unwrap_or_default();
    if ctx.target.subresource.as_deref() == Some("scale") {
        return scale_update(ctx, |_| Ok(body));
    }
    let mut object = body;
    let warnings = body::check_object(&ctx.rt, &mut object, ctx.query.field_validation)?;
    if meta_str(&object, "name").is_some_and(|n| n != name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            meta_str(&object, "name").unwrap_or("")
        )));
    }
    meta_mut(&mut object).insert("name".into(), json!(name));
    place(&ctx.rt, &mut object, ctx.namespace())?;
    let info = WriteInfo::of(ctx);
    let result = ctx.state.store.transact(|tx| {
        let old = tx
            .get(&ctx.rt.store_key(), ctx.namespace(), &name)
            .ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, &name))?;
        if let Some(rv) = meta_str(&object, "resourceVersion")
            && !rv.is_empty()
            && rv != old.rv.to_string()
        {
            return Err(ApiError::conflict(&ctx.rt.group, &ctx.rt.plural, &name));
        }
        commit(ctx, tx, &old, object, Ownership::Update(&info))
    })?;
    Ok(respond(StatusCode::OK, &result, &warnings))
}

/// Turns the requested new state into what is stored: status or spec kept per subresource,
/// server-owned metadata carried over, generation bumped on spec changes; no-ops stay no-ops.
fn commit(
    ctx: &Context,
    tx: &mut Tx<'_>,
    old: &StoredObject,
    requested: Value,
    ownership: Ownership<'_>,
) -> Result<Value, ApiError> {
    let old_value = old.value();
    let mut new = match ctx.target.subresource.as_deref() {
        Some("status") => {
            let mut merged = old_value.clone();
            merged["status"] = requested.get("status").cloned().unwrap_or(Value::Null);
            if merged["status"].is_null()
                && let Some(m) = merged.as_object_mut()
            {
                m.remove("status");
            }
            merged
        }
        _ if ctx.rt.status => {
            let mut merged = requested;
            match old_value.get("status") {
                Some(status) => merged["status"] = status.clone(),
                None => {
                    if let Some(m) = merged.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            merged
        }
        _ => requested,
    };
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        let meta = meta_mut(&mut new);
        match old_value.get("metadata").and_then(|m| m.get(field)) {
            Some(v) => meta.insert(field.into(), v.clone()),
            None => meta.remove(field),
        };
    }
    let sent = meta_mut(&mut new).remove("managedFields");
    if ctx.target.subresource.is_none() {
        keep_allocated(&ctx.rt.kind, &old_value, &mut new);
        super::defaults::apply(&ctx.rt.group, &ctx.rt.kind, &mut new, None);
        check_spec(&ctx.rt, &new)?;
    }
    validate_metadata(&ctx.rt, &new)?;
    let spec_changed =
        without(&old_value, &["metadata", "status"]) != without(&new, &["metadata", "status"]);
    if spec_changed {
        let generation = old_value
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        meta_mut(&mut new).insert("generation".into(), json!(generation + 1));
    }
    meta_mut(&mut new).insert("resourceVersion".into(), json!(old.rv.to_string()));
    let owners = match ownership {
        Ownership::Applied(owners) => owners,
        Ownership::Update(info) => {
            let subresource = !info.subresource.is_empty();
            if !subresource {
                ownership::check_sent(&ctx.rt, &old.name, sent.as_ref())?;
            }
            let mut owners =
                ownership::starting_owners(Some(&old_value), sent.as_ref(), subresource);
            owners.record_update(Some(&old_value), &new, &info.writer(), info.scope(&ctx.rt));
            owners
        }
    };
    ownership::stamp(&mut new, &owners);
    if new == old_value {
        return Ok(old_value);
    }
    if ctx.query.dry_run {
        return Ok(new);
    }
    if ctx.rt.kind == "CustomResourceDefinition" && ctx.target.subresource.is_none() {
        check_crd(ctx, &new)?;
        let mut registry = ctx.state.registry_mut();
        registry.unregister_crd(&old_value);
        let _ = registry.register_crd(&new);
    }
    if super::finalizers::being_deleted(&old_value) {
        super::finalizers::check_update(&old_value, &new, &ctx.rt.kind, &ctx.rt.group)?;
    }
    let stored = tx.put(&ctx.rt, new);
    // The last finalizer of an object being deleted taken off: now it goes.
    if super::finalizers::being_deleted(&old_value) && !super::finalizers::holds(&stored.value()) {
        let registry = ctx.state.registry().clone();
        return Ok(remove(
            tx,
            &ctx.state,
            &registry,
            &ctx.rt,
            &stored,
            Propagation::Cascade,
        )
        .value());
    }
    Ok(stored.value())
}

/// What a create gave and an update leaves out is kept, as the apiserver keeps it: a
/// Service's cluster IPs, a Job's selector and the labels that tie its pods to it.
fn keep_allocated(kind: &str, old: &Value, new: &mut Value) {
    let fields: &[&str] = match kind {
        "Service" => &["/spec/clusterIP", "/spec/clusterIPs"],
        "Job" => &["/spec/selector", "/spec/template/metadata/labels"],
        _ => return,
    };
    for path in fields {
        let unset = new
            .pointer(path)
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""));
        if let (true, Some(kept)) = (unset, old.pointer(path)) {
            let (parent, field) = path.rsplit_once('/').unwrap_or(("", path));
            let mut at = &mut *new;
            for part in parent.split('/').filter(|p| !p.is_empty()) {
                if !at[part].is_object() {
                    at[part] = serde_json::json!({});
                }
                at = &mut at[part];
            }
            at[field] = kept.clone();
        }
    }
}

fn without(object: &Value, keys: &[&str]) -> Value {
    let mut copy = object.clone();
    if let Some(m) = copy.as_object_mut() {
        for k in keys {
            m.remove(*k);
        }
    }
    copy
}

/// `scale` subresource writes: the new Scale is computed from the current one by `f`.
fn scale_update(
    ctx: &Context,
    f: impl FnOnce(Value) -> Result<Value, ApiError>,
) -> Result<Response<Body>, ApiError> {
    let name = ctx.target.name.clone().unwrap_or_default();
    let info = WriteInfo::of(ctx);
    let result = ctx.state.store.transact(|tx| {
        let old = tx
            .get(&ctx.rt.store_key(), ctx.namespace(), &name)
            .ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, &name))?;
        let old_value = old.value();
        let scale = f(super::read::scale_of(&old_value))?;
        let replicas = scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .filter(|r| *r >= 0)
            .ok_or_else(|| ApiError::bad_request("spec.replicas must be a non-negative integer"))?;
        let mut new = old_value.clone();
        new["spec"]["replicas"] = json!(replicas);
        let full = Context {
            target: super::request::Target {
                subresource: None,
                ..ctx.target.clone()
            },
            state: ctx.state.clone(),
            rt: ctx.rt.clone(),
            query: ctx.query.clone(),
            accept: String::new(),
            content_type: String::new(),
            user_agent: ctx.user_agent.clone(),
            user: ctx.user,
        };
        commit(&full, tx, &old, new, Ownership::Update(&info))
    })?;
    Ok(json_response(
        StatusCode::OK,
        &super::read::scale_of(&result),
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PatchKind {
    Merge,
    Json,
    Strategic,
    Apply,
}

fn patch_kind(content_type: &str, rt: &ResourceType) -> Result<PatchKind, ApiError> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    match media {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/strategic-merge-patch+json" if rt.is_custom() => {
            Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json is not supported for custom resources",
            ))
        }
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchKind::Apply),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

fn patch_error(e: PatchError) -> ApiError {
    match e {
        PatchError::Conflict { .. } => {
            let causes = e.conflicts();
            ApiError::apply_conflict(e.to_string(), causes)
        }
        other => ApiError::invalid_patch(other.to_string()),
    }
}

impl ApiError {
    fn invalid_patch(message: String) -> Self {
        ApiError {
            code: 422,
            reason: "Invalid",
            message,
            details: None,
        }
    }
}

pub fn patch(ctx: &Context, bytes: &[u8]) -> Result<Response<Body>, ApiError> {
    let kind = patch_kind(&ctx.content_type, &ctx.rt)?;
    let patch_body = body::decode(
        bytes,
        if kind == PatchKind::Apply {
            "yaml"
        } else {
            "json"
        },
    )?;
    if ctx.target.subresource.as_deref() == Some("scale") {
        return scale_update(ctx, |scale| apply_patch(kind, scale, &patch_body, None));
    }
    let name = ctx.target.name.clone().unwrap_or_default();
    if kind == PatchKind::Apply && ctx.query.field_manager.is_none() {
        return Err(ApiError::invalid_patch(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into(),
        ));
    }
    let info = WriteInfo::of(ctx);
    let mut warnings = Vec::new();
    let result = ctx.state.store.transact(|tx| {
        let Some(old) = tx.get(&ctx.rt.store_key(), ctx.namespace(), &name) else {
            if kind != PatchKind::Apply || ctx.target.subresource.is_some() {
                return Err(ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, &name));
            }
            // Apply creates what does not exist yet.
            let mut owners = FieldOwners::default();
            let mut object = owners
                .apply(None, &patch_body, &info.writer(), ctx.query.force)
                .map_err(patch_error)?;
            warnings = body::check_object(&ctx.rt, &mut object, ctx.query.field_validation)?;
            meta_mut(&mut object).insert("name".into(), json!(name));
            place(&ctx.rt, &mut object, ctx.namespace())?;
            validate_metadata(&ctx.rt, &object)?;
            let created = insert_new(
                tx,
                &ctx.state,
                &ctx.rt,
                object,
                Some(Ownership::Applied(owners)),
                ctx.query.dry_run,
            )?;
            return Ok((StatusCode::CREATED, created));
        };
        let old_value = old.value();
        let mut owners = (kind == PatchKind::Apply)
            .then(|| ownership::starting_owners(Some(&old_value), None, true));
        let mut new = apply_patch(
            kind,
            old_value.clone(),
            &patch_body,
            owners.as_mut().map(|o| (o, info.writer(), ctx.query.force)),
        )?;
        warnings = body::check_object(&ctx.rt, &mut new, ctx.query.field_validation)?;
        for field in ["name", "namespace", "uid"] {
            if meta_str(&new, field) != meta_str(&old_value, field)
                && meta_str(&new, field).is_some()
            {
                return Err(ApiError::invalid_patch(format!(
                    "metadata.{field}: Invalid value: field is immutable"
                )));
            }
        }
        if let Some(rv) = meta_str(&new, "resourceVersion")
            && rv != old.rv.to_string()
        {
            return Err(ApiError::conflict(&ctx.rt.group, &ctx.rt.plural, &name));
        }
        let meta = meta_mut(&mut new);
        meta.insert("name".into(), json!(name));
        if ctx.rt.namespaced {
            meta.insert("namespace".into(), json!(ctx.namespace()));
        }
        let ownership = match owners {
            Some(applied) => Ownership::Applied(applied),
            None => Ownership::Update(&info),
        };
        let stored = commit(ctx, tx, &old, new, ownership)?;
        Ok((StatusCode::OK, stored))
    })?;
    Ok(respond(result.0, &result.1, &warnings))
}

fn apply_patch(
    kind: PatchKind,
    mut target: Value,
    patch_body: &Value,
    owners: Option<(&mut FieldOwners, patch::Writer<'_>, bool)>,
) -> Result<Value, ApiError> {
    match kind {
        PatchKind::Merge => {
            if !patch_body.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            patch::merge_patch(&mut target, patch_body);
        }
        PatchKind::Json => patch::json_patch(&mut target, patch_body).map_err(patch_error)?,
        PatchKind::Strategic => {
            patch::strategic_merge(&mut target, patch_body).map_err(patch_error)?
        }
        PatchKind::Apply => {
            let mut scratch = FieldOwners::default();
            let unknown = patch::Writer {
                manager: "unknown",
                api_version: "",
                subresource: "",
                time: "",
            };
            let (owners, writer, force) = match owners {
                Some(o) => o,
                None => (&mut scratch, unknown, true),
            };
            target = owners
                .apply(Some(&target), patch_body, &writer, force)
                .map_err(patch_error)?;
        }
    }
    Ok(target)
}

/// Propagation of a delete to dependents, as `propagationPolicy` says.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Propagation {
    Orphan,
    Cascade,
}

fn propagation(ctx: &Context, options: &Value) -> Result<Propagation, ApiError> {
    let policy = ctx
        .query
        .propagation_policy
        .clone()
        .or_else(|| options.get("propagationPolicy")?.as_str().map(String::from))
        .or_else(|| {
            options
                .get("orphanDependents")?
                .as_bool()
                .map(|o| if o { "Orphan" } else { "Background" }.to_string())
        });
    match policy.as_deref() {
        Some("Orphan") => Ok(Propagation::Orphan),
        Some("Background") | Some("Foreground") => Ok(Propagation::Cascade),
        // batch/v1 Jobs and CronJobs orphan by default, for compatibility, as in Kubernetes.
        None if ctx.rt.group == "batch" => Ok(Propagation::Orphan),
        None => Ok(Propagation::Cascade),
        Some(other) => Err(ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
        ))),
    }
}

fn delete_options(ctx: &Context, bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let options = body::decode(bytes, &ctx.content_type)?;
    if !options.is_object() {
        return Err(ApiError::bad_request("DeleteOptions must be an object"));
    }
    if options
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        // Same meaning as ?dryRun=All.
        return Ok(json!({"dryRun": true, "options": options}));
    }
    Ok(options)
}

pub fn delete(ctx: &Context, bytes: &[u8]) -> Result<Response<Body>, ApiError> {
    let options = delete_options(ctx, bytes)?;
    let dry_run = ctx.query.dry_run || options.get("dryRun") == Some(&json!(true));
    let options = options.get("options").cloned().unwrap_or(options);
    let policy = propagation(ctx, &options)?;
    let name = ctx.target.name.clone().unwrap_or_default();
    let deleted = ctx.state.store.transact(|tx| {
        let current = tx
            .get(&ctx.rt.store_key(), ctx.namespace(), &name)
            .ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, &name))?;
        let pre = options.get("preconditions");
        let uid_ok = pre
            .and_then(|p| p.get("uid"))
            .and_then(Value::as_str)
            .is_none_or(|uid| uid == &*current.uid);
        let rv_ok = pre
            .and_then(|p| p.get("resourceVersion"))
            .and_then(Value::as_str)
            .is_none_or(|rv| rv == current.rv.to_string());
        if !uid_ok || !rv_ok {
            return Err(ApiError::conflict(&ctx.rt.group, &ctx.rt.plural, &name));
        }
        let value = current.value();
        if ctx.rt.group.is_empty() && ctx.rt.kind == "Namespace" {
            if dry_run {
                return Ok(current);
            }
            let registry = ctx.state.registry().clone();
            return Ok(super::namespaces::delete(
                tx, &ctx.state, &registry, &ctx.rt, &current,
            ));
        }
        let pod = ctx.rt.group.is_empty() && ctx.rt.kind == "Pod";
        if let Some(grace) = super::graceful::pod_grace(&value, &options).filter(|_| pod) {
            // Terminating: the kubelet removes it once its containers have stopped.
            let now = ctx.state.clock.now();
            return Ok(match super::graceful::terminating(&value, now, grace) {
                Some(marked) if !dry_run => tx.put(&ctx.rt, marked),
                _ => current,
            });
        }
        if super::finalizers::holds(&value) {
            // Marked, not removed: it goes when its finalizers are taken off.
            let now = crate::clock::timestamp(ctx.state.clock.now());
            let marked = super::finalizers::marked(value, &now);
            return Ok(
                if dry_run || super::finalizers::being_deleted(&current.value()) {
                    current
                } else {
                    tx.put(&ctx.rt, marked)
                },
            );
        }
        if dry_run {
            return Ok(current);
        }
        let registry = ctx.state.registry().clone();
        Ok(remove(tx, &ctx.state, &registry, &ctx.rt, &current, policy))
    })?;
    Ok(stored_response(StatusCode::OK, &deleted, &[]))
}

pub fn delete_collection(ctx: &Context, bytes: &[u8]) -> Result<Response<Body>, ApiError> {
    let options = delete_options(ctx, bytes)?;
    let dry_run = ctx.query.dry_run || options.get("dryRun") == Some(&json!(true));
    let options = options.get("options").cloned().unwrap_or(options);
    let policy = propagation(ctx, &options)?;
    let chosen = ctx
        .state
        .store
        .list(
            &ctx.rt.store_key(),
            ctx.target.namespace.as_deref(),
            None,
            None,
            |o| {
                ctx.query.label_selector.matches(|k| o.label(k))
                    && ctx.query.field_selector.matches(|f| o.field(f))
            },
        )
        .items;
    let registry = ctx.state.registry().clone();
    let items: Vec<Value> = ctx.state.store.transact(|tx| {
        chosen
            .iter()
            .filter_map(|o| {
                let current = tx.get(&ctx.rt.store_key(), &o.namespace, &o.name)?;
                if dry_run {
                    return Some(current.value());
                }
                Some(remove(tx, &ctx.state, &registry, &ctx.rt, &current, policy).value())
            })
            .collect()
    });
    let list = json!({
        "kind": ctx.rt.list_kind(),
        "apiVersion": ctx.rt.api_version(),
        "metadata": {"resourceVersion": ctx.state.store.resource_version().to_string()},
        "items": items,
    });
    Ok(json_response(StatusCode::OK, &list))
}

/// Deletes an object and handles what hangs off it: dependents (garbage collection or
/// orphaning), a namespace's contents, a CRD's kind and objects.
pub(super) fn remove(
    tx: &mut Tx<'_>,
    state: &ApiState,
    registry: &Registry,
    rt: &ResourceType,
    object: &Arc<StoredObject>,
    policy: Propagation,
) -> Arc<StoredObject> {
    // Under the transaction the object is still there; fall back to it all the same.
    let deleted = tx
        .delete(rt, &object.namespace, &object.name)
        .unwrap_or_else(|| object.clone());
    let type_of = |key: &StoreKey| registry.all().find(|t| t.store_key() == *key).cloned();
    // Worklist instead of recursion: ownership chains are as deep as users make them.
    let mut work = vec![deleted.uid.to_string()];
    while let Some(owner_uid) = work.pop() {
        for (key, dependent) in tx.dependents(&owner_uid) {
            let Some(dep_rt) = type_of(&key) else {
                continue;
            };
            if policy == Propagation::Orphan {
                let mut value = dependent.value();
                if let Some(refs) = value
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(&*owner_uid));
                }
                tx.put(&dep_rt, value);
            } else if tx
                .delete(&dep_rt, &dependent.namespace, &dependent.name)
                .is_some()
            {
                work.push(dependent.uid.to_string());
            }
        }
    }
    if rt.kind == "Namespace" {
        let namespaced: Vec<Arc<ResourceType>> =
            registry.all().filter(|t| t.namespaced).cloned().collect();
        for t in namespaced {
            for (ns, name) in tx.names(&t.store_key(), Some(&object.name)) {
                tx.delete(&t, &ns, &name);
            }
        }
    }
    if rt.kind == "CustomResourceDefinition" {
        let value = deleted.value();
        if let Ok(types) = crate::resources::types_of_crd(&value) {
            for t in types {
                for (ns, name) in tx.names(&t.store_key(), None) {
                    tx.delete(&t, &ns, &name);
                }
            }
        }
        state.registry_mut().unregister_crd(&value);
    }
    deleted
}
