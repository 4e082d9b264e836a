//! The HTTPS front of the embedded cluster: connections, authentication, routing.

mod body;
mod defaults;
mod discovery;
mod evict;
mod finalizers;
pub mod graceful;
pub mod internal;
mod invalid;
mod log_options;
pub mod namespaces;
mod openapi;
mod ownership;
mod protobuf;
mod read;
mod request;
pub mod status;
mod write;

use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::{Method, Request, Response, StatusCode, header};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::clock::SimClock;
use super::resources::Registry;
use super::store::Store;
use request::{Route, Verb};
use status::ApiError;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A write carried out whose answer is not sent (`ApiState::lose_answers`).
#[derive(Debug)]
struct LostAnswer;

impl std::fmt::Display for LostAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the answer of this write is lost (a test's fault)")
    }
}

impl std::error::Error for LostAnswer {}

/// How many changes a watch can resume across before it is told 410 Gone.
pub const HISTORY_WINDOW: usize = 100_000;

/// Who made a request, from its bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    Admin,
    ReadOnly,
}

impl User {
    pub fn name(self) -> &'static str {
        match self {
            User::Admin => "mlxp-admin",
            User::ReadOnly => "mlxp-readonly",
        }
    }
}

/// Everything a request handler needs; shared by all connections.
pub struct ApiState {
    pub store: Store,
    pub registry: RwLock<Registry>,
    admin_token: String,
    readonly_token: String,
    pub shutdown: CancellationToken,
    /// Bumped to end every open watch with 410 Gone, as an apiserver does to a watch that
    /// fell out of its window (tests use it to check that clients re-list mid-watch).
    pub watch_epoch: tokio::sync::watch::Sender<u64>,
    /// Writes whose answers are lost: carried out, then the connection closed unanswered.
    lost_answers: std::sync::atomic::AtomicUsize,
    /// Errors to answer the next requests with (status code, how many), as an overloaded or
    /// failing apiserver does: tests' fault bursts.
    injected: std::sync::Mutex<(u16, usize)>,
    /// What the serving stack has served (counters behind /metrics).
    pub traffic: std::sync::Mutex<crate::traffic::Traffic>,
    /// The seeded random source of the server's own writes (see `random`).
    rng: std::sync::Mutex<rand::rngs::StdRng>,
    /// Names and uids of what clients create: a stream of its own, so a client's writes
    /// (a dry run included) do not move what the cluster draws next.
    requests_rng: std::sync::Mutex<rand::rngs::StdRng>,
    /// Simulated time: timestamps, ages, and every controller read it.
    pub clock: Arc<SimClock>,
    /// Requests being served, watches and log follows aside; past the limit: 429.
    inflight: tokio::sync::Semaphore,
    /// What the requests asked for, as RBAC names it, while recording (tests
    /// check a role against what a client really does).
    pub recorded: std::sync::Mutex<Option<Vec<Access>>>,
    /// Where the server listens, once bound: what `/api` tells clients to use.
    pub address: std::sync::OnceLock<std::net::SocketAddr>,
}

/// One request as an RBAC rule would match it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub verb: &'static str,
    pub group: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl ApiState {
    pub fn new(
        admin_token: String,
        readonly_token: String,
        max_inflight: usize,
        clock: Arc<SimClock>,
        seed: u64,
    ) -> anyhow::Result<Self> {
        use rand::SeedableRng;
        Ok(ApiState {
            rng: std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
            requests_rng: std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(
                seed ^ crate::ids::stable_hash("requests"),
            )),
            traffic: Default::default(),
            injected: std::sync::Mutex::new((0, 0)),
            lost_answers: std::sync::atomic::AtomicUsize::new(0),
            clock,
            inflight: tokio::sync::Semaphore::new(max_inflight),
            recorded: std::sync::Mutex::new(None),
            address: std::sync::OnceLock::new(),
            store: Store::new(HISTORY_WINDOW),
            registry: RwLock::new(Registry::with_builtins()),
            admin_token,
            readonly_token,
            shutdown: CancellationToken::new(),
            watch_epoch: tokio::sync::watch::Sender::new(0),
        })
    }

    /// The next `count` requests, whatever they are, are answered with `code` (429, 500,
    /// 503 …) and the Status body the apiserver sends with it.
    pub fn inject_errors(&self, code: u16, count: usize) {
        *self.injected.lock().unwrap_or_else(|e| e.into_inner()) = (code, count);
    }

    /// The next `count` writes (not dry runs) are carried out and their connections closed
    /// before the answer: the client cannot know they were made.
    pub fn lose_answers(&self, count: usize) {
        self.lost_answers
            .store(count, std::sync::atomic::Ordering::SeqCst);
    }

    fn take_lost_answer(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        self.lost_answers
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn take_injected(&self) -> Option<ApiError> {
        let mut injected = self.injected.lock().unwrap_or_else(|e| e.into_inner());
        let (code, left) = *injected;
        if left == 0 {
            return None;
        }
        injected.1 = left - 1;
        Some(ApiError::injected(code))
    }

    pub fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn registry_mut(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|e| e.into_inner())
    }

    fn authenticate(&self, req: &Request<hyper::body::Incoming>) -> Option<User> {
        let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
        let token = value.strip_prefix("Bearer ")?.trim();
        // Both tokens are compared in full, whatever matches first.
        let admin = constant_time_eq(token.as_bytes(), self.admin_token.as_bytes());
        let readonly = constant_time_eq(token.as_bytes(), self.readonly_token.as_bytes());
        match (admin, readonly) {
            (true, _) => Some(User::Admin),
            (_, true) => Some(User::ReadOnly),
            _ => None,
        }
    }

    /// Creates an object as the server itself (seeding, controllers), bypassing HTTP.
    pub fn create_object(&self, object: serde_json::Value) -> Result<serde_json::Value, ApiError> {
        write::create_internal(self, object)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long a client may take over its part of a request: a connection that never
/// finishes its TLS handshake, a request whose headers stop half-way (or a connection idle
/// that long between requests), a body that stops coming — each would otherwise hold a
/// task and a socket forever.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub handshake: std::time::Duration,
    /// Longer than clients keep an idle connection for reuse (hyper's pool: 90 s), so the
    /// server does not close one a client is about to send on.
    pub headers: std::time::Duration,
    pub body: std::time::Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            handshake: std::time::Duration::from_secs(10),
            headers: std::time::Duration::from_secs(120),
            body: std::time::Duration::from_secs(60),
        }
    }
}

