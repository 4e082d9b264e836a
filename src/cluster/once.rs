//! One complete snapshot, through the same watchers as the cockpit: what a verb that runs
//! once (`mlxp get`, an operation) reads the cluster with.

use std::sync::Arc;
use std::time::Duration;

use super::Snapshot;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the cluster did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("the watchers stopped before every kind was listed")]
    Stopped,
}

/// The first snapshot in which every kind is listed (or known not to be there).
pub async fn snapshot_once(
    client: kube::Client,
    within: Duration,
) -> Result<Arc<Snapshot>, SyncError> {
    let watch = super::start(client);
    let mut updates = watch.subscribe();
    tokio::time::timeout(within, async {
        loop {
            let latest = updates.borrow_and_update().clone();
            if latest.complete() {
                return Ok(latest);
            }
            updates.changed().await.map_err(|_| SyncError::Stopped)?;
        }
    })
    .await
    .map_err(|_| SyncError::TimedOut(within))?
}
