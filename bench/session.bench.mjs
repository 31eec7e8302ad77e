// Session store operations/s at concurrency 1 and 64 on the same redis-server, through the
// callback API express-session uses: bulwark RedisStore (bulwark client) vs connect-redis 9
// (node-redis 5, its current client) and connect-redis 7 (ioredis, what seed backends run),
// with each client's bare GET as the floor. Then an Express e2e: one session read + write
// per request, 50 connections (autocannon), each app in its own process.
import { createRequire } from 'node:module'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { load, median, printTable } from './harness.mjs'

const require = createRequire(import.meta.url)
const CONCURRENCY = [1, 64]
const SESSIONS = 1024
const KINDS = ['bulwark', 'connect-redis 9', 'connect-redis 7']

/** A client and a store of `kind` on `port`; `close()` ends the client. */
async function storeOf(kind, port, prefix) {
  if (kind === 'bulwark') {
    const { Redis, SessionStore } = require('../lib/index.js')
    const client = new Redis(port, '127.0.0.1')
    await client.ping()
    return { client, store: new SessionStore({ client, prefix }), get: (k) => client.get(k), close: () => client.quit() }
  }
  if (kind === 'connect-redis 9') {
    const { createClient } = require('redis')
    const { RedisStore } = require('connect-redis-9')
    const client = createClient({ url: `redis://127.0.0.1:${port}` })
    await client.connect()
    return { client, store: new RedisStore({ client, prefix }), get: (k) => client.get(k), close: () => client.quit() }
  }
  const IORedis = require('ioredis')
  const ConnectRedis7 = require('connect-redis').default
  const client = new IORedis(port, '127.0.0.1')
  await client.ping()
  return { client, store: new ConnectRedis7({ client, prefix }), get: (k) => client.get(k), close: () => client.quit() }
}

/** A session as express-session stores it after a login. */
function session(i) {
  return {
    cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
    user: { id: i, name: `user${i}`, roles: ['reader'] },
    views: i,
  }
}

/** CPU µs this process's main (JS) thread has used, from /proc (Linux); null elsewhere. */
function jsThreadCpuUs() {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000 // utime + stime, in 10 ms ticks
  } catch {
    return null
  }
}

/**
 * `load` plus the CPU it cost per operation, on the JS thread and in the whole process:
 * unlike ops/s, CPU time does not depend on how busy the rest of the machine is.
 */
async function measured(fn, options) {
  const js = jsThreadCpuUs()
  const cpu = process.cpuUsage()
  const result = await load(fn, options)
  const total = options.ops * (options.repeats + 0.25) // the repeats plus load()'s warm-up quarter
  const used = process.cpuUsage(cpu)
  result.processCpuUs = (used.user + used.system) / total
  result.jsThreadCpuUs = js === null ? null : (jsThreadCpuUs() - js) / total
  return result
}

const viaCallback = (fn) =>
  new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)))
  })

async function storeOps(redis) {
  const ops = Number(process.env.BENCH_OPS || 20000)
  const rounds = Number(process.env.BENCH_ROUNDS || 3)
  const run = (fn, concurrency) => measured(fn, { ops: concurrency === 1 ? ops >> 2 : ops, concurrency, repeats: 3 })
  const sessions = Array.from({ length: SESSIONS }, (_, i) => session(i))
  const sid = (i) => `sid${i & (SESSIONS - 1)}`
  const sides = {}
  for (const kind of KINDS) {
    const side = await storeOf(kind, redis.port, `bench-${kind.replace(/\W/g, '')}:`)
    for (let i = 0; i < SESSIONS; i++) await viaCallback((cb) => side.store.set(sid(i), sessions[i], cb))
    sides[kind] = side
  }
  const cases = {
    get: ({ store }) => (i) => viaCallback((cb) => store.get(sid(i), cb)),
    set: ({ store }) => (i) => viaCallback((cb) => store.set(sid(i), sessions[i & (SESSIONS - 1)], cb)),
    touch: ({ store }) => (i) => viaCallback((cb) => store.touch(sid(i), sessions[i & (SESSIONS - 1)], cb)),
    'bare client GET': (side) => (i) => side.get(`${side.store.prefix}${sid(i)}`),
  }
  // Every case runs for the three stores back to back, and the rounds repeat that, so the
  // shared machine's load swings hit all of them alike; each figure is the median of rounds.
  const results = Object.fromEntries(KINDS.map((k) => [k, {}]))
  for (let r = 0; r < rounds; r++) {
    for (const c of CONCURRENCY) {
      for (const [name, make] of Object.entries(cases)) {
        for (const kind of KINDS) {
          const result = await run(make(sides[kind]), c)
          ;(results[kind][`${name} c=${c}`] ??= []).push(result)
        }
      }
    }
  }
  for (const kind of KINDS) {
    await viaCallback((cb) => sides[kind].store.clear(cb))
    await sides[kind].close()
  }
  const figure = (kind, name, field) => median(results[kind][name].map((run) => run[field]))
  for (const anchor of KINDS.slice(1)) {
    const rows = []
    for (const name of Object.keys(results.bulwark)) {
      rows.push({ case: name, unit: 'ops/s', bulwark: figure('bulwark', name, 'opsPerSec'), anchor: figure(anchor, name, 'opsPerSec'), higherIsBetter: true })
      rows.push({ case: name, unit: 'p99 µs', bulwark: figure('bulwark', name, 'p99Us'), anchor: figure(anchor, name, 'p99Us'), higherIsBetter: false })
      if (results.bulwark[name][0].jsThreadCpuUs !== null) {
        rows.push({ case: name, unit: 'JS-thread CPU µs/op', bulwark: figure('bulwark', name, 'jsThreadCpuUs'), anchor: figure(anchor, name, 'jsThreadCpuUs'), higherIsBetter: false })
      }
      rows.push({ case: name, unit: 'process CPU µs/op', bulwark: figure('bulwark', name, 'processCpuUs'), anchor: figure(anchor, name, 'processCpuUs'), higherIsBetter: false })
    }
    printTable(`session store: bulwark RedisStore (bulwark client) vs ${anchor} (${anchor.endsWith('9') ? 'node-redis 5' : 'ioredis'}), median of ${rounds} rounds`, anchor, rows)
  }
}

