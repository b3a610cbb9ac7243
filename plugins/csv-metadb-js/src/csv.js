// A small CSV reader (RFC 4180): fields may be quoted; a quoted field may hold the delimiter,
// line breaks and quotes written twice (""). Lines end with \n, \r\n or \r.

/**
 * Splits `text` into records, each a list of field texts. Blank lines are skipped.
 * Throws an Error naming the line when a quoted field is not closed properly.
 */
export function parseCsv(text, delimiter = ',') {
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || '"\r\n'.includes(delimiter)) {
    throw new Error(`params.delimiter must be one character other than a quote or a line break, not ${JSON.stringify(delimiter)}`);
  }
  // The engine interprets JavaScript (no JIT inside the component), so let the regex engine
  // scan fields rather than a loop over characters.
  const d = /[\\\]^-]/.test(delimiter) ? `\\${delimiter}` : delimiter;
  const plain = new RegExp(`[^${d}\\r\\n]*`, 'y');
  const quoted = /"((?:[^"]|"")*)"/y;
  const records = [];
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not data
  let line = 1;
  while (pos < text.length) {
    const startLine = line;
    const fields = [];
    let anyQuoted = false;
    for (;;) {
      if (text[pos] === '"') {
        quoted.lastIndex = pos;
        const m = quoted.exec(text);
        if (!m) throw new Error(`line ${line}: a quoted field is not closed`);
        pos = quoted.lastIndex;
        fields.push(m[1].includes('"') ? m[1].replaceAll('""', '"') : m[1]);
        line += countLines(m[1]);
        anyQuoted = true;
        if (pos < text.length && text[pos] !== delimiter && text[pos] !== '\n' && text[pos] !== '\r') {
          throw new Error(`line ${line}: text after a closing quote (write a quote inside a quoted field as "")`);
        }
      } else {
        plain.lastIndex = pos;
        const m = plain.exec(text);
        pos = plain.lastIndex;
        fields.push(m[0]);
      }
      if (text[pos] === delimiter) {
        pos += 1;
        continue;
      }
      if (text[pos] === '\r') pos += 1;
      if (text[pos] === '\n') pos += 1;
      line += 1;
      break;
    }
    if (fields.length > 1 || fields[0] !== '' || anyQuoted) records.push({ line: startLine, fields });
  }
  return records;
}

function countLines(s) {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n += 1;
  // A lone \r (no \n after it) ends a line too.
  for (let i = s.indexOf('\r'); i !== -1; i = s.indexOf('\r', i + 1)) if (s[i + 1] !== '\n') n += 1;
  return n;
}
