//! Metrics sources (Prometheus, and the embedded cluster's own). Filled by the cockpit issue.
