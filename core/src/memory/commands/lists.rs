//! List commands.

use super::{bulk, err, int, is, mpop_args, ok, syntax, Ctx, Row, R};
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("lpush", -3, lpush),
    ("rpush", -3, rpush),
    ("lpushx", -3, lpushx),
    ("rpushx", -3, rpushx),
    ("lpop", -2, lpop),
    ("rpop", -2, rpop),
    ("lrange", 4, lrange),
    ("lindex", 3, lindex),
    ("lset", 4, lset),
    ("llen", 2, llen),
    ("lrem", 4, lrem),
    ("ltrim", 4, ltrim),
    ("linsert", 5, linsert),
    ("lpos", -3, lpos),
    ("lmove", 5, lmove),
    ("rpoplpush", 3, rpoplpush),
    ("lmpop", -4, lmpop),
];

fn push(ctx: &mut Ctx, a: &[&[u8]], left: bool, only_existing: bool) -> R {
    if only_existing && ctx.list(a[1])?.is_none() {
        return Ok(Reply::Int(0));
    }
    let l = ctx.list_or_create(a[1])?;
    for v in &a[2..] {
        l.push(v.to_vec(), left);
    }
    let n = l.items.len();
    ctx.modified(a[1]);
    Ok(Reply::Int(n as i64))
}

fn lpush(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    push(ctx, a, true, false)
}
fn rpush(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    push(ctx, a, false, false)
}
fn lpushx(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    push(ctx, a, true, true)
}
fn rpushx(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    push(ctx, a, false, true)
}

/// A COUNT that must be an integer ≥ 0 (`ERR value is out of range, must be positive`).
pub(crate) fn positive_count(a: &[u8]) -> Result<usize, Reply> {
    // Redis reports a non-integer with the same message as a negative count.
    match crate::memory::num::parse_i64(a) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(err("value is out of range, must be positive")),
    }
}

fn pop(ctx: &mut Ctx, a: &[&[u8]], left: bool) -> R {
    if a.len() > 3 {
        return Err(err(&format!(
            "wrong number of arguments for '{}' command",
            if left { "lpop" } else { "rpop" }
        )));
    }
    let count = a.get(2).map(|c| positive_count(c)).transpose()?;
    let Some(l) = ctx.list(a[1])? else {
        return Ok(Reply::Nil);
    };
    let reply = match count {
        None => l.pop(left).map_or(Reply::Nil, Reply::Bulk),
        Some(n) => Reply::Array((0..n).map_while(|_| l.pop(left)).map(Reply::Bulk).collect()),
    };
    ctx.changed(a[1], count != Some(0));
    Ok(reply)
}

/// LMPOP: pops from the first non-empty list of the keys.
fn lmpop(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (keys, left, count) = mpop_args(a, ("left", "right"))?;
    for k in keys {
        let Some(l) = ctx.list(k)? else { continue };
        let items = (0..count).map_while(|_| l.pop(left)).map(Reply::Bulk);
        let reply = Reply::Array(vec![bulk(k), Reply::Array(items.collect())]);
        ctx.modified(k);
        return Ok(reply);
    }
    Ok(Reply::Nil)
}

fn lpop(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    pop(ctx, a, true)
}
fn rpop(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    pop(ctx, a, false)
}

/// Redis's start/stop normalisation for LRANGE/LTRIM/ZRANGE: the inclusive
/// index range, or `None` when empty.
pub(crate) fn index_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

