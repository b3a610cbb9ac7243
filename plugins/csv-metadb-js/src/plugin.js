// The component's entry: kmviz's `metadb` interface over the implementation in metadb.js,
// reading files through wasi:filesystem.

import { createMetadb } from './metadb.js';
import { readText } from './wasi-fs.js';

const impl = createMetadb(readText);

// An exported function's `result<_, string>` error is what it throws; kmviz shows that text.
function guarded(f) {
  return (...args) => {
    try {
      return f(...args);
    } catch (e) {
      throw e instanceof Error ? e.message : String(e);
    }
  };
}

export const metadb = {
  describe: guarded(impl.describe),
  rows: guarded(impl.rows),
  table: guarded(impl.table),
};
