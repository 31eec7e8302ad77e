//! Unit tests of the memory engine's behaviour that the differential test
//! cannot cover: controlled-time expiry, bounds and eviction, pub/sub
//! delivery, transactions across sessions, concurrency and the public API.

use std::sync::mpsc;
use std::sync::Arc;

use bulwark_core::memory::{Engine, ManualClock, MemoryConfig, Message, Session};
use bulwark_core::Reply;

const T0: u64 = 1_700_000_000_000;

fn clocked(config: MemoryConfig) -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    (Engine::with_clock(config, clock.clone()), clock)
}

fn run(e: &Engine, s: &mut Session, args: &[&str]) -> Reply {
    let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
    e.execute(s, &a)
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn ok() -> Reply {
    Reply::Status("OK".into())
}

#[test]
fn lazy_expiry_follows_the_clock() {
    let (e, clock) = clocked(MemoryConfig::default());
    let mut s = e.session();
    assert_eq!(run(&e, &mut s, &["SET", "k", "v", "PX", "1500"]), ok());
    assert_eq!(run(&e, &mut s, &["PTTL", "k"]), Reply::Int(1500));
    assert_eq!(
        run(&e, &mut s, &["TTL", "k"]),
        Reply::Int(2),
        "TTL rounds like Redis"
    );
    assert_eq!(
        run(&e, &mut s, &["PEXPIRETIME", "k"]),
        Reply::Int((T0 + 1500) as i64)
    );
    clock.advance(1499);
    assert_eq!(run(&e, &mut s, &["GET", "k"]), bulk("v"));
    clock.advance(1);
    assert_eq!(run(&e, &mut s, &["GET", "k"]), Reply::Nil);
    assert_eq!(run(&e, &mut s, &["TTL", "k"]), Reply::Int(-2));
    assert_eq!(e.stats().expired, 1);
    assert_eq!(e.stats().keys, 0);

    // KEEPTTL, PERSIST, GETEX and INCR keep or drop the TTL like Redis.
    run(&e, &mut s, &["SET", "n", "1", "EX", "10"]);
    run(&e, &mut s, &["INCR", "n"]);
    assert_eq!(run(&e, &mut s, &["TTL", "n"]), Reply::Int(10));
    run(&e, &mut s, &["SET", "n", "5", "KEEPTTL"]);
    assert_eq!(run(&e, &mut s, &["TTL", "n"]), Reply::Int(10));
    run(&e, &mut s, &["SET", "n", "6"]);
    assert_eq!(run(&e, &mut s, &["TTL", "n"]), Reply::Int(-1));
    assert_eq!(run(&e, &mut s, &["GETEX", "n", "EX", "3"]), bulk("6"));
    assert_eq!(run(&e, &mut s, &["TTL", "n"]), Reply::Int(3));
    assert_eq!(run(&e, &mut s, &["PERSIST", "n"]), Reply::Int(1));
    assert_eq!(run(&e, &mut s, &["TTL", "n"]), Reply::Int(-1));
    // A deadline already in the past deletes at once.
    assert_eq!(run(&e, &mut s, &["EXPIREAT", "n", "1"]), Reply::Int(1));
    assert_eq!(run(&e, &mut s, &["EXISTS", "n"]), Reply::Int(0));
}

#[test]
fn active_sweep_removes_expired_keys_without_access() {
    let (e, clock) = clocked(MemoryConfig::default());
    let mut s = e.session();
    for i in 0..5000 {
        run(
            &e,
            &mut s,
            &["SET", &format!("short:{i}"), "x", "PX", "100"],
        );
    }
    for i in 0..500 {
        run(
            &e,
            &mut s,
            &["SET", &format!("long:{i}"), "x", "EX", "1000"],
        );
        run(&e, &mut s, &["SET", &format!("forever:{i}"), "x"]);
    }
    assert_eq!(e.sweep_expired(10_000), 0, "nothing has expired yet");
    clock.advance(101);
    let mut removed = 0;
    // Each call is bounded by its budget; repeated calls converge to Redis's
    // guarantee: fewer than about a quarter of the keys with a TTL are
    // expired-but-present (sampling stops once a sample is ≤ 25% expired).
    for _ in 0..200 {
        removed += e.sweep_expired(200);
    }
    let leftover = 5000 - removed;
    assert!(
        leftover * 100 <= (500 + leftover) * 40,
        "{leftover} expired keys left"
    );
    assert_eq!(e.stats().expired, removed as u64);
    assert_eq!(e.stats().keys, 1000 + leftover);
    // Leftovers are invisible and go on first access.
    let Reply::Array(visible) = run(&e, &mut s, &["KEYS", "short:*"]) else {
        panic!()
    };
    assert!(visible.is_empty());
    // Redis's DBSIZE also counts expired keys not yet reclaimed.
    assert_eq!(
        run(&e, &mut s, &["DBSIZE"]),
        Reply::Int((1000 + leftover) as i64)
    );
    // A sweep with nothing expired examines at most its budget and stops.
    assert_eq!(e.sweep_expired(50), 0);
    assert_eq!(run(&e, &mut s, &["GET", "long:7"]), bulk("x"));
}

#[test]
fn watch_sees_expiry_and_writes_from_other_sessions() {
    let (e, clock) = clocked(MemoryConfig::default());
    let (mut a, mut b) = (e.session(), e.session());
    run(&e, &mut a, &["SET", "k", "1", "PX", "50"]);
    run(&e, &mut a, &["WATCH", "k"]);
    clock.advance(60);
    run(&e, &mut a, &["MULTI"]);
    run(&e, &mut a, &["SET", "x", "1"]);
    assert_eq!(
        run(&e, &mut a, &["EXEC"]),
        Reply::Nil,
        "a lapsed TTL counts as a change"
    );

    run(&e, &mut a, &["WATCH", "w"]);
    run(&e, &mut b, &["SET", "w", "other"]);
    run(&e, &mut a, &["MULTI"]);
    assert_eq!(
        run(&e, &mut a, &["INCR", "w"]),
        Reply::Status("QUEUED".into())
    );
    assert_eq!(run(&e, &mut a, &["EXEC"]), Reply::Nil);

    // Without interference the transaction runs, runtime errors stay in place.
    run(&e, &mut a, &["WATCH", "w"]);
    run(&e, &mut a, &["MULTI"]);
    run(&e, &mut a, &["SET", "w", "5"]);
    run(&e, &mut a, &["LPUSH", "w", "x"]);
    run(&e, &mut a, &["INCR", "w"]);
    let wrongtype =
        Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into());
    assert_eq!(
        run(&e, &mut a, &["EXEC"]),
        Reply::Array(vec![ok(), wrongtype, Reply::Int(6)])
    );

    // Queue-time errors abort the whole transaction.
    run(&e, &mut a, &["MULTI"]);
    run(&e, &mut a, &["SET", "w", "7"]);
    assert!(
        matches!(run(&e, &mut a, &["NOPE"]), Reply::Error(m) if m.starts_with("ERR unknown command 'NOPE'"))
    );
    assert_eq!(
        run(&e, &mut a, &["GET"]),
        Reply::Error("ERR wrong number of arguments for 'get' command".into())
    );
    assert_eq!(
        run(&e, &mut a, &["EXEC"]),
        Reply::Error("EXECABORT Transaction discarded because of previous errors.".into())
    );
    assert_eq!(run(&e, &mut a, &["GET", "w"]), bulk("6"));
    assert_eq!(
        run(&e, &mut a, &["EXEC"]),
        Reply::Error("ERR EXEC without MULTI".into())
    );
    assert_eq!(
        run(&e, &mut a, &["DISCARD"]),
        Reply::Error("ERR DISCARD without MULTI".into())
    );
}

