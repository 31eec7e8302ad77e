//! Binding for the Redis client core: one `RedisConnection` per JS `Redis` instance.
//!
//! Hot path: `submit` is a cheap synchronous call taking one borrowed byte buffer (the
//! arguments, length-prefixed, written by JS into a reused slab). Replies come back
//! through ONE long-lived threadsafe function per connection, a batch per call, as a
//! flat array `[id, kind, value, id, kind, value, …]` built directly with N-API calls.
//! Events use the same function with a leading `-1`: `[-1, name, code, message]`;
//! published messages a leading `-2`: `[-2, kind, ...Buffer parts]`.
//!
//! The threadsafe function is held by the core's dispatcher task only; the task drops it
//! when the client ends, so nothing keeps Node alive after `quit()`/`disconnect()`.

// napi-derive registers the exports only outside `cfg(test)`, so in the test build of
// this cdylib the plain functions of a private module look unused.
#![cfg_attr(test, allow(dead_code))]

use std::cell::RefCell;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use bulwark_core::client::{
    Address, Backend, ClientCertificate, ClientOptions, Completion, Delivery, Event, Failure,
    FailureKind, FallbackOptions, FallbackStats, MessageKind, MonitorLink, Recovery, RedisLink,
    Router, SentinelOptions, Sink, TlsOptions,
};
use bulwark_core::memory::MemoryConfig;
use bulwark_core::Reply;
use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::metrics::CommandMetrics;
use crate::slab::Slab;

/// Per-command flag: bulk and status replies become Buffers (the `…Buffer` methods).
const FLAG_BUFFERS: u8 = 0b001;

/// Connection options as the JS facade passes them (already validated there).
#[napi(object)]
pub struct ConnectionOptions {
    /// Host name (ignored when `path` is set).
    pub host: String,
    /// TCP port.
    pub port: u32,
    /// Unix socket path.
    pub path: Option<String>,
    /// Enable TLS.
    pub tls: bool,
    /// Skip certificate and host name verification (`rejectUnauthorized: false`).
    pub tls_insecure: bool,
    /// PEM CA certificate(s) to trust instead of the system store.
    pub tls_ca: Option<Buffer>,
    /// PEM client certificate chain (mutual TLS; with `tls_key`).
    pub tls_cert: Option<Buffer>,
    /// PEM private key of the client certificate, unencrypted.
    pub tls_key: Option<Buffer>,
    /// ACL user.
    pub username: Option<String>,
    /// Password (never echoed back in errors).
    pub password: Option<String>,
    /// Database index.
    pub db: u32,
    /// `CLIENT SETNAME` value.
    pub connection_name: Option<String>,
    /// Connect deadline in ms.
    pub connect_timeout: u32,
    /// Per-command deadline in ms (absent = none).
    pub command_timeout: Option<u32>,
    /// Queue commands while disconnected.
    pub offline_queue: bool,
    /// `maxRetriesPerRequest`; absent = unlimited.
    pub max_retries_per_request: Option<u32>,
    /// Most queued or in-flight commands.
    pub max_queue_length: u32,
    /// Most queued or in-flight argument bytes.
    pub max_queue_bytes: f64,
    /// INFO loading check before ready.
    pub ready_check: bool,
    /// Idle-connection PING probe period in ms; 0 disables.
    pub ping_interval: u32,
    /// Integer replies as strings.
    pub string_numbers: bool,
    /// A pub/sub connection (RESP3, messages delivered as `[-2, kind, …parts]`).
    pub subscriber: bool,
    /// Re-send commands in flight at a connection drop after the reconnect
    /// (`autoResendUnfulfilledCommands`).
    pub resend_unfulfilled: bool,
    /// The shared memory engine to answer from: every client naming the same target
    /// shares one. Absent: no failover (ioredis semantics).
    pub fallback_target: Option<String>,
    /// Memory only (`memory://`): never connects.
    pub memory_only: bool,
    /// How long the first affected command waits for Redis before memory answers, ms.
    pub fallback_timeout: u32,
    /// `'replay'` or `'discard'`: what recovery does with the outage's writes.
    pub recovery: String,
    /// Most keys in the memory engine (absent: unbounded).
    pub memory_max_keys: Option<f64>,
    /// Approximate byte budget of the memory engine (absent: unbounded).
    pub memory_max_bytes: Option<f64>,
    /// Sentinel mode: sentinel addresses as `host:port`.
    pub sentinels: Option<Vec<String>>,
    /// Sentinel mode: the monitored primary's name.
    pub sentinel_name: Option<String>,
    /// Sentinel mode: connect to a replica instead of the primary.
    pub sentinel_replica: Option<bool>,
    /// ACL user on the sentinels.
    pub sentinel_username: Option<String>,
    /// Password on the sentinels.
    pub sentinel_password: Option<String>,
    /// TLS to the sentinels too (`enableTLSForSentinelMode`).
    pub sentinel_tls: Option<bool>,
    /// Announced address remaps, each `ip:port=host:port`.
    pub sentinel_nat: Option<Vec<String>>,
    /// Replica preference, each `ip:port:priority`.
    pub preferred_slaves: Option<Vec<String>>,
    /// Reconnect on `+switch-master` (default true).
    pub follow_switch_master: Option<bool>,
    /// Deadline of each request to a sentinel in ms (`sentinelCommandTimeout`).
    pub sentinel_command_timeout: Option<u32>,
}

