//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP. A bitmap is a
//! plain string (bit 0 is the most significant bit of byte 0), as in Redis.

use super::{err, int, is, syntax, Ctx, Row, R};
use crate::memory::num;
use crate::memory::store::Value;
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[
    ("setbit", 4, setbit),
    ("getbit", 3, getbit),
    ("bitcount", -2, bitcount),
    ("bitpos", -3, bitpos),
    ("bitop", -4, bitop),
];

/// Largest bit offset + 1: a bitmap stays within the 512 MB string limit.
const MAX_BITS: u64 = 512 * 1024 * 1024 * 8;

/// A bit offset (`ERR bit offset is not an integer or out of range`).
fn offset(a: &[u8]) -> Result<usize, Reply> {
    num::parse_i64(a)
        .filter(|&n| n >= 0 && (n as u64) < MAX_BITS)
        .map(|n| n as usize)
        .ok_or_else(|| err("bit offset is not an integer or out of range"))
}

fn bit_at(s: &[u8], bit: usize) -> bool {
    s.get(bit >> 3)
        .is_some_and(|b| b & (0x80 >> (bit & 7)) != 0)
}

fn setbit(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let bit = offset(a[2])?;
    let bad_bit = || err("bit is not an integer or out of range");
    let on = match num::parse_i64(a[3]).ok_or_else(bad_bit)? {
        0 => false,
        1 => true,
        _ => return Err(bad_bit()),
    };
    let created = ctx.string(a[1])?.is_none();
    let s = ctx.string_or_create(a[1])?;
    let grown = s.len() <= bit >> 3;
    if grown {
        s.resize((bit >> 3) + 1, 0);
    }
    let old = bit_at(s, bit);
    let mask = 0x80 >> (bit & 7);
    if on {
        s[bit >> 3] |= mask;
    } else {
        s[bit >> 3] &= !mask;
    }
    // Redis signals (WATCH) only when the string was created or grown or the bit flipped.
    if created || grown || old != on {
        ctx.modified(a[1]);
    }
    Ok(Reply::Int(i64::from(old)))
}

fn getbit(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let bit = offset(a[2])?;
    Ok(Reply::Int(i64::from(
        ctx.string(a[1])?.is_some_and(|s| bit_at(s, bit)),
    )))
}

/// A BITCOUNT/BITPOS range resolved to bit positions, inclusive; `None` when empty.
/// `start`/`end` count bytes, or bits with `in_bits`; negatives count from the end.
fn bit_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<(usize, usize)> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let fix = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (fix(start), fix(end).min(total - 1));
    if start > end {
        return None;
    }
    Some(if in_bits {
        (start as usize, end as usize)
    } else {
        (start as usize * 8, end as usize * 8 + 7)
    })
}

/// The optional trailing BYTE|BIT unit.
fn unit_is_bit(a: Option<&&[u8]>) -> Result<bool, Reply> {
    match a {
        None => Ok(false),
        Some(u) if is(u, "bit") => Ok(true),
        Some(u) if is(u, "byte") => Ok(false),
        Some(_) => Err(syntax()),
    }
}

fn count_bits(s: &[u8], from: usize, to: usize) -> i64 {
    // Whole bytes in the middle, single bits at the edges.
    let (first, last) = (from.div_ceil(8), (to + 1) / 8);
    if first >= last {
        return (from..=to).filter(|&b| bit_at(s, b)).count() as i64;
    }
    let edges = (from..first * 8)
        .chain(last * 8..=to)
        .filter(|&b| bit_at(s, b))
        .count();
    let middle: u32 = s[first..last].iter().map(|b| b.count_ones()).sum();
    edges as i64 + i64::from(middle)
}

fn bitcount(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    // Redis 7.0 looks the key up before parsing the range.
    let Some(s) = ctx.string(a[1])? else {
        return Ok(Reply::Int(0));
    };
    let (start, end, in_bits) = match a.len() {
        2 => (0, -1, false),
        4 | 5 => {
            let (start, end) = (int(a[2])?, int(a[3])?);
            // Redis 7.0 answers this empty range before reading the unit.
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Int(0));
            }
            (start, end, unit_is_bit(a.get(4))?)
        }
        _ => return Err(syntax()),
    };
    Ok(Reply::Int(
        bit_range(s.len(), start, end, in_bits).map_or(0, |(f, t)| count_bits(s, f, t)),
    ))
}

fn bitpos(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let want = match int(a[2])? {
        0 => false,
        1 => true,
        _ => return Err(err("The bit argument must be 1 or 0.")),
    };
    let Some(s) = ctx.string(a[1])? else {
        return Ok(Reply::Int(if want { -1 } else { 0 }));
    };
    let (start, end, in_bits, end_given) = match a.len() {
        3 => (0, -1, false, false),
        4..=6 => {
            let start = int(a[3])?;
            let in_bits = unit_is_bit(a.get(5))?;
            match a.get(4) {
                Some(e) => (start, int(e)?, in_bits, true),
                None => (start, -1, in_bits, false),
            }
        }
        _ => return Err(syntax()),
    };
    let Some((from, to)) = bit_range(s.len(), start, end, in_bits) else {
        return Ok(Reply::Int(-1));
    };
    if let Some(p) = (from..=to).find(|&b| bit_at(s, b) == want) {
        return Ok(Reply::Int(p as i64));
    }
    // Looking for a 0 past an open-ended range finds the string's zero padding.
    Ok(Reply::Int(if want || end_given {
        -1
    } else {
        (to + 1).next_multiple_of(8) as i64
    }))
}

#[derive(Clone, Copy)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    let op = match a[1].to_ascii_lowercase().as_slice() {
        b"and" => BitOp::And,
        b"or" => BitOp::Or,
        b"xor" => BitOp::Xor,
        b"not" => BitOp::Not,
        _ => return Err(syntax()),
    };
    if matches!(op, BitOp::Not) && a.len() != 4 {
        return Err(err("BITOP NOT must be called with a single source key."));
    }
    // A missing key is an empty string; every key is type-checked first.
    let mut srcs: Vec<Vec<u8>> = Vec::with_capacity(a.len() - 3);
    for k in &a[3..] {
        srcs.push(ctx.string(k)?.map(|s| s.clone()).unwrap_or_default());
    }
    let len = srcs.iter().map(Vec::len).max().unwrap_or(0);
    let byte = |s: &Vec<u8>, i: usize| s.get(i).copied().unwrap_or(0);
    let out: Vec<u8> = (0..len)
        .map(|i| {
            let mut bytes = srcs.iter().map(|s| byte(s, i));
            let first = bytes.next().unwrap_or(0);
            match op {
                BitOp::And => bytes.fold(first, |x, y| x & y),
                BitOp::Or => bytes.fold(first, |x, y| x | y),
                BitOp::Xor => bytes.fold(first, |x, y| x ^ y),
                BitOp::Not => !first,
            }
        })
        .collect();
    if len > 0 {
        ctx.st.set(ctx.db, a[2], Value::Str(out), None);
    } else {
        ctx.st.delete(ctx.db, a[2]);
    }
    Ok(Reply::Int(len as i64))
}
