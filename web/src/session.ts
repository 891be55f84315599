// The browser's side of a workspace: its automerge-repo Repo, which workspace it is, who this
// person is in it, and the relay session.
//
// The Repo keeps documents in IndexedDB, talks to the relay over one websocket on the same origin
// and to other tabs over a BroadcastChannel. The relay's access token never travels in a URL:
// joining exchanges an invite code for a token, which the relay adds to an HttpOnly cookie
// (`POST /v1/session`), and the websocket upgrade carries that cookie. The cookie holds a token
// for every workspace this browser joined on the relay, so the one websocket syncs them all, each
// with its own token's access (docs/protocol.md, section 9.6).

import {
  Repo,
  type DocHandle,
  type AutomergeUrl,
  type DocumentId,
  encodeHeads,
  initializeWasm,
  isValidAutomergeUrl,
} from "@automerge/automerge-repo/slim";
import wasmUrl from "@automerge/automerge/automerge.wasm?url";
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { BroadcastChannelNetworkAdapter } from "@automerge/automerge-repo-network-broadcastchannel";
import { next as A } from "@automerge/automerge/slim";
import { acceptedHeads, newPrivateDoc, type Edit, type Stored, recordDevice, type Writer } from "./model";

/**
 * automerge's WebAssembly, fetched and compiled from the moment the app starts. The first screen
 * renders without it (the plan kept from the last visit needs none); nothing touches a document
 * before it is ready.
 */
export const automergeReady: Promise<void> = initializeWasm(wasmUrl).then(() => undefined);

/** What this browser remembers about a workspace it has joined, in localStorage. */
export interface Membership {
  workspace: DocumentId;
  /** "read" or "write", as the relay's token grants. */
  access: "read" | "write";
  /** The participant id this browser is in the workspace, once known. */
  me?: string;
  /** The private notes document, created with the first private note. */
  privateDoc?: AutomergeUrl;
}

const KEY = "tandem.memberships";
const LAST = "tandem.last";

