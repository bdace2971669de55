#!/usr/bin/env node
// A real npm `yjs` + `y-websocket` WebsocketProvider client for tests/test_interop.py.
//
//   node client.mjs --url ws://127.0.0.1:PORT/ws --room BOARD --token TOKEN --mode converge ...
//   node client.mjs ... --mode refuse --target NOTE_ID --barrier NOTE_ID
//
// Prints ONE JSON line on stdout (canonical: object keys sorted) and exits 0; on any failure or
// when --timeout ms pass, prints the reason on stderr and exits 2. Every wait is bounded.
//
// converge: wait `synced`, publish awareness {user: {name}}, add --count notes `<prefix>-<i>` (one
//   transaction each) and rewrite the text of the first one; wait until the doc holds --expect-count
//   notes named `<expect-prefix>-<i>` (and, with --expect-awareness NAME, an awareness state with
//   user.name NAME); then move `<expect-prefix>-0` to x = --move-x; wait until `<prefix>-0` has
//   x = --expect-x (the other side's last edit); print {"notes": …, "awareness_names": […]}.
// refuse: wait `synced` and until note --target exists, set its text (a participant editing a note
//   it did not write), wait for the server's permission-denied message; then a SECOND provider (a
//   fresh Y.Doc, same token) adds note --barrier, and the first waits until that note reaches it
//   through the server; meanwhile the first waits until the server's undo restores the text, then
//   moves --target and adds note `<barrier>-own`; print {"denied": […], "local_text": …,
//   "reverted_text": …, "converge_ms": …, "barrier_seen": true}.
// offline: (--token: the note's author) wait `synced` and until note --target exists; go offline
//   (provider.disconnect) and move it to x = --move-x; then a second provider with --other-token
//   (another participant) deletes the note by writing `deleted: true` (as our web client does), is
//   refused, and waits until the server's undo has taken the field away; then the first provider
//   reconnects (its sync sends the offline move, into the same live map); wait until both docs
//   hold the note at x = --move-x; print
//   {"denied": […], "author_x": …, "other_x": …}.
import * as Y from 'yjs'
import { WebsocketProvider, messageAuth } from 'y-websocket'
import * as authProtocol from 'y-protocols/auth'
import WebSocket from 'ws'

function parseArgs (argv) {
  const o = {}
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`)
    o[argv[i].slice(2)] = argv[i + 1]
  }
  for (const k of ['url', 'room', 'token', 'mode']) if (!o[k]) throw new Error(`--${k} is required`)
  return o
}

const opts = parseArgs(process.argv.slice(2))
const TIMEOUT_MS = Number(opts.timeout ?? 20000)
const providers = []

function fail (message) {
  process.stderr.write(`interop client: ${message}\n`)
  for (const p of providers) p.destroy()
  process.exit(2)
}

const watchdog = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms (phase: ${phase})`), TIMEOUT_MS)
let phase = 'start'

/** Sorts object keys recursively so both sides can print the same bytes for the same state. */
function canonical (value) {
  if (Array.isArray(value)) return value.map(canonical)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]))
  }
  return value
}

/** Resolves when `predicate()` holds; re-checked on every doc / awareness change. No polling. */
function waitFor (doc, provider, predicate, what) {
  phase = what
  return new Promise((resolve) => {
    const check = () => {
      if (!predicate()) return
      doc.off('update', check)
      provider?.awareness.off('change', check)
      resolve()
    }
    doc.on('update', check)
    provider?.awareness.on('change', check)
    check()
  })
}

function connect (doc, token = opts.token) {
  const provider = new WebsocketProvider(opts.url, opts.room, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token },
    disableBc: true
  })
  providers.push(provider)
  provider.on('connection-close', (event) => {
    if (event && event.code >= 4000) fail(`server closed the connection: ${event.code} ${event.reason}`)
  })
  return provider
}

function waitSynced (provider) {
  phase = 'synced'
  return new Promise((resolve) => {
    if (provider.synced) return resolve()
    provider.once('synced', () => resolve())
  })
}

function noteMap (fields) {
  const note = new Y.Map()
  for (const [k, v] of Object.entries(fields)) note.set(k, v)
  return note
}

async function converge () {
  const prefix = opts.prefix ?? 'node'
  const count = Number(opts.count ?? 5)
  const expectPrefix = opts['expect-prefix'] ?? 'py'
  const expectCount = Number(opts['expect-count'] ?? 5)
  const moveX = Number(opts['move-x'] ?? 123)
  const expectX = Number(opts['expect-x'] ?? 456)
  const doc = new Y.Doc()
  const provider = connect(doc)
  await waitSynced(provider)
  provider.awareness.setLocalStateField('user', { name: opts.name ?? 'node', color: '#36c' })
  const notes = doc.getMap('notes')
  for (let i = 0; i < count; i++) {
    doc.transact(() => {
      notes.set(`${prefix}-${i}`, noteMap({
        text: `from node ${i} — héllo ✓`,
        x: 10 * i,
        y: 20.5,
        color: 'blue',
        cluster: '',
        lang: 'en',
        createdAt: 1700000000000 + i
      }))
    })
  }
  doc.transact(() => notes.get(`${prefix}-0`).set('text', 'node edited its own note'))

  const expected = Array.from({ length: expectCount }, (_, i) => `${expectPrefix}-${i}`)
  const names = () => [...provider.awareness.getStates().values()].map((s) => s?.user?.name).filter(Boolean)
  await waitFor(doc, provider, () => expected.every((k) => notes.has(k)) &&
    (!opts['expect-awareness'] || names().includes(opts['expect-awareness'])), 'other side\'s notes')
  const seenNames = names()
  doc.transact(() => notes.get(`${expectPrefix}-0`).set('x', moveX))
  await waitFor(doc, null, () => notes.get(`${prefix}-0`)?.get('x') === expectX, 'other side\'s move')
  return { notes: notes.toJSON(), awareness_names: seenNames.sort() }
}

