// Time travel by timestamp on a table that enabled in-commit timestamps after its first commits:
// the enablement properties decide which versions are searched, so file times of the older commits
// (reset by a copy or restore) cannot hide the newer ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DeltaError, DeltaTable } from '../index.js';
import { tempDir } from '../testing/duck.js';

const SCHEMA = '{"type":"struct","fields":[{"name":"a","type":"integer","nullable":true,"metadata":{}}]}';
const META = { id: 'ict', format: { provider: 'parquet', options: {} }, schemaString: SCHEMA, partitionColumns: [] };
const E = Date.parse('2024-01-01T00:00:00Z'); // inCommitTimestamp of v2, the enabling commit
const ICT3 = E + 10_000;
const LATE = ICT3 + 3_600_000; // where a copy/restore moved file times to
const NOT_FOUND = 'DELTA_VERSION_NOT_FOUND';

// v0, v1: no in-commit timestamps; v2 enables them (writer feature + properties); v3 has one.
const LOG: object[][] = [
  [{ commitInfo: { timestamp: E - 20_000, operation: 'CREATE TABLE' } }, { protocol: { minReaderVersion: 1, minWriterVersion: 2 } }, { metaData: { ...META, configuration: {} } }],
  [{ commitInfo: { timestamp: E - 10_000, operation: 'WRITE' } }],
  [
    { commitInfo: { timestamp: E, inCommitTimestamp: E, operation: 'SET TBLPROPERTIES' } },
    { protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['appendOnly', 'invariants', 'inCommitTimestamp'] } },
    { metaData: { ...META, configuration: { 'delta.enableInCommitTimestamps': 'true', 'delta.inCommitTimestampEnablementVersion': '2', 'delta.inCommitTimestampEnablementTimestamp': String(E) } } },
  ],
  [{ commitInfo: { timestamp: ICT3, inCommitTimestamp: ICT3, operation: 'WRITE' } }],
];

const CASES: { name: string; mtimes: number[]; queries: [at: number, expected: number | typeof NOT_FOUND][] }[] = [
  {
    name: 'file times as written (v2, v3 files written now, long after their in-commit timestamps)',
    mtimes: [E - 20_000, E - 10_000, Date.now(), Date.now()],
    queries: [[E - 25_000, NOT_FOUND], [E - 15_000, 0], [E - 10_000, 1], [E - 1, 1], [E, 2], [E + 5_000, 2], [ICT3 + 1, 3]],
  },
  {
    name: 'restored copy: every file time later than the queries',
    mtimes: [LATE, LATE, LATE, LATE],
    // before the enablement only v0, v1 count, and their (reset) file times are later: nothing was current
    queries: [[ICT3 + 1, 3], [E + 5_000, 2], [E, 2], [E - 1, NOT_FOUND]],
  },
  {
    name: 'only v1 moved later: v0 alone is not the answer after the enablement',
    mtimes: [E - 20_000, LATE, LATE, LATE],
    queries: [[ICT3 + 1, 3], [E + 1, 2], [E - 1, 0], [E - 15_000, 0]],
  },
];

for (const c of CASES) {
  test(`time travel by timestamp with in-commit timestamps enabled at v2: ${c.name}`, async () => {
    const t = await tempDir('ict-tt');
    try {
      const log = path.join(t.dir, '_delta_log');
      await fs.mkdir(log);
      for (const [v, actions] of LOG.entries()) {
        const file = path.join(log, `${String(v).padStart(20, '0')}.json`);
        await fs.writeFile(file, actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
        await fs.utimes(file, new Date(c.mtimes[v]), new Date(c.mtimes[v]));
      }
      const table = DeltaTable.forPath(t.dir);
      for (const [at, expected] of c.queries) {
        const what = `at ${new Date(at).toISOString()}`;
        if (expected === NOT_FOUND) {
          await assert.rejects(table.snapshot({ timestamp: at }), (e: unknown) => e instanceof DeltaError && e.code === NOT_FOUND, what);
        } else {
          assert.equal((await table.snapshot({ timestamp: at })).version, expected, what);
        }
      }
    } finally {
      await t.cleanup();
    }
  });
}
