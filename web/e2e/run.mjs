// Browser tests of the web app: headless Chromium (the operating system's package) driven by
// playwright-core, against a real tandem-server and the real `tandem` CLI.
//
// tests/tests/web.rs starts the relay, prepares a workspace with the CLI and runs
// `node web/e2e/run.mjs SCENARIO CONFIG_JSON`; this script prints what it checked and exits 0,
// or prints the failure and exits 1. CONFIG_JSON holds: base (http://127.0.0.1:PORT), relay
// (ws://...), workspace (document id), write and read (tokens), tandem (the CLI binary), home
// (Ana's home, which created the workspace), chromium (the browser binary).

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";

const [scenario, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);
// Generous: CI machines are small and may be busy; a wait ends as soon as its condition holds.
const WAIT = 30_000;

/** Run the CLI in Ana's home; returns stdout. */
function cli(args, env = {}) {
  return execFileSync(config.tandem, ["--home", config.home, ...args], {
    env: { ...process.env, NO_COLOR: "1", TZ: "UTC", EDITOR: "false", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}
const cliJson = (args) => JSON.parse(cli(["--json", ...args]));
/** Run the CLI in Cleo's home (the second workspace of the `workspaces` scenario). */
function cleoCli(args) {
  return execFileSync(config.tandem, ["--home", config.home2, ...args], {
    env: { ...process.env, NO_COLOR: "1", TZ: "UTC", EDITOR: "false" },
    encoding: "utf8",
    timeout: 30_000,
  });
}
const sync = () => cli(["-q", "sync", "--server", config.relay, "--token", config.write]);

/** Poll `check` (which throws until satisfied) for at most `limit` ms. */
async function eventually(what, check, limit = WAIT) {
  const deadline = Date.now() + limit;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const browser = await chromium.launch({
  executablePath: config.chromium,
  // The flags keep Chromium off the network it would otherwise try to reach at start.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const problems = [];
const pages = [];

/** A new browser (its own storage, like another person's device), signed in with `token`. */
async function person(token, { width = 1200, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, serviceWorkers: "allow" });
  const page = await context.newPage();
  pages.push(page);
  // Errors in the console count, except the network's own while a test keeps the browser offline
  // and the relay's refusals that a scenario asks for (a bad invite code).
  page.on("console", (m) => {
    if (m.type() === "error" && !/ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED|the server responded with a status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", (d) => {
    problems.push(`a dialog opened: ${d.message()}`);
    void d.dismiss();
  });
  // The token must never appear in an address the browser asks for.
  const watch = (url) => {
    if (token && url.includes(token)) problems.push(`the token appeared in ${url}`);
  };
  page.on("request", (r) => watch(r.url()));
  page.on("websocket", (ws) => watch(ws.url()));
  if (token) {
    const r = await context.request.post(`${config.base}/v1/session`, { data: { token } });
    assert.equal(r.status(), 200, await r.text());
  }
  return { context, page };
}

async function openPlan(page, screen = "plan") {
  await page.goto(`${config.base}/#/w/${config.workspace}/${screen}`);
  await page.getByRole("heading", { level: 1 }).waitFor({ timeout: WAIT });
}

/** Name this browser's person in the workspace (the banner an open-invite visitor sees). */
async function introduce(page, name, role = "mentee") {
  const banner = page.getByRole("form", { name: "Who are you?" });
  await banner.getByLabel("Your name").fill(name);
  await banner.getByLabel("Role").selectOption(role);
  await banner.getByRole("button", { name: "Join" }).click();
  await page.getByText(`You are ${name}`).waitFor({ timeout: WAIT });
}

/** Open an invite link, type `name` and join; returns once the plan is shown. */
async function joinWith(page, link, name, { takenName } = {}) {
  // The token the code is exchanged for must never appear in an address the browser asks for.
  const urls = [];
  let token;
  page.on("request", (r) => urls.push(r.url()));
  page.on("websocket", (ws) => urls.push(ws.url()));
  page.on("response", async (r) => {
    if (r.url().endsWith("/v1/invites/redeem") && r.ok()) token = (await r.json()).token;
  });
  await page.goto(link);
  if (takenName) {
    // Typing someone else's name never makes this browser that person; the code stays usable
    // on this page for another name.
    await page.getByLabel("Your name").fill(takenName);
    await page.getByRole("button", { name: "Join" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: WAIT });
    assert.match(await alert.innerText(), new RegExp(`“${takenName}” already takes part`));
  }
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Join" }).click();
  await page.getByRole("navigation", { name: "Sections" }).waitFor({ timeout: WAIT });
  assert.match(page.url(), /#\/w\/[^/]+\/plan$/);
  assert.ok(token, "the relay's answer to the code carried no token");
  page.on("request", (r) => r.url().includes(token) && problems.push(`the token appeared in ${r.url()}`));
  for (const url of urls) if (url.includes(token)) problems.push(`the token appeared in ${url}`);
}

/** An invite link that no longer works, opened in a browser of its own: the clear message. */
async function refused(link) {
  const { page } = await person(null);
  await page.goto(link);
  await page.getByLabel("Your name").fill("Dana");
  await page.getByRole("button", { name: "Join" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor({ timeout: WAIT });
  assert.match(await alert.innerText(), /not valid or has expired/);
  assert.equal(page.url(), link);
}

async function go(page, label) {
  await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: label, exact: true }).click();
}

async function addGoal(page, title) {
  await go(page, "Goals");
  const form = page.getByRole("form", { name: "New goal" });
  await form.getByLabel("Title").fill(title);
  await form.getByRole("button", { name: "Add goal" }).click();
  await page.getByRole("article", { name: `Goal: ${title}` }).waitFor({ timeout: WAIT });
}

const titles = (list) => list.map((i) => i.title);

/** The fixture's figures, as the program page must show them (web/e2e/program-fixture.json). */
async function checkFixtureReport(page, width) {
  await page.getByRole("heading", { name: "Pairs" }).waitFor({ timeout: WAIT });
  await page.getByText("3 pairs, 2 at risk").waitFor({ timeout: WAIT });
  const risky = page.getByRole("list", { name: "Pairs at risk" });
  assert.equal(await risky.getByRole("listitem").count(), 2);
  await risky.getByText(/pulse below 3 of 5/).waitFor({ timeout: WAIT });
  await risky.getByText(/no check-in within twice the rhythm; no change for 30 days/).waitFor({ timeout: WAIT });
  // At-risk pairs first, by title, then the rest.
  const names = await page.getByRole("rowheader").allInnerTexts();
  assert.deepEqual(names.map((n) => n.split("\n")[0].trim()), ["Ana & Ben", "Eve & Finn", "Cleo & Dan"]);
  const ana = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: /Ana & Ben/ }) });
  const cells = (await ana.getByRole("cell").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
  const want = ["3 of 6", "3 of 5", "4", "10 (rhythm 14 days)", "4.3 (+0.5)", "2.8 (−0.2)", "3 / 1", "1", "pulse below 3 of 5"];
  assert.deepEqual(
    cells.map((c) => c.replace(/^[^:]*: /, "")),
    want,
    `the figures of Ana & Ben: ${JSON.stringify(cells)}`,
  );
  const eve = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: /Eve & Finn/ }) });
  const eveCells = (await eve.getByRole("cell").allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim().replace(/^[^:]*: /, ""));
  assert.equal(eveCells[3], "none yet (rhythm 14 days)");
  assert.equal(eveCells[4], "–");
  // Four charts, each an image with a description a screen reader can read.
  const charts = page.getByRole("img");
  assert.equal(await charts.count(), 4);
  const checkins = await page.getByRole("img", { name: /^Check-ins per month/ }).getAttribute("aria-label");
  assert.match(checkins, /2026-06: 3, 2026-07: 4, 2026-08: 4, 2026-09: 4, 2026-10: 4, 2026-11: 5/);
  await page.getByRole("img", { name: /Goal completion by pair/ }).getByText("75%").waitFor({ timeout: WAIT });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the program page is ${overflow}px wider than a ${width}px screen`);
}

/**
 * What the CLI's own measures commands (`tandem survey`, `kudos`, `progress`, `rhythm`) make
 * of the browser's answers, and what they write reaching the browser (with `measuresCli` in the
 * config).
 */
async function measuresInTheCli() {
  sync();
  const answers = cliJson(["survey", "--show"]);
  const bens = answers.find((a) => a.name === "Ben");
  assert.ok(bens, JSON.stringify(answers));
  assert.deepEqual([bens.period, bens.progress, bens.relationship, bens.recommend, bens.comment], [1, 4, 5, 3, "Going well"]);
  const plan = cliJson(["plan"]);
  assert.ok(plan.wins.some((w) => w.kind === "kudos" && w.title === "Great code review" && w.from === "Ben" && w.to === "Ana"), JSON.stringify(plan.wins));
  assert.ok(plan.wins.some((w) => w.kind === "milestone_done" && w.title === "Read the book" && w.at), JSON.stringify(plan.wins));
  assert.ok(plan.career_steps.some((c) => c.role_before === "Junior developer" && c.role_after === "Developer" && c.date === "2026-11-02"), JSON.stringify(plan.career_steps));
  assert.equal(plan.rhythm.checkin_rhythm_days, 30);
  assert.equal(plan.survey_due, true, "Ana has not answered this period yet");
  // And the other way: Ana answers and gives kudos in the CLI; Ben's browser shows both.
  cli(["-q", "survey", "--progress", "5", "--relationship", "4", "--recommend", "5", "--comment", "From the terminal"]);
  cli(["-q", "kudos", "Ben", "Thanks for the demo"]);
  sync();
  const page = pages[0];
  await page.getByRole("list", { name: "Recent wins" }).getByText("Kudos from Ana to Ben: Thanks for the demo").waitFor({ timeout: WAIT });
  await page.getByRole("list", { name: "Pulse answers" }).getByText("progress 5/5, relationship 4/5, would recommend 5/5").waitFor({ timeout: WAIT });
}

const scenarios = {
  /** Two browsers and the CLI edit one plan live and converge; user text is shown as text. */
  async converge() {
    const a = await person(config.write);
    const b = await person(config.write);
    await openPlan(a.page);
    await openPlan(b.page);
    await introduce(a.page, "Ben", "mentee");
    await introduce(b.page, "Cleo", "mentor");

    // The title the CLI wrote shows as those very characters, and nothing ran.
    const xss = "<img src=x onerror=alert(1)>";
    await a.page.getByText(xss, { exact: true }).first().waitFor({ timeout: WAIT });
    assert.equal(await a.page.locator("img").count(), 0, "an <img> element was created from user text");

    await addGoal(a.page, "Goal from browser A");
    await go(b.page, "Goals");
    await b.page.getByRole("article", { name: "Goal: Goal from browser A" }).waitFor({ timeout: WAIT });

    await go(b.page, "Actions");
    const form = b.page.getByRole("form", { name: "New action item" });
    await form.getByLabel("Title").fill("Action from browser B");
    await form.getByLabel("Owner").fill("Ben");
    await form.getByLabel("Due").fill("2026-12-24");
    await form.getByRole("button", { name: "Add action" }).click();
    await go(a.page, "Actions");
    await a.page.getByRole("article", { name: "Action: Action from browser B" }).waitFor({ timeout: WAIT });

    // The CLI receives both, and reads them as valid items of its model.
    await eventually("the CLI sees the browsers' edits", () => {
      sync();
      const goals = titles(cliJson(["goal", "list"]));
      assert.ok(goals.includes("Goal from browser A"), JSON.stringify(goals));
      const actions = cliJson(["action", "list"]);
      const act = actions.find((x) => x.title === "Action from browser B");
      assert.ok(act, JSON.stringify(actions));
      assert.equal(act.due, "2026-12-24");
    });
    const people = JSON.stringify(JSON.parse(cli(["export", "--format", "json"])).participants);
    assert.match(people, /"Ben"/);
    assert.match(people, /"Cleo"/);
    const log = cli(["log"]);
    assert.match(log, /Ben.*added goal .*Goal from browser A/, log);

    // And what the CLI writes reaches both browsers.
    cli(["-q", "goal", "add", "Goal from the CLI"]);
    sync();
    for (const p of [a.page, b.page]) {
      await go(p, "Goals");
      await p.getByRole("article", { name: "Goal: Goal from the CLI" }).waitFor({ timeout: WAIT });
    }

    // The history names the browser's person.
    await go(b.page, "History");
    await b.page.getByText(/Ben.*added goal/).first().waitFor({ timeout: WAIT });
    return "two browsers and the CLI converged; the XSS title showed as text";
  },

  /** Offline: add and edit, reload while offline, come back, and the CLI sees every edit. */
  async offline() {
    const a = await person(config.write);
    await openPlan(a.page);
    await introduce(a.page, "Ben");
    // One visit is enough for the service worker to keep the app.
    await a.page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await eventually("the service worker controls the page", async () => {
      await a.page.reload();
      await a.page.getByRole("heading", { level: 1 }).waitFor({ timeout: WAIT });
      assert.ok(await a.page.evaluate(() => navigator.serviceWorker.controller !== null));
    });

    await a.context.setOffline(true);
    await a.page.getByText("Offline: edits are kept here").first().waitFor({ timeout: WAIT });
    await addGoal(a.page, "Goal made offline");
    const goal = a.page.getByRole("article", { name: "Goal: Goal made offline" });
    await goal.getByLabel("Milestone", { exact: true }).fill("First step offline");
    await goal.getByRole("button", { name: "Add milestone" }).click();
    await goal.getByText("First step offline").waitFor({ timeout: WAIT });
    await goal.getByLabel(/^Description of goal/).fill("Written with no network.");
    await go(a.page, "Notes");
    const form = a.page.getByRole("form", { name: "New note" });
    await form.getByLabel("Title").fill("Offline note");
    await form.getByLabel("Text").fill("Kept in the browser until the network came back.");
    await form.getByRole("button", { name: "Add note" }).click();
    await a.page.getByRole("article", { name: "Note: Offline note" }).waitFor({ timeout: WAIT });

    // Still offline, the page reloads from the service worker and the plan from IndexedDB.
    await a.page.waitForTimeout(500);
    await a.page.reload();
    await a.page.getByRole("heading", { level: 1 }).waitFor({ timeout: WAIT });
    await go(a.page, "Goals");
    await a.page.getByRole("article", { name: "Goal: Goal made offline" }).waitFor({ timeout: WAIT });

    // The relay has none of it yet.
    sync();
    assert.ok(!titles(cliJson(["goal", "list"])).includes("Goal made offline"), "an offline edit reached the relay");

    await a.context.setOffline(false);
    await eventually("the CLI sees every offline edit", () => {
      sync();
      const g = cliJson(["goal", "list"]).find((x) => x.title === "Goal made offline");
      assert.ok(g, "goal missing");
      const shown = cli(["goal", "show", g.id]);
      assert.match(shown, /First step offline/);
      assert.match(shown, /Written with no network\./);
      const notes = cliJson(["note", "list"]);
      assert.ok(notes.some((n) => n.title === "Offline note"), JSON.stringify(notes));
    }, 30_000);
    return "offline edits survived an offline reload and reached the CLI";
  },

  /** A note edited at once in the browser and the CLI keeps both edits. */
  async text() {
    const id = cli(["-q", "note", "add", "Line one.\nLine two.", "--title", "Shared note"]).trim();
    sync();
    const a = await person(config.write);
    await openPlan(a.page, "notes");
    await introduce(a.page, "Ben");
    const note = a.page.getByRole("article", { name: "Note: Shared note" });
    const body = note.getByLabel(/^Text of note/);
    await eventually("the note arrives", async () => assert.equal(await body.inputValue(), "Line one.\nLine two."));
    // The browser types at the end while the CLI, not yet synced, edits the start.
    await body.focus();
    await a.page.keyboard.press("Control+End");
    await a.page.keyboard.type(" Browser edit.");
    cli(["note", "edit", id], { EDITOR: "sed -i '1s/^/CLI edit. /'" });
    sync();
    const both = "CLI edit. Line one.\nLine two. Browser edit.";
    await eventually("the browser shows both edits", async () => assert.equal(await body.inputValue(), both));
    await eventually("the CLI shows both edits", () => {
      sync();
      const n = cliJson(["note", "show", id]);
      assert.equal(n.body, both);
    });
    return "concurrent edits of one note from the CLI and the browser both survived";
  },

  /** A read-only token gives a read-only app: everything shown, nothing editable. */
  async readonly() {
    cli(["-q", "note", "add", "Visible to observers", "--title", "For everyone"]);
    sync();
    const r = await person(config.read);
    await openPlan(r.page, "goals");
    await r.page.getByText("Read-only").first().waitFor({ timeout: WAIT });
    await r.page.getByRole("article", { name: "Goal: Ship a Rust CLI" }).waitFor({ timeout: WAIT });
    assert.equal(await r.page.getByRole("button", { name: "Add goal" }).count(), 0);
    assert.equal(await r.page.getByRole("button", { name: /^(Edit|Archive)/ }).count(), 0);
    assert.equal(await r.page.getByRole("form", { name: "Who are you?" }).count(), 0);
    await go(r.page, "Notes");
    const body = r.page.getByRole("article", { name: "Note: For everyone" }).getByLabel(/^Text of note/);
    assert.equal(await body.getAttribute("readonly"), "");
    return "a read token shows the plan with no way to change it";
  },

  /** The join page: a clear message for a code that is not valid, and nothing else happens. */
  async join() {
    const { page } = await person(null);
    await page.goto(`${config.base}/j/ZZZZ-ZZZZ-ZZZZ`);
    await page.getByLabel("Your name").fill("Dana");
    await page.getByRole("button", { name: "Join" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: WAIT });
    assert.match(await alert.innerText(), /not valid or has expired/);
    assert.match(page.url(), /\/j\/ZZZZ-ZZZZ-ZZZZ$/);
    return "a bad invite code gives a clear message";
  },

  /**
   * The invite link flow: Ana's `tandem invite` link opens in a browser, Ben names himself and
   * joins, sees the plan and adds to it, and Ana's CLI sees his goal and him as mentee. The
   * same link again (used), and a revoked one, give the clear message and nothing else.
   */
  async invite() {
    const made = cliJson(["invite", "--role", "mentee"]);
    assert.match(made.link, /^http:\/\/127\.0\.0\.1:\d+\/j\/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/, made.link);
    const ben = await person(null);
    await joinWith(ben.page, made.link, "Ben", { takenName: "Ana" });
    await ben.page.getByText("You are Ben (mentee)").waitFor({ timeout: WAIT });
    await go(ben.page, "Goals");
    await ben.page.getByRole("article", { name: "Goal: Ship a Rust CLI" }).waitFor({ timeout: WAIT });
    await addGoal(ben.page, "Goal from Ben's browser");
    await eventually("Ana's CLI sees Ben and his goal", () => {
      sync();
      assert.ok(titles(cliJson(["goal", "list"])).includes("Goal from Ben's browser"));
      const people = cliJson(["participant", "list"]);
      assert.ok(people.some((p) => p.name === "Ben" && p.role === "mentee"), JSON.stringify(people));
      assert.equal(people.filter((p) => p.name === "Ana").length, 1, JSON.stringify(people));
      assert.ok(people.some((p) => p.name === "Ana" && p.role === "mentor"), JSON.stringify(people));
    });
    assert.match(cli(["log"]), /Ben.*added goal .*Goal from Ben's browser/);

    // The code was for one use: opened again, in another browser, it says so and goes no further.
    await refused(made.link);

    // A revoked code reads the same.
    const revoked = cliJson(["invite", "--role", "mentee"]);
    cli(["-q", "invite", "revoke", revoked.id]);
    await refused(revoked.link);
    return "an invite link joined Ben, whose goal reached the CLI; used and revoked codes were refused clearly";
  },

  /** An invite link whose time is up (made by the test a minute before) is refused clearly. */
  async expired() {
    await refused(config.link);
    return "an expired invite code gives a clear message";
  },

  /**
   * What a removed participant's device wrote after the removal is refused in the browser as in
   * the CLI, and an edit made in the browser afterwards does not bring it back for anyone.
   */
  async removed() {
    const a = await person(config.write);
    await openPlan(a.page, "goals");
    await a.page.getByRole("article", { name: "Goal: Ben's goal before the removal" }).waitFor({ timeout: WAIT });
    assert.equal(await a.page.getByRole("article", { name: "Goal: Ben's goal after the removal" }).count(), 0);
    await addGoal(a.page, "Written in the browser after Ben left");
    await eventually("the CLI sees the browser's goal and still not Ben's late one", () => {
      sync();
      const goals = titles(cliJson(["goal", "list"]));
      assert.ok(goals.includes("Written in the browser after Ben left"), JSON.stringify(goals));
      assert.ok(goals.includes("Ben's goal before the removal"), JSON.stringify(goals));
      assert.ok(!goals.includes("Ben's goal after the removal"), JSON.stringify(goals));
    });
    await a.page.reload();
    await a.page.getByRole("article", { name: "Goal: Written in the browser after Ben left" }).waitFor({ timeout: WAIT });
    assert.equal(await a.page.getByRole("article", { name: "Goal: Ben's goal after the removal" }).count(), 0);
    return "a removed participant's late goal is hidden in the browser, and the browser's own goal does not bring it back";
  },

  /** An observer's invite link gives a read-only app. */
  /**
   * One browser joins two workspaces of one relay by two invite links, Ana's as an observer and
   * Cleo's as a mentee: both keep syncing with the CLI, Ana's stays read-only beside the writable
   * one, and the start page lists both with the check-in, overdue actions and survey due.
   */
  async workspaces() {
    const read = cliJson(["invite", "--role", "observer", "--name", "Ben"]);
    const write = JSON.parse(cleoCli(["--json", "invite", "--role", "mentee"]));
    const { page } = await person(null, { width: 360, height: 740 });
    await joinWith(page, read.link, "Ben");
    await page.getByText("Read-only").first().waitFor({ timeout: WAIT });
    await joinWith(page, write.link, "Ben");
    assert.ok(page.url().includes(config.workspace2), page.url());
    await page.getByText("You are Ben (mentee)").waitFor({ timeout: WAIT });

    // The start page lists both plans, what needs attention first, each a link to its plan.
    await page.goto(`${config.base}/`);
    const list = page.getByRole("list", { name: "Your plans" });
    const cleos = list.getByRole("listitem").filter({ has: page.getByRole("link", { name: "Cleo & Ben" }) });
    const anas = list.getByRole("listitem").filter({ has: page.getByRole("link", { name: "Ana & Ben" }) });
    await eventually("the start page shows both plans, loaded", async () => {
      assert.match(await cleos.innerText(), /Check-in overdue by 2[5-7] days/);
      assert.match(await cleos.innerText(), /Survey due/);
      assert.match(await cleos.innerText(), /0 overdue actions/);
      // Ana's plan began at the CLI's pinned clock, so where it stands depends on today's date.
      assert.match(await anas.innerText(), /Next check-in due (today|tomorrow|in \d+ days) \(|Check-in overdue by \d+ days?/);
      assert.match(await anas.innerText(), /1 overdue action\b/);
      assert.match(await anas.innerText(), /Read-only/);
      assert.doesNotMatch(await anas.innerText(), /Survey due/);
    });
    // The plan whose check-in is latest comes first.
    const order = await list.getByRole("listitem").allInnerTexts();
    const late = (text) => Number(/overdue by (\d+) day/.exec(text)?.[1] ?? 0);
    assert.ok(late(order[0]) >= late(order[1]) && late(order[0]) > 0, JSON.stringify(order));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the start page is ${width} px wide at 360 px`);
    for (const control of await page.locator("a, button, input").all()) {
      const name = (await control.getAttribute("aria-label")) ?? (await control.innerText()) ?? "";
      const labelled = name.trim() || (await control.evaluate((e) => (e.labels?.length ?? 0) > 0 || !!e.getAttribute("aria-labelledby")));
      assert.ok(labelled, `a control without a name: ${await control.evaluate((e) => e.outerHTML)}`);
    }

    // Ana's plan, opened from the list, still syncs, and stays read-only beside Cleo's.
    await anas.getByRole("link", { name: "Ana & Ben" }).click();
    await page.getByRole("navigation", { name: "Sections" }).waitFor({ timeout: WAIT });
    cli(["-q", "goal", "add", "Goal from Ana after Ben joined Cleo's plan"]);
    sync();
    await go(page, "Goals");
    await page.getByRole("article", { name: "Goal: Goal from Ana after Ben joined Cleo's plan" }).waitFor({ timeout: WAIT });
    await page.getByText("Read-only").first().waitFor({ timeout: WAIT });
    assert.equal(await page.getByRole("form", { name: "New goal" }).count(), 0);

    // Cleo's plan, from the sections' link back to the list, syncs both ways.
    await page.getByRole("link", { name: "All plans" }).click();
    await list.getByRole("link", { name: "Cleo & Ben" }).click();
    await page.getByText("You are Ben (mentee)").waitFor({ timeout: WAIT });
    assert.equal(await page.getByText("Read-only").count(), 0);
    await addGoal(page, "Goal from Ben's browser in Cleo's plan");
    const cleoSync = () => cleoCli(["-q", "sync", "--server", config.relay, "--token", config.write]);
    await eventually("Cleo's CLI sees Ben's goal", () => {
      cleoSync();
      assert.ok(titles(JSON.parse(cleoCli(["--json", "goal", "list"]))).includes("Goal from Ben's browser in Cleo's plan"));
    });
    cleoCli(["-q", "goal", "add", "Goal from Cleo's CLI"]);
    cleoSync();
    await page.getByRole("article", { name: "Goal: Goal from Cleo's CLI" }).waitFor({ timeout: WAIT });
    // Nothing Ben's browser did reached Ana's plan as a change: an observer writes nothing.
    sync();
    assert.ok(!titles(cliJson(["goal", "list"])).some((t) => t.includes("Ben's browser")));
    return "one browser joined two plans by two invite links; both synced with the CLI, the observer's stayed read-only, and the start page listed both with what needs attention";
  },

  async observer() {
    const made = cliJson(["invite", "--role", "observer", "--name", "Cleo"]);
    const { page } = await person(null);
    await joinWith(page, made.link, "Cleo");
    await page.getByText("Read-only").first().waitFor({ timeout: WAIT });
    await go(page, "Goals");
    await page.getByRole("article", { name: "Goal: Ship a Rust CLI" }).waitFor({ timeout: WAIT });
    assert.equal(await page.getByRole("button", { name: "Add goal" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: /^(Edit|Archive)/ }).count(), 0);
    assert.equal(await page.getByRole("form", { name: "New goal" }).count(), 0);
    assert.equal(await page.getByRole("form", { name: "Who are you?" }).count(), 0);
    // An observer reads only: the mentor listed Cleo when inviting her, and the browser wrote
    // nothing, not even a device of hers.
    sync();
    const people = cliJson(["participant", "list"]);
    const cleo = people.filter((p) => p.name === "Cleo");
    assert.equal(cleo.length, 1, JSON.stringify(people));
    assert.equal(cleo[0].role, "observer");
    assert.deepEqual(cleo[0].devices, [], JSON.stringify(people));
    return "an observer's invite link shows the plan with no way to change it";
  },

  /** Every field edited, items completed, archived and restored; the CLI reads it all. */
  async edit() {
    const a = await person(config.write);
    await openPlan(a.page);
    await introduce(a.page, "Ben");
    await addGoal(a.page, "Learn to review code");
    let goal = a.page.getByRole("article", { name: "Goal: Learn to review code" });
    await goal.getByRole("button", { name: /^Edit goal/ }).click();
    const edit = a.page.getByRole("form", { name: /^Edit goal/ });
    await edit.getByLabel("Title").fill("Review code kindly");
    await edit.getByLabel("Status").selectOption("active");
    await edit.getByLabel("Due").fill("2027-03-01");
    await edit.getByLabel("Owner").fill("Ana");
    await edit.getByRole("button", { name: "Save" }).click();
    goal = a.page.getByRole("article", { name: "Goal: Review code kindly" });
    await goal.getByText("Owner: Ana").waitFor({ timeout: WAIT });
    await goal.getByLabel("Milestone", { exact: true }).fill("Review three pull requests");
    await goal.getByLabel("Milestone due").fill("2027-01-10");
    await goal.getByRole("button", { name: "Add milestone" }).click();
    await goal.getByRole("checkbox", { name: "Review three pull requests" }).check();

    await go(a.page, "Check-ins");
    const ci = a.page.getByRole("form", { name: "New check-in" });
    await ci.getByLabel("When").fill("2026-12-11T17:30");
    await ci.getByLabel("Meeting link").fill("https://meet.example/ana-ben");
    await ci.getByLabel("Agenda").fill("Code review habits");
    await ci.getByRole("button", { name: "Schedule check-in" }).click();
    const checkin = a.page.getByRole("article", { name: /^Check-in:/ });
    await checkin.getByLabel("Rating").selectOption("4");
    await checkin.getByLabel("Comment").fill("Useful");
    await checkin.getByRole("button", { name: "Rate" }).click();
    await checkin.getByText("Ben: 4/5 — Useful").waitFor({ timeout: WAIT });

    await go(a.page, "Resources");
    const res = a.page.getByRole("form", { name: "New resource" });
    await res.getByLabel("Title").fill("Code review guide");
    await res.getByLabel("URL").fill("https://example.org/review");
    await res.getByRole("button", { name: "Add resource" }).click();
    await a.page.getByRole("article", { name: "Resource: Code review guide" }).waitFor({ timeout: WAIT });

    await go(a.page, "Actions");
    const act = a.page.getByRole("form", { name: "New action item" });
    await act.getByLabel("Title").fill("Read the guide");
    await act.getByRole("button", { name: "Add action" }).click();
    await a.page.getByRole("checkbox", { name: "Done: Read the guide" }).check();
    await a.page.getByRole("button", { name: "Archive action “Read the guide”" }).click();
    await a.page.getByLabel("Show archived").check();
    await a.page.getByRole("button", { name: "Restore action “Read the guide”" }).click();
    await a.page.getByRole("button", { name: "Archive action “Read the guide”" }).waitFor({ timeout: WAIT });

    await eventually("the CLI reads every edit", () => {
      sync();
      const g = cliJson(["goal", "list"]).find((x) => x.title === "Review code kindly");
      assert.ok(g, "goal missing");
      assert.equal(g.status, "active");
      assert.equal(g.due, "2027-03-01");
      const shown = cli(["goal", "show", g.id]);
      assert.match(shown, /Review three pull requests/);
      const c = cliJson(["checkin", "list"]).find((x) => x.agenda === "Code review habits");
      assert.ok(c, "check-in missing");
      assert.equal(c.at, new Date("2026-12-11T17:30").toISOString().replace(/\.000Z$/, "Z"));
      assert.equal(c.meeting_link, "https://meet.example/ana-ben");
      assert.match(JSON.stringify(c), /"rating":4/);
      const r = cliJson(["resource", "list"]).find((x) => x.title === "Code review guide");
      assert.equal(r?.url, "https://example.org/review");
      const x = cliJson(["action", "list"]).find((y) => y.title === "Read the guide");
      assert.ok(x, "the restored action is listed");
      assert.equal(x.done, true);
    });
    return "every field edited in the browser reads back in the CLI";
  },

  /** A field set at once in the browser (offline) and the CLI shows both values; one click settles it. */
  async conflict() {
    const a = await person(config.write);
    await openPlan(a.page, "goals");
    await introduce(a.page, "Ben");
    const goal = a.page.getByRole("article", { name: "Goal: Ship a Rust CLI" });
    await a.context.setOffline(true);
    await a.page.getByText("Offline: edits are kept here").first().waitFor({ timeout: WAIT });
    await goal.getByRole("button", { name: /^Edit goal/ }).click();
    const edit = a.page.getByRole("form", { name: /^Edit goal/ });
    await edit.getByLabel("Status").selectOption("done");
    await edit.getByRole("button", { name: "Save" }).click();
    const id = cliJson(["goal", "list"]).find((g) => g.title === "Ship a Rust CLI").id;
    cli(["-q", "goal", "set", id, "--status", "dropped"]);
    sync();
    await a.context.setOffline(false);
    await go(a.page, "Conflicts");
    const keep = a.page.getByRole("button", { name: "Keep “done” for status of goal “Ship a Rust CLI”" });
    await keep.waitFor({ timeout: 30_000 });
    await a.page.getByText("“dropped” by Ana").waitFor({ timeout: WAIT });
    await keep.click();
    await a.page.getByText("No conflicts.").waitFor({ timeout: WAIT });
    await eventually("the CLI sees the choice", () => {
      sync();
      assert.equal(cliJson(["goal", "list"]).find((g) => g.id === id).status, "done");
      assert.deepEqual(cliJson(["conflicts"]), [], cli(["log"]));
    });
    return "a conflict showed both values and one click settled it everywhere";
  },

  /** At 360 px every screen fits, every control has a name, and a goal can be added by keyboard. */
  async phone() {
    const p = await person(config.write, { width: 360, height: 780 });
    await openPlan(p.page);
    await introduce(p.page, "Ben");
    for (const label of ["Plan", "Goals", "Notes", "Check-ins", "Actions", "Resources", "History", "Conflicts", "People", "Private notes"]) {
      await go(p.page, label);
      await p.page.getByRole("heading", { level: 2 }).first().waitFor({ timeout: WAIT });
      const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${label} is ${overflow}px wider than a 360px screen`);
      const unnamed = await p.page.evaluate(() =>
        [...document.querySelectorAll("input, select, textarea, button, a[href]")]
          .filter((el) => {
            const labelled = el.id && document.querySelector(`label[for="${el.id}"]`);
            const wrapped = el.closest("label");
            return !(labelled || wrapped || el.getAttribute("aria-label") || el.textContent.trim());
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      assert.deepEqual(unnamed, [], `controls without a name on ${label}`);
    }
    // Keyboard only: the Title field, type, Enter.
    await go(p.page, "Goals");
    await p.page.getByRole("form", { name: "New goal" }).getByLabel("Title").focus();
    await p.page.keyboard.type("Added from the keyboard");
    await p.page.keyboard.press("Enter");
    await p.page.getByRole("article", { name: "Goal: Added from the keyboard" }).waitFor({ timeout: WAIT });
    // Private notes stay in this browser.
    await go(p.page, "Private notes");
    await p.page.getByRole("button", { name: "Start private notes" }).click();
    const form = p.page.getByRole("form", { name: "New private note" });
    await form.getByLabel("Title").fill("Only mine");
    await form.getByLabel("Text").fill("Never leaves this browser.");
    await form.getByRole("button", { name: "Add private note" }).click();
    await p.page.getByRole("article", { name: "Note: Only mine" }).waitFor({ timeout: WAIT });
    // automerge-repo stores a change 100 ms after it is made.
    await p.page.waitForTimeout(1000);
    await p.page.reload();
    await p.page.getByRole("article", { name: "Note: Only mine" }).waitFor({ timeout: WAIT });
    await eventually("the keyboard's goal reaches the CLI", () => {
      sync();
      assert.ok(titles(cliJson(["goal", "list"])).includes("Added from the keyboard"));
    });
    const everything = cli(["export", "--format", "json"]);
    assert.ok(!everything.includes("Only mine"), "a private note reached the shared workspace");
    return "360px screens fit, controls are named, keyboard works, private notes stay private";
  },

  /** The link `tandem demo --serve` prints opens the plan both demo people merged. */
  async demo() {
    const { page } = await person(null);
    await page.goto(config.link);
    await page.getByRole("heading", { name: "Plan", level: 2 }).waitFor({ timeout: WAIT });
    // One goal from each of Ana and Ben, merged by the relay.
    await page.getByText("Ship a Rust CLI").first().waitFor({ timeout: WAIT });
    await page.getByText("Contribute to an open-source crate").first().waitFor({ timeout: WAIT });
    await introduce(page, "Cleo", "observer");
    return "the demo's link opened the merged plan";
  },

  /**
   * Measuring success on the plan (the workspace began 40 days ago, no check-in yet): the rhythm
   * says the check-in is overdue, the pulse survey is asked for and answered, kudos and a
   * milestone done show as wins, a career step is listed, and a mentor changes the rhythm. The
   * CLI then reads the document, so what the browser wrote is valid for the Rust model.
   */
  async measures() {
    const ben = await person(config.write);
    await openPlan(ben.page);
    await introduce(ben.page, "Ben", "mentee");
    const plan = ben.page;
    // Created 40 days ago with the default 14-day rhythm and no check-in: due 26 days ago.
    await plan.getByText(/Check-in overdue by 26 days/).waitFor({ timeout: WAIT });

    const survey = plan.getByRole("form", { name: "Pulse survey" });
    await survey.getByLabel("Progress towards my goals").selectOption("4");
    await survey.getByLabel("The relationship helps me").selectOption("5");
    await survey.getByLabel("I would recommend this mentoring").selectOption("3");
    await survey.getByLabel("Comment").fill("Going well");
    await survey.getByRole("button", { name: "Send answers" }).click();
    await plan.getByRole("list", { name: "Pulse answers" }).getByText("progress 4/5, relationship 5/5, would recommend 3/5").waitFor({ timeout: WAIT });
    assert.equal(await plan.getByRole("form", { name: "Pulse survey" }).count(), 0, "the survey is still asked for after answering it");

    const kudos = plan.getByRole("form", { name: "New kudos" });
    await kudos.getByLabel("To").selectOption({ label: "Ana" });
    await kudos.getByLabel("Kudos", { exact: true }).fill("Great code review");
    await kudos.getByRole("button", { name: "Give kudos" }).click();
    const wins = plan.getByRole("list", { name: "Recent wins" });
    await wins.getByText("Kudos from Ben to Ana: Great code review").waitFor({ timeout: WAIT });

    const step = plan.getByRole("form", { name: "New career step" });
    await step.getByLabel("Role before").fill("Junior developer");
    await step.getByLabel("Role after").fill("Developer");
    await step.getByLabel("Date").fill("2026-11-02");
    await step.getByRole("button", { name: "Add career step" }).click();
    await plan.getByRole("list", { name: "Career steps" }).getByText("Junior developer → Developer").waitFor({ timeout: WAIT });

    // A milestone ticked off is a win, dated now.
    await go(plan, "Goals");
    const goal = plan.getByRole("article", { name: "Goal: Ship a Rust CLI" });
    await goal.getByRole("checkbox").first().check();
    await go(plan, "Plan");
    await wins.getByText("Milestone done: Read the book").waitFor({ timeout: WAIT });

    // Only a mentor sees the rhythm; a mentor's change reaches the mentee's plan.
    assert.equal(await plan.getByRole("form", { name: "Rhythm" }).count(), 0, "a mentee was offered the rhythm");
    const cleo = await person(config.write);
    await openPlan(cleo.page);
    await introduce(cleo.page, "Cleo", "mentor");
    const rhythm = cleo.page.getByRole("form", { name: "Rhythm" });
    await rhythm.getByLabel("Check-in every (days)").fill("30");
    await rhythm.getByRole("button", { name: "Set rhythm" }).click();
    await plan.getByText(/Check-in overdue by 10 days/).waitFor({ timeout: WAIT });

    // The Rust model reads everything the browsers wrote: the document still validates and
    // opens, with the milestone ticked off and every change named in the log.
    await eventually("the CLI reads the browsers' measures", () => {
      sync();
      const doc = JSON.parse(cli(["export", "--format", "json"]));
      const g = doc.goals.find((x) => x.title === "Ship a Rust CLI");
      assert.ok(g.milestones.some((m) => m.title === "Read the book" && m.done), JSON.stringify(g));
      const log = cli(["log"]);
      assert.match(log, /Ben.*gave kudos .* to Ana/);
      assert.match(log, /Ben.*answered the pulse survey for period 1: 4\/5\/3/);
      assert.match(log, /Ben.*recorded career step .* of Ben/);
      assert.match(log, /Cleo.*set the rhythm: check-ins every 30 days/);
    });
    if (config.measuresCli) await measuresInTheCli();
    return `the rhythm, survey, kudos, career step and wins work in the browser${config.measuresCli ? " and in the CLI both ways" : ""}`;
  },

  /**
   * The coordinators' page with a fixture report (web/e2e/program-fixture.json) served in place
   * of the relay's `GET /v1/program`, so that the page is checked against the contract's JSON
   * whatever relay runs. `program` below checks it against the relay's real report.
   */
  async programFixture() {
    const fixture = readFileSync(new URL("./program-fixture.json", import.meta.url), "utf8");
    for (const [width, height] of [
      [1200, 900],
      [360, 780],
    ]) {
      const { page } = await person(null, { width, height });
      const token = "tdm_fixture_program_token";
      page.on("request", (r) => r.url().includes(token) && problems.push(`the token appeared in ${r.url()}`));
      await page.route("**/v1/program", (r) =>
        r.fulfill({
          status: r.request().headers()["authorization"] === `Bearer ${token}` ? 200 : 401,
          contentType: "application/json",
          body: r.request().headers()["authorization"] === `Bearer ${token}` ? fixture : '{"error":"no token"}',
        }),
      );
      await page.goto(`${config.base}/program`);
      // A wrong token is refused in words.
      await page.getByLabel("Program token").fill("tdm_wrong");
      await page.getByRole("button", { name: "Show program" }).click();
      await page.getByRole("alert").getByText(/does not accept this token/).waitFor({ timeout: WAIT });
      await page.getByLabel("Program token").fill(token);
      await page.getByRole("button", { name: "Show program" }).click();
      await checkFixtureReport(page, width);
      if (config.out) await page.screenshot({ path: `${config.out}/web-program-${width === 360 ? "phone" : "desktop"}.png`, fullPage: true });
    }
    return "the program page shows the fixture's numbers, risks first, charts and all, at 1200 and 360 px";
  },

  /**
   * The coordinators' page against the relay's own `GET /v1/program`, with a program token:
   * the pairs, their numbers, and nothing anyone wrote.
   */
  async program() {
    // The browser already holds a workspace's token: staying signed in to the program keeps it.
    const { page } = await person(config.write);
    page.on("request", (r) => r.url().includes(config.program) && problems.push(`the token appeared in ${r.url()}`));
    await page.goto(`${config.base}/program`);
    await page.getByLabel("Program token").fill(config.program);
    await page.getByLabel(/Stay signed in/).check();
    await page.getByRole("button", { name: "Show program" }).click();
    const table = page.getByRole("table");
    await table.waitFor({ timeout: WAIT });
    const rows = table.getByRole("row");
    // A header row and one a workspace: Ana & Ben, and the second pair the test made.
    await eventually("both pairs are listed", async () => assert.equal(await rows.count(), 3));
    await table.getByRole("rowheader", { name: /Ana & Ben/ }).waitFor({ timeout: WAIT });
    const text = await page.locator("body").innerText();
    // Titles of goals are content: never on this page.
    assert.ok(!text.includes("Ship a Rust CLI"), "a goal's title reached the program page");
    // Staying signed in: the report comes back after a reload with no token typed.
    await page.reload();
    await page.getByRole("table").waitFor({ timeout: WAIT });
    // The workspace this browser was signed in to still syncs beside the program.
    await openPlan(page, "goals");
    cli(["-q", "goal", "add", "Goal while signed in to the program"]);
    sync();
    await page.getByRole("article", { name: "Goal: Goal while signed in to the program" }).waitFor({ timeout: WAIT });
    // Signing out of the program forgets its token alone.
    await page.goto(`${config.base}/program`);
    await page.getByRole("button", { name: "Sign out of the program" }).click();
    await page.getByLabel("Program token").waitFor({ timeout: WAIT });
    await page.reload();
    await page.getByLabel("Program token").waitFor({ timeout: WAIT });
    assert.equal(await page.getByRole("table").count(), 0);
    await openPlan(page, "goals");
    cli(["-q", "goal", "add", "Goal after signing out of the program"]);
    sync();
    await page.getByRole("article", { name: "Goal: Goal after signing out of the program" }).waitFor({ timeout: WAIT });
    return "the program page showed the relay's report, content-free, stayed signed in beside a workspace that kept syncing, and signed out of the program alone";
  },
  /** Screenshots of the plan at desktop and phone widths (docs/). */
  async screenshots() {
    const out = config.out;
    for (const [name, width, height] of [
      ["web-plan-desktop.png", 1200, 900],
      ["web-plan-phone.png", 360, 780],
    ]) {
      const p = await person(config.write, { width, height });
      await openPlan(p.page);
      if (width > 360) {
        await introduce(p.page, "Ben");
        // Kudos and a career step, so the plan shows its wins and steps as a pair would see them.
        const kudos = p.page.getByRole("form", { name: "New kudos" });
        await kudos.getByLabel("Kudos", { exact: true }).fill("Thanks for the patient parser review");
        await kudos.getByRole("button", { name: "Give kudos" }).click();
        const step = p.page.getByRole("form", { name: "New career step" });
        await step.getByLabel("Role before").fill("Junior developer");
        await step.getByLabel("Role after").fill("Developer");
        await step.getByRole("button", { name: "Add career step" }).click();
        await p.page.getByRole("list", { name: "Career steps" }).waitFor({ timeout: WAIT });
      } else {
        await introduce(p.page, "Cleo", "mentor");
        await p.page.getByRole("list", { name: "Career steps" }).waitFor({ timeout: WAIT });
      }
      await p.page.getByText("Synced with the relay").first().waitFor({ timeout: WAIT });
      const overflow = await p.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the plan is ${overflow}px wider than a ${width}px screen`);
      await p.page.screenshot({ path: `${out}/${name}`, fullPage: true });
      await p.context.close();
    }
    return "screenshots written";
  },
};

let code = 0;
try {
  if (!scenarios[scenario]) throw new Error(`no scenario ${scenario}`);
  const said = await scenarios[scenario]();
  if (problems.length) throw new Error(problems.join("\n"));
  console.log(`ok: ${said}`);
} catch (e) {
  console.error(`failed: ${scenario}: ${e.stack ?? e}`);
  if (problems.length) console.error(problems.join("\n"));
  // What each page showed when it failed, to tell a slow sync from a wrong screen.
  for (const p of pages) {
    const text = await p.locator("body").innerText().catch(() => "(closed)");
    console.error(`--- page ${p.url()}\n${text.slice(0, 3000)}`);
  }
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
