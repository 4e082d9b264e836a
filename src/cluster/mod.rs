//! The only Kubernetes I/O of the cockpit and the agent: watchers into compact stores, and the
//! Op executor. Filled by the cockpit issue.
