//! What the credentials in use may do and who they are, asked of the server as `kubectl
//! auth can-i` (SelfSubjectAccessReview) and `kubectl auth whoami` (SelfSubjectReview) do:
//! the header's "read-only" and the executor's access check follow them, not only a flag.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
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

/// One request an access review asks about.
#[derive(Debug, Clone, Copy, Default)]
pub struct Access<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    /// None: in any namespace (or a cluster-scoped resource).
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// The server's answer: allowed or not, and its reason when it gave one.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    pub reason: String,
}

/// Whether these credentials may do `access`.
pub async fn may(client: &kube::Client, access: Access<'_>) -> Result<Verdict, Cause> {
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(access.verb.into()),
                group: Some(access.group.into()),
                resource: Some(access.resource.into()),
                subresource: access.subresource.map(String::from),
                namespace: access.namespace.map(String::from),
                name: access.name.map(String::from),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = tokio::time::timeout(DEADLINE, reviews.create(&PostParams::default(), &review))
        .await
        .map_err(|_| Cause::TimedOut)?
        .map_err(|e| Cause::of(&e))?;
    let status = answer.status.unwrap_or_default();
    Ok(Verdict {
        allowed: status.allowed,
        reason: status.reason.unwrap_or_default(),
    })
}

/// Whether these credentials may make none of mlxp's writes, in any namespace.
pub async fn read_only(client: &kube::Client) -> Result<bool, Cause> {
    for (verb, group, resource) in WRITES {
        let access = Access {
            verb,
            group,
            resource,
            ..Default::default()
        };
        if may(client, access).await?.allowed {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The user these credentials authenticate as.
pub async fn whoami(client: &kube::Client) -> Result<String, Cause> {
    let reviews: Api<SelfSubjectReview> = Api::all(client.clone());
    let answer = tokio::time::timeout(
        DEADLINE,
        reviews.create(&PostParams::default(), &SelfSubjectReview::default()),
    )
    .await
    .map_err(|_| Cause::TimedOut)?
    .map_err(|e| Cause::of(&e))?;
    Ok(answer
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username)
        .unwrap_or_default())
}
