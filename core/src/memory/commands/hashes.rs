//! Hash commands.

use super::strings::add_long_double;
use super::{
    bulk, cursor, err, int, rand_args, random_picks, scan_opts, scan_reply, scan_window, Ctx, Row,
    R, SMALL_COLLECTION,
};
use crate::memory::glob;
use crate::memory::num::{self, LongDouble};
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("hset", -4, hset),
    ("hmset", -4, hmset),
    ("hsetnx", 4, hsetnx),
    ("hget", 3, hget),
    ("hmget", -3, hmget),
    ("hgetall", 2, hgetall),
    ("hdel", -3, hdel),
    ("hexists", 3, hexists),
    ("hincrby", 4, hincrby),
    ("hincrbyfloat", 4, hincrbyfloat),
    ("hkeys", 2, hkeys),
    ("hvals", 2, hvals),
    ("hlen", 2, hlen),
    ("hstrlen", 3, hstrlen),
    ("hscan", -3, hscan),
    ("hrandfield", -2, hrandfield),
];

fn set_pairs(ctx: &mut Ctx, a: &[&[u8]], name: &str) -> Result<i64, Reply> {
    if !a.len().is_multiple_of(2) {
        return Err(err(&format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let h = ctx.hash_or_create(a[1])?;
    let added = a[2..]
        .chunks(2)
        .filter(|p| h.insert(p[0], p[1].to_vec()))
        .count();
    ctx.modified(a[1]);
    Ok(added as i64)
}

fn hset(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(set_pairs(ctx, a, "hset")?))
}

fn hmset(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    set_pairs(ctx, a, "hmset")?;
    Ok(super::ok())
}

fn hsetnx(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let h = ctx.hash_or_create(a[1])?;
    let added = !h.map.contains(a[2]) && h.insert(a[2], a[3].to_vec());
    ctx.changed(a[1], added);
    Ok(Reply::Int(i64::from(added)))
}

fn hget(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(ctx
        .hash(a[1])?
        .and_then(|h| h.map.get(a[2]))
        .map_or(Reply::Nil, |v| bulk(v)))
}

fn hmget(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let h = ctx.hash(a[1])?;
    let out = a[2..]
        .iter()
        .map(|f| {
            h.as_ref()
                .and_then(|h| h.map.get(f))
                .map_or(Reply::Nil, |v| bulk(v))
        })
        .collect();
    Ok(Reply::Array(out))
}

fn hgetall(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let mut out = Vec::new();
    if let Some(h) = ctx.hash(a[1])? {
        for (f, v) in h.map.iter() {
            out.push(bulk(f));
            out.push(bulk(v));
        }
    }
    Ok(Reply::Array(out))
}

fn hdel(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let Some(h) = ctx.hash(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let n = a[2..].iter().filter(|f| h.remove(f)).count();
    if n > 0 {
        ctx.modified(a[1]);
    }
    Ok(Reply::Int(n as i64))
}

fn hexists(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(i64::from(
        ctx.hash(a[1])?.is_some_and(|h| h.map.contains(a[2])),
    )))
}

fn hincrby(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let by = int(a[3])?;
    let h = ctx.hash_or_create(a[1])?;
    let cur = match h.map.get(a[2]) {
        Some(v) => num::parse_i64(v).ok_or_else(|| err("hash value is not an integer")),
        None => Ok(0),
    };
    let n = cur.and_then(|c| {
        c.checked_add(by)
            .ok_or_else(|| err("increment or decrement would overflow"))
    });
    if let Ok(n) = n {
        h.insert(a[2], n.to_string().into_bytes());
    }
    ctx.changed(a[1], n.is_ok());
    Ok(Reply::Int(n?))
}

fn hincrbyfloat(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    match LongDouble::parse(a[3]) {
        None => return Err(err("value is not a valid float")),
        Some(v) if v.is_inf() => return Err(err("value is NaN or Infinity")),
        Some(_) => {}
    }
    let h = ctx.hash_or_create(a[1])?;
    let v = add_long_double(
        h.map.get(a[2]).map(|v| v.as_slice()),
        a[3],
        "hash value is not a float",
    );
    if let Ok(v) = &v {
        h.insert(a[2], v.clone());
    }
    ctx.changed(a[1], v.is_ok());
    Ok(Reply::Bulk(v?))
}

fn hkeys(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let h = ctx.hash(a[1])?;
    Ok(Reply::Array(h.map_or(Vec::new(), |h| {
        h.map.iter().map(|(f, _)| bulk(f)).collect()
    })))
}

fn hvals(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let h = ctx.hash(a[1])?;
    Ok(Reply::Array(h.map_or(Vec::new(), |h| {
        h.map.iter().map(|(_, v)| bulk(v)).collect()
    })))
}

fn hlen(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(
        ctx.hash(a[1])?.map_or(0, |h| h.map.len() as i64),
    ))
}

fn hstrlen(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(
        ctx.hash(a[1])?
            .and_then(|h| h.map.get(a[2]))
            .map_or(0, |v| v.len() as i64),
    ))
}

fn hscan(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    // Redis's order: cursor, then the key (and its type), then the options.
    let cur = cursor(a[2])?;
    let Some(h) = ctx.hash(a[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let o = scan_opts(&a[3..], false)?;
    let len = h.map.len();
    let (window, next) = if len <= SMALL_COLLECTION {
        (0..len, 0)
    } else {
        scan_window(len, cur, o.count)
    };
    let mut out = Vec::new();
    for i in window.rev() {
        let f = h.map.key_at(i);
        if o.pattern.is_none_or(|p| glob::matches(p, f)) {
            out.push(bulk(f));
            out.push(bulk(h.map.get(f).expect("indexed field")));
        }
    }
    Ok(scan_reply(next, out))
}

fn hrandfield(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (count, with_values) = rand_args(a, "withvalues")?;
    let Some(len) = ctx.hash(a[1])?.map(|h| h.map.len()) else {
        return Ok(count.map_or(Reply::Nil, |_| Reply::Array(Vec::new())));
    };
    let picks = random_picks(ctx.st, len, count);
    let h = ctx.hash(a[1])?.expect("hash");
    let mut out = Vec::with_capacity(picks.len() * (1 + usize::from(with_values)));
    for i in picks {
        out.push(bulk(h.map.key_at(i)));
        if with_values {
            out.push(bulk(h.map.at(i)));
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(out),
        None => out.into_iter().next().unwrap_or(Reply::Nil),
    })
}
