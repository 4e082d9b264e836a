//! The `[prometheus]` and `[queries]` sections of mlxp.toml. The documented
//! defaults are compiled in; a user's file is laid over them key by key.

use super::MetricsError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

const DEFAULT_PATH: &str = "config/mlxp.toml";
const DEFAULT_FILE: &str = include_str!("../../config/mlxp.toml");

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// Base URL of the Prometheus HTTP API; empty when there is none.
    pub url: String,
    pub timeout: Duration,
    /// How long a fetched frame is reused.
    pub refresh: Duration,
    /// PromQL by name; the frame uses a fixed set of names, history any.
    pub queries: BTreeMap<String, String>,
    /// How to reach a Prometheus that asks who it is talking to, and over which TLS.
    pub access: Access,
}

/// Credentials and TLS for the Prometheus API, as users run it behind a proxy or as a
/// multi-tenant Thanos, Cortex or Mimir. Secrets are named by file, read when the source
/// is made, and never kept here: this is printed in errors and debug logs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Access {
    /// `Authorization: Bearer <the file's content>`.
    pub bearer_token_file: Option<PathBuf>,
    /// Basic auth: the user name and the file holding the password.
    pub basic_auth: Option<(String, PathBuf)>,
    /// PEM certificates trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (a test setup; says so where it is read).
    pub insecure_skip_verify: bool,
    /// Sent with every request, e.g. `X-Scope-OrgID` for a tenant (values kept sensitive).
    pub headers: BTreeMap<String, String>,
}

/// What a file may say about metrics. Every key is optional so that a user's
/// file gives only what it changes. Other top-level tables belong to other
/// modules and are ignored here.
#[derive(Deserialize)]
struct Sections {
    #[serde(default)]
    prometheus: PrometheusSection,
    #[serde(default)]
    queries: BTreeMap<String, String>,
}

/// This module owns `[prometheus]`, so a misspelt key there is reported
/// instead of being silently ignored. Spans let checks beyond the types
/// point at the offending line.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PrometheusSection {
    url: Option<Spanned<String>>,
    timeout_seconds: Option<Spanned<u64>>,
    refresh_seconds: Option<u64>,
    bearer_token_file: Option<Spanned<String>>,
    basic_auth_username: Option<Spanned<String>>,
    basic_auth_password_file: Option<Spanned<String>>,
    ca_file: Option<String>,
    insecure_skip_verify: Option<bool>,
    headers: Option<BTreeMap<String, Spanned<String>>>,
}

impl MetricsConfig {
    /// The compiled-in `config/mlxp.toml`.
    pub fn defaults() -> Self {
        // Every value is replaced by the default file, which sets all keys.
        let empty = Self {
            url: String::new(),
            timeout: Duration::ZERO,
            refresh: Duration::ZERO,
            queries: BTreeMap::new(),
            access: Access::default(),
        };
        empty
            .overlay(DEFAULT_FILE, Path::new(DEFAULT_PATH))
            .expect("the compiled-in config/mlxp.toml is valid")
    }

    /// The defaults with the keys of the file at `path` (whose content is
    /// `text`) laid over them. Errors read "path:line: message".
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, MetricsError> {
        Self::defaults().overlay(text, path)
    }

    fn overlay(mut self, text: &str, path: &Path) -> Result<Self, MetricsError> {
        let error = |span: Option<Range<usize>>, message: &str| located(text, path, span, message);
        let sections: Sections = toml::from_str(text).map_err(|e| error(e.span(), e.message()))?;
        let prometheus = sections.prometheus;
        if let Some(url) = prometheus.url {
            check_url(url.get_ref()).map_err(|message| error(Some(url.span()), &message))?;
            self.url = url.into_inner();
        }
        if let Some(timeout) = prometheus.timeout_seconds {
            if *timeout.get_ref() == 0 {
                return Err(error(
                    Some(timeout.span()),
                    "timeout_seconds must be at least 1",
                ));
            }
            self.timeout = Duration::from_secs(timeout.into_inner());
        }
        if let Some(refresh) = prometheus.refresh_seconds {
            self.refresh = Duration::from_secs(refresh);
        }
        // Files named relative to the config file, as Prometheus reads its own.
        let beside = |file: &str| match path.parent() {
            Some(dir) if Path::new(file).is_relative() => dir.join(file),
            _ => PathBuf::from(file),
        };
        if let Some(file) = &prometheus.bearer_token_file {
            self.access.bearer_token_file = Some(beside(file.get_ref()));
        }
        match (
            prometheus.basic_auth_username,
            prometheus.basic_auth_password_file,
        ) {
            (Some(user), Some(file)) => {
                self.access.basic_auth = Some((user.into_inner(), beside(file.get_ref())))
            }
            (Some(user), None) => {
                return Err(error(
                    Some(user.span()),
                    "basic_auth_username needs basic_auth_password_file",
                ));
            }
            (None, Some(file)) => {
                return Err(error(
                    Some(file.span()),
                    "basic_auth_password_file needs basic_auth_username",
                ));
            }
            (None, None) => {}
        }
        if let (Some(token), Some(_)) = (&prometheus.bearer_token_file, &self.access.basic_auth) {
            return Err(error(
                Some(token.span()),
                "bearer_token_file and basic auth cannot both be set",
            ));
        }
        if let Some(file) = &prometheus.ca_file {
            self.access.ca_file = Some(beside(file));
        }
        if let Some(insecure) = prometheus.insecure_skip_verify {
            self.access.insecure_skip_verify = insecure;
        }
        for (name, value) in prometheus.headers.unwrap_or_default() {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                || reqwest::header::HeaderValue::from_str(value.get_ref()).is_err()
            {
                return Err(error(
                    Some(value.span()),
                    &format!("headers: {name:?} is not a valid HTTP header"),
                ));
            }
            self.access.headers.insert(name, value.into_inner());
        }
        self.queries.extend(sections.queries);
        Ok(self)
    }
}

/// Empty means "no Prometheus"; anything else must be an http(s) URL, caught
/// here so the user learns the line instead of a failure at connect time.
fn check_url(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Ok(());
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        Ok(parsed) => Err(format!(
            "url must be http or https, not {}",
            parsed.scheme()
        )),
        Err(e) => Err(format!("url {url:?} is not a URL: {e}")),
    }
}

fn located(text: &str, path: &Path, span: Option<Range<usize>>, message: &str) -> MetricsError {
    MetricsError::Config(mlxp_core::domain::located::located(
        text, path, span, message,
    ))
}
