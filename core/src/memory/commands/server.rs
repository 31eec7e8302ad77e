//! Server and pub/sub commands that need no session state.

use super::{bulk, Ctx, Row, R};
use crate::memory::store::DATABASES;
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("echo", 2, echo),
    ("time", 1, time),
    ("info", -1, info),
    ("publish", 3, publish),
];

fn echo(_: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(bulk(a[1]))
}

fn time(ctx: &mut Ctx, _: &[&[u8]]) -> R {
    // Redis answers microseconds; the engine clock has millisecond resolution.
    let secs = ctx.now / 1000;
    let micros = (ctx.now % 1000) * 1000;
    Ok(Reply::Array(vec![
        Reply::Bulk(secs.to_string().into_bytes()),
        Reply::Bulk(micros.to_string().into_bytes()),
    ]))
}

/// The Redis version the engine's replies are modelled on.
const COMPAT_VERSION: &str = "7.0.15";

fn info(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let wanted: Vec<String> = a[1..]
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == "all" || w == "everything" || w == "default");
    let show = |name: &str| all || wanted.iter().any(|w| w == name);
    let st = &*ctx.st;
    let mut sections = Vec::new();
    if show("server") {
        sections.push(format!(
            "# Server\r\nredis_version:{COMPAT_VERSION}\r\nredis_mode:standalone\r\nbulwark_engine:memory\r\nbulwark_version:{}\r\nuptime_in_seconds:{}\r\n",
            crate::VERSION,
            ctx.now.saturating_sub(st.started_ms) / 1000
        ));
    }
    if show("persistence") {
        // ioredis's ready check waits for `loading:0`.
        sections.push("# Persistence\r\nloading:0\r\n".to_string());
    }
    if show("memory") {
        sections.push(format!(
            "# Memory\r\nused_memory:{}\r\nmaxmemory:{}\r\nmaxmemory_policy:allkeys-lru\r\nbulwark_max_keys:{}\r\n",
            st.bytes,
            st.config.max_memory_bytes.unwrap_or(0),
            st.config.max_keys.unwrap_or(0)
        ));
    }
    if show("stats") {
        let c = st.counters;
        sections.push(format!(
            "# Stats\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n",
            c.commands, c.expired, c.evicted, c.hits, c.misses
        ));
    }
    if show("keyspace") {
        let mut s = String::from("# Keyspace\r\n");
        for db in 0..DATABASES {
            let d = &st.dbs[db];
            if !d.keys.is_empty() {
                s.push_str(&format!(
                    "db{db}:keys={},expires={},avg_ttl=0\r\n",
                    d.keys.len(),
                    d.expires_len()
                ));
            }
        }
        sections.push(s);
    }
    Ok(Reply::Bulk(sections.join("\r\n").into_bytes()))
}

fn publish(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(ctx.st.pubsub.publish(a[1], a[2], ctx.outbox)))
}
