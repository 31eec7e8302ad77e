//! The Redis client core: one multiplexed, pipelined redis-rs connection per client,
//! driven by a single tokio task (the dispatcher, see `link`), plus the reconnect state
//! machine and bounded queues.
//!
//! Callers (the N-API binding) submit commands synchronously through [`Backend::submit`];
//! replies and connection events come back in batches through one [`Sink`]. A backend
//! that can answer on the caller's thread (the in-process memory engine) returns the
//! reply from `submit` directly and never touches the sink.

pub mod args;
pub mod fallback;
mod link;
mod monitor;
pub mod options;
mod sentinel;
mod spin;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use futures_util::FutureExt;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::Reply;
pub use fallback::{FallbackOptions, FallbackStats, Recovery, Router};
pub use link::FLAG_BLOCKING;
pub(crate) use link::{describe, establish};
pub use monitor::MonitorLink;
pub use options::{Address, ClientCertificate, ClientOptions, TlsOptions};
pub use sentinel::SentinelOptions;

/// Why a command failed without a server reply. The JS facade maps each kind to the
/// error class and message ioredis uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The client ended (`quit`, `disconnect`, retry strategy gave up): `Connection is closed.`
    Closed,
    /// The connection dropped while the command was in flight; it may have run.
    Aborted,
    /// `commandTimeout` elapsed; the command may still run on the server.
    Timeout,
    /// Not connected and `enableOfflineQueue` is false.
    OfflineQueueDisabled,
    /// `maxRetriesPerRequest` reconnect attempts failed while the command waited.
    MaxRetries,
    /// The queue count or byte bound was reached.
    QueueFull,
    /// The arguments could not be decoded (a caller bug).
    BadArguments,
    /// No server could be reached and the retry strategy gave up (a Cluster's
    /// `None of startup nodes is available`).
    Unavailable,
}

/// A failure that is not a server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// Human-readable detail (never contains credentials).
    pub message: String,
}

impl Failure {
    fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// The outcome of one submitted command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The caller's id from `submit`.
    pub id: u32,
    /// The caller's flags from `submit`, handed back so the binding knows how to
    /// convert the reply (e.g. Buffer vs string).
    pub flags: u8,
    /// The server reply (which may be `Reply::Error`) or a client-side failure.
    pub outcome: Result<Reply, Failure>,
}

/// A connection lifecycle event, in the order ioredis emits them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connection attempt starts.
    Connecting,
    /// The socket (and TLS, AUTH, SELECT) is up.
    Connect,
    /// The ready check passed; queued commands are being sent.
    Ready,
    /// A connection-level error (refused, timed out, reset, auth failed…).
    Error {
        /// Node-style code such as `ECONNREFUSED`, `ETIMEDOUT`, `WRONGPASS`, or empty.
        code: String,
        /// Message without credentials.
        message: String,
    },
    /// The connection closed. When `retry_attempt` is `Some(n)` the dispatcher waits for
    /// [`Backend::retry`] (the JS `retryStrategy(n)` decision); `None` means the client
    /// is closing for good and [`Event::End`] follows.
    Close {
        /// The failed-attempt counter since the last `ready`, when a decision is needed.
        retry_attempt: Option<u32>,
    },
    /// The client is finished; the dispatcher task has exited and dropped the sink.
    End,
    /// An outage was declared: commands are answered by the memory engine from now
    /// on. Carries the error that caused it.
    Fallback {
        /// Node-style code of the cause (`ECONNREFUSED`, `ETIMEDOUT`…), or empty.
        code: String,
        /// What happened, without credentials.
        message: String,
    },
    /// Redis answers again (and the outage's writes were handled per [`Recovery`]).
    Recover,
    /// A Cluster topology event (ioredis's `refresh`, `+node`, `-node`, `node error`).
    Cluster {
        /// The JS event name.
        name: &'static str,
        /// The node concerned, `host:port` (empty for `refresh`).
        node: String,
        /// Node-style error code (`node error` only), or empty.
        code: String,
        /// The error message (`node error` only), or empty.
        message: String,
    },
}

