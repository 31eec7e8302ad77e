//! The `struct` library as Redis bundles it (Roberto Ierusalimschy's struct
//! 0.2): `pack`, `unpack` and `size` of binary records. Formats: `<` `>` `=`
//! endianness, `!n` alignment, `x` padding, `b B h H l L T` integers,
//! `i I` with an optional size 1..8, `f d` floats, `s` zero-terminated and
//! `cN` fixed strings (`c0`: the whole string when packing, the length from
//! the previous value when unpacking).

use mlua::{Lua, MultiValue, Table, Value};

use super::RustError;

fn fail(msg: String) -> mlua::Error {
    mlua::Error::external(RustError::Library(msg))
}

/// struct.c's MAXINTSIZE; bytes beyond the 8 of a 64-bit value are zero.
const MAX_INT_SIZE: usize = 32;

#[derive(Clone, Copy)]
enum Item {
    Pad,
    Int { size: usize, signed: bool },
    Float,
    Double,
    Zstr,
    Chars(usize),
}

/// A parsed format: each item with its endianness (true = little) and the
/// alignment in force (`!n`).
struct Parsed {
    items: Vec<(Item, bool, usize)>,
}

fn read_size(fmt: &[u8], i: &mut usize, default: usize) -> usize {
    let start = *i;
    while *i < fmt.len() && fmt[*i].is_ascii_digit() && *i - start < 9 {
        *i += 1;
    }
    if *i == start {
        return default;
    }
    std::str::from_utf8(&fmt[start..*i])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn parse(fmt: &[u8], func: &str) -> mlua::Result<Parsed> {
    let (mut little, mut align) = (true, 1usize);
    let mut items = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        let item = match c {
            b' ' => continue,
            b'>' => {
                little = false;
                continue;
            }
            b'<' | b'=' => {
                little = true;
                continue;
            }
            b'!' => {
                align = read_size(fmt, &mut i, 8);
                if !align.is_power_of_two() {
                    return Err(fail("alignment must be power of 2".into()));
                }
                continue;
            }
            b'x' => Item::Pad,
            b'b' | b'B' => Item::Int {
                size: 1,
                signed: c == b'b',
            },
            b'h' | b'H' => Item::Int {
                size: 2,
                signed: c == b'h',
            },
            b'l' | b'L' | b'T' => Item::Int {
                size: 8,
                signed: c == b'l',
            },
            b'i' | b'I' => {
                let size = read_size(fmt, &mut i, 4);
                if !(1..=MAX_INT_SIZE).contains(&size) {
                    return Err(fail(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                Item::Int {
                    size,
                    signed: c == b'i',
                }
            }
            b'f' => Item::Float,
            b'd' => Item::Double,
            b's' => Item::Zstr,
            b'c' => Item::Chars(read_size(fmt, &mut i, 1)),
            other => {
                return Err(fail(format!(
                    "bad argument #1 to '{func}' (invalid format option '{}')",
                    other as char
                )))
            }
        };
        items.push((item, little, align));
    }
    Ok(Parsed { items })
}

fn size_of(item: Item) -> usize {
    match item {
        Item::Pad => 1,
        Item::Int { size, .. } => size,
        Item::Float => 4,
        Item::Double => 8,
        Item::Zstr | Item::Chars(_) => 0,
    }
}

/// Padding before a field at offset `len` (struct.c's `gettoalign`).
fn padding(len: usize, item: Item, align: usize) -> usize {
    let size = size_of(item).min(align);
    if size <= 1 || matches!(item, Item::Chars(_)) {
        return 0;
    }
    (size - (len & (size - 1))) & (size - 1)
}

fn number(v: Option<&Value>, n: usize) -> mlua::Result<f64> {
    match v {
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::Number(x)) => Ok(*x),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                fail(format!(
                    "bad argument #{n} to 'pack' (number expected, got string)"
                ))
            }),
        other => Err(fail(format!(
            "bad argument #{n} to 'pack' (number expected, got {})",
            other.map_or("no value", |v| v.type_name())
        ))),
    }
}