/// `host:port` split at its last colon.
fn host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

fn sentinel_options(o: &ConnectionOptions, tls: &Option<TlsOptions>) -> Option<SentinelOptions> {
    let sentinels = o
        .sentinels
        .as_ref()?
        .iter()
        .filter_map(|s| host_port(s))
        .collect();
    let mut options = SentinelOptions::new(sentinels, o.sentinel_name.clone()?);
    options.replica = o.sentinel_replica.unwrap_or(false);
    options.username = o.sentinel_username.clone();
    options.password = o.sentinel_password.clone();
    options.tls = tls.clone().filter(|_| o.sentinel_tls.unwrap_or(false));
    options.command_timeout = o
        .sentinel_command_timeout
        .map(|ms| Duration::from_millis(u64::from(ms)));
    options.nat = o
        .sentinel_nat
        .iter()
        .flatten()
        .filter_map(|entry| {
            let (from, to) = entry.split_once('=')?;
            let (host, port) = host_port(to)?;
            Some((from.to_owned(), host, port))
        })
        .collect();
    options.preferred = o
        .preferred_slaves
        .iter()
        .flatten()
        .filter_map(|entry| {
            let (addr, prio) = entry.rsplit_once(':')?;
            let (host, port) = host_port(addr)?;
            Some((host, port, prio.parse().ok()?))
        })
        .collect();
    options.follow_switch = o.follow_switch_master.unwrap_or(true);
    Some(options)
}

/// Failover counters and state, for `health()`.
#[napi(object)]
pub struct FallbackHealth {
    /// True while commands are answered from memory.
    pub on_memory: bool,
    /// Unix ms when the current backend took over.
    pub since: f64,
    /// The last connection error (no credentials).
    pub last_error: Option<String>,
    /// Outages declared.
    pub fallbacks: f64,
    /// Returns to Redis.
    pub recoveries: f64,
    /// Commands answered by the memory engine.
    pub memory_commands: f64,
    /// Keys written back to Redis by recoveries.
    pub replayed_keys: f64,
    /// Keys dropped by recoveries (`recovery: 'discard'`).
    pub discarded_keys: f64,
    /// Keys in the shared memory engine.
    pub memory_keys: f64,
    /// Approximate bytes held by the memory engine.
    pub memory_bytes: f64,
    /// Keys evicted by the engine's bounds.
    pub memory_evictions: f64,
    /// Keys deleted by expiry in the engine.
    pub memory_expired: f64,
}

