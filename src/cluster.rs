//! N-API binding of the Redis Cluster client (`bulwark-core`'s `cluster` module): the
//! same surface as `RedisConnection` (submitBatch, quit, disconnect, retry), so the JS
//! `Redis` machinery drives it unchanged, plus the slot map for `nodes()`/`health()`.

use std::time::Duration;

use bulwark_core::client::ClientOptions;
use bulwark_core::cluster::{ClusterLink, ClusterOptions, ScaleReads};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::metrics::CommandMetrics;
use crate::redis::{
    delivery_sink, fallback_health, fallback_options, ConnectionOptions, FallbackHealth,
};

/// Cluster settings as the JS facade passes them (validated there).
#[napi(object)]
pub struct ClusterConnectionOptions {
    /// Per-node connection settings (host/port ignored).
    pub node: ConnectionOptions,
    /// Startup nodes, `host:port`.
    pub startup: Vec<String>,
    /// `maxRedirections`.
    pub max_redirections: u32,
    /// `retryDelayOnMoved`, ms.
    pub retry_delay_on_moved: u32,
    /// `retryDelayOnFailover`, ms.
    pub retry_delay_on_failover: u32,
    /// `retryDelayOnClusterDown`, ms.
    pub retry_delay_on_cluster_down: u32,
    /// `retryDelayOnTryAgain`, ms.
    pub retry_delay_on_try_again: u32,
    /// `slotsRefreshTimeout`, ms.
    pub slots_refresh_timeout: u32,
    /// `slotsRefreshInterval`, ms (absent: off).
    pub slots_refresh_interval: Option<u32>,
    /// `'master'`, `'slave'`, `'all'` or `'custom'` (a JS function picks: `pinNextBatch`).
    pub scale_reads: String,
    /// How long a command waits for its slot across lost connections, ms.
    pub failover_timeout: u32,
    /// `natMap` entries, `ip:port=host:port`.
    pub nat: Vec<String>,
    /// `natMap` is a function: the facade answers `natMap` events (`answer`).
    pub nat_function: bool,
    /// A `dnsLookup` function: the facade answers `dnsLookup` events (`answer`).
    pub dns_lookup: bool,
}

/// One node of the slot map.
#[napi(object)]
pub struct ClusterNodeInfo {
    /// `host:port`.
    pub address: String,
    /// `'master'` or `'slave'`.
    pub role: String,
    /// Slots it serves (primaries).
    pub slots: u32,
}

fn ms(n: u32) -> Duration {
    Duration::from_millis(u64::from(n))
}

/// The native half of a `Cluster` client.
#[napi]
pub struct ClusterConnection {
    link: ClusterLink,
}

