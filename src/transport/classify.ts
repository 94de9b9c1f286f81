// Maps what undici and Node's net/tls layers throw onto the RowError classes that
// land in the sink. Messages are written here (never the raw error text, which could
// echo a header), and name what happened and which timeout fired.
import { RowError } from '../errors.js';
import { ConnectionError, MalformedResponseError, TimeoutError, TlsError } from './errors.js';

export interface TimeoutSettings {
  connect_timeout_ms: number;
  headers_timeout_ms: number;
  body_timeout_ms: number;
}

// OpenSSL certificate verification results as Node reports them in `err.code`.
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

const CONNECTION_MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server while sending',
  UND_ERR_SOCKET: 'connection closed by the server',
  ENOTFOUND: 'DNS lookup failed (host not found)',
  EAI_AGAIN: 'DNS lookup failed (temporary failure)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'TCP connection timed out',
  UND_ERR_CLOSED: 'connection pool closed',
  UND_ERR_DESTROYED: 'connection pool destroyed',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'response body shorter than its content-length',
};

export function classifyTransportError(err: unknown, t: TimeoutSettings): RowError {
  if (err instanceof RowError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new TimeoutError(`connect timed out after ${t.connect_timeout_ms} ms`, { cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new TimeoutError(`no response headers within ${t.headers_timeout_ms} ms`, { cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new TimeoutError(`response body stalled for more than ${t.body_timeout_ms} ms`, { cause: err });
  }
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    return new TlsError(`TLS handshake failed (${code})`, { cause: err });
  }
  if (code.startsWith('HPE_') || (e as { name?: unknown } | null)?.name === 'HTTPParserError') return parserError(err, code);
  if (code === 'UND_ERR_HEADERS_OVERFLOW') {
    return new MalformedResponseError(`response headers over the HTTP client's limit of ${headerLimit()} bytes (UND_ERR_HEADERS_OVERFLOW)`, { cause: err });
  }
  // undici's parser meets an interim 100 Continue that was not asked for (restlake sends
  // no Expect: 100-continue) and gives up on the connection; other 1xx (103) it skips.
  if (code === 'UND_ERR_SOCKET' && e?.message === 'bad response') {
    return new MalformedResponseError('malformed HTTP response: an interim 100 Continue that was not asked for (the HTTP client cannot read past it)', { cause: err });
  }
  const known = CONNECTION_MESSAGES[code];
  if (known) return new ConnectionError(`${known} (${code})`, { cause: err });
  if (code === 'UND_ERR_INVALID_ARG') {
    // undici refuses the request itself (e.g. a header value with a line break); sending it again changes nothing.
    return new RowError('internal', 'RESTLAKE_INVALID_REQUEST', `request rejected before sending: ${safeMessage(e)}`, { cause: err });
  }
  return new ConnectionError(`request failed${code ? ` (${code})` : ''}`, { cause: err });
}

// llhttp's reasons (fixed strings of the parser, never bytes of the response) in words.
const PARSER_REASONS: Record<string, string> = {
  'Invalid character in chunk size': 'invalid chunk size',
  'Invalid header value char': 'a header value holds a control character',
  'Invalid header token': 'a header name holds an invalid character',
  'Invalid response status': 'the status code is not three digits',
  'Expected HTTP/, RTSP/ or ICE/': 'the status line does not start with HTTP/',
  'Invalid HTTP version': 'unknown HTTP version',
  'Content-Length can\'t be present with Transfer-Encoding': 'both Content-Length and Transfer-Encoding',
  'Duplicate Content-Length': 'two different Content-Length headers',
  'Invalid character in Content-Length': 'invalid Content-Length',
};

/**
 * undici's HTTPParserError: llhttp refused the bytes. undici 7 builds its `code` from a
 * table keyed the other way round, so the code is undefined and only the name and the
 * reason in the message's parentheses say what it was.
 */
function parserError(err: unknown, code: string): RowError {
  const message = (err as { message?: unknown }).message;
  const m = typeof message === 'string' ? /\(([\x20-\x7e]{1,100})\)$/.exec(message) : null;
  const reason = m ? m[1] : null;
  const tag = code ? ` (${code})` : '';
  // The server closed the connection in the middle of a chunked body: like a body
  // shorter than its content-length, a retry may get all of it.
  if (reason === 'Invalid EOF state' || code === 'HPE_INVALID_EOF_STATE') {
    return new ConnectionError(`connection closed before the end of the response body (chunked body not terminated)${tag}`, { cause: err });
  }
  const what = reason === null ? null : (PARSER_REASONS[reason] ?? reason.charAt(0).toLowerCase() + reason.slice(1));
  return new MalformedResponseError(`malformed HTTP response${what ? `: ${what}` : ''}${tag}`, { cause: err });
}

let maxHeaderSize = 0;
function headerLimit(): number {
  return (maxHeaderSize ||= process.getBuiltinModule('node:http').maxHeaderSize);
}

// undici's argument errors describe the argument ("invalid header value"), never echo it.
function safeMessage(e: { message?: unknown } | null): string {
  return typeof e?.message === 'string' ? e.message.slice(0, 200) : 'invalid request';
}