pub(crate) fn fallback_options(o: &ConnectionOptions) -> Option<FallbackOptions> {
    let to_usize = |v: Option<f64>| v.map(|n| n.clamp(0.0, usize::MAX as f64) as usize);
    o.fallback_target.as_ref().map(|target| FallbackOptions {
        target: target.clone(),
        timeout: Duration::from_millis(u64::from(o.fallback_timeout)),
        recovery: if o.recovery == "discard" {
            Recovery::Discard
        } else {
            Recovery::Replay
        },
        memory: MemoryConfig {
            max_keys: to_usize(o.memory_max_keys),
            max_memory_bytes: to_usize(o.memory_max_bytes),
            ..MemoryConfig::default()
        },
    })
}

impl From<ConnectionOptions> for ClientOptions {
    fn from(o: ConnectionOptions) -> Self {
        let fallback = fallback_options(&o);
        let tls = o.tls.then(|| TlsOptions {
            insecure: o.tls_insecure,
            ca: o.tls_ca.as_ref().map(|b| b.to_vec()),
            client: o
                .tls_cert
                .as_ref()
                .zip(o.tls_key.as_ref())
                .map(|(cert, key)| ClientCertificate {
                    cert: cert.to_vec(),
                    key: key.to_vec(),
                }),
        });
        let sentinel = sentinel_options(&o, &tls);
        let address = match o.path {
            Some(path) => Address::Unix(path),
            None => Address::Tcp {
                host: o.host,
                port: o.port.min(u32::from(u16::MAX)) as u16,
            },
        };
        ClientOptions {
            address,
            tls,
            username: o.username,
            password: o.password,
            db: o.db,
            client_name: o.connection_name,
            connect_timeout: Duration::from_millis(u64::from(o.connect_timeout)),
            command_timeout: o
                .command_timeout
                .map(|ms| Duration::from_millis(u64::from(ms))),
            offline_queue: o.offline_queue,
            max_retries_per_request: o.max_retries_per_request,
            max_queue_len: o.max_queue_length as usize,
            max_queue_bytes: o.max_queue_bytes.clamp(0.0, usize::MAX as f64) as usize,
            ready_check: o.ready_check,
            ping_interval: (o.ping_interval > 0)
                .then(|| Duration::from_millis(u64::from(o.ping_interval))),
            subscriber: o.subscriber,
            resend_unfulfilled: o.resend_unfulfilled,
            fallback,
            metrics: None,
            sentinel,
        }
    }
}

/// A batch on its way to JS, converted on the JS thread.
struct JsDelivery {
    delivery: Delivery,
    string_numbers: bool,
}

type DeliveryFn = ThreadsafeFunction<Delivery, (), JsDelivery, Status, false>;

pub(crate) struct TsfnSink(DeliveryFn);

