// A day in the life of a node-postgres (pg) application, told against one server: PostgreSQL directly or pgveil.
//
// Usage: node story.js '<connection string>'
//
// Each step prints one JSON line: {"step": name, "result": ...} or {"step": name, "error": SQLSTATE, "message": ...}.
// The end-to-end test runs the story directly and through pgveil and compares the two, step by step, so a step
// prints values, row counts and SQLSTATEs, never process ids or timings. It expects the schema "drv" (drv.items
// (id int, name text) with three rows, an empty drv.log (id int, note text)), made fresh before each run.
'use strict'
const { Client } = require('pg')
const Cursor = require('pg-cursor')
const { from: copyFrom, to: copyTo } = require('pg-copy-streams')
const { pipeline } = require('stream/promises')
const { Readable, Writable } = require('stream')

const DSN = process.argv[2]
const steps = []
function step (name, fn) { steps.push([name, fn]) }

async function withClient (extra, fn) {
  const c = new Client({ connectionString: DSN, ...extra })
  await c.connect()
  try { return await fn(c) } finally { await c.end() }
}

const one = async (c, sql, values) => (await c.query({ text: sql, values, rowMode: 'array' })).rows[0][0]

step('startup options set search_path and statement_timeout', () =>
  withClient({ options: '-c search_path=drv,public -c statement_timeout=5s' }, async c =>
    [await one(c, 'show search_path'), await one(c, 'show statement_timeout'), await one(c, 'select count(*)::int from items')]))

step('pool reset: DISCARD ALL and RESET ALL, then the session goes on', () => withClient({}, async c => {
  await c.query('set search_path = drv')
  await c.query('prepare p as select 1')
  await c.query('DISCARD ALL')
  const out = [await one(c, 'show search_path'), await one(c, 'select count(*)::int from pg_prepared_statements')]
  await c.query("set statement_timeout = '7s'")
  await c.query('RESET ALL')
  return out.concat([await one(c, 'show statement_timeout'), await one(c, 'select current_user = session_user')])
}))

step('transaction characteristics with set_config and bind parameters', () => withClient({}, async c => {
  await c.query('select set_config($1, $2, false)', ['default_transaction_isolation', 'repeatable read'])
  await c.query('select set_config($1, $2, false)', ['search_path', 'drv'])
  return [await one(c, 'show default_transaction_isolation'), await one(c, 'select count(*)::int from items')]
}))

step('search_path changed inside transaction blocks', () => withClient({}, async c => {
  const out = []
  await c.query('begin')
  await c.query('set search_path = drv')
  out.push(await one(c, 'select count(*)::int from items'))
  await c.query('rollback')
  out.push(await one(c, 'show search_path'))
  await c.query('begin; set local search_path = drv')
  out.push(await one(c, 'select count(*)::int from items'))
  await c.query('commit')
  out.push(await one(c, 'show search_path'))
  await c.query('begin')
  await c.query('set search_path = drv')
  await c.query('savepoint s')
  await c.query('reset search_path')
  await c.query('rollback to savepoint s')
  out.push(await one(c, 'show search_path'))
  await c.query('commit')
  out.push(await one(c, 'select count(*)::int from items'))
  return out
}))

step('a Parse holding several statements', () => withClient({}, c => c.query({ text: 'select 1; select 2', values: [] })))

step('multiple results from one query', () => withClient({}, async c =>
  (await c.query('select 1 as a; select $$two$$ as b')).map(r => r.rows)))

step('queries sent without waiting, one failing in the middle', () => withClient({}, async c => {
  const qs = [c.query('insert into drv.log values (1, $1)', ['first']), c.query('select 1/0'),
    c.query('select count(*)::int from drv.log')]
  const settled = await Promise.allSettled(qs)
  return settled.map(s => s.status === 'fulfilled' ? (s.value.rows[0] || s.value.command) : s.reason.code)
}))

step('COPY in and out', () => withClient({}, async c => {
  await pipeline(Readable.from(['10\tcopied ten\n', '11\tcopied eleven\n']), c.query(copyFrom('COPY drv.log (id, note) FROM STDIN')))
  let text = ''
  await pipeline(c.query(copyTo('COPY (select id, note from drv.log where id >= 10 order by id) TO STDOUT')),
    new Writable({ write (chunk, enc, done) { text += chunk; done() } }))
  return text
}))

