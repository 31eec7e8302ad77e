//! Rate-limit decisions made in place on the keyspace: what an EVALSHA of rate-limit-redis's
//! increment script or of bulwark's fixed-window script does (the native known script of
//! `script/known.rs`), without building the EVALSHA, its `redis.call`s and their replies.
//! Each decision reads the clock once and makes the same keyspace calls its script's
//! commands make (the same lookups, so the same lazy expiry, LRU and hit counters; the same
//! writes, so the same WATCH invalidation and record of written keys for the replay to
//! Redis). `core/tests/known_scripts.rs` compares both with the interpreter.
//!
//! Whatever would make the script fail or go to the interpreter (a foreign type or a value
//! that is not a plain integer under the key, arguments out of the script's range, the
//! script not loaded, a session inside MULTI) answers `None` before anything is touched:
//! the caller runs the EVALSHA then, exactly as before.

use super::script::Known;
use super::store::{Hash, State, Value};
use super::{Engine, Session};
use crate::ratelimit::{MAX_LIMIT, MAX_LIMIT_TIMES_WINDOW, MAX_WINDOW_MS};

/// Integers the scripts' doubles hold exactly with room for a sum (known.rs's bound).
const EXACT: i64 = 1 << 52;

/// Fields up to which a hash is searched by comparing names.
const SMALL_HASH: usize = 8;

/// A stored value as the scripts' `tonumber` reads it when it is a plain integer within
/// ±[`EXACT`]; `None` for anything else (the interpreter's case). What
/// `parse_i64(value).filter(|v| v.abs() <= EXACT)` answers, without its overflow checks on
/// every digit (at most 16 digits here, which cannot overflow): a window's end has 13 digits
/// and is read on every decision, so eight digits at a time are read in one word.
fn plain(value: &[u8]) -> Option<i64> {
    let (negative, digits) = match value.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, value),
    };
    match digits {
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] if digits.len() <= 16 => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    let mut rest = digits;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        v = v * 100_000_000 + eight_digits(*chunk)?;
        rest = tail;
    }
    for &c in rest {
        let digit = c.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        v = v * 10 + u64::from(digit);
    }
    let v = v as i64;
    (v <= EXACT).then_some(if negative { -v } else { v })
}

