//! Per-client command metrics: counts, errors and a latency histogram by command and
//! backend, in fixed arrays of atomics, read by the JS side at scrape time.
//!
//! Recording a command is a hashed name lookup and one relaxed `fetch_add`: no lock, no
//! allocation. Latency is timed for one command in [`SAMPLE_EVERY`] of the client: two
//! clock reads cost more than everything else together (~40 ns each here, against ~1 µs
//! for a whole memory-engine command), and a sample keeps the histogram's shape and
//! mean. So the histogram's `_count` is the number of timed commands, not of commands.
//!
//! The command label is bounded: commands outside [`COMMANDS`] count as `other`, so a
//! client sending arbitrary (or misspelled) command names cannot grow the series.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// One command in this many is timed.
pub const SAMPLE_EVERY: u32 = 32;

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
    /// Total latency of the timed commands.
    sum_nanos: AtomicU64,
    /// Non-cumulative counts of timed commands per bucket; the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
}

/// A command on its way: which series it counts in, and when it started if timed.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    at: Option<Instant>,
    command: u8,
}

/// Slots of the name lookup table: a power of two, over 4× the names (short probes).
const SLOTS: usize = 512;

/// A hash of the length and three bytes of the name, ASCII letters folded to lowercase
/// (`| 0x20`): enough to spread the 100 names (at most 2 probes), cheaper than hashing
/// every byte. The lookup then compares the whole name.
fn hash(name: &[u8]) -> usize {
    let n = name.len();
    if n == 0 {
        return 0;
    }
    let at = |i: usize| usize::from(name[i] | 0x20);
    (n.wrapping_mul(0x9e37) ^ (at(0) << 7) ^ (at(n / 2) << 3) ^ at(n - 1)).wrapping_mul(0x2545_f491)
        >> 7
}

/// Open-addressed table: slot → index in [`COMMANDS`] + 1 (0: empty).
fn table() -> &'static [u8; SLOTS] {
    static TABLE: OnceLock<[u8; SLOTS]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [0u8; SLOTS];
        for (i, name) in COMMANDS.iter().enumerate() {
            let mut slot = hash(name.as_bytes()) & (SLOTS - 1);
            while table[slot] != 0 {
                slot = (slot + 1) & (SLOTS - 1);
            }
            table[slot] = i as u8 + 1;
        }
        table
    })
}

/// The metrics of one client (shared by its connections and reconnects).
pub struct CommandMetrics {
    cells: Box<[Cell]>,
    /// Commands started, for sampling. Advanced by a plain load and store, not a
    /// read-modify-write: two threads racing only shift which command is timed.
    started: AtomicU32,
}

impl Default for CommandMetrics {
    fn default() -> Self {
        Self {
            cells: (0..BACKENDS.len() * (OTHER + 1))
                .map(|_| Cell::default())
                .collect(),
            started: AtomicU32::new(0),
        }
    }
}

/// The series index of a command name (any case), [`OTHER`] when it has none.
pub fn command_index(name: &[u8]) -> usize {
    let table = table();
    let mut slot = hash(name) & (SLOTS - 1);
    loop {
        match table[slot] {
            0 => return OTHER,
            i if COMMANDS[usize::from(i) - 1]
                .as_bytes()
                .eq_ignore_ascii_case(name) =>
            {
                return usize::from(i) - 1
            }
            _ => slot = (slot + 1) & (SLOTS - 1),
        }
    }
}

impl CommandMetrics {
    /// Notes that a command named `name` starts now (timed if it is its turn).
    pub fn start(&self, name: &[u8]) -> Started {
        self.start_at(name, Instant::now())
    }

    /// [`start`](Self::start) for a command issued at `at` (a batch's submission time,
    /// when the command is prepared later on another thread).
    pub fn start_at(&self, name: &[u8], at: Instant) -> Started {
        let n = self.started.load(Ordering::Relaxed);
        self.started.store(n.wrapping_add(1), Ordering::Relaxed);
        Started {
            at: n.is_multiple_of(SAMPLE_EVERY).then_some(at),
            command: command_index(name) as u8,
        }
    }

    /// Records the end of a command: `error` for an error reply or a client-side failure.
    pub fn finish(&self, started: Started, backend: Backend, error: bool) {
        let cell = &self.cells[backend as usize * (OTHER + 1) + started.command as usize];
        cell.count.fetch_add(1, Ordering::Relaxed);
        if error {
            cell.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(at) = started.at {
            let nanos = at.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
            let bucket = BUCKET_NANOS
                .iter()
                .position(|&bound| nanos <= bound)
                .unwrap_or(BUCKETS.len());
            cell.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
            cell.buckets[bucket].fetch_add(1, Ordering::Relaxed);
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
                    count: cell.count.load(Ordering::Relaxed),
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
    /// Total latency of the timed commands.
    pub sum_seconds: f64,
    /// Cumulative counts of timed commands at each of [`BUCKETS`], then `+Inf` (the
    /// number of timed commands).
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
        for (i, name) in COMMANDS.iter().enumerate() {
            assert_eq!(command_index(name.as_bytes()), i, "{name}");
            assert_eq!(
                command_index(name.to_ascii_uppercase().as_bytes()),
                i,
                "{name}"
            );
        }
        assert_eq!(command_index(b""), OTHER);
        assert_eq!(command_index(b"ge"), OTHER);
        assert_eq!(command_index(b"get_"), OTHER);
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
        // Timing every command (as the first of each SAMPLE_EVERY is):
        let timed = Started {
            at: Some(Instant::now()),
            command: command_index(b"get") as u8,
        };
        metrics.finish(timed, Backend::Redis, false);
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
        assert_eq!(find("redis", "get").count, 4);
        assert_eq!(find("redis", "get").errors, 0);
        assert_eq!(find("memory", "set").errors, 1);
        assert_eq!(find("memory", "other").count, 1);
        let get = find("redis", "get");
        assert!(get.buckets.windows(2).all(|w| w[0] <= w[1]));
        let timed = get.buckets[BUCKETS.len()];
        assert!((1..=4).contains(&timed), "{timed} of 4 timed");
        assert!(get.sum_seconds >= 0.0);
    }

    #[test]
    fn one_command_in_sample_every_is_timed() {
        let metrics = CommandMetrics::default();
        let n = SAMPLE_EVERY * 10;
        for _ in 0..n {
            metrics.finish(metrics.start(b"incr"), Backend::Memory, false);
        }
        let s = &metrics.snapshot()[0];
        assert_eq!(s.count, u64::from(n));
        assert_eq!(s.buckets[BUCKETS.len()], 10);
    }

    #[test]
    fn a_slow_command_lands_in_a_later_bucket() {
        let metrics = CommandMetrics::default();
        let started = Started {
            at: Some(Instant::now() - std::time::Duration::from_millis(20)),
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
