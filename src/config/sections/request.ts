// request: the HTTP request made for each row, and the hosts it may go to.
import { z } from 'zod';
import type { BodyConfig, RequestConfig } from '../types.js';
import { checkTemplate, headerName, hostName, scalarTemplate, strictObject, template } from '../schema-parts.js';
import { hostAllowed, literalHost } from '../url-host.js';
import { enumOf } from './common.js';
import { ALWAYS, asRecord, type IssueSink } from './context.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const body = strictObject({
  json: z.json().optional().describe('A JSON value whose strings are templates; a string that is exactly one "{{ col }}" keeps the column type.'),
  text: template().optional().describe('A text body template.'),
  form: z.record(z.string(), scalarTemplate()).optional().describe('Form fields (application/x-www-form-urlencoded); values are templates.'),
})
  .superRefine((value, c) => {
    const v = asRecord(value);
    if (!v) return;
    const given = (['json', 'text', 'form'] as const).filter((k) => v[k] !== undefined);
    if (given.length !== 1) {
      c.addIssue({
        code: 'custom',
        message: given.length === 0 ? 'needs exactly one of json, text or form' : `has ${given.join(' and ')}; give exactly one of json, text or form`,
      });
    }
    if (v.json !== undefined) checkJsonTemplates(v.json, ['json'], c);
  }, ALWAYS)
  .transform((v): BodyConfig => {
    if (v.json !== undefined) return { kind: 'json', template: v.json };
    if (v.text !== undefined) return { kind: 'text', template: v.text };
    return { kind: 'form', template: v.form ?? {} };
  })
  .describe('Request body: exactly one of json, text or form.');

export const request = strictObject({
  method: enumOf(HTTP_METHODS, 'HTTP method').default('GET').describe('GET | POST | PUT | PATCH | DELETE'),
  url: template().describe('URL template, e.g. "https://api.example.com/v1/orders/{{ order_id }}"; values are URL-encoded in the path.'),
  query: z.record(z.string().min(1), scalarTemplate()).default({}).describe('Query parameters; values are templates (URL-encoded).'),
  headers: z.record(headerName, scalarTemplate()).default({}).describe('Request headers; values are templates.'),
  body: body.nullable().default(null).describe('Request body: null, or exactly one of json, text or form.'),
  idempotency_header: headerName.nullable().default(null).describe('Send the request_id in this header (e.g. Idempotency-Key).'),
  allowed_hosts: z
    .array(hostName)
    .min(1)
    .optional()
    .describe('Hosts a rendered URL may point at ("*.example.com" for subdomains). Default: the literal host of url.'),
})
  .superRefine(checkRequest, ALWAYS)
  .transform((v): RequestConfig => {
    const host = literalHost(v.url);
    return {
      method: v.method,
      url: v.url,
      query: v.query,
      headers: v.headers,
      body: v.body,
      idempotency_header: v.idempotency_header,
      // checkRequest guarantees a literal host when allowed_hosts is absent.
      allowed_hosts: [...new Set(v.allowed_hosts ?? (host.kind === 'literal' ? [host.host] : []))],
    };
  })
  .describe('The HTTP request made for each row; strings are templates over the row columns.');

function checkRequest(value: unknown, c: IssueSink): void {
  const v = asRecord(value);
  if (!v) return;
  const headers = asRecord(v.headers);
  const dup = headers && duplicateIgnoringCase(Object.keys(headers));
  if (dup) c.addIssue({ code: 'custom', path: ['headers', dup], message: `header "${dup}" is given twice (header names ignore case)` });
  const idem = typeof v.idempotency_header === 'string' ? v.idempotency_header.toLowerCase() : null;
  const clash = idem && headers && Object.keys(headers).find((h) => h.toLowerCase() === idem);
  if (clash) c.addIssue({ code: 'custom', path: ['headers', clash], message: `is also set by idempotency_header; keep one` });
  if (typeof v.url !== 'string') return;
  const host = literalHost(v.url);
  if (host.kind === 'bad') {
    c.addIssue({ code: 'custom', path: ['url'], message: host.message });
    return;
  }
  const allowed = Array.isArray(v.allowed_hosts)
    ? v.allowed_hosts.filter((h): h is string => typeof h === 'string').map((h) => h.trim().toLowerCase())
    : null;
  if (!allowed && host.kind === 'templated') {
    c.addIssue({
      code: 'custom',
      path: ['allowed_hosts'],
      message: "is required when the url's host is a template; list the hosts a row may send requests to",
    });
  } else if (allowed && allowed.length > 0 && host.kind === 'literal' && !hostAllowed(host.host, allowed)) {
    c.addIssue({ code: 'custom', path: ['allowed_hosts'], message: `does not include the url's host "${host.host}"` });
  }
}

function checkJsonTemplates(v: unknown, path: PropertyKey[], c: IssueSink): void {
  if (typeof v === 'string') checkTemplate(v, c, path);
  else if (Array.isArray(v)) v.forEach((x, i) => checkJsonTemplates(x, [...path, i], c));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) checkJsonTemplates(x, [...path, k], c);
}

function duplicateIgnoringCase(names: string[]): string | null {
  const seen = new Set<string>();
  for (const n of names) {
    const l = n.toLowerCase();
    if (seen.has(l)) return n;
    seen.add(l);
  }
  return null;
}

/**
 * A headers middleware that sets the idempotency header would replace the per-row key
 * with its own value, the same for many rows: the API would then drop them as repeats.
 */
export function checkIdempotencyHeaderNotSet(value: unknown, c: IssueSink): void {
  const v = asRecord(value);
  const idem = asRecord(v?.request)?.idempotency_header;
  if (typeof idem !== 'string' || !Array.isArray(v?.middleware)) return;
  v.middleware.forEach((m: unknown, i: number) => {
    const mw = asRecord(m);
    const set = mw?.type === 'headers' ? asRecord(mw.set) : null;
    const clash = set && Object.keys(set).find((h) => h.toLowerCase() === idem.toLowerCase());
    if (clash) c.addIssue({ code: 'custom', path: ['middleware', i, 'set', clash], message: `is also request.idempotency_header, which sends each row's own key; keep one` });
  });
}
