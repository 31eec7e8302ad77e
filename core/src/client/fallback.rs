//! Failover to the in-process memory engine: the client keeps answering every command,
//! with Redis semantics, while Redis is absent, down or hung.
//!
//! One [`Router`] per client decides, under one lock, whether a command goes to Redis
//! (queued for the dispatcher) or runs in the memory engine on the caller's thread. The
//! dispatcher flips it to memory when an outage is declared (and runs what it still
//! held there first, in order) and back to Redis after recovery. Every client of the
//! same Redis target in the process shares one engine, as they share the server;
//! `memory://` clients share one engine per name and never leave it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use super::{args, Completion, Delivery, Failure, FailureKind, MessageKind, Sink};
use crate::clock::unix_ms;
use crate::memory::{Engine, KeyRestore, MemoryConfig, Message, Session, Stats};
use crate::metrics::CommandMetrics;
use crate::Reply;

/// How often expired keys are swept from every engine, and how many keys one sweep
/// may examine (Redis runs its active expiry 10 times a second).
const SWEEP_EVERY: Duration = Duration::from_millis(100);
const SWEEP_BUDGET: usize = 200;

/// What happens to keys written in memory during an outage once Redis is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Write them back to Redis with their remaining TTL (last write wins).
    Replay,
    /// Drop them; Redis keeps what it had.
    Discard,
}

/// Failover settings of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackOptions {
    /// Names the shared engine: clients with the same target share one (the Redis
    /// address and db for failover, `memory://<name>` for memory-only clients).
    pub target: String,
    /// How long the first affected command waits for Redis (a reconnect, a late reply)
    /// before the outage is declared and memory answers.
    pub timeout: Duration,
    /// What recovery does with the keys written during the outage.
    pub recovery: Recovery,
    /// Bounds of the engine (taken from the first client of a target).
    pub memory: MemoryConfig,
}

/// The engine and script sources shared by every client of one target.
struct Target {
    engine: Engine,
    /// SHA1 (lowercase hex) → source of every script seen in EVAL or SCRIPT LOAD, so a
    /// script loaded on one backend stays callable by sha on the other.
    scripts: Mutex<HashMap<Vec<u8>, Arc<[u8]>>>,
    /// Clients of this target currently answering from memory.
    on_memory: Mutex<usize>,
}

fn registry() -> &'static Mutex<HashMap<String, Arc<Target>>> {
    static TARGETS: OnceLock<Mutex<HashMap<String, Arc<Target>>>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        // Active expiry for every engine, on the client runtime's thread.
        super::runtime().spawn(async {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            loop {
                tick.tick().await;
                let targets: Vec<Arc<Target>> = registry().lock().values().cloned().collect();
                for target in targets {
                    target.engine.sweep_expired(SWEEP_BUDGET);
                }
            }
        });
        Mutex::new(HashMap::new())
    })
}

/// The shared target named `name`, created with `config` if it is new. Targets live as
/// long as the process, like the server they stand in for.
fn target(name: &str, config: MemoryConfig) -> Arc<Target> {
    registry()
        .lock()
        .entry(name.to_owned())
        .or_insert_with(|| {
            Arc::new(Target {
                engine: Engine::new(config),
                scripts: Mutex::new(HashMap::new()),
                on_memory: Mutex::new(0),
            })
        })
        .clone()
}

/// Where a client's commands go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Redis,
    Memory,
    /// `quit()`/`disconnect()` was called: commands fail, nothing falls back.
    Closed,
}

/// The routing state, behind the router's lock.
pub(crate) struct Route {
    pub(crate) mode: Mode,
    /// The client's memory-engine connection (db, MULTI, WATCH, subscriptions), opened
    /// on first use and dropped on recovery.
    session: Option<Session>,
    /// Commands answered by the memory engine: counted here, under the lock every memory
    /// command holds anyway, rather than with an atomic add on every one.
    memory_commands: u64,
}

/// What a recovery must send to Redis before anything else.
pub(crate) struct Replay {
    /// Commands to pipeline, in order.
    pub(crate) commands: Vec<Vec<Vec<u8>>>,
    /// The keys they restore (marked written again if sending fails).
    keys: Vec<(usize, Vec<u8>)>,
}

