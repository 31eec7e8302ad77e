//! bulwark's in-process, Redis-compatible memory engine.
//!
//! The `Redis` client uses it as its second backend when Redis is absent or
//! down, and for `memory://` URLs. Commands arrive exactly as on the wire
//! (`args[0]` = name, the rest binary-safe) and answer with the replies, nils,
//! number formats and error texts of Redis 7.0. Everything runs on the
//! caller's thread under one `parking_lot` mutex: no runtime, no thread hops.
//!
//! ```
//! use bulwark_core::memory::{Engine, MemoryConfig};
//! use bulwark_core::Reply;
//! let engine = Engine::new(MemoryConfig::default());
//! let mut session = engine.session();
//! engine.execute(&mut session, &[b"SET", b"k", b"v"]);
//! assert_eq!(engine.execute(&mut session, &[b"GET", b"k"]), Reply::Bulk(b"v".to_vec()));
//! ```

mod commands;
mod decide;
mod export;
mod glob;
mod num;
mod pubsub;
mod script;
mod sha_hasher;
mod store;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

pub use export::KeyRestore;
pub use pubsub::{Message, MessageSink};
pub(crate) use script::sha1_hex;

use crate::Reply;
use commands::{lookup_command, Ctx, Kind};
use pubsub::Delivery;
use store::{c_str, err, State, WatchFlag};

/// Bounds of the memory engine. `Default` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Most keys kept over all databases; beyond it the least recently used
    /// keys (approximately, by sampling) are evicted.
    pub max_keys: Option<usize>,
    /// Approximate memory budget for keys and values, in bytes; same eviction.
    pub max_memory_bytes: Option<usize>,
    /// Wall-clock budget of one Lua script in milliseconds (`None`: 5000);
    /// a script running longer is killed with an error.
    pub script_time_limit_ms: Option<u64>,
    /// How many bytes one Lua script may grow the interpreter's heap by
    /// (`None`: 64 MiB); an allocation beyond it fails the script with an error.
    pub script_memory_limit_bytes: Option<usize>,
    /// Runs the scripts the engine also implements natively (rate-limit scripts, see
    /// `script/known.rs`) through the Lua interpreter too: tests compare both ways.
    pub interpret_known_scripts: bool,
}

/// A time source in unix milliseconds, injectable so tests control expiry.
pub trait Clock: Send + Sync {
    /// The current time in milliseconds since the unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock (production default).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        crate::clock::unix_ms()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `now_ms`.
    pub fn new(now_ms: u64) -> ManualClock {
        ManualClock(AtomicU64::new(now_ms))
    }
    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    /// Sets the clock to `now_ms`.
    pub fn set(&self, now_ms: u64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A snapshot of the engine's size and counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Keys over all databases (including expired keys not yet swept).
    pub keys: usize,
    /// Approximate bytes held by keys and values.
    pub bytes: usize,
    /// Keys evicted because of `max_keys`/`max_memory_bytes`.
    pub evicted: u64,
    /// Keys deleted because their TTL passed (lazily or by the sweep).
    pub expired: u64,
    /// Key lookups that found a key (reads of single keys).
    pub hits: u64,
    /// Key lookups that found nothing.
    pub misses: u64,
    /// Commands executed.
    pub commands: u64,
}

struct Shared {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    /// The Lua state and script cache, created by the first script. Only
    /// locked while `state` is held (a script runs under the engine lock).
    scripts: Mutex<Option<script::Scripts>>,
}

/// The engine: 16 databases, pub/sub and transactions. Cheap to clone (a
/// handle to shared state); `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// Per-connection state: selected database, MULTI queue, WATCHed keys and
/// subscriptions. Dropping a session releases its WATCHes and subscriptions
/// (taking the engine lock if it has any, so not inside [`Engine::with_lock`]).
pub struct Session {
    id: u64,
    db: usize,
    multi: Option<Vec<Vec<Vec<u8>>>>,
    multi_failed: bool,
    watched: Vec<(usize, Vec<u8>, Option<u64>)>,
    watch_flag: WatchFlag,
    channels: HashSet<Vec<u8>>,
    patterns: HashSet<Vec<u8>>,
    sink: Option<MessageSink>,
    engine: Weak<Shared>,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
            db: 0,
            multi: None,
            multi_failed: false,
            watched: Vec::new(),
            watch_flag: Arc::new(AtomicBool::new(false)),
            channels: HashSet::new(),
            patterns: HashSet::new(),
            sink: None,
            engine: Weak::new(),
        }
    }
}

impl Session {
    /// The selected database (0..=15).
    pub fn db(&self) -> usize {
        self.db
    }
    /// True between MULTI and EXEC/DISCARD.
    pub fn in_multi(&self) -> bool {
        self.multi.is_some()
    }
    /// Number of channel plus pattern subscriptions (non-zero = subscriber mode).
    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
    /// Sets where this session's pub/sub messages go. Required before
    /// SUBSCRIBE/PSUBSCRIBE; replacing it affects later subscriptions only.
    pub fn set_message_sink(&mut self, sink: MessageSink) {
        self.sink = Some(sink);
    }

