//! Differential test of Lua scripting: a corpus of scripts (counters, sliding
//! windows, token buckets, locks, cjson, bit, error cases, the scripts of
//! rate-limit-redis 6 and rate-limiter-flexible) run against a real
//! `redis-server` and the memory engine; replies and error texts must be
//! identical. TTLs read inside scripts are normalised (see `norm`), the only
//! value that depends on timing.

mod support;

use bulwark_core::memory::{Engine, MemoryConfig, Session};
use bulwark_core::Reply;
use support::{Conn, RedisServer};

/// rate-limit-redis 6.0.1 `increment`, exactly as it sends it (whitespace
/// normalised as by its `replaceAll(/^\s+/gm, "").trim()`).
const RLR_INCREMENT: &str = "local windowMs = tonumber(ARGV[1])\nlocal timeToExpire = redis.call(\"PTTL\", KEYS[1])\nif timeToExpire <= 0 then\nredis.call(\"SET\", KEYS[1], 1, \"PX\", windowMs)\nreturn { 1, windowMs }\nend\nlocal totalHits = redis.call(\"INCR\", KEYS[1])        \nreturn { totalHits, timeToExpire }";
/// rate-limit-redis 6.0.1 `get`.
const RLR_GET: &str = "local totalHits = redis.call(\"GET\", KEYS[1])\nlocal timeToExpire = redis.call(\"PTTL\", KEYS[1])\nreturn { totalHits, timeToExpire }";
/// rate-limiter-flexible's RateLimiterRedis `incrTtlLuaScript` (its line
/// continuations join the lines with spaces).
const RLF_INCR_TTL: &str = "redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX') local consumed = redis.call('incrby', KEYS[1], ARGV[1]) local ttl = redis.call('pttl', KEYS[1]) if ttl == -1 then   redis.call('expire', KEYS[1], ARGV[2])   ttl = 1000 * ARGV[2] end return {consumed, ttl} ";

const SLIDING_WINDOW: &str = r#"
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, count + 1}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, count, oldest[1], oldest[2]}
"#;

const TOKEN_BUCKET: &str = r#"
local key = KEYS[1]
local rate, capacity, now, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000)
local allowed = tokens >= want
if allowed then tokens = tokens - want end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, 60000)
return {allowed and 1 or 0, tostring(tokens), math.floor(tokens)}
"#;

