// The workspace document, as docs/model.md describes it and core/src/model/ implements it.
//
// This is the one module of the web app that knows how the plan is stored. Everything else reads
// the plain view structs below and writes through the functions at the end, so that what a
// browser writes is what the `tandem` CLI writes and can validate, and the other way round.
//
// Two kinds of strings (docs/model.md sections 6 and 13):
// - prose that people write together (goal descriptions, note bodies, check-in agendas and
//   notes, rating comments, resource notes) is automerge Text, edited with `updateText` so that
//   concurrent edits merge character by character;
// - values that people replace as a whole (titles, names, owners, URLs, meeting links, statuses,
//   dates, ids) are written as scalar strings, so two concurrent rewrites show as a conflict.
// Readers accept either form in every string field, since other clients may write the other.

import { next as A } from "@automerge/automerge/slim";

/** The model version this app writes and understands. */
export const SCHEMA = 1;
export const WORKSPACE_KIND = "tandem-workspace";
export const PRIVATE_KIND = "tandem-private";
/** The largest prose field the app writes, in bytes of UTF-8; longer text belongs in a resource. */
export const PROSE_LIMIT = 256 * 1024;

export const GOAL_STATUSES = ["open", "active", "done", "dropped"] as const;
export const ROLES = ["mentor", "mentee", "observer"] as const;

export type Collection = "goals" | "notes" | "checkins" | "actions" | "resources";

/** The stored document, loosely typed: other clients may write anything, so readers check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Stored = any;
export type WorkspaceDoc = Stored;

// ----- reading -----

/** A string field written as Text or as a scalar string; anything else is absent. */
export function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (A.isImmutableString(v)) return (v as A.ImmutableString).val;
  return undefined;
}

/** A boolean is true only when it is the boolean `true`. */
export function bool(v: unknown): boolean {
  return v === true;
}

/** An integer from a signed or unsigned integer, or a float with no fraction. */
export function int(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

function map(v: unknown): Record<string, Stored> {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, Stored>) : {};
}

export interface Header {
  id: string;
  createdBy?: string;
  createdAt?: string;
  archived: boolean;
}

export interface Participant {
  id: string;
  name: string;
  role: string;
  createdAt?: string;
  devices: string[];
}

export interface Milestone extends Header {
  title: string;
  due?: string;
  done: boolean;
  /** When it was marked done; absent for milestones done by an older client. */
  doneAt?: string;
}

export interface Goal extends Header {
  title: string;
  description: string;
  status: string;
  owner?: string;
  due?: string;
  /** When it was marked done; absent while it is not, and for goals done by an older client. */
  doneAt?: string;
  milestones: Milestone[];
}

export interface Note extends Header {
  title: string;
  body: string;
  goal?: string;
  tags: string[];
}

export interface Rating {
  participant: string;
  rating?: number;
  comment?: string;
  at?: string;
}

export interface CheckIn extends Header {
  at?: string;
  agenda: string;
  notes: string;
  meetingLink?: string;
  ratings: Rating[];
}

export interface Action extends Header {
  title: string;
  owner?: string;
  due?: string;
  done: boolean;
  doneAt?: string;
  goal?: string;
  checkin?: string;
}

export interface Resource extends Header {
  title: string;
  url: string;
  note: string;
  goal?: string;
}

function header(id: string, v: Stored): Header {
  return { id, createdBy: str(v.created_by), createdAt: str(v.created_at), archived: bool(v.archived) };
}

/** Oldest first, by `created_at` then id (docs/model.md section 3). */
function byCreation(a: Header, b: Header): number {
  return (a.createdAt ?? "").localeCompare(b.createdAt ?? "") || a.id.localeCompare(b.id);
}

/**
 * The items of one collection (goals, notes, check-ins, …) in the stored order: each with its
 * header, then what `read` takes from its fields.
 */
function readItems<T>(collection: Stored, read: (fields: Stored) => T): (Header & T)[] {
  return Object.entries(map(collection)).map(([id, raw]) => {
    const fields = map(raw);
    return { ...header(id, fields), ...read(fields) };
  });
}

export function readMilestones(v: Stored): Milestone[] {
  const out = readItems(v, (m) => ({
    title: str(m.title) ?? "",
    due: str(m.due),
    done: bool(m.done),
    doneAt: str(m.done_at),
  }));
  // By due date (those without one last), then creation.
  return out.sort(
    (a, b) =>
      (a.due === undefined ? 1 : 0) - (b.due === undefined ? 1 : 0) ||
      (a.due ?? "").localeCompare(b.due ?? "") ||
      byCreation(a, b),
  );
}

export function readGoals(doc: WorkspaceDoc): Goal[] {
  return readItems(doc?.goals, (g) => ({
    title: str(g.title) ?? "",
    description: str(g.description) ?? "",
    status: str(g.status) ?? "open",
    owner: str(g.owner),
    due: str(g.due),
    doneAt: str(g.done_at),
    milestones: readMilestones(g.milestones),
  })).sort(byCreation);
}

export function readNotes(doc: Stored): Note[] {
  return readItems(doc?.notes, (n) => ({
    title: str(n.title) ?? "",
    body: str(n.body) ?? "",
    goal: str(n.goal),
    tags: Object.entries(map(n.tags))
      .filter(([, on]) => on === true)
      .map(([t]) => t)
      .sort(),
  })).sort(byCreation);
}

export function readCheckIns(doc: WorkspaceDoc): CheckIn[] {
  return readItems(doc?.checkins, (c) => ({
    at: str(c.at),
    agenda: str(c.agenda) ?? "",
    notes: str(c.notes) ?? "",
    meetingLink: str(c.meeting_link),
    ratings: Object.entries(map(c.ratings)).map(([participant, r]) => ({
      participant,
      rating: int(map(r).rating),
      comment: str(map(r).comment),
      at: str(map(r).at),
    })),
  })).sort((a, b) => (a.at ?? "").localeCompare(b.at ?? "") || a.id.localeCompare(b.id));
}

export function readActions(doc: WorkspaceDoc): Action[] {
  return readItems(doc?.actions, (a) => ({
    title: str(a.title) ?? "",
    owner: str(a.owner),
    due: str(a.due),
    done: bool(a.done),
    doneAt: str(a.done_at),
    goal: str(a.goal),
    checkin: str(a.checkin),
  })).sort(byCreation);
}

