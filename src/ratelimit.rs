//! N-API functions over `bulwark_core::ratelimit`: the in-process [`Limiter`], addressed
//! by a `u32` handle like the breakers (plain functions with number and string arguments
//! cost less per call than `#[napi]` class methods), and the Redis scripts' text so the
//! facade runs exactly the core's algorithms. The facade (`lib/ratelimit/*.js`) checks
//! argument types; range errors come from the core with the argument's name.

// napi-derive registers the exports only outside `cfg(test)`, so in the test build of
// this cdylib the functions of a private module look unused.
#![cfg_attr(test, allow(dead_code))]

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use bulwark_core::ratelimit::{store_scripts, Algorithm, Limiter, Policy, MAX_LIMIT};
use napi::bindgen_prelude::{Float64Array, FromNapiValue};
use napi::sys;
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::slab::Slab;

thread_local! {
    /// Limiters of this thread; a freed handle is reused by the next `ratelimit_create`.
    static LIMITERS: RefCell<Slab<Limiter>> = RefCell::new(Slab::default());
    /// Where `ratelimit_consume` writes its numbers: one array per thread, registered once
    /// by the facade, so a decision passes no typed array across the boundary.
    static OUT: RefCell<Option<Float64Array>> = const { RefCell::new(None) };
}

/// Runs `f` on the live limiter `handle`. No JS code runs inside, so the borrow never
/// re-enters.
fn with<R>(handle: u32, f: impl FnOnce(&mut Limiter) -> R) -> Result<R> {
    LIMITERS.with(|slab| slab.borrow_mut().get_mut(handle, "rate limiter").map(f))
}

fn algorithm(name: &str) -> Result<Algorithm> {
    match name {
        "fixed-window" => Ok(Algorithm::FixedWindow),
        "sliding-window" => Ok(Algorithm::SlidingWindow),
        "token-bucket" => Ok(Algorithm::TokenBucket),
        _ => Err(Error::new(
            Status::InvalidArg,
            format!(
                "algorithm must be 'fixed-window', 'sliding-window' or 'token-bucket', got {name:?}"
            ),
        )),
    }
}

/// The facade passes integers it checked; anything else (fractions, negatives, NaN)
/// becomes a value the core's range check refuses rather than a silent truncation.
fn integer(value: f64) -> u64 {
    if value.fract() == 0.0 && value >= 0.0 && value <= u64::MAX as f64 {
        value as u64
    } else {
        u64::MAX
    }
}

fn policy(algorithm_name: &str, limit: f64, window_ms: f64) -> Result<Policy> {
    Policy::new(
        algorithm(algorithm_name)?,
        integer(limit),
        integer(window_ms),
    )
    .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
}

/// Checks a policy; throws an error whose message names the argument (the facade turns
/// it into a `RangeError`).
#[napi(catch_unwind)]
pub fn ratelimit_check_policy(algorithm: String, limit: f64, window_ms: f64) -> Result<()> {
    policy(&algorithm, limit, window_ms).map(|_| ())
}

/// The largest accepted limit or cost.
#[napi(catch_unwind)]
pub fn ratelimit_max_limit() -> f64 {
    MAX_LIMIT as f64
}

/// The Lua script that decides a request atomically on Redis
/// (`Algorithm::redis_script`): KEYS[1] the key, ARGV limit, window_ms, cost; returns
/// `[allowed 0|1, remaining, reset_ms, retry_after_ms, now_ms]`.
#[napi(catch_unwind)]
pub fn ratelimit_script(algorithm_name: String) -> Result<String> {
    Ok(algorithm(&algorithm_name)?.redis_script().to_owned())
}

/// The Lua script for penalty/reward/block (`Algorithm::redis_adjust_script`).
#[napi(catch_unwind)]
pub fn ratelimit_adjust_script(algorithm_name: String) -> Result<String> {
    Ok(algorithm(&algorithm_name)?.redis_adjust_script().to_owned())
}

/// [`ratelimit_script`] for several keys in one run (`Algorithm::redis_batch_script`):
/// KEYS the keys, ARGV limit, window_ms, then one cost per key.
#[napi(catch_unwind)]
pub fn ratelimit_batch_script(algorithm_name: String) -> Result<String> {
    Ok(algorithm(&algorithm_name)?.redis_batch_script().to_owned())
}

/// The express-rate-limit store's scripts (`store_scripts`): `increment` and `get`
/// (rate-limit-redis 6's), `decrement`, `batchIncrement`.
#[napi(catch_unwind)]
pub fn ratelimit_store_script(name: String) -> Result<String> {
    let text = match name.as_str() {
        "increment" => store_scripts::INCREMENT,
        "get" => store_scripts::GET,
        "decrement" => store_scripts::DECREMENT,
        "batchIncrement" => store_scripts::BATCH_INCREMENT,
        _ => {
            return Err(Error::new(
                Status::InvalidArg,
                format!("no store script {name:?}"),
            ))
        }
    };
    Ok(text.to_owned())
}

/// Creates an in-process limiter holding at most `max_keys` keys; returns its handle.
#[napi(catch_unwind)]
pub fn ratelimit_create(
    algorithm: String,
    limit: f64,
    window_ms: f64,
    max_keys: u32,
) -> Result<u32> {
    let limiter = Limiter::new(policy(&algorithm, limit, window_ms)?, max_keys as usize);
    Ok(LIMITERS.with(|slab| slab.borrow_mut().insert(limiter)))
}

