//! Where the cockpit gets its numbers: GPU use, serving traffic and model
//! quality, read from a [`MetricsSource`] (Prometheus, or the demo's embedded
//! source) so the views never know which one is behind them.

pub mod config;
pub mod prometheus;
#[cfg(test)]
mod tests;

pub use config::MetricsConfig;
pub use mlxp_core::metrics::*;
pub use prometheus::Prometheus;