/** Starts the e2e app of `kind` in a child process; resolves with its port and the child. */
function startApp(kind, redisPort) {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, SESSION_BENCH_APP: kind, SESSION_BENCH_REDIS: String(redisPort) } })
  return new Promise((resolve, reject) => {
    child.once('message', (port) => resolve({ port, child }))
    child.once('exit', (code) => reject(new Error(`${kind} app exited with ${code}`)))
  })
}

/** The child side: an Express app whose one route reads and writes the session. */
async function serveApp(kind, redisPort) {
  const express = require('express')
  const expressSession = require('express-session')
  const side = await storeOf(kind, redisPort, `bench-e2e-${kind.replace(/\W/g, '')}:`)
  const { store } = side
  const app = express()
  app.use(expressSession({ store, secret: 'bench', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }))
  app.post('/login', (req, res) => {
    req.session.user = { id: req.query.id, name: `user${req.query.id}` }
    res.end('ok')
  })
  app.get('/', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    res.json({ user: req.session.user?.name, views: req.session.views })
  })
  const server = app.listen(0, '127.0.0.1', () => process.send(server.address().port))
  process.on('disconnect', () => {
    server.close(() => Promise.resolve(side.close()).finally(() => process.exit(0)))
    server.closeAllConnections()
  })
}

async function e2e(redis) {
  const autocannon = require('autocannon')
  const connections = 50
  const seconds = Number(process.env.BENCH_E2E_SECONDS || 5)
  const rounds = Number(process.env.BENCH_E2E_ROUNDS || 3)
  const perKind = Object.fromEntries(KINDS.map((k) => [k, []]))
  const apps = {}
  for (const kind of KINDS) {
    const { port, child } = await startApp(kind, redis.port)
    const cookies = []
    for (let i = 0; i < connections; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/login?id=${i}`, { method: 'POST' })
      cookies.push(res.headers.get('set-cookie').split(';')[0])
    }
    apps[kind] = { port, child, cookies }
  }
  try {
    // Rounds interleave the apps so that the machine's noise spreads over all of them.
    for (let r = 0; r < rounds; r++) {
      for (const kind of KINDS) {
        const { port, cookies } = apps[kind]
        let next = 0
        const result = await autocannon({
          url: `http://127.0.0.1:${port}/`,
          connections,
          duration: seconds,
          setupClient: (client) => client.setHeaders({ cookie: cookies[next++ % cookies.length] }),
        })
        if (result.non2xx || result.errors) throw new Error(`${kind}: ${result.non2xx} non-2xx, ${result.errors} errors`)
        perKind[kind].push(result)
      }
    }
  } finally {
    // Each app ends its client before the redis-server stops (no EPIPE from a late write).
    await Promise.all(Object.values(apps).map(({ child }) => new Promise((resolve) => child.once('exit', resolve).disconnect())))
  }
  const reqs = (kind) => median(perKind[kind].map((r) => r.requests.average))
  const p99 = (kind) => median(perKind[kind].map((r) => r.latency.p99))
  for (const anchor of KINDS.slice(1)) {
    printTable(`Express e2e, session read + write per request, ${connections} connections (median of ${rounds} × ${seconds} s)`, anchor, [
      { case: 'requests', unit: 'req/s', bulwark: reqs('bulwark'), anchor: reqs(anchor), higherIsBetter: true },
      { case: 'latency', unit: 'p99 ms', bulwark: p99('bulwark'), anchor: p99(anchor), higherIsBetter: false },
    ])
  }
}

export default async function ({ redis }) {
  await storeOps(redis)
  await e2e(redis)
}

if (process.env.SESSION_BENCH_APP) await serveApp(process.env.SESSION_BENCH_APP, Number(process.env.SESSION_BENCH_REDIS))
