//! Rate-limit algorithms as pure functions of (policy, stored state, time, cost).
//!
//! Time is passed in (the Redis server's clock on Redis, the process clock in memory), and
//! the state is what a backend stores under the limiter's key, so that Redis scripts and
//! the memory backend can compute identical decisions from identical data:
//! - fixed window: the hits and the window's end;
//! - sliding window: the current and previous windows' counters, weighted by overlap, and
//!   the end of a block if one was set;
//! - token bucket: GCRA's theoretical arrival time (TAT) in ms.
//!
//! A denied request consumes nothing, so hammering a closed limit does not extend it.

use std::fmt;

mod local;
pub mod on_memory;
pub mod store_scripts;
pub use local::Limiter;

/// Which algorithm a limiter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `limit` requests per window starting at the key's first request.
    FixedWindow,
    /// Like a fixed window aligned to multiples of `window_ms`, but the previous window's
    /// count still weighs in proportion to how much of it the sliding window overlaps.
    SlidingWindow,
    /// GCRA: a bucket of `limit` tokens refilled evenly over `window_ms`.
    TokenBucket,
}

impl Algorithm {
    /// The Lua script that makes this algorithm's decision atomically on Redis, with the
    /// server's clock. `KEYS[1]` is the limiter's key; `ARGV` are limit, window_ms and cost;
    /// it returns `{allowed 0|1, remaining, reset_ms, retry_after_ms, now_ms}`, the same
    /// decision [`decide`] computes from the same stored state at `now_ms`.
    pub fn redis_script(self) -> &'static str {
        match self {
            Algorithm::FixedWindow => concat!(
                include_str!("ratelimit/fixed_window.lua"),
                include_str!("ratelimit/decide.lua")
            ),
            Algorithm::SlidingWindow => concat!(
                include_str!("ratelimit/sliding_window_state.lua"),
                include_str!("ratelimit/sliding_window.lua"),
                include_str!("ratelimit/decide.lua")
            ),
            Algorithm::TokenBucket => concat!(
                include_str!("ratelimit/token_bucket.lua"),
                include_str!("ratelimit/decide.lua")
            ),
        }
    }

    /// [`Algorithm::redis_script`] for each of `KEYS` in order, in one script run at one
    /// server time (the decisions coalesced in one event-loop turn). `ARGV` are limit,
    /// window_ms, then one cost per key; it returns one flat array of four values per key,
    /// `allowed, remaining, reset_ms, retry_after_ms`, or that key's error message (a
    /// foreign value under it) and three zeros.
    pub fn redis_batch_script(self) -> &'static str {
        match self {
            Algorithm::FixedWindow => concat!(
                include_str!("ratelimit/fixed_window.lua"),
                include_str!("ratelimit/batch.lua")
            ),
            Algorithm::SlidingWindow => concat!(
                include_str!("ratelimit/sliding_window_state.lua"),
                include_str!("ratelimit/sliding_window.lua"),
                include_str!("ratelimit/batch.lua")
            ),
            Algorithm::TokenBucket => concat!(
                include_str!("ratelimit/token_bucket.lua"),
                include_str!("ratelimit/batch.lua")
            ),
        }
    }

    /// The Lua script that applies [`adjust`] (or, with a fourth argument, [`block`]) on
    /// Redis with the server's clock, on the state [`Algorithm::redis_script`] keeps.
    /// `KEYS[1]` is the key; `ARGV` are limit, window_ms, delta and optionally block_ms
    /// (which replaces the state and ignores delta). Returns `now_ms`.
    pub fn redis_adjust_script(self) -> &'static str {
        match self {
            Algorithm::FixedWindow => include_str!("ratelimit/fixed_window_adjust.lua"),
            Algorithm::SlidingWindow => concat!(
                include_str!("ratelimit/sliding_window_state.lua"),
                include_str!("ratelimit/sliding_window_adjust.lua")
            ),
            Algorithm::TokenBucket => include_str!("ratelimit/token_bucket_adjust.lua"),
        }
    }
}