/// Accepts TLS connections until the state's shutdown token is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<ApiState>,
    patience: Patience,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = state.shutdown.cancelled() => return,
        };
        let Ok((tcp, _peer)) = accepted else { continue };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(patience.handshake, acceptor.accept(tcp)).await
            else {
                return;
            };
            let io = hyper_util::rt::TokioIo::new(tls);
            let service_state = state.clone();
            let service = hyper::service::service_fn(move |req| {
                let state = service_state.clone();
                async move {
                    // Writes of stored objects: not dry runs, not reviews (whoami, can-i).
                    let write = !matches!(*req.method(), Method::GET | Method::HEAD)
                        && !req.uri().query().unwrap_or("").contains("dryRun=")
                        && !req.uri().path().ends_with("reviews");
                    let response = handle(state.clone(), req, patience.body).await;
                    if write && state.take_lost_answer() {
                        return Err(LostAnswer);
                    }
                    Ok(response)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(patience.headers)
                .serve_connection(io, service);
            tokio::select! {
                _ = conn => {}
                // Dropping the connection closes it: clients see the server go away.
                _ = state.shutdown.cancelled() => {}
            }
        });
    }
}

async fn handle(
    state: Arc<ApiState>,
    req: Request<hyper::body::Incoming>,
    body_patience: std::time::Duration,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    let public = matches!(
        path.as_str(),
        "/version" | "/healthz" | "/livez" | "/readyz" | "/metrics"
    );
    let has_token = req.headers().contains_key(header::AUTHORIZATION);
    // An error sent before the request body is read must close the connection, or the
    // unread body would be taken for the client's next request.
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let early_error = |e: &ApiError| {
        let mut response = error_response(e);
        if has_body {
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        response
    };
    let user = match state.authenticate(&req) {
        Some(user) => user,
        None if public && !has_token => User::ReadOnly,
        None => return early_error(&ApiError::unauthorized()),
    };
    if let Some(e) = state.take_injected() {
        return early_error(&e);
    }
    // Like the apiserver's max-requests-inflight: shed load with 429 rather than queue it.
    let query = req.uri().query().unwrap_or("");
    let long_running = path.contains("/watch/")
        || query
            .split('&')
            .any(|kv| matches!(kv, "watch=true" | "watch=1" | "follow=true" | "follow=1"));
    let _permit = if long_running {
        None
    } else {
        match state.inflight.try_acquire() {
            Ok(permit) => Some(permit),
            Err(_) => {
                return early_error(&ApiError::too_many_requests(
                    "Too many requests, please try again later.",
                ));
            }
        }
    };
    let (parts, body) = req.into_parts();
    let bytes = match read_body(body, body_patience).await {
        Ok(bytes) => bytes,
        Err(e) => return early_error(&e),
    };
    match route(state.clone(), user, &parts, bytes).await {
        Ok(response) => response,
        Err(e) => error_response(&e),
    }
}

async fn route(
    state: Arc<ApiState>,
    user: User,
    req: &hyper::http::request::Parts,
    bytes: Bytes,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri.path().to_string();
    match path.as_str() {
        "/healthz" | "/livez" | "/readyz" => return Ok(text_response(StatusCode::OK, "ok")),
        "/version" => return Ok(json_response(StatusCode::OK, &discovery::version())),
        // Exporters' metrics, as a scrape target: readable without a token, like an exporter.
        "/metrics" => {
            let mut response = text_response(StatusCode::OK, &crate::metrics::render(&state));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            return Ok(response);
        }
        _ => {}
    }
    if path == "/openapi/v2" {
        return Ok(openapi::v2(&state));
    }
    if let Some(rest) = path.strip_prefix("/openapi/v3") {
        return openapi::serve(&state, rest.trim_start_matches('/'));
    }
    let route = request::parse_path(&path)?;
    let rt = match route {
        Route::Discovery(d) => return discovery::serve(&state, &req.method, d),
        Route::Resource(ref r) => state
            .registry()
            .get(&r.group, &r.version, &r.resource)
            .ok_or_else(ApiError::path_not_found)?,
    };
    let Route::Resource(target) = route else {
        return Err(ApiError::path_not_found());
    };
    let verb = request::verb(&req.method, &target, &rt)?;
    if let Some(log) = state
        .recorded
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
    {
        // A list with ?watch=true is a watch, as RBAC counts it.
        let watching = req
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .any(|kv| matches!(kv, "watch=true" | "watch=1"));
        log.push(Access {
            verb: if verb == Verb::List && watching {
                "watch"
            } else {
                verb.rbac()
            },
            group: target.group.clone(),
            resource: match &target.subresource {
                Some(sub) => format!("{}/{sub}", target.resource),
                None => target.resource.clone(),
            },
            namespace: target.namespace.clone(),
            name: target.name.clone(),
        });
    }
    authorize(user, verb, &target, &rt)?;
    let query = request::Query::parse(req.uri.query())?;
    let ctx = request::Context {
        state,
        rt,
        target,
        query,
        accept: header_str(req, header::ACCEPT),
        content_type: header_str(req, header::CONTENT_TYPE),
        user_agent: header_str(req, header::USER_AGENT),
        user,
    };
    match verb {
        Verb::Get => read::get(&ctx),
        Verb::List => read::list(&ctx),
        Verb::Watch => read::watch(&ctx),
        Verb::Log => read::log(&ctx).await,
        Verb::Create => write::create(&ctx, &bytes),
        Verb::Evict => evict::evict(&ctx, &bytes),
        Verb::Update => write::update(&ctx, &bytes),
        Verb::Patch => write::patch(&ctx, &bytes),
        Verb::Delete => write::delete(&ctx, &bytes),
        Verb::DeleteCollection => write::delete_collection(&ctx, &bytes),
    }
}

/// Largest request body accepted (the real apiserver's limit is 3 MiB per object).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// How much of an oversized body is read and thrown away before answering 413, so the
/// client is not cut off mid-send (it would see a reset instead of the answer).
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// The request's body, within `patience` (408 when it stops coming).
async fn read_body(
    body: hyper::body::Incoming,
    patience: std::time::Duration,
) -> Result<Bytes, ApiError> {
    tokio::time::timeout(patience, read_all(body))
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::request_timeout(format!(
                "the request body did not arrive within {} s",
                patience.as_secs()
            )))
        })
}