impl Sink for TsfnSink {
    fn deliver(&self, delivery: Delivery) {
        // NonBlocking on an unbounded queue only fails while Node is shutting down,
        // when nobody is left to receive the batch.
        self.0
            .call(delivery, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// `health()`'s failover fields (shared with the cluster binding).
pub(crate) fn fallback_health(stats: FallbackStats) -> FallbackHealth {
    FallbackHealth {
        on_memory: stats.on_memory,
        since: stats.since_ms as f64,
        last_error: stats.last_error,
        fallbacks: stats.fallbacks as f64,
        recoveries: stats.recoveries as f64,
        memory_commands: stats.memory_commands as f64,
        replayed_keys: stats.replayed_keys as f64,
        discarded_keys: stats.discarded_keys as f64,
        memory_keys: stats.memory.keys as f64,
        memory_bytes: stats.memory.bytes as f64,
        memory_evictions: stats.memory.evicted as f64,
        memory_expired: stats.memory.expired as f64,
    }
}

/// A sink that hands every batch to `onDelivery` on the JS thread (shared with the
/// cluster binding).
pub(crate) fn delivery_sink(
    on_delivery: Function<'_, (), ()>,
    string_numbers: bool,
) -> Result<Arc<TsfnSink>> {
    let tsfn: DeliveryFn = on_delivery
        .build_threadsafe_function::<Delivery>()
        .callee_handled::<false>()
        .build_callback(move |ctx| {
            Ok(JsDelivery {
                delivery: ctx.value,
                string_numbers,
            })
        })?;
    Ok(Arc::new(TsfnSink(tsfn)))
}

/// The native half of a `Redis` client: a handle to the core's dispatcher (or to
/// the memory engine for `memory://`).
#[napi]
pub struct RedisConnection {
    backend: Backend,
    string_numbers: bool,
    /// This client's slot in [`ROUTERS`], when it can answer from memory.
    direct: Option<u32>,
}

thread_local! {
    /// Routers (and `stringNumbers`) of the clients on this JS thread, addressed by
    /// `u32` for [`memory_execute`]: a class method's receiver check alone costs more
    /// than a memory-engine GET.
    static ROUTERS: RefCell<Slab<(Arc<Router>, bool)>> = RefCell::new(Slab::default());
}

/// Runs `f` on the router of the client in `slot` (its memory engine), for native callers
/// on this thread such as the rate limiters' memory decisions; `None` when no client
/// holds `slot`.
pub(crate) fn with_memory_router<R>(slot: u32, f: impl FnOnce(&Router) -> R) -> Option<R> {
    // Borrowed, not cloned: a decision per call should not pay the Arc's two atomics.
    // `f` runs no JS, so nothing can drop a connection (and take the table) meanwhile.
    ROUTERS.with(|r| r.borrow().get(slot).map(|(router, _)| f(router)))
}

impl Drop for RedisConnection {
    fn drop(&mut self) {
        if let Some(slot) = self.direct {
            ROUTERS.with(|r| r.borrow_mut().remove(slot));
        }
    }
}

/// Completions answered during `submitBatch`, converted on the JS thread.
pub struct Immediate {
    pub(crate) batch: Vec<Completion>,
    pub(crate) string_numbers: bool,
}

impl ToNapiValue for Immediate {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        js_completions(env, &val.batch, val.string_numbers)
    }
}

/// What [`memory_execute`] returns, converted on the JS thread.
pub enum Direct {
    /// The reply (an error reply becomes an `Error`).
    Reply {
        reply: Reply,
        buffers: bool,
        string_numbers: bool,
    },
    /// `undefined`: not on memory now, the caller takes the ordinary path (`null`
    /// would read as a nil reply).
    NotHandled,
}

impl ToNapiValue for Direct {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match val {
            Direct::Reply {
                reply,
                buffers,
                string_numbers,
            } => js_reply(env, &reply, buffers, string_numbers),
            Direct::NotHandled => {
                let mut out = ptr::null_mut();
                check(sys::napi_get_undefined(env, &mut out))?;
                Ok(out)
            }
        }
    }
}

/// Runs one command (`args[..len]`, length-prefixed arguments) in the memory engine
/// of the client in `slot` when it is on memory now: returns the reply (an `Error` for
/// an error reply), or `undefined` when the client must take the ordinary path.
#[napi(catch_unwind, ts_return_type = "unknown")]
pub fn memory_execute(slot: u32, args: &[u8], len: u32, flags: u32) -> Result<Direct> {
    let encoded = args
        .get(..len as usize)
        .ok_or_else(|| Error::new(Status::InvalidArg, "len exceeds the argument buffer"))?;
    let entry = ROUTERS.with(|r| r.borrow().get(slot).cloned());
    let answered = entry.and_then(|(router, string_numbers)| {
        router.execute_now(encoded).map(|reply| Direct::Reply {
            reply,
            buffers: flags as u8 & FLAG_BUFFERS != 0,
            string_numbers,
        })
    });
    Ok(answered.unwrap_or(Direct::NotHandled))
}

#[napi]
impl RedisConnection {
    /// Starts connecting at once. `onDelivery(batch)` receives every reply batch and event.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "options: ConnectionOptions, onDelivery: (batch: unknown[]) => void, metrics?: CommandMetrics | undefined | null"
    )]
    pub fn new(
        options: ConnectionOptions,
        on_delivery: Function<'_, (), ()>,
        metrics: Option<&CommandMetrics>,
    ) -> Result<Self> {
        let metrics = metrics.map(|m| m.inner.clone());
        let string_numbers = options.string_numbers;
        let sink = delivery_sink(on_delivery, string_numbers)?;
        let backend = match (options.memory_only, fallback_options(&options)) {
            (true, Some(fallback)) => Backend::memory(&fallback, options.db, sink),
            _ => Backend::Redis(RedisLink::start(
                ClientOptions {
                    metrics: metrics.clone(),
                    ..options.into()
                },
                sink,
            )),
        };
        // A Redis backend's link has set them on its router already.
        if let (Backend::Memory(router), Some(metrics)) = (&backend, metrics) {
            router.set_metrics(metrics);
        }
        let direct = backend.router().map(|router| {
            ROUTERS.with(|r| r.borrow_mut().insert((router.clone(), string_numbers)))
        });
        Ok(Self {
            backend,
            string_numbers,
            direct,
        })
    }

    /// The slot for [`memory_execute`], or `null` without failover.
    #[napi(catch_unwind)]
    pub fn direct_slot(&self) -> Option<u32> {
        self.direct
    }

    /// Queues or runs every command in `batch[..len]` (entries: id, flags, length as
    /// u32 LE, then the length-prefixed arguments). Returns `null`, or the completions
    /// known at once (memory-engine replies, commands that could not be queued) as a
    /// completion batch `[id, kind, value, …]`; the rest arrive through `onDelivery`.
    #[napi(catch_unwind, ts_return_type = "unknown[] | null")]
    pub fn submit_batch(&self, batch: &[u8], len: u32) -> Result<Option<Immediate>> {
        let encoded = batch
            .get(..len as usize)
            .ok_or_else(|| Error::new(Status::InvalidArg, "len exceeds the batch buffer"))?;
        let done = self.backend.submit_batch(encoded);
        Ok((!done.is_empty()).then_some(Immediate {
            batch: done,
            string_numbers: self.string_numbers,
        }))
    }

    /// Failover counters and state (`null` without failover).
    #[napi(catch_unwind)]
    pub fn health(&self) -> Option<FallbackHealth> {
        Some(fallback_health(self.backend.router()?.stats()))
    }

    /// Commands queued or in flight on the Redis connection.
    #[napi(catch_unwind)]
    pub fn pending(&self) -> u32 {
        self.backend.pending().min(u32::MAX as usize) as u32
    }

    /// QUIT after every queued reply; completion `id` resolves `OK`.
    #[napi(catch_unwind)]
    pub fn quit(&self, id: u32) -> Result<()> {
        self.backend.quit(id, 0).map_err(failure_error)
    }

    /// Close now; reconnect when asked to.
    #[napi(catch_unwind)]
    pub fn disconnect(&self, reconnect: bool) {
        self.backend.disconnect(reconnect);
    }

    /// The retryStrategy decision after a `close` event: a delay in ms, or a negative
    /// number to end the client.
    #[napi(catch_unwind)]
    pub fn retry(&self, delay_ms: f64) {
        let delay =
            (delay_ms >= 0.0).then(|| Duration::from_millis(delay_ms.min(u32::MAX as f64) as u64));
        self.backend.retry(delay);
    }
}