/// Eight ASCII digits as their number, `None` if one is not a digit: the bytes checked and
/// combined in pairs, fours and eights within one word (no loop-carried multiply per digit).
fn eight_digits(chunk: [u8; 8]) -> Option<u64> {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let word = u64::from_le_bytes(chunk);
    // Every byte in 0x30..=0x3F, then, less b'0', at most 9 (adding 6 carries into the high
    // nibble from 10 up); no byte borrows from or carries into its neighbour.
    let values = word.wrapping_sub(0x3030_3030_3030_3030);
    if word & HIGH != 0x3030_3030_3030_3030
        || values.wrapping_add(0x0606_0606_0606_0606) & HIGH != 0
    {
        return None;
    }
    // The first digit is the lowest byte: each step makes a number of 2, 4 then 8 digits
    // from two neighbours (high × 10^k + low).
    let pairs = (values.wrapping_mul(10 << 8 | 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    Some(fours.wrapping_mul(10_000 << 32 | 1) >> 32)
}

/// An integer as the scripts pass a Lua number to `redis.call` (`%.17g` of an exact
/// integer is its decimal digits).
fn digits(v: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    push_decimal(&mut out, v);
    out
}

/// Appends the decimal digits of `v` (what `write!` gives, without the formatting
/// machinery on every decision).
fn push_decimal(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[at..]);
}

impl Engine {
    /// Whether `known`'s native script would run for `session` now: an EVALSHA it sends
    /// would execute (not queue in MULTI, not be refused in subscriber mode, not answer
    /// NOSCRIPT) and known scripts are not sent to the interpreter.
    fn runs_in_place(&self, st: &State, session: &Session, known: Known) -> bool {
        !session.in_multi()
            && session.subscription_count() == 0
            && !st.config.interpret_known_scripts
            && self.script_cached(st, known)
    }

    /// rate-limit-redis 6's increment script on `key` with a window of `window_ms`:
    /// `[totalHits, pttl, now_ms]` (the script's reply and the engine's time of the
    /// decision), or `None` when the EVALSHA must run instead.
    pub fn decide_store_increment(
        &self,
        session: &Session,
        key: &[u8],
        window_ms: u64,
    ) -> Option<[i64; 3]> {
        if !(1..=EXACT as u64).contains(&window_ms) {
            return None;
        }
        let mut st = self.shared.state.lock();
        if !self.runs_in_place(&st, session, Known::StoreIncrement) {
            return None;
        }
        let now = self.shared.clock.now_ms();
        let db = session.db();
        let slot = st.live_slot(db, key, now);
        // PTTL, then INCR on a key with a TTL, which must hold a plain integer.
        let (ttl, hits) = match slot.map(|i| st.dbs[db].keys.at(i)) {
            None => (-2, None),
            Some(e) => match (e.expires_at, &e.value) {
                (None, _) => (-1, None),
                (Some(t), Value::Str(v)) => {
                    let hits = plain(v).filter(|n| *n < EXACT)? + 1;
                    ((t - now) as i64, Some(hits))
                }
                (Some(_), _) => return None,
            },
        };
        // EVALSHA, PTTL, then SET or INCR.
        st.counters.commands += 3;
        match slot {
            Some(i) => st.looked_up(db, i, 1),
            None => {
                st.lookup(db, key, now);
            }
        }
        let reply = match (slot, hits) {
            (Some(i), Some(hits)) => {
                // INCR looks the key up twice: to read it, then to write it.
                st.looked_up(db, i, 2);
                if let Value::Str(value) = &mut st.dbs[db].keys.at_mut(i).value {
                    value.clear();
                    push_decimal(value, hits);
                }
                st.modified_at(db, i, key);
                [hits, ttl, now as i64]
            }
            _ => {
                let value = Value::Str(b"1".to_vec());
                st.set(db, key, value, Some(now + window_ms));
                [1, window_ms as i64, now as i64]
            }
        };
        st.evict_if_needed();
        Some(reply)
    }

    /// bulwark's fixed-window script (fixed_window.lua) on `key`: `[allowed 0|1,
    /// remaining, reset_ms, retry_after_ms, now_ms]`, or `None` when the EVALSHA must run.
    pub fn decide_fixed_window(
        &self,
        session: &Session,
        key: &[u8],
        limit: u64,
        window_ms: u64,
        cost: u64,
    ) -> Option<[i64; 5]> {
        let in_range = (1..=MAX_LIMIT).contains(&limit)
            && (1..=MAX_WINDOW_MS).contains(&window_ms)
            && cost <= MAX_LIMIT
            && limit as u128 * window_ms as u128 <= MAX_LIMIT_TIMES_WINDOW as u128;
        if !in_range {
            return None;
        }
        let (limit, window, cost) = (limit as i64, window_ms as i64, cost as i64);
        let mut st = self.shared.state.lock();
        if !self.runs_in_place(&st, session, Known::FixedWindow) {
            return None;
        }
        let now_ms = self.shared.clock.now_ms();
        let now = now_ms as i64;
        let db = session.db();
        let slot = st.live_slot(db, key, now_ms);
        // HMGET key c e: a hash (or nothing) whose fields are plain integers (or absent).
        let mut count_slot = None;
        let (mut count, mut expires) = match slot.map(|i| &st.dbs[db].keys.at(i).value) {
            None => (0, 0),
            Some(Value::Hash(h)) => {
                let [count, expires] = fields(h, [b"c", b"e"])?;
                count_slot = count.slot;
                (count.value, expires.value)
            }
            Some(_) => return None,
        };
        // EVALSHA, TIME, HMGET.
        st.counters.commands += 3;
        match slot {
            Some(i) => st.looked_up(db, i, 1),
            None => {
                st.lookup(db, key, now_ms);
            }
        }
        if expires <= now {
            (count, expires) = (0, now + window);
        }
        let allowed = count + cost <= limit;
        if allowed && cost > 0 {
            // HSET or HINCRBY look the key up twice (creating a missing hash in between).
            let i = match slot {
                Some(i) => {
                    st.looked_up(db, i, 2);
                    i
                }
                None => {
                    st.lookup(db, key, now_ms);
                    st.set(db, key, Value::Hash(Hash::default()), None);
                    let i = st.live_slot(db, key, now_ms)?;
                    st.looked_up(db, i, 1);
                    i
                }
            };
            let Value::Hash(hash) = &mut st.dbs[db].keys.at_mut(i).value else {
                unreachable!("a hash was read or created under the key");
            };
            if count == 0 {
                // HSET key c cost e expires, then PEXPIREAT key expires (expires > now).
                hash.insert(b"c", digits(cost));
                hash.insert(b"e", digits(expires));
                st.modified_at(db, i, key);
                st.counters.commands += 2;
                st.looked_up(db, i, 1);
                st.set_expiry(db, key, Some(expires as u64));
            } else {
                // HINCRBY key c cost (the field holds the count read above).
                let slot = count_slot.expect("a count read from the hash's field");
                hash.rewrite_at(slot, |value| push_decimal(value, count + cost));
                st.modified_at(db, i, key);
                st.counters.commands += 1;
            }
            count += cost;
        }
        let reset = if count > 0 { expires - now } else { 0 };
        let retry = match (allowed, cost > limit) {
            (true, _) => 0,
            (false, true) => window,
            (false, false) => reset,
        };
        st.evict_if_needed();
        Some([
            i64::from(allowed),
            (limit - count).max(0),
            reset,
            retry,
            now,
        ])
    }
}

/// A hash field read as a plain integer (0 when absent) and where it is (for a rewrite).
#[derive(Clone, Copy, Default)]
struct Field {
    value: i64,
    slot: Option<usize>,
}

/// Fields of a hash; `None` when one is not a plain integer. A small hash (these hold 2 to 4
/// fields) is searched in one pass comparing names rather than by hashing each name.
fn fields<const N: usize>(hash: &Hash, names: [&[u8]; N]) -> Option<[Field; N]> {
    let mut slots: [Option<usize>; N] = [None; N];
    if hash.map.len() <= SMALL_HASH {
        for (i, (name, _)) in hash.map.iter().enumerate() {
            if let Some(at) = names.iter().position(|n| same(n, name)) {
                slots[at] = Some(i);
            }
        }
    } else {
        for (slot, name) in slots.iter_mut().zip(names) {
            *slot = hash.map.index_of(name);
        }
    }
    let mut found = [Field::default(); N];
    for (field, slot) in found.iter_mut().zip(slots) {
        if let Some(i) = slot {
            *field = Field {
                value: plain(hash.map.at(i))?,
                slot,
            };
        }
    }
    Some(found)
}

/// Byte equality for field names of a byte or two, without a `memcmp` call each.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::num::parse_i64;

    #[test]
    fn plain_reads_what_parse_i64_reads_within_exact() {
        let mut cases: Vec<Vec<u8>> = [
            "",
            "-",
            "0",
            "-0",
            "00",
            "01",
            "+1",
            "1",
            "-1",
            "12a",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "4503599627370496",
            "4503599627370497",
            "-4503599627370496",
            "-4503599627370497",
            "9999999999999999",
            "10000000000000000",
            "99999999999999999999",
            "1765000000000",
            "1234567890123456",
            "12345678:",
            "1234567/9",
            "99999999",
            "10000000",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let mut seed = 7u64;
        for _ in 0..20_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 59) as usize;
            let alphabet = b"0123456789-+ .a";
            cases.push(
                (0..len)
                    .map(|i| alphabet[((seed >> (i * 3 % 56)) % alphabet.len() as u64) as usize])
                    .collect(),
            );
        }
        // Digit strings of every length up to 17, and each with one byte that is not a digit
        // at every place: just below '0', just above '9', '?' (a digit's high nibble), 'p',
        // a space, 0xB9 (a digit's low nibble).
        let base = b"98765432109876543";
        for len in 1..=base.len() {
            cases.push(base[..len].to_vec());
            for at in 0..len {
                for bad in [b'/', b':', b'?', b'p', b' ', 0xB9] {
                    let mut case = base[..len].to_vec();
                    case[at] = bad;
                    cases.push(case);
                }
            }
        }
        for case in cases {
            let expected = parse_i64(&case).filter(|v| v.abs() <= EXACT);
            assert_eq!(
                plain(&case),
                expected,
                "{:?}",
                String::from_utf8_lossy(&case)
            );
        }
    }
}
