// The app's frame: which page to show (the join page, a workspace, or a welcome), the workspace's
// navigation, and joining: turning an invite code and a name into a participant.
//
// Routes live in the URL's fragment (`#/w/<document id>/<screen>`), which the browser never
// sends to the server. The coordinators' page is `/program`; the join page is `/j/<code>`; once the code is redeemed the address is
// replaced, so the code does not stay in the history either.

import { useEffect, useMemo, useState } from "preact/hooks";
import type { DocHandle } from "@automerge/automerge-repo/slim";
import * as M from "./model";
import {
  JoinError,
  automergeReady,
  Session,
  accessTo,
  actorOf,
  commit,
  currentSession,
  lastWorkspace,
  membership,
  memberships,
  redeem,
  remember,
  shown,
  startSession,
  type Membership,
  type Redeemed,
  type SyncState,
} from "./session";
import { Actions, CheckIns, Conflicts, Goals, History, Names, Notes, People, Plan, PlanBody, PrivateNotes, Resources, SyncBadge, type Ctx } from "./screens";
import { cachedPlan, keepPlan, planView, rhythmOf, surveyDueOf, type PlanView } from "./plan";
import { ProgramPage } from "./program";
import type { ComponentChildren } from "preact";
import { Field, useDoc } from "./ui";

const SCREENS = [
  ["plan", "Plan", Plan],
  ["goals", "Goals", Goals],
  ["notes", "Notes", Notes],
  ["checkins", "Check-ins", CheckIns],
  ["actions", "Actions", Actions],
  ["resources", "Resources", Resources],
  ["history", "History", History],
  ["conflicts", "Conflicts", Conflicts],
  ["people", "People", People],
  ["private", "Private notes", PrivateNotes],
] as const;

type Route =
  | { page: "join"; code: string }
  | { page: "workspace"; id: string; screen: string }
  | { page: "welcome" }
  | { page: "program" }
  | { page: "plans" };

function route(): Route {
  if (/^\/program\/?$/.test(location.pathname)) return { page: "program" };
  const join = /^\/j\/([^/]+)\/?$/.exec(location.pathname);
  if (join) return { page: "join", code: decodeURIComponent(join[1]) };
  const w = /^#\/w\/([^/]+)(?:\/([a-z]+))?/.exec(location.hash);
  if (w) return { page: "workspace", id: w[1], screen: w[2] ?? "plan" };
  // A person with several plans on this device (a mentor with several mentees) starts from the
  // list of them; with one, from that plan.
  if (/^#\/plans\/?$/.test(location.hash) || memberships().length > 1) return { page: "plans" };
  const last = lastWorkspace();
  return last ? { page: "workspace", id: last, screen: "plan" } : { page: "welcome" };
}

let session: Session | undefined;
/** The tab's one Session, created only once the relay cookie is in place (after joining). */
function theSession(): Session {
  session ??= new Session();
  return session;
}

export function App() {
  const [r, setR] = useState(route);
  useEffect(() => {
    const on = () => setR(route());
    addEventListener("hashchange", on);
    addEventListener("popstate", on);
    return () => {
      removeEventListener("hashchange", on);
      removeEventListener("popstate", on);
    };
  }, []);
  if (r.page === "join") return <JoinPage code={r.code} onJoined={() => setR(route())} />;
  if (r.page === "welcome") return <Welcome />;
  if (r.page === "program") return <ProgramPage />;
  if (r.page === "plans") return <PlansPage />;
  // Keyed by workspace, so that moving to another workspace starts from its own membership.
  return <WorkspacePage key={r.id} id={r.id} screen={r.screen} />;
}

/** Go to the invite a person typed: its code, or the whole link with the code at its end. */
function openInvite(typed: string): void {
  const code = typed.trim().replace(/^.*\/j\//, "");
  if (code) location.assign(`/j/${encodeURIComponent(code)}`);
}

function Welcome() {
  const [code, setCode] = useState("");
  return (
    <main class="narrow">
      <h1>tandem</h1>
      <p>A shared development plan for a mentor and a mentee. Open the invite link you were sent, or type its code here.</p>
      <form
        aria-label="Open an invite"
        onSubmit={(e) => {
          e.preventDefault();
          openInvite(code);
        }}
      >
        <Field label="Invite code" value={code} onInput={setCode} placeholder="ABCD-EFGH-JKMN" />
        <button type="submit">Open invite</button>
      </form>
    </main>
  );
}

/** The invite link's page: a name, a Join button, and a clear message when the code is not valid. */
function JoinPage({ code, onJoined }: { code: string; onJoined: () => void }) {
  const [name, setName] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // A code works once, so what the relay answered is kept: when the name turns out to be taken,
  // the person picks another and joins without needing a new invite.
  const [answer, setAnswer] = useState<Redeemed>();
  const join = async () => {
    setBusy(true);
    setError(undefined);
    try {
      if (!name.trim()) throw new JoinError("please type your name");
      const redeemed = answer ?? (await redeem(code));
      setAnswer(redeemed);
      const info = await startSession(redeemed.token);
      // A tab that already syncs other workspaces reconnects, so its websocket covers this one.
      session?.reconnect();
      const access = redeemed.role === "observer" || info.access === "read" ? "read" : "write";
      const m: Membership = { workspace: redeemed.workspace, access, me: redeemed.participant ?? undefined };
      remember(m);
      await becomeParticipant(m, name, redeemed.role);
      history.replaceState(null, "", `/#/w/${redeemed.workspace}/plan`);
      onJoined();
    } catch (e) {
      setError(e instanceof JoinError || e instanceof M.Invalid ? e.message : `could not join: ${String(e)}`);
      setBusy(false);
    }
  };
  return (
    <main class="narrow">
      <h1>Join a mentoring plan</h1>
      <p>
        Invite code <code>{code}</code>
      </p>
      <form
        aria-label="Join"
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy) void join();
        }}
      >
        <Field label="Your name" value={name} onInput={setName} required />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Joining…" : "Join"}
        </button>
      </form>
    </main>
  );
}

