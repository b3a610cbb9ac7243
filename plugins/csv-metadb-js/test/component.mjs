// Runs the built component itself in node: jco (installed with componentize-js) turns it into
// JavaScript, preview2-shim stands in for the host. As kmviz does, only the granted directory
// (test/) is preopened, at its own absolute path.
// Run: ./build.sh csv-metadb.wasm && node test/component.mjs csv-metadb.wasm
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';
import { tableFromIPC } from 'apache-arrow';

const root = fileURLToPath(new URL('..', import.meta.url));
const wasm = process.argv[2] ?? 'csv-metadb.wasm';
const out = `${root}build/transpiled`;
execFileSync(`${root}node_modules/.bin/jco`, ['transpile', wasm, '-o', out, '--name', 'csv-metadb', '--quiet'], { stdio: 'inherit' });
const granted = fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, '');
_setPreopens({ [granted]: granted });
const { metadb } = await import(`${out}/csv-metadb.js`);

const path = `${granted}/sample.csv`;
const params = (extra = {}) => JSON.stringify({ path, id: 'ID', ...extra });
assert.deepEqual(metadb.describe(params({ latitude: 'lat', longitude: 'lon' })), {
  idColumn: 'ID',
  latitude: 'lat',
  longitude: 'lon',
});
const table = tableFromIPC(metadb.table(params()));
assert.deepEqual(table.schema.fields.map(String), [
  'ID: Utf8', 'name: Utf8', 'count: Int64', 'depth: Float64', 'lat: Float64', 'lon: Float64',
  'filtered: Bool', 'note: Utf8', '2019: Int64',
]);
assert.deepEqual([...table.getChild('name')], ['Station, north', 'plain', 'two\nlines', 'last']);
assert.deepEqual([...table.getChild('count')], [12n, -4n, null, 9007199254740993n]);
const rows = tableFromIPC(metadb.rows(params(), ['S3', 'nope']));
assert.deepEqual([...rows.getChild('ID')], ['S3']);

// An exported function's error is its text (jco throws it as ComponentError.payload).
const error = (f) => {
  try {
    f();
  } catch (e) {
    return e.payload;
  }
  assert.fail('no error');
};
assert.match(error(() => metadb.describe('{"id": "ID"}')), /^params\.path is missing/);
assert.match(error(() => metadb.describe(params({ path: `${granted}/absent.csv` }))), /absent\.csv: no such file/);
assert.match(error(() => metadb.describe(params({ path: '/etc/passwd' }))), /not inside a directory granted to this plugin \(granted: .*\/test;/);
assert.match(error(() => metadb.describe(params({ id: 'Sample' }))), /no column "Sample" \(params\.id\)/);
console.log('csv-metadb-js component: all checks passed');
