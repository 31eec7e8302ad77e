-- bulwark's Lua sandbox, modelled on Redis 7.0's script environment.
-- Runs once per Lua state, in the unrestricted global table, with the
-- Rust-side functions passed as arguments. Returns the runner and the tables
-- Rust needs. The chunk is named "=bulwark" so the error handler can skip
-- its frames and report the user's script line like Redis does.
local raw_sha1hex, killed, tick, to_err, cjson, bit, struct = ...

local getinfo, sethook = debug.getinfo, debug.sethook
local type, tostring, error, rawget, rawset = type, tostring, error, rawget, rawset
local setmetatable, getmetatable, setfenv = setmetatable, getmetatable, setfenv
local raw_pcall, raw_xpcall, raw_loadstring = pcall, xpcall, loadstring
local co_resume, co_create = coroutine.resume, coroutine.create

local KILLED = "ERR bulwark: script killed: it ran past its time limit"
local readonly = setmetatable({}, { __mode = "k" })

local function ro_error()
  error("Attempt to modify a readonly table", 2)
end

-- A read-only view of `t` (Redis makes its library tables read-only).
local function protect(t)
  local p = setmetatable({}, { __index = t, __newindex = ro_error, __metatable = false })
  readonly[p] = true
  return p
end

local redis = {
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = "7.0.15", REDIS_VERSION_NUM = 0x07000f,
}

local function err_table(msg)
  return { err = msg }
end

-- An error escaping a pcall while the script is being killed is re-raised,
-- so a script cannot catch its own time-limit kill. Like Redis's pcall, an
-- error table ({err=...}, also what redis.call raises) becomes its string.
local function check_killed(ok, ...)
  if not ok then
    if killed() then
      error(KILLED, 0)
    end
    local e = to_err((...))
    if type(e) == "table" and type(rawget(e, "err")) == "string" then
      e = rawget(e, "err")
    end
    return false, e
  end
  return ok, ...
end

-- redis.call is a Rust function installed by run() for the duration of
-- each script (it borrows the engine state).
redis.error_reply = function(...)
  local msg = ...
  if select("#", ...) ~= 1 or type(msg) ~= "string" then
    return err_table("ERR wrong number or type of arguments")
  end
  if msg:sub(1, 1) ~= "-" then
    msg = "-" .. msg
  end
  local sp = msg:find(" ", 1, true)
  if sp then
    msg = msg:sub(2, sp - 1) .. " " .. msg:sub(sp + 1)
  else
    msg = "ERR " .. msg:sub(2)
  end
  return err_table((msg:gsub("[\r\n]+$", "")))
end
redis.status_reply = function(...)
  local msg = ...
  if select("#", ...) ~= 1 or type(msg) ~= "string" then
    return err_table("ERR wrong number or type of arguments")
  end
  return { ok = msg }
end
redis.sha1hex = raw_sha1hex
redis.log = function(level)
  if type(level) ~= "number" then
    error(err_table("ERR First argument must be a number (log level)."), 0)
  end
end
-- Replication, RESP3 and debugging switches are meaningless in memory.
redis.setresp = function() end
redis.set_repl = function() end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3

-- Coroutines do not inherit the time-limit hook of the main thread.
local function hooked(f)
  local co = co_create(f)
  sethook(co, tick, "", 10000)
  return co
end
local function wrap_result(ok, ...)
  if not ok then
    if killed() then
      error(KILLED, 0)
    end
    error(to_err((...)), 0)
  end
  return ...
end

local sandbox = {}
local G = protect(sandbox)

-- loadstring compiles into the sandbox, never from bytecode.
local function safe_loadstring(s, name)
  if type(s) == "string" and s:byte(1) == 27 then
    return nil, "attempt to load a binary chunk"
  end
  local f, e = raw_loadstring(s, name)
  if f then
    setfenv(f, G)
  end
  return f, e
end

local string_proxy = protect(string)
for k, v in pairs({
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
  rawequal = rawequal, rawget = rawget, select = select, tonumber = tonumber,
  tostring = tostring, type = type, unpack = unpack, gcinfo = gcinfo,
  collectgarbage = function(opt, ...)
    if opt == nil or opt == "count" or opt == "collect" or opt == "step" then
      return collectgarbage(opt, ...)
    end
    return 0
  end,
  _VERSION = _VERSION,
  loadstring = safe_loadstring,
  load = function(f, name)
    if type(f) ~= "function" then
      return safe_loadstring(f, name)
    end
    local parts = {}
    while true do
      local p = f()
      if p == nil or p == "" then break end
      parts[#parts + 1] = p
    end
    return safe_loadstring(table.concat(parts), name)
  end,
  rawset = function(t, k, v)
    if readonly[t] then
      error("Attempt to modify a readonly table", 0)
    end
    return rawset(t, k, v)
  end,
  setmetatable = function(t, mt)
    if readonly[t] then
      error("Attempt to modify a readonly table", 0)
    end
    return setmetatable(t, mt)
  end,
  getmetatable = getmetatable,
  pcall = function(...) return check_killed(raw_pcall(...)) end,
  xpcall = function(f, h)
    return check_killed(raw_xpcall(f, function(e) return h(to_err(e)) end))
  end,
  coroutine = protect({
    create = hooked, running = coroutine.running, status = coroutine.status,
    yield = coroutine.yield,
    resume = function(...) return check_killed(co_resume(...)) end,
    wrap = function(f)
      local co = hooked(f)
      return function(...) return wrap_result(co_resume(co, ...)) end
    end,
  }),
  string = string_proxy,
  table = protect(table),
  math = protect(math),
  redis = protect(redis),
  cjson = protect(cjson),
  bit = protect(bit),
  struct = protect(struct),
  _G = G,
}) do
  sandbox[k] = v
end

-- Reading an undefined global is an error in Redis scripts.
setmetatable(sandbox, {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __metatable = false,
})

-- getmetatable("") hands out a read-only view of the string metatable.
local string_mt = getmetatable("")
string_mt.__index = string_proxy
string_mt.__metatable = protect({ __index = string_proxy })

-- Redis's error handler: string errors get the ERR code, and every error
-- learns the script line it was raised on (the first frame of user code).
local function handler(e)
  local level, info = 2, nil
  while true do
    local i = getinfo(level, "Sl")
    if not i then break end
    if i.what ~= "C" and i.source ~= "=bulwark" then
      info = i
      break
    end
    level = level + 1
  end
  -- Library errors (cjson) name the script line like luaL_error does.
  e = to_err(e, info and (info.short_src .. ":" .. info.currentline .. ": ") or "")
  if type(e) ~= "table" then
    e = err_table("ERR " .. tostring(e))
  end
  if info then
    rawset(e, "source", info.source)
    rawset(e, "line", info.currentline)
  end
  return e
end

-- redis.pcall catches what redis.call raises, as the {err=...} table.
local function pcall_result(ok, r)
  if ok then
    return r
  end
  return to_err(r)
end
redis.pcall = function(...)
  return pcall_result(raw_pcall(redis.call, ...))
end

local function run(f, call)
  redis.call = call
  local ok, r = raw_xpcall(f, handler)
  redis.call = nil
  return ok, r
end

return run, sandbox, G
