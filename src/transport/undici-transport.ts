// The transport: one undici Agent per worker, which keeps one keep-alive Pool per
// origin with `connections` sockets and no pipelining (a slow response must not hold
// up the requests queued behind it on the same socket). Each attempt is dispatched
// with a small handler object instead of undici's `request()`: no stream, no promise
// chain, the body is collected as Buffers and cut at max_response_bytes.
//
// Timeouts: connect, headers and body (between chunks) are undici's; the total
// per-attempt deadline (`timeout_ms`, which includes waiting for a free socket) is
// kept here, in one DeadlineQueue for all attempts. Over-cap bodies: reading stops at
// the cap, the rest is aborted (that socket is closed), and the response comes back
// with `truncated: true` carrying the first max_response_bytes; the chain turns that
// into error_class body_too_large while the sink keeps the truncated body (DESIGN §2
// "truncated and flagged" and issue 2 "a failed row with body_too_large", both).
// A gzip, deflate or br body is decompressed as it arrives (decode.ts) and the cap
// applies to what comes out; a body without content-encoding takes none of that path.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Socket } from 'node:net';
import type { Transform } from 'node:stream';
import type { Dispatcher, buildConnector as Connector } from 'undici';
import type { TransportConfig } from '../config/types.js';
import { RestlakeError, RowError } from '../errors.js';
import type { HttpRequest } from '../request/types.js';
import { classifyTransportError } from './classify.js';
import { DeadlineQueue, type Timed } from './deadlines.js';
import { codingOf, createDecoder, isIncomplete, type Coding } from './decode.js';
import { AbortedError, BodyDecodeError, TimeoutError } from './errors.js';
import { Agent, buildConnector } from './undici-agent.js';
import { originOf, pathOf } from './origin.js';
import type { HttpResponse, Transport } from './types.js';

// Chunk coalescing (Attempt.store): views for the first COPY_AFTER chunks of a body,
// then chunks under COPY_BELOW bytes are copied into blocks of up to TAIL_BLOCK bytes.
const COPY_AFTER = 32;
const COPY_BELOW = 8192;
const TAIL_BLOCK = 64 * 1024;
/** Compressed input read past max_response_bytes before the rest is left unread (Attempt.decode). */
const COMPRESSED_SLACK = 1 << 20;

export interface TransportOptions {
  /** request.idempotency_header: a request carrying it may be replayed like a GET (see Attempt.onResponseError). */
  idempotencyHeader?: string | null;
}

export function createTransport(config: TransportConfig, options: TransportOptions = {}): Transport {
  return new UndiciTransport(config, options);
}

// Methods that mean the same done twice as once (RFC 9110 §9.2.2; TRACE is never sent).
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

// On a socket's error (undici's "other side closed" reaches the socket as one too): whether
// the socket had read anything since it connected, i.e. it was reused after a response.
const REUSED = Symbol('restlake.reusedSocket');
const READ_AT_CONNECT = Symbol('restlake.readAtConnect');
type TaggedSocket = Socket & { [READ_AT_CONNECT]?: number };

function tagSocketError(this: TaggedSocket, err: unknown): void {
  if (err !== null && typeof err === 'object') (err as { [REUSED]?: boolean })[REUSED] = this.bytesRead > (this[READ_AT_CONNECT] ?? 0);
}

/**
 * undici's connector (TCP/TLS with the connect timeout and TLS options) with one listener
 * per socket that tags the error that ends it; once per connection, nothing per request.
 */
function connector(config: TransportConfig): Connector.connector {
  const connect = buildConnector({ timeout: config.connect_timeout_ms, ...tlsOptions(config) });
  return (opts, callback) =>
    connect(opts, (...args) => {
      const socket = args[1];
      if (socket) {
        // TLS handshake bytes are not a response.
        (socket as TaggedSocket)[READ_AT_CONNECT] = socket.bytesRead;
        socket.prependListener('error', tagSocketError);
      }
      (callback as (...a: typeof args) => void)(...args);
    });
}