step('a cursor fetched in steps (named portal, Execute with a row limit)', () => withClient({}, async c => {
  await c.query('begin')
  const cursor = c.query(new Cursor('select id, name from drv.items order by id'))
  const first = await cursor.read(2)
  const rest = await cursor.read(5)
  await cursor.close()
  await c.query('commit')
  return [first, rest]
}))

step('LISTEN and NOTIFY', () => withClient({}, async listener => {
  const got = []
  const done = new Promise(resolve => listener.on('notification', n => { got.push([n.channel, n.payload]); if (got.length === 2) resolve() }))
  await listener.query('listen story_channel')
  await withClient({}, async sender => {
    await sender.query("select pg_notify('story_channel', 'hello')")
    await sender.query("notify story_channel, 'world'")
  })
  await Promise.race([done, new Promise(resolve => setTimeout(resolve, 5000))])
  return got
}))

step('cancel a running statement', () => withClient({}, async c => {
  const q = c.query('select pg_sleep(10)')
  setTimeout(() => new Client({ connectionString: DSN }).cancel(c, c.activeQuery), 500)
  try { await q; return 'not cancelled' } catch (e) { return ['cancelled', e.code, await one(c, 'select 1')] }
}))

step('named prepared statements, again and again', () => withClient({}, async c => {
  const out = []
  for (let i = 0; i < 6; i++) {
    out.push((await c.query({ name: 'by_id', text: 'select name from drv.items where id = $1', values: [1 + i % 3] })).rows[0].name)
  }
  return out
}))

step('binary results', () => withClient({}, async c => {
  const r = await c.query({ text: 'select 42::int4 as i, $1::text as t', values: ['text'], binary: true, rowMode: 'array' })
  return r.rows[0].map(v => Buffer.isBuffer(v) ? v.toString('hex') : v)
}))

step('errors carry their SQLSTATE and the session goes on', () => withClient({}, async c => {
  const states = []
  for (const q of ['select 1/0', 'select * from drv.nowhere', 'select nope from drv.items', 'selec 1']) {
    try { await c.query(q) } catch (e) { states.push(e.code) }
  }
  states.push(await one(c, 'select count(*)::int from drv.items'))
  return states
}))

step('a client that ends before it has connected', async () => {
  const c = new Client({ connectionString: DSN })
  const events = []
  c.on('error', e => events.push('error event: ' + e.message))
  const connecting = c.connect().then(() => 'connected', e => 'connect failed')
  await c.end().catch(() => {})
  // (a connect that neither resolves nor rejects left node nothing to wait for: it exited, and told no more steps)
  const outcome = await Promise.race([connecting,
    new Promise(resolve => setTimeout(() => resolve('neither connected nor failed'), 2000))])
  await new Promise(resolve => setTimeout(resolve, 300))
  return [outcome, events]
})

step('bulk: a 10,000-row INSERT with parameters, a 10,000-row VALUES list, IN lists bound and inlined', () => withClient({}, async c => {
  const rows = 10000
  const placeholders = []
  const values = []
  for (let i = 0; i < rows; i++) {
    placeholders.push(`($${2 * i + 1}, $${2 * i + 2})`)
    values.push(1000 + i, `many ${i}`)
  }
  await c.query(`insert into drv.log (id, note) values ${placeholders.join(', ')}`, values)
  const literal = []
  for (let i = 0; i < rows; i++) literal.push(`(${20000 + i}, 'row ${i}')`)
  await c.query(`insert into drv.log (id, note) values ${literal.join(', ')}`)
  const ids = Array.from({ length: 5000 }, (_, i) => 20000 + i)
  const bound = await one(c, `select count(*) from drv.log where id in (${ids.map((_, i) => '$' + (i + 1)).join(', ')})`, ids)
  const inlined = await one(c, `select count(*) from drv.log where note in (${ids.map((_, i) => `'row ${i}'`).join(', ')})`)
  return [await one(c, 'select count(*) from drv.log where id >= 1000'), bound, inlined]
}))

;(async () => {
  for (const [name, fn] of steps) {
    try {
      const result = await fn()
      console.log(JSON.stringify({ step: name, result: result === undefined ? null : result }))
    } catch (e) {
      if (e && e.code) {
        console.log(JSON.stringify({ step: name, error: e.code, message: e.message }))
      } else {
        console.log(JSON.stringify({ step: name, failure: String(e && e.stack || e) }))
      }
    }
  }
  console.log(JSON.stringify({ step: 'the end', result: steps.length }))
})().catch(e => { console.error(e); process.exit(1) })
