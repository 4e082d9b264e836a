use crate::metrics::prometheus::FRAME_QUERIES;
use crate::metrics::{MetricsConfig, MetricsError};
use std::path::Path;
use std::time::Duration;

fn load(text: &str) -> Result<MetricsConfig, MetricsError> {
    MetricsConfig::from_toml(text, Path::new("/home/me/.config/mlxp/mlxp.toml"))
}

fn config_error(text: &str) -> String {
    match load(text) {
        Err(MetricsError::Config(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn defaults_are_the_documented_file() {
    let defaults = MetricsConfig::defaults();

    assert_eq!(defaults.url, "");
    assert_eq!(defaults.timeout, Duration::from_secs(5));
    assert_eq!(defaults.refresh, Duration::from_secs(10));
    assert_eq!(
        defaults
            .queries
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        {
            let mut names = FRAME_QUERIES.to_vec();
            names.sort();
            names
        }
    );
    assert_eq!(
        defaults.queries["errors"],
        r#"sum by (model, version) (rate(mlxp_requests_total{code=~"5.."}[1m]))"#
    );
}

#[test]
fn user_file_overrides_only_the_keys_it_gives() {
    let text = r#"
[keys]
quit = "q"

[prometheus]
url = "http://prometheus.monitoring:9090"
refresh_seconds = 30

[queries]
p99 = "my_p99"
queue_depth = "sum(kueue_pending_workloads)"
"#;

    let config = load(text).unwrap();

    let defaults = MetricsConfig::defaults();
    assert_eq!(config.url, "http://prometheus.monitoring:9090");
    assert_eq!(config.refresh, Duration::from_secs(30));
    assert_eq!(config.timeout, defaults.timeout);
    assert_eq!(config.queries["p99"], "my_p99");
    assert_eq!(
        config.queries["queue_depth"],
        "sum(kueue_pending_workloads)"
    );
    assert_eq!(config.queries["p50"], defaults.queries["p50"]);
    assert_eq!(config.queries.len(), defaults.queries.len() + 1);
}

#[test]
fn wrong_type_is_reported_with_path_and_line() {
    let message = config_error("[prometheus]\nurl = \"\"\ntimeout_seconds = \"five\"\n");

    assert!(
        message.starts_with("/home/me/.config/mlxp/mlxp.toml:3: "),
        "{message}"
    );
}

#[test]
fn misspelt_prometheus_key_is_reported_with_its_line() {
    let message = config_error("[prometheus]\n\nrefresh_secs = 3\n");

    assert!(
        message.starts_with("/home/me/.config/mlxp/mlxp.toml:3: "),
        "{message}"
    );
    assert!(message.contains("refresh_secs"), "{message}");
}

#[test]
fn values_the_types_allow_but_mlxp_does_not_are_reported_with_their_line() {
    let zero_timeout = config_error("[prometheus]\ntimeout_seconds = 0\n");
    let not_http = config_error("\n[prometheus]\nurl = \"prometheus:9090\"\n");

    assert!(
        zero_timeout.ends_with(":2: timeout_seconds must be at least 1"),
        "{zero_timeout}"
    );
    assert!(
        not_http.contains("mlxp.toml:3: url must be http or https"),
        "{not_http}"
    );
}

#[test]
fn broken_toml_is_reported_with_its_line() {
    let message = config_error("[prometheus]\nurl = \"http://x\"\n[queries\n");

    assert!(
        message.starts_with("/home/me/.config/mlxp/mlxp.toml:3: "),
        "{message}"
    );
}