    fn clear_watches(&mut self, st: &mut State) {
        for (db, key, _) in self.watched.drain(..) {
            st.unwatch(db, &key, self.id);
        }
        self.watch_flag.store(false, Ordering::Relaxed);
    }

    fn release(&mut self, st: &mut State) {
        self.clear_watches(st);
        for ch in self.channels.drain() {
            st.pubsub.unsubscribe(&ch, self.id);
        }
        for p in self.patterns.drain() {
            st.pubsub.punsubscribe(&p, self.id);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.watched.is_empty() && self.subscription_count() == 0 {
            return;
        }
        if let Some(shared) = self.engine.upgrade() {
            let mut st = shared.state.lock();
            self.release(&mut st);
        }
    }
}

/// The engine with its lock held: run several commands atomically.
pub struct Locked<'a> {
    engine: &'a Engine,
    state: &'a mut State,
    outbox: &'a mut Vec<Delivery>,
}

impl Locked<'_> {
    /// Executes one command inside the held lock; same contract as [`Engine::execute`].
    pub fn execute(&mut self, session: &mut Session, args: &[&[u8]]) -> Reply {
        self.engine.dispatch(self.state, session, args, self.outbox)
    }
}

fn deliver(outbox: Vec<Delivery>) {
    for (sink, msg) in outbox {
        sink(msg);
    }
}

fn wrong_arity(name: &str) -> Reply {
    err(&format!("wrong number of arguments for '{name}' command"))
}

fn unknown_command(args: &[&[u8]]) -> Reply {
    // Redis's `'%.*s' ` per argument: bytes up to a NUL, at most 128 bytes of text in all.
    let mut rest = Vec::new();
    for a in &args[1..] {
        if rest.len() >= 128 {
            break;
        }
        let a = c_str(a);
        let cut = &a[..a.len().min(128 - rest.len())];
        rest.push(b'\'');
        rest.extend_from_slice(cut);
        rest.extend_from_slice(b"' ");
    }
    let name = c_str(args[0]);
    let name = String::from_utf8_lossy(&name[..name.len().min(128)]);
    let rest = String::from_utf8_lossy(&rest);
    let msg = format!("unknown command '{name}', with args beginning with: {rest}");
    err(&msg.replace(['\r', '\n'], " "))
}

impl Engine {
    /// An engine on the system clock.
    pub fn new(config: MemoryConfig) -> Engine {
        Engine::with_clock(config, Arc::new(SystemClock))
    }