// Header bytes reach us as latin1 text (one character per byte), but servers send
// UTF-8 ("café" arrived as "cafÃ©"). A value with bytes above 0x7F is read as UTF-8
// when it is valid UTF-8, and kept as latin1 otherwise.
const HIGH_BYTE = /[\x80-\xff]/;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function utf8HeaderText(latin1: string): string {
  try {
    return STRICT_UTF8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    return latin1;
  }
}

class UndiciTransport implements Transport {
  private readonly agent: Agent;
  private readonly totalTimeoutMessage: string;
  readonly deadlines: DeadlineQueue;
  // Attempts in flight per caller signal, as an intrusive doubly linked list through the
  // attempts themselves. Usually every attempt shares the worker's one signal: one
  // 'abort' listener per signal, O(1) to add and remove, where a listener per attempt
  // costs O(in-flight) to remove from an EventTarget. Not a Set: a long-lived Set that
  // every attempt enters and leaves made V8 promote each row's request objects to the
  // old generation (~2.7 KB a row, 10x the promotion without it) and cost ~10% of a
  // worker's CPU plus old-space growth (measured with --trace-gc-nvp, bench/README.md).
  private readonly watching = new WeakMap<AbortSignal, { head: Attempt | null }>();

  private readonly idempotencyHeader: string | null;
  /** Made on the first replay: its requests go on new connections, closed after them. */
  private replayAgent: Agent | null = null;

  constructor(
    readonly config: TransportConfig,
    options: TransportOptions,
  ) {
    this.agent = this.newAgent();
    this.idempotencyHeader = options.idempotencyHeader ? options.idempotencyHeader.toLowerCase() : null;
    this.totalTimeoutMessage = `request did not complete within the timeout of ${config.timeout_ms} ms`;
    this.deadlines = new DeadlineQueue(config.timeout_ms);
  }

  send(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const attempt = new Attempt(this, request, resolve, reject, signal);
      if (signal?.aborted) return attempt.fail(new AbortedError());
      const origin = originOf(request.url);
      try {
        this.agent.dispatch(
          { origin, path: pathOf(request.url, origin), method: request.method, headers: request.headers, body: request.body },
          attempt,
        );
      } catch (err) {
        attempt.fail(classifyTransportError(err, this.config));
      }
    });
  }

  private newAgent(): Agent {
    const config = this.config;
    return new Agent({
      connections: config.connections,
      pipelining: 1,
      headersTimeout: config.headers_timeout_ms,
      bodyTimeout: config.body_timeout_ms,
      connect: connector(config),
    });
  }

  /**
   * Whether an attempt that failed with `err` before any response byte may be sent once
   * more: its socket was reused (a keep-alive connection the server closed as the request
   * went out: the server never answered it, and most likely never saw it) and sending it
   * twice does no harm (an idempotent method, or the idempotency header).
   */
  mayReplay(request: HttpRequest, err: Error): boolean {
    if ((err as { [REUSED]?: boolean })[REUSED] !== true) return false;
    const code = (err as { code?: unknown }).code;
    if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET' && code !== 'EPIPE') return false;
    if (code === 'UND_ERR_SOCKET' && err.message === 'bad response') return false;
    return IDEMPOTENT.has(request.method) || (this.idempotencyHeader !== null && request.headers[this.idempotencyHeader] !== undefined);
  }

  /** Sends an attempt's request again, on a new connection (`reset`: closed after it, never reused). */
  replay(request: HttpRequest, attempt: Attempt): void {
    const agent = (this.replayAgent ??= this.newAgent());
    const origin = originOf(request.url);
    try {
      agent.dispatch(
        { origin, path: pathOf(request.url, origin), method: request.method, headers: request.headers, body: request.body, reset: true },
        attempt,
      );
    } catch (err) {
      attempt.fail(classifyTransportError(err, this.config));
    }
  }

  watch(signal: AbortSignal, attempt: Attempt): void {
    let list = this.watching.get(signal);
    if (!list) {
      const attempts: { head: Attempt | null } = (list = { head: null });
      this.watching.set(signal, list);
      signal.addEventListener(
        'abort',
        () => {
          // fail() unlinks each attempt, so the head moves on.
          for (let a = attempts.head; a !== null; a = attempts.head) a.fail(new AbortedError());
        },
        { once: true },
      );
    }
    attempt.nextWatched = list.head;
    if (list.head) list.head.prevWatched = attempt;
    list.head = attempt;
  }

  unwatch(signal: AbortSignal, attempt: Attempt): void {
    const list = this.watching.get(signal);
    if (!list) return;
    if (attempt.prevWatched) attempt.prevWatched.nextWatched = attempt.nextWatched;
    else if (list.head === attempt) list.head = attempt.nextWatched;
    if (attempt.nextWatched) attempt.nextWatched.prevWatched = attempt.prevWatched;
    attempt.prevWatched = null;
    attempt.nextWatched = null;
  }

  timeoutError(): RowError {
    return new TimeoutError(this.totalTimeoutMessage);
  }

  async close(): Promise<void> {
    await Promise.all([this.agent.close(), this.replayAgent?.close()]);
  }
}

