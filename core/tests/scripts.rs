//! Unit tests of Lua scripting in the memory engine (EVAL, EVALSHA, SCRIPT,
//! the sandbox, the limits and the bundled libraries). Exact parity with
//! Redis is checked by `scripts_differential.rs`.

use bulwark_core::memory::{Engine, MemoryConfig, Session};
use bulwark_core::Reply;

fn eval(e: &Engine, s: &mut Session, script: &str, keys: &[&str], args: &[&str]) -> Reply {
    let n = keys.len().to_string();
    let mut argv: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), n.as_bytes()];
    argv.extend(keys.iter().map(|k| k.as_bytes()));
    argv.extend(args.iter().map(|a| a.as_bytes()));
    e.execute(s, &argv)
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn error_text(r: Reply) -> String {
    match r {
        Reply::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn limited(ms: u64, bytes: usize) -> Engine {
    Engine::new(MemoryConfig {
        script_time_limit_ms: Some(ms),
        script_memory_limit_bytes: Some(bytes),
        ..Default::default()
    })
}

#[test]
fn eval_converts_replies_both_ways() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    assert_eq!(
        eval(
            &e,
            &mut s,
            "return {1, 'a', true, false, {ok='x'}, 3.9, -3.9}",
            &[],
            &[]
        ),
        Reply::Array(vec![
            Reply::Int(1),
            bulk("a"),
            Reply::Int(1),
            Reply::Nil,
            Reply::Status("x".into()),
            Reply::Int(3),
            Reply::Int(-3),
        ])
    );
    assert_eq!(
        eval(&e, &mut s, "return {1, 2, nil, 3}", &[], &[]),
        Reply::Array(vec![Reply::Int(1), Reply::Int(2)])
    );
    assert_eq!(
        eval(&e, &mut s, "return 1e20", &[], &[]),
        Reply::Int(i64::MIN)
    );
    assert_eq!(
        eval(&e, &mut s, "return {err='MY bad'}", &[], &[]),
        Reply::Error("MY bad".into())
    );
    assert_eq!(
        eval(
            &e,
            &mut s,
            "redis.call('set', KEYS[1], 0.1) return redis.call('get', KEYS[1])",
            &["k"],
            &[]
        ),
        bulk("0.10000000000000001")
    );
    assert_eq!(
        eval(
            &e,
            &mut s,
            "local t = redis.call('ping') return {t.ok, type(redis.call('get', 'nokey'))}",
            &[],
            &[]
        ),
        Reply::Array(vec![bulk("PONG"), bulk("boolean")])
    );
    assert_eq!(
        eval(
            &e,
            &mut s,
            "return {KEYS[1], ARGV[1], #KEYS, #ARGV}",
            &["a"],
            &["b", "c"]
        ),
        Reply::Array(vec![bulk("a"), bulk("b"), Reply::Int(1), Reply::Int(2)])
    );
}

#[test]
fn evalsha_script_load_exists_flush() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"; // sha1("return 1")
    assert_eq!(
        e.execute(&mut s, &[b"EVALSHA", sha.as_bytes(), b"0"]),
        Reply::Error("NOSCRIPT No matching script. Please use EVAL.".into())
    );
    assert_eq!(
        e.execute(&mut s, &[b"SCRIPT", b"LOAD", b"return 1"]),
        bulk(sha)
    );
    assert_eq!(
        e.execute(&mut s, &[b"EVALSHA", sha.to_uppercase().as_bytes(), b"0"]),
        Reply::Int(1)
    );
    assert_eq!(
        e.execute(&mut s, &[b"SCRIPT", b"EXISTS", sha.as_bytes(), b"nope"]),
        Reply::Array(vec![Reply::Int(1), Reply::Int(0)])
    );
    assert_eq!(
        e.execute(&mut s, &[b"SCRIPT", b"FLUSH"]),
        Reply::Status("OK".into())
    );
    assert_eq!(
        e.execute(&mut s, &[b"SCRIPT", b"EXISTS", sha.as_bytes()]),
        Reply::Array(vec![Reply::Int(0)])
    );
    // EVAL caches the script too.
    assert_eq!(eval(&e, &mut s, "return 1", &[], &[]), Reply::Int(1));
    assert_eq!(
        e.execute(&mut s, &[b"EVALSHA", sha.as_bytes(), b"0"]),
        Reply::Int(1)
    );
    assert!(
        error_text(e.execute(&mut s, &[b"SCRIPT", b"NOPE"])).starts_with("ERR unknown subcommand")
    );
}

