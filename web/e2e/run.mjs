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
import assert from "node:assert/strict";

const [scenario, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);
const WAIT = 20_000;

/** Run the CLI in Ana's home; returns stdout. */
function cli(args, env = {}) {
  return execFileSync(config.tandem, ["--home", config.home, ...args], {
    env: { ...process.env, NO_COLOR: "1", TZ: "UTC", EDITOR: "false", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}
const cliJson = (args) => JSON.parse(cli(["--json", ...args]));
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

/** A new browser (its own storage, like another person's device), signed in with `token`. */
async function person(token, { width = 1200, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, serviceWorkers: "allow" });
  const page = await context.newPage();
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

  /** Screenshots of the plan at desktop and phone widths (docs/). */
  async screenshots() {
    const out = config.out;
    for (const [name, width, height] of [
      ["web-plan-desktop.png", 1200, 900],
      ["web-plan-phone.png", 360, 780],
    ]) {
      const p = await person(config.write, { width, height });
      await openPlan(p.page);
      await introduce(p.page, "Ben");
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
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
