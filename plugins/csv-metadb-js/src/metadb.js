// The MetaDB itself, independent of WebAssembly: `createMetadb(readText)` gives the three
// functions of kmviz's `metadb` interface, reading files with `readText(path)`. The component
// (plugin.js) passes a reader over wasi:filesystem; test/check.mjs passes node's.

import { Bool, Field, Float64, Int64, RecordBatch, Schema, Struct, Table, Utf8, makeBuilder, makeData, tableToIPC } from 'apache-arrow';
import { parseCsv } from './csv.js';

const USAGE = 'give {"path": "/granted/dir/meta.csv", "id": "ID"} and optionally "latitude", "longitude", "delimiter"';

export function createMetadb(readText) {
  return {
    /** The table's layout: which columns hold ids and positions. */
    describe(params) {
      const config = parseParams(params);
      const csv = load(config, readText);
      const schema = { idColumn: config.id, latitude: config.latitude, longitude: config.longitude };
      for (const key of ['latitude', 'longitude']) {
        const name = config[key];
        if (name === undefined) continue;
        const column = csv.columns.find((c) => c.name === name);
        // kmviz maps only numeric coordinates.
        if (column.type !== 'int64' && column.type !== 'float64') {
          const holds = column.values.every((v) => v === null) ? 'no values' : column.type === 'utf8' ? 'text' : 'booleans';
          throw new Error(`${config.path}: the ${key} column "${name}" holds ${holds}, not numbers`);
        }
      }
      return schema;
    },

    /** The rows of samples `ids` that the file has, in the file's order, as an Arrow IPC stream. */
    rows(params, ids) {
      const config = parseParams(params);
      const csv = load(config, readText);
      const wanted = new Set(ids);
      const keep = [];
      csv.columns[0].values.forEach((id, row) => {
        if (wanted.has(id)) keep.push(row);
      });
      return toIpc(csv.columns, keep);
    },

    /** The whole table as an Arrow IPC stream. */
    table(params) {
      const csv = load(parseParams(params), readText);
      return toIpc(csv.columns, null);
    },
  };
}

/** Checks `params` (JSON text) and returns them as { path, id, latitude?, longitude?, delimiter }. */
export function parseParams(params) {
  let p;
  try {
    p = JSON.parse(params);
  } catch (e) {
    throw new Error(`params are not JSON (${e.message}); ${USAGE}`);
  }
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new Error(`params must be an object; ${USAGE}`);
  const text = (key, required) => {
    const v = p[key];
    if (v === undefined || v === null) {
      if (required) throw new Error(`params.${key} is missing; ${USAGE}`);
      return undefined;
    }
    if (typeof v !== 'string' || v === '') throw new Error(`params.${key} must be a non-empty string`);
    return v;
  };
  const config = {
    path: text('path', true),
    id: text('id', true),
    latitude: text('latitude', false),
    longitude: text('longitude', false),
    delimiter: text('delimiter', false) ?? ',',
  };
  // kmviz places samples on the map only with both coordinates.
  if ((config.latitude === undefined) !== (config.longitude === undefined)) {
    throw new Error('params: give both latitude and longitude, or neither');
  }
  return config;
}

/**
 * Reads and types the file: { columns: [{ name, type, values }] }, the id column first
 * (utf8), then the others in the file's order. Values are null for empty cells.
 */
export function load(config, readText) {
  let text;
  try {
    text = readText(config.path);
  } catch (e) {
    throw new Error(`cannot read ${config.path}: ${message(e)}`);
  }
  let records;
  try {
    records = parseCsv(text, config.delimiter);
  } catch (e) {
    throw new Error(`${config.path}: ${message(e)}`);
  }
  if (records.length === 0) throw new Error(`${config.path} is empty (a header line is needed)`);
  const header = records[0].fields.map((name, i) => name.trim() || `column${i + 1}`);
  const seen = new Set();
  for (const name of header) {
    if (seen.has(name)) throw new Error(`${config.path}: the header names column "${name}" twice`);
    seen.add(name);
  }
  const columnsList = header.map((n) => JSON.stringify(n)).join(', ');
  for (const key of ['id', 'latitude', 'longitude']) {
    const name = config[key];
    if (name !== undefined && !seen.has(name)) {
      throw new Error(`${config.path}: no column "${name}" (params.${key}); the header has ${columnsList}`);
    }
  }
  const cells = header.map(() => []);
  for (const { line, fields } of records.slice(1)) {
    if (fields.length > header.length) {
      throw new Error(`${config.path}, line ${line}: ${fields.length} fields, the header has ${header.length}`);
    }
    // Short lines (trailing empty cells left out) are read as nulls.
    header.forEach((_, i) => cells[i].push(i < fields.length && fields[i].trim() !== '' ? fields[i] : null));
  }
  const idAt = header.indexOf(config.id);
  const columns = [{ name: config.id, type: 'utf8', values: cells[idAt] }];
  header.forEach((name, i) => {
    if (i !== idAt) columns.push(typed(name, cells[i]));
  });
  return { columns };
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:nan|inf|infinity)$/i;
const BOOLEAN = /^(?:true|false)$/i;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The narrowest of int64, float64, boolean that holds every non-empty cell, else utf8. */
export function typed(name, raw) {
  const present = raw.filter((v) => v !== null).map((v) => v.trim());
  if (present.length === 0) return { name, type: 'utf8', values: raw };
  if (present.every((v) => INTEGER.test(v) && BigInt(v) >= INT64_MIN && BigInt(v) <= INT64_MAX)) {
    return { name, type: 'int64', values: raw.map((v) => (v === null ? null : BigInt(v.trim()))) };
  }
  if (present.every((v) => NUMBER.test(v))) {
    return { name, type: 'float64', values: raw.map((v) => (v === null ? null : toFloat(v.trim()))) };
  }
  if (present.every((v) => BOOLEAN.test(v))) {
    return { name, type: 'boolean', values: raw.map((v) => (v === null ? null : v.trim().toLowerCase() === 'true')) };
  }
  return { name, type: 'utf8', values: raw };
}

function toFloat(v) {
  // Number() reads "Infinity" but not "inf" or "nan".
  const lower = v.toLowerCase().replace(/^\+/, '');
  if (lower === 'nan' || lower === '-nan') return NaN;
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  return Number(v);
}

const ARROW_TYPES = { utf8: () => new Utf8(), int64: () => new Int64(), float64: () => new Float64(), boolean: () => new Bool() };

/** The rows `keep` (indexes; null for all) of `columns` as one Arrow IPC stream. */
export function toIpc(columns, keep) {
  // One record batch assembled column by column: building from a plain object would put
  // integer-like column names ("2019") first, as JavaScript orders such keys.
  const fields = [];
  const children = [];
  for (const { name, type, values } of columns) {
    const arrowType = ARROW_TYPES[type]();
    const builder = makeBuilder({ type: arrowType, nullValues: [null] });
    for (const v of keep === null ? values : keep.map((row) => values[row])) builder.append(v);
    fields.push(new Field(name, arrowType, true));
    children.push(builder.finish().flush());
  }
  const length = keep === null ? columns[0].values.length : keep.length;
  const batch = new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length, nullCount: 0, children }));
  return tableToIPC(new Table(batch), 'stream');
}

function message(e) {
  return e instanceof Error ? e.message : String(e);
}
