//! Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT) for the memory
//! engine: an embedded Lua 5.1 (the dialect Redis embeds, vendored through
//! `mlua`), sandboxed like Redis 7.0, with Redis's conversions between Lua
//! values and replies and its error texts.
//!
//! A script runs with the engine lock held (it is dispatched like any other
//! command), so it is atomic. Its `redis.call`s go through the engine's own
//! dispatcher on a script session that starts on the caller's database.
//!
//! The sandbox itself (read-only globals and libraries, the error handler
//! that adds `script: <sha>, on @user_script:<line>.`) is Lua code in
//! `prelude.lua`; this file owns the state, the cache, the limits and the
//! value conversions.

mod bit;
mod cjson;
mod known;
mod structlib;

pub(crate) use known::Known;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use super::commands::{lookup_command, Kind};
use super::pubsub::Delivery;
use super::sha_hasher::ShaMap;
use super::store::{c_str, err, State};
use super::{Engine, MemoryConfig, Session};
use crate::Reply;

/// Default wall-clock budget of one script when `MemoryConfig` sets none.
pub(crate) const DEFAULT_TIME_LIMIT_MS: u64 = 5_000;
/// Default Lua heap limit when `MemoryConfig` sets none.
pub(crate) const DEFAULT_MEMORY_LIMIT_BYTES: usize = 64 << 20;
/// Instructions between two checks of the time budget.
const HOOK_EVERY: u32 = 10_000;
/// Deepest nesting of a returned table that is converted to a reply.
const MAX_REPLY_DEPTH: usize = 200;

/// Which EVAL-family command.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EvalMode {
    /// EVALSHA/EVALSHA_RO: the first argument is a SHA1, not a body.
    pub(crate) by_sha: bool,
    /// EVAL_RO/EVALSHA_RO: write commands are refused.
    pub(crate) read_only: bool,
}

/// The Lua state, the script cache and the limits. Created on first use.
pub(crate) struct Scripts {
    lua: Lua,
    run: Function,
    sandbox: Table,
    env: Table,
    cache: ShaMap<Function>,
    /// One bit per [`Known`] script in `cache` ([`Known::bit`]): a rate-limit decision
    /// asks on every call, and a bit test is cheaper than hashing and comparing a SHA1.
    known_cached: u8,
    time_limit_ms: u64,
    memory_limit: usize,
    /// Microseconds after `epoch` when the running script must stop.
    deadline_us: Arc<AtomicU64>,
    epoch: Instant,
    killed: Arc<AtomicBool>,
}

/// The SHA1 of a script body in lower-case hex, as Redis names scripts.
pub(crate) fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

fn lua_err(e: mlua::Error) -> Reply {
    match e {
        mlua::Error::MemoryError(_) => err("bulwark: the scripting engine ran out of memory"),
        e => err(&format!("bulwark: scripting engine failure: {e}")),
    }
}

