//! The `[prometheus]` and `[queries]` sections of mlxp.toml. The documented
//! defaults are compiled in; a user's file is laid over them key by key.

use super::MetricsError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
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
