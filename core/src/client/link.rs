//! The dispatcher task: owns the redis-rs connection, the offline queue and the
//! reconnect state machine. One task per client; every in-flight command is a future in
//! one `FuturesUnordered`, so there is no task spawn per command, and replies that are
//! ready together leave in one [`Delivery::Completions`] batch.
//!
//! With a failover [`Router`], commands are never lost to an outage: those in flight
//! when the connection drops wait (with new ones) for a reconnect until the router's
//! timeout, then the outage is declared and the memory engine answers them; a server
//! that stops answering for that long counts as down too. After a reconnect the
//! outage's writes are replayed before anything else is sent.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::FusedFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use redis::aio::MultiplexedConnection;
use redis::{PushInfo, PushKind, RedisError, Value};
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::time::Instant;

use super::fallback::{Mode, Replay, Route};
use super::{
    Budget, ClientOptions, Completion, Delivery, Event, Failure, FailureKind, MessageKind, Msg,
    Pending, Router, Sink,
};
use crate::Reply;

/// Most commands taken from the channel before the dispatcher polls replies again, so
/// a flood of submissions cannot starve reply delivery.
const INTAKE_BATCH: usize = 512;

/// Keys written back per pipeline during a recovery.
const REPLAY_CHUNK: usize = 512;

/// Connection drops a command may be in flight for and still be re-sent.
const MAX_DROPS_IN_FLIGHT: u8 = 3;

/// Why `serve` returned.
enum Stop {
    /// The connection died (reset, killed, failed probe); reconnect per strategy.
    Lost,
    /// Nothing came back for the failover timeout while commands were in flight.
    Hung,
    /// `disconnect(reconnect)`.
    Disconnect { reconnect: bool },
    /// `quit()` finished or every handle was dropped: end for good.
    End,
}

/// What an idle-connection PING probe found.
enum Probe {
    Alive,
    Closed,
    Silent,
}

/// What a wait for a future was interrupted by.
enum Waited<T> {
    Done(T),
    Control(Msg),
}

/// How a group of commands sent together ended.
enum Sent {
    Replied(redis::RedisResult<Vec<Value>>),
    /// `commandTimeout` elapsed.
    TimedOut,
    /// Serving stopped while the group was in flight.
    Aborted,
}

pub(super) struct Dispatcher {
    options: ClientOptions,
    /// The database to select on connect: the `db` option, then the last `SELECT` that
    /// succeeded (shared with the router, whose memory session follows it too).
    db: Arc<AtomicU32>,
    sink: Arc<dyn Sink>,
    rx: UnboundedReceiver<Msg>,
    budget: Arc<Budget>,
    offline: VecDeque<Pending>,
    router: Option<Arc<Router>>,
    /// When the outage is declared unless a connection is ready before (failover only).
    grace: Option<Instant>,
    /// The last connection error, reported with the `fallback` event.
    last_error: Option<(String, String)>,
}

type Conn = (MultiplexedConnection, UnboundedReceiver<PushInfo>);

/// `submit` flag: the command blocks server-side (BLPOP, XREAD BLOCK…), so an idle
/// connection probe must not be queued behind it.
pub const FLAG_BLOCKING: u8 = 0b100;

/// Why an outage was declared when no connection error said it.
fn silence(router: &Router) -> String {
    format!(
        "Redis did not answer within {} ms",
        router.timeout().as_millis()
    )
}

/// The arguments of a command, for running it in the memory engine.
fn cmd_args(cmd: &redis::Cmd) -> Vec<&[u8]> {
    cmd.args_iter()
        .map(|arg| match arg {
            redis::Arg::Simple(bytes) => bytes,
            // Only redis-rs's own SCAN iterators write cursors; commands from JS never do.
            _ => b"0",
        })
        .collect()
}

impl Dispatcher {
    pub(super) fn new(
        options: ClientOptions,
        db: Arc<AtomicU32>,
        sink: Arc<dyn Sink>,
        rx: UnboundedReceiver<Msg>,
        budget: Arc<Budget>,
        router: Option<Arc<Router>>,
    ) -> Self {
        Self {
            options,
            db,
            sink,
            rx,
            budget,
            offline: VecDeque::new(),
            router,
            grace: None,
            last_error: None,
        }
    }

    fn event(&self, event: Event) {
        self.sink.deliver(Delivery::Event(event));
    }

    fn error(&mut self, code: String, message: String) {
        if let Some(router) = &self.router {
            router.set_last_error(&message);
        }
        self.last_error = Some((code.clone(), message.clone()));
        self.event(Event::Error { code, message });
    }

