import { RestlakeError } from '../errors.js';

/**
 * Every failure of the Delta layer. `code` is stable; the message names the table and what is wrong.
 * Codes: DELTA_NOT_A_TABLE, DELTA_UNSUPPORTED_FEATURE, DELTA_VERSION_GAP, DELTA_MISSING_METADATA,
 * DELTA_MISSING_PROTOCOL, DELTA_CONCURRENT_CONFLICT, DELTA_SCHEMA_MISMATCH, DELTA_VERSION_NOT_FOUND,
 * DELTA_CORRUPT_LOG, DELTA_CORRUPT_DELETION_VECTOR, DELTA_INVALID_ARGUMENT, DELTA_STORAGE.
 */
export class DeltaError extends RestlakeError {}
