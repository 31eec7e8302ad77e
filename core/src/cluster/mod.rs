//! Redis Cluster client: routes each command to the node serving its first key's slot,
//! follows MOVED/ASK, retries TRYAGAIN/CLUSTERDOWN and lost connections with ioredis's
//! delays, and refreshes the slot map (coalesced) when it learns it is stale.
//!
//! Built on the existing connection layer: every node is one ordinary [`RedisLink`]
//! (multiplexed, pipelined, reconnecting), fed through [`Backend::submit_batch`] and
//! answering into a per-node [`Sink`] that decides whether a reply is final or must be
//! re-sent elsewhere. redis-rs's `cluster-async` was not used: its routing, retry
//! delays (≥1.28 s) and cross-slot pipeline rules differ from ioredis's (see
//! docs/cluster.md).

mod outage;
mod questions;
pub mod slot;
pub mod topology;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use crate::client::{
    args, entries, runtime, Backend, ClientOptions, Completion, Delivery, Event, Failure,
    FailureKind, FallbackOptions, RedisLink, Router, Sink,
};
use crate::Reply;
pub use questions::Answer;
use questions::Questions;
use topology::Range;

/// Where `scaleReads` sends read-only commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleReads {
    /// Always the primary (default).
    Master,
    /// A random replica of the slot, the primary when it has none.
    Slave,
    /// A random node of the slot, primary included.
    All,
    /// The caller picks the node of each read ([`ClusterLink::pin_next_batch`]); replicas
    /// are put in READONLY mode as for `Slave`.
    Custom,
}

/// Cluster settings (ioredis's `ClusterOptions`, already validated by the facade).
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Startup nodes as `host:port`.
    pub startup: Vec<String>,
    /// Connection settings of every node (the address is replaced per node).
    pub node: ClientOptions,
    /// Redirection budget per command (MOVED, ASK, TRYAGAIN, CLUSTERDOWN).
    pub max_redirections: u32,
    /// Delay before re-sending after a MOVED.
    pub retry_delay_on_moved: Duration,
    /// Delay before re-sending after a lost connection.
    pub retry_delay_on_failover: Duration,
    /// Delay before re-sending after CLUSTERDOWN.
    pub retry_delay_on_cluster_down: Duration,
    /// Delay before re-sending after TRYAGAIN.
    pub retry_delay_on_try_again: Duration,
    /// Deadline of one CLUSTER SLOTS attempt.
    pub slots_refresh_timeout: Duration,
    /// Periodic slot refresh (off by default, as in ioredis 5).
    pub slots_refresh_interval: Option<Duration>,
    /// Replica reads.
    pub scale_reads: ScaleReads,
    /// How long a command keeps waiting for its slot's node across lost connections
    /// (a failover) before it fails with the last error.
    pub failover_deadline: Duration,
    /// Announced address → reachable address (`natMap`), `host:port` both.
    pub nat: Vec<(String, String)>,
    /// `natMap` is a JS function: each new announced address is asked (`natMap` event).
    pub nat_function: bool,
    /// A JS `dnsLookup` resolves startup hostnames (`dnsLookup` event).
    pub dns_lookup: bool,
    /// Queue commands until the slot map is known (`enableOfflineQueue`).
    pub offline_queue: bool,
    /// Answer from the memory engine while no node of the cluster answers.
    pub fallback: Option<FallbackOptions>,
}

/// Ids the cluster sends on its own behalf (ASKING, READONLY); callers' ids are below.
const INTERNAL: u32 = 0x8000_0000;
/// How long `disconnect()` lets replies already owed arrive (ioredis half-closes).
const DISCONNECT_GRACE: Duration = Duration::from_secs(1);

/// A caller's command while it is routed (and possibly re-sent).
struct Job {
    id: u32,
    flags: u32,
    /// Encoded arguments ([`args`] encoding), kept to re-send.
    args: Vec<u8>,
    slot: Option<u16>,
    readonly: bool,
    redirections: u32,
    /// Send `ASKING` first, to this node.
    ask: Option<String>,
    /// The node the caller chose (a custom `scaleReads`), until a redirection.
    pin: Option<String>,
    /// When the first lost connection was seen (bounds failover waits).
    lost_since: Option<Instant>,
    /// Part of MULTI…EXEC: a redirect or lost connection fails the transaction; one
    /// command re-sent alone would run outside it.
    in_tx: bool,
    /// The transaction (MULTI…EXEC) it belongs to: its replies are held until EXEC's.
    tx: Option<u64>,
    /// The EXEC or DISCARD closing `tx`.
    closes_tx: bool,
}

struct Node {
    addr: String,
    link: Backend,
}

/// A slot's primary and replicas (`host:port`).
type Shard = Arc<(String, Vec<String>)>;

/// An open MULTI across batches: held jobs, and (MULTI's index, the transaction's slot,
/// its id).
type OpenTransaction = (Vec<Job>, Option<(usize, Option<u16>, u64)>);

/// The last error on the way to the cluster, as ioredis's `lastNodeError`.
#[derive(Debug, Clone)]
struct LastError {
    /// The node that gave it, `host:port` (empty when none did, e.g. a `dnsLookup`).
    node: String,
    /// Node-style code (`ECONNREFUSED`, or a reply's first word such as `ERR`), or empty.
    code: String,
    message: String,
}

impl LastError {
    fn new(node: &str, (code, message): (String, String)) -> Self {
        Self {
            node: node.to_owned(),
            code,
            message,
        }
    }

    /// `host:port: message`: the `clusterRetryStrategy` reason, the outage's message.
    fn reason(&self) -> String {
        if self.node.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.node, self.message)
        }
    }
}

#[derive(Default)]
struct Map {
    /// Slot → (primary, replicas).
    slots: Vec<Option<Shard>>,
    nodes: HashMap<String, Arc<Node>>,
    masters: Vec<String>,
}

/// Scheduler passes (each polls I/O) that nodes' replies wait for the replies of other
/// nodes before going to JS together: two cover a node's socket being read, then its
/// replies being handed to its dispatcher.
const GATHER_PASSES: usize = 2;

/// The facade's sink.
///
/// Let go of at `end`: it keeps Node alive while held (a thread-safe function), and
/// `Shared` itself lives until JS collects the client object, which an idle process may
/// never do.
///
/// Nodes' replies are gathered for [`GATHER_PASSES`] passes of the client thread's
/// scheduler, so the replies of every node that answered meanwhile reach JS in one
/// batch: at concurrency 16 over 3 primaries each node's replies were a delivery of ~4
/// completions, each a wake-up of Node's thread.
struct JsSink(Mutex<JsOut>);

