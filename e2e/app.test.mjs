// kmviz in a real browser: Debian's Chromium driven by playwright-core, against `kmviz demo`
// (the binary from $KMVIZ_BIN, the app from $KMVIZ_SITE). Screenshots go to $KMVIZ_SHOTS (or
// e2e/out); the folder is printed.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const bin = process.env.KMVIZ_BIN;
assert.ok(bin, "set KMVIZ_BIN to the kmviz binary");
const shots = resolve(process.env.KMVIZ_SHOTS ?? join(import.meta.dirname, "out"));
mkdirSync(shots, { recursive: true });
const data = mkdtempSync(join(tmpdir(), "kmviz-e2e-"));

// The demo server, on a free port.
const server = spawn(bin, ["demo", "--data-dir", data, "--port", "0"], {
  stdio: ["ignore", "ignore", "pipe"],
});
const base = await new Promise((ok, fail) => {
  const lines = createInterface({ input: server.stderr });
  lines.on("line", (line) => {
    const m = line.match(/^kmviz demo is up\. Open (http:\/\/\S+)\/api\/info/);
    if (m) ok(m[1]);
  });
  server.on("exit", (code) => fail(new Error(`kmviz demo exited (${code})`)));
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });

/// Polls `check` until it holds (the app renders after events, not within them).
async function until(what, check, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const steps = [];
async function step(name, body) {
  await body();
  await page.screenshot({ path: join(shots, `${String(steps.length + 1).padStart(2, "0")}-${name}.png`) });
  steps.push(name);
  console.log(`ok - ${name}`);
}

try {
  await step("opens", async () => {
    await page.goto(base);
    await page.locator(".sidebar h1").waitFor();
    // The demo's database is preselected, its options rendered from the schema.
    assert.ok(await page.locator('.databases input[value="survey"]').isChecked());
    await page.locator('.options[data-database="survey"] .option[data-option="z"] input').waitFor();
    assert.equal(await page.locator('.option[data-option="z"] output').textContent(), "3");
  });

  await step("refuses-bad-input", async () => {
    await page.locator(".sidebar textarea").fill(">a\n\n>b\nACGT\n");
    await page.locator(".submit").click();
    assert.equal(await page.locator(".sidebar .error").textContent(), "record 'a' is empty");
  });

  await step("refuses-bad-upload", async () => {
    const bad = join(data, "bad.fq");
    writeFileSync(bad, "@r1\nACGT\n+\nII\n");
    await page.locator('.upload input[type="file"]').setInputFiles(bad);
    // The file is read asynchronously: wait for its message.
    const message = await page.locator(".sidebar .error", { hasText: "bad.fq" }).textContent();
    assert.match(message, /^bad\.fq: the input is not valid FASTA\/FASTQ/);
  });

  const queries = readFileSync(join(data, "queries.fa"), "utf8");
  await step("submits-and-shows-progress", async () => {
    await page.locator(".sidebar textarea").fill(queries);
    await page.locator(".submit").click();
    await page.waitForURL(/\/s\/[0-9a-f]{32}$/);
    await page.locator('.progress[data-status="done"]').waitFor({ timeout: 30000 });
    assert.equal(await page.locator(".progress .count").textContent(), "8/8 done");
    await until("the table's rows", async () => (await page.locator("table.hits tbody tr").count()) > 10);
  });

  await step("sorts", async () => {
    const header = page.locator('table.hits th[data-column="Temp"]');
    await header.click();
    await header.click(); // descending
    await until("the descending arrow", async () => (await header.textContent()).endsWith("▼"));
    const temps = await page.locator("table.hits tbody tr td:nth-child(10)").allTextContents();
    const values = temps.map(Number);
    assert.ok(values.length > 10);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
    // The warm cyanobacterium lives in warm water.
    assert.ok(values[0] > 20, `warmest station ${values[0]}`);
  });

  await step("filters", async () => {
    const where = page.locator("input.where");
    await where.fill("Tmp > 3");
    await where.press("Enter");
    assert.match(await page.locator(".filter-error").textContent(),
      /^at character 1: no column 'Tmp'; the columns are: ID, index, CovXK/);
    await where.fill("Temp > 26 AND biome = 'Trades'");
    await where.press("Enter");
    await page.locator(".filter-error").waitFor({ state: "detached" });
    await until("the filtered count", async () => /^\d+ of \d+ samples/.test(await page.locator("p.count").textContent())
      && !(await page.locator("p.count").textContent()).startsWith("34 of"));
    const rows = page.locator("table.hits tbody tr");
    const n = await rows.count();
    assert.ok(n > 0);
    const temps = (await page.locator("table.hits tbody tr td:nth-child(10)").allTextContents()).map(Number);
    const biomes = await page.locator("table.hits tbody tr td:nth-child(12)").allTextContents();
    assert.ok(temps.every((t) => t > 26), temps.join(","));
    assert.ok(biomes.every((b) => b === "Trades"), biomes.join(","));
    assert.match(await page.locator("p.count").textContent(), new RegExp(`^${n} of \\d+ samples`));
    await where.fill("");
    await where.press("Enter");
  });

  await step("opens-a-sample-in-sequence", async () => {
    const first = page.locator("table.hits tbody tr").first();
    const id = await first.locator("td").first().textContent();
    await first.click();
    const view = page.locator(`.sequence[data-sample="${id}"]`);
    await view.waitFor();
    assert.ok(await view.locator("svg.coverage polyline").count() === 1);
    // One shaded letter per base of the query.
    const query = queries.split(">")[1].split("\n").slice(1).join("");
    assert.equal(await view.locator(".letters .base").count(), query.length);
  });

  await step("switches-query", async () => {
    await page.locator('.tab[data-tab="table"]').click();
    await page.locator("table.hits").waitFor();
    await page.locator("select.query").selectOption("absent");
    await until("the absent query's empty table", async () =>
      (await page.locator("p.count").textContent()) === "0 of 0 samples");
    assert.equal(await page.locator(".progress .count").textContent(), "8/8 done");
    await page.locator("select.query").selectOption("polar_diatom");
    await until("the polar diatom's rows", async () => (await page.locator("table.hits tbody tr").count()) > 0);
  });

  await step("reloads-the-session-url", async () => {
    const url = page.url();
    await page.reload();
    await page.locator('.progress[data-status="done"]').waitFor();
    assert.equal(page.url(), url);
    await until("the reloaded table", async () => (await page.locator("table.hits tbody tr").count()) > 10);
  });

  await step("narrow-screen", async () => {
    await page.setViewportSize({ width: 700, height: 900 });
    assert.ok(await page.locator(".sidebar textarea").isVisible());
    assert.ok(await page.locator(".submit").isEnabled());
  });

  assert.deepEqual(problems, []);
  console.log(`${steps.length} browser steps passed; screenshots in ${shots}`);
} finally {
  await browser.close();
  server.kill();
}