async function refuse () {
  const target = opts.target
  const barrier = opts.barrier
  if (!target || !barrier) fail('--target and --barrier are required for --mode refuse')
  const doc = new Y.Doc()
  const provider = connect(doc)
  const denied = []
  let onDenied = () => {}
  recordDenied(provider, doc, denied, () => onDenied())
  await waitSynced(provider)
  const notes = doc.getMap('notes')
  await waitFor(doc, null, () => notes.has(target), 'target note')
  phase = 'permission denied'
  // The text is read when the refusal arrives, in its own message handler: ws hands every frame of
  // one TCP read to its handlers before any promise continues, and the server's undo may follow the
  // refusal in the same read (a commit can be that quick).
  let localText = null
  await new Promise((resolve) => {
    onDenied = () => { localText = notes.get(target).get('text'); resolve() }
    doc.transact(() => notes.get(target).set('text', 'hijacked by node'))
  })
  // The server undoes the refused change for everyone, the sender included: the stock provider
  // converges back by itself (no reload, no reconnect), then its allowed edits go through.
  const refusedAt = Date.now()
  await waitFor(doc, null, () => notes.get(target).get('text') !== 'hijacked by node', 'undone')
  const convergeMs = Date.now() - refusedAt
  const revertedText = notes.get(target).get('text')
  doc.transact(() => {
    notes.get(target).set('x', 77)
    notes.set(`${barrier}-own`, noteMap({
      text: 'after the refusal', x: 1, y: 2, color: 'blue', cluster: '', lang: 'nl', createdAt: Date.now()
    }))
  })

  // The barrier: a later, allowed change from a fresh doc. The server handles one board's messages
  // in order, so once the barrier comes back through the server, a relayed hijack would have too.
  const doc2 = new Y.Doc()
  const provider2 = connect(doc2)
  await waitSynced(provider2)
  doc2.transact(() => doc2.getMap('notes').set(barrier, noteMap({
    text: 'barrier', x: 0, y: 0, color: 'yellow', cluster: '', lang: 'en', createdAt: 0
  })))
  await waitFor(doc, null, () => notes.has(barrier), 'barrier note')
  return { denied, local_text: localText, reverted_text: revertedText, converge_ms: convergeMs, barrier_seen: true }
}

/** Record the server's permission-denied reasons (the stock handler only logs them). */
function recordDenied (provider, doc, denied, onEach) {
  provider.messageHandlers[messageAuth] = (_encoder, decoder) => {
    authProtocol.readAuthMessage(decoder, doc, (_doc, reason) => { denied.push(reason); onEach() })
  }
}

async function offline () {
  const target = opts.target
  const moveX = Number(opts['move-x'] ?? 321)
  if (!target || !opts['other-token']) fail('--target and --other-token are required for --mode offline')
  const doc = new Y.Doc()
  const provider = connect(doc)
  await waitSynced(provider)
  const notes = doc.getMap('notes')
  await waitFor(doc, null, () => notes.has(target), 'target note')
  provider.disconnect() // the phone goes offline; its move waits on the device
  doc.transact(() => notes.get(target).set('x', moveX))

  const otherDoc = new Y.Doc()
  const other = connect(otherDoc, opts['other-token'])
  const denied = []
  let onDenied = () => {}
  recordDenied(other, otherDoc, denied, () => onDenied())
  await waitSynced(other)
  const otherNotes = otherDoc.getMap('notes')
  await waitFor(otherDoc, null, () => otherNotes.has(target), 'the other sees the note')
  phase = 'forbidden delete refused'
  await new Promise((resolve) => {
    onDenied = resolve
    otherDoc.transact(() => otherNotes.get(target).set('deleted', true))
  })
  await waitFor(otherDoc, null, () => otherNotes.get(target)?.get('deleted') === undefined, 'delete undone')

  provider.connect() // back online
  await waitFor(otherDoc, null, () => otherNotes.get(target)?.get('x') === moveX, 'offline move reaches the other')
  await waitFor(doc, null, () => notes.get(target)?.get('x') === moveX, 'author converged')
  return { denied, author_x: notes.get(target).get('x'), other_x: otherNotes.get(target).get('x') }
}

const modes = { converge, refuse, offline }
if (!modes[opts.mode]) fail(`unknown --mode ${opts.mode}`)
modes[opts.mode]().then((result) => {
  clearTimeout(watchdog)
  process.stdout.write(JSON.stringify(canonical(result)) + '\n')
  for (const p of providers) p.destroy()
  process.exit(0)
}, (error) => fail(error?.stack ?? String(error)))
