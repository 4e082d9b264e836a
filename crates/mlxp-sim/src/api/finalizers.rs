//! Finalizers, as the apiserver keeps them: an object that has some is not removed by a
//! DELETE but marked (`deletionTimestamp`), and stays until whoever put them there takes
//! the last one off; none may be added while it is being deleted.

use serde_json::{Value, json};

use super::status::ApiError;

fn finalizers(object: &Value) -> Vec<&str> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether a DELETE only marks the object (it has finalizers).
pub fn holds(object: &Value) -> bool {
    !finalizers(object).is_empty()
}

pub fn being_deleted(object: &Value) -> bool {
    !object["metadata"]["deletionTimestamp"].is_null()
}

/// The object marked for deletion at `now` (already marked: as it is).
pub fn marked(mut object: Value, now: &str) -> Value {
    if !being_deleted(&object) {
        object["metadata"]["deletionTimestamp"] = json!(now);
        object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    }
    object
}

/// An update of an object being deleted may only take finalizers off.
pub fn check_update(old: &Value, new: &Value, kind: &str, group: &str) -> Result<(), ApiError> {
    let before = finalizers(old);
    let added: Vec<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .map(|f| format!("{f:?}"))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let name = new["metadata"]["name"].as_str().unwrap_or("");
    Err(ApiError::invalid(
        kind,
        group,
        name,
        vec![(
            "metadata.finalizers".into(),
            format!(
                "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                added.join(", ")
            ),
        )],
    ))
}
