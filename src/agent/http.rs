//! The agent's HTTP port: `/metrics` (Prometheus), `/healthz` (the process serves),
//! `/readyz` (the cluster seen whole and an evaluation done), and the trigger CI pipelines
//! call: `POST /v1/models/{model}/retrain` and `/train` (a JSON body of overrides),
//! bearer-token protected. A trigger runs through the same executor as every op: a retrain
//! while one runs is 409, the created Job comes back as JSON.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::telemetry::Telemetry;
use crate::cluster::Snapshot;
use crate::exec::{ExecError, Executor, Mode};
use mlxp_core::ops::{Capacity, Op, Overrides, Refused, model_namespace};

/// How long an answer waits for the watches to show the Job it created.
const SEEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// Bodies larger than this are refused: a trigger's overrides are a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

pub struct Port {
    pub executor: Executor,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub telemetry: Arc<Telemetry>,
    /// The bearer token the trigger asks for; None: the trigger is off.
    pub token: Option<String>,
}

/// Serves the port on `listener` until `stop`.
pub async fn serve(listener: TcpListener, port: Port, mut stop: watch::Receiver<bool>) {
    let port = Arc::new(port);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            _ = stop.wait_for(|s| *s) => return,
        };
        let port = port.clone();
        let service = hyper::service::service_fn(move |request| {
            let port = port.clone();
            async move { Ok::<_, Infallible>(port.answer(request).await) }
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}

/// Binds `addr` (an error names it).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("the agent's port {addr}: {e}"))
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn json_reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    reply(status, "application/json", format!("{body}\n"))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Full<Bytes>> {
    json_reply(status, json!({"error": message.into()}))
}

/// Equal strings, in a time that does not depend on where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let diff = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(diff) == 0
}

/// What `/train` takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainBody {
    gpus: Option<i64>,
    pool: Option<String>,
    product: Option<String>,
    /// true: spot; false: on-demand; absent: the Model's.
    spot: Option<bool>,
    image: Option<String>,
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    dataset: Option<String>,
    queue: Option<String>,
    namespace: Option<String>,
}

impl Port {
    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request.uri().path().to_string();
        match (request.method(), path.as_str()) {
            (&Method::GET, "/healthz") => reply(StatusCode::OK, "text/plain", "ok\n".into()),
            (&Method::GET, "/readyz") => self.readiness(),
            (&Method::GET, "/metrics") => reply(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                self.telemetry.render(),
            ),
            (method, _) => match path
                .strip_prefix("/v1/models/")
                .and_then(|rest| rest.split_once('/'))
            {
                Some((model, action @ ("retrain" | "train"))) if method == Method::POST => {
                    let (model, action) = (model.to_string(), action.to_string());
                    self.trigger(request, &model, &action).await
                }
                Some((_, "retrain" | "train")) => error(StatusCode::METHOD_NOT_ALLOWED, "POST it"),
                _ => error(StatusCode::NOT_FOUND, format!("no {path} here")),
            },
        }
    }

    fn readiness(&self) -> Response<Full<Bytes>> {
        let snapshot = self.snapshots.borrow().clone();
        if !snapshot.complete() {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "the cluster is not synced yet\n".into(),
            );
        }
        if !self.telemetry.ready() {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "no evaluation yet\n".into(),
            );
        }
        reply(StatusCode::OK, "text/plain", "ready\n".into())
    }

    /// The bearer token checked first: a wrong or missing one changes nothing.
    async fn trigger(
        &self,
        request: Request<Incoming>,
        model: &str,
        action: &str,
    ) -> Response<Full<Bytes>> {
        let Some(token) = &self.token else {
            return error(
                StatusCode::FORBIDDEN,
                "the trigger is off: the agent has no token (--token-file or --token-secret)",
            );
        };
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_secret(given.as_bytes(), token.as_bytes()) {
            let mut denied = error(StatusCode::UNAUTHORIZED, "a valid bearer token is needed");
            denied.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return denied;
        }
        let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => return error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        };
        let asked: TrainBody = if body.iter().all(u8::is_ascii_whitespace) {
            TrainBody::default()
        } else {
            match serde_json::from_slice(&body) {
                Ok(asked) => asked,
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("the body: {e}")),
            }
        };
        let snapshot = self.snapshots.borrow().clone();
        if !snapshot.complete() {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the cluster is not synced yet: try again",
            );
        }
        let namespace = match model_namespace(&snapshot, model, asked.namespace.as_deref()) {
            Ok(ns) => ns,
            Err(refused) => return refusal(&refused),
        };
        let op = if action == "retrain" {
            Op::Retrain {
                namespace,
                model: model.to_string(),
                force: false,
            }
        } else {
            Op::Train {
                namespace,
                model: model.to_string(),
                overrides: Overrides {
                    gpus: asked.gpus,
                    pool: asked.pool,
                    product: asked.product,
                    capacity: asked.spot.map(|spot| {
                        if spot {
                            Capacity::Spot
                        } else {
                            Capacity::OnDemand
                        }
                    }),
                    image: asked.image,
                    env: asked.env.into_iter().collect(),
                    dataset: asked.dataset,
                    queue: asked.queue,
                },
                job: None,
            }
        };
        let name = op.name();
        match self.executor.run(&op, &snapshot, Mode::Apply).await {
            Ok(done) => {
                self.telemetry.triggered(name, true);
                let job = done
                    .diffs
                    .iter()
                    .find_map(|d| d.target.strip_prefix("job "))
                    .unwrap_or_default()
                    .to_string();
                // The next call plans on the watches' view: it must see this Job (or it
                // would name its own run the same), so the answer waits for them.
                if let Some((ns, name)) = job.split_once('/') {
                    let mut seen = self.snapshots.clone();
                    let _ = tokio::time::timeout(
                        SEEN_PATIENCE,
                        seen.wait_for(|s| s.jobs.get(ns, name).is_some()),
                    )
                    .await;
                }
                json_reply(
                    StatusCode::CREATED,
                    json!({"job": job, "effect": done.effect, "user": done.user}),
                )
            }
            Err(e) => {
                self.telemetry.triggered(name, false);
                match &e {
                    ExecError::Refused(refused) => refusal(refused),
                    ExecError::Forbidden { .. } => error(StatusCode::FORBIDDEN, e.to_string()),
                    ExecError::Conflict { .. } => error(StatusCode::CONFLICT, e.to_string()),
                    _ => error(StatusCode::BAD_GATEWAY, e.to_string()),
                }
            }
        }
    }
}

fn refusal(refused: &Refused) -> Response<Full<Bytes>> {
    match refused {
        Refused::NotFound(why) => error(StatusCode::NOT_FOUND, why.clone()),
        // A retrain already running, overrides that cannot hold.
        Refused::Precondition(why) => error(StatusCode::CONFLICT, why.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_match_only_whole() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"s3creT", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }
}