#[napi]
impl ClusterConnection {
    /// Starts reading the slot map at once. `onDelivery(batch)` receives every reply
    /// batch and event.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "options: ClusterConnectionOptions, onDelivery: (batch: unknown[]) => void, metrics?: CommandMetrics | undefined | null"
    )]
    pub fn new(
        options: ClusterConnectionOptions,
        on_delivery: Function<'_, (), ()>,
        metrics: Option<&CommandMetrics>,
    ) -> Result<Self> {
        let string_numbers = options.node.string_numbers;
        let sink = delivery_sink(on_delivery, string_numbers)?;
        let offline_queue = options.node.offline_queue;
        let fallback = fallback_options(&options.node);
        // Every node link records the commands it sends (a redirected command once per
        // node that answered it), the outage's memory engine those it answers.
        let node = ClientOptions {
            metrics: metrics.map(|m| m.inner.clone()),
            ..options.node.into()
        };
        let cluster = ClusterOptions {
            startup: options.startup,
            node,
            max_redirections: options.max_redirections,
            retry_delay_on_moved: ms(options.retry_delay_on_moved),
            retry_delay_on_failover: ms(options.retry_delay_on_failover),
            retry_delay_on_cluster_down: ms(options.retry_delay_on_cluster_down),
            retry_delay_on_try_again: ms(options.retry_delay_on_try_again),
            slots_refresh_timeout: ms(options.slots_refresh_timeout),
            slots_refresh_interval: options.slots_refresh_interval.filter(|n| *n > 0).map(ms),
            scale_reads: match options.scale_reads.as_str() {
                "slave" => ScaleReads::Slave,
                "all" => ScaleReads::All,
                "custom" => ScaleReads::Custom,
                _ => ScaleReads::Master,
            },
            failover_deadline: ms(options.failover_timeout),
            nat: options
                .nat
                .into_iter()
                .filter_map(|e| e.split_once('=').map(|(a, b)| (a.to_owned(), b.to_owned())))
                .collect(),
            nat_function: options.nat_function,
            dns_lookup: options.dns_lookup,
            offline_queue,
            fallback,
        };
        Ok(Self {
            link: ClusterLink::start(cluster, sink),
        })
    }

    /// Always `null`: a cluster has no direct memory slot.
    #[napi(catch_unwind)]
    pub fn direct_slot(&self) -> Option<u32> {
        None
    }

    /// Routes every command in `batch[..len]` (the `RedisConnection` encoding). Null as
    /// `RedisConnection.submitBatch` with no completion known at once: every completion,
    /// a malformed entry's included, is delivered.
    #[napi(catch_unwind)]
    pub fn submit_batch(&self, batch: &[u8], len: u32) -> Result<Null> {
        let encoded = batch
            .get(..len as usize)
            .ok_or_else(|| Error::new(Status::InvalidArg, "len exceeds the batch buffer"))?;
        self.link.submit_batch(encoded);
        Ok(Null)
    }

    /// Failover counters and state (`null` without failover).
    #[napi(catch_unwind)]
    pub fn health(&self) -> Option<FallbackHealth> {
        Some(fallback_health(self.link.router()?.stats()))
    }

    /// QUIT every node after the replies owed; completion `id` resolves `OK`.
    #[napi(catch_unwind)]
    pub fn quit(&self, id: u32) {
        self.link.quit(id);
    }

    /// Close every node now; reconnect when asked to.
    #[napi(catch_unwind)]
    pub fn disconnect(&self, reconnect: bool) {
        self.link.disconnect(reconnect);
    }

    /// The `clusterRetryStrategy` decision after a failed start-up attempt: the delay in
    /// ms, or a negative number to give up. (Node reconnects are decided in the core.)
    #[napi(catch_unwind)]
    pub fn retry(&self, delay_ms: f64) {
        let delay =
            (delay_ms >= 0.0).then(|| Duration::from_secs_f64(delay_ms.min(2.0e9) / 1000.0));
        self.link.retry(delay);
    }

    /// Commands routed and not answered yet (the `pending` metrics gauge).
    #[napi(catch_unwind)]
    pub fn pending(&self) -> u32 {
        self.link.pending().min(u32::MAX as usize) as u32
    }

    /// The slot map's nodes.
    #[napi(catch_unwind)]
    pub fn nodes(&self) -> Vec<ClusterNodeInfo> {
        self.link
            .nodes()
            .into_iter()
            .map(|(address, role, slots)| ClusterNodeInfo {
                address,
                role: role.to_owned(),
                slots,
            })
            .collect()
    }

    /// The primary serving `slot`, `host:port` (`null` when not covered).
    #[napi(catch_unwind)]
    pub fn master_of(&self, slot: u32) -> Option<String> {
        u16::try_from(slot)
            .ok()
            .and_then(|s| self.link.master_of(s))
    }

    /// `slot`'s primary then its replicas, `host:port` (`null` when not covered).
    #[napi(catch_unwind)]
    pub fn shard_of(&self, slot: u32) -> Option<Vec<String>> {
        u16::try_from(slot).ok().and_then(|s| self.link.shard_of(s))
    }

    /// Send every command of the next `submitBatch` to `address` (a custom scaleReads).
    #[napi(catch_unwind)]
    pub fn pin_next_batch(&self, address: String) {
        self.link.pin_next_batch(address);
    }

    /// The answer of the `natMap` / `dnsLookup` function to the core's question: a value
    /// (`host:port` for natMap, an IP for dnsLookup), nothing, or the function's error.
    #[napi(catch_unwind)]
    pub fn answer(
        &self,
        kind: String,
        question: String,
        value: Option<String>,
        error: Option<String>,
    ) {
        let answer = match error {
            Some(e) => Err(e),
            None => Ok(value),
        };
        self.link.answer(kind, question, answer);
    }

    /// Replaces the startup nodes (`host:port`) the next connect cycle starts from.
    #[napi(catch_unwind)]
    pub fn set_startup_nodes(&self, nodes: Vec<String>) {
        self.link.set_startup(nodes);
    }

    /// Re-read the slot map now.
    #[napi(catch_unwind)]
    pub fn refresh_slots(&self) {
        self.link.refresh();
    }

    /// The last node or slot-map error.
    #[napi(catch_unwind)]
    pub fn last_error(&self) -> Option<String> {
        self.link.last_error()
    }
}