impl Scripts {
    /// A fresh sandboxed Lua state with the limits of `config`.
    pub(crate) fn new(config: &MemoryConfig) -> mlua::Result<Scripts> {
        // SAFETY: the debug library is loaded only so the prelude can capture
        // `debug.getinfo` for its error handler; scripts never see `debug`.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        let killed = Arc::new(AtomicBool::new(false));
        let deadline_us = Arc::new(AtomicU64::new(u64::MAX));
        let epoch = Instant::now();
        // A Rust function, so `return redis.sha1hex()` keeps the caller's
        // frame for the error position (a Lua wrapper would be a tail call).
        let sha1hex = lua.create_function(|lua, args: MultiValue| match args.len() {
            1 => {
                let s = lua.coerce_string(args[0].clone())?;
                let bytes = s.map_or(Vec::new(), |s| s.as_bytes().to_vec());
                lua.create_string(sha1_hex(&bytes))
            }
            _ => Err(mlua::Error::external(RustError::Reply(
                "ERR wrong number of arguments".into(),
            ))),
        })?;
        let k = killed.clone();
        let is_killed = lua.create_function(move |_, ()| Ok(k.load(Ordering::Relaxed)))?;
        let to_err = lua.create_function(|lua, (v, place): (Value, Option<mlua::String>)| {
            Ok(match rust_error(&v) {
                Some(RustError::Reply(msg)) => {
                    let t = lua.create_table_with_capacity(0, 1)?;
                    t.raw_set("err", msg.as_str())?;
                    Value::Table(t)
                }
                Some(RustError::Library(msg)) => {
                    let mut text = place.map_or(Vec::new(), |p| p.as_bytes().to_vec());
                    text.extend_from_slice(msg.as_bytes());
                    Value::String(lua.create_string(text)?)
                }
                None => v,
            })
        })?;
        let (d, k) = (deadline_us.clone(), killed.clone());
        let tick = lua.create_function(move |_, ()| check_deadline(epoch, &d, &k))?;
        let (run, sandbox, env): (Function, Table, Table) = lua
            .load(include_str!("prelude.lua"))
            .set_name("=bulwark")
            .call((
                sha1hex,
                is_killed,
                tick,
                to_err,
                cjson::library(&lua)?,
                bit::library(&lua)?,
                structlib::library(&lua)?,
            ))?;
        let (d, k) = (deadline_us.clone(), killed.clone());
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_, _| check_deadline(epoch, &d, &k).map(|()| VmState::Continue),
        )?;
        let memory_limit = config
            .script_memory_limit_bytes
            .unwrap_or(DEFAULT_MEMORY_LIMIT_BYTES);
        Ok(Scripts {
            lua,
            run,
            sandbox,
            env,
            cache: ShaMap::default(),
            known_cached: 0,
            time_limit_ms: config.script_time_limit_ms.unwrap_or(DEFAULT_TIME_LIMIT_MS),
            memory_limit,
            deadline_us,
            epoch,
            killed,
        })
    }

    /// Compiles `body` into the cache (if new) and returns its SHA1.
    fn load(&mut self, body: &[u8]) -> Result<String, Reply> {
        let sha = sha1_hex(body);
        if !self.cache.contains_key(&sha) {
            let f = self
                .lua
                .load(body)
                .set_name("@user_script")
                .set_environment(self.env.clone())
                .into_function()
                .map_err(|e| match e {
                    mlua::Error::SyntaxError { message, .. } => {
                        err(&format!("Error compiling script (new function): {message}"))
                    }
                    e => lua_err(e),
                })?;
            if let Some((known, _)) = known::lookup(&sha) {
                self.known_cached |= known.bit();
            }
            self.cache.insert(sha.clone(), f);
        }
        Ok(sha)
    }

    /// SCRIPT LOAD / EXISTS / FLUSH / KILL.
    pub(crate) fn script_command(&mut self, args: &[&[u8]]) -> Reply {
        let sub = String::from_utf8_lossy(args[1]).to_ascii_lowercase();
        match (sub.as_str(), args.len()) {
            ("load", 3) => match self.load(args[2]) {
                Ok(sha) => Reply::Bulk(sha.into_bytes()),
                Err(e) => e,
            },
            ("exists", n) if n >= 3 => Reply::Array(
                args[2..]
                    .iter()
                    .map(|s| {
                        let sha = String::from_utf8_lossy(s).to_ascii_lowercase();
                        Reply::Int(i64::from(self.cache.contains_key(&sha)))
                    })
                    .collect(),
            ),
            ("flush", 2) => self.flush(),
            ("flush", 3)
                if args[2].eq_ignore_ascii_case(b"async")
                    || args[2].eq_ignore_ascii_case(b"sync") =>
            {
                self.flush()
            }
            ("flush", 3) => err("SCRIPT FLUSH only support SYNC|ASYNC option"),
            ("kill", 2) => Reply::Error("NOTBUSY No scripts in execution right now.".into()),
            _ => err(&format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try SCRIPT HELP.",
                String::from_utf8_lossy(args[1])
            )),
        }
    }

    fn flush(&mut self) -> Reply {
        self.cache.clear();
        self.known_cached = 0;
        // Reclaims the compiled functions now rather than at the next cycle.
        let _ = self.lua.gc_collect();
        Reply::Status("OK".into())
    }
}

/// Raises the time-limit error once the running script is past its deadline.
fn check_deadline(
    epoch: Instant,
    deadline_us: &AtomicU64,
    killed: &AtomicBool,
) -> mlua::Result<()> {
    if epoch.elapsed().as_micros() as u64 > deadline_us.load(Ordering::Relaxed) {
        killed.store(true, Ordering::Relaxed);
        return Err(mlua::Error::runtime("script time limit exceeded"));
    }
    Ok(())
}

/// An error raised by a Rust function into Lua (carried as an mlua error
/// value; the prelude turns it back into what Redis's C code raises).
#[derive(Debug)]
pub(crate) enum RustError {
    /// An error reply of `redis.call`: becomes Redis's `{err=…}` table.
    Reply(String),
    /// A library error (cjson): becomes a string with the script position.
    Library(String),
}

