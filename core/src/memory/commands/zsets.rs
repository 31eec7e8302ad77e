//! Sorted-set commands.

use std::ops::Bound;
use std::sync::Arc;

use super::lists::{index_range, positive_count};
use super::{
    bulk, cursor, err, float, int, is, mpop_args, rand_args, random_picks, scan_opts, scan_reply,
    syntax, Ctx, Row, R,
};
use crate::memory::glob;
use crate::memory::num::{format_f64, strtod};
use crate::memory::store::{Score, ZSet};
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("zadd", -4, zadd),
    ("zincrby", 4, zincrby),
    ("zscore", 3, zscore),
    ("zmscore", -3, zmscore),
    ("zrange", -4, zrange),
    ("zrangebyscore", -4, zrangebyscore),
    ("zrevrangebyscore", -4, zrevrangebyscore),
    ("zrangebylex", -4, zrangebylex),
    ("zrevrangebylex", -4, zrevrangebylex),
    ("zrevrange", -4, zrevrange),
    ("zrank", 3, zrank),
    ("zrevrank", 3, zrevrank),
    ("zrem", -3, zrem),
    ("zremrangebyscore", 4, zremrangebyscore),
    ("zremrangebyrank", 4, zremrangebyrank),
    ("zcard", 2, zcard),
    ("zcount", 4, zcount),
    ("zpopmin", -2, zpopmin),
    ("zpopmax", -2, zpopmax),
    ("zscan", -3, zscan),
    ("zmpop", -4, zmpop),
    ("zrandmember", -2, zrandmember),
];

fn score_reply(v: f64) -> Reply {
    Reply::Bulk(format_f64(v).into_bytes())
}

fn nan_error() -> Reply {
    err("resulting score is not a number (NaN)")
}

fn zadd(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (mut nx, mut xx, mut ch, mut incr, mut gt, mut lt) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        match a[i].to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"ch" => ch = true,
            b"incr" => incr = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => break,
        }
        i += 1;
    }
    let rest = &a[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(syntax());
    }
    if nx && xx {
        return Err(err("XX and NX options at the same time are not compatible"));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && rest.len() > 2 {
        return Err(err("INCR option supports a single increment-element pair"));
    }
    let pairs: Vec<(f64, &[u8])> = rest
        .chunks(2)
        .map(|p| float(p[0]).map(|s| (s, p[1])))
        .collect::<Result<_, _>>()?;
    if ctx.zset(a[1])?.is_none() && xx {
        return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
    }
    let z = ctx.zset_or_create(a[1])?;
    let (mut added, mut updated, mut last) = (0, 0, None);
    let mut failure = None;
    for (score, member) in pairs {
        match z.dict.get(member).copied() {
            Some(cur) => {
                if nx {
                    continue;
                }
                let new = if incr { cur + score } else { score };
                if new.is_nan() {
                    failure = Some(nan_error());
                    break;
                }
                if (gt && new <= cur) || (lt && new >= cur) {
                    continue;
                }
                last = Some(new);
                if new != cur {
                    z.insert(member, new);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(member, score);
                last = Some(score);
                added += 1;
            }
        }
    }
    ctx.changed(a[1], added + updated > 0);
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(if incr {
        last.map_or(Reply::Nil, score_reply)
    } else {
        Reply::Int(if ch { added + updated } else { added })
    })
}

fn zincrby(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let by = float(a[2])?;
    let z = ctx.zset_or_create(a[1])?;
    // A new member gets the increment itself (so `-0` stays `-0`, as in Redis).
    let new = z.dict.get(a[3]).map_or(by, |cur| cur + by);
    let ok = !new.is_nan();
    if ok {
        z.insert(a[3], new);
    }
    ctx.changed(a[1], ok);
    if ok {
        Ok(score_reply(new))
    } else {
        Err(nan_error())
    }
}

fn zscore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(ctx
        .zset(a[1])?
        .and_then(|z| z.dict.get(a[2]).copied())
        .map_or(Reply::Nil, score_reply))
}

fn zmscore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let z = ctx.zset(a[1])?;
    let out = a[2..]
        .iter()
        .map(|m| {
            z.as_ref()
                .and_then(|z| z.dict.get(*m).copied())
                .map_or(Reply::Nil, score_reply)
        })
        .collect();
    Ok(Reply::Array(out))
}

