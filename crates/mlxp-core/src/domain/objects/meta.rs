//! Object metadata and conditions, as much as the cockpit uses.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::null_default;
use super::shared::{Labels, SharedStr};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default)]
    pub name: String,
    /// Shared: a cluster has a few namespaces and a great many objects in each.
    #[serde(default)]
    pub namespace: SharedStr,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub resource_version: String,
    #[serde(default)]
    pub creation_timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub deletion_timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default, deserialize_with = "null_default")]
    pub owner_references: Vec<Owner>,
}

impl Meta {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key)
    }

    /// The controlling owner, if any.
    pub fn controller(&self) -> Option<&Owner> {
        self.owner_references
            .iter()
            .find(|o| o.controller == Some(true))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Owner {
    #[serde(default)]
    pub kind: SharedStr,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub controller: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub last_transition_time: Option<DateTime<Utc>>,
}

/// Whether the condition of that type is True.
pub fn is_true(conditions: &[Condition], kind: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.kind == kind && c.status == "True")
}

/// When the object last changed, as far as its conditions record it: the newest
/// `lastTransitionTime` among them.
pub fn last_transition(conditions: &[Condition]) -> Option<DateTime<Utc>> {
    conditions
        .iter()
        .filter_map(|c| c.last_transition_time)
        .max()
}

/// The condition of that type.
pub fn find<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.kind == kind)
}
