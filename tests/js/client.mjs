#!/usr/bin/env node
// CLI around an official automerge-repo (JS) client Repo, used by tandem's
// interop tests to talk to a sync server over the automerge-repo websocket
// protocol v1.
//
// Every subcommand prints exactly one JSON line on stdout and exits 0 on
// success; on failure it prints a message on stderr and exits non-zero:
//   1  error (bad arguments are 64)
//   2  timeout (--timeout MS, default 15000)
//   3  document unavailable (read only; stdout is {"unavailable": true})
//
//   create   --server URL --json '<object>' [--doc automerge:... (use this id, e.g. from new-url)]
//            -> {"url": "automerge:...", "documentId": "..."}
//   read     --server URL --doc automerge:...
//            -> {"doc": {...}}  |  {"unavailable": true} + exit 3
//   edit     --server URL --doc automerge:... [--set a.b=VALUE]... [--splice a.b:INDEX:DEL:TEXT]...
//            -> {"doc": {...}}  (after the server has acknowledged the change)
//   wait-for --server URL --doc automerge:... --path a.b --equals VALUE
//            -> {"doc": {...}}  (once doc.a.b deep-equals VALUE)
//   new-url  (offline) -> {"url": "automerge:...", "documentId": "..."}  a fresh random id
//
// Common options: --token T (appends ?token=T to the server URL),
//   --timeout MS, --peer-id ID, --no-verify (create/edit: skip the second-peer
//   check, see waitUntilServerHas), --trace (log every protocol message on stderr).
// VALUE (for --set and --equals) is parsed as JSON if it parses, else taken as a
// plain string. Strings become automerge text (automerge 3 default).
//
// The client has no storage (peerMetadata {storageId: undefined, isEphemeral: true}).
// In Node the websocket adapter gets its WebSocket from `isomorphic-ws`, which
// resolves to the `ws` package, so no globalThis.WebSocket polyfill is needed.

import * as A from "@automerge/automerge"
import {
  Repo,
  cbor,
  generateAutomergeUrl,
  isValidAutomergeUrl,
  parseAutomergeUrl,
} from "@automerge/automerge-repo"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const EXIT_ERROR = 1
const EXIT_TIMEOUT = 2
const EXIT_UNAVAILABLE = 3
const EXIT_USAGE = 64

const USAGE = `usage:
  node client.mjs create   --server ws://127.0.0.1:PORT --json '<json object>' [--doc automerge:...]
  node client.mjs read     --server URL --doc automerge:...
  node client.mjs edit     --server URL --doc automerge:... [--set path.to.key=VALUE]... [--splice path.to.text:INDEX:DEL:TEXT]...
  node client.mjs wait-for --server URL --doc automerge:... --path a.b --equals VALUE
  node client.mjs new-url
common: [--token T] [--timeout MS (default 15000)] [--peer-id ID] [--no-verify] [--trace]
`

// ---------------------------------------------------------------- output

let finished = false
function finish(code, stdoutObj, stderrMsg) {
  if (finished) return
  finished = true
  if (stderrMsg) process.stderr.write(`client: ${stderrMsg}\n`)
  const exit = () => process.exit(code)
  if (stdoutObj !== undefined) {
    process.stdout.write(JSON.stringify(stdoutObj) + "\n", exit)
  } else {
    exit()
  }
}

class UsageError extends Error {}
class UnavailableError extends Error {}

process.on("uncaughtException", e => finish(EXIT_ERROR, undefined, `uncaught: ${e?.stack ?? e}`))
process.on("unhandledRejection", e => finish(EXIT_ERROR, undefined, `unhandled rejection: ${e?.stack ?? e}`))

// ---------------------------------------------------------------- args

function parseArgs(argv) {
  const [cmd, ...rest] = argv
  const o = { cmd, timeout: 15000, set: [], splice: [], verify: true, trace: false }
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]
    const next = () => {
      if (i + 1 >= rest.length) throw new UsageError(`${a} needs a value`)
      return rest[++i]
    }
    switch (a) {
      case "--server": o.server = next(); break
      case "--token": o.token = next(); break
      case "--json": o.json = next(); break
      case "--doc": o.doc = next(); break
      case "--set": o.set.push(next()); break
      case "--splice": o.splice.push(next()); break
      case "--path": o.path = next(); break
      case "--equals": o.equals = next(); break
      case "--peer-id": o.peerId = next(); break
      case "--timeout": {
        o.timeout = Number(next())
        if (!Number.isFinite(o.timeout) || o.timeout <= 0) throw new UsageError("bad --timeout")
        break
      }
      case "--no-verify": o.verify = false; break
      case "--trace": o.trace = true; break
      case "-h": case "--help": throw new UsageError("")
      default: throw new UsageError(`unknown argument ${a}`)
    }
  }
  return o
}

