// Benchmark of the web app (BENCHMARKS.md, "Web app"), run on demand, never in CI:
//
//   1. how long the plan of the 10,000-item workspace takes to show from IndexedDB, in a browser
//      started afresh on a profile that already holds the workspace (cold) and on a reload of an
//      open page (warm); both for the plan kept from the last visit and for the plan from the
//      loaded document, with automerge's own load time beside them;
//   2. how long an edit in one browser takes to show in another, open on the same plan, through
//      a real tandem-server on loopback (two browser contexts, so nothing passes between them
//      except through the relay), p50 and p99 over --edits edits.
//
//   node web/e2e/bench.mjs [--items 10000] [--notes-bytes 1000000] [--runs 3] [--edits 50]
//                          [--bin DIR] [--chromium PATH] [--keep]
//
// --bin is where tandem, tandem-server and tandem-gen are (default: target/release; build them
// with `cargo build --release -p tandem -p tandem-server -p tandem-tests`, after `npm run build`,
// since the relay embeds web/dist). Prints a markdown table and the machine's load average.

import { chromium } from "playwright-core";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(new URL("../..", import.meta.url).pathname);
const opts = { items: 10000, "notes-bytes": 1000000, runs: 3, edits: 50, bin: join(root, "target", "release"), chromium: "/usr/bin/chromium", keep: false };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in opts)) throw new Error(`unknown option --${k}`);
  opts[k] = typeof opts[k] === "boolean" ? true : typeof opts[k] === "number" ? Number(process.argv[++i]) : process.argv[++i];
}
const bin = (name) => join(opts.bin, name);
const tmp = mkdtempSync(join(tmpdir(), "tandem-web-bench-"));
const LIMIT = 300_000;
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const run = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: LIMIT, maxBuffer: 64 << 20 });
const say = (s) => process.stderr.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

// ----- the relay and the workspaces -----

const data = join(tmp, "relay");
const token = run(bin("tandem-server"), ["token", "create", "--all", "--role", "write", "--data", data]).trim();
const relay = spawn(bin("tandem-server"), ["--data", data, "--listen", "127.0.0.1:0"], { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] });
const port = await new Promise((ok, fail) => {
  let seen = "";
  relay.stderr.on("data", (d) => {
    seen += d;
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(seen);
    if (m) ok(Number(m[1]));
  });
  relay.on("exit", () => fail(new Error(`tandem-server stopped: ${seen}`)));
});
// The relay stops with this script, however it ends.
process.on("exit", () => relay.kill("SIGTERM"));
const base = `http://127.0.0.1:${port}`;
const ws = `ws://127.0.0.1:${port}`;

function workspace(home) {
  run(bin("tandem"), ["--home", home, "-q", "sync", "--server", ws, "--token", token]);
  return JSON.parse(run(bin("tandem"), ["--home", home, "--json", "workspaces"]))[0].id;
}

say(`generating ${opts.items} items…`);
const bigHome = join(tmp, "big");
run(bin("tandem-gen"), ["--home", bigHome, "--items", String(opts.items), "--notes-bytes", String(opts["notes-bytes"]), "--seed", "42"]);
const big = workspace(bigHome);
const smallHome = join(tmp, "small");
run(bin("tandem"), ["--home", smallHome, "-q", "init", "--title", "Ana & Ben", "--name", "Ana", "--role", "mentor"]);
run(bin("tandem"), ["--home", smallHome, "-q", "goal", "add", "Ship a Rust CLI"]);
const small = workspace(smallHome);

// ----- 1. the plan from IndexedDB -----