fn lrange(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (start, stop) = (int(a[2])?, int(a[3])?);
    let Some(l) = ctx.list(a[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let out = match index_range(start, stop, l.items.len()) {
        None => Vec::new(),
        Some((s, e)) => l.items.range(s..=e).map(|v| bulk(v)).collect(),
    };
    Ok(Reply::Array(out))
}

/// A list index (negative from the end) resolved against `len`.
fn resolve(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn lindex(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    // Redis looks the key up (and type-checks it) before parsing the index.
    let Some(l) = ctx.list(a[1])? else {
        return Ok(Reply::Nil);
    };
    let index = int(a[2])?;
    Ok(resolve(index, l.items.len()).map_or(Reply::Nil, |i| bulk(&l.items[i])))
}

fn lset(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let Some(l) = ctx.list(a[1])? else {
        return Err(err("no such key"));
    };
    let index = int(a[2])?;
    let i = resolve(index, l.items.len()).ok_or_else(|| err("index out of range"))?;
    l.items[i] = a[3].to_vec();
    l.recount();
    ctx.modified(a[1]);
    Ok(ok())
}

fn llen(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(
        ctx.list(a[1])?.map_or(0, |l| l.items.len() as i64),
    ))
}

fn lrem(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let count = int(a[2])?;
    let Some(l) = ctx.list(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0;
    if count >= 0 {
        let mut i = 0;
        while i < l.items.len() && removed < limit {
            if l.items[i] == a[3] {
                l.items.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.items.len();
        while i > 0 && removed < limit {
            i -= 1;
            if l.items[i] == a[3] {
                l.items.remove(i);
                removed += 1;
            }
        }
    }
    l.recount();
    ctx.changed(a[1], removed > 0);
    Ok(Reply::Int(removed as i64))
}

fn ltrim(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (start, stop) = (int(a[2])?, int(a[3])?);
    let Some(l) = ctx.list(a[1])? else {
        return Ok(ok());
    };
    match index_range(start, stop, l.items.len()) {
        None => l.items.clear(),
        Some((s, e)) => {
            l.items.truncate(e + 1);
            l.items.drain(..s);
        }
    }
    l.recount();
    ctx.modified(a[1]);
    Ok(ok())
}

fn linsert(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let after = if is(a[2], "after") {
        true
    } else if is(a[2], "before") {
        false
    } else {
        return Err(syntax());
    };
    let Some(l) = ctx.list(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let Some(pos) = l.items.iter().position(|v| v == a[3]) else {
        return Ok(Reply::Int(-1));
    };
    l.items
        .insert(if after { pos + 1 } else { pos }, a[4].to_vec());
    l.recount();
    let n = l.items.len();
    ctx.modified(a[1]);
    Ok(Reply::Int(n as i64))
}

fn lpos(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<usize>, 0usize);
    let mut i = 3;
    while i < a.len() {
        let Some(v) = a.get(i + 1) else {
            return Err(syntax());
        };
        if is(a[i], "rank") {
            rank = int(v)?;
            if rank == 0 {
                return Err(err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if is(a[i], "count") {
            let n = int(v)?;
            if n < 0 {
                return Err(err("COUNT can't be negative"));
            }
            count = Some(n as usize);
        } else if is(a[i], "maxlen") {
            let n = int(v)?;
            if n < 0 {
                return Err(err("MAXLEN can't be negative"));
            }
            maxlen = n as usize;
        } else {
            return Err(syntax());
        }
        i += 2;
    }
    let Some(l) = ctx.list(a[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let len = l.items.len();
    let scan_len = if maxlen == 0 { len } else { maxlen.min(len) };
    let wanted = match count {
        Some(0) => usize::MAX,
        Some(n) => n,
        None => 1,
    };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    for step in 0..scan_len {
        let idx = if rank > 0 { step } else { len - 1 - step };
        if l.items[idx] == a[2] {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(Reply::Int(idx as i64));
            if found.len() >= wanted {
                break;
            }
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(found),
        None => found.pop().unwrap_or(Reply::Nil),
    })
}

fn side(a: &[u8]) -> Result<bool, Reply> {
    if is(a, "left") {
        Ok(true)
    } else if is(a, "right") {
        Ok(false)
    } else {
        Err(syntax())
    }
}

fn move_element(ctx: &mut Ctx, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) -> R {
    if ctx.list(src)?.is_none() {
        return Ok(Reply::Nil);
    }
    ctx.list(dst)?;
    if src == dst {
        // Rotation in place: the key (and its TTL) never disappears.
        let l = ctx.list(src)?.expect("non-empty list");
        let v = l.pop(from_left).expect("non-empty list");
        l.push(v.clone(), to_left);
        ctx.modified(src);
        return Ok(Reply::Bulk(v));
    }
    let v = ctx
        .list(src)?
        .and_then(|l| l.pop(from_left))
        .expect("non-empty list");
    ctx.modified(src);
    ctx.list_or_create(dst)?.push(v.clone(), to_left);
    ctx.modified(dst);
    Ok(Reply::Bulk(v))
}

fn lmove(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (from, to) = (side(a[3])?, side(a[4])?);
    move_element(ctx, a[1], a[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    move_element(ctx, a[1], a[2], false, true)
}