/// Counters and state for `health()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FallbackStats {
    /// True while commands are answered from memory.
    pub on_memory: bool,
    /// Unix ms when the current backend took over (client start, outage or recovery).
    pub since_ms: u64,
    /// The last connection error (no credentials), if any.
    pub last_error: Option<String>,
    /// Outages declared.
    pub fallbacks: u64,
    /// Returns to Redis.
    pub recoveries: u64,
    /// Commands answered by the memory engine.
    pub memory_commands: u64,
    /// Keys written back to Redis by recoveries.
    pub replayed_keys: u64,
    /// Keys dropped by recoveries (`Recovery::Discard`).
    pub discarded_keys: u64,
    /// The shared engine's size and counters.
    pub memory: Stats,
}

/// A client's switch between Redis and the memory engine.
pub struct Router {
    target: Arc<Target>,
    /// The client's database: the `db` option, then the last `SELECT` that succeeded
    /// (shared with the Redis dispatcher, which selects it on every connect).
    db: Arc<AtomicU32>,
    timeout: Duration,
    recovery: Recovery,
    route: Mutex<Route>,
    /// Where published messages for this client's memory session go; dropped on close
    /// so nothing keeps Node alive afterwards.
    sink: Mutex<Option<Arc<dyn Sink>>>,
    me: Weak<Router>,
    since_ms: AtomicU64,
    last_error: Mutex<Option<String>>,
    fallbacks: AtomicU64,
    recoveries: AtomicU64,
    replayed_keys: AtomicU64,
    discarded_keys: AtomicU64,
    /// The client's command metrics, when recorded (set once, before any command).
    metrics: OnceLock<Arc<CommandMetrics>>,
}

fn is(name: &[u8], what: &str) -> bool {
    name.eq_ignore_ascii_case(what.as_bytes())
}

impl Router {
    /// A router for a client whose database is `db`; `memory_only` clients start (and
    /// stay) on memory.
    pub fn new(
        options: &FallbackOptions,
        db: Arc<AtomicU32>,
        memory_only: bool,
        sink: Arc<dyn Sink>,
    ) -> Arc<Router> {
        Arc::new_cyclic(|me| Router {
            target: target(&options.target, options.memory),
            db,
            timeout: options.timeout,
            recovery: options.recovery,
            route: Mutex::new(Route {
                mode: if memory_only {
                    Mode::Memory
                } else {
                    Mode::Redis
                },
                session: None,
                memory_commands: 0,
            }),
            sink: Mutex::new(Some(sink)),
            me: me.clone(),
            since_ms: AtomicU64::new(unix_ms()),
            last_error: Mutex::new(None),
            fallbacks: AtomicU64::new(0),
            recoveries: AtomicU64::new(0),
            replayed_keys: AtomicU64::new(0),
            discarded_keys: AtomicU64::new(0),
            metrics: OnceLock::new(),
        })
    }

    /// Records this client's memory-engine commands in `metrics` from now on.
    pub fn set_metrics(&self, metrics: Arc<CommandMetrics>) {
        // Set once, by the client's constructor: a second call keeps the first.
        let _ = self.metrics.set(metrics);
    }