impl std::fmt::Display for RustError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RustError::Reply(s) | RustError::Library(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for RustError {}

/// The [`RustError`] inside a Lua error value, if it is one.
fn rust_error(v: &Value) -> Option<&RustError> {
    fn walk(e: &mlua::Error) -> Option<&RustError> {
        match e {
            mlua::Error::CallbackError { cause, .. } => walk(cause),
            mlua::Error::ExternalError(x) => x.downcast_ref::<RustError>(),
            _ => None,
        }
    }
    match v {
        Value::Error(e) => walk(e),
        _ => None,
    }
}

/// Arguments of one `redis.call`/`redis.pcall`, or the error Redis raises
/// for them.
fn call_args(args: &MultiValue) -> Result<Vec<Vec<u8>>, &'static str> {
    if args.is_empty() {
        return Err("Please specify at least one argument for this redis lib call");
    }
    args.iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            Value::Integer(i) => Ok(i.to_string().into_bytes()),
            // Redis formats numbers with %.17g, not Lua's lossy %.14g.
            Value::Number(n) => Ok(super::num::format_f64(*n).into_bytes()),
            _ => Err("Lua redis lib command arguments must be strings or integers"),
        })
        .collect()
}

/// Redis → Lua: integer → number, bulk → string, nil → false, status →
/// `{ok=…}`, error → `{err=…}`, array → table.
fn reply_to_lua(lua: &Lua, r: Reply) -> mlua::Result<Value> {
    Ok(match r {
        Reply::Nil => Value::Boolean(false),
        Reply::Int(i) => Value::Number(i as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Status(s) => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("ok", s)?;
            Value::Table(t)
        }
        Reply::Error(e) => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("err", e)?;
            Value::Table(t)
        }
        Reply::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, item)?)?;
            }
            Value::Table(t)
        }
    })
}

/// C's `(long long)` cast of a double on x86-64: out of range and NaN give
/// `i64::MIN`, like Redis's reply of `return 1e20`.
fn c_double_to_i64(n: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if !(-TWO_63..TWO_63).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// Replaces CR/LF like Redis does in error and status lines.
fn one_line(s: &[u8]) -> String {
    String::from_utf8_lossy(c_str(s)).replace(['\r', '\n'], " ")
}

/// Lua → Redis: number → integer (truncated), string → bulk, true → 1,
/// false/nil → nil, `{err=…}` → error, `{ok=…}` → status, other tables →
/// arrays up to the first nil.
fn lua_to_reply(v: &Value, depth: usize) -> Reply {
    match v {
        Value::Boolean(true) => Reply::Int(1),
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(n) => Reply::Int(c_double_to_i64(*n)),
        Value::String(s) => Reply::Bulk(s.as_bytes().to_vec()),
        Value::Table(t) => {
            if depth >= MAX_REPLY_DEPTH {
                return err("reached lua stack limit");
            }
            if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
                return Reply::Error(one_line(&e.as_bytes()));
            }
            if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
                return Reply::Status(one_line(&s.as_bytes()));
            }
            let mut out = Vec::new();
            for i in 1.. {
                match t.raw_get::<Value>(i) {
                    Ok(Value::Nil) | Err(_) => break,
                    Ok(item) => out.push(lua_to_reply(&item, depth + 1)),
                }
            }
            Reply::Array(out)
        }
        _ => Reply::Nil,
    }
}

/// The text of an error the script raised: Redis's
/// `<msg> script: <sha>, on <source>:<line>.`
fn script_error(e: &Value, sha: &str) -> Reply {
    let Value::Table(t) = e else {
        let msg = match e {
            Value::String(s) => s.to_string_lossy(),
            _ => "execution failure".into(),
        };
        return err(&format!("Error running script {sha}, {msg}"));
    };
    let msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => String::from_utf8_lossy(c_str(&s.as_bytes())).into_owned(),
        _ => "ERR unknown error".into(),
    };
    let place = match (
        t.raw_get::<Option<mlua::String>>("source"),
        t.raw_get::<Option<i64>>("line"),
    ) {
        (Ok(Some(src)), Ok(Some(line))) => {
            format!(" script: {sha}, on {}:{line}.", src.to_string_lossy())
        }
        _ => String::new(),
    };
    Reply::Error(one_line(format!("{msg}{place}").as_bytes()))
}

/// Commands a script may not call (Redis flags them `noscript`).
fn allowed_in_script(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Multi
            | Kind::Exec
            | Kind::Discard
            | Kind::Watch
            | Kind::Unwatch
            | Kind::Quit
            | Kind::Reset
            | Kind::Subscribe(_)
            | Kind::Eval(_)
            | Kind::Script
    )
}

