//! N-API functions over `bulwark_core::breaker::Breaker`, addressed by a `u32` handle.
//!
//! Breakers live in a per-thread slab (each JS thread, main or worker, has its own) and
//! every function takes the handle plus plain numbers: a `#[napi]` class method costs
//! about 1 µs here because napi-rs checks the receiver's type tag on every call, while a
//! plain function with number arguments costs a fraction of that, and the failure path
//! makes one such call per `fire()`. The facade frees a handle when its `Status` is
//! garbage-collected (FinalizationRegistry). Argument validation with option names
//! happens in the JS facade (`lib/circuit-breaker.js`); here invalid values become plain
//! errors, never panics.

// napi-derive registers the exports only outside `cfg(test)`, so in the test build of
// this cdylib the functions of a private module look unused.
#![cfg_attr(test, allow(dead_code))]

use std::cell::RefCell;

use bulwark_core::breaker::{Breaker, Config, Field, Rotation, TripWindow, Window};
use napi::bindgen_prelude::{Float64Array, Float64ArraySlice};
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::slab::Slab;

thread_local! {
    /// Breakers of this thread; a freed handle is reused by the next `breaker_create`.
    static BREAKERS: RefCell<Slab<Breaker>> = RefCell::new(Slab::default());
}

/// Runs `f` on the live breaker `handle`. No JS code runs inside, so the borrow never
/// re-enters.
fn with<R>(handle: u32, f: impl FnOnce(&mut Breaker) -> R) -> Result<R> {
    BREAKERS.with(|slab| slab.borrow_mut().get_mut(handle, "circuit breaker").map(f))
}

fn field(index: u32) -> Result<Field> {
    Field::from_index(index).ok_or_else(|| {
        Error::new(
            Status::InvalidArg,
            format!("unknown statistics field {index}"),
        )
    })
}

/// Creates a closed breaker whose window has `buckets` buckets of `bucket_ms` each,
/// rotating with the clock from `now` (or only on `breakerRotate` when
/// `manual_rotation`); returns its handle.
#[napi(catch_unwind)]
pub fn breaker_create(
    buckets: u32,
    bucket_ms: f64,
    manual_rotation: bool,
    percentiles: bool,
    now: f64,
) -> u32 {
    let rotation = if manual_rotation {
        Rotation::Manual
    } else {
        Rotation::Clock {
            origin: now,
            interval: bucket_ms,
        }
    };
    let breaker = Breaker::new(Window::new(buckets as usize, rotation, percentiles));
    BREAKERS.with(|slab| slab.borrow_mut().insert(breaker))
}

/// Frees a breaker (its owner was garbage-collected). Unknown handles are ignored.
#[napi(catch_unwind)]
pub fn breaker_drop(handle: u32) {
    BREAKERS.with(|slab| slab.borrow_mut().remove(handle));
}

/// Sets the trip settings; `window_size` 0 means the time window (opossum).
#[napi(catch_unwind)]
pub fn breaker_configure(
    handle: u32,
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
    let config = Config {
        error_threshold_percentage,
        volume_threshold,
        half_open_trials,
        half_open_success_threshold,
        trip_window,
    };
    with(handle, |b| b.configure(config))?.map_err(|e| Error::new(Status::InvalidArg, e.0))
}

/// Applies a batch the facade collected, all within the bucket that contains `now`:
/// `counts` (11 counters in field order, no samples) and the first `count` entries of
/// `latencies` as successes.
#[napi(catch_unwind)]
pub fn breaker_flush(
    handle: u32,
    counts: Float64ArraySlice,
    latencies: Float64ArraySlice,
    count: u32,
    now: f64,
) -> Result<()> {
    let samples = latencies.as_ref();
    let samples = &samples[..(count as usize).min(samples.len())];
    with(handle, |b| b.record_batch(counts.as_ref(), samples, now))
}

/// Counts one event of statistics field `field_index` (opossum's bucket order), with a
/// latency sample for successes, failures and timeouts.
#[napi(catch_unwind)]
pub fn breaker_increment(handle: u32, field_index: u32, latency: f64, now: f64) -> Result<()> {
    let field = field(field_index)?;
    with(handle, |b| b.count(field, latency, now))
}

/// Records a success; returns 1 when it closed the breaker, else 0.
#[napi(catch_unwind)]
pub fn breaker_success(handle: u32, latency: f64, now: f64) -> Result<u32> {
    with(handle, |b| b.record_success(latency, now) as u32)
}

