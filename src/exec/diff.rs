//! An object before and after a change, as a unified diff of its YAML: what the dry-run
//! says the change does, field by field.

use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use mlxp_core::ops::Target;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub target: String,
    /// Unified, three lines of context; empty when nothing changes.
    pub text: String,
}

impl Diff {
    pub fn of(target: &Target, before: &Value, after: &Value) -> Diff {
        let (before, after) = (yaml(before), yaml(after));
        let text = if before == after {
            String::new()
        } else {
            TextDiff::from_lines(&before, &after)
                .unified_diff()
                .context_radius(3)
                .header(&format!("{target} (now)"), &format!("{target} (after)"))
                .to_string()
        };
        Diff {
            target: target.to_string(),
            text,
        }
    }
}

impl Diff {
    /// A change better said in words than as YAML (a pod evicted).
    pub fn note(target: &Target, what: &str) -> Diff {
        Diff {
            target: target.to_string(),
            text: format!("{target}: {what}\n"),
        }
    }
}

/// The object as YAML, without what changes on every write and says nothing of the
/// change (resourceVersion, managedFields, generation).
fn yaml(object: &Value) -> String {
    // Nothing before a create.
    if object.is_null() {
        return String::new();
    }
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for noise in ["resourceVersion", "managedFields", "generation"] {
            meta.remove(noise);
        }
    }
    serde_saphyr::to_string(&object).unwrap_or_else(|e| format!("(not shown: {e})\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlxp_core::kinds::KindName;
    use serde_json::json;

    #[test]
    fn the_diff_shows_the_changed_weight_and_not_the_resource_version() {
        let target = Target {
            kind: KindName::HttpRoutes,
            namespace: Some("serving".into()),
            name: "r".into(),
        };
        let before =
            json!({"metadata": {"name": "r", "resourceVersion": "1"}, "spec": {"weight": 80}});
        let after =
            json!({"metadata": {"name": "r", "resourceVersion": "2"}, "spec": {"weight": 50}});
        let diff = Diff::of(&target, &before, &after);
        assert!(
            diff.text.contains("-  weight: 80\n+  weight: 50\n"),
            "{}",
            diff.text
        );
        assert!(!diff.text.contains("resourceVersion"), "{}", diff.text);
        assert_eq!(Diff::of(&target, &before, &before).text, "");
    }
}
