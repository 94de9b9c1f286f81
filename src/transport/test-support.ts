// Helpers for tests of the request path: real servers on loopback port 0 and
// throw-away certificates made with the openssl CLI. Not used at run time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { TransportConfig } from '../config/types.js';
import { RowError } from '../errors.js';

export interface Listening {
  port: number;
  /** Base URL without trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Sockets accepted so far (keep-alive checks). */
  connections(): number;
  close(): Promise<void>;
}

export async function listen(server: HttpServer | HttpsServer, scheme: 'http' | 'https' = 'http'): Promise<Listening> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  if (scheme === 'https') server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    connections: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  return listen(createServer(handler));
}

/** Read a request body fully. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A port with nothing listening on it (bound, then released). */
export async function freePort(): Promise<number> {
  const l = await httpServer(() => {});
  await l.close();
  return l.port;
}

export function transportConfig(over: Partial<TransportConfig> = {}): TransportConfig {
  return {
    timeout_ms: 5000,
    connect_timeout_ms: 2000,
    headers_timeout_ms: 5000,
    body_timeout_ms: 5000,
    connections: 4,
    max_response_bytes: 1024 * 1024,
    tls: { verify: true, ca_file: null, cert_file: null, key_file: null },
    ...over,
  };
}

export interface TestCerts {
  dir: string;
  caCert: string;       // path
  serverCert: string;   // path, signed by the CA, SAN 127.0.0.1 + localhost
  serverKey: string;
  clientCert: string;   // path, signed by the CA (mTLS)
  clientKey: string;
  selfCert: string;     // path, self-signed server cert, SAN 127.0.0.1
  selfKey: string;
  cleanup(): void;
}

/** A small CA, a server and a client cert signed by it, and a self-signed cert (EC keys: fast). */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'restlake-certs-'));
  const p = (n: string) => join(dir, n);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=restlake test CA');
  for (const who of ['server', 'client']) {
    ossl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=restlake test ${who}`);
    ossl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '2', '-extfile', `${who}.ext`);
  }
  ossl('req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.crt', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1');
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    selfCert: p('self.crt'),
    selfKey: p('self.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The RowError a request fails with (fails the test when it succeeds or throws something else). */
export async function failure(p: Promise<unknown>): Promise<RowError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RowError, `expected a RowError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the request to fail');
}
