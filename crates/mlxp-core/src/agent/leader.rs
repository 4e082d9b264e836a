//! Who leads the agents, as the `mlxp-agent` Lease says it: what the cockpit's header
//! shows of an agent running elsewhere (in the cluster, on another machine). A lease not
//! renewed within its duration means no agent acts; a lease that cannot be read is unknown,
//! never taken for a healthy one.

use chrono::{DateTime, Utc};

/// One `mlxp-agent` Lease as read.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseRecord {
    pub namespace: String,
    /// None: released (its last holder stopped).
    pub holder: Option<String>,
    pub renewed: Option<DateTime<Utc>>,
    pub duration_seconds: i64,
}

/// What is known of the leases.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseSeen {
    /// Not read yet, or the read fails (why).
    Unknown(String),
    /// Every `mlxp-agent` Lease, in any namespace (none: no agent ever elected here).
    Seen(Vec<LeaseRecord>),
}

/// A line about the agent for the header, and whether it is trouble (shown as a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLine {
    pub text: String,
    pub trouble: bool,
}

impl AgentLine {
    fn fine(text: String) -> AgentLine {
        AgentLine {
            text,
            trouble: false,
        }
    }

    fn trouble(text: String) -> AgentLine {
        AgentLine {
            text,
            trouble: true,
        }
    }
}

/// The line for the lease seen at `now`; None when there is no lease at all (no agent runs
/// with an election here: nothing to say). `api_silent`: what was read may be old, so a
/// lease that looks expired may only look so.
pub fn leader_line(seen: &LeaseSeen, now: DateTime<Utc>, api_silent: bool) -> Option<AgentLine> {
    let leases = match seen {
        LeaseSeen::Unknown(why) => {
            return Some(AgentLine::trouble(format!(
                "unknown (the mlxp-agent Lease: {why})"
            )));
        }
        LeaseSeen::Seen(leases) => leases,
    };
    if api_silent && !leases.is_empty() {
        return Some(AgentLine::trouble(
            "unknown (the API server is silent)".into(),
        ));
    }
    // The freshest one speaks for the agents: an old lease elsewhere is a past install.
    let lease = leases.iter().max_by_key(|l| l.renewed)?;
    let ago = lease
        .renewed
        .map(|at| (now - at).num_seconds().max(0))
        .unwrap_or(i64::MAX);
    let when = |ago: i64| match ago {
        i64::MAX => "never renewed".to_string(),
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    };
    Some(match &lease.holder {
        Some(holder) if ago <= lease.duration_seconds => {
            AgentLine::fine(format!("{holder} leads · renewed {}", when(ago)))
        }
        Some(holder) => AgentLine::trouble(format!(
            "none acting: {holder}'s lease lapsed (renewed {})",
            when(ago)
        )),
        None => AgentLine::trouble(format!(
            "none acting: the lease was released (renewed {})",
            when(ago)
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("a time")
            .with_timezone(&Utc)
    }

    fn lease(ns: &str, holder: Option<&str>, renewed: &str) -> LeaseRecord {
        LeaseRecord {
            namespace: ns.into(),
            holder: holder.map(String::from),
            renewed: Some(at(renewed)),
            duration_seconds: 15,
        }
    }

    #[test]
    fn the_header_says_who_leads_and_when_no_one_acts() {
        let now = at("2026-12-07T10:00:00Z");
        let seen = |l: Vec<LeaseRecord>| LeaseSeen::Seen(l);
        assert_eq!(leader_line(&seen(vec![]), now, false), None);
        let held = seen(vec![
            lease("old", Some("mlxp-agent-old"), "2026-11-01T00:00:00Z"),
            lease(
                "mlxp-system",
                Some("mlxp-agent-7f9c"),
                "2026-12-07T09:59:57Z",
            ),
        ]);
        assert_eq!(
            leader_line(&held, now, false),
            Some(AgentLine::fine(
                "mlxp-agent-7f9c leads · renewed 3 s ago".into()
            ))
        );
        // The same read while the API server is silent: not vouched for.
        assert!(leader_line(&held, now, true).expect("a line").trouble);
        let lapsed = seen(vec![lease(
            "mlxp-system",
            Some("mlxp-agent-7f9c"),
            "2026-12-07T09:56:00Z",
        )]);
        assert_eq!(
            leader_line(&lapsed, now, false),
            Some(AgentLine::trouble(
                "none acting: mlxp-agent-7f9c's lease lapsed (renewed 4 min ago)".into()
            ))
        );
        let released = seen(vec![lease("mlxp-system", None, "2026-12-07T09:59:50Z")]);
        assert_eq!(
            leader_line(&released, now, false).expect("a line").text,
            "none acting: the lease was released (renewed 10 s ago)"
        );
        let unknown = LeaseSeen::Unknown("Forbidden".into());
        assert_eq!(
            leader_line(&unknown, now, false),
            Some(AgentLine::trouble(
                "unknown (the mlxp-agent Lease: Forbidden)".into()
            ))
        );
    }
}