struct JsOut {
    sink: Option<Arc<dyn Sink>>,
    /// Gathered completions, delivered before anything else goes out.
    held: Vec<Completion>,
    /// A task will deliver `held`.
    flush_queued: bool,
}

impl JsSink {
    fn new(sink: Arc<dyn Sink>) -> Self {
        JsSink(Mutex::new(JsOut {
            sink: Some(sink),
            held: Vec::new(),
            flush_queued: false,
        }))
    }

    fn release(&self) {
        let mut out = self.0.lock();
        out.flush();
        out.sink = None;
    }

    /// Holds `done` (on the client thread) until the gather passes end.
    fn deliver_soon(&self, shared: &Weak<Shared>, done: Vec<Completion>) {
        let mut out = self.0.lock();
        out.held.extend(done);
        if out.flush_queued {
            return;
        }
        out.flush_queued = true;
        let shared = shared.clone();
        runtime().spawn(async move {
            for _ in 0..GATHER_PASSES {
                tokio::task::yield_now().await;
            }
            if let Some(shared) = shared.upgrade() {
                shared.sink.0.lock().flush();
            }
        });
    }
}

impl JsOut {
    fn flush(&mut self) {
        self.flush_queued = false;
        if self.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        if let Some(sink) = &self.sink {
            sink.deliver(Delivery::Completions(held));
        }
    }
}

impl Sink for JsSink {
    fn deliver(&self, delivery: Delivery) {
        let mut out = self.0.lock();
        // In order: what was gathered goes first.
        out.flush();
        if let Some(sink) = &out.sink {
            sink.deliver(delivery);
        }
    }
}

struct Shared {
    options: ClusterOptions,
    sink: JsSink,
    me: Weak<Shared>,
    map: Mutex<Map>,
    inflight: Mutex<HashMap<u32, Job>>,
    /// Jobs waiting for the first slot map.
    waiting: Mutex<Option<Vec<Job>>>,
    refreshing: AtomicBool,
    closing: AtomicBool,
    /// An open MULTI across batches: jobs held until its slot is known, and its slot.
    transaction: Mutex<OpenTransaction>,
    transaction_ids: AtomicU64,
    /// Replies of transactions whose EXEC has not answered yet, in order.
    transaction_replies: Mutex<HashMap<u64, Vec<(Job, Completion)>>>,
    /// Questions to the facade's user functions (natMap, dnsLookup).
    questions: Questions,
    /// What a `natMap` function answered, per announced address (itself when unmapped).
    nat_learned: Mutex<HashMap<String, String>>,
    /// The caller's QUIT id once `quit()` was called.
    quit_id: Mutex<Option<u32>>,
    internal_ids: AtomicU32,
    random: AtomicU64,
    ended: AtomicBool,
    last_error: Mutex<Option<LastError>>,
    /// Startup nodes, `host:port` (a `clusterRetryStrategy` may replace them).
    startup: Mutex<Vec<String>>,
    /// The memory-engine switch (`fallback`).
    router: Option<Arc<Router>>,
    /// The last slot-map read failed on every node.
    unreachable: AtomicBool,
    /// `ready` was announced.
    ready: AtomicBool,
    /// The last event was a start-up attempt's `close` (ending must not announce another).
    closed: AtomicBool,
    /// Every node was lost once ready (no memory engine): clusterRetryStrategy decides.
    lost: AtomicBool,
    /// The JS `clusterRetryStrategy` decision for the failed start-up attempt: `Some(delay)`
    /// to try again, `None` to give up. Set by [`ClusterLink::retry`].
    decision: Mutex<Option<Option<Duration>>>,
    decided: Arc<Notify>,
    /// The strategy gave up while the memory engine answers: no probing until
    /// `disconnect(true)` (the JS `connect()`).
    gave_up: AtomicBool,
}

/// A cluster client: a handle to the routing state; nodes connect on their own tasks.
pub struct ClusterLink {
    shared: Arc<Shared>,
    /// Commands and closes for the client thread: reading and routing commands there
    /// leaves the JS thread a copy per batch (the reading was its largest native cost),
    /// and hands each node its commands without a cross-thread wake-up per node (on the
    /// JS thread, one per node and batch: ~3 writes to the runtime's eventfd per turn at
    /// 3 primaries).
    handed: mpsc::UnboundedSender<Handed>,
    /// Where the next submitted batch goes (a custom `scaleReads` choice), handed over
    /// with it.
    pin: Mutex<Option<String>>,
}

/// What the JS thread hands to the client thread ([`ClusterLink::hand`]).
enum Handed {
    /// A submitted batch, with the node the caller chose for it (a custom `scaleReads`).
    Batch(Vec<u8>, Option<String>),
    Quit(u32),
    Disconnect,
}

/// What a node's reply means for its command.
enum Next {
    Done,
    Moved(u16, String),
    Ask(String),
    TryAgain,
    ClusterDown,
    Lost,
}

fn classify(outcome: &Result<Reply, Failure>) -> Next {
    match outcome {
        Ok(Reply::Error(e)) => {
            let mut words = e.split(' ');
            match words.next() {
                Some("MOVED") => match (words.next().and_then(|s| s.parse().ok()), words.next()) {
                    (Some(slot), Some(addr)) => Next::Moved(slot, addr.to_owned()),
                    _ => Next::Done,
                },
                Some("ASK") => match words.nth(1) {
                    Some(addr) => Next::Ask(addr.to_owned()),
                    None => Next::Done,
                },
                Some("TRYAGAIN") => Next::TryAgain,
                Some("CLUSTERDOWN") => Next::ClusterDown,
                _ => Next::Done,
            }
        }
        Err(Failure {
            kind: FailureKind::Aborted | FailureKind::MaxRetries | FailureKind::Closed,
            ..
        }) => Next::Lost,
        _ => Next::Done,
    }
}

fn encode_entry(out: &mut Vec<u8>, id: u32, flags: u32, args: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&(args.len() as u32).to_le_bytes());
    out.extend_from_slice(args);
}

/// Forwards a node's deliveries to the cluster, tagged with the node's address.
struct NodeSink {
    shared: Weak<Shared>,
    addr: String,
}

impl Sink for NodeSink {
    fn deliver(&self, delivery: Delivery) {
        if let Some(shared) = self.shared.upgrade() {
            shared.on_node(&self.addr, delivery);
        }
    }
}

impl Shared {
    fn next_random(&self) -> u64 {
        // xorshift: spreads keyless commands and replica reads; no crypto needed.
        let mut x = self.random.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random.store(x, Ordering::Relaxed);
        x
    }