const LOCK_ACQUIRE: &str = "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])";
const LOCK_RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// (script, keys, args): run in order on both sides.
fn corpus() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    let mut c: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        // counters and conversions
        ("return redis.call('INCR', KEYS[1])", vec!["c"], vec![]),
        ("return redis.call('INCRBY', KEYS[1], ARGV[1])", vec!["c"], vec!["41"]),
        ("return redis.call('INCRBYFLOAT', KEYS[1], 1.25)", vec!["c"], vec![]),
        ("return redis.call('GET', KEYS[1])", vec!["c"], vec![]),
        ("return redis.call('GET', 'missing')", vec![], vec![]),
        ("return type(redis.call('GET', 'missing'))", vec![], vec![]),
        ("return {1, 'two', 3.7, -3.7, true, false, 'after'}", vec![], vec![]),
        ("return {1, 2, nil, 4}", vec![], vec![]),
        ("return {{1, {2, {3, 'x'}}}, {}}", vec![], vec![]),
        ("return 1e20", vec![], vec![]),
        ("return -1e20", vec![], vec![]),
        ("return 0/0", vec![], vec![]),
        ("return 2^53 + 1", vec![], vec![]),
        ("return nil", vec![], vec![]),
        ("return", vec![], vec![]),
        ("return redis.call('PING')", vec![], vec![]),
        ("return redis.call('PING').ok", vec![], vec![]),
        ("return {ok = 'FINE'}", vec![], vec![]),
        ("return {err = 'MY own error'}", vec![], vec![]),
        ("return {err = 'no code'}", vec![], vec![]),
        ("return redis.status_reply('DONE')", vec![], vec![]),
        ("return redis.error_reply('bad thing')", vec![], vec![]),
        ("return redis.error_reply('-CODE bad thing')", vec![], vec![]),
        ("return redis.error_reply('MYCODE bad thing')", vec![], vec![]),
        ("return redis.error_reply(1)", vec![], vec![]),
        ("return redis.status_reply()", vec![], vec![]),
        ("return redis.sha1hex('')", vec![], vec![]),
        ("return redis.sha1hex(ARGV[1])", vec![], vec!["hello"]),
        ("return redis.sha1hex()", vec![], vec![]),
        ("redis.log(redis.LOG_WARNING, 'x') return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", vec![], vec![]),
        ("return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}", vec!["k1", "k2"], vec!["a1", "a2", "a3"]),
        ("return redis.call('SET', 'n', 0.1) and redis.call('GET', 'n')", vec![], vec![]),
        ("return redis.call('SET', 'n', 1e20) and redis.call('GET', 'n')", vec![], vec![]),
        ("return redis.call('SET', 'n', 7) and redis.call('GET', 'n')", vec![], vec![]),
        ("return redis.call('SET', 'n', -0.5) and redis.call('GET', 'n')", vec![], vec![]),
        ("return redis.call('MGET', 'n', 'missing', 'c')", vec![], vec![]),
        ("return redis.call('HGETALL', 'nohash')", vec![], vec![]),
        ("redis.call('RPUSH', 'l', 'a', 'b', 'c') return redis.call('LRANGE', 'l', 0, -1)", vec![], vec![]),
        ("return redis.call('EXISTS', 'l', 'c', 'zz')", vec![], vec![]),
        ("redis.call('SELECT', 5) redis.call('SET', 'indb5', 'y') return redis.call('DBSIZE')", vec![], vec![]),
        ("return redis.call('GET', 'indb5')", vec![], vec![]),
        ("return _VERSION", vec![], vec![]),
        ("return tostring(12345678901234)", vec![], vec![]),
        ("return string.format('%d %s %5.2f', 42, 'x', 3.14159)", vec![], vec![]),
        ("return {math.floor(7.9), math.max(1, 5, 3), tonumber('0x10'), #'abc'}", vec![], vec![]),
        ("return table.concat({'a', 'b', 'c'}, ',')", vec![], vec![]),
        ("local t = {3, 1, 2} table.sort(t) return t", vec![], vec![]),
        ("return {string.byte('A'), string.char(72, 105), ('x'):rep(3), string.upper('abc')}", vec![], vec![]),
        ("return {unpack({1, 2, 3})}", vec![], vec![]),
        ("return {type(loadstring), type(pcall), type(gcinfo), type(cjson), type(bit), type(redis)}", vec![], vec![]),
        ("return loadstring('return 1 + 1')()", vec![], vec![]),
        // errors
        ("return redis.call('LPUSH', 'c', 'x')", vec![], vec![]),
        ("return redis.pcall('LPUSH', 'c', 'x')", vec![], vec![]),
        ("local r = redis.pcall('LPUSH', 'c', 'x') return {type(r), r.err}", vec![], vec![]),
        ("local ok, e = pcall(redis.call, 'LPUSH', 'c', 'x') return {tostring(ok), type(e), e.err}", vec![], vec![]),
        ("local ok, e = pcall(error, 'boom') return {tostring(ok), e}", vec![], vec![]),
        ("local ok, e = pcall(error, {err = 'X tbl'}) return e", vec![], vec![]),
        ("return redis.call('NOSUCHCMD')", vec![], vec![]),
        ("return redis.pcall('NOSUCHCMD')", vec![], vec![]),
        ("return redis.call('GET')", vec![], vec![]),
        ("return redis.call('GET', 'a', 'b')", vec![], vec![]),
        ("return redis.call()", vec![], vec![]),
        ("return redis.call('GET', {})", vec![], vec![]),
        ("return redis.call('GET', true)", vec![], vec![]),
        ("return redis.call('GET', nil)", vec![], vec![]),
        ("return redis.call('MULTI')", vec![], vec![]),
        ("return redis.call('EXEC')", vec![], vec![]),
        ("return redis.call('WATCH', 'x')", vec![], vec![]),
        ("return redis.call('SUBSCRIBE', 'x')", vec![], vec![]),
        ("return redis.call('EVAL', 'return 1', 0)", vec![], vec![]),
        ("return redis.call('SCRIPT', 'FLUSH')", vec![], vec![]),
        ("return redis.call('INCRBY', 'c', 1.5)", vec![], vec![]),
        ("return redis.call('SET', 'k', 'v', 'EX', 0)", vec![], vec![]),
        ("return x", vec![], vec![]),
        ("return os.time()", vec![], vec![]),
        ("return io", vec![], vec![]),
        ("return require", vec![], vec![]),
        ("return dofile", vec![], vec![]),
        ("return loadfile", vec![], vec![]),
        ("return getfenv", vec![], vec![]),
        ("return print", vec![], vec![]),
        ("x = 1", vec![], vec![]),
        ("local function f() y = 2 end f()", vec![], vec![]),
        ("_G.z = 3", vec![], vec![]),
        ("redis.call = nil", vec![], vec![]),
        ("string.len = nil", vec![], vec![]),
        ("getmetatable('').__index = {}", vec![], vec![]),
        ("loadstring('q = 1')()", vec![], vec![]),
        ("error('boom')", vec![], vec![]),
        ("error('boom', 0)", vec![], vec![]),
        ("error({err = 'CUSTOM table error'})", vec![], vec![]),
        ("\nlocal a = 1\nlocal b = nil\nreturn a + b", vec![], vec![]),
        ("return #nil", vec![], vec![]),
        ("local t = nil return t.x", vec![], vec![]),
        ("return (", vec![], vec![]),
        ("retrun 1", vec![], vec![]),
        ("local function f() return redis.call('LPUSH', 'c', 'x') end\nlocal function g() return f() end\nreturn g()", vec![], vec![]),
        ("local function f()\n  error('deep')\nend\nf()", vec![], vec![]),
        // libraries
        ("return cjson.encode({})", vec![], vec![]),
        ("return cjson.encode({1, 2, 3, {a = 'x/y'}})", vec![], vec![]),
        ("return cjson.encode({a = {1.5, 0.1, 1e20, -3, true, false}})", vec![], vec![]),
        ("return cjson.encode({[1] = 1, [3] = 3})", vec![], vec![]),
        ("return cjson.encode({[1] = 1, [30] = 3})", vec![], vec![]),
        ("return cjson.encode('a\"b\\\\c\\n\\t')", vec![], vec![]),
        ("return cjson.encode(function() end)", vec![], vec![]),
        ("return cjson.encode(cjson.null)", vec![], vec![]),
        ("return cjson.encode(cjson.decode('[1,\"two\",null,true,{\"k\":[]}]'))", vec![], vec![]),
        ("local t = cjson.decode(ARGV[1]) return {t.name, t.n, t.list[2], type(t.missing)}", vec![], vec![r#"{"name":"bob","n":12,"list":[1,2,3]}"#]),
        ("return cjson.decode('3.5') * 2", vec![], vec![]),
        ("return type(cjson.decode('null'))", vec![], vec![]),
        ("return cjson.encode(cjson.decode(ARGV[1]))", vec![], vec![r#"{"a":{"b":{"c":[1,2,[3,[4]]]}}}"#]),
        ("return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.bnot(0)}", vec![], vec![]),
        ("return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8)}", vec![], vec![]),
        ("return struct.pack('>I2', 258)", vec![], vec![]),
        ("return struct.pack('<i4hBbx', -2, 300, 255, -1)", vec![], vec![]),
        ("return {struct.unpack('<i4', 'abcd')}", vec![], vec![]),
        ("return {struct.unpack('>h<H', '\\255\\254\\1\\2')}", vec![], vec![]),
        ("return {struct.unpack('>i3I5', 'abcdefgh')}", vec![], vec![]),
        ("return {struct.size('>iIhd'), struct.size('!4 b i'), struct.size('!8 b d'), struct.size('c7 x')}", vec![], vec![]),
        ("return struct.pack('!4 b i', 1, 2)", vec![], vec![]),
        ("return {struct.unpack('s', 'hello\\0world')}", vec![], vec![]),
        ("return {struct.pack('c5', 'abcdefg'), struct.pack('c0', 'whole'), struct.pack('s', 'z')}", vec![], vec![]),
        ("return {struct.unpack('B c0', '\\3abcd')}", vec![], vec![]),
        ("return {struct.unpack('>d', struct.pack('>d', -0.25))}", vec![], vec![]),
        ("return {struct.pack('<f', 0.5), struct.pack('<d', 1.5), struct.pack('>l', -1)}", vec![], vec![]),
        ("return {struct.unpack('<i2', 'abcd', 3)}", vec![], vec![]),
        ("return struct.pack('q', 1)", vec![], vec![]),
        ("return struct.size('s')", vec![], vec![]),
        ("return struct.unpack('i4', 'ab')", vec![], vec![]),
        ("return struct.pack('i9', 1)", vec![], vec![]),
        ("return struct.pack('i', 'x')", vec![], vec![]),
        ("return {bit.tobit(2^32 + 5), bit.tobit(-1), bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2), bit.bswap(0x12345678)}", vec![], vec![]),
        // Error and status texts are C strings to Redis: cut at a NUL, CR/LF become spaces.
        ("return {err = ARGV[1]}", vec![], vec!["\0x"]),
        ("return {err = ARGV[1]}", vec![], vec!["ERR a\0b\r\nc"]),
        ("return {ok = ARGV[1]}", vec![], vec!["o\0k"]),
        ("return redis.status_reply(ARGV[1])", vec![], vec!["a\r\nb"]),
        ("error(ARGV[1])", vec![], vec!["bad\0tail"]),
    ];
    // Rate limiting and locks, with state carried between runs.
    for _ in 0..3 {
        c.push((RLR_INCREMENT, vec!["rl:1.2.3.4"], vec!["60000"]));
    }
    c.push((RLR_GET, vec!["rl:1.2.3.4"], vec![]));
    c.push((RLR_GET, vec!["rl:nobody"], vec![]));
    for _ in 0..3 {
        c.push((RLF_INCR_TTL, vec!["rlflx:user"], vec!["2", "60"]));
    }
    c.push((
        "redis.call('SET', KEYS[1], 5) return 1",
        vec!["rlflx:noexp"],
        vec![],
    ));
    c.push((RLF_INCR_TTL, vec!["rlflx:noexp"], vec!["1", "60"]));
    for (now, member) in [
        ("1000", "a"),
        ("1100", "b"),
        ("1200", "c"),
        ("1300", "d"),
        ("2500", "e"),
    ] {
        c.push((SLIDING_WINDOW, vec!["sw"], vec![now, "1000", "3", member]));
    }
    for (now, want) in [
        ("0", "5"),
        ("100", "5"),
        ("200", "3"),
        ("5000", "10"),
        ("5001", "11"),
    ] {
        c.push((TOKEN_BUCKET, vec!["tb"], vec!["2", "10", now, want]));
    }
    c.push((LOCK_ACQUIRE, vec!["lock"], vec!["owner-1", "60000"]));
    c.push((LOCK_ACQUIRE, vec!["lock"], vec!["owner-2", "60000"]));
    c.push((LOCK_RELEASE, vec!["lock"], vec!["owner-2"]));
    c.push((LOCK_RELEASE, vec!["lock"], vec!["owner-1"]));
    c.push((LOCK_ACQUIRE, vec!["lock"], vec!["owner-2", "60000"]));
    c
}

/// TTLs in milliseconds read inside a script can differ by the few ms the
/// two runs are apart: values just under a 60 s window count as 60000.
fn norm(r: Reply) -> Reply {
    match r {
        Reply::Int(i) if (59_000..60_000).contains(&i) => Reply::Int(60_000),
        Reply::Array(items) => Reply::Array(items.into_iter().map(norm).collect()),
        r => r,
    }
}

fn both(redis: &mut Conn, engine: &Engine, s: &mut Session, args: &[&[u8]]) -> (Reply, Reply) {
    (norm(redis.call(args)), norm(engine.execute(s, args)))
}

#[test]
fn scripts_answer_like_redis() {
    let server = RedisServer::start();
    let mut redis = Conn::open(server.port);
    let engine = Engine::new(MemoryConfig::default());
    let mut s = engine.session();
    let mut failures = Vec::new();
    for (script, keys, args) in corpus() {
        let n = keys.len().to_string();
        let mut argv: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), n.as_bytes()];
        argv.extend(keys.iter().map(|k| k.as_bytes()));
        argv.extend(args.iter().map(|a| a.as_bytes()));
        let (theirs, ours) = both(&mut redis, &engine, &mut s, &argv);
        if theirs != ours {
            failures.push(format!(
                "{script:?} {keys:?} {args:?}\n  redis:  {theirs:?}\n  engine: {ours:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn eval_family_arguments_and_cache_like_redis() {
    let server = RedisServer::start();
    let mut redis = Conn::open(server.port);
    let engine = Engine::new(MemoryConfig::default());
    let mut s = engine.session();
    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"EVAL", b"return 1", b"-1"],
        vec![b"EVAL", b"return 1", b"2", b"a"],
        vec![b"EVAL", b"return 1", b"x"],
        vec![b"EVAL", b"return 1"],
        vec![b"EVALSHA", sha.as_bytes(), b"0"],
        vec![b"EVALSHA", b"short", b"0"],
        vec![b"SCRIPT", b"EXISTS", sha.as_bytes()],
        vec![b"SCRIPT", b"LOAD", b"return 1"],
        vec![b"SCRIPT", b"LOAD", b"return ("],
        vec![
            b"SCRIPT",
            b"EXISTS",
            sha.as_bytes(),
            b"0000000000000000000000000000000000000000",
        ],
        vec![b"EVALSHA", sha.as_bytes(), b"0"],
        vec![
            b"EVALSHA",
            b"E0E1F9FABFC9D4800C877A703B823AC0578FF8DB",
            b"0",
        ],
        vec![b"EVALSHA_RO", sha.as_bytes(), b"0"],
        vec![b"EVAL_RO", b"return redis.call('SET', 'ro', '1')", b"0"],
        vec![b"EVAL_RO", b"return redis.pcall('DEL', 'ro')", b"0"],
        vec![b"EVAL_RO", b"return redis.call('PUBLISH', 'ch', 'm')", b"0"],
        vec![b"EVAL_RO", b"return redis.call('GET', 'ro')", b"0"],
        vec![b"SCRIPT", b"FLUSH"],
        vec![b"SCRIPT", b"FLUSH", b"ASYNC"],
        vec![b"SCRIPT", b"EXISTS", sha.as_bytes()],
        vec![b"EVALSHA", sha.as_bytes(), b"0"],
        vec![b"SCRIPT", b"KILL"],
        vec![b"MULTI"],
        vec![b"EVAL", b"return redis.call('INCR', 'm')", b"0"],
        vec![b"EVALSHA", sha.as_bytes(), b"0"],
        vec![b"EXEC"],
    ];
    for argv in cases {
        let (theirs, ours) = both(&mut redis, &engine, &mut s, &argv);
        let shown: Vec<String> = argv
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        assert_eq!(ours, theirs, "{shown:?}");
    }
}

/// Unknown-command errors quote their arguments as C strings: each cut at a NUL, 128
/// bytes (not characters) in all, CR/LF as spaces, invalid UTF-8 passed through.
#[test]
fn unknown_command_errors_quote_arguments_like_redis() {
    let server = RedisServer::start();
    let mut redis = Conn::open(server.port);
    let engine = Engine::new(MemoryConfig::default());
    let mut s = engine.session();
    let long = "é".repeat(100);
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"nosuch", b"\0x", b"a\0b"],
        vec![b"no\0such", b"x"],
        vec![b"nosuch", long.as_bytes(), b"after"],
        vec![b"nosuch", &[0xc3], &[0x62, 0xff, 0x00, 0x80]],
        vec![b"nosuch", b"a\r\nb"],
        vec![b"nosuch"],
    ];
    for argv in cases {
        let (theirs, ours) = both(&mut redis, &engine, &mut s, &argv);
        assert_eq!(ours, theirs, "{argv:?}");
    }
}

