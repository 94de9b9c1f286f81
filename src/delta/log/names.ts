// File names in _delta_log (PROTOCOL.md "Delta Log Entries", "Checkpoints").
export const LOG_DIR = '_delta_log';
export const LAST_CHECKPOINT = `${LOG_DIR}/_last_checkpoint`;
export const SIDECAR_DIR = `${LOG_DIR}/_sidecars`;

export function pad20(v: number): string {
  return String(v).padStart(20, '0');
}
export function commitFile(v: number): string {
  return `${LOG_DIR}/${pad20(v)}.json`;
}
export function classicCheckpointFile(v: number): string {
  return `${LOG_DIR}/${pad20(v)}.checkpoint.parquet`;
}

export type LogFile =
  | { kind: 'commit'; version: number; path: string; size: number; modificationTime: number }
  | { kind: 'checkpoint'; version: number; path: string; size: number; part: number; parts: number; format: 'parquet' | 'json'; uuid: string | null };

const COMMIT_RE = /^(\d{20})\.json$/;
const CLASSIC_RE = /^(\d{20})\.checkpoint\.parquet$/;
const MULTI_RE = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;
const UUID_RE = /^(\d{20})\.checkpoint\.([0-9a-fA-F-]{36})\.(json|parquet)$/;

/** Classifies a file name in _delta_log (name only, no directory); null for anything else (crc, compacted, temp). */
export function classifyLogFile(name: string, size: number, modificationTime: number): LogFile | null {
  const path = `${LOG_DIR}/${name}`;
  let m = COMMIT_RE.exec(name);
  if (m) return { kind: 'commit', version: Number(m[1]), path, size, modificationTime };
  m = CLASSIC_RE.exec(name);
  if (m) return { kind: 'checkpoint', version: Number(m[1]), path, size, part: 1, parts: 1, format: 'parquet', uuid: null };
  m = MULTI_RE.exec(name);
  if (m) return { kind: 'checkpoint', version: Number(m[1]), path, size, part: Number(m[2]), parts: Number(m[3]), format: 'parquet', uuid: null };
  m = UUID_RE.exec(name);
  if (m) return { kind: 'checkpoint', version: Number(m[1]), path, size, part: 1, parts: 1, format: m[3] as 'json' | 'parquet', uuid: m[2] };
  return null;
}
