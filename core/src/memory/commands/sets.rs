//! Set commands.

use super::lists::positive_count;
use super::{
    at_least_one, bulk, cursor, err, int, is, random_picks, scan_opts, scan_reply, scan_window,
    syntax, Ctx, Row, R, SMALL_COLLECTION,
};
use crate::memory::store::{Set, Value};
use crate::memory::{glob, num};
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("sadd", -3, sadd),
    ("srem", -3, srem),
    ("smembers", 2, smembers),
    ("sismember", 3, sismember),
    ("smismember", -3, smismember),
    ("scard", 2, scard),
    ("spop", -2, spop),
    ("srandmember", -2, srandmember),
    ("sinter", -2, sinter),
    ("sinterstore", -3, sinterstore),
    ("sintercard", -3, sintercard),
    ("sunion", -2, sunion),
    ("sunionstore", -3, sunionstore),
    ("sdiff", -2, sdiff),
    ("sdiffstore", -3, sdiffstore),
    ("smove", 4, smove),
    ("sscan", -3, sscan),
];

fn sadd(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let s = ctx.set_or_create(a[1])?;
    let n = a[2..].iter().filter(|m| s.insert(m)).count();
    ctx.changed(a[1], n > 0);
    Ok(Reply::Int(n as i64))
}

fn srem(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let Some(s) = ctx.set(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let n = a[2..].iter().filter(|m| s.remove(m)).count();
    ctx.changed(a[1], n > 0);
    Ok(Reply::Int(n as i64))
}

fn members(s: &Set) -> Vec<Reply> {
    s.members().map(|m| bulk(m)).collect()
}

fn smembers(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Array(
        ctx.set(a[1])?.map_or(Vec::new(), |s| members(s)),
    ))
}

fn sismember(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(i64::from(
        ctx.set(a[1])?.is_some_and(|s| s.contains(a[2])),
    )))
}

fn smismember(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let s = ctx.set(a[1])?;
    let out = a[2..]
        .iter()
        .map(|m| Reply::Int(i64::from(s.as_ref().is_some_and(|s| s.contains(m)))))
        .collect();
    Ok(Reply::Array(out))
}

fn scard(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(ctx.set(a[1])?.map_or(0, |s| s.map.len() as i64)))
}

