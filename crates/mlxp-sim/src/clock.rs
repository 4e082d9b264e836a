//! The simulated clock every controller and every server timestamp reads.
//!
//! Time moves only in steps: a test steps it by hand; a running clock has a pace (`speed`
//! simulated seconds per real second) that says when the next step is due, and the
//! controllers' loop takes the steps. So what the cluster does depends on the simulated
//! instants it passes through, never on when a real thread happened to run.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

/// How simulated time keeps up with real time while the clock runs.
#[derive(Debug, Clone, Copy)]
struct Pace {
    speed: f64,
    real_anchor: Instant,
    sim_anchor: DateTime<Utc>,
}

impl Pace {
    /// The simulated instant real time has reached.
    fn due(&self) -> DateTime<Utc> {
        let real = self.real_anchor.elapsed().as_secs_f64() * self.speed;
        self.sim_anchor + Duration::milliseconds((real * 1000.0) as i64)
    }
}

#[derive(Debug)]
struct State {
    now: DateTime<Utc>,
    /// None: time moves only when stepped by hand.
    pace: Option<Pace>,
}

#[derive(Debug)]
pub struct SimClock {
    state: Mutex<State>,
    /// How far the scenario's day (traffic, model quality, GPU noise) lags the clock: zero
    /// when the run was given its start, so that day is the clock's own.
    day_shift: Duration,
}

impl SimClock {
    /// A standing clock at `start` whose scenario day is shifted by `day_shift`.
    pub fn manual(start: DateTime<Utc>, day_shift: Duration) -> Self {
        SimClock {
            state: Mutex::new(State {
                now: start,
                pace: None,
            }),
            day_shift,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.state().now
    }

    /// The time of the scenario's day at `instant`: what daily curves and per-minute noise
    /// follow, so runs started at different wall times play the same day.
    pub fn scenario_time(&self, instant: DateTime<Utc>) -> DateTime<Utc> {
        instant - self.day_shift
    }

    /// Lets the clock run from where it stands, at `speed`.
    pub fn start_running(&self, speed: f64) {
        let mut state = self.state();
        state.pace = Some(Pace {
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
            real_anchor: Instant::now(),
            sim_anchor: state.now,
        });
    }

    /// Stops a running clock where it stands: it moves again only when stepped by hand.
    pub fn pause(&self) {
        self.state().pace = None;
    }

    /// Moves simulated time forward (a running clock jumps ahead and keeps running).
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        state.now += by;
        if let Some(pace) = &mut state.pace {
            pace.sim_anchor += by;
        }
    }

    /// Moves a running clock forward by `step` if real time says that step is due; whether
    /// it moved.
    pub fn step_if_due(&self, step: Duration) -> bool {
        let mut state = self.state();
        let due = state
            .pace
            .is_some_and(|pace| state.now + step <= pace.due());
        if due {
            state.now += step;
        }
        due
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
        let clock = SimClock::manual(start(), Duration::zero());
        assert_eq!(clock.now(), start());
        assert!(!clock.step_if_due(Duration::seconds(1)), "no pace, no step");
        clock.advance(Duration::seconds(90));
        assert_eq!(timestamp(clock.now()), "2026-11-29T08:01:30Z");
    }

    #[test]
    fn a_running_clock_moves_in_whole_steps_as_they_fall_due() {
        let clock = SimClock::manual(start(), Duration::zero());
        clock.start_running(3600.0);
        let step = Duration::seconds(1);
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while !clock.step_if_due(step) {
            assert!(
                Instant::now() < deadline,
                "a step falls due within a second"
            );
        }
        assert_eq!(clock.now(), start() + step, "exactly one step");
        clock.advance(Duration::hours(2));
        assert_eq!(clock.now(), start() + step + Duration::hours(2));
        clock.pause();
        assert!(!clock.step_if_due(step), "paused");
        // A bad speed falls back to real time rather than stopping or reversing time.
        clock.start_running(-5.0);
        assert!(clock.now() >= start());
    }

    #[test]
    fn the_scenario_day_lags_the_clock_by_its_shift() {
        let clock = SimClock::manual(start(), Duration::hours(3));
        assert_eq!(
            timestamp(clock.scenario_time(clock.now())),
            "2026-11-29T05:00:00Z"
        );
    }
}
