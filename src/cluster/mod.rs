//! The only Kubernetes I/O of the cockpit and the agent: one list-then-watch task per kind,
//! each decoding straight into the compact types of `domain::objects`, feeding one immutable
//! `Snapshot` that is republished (an `Arc`, persistent maps: O(1) to clone) as things change.
//! Every source says whether it is synced, when it last heard something, and what went
//! wrong; it reconnects with backoff forever, and a kind that is not installed or not
//! allowed is shown as such while everything else keeps working.

mod access;
mod cause;
mod contexts;
mod kubeconfig;
mod lease;
mod list_body;
mod logs;
mod once;
mod watch;
mod yaml;

pub use access::{Access, Verdict, may, read_only, whoami};
pub use cause::{Cause, probe};
pub use contexts::{ConnectError, Contexts, context_listing, in_cluster};
pub use kubeconfig::{KubeconfigLoadError, read_kubeconfig};
pub use lease::{AgentLeases, agent_leases, lease_resource};
pub use logs::{LogEvent, LogOptions, follow as follow_logs};
pub use mlxp_core::kinds::KindName;
pub use mlxp_core::snapshot::{Kind, ObjectKey, Snapshot, Watched};
pub use mlxp_core::source::{ApiStatus, Reachability, SourceState, SourceStatus};
pub use once::{SyncError, snapshot_once};
pub use watch::{ClusterWatch, Reconnect, start, start_with};
pub use yaml::fetch_yaml;
