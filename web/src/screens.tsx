// The screens of a workspace: the plan, goals and milestones, notes, check-ins, action items,
// resources, history, conflicts, participants and private notes.
//
// Each screen reads the plain views of model.ts and writes through its edit functions; `Ctx`
// carries what every screen needs. A read-only person sees the same screens without a single
// control that would change the document.

import { useEffect, useMemo, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import type { DocHandle } from "@automerge/automerge-repo/slim";
import * as M from "./model";
import { commit, type Membership, type Session, type SyncState } from "./session";
import { keepPlan, lastAndNext, planView, rhythmOf, surveyDueOf, type PlanView } from "./plan";
import { Area, ChangeTime, CollabText, Day, Field, Form, SafeLink, Select, When, useDoc, useDraft } from "./ui";

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

/** How a screen writes to the shared document, for the parts that also serve private notes. */
type Write = (edit: M.Edit) => void;

/**
 * The screen of one kind of item (goals, check-ins, action items, resources, notes): its
 * heading, the form for a new item for those who may write, the "Show archived" switch and the
 * list, with archived items only when the switch is on.
 */
function ItemScreen<T extends M.Header>(props: {
  headingId: string;
  heading: string;
  /** The section's name when it has no heading of its own. */
  label?: string;
  readOnly: boolean;
  items: T[];
  item: (item: T) => ComponentChildren;
  /** The form for a new item. */
  children: ComponentChildren;
}) {
  const [archived, setArchived] = useState(false);
  return (
    <section aria-label={props.label} aria-labelledby={props.heading ? props.headingId : undefined}>
      {props.heading && <h2 id={props.headingId}>{props.heading}</h2>}
      {!props.readOnly && props.children}
      <ShowArchived value={archived} onChange={setArchived} />
      <ul class="list">{props.items.filter((i) => archived || !i.archived).map((i) => props.item(i))}</ul>
    </section>
  );
}

/** One item in its screen's list: a card, dashed when archived, named by `label`. */
function ItemCard({ item, label, also, children }: { item: M.Header; label: string; also?: string; children: ComponentChildren }) {
  const archived = item.archived ? "archived" : "";
  return (
    <li class={also === undefined ? `item ${archived}` : `item ${archived} ${also}`}>
      <article aria-label={label}>{children}</article>
    </li>
  );
}

/**
 * Editing an item in place: whether its form is open, and the form's fields, filled by `from`
 * (the item as it is) each time the editing starts.
 */
function useEditor<T extends object>(from: () => T) {
  const [editing, setEditing] = useState(false);
  const { draft, set, fill } = useDraft(from);
  return {
    editing,
    draft,
    set,
    start: () => {
      fill(from());
      setEditing(true);
    },
    stop: () => setEditing(false),
  };
}

/** The form that edits an item in place: Save writes the changes and closes it, Cancel closes it. */
function EditForm({ name, save, close, children }: { name: string; save: () => void; close: () => void; children: ComponentChildren }) {
  return (
    <Form
      label={`Edit ${name}`}
      submit="Save"
      action={() => {
        save();
        close();
      }}
      onCancel={() => close()}
    >
      {children}
    </Form>
  );
}

/** A form that adds something: it writes what `add` makes, then empties its fields with `clear`. */
function AddForm({ label, submit, add, clear, children }: { label: string; submit: string; add: () => void; clear: () => void; children: ComponentChildren }) {
  return (
    <Form
      label={label}
      submit={submit}
      action={() => {
        add();
        clear();
      }}
    >
      {children}
    </Form>
  );
}

/** Under an item a person may change: Edit opens its form in place, Archive hides it and Restore brings it back. */
function ItemButtons({ name, kind, item, onEdit, write }: { name: string; kind: M.Collection; item: M.Header; onEdit: () => void; write: Write }) {
  return (
    <div class="buttons">
      <button type="button" class="secondary" aria-label={`Edit ${name}`} onClick={() => onEdit()}>
        Edit
      </button>
      <button type="button" class="secondary" aria-label={`${item.archived ? "Restore" : "Archive"} ${name}`} onClick={() => write(M.setArchived(kind, item.id, !item.archived))}>
        {item.archived ? "Restore" : "Archive"}
      </button>
    </div>
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
                {a.due && <ActionDue due={a.due} late={late} calm="muted" />}
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

/** An answer from 1 to 5, as check-ins are rated and pulse surveys answered. */
const RATINGS: [string, string][] = ["1", "2", "3", "4", "5"].map((n) => [n, `${n} of 5`]);
const SCALE: [string, string][] = [["", "Choose…"], ...RATINGS];

/** The pulse survey: three questions from 1 to 5 and a comment, for the current period. */
function SurveyForm({ ctx }: { ctx: Ctx }) {
  const { draft, set, clear } = useDraft({ progress: "", relationship: "", recommend: "", comment: "" });
  return (
    <div class="banner">
      <h3>Pulse survey due</h3>
      <p>Three quick questions about how the mentoring is going; your partner sees your answers.</p>
      <AddForm
        label="Pulse survey"
        submit="Send answers"
        add={() => {
          const { progress, relationship, recommend, comment } = draft;
          run(ctx, M.answerSurvey(ctx.doc, ctx.writer, { progress: Number(progress), relationship: Number(relationship), recommend: Number(recommend), comment }));
        }}
        clear={clear}
      >
        <div class="pair">
          {M.SURVEY_QUESTIONS.map(([key, label]) => (
            <Select key={key} label={label} value={draft[key]} options={SCALE} onChange={set(key)} />
          ))}
        </div>
        <Field label="Comment" value={draft.comment} onInput={set("comment")} />
      </AddForm>
    </div>
  );
}

function KudosForm({ ctx }: { ctx: Ctx }) {
  const others = ctx.people.filter((p) => p.id !== ctx.writer.me);
  const { draft, set, clear } = useDraft({ to: "", text: "", goal: "" });
  const chosen = draft.to || others[0]?.id || "";
  if (others.length === 0) return null;
  return (
    <div class="card">
      <h3>Kudos</h3>
      <AddForm label="New kudos" submit="Give kudos" add={() => run(ctx, M.giveKudos(ctx.people, ctx.writer, chosen, draft.text, draft.goal || undefined))} clear={() => clear("text", "goal")}>
        <Select label="To" value={chosen} options={others.map((p): [string, string] => [p.id, p.name])} onChange={set("to")} />
        <Field label="Kudos" value={draft.text} onInput={set("text")} required />
        <Select label="For goal" value={draft.goal} options={goalOptions(ctx)} onChange={set("goal")} />
      </AddForm>
    </div>
  );
}

function CareerStepForm({ ctx }: { ctx: Ctx }) {
  const { draft, set, clear } = useDraft(() => ({ participant: ctx.writer.me ?? "", date: M.localDate(), roleBefore: "", roleAfter: "", note: "" }));
  return (
    <div class="card">
      <h3>New career step</h3>
      <AddForm label="New career step" submit="Add career step" add={() => run(ctx, M.addCareerStep(ctx.people, ctx.writer, draft))} clear={() => clear("roleBefore", "roleAfter", "note")}>
        <Select label="Who" value={draft.participant} options={ctx.people.filter((p) => p.role !== "observer").map((p): [string, string] => [p.id, p.name])} onChange={set("participant")} />
        <Field label="Date" type="date" value={draft.date} onInput={set("date")} required />
        <Field label="Role before" value={draft.roleBefore} onInput={set("roleBefore")} required />
        <Field label="Role after" value={draft.roleAfter} onInput={set("roleAfter")} required />
        <Field label="Note" value={draft.note} onInput={set("note")} />
      </AddForm>
    </div>
  );
}

function RhythmForm({ ctx, settings }: { ctx: Ctx; settings: M.Settings }) {
  const { draft, set } = useDraft({ checkins: String(settings.checkinRhythmDays), surveys: String(settings.surveyRhythmDays) });
  return (
    <div class="card">
      <h3>Rhythm</h3>
      <Form
        label="Rhythm"
        submit="Set rhythm"
        action={() => run(ctx, M.setRhythm(ctx.people, ctx.writer, settings, { checkinRhythmDays: Number(draft.checkins), surveyRhythmDays: Number(draft.surveys) }))}
      >
        <Field label="Check-in every (days)" type="number" value={draft.checkins} onInput={set("checkins")} />
        <Field label="Pulse survey every (days)" type="number" value={draft.surveys} onInput={set("surveys")} />
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
  const { draft, set, clear } = useDraft({ title: "", due: "", owner: "", description: "" });
  return (
    <ItemScreen headingId="goals-h" heading="Goals" readOnly={ctx.readOnly} items={M.readGoals(ctx.doc)} item={(g) => <GoalItem key={g.id} ctx={ctx} goal={g} />}>
      <AddForm label="New goal" submit="Add goal" add={() => run(ctx, M.addGoal(ctx.people, ctx.writer, draft))} clear={clear}>
        <Field label="Title" value={draft.title} onInput={set("title")} required />
        <div class="pair">
          <Field label="Due" type="date" value={draft.due} onInput={set("due")} />
          <Field label="Owner" value={draft.owner} onInput={set("owner")} list="people-names" />
        </div>
        <Area label="Description" value={draft.description} onInput={set("description")} />
      </AddForm>
    </ItemScreen>
  );
}

function GoalItem({ ctx, goal }: { ctx: Ctx; goal: M.Goal }) {
  // Only what the person changed is written, so the form starts empty and shows the goal as it is.
  const editor = useEditor((): M.GoalChanges => ({}));
  const f = editor.draft;
  const p = M.progress(goal);
  const name = `goal “${goal.title}”`;
  return (
    <ItemCard item={goal} label={`Goal: ${goal.title}`}>
      {editor.editing ? (
        <EditForm name={name} save={() => run(ctx, M.setGoal(ctx.people, goal, f))} close={editor.stop}>
          <Field label="Title" value={f.title ?? goal.title} onInput={editor.set("title")} required />
          <div class="pair">
            <Select label="Status" value={f.status ?? goal.status} options={M.GOAL_STATUSES.map((s) => [s, s])} onChange={editor.set("status")} />
            <Field label="Due" type="date" value={f.due ?? goal.due ?? ""} onInput={editor.set("due")} />
          </div>
          <Field label="Owner" value={f.owner ?? M.personName(ctx.people, goal.owner)} onInput={editor.set("owner")} list="people-names" />
        </EditForm>
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
          {!ctx.readOnly && <ItemButtons name={name} kind="goals" item={goal} onEdit={editor.start} write={(e) => run(ctx, e)} />}
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
    </ItemCard>
  );
}

function Milestones({ ctx, goal }: { ctx: Ctx; goal: M.Goal }) {
  const { draft, set, clear } = useDraft({ title: "", due: "" });
  const [editing, setEditing] = useState<string>();
  const edit = useDraft({ title: "", due: "" });
  const list = goal.milestones.filter((m) => !m.archived || editing === m.id);
  return (
    <div class="milestones">
      <h4>Milestones</h4>
      <ul>
        {list.map((m) =>
          editing === m.id ? (
            <li key={m.id}>
              <EditForm name={`milestone “${m.title}”`} save={() => run(ctx, M.setMilestone(goal, m, edit.draft))} close={() => setEditing(undefined)}>
                <Field label="Milestone title" value={edit.draft.title} onInput={edit.set("title")} />
                <Field label="Milestone due" type="date" value={edit.draft.due} onInput={edit.set("due")} />
              </EditForm>
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
                      edit.fill({ title: m.title, due: m.due ?? "" });
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
        <AddForm label={`New milestone of goal “${goal.title}”`} submit="Add milestone" add={() => run(ctx, M.addMilestone(ctx.writer, goal, draft.title, draft.due))} clear={clear}>
          <div class="pair">
            <Field label="Milestone" value={draft.title} onInput={set("title")} />
            <Field label="Milestone due" type="date" value={draft.due} onInput={set("due")} />
          </div>
        </AddForm>
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
  const { draft, set, clear } = useDraft({ title: "", body: "", goal: "", tags: "" });
  // Private notes are written to their own document, with no author: they never leave this browser.
  const write: Write = (e) => !ctx.readOnly && e.message && commit(handle, priv ? {} : ctx.writer, e);
  const kind = priv ? "private note" : "note";
  return (
    <ItemScreen
      headingId="notes-h"
      heading={heading}
      label={priv ? "Private notes" : undefined}
      readOnly={ctx.readOnly}
      items={M.readNotes(doc)}
      item={(n) => <NoteItem key={n.id} ctx={ctx} handle={handle} note={n} write={write} readOnly={ctx.readOnly} kind={kind} priv={priv} />}
    >
      <AddForm
        label={`New ${kind}`}
        submit={priv ? "Add private note" : "Add note"}
        add={() => write(M.addNote({ me: ctx.writer.me }, { title: draft.title, body: draft.body, goal: draft.goal, tags: draft.tags.split(",") }))}
        clear={() => clear("title", "body", "tags")}
      >
        <Field label="Title" value={draft.title} onInput={set("title")} />
        <Area label="Text" value={draft.body} onInput={set("body")} />
        <div class="pair">
          <Select label="Goal" value={draft.goal} options={goalOptions(ctx)} onChange={set("goal")} />
          <Field label="Tags" value={draft.tags} onInput={set("tags")} placeholder="comma, separated" />
        </div>
      </AddForm>
    </ItemScreen>
  );
}

function NoteItem({ ctx, handle, note, write, readOnly, kind, priv }: { ctx: Ctx; handle: DocHandle<M.Stored>; note: M.Note; write: Write; readOnly: boolean; kind: string; priv: boolean }) {
  const editor = useEditor(() => ({ title: note.title, goal: note.goal ?? "" }));
  const f = editor.draft;
  const name = `${kind} “${note.title || M.short(note.id)}”`;
  const goal = note.goal ? M.readGoals(ctx.doc).find((x) => x.id === note.goal) : undefined;
  return (
    <ItemCard item={note} label={`Note: ${note.title || M.short(note.id)}`}>
      {editor.editing ? (
        <EditForm
          name={name}
          save={() => {
            if (f.title.trim() !== note.title) write(M.setNoteTitle(note, f.title));
            if ((f.goal || undefined) !== note.goal) write(M.setNoteGoal(note, f.goal));
          }}
          close={editor.stop}
        >
          <Field label="Title" value={f.title} onInput={editor.set("title")} />
          <Select label="Goal" value={f.goal} options={goalOptions(ctx)} onChange={editor.set("goal")} />
        </EditForm>
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
      {!readOnly && !editor.editing && <ItemButtons name={name} kind="notes" item={note} onEdit={editor.start} write={write} />}
      {priv && <span class="muted">Private</span>}
    </ItemCard>
  );
}

// ----- check-ins -----

export function CheckIns({ ctx }: { ctx: Ctx }) {
  const { draft, set, clear } = useDraft({ at: "", agenda: "", link: "" });
  return (
    <ItemScreen headingId="ci-h" heading="Check-ins" readOnly={ctx.readOnly} items={M.readCheckIns(ctx.doc)} item={(c) => <CheckInItem key={c.id} ctx={ctx} c={c} />}>
      <AddForm label="New check-in" submit="Schedule check-in" add={() => run(ctx, M.addCheckIn(ctx.writer, draft.at, draft.agenda, draft.link))} clear={clear}>
        <div class="pair">
          <Field label="When" type="datetime-local" value={draft.at} onInput={set("at")} required />
          <Field label="Meeting link" type="url" value={draft.link} onInput={set("link")} />
        </div>
        <Area label="Agenda" value={draft.agenda} onInput={set("agenda")} />
      </AddForm>
    </ItemScreen>
  );
}

function CheckInItem({ ctx, c }: { ctx: Ctx; c: M.CheckIn }) {
  const editor = useEditor(() => ({ atLocal: M.localFromInstant(c.at), meetingLink: c.meetingLink ?? "" }));
  const mine = c.ratings.find((r) => r.participant === ctx.writer.me);
  const rate = useDraft({ rating: String(mine?.rating ?? 5), comment: mine?.comment ?? "" });
  const name = `check-in of ${c.at ? new Date(c.at).toLocaleString() : M.short(c.id)}`;
  return (
    <ItemCard item={c} label={`Check-in: ${c.at ?? c.id}`}>
      {editor.editing ? (
        <EditForm name={name} save={() => run(ctx, M.setCheckIn(c, editor.draft))} close={editor.stop}>
          <Field label="When" type="datetime-local" value={editor.draft.atLocal} onInput={editor.set("atLocal")} />
          <Field label="Meeting link" type="url" value={editor.draft.meetingLink} onInput={editor.set("meetingLink")} />
        </EditForm>
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
        <Form label={`Rate ${name}`} submit="Rate" action={() => run(ctx, M.rateCheckIn(ctx.writer, c, Number(rate.draft.rating), rate.draft.comment))}>
          <div class="pair">
            <Select label="Rating" value={rate.draft.rating} options={RATINGS} onChange={rate.set("rating")} />
            <Field label="Comment" value={rate.draft.comment} onInput={rate.set("comment")} />
          </div>
        </Form>
      )}
      {!ctx.readOnly && !editor.editing && <ItemButtons name={name} kind="checkins" item={c} onEdit={editor.start} write={(e) => run(ctx, e)} />}
    </ItemCard>
  );
}

// ----- action items -----

/** When an action is due or, once that day has passed, since when it is overdue; `calm` styles it while not late. */
function ActionDue({ due, late, calm }: { due: string; late: boolean; calm: string }) {
  return (
    <span class={late ? "overdue" : calm}>
      {late ? "Overdue since " : "Due "}
      <Day date={due} />
    </span>
  );
}

export function Actions({ ctx }: { ctx: Ctx }) {
  const { draft, set, clear } = useDraft({ title: "", owner: "", due: "", goal: "" });
  const today = M.localDate();
  return (
    <ItemScreen headingId="act-h" heading="Action items" readOnly={ctx.readOnly} items={M.readActions(ctx.doc)} item={(a) => <ActionItem key={a.id} ctx={ctx} a={a} today={today} />}>
      <AddForm label="New action item" submit="Add action" add={() => run(ctx, M.addAction(ctx.people, ctx.writer, draft))} clear={() => clear("title", "owner", "due")}>
        <Field label="Title" value={draft.title} onInput={set("title")} required />
        <div class="pair">
          <Field label="Owner" value={draft.owner} onInput={set("owner")} list="people-names" />
          <Field label="Due" type="date" value={draft.due} onInput={set("due")} />
        </div>
        <Select label="Goal" value={draft.goal} options={goalOptions(ctx)} onChange={set("goal")} />
      </AddForm>
    </ItemScreen>
  );
}

function ActionItem({ ctx, a, today }: { ctx: Ctx; a: M.Action; today: string }) {
  const editor = useEditor(() => ({ title: a.title, owner: M.personName(ctx.people, a.owner), due: a.due ?? "", goal: a.goal ?? "" }));
  const f = editor.draft;
  const name = `action “${a.title}”`;
  const late = M.overdue(a, today);
  return (
    <ItemCard item={a} label={`Action: ${a.title}`} also={late ? "is-overdue" : ""}>
      {editor.editing ? (
        <EditForm name={name} save={() => run(ctx, M.setAction(ctx.people, a, f))} close={editor.stop}>
          <Field label="Title" value={f.title} onInput={editor.set("title")} />
          <div class="pair">
            <Field label="Owner" value={f.owner} onInput={editor.set("owner")} list="people-names" />
            <Field label="Due" type="date" value={f.due} onInput={editor.set("due")} />
          </div>
          <Select label="Goal" value={f.goal} options={goalOptions(ctx)} onChange={editor.set("goal")} />
        </EditForm>
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
            {a.due && <ActionDue due={a.due} late={late} calm="" />}
          </div>
          {!ctx.readOnly && <ItemButtons name={name} kind="actions" item={a} onEdit={editor.start} write={(e) => run(ctx, e)} />}
        </>
      )}
    </ItemCard>
  );
}

// ----- resources -----

export function Resources({ ctx }: { ctx: Ctx }) {
  const { draft, set, clear } = useDraft({ title: "", url: "", note: "" });
  return (
    <ItemScreen headingId="res-h" heading="Resources" readOnly={ctx.readOnly} items={M.readResources(ctx.doc)} item={(r) => <ResourceItem key={r.id} ctx={ctx} r={r} />}>
      <AddForm label="New resource" submit="Add resource" add={() => run(ctx, M.addResource(ctx.writer, draft.title, draft.url, draft.note))} clear={clear}>
        <div class="pair">
          <Field label="Title" value={draft.title} onInput={set("title")} required />
          <Field label="URL" type="url" value={draft.url} onInput={set("url")} required />
        </div>
        <Area label="Why it is useful" value={draft.note} onInput={set("note")} />
      </AddForm>
    </ItemScreen>
  );
}

function ResourceItem({ ctx, r }: { ctx: Ctx; r: M.Resource }) {
  const editor = useEditor(() => ({ title: r.title, url: r.url, goal: r.goal ?? "" }));
  const f = editor.draft;
  const name = `resource “${r.title}”`;
  return (
    <ItemCard item={r} label={`Resource: ${r.title}`}>
      {editor.editing ? (
        <EditForm name={name} save={() => run(ctx, M.setResource(r, f))} close={editor.stop}>
          <Field label="Title" value={f.title} onInput={editor.set("title")} />
          <Field label="URL" type="url" value={f.url} onInput={editor.set("url")} />
          <Select label="Goal" value={f.goal} options={goalOptions(ctx)} onChange={editor.set("goal")} />
        </EditForm>
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
      {!ctx.readOnly && !editor.editing && <ItemButtons name={name} kind="resources" item={r} onEdit={editor.start} write={(e) => run(ctx, e)} />}
    </ItemCard>
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
