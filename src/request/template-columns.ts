// Before any request: every column a request template reads must be in the source.
// A typo (`{{ nmae }}`) would otherwise fail every row, one by one, with error_class
// template; a column read through `| default(...)` may be absent on purpose.
import type { PipelineConfig } from '../config/types.js';
import { parseTemplate } from '../config/template-syntax.js';
import { didYouMean } from '../config/suggest.js';
import { ConfigError } from '../errors.js';

/** Each template of the config with where it is (for messages). */
function templatesOf(config: PipelineConfig): Array<[where: string, source: string]> {
  const out: Array<[string, string]> = [['request.url', config.request.url]];
  for (const [k, v] of Object.entries(config.request.query)) out.push([`request.query.${k}`, v]);
  for (const [k, v] of Object.entries(config.request.headers)) out.push([`request.headers.${k}`, v]);
  const body = config.request.body;
  const walk = (v: unknown, where: string): void => {
    if (typeof v === 'string') out.push([where, v]);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
  };
  if (body?.kind === 'json') walk(body.template, 'request.body.json');
  else if (body?.kind === 'form') walk(body.template, 'request.body.form');
  else if (body?.kind === 'text') out.push(['request.body.text', body.template]);
  config.middleware.forEach((m, i) => {
    if (m.type === 'headers') for (const [k, v] of Object.entries(m.set)) out.push([`middleware[${i}].set.${k}`, v]);
  });
  return out;
}

/** Throws a ConfigError naming each template column the source does not have. */
export function checkTemplateColumns(config: PipelineConfig, columns: readonly string[]): void {
  const have = new Set(columns);
  const issues: { path: string; message: string }[] = [];
  for (const [where, source] of templatesOf(config)) {
    let parts;
    try {
      parts = parseTemplate(source);
    } catch {
      continue; // syntax was checked when the config loaded
    }
    for (const p of parts) {
      if (p.kind !== 'expr' || p.builtin || have.has(p.name) || p.filters.some((f) => f.name === 'default')) continue;
      issues.push({
        path: where,
        message: `the source has no column "${p.name}"${didYouMean(p.name, columns)}; every row would fail (it has: ${columns.join(', ') || 'none'}; use | default('...') for a column that may be absent)`,
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
