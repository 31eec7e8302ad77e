//! Generic keyspace commands.

use super::{
    bulk, cursor, err, int, is, not_int, ok, scan_opts, scan_reply, scan_window, syntax, Ctx, Row,
    R,
};
use crate::memory::glob;
use crate::memory::store::DATABASES;
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("del", -2, del),
    ("unlink", -2, del),
    ("exists", -2, exists),
    ("touch", -2, exists),
    ("expire", -3, expire),
    ("pexpire", -3, pexpire),
    ("expireat", -3, expireat),
    ("pexpireat", -3, pexpireat),
    ("ttl", 2, ttl),
    ("pttl", 2, pttl),
    ("expiretime", 2, expiretime),
    ("pexpiretime", 2, pexpiretime),
    ("persist", 2, persist),
    ("type", 2, type_),
    ("rename", 3, rename),
    ("renamenx", 3, renamenx),
    ("copy", -3, copy),
    ("keys", 2, keys),
    ("scan", -2, scan),
    ("dbsize", 1, dbsize),
    ("flushdb", -1, flushdb),
    ("flushall", -1, flushall),
    ("randomkey", 1, randomkey),
];

fn del(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let mut n = 0;
    for k in &a[1..] {
        ctx.st.expire_if_needed(ctx.db, k, ctx.now);
        if ctx.st.delete(ctx.db, k) {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn exists(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(
        a[1..].iter().filter(|k| ctx.entry(k).is_some()).count() as i64,
    ))
}

/// EXPIRE and friends: `base` is added to the (unit-converted) time.
fn expire_generic(ctx: &mut Ctx, a: &[&[u8]], seconds: bool, relative: bool, name: &str) -> R {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &a[3..] {
        match opt.to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => {
                return Err(err(&format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(err("GT and LT options at the same time are not compatible"));
    }
    let mut when = int(a[2])?;
    let invalid = || err(&format!("invalid expire time in '{name}' command"));
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    if relative {
        when = when.checked_add(ctx.now as i64).ok_or_else(invalid)?;
    }
    let Some(e) = ctx.entry(a[1]) else {
        return Ok(Reply::Int(0));
    };
    let current = e.expires_at.map(|t| t as i64);
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refused {
        return Ok(Reply::Int(0));
    }
    if when <= ctx.now as i64 {
        ctx.st.delete(ctx.db, a[1]);
    } else {
        ctx.st.set_expiry(ctx.db, a[1], Some(when as u64));
    }
    Ok(Reply::Int(1))
}

fn expire(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    expire_generic(ctx, a, true, true, "expire")
}
fn pexpire(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    expire_generic(ctx, a, false, true, "pexpire")
}
fn expireat(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    expire_generic(ctx, a, true, false, "expireat")
}
fn pexpireat(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    expire_generic(ctx, a, false, false, "pexpireat")
}

/// TTL-family reply: -2 missing, -1 no TTL, else remaining or absolute time
/// (seconds are rounded as Redis does: `(ms + 500) / 1000`).
fn ttl_generic(ctx: &mut Ctx, key: &[u8], ms: bool, absolute: bool) -> R {
    let now = ctx.now as i64;
    let Some(e) = ctx.entry(key) else {
        return Ok(Reply::Int(-2));
    };
    let Some(t) = e.expires_at else {
        return Ok(Reply::Int(-1));
    };
    let v = if absolute {
        t as i64
    } else {
        (t as i64 - now).max(0)
    };
    Ok(Reply::Int(if ms { v } else { (v + 500) / 1000 }))
}

fn ttl(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    ttl_generic(ctx, a[1], false, false)
}
fn pttl(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    ttl_generic(ctx, a[1], true, false)
}
fn expiretime(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    ttl_generic(ctx, a[1], false, true)
}
fn pexpiretime(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    ttl_generic(ctx, a[1], true, true)
}

fn persist(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    match ctx.entry(a[1]) {
        Some(e) if e.expires_at.is_some() => {
            ctx.st.set_expiry(ctx.db, a[1], None);
            Ok(Reply::Int(1))
        }
        _ => Ok(Reply::Int(0)),
    }
}

fn type_(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let name = ctx
        .st
        .peek(ctx.db, a[1], ctx.now)
        .map_or("none", |e| e.value.type_name());
    Ok(Reply::Status(name.into()))
}

/// Moves `src` to `dst` (value and TTL). Returns false when `nx` and `dst` exists.
fn rename_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], nx: bool) -> Result<bool, Reply> {
    if ctx.st.peek(ctx.db, src, ctx.now).is_none() {
        return Err(err("no such key"));
    }
    if src == dst {
        return Ok(!nx);
    }
    if nx && ctx.exists(dst) {
        return Ok(false);
    }
    let Some(e) = ctx.st.dbs[ctx.db].keys.get(src).map(|e| e.expires_at) else {
        return Err(err("no such key"));
    };
    let value = take_value(ctx, src);
    ctx.st.delete(ctx.db, dst);
    ctx.st.set(ctx.db, dst, value, e);
    Ok(true)
}

/// Removes `key` and hands back its value.
fn take_value(ctx: &mut Ctx, key: &[u8]) -> crate::memory::store::Value {
    use crate::memory::store::Value;
    let slot = ctx.st.dbs[ctx.db].keys.get_mut(key).expect("live key");
    let value = std::mem::replace(&mut slot.value, Value::Str(Vec::new()));
    ctx.st.delete(ctx.db, key);
    value
}

fn rename(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    rename_generic(ctx, a[1], a[2], false)?;
    Ok(ok())
}

fn renamenx(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(i64::from(rename_generic(
        ctx, a[1], a[2], true,
    )?)))
}

fn copy(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (mut dst_db, mut replace) = (ctx.db, false);
    let mut i = 3;
    while i < a.len() {
        if is(a[i], "replace") {
            replace = true;
        } else if is(a[i], "db") && i + 1 < a.len() {
            let n = int(a[i + 1]).and_then(|n| i32::try_from(n).map_err(|_| not_int()))?;
            dst_db = usize::try_from(n)
                .ok()
                .filter(|&n| n < DATABASES)
                .ok_or_else(|| err("DB index is out of range"))?;
            i += 1;
        } else {
            return Err(syntax());
        }
        i += 1;
    }
    if dst_db == ctx.db && a[1] == a[2] {
        return Err(err("source and destination objects are the same"));
    }
    let Some(src) = ctx.entry(a[1]) else {
        return Ok(Reply::Int(0));
    };
    let (value, expires_at) = (src.value.clone(), src.expires_at);
    if ctx.st.peek(dst_db, a[2], ctx.now).is_some() {
        if !replace {
            return Ok(Reply::Int(0));
        }
        ctx.st.delete(dst_db, a[2]);
    }
    ctx.st.set(dst_db, a[2], value, expires_at);
    Ok(Reply::Int(1))
}

/// True when a key's TTL has passed (iteration skips such keys).
fn live(e: &crate::memory::store::Entry, now: u64) -> bool {
    e.expires_at.is_none_or(|t| t > now)
}

fn keys(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let all = a[1] == b"*";
    let out = ctx.st.dbs[ctx.db]
        .keys
        .iter()
        .filter(|(k, e)| live(e, ctx.now) && (all || glob::matches(a[1], k)))
        .map(|(k, _)| bulk(k))
        .collect();
    Ok(Reply::Array(out))
}

fn scan(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let cur = cursor(a[1])?;
    let o = scan_opts(&a[2..], true)?;
    let db = &ctx.st.dbs[ctx.db].keys;
    let (window, next) = scan_window(db.len(), cur, o.count);
    let mut out = Vec::new();
    for i in window.rev() {
        let k = db.key_at(i);
        let e = db.get(k).expect("indexed key");
        if !live(e, ctx.now) {
            continue;
        }
        if o.pattern.is_some_and(|p| !glob::matches(p, k)) {
            continue;
        }
        if o.type_name
            .is_some_and(|t| !t.eq_ignore_ascii_case(e.value.type_name().as_bytes()))
        {
            continue;
        }
        out.push(bulk(k));
    }
    Ok(scan_reply(next, out))
}

fn dbsize(ctx: &mut Ctx, _: &[&[u8]]) -> R {
    Ok(Reply::Int(ctx.st.dbs[ctx.db].keys.len() as i64))
}

/// FLUSHDB/FLUSHALL accept an optional ASYNC or SYNC (both flush at once here).
fn flush_mode(a: &[&[u8]]) -> Result<(), Reply> {
    match a.len() {
        1 => Ok(()),
        2 if is(a[1], "async") || is(a[1], "sync") => Ok(()),
        _ => Err(syntax()),
    }
}

fn flushdb(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    flush_mode(a)?;
    ctx.st.flush(Some(ctx.db));
    Ok(ok())
}

fn flushall(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    flush_mode(a)?;
    ctx.st.flush(None);
    Ok(ok())
}

fn randomkey(ctx: &mut Ctx, _: &[&[u8]]) -> R {
    // A few tries past keys whose TTL has lapsed, like Redis.
    for _ in 0..100 {
        let n = ctx.st.dbs[ctx.db].keys.len();
        if n == 0 {
            return Ok(Reply::Nil);
        }
        let i = ctx.st.rand_below(n);
        let k = ctx.st.dbs[ctx.db].keys.key_at(i).clone();
        if ctx.st.peek(ctx.db, &k, ctx.now).is_some() {
            return Ok(bulk(&k));
        }
    }
    Ok(Reply::Nil)
}
