// The coordinators' page, `/program`: how every mentoring pair of a program is doing, from the
// relay's `GET /v1/program` report, which holds numbers and names of people and pairs, never
// what anyone wrote.
//
// The program token never travels in a URL. The page keeps it in memory and sends it in an
// `Authorization: Bearer` header; asked to stay signed in, it hands it to the relay once
// (`POST /v1/session`, as joining does) and the HttpOnly cookie carries it from then on, beside
// the tokens of any workspaces this browser joined: staying signed in leaves them signed in, and
// signing out (`DELETE /v1/session/<id>`) forgets the program token alone.
//
// The charts are SVG drawn here, with every label a text node: no chart library, no markup
// built from strings.

import { useEffect, useState } from "preact/hooks";
import { currentSession, JoinError, leaveSession, startSession, type SessionInfo } from "./session";

export interface ProgramWorkspace {
  id: string;
  title: string;
  participants: { name: string; role: string }[];
  goals: { open: number; active: number; done: number; dropped: number };
  milestones: { done: number; total: number };
  checkins_90d: number;
  checkin_rhythm_days: number;
  days_since_last_checkin: number | null;
  rating_avg_90d: number | null;
  rating_trend: number | null;
  pulse_avg_90d: number | null;
  pulse_trend: number | null;
  actions: { open: number; overdue: number };
  career_steps_12m: number;
  last_activity: string | null;
  checkins_by_month: number[];
  pulse_by_month: (number | null)[];
  rating_by_month: (number | null)[];
  at_risk: boolean;
  risk_reasons: string[];
}

export interface ProgramReport {
  generated_at: string;
  months: string[];
  workspaces: ProgramWorkspace[];
}

/** The risk codes of the report, in words. */
const REASONS: Record<string, string> = {
  no_recent_checkin: "no check-in within twice the rhythm",
  low_pulse: "pulse below 3 of 5",
  inactive: "no change for 30 days",
};

export function reasonWords(code: string): string {
  return REASONS[code] ?? code.replace(/_/g, " ");
}

class ReportError extends Error {}

