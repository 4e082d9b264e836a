//! The numbers from a Prometheus server: one instant query per metric for a
//! frame (all in flight at once), range queries for history.

use super::assemble::{self, Reading, Readings};
use super::{BoxFuture, MetricsConfig, MetricsError, MetricsFrame, MetricsSource, Series};
use chrono::{DateTime, Utc};
use futures::future::join_all;
use prometheus_http_query::response::Data;
use prometheus_http_query::{Client, Error as ClientFailure};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The [queries] names a frame runs.
pub(super) const FRAME_QUERIES: [&str; 10] = [
    "gpu_util",
    "gpu_fb_used",
    "gpu_fb_free",
    "gpu_power",
    "rps",
    "errors",
    "p50",
    "p99",
    "accuracy",
    "drift",
];

/// Without utilisation there is no list of GPUs at all, so only its failure
/// fails the frame; any other query failing just leaves its numbers empty.
const REQUIRED_QUERY: &str = "gpu_util";

pub struct Prometheus {
    client: Client,
    url: String,
    refresh: Duration,
    queries: BTreeMap<String, String>,
    /// Held across a fetch, so callers arriving meanwhile wait for its frame
    /// instead of sending the same queries again.
    cache: tokio::sync::Mutex<Option<CachedFrame>>,
    last_errors: Mutex<Vec<String>>,
}

struct CachedFrame {
    fetched: Instant,
    frame: MetricsFrame,
}

/// A file's content for a credential, trimmed; an error names the file, never the content.
fn secret(path: &std::path::Path, what: &str) -> Result<String, MetricsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| MetricsError::Config(format!("{what} {}: {e}", path.display())))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(MetricsError::Config(format!(
            "{what} {} is empty",
            path.display()
        )));
    }
    Ok(text)
}

/// A header value that the HTTP stack's debug output shows as "Sensitive".
fn sensitive(value: &str, what: &str) -> Result<reqwest::header::HeaderValue, MetricsError> {
    let mut value = reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| MetricsError::Config(format!("{what} is not a valid HTTP header value")))?;
    value.set_sensitive(true);
    Ok(value)
}