/** One attempt's state, and undici's dispatch handler for it. */
class Attempt implements Dispatcher.DispatchHandler, Timed {
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  /** Neighbours in the transport's list of attempts watching the same signal. */
  prevWatched: Attempt | null = null;
  nextWatched: Attempt | null = null;
  private abortReason: Error | null = null;
  /** The total deadline: set and linked by the transport's DeadlineQueue. */
  deadline = 0;
  prevDue: Timed | null = null;
  nextDue: Timed | null = null;
  private readonly startedAt = performance.now();
  private ttfbMs = 0;
  private status = 0;
  private headers: Record<string, string> = {};
  private chunks: Buffer[] = [];
  private bytes = 0;
  /**
   * Where small chunks are copied once a body has many (see store()): `tail` is a block
   * being filled, `tailStart` where its part not yet in `chunks` begins, `tailEnd` where
   * its free room begins.
   */
  private tail: Buffer | null = null;
  private tailStart = 0;
  private tailEnd = 0;
  /** The content-encoding being undone, and its decompressor once the body starts. */
  private coding: Coding | null = null;
  private decoder: Transform | null = null;

  /** Compressed bytes given to the decompressor, and whether the rest was left unread (see decode()). */
  private compressedBytes = 0;
  private inputCut = false;
  /** The request was sent again after its reused socket closed (see onResponseError). */
  private replayed = false;

  constructor(
    private readonly transport: UndiciTransport,
    private readonly request: HttpRequest,
    private readonly resolve: (r: HttpResponse) => void,
    private readonly reject: (e: RowError) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    // The deadline counts from the attempt's own start (the same clock): one clock read.
    transport.deadlines.add(this, this.startedAt);
    if (signal && !signal.aborted) transport.watch(signal, this);
  }

  expire(): void {
    this.fail(this.transport.timeoutError());
  }