/** JSON if it parses, else the raw string. */
function parseValue(s) {
  try {
    return JSON.parse(s)
  } catch {
    return s
  }
}

function parsePath(p) {
  if (p === undefined || p === "") throw new UsageError("empty path")
  return p.split(".")
}

function serverUrl(o) {
  if (!o.server) throw new UsageError("--server is required")
  if (o.token === undefined) return o.server
  const u = new URL(o.server)
  u.searchParams.set("token", o.token)
  return u.toString()
}

function requireDoc(o) {
  if (!o.doc) throw new UsageError("--doc is required")
  if (!isValidAutomergeUrl(o.doc)) throw new UsageError(`not a valid automerge URL: ${o.doc}`)
  return o.doc
}

// ---------------------------------------------------------------- doc helpers

/** Automerge doc -> plain JSON value (text -> string, counters -> number). */
function docToJSON(doc) {
  return JSON.parse(
    JSON.stringify(A.toJS(doc), (k, v) => {
      if (v instanceof A.Counter) return v.value
      if (v instanceof A.ImmutableString) return v.val
      if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("base64") }
      return v
    }),
  )
}

function getAtPath(obj, path) {
  let cur = obj
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined
    cur = Array.isArray(cur) ? cur[Number(k)] : cur[k]
  }
  return cur
}

function deepEqual(a, b) {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b))
}
function canon(v) {
  if (Array.isArray(v)) return v.map(canon)
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map(k => [k, canon(v[k])]))
  }
  return v
}

/** Inside a change callback: walk to the parent of path, creating maps as needed. */
function parentFor(d, path, create) {
  let cur = d
  for (const k of path.slice(0, -1)) {
    const key = Array.isArray(cur) ? Number(k) : k
    if (cur[key] === undefined || cur[key] === null) {
      if (!create) throw new Error(`path ${path.join(".")}: ${k} does not exist`)
      cur[key] = {}
    }
    cur = cur[key]
    if (typeof cur !== "object") throw new Error(`path ${path.join(".")}: ${k} is not an object`)
  }
  return cur
}

function parseSplice(spec) {
  // path:index:deleteCount:insertText  (insertText may itself contain ':')
  const m = /^([^:]+):(\d+):(\d+):(.*)$/s.exec(spec)
  if (!m) throw new UsageError(`bad --splice ${spec} (want path:index:deleteCount:insertText)`)
  return { path: parsePath(m[1]), index: Number(m[2]), del: Number(m[3]), text: m[4] }
}

/** Dotted path -> automerge path (numeric keys become list indexes inside lists). */
function amPath(d, path) {
  const out = []
  let cur = d
  for (const k of path) {
    const key = Array.isArray(cur) ? Number(k) : k
    out.push(key)
    cur = cur?.[key]
  }
  return out
}

// ---------------------------------------------------------------- repo helpers

function traceAdapter(adapter, label) {
  const fmt = m =>
    JSON.stringify(m, (k, v) =>
      v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v === undefined ? "<undefined>" : v,
    )
  const origSend = adapter.send.bind(adapter)
  adapter.send = message => {
    process.stderr.write(`[trace ${label}] C-> ${fmt(message)}\n`)
    return origSend(message)
  }
  const origReceive = adapter.receiveMessage.bind(adapter)
  adapter.receiveMessage = bytes => {
    try {
      process.stderr.write(`[trace ${label}] C<- ${fmt(cbor.decode(new Uint8Array(bytes)))}\n`)
    } catch (e) {
      process.stderr.write(`[trace ${label}] C<- undecodable frame: ${e}\n`)
    }
    return origReceive(bytes)
  }
  return adapter
}

