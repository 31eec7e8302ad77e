//! N-API functions over `bulwark_core::ratelimit`: the in-process [`Limiter`], addressed
//! by a `u32` handle like the breakers (plain functions with number and string arguments
//! cost less per call than `#[napi]` class methods), and the Redis scripts' text so the
//! facade runs exactly the core's algorithms. The facade (`lib/ratelimit/*.js`) checks
//! argument types; range errors come from the core with the argument's name.

// napi-derive registers the exports only outside `cfg(test)`, so in the test build of
// this cdylib the functions of a private module look unused.
#![cfg_attr(test, allow(dead_code))]

use std::cell::RefCell;
use std::ffi::CString;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use bulwark_core::ratelimit::{on_memory, store_scripts, Algorithm, Limiter, Policy, MAX_LIMIT};
use napi::bindgen_prelude::{Float64Array, Function};
use napi::sys;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::redis::with_memory_router;
use crate::slab::Slab;

thread_local! {
    /// Limiters of this thread; a freed handle is reused by the next `ratelimit_create`.
    static LIMITERS: RefCell<Slab<Limiter>> = RefCell::new(Slab::default());
    /// Where the decisions write their numbers: one array per thread, registered once
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

/// Registers the array (at least 3 numbers) the decisions write into on this thread.
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
        bulwark_core::clock::unix_ms()
    } else {
        integer(now)
    }
}

/// UTF-16 units of a key read, and bytes of a key (with its prefix) written, without a
/// heap allocation.
const KEY_INLINE: usize = 256;

/// `prefix` followed by the JS string `value` in UTF-8: read with one N-API call into a
/// stack buffer and written into `buf` when it fits (nearly always: IPs, user ids), else
/// into `heap` (napi-rs's `String` costs a length query and a heap copy on every call:
/// measured ~0.65 -> ~0.55 µs per consume). A memory decision writes its key after the
/// limiter's prefix, so JS never concatenates (and V8 never flattens) `prefix + key`; the
/// buffers are the caller's, so nothing is moved on return.
///
/// The string is read as UTF-16 and encoded here: V8's own UTF-8 write walks the string a
/// character at a time and was the largest single cost of a memory decision (~14 %), while
/// its UTF-16 read of a one-byte string is a widening copy. The bytes are the same (lone
/// surrogates become U+FFFD, as N-API's UTF-8 read and `Buffer.from` make them).
///
/// # Safety
/// `env` and `value` come from the current callback.
unsafe fn read_key<'b>(
    env: sys::napi_env,
    value: sys::napi_value,
    prefix: &[u8],
    buf: &'b mut [u8; KEY_INLINE],
    heap: &'b mut Vec<u8>,
) -> Result<&'b [u8]> {
    let not_string = || Error::new(Status::StringExpected, "key must be a string");
    // Not zeroed first: N-API writes what is read (zeroing cost as much as V8's UTF-8 write).
    let mut units = [MaybeUninit::<u16>::uninit(); KEY_INLINE];
    let mut len = 0usize;
    // SAFETY: `units` is writable for KEY_INLINE units; N-API writes at most KEY_INLINE - 1
    // plus a NUL.
    let status = unsafe {
        sys::napi_get_value_string_utf16(
            env,
            value,
            units.as_mut_ptr().cast(),
            KEY_INLINE,
            &mut len,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(not_string());
    }
    let mut long = Vec::new();
    let units: &[u16] = if len < KEY_INLINE - 1 {
        // SAFETY: N-API wrote the first `len` units.
        unsafe { std::slice::from_raw_parts(units.as_ptr().cast(), len) }
    } else {
        // It may have been cut: read it whole.
        // SAFETY: a null buffer asks for the length only.
        let status =
            unsafe { sys::napi_get_value_string_utf16(env, value, ptr::null_mut(), 0, &mut len) };
        if status != sys::Status::napi_ok {
            return Err(not_string());
        }
        long.resize(len + 1, 0u16);
        // SAFETY: `long` is writable for len + 1 units.
        let status = unsafe {
            sys::napi_get_value_string_utf16(env, value, long.as_mut_ptr(), len + 1, &mut len)
        };
        if status != sys::Status::napi_ok {
            return Err(not_string());
        }
        &long[..len]
    };
    // At most 3 bytes per unit (a surrogate pair's 4 bytes are 2 units).
    let out: &'b mut [u8] = if prefix.len() + 3 * units.len() <= KEY_INLINE {
        buf
    } else {
        heap.resize(prefix.len() + 3 * units.len(), 0);
        heap
    };
    out[..prefix.len()].copy_from_slice(prefix);
    let n = utf16_to_utf8(units, &mut out[prefix.len()..]);
    Ok(&out[..prefix.len() + n])
}

