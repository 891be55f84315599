// The screens of a workspace: the plan, goals and milestones, notes, check-ins, action items,
// resources, history, conflicts, participants and private notes.
//
// Each screen reads the plain views of model.ts and writes through its edit functions; `Ctx`
// carries what every screen needs. A read-only person sees the same screens without a single
// control that would change the document.

import { useEffect, useMemo, useState } from "preact/hooks";
import type { DocHandle } from "@automerge/automerge-repo/slim";
import * as M from "./model";
import { commit, type Membership, type Session, type SyncState } from "./session";
import { keepPlan, lastAndNext, planView, rhythmOf, surveyDueOf, type PlanView } from "./plan";
import { Area, ChangeTime, CollabText, Day, Field, Form, SafeLink, Select, When, useDoc } from "./ui";

export interface Ctx {
  handle: DocHandle<M.Stored>;
  doc: M.Stored;
  session: Session;
  membership: Membership;
  readOnly: boolean;
  writer: M.Writer;
  people: M.Participant[];
  sync: SyncState;
}

function run(ctx: Ctx, edit: M.Edit): void {
  if (ctx.readOnly || !edit.message) return;
  commit(ctx.handle, ctx.writer, edit);
}

function ArchiveButton({ ctx, kind, item, name }: { ctx: Ctx; kind: M.Collection; item: M.Header; name: string }) {
  if (ctx.readOnly) return null;
  return (
    <button type="button" class="secondary" aria-label={`${item.archived ? "Restore" : "Archive"} ${name}`} onClick={() => run(ctx, M.setArchived(kind, item.id, !item.archived))}>
      {item.archived ? "Restore" : "Archive"}
    </button>
  );
}

function ShowArchived({ value, onChange }: { value: boolean; onChange: (v: boolean) => void }) {
  return (
    <label class="toggle">
      <input type="checkbox" checked={value} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} /> Show archived
    </label>
  );
}

function goalOptions(ctx: Ctx): [string, string][] {
  return [["", "No goal"], ...M.readGoals(ctx.doc).filter((g) => !g.archived).map((g): [string, string] => [g.id, g.title])];
}


/** A datalist of participants' names, so owners can be picked rather than typed. */
export function Names({ ctx }: { ctx: Ctx }) {
  return (
    <datalist id="people-names">
      {ctx.people.map((p) => (
        <option value={p.name} key={p.id} />
      ))}
    </datalist>
  );
}

// ----- the plan -----

/** How many goals or actions the plan lists before a "show all" button. */
const PAGE = 50;

export function Plan({ ctx }: { ctx: Ctx }) {
  const view = useMemo(() => {
    const start = performance.now();
    const v = planView(ctx.doc);
    // How long the plan took to derive from the document, for the benchmark (web/e2e/bench.mjs).
    performance.mark("tandem:plan-derived", { detail: performance.now() - start });
    return v;
  }, [ctx.doc]);
  const workspace = ctx.membership.workspace;
  // Keep a copy for the next visit, shortly after the last change rather than on every keystroke.
  useEffect(() => {
    const t = setTimeout(() => keepPlan(workspace, ctx.doc, view), 300);
    return () => clearTimeout(t);
  }, [view, workspace]);
  return <PlanBody view={view} sync={ctx.sync} ctx={ctx} />;
}

/**
 * The plan from `view`. Without `ctx` it is the copy kept from the last visit, shown while the
 * document loads: the same plan, with no control that would change it.
 */
