// compileRequest: the whole request template of a pipeline compiled once, then one
// cheap call per row. Everything that does not depend on the row (static headers,
// encoded query keys, content type, the host policy) is computed here, up front.
//
// Safety of the URL: row values are percent-encoded wherever they land in the URL
// (see template.ts), the rendered URL is parsed with the WHATWG parser, the scheme
// must be http or https, and the parsed host must be in allowed_hosts. A value equal
// to "." or ".." would let a row climb the path on an allowed host, so such path
// segments are refused too.
import type { PipelineConfig } from '../config/types.js';
import { parseTemplate } from '../config/template-syntax.js';
import { HostNotAllowedError, hostPolicyOf, refusalOf, type HostPolicy } from './allowed-hosts.js';
import { compileBody } from './body.js';
import { compileParts, compileTemplate, isConstant, TemplateError, type Render, type TemplateContext } from './template.js';
import type { HttpRequest, Row } from './types.js';

export { HostNotAllowedError };

export type BuildRequest = (row: Row, ctx: TemplateContext) => HttpRequest;


const HEADER_BREAK = /[\r\n\0]/;

export function compileRequest(config: PipelineConfig): BuildRequest {
  const req = config.request;
  const method = req.method;
  const renderUrl = compileUrl(req.url, req.query);
  const urlHasValues = !isConstant(parseTemplate(req.url)) || Object.keys(req.query).length > 0;
  const policy = hostPolicyOf(req);

  // Headers: constants copied from one precomputed object, templated ones rendered.
  const staticHeaders: Record<string, string> = {};
  const dynamicHeaders: { name: string; render: Render }[] = [];
  for (const [rawName, source] of Object.entries(req.headers)) {
    const name = rawName.toLowerCase();
    const parts = parseTemplate(source);
    if (isConstant(parts)) staticHeaders[name] = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    else dynamicHeaders.push({ name, render: compileParts(parts, `request.headers.${rawName}`, 'text') });
  }
  const body = req.body ? compileBody(req.body) : null;
  if (body && !('content-type' in staticHeaders) && !dynamicHeaders.some((h) => h.name === 'content-type')) {
    staticHeaders['content-type'] = body.contentType;
  }
  const idempotencyHeader = req.idempotency_header ? req.idempotency_header.toLowerCase() : null;
  const renderBody = body?.render ?? null;

  return (row, ctx) => {
    const href = checkedUrl(renderUrl(row, ctx), urlHasValues, policy);
    const headers: Record<string, string> = { ...staticHeaders };
    for (let i = 0; i < dynamicHeaders.length; i++) {
      const h = dynamicHeaders[i];
      const value = h.render(row, ctx);
      if (HEADER_BREAK.test(value)) throw new TemplateError(`request.headers.${h.name}: the rendered value contains a line break or NUL`);
      headers[h.name] = value;
    }
    if (idempotencyHeader) headers[idempotencyHeader] = ctx.request_id;
    return { method, url: href, headers, body: renderBody ? renderBody(row, ctx) : null };
  };
}

/** The URL template plus `request.query`, appended with "?" or "&" as the template needs. */
function compileUrl(url: string, query: Record<string, string>): Render {
  const base = compileTemplate(url, 'request.url', 'url');
  const entries = Object.entries(query);
  if (entries.length === 0) return base;
  const hasQuery = url.includes('?');
  const pieces = entries.map(([k, v], i) => ({
    prefix: (i === 0 ? (hasQuery ? '&' : '?') : '&') + encodeURIComponent(k) + '=',
    value: compileTemplate(v, `request.query.${k}`, 'query'),
  }));
  return (row, ctx) => {
    let out = base(row, ctx);
    for (let i = 0; i < pieces.length; i++) out += pieces[i].prefix + pieces[i].value(row, ctx);
    return out;
  };
}

function checkedUrl(rendered: string, hasValues: boolean, policy: HostPolicy): string {
  if (hasValues && hasDotSegment(rendered)) {
    throw new TemplateError('request.url: a row value renders as a "." or ".." path segment');
  }
  let url: URL;
  try {
    url = new URL(rendered);
  } catch {
    throw new TemplateError('request.url: the rendered URL is not a valid absolute URL');
  }
  if (url.username !== '' || url.password !== '') {
    // They would land in the sink's url column and in logs; auth belongs in `auth`.
    throw new TemplateError('request.url: credentials in the URL (user:password@) are not allowed; use auth: basic');
  }
  const refusal = refusalOf(url, policy);
  if (refusal === 'scheme') {
    throw new HostNotAllowedError(`request.url: scheme "${url.protocol.slice(0, -1)}" is not allowed (http or https only)`);
  }
  if (refusal === 'host') {
    throw new HostNotAllowedError(`request.url: host "${url.host}" is not in allowed_hosts (${policy.described})`);
  }
  return url.href;
}

// Dot segments in the path part (before "?" / "#"); the WHATWG parser would resolve them.
function hasDotSegment(url: string): boolean {
  const start = url.indexOf('//');
  const pathStart = url.indexOf('/', start + 2);
  if (pathStart < 0) return false;
  let end = url.length;
  const q = url.indexOf('?', pathStart);
  if (q >= 0) end = q;
  const h = url.indexOf('#', pathStart);
  if (h >= 0 && h < end) end = h;
  let seg = pathStart + 1;
  for (let i = seg; i <= end; i++) {
    if (i === end || url.charCodeAt(i) === 47) {
      const len = i - seg;
      if ((len === 1 && url.charCodeAt(seg) === 46) || (len === 2 && url.charCodeAt(seg) === 46 && url.charCodeAt(seg + 1) === 46)) return true;
      seg = i + 1;
    }
  }
  return false;
}