  // ── undici handler ──────────────────────────────────────────────────
  onRequestStart(controller: Dispatcher.DispatchController): void {
    // The deadline may have passed while the request waited for a socket.
    if (this.settled) controller.abort(this.abortReason ?? new Error('attempt already settled'));
    else this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.ttfbMs = performance.now() - this.startedAt;
    this.status = statusCode;
    // parseHeaders gave us a fresh object with lower-case keys; join repeats in place.
    for (const k in headers) {
      const v = headers[k];
      if (typeof v === 'string') {
        if (HIGH_BYTE.test(v)) headers[k] = utf8HeaderText(v);
      } else {
        const text = Array.isArray(v) ? v.join(', ') : '';
        headers[k] = HIGH_BYTE.test(text) ? utf8HeaderText(text) : text;
      }
    }
    this.headers = headers as Record<string, string>;
    this.coding = codingOf(this.headers['content-encoding']);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.coding !== null) this.decode(controller, chunk);
    else this.keep(controller, chunk);
  }

  onResponseEnd(): void {
    // A compressed body is complete when its decompressor has handed out the rest.
    if (this.decoder !== null) this.decoder.end();
    else this.succeed(false);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    // Our own abort once enough compressed input is in: the decompressor settles the attempt.
    if (this.inputCut) return;
    // A keep-alive socket the server closed just as the request went out, before any
    // byte of a response: sent once more on a new connection, within the same attempt
    // (and deadline), so it counts as no retry. Only when sending twice is harmless.
    if (this.status === 0 && !this.replayed && !this.settled && this.transport.mayReplay(this.request, err)) {
      this.replayed = true;
      this.controller = null;
      this.transport.replay(this.request, this);
      return;
    }
    this.fail(classifyTransportError(err, this.transport.config));
  }

  // ── the body ────────────────────────────────────────────────────────
  /** Keeps a chunk of the (decompressed) body; at max_response_bytes the rest is cut off. */
  private keep(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const room = this.transport.config.max_response_bytes - this.bytes;
    if (chunk.length <= room) {
      this.store(chunk);
      this.bytes += chunk.length;
      return;
    }
    if (room > 0) this.store(chunk.subarray(0, room));
    this.bytes += room;
    this.succeed(true);
    controller.abort(new Error('response body over max_response_bytes'));
  }

  /**
   * A chunk is a view into undici's socket read buffer. Kept as such, a body sent as
   * millions of tiny HTTP chunks (1-byte chunks: an 8 MB body was 8M Buffer objects,
   * ~1.1 GB and 15 s of CPU for one response) costs an object per chunk and pins every
   * read buffer. The first COPY_AFTER chunks are kept as views, as before (a normal
   * body arrives in a few); after that, a chunk under COPY_BELOW bytes is copied into
   * block (up to TAIL_BLOCK bytes), so memory stays about the body's size and the cost
   * per chunk is a copy.
   */
  private store(chunk: Buffer): void {
    if (chunk.length >= COPY_BELOW || (this.tail === null && this.chunks.length < COPY_AFTER)) {
      if (this.tail !== null) this.sealTail();
      this.chunks.push(chunk);
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      let tail = this.tail;
      if (tail === null || this.tailEnd === tail.length) {
        this.sealTail();
        // Blocks grow with what was copied (4 KiB, 8 KiB, ... TAIL_BLOCK): a body of a few
        // dozen small chunks does not cost a 64 KiB allocation.
        tail = this.tail = Buffer.allocUnsafe(Math.min(TAIL_BLOCK, Math.max(4096, this.bytes)));
        this.tailStart = this.tailEnd = 0;
      }
      const n = Math.min(chunk.length - at, tail.length - this.tailEnd);
      chunk.copy(tail, this.tailEnd, at, at + n);
      this.tailEnd += n;
      at += n;
    }
  }

  /** Moves the filled part of the tail block into `chunks` (the block keeps its free room). */
  private sealTail(): void {
    if (this.tail !== null && this.tailEnd > this.tailStart) {
      this.chunks.push(this.tail.subarray(this.tailStart, this.tailEnd));
      this.tailStart = this.tailEnd;
    }
  }

  /** Feeds a compressed chunk to the decompressor, made on the first one; its output goes to keep(). */
  private decode(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    let d = this.decoder;
    if (d === null) {
      const coding = this.coding!;
      d = this.decoder = createDecoder(coding, chunk);
      d.on('data', (out: Buffer) => {
        if (!this.settled) this.keep(controller, out);
      });
      // Input cut here (below) ends the stream early, on purpose: what came out is the body, cut.
      d.on('end', () => this.succeed(this.inputCut));
      d.on('error', (err) => {
        if (this.inputCut && isIncomplete(err)) this.succeed(true);
        else this.fail(new BodyDecodeError(coding, { cause: err, incomplete: isIncomplete(err) }));
      });
    }
    // No backpressure on the socket: undici 7 throws an AssertionError that ends the
    // process when the connection of a paused response closes (its socket 'end' handler,
    // nodejs/undici#5360), which a compressed body with Connection: close did whenever
    // zlib fell behind. The input is bounded instead: compressed data comes out at least
    // about its own size, so past max_response_bytes + 1 MiB of it the output passes the
    // cap anyway. The rest of the body is not read, and the response is what the input
    // read so far decompresses to, cut at the cap and flagged.
    d.write(chunk);
    this.compressedBytes += chunk.length;
    if (this.compressedBytes > this.transport.config.max_response_bytes + COMPRESSED_SLACK) {
      this.inputCut = true;
      controller.abort(new Error('compressed response body over max_response_bytes'));
      d.end();
    }
  }


  // ── settling ────────────────────────────────────────────────────────
  private finish(): void {
    this.settled = true;
    // Past the cap, timed out or failed: nothing more to decompress (after 'end' a no-op).
    if (this.decoder !== null) this.decoder.destroy();
    this.transport.deadlines.remove(this);
    if (this.signal) this.transport.unwatch(this.signal, this);
  }

  private succeed(truncated: boolean): void {
    if (this.settled) return;
    if (this.tail !== null) {
      this.sealTail();
      this.tail = null;
    }
    const chunks = this.chunks;
    let body: string;
    try {
      body = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, this.bytes).toString('utf8');
    } catch (err) {
      // Out of memory for the copy, or more text than a string can hold: the attempt
      // fails with the reason. It must settle either way (this runs in undici's and
      // zlib's callbacks, where a throw left the attempt pending and killed the worker).
      return this.fail(bodyTextError(this.bytes, err));
    }
    this.finish();
    this.chunks = [];
    this.resolve({
      status: this.status,
      headers: this.headers,
      body,
      truncated,
      ttfb_ms: this.ttfbMs,
      duration_ms: performance.now() - this.startedAt,
      resent: this.replayed,
    });
  }

  fail(error: RowError): void {
    if (this.settled) return;
    this.finish();
    this.abortReason = error;
    this.chunks = [];
    this.tail = null;
    // Stop the request if it is on a socket; if it is still queued, onRequestStart aborts it.
    this.controller?.abort(error);
    if (this.replayed) error.resent = true;
    this.reject(error);
  }
}

