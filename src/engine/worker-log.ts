// Worker stderr lines (pino JSON) made readable for the driver's log: the level,
// the message and the interesting fields; anything else passes through as is.
import type { LogLevel } from './context.js';

const LEVELS: Record<number, LogLevel> = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'error' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'pipeline', 'msg']);

export function formatWorkerLog(line: string): { level: LogLevel; text: string } {
  if (line.startsWith('{"level":')) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      const level = LEVELS[Number(o.level)] ?? 'info';
      const fields = Object.entries(o)
        .filter(([k]) => !HIDDEN.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      return { level, text: [String(o.msg ?? ''), ...fields].filter(Boolean).join(' ') };
    } catch {
      // not pino after all
    }
  }
  return { level: 'info', text: line };
}
