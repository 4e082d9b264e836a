//! Property tests that throw generated requests at the embedded API server: arbitrary paths
//! and methods, malformed and hostile bodies under every content type, arbitrary selector
//! strings. The server must never fail (no 5xx, no dropped connection), must answer with a
//! code from the set a Kubernetes API server uses for such requests, and must describe every
//! error as a `Status` object whose `code` is the HTTP status. After each run it still answers.
//!
//! One sim serves the whole file, on one shared tokio runtime; requests go out through kube's
//! client (TLS, bearer token) with the path, headers and body exactly as generated, each on a
//! fresh connection so the cases stay independent (connection reuse has tests of its own at
//! the end). A panic on the server's threads fails the case that was running, even though
//! tokio keeps the server up. The properties run side by side on the same cluster and the
//! path property deletes whatever it hits, so the others re-create what they need and accept
//! a 404 where something may have vanished under them.
//!
//! `FUZZ_CASES=5000 cargo test --test api_fuzz` for a longer run.

mod harness;
mod strategies;

use std::time::Duration;

use hyper::{Method, StatusCode};
use mlxp_sim::Sim;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use harness::*;
use strategies::*;

/// Arbitrary methods on arbitrary paths, as any of the three users, with arbitrary queries.
#[test]
fn arbitrary_paths_and_methods() {
    let who = proptest::sample::select(
        &[
            Who::Admin,
            Who::Admin,
            Who::Admin,
            Who::ReadOnly,
            Who::BadToken,
        ][..],
    );
    let strategy = (
        who,
        method(),
        path(),
        query(),
        content_type(),
        accept(),
        vec(any::<u8>(), 0..64),
    );
    run(
        strategy,
        |(who, method, path, query, content_type, accept, body)| {
            let req = Req {
                who,
                method,
                uri: format!("{path}{query}"),
                content_type,
                accept,
                body,
                keep_alive: false,
            };
            let Some(answer) = send_and_check(&req, EXPECTED)? else {
                return Ok(());
            };
            // A wrong token never gets past authentication, except to the public endpoints.
            if matches!(who, Who::BadToken) {
                prop_assert_eq!(
                    answer.status.as_u16(),
                    401,
                    "{} {}",
                    req.method,
                    abbreviated(&req.uri)
                );
            }
            Ok(())
        },
    );
}

/// Malformed and hostile bodies, under every content type, to real resources.
#[test]
fn arbitrary_bodies() {
    // Mostly the method that fits the path (POST to the collection, the rest to the object).
    let method = prop_oneof![
        3 => Just((Method::POST, false)),
        2 => Just((Method::PUT, true)),
        4 => Just((Method::PATCH, true)),
        1 => Just((Method::DELETE, true)),
        1 => (
            proptest::sample::select(&[Method::POST, Method::PUT, Method::PATCH, Method::DELETE][..]),
            any::<bool>(),
        ),
    ];
    let options = proptest::sample::select(
        &[
            "",
            "?fieldManager=fuzz",
            "?fieldManager=fuzz",
            "?fieldManager=fuzz&force=true",
            "?fieldManager=fuzz&dryRun=All",
            "?fieldValidation=Strict",
            "?fieldValidation=Ignore",
            "?propagationPolicy=Orphan",
            "?fieldManager=fuzz&fieldValidation=Strict&dryRun=All",
        ][..],
    );
    let who = prop_oneof![9 => Just(Who::Admin), 1 => Just(Who::ReadOnly)];
    let strategy = (who, method, kind(), options)
        .prop_flat_map(|(who, (method, named), kind, options)| {
            let content_type = content_type_for(&method);
            (Just((who, method, named, kind, options)), content_type)
        })
        .prop_flat_map(|(request, content_type)| {
            let body = body(request.3, content_type);
            (Just(request), Just(content_type), body)
        });
    run(
        strategy,
        |((who, method, named, kind, options), content_type, body)| {
            ensure_fixtures()?;
            let (collection, object) = paths_of(kind);
            let target = if named { object } else { collection };
            let req = Req {
                who,
                method,
                uri: format!("{target}{options}"),
                content_type,
                accept: None,
                body,
                keep_alive: false,
            };
            send_and_check(&req, EXPECTED)?;
            Ok(())
        },
    );
}