/// Writes `units` as UTF-8 into `out` (3 bytes per unit available), lone surrogates as
/// U+FFFD; returns the bytes written.
fn utf16_to_utf8(units: &[u16], out: &mut [u8]) -> usize {
    // ASCII, the usual key, a byte per unit in one pass; from the first other unit on,
    // character by character.
    for (i, (o, &u)) in out.iter_mut().zip(units).enumerate() {
        if u >= 0x80 {
            let mut n = i;
            for c in char::decode_utf16(units[i..].iter().copied()) {
                n += c
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
                    .encode_utf8(&mut out[n..])
                    .len();
            }
            return n;
        }
        *o = u as u8;
    }
    units.len()
}

/// The function `(handle, key, now, cost) => 1 | 0` deciding a request of `cost` for `key`
/// at `now` (ms; negative = the system clock) with the in-process limiter `handle`: 1 when
/// allowed; remaining, reset_ms and retry_after_ms go into the registered output array. A
/// raw N-API function, as `ratelimitMemoryDecideFunction` (see there for why).
#[napi(ts_return_type = "(handle: number, key: string, now: number, cost: number) => number")]
pub fn ratelimit_consume_function(env: &Env) -> Result<Function<'_, (), f64>> {
    env.create_function("ratelimitConsume", local_consume)
}

