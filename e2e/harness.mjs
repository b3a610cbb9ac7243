// What the browser tests and the browser bench share: `kmviz demo` (the binary from
// $KMVIZ_BIN, the app from $KMVIZ_SITE) on a free port, and Debian's Chromium driven by
// playwright-core.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

/// Starts the demo in a fresh data folder; resolves to `{ base, data, server }`.
export async function startDemo() {
  const data = mkdtempSync(join(tmpdir(), "kmviz-e2e-"));
  const { base, server } = await start(["demo", "--data-dir", data, "--port", "0"],
    /^kmviz demo is up\. Open (http:\/\/\S+?)\/$/);
  return { base, data, server };
}

/// Starts `kmviz serve --config config`; resolves to `{ base, server }`.
export async function startServer(config) {
  return start(["serve", "--config", config, "--port", "0"], /listening on (http:\/\/[\d.:]+)/);
}

async function start(args, ready) {
  const bin = process.env.KMVIZ_BIN;
  assert.ok(bin, "set KMVIZ_BIN to the kmviz binary");
  const server = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  const base = await new Promise((ok, fail) => {
    const lines = createInterface({ input: server.stderr });
    lines.on("line", (line) => {
      const m = line.match(ready);
      if (m) ok(m[1]);
    });
    server.on("exit", (code) => fail(new Error(`kmviz ${args[0]} exited (${code})`)));
  });
  return { base, server };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/// Opens `url` in `page` (reloads it without one), and waits until the app has taken the
/// server's page over: what the server rendered is on screen before, but not yet live.
export async function open(page, url) {
  await (url ? page.goto(url) : page.reload());
  await page.locator('html[data-app="live"]').waitFor();
}

/// Polls `check` until it holds (the app renders after events, not within them).
export async function until(what, check, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/// A finished session as `GET /api/sessions/{id}` gives it, with `rows` made-up samples for one
/// query and one database (`survey`, the demo's columns): for the bench and for virtualisation.
export function syntheticSession(rows) {
  const seq = "ACGT".repeat(25);
  const biomes = ["Trades", "Westerlies", "Polar", "Coastal"];
  const hits = Array.from({ length: rows }, (_, i) => {
    const cov = ((i * 7919) % 1000) / 1000;
    return {
      index: "survey", ID: `S${i}`, has_metadata: true, CovXK: cov, CovXB: cov,
      CovYK: cov * 3, CovYB: cov * 3, kmers: [],
      metadata: [((i * 37) % 180) - 90, ((i * 53) % 360) - 180, (i % 5) * 10,
                 ((i * 31) % 300) / 10, `2011-0${1 + (i % 9)}-1${i % 10}`, biomes[i % 4], i % 2 ? "SRF" : "DCM"],
    };
  });
  const column = (name, type) => ({ name, type });
  return {
    id: "0".repeat(32), created: 0, status: "done",
    queries: [{ name: "q", seq }],
    databases: [{ name: "survey", options: {} }],
    pairs: [{
      query: "q", database: "survey", state: "done",
      result: {
        query_length: seq.length,
        indexes: [{ name: "survey", kmer_size: 28, abundance: true }],
        columns: [column("Lat", "float"), column("Long", "float"), column("Depth", "integer"),
                  column("Temp", "float"), column("Date", "text"), column("Biome", "text"), column("Layer", "text")],
        geodata: { latitude: "Lat", longitude: "Long" },
        hits, not_shown: 0,
      },
    }],
  };
}
