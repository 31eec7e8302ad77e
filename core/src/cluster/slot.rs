//! Hash slots: CRC16 (XMODEM) of the key's hash tag, and where a command's first key is,
//! so a command goes to the node serving that key's slot (ioredis routes by the first
//! key too, and leaves cross-slot checks to the server).

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC16/XMODEM, the checksum Redis Cluster uses (`CLUSTER KEYSLOT`).
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The slot of `key`: only the part inside the first non-empty `{…}` counts.
pub fn slot_of(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    crc16(tagged.unwrap_or(key)) % SLOTS as u16
}

fn is(name: &[u8], what: &str) -> bool {
    name.eq_ignore_ascii_case(what.as_bytes())
}

fn number(arg: Option<&&[u8]>) -> Option<usize> {
    std::str::from_utf8(arg?).ok()?.parse().ok()
}

/// Commands that take no key (sent to a random primary). Anything not listed and not
/// special-cased below has its first key at argument 1.
const KEYLESS: &[&str] = &[
    "PING",
    "ECHO",
    "INFO",
    "DBSIZE",
    "FLUSHALL",
    "FLUSHDB",
    "KEYS",
    "SCAN",
    "RANDOMKEY",
    "TIME",
    "CLUSTER",
    "CONFIG",
    "CLIENT",
    "SCRIPT",
    "FUNCTION",
    "COMMAND",
    "PUBLISH",
    "PUBSUB",
    "MULTI",
    "EXEC",
    "DISCARD",
    "UNWATCH",
    "SELECT",
    "AUTH",
    "HELLO",
    "QUIT",
    "READONLY",
    "READWRITE",
    "SAVE",
    "BGSAVE",
    "BGREWRITEAOF",
    "LASTSAVE",
    "SLOWLOG",
    "DEBUG",
    "WAIT",
    "WAITAOF",
    "ROLE",
    "LATENCY",
    "SWAPDB",
    "MONITOR",
    "ACL",
    "MODULE",
    "SHUTDOWN",
    "LOLWUT",
    "FAILOVER",
    "SENTINEL",
    "ASKING",
    "RESET",
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "UNSUBSCRIBE",
    "PUNSUBSCRIBE",
    "MEMORY",
    "OBJECT",
    "XINFO",
    "XGROUP",
    "REPLICAOF",
    "SLAVEOF",
    "SYNC",
    "PSYNC",
];

/// The first key of a command (`args[0]` is the name), or `None` for keyless commands.
pub fn first_key<'a>(args: &[&'a [u8]]) -> Option<&'a [u8]> {
    let name = *args.first()?;
    let at = |i: usize| args.get(i).copied();
    match () {
        // numkeys at 2, keys from 3.
        _ if [
            "EVAL",
            "EVALSHA",
            "EVAL_RO",
            "EVALSHA_RO",
            "FCALL",
            "FCALL_RO",
            "BLMPOP",
            "BZMPOP",
        ]
        .iter()
        .any(|n| is(name, n)) =>
        {
            (number(args.get(2))? > 0).then(|| at(3)).flatten()
        }
        // numkeys at 1, keys from 2 (MSETEX: key value pairs from 2).
        _ if [
            "MSETEX",
            "ZUNION",
            "ZINTER",
            "ZDIFF",
            "ZINTERCARD",
            "SINTERCARD",
            "LMPOP",
            "ZMPOP",
        ]
        .iter()
        .any(|n| is(name, n)) =>
        {
            at(2)
        }
        _ if is(name, "XREAD") || is(name, "XREADGROUP") => {
            let streams = args.iter().position(|a| is(a, "STREAMS"))?;
            at(streams + 1)
        }
        // Subcommand first, key second.
        _ if is(name, "BITOP") => at(2),
        _ if is(name, "MEMORY")
            || is(name, "OBJECT")
            || is(name, "XINFO")
            || is(name, "XGROUP") =>
        {
            at(2).filter(|_| {
                args.len() > 2
                    && !is(args[1], "HELP")
                    && !is(args[1], "STATS")
                    && !is(args[1], "DOCTOR")
                    && !is(args[1], "MALLOC-STATS")
                    && !is(args[1], "PURGE")
            })
        }
        _ if is(name, "MIGRATE") => at(3).filter(|k| !k.is_empty()),
        // Sharded pub/sub routes by the channel's slot.
        _ if is(name, "SPUBLISH") || is(name, "SSUBSCRIBE") || is(name, "SUNSUBSCRIBE") => at(1),
        _ if KEYLESS.iter().any(|n| is(name, n)) => None,
        _ => at(1),
    }
}

