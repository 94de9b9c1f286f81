// middleware: the chain around every request, by `type`, each with its own options.
import { z } from 'zod';
import type { MiddlewareConfig } from '../types.js';
import { duration, headerName, positiveDuration, positiveDurationValue, scalarTemplate, statusSpec, strictObject } from '../schema-parts.js';
import { byType, enumOf, orTypeName, positiveInt } from './common.js';
import { existingFilePath } from './context.js';

export const MIDDLEWARE_TYPES = [
  'retry',
  'rate_limit',
  'timing',
  'logging',
  'headers',
  'module',
  'adaptive_concurrency',
  'circuit_breaker',
] as const;

/** Status specs expanded to the codes they cover, in order, each once (`5xx` → 500…599). */
const statusCodes = z
  .array(statusSpec)
  .transform((ranges) => {
    const out: number[] = [];
    for (const r of ranges) for (let s = r.from; s <= r.to; s++) if (!out.includes(s)) out.push(s);
    return out;
  });

const middlewareItem = byType(
  [
    strictObject({
      type: z.literal('retry'),
      max_attempts: positiveInt().default(3).describe('Attempts in all, the first included.'),
      base_delay: duration('200ms').describe('First backoff; doubles each attempt, with full jitter.'),
      max_delay: duration('30s').describe('Cap on one backoff, Retry-After included.'),
      statuses: statusCodes.prefault([429, 500, 502, 503, 504]).describe('Statuses to retry (codes, "500-504" or "5xx").'),
      on_network_error: z.boolean().default(true).describe('Retry timeouts and connection errors.'),
    })
      .transform((v): MiddlewareConfig => ({
        type: 'retry',
        max_attempts: v.max_attempts,
        base_delay_ms: v.base_delay,
        max_delay_ms: v.max_delay,
        statuses: v.statuses,
        on_network_error: v.on_network_error,
      }))
      .describe('Retry with exponential backoff and full jitter; honours Retry-After.'),
    strictObject({
      type: z.literal('rate_limit'),
      requests_per_second: z.number().positive().describe('Requests per second for the whole run (all workers).'),
      burst: positiveInt().optional().describe('Bucket size (default: requests_per_second rounded up).'),
      per_origin: z.boolean().default(false).describe('One bucket per origin instead of one for the run.'),
    })
      .transform((v): MiddlewareConfig => ({
        type: 'rate_limit',
        requests_per_second: v.requests_per_second,
        burst: v.burst ?? Math.max(1, Math.ceil(v.requests_per_second)),
        per_origin: v.per_origin,
      }))
      .describe('A run-wide token bucket, shared by every worker through the driver.'),
    strictObject({ type: z.literal('timing') }).describe('Record per-attempt timings.'),
    strictObject({
      type: z.literal('logging'),
      level: enumOf(['debug', 'info', 'warn', 'error'] as const, 'log level').default('info').describe('debug | info | warn | error'),
      redact: z.array(z.string().min(1)).default([]).describe('More header names to redact in logs.'),
    }).describe('Log each exchange (secrets redacted).'),
    strictObject({
      type: z.literal('headers'),
      set: z.record(headerName, scalarTemplate()).default({}).describe('Headers to set; values are templates.'),
      remove: z.array(headerName).default([]).describe('Headers to remove.'),
    }).describe('Set or remove request headers.'),
    strictObject({
      type: z.literal('module'),
      path: existingFilePath().describe('A .ts/.js/.mjs file, relative to the config file.'),
      export: z.string().min(1).default('default').describe('The exported factory (default: the default export).'),
      options: z.record(z.string(), z.unknown()).default({}).describe('Passed to the factory as its first argument.'),
    }).describe('User middleware from a module, with the same interface as the built-ins.'),
    strictObject({
      type: z.literal('adaptive_concurrency'),
      enabled: z.boolean().default(true).describe('Turn it off without removing the entry.'),
      min: positiveInt().default(1).describe('Lowest in-flight limit.'),
      max: positiveInt().nullable().default(null).describe('Highest in-flight limit (default: execution.concurrency).'),
    })
      .superRefine((v, c) => {
        if (v.max !== null && v.max < v.min) c.addIssue({ code: 'custom', path: ['max'], message: `must be at least min (${v.min})` });
      })
      .describe('Adjust in-flight requests to the server\'s latency.'),
    strictObject({
      type: z.literal('circuit_breaker'),
      enabled: z.boolean().default(true).describe('Turn it off without removing the entry.'),
      failure_ratio: z.number().gt(0).max(1).default(0.5).describe('Open when this share of requests in the window failed.'),
      min_requests: positiveInt().default(20).describe('Requests in the window before the ratio counts.'),
      window: positiveDuration('30s').describe('Sliding window.'),
      open: positiveDuration('30s').describe('How long to stay open before a trial request.'),
      max_wait: positiveDurationValue()
        .nullable()
        .default(null)
        .describe('How long a request waits for an open circuit to close before it fails with circuit_open (default: 3 × open).'),
    })
      .transform((v): MiddlewareConfig => ({
        type: 'circuit_breaker',
        enabled: v.enabled,
        failure_ratio: v.failure_ratio,
        min_requests: v.min_requests,
        window_ms: v.window,
        open_ms: v.open,
        max_wait_ms: v.max_wait,
      }))
      .describe('Hold requests while the server is failing, probing it; fail them (error_class circuit_open) only after max_wait.'),
  ],
  MIDDLEWARE_TYPES,
  'middleware',
);
// `- timing` is shorthand for `- type: timing`.
const middlewareEntry = orTypeName(middlewareItem, MIDDLEWARE_TYPES);
export const middleware = z
  .array(middlewareEntry)
  .default([])
  .describe('Applied in order, outermost first. An entry is {type: ..., options} or just the type name.');