/// The kind of a published message on a subscriber connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `SUBSCRIBE` delivery: parts are `[channel, message]`.
    Message,
    /// `PSUBSCRIBE` delivery: parts are `[pattern, channel, message]`.
    PMessage,
    /// `SSUBSCRIBE` delivery: parts are `[channel, message]`.
    SMessage,
    /// A line of a MONITOR connection: parts are `[line]` (`<time> [<db> <source>] "cmd" …`).
    Monitor,
}

/// What the dispatcher hands to its owner.
#[derive(Debug)]
pub enum Delivery {
    /// Replies that became ready together, in completion order.
    Completions(Vec<Completion>),
    /// A lifecycle event.
    Event(Event),
    /// A published message (subscriber connections only).
    Message {
        /// Which subscription delivered it.
        kind: MessageKind,
        /// Pattern (pmessage only), channel and payload, binary-safe.
        parts: Vec<Vec<u8>>,
    },
}

/// Receives batches from the dispatcher task (on a tokio worker thread).
pub trait Sink: Send + Sync + 'static {
    /// Called once per batch; must not block.
    fn deliver(&self, delivery: Delivery);
}

/// Control messages from the owner to the dispatcher task.
enum Msg {
    /// Commands submitted together (one wake-up of the dispatcher for the lot).
    Commands(Encoded),
    Quit {
        id: u32,
        flags: u8,
    },
    Disconnect {
        reconnect: bool,
    },
    Retry(Option<Duration>),
}

/// The commands of one submission, checked and budgeted on the JS thread but still in
/// the facade's encoding ([`entries`]): the client thread builds the redis-rs commands,
/// so the JS thread's share of a command is a copy, and each command's buffers are
/// allocated on the thread that frees them (built on the JS thread, a session SET's
/// buffers cost the JS thread allocator time and, freed on the client thread, contended
/// for its malloc arena).
struct Encoded {
    bytes: Vec<u8>,
    /// When the batch was submitted, for the command metrics' latency.
    submitted: Option<Instant>,
}

impl Encoded {
    /// The commands, in order (the entries were checked when they were submitted).
    fn into_pendings(self, metrics: Option<&crate::metrics::CommandMetrics>) -> Vec<Pending> {
        entries(&self.bytes)
            .filter_map(Result::ok)
            .filter_map(|(id, flags, encoded)| {
                let args = args::decode(encoded)?;
                let started = match (metrics, self.submitted) {
                    (Some(m), Some(at)) => Some(m.start_at(args[0], at)),
                    _ => None,
                };
                let mut cmd =
                    redis::Cmd::with_capacity(args.len(), args.iter().map(|a| a.len()).sum());
                for arg in &args {
                    cmd.arg(*arg);
                }
                Some(Pending {
                    id,
                    flags,
                    bytes: encoded.len(),
                    cmd,
                    select: args::selected_db(&args),
                    started,
                    drops: 0,
                })
            })
            .collect()
    }

    /// `(id, flags, bytes)` of each command, for failing the lot unsent.
    fn commands(&self) -> impl Iterator<Item = (u32, u8, usize)> + '_ {
        entries(&self.bytes)
            .filter_map(Result::ok)
            .map(|(id, flags, encoded)| (id, flags, encoded.len()))
    }
}

/// A command on its way to the server.
struct Pending {
    id: u32,
    flags: u8,
    bytes: usize,
    cmd: redis::Cmd,
    /// The database this command selects (`SELECT n`), remembered on its OK.
    select: Option<u32>,
    /// For the client's command metrics, when recorded.
    started: Option<crate::metrics::Started>,
    /// Connections that dropped while this command was in flight.
    drops: u8,
}

