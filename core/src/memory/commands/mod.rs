//! The command table and the helpers every command family shares.

mod bitfield;
mod bits;
mod hashes;
mod keys;
mod lists;
mod server;
mod sets;
mod sort;
mod strings;
mod zsetops;
mod zsets;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use once_cell::sync::Lazy;

use super::num;
use super::pubsub::Delivery;
use super::store::{err, wrongtype, Entry, Hash, List, Set, State, Value, ZSet};
use crate::Reply;

/// What a handler returns; `Err` carries an error reply so `?` can be used.
pub(crate) type R = Result<Reply, Reply>;

/// The execution context of a data command.
pub(crate) struct Ctx<'a> {
    pub(crate) st: &'a mut State,
    pub(crate) db: usize,
    pub(crate) now: u64,
    pub(crate) outbox: &'a mut Vec<Delivery>,
}

/// Which SUBSCRIBE-family command.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sub {
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
}

/// How the engine runs a command.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// A keyspace/server command run by a handler.
    Data(fn(&mut Ctx, &[&[u8]]) -> R),
    Ping,
    Select,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    Quit,
    Reset,
    Subscribe(Sub),
    /// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO.
    Eval(super::script::EvalMode),
    /// SCRIPT LOAD/EXISTS/FLUSH/KILL.
    Script,
}

/// One command table entry.
pub(crate) struct Cmd {
    /// Lower-case name, as Redis prints it in errors.
    pub(crate) name: &'static str,
    /// Redis arity: `n > 0` exactly n words, `n < 0` at least -n.
    pub(crate) arity: i32,
    pub(crate) kind: Kind,
}

/// FNV-1a for the fixed command table: faster than SipHash on short names,
/// and nothing user-controlled is ever inserted, so flooding is impossible.
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

static TABLE: Lazy<HashMap<&'static str, Cmd, BuildHasherDefault<Fnv>>> = Lazy::new(|| {
    let mut t = HashMap::default();
    let mut add = |name: &'static str, arity: i32, kind: Kind| {
        t.insert(name, Cmd { name, arity, kind });
    };
    use Kind::*;
    add("ping", -1, Ping);
    add("select", 2, Select);
    add("multi", 1, Multi);
    add("exec", 1, Exec);
    add("discard", 1, Discard);
    add("watch", -2, Watch);
    add("unwatch", 1, Unwatch);
    add("quit", -1, Quit);
    add("reset", 1, Reset);
    add("subscribe", -2, Subscribe(Sub::Subscribe));
    add("unsubscribe", -1, Subscribe(Sub::Unsubscribe));
    add("psubscribe", -2, Subscribe(Sub::PSubscribe));
    add("punsubscribe", -1, Subscribe(Sub::PUnsubscribe));
    for (name, by_sha, read_only) in [
        ("eval", false, false),
        ("evalsha", true, false),
        ("eval_ro", false, true),
        ("evalsha_ro", true, true),
    ] {
        add(
            name,
            -3,
            Eval(super::script::EvalMode { by_sha, read_only }),
        );
    }
    add("script", -2, Script);
    for (name, arity, f) in strings::COMMANDS
        .iter()
        .chain(keys::COMMANDS)
        .chain(hashes::COMMANDS)
        .chain(lists::COMMANDS)
        .chain(sets::COMMANDS)
        .chain(zsets::COMMANDS)
        .chain(zsetops::COMMANDS)
        .chain(bits::COMMANDS)
        .chain(bitfield::COMMANDS)
        .chain(sort::COMMANDS)
        .chain(server::COMMANDS)
    {
        add(name, *arity, Data(*f));
    }
    t
});

/// A command-table row of a family module: name, arity, handler.
pub(crate) type Row = (&'static str, i32, fn(&mut Ctx, &[&[u8]]) -> R);

/// Finds a command by its case-insensitive name.
pub(crate) fn lookup_command(name: &[u8]) -> Option<&'static Cmd> {
    let mut buf = [0u8; 24];
    if name.len() > buf.len() {
        return None;
    }
    for (b, c) in buf.iter_mut().zip(name) {
        *b = c.to_ascii_lowercase();
    }
    TABLE.get(std::str::from_utf8(&buf[..name.len()]).ok()?)
}

