//! Native implementations of scripts the engine knows by SHA1: rate-limit-redis 6's,
//! rate-limiter-flexible 11's and bulwark's own rate-limit scripts, the scripts a
//! rate-limited app runs on every request. Each makes the same `redis.call`s in the same
//! order as its Lua text and computes with Lua's doubles, so replies and effects are the
//! interpreter's (`core/tests/known_scripts.rs` runs both ways over random inputs), without
//! building Lua tables and strings for every call.
//!
//! What the Lua would treat in an unusual way (an argument or a stored value that is not a
//! plain integer, Lua's loose `tonumber`, a read-only call of a writing script) is left to
//! the interpreter: a native script returns `None` only before anything was written.

use once_cell::sync::Lazy;

use super::{c_double_to_i64, Run};
use crate::memory::num::{format_f64, parse_i64};
use crate::memory::sha_hasher::ShaMap;
use crate::ratelimit::{
    store_scripts, Algorithm, MAX_LIMIT, MAX_LIMIT_TIMES_WINDOW, MAX_WINDOW_MS,
};
use crate::Reply;

/// rate-limiter-flexible 11's `RateLimiterRedis` script (its template literal's line
/// continuations leave one line).
const FLEXIBLE_INCR_TTL: &str = "redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX') local consumed = redis.call('incrby', KEYS[1], ARGV[1]) local ttl = redis.call('pttl', KEYS[1]) if ttl == -1 then   redis.call('expire', KEYS[1], ARGV[2])   ttl = 1000 * ARGV[2] end return {consumed, ttl} ";

/// Integers whose doubles, sums and differences stay exact: plain values above it go to
/// the interpreter rather than being reasoned about.
const EXACT: i64 = 1 << 52;

/// A script with a native implementation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Known {
    StoreIncrement,
    StoreGet,
    StoreDecrement,
    FlexibleIncrTtl,
    FixedWindow,
    SlidingWindow,
    TokenBucket,
}