export function readResources(doc: WorkspaceDoc): Resource[] {
  return readItems(doc?.resources, (r) => ({
    title: str(r.title) ?? "",
    url: str(r.url) ?? "",
    note: str(r.note) ?? "",
    goal: str(r.goal),
  })).sort(byCreation);
}

export function readParticipants(doc: WorkspaceDoc): Participant[] {
  return Object.entries(map(doc?.participants))
    .map(([id, raw]) => {
      const p = map(raw);
      return {
        id,
        name: str(p.name) ?? id,
        role: str(p.role) ?? "",
        createdAt: str(p.created_at),
        devices: Object.keys(map(p.devices)),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function workspaceTitle(doc: WorkspaceDoc): string {
  return str(doc?.title) ?? "";
}

/**
 * Why a document cannot be opened as a workspace, or null when it can (docs/model.md section 9):
 * the kind must be right and the schema readable and not newer than this app's.
 */
export function openProblem(doc: Stored, kind: string = WORKSPACE_KIND): string | null {
  const k = str(doc?.kind);
  if (k !== kind) return k ? `this document is a “${k}”, not a tandem workspace` : "this document is not a tandem workspace";
  const schema = int(doc?.schema);
  if (schema === undefined || schema < 0) return "this document has no schema version";
  if (schema > SCHEMA)
    return `this workspace uses schema version ${schema}, but this app understands up to ${SCHEMA}; reload to update the app`;
  return null;
}

/** A goal's progress: done milestones over milestones that are not archived. */
export function progress(goal: Goal): { done: number; total: number } {
  const live = goal.milestones.filter((m) => !m.archived);
  return { done: live.filter((m) => m.done).length, total: live.length };
}

/** Whether an action item is overdue: not done and due before today in the reader's zone. */
export function overdue(action: Action, today: string = localDate()): boolean {
  return !action.done && !action.archived && action.due !== undefined && action.due < today;
}

/** Who someone is, by name, when the stored value is a participant id; else the text as stored. */
export function personName(people: Participant[], value: string | undefined): string {
  if (value === undefined) return "";
  return people.find((p) => p.id === value)?.name ?? value;
}

/** The participant whose devices hold this automerge actor, if any. */
export function authorOf(people: Participant[], actor: string): Participant | undefined {
  return people.find((p) => p.devices.includes(actor));
}

// ----- changes a removed participant made after the removal (docs/model.md section 4) -----

/**
 * The heads of everything in `doc` but the changes tandem refuses, or `undefined` when nothing is
 * refused — the same rule as core/src/model/removal.rs. A mentor's removal records the heads they
 * saw (`removed_seen`); a change by one of the removed person's devices that those heads do not
 * contain is refused, unless someone still taking part built on it. Refused changes stay in the
 * document (peers must converge); the app shows the document at these heads and writes there.
 */
export function acceptedHeads(doc: WorkspaceDoc): string[] | undefined {
  const people = doc?.participants;
  if (!people || typeof people !== "object") return undefined;
  const devices = new Set<string>();
  const floor: string[] = [];
  for (const entry of Object.values(people) as Stored[]) {
    if (!entry || typeof entry !== "object" || str(entry.removed_at) === undefined) continue;
    const seen = str(entry.removed_seen)?.split(/\s+/).filter(Boolean);
    // A removal written before `removed_seen` existed refuses nothing.
    if (!seen || seen.some((h) => !/^[0-9a-f]{64}$/.test(h))) continue;
    for (const d of Object.keys(entry.devices ?? {})) devices.add(d);
    floor.push(...seen);
  }
  if (devices.size === 0) return undefined;
  let after: A.ChangeMetadata[];
  try {
    after = A.getChangesMetaSince(doc, floor);
  } catch {
    // Heads this copy does not have yet: nothing can be judged until they arrive.
    return undefined;
  }
  // Walking back from the newest: kept when someone still taking part made it, or a kept change
  // builds on it.
  const kept = new Set<string>();
  for (let i = after.length - 1; i >= 0; i--) {
    const c = after[i];
    if (kept.has(c.hash) || !devices.has(c.actor)) {
      kept.add(c.hash);
      for (const d of c.deps) kept.add(d);
    }
  }
  const refused = new Set(after.filter((c) => !kept.has(c.hash)).map((c) => c.hash));
  if (refused.size === 0) return undefined;
  const heads = new Set<string>(A.getHeads(doc));
  for (const c of after) if (refused.has(c.hash)) for (const d of c.deps) heads.add(d);
  for (const h of floor) heads.add(h);
  return [...heads].filter((h) => !refused.has(h)).sort();
}

// ----- time (docs/model.md section 10) -----

/** Now as the document stores instants: RFC 3339 in UTC, whole seconds, with `Z`. */
export function stamp(now: Date = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Today's calendar date in the reader's time zone, `YYYY-MM-DD`. */
export function localDate(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** Whether `s` is a real calendar date `YYYY-MM-DD`. */
export function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** A local date and time from a `datetime-local` input, as a stored instant in UTC. */
export function instantFromLocal(local: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local)) return undefined;
  const d = new Date(local); // A string without an offset is read in the person's own zone.
  return Number.isNaN(d.getTime()) ? undefined : stamp(d);
}

/** A stored instant as a `datetime-local` input value in the person's zone. */
export function localFromInstant(instant: string | undefined): string {
  if (!instant) return "";
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${localDate(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// ----- validation (docs/model.md section 12) -----

export class Invalid extends Error {}

function required(what: string, value: string): string {
  const t = value.trim();
  if (!t) throw new Invalid(`${what} must not be empty`);
  return t;
}

function optionalDate(value: string | undefined): string | undefined {
  const t = value?.trim();
  if (!t) return undefined;
  if (!isDate(t)) throw new Invalid(`“${t}” is not a real date (YYYY-MM-DD)`);
  return t;
}

function prose(what: string, value: string): string {
  if (new TextEncoder().encode(value).length > PROSE_LIMIT)
    throw new Invalid(`${what} is longer than ${PROSE_LIMIT / 1024} KiB; link to it as a resource instead`);
  return value;
}

/** An owner typed by a person: the id of the one participant it names, else the text as typed. */
export function resolveOwner(people: Participant[], typed: string | undefined): string | undefined {
  const t = typed?.trim();
  if (!t) return undefined;
  const matches = people.filter((p) => p.id === t || p.name.toLowerCase() === t.toLowerCase());
  return matches.length === 1 ? matches[0].id : t;
}

// ----- writing -----

/** Who is writing: the participant id this browser is, if it has joined as one. */
export interface Writer {
  me?: string;
  /** This tab's automerge actor, recorded as a device of `me` so history can name the author. */
  actor?: string;
}

export function newItemId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function short(id: string): string {
  return id.slice(0, 8);
}

function firstLine(s: string, max: number): string {
  const line = s.split("\n")[0];
  return [...line].length > max ? [...line].slice(0, max - 1).join("") + "…" : line;
}

/** A scalar string, as opposed to automerge Text. */
function scalar(s: string): A.ImmutableString {
  return new A.ImmutableString(s);
}

/** Set or clear an optional scalar: absent values are left out, never written empty. */
function putOptional(target: Stored, key: string, value: string | undefined): void {
  if (value === undefined) delete target[key];
  else target[key] = scalar(value);
}

/** Set a prose field as a minimal text diff, so concurrent edits elsewhere in it survive. */
export function setProse(doc: Stored, path: (string | number)[], value: string): void {
  let parent = doc;
  for (const p of path.slice(0, -1)) parent = parent[p];
  const key = path[path.length - 1];
  if (typeof parent[key] === "string") A.updateText(doc, path, value);
  else parent[key] = value; // A plain string becomes Text in automerge 3.
}

function itemHeader(w: Writer): Record<string, unknown> {
  const h: Record<string, unknown> = { created_at: scalar(stamp()), archived: false };
  if (w.me) h.created_by = scalar(w.me);
  return h;
}

/** Record this tab's actor as one of the writer's devices, if it is not yet (section 4). */
export function recordDevice(doc: Stored, w: Writer): void {
  if (!w.me || !w.actor) return;
  const p = doc.participants?.[w.me];
  if (!p) return;
  if (!p.devices) p.devices = {};
  if (p.devices[w.actor] === undefined) p.devices[w.actor] = scalar(stamp());
}

function ensure(doc: Stored, key: Collection): Stored {
  if (!doc[key] || typeof doc[key] !== "object") doc[key] = {};
  return doc[key];
}

/** A change to make: what it does to the document, and the message history shows for it. */
export interface Edit {
  message: string;
  apply: (doc: Stored) => void;
}

export interface NewGoal {
  title: string;
  description?: string;
  owner?: string;
  due?: string;
}

export function addGoal(people: Participant[], w: Writer, g: NewGoal): Edit & { id: string } {
  const id = newItemId();
  const title = required("title", g.title);
  const due = optionalDate(g.due);
  const owner = resolveOwner(people, g.owner);
  const description = prose("the description", g.description ?? "");
  return {
    id,
    message: `added goal ${short(id)} “${firstLine(title, 40)}”`,
    apply: (doc) => {
      const item: Record<string, unknown> = {
        ...itemHeader(w),
        title: scalar(title),
        description,
        status: scalar("open"),
        milestones: {},
      };
      if (due) item.due = scalar(due);
      if (owner) item.owner = scalar(owner);
      ensure(doc, "goals")[id] = item;
    },
  };
}

export interface GoalChanges {
  title?: string;
  status?: string;
  owner?: string;
  due?: string;
}

/** Change the given whole-value fields of a goal; only fields that differ are written. */
export function setGoal(people: Participant[], goal: Goal, c: GoalChanges): Edit {
  const parts: string[] = [];
  const writes: [string, string | undefined][] = [];
  if (c.title !== undefined && c.title.trim() !== goal.title) {
    writes.push(["title", required("title", c.title)]);
    parts.push(`title=“${firstLine(c.title.trim(), 40)}”`);
  }
  if (c.status !== undefined && c.status !== goal.status) {
    const s = c.status.trim().toLowerCase();
    if (!(GOAL_STATUSES as readonly string[]).includes(s))
      throw new Invalid(`status must be one of ${GOAL_STATUSES.join(", ")}`);
    writes.push(["status", s]);
    // A goal marked done records when, so it can be counted as a win with its date; set to
    // anything else, the date goes (docs/model.md, "Measuring success").
    writes.push(["done_at", s === "done" ? stamp() : undefined]);
    parts.push(`status=${s}`);
  }
  if (c.due !== undefined && (c.due.trim() || undefined) !== goal.due) {
    const d = optionalDate(c.due);
    writes.push(["due", d]);
    parts.push(`due=${d ?? "none"}`);
  }
  if (c.owner !== undefined) {
    const o = resolveOwner(people, c.owner);
    if (o !== goal.owner) {
      writes.push(["owner", o]);
      parts.push(`owner=${o === undefined ? "none" : personName(people, o)}`);
    }
  }
  return {
    message: parts.length ? `set ${parts.join(", ")} on goal ${short(goal.id)}` : "",
    apply: (doc) => {
      const target = doc.goals[goal.id];
      for (const [k, v] of writes) {
        if (k === "title") target.title = scalar(v!);
        else putOptional(target, k, v);
      }
    },
  };
}

export function addMilestone(w: Writer, goal: Goal, title: string, due?: string): Edit {
  const id = newItemId();
  const t = required("title", title);
  const d = optionalDate(due);
  return {
    message: `added milestone ${short(id)} “${firstLine(t, 40)}” to goal ${short(goal.id)}`,
    apply: (doc) => {
      const g = doc.goals[goal.id];
      if (!g.milestones || typeof g.milestones !== "object") g.milestones = {};
      const m: Record<string, unknown> = { ...itemHeader(w), title: scalar(t), done: false };
      if (d) m.due = scalar(d);
      g.milestones[id] = m;
    },
  };
}

export function setMilestone(goal: Goal, m: Milestone, c: { title?: string; due?: string; done?: boolean; archived?: boolean }): Edit {
  const title = c.title !== undefined ? required("title", c.title) : undefined;
  const due = c.due !== undefined ? optionalDate(c.due) : undefined;
  const what =
    c.done !== undefined
      ? c.done
        ? "completed"
        : "reopened"
      : c.archived !== undefined
        ? c.archived
          ? "archived"
          : "restored"
        : "edited";
  return {
    message: `${what} milestone ${short(m.id)} of goal ${short(goal.id)}`,
    apply: (doc) => {
      const t = doc.goals[goal.id].milestones[m.id];
      if (title !== undefined) t.title = scalar(title);
      if (c.due !== undefined) putOptional(t, "due", due);
      if (c.done !== undefined) {
        t.done = c.done;
        // Written in the same change as the flag, so the win is dated by when it happened.
        if (c.done) t.done_at = scalar(stamp());
        else delete t.done_at;
      }
      if (c.archived !== undefined) t.archived = c.archived;
    },
  };
}

export interface NewNote {
  title?: string;
  body: string;
  goal?: string;
  tags?: string[];
}

export function addNote(w: Writer, n: NewNote): Edit & { id: string } {
  const title = (n.title ?? "").trim();
  if (!title && !n.body.trim()) throw new Invalid("a note needs a title or some text");
  const body = prose("the note", n.body);
  const id = newItemId();
  const tags = (n.tags ?? []).map((t) => t.trim()).filter((t) => t);
  return {
    id,
    message: `added note ${short(id)} “${firstLine(title || body, 40)}”`,
    apply: (doc) => {
      const item: Record<string, unknown> = {
        ...itemHeader(w),
        title: scalar(title),
        body,
        tags: Object.fromEntries(tags.map((t) => [t, true])),
      };
      if (n.goal) item.goal = scalar(n.goal);
      if (!doc.notes || typeof doc.notes !== "object") doc.notes = {};
      doc.notes[id] = item;
    },
  };
}

export function setNoteTitle(note: Note, title: string): Edit {
  return {
    message: `retitled note ${short(note.id)}`,
    apply: (doc) => {
      doc.notes[note.id].title = scalar(title.trim());
    },
  };
}

export function setNoteGoal(note: Note, goal: string | undefined): Edit {
  return {
    message: `edited note ${short(note.id)}`,
    apply: (doc) => putOptional(doc.notes[note.id], "goal", goal || undefined),
  };
}

export function addCheckIn(w: Writer, atLocal: string, agenda: string, meetingLink?: string): Edit & { id: string } {
  const at = instantFromLocal(atLocal);
  if (!at) throw new Invalid("pick the day and time of the check-in");
  const text = prose("the agenda", agenda);
  const id = newItemId();
  const link = meetingLink?.trim();
  return {
    id,
    message: `scheduled check-in ${short(id)} at ${at}`,
    apply: (doc) => {
      const item: Record<string, unknown> = { ...itemHeader(w), at: scalar(at), agenda: text, notes: "", ratings: {} };
      if (link) item.meeting_link = scalar(link);
      ensure(doc, "checkins")[id] = item;
    },
  };
}

export function setCheckIn(c: CheckIn, changes: { atLocal?: string; meetingLink?: string }): Edit {
  const at = changes.atLocal !== undefined ? instantFromLocal(changes.atLocal) : undefined;
  if (changes.atLocal !== undefined && !at) throw new Invalid("pick the day and time of the check-in");
  return {
    message: `edited check-in ${short(c.id)}`,
    apply: (doc) => {
      const t = doc.checkins[c.id];
      if (at && at !== c.at) t.at = scalar(at);
      if (changes.meetingLink !== undefined) putOptional(t, "meeting_link", changes.meetingLink.trim() || undefined);
    },
  };
}

export function rateCheckIn(w: Writer, c: CheckIn, rating: number, comment?: string): Edit {
  if (!w.me) throw new Invalid("only a participant of the workspace can rate a check-in");
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw new Invalid("a rating is a whole number from 1 to 5");
  const me = w.me;
  const text = comment === undefined ? undefined : prose("the comment", comment);
  return {
    message: `rated check-in ${short(c.id)} ${rating}/5`,
    apply: (doc) => {
      const t = doc.checkins[c.id];
      if (!t.ratings || typeof t.ratings !== "object") t.ratings = {};
      if (!t.ratings[me]) t.ratings[me] = {};
      const r = t.ratings[me];
      r.rating = rating; // A JavaScript whole number is stored as a signed integer.
      r.at = scalar(stamp());
      if (text !== undefined) setProse(doc, ["checkins", c.id, "ratings", me, "comment"], text);
    },
  };
}

export interface NewAction {
  title: string;
  owner?: string;
  due?: string;
  goal?: string;
  checkin?: string;
}

export function addAction(people: Participant[], w: Writer, a: NewAction): Edit & { id: string } {
  const title = required("title", a.title);
  const due = optionalDate(a.due);
  const owner = resolveOwner(people, a.owner);
  const id = newItemId();
  return {
    id,
    message: `added action ${short(id)} “${firstLine(title, 40)}”`,
    apply: (doc) => {
      const item: Record<string, unknown> = { ...itemHeader(w), title: scalar(title), done: false };
      if (owner) item.owner = scalar(owner);
      if (due) item.due = scalar(due);
      if (a.goal) item.goal = scalar(a.goal);
      if (a.checkin) item.checkin = scalar(a.checkin);
      ensure(doc, "actions")[id] = item;
    },
  };
}

export function setAction(people: Participant[], a: Action, c: { title?: string; owner?: string; due?: string; goal?: string }): Edit {
  const title = c.title !== undefined ? required("title", c.title) : undefined;
  const due = c.due !== undefined ? optionalDate(c.due) : undefined;
  const owner = c.owner !== undefined ? resolveOwner(people, c.owner) : undefined;
  return {
    message: `edited action ${short(a.id)}`,
    apply: (doc) => {
      const t = doc.actions[a.id];
      if (title !== undefined && title !== a.title) t.title = scalar(title);
      if (c.due !== undefined && due !== a.due) putOptional(t, "due", due);
      if (c.owner !== undefined && owner !== a.owner) putOptional(t, "owner", owner);
      if (c.goal !== undefined && (c.goal || undefined) !== a.goal) putOptional(t, "goal", c.goal || undefined);
    },
  };
}

export function completeAction(a: Action, done: boolean): Edit {
  return {
    message: `${done ? "completed" : "reopened"} action ${short(a.id)}`,
    apply: (doc) => {
      const t = doc.actions[a.id];
      t.done = done;
      // Reopening leaves done_at in place, as the CLI does.
      if (done) t.done_at = scalar(stamp());
    },
  };
}

export function addResource(w: Writer, title: string, url: string, note?: string, goal?: string): Edit & { id: string } {
  const t = required("title", title);
  const u = required("url", url);
  const n = prose("the note", note ?? "");
  const id = newItemId();
  return {
    id,
    message: `added resource ${short(id)} “${firstLine(t, 40)}”`,
    apply: (doc) => {
      const item: Record<string, unknown> = { ...itemHeader(w), title: scalar(t), url: scalar(u), note: n };
      if (goal) item.goal = scalar(goal);
      ensure(doc, "resources")[id] = item;
    },
  };
}

export function setResource(r: Resource, c: { title?: string; url?: string; goal?: string }): Edit {
  const title = c.title !== undefined ? required("title", c.title) : undefined;
  const url = c.url !== undefined ? required("url", c.url) : undefined;
  return {
    message: `edited resource ${short(r.id)}`,
    apply: (doc) => {
      const t = doc.resources[r.id];
      if (title !== undefined && title !== r.title) t.title = scalar(title);
      if (url !== undefined && url !== r.url) t.url = scalar(url);
      if (c.goal !== undefined && (c.goal || undefined) !== r.goal) putOptional(t, "goal", c.goal || undefined);
    },
  };
}

const KIND_LABEL: Record<Collection, string> = {
  goals: "goal",
  notes: "note",
  checkins: "check-in",
  actions: "action",
  resources: "resource",
};

/** Soft archive and restore: nothing is ever deleted (docs/model.md section 3). */
export function setArchived(kind: Collection, id: string, archived: boolean): Edit {
  return {
    message: `${archived ? "archived" : "restored"} ${KIND_LABEL[kind]} ${short(id)}`,
    apply: (doc) => {
      doc[kind][id].archived = archived;
    },
  };
}

/** Replace a prose field with what the person typed, as a minimal diff. */
export function editProse(kind: Collection, id: string, field: string, value: string, label: string): Edit {
  prose(label, value);
  return {
    message: `edited ${field === "body" ? "" : field + " of "}${KIND_LABEL[kind]} ${short(id)}`.replace("edited  ", "edited "),
    apply: (doc) => setProse(doc, [kind, id, field], value),
  };
}

export function renameWorkspace(title: string): Edit {
  const t = required("title", title);
  return { message: `renamed workspace to “${t}”`, apply: (doc) => void (doc.title = scalar(t)) };
}

/** A new participant (the person joining from this browser), with this tab as its device. */
export function addParticipant(w: Writer, name: string, role: string): Edit & { id: string } {
  const n = required("name", name);
  const r = role.trim().toLowerCase() === "coordinator" ? "observer" : role.trim().toLowerCase();
  if (!(ROLES as readonly string[]).includes(r)) throw new Invalid(`invalid role “${role}”: expected mentor, mentee or observer`);
  const id = newItemId();
  return {
    id,
    message: `${n} joined as ${r}`,
    apply: (doc) => {
      if (!doc.participants || typeof doc.participants !== "object") doc.participants = {};
      const at = stamp();
      doc.participants[id] = {
        name: scalar(n),
        role: scalar(r),
        created_at: scalar(at),
        devices: w.actor ? { [w.actor]: scalar(at) } : {},
      };
    },
  };
}

/** The participant of this name, compared case-insensitively, if there is exactly one. */
export function participantNamed(people: Participant[], name: string): Participant | undefined {
  const m = people.filter((p) => p.name.toLowerCase() === name.trim().toLowerCase());
  return m.length === 1 ? m[0] : undefined;
}

/** The first content of a private notes document (docs/model.md section 8). */
export function newPrivateDoc(): Record<string, unknown> {
  return { schema: SCHEMA, kind: scalar(PRIVATE_KIND), notes: {} };
}

// ----- measuring success: rhythm, pulse surveys, kudos, career steps and wins -----
//
// docs/model.md, "Measuring success". The settings are whole numbers; survey answers are whole
// numbers from 1 to 5 with a prose comment; kudos text and career-step notes are prose; the rest
// are scalar strings. Wins are derived, never stored.

export const DEFAULT_CHECKIN_RHYTHM_DAYS = 14;
export const DEFAULT_SURVEY_RHYTHM_DAYS = 30;
/** The rhythms a person may choose, in days. */
export const RHYTHM_MIN_DAYS = 1;
export const RHYTHM_MAX_DAYS = 365;
/** How many recent wins the plan shows, and how far back it looks, in days. */
export const RECENT_WINS = 5;
export const RECENT_WIN_DAYS = 30;
/** The fewest check-ins in a row, each within the rhythm of the one before, that make a streak. */
export const STREAK_MIN = 3;

const DAY_MS = 86_400_000;

export interface Settings {
  checkinRhythmDays: number;
  surveyRhythmDays: number;
}

function rhythmIn(v: unknown, fallback: number): number {
  const n = int(v);
  return n !== undefined && n >= RHYTHM_MIN_DAYS && n <= RHYTHM_MAX_DAYS ? n : fallback;
}

/** The pair's rhythms; a missing or out-of-range value reads as its default. */
export function readSettings(doc: WorkspaceDoc): Settings {
  const s = map(doc?.settings);
  return {
    checkinRhythmDays: rhythmIn(s.checkin_rhythm_days, DEFAULT_CHECKIN_RHYTHM_DAYS),
    surveyRhythmDays: rhythmIn(s.survey_rhythm_days, DEFAULT_SURVEY_RHYTHM_DAYS),
  };
}

function checkRhythm(what: string, days: number): number {
  if (!Number.isInteger(days) || days < RHYTHM_MIN_DAYS || days > RHYTHM_MAX_DAYS)
    throw new Invalid(`the ${what} rhythm is a whole number of days from ${RHYTHM_MIN_DAYS} to ${RHYTHM_MAX_DAYS}`);
  return days;
}

/** Whether the writer is a mentor of the workspace: only a mentor changes the rhythm. */
export function isMentor(people: Participant[], w: Writer): boolean {
  return people.some((p) => p.id === w.me && p.role === "mentor");
}

/** Change the rhythms; only those that differ from `now` are written. Mentors only. */
export function setRhythm(people: Participant[], w: Writer, now: Settings, c: Partial<Settings>): Edit {
  if (!isMentor(people, w)) throw new Invalid("only a mentor changes the rhythm");
  const checkins = c.checkinRhythmDays !== undefined ? checkRhythm("check-in", c.checkinRhythmDays) : undefined;
  const surveys = c.surveyRhythmDays !== undefined ? checkRhythm("survey", c.surveyRhythmDays) : undefined;
  const what: string[] = [];
  if (checkins !== undefined && checkins !== now.checkinRhythmDays) what.push(`check-ins every ${checkins} days`);
  if (surveys !== undefined && surveys !== now.surveyRhythmDays) what.push(`pulse surveys every ${surveys} days`);
  return {
    message: what.length ? `set the rhythm: ${what.join(", ")}` : "",
    apply: (doc) => {
      if (!doc.settings || typeof doc.settings !== "object") doc.settings = {};
      // JavaScript whole numbers are stored as signed integers, as the contract asks.
      if (checkins !== undefined && checkins !== now.checkinRhythmDays) doc.settings.checkin_rhythm_days = checkins;
      if (surveys !== undefined && surveys !== now.surveyRhythmDays) doc.settings.survey_rhythm_days = surveys;
    },
  };
}

/** When the workspace was created, as stored. */
export function workspaceCreatedAt(doc: WorkspaceDoc): string | undefined {
  return str(doc?.created_at);
}

function ms(instant: string | undefined): number | undefined {
  if (!instant) return undefined;
  const t = Date.parse(instant);
  return Number.isNaN(t) ? undefined : t;
}

/** Where the pair stands against its check-in rhythm at some moment. */
export interface Rhythm {
  checkinRhythmDays: number;
  surveyRhythmDays: number;
  /** The next planned check-in, or else when one is due by the rhythm. */
  nextCheckinDue?: string;
  /** Whole days past `nextCheckinDue`; 0 when it is not past. */
  overdueDays: number;
}

/**
 * The next check-in due: the next planned one when there is one, or else the last past one (or
 * the workspace's creation, when there has been none) plus the rhythm. `times` are the instants
 * of the check-ins that are not archived.
 */
export function rhythmAt(settings: Settings, createdAt: string | undefined, times: string[], now: Date = new Date()): Rhythm {
  const t = now.getTime();
  const all = times.map(ms).filter((x): x is number => x !== undefined);
  const future = all.filter((x) => x > t);
  const past = all.filter((x) => x <= t);
  const next = future.length ? Math.min(...future) : undefined;
  const from = past.length ? Math.max(...past) : ms(createdAt);
  const due = next ?? (from === undefined ? undefined : from + settings.checkinRhythmDays * DAY_MS);
  return {
    ...settings,
    nextCheckinDue: due === undefined ? undefined : stamp(new Date(due)),
    overdueDays: due === undefined || t <= due ? 0 : Math.floor((t - due) / DAY_MS),
  };
}

export function rhythm(doc: WorkspaceDoc, now: Date = new Date()): Rhythm {
  const times = readCheckIns(doc)
    .filter((c) => !c.archived && c.at)
    .map((c) => c.at!);
  return rhythmAt(readSettings(doc), workspaceCreatedAt(doc), times, now);
}

// ----- pulse surveys -----

export interface Survey extends Header {
  /** The entry's key, `"<participant id>:<period>"`; the id of the header is the same. */
  participant: string;
  period: number;
  progress: number;
  relationship: number;
  recommend: number;
  comment: string;
  at?: string;
}

/** The survey questions, in the order they are asked, with the words people see. */
export const SURVEY_QUESTIONS = [
  ["progress", "Progress towards my goals"],
  ["relationship", "The relationship helps me"],
  ["recommend", "I would recommend this mentoring"],
] as const;

export function surveyKey(participant: string, period: number): string {
  return `${participant}:${period}`;
}

/** Every survey answer, archived ones included, by period and then participant. */
export function readSurveys(doc: WorkspaceDoc): Survey[] {
  const out: Survey[] = [];
  for (const [key, raw] of Object.entries(map(doc?.surveys))) {
    const e = map(raw);
    const split = key.lastIndexOf(":");
    const participant = str(e.participant) ?? (split > 0 ? key.slice(0, split) : undefined);
    const period = int(e.period) ?? (split > 0 ? Number.parseInt(key.slice(split + 1), 10) : undefined);
    const progress = int(e.progress);
    const relationship = int(e.relationship);
    const recommend = int(e.recommend);
    // An entry missing an answer (written by another client) is left out, as the CLI does.
    if (participant === undefined || period === undefined || Number.isNaN(period)) continue;
    if (progress === undefined || relationship === undefined || recommend === undefined) continue;
    out.push({ ...header(key, e), participant, period, progress, relationship, recommend, comment: str(e.comment) ?? "", at: str(e.at) });
  }
  return out.sort((a, b) => a.period - b.period || a.participant.localeCompare(b.participant));
}

/** Whole days from the UTC date of `from` to the UTC date of `to`. */
function utcDays(from: number, to: number): number {
  return Math.floor(to / DAY_MS) - Math.floor(from / DAY_MS);
}

/** The survey period `now` falls in: whole survey rhythms since the workspace's creation (UTC dates). */
export function surveyPeriodAt(createdAt: string | undefined, surveyRhythmDays: number, now: Date = new Date()): number {
  const created = ms(createdAt);
  if (created === undefined) return 0;
  return Math.floor(Math.max(0, utcDays(created, now.getTime())) / Math.max(1, surveyRhythmDays));
}

export function surveyPeriod(doc: WorkspaceDoc, now: Date = new Date()): number {
  return surveyPeriodAt(workspaceCreatedAt(doc), readSettings(doc).surveyRhythmDays, now);
}

/**
 * Whether `me` is asked to answer the survey: a mentor or mentee (observers never are), at
 * least one rhythm since the workspace began, and no answer of theirs for this period.
 * `answered` holds the keys of the answers that are not archived.
 */
export function surveyDueAt(role: string | undefined, me: string | undefined, period: number, answered: string[]): boolean {
  if (!me || (role !== "mentor" && role !== "mentee") || period < 1) return false;
  return !answered.includes(surveyKey(me, period));
}

export function surveyDue(doc: WorkspaceDoc, people: Participant[], me: string | undefined, now: Date = new Date()): boolean {
  const role = people.find((p) => p.id === me)?.role;
  const answered = readSurveys(doc)
    .filter((s) => !s.archived)
    .map((s) => s.id);
  return surveyDueAt(role, me, surveyPeriod(doc, now), answered);
}

export interface SurveyAnswers {
  progress: number;
  relationship: number;
  recommend: number;
  comment?: string;
}

function answer(question: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 5) throw new Invalid(`answer “${question}” with a whole number from 1 to 5`);
  return v;
}

/** The writer's answers for the current period; answering again in it rewrites them. */
export function answerSurvey(doc: WorkspaceDoc, w: Writer, a: SurveyAnswers, now: Date = new Date()): Edit & { id: string } {
  if (!w.me) throw new Invalid("only a participant of the workspace can answer the survey");
  const progress = answer(SURVEY_QUESTIONS[0][1], a.progress);
  const relationship = answer(SURVEY_QUESTIONS[1][1], a.relationship);
  const recommend = answer(SURVEY_QUESTIONS[2][1], a.recommend);
  const comment = prose("the comment", a.comment ?? "");
  const me = w.me;
  const period = surveyPeriod(doc, now);
  const key = surveyKey(me, period);
  return {
    id: key,
    message: `answered the pulse survey for period ${period}: ${progress}/${relationship}/${recommend}`,
    apply: (d) => {
      if (!d.surveys || typeof d.surveys !== "object") d.surveys = {};
      if (!d.surveys[key] || typeof d.surveys[key] !== "object") {
        d.surveys[key] = { participant: scalar(me), period, created_by: scalar(me), created_at: scalar(stamp(now)) };
      }
      const e = d.surveys[key];
      e.progress = progress;
      e.relationship = relationship;
      e.recommend = recommend;
      setProse(d, ["surveys", key, "comment"], comment);
      e.at = scalar(stamp(now));
      e.archived = false;
    },
  };
}

// ----- kudos -----

export interface Kudos extends Header {
  from?: string;
  to?: string;
  text: string;
  goal?: string;
}

export function readKudos(doc: WorkspaceDoc): Kudos[] {
  return readItems(doc?.kudos, (k) => ({ from: str(k.from), to: str(k.to), text: str(k.text) ?? "", goal: str(k.goal) })).sort(byCreation);
}

/** Kudos from the writer to another participant (`to` is a participant id), maybe for a goal. */
export function giveKudos(people: Participant[], w: Writer, to: string, text: string, goal?: string): Edit & { id: string } {
  if (!w.me) throw new Invalid("only a participant of the workspace can give kudos");
  const t = prose("the kudos", required("the kudos", text));
  const who = people.find((p) => p.id === to);
  if (!who) throw new Invalid("choose who the kudos are for");
  if (who.id === w.me) throw new Invalid("kudos go to someone else in the workspace, not to yourself");
  const id = newItemId();
  const me = w.me;
  return {
    id,
    message: `gave kudos ${short(id)} to ${who.name}: “${firstLine(t, 40)}”`,
    apply: (doc) => {
      const item: Record<string, unknown> = { ...itemHeader(w), from: scalar(me), to: scalar(who.id), text: t };
      if (goal) item.goal = scalar(goal);
      if (!doc.kudos || typeof doc.kudos !== "object") doc.kudos = {};
      doc.kudos[id] = item;
    },
  };
}

// ----- career steps -----

export interface CareerStep extends Header {
  participant: string;
  date: string;
  roleBefore: string;
  roleAfter: string;
  note: string;
}

/** Every career step, archived ones included, by date and then creation. */
export function readCareerSteps(doc: WorkspaceDoc): CareerStep[] {
  return readItems(doc?.career_steps, (c) => ({
    participant: str(c.participant) ?? "",
    date: str(c.date) ?? "",
    roleBefore: str(c.role_before) ?? "",
    roleAfter: str(c.role_after) ?? "",
    note: str(c.note) ?? "",
  })).sort((a, b) => a.date.localeCompare(b.date) || byCreation(a, b));
}

export interface NewCareerStep {
  /** A participant id; the writer when absent. */
  participant?: string;
  date: string;
  roleBefore: string;
  roleAfter: string;
  note?: string;
}

export function addCareerStep(people: Participant[], w: Writer, c: NewCareerStep): Edit & { id: string } {
  const before = required("the role before", c.roleBefore);
  const after = required("the role after", c.roleAfter);
  const date = optionalDate(c.date);
  if (!date) throw new Invalid("give the date of the step (YYYY-MM-DD)");
  const note = prose("the note", c.note ?? "");
  const who = people.find((p) => p.id === (c.participant || w.me));
  if (!who) throw new Invalid("only a participant of the workspace can record a career step");
  const id = newItemId();
  return {
    id,
    message: `recorded career step ${short(id)} of ${who.name}: “${firstLine(before, 30)}” to “${firstLine(after, 30)}”`,
    apply: (doc) => {
      if (!doc.career_steps || typeof doc.career_steps !== "object") doc.career_steps = {};
      doc.career_steps[id] = {
        ...itemHeader(w),
        participant: scalar(who.id),
        date: scalar(date),
        role_before: scalar(before),
        role_after: scalar(after),
        note,
      };
    },
  };
}

/** Archive or restore kudos or a career step, like the other collections. */
export function setMeasureArchived(kind: "kudos" | "career_steps" | "surveys", id: string, archived: boolean): Edit {
  const label = kind === "kudos" ? "kudos" : kind === "surveys" ? "survey answer" : "career step";
  return {
    message: `${archived ? "archived" : "restored"} ${label} ${kind === "surveys" ? id : short(id)}`,
    apply: (doc) => {
      doc[kind][id].archived = archived;
    },
  };
}

// ----- wins -----

export type WinKind = "goal_done" | "milestone_done" | "checkin_streak" | "kudos";

export interface Win {
  kind: WinKind;
  /** The goal, milestone, kudos, or the last check-in of a streak. */
  id: string;
  /** When it happened; absent for a goal or milestone done before that was recorded. */
  at?: string;
  /** The goal's or milestone's title, or the kudos' text; empty for a streak. */
  title: string;
  goal?: string;
  count?: number;
  /** Who gave kudos and who received them, by name. */
  from?: string;
  to?: string;
}

/** Runs of at least STREAK_MIN past check-ins, each at most the rhythm after the one before. */
function streaks(checkins: CheckIn[], rhythmDays: number, now: number): Win[] {
  const past = checkins
    .filter((c) => !c.archived)
    .map((c) => ({ id: c.id, at: c.at, t: ms(c.at) }))
    .filter((c): c is { id: string; at: string; t: number } => c.t !== undefined && c.t <= now)
    .sort((a, b) => a.t - b.t || a.id.localeCompare(b.id));
  const wins: Win[] = [];
  let run: typeof past = [];
  const close = () => {
    if (run.length >= STREAK_MIN) {
      const last = run[run.length - 1];
      wins.push({ kind: "checkin_streak", id: last.id, at: last.at, title: "", count: run.length });
    }
    run = [];
  };
  for (const c of past) {
    if (run.length && c.t - run[run.length - 1].t > rhythmDays * DAY_MS) close();
    run.push(c);
  }
  close();
  return wins;
}

/** Every win up to `now`, newest first; those without a date come last. */
export function wins(doc: WorkspaceDoc, now: Date = new Date()): Win[] {
  const people = readParticipants(doc);
  const t = now.getTime();
  const out: Win[] = [];
  for (const g of readGoals(doc).filter((g) => !g.archived)) {
    if (g.status === "done") out.push({ kind: "goal_done", id: g.id, at: g.doneAt, title: g.title });
    for (const m of g.milestones.filter((m) => m.done && !m.archived))
      out.push({ kind: "milestone_done", id: m.id, at: m.doneAt, title: m.title, goal: g.id });
  }
  out.push(...streaks(readCheckIns(doc), readSettings(doc).checkinRhythmDays, t));
  for (const k of readKudos(doc).filter((k) => !k.archived))
    out.push({ kind: "kudos", id: k.id, at: k.createdAt, title: k.text, goal: k.goal, from: personName(people, k.from), to: personName(people, k.to) });
  const when = (w: Win) => ms(w.at);
  return out
    .filter((w) => (when(w) ?? -Infinity) <= t)
    .sort((a, b) => {
      const [x, y] = [when(a), when(b)];
      if ((x === undefined) !== (y === undefined)) return x === undefined ? 1 : -1;
      return (y ?? 0) - (x ?? 0) || b.id.localeCompare(a.id);
    });
}

/** The wins of the last RECENT_WIN_DAYS days, newest first, at most RECENT_WINS. */
export function recentWins(all: Win[], now: Date = new Date()): Win[] {
  const since = now.getTime() - RECENT_WIN_DAYS * DAY_MS;
  return all.filter((w) => (ms(w.at) ?? -Infinity) >= since && (ms(w.at) ?? Infinity) <= now.getTime()).slice(0, RECENT_WINS);
}

// ----- history and conflicts -----

export interface HistoryEntry {
  hash: string;
  actor: string;
  time: number;
  message: string;
}

/** The latest `limit` changes, newest first (changes of one second keep their causal order). */
export function history(doc: Stored, limit = 200): HistoryEntry[] {
  const metas = A.getChangesMetaSince(doc, []);
  const out = metas.map((m, i) => ({ i, hash: m.hash, actor: m.actor, time: m.time ?? 0, message: m.message ?? "" }));
  out.sort((a, b) => b.time - a.time || b.i - a.i);
  return out.slice(0, limit).map(({ hash, actor, time, message }) => ({ hash, actor, time, message }));
}

export interface ConflictValue {
  actor: string;
  value: string;
  winner: boolean;
}

export interface Conflict {
  /** Where the field is, e.g. ["goals", id, "status"]. */
  path: string[];
  /** What people call it, e.g. "status of goal “Learn Rust”". */
  label: string;
  values: ConflictValue[];
}

function shown(v: unknown): string {
  const s = str(v);
  if (s !== undefined) return s;
  if (typeof v === "boolean" || typeof v === "number" || typeof v === "bigint") return String(v);
  return "(a nested value)";
}

function conflictsIn(doc: Stored, obj: Stored, path: string[], label: (field: string) => string, out: Conflict[]): void {
  for (const key of Object.keys(obj)) {
    const c = A.getConflicts(obj, key);
    if (!c || Object.keys(c).length < 2) continue;
    const current = obj[key];
    // A nested map in conflict (both sides created `milestones`) is not reported; the entries
    // inside are looked at instead, as the CLI does.
    if (current !== null && typeof current === "object" && !A.isImmutableString(current) && typeof current !== "string") continue;
    const values = Object.entries(c).map(([opId, v]) => ({
      actor: opId.slice(opId.indexOf("@") + 1),
      value: shown(v),
      winner: false,
    }));
    const winning = shown(current);
    const w = values.find((v) => v.value === winning);
    if (w) w.winner = true;
    out.push({ path: [...path, key], label: label(key), values });
  }
  void doc;
}

/** Every key with concurrent values: the root, each item, each milestone and each rating. */
export function conflicts(doc: Stored): Conflict[] {
  const out: Conflict[] = [];
  conflictsIn(doc, doc, [], (f) => `${f} of the workspace`, out);
  for (const kind of ["goals", "notes", "checkins", "actions", "resources"] as Collection[]) {
    for (const [id, item] of Object.entries(map(doc[kind]))) {
      const name = str(map(item).title) || short(id);
      conflictsIn(doc, item, [kind, id], (f) => `${f} of ${KIND_LABEL[kind]} “${name}”`, out);
      if (kind === "goals") {
        for (const [mid, m] of Object.entries(map(map(item).milestones)))
          conflictsIn(doc, m, [kind, id, "milestones", mid], (f) => `${f} of milestone “${str(map(m).title) || short(mid)}”`, out);
      }
      if (kind === "checkins") {
        for (const [pid, r] of Object.entries(map(map(item).ratings)))
          conflictsIn(doc, r, [kind, id, "ratings", pid], (f) => `${f} of a rating of check-in ${short(id)}`, out);
      }
    }
  }
  // The measures of success: the rhythm, and each kudos, career step and survey answer.
  conflictsIn(doc, map(doc.settings), ["settings"], (f) => `${f} of the rhythm`, out);
  for (const [kind, label] of [
    ["kudos", "kudos"],
    ["career_steps", "a career step"],
    ["surveys", "a survey answer"],
  ] as const) {
    for (const [id, item] of Object.entries(map(doc[kind]))) conflictsIn(doc, map(item), [kind, id], (f) => `${f} of ${label} ${short(id)}`, out);
  }
  return out;
}

/** Settle a conflict by writing the chosen value again, which replaces every concurrent one. */
export function chooseValue(c: Conflict, value: string): Edit {
  return {
    message: `chose “${firstLine(value, 40)}” for ${c.label}`,
    apply: (doc) => {
      let target = doc;
      for (const p of c.path.slice(0, -1)) target = target[p];
      const key = c.path[c.path.length - 1];
      const old = target[key];
      if (typeof old === "boolean") target[key] = value === "true";
      else if (typeof old === "number") target[key] = Number(value);
      else if (typeof old === "string") target[key] = value;
      else target[key] = scalar(value);
    },
  };
}
