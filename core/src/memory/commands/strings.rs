//! String commands.

use super::{bulk, err, int, is, not_int, ok, syntax, Ctx, Row, R};
use crate::memory::num::{self, LongDouble};
use crate::memory::store::{wrongtype, Value};
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("get", 2, get),
    ("set", -3, set),
    ("getset", 3, getset),
    ("getdel", 2, getdel),
    ("getex", -2, getex),
    ("mget", -2, mget),
    ("mset", -3, mset),
    ("msetnx", -3, msetnx),
    ("setnx", 3, setnx),
    ("setex", 4, setex),
    ("psetex", 4, psetex),
    ("incr", 2, incr),
    ("incrby", 3, incrby),
    ("decr", 2, decr),
    ("decrby", 3, decrby),
    ("incrbyfloat", 3, incrbyfloat),
    ("append", 3, append),
    ("strlen", 2, strlen),
    ("getrange", 4, getrange),
    ("substr", 4, getrange),
    ("setrange", 4, setrange),
];

/// Largest string Redis accepts (proto-max-bulk-len default, 512 MB).
const MAX_STRING: usize = 512 * 1024 * 1024;

/// An expiry option's unit.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Unit {
    Seconds,
    Millis,
    UnixSeconds,
    UnixMillis,
}

/// Turns an expiry argument into an absolute unix-ms deadline, with Redis's
/// checks (`ERR invalid expire time in '<cmd>' command` for ≤ 0 or overflow).
pub(crate) fn deadline(now: u64, arg: &[u8], unit: Unit, cmd: &str) -> Result<i64, Reply> {
    let v = int(arg)?;
    let invalid = || err(&format!("invalid expire time in '{cmd}' command"));
    if v <= 0 {
        return Err(invalid());
    }
    let ms = match unit {
        Unit::Seconds | Unit::UnixSeconds => v.checked_mul(1000).ok_or_else(invalid)?,
        Unit::Millis | Unit::UnixMillis => v,
    };
    match unit {
        Unit::Seconds | Unit::Millis => ms.checked_add(now as i64).ok_or_else(invalid),
        _ => Ok(ms),
    }
}

/// The string at `key`, `WRONGTYPE` otherwise.
fn read(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    Ok(ctx.string(key)?.map(|v| v.clone()))
}

fn get(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(ctx.string(a[1])?.map_or(Reply::Nil, |v| bulk(v)))
}

/// Stores a string (dropping the TTL unless `keep_ttl`); a deadline that has
/// already passed deletes the key instead, as Redis does.
fn store(ctx: &mut Ctx, key: &[u8], v: &[u8], expires: Option<i64>, keep_ttl: bool) {
    if let Some(t) = expires {
        if t <= ctx.now as i64 {
            ctx.st.write_absent(ctx.db, key);
            return;
        }
    }
    let ttl = match expires {
        Some(t) => Some(t as u64),
        None if keep_ttl => ctx.st.peek(ctx.db, key, ctx.now).and_then(|e| e.expires_at),
        None => None,
    };
    ctx.st.set(ctx.db, key, Value::Str(v.to_vec()), ttl);
}

/// Options of SET (`for_set`) and GETEX, parsed like Redis 7.0's
/// `parseExtendedStringArgumentsOrReply`: the same expiry option may repeat
/// (last wins), different ones conflict; the time is validated afterwards.
struct StringOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expiry: Option<(Unit, &'a [u8])>,
}

fn parse_opts<'a>(a: &[&'a [u8]], for_set: bool) -> Result<StringOpts<'a>, Reply> {
    let mut o = StringOpts {
        nx: false,
        xx: false,
        get: false,
        keep_ttl: false,
        persist: false,
        expiry: None,
    };
    let mut i = if for_set { 3 } else { 2 };
    while i < a.len() {
        let opt = a[i];
        let unit = match opt.to_ascii_lowercase().as_slice() {
            b"ex" => Some(Unit::Seconds),
            b"px" => Some(Unit::Millis),
            b"exat" => Some(Unit::UnixSeconds),
            b"pxat" => Some(Unit::UnixMillis),
            _ => None,
        };
        if for_set && is(opt, "nx") && !o.xx {
            o.nx = true;
        } else if for_set && is(opt, "xx") && !o.nx {
            o.xx = true;
        } else if for_set && is(opt, "get") {
            o.get = true;
        } else if for_set && is(opt, "keepttl") && !o.persist && o.expiry.is_none() {
            o.keep_ttl = true;
        } else if !for_set && is(opt, "persist") && !o.keep_ttl && o.expiry.is_none() {
            o.persist = true;
        } else if let (Some(unit), Some(v)) = (unit, a.get(i + 1)) {
            if o.keep_ttl || o.persist || o.expiry.is_some_and(|(u, _)| u != unit) {
                return Err(syntax());
            }
            o.expiry = Some((unit, v));
            i += 1;
        } else {
            return Err(syntax());
        }
        i += 1;
    }
    Ok(o)
}

