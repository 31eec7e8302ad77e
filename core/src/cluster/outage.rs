//! Whole-cluster outage: when no node answers (every CLUSTER SLOTS attempt failed) and a
//! command has waited for the fallback timeout, the client answers from the in-process
//! memory engine, exactly as the single-node client does; a probe re-reads the slot map
//! and, once it can, replays the outage's writes (each MULTI…EXEC group on the primary
//! of its key's slot) before anything new is sent. One dead shard while others answer
//! does not fall back: its commands wait for the promotion (see docs/cluster.md).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;

use super::{slot, topology, Job, Shared};
use crate::client::fallback::Mode;
use crate::client::{Address, ClientOptions, Delivery, Event, Sink};

/// Replay commands sent together (a MULTI…EXEC group, or one command).
type Group<'a> = Vec<&'a Vec<Vec<u8>>>;

/// How often an outage probes the cluster.
const PROBE_EVERY: Duration = Duration::from_millis(250);

impl Shared {
    /// True while the memory engine answers.
    pub(super) fn on_memory(&self) -> bool {
        self.router
            .as_ref()
            .is_some_and(|r| r.lock().mode == Mode::Memory)
    }

    /// Answers jobs from the memory engine.
    pub(super) fn run_in_memory(&self, jobs: Vec<Job>) {
        let Some(router) = &self.router else { return };
        let mut route = router.lock();
        let done = jobs
            .into_iter()
            .map(|job| router.execute(&mut route, job.id, job.flags as u8, &job.args))
            .collect();
        drop(route);
        self.sink.deliver(Delivery::Completions(done));
    }

