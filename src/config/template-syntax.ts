// The template language's syntax, in one place: config validation checks every
// template with it at load time, and src/request/ compiles the same parts into
// render functions. Two parsers would drift; this is the only one.
//
//   text {{ column }} text {{ column | url }} {{ $run_id }} {{ name | default('x') | upper }}
//
// A literal "{{" is written "\{{". A lone "}}" in text is just text (JSON in a text body
// ends with "}}" all the time); only an opened "{{" must be closed.
import { RestlakeError } from '../errors.js';

export interface TemplateFilter { name: string; args: string[] }

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; name: string; builtin: boolean; filters: TemplateFilter[] };

/** Filters and how many arguments each takes. The request layer implements exactly these. */
export const TEMPLATE_FILTERS: Readonly<Record<string, { minArgs: number; maxArgs: number; help: string }>> = {
  url: { minArgs: 0, maxArgs: 0, help: 'percent-encode for a URL path segment or query value' },
  json: { minArgs: 0, maxArgs: 0, help: 'JSON-encode the value' },
  default: { minArgs: 1, maxArgs: 1, help: "use the argument when the column is missing or null: default('x')" },
  upper: { minArgs: 0, maxArgs: 0, help: 'upper-case' },
  lower: { minArgs: 0, maxArgs: 0, help: 'lower-case' },
  trim: { minArgs: 0, maxArgs: 0, help: 'strip leading and trailing whitespace' },
  base64: { minArgs: 0, maxArgs: 0, help: 'base64-encode the UTF-8 bytes' },
};

/** Built-in values, written with a leading `$`. */
export const TEMPLATE_BUILTINS: readonly string[] = ['run_id', 'request_id', 'now'];

export class TemplateSyntaxError extends RestlakeError {
  /** Character offset in the template source where the problem is. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super('RESTLAKE_TEMPLATE_SYNTAX', message);
    this.offset = offset;
  }
}

// Column names may hold "-" and start with a digit (CSV headers such as "order-id" or
// "2024_total"): the language has no arithmetic or number literals to confuse them with.
const COLUMN = /[A-Za-z0-9_][A-Za-z0-9_-]*/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Parse a template into text and expression parts. Adjacent text is merged; empty text is dropped. */
export function parseTemplate(source: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('\\{{', i)) {
      text += '{{';
      i += 3;
      continue;
    }
    if (source.startsWith('{{', i)) {
      const close = findClose(source, i + 2);
      if (close < 0) throw new TemplateSyntaxError(`"{{" at offset ${i} is never closed with "}}"`, i);
      if (text) parts.push({ kind: 'text', text });
      text = '';
      parts.push(parseExpression(source, i + 2, close));
      i = close + 2;
      continue;
    }
    text += source[i];
    i++;
  }
  if (text) parts.push({ kind: 'text', text });
  return parts;
}

// The "}}" that ends the expression opened just before `from`, skipping quoted
// arguments (default('}}') is fine); -1 when the expression is not closed, or when a
// new "{{" opens first (a forgotten "}}" should not swallow the next expression).
function findClose(src: string, from: number): number {
  let quote = '';
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '}' && src[i + 1] === '}') return i;
    else if (c === '{' && src[i + 1] === '{') return -1;
  }
  return -1;
}

/** Whether a string contains any template expression (cheap check before compiling). */
export function hasTemplate(source: string): boolean {
  return parseTemplate(source).some((p) => p.kind === 'expr');
}

/** The column names a parsed template reads (builtins excluded), in first-use order. */
export function templateColumns(parts: readonly TemplatePart[]): string[] {
  const out: string[] = [];
  for (const p of parts) if (p.kind === 'expr' && !p.builtin && !out.includes(p.name)) out.push(p.name);
  return out;
}

// Expression grammar, between start and end (exclusive) of `src`:
//   ws? ('$' ident | column) ws? ('|' ws? ident ws? ('(' ws? arg (ws? ',' ws? arg)* ws? ')')? ws?)*
//   arg := '...' | "..." (backslash escapes the next character)
function parseExpression(src: string, start: number, end: number): TemplatePart {
  let i = start;
  const skipWs = () => {
    while (i < end && /\s/.test(src[i])) i++;
  };
  const ident = (what: string, re: RegExp = IDENT): string => {
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m || i + m[0].length > end) {
      const found = i < end ? `"${src.slice(i, end).trim()}"` : 'nothing';
      throw new TemplateSyntaxError(`expected ${what} at offset ${i}, found ${found}`, i);
    }
    i += m[0].length;
    return m[0];
  };

  skipWs();
  if (i >= end) throw new TemplateSyntaxError(`empty expression "{{}}" at offset ${start - 2}`, start - 2);
  let builtin = false;
  const nameAt = i;
  if (src[i] === '$') {
    builtin = true;
    i++;
  }
  const name = builtin ? ident('a built-in name after "$"') : ident('a column name', COLUMN);
  if (builtin && !TEMPLATE_BUILTINS.includes(name)) {
    throw new TemplateSyntaxError(
      `unknown built-in "$${name}" (known: ${TEMPLATE_BUILTINS.map((b) => '$' + b).join(', ')})`,
      nameAt,
    );
  }
  const filters: TemplateFilter[] = [];
  skipWs();
  while (i < end) {
    if (src[i] !== '|') {
      throw new TemplateSyntaxError(`unexpected "${src.slice(i, end).trim()}" at offset ${i}; expected "|" or "}}"`, i);
    }
    i++;
    skipWs();
    const filterAt = i;
    const fname = ident('a filter name after "|"');
    const spec = TEMPLATE_FILTERS[fname];
    if (!spec || !Object.hasOwn(TEMPLATE_FILTERS, fname)) {
      throw new TemplateSyntaxError(
        `unknown filter "${fname}" (known: ${Object.keys(TEMPLATE_FILTERS).join(', ')})`,
        filterAt,
      );
    }
    skipWs();
    const args: string[] = [];
    if (i < end && src[i] === '(') {
      i++;
      skipWs();
      if (src[i] !== ')') {
        for (;;) {
          args.push(stringLiteral());
          skipWs();
          if (i < end && src[i] === ',') {
            i++;
            skipWs();
            continue;
          }
          break;
        }
      }
      if (i >= end || src[i] !== ')') throw new TemplateSyntaxError(`expected ")" to close the arguments of "${fname}" at offset ${i}`, i);
      i++;
      skipWs();
    }
    if (args.length < spec.minArgs || args.length > spec.maxArgs) {
      const want = spec.minArgs === spec.maxArgs ? String(spec.minArgs) : `${spec.minArgs}-${spec.maxArgs}`;
      throw new TemplateSyntaxError(`filter "${fname}" takes ${want} argument(s), got ${args.length}`, filterAt);
    }
    filters.push({ name: fname, args });
  }
  return { kind: 'expr', name, builtin, filters };

  function stringLiteral(): string {
    const q = src[i];
    if (q !== "'" && q !== '"') {
      throw new TemplateSyntaxError(`expected a quoted string argument at offset ${i}`, i);
    }
    const open = i;
    i++;
    let out = '';
    while (i < end && src[i] !== q) {
      if (src[i] === '\\' && i + 1 < end) i++;
      out += src[i];
      i++;
    }
    if (i >= end) throw new TemplateSyntaxError(`string starting at offset ${open} is never closed`, open);
    i++;
    return out;
  }
}