fn spop(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    if a.len() > 3 {
        return Err(super::syntax());
    }
    let count = a.get(2).map(|c| positive_count(c)).transpose()?;
    let Some(len) = ctx.set(a[1])?.map(|s| s.map.len()) else {
        return Ok(if count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let n = count.unwrap_or(1).min(len);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let idx = ctx.st.rand_below(len - i);
        let s = ctx.set(a[1])?.expect("set");
        let m = s.map.key_at(idx).clone();
        s.remove(&m);
        out.push(bulk(&m));
    }
    ctx.changed(a[1], n > 0);
    Ok(match count {
        Some(_) => Reply::Array(out),
        None => out.pop().unwrap_or(Reply::Nil),
    })
}

fn srandmember(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    if a.len() > 3 {
        return Err(super::syntax());
    }
    let count = a.get(2).map(|c| int(c)).transpose()?;
    if count == Some(i64::MIN) {
        return Err(err("value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    let Some(len) = ctx.set(a[1])?.map(|s| s.map.len()) else {
        return Ok(if count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let picks = random_picks(ctx.st, len, count);
    let s = ctx.set(a[1])?.expect("set");
    let out: Vec<Reply> = picks.iter().map(|&i| bulk(s.map.key_at(i))).collect();
    Ok(match count {
        Some(_) => Reply::Array(out),
        None => out.into_iter().next().unwrap_or(Reply::Nil),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Computes SINTER/SUNION/SDIFF over `keys` with Redis's type checks.
fn combine(ctx: &mut Ctx, keys: &[&[u8]], op: Op) -> Result<Vec<Vec<u8>>, Reply> {
    // Every key is type-checked first; a missing key is an empty set.
    let mut sets: Vec<Option<Vec<Vec<u8>>>> = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(
            ctx.set(k)?
                .map(|s| s.members().map(|m| m.to_vec()).collect()),
        );
    }
    if op == Op::Inter && sets.iter().any(|s| s.is_none()) {
        return Ok(Vec::new());
    }
    let mut acc = Set::default();
    let mut order: Vec<Vec<u8>> = Vec::new();
    match op {
        Op::Union => {
            for m in sets.iter().flatten().flatten() {
                if acc.insert(m) {
                    order.push(m.clone());
                }
            }
        }
        Op::Inter | Op::Diff => {
            let lookups: Vec<Set> = sets[1..]
                .iter()
                .map(|s| {
                    let mut set = Set::default();
                    for m in s.iter().flatten() {
                        set.insert(m);
                    }
                    set
                })
                .collect();
            for m in sets[0].iter().flatten() {
                let keep = if op == Op::Inter {
                    lookups.iter().all(|s| s.contains(m))
                } else {
                    !lookups.iter().any(|s| s.contains(m))
                };
                if keep && acc.insert(m) {
                    order.push(m.clone());
                }
            }
        }
    }
    Ok(order)
}

fn reply_of(v: Vec<Vec<u8>>) -> R {
    Ok(Reply::Array(v.into_iter().map(Reply::Bulk).collect()))
}

fn store(ctx: &mut Ctx, dst: &[u8], v: Vec<Vec<u8>>) -> R {
    let n = v.len();
    ctx.st.delete(ctx.db, dst);
    if n > 0 {
        let mut s = Set::default();
        for m in &v {
            s.insert(m);
        }
        ctx.st.set(ctx.db, dst, Value::Set(s), None);
    }
    Ok(Reply::Int(n as i64))
}

fn sinter(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    reply_of(combine(ctx, &a[1..], Op::Inter)?)
}
fn sunion(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    reply_of(combine(ctx, &a[1..], Op::Union)?)
}
fn sdiff(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    reply_of(combine(ctx, &a[1..], Op::Diff)?)
}
fn sintercard(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let n = at_least_one(a[1], "numkeys should be greater than 0")?;
    if n > a.len() - 2 {
        return Err(err("Number of keys can't be greater than number of args"));
    }
    let mut limit = 0;
    let mut i = 2 + n;
    while i < a.len() {
        if is(a[i], "limit") && i + 1 < a.len() {
            limit = match num::parse_i64(a[i + 1]) {
                Some(l) if l >= 0 => l as usize,
                _ => return Err(err("LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(syntax());
        }
    }
    let card = combine(ctx, &a[2..2 + n], Op::Inter)?.len();
    Ok(Reply::Int(
        if limit > 0 { card.min(limit) } else { card } as i64
    ))
}
fn sinterstore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let v = combine(ctx, &a[2..], Op::Inter)?;
    store(ctx, a[1], v)
}
fn sunionstore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let v = combine(ctx, &a[2..], Op::Union)?;
    store(ctx, a[1], v)
}
fn sdiffstore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let v = combine(ctx, &a[2..], Op::Diff)?;
    store(ctx, a[1], v)
}

fn smove(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    if ctx.set(a[1])?.is_none() {
        return Ok(Reply::Int(0));
    }
    ctx.set(a[2])?;
    if a[1] == a[2] {
        return Ok(Reply::Int(i64::from(
            ctx.set(a[1])?.is_some_and(|s| s.contains(a[3])),
        )));
    }
    if !ctx.set(a[1])?.expect("set").remove(a[3]) {
        return Ok(Reply::Int(0));
    }
    ctx.modified(a[1]);
    ctx.set_or_create(a[2])?.insert(a[3]);
    ctx.modified(a[2]);
    Ok(Reply::Int(1))
}

fn sscan(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    // Redis's order: cursor, then the key (and its type), then the options.
    let cur = cursor(a[2])?;
    let Some(s) = ctx.set(a[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let o = scan_opts(&a[3..], false)?;
    let len = s.map.len();
    let (window, next) = if len <= SMALL_COLLECTION {
        (0..len, 0)
    } else {
        scan_window(len, cur, o.count)
    };
    let out = window
        .map(|i| s.map.key_at(i))
        .filter(|m| o.pattern.is_none_or(|p| glob::matches(p, m)))
        .map(|m| bulk(m))
        .collect();
    Ok(scan_reply(next, out))
}