/// One end of a BYSCORE range (`(` = exclusive).
fn score_bound(s: &[u8]) -> Option<(f64, bool)> {
    let (body, excl) = match s.first() {
        Some(b'(') => (&s[1..], true),
        _ => (s, false),
    };
    // strtod semantics: leading spaces skipped, an empty string is 0.
    let text = std::str::from_utf8(body).ok()?;
    if text.is_empty() {
        return Some((0.0, excl));
    }
    let v = strtod(text.trim_start().as_bytes())?;
    (!v.is_nan()).then_some((v, excl))
}

/// A BYSCORE range.
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
        let bad = || err("min or max is not a float");
        let (min, minex) = score_bound(min).ok_or_else(bad)?;
        let (max, maxex) = score_bound(max).ok_or_else(bad)?;
        Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        })
    }
    fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }
    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
    fn contains(&self, s: f64) -> bool {
        self.gte_min(s) && self.lte_max(s)
    }
}

/// One end of a BYLEX range.
#[derive(Clone)]
enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn lex_bound(s: &[u8]) -> Result<LexBound, Reply> {
    match s.first() {
        Some(b'-') if s.len() == 1 => Ok(LexBound::NegInf),
        Some(b'+') if s.len() == 1 => Ok(LexBound::PosInf),
        Some(b'[') => Ok(LexBound::Incl(s[1..].to_vec())),
        Some(b'(') => Ok(LexBound::Excl(s[1..].to_vec())),
        _ => Err(err("min or max not valid string range item")),
    }
}

fn lex_gte_min(b: &LexBound, m: &[u8]) -> bool {
    match b {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Incl(v) => m >= v.as_slice(),
        LexBound::Excl(v) => m > v.as_slice(),
    }
}

fn lex_lte_max(b: &LexBound, m: &[u8]) -> bool {
    match b {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Incl(v) => m <= v.as_slice(),
        LexBound::Excl(v) => m < v.as_slice(),
    }
}