/**
 * Make this browser a participant of the workspace: the one a device invite names, or a new one
 * with the invite's role. A name another participant holds is refused, as the CLI refuses it:
 * a person's next device joins as them only through a device invite they made, so nobody can
 * take over someone else's identity by typing their name. A read-only person is not written into
 * the document at all.
 */
async function becomeParticipant(m: Membership, name: string, role: string): Promise<void> {
  await automergeReady;
  const handle = await theSession().workspace(m.workspace);
  const problem = M.openProblem(shown(handle));
  if (problem) throw new JoinError(problem);
  if (m.access === "read") return;
  const people = M.readParticipants(shown(handle));
  const writer: M.Writer = { actor: actorOf(handle) };
  const taken = m.me ? undefined : M.participantNamed(people, name);
  if (taken)
    throw new JoinError(
      `“${taken.name}” already takes part in this plan: choose another name, or ask ${taken.name} for a device invite (tandem invite --device)`,
    );
  const existing = m.me ? people.find((p) => p.id === m.me) : undefined;
  if (existing) {
    m.me = existing.id;
    commit(handle, { me: existing.id, actor: writer.actor }, { message: "added a device", apply: () => {} });
  } else {
    const add = M.addParticipant(writer, name, role || "mentee");
    commit(handle, {}, add);
    m.me = add.id;
  }
  remember(m);
}

