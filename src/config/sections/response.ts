// response: what counts as success, and typed columns pulled from the body.
import { z } from 'zod';
import { show, sinkColumnName, statusSpec, strictObject } from '../schema-parts.js';
import { enumOf } from './common.js';

export const EXTRACT_TYPES = ['string', 'long', 'double', 'boolean', 'json'] as const;

const jsonPath = z
  .string()
  .regex(/^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\['[^']*'\]|\["[^"]*"\])*$/, {
    error: (iss) => `${show(iss.input)} is not a JSON path; use e.g. $.score, $.items[0].id or $['odd key']`,
  });
const extractItem = z
  .union([
    jsonPath,
    strictObject({
      path: jsonPath.describe('JSON path into the response body: $.a.b[0]'),
      type: enumOf(EXTRACT_TYPES, 'extract type').default('string').describe('string | long | double | boolean | json; a value that does not fit is null (long: whole numbers up to 2^53, beyond that JSON numbers are already rounded)'),
    }),
  ])
  .transform((v) => (typeof v === 'string' ? { path: v, type: 'string' as const } : v))
  .describe('{path, type} or just a path (type string).');
export const response = strictObject({
  success_status: z
    .array(statusSpec)
    .min(1)
    .prefault(['200-299'])
    .describe('Statuses that count as success: codes, ranges ("200-299") or classes ("2xx").'),
  extract: z.record(sinkColumnName, extractItem).default({}).describe('Typed sink columns pulled from a JSON response body.'),
}).describe('How responses are judged and what is pulled out of them.');
