// S3Storage against a real S3-compatible server (moto's standalone server, started per file).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startS3Server, type S3TestServer } from '../../testkit/s3-server.js';
import { DeltaError } from '../errors.js';
import { openStorage } from './open.js';
import { pruneS3Cache, S3_CACHE_MAX_AGE_MS, S3Storage, type S3StorageOptions } from './s3.js';
import { s3SettingsFromEnv } from './s3-settings.js';

let s3: S3TestServer;
let tmp: string;

before(async () => {
  s3 = await startS3Server();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'restlake-s3-test-'));
});
after(async () => {
  await s3?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

let tables = 0;
function storage(opts: S3StorageOptions & { endpoint?: string } = {}, prefix = `t${++tables}/table`): S3Storage {
  return new S3Storage(`s3://${s3.bucket}/${prefix}`, {
    ...opts,
    settings: {
      endpoint: opts.endpoint ?? s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      cacheDir: path.join(tmp, 'cache'),
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      ...opts.settings,
    },
  });
}

describe('S3Storage basic objects', () => {
  test('write, read, stat, delete; absent objects read as null', async () => {
    const st = storage();
    assert.equal(await st.read('_delta_log/00000000000000000000.json'), null);
    assert.equal(await st.stat('x/y.parquet'), null);
    const data = Buffer.from('{"add":{}}\n');
    const before = Date.now();
    await st.write('part-0.parquet', data);
    assert.deepEqual(await st.read('part-0.parquet'), data);
    const info = await st.stat('part-0.parquet');
    assert.equal(info?.size, data.length);
    // S3 keeps second precision; the object is from this test, not from another epoch
    assert.ok(Math.abs(info!.modificationTime - before) < 60_000, `modificationTime ${info?.modificationTime}`);
    await st.write('part-0.parquet', Buffer.from('v2'));
    assert.equal((await st.read('part-0.parquet'))?.toString(), 'v2');
    await st.delete('part-0.parquet');
    assert.equal(await st.read('part-0.parquet'), null);
    await st.delete('part-0.parquet'); // deleting an absent object is fine
  });

  test('keys are the table prefix plus the relative path, characters kept as they are', async () => {
    const st = storage({}, 'lake/events');
    await st.write('region=eu%3Awest/part 1.parquet', Buffer.from('x'));
    const c = s3.client();
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const r = await c.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'lake/events/' }));
    assert.deepEqual(r.Contents?.map((o) => o.Key), ['lake/events/region=eu%3Awest/part 1.parquet']);
    assert.equal(st.root, `s3://${s3.bucket}/lake/events`);
  });

  test('paths that leave the root and malformed roots are refused', async () => {
    const st = storage();
    await assert.rejects(st.read('../other/x'), (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_INVALID_ARGUMENT');
    await assert.rejects(st.write('a/./b', Buffer.from('')), /bad path/);
    assert.throws(() => new S3Storage('s3:///nobucket'), /not an S3 table location/);
    assert.throws(() => new S3Storage('/local/path'), /not an S3 table location/);
  });

  test('a missing bucket is an error naming it, not an absent file', async () => {
    const st = new S3Storage('s3://no-such-bucket-restlake/t', {
      settings: {
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      },
    });
    await assert.rejects(st.read('_delta_log/00000000000000000000.json'), (e: unknown) => {
      assert.ok(e instanceof DeltaError);
      assert.equal(e.code, 'DELTA_STORAGE');
      assert.match(e.message, /s3:\/\/no-such-bucket-restlake\/t\/_delta_log/);
      assert.match(e.message, /NoSuchBucket/);
      assert.doesNotMatch(e.message, new RegExp(s3.secretAccessKey));
      return true;
    });
  });
});

describe('S3Storage.putIfAbsent', () => {
  test('creates once; the second call returns false and leaves the first object', async () => {
    const st = storage();
    assert.equal(await st.putIfAbsent('_delta_log/00000000000000000001.json', Buffer.from('first')), true);
    assert.equal(await st.putIfAbsent('_delta_log/00000000000000000001.json', Buffer.from('second')), false);
    assert.equal((await st.read('_delta_log/00000000000000000001.json'))?.toString(), 'first');
  });

  test('of 16 concurrent writers of one key from separate clients, exactly one wins', async () => {
    const prefix = `race${++tables}`;
    const writers = Array.from({ length: 16 }, (_, i) => ({ st: storage({}, prefix), body: Buffer.from(`writer-${i}`) }));
    const won = await Promise.all(writers.map((w) => w.st.putIfAbsent('_delta_log/00000000000000000007.json', w.body)));
    assert.equal(won.filter(Boolean).length, 1, `winners: ${won}`);
    const stored = await writers[0].st.read('_delta_log/00000000000000000007.json');
    assert.deepEqual(stored, writers[won.indexOf(true)].body);
  });

  test('a PUT that reached S3 but whose answer was lost still counts as won after the SDK retries', async () => {
    // A proxy forwards every request but drops the connection instead of answering the first conditional
    // PUT: the object exists, the client saw a network error, and its retry gets 412.
    let dropped = 0;
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const up = http.request(new URL(req.url!, s3.endpoint), { method: req.method, headers: req.headers }, (ur) => {
          const body: Buffer[] = [];
          ur.on('data', (c: Buffer) => body.push(c));
          ur.on('end', () => {
            if (req.method === 'PUT' && req.headers['if-none-match'] === '*' && dropped === 0) {
              dropped++;
              req.socket.destroy();
              return;
            }
            res.writeHead(ur.statusCode!, ur.headers);
            res.end(Buffer.concat(body));
          });
        });
        up.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const st = storage({ endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
      assert.equal(await st.putIfAbsent('_delta_log/00000000000000000003.json', Buffer.from('mine')), true);
      assert.equal(dropped, 1);
      // someone else's bytes under the key: a lost race, even after a retry
      assert.equal(await st.putIfAbsent('_delta_log/00000000000000000003.json', Buffer.from('other')), false);
    } finally {
      proxy.close();
      proxy.closeAllConnections();
    }
  });
});

describe('S3Storage.list', () => {
  test('direct children or the whole subtree, sorted, across pages, never a sibling prefix', async () => {
    const st = storage({ listPageSize: 2 }, 'lists/tbl');
    const sibling = storage({}, 'lists/tbl2');
    await sibling.write('_delta_log/00000000000000000000.json', Buffer.from('{}'));
    const names = ['_delta_log/00000000000000000002.json', '_delta_log/00000000000000000000.json', '_delta_log/00000000000000000001.json',
      '_delta_log/_last_checkpoint', 'a=1/part-b.parquet', 'a=1/part-a.parquet', 'top.parquet'];
    for (const n of names) await st.write(n, Buffer.from(n));
    const log = await st.list('_delta_log');
    assert.deepEqual(log.map((f) => f.path), [
      '_delta_log/00000000000000000000.json', '_delta_log/00000000000000000001.json',
      '_delta_log/00000000000000000002.json', '_delta_log/_last_checkpoint',
    ]);
    assert.equal(log[0].size, '_delta_log/00000000000000000000.json'.length);
    assert.ok(log.every((f) => f.modificationTime > 0));
    assert.deepEqual((await st.list('')).map((f) => f.path), ['top.parquet']);
    assert.deepEqual((await st.list('/_delta_log/')).length, 4);
    assert.deepEqual((await st.list('', { recursive: true })).map((f) => f.path), [...names].sort());
    assert.deepEqual(await st.list('nothing-here'), []);
  });

  test('startAfter starts the listing on the server (S3 StartAfter); limit stops it early', async () => {
    const client = s3.client();
    const lists: { StartAfter?: string; MaxKeys?: number }[] = [];
    const send = client.send.bind(client);
    client.send = ((cmd: { constructor: { name: string }; input: { StartAfter?: string; MaxKeys?: number } }, ...rest: unknown[]) => {
      if (cmd.constructor.name === 'ListObjectsV2Command') lists.push({ StartAfter: cmd.input.StartAfter, MaxKeys: cmd.input.MaxKeys });
      return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
    }) as typeof client.send;
    const st = storage({ listPageSize: 2, client }, 'lists/from');
    const v = (n: number, ext: string): string => `_delta_log/${String(n).padStart(20, '0')}.${ext}`;
    const names = [0, 1, 2, 3, 4, 5].flatMap((n) => [v(n, 'json'), v(n, 'crc')]).concat([v(3, 'checkpoint.parquet'), '_delta_log/_last_checkpoint']);
    for (const n of names) await st.write(n, Buffer.from(n));
    const from3 = await st.list('_delta_log', { startAfter: '_delta_log/00000000000000000003' });
    assert.deepEqual(from3.map((f) => f.path), [v(3, 'checkpoint.parquet'), v(3, 'crc'), v(3, 'json'), v(4, 'crc'), v(4, 'json'), v(5, 'crc'), v(5, 'json'), '_delta_log/_last_checkpoint']);
    // 8 keys in pages of 2: 4 requests (one more to see the end at most), not the 7 a full listing takes
    assert.equal(lists[0].StartAfter, 'lists/from/_delta_log/00000000000000000003');
    assert.ok(lists.length <= 5, `${lists.length} ListObjectsV2 calls`);
    lists.length = 0;
    const head = await st.list('_delta_log', { limit: 3 });
    assert.deepEqual(head.map((f) => f.path), [v(0, 'crc'), v(0, 'json'), v(1, 'crc')]);
    assert.equal(lists.length, 2, 'two pages of 2 hold the first 3 keys');
  });
});

describe('S3Storage.localPath and uploadLocal', () => {
  test('downloads once per object version, with the extension kept', async () => {
    const st = storage();
    const v1 = randomBytes(300_000);
    await st.write('part-1.parquet', v1);
    const [p1, p1b] = await Promise.all([st.localPath('part-1.parquet'), st.localPath('part-1.parquet')]);
    assert.equal(p1, p1b);
    assert.equal(path.extname(p1), '.parquet');
    assert.deepEqual(await fs.readFile(p1), v1);
    const mtime = (await fs.stat(p1)).mtimeMs;
    assert.equal(await st.localPath('part-1.parquet'), p1);
    assert.equal((await fs.stat(p1)).mtimeMs, mtime, 'a cached copy is not downloaded again');
    const v2 = randomBytes(1000);
    await st.write('part-1.parquet', v2);
    const p2 = await st.localPath('part-1.parquet');
    assert.notEqual(p2, p1, 'a replaced object gets a new cached copy');
    assert.deepEqual(await fs.readFile(p2), v2);
    await assert.rejects(st.localPath('absent.parquet'), /does not exist/);
  });

  test('uploadLocal moves a small file with one PUT and a large one in parts', async () => {
    const st = storage({ multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    const small = path.join(tmp, 'small.parquet');
    await fs.writeFile(small, 'small');
    await st.uploadLocal(small, 'data/small.parquet');
    assert.equal((await st.read('data/small.parquet'))?.toString(), 'small');
    assert.equal(existsSync(small), false, 'the local file is moved, not copied');

    const bigData = randomBytes(11 * 1024 * 1024 + 17);
    const big = path.join(tmp, 'big.parquet');
    await fs.writeFile(big, bigData);
    await st.uploadLocal(big, 'data/big.parquet');
    assert.ok((await st.read('data/big.parquet'))!.equals(bigData));
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const head = await s3.client().send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${st.prefix}/data/big.parquet` }));
    assert.match(head.ETag ?? '', /-3"?$/, `a 3-part multipart ETag, got ${head.ETag}`);
    assert.equal(existsSync(big), false);
  });
});

describe('the S3 object cache is private to the user', () => {
  const uid = process.getuid!();

  test('the default cache is <tmpdir>/restlake-s3-cache-<uid>; it is created 0700 and its copies 0600', async () => {
    assert.equal(s3SettingsFromEnv({}).cacheDir, path.join(os.tmpdir(), `restlake-s3-cache-${uid}`));
    const cacheDir = path.join(tmp, 'fresh-cache', 'c');
    const st = storage({ settings: { cacheDir } });
    await st.write('part-0.parquet', Buffer.from('response bodies'));
    const umask = process.umask(0o022);
    try {
      const file = await st.localPath('part-0.parquet');
      assert.equal(path.dirname(file), cacheDir);
      assert.equal((await fs.stat(cacheDir)).mode & 0o777, 0o700);
      assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    } finally {
      process.umask(umask);
    }
  });

  // A directory someone else made (or made writable) is never used, and nothing in it is read.
  const refused: { title: string; make(dir: string): Promise<void>; why: string; rootOnly?: boolean }[] = [
    { title: 'world-writable', make: (d) => fs.mkdir(d).then(() => fs.chmod(d, 0o777)), why: 'is writable by others (mode 0777)' },
    { title: 'group-writable', make: (d) => fs.mkdir(d).then(() => fs.chmod(d, 0o770)), why: 'is writable by its group (mode 0770)' },
    { title: 'a symlink to a directory', make: (d) => fs.mkdir(d + '-target').then(() => fs.symlink(d + '-target', d)), why: 'is a symbolic link, not a directory' },
    { title: 'a file', make: (d) => fs.writeFile(d, 'x'), why: 'cannot be created (EEXIST)' },
    {
      title: "another user's (pre-created 0755)",
      make: (d) => fs.mkdir(d, { mode: 0o755 }).then(() => fs.chown(d, 65534, 65534)),
      why: `is owned by uid 65534, not by us (uid ${uid})`,
      rootOnly: true,
    },
  ];
  for (const [i, c] of refused.entries()) {
    test(`a cache directory that is ${c.title} is refused, planted copies unread`, { skip: c.rootOnly && uid !== 0 ? 'needs root to chown' : false }, async () => {
      const cacheDir = path.join(tmp, `planted-${i}`);
      await c.make(cacheDir);
      const st = storage({ settings: { cacheDir } });
      const data = Buffer.from('the real object');
      await st.write('part-0.parquet', data);
      const err = await st.localPath('part-0.parquet').then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof DeltaError);
      assert.equal(
        err.message,
        `the S3 object cache directory ${cacheDir} ${c.why}; it must be private to this user: remove it, or set RESTLAKE_S3_CACHE_DIR to a directory of your own`,
      );
    });
  }

  test('copies unused for a week and downloads left unfinished for a day are pruned when a process first uses the cache', async () => {
    const cacheDir = path.join(tmp, 'prune-cache');
    await fs.mkdir(cacheDir, { mode: 0o700 });
    const now = Date.now();
    const day = 24 * 3600_000;
    const files: [name: string, ageMs: number, kept: boolean][] = [
      ['a'.repeat(40) + '.parquet', S3_CACHE_MAX_AGE_MS + day, false],
      ['b'.repeat(40) + '.parquet', S3_CACHE_MAX_AGE_MS - day, true],
      ['c'.repeat(40), S3_CACHE_MAX_AGE_MS + day, false],
      ['d'.repeat(40) + '.parquet.0f0e.part', 2 * day, false],
      ['e'.repeat(40) + '.parquet.0f0e.part', 3600_000, true],
      ['notes.txt', S3_CACHE_MAX_AGE_MS + day, true],
    ];
    for (const [name, age] of files) {
      await fs.writeFile(path.join(cacheDir, name), 'x');
      await fs.utimes(path.join(cacheDir, name), new Date(now - age), new Date(now - age));
    }
    const st = storage({ settings: { cacheDir } });
    await st.write('part-0.parquet', Buffer.from('fresh'));
    const fresh = path.basename(await st.localPath('part-0.parquet'));
    assert.deepEqual((await fs.readdir(cacheDir)).sort(), [...files.filter((f) => f[2]).map((f) => f[0]), fresh].sort());
    assert.equal(await pruneS3Cache(cacheDir, now), 0, 'pruning twice removes nothing more');
  });

  test('a cache hit marks the copy used, so the pruning keeps copies in use', async () => {
    const cacheDir = path.join(tmp, 'touch-cache');
    const st = storage({ settings: { cacheDir } });
    await st.write('part-0.parquet', Buffer.from('in use'));
    const file = await st.localPath('part-0.parquet');
    const old = new Date(Date.now() - S3_CACHE_MAX_AGE_MS - 3600_000);
    await fs.utimes(file, old, old);
    assert.equal(await st.localPath('part-0.parquet'), file);
    assert.ok(Date.now() - (await fs.stat(file)).mtimeMs < 60_000, 'the hit refreshed the mtime');
    assert.equal(await pruneS3Cache(cacheDir), 0);
  });
});

describe('S3 settings and scheme registration', () => {
  test('endpoint, region and path-style come from the standard variables', () => {
    const base = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9000', AWS_REGION: 'eu-west-1' };
    const s = s3SettingsFromEnv(base);
    assert.equal(s.endpoint, 'http://127.0.0.1:9000');
    assert.equal(s.region, 'eu-west-1');
    assert.equal(s.forcePathStyle, true, 'a custom endpoint means path-style unless told otherwise');
    assert.equal(s3SettingsFromEnv({ ...base, AWS_ENDPOINT_URL_S3: 'https://s3.example.test' }).endpoint, 'https://s3.example.test');
    assert.equal(s3SettingsFromEnv({ ...base, RESTLAKE_S3_PATH_STYLE: 'false' }).forcePathStyle, false);
    assert.equal(s3SettingsFromEnv({ RESTLAKE_S3_PATH_STYLE: 'true' }).forcePathStyle, true);
    const aws = s3SettingsFromEnv({ AWS_DEFAULT_REGION: 'us-west-2' });
    assert.equal(aws.endpoint, undefined);
    assert.equal(aws.forcePathStyle, false);
    assert.equal(aws.region, 'us-west-2');
    assert.equal(s3SettingsFromEnv({ RESTLAKE_S3_CACHE_DIR: '/var/cache/x' }).cacheDir, '/var/cache/x');
    assert.throws(() => s3SettingsFromEnv({ RESTLAKE_S3_PATH_STYLE: 'maybe' }), /RESTLAKE_S3_PATH_STYLE/);
    assert.throws(() => s3SettingsFromEnv({ AWS_ENDPOINT_URL: 'localhost:9000' }), /http\(s\) URL/);
  });

  test('openStorage("s3://...") uses the environment and the default credential chain', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, s3.env, { RESTLAKE_S3_CACHE_DIR: path.join(tmp, 'env-cache') });
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION; // no region anywhere: falls back to us-east-1
      process.env.AWS_CONFIG_FILE = path.join(tmp, 'no-aws-config');
      process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(tmp, 'no-aws-credentials');
      const st = openStorage(`s3a://${s3.bucket}/env/table/`);
      assert.equal(st.root, `s3a://${s3.bucket}/env/table`);
      assert.equal(await st.putIfAbsent('_delta_log/00000000000000000000.json', Buffer.from('{}')), true);
      assert.equal(await st.putIfAbsent('_delta_log/00000000000000000000.json', Buffer.from('{}')), false);
      assert.deepEqual((await st.list('_delta_log')).map((f) => f.path), ['_delta_log/00000000000000000000.json']);
      assert.match(await st.localPath('_delta_log/00000000000000000000.json'), /env-cache/);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
