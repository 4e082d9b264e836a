//! What the credentials in use may change, asked of the server (SelfSubjectAccessReview) as
//! `kubectl auth can-i` does: the header's "read-only" follows them, not only the flag.

use std::time::Duration;

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

use super::cause::Cause;

const DEADLINE: Duration = Duration::from_secs(10);

/// The writes mlxp's actions make: a training Job, a canary's route weights.
const WRITES: [(&str, &str, &str); 2] = [
    ("create", "batch", "jobs"),
    ("patch", "gateway.networking.k8s.io", "httproutes"),
];

/// Whether these credentials may make none of mlxp's writes, in any namespace.
pub async fn read_only(client: &kube::Client) -> Result<bool, Cause> {
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    for (verb, group, resource) in WRITES {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.into()),
                    group: Some(group.into()),
                    resource: Some(resource.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer =
            tokio::time::timeout(DEADLINE, reviews.create(&PostParams::default(), &review))
                .await
                .map_err(|_| Cause::TimedOut)?
                .map_err(|e| Cause::of(&e))?;
        if answer.status.is_some_and(|s| s.allowed) {
            return Ok(false);
        }
    }
    Ok(true)
}