/** Fetch the report with `token` in a header, or with the session cookie when there is none. */
async function fetchReport(token?: string): Promise<ProgramReport> {
  let r: Response;
  try {
    r = await fetch("/v1/program", {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ReportError("cannot reach the relay; check your connection and try again");
  }
  if (r.status === 401) throw new ReportError("the relay does not accept this token: check it, or ask the relay's operator for a new one");
  if (r.status === 403) throw new ReportError("this token is not a program token; coordinators get one from the relay's operator");
  if (r.status === 404) throw new ReportError("this relay has no program report (it may be an older version)");
  if (!r.ok) throw new ReportError(`the relay answered ${r.status} ${r.statusText}`);
  const body = (await r.json()) as ProgramReport;
  if (!body || !Array.isArray(body.workspaces) || !Array.isArray(body.months)) throw new ReportError("the relay's report is not in the expected form");
  return body;
}

export function ProgramPage() {
  const [token, setToken] = useState("");
  const [stay, setStay] = useState(false);
  const [report, setReport] = useState<ProgramReport>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // The id of the program token kept in the session cookie, when this browser stayed signed in.
  const [kept, setKept] = useState<string>();
  // A browser that stayed signed in with a program token sees the report at once, whatever
  // workspace tokens the cookie holds beside it.
  useEffect(() => {
    void currentSession().then((info) => {
      if (!info || info === "denied") return;
      const id = programTokenOf(info);
      if (id === undefined) return;
      setKept(id);
      void fetchReport().then(setReport, () => undefined);
    });
  }, []);
  const signOut = async () => {
    if (kept) await leaveSession(kept);
    setKept(undefined);
    setReport(undefined);
  };
  const show = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const t = token.trim();
      if (!t) throw new ReportError("type the program token you were given");
      const r = await fetchReport(t);
      if (stay) setKept(programTokenOf(await startSession(t)));
      setReport(r);
      setToken("");
    } catch (e) {
      setError(e instanceof ReportError || e instanceof JoinError ? e.message : `could not show the program: ${String(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="program">
      <h1>Program</h1>
      {!report && (
        <form
          class="form narrow-form"
          aria-label="Program sign-in"
          onSubmit={(e) => {
            e.preventDefault();
            if (!busy) void show();
          }}
        >
          <p>How every mentoring pair of your program is doing. Numbers only: nothing anyone wrote is shown here.</p>
          <ProgramTokenField value={token} onInput={setToken} />
          <label class="toggle">
            <input type="checkbox" checked={stay} onChange={(e) => setStay((e.target as HTMLInputElement).checked)} /> Stay signed in on this browser
          </label>
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <div class="buttons">
            <button type="submit" disabled={busy}>
              {busy ? "Loading…" : "Show program"}
            </button>
          </div>
        </form>
      )}
      {report && kept && (
        <div class="buttons">
          <button type="button" onClick={() => void signOut()}>
            Sign out of the program
          </button>
        </div>
      )}
      {report && <Report report={report} />}
    </main>
  );
}

/** The id of the program token among the session's tokens, if it holds one. */
function programTokenOf(info: SessionInfo): string | undefined {
  if (info.tokens) return info.tokens.find((t) => t.access === "program")?.id;
  // A relay older than sessions of several tokens answers for its one token only.
  return info.access === "program" ? "" : undefined;
}

function ProgramTokenField({ value, onInput }: { value: string; onInput: (v: string) => void }) {
  // A password field, so the token is not shown on screen nor kept by form autofill as text.
  return (
    <div class="field">
      <label for="program-token">Program token</label>
      <input id="program-token" type="password" autocomplete="off" value={value} onInput={(e) => onInput((e.target as HTMLInputElement).value)} />
    </div>
  );
}

// ----- the report -----

function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? "–" : v.toFixed(digits);
}

function trend(v: number | null | undefined): string {
  if (v === null || v === undefined) return "";
  const s = v.toFixed(1);
  return v > 0 ? ` (+${s})` : v < 0 ? ` (−${s.slice(1)})` : " (±0)";
}

function people(w: ProgramWorkspace): string {
  return w.participants.map((p) => `${p.name} (${p.role})`).join(", ");
}

const goalTotal = (w: ProgramWorkspace) => w.goals.open + w.goals.active + w.goals.done;

function Report({ report }: { report: ProgramReport }) {
  // The relay sorts already; sorting again keeps the page right whatever order it is given.
  const pairs = [...report.workspaces].sort((a, b) => Number(b.at_risk) - Number(a.at_risk) || a.title.localeCompare(b.title));
  const atRisk = pairs.filter((w) => w.at_risk);
  return (
    <>
      <p>
        {pairs.length} pair{pairs.length === 1 ? "" : "s"}, <span class={atRisk.length ? "overdue" : ""}>{atRisk.length} at risk</span>. Report made{" "}
        <time dateTime={report.generated_at}>{new Date(report.generated_at).toLocaleString()}</time>.
      </p>
      <section aria-labelledby="risk-h">
        <h2 id="risk-h">At risk</h2>
        {atRisk.length === 0 ? (
          <p class="muted">No pair is at risk.</p>
        ) : (
          <ul class="list" aria-label="Pairs at risk">
            {atRisk.map((w) => (
              <li key={w.id} class="item is-overdue">
                <strong>{w.title || "Untitled plan"}</strong>: {w.risk_reasons.map(reasonWords).join("; ")}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="pairs-h">
        <h2 id="pairs-h">Pairs</h2>
        <table class="program-table">
          <caption class="muted">At-risk pairs first. Averages over the last 90 days; the trend compares the last 45 days with the 45 before.</caption>
          <thead>
            <tr>
              <th scope="col">Pair</th>
              <th scope="col">Goals done</th>
              <th scope="col">Milestones done</th>
              <th scope="col">Check-ins (90 days)</th>
              <th scope="col">Days since check-in</th>
              <th scope="col">Rating</th>
              <th scope="col">Pulse</th>
              <th scope="col">Actions open / overdue</th>
              <th scope="col">Career steps (12 months)</th>
              <th scope="col">Risk</th>
            </tr>
          </thead>
          <tbody>
            {pairs.map((w) => (
              <tr key={w.id} class={w.at_risk ? "is-overdue" : ""}>
                <th scope="row" data-label="Pair">
                  {w.title || "Untitled plan"}
                  <div class="muted small">{people(w)}</div>
                </th>
                <td data-label="Goals done">
                  {w.goals.done} of {goalTotal(w)}
                </td>
                <td data-label="Milestones done">
                  {w.milestones.done} of {w.milestones.total}
                </td>
                <td data-label="Check-ins (90 days)">{w.checkins_90d}</td>
                <td data-label="Days since check-in">
                  {w.days_since_last_checkin ?? "none yet"} <span class="muted small">(rhythm {w.checkin_rhythm_days} days)</span>
                </td>
                <td data-label="Rating">
                  {num(w.rating_avg_90d)}
                  {trend(w.rating_trend)}
                </td>
                <td data-label="Pulse">
                  {num(w.pulse_avg_90d)}
                  {trend(w.pulse_trend)}
                </td>
                <td data-label="Actions open / overdue">
                  {w.actions.open} / <span class={w.actions.overdue ? "overdue" : ""}>{w.actions.overdue}</span>
                </td>
                <td data-label="Career steps (12 months)">{w.career_steps_12m}</td>
                <td data-label="Risk">{w.at_risk ? w.risk_reasons.map(reasonWords).join("; ") : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="charts-h">
        <h2 id="charts-h">Charts</h2>
        <div class="charts">
          <GoalChart pairs={pairs} />
          <CheckInChart report={report} />
          <TrendChart report={report} />
          <RiskChart pairs={pairs} />
        </div>
      </section>
    </>
  );
}

// ----- charts -----

const W = 320;

/** Horizontal bars, one a pair: the share of its goals that are done (dropped ones aside). */
function GoalChart({ pairs }: { pairs: ProgramWorkspace[] }) {
  const row = 26;
  const label = 120;
  const h = Math.max(1, pairs.length) * row + 10;
  return (
    <figure class="chart">
      <figcaption>Goal completion by pair</figcaption>
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-label="Goal completion by pair: the share of each pair's goals that are done">
        {pairs.map((w, i) => {
          const total = goalTotal(w);
          const share = total ? w.goals.done / total : 0;
          const y = 5 + i * row;
          return (
            <g key={w.id}>
              <text x={0} y={y + 15} class="chart-label">
                {clip(w.title || "Untitled plan", 18)}
              </text>
              <rect x={label} y={y + 3} width={W - label - 40} height={16} class="chart-track" />
              <rect x={label} y={y + 3} width={(W - label - 40) * share} height={16} class={w.at_risk ? "chart-bar-bad" : "chart-bar"} />
              <text x={W - 36} y={y + 15} class="chart-label">
                {total ? `${Math.round(share * 100)}%` : "–"}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** Vertical bars: check-ins held per month across all pairs. */
function CheckInChart({ report }: { report: ProgramReport }) {
  const sums = report.months.map((_, i) => report.workspaces.reduce((n, w) => n + (w.checkins_by_month[i] ?? 0), 0));
  const max = Math.max(1, ...sums);
  const h = 150;
  const base = h - 22;
  const step = (W - 20) / Math.max(1, sums.length);
  return (
    <figure class="chart">
      <figcaption>Check-ins per month, all pairs</figcaption>
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-label={`Check-ins per month: ${report.months.map((m, i) => `${m}: ${sums[i]}`).join(", ")}`}>
        <line x1={10} x2={W - 10} y1={base} y2={base} class="chart-axis" />
        {sums.map((n, i) => {
          const bh = ((base - 16) * n) / max;
          const x = 10 + i * step + step * 0.15;
          return (
            <g key={report.months[i]}>
              <rect x={x} y={base - bh} width={step * 0.7} height={bh} class="chart-bar" />
              <text x={x + step * 0.35} y={base - bh - 3} class="chart-label" text-anchor="middle">
                {n}
              </text>
              <text x={x + step * 0.35} y={h - 6} class="chart-label" text-anchor="middle">
                {monthLabel(report.months[i])}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** Two lines on a 1–5 scale: the average check-in rating and pulse across pairs, per month. */
function TrendChart({ report }: { report: ProgramReport }) {
  const mean = (pick: (w: ProgramWorkspace) => (number | null)[]) =>
    report.months.map((_, i) => {
      const xs = report.workspaces.map((w) => pick(w)[i]).filter((x): x is number => typeof x === "number");
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    });
  const rating = mean((w) => w.rating_by_month);
  const pulse = mean((w) => w.pulse_by_month);
  const h = 170;
  const [top, bottom, left, right] = [12, h - 40, 26, W - 20];
  const step = (right - left) / Math.max(1, report.months.length - 1);
  const x = (i: number) => left + i * step;
  const y = (v: number) => bottom - ((v - 1) / 4) * (bottom - top);
  const line = (vs: (number | null)[]) => {
    let d = "";
    let pen = false;
    vs.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    });
    return d.trim();
  };
  const words = (vs: (number | null)[]) => report.months.map((m, i) => `${m}: ${num(vs[i])}`).join(", ");
  return (
    <figure class="chart">
      <figcaption>Rating and pulse by month, average of pairs (1–5)</figcaption>
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-label={`Average check-in rating by month: ${words(rating)}. Average pulse by month: ${words(pulse)}.`}>
        {[1, 2, 3, 4, 5].map((v) => (
          <g key={v}>
            <line x1={left} x2={right} y1={y(v)} y2={y(v)} class="chart-grid" />
            <text x={left - 6} y={y(v) + 4} class="chart-label" text-anchor="end">
              {v}
            </text>
          </g>
        ))}
        {report.months.map((m, i) => (
          <text key={m} x={x(i)} y={bottom + 16} class="chart-label" text-anchor="middle">
            {monthLabel(m)}
          </text>
        ))}
        <path d={line(rating)} class="chart-line-rating" fill="none" />
        <path d={line(pulse)} class="chart-line-pulse" fill="none" />
        {rating.map((v, i) => v !== null && <circle key={`r${i}`} cx={x(i)} cy={y(v)} r={3} class="chart-dot-rating" />)}
        {pulse.map((v, i) => v !== null && <rect key={`p${i}`} x={x(i) - 3} y={y(v) - 3} width={6} height={6} class="chart-dot-pulse" />)}
        <g transform={`translate(${left},${h - 8})`}>
          <circle cx={4} cy={-4} r={3} class="chart-dot-rating" />
          <text x={12} y={0} class="chart-label">
            check-in rating
          </text>
          <rect x={122} y={-7} width={6} height={6} class="chart-dot-pulse" />
          <text x={134} y={0} class="chart-label">
            pulse
          </text>
        </g>
      </svg>
    </figure>
  );
}

/** Bars: how many pairs are at risk for each reason. */
function RiskChart({ pairs }: { pairs: ProgramWorkspace[] }) {
  const codes = Object.keys(REASONS);
  for (const w of pairs) for (const r of w.risk_reasons) if (!codes.includes(r)) codes.push(r);
  const counts = codes.map((c) => pairs.filter((w) => w.risk_reasons.includes(c)).length);
  const max = Math.max(1, pairs.length);
  const row = 26;
  const label = 150;
  const h = codes.length * row + 10;
  return (
    <figure class="chart">
      <figcaption>Pairs at risk, by reason</figcaption>
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-label={`Pairs at risk by reason: ${codes.map((c, i) => `${reasonWords(c)}: ${counts[i]}`).join(", ")}`}>
        {codes.map((c, i) => {
          const y = 5 + i * row;
          return (
            <g key={c}>
              <text x={0} y={y + 15} class="chart-label">
                {clip(reasonWords(c), 24)}
              </text>
              <rect x={label} y={y + 3} width={W - label - 30} height={16} class="chart-track" />
              <rect x={label} y={y + 3} width={((W - label - 30) * counts[i]) / max} height={16} class="chart-bar-bad" />
              <text x={W - 24} y={y + 15} class="chart-label">
                {counts[i]}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

function clip(s: string, n: number): string {
  return [...s].length > n ? [...s].slice(0, n - 1).join("") + "…" : s;
}

const monthFormat = new Intl.DateTimeFormat(undefined, { month: "short" });

/** "2026-06" as a short month name. */
function monthLabel(m: string): string {
  const match = /^(\d{4})-(\d{2})$/.exec(m);
  return match ? monthFormat.format(new Date(+match[1], +match[2] - 1, 1)) : m;
}