    /// An engine on the given clock (tests pass a [`ManualClock`]).
    pub fn with_clock(config: MemoryConfig, clock: Arc<dyn Clock>) -> Engine {
        let now = clock.now_ms();
        Engine {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new(config, now)),
                clock,
                scripts: Mutex::new(None),
            }),
        }
    }

    /// A new session (connection) bound to this engine.
    pub fn session(&self) -> Session {
        let mut s = Session::default();
        s.engine = Arc::downgrade(&self.shared);
        s
    }

    /// Executes one command. `args[0]` is the command name (any case), the
    /// rest are its arguments as sent on the wire. Pub/sub messages caused by
    /// the command are handed to the subscribers' sinks before this returns,
    /// after the lock is released.
    ///
    /// SUBSCRIBE-family commands confirm each channel separately in Redis;
    /// here those confirmations come back as one `Reply::Array` of the
    /// per-channel `[kind, channel, count]` arrays.
    pub fn execute(&self, session: &mut Session, args: &[&[u8]]) -> Reply {
        let mut outbox = Vec::new();
        let reply = {
            let mut st = self.shared.state.lock();
            self.dispatch(&mut st, session, args, &mut outbox)
        };
        if !outbox.is_empty() {
            deliver(outbox);
        }
        reply
    }

    /// Runs `f` with the engine lock held, so every command it executes is
    /// atomic as a whole. Pub/sub deliveries happen after `f` returns.
    /// Inside `f`, use [`Locked::execute`]: calling [`Engine::execute`] (or
    /// any other locking method) there would deadlock.
    pub fn with_lock<R>(&self, f: impl FnOnce(&mut Locked<'_>) -> R) -> R {
        let mut outbox = Vec::new();
        let r = {
            let mut st = self.shared.state.lock();
            let mut locked = Locked {
                engine: self,
                state: &mut st,
                outbox: &mut outbox,
            };
            f(&mut locked)
        };
        deliver(outbox);
        r
    }

    /// True when the engine implements the command `name` (any case).
    pub fn supports(name: &[u8]) -> bool {
        lookup_command(name).is_some()
    }

    /// True when `name` (any case) is an implemented command that writes
    /// (Redis's `write`/`may-replicate` flags): read-only scripts refuse it,
    /// and a client may route it accordingly.
    pub fn is_write_command(name: &[u8]) -> bool {
        lookup_command(name).is_some_and(|c| script::is_write_command(c.name))
    }

    /// Size and counters.
    pub fn stats(&self) -> Stats {
        let st = self.shared.state.lock();
        Stats {
            keys: st.total_keys(),
            bytes: st.bytes,
            evicted: st.counters.evicted,
            expired: st.counters.expired,
            hits: st.counters.hits,
            misses: st.counters.misses,
            commands: st.counters.commands,
        }
    }

    /// Active expiry: call periodically (Redis does ~10 times a second).
    /// Samples keys that carry a TTL and deletes the expired ones, examining
    /// at most `budget` keys. Returns the number deleted.
    pub fn sweep_expired(&self, budget: usize) -> usize {
        let now = self.shared.clock.now_ms();
        self.shared.state.lock().sweep_expired(now, budget)
    }

    /// Starts (or stops) recording which keys are written, for reconciling
    /// with Redis after an outage. Stopping discards the record.
    pub fn track_writes(&self, on: bool) {
        let mut st = self.shared.state.lock();
        st.written = if on {
            Some(st.written.take().unwrap_or_default())
        } else {
            None
        };
    }

    /// The `(db, key)` pairs that commands wrote (set, changed, deleted or
    /// gave a TTL) since the last drain while tracking is on; empties the
    /// record. Expiry and eviction are not writes and are not recorded; a
    /// recorded key may be gone from the engine since (deleted, expired or
    /// evicted).
    pub fn drain_written(&self) -> Vec<(usize, Vec<u8>)> {
        let mut st = self.shared.state.lock();
        st.written
            .as_mut()
            .map(|w| w.drain().collect())
            .unwrap_or_default()
    }

    fn dispatch(
        &self,
        st: &mut State,
        s: &mut Session,
        args: &[&[u8]],
        outbox: &mut Vec<Delivery>,
    ) -> Reply {
        if s.engine.strong_count() == 0 {
            s.engine = Arc::downgrade(&self.shared);
        }
        let Some(name) = args.first() else {
            return err("empty command");
        };
        st.counters.commands += 1;
        let Some(cmd) = lookup_command(name) else {
            if s.multi.is_some() {
                s.multi_failed = true;
            }
            return unknown_command(args);
        };
        let argc = args.len() as i32;
        if (cmd.arity > 0 && argc != cmd.arity) || (cmd.arity < 0 && argc < -cmd.arity) {
            if s.multi.is_some() {
                s.multi_failed = true;
            }
            return wrong_arity(cmd.name);
        }
        if s.subscription_count() > 0 && !matches!(cmd.kind, Kind::Subscribe(_) | Kind::Ping) {
            return err(&format!(
                "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                cmd.name
            ));
        }
        if let Some(queue) = s.multi.as_mut() {
            match cmd.kind {
                Kind::Exec | Kind::Discard | Kind::Multi | Kind::Watch => {}
                _ => {
                    queue.push(args.iter().map(|a| a.to_vec()).collect());
                    return Reply::Status("QUEUED".into());
                }
            }
        }
        let now = self.shared.clock.now_ms();
        let reply = match cmd.kind {
            Kind::Data(run) => {
                let mut ctx = Ctx {
                    st: &mut *st,
                    db: s.db,
                    now,
                    outbox: &mut *outbox,
                };
                run(&mut ctx, args).unwrap_or_else(|e| e)
            }
            Kind::Ping => {
                if s.subscription_count() > 0 {
                    let arg = args.get(1).map_or(Vec::new(), |a| a.to_vec());
                    Reply::Array(vec![Reply::Bulk(b"pong".to_vec()), Reply::Bulk(arg)])
                } else if args.len() > 2 {
                    wrong_arity("ping")
                } else {
                    args.get(1)
                        .map_or(Reply::Status("PONG".into()), |a| Reply::Bulk(a.to_vec()))
                }
            }
            Kind::Select => match num::parse_i64(args[1]) {
                None => err("value is not an integer or out of range"),
                Some(n) if !(0..store::DATABASES as i64).contains(&n) => {
                    err("DB index is out of range")
                }
                Some(n) => {
                    s.db = n as usize;
                    Reply::Status("OK".into())
                }
            },
            Kind::Multi => {
                if s.multi.is_some() {
                    err("MULTI calls can not be nested")
                } else {
                    s.multi = Some(Vec::new());
                    s.multi_failed = false;
                    Reply::Status("OK".into())
                }
            }
            Kind::Discard => {
                if s.multi.take().is_none() {
                    err("DISCARD without MULTI")
                } else {
                    s.clear_watches(st);
                    Reply::Status("OK".into())
                }
            }
            Kind::Exec => self.exec(st, s, outbox, now),
            Kind::Watch => {
                if s.multi.is_some() {
                    err("WATCH inside MULTI is not allowed")
                } else {
                    for key in &args[1..] {
                        if s.watched.iter().any(|(d, k, _)| *d == s.db && k == key) {
                            continue;
                        }
                        let ttl = st.peek(s.db, key, now).and_then(|e| e.expires_at);
                        st.watch(s.db, key, s.id, &s.watch_flag);
                        s.watched.push((s.db, key.to_vec(), ttl));
                    }
                    Reply::Status("OK".into())
                }
            }
            Kind::Unwatch => {
                s.clear_watches(st);
                Reply::Status("OK".into())
            }
            Kind::Quit => Reply::Status("OK".into()),
            Kind::Reset => {
                s.multi = None;
                s.release(st);
                s.db = 0;
                Reply::Status("RESET".into())
            }
            Kind::Subscribe(which) => self.subscribe(st, s, which, &args[1..]),
            Kind::Eval(mode) => self.eval(st, s, args, outbox, mode),
            Kind::Script => self.script(st, args),
        };
        if st.config.max_keys.is_some() || st.config.max_memory_bytes.is_some() {
            st.evict_if_needed();
        }
        reply
    }

    fn exec(&self, st: &mut State, s: &mut Session, outbox: &mut Vec<Delivery>, now: u64) -> Reply {
        let Some(queue) = s.multi.take() else {
            return err("EXEC without MULTI");
        };
        if s.multi_failed {
            s.clear_watches(st);
            return Reply::Error(
                "EXECABORT Transaction discarded because of previous errors.".into(),
            );
        }
        // A watched key counts as modified if it was touched or its TTL has
        // passed since WATCH (Redis 7 treats a lapsed TTL as a change).
        let expired = s
            .watched
            .iter()
            .any(|(_, _, ttl)| ttl.is_some_and(|t| t <= now));
        let touched = s.watch_flag.load(Ordering::Relaxed);
        s.clear_watches(st);
        if touched || expired {
            return Reply::Nil;
        }
        let replies = queue
            .iter()
            .map(|cmd| {
                let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
                self.dispatch(st, s, &args, outbox)
            })
            .collect();
        Reply::Array(replies)
    }

    fn subscribe(
        &self,
        st: &mut State,
        s: &mut Session,
        which: commands::Sub,
        names: &[&[u8]],
    ) -> Reply {
        use commands::Sub;
        let kind: &[u8] = match which {
            Sub::Subscribe => b"subscribe",
            Sub::Unsubscribe => b"unsubscribe",
            Sub::PSubscribe => b"psubscribe",
            Sub::PUnsubscribe => b"punsubscribe",
        };
        let sink = match which {
            Sub::Subscribe | Sub::PSubscribe => match s.sink.clone() {
                Some(sink) => Some(sink),
                None => return err("this bulwark memory-engine session has no message sink (call set_message_sink first)"),
            },
            _ => None,
        };
        // UNSUBSCRIBE/PUNSUBSCRIBE without arguments mean "all of mine".
        let all: Vec<Vec<u8>>;
        let names: Vec<&[u8]> = if names.is_empty() {
            all = match which {
                Sub::Unsubscribe => s.channels.iter().cloned().collect(),
                _ => s.patterns.iter().cloned().collect(),
            };
            all.iter().map(|v| v.as_slice()).collect()
        } else {
            names.to_vec()
        };
        let mut out = Vec::with_capacity(names.len().max(1));
        for name in &names {
            match which {
                Sub::Subscribe => {
                    if s.channels.insert(name.to_vec()) {
                        st.pubsub
                            .subscribe(name, s.id, sink.as_ref().expect("sink"));
                    }
                }
                Sub::PSubscribe => {
                    if s.patterns.insert(name.to_vec()) {
                        st.pubsub
                            .psubscribe(name, s.id, sink.as_ref().expect("sink"));
                    }
                }
                Sub::Unsubscribe => {
                    if s.channels.remove(*name) {
                        st.pubsub.unsubscribe(name, s.id);
                    }
                }
                Sub::PUnsubscribe => {
                    if s.patterns.remove(*name) {
                        st.pubsub.punsubscribe(name, s.id);
                    }
                }
            }
            out.push(Reply::Array(vec![
                Reply::Bulk(kind.to_vec()),
                Reply::Bulk(name.to_vec()),
                Reply::Int(s.subscription_count() as i64),
            ]));
        }
        if out.is_empty() {
            out.push(Reply::Array(vec![
                Reply::Bulk(kind.to_vec()),
                Reply::Nil,
                Reply::Int(s.subscription_count() as i64),
            ]));
        }
        Reply::Array(out)
    }
}