export function PlanBody({ view, sync, ctx, me: copyMe }: { view: PlanView; sync: SyncState; ctx?: Ctx; me?: string }) {
  const today = M.localDate();
  const { last, next } = lastAndNext(view);
  const rhythm = rhythmOf(view);
  const me = ctx?.writer.me ?? copyMe;
  const surveyDue = surveyDueOf(view, me);
  const wins = M.recentWins(view.wins);
  const overdue = view.actions.filter((a) => a.due !== undefined && a.due < today);
  const [goalCount, setGoalCount] = useState(PAGE);
  const [actionCount, setActionCount] = useState(PAGE);
  const live = ctx !== undefined;
  // The moment the plan was first on screen, for the benchmark (web/e2e/bench.mjs).
  useEffect(() => void performance.mark(live ? "tandem:plan-from-document" : "tandem:plan-from-copy"), [live]);
  return (
    <section aria-labelledby="plan-h">
      <h2 id="plan-h">Plan</h2>
      {!live && (
        <p class="muted" role="status">
          Opening the plan… showing it as of your last visit.
        </p>
      )}
      <div class="cards">
        <div class="card">
          <h3>Check-ins</h3>
          <RhythmLine rhythm={rhythm} />
          <p>
            Last: {last ? <When instant={last.at} /> : <span class="muted">none yet</span>}
          </p>
          <p>
            Next: {next ? <When instant={next.at} /> : <span class="muted">none planned</span>}
          </p>
          {next?.meetingLink && (
            <p>
              <SafeLink href={next.meetingLink}>Join the meeting</SafeLink>
            </p>
          )}
        </div>
        <div class="card">
          <h3>Actions</h3>
          <p>
            {view.actions.length} open, <span class={overdue.length ? "overdue" : ""}>{overdue.length} overdue</span>
          </p>
        </div>
        <div class="card">
          <h3>Sync</h3>
          <p>
            <SyncBadge state={sync} />
          </p>
        </div>
      </div>
      {surveyDue && (ctx ? <SurveyForm ctx={ctx} /> : <p class="banner">Pulse survey due: it opens here in a moment.</p>)}
      <Wins wins={wins} />
      <h3>Goals</h3>
      {view.goals.length === 0 && <p class="muted">No goals yet. Add one under Goals.</p>}
      <ul class="list">
        {view.goals.slice(0, goalCount).map((g) => (
          <li key={g.id} class="item">
            <div class="row">
              <strong>{g.title}</strong>
              <span class={`status status-${g.status}`}>{g.status}</span>
            </div>
            <div class="row muted">
              {g.owner && <span>Owner: {g.owner}</span>}
              {g.due && (
                <span>
                  Due <Day date={g.due} />
                </span>
              )}
            </div>
            <div class="row">
              <progress max={Math.max(g.total, 1)} value={g.done} aria-label={`Milestones of ${g.title}`} />
              <span>
                {g.done}/{g.total} milestones
              </span>
            </div>
          </li>
        ))}
      </ul>
      <ShowMore shown={goalCount} total={view.goals.length} what="goals" onMore={() => setGoalCount(view.goals.length)} />
      <h3>Open actions</h3>
      {view.actions.length === 0 && <p class="muted">Nothing open.</p>}
      <ul class="list">
        {view.actions.slice(0, actionCount).map((a) => {
          const late = a.due !== undefined && a.due < today;
          return (
            <li key={a.id} class={`item ${late ? "is-overdue" : ""}`}>
              <div class="row">
                <span>{a.title}</span>
                {a.due && (
                  <span class={late ? "overdue" : "muted"}>
                    {late ? "Overdue since " : "Due "}
                    <Day date={a.due} />
                  </span>
                )}
              </div>
              {a.owner && <div class="muted">{a.owner}</div>}
            </li>
          );
        })}
      </ul>
      <ShowMore shown={actionCount} total={view.actions.length} what="open actions" onMore={() => setActionCount(view.actions.length)} />
      <Pulse view={view} />
      <CareerSteps view={view} />
      {ctx && !ctx.readOnly && (
        <div class="cards">
          {ctx.writer.me && <KudosForm ctx={ctx} />}
          {ctx.writer.me && <CareerStepForm ctx={ctx} />}
          {M.isMentor(ctx.people, ctx.writer) && <RhythmForm ctx={ctx} settings={view.settings} />}
        </div>
      )}
    </section>
  );
}

const dueDay = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });

function days(n: number): string {
  return `${n} day${n === 1 ? "" : "s"}`;
}

/** "Next check-in due Mon 14 Dec (in 3 days)", or how many days it is overdue. */
function RhythmLine({ rhythm }: { rhythm: M.Rhythm }) {
  if (!rhythm.nextCheckinDue) return null;
  const due = new Date(rhythm.nextCheckinDue);
  if (rhythm.overdueDays > 0)
    return (
      <p class="overdue">
        Check-in overdue by {days(rhythm.overdueDays)} (due <time dateTime={rhythm.nextCheckinDue}>{dueDay.format(due)}</time>)
      </p>
    );
  const ahead = Math.round((new Date(M.localDate(due)).getTime() - new Date(M.localDate()).getTime()) / 86_400_000);
  return (
    <p>
      Next check-in due <time dateTime={rhythm.nextCheckinDue}>{dueDay.format(due)}</time> ({ahead <= 0 ? "today" : ahead === 1 ? "tomorrow" : `in ${days(ahead)}`})
      <br />
      <span class="muted">
        Every {days(rhythm.checkinRhythmDays)}; pulse survey every {days(rhythm.surveyRhythmDays)}
      </span>
    </p>
  );
}

function winWords(w: M.Win): string {
  switch (w.kind) {
    case "goal_done":
      return `Goal done: ${w.title}`;
    case "milestone_done":
      return `Milestone done: ${w.title}`;
    case "checkin_streak":
      return `${w.count} check-ins in a row, each within the rhythm`;
    case "kudos":
      return `Kudos from ${w.from ?? "someone"} to ${w.to ?? "someone"}: ${w.title}`;
  }
}

