//! The Lua scripts decide exactly as the Rust functions: random histories run on a real
//! redis-server, and every reply is compared with `decide` at the time the script used.

mod support;

use bulwark_core::ratelimit::{adjust, block, decide, Algorithm, Policy, State};
use std::thread::sleep;
use std::time::Duration;
use support::RedisServer;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const ALGORITHMS: [Algorithm; 3] = [
    Algorithm::FixedWindow,
    Algorithm::SlidingWindow,
    Algorithm::TokenBucket,
];

/// Runs the decide script once and checks its reply against `decide` at the time the
/// script used; returns the state after it.
fn consume_and_check(
    conn: &mut redis::Connection,
    script: &redis::Script,
    key: &str,
    policy: &Policy,
    mirror: Option<State>,
    cost: u64,
) -> Option<State> {
    let reply: Vec<u64> = script
        .key(key)
        .arg(policy.limit())
        .arg(policy.window_ms())
        .arg(cost)
        .invoke(conn)
        .unwrap();
    let now = reply[4];
    let (expected, next) = decide(policy, mirror, now, cost);
    assert_eq!(
        (reply[0], reply[1], reply[2], reply[3]),
        (
            expected.allowed as u64,
            expected.remaining,
            expected.reset_ms,
            expected.retry_after_ms
        ),
        "{policy:?} cost {cost} at {now}, state {mirror:?}"
    );
    next
}