/// The largest accepted window: about 4.4 years in ms, small enough that every time and
/// count stays exact as a JS number.
pub const MAX_WINDOW_MS: u64 = 1 << 47;
/// The largest accepted limit or cost.
pub const MAX_LIMIT: u64 = 1 << 40;
/// The largest accepted `limit × window_ms`: the algorithms multiply counts by times, and
/// below 2^53 every product is exact in Lua's doubles as in Rust's integers.
pub const MAX_LIMIT_TIMES_WINDOW: u64 = 1 << 53;

/// A validated limiter configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    algorithm: Algorithm,
    limit: u64,
    window_ms: u64,
}

/// Why a policy or a cost was refused; names the offending argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    /// The argument's name as the JS API spells it.
    pub argument: &'static str,
    /// What was wrong with it.
    pub message: String,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.argument, self.message)
    }
}

impl std::error::Error for RangeError {}

fn check_range(argument: &'static str, value: u64, min: u64, max: u64) -> Result<u64, RangeError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(RangeError {
            argument,
            message: format!("must be an integer from {min} to {max}, got {value}"),
        })
    }
}

impl Policy {
    /// Validates `limit` (1..=[`MAX_LIMIT`]), `window_ms` (1..=[`MAX_WINDOW_MS`]) and
    /// their product (at most [`MAX_LIMIT_TIMES_WINDOW`]).
    pub fn new(algorithm: Algorithm, limit: u64, window_ms: u64) -> Result<Self, RangeError> {
        let limit = check_range("limit", limit, 1, MAX_LIMIT)?;
        let window_ms = check_range("windowMs", window_ms, 1, MAX_WINDOW_MS)?;
        if limit as u128 * window_ms as u128 > MAX_LIMIT_TIMES_WINDOW as u128 {
            return Err(RangeError {
                argument: "limit",
                message: format!(
                    "× windowMs must be at most {MAX_LIMIT_TIMES_WINDOW}, got {limit} × {window_ms}: use a smaller limit or a shorter window"
                ),
            });
        }
        Ok(Self {
            algorithm,
            limit,
            window_ms,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Requests (or tokens) allowed per window.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The window length in ms.
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// Checks a request's cost: 0 (a peek) up to [`MAX_LIMIT`].
    pub fn check_cost(cost: u64) -> Result<u64, RangeError> {
        check_range("cost", cost, 0, MAX_LIMIT)
    }
}

/// The outcome of one request against a limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The policy's limit.
    pub limit: u64,
    /// What could still be consumed now, after this request.
    pub remaining: u64,
    /// Ms until the limiter is back to its full limit (0 when it already is).
    pub reset_ms: u64,
    /// Ms until a request of the same cost could be allowed (0 when allowed).
    pub retry_after_ms: u64,
}

/// What a backend stores for one key. `expires_at_ms` is when the backend may drop the
/// key (its TTL): past it, the state is the same as no state at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Fixed window: hits so far and the window's end.
    Fixed { count: u64, expires_at_ms: u64 },
    /// Sliding window: the index (`now / window`) of the current window, its count, the
    /// previous window's count, and until when (ms) every request is denied by [`block`]
    /// (0, or any time already past: not blocked).
    Sliding {
        window: u64,
        current: u64,
        previous: u64,
        blocked_until_ms: u64,
    },
    /// Token bucket: GCRA's theoretical arrival time.
    Bucket { tat_ms: u64 },
}

impl State {
    /// When a backend may drop this state.
    pub fn expires_at_ms(&self, policy: &Policy) -> u64 {
        match *self {
            State::Fixed { expires_at_ms, .. } => expires_at_ms,
            // The current window's hits still weigh in during the next window; a block
            // outlives any count.
            State::Sliding {
                window,
                current,
                blocked_until_ms,
                ..
            } => (window + if current > 0 { 2 } else { 1 })
                .saturating_mul(policy.window_ms)
                .max(blocked_until_ms),
            State::Bucket { tat_ms } => tat_ms,
        }
    }
}

/// Applies a request of `cost` at `now_ms` to `state` (`None` = nothing stored or expired).
/// Returns the decision and the state to store (unchanged when denied or `cost` is 0).
pub fn decide(
    policy: &Policy,
    state: Option<State>,
    now_ms: u64,
    cost: u64,
) -> (Decision, Option<State>) {
    let state = state.filter(|s| s.expires_at_ms(policy) > now_ms);
    match policy.algorithm {
        Algorithm::FixedWindow => fixed_window(policy, state, now_ms, cost),
        Algorithm::SlidingWindow => sliding_window(policy, state, now_ms, cost),
        Algorithm::TokenBucket => token_bucket(policy, state, now_ms, cost),
    }
}

fn fixed_window(
    policy: &Policy,
    state: Option<State>,
    now: u64,
    cost: u64,
) -> (Decision, Option<State>) {
    let (count, expires_at_ms) = fixed_counts(policy, state, now);
    let allowed = count + cost <= policy.limit;
    let count = if allowed { count + cost } else { count };
    let reset_ms = if count == 0 { 0 } else { expires_at_ms - now };
    let decision = Decision {
        allowed,
        limit: policy.limit,
        remaining: policy.limit.saturating_sub(count),
        reset_ms,
        retry_after_ms: if allowed {
            0
        } else {
            retry_after_window(policy, cost, reset_ms)
        },
    };
    let stored = (count > 0).then_some(State::Fixed {
        count,
        expires_at_ms,
    });
    (decision, stored)
}

/// A request larger than the whole limit can never pass; report the full window then.
fn retry_after_window(policy: &Policy, cost: u64, reset_ms: u64) -> u64 {
    if cost > policy.limit {
        policy.window_ms
    } else {
        reset_ms
    }
}

fn sliding_window(
    policy: &Policy,
    state: Option<State>,
    now: u64,
    cost: u64,
) -> (Decision, Option<State>) {
    let w = policy.window_ms;
    let (window, current, previous, blocked_until_ms) = sliding_counts(policy, state, now);
    if blocked_until_ms > now {
        // Blocked: nothing fits, not even a peek, until the block ends; then the counts
        // start afresh (the block replaced them).
        let left = blocked_until_ms - now;
        let decision = Decision {
            allowed: false,
            limit: policy.limit,
            remaining: 0,
            reset_ms: left,
            retry_after_ms: retry_after_window(policy, cost, left),
        };
        return (decision, state);
    }
    let elapsed = now - window * w;
    // The previous window's weight is the part of it the sliding window still covers,
    // in integer arithmetic so that a Lua script computes exactly the same.
    let weighted = |current: u64| current + previous * (w - elapsed) / w;
    let allowed = weighted(current) + cost <= policy.limit;
    let current = if allowed { current + cost } else { current };
    let used = weighted(current);
    // Until everything counted has slid out: the end of the next window if the current one
    // has hits, else the end of this one.
    let reset_ms = match (current, previous) {
        (0, 0) => 0,
        (0, _) => w - elapsed,
        _ => 2 * w - elapsed,
    };
    let retry_after_ms = if allowed {
        0
    } else if cost > policy.limit {
        w
    } else {
        sliding_retry_after(policy, previous, current, elapsed, cost)
    };
    let decision = Decision {
        allowed,
        limit: policy.limit,
        remaining: policy.limit.saturating_sub(used),
        reset_ms,
        retry_after_ms,
    };
    let stored = (current > 0 || previous > 0).then_some(State::Sliding {
        window,
        current,
        previous,
        blocked_until_ms,
    });
    (decision, stored)
}

/// The wait until `cost` fits: first while the previous window's weight decays, else
/// into the next window, where this window's count becomes the decaying one.
fn sliding_retry_after(
    policy: &Policy,
    previous: u64,
    current: u64,
    elapsed: u64,
    cost: u64,
) -> u64 {
    let w = policy.window_ms;
    // Smallest `at` in (lo, w] at which the request fits, given the counts then; the
    // weight only decays as `at` grows, so a binary search finds it (the script mirrors it).
    let first_fit = |prev: u64, cur: u64, mut lo: u64| {
        let mut hi = w;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if cur + prev * (w - mid) / w + cost <= policy.limit {
                hi = mid
            } else {
                lo = mid
            }
        }
        hi
    };
    if current + cost <= policy.limit && previous > 0 {
        // Within this window, once the previous window's weight has decayed enough.
        first_fit(previous, current, elapsed) - elapsed
    } else {
        // This window's own hits are too many: wait into the next window, where they
        // decay as the previous window's.
        w - elapsed + first_fit(current, 0, 0)
    }
}

