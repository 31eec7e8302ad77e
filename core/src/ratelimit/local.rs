//! An in-process limiter: one [`Policy`] over a bounded map of keys to [`State`].
//!
//! Key cardinality is attacker-controlled (one key per client IP), so the map has a hard
//! cap and no timer per key: expired states are dropped when the map is full, and if it is
//! still full the states expiring soonest (the least to lose) are evicted.

use std::collections::HashMap;

use super::{adjust, block, decide, Decision, Policy, State};

/// A limiter holding its keys' states in memory.
#[derive(Debug)]
pub struct Limiter {
    policy: Policy,
    max_keys: usize,
    states: HashMap<String, State>,
}

impl Limiter {
    /// A limiter applying `policy` to at most `max_keys` keys at a time (at least 1).
    pub fn new(policy: Policy, max_keys: usize) -> Self {
        Self {
            policy,
            max_keys: max_keys.max(1),
            states: HashMap::new(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Number of keys currently held (expired ones may still be counted until a sweep).
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Applies a request of `cost` for `key` at `now_ms` (see [`decide`]).
    pub fn consume(&mut self, key: &str, now_ms: u64, cost: u64) -> Decision {
        let (decision, next) = decide(&self.policy, self.states.get(key).copied(), now_ms, cost);
        self.store(key, now_ms, next);
        decision
    }

    /// Adds `delta` units of use to `key` at `now_ms` (see [`adjust`]).
    pub fn adjust(&mut self, key: &str, now_ms: u64, delta: i64) {
        let next = adjust(&self.policy, self.states.get(key).copied(), now_ms, delta);
        self.store(key, now_ms, next);
    }

    /// Denies every request for `key` during `ms` from `now_ms` (see [`block`]).
    pub fn block(&mut self, key: &str, now_ms: u64, ms: u64) {
        let state = block(&self.policy, now_ms, ms);
        self.store(key, now_ms, Some(state));
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &str) {
        self.states.remove(key);
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.states.clear();
    }

    fn store(&mut self, key: &str, now_ms: u64, state: Option<State>) {
        match state {
            None => {
                self.states.remove(key);
            }
            Some(state) => {
                if let Some(slot) = self.states.get_mut(key) {
                    *slot = state;
                    return;
                }
                if self.states.len() >= self.max_keys {
                    self.make_room(now_ms);
                }
                self.states.insert(key.to_owned(), state);
            }
        }
    }

    /// Drops expired states; if that frees less than an eighth of the cap, also evicts the
    /// states expiring soonest until an eighth is free, so sweeps stay rare (amortised O(1)).
    fn make_room(&mut self, now_ms: u64) {
        let policy = self.policy;
        self.states.retain(|_, s| s.expires_at_ms(&policy) > now_ms);
        let target = self.max_keys - self.max_keys.div_ceil(8);
        if self.states.len() <= target {
            return;
        }
        let mut expiries: Vec<u64> = self
            .states
            .values()
            .map(|s| s.expires_at_ms(&policy))
            .collect();
        let evict = self.states.len() - target;
        let (sooner, &mut cutoff, _) = expiries.select_nth_unstable(evict - 1);
        // Every state expiring before the cutoff goes; of those expiring at it, only as many
        // as are still needed (the map's order must not pick a later state over a sooner one).
        let mut ties = evict - sooner.iter().filter(|&&e| e < cutoff).count();
        self.states.retain(|_, s| {
            let expires = s.expires_at_ms(&policy);
            if expires < cutoff {
                false
            } else if expires == cutoff && ties > 0 {
                ties -= 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::Algorithm;

    #[test]
    fn consume_keeps_one_state_per_key() {
        let mut l = Limiter::new(Policy::new(Algorithm::FixedWindow, 2, 1000).unwrap(), 10);
        assert!(l.consume("a", 0, 1).allowed);
        assert!(l.consume("a", 1, 1).allowed);
        assert!(!l.consume("a", 2, 1).allowed);
        assert!(l.consume("b", 2, 1).allowed);
        assert!(l.consume("a", 1000, 1).allowed);
        l.remove("a");
        assert_eq!(l.consume("a", 1001, 0).remaining, 2);
    }

    #[test]
    fn states_with_nothing_counted_are_not_kept() {
        let mut l = Limiter::new(Policy::new(Algorithm::TokenBucket, 2, 1000).unwrap(), 10);
        l.consume("a", 0, 0);
        assert!(l.is_empty());
        l.consume("a", 0, 1);
        l.adjust("a", 0, -5);
        assert!(l.is_empty());
    }

    #[test]
    fn penalty_and_reward_move_the_count() {
        for algorithm in [
            Algorithm::FixedWindow,
            Algorithm::SlidingWindow,
            Algorithm::TokenBucket,
        ] {
            let mut l = Limiter::new(Policy::new(algorithm, 4, 1000).unwrap(), 10);
            l.adjust("k", 0, 6);
            let d = l.consume("k", 0, 1);
            assert!(!d.allowed, "{algorithm:?}");
            assert_eq!(d.remaining, 0, "{algorithm:?}");
            l.adjust("k", 0, -3);
            let d = l.consume("k", 0, 1);
            assert!(d.allowed, "{algorithm:?}");
            assert_eq!(d.remaining, 0, "{algorithm:?}");
            l.adjust("k", 0, -100);
            assert_eq!(l.consume("k", 0, 0).remaining, 4, "{algorithm:?}");
        }
    }

    #[test]
    fn block_denies_until_exactly_its_end() {
        for algorithm in [
            Algorithm::FixedWindow,
            Algorithm::SlidingWindow,
            Algorithm::TokenBucket,
        ] {
            let mut l = Limiter::new(Policy::new(algorithm, 3, 1000).unwrap(), 10);
            l.block("k", 100, 5000);
            let d = l.consume("k", 5099, 1);
            assert!(!d.allowed, "{algorithm:?}");
            assert_eq!(d.retry_after_ms, 1, "{algorithm:?}");
            assert!(l.consume("k", 5100, 1).allowed, "{algorithm:?}");
        }
    }

    #[test]
    fn a_sliding_window_block_survives_evictions_of_expired_states() {
        // The block outlives the window its state was written in, so sweeping expired
        // states when the map is full must keep it.
        let mut l = Limiter::new(Policy::new(Algorithm::SlidingWindow, 3, 1000).unwrap(), 2);
        l.block("blocked", 0, 10_000);
        l.consume("a", 0, 1);
        l.consume("b", 5000, 1);
        assert!(!l.consume("blocked", 5000, 1).allowed);
        assert!(l.consume("blocked", 10_000, 1).allowed);
    }

    #[test]
    fn the_map_never_exceeds_its_cap_and_evicts_the_soonest_expiring() {
        let mut l = Limiter::new(Policy::new(Algorithm::FixedWindow, 5, 1000).unwrap(), 64);
        // "old" expires first; every later key expires later.
        l.consume("old", 0, 1);
        for i in 0..1000u64 {
            l.consume(&format!("k{i}"), 1 + i / 100, 1);
            assert!(l.len() <= 64);
        }
        assert_eq!(l.consume("old", 20, 0).remaining, 5);
        // A full map of 16 evicts 2: "old" and one of 15 states expiring together. Which of
        // the ties goes follows the map's random order, so try many maps: "old" must always go.
        for _ in 0..50 {
            let mut l = Limiter::new(Policy::new(Algorithm::FixedWindow, 5, 1000).unwrap(), 16);
            l.consume("old", 0, 1);
            for i in 0..16 {
                l.consume(&format!("k{i}"), 1, 1);
            }
            assert_eq!(l.len(), 15);
            assert_eq!(l.consume("old", 2, 0).remaining, 5);
        }
        // Expired states are dropped first, without evicting live ones.
        let mut l = Limiter::new(Policy::new(Algorithm::FixedWindow, 5, 1000).unwrap(), 8);
        for i in 0..8 {
            l.consume(&format!("k{i}"), 0, 1);
        }
        l.consume("late", 500, 1);
        l.consume("new", 1400, 1);
        assert_eq!(l.len(), 2);
        assert_eq!(l.consume("late", 1400, 0).remaining, 4);
    }
}
