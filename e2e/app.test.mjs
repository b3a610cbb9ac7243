// kmviz in a real browser: Debian's Chromium driven by playwright-core, against `kmviz demo`
// (see harness.mjs). Screenshots go to $KMVIZ_SHOTS (or e2e/out); the folder is printed.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";
import { launchBrowser, open, startDemo, startServer, syntheticSession, until } from "./harness.mjs";

const shots = resolve(process.env.KMVIZ_SHOTS ?? join(import.meta.dirname, "out"));
mkdirSync(shots, { recursive: true });
const { base, data, server } = await startDemo();
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()} (${m.location().url})`); });
const assets = [];
page.on("response", (r) => { if (r.url().includes("/assets/")) assets.push(`${r.status()} ${new URL(r.url()).pathname}`); });

// The result table of the pair shown.
const pageOf = (tab) => page.locator(`.tab-page[data-page="${tab}"]`);
const table = pageOf("table");
const rows = table.locator("table.hits tbody tr[data-row]");
const count = () => table.locator("p.count").textContent();
const column = (n) => table.locator(`table.hits tbody tr[data-row] td:nth-child(${n})`).allTextContents();
/// The Plotly figure's traces in a tab.
const traces = (tab) => pageOf(tab).locator(".figure").evaluate((div) =>
  (div.data ?? []).map((t) => ({ type: t.type, name: t.name, points: (t.customdata ?? t.lat ?? []).length })));
const LAT = 8, TEMP = 11, BIOME = 13;

/// A configuration with two databases, written beside the demo: the demo's index read from
/// disk, and `name`, a kmindex-server at `url` with the metadata in `metadata`.
function instanceWith(name, url, metadata, extra = "") {
  const config = join(data, `${name}.toml`);
  writeFileSync(config, `
[databases.survey]
type = "kmindex"
params = { index_path = "${join(data, "index")}" }
metadata = { type = "tsv", params = { path = "${join(data, "metadata.tsv")}", idx = "ID" } }

[databases.${name}]
type = "kmindex-server"
params = { url = "${url}" }
metadata = { type = "${metadata.endsWith(".csv") ? "csv" : "tsv"}", params = { path = "${metadata}", idx = "ID" } }

[default]
database = ["survey", "${name}"]

