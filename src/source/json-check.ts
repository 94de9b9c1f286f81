// Reading a JSON-lines source that is not clean. DuckDB's read_json has no rejects
// table: it stops at the first malformed line, and its line number is one too high
// ("line 5" for the fourth line). A line that is valid JSON but not an object (`[1,2]`,
// `5`) is worse: DuckDB then reads the whole source as one column named `json`, and the
// run would stop on a "missing column" that is no such thing. So when DuckDB fails, or
// falls back to that one column, the files are read line by line here to name every
// bad line. A clean source costs nothing: this only runs after DuckDB said something.
import { open } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { badLinesError, SHOWN_BAD_LINES, type BadLine } from './bad-lines.js';
import type { RunError } from '../errors.js';

/** The lines of a file as bytes, without their line ends, numbered from 1. */
async function* linesOf(file: string): AsyncGenerator<[number, Buffer]> {
  const fh = await open(file);
  try {
    let rest = Buffer.alloc(0);
    let n = 0;
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      let buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
      let nl: number;
      while ((nl = buf.indexOf(10)) >= 0) {
        yield [++n, buf.subarray(0, nl > 0 && buf[nl - 1] === 13 ? nl - 1 : nl)];
        buf = buf.subarray(nl + 1);
      }
      rest = Buffer.from(buf);
    }
    if (rest.length > 0) yield [++n, rest];
  } finally {
    await fh.close();
  }
}

function problemOf(bytes: Buffer): string | null {
  if (!isUtf8(bytes)) return 'not valid UTF-8';
  const text = bytes.toString('utf8').trim();
  if (text === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return 'not valid JSON (' + (e as Error).message.replace(/ in JSON at position \d+(?: \(line \d+ column \d+\))?$/, '') + ')';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `a JSON ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}, not an object`;
  return null;
}

/**
 * The RunError naming the bad lines of `files` (`path` as the user wrote it), or null
 * when every line is a JSON object (DuckDB's complaint was about something else).
 */
export async function jsonBadLines(files: readonly string[], path: string): Promise<RunError | null> {
  const shown: BadLine[] = [];
  let total = 0;
  let utf8 = false;
  for (const file of files) {
    for await (const [line, bytes] of linesOf(file)) {
      const reason = problemOf(bytes);
      if (reason === null) continue;
      total++;
      utf8 ||= reason === 'not valid UTF-8';
      if (shown.length < SHOWN_BAD_LINES) shown.push({ file, line, reason, text: bytes.toString('utf8') });
    }
  }
  if (total === 0) return null;
  const hint = utf8 ? 'JSON lines are UTF-8 by definition: convert the file (e.g. iconv -f latin1 -t utf-8)' : undefined;
  return badLinesError(path, 'json', shown, total, hint);
}