const repos = []
function makeRepo(o, label, peerId) {
  const adapter = new BrowserWebSocketClientAdapter(serverUrl(o))
  if (o.trace) traceAdapter(adapter, label)
  const repo = new Repo({ network: [adapter], peerId })
  // Record, per document, the heads the server last told us it has
  // (`theirHeads` of our sync state with it). The server is our only peer.
  const theirHeads = new Map()
  const listeners = new Set()
  repo.synchronizer.on("sync-state", ({ syncState, documentId }) => {
    if (syncState?.theirHeads) {
      theirHeads.set(documentId, syncState.theirHeads)
      listeners.forEach(l => l())
    }
  })
  repo.tandemAcks = { theirHeads, listeners }
  repos.push(repo)
  return repo
}

let stage = "starting"

/**
 * Wait for the server's `peer` reply to our `join`. Without this, Repo.find()
 * on a client whose server never answered (down, or slow handshake) reports
 * the doc "unavailable" after the adapter's forced 1 s ready, which a test
 * could not tell apart from a real doc-unavailable. With it, "unavailable"
 * means the server answered doc-unavailable.
 */
async function connected(repo) {
  stage = "waiting for the server's peer reply to join"
  if (repo.peers.length === 0) {
    await new Promise(resolve => repo.networkSubsystem.once("peer", resolve))
  }
  stage = "connected"
  return repo
}

function shutdownAll() {
  for (const r of repos) {
    try {
      r.networkSubsystem.adapters.forEach(a => a.disconnect())
    } catch {
      /* ignore */
    }
  }
}

/**
 * Resolve once the sync server holds every change this handle currently has.
 *
 * 1. Ack from the sync protocol: after the server applies our sync message it
 *    answers with its own sync message, whose heads land in our per-peer sync
 *    state as `theirHeads`. Once every one of our heads is among the server's
 *    heads, the server has applied all our changes (in memory).
 *    (repo.flush() only writes local storage, and handle.whenReady() is
 *    local too, so neither proves anything about the server.)
 *
 * 2. Unless --no-verify: a second, fresh Repo in this process (new PeerId, new
 *    socket, no storage, nothing shared with the first Repo) `find`s the doc
 *    and must see our heads in its history. The server only serves what it
 *    holds, so this independently confirms (1) over a new connection.
 *
 * Neither proves the server *persisted* the change to disk (the JS server
 * saves ~100 ms after a change, and flushes on SIGINT/SIGTERM in sync-server.mjs).
 */
async function waitUntilServerHas(repo, handle, o) {
  const want = A.getHeads(handle.doc())
  const { theirHeads, listeners } = repo.tandemAcks
  stage = "waiting for the server to acknowledge our heads"
  await new Promise(resolve => {
    const check = () => {
      const theirs = theirHeads.get(handle.documentId)
      if (theirs && want.every(h => theirs.includes(h))) {
        listeners.delete(check)
        resolve()
      }
    }
    listeners.add(check)
    check()
  })
  if (!o.verify) return

  const verifier = await connected(makeRepo(o, "verify"))
  stage = "verifying with a second peer that the server has our heads"
  // Accept "unavailable" too and keep waiting: doc-unavailable is not final,
  // the server pushes the doc to a peer that asked once it has it.
  const vh = await verifier.find(handle.url, { allowableStates: ["ready", "unavailable"] })
  await new Promise(resolve => {
    const check = () => {
      if (vh.isReady() && A.hasHeads(vh.doc(), want)) {
        clearInterval(timer)
        vh.off("change", check)
        resolve()
      }
    }
    const timer = setInterval(check, 50)
    vh.on("change", check)
    check()
  })
}

async function findOnServer(repo, url) {
  stage = "finding the doc"
  try {
    return await repo.find(url)
  } catch (e) {
    if (/unavailable/i.test(String(e?.message))) throw new UnavailableError(String(e.message))
    throw e
  }
}

// ---------------------------------------------------------------- commands

async function cmdCreate(o) {
  if (o.json === undefined) throw new UsageError("--json is required")
  let value
  try {
    value = JSON.parse(o.json)
  } catch (e) {
    throw new UsageError(`--json is not valid JSON: ${e.message}`)
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError("--json must be a JSON object")
  }
  const repo = makeRepo(o, "main", o.peerId)
  let handle
  if (o.doc) {
    // Create under a caller-chosen id (e.g. from `new-url`), so a test can
    // start `wait-for` on a doc before it exists anywhere.
    const { documentId } = parseAutomergeUrl(requireDoc(o))
    const initial = Object.keys(value).length > 0 ? A.from(value) : A.emptyChange(A.init())
    handle = repo.import(A.save(initial), { docId: documentId })
    await handle.whenReady()
  } else {
    handle = repo.create(value)
  }
  // Created offline first, like a real client; it is pushed on connect.
  await connected(repo)
  await waitUntilServerHas(repo, handle, o)
  return { url: handle.url, documentId: handle.documentId }
}

