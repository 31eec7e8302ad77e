// Typed usage of the session store; compiled by `npm run typecheck`.
// Lines marked @ts-expect-error must stay errors.
import IORedis from 'ioredis'
import { createClient } from 'redis'
import RedisStore = require('bulwark/connect-redis')
import { SessionStore, Redis } from 'bulwark'
import type { SessionData, SessionStoreOptions } from 'bulwark'

const client = new Redis('memory://')
const store = new RedisStore({ client, prefix: 'myapp:', ttl: (sess) => (sess.user ? 3600 : 600), rollingTouch: true })
const named = new RedisStore.RedisStore({ client: new IORedis(), scanCount: 500, disableTouch: true })
const viaDefault = new RedisStore.default({ client, serializer: { parse: async (s) => JSON.parse(s), stringify: (s) => JSON.stringify(s) } })
const options: SessionStoreOptions = { client, ttl: 60, disableTTL: false, localCopies: 0 }
const main = new SessionStore(options)
const nodeRedisLike = new SessionStore({ client: { sendCommand: async (args: string[]) => args.length } })
const onNodeRedis = new RedisStore({ client: createClient(), prefix: 'nr:' })

async function usage(): Promise<void> {
  const sess: SessionData = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000), path: '/', httpOnly: true }, user: 'ada' }
  await store.set('sid', sess)
  const back: SessionData | null = await store.get('sid')
  if (back !== null) console.log(back.user, back.cookie.expires)
  await named.touch('sid', sess)
  const n: number = await main.length()
  const ids: string[] = await main.ids()
  const all = await viaDefault.all()
  console.log(n, ids, all[0]?.id)
  main.get('sid', (err, value) => console.log(err, value?.cookie))
  main.destroy('sid', (err) => console.log(err))
  await main.clear()
  const seconds: number = store.getTTL(sess)
  console.log(seconds, nodeRedisLike.prefix, onNodeRedis.prefix)
  main.on('error', (err: Error) => console.error(err))
  // @ts-expect-error the session id is a string
  await main.get(42)
  // @ts-expect-error a client is required
  new SessionStore({ prefix: 'x' })
}
void usage
