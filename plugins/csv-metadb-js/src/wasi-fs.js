// Reads a whole file through wasi:filesystem. StarlingMonkey has no file API of its own, so the
// component imports the two WASI interfaces (see wit/world.wit). kmviz preopens each directory
// granted to the plugin (`dirs`) read-only, at its own absolute path.

import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';

const CHUNK = 1n << 20n; // bytes per read; file sizes and offsets are u64, so BigInt

/** The text of the file at absolute `path` (UTF-8), or throws an Error saying why not. */
export function readText(path) {
  if (!path.startsWith('/')) throw new Error('params.path must be absolute');
  const preopens = getDirectories();
  // The deepest granted directory holding `path`.
  let dir = null;
  let rest = null;
  for (const [descriptor, root] of preopens) {
    const prefix = root.endsWith('/') ? root : `${root}/`;
    if (path.startsWith(prefix) && (rest === null || path.length - prefix.length < rest.length)) {
      dir = descriptor;
      rest = path.slice(prefix.length);
    }
  }
  if (dir === null) {
    const granted = preopens.map(([, root]) => root).join(', ') || 'none';
    throw new Error(`not inside a directory granted to this plugin (granted: ${granted}; add it to the plugin's dirs)`);
  }
  let file;
  try {
    file = dir.openAt({ symlinkFollow: true }, rest, {}, { read: true });
  } catch (e) {
    throw new Error(errorCode(e));
  }
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const [bytes, end] = file.read(CHUNK, BigInt(size));
      chunks.push(bytes);
      size += bytes.length;
      if (end || bytes.length === 0) break;
    }
  } catch (e) {
    throw new Error(errorCode(e));
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder('utf-8').decode(all);
}

// A failed WASI call throws its error-code (e.g. "no-entry"), wrapped in an object or not.
const CODES = {
  'no-entry': 'no such file',
  access: 'permission denied',
  'not-permitted': 'permission denied',
  'is-directory': 'a directory, not a file',
  'not-directory': 'a path component is not a directory',
};

function errorCode(e) {
  const code = e && typeof e === 'object' && 'payload' in e ? e.payload : e;
  return CODES[code] ?? String(code);
}
