//! Decisions of the store and the limiter on a client's memory engine (`memory://`, or
//! during an outage) in one native call. The store's increment and the fixed window are
//! decided in place on the engine's keyspace (`Engine::decide_*`: the effects of the
//! script's EVALSHA without building it); the other algorithms, and whatever the in-place
//! decision leaves to the script (a foreign value under the key, the script not loaded),
//! run the same EVALSHA of the same script the client would send (so the engine's native
//! known script runs it, with the same keys, values, TTLs and the same record of written
//! keys for the replay to Redis), built here from plain arguments, with the reply read as
//! numbers.

use once_cell::sync::Lazy;

use super::{store_scripts, Algorithm};
use crate::client::Router;
use crate::clock::unix_ms;
use crate::memory::sha1_hex;
use crate::Reply;

/// A script by its SHA1 (EVALSHA), with its text for the EVAL after a NOSCRIPT.
struct Script {
    sha: String,
    source: &'static str,
}

impl Script {
    fn new(source: &'static str) -> Script {
        Script {
            sha: sha1_hex(source.as_bytes()),
            source,
        }
    }
}

static INCREMENT: Lazy<Script> = Lazy::new(|| Script::new(store_scripts::INCREMENT));
static CONSUME: Lazy<[Script; 3]> = Lazy::new(|| {
    [
        Algorithm::FixedWindow,
        Algorithm::SlidingWindow,
        Algorithm::TokenBucket,
    ]
    .map(|a| Script::new(a.redis_script()))
});

/// What a decision on the memory engine gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<const N: usize> {
    /// The client is not on memory now: the caller takes its ordinary path.
    NotOnMemory,
    /// The script's integers.
    Reply([i64; N]),
    /// An error reply (a foreign value under the key), or a reply of another shape.
    Failed(String),
}

/// EVALSHA `script` with one key; once more as EVAL on NOSCRIPT (the engine's cache was
/// flushed, or the script never ran on this client), as the facade does on Redis.
fn run<const N: usize>(router: &Router, script: &Script, key: &[u8], argv: &[&[u8]]) -> Outcome<N> {
    let mut args: Vec<&[u8]> = Vec::with_capacity(4 + argv.len());
    args.extend_from_slice(&[b"EVALSHA", script.sha.as_bytes(), b"1", key]);
    args.extend_from_slice(argv);
    let mut reply = match router.execute_args_now(&args) {
        Some(reply) => reply,
        None => return Outcome::NotOnMemory,
    };
    if matches!(&reply, Reply::Error(e) if e.starts_with("NOSCRIPT")) {
        args[0] = b"EVAL";
        args[1] = script.source.as_bytes();
        reply = match router.execute_args_now(&args) {
            Some(reply) => reply,
            None => return Outcome::NotOnMemory,
        };
    }
    match reply {
        Reply::Array(items) if items.len() == N => {
            let mut out = [0i64; N];
            for (slot, item) in out.iter_mut().zip(&items) {
                match item {
                    Reply::Int(v) => *slot = *v,
                    other => return Outcome::Failed(format!("unexpected script reply {other:?}")),
                }
            }
            Outcome::Reply(out)
        }
        Reply::Error(e) => Outcome::Failed(e),
        other => Outcome::Failed(format!("unexpected script reply {other:?}")),
    }
}

/// The store's increment (rate-limit-redis 6's script): `[totalHits, pttl, now_ms]`, the
/// time of the decision so the caller needs no clock of its own for the reset time.
pub fn store_increment(router: &Router, key: &[u8], window_ms: u64) -> Outcome<3> {
    match router
        .decide_now(|engine, session| engine.decide_store_increment(session, key, window_ms))
    {
        None => return Outcome::NotOnMemory,
        Some(Some(reply)) => return Outcome::Reply(reply),
        Some(None) => {}
    }
    match run(router, &INCREMENT, key, &[window_ms.to_string().as_bytes()]) {
        Outcome::Reply([hits, pttl]) => Outcome::Reply([hits, pttl, unix_ms() as i64]),
        Outcome::NotOnMemory => Outcome::NotOnMemory,
        Outcome::Failed(message) => Outcome::Failed(message),
    }
}