impl Known {
    /// Its bit in the script cache's record of which known scripts it holds.
    pub(super) fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Each known script: its native implementation, and the source lines its calls are on
/// (an error raised by a call names that line, as the interpreter's does).
struct Entry {
    known: Known,
    source: &'static str,
}

static KNOWN: Lazy<ShaMap<Entry>> = Lazy::new(|| {
    [
        (Known::StoreIncrement, store_scripts::INCREMENT),
        (Known::StoreGet, store_scripts::GET),
        (Known::StoreDecrement, store_scripts::DECREMENT),
        (Known::FlexibleIncrTtl, FLEXIBLE_INCR_TTL),
        (Known::FixedWindow, Algorithm::FixedWindow.redis_script()),
        (
            Known::SlidingWindow,
            Algorithm::SlidingWindow.redis_script(),
        ),
        (Known::TokenBucket, Algorithm::TokenBucket.redis_script()),
    ]
    .into_iter()
    .map(|(known, source)| (super::sha1_hex(source.as_bytes()), Entry { known, source }))
    .collect()
});

/// The native implementation of the script named `sha`, if there is one.
pub(super) fn lookup(sha: &str) -> Option<(Known, &'static str)> {
    KNOWN.get(sha).map(|e| (e.known, e.source))
}

/// The 1-based line of `source` holding `call` (a literal part of the script's text).
fn line_of(source: &str, call: &str) -> usize {
    let at = source
        .find(call)
        .unwrap_or_else(|| panic!("known script lost its call {call}"));
    source[..at].matches('\n').count() + 1
}

/// One native run: the script's `redis.call`s, raising their errors like the interpreter.
struct Native<'r, 'a> {
    run: &'r mut Run<'a>,
    sha: &'r str,
    source: &'static str,
}

/// An error reply of a `redis.call`, already in the text the script's failure has.
struct Raised(Reply);

impl Native<'_, '_> {
    /// `redis.call(args…)`; `at` is the call's text in the script, for the error's line.
    fn call(&mut self, at: &str, args: &[&[u8]]) -> Result<Reply, Raised> {
        match self.run.dispatch(args) {
            Reply::Error(e) => Err(Raised(Reply::Error(format!(
                "{e} script: {}, on @user_script:{}.",
                self.sha,
                line_of(self.source, at)
            )))),
            reply => Ok(reply),
        }
    }
}

/// A plain decimal integer within ±[`EXACT`] (what Lua's `tonumber` reads the same way
/// Rust does), else `None`.
fn plain(arg: &[u8]) -> Option<i64> {
    parse_i64(arg).filter(|v| v.abs() <= EXACT)
}

/// A plain integer in `min..=max`.
fn plain_in(arg: &[u8], min: i64, max: i64) -> Option<i64> {
    plain(arg).filter(|v| (min..=max).contains(v))
}

/// A Lua number (a `redis.call` integer reply made a double) returned to Redis.
fn lua_int(v: i64) -> Reply {
    Reply::Int(c_double_to_i64(v as f64))
}

/// A number as `redis.call` sends a Lua number.
fn arg(v: f64) -> Vec<u8> {
    format_f64(v).into_bytes()
}

/// Lua's `tonumber(x or nil) or default` over a bulk or nil reply, for plain integers only.
fn stored(reply: &Reply, default: f64) -> Option<f64> {
    stored_or_nil(reply).map(|v| v.unwrap_or(default))
}

/// Lua's `tonumber(x or nil)`: `Some(None)` for nil, `None` for what is not a plain integer.
fn stored_or_nil(reply: &Reply) -> Option<Option<f64>> {
    match reply {
        Reply::Nil => Some(None),
        Reply::Bulk(b) => plain(b).map(|v| Some(v as f64)),
        _ => None,
    }
}

/// `now` from a TIME reply as the scripts compute it: seconds × 1000 + ⌊µs / 1000⌋.
fn time_ms(reply: &Reply) -> Option<f64> {
    let Reply::Array(parts) = reply else {
        return None;
    };
    let [Reply::Bulk(secs), Reply::Bulk(micros)] = parts.as_slice() else {
        return None;
    };
    Some(plain(secs)? as f64 * 1000.0 + (plain(micros)? as f64 / 1000.0).floor())
}

impl Known {
    /// Runs the script natively: `Some(reply)`, or `None` (nothing written) when the
    /// interpreter must run it.
    pub(super) fn run(
        self,
        run: &mut Run<'_>,
        sha: &str,
        source: &'static str,
        keys: &[&[u8]],
        argv: &[&[u8]],
    ) -> Option<Reply> {
        let writes = !matches!(self, Known::StoreGet);
        if keys.is_empty() || (writes && run.read_only) {
            return None;
        }
        let mut native = Native { run, sha, source };
        let outcome = match self {
            Known::StoreIncrement => store_increment(&mut native, keys[0], argv),
            Known::StoreGet => store_get(&mut native, keys[0]),
            Known::StoreDecrement => store_decrement(&mut native, keys[0]),
            Known::FlexibleIncrTtl => flexible_incr_ttl(&mut native, keys[0], argv),
            Known::FixedWindow => fixed_window(&mut native, keys[0], argv),
            Known::SlidingWindow => sliding_window(&mut native, keys[0], argv),
            Known::TokenBucket => token_bucket(&mut native, keys[0], argv),
        };
        match outcome {
            Ok(reply) => reply,
            Err(Raised(e)) => Some(e),
        }
    }
}

type Outcome = Result<Option<Reply>, Raised>;

fn store_increment(n: &mut Native<'_, '_>, key: &[u8], argv: &[&[u8]]) -> Outcome {
    // SET … PX takes 1 … 2^52 as Lua formats it; anything else is the interpreter's.
    let Some(window) = argv.first().and_then(|a| plain_in(a, 1, EXACT)) else {
        return Ok(None);
    };
    let ttl = n.call("\"PTTL\"", &[b"PTTL", key])?;
    let Reply::Int(ttl) = ttl else {
        return Ok(None);
    };
    if ttl <= 0 {
        let w = arg(window as f64);
        n.call("\"SET\"", &[b"SET", key, b"1", b"PX", &w])?;
        return Ok(Some(Reply::Array(vec![Reply::Int(1), lua_int(window)])));
    }
    let hits = n.call("\"INCR\"", &[b"INCR", key])?;
    let Reply::Int(hits) = hits else {
        return Ok(None);
    };
    Ok(Some(Reply::Array(vec![lua_int(hits), lua_int(ttl)])))
}

fn store_get(n: &mut Native<'_, '_>, key: &[u8]) -> Outcome {
    let value = n.call("\"GET\"", &[b"GET", key])?;
    let Reply::Int(ttl) = n.call("\"PTTL\"", &[b"PTTL", key])? else {
        return Ok(None);
    };
    // Lua reads a nil reply as false, which a returned table keeps as a nil element.
    Ok(Some(Reply::Array(vec![value, lua_int(ttl)])))
}

fn store_decrement(n: &mut Native<'_, '_>, key: &[u8]) -> Outcome {
    let Reply::Int(ttl) = n.call("\"PTTL\"", &[b"PTTL", key])? else {
        return Ok(None);
    };
    if ttl > 0 {
        let value = n.call("\"GET\"", &[b"GET", key])?;
        let Some(count) = stored(&value, 0.0) else {
            return Ok(None);
        };
        if count > 0.0 {
            n.call("\"DECR\"", &[b"DECR", key])?;
        }
    }
    Ok(Some(Reply::Int(0)))
}

fn flexible_incr_ttl(n: &mut Native<'_, '_>, key: &[u8], argv: &[&[u8]]) -> Outcome {
    // Points go to INCRBY as given; the duration (s) is also multiplied by 1000 in Lua.
    let (Some(points), Some(secs)) = (argv.first(), argv.get(1)) else {
        return Ok(None);
    };
    let Some(secs) = plain_in(secs, 1, 1 << 40) else {
        return Ok(None);
    };
    n.call("'set'", &[b"set", key, b"0", b"EX", argv[1], b"NX"])?;
    let Reply::Int(consumed) = n.call("'incrby'", &[b"incrby", key, points])? else {
        return Ok(None);
    };
    let Reply::Int(mut ttl) = n.call("'pttl'", &[b"pttl", key])? else {
        return Ok(None);
    };
    if ttl == -1 {
        n.call("'expire'", &[b"expire", key, argv[1]])?;
        ttl = 1000 * secs;
    }
    Ok(Some(Reply::Array(vec![lua_int(consumed), lua_int(ttl)])))
}

/// limit, window_ms and cost as a [`crate::ratelimit::Policy`] accepts them.
fn policy_args(argv: &[&[u8]]) -> Option<(f64, f64, f64)> {
    let limit = plain_in(argv.first()?, 1, MAX_LIMIT as i64)?;
    let window = plain_in(argv.get(1)?, 1, MAX_WINDOW_MS as i64)?;
    let cost = plain_in(argv.get(2)?, 0, MAX_LIMIT as i64)?;
    if limit as u128 * window as u128 > MAX_LIMIT_TIMES_WINDOW as u128 {
        return None;
    }
    Some((limit as f64, window as f64, cost as f64))
}

fn allowed_flag(allowed: bool) -> Reply {
    Reply::Int(i64::from(allowed))
}

/// fixed_window.lua.
fn fixed_window(n: &mut Native<'_, '_>, key: &[u8], argv: &[&[u8]]) -> Outcome {
    let Some((limit, window, cost)) = policy_args(argv) else {
        return Ok(None);
    };
    let Some(now) = time_ms(&n.call("'TIME'", &[b"TIME"])?) else {
        return Ok(None);
    };
    let Reply::Array(fields) = n.call("'HMGET'", &[b"HMGET", key, b"c", b"e"])? else {
        return Ok(None);
    };
    let (Some(mut count), Some(mut expires)) = (stored(&fields[0], 0.0), stored(&fields[1], 0.0))
    else {
        return Ok(None);
    };
    if expires <= now {
        (count, expires) = (0.0, now + window);
    }
    let allowed = count + cost <= limit;
    if allowed && cost > 0.0 {
        if count == 0.0 {
            let (c, e) = (arg(cost), arg(expires));
            n.call("'HSET'", &[b"HSET", key, b"c", &c, b"e", &e])?;
            n.call("'PEXPIREAT'", &[b"PEXPIREAT", key, &e])?;
        } else {
            n.call("'HINCRBY'", &[b"HINCRBY", key, b"c", &arg(cost)])?;
        }
        count += cost;
    }
    let reset = if count > 0.0 { expires - now } else { 0.0 };
    let retry = match (allowed, cost > limit) {
        (true, _) => 0.0,
        (false, true) => window,
        (false, false) => reset,
    };
    Ok(Some(Reply::Array(vec![
        allowed_flag(allowed),
        Reply::Int(c_double_to_i64((limit - count).max(0.0))),
        Reply::Int(c_double_to_i64(reset)),
        Reply::Int(c_double_to_i64(retry)),
        Reply::Int(c_double_to_i64(now)),
    ])))
}

/// token_bucket.lua.
fn token_bucket(n: &mut Native<'_, '_>, key: &[u8], argv: &[&[u8]]) -> Outcome {
    let Some((limit, w, cost)) = policy_args(argv) else {
        return Ok(None);
    };
    let Some(now) = time_ms(&n.call("'TIME'", &[b"TIME"])?) else {
        return Ok(None);
    };
    let Some(tat) = stored(&n.call("'GET'", &[b"GET", key])?, now) else {
        return Ok(None);
    };
    let mut tat = tat.max(now);
    let (mut allowed, mut new_tat) = (false, tat);
    if cost <= limit {
        new_tat = tat + (cost * w / limit).ceil();
        allowed = new_tat - now <= w;
    }
    let retry = if allowed {
        tat = new_tat;
        0.0
    } else if cost > limit {
        w
    } else {
        new_tat - now - w
    };
    if allowed && cost > 0.0 {
        let t = arg(tat);
        n.call("'SET'", &[b"SET", key, &t, b"PXAT", &t])?;
    }
    let used = tat - now;
    Ok(Some(Reply::Array(vec![
        allowed_flag(allowed),
        Reply::Int(c_double_to_i64(((w - used).max(0.0) * limit / w).floor())),
        Reply::Int(c_double_to_i64(used)),
        Reply::Int(c_double_to_i64(retry)),
        Reply::Int(c_double_to_i64(now)),
    ])))
}

/// sliding_window_state.lua and sliding_window.lua.
fn sliding_window(n: &mut Native<'_, '_>, key: &[u8], argv: &[&[u8]]) -> Outcome {
    let Some((limit, w, cost)) = policy_args(argv) else {
        return Ok(None);
    };
    let Some(now) = time_ms(&n.call("'TIME'", &[b"TIME"])?) else {
        return Ok(None);
    };
    let window = (now / w).floor();
    let Reply::Array(fields) = n.call("'HMGET'", &[b"HMGET", key, b"w", b"c", b"p", b"b"])? else {
        return Ok(None);
    };
    let (Some(sw), Some(mut current), Some(mut previous), Some(blocked)) = (
        stored_or_nil(&fields[0]),
        stored(&fields[1], 0.0),
        stored(&fields[2], 0.0),
        stored(&fields[3], 0.0),
    ) else {
        return Ok(None);
    };
    if sw != Some(window) {
        (current, previous) = match sw {
            Some(sw) if sw + 1.0 == window => (0.0, current),
            _ => (0.0, 0.0),
        };
    }
    let result = |allowed: bool, remaining: f64, reset: f64, retry: f64| {
        Some(Reply::Array(vec![
            allowed_flag(allowed),
            Reply::Int(c_double_to_i64(remaining)),
            Reply::Int(c_double_to_i64(reset)),
            Reply::Int(c_double_to_i64(retry)),
            Reply::Int(c_double_to_i64(now)),
        ]))
    };
    if blocked > now {
        let left = blocked - now;
        let retry = if cost > limit { w } else { left };
        return Ok(result(false, 0.0, left, retry));
    }
    let elapsed = now - window * w;
    let fits = |prev: f64, cur: f64, at: f64| cur + (prev * (w - at) / w).floor() + cost <= limit;
    let allowed = fits(previous, current, elapsed);
    if allowed {
        current += cost;
    }
    let used = current + (previous * (w - elapsed) / w).floor();
    let reset = if current > 0.0 {
        2.0 * w - elapsed
    } else if previous > 0.0 {
        w - elapsed
    } else {
        0.0
    };
    let mut retry = 0.0;
    if !allowed {
        if cost > limit {
            retry = w;
        } else {
            let (mut prev, mut cur, mut lo, mut base) = (previous, current, elapsed, 0.0);
            if current + cost > limit || previous == 0.0 {
                (prev, cur, lo, base) = (current, 0.0, 0.0, w - elapsed);
            }
            let mut hi = w;
            while hi - lo > 1.0 {
                let mid = lo + ((hi - lo) / 2.0).floor();
                if fits(prev, cur, mid) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            retry = if base == 0.0 { hi - elapsed } else { base + hi };
        }
    }
    if allowed && cost > 0.0 {
        if sw == Some(window) {
            n.call("'HINCRBY'", &[b"HINCRBY", key, b"c", &arg(cost)])?;
        } else {
            let (wi, c, p) = (arg(window), arg(current), arg(previous));
            n.call("'HSET'", &[b"HSET", key, b"w", &wi, b"c", &c, b"p", &p])?;
            n.call(
                "'PEXPIREAT'",
                &[b"PEXPIREAT", key, &arg((window + 2.0) * w)],
            )?;
        }
    }
    Ok(result(allowed, (limit - used).max(0.0), reset, retry))
}