/** The error for a body that could not be turned into text (see Attempt.succeed). */
function bodyTextError(bytes: number, err: unknown): RowError {
  const code = (err as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' ? code : err instanceof RangeError ? 'RangeError' : 'error';
  return new RowError('internal', 'RESTLAKE_BODY_TEXT', `response body of ${bytes} bytes could not be decoded as text (${why})`, { cause: err, retryable: false });
}

/** TLS options for undici's connector: verification on unless disabled, extra CA, client cert for mTLS. */
function tlsOptions(config: TransportConfig): { rejectUnauthorized: boolean; ca?: string[]; cert?: Buffer; key?: Buffer } {
  const tls = config.tls;
  const out: { rejectUnauthorized: boolean; ca?: string[]; cert?: Buffer; key?: Buffer } = { rejectUnauthorized: tls.verify };
  // A configured CA is trusted in addition to the system roots, not instead of them.
  if (tls.ca_file) out.ca = [...rootCertificates, readTlsFile(tls.ca_file, 'transport.tls.ca_file').toString('utf8')];
  if (tls.cert_file || tls.key_file) {
    if (!tls.cert_file || !tls.key_file) {
      throw new RestlakeError('RESTLAKE_TLS_CONFIG', 'transport.tls: mTLS needs both cert_file and key_file');
    }
    out.cert = readTlsFile(tls.cert_file, 'transport.tls.cert_file');
    out.key = readTlsFile(tls.key_file, 'transport.tls.key_file');
  }
  return out;
}

function readTlsFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new RestlakeError('RESTLAKE_TLS_CONFIG', `${key}: cannot read ${path} (${code})`, { cause: err });
  }
}
