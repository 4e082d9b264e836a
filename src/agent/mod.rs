//! Headless policies (canary analysis, drift retraining, GPU cost). Filled by the agent issue.
