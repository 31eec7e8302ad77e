//! The memory engine's native known scripts (rate-limit-redis's, rate-limiter-flexible's,
//! bulwark's own rate-limit scripts) against the Lua interpreter running the same text:
//! random histories on two engines sharing a clock, one with the native scripts and one
//! interpreting them, must give the same replies and leave the same data (values, types,
//! TTLs), with expiries, foreign values under the keys and odd arguments. The decisions
//! made in place on the keyspace (`Engine::decide_*`, falling back to the EVALSHA when they
//! answer `None`, as `ratelimit::on_memory` does) are compared with the interpreter the
//! same way, along with the engine's counters, WATCH invalidation and written-key record.

use std::sync::Arc;

use bulwark_core::memory::{Clock, Engine, ManualClock, MemoryConfig, Session, Stats};
use bulwark_core::ratelimit::{store_scripts, Algorithm};
use bulwark_core::Reply;

/// rate-limiter-flexible 11.4.0's `RateLimiterRedis` script, as its template literal
/// evaluates (SHA1 checked below against what the package loads).
const FLEXIBLE: &str = "redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX') local consumed = redis.call('incrby', KEYS[1], ARGV[1]) local ttl = redis.call('pttl', KEYS[1]) if ttl == -1 then   redis.call('expire', KEYS[1], ARGV[2])   ttl = 1000 * ARGV[2] end return {consumed, ttl} ";

const KEYS: [&str; 4] = ["k0", "k1", "k2", "k3"];

/// xorshift64*: a reproducible stream without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

struct Pair {
    clock: Arc<ManualClock>,
    native: (Engine, Session),
    interpreted: (Engine, Session),
}

impl Pair {
    fn new(native_config: MemoryConfig) -> Pair {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let native = Engine::with_clock(native_config, clock.clone());
        let interpreted = Engine::with_clock(
            MemoryConfig {
                interpret_known_scripts: true,
                ..Default::default()
            },
            clock.clone(),
        );
        let (sn, si) = (native.session(), interpreted.session());
        Pair {
            clock,
            native: (native, sn),
            interpreted: (interpreted, si),
        }
    }

    /// The command on both engines; the replies must be equal.
    fn both(&mut self, args: &[&[u8]], what: &str) -> Reply {
        let a = self.native.0.execute(&mut self.native.1, args);
        let b = self.interpreted.0.execute(&mut self.interpreted.1, args);
        assert_eq!(a, b, "{what}: {:?}", printable(args));
        a
    }

    /// Everything under the test keys: type, value, TTL.
    fn assert_same_data(&mut self, what: &str) {
        for key in KEYS {
            let k = key.as_bytes();
            self.both(&[b"TYPE", k], what);
            self.both(&[b"PTTL", k], what);
            self.both(&[b"DUMP", k], what);
        }
    }
}

