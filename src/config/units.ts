// Parsers for the shorthand a config may use for durations, sizes and HTTP status
// sets. Each returns the normalised value or a human sentence saying what is wrong
// (the schema turns that sentence into an issue at the right key path).
import type { StatusRange } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * `250ms`, `30s`, `5m`, `1h`, `1m30s`, or a number (or numeric string) of seconds → milliseconds.
 * Fractions are allowed (`1.5s`, `0.25`) and rounded to the nearest millisecond.
 */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return { ok: false, message: 'must be a non-negative number of seconds' };
    return { ok: true, value: Math.round(input * 1000) };
  }
  if (typeof input !== 'string') return { ok: false, message: 'expected a duration such as 250ms, 30s, 5m, 1h or a number of seconds' };
  const s = input.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return { ok: true, value: Math.round(Number(s) * 1000) };
  let ms = 0;
  let i = 0;
  DURATION_PART.lastIndex = 0;
  while (i < s.length) {
    DURATION_PART.lastIndex = i;
    const m = DURATION_PART.exec(s);
    if (!m) break;
    ms += Number(m[1]) * DURATION_UNITS[m[2]];
    i += m[0].length;
  }
  if (i === 0 || i !== s.length) {
    return { ok: false, message: `"${input}" is not a duration; use e.g. 250ms, 30s, 5m, 1h, 1m30s or a number of seconds` };
  }
  return { ok: true, value: Math.round(ms) };
}

// Decimal units are powers of 1000 and binary units powers of 1024, as the SI/IEC names say.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `10MB`, `512KiB`, `1GB`, `100B` or a number of bytes → bytes (units are case-insensitive). */
export function parseSize(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0) return { ok: false, message: 'must be a whole, non-negative number of bytes' };
    return { ok: true, value: input };
  }
  if (typeof input !== 'string') return { ok: false, message: 'expected a size such as 10MB, 512KiB, 1GB or a number of bytes' };
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(input.trim());
  const unit = m ? (m[2] || 'b').toLowerCase() : '';
  if (!m || !(unit in SIZE_UNITS)) {
    return { ok: false, message: `"${input}" is not a size; use e.g. 10MB, 512KiB, 1GB or a number of bytes` };
  }
  return { ok: true, value: Math.round(Number(m[1]) * SIZE_UNITS[unit]) };
}

/** One status spec: `200`, `"200"`, `"200-299"`, `"2xx"` → an inclusive range within 100-599. */
export function parseStatusRange(input: unknown): Parsed<StatusRange> {
  const bad: Parsed<StatusRange> = {
    ok: false,
    message: `${JSON.stringify(input)} is not a status; use a code (200), a range ("200-299") or a class ("2xx")`,
  };
  let from: number;
  let to: number;
  if (typeof input === 'number') {
    if (!Number.isInteger(input)) return bad;
    from = to = input;
  } else if (typeof input === 'string') {
    const s = input.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\d{3})$/.exec(s))) from = to = Number(m[1]);
    else if ((m = /^(\d{3})\s*-\s*(\d{3})$/.exec(s))) [from, to] = [Number(m[1]), Number(m[2])];
    else if ((m = /^([1-5])xx$/i.exec(s))) [from, to] = [Number(m[1]) * 100, Number(m[1]) * 100 + 99];
    else return bad;
  } else {
    return bad;
  }
  if (from < 100 || to > 599) return { ok: false, message: `status ${JSON.stringify(input)} is outside 100-599` };
  if (from > to) return { ok: false, message: `status range "${input}" runs backwards` };
  return { ok: true, value: { from, to } };
}