#[test]
fn dropping_a_session_releases_its_watches_and_subscriptions() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    let (tx, _rx) = mpsc::channel::<Message>();
    let tx = parking_lot::Mutex::new(tx);
    s.set_message_sink(Arc::new(move |m| {
        let _ = tx.lock().send(m);
    }));
    run(&e, &mut s, &["SUBSCRIBE", "ch"]);
    run(&e, &mut s, &["PSUBSCRIBE", "c*"]);
    let mut p = e.session();
    assert_eq!(run(&e, &mut p, &["PUBLISH", "ch", "x"]), Reply::Int(2));
    drop(s);
    assert_eq!(run(&e, &mut p, &["PUBLISH", "ch", "x"]), Reply::Int(0));
}

#[test]
fn pubsub_delivers_in_process_with_redis_replies() {
    let e = Engine::new(MemoryConfig::default());
    let (tx, rx) = mpsc::channel::<Message>();
    let tx = parking_lot::Mutex::new(tx);
    let mut sub = e.session();
    assert!(
        matches!(run(&e, &mut sub, &["SUBSCRIBE", "a"]), Reply::Error(m) if m.contains("no message sink"))
    );
    sub.set_message_sink(Arc::new(move |m| {
        let _ = tx.lock().send(m);
    }));
    let confirm = |kind: &str, name: Option<&str>, n: i64| {
        Reply::Array(vec![
            bulk(kind),
            name.map_or(Reply::Nil, bulk),
            Reply::Int(n),
        ])
    };
    assert_eq!(
        run(&e, &mut sub, &["SUBSCRIBE", "a", "b"]),
        Reply::Array(vec![
            confirm("subscribe", Some("a"), 1),
            confirm("subscribe", Some("b"), 2)
        ])
    );
    assert_eq!(
        run(&e, &mut sub, &["PSUBSCRIBE", "news.*"]),
        Reply::Array(vec![confirm("psubscribe", Some("news.*"), 3)])
    );
    // Subscriber mode allows only subscription commands and PING.
    assert_eq!(
        run(&e, &mut sub, &["GET", "x"]),
        Reply::Error(
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                .into()
        )
    );
    assert_eq!(
        run(&e, &mut sub, &["PING"]),
        Reply::Array(vec![bulk("pong"), bulk("")])
    );

    let mut publ = e.session();
    assert_eq!(
        run(&e, &mut publ, &["PUBLISH", "a", "hello"]),
        Reply::Int(1)
    );
    assert_eq!(
        run(&e, &mut publ, &["PUBLISH", "news.eu", "\u{0}bin"]),
        Reply::Int(1)
    );
    assert_eq!(
        run(&e, &mut publ, &["PUBLISH", "nobody", "x"]),
        Reply::Int(0)
    );
    let got: Vec<Message> = rx.try_iter().collect();
    assert_eq!(
        got,
        vec![
            Message {
                pattern: None,
                channel: b"a".to_vec(),
                payload: b"hello".to_vec()
            },
            Message {
                pattern: Some(b"news.*".to_vec()),
                channel: b"news.eu".to_vec(),
                payload: b"\0bin".to_vec()
            },
        ]
    );

    // PUBLISH inside MULTI delivers at EXEC.
    run(&e, &mut publ, &["MULTI"]);
    run(&e, &mut publ, &["PUBLISH", "b", "later"]);
    assert_eq!(rx.try_iter().count(), 0);
    assert_eq!(
        run(&e, &mut publ, &["EXEC"]),
        Reply::Array(vec![Reply::Int(1)])
    );
    assert_eq!(rx.try_iter().count(), 1);

    let unsub = run(&e, &mut sub, &["UNSUBSCRIBE"]);
    let Reply::Array(items) = unsub else {
        panic!("{unsub:?}")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(
        run(&e, &mut sub, &["PUNSUBSCRIBE"]),
        Reply::Array(vec![confirm("punsubscribe", Some("news.*"), 0)])
    );
    assert_eq!(
        run(&e, &mut sub, &["UNSUBSCRIBE"]),
        Reply::Array(vec![confirm("unsubscribe", None, 0)])
    );
    assert_eq!(sub.subscription_count(), 0);
    assert_eq!(run(&e, &mut sub, &["PING"]), Reply::Status("PONG".into()));
    assert_eq!(run(&e, &mut publ, &["PUBLISH", "a", "x"]), Reply::Int(0));
}

#[test]
fn a_sink_may_call_back_into_the_engine() {
    let e = Engine::new(MemoryConfig::default());
    let inner = e.clone();
    let mut sub = e.session();
    sub.set_message_sink(Arc::new(move |m: Message| {
        let mut s = inner.session();
        inner.execute(&mut s, &[b"RPUSH", b"log", &m.payload]);
    }));
    run(&e, &mut sub, &["SUBSCRIBE", "c"]);
    let mut p = e.session();
    run(&e, &mut p, &["PUBLISH", "c", "one"]);
    assert_eq!(
        run(&e, &mut p, &["LRANGE", "log", "0", "-1"]),
        Reply::Array(vec![bulk("one")])
    );
}

#[test]
fn a_flood_of_distinct_keys_stays_within_max_keys() {
    let e = Engine::new(MemoryConfig {
        max_keys: Some(100_000),
        max_memory_bytes: None,
        ..Default::default()
    });
    let mut s = e.session();
    let mut key = Vec::with_capacity(16);
    for i in 0..1_000_000u32 {
        key.clear();
        key.extend_from_slice(b"k:");
        key.extend_from_slice(i.to_string().as_bytes());
        e.execute(&mut s, &[b"SET", &key, b"v"]);
    }
    let st = e.stats();
    assert!(st.keys <= 100_000, "{st:?}");
    assert_eq!(run(&e, &mut s, &["DBSIZE"]), Reply::Int(st.keys as i64));
    assert_eq!(st.evicted, 1_000_000 - st.keys as u64);
}

#[test]
fn memory_budget_evicts_least_recently_used_keys() {
    let e = Engine::new(MemoryConfig {
        max_keys: None,
        max_memory_bytes: Some(200_000),
        ..Default::default()
    });
    let mut s = e.session();
    let value = "x".repeat(1000);
    run(&e, &mut s, &["SET", "hot", &value]);
    for i in 0..2000 {
        run(&e, &mut s, &["SET", &format!("cold:{i}"), &value]);
        // The hot key is read all the time, so sampling never picks it.
        assert_eq!(run(&e, &mut s, &["STRLEN", "hot"]), Reply::Int(1000));
    }
    let st = e.stats();
    assert!(st.bytes <= 200_000, "{st:?}");
    assert!(st.evicted > 1500, "{st:?}");
    assert_eq!(run(&e, &mut s, &["EXISTS", "hot"]), Reply::Int(1));
    // Collections count too.
    for i in 0..5000 {
        run(&e, &mut s, &["HSET", "big", &format!("f{i}"), &value]);
    }
    assert!(e.stats().bytes <= 200_000);
}

#[test]
fn concurrent_sessions_are_atomic() {
    let e = Engine::new(MemoryConfig::default());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let e = e.clone();
            std::thread::spawn(move || {
                let mut s = e.session();
                for _ in 0..2500 {
                    e.execute(&mut s, &[b"INCR", b"counter"]);
                    e.execute(&mut s, &[b"HINCRBY", b"h", b"f", b"2"]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut s = e.session();
    assert_eq!(run(&e, &mut s, &["GET", "counter"]), bulk("10000"));
    assert_eq!(run(&e, &mut s, &["HGET", "h", "f"]), bulk("20000"));
    // A script runner can hold the lock over several commands.
    let n = e.with_lock(|l| {
        l.execute(&mut s, &[b"SET", b"a", b"1"]);
        l.execute(&mut s, &[b"INCRBY", b"a", b"41"])
    });
    assert_eq!(n, Reply::Int(42));
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn engine_is_send_and_sync() {
    assert_send_sync::<Engine>();
    assert_send_sync::<Session>();
}

#[test]
fn databases_are_separate_and_flushable() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    run(&e, &mut s, &["SET", "k", "zero"]);
    assert_eq!(run(&e, &mut s, &["SELECT", "15"]), ok());
    assert_eq!(s.db(), 15);
    assert_eq!(run(&e, &mut s, &["GET", "k"]), Reply::Nil);
    run(&e, &mut s, &["SET", "k", "fifteen"]);
    assert_eq!(
        run(&e, &mut s, &["SELECT", "16"]),
        Reply::Error("ERR DB index is out of range".into())
    );
    assert_eq!(run(&e, &mut s, &["FLUSHDB"]), ok());
    assert_eq!(run(&e, &mut s, &["DBSIZE"]), Reply::Int(0));
    run(&e, &mut s, &["SELECT", "0"]);
    assert_eq!(run(&e, &mut s, &["GET", "k"]), bulk("zero"));
    assert_eq!(run(&e, &mut s, &["FLUSHALL"]), ok());
    assert_eq!(e.stats().keys, 0);
    assert_eq!(e.stats().bytes, 0, "byte accounting returns to zero");
}

#[test]
fn byte_accounting_follows_every_change() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    run(&e, &mut s, &["SET", "s", "abc"]);
    run(&e, &mut s, &["APPEND", "s", "defgh"]);
    run(&e, &mut s, &["RPUSH", "l", "a", "b", "c"]);
    run(&e, &mut s, &["LPOP", "l"]);
    run(&e, &mut s, &["LSET", "l", "0", "longer value"]);
    run(&e, &mut s, &["HSET", "h", "f", "v", "g", "w"]);
    run(&e, &mut s, &["HSET", "h", "f", "replaced"]);
    run(&e, &mut s, &["SADD", "set", "x", "y"]);
    run(&e, &mut s, &["ZADD", "z", "1", "m", "2", "n"]);
    run(&e, &mut s, &["RENAME", "z", "z2"]);
    assert!(e.stats().bytes > 0);
    for k in ["s", "l", "h", "set", "z2"] {
        run(&e, &mut s, &["DEL", k]);
    }
    assert_eq!(e.stats().bytes, 0);
}

#[test]
fn binary_safe_keys_and_values() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    let key: &[u8] = b"\xff\x00key\r\n";
    let val: &[u8] = b"\x00\x01\xfe";
    assert_eq!(e.execute(&mut s, &[b"set", key, val]), ok());
    assert_eq!(e.execute(&mut s, &[b"GeT", key]), Reply::Bulk(val.to_vec()));
    assert_eq!(
        e.execute(&mut s, &[b"KEYS", b"*"]),
        Reply::Array(vec![Reply::Bulk(key.to_vec())])
    );
}

#[test]
fn floats_format_like_redis_7() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    assert_eq!(run(&e, &mut s, &["INCRBYFLOAT", "f", "10.5"]), bulk("10.5"));
    assert_eq!(run(&e, &mut s, &["INCRBYFLOAT", "f", "-7.5"]), bulk("3"));
    run(&e, &mut s, &["SET", "g", "1000"]);
    assert_eq!(
        run(&e, &mut s, &["INCRBYFLOAT", "g", "0.1"]),
        bulk("1000.09999999999999998")
    );
    assert_eq!(
        run(&e, &mut s, &["INCRBYFLOAT", "g", "inf"]),
        Reply::Error("ERR increment would produce NaN or Infinity".into())
    );
    assert_eq!(
        run(&e, &mut s, &["HINCRBYFLOAT", "h", "f", "0.1"]),
        bulk("0.1")
    );
    assert_eq!(
        run(&e, &mut s, &["HINCRBYFLOAT", "h", "f", "0.2"]),
        bulk("0.3")
    );
    run(
        &e,
        &mut s,
        &["ZADD", "z", "0.1", "a", "1e20", "b", "inf", "c", "3", "d"],
    );
    assert_eq!(
        run(&e, &mut s, &["ZSCORE", "z", "a"]),
        bulk("0.10000000000000001")
    );
    assert_eq!(run(&e, &mut s, &["ZSCORE", "z", "b"]), bulk("1e+20"));
    assert_eq!(run(&e, &mut s, &["ZSCORE", "z", "c"]), bulk("inf"));
    assert_eq!(run(&e, &mut s, &["ZINCRBY", "z", "0.5", "d"]), bulk("3.5"));
}

#[test]
fn unknown_commands_are_named_in_the_error() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    assert_eq!(
        run(&e, &mut s, &["FCALL", "f", "0"]),
        Reply::Error("ERR unknown command 'FCALL', with args beginning with: 'f' '0' ".into())
    );
    assert_eq!(
        e.execute(&mut s, &[]),
        Reply::Error("ERR empty command".into())
    );
}

#[test]
fn info_reports_sections() {
    let e = Engine::new(MemoryConfig {
        max_keys: Some(10),
        max_memory_bytes: None,
        ..Default::default()
    });
    let mut s = e.session();
    run(&e, &mut s, &["SET", "a", "1", "EX", "100"]);
    let Reply::Bulk(all) = run(&e, &mut s, &["INFO"]) else {
        panic!()
    };
    let text = String::from_utf8(all).unwrap();
    for needle in [
        "# Server",
        "redis_version:",
        "# Memory",
        "maxmemory_policy:allkeys-lru",
        "loading:0",
        "# Keyspace",
        "db0:keys=1,expires=1",
    ] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
    let Reply::Bulk(ks) = run(&e, &mut s, &["INFO", "keyspace"]) else {
        panic!()
    };
    assert!(!String::from_utf8(ks).unwrap().contains("# Server"));
}

#[test]
fn written_keys_can_be_drained_for_reconciliation() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    run(&e, &mut s, &["SET", "before", "1"]);
    e.track_writes(true);
    run(&e, &mut s, &["SET", "a", "1"]);
    run(&e, &mut s, &["GET", "before"]);
    run(&e, &mut s, &["SELECT", "2"]);
    run(&e, &mut s, &["HSET", "h", "f", "v"]);
    run(&e, &mut s, &["SADD", "h2", "m"]);
    run(&e, &mut s, &["DEL", "h2"]);
    let mut w = e.drain_written();
    w.sort();
    assert_eq!(
        w,
        vec![(0, b"a".to_vec()), (2, b"h".to_vec()), (2, b"h2".to_vec())]
    );
    assert!(e.drain_written().is_empty());
    // Eviction is not a write.
    let small = Engine::new(MemoryConfig {
        max_keys: Some(1),
        max_memory_bytes: None,
        ..Default::default()
    });
    small.track_writes(true);
    let mut t = small.session();
    run(&small, &mut t, &["SET", "x", "1"]);
    run(&small, &mut t, &["SET", "y", "1"]);
    assert_eq!(small.stats().evicted, 1);
    assert_eq!(small.drain_written().len(), 2);
    e.track_writes(false);
    run(&e, &mut s, &["SET", "c", "1"]);
    assert!(e.drain_written().is_empty());
}