/// Count and byte budget shared by `submit` (which reserves) and the dispatcher (which
/// releases on completion), so a full queue is refused synchronously.
struct Budget {
    len: AtomicUsize,
    bytes: AtomicUsize,
    max_len: usize,
    max_bytes: usize,
}

impl Budget {
    fn reserve(&self, bytes: usize) -> Result<(), Failure> {
        let len = self.len.fetch_add(1, Ordering::AcqRel);
        let used = self.bytes.fetch_add(bytes, Ordering::AcqRel);
        if len >= self.max_len || used + bytes > self.max_bytes {
            self.release(bytes);
            return Err(Failure::new(
                FailureKind::QueueFull,
                format!(
                    "Command queue is full ({} commands / {} bytes queued or in flight; limits {} / {})",
                    len, used, self.max_len, self.max_bytes
                ),
            ));
        }
        Ok(())
    }

    fn release(&self, bytes: usize) {
        self.len.fetch_sub(1, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// A Redis server connection: a handle to its dispatcher task.
pub struct RedisLink {
    tx: mpsc::UnboundedSender<Msg>,
    budget: Arc<Budget>,
    /// Present when the client fails over to memory (`options.fallback`).
    router: Option<Arc<Router>>,
    metrics: Option<Arc<crate::metrics::CommandMetrics>>,
}

/// The runtime every connection runs on: ONE thread with a current-thread tokio runtime.
/// The dispatcher task and redis-rs's connection driver then hand commands and replies
/// to each other without crossing threads; only `submit` (JS → this thread) and the
/// reply batch (this thread → JS) do. On a multi-thread runtime the two tasks land on
/// different workers and every command pays extra cross-thread wake-ups.
pub(crate) fn runtime() -> &'static tokio::runtime::Handle {
    static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("building the Redis client runtime (a tokio current-thread runtime) failed");
        let handle = runtime.handle().clone();
        handle.spawn(spin::Spin::run());
        std::thread::Builder::new()
            .name("bulwark-redis".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .expect("spawning the Redis client thread failed");
        handle
    })
}

impl RedisLink {
    /// Starts the dispatcher task on the client runtime; it begins connecting at once.
    pub fn start(options: ClientOptions, sink: Arc<dyn Sink>) -> Self {
        let budget = Arc::new(Budget {
            len: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            max_len: options.max_queue_len,
            max_bytes: options.max_queue_bytes,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        sentinel::watch(&options, tx.downgrade());
        let db = Arc::new(AtomicU32::new(options.db));
        let router = options
            .fallback
            .as_ref()
            .map(|f| Router::new(f, db.clone(), false, sink.clone()));
        let metrics = options.metrics.clone();
        if let (Some(router), Some(metrics)) = (&router, &metrics) {
            router.set_metrics(metrics.clone());
        }
        let dispatcher = link::Dispatcher::new(
            options,
            db,
            sink.clone(),
            rx,
            budget.clone(),
            router.clone(),
        );
        runtime().spawn(async move {
            // A bug must not strand the caller's pending commands: report it and end, so
            // the owner fails whatever is still waiting.
            if AssertUnwindSafe(dispatcher.run())
                .catch_unwind()
                .await
                .is_err()
            {
                sink.deliver(Delivery::Event(Event::Error {
                    code: "ERR_BULWARK_PANIC".into(),
                    message:
                        "internal error in the Redis client (a Rust panic); the client has ended"
                            .into(),
                }));
                sink.deliver(Delivery::Event(Event::End));
            }
        });
        Self {
            tx,
            budget,
            router,
            metrics,
        }
    }

    /// Checks and budgets one command (the client thread decodes it).
    fn admit(&self, encoded: &[u8]) -> Result<(), Failure> {
        if !args::well_formed(encoded) {
            return Err(Failure::new(
                FailureKind::BadArguments,
                "malformed argument buffer",
            ));
        }
        self.budget.reserve(encoded.len())
    }

    fn send(&self, msg: Msg) -> Result<(), Failure> {
        self.tx.send(msg).map_err(|_| closed())
    }

    /// Hands a batch to the dispatcher; when it has ended, the batch fails at once.
    /// `long`: the batch holds a script run long enough that the client thread should
    /// sleep rather than poll until its reply ([`spin`]).
    fn send_commands(&self, bytes: Vec<u8>, long: bool) -> Vec<Completion> {
        spin::Spin::touch(long);
        let submitted = self.metrics.as_ref().map(|_| Instant::now());
        match self.tx.send(Msg::Commands(Encoded { bytes, submitted })) {
            Ok(()) => Vec::new(),
            Err(mpsc::error::SendError(Msg::Commands(batch))) => batch
                .commands()
                .map(|(id, flags, bytes)| {
                    self.budget.release(bytes);
                    failed(id, flags, closed())
                })
                .collect(),
            Err(_) => unreachable!("the channel hands back the message it was given"),
        }
    }
}

fn closed() -> Failure {
    Failure::new(FailureKind::Closed, "Connection is closed.")
}

/// One entry of a command batch: `(id, flags, encoded arguments)`, or the id of a
/// malformed entry (which ends the batch).
type Entry<'a> = Result<(u32, u8, &'a [u8]), u32>;

/// Bytes before an entry's arguments: its id, flags and length.
const ENTRY_HEADER: usize = 12;

/// Splits a batch: each entry is `id: u32 LE`, `flags: u32 LE`, `len: u32 LE`, then
/// `len` bytes of [`args`] encoding.
pub(crate) fn entries(mut encoded: &[u8]) -> impl Iterator<Item = Entry<'_>> {
    std::iter::from_fn(move || {
        if encoded.len() < ENTRY_HEADER {
            return None;
        }
        let word = |at: usize| {
            u32::from_le_bytes([
                encoded[at],
                encoded[at + 1],
                encoded[at + 2],
                encoded[at + 3],
            ])
        };
        let (id, flags, len) = (word(0), word(4) as u8, word(8) as usize);
        match encoded.get(ENTRY_HEADER..ENTRY_HEADER + len) {
            Some(args) => {
                encoded = &encoded[ENTRY_HEADER + len..];
                Some(Ok((id, flags, args)))
            }
            None => {
                encoded = &[];
                Some(Err(id))
            }
        }
    })
}

fn failed(id: u32, flags: u8, failure: Failure) -> Completion {
    Completion {
        id,
        flags,
        outcome: Err(failure),
    }
}

/// Where a client's commands go: a Redis server (failing over to the memory engine
/// when `options.fallback` is set), or the memory engine alone (`memory://`), which
/// answers on the caller's thread with no task hop.
pub enum Backend {
    /// A Redis server behind one multiplexed connection.
    Redis(RedisLink),
    /// The in-process memory engine only.
    Memory(Arc<Router>),
}

impl Backend {
    /// A memory-only client: announces `connect` and `ready` through `sink` at once.
    pub fn memory(options: &FallbackOptions, db: u32, sink: Arc<dyn Sink>) -> Backend {
        let router = Router::new(options, Arc::new(AtomicU32::new(db)), true, sink);
        router.notify(Delivery::Event(Event::Connect));
        router.notify(Delivery::Event(Event::Ready));
        Backend::Memory(router)
    }