/// Frees a limiter (its owner was garbage-collected). Unknown handles are ignored.
#[napi(catch_unwind)]
pub fn ratelimit_drop(handle: u32) {
    LIMITERS.with(|slab| slab.borrow_mut().remove(handle));
}

/// Registers the array (at least 3 numbers) `ratelimit_consume` writes into on this thread.
#[napi(catch_unwind)]
pub fn ratelimit_set_output(out: Float64Array) -> Result<()> {
    if out.len() < 3 {
        return Err(Error::new(Status::InvalidArg, "out must hold 3 numbers"));
    }
    OUT.with(|slot| *slot.borrow_mut() = Some(out));
    Ok(())
}

/// `now` in ms: the given one, or the system clock when negative (cheaper here than a
/// `Date.now()` argument).
fn now_ms(now: f64) -> u64 {
    if now < 0.0 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    } else {
        integer(now)
    }
}

/// A string key read with one N-API call into an inline buffer when it is short (nearly
/// always: IPs, user ids), instead of napi-rs's `String` (a length query, then a heap copy):
/// measured ~0.65 -> ~0.55 µs per consume here.
// The inline buffer lives on the stack for one call; boxing it would bring back the
// allocation this type exists to avoid.
#[allow(clippy::large_enum_variant)]
pub enum Key {
    Inline { len: usize, buf: [u8; KEY_INLINE] },
    Heap(String),
}

const KEY_INLINE: usize = 256;

impl Key {
    fn as_str(&self) -> &str {
        match self {
            // N-API writes valid UTF-8 and whole characters only.
            Key::Inline { len, buf } => std::str::from_utf8(&buf[..*len]).unwrap_or_default(),
            Key::Heap(s) => s,
        }
    }
}

impl FromNapiValue for Key {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut buf = [0u8; KEY_INLINE];
        let mut len = 0usize;
        // SAFETY: `buf` is writable for its length; N-API writes at most length - 1 bytes
        // plus a NUL.
        let status = unsafe {
            sys::napi_get_value_string_utf8(
                env,
                value,
                buf.as_mut_ptr().cast(),
                KEY_INLINE,
                &mut len,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(Error::new(Status::StringExpected, "key must be a string"));
        }
        // Only whole characters (up to 4 bytes) are written: with this much room left the
        // string ended; otherwise it may have been cut, so read it whole.
        if len + 4 < KEY_INLINE - 1 {
            Ok(Key::Inline { len, buf })
        } else {
            // SAFETY: same env and value, already known to be a string.
            unsafe { String::from_napi_value(env, value) }.map(Key::Heap)
        }
    }
}

/// Decides a request of `cost` for `key` at `now` (ms; negative = the system clock);
/// returns whether it is allowed and writes remaining, reset_ms and retry_after_ms into
/// the registered output array.
#[napi(
    catch_unwind,
    ts_args_type = "handle: number, key: string, now: number, cost: number"
)]
pub fn ratelimit_consume(handle: u32, key: Key, now: f64, cost: f64) -> Result<bool> {
    let cost = Policy::check_cost(integer(cost))
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    let d = with(handle, |l| l.consume(key.as_str(), now_ms(now), cost))?;
    OUT.with(|slot| match slot.borrow_mut().as_mut() {
        Some(out) => {
            // SAFETY: this runs synchronously on the JS thread, so no JS code can touch
            // the array while the slice is borrowed; the reference keeps it alive.
            let out = unsafe { out.as_mut() };
            out[0] = d.remaining as f64;
            out[1] = d.reset_ms as f64;
            out[2] = d.retry_after_ms as f64;
            Ok(d.allowed)
        }
        None => Err(Error::new(
            Status::GenericFailure,
            "ratelimitSetOutput was not called on this thread",
        )),
    })
}

/// Adds `delta` (a signed integer) units of use to `key` at `now`: penalty or reward.
#[napi(catch_unwind)]
pub fn ratelimit_adjust(handle: u32, key: String, now: f64, delta: f64) -> Result<()> {
    let magnitude = Policy::check_cost(integer(delta.abs()))
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    let delta = if delta < 0.0 {
        -(magnitude as i64)
    } else {
        magnitude as i64
    };
    with(handle, |l| l.adjust(&key, now_ms(now), delta))
}

/// Denies `key` for `ms` from `now`.
#[napi(catch_unwind)]
pub fn ratelimit_block(handle: u32, key: String, now: f64, ms: f64) -> Result<()> {
    with(handle, |l| l.block(&key, now_ms(now), integer(ms)))
}

/// Forgets `key`.
#[napi(catch_unwind)]
pub fn ratelimit_remove(handle: u32, key: String) -> Result<()> {
    with(handle, |l| l.remove(&key))
}

/// Forgets every key.
#[napi(catch_unwind)]
pub fn ratelimit_clear(handle: u32) -> Result<()> {
    with(handle, Limiter::clear)
}

/// Number of keys held.
#[napi(catch_unwind)]
pub fn ratelimit_size(handle: u32) -> Result<u32> {
    with(handle, |l| l.len() as u32)
}