/// A MONITOR connection (`redis.monitor()`): lines arrive through `onDelivery` as
/// `[-2, 'monitor', Buffer]`, events as for `RedisConnection`.
#[napi]
pub struct MonitorConnection {
    link: MonitorLink,
}

#[napi]
impl MonitorConnection {
    /// Starts connecting at once.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "options: ConnectionOptions, onDelivery: (batch: unknown[]) => void"
    )]
    pub fn new(options: ConnectionOptions, on_delivery: Function<'_, (), ()>) -> Result<Self> {
        let sink = delivery_sink(on_delivery, options.string_numbers)?;
        Ok(Self {
            link: MonitorLink::start(options.into(), sink),
        })
    }

    /// Closes the connection; `close` and `end` follow.
    #[napi(catch_unwind)]
    pub fn disconnect(&mut self) {
        self.link.stop();
    }
}

fn failure_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Closed => "Closed",
        FailureKind::Aborted => "Aborted",
        FailureKind::Timeout => "Timeout",
        FailureKind::OfflineQueueDisabled => "OfflineQueueDisabled",
        FailureKind::MaxRetries => "MaxRetries",
        FailureKind::QueueFull => "QueueFull",
        FailureKind::Unavailable => "Unavailable",
        FailureKind::BadArguments => "BadArguments",
    }
}