    /// The failover switch, when there is one.
    pub fn router(&self) -> Option<&Arc<Router>> {
        match self {
            Backend::Redis(link) => link.router.as_ref(),
            Backend::Memory(router) => Some(router),
        }
    }

    /// Commands queued or in flight on the Redis connection (0 for a memory client).
    pub fn pending(&self) -> usize {
        match self {
            Backend::Redis(link) => link.budget.len.load(Ordering::Relaxed),
            Backend::Memory(_) => 0,
        }
    }

    /// Queues or runs a batch of commands (see [`entries`] for the encoding). Returns
    /// the completions known at once: replies from the memory engine and commands that
    /// could not be queued; every other command completes later through the sink. One
    /// batch costs one wake-up of the dispatcher however many commands it holds.
    pub fn submit_batch(&self, encoded: &[u8]) -> Vec<Completion> {
        let mut now = Vec::new();
        let router = self.router();
        let mut route = router.map(|r| r.lock());
        let mode = route.as_ref().map_or(fallback::Mode::Redis, |r| r.mode);
        let mut batch: Vec<u8> = Vec::new();
        let mut long = false;
        // Where the current entry starts in `encoded`: an admitted one is copied as is.
        let mut at = 0;
        for entry in entries(encoded) {
            let (id, flags, args) = match entry {
                Ok(entry) => entry,
                Err(id) => {
                    let failure =
                        Failure::new(FailureKind::BadArguments, "malformed command batch");
                    now.push(failed(id, 0, failure));
                    break;
                }
            };
            match (mode, self, &mut route, router) {
                (fallback::Mode::Memory, _, Some(route), Some(router)) => {
                    now.push(router.execute(route, id, flags, args));
                }
                (fallback::Mode::Closed, ..) | (_, Backend::Memory(_), ..) => {
                    now.push(failed(id, flags, closed()));
                }
                (_, Backend::Redis(link), ..) => {
                    if let Some(router) = router {
                        router.note_encoded_script(args);
                    }
                    match link.admit(args) {
                        Ok(()) => {
                            long |= args::long_script(args);
                            if batch.is_empty() {
                                batch.reserve(encoded.len());
                            }
                            batch.extend_from_slice(&encoded[at..at + ENTRY_HEADER + args.len()]);
                        }
                        Err(failure) => now.push(failed(id, flags, failure)),
                    }
                }
            }
            at += ENTRY_HEADER + args.len();
        }
        if let (Backend::Redis(link), false) = (self, batch.is_empty()) {
            // Sent while the routing lock is held: a flip to memory cannot overtake it.
            now.extend(link.send_commands(batch, long));
        }
        drop(route);
        now
    }

