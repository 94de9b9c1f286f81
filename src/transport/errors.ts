// The ways one attempt can fail below HTTP, each a RowError subclass with a stable
// code. `retryable` says whether sending the same request again can help: a refused
// or reset connection and a timeout can; a certificate problem or an oversized body
// will fail the same way every time.
import { RowError } from '../errors.js';

export class TimeoutError extends RowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('timeout', 'RESTLAKE_TIMEOUT', message, { cause: options?.cause, retryable: true });
  }
}

export class ConnectionError extends RowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('connection', 'RESTLAKE_CONNECTION', message, { cause: options?.cause, retryable: true });
  }
}

/**
 * The server's response is not HTTP the client can read (a bad status line, chunk size
 * or header byte, headers over the size limit): class connection, as the server is at
 * fault, but not retried: the same server answers the same way again.
 */
export class MalformedResponseError extends RowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('connection', 'RESTLAKE_MALFORMED_RESPONSE', message, { cause: options?.cause, retryable: false });
  }
}

export class TlsError extends RowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('tls', 'RESTLAKE_TLS', message, { cause: options?.cause, retryable: false });
  }
}

export class BodyTooLargeError extends RowError {
  constructor(limit: number) {
    super('body_too_large', 'RESTLAKE_BODY_TOO_LARGE', `response body exceeded max_response_bytes (${limit} bytes); kept the first ${limit} bytes`);
  }
}

/** The caller's signal fired (the worker is stopping): not the server's fault, not retried. */
export class AbortedError extends RowError {
  constructor() {
    super('timeout', 'RESTLAKE_ABORTED', 'request aborted before it completed (the run is stopping)', { retryable: false });
  }
}

/** A compressed body that does not decompress: the server's doing, the same every time. */
export class BodyDecodeError extends RowError {
  constructor(coding: string, options?: { cause?: unknown; incomplete?: boolean }) {
    const message = options?.incomplete
      ? `response body ends before its compressed stream does (content-encoding ${coding}): the body was cut off`
      : `response body could not be decompressed (content-encoding ${coding})`;
    super('parse', 'RESTLAKE_BODY_DECODE', message, { cause: options?.cause, retryable: false });
  }
}