function WorkspacePage({ id, screen }: { id: string; screen: string }) {
  const [handle, setHandle] = useState<DocHandle<M.Stored>>();
  const [error, setError] = useState<string>();
  const [syncState, setSync] = useState<SyncState>("connecting");
  // The relay no longer grants this workspace (its token was revoked), though it may grant others.
  const [denied, setDenied] = useState(false);
  const sync: SyncState = denied ? "denied" : syncState;
  const [m, setM] = useState<Membership>(() => membership(id) ?? { workspace: id as Membership["workspace"], access: "write" });
  useEffect(() => {
    let off = () => {};
    let gone = false;
    // automerge's WebAssembly is still compiling on a first paint; the plan kept from the last
    // visit is already on screen meanwhile.
    void automergeReady.then(() => {
      if (gone) return;
      const s = theSession();
      setSync(s.state);
      off = s.onChange(() => setSync(s.state));
      s.workspace(id).then(setHandle, (e) => setError(`This plan is not on this device yet and the relay does not have it (${String(e)}). Open your invite link while online.`));
    });
    // What the relay's cookie grants in this workspace, when the relay can be reached; offline,
    // the last answer holds. The cookie may hold tokens of other workspaces too, each with its
    // own access; none of them covering this one means its token was revoked.
    void Promise.all([currentSession(), automergeReady]).then(([info]) => {
      if (gone) return;
      if (info === "denied") return theSession().deny();
      if (!info) return;
      const here = accessTo(info, id);
      if (here === "none") return setDenied(true);
      const access = here === "read" ? "read" : m.access;
      if (access !== m.access) {
        const next = { ...m, access };
        remember(next);
        setM(next);
      }
    });
    return () => {
      gone = true;
      off();
    };
  }, [id]);
  const doc = useDoc(handle);
  const people = useMemo(() => (doc ? M.readParticipants(doc) : []), [doc]);
  // The plan as this browser last showed it, to show while a large document loads.
  const copy = useMemo(() => (screen === "plan" && !doc ? cachedPlan(id) : undefined), [id, screen, !doc]);
  if (error)
    return (
      <main class="narrow">
        <p role="alert" class="error">
          {error}
        </p>
      </main>
    );
  if (!handle || !doc) {
    if (copy) {
      const me = copy.people.find((p) => p.id === m.me);
      return (
        <Frame id={id} screen="plan" title={copy.title} me={me} readOnly={m.access === "read" || me?.role === "observer"} sync={sync}>
          <PlanBody view={copy} sync={sync} me={m.me} />
        </Frame>
      );
    }
    return (
      <main class="narrow">
        <p role="status">Opening the plan…</p>
      </main>
    );
  }
  const problem = M.openProblem(doc);
  if (problem)
    return (
      <main class="narrow">
        <p role="alert" class="error">
          {problem}
        </p>
      </main>
    );
  const me = people.find((p) => p.id === m.me);
  const readOnly = m.access === "read" || me?.role === "observer";
  const ctx: Ctx = {
    handle,
    doc,
    session: theSession(),
    membership: m,
    readOnly,
    writer: { me: m.me, actor: actorOf(handle) },
    people,
    sync,
  };
  const current = SCREENS.find(([key]) => key === screen) ?? SCREENS[0];
  const Screen = current[2];
  return (
    <Frame id={id} screen={current[0]} title={M.workspaceTitle(doc)} me={me} readOnly={readOnly} sync={sync}>
      {!me && !readOnly && <NameBanner handle={handle} m={m} onDone={setM} />}
      <Names ctx={ctx} />
      <Screen ctx={ctx} />
    </Frame>
  );
}