    /// Counts a command Redis (or the client, for a failure) completed.
    fn record(&self, pending: &Pending, error: bool) {
        if let (Some(metrics), Some(started)) = (&self.options.metrics, pending.started) {
            metrics.finish(started, crate::metrics::Backend::Redis, error);
        }
    }

    fn fail(&self, pending: Pending, kind: FailureKind, message: &str) -> Completion {
        self.budget.release(pending.bytes);
        self.record(&pending, true);
        Completion {
            id: pending.id,
            flags: pending.flags,
            outcome: Err(Failure::new(kind, message)),
        }
    }

    fn fail_offline(&mut self, kind: FailureKind, message: &str) {
        let failed: Vec<Completion> = std::mem::take(&mut self.offline)
            .into_iter()
            .map(|p| self.fail(p, kind, message))
            .collect();
        if !failed.is_empty() {
            self.sink.deliver(Delivery::Completions(failed));
        }
    }

    /// True when a failover router will answer commands that Redis cannot.
    fn falls_back(&self) -> bool {
        self.router.as_ref().is_some_and(|r| !r.closed())
    }

    /// Starts the grace period of an interruption (failover only, once).
    fn start_grace(&mut self) {
        if let Some(router) = &self.router {
            if self.grace.is_none() && router.lock().mode == Mode::Redis {
                self.grace = Some(Instant::now() + router.timeout());
            }
        }
    }

    /// Declares the outage (failover only): the router flips to memory, and every
    /// command held here runs there first, in order.
    fn degrade(&mut self) {
        self.grace = None;
        let Some(router) = self.router.clone() else {
            return;
        };
        let mut route = router.lock();
        if !router.degrade(&mut route) {
            return;
        }
        let held = std::mem::take(&mut self.offline);
        let answered = self.run_in_memory(&router, &mut route, held);
        drop(route);
        let (code, message) = self
            .last_error
            .clone()
            .unwrap_or_else(|| ("ETIMEDOUT".into(), silence(&router)));
        self.event(Event::Fallback { code, message });
        if !answered.is_empty() {
            self.sink.deliver(Delivery::Completions(answered));
        }
    }

    /// Runs commands held here in the memory engine (the route lock is held), in order.
    fn run_in_memory(
        &self,
        router: &Router,
        route: &mut Route,
        commands: impl IntoIterator<Item = Pending>,
    ) -> Vec<Completion> {
        commands
            .into_iter()
            .map(|p| {
                self.budget.release(p.bytes);
                router.execute_args(route, p.id, p.flags, &cmd_args(&p.cmd))
            })
            .collect()
    }

    /// Commands that arrive while not connected: the memory engine answers them during
    /// an outage; otherwise they wait in the offline queue (or fail at once when it is
    /// disabled, or declare the outage when failing over).
    fn hold(&mut self, batch: Vec<Pending>) {
        if let Some(router) = self.router.clone() {
            let mut route = router.lock();
            match route.mode {
                Mode::Memory => {
                    let answered = self.run_in_memory(&router, &mut route, batch);
                    drop(route);
                    self.sink.deliver(Delivery::Completions(answered));
                    return;
                }
                Mode::Redis if !self.options.offline_queue => {
                    drop(route);
                    self.offline.extend(batch);
                    self.degrade();
                    return;
                }
                Mode::Redis | Mode::Closed => {}
            }
        }
        if self.options.offline_queue {
            self.offline.extend(batch);
        } else {
            let failed = batch
                .into_iter()
                .map(|p| {
                    self.fail(
                        p,
                        FailureKind::OfflineQueueDisabled,
                        "Stream isn't writeable and enableOfflineQueue options is false",
                    )
                })
                .collect();
            self.sink.deliver(Delivery::Completions(failed));
        }
    }

    /// While not connected: commands are held (see [`Dispatcher::hold`]), the outage is
    /// declared when the grace period ends, and control messages interrupt the wait. A
    /// retry decision interrupts only when `want_retry`: otherwise it is a late answer to
    /// a `close` that `disconnect(true)` already overtook.
    async fn wait_for<F: Future>(&mut self, fut: F, want_retry: bool) -> Waited<F::Output> {
        let mut fut = pin!(fut);
        loop {
            let grace = self.grace;
            tokio::select! {
                out = &mut fut => return Waited::Done(out),
                _ = tokio::time::sleep_until(grace.unwrap_or_else(Instant::now)), if grace.is_some() => {
                    self.degrade();
                }
                msg = self.rx.recv() => match msg {
                    Some(Msg::Commands(batch)) => {
                        let batch = batch.into_pendings(self.options.metrics.as_deref());
                        self.hold(batch)
                    }
                    Some(Msg::Retry(_)) if !want_retry => {}
                    Some(control) => return Waited::Control(control),
                    None => return Waited::Control(Msg::Disconnect { reconnect: false }),
                },
            }
        }
    }