/// Writes to subresources (status, scale, log) with hostile bodies.
#[test]
fn arbitrary_subresource_writes() {
    let target = proptest::sample::select(
        &[
            (
                "/apis/apps/v1/namespaces/fuzz/deployments/d-0/scale",
                Kind::Deployment,
            ),
            (
                "/apis/apps/v1/namespaces/fuzz/deployments/d-0/status",
                Kind::Deployment,
            ),
            ("/api/v1/namespaces/fuzz/pods/p-0/status", Kind::Pod),
            ("/apis/batch/v1/namespaces/fuzz/jobs/j-0/status", Kind::Job),
            (
                "/apis/mlxp.io/v1alpha1/namespaces/fuzz/modelversions/mv-0/status",
                Kind::ModelVersion,
            ),
            ("/api/v1/namespaces/fuzz/status", Kind::Namespace),
            ("/api/v1/namespaces/fuzz/pods/p-0/log", Kind::Pod),
        ][..],
    );
    let method = proptest::sample::select(
        &[
            Method::PUT,
            Method::PATCH,
            Method::PATCH,
            Method::PATCH,
            Method::GET,
            Method::POST,
        ][..],
    );
    let scale = || {
        (any::<i64>(), json_value()).prop_map(|(replicas, extra)| {
            serde_json::to_vec(&json!({
                "apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": "d-0", "namespace": NS}, "spec": {"replicas": replicas}, "status": extra,
            }))
            .expect("serializes")
        })
    };
    let strategy = (target, method)
        .prop_flat_map(|((path, kind), method)| {
            (
                Just((path, kind, method.clone())),
                content_type_for(&method),
            )
        })
        .prop_flat_map(move |((path, kind, method), content_type)| {
            let bodies = prop_oneof![3 => body(kind, content_type), 1 => scale()];
            (Just((path, method)), Just(content_type), bodies)
        });
    run(strategy, |((path, method), content_type, body)| {
        ensure_fixtures()?;
        let req = Req {
            who: Who::Admin,
            method,
            uri: format!("{path}?fieldManager=fuzz"),
            content_type,
            accept: None,
            body,
            keep_alive: false,
        };
        send_and_check(&req, EXPECTED)?;
        Ok(())
    });
}

/// Arbitrary label and field selectors (and paging parameters) on lists: a list or a 400.
#[test]
fn arbitrary_selectors() {
    let collection = proptest::sample::select(
        &[
            "/api/v1/pods",
            "/api/v1/namespaces/training/pods",
            "/apis/batch/v1/jobs",
            "/api/v1/nodes",
            "/api/v1/namespaces",
            "/api/v1/events",
            "/api/v1/configmaps",
            "/apis/mlxp.io/v1alpha1/modelversions",
            "/apis/apps/v1/deployments",
        ][..],
    );
    let limit = prop_oneof![Just(None), (-5i64..30).prop_map(Some)];
    let continue_token = prop_oneof![
        4 => Just(None),
        1 => "[a-zA-Z0-9_-]{0,40}".prop_map(Some),
        1 => (any::<u64>(), "[a-z-]{0,8}", "[a-z-]{0,8}").prop_map(|(rv, ns, name)| {
            use base64::Engine;
            let raw = json!({"rv": rv, "ns": ns, "name": name}).to_string();
            Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
        }),
    ];
    let strategy = (
        collection,
        selector(),
        selector(),
        limit,
        continue_token,
        accept(),
    );
    run(
        strategy,
        |(collection, labels, fields, limit, continue_token, accept)| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("labelSelector", &labels);
            q.append_pair("fieldSelector", &fields);
            if let Some(limit) = limit {
                q.append_pair("limit", &limit.to_string());
            }
            if let Some(token) = &continue_token {
                q.append_pair("continue", token);
            }
            let mut req = Req::new(Method::GET, format!("{collection}?{}", q.finish()));
            req.accept = accept;
            // 410 for a continue token from before the history; 404 when the CRD behind the
            // collection has just been deleted by the path property running alongside.
            let mut allowed = vec![200, 400];
            if continue_token.is_some() {
                allowed.push(410);
            }
            if collection.contains("mlxp.io") {
                allowed.push(404);
            }
            let Some(answer) = send_and_check(&req, &allowed)? else {
                return Ok(());
            };
            if answer.status == StatusCode::OK {
                let body = answer.body.as_ref().expect("a list ends");
                let list: Value = serde_json::from_slice(body)
                    .map_err(|e| TestCaseError::fail(format!("list is not JSON: {e}")))?;
                prop_assert!(list["kind"].is_string(), "{}", list);
            }
            // The same selectors on a delete-collection, dry run: parsed the same way.
            let mut delete = Req::new(Method::DELETE, format!("{}&dryRun=All", req.uri));
            delete.body = b"{}".to_vec();
            delete.content_type = Some("application/json");
            send_and_check(&delete, &[200, 400, 404, 405, 410])?;
            Ok(())
        },
    );
}