/// Applies `pending_fires` batched fires (at `fires_at`), then records a failure;
/// returns whether the breaker should now open. One native call per failure.
#[napi(catch_unwind)]
pub fn breaker_failure(
    handle: u32,
    latency: f64,
    now: f64,
    pending_fires: f64,
    fires_at: f64,
) -> Result<bool> {
    with(handle, |b| {
        if pending_fires > 0.0 {
            b.window_at(fires_at).add(Field::Fires, pending_fires);
        }
        b.record_failure(latency, now)
    })
}

/// The trip decision on the current counters.
#[napi(catch_unwind)]
pub fn breaker_should_trip(handle: u32) -> Result<bool> {
    with(handle, |b| b.should_trip())
}

/// Takes a half-open trial slot if one is free.
#[napi(catch_unwind)]
pub fn breaker_try_trial(handle: u32) -> Result<bool> {
    with(handle, |b| b.try_trial())
}

/// Half-open with a trial slot free (opossum's `pendingClose`).
#[napi(catch_unwind)]
pub fn breaker_pending_close(handle: u32) -> Result<bool> {
    with(handle, |b| b.pending_close())
}

/// Opens; true when the state changed.
#[napi(catch_unwind)]
pub fn breaker_open(handle: u32, now: f64) -> Result<bool> {
    with(handle, |b| b.open(now))
}

/// Closes; true when the state changed.
#[napi(catch_unwind)]
pub fn breaker_close(handle: u32, now: f64) -> Result<bool> {
    with(handle, |b| {
        b.window_at(now);
        b.close()
    })
}

/// Enters half-open; false after shutdown.
#[napi(catch_unwind)]
pub fn breaker_half_open(handle: u32) -> Result<bool> {
    with(handle, |b| b.half_open())
}

/// Terminal state.
#[napi(catch_unwind)]
pub fn breaker_shutdown(handle: u32) -> Result<()> {
    with(handle, |b| b.shutdown())
}

/// Starts or ends the warm-up period.
#[napi(catch_unwind)]
pub fn breaker_set_warm_up(handle: u32, on: bool) -> Result<()> {
    with(handle, |b| b.set_warm_up(on))
}

/// Marks the current bucket open or closed (opossum's `status.open()`/`close()`).
#[napi(catch_unwind)]
pub fn breaker_mark_open(handle: u32, open: bool, now: f64) -> Result<()> {
    with(handle, |b| b.window_at(now).mark_open(open))
}

/// Rotates the window by one bucket.
#[napi(catch_unwind)]
pub fn breaker_rotate(handle: u32) -> Result<()> {
    with(handle, |b| b.window_mut().rotate())
}

/// Number of buckets.
#[napi(catch_unwind)]
pub fn breaker_bucket_count(handle: u32) -> Result<u32> {
    with(handle, |b| b.window().len() as u32)
}

/// Aggregated statistics at `now`: 11 totals (opossum field order), the mean, the 9
/// percentiles, then every latency sample sorted ascending.
#[napi(catch_unwind)]
pub fn breaker_stats(handle: u32, now: f64) -> Result<Float64Array> {
    let snap = with(handle, |b| b.window_at(now).snapshot())?;
    let mut out = Vec::with_capacity(21 + snap.latencies.len());
    out.extend_from_slice(&snap.counts);
    out.push(snap.latency_mean);
    out.extend_from_slice(&snap.percentiles);
    out.extend_from_slice(&snap.latencies);
    Ok(Float64Array::new(out))
}

/// Bucket `index` (0 = current) at `now`: 11 counters, the open marker (−1 unset,
/// 0 closed, 1 open), then its latency samples in arrival order.
#[napi(catch_unwind)]
pub fn breaker_bucket(handle: u32, index: u32, now: f64) -> Result<Option<Float64Array>> {
    with(handle, |b| {
        let bucket = b.window_at(now).bucket(index as usize)?;
        let mut out = Vec::with_capacity(12 + bucket.latencies.len());
        out.extend_from_slice(&bucket.counts);
        out.push(match bucket.open_marker {
            None => -1.0,
            Some(false) => 0.0,
            Some(true) => 1.0,
        });
        out.extend_from_slice(&bucket.latencies);
        Some(Float64Array::new(out))
    })
}

/// Replaces the current bucket's counters (11, opossum order) and samples with imported
/// ones.
#[napi(catch_unwind)]
pub fn breaker_prime(
    handle: u32,
    counts: Float64ArraySlice,
    latencies: Float64ArraySlice,
) -> Result<()> {
    with(handle, |b| {
        b.window_mut().prime(counts.as_ref(), latencies.as_ref())
    })
}