[sessions]
data_dir = "${join(data, `${name}-sessions`)}"
${extra}`);
  return config;
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
    await open(page, base);
    await page.locator(".sidebar h1").waitFor();
    // The demo's database is preselected, its options rendered from the schema.
    assert.ok(await page.locator('.databases input[value="survey"]').isChecked());
    await page.locator('.options[data-database="survey"] .option[data-option="z"] input').waitFor();
    assert.equal(await page.locator('.option[data-option="z"] output').textContent(), "3");
    // The demo's instance plugin: its home page, its stylesheet and its logo.
    await page.locator(".home h2", { hasText: "The kmviz demo" }).waitFor();
    await until("the plugin's stylesheet", async () =>
      (await page.locator(".demo-home").evaluate((e) => getComputedStyle(e).display)) === "flex");
    await until("the plugin's logo", async () =>
      (await page.locator(".demo-home img").evaluate((img) => img.naturalWidth)) > 0);
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
  await step("warns-of-odd-letters", async () => {
    // The demo accepts any letters; those no DNA k-mer holds are said as you type.
    const box = page.locator(".sidebar textarea");
    await box.fill("XX!!12");
    assert.match(await page.locator(".sidebar .warnings").textContent(),
      /^query '[^']*': 6 of 6 letters are not A, C, G, T or N/);
    await box.fill(`>p\n${"MKVLAT".repeat(10)}\n>d\n${"ACGTN".repeat(12)}\n`);
    assert.deepEqual(await page.locator(".sidebar .warnings li").allTextContents(),
      ["query 'p': 40 of 60 letters are not A, C, G, T or N; k-mers holding them are never found"]);
    // So are queries shorter than the chosen database's k-mers (s + z, from /api/info).
    const info = await (await fetch(`${base}/api/info`)).json();
    const survey = info.databases.find((d) => d.name === "survey");
    const z = survey.options.find((o) => o.name === "z");
    const k = Math.min(...survey.indexes.map((i) => i.smer_size)) + (z.value ?? z.default);
    await box.fill(`>s\n${"ACGT".repeat(20).slice(0, k - 1)}\n>ok\n${"ACGT".repeat(20).slice(0, k)}\n`);
    assert.deepEqual(await page.locator(".sidebar .warnings li").allTextContents(),
      [`query 's': ${k - 1} letters, shorter than the k-mers of survey (${k}); nothing can be found there`]);
  });

  await step("tries-the-example", async () => {
    // The home page names the buttons as the sidebar labels them.
    const home = await page.locator(".home").textContent();
    for (const button of [".example", ".submit"]) {
      const label = await page.locator(`.sidebar ${button}`).textContent();
      assert.ok(home.includes(label), `the home page does not mention '${label}'`);
    }
    await page.locator(".sidebar .example").click();
    assert.equal(await page.locator(".sidebar textarea").inputValue(), queries);
    assert.equal(await page.locator(".sidebar .error").count(), 0);
    assert.equal(await page.locator(".sidebar .warnings").count(), 0);
  });

  let total = 0;
  await step("submits-and-shows-progress", async () => {
    await page.locator(".submit").click();
    await page.waitForURL(/\/s\/[0-9a-f]{32}$/);
    await page.locator('.progress[data-status="done"]').waitFor({ timeout: 30000 });
    assert.equal(await page.locator(".progress .count").textContent(), "8/8 done");
    // The options the search ran with are stated, as the session holds them.
    const id = page.url().split("/s/")[1];
    const run = (await (await fetch(`${base}/api/sessions/${id}`)).json()).databases[0];
    const stated = await page.locator(`.options li[data-database="${run.name}"]`).textContent();
    for (const [name, value] of Object.entries(run.options)) {
      const shown = Array.isArray(value) ? `[${value.join(", ")}]` : String(value);
      assert.ok(stated.includes(`${name} = ${shown}`), `${stated} lacks ${name} = ${shown}`);
    }
    await until("the table's rows", async () => (await rows.count()) > 10);
    total = Number((await count()).match(/^\d+ of (\d+) samples/)[1]);
  });

  await step("shares-a-link-without-javascript", async () => {
    const id = page.url().split("/s/")[1];
    const session = await (await fetch(`${base}/api/sessions/${id}`)).json();
    const first = session.pairs[0];
    const best = first.result.hits[0].ID;
    // Without JavaScript, the link shows the session as the app draws it (the server renders
    // the app): its status, its options, and the first pair's table from its best sample on.
    const noScript = await browser.newContext({ javaScriptEnabled: false });
    const plain = await noScript.newPage();
    await plain.goto(`${base}/s/${id}`);
    await plain.locator('.progress[data-status="done"]').waitFor();
    assert.ok((await plain.locator(".options li").textContent()).includes(first.database));
    const served = plain.locator('[data-page="table"] table.hits tbody tr[data-row]');
    assert.ok((await served.count()) > 10);
    assert.ok((await served.first().textContent()).includes(best));
    // The home page: the instance's, and a word on what needs JavaScript.
    await plain.goto(base);
    await plain.locator(".home h2", { hasText: "The kmviz demo" }).waitFor();
    assert.match(await plain.locator("noscript").textContent(), /Searching needs JavaScript/);
    await noScript.close();
    // With it, the app takes the server's page over (hydrates it): the table the server drew is
    // the one the app then sorts, not drawn again. The app's code is held until it is marked.
    const app = await browser.newPage();
    const pageErrors = [];
    app.on("pageerror", (e) => pageErrors.push(e.message));
    app.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
    let release;
    const held = new Promise((r) => { release = r; });
    await app.route("**/pkg/app_bg.wasm", async (route) => { await held; await route.continue(); });
    await app.goto(`${base}/s/${id}`);
    const drawn = app.locator('[data-page="table"] table.hits');
    await drawn.evaluate((t) => { t.dataset.server = "yes"; });
    release();
    await app.locator('html[data-app="live"]').waitFor();
    const header = drawn.locator('th[data-column="Temp"]');
    await header.click();
    await until("the table sorted by the app", async () => (await header.getAttribute("aria-sort")) === "ascending");
    assert.equal(await drawn.getAttribute("data-server"), "yes");
    // The rest of the session (read once the app runs) is there too: the Overview lists every pair.
    await app.locator('button.tab[data-tab="overview"]').click();
    const last = session.pairs.length - 1;
    const hitsOfLast = app.locator(`[data-page="overview"] tr[data-row="${last}"] td:nth-child(4)`);
    await until("the last pair's hits in the Overview", async () =>
      (await hitsOfLast.count()) === 1 && (await hitsOfLast.textContent()) === String(session.pairs[last].result.hits.length));
    assert.deepEqual(pageErrors, []);
    await app.close();
  });

  await step("sorts", async () => {
    const header = table.locator('th[data-column="Temp"]');
    await header.click();
    await header.click(); // descending
    await until("the descending arrow", async () => (await header.textContent()).endsWith("▼"));
    const values = (await column(TEMP)).map(Number);
    assert.ok(values.length > 10);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
    // The warm cyanobacterium lives in warm water.
    assert.ok(values[0] > 20, `warmest station ${values[0]}`);
  });

  await step("filters", async () => {
    const where = table.locator("input.where");
    await where.fill("Tmp > 3");
    await where.press("Enter");
    assert.match(await table.locator(".filter-error").textContent(),
      /^at character 1: no column 'Tmp'; the columns are: ID, index, CovXK/);
    // An expression that cannot be read keeps the rows of the last one that could.
    assert.ok((await count()).startsWith(`${total} of`), await count());
    // Filters apply as you type (no Enter).
    await where.fill("Temp > 26 AND biome = 'Trades'");
    await table.locator(".filter-error").waitFor({ state: "detached" });
    await until("the filtered count", async () => !(await count()).startsWith(`${total} of`));
    const narrowed = await count();
    await where.fill("Temp > 26 AND biome = 'Trades' AND");
    await table.locator(".filter-error").waitFor();
    assert.equal(await count(), narrowed);
    await where.fill("Temp > 26 AND biome = 'Trades'");
    await table.locator(".filter-error").waitFor({ state: "detached" });
    const n = await rows.count();
    assert.ok(n > 0);
    const temps = (await column(TEMP)).map(Number);
    assert.ok(temps.every((t) => t > 26), temps.join(","));
    assert.ok((await column(BIOME)).every((b) => b === "Trades"));
    assert.match(await count(), new RegExp(`^${n} of ${total} samples`));
    // The demo links its biomes.
    assert.equal(await rows.first().locator(`td:nth-child(${BIOME}) a`).getAttribute("href"),
      "https://en.wikipedia.org/w/index.php?search=Trades+biome");
    await where.fill("");
    await where.press("Enter");
    await until("the whole table", async () => (await count()).startsWith(`${total} of`));
  });

  await step("filters-a-column", async () => {
    // As you type, too.
    await table.locator('input[aria-label="Temp at least"]').fill("25");
    await table.locator('input[aria-label="Biome contains"]').fill("trad");
    // Each box applies once typing pauses in it.
    await until("both column filters", async () => !(await count()).startsWith(`${total} of`) &&
      (await column(BIOME)).every((b) => b === "Trades"));
    assert.ok((await column(TEMP)).map(Number).every((t) => t >= 25));
  });

  await step("exports-csv", async () => {
    const shown = Number((await count()).match(/^(\d+) of/)[1]);
    const [download] = await Promise.all([page.waitForEvent("download"), table.locator('button.export[data-format="csv"]').click()]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const lines = readFileSync(await download.path(), "utf8").trimEnd().split("\n");
    assert.equal(lines[0], "ID,index,CovXK,CovXB,CovYK,CovYB,has_metadata,Lat,Long,Depth,Temp,Date,Biome,Layer");
    assert.equal(lines.length, shown + 1);
    assert.ok(lines.slice(1).every((l) => l.split(",")[12] === "Trades" && Number(l.split(",")[10]) >= 25));
  });

  await step("plots-the-filtered-rows", async () => {
    const shown = Number((await count()).match(/^(\d+) of/)[1]);
    await page.locator('.tab[data-tab="plot"]').click();
    await until("the scatter", async () => (await traces("plot")).length > 0, 30000);
    // The demo's default preset: coverage by temperature, one trace per biome.
    assert.equal(await pageOf("plot").locator(".preset select").inputValue(), "coverage by temperature");
    const drawn = await traces("plot");
    assert.ok(drawn.every((t) => t.type === "scatter" && t.name.startsWith("Biome=")), JSON.stringify(drawn));
    assert.equal(drawn.reduce((sum, t) => sum + t.points, 0), shown);
    assert.equal(await pageOf("plot").locator(".narrowed").textContent(),
      `${shown} of ${total} samples (the table's filters)`);
    // Clearing the table's filters (all at once) redraws the plot with every row.
    await page.locator('.tab[data-tab="table"]').click();
    await table.locator(".clear-filters").click();
    await until("the whole table", async () => (await count()).startsWith(`${total} of`));
    for (const label of ["Temp at least", "Biome contains"]) {
      assert.equal(await table.locator(`input[aria-label="${label}"]`).inputValue(), "");
    }
    assert.equal(await table.locator(".clear-filters").count(), 0);
    await page.locator('.tab[data-tab="plot"]').click();
    await until("every point", async () => (await traces("plot")).reduce((sum, t) => sum + t.points, 0) === total);
    assert.equal(await pageOf("plot").locator(".narrowed").count(), 0);
  });

  await step("plot-controls", async () => {
    const plot = pageOf("plot");
    const preset = plot.locator(".preset select");
    await plot.locator(".column-colour select").selectOption("Layer");
    await until("one trace per layer", async () => (await traces("plot"))[0]?.name.startsWith("Layer="));
    const names = (await traces("plot")).map((t) => t.name);
    assert.ok(names.length > 1 && names.every((n) => n.startsWith("Layer=")), names.join());
    // Edited, the figure is no longer the preset: none is named.
    assert.equal(await preset.inputValue(), "");
    // Boxes of a numeric X would be slivers: they group by the colour's category instead.
    await plot.locator(".kind select").selectOption("Box");
    await until("boxes by layer", async () => (await traces("plot")).every((t) => t.type === "box"));
    assert.equal(await plot.locator(".column-x select").inputValue(), "Layer");
    // Another preset of the database.
    await preset.selectOption("abundance by layer");
    await until("boxes", async () => (await traces("plot")).every((t) => t.type === "box"));
    assert.equal(await preset.inputValue(), "abundance by layer");
    await plot.locator(".kind select").selectOption("Violin");
    await until("violins", async () => (await traces("plot")).every((t) => t.type === "violin"));
    await plot.locator(".kind select").selectOption("Parallel coordinates");
    await until("parallel coordinates", async () => (await traces("plot"))[0]?.type === "parcoords");
    // A bad choice is said, not drawn.
    await plot.locator(".kind select").selectOption("Scatter");
    await plot.locator(".column-x select").selectOption("CovXK");
    await plot.locator(".column-y select").selectOption("");
    assert.equal(await plot.locator(".figure-error").textContent(), "choose a column for Y (Scatter plots need both)");
    await plot.locator(".column-y select").selectOption("Temp");
    await plot.locator(".column-colour select").selectOption("");
    await plot.locator(".trendline input").check();
    await until("the trendline", async () => (await traces("plot")).some((t) => t.name === "OLS"));
  });

  await step("downloads-a-figure", async () => {
    const plot = pageOf("plot");
    // Downloads stay local: none of Plotly's links to its cloud.
    const cloud = await plot.locator(".figure").evaluate((div) => ({
      sendToCloud: div._context.showSendToCloud,
      buttons: [...div.querySelectorAll(".modebar-btn")].map((b) => b.dataset.title)
        .filter((t) => /share|cloud|chart studio/i.test(t)),
    }));
    assert.deepEqual(cloud, { sendToCloud: false, buttons: [] });
    for (const format of ["png", "svg", "json"]) {
      const [download] = await Promise.all([page.waitForEvent("download"), plot.locator(`.downloads button[data-format="${format}"]`).click()]);
      assert.match(download.suggestedFilename(), new RegExp(`\\.${format}$`));
      const bytes = readFileSync(await download.path());
      assert.ok(bytes.length > 500, `${format}: ${bytes.length} bytes`);
      if (format === "json") assert.equal(JSON.parse(bytes).data[0].type, "scatter");
    }
  });

  await step("selects-in-a-figure", async () => {
    // A box drawn over the lower half of the plot selects some points; the table shows only them.
    const area = pageOf("plot").locator(".figure .nsewdrag").first();
    const box = await area.boundingBox();
    await page.mouse.move(box.x + 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 + 20, { steps: 5 });
    await page.mouse.move(box.x + box.width - 2, box.y + box.height - 2, { steps: 5 });
    await page.mouse.up();
    await page.locator('.tab[data-tab="table"]').click();
    await until("the selection", async () => (await count()).includes("selected in a figure"), 5000);
    const selected = Number((await count()).match(/(\d+) selected in a figure/)[1]);
    assert.ok(selected > 0 && selected < total, `${selected} of ${total}`);
    assert.ok((await count()).startsWith(`${selected} of ${total}`));
    await table.locator("button.clear-selection").click();
    await until("the whole table", async () => (await count()).startsWith(`${total} of`));
  });

  await step("maps", async () => {
    await page.locator('.tab[data-tab="map"]').click();
    await until("the map", async () => (await traces("map")).length > 0, 30000);
    assert.deepEqual((await traces("map")).map((t) => t.type), ["scattergeo"]);
    // The demo's map preset: coloured by CovXK, titled.
    const map = pageOf("map");
    const figure = () => map.locator(".figure").evaluate((div) => ({ data: div.data, layout: div.layout }));
    assert.equal((await figure()).layout.title.text, "Where the query is found");
    // Hover names the sample and the value its colour stands for; the scale can change.
    assert.match((await figure()).data[0].hovertext[0], /^[^<]+<br>CovXK: [\d.]+(<br>|$)/);
    await map.locator(".color-scale select").selectOption("Plasma");
    await until("the Plasma scale", async () => (await figure()).layout.coloraxis.colorscale === "Plasma");
    // Labels, symbols and opacity, as kmviz 0.8's map had.
    await map.locator(".column-label select").selectOption("ID");
    await until("labels", async () => (await figure()).data[0].mode === "markers+text");
    await map.locator(".column-symbol select").selectOption("Layer");
    await until("a symbol per layer", async () => new Set((await figure()).data.map((t) => t.marker.symbol)).size > 1);
    await map.locator(".opacity input").fill("0.5");
    await until("half opaque", async () => (await figure()).data.every((t) => t.marker.opacity === 0.5));
    await map.locator(".column-symbol select").selectOption("");
    await map.locator(".column-label select").selectOption("");
    await pageOf("map").locator(".column-colour select").selectOption("Layer");
    await until("one trace per layer", async () => (await traces("map")).length > 1);
    await pageOf("map").locator(".projection select").selectOption("orthographic");
    // The basemap comes from this server, not a CDN.
    await until("the basemap", async () => assets.some((a) => a.startsWith("200 /assets/topojson/world_110m.json")));
    await until("countries", async () => (await pageOf("map").locator(".figure .geo .countries path, .figure .geo path.countries").count()) > 0);
  });

  await step("shows-the-index", async () => {
    await page.locator('.tab[data-tab="index"]').click();
    const row = pageOf("index").locator('table.indexes tr[data-index="survey"]');
    await row.waitFor();
    const cells = await row.locator("td").allTextContents();
    // s, k = s + z (z = 3), minimizer, partitions, Bloom size, samples, bits per cell.
    assert.equal(cells[1], "25");
    assert.equal(cells[2], "28");
    assert.equal(cells[6], "200");
    assert.equal(cells[7], "2");
    assert.match(cells[8], /^\d\.\d\de-\d+$/);
    await until("the metadata table", async () => (await pageOf("index").locator("p.count").textContent()) === "200 of 200 samples");
  });

  await step("shows-help", async () => {
    await page.locator('.tab[data-tab="help"]').click();
    await pageOf("help").locator("h2", { hasText: "Using kmviz" }).waitFor();
    await pageOf("help").locator(".plugin-help h3", { hasText: "About the demo survey" }).waitFor();
  });

  await step("shows-a-plugin-tab", async () => {
    // The demo's coverage tab (a WebAssembly plugin): one row per biome, counting every sample.
    await page.locator('.tab[data-tab="plugin-coverage"]').click();
    const groups = pageOf("plugin-coverage").locator("table.coverage-by-group tbody tr");
    await groups.first().waitFor();
    const counted = (await groups.locator("td:nth-child(2)").allTextContents()).map(Number);
    assert.equal(counted.reduce((a, b) => a + b, 0), total);
  });

  await step("opens-a-sample-in-sequence", async () => {
    await page.locator('.tab[data-tab="table"]').click();
    const first = rows.first();
    const id = await first.locator("td").first().textContent();
    await first.click();
    const view = pageOf("sequence").locator(`.sequence[data-sample="${id}"]`);
    await view.waitFor();
    // The query's letters in lines of 60 with their first position, shaded by coverage.
    const query = queries.split(">")[1].split("\n").slice(1).join("");
    assert.equal((await view.locator(".letters .bases").allTextContents()).join(""), query);
    assert.deepEqual(await view.locator(".letters .at").allTextContents(),
      Array.from({ length: Math.ceil(query.length / 60) }, (_, i) => String(i * 60 + 1)));
    // A step chart per base with a position axis and a range slider to zoom; then per k-mer.
    const chart = () => view.locator(".figure").evaluate((div) => ({
      points: (div.data ?? []).map((t) => t.x.length), names: (div.data ?? []).map((t) => t.name),
      axis: div.layout?.xaxis?.title?.text, slider: div.layout?.xaxis?.rangeslider?.visible }));
    await until("the chart per base", async () => (await chart()).points[0] === query.length, 30000);
    assert.deepEqual(await chart(), { points: [query.length], names: [id], axis: "position in the query", slider: true });
    assert.equal(await view.locator(".rangeslider-container").count(), 1);
    await view.locator('input[value="kmer"]').check();
    await until("the k-mer chart", async () => (await chart()).points[0] === query.length - 28 + 1);
    assert.equal((await chart()).axis, "k-mer start in the query");
    // Zooming in on a stretch: the chart's range follows.
    await view.locator(".figure").evaluate((div) => Plotly.relayout(div, { "xaxis.range": [100, 200] }));
    assert.deepEqual(await view.locator(".figure").evaluate((div) => div.layout.xaxis.range), [100, 200]);
  });

  await step("compares-samples", async () => {
    // The picker offers the pair's samples by ID, best first; picked ones are drawn together.
    const sequence = pageOf("sequence");
    const offered = await sequence.locator("datalist option").evaluateAll((o) => o.map((e) => e.value));
    assert.ok(offered.length > 3, offered.join(","));
    const first = await sequence.locator(".sequence").getAttribute("data-sample");
    const others = offered.filter((o) => o !== first).slice(0, 2);
    for (const other of others) {
      await sequence.locator(".sample-picker input").fill(other);
      await sequence.locator(".sample-picker input").press("Enter");
    }
    await sequence.locator('.sequence[data-samples="3"]').waitFor();
    const names = () => sequence.locator(".figure").evaluate((div) => (div.data ?? []).map((t) => t.name));
    await until("three tracks", async () => (await names()).length === 3);
    assert.deepEqual(await names(), [first, ...others]);
    assert.deepEqual(await sequence.locator(".samples li").allTextContents(), [first, ...others].map((n) => `${n}✕`));
    // Removed, a sample leaves the chart.
    await sequence.locator(`.samples button[aria-label="Remove ${others[0]}"]`).click();
    await until("two tracks", async () => (await names()).length === 2);
    assert.deepEqual(await names(), [first, others[1]]);
  });

  await step("works-by-keyboard", async () => {
    await page.locator('.tab[data-tab="table"]').click();
    // A focused header sorts on Enter, as a click does.
    const covxk = table.locator('th[data-column="CovXK"]');
    await covxk.focus();
    await page.keyboard.press("Enter");
    await until("ascending CovXK", async () => (await covxk.getAttribute("aria-sort")) === "ascending");
    const values = (await column(3)).map(Number);
    assert.deepEqual(values, [...values].sort((a, b) => a - b));
    // A focused row opens its sample in Sequence on Enter.
    const second = rows.nth(1);
    const id = await second.locator("td").first().textContent();
    await second.focus();
    await page.keyboard.press("Enter");
    await pageOf("sequence").locator(`.sequence[data-sample="${id}"]`).waitFor();
    assert.equal(await page.locator('.tab[data-tab="sequence"]').getAttribute("aria-pressed"), "true");
    // Back to the table sorted as before: Temp, descending.
    await page.locator('.tab[data-tab="table"]').click();
    const temp = table.locator('th[data-column="Temp"]');
    await temp.focus();
    await page.keyboard.press("Enter");
    await page.keyboard.press(" ");
    await until("descending Temp", async () => (await temp.getAttribute("aria-sort")) === "descending");
  });

  await step("switches-query", async () => {
    await page.locator('.tab[data-tab="table"]').click();
    // A column filter outlives the switch, shown and applied.
    const north = table.locator('input[aria-label="Lat at least"]');
    await north.fill("0");
    await north.press("Enter");
    await until("the northern rows", async () => (await column(LAT)).every((lat) => Number(lat) >= 0));
    await page.locator("select.query").selectOption("absent");
    await until("the absent query's empty table", async () => (await count()) === "0 of 0 samples");
    assert.equal(await page.locator(".progress .count").textContent(), "8/8 done");
    await page.locator("select.query").selectOption("polar_diatom");
    await until("the polar diatom's table", async () => /^\d+ of [1-9]\d* samples/.test(await count()));
    assert.equal(await north.inputValue(), "0");
    const [shown, all] = (await count()).match(/^(\d+) of (\d+)/).slice(1).map(Number);
    assert.ok(shown < all, `${shown} of ${all}: the filter no longer applies`);
    const lats = (await column(LAT)).map(Number);
    assert.ok(lats.length <= shown && lats.every((lat) => lat >= 0), lats.join());
    await north.fill("");
    await north.press("Enter");
    await until("the polar diatom's rows", async () => (await count()).startsWith(`${all} of`));
  });

  await step("shows-the-overview", async () => {
    // Every pair at once: its state, samples found and best sample; sortable; a click shows it.
    await page.locator('.tab[data-tab="overview"]').click();
    const overview = pageOf("overview");
    const pairs = overview.locator("table.hits tbody tr[data-row]");
    const cells = (n) => overview.locator(`table.hits tbody tr[data-row] td:nth-child(${n})`).allTextContents();
    await until("a row per pair", async () => (await pairs.count()) === 8);
    assert.deepEqual(await cells(3), Array(8).fill("done"));
    assert.ok((await cells(1)).includes("absent"));
    const best = overview.locator('th[data-column="best CovXK"]');
    await best.click();
    await best.click();
    await until("the best first", async () => (await best.getAttribute("aria-sort")) === "descending");
    const values = (await cells(5)).filter((v) => v !== "").map(Number);
    assert.ok(values.length > 3);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
    const [query] = await cells(1);
    const [sample] = await cells(6);
    await pairs.first().click();
    assert.equal(await page.locator('.tab[data-tab="table"]').getAttribute("aria-pressed"), "true");
    assert.equal(await page.locator("select.query").inputValue(), query);
    assert.ok((await column(1)).includes(sample), `${sample} is not in ${query}'s table`);
    await page.locator("select.query").selectOption("polar_diatom");
  });

  let sessionUrl;
  await step("reloads-the-session-url", async () => {
    sessionUrl = page.url();
    await open(page);
    await page.locator('.progress[data-status="done"]').waitFor();
    assert.equal(page.url(), sessionUrl);
    await until("the reloaded table", async () => (await rows.count()) > 10);
  });

  await step("goes-back-and-forward", async () => {
    const done = () => page.locator(".progress .count").textContent();
    // A second search: one query.
    await page.locator(".sidebar textarea").fill(queries.split(">").slice(0, 2).join(">"));
    await page.locator(".submit").click();
    await page.waitForURL((url) => /\/s\/[0-9a-f]{32}$/.test(url.pathname) && url.href !== sessionUrl);
    await until("the second session", async () => (await done()) === "1/1 done");
    const second = page.url();
    await page.goBack();
    assert.equal(page.url(), sessionUrl);
    await until("the first session again", async () => (await done()) === "8/8 done");
    await page.goForward();
    assert.equal(page.url(), second);
    await until("the second session again", async () => (await done()) === "1/1 done");
    // A session opened by its address has one history entry: Back leaves it.
    await open(page, sessionUrl);
    await until("the first session, opened", async () => (await done().catch(() => "")) === "8/8 done");
    await page.goBack();
    assert.equal(page.url(), second);
    await until("the second session, back", async () => (await done().catch(() => "")) === "1/1 done");
    await open(page, sessionUrl);
    await page.locator('.progress[data-status="done"]').waitFor();
  });

  await step("switches-database", async () => {
    // A second instance with two databases: the demo's index read from disk with its
    // metadata, and the same index through the demo's kmindex-server API with other metadata.
    const temps = readFileSync(join(data, "metadata.tsv"), "utf8").trimEnd().split("\n")
      .map((line) => { const f = line.split("\t"); return `${f[0]},${f[4]}`; }).join("\n");
    writeFileSync(join(data, "temps.csv"), `${temps}\n`);
    const config = instanceWith("remote", base, join(data, "temps.csv"));

    const two = await startServer(config);
    try {
      await open(page, two.base);
      await page.locator(".sidebar textarea").fill(queries);
      assert.ok(await page.locator('.databases input[value="remote"]').isChecked());
      await page.locator(".submit").click();
      await page.locator('.progress[data-status="done"]').waitFor({ timeout: 30000 });
      assert.equal(await page.locator(".progress .count").textContent(), "16/16 done");
      await until("the local table", async () => (await rows.count()) > 10);
      const local = await count();
      assert.ok(await table.locator('th[data-column="Biome"]').count() === 1);
      await page.locator("select.database").selectOption("remote");
      await until("the remote table", async () => (await table.locator('th[data-column="Biome"]').count()) === 0);
      const headers = await table.locator("thead tr:first-child th").allTextContents();
      assert.deepEqual(headers, ["ID", "index", "CovXK", "CovXB", "CovYK", "CovYB", "has_metadata", "Temp"]);
      // The same index answers the same, locally and over HTTP.
      assert.equal(await count(), local);
    } finally {
      two.server.kill();
    }
    await open(page, sessionUrl);
    await page.locator('.progress[data-status="done"]').waitFor();
  });

  await step("cancels-and-counts", async () => {
    // A kmindex-server that describes the demo's index and answers a query only when told
    // to, with an error: its pairs stay pending, while the local database's are done (a slot
    // each: the stalled pairs would otherwise hold them all).
    const held = [];
    const stalled = createServer(async (request, response) => {
      if (!request.url.startsWith("/kmindex/infos")) return held.push(response);
      const infos = await fetch(`${base}${request.url}`);
      response.writeHead(infos.status, { "content-type": "application/json" });
      response.end(await infos.text());
    });
    await new Promise((ok) => stalled.listen(0, "127.0.0.1", ok));
    const config = instanceWith("stalled", `http://127.0.0.1:${stalled.address().port}`,
      join(data, "metadata.tsv"), "[engine]\ntimeout = 600\nconcurrency = 16\n");

    const server = await startServer(config);
    // What the page asks of the session while following it.
    const asked = [];
    const listen = (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith("/api/sessions/") && r.method() === "GET") asked.push(u.pathname + u.search);
    };
    page.on("request", listen);
    try {
      await open(page, server.base);
      await page.locator(".sidebar textarea").fill(queries);
      await page.locator(".submit").click();
      try {
        await until("the local pairs", async () =>
          (await page.locator(".progress .count").textContent().catch(() => "")) === "8/16 done", 60000);
      } catch (e) {
        // Say where each pair is, and what the page shows.
        const id = page.url().split("/s/")[1];
        const session = await (await fetch(`${server.base}/api/sessions/${id}`)).json();
        const states = session.pairs.map((p) => `${p.query}/${p.database}: ${p.state}`).join(", ");
        throw new Error(`${e.message}; the page: ${await page.locator(".progress").textContent()}; ${states}; asked: ${asked.join(" ")}`);
      }
      // A local pair's column filter outlives the redraw of a progress event.
      await page.locator('.tab[data-tab="table"]').click();
      const biome = table.locator('input[aria-label="Biome contains"]');
      await biome.fill("trad");
      await biome.press("Enter");
      await until("the column filter", async () => !/^(\d+) of \1 /.test(await count()));
      const filtered = await count();
      await until("a held query", async () => held.length > 0);
      // The pair shown is not drawn again when another one ends: its page stays as it is.
      await table.evaluate((t) => { t.dataset.kept = "yes"; });
      held.shift().writeHead(500).end("no");
      await page.locator(".progress .failed").waitFor();
      assert.equal(await table.getAttribute("data-kept"), "yes");
      assert.equal(await biome.inputValue(), "trad");
      assert.equal(await count(), filtered);
      assert.ok((await column(BIOME)).every((b) => b === "Trades"));

      await page.locator(".progress .cancel").click();
      await page.locator('.progress[data-status="cancelled"]').waitFor();
      // What ended: 8 done, 1 failed, 7 cancelled (it said "16/16 done").
      assert.equal(await page.locator(".progress .count").textContent(), "8/16 done");
      assert.equal(await page.locator(".progress .failed").textContent(), ", 1 failed");
      assert.equal(await page.locator(".progress .cancelled").textContent(), ", 7 cancelled");
      assert.equal(await page.locator(".progress .cancel").count(), 0);
      // The session was read whole once; then each progress event brought only the pairs it
      // said were done (those the first read lacked), each once.
      const id = page.url().split("/s/")[1];
      assert.equal(asked.filter((a) => a === `/api/sessions/${id}`).length, 1, asked.join(" "));
      const positions = asked.filter((a) => a.startsWith(`/api/sessions/${id}/pairs?`))
        .flatMap((a) => new URLSearchParams(a.split("?")[1]).get("positions").split(","))
        .flatMap((run) => { const [a, b = a] = run.split("-").map(Number); return Array.from({ length: b - a + 1 }, (_, i) => a + i); });
      const session = await (await fetch(`${server.base}/api/sessions/${id}`)).json();
      const done = session.pairs.flatMap((p, i) => (p.state === "done" ? [i] : []));
      assert.equal(new Set(positions).size, positions.length, asked.join(" "));
      assert.ok(positions.every((p) => done.includes(p)), `${positions} of ${done}`);
    } finally {
      page.off("request", listen);
      server.server.kill();
      stalled.closeAllConnections();
      stalled.close();
    }
    await open(page, sessionUrl);
    await page.locator('.progress[data-status="done"]').waitFor();
  });

  await step("opens-a-session-file", async () => {
    const id = sessionUrl.split("/s/")[1];
    const json = await (await fetch(`${base}/api/sessions/${id}`)).text();
    const file = join(data, "session.json");
    writeFileSync(file, json);
    await open(page, base);
    await page.locator(".session-file input").setInputFiles(file);
    await page.locator(".progress .status", { hasText: "opened from a session file" }).waitFor();
    await until("the file's table", async () => (await count()).startsWith(`${total} of ${total}`));
    const broken = join(data, "broken.json");
    writeFileSync(broken, "{\"id\": 3}");
    await page.locator(".session-file input").setInputFiles(broken);
    assert.match(await page.locator(".sidebar .error").textContent(), /^broken\.json: not a kmviz session\.json \(/);
  });

  await step("shows-a-100-kb-query", async () => {
    // A 100 kb query and twelve samples, each covered in one stretch of its own: the chart and the
    // letters go by runs of equal values, not by base.
    const length = 100_000;
    const session = syntheticSession(12);
    const seq = "ACGTTGCA".repeat(length / 8);
    const kmers = length - 28 + 1;
    session.queries[0].seq = seq;
    session.pairs[0].result.query_length = length;
    session.pairs[0].result.hits.forEach((hit, i) => {
      const start = 1 + i * 8000;
      hit.kmers = [[0, start], [3, 1000 + i * 100], [0, kmers - start - 1000 - i * 100]];
    });
    const file = join(data, "long-session.json");
    writeFileSync(file, JSON.stringify(session));
    await open(page, base);
    await page.locator(".session-file input").setInputFiles(file);
    await page.locator(".progress .status", { hasText: "opened from a session file" }).waitFor();
    await page.locator('.tab[data-tab="table"]').click();
    await rows.first().click();
    const view = pageOf("sequence").locator(".sequence");
    await view.waitFor();
    const picker = pageOf("sequence").locator(".sample-picker input");
    const shown = await view.getAttribute("data-sample");
    const offered = await pageOf("sequence").locator("datalist option").evaluateAll((o) => o.map((e) => e.value));
    for (const id of offered.filter((o) => o !== shown)) {
      await picker.fill(id);
      await picker.press("Enter");
    }
    await pageOf("sequence").locator('.sequence[data-samples="10"]').waitFor({ timeout: 30000 });
    const drawn = () => view.locator(".figure").evaluate((div) => (div.data ?? []).map((t) => t.x.length));
    await until("ten tracks", async () => (await drawn()).length === 10, 30000);
    // A point a run of equal values (a stretch, its two edges, the rest), not one a base.
    assert.ok((await drawn()).every((points) => points < 100), (await drawn()).join(","));
    assert.equal((await view.locator(".letters .bases").allTextContents()).join(""), seq);
    const elements = await view.locator(".letters span").count();
    assert.ok(elements < 3 * Math.ceil(length / 60) + 100, `${elements} elements for the letters`);
    // An eleventh sample is refused: ten are compared at most.
    assert.equal(await pageOf("sequence").locator(".samples li").count(), 10);
  });

  await step("finds-a-query-among-many", async () => {
    // Sixty queries: the picker is a search over their names, not a long drop-down list.
    const session = syntheticSession(3);
    const pair = session.pairs[0];
    session.queries = Array.from({ length: 60 }, (_, i) => ({ name: `gene_${i}`, seq: session.queries[0].seq }));
    session.pairs = session.queries.map((q, i) => ({ ...pair, query: q.name,
      result: { ...pair.result, hits: pair.result.hits.slice(0, 1 + (i % 3)) } }));
    const file = join(data, "batch-session.json");
    writeFileSync(file, JSON.stringify(session));
    await open(page, base);
    await page.locator(".session-file input").setInputFiles(file);
    await page.locator(".progress .status", { hasText: "opened from a session file" }).waitFor();
    assert.equal(await page.locator("select.query").count(), 0);
    const search = page.locator("input.query-search");
    assert.equal(await search.inputValue(), "gene_0");
    assert.equal(await page.locator("#query-names option").count(), 60);
    await page.locator('.tab[data-tab="table"]').click();
    await search.fill("gene_41");
    await search.press("Enter");
    await until("gene_41's table", async () => (await count()) === "3 of 3 samples");
    // A name no query has changes nothing.
    await search.fill("gene_99");
    await search.press("Enter");
    assert.equal(await count(), "3 of 3 samples");
  });

  await step("draws-only-the-rows-in-view", async () => {
    // 5000 samples: only those in view (and a few around) are in the page, and scrolling
    // draws the others, in order.
    const file = join(data, "big-session.json");
    writeFileSync(file, JSON.stringify(syntheticSession(5000)));
    await page.locator(".session-file input").setInputFiles(file);
    await until("the big table", async () => (await count()).startsWith("5000 of 5000"));
    const drawn = await rows.count();
    assert.ok(drawn > 10 && drawn < 100, `${drawn} rows drawn`);
    const header = table.locator('th[data-column="Temp"]');
    await header.click();
    await header.click();
    await until("the descending arrow", async () => (await header.textContent()).endsWith("▼"));
    await table.locator(".table-scroll").evaluate((box) => { box.scrollTop = box.scrollHeight; });
    await until("the last rows", async () => (await column(TEMP)).map(Number).at(-1) === 0);
    const values = (await column(TEMP)).map(Number);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
    assert.ok((await rows.count()) <= drawn + 1);
    // The last row sits at the bottom of the scrolled box.
    const [boxBottom, rowBottom] = await table.locator(".table-scroll").evaluate((box) => [
      box.getBoundingClientRect().bottom,
      [...box.querySelectorAll("tr[data-row]")].at(-1).getBoundingClientRect().bottom]);
    assert.ok(Math.abs(boxBottom - rowBottom) < 30, `${boxBottom} vs ${rowBottom}`);
  });

  await step("remembers-preferences", async () => {
    await open(page, base);
    await page.locator(".sidebar textarea").fill(queries);
    await page.locator('.option[data-option="z"] input').fill("4");
    assert.equal(await page.locator('.option[data-option="z"] output').textContent(), "4");
    await page.locator(".submit").click();
    await page.waitForURL(/\/s\/[0-9a-f]{32}$/);
    await open(page, base);
    await page.locator('.option[data-option="z"] output').waitFor();
    assert.equal(await page.locator('.option[data-option="z"] output').textContent(), "4");
  });

  await step("shows-what-a-session-ran-with", async () => {
    // The last search remembered z = 4; a session that ran with 3 puts 3 in the form.
    await open(page, sessionUrl);
    await page.locator('.progress[data-status="done"]').waitFor();
    const id = sessionUrl.split("/s/")[1];
    const ran = (await (await fetch(`${base}/api/sessions/${id}`)).json()).databases[0].options.z;
    assert.notEqual(ran, 4);
    await until("the session's z", async () =>
      (await page.locator('.option[data-option="z"] output').textContent()) === String(ran));
  });

  await step("has-no-serious-accessibility-violations", async () => {
    await open(page, sessionUrl);
    await page.locator('.progress[data-status="done"]').waitFor();
    await until("the table's rows", async () => (await rows.count()) > 10);
    // Evaluated, not a <script>: the page's Content-Security-Policy refuses inline scripts.
    await page.evaluate(readFileSync(join(import.meta.dirname, "node_modules/axe-core/axe.min.js"), "utf8"));
    const { violations } = await page.evaluate(() => axe.run(document, { resultTypes: ["violations"] }));
    const serious = violations.filter((v) => ["serious", "critical"].includes(v.impact)).map((v) =>
      `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")})`);
    assert.deepEqual(serious, []);
  });

  await step("phone", async () => {
    const width = 390;
    await page.setViewportSize({ width, height: 844 });
    // Every tab is on the screen: they wrap.
    for (const tab of await page.locator(".tab").all()) {
      const box = await tab.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= width, `${await tab.textContent()} at ${JSON.stringify(box)}`);
    }
    // The sidebar is a drawer: closed, it is off the screen; its button opens it.
    const sidebar = page.locator(".sidebar");
    const closed = async () => { const b = await sidebar.boundingBox(); return b.x + b.width <= 0; };
    const open = async () => (await sidebar.boundingBox()).x >= 0;
    const toggle = page.locator(".drawer-toggle");
    await until("the closed drawer", closed);
    await toggle.click();
    await until("the open drawer", open);
    assert.ok(await page.locator(".submit").isEnabled());
    // Its button stays on the screen; Escape closes it, and so does a click beside it.
    const box = await toggle.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= width, JSON.stringify(box));
    await page.keyboard.press("Escape");
    await until("the drawer closed by Escape", closed);
    await toggle.click();
    await until("the open drawer", open);
    await page.mouse.click(width - 10, 600);
    await until("the drawer closed by a click outside", closed);
  });

  assert.deepEqual(problems, []);
  console.log(`${steps.length} browser steps passed; screenshots in ${shots}`);
} finally {
  await browser.close();
  server.kill();
}