unsafe extern "C" fn local_consume(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are this callback's.
    unsafe {
        raw_number(env, info, |[handle, key, now, cost]| {
            let handle = arg_u32(env, handle, "handle")?;
            let now = arg_f64(env, now, "now")?;
            let cost = Policy::check_cost(integer(arg_f64(env, cost, "cost")?))
                .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
            let mut buf = [0u8; KEY_INLINE];
            let mut heap = Vec::new();
            let key = read_key(env, key, &[], &mut buf, &mut heap)?;
            // N-API writes valid UTF-8 and whole characters only.
            let key = std::str::from_utf8(key).unwrap_or_default();
            let d = with(handle, |l| l.consume(key, now_ms(now), cost))?;
            write_out(&[
                d.remaining as f64,
                d.reset_ms as f64,
                d.retry_after_ms as f64,
            ])?;
            Ok(if d.allowed { 1.0 } else { 0.0 })
        })
    }
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

/// Writes `values` into the registered output array.
fn write_out(values: &[f64]) -> Result<()> {
    OUT.with(|slot| match slot.borrow_mut().as_mut() {
        Some(out) => {
            // SAFETY: this runs synchronously on the JS thread, so no JS code can touch
            // the array while the slice is borrowed; the reference keeps it alive.
            let out = unsafe { out.as_mut() };
            out[..values.len()].copy_from_slice(values);
            Ok(())
        }
        None => Err(Error::new(
            Status::GenericFailure,
            "ratelimitSetOutput was not called on this thread",
        )),
    })
}

/// The algorithm by its index in the facade's list (fixed, sliding, token bucket): a
/// number costs less to pass than its name on every decision.
fn algorithm_at(index: u32) -> Result<Algorithm> {
    match index {
        0 => Ok(Algorithm::FixedWindow),
        1 => Ok(Algorithm::SlidingWindow),
        2 => Ok(Algorithm::TokenBucket),
        _ => Err(Error::new(
            Status::InvalidArg,
            format!("algorithm index must be 0, 1 or 2, got {index}"),
        )),
    }
}

/// The numbers of a memory decision, `None` when the client is not on memory now (the
/// caller takes its ordinary path), or an error (the script's error reply).
fn memory_reply<const N: usize>(outcome: on_memory::Outcome<N>) -> Result<Option<[i64; N]>> {
    match outcome {
        on_memory::Outcome::NotOnMemory => Ok(None),
        on_memory::Outcome::Reply(values) => Ok(Some(values)),
        on_memory::Outcome::Failed(message) => Err(Error::new(Status::GenericFailure, message)),
    }
}

/// What every decision of one store or limiter on a client's memory engine shares, set
/// once instead of passed (and converted) on every call.
struct MemoryPolicy {
    /// `None`: the store's increment; else the limiter's algorithm.
    algorithm: Option<Algorithm>,
    limit: u64,
    window_ms: u64,
    /// Written before each key.
    prefix: Vec<u8>,
}

thread_local! {
    static MEMORY_POLICIES: RefCell<Slab<MemoryPolicy>> = RefCell::new(Slab::default());
}

/// Registers the policy of a store (`algorithm` -1: increments with a window of
/// `window_ms`, `limit` unused) or a limiter (`algorithm` its index) for
/// `ratelimitMemoryDecide`; returns its handle.
#[napi(catch_unwind)]
pub fn ratelimit_memory_policy(
    algorithm_index: i32,
    limit: f64,
    window_ms: f64,
    prefix: String,
) -> Result<u32> {
    let algorithm = match u32::try_from(algorithm_index) {
        Ok(index) => Some(algorithm_at(index)?),
        Err(_) => None,
    };
    let policy = MemoryPolicy {
        algorithm,
        limit: integer(limit),
        window_ms: integer(window_ms),
        prefix: prefix.into_bytes(),
    };
    Ok(MEMORY_POLICIES.with(|slab| slab.borrow_mut().insert(policy)))
}

/// Frees a memory policy (its owner was garbage-collected). Unknown handles are ignored.
#[napi(catch_unwind)]
pub fn ratelimit_memory_policy_drop(handle: u32) {
    MEMORY_POLICIES.with(|slab| slab.borrow_mut().remove(handle));
}

/// The function `(policy, slot, key, cost) => number` deciding on the memory engine of the
/// client in `slot` (its direct slot) with a policy of `ratelimitMemoryPolicy`:
/// - a store's increment returns totalHits and writes the reset time (unix ms: the time
///   of the decision plus the key's PTTL) into the output array;
/// - a limiter's consume returns 1 (allowed) or 0 and writes remaining, reset_ms and
///   retry_after_ms into the output array;
/// - either returns -1 when the client is not on memory now, and throws the script's
///   error (a foreign value under the key).
///
/// A raw N-API function rather than a `#[napi]` one: napi-rs 3 opens a native-borrow scope
/// for every call with arguments (an `Arc<Mutex<…>>` allocated and freed, thread-local
/// stacks pushed and popped), measured at ~10 % of a whole memory decision.
#[napi(ts_return_type = "(policy: number, slot: number, key: string, cost: number) => number")]
pub fn ratelimit_memory_decide_function(env: &Env) -> Result<Function<'_, (), f64>> {
    env.create_function("ratelimitMemoryDecide", memory_decide)
}

/// Throws `message` as an `Error` whose `code` is `status` (as napi-rs's errors have).
///
/// # Safety
/// `env` comes from the current callback.
unsafe fn throw(env: sys::napi_env, status: Status, message: &str) {
    let code = CString::new(status.as_ref()).unwrap_or_default();
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: both strings are NUL-terminated and outlive the call.
    unsafe { sys::napi_throw_error(env, code.as_ptr(), message.as_ptr()) };
}