pub(crate) fn ok() -> Reply {
    Reply::Status("OK".into())
}

pub(crate) fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(b.to_vec())
}

pub(crate) fn syntax() -> Reply {
    err("syntax error")
}

pub(crate) fn not_int() -> Reply {
    err("value is not an integer or out of range")
}

/// An integer argument (`ERR value is not an integer or out of range`).
pub(crate) fn int(a: &[u8]) -> Result<i64, Reply> {
    num::parse_i64(a).ok_or_else(not_int)
}

/// A double argument (`ERR value is not a valid float`).
pub(crate) fn float(a: &[u8]) -> Result<f64, Reply> {
    num::parse_f64(a).ok_or_else(|| err("value is not a valid float"))
}

/// An integer in `1..=i64::MAX`, else the error `msg` (Redis's
/// `getRangeLongFromObjectOrReply` gives the same message for a non-integer).
pub(crate) fn at_least_one(a: &[u8], msg: &str) -> Result<usize, Reply> {
    match num::parse_i64(a) {
        Some(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(err(msg)),
    }
}

/// LMPOP/ZMPOP arguments: `numkeys key… <from> [COUNT n]`, where `<from>`
/// is `ends.0` (true) or `ends.1` (false). Returns the keys, the end, the count.
pub(crate) fn mpop_args<'a, 'b>(
    a: &'b [&'a [u8]],
    ends: (&str, &str),
) -> Result<(&'b [&'a [u8]], bool, usize), Reply> {
    let n = at_least_one(a[1], "numkeys should be greater than 0")?;
    let from = 2usize.saturating_add(n);
    let Some(end) = a.get(from) else {
        return Err(syntax());
    };
    let first = if is(end, ends.0) {
        true
    } else if is(end, ends.1) {
        false
    } else {
        return Err(syntax());
    };
    let mut count = None;
    let mut i = from + 1;
    while i < a.len() {
        if count.is_none() && is(a[i], "count") && i + 1 < a.len() {
            count = Some(at_least_one(a[i + 1], "count should be greater than 0")?);
            i += 2;
        } else {
            return Err(syntax());
        }
    }
    Ok((&a[2..from], first, count.unwrap_or(1)))
}

/// Which of `len` elements SRANDMEMBER/HRANDFIELD/ZRANDMEMBER return: one
/// without a count, `count` distinct ones (at most `len`) for a positive
/// count, `-count` with repetitions for a negative one.
pub(crate) fn random_picks(st: &mut State, len: usize, count: Option<i64>) -> Vec<usize> {
    match count {
        None => vec![st.rand_below(len)],
        Some(c) if c < 0 => (0..c.unsigned_abs()).map(|_| st.rand_below(len)).collect(),
        Some(c) => {
            // Distinct elements: a partial Fisher-Yates over the indexes.
            let n = usize::try_from(c).unwrap_or(usize::MAX).min(len);
            let mut idx: Vec<usize> = (0..len).collect();
            for i in 0..n {
                let j = i + st.rand_below(len - i);
                idx.swap(i, j);
            }
            idx.truncate(n);
            idx
        }
    }
}

/// HRANDFIELD/ZRANDMEMBER arguments after the key: `[count [<with>]]`.
/// Returns the count and whether `<with>` (WITHVALUES/WITHSCORES) was given.
pub(crate) fn rand_args(a: &[&[u8]], with: &str) -> Result<(Option<i64>, bool), Reply> {
    let Some(c) = a.get(2) else {
        return Ok((None, false));
    };
    let count = int(c)?;
    if count == i64::MIN {
        return Err(err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with_values = match a.get(3) {
        None => false,
        Some(w) if a.len() == 4 && is(w, with) => true,
        Some(_) => return Err(syntax()),
    };
    if with_values && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(err("value is out of range"));
    }
    Ok((Some(count), with_values))
}

/// Case-insensitive option comparison.
pub(crate) fn is(a: &[u8], opt: &str) -> bool {
    a.eq_ignore_ascii_case(opt.as_bytes())
}

/// Parses a SCAN-family cursor (unsigned, `ERR invalid cursor`).
pub(crate) fn cursor(a: &[u8]) -> Result<u64, Reply> {
    std::str::from_utf8(a)
        .ok()
        .filter(|s| !s.starts_with('+'))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| err("invalid cursor"))
}