fn pack(fmt: &[u8], args: &[Value]) -> mlua::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut next = 0;
    for (item, little, align) in parse(fmt, "pack")?.items {
        out.resize(out.len() + padding(out.len(), item, align), 0);
        let arg_no = next + 2;
        match item {
            Item::Pad => out.push(0),
            Item::Int { size, .. } => {
                let n = number(args.get(next), arg_no)?;
                next += 1;
                let mut v = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let mut field = Vec::with_capacity(size);
                for _ in 0..size {
                    field.push(v as u8);
                    v = v.checked_shr(8).unwrap_or(0);
                }
                if !little {
                    field.reverse();
                }
                out.extend_from_slice(&field);
            }
            Item::Float | Item::Double => {
                let n = number(args.get(next), arg_no)?;
                next += 1;
                let mut field = if matches!(item, Item::Float) {
                    (n as f32).to_le_bytes().to_vec()
                } else {
                    n.to_le_bytes().to_vec()
                };
                if !little {
                    field.reverse();
                }
                out.extend_from_slice(&field);
            }
            Item::Zstr | Item::Chars(_) => {
                let s = match args.get(next) {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(i)) => i.to_string().into_bytes(),
                    Some(Value::Number(x)) => super::super::num::format_f64(*x).into_bytes(),
                    other => {
                        return Err(fail(format!(
                            "bad argument #{arg_no} to 'pack' (string expected, got {})",
                            other.map_or("no value", |v| v.type_name())
                        )))
                    }
                };
                next += 1;
                match item {
                    Item::Zstr => {
                        if s.contains(&0) {
                            return Err(fail(format!(
                                "bad argument #{arg_no} to 'pack' (string contains zeros)"
                            )));
                        }
                        out.extend_from_slice(&s);
                        out.push(0);
                    }
                    Item::Chars(0) => out.extend_from_slice(&s),
                    Item::Chars(n) => {
                        if s.len() < n {
                            return Err(fail(format!(
                                "bad argument #{arg_no} to 'pack' (string too short)"
                            )));
                        }
                        out.extend_from_slice(&s[..n]);
                    }
                    _ => unreachable!("string items only"),
                }
            }
        }
    }
    Ok(out)
}

fn unpack(lua: &Lua, fmt: &[u8], data: &[u8], start: usize) -> mlua::Result<MultiValue> {
    let mut out = MultiValue::new();
    let mut pos = start;
    let too_short = || fail("bad argument #2 to 'unpack' (data string too short)".into());
    for (item, little, align) in parse(fmt, "unpack")?.items {
        pos += padding(pos, item, align);
        match item {
            Item::Pad => pos += 1,
            Item::Int { size, signed } => {
                let field = data.get(pos..pos + size).ok_or_else(too_short)?;
                // Most significant byte first, keeping the low 64 bits.
                let mut v = 0u64;
                let mut push = |b: &u8| v = (v << 8) | u64::from(*b);
                if little {
                    field.iter().rev().for_each(&mut push);
                } else {
                    field.iter().for_each(&mut push);
                }
                let n = if signed {
                    if size < 8 {
                        let shift = 64 - 8 * size as u32;
                        v = (((v << shift) as i64) >> shift) as u64;
                    }
                    v as i64 as f64
                } else {
                    v as f64
                };
                out.push_back(Value::Number(n));
                pos += size;
            }
            Item::Float | Item::Double => {
                let size = size_of(item);
                let mut field = data.get(pos..pos + size).ok_or_else(too_short)?.to_vec();
                if !little {
                    field.reverse();
                }
                let n = if size == 4 {
                    f64::from(f32::from_le_bytes(field.try_into().expect("4 bytes")))
                } else {
                    f64::from_le_bytes(field.try_into().expect("8 bytes"))
                };
                out.push_back(Value::Number(n));
                pos += size;
            }
            Item::Zstr => {
                let rest = data.get(pos..).ok_or_else(too_short)?;
                let end = rest
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| fail("unfinished string in data".into()))?;
                out.push_back(Value::String(lua.create_string(&rest[..end])?));
                pos += end + 1;
            }
            Item::Chars(n) => {
                let n = if n == 0 {
                    // c0: the length is the previous value, which it replaces.
                    match out.pop_back() {
                        Some(Value::Number(x)) if x >= 0.0 => x as usize,
                        Some(Value::Integer(i)) if i >= 0 => i as usize,
                        _ => return Err(fail("format 'c0' needs a previous size".into())),
                    }
                } else {
                    n
                };
                let field = data.get(pos..pos + n).ok_or_else(too_short)?;
                out.push_back(Value::String(lua.create_string(field)?));
                pos += n;
            }
        }
    }
    out.push_back(Value::Number((pos + 1) as f64));
    Ok(out)
}

/// Builds the `struct` table.
pub(super) fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, (fmt, args): (mlua::String, MultiValue)| {
            let args: Vec<Value> = args.into_iter().collect();
            lua.create_string(pack(&fmt.as_bytes(), &args)?)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(
            |lua, (fmt, data, init): (mlua::String, mlua::String, Option<i64>)| {
                let start = init.unwrap_or(1);
                if start < 1 {
                    return Err(fail(
                        "bad argument #3 to 'unpack' (offset must be 1 or greater)".into(),
                    ));
                }
                unpack(lua, &fmt.as_bytes(), &data.as_bytes(), start as usize - 1)
            },
        )?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|_, fmt: mlua::String| {
            let mut len = 0usize;
            for (item, _, align) in parse(&fmt.as_bytes(), "size")?.items {
                let unsized_opt = match item {
                    Item::Zstr => "s",
                    Item::Chars(0) => "c0",
                    _ => "",
                };
                if !unsized_opt.is_empty() {
                    return Err(fail(format!(
                        "bad argument #1 to 'size' (option '{unsized_opt}' has no fixed size)"
                    )));
                }
                len += padding(len, item, align);
                len += match item {
                    Item::Chars(n) => n,
                    other => size_of(other),
                };
            }
            Ok(len as f64)
        })?,
    )?;
    Ok(t)
}
