//! Tests of the metrics sources against a fake Prometheus, and of the
//! configuration overlay.

mod access;
mod config;
mod fake_prometheus;
mod frame;
mod history;
mod transport;

use super::MetricsConfig;
use std::time::Duration;

/// The default queries, pointed at `url`, with a refresh long enough that
/// only the caching test ever sees it expire.
fn config_for(url: &str) -> MetricsConfig {
    MetricsConfig {
        url: url.to_owned(),
        timeout: Duration::from_secs(2),
        refresh: Duration::from_secs(60),
        ..MetricsConfig::defaults()
    }
}

/// The PromQL the default configuration runs for `name`.
fn promql(name: &str) -> String {
    MetricsConfig::defaults().queries[name].clone()
}
