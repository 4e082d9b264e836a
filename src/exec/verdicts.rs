//! The server's access verdicts, kept a minute per context and request, so a burst of ops
//! (a drain's evictions, the cockpit's preview then apply) asks once; `:ctx` forgets them,
//! as new credentials may answer otherwise. Shared by the cockpit's op tasks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cluster::{Access, Verdict};

/// How long a verdict is trusted.
pub const VERDICT_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default)]
pub struct Verdicts {
    kept: Arc<Mutex<HashMap<String, (Verdict, Instant)>>>,
}

fn key(context: &str, a: &Access<'_>) -> String {
    format!(
        "{context}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
        a.verb,
        a.group,
        a.resource,
        a.subresource.unwrap_or_default(),
        a.namespace.unwrap_or_default(),
        a.name.unwrap_or_default()
    )
}

impl Verdicts {
    pub fn get(&self, context: &str, access: &Access<'_>, now: Instant) -> Option<Verdict> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(&key(context, access))
            .filter(|(_, at)| now.duration_since(*at) < VERDICT_TTL)
            .map(|(verdict, _)| verdict.clone())
    }

    pub fn put(&self, context: &str, access: &Access<'_>, verdict: Verdict, now: Instant) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|_, (_, at)| now.duration_since(*at) < VERDICT_TTL);
        kept.insert(key(context, access), (verdict, now));
    }

    /// Every verdict of `context` forgotten (it was switched to again: new credentials may
    /// answer otherwise).
    pub fn forget(&self, context: &str) {
        let prefix = format!("{context}\u{0}");
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|k, _| !k.starts_with(&prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_is_kept_a_minute_per_context_and_forgotten_on_a_switch() {
        let verdicts = Verdicts::default();
        let patch = Access {
            verb: "patch",
            group: "",
            resource: "nodes",
            name: Some("gpu-1"),
            ..Access::default()
        };
        let t0 = Instant::now();
        let yes = Verdict {
            allowed: true,
            reason: String::new(),
        };
        verdicts.put("a", &patch, yes.clone(), t0);
        assert_eq!(
            verdicts.get("a", &patch, t0 + Duration::from_secs(59)),
            Some(yes)
        );
        assert_eq!(verdicts.get("a", &patch, t0 + VERDICT_TTL), None);
        assert_eq!(verdicts.get("b", &patch, t0), None, "per context");
        let other = Access {
            name: Some("gpu-2"),
            ..patch
        };
        assert_eq!(verdicts.get("a", &other, t0), None, "per request");
        verdicts.forget("a");
        assert_eq!(verdicts.get("a", &patch, t0), None);
    }
}
