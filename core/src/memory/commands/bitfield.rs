//! BITFIELD and BITFIELD_RO: signed/unsigned integers of 1–64 bits at any bit
//! offset of a string, with Redis's WRAP/SAT/FAIL overflow handling.

use super::{err, int, is, syntax, Ctx, Row, R};
use crate::memory::num;
use crate::Reply;

pub(crate) const COMMANDS: &[Row] = &[("bitfield", -2, bitfield), ("bitfield_ro", -2, bitfield_ro)];

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Get,
    Set,
    IncrBy,
}

/// One sub-command, parsed.
struct Field {
    op: Op,
    signed: bool,
    bits: u32,
    offset: u64,
    value: i64,
    overflow: Overflow,
}

const BAD_TYPE: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// `i<bits>` (1–64) or `u<bits>` (1–63).
fn field_type(a: &[u8]) -> Result<(bool, u32), Reply> {
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err(BAD_TYPE)),
    };
    let bits = num::parse_i64(crate::memory::store::c_str(&a[1..]))
        .filter(|&b| b >= 1 && b <= if signed { 64 } else { 63 })
        .ok_or_else(|| err(BAD_TYPE))?;
    Ok((signed, bits as u32))
}

/// A bit offset, or `#n` for the n-th field of this width.
fn field_offset(a: &[u8], bits: u32) -> Result<u64, Reply> {
    let bad = || err("bit offset is not an integer or out of range");
    let (digits, scale) = match a.first() {
        Some(b'#') => (&a[1..], i64::from(bits)),
        _ => (a, 1),
    };
    let n = num::parse_i64(digits).ok_or_else(bad)?.wrapping_mul(scale);
    if n < 0 || (n >> 3) >= 512 * 1024 * 1024 {
        return Err(bad());
    }
    Ok(n as u64)
}

fn parse(a: &[&[u8]]) -> Result<Vec<Field>, Reply> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        let op = if is(a[j], "get") && left >= 2 {
            Op::Get
        } else if is(a[j], "set") && left >= 3 {
            Op::Set
        } else if is(a[j], "incrby") && left >= 3 {
            Op::IncrBy
        } else if is(a[j], "overflow") && left >= 1 {
            overflow = match a[j + 1].to_ascii_lowercase().as_slice() {
                b"wrap" => Overflow::Wrap,
                b"sat" => Overflow::Sat,
                b"fail" => Overflow::Fail,
                _ => return Err(err("Invalid OVERFLOW type specified")),
            };
            j += 2;
            continue;
        } else {
            return Err(syntax());
        };
        let (signed, bits) = field_type(a[j + 1])?;
        let offset = field_offset(a[j + 2], bits)?;
        let value = if op == Op::Get { 0 } else { int(a[j + 3])? };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            value,
            overflow,
        });
        j += if op == Op::Get { 3 } else { 4 };
    }
    Ok(fields)
}

/// The unsigned value of `bits` bits at bit `offset` (MSB first; zeros past the end).
fn read(s: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |v, i| {
        let bit = offset + i;
        let set = s
            .get((bit >> 3) as usize)
            .is_some_and(|b| b & (0x80 >> (bit & 7)) != 0);
        (v << 1) | u64::from(set)
    })
}

fn write(s: &mut [u8], offset: u64, bits: u32, v: u64) {
    for i in 0..u64::from(bits) {
        let bit = offset + i;
        let mask = 0x80 >> (bit & 7);
        let byte = &mut s[(bit >> 3) as usize];
        if v >> (u64::from(bits) - 1 - i) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// `value + incr` as the field stores it, following Redis's
/// `check{Signed,Unsigned}BitfieldOverflow` to the letter (their 64-bit
/// arithmetic wraps: `SET i8 0 -9223372036854775808` saturates to +127);
/// `None` when it overflows under FAIL.
fn fit(value: u64, incr: i64, signed: bool, bits: u32, overflow: Overflow) -> Option<u64> {
    let (high, low, limit_high, limit_low) = if signed {
        let v = value as i64;
        let max = if bits == 64 {
            i64::MAX
        } else {
            (1i64 << (bits - 1)) - 1
        };
        let min = -max - 1;
        let max_incr = (max as u64).wrapping_sub(value) as i64;
        let min_incr = min.wrapping_sub(v);
        let high =
            v > max || (bits != 64 && incr > max_incr) || (v >= 0 && incr > 0 && incr > max_incr);
        let low =
            v < min || (bits != 64 && incr < min_incr) || (v < 0 && incr < 0 && incr < min_incr);
        (high, low, max as u64, min as u64)
    } else {
        let max = (1u64 << bits) - 1;
        let max_incr = max.wrapping_sub(value) as i64;
        let min_incr = value.wrapping_neg() as i64;
        let high = value > max || (incr > 0 && incr > max_incr);
        (high, !high && incr < 0 && incr < min_incr, max, 0)
    };
    let sum = value.wrapping_add(incr as u64);
    if !high && !low {
        return Some(sum);
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if high { limit_high } else { limit_low }),
        Overflow::Wrap if bits == 64 => Some(sum),
        Overflow::Wrap => {
            let low_bits = sum & (u64::MAX >> (64 - bits));
            Some(if signed {
                sign_extend(low_bits, bits) as u64
            } else {
                low_bits
            })
        }
    }
}

fn bitfield(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    run(ctx, a, false)
}

fn bitfield_ro(ctx: &mut Ctx, a: &[&[u8]]) -> R {
    run(ctx, a, true)
}

fn run(ctx: &mut Ctx, a: &[&[u8]], read_only: bool) -> R {
    let fields = parse(a)?;
    let highest = fields
        .iter()
        .filter(|f| f.op != Op::Get)
        .map(|f| f.offset + u64::from(f.bits) - 1)
        .max();
    let Some(highest) = highest else {
        // Only GETs: a missing key reads as zeros.
        let s = ctx.string(a[1])?.map(|s| s.clone()).unwrap_or_default();
        let out = fields.iter().map(|f| Reply::Int(get(&s, f))).collect();
        return Ok(Reply::Array(out));
    };
    if read_only {
        return Err(err("BITFIELD_RO only supports the GET subcommand"));
    }
    let created = ctx.string(a[1])?.is_none();
    let s = ctx.string_or_create(a[1])?;
    let need = (highest >> 3) as usize + 1;
    // Redis signals a change (WATCH) only when the string was created or grown
    // or a written field's value changed.
    let mut changed = created || s.len() < need;
    if s.len() < need {
        s.resize(need, 0);
    }
    let mut out = Vec::with_capacity(fields.len());
    for f in &fields {
        if f.op == Op::Get {
            out.push(Reply::Int(get(s, f)));
            continue;
        }
        let raw = read(s, f.offset, f.bits);
        let old = if f.signed {
            sign_extend(raw, f.bits) as u64
        } else {
            raw
        };
        let (value, incr) = match f.op {
            Op::IncrBy => (old, f.value),
            _ => (f.value as u64, 0),
        };
        match fit(value, incr, f.signed, f.bits, f.overflow) {
            None => out.push(Reply::Nil),
            Some(new) => {
                changed |= new != old;
                write(s, f.offset, f.bits, new);
                let shown = if f.op == Op::IncrBy { new } else { old };
                out.push(Reply::Int(shown as i64));
            }
        }
    }
    if changed {
        ctx.modified(a[1]);
    }
    Ok(Reply::Array(out))
}

fn get(s: &[u8], f: &Field) -> i64 {
    let raw = read(s, f.offset, f.bits);
    if f.signed {
        sign_extend(raw, f.bits)
    } else {
        raw as i64
    }
}
