//! Per-client command metrics: counts, errors and a latency histogram by command and
//! backend, in fixed arrays of atomics. Recording a command is a name lookup in a static
//! table, two clock reads and three relaxed `fetch_add`s: no lock, no allocation. The
//! JS side reads a [`Snapshot`] at scrape time.
//!
//! The command label is bounded: commands outside [`COMMANDS`] count as `other`, so a
//! client sending arbitrary (or misspelled) command names cannot grow the series.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Where a command was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A Redis server.
    Redis = 0,
    /// The in-process memory engine (`memory://` or during an outage).
    Memory = 1,
}

/// The backends' label values, indexed by [`Backend`].
pub const BACKENDS: [&str; 2] = ["redis", "memory"];

/// Command names with their own series, sorted (binary search), lowercase as ioredis
/// names them. Every other command is `other` (the last index).
pub const COMMANDS: [&str; 100] = [
    "append",
    "bitcount",
    "blmove",
    "blpop",
    "brpop",
    "bzpopmin",
    "client",
    "dbsize",
    "decr",
    "decrby",
    "del",
    "discard",
    "eval",
    "evalsha",
    "exec",
    "exists",
    "expire",
    "expireat",
    "flushall",
    "flushdb",
    "get",
    "getdel",
    "getex",
    "getset",
    "hdel",
    "hexists",
    "hget",
    "hgetall",
    "hincrby",
    "hkeys",
    "hlen",
    "hmget",
    "hmset",
    "hscan",
    "hset",
    "hsetnx",
    "hvals",
    "incr",
    "incrby",
    "incrbyfloat",
    "info",
    "keys",
    "lindex",
    "llen",
    "lmove",
    "lpop",
    "lpush",
    "lrange",
    "lrem",
    "lset",
    "ltrim",
    "mget",
    "mset",
    "multi",
    "persist",
    "pexpire",
    "pexpireat",
    "ping",
    "psetex",
    "psubscribe",
    "pttl",
    "publish",
    "punsubscribe",
    "rename",
    "rpop",
    "rpush",
    "sadd",
    "scan",
    "scard",
    "script",
    "select",
    "set",
    "setex",
    "setnx",
    "sismember",
    "smembers",
    "spop",
    "srem",
    "sscan",
    "ssubscribe",
    "strlen",
    "subscribe",
    "ttl",
    "type",
    "unlink",
    "unsubscribe",
    "unwatch",
    "watch",
    "xadd",
    "xlen",
    "xrange",
    "xread",
    "zadd",
    "zcard",
    "zincrby",
    "zrange",
    "zrangebyscore",
    "zrem",
    "zremrangebyscore",
    "zscore",
];

/// Index of `other` in the per-command arrays.
pub const OTHER: usize = COMMANDS.len();

/// Upper bounds of the latency buckets, in seconds: OpenTelemetry's
/// `db.client.operation.duration` buckets with three sub-millisecond ones in front
/// (a pipelined Redis or memory command answers in microseconds). `+Inf` is implied.
pub const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
];

/// The bucket bounds in nanoseconds, for the hot path.
const BUCKET_NANOS: [u64; 12] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// One (backend, command) series.
#[derive(Default)]
struct Cell {
    count: AtomicU64,
    errors: AtomicU64,
    sum_nanos: AtomicU64,
    /// Non-cumulative counts per bucket; the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
}

/// A command on its way: when it started and which series it counts in.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    at: Instant,
    command: u8,
}

/// The metrics of one client (shared by its connections and reconnects).
pub struct CommandMetrics {
    cells: Box<[Cell]>,
}

impl Default for CommandMetrics {
    fn default() -> Self {
        Self {
            cells: (0..BACKENDS.len() * (OTHER + 1))
                .map(|_| Cell::default())
                .collect(),
        }
    }
}

/// The series index of a command name (any case), [`OTHER`] when it has none.
pub fn command_index(name: &[u8]) -> usize {
    let mut lower = [0u8; 16];
    if name.len() > lower.len() {
        return OTHER;
    }
    for (to, from) in lower.iter_mut().zip(name) {
        *to = from.to_ascii_lowercase();
    }
    let lower = &lower[..name.len()];
    COMMANDS
        .binary_search_by(|probe| probe.as_bytes().cmp(lower))
        .unwrap_or(OTHER)
}

