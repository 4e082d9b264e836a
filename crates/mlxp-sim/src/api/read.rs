//! Reads: get, list (selectors, paging), watch, pod logs.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::wrappers::ReceiverStream;

use super::request::Context;
use super::status::ApiError;
use super::{Body, bytes_response, json_response};
use crate::store::{ChangeType, StoredObject};
use crate::table;

/// What each Table row carries of its object, as `includeObject` asks: nothing (None),
/// its metadata (Metadata, the default, as `table` makes them), or the whole Object.
fn rows_carry(table: &mut Value, objects: &[Value], include: Option<&str>) {
    let Some(rows) = table["rows"].as_array_mut() else {
        return;
    };
    for (row, object) in rows.iter_mut().zip(objects) {
        match include {
            Some("None") => row["object"] = Value::Null,
            Some("Object") => row["object"] = object.clone(),
            _ => {}
        }
    }
}

pub fn get(ctx: &Context) -> Result<Response<Body>, ApiError> {
    let object = fetch(ctx)?;
    if ctx.target.subresource.as_deref() == Some("scale") {
        return Ok(json_response(StatusCode::OK, &scale_of(&object.value())));
    }
    if ctx.wants_table() {
        let objects = [object.value()];
        let mut table = table::table(
            &ctx.rt.printer,
            &objects,
            json!({"resourceVersion": object.rv.to_string()}),
            ctx.state.clock.now(),
        );
        rows_carry(&mut table, &objects, ctx.query.include_object.as_deref());
        return Ok(json_response(StatusCode::OK, &table));
    }
    if ctx.wants_metadata() {
        return Ok(json_response(StatusCode::OK, &partial(&object.value())));
    }
    Ok(bytes_response(StatusCode::OK, object.served()))
}

/// The named object, or 404.
pub fn fetch(ctx: &Context) -> Result<Arc<StoredObject>, ApiError> {
    let name = ctx.target.name.as_deref().unwrap_or("");
    ctx.state
        .store
        .get(&ctx.rt.store_key(), ctx.namespace(), name)
        .ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, name))
}

/// The autoscaling/v1 Scale view of a Deployment (or any object with spec.replicas).
pub fn scale_of(object: &Value) -> Value {
    let meta = &object["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector_string(object.pointer("/spec/selector")),
        },
    })
}

fn selector_string(selector: Option<&Value>) -> String {
    selector
        .and_then(|s| mlxp_core::domain::selector::LabelSelector::from_label_selector_json(s).ok())
        .map(|s| s.to_string())
        .unwrap_or_default()
}

fn partial(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
}

/// A continue token: where the previous page ended, and the resourceVersion it was read at.
fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    let raw = json!({"rv": rv, "ns": namespace, "name": name}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_continue(token: &str) -> Result<(u64, String, String), ApiError> {
    let bad = || ApiError::bad_request("continue key is not valid: invalid continue token");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    match (
        v.get("rv").and_then(Value::as_u64),
        field("ns"),
        field("name"),
    ) {
        (Some(rv), Some(ns), Some(name)) => Ok((rv, ns, name)),
        _ => Err(bad()),
    }
}

fn check_field_selector(ctx: &Context) -> Result<(), ApiError> {
    for field in ctx.query.field_selector.fields() {
        let supported = matches!(field, "metadata.name" | "metadata.namespace")
            || ctx.rt.field_labels.contains(&field);
        if !supported {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {field}"
            )));
        }
    }
    Ok(())
}

fn matches(ctx: &Context, object: &StoredObject) -> bool {
    ctx.query.label_selector.matches(|key| object.label(key))
        && ctx.query.field_selector.matches(|path| object.field(path))
}

