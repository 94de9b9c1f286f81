// Request bodies compiled once per pipeline. JSON bodies become a list of constant
// JSON text and value renderers, concatenated per row (no intermediate object tree):
// a string that is exactly one "{{ col }}" emits the column's own JSON type; any
// other string is interpolated and emitted as a JSON string.
import type { BodyConfig } from '../config/types.js';
import { parseTemplate } from '../config/template-syntax.js';
import { compileExpr, compileParts, compileTemplate, formEncode, isConstant, joinRenders, soleExpression, type Render, type TemplateContext } from './template.js';
import type { Row } from './types.js';

export interface CompiledBody {
  render: Render;
  contentType: string;
}

export function compileBody(body: BodyConfig): CompiledBody {
  switch (body.kind) {
    case 'json':
      return { render: compileJsonBody(body.template), contentType: 'application/json' };
    case 'text':
      return { render: compileTemplate(body.template, 'request.body.text', 'text'), contentType: 'text/plain; charset=utf-8' };
    case 'form':
      return { render: compileFormBody(body.template), contentType: 'application/x-www-form-urlencoded' };
  }
}

function jsonText(v: unknown): string {
  // Rows come from JSON, but an in-memory row may hold a bigint (DuckDB BIGINT).
  return typeof v === 'bigint' ? v.toString() : v === undefined ? 'null' : JSON.stringify(v);
}

export function compileJsonBody(template: unknown): Render {
  const pieces: (string | Render)[] = [];
  const emit = (p: string | Render) => pieces.push(p); // joinRenders() merges the constants
  const walk = (node: unknown, where: string): void => {
    if (typeof node === 'string') {
      const parts = parseTemplate(node);
      const sole = soleExpression(parts);
      if (sole) {
        const value = compileExpr(sole, where);
        emit((row: Row, ctx: TemplateContext) => jsonText(value(row, ctx)));
      } else if (isConstant(parts)) {
        emit(JSON.stringify(parts.map((p) => (p.kind === 'text' ? p.text : '')).join('')));
      } else {
        const text = compileParts(parts, where, 'text');
        emit((row: Row, ctx: TemplateContext) => JSON.stringify(text(row, ctx)));
      }
    } else if (Array.isArray(node)) {
      emit('[');
      node.forEach((item, i) => {
        if (i > 0) emit(',');
        walk(item, `${where}[${i}]`);
      });
      emit(']');
    } else if (node !== null && typeof node === 'object') {
      emit('{');
      Object.entries(node as Record<string, unknown>).forEach(([k, v], i) => {
        emit((i > 0 ? ',' : '') + JSON.stringify(k) + ':');
        walk(v, `${where}.${k}`);
      });
      emit('}');
    } else {
      emit(JSON.stringify(node ?? null));
    }
  };
  walk(template, 'request.body.json');
  return joinRenders(pieces);
}

function compileFormBody(template: Record<string, string>): Render {
  const pieces: (string | Render)[] = [];
  Object.entries(template).forEach(([k, v], i) => {
    const prefix = (i > 0 ? '&' : '') + formEncode(k) + '=';
    const parts = parseTemplate(v);
    if (isConstant(parts)) pieces.push(prefix + formEncode(parts.map((p) => (p.kind === 'text' ? p.text : '')).join('')));
    else {
      pieces.push(prefix);
      pieces.push(compileParts(parts, `request.body.form.${k}`, 'form'));
    }
  });
  return joinRenders(pieces);
}

