//! Durations as users and Kubernetes write them.

use std::time::Duration;

/// A duration as Go's `time.ParseDuration` reads it ("90s", "1h30m", "1.5h", "500ms"); no
/// sign, and none past Go's limit (~292 years). Not kube's `Duration::from_str`: it panics
/// on an overflowing value ("99999999999999999999h"), which any client could send.
pub fn go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut nanos = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let amount: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += amount * unit;
    }
    (!s.is_empty() && nanos.is_finite() && nanos < i64::MAX as f64)
        .then(|| Duration::from_nanos(nanos as u64))
}
