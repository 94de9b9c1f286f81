// A request as it goes through middleware to the transport. Headers are lower-case keys.
import type { HttpMethod } from '../config/types.js';

export interface HttpRequest {
  method: HttpMethod;
  url: string;                          // absolute, query included
  headers: Record<string, string>;
  body: string | null;
}

/** A source row as parsed from JSON: column name → value. */
export type Row = Record<string, unknown>;