fn printable(args: &[&[u8]]) -> Vec<String> {
    args.iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn sha(engine: &Engine, s: &mut Session, script: &str) -> String {
    match engine.execute(s, &[b"SCRIPT", b"LOAD", script.as_bytes()]) {
        Reply::Bulk(b) => String::from_utf8(b).unwrap(),
        other => panic!("SCRIPT LOAD: {other:?}"),
    }
}

/// Arguments, mostly plain, sometimes what Lua reads its own way.
fn number(rng: &mut Rng, plain: &[&str]) -> String {
    const ODD: [&str; 10] = [
        "abc",
        "",
        "-1",
        "0",
        "1.5",
        " 7",
        "0x10",
        "1e3",
        "9007199254740993",
        "-0",
    ];
    if rng.below(8) == 0 {
        rng.pick(&ODD).to_owned()
    } else {
        rng.pick(plain).to_owned()
    }
}

/// Disturbs a key the way other clients or time would.
fn disturb(pair: &mut Pair, rng: &mut Rng, key: &[u8]) {
    let commands: [&[&[u8]]; 9] = [
        &[b"DEL", key],
        &[b"PERSIST", key],
        &[b"SET", key, b"5"],
        &[b"SET", key, b"abc", b"PX", b"500"],
        &[b"SET", key, b"-3", b"PX", b"2000"],
        &[b"SET", key, b"1.5", b"PX", b"2000"],
        &[b"HSET", key, b"c", b"2", b"e", b"1700000100000"],
        &[b"HSET", key, b"c", b"x"],
        &[b"LPUSH", key, b"1"],
    ];
    // A block ending soon and counts of the current window (1 s windows), as the
    // sliding window's adjust script leaves them.
    let now = pair.clock.now_ms();
    let block = (now + rng.below(3000)).to_string();
    let window = (now / 1000).to_string();
    let dynamic: [&[&[u8]]; 2] = [
        &[b"HSET", key, b"b", block.as_bytes()],
        &[
            b"HSET",
            key,
            b"w",
            window.as_bytes(),
            b"c",
            b"2",
            b"p",
            b"3",
        ],
    ];
    let pick = rng.below((commands.len() + dynamic.len()) as u64) as usize;
    let command = commands
        .get(pick)
        .copied()
        .unwrap_or_else(|| dynamic[pick - commands.len()]);
    pair.both(command, "disturb");
}

/// A random history of `script` calls built by `call_args` on the test keys.
fn history(script: &str, seed: u64, call_args: impl Fn(&mut Rng) -> Vec<String>) {
    let mut pair = Pair::new(MemoryConfig::default());
    let sha_n = sha(&pair.native.0, &mut pair.native.1, script);
    let sha_i = sha(&pair.interpreted.0, &mut pair.interpreted.1, script);
    assert_eq!(sha_n, sha_i);
    let mut rng = Rng(seed);
    for step in 0..3000 {
        let key = KEYS[rng.below(KEYS.len() as u64) as usize].as_bytes();
        match rng.below(20) {
            0 => disturb(&mut pair, &mut rng, key),
            1..=3 => pair.clock.advance(rng.below(3000)),
            _ => {
                let args = call_args(&mut rng);
                let mut argv: Vec<&[u8]> = vec![b"EVALSHA", sha_n.as_bytes(), b"1", key];
                argv.extend(args.iter().map(|a| a.as_bytes()));
                pair.both(&argv, &format!("step {step}"));
            }
        }
        if step % 50 == 0 {
            pair.assert_same_data(&format!("data after step {step}"));
        }
    }
    pair.assert_same_data("data at the end");
}

#[test]
fn rate_limit_redis_increment_native_like_interpreted() {
    history(store_scripts::INCREMENT, 1, |rng| {
        vec![number(rng, &["1000", "2500", "60000", "1"])]
    });
}

#[test]
fn rate_limit_redis_get_native_like_interpreted() {
    history(store_scripts::GET, 2, |_| vec![]);
}

#[test]
fn store_decrement_native_like_interpreted() {
    // Decrements between increments, so there are live counters to take from.
    let mut pair = Pair::new(MemoryConfig::default());
    let inc = sha(&pair.native.0, &mut pair.native.1, store_scripts::INCREMENT);
    sha(
        &pair.interpreted.0,
        &mut pair.interpreted.1,
        store_scripts::INCREMENT,
    );
    let dec = sha(&pair.native.0, &mut pair.native.1, store_scripts::DECREMENT);
    sha(
        &pair.interpreted.0,
        &mut pair.interpreted.1,
        store_scripts::DECREMENT,
    );
    let mut rng = Rng(3);
    for step in 0..3000 {
        let key = KEYS[rng.below(KEYS.len() as u64) as usize].as_bytes();
        match rng.below(10) {
            0 => disturb(&mut pair, &mut rng, key),
            1 => pair.clock.advance(rng.below(3000)),
            2..=5 => {
                pair.both(
                    &[b"EVALSHA", inc.as_bytes(), b"1", key, b"2000"],
                    "increment",
                );
            }
            _ => {
                let r = pair.both(
                    &[b"EVALSHA", dec.as_bytes(), b"1", key],
                    &format!("step {step}"),
                );
                assert!(matches!(r, Reply::Int(0) | Reply::Error(_)));
            }
        }
        if step % 50 == 0 {
            pair.assert_same_data(&format!("data after step {step}"));
        }
    }
}

#[test]
fn rate_limiter_flexible_native_like_interpreted() {
    assert_eq!(
        sha1_of(FLEXIBLE),
        "a1de965f42e177aa339706bd580f049065eca79a",
        "rate-limiter-flexible 11.4.0's script text"
    );
    history(FLEXIBLE, 4, |rng| {
        vec![
            number(rng, &["1", "2", "5"]),
            number(rng, &["1", "2", "60"]),
        ]
    });
}

#[test]
fn fixed_window_native_like_interpreted() {
    history(Algorithm::FixedWindow.redis_script(), 5, limiter_args);
}

#[test]
fn sliding_window_native_like_interpreted() {
    history(Algorithm::SlidingWindow.redis_script(), 7, limiter_args);
}

#[test]
fn token_bucket_native_like_interpreted() {
    history(Algorithm::TokenBucket.redis_script(), 6, limiter_args);
}

fn limiter_args(rng: &mut Rng) -> Vec<String> {
    vec![
        number(rng, &["1", "3", "10"]),
        number(rng, &["1000", "2000", "7"]),
        number(rng, &["0", "1", "1", "1", "2", "11"]),
    ]
}

fn sha1_of(text: &str) -> String {
    let engine = Engine::new(MemoryConfig::default());
    let mut s = engine.session();
    sha(&engine, &mut s, text)
}

/// With plain arguments the interpreter is never used: an engine whose scripts may not
/// allocate a byte of Lua memory still answers every known script.
#[test]
fn plain_calls_run_natively() {
    let engine = Engine::new(MemoryConfig {
        script_memory_limit_bytes: Some(1),
        ..Default::default()
    });
    let mut s = engine.session();
    let calls: [(&str, &[&str]); 7] = [
        (store_scripts::INCREMENT, &["1000"]),
        (store_scripts::INCREMENT, &["1000"]),
        (store_scripts::GET, &[]),
        (store_scripts::DECREMENT, &[]),
        (Algorithm::FixedWindow.redis_script(), &["10", "1000", "1"]),
        (Algorithm::TokenBucket.redis_script(), &["10", "1000", "1"]),
        (
            Algorithm::SlidingWindow.redis_script(),
            &["10", "1000", "1"],
        ),
    ];
    for (i, (script, args)) in calls.iter().enumerate() {
        let digest = sha(&engine, &mut s, script);
        // The store's scripts share a key; each limiter has its own.
        let key = format!("plain{}", i.saturating_sub(3));
        let mut argv: Vec<&[u8]> = vec![b"EVALSHA", digest.as_bytes(), b"1", key.as_bytes()];
        argv.extend(args.iter().map(|a| a.as_bytes()));
        let reply = engine.execute(&mut s, &argv);
        assert!(!matches!(reply, Reply::Error(_)), "call {i}: {reply:?}");
    }
    let digest = sha(&engine, &mut s, FLEXIBLE);
    let reply = engine.execute(
        &mut s,
        &[b"EVALSHA", digest.as_bytes(), b"1", b"f", b"1", b"60"],
    );
    assert_eq!(reply, Reply::Array(vec![Reply::Int(1), Reply::Int(60_000)]));
    // An unknown script still runs in the interpreter, which has no memory to run it.
    let digest = sha(&engine, &mut s, "return {1}");
    let reply = engine.execute(&mut s, &[b"EVALSHA", digest.as_bytes(), b"0"]);
    assert!(matches!(reply, Reply::Error(e) if e.contains("out of memory")));
}

/// A decision made in place on the native engine: `None` when it left the call to the
/// EVALSHA.
type InPlace = fn(&Engine, &Session, &[u8], &[u64]) -> Option<Vec<i64>>;

/// What the engine holds: keys, bytes, keys expired.
fn held(stats: &Stats) -> (usize, usize, u64) {
    (stats.keys, stats.bytes, stats.expired)
}

/// Lookups that hit, missed, and commands run from `before` to `after`.
fn counted(before: &Stats, after: &Stats) -> (u64, u64, u64) {
    (
        after.hits - before.hits,
        after.misses - before.misses,
        after.commands - before.commands,
    )
}

/// A random history of in-place decisions on the native engine (with the EVALSHA when it
/// declines) against EVALSHAs of `script` on the interpreting one: same replies, data,
/// counters, written keys, and WATCHes invalidated alike. Returns how many decisions were
/// made in place.
fn history_in_place(
    script: &str,
    seed: u64,
    decide: InPlace,
    call_args: impl Fn(&mut Rng) -> Vec<u64>,
) -> usize {
    let mut pair = Pair::new(MemoryConfig::default());
    pair.native.0.track_writes(true);
    pair.interpreted.0.track_writes(true);
    let digest = sha(&pair.native.0, &mut pair.native.1, script);
    sha(&pair.interpreted.0, &mut pair.interpreted.1, script);
    let mut watchers = (pair.native.0.session(), pair.interpreted.0.session());
    let mut rng = Rng(seed);
    let mut in_place = 0;
    for step in 0..3000 {
        let key = KEYS[rng.below(KEYS.len() as u64) as usize].as_bytes();
        match rng.below(20) {
            0 => disturb(&mut pair, &mut rng, key),
            1..=3 => pair.clock.advance(rng.below(3000)),
            4 => {
                let w = (
                    pair.native.0.execute(&mut watchers.0, &[b"WATCH", key]),
                    pair.interpreted
                        .0
                        .execute(&mut watchers.1, &[b"WATCH", key]),
                );
                assert_eq!(w.0, w.1);
            }
            5 => {
                let exec = |e: &Engine, s: &mut Session| {
                    e.execute(s, &[b"MULTI"]);
                    e.execute(s, &[b"PING"]);
                    e.execute(s, &[b"EXEC"])
                };
                let native = exec(&pair.native.0, &mut watchers.0);
                let interpreted = exec(&pair.interpreted.0, &mut watchers.1);
                assert_eq!(native, interpreted, "step {step}: EXEC after WATCH");
            }
            _ => {
                let args = call_args(&mut rng);
                let text: Vec<String> = args.iter().map(u64::to_string).collect();
                let mut argv: Vec<&[u8]> = vec![b"EVALSHA", digest.as_bytes(), b"1", key];
                argv.extend(text.iter().map(|a| a.as_bytes()));
                let before = (pair.native.0.stats(), pair.interpreted.0.stats());
                let decided = decide(&pair.native.0, &pair.native.1, key, &args);
                let native = match &decided {
                    Some(values) => {
                        in_place += 1;
                        Reply::Array(values.iter().copied().map(Reply::Int).collect())
                    }
                    None => pair.native.0.execute(&mut pair.native.1, &argv),
                };
                let interpreted = pair.interpreted.0.execute(&mut pair.interpreted.1, &argv);
                assert_eq!(native, interpreted, "step {step}: {:?}", printable(&argv));
                let after = (pair.native.0.stats(), pair.interpreted.0.stats());
                assert_eq!(held(&after.0), held(&after.1), "keys after step {step}");
                // A call the in-place decision declined goes to the known script, which
                // may count a command or two before it leaves the call to the
                // interpreter: counters are compared over in-place decisions.
                if decided.is_some() {
                    assert_eq!(
                        counted(&before.0, &after.0),
                        counted(&before.1, &after.1),
                        "counters of step {step}"
                    );
                }
            }
        }
        if step % 50 == 0 {
            pair.assert_same_data(&format!("data after step {step}"));
            let mut written = (
                pair.native.0.drain_written(),
                pair.interpreted.0.drain_written(),
            );
            written.0.sort();
            written.1.sort();
            assert_eq!(written.0, written.1, "written keys after step {step}");
        }
    }
    pair.assert_same_data("data at the end");
    in_place
}

/// Policy arguments, sometimes out of the scripts' ranges (the EVALSHA decides those).
fn limiter_numbers(rng: &mut Rng) -> Vec<u64> {
    const LIMITS: [u64; 4] = [1, 3, 10, 0];
    const WINDOWS: [u64; 4] = [1000, 2000, 7, 1 << 50];
    const COSTS: [u64; 7] = [0, 1, 1, 1, 2, 11, 1 << 41];
    let mut pick = |items: &[u64]| items[rng.below(items.len() as u64) as usize];
    vec![pick(&LIMITS), pick(&WINDOWS), pick(&COSTS)]
}

#[test]
fn store_increment_in_place_like_interpreted() {
    let in_place = history_in_place(
        store_scripts::INCREMENT,
        11,
        |engine, session, key, args| {
            engine
                .decide_store_increment(session, key, args[0])
                .map(|[hits, pttl, _now]| vec![hits, pttl])
        },
        |rng| vec![[1000, 2500, 60_000, 1, 0, 1 << 53][rng.below(6) as usize]],
    );
    assert!(in_place > 500, "{in_place} decisions in place");
}

#[test]
fn fixed_window_in_place_like_interpreted() {
    let in_place = history_in_place(
        Algorithm::FixedWindow.redis_script(),
        12,
        |engine, session, key, args| {
            engine
                .decide_fixed_window(session, key, args[0], args[1], args[2])
                .map(Vec::from)
        },
        limiter_numbers,
    );
    assert!(in_place > 500, "{in_place} decisions in place");
}

/// Until the script is loaded (EVALSHA would answer NOSCRIPT), and inside MULTI, the
/// decision is left to the EVALSHA and touches nothing.
#[test]
fn in_place_declines_without_the_script_or_inside_multi() {
    let engine = Engine::new(MemoryConfig::default());
    let mut s = engine.session();
    assert_eq!(engine.decide_store_increment(&s, b"k", 1000), None);
    assert_eq!(engine.decide_fixed_window(&s, b"k", 5, 1000, 1), None);
    assert_eq!(engine.stats().keys, 0);
    sha(&engine, &mut s, store_scripts::INCREMENT);
    assert!(matches!(
        engine.decide_store_increment(&s, b"k", 1000),
        Some([1, 1000, _])
    ));
    engine.execute(&mut s, &[b"MULTI"]);
    assert_eq!(engine.decide_store_increment(&s, b"k", 1000), None);
    engine.execute(&mut s, &[b"DISCARD"]);
    let mut other = engine.session();
    engine.execute(&mut other, &[b"SELECT", b"3"]);
    assert!(
        matches!(
            engine.decide_store_increment(&other, b"k", 1000),
            Some([1, 1000, _])
        ),
        "each database counts apart"
    );
}