export function memberships(): Membership[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

export function membership(workspace: string): Membership | undefined {
  return memberships().find((m) => m.workspace === workspace);
}

export function remember(m: Membership): void {
  const rest = memberships().filter((x) => x.workspace !== m.workspace);
  localStorage.setItem(KEY, JSON.stringify([...rest, m]));
  localStorage.setItem(LAST, m.workspace);
}

export function lastWorkspace(): string | undefined {
  return localStorage.getItem(LAST) ?? memberships()[0]?.workspace;
}

export type SyncState = "connecting" | "online" | "offline" | "denied";

/** The one Repo of this tab, and the relay connection's state as people see it. */
export class Session {
  repo: Repo;
  /** Document ids never shared with any peer: the private notes. */
  private privateIds = new Set<string>();
  private ws: WebSocketClientAdapter;
  state: SyncState = "connecting";
  private listeners = new Set<() => void>();

  constructor() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocketClientAdapter(`${scheme}//${location.host}/`);
    for (const m of memberships()) if (m.privateDoc) this.privateIds.add(m.privateDoc.replace("automerge:", ""));
    const isPrivate = async (_peer: unknown, doc?: DocumentId) => doc === undefined || !this.privateIds.has(doc);
    this.repo = new Repo({
      storage: new IndexedDBStorageAdapter("tandem"),
      network: [this.ws, new BroadcastChannelNetworkAdapter()],
      // Private notes are never announced nor given to anyone, not even another tab.
      shareConfig: { announce: isPrivate, access: isPrivate },
    });
    // How long automerge took to load a document from IndexedDB, for the benchmark (web/e2e/bench.mjs).
    this.repo.on("doc-metrics", (e) => {
      if (e.type === "doc-loaded") performance.mark("tandem:document-loaded", { detail: e.durationMillis });
    });
    this.ws.on("peer-candidate", () => this.set("online"));
    this.ws.on("peer-disconnected", () => this.set(navigator.onLine ? "connecting" : "offline"));
    // When the browser says the network went away, close the socket ourselves, and open a new
    // one when it is back: a socket that outlived a network change may be silently dead, and a
    // new connection starts a fresh sync that exchanges whatever either side missed.
    addEventListener("offline", () => {
      if (this.ws.socket) this.ws.disconnect();
      this.set("offline");
    });
    addEventListener("online", () => {
      this.set("connecting");
      if (this.ws.peerId) {
        if (this.ws.socket) this.ws.disconnect();
        this.ws.connect(this.ws.peerId, this.ws.peerMetadata);
      }
    });
    if (!navigator.onLine) this.state = "offline";
    // automerge-repo writes to IndexedDB 100 ms after a change; when the page is hidden or
    // closed, write at once, so that the last edits before closing a tab are kept.
    const flush = () => void this.repo.flush().catch(() => undefined);
    addEventListener("pagehide", flush);
    document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flush());
  }

  /**
   * Open a new websocket, which carries the cookie as it is now: after joining one more
   * workspace, so that the connection covers it too.
   */
  reconnect(): void {
    if (!this.ws.peerId) return;
    if (this.ws.socket) this.ws.disconnect();
    this.ws.connect(this.ws.peerId, this.ws.peerMetadata);
  }

  /** The relay refused this browser's session: say so until a new invite is used. */
  deny(): void {
    this.set("denied");
  }

  private set(s: SyncState): void {
    if (this.state === s) return;
    this.state = s;
    for (const l of this.listeners) l();
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Open the workspace, from IndexedDB when it is there, else from the relay. */
  async workspace(id: string): Promise<DocHandle<Stored>> {
    const url = (isValidAutomergeUrl(id) ? id : `automerge:${id}`) as AutomergeUrl;
    return this.repo.find<Stored>(url);
  }

  /** This workspace's private notes, created (locally only) the first time they are needed. */
  async privateNotes(m: Membership, create: boolean): Promise<DocHandle<Stored> | undefined> {
    if (m.privateDoc) return this.repo.find<Stored>(m.privateDoc);
    if (!create) return undefined;
    // The id must be known as private before the document exists, so it is never announced.
    const handle = this.repo.create<Stored>();
    this.privateIds.add(handle.documentId);
    handle.change((d: Stored) => Object.assign(d, newPrivateDoc()), { message: "created private notes" });
    remember({ ...m, privateDoc: handle.url });
    return handle;
  }
}

/** What the app shows of a document, per handle, computed once per version of the document. */
const screenedViews = new WeakMap<DocHandle<Stored>, { heads: string; accepted?: string[]; view: Stored }>();

function screening(handle: DocHandle<Stored>): { accepted?: string[]; view: Stored } {
  const doc = handle.doc();
  const heads = A.getHeads(doc).join();
  const known = screenedViews.get(handle);
  if (known?.heads === heads) return known;
  const accepted = acceptedHeads(doc);
  const view = accepted ? A.view(doc, accepted) : doc;
  const entry = { heads, accepted, view };
  screenedViews.set(handle, entry);
  return entry;
}

/**
 * The document as the app shows it: without the changes a removed participant's devices made
 * after their removal (see `acceptedHeads`). Nearly always the document itself.
 */
export function shown(handle: DocHandle<Stored>): Stored {
  return screening(handle).view;
}

/** Apply one edit as one automerge change, with its message and the writer's device recorded. */
export function commit(handle: DocHandle<Stored>, w: Writer, edit: Edit): void {
  const before = handle.doc();
  let shown = false;
  const onChange = () => (shown = true);
  handle.on("change", onChange);
  const change = (d: Stored) => {
    recordDevice(d, w);
    edit.apply(d);
  };
  const options = { message: edit.message, time: Math.floor(Date.now() / 1000) };
  // When the document holds refused changes, the edit is made on what the person sees, so it
  // never builds on them (which would keep them, for everyone).
  const { accepted } = screening(handle);
  if (accepted) handle.changeAt(encodeHeads(accepted), change, options);
  else handle.change(change, options);
  handle.off("change", onChange);
  // automerge-repo 2.5.6 sends a change to peers only on a "change" event, which it emits only
  // when the change alters what the document shows. Settling a conflict in favour of the value
  // already shown alters nothing visible, yet the other side must receive it, or the conflict
  // stays on every other device: announce such a change ourselves.
  const after = handle.doc();
  if (!shown && A.getHeads(before).join() !== A.getHeads(after).join()) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (handle as any).emit("change", { handle, doc: after, patches: [], patchInfo: { before, after, source: "change" } });
  }
}