/// SCAN-family options: MATCH pattern, COUNT n, and (SCAN only) TYPE t.
pub(crate) struct ScanOpts<'a> {
    pub(crate) pattern: Option<&'a [u8]>,
    pub(crate) count: usize,
    pub(crate) type_name: Option<&'a [u8]>,
}

pub(crate) fn scan_opts<'a>(args: &[&'a [u8]], allow_type: bool) -> Result<ScanOpts<'a>, Reply> {
    let mut o = ScanOpts {
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut i = 0;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(args[i], "count") && more {
            let n = int(args[i + 1])?;
            if n < 1 {
                return Err(syntax());
            }
            o.count = n as usize;
        } else if is(args[i], "match") && more {
            o.pattern = Some(args[i + 1]).filter(|p| *p != b"*");
        } else if allow_type && is(args[i], "type") && more {
            o.type_name = Some(args[i + 1]);
        } else {
            return Err(syntax());
        }
        i += 2;
    }
    Ok(o)
}

/// One step of a SCAN over `len` slots. Cursors count down from the end so a
/// removal (which moves the last slot into the hole) never hides an unvisited
/// element; 0 starts and 0 ends. Returns (slots to visit, next cursor).
pub(crate) fn scan_window(len: usize, cursor: u64, count: usize) -> (std::ops::Range<usize>, u64) {
    let top = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let bottom = top.saturating_sub(count);
    (bottom..top, bottom as u64)
}

/// Collections this small answer a whole SCAN at once with cursor 0, like
/// Redis's compact encodings.
pub(crate) const SMALL_COLLECTION: usize = 128;

pub(crate) fn scan_reply(next: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(next.to_string().into_bytes()),
        Reply::Array(items),
    ])
}

macro_rules! typed_access {
    ($get:ident, $get_or_create:ident, $variant:ident, $ty:ty) => {
        /// The live value of this type at `key`, `WRONGTYPE` if another type.
        pub(crate) fn $get(&mut self, key: &[u8]) -> Result<Option<&mut $ty>, Reply> {
            match self.entry(key) {
                None => Ok(None),
                Some(Entry {
                    value: Value::$variant(v),
                    ..
                }) => Ok(Some(v)),
                Some(_) => Err(wrongtype()),
            }
        }
        /// Like the getter, creating an empty value when missing. Callers
        /// must call `modified` afterwards (which deletes it if left empty).
        pub(crate) fn $get_or_create(&mut self, key: &[u8]) -> Result<&mut $ty, Reply> {
            if self.$get(key)?.is_none() {
                self.st
                    .set(self.db, key, Value::$variant(<$ty>::default()), None);
            }
            Ok(self.$get(key)?.expect("just created"))
        }
    };
}

impl Ctx<'_> {
    /// The live entry at `key` (lazy expiry, LRU refresh, hit/miss counters).
    pub(crate) fn entry(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.st.lookup(self.db, key, self.now)
    }

    /// Whether a live key exists (no LRU/hit accounting).
    pub(crate) fn exists(&mut self, key: &[u8]) -> bool {
        self.st.peek(self.db, key, self.now).is_some()
    }

    /// Records an in-place change of `key` (see `State::modified`).
    pub(crate) fn modified(&mut self, key: &[u8]) {
        self.st.modified(self.db, key);
    }

    /// Ends a write command on `key`: a real change is recorded like
    /// `modified`; otherwise only a collection left empty is dropped (Redis
    /// signals WATCHers only when something changed).
    pub(crate) fn changed(&mut self, key: &[u8], changed: bool) {
        if changed {
            self.st.modified(self.db, key);
        } else {
            self.st.drop_if_empty(self.db, key);
        }
    }

    typed_access!(string, string_or_create, Str, Vec<u8>);
    typed_access!(hash, hash_or_create, Hash, Hash);
    typed_access!(list, list_or_create, List, List);
    typed_access!(set, set_or_create, Set, Set);
    typed_access!(zset, zset_or_create, ZSet, ZSet);
}