/// The body of a raw N-API function of `N` arguments returning a number: the arguments
/// read with one plain N-API call, an error or a panic thrown as an `Error` (what
/// `#[napi(catch_unwind)]` does, without napi-rs's per-call borrow scope).
///
/// # Safety
/// `env` and `info` are the current callback's.
unsafe fn raw_number<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    call: impl FnOnce([sys::napi_value; N]) -> Result<f64>,
) -> sys::napi_value {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut argc = N;
        let mut argv = [ptr::null_mut(); N];
        // SAFETY: `argv` holds `argc` values.
        let status = unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if status != sys::Status::napi_ok || argc < N {
            return Err(Error::new(
                Status::InvalidArg,
                format!("expected {N} arguments"),
            ));
        }
        call(argv)
    }));
    let value = match outcome {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            // SAFETY: as above.
            unsafe { throw(env, err.status, &err.reason) };
            return ptr::null_mut();
        }
        Err(_) => {
            // SAFETY: as above.
            unsafe { throw(env, Status::GenericFailure, "rate limit decision panicked") };
            return ptr::null_mut();
        }
    };
    let mut out = ptr::null_mut();
    // SAFETY: as above; `out` receives the new value.
    unsafe { sys::napi_create_double(env, value, &mut out) };
    out
}

/// A `u32` argument.
///
/// # Safety
/// `env` and `value` are the current callback's.
unsafe fn arg_u32(env: sys::napi_env, value: sys::napi_value, name: &str) -> Result<u32> {
    let mut out = 0u32;
    // SAFETY: as above.
    match unsafe { sys::napi_get_value_uint32(env, value, &mut out) } {
        sys::Status::napi_ok => Ok(out),
        _ => Err(Error::new(
            Status::NumberExpected,
            format!("{name} must be a number"),
        )),
    }
}

/// A number argument.
///
/// # Safety
/// `env` and `value` are the current callback's.
unsafe fn arg_f64(env: sys::napi_env, value: sys::napi_value, name: &str) -> Result<f64> {
    let mut out = 0f64;
    // SAFETY: as above.
    match unsafe { sys::napi_get_value_double(env, value, &mut out) } {
        sys::Status::napi_ok => Ok(out),
        _ => Err(Error::new(
            Status::NumberExpected,
            format!("{name} must be a number"),
        )),
    }
}

unsafe extern "C" fn memory_decide(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are this callback's.
    unsafe { raw_number(env, info, |argv| memory_decide_call(env, argv)) }
}

/// Decides `(policy, slot, key, cost)`.
///
/// # Safety
/// `env` and the values are the current callback's.
unsafe fn memory_decide_call(
    env: sys::napi_env,
    [policy, slot, key, cost]: [sys::napi_value; 4],
) -> Result<f64> {
    // SAFETY: as above.
    let (handle, slot, cost) = unsafe {
        (
            arg_u32(env, policy, "policy")?,
            arg_u32(env, slot, "slot")?,
            arg_f64(env, cost, "cost")?,
        )
    };
    MEMORY_POLICIES.with(|slab| {
        let slab = slab.borrow();
        let Some(policy) = slab.get(handle) else {
            return Err(Error::new(
                Status::InvalidArg,
                format!("rate limit memory policy handle {handle} is not live"),
            ));
        };
        let mut buf = [0u8; KEY_INLINE];
        let mut heap = Vec::new();
        // SAFETY: as above.
        let key = unsafe { read_key(env, key, &policy.prefix, &mut buf, &mut heap) }?;
        let decided = with_memory_router(slot, |router| match policy.algorithm {
            None => {
                match memory_reply(on_memory::store_increment(router, key, policy.window_ms))? {
                    Some([hits, pttl, now]) => {
                        write_out(&[(now + pttl) as f64])?;
                        Ok(hits as f64)
                    }
                    None => Ok(-1.0),
                }
            }
            Some(algorithm) => match memory_reply(on_memory::consume(
                router,
                algorithm,
                key,
                policy.limit,
                policy.window_ms,
                integer(cost),
            ))? {
                Some([allowed, remaining, reset, retry, _now]) => {
                    write_out(&[remaining as f64, reset as f64, retry as f64])?;
                    Ok(allowed as f64)
                }
                None => Ok(-1.0),
            },
        });
        decided.unwrap_or(Ok(-1.0))
    })
}
