#!/usr/bin/env node
// Reference automerge-repo sync server, built the way automerge-repo's own
// example sync server (automerge-repo-sync-server) builds it: an HTTP server,
// a `ws` WebSocketServer in noServer mode fed from the HTTP "upgrade" event,
// and a Repo with NodeWSServerAdapter + NodeFSStorageAdapter and
// `sharePolicy: async () => false` (never announce docs; only answer peers
// that ask).
//
// Usage: node sync-server.mjs [--port N] [--data DIR] [--peer-id ID] [--trace]
//   --port 0 (the default) picks a free port. Binds 127.0.0.1 only.
//   Prints exactly one line "listening on 127.0.0.1:PORT" on stdout once ready.
//   --trace logs every decoded protocol message to stderr.
//   SIGINT/SIGTERM: closes sockets, flushes docs to disk, exits 0.
//
// Any query string on the websocket URL (e.g. ?token=T) is accepted and ignored.

import http from "node:http"
import os from "node:os"
import fs from "node:fs"
import { WebSocketServer } from "ws"
import { Repo, cbor } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

function usage(msg) {
  if (msg) process.stderr.write(`sync-server: ${msg}\n`)
  process.stderr.write(
    "usage: node sync-server.mjs [--port N] [--data DIR] [--peer-id ID] [--trace]\n",
  )
  process.exit(64)
}

const opts = { port: 0, data: ".amrg", peerId: undefined, trace: false }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  const next = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`)
    return argv[++i]
  }
  switch (a) {
    case "--port": {
      const p = Number(next())
      if (!Number.isInteger(p) || p < 0 || p > 65535) usage("bad --port")
      opts.port = p
      break
    }
    case "--data":
      opts.data = next()
      break
    case "--peer-id":
      opts.peerId = next()
      break
    case "--trace":
      opts.trace = true
      break
    case "-h":
    case "--help":
      usage()
      break
    default:
      usage(`unknown argument ${a}`)
  }
}

fs.mkdirSync(opts.data, { recursive: true })

const wss = new WebSocketServer({ noServer: true })
const adapter = new NodeWSServerAdapter(wss)

if (opts.trace) {
  // Log decoded frames in both directions (stderr, one line each).
  const fmt = m =>
    JSON.stringify(m, (k, v) =>
      v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v === undefined ? "<undefined>" : v,
    )
  const origSend = adapter.send.bind(adapter)
  adapter.send = message => {
    process.stderr.write(`[trace] S->${message.targetId} ${fmt(message)}\n`)
    return origSend(message)
  }
  const origReceive = adapter.receiveMessage.bind(adapter)
  adapter.receiveMessage = (messageBytes, socket) => {
    try {
      process.stderr.write(`[trace] S<- ${fmt(cbor.decode(new Uint8Array(messageBytes)))}\n`)
    } catch (e) {
      process.stderr.write(`[trace] S<- undecodable frame (${messageBytes.length} bytes): ${e}\n`)
    }
    return origReceive(messageBytes, socket)
  }
}

const repo = new Repo({
  network: [adapter],
  storage: new NodeFSStorageAdapter(opts.data),
  peerId: opts.peerId ?? `storage-server-${os.hostname()}`,
  sharePolicy: async () => false,
})

const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain" })
  res.end("tandem reference automerge-repo sync server is running\n")
})

server.on("upgrade", (request, socket, head) => {
  if (opts.trace) process.stderr.write(`[trace] upgrade ${request.url}\n`)
  wss.handleUpgrade(request, socket, head, ws => {
    wss.emit("connection", ws, request)
  })
})

server.on("error", err => {
  process.stderr.write(`sync-server: ${err.message}\n`)
  process.exit(1)
})

server.listen(opts.port, "127.0.0.1", () => {
  const { port } = server.address()
  process.stdout.write(`listening on 127.0.0.1:${port}\n`)
})

let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  // Force exit if a clean shutdown hangs.
  setTimeout(() => process.exit(0), 3000).unref()
  try {
    // Terminates every client socket (NodeWSServerAdapter.disconnect).
    adapter.disconnect()
    wss.close()
    server.close()
    // Persist every doc we hold (the Repo's own save is debounced 100 ms).
    const ready = Object.values(repo.handles)
      .filter(h => h.isReady())
      .map(h => h.documentId)
    await repo.flush(ready)
  } catch (e) {
    process.stderr.write(`sync-server: error during ${signal} shutdown: ${e}\n`)
  }
  process.exit(0)
}
process.on("SIGINT", () => void stop("SIGINT"))
process.on("SIGTERM", () => void stop("SIGTERM"))
