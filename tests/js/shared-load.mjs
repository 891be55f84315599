#!/usr/bin/env node
// A shared-document load driven by official automerge-repo 2.5.6 clients: several people
// (a mentor and mentees, a group) edit one document through a sync server, and we measure what
// it costs the server and how fast each edit reaches the others. scripts/bench-relay.sh runs it
// against tandem-server and the reference Node server in one run.
//
// Usage: node shared-load.mjs --server ws://127.0.0.1:PORT [--server-pid PID] [--clients N]
//          [--edits E] [--interval MS] [--drain MS] [--clk-tck HZ]
//
// Every client is a Repo with a websocket client adapter and no storage, all in this process
// (so they share one clock). Client 0 creates the document and waits until the server
// acknowledges it; the others find it. Then each client makes E edits, one every MS
// milliseconds, the clients' schedules spread evenly over the interval. Edit n of client i sets
// `c<i>` to n. Each client notes, on every change of its copy, which edits of the others it now
// sees; an edit counts as delivered to a client when it first shows there, with the latency
// from the edit. After the last edit the script waits (at most --drain ms) until every edit has
// reached every other client.
//
// Prints one JSON line: frames in each direction during the edits (counted at the clients, one
// protocol message per websocket frame), deliveries expected and seen, frames per delivered
// edit, latency percentiles (ms), delivered edits per second, and the server's CPU (from
// /proc/PID/stat) over the same window. Binds nothing; connects only where --server says.
//
// It also splits each latency in two, by decoding every frame a client sends: the client's own
// hold (from the edit until the first frame carrying its change leaves that client; automerge-
// repo sends a document's changes at most once per syncDebounceRate, 100 ms, and any change,
// a peer's included, starts that clock) and the rest (from that frame to the other client
// seeing the edit: the server and the receiving client). No server can shorten the first part.

import * as A from "@automerge/automerge"
import { Repo } from "@automerge/automerge-repo"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import fs from "node:fs"
import { performance } from "node:perf_hooks"

function usage(msg) {
  if (msg) process.stderr.write(`shared-load: ${msg}\n`)
  process.stderr.write(
    "usage: node shared-load.mjs --server URL [--server-pid PID] [--clients N] [--edits E] [--interval MS] [--drain MS] [--clk-tck HZ]\n",
  )
  process.exit(64)
}

