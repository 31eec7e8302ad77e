//! SORT and SORT_RO over lists, sets and sorted sets, with BY/GET patterns
//! (`*` substituted, `->field` reading a hash), LIMIT, ASC/DESC, ALPHA, STORE.

use std::cmp::Ordering;

use super::{bulk, err, int, is, syntax, Ctx, Row, R};
use crate::memory::num;
use crate::memory::store::{c_str, wrongtype, List, Value};
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[("sort", -2, sort), ("sort_ro", -2, sort_ro)];

fn sort(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    sort_generic(ctx, a, false)
}

fn sort_ro(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    sort_generic(ctx, a, true)
}

/// Options, parsed like Redis's `sortCommandGeneric`.
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    /// Offset and count of LIMIT (`-1` count: to the end).
    limit: (i64, i64),
    by: Option<&'a [u8]>,
    /// A BY pattern without `*` (any of them) turns sorting off.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

fn parse<'a>(a: &[&'a [u8]], read_only: bool) -> Result<Opts<'a>, Reply> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        limit: (0, -1),
        by: None,
        dont_sort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        if is(a[j], "asc") {
            o.desc = false;
        } else if is(a[j], "desc") {
            o.desc = true;
        } else if is(a[j], "alpha") {
            o.alpha = true;
        } else if is(a[j], "limit") && left >= 2 {
            o.limit = (int(a[j + 1])?, int(a[j + 2])?);
            j += 2;
        } else if !read_only && is(a[j], "store") && left >= 1 {
            o.store = Some(a[j + 1]);
            j += 1;
        } else if is(a[j], "by") && left >= 1 {
            o.by = Some(a[j + 1]);
            if !c_str(a[j + 1]).contains(&b'*') {
                o.dont_sort = true;
            }
            j += 1;
        } else if is(a[j], "get") && left >= 1 {
            o.gets.push(a[j + 1]);
            j += 1;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    Ok(o)
}

/// The string (or hash field, with `->field`) that `pattern` names for
/// `elem`, like Redis's `lookupKeyByPattern`; `#` is the element itself.
fn lookup(ctx: &mut Ctx, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    let c = c_str(pattern);
    if c == b"#" {
        return Some(elem.to_vec());
    }
    let star = c.iter().position(|&b| b == b'*')?;
    // `->` after the `*`, followed by at least one byte, starts a hash field.
    let field = c[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| f + 2 < c.len());
    let key_end = field.unwrap_or(pattern.len());
    let mut key = pattern[..star].to_vec();
    key.extend_from_slice(elem);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    match (&ctx.entry(&key)?.value, field) {
        (Value::Str(s), None) => Some(s.clone()),
        (Value::Hash(h), Some(f)) => h.map.get(&pattern[f + 2..]).cloned(),
        _ => None,
    }
}

/// One element to sort and what it sorts by.
struct Item {
    elem: Vec<u8>,
    score: f64,
    /// The BY value of an ALPHA sort by pattern (`None`: missing, sorts first).
    by: Option<Vec<u8>>,
}

/// A numeric sort key: C's `strtod` over the C string, where an empty string
/// is 0 and leading spaces are skipped; trailing bytes, out-of-range values and
/// NaN are errors (`None`).
fn sort_score(v: &[u8]) -> Option<f64> {
    let c = c_str(v);
    if c.is_empty() {
        return Some(0.0);
    }
    let body = c
        .iter()
        .position(|b| !b" \t\n\x0b\x0c\r".contains(b))
        .map_or(&c[c.len()..], |i| &c[i..]);
    num::parse_f64(body)
}

/// `strcoll` in the C locale: byte order of the C strings (up to a NUL).
fn collate(x: &[u8], y: &[u8]) -> Ordering {
    c_str(x).cmp(c_str(y))
}

fn sort_generic(ctx: &mut Ctx, a: &[&[u8]], read_only: bool) -> R {
    let mut o = parse(a, read_only)?;
    let (elems, ordered) = match ctx.entry(a[1]).map(|e| &mut e.value) {
        None => (Vec::new(), true),
        Some(Value::List(l)) => (l.items.iter().cloned().collect(), true),
        Some(Value::Set(s)) => (s.members().map(|m| m.to_vec()).collect(), false),
        Some(Value::ZSet(z)) => {
            // Redis converts the set for good (a later -0 score stays -0).
            z.convert_to_skiplist();
            (z.tree.iter().map(|(_, m)| m.to_vec()).collect(), true)
        }
        Some(_) => return Err(wrongtype()),
    };
    // A set has no order of its own: stored unsorted results would depend on
    // its layout, so Redis sorts them (ALPHA) anyway.
    if o.dont_sort && !ordered && o.store.is_some() {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = elems.len() as i64;
    let mut start = o.limit.0.max(0);
    let mut end = if o.limit.1 < 0 {
        len - 1
    } else {
        start.saturating_add(o.limit.1) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            by: None,
        })
        .collect();
    if o.dont_sort {
        if ordered && o.desc {
            items.reverse();
        }
    } else {
        let mut bad_number = false;
        for it in &mut items {
            let by = match o.by {
                Some(p) => match lookup(ctx, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.by = Some(by);
                }
            } else {
                match sort_score(&by) {
                    Some(v) => it.score = v,
                    None => bad_number = true,
                }
            }
        }
        let store = o.store.is_some();
        let by_pattern = o.by.is_some();
        items.sort_by(|x, y| {
            let c = if !o.alpha {
                x.score
                    .partial_cmp(&y.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.elem.cmp(&y.elem))
            } else if by_pattern {
                match (&x.by, &y.by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(p), Some(q)) if store => p.cmp(q),
                    (Some(p), Some(q)) => collate(p, q),
                }
            } else if store {
                x.elem.cmp(&y.elem)
            } else {
                collate(&x.elem, &y.elem)
            };
            if o.desc {
                c.reverse()
            } else {
                c
            }
        });
        if bad_number {
            return Err(err("One or more scores can't be converted into double"));
        }
    }
    let picked: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    for it in picked {
        if o.gets.is_empty() {
            out.push(Some(it.elem.clone()));
        }
        for g in &o.gets {
            out.push(lookup(ctx, g, &it.elem));
        }
    }
    let Some(dst) = o.store else {
        return Ok(Reply::Array(
            out.into_iter()
                .map(|v| v.map_or(Reply::Nil, |v| bulk(&v)))
                .collect(),
        ));
    };
    let n = out.len() as i64;
    if out.is_empty() {
        ctx.st.delete(ctx.db, dst);
    } else {
        let mut l = List::default();
        for v in out {
            l.push(v.unwrap_or_default(), false);
        }
        ctx.st.set(ctx.db, dst, Value::List(l), None);
    }
    Ok(Reply::Int(n))
}
