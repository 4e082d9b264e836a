//! The audit log: one JSON line per attempted op, who, where, what and how it ended
//! (`$XDG_STATE_HOME/mlxp/audit.jsonl`, else `~/.local/state/mlxp/audit.jsonl`).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ExecError, Mode, Outcome};
use mlxp_core::ops::Op;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLine {
    pub time: DateTime<Utc>,
    pub context: String,
    pub user: String,
    pub op: serde_json::Value,
    pub dry_run: bool,
    /// "done", or why not: "refused: …", "forbidden: …", "conflict: …", "failed: …".
    pub result: String,
    /// The effect in words, when the op was planned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect: String,
}

impl AuditLine {
    pub fn of(
        context: &str,
        user: &str,
        op: &Op,
        mode: Mode,
        result: &Result<Outcome, ExecError>,
    ) -> Self {
        AuditLine {
            time: Utc::now(),
            context: context.to_string(),
            user: user.to_string(),
            op: serde_json::to_value(op).unwrap_or_default(),
            dry_run: mode == Mode::DryRun,
            result: match result {
                Ok(_) => "done".into(),
                Err(e @ ExecError::Refused(_)) => format!("refused: {e}"),
                Err(e @ ExecError::Forbidden { .. }) => e.to_string(),
                Err(e @ ExecError::Conflict { .. }) => format!("conflict: {e}"),
                Err(e @ (ExecError::Unanswered { .. } | ExecError::AnswerLost { .. })) => {
                    format!("unknown: {e}")
                }
                Err(e @ (ExecError::Api { .. } | ExecError::Stopped { .. })) => {
                    format!("failed: {e}")
                }
            },
            effect: result
                .as_ref()
                .map(|o| o.effect.clone())
                .unwrap_or_default(),
        }
    }
}

pub fn default_audit_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("mlxp/audit.jsonl"))
}

pub fn append(path: &Path, line: &AuditLine) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
    text.push('\n');
    // One write of the whole line, appended: lines of concurrent mlxp processes do not mix.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}