#[test]
fn scripts_match_the_rust_algorithms() {
    let server = RedisServer::start();
    let mut conn = server.client().get_connection().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut compared = 0;
    for algorithm in ALGORITHMS {
        let script = redis::Script::new(algorithm.redis_script());
        for round in 0..4 {
            let policy = Policy::new(algorithm, 1 + rng.below(6), 20 + rng.below(180)).unwrap();
            let key = format!("rl:{algorithm:?}:{round}");
            let mut mirror: Option<State> = None;
            for _ in 0..40 {
                sleep(Duration::from_millis(rng.below(policy.window_ms() / 4 + 1)));
                let cost = rng.below(policy.limit() + 2);
                mirror = consume_and_check(&mut conn, &script, &key, &policy, mirror, cost);
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 3 * 4 * 40);
}

#[test]
fn scripts_leave_no_key_behind_once_nothing_counts() {
    let server = RedisServer::start();
    let mut conn = server.client().get_connection().unwrap();
    for algorithm in ALGORITHMS {
        let key = format!("ttl:{algorithm:?}");
        let _: Vec<u64> = redis::Script::new(algorithm.redis_script())
            .key(&key)
            .arg(5)
            .arg(1000)
            .arg(1)
            .invoke(&mut conn)
            .unwrap();
        let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut conn).unwrap();
        let bound = if algorithm == Algorithm::SlidingWindow {
            2000
        } else {
            1000
        };
        assert!(pttl > 0 && pttl <= bound, "{algorithm:?} pttl {pttl}");
    }
}

#[test]
fn adjust_and_block_scripts_match_the_rust_functions() {
    let server = RedisServer::start();
    let mut conn = server.client().get_connection().unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut adjusted = 0;
    for algorithm in ALGORITHMS {
        let consume = redis::Script::new(algorithm.redis_script());
        let change = redis::Script::new(algorithm.redis_adjust_script());
        for round in 0..3 {
            let policy = Policy::new(algorithm, 1 + rng.below(6), 20 + rng.below(180)).unwrap();
            let key = format!("adj:{algorithm:?}:{round}");
            let mut mirror: Option<State> = None;
            for _ in 0..40 {
                sleep(Duration::from_millis(rng.below(policy.window_ms() / 4 + 1)));
                let limit = policy.limit() as i64;
                match rng.below(4) {
                    0 => {
                        let delta = rng.below(2 * limit as u64 + 1) as i64 - limit;
                        let now: u64 = change
                            .key(&key)
                            .arg(policy.limit())
                            .arg(policy.window_ms())
                            .arg(delta)
                            .invoke(&mut conn)
                            .unwrap();
                        mirror = adjust(&policy, mirror, now, delta);
                        adjusted += 1;
                    }
                    1 => {
                        // Up to two windows: a sliding window's block then spans windows.
                        let ms = 1 + rng.below(2 * policy.window_ms());
                        let now: u64 = change
                            .key(&key)
                            .arg(policy.limit())
                            .arg(policy.window_ms())
                            .arg(0)
                            .arg(ms)
                            .invoke(&mut conn)
                            .unwrap();
                        mirror = Some(block(&policy, now, ms));
                        adjusted += 1;
                    }
                    _ => {
                        let cost = rng.below(policy.limit() + 1);
                        mirror =
                            consume_and_check(&mut conn, &consume, &key, &policy, mirror, cost);
                    }
                }
            }
        }
    }
    assert!(adjusted > 30, "{adjusted}");
}

#[test]
fn a_sliding_window_block_outlives_its_window_on_redis() {
    let server = RedisServer::start();
    let mut conn = server.client().get_connection().unwrap();
    let policy = Policy::new(Algorithm::SlidingWindow, 3, 100).unwrap();
    let change = redis::Script::new(policy.algorithm().redis_adjust_script());
    let consume = redis::Script::new(policy.algorithm().redis_script());
    let now: u64 = change
        .key("sw:block")
        .arg(3)
        .arg(100)
        .arg(0)
        .arg(10_000)
        .invoke(&mut conn)
        .unwrap();
    let mirror = Some(block(&policy, now, 10_000));
    // The key expires when the block ends, not with its window.
    let pttl: i64 = redis::cmd("PTTL").arg("sw:block").query(&mut conn).unwrap();
    assert!(pttl > 9_000 && pttl <= 10_000, "pttl {pttl}");
    // Denied in later windows, penalty and reward keep the block.
    sleep(Duration::from_millis(150));
    let mirror = consume_and_check(&mut conn, &consume, "sw:block", &policy, mirror, 1);
    for delta in [2i64, -3] {
        let now: u64 = change
            .key("sw:block")
            .arg(3)
            .arg(100)
            .arg(delta)
            .invoke(&mut conn)
            .unwrap();
        let mirror = adjust(&policy, mirror, now, delta);
        assert!(mirror.is_some());
        let next = consume_and_check(&mut conn, &consume, "sw:block", &policy, mirror, 0);
        assert_eq!(next, mirror);
    }
    let pttl: i64 = redis::cmd("PTTL").arg("sw:block").query(&mut conn).unwrap();
    assert!(pttl > 9_000 && pttl <= 10_000, "pttl after adjust {pttl}");
}

#[test]
fn sliding_window_keys_written_before_blocks_existed_still_count() {
    let server = RedisServer::start();
    let mut conn = server.client().get_connection().unwrap();
    let policy = Policy::new(Algorithm::SlidingWindow, 5, 60_000).unwrap();
    let consume = redis::Script::new(policy.algorithm().redis_script());
    let change = redis::Script::new(policy.algorithm().redis_adjust_script());
    let time: Vec<u64> = redis::cmd("TIME").query(&mut conn).unwrap();
    let window = (time[0] * 1000 + time[1] / 1000) / 60_000;
    // A hash {w, c, p} without `b`, as earlier versions wrote it.
    let _: () = redis::cmd("HSET")
        .arg("sw:old")
        .arg(&["w", &window.to_string(), "c", "3", "p", "0"])
        .query(&mut conn)
        .unwrap();
    let mirror = Some(State::Sliding {
        window,
        current: 3,
        previous: 0,
        blocked_until_ms: 0,
    });
    let mirror = consume_and_check(&mut conn, &consume, "sw:old", &policy, mirror, 1);
    let now: u64 = change
        .key("sw:old")
        .arg(5)
        .arg(60_000)
        .arg(1)
        .invoke(&mut conn)
        .unwrap();
    let mirror = adjust(&policy, mirror, now, 1);
    consume_and_check(&mut conn, &consume, "sw:old", &policy, mirror, 1);
}
