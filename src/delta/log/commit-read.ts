import { DeltaError } from '../errors.js';
import type { Action } from './actions.js';

/** Parses newline-delimited JSON actions; a malformed line is a corrupt log, named with file and line. */
export function parseJsonLines(buf: Buffer, rel: string): Action[] {
  const out: Action[] = [];
  const lines = buf.toString('utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as Action);
    } catch (e) {
      throw new DeltaError('DELTA_CORRUPT_LOG', `${rel}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
  }
  return out;
}