    fn nat(&self, addr: String) -> String {
        if let Some((_, to)) = self.options.nat.iter().find(|(from, _)| *from == addr) {
            return to.clone();
        }
        match self.nat_learned.lock().get(&addr) {
            Some(to) => to.clone(),
            None => addr,
        }
    }

    /// Asks the `natMap` function about each address it has not mapped yet.
    async fn learn_nat(&self, addresses: Vec<String>) {
        for addr in addresses {
            if self.nat_learned.lock().contains_key(&addr) {
                continue;
            }
            let answer = self.questions.ask(&self.sink, "natMap", &addr).await;
            // No answer (or an error): the address is used as announced, as in ioredis.
            let to = match answer {
                Some(Ok(Some(to))) => to,
                _ => addr.clone(),
            };
            self.nat_learned.lock().insert(addr, to);
        }
    }

    /// `addr` with its host resolved by the `dnsLookup` function (startup nodes given by
    /// name); `Err` carries the function's error.
    async fn resolve(&self, addr: &str) -> Result<String, String> {
        let Some((host, port)) = topology::split(addr) else {
            return Ok(addr.to_owned());
        };
        if !self.options.dns_lookup || host.parse::<std::net::IpAddr>().is_ok() {
            return Ok(addr.to_owned());
        }
        match self.questions.ask(&self.sink, "dnsLookup", &host).await {
            Some(Ok(Some(ip))) => Ok(format!("{ip}:{port}")),
            Some(Err(e)) => Err(e),
            _ => Err(format!("dnsLookup gave no address for {host}")),
        }
    }

    /// The node at `addr`, connecting to it when new.
    fn node(&self, map: &mut Map, addr: &str) -> Option<Arc<Node>> {
        if let Some(node) = map.nodes.get(addr) {
            return Some(node.clone());
        }
        if self.closing.load(Ordering::Relaxed) {
            return None;
        }
        let (host, port) = topology::split(addr)?;
        let options = ClientOptions {
            address: crate::client::Address::Tcp { host, port },
            fallback: None,
            sentinel: None,
            subscriber: false,
            // Commands queued for a node that cannot be reached come back at every
            // failed attempt, so they can follow the slot to its new owner.
            max_retries_per_request: Some(0),
            offline_queue: true,
            ..self.options.node.clone()
        };
        let sink = Arc::new(NodeSink {
            shared: self.me.clone(),
            addr: addr.to_owned(),
        });
        let node = Arc::new(Node {
            addr: addr.to_owned(),
            link: Backend::Redis(RedisLink::start(options, sink)),
        });
        map.nodes.insert(addr.to_owned(), node.clone());
        Some(node)
    }

    /// Where `job` goes now.
    fn target(&self, map: &mut Map, job: &Job) -> Option<Arc<Node>> {
        if let Some(addr) = job.ask.as_ref().or(job.pin.as_ref()) {
            return self.node(map, addr);
        }
        let shard = job
            .slot
            .and_then(|s| map.slots.get(usize::from(s)).cloned().flatten());
        let addr = match shard {
            Some(shard) => {
                let (master, replicas) = &*shard;
                match (job.readonly, self.options.scale_reads) {
                    (true, ScaleReads::Slave) if !replicas.is_empty() => {
                        replicas[self.next_random() as usize % replicas.len()].clone()
                    }
                    (true, ScaleReads::All) => {
                        let pick = self.next_random() as usize % (replicas.len() + 1);
                        if pick == 0 {
                            master.clone()
                        } else {
                            replicas[pick - 1].clone()
                        }
                    }
                    _ => master.clone(),
                }
            }
            None if !map.masters.is_empty() => {
                map.masters[self.next_random() as usize % map.masters.len()].clone()
            }
            None => return None,
        };
        self.node(map, &addr)
    }

    /// Sends jobs to their nodes, one batch per node.
    fn dispatch(&self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        if self.closing.load(Ordering::Relaxed) {
            self.fail(jobs, FailureKind::Closed, "Connection is closed.");
            return;
        }
        {
            let mut waiting = self.waiting.lock();
            if let Some(queue) = waiting.as_mut() {
                if self.options.offline_queue {
                    queue.extend(jobs);
                } else {
                    drop(waiting);
                    self.fail(
                        jobs,
                        FailureKind::OfflineQueueDisabled,
                        "Cluster isn't ready and enableOfflineQueue options is false",
                    );
                }
                return;
            }
        }
        if self.on_memory() {
            self.run_in_memory(jobs);
            return;
        }
        let mut batches: HashMap<String, (Arc<Node>, Vec<u8>)> = HashMap::new();
        let mut unroutable = Vec::new();
        {
            let mut map = self.map.lock();
            let mut inflight = self.inflight.lock();
            for job in jobs {
                let Some(node) = self.target(&mut map, &job) else {
                    unroutable.push(job);
                    continue;
                };
                let entry = batches
                    .entry(node.addr.clone())
                    .or_insert_with(|| (node.clone(), Vec::new()));
                if job.ask.is_some() {
                    let asking = INTERNAL | self.internal_ids.fetch_add(1, Ordering::Relaxed);
                    encode_entry(&mut entry.1, asking, 0, &args::encode(&[b"asking"]));
                }
                encode_entry(&mut entry.1, job.id, job.flags, &job.args);
                inflight.insert(job.id, job);
            }
        }
        for job in unroutable {
            self.refresh_soon();
            self.later(job, self.options.retry_delay_on_failover);
        }
        for (_, (node, batch)) in batches {
            let now = node.link.submit_batch(&batch);
            if !now.is_empty() {
                self.completions(now);
            }
        }
    }

    fn fail(&self, jobs: Vec<Job>, kind: FailureKind, message: &str) {
        let done = jobs
            .into_iter()
            .map(|job| Completion {
                id: job.id,
                flags: job.flags as u8,
                outcome: Err(Failure {
                    kind,
                    message: message.to_owned(),
                }),
            })
            .collect();
        self.sink.deliver(Delivery::Completions(done));
    }

