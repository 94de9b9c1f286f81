// The default for source.format: from the path's extension (globs included), or
// `delta` for a directory holding `_delta_log`, or the one format a plain directory's
// files share. Anything else must be said in the config.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceFormat } from './types.js';
import { isUrlLike } from './schema-parts.js';

export type FormatResult = { ok: true; format: SourceFormat } | { ok: false; message: string };

const COMPRESSION = /\.(gz|zst|bz2|xz|snappy)$/i;

/** The format a file name's extension implies (`x.csv.gz` → csv), or null. */
export function formatFromExtension(name: string): SourceFormat | null {
  const base = name.replace(COMPRESSION, '').toLowerCase();
  if (/\.(parquet|pq)$/.test(base)) return 'parquet';
  if (/\.csv$/.test(base)) return 'csv';
  if (/\.(json|jsonl|ndjson)$/.test(base)) return 'json';
  return null;
}

const SAY_IT = 'set source.format to parquet, csv, json or delta';

export function detectSourceFormat(absPath: string): FormatResult {
  const byExt = formatFromExtension(absPath.replace(/\/+$/, ''));
  if (byExt) return { ok: true, format: byExt };
  if (isUrlLike(absPath)) return { ok: false, message: `cannot tell the format of "${absPath}" from its name; ${SAY_IT}` };
  let isDir: boolean;
  try {
    isDir = statSync(absPath).isDirectory();
  } catch {
    return { ok: false, message: `"${absPath}" does not exist and its name has no known extension, so its format is unknown; ${SAY_IT}` };
  }
  if (!isDir) return { ok: false, message: `cannot tell the format of "${absPath}" from its extension; ${SAY_IT}` };
  let entries: string[];
  try {
    entries = readdirSync(absPath);
  } catch {
    return { ok: false, message: `cannot list directory "${absPath}"; ${SAY_IT}` };
  }
  if (entries.includes('_delta_log')) {
    try {
      if (statSync(join(absPath, '_delta_log')).isDirectory()) return { ok: true, format: 'delta' };
    } catch {
      /* fall through to the files */
    }
  }
  // Hidden and underscore files (_SUCCESS, .crc) are bookkeeping, not data.
  const formats = new Set(entries.filter((e) => !/^[._]/.test(e)).map(formatFromExtension).filter((f) => f !== null));
  if (formats.size === 1) return { ok: true, format: [...formats][0] };
  const why = formats.size === 0 ? 'holds no .parquet, .csv or .json files and no _delta_log' : `mixes ${[...formats].join(' and ')} files`;
  return { ok: false, message: `directory "${absPath}" ${why}; ${SAY_IT}` };
}
