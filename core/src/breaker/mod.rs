//! The circuit breaker's state machine and statistics (opossum semantics).
//!
//! [`Breaker`] owns the state (closed / open / half-open / shut down), the half-open
//! trial accounting, the warm-up flag and the rolling [`Window`]. The JavaScript facade
//! owns promises, timers and events and tells the core what happened; the core answers
//! with decisions. Every call takes `now` in milliseconds; no wall clock is read here.

pub mod window;

pub use window::{Bucket, Field, Rotation, Snapshot, Window, FIELD_COUNT, PERCENTILES};

/// Breaker state. The numeric values cross the N-API boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum State {
    /// Calls go through.
    Closed = 0,
    /// Calls are rejected until the reset timer moves the breaker to half-open.
    Open = 1,
    /// A limited number of trial calls go through; their outcome closes or reopens.
    HalfOpen = 2,
    /// Shut down: only a call still in flight can change it, by tripping it to open.
    Shutdown = 3,
}

/// How the error rate that trips the breaker is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripWindow {
    /// opossum: `failures / fires` over the rolling time window, once `fires` reaches
    /// the volume threshold.
    Time,
    /// The last `size` call outcomes (successes and failures), once at least
    /// `max(volume_threshold, 1)` outcomes are recorded (opossum issue #817).
    Count {
        /// Number of outcomes remembered.
        size: usize,
    },
}

/// Decision settings of a breaker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Trip when the error rate in percent is strictly greater than this.
    pub error_threshold_percentage: f64,
    /// Minimum volume before the rate is considered.
    pub volume_threshold: f64,
    /// Calls admitted while half-open (opossum: 1).
    pub half_open_trials: u32,
    /// Successes while half-open needed to close (opossum: 1).
    pub half_open_success_threshold: u32,
    /// Which window the trip decision uses.
    pub trip_window: TripWindow,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            error_threshold_percentage: 50.0,
            volume_threshold: 0.0,
            half_open_trials: 1,
            half_open_success_threshold: 1,
            trip_window: TripWindow::Time,
        }
    }
}

/// Why a [`Config`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Checks the invariants the state machine relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.error_threshold_percentage.is_finite() {
            return Err(ConfigError(
                "errorThresholdPercentage must be a finite number".into(),
            ));
        }
        if self.volume_threshold.is_nan() || self.volume_threshold < 0.0 {
            return Err(ConfigError("volumeThreshold must be >= 0".into()));
        }
        if self.half_open_trials == 0 {
            return Err(ConfigError("halfOpenTrials must be >= 1".into()));
        }
        if self.half_open_success_threshold == 0
            || self.half_open_success_threshold > self.half_open_trials
        {
            return Err(ConfigError(
                "halfOpenSuccessThreshold must be between 1 and halfOpenTrials".into(),
            ));
        }
        if let TripWindow::Count { size } = self.trip_window {
            if size == 0 {
                return Err(ConfigError("windowSize must be >= 1".into()));
            }
        }
        Ok(())
    }
}

/// The last N outcomes as a ring of booleans with a running failure count (O(1)).
#[derive(Clone, Debug)]
struct OutcomeRing {
    failed: Vec<bool>,
    next: usize,
    len: usize,
    failures: usize,
}

impl OutcomeRing {
    fn new(size: usize) -> OutcomeRing {
        OutcomeRing {
            failed: vec![false; size],
            next: 0,
            len: 0,
            failures: 0,
        }
    }

    fn push(&mut self, failed: bool) {
        let size = self.failed.len();
        if self.len == size {
            if self.failed[self.next] {
                self.failures -= 1;
            }
        } else {
            self.len += 1;
        }
        self.failed[self.next] = failed;
        if failed {
            self.failures += 1;
        }
        self.next = (self.next + 1) % size;
    }
}

/// What a recorded success did to the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SuccessEffect {
    /// Nothing changed.
    None = 0,
    /// The breaker closed (enough half-open successes).
    Closed = 1,
}

/// One circuit breaker's state machine and window.
#[derive(Clone, Debug)]
pub struct Breaker {
    config: Config,
    state: State,
    trials_left: u32,
    trial_successes: u32,
    warm_up: bool,
    // Stays set when an in-flight failure opens a shut-down breaker (state Open).
    shut_down: bool,
    window: Window,
    ring: Option<OutcomeRing>,
}

impl Breaker {
    /// A closed breaker with the given window and default [`Config`].
    pub fn new(window: Window) -> Breaker {
        Breaker {
            config: Config::default(),
            state: State::Closed,
            trials_left: 0,
            trial_successes: 0,
            warm_up: false,
            shut_down: false,
            window,
            ring: None,
        }
    }