function Wins({ wins }: { wins: M.Win[] }) {
  return (
    <>
      <h3>Recent wins</h3>
      {wins.length === 0 ? (
        <p class="muted">No wins in the last {M.RECENT_WIN_DAYS} days yet.</p>
      ) : (
        <ul class="list wins" aria-label="Recent wins">
          {wins.map((w) => (
            <li key={`${w.kind}:${w.id}`} class="item row">
              <span class={`tag win-${w.kind}`}>{w.kind === "kudos" ? "Kudos" : w.kind === "checkin_streak" ? "Streak" : "Done"}</span>
              <span class="win">{winWords(w)}</span>
              {w.at && (
                <span class="muted">
                  <When instant={w.at} />
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function Pulse({ view }: { view: PlanView }) {
  if (view.pulse.length === 0) return null;
  return (
    <>
      <h3>Pulse</h3>
      <ul class="list" aria-label="Pulse answers">
        {view.pulse.map((p) => (
          <li key={`${p.participant}:${p.period}`} class="item row">
            <strong>{p.name}</strong>
            <span class="muted">period {p.period}</span>
            <span>
              progress {p.progress}/5, relationship {p.relationship}/5, would recommend {p.recommend}/5
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}

function CareerSteps({ view }: { view: PlanView }) {
  return (
    <>
      <h3>Career steps</h3>
      {view.careerSteps.length === 0 ? (
        <p class="muted">No career steps recorded yet.</p>
      ) : (
        <ul class="list" aria-label="Career steps">
          {view.careerSteps.map((c) => (
            <li key={c.id} class="item">
              <div class="row">
                <strong>{c.name}</strong>
                <span>
                  {c.roleBefore} → {c.roleAfter}
                </span>
                <span class="muted">
                  <Day date={c.date} />
                </span>
              </div>
              {c.note && <div class="muted">{c.note}</div>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

const SCALE: [string, string][] = [["", "Choose…"], ...["1", "2", "3", "4", "5"].map((n): [string, string] => [n, `${n} of 5`])];

/** The pulse survey: three questions from 1 to 5 and a comment, for the current period. */
function SurveyForm({ ctx }: { ctx: Ctx }) {
  const [a, setA] = useState<Record<string, string>>({});
  const [comment, setComment] = useState("");
  return (
    <div class="banner">
      <h3>Pulse survey due</h3>
      <p>Three quick questions about how the mentoring is going; your partner sees your answers.</p>
      <Form
        label="Pulse survey"
        submit="Send answers"
        action={() => {
          const n = (k: string) => Number(a[k] ?? "");
          run(ctx, M.answerSurvey(ctx.doc, ctx.writer, { progress: n("progress"), relationship: n("relationship"), recommend: n("recommend"), comment }));
          setA({});
          setComment("");
        }}
      >
        <div class="pair">
          {M.SURVEY_QUESTIONS.map(([key, label]) => (
            <Select key={key} label={label} value={a[key] ?? ""} options={SCALE} onChange={(v) => setA({ ...a, [key]: v })} />
          ))}
        </div>
        <Field label="Comment" value={comment} onInput={setComment} />
      </Form>
    </div>
  );
}

function KudosForm({ ctx }: { ctx: Ctx }) {
  const others = ctx.people.filter((p) => p.id !== ctx.writer.me);
  const [to, setTo] = useState("");
  const [text, setText] = useState("");
  const [goal, setGoal] = useState("");
  const chosen = to || others[0]?.id || "";
  if (others.length === 0) return null;
  return (
    <div class="card">
      <h3>Kudos</h3>
      <Form
        label="New kudos"
        submit="Give kudos"
        action={() => {
          run(ctx, M.giveKudos(ctx.people, ctx.writer, chosen, text, goal || undefined));
          setText("");
          setGoal("");
        }}
      >
        <Select label="To" value={chosen} options={others.map((p): [string, string] => [p.id, p.name])} onChange={setTo} />
        <Field label="Kudos" value={text} onInput={setText} required />
        <Select label="For goal" value={goal} options={goalOptions(ctx)} onChange={setGoal} />
      </Form>
    </div>
  );
}

function CareerStepForm({ ctx }: { ctx: Ctx }) {
  const [who, setWho] = useState(ctx.writer.me ?? "");
  const [date, setDate] = useState(M.localDate());
  const [before, setBefore] = useState("");
  const [after, setAfter] = useState("");
  const [note, setNote] = useState("");
  return (
    <div class="card">
      <h3>New career step</h3>
      <Form
        label="New career step"
        submit="Add career step"
        action={() => {
          run(ctx, M.addCareerStep(ctx.people, ctx.writer, { participant: who, date, roleBefore: before, roleAfter: after, note }));
          setBefore("");
          setAfter("");
          setNote("");
        }}
      >
        <Select label="Who" value={who} options={ctx.people.filter((p) => p.role !== "observer").map((p): [string, string] => [p.id, p.name])} onChange={setWho} />
        <Field label="Date" type="date" value={date} onInput={setDate} required />
        <Field label="Role before" value={before} onInput={setBefore} required />
        <Field label="Role after" value={after} onInput={setAfter} required />
        <Field label="Note" value={note} onInput={setNote} />
      </Form>
    </div>
  );
}

function RhythmForm({ ctx, settings }: { ctx: Ctx; settings: M.Settings }) {
  const [checkins, setCheckins] = useState(String(settings.checkinRhythmDays));
  const [surveys, setSurveys] = useState(String(settings.surveyRhythmDays));
  return (
    <div class="card">
      <h3>Rhythm</h3>
      <Form
        label="Rhythm"
        submit="Set rhythm"
        action={() => run(ctx, M.setRhythm(ctx.people, ctx.writer, settings, { checkinRhythmDays: Number(checkins), surveyRhythmDays: Number(surveys) }))}
      >
        <Field label="Check-in every (days)" type="number" value={checkins} onInput={setCheckins} />
        <Field label="Pulse survey every (days)" type="number" value={surveys} onInput={setSurveys} />
      </Form>
    </div>
  );
}

/** A long list shows its first page; the rest is rendered only when asked for. */
function ShowMore({ shown, total, what, onMore }: { shown: number; total: number; what: string; onMore: () => void }) {
  if (total <= shown) return null;
  return (
    <button type="button" class="secondary" onClick={onMore}>
      Show all {total} {what}
    </button>
  );
}

export function SyncBadge({ state }: { state: SyncState }) {
  const words: Record<SyncState, string> = {
    online: "Synced with the relay",
    connecting: "Connecting…",
    offline: "Offline: edits are kept here and sync later",
    denied: "Not signed in to the relay: open your invite link again",
  };
  return (
    <span class={`sync sync-${state}`} role="status">
      {words[state]}
    </span>
  );
}

// ----- goals and milestones -----

export function Goals({ ctx }: { ctx: Ctx }) {
  const [title, setTitle] = useState("");
  const [due, setDue] = useState("");
  const [owner, setOwner] = useState("");
  const [description, setDescription] = useState("");
  const [archived, setArchived] = useState(false);
  const goals = M.readGoals(ctx.doc).filter((g) => archived || !g.archived);
  return (
    <section aria-labelledby="goals-h">
      <h2 id="goals-h">Goals</h2>
      {!ctx.readOnly && (
        <Form
          label="New goal"
          submit="Add goal"
          action={() => {
            run(ctx, M.addGoal(ctx.people, ctx.writer, { title, due, owner, description }));
            setTitle("");
            setDue("");
            setOwner("");
            setDescription("");
          }}
        >
          <Field label="Title" value={title} onInput={setTitle} required />
          <div class="pair">
            <Field label="Due" type="date" value={due} onInput={setDue} />
            <Field label="Owner" value={owner} onInput={setOwner} list="people-names" />
          </div>
          <Area label="Description" value={description} onInput={setDescription} />
        </Form>
      )}
      <ShowArchived value={archived} onChange={setArchived} />
      <ul class="list">
        {goals.map((g) => (
          <GoalItem key={g.id} ctx={ctx} goal={g} />
        ))}
      </ul>
    </section>
  );
}

function GoalItem({ ctx, goal }: { ctx: Ctx; goal: M.Goal }) {
  const [editing, setEditing] = useState(false);
  const [f, setF] = useState<M.GoalChanges>({});
  const p = M.progress(goal);
  const name = `goal “${goal.title}”`;
  return (
    <li class={`item ${goal.archived ? "archived" : ""}`}>
      <article aria-label={`Goal: ${goal.title}`}>
        {editing ? (
          <Form
            label={`Edit ${name}`}
            submit="Save"
            action={() => {
              run(ctx, M.setGoal(ctx.people, goal, f));
              setEditing(false);
            }}
            onCancel={() => setEditing(false)}
          >
            <Field label="Title" value={f.title ?? goal.title} onInput={(v) => setF({ ...f, title: v })} required />
            <div class="pair">
              <Select
                label="Status"
                value={f.status ?? goal.status}
                options={M.GOAL_STATUSES.map((s) => [s, s])}
                onChange={(v) => setF({ ...f, status: v })}
              />
              <Field label="Due" type="date" value={f.due ?? goal.due ?? ""} onInput={(v) => setF({ ...f, due: v })} />
            </div>
            <Field label="Owner" value={f.owner ?? M.personName(ctx.people, goal.owner)} onInput={(v) => setF({ ...f, owner: v })} list="people-names" />
          </Form>
        ) : (
          <>
            <div class="row">
              <h3 class="title">{goal.title}</h3>
              <span class={`status status-${goal.status}`}>{goal.status}</span>
              {goal.archived && <span class="tag">archived</span>}
            </div>
            <div class="row muted">
              {goal.owner && <span>Owner: {M.personName(ctx.people, goal.owner)}</span>}
              {goal.due && (
                <span>
                  Due <Day date={goal.due} />
                </span>
              )}
              <span>
                {p.done}/{p.total} milestones
              </span>
            </div>
            {!ctx.readOnly && (
              <div class="buttons">
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Edit ${name}`}
                  onClick={() => {
                    setF({});
                    setEditing(true);
                  }}
                >
                  Edit
                </button>
                <ArchiveButton ctx={ctx} kind="goals" item={goal} name={name} />
              </div>
            )}
          </>
        )}
        <CollabText
          label={`Description of ${name}`}
          handle={ctx.handle}
          path={["goals", goal.id, "description"]}
          readOnly={ctx.readOnly}
          onEdit={(v) => run(ctx, M.editProse("goals", goal.id, "description", v, "the description"))}
        />
        <Milestones ctx={ctx} goal={goal} />
      </article>
    </li>
  );
}

function Milestones({ ctx, goal }: { ctx: Ctx; goal: M.Goal }) {
  const [title, setTitle] = useState("");
  const [due, setDue] = useState("");
  const [editing, setEditing] = useState<string>();
  const [et, setEt] = useState("");
  const [ed, setEd] = useState("");
  const list = goal.milestones.filter((m) => !m.archived || editing === m.id);
  return (
    <div class="milestones">
      <h4>Milestones</h4>
      <ul>
        {list.map((m) =>
          editing === m.id ? (
            <li key={m.id}>
              <Form
                label={`Edit milestone “${m.title}”`}
                submit="Save"
                action={() => {
                  run(ctx, M.setMilestone(goal, m, { title: et, due: ed }));
                  setEditing(undefined);
                }}
                onCancel={() => setEditing(undefined)}
              >
                <Field label="Milestone title" value={et} onInput={setEt} />
                <Field label="Milestone due" type="date" value={ed} onInput={setEd} />
              </Form>
            </li>
          ) : (
            <li key={m.id} class="row">
              <label class="check">
                <input
                  type="checkbox"
                  checked={m.done}
                  disabled={ctx.readOnly}
                  onChange={(e) => run(ctx, M.setMilestone(goal, m, { done: (e.target as HTMLInputElement).checked }))}
                />
                <span class={m.done ? "done" : ""}>{m.title}</span>
              </label>
              {m.due && (
                <span class="muted">
                  <Day date={m.due} />
                </span>
              )}
              {!ctx.readOnly && (
                <>
                  <button
                    type="button"
                    class="link"
                    aria-label={`Edit milestone “${m.title}”`}
                    onClick={() => {
                      setEt(m.title);
                      setEd(m.due ?? "");
                      setEditing(m.id);
                    }}
                  >
                    Edit
                  </button>
                  <button type="button" class="link" aria-label={`Archive milestone “${m.title}”`} onClick={() => run(ctx, M.setMilestone(goal, m, { archived: true }))}>
                    Archive
                  </button>
                </>
              )}
            </li>
          ),
        )}
      </ul>
      {!ctx.readOnly && !goal.archived && (
        <Form
          label={`New milestone of goal “${goal.title}”`}
          submit="Add milestone"
          action={() => {
            run(ctx, M.addMilestone(ctx.writer, goal, title, due));
            setTitle("");
            setDue("");
          }}
        >
          <div class="pair">
            <Field label="Milestone" value={title} onInput={setTitle} />
            <Field label="Milestone due" type="date" value={due} onInput={setDue} />
          </div>
        </Form>
      )}
    </div>
  );
}

// ----- notes (shared and private) -----

export function Notes({ ctx }: { ctx: Ctx }) {
  return <NoteList ctx={ctx} handle={ctx.handle} doc={ctx.doc} heading="Notes" priv={false} />;
}

export function PrivateNotes({ ctx }: { ctx: Ctx }) {
  const [handle, setHandle] = useState<DocHandle<M.Stored>>();
  const [loading, setLoading] = useState(false);
  const doc = useDoc(handle);
  if (!handle && ctx.membership.privateDoc && !loading) {
    setLoading(true);
    void ctx.session.privateNotes(ctx.membership, false).then(setHandle);
  }
  const create = async () => {
    const h = await ctx.session.privateNotes(ctx.membership, true);
    ctx.membership.privateDoc = h?.url;
    setHandle(h);
  };
  return (
    <section aria-labelledby="priv-h">
      <h2 id="priv-h">Private notes</h2>
      <p class="muted">Only in this browser: private notes are never sent to the relay or to anyone else.</p>
      {handle && doc ? (
        <NoteList ctx={{ ...ctx, readOnly: false }} handle={handle} doc={doc} heading="" priv={true} />
      ) : (
        <button type="button" onClick={() => void create()}>
          Start private notes
        </button>
      )}
    </section>
  );
}

function NoteList({ ctx, handle, doc, heading, priv }: { ctx: Ctx; handle: DocHandle<M.Stored>; doc: M.Stored; heading: string; priv: boolean }) {
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [goal, setGoal] = useState("");
  const [tags, setTags] = useState("");
  const [archived, setArchived] = useState(false);
  const here: Ctx = { ...ctx, handle, doc: priv ? ctx.doc : doc };
  const write = (e: M.Edit) => !here.readOnly && e.message && commit(handle, priv ? {} : ctx.writer, e);
  const notes = M.readNotes(doc).filter((n) => archived || !n.archived);
  const kind = priv ? "private note" : "note";
  return (
    <section aria-label={priv ? "Private notes" : undefined} aria-labelledby={priv ? undefined : "notes-h"}>
      {heading && <h2 id="notes-h">{heading}</h2>}
      {!here.readOnly && (
        <Form
          label={`New ${kind}`}
          submit={priv ? "Add private note" : "Add note"}
          action={() => {
            write(M.addNote({ me: ctx.writer.me }, { title, body, goal, tags: tags.split(",") }));
            setTitle("");
            setBody("");
            setTags("");
          }}
        >
          <Field label="Title" value={title} onInput={setTitle} />
          <Area label="Text" value={body} onInput={setBody} />
          <div class="pair">
            <Select label="Goal" value={goal} options={goalOptions(ctx)} onChange={setGoal} />
            <Field label="Tags" value={tags} onInput={setTags} placeholder="comma, separated" />
          </div>
        </Form>
      )}
      <ShowArchived value={archived} onChange={setArchived} />
      <ul class="list">
        {notes.map((n) => (
          <NoteItem key={n.id} ctx={ctx} handle={handle} note={n} write={write} readOnly={here.readOnly} kind={kind} priv={priv} />
        ))}
      </ul>
    </section>
  );
}

function NoteItem({ ctx, handle, note, write, readOnly, kind, priv }: { ctx: Ctx; handle: DocHandle<M.Stored>; note: M.Note; write: (e: M.Edit) => void; readOnly: boolean; kind: string; priv: boolean }) {
  const [editing, setEditing] = useState(false);
  const [t, setT] = useState("");
  const [g, setG] = useState("");
  const name = `${kind} “${note.title || M.short(note.id)}”`;
  const goal = note.goal ? M.readGoals(ctx.doc).find((x) => x.id === note.goal) : undefined;
  return (
    <li class={`item ${note.archived ? "archived" : ""}`}>
      <article aria-label={`Note: ${note.title || M.short(note.id)}`}>
        {editing ? (
          <Form
            label={`Edit ${name}`}
            submit="Save"
            action={() => {
              if (t.trim() !== note.title) write(M.setNoteTitle(note, t));
              if ((g || undefined) !== note.goal) write(M.setNoteGoal(note, g));
              setEditing(false);
            }}
            onCancel={() => setEditing(false)}
          >
            <Field label="Title" value={t} onInput={setT} />
            <Select label="Goal" value={g} options={goalOptions(ctx)} onChange={setG} />
          </Form>
        ) : (
          <div class="row">
            <h3 class="title">{note.title || <span class="muted">Untitled</span>}</h3>
            {note.archived && <span class="tag">archived</span>}
            {note.tags.map((tag) => (
              <span class="tag" key={tag}>
                {tag}
              </span>
            ))}
          </div>
        )}
        <div class="muted row">
          <span>
            {M.personName(ctx.people, note.createdBy) || "someone"}, <When instant={note.createdAt} />
          </span>
          {goal && <span>About: {goal.title}</span>}
        </div>
        <CollabText
          label={`Text of ${name}`}
          handle={handle}
          path={["notes", note.id, "body"]}
          readOnly={readOnly}
          rows={4}
          onEdit={(v) => write(M.editProse("notes", note.id, "body", v, "the note"))}
        />
        {!readOnly && !editing && (
          <div class="buttons">
            <button
              type="button"
              class="secondary"
              aria-label={`Edit ${name}`}
              onClick={() => {
                setT(note.title);
                setG(note.goal ?? "");
                setEditing(true);
              }}
            >
              Edit
            </button>
            <button type="button" class="secondary" aria-label={`${note.archived ? "Restore" : "Archive"} ${name}`} onClick={() => write(M.setArchived("notes", note.id, !note.archived))}>
              {note.archived ? "Restore" : "Archive"}
            </button>
          </div>
        )}
        {priv && <span class="muted">Private</span>}
      </article>
    </li>
  );
}

// ----- check-ins -----

export function CheckIns({ ctx }: { ctx: Ctx }) {
  const [at, setAt] = useState("");
  const [agenda, setAgenda] = useState("");
  const [link, setLink] = useState("");
  const [archived, setArchived] = useState(false);
  const list = M.readCheckIns(ctx.doc).filter((c) => archived || !c.archived);
  return (
    <section aria-labelledby="ci-h">
      <h2 id="ci-h">Check-ins</h2>
      {!ctx.readOnly && (
        <Form
          label="New check-in"
          submit="Schedule check-in"
          action={() => {
            run(ctx, M.addCheckIn(ctx.writer, at, agenda, link));
            setAt("");
            setAgenda("");
            setLink("");
          }}
        >
          <div class="pair">
            <Field label="When" type="datetime-local" value={at} onInput={setAt} required />
            <Field label="Meeting link" type="url" value={link} onInput={setLink} />
          </div>
          <Area label="Agenda" value={agenda} onInput={setAgenda} />
        </Form>
      )}
      <ShowArchived value={archived} onChange={setArchived} />
      <ul class="list">
        {list.map((c) => (
          <CheckInItem key={c.id} ctx={ctx} c={c} />
        ))}
      </ul>
    </section>
  );
}

function CheckInItem({ ctx, c }: { ctx: Ctx; c: M.CheckIn }) {
  const [editing, setEditing] = useState(false);
  const [at, setAt] = useState("");
  const [link, setLink] = useState("");
  const mine = c.ratings.find((r) => r.participant === ctx.writer.me);
  const [rating, setRating] = useState(String(mine?.rating ?? 5));
  const [comment, setComment] = useState(mine?.comment ?? "");
  const name = `check-in of ${c.at ? new Date(c.at).toLocaleString() : M.short(c.id)}`;
  return (
    <li class={`item ${c.archived ? "archived" : ""}`}>
      <article aria-label={`Check-in: ${c.at ?? c.id}`}>
        {editing ? (
          <Form
            label={`Edit ${name}`}
            submit="Save"
            action={() => {
              run(ctx, M.setCheckIn(c, { atLocal: at, meetingLink: link }));
              setEditing(false);
            }}
            onCancel={() => setEditing(false)}
          >
            <Field label="When" type="datetime-local" value={at} onInput={setAt} />
            <Field label="Meeting link" type="url" value={link} onInput={setLink} />
          </Form>
        ) : (
          <div class="row">
            <h3 class="title">
              <When instant={c.at} />
            </h3>
            {c.archived && <span class="tag">archived</span>}
            {c.meetingLink && <SafeLink href={c.meetingLink}>Meeting link</SafeLink>}
          </div>
        )}
        <CollabText label={`Agenda of ${name}`} handle={ctx.handle} path={["checkins", c.id, "agenda"]} readOnly={ctx.readOnly} onEdit={(v) => run(ctx, M.editProse("checkins", c.id, "agenda", v, "the agenda"))} />
        <CollabText label={`Notes of ${name}`} handle={ctx.handle} path={["checkins", c.id, "notes"]} readOnly={ctx.readOnly} onEdit={(v) => run(ctx, M.editProse("checkins", c.id, "notes", v, "the notes"))} />
        <h4>Ratings</h4>
        {c.ratings.length === 0 && <p class="muted">No ratings yet.</p>}
        <ul>
          {c.ratings.map((r) => (
            <li key={r.participant}>
              {M.personName(ctx.people, r.participant)}: {r.rating ?? "?"}/5{r.comment ? ` — ${r.comment}` : ""}
            </li>
          ))}
        </ul>
        {!ctx.readOnly && ctx.writer.me && (
          <Form label={`Rate ${name}`} submit="Rate" action={() => run(ctx, M.rateCheckIn(ctx.writer, c, Number(rating), comment))}>
            <div class="pair">
              <Select label="Rating" value={rating} options={["1", "2", "3", "4", "5"].map((n) => [n, `${n} of 5`])} onChange={setRating} />
              <Field label="Comment" value={comment} onInput={setComment} />
            </div>
          </Form>
        )}
        {!ctx.readOnly && !editing && (
          <div class="buttons">
            <button
              type="button"
              class="secondary"
              aria-label={`Edit ${name}`}
              onClick={() => {
                setAt(M.localFromInstant(c.at));
                setLink(c.meetingLink ?? "");
                setEditing(true);
              }}
            >
              Edit
            </button>
            <ArchiveButton ctx={ctx} kind="checkins" item={c} name={name} />
          </div>
        )}
      </article>
    </li>
  );
}

// ----- action items -----

export function Actions({ ctx }: { ctx: Ctx }) {
  const [title, setTitle] = useState("");
  const [owner, setOwner] = useState("");
  const [due, setDue] = useState("");
  const [goal, setGoal] = useState("");
  const [archived, setArchived] = useState(false);
  const today = M.localDate();
  const list = M.readActions(ctx.doc).filter((a) => archived || !a.archived);
  return (
    <section aria-labelledby="act-h">
      <h2 id="act-h">Action items</h2>
      {!ctx.readOnly && (
        <Form
          label="New action item"
          submit="Add action"
          action={() => {
            run(ctx, M.addAction(ctx.people, ctx.writer, { title, owner, due, goal }));
            setTitle("");
            setOwner("");
            setDue("");
          }}
        >
          <Field label="Title" value={title} onInput={setTitle} required />
          <div class="pair">
            <Field label="Owner" value={owner} onInput={setOwner} list="people-names" />
            <Field label="Due" type="date" value={due} onInput={setDue} />
          </div>
          <Select label="Goal" value={goal} options={goalOptions(ctx)} onChange={setGoal} />
        </Form>
      )}
      <ShowArchived value={archived} onChange={setArchived} />
      <ul class="list">
        {list.map((a) => (
          <ActionItem key={a.id} ctx={ctx} a={a} today={today} />
        ))}
      </ul>
    </section>
  );
}

function ActionItem({ ctx, a, today }: { ctx: Ctx; a: M.Action; today: string }) {
  const [editing, setEditing] = useState(false);
  const [f, setF] = useState({ title: "", owner: "", due: "", goal: "" });
  const name = `action “${a.title}”`;
  const late = M.overdue(a, today);
  return (
    <li class={`item ${a.archived ? "archived" : ""} ${late ? "is-overdue" : ""}`}>
      <article aria-label={`Action: ${a.title}`}>
        {editing ? (
          <Form
            label={`Edit ${name}`}
            submit="Save"
            action={() => {
              run(ctx, M.setAction(ctx.people, a, f));
              setEditing(false);
            }}
            onCancel={() => setEditing(false)}
          >
            <Field label="Title" value={f.title} onInput={(v) => setF({ ...f, title: v })} />
            <div class="pair">
              <Field label="Owner" value={f.owner} onInput={(v) => setF({ ...f, owner: v })} list="people-names" />
              <Field label="Due" type="date" value={f.due} onInput={(v) => setF({ ...f, due: v })} />
            </div>
            <Select label="Goal" value={f.goal} options={goalOptions(ctx)} onChange={(v) => setF({ ...f, goal: v })} />
          </Form>
        ) : (
          <>
            <div class="row">
              <label class="check">
                <input type="checkbox" checked={a.done} disabled={ctx.readOnly} aria-label={`Done: ${a.title}`} onChange={(e) => run(ctx, M.completeAction(a, (e.target as HTMLInputElement).checked))} />
                <span class={`title ${a.done ? "done" : ""}`}>{a.title}</span>
              </label>
              {a.archived && <span class="tag">archived</span>}
            </div>
            <div class="row muted">
              {a.owner && <span>{M.personName(ctx.people, a.owner)}</span>}
              {a.due && (
                <span class={late ? "overdue" : ""}>
                  {late ? "Overdue since " : "Due "}
                  <Day date={a.due} />
                </span>
              )}
            </div>
            {!ctx.readOnly && (
              <div class="buttons">
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Edit ${name}`}
                  onClick={() => {
                    setF({ title: a.title, owner: M.personName(ctx.people, a.owner), due: a.due ?? "", goal: a.goal ?? "" });
                    setEditing(true);
                  }}
                >
                  Edit
                </button>
                <ArchiveButton ctx={ctx} kind="actions" item={a} name={name} />
              </div>
            )}
          </>
        )}
      </article>
    </li>
  );
}

// ----- resources -----

export function Resources({ ctx }: { ctx: Ctx }) {
  const [title, setTitle] = useState("");
  const [url, setUrl] = useState("");
  const [note, setNote] = useState("");
  const [archived, setArchived] = useState(false);
  const list = M.readResources(ctx.doc).filter((r) => archived || !r.archived);
  return (
    <section aria-labelledby="res-h">
      <h2 id="res-h">Resources</h2>
      {!ctx.readOnly && (
        <Form
          label="New resource"
          submit="Add resource"
          action={() => {
            run(ctx, M.addResource(ctx.writer, title, url, note));
            setTitle("");
            setUrl("");
            setNote("");
          }}
        >
          <div class="pair">
            <Field label="Title" value={title} onInput={setTitle} required />
            <Field label="URL" type="url" value={url} onInput={setUrl} required />
          </div>
          <Area label="Why it is useful" value={note} onInput={setNote} />
        </Form>
      )}
      <ShowArchived value={archived} onChange={setArchived} />
      <ul class="list">
        {list.map((r) => (
          <ResourceItem key={r.id} ctx={ctx} r={r} />
        ))}
      </ul>
    </section>
  );
}

function ResourceItem({ ctx, r }: { ctx: Ctx; r: M.Resource }) {
  const [editing, setEditing] = useState(false);
  const [f, setF] = useState({ title: "", url: "", goal: "" });
  const name = `resource “${r.title}”`;
  return (
    <li class={`item ${r.archived ? "archived" : ""}`}>
      <article aria-label={`Resource: ${r.title}`}>
        {editing ? (
          <Form
            label={`Edit ${name}`}
            submit="Save"
            action={() => {
              run(ctx, M.setResource(r, f));
              setEditing(false);
            }}
            onCancel={() => setEditing(false)}
          >
            <Field label="Title" value={f.title} onInput={(v) => setF({ ...f, title: v })} />
            <Field label="URL" type="url" value={f.url} onInput={(v) => setF({ ...f, url: v })} />
            <Select label="Goal" value={f.goal} options={goalOptions(ctx)} onChange={(v) => setF({ ...f, goal: v })} />
          </Form>
        ) : (
          <div class="row">
            <h3 class="title">
              <SafeLink href={r.url}>{r.title}</SafeLink>
            </h3>
            {r.archived && <span class="tag">archived</span>}
            <span class="muted url">{r.url}</span>
          </div>
        )}
        <CollabText label={`Note on ${name}`} handle={ctx.handle} path={["resources", r.id, "note"]} readOnly={ctx.readOnly} onEdit={(v) => run(ctx, M.editProse("resources", r.id, "note", v, "the note"))} />
        {!ctx.readOnly && !editing && (
          <div class="buttons">
            <button
              type="button"
              class="secondary"
              aria-label={`Edit ${name}`}
              onClick={() => {
                setF({ title: r.title, url: r.url, goal: r.goal ?? "" });
                setEditing(true);
              }}
            >
              Edit
            </button>
            <ArchiveButton ctx={ctx} kind="resources" item={r} name={name} />
          </div>
        )}
      </article>
    </li>
  );
}

// ----- history, conflicts, people -----

function authorName(ctx: Ctx, actor: string): string {
  return M.authorOf(ctx.people, actor)?.name ?? `device ${actor.slice(0, 8)}`;
}

export function History({ ctx }: { ctx: Ctx }) {
  const entries = M.history(ctx.doc, 200);
  return (
    <section aria-labelledby="hist-h">
      <h2 id="hist-h">History</h2>
      <p class="muted">Who changed what, newest first (the latest 200 changes).</p>
      <ol class="history">
        {entries.map((e) => (
          <li key={e.hash}>
            <ChangeTime secs={e.time} /> <strong>{authorName(ctx, e.actor)}</strong> {e.message || "(change without a description)"}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function Conflicts({ ctx }: { ctx: Ctx }) {
  const list = M.conflicts(ctx.doc);
  return (
    <section aria-labelledby="conf-h">
      <h2 id="conf-h">Conflicts</h2>
      <p class="muted">When two people set the same field at the same time, both values are kept here until someone picks one.</p>
      {list.length === 0 && <p>No conflicts.</p>}
      <ul class="list">
        {list.map((c) => (
          <li class="item" key={c.path.join("/")}>
            <h3 class="title">{c.label}</h3>
            <ul>
              {c.values.map((v, i) => (
                <li key={i} class="row">
                  <span>
                    “{v.value}” by {authorName(ctx, v.actor)}
                    {v.winner ? " (shown now)" : ""}
                  </span>
                  {!ctx.readOnly && (
                    <button type="button" aria-label={`Keep “${v.value}” for ${c.label}`} onClick={() => run(ctx, M.chooseValue(c, v.value))}>
                      Keep this
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function People({ ctx }: { ctx: Ctx }) {
  const [title, setTitle] = useState(M.workspaceTitle(ctx.doc));
  return (
    <section aria-labelledby="people-h">
      <h2 id="people-h">Participants</h2>
      <ul class="list">
        {ctx.people.map((p) => (
          <li class="item row" key={p.id}>
            <strong>{p.name}</strong>
            <span class="tag">{p.role}</span>
            {p.id === ctx.writer.me && <span class="tag">you</span>}
            <span class="muted">
              {p.devices.length} device{p.devices.length === 1 ? "" : "s"}
              {p.createdAt && (
                <>
                  , joined <When instant={p.createdAt} />
                </>
              )}
            </span>
          </li>
        ))}
      </ul>
      {!ctx.readOnly && (
        <Form label="Workspace name" submit="Rename workspace" action={() => run(ctx, M.renameWorkspace(title))}>
          <Field label="Workspace name" value={title} onInput={setTitle} />
        </Form>
      )}
    </section>
  );
}