#[test]
fn read_only_scripts_refuse_writes() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    let r = e.execute(
        &mut s,
        &[b"EVAL_RO", b"return redis.call('set', 'a', 'b')", b"0"],
    );
    assert!(error_text(r)
        .starts_with("ERR Write commands are not allowed from read-only scripts. script: "));
    // The bitmap, COPY, pop and set-algebra writes are refused too.
    for call in [
        "redis.call('setbit', 'b', 7, 1)",
        "redis.call('bitop', 'and', 'c', 'a')",
        "redis.call('bitfield', 'b', 'set', 'u8', 0, 1)",
        "redis.call('copy', 'a', 'c')",
        "redis.call('lmpop', 1, 'l', 'left')",
        "redis.call('zmpop', 1, 'z', 'min')",
        "redis.call('sort', 'l')",
        "redis.call('zunionstore', 'd', 1, 'z')",
        "redis.call('zinterstore', 'd', 1, 'z')",
        "redis.call('zdiffstore', 'd', 1, 'z')",
    ] {
        let lua = format!("return {call}");
        let r = e.execute(&mut s, &[b"EVAL_RO", lua.as_bytes(), b"0"]);
        assert!(
            error_text(r)
                .starts_with("ERR Write commands are not allowed from read-only scripts. script: "),
            "{call}"
        );
    }
    e.execute(&mut s, &[b"SET", b"a", b"1"]);
    assert_eq!(
        e.execute(
            &mut s,
            &[b"EVAL_RO", b"return redis.call('get', 'a')", b"0"]
        ),
        bulk("1")
    );
}

#[test]
fn select_inside_a_script_does_not_move_the_caller() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    eval(
        &e,
        &mut s,
        "redis.call('select', 3) return redis.call('set', 'x', '1')",
        &[],
        &[],
    );
    assert_eq!(s.db(), 0);
    assert_eq!(e.execute(&mut s, &[b"EXISTS", b"x"]), Reply::Int(0));
    e.execute(&mut s, &[b"SELECT", b"3"]);
    assert_eq!(e.execute(&mut s, &[b"GET", b"x"]), bulk("1"));
    // A script starts on the caller's database.
    assert_eq!(
        eval(&e, &mut s, "return redis.call('get', 'x')", &[], &[]),
        bulk("1")
    );
}

#[test]
fn scripts_inside_multi_run_at_exec() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    e.execute(&mut s, &[b"MULTI"]);
    assert_eq!(
        eval(&e, &mut s, "return redis.call('incr', 'n')", &[], &[]),
        Reply::Status("QUEUED".into())
    );
    assert_eq!(
        e.execute(&mut s, &[b"EXEC"]),
        Reply::Array(vec![Reply::Int(1)])
    );
}