async fn read_all(mut body: hyper::body::Incoming) -> Result<Bytes, ApiError> {
    let mut kept = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::bad_request("the request body could not be read"));
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= MAX_BODY {
            kept.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > MAX_BODY {
        return Err(ApiError::new_too_large(format!(
            "{seen} bytes or more, the limit is {MAX_BODY}"
        )));
    }
    Ok(kept.freeze())
}

impl ApiError {
    fn new_too_large(message: String) -> Self {
        ApiError {
            code: 413,
            reason: "RequestEntityTooLarge",
            message: format!("request body too large: {message}"),
            details: None,
        }
    }
}

fn authorize(
    user: User,
    verb: Verb,
    target: &request::Target,
    rt: &super::resources::ResourceType,
) -> Result<(), ApiError> {
    // Asking what you may do, or who you are, is always allowed, even read-only.
    if user == User::Admin || verb.is_read() || rt.create_only {
        return Ok(());
    }
    let scope = match &target.namespace {
        Some(ns) => format!(" in the namespace \"{ns}\""),
        None => " at the cluster scope".to_string(),
    };
    let resource = match &target.subresource {
        Some(sub) => format!("{}/{sub}", target.resource),
        None => target.resource.clone(),
    };
    let subject = match &target.name {
        Some(name) => format!("{} \"{name}\"", status::qualified(&rt.group, &rt.plural)),
        None => status::qualified(&rt.group, &rt.plural),
    };
    Err(ApiError::forbidden(format!(
        "{subject} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\"{scope}",
        user.name(),
        verb.rbac(),
        rt.group
    )))
}

fn header_str(req: &hyper::http::request::Parts, name: header::HeaderName) -> String {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub fn json_response(code: StatusCode, value: &serde_json::Value) -> Response<Body> {
    bytes_response(code, serde_json::to_vec(value).unwrap_or_default())
}

pub fn bytes_response(code: StatusCode, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(bytes));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

pub fn text_response(code: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(full(text.to_string()));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(code, &e.to_status());
    if e.code == 429 {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}
