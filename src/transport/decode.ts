// Compressed response bodies. undici's dispatch hands over the bytes as sent; when a
// request asks for compression (a user-set Accept-Encoding) the server may gzip,
// deflate or brotli the body, and those bytes read as UTF-8 are garbage (and an
// `extract` a parse failure). These codings are undone with node:zlib as the chunks
// arrive, and the transport counts what comes out against max_response_bytes, so a
// small "decompression bomb" stops at the cap like any other large body. Anything
// else (no content-encoding, identity, an unknown or a stacked coding) is kept as sent.
import type * as Zlib from 'node:zlib';
import type { Transform } from 'node:stream';

export type Coding = 'gzip' | 'deflate' | 'br';

const CODINGS = new Map<string, Coding>([
  ['gzip', 'gzip'],
  ['x-gzip', 'gzip'],
  ['deflate', 'deflate'],
  ['br', 'br'],
]);

/** The coding to undo for a content-encoding value, or null to keep the body as sent. */
export function codingOf(contentEncoding: string | undefined): Coding | null {
  if (contentEncoding === undefined) return null;
  return CODINGS.get(contentEncoding.trim().toLowerCase()) ?? null;
}

// Loaded on the first compressed response: most runs get none, and a worker starts
// for every Spark task (requiring node:zlib costs ~2 ms).
let zlib: typeof Zlib | null = null;

/**
 * A decompressor for `coding`. `first` is the body's first chunk: "deflate" is meant to
 * be zlib-wrapped, but some servers send raw deflate; a zlib stream starts with a
 * header whose low nibble is 8 (the deflate method).
 *
 * Every write is flushed (as undici's fetch and cURL do), so output comes out as soon
 * as it is there: a bomb reaches max_response_bytes, and is cut, while its input is
 * still small. The end is strict: the body must hold the whole compressed stream.
 * undici's fetch also flushes at the end (Z_SYNC_FLUSH as finishFlush), which accepts a
 * stream that stops early, for leniency with servers that leave out the gzip trailer;
 * that same setting accepted a body cut off mid-stream (correct HTTP framing, half the
 * gzip) as a complete, successful response holding part of the text. Here the end
 * finishes the stream (Z_FINISH), so an incomplete one is an error ('unexpected end of
 * file', see isIncomplete), a missing trailer included: it holds the checksum, and
 * zlib cannot tell a stream cut just before it from one cut anywhere else. A body cut at
 * max_response_bytes never gets here: the decompressor is destroyed at the cap.
 */
export function createDecoder(coding: Coding, first: Buffer): Transform {
  const z = (zlib ??= process.getBuiltinModule('node:zlib'));
  const flush = { flush: z.constants.Z_SYNC_FLUSH, finishFlush: z.constants.Z_FINISH };
  switch (coding) {
    case 'gzip':
      return z.createGunzip(flush);
    case 'deflate':
      return first.length > 0 && (first[0] & 0x0f) !== 0x08 ? z.createInflateRaw(flush) : z.createInflate(flush);
    case 'br':
      return z.createBrotliDecompress({ flush: z.constants.BROTLI_OPERATION_FLUSH, finishFlush: z.constants.BROTLI_OPERATION_FINISH });
  }
}

/** Whether a decompressor's error says its input ended before the compressed stream did. */
export function isIncomplete(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === 'Z_BUF_ERROR' || e?.message === 'unexpected end of file';
}