pub(crate) fn failure_error(failure: Failure) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("{}\t{}", failure_name(failure.kind), failure.message),
    )
}

// ---- conversion to JS values (runs on the JS thread inside the TSFN callback) ----

/// Reply kinds in a completion batch: 0 = value, 1 = server error (message), 2 = client
/// failure (`"<Kind>\t<message>"`).
const KIND_VALUE: u32 = 0;
const KIND_REPLY_ERROR: u32 = 1;
const KIND_FAILURE: u32 = 2;

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::from(status),
            "N-API call failed while converting a reply",
        ))
    }
}

unsafe fn js_string(env: sys::napi_env, s: &[u8]) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    // V8 replaces invalid UTF-8 with U+FFFD, as ioredis's `buffer.toString()` does.
    check(sys::napi_create_string_utf8(
        env,
        s.as_ptr().cast(),
        s.len() as isize,
        &mut out,
    ))?;
    Ok(out)
}

unsafe fn js_buffer(env: sys::napi_env, s: &[u8]) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    let mut data = ptr::null_mut();
    check(sys::napi_create_buffer_copy(
        env,
        s.len(),
        s.as_ptr().cast(),
        &mut data,
        &mut out,
    ))?;
    Ok(out)
}

unsafe fn js_number(env: sys::napi_env, n: f64) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(sys::napi_create_double(env, n, &mut out))?;
    Ok(out)
}

unsafe fn js_uint(env: sys::napi_env, n: u32) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(sys::napi_create_uint32(env, n, &mut out))?;
    Ok(out)
}

/// An integer reply as ioredis's parser (redis-parser) reads it: digit by digit into a
/// double, so integers beyond 2^53 round exactly as they do there (not as `i64 as f64`).
fn read_like_ioredis(n: i64) -> f64 {
    if n.unsigned_abs() <= 1 << 53 {
        return n as f64;
    }
    let magnitude = n
        .unsigned_abs()
        .to_string()
        .bytes()
        .fold(0.0, |acc: f64, digit| acc * 10.0 + f64::from(digit - b'0'));
    if n < 0 {
        -magnitude
    } else {
        magnitude
    }
}

unsafe fn js_reply(
    env: sys::napi_env,
    reply: &Reply,
    buffers: bool,
    string_numbers: bool,
) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    match reply {
        Reply::Nil => check(sys::napi_get_null(env, &mut out))?,
        Reply::Int(n) if string_numbers => out = js_string(env, n.to_string().as_bytes())?,
        Reply::Int(n) => out = js_number(env, read_like_ioredis(*n))?,
        Reply::Status(s) if buffers => out = js_buffer(env, s.as_bytes())?,
        Reply::Status(s) => out = js_string(env, s.as_bytes())?,
        Reply::Bulk(b) if buffers => out = js_buffer(env, b)?,
        Reply::Bulk(b) => out = js_string(env, b)?,
        Reply::Array(items) => {
            check(sys::napi_create_array_with_length(
                env,
                items.len(),
                &mut out,
            ))?;
            for (i, item) in items.iter().enumerate() {
                let value = js_reply(env, item, buffers, string_numbers)?;
                check(sys::napi_set_element(env, out, i as u32, value))?;
            }
        }
        // A nested error (an EXEC entry, a Lua table): an Error object the facade turns
        // into a ReplyError.
        Reply::Error(text) => {
            let message = js_string(env, text.as_bytes())?;
            check(sys::napi_create_error(
                env,
                ptr::null_mut(),
                message,
                &mut out,
            ))?;
        }
    }
    Ok(out)
}

