//! Cron schedules as the CronJob controller reads them (`cron.ParseStandard` of
//! robfig/cron v3): five fields (minute hour day-of-month month day-of-week) with `*`, `?`,
//! lists, ranges, steps and month / weekday names, or a descriptor (`@hourly`, `@daily`,
//! `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`, `@every <duration>`). UTC only.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

/// Set on a field written `*` or `?` (robfig's `starBit`): day-of-month and day-of-week
/// combine with OR only when neither is starred.
const STAR: u64 = 1 << 63;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Bit sets of the allowed values of each field.
    Fields {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
    },
    /// `@every`: a fixed delay from the previous time, in whole seconds (at least one).
    Every(i64),
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses a schedule; `None` for anything robfig/cron's standard parser rejects.
pub fn parse(spec: &str) -> Option<Schedule> {
    let spec = spec.trim();
    let spec = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => other,
    };
    if let Some(every) = spec.strip_prefix("@every ") {
        let secs = (super::go_duration(every)?.as_secs() as i64).max(1);
        return Some(Schedule::Every(secs));
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields[..] else {
        return None;
    };
    Some(Schedule::Fields {
        minute: field(minute, 0, 59, &[])?,
        hour: field(hour, 0, 23, &[])?,
        dom: field(dom, 1, 31, &[])?,
        month: field(month, 1, 12, &MONTHS)?,
        dow: field(dow, 0, 6, &DAYS)?,
    })
}

/// One field: comma-separated ranges (`getField` / `getRange` in robfig/cron).
fn field(expr: &str, min: u32, max: u32, names: &[&str]) -> Option<u64> {
    let mut bits = 0;
    for part in expr.split(',') {
        bits |= range(part, min, max, names)?;
    }
    Some(bits)
}

fn range(expr: &str, min: u32, max: u32, names: &[&str]) -> Option<u64> {
    let (span, step) = match expr.split_once('/') {
        Some((span, step)) => (span, Some(number(step)?)),
        None => (expr, None),
    };
    let (mut start, mut end, mut extra, single) = if span == "*" || span == "?" {
        (min, max, STAR, false)
    } else {
        match span.split_once('-') {
            Some((lo, hi)) => (value(lo, min, names)?, value(hi, min, names)?, 0, false),
            None => {
                let v = value(span, min, names)?;
                (v, v, 0, true)
            }
        }
    };
    let step = step.unwrap_or(1);
    if expr.contains('/') {
        // "N/step" means "N-max/step".
        if single {
            end = max;
        }
        if step > 1 {
            extra = 0;
        }
    }
    if start < min || end > max || start > end || step == 0 {
        return None;
    }
    let mut bits = extra;
    while start <= end {
        bits |= 1 << start;
        start += step;
    }
    Some(bits)
}

fn number(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// A number, or a name counted from the field's minimum (jan = 1, sun = 0).
fn value(s: &str, min: u32, names: &[&str]) -> Option<u32> {
    let lower = s.to_ascii_lowercase();
    match names.iter().position(|n| *n == lower) {
        Some(i) => Some(i as u32 + min),
        None => number(s),
    }
}

impl Schedule {
    /// The first time of the schedule strictly after `t`; `None` if there is none within
    /// five years (robfig's limit: "30 2 31 2 *" never comes).
    pub fn next(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (minute, hour, dom, month, dow) = match *self {
            Schedule::Every(secs) => {
                let whole = t.with_nanosecond(0)?;
                return whole.checked_add_signed(Duration::try_seconds(secs)?);
            }
            Schedule::Fields {
                minute,
                hour,
                dom,
                month,
                dow,
            } => (minute, hour, dom, month, dow),
        };
        let has = |bits: u64, v: u32| bits & (1 << v) != 0;
        let mut t = t
            .with_nanosecond(0)?
            .with_second(0)?
            .checked_add_signed(Duration::minutes(1))?;
        let limit = t.year() + 5;
        while t.year() <= limit {
            if !has(month, t.month()) {
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single()?;
                continue;
            }
            let dom_ok = has(dom, t.day());
            let dow_ok = has(dow, t.weekday().num_days_from_sunday());
            let day_ok = if dom & STAR != 0 || dow & STAR != 0 {
                dom_ok && dow_ok
            } else {
                dom_ok || dow_ok
            };
            if !day_ok {
                t = (t.date_naive() + Duration::days(1))
                    .and_hms_opt(0, 0, 0)?
                    .and_utc();
                continue;
            }
            if !has(hour, t.hour()) {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            if !has(minute, t.minute()) {
                t += Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::clock::parse(s).expect("time")
    }

    fn next(spec: &str, from: &str) -> String {
        let schedule = parse(spec).unwrap_or_else(|| panic!("{spec} parses"));
        crate::clock::timestamp(schedule.next(at(from)).expect("a next time"))
    }

    #[test]
    fn parses_what_the_standard_parser_does_and_rejects_the_rest() {
        for good in [
            "* * * * *",
            "*/15 * * * *",
            "1-30/5 2,4 * * *",
            "0 9 * JAN-mar Mon-Fri",
            "5/10 * ? * *",
            "@hourly",
            "@every 1h30m",
            "@every 90s",
        ] {
            assert!(parse(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "5-1 * * * *",
            "*/0 * * * *",
            "-1 * * * *",
            "1-2-3 * * * *",
            "a b c d e",
            "@every",
            "@every 5x",
            "@often",
            "TZ=UTC 0 * * * *",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn next_times() {
        assert_eq!(
            next("*/10 * * * *", "2026-11-29T08:00:00Z"),
            "2026-11-29T08:10:00Z"
        );
        assert_eq!(
            next("*/10 * * * *", "2026-11-29T08:09:59Z"),
            "2026-11-29T08:10:00Z"
        );
        assert_eq!(
            next("1-30/5 * * * *", "2026-11-29T08:27:00Z"),
            "2026-11-29T09:01:00Z"
        );
        assert_eq!(
            next("0 0 * * *", "2026-12-31T23:59:00Z"),
            "2027-01-01T00:00:00Z"
        );
        // 2026-11-29 is a Sunday.
        assert_eq!(
            next("30 9 * * mon", "2026-11-29T08:00:00Z"),
            "2026-11-30T09:30:00Z"
        );
        assert_eq!(
            next("@weekly", "2026-11-29T08:00:00Z"),
            "2026-12-06T00:00:00Z"
        );
        assert_eq!(
            next("@monthly", "2026-11-29T08:00:00Z"),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            next("@yearly", "2026-11-29T08:00:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "2026-11-29T08:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        // Day of month OR day of week when both are restricted: the 1st, or a Friday.
        assert_eq!(
            next("0 0 1 * fri", "2026-11-29T08:00:00Z"),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            next("0 0 1 * fri", "2026-12-01T00:00:00Z"),
            "2026-12-04T00:00:00Z"
        );
        assert_eq!(
            next("@every 1h30m", "2026-11-29T08:00:00.5Z"),
            "2026-11-29T09:30:00Z"
        );
        assert_eq!(
            parse("0 0 30 2 *").and_then(|s| s.next(at("2026-01-01T00:00:00Z"))),
            None
        );
    }
}
