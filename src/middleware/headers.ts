// headers: set request headers from templates (row columns, $run_id, $request_id,
// $now) and remove headers. Runs on every attempt it sees, so placed inside retry it
// re-renders ($now changes per attempt).
import type { MiddlewareConfig } from '../config/types.js';
import { headerValueProblem } from '../request/header-value.js';
import { TemplateError } from '../request/template.js';
import type { MiddlewareFactory } from './types.js';

export type HeadersOptions = Partial<Omit<Extract<MiddlewareConfig, { type: 'headers' }>, 'type'>>;

export const headers: MiddlewareFactory<HeadersOptions> = (options, runtime) => {
  const set = Object.entries(options.set ?? {}).map(([name, source]) => ({
    name: name.toLowerCase(),
    where: `middleware headers.set.${name}`,
    render: runtime.compileTemplate(source),
  }));
  const remove = (options.remove ?? []).map((n) => n.toLowerCase());
  return async (ex, next) => {
    const h = ex.request.headers;
    for (let i = 0; i < remove.length; i++) delete h[remove[i]];
    for (let i = 0; i < set.length; i++) {
      const value = set[i].render(ex);
      const problem = headerValueProblem(value);
      if (problem !== null) throw new TemplateError(`${set[i].where}: ${problem}`);
      h[set[i].name] = value;
    }
    await next();
  };
};