fn token_bucket(
    policy: &Policy,
    state: Option<State>,
    now: u64,
    cost: u64,
) -> (Decision, Option<State>) {
    let w = policy.window_ms;
    let tat = bucket_tat(state, now);
    let new_tat = tat + token_ms(policy, cost);
    let allowed = cost <= policy.limit && new_tat - now <= w;
    let tat = if allowed { new_tat } else { tat };
    let used_ms = tat - now;
    // A penalty (see [`adjust`]) can push the TAT beyond a whole window.
    let remaining = (w.saturating_sub(used_ms) as u128 * policy.limit as u128 / w as u128) as u64;
    let retry_after_ms = if allowed {
        0
    } else if cost > policy.limit {
        w
    } else {
        new_tat - now - w
    };
    let decision = Decision {
        allowed,
        limit: policy.limit,
        remaining,
        reset_ms: used_ms,
        retry_after_ms,
    };
    let stored = (tat > now).then_some(State::Bucket { tat_ms: tat });
    (decision, stored)
}

/// Adds `delta` units of use to `state` at `now_ms` without a decision: a penalty when
/// positive (may go past the limit, so later requests wait longer), a reward when negative
/// (never below nothing used). Returns the state to store (`None` when nothing counts).
pub fn adjust(policy: &Policy, state: Option<State>, now_ms: u64, delta: i64) -> Option<State> {
    let state = state.filter(|s| s.expires_at_ms(policy) > now_ms);
    let add = |count: u64| count.saturating_add_signed(delta);
    match policy.algorithm {
        Algorithm::FixedWindow => {
            let (count, expires_at_ms) = fixed_counts(policy, state, now_ms);
            let count = add(count);
            (count > 0).then_some(State::Fixed {
                count,
                expires_at_ms,
            })
        }
        Algorithm::SlidingWindow => {
            let (window, current, previous, blocked_until_ms) =
                sliding_counts(policy, state, now_ms);
            let current = add(current);
            (current > 0 || previous > 0 || blocked_until_ms > now_ms).then_some(State::Sliding {
                window,
                current,
                previous,
                blocked_until_ms,
            })
        }
        Algorithm::TokenBucket => {
            let tat = bucket_tat(state, now_ms);
            let ms = token_ms(policy, delta.unsigned_abs());
            let tat = if delta >= 0 {
                tat.saturating_add(ms)
            } else {
                tat.saturating_sub(ms).max(now_ms)
            };
            (tat > now_ms).then_some(State::Bucket { tat_ms: tat })
        }
    }
}

