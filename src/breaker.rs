//! N-API class `NativeBreaker`: a thin wrapper over `bulwark_core::breaker::Breaker`.
//!
//! Every method takes and returns plain numbers or booleans (the `fire()` hot path makes
//! one call to count the fire and one to record the outcome); statistics leave as one
//! `Float64Array`. Argument validation with option names happens in the JS facade
//! (`lib/circuit-breaker.js`); here invalid values become plain errors, never panics.

use bulwark_core::breaker::{Breaker, Config, Field, Rotation, TripWindow, Window};
use napi::bindgen_prelude::{Float64Array, Float64ArraySlice};
use napi::{Error, Result, Status};
use napi_derive::napi;

fn field(index: u32) -> Result<Field> {
    Field::from_index(index).ok_or_else(|| {
        Error::new(
            Status::InvalidArg,
            format!("unknown statistics field {index}"),
        )
    })
}

/// Native state machine and rolling window of one circuit breaker (or one standalone
/// `Status`). Times are milliseconds from `Date.now()` passed in by the caller.
#[napi]
pub struct NativeBreaker {
    inner: Breaker,
}

#[napi]
impl NativeBreaker {
    /// A closed breaker whose window has `buckets` buckets of `bucket_ms` each, rotating
    /// with the clock from `now` (or only on `rotate()` when `manual_rotation`).
    #[napi(constructor, catch_unwind)]
    pub fn new(
        buckets: u32,
        bucket_ms: f64,
        manual_rotation: bool,
        percentiles: bool,
        now: f64,
    ) -> NativeBreaker {
        let rotation = if manual_rotation {
            Rotation::Manual
        } else {
            Rotation::Clock {
                origin: now,
                interval: bucket_ms,
            }
        };
        NativeBreaker {
            inner: Breaker::new(Window::new(buckets as usize, rotation, percentiles)),
        }
    }

    /// Sets the trip settings; `window_size` 0 means the time window (opossum).
    #[napi(catch_unwind)]
    pub fn configure(
        &mut self,
        error_threshold_percentage: f64,
        volume_threshold: f64,
        half_open_trials: u32,
        half_open_success_threshold: u32,
        window_size: u32,
    ) -> Result<()> {
        let trip_window = match window_size {
            0 => TripWindow::Time,
            size => TripWindow::Count {
                size: size as usize,
            },
        };
        self.inner
            .configure(Config {
                error_threshold_percentage,
                volume_threshold,
                half_open_trials,
                half_open_success_threshold,
                trip_window,
            })
            .map_err(|e| Error::new(Status::InvalidArg, e.0))
    }

    /// Counts one fire.
    #[napi(catch_unwind)]
    pub fn fire(&mut self, now: f64) {
        self.inner.count(Field::Fires, 0.0, now);
    }

    /// Counts one event of statistics field `field` (index in opossum's bucket order),
    /// with a latency sample for successes, failures and timeouts.
    #[napi(catch_unwind)]
    pub fn increment(&mut self, field_index: u32, latency: f64, now: f64) -> Result<()> {
        self.inner.count(field(field_index)?, latency, now);
        Ok(())
    }

    /// Applies a batch the facade collected, all within the bucket that contains `now`:
    /// `counts` (11 counters in field order, no samples) and the first `count` entries
    /// of `latencies` as successes. Saves a native call per `fire()` on the success and
    /// reject paths.
    #[napi(catch_unwind)]
    pub fn flush(
        &mut self,
        counts: Float64ArraySlice,
        latencies: Float64ArraySlice,
        count: u32,
        now: f64,
    ) {
        let samples = latencies.as_ref();
        let samples = &samples[..(count as usize).min(samples.len())];
        self.inner.record_batch(counts.as_ref(), samples, now);
    }

    /// Records a success; returns 1 when it closed the breaker, else 0.
    #[napi(catch_unwind)]
    pub fn success(&mut self, latency: f64, now: f64) -> u32 {
        self.inner.record_success(latency, now) as u32
    }

    /// Applies `pending_fires` batched fires (at `fires_at`), then records a failure;
    /// returns whether the breaker should now open. One native call per failure.
    #[napi(catch_unwind)]
    pub fn failure(&mut self, latency: f64, now: f64, pending_fires: f64, fires_at: f64) -> bool {
        if pending_fires > 0.0 {
            self.inner.window_at(fires_at).add(Field::Fires, pending_fires);
        }
        self.inner.record_failure(latency, now)
    }