    /// `QUIT`: replies already queued are delivered first, then the client ends; the
    /// completion for `id` is `OK`.
    pub fn quit(&self, id: u32, flags: u8) -> Result<(), Failure> {
        match self {
            Backend::Redis(link) => {
                if let Some(router) = &link.router {
                    router.close();
                }
                link.send(Msg::Quit { id, flags })
            }
            Backend::Memory(router) => {
                let ok = Completion {
                    id,
                    flags,
                    outcome: Ok(Reply::Status("OK".into())),
                };
                router.notify(Delivery::Completions(vec![ok]));
                Self::end_memory(router);
                Ok(())
            }
        }
    }

    fn end_memory(router: &Router) {
        router.notify(Delivery::Event(Event::Close {
            retry_attempt: None,
        }));
        router.notify(Delivery::Event(Event::End));
        router.close();
    }

    /// Closes the connection now (in-flight commands fail as aborted); reconnects
    /// when `reconnect` is true, else the client ends.
    pub fn disconnect(&self, reconnect: bool) {
        match self {
            Backend::Redis(link) => {
                if let (Some(router), false) = (&link.router, reconnect) {
                    router.close();
                }
                // A closed channel means the task already ended: nothing left to close.
                drop(link.send(Msg::Disconnect { reconnect }))
            }
            Backend::Memory(router) if router.closed() => {}
            Backend::Memory(router) if reconnect => {
                for event in [
                    Event::Close {
                        retry_attempt: None,
                    },
                    Event::Connecting,
                    Event::Connect,
                    Event::Ready,
                ] {
                    router.notify(Delivery::Event(event));
                }
            }
            Backend::Memory(router) => Self::end_memory(router),
        }
    }