    /// How long the first affected command may wait before memory answers.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The routing lock: hold it while deciding where a command goes and sending it
    /// there, so a flip cannot reorder a client's commands.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Route> {
        self.route.lock()
    }

    /// True once `quit()`/`disconnect()` closed the client.
    pub(crate) fn closed(&self) -> bool {
        self.route.lock().mode == Mode::Closed
    }

    /// Remembers script sources passing by (EVAL, EVAL_RO, SCRIPT LOAD) and forgets
    /// them all on SCRIPT FLUSH, as the server's script cache does: otherwise EVALSHA
    /// of a flushed script would still run from memory where Redis answers NOSCRIPT.
    fn note_script(&self, args: &[&[u8]]) {
        let source = match args {
            [name, source, ..] if is(name, "EVAL") || is(name, "EVAL_RO") => source,
            [name, sub, source, ..] if is(name, "SCRIPT") && is(sub, "LOAD") => source,
            [name, sub, mode @ ..]
                if is(name, "SCRIPT")
                    && is(sub, "FLUSH")
                    && matches!(mode, [] | [_])
                    && mode.iter().all(|m| is(m, "ASYNC") || is(m, "SYNC")) =>
            {
                self.target.scripts.lock().clear();
                return;
            }
            _ => return,
        };
        let sha = sha1_smol::Sha1::from(source).digest().to_string();
        self.target
            .scripts
            .lock()
            .entry(sha.into_bytes())
            .or_insert_with(|| Arc::from(*source));
    }

    /// [`Router::note_script`] on encoded arguments; decodes only commands whose name
    /// has the length of EVAL, SCRIPT or EVAL_RO (the cheap test on the hot path).
    pub(crate) fn note_encoded_script(&self, encoded: &[u8]) {
        if matches!(encoded.get(..4), Some([4 | 6 | 7, 0, 0, 0])) {
            if let Some(args) = args::decode(encoded) {
                self.note_script(&args);
            }
        }
    }

    /// Runs one command (arguments in the [`args`] encoding) in the memory engine.
    pub(crate) fn execute(
        &self,
        route: &mut Route,
        id: u32,
        flags: u8,
        encoded: &[u8],
    ) -> Completion {
        match args::decode(encoded).filter(|a| !a.is_empty()) {
            Some(args) => self.execute_args(route, id, flags, &args),
            None => Completion {
                id,
                flags,
                outcome: Err(Failure::new(
                    FailureKind::BadArguments,
                    "malformed argument buffer",
                )),
            },
        }
    }

    /// Runs one command (arguments in the [`args`] encoding) in the memory engine if the
    /// client is on memory now; `None` otherwise (and for a malformed buffer), when the
    /// caller takes the ordinary path. The fast path of memory clients: no batch, no id.
    pub fn execute_now(&self, encoded: &[u8]) -> Option<Reply> {
        let mut route = self.route.lock();
        if route.mode != Mode::Memory {
            return None;
        }
        let args = args::decode(encoded).filter(|a| !a.is_empty())?;
        Some(self.run(&mut route, &args))
    }

    /// [`Router::execute_now`] on arguments already split (a native caller, such as a
    /// rate-limit decision: no encoding on either side).
    pub fn execute_args_now(&self, args: &[&[u8]]) -> Option<Reply> {
        let mut route = self.route.lock();
        if route.mode != Mode::Memory || args.is_empty() {
            return None;
        }
        Some(self.run(&mut route, args))
    }

    /// Runs `decide` on the memory engine with this client's session when the client is
    /// on memory now (`None` otherwise): a native caller deciding in place on the keyspace
    /// (a rate-limit decision). `decide` answers `None` when it left everything untouched
    /// for the ordinary command path.
    pub fn decide_now<T>(
        &self,
        decide: impl FnOnce(&Engine, &Session) -> Option<T>,
    ) -> Option<Option<T>> {
        let mut route = self.route.lock();
        if route.mode != Mode::Memory {
            return None;
        }
        let session = match route.session.as_mut() {
            Some(session) => session,
            None => route.session.insert(self.open_session()),
        };
        let decided = decide(&self.target.engine, session);
        if decided.is_some() {
            route.memory_commands += 1;
        }
        Some(decided)
    }

    /// Runs one command, given as its arguments, in the memory engine.
    pub(crate) fn execute_args(
        &self,
        route: &mut Route,
        id: u32,
        flags: u8,
        args: &[&[u8]],
    ) -> Completion {
        Completion {
            id,
            flags,
            outcome: Ok(self.run(route, args)),
        }
    }

    fn run(&self, route: &mut Route, args: &[&[u8]]) -> Reply {
        let metrics = self.metrics.get();
        let started = metrics.map(|m| m.start(args[0]));
        let reply = self.answer(route, args);
        if let (Some(metrics), Some(started)) = (metrics, started) {
            let error = matches!(reply, Reply::Error(_));
            metrics.finish(started, crate::metrics::Backend::Memory, error);
        }
        reply
    }

    fn answer(&self, route: &mut Route, args: &[&[u8]]) -> Reply {
        route.memory_commands += 1;
        self.note_script(args);
        let session = match route.session.as_mut() {
            Some(session) => session,
            None => route.session.insert(self.open_session()),
        };
        let engine = &self.target.engine;
        let mut reply = engine.execute(session, args);
        if let (Some(db), Reply::Status(_)) = (args::selected_db(args), &reply) {
            self.db.store(db, Ordering::Relaxed);
        }
        // A script loaded on Redis (or by another client) runs here by its sha too.
        if matches!(&reply, Reply::Error(e) if e.starts_with("NOSCRIPT"))
            && (is(args[0], "EVALSHA") || is(args[0], "EVALSHA_RO"))
        {
            let sha = args[1].to_ascii_lowercase();
            let source = self.target.scripts.lock().get(&sha).cloned();
            if let Some(source) = source {
                engine.execute(session, &[b"SCRIPT", b"LOAD", &source]);
                reply = engine.execute(session, args);
            }
        }
        // The engine confirms every channel of a SUBSCRIBE in one array; the client
        // sends one channel per command and reads `[kind, channel, count]` as Redis sends it.
        match reply {
            Reply::Array(mut confirmations)
                if confirmations.len() == 1
                    && matches!(confirmations[0], Reply::Array(_))
                    && args[0].to_ascii_lowercase().ends_with(b"subscribe") =>
            {
                confirmations.pop().unwrap_or(Reply::Nil)
            }
            reply => reply,
        }
    }

    fn open_session(&self) -> Session {
        let engine = &self.target.engine;
        let mut session = engine.session();
        let db = self.db.load(Ordering::Relaxed);
        if db != 0 {
            // Out-of-range indexes were refused when the client was created, or by SELECT.
            engine.execute(&mut session, &[b"SELECT", db.to_string().as_bytes()]);
        }
        let me = self.me.clone();
        session.set_message_sink(Arc::new(move |message: Message| {
            if let Some(router) = me.upgrade() {
                router.publish(message);
            }
        }));
        session
    }

    fn publish(&self, message: Message) {
        let (kind, parts) = match message.pattern {
            Some(pattern) => (
                MessageKind::PMessage,
                vec![pattern, message.channel, message.payload],
            ),
            None => (MessageKind::Message, vec![message.channel, message.payload]),
        };
        self.notify(Delivery::Message { kind, parts });
    }

    /// Hands an event or completion to the client (memory-only clients have no
    /// dispatcher to do it); a no-op once closed.
    pub(crate) fn notify(&self, delivery: Delivery) {
        let sink = self.sink.lock().clone();
        if let Some(sink) = sink {
            sink.deliver(delivery);
        }
    }

    /// Records a connection error for `health()`.
    pub(crate) fn set_last_error(&self, message: &str) {
        *self.last_error.lock() = Some(message.to_owned());
    }

    /// Declares the outage: from now on memory answers. False when already on memory
    /// or closed (nothing changed).
    pub(crate) fn degrade(&self, route: &mut Route) -> bool {
        if route.mode != Mode::Redis {
            return false;
        }
        route.mode = Mode::Memory;
        self.since_ms.store(unix_ms(), Ordering::Relaxed);
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        let mut on_memory = self.target.on_memory.lock();
        if *on_memory == 0 {
            self.target.engine.track_writes(true);
        }
        *on_memory += 1;
        true
    }

    /// Goes back to Redis: returns what must be written there first (`None` when this
    /// client was not on memory). Keys written by every client of the target are
    /// collected, so whichever recovers first writes them back.
    pub(crate) fn recover(&self) -> Option<Replay> {
        let mut route = self.route.lock();
        if route.mode != Mode::Memory {
            return None;
        }
        route.mode = Mode::Redis;
        // Dropping the session releases its WATCHes and in-memory subscriptions.
        route.session = None;
        self.since_ms.store(unix_ms(), Ordering::Relaxed);
        self.recoveries.fetch_add(1, Ordering::Relaxed);
        let engine = &self.target.engine;
        let keys = engine.drain_written();
        {
            let mut on_memory = self.target.on_memory.lock();
            *on_memory = on_memory.saturating_sub(1);
        }
        // Scripts first, whatever happens to the keys: a script loaded during the outage
        // stays callable by EVALSHA on Redis (discarding data must not discard code).
        let mut commands: Vec<Vec<Vec<u8>>> = self
            .target
            .scripts
            .lock()
            .values()
            .map(|source| vec![b"SCRIPT".to_vec(), b"LOAD".to_vec(), source.to_vec()])
            .collect();
        if self.recovery == Recovery::Discard {
            self.discarded_keys
                .fetch_add(keys.len() as u64, Ordering::Relaxed);
            return Some(Replay {
                commands,
                keys: Vec::new(),
            });
        }
        // The connection the replay goes out on is on the client's database.
        let db = self.db.load(Ordering::Relaxed);
        for KeyRestore {
            db: key_db,
            commands: writes,
            ..
        } in engine.restore_commands(&keys)
        {
            // MULTI/EXEC so other Redis clients never see a key half rebuilt.
            let other_db = key_db != db as usize;
            if other_db {
                commands.push(vec![b"SELECT".to_vec(), key_db.to_string().into_bytes()]);
            }
            commands.push(vec![b"MULTI".to_vec()]);
            commands.extend(writes);
            commands.push(vec![b"EXEC".to_vec()]);
            if other_db {
                commands.push(vec![b"SELECT".to_vec(), db.to_string().into_bytes()]);
            }
        }
        Some(Replay { commands, keys })
    }

    /// Reports how writing a [`Replay`] back went: on success the engine is emptied
    /// once no client of the target is on memory any more (the next outage starts
    /// from what Redis does not have, not from stale copies); on failure the keys are
    /// kept for the next recovery.
    pub(crate) fn replayed(&self, replay: Replay, ok: bool) {
        let engine = &self.target.engine;
        if !ok {
            engine.mark_written(replay.keys);
            return;
        }
        self.replayed_keys
            .fetch_add(replay.keys.len() as u64, Ordering::Relaxed);
        if *self.target.on_memory.lock() == 0 {
            engine.flush_all();
        }
    }

    /// `quit()`/`disconnect()`: later commands fail; nothing falls back any more.
    pub fn close(&self) {
        let mut route = self.route.lock();
        if route.mode == Mode::Memory {
            let mut on_memory = self.target.on_memory.lock();
            *on_memory = on_memory.saturating_sub(1);
        }
        route.mode = Mode::Closed;
        route.session = None;
        *self.sink.lock() = None;
    }

    /// Counters and state for `health()`.
    pub fn stats(&self) -> FallbackStats {
        let (on_memory, memory_commands) = {
            let route = self.route.lock();
            (route.mode == Mode::Memory, route.memory_commands)
        };
        FallbackStats {
            on_memory,
            since_ms: self.since_ms.load(Ordering::Relaxed),
            last_error: self.last_error.lock().clone(),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
            recoveries: self.recoveries.load(Ordering::Relaxed),
            memory_commands,
            replayed_keys: self.replayed_keys.load(Ordering::Relaxed),
            discarded_keys: self.discarded_keys.load(Ordering::Relaxed),
            memory: self.target.engine.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoSink;
    impl Sink for NoSink {
        fn deliver(&self, _: Delivery) {}
    }

    fn options(target: &str, recovery: Recovery) -> FallbackOptions {
        FallbackOptions {
            target: target.into(),
            timeout: Duration::from_millis(1),
            recovery,
            memory: MemoryConfig::default(),
        }
    }

    #[test]
    fn discarding_recovery_still_loads_the_scripts() {
        let options = options("fallback-test-discard-scripts", Recovery::Discard);
        let router = Router::new(&options, Arc::default(), false, Arc::new(NoSink));
        {
            let mut route = router.lock();
            assert!(router.degrade(&mut route));
            router.execute_args(&mut route, 1, 0, &[b"SCRIPT", b"LOAD", b"return 1"]);
            router.execute_args(&mut route, 2, 0, &[b"SET", b"k", b"v"]);
        }
        let replay = router.recover().expect("the router was on memory");
        assert_eq!(
            replay.commands,
            vec![vec![
                b"SCRIPT".to_vec(),
                b"LOAD".to_vec(),
                b"return 1".to_vec()
            ]]
        );
        assert!(replay.keys.is_empty());
        assert_eq!(router.stats().discarded_keys, 1);
    }

    #[test]
    fn script_flush_forgets_the_remembered_sources() {
        let options = options("fallback-test-script-flush", Recovery::Replay);
        let router = Router::new(&options, Arc::default(), true, Arc::new(NoSink));
        let mut route = router.lock();
        let sha = b"59b6ab2fbe0ee4b25733de0f62e6cda4899ef8e9"; // sha1("return 7")
        let run =
            |route: &mut Route, args: &[&[u8]]| router.execute_args(route, 1, 0, args).outcome;
        assert_eq!(
            run(&mut route, &[b"SCRIPT", b"LOAD", b"return 7"]),
            Ok(Reply::Bulk(sha.to_vec()))
        );
        // A malformed FLUSH is refused and forgets nothing.
        assert!(matches!(
            run(&mut route, &[b"SCRIPT", b"FLUSH", b"NOW"]),
            Ok(Reply::Error(_))
        ));
        assert_eq!(run(&mut route, &[b"EVALSHA", sha, b"0"]), Ok(Reply::Int(7)));
        assert_eq!(
            run(&mut route, &[b"SCRIPT", b"FLUSH", b"async"]),
            Ok(Reply::Status("OK".into()))
        );
        assert!(
            matches!(run(&mut route, &[b"EVALSHA", sha, b"0"]), Ok(Reply::Error(e)) if e.starts_with("NOSCRIPT"))
        );
    }
}