/// The state that denies every request for `ms` (at least 1) from `now_ms`, replacing
/// whatever is stored: once the block ends, a window counts afresh and a bucket holds one
/// token, refilling from there.
pub fn block(policy: &Policy, now_ms: u64, ms: u64) -> State {
    let until = now_ms.saturating_add(ms.max(1));
    match policy.algorithm {
        Algorithm::FixedWindow => State::Fixed {
            count: policy.limit,
            expires_at_ms: until,
        },
        Algorithm::SlidingWindow => State::Sliding {
            window: now_ms / policy.window_ms,
            current: 0,
            previous: 0,
            blocked_until_ms: until,
        },
        // A request of one token fits again exactly at `until`.
        Algorithm::TokenBucket => State::Bucket {
            tat_ms: until + policy.window_ms - token_ms(policy, 1),
        },
    }
}

/// The TAT one GCRA token is worth: window / limit ms, rounded up, exact in u128.
fn token_ms(policy: &Policy, tokens: u64) -> u64 {
    (tokens as u128 * policy.window_ms as u128)
        .div_ceil(policy.limit as u128)
        .min(u64::MAX as u128) as u64
}

/// A fixed window's hits and end at `now` (a fresh window when nothing is stored).
fn fixed_counts(policy: &Policy, state: Option<State>, now: u64) -> (u64, u64) {
    match state {
        Some(State::Fixed {
            count,
            expires_at_ms,
        }) => (count, expires_at_ms),
        _ => (0, now + policy.window_ms),
    }
}

