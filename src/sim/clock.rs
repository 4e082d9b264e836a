//! The simulated clock every controller and every server timestamp reads.
//!
//! Running, it moves `speed` simulated seconds per real second; manual (tests), it moves only
//! when stepped, so a test decides exactly what time it is.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

#[derive(Debug)]
enum Mode {
    Running {
        speed: f64,
        real_anchor: Instant,
        sim_anchor: DateTime<Utc>,
    },
    Manual {
        now: DateTime<Utc>,
    },
}

#[derive(Debug)]
pub struct SimClock {
    mode: Mutex<Mode>,
}

impl SimClock {
    pub fn running(start: DateTime<Utc>, speed: f64) -> Self {
        SimClock {
            mode: Mutex::new(Mode::Running {
                speed: if speed.is_finite() && speed > 0.0 {
                    speed
                } else {
                    1.0
                },
                real_anchor: Instant::now(),
                sim_anchor: start,
            }),
        }
    }

    pub fn manual(start: DateTime<Utc>) -> Self {
        SimClock {
            mode: Mutex::new(Mode::Manual { now: start }),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &*self.mode.lock().unwrap_or_else(|e| e.into_inner()) {
            Mode::Manual { now } => *now,
            Mode::Running {
                speed,
                real_anchor,
                sim_anchor,
            } => {
                let real = real_anchor.elapsed().as_secs_f64() * speed;
                *sim_anchor + Duration::milliseconds((real * 1000.0) as i64)
            }
        }
    }

    /// Lets a manual clock run from where it stands, at `speed`.
    pub fn start_running(&self, speed: f64) {
        let mut mode = self.mode.lock().unwrap_or_else(|e| e.into_inner());
        if let Mode::Manual { now } = *mode {
            *mode = Mode::Running {
                speed: if speed.is_finite() && speed > 0.0 {
                    speed
                } else {
                    1.0
                },
                real_anchor: Instant::now(),
                sim_anchor: now,
            };
        }
    }

    /// Stops a running clock where it stands: it moves again only when stepped by hand.
    pub fn pause(&self) {
        let now = self.now();
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = Mode::Manual { now };
    }

    /// Moves simulated time forward (a running clock jumps ahead and keeps running).
    pub fn advance(&self, by: Duration) {
        let mut mode = self.mode.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *mode {
            Mode::Manual { now } => *now += by,
            Mode::Running { sim_anchor, .. } => *sim_anchor += by,
        }
    }
}

/// Kubernetes' timestamp format: RFC 3339, whole seconds, UTC.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a Kubernetes timestamp.
pub fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        parse("2026-11-29T08:00:00Z").expect("valid")
    }

    #[test]
    fn manual_clock_moves_only_when_stepped() {
        let clock = SimClock::manual(start());
        assert_eq!(clock.now(), start());
        clock.advance(Duration::seconds(90));
        assert_eq!(timestamp(clock.now()), "2026-11-29T08:01:30Z");
    }

    #[test]
    fn running_clock_is_scaled_and_can_jump() {
        let clock = SimClock::running(start(), 3600.0);
        let t0 = clock.now();
        assert!(t0 >= start());
        clock.advance(Duration::hours(2));
        assert!(clock.now() >= start() + Duration::hours(2));
        // A bad speed falls back to real time rather than stopping or reversing time.
        let clock = SimClock::running(start(), -5.0);
        assert!(clock.now() >= start());
    }
}