/** The workspace's title, who this person is, the sync state and the sections. */
function Frame(props: {
  id: string;
  screen: string;
  title: string;
  me?: { name: string; role: string };
  readOnly: boolean;
  sync: SyncState;
  children: ComponentChildren;
}) {
  const { id, me, readOnly } = props;
  return (
    <>
      <header class="top">
        <div class="brand">
          <h1>{props.title || "Untitled plan"}</h1>
          <div class="who">
            {me ? `You are ${me.name} (${me.role})` : readOnly ? "Viewing" : ""}
            {readOnly && <span class="tag">Read-only</span>}
            <SyncBadge state={props.sync} />
          </div>
        </div>
        <nav aria-label="Sections">
          <ul>
            {memberships().length > 1 && (
              <li>
                <a href="#/plans">All plans</a>
              </li>
            )}
            {SCREENS.map(([key, label]) => (
              <li key={key}>
                <a href={`#/w/${id}/${key}`} aria-current={key === props.screen ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main>{props.children}</main>
    </>
  );
}

/** On a relay without invites (an open relay), a person names themselves on first visit. */
function NameBanner({ handle, m, onDone }: { handle: DocHandle<M.Stored>; m: Membership; onDone: (m: Membership) => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState("mentee");
  void handle;
  return (
    <form
      class="banner"
      aria-label="Who are you?"
      onSubmit={(e) => {
        e.preventDefault();
        if (!name.trim()) return;
        void becomeParticipant(m, name, role).then(() => onDone({ ...m }));
      }}
    >
      <p>Tell your partner who you are, so your changes carry your name.</p>
      <div class="pair">
        <Field label="Your name" value={name} onInput={setName} />
        <div class="field">
          <label for="role-pick">Role</label>
          <select id="role-pick" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            <option value="mentee">mentee</option>
            <option value="mentor">mentor</option>
            <option value="observer">observer</option>
          </select>
        </div>
      </div>
      <button type="submit">Join</button>
    </form>
  );
}

/** How the pair stands on check-ins, in a few words: "Check-in overdue by 3 days", or when the next is due. */
function checkInWords(view: PlanView, now: Date): { text: string; late: boolean } | undefined {
  const rhythm = rhythmOf(view, now);
  if (!rhythm.nextCheckinDue) return undefined;
  const n = rhythm.overdueDays;
  if (n > 0) return { text: `Check-in overdue by ${n} day${n === 1 ? "" : "s"}`, late: true };
  const due = new Date(rhythm.nextCheckinDue);
  const ahead = Math.round((new Date(M.localDate(due)).getTime() - new Date(M.localDate(now)).getTime()) / 86_400_000);
  const when = ahead <= 0 ? "today" : ahead === 1 ? "tomorrow" : `in ${ahead} days`;
  return { text: `Next check-in due ${when} (${shortDay.format(due)})`, late: false };
}

const shortDay = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });

/**
 * The start page of a device with several plans: each workspace this browser joined, with what
 * needs attention (a late check-in, overdue actions, a survey due for this person), those most
 * in need first, each a link to its plan. It shows the plans kept from the last visit at once
 * and the live documents as they load.
 */
function PlansPage() {
  const joined = useMemo(() => memberships(), []);
  const [views, setViews] = useState<Record<string, PlanView | undefined>>(() =>
    Object.fromEntries(joined.map((m) => [m.workspace, cachedPlan(m.workspace)])),
  );
  useEffect(() => {
    let gone = false;
    const offs: (() => void)[] = [];
    void automergeReady.then(() => {
      if (gone) return;
      for (const m of joined) {
        void theSession()
          .workspace(m.workspace)
          .then(
            (handle) => {
              const update = () => {
                const doc = shown(handle);
                if (gone || M.openProblem(doc)) return;
                const view = planView(doc);
                keepPlan(m.workspace, doc, view);
                setViews((known) => ({ ...known, [m.workspace]: view }));
              };
              if (gone) return;
              update();
              handle.on("change", update);
              offs.push(() => handle.off("change", update));
            },
            () => undefined,
          );
      }
    });
    return () => {
      gone = true;
      for (const off of offs) off();
    };
  }, [joined]);
  const now = new Date();
  const today = M.localDate(now);
  const rows = joined.map((m) => {
    const view = views[m.workspace];
    const overdueActions = view ? view.actions.filter((a) => a.due !== undefined && a.due < today).length : 0;
    return {
      m,
      view,
      checkIn: view ? checkInWords(view, now) : undefined,
      lateDays: view ? rhythmOf(view, now).overdueDays : 0,
      overdueActions,
      surveyDue: view ? surveyDueOf(view, m.me, now) : false,
      title: view?.title || "Untitled plan",
    };
  });
  rows.sort((a, b) => b.lateDays - a.lateDays || b.overdueActions - a.overdueActions || Number(b.surveyDue) - Number(a.surveyDue) || a.title.localeCompare(b.title));
  return (
    <main class="plans">
      <h1>Your plans</h1>
      <p class="muted">Every mentoring plan on this device, those that need you first.</p>
      <ul class="list" aria-label="Your plans">
        {rows.map(({ m, view, checkIn, overdueActions, surveyDue, title }) => (
          <li key={m.workspace} class={`item ${checkIn?.late || overdueActions ? "is-overdue" : ""}`}>
            <h2 class="title">
              <a href={`#/w/${m.workspace}/plan`}>{title}</a>
            </h2>
            {!view ? (
              <p class="muted">Not loaded on this device yet</p>
            ) : (
              <p class="row">
                {checkIn && <span class={checkIn.late ? "overdue" : ""}>{checkIn.text}</span>}
                <span class={overdueActions ? "overdue" : "muted"}>
                  {overdueActions} overdue action{overdueActions === 1 ? "" : "s"}
                </span>
                {surveyDue && <span class="tag">Survey due</span>}
                {m.access === "read" && <span class="tag">Read-only</span>}
              </p>
            )}
          </li>
        ))}
      </ul>
      <JoinAnother />
    </main>
  );
}

/** Open one more invite from the start page. */
function JoinAnother() {
  const [code, setCode] = useState("");
  return (
    <form
      class="form"
      aria-label="Open another invite"
      onSubmit={(e) => {
        e.preventDefault();
        openInvite(code);
      }}
    >
      <Field label="Invite code or link" value={code} onInput={setCode} placeholder="ABCD-EFGH-JKMN" />
      <div class="buttons">
        <button type="submit">Open invite</button>
      </div>
    </form>
  );
}
