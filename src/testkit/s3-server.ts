// A real S3-compatible server for tests: moto's standalone server (scripts/interop/s3_server.py) on
// loopback, on a port the OS picks, with one fresh bucket. It honours `If-None-Match: *` (412 when the
// key exists), atomically, which restlake's Delta commits on S3 depend on.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { interopScript, venvPython } from './python.js';
import { stopProcess } from './process.js';

export interface S3TestServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The AWS_* / RESTLAKE_* variables that point restlake, boto3, delta-rs and Spark's S3A here. */
  env: Record<string, string>;
  /** A client for this server (path-style, the test credentials). */
  client(): S3Client;
  stop(): Promise<void>;
}

// Test-only credentials: moto accepts any; these exist nowhere else.
const ACCESS_KEY_ID = 'restlake-test-key';
const SECRET_ACCESS_KEY = 'restlake-test-secret';
const REGION = 'us-east-1';
// restlake supports Node 20; keep the SDK's notice about its future Node support out of test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export async function startS3Server(opts: { bucket?: string; startTimeoutMs?: number } = {}): Promise<S3TestServer> {
  const child = spawn(venvPython(), [interopScript('s3_server.py'), '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-8192);
  });
  const port = await waitForReady(child, opts.startTimeoutMs ?? 60_000, () => stderr);
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = opts.bucket ?? `restlake-test-${randomBytes(4).toString('hex')}`;
  const clients: S3Client[] = [];
  const client = (): S3Client => {
    const c = new S3Client({
      endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    });
    clients.push(c);
    return c;
  };
  const stop = async (): Promise<void> => {
    for (const c of clients) c.destroy();
    await stopProcess(child, 5000);
  };
  try {
    await client().send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    endpoint,
    bucket,
    region: REGION,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      RESTLAKE_S3_PATH_STYLE: 'true',
      // delta-rs (object_store) refuses plain http unless told
      AWS_ALLOW_HTTP: 'true',
    },
    client,
    stop,
  };
}

function waitForReady(
  child: ChildProcessByStdio<Writable, Readable, Readable>,
  timeoutMs: number,
  stderr: () => string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`S3 test server did not start: ${why}\n${stderr()}`));
    };
    const timer = setTimeout(() => fail(`no READY line within ${timeoutMs} ms`), timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      const m = /^READY (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        child.removeAllListeners('exit');
        // A test that forgets stop() must not hang its process; the server exits when its stdin closes.
        child.unref();
        for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal}`));
    child.once('error', (e) => fail(e.message));
  });
}