/// The limiter's consume (`Algorithm::redis_script`): `[allowed 0|1, remaining,
/// reset_ms, retry_after_ms, now_ms]`.
pub fn consume(
    router: &Router,
    algorithm: Algorithm,
    key: &[u8],
    limit: u64,
    window_ms: u64,
    cost: u64,
) -> Outcome<5> {
    if algorithm == Algorithm::FixedWindow {
        match router.decide_now(|engine, session| {
            engine.decide_fixed_window(session, key, limit, window_ms, cost)
        }) {
            None => return Outcome::NotOnMemory,
            Some(Some(reply)) => return Outcome::Reply(reply),
            Some(None) => {}
        }
    }
    let script = &CONSUME[match algorithm {
        Algorithm::FixedWindow => 0,
        Algorithm::SlidingWindow => 1,
        Algorithm::TokenBucket => 2,
    }];
    let (limit, window, cost) = (limit.to_string(), window_ms.to_string(), cost.to_string());
    run(
        router,
        script,
        key,
        &[limit.as_bytes(), window.as_bytes(), cost.as_bytes()],
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::client::{Delivery, FallbackOptions, Recovery, Sink};
    use crate::memory::MemoryConfig;

    struct NoSink;
    impl Sink for NoSink {
        fn deliver(&self, _: Delivery) {}
    }

    fn router(target: &str) -> Arc<Router> {
        let options = FallbackOptions {
            target: target.into(),
            timeout: Duration::from_millis(1),
            recovery: Recovery::Discard,
            memory: MemoryConfig::default(),
        };
        Router::new(&options, Arc::default(), false, Arc::new(NoSink))
    }

    fn get(router: &Router, key: &[u8]) -> Reply {
        router.execute_args_now(&[b"GET", key]).unwrap()
    }

    #[test]
    fn not_on_memory_until_degraded() {
        let router = router("on-memory-test-mode");
        assert_eq!(store_increment(&router, b"k", 1000), Outcome::NotOnMemory);
        assert!(router.degrade(&mut router.lock()));
        assert!(matches!(
            store_increment(&router, b"k", 1000),
            Outcome::Reply([1, 1000, _])
        ));
    }

    #[test]
    fn store_increment_counts_as_the_script_and_loads_it_once() {
        let router = router("on-memory-test-store");
        assert!(router.degrade(&mut router.lock()));
        let before = unix_ms() as i64;
        let Outcome::Reply([1, 60_000, now]) = store_increment(&router, b"rl:a", 60_000) else {
            panic!("not a first hit");
        };
        assert!(now >= before && now <= unix_ms() as i64, "{now}");
        let Outcome::Reply([hits, pttl, _]) = store_increment(&router, b"rl:a", 60_000) else {
            panic!("no reply");
        };
        assert_eq!(hits, 2);
        assert!(pttl > 59_000 && pttl <= 60_000, "{pttl}");
        assert_eq!(get(&router, b"rl:a"), Reply::Bulk(b"2".to_vec()));
        // The first call's EVAL cached the script: EVALSHA finds it now.
        let sha = sha1_hex(store_scripts::INCREMENT.as_bytes());
        let reply = router.execute_args_now(&[b"SCRIPT", b"EXISTS", sha.as_bytes()]);
        assert_eq!(reply, Some(Reply::Array(vec![Reply::Int(1)])));
    }

    #[test]
    fn consume_decides_and_a_foreign_value_fails_only_its_call() {
        let router = router("on-memory-test-consume");
        assert!(router.degrade(&mut router.lock()));
        let decide = |cost| consume(&router, Algorithm::FixedWindow, b"l:k", 2, 60_000, cost);
        assert!(matches!(decide(1), Outcome::Reply([1, 1, 60_000, 0, _])));
        assert!(matches!(decide(1), Outcome::Reply([1, 0, _, 0, _])));
        assert!(matches!(decide(1), Outcome::Reply([0, 0, _, retry, _]) if retry > 0));
        router.execute_args_now(&[b"SET", b"l:x", b"text"]);
        let failed = consume(&router, Algorithm::FixedWindow, b"l:x", 2, 1000, 1);
        assert!(
            matches!(&failed, Outcome::Failed(e) if e.starts_with("WRONGTYPE")),
            "{failed:?}"
        );
        assert_eq!(get(&router, b"l:x"), Reply::Bulk(b"text".to_vec()));
    }
}