const opts = { server: "", pid: 0, clients: 5, edits: 20, interval: 100, drain: 15000, clkTck: 100 }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  const next = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`)
    return argv[++i]
  }
  const num = () => {
    const n = Number(next())
    if (!Number.isFinite(n) || n < 0) usage(`bad ${a}`)
    return n
  }
  switch (a) {
    case "--server": opts.server = next(); break
    case "--server-pid": opts.pid = num(); break
    case "--clients": opts.clients = num(); break
    case "--edits": opts.edits = num(); break
    case "--interval": opts.interval = num(); break
    case "--drain": opts.drain = num(); break
    case "--clk-tck": opts.clkTck = num(); break
    default: usage(`unknown argument ${a}`)
  }
}
if (!opts.server) usage("--server is required")
if (opts.clients < 2) usage("--clients must be at least 2")

const sleep = ms => new Promise(r => setTimeout(r, ms))
const frames = { toServer: 0, fromServer: 0 }
let counting = false
// Each edit's change hash, mapped to [client, edit], and when its change first left the client.
const editByHash = new Map()
const leftAt = new Map()

/**
 * Note the edits that leave in this outgoing sync message: the first message with changes whose
 * heads name the edit. (The changes of a version 2 message are one compressed bundle, so the
 * edit is found by the sender's heads; a client's first message with changes after its edit is
 * the one that carries it, since the server cannot have it yet.)
 */
function noteDepartures(message) {
  if (message?.type !== "sync" || !(message.data instanceof Uint8Array)) return
  const now = performance.now()
  let decoded
  try {
    decoded = A.decodeSyncMessage(message.data)
  } catch {
    return
  }
  if (decoded.changes.length === 0) return
  for (const hash of decoded.heads) {
    if (editByHash.has(hash) && !leftAt.has(hash)) leftAt.set(hash, now)
  }
}

function makeRepo(label) {
  const adapter = new BrowserWebSocketClientAdapter(opts.server)
  const send = adapter.send.bind(adapter)
  adapter.send = message => {
    if (counting) {
      frames.toServer++
      noteDepartures(message)
    }
    return send(message)
  }
  const receive = adapter.receiveMessage.bind(adapter)
  adapter.receiveMessage = bytes => {
    if (counting) frames.fromServer++
    return receive(bytes)
  }
  const repo = new Repo({ network: [adapter], peerId: `${label}-${process.pid}` })
  repo.adapter = adapter
  return repo
}

async function connected(repo) {
  if (repo.peers.length === 0) {
    await new Promise(resolve => repo.networkSubsystem.once("peer", resolve))
  }
  return repo
}

/** Resolve once the server's sync state says it holds `heads` of the document. */
function serverHas(repo, documentId, heads) {
  return new Promise(resolve => {
    const check = ({ syncState, documentId: id }) => {
      if (id === documentId && heads.every(h => syncState?.theirHeads?.includes(h))) {
        repo.synchronizer.off("sync-state", check)
        resolve()
      }
    }
    repo.synchronizer.on("sync-state", check)
  })
}

function cpuTicks(pid) {
  if (!pid) return null
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return null
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return sorted[Math.max(0, i)]
}

async function main() {
  const n = opts.clients
  const repos = []
  for (let i = 0; i < n; i++) repos.push(await connected(makeRepo(`c${i}`)))
  const first = repos[0].create({ title: "group mentoring plan" })
  await serverHas(repos[0], first.documentId, A.getHeads(first.doc()))
  const handles = [first]
  for (let i = 1; i < n; i++) handles.push(await repos[i].find(first.url))

  const sentAt = Array.from({ length: n }, () => new Array(opts.edits + 1))
  const seen = Array.from({ length: n }, () => new Array(n).fill(0))
  const latencies = []
  // The same deliveries, from the moment the edit's change left its client.
  const afterLeaving = []
  const hashOf = Array.from({ length: n }, () => new Array(opts.edits + 1))
  let deliveries = 0
  const expected = n * (n - 1) * opts.edits
  let allDelivered
  const done = new Promise(resolve => (allDelivered = resolve))
  handles.forEach((handle, j) => {
    handle.on("change", ({ doc }) => {
      const now = performance.now()
      for (let i = 0; i < n; i++) {
        if (i === j) continue
        const v = doc[`c${i}`] ?? 0
        while (seen[j][i] < v) {
          seen[j][i]++
          const t = sentAt[i][seen[j][i]]
          if (t !== undefined) latencies.push(now - t)
          const left = leftAt.get(hashOf[i][seen[j][i]])
          if (left !== undefined) afterLeaving.push(now - left)
          deliveries++
        }
      }
      if (deliveries >= expected) allDelivered()
    })
  })

  await sleep(500)
  counting = true
  const cpuStart = cpuTicks(opts.pid)
  const started = performance.now()
  const editors = handles.map(async (handle, i) => {
    await sleep((i * opts.interval) / n)
    for (let e = 1; e <= opts.edits; e++) {
      sentAt[i][e] = performance.now()
      handle.change(d => {
        d[`c${i}`] = e
      })
      const hash = A.decodeChange(A.getLastLocalChange(handle.doc())).hash
      hashOf[i][e] = hash
      editByHash.set(hash, [i, e])
      if (e < opts.edits) await sleep(opts.interval)
    }
  })
  await Promise.all(editors)
  const editsDone = performance.now()
  await Promise.race([done, sleep(opts.drain)])
  const ended = performance.now()
  const cpuEnd = cpuTicks(opts.pid)
  counting = false

  latencies.sort((a, b) => a - b)
  afterLeaving.sort((a, b) => a - b)
  const holds = [...editByHash.keys()]
    .map(hash => leftAt.get(hash) - sentAt[editByHash.get(hash)[0]][editByHash.get(hash)[1]])
    .filter(v => !Number.isNaN(v))
    .sort((a, b) => a - b)
  const seconds = (ended - started) / 1000
  const cpuMs = cpuStart === null || cpuEnd === null ? null : ((cpuEnd - cpuStart) * 1000) / opts.clkTck
  const round = (v, d = 2) => (v === null ? null : Number(v.toFixed(d)))
  const report = {
    clients: n,
    edits_per_client: opts.edits,
    interval_ms: opts.interval,
    frames_to_server: frames.toServer,
    frames_from_server: frames.fromServer,
    deliveries_expected: expected,
    deliveries,
    frames_per_delivery: deliveries ? round((frames.toServer + frames.fromServer) / deliveries) : null,
    latency_ms: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? null),
    },
    // The clients' own share: edit → its change leaves the editing client.
    client_hold_ms: {
      p50: round(percentile(holds, 50)),
      p99: round(percentile(holds, 99)),
      max: round(holds.at(-1) ?? null),
    },
    // The rest: the change leaves its client → another client sees the edit.
    after_leaving_ms: {
      p50: round(percentile(afterLeaving, 50)),
      p99: round(percentile(afterLeaving, 99)),
      max: round(afterLeaving.at(-1) ?? null),
    },
    edit_phase_s: round((editsDone - started) / 1000, 3),
    window_s: round(seconds, 3),
    delivered_per_sec: round(deliveries / seconds, 1),
    server_cpu_ms: round(cpuMs, 0),
    server_cpu_pct: cpuMs === null ? null : round(cpuMs / 10 / seconds, 1),
    server_cpu_us_per_delivery: cpuMs === null || !deliveries ? null : round((cpuMs * 1000) / deliveries, 0),
  }
  process.stdout.write(JSON.stringify(report) + "\n")
  for (const r of repos) r.adapter.disconnect()
  process.exit(deliveries >= expected ? 0 : 3)
}

const deadline = setTimeout(() => {
  process.stderr.write("shared-load: timed out\n")
  process.exit(2)
}, 120000)
deadline.unref()
main().catch(e => {
  process.stderr.write(`shared-load: ${e?.stack ?? e}\n`)
  process.exit(1)
})
