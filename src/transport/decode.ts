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
 * header whose low nibble is 8 (the deflate method). Flushing on every write and at
 * the end (as undici's fetch and cURL do) hands out output as soon as it is there and
 * accepts a stream that ends without its trailer.
 */
export function createDecoder(coding: Coding, first: Buffer): Transform {
  const z = (zlib ??= process.getBuiltinModule('node:zlib'));
  const flush = { flush: z.constants.Z_SYNC_FLUSH, finishFlush: z.constants.Z_SYNC_FLUSH };
  switch (coding) {
    case 'gzip':
      return z.createGunzip(flush);
    case 'deflate':
      return first.length > 0 && (first[0] & 0x0f) !== 0x08 ? z.createInflateRaw(flush) : z.createInflate(flush);
    case 'br':
      return z.createBrotliDecompress({ flush: z.constants.BROTLI_OPERATION_FLUSH, finishFlush: z.constants.BROTLI_OPERATION_FLUSH });
  }
}