    /// Replaces the decision settings (the window keeps its contents).
    pub fn configure(&mut self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        self.ring = match config.trip_window {
            TripWindow::Time => None,
            TripWindow::Count { size } => Some(OutcomeRing::new(size)),
        };
        self.config = config;
        Ok(())
    }

    /// The settings in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// opossum's `pendingClose`: half-open with a trial slot still free.
    pub fn pending_close(&self) -> bool {
        self.state == State::HalfOpen && self.trials_left > 0
    }

    /// Whether failures are currently ignored for tripping.
    pub fn warm_up(&self) -> bool {
        self.warm_up
    }

    /// Starts or ends the warm-up period.
    pub fn set_warm_up(&mut self, on: bool) {
        self.warm_up = on;
    }

    /// The statistics window (read-only).
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// The statistics window for direct updates, without moving its clock.
    pub fn window_mut(&mut self) -> &mut Window {
        &mut self.window
    }

    /// Brings the window up to `now` and returns it for direct updates.
    pub fn window_at(&mut self, now: f64) -> &mut Window {
        self.window.advance(now);
        &mut self.window
    }

    /// Counts one `field` event at `now` (with a latency sample for outcomes).
    pub fn count(&mut self, field: Field, latency: f64, now: f64) {
        self.window_at(now).increment(field, latency);
    }

    /// Takes a half-open trial slot; false when none is left or not half-open.
    pub fn try_trial(&mut self) -> bool {
        if self.pending_close() {
            self.trials_left -= 1;
            true
        } else {
            false
        }
    }

    /// Records a success (or a filtered error). While half-open, enough successes close
    /// the breaker, like opossum's `success` listener does.
    pub fn record_success(&mut self, latency: f64, now: f64) -> SuccessEffect {
        self.count(Field::Successes, latency, now);
        if let Some(ring) = &mut self.ring {
            ring.push(false);
        }
        if self.state == State::HalfOpen {
            self.trial_successes += 1;
            if self.trial_successes >= self.config.half_open_success_threshold && self.close() {
                return SuccessEffect::Closed;
            }
        }
        SuccessEffect::None
    }

    /// Adds batched counters (`counts[i]` to [`Field`] `i`, no samples) and one success
    /// per latency in `successes`, all at `now`. Only valid while closed or for counters
    /// that never change the state (the facade batches those), so no transition results.
    pub fn record_batch(&mut self, counts: &[f64], successes: &[f64], now: f64) {
        let window = self.window_at(now);
        for (index, amount) in counts.iter().enumerate() {
            if let Some(field) = Field::from_index(index as u32) {
                if *amount != 0.0 {
                    window.add(field, *amount);
                }
            }
        }
        for &latency in successes {
            window.increment(Field::Successes, latency);
        }
        if let Some(ring) = &mut self.ring {
            for _ in successes {
                ring.push(false);
            }
        }
    }

    /// Records a failure and says whether the breaker should now open. The caller emits
    /// its `failure` event first and then calls [`Breaker::open`], so listeners observe
    /// the state from before the trip (as in opossum).
    pub fn record_failure(&mut self, latency: f64, now: f64) -> bool {
        self.count(Field::Failures, latency, now);
        if let Some(ring) = &mut self.ring {
            ring.push(true);
        }
        self.should_trip()
    }

    /// The trip decision on the current counters: always while half-open, never while
    /// warming up, else error rate strictly above the threshold once the volume is met.
    /// A shut-down breaker still decides: opossum counts the failure of a call that was in
    /// flight at shutdown and opens the circuit on it.
    pub fn should_trip(&self) -> bool {
        if self.state == State::HalfOpen {
            return true;
        }
        if self.warm_up {
            return false;
        }
        let (failures, volume) = match &self.ring {
            None => {
                let fires = self.window.total(Field::Fires);
                if fires < self.config.volume_threshold {
                    return false;
                }
                (self.window.total(Field::Failures), fires)
            }
            Some(ring) => {
                if (ring.len as f64) < self.config.volume_threshold.max(1.0) {
                    return false;
                }
                (ring.failures as f64, ring.len as f64)
            }
        };
        // NaN (0 / 0) compares false, as in opossum.
        failures / volume * 100.0 > self.config.error_threshold_percentage
    }

    /// Opens; returns whether the state changed (no-op when open). A shut-down breaker
    /// opens only on the trip of a call in flight at shutdown, and stays shut down.
    pub fn open(&mut self, now: f64) -> bool {
        if self.state == State::Open {
            return false;
        }
        self.state = State::Open;
        self.trials_left = 0;
        self.trial_successes = 0;
        self.window_at(now).mark_open(true);
        true
    }