/// The engine's list of write commands (refused in read-only scripts) must be
/// Redis's: every implemented command flagged `write` (or `may-replicate`).
#[test]
fn write_flags_match_redis_command_info() {
    let server = RedisServer::start();
    let mut redis = Conn::open(server.port);
    let Reply::Array(names) = redis.call(&[b"COMMAND", b"LIST"]) else {
        panic!("COMMAND LIST")
    };
    let mut checked = 0;
    for name in names {
        let Reply::Bulk(name) = name else { continue };
        if !Engine::supports(&name) {
            continue;
        }
        let Reply::Array(info) = redis.call(&[b"COMMAND", b"INFO", &name]) else {
            panic!("COMMAND INFO")
        };
        let Some(Reply::Array(entry)) = info.first() else {
            panic!("COMMAND INFO entry")
        };
        let Reply::Array(flags) = &entry[2] else {
            panic!("flags")
        };
        let flag = |f: &str| flags.iter().any(|x| *x == Reply::Status(f.into()));
        // PUBLISH is may-replicate inside Redis without COMMAND INFO saying
        // so; that read-only scripts refuse it is checked by the test above.
        let writes = flag("write") || flag("may_replicate") || name == b"publish";
        assert_eq!(
            Engine::is_write_command(&name),
            writes,
            "{}",
            String::from_utf8_lossy(&name)
        );
        checked += 1;
    }
    assert!(checked > 100, "only {checked} commands checked");
}
