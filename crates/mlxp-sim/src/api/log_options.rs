//! A pod log request's options (`PodLogOptions`), checked as the apiserver checks them and
//! applied to the log text: `container`, `sinceSeconds` or `sinceTime`, `tailLines`,
//! `limitBytes`, `timestamps`, `previous`.
//!
//! The sim's kubelet keeps each line as its time (RFC 3339), a space, and what the
//! container wrote; a client gets what was written, prefixed with the time only when it
//! asks for `timestamps`, as from a kubelet. `since…` go by that time; a line kept without
//! one has the time of the line before.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::status::ApiError;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct LogOptions {
    pub container: Option<String>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<DateTime<Utc>>,
    pub tail_lines: Option<i64>,
    pub limit_bytes: Option<i64>,
    pub timestamps: bool,
    pub previous: bool,
}

fn number(name: &str, value: &str) -> Result<i64, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "{name}: Invalid value: {value:?}: must be an integer"
        ))
    })
}

impl LogOptions {
    /// One query parameter, if it is a log option (false: not one).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ApiError> {
        match key {
            "container" => self.container = Some(value.to_string()),
            "sinceSeconds" => self.since_seconds = Some(number(key, value)?),
            "sinceTime" => {
                let at = DateTime::parse_from_rfc3339(value).map_err(|_| {
                    ApiError::bad_request(format!(
                        "sinceTime: Invalid value: {value:?}: must be a time in RFC 3339 format"
                    ))
                })?;
                self.since_time = Some(at.with_timezone(&Utc));
            }
            "tailLines" => self.tail_lines = Some(number(key, value)?),
            "limitBytes" => self.limit_bytes = Some(number(key, value)?),
            "timestamps" => self.timestamps = value == "true" || value == "1",
            "previous" => self.previous = value == "true" || value == "1",
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// What the apiserver's validation of PodLogOptions refuses (400, every cause).
    pub fn check(&self, pod: &Value) -> Result<(), ApiError> {
        let mut causes = Vec::new();
        if self.since_seconds.is_some() && self.since_time.is_some() {
            causes
                .push("at most one of `sinceTime` or `sinceSeconds` may be specified".to_string());
        }
        for (name, value, least) in [
            ("sinceSeconds", self.since_seconds, 1),
            ("tailLines", self.tail_lines, 0),
            ("limitBytes", self.limit_bytes, 1),
        ] {
            if let Some(n) = value
                && n < least
            {
                let must = if least == 0 {
                    "must be greater than or equal to 0"
                } else {
                    "must be greater than 0"
                };
                causes.push(format!("{name}: Invalid value: {n}: {must}"));
            }
        }
        if !causes.is_empty() {
            return Err(ApiError::bad_request(causes.join(", ")));
        }
        let name = pod["metadata"]["name"].as_str().unwrap_or("");
        let containers: Vec<&str> = ["initContainers", "containers"]
            .iter()
            .filter_map(|list| pod["spec"][list].as_array())
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        let container = match &self.container {
            Some(c) => {
                if !containers.contains(&c.as_str()) {
                    return Err(ApiError::bad_request(format!(
                        "container {c} is not valid for pod {name}"
                    )));
                }
                c.as_str()
            }
            None => containers.last().copied().unwrap_or(""),
        };
        if self.previous {
            // The sim's containers never restart: there is no previous instance.
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
        Ok(())
    }

    /// The part of `log` these options ask for, at `now`.
    pub fn select(&self, log: &str, now: DateTime<Utc>) -> String {
        let since = self.since_time.or_else(|| {
            self.since_seconds
                .map(|s| now - chrono::Duration::seconds(s))
        });
        let mut at: Option<DateTime<Utc>> = None;
        let mut lines: Vec<String> = Vec::new();
        for line in log.split_inclusive('\n') {
            // The kubelet's record of the line: its time, then what the container wrote.
            let (time, written) = match line.split_once(' ') {
                Some((first, rest)) => match DateTime::parse_from_rfc3339(first) {
                    Ok(time) => (Some(time.with_timezone(&Utc)), rest),
                    Err(_) => (None, line),
                },
                None => (None, line),
            };
            if time.is_some() {
                at = time;
            }
            if let (Some(since), Some(at)) = (since, at)
                && at < since
            {
                continue;
            }
            lines.push(match (self.timestamps, at) {
                (true, Some(at)) => format!(
                    "{} {written}",
                    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
                ),
                _ => written.to_string(),
            });
        }
        if let Some(n) = self.tail_lines {
            let keep = usize::try_from(n).unwrap_or(0);
            let skip = lines.len().saturating_sub(keep);
            lines.drain(..skip);
        }
        let mut text = lines.concat();
        if let Some(limit) = self.limit_bytes.and_then(|n| usize::try_from(n).ok())
            && text.len() > limit
        {
            let mut cut = limit;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("a time")
            .with_timezone(&Utc)
    }

    const LOG: &str = "2026-12-07T10:00:00Z starting\n  detail\n2026-12-07T10:05:00Z epoch 1\n2026-12-07T10:10:00Z epoch 2\n";

    #[test]
    fn since_tail_limit_and_timestamps_select_from_the_log() {
        let now = at("2026-12-07T10:11:00Z");
        let opts = |f: &dyn Fn(&mut LogOptions)| {
            let mut o = LogOptions::default();
            f(&mut o);
            o.select(LOG, now)
        };
        assert_eq!(opts(&|_| {}), "starting\n  detail\nepoch 1\nepoch 2\n");
        assert_eq!(opts(&|o| o.since_seconds = Some(400)), "epoch 1\nepoch 2\n");
        assert_eq!(
            opts(&|o| o.since_time = Some(at("2026-12-07T10:10:00Z"))),
            "epoch 2\n"
        );
        assert_eq!(opts(&|o| o.tail_lines = Some(1)), "epoch 2\n");
        assert_eq!(opts(&|o| o.limit_bytes = Some(10)), "starting\n ");
        assert_eq!(
            opts(&|o| {
                o.timestamps = true;
                o.tail_lines = Some(3)
            }),
            "2026-12-07T10:00:00Z   detail\n2026-12-07T10:05:00Z epoch 1\n2026-12-07T10:10:00Z epoch 2\n"
        );
    }

    #[test]
    fn bad_options_are_refused_as_the_apiserver_words_them() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "main"}]}});
        let refused = |f: &dyn Fn(&mut LogOptions)| {
            let mut o = LogOptions::default();
            f(&mut o);
            o.check(&pod).expect_err("refused").message
        };
        assert!(
            refused(&|o| o.since_seconds = Some(0))
                .contains("sinceSeconds: Invalid value: 0: must be greater than 0")
        );
        assert!(
            refused(&|o| o.tail_lines = Some(-1))
                .contains("tailLines: Invalid value: -1: must be greater than or equal to 0")
        );
        assert!(
            refused(&|o| {
                o.since_seconds = Some(5);
                o.since_time = Some(at("2026-12-07T10:00:00Z"))
            })
            .contains("at most one of `sinceTime` or `sinceSeconds` may be specified")
        );
        assert!(
            refused(&|o| o.container = Some("nope".into()))
                .contains("container nope is not valid for pod p")
        );
        assert!(
            refused(&|o| o.previous = true)
                .contains("previous terminated container \"main\" in pod \"p\" not found")
        );
        let mut bad = LogOptions::default();
        assert!(bad.set("sinceTime", "yesterday").is_err());
        assert!(bad.set("limitBytes", "ten").is_err());
    }
}