/// Commands that write (Redis flags them `write`, or `may-replicate` like
/// PUBLISH): refused in read-only scripts. `core/tests/scripts_differential.rs`
/// checks this list against the real server's COMMAND INFO.
pub(crate) fn is_write_command(name: &str) -> bool {
    const WRITES: &[&str] = &[
        "set",
        "getset",
        "getdel",
        "getex",
        "mset",
        "msetnx",
        "setnx",
        "setex",
        "psetex",
        "incr",
        "incrby",
        "incrbyfloat",
        "decr",
        "decrby",
        "append",
        "setrange",
        "del",
        "unlink",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "persist",
        "rename",
        "renamenx",
        "flushdb",
        "flushall",
        "hset",
        "hsetnx",
        "hmset",
        "hdel",
        "hincrby",
        "hincrbyfloat",
        "lpush",
        "rpush",
        "lpushx",
        "rpushx",
        "lpop",
        "rpop",
        "lset",
        "lrem",
        "ltrim",
        "linsert",
        "lmove",
        "rpoplpush",
        "sadd",
        "srem",
        "spop",
        "sinterstore",
        "sunionstore",
        "sdiffstore",
        "smove",
        "zadd",
        "zincrby",
        "zrem",
        "zremrangebyscore",
        "zremrangebyrank",
        "zpopmin",
        "zpopmax",
        "publish",
        "setbit",
        "bitop",
        "bitfield",
        "copy",
        "lmpop",
        "zmpop",
        "sort",
        "zunionstore",
        "zinterstore",
        "zdiffstore",
    ];
    WRITES.contains(&name)
}

/// The state of one running script that its `redis.call`s need.
struct Run<'a> {
    engine: &'a Engine,
    st: &'a mut State,
    session: Session,
    outbox: &'a mut Vec<Delivery>,
    read_only: bool,
}

impl Run<'_> {
    /// A command of a native known script: dispatched like `redis.call` dispatches it,
    /// without the checks its fixed, valid commands always pass.
    fn dispatch(&mut self, argv: &[&[u8]]) -> Reply {
        self.engine
            .dispatch(self.st, &mut self.session, argv, self.outbox)
    }

    /// One `redis.call`: the checks Redis makes for scripts, then dispatch.
    fn call(&mut self, args: &[Vec<u8>]) -> Reply {
        let Some(cmd) = lookup_command(&args[0]) else {
            return err("Unknown Redis command called from script");
        };
        let argc = args.len() as i32;
        if (cmd.arity > 0 && argc != cmd.arity) || (cmd.arity < 0 && argc < -cmd.arity) {
            return err("Wrong number of args calling Redis command from script");
        }
        if !allowed_in_script(cmd.kind) {
            return err("This Redis command is not allowed from script");
        }
        if self.read_only && is_write_command(cmd.name) {
            return err("Write commands are not allowed from read-only scripts.");
        }
        let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        self.engine
            .dispatch(self.st, &mut self.session, &argv, self.outbox)
    }
}

/// The script state, created on first use.
fn ensure<'a>(
    slot: &'a mut Option<Scripts>,
    config: &MemoryConfig,
) -> Result<&'a mut Scripts, Reply> {
    if slot.is_none() {
        *slot = Some(Scripts::new(config).map_err(lua_err)?);
    }
    Ok(slot.as_mut().expect("just created"))
}

impl Engine {
    /// Whether the known script is in the cache (an EVALSHA of it would not answer
    /// NOSCRIPT), for a caller holding the engine's state lock (`_held`): every access to
    /// the scripts holds it, so this read takes no second lock (a rate-limit decision asks
    /// on every call).
    pub(super) fn script_cached(&self, _held: &State, known: Known) -> bool {
        // SAFETY: the scripts are only accessed with the state locked (`Shared::scripts`),
        // which the caller holds: nobody can be changing them now.
        unsafe { &*self.shared.scripts.data_ptr() }
            .as_ref()
            .is_some_and(|s| s.known_cached & known.bit() != 0)
    }

    /// SCRIPT LOAD/EXISTS/FLUSH/KILL.
    pub(super) fn script(&self, st: &State, args: &[&[u8]]) -> Reply {
        let mut guard = self.shared.scripts.lock();
        match ensure(&mut guard, &st.config) {
            Ok(scripts) => scripts.script_command(args),
            Err(e) => e,
        }
    }

