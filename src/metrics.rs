//! Binding for the command metrics of the core (`bulwark_core::metrics`): one
//! `CommandMetrics` per JS `Redis` client, handed to each of its connections and read
//! at scrape time.

// napi-derive registers the exports only outside `cfg(test)`, so in the test build of
// this cdylib the plain functions of a private module look unused.
#![cfg_attr(test, allow(dead_code))]

use std::sync::Arc;

use bulwark_core::metrics;
use napi_derive::napi;

/// Counts and latencies of one client's commands, by command and backend.
#[napi]
pub struct CommandMetrics {
    pub(crate) inner: Arc<metrics::CommandMetrics>,
}

/// One series: commands of one name answered by one backend.
#[napi(object)]
pub struct CommandSeries {
    /// `redis` or `memory`.
    pub backend: String,
    /// Lowercase command name, or `other`.
    pub command: String,
    /// Commands completed.
    pub count: f64,
    /// Of which error replies or client-side failures.
    pub errors: f64,
    /// Total latency in seconds.
    pub sum_seconds: f64,
    /// Cumulative counts at each bound of `commandLatencyBuckets()`, then `+Inf`.
    pub buckets: Vec<f64>,
}

#[napi]
impl CommandMetrics {
    /// Empty metrics; pass them to each `RedisConnection` of the client.
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
        }
    }

    /// Every series that has counted a command.
    #[napi(catch_unwind)]
    pub fn snapshot(&self) -> Vec<CommandSeries> {
        self.inner
            .snapshot()
            .into_iter()
            .map(|s| CommandSeries {
                backend: s.backend.into(),
                command: s.command.into(),
                count: s.count as f64,
                errors: s.errors as f64,
                sum_seconds: s.sum_seconds,
                buckets: s.buckets.iter().map(|&n| n as f64).collect(),
            })
            .collect()
    }
}

impl Default for CommandMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Upper bounds (seconds) of the command latency histogram's buckets, without `+Inf`.
#[napi(catch_unwind)]
pub fn command_latency_buckets() -> Vec<f64> {
    metrics::BUCKETS.to_vec()
}