pub fn list(ctx: &Context) -> Result<Response<Body>, ApiError> {
    if ctx.query.watch {
        return watch(ctx);
    }
    check_field_selector(ctx)?;
    let after = match &ctx.query.continue_token {
        Some(token) => {
            let (rv, ns, name) = decode_continue(token)?;
            if rv < ctx.state.store.compacted_rv() {
                return Err(ApiError::gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ));
            }
            Some((rv, ns, name))
        }
        None => None,
    };
    let listed = ctx.state.store.list(
        &ctx.rt.store_key(),
        ctx.target.namespace.as_deref(),
        after
            .as_ref()
            .map(|(_, ns, name)| (ns.as_str(), name.as_str())),
        ctx.query.limit,
        |o| matches(ctx, o),
    );
    let items = listed.items;
    let list_rv = after.as_ref().map_or(listed.rv, |(rv, _, _)| *rv);
    let mut list_meta = json!({"resourceVersion": list_rv.to_string()});
    if listed.more
        && let Some(last) = items.last()
    {
        list_meta["continue"] = json!(encode_continue(list_rv, &last.namespace, &last.name));
    }
    if ctx.wants_table() {
        let objects: Vec<Value> = items.iter().map(|o| o.value()).collect();
        let mut table = table::table(&ctx.rt.printer, &objects, list_meta, ctx.state.clock.now());
        rows_carry(&mut table, &objects, ctx.query.include_object.as_deref());
        return Ok(json_response(StatusCode::OK, &table));
    }
    if ctx.wants_metadata() {
        let objects: Vec<Value> = items.iter().map(|o| partial(&o.value())).collect();
        let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "items": objects});
        return Ok(json_response(StatusCode::OK, &list));
    }
    let head = json!({"kind": ctx.rt.list_kind(), "apiVersion": ctx.rt.api_version(), "metadata": list_meta});
    Ok(stream_list(head, items))
}

/// Streams `{"kind":..,"metadata":..,"items":[...]}` by concatenating the stored bytes, a
/// few hundred kilobytes at a time, without holding the store.
fn stream_list(head: Value, items: Vec<Arc<StoredObject>>) -> Response<Body> {
    let mut head = serde_json::to_vec(&head).unwrap_or_default();
    head.pop(); // the closing brace: items follow
    head.extend_from_slice(b",\"items\":[");
    let head = Bytes::from(head);
    const CHUNK: usize = 256 * 1024;
    let mut index = 0;
    let chunks = std::iter::once(head).chain(std::iter::from_fn(move || {
        if index > items.len() {
            return None;
        }
        let mut buf = BytesMut::with_capacity(CHUNK + 4096);
        while index < items.len() && buf.len() < CHUNK {
            if index > 0 {
                buf.put_u8(b',');
            }
            items[index].write_served(|bytes| buf.extend_from_slice(bytes));
            index += 1;
        }
        if index == items.len() {
            buf.extend_from_slice(b"]}");
            index += 1;
        }
        Some(buf.freeze())
    }));
    let stream = futures::stream::iter(chunks.map(|b| Ok::<_, Infallible>(Frame::data(b))));
    let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// How long a watch lasts when the client does not say (the apiserver picks 30–60 min).
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);
const BOOKMARK_EVERY: Duration = Duration::from_secs(10);