fn set(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let o = parse_opts(a, true)?;
    let expires = match o.expiry {
        Some((unit, v)) => Some(deadline(ctx.now, v, unit, "set")?),
        None => None,
    };
    let old = if o.get { read(ctx, a[1])? } else { None };
    let found = (o.nx || o.xx) && ctx.exists(a[1]);
    let reply_old = || old.as_deref().map_or(Reply::Nil, bulk);
    if (o.nx && found) || (o.xx && !found) {
        return Ok(if o.get { reply_old() } else { Reply::Nil });
    }
    store(ctx, a[1], a[2], expires, o.keep_ttl);
    Ok(if o.get { reply_old() } else { ok() })
}

fn getset(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let old = read(ctx, a[1])?;
    store(ctx, a[1], a[2], None, false);
    Ok(old.map_or(Reply::Nil, Reply::Bulk))
}

fn getdel(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let old = read(ctx, a[1])?;
    if old.is_some() {
        ctx.st.delete(ctx.db, a[1]);
    }
    Ok(old.map_or(Reply::Nil, Reply::Bulk))
}

fn getex(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let o = parse_opts(a, false)?;
    // Redis validates the expiry only once the key is known to be a string.
    let Some(v) = read(ctx, a[1])? else {
        return Ok(Reply::Nil);
    };
    let expires = match o.expiry {
        Some((unit, v)) => Some(deadline(ctx.now, v, unit, "getex")?),
        None => None,
    };
    let persist = o.persist;
    match expires {
        Some(t) if t <= ctx.now as i64 => {
            ctx.st.delete(ctx.db, a[1]);
        }
        Some(t) => ctx.st.set_expiry(ctx.db, a[1], Some(t as u64)),
        None if persist
            && ctx
                .st
                .peek(ctx.db, a[1], ctx.now)
                .is_some_and(|e| e.expires_at.is_some()) =>
        {
            ctx.st.set_expiry(ctx.db, a[1], None);
        }
        None => {}
    }
    Ok(Reply::Bulk(v))
}

fn mget(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let out = a[1..]
        .iter()
        .map(|k| match ctx.entry(k) {
            Some(crate::memory::store::Entry {
                value: Value::Str(v),
                ..
            }) => bulk(v),
            _ => Reply::Nil,
        })
        .collect();
    Ok(Reply::Array(out))
}

/// Key/value pairs of MSET/MSETNX.
type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

