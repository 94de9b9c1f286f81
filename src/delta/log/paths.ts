// Turning action paths (URI references) into storage-relative paths.
import { DeltaError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { decodeActionPath } from './actions.js';

const SCHEME_RE = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

/**
 * A relative action path is decoded and used as is. An absolute one (file:/..., s3://..., /...) must lie
 * inside the table root, since every Storage is rooted at the table.
 */
export function resolveTablePath(storage: Storage, actionPath: string): string {
  if (!SCHEME_RE.test(actionPath) && !actionPath.startsWith('/')) return decodeActionPath(actionPath);
  let abs = actionPath;
  if (/^file:/i.test(abs)) abs = abs.replace(/^file:(\/\/)?/i, '');
  abs = decodeActionPath(abs);
  const root = storage.root.replace(/\/+$/, '');
  const rootNoScheme = root.replace(/^s3a?:\/\//i, 's3://');
  const candidate = abs.replace(/^s3a?:\/\//i, 's3://');
  if (candidate.startsWith(rootNoScheme + '/')) return candidate.slice(rootNoScheme.length + 1);
  throw new DeltaError('DELTA_UNSUPPORTED_FEATURE', `file ${actionPath} lies outside the table root ${storage.root} (absolute paths elsewhere are not supported)`);
}
