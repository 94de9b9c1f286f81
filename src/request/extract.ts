// `response.extract`: typed columns pulled from a JSON response body by a small path
// language, compiled once: $.a.b[0], $['odd key'], $["x"]. A path that does not
// resolve, or a value that does not fit the declared type, gives null.
import type { ExtractConfig, ExtractType } from '../config/types.js';
import { RestlakeError } from '../errors.js';

type Segment = string | number;

const SEGMENT = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;

export function compilePath(path: string): Segment[] {
  if (!path.startsWith('$')) throw new RestlakeError('RESTLAKE_EXTRACT_PATH', `response.extract: "${path}" must start with $`);
  const out: Segment[] = [];
  let i = 1;
  while (i < path.length) {
    SEGMENT.lastIndex = i;
    const m = SEGMENT.exec(path);
    if (!m) throw new RestlakeError('RESTLAKE_EXTRACT_PATH', `response.extract: "${path}" is not a JSON path (at offset ${i})`);
    out.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? m[3] ?? m[4])!);
    i = SEGMENT.lastIndex;
  }
  return out;
}

function resolvePath(doc: unknown, path: readonly Segment[]): unknown {
  let v = doc;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    const seg = path[i];
    if (typeof seg === 'number') {
      if (!Array.isArray(v)) return undefined;
      v = v[seg];
    } else {
      if (Array.isArray(v) || !Object.hasOwn(v, seg)) return undefined;
      v = (v as Record<string, unknown>)[seg];
    }
  }
  return v;
}

const INTEGER = /^-?\d+$/;
const NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** The value converted to the column type, or null when it does not fit. */
export function convert(v: unknown, type: ExtractType): unknown {
  if (v === undefined || v === null) return null;
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'long': {
      // A whole number JavaScript holds exactly (|n| < 2^53). Beyond that JSON.parse has
      // already rounded it, and 1e19 does not fit the sink's 64-bit column at all (it
      // failed the whole commit): null, as for any value that does not fit.
      const n = typeof v === 'number' ? Math.trunc(v) : typeof v === 'string' && INTEGER.test(v.trim()) ? Number(v.trim()) : NaN;
      return Number.isSafeInteger(n) ? n : null;
    }
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && NUMBER.test(v)) return Number(v);
      return null;
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      return null;
    case 'json':
      return JSON.stringify(v);
  }
}

export interface Extractor {
  readonly columns: readonly string[];
  /** Writes every extract column into `out` (null when absent); returns false when the body is not JSON. */
  apply(body: string | null, out: Record<string, unknown>): boolean;
}

export function compileExtract(extract: Record<string, ExtractConfig>): Extractor | null {
  const fields = Object.entries(extract).map(([column, c]) => ({ column, path: compilePath(c.path), type: c.type }));
  if (fields.length === 0) return null;
  return {
    columns: fields.map((f) => f.column),
    apply(body, out) {
      let doc: unknown;
      let ok = true;
      if (body === null || body.length === 0) doc = undefined;
      else {
        try {
          // A UTF-8 byte-order mark before the JSON (some Windows servers send one) is
          // skipped, as RFC 8259 §8.1 allows a parser to; response_body keeps it as sent.
          doc = JSON.parse(body.charCodeAt(0) === 0xfeff ? body.slice(1) : body);
        } catch {
          doc = undefined;
          ok = false;
        }
      }
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i];
        out[f.column] = doc === undefined ? null : convert(resolvePath(doc, f.path), f.type);
      }
      return ok;
    },
  };
}
