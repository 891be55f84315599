// What the plan screen shows, as plain data, and a copy of it kept in this browser.
//
// Loading a large workspace into automerge takes seconds (the whole document is decoded and
// turned into JavaScript objects before anything can be read). The plan screen is what people
// open most, so the app keeps the last plan it showed in localStorage, with the document heads it
// was derived from, and shows it at once while the document loads; as soon as the document is
// ready the live plan replaces it, and the copy is rewritten whenever the heads move. The copy is
// only ever read, never edited: every edit goes through the loaded document, so it stays
// local-first and merges as usual.

import { next as A } from "@automerge/automerge/slim";
import * as M from "./model";

/** Bumped whenever the shape of `PlanView` changes, so an older copy is ignored, not misread. */
const VERSION = 2;
const KEY = "tandem.plan.";

export interface PlanGoal {
  id: string;
  title: string;
  status: string;
  /** The owner's name, or the text stored when it names nobody. */
  owner?: string;
  due?: string;
  done: number;
  total: number;
}

export interface PlanAction {
  id: string;
  title: string;
  owner?: string;
  due?: string;
}

export interface PlanCheckIn {
  at: string;
  meetingLink?: string;
}

export interface PlanView {
  title: string;
  people: { id: string; name: string; role: string }[];
  goals: PlanGoal[];
  /** Open action items that are not archived. */
  actions: PlanAction[];
  /**
   * The latest check-in before the moment the view was made, and every later one: enough to
   * tell the last and the next check-in at any later moment.
   */
  checkins: PlanCheckIn[];
  settings: M.Settings;
  /** When the workspace was created: the rhythm and the survey periods count from it. */
  createdAt?: string;
  /** The keys (`<participant>:<period>`) of the survey answers that are not archived. */
  answered: string[];
  /** The latest survey answers, newest period first. */
  pulse: { participant: string; name: string; period: number; progress: number; relationship: number; recommend: number }[];
  /** Dated wins, newest first (enough for the recent ones at any later moment). */
  wins: M.Win[];
  /** Career steps that are not archived, newest first. */
  careerSteps: { id: string; name: string; date: string; roleBefore: string; roleAfter: string; note: string }[];
}

/** How many dated wins the view keeps; the plan shows the recent ones among them. */
const KEPT_WINS = 50;

/** The plan of a loaded document. */
export function planView(doc: M.Stored, now: string = M.stamp()): PlanView {
  const people = M.readParticipants(doc);
  const checkins = M.readCheckIns(doc).filter((c) => !c.archived && c.at);
  let first = checkins.findIndex((c) => c.at! > now);
  if (first < 0) first = checkins.length;
  const surveys = M.readSurveys(doc).filter((s) => !s.archived);
  const latest = surveys.reduce((n, s) => Math.max(n, s.period), 0);
  return {
    title: M.workspaceTitle(doc),
    people: people.map(({ id, name, role }) => ({ id, name, role })),
    goals: M.readGoals(doc)
      .filter((g) => !g.archived)
      .map((g) => {
        const p = M.progress(g);
        return {
          id: g.id,
          title: g.title,
          status: g.status,
          owner: g.owner === undefined ? undefined : M.personName(people, g.owner),
          due: g.due,
          done: p.done,
          total: p.total,
        };
      }),
    actions: M.readActions(doc)
      .filter((a) => !a.archived && !a.done)
      .map((a) => ({
        id: a.id,
        title: a.title,
        owner: a.owner === undefined ? undefined : M.personName(people, a.owner),
        due: a.due,
      })),
    checkins: checkins.slice(Math.max(0, first - 1)).map((c) => ({ at: c.at!, meetingLink: c.meetingLink })),
    settings: M.readSettings(doc),
    createdAt: M.workspaceCreatedAt(doc),
    answered: surveys.map((s) => s.id),
    pulse: surveys
      .filter((s) => s.period >= latest - 1)
      .reverse()
      .map((s) => ({
        participant: s.participant,
        name: M.personName(people, s.participant),
        period: s.period,
        progress: s.progress,
        relationship: s.relationship,
        recommend: s.recommend,
      })),
    wins: M.wins(doc, new Date(now))
      .filter((w) => w.at !== undefined)
      .slice(0, KEPT_WINS),
    careerSteps: M.readCareerSteps(doc)
      .filter((c) => !c.archived)
      .reverse()
      .map((c) => ({ id: c.id, name: M.personName(people, c.participant), date: c.date, roleBefore: c.roleBefore, roleAfter: c.roleAfter, note: c.note })),
  };
}

/** Where the pair stands against its rhythm at `now`. */
export function rhythmOf(view: PlanView, now: Date = new Date()): M.Rhythm {
  return M.rhythmAt(view.settings, view.createdAt, view.checkins.map((c) => c.at), now);
}

/** Whether the survey is due for participant `me` at `now`. */
export function surveyDueOf(view: PlanView, me: string | undefined, now: Date = new Date()): boolean {
  const role = view.people.find((p) => p.id === me)?.role;
  return M.surveyDueAt(role, me, M.surveyPeriodAt(view.createdAt, view.settings.surveyRhythmDays, now), view.answered);
}

/** The last check-in before `now` and the next one after it. */
export function lastAndNext(view: PlanView, now: string = M.stamp()): { last?: PlanCheckIn; next?: PlanCheckIn } {
  const past = view.checkins.filter((c) => c.at <= now);
  return { last: past[past.length - 1], next: view.checkins.find((c) => c.at > now) };
}

interface Stored {
  version: number;
  heads: string[];
  view: PlanView;
}

/** The plan last shown for this workspace in this browser, if any. */
export function cachedPlan(workspace: string): PlanView | undefined {
  try {
    const raw = localStorage.getItem(KEY + workspace);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Stored;
    return s.version === VERSION && s.view && Array.isArray(s.view.goals) ? s.view : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the copy kept for this workspace was made from exactly these heads. */
function cachedHeads(workspace: string): string | undefined {
  try {
    const raw = localStorage.getItem(KEY + workspace);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Stored;
    return s.version === VERSION ? s.heads.join(",") : undefined;
  } catch {
    return undefined;
  }
}

const lastWritten = new Map<string, string>();

/**
 * Keep `view` as this workspace's plan, unless the copy already matches the document's heads.
 * A full or refused localStorage only costs the quick start, so failures are ignored.
 */
export function keepPlan(workspace: string, doc: M.Stored, view: PlanView): void {
  const heads = A.getHeads(doc);
  const key = heads.join(",");
  if ((lastWritten.get(workspace) ?? cachedHeads(workspace)) === key) return;
  try {
    localStorage.setItem(KEY + workspace, JSON.stringify({ version: VERSION, heads, view } satisfies Stored));
    lastWritten.set(workspace, key);
  } catch {
    // Ignored: see above.
  }
}