    /// Closes; returns whether the state changed (no-op when closed or shut down).
    pub fn close(&mut self) -> bool {
        if self.shut_down || self.state == State::Closed {
            return false;
        }
        self.state = State::Closed;
        self.trials_left = 0;
        self.trial_successes = 0;
        self.window.mark_open(false);
        true
    }

    /// Enters half-open with fresh trial slots; returns whether it happened (not after
    /// shutdown). Called by the facade's reset timer or by a state import.
    pub fn half_open(&mut self) -> bool {
        if self.shut_down {
            return false;
        }
        self.state = State::HalfOpen;
        self.trials_left = self.config.half_open_trials;
        self.trial_successes = 0;
        true
    }

    /// Shuts down: every later transition is refused but an in-flight call's trip to open.
    pub fn shutdown(&mut self) {
        self.state = State::Shutdown;
        self.shut_down = true;
        self.trials_left = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(config: Config) -> Breaker {
        let mut b = Breaker::new(Window::new(
            10,
            Rotation::Clock {
                origin: 0.0,
                interval: 1000.0,
            },
            true,
        ));
        b.configure(config).unwrap();
        b
    }

    fn fire_fail(b: &mut Breaker, now: f64) -> bool {
        b.count(Field::Fires, 0.0, now);
        b.record_failure(1.0, now)
    }

    fn fire_ok(b: &mut Breaker, now: f64) -> SuccessEffect {
        b.count(Field::Fires, 0.0, now);
        b.record_success(1.0, now)
    }

    #[test]
    fn trips_only_strictly_above_threshold() {
        let mut b = breaker(Config::default());
        assert_eq!(fire_ok(&mut b, 1.0), SuccessEffect::None);
        // 1 failure / 2 fires = 50%, not > 50.
        assert!(!fire_fail(&mut b, 2.0));
        // 2 / 3 = 66%.
        assert!(fire_fail(&mut b, 3.0));
        assert!(b.open(3.0));
        assert_eq!(b.state(), State::Open);
        assert!(!b.open(4.0), "open is idempotent");
    }

    #[test]
    fn zero_threshold_trips_on_any_failure() {
        let mut b = breaker(Config {
            error_threshold_percentage: 0.0,
            ..Config::default()
        });
        for i in 0..10 {
            fire_ok(&mut b, i as f64);
        }
        assert!(fire_fail(&mut b, 20.0));
    }

    #[test]
    fn volume_threshold_counts_fires_including_this_one() {
        let mut b = breaker(Config {
            volume_threshold: 3.0,
            ..Config::default()
        });
        assert!(!fire_fail(&mut b, 1.0));
        assert!(!fire_fail(&mut b, 2.0));
        assert!(fire_fail(&mut b, 3.0), "the 3rd failure trips");
    }

    #[test]
    fn warm_up_never_trips_but_half_open_always_does() {
        let mut b = breaker(Config::default());
        b.set_warm_up(true);
        assert!(!fire_fail(&mut b, 1.0));
        assert!(b.warm_up());
        b.set_warm_up(false);
        assert!(fire_fail(&mut b, 2.0));
        b.open(2.0);
        b.half_open();
        // Half-open ignores thresholds even when warming up.
        b.set_warm_up(true);
        assert!(b.should_trip());
    }

    #[test]
    fn failures_age_out_with_the_window() {
        let mut b = breaker(Config {
            volume_threshold: 2.0,
            ..Config::default()
        });
        assert!(!fire_fail(&mut b, 0.0));
        // 10 s later the first failure is gone; this one alone is under the volume.
        assert!(!fire_fail(&mut b, 10_000.0));
        assert_eq!(b.window().total(Field::Failures), 1.0);
    }

    #[test]
    fn half_open_admits_exactly_one_trial_by_default() {
        let mut b = breaker(Config::default());
        assert!(!b.try_trial(), "no trial while closed");
        b.open(0.0);
        assert!(!b.try_trial(), "no trial while open");
        assert!(b.half_open());
        assert!(b.pending_close());
        assert!(b.try_trial());
        assert!(!b.pending_close());
        assert!(!b.try_trial());
        assert_eq!(b.record_success(5.0, 1.0), SuccessEffect::Closed);
        assert_eq!(b.state(), State::Closed);
        assert!(!b.pending_close());
    }

    #[test]
    fn half_open_failure_reopens_regardless_of_volume() {
        let mut b = breaker(Config {
            volume_threshold: 1000.0,
            ..Config::default()
        });
        b.open(0.0);
        b.half_open();
        assert!(b.try_trial());
        assert!(b.record_failure(1.0, 1.0));
        assert!(b.open(1.0));
        assert_eq!(b.state(), State::Open);
    }

    #[test]
    fn n_trials_with_success_threshold() {
        let mut b = breaker(Config {
            half_open_trials: 3,
            half_open_success_threshold: 2,
            ..Config::default()
        });
        b.open(0.0);
        b.half_open();
        assert!(b.try_trial());
        assert!(b.try_trial());
        assert!(b.try_trial());
        assert!(!b.try_trial());
        assert_eq!(b.record_success(1.0, 1.0), SuccessEffect::None);
        assert_eq!(b.state(), State::HalfOpen);
        assert_eq!(b.record_success(1.0, 1.0), SuccessEffect::Closed);
        assert_eq!(b.state(), State::Closed);
        // Reopen and half-open again: the success count starts over.
        b.open(2.0);
        b.half_open();
        assert_eq!(b.record_success(1.0, 3.0), SuccessEffect::None);
    }

    #[test]
    fn count_window_uses_last_outcomes() {
        let mut b = breaker(Config {
            trip_window: TripWindow::Count { size: 4 },
            volume_threshold: 4.0,
            ..Config::default()
        });
        assert!(!fire_fail(&mut b, 0.0));
        assert!(!fire_fail(&mut b, 0.0));
        assert!(!fire_fail(&mut b, 0.0), "under the minimum number of calls");
        fire_ok(&mut b, 0.0);
        // Ring: F F F S -> 75%.
        assert!(b.should_trip());
        fire_ok(&mut b, 0.0);
        fire_ok(&mut b, 0.0);
        // Ring: F S S S -> 25%.
        assert!(!b.should_trip());
        // Count window does not age with time.
        // Ring S S S F = 25%, S S F F = 50% (not above), S F F F = 75%, even far later:
        // the count window does not age with time.
        assert!(!fire_fail(&mut b, 1e9));
        assert!(!fire_fail(&mut b, 1e9));
        assert!(fire_fail(&mut b, 1e9));
    }

    #[test]
    fn batch_equals_individual_records() {
        let mut a = breaker(Config {
            trip_window: TripWindow::Count { size: 8 },
            ..Config::default()
        });
        let mut b = a.clone();
        let mut counts = [0.0; FIELD_COUNT];
        counts[Field::Fires as usize] = 3.0;
        counts[Field::Rejects as usize] = 2.0;
        a.record_batch(&counts, &[1.0, 2.0, 3.0], 500.0);
        assert_eq!(a.window().total(Field::Rejects), 2.0);
        for l in [1.0, 2.0, 3.0] {
            fire_ok(&mut b, 500.0);
            let _ = l;
        }
        assert_eq!(a.window().total(Field::Fires), 3.0);
        assert_eq!(a.window().total(Field::Successes), 3.0);
        assert_eq!(a.window().snapshot().latencies, vec![1.0, 2.0, 3.0]);
        assert_eq!(a.ring.as_ref().unwrap().len, b.ring.as_ref().unwrap().len);
        assert!(!a.record_failure(1.0, 500.0), "1 failure in 4 outcomes");
    }

    #[test]
    fn shutdown_refuses_every_transition_but_an_in_flight_trip() {
        let mut b = breaker(Config::default());
        b.count(Field::Fires, 0.0, 0.0);
        b.shutdown();
        assert!(!b.close());
        assert!(!b.half_open());
        assert!(!b.should_trip(), "no failure yet");
        assert_eq!(b.state(), State::Shutdown);
        // The call fired before shutdown fails: it is counted and trips the breaker.
        assert!(b.record_failure(1.0, 10.0));
        assert!(b.open(10.0));
        assert_eq!(b.state(), State::Open);
        assert!(!b.open(10.0));
        assert!(!b.half_open(), "still shut down: no half-open");
        assert!(!b.close());
        assert_eq!(b.state(), State::Open);
    }

    #[test]
    fn open_and_close_mark_the_current_bucket() {
        let mut b = breaker(Config::default());
        b.open(0.0);
        assert_eq!(b.window().bucket(0).unwrap().open_marker, Some(true));
        b.close();
        assert_eq!(b.window().bucket(0).unwrap().open_marker, Some(false));
        assert!(!b.close());
    }

    #[test]
    fn invalid_configs_are_refused() {
        let mut b = breaker(Config::default());
        for bad in [
            Config {
                error_threshold_percentage: f64::NAN,
                ..Config::default()
            },
            Config {
                volume_threshold: -1.0,
                ..Config::default()
            },
            Config {
                half_open_trials: 0,
                ..Config::default()
            },
            Config {
                half_open_trials: 2,
                half_open_success_threshold: 3,
                ..Config::default()
            },
            Config {
                trip_window: TripWindow::Count { size: 0 },
                ..Config::default()
            },
        ] {
            assert!(b.configure(bad).is_err(), "{bad:?}");
        }
        assert_eq!(b.config(), &Config::default());
    }
}
