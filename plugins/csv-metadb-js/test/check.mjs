// Checks the MetaDB's implementation (src/metadb.js, outside WebAssembly) on test/sample.csv:
// quoted fields, empty cells, and each column type. Run: node test/check.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { createMetadb } from '../src/metadb.js';

const sample = fileURLToPath(new URL('sample.csv', import.meta.url));
const files = { [sample]: readFileSync(sample, 'utf8'), '/semi.csv': 'k;v\r\na;"1;2"\r\nb;3' };
const readText = (path) => {
  if (!(path in files)) throw new Error('no-entry');
  return files[path];
};
const metadb = createMetadb(readText);
const params = (extra = {}) => JSON.stringify({ path: sample, id: 'ID', ...extra });
const fails = (f, pattern) => assert.throws(f, (e) => pattern.test(e.message), String(pattern));

// describe
assert.deepEqual(metadb.describe(params({ latitude: 'lat', longitude: 'lon' })), {
  idColumn: 'ID',
  latitude: 'lat',
  longitude: 'lon',
});
assert.deepEqual(metadb.describe(params()), { idColumn: 'ID', latitude: undefined, longitude: undefined });
fails(() => metadb.describe('{"id": "ID"}'), /params\.path is missing/);
fails(() => metadb.describe('not json'), /params are not JSON/);
fails(() => metadb.describe(JSON.stringify({ path: '/nope.csv', id: 'ID' })), /cannot read \/nope\.csv: no-entry/);
fails(() => metadb.describe(params({ id: 'Sample' })), /no column "Sample" \(params\.id\); the header has "ID", "name"/);
fails(() => metadb.describe(params({ latitude: 'lat' })), /both latitude and longitude/);
fails(() => metadb.describe(params({ latitude: 'name', longitude: 'lon' })), /latitude column "name" holds text/);
fails(() => metadb.describe(params({ latitude: 'lat', longitude: 'filtered' })), /longitude column "filtered" holds booleans/);

// table: every row, every type
const table = tableFromIPC(metadb.table(params()));
const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
assert.deepEqual(types, {
  ID: 'Utf8',
  name: 'Utf8',
  count: 'Int64',
  depth: 'Float64',
  lat: 'Float64',
  lon: 'Float64',
  filtered: 'Bool',
  note: 'Utf8',
  2019: 'Int64',
});
assert.deepEqual(table.schema.fields.map((f) => f.name), ['ID', 'name', 'count', 'depth', 'lat', 'lon', 'filtered', 'note', '2019']);
const col = (name) => [...table.getChild(name)];
assert.equal(table.numRows, 4);
assert.deepEqual(col('ID'), ['S1', 'S2', 'S3', '007']);
assert.deepEqual(col('name'), ['Station, north', 'plain', 'two\nlines', 'last']);
assert.deepEqual(col('count'), [12n, -4n, null, 9007199254740993n]);
assert.deepEqual(col('depth'), [5.5, 10, 700, NaN]);
assert.deepEqual(col('lat'), [43.2, -12.5, 0, 1.5]);
assert.deepEqual(col('filtered'), [true, false, null, true]);
assert.deepEqual(col('note'), ['said "hi"', null, 'x', null]);
assert.deepEqual(col('2019'), [1n, 2n, null, 3n]);

// rows: those asked for that exist, same types as the table
const rows = tableFromIPC(metadb.rows(params(), ['007', 'S2', 'missing']));
assert.deepEqual(rows.schema.fields.map((f) => String(f)), table.schema.fields.map((f) => String(f)));
assert.deepEqual([...rows.getChild('ID')], ['S2', '007']);
assert.deepEqual([...rows.getChild('count')], [-4n, 9007199254740993n]);
const none = tableFromIPC(metadb.rows(params(), []));
assert.equal(none.numRows, 0);
assert.equal(none.schema.fields.length, 9);

// another delimiter, CRLF line ends, a quoted delimiter
const semi = tableFromIPC(metadb.table(JSON.stringify({ path: '/semi.csv', id: 'k', delimiter: ';' })));
assert.deepEqual([...semi.getChild('v')], ['1;2', '3']);
fails(() => metadb.table(JSON.stringify({ path: '/semi.csv', id: 'k', delimiter: ';;' })), /params\.delimiter must be one character/);

console.log('csv-metadb-js: all checks passed');