pub fn watch(ctx: &Context) -> Result<Response<Body>, ApiError> {
    check_field_selector(ctx)?;
    let store = &ctx.state.store;
    let requested: Option<u64> = match ctx.query.resource_version.as_deref() {
        None | Some("0") => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {v:?}")))?,
        ),
    };
    let send_initial = ctx.query.send_initial_events || requested.is_none();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let key = ctx.rt.store_key();
    let namespace = ctx.target.namespace.clone();
    let name = ctx.target.name.clone();
    let filter_ctx = WatchFilter {
        label: ctx.query.label_selector.clone(),
        field: ctx.query.field_selector.clone(),
        namespace,
        name,
    };
    let encoder = Encoder {
        table: ctx.wants_table().then(|| ctx.rt.printer.clone()),
        include_object: ctx.query.include_object.clone(),
        clock: ctx.state.clock.clone(),
        kind: ctx.rt.kind.clone(),
        api_version: ctx.rt.api_version(),
    };
    let bookmarks = ctx.query.allow_bookmarks;
    let timeout = ctx
        .query
        .timeout_seconds
        .map_or(DEFAULT_WATCH_TIMEOUT, Duration::from_secs);
    // Initial state and history are read now, so the response reflects this moment.
    let (initial, start_rv) = if send_initial {
        let listed = store.list(&key, filter_ctx.namespace.as_deref(), None, None, |o| {
            filter_ctx.accepts(o)
        });
        (listed.items, listed.rv)
    } else {
        (Vec::new(), requested.unwrap_or(0))
    };
    let subscription = store.watch_from(start_rv);
    let shutdown = ctx.state.shutdown.clone();
    let mut epoch = ctx.state.watch_epoch.subscribe();
    let initial_end_bookmark = ctx.query.send_initial_events;
    tokio::spawn(async move {
        let (backlog, mut receiver) = match subscription {
            Ok(s) => s,
            Err(expired) => {
                let status = ApiError::gone(format!(
                    "too old resource version: {start_rv} ({})",
                    expired.oldest
                ))
                .to_status();
                let _ = tx.send(event_line("ERROR", &status)).await;
                return;
            }
        };
        let mut last_rv = start_rv;
        for object in &initial {
            if tx
                .send(encoder.event(ChangeType::Added, object))
                .await
                .is_err()
            {
                return;
            }
        }
        if initial_end_bookmark {
            let mut bookmark = encoder.bookmark(start_rv);
            bookmark["object"]["metadata"]["annotations"] =
                json!({"k8s.io/initial-events-end": "true"});
            if tx.send(line(&bookmark)).await.is_err() {
                return;
            }
        }
        for change in backlog {
            if change.key == key
                && let Some(event) = encoder.seen(&filter_ctx, &change)
                && tx.send(event).await.is_err()
            {
                return;
            }
            last_rv = change.rv;
        }
        // A client's timeoutSeconds can be anything up to u64::MAX seconds.
        let deadline = tokio::time::Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(|| tokio::time::Instant::now() + DEFAULT_WATCH_TIMEOUT);
        let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
        ticker.tick().await;
        loop {
            tokio::select! {
                received = receiver.recv() => match received {
                    Ok(change) => {
                        if change.rv <= last_rv {
                            continue;
                        }
                        last_rv = change.rv;
                        if change.key == key
                            && let Some(event) = encoder.seen(&filter_ctx, &change)
                            && tx.send(event).await.is_err() {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // This watcher fell behind the window: it must re-list, as with a 410.
                        let status = ApiError::gone(format!("too old resource version: {last_rv}")).to_status();
                        let _ = tx.send(event_line("ERROR", &status)).await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(line(&encoder.bookmark(last_rv))).await.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = shutdown.cancelled() => return,
                _ = tx.closed() => return,
                Ok(()) = epoch.changed() => {
                    let status = ApiError::gone(format!("too old resource version: {last_rv}")).to_status();
                    let _ = tx.send(event_line("ERROR", &status)).await;
                    return;
                }
            }
        }
    });
    let stream = ReceiverStream::new(rx).map(|b| Ok::<_, Infallible>(Frame::data(b)));
    let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

struct WatchFilter {
    label: mlxp_core::domain::selector::LabelSelector,
    field: mlxp_core::domain::selector::FieldSelector,
    namespace: Option<String>,
    name: Option<String>,
}

impl WatchFilter {
    fn accepts(&self, o: &StoredObject) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| ns == &*o.namespace)
            && self.name.as_deref().is_none_or(|n| n == &*o.name)
            && self.label.matches(|k| o.label(k))
            && self.field.matches(|f| o.field(f))
    }
}

struct Encoder {
    table: Option<table::Printer>,
    /// A Table's rows carry None, the object's metadata (the default) or the Object.
    include_object: Option<String>,
    clock: Arc<crate::clock::SimClock>,
    kind: String,
    api_version: String,
}

impl Encoder {
    /// The event a watch with `filter` sees of `change`, as the apiserver's watch cache
    /// gives it: a modified object that starts matching is ADDED, one that stops matching
    /// is DELETED (its previous content at the change's resourceVersion), one that matches
    /// neither before nor after is not seen.
    fn seen(&self, filter: &WatchFilter, change: &crate::store::Change) -> Option<Bytes> {
        let now = filter.accepts(&change.object);
        let before = match (&change.kind, &change.previous) {
            (ChangeType::Modified, Some(previous)) => filter.accepts(previous),
            _ => now,
        };
        match (before, now) {
            (true, true) => Some(self.event(change.kind, &change.object)),
            (false, true) => Some(self.event(ChangeType::Added, &change.object)),
            (true, false) => {
                let previous = change.previous.as_ref()?;
                let mut value = previous.value();
                value["metadata"]["resourceVersion"] = json!(change.rv.to_string());
                Some(self.event_value(ChangeType::Deleted, &value))
            }
            (false, false) => None,
        }
    }

    fn event_value(&self, kind: ChangeType, value: &Value) -> Bytes {
        match &self.table {
            Some(printer) => {
                let objects = std::slice::from_ref(value);
                let mut table = table::table(
                    printer,
                    objects,
                    json!({"resourceVersion": value["metadata"]["resourceVersion"]}),
                    self.clock.now(),
                );
                rows_carry(&mut table, objects, self.include_object.as_deref());
                event_line(kind.as_str(), &table)
            }
            None => event_line(kind.as_str(), value),
        }
    }

    fn event(&self, kind: ChangeType, object: &StoredObject) -> Bytes {
        match &self.table {
            Some(printer) => {
                let objects = [object.value()];
                let mut table = table::table(
                    printer,
                    &objects,
                    json!({"resourceVersion": object.rv.to_string()}),
                    self.clock.now(),
                );
                rows_carry(&mut table, &objects, self.include_object.as_deref());
                event_line(kind.as_str(), &table)
            }
            None => {
                // Splice the stored bytes in: no re-serialization per event.
                let mut buf = BytesMut::with_capacity(object.json.len() + 32);
                buf.extend_from_slice(b"{\"type\":\"");
                buf.extend_from_slice(kind.as_str().as_bytes());
                buf.extend_from_slice(b"\",\"object\":");
                object.write_served(|bytes| buf.extend_from_slice(bytes));
                buf.extend_from_slice(b"}\n");
                buf.freeze()
            }
        }
    }

    fn bookmark(&self, rv: u64) -> Value {
        json!({"type": "BOOKMARK", "object": {"kind": self.kind, "apiVersion": self.api_version, "metadata": {"resourceVersion": rv.to_string()}}})
    }
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    line(&json!({"type": kind, "object": object}))
}

fn line(value: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// `pods/log`: the pod's log text, optionally the last lines, optionally followed.
pub async fn log(ctx: &Context) -> Result<Response<Body>, ApiError> {
    let pod = fetch(ctx)?;
    let options = &ctx.query.log;
    options.check(&pod.value())?;
    let full = ctx.state.store.logs(&pod.uid);
    let read = full.len();
    let text = options.select(&full, ctx.state.clock.now());
    let mut response = if ctx.query.follow {
        follow_log(ctx, pod, text, read)
    } else {
        Response::new(super::full(text))
    };
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}

/// `text`, cut to the `room` left (at a character boundary), which it then uses up.
fn within(mut text: String, room: &mut usize) -> Bytes {
    if text.len() > *room {
        let mut cut = *room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    *room -= text.len();
    Bytes::from(text)
}

/// Whether a pod's containers have all ended (as a kubelet ends a follow of their logs).
fn ended(pod: &StoredObject) -> bool {
    matches!(
        pod.value()["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

/// Streams what is appended to the pod's log until its containers end, the pod is gone or
/// the client leaves (stamped when `timestamps` asks, and no more than `limitBytes` in all).
/// `read`: how much of the log `already` covers. The wake-up is armed before the log is
/// looked at again, so an append between the two is never missed.
fn follow_log(
    ctx: &Context,
    pod: Arc<StoredObject>,
    already: String,
    read: usize,
) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let state = ctx.state.clone();
    let key = ctx.rt.store_key();
    let stamped = super::log_options::LogOptions {
        timestamps: ctx.query.log.timestamps,
        ..Default::default()
    };
    let mut room = ctx
        .query
        .log
        .limit_bytes
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    tokio::spawn(async move {
        let mut sent = read;
        let mut ending = ended(&pod);
        if tx.send(within(already, &mut room)).await.is_err() {
            return;
        }
        let Ok((_, mut changes)) = state.store.watch_from(state.store.resource_version()) else {
            return;
        };
        loop {
            if room == 0 {
                return;
            }
            let notified = state.store.log_appended();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let text = state.store.logs(&pod.uid);
            if text.len() > sent {
                let new = stamped.select(&text[sent..], state.clock.now());
                sent = text.len();
                if tx.send(within(new, &mut room)).await.is_err() {
                    return;
                }
                continue;
            }
            if ending {
                return;
            }
            tokio::select! {
                _ = notified => {}
                change = changes.recv() => match change {
                    Ok(c) if c.key == key && c.object.uid == pod.uid => {
                        if c.kind == ChangeType::Deleted {
                            return;
                        }
                        // What it wrote last is sent, then the stream ends.
                        ending = ended(&c.object);
                    }
                    Err(RecvError::Closed) => return,
                    _ => {}
                },
                _ = tx.closed() => return,
                _ = state.shutdown.cancelled() => return,
            }
        }
    });
    let stream = ReceiverStream::new(rx).map(|b| Ok::<_, Infallible>(Frame::data(b)));
    Response::new(StreamBody::new(stream).boxed_unsync())
}
