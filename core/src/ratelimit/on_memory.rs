//! Decisions of the store and the limiter on a client's memory engine (`memory://`, or
//! during an outage) in one native call: the same EVALSHA of the same script the client
//! would send (so the engine's native known script runs it, with the same keys, values,
//! TTLs and the same record of written keys for the replay to Redis), built here from
//! plain arguments instead of being encoded by JS and decoded by the engine, and with
//! the reply read as numbers.

use once_cell::sync::Lazy;

use super::{store_scripts, Algorithm};
use crate::client::Router;
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

/// The store's increment (rate-limit-redis 6's script): `[totalHits, pttl]`.
pub fn store_increment(router: &Router, key: &[u8], window_ms: u64) -> Outcome<2> {
    run(router, &INCREMENT, key, &[window_ms.to_string().as_bytes()])
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
