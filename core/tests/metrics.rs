//! Command metrics through the client core: a memory client and a client of a real
//! redis-server count every command under its name and the backend that answered.

mod support;

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bulwark_core::client::{
    args, Address, Backend, ClientOptions, Delivery, FallbackOptions, Recovery, RedisLink, Sink,
};
use bulwark_core::memory::MemoryConfig;
use bulwark_core::metrics::CommandMetrics;
use support::RedisServer;

struct ChannelSink(Mutex<mpsc::Sender<Delivery>>);

impl Sink for ChannelSink {
    fn deliver(&self, delivery: Delivery) {
        let _ = self.0.lock().unwrap().send(delivery);
    }
}

fn batch(commands: &[(u32, &[&str])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, cmd) in commands {
        let encoded = args::encode(cmd);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
        out.extend_from_slice(&encoded);
    }
    out
}

fn counts(metrics: &CommandMetrics) -> Vec<(&'static str, &'static str, u64, u64)> {
    let mut out: Vec<_> = metrics
        .snapshot()
        .into_iter()
        .map(|s| (s.backend, s.command, s.count, s.errors))
        .collect();
    out.sort();
    out
}

#[test]
fn a_memory_client_counts_each_command_and_error() {
    let (tx, _rx) = mpsc::channel();
    let options = FallbackOptions {
        target: "memory://metrics-test".into(),
        timeout: Duration::from_millis(100),
        recovery: Recovery::Replay,
        memory: MemoryConfig::default(),
    };
    let backend = Backend::memory(&options, 0, Arc::new(ChannelSink(Mutex::new(tx))));
    let metrics = Arc::new(CommandMetrics::default());
    backend.router().unwrap().set_metrics(metrics.clone());
    let done = backend.submit_batch(&batch(&[
        (1, &["SET", "k", "v"]),
        (2, &["get", "k"]),
        (3, &["GET", "k"]),
        (4, &["INCR", "k"]),
        (5, &["NOT-A-COMMAND"]),
    ]));
    assert_eq!(done.len(), 5);
    assert_eq!(
        counts(&metrics),
        vec![
            ("memory", "get", 2, 0),
            ("memory", "incr", 1, 1),
            ("memory", "other", 1, 1),
            ("memory", "set", 1, 0),
        ]
    );
}

#[test]
fn a_redis_client_counts_what_redis_answered() {
    let server = RedisServer::start();
    let (tx, rx) = mpsc::channel();
    let metrics = Arc::new(CommandMetrics::default());
    let options = ClientOptions {
        address: Address::Tcp {
            host: "127.0.0.1".into(),
            port: server.port,
        },
        metrics: Some(metrics.clone()),
        ..ClientOptions::default()
    };
    let backend = Backend::Redis(RedisLink::start(
        options,
        Arc::new(ChannelSink(Mutex::new(tx))),
    ));
    assert!(backend
        .submit_batch(&batch(&[
            (1, &["SET", "k", "v"]),
            (2, &["GET", "k"]),
            (3, &["LPUSH", "k", "x"]),
        ]))
        .is_empty());
    let mut completed = 0;
    while completed < 3 {
        if let Delivery::Completions(batch) = rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            completed += batch.len();
        }
    }
    assert_eq!(
        counts(&metrics),
        vec![
            ("redis", "get", 1, 0),
            ("redis", "lpush", 1, 1),
            ("redis", "set", 1, 0),
        ]
    );
    assert_eq!(backend.pending(), 0);
}
