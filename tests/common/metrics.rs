//! Metrics sources for the agent's tests.

use std::time::Duration;

use mlxp_core::metrics::{BoxFuture, MetricsError, MetricsFrame, MetricsSource, Series};

/// A metrics source that is down: every frame is refused.
pub struct Down;

impl MetricsSource for Down {
    fn frame(&self) -> BoxFuture<'_, Result<MetricsFrame, MetricsError>> {
        Box::pin(async { Err(MetricsError::Unreachable("connection refused".into())) })
    }

    fn history(
        &self,
        _: &str,
        _: Duration,
        _: Duration,
    ) -> BoxFuture<'_, Result<Vec<Series>, MetricsError>> {
        Box::pin(async { Err(MetricsError::Timeout) })
    }

    fn describe(&self) -> String {
        "down".into()
    }
}