    /// Runs the connection state machine until the client ends.
    pub(super) async fn run(mut self) {
        let mut attempts: u32 = 0;
        let mut quit: Option<(u32, u8)> = None;
        let mut ever_ready = false;
        // Whether the last event was a `close` (so ending does not announce a second one).
        let mut close_announced;
        'connect: loop {
            close_announced = false;
            self.start_grace();
            self.event(Event::Connecting);
            let timeout = self.options.connect_timeout;
            let options = self.options.clone();
            let db = self.db.load(Ordering::Relaxed);
            let attempt = async move {
                let options = super::sentinel::resolve(options).await?;
                establish(&options, db).await
            };
            let connected = match self
                .wait_for(tokio::time::timeout(timeout, attempt), false)
                .await
            {
                Waited::Done(Ok(result)) => result,
                Waited::Done(Err(_)) => {
                    Err(("ETIMEDOUT".to_owned(), "connect ETIMEDOUT".to_owned()))
                }
                Waited::Control(Msg::Quit { id, flags }) => {
                    quit = Some((id, flags));
                    break 'connect;
                }
                Waited::Control(Msg::Disconnect { reconnect: true }) => continue 'connect,
                Waited::Control(_) => break 'connect,
            };
            let stop = match connected {
                Ok(conn) => {
                    attempts = 0;
                    ever_ready = true;
                    self.grace = None;
                    self.last_error = None;
                    self.event(Event::Connect);
                    // `ready` only once the outage's writes are back on Redis, so what
                    // the client sends on `ready` (resubscriptions) goes to Redis.
                    match self.recover(&conn.0).await {
                        Some(false) => Stop::Lost,
                        recovered => {
                            self.event(Event::Ready);
                            if recovered.is_some() {
                                self.event(Event::Recover);
                            }
                            self.serve(conn, &mut quit).await
                        }
                    }
                }
                Err((code, message)) => {
                    self.error(code, message);
                    // Redis absent at start: memory answers at once, without waiting
                    // for reconnect attempts.
                    if !ever_ready {
                        self.degrade();
                    }
                    Stop::Lost
                }
            };
            match stop {
                Stop::End | Stop::Disconnect { reconnect: false } => break 'connect,
                Stop::Disconnect { reconnect: true } => {
                    self.event(Event::Close {
                        retry_attempt: None,
                    });
                    continue 'connect;
                }
                Stop::Hung => {
                    // The commands in flight already waited the whole timeout.
                    if let Some(router) = self.router.clone() {
                        self.error("ETIMEDOUT".into(), silence(&router));
                    }
                    self.degrade();
                }
                Stop::Lost => self.start_grace(),
            }
            attempts += 1;
            if let (Some(max), false) = (self.options.max_retries_per_request, self.falls_back()) {
                if attempts.is_multiple_of(max + 1) {
                    let message = format!(
                        "Reached the max retries per request limit (which is {max}). Refer to \"maxRetriesPerRequest\" option for details."
                    );
                    self.fail_offline(FailureKind::MaxRetries, &message);
                }
            }
            self.event(Event::Close {
                retry_attempt: Some(attempts),
            });
            close_announced = true;
            // Wait for the JS retryStrategy decision, then for the delay it chose.
            let delay = match self.wait_for(std::future::pending::<()>(), true).await {
                Waited::Control(Msg::Retry(delay)) => delay,
                Waited::Control(Msg::Quit { id, flags }) => {
                    quit = Some((id, flags));
                    None
                }
                Waited::Control(Msg::Disconnect { reconnect: true }) => Some(Duration::ZERO),
                Waited::Control(_) => None,
                Waited::Done(()) => unreachable!("pending() never completes"),
            };
            // A strategy that gives up ends the client without failover (ioredis
            // semantics). With failover the memory engine keeps answering until
            // quit()/disconnect(); disconnect(true) (the facade's connect()) tries again.
            let Some(delay) = delay else {
                if !self.falls_back() {
                    break 'connect;
                }
                self.degrade();
                match self.wait_for(std::future::pending::<()>(), false).await {
                    Waited::Control(Msg::Disconnect { reconnect: true }) => continue 'connect,
                    Waited::Control(Msg::Quit { id, flags }) => quit = Some((id, flags)),
                    _ => {}
                }
                break 'connect;
            };
            if !delay.is_zero() {
                match self.wait_for(tokio::time::sleep(delay), false).await {
                    Waited::Done(()) | Waited::Control(Msg::Disconnect { reconnect: true }) => {}
                    Waited::Control(Msg::Quit { id, flags }) => {
                        quit = Some((id, flags));
                        break 'connect;
                    }
                    Waited::Control(_) => break 'connect,
                }
            }
        }
        // Refuse new submissions, then fail whatever raced in before the refusal.
        self.rx.close();
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Commands(batch) = msg {
                let batch = batch.into_pendings(self.options.metrics.as_deref());
                self.offline.extend(batch);
            }
        }
        self.fail_offline(FailureKind::Closed, "Connection is closed.");
        // The router holds the sink too (for in-memory pub/sub): release it with the
        // dispatcher's, so an ended client never keeps Node alive.
        if let Some(router) = &self.router {
            router.close();
        }
        if !close_announced {
            self.event(Event::Close {
                retry_attempt: None,
            });
        }
        if let Some((id, flags)) = quit {
            let ok = Completion {
                id,
                flags,
                outcome: Ok(Reply::Status("OK".into())),
            };
            self.sink.deliver(Delivery::Completions(vec![ok]));
        }
        self.event(Event::End);
    }

    /// After a reconnect during an outage: back to Redis, writing the outage's keys
    /// there first. `None` when there was no outage; `Some(false)` when the connection
    /// failed meanwhile (the outage goes on).
    async fn recover(&mut self, conn: &MultiplexedConnection) -> Option<bool> {
        let router = self.router.clone()?;
        let replay = router.recover()?;
        let ok = write_back(conn.clone(), &replay, self.options.connect_timeout).await;
        router.replayed(replay, ok);
        if !ok {
            self.error(
                "ECONNRESET".into(),
                "Writing the outage's keys back to Redis failed".into(),
            );
        }
        Some(ok)
    }

    /// Sends commands over a live connection until it stops.
    async fn serve(&mut self, (conn, mut pushes): Conn, quit: &mut Option<(u32, u8)>) -> Stop {
        let command_timeout = self.options.command_timeout;
        // Flipped when serving stops, so every in-flight future finishes (as aborted) and
        // hands its command back instead of being dropped with its id.
        let (abort_tx, abort_rx) = tokio::sync::watch::channel(false);
        // One future per group: a single command, or consecutive commands of one intake
        // sent as one redis-rs pipeline (one channel message, one write, one wake-up).
        let send = |mut group: Vec<Pending>| {
            let mut conn = conn.clone();
            let mut abort = abort_rx.clone();
            // Commands move into the pipeline (the group keeps ids and budgets); they
            // come back with the result, for a failover to run them elsewhere.
            let pipe = (group.len() > 1).then(|| {
                let mut pipe = redis::pipe();
                for pending in &mut group {
                    pipe.add_command(std::mem::replace(&mut pending.cmd, redis::Cmd::new()));
                }
                pipe
            });
            async move {
                let sent = {
                    let request = async {
                        match &pipe {
                            Some(pipe) => conn.send_packed_commands(pipe, 0, group.len()).await,
                            None => conn
                                .send_packed_command(&group[0].cmd)
                                .await
                                .map(|v| vec![v]),
                        }
                    };
                    let deadline = async {
                        match command_timeout {
                            Some(limit) => tokio::time::sleep(limit).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        result = request => Sent::Replied(result),
                        _ = deadline => Sent::TimedOut,
                        _ = abort.changed() => Sent::Aborted,
                    }
                };
                // Only unanswered commands need their arguments again (to re-send them or
                // run them in memory); answered ones skip the copy.
                if let (Some(pipe), false) = (pipe, matches!(sent, Sent::Replied(Ok(_)))) {
                    for (pending, cmd) in group.iter_mut().zip(pipe.cmd_iter()) {
                        pending.cmd = cmd.clone();
                    }
                }
                (group, sent)
            }
        };
        let mut inflight = FuturesUnordered::new();
        let mut blocking = 0usize;
        let subscriber = self.options.subscriber;
        // Splits commands into groups; blocking commands (and everything on a subscriber
        // connection) go alone so a BLPOP does not hold back replies sent before it.
        let enqueue =
            |inflight: &mut FuturesUnordered<_>, blocking: &mut usize, commands: Vec<Pending>| {
                let mut group = Vec::new();
                for pending in commands {
                    if subscriber || pending.flags & FLAG_BLOCKING != 0 {
                        *blocking += usize::from(pending.flags & FLAG_BLOCKING != 0);
                        if !group.is_empty() {
                            inflight.push(send(std::mem::take(&mut group)));
                        }
                        inflight.push(send(vec![pending]));
                    } else {
                        group.push(pending);
                    }
                }
                if !group.is_empty() {
                    inflight.push(send(group));
                }
            };
        let offline: Vec<Pending> = std::mem::take(&mut self.offline).into();
        enqueue(&mut inflight, &mut blocking, offline);
        let probe_every = self.options.ping_interval;
        let mut ticker = tokio::time::interval(probe_every.unwrap_or(Duration::from_secs(3600)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.reset();
        let mut probe = pin!(futures_util::future::Fuse::terminated());
        // Failover: Redis answers in order, so commands in flight with no reply at all
        // for the router's timeout mean a hung server (a blocking command legitimately
        // holds the connection, so none may be in flight). One timer, reset per batch.
        let hang_after = self.router.as_ref().map(|r| r.timeout());
        let mut hang = pin!(tokio::time::sleep(hang_after.unwrap_or_default()));
        let mut active_since_tick = false;
        let mut batch = Vec::new();
        let metrics = self.options.metrics.clone();
        let stop = loop {
            let was_idle = inflight.is_empty();
            tokio::select! {
                biased;
                Some((pending, sent)) = inflight.next(), if !inflight.is_empty() => {
                    let mut lost = self.settle(pending, sent, &mut batch, &mut blocking);
                    while let Some(Some((pending, sent))) = inflight.next().now_or_never() {
                        lost |= self.settle(pending, sent, &mut batch, &mut blocking);
                    }
                    active_since_tick = true;
                    if let Some(after) = hang_after {
                        hang.as_mut().reset(Instant::now() + after);
                    }
                    if lost { break Stop::Lost; }
                }
                msg = self.rx.recv() => {
                    let Some(first) = msg else {
                        // Every handle was dropped: nobody can read replies any more.
                        break Stop::End;
                    };
                    let mut next = Some(first);
                    let mut taken = 0;
                    let mut control = None;
                    while let Some(msg) = next.take() {
                        match msg {
                            Msg::Commands(batch) => {
                                let batch = batch.into_pendings(metrics.as_deref());
                                enqueue(&mut inflight, &mut blocking, batch)
                            }
                            Msg::Quit { id, flags } => {
                                *quit = Some((id, flags));
                                control = Some(Stop::End);
                                break;
                            }
                            Msg::Disconnect { reconnect } => {
                                control = Some(Stop::Disconnect { reconnect });
                                break;
                            }
                            Msg::Retry(_) => {}
                        }
                        taken += 1;
                        if taken < INTAKE_BATCH {
                            next = self.rx.try_recv().ok();
                        }
                    }
                    if let (Some(after), true) = (hang_after, was_idle) {
                        hang.as_mut().reset(Instant::now() + after);
                    }
                    if let Some(Stop::End) = control {
                        // QUIT: deliver every reply still owed, then say goodbye.
                        while let Some((pending, sent)) = inflight.next().await {
                            self.settle(pending, sent, &mut batch, &mut blocking);
                        }
                        let mut conn = conn.clone();
                        let _ = tokio::time::timeout(Duration::from_secs(1), conn.send_packed_command(&redis::cmd("QUIT"))).await;
                    }
                    if let Some(stop) = control { break stop; }
                }
                Some(push) = pushes.recv() => {
                    let kind = match push.kind {
                        PushKind::Disconnection => break Stop::Lost,
                        PushKind::Message => MessageKind::Message,
                        PushKind::PMessage => MessageKind::PMessage,
                        PushKind::SMessage => MessageKind::SMessage,
                        // Subscribe confirmations also arrive as command replies.
                        _ => continue,
                    };
                    let parts = push.data.into_iter().map(|v| match v {
                        Value::BulkString(b) => b,
                        Value::SimpleString(s) => s.into_bytes(),
                        other => format!("{other:?}").into_bytes(),
                    }).collect();
                    self.sink.deliver(Delivery::Message { kind, parts });
                }
                _ = &mut hang, if hang_after.is_some() && !inflight.is_empty() && blocking == 0 => {
                    break Stop::Hung;
                }
                _ = ticker.tick(), if probe_every.is_some() && probe.is_terminated() => {
                    // Only an idle connection is probed: a PING would queue behind what is in
                    // flight (a blocking command, a large pipeline still being written) and
                    // read that wait as a dead connection.
                    if !active_since_tick && inflight.is_empty() {
                        let mut conn = conn.clone();
                        let limit = probe_every.unwrap_or_default() * 2;
                        probe.set(async move {
                            match tokio::time::timeout(limit, conn.send_packed_command(&redis::cmd("PING"))).await {
                                Ok(Ok(_)) => Probe::Alive,
                                Ok(Err(_)) => Probe::Closed,
                                Err(_) => Probe::Silent,
                            }
                        }.fuse());
                    }
                    active_since_tick = false;
                }
                outcome = &mut probe => match outcome {
                    Probe::Alive => {}
                    // The server closed the socket (CLIENT KILL, restart): a plain reconnect.
                    Probe::Closed => break Stop::Lost,
                    Probe::Silent => {
                        self.error("ETIMEDOUT".into(), "Connection is not answering PING (dead connection detected)".into());
                        break Stop::Lost;
                    }
                },
            }
            if !batch.is_empty() {
                self.sink
                    .deliver(Delivery::Completions(std::mem::take(&mut batch)));
            }
        };
        // Whatever is still in flight cannot be answered on this connection any more.
        let _ = abort_tx.send(true);
        while let Some((group, sent)) = inflight.next().await {
            self.settle(group, sent, &mut batch, &mut blocking);
        }
        if !batch.is_empty() {
            self.sink.deliver(Delivery::Completions(batch));
        }
        stop
    }

    /// Completes a group whose future finished; true when its result proves the
    /// connection dead. Commands the connection could not answer are kept for a
    /// failover or, as ioredis's `autoResendUnfulfilledCommands`, for the next
    /// connection (they may have run on the server: the client cannot know); they fail
    /// with `Connection is closed.` if the client ends first.
    fn settle(
        &mut self,
        group: Vec<Pending>,
        sent: Sent,
        batch: &mut Vec<Completion>,
        blocking: &mut usize,
    ) -> bool {
        for pending in &group {
            *blocking -= usize::from(pending.flags & FLAG_BLOCKING != 0);
        }
        let (failure, lost) = match sent {
            Sent::Replied(Ok(values)) => {
                let mut values = values.into_iter();
                for pending in group {
                    self.budget.release(pending.bytes);
                    let outcome = match values.next() {
                        Some(value) => {
                            if let (Some(db), Value::Okay) = (pending.select, &value) {
                                self.db.store(db, Ordering::Relaxed);
                            }
                            Ok(to_reply(value))
                        }
                        None => Err(Failure::new(
                            FailureKind::Aborted,
                            "Command aborted: no reply in the pipeline",
                        )),
                    };
                    self.record(
                        &pending,
                        !matches!(outcome, Ok(ref r) if !matches!(r, Reply::Error(_))),
                    );
                    batch.push(Completion {
                        id: pending.id,
                        flags: pending.flags,
                        outcome,
                    });
                }
                return false;
            }
            Sent::Replied(Err(err)) => match server_error_text(&err) {
                Some(text) => (Ok(Reply::Error(text)), false),
                None => (
                    Err(Failure::new(
                        FailureKind::Aborted,
                        "Command aborted due to connection close",
                    )),
                    true,
                ),
            },
            Sent::TimedOut => (
                Err(Failure::new(FailureKind::Timeout, "Command timed out")),
                false,
            ),
            Sent::Aborted => (
                Err(Failure::new(
                    FailureKind::Aborted,
                    "Command aborted due to connection close",
                )),
                false,
            ),
        };
        let resend = matches!(
            failure,
            Err(Failure {
                kind: FailureKind::Aborted,
                ..
            })
        ) && (self.falls_back() || self.options.resend_unfulfilled);
        let mut given_up = Vec::new();
        for mut pending in group {
            // A command that was in flight at every one of several drops in a row may be
            // what kills the connection (a reply the parser refuses): it fails instead of
            // being re-sent forever.
            if resend && pending.drops < MAX_DROPS_IN_FLIGHT {
                pending.drops += 1;
                self.offline.push_back(pending);
            } else {
                given_up.push(pending);
            }
        }
        for pending in given_up {
            self.budget.release(pending.bytes);
            self.record(&pending, true);
            batch.push(Completion {
                id: pending.id,
                flags: pending.flags,
                outcome: failure.clone(),
            });
        }
        lost
    }
}

/// Writes a recovery's commands to Redis in chunks; false when any failed.
async fn write_back(mut conn: MultiplexedConnection, replay: &Replay, limit: Duration) -> bool {
    for chunk in replay.commands.chunks(REPLAY_CHUNK) {
        let mut pipe = redis::pipe();
        for command in chunk {
            let mut cmd = redis::Cmd::new();
            for arg in command {
                cmd.arg(arg.as_slice());
            }
            pipe.add_command(cmd);
        }
        match tokio::time::timeout(limit, conn.send_packed_commands(&pipe, 0, chunk.len())).await {
            // A remembered script that does not compile (an EVAL that failed) is refused
            // by SCRIPT LOAD on Redis as it was before; it must not fail the replay.
            Ok(Ok(values))
                if !values.iter().zip(chunk).any(|(v, command)| {
                    matches!(v, Value::ServerError(_)) && !is_script_load(command)
                }) => {}
            _ => return false,
        }
    }
    true
}

/// True for `SCRIPT LOAD <source>` (the first commands of a [`Replay`]).
fn is_script_load(command: &[Vec<u8>]) -> bool {
    matches!(command, [name, sub, _] if name.eq_ignore_ascii_case(b"SCRIPT") && sub.eq_ignore_ascii_case(b"LOAD"))
}

/// A redis-rs client for `options` (address, TLS, credentials, database `db`); errors
/// as (code, message) without credentials.
pub(super) fn open_client(
    options: &ClientOptions,
    db: u32,
) -> Result<redis::Client, (String, String)> {
    use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};
    let addr = match (&options.address, &options.tls) {
        (super::Address::Unix(path), _) => ConnectionAddr::Unix(path.into()),
        (super::Address::Tcp { host, port }, None) => ConnectionAddr::Tcp(host.clone(), *port),
        (super::Address::Tcp { host, port }, Some(tls)) => ConnectionAddr::TcpTls {
            host: host.clone(),
            port: *port,
            insecure: tls.insecure,
            tls_params: None,
        },
    };
    let mut settings = RedisConnectionInfo::default().set_db(i64::from(db));
    if options.subscriber {
        settings = settings.set_protocol(redis::ProtocolVersion::RESP3);
    }
    if let Some(user) = &options.username {
        settings = settings.set_username(user);
    }
    if let Some(password) = &options.password {
        settings = settings.set_password(password);
    }
    let info = addr
        .into_connection_info()
        .map_err(|e| describe(e, &options.address))?
        .set_redis_settings(settings);
    let client = match &options.tls {
        Some(tls) if tls.ca.is_some() || tls.client.is_some() => redis::Client::build_with_tls(
            info,
            redis::TlsCertificates {
                client_tls: tls.client.as_ref().map(|c| redis::ClientTlsConfig {
                    client_cert: c.cert.clone(),
                    client_key: c.key.clone(),
                }),
                root_cert: tls.ca.clone(),
            },
        ),
        _ => redis::Client::open(info),
    }
    .map_err(|e| describe(e, &options.address))?;
    Ok(client)
}

/// Connects, authenticates, selects `db`, names the client and runs the ready check.
/// Errors come back as (code, message) without credentials.
pub(crate) async fn establish(options: &ClientOptions, db: u32) -> Result<Conn, (String, String)> {
    let client = open_client(options, db)?;
    let mut config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        // Replies may legitimately take long (BLPOP 0); deadlines are `commandTimeout`'s job.
        .set_response_timeout(None);
    // Push frames (RESP3 only) carry published messages and prompt disconnect notices.
    let (push_tx, push_rx) = mpsc::unbounded_channel();
    if options.subscriber {
        config = config.set_push_sender(push_tx);
    }
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| describe(e, &options.address))?;
    if let Some(name) = &options.client_name {
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(name)
            .exec_async(&mut conn)
            .await
            .map_err(|e| describe(e, &options.address))?;
    }
    if options.ready_check {
        // A server still loading its dataset answers most commands with LOADING.
        loop {
            let info: String = redis::cmd("INFO")
                .arg("persistence")
                .query_async(&mut conn)
                .await
                .map_err(|e| {
                    let (code, message) = describe(e, &options.address);
                    (code, format!("Ready check failed: {message}"))
                })?;
            if !info.contains("loading:1") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok((conn, push_rx))
}

/// An error as (node-style code, message). I/O errors get the codes and wording of
/// Node's `net` (`connect ECONNREFUSED 127.0.0.1:6379`); server errors keep their first
/// word (`WRONGPASS`, `NOAUTH`…). Credentials never appear: redis-rs does not echo them.
pub(crate) fn describe(err: RedisError, address: &super::Address) -> (String, String) {
    if let Some(text) = server_error_text(&err) {
        let code = text.split(' ').next().unwrap_or_default().to_owned();
        return (code, text);
    }
    let target = match address {
        super::Address::Tcp { host, port } => format!("{host}:{port}"),
        super::Address::Unix(path) => path.clone(),
    };
    let text = err.to_string();
    let code = if err.is_connection_refusal() || text.contains("Connection refused") {
        "ECONNREFUSED"
    } else if err.is_timeout() || text.contains("timed out") {
        "ETIMEDOUT"
    } else if text.contains("Connection reset") {
        "ECONNRESET"
    } else if text.contains("No such file or directory") {
        "ENOENT"
    } else if err.kind() == redis::ErrorKind::AuthenticationFailed {
        "WRONGPASS"
    } else {
        ""
    };
    match code {
        "ECONNREFUSED" | "ETIMEDOUT" | "ENOENT" => {
            (code.into(), format!("connect {code} {target}"))
        }
        // redis-rs folds the server's WRONGPASS/AUTH errors into one kind.
        "WRONGPASS" => (
            code.into(),
            "WRONGPASS authentication failed: invalid username-password pair or user is disabled"
                .into(),
        ),
        _ => (code.into(), text),
    }
}

/// The full text of a server error reply (`WRONGTYPE Operation against…`), or `None`
/// when the error did not come from the server.
fn server_error_text(err: &RedisError) -> Option<String> {
    if err.is_io_error() || err.is_connection_dropped() || err.is_unrecoverable_error() {
        return None;
    }
    let code = err.code()?;
    Some(match err.detail() {
        Some(detail) => format!("{code} {detail}"),
        None => code.to_owned(),
    })
}

/// Maps a redis-rs value (RESP2 on this connection) to the common reply type.
fn to_reply(value: Value) -> Reply {
    match value {
        Value::Nil => Reply::Nil,
        Value::Int(n) => Reply::Int(n),
        Value::BulkString(bytes) => Reply::Bulk(bytes),
        Value::Array(items) | Value::Set(items) => {
            Reply::Array(items.into_iter().map(to_reply).collect())
        }
        Value::SimpleString(s) => Reply::Status(s),
        Value::Okay => Reply::Status("OK".into()),
        Value::Map(pairs) => Reply::Array(
            pairs
                .into_iter()
                .flat_map(|(k, v)| [to_reply(k), to_reply(v)])
                .collect(),
        ),
        Value::Attribute { data, .. } => to_reply(*data),
        Value::Double(d) => Reply::Bulk(d.to_string().into_bytes()),
        Value::Boolean(b) => Reply::Int(i64::from(b)),
        Value::VerbatimString { text, .. } => Reply::Bulk(text.into_bytes()),
        Value::BigNumber(digits) => Reply::Bulk(digits),
        Value::Push { data, .. } => Reply::Array(data.into_iter().map(to_reply).collect()),
        Value::ServerError(err) => Reply::Error(match err.details() {
            Some(detail) => format!("{} {detail}", err.code()),
            None => err.code().to_owned(),
        }),
        // Value is non-exhaustive; any future RESP3 type is reported, not dropped.
        other => Reply::Error(format!("ERR unsupported reply type: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_resp_values() {
        assert_eq!(to_reply(Value::Okay), Reply::Status("OK".into()));
        assert_eq!(
            to_reply(Value::Array(vec![
                Value::Nil,
                Value::Int(3),
                Value::BulkString(b"x".to_vec())
            ])),
            Reply::Array(vec![Reply::Nil, Reply::Int(3), Reply::Bulk(b"x".to_vec())])
        );
        assert_eq!(to_reply(Value::Boolean(true)), Reply::Int(1));
    }

    #[test]
    fn recognizes_script_load() {
        let cmd = |parts: &[&[u8]]| parts.iter().map(|p| p.to_vec()).collect::<Vec<_>>();
        assert!(is_script_load(&cmd(&[b"SCRIPT", b"LOAD", b"return 1"])));
        assert!(is_script_load(&cmd(&[b"script", b"load", b"x"])));
        assert!(!is_script_load(&cmd(&[b"SCRIPT", b"FLUSH"])));
        assert!(!is_script_load(&cmd(&[b"SET", b"LOAD", b"x"])));
    }
}