/// Custom resources with generated printer columns, listed and fetched as Tables.
#[test]
fn arbitrary_printer_columns() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let column = (
        "[A-Za-z ]{0,8}",
        proptest::sample::select(&["string", "integer", "number", "boolean", "date", "", "bogus"][..]),
        proptest::sample::select(&["", "int32", "int64", "date-time", "byte", "bogus"][..]),
        json_path(),
        -1i64..3,
    )
        .prop_map(|(name, type_, format, path, priority)| {
            json!({"name": name, "type": type_, "format": format, "jsonPath": path, "priority": priority})
        });
    let object = (column_value(), vec(column_value(), 0..4), column_value(), column_value())
        .prop_map(|(x, items, when, status)| {
            json!({
                "spec": {"x": x, "items": items, "when": when, "n": x},
                "status": {"conditions": [{"type": "Ready", "status": status}, {"type": "Other", "n": 2}]},
            })
        });
    let strategy = (vec(column, 0..5), vec(object, 1..3), accept());
    run(strategy, |(columns, objects, accept)| {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let (group, plural, kind) = ("fuzz.example.com", format!("t{n}s"), format!("T{n}"));
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "additionalPrinterColumns": columns,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
        });
        let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
        let mut create = Req::new(Method::POST, crds.into());
        create.content_type = Some("application/json");
        create.body = serde_json::to_vec(&crd).expect("serializes");
        let created = send_and_check(&create, &[201, 400, 422])?;
        // The path property running alongside may delete the namespace, or every CRD, at
        // any moment: 404s are expected from here on.
        let mut namespace = Req::new(Method::POST, "/api/v1/namespaces".into());
        namespace.content_type = Some("application/json");
        namespace.body = serde_json::to_vec(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        )
        .expect("serializes");
        send_and_check(&namespace, &[201, 409])?;
        if created.is_none_or(|a| a.status != StatusCode::CREATED) {
            return Ok(());
        }
        let collection = format!("/apis/{group}/v1/namespaces/{NS}/{plural}");
        for (i, spec) in objects.iter().enumerate() {
            let mut object = spec.clone();
            object["apiVersion"] = json!(format!("{group}/v1"));
            object["kind"] = json!(kind);
            object["metadata"] = json!({"name": format!("o-{i}")});
            let mut post = Req::new(Method::POST, collection.clone());
            post.content_type = Some("application/json");
            post.body = serde_json::to_vec(&object).expect("serializes");
            send_and_check(&post, &[201, 400, 404, 422])?;
        }
        let table = Some("application/json;as=Table;v=v1;g=meta.k8s.io");
        for (path, accept) in [
            (collection.clone(), table),
            (format!("{collection}/o-0"), table),
            (collection.clone(), accept),
        ] {
            let mut get = Req::new(Method::GET, path);
            get.accept = accept;
            if let Some(answer) = send_and_check(&get, &[200, 404])?
                && answer.status == StatusCode::OK
            {
                let body = answer.body.as_ref().expect("a complete answer");
                let value: Value = serde_json::from_slice(body)
                    .map_err(|e| TestCaseError::fail(format!("not JSON: {e}")))?;
                if accept == table {
                    prop_assert_eq!(value["kind"].as_str(), Some("Table"), "{}", value);
                    let width = value["columnDefinitions"].as_array().map_or(0, Vec::len);
                    for row in value["rows"].as_array().into_iter().flatten() {
                        prop_assert_eq!(
                            row["cells"].as_array().map_or(0, Vec::len),
                            width,
                            "{}",
                            value
                        );
                    }
                }
            }
        }
        let mut delete = Req::new(Method::DELETE, format!("{crds}/{plural}.{group}"));
        delete.body = Vec::new();
        send_and_check(&delete, &[200, 404])?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Fixed edge cases
// ---------------------------------------------------------------------------------------