    /// Answers an [`Event::Close`] that asked for a decision: reconnect after `delay`,
    /// or end when `None`.
    pub fn retry(&self, delay: Option<Duration>) {
        if let Backend::Redis(link) = self {
            drop(link.send(Msg::Retry(delay)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc as std_mpsc;

    /// A real redis-server on a free loopback port, killed on drop.
    struct Server(Child, u16);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn start_server() -> Option<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Server(child, port);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }

    struct ChannelSink(parking_lot::Mutex<std_mpsc::Sender<Delivery>>);

    impl Sink for ChannelSink {
        fn deliver(&self, delivery: Delivery) {
            let _ = self.0.lock().send(delivery);
        }
    }

    /// One batch entry (id, flags 0) around encoded arguments.
    fn entry(id: u32, args: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(args.len() as u32).to_le_bytes());
        out.extend_from_slice(args);
        out
    }

    fn next_completions(rx: &std_mpsc::Receiver<Delivery>, want: usize) -> Vec<Completion> {
        let mut out = Vec::new();
        while out.len() < want {
            match rx
                .recv_timeout(Duration::from_secs(10))
                .expect("delivery within 10 s")
            {
                Delivery::Completions(batch) => out.extend(batch),
                Delivery::Event(_) | Delivery::Message { .. } => {}
            }
        }
        out
    }

    #[test]
    fn dispatches_batches_and_quits_against_a_real_server() {
        let Some(server) = start_server() else {
            eprintln!("redis-server not available; skipping");
            return;
        };
        let (tx, rx) = std_mpsc::channel();
        let options = ClientOptions {
            address: Address::Tcp {
                host: "127.0.0.1".into(),
                port: server.1,
            },
            ..ClientOptions::default()
        };
        let backend = Backend::Redis(RedisLink::start(
            options,
            Arc::new(ChannelSink(parking_lot::Mutex::new(tx))),
        ));
        let mut batch = Vec::new();
        for (id, cmd) in [
            (1u32, vec!["SET", "k", "v"]),
            (2, vec!["GET", "k"]),
            (3, vec!["LPUSH", "k", "x"]),
            (4, vec!["INCR", "n"]),
        ] {
            batch.extend(entry(id, &args::encode(&cmd)));
        }
        assert!(backend.submit_batch(&batch).is_empty());
        let mut done = next_completions(&rx, 4);
        done.sort_by_key(|c| c.id);
        assert_eq!(done[0].outcome, Ok(Reply::Status("OK".into())));
        assert_eq!(done[1].outcome, Ok(Reply::Bulk(b"v".to_vec())));
        assert!(
            matches!(&done[2].outcome, Ok(Reply::Error(text)) if text.starts_with("WRONGTYPE"))
        );
        assert_eq!(done[3].outcome, Ok(Reply::Int(1)));
        let refused = backend.submit_batch(&entry(9, &[1, 0]));
        assert_eq!(
            refused[0].outcome.as_ref().unwrap_err().kind,
            FailureKind::BadArguments,
            "a truncated argument buffer is refused"
        );
        backend.quit(5, 0).unwrap();
        let quit = next_completions(&rx, 1);
        assert_eq!(quit[0].outcome, Ok(Reply::Status("OK".into())));
        // After the end every submission fails at once.
        let late = backend.submit_batch(&entry(6, &args::encode(&["PING"])));
        std::thread::sleep(Duration::from_millis(100));
        let after = backend.submit_batch(&entry(7, &args::encode(&["PING"])));
        assert!(!late.is_empty() || !after.is_empty());
    }

    #[test]
    fn budget_refuses_beyond_its_bounds() {
        let budget = Budget {
            len: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            max_len: 2,
            max_bytes: 100,
        };
        assert!(budget.reserve(10).is_ok());
        assert!(budget.reserve(95).is_err(), "bytes bound");
        assert!(budget.reserve(10).is_ok());
        assert_eq!(budget.reserve(1).unwrap_err().kind, FailureKind::QueueFull);
        budget.release(10);
        assert!(budget.reserve(1).is_ok());
    }
}