    /// Re-sends `job` after `delay`.
    fn later(&self, job: Job, delay: Duration) {
        let me = self.me.clone();
        runtime().spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if let Some(shared) = me.upgrade() {
                shared.dispatch(vec![job]);
            }
        });
    }

    /// Completions from a node (all on the client thread, where routing runs): final ones
    /// go to the caller gathered with other nodes', the rest are re-routed.
    fn completions(&self, batch: Vec<Completion>) {
        let mut done = Vec::with_capacity(batch.len());
        let mut now = Vec::new();
        for completion in batch {
            if completion.id & INTERNAL != 0 {
                continue;
            }
            let Some(mut job) = self.inflight.lock().remove(&completion.id) else {
                continue;
            };
            if let (true, Some(tx)) = (job.in_tx, job.tx) {
                self.transaction_reply(tx, job, completion, &mut done, &mut now);
                continue;
            }
            let next = classify(&completion.outcome);
            if matches!(next, Next::Done) || job.in_tx {
                done.push(completion);
                continue;
            }
            // A lost node or a cluster down during a failover: wait for the new topology
            // (bounded by the failover deadline, not the redirection budget: 16 × 100 ms
            // is shorter than a promotion).
            if let Next::Lost | Next::ClusterDown = next {
                let since = *job.lost_since.get_or_insert_with(Instant::now);
                if let Some(router) = &self.router {
                    // Every node unreachable for the fallback timeout: memory answers.
                    if self.unreachable.load(Ordering::Acquire)
                        && since.elapsed() >= router.timeout()
                    {
                        self.degrade();
                    }
                    if self.on_memory() {
                        now.push(job);
                        continue;
                    }
                }
                if since.elapsed() >= self.options.failover_deadline
                    || self.closing.load(Ordering::Relaxed)
                {
                    done.push(completion);
                } else {
                    self.refresh_soon();
                    job.ask = None;
                    job.pin = None;
                    let delay = match next {
                        Next::ClusterDown => self.options.retry_delay_on_cluster_down,
                        _ => self.options.retry_delay_on_failover,
                    };
                    self.later(job, delay);
                }
                continue;
            }
            job.redirections += 1;
            if job.redirections > self.options.max_redirections {
                let last = match &completion.outcome {
                    Ok(Reply::Error(e)) => e.clone(),
                    _ => String::new(),
                };
                done.push(Completion {
                    outcome: Ok(Reply::Error(format!(
                        "Too many Cluster redirections. Last error: ReplyError: {last}"
                    ))),
                    ..completion
                });
                continue;
            }
            job.ask = None;
            job.pin = None;
            match next {
                Next::Moved(slot, addr) => {
                    self.moved(slot, addr);
                    if self.options.retry_delay_on_moved.is_zero() {
                        now.push(job);
                    } else {
                        self.later(job, self.options.retry_delay_on_moved);
                    }
                }
                Next::Ask(addr) => {
                    job.ask = Some(self.nat(addr));
                    now.push(job);
                }
                Next::TryAgain => self.later(job, self.options.retry_delay_on_try_again),
                Next::Done | Next::Lost | Next::ClusterDown => unreachable!("handled above"),
            }
        }
        if !done.is_empty() {
            self.sink.deliver_soon(&self.me, done);
        }
        self.dispatch(now);
    }

    /// A MOVED: `slot` is served by `addr` now (until the refresh this starts says more).
    fn moved(&self, slot: u16, addr: String) {
        let addr = self.nat(addr);
        {
            let mut map = self.map.lock();
            let replicas = map
                .slots
                .get(usize::from(slot))
                .cloned()
                .flatten()
                .map(|s| s.1.clone())
                .unwrap_or_default();
            if let Some(entry) = map.slots.get_mut(usize::from(slot)) {
                *entry = Some(Arc::new((addr, replicas)));
            }
        }
        self.refresh_soon();
    }

    /// A reply of transaction `tx`, held until its EXEC's. When every error in it is the
    /// same MOVED or ASK (EXEC then says EXECABORT), the whole transaction is sent again
    /// where that names, as ioredis does; otherwise every reply goes to the caller.
    fn transaction_reply(
        &self,
        tx: u64,
        job: Job,
        completion: Completion,
        done: &mut Vec<Completion>,
        now: &mut Vec<Job>,
    ) {
        let mut replies = self.transaction_replies.lock();
        let closes = job.closes_tx;
        replies.entry(tx).or_default().push((job, completion));
        if !closes {
            return;
        }
        let replies = replies.remove(&tx).unwrap_or_default();
        let redirections = replies.last().map_or(0, |(job, _)| job.redirections) + 1;
        let next = match Self::transaction_redirect(&replies) {
            Some(next) if redirections <= self.options.max_redirections => next,
            _ => {
                done.extend(replies.into_iter().map(|(_, completion)| completion));
                return;
            }
        };
        let target = match next {
            Next::Moved(slot, addr) => {
                self.moved(slot, addr);
                None
            }
            Next::Ask(addr) => Some(self.nat(addr)),
            _ => unreachable!("transaction_redirect returns MOVED or ASK"),
        };
        for (i, (mut job, _)) in replies.into_iter().enumerate() {
            job.redirections = redirections;
            // ASK: ASKING before MULTI (as ioredis), every command to the node named.
            job.ask = target.clone().filter(|_| i == 0);
            job.pin = target.clone().filter(|_| i > 0);
            now.push(job);
        }
    }

    /// The MOVED or ASK every error of a transaction's replies is, if so.
    fn transaction_redirect(replies: &[(Job, Completion)]) -> Option<Next> {
        let mut error: Option<&str> = None;
        for (job, completion) in replies {
            match &completion.outcome {
                Ok(Reply::Error(e)) if job.closes_tx && e.starts_with("EXECABORT") => {}
                Ok(Reply::Error(e)) if error.is_none_or(|seen| seen == e) => error = Some(e),
                Ok(Reply::Error(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
        match classify(&Ok(Reply::Error(error?.to_owned()))) {
            next @ (Next::Moved(..) | Next::Ask(_)) => Some(next),
            _ => None,
        }
    }

    fn on_node(&self, addr: &str, delivery: Delivery) {
        match delivery {
            Delivery::Completions(batch) => self.completions(batch),
            Delivery::Event(Event::Close {
                retry_attempt: Some(n),
            }) => {
                let node = self.map.lock().nodes.get(addr).cloned();
                if let Some(node) = node {
                    let gone = self.closing.load(Ordering::Relaxed)
                        || !self
                            .map
                            .lock()
                            .slots
                            .iter()
                            .flatten()
                            .any(|s| s.0 == addr || s.1.iter().any(|r| r == addr));
                    if gone {
                        // Not serving any slot any more (failed over, removed): let it go.
                        node.link.retry(None);
                    } else {
                        // Short and capped: commands queued on a dead primary come back at
                        // each failed attempt, to follow its slots to the promoted replica.
                        node.link
                            .retry(Some(Duration::from_millis(u64::from(n.min(4)) * 50)));
                    }
                }
                self.refresh_soon();
            }
            Delivery::Event(Event::Error { code, message }) => {
                // As ioredis: a node's error is `node error`; `error` is for the cluster.
                self.node_failed(LastError::new(addr, (code, message)));
            }
            Delivery::Event(Event::Ready) => {
                // A replica serves reads only after READONLY (per connection).
                let replica = self.options.scale_reads != ScaleReads::Master
                    && self
                        .map
                        .lock()
                        .slots
                        .iter()
                        .flatten()
                        .any(|s| s.1.iter().any(|r| r == addr));
                if replica {
                    if let Some(node) = self.map.lock().nodes.get(addr).cloned() {
                        let mut batch = Vec::new();
                        let id = INTERNAL | self.internal_ids.fetch_add(1, Ordering::Relaxed);
                        encode_entry(&mut batch, id, 0, &args::encode(&[b"readonly"]));
                        node.link.submit_batch(&batch);
                    }
                }
            }
            Delivery::Event(Event::End) => {
                let removed = self.map.lock().nodes.remove(addr);
                drop(removed);
                if self.closing.load(Ordering::Relaxed) && self.map.lock().nodes.is_empty() {
                    self.finish();
                }
            }
            _ => {}
        }
    }

    /// ioredis's `enableReadyCheck`: CLUSTER INFO from the first primary that answers
    /// (each bounded by `slotsRefreshTimeout`); only `cluster_state:fail` is not ready.
    async fn ready_check(&self) -> bool {
        if !self.options.node.ready_check {
            return true;
        }
        let masters = self.map.lock().masters.clone();
        for addr in masters {
            let info =
                tokio::time::timeout(self.options.slots_refresh_timeout, self.cluster_info(&addr))
                    .await;
            if let Ok(Some(info)) = info {
                if info.contains("cluster_state:fail") {
                    *self.last_error.lock() = Some(LastError::new(
                        &addr,
                        (String::new(), "CLUSTER INFO: cluster_state:fail".into()),
                    ));
                    return false;
                }
                return true;
            }
        }
        true
    }

    /// One attempt to reach the cluster (start-up, or after every node was lost): `None`
    /// when the client is gone or closing, else whether a node gave the slot map and the
    /// ready check passed.
    async fn attempt(me: &Weak<Shared>) -> Option<(Arc<Shared>, bool)> {
        let shared = me.upgrade()?;
        if shared.closing.load(Ordering::Relaxed) {
            return None;
        }
        shared.closed.store(false, Ordering::Release);
        shared.sink.deliver(Delivery::Event(Event::Connecting));
        let up = shared.refresh_from(true).await && shared.ready_check().await;
        Some((shared, up))
    }

    /// A connect attempt found no node: `error`, then `close` asks the JS
    /// `clusterRetryStrategy(times)` ([`ClusterLink::retry`]). True after its delay (try
    /// again); false when it gave up ([`give_up`](Self::give_up) done) or the client went.
    async fn attempt_failed(me: &Weak<Shared>, times: u64) -> bool {
        let Some(shared) = me.upgrade() else {
            return false;
        };
        let last = shared.last_error.lock().clone();
        let last = last.unwrap_or_else(|| LastError::new("", (String::new(), String::new())));
        let event = if shared.unreachable.load(Ordering::Acquire) {
            // ioredis's ClusterAllFailedError: `Failed to refresh slots cache.` (the
            // facade's text) with the last node's error as `lastNodeError`.
            Event::Cluster {
                name: "all failed",
                node: last.node,
                code: last.code,
                message: last.message,
            }
        } else {
            // The slot map was read; the ready check failed (`cluster_state:fail`).
            Event::Error {
                code: "ECLUSTERDOWN".into(),
                message: format!("Cluster is not ready: {}", last.reason()),
            }
        };
        shared.sink.deliver(Delivery::Event(event));
        *shared.decision.lock() = None;
        shared.closed.store(true, Ordering::Release);
        shared.sink.deliver(Delivery::Event(Event::Close {
            retry_attempt: Some(u32::try_from(times).unwrap_or(u32::MAX)),
        }));
        let decided = shared.decided.clone();
        drop(shared);
        let delay = loop {
            // Bounded waits: a client dropped without deciding must not keep this task.
            let _ = tokio::time::timeout(Duration::from_secs(1), decided.notified()).await;
            let Some(shared) = me.upgrade() else {
                return false;
            };
            if shared.closing.load(Ordering::Relaxed) {
                return false;
            }
            let decision = shared.decision.lock().take();
            if let Some(decision) = decision {
                break decision;
            }
        };
        match delay {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                true
            }
            None => {
                if let Some(shared) = me.upgrade() {
                    shared.give_up();
                }
                false
            }
        }
    }

    /// Every node unreachable once ready, without the memory engine: as in ioredis, the
    /// cluster closes and `clusterRetryStrategy` decides each new attempt (`reconnecting`,
    /// then `connect`/`ready` when a node gives the slot map again) or gives up.
    fn lost_all(&self) {
        if self.router.is_some()
            || !self.ready.load(Ordering::Acquire)
            || self.closing.load(Ordering::Relaxed)
            || self.lost.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let me = self.me.clone();
        runtime().spawn(async move {
            let mut times: u64 = 0;
            loop {
                times += 1;
                if !Shared::attempt_failed(&me, times).await {
                    return;
                }
                let Some((shared, up)) = Shared::attempt(&me).await else {
                    return;
                };
                if up {
                    shared.lost.store(false, Ordering::Release);
                    shared.sink.deliver(Delivery::Event(Event::Connect));
                    shared.sink.deliver(Delivery::Event(Event::Ready));
                    return;
                }
            }
        });
    }

    /// The clusterRetryStrategy stopped the attempts. With the memory engine on, it keeps
    /// answering (no more probes until `connect()`); otherwise the commands waiting fail
    /// as in ioredis (`None of startup nodes is available`), the nodes close and the
    /// client ends.
    fn give_up(&self) {
        if self.router.is_some() {
            self.gave_up.store(true, Ordering::Release);
            return;
        }
        self.closing.store(true, Ordering::Release);
        if self.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut left = self.waiting.lock().take().unwrap_or_default();
        left.extend(self.inflight.lock().drain().map(|(_, job)| job));
        self.fail(
            left,
            FailureKind::Unavailable,
            "None of startup nodes is available",
        );
        let nodes: Vec<Arc<Node>> = self.map.lock().nodes.values().cloned().collect();
        for node in nodes {
            node.link.disconnect(false);
        }
        self.sink.deliver(Delivery::Event(Event::End));
        self.sink.release();
    }

    /// Every node ended after quit()/disconnect(): announce the end once.
    fn finish(&self) {
        if self.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        let waiting = self.waiting.lock().take().unwrap_or_default();
        let inflight: Vec<Job> = self.inflight.lock().drain().map(|(_, j)| j).collect();
        let mut left = waiting;
        left.extend(inflight);
        if !left.is_empty() {
            self.fail(left, FailureKind::Closed, "Connection is closed.");
        }
        // Transactions whose EXEC never came: their replies as they were.
        let held: Vec<Completion> = self
            .transaction_replies
            .lock()
            .drain()
            .flat_map(|(_, replies)| replies.into_iter().map(|(_, completion)| completion))
            .collect();
        if !held.is_empty() {
            self.sink.deliver(Delivery::Completions(held));
        }
        if let Some(id) = self.quit_id.lock().take() {
            self.sink.deliver(Delivery::Completions(vec![Completion {
                id,
                flags: 0,
                outcome: Ok(Reply::Status("OK".into())),
            }]));
        }
        if !self.closed.load(Ordering::Acquire) {
            self.sink.deliver(Delivery::Event(Event::Close {
                retry_attempt: None,
            }));
        }
        self.sink.deliver(Delivery::Event(Event::End));
        self.sink.release();
    }

    async fn refresh(&self) -> bool {
        self.refresh_from(false).await
    }

    /// Starts one slot-map refresh unless one is running.
    fn refresh_soon(&self) {
        if self.closing.load(Ordering::Relaxed) || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.me.clone();
        runtime().spawn(async move {
            // Coalesce the burst of errors one topology change causes.
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Some(shared) = me.upgrade() {
                let found = shared.refresh().await;
                shared.refreshing.store(false, Ordering::Release);
                if !found {
                    shared.lost_all();
                }
            }
        });
    }

    /// Reads the slot map from the first node that answers, known primaries (from a
    /// random one) then the startup nodes; a connect cycle (`from_startup`) starts from the
    /// startup nodes, as ioredis's does. True when a node gave the map.
    async fn refresh_from(&self, from_startup: bool) -> bool {
        let mut masters: Vec<String> = self.map.lock().masters.clone();
        let spin = if masters.is_empty() {
            0
        } else {
            self.next_random() as usize % masters.len()
        };
        masters.rotate_left(spin);
        let startup = self.startup.lock().clone();
        let (first, then) = if from_startup {
            (startup, masters)
        } else {
            (masters, startup)
        };
        let mut candidates = first;
        for addr in then {
            if !candidates.contains(&addr) {
                candidates.push(addr);
            }
        }
        // Announced addresses the natMap function has not mapped yet (kept as announced).
        let unmapped = Mutex::new(Vec::new());
        let nat = |a: String| {
            if self.options.nat_function && !self.nat_learned.lock().contains_key(&a) {
                unmapped.lock().push(a.clone());
            }
            self.nat(a)
        };
        for addr in candidates {
            let addr = match self.resolve(&addr).await {
                Ok(addr) => addr,
                Err(e) => {
                    *self.last_error.lock() = Some(LastError::new("", (String::new(), e)));
                    continue;
                }
            };
            let fetched = tokio::time::timeout(
                self.options.slots_refresh_timeout,
                topology::fetch(&self.options.node, &addr, &nat),
            )
            .await;
            match fetched {
                Ok(Ok(mut ranges)) => {
                    let unmapped = std::mem::take(&mut *unmapped.lock());
                    if !unmapped.is_empty() {
                        self.learn_nat(unmapped).await;
                        for range in &mut ranges {
                            range.master = self.nat(std::mem::take(&mut range.master));
                            for replica in &mut range.replicas {
                                *replica = self.nat(std::mem::take(replica));
                            }
                        }
                    }
                    self.apply(ranges);
                    self.unreachable.store(false, Ordering::Release);
                    self.announce("refresh", String::new());
                    return true;
                }
                Ok(Err(e)) => self.node_failed(LastError::new(&addr, e)),
                Err(_) => self.node_failed(LastError::new(
                    &addr,
                    ("ETIMEDOUT".into(), "CLUSTER SLOTS timed out".into()),
                )),
            }
        }
        self.unreachable.store(true, Ordering::Release);
        false
    }

    /// A node failed (its link's error, or a slot-map read it could not answer, which
    /// ioredis also reports for each node its refresh tries): `node error`, and the last
    /// error so far.
    fn node_failed(&self, error: LastError) {
        if !self.closing.load(Ordering::Relaxed) {
            self.sink.deliver(Delivery::Event(Event::Cluster {
                name: "node error",
                node: error.node.clone(),
                code: error.code.clone(),
                message: error.message.clone(),
            }));
        }
        *self.last_error.lock() = Some(error);
    }

    fn announce(&self, name: &'static str, node: String) {
        self.sink.deliver(Delivery::Event(Event::Cluster {
            name,
            node,
            code: String::new(),
            message: String::new(),
        }));
    }

    fn apply(&self, ranges: Vec<Range>) {
        let before = self.addresses();
        self.apply_map(ranges);
        let after = self.addresses();
        for gone in before.iter().filter(|a| !after.contains(a)) {
            self.announce("-node", gone.clone());
        }
        for new in after.iter().filter(|a| !before.contains(a)) {
            self.announce("+node", new.clone());
        }
    }

    /// Every node of the slot map (primaries and replicas), `host:port`.
    fn addresses(&self) -> Vec<String> {
        let map = self.map.lock();
        let mut out: Vec<String> = Vec::new();
        for shard in map.slots.iter().flatten() {
            for addr in std::iter::once(&shard.0).chain(shard.1.iter()) {
                if !out.contains(addr) {
                    out.push(addr.clone());
                }
            }
        }
        out
    }

    fn apply_map(&self, ranges: Vec<Range>) {
        let mut map = self.map.lock();
        let mut slots = vec![None; slot::SLOTS];
        let mut masters = Vec::new();
        for range in ranges {
            if !masters.contains(&range.master) {
                masters.push(range.master.clone());
            }
            let shard = Arc::new((range.master, range.replicas));
            for s in range.from..=range.to.min(slot::SLOTS as u16 - 1) {
                slots[usize::from(s)] = Some(shard.clone());
            }
        }
        map.slots = slots;
        map.masters = masters;
        // Connect to new primaries now (replicas on first use); nodes that serve no
        // slot any more end after their next failed attempt.
        let masters = map.masters.clone();
        for addr in masters {
            self.node(&mut map, &addr);
        }
    }

    /// Topology for `nodes()`/`health()`: (address, role, slots served).
    fn describe(&self) -> Vec<(String, &'static str, u32)> {
        let map = self.map.lock();
        let mut out: Vec<(String, &'static str, u32)> = Vec::new();
        for shard in map.slots.iter().flatten() {
            match out.iter_mut().find(|(a, ..)| *a == shard.0) {
                Some(entry) => entry.2 += 1,
                None => out.push((shard.0.clone(), "master", 1)),
            }
        }
        let replicas: Vec<String> = map
            .slots
            .iter()
            .flatten()
            .flat_map(|s| s.1.iter().cloned())
            .collect();
        for r in replicas {
            if !out.iter().any(|(a, ..)| *a == r) {
                out.push((r, "slave", 0));
            }
        }
        out
    }

    /// The client thread's end of [`ClusterLink::hand`]: routes submitted commands, and
    /// closes after them.
    async fn take_handed(me: Weak<Shared>, mut handed: mpsc::UnboundedReceiver<Handed>) {
        while let Some(work) = handed.recv().await {
            let Some(shared) = me.upgrade() else { return };
            match work {
                Handed::Batch(encoded, pin) => shared.accept(&encoded, pin),
                Handed::Quit(id) => {
                    *shared.quit_id.lock() = Some(id);
                    shared.close(|node| drop(node.link.quit(INTERNAL, 0)));
                }
                Handed::Disconnect => shared.disconnect_now(),
            }
        }
    }

    /// Reads a submitted batch into jobs (a malformed one fails at once) and routes them.
    fn accept(&self, encoded: &[u8], pin: Option<String>) {
        // A transaction may span batches (the facade flushes every few dozen commands):
        // an unrouted MULTI waits here for its first keyed command.
        let (mut jobs, mut transaction) = std::mem::take(&mut *self.transaction.lock());
        let mut now = Vec::new();
        for entry in entries(encoded) {
            let (id, flags, body) = match entry {
                Ok(entry) => entry,
                Err(id) => {
                    now.push(Completion {
                        id,
                        flags: 0,
                        outcome: Err(Failure {
                            kind: FailureKind::BadArguments,
                            message: "malformed command batch".into(),
                        }),
                    });
                    break;
                }
            };
            // Whether it only reads matters only where replicas may answer.
            let replica_reads = matches!(
                self.options.scale_reads,
                ScaleReads::Slave | ScaleReads::All
            );
            let (mut slot, readonly, name) = match args::decode(body) {
                Some(a) if !a.is_empty() => (
                    slot::first_key(&a).map(slot::slot_of),
                    replica_reads && slot::is_readonly(a[0]),
                    a[0].to_ascii_uppercase(),
                ),
                _ => (None, false, Vec::new()),
            };
            // A transaction goes where its first key goes: MULTI takes the slot of the
            // next keyed command of the batch, EXEC/DISCARD the slot of the last one.
            let in_tx =
                transaction.is_some() || matches!(name.as_slice(), b"MULTI" | b"EXEC" | b"DISCARD");
            let mut tx = transaction.map(|(.., id)| id);
            let mut closes_tx = false;
            match name.as_slice() {
                b"MULTI" => {
                    let id = self.transaction_ids.fetch_add(1, Ordering::Relaxed);
                    transaction = Some((jobs.len(), None, id));
                    tx = Some(id);
                }
                b"EXEC" | b"DISCARD" => {
                    if let Some((_, tx_slot, _)) = transaction.take() {
                        slot = tx_slot;
                        closes_tx = true;
                    }
                }
                _ => {
                    if let (Some((multi, tx_slot @ None, _)), Some(s)) =
                        (transaction.as_mut(), slot)
                    {
                        *tx_slot = Some(s);
                        if let Some(job) = jobs.get_mut(*multi) {
                            job.slot = Some(s);
                        }
                    }
                }
            }
            jobs.push(Job {
                id,
                flags: u32::from(flags),
                args: body.to_vec(),
                slot,
                readonly,
                redirections: 0,
                ask: None,
                pin: pin.clone(),
                lost_since: None,
                in_tx,
                tx,
                closes_tx,
            });
        }
        let mut kept = self.transaction.lock();
        match transaction {
            Some((multi, None, id)) => *kept = (jobs.split_off(multi), Some((0, None, id))),
            open => kept.1 = open.map(|(_, slot, id)| (0, slot, id)),
        }
        drop(kept);
        if !now.is_empty() {
            self.sink.deliver(Delivery::Completions(now));
        }
        self.dispatch(jobs);
    }

    fn disconnect_now(&self) {
        if self.inflight.lock().is_empty() {
            self.close(|node| node.link.disconnect(false));
            return;
        }
        // As ioredis's disconnect (a half-close of every node): the replies already owed
        // still arrive; a node that has not answered them within the grace is closed.
        self.close(|node| drop(node.link.quit(INTERNAL, 0)));
        let me = self.me.clone();
        runtime().spawn(async move {
            tokio::time::sleep(DISCONNECT_GRACE).await;
            let Some(shared) = me.upgrade() else { return };
            let nodes: Vec<Arc<Node>> = shared.map.lock().nodes.values().cloned().collect();
            for node in nodes {
                node.link.disconnect(false);
            }
        });
    }

    fn close(&self, how: impl Fn(&Node)) {
        self.closing.store(true, Ordering::Release);
        self.decided.notify_one();
        if let Some(router) = &self.router {
            router.close();
        }
        let nodes: Vec<Arc<Node>> = self.map.lock().nodes.values().cloned().collect();
        if nodes.is_empty() {
            self.finish();
        }
        for node in nodes {
            how(&node);
        }
    }
}

impl ClusterLink {
    /// Starts reading the slot map; `connect` and `ready` follow once it is known.
    pub fn start(options: ClusterOptions, sink: Arc<dyn Sink>) -> Self {
        let interval = options.slots_refresh_interval;
        let router = options
            .fallback
            .as_ref()
            .map(|f| Router::new(f, Arc::new(AtomicU32::new(0)), false, sink.clone()));
        if let (Some(router), Some(metrics)) = (&router, &options.node.metrics) {
            router.set_metrics(metrics.clone());
        }
        let startup = Mutex::new(options.startup.clone());
        let shared = Arc::new_cyclic(|me| Shared {
            router,
            unreachable: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            lost: AtomicBool::new(false),
            decision: Mutex::new(None),
            decided: Arc::new(Notify::new()),
            gave_up: AtomicBool::new(false),
            options,
            sink: JsSink::new(sink),
            me: me.clone(),
            map: Mutex::new(Map::default()),
            inflight: Mutex::new(HashMap::new()),
            waiting: Mutex::new(Some(Vec::new())),
            refreshing: AtomicBool::new(true),
            closing: AtomicBool::new(false),
            transaction: Mutex::new((Vec::new(), None)),
            transaction_ids: AtomicU64::new(0),
            transaction_replies: Mutex::new(HashMap::new()),
            questions: Questions::default(),
            nat_learned: Mutex::new(HashMap::new()),
            quit_id: Mutex::new(None),
            internal_ids: AtomicU32::new(0),
            random: AtomicU64::new(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id())),
            ended: AtomicBool::new(false),
            last_error: Mutex::new(None),
            startup,
        });
        let me = Arc::downgrade(&shared);
        runtime().spawn(async move {
            let mut times: u64 = 0;
            loop {
                let Some((shared, up)) = Shared::attempt(&me).await else {
                    return;
                };
                if up {
                    shared.refreshing.store(false, Ordering::Release);
                    if shared.on_memory() {
                        // Came back after starting on memory: the outage probe recovers.
                        break;
                    }
                    shared.ready.store(true, Ordering::Release);
                    shared.sink.deliver(Delivery::Event(Event::Connect));
                    shared.sink.deliver(Delivery::Event(Event::Ready));
                    let queued = shared.waiting.lock().take().unwrap_or_default();
                    shared.dispatch(queued);
                    break;
                }
                // Cluster absent at start: memory answers at once, as for one server.
                if times == 0 {
                    shared.degrade();
                }
                times += 1;
                drop(shared);
                if !Shared::attempt_failed(&me, times).await {
                    return;
                }
            }
            let Some(every) = interval else { return };
            loop {
                tokio::time::sleep(every).await;
                let Some(shared) = me.upgrade() else { return };
                if shared.closing.load(Ordering::Relaxed) {
                    return;
                }
                shared.refresh_soon();
            }
        });
        let (handed, receiver) = mpsc::unbounded_channel();
        runtime().spawn(Shared::take_handed(Arc::downgrade(&shared), receiver));
        Self {
            shared,
            handed,
            pin: Mutex::new(None),
        }
    }

    /// Routes a batch of commands (entries as [`Backend::submit_batch`] takes them) on the
    /// client thread: the JS thread only copies it.
    pub fn submit_batch(&self, encoded: &[u8]) {
        let pin = self.pin.lock().take();
        self.hand(Handed::Batch(encoded.to_vec(), pin));
    }

    /// The clusterRetryStrategy's decision after a failed start-up attempt: try again
    /// after `delay`, or give up (`None`).
    pub fn retry(&self, delay: Option<Duration>) {
        *self.shared.decision.lock() = Some(delay);
        self.shared.decided.notify_one();
    }

    /// QUIT every node after the replies owed; completion `id` is `OK`, then `end`.
    pub fn quit(&self, id: u32) {
        self.hand(Handed::Quit(id));
    }

    /// Closes every node now; reconnects (re-reading the slot map) when `reconnect`.
    pub fn disconnect(&self, reconnect: bool) {
        if reconnect {
            self.shared.gave_up.store(false, Ordering::Release);
            let nodes: Vec<Arc<Node>> = self.shared.map.lock().nodes.values().cloned().collect();
            for node in nodes {
                node.link.disconnect(true);
            }
            self.shared.refresh_soon();
            return;
        }
        self.hand(Handed::Disconnect);
    }

    /// Work for the client thread, done there in the order handed.
    fn hand(&self, work: Handed) {
        // The receiving task lives as long as `Shared`, which `self` holds.
        let _ = self.handed.send(work);
    }

    /// The slot map: `(address, role, slots served)` per node.
    pub fn nodes(&self) -> Vec<(String, &'static str, u32)> {
        self.shared.describe()
    }

    /// Commands routed and not answered yet (waiting for the slot map, in flight or
    /// about to be re-sent).
    pub fn pending(&self) -> usize {
        let waiting = self.shared.waiting.lock().as_ref().map_or(0, Vec::len);
        waiting + self.shared.inflight.lock().len()
    }

    /// The primary serving `slot` (`host:port`), when the slot map covers it.
    pub fn master_of(&self, slot: u16) -> Option<String> {
        let map = self.shared.map.lock();
        map.slots
            .get(usize::from(slot))
            .cloned()
            .flatten()
            .map(|s| s.0.clone())
    }

    /// `slot`'s primary then its replicas (`host:port`), when the slot map covers it.
    pub fn shard_of(&self, slot: u16) -> Option<Vec<String>> {
        let map = self.shared.map.lock();
        let shard = map.slots.get(usize::from(slot)).cloned().flatten()?;
        Some(
            std::iter::once(shard.0.clone())
                .chain(shard.1.iter().cloned())
                .collect(),
        )
    }

    /// Sends every command of the next [`submit_batch`](Self::submit_batch) to `addr`
    /// (redirections still followed): a custom `scaleReads`'s choice.
    pub fn pin_next_batch(&self, addr: String) {
        *self.pin.lock() = Some(addr);
    }

    /// The facade's answer to a `natMap` / `dnsLookup` question (a cluster event).
    pub fn answer(&self, kind: String, question: String, answer: Answer) {
        self.shared.questions.answer(kind, question, answer);
    }

    /// Replaces the startup nodes (`host:port`) the next connect cycle starts from
    /// (ioredis's `clusterRetryStrategy` may assign `this.startupNodes`).
    pub fn set_startup(&self, nodes: Vec<String>) {
        *self.shared.startup.lock() = nodes;
    }

    /// Re-reads the slot map now.
    pub fn refresh(&self) {
        self.shared.refresh_soon();
    }

    /// The memory-engine switch, for `health()`.
    pub fn router(&self) -> Option<&Arc<Router>> {
        self.shared.router.as_ref()
    }

    /// The last node or slot-map error, for `health()`.
    pub fn last_error(&self) -> Option<String> {
        self.shared
            .last_error
            .lock()
            .as_ref()
            .map(LastError::reason)
    }
}

impl Drop for ClusterLink {
    fn drop(&mut self) {
        // Node links end once their handles go; nothing else keeps them.
        self.shared.closing.store(true, Ordering::Release);
        let nodes: Vec<Arc<Node>> = self
            .shared
            .map
            .lock()
            .nodes
            .drain()
            .map(|(_, n)| n)
            .collect();
        for node in nodes {
            node.link.disconnect(false);
        }
    }
}