/// A body over the 3 MiB limit is refused as too large, with a Status, and the client's
/// connection stays usable: the server answers before reading the whole body, so it must
/// tell the client it closes the connection (`Connection: close`), as the apiserver does.
/// Uses a client of its own so a broken pooled connection cannot upset the other tests.
#[test]
fn oversized_body_is_413() {
    let h = harness();
    let client = h
        .runtime
        .block_on(h.sim.client(false))
        .expect("a client of its own");
    let mut req = Req::new(Method::POST, "/api/v1/namespaces/default/configmaps".into());
    req.content_type = Some("application/json");
    req.keep_alive = true;
    let padding = "x".repeat(4 * 1024 * 1024);
    req.body = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"x":"{padding}"}}}}"#
    )
    .into_bytes();
    let answer = send_with(&client, &req).unwrap().expect("valid request");
    check_answer(&req, &answer, &[413]).unwrap();
    assert_eq!(
        answer
            .headers
            .get(hyper::header::CONNECTION)
            .and_then(|v| v.to_str().ok()),
        Some("close"),
        "a 413 sent before the body was read must close the connection, or the client \
         reuses a connection the server is about to drop",
    );

    let mut next = Req::new(Method::GET, "/version".into());
    next.keep_alive = true;
    let answer = send_with(&client, &next)
        .unwrap_or_else(|e| panic!("the request after a 413 on the same client failed: {e}"))
        .expect("valid request");
    assert_eq!(answer.status, StatusCode::OK);
    assert_still_serving();
}

/// Errors answered before the request body is read (404, 405, 401, 403, a bad query) must
/// leave the client's connection usable: the server has to drain the body or say
/// `Connection: close`, as the apiserver does. Otherwise the client's next request on that
/// pooled connection fails. Uses a client of its own.
#[test]
fn early_errors_leave_the_connection_usable() {
    let h = harness();
    let client = h
        .runtime
        .block_on(h.sim.client(false))
        .expect("a client of its own");
    let early_errors = [
        (Method::POST, "/api/v1/namespaces/default/pods/x", 405),
        (Method::POST, "/apis/nope/v1/things", 404),
        (
            Method::POST,
            "/api/v1/namespaces/default/configmaps?dryRun=Some",
            400,
        ),
    ];
    let mut failures = Vec::new();
    for round in 0..20 {
        for (method, path, code) in &early_errors {
            let mut req = Req::new(method.clone(), path.to_string());
            req.content_type = Some("application/json");
            req.body = vec![b' '; 64 * 1024];
            req.keep_alive = true;
            match send_with(&client, &req) {
                Ok(Some(answer)) => check_answer(&req, &answer, &[*code]).unwrap(),
                other => {
                    failures.push(format!("round {round}: {method} {path}: {:?}", other.err()))
                }
            }
            let mut next = Req::new(Method::GET, "/version".into());
            next.keep_alive = true;
            if let Err(e) = send_with(&client, &next) {
                failures.push(format!(
                    "round {round}: GET /version after {method} {path}: {e}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 120 requests failed: {failures:#?}",
        failures.len()
    );
    assert_still_serving();
}

/// A watch with the largest `timeoutSeconds` a u64 holds streams like any other (its
/// deadline is just far away): after the initial events it stays open. Its own sim, on this
/// test's own runtime, so whatever happens there stays out of the shared server's record.
#[tokio::test]
async fn watch_with_huge_timeout_stays_open() {
    use http_body_util::BodyExt;
    let sim = Sim::start(api_only()).await.expect("sim starts");
    let client = sim.client(false).await.expect("admin client");
    let request =
        hyper::Request::get("/api/v1/namespaces?watch=true&timeoutSeconds=18446744073709551615")
            .body(kube::client::Body::from(Vec::new()))
            .expect("valid request");
    let response = client.send(request).await.expect("the watch is answered");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut text = Vec::new();
    let namespaces = mlxp_sim::seed::NAMESPACES.len();
    while text.iter().filter(|b| **b == b'\n').count() < namespaces {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("the initial events in time")
            .expect("the watch sends every namespace before it ends")
            .expect("a frame");
        text.extend_from_slice(&frame.into_data().unwrap_or_default());
    }
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let event: Value = serde_json::from_slice(line).expect("a JSON watch event");
        assert_eq!(event["type"], "ADDED", "{event}");
    }
    let more = tokio::time::timeout(Duration::from_millis(500), body.frame()).await;
    assert!(
        more.is_err(),
        "the watch ended right after its initial events: {more:?}"
    );
}

/// A very long URI is still answered with a Status, not dropped.
#[test]
fn very_long_uri() {
    for len in [1_000, 10_000, 60_000] {
        let req = Req::new(
            Method::GET,
            format!("/api/v1/namespaces/default/configmaps/{}", "a".repeat(len)),
        );
        let answer = send(&req).unwrap().expect("valid request");
        check_answer(&req, &answer, &[400, 404, 422]).unwrap();
    }
    assert_still_serving();
}