    /// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO.
    pub(super) fn eval(
        &self,
        st: &mut State,
        s: &Session,
        args: &[&[u8]],
        outbox: &mut Vec<Delivery>,
        mode: EvalMode,
    ) -> Reply {
        let numkeys = match super::num::parse_i64(args[2]) {
            None => return err("value is not an integer or out of range"),
            Some(n) if n < 0 => return err("Number of keys can't be negative"),
            Some(n) if n as usize > args.len() - 3 => {
                return err("Number of keys can't be greater than number of args")
            }
            Some(n) => n as usize,
        };
        let mut guard = self.shared.scripts.lock();
        let scripts = match ensure(&mut guard, &st.config) {
            Ok(sc) => sc,
            Err(e) => return e,
        };
        let sha = if mode.by_sha {
            let sha = String::from_utf8_lossy(args[1]).to_ascii_lowercase();
            if !scripts.cache.contains_key(&sha) {
                return Reply::Error("NOSCRIPT No matching script. Please use EVAL.".into());
            }
            sha
        } else {
            match scripts.load(args[1]) {
                Ok(sha) => sha,
                Err(e) => return e,
            }
        };
        let mut session = self.session();
        session.db = s.db;
        let mut run = Run {
            engine: self,
            st,
            session,
            outbox,
            read_only: mode.read_only,
        };
        let (keys, argv) = args[3..].split_at(numkeys);
        if !run.st.config.interpret_known_scripts {
            if let Some((script, source)) = known::lookup(&sha) {
                if let Some(reply) = script.run(&mut run, &sha, source, keys, argv) {
                    return reply;
                }
            }
        }
        let run = RefCell::new(run);
        let result = scripts.execute(&sha, keys, argv, &run);
        result.unwrap_or_else(lua_err)
    }
}

impl Scripts {
    fn execute(
        &mut self,
        sha: &str,
        keys: &[&[u8]],
        argv: &[&[u8]],
        run: &RefCell<Run<'_>>,
    ) -> mlua::Result<Reply> {
        let lua = &self.lua;
        let f = self.cache[sha].clone();
        let strings = |items: &[&[u8]]| {
            let items = items
                .iter()
                .map(|item| lua.create_string(item))
                .collect::<mlua::Result<Vec<_>>>()?;
            lua.create_sequence_from(items)
        };
        self.sandbox.raw_set("KEYS", strings(keys)?)?;
        self.sandbox.raw_set("ARGV", strings(argv)?)?;
        self.killed.store(false, Ordering::Relaxed);
        let limit = Duration::from_millis(self.time_limit_ms);
        self.deadline_us.store(
            (self.epoch.elapsed() + limit).as_micros() as u64,
            Ordering::Relaxed,
        );
        let outcome = lua.scope(|scope| {
            let call = scope.create_function(|lua, args: MultiValue| {
                let reply = match call_args(&args) {
                    Ok(argv) => run.borrow_mut().call(&argv),
                    Err(msg) => err(msg),
                };
                match reply {
                    Reply::Error(e) => Err(mlua::Error::external(RustError::Reply(e))),
                    reply => reply_to_lua(lua, reply),
                }
            })?;
            // The heap limit is on only while the script runs: with a limit
            // set, mlua protects every allocation it makes (a pcall each),
            // which made preparing arguments and replies ~35% of an EVALSHA.
            // Each script may grow the heap by `memory_limit` bytes.
            lua.set_memory_limit(lua.used_memory() + self.memory_limit)?;
            let r = self.run.call::<(bool, Value)>((f, call));
            lua.set_memory_limit(0)?;
            r
        });
        self.deadline_us.store(u64::MAX, Ordering::Relaxed);
        let reply = match outcome {
            _ if self.killed.load(Ordering::Relaxed) => err(&format!(
                "bulwark: script killed after running past its time limit of {} ms script: {sha}",
                self.time_limit_ms
            )),
            Ok((true, v)) => lua_to_reply(&v, 0),
            Ok((false, Value::String(s))) if s.as_bytes().starts_with(b"not enough memory") => {
                self.memory_error(sha)
            }
            Ok((false, e)) => script_error(&e, sha),
            Err(mlua::Error::MemoryError(_)) => self.memory_error(sha),
            Err(e) => return Err(e),
        };
        Ok(reply)
    }

    fn memory_error(&self, sha: &str) -> Reply {
        // Give the garbage of the failed script back before the next one.
        let _ = self.lua.gc_collect();
        err(&format!(
            "bulwark: script ran out of memory (the Lua memory limit is {} bytes) script: {sha}",
            self.memory_limit
        ))
    }
}
