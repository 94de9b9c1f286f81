// What user middleware may import: `import type { MiddlewareFactory } from 'restlake/middleware'`.
// The built-ins are written against exactly these types.
export type { DriverServices, Exchange, Middleware, MiddlewareFactory, MiddlewareRuntime, Next } from './types.js';
export type { HttpRequest, Row } from '../request/types.js';
export type { HttpResponse } from '../transport/types.js';
export { compose } from './compose.js';
export { RowError } from '../errors.js';