impl CommandMetrics {
    /// Notes that a command named `name` starts now.
    pub fn start(&self, name: &[u8]) -> Started {
        Started {
            at: Instant::now(),
            command: command_index(name) as u8,
        }
    }

    /// Records the end of a command: `error` for an error reply or a client-side failure.
    pub fn finish(&self, started: Started, backend: Backend, error: bool) {
        let nanos = started.at.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        let cell = &self.cells[backend as usize * (OTHER + 1) + started.command as usize];
        let bucket = BUCKET_NANOS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(BUCKETS.len());
        cell.count.fetch_add(1, Ordering::Relaxed);
        cell.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        cell.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        if error {
            cell.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every series that has counted a command.
    pub fn snapshot(&self) -> Vec<Series> {
        self.cells
            .iter()
            .enumerate()
            .filter(|(_, cell)| cell.count.load(Ordering::Relaxed) > 0)
            .map(|(i, cell)| {
                let mut cumulative = 0;
                let buckets = cell.buckets.each_ref().map(|b| {
                    cumulative += b.load(Ordering::Relaxed);
                    cumulative
                });
                Series {
                    backend: BACKENDS[i / (OTHER + 1)],
                    command: COMMANDS.get(i % (OTHER + 1)).copied().unwrap_or("other"),
                    // The +Inf bucket is the count as of the same reads, so a scrape never
                    // shows a count below a bucket.
                    count: buckets[BUCKETS.len()],
                    errors: cell.errors.load(Ordering::Relaxed),
                    sum_seconds: cell.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
                    buckets,
                }
            })
            .collect()
    }
}

/// One series as read at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `redis` or `memory`.
    pub backend: &'static str,
    /// The command label (`other` for commands without their own series).
    pub command: &'static str,
    /// Commands completed.
    pub count: u64,
    /// Of which error replies or client-side failures.
    pub errors: u64,
    /// Total latency.
    pub sum_seconds: f64,
    /// Cumulative counts at each of [`BUCKETS`], then `+Inf`.
    pub buckets: [u64; BUCKETS.len() + 1],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_table_is_sorted_and_lowercase() {
        assert!(COMMANDS.windows(2).all(|w| w[0] < w[1]));
        assert!(COMMANDS
            .iter()
            .all(|c| c.len() <= 16 && *c == c.to_ascii_lowercase()));
        assert_eq!(command_index(b"GET"), command_index(b"get"));
        assert_eq!(
            COMMANDS[command_index(b"ZRemRangeByScore")],
            "zremrangebyscore"
        );
        assert_eq!(command_index(b"not-a-command"), OTHER);
        assert_eq!(command_index(b"a-name-longer-than-sixteen-bytes"), OTHER);
    }

    #[test]
    fn counts_land_in_their_series_and_buckets() {
        let metrics = CommandMetrics::default();
        for _ in 0..3 {
            metrics.finish(metrics.start(b"GET"), Backend::Redis, false);
        }
        metrics.finish(metrics.start(b"SET"), Backend::Memory, true);
        metrics.finish(metrics.start(b"FROB"), Backend::Memory, false);
        let series = metrics.snapshot();
        let find = |backend, command| {
            series
                .iter()
                .find(|s| s.backend == backend && s.command == command)
                .unwrap_or_else(|| panic!("{backend} {command}"))
        };
        assert_eq!(series.len(), 3);
        assert_eq!(find("redis", "get").count, 3);
        assert_eq!(find("redis", "get").errors, 0);
        assert_eq!(find("memory", "set").errors, 1);
        assert_eq!(find("memory", "other").count, 1);
        let get = find("redis", "get");
        assert!(get.buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(get.buckets[BUCKETS.len()], 3);
        assert!(get.sum_seconds >= 0.0);
    }

    #[test]
    fn a_slow_command_lands_in_a_later_bucket() {
        let metrics = CommandMetrics::default();
        let started = Started {
            at: Instant::now() - std::time::Duration::from_millis(20),
            command: command_index(b"get") as u8,
        };
        metrics.finish(started, Backend::Redis, false);
        let s = &metrics.snapshot()[0];
        // 20 ms: above the 0.01 s bound, within 0.05 s.
        assert_eq!(s.buckets[5], 0);
        assert_eq!(s.buckets[6], 1);
        assert!(s.sum_seconds >= 0.02);
    }
}