/** This tab's automerge actor for a document, as hex. */
export function actorOf(handle: DocHandle<Stored>): string {
  return A.getActorId(handle.doc());
}

// ----- the relay's HTTP routes -----

export interface Redeemed {
  token: string;
  workspace: DocumentId;
  role: string;
  participant: string | null;
}

export class JoinError extends Error {}

async function errorBody(r: Response): Promise<{ error?: string; code?: string }> {
  try {
    const body = await r.json();
    return typeof body === "object" && body !== null ? body : {};
  } catch {
    return {};
  }
}

async function errorOf(r: Response): Promise<string> {
  const body = await errorBody(r);
  return typeof body.error === "string" ? body.error : `the relay answered ${r.status} ${r.statusText}`;
}

/** What people read for a code the relay does not take: unknown, used, expired or revoked alike. */
const INVALID_CODE = "this invite code is not valid or has expired";

/** Exchange an invite code for a token (the relay's `POST /v1/invites/redeem`). */
export async function redeem(code: string): Promise<Redeemed> {
  let r: Response;
  try {
    r = await fetch("/v1/invites/redeem", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code }),
      credentials: "same-origin",
    });
  } catch {
    throw new JoinError("cannot reach the relay; check your connection and try again");
  }
  // A relay that does not know invites at all answers 404 too; to the person it is the same.
  if (r.status === 404) {
    const body = await errorBody(r);
    throw new JoinError(body.code === "invite_invalid" && body.error ? body.error : INVALID_CODE);
  }
  if (r.status === 429) throw new JoinError("too many attempts; wait a minute and try again");
  if (!r.ok) throw new JoinError(await errorOf(r));
  return (await r.json()) as Redeemed;
}

/** What one token of the session grants; `workspaces: null` means every workspace. */
export interface TokenInfo {
  id?: string;
  access: "read" | "write" | "program";
  workspaces: string[] | null;
}

/**
 * What the relay's cookie grants: at the top level all its tokens together (or, answering
 * `POST`, the token just added), and under `tokens` each on its own.
 */
export interface SessionInfo extends TokenInfo {
  open: boolean;
  /** Absent from relays older than sessions of several tokens. */
  tokens?: TokenInfo[];
}

/**
 * What the session grants in one workspace: "write" if one of its tokens writes it, "read" if
 * one only reads it, "none" when no token covers it (its token was revoked, say).
 */
export function accessTo(info: SessionInfo, workspace: string): "read" | "write" | "none" {
  if (info.open) return "write";
  const tokens = info.tokens ?? [info];
  const covering = tokens.filter((t) => t.access !== "program" && (t.workspaces === null || t.workspaces.includes(workspace)));
  if (covering.some((t) => t.access === "write")) return "write";
  return covering.length ? "read" : "none";
}

/** Keep the token as an HttpOnly cookie for the websocket (`POST /v1/session`). */
export async function startSession(token: string): Promise<SessionInfo> {
  const r = await fetch("/v1/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
    credentials: "same-origin",
  });
  if (!r.ok) throw new JoinError(await errorOf(r));
  return (await r.json()) as SessionInfo;
}

/** Forget one token of the session by its public id (the program's, when signing out of it). */
export async function leaveSession(id: string): Promise<void> {
  await fetch(`/v1/session/${encodeURIComponent(id)}`, { method: "DELETE", credentials: "same-origin" });
}

/** What the relay's cookie grants; "denied" when the relay refuses it; null with no network. */
export async function currentSession(): Promise<SessionInfo | "denied" | null> {
  try {
    const r = await fetch("/v1/session", { credentials: "same-origin" });
    if (r.status === 401) return "denied";
    return r.ok ? ((await r.json()) as SessionInfo) : null;
  } catch {
    return null;
  }
}
