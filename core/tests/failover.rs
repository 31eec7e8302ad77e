//! Failover of the client core against a real redis-server: memory-only clients answer
//! at once; a killed server's commands are answered from memory, and the outage's
//! writes are replayed after a restart.

mod support;

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bulwark_core::client::{
    args, Address, Backend, ClientOptions, Completion, Delivery, Event, FallbackOptions, Recovery,
    RedisLink, Sink,
};
use bulwark_core::memory::MemoryConfig;
use bulwark_core::Reply;
use support::{Conn, RedisServer};

struct ChannelSink(Mutex<mpsc::Sender<Delivery>>);

impl Sink for ChannelSink {
    fn deliver(&self, delivery: Delivery) {
        let _ = self.0.lock().unwrap().send(delivery);
    }
}

fn sink() -> (Arc<dyn Sink>, mpsc::Receiver<Delivery>) {
    let (tx, rx) = mpsc::channel();
    (Arc::new(ChannelSink(Mutex::new(tx))), rx)
}

fn fallback(target: &str) -> FallbackOptions {
    FallbackOptions {
        target: target.into(),
        timeout: Duration::from_millis(100),
        recovery: Recovery::Replay,
        memory: MemoryConfig::default(),
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

/// Waits for the event `want`, collecting completions on the way and answering every
/// reconnect decision (the JS retryStrategy's job) with 50 ms.
fn until_event(
    client: &Backend,
    rx: &mpsc::Receiver<Delivery>,
    want: fn(&Event) -> bool,
    done: &mut Vec<Completion>,
) {
    loop {
        match rx
            .recv_timeout(Duration::from_secs(15))
            .expect("the awaited event within 15 s")
        {
            Delivery::Event(event) if want(&event) => return,
            Delivery::Event(Event::Close {
                retry_attempt: Some(_),
            }) => client.retry(Some(Duration::from_millis(50))),
            Delivery::Completions(batch) => done.extend(batch),
            _ => {}
        }
    }
}

#[test]
fn memory_only_clients_answer_at_once_and_share_their_engine() {
    let (s, rx) = sink();
    let a = Backend::memory(&fallback("memory://core-test"), 0, s);
    let done = a.submit_batch(&batch(&[(1, &["SET", "k", "v"]), (2, &["INCR", "n"])]));
    assert_eq!(done.len(), 2);
    assert_eq!(done[0].outcome, Ok(Reply::Status("OK".into())));
    assert_eq!(done[1].outcome, Ok(Reply::Int(1)));
    let events: Vec<Event> = rx
        .try_iter()
        .filter_map(|d| match d {
            Delivery::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(events, [Event::Connect, Event::Ready]);
    let (s2, _rx2) = sink();
    let b = Backend::memory(&fallback("memory://core-test"), 0, s2);
    let read = b.submit_batch(&batch(&[(1, &["GET", "k"])]));
    assert_eq!(read[0].outcome, Ok(Reply::Bulk(b"v".to_vec())));
    a.quit(9, 0).unwrap();
    let after = a.submit_batch(&batch(&[(3, &["GET", "k"])]));
    assert!(after[0].outcome.is_err(), "closed clients fail");
}

#[test]
fn a_killed_server_is_answered_from_memory_and_replayed_after_restart() {
    let mut server = RedisServer::start();
    let (s, rx) = sink();
    let target = format!("redis://127.0.0.1:{}", server.port);
    let options = ClientOptions {
        address: Address::Tcp {
            host: "127.0.0.1".into(),
            port: server.port,
        },
        fallback: Some(fallback(&target)),
        ..ClientOptions::default()
    };
    let client = Backend::Redis(RedisLink::start(options, s));
    let mut done = Vec::new();
    until_event(&client, &rx, |e| *e == Event::Ready, &mut done);
    assert!(client
        .submit_batch(&batch(&[(1, &["SET", "before", "1"])]))
        .is_empty());
    while !done.iter().any(|c| c.id == 1) {
        if let Delivery::Completions(batch) = rx.recv_timeout(Duration::from_secs(15)).unwrap() {
            done.extend(batch);
        }
    }
    server.kill();
    // Submitted while the server is gone: waits for the timeout, then memory answers.
    let mut answered = client.submit_batch(&batch(&[(2, &["SET", "during", "x", "PX", "60000"])]));
    until_event(
        &client,
        &rx,
        |e| matches!(e, Event::Fallback { .. }),
        &mut done,
    );
    answered.extend(client.submit_batch(&batch(&[(3, &["GET", "during"]), (4, &["INCR", "n"])])));
    done.extend(answered);
    server.restart();
    until_event(&client, &rx, |e| *e == Event::Recover, &mut done);
    done.sort_by_key(|c| c.id);
    let outcome = |id: u32| done.iter().find(|c| c.id == id).map(|c| c.outcome.clone());
    assert_eq!(outcome(2), Some(Ok(Reply::Status("OK".into()))));
    assert_eq!(outcome(3), Some(Ok(Reply::Bulk(b"x".to_vec()))));
    assert_eq!(outcome(4), Some(Ok(Reply::Int(1))));
    let mut redis = Conn::open(server.port);
    assert_eq!(redis.call(&[b"GET", b"during"]), Reply::Bulk(b"x".to_vec()));
    assert!(matches!(redis.call(&[b"PTTL", b"during"]), Reply::Int(ms) if ms > 0 && ms <= 60_000));
    assert_eq!(redis.call(&[b"GET", b"n"]), Reply::Bulk(b"1".to_vec()));
    let stats = client
        .router()
        .expect("a failover client has a router")
        .stats();
    assert_eq!((stats.fallbacks, stats.recoveries), (1, 1));
    assert_eq!(stats.replayed_keys, 2);
    assert_eq!(
        stats.memory.keys, 0,
        "the engine is emptied after the replay"
    );
    client.disconnect(false);
}