    /// The trip decision on the current counters.
    #[napi(catch_unwind)]
    pub fn should_trip(&self) -> bool {
        self.inner.should_trip()
    }

    /// Takes a half-open trial slot if one is free.
    #[napi(catch_unwind)]
    pub fn try_trial(&mut self) -> bool {
        self.inner.try_trial()
    }

    /// Gives back a trial slot for a call that never ran.
    #[napi(catch_unwind)]
    pub fn return_trial(&mut self) {
        self.inner.return_trial();
    }

    /// Half-open with a trial slot free.
    #[napi(catch_unwind)]
    pub fn pending_close(&self) -> bool {
        self.inner.pending_close()
    }

    /// Opens; true when the state changed.
    #[napi(catch_unwind)]
    pub fn open(&mut self, now: f64) -> bool {
        self.inner.open(now)
    }

    /// Closes; true when the state changed.
    #[napi(catch_unwind)]
    pub fn close(&mut self, now: f64) -> bool {
        self.inner.window_at(now);
        self.inner.close()
    }

    /// Enters half-open; false after shutdown.
    #[napi(catch_unwind)]
    pub fn half_open(&mut self) -> bool {
        self.inner.half_open()
    }

    /// Terminal state.
    #[napi(catch_unwind)]
    pub fn shutdown(&mut self) {
        self.inner.shutdown();
    }

    /// 0 closed, 1 open, 2 half-open, 3 shut down.
    #[napi(catch_unwind)]
    pub fn state(&self) -> u32 {
        self.inner.state() as u32
    }

    /// Starts or ends the warm-up period.
    #[napi(catch_unwind)]
    pub fn set_warm_up(&mut self, on: bool) {
        self.inner.set_warm_up(on);
    }

    /// Marks the current bucket open or closed (opossum's `status.open()`/`close()`).
    #[napi(catch_unwind)]
    pub fn mark_open(&mut self, open: bool, now: f64) {
        self.inner.window_at(now).mark_open(open);
    }

    /// Rotates the window by one bucket.
    #[napi(catch_unwind)]
    pub fn rotate(&mut self) {
        self.inner.window_mut().rotate();
    }

    /// Number of buckets.
    #[napi(catch_unwind)]
    pub fn bucket_count(&self) -> u32 {
        self.inner.window().len() as u32
    }

    /// Aggregated statistics at `now`: 11 totals (opossum field order), the mean, the 9
    /// percentiles, then every latency sample sorted ascending.
    #[napi(catch_unwind)]
    pub fn stats(&mut self, now: f64) -> Float64Array {
        let snap = self.inner.window_at(now).snapshot();
        let mut out = Vec::with_capacity(21 + snap.latencies.len());
        out.extend_from_slice(&snap.counts);
        out.push(snap.latency_mean);
        out.extend_from_slice(&snap.percentiles);
        out.extend_from_slice(&snap.latencies);
        Float64Array::new(out)
    }

    /// Bucket `index` (0 = current) at `now`: 11 counters, the open marker (−1 unset,
    /// 0 closed, 1 open), then its latency samples in arrival order.
    #[napi(catch_unwind)]
    pub fn bucket(&mut self, index: u32, now: f64) -> Option<Float64Array> {
        let bucket = self.inner.window_at(now).bucket(index as usize)?;
        let mut out = Vec::with_capacity(12 + bucket.latencies.len());
        out.extend_from_slice(&bucket.counts);
        out.push(match bucket.open_marker {
            None => -1.0,
            Some(false) => 0.0,
            Some(true) => 1.0,
        });
        out.extend_from_slice(&bucket.latencies);
        Some(Float64Array::new(out))
    }

    /// Replaces the current bucket's counters (11, opossum order) and samples with
    /// imported ones.
    #[napi(catch_unwind)]
    pub fn prime(&mut self, counts: Float64ArraySlice, latencies: Float64ArraySlice) {
        self.inner
            .window_mut()
            .prime(counts.as_ref(), latencies.as_ref());
    }
}
