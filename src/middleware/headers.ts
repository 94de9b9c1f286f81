// headers: set request headers from templates (row columns, $run_id, $request_id,
// $now) and remove headers. Runs on every attempt it sees, so placed inside retry it
// re-renders ($now changes per attempt).
import type { MiddlewareConfig } from '../config/types.js';
import { RowError } from '../errors.js';
import type { MiddlewareFactory } from './types.js';

export type HeadersOptions = Partial<Omit<Extract<MiddlewareConfig, { type: 'headers' }>, 'type'>>;

const HEADER_BREAK = /[\r\n\0]/;

export const headers: MiddlewareFactory<HeadersOptions> = (options, runtime) => {
  const set = Object.entries(options.set ?? {}).map(([name, source]) => ({
    name: name.toLowerCase(),
    render: runtime.compileTemplate(source),
  }));
  const remove = (options.remove ?? []).map((n) => n.toLowerCase());
  return async (ex, next) => {
    const h = ex.request.headers;
    for (let i = 0; i < remove.length; i++) delete h[remove[i]];
    for (let i = 0; i < set.length; i++) {
      const value = set[i].render(ex);
      if (HEADER_BREAK.test(value)) {
        throw new RowError('template', 'RESTLAKE_TEMPLATE', `middleware headers.set.${set[i].name}: the rendered value contains a line break or NUL`);
      }
      h[set[i].name] = value;
    }
    await next();
  };
};