/// Redis's `zslIsInLexRange`: a non-empty range whose bounds the set's first
/// and last elements do not exclude.
fn lex_range_reachable(z: &ZSet, min: &LexBound, max: &LexBound) -> bool {
    let value = |b: &LexBound| match b {
        LexBound::Incl(v) | LexBound::Excl(v) => Some(v.clone()),
        _ => None,
    };
    let empty = match (min, max) {
        (LexBound::PosInf, _) | (_, LexBound::NegInf) => true,
        _ => match (value(min), value(max)) {
            (Some(a), Some(b)) => {
                a > b
                    || (a == b
                        && (matches!(min, LexBound::Excl(_)) || matches!(max, LexBound::Excl(_))))
            }
            _ => false,
        },
    };
    let (Some(first), Some(last)) = (z.tree.first(), z.tree.last()) else {
        return false;
    };
    !empty && lex_gte_min(min, &last.1) && lex_lte_max(max, &first.1)
}

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// ZRANGE and its legacy forms, following Redis 7.0's `zrangeGenericCommand`.
fn zrange_generic(ctx: &mut Ctx, a: &[&[u8]], mut rtype: RangeType, rev: Option<bool>) -> R {
    let (mut withscores, mut limit): (bool, Option<(i64, i64)>) = (false, None);
    let mut direction = rev;
    let mut j = 4;
    while j < a.len() {
        let left = a.len() - j - 1;
        if is(a[j], "withscores") {
            withscores = true;
        } else if is(a[j], "limit") && left >= 2 {
            limit = Some((int(a[j + 1])?, int(a[j + 2])?));
            j += 2;
        } else if direction.is_none() && is(a[j], "rev") {
            direction = Some(true);
        } else if rtype == RangeType::Auto && is(a[j], "bylex") {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && is(a[j], "byscore") {
            rtype = RangeType::Score;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    let rev = direction.unwrap_or(false);
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit.is_some_and(|(_, c)| c != -1) && rtype == RangeType::Rank {
        return Err(err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (a[2], a[3]);
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    enum Sel {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexBound, LexBound),
    }
    let sel = match rtype {
        RangeType::Score => Sel::Score(ScoreRange::parse(lo, hi)?),
        RangeType::Lex => Sel::Lex(lex_bound(lo)?, lex_bound(hi)?),
        _ => Sel::Rank(int(lo)?, int(hi)?),
    };
    let Some(z) = ctx.zset(a[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    // The members in walking order (REV walks backwards).
    let walk: Box<dyn Iterator<Item = &(Score, Arc<[u8]>)>> = if rev {
        Box::new(z.tree.iter().rev())
    } else {
        Box::new(z.tree.iter())
    };
    // LIMIT offset count (a negative count means all) over the selected members.
    let limited =
        |selected: &mut dyn Iterator<Item = &(Score, Arc<[u8]>)>, offset: usize, count: i64| {
            selected
                .skip(offset)
                .take(usize::try_from(count).unwrap_or(usize::MAX))
                .map(|(sc, m)| (sc.0, m.clone()))
                .collect::<Vec<(f64, Arc<[u8]>)>>()
        };
    let items = match sel {
        Sel::Rank(start, stop) => match index_range(start, stop, z.len()) {
            None => Vec::new(),
            Some((s, e)) => limited(&mut { walk }, s, (e - s + 1) as i64),
        },
        Sel::Score(r) => {
            let (offset, count) = limit.unwrap_or((0, -1));
            if offset < 0 {
                return Ok(Reply::Array(Vec::new()));
            }
            let mut selected = walk
                .skip_while(|(s, _)| {
                    if rev {
                        !r.lte_max(s.0)
                    } else {
                        !r.gte_min(s.0)
                    }
                })
                .take_while(|(s, _)| r.contains(s.0));
            limited(&mut selected, offset as usize, count)
        }
        Sel::Lex(min, max) => {
            let (offset, count) = limit.unwrap_or((0, -1));
            if offset < 0 || !lex_range_reachable(z, &min, &max) {
                return Ok(Reply::Array(Vec::new()));
            }
            // Redis's walk (which only makes sense when all scores are equal,
            // but is deterministic otherwise): find the first element past the
            // near bound, stop early if it is beyond the far bound, then take
            // elements while the far bound holds.
            let near = |m: &[u8]| {
                if rev {
                    lex_lte_max(&max, m)
                } else {
                    lex_gte_min(&min, m)
                }
            };
            let far = |m: &[u8]| {
                if rev {
                    lex_gte_min(&min, m)
                } else {
                    lex_lte_max(&max, m)
                }
            };
            let mut selected = walk
                .skip_while(|(_, m)| !near(m))
                .take_while(|(_, m)| far(m));
            limited(&mut selected, offset as usize, count)
        }
    };
    let mut out = Vec::with_capacity(items.len() * if withscores { 2 } else { 1 });
    for (s, m) in items {
        out.push(bulk(&m));
        if withscores {
            out.push(score_reply(s));
        }
    }
    Ok(Reply::Array(out))
}

fn zrange(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    zrange_generic(ctx, a, RangeType::Auto, None)
}
fn zrangebyscore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    zrange_generic(ctx, a, RangeType::Score, Some(false))
}
fn zrevrangebyscore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    zrange_generic(ctx, a, RangeType::Score, Some(true))
}
fn zrangebylex(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    zrange_generic(ctx, a, RangeType::Lex, Some(false))
}
fn zrevrangebylex(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    zrange_generic(ctx, a, RangeType::Lex, Some(true))
}
fn zrevrange(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    zrange_generic(ctx, a, RangeType::Rank, Some(true))
}

fn rank(ctx: &mut Ctx, a: &[&[u8]], rev: bool) -> R {
    let Some(z) = ctx.zset(a[1])? else {
        return Ok(Reply::Nil);
    };
    let len = z.len();
    Ok(z.rank(a[2]).map_or(Reply::Nil, |r| {
        Reply::Int(if rev { len - 1 - r } else { r } as i64)
    }))
}

fn zrank(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    rank(ctx, a, false)
}
fn zrevrank(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    rank(ctx, a, true)
}

fn zrem(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let Some(z) = ctx.zset(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let n = a[2..].iter().filter(|m| z.remove(m)).count();
    ctx.changed(a[1], n > 0);
    Ok(Reply::Int(n as i64))
}

/// Removes the given members and reports how many.
fn remove_all(ctx: &mut Ctx, key: &[u8], members: Vec<Arc<[u8]>>) -> R {
    if let Some(z) = ctx.zset(key)? {
        for m in &members {
            z.remove(m);
        }
        ctx.changed(key, !members.is_empty());
    }
    Ok(Reply::Int(members.len() as i64))
}

fn zremrangebyscore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let r = ScoreRange::parse(a[2], a[3])?;
    let Some(z) = ctx.zset(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let members = z
        .tree
        .iter()
        .filter(|(s, _)| r.contains(s.0))
        .map(|(_, m)| m.clone())
        .collect();
    remove_all(ctx, a[1], members)
}

fn zremrangebyrank(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (start, stop) = (int(a[2])?, int(a[3])?);
    let Some(z) = ctx.zset(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let members = match index_range(start, stop, z.len()) {
        None => Vec::new(),
        Some((s, e)) => z
            .tree
            .iter()
            .skip(s)
            .take(e - s + 1)
            .map(|(_, m)| m.clone())
            .collect(),
    };
    remove_all(ctx, a[1], members)
}

fn zcard(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    Ok(Reply::Int(ctx.zset(a[1])?.map_or(0, |z| z.len() as i64)))
}

fn zcount(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let r = ScoreRange::parse(a[2], a[3])?;
    let Some(z) = ctx.zset(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let lower = (Score(r.min), Arc::<[u8]>::from(&b""[..]));
    let n = z
        .tree
        .range((Bound::Included(lower), Bound::Unbounded))
        .skip_while(|(s, _)| !r.gte_min(s.0))
        .take_while(|(s, _)| r.lte_max(s.0))
        .count();
    Ok(Reply::Int(n as i64))
}

fn pop(ctx: &mut Ctx, a: &[&[u8]], max: bool) -> R {
    if a.len() > 3 {
        return Err(syntax());
    }
    let count = match a.get(2) {
        Some(c) => positive_count(c)?,
        None => 1,
    };
    let Some(z) = ctx.zset(a[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let out = pop_members(z, max, count);
    ctx.changed(a[1], !out.is_empty());
    Ok(Reply::Array(out))
}

/// Removes up to `count` members from the low (or `max`) end: member, score, ….
fn pop_members(z: &mut ZSet, max: bool, count: usize) -> Vec<Reply> {
    let mut out = Vec::new();
    for _ in 0..count {
        let first = if max {
            z.tree.iter().next_back()
        } else {
            z.tree.iter().next()
        };
        let Some((s, m)) = first.cloned() else { break };
        z.remove(&m);
        out.push(bulk(&m));
        out.push(score_reply(s.0));
    }
    out
}

/// ZMPOP: pops from the first non-empty sorted set of the keys, as
/// `[key, [[member, score], …]]`.
fn zmpop(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (keys, min, count) = mpop_args(a, ("min", "max"))?;
    for k in keys {
        let Some(z) = ctx.zset(k)? else { continue };
        let flat = pop_members(z, !min, count);
        let pairs = flat.chunks(2).map(|p| Reply::Array(p.to_vec())).collect();
        ctx.modified(k);
        return Ok(Reply::Array(vec![bulk(k), Reply::Array(pairs)]));
    }
    Ok(Reply::Nil)
}

fn zpopmin(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    pop(ctx, a, false)
}
fn zpopmax(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    pop(ctx, a, true)
}

/// ZSCAN answers the whole set in one step (cursor 0): a sorted set has no
/// stable slot order to resume from, and COUNT is only a hint in Redis.
fn zscan(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    // Redis's order: cursor, then the key (and its type), then the options.
    cursor(a[2])?;
    let Some(z) = ctx.zset(a[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let o = scan_opts(&a[3..], false)?;
    let z: &ZSet = z;
    let mut out = Vec::new();
    for (s, m) in &z.tree {
        if o.pattern.is_none_or(|p| glob::matches(p, m)) {
            out.push(bulk(m));
            out.push(score_reply(s.0));
        }
    }
    Ok(scan_reply(0, out))
}

fn zrandmember(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let (count, with_scores) = rand_args(a, "withscores")?;
    let Some(len) = ctx.zset(a[1])?.map(|z| z.len()) else {
        return Ok(count.map_or(Reply::Nil, |_| Reply::Array(Vec::new())));
    };
    let picks = random_picks(ctx.st, len, count);
    let z = ctx.zset(a[1])?.expect("zset");
    let members: Vec<&(Score, Arc<[u8]>)> = z.tree.iter().collect();
    let mut out = Vec::with_capacity(picks.len() * (1 + usize::from(with_scores)));
    for i in picks {
        let (s, m) = members[i];
        out.push(bulk(m));
        if with_scores {
            out.push(score_reply(s.0));
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(out),
        None => out.into_iter().next().unwrap_or(Reply::Nil),
    })
}
