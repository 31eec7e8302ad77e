//! The argument encoding that crosses the N-API boundary: one byte buffer holding every
//! argument as a little-endian `u32` length followed by its bytes. The JS facade writes
//! it into a reused slab, so a command costs one borrowed `&[u8]` on the way in.

/// Splits an encoded argument list into borrowed arguments. `None` when the buffer is
/// truncated (a length that runs past the end), which only a caller bug can produce.
pub fn decode(mut buf: &[u8]) -> Option<Vec<&[u8]>> {
    let mut args = Vec::with_capacity(4);
    while !buf.is_empty() {
        let (arg, rest) = split_first(buf)?;
        args.push(arg);
        buf = rest;
    }
    Some(args)
}

/// Whether `buf` decodes ([`decode`]) to at least one argument, without building the list.
pub fn well_formed(mut buf: &[u8]) -> bool {
    if buf.is_empty() {
        return false;
    }
    while !buf.is_empty() {
        match split_first(buf) {
            Some((_, rest)) => buf = rest,
            None => return false,
        }
    }
    true
}

/// The first argument of `buf` and what follows it; `None` when it is cut short.
fn split_first(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len_bytes, rest) = buf.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len_bytes) as usize;
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// Keys from which a script run counts as long (~2 µs of server time per key of a
/// coalesced rate-limit run).
const LONG_SCRIPT_KEYS: u32 = 8;

/// Whether encoded `buf` is an EVAL/EVALSHA (or `_RO`) or FCALL of at least
/// [`LONG_SCRIPT_KEYS`] keys: a command the server takes long enough over that the client
/// thread should not poll for its reply (see `spin.rs`).
pub fn long_script(buf: &[u8]) -> bool {
    let Some((name, rest)) = split_first(buf) else {
        return false;
    };
    let script = [
        &b"EVALSHA"[..],
        b"EVAL",
        b"EVALSHA_RO",
        b"EVAL_RO",
        b"FCALL",
        b"FCALL_RO",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n));
    if !script {
        return false;
    }
    let numkeys = split_first(rest)
        .and_then(|(_, rest)| split_first(rest))
        .and_then(|(n, _)| std::str::from_utf8(n).ok()?.parse::<u32>().ok());
    numkeys.is_some_and(|n| n >= LONG_SCRIPT_KEYS)
}

/// The database a `SELECT <index>` command switches to; `None` for any other command.
/// A client remembers it once the server says OK, to select it again on reconnect (as
/// ioredis does) and to open its memory-engine session on it during an outage.
pub fn selected_db(args: &[&[u8]]) -> Option<u32> {
    match args {
        [name, index] if name.eq_ignore_ascii_case(b"SELECT") => {
            std::str::from_utf8(index).ok()?.parse().ok()
        }
        _ => None,
    }
}

/// Encodes arguments the way the JS facade does (used by tests and Rust callers).
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = Vec::new();
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(&(arg.len() as u32).to_le_bytes());
        out.extend_from_slice(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_scripts_are_script_runs_of_eight_keys_or_more() {
        let long = |args: &[&str]| long_script(&encode(args));
        assert!(long(&["EVALSHA", "abc", "8", "k1"]));
        assert!(long(&["evalsha", "abc", "32"]));
        assert!(long(&["EVAL", "return 1", "100"]));
        assert!(long(&["FCALL_RO", "f", "9"]));
        assert!(!long(&["EVALSHA", "abc", "7", "k"]));
        assert!(!long(&["EVALSHA", "abc", "x"]));
        assert!(!long(&["EVALSHA", "abc"]));
        assert!(!long(&["EVALSHA"]));
        assert!(!long(&["MGET", "abc", "100"]));
        assert!(!long_script(&[1, 0]));
    }

    #[test]
    fn round_trips_binary_and_empty_args() {
        let args: Vec<&[u8]> = vec![b"SET", b"", b"\x00\xff\r\n"];
        assert_eq!(decode(&encode(&args)).unwrap(), args);
        assert_eq!(decode(&[]).unwrap(), Vec::<&[u8]>::new());
    }

    #[test]
    fn well_formed_agrees_with_decode() {
        let good = encode(&[b"GET".as_slice(), b"key"]);
        assert!(well_formed(&good));
        assert!(!well_formed(&[]), "no argument at all");
        assert!(
            !well_formed(&good[..good.len() - 1]),
            "last argument cut short"
        );
        assert!(!well_formed(&good[..2]), "length cut short");
        assert!(decode(&good[..good.len() - 1]).is_none());
    }

    #[test]
    fn recognizes_select() {
        assert_eq!(selected_db(&[b"SELECT", b"3"]), Some(3));
        assert_eq!(selected_db(&[b"select", b"0"]), Some(0));
        assert_eq!(selected_db(&[b"SELECT", b"-1"]), None);
        assert_eq!(selected_db(&[b"SELECT", b"x"]), None);
        assert_eq!(selected_db(&[b"SELECT"]), None);
        assert_eq!(selected_db(&[b"GET", b"3"]), None);
    }

    #[test]
    fn rejects_truncated_input() {
        let mut buf = encode(&[b"GET"]);
        buf.pop();
        assert!(decode(&buf).is_none());
        assert!(decode(&[1, 0]).is_none());
    }
}