fn mset_pairs<'a>(a: &[&'a [u8]], name: &str) -> Result<Pairs<'a>, Reply> {
    if a.len().is_multiple_of(2) {
        return Err(err(&format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    Ok(a[1..].chunks(2).map(|p| (p[0], p[1])).collect())
}

fn mset(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    for (k, v) in mset_pairs(a, "mset")? {
        store(ctx, k, v, None, false);
    }
    Ok(ok())
}

fn msetnx(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let pairs = mset_pairs(a, "msetnx")?;
    if pairs.iter().any(|(k, _)| ctx.exists(k)) {
        return Ok(Reply::Int(0));
    }
    for (k, v) in pairs {
        store(ctx, k, v, None, false);
    }
    Ok(Reply::Int(1))
}

fn setnx(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    if ctx.exists(a[1]) {
        return Ok(Reply::Int(0));
    }
    store(ctx, a[1], a[2], None, false);
    Ok(Reply::Int(1))
}

fn setex(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let t = deadline(ctx.now, a[2], Unit::Seconds, "setex")?;
    store(ctx, a[1], a[3], Some(t), false);
    Ok(ok())
}

fn psetex(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let t = deadline(ctx.now, a[2], Unit::Millis, "psetex")?;
    store(ctx, a[1], a[3], Some(t), false);
    Ok(ok())
}

/// Adds `by` to the integer at `key`, keeping its TTL.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> R {
    let cur = match ctx.string(key)? {
        Some(v) => num::parse_i64(v).ok_or_else(not_int)?,
        None => 0,
    };
    let n = cur
        .checked_add(by)
        .ok_or_else(|| err("increment or decrement would overflow"))?;
    let mut buf = n.to_string().into_bytes();
    match ctx.string(key)? {
        Some(v) => {
            std::mem::swap(v, &mut buf);
            ctx.modified(key);
        }
        None => ctx.st.set(ctx.db, key, Value::Str(buf), None),
    }
    Ok(Reply::Int(n))
}

fn incr(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    incr_by(ctx, a[1], 1)
}

fn decr(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    incr_by(ctx, a[1], -1)
}

fn incrby(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let by = int(a[2])?;
    incr_by(ctx, a[1], by)
}

fn decrby(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let by = int(a[2])?;
    if by == i64::MIN {
        return Err(err("decrement would overflow"));
    }
    incr_by(ctx, a[1], -by)
}

/// `current + incr` in x87 long-double arithmetic, formatted like Redis.
pub(crate) fn add_long_double(
    current: Option<&[u8]>,
    incr: &[u8],
    current_err: &str,
) -> Result<Vec<u8>, Reply> {
    let cur = match current {
        Some(v) => LongDouble::parse(v).ok_or_else(|| err(current_err))?,
        None => LongDouble::Zero,
    };
    let by = LongDouble::parse(incr).ok_or_else(|| err("value is not a valid float"))?;
    match cur.add(by) {
        Some(v) if !v.is_inf() => Ok(v.format_human().into_bytes()),
        _ => Err(err("increment would produce NaN or Infinity")),
    }
}

fn incrbyfloat(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let cur = read(ctx, a[1])?;
    let v = add_long_double(cur.as_deref(), a[2], "value is not a valid float")?;
    let ttl = ctx
        .st
        .peek(ctx.db, a[1], ctx.now)
        .and_then(|e| e.expires_at);
    ctx.st.set(ctx.db, a[1], Value::Str(v.clone()), ttl);
    Ok(Reply::Bulk(v))
}

fn append(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    if let Some(v) = ctx.string(a[1])? {
        if v.len() + a[2].len() > MAX_STRING {
            return Err(err(
                "string exceeds maximum allowed size (proto-max-bulk-len)",
            ));
        }
        v.extend_from_slice(a[2]);
        let n = v.len();
        ctx.modified(a[1]);
        return Ok(Reply::Int(n as i64));
    }
    ctx.st.set(ctx.db, a[1], Value::Str(a[2].to_vec()), None);
    Ok(Reply::Int(a[2].len() as i64))
}

fn strlen(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(ctx.string(a[1])?.map_or(0, |v| v.len() as i64)))
}

fn getrange(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (mut start, mut end) = (int(a[2])?, int(a[3])?);
    let v = match ctx.entry(a[1]) {
        None => return Ok(Reply::Bulk(Vec::new())),
        Some(e) => match &e.value {
            Value::Str(v) => v,
            _ => return Err(wrongtype()),
        },
    };
    let len = v.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Bulk(Vec::new()));
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Reply::Bulk(Vec::new()));
    }
    Ok(bulk(&v[start as usize..=end as usize]))
}

fn setrange(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let offset = int(a[2])?;
    if offset < 0 {
        return Err(err("offset is out of range"));
    }
    let value = a[3];
    let exists = ctx.string(a[1])?.is_some();
    if !exists && value.is_empty() {
        return Ok(Reply::Int(0));
    }
    if exists && value.is_empty() {
        return Ok(Reply::Int(ctx.string(a[1])?.map_or(0, |v| v.len() as i64)));
    }
    if offset as usize + value.len() > MAX_STRING {
        return Err(err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    let v = ctx.string_or_create(a[1])?;
    let end = offset as usize + value.len();
    if v.len() < end {
        v.resize(end, 0);
    }
    v[offset as usize..end].copy_from_slice(value);
    let n = v.len();
    ctx.modified(a[1]);
    Ok(Reply::Int(n as i64))
}