#[test]
fn scripts_are_atomic_across_threads() {
    let e = Engine::new(MemoryConfig::default());
    let script =
        "local v = tonumber(redis.call('get', 'n') or '0') redis.call('set', 'n', v + 1) return v";
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let e = e.clone();
            std::thread::spawn(move || {
                let mut s = e.session();
                for _ in 0..250 {
                    eval(&e, &mut s, script, &[], &[]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut s = e.session();
    assert_eq!(e.execute(&mut s, &[b"GET", b"n"]), bulk("1000"));
}

#[test]
fn infinite_loops_are_killed_and_the_engine_stays_usable() {
    let e = limited(100, 16 << 20);
    let mut s = e.session();
    e.execute(&mut s, &[b"SET", b"keep", b"1"]);
    for src in [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "local co = coroutine.wrap(function() while true do end end) co()",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "redis.call('set', 'partial', '1') while true do end",
    ] {
        let msg = error_text(eval(&e, &mut s, src, &[], &[]));
        assert!(
            msg.contains("script killed after running past its time limit of 100 ms"),
            "{src}: {msg}"
        );
    }
    // Writes made before the kill stay, like Redis (no rollback).
    assert_eq!(e.execute(&mut s, &[b"GET", b"partial"]), bulk("1"));
    assert_eq!(e.execute(&mut s, &[b"GET", b"keep"]), bulk("1"));
    assert_eq!(eval(&e, &mut s, "return 42", &[], &[]), Reply::Int(42));
}

#[test]
fn huge_allocations_fail_cleanly() {
    let e = limited(5_000, 8 << 20);
    let mut s = e.session();
    e.execute(&mut s, &[b"SET", b"keep", b"1"]);
    for src in [
        "return string.rep('x', 64 * 1024 * 1024)",
        "local t = {} for i = 1, 1e8 do t[i] = i end return #t",
        "local s = 'x' while true do s = s .. s end",
    ] {
        let msg = error_text(eval(&e, &mut s, src, &[], &[]));
        assert!(msg.contains("memory"), "{src}: {msg}");
    }
    // A script that catches the memory error goes on.
    assert_eq!(
        eval(
            &e,
            &mut s,
            "local ok = pcall(string.rep, 'x', 64 * 1024 * 1024) return ok",
            &[],
            &[]
        ),
        Reply::Nil
    );
    assert_eq!(e.execute(&mut s, &[b"GET", b"keep"]), bulk("1"));
    assert_eq!(
        eval(&e, &mut s, "return string.rep('ab', 3)", &[], &[]),
        bulk("ababab")
    );
}

#[test]
fn the_sandbox_blocks_escapes() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    for (src, want) in [
        (
            "return os.execute('true')",
            "nonexistent global variable 'os'",
        ),
        (
            "return io.open('/etc/passwd')",
            "nonexistent global variable 'io'",
        ),
        (
            "return require('os')",
            "nonexistent global variable 'require'",
        ),
        (
            "return dofile('/etc/passwd')",
            "nonexistent global variable 'dofile'",
        ),
        (
            "return loadfile('/etc/passwd')",
            "nonexistent global variable 'loadfile'",
        ),
        (
            "return debug.getinfo(1)",
            "nonexistent global variable 'debug'",
        ),
        ("return getfenv(0)", "nonexistent global variable 'getfenv'"),
        (
            "return package.loaded",
            "nonexistent global variable 'package'",
        ),
        (
            "loadstring('x = 1')()",
            "Attempt to modify a readonly table",
        ),
        ("_G.x = 1", "Attempt to modify a readonly table"),
        ("rawset(_G, 'x', 1)", "Attempt to modify a readonly table"),
        (
            "setmetatable(_G, nil)",
            "Attempt to modify a readonly table",
        ),
        (
            "getmetatable('').__index = {}",
            "Attempt to modify a readonly table",
        ),
        ("string.rep = nil", "Attempt to modify a readonly table"),
        ("redis.call = nil", "Attempt to modify a readonly table"),
        (
            "local f = loadstring('return os') return f()",
            "nonexistent global variable 'os'",
        ),
    ] {
        let msg = error_text(eval(&e, &mut s, src, &[], &[]));
        assert!(msg.contains(want), "{src}: {msg}");
    }
    assert_eq!(
        eval(
            &e,
            &mut s,
            "return {loadstring(string.dump(function() return 1 end))}",
            &[],
            &[]
        ),
        Reply::Array(vec![])
    );
    // Method calls on strings still work through the protected metatable.
    assert_eq!(
        eval(&e, &mut s, "return ('x'):rep(3)", &[], &[]),
        bulk("xxx")
    );
    assert_eq!(eval(&e, &mut s, "return 1", &[], &[]), Reply::Int(1));
}

#[test]
fn libraries_cjson_and_bit() {
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    assert_eq!(
        eval(&e, &mut s, "return cjson.encode({})", &[], &[]),
        bulk("{}")
    );
    assert_eq!(
        eval(
            &e,
            &mut s,
            "return cjson.encode({1,2,3,{a='x/y'}})",
            &[],
            &[]
        ),
        bulk(r#"[1,2,3,{"a":"x\/y"}]"#)
    );
    assert_eq!(
        eval(&e, &mut s, "return cjson.encode({[1]=1,[3]=3})", &[], &[]),
        bulk("[1,null,3]")
    );
    assert_eq!(
        eval(
            &e,
            &mut s,
            r#"return cjson.encode(cjson.decode('{"a":[1,2,{"b":null}],"c":1e3}').a)"#,
            &[],
            &[]
        ),
        bulk(r#"[1,2,{"b":null}]"#)
    );
    let msg = error_text(eval(
        &e,
        &mut s,
        "return cjson.encode({[1]=1,[30]=3})",
        &[],
        &[],
    ));
    assert!(
        msg.starts_with(
            "ERR user_script:1: Cannot serialise table: excessively sparse array script: "
        ),
        "{msg}"
    );
    assert_eq!(
        eval(&e, &mut s, "return bit.tohex(255)..bit.tohex(-1, -4)..bit.band(7,3,1)..bit.lshift(1,31)..bit.tobit(2^32+5)", &[], &[]),
        bulk("000000ffFFFF1-21474836485")
    );
    assert_eq!(
        eval(&e, &mut s, "return redis.sha1hex('abc')", &[], &[]),
        bulk("a9993e364706816aba3e25717850c26c9cd0d89d")
    );
}

/// Rough cost of EVALSHA of rate-limit-redis's `increment` script in memory
/// (numbers in the report, not asserted):
/// `cargo test --release -p bulwark-core --test scripts -- --ignored --nocapture`.
#[test]
#[ignore]
fn evalsha_rate_limit_cost() {
    const INCREMENT: &str = "local windowMs = tonumber(ARGV[1])\nlocal timeToExpire = redis.call(\"PTTL\", KEYS[1])\nif timeToExpire <= 0 then\nredis.call(\"SET\", KEYS[1], 1, \"PX\", windowMs)\nreturn { 1, windowMs }\nend\nlocal totalHits = redis.call(\"INCR\", KEYS[1])        \nreturn { totalHits, timeToExpire }";
    let e = Engine::new(MemoryConfig::default());
    let mut s = e.session();
    let Reply::Bulk(sha) = e.execute(&mut s, &[b"SCRIPT", b"LOAD", INCREMENT.as_bytes()]) else {
        panic!("SCRIPT LOAD")
    };
    let keys: Vec<Vec<u8>> = (0..10_000)
        .map(|i| format!("rl:10.0.{}.{}", i / 256, i % 256).into_bytes())
        .collect();
    let n = 300_000usize;
    for round in 0..3 {
        let t = std::time::Instant::now();
        for i in 0..n {
            let r = e.execute(
                &mut s,
                &[b"EVALSHA", &sha, b"1", &keys[i % keys.len()], b"60000"],
            );
            assert!(matches!(r, Reply::Array(_)), "{r:?}");
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        println!(
            "round {round}: EVALSHA rate-limit increment: {ns:.0} ns/op ({:.0} ops/s)",
            1e9 / ns
        );
    }
}
