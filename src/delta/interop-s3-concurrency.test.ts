// Concurrency on S3: 4 processes append 50 commits each to one table on a real S3-compatible server.
// Every commit must land at its own version (conditional PUT, retry at the next version on a lost race):
// versions contiguous, 200 appends, no data file lost or committed twice; delta-rs reads every row.
// This file is also the appender: run with RESTLAKE_INTEROP_APPENDER=<n> it appends and exits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeltaTable } from './index.js';
import type { StructType } from './schema/types.js';
import { openConn, tempDir } from './testing/duck.js';
import { startS3Server, type S3TestServer } from '../testkit/s3-server.js';
import { interopScript, runPythonJson, sparkEnv, tail } from '../testkit/python.js';

const PROCESSES = 4;
const COMMITS = 50;
const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: false, metadata: {} },
    { name: 'writer', type: 'integer', nullable: false, metadata: {} },
    { name: 'seq', type: 'integer', nullable: false, metadata: {} },
  ],
};
const idOf = (writer: number, seq: number): number => writer * 1000 + seq;

async function appender(writer: number, table: string): Promise<void> {
  const duck = await openConn();
  try {
    const t = DeltaTable.forPath(table);
    for (let seq = 0; seq < COMMITS; seq++) {
      await t.write(duck.conn, {
        selectSql: `SELECT ${idOf(writer, seq)}::BIGINT AS id, ${writer}::INTEGER AS writer, ${seq}::INTEGER AS seq`,
        schema: SCHEMA,
        mode: 'append',
      });
    }
  } finally {
    duck.close();
  }
}

const appenderArg = process.env.RESTLAKE_INTEROP_APPENDER;
if (appenderArg !== undefined) {
  await appender(Number(appenderArg), process.env.RESTLAKE_INTEROP_TABLE!);
} else {
  let s3: S3TestServer;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    s3 = await startS3Server();
    tmp = await tempDir('s3-concurrency');
    Object.assign(process.env, s3.env, { RESTLAKE_S3_CACHE_DIR: path.join(tmp.dir, 'cache') });
  });
  after(async () => {
    await s3?.stop();
    await tmp?.cleanup();
  });

  test(`${PROCESSES} processes x ${COMMITS} appends to one S3 table: contiguous versions, every file once`, async (t) => {
    const table = `s3://${s3.bucket}/concurrent/table`;
    // Version 0 creates the table, so the race is among appenders (creation races are another matter).
    const duck = await openConn();
    try {
      await DeltaTable.forPath(table).write(duck.conn, { selectSql: 'SELECT -1::BIGINT AS id, -1::INTEGER AS writer, -1::INTEGER AS seq', schema: SCHEMA, mode: 'append' });
    } finally {
      duck.close();
    }

    const self = fileURLToPath(import.meta.url);
    const results = await Promise.all(
      Array.from({ length: PROCESSES }, (_, w) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [self], {
            env: { ...process.env, RESTLAKE_INTEROP_APPENDER: String(w), RESTLAKE_INTEROP_TABLE: table, RESTLAKE_S3_CACHE_DIR: path.join(tmp.dir, `cache-${w}`) },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
          child.on('close', (code) => resolve({ code, stderr }));
        }),
      ),
    );
    results.forEach((r, w) => assert.equal(r.code, 0, `appender ${w} failed:\n${tail(r.stderr, 40)}`));

    const storage = DeltaTable.forPath(table).storage;
    const log = await storage.list('_delta_log');
    const commits = log.map((f) => /^_delta_log\/(\d{20})\.json$/.exec(f.path)).filter((m) => m !== null).map((m) => Number(m[1]));
    const total = PROCESSES * COMMITS;
    assert.deepEqual(commits, Array.from({ length: total + 1 }, (_, v) => v), 'versions 0..200, contiguous');

    // Each append commit adds exactly one file; no file is added twice; every added file exists.
    const added: string[] = [];
    const perWriter = new Map<number, number[]>();
    let rebased = 0;
    for (let v = 1; v <= total; v++) {
      const lines = (await storage.read(`_delta_log/${String(v).padStart(20, '0')}.json`))!.toString().trim().split('\n').map((l) => JSON.parse(l));
      const adds = lines.filter((a) => a.add).map((a) => a.add);
      assert.equal(adds.length, 1, `version ${v} adds one file`);
      assert.equal(lines.filter((a) => a.remove || a.metaData || a.protocol).length, 0, `version ${v} is a pure append`);
      added.push(decodeURIComponent(adds[0].path));
      const info = lines.find((a) => a.commitInfo)?.commitInfo;
      if (info && info.readVersion !== v - 1) rebased++;
      const stats = JSON.parse(adds[0].stats);
      const w = stats.minValues.writer as number;
      perWriter.set(w, [...(perWriter.get(w) ?? []), stats.minValues.seq as number]);
    }
    assert.equal(new Set(added).size, total, 'no data file committed twice');
    for (let w = 0; w < PROCESSES; w++) {
      // each appender's commits land in its own order, all of them
      assert.deepEqual(perWriter.get(w), Array.from({ length: COMMITS }, (_, s) => s), `appender ${w}'s commits`);
    }
    const dataFiles = new Set((await storage.list('', { recursive: true })).map((f) => f.path).filter((p) => !p.startsWith('_delta_log/')));
    for (const p of added) assert.ok(dataFiles.has(p), `committed file ${p} exists`);

    t.diagnostic(`${rebased} of ${total} commits lost a race and landed at a later version than they read`);
    const snap = await DeltaTable.forPath(table).snapshot();
    assert.equal(snap.version, total);
    assert.equal(snap.files.length, total + 1);

    // An independent reader sees every row exactly once.
    const got = await runPythonJson<{ version: number; values: number[] }>([interopScript('read_column.py'), table, 'id'], { env: sparkEnv(s3.env) });
    assert.equal(got.version, total);
    const want = [-1];
    for (let w = 0; w < PROCESSES; w++) for (let s = 0; s < COMMITS; s++) want.push(idOf(w, s));
    assert.deepEqual(got.values, want.sort((a, b) => a - b));
  });
}