unsafe fn js_completions(
    env: sys::napi_env,
    batch: &[Completion],
    string_numbers: bool,
) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(sys::napi_create_array_with_length(
        env,
        batch.len() * 3,
        &mut out,
    ))?;
    for (i, c) in batch.iter().enumerate() {
        let (kind, value) = match &c.outcome {
            Ok(Reply::Error(text)) => (KIND_REPLY_ERROR, js_string(env, text.as_bytes())?),
            Ok(reply) => (
                KIND_VALUE,
                js_reply(env, reply, c.flags & FLAG_BUFFERS != 0, string_numbers)?,
            ),
            Err(f) => (
                KIND_FAILURE,
                js_string(
                    env,
                    format!("{}\t{}", failure_name(f.kind), f.message).as_bytes(),
                )?,
            ),
        };
        let base = (i * 3) as u32;
        check(sys::napi_set_element(env, out, base, js_uint(env, c.id)?))?;
        check(sys::napi_set_element(
            env,
            out,
            base + 1,
            js_uint(env, kind)?,
        ))?;
        check(sys::napi_set_element(env, out, base + 2, value))?;
    }
    Ok(out)
}

unsafe fn js_event(env: sys::napi_env, event: &Event) -> Result<sys::napi_value> {
    let (name, code, detail): (&str, &str, String) = match event {
        Event::Connecting => ("connecting", "", String::new()),
        Event::Connect => ("connect", "", String::new()),
        Event::Ready => ("ready", "", String::new()),
        Event::Error { code, message } => ("error", code.as_str(), message.clone()),
        Event::Close {
            retry_attempt: Some(n),
        } => ("close", "retry", n.to_string()),
        Event::Close {
            retry_attempt: None,
        } => ("close", "", String::new()),
        Event::End => ("end", "", String::new()),
        Event::Fallback { code, message } => ("fallback", code.as_str(), message.clone()),
        Event::Recover => ("recover", "", String::new()),
        // The node first, then the message: `host:port` holds no space.
        Event::Cluster {
            name,
            node,
            code,
            message,
        } => (*name, code.as_str(), format!("{node} {message}")),
    };
    let mut out = ptr::null_mut();
    check(sys::napi_create_array_with_length(env, 4, &mut out))?;
    check(sys::napi_set_element(env, out, 0, js_number(env, -1.0)?))?;
    check(sys::napi_set_element(
        env,
        out,
        1,
        js_string(env, name.as_bytes())?,
    ))?;
    check(sys::napi_set_element(
        env,
        out,
        2,
        js_string(env, code.as_bytes())?,
    ))?;
    check(sys::napi_set_element(
        env,
        out,
        3,
        js_string(env, detail.as_bytes())?,
    ))?;
    Ok(out)
}

unsafe fn js_message(
    env: sys::napi_env,
    kind: MessageKind,
    parts: &[Vec<u8>],
) -> Result<sys::napi_value> {
    let name = match kind {
        MessageKind::Message => "message",
        MessageKind::PMessage => "pmessage",
        MessageKind::SMessage => "smessage",
        MessageKind::Monitor => "monitor",
    };
    let mut out = ptr::null_mut();
    check(sys::napi_create_array_with_length(
        env,
        parts.len() + 2,
        &mut out,
    ))?;
    check(sys::napi_set_element(env, out, 0, js_number(env, -2.0)?))?;
    check(sys::napi_set_element(
        env,
        out,
        1,
        js_string(env, name.as_bytes())?,
    ))?;
    for (i, part) in parts.iter().enumerate() {
        check(sys::napi_set_element(
            env,
            out,
            i as u32 + 2,
            js_buffer(env, part)?,
        ))?;
    }
    Ok(out)
}

impl ToNapiValue for JsDelivery {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match &val.delivery {
            Delivery::Completions(batch) => js_completions(env, batch, val.string_numbers),
            Delivery::Event(event) => js_event(env, event),
            Delivery::Message { kind, parts } => js_message(env, *kind, parts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_like_ioredis;

    #[test]
    fn big_integers_round_as_in_ioredis() {
        assert_eq!(read_like_ioredis(42), 42.0);
        assert_eq!(read_like_ioredis(-(1 << 53)), -9007199254740992.0);
        // redis-parser's accumulation, not the nearest double (-9223372036854775808).
        assert_eq!(read_like_ioredis(i64::MIN), -9223372036854778000.0);
        assert_eq!(read_like_ioredis(i64::MAX), 9223372036854778000.0);
    }
}