/// The client's credentials, extra headers and TLS trust, from `[prometheus]`.
fn access(
    builder: reqwest::ClientBuilder,
    access: &super::config::Access,
) -> Result<reqwest::ClientBuilder, MetricsError> {
    use base64::Engine;
    use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName};
    let mut headers = HeaderMap::new();
    for (name, value) in &access.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| MetricsError::Config(format!("header {name:?} is not valid")))?;
        headers.insert(name, sensitive(value, "a [prometheus.headers] value")?);
    }
    if let Some(file) = &access.bearer_token_file {
        let token = secret(file, "bearer_token_file")?;
        headers.insert(
            AUTHORIZATION,
            sensitive(&format!("Bearer {token}"), "the bearer token")?,
        );
    }
    if let Some((user, file)) = &access.basic_auth {
        let password = secret(file, "basic_auth_password_file")?;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.insert(
            AUTHORIZATION,
            sensitive(&format!("Basic {encoded}"), "basic auth")?,
        );
    }
    let mut builder = builder.default_headers(headers);
    if let Some(file) = &access.ca_file {
        let pem = std::fs::read(file)
            .map_err(|e| MetricsError::Config(format!("ca_file {}: {e}", file.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            MetricsError::Config(format!("ca_file {}: {}", file.display(), chain(&e)))
        })?;
        if certs.is_empty() {
            return Err(MetricsError::Config(format!(
                "ca_file {}: no PEM certificate in it",
                file.display()
            )));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if access.insecure_skip_verify {
        tracing::warn!(target: "mlxp::metrics", "insecure_skip_verify: the Prometheus server's certificate is not checked");
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

impl Prometheus {
    pub fn new(config: &MetricsConfig) -> Result<Self, MetricsError> {
        if config.url.is_empty() {
            return Err(MetricsError::Config("no Prometheus url configured".into()));
        }
        if let Some(missing) = FRAME_QUERIES
            .iter()
            .find(|name| !config.queries.contains_key(**name))
        {
            return Err(MetricsError::Config(format!("[queries] has no {missing}")));
        }
        // reqwest panics when building a client before a rustls provider is
        // installed; installing is idempotent, so this source never depends
        // on start-up order.
        crate::install_crypto_provider();
        let http = access(
            reqwest::Client::builder().timeout(config.timeout),
            &config.access,
        )?
        .build()
        .map_err(|e| {
            MetricsError::Config(format!("cannot build the HTTP client: {}", chain(&e)))
        })?;
        let client = Client::from(http, &config.url).map_err(|e| {
            MetricsError::Config(format!("prometheus url {:?}: {}", config.url, chain(&e)))
        })?;
        Ok(Self {
            client,
            url: config.url.clone(),
            refresh: config.refresh,
            queries: config.queries.clone(),
            cache: tokio::sync::Mutex::new(None),
            last_errors: Mutex::new(Vec::new()),
        })
    }

    /// What went wrong in the latest fetch, one line per failed query; empty
    /// when every query answered.
    pub fn last_errors(&self) -> Vec<String> {
        self.last_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn fetch_frame(&self) -> Result<MetricsFrame, MetricsError> {
        let at = Utc::now();
        let results = join_all(FRAME_QUERIES.map(|name| self.instant(name))).await;
        let fatal = results
            .iter()
            .zip(FRAME_QUERIES)
            .find_map(|(result, name)| match result {
                Err(e @ (MetricsError::Unreachable(_) | MetricsError::Timeout)) => Some(e.clone()),
                Err(e) if name == REQUIRED_QUERY => Some(e.clone()),
                _ => None,
            });
        if let Some(error) = fatal {
            self.record_errors(vec![error.to_string()]);
            return Err(error);
        }
        let mut readings = Readings::new();
        let mut errors = Vec::new();
        for (name, result) in FRAME_QUERIES.into_iter().zip(results) {
            match result {
                Ok(series) => {
                    readings.insert(name, series);
                }
                Err(error) => errors.push(error.to_string()),
            }
        }
        self.record_errors(errors);
        Ok(MetricsFrame {
            at,
            gpus: assemble::gpus(&readings),
            traffic: assemble::traffic(&readings),
            quality: assemble::quality(&readings),
        })
    }

    fn record_errors(&self, errors: Vec<String>) {
        *self
            .last_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = errors;
    }

    async fn instant(&self, name: &str) -> Result<Vec<Reading>, MetricsError> {
        // POST keeps long PromQL out of the URL, where proxies may cut it.
        let result = self.client.query(&self.queries[name]).post().await;
        match result.map_err(|e| classify(name, e))?.into_inner().0 {
            Data::Vector(vector) => Ok(vector
                .into_iter()
                .map(|series| {
                    let (labels, sample) = series.into_inner();
                    Reading {
                        labels,
                        value: sample.value(),
                    }
                })
                .collect()),
            other => Err(wrong_shape(name, "an instant vector", &other)),
        }
    }

    async fn range(
        &self,
        name: &str,
        range: Duration,
        step: Duration,
    ) -> Result<Vec<Series>, MetricsError> {
        let promql = self.queries.get(name).ok_or_else(|| MetricsError::Query {
            name: name.into(),
            message: "no such query in [queries]".into(),
        })?;
        let end = Utc::now().timestamp();
        let start = end.saturating_sub(i64::try_from(range.as_secs()).unwrap_or(i64::MAX));
        let result = self
            .client
            .query_range(promql, start, end, step.as_secs_f64())
            .post()
            .await;
        match result.map_err(|e| classify(name, e))?.into_inner().0 {
            Data::Matrix(matrix) => Ok(matrix
                .into_iter()
                .map(|series| {
                    let (labels, samples) = series.into_inner();
                    Series {
                        labels: labels.into_iter().collect(),
                        points: samples
                            .iter()
                            .filter_map(|sample| {
                                Some((instant_of(sample.timestamp())?, sample.value()))
                            })
                            .collect(),
                    }
                })
                .collect()),
            other => Err(wrong_shape(name, "a range vector", &other)),
        }
    }
}

impl MetricsSource for Prometheus {
    fn frame(&self) -> BoxFuture<'_, Result<MetricsFrame, MetricsError>> {
        Box::pin(async move {
            let mut cache = self.cache.lock().await;
            if let Some(cached) = cache
                .as_ref()
                .filter(|cached| cached.fetched.elapsed() < self.refresh)
            {
                return Ok(cached.frame.clone());
            }
            // Failures are not cached: the next call asks again.
            let frame = self.fetch_frame().await?;
            *cache = Some(CachedFrame {
                fetched: Instant::now(),
                frame: frame.clone(),
            });
            Ok(frame)
        })
    }

    fn history(
        &self,
        query: &str,
        range: Duration,
        step: Duration,
    ) -> BoxFuture<'_, Result<Vec<Series>, MetricsError>> {
        let query = query.to_owned();
        Box::pin(async move { self.range(&query, range, step).await })
    }

    fn describe(&self) -> String {
        format!("prometheus {}", self.url)
    }
}

/// Transport failures concern the whole server, anything else (a PromQL
/// error, an unexpected answer) only the query that got it.
fn classify(name: &str, failure: ClientFailure) -> MetricsError {
    if let ClientFailure::Client(client) = &failure
        && let Some(source) = client.inner()
    {
        if source.is_timeout() {
            return MetricsError::Timeout;
        }
        if source.is_connect() {
            // The cause alone: the request's URL would push it off the health line.
            return MetricsError::Unreachable(crate::cluster::Cause::of_chain(source).to_string());
        }
    }
    MetricsError::Query {
        name: name.into(),
        message: chain(&failure),
    }
}

/// The error and its causes on one line: the client's own messages are
/// vague ("failed to send request") and the reason sits in the sources.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn wrong_shape(name: &str, expected: &str, got: &Data) -> MetricsError {
    let got = match got {
        Data::Vector(_) => "an instant vector",
        Data::Matrix(_) => "a range vector",
        Data::Scalar(_) => "a scalar",
    };
    MetricsError::Query {
        name: name.into(),
        message: format!("expected {expected}, got {got}"),
    }
}

/// Prometheus timestamps are float seconds with millisecond precision.
fn instant_of(seconds: f64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
}