/// The sliding window's index at `now` with its count, the previous window's and the
/// stored block end (kept whatever the window).
fn sliding_counts(policy: &Policy, state: Option<State>, now: u64) -> (u64, u64, u64, u64) {
    let window = now / policy.window_ms;
    match state {
        Some(State::Sliding {
            window: stored,
            current,
            previous,
            blocked_until_ms,
        }) => {
            if stored == window {
                (window, current, previous, blocked_until_ms)
            } else if stored + 1 == window {
                // The stored window just ended: its count becomes the previous one.
                (window, 0, current, blocked_until_ms)
            } else {
                (window, 0, 0, blocked_until_ms)
            }
        }
        _ => (window, 0, 0, 0),
    }
}

/// GCRA's theoretical arrival time at `now` (never in the past).
fn bucket_tat(state: Option<State>, now: u64) -> u64 {
    match state {
        Some(State::Bucket { tat_ms }) => tat_ms.max(now),
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(algorithm: Algorithm, limit: u64, window_ms: u64) -> Policy {
        Policy::new(algorithm, limit, window_ms).unwrap()
    }

    /// Runs requests of cost 1 at the given times, threading the state; returns decisions.
    fn run(policy: &Policy, times: &[u64]) -> Vec<Decision> {
        run_from(policy, None, times)
    }

    /// [`run`] from a given state.
    fn run_from(policy: &Policy, mut state: Option<State>, times: &[u64]) -> Vec<Decision> {
        times
            .iter()
            .map(|&t| {
                let (d, s) = decide(policy, state, t, 1);
                state = s;
                d
            })
            .collect()
    }

    #[test]
    fn policy_rejects_out_of_range_values_naming_the_argument() {
        let err = Policy::new(Algorithm::FixedWindow, 0, 1000).unwrap_err();
        assert_eq!(err.argument, "limit");
        assert_eq!(
            err.to_string(),
            "limit must be an integer from 1 to 1099511627776, got 0"
        );
        let err = Policy::new(Algorithm::TokenBucket, 5, 0).unwrap_err();
        assert_eq!(err.argument, "windowMs");
        assert!(Policy::new(Algorithm::SlidingWindow, 5, MAX_WINDOW_MS + 1).is_err());
        assert!(Policy::new(Algorithm::SlidingWindow, MAX_LIMIT + 1, 5).is_err());
        assert_eq!(
            Policy::check_cost(MAX_LIMIT + 1).unwrap_err().argument,
            "cost"
        );
        assert_eq!(Policy::check_cost(0), Ok(0));
        let err = Policy::new(Algorithm::SlidingWindow, MAX_LIMIT, MAX_WINDOW_MS).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("limit × windowMs must be at most"),
            "{err}"
        );
        assert!(Policy::new(Algorithm::SlidingWindow, 1 << 26, 1 << 27).is_ok());
    }

    #[test]
    fn fixed_window_allows_limit_then_denies_until_the_window_ends() {
        let p = policy(Algorithm::FixedWindow, 3, 1000);
        let d = run(&p, &[100, 200, 300, 400, 1099, 1100]);
        assert_eq!(
            d.iter().map(|d| d.allowed).collect::<Vec<_>>(),
            [true, true, true, false, false, true]
        );
        assert_eq!(
            d.iter().map(|d| d.remaining).collect::<Vec<_>>(),
            [2, 1, 0, 0, 0, 2]
        );
        // The window is anchored at the first request (100) and ends at 1100.
        assert_eq!(d[0].reset_ms, 1000);
        assert_eq!(d[3].reset_ms, 700);
        assert_eq!(d[3].retry_after_ms, 700);
        assert_eq!(d[4].retry_after_ms, 1);
        assert_eq!(d[5].reset_ms, 1000);
    }

    #[test]
    fn denied_requests_do_not_consume() {
        let p = policy(Algorithm::FixedWindow, 1, 1000);
        let (_, s) = decide(&p, None, 0, 1);
        let (d, s2) = decide(&p, s, 10, 1);
        assert!(!d.allowed);
        assert_eq!(s, s2);
    }

    #[test]
    fn cost_zero_peeks_without_storing() {
        for algorithm in [
            Algorithm::FixedWindow,
            Algorithm::SlidingWindow,
            Algorithm::TokenBucket,
        ] {
            let p = policy(algorithm, 5, 1000);
            let (d, s) = decide(&p, None, 0, 0);
            assert!(d.allowed, "{algorithm:?}");
            assert_eq!((d.remaining, d.reset_ms, s), (5, 0, None), "{algorithm:?}");
        }
    }

    #[test]
    fn a_cost_above_the_limit_is_denied_with_a_full_window_retry() {
        for algorithm in [
            Algorithm::FixedWindow,
            Algorithm::SlidingWindow,
            Algorithm::TokenBucket,
        ] {
            let p = policy(algorithm, 5, 1000);
            let (d, s) = decide(&p, None, 0, 6);
            assert!(!d.allowed, "{algorithm:?}");
            assert_eq!(
                (d.remaining, d.retry_after_ms, s),
                (5, 1000, None),
                "{algorithm:?}"
            );
        }
    }

    #[test]
    fn expired_state_counts_as_none() {
        let p = policy(Algorithm::FixedWindow, 1, 1000);
        let stale = Some(State::Fixed {
            count: 1,
            expires_at_ms: 500,
        });
        let (d, s) = decide(&p, stale, 500, 1);
        assert!(d.allowed);
        assert_eq!(
            s,
            Some(State::Fixed {
                count: 1,
                expires_at_ms: 1500
            })
        );
    }

    #[test]
    fn sliding_window_weighs_the_previous_window() {
        let p = policy(Algorithm::SlidingWindow, 10, 1000);
        // 10 hits late in window 0 fill it.
        let mut state = None;
        for t in 900..910 {
            let (d, s) = decide(&p, state, t, 1);
            assert!(d.allowed);
            state = s;
        }
        let (d, _) = decide(&p, state, 950, 1);
        assert!(!d.allowed);
        // Weights are floored: 1 ms into window 1 the old hits weigh 10 * 999 / 1000 = 9.
        assert_eq!(d.retry_after_ms, 50 + 1);
        // At 1250 the previous window still covers 75%: 10 * 750 / 1000 = 7 used.
        let (d, s) = decide(&p, state, 1250, 1);
        assert!(d.allowed);
        assert_eq!(d.remaining, 2);
        assert_eq!(
            s,
            Some(State::Sliding {
                window: 1,
                current: 1,
                previous: 10,
                blocked_until_ms: 0
            })
        );
        assert_eq!(d.reset_ms, 2000 - 250);
        // Two windows later nothing counts.
        let (d, _) = decide(&p, s, 3000, 1);
        assert_eq!(d.remaining, 9);
    }

    #[test]
    fn sliding_window_retry_after_is_exactly_when_the_request_fits() {
        let p = policy(Algorithm::SlidingWindow, 4, 1000);
        let mut state = None;
        for t in [100, 200, 1100, 1200] {
            state = decide(&p, state, t, 1).1;
        }
        for at in [1300, 1500, 1900] {
            let (d, _) = decide(&p, state, at, 1);
            if d.allowed {
                continue;
            }
            let wait = d.retry_after_ms;
            assert!(
                !decide(&p, state, at + wait - 1, 1).0.allowed,
                "at {at} wait {wait} is not minimal"
            );
            assert!(
                decide(&p, state, at + wait, 1).0.allowed,
                "at {at} wait {wait} is too short"
            );
        }
    }

    #[test]
    fn sliding_window_block_denies_for_exactly_its_length_then_counts_afresh() {
        let p = policy(Algorithm::SlidingWindow, 3, 1000);
        // 3 hits late in window 0 would still weigh 2 at 1050 without the block.
        let mut state = None;
        for t in [900, 901, 902] {
            state = decide(&p, state, t, 1).1;
        }
        let blocked = block(&p, 950, 100);
        assert_eq!(
            blocked,
            State::Sliding {
                window: 0,
                current: 0,
                previous: 0,
                blocked_until_ms: 1050
            }
        );
        let state = Some(blocked);
        let denied = Decision {
            allowed: false,
            limit: 3,
            remaining: 0,
            reset_ms: 100,
            retry_after_ms: 100,
        };
        assert_eq!(decide(&p, state, 950, 1), (denied, state));
        // A peek reports the block too and changes nothing.
        assert_eq!(decide(&p, state, 950, 0), (denied, state));
        let (d, s) = decide(&p, state, 1049, 2);
        assert_eq!((d.allowed, d.reset_ms, d.retry_after_ms), (false, 1, 1));
        assert_eq!(s, state);
        // A cost above the limit never fits: a full window, as without a block.
        assert_eq!(decide(&p, state, 1000, 4).0.retry_after_ms, 1000);
        // At its end the block is over and the hits before it are forgotten.
        let d = run_from(&p, state, &[1050, 1051, 1052, 1053]);
        assert_eq!(
            d.iter()
                .map(|d| (d.allowed, d.remaining))
                .collect::<Vec<_>>(),
            [(true, 2), (true, 1), (true, 0), (false, 0)]
        );
        assert_eq!(d[0].reset_ms, 2000 - 50);
        // A block of 0 ms lasts 1 ms.
        let state = Some(block(&p, 10, 0));
        assert!(!decide(&p, state, 10, 1).0.allowed);
        assert!(decide(&p, state, 11, 1).0.allowed);
    }

    #[test]
    fn sliding_window_block_outlives_its_windows_and_survives_adjust() {
        let p = policy(Algorithm::SlidingWindow, 4, 1000);
        let blocked = block(&p, 100, 5000);
        // Kept until the block ends, not just while its window's counts matter.
        assert_eq!(blocked.expires_at_ms(&p), 5100);
        assert_eq!(block(&p, 100, 10).expires_at_ms(&p), 1000);
        // A reward during the block leaves nothing counted but keeps the block.
        let state = adjust(&p, Some(blocked), 200, -4);
        assert_eq!(state, Some(blocked));
        let (d, _) = decide(&p, state, 5099, 1);
        assert_eq!((d.allowed, d.retry_after_ms, d.reset_ms), (false, 1, 1));
        // A penalty during the block keeps it and counts once it is over.
        let state = adjust(&p, state, 4500, 3);
        assert_eq!(
            state,
            Some(State::Sliding {
                window: 4,
                current: 3,
                previous: 0,
                blocked_until_ms: 5100
            })
        );
        assert_eq!(state.unwrap().expires_at_ms(&p), 6000);
        assert!(!decide(&p, state, 5099, 1).0.allowed);
        // At 5100 the 3 penalty points weigh 3 × 900 / 1000 = 2.
        let (d, _) = decide(&p, state, 5100, 1);
        assert_eq!((d.allowed, d.remaining), (true, 1));
        // A block replaces the counts, and a later block replaces an earlier one.
        let state = Some(block(&p, 5200, 50));
        assert_eq!(decide(&p, state, 5250, 0).0.remaining, 4);
    }

    #[test]
    fn token_bucket_bursts_to_the_limit_then_refills_evenly() {
        // 4 tokens per 1000 ms: one every 250 ms.
        let p = policy(Algorithm::TokenBucket, 4, 1000);
        let d = run(&p, &[0, 0, 0, 0, 0, 249, 250, 250]);
        assert_eq!(
            d.iter().map(|d| d.allowed).collect::<Vec<_>>(),
            [true, true, true, true, false, false, true, false]
        );
        assert_eq!(
            d.iter().map(|d| d.remaining).collect::<Vec<_>>()[..4],
            [3, 2, 1, 0]
        );
        assert_eq!(d[4].retry_after_ms, 250);
        assert_eq!(d[5].retry_after_ms, 1);
        assert_eq!(d[3].reset_ms, 1000);
        assert_eq!(d[6].reset_ms, 1000);
    }

    #[test]
    fn token_bucket_keeps_exact_rates_that_do_not_divide_the_window() {
        // 3 per 1000 ms: 333.33 ms a token, rounded up per request.
        let p = policy(Algorithm::TokenBucket, 3, 1000);
        let mut state = None;
        let mut allowed = 0;
        for t in (0..10_000).step_by(10) {
            let (d, s) = decide(&p, state, t, 1);
            state = s;
            allowed += d.allowed as u32;
        }
        // 3 burst + one every 334 ms over 10 s.
        assert!((30..=33).contains(&allowed), "{allowed}");
    }

    /// For every algorithm and many random histories (with blocks): a denied request is allowed exactly
    /// `retry_after_ms` later, not a ms earlier; and `remaining` is what really still fits.
    #[test]
    fn retry_after_and_remaining_are_exact() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for algorithm in [
            Algorithm::FixedWindow,
            Algorithm::SlidingWindow,
            Algorithm::TokenBucket,
        ] {
            for _ in 0..300 {
                let p = policy(algorithm, 1 + rand(8), 1 + rand(2000));
                let (mut state, mut now) = (None, rand(5000));
                for _ in 0..40 {
                    now += rand(p.window_ms() / 3 + 1);
                    // Now and then a block, of up to three windows.
                    if rand(8) == 0 {
                        state = Some(block(&p, now, rand(3 * p.window_ms())));
                    }
                    let cost = rand(p.limit() + 1);
                    let (d, next) = decide(&p, state, now, cost);
                    if d.allowed {
                        let (more, _) = decide(&p, next, now, d.remaining);
                        assert!(
                            more.allowed,
                            "{algorithm:?} remaining {} does not fit",
                            d.remaining
                        );
                        if d.remaining < p.limit() {
                            assert!(
                                !decide(&p, next, now, d.remaining + 1).0.allowed,
                                "{algorithm:?} remaining too low"
                            );
                        }
                    } else {
                        let wait = d.retry_after_ms;
                        assert!(wait > 0, "{algorithm:?}");
                        assert!(
                            decide(&p, state, now + wait, cost).0.allowed,
                            "{algorithm:?} wait {wait} too short"
                        );
                        assert!(
                            !decide(&p, state, now + wait - 1, cost).0.allowed,
                            "{algorithm:?} wait {wait} not minimal"
                        );
                    }
                    state = next;
                }
            }
        }
    }

    #[test]
    fn state_expiry_matches_what_the_algorithm_still_needs() {
        let p = policy(Algorithm::SlidingWindow, 5, 1000);
        let s = State::Sliding {
            window: 3,
            current: 1,
            previous: 0,
            blocked_until_ms: 0,
        };
        assert_eq!(s.expires_at_ms(&p), 5000);
        let s = State::Sliding {
            window: 3,
            current: 0,
            previous: 2,
            blocked_until_ms: 0,
        };
        assert_eq!(s.expires_at_ms(&p), 4000);
        assert_eq!(State::Bucket { tat_ms: 77 }.expires_at_ms(&p), 77);
    }
}
