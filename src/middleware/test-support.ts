// Helpers for middleware tests: a runtime with a capturable pino logger, exchanges,
// and an in-memory DriverServices. Not used at run time.
import { Writable } from 'node:stream';
import pino from 'pino';
import { compileTemplate } from '../request/template.js';
import type { HttpRequest, Row } from '../request/types.js';
import type { DriverServices, Exchange, MiddlewareRuntime } from './types.js';

export interface CapturedLog {
  lines: () => Record<string, unknown>[];
  text: () => string;
}

export function testRuntime(over: Partial<MiddlewareRuntime> = {}): MiddlewareRuntime & { log: CapturedLog } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return {
    logger,
    runId: 'run-test',
    pipeline: 'test_pipeline',
    compileTemplate(source: string) {
      const render = compileTemplate(source, 'middleware', 'text');
      return (ex: Exchange) => render(ex.row, { run_id: ex.runId, request_id: ex.requestId, now: Date.now() });
    },
    driver: null,
    secrets: [],
    ...over,
    log: {
      text: () => chunks.join(''),
      lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    },
  };
}

export function exchange(request: Partial<HttpRequest> & { url: string }, row: Row = {}, signal: AbortSignal = new AbortController().signal): Exchange {
  return {
    row,
    requestId: 'rid-test',
    runId: 'run-test',
    request: { method: 'GET', headers: {}, body: null, ...request },
    response: null,
    error: null,
    attempts: 0,
    state: {},
    signal,
  };
}

/** DriverServices kept in memory, recording backoff reports. */
export function memoryDriver(): DriverServices & { reports: { origin: string; untilMs: number }[]; pauses: Map<string, number> } {
  const pauses = new Map<string, number>();
  const reports: { origin: string; untilMs: number }[] = [];
  return {
    reports,
    pauses,
    token: async () => 'token',
    refreshToken: async () => 'token2',
    acquirePermits: async (_k, want) => want,
    reportBackoff(origin, untilMs) {
      reports.push({ origin, untilMs });
      if (untilMs > (pauses.get(origin) ?? 0)) pauses.set(origin, untilMs);
    },
    pausedUntil: (origin) => pauses.get(origin) ?? 0,
  };
}

/** The most of `times` (sorted) in any window of `ms`: the busiest stretch a server saw. */
export function mostIn(times: number[], ms: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