/// Commands that only read, which `scaleReads` may send to a replica.
pub fn is_readonly(name: &[u8]) -> bool {
    const READS: &[&str] = &[
        "GET",
        "MGET",
        "STRLEN",
        "GETRANGE",
        "SUBSTR",
        "EXISTS",
        "TTL",
        "PTTL",
        "EXPIRETIME",
        "PEXPIRETIME",
        "TYPE",
        "HGET",
        "HMGET",
        "HGETALL",
        "HKEYS",
        "HVALS",
        "HLEN",
        "HEXISTS",
        "HSTRLEN",
        "HRANDFIELD",
        "HSCAN",
        "LRANGE",
        "LLEN",
        "LINDEX",
        "LPOS",
        "SMEMBERS",
        "SISMEMBER",
        "SMISMEMBER",
        "SCARD",
        "SRANDMEMBER",
        "SINTER",
        "SUNION",
        "SDIFF",
        "SINTERCARD",
        "SSCAN",
        "ZRANGE",
        "ZRANGEBYSCORE",
        "ZREVRANGEBYSCORE",
        "ZRANGEBYLEX",
        "ZREVRANGEBYLEX",
        "ZREVRANGE",
        "ZCARD",
        "ZSCORE",
        "ZMSCORE",
        "ZRANK",
        "ZREVRANK",
        "ZCOUNT",
        "ZLEXCOUNT",
        "ZSCAN",
        "ZRANDMEMBER",
        "ZUNION",
        "ZINTER",
        "ZDIFF",
        "ZINTERCARD",
        "GETBIT",
        "BITCOUNT",
        "BITPOS",
        "BITFIELD_RO",
        "PFCOUNT",
        "GEOPOS",
        "GEODIST",
        "GEOHASH",
        "GEOSEARCH",
        "GEORADIUS_RO",
        "GEORADIUSBYMEMBER_RO",
        "XRANGE",
        "XREVRANGE",
        "XLEN",
        "XREAD",
        "XINFO",
        "XPENDING",
        "DUMP",
        "TOUCH",
        "SORT_RO",
        "EVAL_RO",
        "EVALSHA_RO",
        "FCALL_RO",
        "LCS",
        "OBJECT",
        "MEMORY",
        // Newer than Redis 7.0 (hash-field expiry, vector sets, arrays), read-only as
        // ioredis's command table says.
        "HTTL",
        "HPTTL",
        "HEXPIRETIME",
        "HPEXPIRETIME",
        "VCARD",
        "VDIM",
        "VEMB",
        "VGETATTR",
        "VINFO",
        "VISMEMBER",
        "VLINKS",
        "VRANDMEMBER",
        "VRANGE",
        "VSIM",
        "ARCOUNT",
        "ARGET",
        "ARGETRANGE",
        "ARGREP",
        "ARINFO",
        "ARLASTITEMS",
        "ARLEN",
        "ARMGET",
        "ARNEXT",
        "AROP",
        "ARSCAN",
    ];
    READS.iter().any(|n| is(name, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values from CLUSTER KEYSLOT on redis-server 7.0.
        assert_eq!(slot_of(b"foo"), 12182);
        assert_eq!(slot_of(b"{user1000}.following"), slot_of(b"user1000"));
        assert_eq!(slot_of(b"foo{}{bar}"), slot_of(b"foo{}{bar}"));
        assert_ne!(slot_of(b"foo{}{bar}"), slot_of(b"bar"));
        assert_eq!(slot_of(b"123456789"), 0x31C3);
    }

    #[test]
    fn finds_the_first_key() {
        let k = |args: &[&[u8]]| first_key(args).map(<[u8]>::to_vec);
        assert_eq!(k(&[b"GET", b"a"]), Some(b"a".to_vec()));
        assert_eq!(k(&[b"PING"]), None);
        assert_eq!(k(&[b"EVAL", b"return 1", b"1", b"k"]), Some(b"k".to_vec()));
        assert_eq!(k(&[b"EVAL", b"return 1", b"0"]), None);
        assert_eq!(
            k(&[b"XREAD", b"COUNT", b"1", b"STREAMS", b"s", b"0"]),
            Some(b"s".to_vec())
        );
        assert_eq!(k(&[b"BITOP", b"AND", b"d", b"a"]), Some(b"d".to_vec()));
        // Newer commands ioredis has methods for.
        assert_eq!(
            k(&[b"MSETEX", b"2", b"a", b"1", b"b", b"2", b"EX", b"10"]),
            Some(b"a".to_vec())
        );
        assert_eq!(k(&[b"SENTINEL", b"masters"]), None);
        assert_eq!(
            k(&[b"HEXPIRE", b"h", b"10", b"FIELDS", b"1", b"f"]),
            Some(b"h".to_vec())
        );
    }

    #[test]
    fn newer_reads_may_go_to_replicas() {
        assert!(is_readonly(b"httl") && is_readonly(b"VSIM") && is_readonly(b"ARGET"));
        assert!(!is_readonly(b"HEXPIRE") && !is_readonly(b"MSETEX") && !is_readonly(b"VADD"));
    }

    /// The lists above mirror the JS facade's command table (lib/redis-commands.json, from
    /// Redis's COMMAND and ioredis's table): a command whose key is argument 1 is routed
    /// by it, and a read-only one may go to a replica. Containers (MEMORY, OBJECT, XINFO,
    /// XGROUP) are routed by their subcommand's key above.
    #[test]
    fn agrees_with_the_command_table() {
        const CONTAINERS: &[&str] = &["memory", "object", "xinfo", "xgroup"];
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../../lib/redis-commands.json"))
                .expect("lib/redis-commands.json parses");
        for entry in table["commands"].as_array().expect("a command list") {
            let name = entry[0].as_str().expect("a name");
            if name.contains('|') || CONTAINERS.contains(&name) {
                continue;
            }
            let flags = entry[2].as_array().expect("flags");
            let specs = entry[3].as_array().expect("key specs");
            let upper = name.to_uppercase();
            let args: [&[u8]; 4] = [upper.as_bytes(), b"k", b"x", b"y"];
            let key_at_1 = specs
                .first()
                .is_some_and(|s| s[0][0] == "i" && s[0][1] == 1 && s[1][0] == "r");
            if key_at_1 {
                assert_eq!(
                    first_key(&args),
                    Some(&b"k"[..]),
                    "{name} routes by argument 1"
                );
            }
            let readonly = flags.iter().any(|f| f == "readonly");
            if key_at_1 && readonly {
                assert!(is_readonly(upper.as_bytes()), "{name} may go to a replica");
            }
            if is_readonly(upper.as_bytes()) {
                assert!(readonly, "{name} is read-only in the table");
            }
        }
    }
}