async function cmdRead(o) {
  const url = requireDoc(o)
  const repo = await connected(makeRepo(o, "main", o.peerId))
  const handle = await findOnServer(repo, url)
  return { doc: docToJSON(handle.doc()) }
}

async function cmdEdit(o) {
  const url = requireDoc(o)
  if (o.set.length === 0 && o.splice.length === 0) {
    throw new UsageError("edit needs at least one --set or --splice")
  }
  const sets = o.set.map(s => {
    const eq = s.indexOf("=")
    if (eq <= 0) throw new UsageError(`bad --set ${s} (want path=value)`)
    return { path: parsePath(s.slice(0, eq)), value: parseValue(s.slice(eq + 1)) }
  })
  const splices = o.splice.map(parseSplice)

  const repo = await connected(makeRepo(o, "main", o.peerId))
  const handle = await findOnServer(repo, url)
  handle.change(d => {
    for (const { path, value } of sets) {
      const parent = parentFor(d, path, true)
      const last = path[path.length - 1]
      parent[Array.isArray(parent) ? Number(last) : last] = value
    }
    for (const { path, index, del, text } of splices) {
      const cur = getAtPath(d, path)
      if (typeof cur !== "string") {
        throw new Error(`--splice: ${path.join(".")} is not a text field`)
      }
      A.splice(d, amPath(d, path), index, del, text)
    }
  })
  await waitUntilServerHas(repo, handle, o)
  return { doc: docToJSON(handle.doc()) }
}

async function cmdWaitFor(o) {
  const url = requireDoc(o)
  if (o.path === undefined) throw new UsageError("--path is required")
  if (o.equals === undefined) throw new UsageError("--equals is required")
  const path = parsePath(o.path)
  const want = parseValue(o.equals)

  const repo = await connected(makeRepo(o, "main", o.peerId))
  stage = `waiting for ${o.path} to equal ${o.equals}`
  // The doc may not exist on the server yet: accept "unavailable" and keep
  // the handle open; the server pushes the doc to us once someone uploads it
  // (doc-unavailable is not final), and the handle then becomes ready.
  const handle = await repo.find(url, { allowableStates: ["ready", "unavailable"] })
  return await new Promise(resolve => {
    const check = () => {
      if (!handle.isReady()) return
      const doc = docToJSON(handle.doc())
      if (deepEqual(getAtPath(doc, path), want)) {
        clearInterval(timer)
        handle.off("change", check)
        resolve({ doc })
      }
    }
    const timer = setInterval(check, 50)
    handle.on("change", check)
    check()
  })
}

async function cmdNewUrl() {
  const url = generateAutomergeUrl()
  return { url, documentId: parseAutomergeUrl(url).documentId }
}

// ---------------------------------------------------------------- main

async function main() {
  let o
  try {
    o = parseArgs(process.argv.slice(2))
  } catch (e) {
    finish(EXIT_USAGE, undefined, `${e.message}\n${USAGE}`)
    return
  }
  const commands = {
    create: cmdCreate,
    read: cmdRead,
    edit: cmdEdit,
    "wait-for": cmdWaitFor,
    "new-url": cmdNewUrl,
  }
  const fn = commands[o.cmd]
  if (!fn) {
    finish(EXIT_USAGE, undefined, `unknown command ${o.cmd ?? "(none)"}\n${USAGE}`)
    return
  }
  const timer = setTimeout(() => {
    shutdownAll()
    finish(EXIT_TIMEOUT, undefined, `timeout after ${o.timeout} ms (${o.cmd}: ${stage})`)
  }, o.timeout)
  try {
    const out = await fn(o)
    clearTimeout(timer)
    shutdownAll()
    finish(0, out)
  } catch (e) {
    clearTimeout(timer)
    shutdownAll()
    if (e instanceof UsageError) finish(EXIT_USAGE, undefined, `${e.message}\n${USAGE}`)
    else if (e instanceof UnavailableError) finish(EXIT_UNAVAILABLE, { unavailable: true }, e.message)
    else finish(EXIT_ERROR, undefined, (o.trace ? e?.stack : e?.message) ?? String(e))
  }
}

main()
