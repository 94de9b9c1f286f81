// compileRequest: the whole request template of a pipeline compiled once, then one
// cheap call per row. Everything that does not depend on the row (static headers,
// encoded query keys, content type, the host policy) is computed here, up front.
//
// Safety of the URL: row values are percent-encoded wherever they land in the URL
// (see template.ts), and the rendered URL is held to url-check.ts: the scheme must be
// http or https, the host must be in allowed_hosts, and a value equal to "." or ".."
// (which would let a row climb the path on an allowed host) is refused.
import type { PipelineConfig } from '../config/types.js';
import { parseTemplate } from '../config/template-syntax.js';
import { HostNotAllowedError, hostPolicyOf } from './allowed-hosts.js';
import { compileBody } from './body.js';
import { headerValueProblem } from './header-value.js';
import { compileParts, compileTemplate, isConstant, TemplateError, type Render, type TemplateContext } from './template.js';
import type { HttpRequest, Row } from './types.js';
import { createUrlCheck } from './url-check.js';

export { HostNotAllowedError };

export type BuildRequest = (row: Row, ctx: TemplateContext) => HttpRequest;

export function compileRequest(config: PipelineConfig): BuildRequest {
  const req = config.request;
  const method = req.method;
  const renderUrl = compileUrl(req.url, req.query);
  const urlHasValues = !isConstant(parseTemplate(req.url)) || Object.keys(req.query).length > 0;
  const checkUrl = createUrlCheck(hostPolicyOf(req), urlHasValues);

  // Headers: constants copied from one precomputed object, templated ones rendered.
  const staticHeaders: Record<string, string> = {};
  const dynamicHeaders: { name: string; where: string; render: Render }[] = [];
  for (const [rawName, source] of Object.entries(req.headers)) {
    const name = rawName.toLowerCase();
    const parts = parseTemplate(source);
    if (isConstant(parts)) staticHeaders[name] = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    else dynamicHeaders.push({ name, where: `request.headers.${rawName}`, render: compileParts(parts, `request.headers.${rawName}`, 'text') });
  }
  const body = req.body ? compileBody(req.body) : null;
  if (body && !('content-type' in staticHeaders) && !dynamicHeaders.some((h) => h.name === 'content-type')) {
    staticHeaders['content-type'] = body.contentType;
  }
  const idempotencyHeader = req.idempotency_header ? req.idempotency_header.toLowerCase() : null;
  const renderBody = body?.render ?? null;

  return (row, ctx) => {
    const href = checkUrl(renderUrl(row, ctx));
    const headers: Record<string, string> = { ...staticHeaders };
    for (let i = 0; i < dynamicHeaders.length; i++) {
      const h = dynamicHeaders[i];
      const value = h.render(row, ctx);
      const problem = headerValueProblem(value);
      if (problem !== null) throw new TemplateError(`${h.where}: ${problem}`);
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