/// Rough per-call cost of the hot path; run with
/// `cargo test --release -p bulwark-core --test memory_engine -- --ignored --nocapture`.
#[test]
#[ignore]
fn hot_path_cost() {
    let e = Engine::new(MemoryConfig {
        max_keys: Some(1_000_000),
        max_memory_bytes: None,
        ..Default::default()
    });
    let mut s = e.session();
    let n = 1_000_000u32;
    let keys: Vec<Vec<u8>> = (0..10_000)
        .map(|i| format!("key:{i}").into_bytes())
        .collect();
    for (name, f) in [
        (
            "SET",
            &(|k: &[u8], e: &Engine, s: &mut Session| e.execute(s, &[b"SET", k, b"value"]))
                as &dyn Fn(&[u8], &Engine, &mut Session) -> Reply,
        ),
        ("GET", &|k: &[u8], e: &Engine, s: &mut Session| {
            e.execute(s, &[b"GET", k])
        }),
        ("INCR", &|k: &[u8], e: &Engine, s: &mut Session| {
            e.execute(s, &[b"INCR", &[b"n:", k].concat()])
        }),
        ("PING", &|_: &[u8], e: &Engine, s: &mut Session| {
            e.execute(s, &[b"PING"])
        }),
    ] {
        let start = std::time::Instant::now();
        for i in 0..n {
            f(&keys[i as usize % keys.len()], &e, &mut s);
        }
        println!(
            "{name}: {:.0} ns/call",
            start.elapsed().as_nanos() as f64 / f64::from(n)
        );
    }
}
