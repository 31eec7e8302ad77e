//! Sorted-set algebra: ZUNION/ZINTER/ZDIFF, their STORE forms and ZINTERCARD,
//! over sorted sets and plain sets (whose members score 1).

use std::collections::HashMap;

use super::{err, int, is, syntax, Ctx, Row, R};
use crate::memory::num::{self, format_f64};
use crate::memory::store::{wrongtype, Score, Value, ZSet};
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("zunionstore", -4, zunionstore),
    ("zinterstore", -4, zinterstore),
    ("zdiffstore", -4, zdiffstore),
    ("zunion", -3, zunion),
    ("zinter", -3, zinter),
    ("zdiff", -3, zdiff),
    ("zintercard", -3, zintercard),
];

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn zunionstore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    generic(ctx, a, Some(a[1]), 2, SetOp::Union, "zunionstore")
}
fn zinterstore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    generic(ctx, a, Some(a[1]), 2, SetOp::Inter, "zinterstore")
}
fn zdiffstore(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    generic(ctx, a, Some(a[1]), 2, SetOp::Diff, "zdiffstore")
}
fn zunion(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    generic(ctx, a, None, 1, SetOp::Union, "zunion")
}
fn zinter(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    generic(ctx, a, None, 1, SetOp::Inter, "zinter")
}
fn zdiff(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    generic(ctx, a, None, 1, SetOp::Diff, "zdiff")
}
fn zintercard(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    generic(ctx, a, None, 1, SetOp::Inter, "zintercard")
}

/// One input: its members and scores in the set's order (`None`: missing key).
type Source = Option<Vec<(Vec<u8>, f64)>>;

/// Adds `v` into `acc` like Redis's `zunionInterAggregate` (a NaN sum is 0).
fn aggregate(acc: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *acc += v;
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Aggregate::Min => *acc = acc.min(v),
        Aggregate::Max => *acc = acc.max(v),
    }
}

/// `weight × score`, where a NaN product (0 × inf) is 0.
fn weighted(weight: f64, score: f64) -> f64 {
    let v = weight * score;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// Redis's `zunionInterDiffGenericCommand`: `nk` is the index of numkeys.
fn generic(ctx: &mut Ctx, a: &[&[u8]], dst: Option<&[u8]>, nk: usize, op: SetOp, name: &str) -> R {
    let card_only = name == "zintercard";
    let n = int(a[nk])?;
    if n < 1 {
        return Err(err(&format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    if n > (a.len() - nk - 1) as i64 {
        return Err(syntax());
    }
    let n = n as usize;
    let keys = &a[nk + 1..nk + 1 + n];
    let mut sources: Vec<Source> = Vec::with_capacity(n);
    for k in keys {
        sources.push(match ctx.entry(k).map(|e| &e.value) {
            None => None,
            Some(Value::ZSet(z)) => Some(z.tree.iter().map(|(s, m)| (m.to_vec(), s.0)).collect()),
            Some(Value::Set(s)) => Some(s.members().map(|m| (m.to_vec(), 1.0)).collect()),
            Some(_) => return Err(wrongtype()),
        });
    }
    let mut weights = vec![1.0; n];
    let (mut how, mut with_scores, mut limit) = (Aggregate::Sum, false, 0usize);
    let mut j = nk + 1 + n;
    while j < a.len() {
        let left = a.len() - j;
        if op != SetOp::Diff && !card_only && left > n && is(a[j], "weights") {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = num::parse_f64(a[j + 1 + i])
                    .ok_or_else(|| err("weight value is not a float"))?;
            }
            j += 1 + n;
        } else if op != SetOp::Diff && !card_only && left >= 2 && is(a[j], "aggregate") {
            how = match a[j + 1].to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => return Err(syntax()),
            };
            j += 2;
        } else if dst.is_none() && !card_only && is(a[j], "withscores") {
            with_scores = true;
            j += 1;
        } else if card_only && left >= 2 && is(a[j], "limit") {
            limit = match num::parse_i64(a[j + 1]) {
                Some(l) if l >= 0 => l as usize,
                _ => return Err(err("LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(syntax());
        }
    }
    let result = combine(&sources, &weights, how, op);
    if card_only {
        let card = result.len();
        return Ok(Reply::Int(
            if limit > 0 { card.min(limit) } else { card } as i64
        ));
    }
    let Some(dst) = dst else {
        // Answered from Redis's skiplist, which keeps a -0 score as -0.
        let mut sorted = result;
        sorted.sort_by(|x, y| Score(x.1).cmp(&Score(y.1)).then_with(|| x.0.cmp(&y.0)));
        let mut out = Vec::with_capacity(sorted.len() * (1 + usize::from(with_scores)));
        for (m, s) in sorted {
            out.push(Reply::Bulk(m));
            if with_scores {
                out.push(Reply::Bulk(format_f64(s).into_bytes()));
            }
        }
        return Ok(Reply::Array(out));
    };
    let mut z = ZSet::default();
    // Redis builds the result as a skiplist and converts only a small one.
    if result.len() > 128 || result.iter().any(|(m, _)| m.len() > 64) {
        z.convert_to_skiplist();
    }
    for (m, s) in &result {
        z.insert(m, *s);
    }
    let len = z.len();
    ctx.st.delete(ctx.db, dst);
    if len > 0 {
        ctx.st.set(ctx.db, dst, Value::ZSet(z), None);
    }
    Ok(Reply::Int(len as i64))
}

/// The members and scores of the result, in no particular order.
fn combine(sources: &[Source], weights: &[f64], how: Aggregate, op: SetOp) -> Vec<(Vec<u8>, f64)> {
    let lookup: Vec<HashMap<&[u8], f64>> = sources
        .iter()
        .map(|s| {
            s.iter()
                .flatten()
                .map(|(m, v)| (m.as_slice(), *v))
                .collect()
        })
        .collect();
    match op {
        SetOp::Inter => {
            if sources
                .iter()
                .any(|s| s.as_ref().is_none_or(|s| s.is_empty()))
            {
                return Vec::new();
            }
            // Redis walks the smallest input and adds the others in size order.
            let mut order: Vec<usize> = (0..sources.len()).collect();
            order.sort_by_key(|&i| lookup[i].len());
            let first = order[0];
            let mut out = Vec::new();
            for (m, v) in sources[first].iter().flatten() {
                let mut score = weighted(weights[first], *v);
                let mut all = true;
                for &i in &order[1..] {
                    match lookup[i].get(m.as_slice()) {
                        Some(&o) => aggregate(&mut score, weighted(weights[i], o), how),
                        None => {
                            all = false;
                            break;
                        }
                    }
                }
                if all {
                    out.push((m.clone(), score));
                }
            }
            out
        }
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            let mut order = Vec::new();
            for (i, s) in sources.iter().enumerate() {
                for (m, v) in s.iter().flatten() {
                    let w = weighted(weights[i], *v);
                    match acc.get_mut(m) {
                        Some(score) => aggregate(score, w, how),
                        None => {
                            acc.insert(m.clone(), w);
                            order.push(m.clone());
                        }
                    }
                }
            }
            order
                .into_iter()
                .map(|m| {
                    let s = acc[&m];
                    (m, s)
                })
                .collect()
        }
        SetOp::Diff => sources[0]
            .iter()
            .flatten()
            .filter(|(m, _)| !lookup[1..].iter().any(|l| l.contains_key(m.as_slice())))
            .cloned()
            .collect(),
    }
}
