// The container image, as a user runs it (`cargo xtask test` starts it and gives its published
// address in KMVIZ_URL, and the query the demo printed in KMVIZ_QUERY): its API, its
// operator routes, and the app in Chromium.
import assert from "node:assert/strict";
import { launchBrowser, open, until } from "./harness.mjs";

const base = process.env.KMVIZ_URL;
const request = JSON.parse(process.env.KMVIZ_QUERY);
assert.ok(base && request.fastx, "set KMVIZ_URL and KMVIZ_QUERY");

async function json(path, init) {
  const response = await fetch(base + path, init);
  return { status: response.status, body: await response.json() };
}

// The API: the demo's query finds samples.
const submitted = await json("/api/query", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(request),
});
assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
let session;
await until("the session's end", async () => {
  session = (await json(`/api/sessions/${submitted.body.session}`)).body;
  return session.status === "done";
}, 30000);
const hits = session.pairs.reduce((n, p) => n + (p.result?.hits.length ?? 0), 0);
assert.ok(hits > 0, "the demo's query finds samples");
console.log(`ok - the API answers (${hits} hits)`);

// For operators.
assert.deepEqual((await json("/healthz")).body, { ok: true });
const ready = await json("/readyz");
assert.equal(ready.status, 200, JSON.stringify(ready.body));
assert.equal(ready.body.ready, true);
const metrics = await (await fetch(`${base}/metrics`)).text();
assert.match(metrics, /kmviz_http_requests_total\{[^}]*route="\/api\/query"/);
console.log("ok - health, readiness and metrics");

// The app, in a browser, through the published port.
const browser = await launchBrowser();
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  await open(page, base);
  await page.locator(".sidebar h1").waitFor();
  assert.ok(await page.locator('.databases input[value="survey"]').isChecked());
  await page.locator(".home h2", { hasText: "The kmviz demo" }).waitFor();
  await page.locator(".sidebar textarea").fill(request.fastx);
  await page.locator(".submit").click();
  await page.locator('.progress[data-status="done"]').waitFor({ timeout: 30000 });
  const rows = page.locator('.tab-page[data-page="table"] table.hits tbody tr[data-row]');
  await until("the table's rows", async () => (await rows.count()) > 0);
  assert.deepEqual(problems, []);
  console.log("ok - the app queries the demo in Chromium");
} finally {
  await browser.close();
}