    /// Declares the outage (once) and starts probing for the cluster's return.
    pub(super) fn degrade(&self) {
        let Some(router) = &self.router else { return };
        {
            let mut route = router.lock();
            if !router.degrade(&mut route) {
                return;
            }
        }
        let message = self
            .last_error
            .lock()
            .as_ref()
            .map(super::LastError::reason)
            .unwrap_or_else(|| "no cluster node answered".into());
        router.set_last_error(&message);
        self.sink.deliver(Delivery::Event(Event::Fallback {
            code: "ECLUSTERDOWN".into(),
            message: format!("Redis Cluster unreachable: {message}"),
        }));
        // Jobs that waited for the first slot map are answered now.
        let waiting = self.waiting.lock().take();
        if let Some(jobs) = waiting {
            self.run_in_memory(jobs);
        }
        let me = self.me.clone();
        crate::client::runtime().spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let Some(shared) = me.upgrade() else { return };
                if shared.closing.load(Ordering::Relaxed) {
                    return;
                }
                if shared.gave_up.load(Ordering::Acquire) {
                    continue;
                }
                // Back only once every primary serves (a restarted cluster answers
                // CLUSTER SLOTS before it leaves cluster_state:fail).
                if shared.refresh().await && shared.serving().await {
                    shared.recover().await;
                    return;
                }
            }
        });
    }

    /// True when every primary of the slot map says `cluster_state:ok`.
    async fn serving(&self) -> bool {
        let masters = self.map.lock().masters.clone();
        for addr in masters {
            let info = self.cluster_info(&addr).await;
            if !info.is_some_and(|i| i.contains("cluster_state:ok")) {
                return false;
            }
        }
        true
    }

    /// Back to Redis: new commands wait while the outage's writes are replayed. When
    /// writing them back fails the outage goes on (and the keys stay to replay).
    async fn recover(&self) {
        let Some(router) = self.router.clone() else {
            return;
        };
        {
            let mut waiting = self.waiting.lock();
            if waiting.is_none() {
                *waiting = Some(Vec::new());
            }
        }
        if let Some(replay) = router.recover() {
            let ok = self.write_back(&replay.commands).await;
            router.replayed(replay, ok);
            if !ok {
                self.sink.deliver(Delivery::Event(Event::Error {
                    code: "ECONNRESET".into(),
                    message: "Writing the outage's keys back to the cluster failed".into(),
                }));
                self.degrade();
                return;
            }
        }
        let first_ready = !self.ready.swap(true, Ordering::AcqRel);
        if first_ready {
            self.sink.deliver(Delivery::Event(Event::Connect));
            self.sink.deliver(Delivery::Event(Event::Ready));
        }
        self.sink.deliver(Delivery::Event(Event::Recover));
        let queued = self.waiting.lock().take().unwrap_or_default();
        self.dispatch(queued);
    }

    /// Sends the replay: script loads to every primary, each MULTI…EXEC group to the
    /// primary of its first key. False when anything failed.
    async fn write_back(&self, commands: &[Vec<Vec<u8>>]) -> bool {
        let mut groups: Vec<(Option<u16>, Group)> = Vec::new();
        let mut open: Option<Group> = None;
        let mut open_slot = None;
        for command in commands {
            let name = command
                .first()
                .map(|n| n.to_ascii_uppercase())
                .unwrap_or_default();
            match name.as_slice() {
                b"MULTI" => {
                    open = Some(vec![command]);
                    open_slot = None;
                }
                b"EXEC" => {
                    if let Some(mut group) = open.take() {
                        group.push(command);
                        groups.push((open_slot, group));
                    }
                }
                // The cluster has one database: nothing to select.
                b"SELECT" => {}
                _ => match open.as_mut() {
                    Some(group) => {
                        if open_slot.is_none() {
                            open_slot = command.get(1).map(|k| slot::slot_of(k));
                        }
                        group.push(command);
                    }
                    None => groups.push((None, vec![command])),
                },
            }
        }
        let mut conns: HashMap<String, MultiplexedConnection> = HashMap::new();
        let limit = self.options.node.connect_timeout;
        for (slot, group) in groups {
            let targets: Vec<String> = {
                let map = self.map.lock();
                match slot {
                    Some(s) => map
                        .slots
                        .get(usize::from(s))
                        .cloned()
                        .flatten()
                        .map(|shard| vec![shard.0.clone()])
                        .unwrap_or_default(),
                    None => map.masters.clone(),
                }
            };
            if targets.is_empty() {
                return false;
            }
            for addr in targets {
                let conn = match conns.get(&addr) {
                    Some(conn) => conn.clone(),
                    None => {
                        let Some(conn) = self.connect(&addr).await else {
                            return false;
                        };
                        conns.insert(addr.clone(), conn.clone());
                        conn
                    }
                };
                let mut pipe = redis::pipe();
                for command in &group {
                    let mut cmd = redis::Cmd::new();
                    for arg in command.iter() {
                        cmd.arg(arg.as_slice());
                    }
                    pipe.add_command(cmd);
                }
                let mut conn = conn;
                let sent =
                    tokio::time::timeout(limit, conn.send_packed_commands(&pipe, 0, group.len()))
                        .await;
                let script_load = group.len() == 1
                    && group[0].len() == 3
                    && group[0][0].eq_ignore_ascii_case(b"SCRIPT");
                match sent {
                    Ok(Ok(values))
                        if script_load
                            || !values.iter().any(|v| matches!(v, Value::ServerError(_))) => {}
                    _ => return false,
                }
            }
        }
        true
    }

    /// CLUSTER INFO of the node at `addr` (`None` when it does not answer).
    pub(super) async fn cluster_info(&self, addr: &str) -> Option<String> {
        let mut conn = self.connect(addr).await?;
        redis::cmd("cluster")
            .arg("INFO")
            .query_async(&mut conn)
            .await
            .ok()
    }

    async fn connect(&self, addr: &str) -> Option<MultiplexedConnection> {
        let (host, port) = topology::split(addr)?;
        let options = ClientOptions {
            address: Address::Tcp { host, port },
            fallback: None,
            sentinel: None,
            subscriber: false,
            ready_check: false,
            ..self.options.node.clone()
        };
        crate::client::establish(&options, 0)
            .await
            .ok()
            .map(|(conn, _)| conn)
    }
}
