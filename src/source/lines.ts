// Reading a text file's physical lines, for checks DuckDB's readers cannot make
// themselves (they accept a line a strict reader, or Spark, refuses).
import { open } from 'node:fs/promises';
import { quoteLiteral } from '../delta/schema/duckdb-types.js';

// A delimiter no text line holds: each line is one VARCHAR. A line that did hold it
// makes the read fail, and callers then fall back to their full scan.
const NO_DELIM = '\x01\x02\x03\x04';

/** The read_csv option (with its leading comma) for a source.encoding; none for UTF-8. */
export function encodingOption(encoding: string | undefined): string {
  return encoding && encoding !== 'utf-8' ? `, encoding = ${quoteLiteral(encoding)}` : '';
}

/** A DuckDB relation of `file`'s physical lines (column `l`, line ends removed), decoded as `encoding`. */
export function linesRelation(file: string, encoding?: string): string {
  return `read_csv(${quoteLiteral(file)}, columns = {'l': 'VARCHAR'}, header = false, auto_detect = false, delim = ${quoteLiteral(NO_DELIM)}, quote = '', escape = ''${encodingOption(encoding)})`;
}

/** The WHATWG decoder label for a source.encoding (utf-16 by the file's BOM, else little-endian, as DuckDB reads it). */
export async function decoderLabel(file: string, encoding: string | undefined): Promise<string> {
  if (encoding === 'latin-1') return 'latin1';
  if (encoding === 'utf-16') return (await utf16Bom(file)) === 'UTF-16BE' ? 'utf-16be' : 'utf-16le';
  return 'utf-8';
}

/** A UTF-16 file's byte order as its BOM says it (`UTF-16LE`, `UTF-16BE`), or null without one. */
export async function utf16Bom(file: string): Promise<'UTF-16LE' | 'UTF-16BE' | null> {
  const fh = await open(file);
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    if (bytesRead < 2) return null;
    if (b[0] === 0xff && b[1] === 0xfe) return 'UTF-16LE';
    if (b[0] === 0xfe && b[1] === 0xff) return 'UTF-16BE';
    return null;
  } finally {
    await fh.close();
  }
}

/**
 * A UTF-16 file's byte order: its BOM's, else what its first 4 KiB look like (text that
 * is mostly ASCII has its zero bytes first in big-endian, second in little-endian);
 * null when nothing tells.
 */
export async function utf16ByteOrder(file: string): Promise<'LE' | 'BE' | null> {
  const bom = await utf16Bom(file);
  if (bom) return bom === 'UTF-16BE' ? 'BE' : 'LE';
  const fh = await open(file);
  try {
    const b = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    let even = 0;
    let odd = 0;
    for (let i = 0; i + 1 < bytesRead; i += 2) {
      if (b[i] === 0 && b[i + 1] !== 0) even++;
      else if (b[i] !== 0 && b[i + 1] === 0) odd++;
    }
    if (even === odd) return null;
    return even > odd ? 'BE' : 'LE';
  } finally {
    await fh.close();
  }
}

/**
 * A file's bytes (its first `limit`), in chunks of up to 1 MiB (each a view of one
 * buffer: use it before the next).
 */
export async function* chunksOf(file: string, limit = Infinity): AsyncGenerator<Buffer> {
  const fh = await open(file);
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let left = limit; left > 0; ) {
      const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, left), null);
      if (bytesRead === 0) break;
      left -= bytesRead;
      yield chunk.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** A file's text, decoded in chunks. */
export async function* textOf(file: string, label: string): AsyncGenerator<string> {
  const decoder = new TextDecoder(label);
  for await (const bytes of chunksOf(file)) yield decoder.decode(bytes, { stream: true });
  const rest = decoder.decode();
  if (rest) yield rest;
}
