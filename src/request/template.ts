// Templates compiled once per pipeline into closures `(row, ctx) => string`.
// The syntax lives in src/config/template-syntax.ts (one parser for validation and
// for us); this file gives the parts meaning: column lookup, built-ins, filters, and
// the encoding a value gets where it lands.
//
// Values and filters: a filter receives the value as it is so far (any JSON type);
// string filters pass null/undefined through, so `default` may come anywhere in the
// chain. After the filters, a missing column (undefined) is a RowError 'template'
// naming the column; null renders as the empty string (or JSON null where the type
// is kept).
//
// Encodings by position (`TemplateEncoding`):
//   text   as is (headers, text bodies, interpolated JSON strings)
//   url    each value percent-encoded as a URI component; the template's own text is
//          trusted as written (the URL template). A value can never add "/", "?", "#",
//          "@", ":" or "\" to a URL, so it can never change the host.
//   query  value and text both percent-encoded (a query value from `request.query`)
//   form   value and text both form-encoded (application/x-www-form-urlencoded)
// A value whose last filter is `url` is taken as already encoded and not encoded twice.
import { parseTemplate, type TemplatePart } from '../config/template-syntax.js';
import { RowError } from '../errors.js';
import type { Row } from './types.js';

export interface TemplateContext {
  run_id: string;
  request_id: string;
  /** Epoch milliseconds of the attempt; `$now` renders it as ISO-8601 UTC. */
  now: number;
}

export type Render = (row: Row, ctx: TemplateContext) => string;
export type RenderValue = (row: Row, ctx: TemplateContext) => unknown;
export type TemplateEncoding = 'text' | 'url' | 'query' | 'form';

export class TemplateError extends RowError {
  constructor(message: string) {
    super('template', 'RESTLAKE_TEMPLATE', message);
  }
}

type Filter = (v: unknown) => unknown;

/** Stringify a value for text: strings as is, scalars with String(), null as "", objects as JSON. */
export function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

const FILTERS: Record<string, (args: string[]) => Filter> = {
  url: () => (v) => (v == null ? v : encodeURIComponent(valueText(v))),
  json: () => (v) => (v === undefined ? v : typeof v === 'bigint' ? v.toString() : JSON.stringify(v)),
  default: (args) => {
    const fallback = args[0];
    return (v) => (v == null ? fallback : v);
  },
  upper: () => (v) => (v == null ? v : valueText(v).toUpperCase()),
  lower: () => (v) => (v == null ? v : valueText(v).toLowerCase()),
  trim: () => (v) => (v == null ? v : valueText(v).trim()),
  base64: () => (v) => (v == null ? v : Buffer.from(valueText(v), 'utf8').toString('base64')),
};

type ExprPart = Extract<TemplatePart, { kind: 'expr' }>;

/**
 * One expression as a typed value: the column (or built-in) through its filters.
 * `where` names the template's config location for error messages ("request.url").
 */
export function compileExpr(part: ExprPart, where: string): RenderValue {
  const get = getter(part);
  const filters = part.filters.map((f) => {
    const make = FILTERS[f.name];
    if (!make) throw new RowError('template', 'RESTLAKE_TEMPLATE', `${where}: unknown filter "${f.name}"`);
    return make(f.args);
  });
  const missing = `${where}: column "${part.name}" is missing from the row (add it to the source or use | default('...'))`;
  if (filters.length === 0) {
    return (row, ctx) => {
      const v = get(row, ctx);
      if (v === undefined) throw new TemplateError(missing);
      return v;
    };
  }
  return (row, ctx) => {
    let v = get(row, ctx);
    for (let i = 0; i < filters.length; i++) v = filters[i](v);
    if (v === undefined) throw new TemplateError(missing);
    return v;
  };
}

function getter(part: ExprPart): RenderValue {
  if (!part.builtin) {
    const name = part.name;
    return (row) => row[name];
  }
  switch (part.name) {
    case 'run_id':
      return (_row, ctx) => ctx.run_id;
    case 'request_id':
      return (_row, ctx) => ctx.request_id;
    case 'now':
      return (_row, ctx) => new Date(ctx.now).toISOString();
    default:
      throw new RowError('template', 'RESTLAKE_TEMPLATE', `unknown built-in "$${part.name}"`);
  }
}

/** Compile a template string into a renderer producing text in the given encoding. */
export function compileTemplate(source: string, where: string, encoding: TemplateEncoding = 'text'): Render {
  return compileParts(parseTemplate(source), where, encoding);
}

export function compileParts(parts: readonly TemplatePart[], where: string, encoding: TemplateEncoding): Render {
  const encodeValue = encoding === 'text' ? null : encoding === 'form' ? formEncode : encodeURIComponent;
  const encodeText = encoding === 'query' ? encodeURIComponent : encoding === 'form' ? formEncode : null;
  const pieces: (string | Render)[] = parts.map((p) => {
    if (p.kind === 'text') return encodeText ? encodeText(p.text) : p.text;
    let value = compileExpr(p, where);
    if (encoding === 'url' || encoding === 'query') value = refuseNull(value, p, where);
    const preEncoded = p.filters.length > 0 && p.filters[p.filters.length - 1].name === 'url';
    if (!encodeValue || preEncoded) return (row: Row, ctx: TemplateContext) => valueText(value(row, ctx));
    return (row: Row, ctx: TemplateContext) => encodeValue(valueText(value(row, ctx)));
  });
  return joinRenders(pieces);
}

/**
 * In a URL a null would render as nothing: `DELETE /users/{{ id }}` would become
 * `DELETE /users/`, another resource. The row fails instead, unless the template says
 * what a null should be (`| default('')`).
 */
function refuseNull(value: RenderValue, part: ExprPart, where: string): RenderValue {
  const message = `${where}: column "${part.name}" is null, and a URL would get nothing in its place (use | default('...') to allow that)`;
  return (row, ctx) => {
    const v = value(row, ctx);
    if (v === null || v === undefined) throw new TemplateError(message);
    return v;
  };
}

/**
 * One renderer for a sequence of constants and renderers, concatenated. Adjacent
 * constants are merged, so a row costs one concatenation per value; the common
 * shapes (nothing, one constant, one value) get renderers of their own.
 */
export function joinRenders(raw: readonly (string | Render)[]): Render {
  const pieces: (string | Render)[] = [];
  for (const p of raw) {
    const last = pieces[pieces.length - 1];
    if (typeof p === 'string' && typeof last === 'string') pieces[pieces.length - 1] = last + p;
    else pieces.push(p);
  }
  if (pieces.length === 0) return () => '';
  if (pieces.length === 1) {
    const only = pieces[0];
    if (typeof only === 'string') return () => only;
    return only;
  }
  return (row, ctx) => {
    let out = '';
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      out += typeof p === 'string' ? p : p(row, ctx);
    }
    return out;
  };
}

/** The single expression when a template is exactly one `{{ ... }}` with no text around it. */
export function soleExpression(parts: readonly TemplatePart[]): ExprPart | null {
  return parts.length === 1 && parts[0].kind === 'expr' ? parts[0] : null;
}

/** Whether a template has any expression at all (constant templates are precomputed). */
export function isConstant(parts: readonly TemplatePart[]): boolean {
  return parts.every((p) => p.kind === 'text');
}
