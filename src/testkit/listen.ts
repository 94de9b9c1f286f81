// Starting a test server: listen on loopback (port 0 unless told), and track its
// sockets so close() ends keep-alive connections at once instead of waiting on them.
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Listening {
  /** http://host:port, IPv6 hosts bracketed. */
  url: string;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

export async function listenTracked(server: Server, opts: { host?: string; port?: number } = {}): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