const profile = join(tmp, "profile");
async function browserOn(dir) {
  const context = await chromium.launchPersistentContext(dir, { executablePath: opts.chromium, args: ARGS, viewport: { width: 1200, height: 900 } });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

/** Milliseconds from the page's navigation to each of the app's marks, once the live plan shows. */
async function marks(page) {
  await page.waitForFunction(() => performance.getEntriesByName("tandem:plan-from-document").length > 0, null, { timeout: LIMIT, polling: 100 });
  return page.evaluate(() => {
    const at = (name) => performance.getEntriesByName(name)[0]?.startTime;
    const loaded = performance.getEntriesByName("tandem:document-loaded")[0];
    const derived = performance.getEntriesByName("tandem:plan-derived")[0];
    return { copy: at("tandem:plan-from-copy"), document: at("tandem:plan-from-document"), load: loaded?.detail, derive: derived?.detail };
  });
}

say("first visit: the plan arrives from the relay…");
{
  const { context, page } = await browserOn(profile);
  await context.request.post(`${base}/v1/session`, { data: { token } });
  await page.goto(`${base}/#/w/${big}/plan`);
  await marks(page);
  // automerge-repo writes the document to IndexedDB shortly after it arrives; the plan's copy is
  // written 300 ms after it shows. Give both time, then close the browser cleanly.
  await page.waitForTimeout(5000);
  await context.close();
}

const results = { cold: [], warm: [], coldNoCopy: [], warmNoCopy: [] };
for (let i = 0; i < opts.runs; i++) {
  say(`cold start ${i + 1}/${opts.runs}…`);
  const { context, page } = await browserOn(profile);
  await page.goto(`${base}/#/w/${big}/plan`);
  results.cold.push(await marks(page));
  for (let j = 0; j < opts.runs; j++) {
    await page.waitForTimeout(1000);
    await page.reload();
    results.warm.push(await marks(page));
  }
  // The same without the kept copy: what the plan costs when only the document can show it.
  await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("tandem.plan.")).forEach((k) => localStorage.removeItem(k)));
  await page.reload();
  results.warmNoCopy.push(await marks(page));
  await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("tandem.plan.")).forEach((k) => localStorage.removeItem(k)));
  await context.close();
  const again = await browserOn(profile);
  await again.page.goto(`${base}/#/w/${big}/plan`);
  results.coldNoCopy.push(await marks(again.page));
  await again.page.waitForTimeout(1500); // The copy is kept again for the next round.
  await again.context.close();
}

// ----- 2. an edit in one browser, shown in another -----

say(`latency: ${opts.edits} edits between two browsers…`);
const browser = await chromium.launch({ executablePath: opts.chromium, args: ARGS });
async function person() {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  await context.request.post(`${base}/v1/session`, { data: { token } });
  const page = await context.newPage();
  await page.goto(`${base}/#/w/${small}/goals`);
  await page.getByRole("article", { name: "Goal: Ship a Rust CLI" }).waitFor({ timeout: LIMIT });
  await page.getByText("Synced with the relay").first().waitFor({ timeout: LIMIT });
  return page;
}
const a = await person();
const b = await person();
const latencies = [];
for (let i = 0; i < opts.edits; i++) {
  const title = `Bench goal ${i}`;
  // The other browser notes the moment the goal appears on its screen.
  const seen = b.evaluate(
    (t) =>
      new Promise((ok) => {
        const look = () => [...document.querySelectorAll("article")].some((el) => el.getAttribute("aria-label") === `Goal: ${t}`);
        const obs = new MutationObserver(() => {
          if (look()) {
            obs.disconnect();
            ok(Date.now());
          }
        });
        obs.observe(document.body, { childList: true, subtree: true });
      }),
    title,
  );
  const form = a.getByRole("form", { name: "New goal" });
  await form.getByLabel("Title").fill(title);
  const sent = await a.evaluate(() => {
    const t = Date.now();
    document.querySelector('form[aria-label="New goal"] button[type="submit"]').click();
    return t;
  });
  latencies.push((await seen) - sent);
  await a.waitForTimeout(100);
}
await browser.close();
relay.kill("SIGTERM");
if (!opts.keep) rmSync(tmp, { recursive: true, force: true });
else say(`kept ${tmp}`);

// ----- the report -----

const row = (list, key) => {
  const xs = list.map((r) => r[key]).filter((x) => typeof x === "number");
  return xs.length ? `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})` : "–";
};
console.log(`\n${opts.items} items, ${opts["notes-bytes"]} bytes of notes; ms from navigation, median (min–max)\n`);
console.log("| start | plan from the kept copy | automerge load (its own metric) | plan derived from the document | plan from the document |");
console.log("|:---|---:|---:|---:|---:|");
for (const [label, list] of [
  [`cold (new browser), ${results.cold.length} runs`, results.cold],
  [`warm (reload), ${results.warm.length} runs`, results.warm],
  [`cold, no kept copy, ${results.coldNoCopy.length} runs`, results.coldNoCopy],
  [`warm, no kept copy, ${results.warmNoCopy.length} runs`, results.warmNoCopy],
])
  console.log(`| ${label} | ${row(list, "copy")} | ${row(list, "load")} | ${row(list, "derive")} | ${row(list, "document")} |`);
console.log(
  `\nedit → other browser (loopback relay, ${latencies.length} edits): p50 ${median(latencies)} ms, p99 ${pct(latencies, 99)} ms, max ${Math.max(...latencies)} ms`,
);
console.log(`load average: ${loadavg().map((x) => x.toFixed(2)).join(", ")}`);
